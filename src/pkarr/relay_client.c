/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * relay_client.c -- HTTP(S) requests to pkarr relays on the caller's
 * event loop. See relay_client.h.
 *
 * A request owns one evhttp connection. Its evhttp callback only records
 * the outcome and fires the request's timer at once; the timer (which is
 * also the deadline) frees the connection and calls the caller, so a
 * connection is never freed from inside libevent's own callback.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define LOG_MODULE "relay"
#include "pkarr/relay.h"
#include "pkarr/relay_client.h"
#include "pkarr/zbase32.h"
#include "util/log.h"

#define MAX_HEADERS_SIZE 8192

struct relay {
	char url[PKARR_RELAY_URL_MAX + 1];
	unsigned inflight;            /* requests open to it */
	struct pkarr_relay_url u;
	bool literal; /* host is an IP address */
	char host_hdr[300];
};

struct relay_client {
	struct event_base *base;
	struct evdns_base *dns;
	SSL_CTX *ssl;
	uint32_t timeout_ms;
	struct relay relays[RELAY_CLIENT_MAX];
	size_t n;
	struct relay_req *reqs;
};

struct relay_req {
	struct relay_client *rc;
	size_t relay;
	struct evhttp_connection *conn;
	struct event *timer;
	relay_client_cb cb;
	void *ctx;
	bool finished;
	int status;
	uint8_t *body;
	size_t len;
	struct relay_req *prev, *next;
};

static bool
is_literal(const char *host)
{
	uint8_t buf[16];
	return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

static SSL_CTX *
ssl_ctx_new(const char *ca_file)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (!ctx)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (ca_file ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1 :
	    SSL_CTX_set_default_verify_paths(ctx) != 1) {
		log_err("cannot load %s: %s", ca_file ? ca_file : "the system's CA store",
		    ERR_reason_error_string(ERR_get_error()));
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

struct relay_client *
relay_client_new(struct event_base *base, const char *const *urls, size_t n,
    const char *ca_file, uint32_t timeout_ms)
{
	struct relay_client *rc;
	bool need_dns = false, need_tls = false;

	if (!base || n > RELAY_CLIENT_MAX)
		return NULL;
	rc = calloc(1, sizeof(*rc));
	if (!rc)
		return NULL;
	rc->base = base;
	rc->timeout_ms = timeout_ms ? timeout_ms : RELAY_CLIENT_TIMEOUT_MS;
	for (size_t i = 0; i < n; i++) {
		struct relay *r = &rc->relays[i];
		if (pkarr_relay_url_parse(urls[i], &r->u) < 0) {
			log_err("relay: not a relay URL: %s", urls[i]);
			goto fail;
		}
		snprintf(r->url, sizeof(r->url), "%s", urls[i]);
		r->literal = is_literal(r->u.host);
		need_dns |= !r->literal;
		need_tls |= r->u.https;
		/* RFC 9110 section 7.2: the port only when not the default */
		bool v6 = strchr(r->u.host, ':') != NULL;
		if (r->u.port == (r->u.https ? 443 : 80))
			snprintf(r->host_hdr, sizeof(r->host_hdr), v6 ? "[%s]" : "%s", r->u.host);
		else
			snprintf(r->host_hdr, sizeof(r->host_hdr), v6 ? "[%s]:%u" : "%s:%u",
			    r->u.host, r->u.port);
	}
	rc->n = n;
	if (need_tls && !(rc->ssl = ssl_ctx_new(ca_file)))
		goto fail;
	if (need_dns) {
		rc->dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
		if (!rc->dns) {
			log_warn("no name servers for relay host names (/etc/resolv.conf)");
			rc->dns = evdns_base_new(base, 0);
			if (!rc->dns)
				goto fail;
		}
	}
	return rc;
fail:
	relay_client_free(rc);
	return NULL;
}

static void
req_free(struct relay_req *r)
{
	struct relay_client *rc = r->rc;

	rc->relays[r->relay].inflight--;
	if (r->prev)
		r->prev->next = r->next;
	else
		rc->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	if (r->conn)
		evhttp_connection_free(r->conn);
	if (r->timer)
		event_free(r->timer);
	free(r->body);
	free(r);
}

void
relay_client_free(struct relay_client *rc)
{
	if (!rc)
		return;
	while (rc->reqs)
		req_free(rc->reqs);
	if (rc->dns)
		evdns_base_free(rc->dns, 0);
	if (rc->ssl)
		SSL_CTX_free(rc->ssl);
	free(rc);
}

size_t
relay_client_count(const struct relay_client *rc)
{
	return rc ? rc->n : 0;
}

const char *
relay_client_url(const struct relay_client *rc, size_t relay)
{
	return relay < rc->n ? rc->relays[relay].url : "?";
}

void
relay_req_cancel(struct relay_req *r)
{
	if (r)
		req_free(r);
}

/* The deadline, or the outcome recorded by on_response: hand it over. */
static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct relay_req *r = arg;
	relay_client_cb cb = r->cb;
	void *ctx = r->ctx;
	size_t relay = r->relay;
	uint8_t *body;
	size_t len;
	int status;
	(void)fd;
	(void)what;

	if (!r->finished) {
		log_debug("%s: no answer in %u ms", r->rc->relays[relay].url, r->rc->timeout_ms);
		r->status = RELAY_E_TIMEOUT;
	}
	status = r->status;
	body = r->body;
	len = r->len;
	r->body = NULL;
	req_free(r);
	cb(ctx, relay, status, status == 200 ? body : NULL, status == 200 ? len : 0);
	free(body);
}

static void
on_response(struct evhttp_request *req, void *arg)
{
	struct relay_req *r = arg;
	struct evbuffer *in;
	int code = req ? evhttp_request_get_response_code(req) : 0;

	if (r->finished)
		return;
	r->finished = true;
	r->status = code > 0 ? code : RELAY_E_NET;
	if (code == 200 && (in = evhttp_request_get_input_buffer(req)) != NULL) {
		size_t len = evbuffer_get_length(in);
		if (len > PKARR_RELAY_PAYLOAD_MAX || !(r->body = malloc(len ? len : 1))) {
			r->status = RELAY_E_NET;
		} else {
			evbuffer_remove(in, r->body, len);
			r->len = len;
		}
	}
	if (code <= 0)
		log_debug("%s: request failed", r->rc->relays[r->relay].url);
	event_active(r->timer, EV_TIMEOUT, 0);
}

static struct relay_req *
start(struct relay_client *rc, size_t relay, const uint8_t pk[32], enum evhttp_cmd_type cmd,
    uint64_t ims_s, const uint8_t *body, size_t body_len, relay_client_cb cb, void *ctx)
{
	struct relay *rl;
	struct relay_req *r;
	struct bufferevent *bev = NULL;
	struct evhttp_request *req;
	struct evkeyvalq *h;
	char z[PKARR_Z32_KEY_LEN + 1], uri[PKARR_RELAY_URL_MAX + PKARR_Z32_KEY_LEN + 2];
	struct timeval tv;

	if (!rc || relay >= rc->n || !cb)
		return NULL;
	rl = &rc->relays[relay];
	if (rl->inflight >= RELAY_CLIENT_MAX_INFLIGHT) {
		log_debug("%s: %u requests open, not one more", rl->url, rl->inflight);
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	rl->inflight++;
	r->rc = rc;
	r->relay = relay;
	r->cb = cb;
	r->ctx = ctx;
	r->next = rc->reqs;
	if (rc->reqs)
		rc->reqs->prev = r;
	rc->reqs = r;
	r->timer = evtimer_new(rc->base, on_timer, r);
	if (!r->timer)
		goto fail;
	if (rl->u.https) {
		SSL *ssl = SSL_new(rc->ssl);
		if (!ssl)
			goto fail;
		/* certificate checked against the URL's host: a name, or an
		 * address (then no SNI, RFC 6066 section 3) */
		if (rl->literal) {
			X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), rl->u.host);
		} else {
			SSL_set_tlsext_host_name(ssl, rl->u.host);
			SSL_set1_host(ssl, rl->u.host);
		}
		bev = bufferevent_openssl_socket_new(rc->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
		    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
		if (!bev) {
			SSL_free(ssl);
			goto fail;
		}
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	} else {
		bev = bufferevent_socket_new(rc->base, -1, BEV_OPT_CLOSE_ON_FREE);
		if (!bev)
			goto fail;
	}
	/* the connection owns bev from here on */
	r->conn = evhttp_connection_base_bufferevent_new(rc->base, rc->dns, bev, rl->u.host,
	    rl->u.port);
	if (!r->conn) {
		bufferevent_free(bev);
		goto fail;
	}
	evhttp_connection_set_max_headers_size(r->conn, MAX_HEADERS_SIZE);
	evhttp_connection_set_max_body_size(r->conn, PKARR_RELAY_PAYLOAD_MAX);
	tv.tv_sec = rc->timeout_ms / 1000;
	tv.tv_usec = (rc->timeout_ms % 1000) * 1000;
	evhttp_connection_set_timeout_tv(r->conn, &tv);
	evhttp_connection_set_retries(r->conn, 0);
	req = evhttp_request_new(on_response, r);
	if (!req)
		goto fail;
	h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Host", rl->host_hdr);
	evhttp_add_header(h, "User-Agent", "pkdns/" PACKAGE_VERSION);
	evhttp_add_header(h, "Connection", "close");
	if (ims_s) {
		char date[PKARR_RELAY_DATE_LEN];
		pkarr_relay_http_date(ims_s, date);
		evhttp_add_header(h, "If-Modified-Since", date);
	}
	if (body) {
		evhttp_add_header(h, "Content-Type", PKARR_RELAY_CONTENT_TYPE);
		evbuffer_add(evhttp_request_get_output_buffer(req), body, body_len);
	}
	pkarr_z32_encode(pk, z);
	snprintf(uri, sizeof(uri), "%s/%s", rl->u.path, z);
	if (evhttp_make_request(r->conn, req, cmd, uri) != 0) /* frees req */
		goto fail;
	evtimer_add(r->timer, &tv);
	return r;
fail:
	req_free(r);
	return NULL;
}

struct relay_req *
relay_client_get(struct relay_client *rc, size_t relay, const uint8_t pk[32], uint64_t ims_s,
    relay_client_cb cb, void *ctx)
{
	return start(rc, relay, pk, EVHTTP_REQ_GET, ims_s, NULL, 0, cb, ctx);
}

struct relay_req *
relay_client_put(struct relay_client *rc, size_t relay, const struct pkarr_packet *pkt,
    relay_client_cb cb, void *ctx)
{
	uint8_t buf[PKARR_RELAY_PAYLOAD_MAX];
	size_t len;

	if (!pkt || pkarr_relay_encode(pkt, buf, sizeof(buf), &len) < 0)
		return NULL;
	return start(rc, relay, pkt->pk, EVHTTP_REQ_PUT, 0, buf, len, cb, ctx);
}
