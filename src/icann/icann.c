/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * icann.c -- libunbound on the daemon's event_base.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <unbound-event.h>
#include <unbound.h>

#define LOG_MODULE "icann"
#include "icann/icann.h"
#include "util/log.h"
#include "util/netaddr.h"

#define RCODE_SERVFAIL 2

struct icann {
	struct event_base *base;
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
	/* An answer that came inside ub_resolve_event (libunbound's cache or
	 * local data), kept for the caller until the loop runs again: no
	 * callback runs inside the call that started it. */
	struct event *deferred;
	int d_rcode, d_sec;
	uint8_t *d_msg;
	size_t d_len;
	char *d_why;
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
	ic->base = base;
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
req_free(struct icann_req *r)
{
	if (r->deferred)
		event_free(r->deferred);
	free(r->d_msg);
	free(r->d_why);
	free(r);
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
		req_free(r);
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
deliver(struct icann_req *r, int rcode, const uint8_t *msg, size_t len, int sec,
    const char *why_bogus)
{
	if (rcode != 0 || msg == NULL || len == 0)
		r->cb(r->ctx, rcode ? rcode : RCODE_SERVFAIL, NULL, 0, ICANN_INSECURE,
		    why_bogus);
	else
		r->cb(r->ctx, 0, msg, len, (enum icann_sec)sec, why_bogus);
}

/* The loop is back: hand over the answer that came inside icann_resolve. */
static void
deferred_fire(evutil_socket_t fd, short what, void *arg)
{
	struct icann_req *r = arg;
	(void)fd;
	(void)what;

	req_unlink(r);
	if (r->cb)
		deliver(r, r->d_rcode, r->d_msg, r->d_len, r->d_sec, r->d_why);
	req_free(r);
}

/* Keep an answer that came inside ub_resolve_event for deferred_fire.
 * @return 0, or -1 (out of memory: it is delivered as SERVFAIL) */
static int
defer(struct icann_req *r, int rcode, const void *packet, int packet_len, int sec,
    const char *why_bogus)
{
	struct timeval now = { 0, 0 };

	r->d_rcode = rcode;
	r->d_sec = sec;
	if (rcode == 0 && packet != NULL && packet_len > 0) {
		r->d_msg = malloc((size_t)packet_len);
		if (r->d_msg == NULL)
			r->d_rcode = RCODE_SERVFAIL;
		else
			memcpy(r->d_msg, packet, (size_t)packet_len);
		r->d_len = r->d_msg ? (size_t)packet_len : 0;
	}
	if (why_bogus != NULL)
		r->d_why = strdup(why_bogus);
	r->deferred = evtimer_new(r->ic->base, deferred_fire, r);
	if (r->deferred == NULL || evtimer_add(r->deferred, &now) < 0)
		return -1;
	return 0;
}

static void
ub_done(void *arg, int rcode, void *packet, int packet_len, int sec, char *why_bogus,
    int was_ratelimited)
{
	struct icann_req *r = arg;
	(void)was_ratelimited;

	/* an answer from libunbound's cache or local data can come before
	 * ub_resolve_event returns: kept on the list, delivered from the
	 * loop */
	if (r->in_resolve && r->cb && defer(r, rcode, packet, packet_len, sec, why_bogus) == 0)
		return;
	req_unlink(r);
	if (r->in_resolve) {
		/* out of memory while deferring, or cancelled: icann_resolve
		 * reports the failure (NULL) and frees r */
		r->cb = NULL;
		r->in_resolve = false;
		r->d_rcode = -1;
		return;
	}
	if (r->cb)
		deliver(r, rcode, packet, packet_len > 0 ? (size_t)packet_len : 0, sec, why_bogus);
	/* cancelled or answered: its memory in libunbound is back now */
	req_free(r);
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
	if (!r->in_resolve) {
		/* answered inside and could not be deferred: unlinked already */
		req_free(r);
		return NULL;
	}
	r->in_resolve = false;
	if (rc != 0 && r->deferred == NULL) {
		log_warn("resolve %s: %s", name, ub_strerror(rc));
		req_unlink(r);
		req_free(r);
		return NULL;
	}
	(void)id;
	return r;
}

void
icann_cancel(struct icann *ic, struct icann_req *r)
{
	(void)ic;
	if (r == NULL || r == ICANN_DONE)
		return;
	/* kept, and counted, until libunbound is done with the query */
	r->cb = NULL;
	r->ctx = NULL;
}
