/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * h2.c -- HTTP/2 connections (RFC 9113) with nghttp2: the session reads
 * from and writes to the connection's bufferevent; each stream is one
 * struct http_req_priv, handed to the route table once its END_STREAM
 * arrives. Bounds: SETTINGS_MAX_CONCURRENT_STREAMS = max_streams,
 * SETTINGS_MAX_HEADER_LIST_SIZE = max_header (larger: 431 on the
 * stream), bodies over max_body get 413 at once. Protocol errors are
 * nghttp2's to answer (RST_STREAM or GOAWAY); a GOAWAY'd session is
 * closed once its last frames are out.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <nghttp2/nghttp2.h>

#define LOG_MODULE "http"
#include "http/http_internal.h"
#include "util/log.h"

#define H2_BATCH 4096 /* bytes of frames gathered for one bufferevent_write */

static struct http_req_priv *
stream_req(nghttp2_session *ss, int32_t id)
{
	return nghttp2_session_get_stream_user_data(ss, id);
}

static int
on_begin_headers(nghttp2_session *ss, const nghttp2_frame *f, void *arg)
{
	struct http_conn *c = arg;
	struct http_req_priv *rp;

	if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	rp = http_req_new(c);
	if (!rp)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* RST_STREAM */
	rp->stream_id = f->hd.stream_id;
	nghttp2_session_set_stream_user_data(ss, f->hd.stream_id, rp);
	return 0;
}


static unsigned
method_of(const uint8_t *v, size_t n)
{
	static const struct { const char *s; unsigned bit; } tab[] = {
		{ "GET", HTTP_GET }, { "HEAD", HTTP_HEAD }, { "POST", HTTP_POST },
		{ "PUT", HTTP_PUT }, { "DELETE", HTTP_DELETE }, { "OPTIONS", HTTP_OPTIONS },
	};
	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (n == strlen(tab[i].s) && memcmp(v, tab[i].s, n) == 0)
			return tab[i].bit;
	return 0;
}

#define NAME_IS(lit) (namelen == sizeof(lit) - 1 && memcmp(name, lit, namelen) == 0)

static void
keep_first(struct http_req_priv *rp, char **slot, const uint8_t *v, size_t n)
{
	if (!*slot)
		*slot = http_req_str(rp, v, n);
}

static int
on_header(nghttp2_session *ss, const nghttp2_frame *f, const uint8_t *name, size_t namelen,
    const uint8_t *value, size_t valuelen, uint8_t flags, void *arg)
{
	struct http_conn *c = arg;
	struct http_req_priv *rp = stream_req(ss, f->hd.stream_id);
	(void)flags;

	if (!rp || f->hd.type != NGHTTP2_HEADERS || rp->dispatched)
		return 0;
	/* RFC 9113 section 6.5.2: the size counts 32 octets per field */
	rp->hdr_bytes += namelen + valuelen + 32;
	if (rp->hdr_bytes > c->srv->cfg.max_header) {
		rp->early_status = 431;
		return 0;
	}
	if (rp->early_status)
		return 0;
	if (NAME_IS(":method")) {
		rp->req.method = method_of(value, valuelen);
		if (!rp->req.method)
			rp->early_status = 501;
	} else if (NAME_IS(":path")) {
		const uint8_t *q = memchr(value, '?', valuelen);
		size_t pl = q ? (size_t)(q - value) : valuelen;
		if (rp->path || pl == 0 || value[0] != '/') {
			rp->early_status = 400;
			return 0;
		}
		rp->path = http_req_str(rp, value, pl);
		if (q)
			rp->query = http_req_str(rp, q + 1, valuelen - pl - 1);
	} else if (NAME_IS("content-type")) {
		keep_first(rp, &rp->content_type, value, valuelen);
	} else if (NAME_IS("accept")) {
		keep_first(rp, &rp->accept, value, valuelen);
	} else if (NAME_IS("origin")) {
		keep_first(rp, &rp->origin, value, valuelen);
	} else if (NAME_IS("if-modified-since")) {
		keep_first(rp, &rp->ims, value, valuelen);
	} else if (NAME_IS("x-forwarded-for")) {
		http_req_str_free(rp, rp->xff);
		rp->xff = http_req_str(rp, value, valuelen);
	} else if (NAME_IS("content-length")) {
		unsigned long long v = 0;
		for (size_t i = 0; i < valuelen && v <= c->srv->cfg.max_body; i++)
			v = v * 10 + (unsigned)(value[i] - '0'); /* nghttp2 checked the digits */
		if (v > c->srv->cfg.max_body)
			rp->early_status = 413;
	}
	return 0;
}

static int
on_data_chunk(nghttp2_session *ss, uint8_t flags, int32_t id, const uint8_t *data, size_t len,
    void *arg)
{
	struct http_conn *c = arg;
	struct http_req_priv *rp = stream_req(ss, id);
	(void)flags;

	if (!rp || rp->dispatched || rp->early_status)
		return 0;
	if (rp->body_len + len > c->srv->cfg.max_body) {
		rp->early_status = 413;
		http_reply_error(rp, 413);
		return 0;
	}
	if (rp->body_len + len > rp->body_cap) {
		size_t cap = rp->body_cap ? rp->body_cap : 1024;
		while (cap < rp->body_len + len)
			cap *= 2;
		if (cap > c->srv->cfg.max_body)
			cap = c->srv->cfg.max_body;
		if (!http_body_charge(rp, cap - rp->body_cap)) {
			/* too many bodies held at once */
			rp->early_status = 503;
			http_reply_error(rp, 503);
			return 0;
		}
		uint8_t *nb = realloc(rp->body, cap);
		if (!nb) {
			rp->early_status = 500;
			return 0;
		}
		rp->body = nb;
		rp->body_cap = cap;
	}
	memcpy(rp->body + rp->body_len, data, len);
	rp->body_len += len;
	return 0;
}

static int
on_frame_recv(nghttp2_session *ss, const nghttp2_frame *f, void *arg)
{
	struct http_req_priv *rp;
	(void)arg;

	if ((f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA) ||
	    !(f->hd.flags & NGHTTP2_FLAG_END_STREAM))
		return 0;
	rp = stream_req(ss, f->hd.stream_id);
	if (!rp || rp->dispatched)
		return 0;
	http_conn_touch(rp->conn);
	if (rp->early_status)
		http_reply_error(rp, rp->early_status);
	else if (!rp->path || !rp->req.method)
		http_reply_error(rp, 400);
	else
		http_dispatch(rp);
	return 0;
}

static int
on_stream_close(nghttp2_session *ss, int32_t id, uint32_t code, void *arg)
{
	struct http_req_priv *rp = stream_req(ss, id);
	(void)code;
	(void)arg;

	if (rp) {
		nghttp2_session_set_stream_user_data(ss, id, NULL);
		http_req_free(rp);
	}
	return 0;
}

int
h2_start(struct http_conn *c)
{
	nghttp2_session_callbacks *cb;
	nghttp2_session *ss = NULL;
	nghttp2_option *opt = NULL;
	nghttp2_settings_entry set[] = {
		{ NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, c->srv->cfg.max_streams },
		{ NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, (uint32_t)c->srv->cfg.max_header },
#if NGHTTP2_VERSION_NUM >= 0x013100
		/* RFC 9218 section 2.1: no RFC 7540 priority tree (every DoH
		 * stream is alike; the tree costs time for each stream) */
		{ NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1 },
#endif
	};

	if (nghttp2_session_callbacks_new(&cb) != 0)
		return -1;
	nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
	if (nghttp2_option_new(&opt) == 0) {
		/* streams beyond the limit are refused, not queued */
		nghttp2_option_set_max_deflate_dynamic_table_size(opt, 4096);
		/* a closed stream is forgotten at once (kept only for
		 * the priority tree) */
		nghttp2_option_set_no_closed_streams(opt, 1);
	}
	int rv = nghttp2_session_server_new2(&ss, cb, c, opt);
	nghttp2_session_callbacks_del(cb);
	nghttp2_option_del(opt);
	if (rv != 0)
		return -1;
	c->h2 = ss;
	if (nghttp2_submit_settings(ss, NGHTTP2_FLAG_NONE, set, sizeof(set) / sizeof(set[0])) != 0)
		return -1;
	if (!c->in_read)
		h2_flush(c);
	return 0;
}

void
h2_flush(struct http_conn *c)
{
	nghttp2_session *ss = c->h2;
	struct evbuffer *out = bufferevent_get_output(c->bev);

	if (!ss)
		return;
	/* nghttp2 hands out a frame at a time: the frames of a turn go to
	 * the bufferevent in one write (one append, one write event) */
	uint8_t batch[H2_BATCH];
	size_t used = 0, queued = evbuffer_get_length(out);
	while (queued + used < HTTP_OUT_HIGH) {
		const uint8_t *data;
		ssize_t n = nghttp2_session_mem_send(ss, &data);
		if (n < 0) {
			http_conn_free(c);
			return;
		}
		if (n == 0)
			break;
		if (used + (size_t)n > sizeof(batch)) {
			if (used)
				bufferevent_write(c->bev, batch, used);
			queued += used;
			used = 0;
		}
		if ((size_t)n > sizeof(batch)) {
			bufferevent_write(c->bev, data, (size_t)n);
			queued += (size_t)n;
		} else {
			memcpy(batch + used, data, (size_t)n);
			used += (size_t)n;
		}
	}
	if (used)
		bufferevent_write(c->bev, batch, used);
	if (!nghttp2_session_want_read(ss) && !nghttp2_session_want_write(ss)) {
		c->closing = true;
		bufferevent_disable(c->bev, EV_READ);
		if (evbuffer_get_length(out) == 0)
			http_conn_free(c);
	}
}

void
h2_read(struct http_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	size_t n = evbuffer_get_length(in);
	const uint8_t *p = evbuffer_pullup(in, -1);
	ssize_t rv;

	if (!c->h2 || n == 0 || !p)
		return;
	rv = nghttp2_session_mem_recv(c->h2, p, n);
	evbuffer_drain(in, n);
	if (rv < 0) {
		log_debug("http/2: %s; closing", nghttp2_strerror((int)rv));
		/* a bad preface or a fatal error: send what is queued (GOAWAY) and close */
		nghttp2_session_terminate_session(c->h2, NGHTTP2_PROTOCOL_ERROR);
	}
	if (!c->dead)
		h2_flush(c);
}

static ssize_t
read_body(nghttp2_session *ss, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
    nghttp2_data_source *src, void *arg)
{
	struct http_req_priv *rp = src->ptr;
	size_t left = rp->out_len - rp->out_off;
	(void)ss;
	(void)id;
	(void)arg;

	if (len > left)
		len = left;
	memcpy(buf, rp->out + rp->out_off, len);
	rp->out_off += len;
	if (rp->out_off == rp->out_len)
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	return (ssize_t)len;
}

/* An unsigned number in decimal into out (at least 21 bytes). */
static size_t
fmt_uint(char *out, uint64_t v)
{
	char tmp[21];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	out[n] = 0;
	return n;
}

void
h2_reply(struct http_req_priv *rp)
{
	struct http_conn *c = rp->conn;
	nghttp2_nv nv[4 + HTTP_MAX_RESP_HEADERS];
	size_t n = 0;
	bool nobody = rp->status == 204 || rp->status == 304;
	nghttp2_data_provider prd = { .source.ptr = rp, .read_callback = read_body };

	/* every name and value lives in rp, which outlives the HEADERS
	 * frame (freed when the stream closes): nghttp2 need not copy them */
#define NV(nm, nmlen, val, vallen) do { nv[n].name = (uint8_t *)(nm); nv[n].namelen = (nmlen); \
	nv[n].value = (uint8_t *)(val); nv[n].valuelen = (vallen); \
	nv[n].flags = NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE; n++; } while (0)
#define NVL(lit, val, vallen) NV(lit, sizeof(lit) - 1, val, vallen)
	NVL(":status", rp->h2_status,
	    fmt_uint(rp->h2_status, rp->status > 0 && rp->status < 1000 ? (unsigned)rp->status : 500));
	memcpy(rp->h2_date, http_date(c->srv), sizeof(rp->h2_date));
	NVL("date", rp->h2_date, strlen(rp->h2_date));
	if (!nobody) {
		NVL("content-length", rp->h2_clen, fmt_uint(rp->h2_clen, rp->out_len));
		if (rp->ctype)
			NVL("content-type", rp->ctype, strlen(rp->ctype));
	}
	for (unsigned i = 0; i < rp->n_hdrs; i++) {
		/* HTTP/2 field names are lower case (RFC 9113 section 8.2.1);
		 * the name is rp's own copy */
		char *nm = rp->hdrs[i].name;
		size_t j;
		for (j = 0; nm[j]; j++)
			if (nm[j] >= 'A' && nm[j] <= 'Z')
				nm[j] = (char)(nm[j] - 'A' + 'a');
		NV(nm, j, rp->hdrs[i].value, strlen(rp->hdrs[i].value));
	}
#undef NVL
#undef NV
	if (nghttp2_submit_response(c->h2, rp->stream_id, nv, n,
		nobody || rp->head || rp->out_len == 0 ? NULL : &prd) != 0) {
		nghttp2_submit_rst_stream(c->h2, NGHTTP2_FLAG_NONE, rp->stream_id,
		    NGHTTP2_INTERNAL_ERROR);
	}
	http_conn_touch(c);
	if (!c->in_read)
		h2_flush(c);
}

void
h2_free(struct http_conn *c)
{
	nghttp2_session *ss = c->h2;

	c->h2 = NULL;
	nghttp2_session_del(ss); /* stream close callbacks: c->h2 is NULL */
}
