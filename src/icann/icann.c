/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * icann.c -- libunbound on the daemon's event_base.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <unbound-event.h>
#include <unbound.h>

#define LOG_MODULE "icann"
#include "icann/icann.h"
#include "util/log.h"
#include "util/netaddr.h"

struct icann {
	struct ub_ctx *ub;
	struct icann_req *reqs; /* in libunbound, cancelled ones included */
	size_t n_reqs, max_reqs;
};

/* What we pass through libunbound to our caller; lives until libunbound
 * calls back (cb NULL: cancelled, nobody to tell) or the context goes. */
struct icann_req {
	struct icann *ic;
	icann_cb cb;
	void *ctx;
	bool in_resolve;  /* inside ub_resolve_event */
	bool answered;    /* the callback ran inside ub_resolve_event */
	struct icann_req *prev, *next;
};

static int
set_opt(struct ub_ctx *ub, const char *opt, const char *val)
{
	int r = ub_ctx_set_option(ub, opt, val);
	if (r != 0)
		log_err("libunbound option %s %s: %s", opt, val, ub_strerror(r));
	return r;
}

struct icann *
icann_new(struct event_base *base, const struct icann_config *cfg)
{
	struct icann *ic = calloc(1, sizeof(*ic));
	int r;

	if (!ic)
		return NULL;
	ic->max_reqs = cfg->max_inflight;
	ic->ub = ub_ctx_create_event(base);
	if (!ic->ub) {
		log_err("cannot create the libunbound context");
		free(ic);
		return NULL;
	}
	/* upstreams on loopback are normal for a forwarder */
	if (set_opt(ic->ub, "do-not-query-localhost:", "no") != 0)
		goto fail;
	/* A server that never answers: libunbound backs off to 2 minutes
	 * per try (infra-cache-max-rtt) and keeps each query for minutes.
	 * Our clients have their answer after 4 s anyway; a lower ceiling
	 * ends such queries within about a minute, so that their memory
	 * and their slots under max_inflight come back sooner. The mesh
	 * limits apply to libunbound's own reply lists (ours are callbacks,
	 * which libunbound does not limit): sized to our cap all the same. */
	if (set_opt(ic->ub, "infra-cache-max-rtt:", "2000") != 0 ||
	    set_opt(ic->ub, "jostle-timeout:", "200") != 0)
		goto fail;
	if (cfg->max_inflight) {
		char n[32];
		snprintf(n, sizeof(n), "%zu", cfg->max_inflight);
		if (set_opt(ic->ub, "num-queries-per-thread:", n) != 0)
			goto fail;
	}
	/* a delegation's resolver asks one zone's servers for a few names
	 * (no IPv6 sockets and port table when the servers have none) */
	if (cfg->small) {
		bool v6 = false;
		for (size_t i = 0; i < cfg->n_forward; i++)
			v6 = v6 || cfg->forward[i].ss_family == AF_INET6;
		if (set_opt(ic->ub, "msg-cache-size:", "256k") != 0 ||
		    set_opt(ic->ub, "rrset-cache-size:", "256k") != 0 ||
		    set_opt(ic->ub, "infra-cache-numhosts:", "64") != 0 ||
		    (!v6 && set_opt(ic->ub, "do-ip6:", "no") != 0))
			goto fail;
	}
	/* A forwarder serves the names its upstream knows, including the
	 * special-use ones libunbound would otherwise answer itself
	 * (RFC 6761 test., RFC 8375 home.arpa., the RFC 1918 reverse
	 * zones): home networks and test setups live there. */
	if (cfg->n_forward && !cfg->stub_zone) {
		static const char *const zones[] = { "test. transparent", "home.arpa. transparent",
			"local. transparent", "lan. transparent" };
		static const char *const insecure[] = { "test.", "home.arpa.", "local.", "lan." };
		for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++)
			if (set_opt(ic->ub, "local-zone:", zones[i]) != 0)
				goto fail;
		/* the root proves these do not exist: do not validate them */
		for (size_t i = 0; i < sizeof(insecure) / sizeof(insecure[0]); i++)
			if (set_opt(ic->ub, "domain-insecure:", insecure[i]) != 0)
				goto fail;
		if (set_opt(ic->ub, "unblock-lan-zones:", "yes") != 0 ||
		    set_opt(ic->ub, "insecure-lan-zones:", "yes") != 0)
			goto fail;
	}
	for (size_t i = 0; i < cfg->n_forward; i++) {
		char host[NETADDR_STRLEN], spec[NETADDR_STRLEN + 8];
		const struct sockaddr *sa = (const struct sockaddr *)&cfg->forward[i];
		uint16_t port;
		netaddr_str(sa, host, sizeof(host));
		/* "[v6]:port" or "v4:port" -> "addr@port" as libunbound wants */
		char *colon = strrchr(host, ':');
		*colon = '\0';
		port = (uint16_t)atoi(colon + 1);
		if (host[0] == '[') {
			memmove(host, host + 1, strlen(host));
			host[strlen(host) - 1] = '\0';
		}
		snprintf(spec, sizeof(spec), "%s@%u", host, port);
		r = cfg->stub_zone ? ub_ctx_set_stub(ic->ub, cfg->stub_zone, spec, 0)
				   : ub_ctx_set_fwd(ic->ub, spec);
		if (r != 0) {
			log_err("%s %s: %s", cfg->stub_zone ? "name server" : "forwarder", spec,
			    ub_strerror(r));
			goto fail;
		}
	}
	if (cfg->dnssec) {
		if (access(cfg->trust_anchor_file, R_OK) != 0) {
			log_err("trust anchor %s is not readable (Debian: dns-root-data); "
				"set trust-anchor-file or dnssec: no",
			    cfg->trust_anchor_file);
			goto fail;
		}
		r = ub_ctx_add_ta_file(ic->ub, cfg->trust_anchor_file);
		if (r != 0) {
			log_err("trust anchor %s: %s", cfg->trust_anchor_file, ub_strerror(r));
			goto fail;
		}
	}
	if (cfg->stub_zone)
		log_debug("resolver for %s through %zu name servers", cfg->stub_zone,
		    cfg->n_forward);
	else
		log_info("ICANN path: %s, DNSSEC %s",
		    cfg->n_forward ? "forwarding" : "recursion from the root",
		    cfg->dnssec ? "validated" : "off");
	return ic;
fail:
	ub_ctx_delete(ic->ub);
	free(ic);
	return NULL;
}

static void
req_unlink(struct icann_req *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		r->ic->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	r->prev = r->next = NULL;
	r->ic->n_reqs--;
}

void
icann_free(struct icann *ic)
{
	if (!ic)
		return;
	/* Nobody may hear of a query now: ub_ctx_delete calls back every
	 * query still in the mesh with an error (ub_done frees ours), in
	 * one pass over them. */
	for (struct icann_req *r = ic->reqs; r; r = r->next)
		r->cb = NULL;
	ub_ctx_delete(ic->ub);
	while (ic->reqs) {
		struct icann_req *r = ic->reqs;
		req_unlink(r);
		free(r);
	}
	free(ic);
}

size_t
icann_inflight(const struct icann *ic)
{
	return ic ? ic->n_reqs : 0;
}

bool
icann_full(const struct icann *ic)
{
	return ic->max_reqs && ic->n_reqs >= ic->max_reqs;
}

static void
ub_done(void *arg, int rcode, void *packet, int packet_len, int sec, char *why_bogus,
    int was_ratelimited)
{
	struct icann_req *r = arg;
	(void)was_ratelimited;

	req_unlink(r);
	if (!r->cb) {
		/* cancelled: its memory in libunbound is back now */
		free(r);
		return;
	}
	if (rcode != 0 || !packet || packet_len <= 0)
		r->cb(r->ctx, rcode ? rcode : 2, NULL, 0, ICANN_INSECURE, why_bogus);
	else
		r->cb(r->ctx, 0, packet, (size_t)packet_len, (enum icann_sec)sec, why_bogus);
	/* an answer from libunbound's cache can come before
	 * ub_resolve_event returns, with an async ID all the same:
	 * icann_resolve frees r then */
	if (r->in_resolve)
		r->answered = true;
	else
		free(r);
}

struct icann_req *
icann_resolve(struct icann *ic, const char *name, uint16_t qtype, uint16_t qclass,
    icann_cb cb, void *ctx)
{
	struct icann_req *r;
	int rc, id = 0;

	if (icann_full(ic))
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->ic = ic;
	r->cb = cb;
	r->ctx = ctx;
	r->next = ic->reqs;
	if (ic->reqs)
		ic->reqs->prev = r;
	ic->reqs = r;
	ic->n_reqs++;
	r->in_resolve = true;
	rc = ub_resolve_event(ic->ub, name, qtype, qclass, r, ub_done, &id);
	r->in_resolve = false;
	if (r->answered) {
		free(r);
		return ICANN_DONE;
	}
	if (rc != 0) {
		log_warn("resolve %s: %s", name, ub_strerror(rc));
		req_unlink(r);
		free(r);
		return NULL;
	}
	(void)id;
	return r;
}

void
icann_cancel(struct icann *ic, struct icann_req *r)
{
	(void)ic;
	if (!r || r == ICANN_DONE)
		return;
	/* kept, and counted, until libunbound is done with the query */
	r->cb = NULL;
	r->ctx = NULL;
}
