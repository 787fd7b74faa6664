/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * http.h -- a small HTTP server on the daemon's event_base: HTTP/1.1
 * (RFC 9112: keep-alive, bounded pipelining) and HTTP/2 (RFC 9113, with
 * nghttp2; ALPN "h2" over TLS, prior knowledge on plain listeners), plain
 * or TLS, with a route table so that modules mount handlers (DoH,
 * the pkarr relay API, /metrics) without knowing the protocol version.
 *
 * Request life: the server calls a route's handler with a struct
 * http_req once the whole request (head and body) is in. The handler
 * answers at once with http_reply(), or keeps req and answers later; a
 * handler that keeps req must call http_req_on_abort() before returning,
 * since a closed connection or reset stream ends the request: the abort
 * callback runs once, after which req is freed and must not be touched.
 * http_reply() copies what it needs and finishes req. Every request gets
 * exactly one http_reply() or one abort.
 *
 * Bounds (struct http_server_config): request head size, body size (a
 * larger body gets 413), bodies held in all (503 over it), connections in all and per client, concurrent
 * HTTP/2 streams and pipelined HTTP/1.1 requests per connection, idle,
 * handshake and request timeouts. A malformed HTTP/1.1 request gets 400
 * and the connection is closed after the reply (the framing can no longer
 * be trusted); a malformed HTTP/2 request gets 400 on its stream only.
 *
 * Callbacks never run inside the call that started them; they run from
 * the event loop. A route's handler runs when a whole request is in,
 * never inside http_reply() (a pipelined HTTP/1.1 request is read from
 * the loop once the reply before it is written). An abort
 * callback runs when its request's connection or stream ends: from the
 * loop, inside http_server_free(), or inside an http_reply() to another
 * request of the same connection that ends it (an HTTP/2 session
 * failing to send); never inside http_req_on_abort().
 * Errors: a function that can fail returns a negative int (-1 unless its
 * @return names codes), NULL for a pointer, or 0 for an ID. (Here: int
 * functions return 0 or -1, constructors NULL.)
 */
#ifndef PKDNS_HTTP_HTTP_H
#define PKDNS_HTTP_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "util/netaddr.h"

struct event_base;
struct http_server;
struct http_req_priv;
struct tls_server;

/** Methods, as bits for a route's method mask. */
enum http_method {
	HTTP_GET = 1 << 0,
	HTTP_HEAD = 1 << 1,
	HTTP_POST = 1 << 2,
	HTTP_PUT = 1 << 3,
	HTTP_DELETE = 1 << 4,
	HTTP_OPTIONS = 1 << 5,
};

/** A request. Every field is read-only for the handler; strings are
 *  NUL-terminated and live as long as the request. */
struct http_req {
	unsigned method;             /**< one enum http_method bit */
	const char *path;            /**< as sent, without the query (no
	                              *   percent-decoding), begins with '/' */
	const char *query;           /**< after '?', or NULL when none */
	/* The headers routes need, or NULL when absent (a repeated header:
	 * the first). */
	const char *content_type;
	const char *accept;
	const char *origin;
	const char *if_modified_since;
	const uint8_t *body;         /**< the whole body (NULL when none) */
	size_t body_len;
	/** The client for access control and rate limits: the connection's
	 *  peer, or the last X-Forwarded-For address when the peer is in
	 *  trusted-proxy. */
	struct sockaddr_storage client;
	socklen_t client_len;
	struct sockaddr_storage peer; /**< the TCP peer itself */
	socklen_t peer_len;
	bool tls;                    /**< arrived over TLS */
	int version;                 /**< 1 (HTTP/1.1) or 2 (HTTP/2) */
	struct http_req_priv *priv;  /**< the server's bookkeeping */
};

/** A route's handler: answer with http_reply(), or keep req (see above). */
typedef void (*http_handler_fn)(void *ctx, struct http_req *req);

/** The request ended before its reply (connection closed, stream reset,
 *  server freed). req is freed right after this returns. */
typedef void (*http_abort_fn)(void *ctx, struct http_req *req);

/** Limits; 0 in a field means its default (in brackets). */
struct http_server_config {
	unsigned max_connections;     /**< all listeners together [256] */
	unsigned max_per_client;      /**< per IPv4 address or IPv6 /64 [max/8] */
	unsigned max_streams;         /**< HTTP/2 concurrent streams, HTTP/1.1
	                               *   pipelined requests, per connection [100] */
	unsigned idle_timeout_s;      /**< close a connection idle this long [30] */
	unsigned handshake_timeout_ms; /**< TLS handshake must end in this [5000] */
	unsigned request_timeout_ms;  /**< a request, once begun, must be whole
	                               *   in this [10000] */
	size_t max_header;            /**< bytes of a request head [8192] */
	size_t max_body;              /**< bytes of a body [65535] */
	/** bytes of request bodies held at once, all connections together
	 *  (a body over it gets 503) [16 MiB] */
	size_t max_body_total;
	/** X-Forwarded-For is honoured only from peers in these prefixes
	 *  (copied at http_server_new). */
	const struct netprefix *trusted_proxy;
	size_t n_trusted_proxy;
};

/**
 * Create a server with no listeners and no routes.
 * @return the server, or NULL when out of memory
 */
struct http_server *http_server_new(struct event_base *base, const struct http_server_config *cfg);

/**
 * Mount a handler. The route with the longest matching prefix among
 * those whose mask has the request's method wins; a path some route
 * matches with another method gets 405, a path no route matches 404.
 * HEAD requests get the GET route when no route takes HEAD (the body is
 * left out of the reply).
 * @param methods a mask of enum http_method
 * @param prefix matched against the start of the path ("/" matches all;
 *        "/dns-query" matches "/dns-query" and "/dns-query/x", not
 *        "/dns-queryx"); copied
 * @return 0, or -1 when out of memory
 */
int http_route_add(struct http_server *s, unsigned methods, const char *prefix,
    http_handler_fn fn, void *ctx);

/**
 * Listen on one address.
 * @param tls TLS context (ALPN h2 and http/1.1), or NULL for plain HTTP
 *        (HTTP/1.1, and HTTP/2 with prior knowledge); not owned
 * @return 0, or -1 after logging why
 */
int http_server_listen(struct http_server *s, const struct sockaddr *addr, socklen_t len,
    struct tls_server *tls);

/**
 * Serve a connection accepted elsewhere (tests and fuzzers: one end of a
 * socketpair). The connection limits apply.
 * @param fd connected stream socket; owned by the server from now on
 * @param tls as for http_server_listen
 * @return 0, or -1 when refused (fd closed)
 */
int http_server_adopt(struct http_server *s, int fd, const struct sockaddr *peer,
    socklen_t peer_len, struct tls_server *tls);

/** Stop accepting connections; open ones are served to the end. */
void http_server_close_listeners(struct http_server *s);

/** Free the server: every kept request is aborted first. */
void http_server_free(struct http_server *s);

/**
 * Add a response header to the reply of req (before http_reply()).
 * Content-Type and Content-Length are set by http_reply().
 * @param name, value copied; must hold no CR, LF or NUL
 * @return 0, or -1 (out of memory, bad characters, too many headers)
 */
int http_resp_header(struct http_req *req, const char *name, const char *value);

/**
 * Send the reply and finish req.
 * @param status 200, 204, 304, 400, ...
 * @param content_type or NULL for none
 * @param body copied (may be NULL with len 0)
 */
void http_reply(struct http_req *req, int status, const char *content_type,
    const void *body, size_t len);

/**
 * Keep req past the handler call: fn(ctx, req) runs if the request ends
 * before http_reply().
 */
void http_req_on_abort(struct http_req *req, http_abort_fn fn, void *ctx);

/** Counters (for the stats line and /metrics). */
struct http_server_stats {
	uint64_t connections;         /**< accepted */
	uint64_t refused;             /**< closed at accept: over a cap */
	uint64_t evicted;             /**< idle connections closed to make room */
	uint64_t handshake_timeouts;  /**< TLS handshakes not done in time */
	uint64_t handshake_errors;
	uint64_t requests_h1, requests_h2;
	uint64_t bad_requests;        /**< 400, 413, 431 sent by the server */
	uint64_t aborted;             /**< requests ended before their reply */
	unsigned open;                /**< connections open now */
};

/** Copy the counters. */
void http_server_get_stats(const struct http_server *s, struct http_server_stats *st);

#endif
