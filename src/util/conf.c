/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * conf.c -- defaults, config file and command line for struct conf.
 *
 * One table lists every key once: its type, where it lives in struct conf,
 * whether it takes a value and its short option. The config file and the
 * command line go through the same setter, so they cannot disagree.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/conf.h"

/* $sysconfdir/pkdns/pkdns.conf, as the README and the man pages say;
 * the build passes the configured sysconfdir (src/daemon/local.mk), so a
 * package built with --sysconfdir=/etc reads /etc/pkdns/pkdns.conf. */
#ifndef PKDNS_SYSCONFDIR
#define PKDNS_SYSCONFDIR "/etc"
#endif
#define DEFAULT_CONFIG PKDNS_SYSCONFDIR "/pkdns/pkdns.conf"
#ifndef PKDNS_RUNSTATEDIR
#define PKDNS_RUNSTATEDIR "/run"
#endif
#define PKDNS_CONTROL_SOCKET PKDNS_RUNSTATEDIR "/pkdns.sock"

/* RFC 2181 section 8: a TTL is an unsigned number from 0 to 2^31 - 1. */
#define TTL_MAX 2147483647u

enum conf_type {
	T_BOOL, T_U32, T_U16, T_SIZE, T_STR, T_ADDR_LIST, T_STR_LIST, T_ACL, T_PREFIX_LIST,
	T_DHT_MODE, T_VERBOSE, T_FLAG, T_CONFIG, T_HELP, T_VERSION, T_CHECK
};

struct conf_key {
	const char *name;
	char short_opt;
	enum conf_type type;
	size_t off;     /* offset of the value in struct conf */
	size_t off_n;   /* for lists: offset of the count */
	uint16_t port;  /* for address lists: default port */
	const char *help;
	uint64_t min, max; /* T_U32, T_SIZE: allowed range (max 0: the type's) */
};

#define F(m) offsetof(struct conf, m)
static const struct conf_key conf_keys[] = {
	{ "config", 'c', T_CONFIG, 0, 0, 0, "FILE  config file (default " DEFAULT_CONFIG " if present)", 0, 0 },
	{ "listen", 'l', T_ADDR_LIST, F(listen), F(n_listen), 53, "ADDR[:PORT]  DNS address, repeatable (default 127.0.0.1:53, [::1]:53)", 0, 0 },
	{ "forward", 'f', T_ADDR_LIST, F(forward), F(n_forward), 53, "ADDR[:PORT]  ICANN upstream, repeatable (default: recursion from the root)", 0, 0 },
	{ "dht-port", 0, T_U16, F(dht_port), 0, 0, "PORT  UDP port of the DHT node, 0 = any (default 6881)", 0, 0 },
	{ "bootstrap", 0, T_STR_LIST, F(bootstrap), F(n_bootstrap), 0, "HOST:PORT  DHT bootstrap node, repeatable", 0, 0 },
	{ "dht-mode", 0, T_DHT_MODE, F(dht_mode), 0, 0, "off|client|server|adaptive  (default adaptive)", 0, 0 },
	{ "cache-dir", 0, T_STR, F(cache_dir), 0, 0, "DIR  persistent packet cache and routing table", 0, 0 },
	{ "cache-dir-retry", 0, T_U32, F(cache_dir_retry), 0, 0, "SECONDS  retry an unusable cache-dir, 0 = on SIGHUP only (default 300)", 0, 0 },
	{ "min-ttl", 0, T_U32, F(min_ttl), 0, 0, "SECONDS  lower clamp of pkarr TTLs (default 60)", 0, TTL_MAX },
	{ "max-ttl", 0, T_U32, F(max_ttl), 0, 0, "SECONDS  upper clamp of pkarr TTLs (default 86400)", 0, TTL_MAX },
	{ "testnet", 0, T_U32, F(testnet), 0, 0, "N  run N local DHT nodes on 127.0.0.1 and use only them", 0, 0 },
	{ "testnet-port", 0, T_U16, F(testnet_port), 0, 0, "PORT  first UDP port of the testnet (default 46881)", 0, 0 },
	{ "testnet-rtt", 0, T_U32, F(testnet_rtt), 0, 0, "MS  testnet: median delay of its nodes' answers (log-normal), 0 = none, at most 10000", 0, 10000 },
	{ "testnet-loss", 0, T_U32, F(testnet_loss), 0, 0, "PERCENT  testnet: datagrams lost at each node, 0..100", 0, 100 },
	{ "testnet-dead", 0, T_U32, F(testnet_dead), 0, 0, "PERCENT  testnet: nodes known to the others that never answer, 0..100", 0, 100 },
	{ "testnet-seed", 0, T_U32, F(testnet_seed), 0, 0, "N  testnet: seed of the emulation, for a repeatable run (default: logged at start)", 0, 0 },
	{ "foreground", 'd', T_FLAG, F(foreground), 0, 0, "stay in the foreground, log to stderr", 0, 0 },
	{ "verbose", 'v', T_VERBOSE, F(verbose), 0, 0, "more log output (repeatable; config: verbose: N)", 0, 0 },
	{ "cache-size", 0, T_SIZE, F(cache_size), 0, 0, "BYTES  answer cache size, k/m/g suffix (default 32m, at least 4k)", 4096, 0 },
	{ "packet-cache-size", 0, T_SIZE, F(packet_cache_size), 0, 0, "BYTES  pkarr packet cache size (default 16m, at least 64k)", 65536, 0 },
	{ "access-control", 0, T_ACL, F(acl), F(n_acl), 0, "\"PREFIX allow|refuse|deny\"  repeatable (default: loopback allowed)", 0, 0 },
	{ "dnssec", 0, T_BOOL, F(dnssec), 0, 0, "yes|no  DNSSEC validation on the ICANN path (default yes)", 0, 0 },
	{ "trust-anchor-file", 0, T_STR, F(trust_anchor_file), 0, 0, "FILE  DS/DNSKEY trust anchors (default " PKDNS_TRUST_ANCHOR ")", 0, 0 },
	{ "tcp-idle-timeout", 0, T_U32, F(tcp_idle_timeout), 0, 0, "SECONDS  close idle TCP connections, 1-3600 (default 10)", 1, 3600 },
	{ "tcp-max-connections", 0, T_U32, F(tcp_max_connections), 0, 0, "N  concurrent TCP connections, 1-65535 (default 256)", 1, 65535 },
	{ "tcp-max-per-client", 0, T_U32, F(tcp_max_per_client), 0, 0, "N  TCP connections per client address (IPv6: per /64), 0 = tcp-max-connections/8 (default 0)", 0, 65535 },
	{ "edns-buffer-size", 0, T_U32, F(edns_buffer_size), 0, 0, "BYTES  largest UDP answer sent, 512-65535 (default 1232)", 512, 65535 },
	{ "ratelimit", 0, T_U32, F(ratelimit), 0, 0, "QPS  queries per second per client IP, 0 = off (default 100)", 0, 0 },
	{ "ratelimit-burst", 0, T_U32, F(ratelimit_burst), 0, 0, "N  burst of the query limit (default 200)", 0, 0 },
	{ "dht-ratelimit", 0, T_U32, F(dht_ratelimit), 0, 0, "N  DHT look-ups per second per client IP, 0 = off (default 5)", 0, 0 },
	{ "dht-ratelimit-burst", 0, T_U32, F(dht_ratelimit_burst), 0, 0, "N  burst of the look-up limit (default 25)", 0, 0 },
	{ "icann-max-per-client", 0, T_U32, F(icann_max_per_client), 0, 0, "N  ICANN resolutions one client may have running, 0 = no budget; not for 127.0.0.1, ::1 (default 128)", 0, 0 },
	{ "disable-any", 0, T_BOOL, F(disable_any), 0, 0, "yes|no  answer ANY queries with NOTIMP (default no)", 0, 0 },
	{ "serve-stale", 0, T_BOOL, F(serve_stale), 0, 0, "yes|no  RFC 8767 stale answers when the source fails (default yes)", 0, 0 },
	{ "tld", 0, T_STR, F(tld), 0, 0, "NAME  suffix after key TLDs: <key>.NAME resolves like <key>; none = off (default key)", 0, 0 },
	{ "search-domain", 0, T_STR_LIST, F(search_domain), F(n_search_domain), 0, "NAME  a search domain the OS appends (lan, home.arpa): <key>.NAME resolves like <key>; repeatable", 0, 0 },
	{ "republish", 0, T_STR_LIST, F(republish), F(n_republish), 0, "KEY  republish this key's packet, repeatable", 0, 0 },
	{ "republish-interval", 0, T_U32, F(republish_interval), 0, 0, "SECONDS  (default 3600)", 0, 0 },
	{ "stats-interval", 0, T_U32, F(stats_interval), 0, 0, "SECONDS  stats log line, 0 = off (default 300)", 0, 0 },
	{ "tls-listen", 0, T_ADDR_LIST, F(tls_listen), F(n_tls_listen), 853, "ADDR[:PORT]  DNS over TLS (RFC 7858) address, repeatable (default port 853)", 0, 0 },
	{ "https-listen", 0, T_ADDR_LIST, F(https_listen), F(n_https_listen), 443, "ADDR[:PORT]  DNS over HTTPS (RFC 8484, HTTP/2 and HTTP/1.1) address, repeatable (default port 443)", 0, 0 },
	{ "http-listen", 0, T_ADDR_LIST, F(http_listen), F(n_http_listen), 80, "ADDR[:PORT]  plain HTTP (DoH behind a TLS proxy, other HTTP routes), repeatable (default port 80)", 0, 0 },
	{ "tls-cert", 0, T_STR, F(tls_cert), 0, 0, "FILE  PEM certificate chain for tls-listen and https-listen (re-read on SIGHUP)", 0, 0 },
	{ "tls-key", 0, T_STR, F(tls_key), 0, 0, "FILE  PEM private key of tls-cert (re-read on SIGHUP)", 0, 0 },
	{ "doh-path", 0, T_STR, F(doh_path), 0, 0, "PATH  where DoH answers (default /dns-query)", 0, 0 },
	{ "trusted-proxy", 0, T_PREFIX_LIST, F(trusted_proxy), F(n_trusted_proxy), 0, "PREFIX  X-Forwarded-For is believed only from these peers, repeatable (default none)", 0, 0 },
	{ "http-max-connections", 0, T_U32, F(http_max_connections), 0, 0, "N  concurrent HTTP and HTTPS connections, 1-65535 (default 256; per client an eighth)", 1, 65535 },
	{ "http-max-streams", 0, T_U32, F(http_max_streams), 0, 0, "N  HTTP/2 streams (HTTP/1.1 pipelined requests) per connection, 1-1000 (default 100)", 1, 1000 },
	{ "http-idle-timeout", 0, T_U32, F(http_idle_timeout), 0, 0, "SECONDS  close idle HTTP connections, 1-3600 (default 30)", 1, 3600 },
	{ "relay", 0, T_STR_LIST, F(relay), F(n_relay), 0, "URL  pkarr relay asked beside the DHT, http[s]://HOST[:PORT][/PATH], repeatable (default none)", 0, 0 },
	{ "relay-ca", 0, T_STR, F(relay_ca), 0, 0, "FILE  PEM CAs trusted for https relays instead of the system store", 0, 0 },
	{ "relay-put-ratelimit", 0, T_U32, F(relay_put_ratelimit), 0, 0, "N  relay API PUTs per second per client IP, burst 5N, 0 = off (default 1)", 0, 0 },
	{ "pidfile", 0, T_STR, F(pidfile), 0, 0, "FILE  write the process ID here", 0, 0 },
	{ "log-queries", 0, T_BOOL, F(log_queries), 0, 0, "yes|no  log one line per answered query (default no)", 0, 0 },
	{ "log-servfail", 0, T_BOOL, F(log_servfail), 0, 0, "yes|no  log one line per SERVFAIL with its reason (default no)", 0, 0 },
	{ "private-address", 0, T_PREFIX_LIST, F(private_address), F(n_private_address), 0, "PREFIX  remove such addresses from answers (DNS rebinding), repeatable (default none)", 0, 0 },
	{ "private-domain", 0, T_STR_LIST, F(private_domain), F(n_private_domain), 0, "NAME  names at and under it may hold private addresses, repeatable", 0, 0 },
	{ "private-key", 0, T_STR_LIST, F(private_key), F(n_private_key), 0, "KEY  a public key whose names may hold private addresses, repeatable", 0, 0 },
	{ "private-address-loopback-exempt", 0, T_BOOL, F(private_address_loopback_exempt), 0, 0, "yes|no  clients on 127.0.0.0/8 and ::1 get private addresses (default yes)", 0, 0 },
	{ "control-socket", 0, T_STR, F(control_socket), 0, 0, "PATH  Unix socket for pkdns-control, none = off (default " PKDNS_CONTROL_SOCKET ")", 0, 0 },
	{ "control-group", 0, T_STR, F(control_group), 0, 0, "GROUP  group that may use the control socket (mode 0660; default root's)", 0, 0 },
	{ "metrics-listen", 0, T_ADDR_LIST, F(metrics_listen), F(n_metrics_listen), 9153, "ADDR[:PORT]  Prometheus /metrics over HTTP, repeatable (default off; port 9153)", 0, 0 },
	{ "username", 0, T_STR, F(username), 0, 0, "USER  drop to this user and its groups once the sockets are open (default: none)", 0, 0 },
	{ "chroot", 0, T_STR, F(chroot_dir), 0, 0, "DIR  chroot here before dropping privileges (default: none)", 0, 0 },
	{ "dht-listen", 0, T_ADDR_LIST, F(dht_listen), F(n_dht_listen), 0, "ADDR[:PORT]  bind the DHT node to this address (default all; port dht-port)", 0, 0 },
	{ "check-config", 0, T_CHECK, F(check_config), 0, 0, "check the configuration (and files it names), print errors, start nothing", 0, 0 },
	{ "version", 'V', T_VERSION, 0, 0, 0, "print the version and exit", 0, 0 },
	{ "help", 'h', T_HELP, 0, 0, 0, "print this help and exit", 0, 0 },
};
#undef F
#define N_KEYS (sizeof(conf_keys) / sizeof(conf_keys[0]))
_Static_assert(N_KEYS <= CONF_KEYS_MAX, "raise CONF_KEYS_MAX in conf.h");

/* Where a value came from, for error messages. */
struct conf_src {
	const char *file; /* NULL: command line */
	unsigned line;
	bool cmdline;
	bool list_reset[N_KEYS]; /* command line: list already cleared */
};

static void
conf_defaults(struct conf *c)
{
	memset(c, 0, sizeof(*c));
	c->dht_port = 6881;
	c->dht_mode = DHT_MODE_ADAPTIVE_CONF;
	c->min_ttl = 60;
	c->max_ttl = 86400;
	c->testnet_port = 46881;
	c->verbose = 1; /* errors and warnings */
	c->cache_size = 32u << 20;
	c->packet_cache_size = 16u << 20;
	c->dnssec = true;
	c->tcp_idle_timeout = 10;
	c->tcp_max_connections = 256;
	c->edns_buffer_size = 1232;
	c->ratelimit = 100;
	c->ratelimit_burst = 200;
	c->dht_ratelimit = 5;
	c->dht_ratelimit_burst = 25;
	c->icann_max_per_client = 128;
	c->serve_stale = true;
	c->republish_interval = 3600;
	c->stats_interval = 300;
	c->cache_dir_retry = 300;
	c->private_address_loopback_exempt = true;
	c->http_max_connections = 256;
	c->http_max_streams = 100;
	c->http_idle_timeout = 30;
	c->relay_put_ratelimit = 1;
}

static const char *const default_bootstrap[] = {
	"router.bittorrent.com:6881", "router.utorrent.com:6881",
	"dht.transmissionbt.com:6881", "dht.libtorrent.org:25401",
};

static void
conf_complete(struct conf *c)
{
	if (c->n_listen == 0) {
		netaddr_parse("127.0.0.1:53", 53, &c->listen[0].ss, &c->listen[0].len);
		netaddr_parse("[::1]:53", 53, &c->listen[1].ss, &c->listen[1].len);
		c->n_listen = 2;
		c->listen_default = true;
	}
	if (c->n_bootstrap == 0 && c->testnet == 0) {
		for (size_t i = 0; i < 4; i++)
			c->bootstrap[i] = strdup(default_bootstrap[i]);
		c->n_bootstrap = 4;
	}
	/* one client (address, IPv6 /64) may hold an eighth of the table */
	if (c->tcp_max_per_client == 0)
		c->tcp_max_per_client = c->tcp_max_connections / 8 ? c->tcp_max_connections / 8 : 1;
	if (c->n_acl == 0) {
		netprefix_parse("127.0.0.0/8", &c->acl[0].prefix);
		netprefix_parse("::1/128", &c->acl[1].prefix);
		c->acl[0].action = c->acl[1].action = ACL_ALLOW;
		c->n_acl = 2;
	}
	if (!c->trust_anchor_file)
		c->trust_anchor_file = strdup(PKDNS_TRUST_ANCHOR);
	if (!c->control_socket) {
		c->control_socket = strdup(PKDNS_CONTROL_SOCKET);
		c->control_socket_default = true;
	} else if (strcasecmp(c->control_socket, "none") == 0) {
		free(c->control_socket);
		c->control_socket = NULL;
	}
	if (!c->doh_path)
		c->doh_path = strdup("/dns-query");
	/* <key>.key by default, as the Rust pkdns: one suffix that a
	 * forwarder can route with one line */
	if (!c->tld) {
		c->tld = strdup("key");
	} else if (strcasecmp(c->tld, "none") == 0) {
		free(c->tld);
		c->tld = NULL;
	}
}

void
conf_free(struct conf *c)
{
	for (size_t i = 0; i < c->n_bootstrap; i++)
		free(c->bootstrap[i]);
	for (size_t i = 0; i < c->n_republish; i++)
		free(c->republish[i]);
	for (size_t i = 0; i < c->n_search_domain; i++)
		free(c->search_domain[i]);
	for (size_t i = 0; i < c->n_private_domain; i++)
		free(c->private_domain[i]);
	for (size_t i = 0; i < c->n_private_key; i++)
		free(c->private_key[i]);
	for (size_t i = 0; i < c->n_relay; i++)
		free(c->relay[i]);
	free(c->relay_ca);
	free(c->cache_dir);
	free(c->trust_anchor_file);
	free(c->tld);
	free(c->pidfile);
	free(c->control_socket);
	free(c->control_group);
	free(c->username);
	free(c->chroot_dir);
	free(c->tls_cert);
	free(c->tls_key);
	free(c->doh_path);
	free((char *)c->config_file);
	memset(c, 0, sizeof(*c));
}

__attribute__((format(printf, 3, 4))) static int
conf_fail(const struct conf_src *src, const char *key, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (src->file)
		fprintf(stderr, "pkdns: %s:%u: %s: %s\n", src->file, src->line, key, msg);
	else
		fprintf(stderr, "pkdns: --%s: %s\n", key, msg);
	return -1;
}

int
conf_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t mul = 1;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case '\0': break;
	case 'k': case 'K': mul = 1ull << 10; end++; break;
	case 'm': case 'M': mul = 1ull << 20; end++; break;
	case 'g': case 'G': mul = 1ull << 30; end++; break;
	default: return -1;
	}
	if (*end != '\0' || v > UINT64_MAX / mul)
		return -1;
	*out = v * mul;
	return 0;
}

static int
parse_bool(const char *s, bool *out)
{
	if (!strcasecmp(s, "yes") || !strcasecmp(s, "true") || !strcmp(s, "1") || !strcasecmp(s, "on"))
		*out = true;
	else if (!strcasecmp(s, "no") || !strcasecmp(s, "false") || !strcmp(s, "0") || !strcasecmp(s, "off"))
		*out = false;
	else
		return -1;
	return 0;
}

static int
parse_u32(const char *s, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end != '\0' || v > max)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* The entry count of a list key, or NULL (reported) when the list is
 * full. A list given on the command line replaces the config file's. */
static size_t *
list_count(struct conf *c, const struct conf_key *k, struct conf_src *src)
{
	size_t *n = (size_t *)((char *)c + k->off_n);
	size_t idx = (size_t)(k - conf_keys);

	if (src->cmdline && !src->list_reset[idx]) {
		src->list_reset[idx] = true;
		if (k->type == T_STR_LIST) {
			char **list = (char **)((char *)c + k->off);
			for (size_t i = 0; i < *n; i++)
				free(list[i]);
		}
		*n = 0;
	}
	if (*n >= CONF_MAX_LIST) {
		conf_fail(src, k->name, "more than %d entries", CONF_MAX_LIST);
		return NULL;
	}
	return n;
}

static int
conf_set(struct conf *c, const struct conf_key *k, const char *val, struct conf_src *src)
{
	void *p = (char *)c + k->off;
	uint32_t u;

	switch (k->type) {
	case T_BOOL:
	case T_FLAG:
		if (parse_bool(val, p) < 0)
			return conf_fail(src, k->name, "'%s' is not yes or no", val);
		return 0;
	case T_U32: {
		uint32_t max = k->max ? (uint32_t)k->max : UINT32_MAX;
		if (parse_u32(val, UINT32_MAX, &u) < 0)
			return conf_fail(src, k->name, "'%s' is not a number", val);
		if (u < k->min || u > max) {
			if (max == TTL_MAX)
				return conf_fail(src, k->name, "%u is above %u (RFC 2181 section 8: "
				    "a TTL has 31 bits)", u, max);
			return conf_fail(src, k->name, "%u is not within %llu..%u", u,
			    (unsigned long long)k->min, max);
		}
		*(uint32_t *)p = u;
		return 0;
	}
	case T_U16:
		if (parse_u32(val, 65535, &u) < 0)
			return conf_fail(src, k->name, "'%s' is not a port number", val);
		*(uint16_t *)p = (uint16_t)u;
		return 0;
	case T_SIZE: {
		uint64_t v;
		if (conf_parse_size(val, &v) < 0)
			return conf_fail(src, k->name, "'%s' is not a size (bytes, k, m or g)", val);
		/* the caches take a size_t: on a 32-bit system 4g would wrap */
		if (v > SIZE_MAX)
			return conf_fail(src, k->name, "%s is more than this system can address "
			    "(%zu bytes)", val, (size_t)SIZE_MAX);
		if (v < k->min)
			return conf_fail(src, k->name, "%s is too small (at least %llu bytes)", val,
			    (unsigned long long)k->min);
		*(uint64_t *)p = v;
		return 0;
	}
	case T_STR: {
		char **s = p;
		if (!*val)
			return conf_fail(src, k->name, "empty value");
		free(*s);
		*s = strdup(val);
		return 0;
	}
	case T_ADDR_LIST: {
		size_t *n = list_count(c, k, src);
		struct conf_addr *list = p;
		if (n == NULL)
			return -1;
		if (netaddr_parse(val, k->port, &list[*n].ss, &list[*n].len) < 0)
			return conf_fail(src, k->name, "'%s' is not an address (ADDR[:PORT], [IPv6]:PORT)", val);
		(*n)++;
		return 0;
	}
	case T_STR_LIST: {
		size_t *n = list_count(c, k, src);
		char **list = p;
		if (n == NULL)
			return -1;
		if (!*val)
			return conf_fail(src, k->name, "empty value");
		list[(*n)++] = strdup(val);
		return 0;
	}
	case T_ACL: {
		size_t *n = list_count(c, k, src);
		struct conf_acl_rule *list = p;
		char pfx[128], act[16], extra[2];
		int got = sscanf(val, "%127s %15s %1s", pfx, act, extra);
		if (n == NULL)
			return -1;
		if (got != 2)
			return conf_fail(src, k->name, "'%s' is not \"PREFIX allow|refuse|deny\"", val);
		if (netprefix_parse(pfx, &list[*n].prefix) < 0)
			return conf_fail(src, k->name, "'%s' is not an address prefix", pfx);
		if (!strcmp(act, "allow"))
			list[*n].action = ACL_ALLOW;
		else if (!strcmp(act, "refuse"))
			list[*n].action = ACL_REFUSE;
		else if (!strcmp(act, "deny"))
			list[*n].action = ACL_DENY;
		else
			return conf_fail(src, k->name, "'%s' is not allow, refuse or deny", act);
		(*n)++;
		return 0;
	}
	case T_PREFIX_LIST: {
		size_t *n = list_count(c, k, src);
		struct netprefix *list = p;
		if (n == NULL)
			return -1;
		if (netprefix_parse(val, &list[*n]) < 0)
			return conf_fail(src, k->name, "'%s' is not an address prefix", val);
		(*n)++;
		return 0;
	}
	case T_DHT_MODE: {
		static const char *const modes[] = { "off", "client", "server", "adaptive" };
		for (int i = 0; i < 4; i++) {
			if (!strcmp(val, modes[i])) {
				*(int *)p = i;
				return 0;
			}
		}
		return conf_fail(src, k->name, "'%s' is not off, client, server or adaptive", val);
	}
	case T_VERBOSE:
		if (parse_u32(val, 9, &u) < 0)
			return conf_fail(src, k->name, "'%s' is not a level 0-9", val);
		*(int *)p = (int)u;
		return 0;
	default:
		return conf_fail(src, k->name, "not allowed here");
	}
}

static const struct conf_key *
key_by_name(const char *name, size_t len)
{
	for (size_t i = 0; i < N_KEYS; i++)
		if (strlen(conf_keys[i].name) == len && !strncmp(conf_keys[i].name, name, len))
			return &conf_keys[i];
	return NULL;
}

static const struct conf_key *
key_by_short(char c)
{
	for (size_t i = 0; i < N_KEYS; i++)
		if (conf_keys[i].short_opt == c)
			return &conf_keys[i];
	return NULL;
}

static char *
trim(char *s)
{
	char *e;
	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		*--e = '\0';
	return s;
}

/* Where a key's value came from (struct conf's line/list_line). */
static void
conf_note_line(struct conf *c, const struct conf_key *k, const struct conf_src *src)
{
	size_t idx = (size_t)(k - conf_keys);
	uint32_t line = src->cmdline ? CONF_LINE_CMDLINE : src->line;

	if (k->off_n) {
		size_t n = *(size_t *)((char *)c + k->off_n);
		if (n > 0)
			c->list_line[idx][n - 1] = line;
	} else {
		c->line[idx] = line;
	}
}

/* One line of at most cap - 1 bytes into buf (without its '\n').
 * @return 1 a line, 0 end of file, -1 too long, -2 a NUL byte (at *nul),
 *         -3 a read error */
static int
read_line(FILE *f, char *buf, size_t cap, size_t *nul)
{
	size_t n = 0;
	int ch;

	while ((ch = getc(f)) != EOF && ch != '\n') {
		if (ch == '\0') {
			*nul = n + 1;
			return -2;
		}
		if (n + 1 >= cap)
			return -1;
		buf[n++] = (char)ch;
	}
	buf[n] = '\0';
	if (ch == EOF && ferror(f))
		return -3;
	return (ch == EOF && n == 0) ? 0 : 1;
}

static int
conf_read_file(struct conf *c, const char *path)
{
	struct conf_src src = { .file = path };
	char line[1024];
	struct stat st;
	FILE *f = fopen(path, "r");
	int rc = 0, r;
	size_t nul = 0;

	if (!f) {
		fprintf(stderr, "pkdns: %s: %s\n", path, strerror(errno));
		return -1;
	}
	/* fopen() opens a directory for reading; only reads then fail */
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fprintf(stderr, "pkdns: %s: is a directory, not a config file\n", path);
		fclose(f);
		return -1;
	}
	while ((r = read_line(f, line, sizeof(line), &nul)) != 0) {
		char *s, *colon, *key, *val, *hash;
		const struct conf_key *k;

		src.line++;
		if (r == -1) {
			rc = conf_fail(&src, "(line)", "line longer than %zu bytes", sizeof(line) - 2);
			break;
		}
		if (r == -2) {
			rc = conf_fail(&src, "(line)", "a NUL byte at column %zu (not a text file?)", nul);
			break;
		}
		if (r == -3) {
			fprintf(stderr, "pkdns: %s: %s\n", path, strerror(errno));
			rc = -1;
			break;
		}
		/* '#' starts a comment unless inside double quotes */
		hash = NULL;
		for (char *q = line, in = 0; *q; q++) {
			if (*q == '"')
				in = !in;
			else if (*q == '#' && !in) {
				hash = q;
				break;
			}
		}
		if (hash)
			*hash = '\0';
		s = trim(line);
		if (!*s)
			continue;
		colon = strchr(s, ':');
		if (!colon) {
			rc = conf_fail(&src, s, "expected \"key: value\"");
			break;
		}
		*colon = '\0';
		key = trim(s);
		val = trim(colon + 1);
		if (val[0] == '"' && strlen(val) >= 2 && val[strlen(val) - 1] == '"') {
			val[strlen(val) - 1] = '\0';
			val++;
		}
		k = key_by_name(key, strlen(key));
		if (!k || k->type == T_CONFIG || k->type == T_HELP || k->type == T_VERSION ||
		    k->type == T_CHECK) {
			rc = conf_fail(&src, key, "unknown key");
			break;
		}
		if (conf_set(c, k, val, &src) < 0) {
			rc = -1;
			break;
		}
		conf_note_line(c, k, &src);
	}
	fclose(f);
	return rc;
}

static void
conf_usage(void)
{
	printf("usage: pkdns [options]\n"
	       "A DNS server that resolves public keys as top-level domains (pkarr on the\n"
	       "Mainline DHT) and every other name through a validating resolver.\n\n");
	for (size_t i = 0; i < N_KEYS; i++) {
		const struct conf_key *k = &conf_keys[i];
		char opt[40];
		if (k->short_opt)
			snprintf(opt, sizeof(opt), "-%c, --%s", k->short_opt, k->name);
		else
			snprintf(opt, sizeof(opt), "    --%s", k->name);
		printf("  %-26s %s\n", opt, k->help);
	}
	printf("\nEvery option is also a config file key (\"key: value\"); see pkdns.conf(5).\n");
}

/* Walk argv; with only_meta, act on -c/-h/-V alone (first pass). */
static enum conf_result
conf_argv(struct conf *c, int argc, char **argv, bool only_meta, const char **config_path)
{
	struct conf_src src = { .cmdline = true };

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *val = NULL;
		const struct conf_key *k = NULL;

		if (arg[0] == '-' && arg[1] == '-' && arg[2]) {
			const char *eq = strchr(arg + 2, '=');
			size_t len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
			k = key_by_name(arg + 2, len);
			if (eq)
				val = eq + 1;
		} else if (arg[0] == '-' && arg[1] && arg[1] != '-') {
			k = key_by_short(arg[1]);
			if (k && arg[2]) {
				/* -vv, or -l127.0.0.1 */
				if (k->type == T_VERBOSE || k->type == T_FLAG) {
					for (const char *q = arg + 2; *q; q++)
						if (*q != arg[1])
							k = NULL;
				} else {
					val = arg + 2;
				}
			}
		}
		if (!k) {
			fprintf(stderr, "pkdns: unknown option '%s' (try --help)\n", arg);
			return CONF_ERROR;
		}
		bool takes_value = k->type != T_FLAG && k->type != T_VERBOSE &&
		    k->type != T_HELP && k->type != T_VERSION && k->type != T_CHECK;
		if (takes_value && !val) {
			if (i + 1 >= argc) {
				fprintf(stderr, "pkdns: --%s: needs a value\n", k->name);
				return CONF_ERROR;
			}
			val = argv[++i];
		} else if (!takes_value && val && k->type != T_VERBOSE && k->type != T_FLAG) {
			fprintf(stderr, "pkdns: --%s takes no value\n", k->name);
			return CONF_ERROR;
		}
		if (k->type == T_HELP) {
			if (only_meta) {
				conf_usage();
				return CONF_EXIT_OK;
			}
			continue;
		}
		if (k->type == T_VERSION) {
			if (only_meta) {
				printf("pkdns %s\n", PACKAGE_VERSION);
				return CONF_EXIT_OK;
			}
			continue;
		}
		if (k->type == T_CHECK) {
			if (!only_meta)
				c->check_config = true;
			continue;
		}
		if (k->type == T_CONFIG) {
			if (only_meta)
				*config_path = val;
			continue;
		}
		if (only_meta)
			continue;
		if (k->type == T_VERBOSE && !val) {
			/* each -v one level more; -vvv counts its letters */
			size_t n = (arg[1] == '-') ? 1 : strlen(arg) - 1;
			if (!src.list_reset[k - conf_keys]) {
				src.list_reset[k - conf_keys] = true;
				c->verbose = 1;
			}
			c->verbose += (int)n;
			continue;
		}
		if (k->type == T_FLAG && !val)
			val = "yes";
		if (conf_set(c, k, val, &src) < 0)
			return CONF_ERROR;
		conf_note_line(c, k, &src);
	}
	return CONF_OK;
}

enum conf_result
conf_load(struct conf *c, int argc, char **argv)
{
	const char *path = NULL;
	enum conf_result r;

	conf_defaults(c);
	r = conf_argv(c, argc, argv, true, &path);
	if (r != CONF_OK)
		return r;
	if (!path && access(DEFAULT_CONFIG, R_OK) == 0)
		path = DEFAULT_CONFIG;
	if (path) {
		if (conf_read_file(c, path) < 0)
			return CONF_ERROR;
		c->config_file = strdup(path);
	}
	r = conf_argv(c, argc, argv, false, &path);
	if (r != CONF_OK)
		return r;
	if (c->min_ttl > c->max_ttl) {
		conf_error(c, "min-ttl", 0, "%u is above max-ttl %u", c->min_ttl, c->max_ttl);
		return CONF_ERROR;
	}
	conf_complete(c);
	return CONF_OK;
}

enum conf_result
conf_reload(struct conf *c, int argc, char **argv)
{
	struct conf fresh;
	enum conf_result r = conf_load(&fresh, argc, argv);

	if (r != CONF_OK) {
		conf_free(&fresh);
		return r;
	}
	conf_free(c);
	*c = fresh;
	return CONF_OK;
}

int
conf_error(const struct conf *c, const char *key, size_t idx, const char *fmt, ...)
{
	const struct conf_key *k = key_by_name(key, strlen(key));
	uint32_t line = 0;
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (k) {
		size_t i = (size_t)(k - conf_keys);
		line = k->off_n ? (idx < CONF_MAX_LIST ? c->list_line[i][idx] : 0) : c->line[i];
	}
	if (line == CONF_LINE_CMDLINE)
		fprintf(stderr, "pkdns: --%s: %s\n", key, msg);
	else if (line && c->config_file)
		fprintf(stderr, "pkdns: %s:%u: %s: %s\n", c->config_file, line, key, msg);
	else
		fprintf(stderr, "pkdns: %s: %s (the default)\n", key, msg);
	return -1;
}

/* The directory part of path ("." when there is none). */
static void
dir_of(const char *path, char *out, size_t cap)
{
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 0;

	if (!slash)
		snprintf(out, cap, ".");
	else if (n == 0)
		snprintf(out, cap, "/");
	else
		snprintf(out, cap, "%.*s", (int)(n < cap ? n : cap - 1), path);
}

int
conf_check_files(const struct conf *c)
{
	struct stat st;
	char dir[4096];
	int rc = 0;

	if (c->dnssec && c->trust_anchor_file) {
		if (stat(c->trust_anchor_file, &st) != 0 || access(c->trust_anchor_file, R_OK) != 0)
			rc = conf_error(c, "trust-anchor-file", 0, "%s: %s (or dnssec: no)",
			    c->trust_anchor_file, strerror(errno));
		else if (!S_ISREG(st.st_mode))
			rc = conf_error(c, "trust-anchor-file", 0, "%s is not a file",
			    c->trust_anchor_file);
	}
	if (c->cache_dir) {
		if (stat(c->cache_dir, &st) == 0) {
			if (!S_ISDIR(st.st_mode))
				rc = conf_error(c, "cache-dir", 0, "%s is not a directory", c->cache_dir);
			else if (access(c->cache_dir, W_OK | X_OK) != 0)
				rc = conf_error(c, "cache-dir", 0, "%s: %s", c->cache_dir,
				    strerror(errno));
		} else {
			/* pkdns creates the directory itself, not its parents */
			dir_of(c->cache_dir, dir, sizeof(dir));
			if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
				rc = conf_error(c, "cache-dir", 0, "%s: its directory %s does not exist",
				    c->cache_dir, dir);
		}
	}
	/* TLS listeners need a readable certificate and key */
	if (c->n_tls_listen || c->n_https_listen) {
		static const char *const key[2] = { "tls-cert", "tls-key" };
		const char *file[2] = { c->tls_cert, c->tls_key };
		for (int i = 0; i < 2; i++) {
			if (!file[i])
				rc = conf_error(c, key[i], 0, "needed by tls-listen and https-listen");
			else if (access(file[i], R_OK) != 0)
				rc = conf_error(c, key[i], 0, "%s: %s", file[i], strerror(errno));
		}
	}
	if (c->pidfile) {
		dir_of(c->pidfile, dir, sizeof(dir));
		if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
			rc = conf_error(c, "pidfile", 0, "%s: its directory %s does not exist",
			    c->pidfile, dir);
		else if (stat(c->pidfile, &st) == 0 && S_ISDIR(st.st_mode))
			rc = conf_error(c, "pidfile", 0, "%s is a directory", c->pidfile);
	}
	return rc;
}
