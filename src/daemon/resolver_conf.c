/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * resolver_conf.c -- the daemon's side of the pkarr resolver
 * (pkarr/resolver.h): its settings from the configuration, bootstrap
 * names resolved through the ICANN path (never the OS resolver: when
 * pkdns is the system resolver, the OS would ask pkdns itself), and the
 * stats line's figures.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#define LOG_MODULE "pkarr"
#include "daemon/internal.h"
#include "daemon/ops.h"
#include "icann/icann.h"
#include "pkarr/resolver.h"
#include "util/log.h"

/* A bootstrap name's question on the ICANN path. */
struct host_q {
	struct pkdns *d;
	struct icann_req *req;
	pkarr_resolver_host_fn fn;
	void *arg;
};

static void
host_done(void *arg, int rcode, const uint8_t *msg, size_t len, enum icann_sec sec,
    const char *why_bogus)
{
	struct host_q *h = arg;
	pkarr_resolver_host_fn fn = h->fn;
	void *fn_arg = h->arg;
	(void)sec;
	(void)why_bogus;

	free(h);
	fn(fn_arg, rcode, msg, len);
}

static void *
host_resolve(void *ctx, const char *host, uint16_t qtype, pkarr_resolver_host_fn fn, void *arg)
{
	struct pkdns *d = ctx;
	struct host_q *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->d = d;
	h->fn = fn;
	h->arg = arg;
	h->req = icann_resolve(d->w.icann, host, qtype, LDNS_RR_CLASS_IN, host_done, h);
	if (!h->req) {
		free(h);
		return NULL;
	}
	return h;
}

static void
host_cancel(void *ctx, void *handle)
{
	struct pkdns *d = ctx;
	struct host_q *h = handle;

	icann_cancel(d->w.icann, h->req);
	free(h);
}

/* A DHT look-up ended: the latency histogram (ops.c). */
static void
lookup_observed(void *ctx, uint64_t ms, bool found)
{
	pkdns_ops_lookup_observed(ctx, ms, found);
}

/* The resolver's settings in c. */
static void
resolver_config(const struct conf *c, struct pkarr_resolver_config *rc)
{
	memset(rc, 0, sizeof(*rc));
	rc->packet_cache_size = (size_t)c->packet_cache_size;
	rc->cache_dir = c->cache_dir;
	rc->cache_dir_retry = c->cache_dir_retry;
	rc->min_ttl = c->min_ttl;
	rc->max_ttl = c->max_ttl;
	rc->dht_ratelimit = c->dht_ratelimit;
	rc->dht_ratelimit_burst = c->dht_ratelimit_burst;
	switch (c->dht_mode) {
	case DHT_MODE_OFF_CONF: rc->dht_mode = PKARR_RESOLVER_DHT_OFF; break;
	case DHT_MODE_CLIENT_CONF: rc->dht_mode = PKARR_RESOLVER_DHT_CLIENT; break;
	case DHT_MODE_SERVER_CONF: rc->dht_mode = PKARR_RESOLVER_DHT_SERVER; break;
	default: rc->dht_mode = PKARR_RESOLVER_DHT_ADAPTIVE; break;
	}
	rc->dht_port = c->dht_port;
	if (c->n_dht_listen > 0) {
		rc->dht_listen = &c->dht_listen[0].ss;
		rc->dht_listen_len = (uint32_t)c->dht_listen[0].len;
	}
	rc->testnet = c->testnet;
	rc->testnet_port = c->testnet_port;
	rc->testnet_rtt = c->testnet_rtt;
	rc->testnet_loss = c->testnet_loss;
	rc->testnet_dead = c->testnet_dead;
	rc->testnet_seed = c->testnet_seed;
	rc->bootstrap = (const char *const *)c->bootstrap;
	rc->n_bootstrap = c->n_bootstrap;
	rc->republish = (const char *const *)c->republish;
	rc->n_republish = c->n_republish;
	rc->republish_interval = c->republish_interval;
	rc->relay = (const char *const *)c->relay;
	rc->n_relay = c->n_relay;
	rc->relay_ca = c->relay_ca;
}

int
pkdns_resolver_start(struct pkdns *d)
{
	struct pkarr_resolver_config rc;
	struct pkarr_resolver_hooks hooks = { d, host_resolve, host_cancel, lookup_observed };

	resolver_config(&d->conf, &rc);
	if (d->conf.n_dht_listen > 1)
		log_warn("dht-listen: only the first address is used");
	d->resolver = pkarr_resolver_new(d->w.base, &rc, &hooks);
	return d->resolver ? 0 : -1;
}

void
pkdns_resolver_reconfigure(struct pkdns *d, const struct conf *c)
{
	struct pkarr_resolver_config rc;

	resolver_config(c, &rc);
	pkarr_resolver_reconfigure(d->resolver, &rc);
}

void
pkdns_resolver_stats(struct pkdns *d, size_t *packets, size_t *nodes, size_t *nodes6)
{
	struct pkarr_resolver_stats st;

	*packets = *nodes = *nodes6 = 0;
	if (!d->resolver)
		return;
	pkarr_resolver_get_stats(d->resolver, &st);
	d->w.stats.dht_lookups = st.lookups;
	d->w.stats.dht_lookups_done = st.lookups_done;
	d->w.stats.dht_lookup_ms_total = st.lookup_ms_total;
	*packets = st.packets;
	*nodes = st.nodes;
	*nodes6 = st.nodes6;
}
