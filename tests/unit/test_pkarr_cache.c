/*
 * test_pkarr_cache.c -- packet cache: freshness, staleness, seq ordering,
 * negative entries, LRU eviction by bytes, LMDB persistence and
 * re-verification of what comes back from disk.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lmdb.h>

#include "pkarr/cache.h"
#include "pkarr/packet.h"
#include "pkarr/zone.h"
#include "tap.h"

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
	ok(one > sizeof(struct pkarr_packet), "entry size %zu counted", one);
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
		       "tampered packet not loaded");
		is_int(pkarr_cache_count(c), 1, "the good one is");
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

	ok(pkarr_cache_new(1 << 20, "/proc/nonexistent/dir", &P) == NULL,
	   "unusable directory: NULL");
	rm_rf(dir);
	ok(access(dir, F_OK) != 0, "temp dir removed");
}

int
main(void)
{
	test_freshness();
	test_negative();
	test_eviction();
	test_lmdb();
	return tap_done();
}
