/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ctl.h -- the control channel's protocol, shared by pkdns and
 * pkdns-control: one request line, "PKDNSCTL1 COMMAND [ARGS]\n", then the
 * daemon's answer, text until it closes the connection. An answer whose
 * first line starts with "error" is a failure (pkdns-control exits 1).
 *
 * ctl_parse() takes the line as it came from the socket (hostile: any
 * bytes, any length) and fills a request; no I/O, no allocation.
 */
#ifndef PKDNS_CONTROL_CTL_H
#define PKDNS_CONTROL_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** First word of every request: the protocol's version. */
#define CTL_MAGIC "PKDNSCTL1"
/** Longest request line, newline excluded. */
#define CTL_MAX_LINE 512

enum ctl_cmd {
	CTL_STATUS,
	CTL_STATS,
	CTL_STATS_NORESET,
	CTL_RELOAD,
	CTL_VERBOSITY,
	CTL_FLUSH,
	CTL_FLUSH_ZONE,
	CTL_FLUSH_KEY,
	CTL_LOOKUP,
	CTL_REPUBLISH,
	CTL_DHT_NODES,
};

/** A parsed request. */
struct ctl_request {
	enum ctl_cmd cmd;
	int verbosity;          /**< CTL_VERBOSITY: 0..3 */
	uint8_t name[255];      /**< CTL_FLUSH, CTL_FLUSH_ZONE: wire, lower case */
	size_t name_len;
	uint16_t qtype;         /**< CTL_FLUSH: 0 = the usual types */
	uint8_t key[32];        /**< CTL_FLUSH_KEY, CTL_LOOKUP, CTL_REPUBLISH */
};

/**
 * Parse one request line.
 * @param line the bytes (no NUL needed; a trailing "\n" or "\r\n" is allowed)
 * @param len their count
 * @param with_magic whether the line starts with CTL_MAGIC (the daemon's
 *        side) or with the command (pkdns-control's own check)
 * @param req filled in on success
 * @param err receives one line saying what is wrong
 * @param errlen its size
 * @return 0, or -1 with err set
 */
int ctl_parse(const char *line, size_t len, bool with_magic, struct ctl_request *req, char *err,
    size_t errlen);

/** The command words, for help texts: NULL-terminated. */
extern const char *const ctl_usage_lines[];

#endif
