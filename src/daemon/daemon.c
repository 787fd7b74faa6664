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
#include <sys/queue.h>
#include <unistd.h>

#include <event2/event.h>
#include <ldns/ldns.h>

#define LOG_MODULE "daemon"
#include "cache/cache.h"
#include "daemon/daemon.h"
#include "daemon/internal.h"
#include "daemon/relay_api.h"
#include "daemon/relay_http.h"
#include "daemon/ops.h"
#include "dns/acl.h"
#include "dns/server.h"
#include "http/front.h"
#include "icann/icann.h"
#include "pkarr/resolver.h"
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
	struct pkdns_req req;         /* holds the query */
	struct icann_res *res;
	LIST_ENTRY(icann_waiter) link;
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
	LIST_HEAD(, icann_waiter) waiters;
	struct client_budget *owner;  /* the client that started it */
	uint32_t hash;
	uint16_t qtype, qclass;
	bool do_bit, cd;
	uint8_t qname[DNS_MAX_NAME];
	size_t qname_len;
	struct icann_res *hnext;      /* hash chain */
	LIST_ENTRY(icann_res) link;   /* every resolution */
};

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
	uint32_t h = hash_bytes(d->w.hash_seed, key, n) % CLIENT_HASH_BUCKETS;
	struct client_budget *b;

	for (b = d->w.client_hash[h]; b; b = b->next)
		if (memcmp(b->key, key, sizeof(key)) == 0)
			return b;
	if (!create || !(b = calloc(1, sizeof(*b))))
		return NULL;
	memcpy(b->key, key, sizeof(key));
	b->next = d->w.client_hash[h];
	d->w.client_hash[h] = b;
	return b;
}

static void
client_release(struct pkdns *d, struct client_budget *b)
{
	uint32_t h;
	struct client_budget **pp;

	if (!b || --b->n > 0)
		return;
	h = hash_bytes(d->w.hash_seed, b->key, b->key[0] == 6 ? 9 : 5) % CLIENT_HASH_BUCKETS;
	for (pp = &d->w.client_hash[h]; *pp; pp = &(*pp)->next)
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
	return hash_bytes(hash_bytes(d->w.hash_seed, qname, len), tail, sizeof(tail));
}

/* Take w off its resolution's list (it is still allocated). */
static void
waiter_unlink(struct icann_waiter *w)
{
	LIST_REMOVE(w, link);
	w->res->d->w.icann_waiters--;
}

static void
waiter_free(struct icann_waiter *w)
{
	waiter_unlink(w);
	pkdns_req_clear(&w->req);
	free(w);
}

static void
res_free(struct icann_res *res)
{
	struct pkdns *d = res->d;
	struct icann_res **pp = &d->w.icann_hash[res->hash % ICANN_HASH_BUCKETS];

	for (; *pp; pp = &(*pp)->hnext)
		if (*pp == res) {
			*pp = res->hnext;
			break;
		}
	LIST_REMOVE(res, link);
	/* only at shutdown is req still set here: pkdns_free frees the
	 * context right after, dropping the query */
	icann_cancel(d->w.icann, res->req);
	client_release(d, res->owner);
	free(res);
}

/* A waiter's deadline answered it: the resolution goes on without it. */
static void
waiter_expired(void *ctx)
{
	waiter_free(ctx);
}

/* Hand libunbound's answer to every waiter of res, each through the one
 * ICANN consumer (pkdns_req_icann_answer). */
static void
res_answer(struct icann_res *res, int rcode, const uint8_t *msg, size_t len,
    enum icann_sec sec, const char *why_bogus)
{
	bool first = true;

	if (LIST_EMPTY(&res->waiters)) {
		struct cache_key key = { res->qname, res->qname_len, res->qtype, res->qclass,
			res->do_bit };
		pkdns_icann_store_late(res->d, &key, res->cd, rcode, msg, len, sec);
		return;
	}
	while (!LIST_EMPTY(&res->waiters)) {
		struct icann_waiter *w = LIST_FIRST(&res->waiters);
		/* unlinked first: the list stays whole whatever the reply does */
		waiter_unlink(w);
		pkdns_req_icann_answer(&w->req, rcode, msg, len, sec, why_bogus, first);
		pkdns_req_clear(&w->req);
		free(w);
		first = false;
	}
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

static void
icann_done(void *arg, int rcode, const uint8_t *msg, size_t len, enum icann_sec sec,
    const char *why_bogus)
{
	struct icann_res *res = arg;

	res->req = NULL; /* libunbound is done with it */
	res_answer(res, rcode, msg, len, sec, why_bogus);
	res_free(res);
}

/* Over a budget: the stale answer, else SERVFAIL, now. */
static void
icann_refuse(struct pkdns *d, struct dns_query *q)
{
	struct pkdns_req r;

	d->w.icann_capped++;
	pkdns_req_init(&r, d, q, PKDNS_PATH_ICANN);
	pkdns_req_fail(&r, DNS_RCODE_SERVFAIL, PKDNS_FAIL_BUDGET, true);
}

/* Hold q and wait on res. @return 0, or -1 (q answered, nothing kept) */
static int
waiter_add(struct pkdns *d, struct icann_res *res, struct dns_query *q)
{
	struct icann_waiter *w = calloc(1, sizeof(*w));

	if (w == NULL) {
		struct pkdns_req r;
		pkdns_req_init(&r, d, q, PKDNS_PATH_ICANN);
		pkdns_req_fail(&r, DNS_RCODE_SERVFAIL, PKDNS_FAIL_INTERNAL, false);
		return -1;
	}
	pkdns_req_init(&w->req, d, q, PKDNS_PATH_ICANN);
	if (pkdns_req_hold(&w->req, waiter_expired, w) < 0) {
		free(w);
		return -1;
	}
	w->res = res;
	LIST_INSERT_HEAD(&res->waiters, w, link);
	d->w.icann_waiters++;
	return 0;
}

/* Send q (name in text form) through libunbound; answers it later. */
static void
pkdns_resolve_icann(struct pkdns *d, struct dns_query *q, const char *name, uint16_t qtype)
{
	const struct dns_msginfo *mi = &q->info;
	uint32_t h = question_hash(d, mi->qname, mi->qname_len, qtype, mi->qclass, mi->do_bit,
	    mi->cd);
	struct icann_res *res;
	struct client_budget *owner;

	d->w.stats.icann_queries++;
	if (d->w.icann_waiters >= PKDNS_ICANN_MAX_WAITERS) {
		icann_refuse(d, q);
		return;
	}
	/* the same question in flight: wait for its answer */
	for (res = d->w.icann_hash[h % ICANN_HASH_BUCKETS]; res; res = res->hnext)
		if (res->hash == h && res->qtype == qtype && res->qclass == mi->qclass &&
		    res->do_bit == mi->do_bit && res->cd == mi->cd &&
		    res->qname_len == mi->qname_len &&
		    memcmp(res->qname, mi->qname, mi->qname_len) == 0) {
			d->w.icann_joined++;
			waiter_add(d, res, q);
			return;
		}
	if (icann_full(d->w.icann) || client_over_budget(d, &q->client)) {
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
		struct pkdns_req r;
		pkdns_req_init(&r, d, q, PKDNS_PATH_ICANN);
		pkdns_req_fail(&r, DNS_RCODE_SERVFAIL, PKDNS_FAIL_INTERNAL, false);
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
	res->hnext = d->w.icann_hash[h % ICANN_HASH_BUCKETS];
	d->w.icann_hash[h % ICANN_HASH_BUCKETS] = res;
	LIST_INIT(&res->waiters);
	LIST_INSERT_HEAD(&d->w.icann_res, res, link);
	if (waiter_add(d, res, q) < 0) {
		res_free(res);
		return;
	}
	/* icann_done runs from the loop, never inside icann_resolve */
	res->req = icann_resolve(d->w.icann, name, qtype, mi->qclass, icann_done, res);
	if (res->req == NULL) {
		res_answer(res, DNS_RCODE_SERVFAIL, NULL, 0, ICANN_INSECURE, NULL);
		res_free(res);
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
		d->w.stats.refused++;
		return DNS_ADMIT_REFUSE;
	}
}

/* Answer q at once through the one exit (pkdns_req_finish). */
static void
reply_now(struct pkdns *d, struct dns_query *q, enum pkdns_path path, int rcode,
    enum pkdns_fail why)
{
	struct pkdns_req r;

	pkdns_req_init(&r, d, q, path);
	pkdns_req_fail(&r, rcode, why, false);
}

static void
handle_query(void *ctx, struct dns_query *q)
{
	struct pkdns *d = ctx;
	const struct sockaddr *client = (const struct sockaddr *)&q->client;
	uint64_t now = time_mono_ms();
	struct cache_key key;
	struct cache_ede ede;
	size_t cap;
	uint8_t *buf;
	long n;

	d->w.stats.queries++;
	if (!ratelimit_allow(d->w.rl_query, client, now)) {
		d->w.stats.ratelimited++;
		reply_now(d, q, PKDNS_PATH_NONE, DNS_RCODE_REFUSED, PKDNS_FAIL_RATELIMIT);
		return;
	}
	if (q->info.qclass != LDNS_RR_CLASS_IN) {
		reply_now(d, q, PKDNS_PATH_NONE, DNS_RCODE_REFUSED, PKDNS_FAIL_POLICY);
		return;
	}
	if (q->info.qtype == DNS_TYPE_ANY && d->conf.disable_any) {
		reply_now(d, q, PKDNS_PATH_NONE, DNS_RCODE_NOTIMP, PKDNS_FAIL_POLICY);
		return;
	}
	switch (q->info.qtype) {
	case LDNS_RR_TYPE_AXFR:
	case LDNS_RR_TYPE_IXFR:
	case LDNS_RR_TYPE_MAILA:
	case LDNS_RR_TYPE_MAILB:
	case DNS_TYPE_OPT:
		reply_now(d, q, PKDNS_PATH_NONE, DNS_RCODE_NOTIMP, PKDNS_FAIL_POLICY);
		return;
	default:
		break;
	}

	pkdns_cache_key(q, &key);
	buf = dns_query_buf(q, &cap);
	n = cache_lookup_ede(d->w.cache, &key, q->info.id, q->info.rd, now, buf, cap, false, 0,
	    NULL, &ede);
	if (n > 0) {
		struct pkdns_req r;
		struct pkdns_result res = { .kind = PKDNS_RES_BUF, .len = (size_t)n };
		d->w.stats.cache_hits++;
		/* the first answer's EDE again (EDNS clients only: the front
		 * end's rule). Its text lives in the cache entry, which nothing
		 * touches before the reply has left: pkdns_req_finish() sends
		 * and logs it synchronously. */
		if (ede.set)
			dns_query_set_ede(q, ede.code, ede.text);
		pkdns_req_init(&r, d, q, PKDNS_PATH_CACHE);
		pkdns_req_finish(&r, &res);
		return;
	}
	if (pkdns_route_pkarr(d, q))
		return;

	char name[LDNS_MAX_DOMAINLEN + 2];
	if (dns_name_to_str(q->info.qname, q->info.qname_len, name, sizeof(name)) < 0) {
		reply_now(d, q, PKDNS_PATH_NONE, DNS_RCODE_FORMERR, PKDNS_FAIL_POLICY);
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
	const struct pkdns_stats *s = &d->w.stats;

	size_t packets, nodes, nodes6;

	pkdns_resolver_stats(d, &packets, &nodes, &nodes6);
	cache_get_stats(d->w.cache, &cs);
	dns_server_get_stats(d->w.dns, &ss);
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
	    (unsigned long long)d->w.icann_joined, (unsigned long long)d->w.icann_capped,
	    icann_inflight(d->w.icann), d->w.icann_waiters,
	    (unsigned long long)d->w.deadline_stale, (unsigned long long)d->w.deadline_servfail,
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
	dns_server_close_listeners(d->w.dns);
	http_front_close_listeners(d->w.front);
	event_base_loopexit(d->w.base, NULL);
}

/* Settings read once at start: name the ones a reload would change.
 * @return how many differ (each logged) */
static int
restart_only_changes(const struct conf *old, const struct conf *fresh)
{
	char changed[256] = "";
	int n = 0;

#define NOTE(key, differs)                                                        \
	do {                                                                       \
		if (differs) {                                                     \
			n++;                                                       \
			if (strlen(changed) + sizeof(key) + 2 < sizeof(changed))   \
				strcat(strcat(changed, *changed ? ", " : ""), key); \
		}                                                                  \
	} while (0)
#define STR_DIFF(a, b) (((a) == NULL) != ((b) == NULL) || ((a) != NULL && strcmp((a), (b)) != 0))
	NOTE("listen", old->n_listen != fresh->n_listen ||
	    memcmp(old->listen, fresh->listen, old->n_listen * sizeof(old->listen[0])) != 0);
	NOTE("forward", old->n_forward != fresh->n_forward ||
	    memcmp(old->forward, fresh->forward, old->n_forward * sizeof(old->forward[0])) != 0);
	NOTE("dnssec", old->dnssec != fresh->dnssec);
	NOTE("trust-anchor-file", STR_DIFF(old->trust_anchor_file, fresh->trust_anchor_file));
	NOTE("cache-size", old->cache_size != fresh->cache_size);
	NOTE("packet-cache-size", old->packet_cache_size != fresh->packet_cache_size);
	NOTE("cache-dir", STR_DIFF(old->cache_dir, fresh->cache_dir));
	NOTE("dht-mode", old->dht_mode != fresh->dht_mode);
	NOTE("dht-port", old->dht_port != fresh->dht_port);
	NOTE("tld", STR_DIFF(old->tld, fresh->tld));
	NOTE("edns-buffer-size", old->edns_buffer_size != fresh->edns_buffer_size);
#define LIST_DIFF(k) (old->n_##k != fresh->n_##k || \
	memcmp(old->k, fresh->k, old->n_##k * sizeof(old->k[0])) != 0)
	NOTE("tls-listen", LIST_DIFF(tls_listen));
	NOTE("https-listen", LIST_DIFF(https_listen));
	NOTE("http-listen", LIST_DIFF(http_listen));
	NOTE("doh-path", STR_DIFF(old->doh_path, fresh->doh_path));
#undef LIST_DIFF
#undef STR_DIFF
#undef NOTE
	if (n > 0)
		log_warn("reload: %s changed: kept until a restart", changed);
	return n;
}

void
pkdns_apply_conf(struct pkdns *d, const struct conf *fresh)
{
	struct conf *c = &d->conf;

	if (fresh != c) {
		log_setup("pkdns", fresh->verbose, c->foreground);
		restart_only_changes(c, fresh);
		http_front_reload(d->w.front, fresh); /* tls-cert, tls-key */
		memcpy(c->acl, fresh->acl, sizeof(fresh->acl));
		c->n_acl = fresh->n_acl;
		c->ratelimit = fresh->ratelimit;
		c->ratelimit_burst = fresh->ratelimit_burst;
		c->dht_ratelimit = fresh->dht_ratelimit;
		c->dht_ratelimit_burst = fresh->dht_ratelimit_burst;
		c->min_ttl = fresh->min_ttl;
		c->max_ttl = fresh->max_ttl;
		c->disable_any = fresh->disable_any;
		c->icann_max_per_client = fresh->icann_max_per_client;
		c->serve_stale = fresh->serve_stale;
		c->verbose = fresh->verbose;
		c->log_queries = fresh->log_queries;
		c->log_servfail = fresh->log_servfail;
		c->private_address_loopback_exempt = fresh->private_address_loopback_exempt;
		/* the policy's lists are copied into d->w.rebind (pkdns_new built
		 * the first one, where an error stops the start) */
		if (pkdns_reply_configure(d, fresh) < 0)
			log_err("reload: rebinding policy has errors, keeping the old one");
	}
	ratelimit_set(d->w.rl_query, c->ratelimit, c->ratelimit_burst);
	cache_set_stale(d->w.cache, c->serve_stale ? PKDNS_STALE_MAX_S : 0, CACHE_STALE_TTL_DEFAULT);
	pkdns_resolver_reconfigure(d, c);
	pkdns_pkarr_reconfigure(d, c);
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
	pkarr_resolver_reopen_cache(d->resolver);
	/* a configuration with errors changes nothing: the old one serves on */
	if (conf_load(&fresh, d->argc, d->argv) != CONF_OK) {
		log_err("SIGHUP: configuration has errors, keeping the old one");
		conf_free(&fresh);
		return -1;
	}
	pkdns_apply_conf(d, &fresh);
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
	*ev = evsignal_new(d->w.base, sig, fn, d);
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
	d->w.base = event_base_new();
	if (!d->w.base)
		goto fail;
	/* issue 14: the user looked up, the pidfile locked (a second
	 * instance stops here), the service manager's socket */
	if (pkdns_ops_early(d) < 0)
		goto fail;
	d->w.cache = cache_new((size_t)d->conf.cache_size);
	if (!d->w.cache) {
		log_err("cannot create the answer cache (cache-size %llu): %s",
		    (unsigned long long)d->conf.cache_size, strerror(errno ? errno : ENOMEM));
		goto fail;
	}
	d->w.rl_query = ratelimit_new(d->conf.ratelimit, d->conf.ratelimit_burst,
	    PKDNS_RATELIMIT_SLOTS);
	if (!d->w.rl_query)
		goto fail;

	for (size_t i = 0; i < d->conf.n_forward; i++)
		fwd[i] = d->conf.forward[i].ss;
	icfg.forward = fwd;
	icfg.n_forward = d->conf.n_forward;
	icfg.dnssec = d->conf.dnssec;
	icfg.trust_anchor_file = d->conf.trust_anchor_file;
	icfg.max_inflight = PKDNS_ICANN_MAX_INFLIGHT;
	d->w.icann = icann_new(d->w.base, &icfg);
	d->w.icann_hash = calloc(ICANN_HASH_BUCKETS, sizeof(*d->w.icann_hash));
	d->w.client_hash = calloc(CLIENT_HASH_BUCKETS, sizeof(*d->w.client_hash));
	if (!d->w.icann || !d->w.icann_hash || !d->w.client_hash)
		goto fail;
	evutil_secure_rng_get_bytes(&d->w.hash_seed, sizeof(d->w.hash_seed));
	d->w.hash_seed |= 1;

	scfg.edns_buffer_size = (uint16_t)d->conf.edns_buffer_size;
	scfg.tcp_idle_timeout_s = d->conf.tcp_idle_timeout;
	scfg.tcp_max_connections = d->conf.tcp_max_connections;
	scfg.tcp_max_per_client = d->conf.tcp_max_per_client;
	scfg.tcp_max_pipelined = PKDNS_TCP_MAX_PIPELINED;
	scfg.admit = admit_client;
	/* every reply passes these: rebinding policy, query log (reply.c) */
	if (pkdns_reply_configure(d, &d->conf) < 0)
		goto fail;
	scfg.filter = pkdns_reply_filter;
	scfg.on_reply = pkdns_reply_log;
	d->w.dns = dns_server_new(d->w.base, &scfg, handle_query, d);
	if (!d->w.dns)
		goto fail;
	size_t listening = 0;
	for (size_t i = 0; i < d->conf.n_listen; i++) {
		if (dns_server_listen(d->w.dns, (struct sockaddr *)&d->conf.listen[i].ss,
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
	/* DoT, DoH and the HTTP routes; modules mount routes on d->w.http */
	d->w.front = http_front_new(d->w.base, &d->conf, d->w.dns);
	if (!d->w.front || http_front_listen(d->w.front, &d->conf) < 0)
		goto fail;
	d->w.http = http_front_server(d->w.front);

	/* the resolver, then its clients: DNS questions and the relay API */
	if (pkdns_resolver_start(d) < 0 || pkdns_pkarr_init(d, d->resolver) < 0)
		goto fail;
	/* the pkarr relay API on the HTTP listeners */
	d->w.relay = relay_api_new(d, d->resolver);
	if (!d->w.relay || relay_http_mount(d->w.http, d->w.relay) < 0)
		goto fail;
	pkdns_apply_conf(d, &d->conf);

	if (add_signal(d, SIGTERM, on_stop, &d->ev_term) < 0 ||
	    add_signal(d, SIGINT, on_stop, &d->ev_int) < 0 ||
	    add_signal(d, SIGHUP, on_hup, &d->ev_hup) < 0 ||
	    add_signal(d, SIGUSR1, on_usr1, &d->ev_usr1) < 0)
		goto fail;
	if (d->conf.stats_interval) {
		struct timeval tv = { (time_t)d->conf.stats_interval, 0 };
		d->ev_stats = event_new(d->w.base, -1, EV_PERSIST, on_stats_timer, d);
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
		event_reinit(d->w.base);
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
	if (event_base_dispatch(d->w.base) < 0) {
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
	http_front_free(d->w.front);
	pkdns_ops_free(d); /* issue 14: after HTTP, whose routes it mounted */
	/* everything in flight is dropped: each held query freed once */
	pkdns_pkarr_free(d);
	relay_api_free(d->w.relay);
	/* after its clients, before d->w.icann (its bootstrap questions) */
	pkarr_resolver_free(d->resolver);
	while (!LIST_EMPTY(&d->w.icann_res)) {
		struct icann_res *res = LIST_FIRST(&d->w.icann_res);
		while (!LIST_EMPTY(&res->waiters)) {
			struct icann_waiter *w = LIST_FIRST(&res->waiters);
			waiter_unlink(w);
			pkdns_req_drop(&w->req);
			free(w);
		}
		res_free(res);
	}
	icann_free(d->w.icann);
	free(d->w.icann_hash);
	free(d->w.client_hash);
	dns_server_free(d->w.dns);
	cache_free(d->w.cache);
	ratelimit_free(d->w.rl_query);
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
	if (d->w.base)
		event_base_free(d->w.base);
	conf_free(&d->conf);
	free(d->w.rebind);
	free(d);
}
