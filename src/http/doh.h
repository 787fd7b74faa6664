/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * doh.h -- DNS over HTTPS (RFC 8484) as a route of the HTTP server:
 * GET PATH?dns=<base64url> and POST PATH with application/dns-message,
 * answered through the DNS server's query path (dns_server_submit: the
 * same access control, rate limits, caches and deadlines as UDP/TCP).
 *
 * Replies: 200 application/dns-message with Cache-Control max-age = the
 * answer's lowest TTL (RFC 8484 section 5.1; negative answers: the SOA's
 * TTL and MINIMUM, RFC 2308); CORS (Access-Control-Allow-Origin: *) on
 * every reply and OPTIONS preflight. Accept may be absent, a wildcard,
 * application/(anything) or name application/dns-message, else 406. 400 for a
 * missing or bad dns parameter or a body that is no DNS query, 415 for
 * a POST of another type, 403 when access control drops the client.
 */
#ifndef PKDNS_HTTP_DOH_H
#define PKDNS_HTTP_DOH_H

#include <stddef.h>
#include <stdint.h>

struct dns_server;
struct http_server;
struct doh;

/**
 * Mount DoH on an HTTP server.
 * @param path e.g. "/dns-query" (copied)
 * @return the DoH route's context (free with doh_free after the HTTP
 *         server), or NULL when out of memory
 */
struct doh *doh_new(struct http_server *http, struct dns_server *dns, const char *path);

/** Free what doh_new allocated (the HTTP server must be freed first). */
void doh_free(struct doh *d);

/**
 * The freshness lifetime of a DNS answer: the lowest TTL of its records
 * (OPT left out); for an answer with no records but an SOA in authority,
 * min(SOA TTL, SOA MINIMUM).
 * @return the TTL in seconds, 0 when the answer has no records, or -1
 *         when the message is malformed
 */
long doh_min_ttl(const uint8_t *msg, size_t len);

#endif
