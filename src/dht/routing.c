/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * routing.c -- k-buckets (the far four wide), node states and replacement
 * (BEP 5, BEP 42), and the closest known nodes to a target.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "dht/routing.h"
#include "util/bytes.h"

bool
routing_node_good(const struct routing_node *n, uint64_t now_ms)
{
	if (n->fails > 0 || n->last_reply_ms == 0)
		return false;
	if (now_ms - n->last_reply_ms < ROUTING_GOOD_MS)
		return true;
	return n->last_query_ms && now_ms - n->last_query_ms < ROUTING_GOOD_MS;
}

bool
routing_node_unverified(const struct routing_node *n)
{
	return n->heard && n->last_reply_ms == 0 && n->last_query_ms == 0;
}

/* The node itself spoke to us: it outranks one only heard of. */
static bool
contact(enum routing_contact how)
{
	return how == ROUTING_REPLY || how == ROUTING_QUERY;
}

static bool
node_bad(const struct routing_node *n)
{
	return n->fails >= ROUTING_MAX_FAILS;
}

void
routing_init(struct routing *rt, int family, int k, const uint8_t self[20],
	unsigned flags, uint64_t now_ms)
{
	memset(rt, 0, sizeof(*rt));
	rt->family = (uint8_t)family;
	rt->k = k > 0 ? k : 8;
	rt->relax_loopback = (flags & ROUTING_RELAX_LOOPBACK) != 0;
	rt->wide = (flags & ROUTING_WIDE) != 0;
	memcpy(rt->self, self, 20);
	for (int i = 0; i < 160; i++)
		rt->b[i].changed_ms = now_ms;
}

void
routing_free(struct routing *rt)
{
	for (int i = 0; i < 160; i++) {
		free(rt->b[i].nodes);
		free(rt->b[i].rep);
		rt->b[i].nodes = rt->b[i].rep = NULL;
		rt->b[i].n = rt->b[i].nrep = 0;
	}
}

/* Bucket i covers 2^-(i+1) of the ID space: the farthest ones hold more. */
#define WIDE_BUCKETS 4

int
routing_bucket_cap(const struct routing *rt, int i)
{
	if (rt->wide && i >= 0 && i < WIDE_BUCKETS)
		return rt->k * (16 >> i);
	return rt->k;
}

size_t
routing_capacity(const struct routing *rt)
{
	size_t n = 0;

	for (int i = 0; i < 160; i++)
		n += (size_t)routing_bucket_cap(rt, i);
	return n;
}

static int
bucket_of(const struct routing *rt, const uint8_t *id)
{
	int c = dht_id_common_bits(rt->self, id);
	return c >= 160 ? -1 : c;
}

static int
bucket_alloc(struct routing *rt, struct routing_bucket *b)
{
	if (b->nodes)
		return 0;
	b->nodes = calloc((size_t)routing_bucket_cap(rt, (int)(b - rt->b)), sizeof(*b->nodes));
	b->rep = calloc((size_t)rt->k, sizeof(*b->rep));
	if (b->nodes == NULL || b->rep == NULL) {
		free(b->nodes);
		free(b->rep);
		b->nodes = b->rep = NULL;
		return -1;
	}
	return 0;
}

/* Same IP counts as the same host, except on loopback in testnets where
 * many nodes share 127.0.0.1 and only the port tells them apart. */
static bool
same_host(const struct routing *rt, const struct dht_addr *a, const struct dht_addr *b)
{
	if (rt->relax_loopback && dht_addr_is_loopback(a))
		return dht_addr_eq(a, b);
	return dht_addr_ip_eq(a, b);
}

static void
node_set(struct routing_node *n, const uint8_t *id, const struct dht_addr *addr,
	enum routing_contact how, uint64_t now_ms)
{
	memset(n, 0, sizeof(*n));
	memcpy(n->id, id, 20);
	n->addr = *addr;
	n->bep42_ok = dht_addr_is_local(addr) || dht_bep42_valid(addr, id);
	n->heard = how == ROUTING_HEARD;
	if (how == ROUTING_REPLY)
		n->last_reply_ms = now_ms;
	else if (how == ROUTING_QUERY)
		n->last_query_ms = now_ms;
}

static void
bucket_remove(struct routing_bucket *b, int i)
{
	b->nodes[i] = b->nodes[b->n - 1];
	b->n--;
}

static void
add_candidate(struct routing *rt, struct routing_bucket *b, const uint8_t *id,
	const struct dht_addr *addr, enum routing_contact how, uint64_t now_ms)
{
	int slot = -1;

	for (int i = 0; i < b->nrep; i++) {
		if (memcmp(b->rep[i].id, id, 20) == 0 || same_host(rt, &b->rep[i].addr, addr)) {
			slot = i;
			break;
		}
	}
	if (slot < 0 && b->nrep < rt->k)
		slot = b->nrep++;
	if (slot < 0) {
		/* Full: drop the candidate heard from longest ago. */
		uint64_t oldest = UINT64_MAX;
		for (int i = 0; i < b->nrep; i++) {
			uint64_t t = b->rep[i].last_reply_ms > b->rep[i].last_query_ms ?
				b->rep[i].last_reply_ms : b->rep[i].last_query_ms;
			if (t < oldest) {
				oldest = t;
				slot = i;
			}
		}
	}
	node_set(&b->rep[slot], id, addr, how, now_ms);
}

void
routing_rtt(struct routing *rt, const uint8_t id[20], const struct dht_addr *addr,
	uint64_t rtt_ms)
{
	int bi = bucket_of(rt, id);
	unsigned r = rtt_ms > 65535 ? 65535u : rtt_ms < 1 ? 1u : (unsigned)rtt_ms;

	if (bi < 0)
		return;
	for (int i = 0; i < rt->b[bi].n; i++) {
		struct routing_node *n = &rt->b[bi].nodes[i];
		if (memcmp(n->id, id, 20) != 0 || !dht_addr_eq(&n->addr, addr))
			continue;
		n->rtt_ms = (uint16_t)(n->rtt_ms ? (3u * n->rtt_ms + r) / 4u : r);
		return;
	}
}

int
routing_heard(struct routing *rt, const uint8_t id[20], const struct dht_addr *addr,
	enum routing_contact how, uint64_t now_ms)
{
	int bi = bucket_of(rt, id);
	struct routing_bucket *b;
	struct routing_node *n;

	if (bi < 0 || addr->family != rt->family || addr->port == 0)
		return -1;
	b = &rt->b[bi];
	for (int i = 0; i < b->n; i++) {
		n = &b->nodes[i];
		if (memcmp(n->id, id, 20) != 0)
			continue;
		if (!dht_addr_eq(&n->addr, addr)) {
			/* An ID moving to another address is either a restart
			 * behind NAT or a spoof: only accept it once the old
			 * address stopped answering. */
			if (!node_bad(n) && !(contact(how) && routing_node_unverified(n)))
				return -1;
			node_set(n, id, addr, how, now_ms);
			return 1;
		}
		if (how == ROUTING_REPLY) {
			n->last_reply_ms = now_ms;
			n->fails = 0;
			b->changed_ms = now_ms;
		} else if (how == ROUTING_QUERY) {
			n->last_query_ms = now_ms;
		}
		return 1;
	}
	/* One node per host: a second ID from the same IP is refused while
	 * the first one is alive. */
	for (int j = 0; j < 160; j++) {
		struct routing_bucket *o = &rt->b[j];
		for (int i = 0; i < o->n; i++) {
			if (!same_host(rt, &o->nodes[i].addr, addr))
				continue;
			if (!node_bad(&o->nodes[i]) &&
			    !(contact(how) && routing_node_unverified(&o->nodes[i])))
				return -1;
			bucket_remove(o, i);
			break;
		}
	}
	if (bucket_alloc(rt, b) < 0)
		return -1;
	if (b->n < routing_bucket_cap(rt, bi)) {
		node_set(&b->nodes[b->n++], id, addr, how, now_ms);
		b->changed_ms = now_ms;
		return 1;
	}
	if (how == ROUTING_HEARD)
		return 0; /* not even a replacement candidate */
	for (int i = 0; i < b->n; i++) {
		if (node_bad(&b->nodes[i]) ||
		    (contact(how) && routing_node_unverified(&b->nodes[i]))) {
			node_set(&b->nodes[i], id, addr, how, now_ms);
			b->changed_ms = now_ms;
			return 1;
		}
	}
	/* BEP 42: prefer nodes whose ID matches their IP. */
	if (how == ROUTING_REPLY && !dht_addr_is_local(addr) && dht_bep42_valid(addr, id)) {
		for (int i = 0; i < b->n; i++) {
			if (!b->nodes[i].bep42_ok && !routing_node_good(&b->nodes[i], now_ms)) {
				node_set(&b->nodes[i], id, addr, how, now_ms);
				b->changed_ms = now_ms;
				return 1;
			}
		}
	}
	if (how != ROUTING_LOADED)
		add_candidate(rt, b, id, addr, how, now_ms);
	return 0;
}

/* Replace a bad node by the best candidate: one that replied, else any. */
static void
promote_candidate(struct routing_bucket *b, int i)
{
	int best = -1;

	for (int j = 0; j < b->nrep; j++) {
		if (best < 0 || b->rep[j].last_reply_ms > b->rep[best].last_reply_ms)
			best = j;
	}
	if (best < 0)
		return;
	b->nodes[i] = b->rep[best];
	b->rep[best] = b->rep[b->nrep - 1];
	b->nrep--;
}

void
routing_failed(struct routing *rt, const struct dht_addr *addr)
{
	for (int j = 0; j < 160; j++) {
		struct routing_bucket *b = &rt->b[j];
		for (int i = 0; i < b->n; i++) {
			if (!dht_addr_eq(&b->nodes[i].addr, addr))
				continue;
			if (b->nodes[i].fails < 255)
				b->nodes[i].fails++;
			if (node_bad(&b->nodes[i]))
				promote_candidate(b, i);
			return;
		}
	}
}

void
routing_revive(struct routing *rt)
{
	for (int j = 0; j < 160; j++) {
		struct routing_bucket *b = &rt->b[j];
		for (int i = 0; i < b->n; i++) {
			if (!node_bad(&b->nodes[i]))
				continue;
			b->nodes[i].fails = ROUTING_MAX_FAILS - 1;
			b->nodes[i].last_ping_ms = 0;
		}
	}
}

struct routing_node *
routing_find_addr(struct routing *rt, const struct dht_addr *addr)
{
	for (int j = 0; j < 160; j++) {
		struct routing_bucket *b = &rt->b[j];
		for (int i = 0; i < b->n; i++)
			if (dht_addr_eq(&b->nodes[i].addr, addr))
				return &b->nodes[i];
	}
	return NULL;
}

bool
routing_wants(const struct routing *rt, const uint8_t id[20], const struct dht_addr *addr)
{
	int bi = bucket_of(rt, id);
	const struct routing_bucket *b;

	if (bi < 0 || addr->family != rt->family || addr->port == 0)
		return false;
	b = &rt->b[bi];
	if (b->n >= routing_bucket_cap(rt, bi))
		return false;
	for (int i = 0; i < b->n; i++)
		if (memcmp(b->nodes[i].id, id, 20) == 0 || same_host(rt, &b->nodes[i].addr, addr))
			return false;
	return true;
}

/* The nodes closest to a target so far, sorted. Each is ranked by the
 * first 64 bits of its XOR distance (the full 160 only on a tie), so the
 * insertion compares two integers. */
struct closest {
	const uint8_t *target;
	uint64_t t64;
	size_t n, max;
	const struct routing_node *best[ROUTING_CLOSEST_MAX];
	uint64_t key[ROUTING_CLOSEST_MAX];
};

static bool
closer(const struct closest *cl, uint64_t key, const struct routing_node *c, size_t i)
{
	if (key != cl->key[i])
		return key < cl->key[i];
	return dht_id_cmp_dist(cl->target, c->id, cl->best[i]->id) < 0;
}

/* Insert bucket j's live nodes, bounded by max. */
static void
closest_from(const struct routing *rt, int j, struct closest *cl)
{
	const struct routing_bucket *b = &rt->b[j];

	for (int i = 0; i < b->n; i++) {
		const struct routing_node *c = &b->nodes[i];
		uint64_t key;
		size_t pos;
		if (node_bad(c))
			continue;
		key = bytes_get_be64(c->id) ^ cl->t64;
		pos = cl->n;
		while (pos > 0 && closer(cl, key, c, pos - 1))
			pos--;
		if (pos >= cl->max)
			continue;
		if (cl->n < cl->max)
			cl->n++;
		memmove(&cl->best[pos + 1], &cl->best[pos], (cl->n - 1 - pos) * sizeof(cl->best[0]));
		memmove(&cl->key[pos + 1], &cl->key[pos], (cl->n - 1 - pos) * sizeof(cl->key[0]));
		cl->best[pos] = c;
		cl->key[pos] = key;
	}
}

size_t
routing_closest(const struct routing *rt, const uint8_t target[20],
	struct routing_node *out, size_t max)
{
	/* Sorting pointers: moving whole nodes made this most of the cost
	 * of starting a look-up. */
	struct closest cl;
	int c;

	if (max > ROUTING_CLOSEST_MAX)
		max = ROUTING_CLOSEST_MAX;
	if (max == 0)
		return 0;
	cl.target = target;
	cl.t64 = bytes_get_be64(target);
	cl.n = 0;
	cl.max = max;
	/* With c = the bits the target shares with us: bucket c's nodes
	 * agree with the target on c + 1 bits, the deeper buckets' on c,
	 * and bucket j < c's on j. So bucket c, then every deeper bucket
	 * (sorted together), then c - 1 down to 0, each group wholly
	 * closer than the next. */
	c = dht_id_common_bits(rt->self, target);
	if (c < 160)
		closest_from(rt, c, &cl);
	if (cl.n < max) /* one group: every deeper bucket, sorted together */
		for (int j = c + 1; j < 160; j++)
			if (rt->b[j].n > 0)
				closest_from(rt, j, &cl);
	for (int j = (c < 160 ? c : 160) - 1; j >= 0 && cl.n < max; j--)
		closest_from(rt, j, &cl);
	for (size_t i = 0; i < cl.n; i++)
		out[i] = *cl.best[i];
	return cl.n;
}

int
routing_next_ping(struct routing *rt, uint64_t now_ms, struct routing_node *out)
{
	for (int j = 0; j < 160; j++) {
		struct routing_bucket *b = &rt->b[j];
		for (int i = 0; i < b->n; i++) {
			struct routing_node *n = &b->nodes[i];
			/* an unverified entry costs no ping: a look-up that
			 * asks it verifies it or finds it gone */
			if (routing_node_good(n, now_ms) || node_bad(n) ||
			    routing_node_unverified(n))
				continue;
			if (n->last_ping_ms && now_ms - n->last_ping_ms < ROUTING_PING_INTERVAL_MS)
				continue;
			n->last_ping_ms = now_ms;
			*out = *n;
			return 1;
		}
	}
	return 0;
}

int
routing_next_refresh(struct routing *rt, uint64_t now_ms, uint8_t target[20])
{
	int deepest = -1;

	for (int j = 0; j < 160; j++)
		if (rt->b[j].n > 0)
			deepest = j;
	/* Buckets past the deepest populated one would all be empty: the
	 * network is not dense enough there, refreshing them is noise. */
	for (int j = 0; j <= deepest + 1 && j < 160; j++) {
		struct routing_bucket *b = &rt->b[j];
		/* Each bucket once from the start: our own look-ups only
		 * explore the space near us, so the far buckets would stay
		 * empty (and the network look partitioned) until then. */
		if (b->refreshed && now_ms - b->changed_ms < ROUTING_REFRESH_MS)
			continue;
		b->refreshed = true;
		b->changed_ms = now_ms;
		randombytes_buf(target, 20);
		/* Keep our first j bits, flip bit j, random below. */
		for (int bit = 0; bit <= j; bit++) {
			uint8_t mask = (uint8_t)(0x80 >> (bit % 8));
			uint8_t want = rt->self[bit / 8] & mask;
			if (bit == j)
				want ^= mask;
			target[bit / 8] = (uint8_t)((target[bit / 8] & ~mask) | want);
		}
		return 1;
	}
	return 0;
}

void
routing_set_self(struct routing *rt, const uint8_t self[20], uint64_t now_ms)
{
	struct routing old = *rt;

	for (int i = 0; i < 160; i++) {
		rt->b[i].nodes = rt->b[i].rep = NULL;
		rt->b[i].n = rt->b[i].nrep = 0;
		rt->b[i].changed_ms = now_ms;
		rt->b[i].refreshed = false;
	}
	memcpy(rt->self, self, 20);
	for (int j = 0; j < 160; j++) {
		for (int i = 0; i < old.b[j].n; i++) {
			const struct routing_node *n = &old.b[j].nodes[i];
			int bi = bucket_of(rt, n->id);
			struct routing_bucket *b;
			if (bi < 0 || bucket_alloc(rt, &rt->b[bi]) < 0)
				continue;
			b = &rt->b[bi];
			if (b->n < routing_bucket_cap(rt, bi))
				b->nodes[b->n++] = *n;
		}
	}
	routing_free(&old);
}

size_t
routing_count(const struct routing *rt, uint64_t now_ms, size_t *good)
{
	size_t n = 0, g = 0;

	for (int j = 0; j < 160; j++) {
		for (int i = 0; i < rt->b[j].n; i++) {
			if (node_bad(&rt->b[j].nodes[i]))
				continue;
			n++;
			if (routing_node_good(&rt->b[j].nodes[i], now_ms))
				g++;
		}
	}
	if (good)
		*good = g;
	return n;
}

size_t
routing_all(const struct routing *rt, struct routing_node *out, size_t max)
{
	size_t n = 0;

	for (int j = 0; j < 160; j++)
		for (int i = 0; i < rt->b[j].n && n < max; i++)
			if (!node_bad(&rt->b[j].nodes[i]) &&
			    !routing_node_unverified(&rt->b[j].nodes[i]))
				out[n++] = rt->b[j].nodes[i];
	return n;
}
