/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_dht_bep44.c -- BEP 44 signable bytes and targets against the BEP's
 * test vectors and pkarr's signed packets; the item store's rules
 * (highest seq wins, ties by larger v, CAS, expiry, bounds).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "dht/dht.h"
#include "dht/dht_store.h"
#include "dht/dht_util.h"
#include "tap.h"
#include "testutil.h"

static int
null_send(void *ctx, const uint8_t *buf, size_t len, const struct sockaddr *to, socklen_t tl)
{
	(void)ctx, (void)buf, (void)len, (void)to, (void)tl;
	return 0;
}

/* dht_put must refuse an item (returns 0). */
static int
dht_put_refuses(const struct dht_item *it)
{
	struct dht_config cfg;
	struct dht *d;
	uint32_t id;

	memset(&cfg, 0, sizeof(cfg));
	cfg.send = null_send;
	d = dht_new(&cfg, 1);
	id = dht_put(d, it, -1, NULL, NULL, 1);
	dht_free(d);
	return id == 0;
}

static void
test_bep_vectors(void)
{
	uint8_t pk[32], sig[64], buf[256], target[20], want[20];
	const uint8_t *v = (const uint8_t *)"Hello World!";
	int n;

	tu_unhex("77ff84905a91936367c01360803104f92432fcd904a43511876df5cdf3e7e548", 64, pk, 32);
	n = dht_bep44_signable(buf, sizeof(buf), NULL, 0, 1, v, 12);
	ok(n == 26 && memcmp(buf, "3:seqi1e1:v12:Hello World!", 26) == 0,
		"BEP 44 test 1 signable bytes");
	tu_unhex("305ac8aeb6c9c151fa120f120ea2cfb923564e11552d06a5d856091e5e853cff"
	      "1260d3f39e4999684aa92eb73ffd136e6f4f3ecbfda0ce53a1608ecd7ae21f01", 128, sig, 64);
	ok(crypto_sign_verify_detached(sig, buf, (unsigned long long)n, pk) == 0,
		"BEP 44 test 1 signature verifies");
	dht_mutable_target(pk, NULL, 0, target);
	tu_unhex("4a533d47ec9c7d95b1ad75f576cffc641853b750", 40, want, 20);
	is_mem(target, want, 20, "BEP 44 test 1 target");

	n = dht_bep44_signable(buf, sizeof(buf), (const uint8_t *)"foobar", 6, 1, v, 12);
	ok(n == 40 && memcmp(buf, "4:salt6:foobar3:seqi1e1:v12:Hello World!", 40) == 0,
		"BEP 44 test 2 signable bytes (salt)");
	tu_unhex("6834284b6b24c3204eb2fea824d82f88883a3d95e8b4a21b8c0ded553d17d17d"
	      "df9a8a7104b1258f30bed3787e6cb896fca78c58f8e03b5f18f14951a87d9a08", 128, sig, 64);
	ok(crypto_sign_verify_detached(sig, buf, (unsigned long long)n, pk) == 0,
		"BEP 44 test 2 signature verifies");
	dht_mutable_target(pk, (const uint8_t *)"foobar", 6, target);
	tu_unhex("411eba73b6f087ca51a3795d9c8c938d365e32c1", 40, want, 20);
	is_mem(target, want, 20, "BEP 44 test 2 target");

	dht_immutable_target(v, 12, target);
	tu_unhex("e5f96f6f38320f0f33959cb4d3d656452117aadb", 40, want, 20);
	is_mem(target, want, 20, "BEP 44 test 3 immutable target");

	is_int(dht_bep44_signable(buf, 10, NULL, 0, 1, v, 12), -1, "small buffer refused");
}

static void
test_pkarr_vectors(void)
{
	char path[1024], line[16384];
	int lines = 0, verified = 0, prefixed = 0, oversize = 0;
	static uint8_t big[2400];
	FILE *f;

	f = tu_open_data("pkarr_signed_packets.jsonl", path, sizeof(path));
	if (!ok(f != NULL, "open %s", path))
		return;
	while (fgets(line, sizeof(line), f)) {
		const char *b = strstr(line, "\"bep44\":");
		const char *h;
		size_t hl;
		uint8_t k[32], sig[64], v[1100], buf[1200], prefix[64];
		size_t vl;
		long long seq;
		int n, pn, vn;
		if (b == NULL)
			continue;
		h = tu_json_str(b, "k", &hl);
		if (h == NULL || tu_unhex(h, hl, k, 32) != 32)
			continue;
		h = tu_json_str(b, "sig", &hl);
		if (h == NULL || tu_unhex(h, hl, sig, 64) != 64)
			continue;
		h = tu_json_str(b, "v_hex", &hl);
		if (h == NULL)
			continue;
		vn = tu_unhex(h, hl, v, sizeof(v));
		vl = vn < 0 ? 0 : (size_t)vn;
		h = strstr(b, "\"seq\":");
		if (h == NULL || sscanf(h + 6, "%lld", &seq) != 1)
			continue;
		pn = snprintf((char *)prefix, sizeof(prefix), "3:seqi%llde1:v%zu:", seq, vl);
		if (vl > DHT_MAX_VALUE) {
			/* pkarr signs oversized packets too; they cannot go
			 * on the DHT (BEP 44: v is at most 1000 bytes). */
			struct dht_item *it = calloc(1, sizeof(*it));
			oversize++;
			ok(dht_bep44_signable(buf, sizeof(buf), NULL, 0, seq, v, vl) == -1,
				"pkarr vector %d: %zu-byte value refused", lines + 1, vl);
			it->is_mutable = true;
			it->v_len = vl;
			ok(dht_put_refuses(it), "pkarr vector %d: put refuses it", lines + 1);
			free(it);
			/* The signature still covers our layout. */
			n = snprintf((char *)buf, sizeof(buf), "%zu:", vl);
			memcpy(buf + n, v, vl);
			n = dht_signable_raw(big, sizeof(big), NULL, 0, seq, buf, (size_t)n + vl);
			if (n > 0 && crypto_sign_verify_detached(sig, big, (unsigned long long)n, k) == 0)
				verified++;
			lines++;
			prefixed++;
			continue;
		}
		lines++;
		n = dht_bep44_signable(buf, sizeof(buf), NULL, 0, seq, v, vl);
		if (!ok(n > pn, "pkarr vector %d: signable built", lines))
			continue;
		if (memcmp(buf, prefix, (size_t)pn) == 0 && memcmp(buf + pn, v, vl) == 0)
			prefixed++;
		if (crypto_sign_verify_detached(sig, buf, (unsigned long long)n, k) == 0)
			verified++;
		buf[n - 1] ^= 1;
		ok(crypto_sign_verify_detached(sig, buf, (unsigned long long)n, k) != 0,
			"pkarr vector %d: tampered value fails", lines);
	}
	fclose(f);
	ok(lines >= 3, "%d pkarr vectors", lines);
	is_int(oversize, 1, "one oversized vector");
	is_int(prefixed, lines, "signable layout 3:seqi<seq>e1:v<len>:<v>");
	is_int(verified, lines, "every pkarr signature verifies over our signable bytes");
}

static struct dht_store_item
item(uint8_t tfill, int64_t seq, const char *v)
{
	struct dht_store_item it;

	memset(&it, 0, sizeof(it));
	memset(it.target, tfill, 20);
	it.is_mutable = true;
	it.seq = seq;
	it.v = (uint8_t *)(uintptr_t)v;
	it.v_len = strlen(v);
	return it;
}

static void
test_store(void)
{
	struct dht_store s;
	struct dht_store_item it;
	const struct dht_store_item *got;
	uint8_t t1[20];
	uint64_t now = 1000;

	memset(t1, 1, 20);
	ok(dht_store_init(&s, 3, 40) == 0, "store init");
	it = item(1, 5, "3:bbb");
	is_int(dht_store_put(&s, &it, false, 0, now), 0, "first put");
	it = item(1, 4, "3:zzz");
	is_int(dht_store_put(&s, &it, false, 0, now), -302, "lower seq: 302");
	it = item(1, 5, "3:aaa");
	is_int(dht_store_put(&s, &it, false, 0, now), 0, "equal seq, smaller v: accepted...");
	got = dht_store_get(&s, t1, now);
	ok(got && got->v_len == 5 && memcmp(got->v, "3:bbb", 5) == 0, "... but the larger v kept");
	it = item(1, 5, "3:ccc");
	dht_store_put(&s, &it, false, 0, now);
	got = dht_store_get(&s, t1, now);
	ok(got && memcmp(got->v, "3:ccc", 5) == 0, "equal seq, larger v wins");
	it = item(1, 9, "3:ddd");
	is_int(dht_store_put(&s, &it, true, 4, now), -301, "CAS mismatch: 301");
	is_int(dht_store_put(&s, &it, true, 5, now), 0, "CAS match stores");
	got = dht_store_get(&s, t1, now);
	ok(got && got->seq == 9, "seq 9 stored");

	/* Bounds: 3 items, 40 bytes; the oldest goes. */
	it = item(2, 1, "10:0123456789");
	dht_store_put(&s, &it, false, 0, now + 1);
	it = item(3, 1, "10:0123456789");
	dht_store_put(&s, &it, false, 0, now + 2);
	is_int(s.n_items, 3, "three items");
	it = item(4, 1, "10:0123456789");
	is_int(dht_store_put(&s, &it, false, 0, now + 3), 0, "fourth item stored");
	ok(s.n_items <= 3 && s.bytes <= 40, "bounds kept (%zu items, %zu bytes)", s.n_items, s.bytes);
	ok(dht_store_get(&s, t1, now + 3) == NULL, "oldest item evicted");
	it = item(5, 1, "50:01234567890123456789012345678901234567890123456789");
	is_int(dht_store_put(&s, &it, false, 0, now), -KRPC_E_SERVER, "item larger than the store refused");

	/* Expiry after 2 hours. */
	memset(t1, 4, 20);
	ok(dht_store_get(&s, t1, now + 3 + DHT_STORE_ITEM_MS - 1) != NULL, "alive before 2 h");
	ok(dht_store_get(&s, t1, now + 3 + DHT_STORE_ITEM_MS) == NULL, "expired at 2 h");
	dht_store_expire(&s, now + 10 + DHT_STORE_ITEM_MS);
	is_int(s.n_items, 0, "expire frees everything");
	is_int(s.bytes, 0, "byte count back to 0");

	/* Peers. */
	{
		uint8_t ih[20], p1[6] = { 1, 2, 3, 4, 0, 80 }, p2[6] = { 1, 2, 3, 5, 0, 80 };
		struct krpc_str out[4];
		memset(ih, 9, 20);
		dht_store_add_peer(&s, ih, p1, 6, now);
		dht_store_add_peer(&s, ih, p1, 6, now);
		dht_store_add_peer(&s, ih, p2, 6, now);
		is_int(dht_store_get_peers(&s, ih, 6, out, 4, now), 2, "two distinct peers");
		is_int(dht_store_get_peers(&s, ih, 18, out, 4, now), 0, "no IPv6 peers");
		is_int(dht_store_get_peers(&s, ih, 6, out, 4, now + DHT_STORE_PEER_MS), 0,
			"peers expire");
	}
	dht_store_free(&s);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_bep_vectors();
	test_pkarr_vectors();
	test_store();
	return tap_done();
}
