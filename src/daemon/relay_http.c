/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * relay_http.c -- plain HTTP/1.1 listeners (`http-listen`) for the pkarr
 * relay API, on libevent's evhttp server.
 *
 * INTERIM: the DoH/DoT work brings the HTTP/1.1 + HTTP/2 + TLS listeners
 * with a route API; the relay API is then mounted there (relay_api.h is
 * listener-neutral) and this file goes. Until then it is what serves
 * `http-listen`.
 *
 * Bounded: headers 8 KiB, bodies RELAY_API_BODY_MAX (evhttp answers a
 * longer one with our 413), 10 s of idleness, at most one request per
 * connection in the handler at a time (evhttp reads the next one only
 * after the reply).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#define LOG_MODULE "http"
#include "daemon/internal.h"
#include "daemon/relay_api.h"
#include "daemon/relay_http.h"
#include "util/log.h"
#include "util/netaddr.h"

#define HTTP_TIMEOUT_S 10
#define HTTP_MAX_HEADERS 8192

struct relay_http {
	struct evhttp *http;
	struct relay_api *api;
};

/* One request while the relay API holds it. */
struct hreq {
	struct evhttp_request *req;
	struct evhttp_connection *evcon;
	struct relay_call *pending;
};

static void
on_close(struct evhttp_connection *evcon, void *arg)
{
	struct hreq *h = arg;
	(void)evcon;

	/* evhttp frees the request with the connection */
	relay_call_cancel(h->pending);
	free(h);
}

static void
send_reply(void *conn, const struct relay_http_reply *rep)
{
	struct hreq *h = conn;
	struct evkeyvalq *out = evhttp_request_get_output_headers(h->req);
	struct evbuffer *body = NULL;

	for (size_t i = 0; i < rep->n; i++)
		evhttp_add_header(out, rep->h[i].name, rep->h[i].value);
	if (rep->body && (body = evbuffer_new()) != NULL)
		evbuffer_add(body, rep->body, rep->body_len);
	if (h->evcon)
		evhttp_connection_set_closecb(h->evcon, NULL, NULL);
	evhttp_send_reply(h->req, rep->status, rep->reason, body);
	if (body)
		evbuffer_free(body);
	free(h);
}

static enum relay_http_method
method_of(enum evhttp_cmd_type cmd)
{
	switch (cmd) {
	case EVHTTP_REQ_GET: return RELAY_HTTP_GET;
	case EVHTTP_REQ_HEAD: return RELAY_HTTP_HEAD;
	case EVHTTP_REQ_PUT: return RELAY_HTTP_PUT;
	case EVHTTP_REQ_OPTIONS: return RELAY_HTTP_OPTIONS;
	default: return RELAY_HTTP_OTHER;
	}
}

static void
on_request(struct evhttp_request *req, void *arg)
{
	struct relay_http *rh = arg;
	struct relay_http_req r;
	struct hreq *h;
	const char *uri = evhttp_request_get_uri(req);
	struct evbuffer *in;
	uint8_t body[RELAY_API_BODY_MAX];

	memset(&r, 0, sizeof(r));
	h = calloc(1, sizeof(*h));
	if (!h) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	h->req = req;
	h->evcon = evhttp_request_get_connection(req);
	r.method = method_of(evhttp_request_get_command(req));
	if (!uri) {
		/* evhttp refused the request: a body over the limit, or a
		 * malformed request; answer it with the relay's headers */
		r.body_too_large = evhttp_request_get_response_code(req) == 413;
		if (!r.body_too_large) {
			evhttp_send_error(req, 400, NULL);
			free(h);
			return;
		}
		r.method = RELAY_HTTP_PUT;
		uri = "/";
	}
	if (!relay_api_path(uri, strlen(uri)) && r.method != RELAY_HTTP_OPTIONS &&
	    !r.body_too_large) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Access-Control-Allow-Origin", "*");
		evhttp_send_error(req, 404, NULL);
		free(h);
		return;
	}
	r.path = uri;
	r.path_len = strlen(uri);
	r.if_modified_since = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "If-Modified-Since");
	if (r.method == RELAY_HTTP_PUT && !r.body_too_large) {
		in = evhttp_request_get_input_buffer(req);
		r.body_len = evbuffer_get_length(in);
		if (r.body_len > sizeof(body)) {
			r.body_too_large = true;
		} else {
			evbuffer_copyout(in, body, r.body_len);
			r.body = body;
		}
	}
	if (h->evcon)
		r.client = evhttp_connection_get_addr(h->evcon);
	relay_api_handle(rh->api, &r, send_reply, h, &h->pending);
	/* still pending: h lives until send_reply or on_close */
	if (h->pending && h->evcon)
		evhttp_connection_set_closecb(h->evcon, on_close, h);
}

static int
listen_one(struct relay_http *rh, const struct conf_addr *a)
{
	char text[NETADDR_STRLEN];
	int one = 1;
	int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	netaddr_str((const struct sockaddr *)&a->ss, text, sizeof(text));
	if (fd < 0)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (a->ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0 || listen(fd, 128) < 0)
		goto fail;
	if (!evhttp_accept_socket_with_handle(rh->http, fd))
		goto fail;
	log_info("relay API on http://%s/", text);
	return 0;
fail:
	log_err("http-listen %s: %s", text, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

struct relay_http *
relay_http_new(struct event_base *base, struct relay_api *api, const struct conf_addr *addrs,
    size_t n)
{
	struct relay_http *rh = calloc(1, sizeof(*rh));

	if (!rh)
		return NULL;
	rh->api = api;
	rh->http = evhttp_new(base);
	if (!rh->http)
		goto fail;
	evhttp_set_max_headers_size(rh->http, HTTP_MAX_HEADERS);
	evhttp_set_max_body_size(rh->http, RELAY_API_BODY_MAX);
	evhttp_set_timeout(rh->http, HTTP_TIMEOUT_S);
	evhttp_set_allowed_methods(rh->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
	    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_POST | EVHTTP_REQ_DELETE);
	evhttp_set_gencb(rh->http, on_request, rh);
	for (size_t i = 0; i < n; i++)
		if (listen_one(rh, &addrs[i]) < 0)
			goto fail;
	return rh;
fail:
	relay_http_free(rh);
	return NULL;
}

void
relay_http_free(struct relay_http *rh)
{
	if (!rh)
		return;
	if (rh->http)
		evhttp_free(rh->http);
	free(rh);
}
