/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * resolver.c -- public key -> signed packet (see resolver.h): the packet
 * cache, one look-up per key over the DHT and the relays, the DHT node
 * (bootstrap, testnet, saved routing table), republishing, idle
 * verification, puts.
 *
 * A get that misses waits on the key's look-up (struct rlookup), which
 * every get for that key shares. The first verified packet answers every
 * waiter at once; the look-up goes on in the background, so a newer seq
 * found later replaces the cached packet.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <unistd.h>

#include <event2/event.h>
#include <ldns/ldns.h>

#define LOG_MODULE "pkarr"
#include "dht/dht.h"
#include "dht/dht_event.h"
#include "pkarr/answer.h"
#include "pkarr/cache.h"
#include "pkarr/packet.h"
#include "pkarr/relay.h"
#include "pkarr/relay_client.h"
#include "pkarr/resolver.h"
#include "pkarr/zbase32.h"
#include "util/log.h"
#include "util/netaddr.h"
#include "util/ratelimit.h"
#include "util/time.h"

#define MAX_LOOKUPS 512          /* concurrent look-ups */
#define MAX_RECENT 1000          /* keys republished because clients asked */
#define MAX_REPUBLISH_KEYS 64    /* configured keys always republished */
#define MAX_BOOT 64              /* bootstrap names (A and AAAA each) */
#define NODES_FILE "dht-nodes"
#define NODES_SAVE_S 600
#define DHT_DEFAULT_PORT 6881    /* a bootstrap address given without one */
/* idle verification of packets loaded from cache_dir: this many per
 * step, a step every VERIFY_STEP_US */
#define VERIFY_BATCH 200
#define VERIFY_STEP_US 10000
/* largest routing-table file read back: both families' tables full */
#define NODES_BUF (128 * 1024)
/* rate-limit slots: clients tracked at once */
#define RATELIMIT_SLOTS 65536
/* bootstrap addresses taken from one answer */
#define BOOT_MAX_ADDRS 16

/* Bootstrap retries: names are resolved again and the bootstrap nodes
 * asked again with backoff while the table is thin (BOOT_RETRY_MIN_MS
 * doubling to BOOT_RETRY_MAX_MS, or BOOT_RETRY_DOWN_MAX_MS while no node
 * answers at all, so that keys resolve within 30 s of the network coming
 * back), and hourly once it is not. */
#define BOOT_TICK_MS 1000
#define BOOT_RETRY_MIN_MS 1000u
#define BOOT_RETRY_MAX_MS 60000u
#define BOOT_RETRY_DOWN_MAX_MS 16000u
#define BOOT_REFRESH_MS (3600u * 1000u)
#define BOOT_GOOD_NODES 8
/* a change of the wall clock against the monotonic one this large means
 * the host slept (suspend/resume) or its clock was set */
#define BOOT_CLOCK_JUMP_MS 10000

struct rlookup;

/* A pending get. */
struct pkarr_get {
	struct rlookup *l;            /* NULL once answered */
	pkarr_resolver_get_fn fn;
	void *ctx;
	LIST_ENTRY(pkarr_get) link;
};

LIST_HEAD(get_list, pkarr_get);

struct rlookup {
	struct pkarr_resolver *r;
	uint8_t pk[32];
	uint32_t id;                  /* DHT look-up, 0 when none */
	uint64_t start_ms;
	bool got_value;
	bool refused;                 /* a value was refused (dated in the future) */
	struct pkarr_packet *best;    /* the newest packet it found, or NULL */
	struct get_list waiters;
	LIST_ENTRY(rlookup) link;
	/* the relays are asked beside the DHT; the look-up ends when both
	 * have (see lookup_finish) */
	struct relay_req *rreq[RELAY_CLIENT_MAX];
	unsigned relays_pending;
	bool dht_done;
	unsigned responses;           /* DHT nodes and relays that answered */
};

/* A put on the DHT with a caller waiting. */
struct rputter {
	struct pkarr_resolver *r;
	pkarr_resolver_put_fn fn;
	void *ctx;
	LIST_ENTRY(rputter) link;
};

struct boot_req {
	struct pkarr_resolver *r;
	void *req;                    /* resolve_host's handle */
	uint16_t port;
	uint16_t qtype;               /* A, or AAAA on a dual-stack node */
	int last_added;               /* addresses the last answer gave; -1 before any */
	char host[256];
};

struct pkarr_resolver {
	struct event_base *base;
	struct pkarr_resolver_hooks hooks;
	char *cache_dir;
	uint32_t republish_interval;
	struct pkarr_cache *pcache;
	struct pkarr_answer_params params;
	uint32_t neg_ttl;
	struct dht_node *node;
	struct dht *dht;
	struct dht_testnet *testnet;
	struct ratelimit *rl_dht;
	struct relay_client *relays;  /* relay URLs, or NULL */
	LIST_HEAD(, rlookup) lookups;
	unsigned n_lookups;
	LIST_HEAD(, rputter) putters;
	struct boot_req *boot[MAX_BOOT];
	size_t n_boot;
	struct event *ev_boot;        /* BOOT_TICK_MS: retries, clock jumps */
	uint64_t boot_next_ms, boot_backoff_ms, boot_health_changes;
	int64_t boot_skew_ms;         /* wall clock minus monotonic clock */
	uint8_t recent[MAX_RECENT][32];
	size_t n_recent, recent_pos;
	uint8_t republish[MAX_REPUBLISH_KEYS][32];
	size_t n_republish;
	struct event *ev_republish, *ev_save, *ev_verify;
	struct event *ev_reopen;      /* retries an unusable cache_dir */
	struct pkarr_resolver_stats st;
};

static uint64_t
now_s(void)
{
	return time_wall_us() / 1000000u;
}

static void
remember_recent(struct pkarr_resolver *r, const uint8_t pk[32])
{
	for (size_t i = 0; i < r->n_recent; i++)
		if (memcmp(r->recent[i], pk, 32) == 0)
			return;
	memcpy(r->recent[r->recent_pos], pk, 32);
	r->recent_pos = (r->recent_pos + 1) % MAX_RECENT;
	if (r->n_recent < MAX_RECENT)
		r->n_recent++;
}

/* The cache's packet for pk (copied: the cache's scratch copy lasts one
 * call). @return the cache's state */
static enum pkarr_cache_state
cache_copy(struct pkarr_resolver *r, const uint8_t pk[32], struct pkarr_packet *out)
{
	const struct pkarr_packet *held = NULL;
	enum pkarr_cache_state cs = pkarr_cache_get(r->pcache, pk, now_s(), &held);

	if ((cs == PKARR_CACHE_FRESH || cs == PKARR_CACHE_STALE) && !held)
		return PKARR_CACHE_MISS;
	if ((cs == PKARR_CACHE_FRESH || cs == PKARR_CACHE_STALE) && out)
		*out = *held;
	return cs;
}

/* ---- look-ups ---------------------------------------------------------- */

static void
lookup_free(struct rlookup *l)
{
	struct pkarr_resolver *r = l->r;

	LIST_REMOVE(l, link);
	r->n_lookups--;
	for (size_t i = 0; i < RELAY_CLIENT_MAX; i++)
		relay_req_cancel(l->rreq[i]);
	while (!LIST_EMPTY(&l->waiters)) { /* only at shutdown; answered otherwise */
		struct pkarr_get *g = LIST_FIRST(&l->waiters);
		LIST_REMOVE(g, link);
		free(g);
	}
	free(l->best);
	free(l);
}

/* Answer every waiter of l with res: each is taken off the list, then
 * called, then freed, so that a callback may cancel another waiter or
 * start a get for the same key. */
static void
answer_waiters(struct rlookup *l, const struct pkarr_resolver_result *res)
{
	struct get_list ready;

	/* move them to a list of our own: a get a callback starts joins l
	 * afresh and waits for what comes next */
	LIST_INIT(&ready);
	if ((ready.lh_first = l->waiters.lh_first) != NULL)
		ready.lh_first->link.le_prev = &ready.lh_first;
	LIST_INIT(&l->waiters);
	while (!LIST_EMPTY(&ready)) {
		struct pkarr_get *g = LIST_FIRST(&ready);
		LIST_REMOVE(g, link);
		g->l = NULL;
		g->fn(g->ctx, res);
		free(g);
	}
}

static void lookup_packet(struct rlookup *l, struct pkarr_packet *pkt, int rc,
    const struct pkarr_source *src);

static void
lookup_value(void *arg, const struct dht_item *item)
{
	struct rlookup *l = arg;
	struct pkarr_packet pkt;
	struct pkarr_source src;
	int rc;

	/* The DHT look-up verified the signature before calling us: once is
	 * enough (it is most of the time between the DHT's answer and ours). */
	rc = pkarr_packet_from_verified_bep44(&pkt, item->k, item->seq, item->v, item->v_len,
	    item->sig);
	pkarr_source_from_sockaddr(&src, PKARR_SOURCE_DHT,
	    item->from_len ? (const struct sockaddr *)&item->from : NULL, true);
	lookup_packet(l, &pkt, rc, &src);
}

/* A verified packet for l's key from the DHT or a relay, src (rc: 0, or
 * why it is unusable): into the cache, and to everyone waiting. */
static void
lookup_packet(struct rlookup *l, struct pkarr_packet *pkt_in, int rc,
    const struct pkarr_source *src)
{
	struct pkarr_resolver *r = l->r;
	struct pkarr_resolver_result res = { PKARR_RESOLVER_FOUND, false, NULL, NULL };
	struct pkarr_packet pkt, held;
	struct pkarr_rr_ref rr[PKARR_MAX_RECORDS];
	struct pkarr_view v;

	/* the clients first, the write to cache_dir after their answers */
	pkarr_cache_hold_writes(r->pcache);
	if (rc == 0) {
		pkt = *pkt_in;
		rc = pkarr_cache_put_from(r->pcache, &pkt, now_s(), src, false);
	}
	if (rc < 0) {
		char key[PKARR_Z32_KEY_LEN + 1];
		pkarr_cache_release_writes(r->pcache);
		pkarr_z32_encode(l->pk, key);
		log_info("%s: unusable packet from the DHT: %s", key, pkarr_strerror(rc));
		if (rc == PKARR_E_FUTURE)
			l->refused = true;
		return;
	}
	if (!l->got_value) {
		l->got_value = true;
		r->st.lookup_ms_total += time_mono_ms() - l->start_ms;
		r->st.lookups_done++;
	}
	/* kept for waiters that come after it (the cache may not keep it) */
	if (rc != PKARR_PUT_OLDER && (l->best || (l->best = malloc(sizeof(*l->best)))))
		*l->best = pkt;
	/* Answer everyone waiting from this packet itself, not through the
	 * cache, so that no waiter can miss and wait again; the look-up goes
	 * on for a newer seq. PKARR_PUT_OLDER: the cache holds a newer
	 * packet, answer that. */
	res.pkt = &pkt;
	if (rc == PKARR_PUT_OLDER) {
		enum pkarr_cache_state cs = cache_copy(r, l->pk, &held);
		if (cs == PKARR_CACHE_FRESH || cs == PKARR_CACHE_STALE) {
			res.pkt = &held;
			res.stale = cs == PKARR_CACHE_STALE;
		}
	}
	/* the packet's own index, stable while callbacks call into the cache */
	if (pkarr_view_from_packet(res.pkt, rr, &v) == 0)
		res.view = &v;
	answer_waiters(l, &res);
	pkarr_cache_release_writes(r->pcache);
}

static void lookup_finish(struct rlookup *l);

static void
lookup_done(void *arg, const struct dht_lookup_stats *st)
{
	struct rlookup *l = arg;
	char key[PKARR_Z32_KEY_LEN + 1];

	pkarr_z32_encode(l->pk, key);
	if (l->r->hooks.lookup_observed)
		l->r->hooks.lookup_observed(l->r->hooks.ctx,
		    st->first_value_ms >= 0 ? (uint64_t)st->first_value_ms : st->elapsed_ms,
		    st->first_value_ms >= 0);
	log_debug("%s: look-up done: %u queried, %u responses, %u values, %llu ms", key,
	    st->queried, st->responses, st->values, (unsigned long long)st->elapsed_ms);
	/* values the look-up dropped as dated too far ahead count as refused:
	 * this host's clock may be behind, so no negative entry */
	if (st->too_new > 0)
		l->refused = true;
	if (!l->got_value && st->too_new > 0)
		log_info("%s: only packets dated more than %u s ahead of the clock were "
		    "found (is the clock behind?)", key, (unsigned)PKARR_FUTURE_MAX_S);
	l->responses += st->responses;
	l->dht_done = true;
	if (l->relays_pending == 0) /* else the last relay finishes */
		lookup_finish(l);
}

/* The look-up has ended: a negative entry when nodes answered without a
 * packet; every waiter answered from the cache, else from the look-up's
 * newest packet (which the cache may have evicted), else with why not. */
static void
lookup_finish(struct rlookup *l)
{
	struct pkarr_resolver *r = l->r;
	struct pkarr_resolver_result res = { PKARR_RESOLVER_NONE, false, NULL, NULL };
	struct pkarr_packet held;
	struct pkarr_rr_ref rr[PKARR_MAX_RECORDS];
	struct pkarr_view v;
	struct rlookup done;
	char key[PKARR_Z32_KEY_LEN + 1];
	enum pkarr_cache_state cs;

	pkarr_z32_encode(l->pk, key);
	if (!l->got_value && !l->refused && l->responses > 0)
		pkarr_cache_put_negative(r->pcache, l->pk, now_s(), r->neg_ttl);
	if (!LIST_EMPTY(&l->waiters) && !l->got_value && l->responses == 0)
		log_info("%s: no DHT node%s answered", key, r->relays ? " or relay" : "");
	cs = cache_copy(r, l->pk, &held);
	if (l->responses == 0 && !l->got_value) {
		res.rc = PKARR_RESOLVER_UNREACHABLE;
	} else if (cs == PKARR_CACHE_FRESH || cs == PKARR_CACHE_STALE) {
		res.rc = PKARR_RESOLVER_FOUND;
		res.pkt = &held;
		res.stale = cs == PKARR_CACHE_STALE;
	} else if (cs == PKARR_CACHE_NEGATIVE) {
		res.rc = PKARR_RESOLVER_NONE;
	} else if (l->best) {
		res.rc = PKARR_RESOLVER_FOUND;
		res.pkt = l->best;
	} else if (l->refused) {
		res.rc = PKARR_RESOLVER_REFUSED;
	}
	if (res.pkt && pkarr_view_from_packet(res.pkt, rr, &v) == 0)
		res.view = &v;
	/* Off the list before any waiter runs: a get for the same key from a
	 * callback starts a new look-up, never joins one about to be freed. */
	memset(&done, 0, sizeof(done));
	done.r = r;
	LIST_INIT(&done.waiters);
	if ((done.waiters.lh_first = l->waiters.lh_first) != NULL)
		done.waiters.lh_first->link.le_prev = &done.waiters.lh_first;
	LIST_INIT(&l->waiters);
	{
		struct pkarr_packet *best = l->best;
		l->best = NULL; /* ours until the last waiter is answered */
		lookup_free(l);
		answer_waiters(&done, &res);
		free(best);
	}
}

/* ---- relays as a client, beside the DHT ----------------------------------- */

static void
relay_got(void *ctx, size_t relay, int status, const uint8_t *body, size_t len)
{
	struct rlookup *l = ctx;
	struct pkarr_resolver *r = l->r;
	struct pkarr_packet pkt;
	char key[PKARR_Z32_KEY_LEN + 1];
	int rc;

	l->rreq[relay] = NULL;
	l->relays_pending--;
	pkarr_z32_encode(l->pk, key);
	if (status == 200) {
		/* never trusted beyond the signature: verified here, and the
		 * cache keeps a newer packet it holds */
		rc = pkarr_relay_decode(&pkt, l->pk, body, len);
		if (rc == 0) {
			struct pkarr_source src = { .kind = PKARR_SOURCE_RELAY,
						    .port = (uint16_t)relay };
			l->responses++;
			log_debug("%s: packet from relay %s", key, relay_client_url(r->relays, relay));
			lookup_packet(l, &pkt, rc, &src);
		} else {
			log_info("%s: relay %s sent an unusable packet: %s", key,
			    relay_client_url(r->relays, relay), pkarr_strerror(rc));
		}
	} else if (status == 304 || status == 404) {
		l->responses++;
	} else {
		log_debug("%s: relay %s: %d", key, relay_client_url(r->relays, relay), status);
	}
	if (l->relays_pending == 0 && l->dht_done)
		lookup_finish(l);
}

/* Ask every relay for l's key, with If-Modified-Since the packet held. */
static void
relay_lookup_start(struct rlookup *l)
{
	struct pkarr_resolver *r = l->r;
	struct pkarr_packet held;
	uint64_t ims = 0;
	enum pkarr_cache_state cs;

	if (!r->relays)
		return;
	cs = cache_copy(r, l->pk, &held);
	if (cs == PKARR_CACHE_FRESH || cs == PKARR_CACHE_STALE)
		ims = held.ts_us / 1000000;
	for (size_t i = 0; i < relay_client_count(r->relays); i++) {
		l->rreq[i] = relay_client_get(r->relays, i, l->pk, ims, relay_got, l);
		if (l->rreq[i])
			l->relays_pending++;
	}
}

static struct rlookup *
lookup_find(struct pkarr_resolver *r, const uint8_t pk[32])
{
	struct rlookup *l;

	LIST_FOREACH(l, &r->lookups, link)
		if (memcmp(l->pk, pk, 32) == 0)
			break;
	return l;
}

/* The key's look-up, started if needed. The client's rate limit counts
 * the look-ups it starts, not the ones it joins.
 * @return the look-up, or NULL with *rc set (_LIMITED, _UNREACHABLE, _FAIL) */
static struct rlookup *
lookup_join(struct pkarr_resolver *r, const uint8_t pk[32], const struct sockaddr *client, int *rc)
{
	struct rlookup *l = lookup_find(r, pk);

	if (l)
		return l;
	*rc = PKARR_RESOLVER_UNREACHABLE;
	if (!r->dht && !r->relays)
		return NULL;
	*rc = PKARR_RESOLVER_FAIL;
	if (r->n_lookups >= MAX_LOOKUPS)
		return NULL;
	if (client && !ratelimit_allow(r->rl_dht, client, time_mono_ms())) {
		*rc = PKARR_RESOLVER_LIMITED;
		return NULL;
	}
	l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->r = r;
	memcpy(l->pk, pk, 32);
	l->start_ms = time_mono_ms();
	LIST_INIT(&l->waiters);
	LIST_INSERT_HEAD(&r->lookups, l, link);
	r->n_lookups++;
	if (r->dht)
		l->id = dht_get_mutable(r->dht, pk, NULL, 0, 0, lookup_value, lookup_done, l,
		    time_mono_ms());
	l->dht_done = l->id == 0;
	relay_lookup_start(l);
	if (l->id == 0 && l->relays_pending == 0) {
		lookup_free(l);
		return NULL;
	}
	if (l->id != 0) {
		/* a value dated too far ahead must not hide the current one
		 * (the look-up reports only seqs above the best seen) */
		if (now_s() >= PKARR_CLOCK_SET_S)
			(void)dht_lookup_max_seq(r->dht, l->id,
			    (int64_t)(now_s() + PKARR_FUTURE_MAX_S) * 1000000);
		r->st.lookups++;
		/* schedule the look-up's timers now, not at the next tick */
		dht_node_kick(r->node);
	}
	return l;
}

/* A get: out or view receives a cached packet (one of them is set). */
static int
get_common(struct pkarr_resolver *r, const uint8_t pk[32], const struct sockaddr *client,
    pkarr_resolver_get_fn fn, void *ctx, struct pkarr_packet *out, struct pkarr_view *view,
    bool *stale, struct pkarr_get **handle)
{
	struct pkarr_get *g;
	struct rlookup *l;
	enum pkarr_cache_state cs;
	int rc;

	if (handle)
		*handle = NULL;
	if (stale)
		*stale = false;
	cs = view ? pkarr_cache_get_view(r->pcache, pk, now_s(), view) : cache_copy(r, pk, out);
	switch (cs) {
	case PKARR_CACHE_STALE:
		/* refresh in the background; then the view again, as the
		 * look-up's start may have called into the cache */
		(void)lookup_join(r, pk, NULL, &rc);
		if (view && pkarr_cache_get_view(r->pcache, pk, now_s(), view) == PKARR_CACHE_MISS)
			break;
		if (stale)
			*stale = true;
		return PKARR_RESOLVER_FOUND;
	case PKARR_CACHE_FRESH:
		return PKARR_RESOLVER_FOUND;
	case PKARR_CACHE_NEGATIVE:
		return PKARR_RESOLVER_NONE;
	default:
		break;
	}
	if (!r->dht && !r->relays)
		return PKARR_RESOLVER_UNREACHABLE;
	remember_recent(r, pk);
	g = calloc(1, sizeof(*g));
	if (!g)
		return PKARR_RESOLVER_FAIL;
	l = lookup_join(r, pk, client, &rc);
	if (!l) {
		free(g);
		return rc;
	}
	g->l = l;
	g->fn = fn;
	g->ctx = ctx;
	LIST_INSERT_HEAD(&l->waiters, g, link);
	if (handle)
		*handle = g;
	return PKARR_RESOLVER_PENDING;
}

int
pkarr_resolver_get(struct pkarr_resolver *r, const uint8_t pk[32],
    const struct sockaddr *client, pkarr_resolver_get_fn fn, void *ctx,
    struct pkarr_packet *out, bool *stale, struct pkarr_get **handle)
{
	return get_common(r, pk, client, fn, ctx, out, NULL, stale, handle);
}

int
pkarr_resolver_get_view(struct pkarr_resolver *r, const uint8_t pk[32],
    const struct sockaddr *client, pkarr_resolver_get_fn fn, void *ctx,
    struct pkarr_view *view, bool *stale, struct pkarr_get **handle)
{
	return get_common(r, pk, client, fn, ctx, NULL, view, stale, handle);
}

void
pkarr_resolver_cancel(struct pkarr_resolver *r, struct pkarr_get *h)
{
	(void)r;
	if (!h)
		return;
	LIST_REMOVE(h, link);
	free(h);
}

/* ---- puts ----------------------------------------------------------------- */

static void
putter_done(void *arg, const struct dht_lookup_stats *st)
{
	struct rputter *u = arg;
	pkarr_resolver_put_fn fn = u->fn;
	void *ctx = u->ctx;

	LIST_REMOVE(u, link);
	free(u);
	if (fn)
		fn(ctx, st->stored);
	else
		log_debug("republished to %u nodes (%u errors)", st->stored, st->put_errors);
}

void
pkarr_dht_item(struct dht_item *item, const struct pkarr_packet *pkt)
{
	memset(item, 0, sizeof(*item));
	item->is_mutable = true;
	memcpy(item->k, pkt->pk, 32);
	memcpy(item->sig, pkt->sig, 64);
	item->seq = (int64_t)pkt->ts_us;
	memcpy(item->v, pkt->dns, pkt->dns_len);
	item->v_len = pkt->dns_len;
}

/* Put pkt on the DHT; fn (or a log line, without one) when it ends.
 * @return _PENDING, _UNREACHABLE or _FAIL */
static int
dht_put_packet(struct pkarr_resolver *r, const struct pkarr_packet *pkt,
    pkarr_resolver_put_fn fn, void *ctx)
{
	struct dht_info info;
	struct dht_item item;
	struct rputter *u;

	if (!r->dht)
		return PKARR_RESOLVER_UNREACHABLE;
	dht_get_info(r->dht, time_mono_ms(), &info);
	if (info.nodes4 + info.nodes6 == 0)
		return PKARR_RESOLVER_UNREACHABLE;
	u = calloc(1, sizeof(*u));
	if (!u)
		return PKARR_RESOLVER_FAIL;
	pkarr_dht_item(&item, pkt);
	u->r = r;
	u->fn = fn;
	u->ctx = ctx;
	LIST_INSERT_HEAD(&r->putters, u, link);
	if (dht_put(r->dht, &item, -1, putter_done, u, time_mono_ms()) == 0) {
		LIST_REMOVE(u, link);
		free(u);
		return PKARR_RESOLVER_FAIL;
	}
	return PKARR_RESOLVER_PENDING;
}

int
pkarr_resolver_put(struct pkarr_resolver *r, const struct pkarr_packet *pkt,
    pkarr_resolver_put_fn fn, void *ctx)
{
	return pkarr_resolver_put_from(r, pkt, NULL, fn, ctx);
}

int
pkarr_resolver_put_from(struct pkarr_resolver *r, const struct pkarr_packet *pkt,
    const struct sockaddr *from, pkarr_resolver_put_fn fn, void *ctx)
{
	struct pkarr_source src;
	int rc;

	pkarr_source_from_sockaddr(&src, PKARR_SOURCE_RELAY_PUT, from, false);
	rc = pkarr_cache_put_from(r->pcache, pkt, now_s(), from ? &src : NULL, false);

	if (rc == PKARR_PUT_OLDER)
		return PKARR_RESOLVER_OLDER;
	if (rc < 0)
		return rc == PKARR_E_NOMEM ? PKARR_RESOLVER_FAIL : PKARR_RESOLVER_BAD;
	/* republished for a while: the recently asked keys' ring */
	remember_recent(r, pkt->pk);
	rc = dht_put_packet(r, pkt, fn, ctx);
	if (rc == PKARR_RESOLVER_PENDING)
		dht_node_kick(r->node);
	return rc;
}

/* ---- republishing ------------------------------------------------------- */

static bool
should_republish(struct pkarr_resolver *r, const uint8_t pk[32])
{
	for (size_t i = 0; i < r->n_recent; i++)
		if (memcmp(r->recent[i], pk, 32) == 0)
			return true;
	for (size_t i = 0; i < r->n_republish; i++)
		if (memcmp(r->republish[i], pk, 32) == 0)
			return true;
	return false;
}

struct republish_walk {
	struct pkarr_resolver *r;
	unsigned started;
};

static int
republish_one(void *arg, const struct pkarr_packet *pkt, uint64_t stored_s)
{
	struct republish_walk *w = arg;
	(void)stored_s;

	if (should_republish(w->r, pkt->pk) &&
	    dht_put_packet(w->r, pkt, NULL, NULL) == PKARR_RESOLVER_PENDING)
		w->started++;
	return 0;
}

static void
on_republish(evutil_socket_t fd, short what, void *arg)
{
	struct pkarr_resolver *r = arg;
	struct republish_walk w = { r, 0 };
	int rc;
	(void)fd;
	(void)what;

	if (!r->dht)
		return;
	/* configured keys we have no packet for: fetch them first */
	for (size_t i = 0; i < r->n_republish; i++) {
		enum pkarr_cache_state cs = cache_copy(r, r->republish[i], NULL);
		if (cs != PKARR_CACHE_FRESH && cs != PKARR_CACHE_STALE)
			(void)lookup_join(r, r->republish[i], NULL, &rc);
	}
	pkarr_cache_foreach(r->pcache, republish_one, &w);
	if (w.started)
		dht_node_kick(r->node);
	log_info("republishing %u packets", w.started);
}

int
pkarr_resolver_republish(struct pkarr_resolver *r, const uint8_t pk[32],
    pkarr_resolver_put_fn fn, void *ctx)
{
	struct pkarr_packet pkt;
	enum pkarr_cache_state cs = cache_copy(r, pk, &pkt);
	int rc;

	if (cs != PKARR_CACHE_FRESH && cs != PKARR_CACHE_STALE)
		return PKARR_RESOLVER_MISS;
	remember_recent(r, pk);
	rc = dht_put_packet(r, &pkt, fn, ctx);
	if (rc == PKARR_RESOLVER_PENDING)
		dht_node_kick(r->node);
	return rc;
}

/* ---- DHT node: bootstrap, routing table persistence --------------------- */

static void
nodes_path(const struct pkarr_resolver *r, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/%s", r->cache_dir, NODES_FILE);
}

static void
save_nodes(struct pkarr_resolver *r)
{
	char path[4096], tmp[4200];
	struct dht_info info;
	uint8_t *buf;
	size_t cap;
	int n, fd;

	if (!r->dht || !r->cache_dir)
		return;
	/* while no node answers, the table holds only nodes that failed:
	 * keep the file of the last time the DHT was reachable */
	dht_get_info(r->dht, dht_node_now(r->node), &info);
	if (info.health == DHT_HEALTH_DOWN)
		return;
	cap = dht_save_nodes_size(r->dht);
	buf = malloc(cap);
	if (!buf)
		return;
	n = dht_save_nodes(r->dht, buf, cap);
	nodes_path(r, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	/* O_NONBLOCK: a FIFO planted there must not hang the daemon */
	fd = n > 0 ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK,
			 0600)
		   : -1;
	if (n > 0 && fd < 0)
		log_warn("cannot save the routing table to %s: %s", tmp, strerror(errno));
	if (fd >= 0) {
		bool ok = write(fd, buf, (size_t)n) == n;
		ok = (fsync(fd) == 0) && ok;
		close(fd);
		if (ok && rename(tmp, path) == 0)
			log_debug("saved the routing table to %s", path);
		else
			log_warn("cannot save the routing table to %s", path);
	}
	free(buf);
}

static void
load_nodes(struct pkarr_resolver *r)
{
	char path[4096];
	uint8_t *buf;
	struct stat st;
	ssize_t n;
	int fd;

	if (!r->cache_dir)
		return;
	nodes_path(r, path, sizeof(path));
	/* never stops start-up: a missing or odd file is ignored (O_NONBLOCK
	 * and the regular-file check: a FIFO must not hang it) */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		if (errno != ENOENT)
			log_warn("cannot read %s: %s", path, strerror(errno));
		return;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		log_warn("%s is not a regular file; ignored", path);
		close(fd);
		return;
	}
	buf = malloc(NODES_BUF);
	n = buf ? read(fd, buf, NODES_BUF) : -1;
	close(fd);
	if (n > 0) {
		int got = dht_load_nodes(r->dht, buf, (size_t)n, time_mono_ms());
		if (got < 0)
			log_warn("%s is not a saved routing table; ignored", path);
		else
			log_info("loaded %d DHT nodes from %s", got, path);
	}
	free(buf);
}

static void
on_save(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	save_nodes(arg);
}

/* The A/AAAA records of a DNS answer as addresses with port.
 * @return how many, at most max; -1 when msg is no DNS message */
static int
answer_addrs(const uint8_t *msg, size_t len, uint16_t port, struct sockaddr_storage *addrs,
    size_t max)
{
	ldns_pkt *pkt = NULL;
	size_t n;

	if (ldns_wire2pkt(&pkt, msg, len) != LDNS_STATUS_OK)
		return -1;
	n = pkarr_rr_addrs(ldns_pkt_answer(pkt), port, addrs, max);
	ldns_pkt_free(pkt);
	return (int)n;
}

/* A bootstrap name's addresses, from the owner's resolve_host. */
static void
boot_resolved(void *arg, int rcode, const uint8_t *msg, size_t len)
{
	struct boot_req *b = arg;
	struct sockaddr_storage addrs[BOOT_MAX_ADDRS];
	int added = 0, fresh = 0, replaced = 0, got = 0;
	size_t n = 0;
	const char *fam = b->qtype == LDNS_RR_TYPE_AAAA ? "IPv6" : "IPv4";

	b->req = NULL;
	if (rcode == 0 && msg && (got = answer_addrs(msg, len, b->port, addrs, BOOT_MAX_ADDRS)) > 0)
		n = (size_t)got;
	for (size_t i = 0; i < n; i++) {
		int rc = dht_add_bootstrap(b->r->dht, (struct sockaddr *)&addrs[i],
		    addrs[i].ss_family == AF_INET ? sizeof(struct sockaddr_in)
						  : sizeof(struct sockaddr_in6));
		if (rc < 0)
			continue;
		added++;
		fresh += rc != DHT_BOOT_KNOWN;
		replaced += rc == DHT_BOOT_REPLACED;
	}
	if (replaced)
		log_info("bootstrap %s: the list of bootstrap addresses is full: %d new %s "
			 "addresses took the places of those unused longest", b->host, replaced, fam);
	/* retries ask again every few seconds while offline: say only what
	 * changed */
	if (added == b->last_added && !fresh)
		return;
	if (added)
		log_info("bootstrap %s: %d %s addresses", b->host, added, fam);
	else if (n > 0 && b->qtype == LDNS_RR_TYPE_AAAA)
		log_debug("bootstrap %s: %zu IPv6 addresses, none can be sent to", b->host, n);
	else if (n > 0)
		log_info("bootstrap %s: %zu %s addresses, none can be sent to now; will retry",
		    b->host, n, fam);
	else if (b->qtype == LDNS_RR_TYPE_AAAA)
		log_debug("bootstrap %s: no IPv6 address (rcode %d)", b->host, rcode);
	else
		log_warn("bootstrap %s: cannot resolve it (rcode %d); will retry", b->host, rcode);
	b->last_added = added;
}

/* Ask for a bootstrap name's addresses (again); one question in flight. */
static void
boot_ask(struct boot_req *b)
{
	struct pkarr_resolver *r = b->r;

	if (b->req || !r->hooks.resolve_host)
		return;
	b->req = r->hooks.resolve_host(r->hooks.ctx, b->host, b->qtype, boot_resolved, b);
}

static void
resolve_bootstrap(struct pkarr_resolver *r, const char *host, size_t hostlen, uint16_t port,
    uint16_t qtype)
{
	struct boot_req *b;

	if (r->n_boot >= MAX_BOOT)
		return;
	b = calloc(1, sizeof(*b));
	if (!b)
		return;
	b->r = r;
	b->port = port;
	b->qtype = qtype;
	b->last_added = -1;
	memcpy(b->host, host, hostlen);
	r->boot[r->n_boot++] = b;
	boot_ask(b);
}

/* Bootstrap again: revive the nodes that stopped answering, ask the
 * bootstrap addresses, resolve the names again. */
static void
boot_retry(struct pkarr_resolver *r)
{
	dht_rebootstrap(r->dht, dht_node_now(r->node));
	for (size_t i = 0; i < r->n_boot; i++)
		boot_ask(r->boot[i]);
	dht_node_kick(r->node);
}

/* Once a second: notice the DHT going down and the clock jumping, and
 * run the retries that are due. Started before the network (or resumed
 * in another one), the node bootstraps again by itself. */
static void
on_boot_tick(evutil_socket_t fd, short what, void *arg)
{
	struct pkarr_resolver *r = arg;
	uint64_t now = time_mono_ms(), cap;
	int64_t skew = (int64_t)(time_wall_us() / 1000u) - (int64_t)now;
	struct dht_info info;
	bool soon = false;
	(void)fd;
	(void)what;

	if (r->boot_skew_ms && llabs(skew - r->boot_skew_ms) >= BOOT_CLOCK_JUMP_MS) {
		log_info("the clock jumped by %lld s (suspend/resume?): bootstrapping the DHT again",
		    (long long)((skew - r->boot_skew_ms) / 1000));
		soon = true;
	}
	r->boot_skew_ms = skew;
	dht_get_info(r->dht, dht_node_now(r->node), &info);
	if (info.health_changes != r->boot_health_changes) {
		r->boot_health_changes = info.health_changes;
		if (info.health == DHT_HEALTH_DOWN)
			soon = true;
	}
	if (soon) {
		r->boot_backoff_ms = BOOT_RETRY_MIN_MS;
		r->boot_next_ms = now;
	}
	if (now < r->boot_next_ms)
		return;
	boot_retry(r);
	if (info.good4 + info.good6 >= BOOT_GOOD_NODES) {
		r->boot_backoff_ms = BOOT_RETRY_MIN_MS;
		r->boot_next_ms = now + BOOT_REFRESH_MS;
		return;
	}
	cap = info.health == DHT_HEALTH_UP ? BOOT_RETRY_MAX_MS : BOOT_RETRY_DOWN_MAX_MS;
	r->boot_next_ms = now + r->boot_backoff_ms;
	r->boot_backoff_ms = r->boot_backoff_ms * 2 > cap ? cap : r->boot_backoff_ms * 2;
}

static void
add_bootstrap(struct pkarr_resolver *r, const char *spec)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	const char *colon = strrchr(spec, ':');
	struct boot_req probe;

	if (netaddr_parse(spec, DHT_DEFAULT_PORT, &ss, &sl) == 0) {
		dht_add_bootstrap(r->dht, (struct sockaddr *)&ss, sl);
		return;
	}
	if (!colon || colon == spec || (size_t)(colon - spec) >= sizeof(probe.host)) {
		log_warn("bootstrap '%s' is not HOST:PORT; ignored", spec);
		return;
	}
	resolve_bootstrap(r, spec, (size_t)(colon - spec), (uint16_t)atoi(colon + 1),
	    LDNS_RR_TYPE_A);
	if (dht_node_dual_stack(r->node))
		resolve_bootstrap(r, spec, (size_t)(colon - spec), (uint16_t)atoi(colon + 1),
		    LDNS_RR_TYPE_AAAA);
}

static int
start_dht(struct pkarr_resolver *r, const struct pkarr_resolver_config *c)
{
	struct dht_config dc;
	struct sockaddr_in sin;

	if (c->dht_mode == PKARR_RESOLVER_DHT_OFF)
		return 0;
	if (c->testnet) {
		struct dht_testnet_emu emu = {
			.rtt_ms = c->testnet_rtt,
			.loss_pct = c->testnet_loss,
			.dead_pct = c->testnet_dead,
			.seed = c->testnet_seed,
		};
		bool emulated = emu.rtt_ms || emu.loss_pct || emu.dead_pct;

		/* no seed given: one from the clock, logged so that the run
		 * can be repeated */
		if (emulated && emu.seed == 0)
			emu.seed = (uint32_t)(time_mono_ms() ^ (uint64_t)getpid() << 16) | 1u;
		r->testnet = dht_testnet_new_emulated(r->base, (int)c->testnet, c->testnet_port,
		    emulated ? &emu : NULL);
		if (emulated && r->testnet)
			log_info("testnet: rtt %u ms (median), loss %u %%, dead %u %%, seed %u",
			    emu.rtt_ms, emu.loss_pct, emu.dead_pct, (unsigned)emu.seed);
		if (!r->testnet) {
			log_err("cannot start a testnet of %u nodes on 127.0.0.1:%u", c->testnet,
			    c->testnet_port);
			return -1;
		}
		log_info("testnet: %u DHT nodes on 127.0.0.1:%u-%u", c->testnet, c->testnet_port,
		    c->testnet_port + c->testnet - 1);
	}
	memset(&dc, 0, sizeof(dc));
	switch (c->dht_mode) {
	case PKARR_RESOLVER_DHT_CLIENT: dc.mode = DHT_MODE_CLIENT; break;
	case PKARR_RESOLVER_DHT_SERVER: dc.mode = DHT_MODE_SERVER; break;
	default: dc.mode = DHT_MODE_ADAPTIVE; break;
	}
	dc.loopback_testnet = c->testnet > 0;
	/* dht_listen binds one address (port: its own, else dht_port) */
	if (c->dht_listen) {
		struct sockaddr_storage ss = *c->dht_listen;
		char name[80];
		if (ss.ss_family == AF_INET && ((struct sockaddr_in *)&ss)->sin_port == 0)
			((struct sockaddr_in *)&ss)->sin_port = htons(c->dht_port);
		if (ss.ss_family == AF_INET6 && ((struct sockaddr_in6 *)&ss)->sin6_port == 0)
			((struct sockaddr_in6 *)&ss)->sin6_port = htons(c->dht_port);
		r->node = dht_node_new(r->base, (struct sockaddr *)&ss, (socklen_t)c->dht_listen_len,
		    &dc);
		if (!r->node) {
			log_err("dht-listen %s: cannot start the DHT node there",
			    netaddr_str((struct sockaddr *)&ss, name, sizeof(name)));
			return -1;
		}
	}
	/* Both DHTs on one socket, [::] with IPv4-mapped addresses (BEP 32);
	 * IPv4 alone where the host has no IPv6, and for testnets. */
	if (!r->node && !c->testnet) {
		struct sockaddr_in6 sin6;
		int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd >= 0) {
			close(fd);
			memset(&sin6, 0, sizeof(sin6));
			sin6.sin6_family = AF_INET6;
			sin6.sin6_port = htons(c->dht_port);
			sin6.sin6_addr = in6addr_any;
			r->node = dht_node_new(r->base, (struct sockaddr *)&sin6, sizeof(sin6), &dc);
		}
		if (r->node && !dht_node_dual_stack(r->node)) {
			dht_node_free(r->node);
			r->node = NULL;
		}
	}
	if (!r->node) {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons(c->dht_port);
		sin.sin_addr.s_addr = htonl(c->testnet ? INADDR_LOOPBACK : INADDR_ANY);
		r->node = dht_node_new(r->base, (struct sockaddr *)&sin, sizeof(sin), &dc);
	}
	if (!r->node) {
		log_err("cannot start the DHT node on UDP port %u", c->dht_port);
		return -1;
	}
	log_info("DHT node on UDP port %u (%s)", dht_node_port(r->node),
	    dht_node_dual_stack(r->node) ? "IPv4 and IPv6" : "IPv4");
	r->dht = dht_node_dht(r->node);
	if (c->testnet) {
		char spec[32];
		snprintf(spec, sizeof(spec), "127.0.0.1:%u", c->testnet_port);
		add_bootstrap(r, spec);
	}
	for (size_t i = 0; i < c->n_bootstrap; i++)
		add_bootstrap(r, c->bootstrap[i]);
	/* after the bootstrap addresses: a loopback one says the network
	 * lives on this host, so a saved table of it keeps a node per
	 * loopback port, not one for all of 127.0.0.1 (dht_add_bootstrap);
	 * public addresses stay one node per IP either way */
	load_nodes(r);
	r->boot_backoff_ms = BOOT_RETRY_MIN_MS;
	r->boot_next_ms = time_mono_ms() + BOOT_RETRY_MIN_MS;
	{
		struct timeval tv = { BOOT_TICK_MS / 1000, 0 };
		r->ev_boot = event_new(r->base, -1, EV_PERSIST, on_boot_tick, r);
		if (!r->ev_boot || event_add(r->ev_boot, &tv) < 0) {
			log_err("cannot start the bootstrap timer");
			return -1;
		}
	}
	if (r->cache_dir) {
		struct timeval tv = { NODES_SAVE_S, 0 };
		r->ev_save = event_new(r->base, -1, EV_PERSIST, on_save, r);
		if (r->ev_save)
			event_add(r->ev_save, &tv);
	}
	if (r->republish_interval) {
		struct timeval tv = { (time_t)r->republish_interval, 0 };
		r->ev_republish = event_new(r->base, -1, EV_PERSIST, on_republish, r);
		if (r->ev_republish)
			event_add(r->ev_republish, &tv);
	}
	return 0;
}

/* ---- the packet cache's file ---------------------------------------------- */

/* Packets loaded from cache_dir are verified on first use; this checks
 * the rest in small steps while the loop is idle, so that no later walk
 * (republishing) stalls the loop verifying thousands at once. */
static void
on_verify(evutil_socket_t fd, short what, void *arg)
{
	struct pkarr_resolver *r = arg;
	struct timeval tv = { 0, VERIFY_STEP_US };
	(void)fd;
	(void)what;

	if (pkarr_cache_verify_some(r->pcache, VERIFY_BATCH) > 0)
		evtimer_add(r->ev_verify, &tv);
	else
		log_debug("every cached packet verified");
}

/* The cache's file is (again) in use: log it and verify what it read. */
static int
cache_opened(struct pkarr_resolver *r)
{
	struct timeval tv = { 0, VERIFY_STEP_US };

	log_info("packet cache: %zu packets from %s", pkarr_cache_count(r->pcache), r->cache_dir);
	return evtimer_add(r->ev_verify, &tv);
}

void
pkarr_resolver_reopen_cache(struct pkarr_resolver *r)
{
	if (!r || !r->pcache || !r->cache_dir || pkarr_cache_has_disk(r->pcache))
		return;
	if (pkarr_cache_open_disk(r->pcache) == 0)
		(void)cache_opened(r);
}

static void
on_reopen(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	pkarr_resolver_reopen_cache(arg);
}

/* ---- life ----------------------------------------------------------------- */

uint32_t
pkarr_neg_ttl(uint32_t min_ttl)
{
	if (min_ttl < 1)
		return 1;
	return min_ttl < PKARR_NEG_TTL_MAX ? min_ttl : PKARR_NEG_TTL_MAX;
}

/* The live settings: the TTL clamp, the negative TTL, the republish keys.
 * (The rate limit is set by the caller: it may not exist yet.) */
static void
live_from_config(struct pkarr_resolver *r, const struct pkarr_resolver_config *c)
{
	r->params.min_ttl = c->min_ttl;
	r->params.max_ttl = c->max_ttl;
	r->neg_ttl = pkarr_neg_ttl(c->min_ttl);
	r->n_republish = 0;
	for (size_t i = 0; i < c->n_republish && r->n_republish < MAX_REPUBLISH_KEYS; i++) {
		const char *s = c->republish[i];
		if (pkarr_z32_decode_key(s, strlen(s), r->republish[r->n_republish]) == 0)
			r->n_republish++;
		else
			log_warn("republish '%s' is not a key; ignored", s);
	}
}

void
pkarr_resolver_reconfigure(struct pkarr_resolver *r, const struct pkarr_resolver_config *c)
{
	if (!r)
		return;
	live_from_config(r, c);
	pkarr_cache_reconfigure(r->pcache, &r->params);
	ratelimit_set(r->rl_dht, c->dht_ratelimit, c->dht_ratelimit_burst);
}

struct pkarr_resolver *
pkarr_resolver_new(struct event_base *base, const struct pkarr_resolver_config *c,
    const struct pkarr_resolver_hooks *hooks)
{
	struct pkarr_resolver *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->base = base;
	if (hooks)
		r->hooks = *hooks;
	LIST_INIT(&r->lookups);
	LIST_INIT(&r->putters);
	r->republish_interval = c->republish_interval;
	if (c->cache_dir && !(r->cache_dir = strdup(c->cache_dir)))
		goto fail;
	live_from_config(r, c);
	/* An unusable cache_dir leaves the cache memory only (the cache logs
	 * why, once) and never stops the resolver; it is retried every
	 * cache_dir_retry seconds and on pkarr_resolver_reopen_cache(). */
	r->pcache = pkarr_cache_new(c->packet_cache_size, r->cache_dir, &r->params);
	if (!r->pcache) {
		log_err("cannot create the packet cache: out of memory");
		goto fail;
	}
	r->rl_dht = ratelimit_new(c->dht_ratelimit, c->dht_ratelimit_burst, RATELIMIT_SLOTS);
	if (!r->rl_dht)
		goto fail;
	if (c->n_relay) {
		r->relays = relay_client_new(base, c->relay, c->n_relay, c->relay_ca, 0);
		if (!r->relays)
			goto fail;
	}
	if (r->cache_dir) {
		struct timeval tv = { (time_t)c->cache_dir_retry, 0 };
		r->ev_verify = evtimer_new(base, on_verify, r);
		r->ev_reopen = event_new(base, -1, EV_PERSIST, on_reopen, r);
		if (!r->ev_verify || !r->ev_reopen)
			goto fail;
		if (c->cache_dir_retry > 0 && event_add(r->ev_reopen, &tv) < 0)
			goto fail;
		if (pkarr_cache_has_disk(r->pcache) && cache_opened(r) < 0)
			goto fail;
	}
	if (start_dht(r, c) < 0)
		goto fail;
	return r;
fail:
	pkarr_resolver_free(r);
	return NULL;
}

void
pkarr_resolver_free(struct pkarr_resolver *r)
{
	if (!r)
		return;
	save_nodes(r);
	/* the DHT node first: no look-up callback after this */
	dht_node_free(r->node);
	r->node = NULL;
	r->dht = NULL;
	dht_testnet_free(r->testnet);
	while (!LIST_EMPTY(&r->lookups))
		lookup_free(LIST_FIRST(&r->lookups));
	while (!LIST_EMPTY(&r->putters)) { /* the DHT is gone, no callback */
		struct rputter *u = LIST_FIRST(&r->putters);
		LIST_REMOVE(u, link);
		free(u);
	}
	relay_client_free(r->relays);
	for (size_t i = 0; i < r->n_boot; i++) {
		if (r->boot[i]->req && r->hooks.cancel_host)
			r->hooks.cancel_host(r->hooks.ctx, r->boot[i]->req);
		free(r->boot[i]);
	}
	if (r->ev_boot)
		event_free(r->ev_boot);
	if (r->ev_republish)
		event_free(r->ev_republish);
	if (r->ev_save)
		event_free(r->ev_save);
	if (r->ev_verify)
		event_free(r->ev_verify);
	if (r->ev_reopen)
		event_free(r->ev_reopen);
	ratelimit_free(r->rl_dht);
	pkarr_cache_free(r->pcache);
	free(r->cache_dir);
	free(r);
}

/* ---- for control channels and stats --------------------------------------- */

int
pkarr_resolver_cached(struct pkarr_resolver *r, const uint8_t pk[32],
    struct pkarr_packet *out, struct pkarr_resolver_entry *e)
{
	struct pkarr_packet pkt;
	struct pkarr_source src;
	uint64_t stored = 0, fresh_until = 0, now = now_s();

	switch (cache_copy(r, pk, &pkt)) {
	case PKARR_CACHE_FRESH:
	case PKARR_CACHE_STALE:
		break;
	case PKARR_CACHE_NEGATIVE:
		return PKARR_RESOLVER_NONE;
	default:
		return PKARR_RESOLVER_MISS;
	}
	if (out)
		*out = pkt;
	if (e) {
		(void)pkarr_cache_times(r->pcache, pk, &stored, &fresh_until);
		e->seq = pkt.ts_us;
		e->age_s = now > stored ? now - stored : 0;
		e->fresh_s = fresh_until > now ? fresh_until - now : 0;
		e->on_disk = pkarr_cache_has_disk(r->pcache);
		if (pkarr_cache_source(r->pcache, pk, &src) != 0)
			memset(&src, 0, sizeof(src));
		pkarr_source_str(&src,
		    src.kind == PKARR_SOURCE_RELAY && r->relays &&
			    src.port < relay_client_count(r->relays)
			? relay_client_url(r->relays, src.port)
			: NULL,
		    e->source, sizeof(e->source));
	}
	return PKARR_RESOLVER_FOUND;
}

int
pkarr_resolver_cached_view(struct pkarr_resolver *r, const uint8_t pk[32],
    struct pkarr_view *view)
{
	switch (pkarr_cache_get_view(r->pcache, pk, now_s(), view)) {
	case PKARR_CACHE_FRESH:
	case PKARR_CACHE_STALE:
		return PKARR_RESOLVER_FOUND;
	case PKARR_CACHE_NEGATIVE:
		return PKARR_RESOLVER_NONE;
	default:
		return PKARR_RESOLVER_MISS;
	}
}

int
pkarr_resolver_flush(struct pkarr_resolver *r, const uint8_t pk[32])
{
	return pkarr_cache_remove(r->pcache, pk) == 0 ? 0 : -1;
}

void
pkarr_resolver_get_stats(struct pkarr_resolver *r, struct pkarr_resolver_stats *st)
{
	struct dht_info info;

	*st = r->st;
	st->packets = r->pcache ? pkarr_cache_count(r->pcache) : 0;
	st->lookups_running = r->n_lookups;
	st->nodes = st->nodes6 = 0;
	if (r->dht) {
		dht_get_info(r->dht, time_mono_ms(), &info);
		st->nodes = info.nodes4 + info.nodes6;
		st->nodes6 = info.nodes6;
	}
}

struct dht *
pkarr_resolver_dht(struct pkarr_resolver *r)
{
	return r ? r->dht : NULL;
}

struct dht_node *
pkarr_resolver_node(struct pkarr_resolver *r)
{
	return r ? r->node : NULL;
}

struct pkarr_cache *
pkarr_resolver_cache(struct pkarr_resolver *r)
{
	return r ? r->pcache : NULL;
}
