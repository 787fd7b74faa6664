/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * request.c -- a client request and its one exit, pkdns_req_finish():
 * the answer rules of RFC 4035 section 3.2 (DNSSEC records only for DO,
 * AD only for validated data, bogus data only with CD), the client
 * deadline of RFC 8767 section 5, the answer cache and the counters, for
 * every path alike.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <ldns/ldns.h>

#define LOG_MODULE "daemon"
#include "cache/cache.h"
#include "daemon/internal.h"
#include "daemon/request.h"
#include "daemon/ops.h"
#include "dns/msg.h"
#include "dns/server.h"
#include "util/log.h"
#include "util/time.h"

static const char *const fail_names[] = {
	[PKDNS_FAIL_NONE] = "none",
	[PKDNS_FAIL_NO_AUTHORITY] = "no reachable authority",
	[PKDNS_FAIL_DHT_UNREACHABLE] = "DHT unreachable",
	[PKDNS_FAIL_NO_PACKET] = "no packet",
	[PKDNS_FAIL_FUTURE_PACKET] = "packet dated ahead",
	[PKDNS_FAIL_BOGUS] = "bogus",
	[PKDNS_FAIL_NETWORK] = "network error",
	[PKDNS_FAIL_DEADLINE] = "deadline",
	[PKDNS_FAIL_BUDGET] = "budget",
	[PKDNS_FAIL_RATELIMIT] = "rate limit",
	[PKDNS_FAIL_CHASE] = "chase limit",
	[PKDNS_FAIL_POLICY] = "policy",
	[PKDNS_FAIL_INTERNAL] = "internal error",
};

const char *
pkdns_fail_str(enum pkdns_fail why)
{
	if ((size_t)why >= sizeof(fail_names) / sizeof(fail_names[0]) || !fail_names[why])
		return "?";
	return fail_names[why];
}

static struct timeval
ms_tv(unsigned ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };
	return tv;
}

void
pkdns_req_init(struct pkdns_req *r, struct pkdns *d, struct dns_query *q, enum pkdns_path path)
{
	memset(r, 0, sizeof(*r));
	r->d = d;
	r->q = q;
	r->path = path;
	r->transport = q->tcp ? PKDNS_TRANSPORT_TCP : PKDNS_TRANSPORT_UDP;
}

/* ---- the client deadline ------------------------------------------------ */

static void
deadline_fire(evutil_socket_t fd, short what, void *arg)
{
	struct pkdns_req *r = arg;
	struct pkdns *d = r->d;
	struct pkdns_result res = { .kind = PKDNS_RES_STALE };
	pkdns_deadline_fn expired = r->dl.expired;
	void *ctx = r->dl.ctx;
	(void)fd;
	(void)what;

	if (!r->q)
		return;
	if (!r->dl.stale_tried) {
		struct timeval tv = ms_tv(PKDNS_DEADLINE_MS - PKDNS_STALE_WAIT_MS);
		r->dl.stale_tried = true;
		if (!pkdns_req_finish(r, &res)) {
			evtimer_add(r->dl.timer, &tv);
			return;
		}
		d->w.deadline_stale++;
	} else {
		d->w.deadline_servfail++;
		r->timed_out = true;
		pkdns_req_fail(r, DNS_RCODE_SERVFAIL, PKDNS_FAIL_DEADLINE, false);
	}
	/* the owner lets go of what it waits on and frees r */
	expired(ctx);
}

int
pkdns_req_hold(struct pkdns_req *r, pkdns_deadline_fn expired, void *ctx)
{
	struct timeval tv = ms_tv(PKDNS_STALE_WAIT_MS);
	struct dns_query *held = dns_query_hold(r->q);

	if (!held) {
		r->q = NULL; /* dns_query_hold dropped it */
		return -1;
	}
	r->q = held;
	r->held = true;
	memset(&r->dl, 0, sizeof(r->dl));
	r->dl.timer = evtimer_new(r->d->w.base, deadline_fire, r);
	if (!r->dl.timer || evtimer_add(r->dl.timer, &tv) < 0) {
		pkdns_req_fail(r, DNS_RCODE_SERVFAIL, PKDNS_FAIL_INTERNAL, false);
		return -1;
	}
	r->dl.expired = expired;
	r->dl.ctx = ctx;
	return 0;
}

static void
deadline_stop(struct pkdns_req *r)
{
	if (r->dl.timer)
		event_free(r->dl.timer);
	r->dl.timer = NULL;
}

void
pkdns_req_clear(struct pkdns_req *r)
{
	deadline_stop(r);
	ldns_rr_list_deep_free(r->chain);
	r->chain = NULL;
}

/* ---- the answer rules --------------------------------------------------- */

/* DNSSEC records a client that did not set DO must not get (RFC 4035
 * section 3.2.1), unless it asked for that type. */
static void
strip_dnssec(ldns_rr_list *list, uint16_t qtype)
{
	size_t i = 0;

	while (list != NULL && i < ldns_rr_list_rr_count(list)) {
		ldns_rr_type t = ldns_rr_get_type(ldns_rr_list_rr(list, i));
		bool dnssec = t == LDNS_RR_TYPE_RRSIG || t == LDNS_RR_TYPE_NSEC ||
		    t == LDNS_RR_TYPE_NSEC3;
		if (dnssec && t != qtype) {
			ldns_rr *rr = ldns_rr_list_rr(list, i);
			size_t last = ldns_rr_list_rr_count(list) - 1;
			ldns_rr_list_set_rr(list, ldns_rr_list_rr(list, last), i);
			ldns_rr_list_set_rr_count(list, last);
			ldns_rr_free(rr);
		} else {
			i++;
		}
	}
}

/* What every answer gets, whatever path made it: no OPT (the front end
 * adds its own), the header flags, DNSSEC records only for DO. */
static void
apply_rules_to(ldns_pkt *pkt, bool from_icann, enum icann_sec sec, bool do_bit, bool cd,
    bool rd, uint16_t qtype)
{
	ldns_pkt_set_edns_udp_size(pkt, 0);
	ldns_pkt_set_edns_extended_rcode(pkt, 0);
	ldns_pkt_set_edns_version(pkt, 0);
	ldns_pkt_set_edns_z(pkt, 0);
	ldns_pkt_set_edns_data(pkt, NULL);
	/* ldns 1.8 keeps "an OPT was there" in a field with no setter */
	pkt->_edns_present = 0;
	ldns_pkt_set_qr(pkt, true);
	ldns_pkt_set_aa(pkt, false);
	ldns_pkt_set_ra(pkt, true);
	ldns_pkt_set_rd(pkt, rd);
	/* AD only for data the validator checked end to end: a chain that
	 * started in a key's packet is not (RFC 4035 section 3.2.3) */
	ldns_pkt_set_ad(pkt, from_icann && sec == ICANN_SECURE);
	ldns_pkt_set_cd(pkt, from_icann && cd);
	if (!do_bit) {
		strip_dnssec(ldns_pkt_answer(pkt), qtype);
		strip_dnssec(ldns_pkt_authority(pkt), qtype);
		strip_dnssec(ldns_pkt_additional(pkt), qtype);
	}
	ldns_pkt_set_qdcount(pkt, (uint16_t)ldns_rr_list_rr_count(ldns_pkt_question(pkt)));
	ldns_pkt_set_ancount(pkt, (uint16_t)ldns_rr_list_rr_count(ldns_pkt_answer(pkt)));
	ldns_pkt_set_nscount(pkt, (uint16_t)ldns_rr_list_rr_count(ldns_pkt_authority(pkt)));
	ldns_pkt_set_arcount(pkt, (uint16_t)ldns_rr_list_rr_count(ldns_pkt_additional(pkt)));
}

static void
apply_rules(const struct pkdns_req *r, const struct dns_query *q, ldns_pkt *pkt,
    enum icann_sec sec)
{
	const struct dns_msginfo *mi = &q->info;

	apply_rules_to(pkt, r->path == PKDNS_PATH_ICANN, sec, mi->do_bit, mi->cd, mi->rd,
	    mi->qtype);
}

/* A stale answer from the answer cache, if serve-stale allows one. */
static bool
send_stale(struct pkdns_req *r, struct dns_query *q)
{
	struct pkdns *d = r->d;
	struct cache_key key;
	size_t cap;
	uint8_t *buf = dns_query_buf(q, &cap);
	bool stale = false;
	long n;

	if (!d->conf.serve_stale)
		return false;
	pkdns_cache_key(q, &key);
	n = cache_lookup(d->w.cache, &key, q->info.id, q->info.rd, time_mono_ms(), buf, cap, true,
	    PKDNS_STALE_MAX_S, &stale);
	if (n <= 0)
		return false;
	d->w.stats.stale_answers++;
	r->stale = true;
	dns_query_note(q)->cache_hit = true;
	pkdns_reply_stale(q);
	r->rcode = buf[3] & 0x0f;
	dns_query_answer(q, (size_t)n);
	return true;
}

static void
send_error(struct pkdns_req *r, struct dns_query *q, int rcode, enum pkdns_fail why)
{
	r->rcode = rcode;
	r->reason = why;
	dns_query_error(q, rcode);
}

/* res->pkt through the rules, into the answer cache and to the client. */
static void
send_pkt(struct pkdns_req *r, struct dns_query *q, const struct pkdns_result *res)
{
	struct pkdns *d = r->d;
	uint8_t *wire = NULL;
	size_t wlen = 0;
	int rcode;

	if (res->sec == ICANN_BOGUS && !q->info.cd) {
		send_error(r, q, DNS_RCODE_SERVFAIL, PKDNS_FAIL_BOGUS);
		return;
	}
	apply_rules(r, q, res->pkt, res->sec);
	if (ldns_pkt2wire(&wire, res->pkt, &wlen) != LDNS_STATUS_OK) {
		free(wire);
		send_error(r, q, DNS_RCODE_SERVFAIL, PKDNS_FAIL_INTERNAL);
		return;
	}
	rcode = ldns_pkt_get_rcode(res->pkt);
	if (!res->no_cache && res->sec != ICANN_BOGUS && rcode != DNS_RCODE_SERVFAIL) {
		/* the EDE pkdns_reply_note() gave this answer goes with it, so
		 * that its replays say the same (not the rebinding filter's:
		 * that one is per client, added as each reply leaves) */
		const struct dns_query_note *n = dns_query_note(q);
		struct cache_ede ede = { n->ede, n->ede_code, n->ede_text };
		struct cache_key key;
		pkdns_cache_key(q, &key);
		cache_store_ede(d->w.cache, &key, wire, wlen,
		    r->path == PKDNS_PATH_PKARR ? d->conf.max_ttl : 0, time_mono_ms(), &ede);
	}
	r->rcode = rcode;
	dns_query_reply(q, wire, wlen);
	free(wire);
}

/* The counters every finished request feeds. */
static void
count_reply(struct pkdns_req *r)
{
	struct pkdns *d = r->d;

	/* bogus answers have their own counter */
	if (r->rcode == DNS_RCODE_SERVFAIL && !r->stale && r->reason != PKDNS_FAIL_BOGUS &&
	    (r->path == PKDNS_PATH_ICANN || r->used_icann))
		d->w.stats.icann_failures++;
	/* issue 14: metrics by transport, path, rcode and reason */
	pkdns_ops_replied(d, (int)r->transport, (int)r->path, r->rcode, (int)r->reason);
}

bool
pkdns_req_finish(struct pkdns_req *r, struct pkdns_result *res)
{
	struct dns_query *q = r->q;

	if (q == NULL)
		return true;
	if (res->kind == PKDNS_RES_STALE) {
		r->q = NULL;
		pkdns_reply_note(r, q, res);
		if (!send_stale(r, q)) {
			r->q = q;
			return false;
		}
		goto done;
	}
	/* off r before the front end runs: r is finished whatever the
	 * reply hooks do */
	r->q = NULL;
	/* what the reply hooks (EDE, query log: reply.c) need to know */
	pkdns_reply_note(r, q, res);
	switch (res->kind) {
	case PKDNS_RES_BUF:
		r->rcode = res->len > 3 ? dns_query_buf(q, &(size_t){ 0 })[3] & 0x0f : 0;
		dns_query_answer(q, res->len);
		break;
	case PKDNS_RES_DROP:
		dns_query_drop(q);
		break;
	case PKDNS_RES_PKT:
		send_pkt(r, q, res);
		break;
	case PKDNS_RES_ERROR:
	default:
		if (res->stale_ok && send_stale(r, q))
			break;
		send_error(r, q, res->rcode, res->reason);
		break;
	}
done:
	/* The hook point: every reply passes here once, with r->transport,
	 * r->path, r->rcode and r->reason set. */
	count_reply(r);
	pkdns_req_clear(r);
	return true;
}

void
pkdns_req_fail(struct pkdns_req *r, int rcode, enum pkdns_fail why, bool stale_ok)
{
	struct pkdns_result res = {
		.kind = PKDNS_RES_ERROR, .rcode = rcode, .reason = why, .stale_ok = stale_ok
	};

	pkdns_req_finish(r, &res);
}

void
pkdns_req_drop(struct pkdns_req *r)
{
	struct pkdns_result res = { .kind = PKDNS_RES_DROP };

	pkdns_req_finish(r, &res);
}

/* ---- the one ICANN consumer --------------------------------------------- */

/* A pkarr client's chain goes first; the question is the client's; the
 * ICANN part's SOA goes along with NXDOMAIN and NODATA so that the
 * negative answer can be cached (RFC 2308 section 2.2).
 * @return 0 or -1 (out of memory) */
static int
splice_chain(struct pkdns_req *r, ldns_pkt *pkt)
{
	const struct dns_msginfo *mi = &r->q->info;
	ldns_rr_list *an = ldns_rr_list_new();
	ldns_rr *question = ldns_rr_new();
	ldns_rdf *qname = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, mi->qname_len, mi->qname);
	size_t n_an = ldns_rr_list_rr_count(ldns_pkt_answer(pkt));

	if (an == NULL || question == NULL || qname == NULL) {
		ldns_rr_list_free(an);
		ldns_rr_free(question);
		ldns_rdf_deep_free(qname);
		return -1;
	}
	ldns_dname2canonical(qname);
	ldns_rr_set_owner(question, qname);
	ldns_rr_set_type(question, (ldns_rr_type)mi->qtype);
	ldns_rr_set_class(question, (ldns_rr_class)mi->qclass);
	ldns_rr_set_question(question, true);
	ldns_rr_list_deep_free(ldns_pkt_question(pkt));
	ldns_pkt_set_question(pkt, ldns_rr_list_new());
	ldns_pkt_push_rr(pkt, LDNS_SECTION_QUESTION, question);

	/* the chain's records move into the new answer list */
	ldns_rr_list_cat(an, r->chain);
	ldns_rr_list_set_rr_count(r->chain, 0);
	ldns_rr_list_cat(an, ldns_pkt_answer(pkt));
	ldns_rr_list_set_rr_count(ldns_pkt_answer(pkt), 0);
	ldns_rr_list_free(ldns_pkt_answer(pkt));
	ldns_pkt_set_answer(pkt, an);
	if (ldns_pkt_get_rcode(pkt) == LDNS_RCODE_NOERROR && n_an > 0) {
		ldns_rr_list_deep_free(ldns_pkt_authority(pkt));
		ldns_pkt_set_authority(pkt, ldns_rr_list_new());
	}
	ldns_rr_list_deep_free(ldns_pkt_additional(pkt));
	ldns_pkt_set_additional(pkt, ldns_rr_list_new());
	return 0;
}

void
pkdns_req_icann_answer(struct pkdns_req *r, int rcode, const uint8_t *msg, size_t len,
    enum icann_sec sec, const char *why_bogus, bool first)
{
	struct pkdns *d = r->d;
	struct pkdns_result res = { .kind = PKDNS_RES_PKT, .sec = sec };
	ldns_pkt *pkt = NULL;

	if (r->q == NULL)
		return;
	/* a SERVFAIL packet (e.g. every upstream marked down) is a failure
	 * too: the stale answer is better */
	if (rcode != 0 || msg == NULL || dns_msg_rcode(msg, len) == DNS_RCODE_SERVFAIL) {
		pkdns_req_fail(r, DNS_RCODE_SERVFAIL, PKDNS_FAIL_NETWORK, true);
		return;
	}
	if (sec == ICANN_BOGUS) {
		if (first) {
			char name[LDNS_MAX_DOMAINLEN + 2];
			d->w.stats.bogus++;
			if (dns_name_to_str(r->q->info.qname, r->q->info.qname_len, name,
				sizeof(name)) < 0)
				strcpy(name, "?");
			log_info("bogus answer for %s type %u: %s", name, r->q->info.qtype,
			    why_bogus != NULL ? why_bogus : "no reason given");
		}
		if (!r->q->info.cd) {
			pkdns_req_fail(r, DNS_RCODE_SERVFAIL, PKDNS_FAIL_BOGUS, false);
			return;
		}
	}
	if (ldns_wire2pkt(&pkt, msg, len) != LDNS_STATUS_OK ||
	    (r->chain != NULL && splice_chain(r, pkt) < 0)) {
		if (first)
			log_warn("unparseable answer from libunbound");
		ldns_pkt_free(pkt);
		pkdns_req_fail(r, DNS_RCODE_SERVFAIL, PKDNS_FAIL_INTERNAL, false);
		return;
	}
	res.pkt = pkt;
	pkdns_req_finish(r, &res);
	ldns_pkt_free(pkt);
}

void
pkdns_icann_store_late(struct pkdns *d, const struct cache_key *key, bool cd, int rcode,
    const uint8_t *msg, size_t len, enum icann_sec sec)
{
	ldns_pkt *pkt = NULL;
	uint8_t *wire = NULL;
	size_t wlen = 0;

	if (rcode != 0 || msg == NULL || dns_msg_rcode(msg, len) == DNS_RCODE_SERVFAIL ||
	    sec == ICANN_BOGUS)
		return;
	if (ldns_wire2pkt(&pkt, msg, len) != LDNS_STATUS_OK) {
		ldns_pkt_free(pkt);
		return;
	}
	/* as send_pkt would have stored it for a client of this question;
	 * the cache sets ID and RD per client */
	apply_rules_to(pkt, true, sec, key->do_bit, cd, true, key->qtype);
	if (ldns_pkt2wire(&wire, pkt, &wlen) == LDNS_STATUS_OK &&
	    ldns_pkt_get_rcode(pkt) != DNS_RCODE_SERVFAIL)
		cache_store(d->w.cache, key, wire, wlen, 0, time_mono_ms());
	free(wire);
	ldns_pkt_free(pkt);
}
