/*
 * cache.c -- the pkarr packet cache (see cache.h).
 *
 * A hash table (SipHash with a per-cache random key, since keys are
 * chosen by strangers) over entries that sit on one of two LRU lists:
 * packets and negative entries. LMDB mirrors the packet list: what is
 * evicted from memory is deleted from disk too, so the file stays bounded
 * by the same budget and a restart finds exactly what was held.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lmdb.h>
#include <sodium.h>

#define LOG_MODULE "pkarr"
#include "util/log.h"

#include "pkarr/cache.h"

#define DB_FILE "pkarr-packets.mdb"
/* Value on disk: stored_s (8, big endian) | pk | sig | ts | dns. */
#define DISK_HDR 8

struct entry {
	struct entry *hnext;
	struct entry *prev, *next; /* LRU: head is the most recent */
	uint8_t pk[32];
	bool negative;
	uint64_t stored_s;
	uint64_t fresh_until_s;
	uint64_t expire_s; /* negative: end; packet: end of stale serving */
	struct pkarr_packet *pkt; /* NULL for negative entries */
};

struct lru {
	struct entry *head, *tail;
	size_t bytes;
};

struct pkarr_cache {
	struct pkarr_answer_params params;
	size_t max_bytes;
	uint8_t hkey[crypto_shorthash_KEYBYTES];
	struct entry **buckets;
	size_t nbuckets; /* power of two */
	size_t count;    /* entries of both kinds */
	size_t npackets;
	struct lru pos, neg;
	MDB_env *env; /* NULL: memory only */
	MDB_dbi dbi;
};

static size_t
entry_bytes(const struct entry *e)
{
	return sizeof(*e) + (e->pkt ? sizeof(*e->pkt) : 0);
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
lru_unlink(struct lru *l, struct entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		l->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		l->tail = e->prev;
	e->prev = e->next = NULL;
}

static void
lru_push_head(struct lru *l, struct entry *e)
{
	e->prev = NULL;
	e->next = l->head;
	if (l->head)
		l->head->prev = e;
	l->head = e;
	if (l->tail == NULL)
		l->tail = e;
}

static void
lru_touch(struct pkarr_cache *c, struct entry *e)
{
	struct lru *l = list_of(c, e);
	lru_unlink(l, e);
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
link_entry(struct pkarr_cache *c, struct entry *e)
{
	size_t b;

	if (c->count >= c->nbuckets)
		(void)grow(c);
	b = bucket_of(c, e->pk);
	e->hnext = c->buckets[b];
	c->buckets[b] = e;
	c->count++;
	if (!e->negative)
		c->npackets++;
	lru_push_head(list_of(c, e), e);
	list_of(c, e)->bytes += entry_bytes(e);
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
	if (!e->negative)
		c->npackets--;
	lru_unlink(list_of(c, e), e);
	list_of(c, e)->bytes -= entry_bytes(e);
}

static void
entry_free(struct entry *e)
{
	if (e == NULL)
		return;
	free(e->pkt);
	free(e);
}

/* ---- LMDB ---------------------------------------------------------- */

static void
put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static uint64_t
get_be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static MDB_txn *
txn_begin(struct pkarr_cache *c)
{
	MDB_txn *txn = NULL;
	int rc;

	if (c->env == NULL)
		return NULL;
	rc = mdb_txn_begin(c->env, NULL, 0, &txn);
	if (rc != 0) {
		log_warn("packet cache: lmdb begin: %s", mdb_strerror(rc));
		return NULL;
	}
	return txn;
}

static void
txn_commit(MDB_txn *txn)
{
	int rc;

	if (txn == NULL)
		return;
	rc = mdb_txn_commit(txn);
	if (rc != 0)
		log_warn("packet cache: lmdb commit: %s", mdb_strerror(rc));
}

static void
disk_put(struct pkarr_cache *c, MDB_txn *txn, const struct entry *e)
{
	uint8_t buf[DISK_HDR + 32 + PKARR_RELAY_MAX];
	size_t len = 0;
	MDB_val k, v;
	int rc;

	if (txn == NULL || e->pkt == NULL)
		return;
	put_be64(buf, e->stored_s);
	if (pkarr_packet_to_full(e->pkt, buf + DISK_HDR, sizeof(buf) - DISK_HDR,
				 &len) != 0)
		return;
	k.mv_data = (void *)(uintptr_t)e->pk;
	k.mv_size = 32;
	v.mv_data = buf;
	v.mv_size = DISK_HDR + len;
	rc = mdb_put(txn, c->dbi, &k, &v, 0);
	if (rc != 0)
		log_warn("packet cache: lmdb put: %s", mdb_strerror(rc));
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
		log_warn("packet cache: lmdb del: %s", mdb_strerror(rc));
}

/* ---- entries ------------------------------------------------------- */

static void
drop(struct pkarr_cache *c, struct entry *e, MDB_txn *txn)
{
	unlink_entry(c, e);
	if (!e->negative)
		disk_del(c, txn, e->pk);
	entry_free(e);
}

/* Keep negatives under a quarter of the budget and everything under it. */
static void
evict(struct pkarr_cache *c, MDB_txn *txn)
{
	while (c->neg.tail && c->neg.bytes > c->max_bytes / 4)
		drop(c, c->neg.tail, txn);
	while (c->pos.bytes + c->neg.bytes > c->max_bytes) {
		struct entry *victim = c->neg.tail ? c->neg.tail : c->pos.tail;
		if (victim == NULL)
			break;
		drop(c, victim, txn);
	}
}

/* Freshness of a verified packet stored at stored_s. */
static int
set_times(struct pkarr_cache *c, struct entry *e, uint64_t stored_s)
{
	uint32_t ttl = 0;

	if (pkarr_packet_min_ttl(e->pkt, &c->params, &ttl) < 0)
		return PKARR_E_DNS;
	e->stored_s = stored_s;
	e->fresh_until_s = stored_s + ttl;
	e->expire_s = e->fresh_until_s + PKARR_CACHE_STALE_MAX_S;
	return 0;
}

static struct entry *
entry_new_packet(const struct pkarr_packet *pkt)
{
	struct entry *e = calloc(1, sizeof(*e));

	if (e == NULL)
		return NULL;
	e->pkt = malloc(sizeof(*e->pkt));
	if (e->pkt == NULL) {
		free(e);
		return NULL;
	}
	*e->pkt = *pkt;
	memcpy(e->pk, pkt->pk, 32);
	return e;
}

/* Is a the better of two packets for one key? (higher seq, then larger
 * value: the tie rule of the Mainline DHT implementations) */
static int
compare_packets(const struct pkarr_packet *a, const struct pkarr_packet *b)
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
	struct entry *old, *e;
	MDB_txn *txn;
	int rc, result;

	if (c == NULL || pkt == NULL)
		return PKARR_E_INVAL;
	rc = pkarr_packet_verify(pkt);
	if (rc < 0)
		return rc;
	old = find(c, pkt->pk);
	if (old != NULL && !old->negative) {
		int cmp = compare_packets(pkt, old->pkt);
		if (cmp < 0)
			return PKARR_PUT_OLDER;
		if (cmp == 0) {
			/* Seen again on the DHT: fresh for another TTL. */
			if (set_times(c, old, now_s) < 0)
				return PKARR_E_DNS;
			lru_touch(c, old);
			txn = txn_begin(c);
			disk_put(c, txn, old);
			txn_commit(txn);
			return PKARR_PUT_SAME;
		}
	}
	e = entry_new_packet(pkt);
	if (e == NULL)
		return PKARR_E_NOMEM;
	if (set_times(c, e, now_s) < 0) {
		entry_free(e);
		return PKARR_E_DNS;
	}
	result = (old != NULL && !old->negative) ? PKARR_PUT_NEWER : PKARR_PUT_NEW;
	if (old != NULL) {
		unlink_entry(c, old);
		entry_free(old);
	}
	link_entry(c, e);
	txn = txn_begin(c);
	disk_put(c, txn, e);
	evict(c, txn);
	txn_commit(txn);
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
	if (e != NULL && !e->negative)
		return 1;
	if (e == NULL) {
		e = calloc(1, sizeof(*e));
		if (e == NULL)
			return PKARR_E_NOMEM;
		memcpy(e->pk, pk, 32);
		e->negative = true;
		link_entry(c, e);
	} else {
		lru_touch(c, e);
	}
	e->stored_s = now_s;
	e->expire_s = now_s + ttl_s;
	evict(c, NULL);
	return 0;
}

enum pkarr_cache_state
pkarr_cache_get(struct pkarr_cache *c, const uint8_t pk[32], uint64_t now_s,
		const struct pkarr_packet **out)
{
	struct entry *e;

	if (out != NULL)
		*out = NULL;
	if (c == NULL || pk == NULL)
		return PKARR_CACHE_MISS;
	e = find(c, pk);
	if (e == NULL)
		return PKARR_CACHE_MISS;
	if (now_s >= e->expire_s) {
		MDB_txn *txn = e->negative ? NULL : txn_begin(c);
		drop(c, e, txn);
		txn_commit(txn);
		return PKARR_CACHE_MISS;
	}
	lru_touch(c, e);
	if (e->negative)
		return PKARR_CACHE_NEGATIVE;
	if (out != NULL)
		*out = e->pkt;
	return now_s < e->fresh_until_s ? PKARR_CACHE_FRESH : PKARR_CACHE_STALE;
}

int
pkarr_cache_times(struct pkarr_cache *c, const uint8_t pk[32],
		  uint64_t *stored_s, uint64_t *fresh_until_s)
{
	struct entry *e;

	if (c == NULL || pk == NULL)
		return PKARR_E_INVAL;
	e = find(c, pk);
	if (e == NULL || e->negative)
		return PKARR_E_INVAL;
	if (stored_s != NULL)
		*stored_s = e->stored_s;
	if (fresh_until_s != NULL)
		*fresh_until_s = e->fresh_until_s;
	return 0;
}

int
pkarr_cache_remove(struct pkarr_cache *c, const uint8_t pk[32])
{
	struct entry *e;
	MDB_txn *txn;

	if (c == NULL || pk == NULL)
		return PKARR_E_INVAL;
	e = find(c, pk);
	if (e == NULL)
		return 1;
	txn = e->negative ? NULL : txn_begin(c);
	drop(c, e, txn);
	txn_commit(txn);
	return 0;
}

int
pkarr_cache_foreach(struct pkarr_cache *c, pkarr_cache_cb cb, void *ctx)
{
	if (c == NULL || cb == NULL)
		return PKARR_E_INVAL;
	for (struct entry *e = c->pos.head; e; e = e->next) {
		int rc = cb(ctx, e->pkt, e->stored_s);
		if (rc != 0)
			return rc;
	}
	return 0;
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

struct loaded {
	struct entry *e;
};

static int
by_stored_asc(const void *a, const void *b)
{
	const struct entry *x = ((const struct loaded *)a)->e;
	const struct entry *y = ((const struct loaded *)b)->e;
	return x->stored_s < y->stored_s ? -1 : x->stored_s > y->stored_s;
}

/* Read every record back, verify it, and link the newest last so that
 * they end up at the head of the LRU list. */
static int
load(struct pkarr_cache *c)
{
	struct loaded *v = NULL;
	size_t n = 0, cap = 0, bad = 0;
	MDB_txn *txn = txn_begin(c);
	MDB_cursor *cur = NULL;
	MDB_val k, val;
	int rc;

	if (txn == NULL)
		return -1;
	if (mdb_cursor_open(txn, c->dbi, &cur) != 0) {
		mdb_txn_abort(txn);
		return -1;
	}
	while ((rc = mdb_cursor_get(cur, &k, &val, n || bad ? MDB_NEXT
							      : MDB_FIRST)) == 0) {
		struct pkarr_packet pkt;
		struct entry *e = NULL;

		/* Disk is not trusted: same checks as the network. */
		if (k.mv_size != 32 || val.mv_size < DISK_HDR ||
		    pkarr_packet_parse_full(&pkt, (const uint8_t *)val.mv_data +
							  DISK_HDR,
					    val.mv_size - DISK_HDR) != 0 ||
		    memcmp(pkt.pk, k.mv_data, 32) != 0 ||
		    (e = entry_new_packet(&pkt)) == NULL ||
		    set_times(c, e, get_be64(val.mv_data)) < 0) {
			entry_free(e);
			bad++;
			mdb_cursor_del(cur, 0);
			continue;
		}
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct loaded *nv = realloc(v, ncap * sizeof(*nv));
			if (nv == NULL) {
				entry_free(e);
				break;
			}
			v = nv;
			cap = ncap;
		}
		v[n++].e = e;
	}
	mdb_cursor_close(cur);
	if (n > 0)
		qsort(v, n, sizeof(*v), by_stored_asc);
	for (size_t i = 0; i < n; i++) {
		if (find(c, v[i].e->pk) != NULL) {
			entry_free(v[i].e);
			continue;
		}
		link_entry(c, v[i].e);
	}
	free(v);
	evict(c, txn);
	txn_commit(txn);
	if (bad > 0)
		log_warn("packet cache: dropped %zu bad records from disk", bad);
	log_info("packet cache: %zu packets loaded from disk", c->npackets);
	return 0;
}

static int
open_env(struct pkarr_cache *c, const char *dir)
{
	char path[PATH_MAX];
	size_t mapsize = c->max_bytes * 4;
	MDB_txn *txn = NULL;
	int rc, n;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		log_err("packet cache: cannot create %s: %s", dir,
			strerror(errno));
		return -1;
	}
	n = snprintf(path, sizeof(path), "%s/%s", dir, DB_FILE);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -1;
	if (mapsize < (64u << 20))
		mapsize = 64u << 20;
	if ((rc = mdb_env_create(&c->env)) != 0)
		goto fail;
	if ((rc = mdb_env_set_mapsize(c->env, mapsize)) != 0)
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
	log_err("packet cache: lmdb %s: %s", path, mdb_strerror(rc));
	if (c->env != NULL)
		mdb_env_close(c->env);
	c->env = NULL;
	return -1;
}

struct pkarr_cache *
pkarr_cache_new(size_t max_bytes, const char *lmdb_dir,
		const struct pkarr_answer_params *p)
{
	struct pkarr_cache *c;

	if (p == NULL || sodium_init() < 0)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->params = *p;
	c->max_bytes = max_bytes;
	c->nbuckets = 64;
	c->buckets = calloc(c->nbuckets, sizeof(*c->buckets));
	if (c->buckets == NULL) {
		free(c);
		return NULL;
	}
	randombytes_buf(c->hkey, sizeof(c->hkey));
	if (lmdb_dir != NULL &&
	    (open_env(c, lmdb_dir) < 0 || load(c) < 0)) {
		pkarr_cache_free(c);
		return NULL;
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
	if (c->env != NULL) {
		mdb_env_sync(c->env, 1);
		mdb_env_close(c->env);
	}
	free(c);
}
