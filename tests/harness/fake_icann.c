/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fake_icann.c -- a scripted stand-in for src/icann/icann.c, linked into
 * the harness instead of it (the daemon sees only icann.h). Each question
 * is answered as the scenario's latest ICANN rule for it says: a message
 * built from the rule's records, after the rule's virtual delay, or a
 * failure, or never. A question with no rule fails and is counted, so a
 * scenario cannot depend on an answer it did not write down. Callbacks
 * always run from the event loop, never inside icann_resolve().
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <ldns/ldns.h>

#include "harness.h"
#include "icann/icann.h"

struct icann {
	struct event_base *base;
	size_t max_inflight;
	struct icann_req *reqs;
};

struct icann_req {
	struct icann *ic;
	struct event *timer;      /* NULL: never answered */
	char name[256];
	uint16_t qtype, qclass;
	const struct fake_rule *rule; /* NULL: unscripted */
	icann_cb cb;
	void *ctx;
	struct icann_req *prev, *next;
};

struct count {
	char name[256];
	uint16_t qtype;
	unsigned n;
	struct count *next;
};

/* The script: rules and counters, shared by every resolver the daemon
 * creates (its ICANN path and any delegation's). */
static struct {
	struct fake_rule *rules;
	struct count *counts;
	unsigned unscripted;
	char last_unscripted[300];
	size_t pending;
} script;

static void
lower_fqdn(const char *in, char *out, size_t cap)
{
	size_t n = 0;

	for (; *in && n + 2 < cap; in++)
		out[n++] = (char)((*in >= 'A' && *in <= 'Z') ? *in + 32 : *in);
	if (n == 0 || out[n - 1] != '.')
		out[n++] = '.';
	out[n] = '\0';
}

/* The newest rule for a question wins (lookups take the first match); a
 * request already waiting keeps the rule it started with, so none is
 * freed before fake_icann_reset(). */
void
fake_icann_rule(struct fake_rule *r)
{
	r->next = script.rules;
	script.rules = r;
}

unsigned
fake_icann_count(const char *name, uint16_t qtype)
{
	for (struct count *c = script.counts; c; c = c->next)
		if (c->qtype == qtype && strcmp(c->name, name) == 0)
			return c->n;
	return 0;
}

unsigned
fake_icann_unscripted(char *last, size_t cap)
{
	if (cap)
		snprintf(last, cap, "%s", script.last_unscripted);
	return script.unscripted;
}

size_t
fake_icann_pending(void)
{
	return script.pending;
}

void
fake_icann_reset(void)
{
	while (script.rules) {
		struct fake_rule *r = script.rules;
		script.rules = r->next;
		free(r->answer);
		free(r->authority);
		free(r);
	}
	while (script.counts) {
		struct count *c = script.counts;
		script.counts = c->next;
		free(c);
	}
}

static void
count_question(const char *name, uint16_t qtype)
{
	struct count *c;

	for (c = script.counts; c; c = c->next)
		if (c->qtype == qtype && strcmp(c->name, name) == 0)
			break;
	if (!c && (c = calloc(1, sizeof(*c)))) {
		snprintf(c->name, sizeof(c->name), "%s", name);
		c->qtype = qtype;
		c->next = script.counts;
		script.counts = c;
	}
	if (c)
		c->n++;
}

struct icann *
icann_new(struct event_base *base, const struct icann_config *cfg)
{
	struct icann *ic = calloc(1, sizeof(*ic));

	if (!ic)
		return NULL;
	ic->base = base;
	ic->max_inflight = cfg->max_inflight;
	return ic;
}

static size_t
inflight(const struct icann *ic)
{
	size_t n = 0;

	for (const struct icann_req *r = ic->reqs; r; r = r->next)
		n++;
	return n;
}

size_t
icann_inflight(const struct icann *ic)
{
	return ic ? inflight(ic) : 0;
}

bool
icann_full(const struct icann *ic)
{
	return ic->max_inflight && inflight(ic) >= ic->max_inflight;
}

static void
req_free(struct icann_req *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		r->ic->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	if (r->timer)
		event_free(r->timer);
	script.pending--;
	free(r);
}

/* Append the rule's records (text, one per line) to a section. */
static int
add_rrs(ldns_pkt *pkt, ldns_pkt_section sec, const char *text)
{
	char line[1024];

	while (text && *text) {
		size_t n = strcspn(text, "\n");
		ldns_rr *rr = NULL;
		snprintf(line, sizeof(line), "%.*s", (int)n, text);
		text += n + (text[n] == '\n');
		if (ldns_rr_new_frm_str(&rr, line, 3600, NULL, NULL) != LDNS_STATUS_OK)
			return -1;
		ldns_pkt_push_rr(pkt, sec, rr);
	}
	return 0;
}

static void
req_fire(evutil_socket_t fd, short what, void *arg)
{
	struct icann_req *r = arg;
	const struct fake_rule *rule = r->rule;
	icann_cb cb = r->cb;
	void *ctx = r->ctx;
	ldns_pkt *pkt = NULL;
	uint8_t *wire = NULL;
	size_t len = 0;
	ldns_rdf *qname = NULL;
	(void)fd;
	(void)what;

	if (rule && !rule->fail && ldns_str2rdf_dname(&qname, r->name) == LDNS_STATUS_OK &&
	    (pkt = ldns_pkt_query_new(qname, r->qtype, r->qclass, LDNS_RD)) != NULL) {
		qname = NULL;
		ldns_pkt_set_qr(pkt, true);
		ldns_pkt_set_ra(pkt, true);
		ldns_pkt_set_rcode(pkt, (uint8_t)rule->rcode);
		if (add_rrs(pkt, LDNS_SECTION_ANSWER, rule->answer) < 0 ||
		    add_rrs(pkt, LDNS_SECTION_AUTHORITY, rule->authority) < 0 ||
		    ldns_pkt2wire(&wire, pkt, &len) != LDNS_STATUS_OK) {
			free(wire);
			wire = NULL;
		}
	}
	ldns_rdf_deep_free(qname);
	ldns_pkt_free(pkt);
	int sec = rule ? rule->sec : ICANN_INSECURE;
	req_free(r);
	if (wire)
		cb(ctx, 0, wire, len, (enum icann_sec)sec,
		    sec == ICANN_BOGUS ? "scripted: bogus" : NULL);
	else
		cb(ctx, LDNS_RCODE_SERVFAIL, NULL, 0, ICANN_INSECURE, NULL);
	free(wire);
}

struct icann_req *
icann_resolve(struct icann *ic, const char *name, uint16_t qtype, uint16_t qclass,
    icann_cb cb, void *ctx)
{
	struct icann_req *r;
	char key[256];

	if (icann_full(ic) || !(r = calloc(1, sizeof(*r))))
		return NULL;
	lower_fqdn(name, key, sizeof(key));
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->ic = ic;
	r->qtype = qtype;
	r->qclass = qclass;
	r->cb = cb;
	r->ctx = ctx;
	count_question(key, qtype);
	for (const struct fake_rule *x = script.rules; x; x = x->next)
		if (x->qtype == qtype && strcmp(x->name, key) == 0) {
			r->rule = x;
			break;
		}
	if (!r->rule) {
		script.unscripted++;
		snprintf(script.last_unscripted, sizeof(script.last_unscripted), "%s type %u", key,
		    qtype);
	}
	if (!r->rule || !r->rule->never) {
		uint64_t ms = r->rule ? r->rule->delay_ms : 0;
		struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000 * 1000) };
		r->timer = evtimer_new(ic->base, req_fire, r);
		if (!r->timer || evtimer_add(r->timer, &tv) < 0) {
			if (r->timer)
				event_free(r->timer);
			free(r);
			return NULL;
		}
	}
	r->next = ic->reqs;
	if (ic->reqs)
		ic->reqs->prev = r;
	ic->reqs = r;
	script.pending++;
	return r;
}

void
icann_cancel(struct icann *ic, struct icann_req *r)
{
	(void)ic;
	if (r)
		req_free(r);
}

void
icann_free(struct icann *ic)
{
	if (!ic)
		return;
	while (ic->reqs)
		req_free(ic->reqs);
	free(ic);
}
