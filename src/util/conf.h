/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * conf.h -- pkdns configuration: one struct, one parser for the config
 * file and the command line.
 *
 * The config file holds "key: value" lines ('#' starts a comment); every
 * key is also a long command-line option (--key VALUE or --key=VALUE), and
 * the command line overrides the file. A repeatable option given on the
 * command line replaces the file's list for that key. Keys are documented
 * in man/pkdns.conf.5 and shown in etc/pkdns.conf.
 */
#ifndef PKDNS_UTIL_CONF_H
#define PKDNS_UTIL_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "util/netaddr.h"

#define CONF_MAX_LIST 32
/** Room for the keys of the table in conf.c (checked there). */
#define CONF_KEYS_MAX 96
/** Origin of a value set on the command line (see struct conf's line). */
#define CONF_LINE_CMDLINE UINT32_MAX

enum conf_dht_mode { DHT_MODE_OFF_CONF, DHT_MODE_CLIENT_CONF, DHT_MODE_SERVER_CONF, DHT_MODE_ADAPTIVE_CONF };

/** What an access-control rule does with a matching client. */
enum conf_acl_action { ACL_ALLOW, ACL_REFUSE, ACL_DENY };

struct conf_acl_rule {
	struct netprefix prefix;
	enum conf_acl_action action;
};

struct conf_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/** Every setting of the daemon; see man/pkdns.conf.5. */
struct conf {
	const char *config_file;   /**< the file read, or NULL */
	struct conf_addr listen[CONF_MAX_LIST];
	size_t n_listen;
	bool listen_default;        /**< listen came from the defaults */
	struct conf_addr forward[CONF_MAX_LIST];
	size_t n_forward;
	char *bootstrap[CONF_MAX_LIST]; /**< "host:port" */
	size_t n_bootstrap;
	struct conf_acl_rule acl[CONF_MAX_LIST];
	size_t n_acl;
	char *republish[CONF_MAX_LIST]; /**< z-base32 keys */
	size_t n_republish;
	char *search_domain[CONF_MAX_LIST]; /**< suffixes the OS appends */
	size_t n_search_domain;
	uint16_t dht_port;
	int dht_mode;               /**< enum conf_dht_mode */
	char *cache_dir;
	uint32_t cache_dir_retry;   /**< seconds between tries of an unusable cache_dir; 0: SIGHUP only */
	uint32_t min_ttl, max_ttl;
	uint32_t testnet;           /**< extra in-process DHT nodes */
	uint16_t testnet_port;
	uint32_t testnet_rtt;       /**< ms, median; 0 = no emulation */
	uint32_t testnet_loss;      /**< percent */
	uint32_t testnet_dead;      /**< percent */
	uint32_t testnet_seed;      /**< 0 = pick one and log it */
	bool foreground;
	int verbose;
	/* Sizes are parsed in 64 bits but never exceed SIZE_MAX (the parser
	 * refuses more), so a cast to size_t is exact on 32-bit systems. */
	uint64_t cache_size;        /**< answer cache, bytes (>= 4k) */
	uint64_t packet_cache_size; /**< pkarr packet cache, bytes (>= 64k) */
	bool dnssec;
	char *trust_anchor_file;
	uint32_t tcp_idle_timeout;  /**< seconds, 1..3600 */
	uint32_t tcp_max_connections;
	uint32_t tcp_max_per_client; /**< 0: tcp_max_connections / 8 */
	uint32_t edns_buffer_size;
	uint32_t ratelimit, ratelimit_burst;
	uint32_t dht_ratelimit, dht_ratelimit_burst;
	uint32_t icann_max_per_client; /**< 0: no per-client budget */
	bool disable_any;
	bool serve_stale;
	char *tld;
	uint32_t republish_interval;
	uint32_t stats_interval;
	char *pidfile;
	struct conf_addr tls_listen[CONF_MAX_LIST];   /**< DoT */
	size_t n_tls_listen;
	struct conf_addr https_listen[CONF_MAX_LIST]; /**< DoH over TLS */
	size_t n_https_listen;
	struct conf_addr http_listen[CONF_MAX_LIST];  /**< plain HTTP */
	size_t n_http_listen;
	char *tls_cert, *tls_key;   /**< PEM files */
	char *doh_path;             /**< default /dns-query */
	struct netprefix trusted_proxy[CONF_MAX_LIST];
	size_t n_trusted_proxy;
	uint32_t http_max_connections;
	uint32_t http_max_streams;
	uint32_t http_idle_timeout; /**< seconds */
	char *relay[CONF_MAX_LIST];  /**< pkarr relay URLs (client) */
	size_t n_relay;
	char *relay_ca;             /**< CA file for https relays, or NULL */
	uint32_t relay_put_ratelimit; /**< relay API PUTs per second per client */
	bool check_config;          /**< --check-config: check, start nothing */
	bool log_queries;           /**< one log line per answered query */
	bool log_servfail;          /**< one log line per SERVFAIL, with its reason */
	struct netprefix private_address[CONF_MAX_LIST]; /**< rebinding policy */
	size_t n_private_address;
	char *private_domain[CONF_MAX_LIST]; /**< may hold private addresses */
	size_t n_private_domain;
	char *private_key[CONF_MAX_LIST]; /**< z-base32 keys that may too */
	size_t n_private_key;
	bool private_address_loopback_exempt; /**< 127.0.0.0/8, ::1 get them all */
	/* operating the daemon (issue 14): src/daemon/control.c, metrics.c, ops.c */
	char *control_socket;       /**< Unix socket of pkdns-control, NULL = none */
	bool control_socket_default; /**< control_socket came from the defaults */
	char *control_group;        /**< group of the control socket, or NULL */
	struct conf_addr metrics_listen[CONF_MAX_LIST]; /**< Prometheus /metrics */
	size_t n_metrics_listen;
	char *username;             /**< drop to this user after binding, or NULL */
	char *chroot_dir;           /**< chroot here before dropping, or NULL */
	struct conf_addr dht_listen[CONF_MAX_LIST]; /**< DHT socket address (port 0: dht-port) */
	size_t n_dht_listen;
	/* Where each value came from, for conf_error(): the config file's
	 * line, CONF_LINE_CMDLINE, or 0 (the default); indexed by the key's
	 * place in conf.c's table, and for lists by the entry too. */
	uint32_t line[CONF_KEYS_MAX];
	uint32_t list_line[CONF_KEYS_MAX][CONF_MAX_LIST];
};

/** Result of conf_load(). */
enum conf_result { CONF_OK = 0, CONF_EXIT_OK = 1, CONF_ERROR = 2 };

/**
 * Fill cfg from defaults, the config file and the command line. Errors and
 * the --help/--version text are printed on stderr/stdout.
 * @param cfg the struct to fill (free with conf_free)
 * @param argc, argv the command line
 * @return CONF_OK to run, CONF_EXIT_OK after --help or --version, or
 *         CONF_ERROR (exit status 2) after printing "FILE:LINE: KEY: why"
 */
enum conf_result conf_load(struct conf *cfg, int argc, char **argv);

/**
 * Read a config file again into a fresh struct (SIGHUP), keeping the
 * command line's overrides.
 * @return as conf_load()
 */
enum conf_result conf_reload(struct conf *cfg, int argc, char **argv);

/** Free the strings a conf owns. */
void conf_free(struct conf *cfg);

/** Parse a size with an optional k/m/g suffix. @return 0 or -1 */
int conf_parse_size(const char *s, uint64_t *out);

/**
 * Report a problem with a value found after loading (e.g. a file it names
 * is missing) the way the parser reports its own: "pkdns: FILE:LINE: KEY:
 * why" for a config file line, "pkdns: --KEY: why" for the command line,
 * "pkdns: KEY: why" for a default.
 * @param key the key's name
 * @param idx the entry of a list key (ignored for other keys)
 * @return -1
 */
int conf_error(const struct conf *cfg, const char *key, size_t idx, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/**
 * The checks --check-config adds to parsing, for what can be checked
 * without opening sockets: files the config names (trust anchor when
 * dnssec is on, cache-dir, pidfile's directory). Errors are printed as
 * conf_error() does.
 * @return 0 when everything passed, -1 otherwise (all errors printed)
 */
int conf_check_files(const struct conf *cfg);

#endif
