/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * querylog.h -- the lines of the query log (log-queries: one per answered
 * query; log-servfail: one per SERVFAIL with its reason).
 *
 * A line is built into a caller's fixed buffer: the name is printed with
 * every byte outside printable ASCII, the dot and the backslash escaped
 * as \DDD (a name of 255 wire bytes needs at most 1,020 characters), and
 * every other field is bounded too, so a hostile name can neither split
 * a line nor grow it past QUERYLOG_LINE_MAX.
 */
#ifndef PKDNS_DNS_QUERYLOG_H
#define PKDNS_DNS_QUERYLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/** Room for any line querylog_format() writes, with its NUL. */
#define QUERYLOG_LINE_MAX 1200

/** One answered query, as the log shows it. */
struct querylog_entry {
	const struct sockaddr *client;
	const uint8_t *qname;      /**< wire format, uncompressed */
	size_t qname_len;
	uint16_t qtype;
	bool tcp;
	const char *transport;     /**< "tls", "https", ...; NULL: tcp or udp */
	const char *path;          /**< "pkarr", "icann", "cache", or NULL ("-") */
	int rcode;                 /**< of the reply */
	uint64_t ms;               /**< from arrival to reply */
	bool cache_hit;
	const char *reason;        /**< why (SERVFAIL line), or NULL */
};

/**
 * The log-queries line:
 * "CLIENT NAME TYPE TRANSPORT PATH RCODE MSms cache=hit|miss".
 * @param out, cap the buffer (QUERYLOG_LINE_MAX is always enough)
 * @return the length written, or 0 when cap is too small
 */
size_t querylog_format(char *out, size_t cap, const struct querylog_entry *e);

/**
 * The log-servfail line: "CLIENT NAME TYPE TRANSPORT PATH: REASON"
 * (reason "unknown" when none was noted; printable ASCII only).
 * @return as querylog_format()
 */
size_t querylog_format_servfail(char *out, size_t cap, const struct querylog_entry *e);

/** @return the mnemonic of an rcode ("NXDOMAIN"), or NULL for others. */
const char *querylog_rcode_name(int rcode);

#endif
