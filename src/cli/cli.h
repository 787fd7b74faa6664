/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cli.h -- shared pieces of pkdns-cli, the command-line tool of pkdns:
 * global options, seed files, key and hex parsing, and a short-lived
 * Mainline DHT session (a BEP 43 read-only client node on its own
 * event_base) that the publish, resolve and dht commands drive.
 *
 * Internal to src/cli/; nothing else links these functions.
 */
#ifndef PKDNS_CLI_CLI_H
#define PKDNS_CLI_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/** Exit codes of every command (documented in pkdns-cli(1)). */
enum cli_exit {
	CLI_EXIT_OK = 0,      /**< found, stored, done */
	CLI_EXIT_FAIL = 1,    /**< not found, not stored, network failure */
	CLI_EXIT_USAGE = 2,   /**< bad arguments or input files */
};

/** Most --bootstrap options kept. */
#define CLI_MAX_BOOTSTRAP 16
/** Default DHT port of the daemon's testnet (pkdns --testnet). */
#define CLI_TESTNET_PORT 46881
/** Default --timeout in seconds. */
#define CLI_DEFAULT_TIMEOUT_S 15.0

/** Global options, filled by main() before a command runs. */
struct cli_opts {
	const char *bootstrap[CLI_MAX_BOOTSTRAP]; /**< HOST:PORT as given */
	size_t nbootstrap;
	bool testnet;            /**< bootstrap from the local testnet too */
	uint16_t testnet_port;   /**< its first port */
	uint64_t timeout_ms;     /**< bound on the whole network part */
	int verbose;             /**< number of -v */
};

/**
 * Read a seed file: exactly 64 hex digits and an optional newline. Warns
 * on stderr when the file is accessible to group or others.
 * @param path the file
 * @param seed receives the 32-byte Ed25519 seed
 * @return 0, or -1 after printing why on stderr
 */
int cli_read_seed(const char *path, uint8_t seed[32]);

/**
 * Parse a public key given as 52 z-base32 characters or 64 hex digits,
 * optionally prefixed with "pk:" and followed by a dot.
 * @param s the text
 * @param pk receives the 32 bytes
 * @return 0, or -1 when s is no key
 */
int cli_parse_key(const char *s, uint8_t pk[32]);

/**
 * Split "HOST:PORT" (HOST a name or IPv4 address; IPv6 literals are
 * "[ADDR]:PORT" and handled by netaddr_parse) and check the port.
 * @param hp the text
 * @param host receives HOST, NUL-terminated
 * @param hostcap size of host
 * @param port receives the port (may be NULL)
 * @return 0, or -1 when hp is not of that form
 */
int cli_split_hostport(const char *hp, char *host, size_t hostcap,
	uint16_t *port);

/**
 * Decode hex digits of any even length into a buffer.
 * @param hex the digits (NUL-terminated)
 * @param out destination
 * @param cap its size
 * @param len receives the number of bytes
 * @return 0, or -1 on a non-hex character, odd length or overflow
 */
int cli_hex_decode(const char *hex, uint8_t *out, size_t cap, size_t *len);

/**
 * Print bytes as lower-case hex and a newline.
 * @param buf the bytes
 * @param len their number
 */
void cli_print_hex(const uint8_t *buf, size_t len);

/** One option a command accepts; value is NULL for flags. */
struct cli_optspec {
	const char *short_name; /**< "-k", or NULL */
	const char *long_name;  /**< "--salt", or NULL */
	bool takes_value;       /**< the next argument (or "=value") */
	const char **value;     /**< receives the value, or "" for a flag */
};

/**
 * Split a command's arguments into options and positional arguments;
 * "--" ends the options.
 * @param cmd command name for messages
 * @param argc number of arguments
 * @param argv them
 * @param specs the options accepted
 * @param nspecs their number
 * @param pos receives the positional arguments
 * @param maxpos most positional arguments accepted
 * @param npos receives their number
 * @return 0, or -1 after printing why on stderr
 */
int cli_parse_args(const char *cmd, int argc, char **argv,
	const struct cli_optspec *specs, size_t nspecs, char **pos,
	size_t maxpos, size_t *npos);

/** A DHT session: event loop, node, deadline. */
struct cli_session;
struct dht;

/**
 * Resolve the bootstrap list, bind a client-mode node on an ephemeral
 * port (127.0.0.1 when every bootstrap node is on loopback, else 0.0.0.0)
 * and wait, bounded, for its routing table to fill.
 * @param o global options
 * @param min_nodes stop waiting once the table holds this many nodes
 * @param wait_ms longest wait for them
 * @return the session, or NULL after printing why
 */
struct cli_session *cli_session_start(const struct cli_opts *o,
	size_t min_nodes, uint64_t wait_ms);

/**
 * The DHT node of a session.
 * @param s session
 * @return the node (owned by the session)
 */
struct dht *cli_session_dht(struct cli_session *s);

/**
 * Run the event loop until *flag turns true or the session deadline
 * (start + --timeout) passes. Look-ups started before are scheduled
 * first (dht_node_kick), so call this right after starting one.
 * @param s session
 * @param flag set by a callback (may be NULL: run until the deadline
 *        or until wait_ms passes)
 * @param wait_ms further bound on this wait (0: none)
 * @return 0 when *flag was set, -1 on timeout or loop failure
 */
int cli_session_run(struct cli_session *s, const bool *flag, uint64_t wait_ms);

/**
 * The clock of the session's node: pass it as now_ms to dht.h calls.
 * @param s session
 * @return milliseconds (monotonic)
 */
uint64_t cli_session_now(const struct cli_session *s);

/**
 * Milliseconds of the session deadline left.
 * @param s session
 * @return ms, 0 when passed
 */
uint64_t cli_session_left_ms(const struct cli_session *s);

/**
 * Run the event loop until cond holds or wait_ms passes, bounded by the
 * session deadline; cond is checked every few tens of milliseconds.
 * @param s session
 * @param cond stop condition (NULL: run for wait_ms)
 * @param ctx passed to cond
 * @param wait_ms further bound on this wait (0: none)
 * @return 0 when cond held at the end, -1 otherwise
 */
int cli_session_run_until(struct cli_session *s,
	bool (*cond)(struct cli_session *s, void *ctx), void *ctx,
	uint64_t wait_ms);

/**
 * Nodes in the session node's routing table (both families).
 * @param s session
 * @return the count
 */
size_t cli_session_table_size(struct cli_session *s);

/**
 * Addresses of "HOST:PORT": an address literal, or a name looked up
 * with getaddrinfo (at most 4 addresses kept per name).
 * @param hp the text
 * @param out receives the addresses
 * @param outlen receives their lengths
 * @param cap room in out and outlen
 * @return number of addresses, -1 when the name does not resolve
 *         (warned on stderr), -2 when hp is not HOST:PORT
 */
int cli_resolve_hostport(const char *hp, struct sockaddr_storage *out,
	socklen_t *outlen, size_t cap);

/**
 * Free a session: node, socket, loop.
 * @param s session (NULL is fine)
 */
void cli_session_free(struct cli_session *s);

struct dht_lookup_stats;

/**
 * Print a look-up's statistics on stderr, prefixed by what it was.
 * @param what e.g. "resolve"
 * @param st the statistics from a done callback
 */
void cli_print_stats(const char *what, const struct dht_lookup_stats *st);

/**
 * `pkdns-cli dht ...`
 * @param o global options
 * @param argc arguments after "dht"
 * @param argv them
 * @return an exit code
 */
int cli_cmd_dht(const struct cli_opts *o, int argc, char **argv);

/**
 * `pkdns-cli publish SEEDFILE ZONEFILE`
 * @param o global options
 * @param argc arguments after "publish"
 * @param argv them
 * @return an exit code
 */
int cli_cmd_publish(const struct cli_opts *o, int argc, char **argv);

/**
 * `pkdns-cli resolve KEY [NAME] [TYPE]`
 * @param o global options
 * @param argc arguments after "resolve"
 * @param argv them
 * @return an exit code
 */
int cli_cmd_resolve(const struct cli_opts *o, int argc, char **argv);

struct pkarr_packet;

/**
 * PUT a packet to a pkarr relay (publish --relay), printing the outcome.
 * @param o global options (--timeout bounds the request)
 * @param url the relay, http[s]://HOST[:PORT][/PATH]
 * @param ca a PEM CA file trusted instead of the system store, or NULL
 * @param pkt the signed packet
 * @return a cli_exit code
 */
int cli_relay_put(const struct cli_opts *o, const char *url, const char *ca,
	const struct pkarr_packet *pkt);

/**
 * GET a key's packet from a pkarr relay (resolve --relay) and verify it.
 * @param o global options
 * @param url the relay
 * @param ca a PEM CA file, or NULL
 * @param pk the key
 * @param out receives the verified packet
 * @return 0, 1 when the relay has none (404), or -1 after printing why
 */
int cli_relay_get(const struct cli_opts *o, const char *url, const char *ca,
	const uint8_t pk[32], struct pkarr_packet *out);

#endif
