/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * relay_http.c -- the pkarr relay API (relay_api.h) mounted on the HTTP
 * server's route table (http/http.h): every HTTP listener (http-listen,
 * https-listen; HTTP/1.1 and HTTP/2) serves GET, PUT and OPTIONS on
 * "/<key>". Other paths under "/" that no other route takes get 404.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "daemon/relay_api.h"
#include "daemon/relay_http.h"
#include "http/http.h"

/* One request while the relay API holds it. */
struct hreq {
	struct http_req *req;
	struct relay_call *pending;
};

static void
on_abort(void *ctx, struct http_req *req)
{
	struct hreq *h = ctx;
	(void)req;

	relay_call_cancel(h->pending);
	free(h);
}

static void
send_reply(void *conn, const struct relay_http_reply *rep)
{
	struct hreq *h = conn;
	const char *ct = NULL;

	for (size_t i = 0; i < rep->n; i++) {
		if (strcasecmp(rep->h[i].name, "Content-Type") == 0)
			ct = rep->h[i].value; /* http_reply() sets it */
		else
			(void)http_resp_header(h->req, rep->h[i].name, rep->h[i].value);
	}
	http_reply(h->req, rep->status, ct, rep->body, rep->body ? rep->body_len : 0);
	free(h);
}

static enum relay_http_method
method_of(unsigned m)
{
	switch (m) {
	case HTTP_GET: return RELAY_HTTP_GET;
	case HTTP_HEAD: return RELAY_HTTP_HEAD;
	case HTTP_PUT: return RELAY_HTTP_PUT;
	case HTTP_OPTIONS: return RELAY_HTTP_OPTIONS;
	default: return RELAY_HTTP_OTHER;
	}
}

static void
on_request(void *ctx, struct http_req *req)
{
	struct relay_api *api = ctx;
	struct relay_http_req r;
	struct relay_call *pend = NULL;
	struct hreq *h;
	size_t plen = strlen(req->path);

	if (!relay_api_path(req->path, plen)) {
		(void)http_resp_header(req, "Access-Control-Allow-Origin", "*");
		http_reply(req, 404, "text/plain", "not found\n", 10);
		return;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		http_reply(req, 500, NULL, NULL, 0);
		return;
	}
	h->req = req;
	memset(&r, 0, sizeof(r));
	r.method = method_of(req->method);
	r.path = req->path;
	r.path_len = plen;
	r.if_modified_since = req->if_modified_since;
	if (r.method == RELAY_HTTP_PUT) {
		r.body = req->body;
		r.body_len = req->body_len;
		r.body_too_large = req->body_len > RELAY_API_BODY_MAX;
	}
	r.client = (const struct sockaddr *)&req->client;
	/* a reply sent at once frees h: only pend says whether it is kept */
	relay_api_handle(api, &r, send_reply, h, &pend);
	if (pend) {
		h->pending = pend;
		http_req_on_abort(req, on_abort, h);
	}
}

int
relay_http_mount(struct http_server *s, struct relay_api *api)
{
	if (!s)
		return 0;
	return http_route_add(s, HTTP_GET | HTTP_PUT | HTTP_OPTIONS, "/", on_request, api);
}
