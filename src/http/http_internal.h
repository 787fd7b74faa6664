/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * http_internal.h -- what http.c, http1.c and h2.c share: the
 * connection and request structs. Not a module API (see http.h).
 */
#ifndef PKDNS_HTTP_INTERNAL_H
#define PKDNS_HTTP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/http.h"
#include "util/connlimit.h"

struct bufferevent;
struct event;

#define HTTP_MAX_RESP_HEADERS 16
#define HTTP_DATE_LEN 30            /* "Sun, 06 Nov 1994 08:49:37 GMT" + NUL */
#define HTTP_OUT_HIGH (256 * 1024)   /* stop producing output above this */
/* Per-request storage for the request's strings, the reply's headers and
 * a small reply body (a DNS answer): no allocation for each of them on
 * the common path; what does not fit is malloc'd (http_req_str()). */
#define HTTP_REQ_ARENA 1024

enum http_proto { HTTP_PROTO_SNIFF = 0, HTTP_PROTO_H1 = 1, HTTP_PROTO_H2 = 2 };

struct http_hdr {
	char *name, *value;
};

struct http_req_priv {
	struct http_req req;
	struct http_conn *conn;
	int32_t stream_id;          /* HTTP/2 */
	bool dispatched;            /* handed to a handler */
	bool replied;
	bool head;                  /* HEAD: no body in the reply */
	bool close_after;           /* HTTP/1.x: close once this reply is out */
	http_abort_fn abort_fn;
	void *abort_ctx;
	/* request: owned copies of the strings in req */
	char *path, *query, *content_type, *accept, *origin, *ims, *xff;
	uint8_t *body;
	size_t body_len, body_cap;
	size_t body_charged;        /* of the server's body budget */
	size_t hdr_bytes;           /* HTTP/2: header bytes received */
	int early_status;           /* HTTP/2: answer this when the request ends */
	/* reply */
	int status;
	char *ctype;
	struct http_hdr hdrs[HTTP_MAX_RESP_HEADERS];
	unsigned n_hdrs;
	uint8_t *out;
	size_t out_len, out_off;
	struct http_req_priv *prev, *next; /* the connection's, in arrival order */
	/* HTTP/2: the reply's header values nghttp2 sends later (NO_COPY) */
	char h2_status[4], h2_clen[24], h2_date[HTTP_DATE_LEN];
	size_t arena_used;
	/* last: not zeroed by http_req_new() */
	char arena[HTTP_REQ_ARENA];
};

struct http_conn {
	struct http_server *srv;
	struct bufferevent *bev;
	struct connlimit_link link; /* the server's table: peer, activity order */
	bool tls;
	bool handshaking;
	bool closing;               /* close once the output is out */
	bool lingering;             /* half-closed, discarding input */
	bool read_paused;
	bool in_read;               /* inside a read callback (no free) */
	bool dead;                  /* freed at the end of the callback */
	int proto;                  /* enum http_proto */
	struct event *timer;        /* handshake or request deadline */
	bool timer_on;
	struct http_req_priv *reqs, *reqs_tail;
	unsigned n_reqs;
	void *h2;                   /* nghttp2_session */
};

struct http_route {
	unsigned methods;
	char *prefix;
	size_t plen;
	http_handler_fn fn;
	void *ctx;
	struct http_route *next;
};

struct http_listener;

struct http_server {
	struct event_base *base;
	struct http_server_config cfg;
	struct netprefix *trusted;
	struct http_route *routes;
	struct http_listener *listeners;
	struct connlimit conns;
	size_t body_bytes;          /* request bodies held now */
	struct http_server_stats stats;
	int64_t date_sec;           /* the second date_str was made for */
	char date_str[HTTP_DATE_LEN];
};

/* http.c */
struct http_req_priv *http_req_new(struct http_conn *c);
void http_req_free(struct http_req_priv *rp);
/* Route and call the handler (or answer 404/405 here). */
void http_dispatch(struct http_req_priv *rp);
/* Charge n more body bytes to the server's budget. @return false when
 * over it (nothing charged) */
bool http_body_charge(struct http_req_priv *rp, size_t n);
/* Reply with an error made here (400, 413...). */
void http_reply_error(struct http_req_priv *rp, int status);
void http_conn_free(struct http_conn *c);
/* Close once what is queued is sent. */
void http_conn_close_soon(struct http_conn *c);
void http_conn_timer(struct http_conn *c, unsigned ms);
void http_conn_touch(struct http_conn *c);
const char *http_status_text(int status);
/* The current time as an IMF-fixdate (RFC 9110 section 5.6.7), made
 * once a second (the server's copy). @return s->date_str */
const char *http_date(struct http_server *s);
/* A NUL-terminated copy of p[0..n) kept as long as rp: in rp's arena
 * when it fits, else malloc'd (freed with rp). @return NULL: no memory */
char *http_req_str(struct http_req_priv *rp, const void *p, size_t n);
/* Free what http_req_str() (or http_req_mem()) returned, unless it lives in the arena. */
void http_req_str_free(struct http_req_priv *rp, void *p);
/* n bytes (uninitialised) kept as long as rp, as http_req_str(). */
void *http_req_mem(struct http_req_priv *rp, size_t n);

/* http1.c */
void h1_read(struct http_conn *c);
void h1_reply(struct http_req_priv *rp);
void h1_write_done(struct http_conn *c);

/* h2.c */
int h2_start(struct http_conn *c);
void h2_read(struct http_conn *c);
void h2_reply(struct http_req_priv *rp);
void h2_flush(struct http_conn *c);
void h2_free(struct http_conn *c);

#endif
