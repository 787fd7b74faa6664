/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cache.c -- the pkarr packet cache (see cache.h).
 *
 * Each entry is one allocation: hash chain and LRU links, times, key,
 * signature, timestamp and exactly dns_len bytes of DNS message (a
 * flexible array member), about 180 bytes plus the message. The hash table
 * chains through the entries themselves (SipHash with a per-cache random
 * key, since keys are chosen by strangers), so it costs one bucket
 * pointer per one or two entries. Entries sit on one of two LRU lists:
 * packets and negative entries. Readers get a struct pkarr_packet rebuilt
 * into one scratch buffer the cache owns, or (pkarr_cache_get_view()) a
 * view of the entry itself with its index.
 *
 * The index (answer.h: where each record starts in the DNS message, its
 * type, TTL and owner's length, 12 bytes a record) is a second
 * allocation, built when the packet is stored or, for a packet read back
 * from disk, when its signature is checked; it is freed with the entry
 * and counted in the entry's bytes. So a packet is parsed once, not once
 * per question.
 *
 * LMDB mirrors the packet list: what is evicted from memory is deleted
 * from disk too, so the file stays bounded by the same budget and a
 * restart finds exactly what was held. When that budget is larger than
 * the file's (disk_budget, a quarter of the map: a capped map on 32-bit),
 * the file holds the most recently used part: entries flagged on_disk,
 * trimmed from the LRU tail by disk_make_room(). Packets read back from disk are
 * "unverified": only sizes and the key were checked, the signature is
 * checked when a reader would first see the packet (or by
 * pkarr_cache_verify_some()), so opening a large cache costs no Ed25519
 * work. Unverified entries are only ever made by load(), which appends
 * them at the tail; they are never moved before they are verified, so
 * they all lie between the verification cursor and the head.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>
#include <sodium.h>

#define LOG_MODULE "pkarr"
#include "util/log.h"

#include "pkarr/cache.h"
#include "pkarr/lmdbcheck.h"
#include "util/bytes.h"
#include "util/time.h"

#define DB_FILE "pkarr-packets.mdb"
/* Value on disk: stored_s (8, big endian) | pk | sig | ts | dns. */
#define DISK_HDR 8
#define DISK_MIN (DISK_HDR + 32 + PKARR_RELAY_HDR)
#define DISK_MAX (DISK_MIN + PKARR_MAX_DNS)
/* The allocator's chunks (glibc malloc): a size_t header, rounded up to
 * CHUNK_ALIGN bytes, CHUNK_MIN at least. */
#define CHUNK_ALIGN 16
#define CHUNK_MIN 32
/* Buckets of a new cache's hash table (grow() doubles them). */
#define BUCKETS_MIN 64
/* Records of the file collected at first (collect() doubles them). */
#define RECS_MIN 256

struct entry {
	struct entry *hnext;       /* hash chain */
	TAILQ_ENTRY(entry) lru;    /* LRU: the first is the most recent */
	uint64_t stored_s;
	uint64_t until_s; /* packet: end of freshness; negative: end */
	uint64_t ts_us;
	uint8_t pk[32];
	uint8_t sig[64];
	uint16_t dns_len;
	uint8_t negative;
	uint8_t verified; /* 0: read from disk, signature not checked yet */
	uint8_t on_disk;  /* a record of it is in the file (see disk_put()) */
	uint8_t nrr;      /* records in rr */
	struct pkarr_rr_ref *rr; /* the index; NULL until verified, or none */
	struct pkarr_source src; /* where it came from (memory only) */
	uint8_t dns[];
};

TAILQ_HEAD(entry_list, entry);

struct lru {
	struct entry_list q;
	size_t bytes;
};

#define LRU_FIRST(l) TAILQ_FIRST(&(l)->q)
#define LRU_LAST(l) TAILQ_LAST(&(l)->q, entry_list)
#define LRU_NEXT(e) TAILQ_NEXT((e), lru)
#define LRU_PREV(e) TAILQ_PREV((e), entry_list, lru)

struct pkarr_cache {
	struct pkarr_answer_params params;
	size_t max_bytes;
	uint8_t hkey[crypto_shorthash_KEYBYTES];
	struct entry **buckets;
	size_t nbuckets; /* power of two */
	size_t count;    /* entries of both kinds */
	size_t npackets;
	size_t nunverified;
	struct entry *vcursor; /* next entry pkarr_cache_verify_some() looks at */
	struct lru pos, neg;
	MDB_env *env; /* NULL: memory only */
	MDB_dbi dbi;
	uint64_t map_bytes;   /* the LMDB map asked for */
	uint64_t disk_budget; /* disk_cost() of the packets the file may hold */
	uint64_t disk_bytes;  /* disk_cost() of those it holds (on_disk) */
	struct entry *dtail;  /* packets after it are not on disk (or NULL) */
	bool map_full;        /* a write of this transaction hit MDB_MAP_FULL */
	char *dir;        /* the LMDB directory asked for, or NULL */
	bool disk_failed; /* said so once; quiet until it opens again */
	int hold;         /* pkarr_cache_hold_writes() depth */
	MDB_txn *held;    /* the write transaction they share, or NULL */
	struct pkarr_packet scratch; /* what get and foreach hand out */
};

static size_t
alloc_size(size_t dns_len)
{
	size_t n = offsetof(struct entry, dns) + dns_len;
	return n < sizeof(struct entry) ? sizeof(struct entry) : n;
}

/* What an entry really costs: the allocator's chunk (a size_t header,
 * 16-byte granules, 32 at least) plus its share of the bucket array,
 * which grow() keeps between one and two pointers per entry. */
static size_t
bytes_for(size_t dns_len)
{
	size_t chunk = (alloc_size(dns_len) + sizeof(size_t) + CHUNK_ALIGN - 1) &
		       ~(size_t)(CHUNK_ALIGN - 1);

	if (chunk < CHUNK_MIN)
		chunk = CHUNK_MIN;
	return chunk + 2 * sizeof(struct entry *);
}

/* What an index of n records costs: its chunk (as in bytes_for). */
static size_t
index_bytes(size_t n)
{
	size_t chunk;

	if (n == 0)
		return 0;
	chunk = (n * sizeof(struct pkarr_rr_ref) + sizeof(size_t) + CHUNK_ALIGN - 1) &
		~(size_t)(CHUNK_ALIGN - 1);
	return chunk < CHUNK_MIN ? CHUNK_MIN : chunk;
}

static size_t
entry_bytes(const struct entry *e)
{
	return bytes_for(e->dns_len) + index_bytes(e->nrr);
}

/* What a record takes in the file: its value, its key, LMDB's node header
 * and index slot. Pages are not full and a write transaction copies the
 * pages it touches, hence a map four times the budget (see
 * pkarr_cache_map_size() and disk_rebuild()). */
static uint64_t
disk_cost(size_t dns_len)
{
	return DISK_MIN + (uint64_t)dns_len + 32 + 8 + 2;
}

static uint64_t
expire_of(const struct entry *e)
{
	return e->negative ? e->until_s : e->until_s + PKARR_CACHE_STALE_MAX_S;
}

static size_t
bucket_of(const struct pkarr_cache *c, const uint8_t pk[32])
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v = 0;

	crypto_shorthash(h, pk, 32, c->hkey);
	for (int i = 0; i < 8; i++)
		v = (v << 8) | h[i];
	return (size_t)(v & (c->nbuckets - 1));
}

static struct entry *
find(const struct pkarr_cache *c, const uint8_t pk[32])
{
	for (struct entry *e = c->buckets[bucket_of(c, pk)]; e; e = e->hnext)
		if (memcmp(e->pk, pk, 32) == 0)
			return e;
	return NULL;
}

static struct lru *
list_of(struct pkarr_cache *c, const struct entry *e)
{
	return e->negative ? &c->neg : &c->pos;
}

static void
lru_unlink(struct pkarr_cache *c, struct lru *l, struct entry *e)
{
	/* Whatever leaves its place, the cursor goes on towards the head. */
	if (c->vcursor == e)
		c->vcursor = LRU_PREV(e);
	if (c->dtail == e)
		c->dtail = LRU_PREV(e);
	TAILQ_REMOVE(&l->q, e, lru);
}

static void
lru_push_head(struct lru *l, struct entry *e)
{
	TAILQ_INSERT_HEAD(&l->q, e, lru);
}

static void
lru_push_tail(struct lru *l, struct entry *e)
{
	TAILQ_INSERT_TAIL(&l->q, e, lru);
}

static void
lru_touch(struct pkarr_cache *c, struct entry *e)
{
	struct lru *l = list_of(c, e);
	lru_unlink(c, l, e);
	lru_push_head(l, e);
}

static int
grow(struct pkarr_cache *c)
{
	size_t n = c->nbuckets * 2;
	struct entry **nb = calloc(n, sizeof(*nb));
	struct entry **old = c->buckets;
	size_t oldn = c->nbuckets;

	if (nb == NULL)
		return -1; /* longer chains, still correct */
	c->buckets = nb;
	c->nbuckets = n;
	for (size_t i = 0; i < oldn; i++) {
		struct entry *e = old[i], *next;
		for (; e; e = next) {
			size_t b = bucket_of(c, e->pk);
			next = e->hnext;
			e->hnext = nb[b];
			nb[b] = e;
		}
	}
	free(old);
	return 0;
}

static void
link_entry(struct pkarr_cache *c, struct entry *e, bool at_tail)
{
	size_t b;

	if (c->count >= c->nbuckets)
		(void)grow(c);
	b = bucket_of(c, e->pk);
	e->hnext = c->buckets[b];
	c->buckets[b] = e;
	c->count++;
	if (!e->negative) {
		c->npackets++;
		if (!e->verified)
			c->nunverified++;
	}
	if (at_tail)
		lru_push_tail(list_of(c, e), e);
	else
		lru_push_head(list_of(c, e), e);
	list_of(c, e)->bytes += entry_bytes(e);
	if (e->on_disk)
		c->disk_bytes += disk_cost(e->dns_len);
}

static void
unlink_entry(struct pkarr_cache *c, struct entry *e)
{
	struct entry **pp = &c->buckets[bucket_of(c, e->pk)];

	while (*pp && *pp != e)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = e->hnext;
	c->count--;
	if (!e->negative) {
		c->npackets--;
		if (!e->verified)
			c->nunverified--;
	}
	lru_unlink(c, list_of(c, e), e);
	list_of(c, e)->bytes -= entry_bytes(e);
	if (e->on_disk)
		c->disk_bytes -= disk_cost(e->dns_len);
}

static struct entry *
entry_alloc(size_t dns_len)
{
	return calloc(1, alloc_size(dns_len));
}

static struct entry *
entry_from_packet(const struct pkarr_packet *pkt)
{
	struct entry *e;

	if (pkt->dns_len > PKARR_MAX_DNS)
		return NULL;
	e = entry_alloc(pkt->dns_len);
	if (e == NULL)
		return NULL;
	memcpy(e->pk, pkt->pk, 32);
	memcpy(e->sig, pkt->sig, 64);
	e->ts_us = pkt->ts_us;
	e->dns_len = (uint16_t)pkt->dns_len;
	memcpy(e->dns, pkt->dns, pkt->dns_len);
	e->verified = 1;
	return e;
}

static void
entry_to_packet(const struct entry *e, struct pkarr_packet *out)
{
	memcpy(out->pk, e->pk, 32);
	memcpy(out->sig, e->sig, 64);
	out->ts_us = e->ts_us;
	out->dns_len = e->dns_len;
	memcpy(out->dns, e->dns, e->dns_len);
}

/* ---- LMDB ---------------------------------------------------------- */

static void
disk_close(struct pkarr_cache *c)
{
	if (c->env == NULL)
		return;
	if (c->held != NULL)
		mdb_txn_abort(c->held);
	c->held = NULL;
	mdb_env_close(c->env);
	c->env = NULL;
	for (struct entry *e = LRU_FIRST(&c->pos); e != NULL; e = LRU_NEXT(e))
		e->on_disk = 0;
	c->disk_bytes = 0;
	c->dtail = NULL;
	c->map_full = false;
}

static void disk_rebuild(struct pkarr_cache *c);

/* The disk refused a write (full, read-only, I/O error, map full): the
 * cache goes on in memory, and pkarr_cache_open_disk() later writes what
 * memory holds back. One line, not one per packet. */
static void
disk_failed(struct pkarr_cache *c, const char *what, int rc)
{
	log_err("packet cache: %s/" DB_FILE ": lmdb %s: %s; memory only until "
		"it can be reopened", c->dir ? c->dir : "?", what, mdb_strerror(rc));
	c->disk_failed = true;
	disk_close(c);
}

static MDB_txn *
txn_begin(struct pkarr_cache *c)
{
	MDB_txn *txn = NULL;
	int rc;

	if (c->env == NULL)
		return NULL;
	if (c->hold > 0 && c->held != NULL)
		return c->held;
	rc = mdb_txn_begin(c->env, NULL, 0, &txn);
	if (rc != 0) {
		disk_failed(c, "begin", rc);
		return NULL;
	}
	if (c->hold > 0)
		c->held = txn;
	return txn;
}

/* Commit, unless writes are held: then pkarr_cache_release_writes() does. */
static void
txn_commit(struct pkarr_cache *c, MDB_txn *txn)
{
	int rc;

	if (txn == NULL || txn == c->held)
		return;
	if (c->map_full) {
		mdb_txn_abort(txn);
		disk_rebuild(c);
		return;
	}
	rc = mdb_txn_commit(txn);
	if (rc == MDB_MAP_FULL)
		disk_rebuild(c);
	else if (rc != 0)
		disk_failed(c, "commit", rc);
}

void
pkarr_cache_hold_writes(struct pkarr_cache *c)
{
	if (c != NULL)
		c->hold++;
}

void
pkarr_cache_release_writes(struct pkarr_cache *c)
{
	MDB_txn *txn;

	if (c == NULL || c->hold == 0 || --c->hold > 0)
		return;
	txn = c->held;
	c->held = NULL;
	txn_commit(c, txn);
}

/* A write failed: after MDB_MAP_FULL the transaction is dead (every later
 * call says MDB_BAD_TXN) and its commit rebuilds the file instead. */
static void
disk_error(struct pkarr_cache *c, const char *what, int rc)
{
	if (rc == MDB_MAP_FULL)
		c->map_full = true;
	else if (!c->map_full)
		log_warn("packet cache: lmdb %s: %s", what, mdb_strerror(rc));
}

static void
disk_del(struct pkarr_cache *c, MDB_txn *txn, const uint8_t pk[32])
{
	MDB_val k;
	int rc;

	if (txn == NULL)
		return;
	k.mv_data = (void *)(uintptr_t)pk;
	k.mv_size = 32;
	rc = mdb_del(txn, c->dbi, &k, NULL);
	if (rc != 0 && rc != MDB_NOTFOUND)
		disk_error(c, "del", rc);
}

/* Delete e's record; e stays in memory. */
static void
disk_forget(struct pkarr_cache *c, MDB_txn *txn, struct entry *e)
{
	if (txn == NULL || !e->on_disk)
		return;
	disk_del(c, txn, e->pk);
	e->on_disk = 0;
	c->disk_bytes -= disk_cost(e->dns_len);
}

/* Bring the file's packets under its budget less need by deleting the
 * records of the least recently used packets other than keep (they stay
 * in memory). dtail remembers where the last walk stopped, so a file that
 * holds a small part of memory costs no walk over the rest. */
static bool
disk_make_room(struct pkarr_cache *c, MDB_txn *txn, uint64_t need,
	       const struct entry *keep)
{
	struct entry *v = c->dtail != NULL ? c->dtail : LRU_LAST(&c->pos);

	while (c->disk_bytes + need > c->disk_budget && v != NULL &&
	       v != keep) {
		struct entry *prev = LRU_PREV(v);

		disk_forget(c, txn, v);
		c->dtail = prev;
		v = prev;
	}
	return c->disk_bytes + need <= c->disk_budget;
}

/* Write e through (it must be the head of the list, or load() and
 * disk_rebuild() fix dtail). had_record: the file holds a record for e's
 * key that e replaces (deleted when e cannot be written). */
static void
disk_put(struct pkarr_cache *c, MDB_txn *txn, struct entry *e, bool had_record)
{
	uint8_t buf[DISK_MAX];
	uint8_t *p = buf;
	uint64_t cost = disk_cost(e->dns_len);
	MDB_val k, v;
	int rc;

	if (txn == NULL || e->negative)
		return;
	if (e->on_disk) {
		e->on_disk = 0;
		c->disk_bytes -= cost;
		had_record = true;
	}
	if (!disk_make_room(c, txn, cost, e)) {
		if (had_record)
			disk_del(c, txn, e->pk);
		return;
	}
	bytes_put_be64(p, e->stored_s);
	p += DISK_HDR;
	memcpy(p, e->pk, 32);
	p += 32;
	memcpy(p, e->sig, 64);
	p += 64;
	bytes_put_be64(p, e->ts_us);
	p += 8;
	memcpy(p, e->dns, e->dns_len);
	k.mv_data = (void *)(uintptr_t)e->pk;
	k.mv_size = 32;
	v.mv_data = buf;
	v.mv_size = DISK_MIN + e->dns_len;
	rc = mdb_put(txn, c->dbi, &k, &v, 0);
	if (rc != 0) {
		disk_error(c, "put", rc);
		return;
	}
	e->on_disk = 1;
	c->disk_bytes += cost;
}

/* ---- entries ------------------------------------------------------- */

/* Every entry is freed here: its index with it. */
static void
entry_free(struct entry *e)
{
	if (e != NULL)
		free(e->rr);
	free(e);
}


static void
drop(struct pkarr_cache *c, struct entry *e, MDB_txn *txn)
{
	bool was_on_disk = e->on_disk;

	unlink_entry(c, e);
	if (was_on_disk)
		disk_del(c, txn, e->pk);
	entry_free(e);
}

/* drop() in a transaction of its own */
static void
drop_now(struct pkarr_cache *c, struct entry *e)
{
	MDB_txn *txn = e->on_disk ? txn_begin(c) : NULL;

	drop(c, e, txn);
	txn_commit(c, txn);
}

/* The least recently used entry of a list other than keep. */
static struct entry *
victim_of(struct lru *l, const struct entry *keep)
{
	struct entry *v = LRU_LAST(l);

	return v != NULL && v == keep ? LRU_PREV(v) : v;
}

/* Keep negatives under a quarter of the budget and everything under it,
 * never evicting keep, the entry just stored: its caller answers from it
 * (a cache smaller than one packet, or with less room than a negative
 * entry, must still answer the question that filled it). keep alone may
 * stay over the budget until the next store. */
static void
evict(struct pkarr_cache *c, MDB_txn *txn, const struct entry *keep)
{
	struct entry *v;

	while (c->neg.bytes > c->max_bytes / 4 && (v = victim_of(&c->neg, keep)))
		drop(c, v, txn);
	while (c->pos.bytes + c->neg.bytes > c->max_bytes) {
		v = victim_of(&c->neg, keep);
		if (v == NULL)
			v = victim_of(&c->pos, keep);
		if (v == NULL)
			break;
		drop(c, v, txn);
	}
}

/* The view of a packet entry (its index must be built). */
static void
entry_view(const struct entry *e, struct pkarr_view *v)
{
	v->pk = e->pk;
	v->ts_us = e->ts_us;
	v->dns = e->dns;
	v->dns_len = e->dns_len;
	v->rr = e->rr;
	v->n = e->nrr;
}

/* Build e's index from its DNS message. e must not be linked (its bytes
 * change). @return 0, PKARR_E_DNS or PKARR_E_NOMEM */
static int
build_index(struct entry *e)
{
	struct pkarr_rr_ref rr[PKARR_MAX_RECORDS];
	size_t n = 0;

	if (pkarr_index_build(e->dns, e->dns_len, e->pk, rr, &n) < 0)
		return PKARR_E_DNS;
	free(e->rr);
	e->rr = NULL;
	e->nrr = 0;
	if (n > 0) {
		e->rr = malloc(n * sizeof(rr[0]));
		if (e->rr == NULL)
			return PKARR_E_NOMEM;
		memcpy(e->rr, rr, n * sizeof(rr[0]));
	}
	e->nrr = (uint8_t)n;
	return 0;
}

/* Freshness of the packet entry e (its index built) stored at stored_s. */
static void
set_times(struct pkarr_cache *c, struct entry *e, uint64_t stored_s)
{
	struct pkarr_view v;

	entry_view(e, &v);
	e->stored_s = stored_s;
	e->until_s = stored_s + pkarr_view_min_ttl(&v, &c->params);
}

/* Check the signature of a packet read from disk before anyone sees it.
 * One that fails is deleted from memory and disk: 0 or -1 (e is freed). */
static int
ensure_verified(struct pkarr_cache *c, struct entry *e)
{
	int rc;

	if (e->verified || e->negative)
		return 0;
	entry_to_packet(e, &c->scratch);
	rc = pkarr_packet_verify(&c->scratch);
	if (rc == 0) {
		/* the index adds to the entry's bytes: out and back in */
		struct lru *l = list_of(c, e);
		l->bytes -= entry_bytes(e);
		rc = build_index(e);
		l->bytes += entry_bytes(e);
	}
	if (rc == 0)
		set_times(c, e, e->stored_s);
	if (rc < 0) {
		log_warn("packet cache: dropped a packet from disk: %s",
			 pkarr_strerror(rc));
		drop_now(c, e);
		return -1;
	}
	e->verified = 1;
	c->nunverified--;
	return 0;
}

/* Is packet a better than entry b for one key? (higher seq, then larger
 * value: the tie rule of the Mainline DHT implementations) */
static int
compare_packets(const struct pkarr_packet *a, const struct entry *b)
{
	size_t n;
	int d;

	if (a->ts_us != b->ts_us)
		return a->ts_us > b->ts_us ? 1 : -1;
	n = a->dns_len < b->dns_len ? a->dns_len : b->dns_len;
	d = memcmp(a->dns, b->dns, n);
	if (d != 0)
		return d > 0 ? 1 : -1;
	if (a->dns_len != b->dns_len)
		return a->dns_len > b->dns_len ? 1 : -1;
	return 0;
}

int
pkarr_cache_put(struct pkarr_cache *c, const struct pkarr_packet *pkt,
		uint64_t now_s)
{
	int rc;

	if (c == NULL || pkt == NULL)
		return PKARR_E_INVAL;
	rc = pkarr_packet_verify(pkt);
	if (rc < 0)
		return rc;
	return pkarr_cache_put_verified(c, pkt, now_s);
}

int
pkarr_cache_put_verified(struct pkarr_cache *c, const struct pkarr_packet *pkt,
			 uint64_t now_s)
{
	return pkarr_cache_put_from(c, pkt, now_s, NULL, false);
}

int
pkarr_cache_put_from(struct pkarr_cache *c, const struct pkarr_packet *pkt,
		     uint64_t now_s, const struct pkarr_source *src, bool verify)
{
	struct entry *old, *e;
	MDB_txn *txn;
	bool had_record;
	int result, rc;

	if (c == NULL || pkt == NULL)
		return PKARR_E_INVAL;
	if (verify && (rc = pkarr_packet_verify(pkt)) < 0)
		return rc;
	if (pkt->dns_len > PKARR_MAX_DNS)
		return PKARR_E_SIZE;
	/* Dated further ahead than clocks drift: as the highest seq it would
	 * keep the owner's real packets out (see PKARR_FUTURE_MAX_S). */
	if (pkarr_packet_check_time(pkt->ts_us, now_s) < 0)
		return PKARR_E_FUTURE;
	old = find(c, pkt->pk);
	/* An unchecked packet from disk must not keep a good one out. */
	if (old != NULL && ensure_verified(c, old) < 0)
		old = NULL;
	if (old != NULL && !old->negative) {
		/* one held from before the clock was set is no better */
		int cmp = pkarr_packet_check_time(old->ts_us, now_s) < 0
				  ? 1
				  : compare_packets(pkt, old);
		if (cmp < 0)
			return PKARR_PUT_OLDER;
		if (cmp == 0) {
			/* Seen again on the DHT: fresh for another TTL. */
			set_times(c, old, now_s);
			if (src != NULL && src->kind != PKARR_SOURCE_UNKNOWN)
				old->src = *src;
			lru_touch(c, old);
			txn = txn_begin(c);
			disk_put(c, txn, old, false);
			txn_commit(c, txn);
			return PKARR_PUT_SAME;
		}
	}
	e = entry_from_packet(pkt);
	if (e == NULL)
		return PKARR_E_NOMEM;
	rc = build_index(e);
	if (rc < 0) {
		entry_free(e);
		return rc;
	}
	set_times(c, e, now_s);
	if (src != NULL)
		e->src = *src;
	result = (old != NULL && !old->negative) ? PKARR_PUT_NEWER : PKARR_PUT_NEW;
	had_record = old != NULL && old->on_disk;
	if (old != NULL) {
		unlink_entry(c, old);
		entry_free(old);
	}
	link_entry(c, e, false);
	txn = txn_begin(c);
	disk_put(c, txn, e, had_record);
	evict(c, txn, e);
	txn_commit(c, txn);
	return result;
}

int
pkarr_cache_put_negative(struct pkarr_cache *c, const uint8_t pk[32],
			 uint64_t now_s, uint32_t ttl_s)
{
	struct entry *e;

	if (c == NULL || pk == NULL)
		return PKARR_E_INVAL;
	e = find(c, pk);
	if (e != NULL && !e->negative) {
		if (ensure_verified(c, e) == 0)
			return 1;
		e = NULL;
	}
	if (e == NULL) {
		e = entry_alloc(0);
		if (e == NULL)
			return PKARR_E_NOMEM;
		memcpy(e->pk, pk, 32);
		e->negative = 1;
		link_entry(c, e, false);
	} else {
		lru_touch(c, e);
	}
	e->stored_s = now_s;
	/* 0 would expire it before anyone could read it */
	e->until_s = now_s + (ttl_s > 0 ? ttl_s : 1);
	evict(c, NULL, e);
	return 0;
}

/* pkarr_cache_get() without the scratch copy: the state, and in *ep
 * the entry for FRESH and STALE. */
static enum pkarr_cache_state
get_entry(struct pkarr_cache *c, const uint8_t pk[32], uint64_t now_s,
	  struct entry **ep)
{
	struct entry *e;

	*ep = NULL;
	if (c == NULL || pk == NULL)
		return PKARR_CACHE_MISS;
	e = find(c, pk);
	if (e == NULL || ensure_verified(c, e) < 0)
		return PKARR_CACHE_MISS;
	if (now_s >= expire_of(e)) {
		drop_now(c, e);
		return PKARR_CACHE_MISS;
	}
	/* Dated ahead of the clock (read back from disk after the clock
	 * was set back, or taken while it was unset): not served until the
	 * clock catches up, but kept. Any current packet replaces it. */
	if (!e->negative && pkarr_packet_check_time(e->ts_us, now_s) < 0)
		return PKARR_CACHE_MISS;
	lru_touch(c, e);
	if (e->negative)
		return PKARR_CACHE_NEGATIVE;
	*ep = e;
	return now_s < e->until_s ? PKARR_CACHE_FRESH : PKARR_CACHE_STALE;
}

enum pkarr_cache_state
pkarr_cache_get(struct pkarr_cache *c, const uint8_t pk[32], uint64_t now_s,
		const struct pkarr_packet **out)
{
	struct entry *e;
	enum pkarr_cache_state st = get_entry(c, pk, now_s, &e);

	if (out != NULL)
		*out = NULL;
	if (e != NULL && out != NULL) {
		entry_to_packet(e, &c->scratch);
		*out = &c->scratch;
	}
	return st;
}

enum pkarr_cache_state
pkarr_cache_get_view(struct pkarr_cache *c, const uint8_t pk[32],
		     uint64_t now_s, struct pkarr_view *out)
{
	struct entry *e;
	enum pkarr_cache_state st;

	if (out == NULL)
		return PKARR_CACHE_MISS;
	memset(out, 0, sizeof(*out));
	st = get_entry(c, pk, now_s, &e);
	if (e != NULL)
		entry_view(e, out);
	return st;
}

int
pkarr_cache_times(struct pkarr_cache *c, const uint8_t pk[32],
		  uint64_t *stored_s, uint64_t *fresh_until_s)
{
	struct entry *e;

	if (c == NULL || pk == NULL)
		return PKARR_E_INVAL;
	e = find(c, pk);
	if (e == NULL || e->negative || ensure_verified(c, e) < 0)
		return PKARR_E_INVAL;
	if (stored_s != NULL)
		*stored_s = e->stored_s;
	if (fresh_until_s != NULL)
		*fresh_until_s = e->until_s;
	return 0;
}

int
pkarr_cache_source(const struct pkarr_cache *c, const uint8_t pk[32],
		   struct pkarr_source *out)
{
	const struct entry *e;

	if (c == NULL || pk == NULL || out == NULL)
		return PKARR_E_INVAL;
	e = find(c, pk);
	if (e == NULL || e->negative)
		return PKARR_E_INVAL;
	*out = e->src;
	return 0;
}

void
pkarr_source_from_sockaddr(struct pkarr_source *s, enum pkarr_source_kind kind,
			   const struct sockaddr *sa, bool with_port)
{
	memset(s, 0, sizeof(*s));
	s->kind = (uint8_t)kind;
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		s->family = 4;
		memcpy(s->ip, &in->sin_addr, 4);
		s->port = with_port ? ntohs(in->sin_port) : 0;
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		s->family = 6;
		memcpy(s->ip, &in6->sin6_addr, 16);
		s->port = with_port ? ntohs(in6->sin6_port) : 0;
	}
}

/* "192.0.2.1", "2001:db8::1"; with a port "192.0.2.1:6881",
 * "[2001:db8::1]:6881"; "?" without an address. */
static const char *
source_addr_str(const struct pkarr_source *s, char *buf, size_t cap)
{
	char ip[INET6_ADDRSTRLEN];

	if ((s->family != 4 && s->family != 6) ||
	    inet_ntop(s->family == 4 ? AF_INET : AF_INET6, s->ip, ip, sizeof(ip)) == NULL)
		snprintf(buf, cap, "?");
	else if (s->port == 0)
		snprintf(buf, cap, "%s", ip);
	else
		snprintf(buf, cap, s->family == 6 ? "[%s]:%u" : "%s:%u", ip,
			 (unsigned)s->port);
	return buf;
}

const char *
pkarr_source_str(const struct pkarr_source *s, const char *relay_url, char *buf,
		 size_t cap)
{
	char a[INET6_ADDRSTRLEN + 8];

	if (buf == NULL || cap == 0)
		return buf;
	switch (s != NULL ? s->kind : PKARR_SOURCE_UNKNOWN) {
	case PKARR_SOURCE_DHT:
		snprintf(buf, cap, "DHT node %s", source_addr_str(s, a, sizeof(a)));
		break;
	case PKARR_SOURCE_RELAY:
		if (relay_url != NULL)
			snprintf(buf, cap, "relay %s", relay_url);
		else
			snprintf(buf, cap, "relay #%u", (unsigned)s->port);
		break;
	case PKARR_SOURCE_RELAY_PUT:
		snprintf(buf, cap, "relay PUT from %s", source_addr_str(s, a, sizeof(a)));
		break;
	case PKARR_SOURCE_DISK:
		snprintf(buf, cap, "disk cache (cache-dir, read at start)");
		break;
	default:
		snprintf(buf, cap, "unknown");
		break;
	}
	return buf;
}

int
pkarr_cache_remove(struct pkarr_cache *c, const uint8_t pk[32])
{
	struct entry *e;

	if (c == NULL || pk == NULL)
		return PKARR_E_INVAL;
	e = find(c, pk);
	if (e == NULL)
		return 1;
	drop_now(c, e);
	return 0;
}

int
pkarr_cache_foreach(struct pkarr_cache *c, pkarr_cache_cb cb, void *ctx)
{
	struct entry *e, *next;

	if (c == NULL || cb == NULL)
		return PKARR_E_INVAL;
	for (e = LRU_FIRST(&c->pos); e; e = next) {
		int rc;

		/* ensure_verified() may free e, nothing else */
		next = LRU_NEXT(e);
		if (ensure_verified(c, e) < 0)
			continue;
		entry_to_packet(e, &c->scratch);
		rc = cb(ctx, &c->scratch, e->stored_s);
		if (rc != 0)
			return rc;
	}
	return 0;
}

size_t
pkarr_cache_verify_some(struct pkarr_cache *c, size_t max)
{
	size_t done = 0;

	if (c == NULL)
		return 0;
	while (c->nunverified > 0 && done < max) {
		struct entry *e = c->vcursor;

		if (e == NULL) {
			/* cannot happen (see the top of the file); recover */
			c->vcursor = LRU_LAST(&c->pos);
			if (c->vcursor == NULL)
				break;
			continue;
		}
		c->vcursor = LRU_PREV(e);
		if (!e->verified) {
			(void)ensure_verified(c, e);
			done++;
		}
	}
	return c->nunverified;
}

size_t
pkarr_cache_count(const struct pkarr_cache *c)
{
	return c ? c->npackets : 0;
}

size_t
pkarr_cache_bytes(const struct pkarr_cache *c)
{
	return c ? c->pos.bytes + c->neg.bytes : 0;
}

/* ---- open / load --------------------------------------------------- */

/* A record found on disk; val points into the map, valid until the
 * transaction's first write. */
struct rec {
	uint64_t stored_s;
	const uint8_t *val;
	size_t len;
};

static int
by_stored_desc(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;

	if (x->stored_s != y->stored_s)
		return x->stored_s > y->stored_s ? -1 : 1;
	/* keys are unique: a total order, so loads are reproducible */
	return memcmp(x->val + DISK_HDR, y->val + DISK_HDR, 32);
}

/* The checks that cost nothing: sizes, the key inside the value is the
 * record's key. The signature waits for ensure_verified(). A timestamp
 * ahead of the clock is no reason to delete: the clock may be the one
 * that is wrong (set back at boot), and the packet becomes valid when it
 * catches up; pkarr_cache_get() does not serve it before. */
static bool
rec_sane(const MDB_val *k, const MDB_val *v)
{
	return k->mv_size == 32 && v->mv_size >= DISK_MIN &&
	       v->mv_size <= DISK_MAX &&
	       memcmp((const uint8_t *)v->mv_data + DISK_HDR, k->mv_data, 32) ==
		       0;
}

static struct entry *
entry_from_disk(const struct rec *r)
{
	size_t dns_len = r->len - DISK_MIN;
	const uint8_t *p = r->val + DISK_HDR;
	struct entry *e = entry_alloc(dns_len);

	if (e == NULL)
		return NULL;
	e->stored_s = r->stored_s;
	memcpy(e->pk, p, 32);
	memcpy(e->sig, p + 32, 64);
	e->ts_us = bytes_get_be64(p + 96);
	e->dns_len = (uint16_t)dns_len;
	memcpy(e->dns, p + 32 + PKARR_RELAY_HDR, dns_len);
	e->on_disk = 1;
	/* the file keeps no source (its format predates it) */
	e->src.kind = PKARR_SOURCE_DISK;
	return e;
}

/* Delete the records that fail rec_sane(). Keys are copied out first:
 * a write may move what a cursor points at. */
static size_t
delete_insane(struct pkarr_cache *c, MDB_txn *txn)
{
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	uint8_t *keys = NULL; /* (size_t length, bytes) records */
	size_t used = 0, cap = 0, n = 0;
	int op = MDB_FIRST;

	if (mdb_cursor_open(txn, c->dbi, &cur) != 0)
		return 0;
	while (mdb_cursor_get(cur, &k, &v, op) == 0) {
		size_t need = sizeof(size_t) + k.mv_size;

		op = MDB_NEXT;
		if (rec_sane(&k, &v))
			continue;
		if (used + need > cap) {
			size_t ncap = (cap ? cap * 2 : 4096) + need;
			uint8_t *nk = realloc(keys, ncap);
			if (nk == NULL)
				break;
			keys = nk;
			cap = ncap;
		}
		memcpy(keys + used, &k.mv_size, sizeof(size_t));
		memcpy(keys + used + sizeof(size_t), k.mv_data, k.mv_size);
		used += need;
	}
	mdb_cursor_close(cur);
	for (size_t off = 0; off < used; n++) {
		memcpy(&k.mv_size, keys + off, sizeof(size_t));
		k.mv_data = keys + off + sizeof(size_t);
		off += sizeof(size_t) + k.mv_size;
		if (mdb_del(txn, c->dbi, &k, NULL) != 0)
			log_warn("packet cache: cannot delete a bad record");
	}
	free(keys);
	return n;
}

/* Collect every sane record; 0, or -1 when out of memory. */
static int
collect(struct pkarr_cache *c, MDB_txn *txn, struct rec **out, size_t *n_out,
	size_t *bad)
{
	struct rec *v = NULL;
	size_t n = 0, cap = 0;
	MDB_cursor *cur = NULL;
	MDB_val k, val;
	int op = MDB_FIRST;

	*bad = 0;
	if (mdb_cursor_open(txn, c->dbi, &cur) != 0)
		return -1;
	while (mdb_cursor_get(cur, &k, &val, op) == 0) {
		op = MDB_NEXT;
		if (!rec_sane(&k, &val)) {
			(*bad)++;
			continue;
		}
		if (find(c, k.mv_data) != NULL)
			continue; /* memory knows newer: written back by load() */
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : RECS_MIN;
			struct rec *nv = realloc(v, ncap * sizeof(*nv));
			if (nv == NULL) {
				mdb_cursor_close(cur);
				free(v);
				return -1;
			}
			v = nv;
			cap = ncap;
		}
		v[n].val = val.mv_data;
		v[n].len = val.mv_size;
		v[n].stored_s = bytes_get_be64(val.mv_data);
		n++;
	}
	mdb_cursor_close(cur);
	*out = v;
	*n_out = n;
	return 0;
}

/* Make the file hold the most recently used packets up to its budget:
 * delete the records of those beyond it, write those within it that it
 * lacks. reopened: memory held packets before load() (their keys were
 * skipped on disk: a record may be there). */
static void
disk_fit(struct pkarr_cache *c, MDB_txn *txn, bool reopened)
{
	struct entry *e, *last = NULL;
	uint64_t used = 0;

	for (e = LRU_FIRST(&c->pos); e != NULL; e = LRU_NEXT(e)) {
		uint64_t cost = disk_cost(e->dns_len);

		if (used + cost > c->disk_budget)
			break;
		used += cost;
		last = e;
	}
	for (e = last != NULL ? LRU_NEXT(last) : LRU_FIRST(&c->pos); e != NULL;
	     e = LRU_NEXT(e)) {
		if (e->on_disk)
			disk_forget(c, txn, e);
		else if (reopened)
			disk_del(c, txn, e->pk);
	}
	c->dtail = last;
	for (e = LRU_FIRST(&c->pos); last != NULL && e != LRU_NEXT(last);
	     e = LRU_NEXT(e))
		if (!e->on_disk)
			disk_put(c, txn, e, reopened);
}

/* Read the records back newest first until the budget is full, appending
 * each at the LRU tail so the newest ends up at the head. Signatures are
 * not checked here (see ensure_verified()). Records that do not fit are
 * deleted from disk, as if they had been evicted. When the disk comes
 * back after running memory-only, keys memory holds are skipped and
 * memory's packets are written back. The file keeps at most its budget
 * (disk_fit()). */
static int
load(struct pkarr_cache *c)
{
	struct rec *v = NULL;
	uint8_t *excess = NULL;
	size_t n = 0, used = 0, nexcess = 0, bad = 0;
	size_t before = c->npackets;
	MDB_txn *txn = txn_begin(c);

	if (txn == NULL)
		return -1;
	if (collect(c, txn, &v, &n, &bad) < 0) {
		mdb_txn_abort(txn);
		return -1;
	}
	if (n > 0)
		qsort(v, n, sizeof(*v), by_stored_desc);
	for (; used < n; used++) {
		struct entry *e;

		if (c->pos.bytes + bytes_for(v[used].len - DISK_MIN) >
		    c->max_bytes)
			break;
		e = entry_from_disk(&v[used]);
		if (e == NULL)
			break;
		link_entry(c, e, true);
	}
	/* The map pointers die with the first write: copy keys first. */
	if (used < n) {
		excess = malloc((n - used) * 32);
		if (excess != NULL) {
			nexcess = n - used;
			for (size_t i = 0; i < nexcess; i++)
				memcpy(excess + 32 * i,
				       v[used + i].val + DISK_HDR, 32);
		}
	}
	free(v);
	if (bad > 0)
		bad = delete_insane(c, txn);
	for (size_t i = 0; i < nexcess; i++)
		disk_del(c, txn, excess + 32 * i);
	free(excess);
	disk_fit(c, txn, before > 0);
	txn_commit(c, txn);
	if (c->env == NULL)
		return -1; /* the commit failed: memory only again */
	c->vcursor = LRU_LAST(&c->pos);
	if (bad > 0)
		log_warn("packet cache: dropped %zu bad records from disk", bad);
	if (nexcess > 0)
		log_info("packet cache: %zu older packets over the budget "
			 "dropped from disk", nexcess);
	log_info("packet cache: %zu packets loaded from disk (signatures "
		 "checked on first use)", c->npackets - before);
	return 0;
}

/* Move a damaged data file and its lock file aside, to
 * "<file>.corrupt-<unix time>", so the next open starts empty and the
 * file stays for a post-mortem. */
static int
move_aside(const char *path, const char *why)
{
	char to[PATH_MAX + 32], lock[PATH_MAX + 8], lock_to[PATH_MAX + 40];
	long long t = (long long)time(NULL);

	snprintf(to, sizeof(to), "%s.corrupt-%lld", path, t);
	if (rename(path, to) != 0) {
		log_err("packet cache: %s is damaged (%s) and cannot be moved "
			"aside: %s", path, why, strerror(errno));
		return -1;
	}
	snprintf(lock, sizeof(lock), "%s-lock", path);
	snprintf(lock_to, sizeof(lock_to), "%s.corrupt-%lld", lock, t);
	(void)rename(lock, lock_to);
	log_err("packet cache: %s is damaged (%s): moved to %s, starting "
		"empty", path, why, to);
	return 0;
}

/* LMDB's answers that mean the file (or lock file) is not a sound LMDB
 * file of ours, as opposed to the system refusing (permissions, space). */
static bool
format_error(int rc)
{
	return rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH ||
	       rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND ||
	       rc == MDB_INCOMPATIBLE || rc == MDB_PANIC;
}

/* LMDB sizes its lock file with ftruncate() and writes to it through a
 * shared mapping: on a full file system (tmpfs, quotas) the first write
 * to a page that cannot be allocated is a SIGBUS. Allocate it for real
 * first (its default size: 126 readers), so a full disk is an error here.
 * @return 0 or an errno value */
static int
prepare_lock(const char *path)
{
	char lock[PATH_MAX + 8];
	struct stat st;
	off_t want = 8192;
	int fd, rc;

	snprintf(lock, sizeof(lock), "%s-lock", path);
	if (lstat(lock, &st) == 0 && !S_ISREG(st.st_mode)) {
		char to[PATH_MAX + 40];
		snprintf(to, sizeof(to), "%s.corrupt-%lld", lock, (long long)time(NULL));
		if (rename(lock, to) != 0)
			return errno;
		log_err("packet cache: %s is not a regular file: moved to %s", lock, to);
	}
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
	if (fd < 0)
		return errno;
	if (fstat(fd, &st) != 0) {
		rc = errno;
		close(fd);
		return rc;
	}
	if (st.st_size > want)
		want = st.st_size;
	rc = posix_fallocate(fd, 0, want);
	close(fd);
	return rc;
}

static int
try_open(struct pkarr_cache *c, const char *path)
{
	MDB_txn *txn = NULL;
	int rc;

	if ((rc = mdb_env_create(&c->env)) != 0)
		return rc;
	/* fits: pkarr_cache_new_map() caps it at SIZE_MAX */
	if ((rc = mdb_env_set_mapsize(c->env, (size_t)c->map_bytes)) != 0)
		goto fail;
	/* A cache: losing the last seconds on a crash is fine; an fsync per
	 * DHT answer is not. pkarr_cache_free() syncs. */
	rc = mdb_env_open(c->env, path, MDB_NOSUBDIR | MDB_NOSYNC | MDB_NOTLS,
			  0600);
	if (rc != 0)
		goto fail;
	if ((rc = mdb_txn_begin(c->env, NULL, 0, &txn)) != 0)
		goto fail;
	if ((rc = mdb_dbi_open(txn, NULL, 0, &c->dbi)) != 0) {
		mdb_txn_abort(txn);
		goto fail;
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		goto fail;
	return 0;
fail:
	mdb_env_close(c->env);
	c->env = NULL;
	return rc;
}

/* Open "<dir>/pkarr-packets.mdb", checked first (pkarr_lmdb_check(): a
 * damaged file would make LMDB fault, SIGBUS). A damaged file is moved
 * aside and a new one started. @return 0, or -1 with err set */
static int
open_env(struct pkarr_cache *c, const char *dir, char *err, size_t errlen)
{
	char path[PATH_MAX], why[160];
	struct stat st;
	int rc, n;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	if (stat(dir, &st) != 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: not a directory", dir);
		return -1;
	}
	n = snprintf(path, sizeof(path), "%s/%s", dir, DB_FILE);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -1;
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		switch (pkarr_lmdb_check(path, why, sizeof(why))) {
		case PKARR_LMDB_ERROR:
			snprintf(err, errlen, "%s: %s", path, why);
			return -1;
		case PKARR_LMDB_DAMAGED:
			if (move_aside(path, why) < 0) {
				snprintf(err, errlen, "%s: damaged", path);
				return -1;
			}
			break;
		default:
			break;
		}
		rc = prepare_lock(path);
		if (rc != 0) {
			snprintf(err, errlen, "%s-lock: %s", path, strerror(rc));
			return -1;
		}
		rc = try_open(c, path);
		if (rc == 0)
			return 0;
		if (!format_error(rc) || attempt > 0 ||
		    move_aside(path, mdb_strerror(rc)) < 0)
			break;
	}
	snprintf(err, errlen, "lmdb %s: %s", path, mdb_strerror(rc));
	return -1;
}

/* The map is full. LMDB cannot even delete then (a delete copies pages
 * too), and the budget was too large for how sparsely the pages are
 * filled: halve it and start the file again from memory, newest first. A
 * fresh file holding at most its new budget cannot fill the map. Memory,
 * which answers, is not touched; if the file cannot be started again the
 * cache is memory only (disk_failed()). */
static void
disk_rebuild(struct pkarr_cache *c)
{
	char path[PATH_MAX];
	uint64_t budget = c->disk_budget < c->disk_bytes ? c->disk_budget
							  : c->disk_bytes;
	size_t n = 0;
	struct entry *e;
	MDB_txn *txn = NULL;
	int rc, len;

	budget /= 2;
	if (budget < c->map_bytes / 64)
		budget = c->map_bytes / 64;
	c->disk_budget = budget;
	disk_close(c);
	len = snprintf(path, sizeof(path), "%s/%s", c->dir, DB_FILE);
	if (len < 0 || (size_t)len >= sizeof(path))
		return;
	if (unlink(path) != 0 && errno != ENOENT) {
		disk_failed(c, "unlink", errno);
		return;
	}
	rc = prepare_lock(path);
	if (rc == 0)
		rc = try_open(c, path);
	if (rc == 0)
		rc = mdb_txn_begin(c->env, NULL, 0, &txn);
	if (rc != 0) {
		c->map_full = false;
		disk_failed(c, "reopen", rc);
		return;
	}
	for (e = LRU_FIRST(&c->pos); e != NULL; e = LRU_NEXT(e)) {
		if (c->disk_bytes + disk_cost(e->dns_len) > c->disk_budget)
			break;
		disk_put(c, txn, e, false);
		c->dtail = e;
		n++;
	}
	if (c->map_full) {
		mdb_txn_abort(txn);
		c->map_full = false;
		disk_failed(c, "put", MDB_MAP_FULL);
		return;
	}
	rc = mdb_txn_commit(txn);
	if (rc != 0) {
		disk_failed(c, "commit", rc);
		return;
	}
	log_warn("packet cache: %s full (%llu-byte map): started again with "
		 "the %zu most recent packets, at most %llu bytes of them from "
		 "now on", path, (unsigned long long)c->map_bytes, n,
		 (unsigned long long)c->disk_budget);
}

uint64_t
pkarr_cache_map_size(uint64_t max_bytes, unsigned ptr_bits)
{
	const uint64_t mib = 1u << 20;
	uint64_t cap = ptr_bits < 64 ? PKARR_CACHE_MAP_MAX32
				     : PKARR_CACHE_MAP_MAX64;
	uint64_t m = max_bytes >= cap / 4 ? cap : max_bytes * 4;

	m = (m + mib - 1) / mib * mib; /* m <= cap: cannot wrap */
	if (m < PKARR_CACHE_MAP_MIN)
		m = PKARR_CACHE_MAP_MIN;
	return m < cap ? m : cap;
}

int
pkarr_cache_open_disk(struct pkarr_cache *c)
{
	char err[PATH_MAX + 200] = "";

	if (c == NULL || c->dir == NULL)
		return PKARR_E_INVAL;
	if (c->env != NULL)
		return 0;
	if (open_env(c, c->dir, err, sizeof(err)) == 0 && load(c) < 0)
		snprintf(err, sizeof(err), "%s/" DB_FILE ": cannot read it back",
			 c->dir);
	if (c->env == NULL || err[0] != '\0') {
		disk_close(c);
		if (!c->disk_failed)
			log_err("packet cache: %s; running memory only, will "
				"retry", err);
		else
			log_debug("packet cache: still memory only: %s", err);
		c->disk_failed = true;
		return PKARR_E_IO;
	}
	if (c->disk_failed)
		log_info("packet cache: %s/" DB_FILE " open again", c->dir);
	c->disk_failed = false;
	return 0;
}

bool
pkarr_cache_has_disk(const struct pkarr_cache *c)
{
	return c != NULL && c->env != NULL;
}

void
pkarr_cache_reconfigure(struct pkarr_cache *c, const struct pkarr_answer_params *p)
{
	if (c != NULL && p != NULL)
		c->params = *p;
}

struct pkarr_cache *
pkarr_cache_new(size_t max_bytes, const char *lmdb_dir,
		const struct pkarr_answer_params *p)
{
	return pkarr_cache_new_map(max_bytes, lmdb_dir, p, 0, 0);
}

struct pkarr_cache *
pkarr_cache_new_map(size_t max_bytes, const char *lmdb_dir,
		    const struct pkarr_answer_params *p, uint64_t map_bytes,
		    uint64_t disk_bytes)
{
	struct pkarr_cache *c;

	if (p == NULL || sodium_init() < 0)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->params = *p;
	c->max_bytes = max_bytes;
	TAILQ_INIT(&c->pos.q);
	TAILQ_INIT(&c->neg.q);
	if (map_bytes == 0)
		map_bytes = pkarr_cache_map_size(max_bytes,
						 (unsigned)(sizeof(size_t) * CHAR_BIT));
	if (map_bytes > SIZE_MAX)
		map_bytes = SIZE_MAX;
	c->map_bytes = map_bytes;
	c->disk_budget = disk_bytes != 0 ? disk_bytes : map_bytes / 4;
	c->nbuckets = BUCKETS_MIN;
	c->buckets = calloc(c->nbuckets, sizeof(*c->buckets));
	if (c->buckets == NULL) {
		free(c);
		return NULL;
	}
	randombytes_buf(c->hkey, sizeof(c->hkey));
	if (lmdb_dir != NULL) {
		c->dir = strdup(lmdb_dir);
		if (c->dir == NULL) {
			pkarr_cache_free(c);
			return NULL;
		}
		/* a cache is an optimisation: memory only when the disk
		 * cannot be used */
		(void)pkarr_cache_open_disk(c);
	}
	return c;
}

void
pkarr_cache_free(struct pkarr_cache *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->nbuckets; i++) {
		struct entry *e = c->buckets[i], *next;
		for (; e; e = next) {
			next = e->hnext;
			entry_free(e);
		}
	}
	free(c->buckets);
	if (c->hold > 0) {
		c->hold = 1;
		pkarr_cache_release_writes(c);
	}
	if (c->env != NULL) {
		mdb_env_sync(c->env, 1);
		mdb_env_close(c->env);
	}
	free(c->dir);
	free(c);
}
