/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * daemon.c -- the context, query routing and the ICANN answer path.
 *
 * A query goes: access control -> rate limit -> answer cache -> by its
 * TLD to the pkarr path (a 52-character z-base32 key) or to libunbound.
 * Every callback here tolerates arriving after the client is gone: a
 * held query is owned by exactly one pending request, which is freed in
 * one place whether the answer comes, fails, or the daemon stops.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <ldns/ldns.h>

#define LOG_MODULE "daemon"
#include "cache/cache.h"
#include "daemon/daemon.h"
#include "daemon/internal.h"
#include "daemon/ops.h"
#include "dns/acl.h"
#include "dns/server.h"
#include "http/front.h"
#include "icann/icann.h"
#include "util/log.h"
#include "util/netaddr.h"
#include "util/ratelimit.h"
#include "util/time.h"

#define ICANN_HASH_BUCKETS 4096
#define CLIENT_HASH_BUCKETS 1024

/* One client's share of the ICANN path (icann-max-per-client). */
struct client_budget {
	uint8_t key[9];               /* family, then IPv4 address or IPv6 /64 */
	unsigned n;                   /* resolutions it started, in flight */
	struct client_budget *next;   /* hash chain */
};

/* A client waiting on an ICANN resolution. */
struct icann_waiter {
	struct pkdns_deadline dl;     /* holds the query */
	struct icann_res *res;
	struct icann_waiter *prev, *next;
};

/* One libunbound query for one question (qname, qtype, qclass, DO, CD),
 * shared by every client asking it meanwhile. Kept, and charged to the
 * client that started it, until libunbound calls back, even after every
 * client had its answer from the deadline: cancelling would free nothing
 * in libunbound (see icann_cancel), so the client's share of
 * PKDNS_ICANN_MAX_INFLIGHT comes back only when libunbound's does. A late
 * answer still fills the cache, and a client asking again joins it. */
struct icann_res {
	struct pkdns *d;
	struct icann_req *req;        /* NULL once answered */
	struct icann_waiter *waiters;
	struct client_budget *owner;  /* the client that started it */
	uint32_t hash;
	uint16_t qtype, qclass;
	bool do_bit, cd;
	uint8_t qname[DNS_MAX_NAME];
	size_t qname_len;
	struct icann_res *hnext;      /* hash chain */
	struct icann_res *prev, *next;
};

static struct timeval
ms_tv(unsigned ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };
	return tv;
}

/* ---- the client deadline ------------------------------------------------ */

static void
deadline_fire(evutil_socket_t fd, short what, void *arg)
{
	struct pkdns_deadline *dl = arg;
	struct pkdns *d = dl->d;
	(void)fd;
	(void)what;

	if (!dl->q)
		return;
	if (!dl->stale_tried) {
		struct timeval tv = ms_tv(PKDNS_DEADLINE_MS - PKDNS_STALE_WAIT_MS);
		dl->stale_tried = true;
		if (!pkdns_answer_stale(d, dl->q)) {
			evtimer_add(dl->timer, &tv);
			return;
		}
		d->deadline_stale++;
	} else {
		d->deadline_servfail++;
		dl->timed_out = true;
		dns_query_error(dl->q, DNS_RCODE_SERVFAIL);
	}
	dl->q = NULL;
	/* the owner lets go of what it waits on, stops us and frees */
	dl->expired(dl->ctx);
}

int
pkdns_deadline_start(struct pkdns_deadline *dl, struct pkdns *d, struct dns_query *q,
    pkdns_deadline_fn expired, void *ctx)
{
	struct timeval tv = ms_tv(PKDNS_STALE_WAIT_MS);

	memset(dl, 0, sizeof(*dl));
	dl->timer = evtimer_new(d->base, deadline_fire, dl);
	if (!dl->timer || evtimer_add(dl->timer, &tv) < 0) {
		if (dl->timer)
			event_free(dl->timer);
		dl->timer = NULL;
		return -1;
	}
	dl->d = d;
	dl->q = q;
	dl->expired = expired;
	dl->ctx = ctx;
	return 0;
}

void
pkdns_deadline_stop(struct pkdns_deadline *dl)
{
	if (dl->timer)
		event_free(dl->timer);
	dl->timer = NULL;
	dl->q = NULL;
}

/* ---- budgets ------------------------------------------------------------ */

static uint32_t
hash_bytes(uint32_t h, const uint8_t *p, size_t n)
{
	/* FNV-1a from a secret seed: the names come from clients */
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static size_t
client_key(const struct sockaddr_storage *ss, uint8_t key[9])
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	memset(key, 0, 9);
	if (ss->ss_family == AF_INET6) {
		const uint8_t *a = ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr;
		if (memcmp(a, mapped, 12) != 0) {
			key[0] = 6;
			memcpy(key + 1, a, 8); /* the /64 */
			return 9;
		}
		key[0] = 4;
		memcpy(key + 1, a + 12, 4);
		return 5;
	}
	key[0] = 4;
	if (ss->ss_family == AF_INET)
		memcpy(key + 1, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	return 5;
}

/* The client's budget, created when create is set (NULL: out of memory). */
static struct client_budget *
client_budget(struct pkdns *d, const struct sockaddr_storage *ss, bool create)
{
	uint8_t key[9];
	size_t n = client_key(ss, key);
	uint32_t h = hash_bytes(d->hash_seed, key, n) % CLIENT_HASH_BUCKETS;
	struct client_budget *b;

	for (b = d->client_hash[h]; b; b = b->next)
		if (memcmp(b->key, key, sizeof(key)) == 0)
			return b;
	if (!create || !(b = calloc(1, sizeof(*b))))
		return NULL;
	memcpy(b->key, key, sizeof(key));
	b->next = d->client_hash[h];
	d->client_hash[h] = b;
	return b;
}

static void
client_release(struct pkdns *d, struct client_budget *b)
{
	uint32_t h;
	struct client_budget **pp;

	if (!b || --b->n > 0)
		return;
	h = hash_bytes(d->hash_seed, b->key, b->key[0] == 6 ? 9 : 5) % CLIENT_HASH_BUCKETS;
	for (pp = &d->client_hash[h]; *pp; pp = &(*pp)->next)
		if (*pp == b) {
			*pp = b->next;
			break;
		}
	free(b);
}

/* The host's own stub resolver and its apps: 127.0.0.1 or ::1 exactly
 * (also as ::ffff:127.0.0.1). The whole machine shares that address, so
 * it has no per-client ICANN budget; the rest of 127/8 does. */
static bool
host_stub(const struct sockaddr_storage *ss)
{
	static const uint8_t v6[16] = { [15] = 1 };
	static const uint8_t mapped[16] = { [10] = 0xff, [11] = 0xff, [12] = 127, [15] = 1 };

	if (ss->ss_family == AF_INET)
		return ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) == 0x7f000001u;
	if (ss->ss_family == AF_INET6) {
		const uint8_t *a = ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr;
		return memcmp(a, v6, 16) == 0 || memcmp(a, mapped, 16) == 0;
	}
	return false;
}

/* Whether the client has used up its share of the ICANN path. */
static bool
client_over_budget(struct pkdns *d, const struct sockaddr_storage *ss)
{
	const struct client_budget *b;
	uint32_t max = d->conf.icann_max_per_client;

	if (max == 0 || host_stub(ss))
		return false;
	b = client_budget(d, ss, false);
	return b && b->n >= max;
}

struct client_budget *
pkdns_icann_charge(struct pkdns *d, const struct sockaddr_storage *client)
{
	struct client_budget *b;

	if (client_over_budget(d, client) || !(b = client_budget(d, client, true)))
		return NULL;
	b->n++;
	return b;
}

void
pkdns_icann_release(struct pkdns *d, struct client_budget *b)
{
	client_release(d, b);
}

/* ---- the ICANN path: resolutions and their waiters ----------------------- */

static uint32_t
question_hash(const struct pkdns *d, const uint8_t *qname, size_t len, uint16_t qtype,
    uint16_t qclass, bool do_bit, bool cd)
{
	uint8_t tail[6] = { (uint8_t)(qtype >> 8), (uint8_t)qtype, (uint8_t)(qclass >> 8),
		(uint8_t)qclass, do_bit, cd };
	return hash_bytes(hash_bytes(d->hash_seed, qname, len), tail, sizeof(tail));
}

static void
waiter_free(struct icann_waiter *w)
{
	struct icann_res *res = w->res;

	if (w->prev)
		w->prev->next = w->next;
	else
		res->waiters = w->next;
	if (w->next)
		w->next->prev = w->prev;
	pkdns_deadline_stop(&w->dl);
	res->d->icann_waiters--;
	free(w);
}

static void
res_free(struct icann_res *res)
{
	struct pkdns *d = res->d;
	struct icann_res **pp = &d->icann_hash[res->hash % ICANN_HASH_BUCKETS];

	for (; *pp; pp = &(*pp)->hnext)
		if (*pp == res) {
			*pp = res->hnext;
			break;
		}
	if (res->prev)
		res->prev->next = res->next;
	else
		d->icann_res = res->next;
	if (res->next)
		res->next->prev = res->prev;
	/* only at shutdown is req still set here: pkdns_free frees the
	 * context right after, dropping the query */
	icann_cancel(d->icann, res->req);
	client_release(d, res->owner);
	free(res);
}

/* A waiter's deadline answered it: the resolution goes on without it. */
static void
waiter_expired(void *ctx)
{
	struct icann_waiter *w = ctx;

	if (w->dl.timed_out)
		w->res->d->stats.icann_failures++;
	waiter_free(w);
}

/* Answer every waiter of res: with msg, or with stale/SERVFAIL when msg
 * is NULL (failure) and stale is set, or with rcode.
 * @return how many waiters were answered without msg and without a
 *         stale answer (failures) */
static unsigned
res_answer(struct icann_res *res, const uint8_t *msg, size_t len, bool stale, int rcode)
{
	unsigned failed = 0;

	while (res->waiters) {
		struct icann_waiter *w = res->waiters;
		struct dns_query *q = w->dl.q;
		w->dl.q = NULL;
		if (msg) {
			dns_query_reply(q, msg, len);
		} else if (!stale || !pkdns_answer_stale(res->d, q)) {
			dns_query_error(q, rcode);
			failed++;
		}
		waiter_free(w);
	}
	return failed;
}

void
pkdns_cache_key(const struct dns_query *q, struct cache_key *key)
{
	key->qname = q->info.qname;
	key->qname_len = q->info.qname_len;
	key->qtype = q->info.qtype;
	key->qclass = q->info.qclass;
	key->do_bit = q->info.do_bit;
}

bool
pkdns_answer_stale(struct pkdns *d, struct dns_query *q)
{
	struct cache_key key;
	size_t cap;
	uint8_t *buf = dns_query_buf(q, &cap);
	bool stale = false;
	long n;

	if (!d->conf.serve_stale)
		return false;
	pkdns_cache_key(q, &key);
	n = cache_lookup(d->cache, &key, q->info.id, q->info.rd, time_mono_ms(), buf, cap, true,
	    PKDNS_STALE_MAX_S, &stale);
	if (n <= 0)
		return false;
	d->stats.stale_answers++;
	dns_query_answer(q, (size_t)n);
	return true;
}

/* DNSSEC records a client that did not set DO must not get (RFC 4035
 * section 3.2.1), unless it asked for that type. */
static void
strip_dnssec(ldns_rr_list *list, uint16_t qtype)
{
	size_t i = 0;

	while (list && i < ldns_rr_list_rr_count(list)) {
		ldns_rr_type t = ldns_rr_get_type(ldns_rr_list_rr(list, i));
		bool dnssec = t == LDNS_RR_TYPE_RRSIG || t == LDNS_RR_TYPE_NSEC ||
		    t == LDNS_RR_TYPE_NSEC3;
		if (dnssec && t != qtype) {
			ldns_rr *rr = ldns_rr_list_rr(list, i);
			ldns_rr_list_set_rr(list, ldns_rr_list_rr(list, ldns_rr_list_rr_count(list) - 1), i);
			ldns_rr_list_set_rr_count(list, ldns_rr_list_rr_count(list) - 1);
			ldns_rr_free(rr);
		} else {
			i++;
		}
	}
}

/* Turn libunbound's packet into our answer: no OPT (the front end adds
 * its own), DNSSEC records only for DO, AD from the validator. */
static int
icann_rewrite(const uint8_t *msg, size_t len, bool do_bit, bool cd, enum icann_sec sec,
    uint8_t **out, size_t *outlen)
{
	ldns_pkt *pkt = NULL;

	if (ldns_wire2pkt(&pkt, msg, len) != LDNS_STATUS_OK)
		return -1;
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
	ldns_pkt_set_ad(pkt, sec == ICANN_SECURE);
	ldns_pkt_set_cd(pkt, cd);
	if (!do_bit) {
		uint16_t qtype = ldns_pkt_question(pkt) && ldns_rr_list_rr_count(ldns_pkt_question(pkt))
		    ? (uint16_t)ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_question(pkt), 0))
		    : 0;
		strip_dnssec(ldns_pkt_answer(pkt), qtype);
		strip_dnssec(ldns_pkt_authority(pkt), qtype);
		strip_dnssec(ldns_pkt_additional(pkt), qtype);
		ldns_pkt_set_ancount(pkt, (uint16_t)ldns_rr_list_rr_count(ldns_pkt_answer(pkt)));
		ldns_pkt_set_nscount(pkt, (uint16_t)ldns_rr_list_rr_count(ldns_pkt_authority(pkt)));
		ldns_pkt_set_arcount(pkt, (uint16_t)ldns_rr_list_rr_count(ldns_pkt_additional(pkt)));
	}
	ldns_status st = ldns_pkt2wire(out, pkt, outlen);
	ldns_pkt_free(pkt);
	return st == LDNS_STATUS_OK ? 0 : -1;
}

static void
icann_done(void *arg, int rcode, const uint8_t *msg, size_t len, enum icann_sec sec,
    const char *why_bogus)
{
	struct icann_res *res = arg;
	struct pkdns *d = res->d;
	uint8_t *wire = NULL;
	size_t wlen = 0;
	struct cache_key key = { res->qname, res->qname_len, res->qtype, res->qclass, res->do_bit };

	res->req = NULL; /* libunbound is done with it */
	/* a SERVFAIL packet (e.g. every upstream marked down) is a failure
	 * too: the stale answer is better */
	if (rcode != 0 || !msg || dns_msg_rcode(msg, len) == DNS_RCODE_SERVFAIL) {
		d->stats.icann_failures += res_answer(res, NULL, 0, true, DNS_RCODE_SERVFAIL);
		goto out;
	}
	if (sec == ICANN_BOGUS) {
		char name[LDNS_MAX_DOMAINLEN + 2];
		d->stats.bogus++;
		if (dns_name_to_str(key.qname, key.qname_len, name, sizeof(name)) < 0)
			strcpy(name, "?");
		log_info("bogus answer for %s type %u: %s", name, key.qtype,
		    why_bogus ? why_bogus : "no reason given");
		if (!res->cd) {
			res_answer(res, NULL, 0, false, DNS_RCODE_SERVFAIL);
			goto out;
		}
	}
	if (icann_rewrite(msg, len, key.do_bit, res->cd, sec, &wire, &wlen) < 0) {
		log_warn("unparseable answer from libunbound");
		d->stats.icann_failures += res_answer(res, NULL, 0, false, DNS_RCODE_SERVFAIL);
		goto out;
	}
	if (sec != ICANN_BOGUS)
		cache_store(d->cache, &key, wire, wlen, 0, time_mono_ms());
	res_answer(res, wire, wlen, false, 0);
	free(wire);
out:
	res_free(res);
}

/* Over a budget: the stale answer, else SERVFAIL, now. */
static void
icann_refuse(struct pkdns *d, struct dns_query *q)
{
	d->icann_capped++;
	if (!pkdns_answer_stale(d, q)) {
		d->stats.icann_failures++;
		dns_query_error(q, DNS_RCODE_SERVFAIL);
	}
}

/* Hold q and wait on res. @return 0, or -1 (q answered, nothing kept) */
static int
waiter_add(struct pkdns *d, struct icann_res *res, struct dns_query *q)
{
	struct icann_waiter *w = calloc(1, sizeof(*w));
	struct dns_query *held;

	if (!w) {
		dns_query_error(q, DNS_RCODE_SERVFAIL);
		return -1;
	}
	held = dns_query_hold(q);
	if (!held) {
		free(w);
		return -1;
	}
	if (pkdns_deadline_start(&w->dl, d, held, waiter_expired, w) < 0) {
		free(w);
		dns_query_error(held, DNS_RCODE_SERVFAIL);
		return -1;
	}
	w->res = res;
	w->next = res->waiters;
	if (res->waiters)
		res->waiters->prev = w;
	res->waiters = w;
	d->icann_waiters++;
	return 0;
}

void
pkdns_resolve_icann(struct pkdns *d, struct dns_query *q, const char *name, uint16_t qtype)
{
	const struct dns_msginfo *mi = &q->info;
	uint32_t h = question_hash(d, mi->qname, mi->qname_len, qtype, mi->qclass, mi->do_bit,
	    mi->cd);
	struct icann_res *res;
	struct client_budget *owner;

	d->stats.icann_queries++;
	if (d->icann_waiters >= PKDNS_ICANN_MAX_WAITERS) {
		icann_refuse(d, q);
		return;
	}
	/* the same question in flight: wait for its answer */
	for (res = d->icann_hash[h % ICANN_HASH_BUCKETS]; res; res = res->hnext)
		if (res->hash == h && res->qtype == qtype && res->qclass == mi->qclass &&
		    res->do_bit == mi->do_bit && res->cd == mi->cd &&
		    res->qname_len == mi->qname_len &&
		    memcmp(res->qname, mi->qname, mi->qname_len) == 0) {
			d->icann_joined++;
			waiter_add(d, res, q);
			return;
		}
	if (icann_full(d->icann) || client_over_budget(d, &q->client)) {
		icann_refuse(d, q);
		return;
	}
	owner = client_budget(d, &q->client, true);
	res = owner ? calloc(1, sizeof(*res)) : NULL;
	if (!res) {
		if (owner) {
			owner->n++;
			client_release(d, owner);
		}
		dns_query_error(q, DNS_RCODE_SERVFAIL);
		return;
	}
	owner->n++;
	res->d = d;
	res->owner = owner;
	res->hash = h;
	res->qtype = qtype;
	res->qclass = mi->qclass;
	res->do_bit = mi->do_bit;
	res->cd = mi->cd;
	memcpy(res->qname, mi->qname, mi->qname_len);
	res->qname_len = mi->qname_len;
	res->hnext = d->icann_hash[h % ICANN_HASH_BUCKETS];
	d->icann_hash[h % ICANN_HASH_BUCKETS] = res;
	res->next = d->icann_res;
	if (d->icann_res)
		d->icann_res->prev = res;
	d->icann_res = res;
	if (waiter_add(d, res, q) < 0) {
		res_free(res);
		return;
	}
	/* icann_done may run (and free res) inside icann_resolve */
	struct icann_req *r = icann_resolve(d->icann, name, qtype, mi->qclass, icann_done, res);
	if (!r) {
		d->stats.icann_failures += res_answer(res, NULL, 0, false, DNS_RCODE_SERVFAIL);
		res_free(res);
	} else if (r != ICANN_DONE) {
		res->req = r;
	}
}

/* Access control runs before the query is even parsed (dns_admit_fn). */
static int
admit_client(void *ctx, const struct sockaddr *client)
{
	struct pkdns *d = ctx;

	switch (acl_check(d->conf.acl, d->conf.n_acl, client)) {
	case ACL_ALLOW:
		return DNS_ADMIT_ALLOW;
	case ACL_DENY:
		return DNS_ADMIT_DROP;
	default:
		d->stats.refused++;
		return DNS_ADMIT_REFUSE;
	}
}

static void
handle_query(void *ctx, struct dns_query *q)
{
	struct pkdns *d = ctx;
	const struct sockaddr *client = (const struct sockaddr *)&q->client;
	uint64_t now = time_mono_ms();
	struct cache_key key;
	size_t cap;
	uint8_t *buf;
	long n;

	d->stats.queries++;
	if (!ratelimit_allow(d->rl_query, client, now)) {
		d->stats.ratelimited++;
		dns_query_error(q, DNS_RCODE_REFUSED);
		return;
	}
	if (q->info.qclass != LDNS_RR_CLASS_IN) {
		dns_query_error(q, DNS_RCODE_REFUSED);
		return;
	}
	if (q->info.qtype == DNS_TYPE_ANY && d->conf.disable_any) {
		dns_query_error(q, DNS_RCODE_NOTIMP);
		return;
	}
	switch (q->info.qtype) {
	case LDNS_RR_TYPE_AXFR:
	case LDNS_RR_TYPE_IXFR:
	case LDNS_RR_TYPE_MAILA:
	case LDNS_RR_TYPE_MAILB:
	case DNS_TYPE_OPT:
		dns_query_error(q, DNS_RCODE_NOTIMP);
		return;
	default:
		break;
	}

	pkdns_cache_key(q, &key);
	buf = dns_query_buf(q, &cap);
	n = cache_lookup(d->cache, &key, q->info.id, q->info.rd, now, buf, cap, false, 0, NULL);
	if (n > 0) {
		d->stats.cache_hits++;
		dns_query_answer(q, (size_t)n);
		return;
	}
	if (pkdns_route_pkarr(d, q))
		return;

	char name[LDNS_MAX_DOMAINLEN + 2];
	if (dns_name_to_str(q->info.qname, q->info.qname_len, name, sizeof(name)) < 0) {
		dns_query_error(q, DNS_RCODE_FORMERR);
		return;
	}
	pkdns_resolve_icann(d, q, name, q->info.qtype);
}

/* ---- signals, stats, life cycle -------------------------------------- */

void
pkdns_log_stats(struct pkdns *d)
{
	struct cache_stats cs;
	struct dns_server_stats ss;
	const struct pkdns_stats *s = &d->stats;

	size_t packets, nodes, nodes6;

	pkdns_pkarr_stats(d, &packets, &nodes, &nodes6);
	cache_get_stats(d->cache, &cs);
	dns_server_get_stats(d->dns, &ss);
	log_msg(LOG_LVL_WARN < d->conf.verbose ? LOG_LVL_INFO : LOG_LVL_WARN, "stats",
	    "queries %llu (udp %llu, tcp %llu), cache hits %llu, stale %llu, refused %llu, "
	    "ratelimited %llu, malformed %llu, truncated %llu; icann %llu (failed %llu, bogus %llu, "
	    "joined %llu, over budget %llu, in flight %zu, waiting %zu); "
	    "deadline stale %llu servfail %llu; "
	    "pkarr %llu, dht look-ups %llu (answered %llu, mean %llu ms to first packet), "
	    "%zu DHT nodes (IPv6 %zu), %zu packets; cache %llu entries %llu bytes",
	    (unsigned long long)s->queries, (unsigned long long)ss.udp_queries,
	    (unsigned long long)ss.tcp_queries, (unsigned long long)s->cache_hits,
	    (unsigned long long)s->stale_answers, (unsigned long long)s->refused,
	    (unsigned long long)s->ratelimited, (unsigned long long)ss.formerr,
	    (unsigned long long)ss.truncated, (unsigned long long)s->icann_queries,
	    (unsigned long long)s->icann_failures, (unsigned long long)s->bogus,
	    (unsigned long long)d->icann_joined, (unsigned long long)d->icann_capped,
	    icann_inflight(d->icann), d->icann_waiters,
	    (unsigned long long)d->deadline_stale, (unsigned long long)d->deadline_servfail,
	    (unsigned long long)s->pkarr_queries, (unsigned long long)s->dht_lookups,
	    (unsigned long long)s->dht_lookups_done,
	    (unsigned long long)(s->dht_lookups_done ? s->dht_lookup_ms_total / s->dht_lookups_done : 0),
	    nodes, nodes6, packets,
	    (unsigned long long)cs.entries, (unsigned long long)cs.bytes);
}

static void
on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct pkdns *d = arg;
	(void)what;

	log_info("signal %d: stopping", (int)sig);
	pkdns_ops_stopping(d); /* issue 14: STOPPING=1 */
	dns_server_close_listeners(d->dns);
	http_front_close_listeners(d->front);
	event_base_loopexit(d->base, NULL);
}

static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	/* issue 14: the control channel's reload takes the same path */
	(void)pkdns_ops_reload(arg, NULL, 0);
}

int
pkdns_reload(struct pkdns *d)
{
	struct conf fresh;

	log_reopen();
	pkdns_pkarr_reopen_cache(d);
	/* Reload what can change without new sockets: verbosity, access
	 * control, limits, TTL clamps. Addresses need a restart. */
	if (conf_load(&fresh, d->argc, d->argv) != CONF_OK) {
		log_err("SIGHUP: configuration has errors, keeping the old one");
		conf_free(&fresh);
		return -1;
	}
	log_setup("pkdns", fresh.verbose, d->conf.foreground);
	http_front_reload(d->front, &fresh);
	memcpy(d->conf.acl, fresh.acl, sizeof(fresh.acl));
	d->conf.n_acl = fresh.n_acl;
	d->conf.ratelimit = fresh.ratelimit;
	d->conf.ratelimit_burst = fresh.ratelimit_burst;
	d->conf.min_ttl = fresh.min_ttl;
	d->conf.max_ttl = fresh.max_ttl;
	d->conf.disable_any = fresh.disable_any;
	d->conf.icann_max_per_client = fresh.icann_max_per_client;
	d->conf.serve_stale = fresh.serve_stale;
	d->conf.verbose = fresh.verbose;
	ratelimit_set(d->rl_query, fresh.ratelimit, fresh.ratelimit_burst);
	cache_set_stale(d->cache, fresh.serve_stale ? PKDNS_STALE_MAX_S : 0, 30);
	conf_free(&fresh);
	log_info("SIGHUP: configuration reloaded");
	return 0;
}

static void
on_usr1(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	pkdns_log_stats(arg);
}

static void
on_stats_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	pkdns_log_stats(arg);
}

static int
add_signal(struct pkdns *d, int sig, event_callback_fn fn, struct event **ev)
{
	*ev = evsignal_new(d->base, sig, fn, d);
	return (*ev && event_add(*ev, NULL) == 0) ? 0 : -1;
}

struct pkdns *
pkdns_new(struct conf *cfg, int argc, char **argv)
{
	struct pkdns *d = calloc(1, sizeof(*d));
	struct dns_server_config scfg = { 0 };
	struct icann_config icfg = { 0 };
	struct sockaddr_storage fwd[CONF_MAX_LIST];

	if (!d) {
		conf_free(cfg);
		return NULL;
	}
	d->conf = *cfg;
	memset(cfg, 0, sizeof(*cfg));
	d->argc = argc;
	d->argv = argv;
	signal(SIGPIPE, SIG_IGN);
	d->base = event_base_new();
	if (!d->base)
		goto fail;
	/* issue 14: the user looked up, the pidfile locked (a second
	 * instance stops here), the service manager's socket */
	if (pkdns_ops_early(d) < 0)
		goto fail;
	d->cache = cache_new((size_t)d->conf.cache_size);
	if (!d->cache) {
		log_err("cannot create the answer cache (cache-size %llu): %s",
		    (unsigned long long)d->conf.cache_size, strerror(errno ? errno : ENOMEM));
		goto fail;
	}
	d->rl_query = ratelimit_new(d->conf.ratelimit, d->conf.ratelimit_burst, 65536);
	if (!d->rl_query)
		goto fail;
	cache_set_stale(d->cache, d->conf.serve_stale ? PKDNS_STALE_MAX_S : 0, 30);

	for (size_t i = 0; i < d->conf.n_forward; i++)
		fwd[i] = d->conf.forward[i].ss;
	icfg.forward = fwd;
	icfg.n_forward = d->conf.n_forward;
	icfg.dnssec = d->conf.dnssec;
	icfg.trust_anchor_file = d->conf.trust_anchor_file;
	icfg.max_inflight = PKDNS_ICANN_MAX_INFLIGHT;
	d->icann = icann_new(d->base, &icfg);
	d->icann_hash = calloc(ICANN_HASH_BUCKETS, sizeof(*d->icann_hash));
	d->client_hash = calloc(CLIENT_HASH_BUCKETS, sizeof(*d->client_hash));
	if (!d->icann || !d->icann_hash || !d->client_hash)
		goto fail;
	evutil_secure_rng_get_bytes(&d->hash_seed, sizeof(d->hash_seed));
	d->hash_seed |= 1;

	scfg.edns_buffer_size = (uint16_t)d->conf.edns_buffer_size;
	scfg.tcp_idle_timeout_s = d->conf.tcp_idle_timeout;
	scfg.tcp_max_connections = d->conf.tcp_max_connections;
	scfg.tcp_max_per_client = d->conf.tcp_max_per_client;
	scfg.tcp_max_pipelined = 64;
	scfg.admit = admit_client;
	d->dns = dns_server_new(d->base, &scfg, handle_query, d);
	if (!d->dns)
		goto fail;
	size_t listening = 0;
	for (size_t i = 0; i < d->conf.n_listen; i++) {
		if (dns_server_listen(d->dns, (struct sockaddr *)&d->conf.listen[i].ss,
			d->conf.listen[i].len) == 0) {
			listening++;
			continue;
		}
		/* a host without IPv6 still gets the default IPv4 listener */
		if (d->conf.listen_default && (errno == EADDRNOTAVAIL || errno == EAFNOSUPPORT))
			continue;
		goto fail;
	}
	if (listening == 0) {
		log_err("no DNS listener could be opened");
		goto fail;
	}
	/* DoT, DoH and the HTTP routes; modules mount routes on d->http */
	d->front = http_front_new(d->base, &d->conf, d->dns);
	if (!d->front || http_front_listen(d->front, &d->conf) < 0)
		goto fail;
	d->http = http_front_server(d->front);

	if (pkdns_pkarr_init(d) < 0)
		goto fail;

	if (add_signal(d, SIGTERM, on_stop, &d->ev_term) < 0 ||
	    add_signal(d, SIGINT, on_stop, &d->ev_int) < 0 ||
	    add_signal(d, SIGHUP, on_hup, &d->ev_hup) < 0 ||
	    add_signal(d, SIGUSR1, on_usr1, &d->ev_usr1) < 0)
		goto fail;
	if (d->conf.stats_interval) {
		struct timeval tv = { (time_t)d->conf.stats_interval, 0 };
		d->ev_stats = event_new(d->base, -1, EV_PERSIST, on_stats_timer, d);
		if (!d->ev_stats || event_add(d->ev_stats, &tv) < 0)
			goto fail;
	}
	/* issue 14: control socket and /metrics, before the privilege drop */
	if (pkdns_ops_open(d) < 0)
		goto fail;
	if (!d->conf.foreground) {
		if (daemon(0, 0) < 0) {
			log_err("daemon: %s", strerror(errno));
			goto fail;
		}
		log_setup("pkdns", d->conf.verbose, false);
		/* the event base must notice the fork */
		event_reinit(d->base);
	}
	/* issue 14: pidfile written, privileges dropped, READY=1 */
	if (pkdns_ops_started(d) < 0)
		goto fail;
	return d;
fail:
	pkdns_free(d);
	return NULL;
}

int
pkdns_run(struct pkdns *d)
{
	log_info("pkdns %s ready", PACKAGE_VERSION);
	if (event_base_dispatch(d->base) < 0) {
		log_err("event loop failed");
		return 1;
	}
	log_info("stopped");
	return 0;
}

void
pkdns_free(struct pkdns *d)
{
	if (!d)
		return;
	/* HTTP first: its requests cancel their held DNS queries */
	http_front_free(d->front);
	pkdns_ops_free(d); /* issue 14: after HTTP, whose routes it mounted */
	/* everything in flight is dropped: each held query freed once */
	pkdns_pkarr_free(d);
	while (d->icann_res) {
		struct icann_res *res = d->icann_res;
		while (res->waiters) {
			struct dns_query *q = res->waiters->dl.q;
			res->waiters->dl.q = NULL;
			dns_query_drop(q);
			waiter_free(res->waiters);
		}
		res_free(res);
	}
	icann_free(d->icann);
	free(d->icann_hash);
	free(d->client_hash);
	dns_server_free(d->dns);
	cache_free(d->cache);
	ratelimit_free(d->rl_query);
	if (d->ev_term)
		event_free(d->ev_term);
	if (d->ev_int)
		event_free(d->ev_int);
	if (d->ev_hup)
		event_free(d->ev_hup);
	if (d->ev_usr1)
		event_free(d->ev_usr1);
	if (d->ev_stats)
		event_free(d->ev_stats);
	if (d->base)
		event_base_free(d->base);
	conf_free(&d->conf);
	free(d);
}
