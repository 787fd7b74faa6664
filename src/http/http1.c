/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * http1.c -- HTTP/1.1 connections (RFC 9112): persistent by default
 * (HTTP/1.0 only with "Connection: keep-alive"), pipelined requests
 * answered in order with at most max_streams waiting, bodies by
 * Content-Length only (a Transfer-Encoding gets 501: DoH and relay
 * clients send lengths). A request whose framing is bad gets its status
 * and the connection closes after it; anything the handler decides
 * (bad base64, wrong media type) keeps the connection.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#define LOG_MODULE "http"
#include "http/http_internal.h"
#include "http/parse.h"
#include "util/log.h"

static char *
dup_str(struct http_req_priv *rp, const struct h1_str *s)
{
	return s->p ? http_req_str(rp, s->p, s->n) : NULL;
}

/* A request the framing rejects: answer it in turn, then close. */
static void
h1_fail(struct http_conn *c, int status)
{
	struct http_req_priv *rp = http_req_new(c);
	struct evbuffer *in = bufferevent_get_input(c->bev);

	evbuffer_drain(in, evbuffer_get_length(in));
	http_conn_close_soon(c);
	if (!rp) {
		http_conn_free(c);
		return;
	}
	rp->close_after = true;
	http_reply_error(rp, status);
}

void
h1_read(struct http_conn *c)
{
	struct http_server *s = c->srv;
	struct evbuffer *in = bufferevent_get_input(c->bev);

	while (!c->closing && !c->dead) {
		struct h1_head h;
		size_t n = evbuffer_get_length(in), k;
		const char *p;
		int rc;

		if (c->n_reqs >= s->cfg.max_streams) {
			c->read_paused = true;
			bufferevent_disable(c->bev, EV_READ);
			http_conn_timer(c, 0);
			return;
		}
		if (n == 0) {
			http_conn_timer(c, 0);
			return;
		}
		k = n < s->cfg.max_header ? n : s->cfg.max_header;
		p = (const char *)evbuffer_pullup(in, (ev_ssize_t)k);
		if (!p) {
			http_conn_free(c);
			return;
		}
		rc = h1_parse_head(p, k, &h);
		if (rc == H1_PARTIAL) {
			if (n >= s->cfg.max_header) {
				h1_fail(c, 431);
				return;
			}
			http_conn_timer(c, s->cfg.request_timeout_ms);
			return;
		}
		if (rc < 0) {
			h1_fail(c, rc == H1_TOO_LARGE ? 431 : rc == H1_VERSION ? 505 : 400);
			return;
		}
		if (h.method == 0 || h.chunked) {
			h1_fail(c, 501);
			return;
		}
		if (h.content_length > (int64_t)s->cfg.max_body) {
			h1_fail(c, 413);
			return;
		}
		size_t clen = h.content_length > 0 ? (size_t)h.content_length : 0;
		if (n < h.head_len + clen) {
			/* the body is still coming */
			http_conn_timer(c, s->cfg.request_timeout_ms);
			return;
		}
		http_conn_timer(c, 0);
		http_conn_touch(c);

		struct http_req_priv *rp = http_req_new(c);
		if (!rp) {
			http_conn_free(c);
			return;
		}
		struct h1_str path = h.target, query = { NULL, 0 };
		const char *qm = memchr(h.target.p, '?', h.target.n);
		if (qm) {
			path.n = (size_t)(qm - h.target.p);
			query.p = qm + 1;
			query.n = h.target.n - path.n - 1;
		}
		rp->req.method = h.method;
		rp->path = dup_str(rp, &path);
		rp->query = dup_str(rp, &query);
		rp->content_type = dup_str(rp, &h.content_type);
		rp->accept = dup_str(rp, &h.accept);
		rp->origin = dup_str(rp, &h.origin);
		rp->ims = dup_str(rp, &h.if_modified_since);
		rp->xff = dup_str(rp, &h.x_forwarded_for);
		rp->close_after = h.conn_close || (h.minor == 0 && !h.conn_keep_alive);
		evbuffer_drain(in, h.head_len);
		if (clen && !http_body_charge(rp, clen)) {
			/* too many bodies held at once: this one is not read */
			rp->close_after = true;
			http_reply_error(rp, 503);
			http_conn_close_soon(c);
			return;
		}
		if (clen) {
			rp->body = malloc(clen);
			if (rp->body)
				evbuffer_remove(in, rp->body, clen);
			else
				evbuffer_drain(in, clen);
			rp->body_len = rp->body ? clen : 0;
		}
		bool close_after = rp->close_after;
		if (!rp->path || (clen && !rp->body))
			http_reply_error(rp, 500);
		else
			http_dispatch(rp);
		if (close_after) {
			/* nothing after this request is read */
			http_conn_close_soon(c);
			return;
		}
	}
}

/* Write one reply. */
static void
h1_write(struct http_conn *c, struct http_req_priv *rp)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	bool nobody = rp->status == 204 || rp->status == 304;

	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\nDate: %s\r\n", rp->status,
	    http_status_text(rp->status), http_date(c->srv));
	if (!nobody)
		evbuffer_add_printf(out, "Content-Length: %zu\r\n", rp->out_len);
	if (rp->ctype && !nobody)
		evbuffer_add_printf(out, "Content-Type: %s\r\n", rp->ctype);
	for (unsigned i = 0; i < rp->n_hdrs; i++)
		evbuffer_add_printf(out, "%s: %s\r\n", rp->hdrs[i].name, rp->hdrs[i].value);
	if (rp->close_after)
		evbuffer_add(out, "Connection: close\r\n", 19);
	evbuffer_add(out, "\r\n", 2);
	if (!nobody && !rp->head && rp->out_len)
		evbuffer_add(out, rp->out, rp->out_len);
}

void
h1_reply(struct http_req_priv *rp)
{
	struct http_conn *c = rp->conn;

	/* pipelining: replies leave in the order of the requests */
	while (c->reqs && c->reqs->replied) {
		struct http_req_priv *head = c->reqs;
		bool close_after = head->close_after;
		h1_write(c, head);
		http_req_free(head);
		if (close_after) {
			http_conn_close_soon(c);
			while (c->reqs && c->reqs->replied)
				http_req_free(c->reqs);
			break;
		}
	}
	http_conn_touch(c);
}

void
h1_write_done(struct http_conn *c)
{
	if (c->read_paused && !c->closing && c->n_reqs < c->srv->cfg.max_streams) {
		c->read_paused = false;
		bufferevent_enable(c->bev, EV_READ);
		h1_read(c);
	}
}
