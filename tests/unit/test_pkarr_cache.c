/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_pkarr_cache.c -- packet cache: freshness, staleness, seq ordering,
 * negative entries, LRU eviction by bytes, what an entry costs, LMDB
 * persistence, lazy re-verification of what comes back from disk and the
 * byte budget when loading; entries that are never evicted by their own
 * store, packets dated in the future, damaged LMDB files moved aside and
 * unusable directories run memory only; the LMDB map's size on 32 and
 * 64-bit hosts, a file that holds part of memory and a map that fills;
 * where each packet came from (its source) and how it reads.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <fcntl.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <lmdb.h>

#include "pkarr/cache.h"
#include "pkarr/lmdbcheck.h"
#include "pkarr/packet.h"
#include "pkarr/zone.h"
#include "tap.h"
#include "testutil.h"

static const struct pkarr_answer_params P = {60, 86400};

/* A packet for seed byte `s` with one A record of the given TTL. */
static int
make(struct pkarr_packet *pkt, uint8_t s, uint64_t ts, uint32_t ttl,
     const char *addr)
{
	uint8_t seed[32] = {0}, dns[PKARR_MAX_DNS];
	char zone[128], err[128];
	struct pkarr_packet tmp;
	size_t len = 0;

	seed[0] = s;
	seed[1] = 0x5a;
	if (pkarr_packet_sign(&tmp, seed, 1,
			      (const uint8_t *)"\0\0\x80\0\0\0\0\0\0\0\0\0", 12) < 0)
		return -1;
	snprintf(zone, sizeof(zone), "@ %u A %s\n", ttl, addr);
	if (pkarr_zone_to_dns(zone, tmp.pk, 300, dns, sizeof(dns), &len, err,
			      sizeof(err)) < 0)
		return -1;
	return pkarr_packet_sign(pkt, seed, ts, dns, len);
}

static void
test_freshness(void)
{
	struct pkarr_cache *c = pkarr_cache_new(1 << 20, NULL, &P);
	struct pkarr_packet a, a_new, a_old, a_tie, bad;
	const struct pkarr_packet *got = NULL;
	uint64_t st = 0, fu = 0;

	if (!ok(c != NULL, "memory cache"))
		return;
	make(&a, 1, 1000, 300, "1.1.1.1");
	make(&a_new, 1, 2000, 300, "2.2.2.2");
	make(&a_old, 1, 500, 300, "3.3.3.3");
	is_int(pkarr_cache_get(c, a.pk, 100, &got), PKARR_CACHE_MISS, "miss");
	ok(got == NULL, "no packet on a miss");
	is_int(pkarr_cache_put(c, &a, 100), PKARR_PUT_NEW, "put new");
	is_int(pkarr_cache_count(c), 1, "one packet");
	is_int(pkarr_cache_get(c, a.pk, 100, &got), PKARR_CACHE_FRESH, "fresh");
	ok(got != NULL && got->ts_us == 1000, "the packet");
	is_int(pkarr_cache_times(c, a.pk, &st, &fu), 0, "times");
	ok(st == 100 && fu == 400, "fresh until stored + TTL (%llu)",
	   (unsigned long long)fu);
	is_int(pkarr_cache_get(c, a.pk, 399, &got), PKARR_CACHE_FRESH,
	       "fresh at TTL - 1");
	is_int(pkarr_cache_get(c, a.pk, 400, &got), PKARR_CACHE_STALE,
	       "stale at TTL");
	ok(got != NULL, "stale still gives the packet");
	is_int(pkarr_cache_get(c, a.pk, 400 + PKARR_CACHE_STALE_MAX_S - 1, &got),
	       PKARR_CACHE_STALE, "stale until the limit");
	is_int(pkarr_cache_put(c, &a, 500), PKARR_PUT_SAME,
	       "same packet again: SAME");
	is_int(pkarr_cache_get(c, a.pk, 700, &got), PKARR_CACHE_FRESH,
	       "freshness restarted");
	is_int(pkarr_cache_put(c, &a_old, 700), PKARR_PUT_OLDER,
	       "lower timestamp: OLDER");
	pkarr_cache_get(c, a.pk, 700, &got);
	ok(got && got->ts_us == 1000, "older did not replace");
	is_int(pkarr_cache_put(c, &a_new, 700), PKARR_PUT_NEWER,
	       "higher timestamp: NEWER");
	pkarr_cache_get(c, a.pk, 700, &got);
	ok(got && got->ts_us == 2000, "newer replaced");
	is_int(pkarr_cache_put(c, &a, 700), PKARR_PUT_OLDER,
	       "the first one again is now OLDER");
	/* Equal timestamps, different content: the larger value wins. */
	make(&a_tie, 1, 2000, 300, "9.9.9.9");
	is_int(pkarr_cache_put(c, &a_tie, 700), PKARR_PUT_NEWER,
	       "tie, larger DNS: replaces");
	is_int(pkarr_cache_put(c, &a_new, 700), PKARR_PUT_OLDER,
	       "tie, smaller DNS: ignored");
	bad = a_new;
	bad.ts_us = 5000;
	is_int(pkarr_cache_put(c, &bad, 700), PKARR_E_SIG,
	       "unsigned change refused");
	pkarr_cache_get(c, a.pk, 700, &got);
	ok(got && got->ts_us == 2000, "still the tie winner");
	/* The caller-verified entry point keeps the same ordering rules. */
	is_int(pkarr_cache_put_verified(c, &a_new, 700), PKARR_PUT_OLDER,
	       "verified put: tie, smaller DNS ignored");
	make(&a_new, 1, 3000, 300, "4.4.4.4");
	is_int(pkarr_cache_put_verified(c, &a_new, 700), PKARR_PUT_NEWER,
	       "verified put: higher timestamp replaces");
	pkarr_cache_get(c, a.pk, 700, &got);
	ok(got && got->ts_us == 3000, "verified put: the newer packet served");
	is_int(pkarr_cache_get(c, a.pk, 700 + 300 + PKARR_CACHE_STALE_MAX_S, &got),
	       PKARR_CACHE_MISS, "past the stale limit: MISS");
	is_int(pkarr_cache_count(c), 0, "and dropped");
	pkarr_cache_free(c);
}

static void
test_negative(void)
{
	struct pkarr_cache *c = pkarr_cache_new(1 << 20, NULL, &P);
	struct pkarr_packet a, b;
	const struct pkarr_packet *got;

	if (!ok(c != NULL, "cache"))
		return;
	make(&a, 2, 1000, 300, "1.1.1.1");
	make(&b, 3, 1000, 300, "1.1.1.1");
	is_int(pkarr_cache_put_negative(c, a.pk, 100, 30), 0, "negative put");
	is_int(pkarr_cache_get(c, a.pk, 110, &got), PKARR_CACHE_NEGATIVE,
	       "negative");
	ok(got == NULL, "no packet for negative");
	is_int(pkarr_cache_get(c, a.pk, 130, &got), PKARR_CACHE_MISS,
	       "negative expired");
	is_int(pkarr_cache_count(c), 0, "negatives are not packets");
	pkarr_cache_put_negative(c, a.pk, 200, 30);
	is_int(pkarr_cache_put(c, &a, 210), PKARR_PUT_NEW,
	       "packet replaces a negative entry");
	is_int(pkarr_cache_get(c, a.pk, 210, &got), PKARR_CACHE_FRESH, "fresh");
	is_int(pkarr_cache_put_negative(c, a.pk, 220, 30), 1,
	       "negative does not replace a packet");
	is_int(pkarr_cache_get(c, a.pk, 220, &got), PKARR_CACHE_FRESH,
	       "still fresh");
	is_int(pkarr_cache_remove(c, a.pk), 0, "remove");
	is_int(pkarr_cache_remove(c, a.pk), 1, "remove again: nothing");
	is_int(pkarr_cache_get(c, a.pk, 220, &got), PKARR_CACHE_MISS, "gone");
	(void)b;
	pkarr_cache_free(c);
}

static int
count_cb(void *ctx, const struct pkarr_packet *pkt, uint64_t stored_s)
{
	int *n = ctx;
	(void)pkt;
	(void)stored_s;
	(*n)++;
	return 0;
}

static int
stop_cb(void *ctx, const struct pkarr_packet *pkt, uint64_t stored_s)
{
	(void)ctx;
	(void)pkt;
	(void)stored_s;
	return 7;
}

static void
test_eviction(void)
{
	struct pkarr_cache *c;
	struct pkarr_packet p[10];
	const struct pkarr_packet *got;
	size_t one;
	int n = 0;

	/* Learn the size of one entry, then allow exactly four. */
	c = pkarr_cache_new(1 << 20, NULL, &P);
	make(&p[0], 10, 1, 300, "1.1.1.1");
	pkarr_cache_put(c, &p[0], 1);
	one = pkarr_cache_bytes(c);
	ok(one > 104 + p[0].dns_len, "entry size %zu counted", one);
	pkarr_cache_free(c);

	c = pkarr_cache_new(4 * one, NULL, &P);
	for (int i = 0; i < 10; i++)
		make(&p[i], (uint8_t)(10 + i), 1, 300, "1.1.1.1");
	for (int i = 0; i < 4; i++)
		pkarr_cache_put(c, &p[i], 1);
	is_int(pkarr_cache_count(c), 4, "four fit");
	/* Touch 0 so that 1 is the least recently used. */
	pkarr_cache_get(c, p[0].pk, 2, &got);
	pkarr_cache_put(c, &p[4], 2);
	is_int(pkarr_cache_count(c), 4, "still four after a fifth");
	ok(pkarr_cache_bytes(c) <= 4 * one, "within the byte budget");
	is_int(pkarr_cache_get(c, p[1].pk, 2, &got), PKARR_CACHE_MISS,
	       "least recently used evicted");
	is_int(pkarr_cache_get(c, p[0].pk, 2, &got), PKARR_CACHE_FRESH,
	       "recently used kept");
	pkarr_cache_foreach(c, count_cb, &n);
	is_int(n, 4, "foreach visits every packet");
	is_int(pkarr_cache_foreach(c, stop_cb, NULL), 7, "foreach stops");

	/* A flood of negative entries cannot push packets out. */
	for (int i = 0; i < 200; i++) {
		uint8_t k[32] = {0xee};
		k[1] = (uint8_t)i;
		pkarr_cache_put_negative(c, k, 3, 60);
	}
	ok(pkarr_cache_count(c) >= 3, "packets survive a negative flood (%zu)",
	   pkarr_cache_count(c));
	ok(pkarr_cache_bytes(c) <= 4 * one, "budget kept");
	pkarr_cache_free(c);

	/* Many keys: the hash table grows. */
	c = pkarr_cache_new(1 << 24, NULL, &P);
	for (int i = 0; i < 256; i++) {
		struct pkarr_packet q;
		make(&q, (uint8_t)i, 1, 300, "1.1.1.1");
		pkarr_cache_put(c, &q, 1);
	}
	is_int(pkarr_cache_count(c), 256, "256 distinct keys held");
	is_int(pkarr_cache_get(c, p[3].pk, 1, &got), PKARR_CACHE_FRESH,
	       "found after growth");
	pkarr_cache_free(c);
}

static int
rm_rf(const char *dir)
{
	char cmd[4200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

static void
test_lmdb(void)
{
	char tmpl[] = "/tmp/test_pkarr_cache.XXXXXX", path[4200];
	char *dir = mkdtemp(tmpl);
	struct pkarr_cache *c;
	struct pkarr_packet a, b, cc;
	const struct pkarr_packet *got = NULL;
	uint64_t st = 0, fu = 0;

	if (!ok(dir != NULL, "mkdtemp"))
		return;
	make(&a, 40, 1000, 300, "1.1.1.1");
	make(&b, 41, 1000, 120, "2.2.2.2");
	make(&cc, 42, 1000, 120, "3.3.3.3");
	snprintf(path, sizeof(path), "%s/sub", dir);
	c = pkarr_cache_new(1 << 20, path, &P);
	if (!ok(c != NULL, "lmdb cache in a new directory")) {
		rm_rf(dir);
		return;
	}
	is_int(pkarr_cache_put(c, &a, 100), PKARR_PUT_NEW, "put a");
	is_int(pkarr_cache_put(c, &b, 150), PKARR_PUT_NEW, "put b");
	is_int(pkarr_cache_put(c, &cc, 150), PKARR_PUT_NEW, "put c");
	pkarr_cache_remove(c, cc.pk);
	pkarr_cache_put_negative(c, cc.pk, 150, 60);
	pkarr_cache_free(c);

	c = pkarr_cache_new(1 << 20, path, &P);
	if (!ok(c != NULL, "reopen")) {
		rm_rf(dir);
		return;
	}
	is_int(pkarr_cache_count(c), 2, "two packets back from disk");
	is_int(pkarr_cache_get(c, a.pk, 200, &got), PKARR_CACHE_FRESH,
	       "a fresh after reopen");
	ok(got && got->ts_us == 1000 && got->dns_len == a.dns_len &&
		   memcmp(got->dns, a.dns, a.dns_len) == 0,
	   "a's bytes intact");
	pkarr_cache_times(c, a.pk, &st, &fu);
	ok(st == 100 && fu == 400, "stored time kept, freshness recomputed");
	is_int(pkarr_cache_get(c, b.pk, 270, &got), PKARR_CACHE_STALE,
	       "b stale from its stored time");
	is_int(pkarr_cache_get(c, cc.pk, 160, &got), PKARR_CACHE_MISS,
	       "removed packet and negatives are not persisted");
	pkarr_cache_free(c);

	/* Tamper with a record on disk: the next open must refuse it. */
	{
		MDB_env *env;
		MDB_txn *txn;
		MDB_dbi dbi;
		MDB_val k = {32, a.pk}, v;
		uint8_t buf[2048];
		char file[4300];
		int rc;

		snprintf(file, sizeof(file), "%s/pkarr-packets.mdb", path);
		rc = mdb_env_create(&env);
		rc = rc ? rc : mdb_env_open(env, file, MDB_NOSUBDIR, 0600);
		rc = rc ? rc : mdb_txn_begin(env, NULL, 0, &txn);
		rc = rc ? rc : mdb_dbi_open(txn, NULL, 0, &dbi);
		rc = rc ? rc : mdb_get(txn, dbi, &k, &v);
		if (rc == 0 && v.mv_size <= sizeof(buf)) {
			memcpy(buf, v.mv_data, v.mv_size);
			buf[v.mv_size - 1] ^= 1; /* last DNS byte */
			v.mv_data = buf;
			rc = mdb_put(txn, dbi, &k, &v, 0);
		}
		rc = rc ? rc : mdb_txn_commit(txn);
		is_int(rc, 0, "tampered with a's record on disk");
		mdb_env_close(env);
	}
	c = pkarr_cache_new(1 << 20, path, &P);
	ok(c != NULL, "reopen after tampering");
	if (c != NULL) {
		is_int(pkarr_cache_get(c, a.pk, 200, &got), PKARR_CACHE_MISS,
		       "tampered packet not served");
		is_int(pkarr_cache_count(c), 1, "the good one is kept");
		pkarr_cache_free(c);
	}

	/* A smaller budget on reopen keeps the most recently stored. */
	c = pkarr_cache_new(1 << 20, path, &P);
	pkarr_cache_put(c, &a, 500);
	pkarr_cache_free(c);
	{
		size_t one;
		c = pkarr_cache_new(1 << 20, NULL, &P);
		pkarr_cache_put(c, &a, 1);
		one = pkarr_cache_bytes(c);
		pkarr_cache_free(c);
		c = pkarr_cache_new(one, path, &P);
	}
	if (ok(c != NULL, "reopen with room for one")) {
		is_int(pkarr_cache_count(c), 1, "one loaded");
		is_int(pkarr_cache_get(c, a.pk, 500, &got), PKARR_CACHE_FRESH,
		       "the most recently stored one");
		pkarr_cache_free(c);
	}

	c = pkarr_cache_new(1 << 20, "/proc/nonexistent/dir", &P);
	ok(c != NULL && !pkarr_cache_has_disk(c),
	   "unusable directory: a memory-only cache");
	pkarr_cache_free(c);
	rm_rf(dir);
	ok(access(dir, F_OK) != 0, "temp dir removed");
}


/* A packet like the ones pkarr users publish (and bench/fill_cache.c
 * makes): two A records and a TXT of txt bytes, ~160 bytes of DNS. */
static int
make_big(struct pkarr_packet *pkt, unsigned i, size_t txt, uint64_t ts)
{
	uint8_t seed[32] = {0}, dns[PKARR_MAX_DNS];
	char zone[1024], t[600], err[128];
	struct pkarr_packet tmp;
	size_t len = 0;

	seed[0] = (uint8_t)i;
	seed[1] = (uint8_t)(i >> 8);
	seed[2] = 0x77;
	if (txt >= sizeof(t))
		txt = sizeof(t) - 1;
	memset(t, 'x', txt);
	t[txt] = '\0';
	if (pkarr_packet_sign(&tmp, seed, 1,
			      (const uint8_t *)"\0\0\x80\0\0\0\0\0\0\0\0\0", 12) < 0)
		return -1;
	snprintf(zone, sizeof(zone),
		 "@ 3600 A 10.0.%u.%u\nwww 3600 A 10.0.0.1\n"
		 "_pubky 3600 TXT \"%s\"\n",
		 (i >> 8) & 255, i & 255, t);
	if (pkarr_zone_to_dns(zone, tmp.pk, 300, dns, sizeof(dns), &len, err,
			      sizeof(err)) < 0)
		return -1;
	return pkarr_packet_sign(pkt, seed, ts, dns, len);
}

struct walk {
	int n, bad;
	const struct pkarr_packet *ref;
	size_t nref;
};

/* Every packet a walk hands out must be byte for byte one of ref. */
static int
check_cb(void *ctx, const struct pkarr_packet *pkt, uint64_t stored_s)
{
	struct walk *w = ctx;
	bool found = false;
	(void)stored_s;

	for (size_t i = 0; i < w->nref && !found; i++)
		found = memcmp(w->ref[i].pk, pkt->pk, 32) == 0 &&
			memcmp(w->ref[i].sig, pkt->sig, 64) == 0 &&
			w->ref[i].ts_us == pkt->ts_us &&
			w->ref[i].dns_len == pkt->dns_len &&
			memcmp(w->ref[i].dns, pkt->dns, pkt->dns_len) == 0;
	w->n++;
	if (!found)
		w->bad++;
	return 0;
}

#define NMEM 200

static void
test_memory(void)
{
	struct pkarr_cache *c = pkarr_cache_new(1 << 24, NULL, &P);
	struct pkarr_packet *p = calloc(NMEM, sizeof(*p));
	struct pkarr_packet big;
	const struct pkarr_packet *got = NULL;
	struct walk w = {0, 0, NULL, 0};
	size_t own = 0, small_one, big_one, neg_one, before;
	int good = 0;

	if (!ok(c != NULL && p != NULL, "cache for the memory test")) {
		pkarr_cache_free(c);
		free(p);
		return;
	}
	for (unsigned i = 0; i < NMEM; i++) {
		if (make_big(&p[i], i, 40, 1000) < 0 ||
		    pkarr_cache_put(c, &p[i], 1) != PKARR_PUT_NEW)
			break;
		own += 32 + 64 + 8 + p[i].dns_len;
	}
	is_int(pkarr_cache_count(c), NMEM, "%d small packets held", NMEM);
	ok(pkarr_cache_bytes(c) < 2 * own,
	   "accounted %zu bytes < 2x their own %zu (%.2fx)",
	   pkarr_cache_bytes(c), own,
	   (double)pkarr_cache_bytes(c) / (double)own);
	ok(pkarr_cache_bytes(c) > own, "and more than the bytes themselves");
	/* Each get rebuilds the packet: every one comes back intact. */
	for (unsigned i = 0; i < NMEM; i++)
		if (pkarr_cache_get(c, p[i].pk, 2, &got) == PKARR_CACHE_FRESH &&
		    got != NULL && got->dns_len == p[i].dns_len &&
		    memcmp(got->dns, p[i].dns, p[i].dns_len) == 0 &&
		    memcmp(got->sig, p[i].sig, 64) == 0 &&
		    memcmp(got->pk, p[i].pk, 32) == 0 && got->ts_us == 1000)
			good++;
	is_int(good, NMEM, "every packet read back byte for byte");
	w.ref = p;
	w.nref = NMEM;
	pkarr_cache_foreach(c, check_cb, &w);
	ok(w.n == NMEM && w.bad == 0, "foreach hands out intact packets (%d/%d)",
	   w.n - w.bad, w.n);
	pkarr_cache_free(c);

	/* The cost follows the DNS length: no fixed 1000-byte array. */
	c = pkarr_cache_new(1 << 24, NULL, &P);
	/* one TXT string holds at most 255 bytes */
	if (!ok(c != NULL && make_big(&p[0], 1, 0, 1000) == 0 &&
			make_big(&big, 2, 250, 1000) == 0,
		"a tiny and a larger packet")) {
		pkarr_cache_free(c);
		free(p);
		return;
	}
	pkarr_cache_put(c, &p[0], 1);
	small_one = pkarr_cache_bytes(c);
	pkarr_cache_put(c, &big, 1);
	big_one = pkarr_cache_bytes(c) - small_one;
	ok(big_one - small_one <= big.dns_len - p[0].dns_len + 16 &&
		   big_one - small_one + 16 >= big.dns_len - p[0].dns_len,
	   "a packet %zu bytes longer costs %zu bytes more",
	   big.dns_len - p[0].dns_len, big_one - small_one);
	ok(small_one < 2 * (104 + p[0].dns_len),
	   "even a tiny packet (%zu bytes) costs < 2x (%zu)",
	   104 + p[0].dns_len, small_one);
	before = pkarr_cache_bytes(c);
	{
		uint8_t k[32] = {0xab};
		pkarr_cache_put_negative(c, k, 1, 60);
	}
	neg_one = pkarr_cache_bytes(c) - before;
	ok(neg_one > 0 && neg_one < small_one,
	   "a negative entry costs %zu, less than a packet", neg_one);
	pkarr_cache_free(c);
	free(p);
}

/* Open the cache's LMDB file from outside, as a disk fault would. */
static MDB_env *
disk_open(const char *dir, MDB_txn **txn, MDB_dbi *dbi)
{
	char file[4300];
	MDB_env *env = NULL;
	int rc;

	snprintf(file, sizeof(file), "%s/pkarr-packets.mdb", dir);
	rc = mdb_env_create(&env);
	rc = rc ? rc : mdb_env_open(env, file, MDB_NOSUBDIR, 0600);
	rc = rc ? rc : mdb_txn_begin(env, NULL, 0, txn);
	rc = rc ? rc : mdb_dbi_open(*txn, NULL, 0, dbi);
	if (rc != 0) {
		if (env != NULL)
			mdb_env_close(env);
		return NULL;
	}
	return env;
}

/* Flip bits of the byte at off in pk's record: 0 when done. */
static int
disk_flip(const char *dir, const uint8_t pk[32], size_t off, uint8_t bits)
{
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_env *env = disk_open(dir, &txn, &dbi);
	MDB_val k = {32, (void *)(uintptr_t)pk}, v;
	uint8_t buf[2048];
	int rc;

	if (env == NULL)
		return -1;
	rc = mdb_get(txn, dbi, &k, &v);
	if (rc == 0 && (v.mv_size > sizeof(buf) || off >= v.mv_size))
		rc = -1;
	if (rc == 0) {
		memcpy(buf, v.mv_data, v.mv_size);
		buf[off] ^= bits;
		v.mv_data = buf;
		rc = mdb_put(txn, dbi, &k, &v, 0);
	}
	if (rc == 0)
		rc = mdb_txn_commit(txn);
	else
		mdb_txn_abort(txn);
	mdb_env_close(env);
	return rc;
}

/* Store an arbitrary record: 0 when done. */
static int
disk_raw(const char *dir, const void *key, size_t klen, const void *val,
	 size_t vlen)
{
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_env *env = disk_open(dir, &txn, &dbi);
	MDB_val k = {klen, (void *)(uintptr_t)key};
	MDB_val v = {vlen, (void *)(uintptr_t)val};
	int rc;

	if (env == NULL)
		return -1;
	rc = mdb_put(txn, dbi, &k, &v, 0);
	if (rc == 0)
		rc = mdb_txn_commit(txn);
	else
		mdb_txn_abort(txn);
	mdb_env_close(env);
	return rc;
}

/* Records in the file, or -1. */
static int
disk_count(const char *dir)
{
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_env *env = disk_open(dir, &txn, &dbi);
	MDB_stat st;
	int n = -1;

	if (env == NULL)
		return -1;
	if (mdb_stat(txn, dbi, &st) == 0)
		n = (int)st.ms_entries;
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return n;
}

/* 1 when pk has a record, 0 when not, -1 on error. */
static int
disk_has(const char *dir, const uint8_t pk[32])
{
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_env *env = disk_open(dir, &txn, &dbi);
	MDB_val k = {32, (void *)(uintptr_t)pk}, v;
	int rc;

	if (env == NULL)
		return -1;
	rc = mdb_get(txn, dbi, &k, &v);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return rc == 0 ? 1 : rc == MDB_NOTFOUND ? 0 : -1;
}

/* Offsets in a record: stored_s (8) | pk | sig | ts (8) | dns */
#define OFF_SIG (8 + 32)
#define OFF_TS (8 + 32 + 64)

static void
test_lazy_verify(void)
{
	char tmpl[] = "/tmp/test_pkarr_cache.XXXXXX";
	char *dir = mkdtemp(tmpl);
	struct pkarr_cache *c;
	struct pkarr_packet a, b, d, a_low;
	const struct pkarr_packet *got = NULL;
	uint64_t st = 0, fu = 0;
	struct walk w = {0, 0, NULL, 0};
	struct pkarr_packet refs[2];

	if (!ok(dir != NULL, "mkdtemp"))
		return;
	make(&a, 50, 1000, 300, "1.1.1.1");
	make(&b, 51, 1000, 300, "2.2.2.2");
	make(&d, 52, 1000, 300, "4.4.4.4");
	make(&a_low, 50, 900, 300, "5.5.5.5");
	c = pkarr_cache_new(1 << 20, dir, &P);
	if (!ok(c != NULL, "lmdb cache")) {
		rm_rf(dir);
		return;
	}
	pkarr_cache_put(c, &a, 100);
	pkarr_cache_put(c, &b, 110);
	pkarr_cache_put(c, &d, 120);
	is_int(pkarr_cache_verify_some(c, 0), 0,
	       "packets put are verified already");
	pkarr_cache_free(c);

	/* One bit of a's DNS, on disk: only the signature can tell. */
	is_int(disk_flip(dir, a.pk, 8 + 32 + 72 + a.dns_len - 1, 1), 0,
	       "tampered with a's DNS on disk");
	c = pkarr_cache_new(1 << 20, dir, &P);
	if (!ok(c != NULL, "reopen")) {
		rm_rf(dir);
		return;
	}
	is_int(pkarr_cache_count(c), 3, "all three loaded without checking");
	is_int(pkarr_cache_verify_some(c, 0), 3, "three unverified");
	is_int(pkarr_cache_get(c, b.pk, 200, &got), PKARR_CACHE_FRESH,
	       "intact b served");
	ok(got != NULL && got->dns_len == b.dns_len &&
		   memcmp(got->dns, b.dns, b.dns_len) == 0 &&
		   memcmp(got->sig, b.sig, 64) == 0,
	   "b's bytes intact");
	pkarr_cache_times(c, b.pk, &st, &fu);
	ok(st == 110 && fu == 410, "b's stored time kept, freshness computed");
	is_int(pkarr_cache_verify_some(c, 0), 2, "b verified by the get");
	is_int(disk_has(dir, a.pk), 1, "a still on disk before its first get");
	is_int(pkarr_cache_get(c, a.pk, 200, &got), PKARR_CACHE_MISS,
	       "tampered a: MISS on the first get");
	ok(got == NULL, "and no packet");
	is_int(pkarr_cache_count(c), 2, "a removed from memory");
	is_int(disk_has(dir, a.pk), 0, "and from disk");
	is_int(pkarr_cache_get(c, a.pk, 200, &got), PKARR_CACHE_MISS,
	       "still MISS");
	is_int(pkarr_cache_verify_some(c, 0), 1, "only d left unverified");
	is_int(pkarr_cache_put(c, &a, 210), PKARR_PUT_NEW,
	       "the real a can come back");
	pkarr_cache_free(c);

	/* A forged higher timestamp must not keep the real packet out. */
	is_int(disk_flip(dir, a.pk, OFF_TS + 4, 1), 0,
	       "raised a's timestamp on disk");
	c = pkarr_cache_new(1 << 20, dir, &P);
	if (c != NULL) {
		is_int(pkarr_cache_put(c, &a_low, 220), PKARR_PUT_NEW,
		       "a genuine older packet replaces the forged one");
		pkarr_cache_get(c, a.pk, 220, &got);
		ok(got != NULL && got->ts_us == 900, "it is served");
		pkarr_cache_free(c);
	}

	/* foreach verifies too, and never hands out the bad one. */
	is_int(disk_flip(dir, d.pk, OFF_SIG, 0x80), 0,
	       "broke d's signature on disk");
	c = pkarr_cache_new(1 << 20, dir, &P);
	if (c != NULL) {
		refs[0] = a_low;
		refs[1] = b;
		w.ref = refs;
		w.nref = 2;
		is_int(pkarr_cache_foreach(c, check_cb, &w), 0, "walk");
		ok(w.n == 2 && w.bad == 0,
		   "foreach gave the two good packets only (%d, %d bad)", w.n,
		   w.bad);
		is_int(pkarr_cache_count(c), 2, "d dropped by the walk");
		is_int(pkarr_cache_verify_some(c, 0), 0, "nothing unverified");
		pkarr_cache_free(c);
	}
	is_int(disk_has(dir, d.pk), 0, "d deleted from disk");

	/* verify_some in small steps; times and put_negative verify too. */
	pkarr_cache_free(pkarr_cache_new(1 << 20, dir, &P));
	c = pkarr_cache_new(1 << 20, dir, &P);
	if (c != NULL) {
		pkarr_cache_put(c, &d, 300);
		pkarr_cache_free(c);
	}
	is_int(disk_flip(dir, b.pk, OFF_SIG + 5, 2), 0, "broke b on disk");
	is_int(disk_flip(dir, d.pk, OFF_SIG + 5, 2), 0, "broke d on disk");
	c = pkarr_cache_new(1 << 20, dir, &P);
	if (c != NULL) {
		is_int(pkarr_cache_verify_some(c, 0), 3, "three unverified");
		is_int(pkarr_cache_times(c, b.pk, &st, &fu), PKARR_E_INVAL,
		       "times of a bad packet: none");
		is_int(pkarr_cache_put_negative(c, d.pk, 310, 30), 0,
		       "a negative replaces a bad packet from disk");
		is_int(pkarr_cache_get(c, d.pk, 311, &got),
		       PKARR_CACHE_NEGATIVE, "negative");
		is_int(pkarr_cache_verify_some(c, 1), 0, "a verified in a step");
		is_int(pkarr_cache_count(c), 1, "one packet left");
		is_int(pkarr_cache_get(c, a.pk, 311, &got), PKARR_CACHE_FRESH,
		       "a served");
		pkarr_cache_free(c);
	}
	is_int(disk_count(dir), 1, "only a left on disk");

	/* Records that are not even the right size go at open. */
	{
		uint8_t junk[10] = {0}, key5[5] = {1, 2, 3, 4, 5};
		uint8_t other[32] = {9};
		uint8_t wrongkey[8 + 32 + 72 + 12] = {0};

		memcpy(wrongkey + 8, a.pk, 32);
		is_int(disk_raw(dir, other, 32, junk, sizeof(junk)) |
			       disk_raw(dir, key5, 5, junk, sizeof(junk)) |
			       disk_raw(dir, other + 1, 31, wrongkey,
					sizeof(wrongkey)),
		       0, "three malformed records written");
		is_int(disk_count(dir), 4, "four records on disk");
		c = pkarr_cache_new(1 << 20, dir, &P);
		ok(c != NULL && pkarr_cache_count(c) == 1,
		   "malformed records not loaded");
		pkarr_cache_free(c);
		is_int(disk_count(dir), 1, "and deleted");
	}
	rm_rf(dir);
}

static void
test_load_budget(void)
{
	char tmpl[] = "/tmp/test_pkarr_cache.XXXXXX";
	char *dir = mkdtemp(tmpl);
	struct pkarr_cache *c;
	struct pkarr_packet p[6];
	const struct pkarr_packet *got = NULL;
	size_t one;

	if (!ok(dir != NULL, "mkdtemp"))
		return;
	for (int i = 0; i < 6; i++)
		make(&p[i], (uint8_t)(60 + i), 1000, 3600, "1.1.1.1");
	c = pkarr_cache_new(1 << 20, NULL, &P);
	pkarr_cache_put(c, &p[0], 1);
	one = pkarr_cache_bytes(c);
	pkarr_cache_free(c);

	/* Stored out of key order, at times 100 .. 600: p[5] the newest. */
	c = pkarr_cache_new(1 << 20, dir, &P);
	if (!ok(c != NULL, "lmdb cache")) {
		rm_rf(dir);
		return;
	}
	for (int i = 5; i >= 0; i--)
		pkarr_cache_put(c, &p[i], 100 + 100 * (uint64_t)i);
	pkarr_cache_free(c);
	is_int(disk_count(dir), 6, "six on disk");

	c = pkarr_cache_new(3 * one + one / 2, dir, &P);
	if (!ok(c != NULL, "reopen with room for three and a half")) {
		rm_rf(dir);
		return;
	}
	is_int(pkarr_cache_count(c), 3, "three loaded");
	ok(pkarr_cache_bytes(c) <= 3 * one + one / 2, "within the budget");
	is_int(pkarr_cache_verify_some(c, 0), 3, "none verified at open");
	is_int(disk_count(dir), 3, "the others deleted from disk");
	for (int i = 0; i < 3; i++)
		is_int(pkarr_cache_get(c, p[i].pk, 700, &got), PKARR_CACHE_MISS,
		       "older p[%d] not loaded", i);
	for (int i = 3; i < 6; i++)
		is_int(pkarr_cache_get(c, p[i].pk, 700, &got), PKARR_CACHE_FRESH,
		       "newer p[%d] loaded", i);
	pkarr_cache_free(c);

	/* The LRU order after a load is by stored time: p[3] goes first. */
	c = pkarr_cache_new(3 * one + one / 2, dir, &P);
	if (c != NULL) {
		struct pkarr_packet q;
		make(&q, 70, 1000, 3600, "1.1.1.1");
		pkarr_cache_put(c, &q, 800);
		is_int(pkarr_cache_get(c, p[3].pk, 800, &got), PKARR_CACHE_MISS,
		       "the oldest loaded is evicted first");
		is_int(pkarr_cache_get(c, p[4].pk, 800, &got),
		       PKARR_CACHE_FRESH, "the next one stays");
		pkarr_cache_free(c);
	}
	c = pkarr_cache_new(0, dir, &P);
	if (ok(c != NULL, "reopen with no budget")) {
		is_int(pkarr_cache_count(c), 0, "nothing loaded");
		pkarr_cache_free(c);
	}
	is_int(disk_count(dir), 0, "nothing left on disk");
	rm_rf(dir);
}

/* The LMDB file's bytes (as the page cache has them), malloc'd. */
static uint8_t *
file_bytes(const char *dir, size_t *len)
{
	char path[4200];
	uint8_t *buf = NULL;
	long n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/pkarr-packets.mdb", dir);
	f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n)) != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (buf != NULL)
		*len = (size_t)n;
	fclose(f);
	return buf;
}

static bool
file_same(const char *dir, const uint8_t *snap, size_t snap_len)
{
	size_t len = 0;
	uint8_t *now = file_bytes(dir, &len);
	bool same = now != NULL && len == snap_len && memcmp(now, snap, len) == 0;

	free(now);
	return same;
}

static void
test_held_writes(void)
{
	char tmpl[] = "/tmp/test_pkarr_cache.XXXXXX";
	char *dir = mkdtemp(tmpl);
	struct pkarr_cache *c;
	struct pkarr_packet a, b, d;
	const struct pkarr_packet *got = NULL;
	uint8_t *snap = NULL;
	size_t snap_len = 0;

	if (!ok(dir != NULL, "mkdtemp"))
		return;
	make(&a, 80, 1000, 300, "1.1.1.1");
	make(&b, 81, 1000, 300, "2.2.2.2");
	make(&d, 82, 1000, 300, "3.3.3.3");
	c = pkarr_cache_new(1 << 20, dir, &P);
	if (!ok(c != NULL, "lmdb cache")) {
		rm_rf(dir);
		return;
	}
	pkarr_cache_put(c, &a, 100);
	snap = file_bytes(dir, &snap_len);
	ok(snap != NULL, "file read (%zu bytes)", snap_len);
	pkarr_cache_hold_writes(c);
	is_int(pkarr_cache_put_verified(c, &b, 100), PKARR_PUT_NEW, "held: put");
	is_int(pkarr_cache_get(c, b.pk, 100, &got), PKARR_CACHE_FRESH,
	       "held: in memory at once");
	ok(file_same(dir, snap, snap_len), "held: nothing written to disk yet");
	pkarr_cache_hold_writes(c);
	pkarr_cache_release_writes(c);
	ok(file_same(dir, snap, snap_len), "inner release: still nothing written");
	pkarr_cache_release_writes(c);
	ok(!file_same(dir, snap, snap_len), "outer release: written");
	pkarr_cache_release_writes(c); /* unbalanced: ignored */
	/* Held writes still pending at free are not lost. */
	pkarr_cache_hold_writes(c);
	pkarr_cache_put(c, &d, 100);
	pkarr_cache_free(c);
	c = pkarr_cache_new(1 << 20, dir, &P);
	if (ok(c != NULL, "reopen")) {
		is_int(pkarr_cache_count(c), 3, "all three packets on disk");
		is_int(pkarr_cache_get(c, b.pk, 100, &got), PKARR_CACHE_FRESH,
		       "the released one");
		is_int(pkarr_cache_get(c, d.pk, 100, &got), PKARR_CACHE_FRESH,
		       "the one held at free");
		pkarr_cache_free(c);
	}
	free(snap);
	rm_rf(dir);
}

/* A key that never had a packet: the seed byte's public key. */
static void
key_of(uint8_t pk[32], uint8_t s)
{
	struct pkarr_packet p;

	make(&p, s, 1000, 300, "9.9.9.9");
	memcpy(pk, p.pk, 32);
}

/* Issue 10 item 5: the entry being stored is never the one evicted. */
static void
test_never_evict_own(void)
{
	struct pkarr_cache *c;
	struct pkarr_packet a, b;
	const struct pkarr_packet *got = NULL;
	uint8_t k[32];
	size_t two;

	make(&a, 90, 1000, 300, "1.1.1.1");
	make(&b, 91, 1000, 300, "2.2.2.2");
	key_of(k, 92);

	/* a budget smaller than one packet */
	c = pkarr_cache_new(100, NULL, &P);
	is_int(pkarr_cache_put(c, &a, 100), PKARR_PUT_NEW, "tiny cache: put");
	is_int(pkarr_cache_get(c, a.pk, 100, &got), PKARR_CACHE_FRESH,
	       "tiny cache: the packet just stored is held");
	is_int(pkarr_cache_put(c, &b, 100), PKARR_PUT_NEW, "tiny cache: another");
	is_int(pkarr_cache_get(c, b.pk, 100, &got), PKARR_CACHE_FRESH,
	       "tiny cache: the newest is held");
	is_int(pkarr_cache_get(c, a.pk, 100, &got), PKARR_CACHE_MISS,
	       "tiny cache: the older one made room");
	is_int(pkarr_cache_put_negative(c, k, 100, 60), 0, "tiny cache: negative");
	is_int(pkarr_cache_get(c, k, 100, &got), PKARR_CACHE_NEGATIVE,
	       "tiny cache: the negative entry is held");
	pkarr_cache_free(c);

	/* a full cache with less room than a negative entry (176 bytes) */
	c = pkarr_cache_new(1 << 20, NULL, &P);
	pkarr_cache_put(c, &a, 100);
	pkarr_cache_put(c, &b, 100);
	two = pkarr_cache_bytes(c);
	pkarr_cache_free(c);
	c = pkarr_cache_new(two + 100, NULL, &P);
	pkarr_cache_put(c, &a, 100);
	pkarr_cache_put(c, &b, 100);
	is_int(pkarr_cache_put_negative(c, k, 100, 60), 0, "full cache: negative");
	is_int(pkarr_cache_get(c, k, 100, &got), PKARR_CACHE_NEGATIVE,
	       "full cache: the negative entry is held");
	pkarr_cache_free(c);

	/* a negative TTL of 0 (--min-ttl 0) lasts a second */
	c = pkarr_cache_new(1 << 20, NULL, &P);
	is_int(pkarr_cache_put_negative(c, k, 100, 0), 0, "TTL 0: stored");
	is_int(pkarr_cache_get(c, k, 100, &got), PKARR_CACHE_NEGATIVE,
	       "TTL 0: negative within the same second");
	is_int(pkarr_cache_get(c, k, 101, &got), PKARR_CACHE_MISS,
	       "TTL 0: gone a second later");
	pkarr_cache_free(c);
}

/* Issue 10 item 10: a packet dated years ahead never pins a key. */
static void
test_future(void)
{
	char tmpl[] = "/tmp/test_pkarr_cache.XXXXXX";
	char *dir = mkdtemp(tmpl);
	uint64_t now = (uint64_t)time(NULL);
	uint64_t ten_years = 10ull * 365 * 86400;
	struct pkarr_packet cur, fut, soon, older;
	const struct pkarr_packet *got = NULL;
	struct pkarr_cache *c;

	make(&cur, 93, now * 1000000u, 300, "1.1.1.1");
	make(&older, 93, (now - 60) * 1000000u, 300, "3.3.3.3");
	make(&fut, 93, (now + ten_years) * 1000000u, 300, "6.6.6.6");
	make(&soon, 94, (now + PKARR_FUTURE_MAX_S - 5) * 1000000u, 300, "2.2.2.2");
	is_int(pkarr_packet_check_time(fut.ts_us, now), PKARR_E_FUTURE,
	       "10 years ahead: too far");
	is_int(pkarr_packet_check_time(soon.ts_us, now), 0, "within the margin");
	is_int(pkarr_packet_check_time(fut.ts_us, 1000), 0,
	       "an unset clock refuses nothing");

	c = pkarr_cache_new(1 << 20, NULL, &P);
	is_int(pkarr_cache_put(c, &fut, now), PKARR_E_FUTURE, "future refused");
	is_int(pkarr_cache_get(c, fut.pk, now, &got), PKARR_CACHE_MISS,
	       "and not held");
	is_int(pkarr_cache_put(c, &cur, now), PKARR_PUT_NEW, "current accepted");
	is_int(pkarr_cache_put(c, &fut, now), PKARR_E_FUTURE,
	       "future refused over a current packet");
	is_int(pkarr_cache_get(c, cur.pk, now, &got), PKARR_CACHE_FRESH, "held");
	ok(got != NULL && got->ts_us == cur.ts_us, "the current packet is served");
	is_int(pkarr_cache_put(c, &soon, now), PKARR_PUT_NEW,
	       "a few minutes ahead is accepted (clock skew)");
	pkarr_cache_free(c);

	/* one taken while the clock was unset is replaced by any current one */
	c = pkarr_cache_new(1 << 20, NULL, &P);
	is_int(pkarr_cache_put(c, &fut, 1000), PKARR_PUT_NEW,
	       "unset clock: future taken");
	is_int(pkarr_cache_put(c, &older, now), PKARR_PUT_NEWER,
	       "clock set: a current packet, even with a lower seq, replaces it");
	is_int(pkarr_cache_get(c, cur.pk, now, &got), PKARR_CACHE_FRESH, "held");
	ok(got != NULL && got->ts_us == older.ts_us, "the current one is served");
	pkarr_cache_free(c);

	/* One on disk dated ahead of the clock (the clock was set back: a
	 * Raspberry Pi's fake-hwclock after days off) is not served, but
	 * kept on disk: it is valid once the clock catches up. */
	if (!ok(dir != NULL, "mkdtemp"))
		return;
	/* stored while the clock said ten years on; read back while it
	 * says now */
	c = pkarr_cache_new(1 << 20, dir, &P);
	is_int(pkarr_cache_put(c, &fut, now + ten_years), PKARR_PUT_NEW,
	       "stored when the clock reached its date");
	pkarr_cache_put(c, &soon, now + ten_years);
	pkarr_cache_free(c);
	is_int(disk_count(dir), 2, "two on disk");
	c = pkarr_cache_new(1 << 20, dir, &P);
	is_int(pkarr_cache_get(c, fut.pk, now, &got), PKARR_CACHE_MISS,
	       "future packet from disk: MISS now");
	ok(got == NULL, "  ... and not handed out");
	is_int(pkarr_cache_get(c, soon.pk, now, &got), PKARR_CACHE_FRESH,
	       "the packet within the margin is served");
	is_int(pkarr_cache_put_negative(c, fut.pk, now, 60), 1,
	       "a negative entry does not replace it");
	pkarr_cache_free(c);
	is_int(disk_count(dir), 2, "the future packet stays on disk");
	c = pkarr_cache_new(1 << 20, dir, &P);
	is_int(pkarr_cache_get(c, fut.pk, now, &got), PKARR_CACHE_MISS,
	       "after another reopen: still MISS now");
	is_int(pkarr_cache_get(c, fut.pk, now + ten_years, &got),
	       PKARR_CACHE_FRESH, "served once the clock reaches its date");
	ok(got != NULL && got->ts_us == fut.ts_us, "  ... the packet itself");
	/* the protection stays: a current packet replaces one from disk
	 * dated ahead of the clock, and that one can never come back */
	is_int(pkarr_cache_put(c, &older, now), PKARR_PUT_NEWER,
	       "a current packet replaces the future one from disk");
	is_int(pkarr_cache_get(c, fut.pk, now, &got), PKARR_CACHE_FRESH,
	       "the current one is served");
	ok(got != NULL && got->ts_us == older.ts_us, "  ... not the future one");
	is_int(pkarr_cache_put(c, &fut, now), PKARR_E_FUTURE,
	       "the future one is still refused from the DHT");
	pkarr_cache_free(c);
	c = pkarr_cache_new(1 << 20, dir, &P);
	is_int(pkarr_cache_get(c, fut.pk, now, &got), PKARR_CACHE_FRESH,
	       "after a reopen the current one is served");
	ok(got != NULL && got->ts_us == older.ts_us, "  ... still not the future one");
	pkarr_cache_free(c);
	rm_rf(dir);
}

/* Files in dir whose name starts with prefix. */
static int
count_prefixed(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
			n++;
	closedir(d);
	return n;
}

enum damage { CUT_HALF, PAGE_GARBAGE, ZERO_LEN, A_DIRECTORY, NOT_LMDB, META_GARBAGE };

static int
damage_file(const char *file, enum damage how)
{
	struct stat st;
	uint8_t junk[4096];
	int fd, rc = 0;

	if (stat(file, &st) != 0)
		return -1;
	memset(junk, 0xa5, sizeof(junk));
	switch (how) {
	case CUT_HALF:
		return truncate(file, st.st_size / 2);
	case ZERO_LEN:
		return truncate(file, 0);
	case A_DIRECTORY:
		if (unlink(file) != 0)
			return -1;
		return mkdir(file, 0700);
	case NOT_LMDB:
		fd = open(file, O_WRONLY | O_TRUNC);
		if (fd < 0)
			return -1;
		rc = write(fd, "not an lmdb file\n", 17) == 17 ? 0 : -1;
		close(fd);
		return rc;
	case PAGE_GARBAGE:
	case META_GARBAGE:
		fd = open(file, O_WRONLY);
		if (fd < 0)
			return -1;
		if (how == META_GARBAGE) {
			/* the magic stays; page size, roots and last page do not */
			rc = pwrite(fd, junk, 4096 - 64, 64) == 4096 - 64 ? 0 : -1;
		} else {
			/* the first 32 bytes of every page after the meta pages:
			 * page numbers, flags, bounds and the first node */
			for (off_t o = 2 * 4096; o + 32 <= st.st_size && rc == 0; o += 4096)
				rc = pwrite(fd, junk, 32, o) == 32 ? 0 : -1;
		}
		close(fd);
		return rc;
	}
	return -1;
}

/* Issue 10 item 2: a damaged file is moved aside; the cache starts empty
 * and works. Without the check LMDB faults (SIGBUS) on these files. */
static void
test_damaged(void)
{
	static const char *names[] = {"cut to half", "garbage in page headers",
				      "zero length", "a directory", "not LMDB",
				      "garbage in a meta page"};
	struct pkarr_packet p[40];

	for (uint8_t i = 0; i < 40; i++)
		make(&p[i], (uint8_t)(100 + i), 1000, 300, "1.2.3.4");
	for (int how = CUT_HALF; how <= META_GARBAGE; how++) {
		char tmpl[] = "/tmp/test_pkarr_cache.XXXXXX";
		char *dir = mkdtemp(tmpl), file[4200], why[160];
		const struct pkarr_packet *got = NULL;
		struct pkarr_cache *c;
		int want_aside = how == ZERO_LEN ? 0 : 1;

		if (!ok(dir != NULL, "mkdtemp"))
			return;
		snprintf(file, sizeof(file), "%s/pkarr-packets.mdb", dir);
		c = pkarr_cache_new(1 << 20, dir, &P);
		for (int i = 0; i < 40; i++)
			pkarr_cache_put(c, &p[i], 100);
		pkarr_cache_free(c);
		is_int(pkarr_lmdb_check(file, why, sizeof(why)), PKARR_LMDB_OK,
		       "%s: the file checks out before (%s)", names[how], why);
		is_int(damage_file(file, (enum damage)how), 0, "%s: damaged",
		       names[how]);
		c = pkarr_cache_new(1 << 20, dir, &P);
		ok(c != NULL && pkarr_cache_has_disk(c), "%s: opens with a file",
		   names[how]);
		is_int(count_prefixed(dir, "pkarr-packets.mdb.corrupt-"), want_aside,
		       "%s: moved aside", names[how]);
		is_int(pkarr_cache_count(c), 0, "%s: starts empty", names[how]);
		is_int(pkarr_cache_put(c, &p[0], 100), PKARR_PUT_NEW, "%s: put",
		       names[how]);
		pkarr_cache_free(c);
		c = pkarr_cache_new(1 << 20, dir, &P);
		is_int(pkarr_cache_get(c, p[0].pk, 100, &got), PKARR_CACHE_FRESH,
		       "%s: the new file works", names[how]);
		pkarr_cache_free(c);
		rm_rf(dir);
	}
}

/* Found by fuzz_lmdb_check: a file whose free list holds a record of
 * transaction 0 passed the check, and LMDB then aborted on an assertion
 * (mdb_page_dirty) at the first commit. The check must refuse it. */
static void
test_freelist_txn0(void)
{
	char path[4096], why[160];
	FILE *f = tu_open_data("lmdb_freelist_txn0.mdb", path, sizeof(path));

	if (!ok(f != NULL, "open %s", path))
		return;
	fclose(f);
	is_int(pkarr_lmdb_check(path, why, sizeof(why)), PKARR_LMDB_DAMAGED,
	       "a free-list record of transaction 0 is damage (%s)", why);
}

/* Issue 10 item 3: a directory that cannot be used leaves the cache in
 * memory; it opens later and gets what memory held. */
static void
test_unusable_dir(void)
{
	char tmpl[] = "/tmp/test_pkarr_cache.XXXXXX";
	char *dir = mkdtemp(tmpl), path[4200];
	const struct pkarr_packet *got = NULL;
	struct pkarr_packet a;
	struct pkarr_cache *c;
	FILE *f;

	if (!ok(dir != NULL, "mkdtemp"))
		return;
	make(&a, 95, 1000, 300, "1.1.1.1");
	snprintf(path, sizeof(path), "%s/cache", dir);
	f = fopen(path, "w"); /* a file where the directory should be */
	if (f)
		fclose(f);
	c = pkarr_cache_new(1 << 20, path, &P);
	if (!ok(c != NULL, "a file in place of the directory: a cache"))
		return;
	ok(!pkarr_cache_has_disk(c), "memory only");
	is_int(pkarr_cache_put(c, &a, 100), PKARR_PUT_NEW, "put in memory");
	is_int(pkarr_cache_get(c, a.pk, 100, &got), PKARR_CACHE_FRESH, "served");
	is_int(pkarr_cache_open_disk(c), PKARR_E_IO, "retry: still unusable");
	unlink(path);
	is_int(pkarr_cache_open_disk(c), 0, "retry once the file is gone: open");
	ok(pkarr_cache_has_disk(c), "writes go to disk");
	is_int(pkarr_cache_get(c, a.pk, 100, &got), PKARR_CACHE_FRESH,
	       "memory kept");
	pkarr_cache_free(c);
	is_int(disk_count(path), 1, "memory's packet written to the file");
	rm_rf(dir);
}

static void
test_map_size(void)
{
	const uint64_t mib = 1ull << 20, gib = 1ull << 30;
	bool fits = true;

	/* what wrapped on 32-bit: 4 * 1g was 0, raised to 64 MiB; 4 * 600m
	 * (2.4 GB) could not be mapped */
	ok(pkarr_cache_map_size(gib, 32) == 512 * mib,
	   "1g on 32-bit: 512 MiB (%llu)",
	   (unsigned long long)pkarr_cache_map_size(gib, 32));
	ok(pkarr_cache_map_size(600 * mib, 32) == 512 * mib,
	   "600m on 32-bit: 512 MiB");
	ok(pkarr_cache_map_size(4 * gib, 32) == 512 * mib,
	   "4g on 32-bit: 512 MiB");
	ok(pkarr_cache_map_size(UINT64_MAX, 32) == 512 * mib,
	   "the largest budget on 32-bit: 512 MiB");
	ok(pkarr_cache_map_size(100 * mib, 32) == 400 * mib,
	   "100m on 32-bit: four times");
	ok(pkarr_cache_map_size(128 * mib, 32) == 512 * mib,
	   "128m on 32-bit: four times, the cap");
	ok(pkarr_cache_map_size(gib, 64) == 4 * gib, "1g on 64-bit: 4 GiB");
	ok(pkarr_cache_map_size(600 * mib, 64) == 2400 * mib,
	   "600m on 64-bit: four times");
	ok(pkarr_cache_map_size(UINT64_MAX, 64) == PKARR_CACHE_MAP_MAX64,
	   "the largest budget on 64-bit: the cap, no wrap");
	ok(pkarr_cache_map_size((1ull << 62) + 1, 64) == PKARR_CACHE_MAP_MAX64,
	   "a budget whose four times wraps: the cap");
	for (unsigned bits = 32; bits <= 64; bits += 32) {
		ok(pkarr_cache_map_size(0, bits) == PKARR_CACHE_MAP_MIN,
		   "%u-bit: no budget, the 64 MiB floor", bits);
		ok(pkarr_cache_map_size(1000, bits) == PKARR_CACHE_MAP_MIN,
		   "%u-bit: a small budget, the floor", bits);
		ok(pkarr_cache_map_size(17 * mib + 1, bits) == 69 * mib,
		   "%u-bit: rounded up to a MiB", bits);
	}
	/* Every budget a 32-bit size_t can hold gives a map it can hold. */
	for (uint64_t b = 1; b <= UINT32_MAX; b = b * 3 + 1) {
		uint64_t m = pkarr_cache_map_size(b, 32);
		if (m > UINT32_MAX || m < PKARR_CACHE_MAP_MIN ||
		    m % mib != 0 || (b <= 16 * mib && m != 64 * mib))
			fits = false;
	}
	ok(fits, "32-bit maps always fit 32 bits, in MiB, at least the floor");
}

#define NFILL 3000

/* Put NFILL packets of about 350 bytes (1 MB) in a cache of 4 MiB of
 * memory whose file has a 1 MiB map: every one stays answered. */
static int
fill(struct pkarr_cache *c, struct pkarr_packet *p, bool held, int *answered)
{
	const struct pkarr_packet *got = NULL;
	int failed = 0;

	*answered = 0;
	for (unsigned i = 0; i < NFILL; i++) {
		if (held && i % 100 == 0)
			pkarr_cache_hold_writes(c);
		if (pkarr_cache_put(c, &p[i], 1000 + i) != PKARR_PUT_NEW)
			failed++;
		if (held && i % 100 == 99)
			pkarr_cache_release_writes(c);
	}
	for (unsigned i = 0; i < NFILL; i++)
		if (pkarr_cache_get(c, p[i].pk, 1000 + NFILL, &got) ==
			    PKARR_CACHE_FRESH &&
		    got->dns_len == p[i].dns_len)
			(*answered)++;
	return failed;
}

static void
test_map_fills(void)
{
	char tmpl[] = "/tmp/test_pkarr_cache.XXXXXX";
	char *dir = mkdtemp(tmpl);
	struct pkarr_packet *p = calloc(NFILL, sizeof(*p));
	const struct pkarr_packet *got = NULL;
	struct pkarr_cache *c;
	int answered = 0, on_disk, bad = 0;

	if (!ok(dir != NULL && p != NULL, "mkdtemp"))
		goto out;
	for (unsigned i = 0; i < NFILL; i++)
		if (make_big(&p[i], 2000 + i, 250, 1000 + i) < 0)
			bad++;
	is_int(bad, 0, "%d packets made", NFILL);

	/* The file's budget is a quarter of the map: a subset, newest. */
	c = pkarr_cache_new_map(4 << 20, dir, &P, 1 << 20, 0);
	if (!ok(c != NULL && pkarr_cache_has_disk(c), "a cache with a 1 MiB map"))
		goto out;
	is_int(fill(c, p, false, &answered), 0, "all stored");
	is_int(answered, NFILL, "all answered from memory");
	ok(pkarr_cache_has_disk(c), "the disk still in use");
	pkarr_cache_free(c);
	on_disk = disk_count(dir);
	ok(on_disk > 100 && on_disk < NFILL / 4,
	   "the file holds the part that fits a quarter of the map (%d)",
	   on_disk);
	c = pkarr_cache_new_map(4 << 20, dir, &P, 1 << 20, 0);
	if (ok(c != NULL, "reopened")) {
		is_int(pkarr_cache_count(c), on_disk, "all of the file loaded");
		is_int(pkarr_cache_get(c, p[NFILL - 1].pk, 2000, &got),
		       PKARR_CACHE_FRESH, "the newest came back");
		is_int(pkarr_cache_get(c, p[0].pk, 2000, &got),
		       PKARR_CACHE_MISS, "the oldest did not");
		pkarr_cache_free(c);
	}
	rm_rf(dir);

	/* A budget larger than the map: it fills (MDB_MAP_FULL), the file
	 * is started again with less, and answers keep coming. Once with
	 * single writes, once with held ones. */
	for (int held = 0; held < 2; held++) {
		dir = mkdtemp(strcpy(tmpl, "/tmp/test_pkarr_cache.XXXXXX"));
		c = dir ? pkarr_cache_new_map(4 << 20, dir, &P, 1 << 20,
					      64 << 20)
			: NULL;
		if (!ok(c != NULL, "a cache whose file overfills its map"))
			goto out;
		is_int(fill(c, p, held, &answered), 0, "%s: all stored",
		       held ? "held" : "single");
		is_int(answered, NFILL, "all answered");
		ok(pkarr_cache_has_disk(c), "the disk still in use");
		pkarr_cache_free(c);
		on_disk = disk_count(dir);
		ok(on_disk > 50, "the file holds packets (%d)", on_disk);
		c = pkarr_cache_new_map(4 << 20, dir, &P, 1 << 20, 64 << 20);
		if (ok(c != NULL && pkarr_cache_has_disk(c), "reopened")) {
			is_int(pkarr_cache_count(c), on_disk,
			       "all of the file loaded");
			is_int(pkarr_cache_get(c, p[NFILL - 1].pk, 2000, &got),
			       PKARR_CACHE_FRESH, "the newest came back");
			pkarr_cache_free(c);
		}
		rm_rf(dir);
	}
out:
	free(p);
}

static void
is_str(const char *got, const char *want, const char *desc)
{
	char line[400];

	if (!ok(strcmp(got, want) == 0, "%s", desc)) {
		snprintf(line, sizeof(line), "got '%s', want '%s'", got, want);
		diag(line);
	}
}

static const char *
src_of(struct pkarr_cache *c, const uint8_t pk[32], const char *relay_url)
{
	static char buf[PKARR_SOURCE_STR_MAX];
	struct pkarr_source src;

	if (pkarr_cache_source(c, pk, &src) != 0)
		return "none";
	return pkarr_source_str(&src, relay_url, buf, sizeof(buf));
}

/* Where a packet came from: kept with it, replaced by a newer packet or
 * a confirmation, never by an older packet; "disk cache" after a
 * restart (the file's format does not keep it). */
static void
test_source(void)
{
	char tmpl[] = "/tmp/test_pkarr_cache.XXXXXX";
	char *dir = mkdtemp(tmpl);
	struct pkarr_cache *c;
	struct pkarr_packet a1, a2, b, bad;
	struct pkarr_source dht4, dht6, put, relay, got;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	char small[12];

	make(&a1, 90, 1000, 300, "1.1.1.1");
	make(&a2, 90, 2000, 300, "1.1.1.2");
	make(&b, 91, 1000, 300, "2.2.2.2");
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(6881);
	inet_pton(AF_INET, "192.0.2.7", &sin.sin_addr);
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(40001);
	inet_pton(AF_INET6, "2001:db8::5", &sin6.sin6_addr);
	pkarr_source_from_sockaddr(&dht4, PKARR_SOURCE_DHT, (struct sockaddr *)&sin, true);
	pkarr_source_from_sockaddr(&dht6, PKARR_SOURCE_DHT, (struct sockaddr *)&sin6, true);
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	pkarr_source_from_sockaddr(&put, PKARR_SOURCE_RELAY_PUT, (struct sockaddr *)&sin, false);
	memset(&relay, 0, sizeof(relay));
	relay.kind = PKARR_SOURCE_RELAY;
	relay.port = 1;
	ok(sizeof(struct pkarr_source) == 20, "a source takes 20 bytes");

	c = pkarr_cache_new(1 << 20, NULL, &P);
	is_int(pkarr_cache_put_from(c, &a1, 100, &dht4, true), PKARR_PUT_NEW,
	       "a packet from a DHT node");
	is_str(src_of(c, a1.pk, NULL), "DHT node 192.0.2.7:6881", "  ... says which node");
	is_int(pkarr_cache_put_from(c, &a1, 110, NULL, false), PKARR_PUT_SAME,
	       "  ... confirmed with no source given");
	is_str(src_of(c, a1.pk, NULL), "DHT node 192.0.2.7:6881", "  ... keeps its source");
	is_int(pkarr_cache_put_from(c, &a1, 120, &dht6, false), PKARR_PUT_SAME,
	       "  ... confirmed by an IPv6 node");
	is_str(src_of(c, a1.pk, NULL), "DHT node [2001:db8::5]:40001",
	       "  ... which is now its source (the age starts again too)");
	is_int(pkarr_cache_put_from(c, &a2, 130, &put, false), PKARR_PUT_NEWER,
	       "a newer seq PUT through the relay API");
	is_str(src_of(c, a1.pk, NULL), "relay PUT from 127.0.0.1",
	       "  ... says the client's address, not its port");
	is_int(pkarr_cache_put_from(c, &a1, 140, &dht4, false), PKARR_PUT_OLDER,
	       "the older seq again from the DHT");
	is_str(src_of(c, a1.pk, NULL), "relay PUT from 127.0.0.1",
	       "  ... does not change the source");
	is_int(pkarr_cache_put_from(c, &b, 100, &relay, false), PKARR_PUT_NEW,
	       "a packet from relay #1");
	is_str(src_of(c, b.pk, "https://relay.example/pkarr"),
	       "relay https://relay.example/pkarr", "  ... names the relay's URL");
	is_str(src_of(c, b.pk, NULL), "relay #1", "  ... or its number");
	pkarr_source_str(&dht6, NULL, small, sizeof(small));
	is_str(small, "DHT node [2", "a short buffer: cut, NUL-terminated");
	bad = b;
	bad.sig[0] ^= 1;
	is_int(pkarr_cache_put_from(c, &bad, 100, &dht4, true), PKARR_E_SIG,
	       "put_from with verify checks the signature");
	is_str(src_of(c, b.pk, NULL), "relay #1", "  ... and changes nothing");
	pkarr_cache_remove(c, b.pk);
	is_int(pkarr_cache_put(c, &b, 100), PKARR_PUT_NEW, "pkarr_cache_put()");
	is_str(src_of(c, b.pk, NULL), "unknown", "  ... has no source");
	pkarr_cache_remove(c, b.pk);
	pkarr_cache_put_negative(c, b.pk, 100, 60);
	ok(pkarr_cache_source(c, b.pk, &got) == PKARR_E_INVAL,
	   "a negative entry has no source");
	pkarr_cache_free(c);

	if (!ok(dir != NULL, "mkdtemp"))
		return;
	c = pkarr_cache_new(1 << 20, dir, &P);
	pkarr_cache_put_from(c, &a1, 100, &dht4, false);
	pkarr_cache_put_from(c, &b, 100, &put, false);
	is_str(src_of(c, a1.pk, NULL), "DHT node 192.0.2.7:6881",
	       "with a cache directory: the DHT node");
	pkarr_cache_free(c);
	c = pkarr_cache_new(1 << 20, dir, &P);
	is_int(pkarr_cache_count(c), 2, "after a restart: both packets back");
	is_str(src_of(c, a1.pk, NULL), "disk cache (cache-dir, read at start)",
	       "  ... from the disk cache (before its signature is checked)");
	is_int(pkarr_cache_get(c, b.pk, 150, NULL), PKARR_CACHE_FRESH, "  ... verified");
	is_str(src_of(c, b.pk, NULL), "disk cache (cache-dir, read at start)",
	       "  ... still from the disk cache");
	is_int(pkarr_cache_put_from(c, &a1, 160, &dht6, false), PKARR_PUT_SAME,
	       "  ... confirmed by a DHT node");
	is_str(src_of(c, a1.pk, NULL), "DHT node [2001:db8::5]:40001",
	       "  ... which is its source now");
	pkarr_cache_free(c);
	rm_rf(dir);
}

int
main(void)
{
	test_freshness();
	test_negative();
	test_eviction();
	test_lmdb();
	test_memory();
	test_lazy_verify();
	test_load_budget();
	test_held_writes();
	test_never_evict_own();
	test_future();
	test_damaged();
	test_freelist_txn0();
	test_unusable_dir();
	test_map_size();
	test_map_fills();
	test_source();
	return tap_done();
}
