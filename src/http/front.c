/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * front.c -- DoT, DoH and the HTTP listeners from the config (front.h).
 */
#include "config.h"

#include <stdlib.h>

#define LOG_MODULE "http"
#include "dns/server.h"
#include "http/doh.h"
#include "http/front.h"
#include "http/http.h"
#include "http/tls.h"
#include "util/conf.h"
#include "util/log.h"

struct http_front {
	struct dns_server *dns;
	struct tls_server *tls;
	struct http_server *http;
	struct doh *doh;
};

struct http_front *
http_front_new(struct event_base *base, const struct conf *cfg, struct dns_server *dns)
{
	struct http_front *f = calloc(1, sizeof(*f));
	struct http_server_config hc = { 0 };

	if (!f)
		return NULL;
	f->dns = dns;
	if (cfg->n_tls_listen || cfg->n_https_listen) {
		f->tls = tls_server_new(cfg->tls_cert, cfg->tls_key);
		if (!f->tls)
			goto fail;
	}
	if (!cfg->doh_path || cfg->doh_path[0] != '/') {
		log_err("doh-path must begin with /");
		goto fail;
	}
	hc.max_connections = cfg->http_max_connections;
	hc.max_per_client = cfg->http_max_connections / 8 ? cfg->http_max_connections / 8 : 1;
	hc.max_streams = cfg->http_max_streams;
	hc.idle_timeout_s = cfg->http_idle_timeout;
	hc.trusted_proxy = cfg->trusted_proxy;
	hc.n_trusted_proxy = cfg->n_trusted_proxy;
	f->http = http_server_new(base, &hc);
	if (!f->http)
		goto fail;
	f->doh = doh_new(f->http, dns, cfg->doh_path);
	if (!f->doh)
		goto fail;
	return f;
fail:
	http_front_free(f);
	return NULL;
}

struct http_server *
http_front_server(struct http_front *f)
{
	return f->http;
}

int
http_front_listen(struct http_front *f, const struct conf *cfg)
{
	for (size_t i = 0; i < cfg->n_tls_listen; i++)
		if (dns_server_listen_tls(f->dns, (const struct sockaddr *)&cfg->tls_listen[i].ss,
			cfg->tls_listen[i].len, f->tls) < 0)
			return -1;
	for (size_t i = 0; i < cfg->n_https_listen; i++)
		if (http_server_listen(f->http, (const struct sockaddr *)&cfg->https_listen[i].ss,
			cfg->https_listen[i].len, f->tls) < 0)
			return -1;
	for (size_t i = 0; i < cfg->n_http_listen; i++)
		if (http_server_listen(f->http, (const struct sockaddr *)&cfg->http_listen[i].ss,
			cfg->http_listen[i].len, NULL) < 0)
			return -1;
	return 0;
}

void
http_front_reload(struct http_front *f, const struct conf *cfg)
{
	if (f && f->tls)
		tls_server_reload(f->tls, cfg->tls_cert, cfg->tls_key);
}

void
http_front_close_listeners(struct http_front *f)
{
	if (f)
		http_server_close_listeners(f->http);
}

void
http_front_free(struct http_front *f)
{
	if (!f)
		return;
	http_server_free(f->http);
	doh_free(f->doh);
	/* DoT connections hold their own reference to the SSL_CTX; the DNS
	 * server (freed after this) only points at f->tls from its
	 * listeners, which must be closed by then */
	tls_server_free(f->tls);
	free(f);
}
