/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * parse.h -- the HTTP parsers, with no I/O: an HTTP/1.1 request head
 * (RFC 9112 sections 2-3 and 5-6), a query-string parameter, base64url
 * (RFC 4648 section 5, as RFC 8484 section 4.1 uses it) and an
 * X-Forwarded-For value. Each takes (buffer, length), never reads past
 * the length and returns an error rather than guessing.
 */
#ifndef PKDNS_HTTP_PARSE_H
#define PKDNS_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/** A piece of the input buffer (not NUL-terminated). */
struct h1_str {
	const char *p;
	size_t n;
};

/** What pkdns reads of an HTTP/1.1 request head. */
struct h1_head {
	size_t head_len;            /**< bytes up to and including the empty line */
	unsigned method;            /**< an enum http_method bit, 0 = unknown */
	struct h1_str method_str;
	struct h1_str target;       /**< origin-form: starts with '/' (or "*") */
	int minor;                  /**< HTTP/1.0 or HTTP/1.1 */
	int64_t content_length;     /**< -1 when absent */
	bool chunked;               /**< a Transfer-Encoding header was sent */
	bool conn_close;            /**< Connection: close */
	bool conn_keep_alive;       /**< Connection: keep-alive (HTTP/1.0) */
	struct h1_str content_type, accept, origin, if_modified_since, x_forwarded_for;
	unsigned n_headers;
};

#define H1_MAX_HEADERS 64

enum h1_result {
	H1_OK = 1,          /**< a whole head was parsed */
	H1_PARTIAL = 0,     /**< more bytes needed */
	H1_BAD = -1,        /**< malformed: 400 */
	H1_TOO_LARGE = -2,  /**< too many headers: 431 */
	H1_VERSION = -3,    /**< not HTTP/1.x: 505 */
};

/**
 * Parse a request head from the start of buf.
 * @param buf, len the bytes received so far
 * @param h filled on H1_OK
 * @return an enum h1_result
 */
int h1_parse_head(const char *buf, size_t len, struct h1_head *h);

/**
 * Find a parameter's value in a query string ("a=1&dns=AAAB").
 * @param q, qlen the query string (without '?')
 * @param name the parameter's name
 * @param val set to the value (not decoded)
 * @return true when found
 */
bool http_query_param(const char *q, size_t qlen, const char *name, struct h1_str *val);

/**
 * Decode base64url without padding (trailing '=' tolerated).
 * @return the decoded length, or -1 when malformed or longer than cap
 */
long http_b64url_decode(const char *in, size_t len, uint8_t *out, size_t cap);

/**
 * The client an X-Forwarded-For value names: its last address (the one
 * the nearest proxy added).
 * @return 0, or -1 when that is not an IP address
 */
int http_xff_parse(const char *v, size_t len, struct sockaddr_storage *out, socklen_t *out_len);

#endif
