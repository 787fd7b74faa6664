/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * metrics.c -- the Prometheus scrape endpoint: GET /metrics, text
 * exposition format 0.0.4 (the figures come from ops.c), mounted with
 * the HTTP route API (src/http/http.h) on the daemon's HTTP listeners
 * (http-listen, https-listen; for clients that access-control allows)
 * and on a server of its own for each metrics-listen address (for every
 * client that reaches it: keep it on loopback or behind a firewall).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "metrics"
#include "daemon/control.h"
#include "daemon/internal.h"
#include "daemon/ops.h"
#include "dns/acl.h"
#include "http/http.h"
#include "util/log.h"
#include "util/netaddr.h"

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct pkdns_metrics_http {
	struct pkdns *d;
	struct http_server *own;      /* metrics-listen, or NULL */
};

static void
serve(struct pkdns *d, struct http_req *req)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f) {
		http_reply(req, 500, "text/plain", "out of memory\n", 14);
		return;
	}
	pkdns_ops_metrics(d, f);
	fclose(f);
	http_reply(req, 200, CONTENT_TYPE, text, len);
	free(text);
}

/* metrics-listen: whoever reaches the address. */
static void
on_own(void *ctx, struct http_req *req)
{
	struct pkdns_metrics_http *m = ctx;

	if (strcmp(req->path, "/metrics") != 0) {
		http_reply(req, 404, "text/plain", "try /metrics\n", 13);
		return;
	}
	serve(m->d, req);
}

/* The shared HTTP listeners: the clients access-control allows. */
static void
on_shared(void *ctx, struct http_req *req)
{
	struct pkdns_metrics_http *m = ctx;
	struct pkdns *d = m->d;

	if (strcmp(req->path, "/metrics") != 0) {
		http_reply(req, 404, "text/plain", "not found\n", 10);
		return;
	}
	if (acl_check(d->conf.acl, d->conf.n_acl, (const struct sockaddr *)&req->client) !=
	    ACL_ALLOW) {
		http_reply(req, 403, "text/plain", "forbidden\n", 10);
		return;
	}
	serve(d, req);
}

struct pkdns_metrics_http *
pkdns_metrics_open(struct pkdns *d)
{
	struct pkdns_metrics_http *m = calloc(1, sizeof(*m));
	struct http_server_config hc = { .max_connections = 16, .max_per_client = 4 };

	if (!m)
		return NULL;
	m->d = d;
	if (d->w.http && http_route_add(d->w.http, HTTP_GET, "/metrics", on_shared, m) < 0)
		goto fail;
	if (d->conf.n_metrics_listen == 0)
		return m;
	m->own = http_server_new(d->w.base, &hc);
	if (!m->own || http_route_add(m->own, HTTP_GET, "/", on_own, m) < 0)
		goto fail;
	for (size_t i = 0; i < d->conf.n_metrics_listen; i++) {
		const struct conf_addr *a = &d->conf.metrics_listen[i];
		char name[80];
		netaddr_str((const struct sockaddr *)&a->ss, name, sizeof(name));
		if (http_server_listen(m->own, (const struct sockaddr *)&a->ss, a->len, NULL) < 0) {
			log_err("metrics-listen %s: cannot listen there", name);
			goto fail;
		}
		log_info("Prometheus metrics on http://%s/metrics", name);
	}
	return m;
fail:
	pkdns_metrics_free(m);
	return NULL;
}

void
pkdns_metrics_free(struct pkdns_metrics_http *m)
{
	if (!m)
		return;
	http_server_free(m->own);
	free(m);
}
