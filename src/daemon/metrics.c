/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * metrics.c -- the Prometheus scrape endpoint: GET /metrics on each
 * metrics-listen address, text exposition format 0.0.4 (the figures come
 * from ops.c). A minimal evhttp server until the HTTP listeners of the
 * DoH issue take the route; evhttp bounds header and body sizes and
 * times out idle connections.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#define LOG_MODULE "metrics"
#include "daemon/control.h"
#include "daemon/internal.h"
#include "daemon/ops.h"
#include "util/log.h"
#include "util/netaddr.h"

struct pkdns_metrics_http {
	struct pkdns *d;
	struct evhttp *http;
};

static void
on_request(struct evhttp_request *req, void *arg)
{
	struct pkdns_metrics_http *m = arg;
	const char *uri = evhttp_request_get_uri(req);
	struct evbuffer *body;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET &&
	    evhttp_request_get_command(req) != EVHTTP_REQ_HEAD) {
		evhttp_send_error(req, 405, "only GET");
		return;
	}
	if (!uri || (strcmp(uri, "/metrics") != 0 && strncmp(uri, "/metrics?", 9) != 0)) {
		evhttp_send_error(req, HTTP_NOTFOUND, "try /metrics");
		return;
	}
	f = open_memstream(&text, &len);
	body = evbuffer_new();
	if (!f || !body) {
		if (f)
			fclose(f);
		free(text);
		if (body)
			evbuffer_free(body);
		evhttp_send_error(req, HTTP_INTERNAL, "out of memory");
		return;
	}
	pkdns_ops_metrics(m->d, f);
	fclose(f);
	evbuffer_add(body, text, len);
	free(text);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	    "text/plain; version=0.0.4; charset=utf-8");
	evhttp_send_reply(req, HTTP_OK, "OK", body);
	evbuffer_free(body);
}

struct pkdns_metrics_http *
pkdns_metrics_open(struct pkdns *d)
{
	struct pkdns_metrics_http *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->d = d;
	m->http = evhttp_new(d->base);
	if (!m->http) {
		free(m);
		return NULL;
	}
	evhttp_set_timeout(m->http, 10);
	evhttp_set_max_headers_size(m->http, 8192);
	evhttp_set_max_body_size(m->http, 0);
	evhttp_set_allowed_methods(m->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_gencb(m->http, on_request, m);
	for (size_t i = 0; i < d->conf.n_metrics_listen; i++) {
		const struct conf_addr *a = &d->conf.metrics_listen[i];
		char name[80];
		evutil_socket_t fd;
		netaddr_str((const struct sockaddr *)&a->ss, name, sizeof(name));
		fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd >= 0) {
			int on = 1;
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
			if (a->ss.ss_family == AF_INET6)
				setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
		}
		if (fd < 0 || bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0 ||
		    listen(fd, 16) < 0 || !evhttp_accept_socket_with_handle(m->http, fd)) {
			log_err("metrics-listen %s: %s", name, strerror(errno));
			if (fd >= 0)
				close(fd);
			pkdns_metrics_free(m);
			return NULL;
		}
		log_info("Prometheus metrics on http://%s/metrics", name);
	}
	return m;
}

void
pkdns_metrics_free(struct pkdns_metrics_http *m)
{
	if (!m)
		return;
	if (m->http)
		evhttp_free(m->http);
	free(m);
}
