/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * relay_client.h -- an HTTP client for pkarr relays (pkarr
 * design/relays.md): GET /<key> with If-Modified-Since, PUT /<key> with a
 * payload, over plain HTTP or HTTPS on the caller's event_base (libevent's
 * evhttp client over bufferevent_openssl; one connection per request).
 *
 * HTTPS certificates are verified against the system's store, or against
 * one CA file instead (tests: the `relay-ca` key), with the URL's host
 * name (or IP address) checked (SSL_set1_host, RFC 6125). Host names are
 * resolved with libevent's asynchronous resolver (/etc/resolv.conf), never
 * by a blocking call: when pkdns is itself the system's resolver it
 * answers that query on its own loop.
 *
 * Every request is bounded: a deadline for the whole exchange, header and
 * body sizes (a body over PKARR_RELAY_PAYLOAD_MAX fails). Nothing here
 * trusts a relay: the caller verifies the payload (pkarr_relay_decode).
 *
 * Callbacks never run inside the call that started them; they run from
 * the event loop.
 * Errors: a function that can fail returns a negative int (-1 unless its
 * @return names codes), NULL for a pointer, or 0 for an ID.
 * Single-threaded; no global state.
 */
#ifndef PKDNS_PKARR_RELAY_CLIENT_H
#define PKDNS_PKARR_RELAY_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "pkarr/packet.h"

struct event_base;
struct relay_client;
struct relay_req;

/** Most relays one client keeps. */
#define RELAY_CLIENT_MAX 32
/** Most requests open to one relay at a time (sockets, memory): beyond
 *  it relay_client_get/put return NULL and the caller goes on without
 *  that relay. */
#define RELAY_CLIENT_MAX_INFLIGHT 32
/** Default deadline of one request, in milliseconds. */
#define RELAY_CLIENT_TIMEOUT_MS 5000

/** Failures reported instead of an HTTP status (all negative). */
enum relay_client_err {
	RELAY_E_NET = -1,     /**< connect, TLS (certificate) or HTTP error */
	RELAY_E_TIMEOUT = -2, /**< no whole answer before the deadline */
};

/**
 * Called once per request with its outcome. The request's handle is
 * invalid once this runs.
 * @param ctx the caller's context
 * @param relay index of the relay asked (order of the URLs given)
 * @param status the HTTP status, or a RELAY_E_* code
 * @param body the response body (for 200), NULL otherwise
 * @param len its length
 */
typedef void (*relay_client_cb)(void *ctx, size_t relay, int status, const uint8_t *body,
    size_t len);

/**
 * Make a client for a list of relay URLs.
 * @param base the event loop
 * @param urls "http[s]://HOST[:PORT][/PATH]" each (copied)
 * @param n how many (at most RELAY_CLIENT_MAX)
 * @param ca_file a PEM file of CAs to trust instead of the system's
 *        store, or NULL
 * @param timeout_ms deadline of each request (0: RELAY_CLIENT_TIMEOUT_MS)
 * @return the client, or NULL (a bad URL, an unreadable CA file, out of
 *         memory; logged)
 */
struct relay_client *relay_client_new(struct event_base *base, const char *const *urls,
    size_t n, const char *ca_file, uint32_t timeout_ms);

/**
 * Free a client, cancelling its requests (their callbacks do not run).
 * @param rc the client (NULL is fine)
 */
void relay_client_free(struct relay_client *rc);

/**
 * How many relays the client has.
 * @param rc the client (NULL: 0)
 * @return the count
 */
size_t relay_client_count(const struct relay_client *rc);

/**
 * The URL of a relay, for log lines.
 * @param rc the client
 * @param relay its index
 * @return the URL as given
 */
const char *relay_client_url(const struct relay_client *rc, size_t relay);

/**
 * GET /<key> from one relay.
 * @param rc the client
 * @param relay the relay's index
 * @param pk the key
 * @param ims_s If-Modified-Since in seconds since the epoch, 0 for none
 * @param cb called with the outcome (200 with the payload, 304, 404, ...)
 * @param ctx passed to cb
 * @return a handle for relay_req_cancel(), or NULL (cb will not run):
 *         out of memory, or RELAY_CLIENT_MAX_INFLIGHT requests open to it
 */
struct relay_req *relay_client_get(struct relay_client *rc, size_t relay,
    const uint8_t pk[32], uint64_t ims_s, relay_client_cb cb, void *ctx);

/**
 * PUT /<key> with a packet's payload to one relay.
 * @param rc the client
 * @param relay the relay's index
 * @param pkt the packet
 * @param cb called with the outcome (204 when stored)
 * @param ctx passed to cb
 * @return a handle for relay_req_cancel(), or NULL (cb will not run)
 */
struct relay_req *relay_client_put(struct relay_client *rc, size_t relay,
    const struct pkarr_packet *pkt, relay_client_cb cb, void *ctx);

/**
 * Cancel a request whose callback has not run; it never will.
 * @param req the handle (NULL is fine)
 */
void relay_req_cancel(struct relay_req *req);

#endif
