/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * relay_api.h -- the pkarr relay API server (pkarr design/relays.md) on
 * pkdns's HTTP listeners: GET /<key> reads through the packet cache and
 * joins the key's look-up (shared with DNS queries), PUT /<key> verifies,
 * caches and puts the packet on the DHT, OPTIONS answers CORS preflights.
 *
 * Listener-neutral: an HTTP front end (HTTP/1.1 or HTTP/2) fills a struct
 * relay_http_req and gives a send function; the handler calls it once
 * per request, with every header the reply needs (CORS included), either
 * before relay_api_handle() returns or later from the event loop.
 *
 * Statuses: GET 200 (payload, Content-Type, Cache-Control max-age from
 * the packet's TTLs, Last-Modified from its seq), 304 (If-Modified-Since
 * at or after the packet's second), 400 (bad key), 404 (no packet), 429
 * (over dht-ratelimit starting look-ups), 503 (no DHT node or relay
 * answered). PUT 204 (Pkarr-Dht-Stored-Nodes), 400 (bad key, signature,
 * DNS message or a time too far ahead), 409 (older than the packet held),
 * 413 (body over 1,072 bytes), 429 (over relay-put-ratelimit), 503 (no
 * DHT node reachable; the packet stays cached). Other methods 405.
 *
 * Callbacks never run inside the call that started them; they run from
 * the event loop. send is the exception: it is how a request is
 * answered, not a completion callback, and like http_reply() in an HTTP
 * handler it runs inside relay_api_handle() when the reply is known at
 * once (*pending is then NULL), else later from the loop; the listener
 * must not call into the API from it.
 * Errors: a function that can fail returns a negative int (-1 unless its
 * @return names codes), NULL for a pointer, or 0 for an ID.
 */
#ifndef PKDNS_DAEMON_RELAY_API_H
#define PKDNS_DAEMON_RELAY_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pkdns;
struct relay_api;
struct relay_call;
struct sockaddr;

/** The request methods the relay API tells apart. */
enum relay_http_method {
	RELAY_HTTP_GET,
	RELAY_HTTP_HEAD,
	RELAY_HTTP_PUT,
	RELAY_HTTP_OPTIONS,
	RELAY_HTTP_OTHER,
};

/** A request, as the listener parsed it (valid during the call only). */
struct relay_http_req {
	enum relay_http_method method;
	const char *path;              /**< as sent, "?query" included */
	size_t path_len;
	const char *if_modified_since; /**< header value, NUL-terminated, or NULL */
	const uint8_t *body;           /**< PUT body, NULL otherwise */
	size_t body_len;
	bool body_too_large;           /**< the listener stopped reading it */
	const struct sockaddr *client; /**< the peer (or a trusted proxy's client) */
};

/** Most headers a reply carries. */
#define RELAY_HTTP_MAX_HDRS 12

/** One reply header. */
struct relay_http_hdr {
	const char *name;
	char value[64];
};

/** A reply (valid during the send call only). */
struct relay_http_reply {
	int status;
	const char *reason;            /**< "OK", "Not Found", ... */
	struct relay_http_hdr h[RELAY_HTTP_MAX_HDRS];
	size_t n;
	const uint8_t *body;           /**< NULL for none; also given for HEAD,
	                                *   whose reply the listener sends without it */
	size_t body_len;
};

/**
 * Send a reply on the listener's connection or stream.
 * @param conn the listener's handle given to relay_api_handle()
 * @param rep the reply
 */
typedef void (*relay_http_send_fn)(void *conn, const struct relay_http_reply *rep);

/** Largest PUT body the listener needs to read (more: 413). */
#define RELAY_API_BODY_MAX 1072

struct pkarr_resolver;
/**
 * Make the relay API of a daemon over resolver r (which outlives it; uses
 * d->conf and d->w.stats).
 * @return the API, or NULL (out of memory)
 */
struct relay_api *relay_api_new(struct pkdns *d, struct pkarr_resolver *r);

/** Free the API and its pending calls (their replies are never sent). */
void relay_api_free(struct relay_api *api);

/**
 * Is this path the relay API's: "/" and one segment of 52 characters
 * (any query)? A listener routes such requests here (a segment that is
 * no key gets 400) and others elsewhere (/dns-query, ...).
 * @return true or false
 */
bool relay_api_path(const char *path, size_t len);

/**
 * Handle one request.
 * @param api the API
 * @param req the request
 * @param send called once with the reply, now or later
 * @param conn passed to send
 * @param pending set to a handle while the reply is still to come, NULL
 *        once it was sent; relay_call_cancel() it if the connection goes
 */
void relay_api_handle(struct relay_api *api, const struct relay_http_req *req,
    relay_http_send_fn send, void *conn, struct relay_call **pending);

/**
 * The connection of a pending call went away: its reply is dropped.
 * @param c the handle (NULL is fine)
 */
void relay_call_cancel(struct relay_call *c);

#endif
