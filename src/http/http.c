/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * http.c -- the HTTP server's connections, listeners, route table and
 * request life (see http.h). The protocols are in http1.c and h2.c.
 *
 * A connection starts in TLS (handshake deadline), then picks its
 * protocol: ALPN on TLS, the HTTP/2 connection preface on plain
 * listeners (prior knowledge, RFC 9113 section 3.3), HTTP/1.1 otherwise.
 * Caps as in the DNS server's TCP path (one table, util/connlimit.h):
 * per client (IPv4 address, IPv6 /64) and in all, a full table closing
 * its least recently active idle connection rather than refusing the
 * newcomer.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>

#define LOG_MODULE "http"
#include "http/http_internal.h"
#include "http/parse.h"
#include "http/tls.h"
#include "util/log.h"
#include "util/netaddr.h"
#include "util/time.h"

#define H2_PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define H2_PREFACE_LEN 24
#define LINGER_MS 2000

struct http_listener {
	struct http_server *srv;
	struct evconnlistener *lev;
	struct event *resume;      /* accepting again after an accept() error */
	struct tls_server *tls;
	struct connlimit_accept_log accept_log;
	struct http_listener *next;
};

static void conn_event_cb(struct bufferevent *bev, short what, void *arg);
static enum connlimit_idle conn_idle(struct connlimit_link *l);
static void conn_evict(struct connlimit_link *l);

struct http_server *
http_server_new(struct event_base *base, const struct http_server_config *cfg)
{
	struct http_server *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->base = base;
	s->cfg = *cfg;
	if (!s->cfg.max_connections)
		s->cfg.max_connections = 256;
	if (!s->cfg.max_per_client)
		s->cfg.max_per_client = s->cfg.max_connections / 8 ? s->cfg.max_connections / 8 : 1;
	if (!s->cfg.max_streams)
		s->cfg.max_streams = 100;
	if (!s->cfg.idle_timeout_s)
		s->cfg.idle_timeout_s = 30;
	if (!s->cfg.handshake_timeout_ms)
		s->cfg.handshake_timeout_ms = 5000;
	if (!s->cfg.request_timeout_ms)
		s->cfg.request_timeout_ms = 10000;
	if (!s->cfg.max_header)
		s->cfg.max_header = 8192;
	if (!s->cfg.max_body)
		s->cfg.max_body = 65535;
	if (!s->cfg.max_body_total)
		s->cfg.max_body_total = 16u << 20;
	if (cfg->n_trusted_proxy) {
		s->trusted = calloc(cfg->n_trusted_proxy, sizeof(*s->trusted));
		if (!s->trusted) {
			free(s);
			return NULL;
		}
		memcpy(s->trusted, cfg->trusted_proxy, cfg->n_trusted_proxy * sizeof(*s->trusted));
	}
	s->cfg.trusted_proxy = s->trusted;
	connlimit_init(&s->conns, conn_idle, conn_evict);
	return s;
}

int
http_route_add(struct http_server *s, unsigned methods, const char *prefix, http_handler_fn fn,
    void *ctx)
{
	struct http_route *r = calloc(1, sizeof(*r));

	if (!r || !(r->prefix = strdup(prefix))) {
		free(r);
		return -1;
	}
	r->methods = methods;
	r->plen = strlen(prefix);
	r->fn = fn;
	r->ctx = ctx;
	r->next = s->routes;
	s->routes = r;
	return 0;
}

/* ---- the connection table ---------------------------------------- */

#define CONN_OF(l) CONNLIMIT_OWNER(l, struct http_conn, link)

void
http_conn_touch(struct http_conn *c)
{
	connlimit_touch(&c->srv->conns, &c->link);
}

static enum connlimit_idle
conn_idle(struct connlimit_link *l)
{
	struct http_conn *c = CONN_OF(l);

	return c->n_reqs || c->in_read ? CONNLIMIT_BUSY : CONNLIMIT_IDLE;
}

static void
conn_evict(struct connlimit_link *l)
{
	struct http_conn *c = CONN_OF(l);

	c->srv->stats.evicted++;
	http_conn_free(c);
}

/* ---- requests ------------------------------------------------------ */

struct http_req_priv *
http_req_new(struct http_conn *c)
{
	struct http_req_priv *rp = malloc(sizeof(*rp));

	if (!rp)
		return NULL;
	memset(rp, 0, offsetof(struct http_req_priv, arena));
	rp->conn = c;
	rp->req.priv = rp;
	rp->req.tls = c->tls;
	rp->req.version = c->proto == HTTP_PROTO_H2 ? 2 : 1;
	memcpy(&rp->req.peer, &c->link.peer, c->link.peer_len);
	rp->req.peer_len = c->link.peer_len;
	rp->prev = c->reqs_tail;
	if (c->reqs_tail)
		c->reqs_tail->next = rp;
	else
		c->reqs = rp;
	c->reqs_tail = rp;
	c->n_reqs++;
	return rp;
}

void
http_req_free(struct http_req_priv *rp)
{
	struct http_conn *c = rp->conn;

	if (c) {
		if (rp->prev)
			rp->prev->next = rp->next;
		else
			c->reqs = rp->next;
		if (rp->next)
			rp->next->prev = rp->prev;
		else
			c->reqs_tail = rp->prev;
		c->n_reqs--;
	}
	c->srv->body_bytes -= rp->body_charged;
	if (rp->dispatched && !rp->replied) {
		c->srv->stats.aborted++;
		if (rp->abort_fn)
			rp->abort_fn(rp->abort_ctx, &rp->req);
	}
	http_req_str_free(rp, rp->path);
	http_req_str_free(rp, rp->query);
	http_req_str_free(rp, rp->content_type);
	http_req_str_free(rp, rp->accept);
	http_req_str_free(rp, rp->origin);
	http_req_str_free(rp, rp->ims);
	http_req_str_free(rp, rp->xff);
	free(rp->body);
	http_req_str_free(rp, rp->ctype);
	for (unsigned i = 0; i < rp->n_hdrs; i++) {
		http_req_str_free(rp, rp->hdrs[i].name);
		http_req_str_free(rp, rp->hdrs[i].value);
	}
	http_req_str_free(rp, rp->out);
	free(rp);
}

void *
http_req_mem(struct http_req_priv *rp, size_t n)
{
	if (n <= HTTP_REQ_ARENA - rp->arena_used) {
		void *p = rp->arena + rp->arena_used;
		rp->arena_used += n;
		return p;
	}
	return malloc(n ? n : 1);
}

char *
http_req_str(struct http_req_priv *rp, const void *p, size_t n)
{
	char *s = n < SIZE_MAX ? http_req_mem(rp, n + 1) : NULL;

	if (s) {
		if (n)
			memcpy(s, p, n);
		s[n] = 0;
	}
	return s;
}

void
http_req_str_free(struct http_req_priv *rp, void *p)
{
	uintptr_t a = (uintptr_t)p, lo = (uintptr_t)rp->arena;

	if (a >= lo && a < lo + HTTP_REQ_ARENA)
		return;
	free(p);
}

bool
http_body_charge(struct http_req_priv *rp, size_t n)
{
	struct http_server *s = rp->conn->srv;

	if (s->body_bytes + n > s->cfg.max_body_total)
		return false;
	s->body_bytes += n;
	rp->body_charged += n;
	return true;
}

static bool
peer_trusted(const struct http_server *s, const struct sockaddr *sa)
{
	for (size_t i = 0; i < s->cfg.n_trusted_proxy; i++)
		if (netprefix_match(&s->trusted[i], sa))
			return true;
	return false;
}

void
http_dispatch(struct http_req_priv *rp)
{
	struct http_server *s = rp->conn->srv;
	struct http_req *r = &rp->req;
	struct http_route *best = NULL;
	bool path_known = false;
	unsigned m = r->method;

	r->path = rp->path ? rp->path : "/";
	r->query = rp->query;
	r->content_type = rp->content_type;
	r->accept = rp->accept;
	r->origin = rp->origin;
	r->if_modified_since = rp->ims;
	r->body = rp->body;
	r->body_len = rp->body_len;
	memcpy(&r->client, &r->peer, r->peer_len);
	r->client_len = r->peer_len;
	if (rp->xff && peer_trusted(s, (const struct sockaddr *)&r->peer)) {
		struct sockaddr_storage ss;
		socklen_t sl;
		if (http_xff_parse(rp->xff, strlen(rp->xff), &ss, &sl) == 0) {
			memcpy(&r->client, &ss, sl);
			r->client_len = sl;
		}
	}
	if (r->version == 2)
		s->stats.requests_h2++;
	else
		s->stats.requests_h1++;
	rp->head = m == HTTP_HEAD;
	for (int pass = 0; pass < 2 && !best; pass++) {
		for (struct http_route *rt = s->routes; rt; rt = rt->next) {
			const char *p = r->path;
			if (strncmp(p, rt->prefix, rt->plen) != 0)
				continue;
			/* "/dns-query" matches "/dns-query/..." not "/dns-queryx" */
			if (rt->plen && rt->prefix[rt->plen - 1] != '/' && p[rt->plen] != 0 &&
			    p[rt->plen] != '/')
				continue;
			path_known = true;
			if (!(rt->methods & m))
				continue;
			if (!best || rt->plen > best->plen)
				best = rt;
		}
		/* HEAD falls back to GET routes */
		if (m != HTTP_HEAD)
			break;
		m = HTTP_GET;
	}
	rp->dispatched = true;
	if (!best) {
		if (path_known)
			http_resp_header(r, "Allow", "GET, POST, OPTIONS");
		http_reply(r, path_known ? 405 : 404, "text/plain", path_known ?
		    "method not allowed\n" : "not found\n", path_known ? 19 : 10);
		return;
	}
	best->fn(best->ctx, r);
}

void
http_reply_error(struct http_req_priv *rp, int status)
{
	char body[64];
	int n = snprintf(body, sizeof(body), "%d %s\n", status, http_status_text(status));

	rp->conn->srv->stats.bad_requests++;
	rp->dispatched = true;
	http_reply(&rp->req, status, "text/plain", body, (size_t)n);
}

int
http_resp_header(struct http_req *req, const char *name, const char *value)
{
	struct http_req_priv *rp = req->priv;

	if (rp->n_hdrs >= HTTP_MAX_RESP_HEADERS || strpbrk(name, "\r\n: ") ||
	    strpbrk(value, "\r\n") || !*name)
		return -1;
	rp->hdrs[rp->n_hdrs].name = http_req_str(rp, name, strlen(name));
	rp->hdrs[rp->n_hdrs].value = http_req_str(rp, value, strlen(value));
	if (!rp->hdrs[rp->n_hdrs].name || !rp->hdrs[rp->n_hdrs].value) {
		http_req_str_free(rp, rp->hdrs[rp->n_hdrs].name);
		http_req_str_free(rp, rp->hdrs[rp->n_hdrs].value);
		return -1;
	}
	rp->n_hdrs++;
	return 0;
}

void
http_reply(struct http_req *req, int status, const char *content_type, const void *body,
    size_t len)
{
	struct http_req_priv *rp = req->priv;

	if (rp->replied)
		return;
	rp->replied = true;
	rp->status = status;
	if (content_type)
		rp->ctype = http_req_str(rp, content_type, strlen(content_type));
	if (len) {
		rp->out = http_req_mem(rp, len);
		if (rp->out) {
			memcpy(rp->out, body, len);
			rp->out_len = len;
		} else {
			rp->status = 500;
		}
	}
	if (rp->conn->proto == HTTP_PROTO_H2)
		h2_reply(rp);
	else
		h1_reply(rp);
}

void
http_req_on_abort(struct http_req *req, http_abort_fn fn, void *ctx)
{
	req->priv->abort_fn = fn;
	req->priv->abort_ctx = ctx;
}

const char *
http_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 204: return "No Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

const char *
http_date(struct http_server *s)
{
	time_t t = time(NULL);
	struct tm tm;

	if ((int64_t)t != s->date_sec || !s->date_str[0]) {
		gmtime_r(&t, &tm);
		if (strftime(s->date_str, sizeof(s->date_str), "%a, %d %b %Y %H:%M:%S GMT", &tm) == 0)
			s->date_str[0] = 0;
		s->date_sec = (int64_t)t;
	}
	return s->date_str;
}

/* ---- connections --------------------------------------------------- */

void
http_conn_free(struct http_conn *c)
{
	struct http_server *s = c->srv;

	if (c->in_read) {
		/* freed by the read callback when it unwinds */
		c->dead = true;
		bufferevent_disable(c->bev, EV_READ | EV_WRITE);
		return;
	}
	while (c->reqs)
		http_req_free(c->reqs);
	if (c->h2)
		h2_free(c);
	connlimit_remove(&s->conns, &c->link);
	s->stats.open = s->conns.n;
	bufferevent_free(c->bev);
	event_free(c->timer);
	free(c);
}

static void
conn_maybe_close(struct http_conn *c)
{
	if (!c->closing || evbuffer_get_length(bufferevent_get_output(c->bev)) != 0 ||
	    (c->proto == HTTP_PROTO_H1 && c->n_reqs != 0))
		return;
	if (c->proto == HTTP_PROTO_H1 && !c->lingering) {
		/* RFC 9112 section 9.6: a client still sending (a body we
		 * refused) would get a reset that eats our reply if we closed
		 * now; half-close, read and discard for a while, then close */
		c->lingering = true;
		shutdown(bufferevent_getfd(c->bev), SHUT_WR);
		bufferevent_enable(c->bev, EV_READ);
		http_conn_timer(c, LINGER_MS);
		return;
	}
	http_conn_free(c);
}

void
http_conn_close_soon(struct http_conn *c)
{
	c->closing = true;
	bufferevent_disable(c->bev, EV_READ);
	http_conn_timer(c, 0);
}

void
http_conn_timer(struct http_conn *c, unsigned ms)
{
	if (ms == 0) {
		if (c->timer_on)
			evtimer_del(c->timer);
		c->timer_on = false;
		return;
	}
	if (c->timer_on)
		return; /* a deadline once set is not moved */
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
	evtimer_add(c->timer, &tv);
	c->timer_on = true;
}

static void
conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_conn *c = arg;
	(void)fd;
	(void)what;

	c->timer_on = false;
	if (c->handshaking)
		c->srv->stats.handshake_timeouts++;
	if (log_enabled(LOG_LVL_DEBUG)) {
		char a[NETADDR_STRLEN];
		log_debug("%s: %s not done in time; closing",
		    netaddr_str((struct sockaddr *)&c->link.peer, a, sizeof(a)),
		    c->handshaking ? "TLS handshake" : "request");
	}
	http_conn_free(c);
}

/* Choose the protocol of a plain connection from its first bytes. */
static int
sniff(struct http_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	size_t n = evbuffer_get_length(in);
	size_t k = n < H2_PREFACE_LEN ? n : H2_PREFACE_LEN;
	const unsigned char *p;

	if (n == 0)
		return HTTP_PROTO_SNIFF;
	p = evbuffer_pullup(in, (ev_ssize_t)k);
	if (!p || memcmp(p, H2_PREFACE, k) != 0)
		return HTTP_PROTO_H1;
	return k == H2_PREFACE_LEN ? HTTP_PROTO_H2 : HTTP_PROTO_SNIFF;
}

/* The end of a callback that set in_read: the free deferred inside it,
 * or a close that is due. */
static void
conn_callback_done(struct http_conn *c)
{
	c->in_read = false;
	if (c->dead) {
		c->dead = false;
		http_conn_free(c);
		return;
	}
	conn_maybe_close(c);
}

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct http_conn *c = arg;
	(void)bev;

	if (c->closing) {
		struct evbuffer *in = bufferevent_get_input(c->bev);
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	if (c->proto == HTTP_PROTO_SNIFF) {
		int p = sniff(c);
		if (p == HTTP_PROTO_SNIFF) {
			http_conn_timer(c, c->srv->cfg.request_timeout_ms);
			return;
		}
		http_conn_timer(c, 0);
		c->proto = p;
		if (p == HTTP_PROTO_H2 && h2_start(c) < 0) {
			http_conn_free(c);
			return;
		}
	}
	c->in_read = true;
	if (c->proto == HTTP_PROTO_H2)
		h2_read(c);
	else
		h1_read(c);
	conn_callback_done(c);
}

static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct http_conn *c = arg;
	(void)bev;

	c->in_read = true; /* a free inside is deferred to here */
	if (c->proto == HTTP_PROTO_H2 && c->h2)
		h2_flush(c);
	else if (c->proto == HTTP_PROTO_H1)
		h1_write_done(c);
	conn_callback_done(c);
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct http_conn *c = arg;

	if (what & BEV_EVENT_CONNECTED) {
		/* TLS handshake done: ALPN says which protocol */
		SSL *ssl = bufferevent_openssl_get_ssl(bev);
		c->handshaking = false;
		http_conn_timer(c, 0);
		c->proto = ssl && tls_ssl_is_h2(ssl) ? HTTP_PROTO_H2 : HTTP_PROTO_H1;
		if (c->proto == HTTP_PROTO_H2 && h2_start(c) < 0)
			http_conn_free(c);
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		if (c->handshaking)
			c->srv->stats.handshake_errors++;
		http_conn_free(c);
		return;
	}
	if ((what & BEV_EVENT_TIMEOUT) && c->n_reqs > 0 && !c->handshaking) {
		/* not idle: replies are still coming */
		bufferevent_enable(bev, (what & BEV_EVENT_READING) ? EV_READ : EV_WRITE);
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_TIMEOUT)) {
		if ((what & BEV_EVENT_WRITING) || c->handshaking || c->n_reqs == 0 ||
		    (what & BEV_EVENT_TIMEOUT)) {
			http_conn_free(c);
			return;
		}
		/* the peer closed its side: finish what it asked, then close */
		http_conn_close_soon(c);
		conn_maybe_close(c);
	}
}

int
http_server_adopt(struct http_server *s, int fd, const struct sockaddr *sa, socklen_t salen,
    struct tls_server *tls)
{
	struct http_conn *c;
	struct timeval idle_tv = { (time_t)s->cfg.idle_timeout_s, 0 };
	/* libevent's "common timeout": every connection's idle timeout is
	 * the same, so re-arming it after each read and write is a queue
	 * append rather than a heap insertion */
	const struct timeval *idle = event_base_init_common_timeout(s->base, &idle_tv);

	if ((size_t)salen > sizeof(c->link.peer)) {
		close(fd);
		return -1;
	}
	if (connlimit_admit(&s->conns, sa, salen, s->cfg.max_connections,
		s->cfg.max_per_client) < 0) {
		s->stats.refused++;
		close(fd);
		return -1;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return -1;
	}
	c->bev = tls_server_accept_bev(s->base, fd, tls, TLS_ALPN_HTTP);
	c->timer = c->bev ? evtimer_new(s->base, conn_timer_cb, c) : NULL;
	if (!c->timer) {
		if (c->bev)
			bufferevent_free(c->bev);
		free(c);
		return -1;
	}
	c->tls = c->handshaking = tls != NULL;
	c->srv = s;
	connlimit_add(&s->conns, &c->link, sa, salen);
	s->stats.connections++;
	s->stats.open = s->conns.n;
	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
	if (!idle)
		idle = &idle_tv;
	bufferevent_set_timeouts(c->bev, idle, idle);
	bufferevent_setwatermark(c->bev, EV_READ, 0, s->cfg.max_header + s->cfg.max_body + 4096);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	if (c->handshaking)
		http_conn_timer(c, s->cfg.handshake_timeout_ms);
	return 0;
}

static void
accept_cb(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa, int salen,
    void *arg)
{
	struct http_listener *l = arg;
	(void)lev;
	http_server_adopt(l->srv, fd, sa, (socklen_t)salen, l->tls);
}

/* accept() failed for a reason libevent does not retry: pause (as the DNS
 * listeners). */
static void
accept_error_cb(struct evconnlistener *lev, void *arg)
{
	struct http_listener *l = arg;

	connlimit_accept_pause(lev, l->resume, &l->accept_log, errno, LOG_MODULE, "HTTP");
}

int
http_server_listen(struct http_server *s, const struct sockaddr *addr, socklen_t len,
    struct tls_server *tls)
{
	char a[NETADDR_STRLEN];
	struct http_listener *l = calloc(1, sizeof(*l));
	int fd;

	netaddr_str(addr, a, sizeof(a));
	if (!l)
		return -1;
	fd = connlimit_listen_socket(addr, len);
	if (fd < 0) {
		int e = errno;
		log_err("cannot listen on %s (%s): %s", a, tls ? "https" : "http", strerror(e));
		free(l);
		errno = e;
		return -1;
	}
	l->srv = s;
	l->tls = tls;
	l->lev = evconnlistener_new(s->base, accept_cb, l, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE,
	    -1, fd);
	l->resume = evtimer_new(s->base, connlimit_resume_cb, l->lev);
	if (!l->lev || !l->resume) {
		if (l->resume)
			event_free(l->resume);
		if (l->lev)
			evconnlistener_free(l->lev);
		else
			close(fd);
		free(l);
		return -1;
	}
	evconnlistener_set_error_cb(l->lev, accept_error_cb);
	l->next = s->listeners;
	s->listeners = l;
	log_info("listening on %s (%s)", a, tls ? "https" : "http");
	return 0;
}

void
http_server_close_listeners(struct http_server *s)
{
	while (s->listeners) {
		struct http_listener *l = s->listeners;
		s->listeners = l->next;
		evconnlistener_free(l->lev);
		event_free(l->resume);
		free(l);
	}
}

void
http_server_free(struct http_server *s)
{
	if (!s)
		return;
	http_server_close_listeners(s);
	while (s->conns.head)
		http_conn_free(CONN_OF(s->conns.head));
	while (s->routes) {
		struct http_route *r = s->routes;
		s->routes = r->next;
		free(r->prefix);
		free(r);
	}
	free(s->trusted);
	free(s);
}

void
http_server_get_stats(const struct http_server *s, struct http_server_stats *st)
{
	*st = s->stats;
}
