/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_dht_routing.c -- routing table rules (BEP 5), BEP 42 node IDs with
 * the BEP's published vectors, write tokens and their rotation; the wide
 * far buckets (ROUTING_WIDE) and routing_closest against a brute-force
 * sort of the whole table.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "dht/dht_util.h"
#include "dht/routing.h"
#include "tap.h"
#include "testutil.h"

static struct dht_addr
v4(const char *ip, uint16_t port)
{
	struct dht_addr a;

	memset(&a, 0, sizeof(a));
	a.family = 4;
	inet_pton(AF_INET, ip, a.ip);
	a.port = port;
	return a;
}

static void
test_bep42(void)
{
	/* BEP 42 "test vectors". */
	static const struct {
		const char *ip;
		uint8_t r;
		const char *id;
	} vec[] = {
		{ "124.31.75.21", 1, "5fbfbff10c5d6a4ec8a88e4c6ab4c28b95eee401" },
		{ "21.75.31.124", 86, "5a3ce9c14e7a08645677bbd1cfe7d8f956d53256" },
		{ "65.23.51.170", 22, "a5d43220bc8f112a3d426c84764f8c2a1150e616" },
		{ "84.124.73.14", 65, "1b0321dd1bb1fe518101ceef99462b947a01ff41" },
		{ "43.213.53.83", 90, "e56f6cbf5b7c4be0237986d5243b87aa6d51305a" },
	};
	uint8_t id[20], made[20];
	struct dht_addr a6;

	is_int(dht_crc32c((const uint8_t *)"123456789", 9), 0xe3069283u, "CRC32-C check value");
	for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		struct dht_addr a = v4(vec[i].ip, 0);
		tu_unhex(vec[i].id, 40, id, 20);
		ok(dht_bep42_valid(&a, id), "BEP 42 vector %s valid", vec[i].ip);
		dht_bep42_make_id(&a, vec[i].r, id, made);
		ok(memcmp(made, id, 20) == 0, "BEP 42 vector %s generated", vec[i].ip);
		id[0] ^= 0x01;
		ok(!dht_bep42_valid(&a, id), "BEP 42 %s: changed prefix invalid", vec[i].ip);
		id[0] ^= 0x01;
		id[2] ^= 0x08; /* bit 21 */
		ok(!dht_bep42_valid(&a, id), "BEP 42 %s: 21st bit checked", vec[i].ip);
		id[2] ^= 0x08;
		id[2] ^= 0x04; /* bit 22 is free */
		ok(dht_bep42_valid(&a, id), "BEP 42 %s: bit 22 free", vec[i].ip);
	}
	/* IPv6: generate and validate. */
	memset(&a6, 0, sizeof(a6));
	a6.family = 6;
	inet_pton(AF_INET6, "2001:db8:1234:5678::1", a6.ip);
	randombytes_buf(id, 20);
	dht_bep42_make_id(&a6, 0x35, id, made);
	ok(dht_bep42_valid(&a6, made) && made[19] == 0x35, "IPv6 ID valid for its address");
	a6.ip[7] ^= 0x01;
	ok(!dht_bep42_valid(&a6, made), "IPv6 ID invalid for another /64");

	ok(dht_addr_is_local(&(struct dht_addr){ 4, { 10, 1, 2, 3 }, 0 }), "10/8 local");
	ok(dht_addr_is_local(&(struct dht_addr){ 4, { 172, 20, 0, 1 }, 0 }), "172.16/12 local");
	ok(!dht_addr_is_local(&(struct dht_addr){ 4, { 172, 32, 0, 1 }, 0 }), "172.32 not local");
	ok(dht_addr_is_local(&(struct dht_addr){ 4, { 127, 0, 1, 2 }, 0 }), "127/8 local");
	ok(!dht_addr_is_local(&(struct dht_addr){ 4, { 8, 8, 8, 8 }, 0 }), "8.8.8.8 not local");
}

static void
test_tokens(void)
{
	struct dht_tokens t;
	struct dht_addr a = v4("192.0.2.1", 1000), a2 = v4("192.0.2.1", 2000),
			b = v4("192.0.2.2", 1000);
	uint8_t tok[DHT_TOKEN_LEN];
	uint64_t t0 = 5000;

	dht_tokens_init(&t, t0);
	dht_token_make(&t, &a, tok);
	ok(dht_token_check(&t, &a, tok, sizeof(tok)), "fresh token valid");
	ok(dht_token_check(&t, &a2, tok, sizeof(tok)), "token ignores the port");
	ok(!dht_token_check(&t, &b, tok, sizeof(tok)), "token bound to the IP");
	ok(!dht_token_check(&t, &a, tok, 4), "short token refused");
	dht_tokens_tick(&t, t0 + DHT_TOKEN_ROTATE_MS - 1);
	ok(dht_token_check(&t, &a, tok, sizeof(tok)), "no rotation before 5 minutes");
	dht_tokens_tick(&t, t0 + DHT_TOKEN_ROTATE_MS);
	ok(dht_token_check(&t, &a, tok, sizeof(tok)), "previous secret still accepted");
	dht_tokens_tick(&t, t0 + 2 * DHT_TOKEN_ROTATE_MS);
	ok(!dht_token_check(&t, &a, tok, sizeof(tok)), "token dead after two rotations");
}

static void
mkid(uint8_t *id, uint8_t first, uint8_t fill)
{
	memset(id, fill, 20);
	id[0] = first;
}

static void
test_routing(void)
{
	struct routing rt;
	struct routing_node out[32], n;
	uint8_t self[20], id[20], target[20];
	char ip[32];
	uint64_t now = 1000;
	struct dht_addr a;

	memset(self, 0, 20);
	routing_init(&rt, 4, 8, self, 0, now);

	/* Bucket 0: IDs with the top bit set. */
	for (int i = 0; i < 8; i++) {
		snprintf(ip, sizeof(ip), "198.51.100.%d", i + 1);
		mkid(id, (uint8_t)(0x80 + i), (uint8_t)i);
		a = v4(ip, 6881);
		is_int(routing_heard(&rt, id, &a, ROUTING_REPLY, now), 1, "node %d added", i);
	}
	mkid(id, 0x90, 0x90);
	a = v4("198.51.100.99", 6881);
	is_int(routing_heard(&rt, id, &a, ROUTING_REPLY, now), 0, "9th node kept as candidate");
	ok(routing_find_addr(&rt, &a) == NULL, "... not in the bucket");
	is_int(routing_count(&rt, now, NULL), 8, "8 nodes");

	/* Same IP, new ID: refused while the first is alive. */
	mkid(id, 0x40, 1);
	a = v4("198.51.100.1", 7000);
	is_int(routing_heard(&rt, id, &a, ROUTING_REPLY, now), -1, "second ID from one IP refused");
	/* Same ID, other address: refused. */
	mkid(id, 0x80, 0);
	a = v4("203.0.113.5", 6881);
	is_int(routing_heard(&rt, id, &a, ROUTING_REPLY, now), -1, "known ID from a new address refused");
	/* Our own ID never enters. */
	a = v4("203.0.113.6", 6881);
	is_int(routing_heard(&rt, self, &a, ROUTING_REPLY, now), -1, "own ID refused");

	/* Two failures make node 0 bad; the candidate replaces it. */
	a = v4("198.51.100.1", 6881);
	routing_failed(&rt, &a);
	ok(routing_find_addr(&rt, &a) != NULL, "one failure: still there");
	routing_failed(&rt, &a);
	ok(routing_find_addr(&rt, &a) == NULL, "two failures: replaced");
	a = v4("198.51.100.99", 6881);
	ok(routing_find_addr(&rt, &a) != NULL, "candidate promoted");

	/* Closest: sorted by XOR distance. */
	mkid(target, 0x83, 0x03);
	{
		size_t k = routing_closest(&rt, target, out, 32);
		bool sorted = true;
		for (size_t i = 1; i < k; i++)
			if (dht_id_cmp_dist(target, out[i - 1].id, out[i].id) > 0)
				sorted = false;
		ok(k == 8 && sorted, "closest: 8 nodes sorted");
		ok(out[0].id[0] == 0x83, "closest first");
		is_int(routing_closest(&rt, target, out, 3), 3, "closest bounded by max");
	}

	/* Good for 15 minutes, then questionable and pinged. */
	ok(routing_next_ping(&rt, now + 1000, &n) == 0, "nothing to ping while good");
	now += ROUTING_GOOD_MS + 1;
	ok(routing_next_ping(&rt, now, &n) == 1, "questionable node pinged after 15 min");
	{
		int pings = 1;
		while (routing_next_ping(&rt, now, &n) == 1)
			pings++;
		is_int(pings, 8, "each questionable node pinged once");
		ok(routing_next_ping(&rt, now + 1000, &n) == 0, "no re-ping within a minute");
	}

	/* Refresh: a random target in a stale bucket. */
	ok(routing_next_refresh(&rt, now, target) == 1, "stale bucket refreshed");
	ok(dht_id_common_bits(self, target) <= 1, "refresh target in bucket 0 or 1");

	/* BEP 42 preference: a valid ID replaces an invalid questionable one. */
	{
		struct dht_addr pub = v4("124.31.75.21", 6881);
		uint8_t vid[20];
		tu_unhex("5fbfbff10c5d6a4ec8a88e4c6ab4c28b95eee401", 40, vid, 20);
		/* vid starts 0x5f: bucket 1 (self = 0). Fill bucket 1. */
		for (int i = 0; i < 8; i++) {
			snprintf(ip, sizeof(ip), "192.0.2.%d", i + 1);
			mkid(id, (uint8_t)(0x40 + i), (uint8_t)(0x10 + i));
			a = v4(ip, 6881);
			routing_heard(&rt, id, &a, ROUTING_REPLY, now);
		}
		is_int(routing_heard(&rt, vid, &pub, ROUTING_REPLY, now), 0,
			"valid ID waits while the others are good");
		is_int(routing_heard(&rt, vid, &pub, ROUTING_REPLY, now + ROUTING_GOOD_MS + 1), 1,
			"valid ID replaces a questionable invalid one");
	}

	/* Loopback relaxation: many ports on one IP. */
	{
		struct routing lo;
		int added = 0;
		routing_init(&lo, 4, 8, self, ROUTING_RELAX_LOOPBACK, now);
		for (int i = 0; i < 5; i++) {
			mkid(id, (uint8_t)(0x80 + i), 7);
			a = v4("127.0.0.1", (uint16_t)(7000 + i));
			if (routing_heard(&lo, id, &a, ROUTING_REPLY, now) == 1)
				added++;
		}
		is_int(added, 5, "testnet: 5 nodes on 127.0.0.1");
		routing_free(&lo);
		routing_init(&lo, 4, 8, self, 0, now);
		added = 0;
		for (int i = 0; i < 5; i++) {
			mkid(id, (uint8_t)(0x80 + i), 7);
			a = v4("127.0.0.1", (uint16_t)(7000 + i));
			if (routing_heard(&lo, id, &a, ROUTING_REPLY, now) == 1)
				added++;
		}
		is_int(added, 1, "without relaxation: one node per IP");
		routing_free(&lo);
	}

	/* A new own ID keeps the nodes. */
	{
		size_t before = routing_count(&rt, now, NULL);
		memset(self, 0xff, 20);
		routing_set_self(&rt, self, now);
		is_int(routing_count(&rt, now, NULL), before, "ID change keeps nodes");
	}
	/* Wrong family is refused. */
	memset(&a, 0, sizeof(a));
	a.family = 6;
	a.port = 1;
	mkid(id, 0x11, 0x11);
	is_int(routing_heard(&rt, id, &a, ROUTING_REPLY, now), -1, "IPv6 node refused by IPv4 table");
	routing_free(&rt);
}

/* A fixed-seed PRNG (xorshift64*): the tables below are the same on
 * every run, so a failure can be replayed. */
static uint64_t prng_state = 0x9e3779b97f4a7c15ull;

static uint64_t
prng(void)
{
	prng_state ^= prng_state >> 12;
	prng_state ^= prng_state << 25;
	prng_state ^= prng_state >> 27;
	return prng_state * 0x2545f4914f6cdd1dull;
}

static void
prng_bytes(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(prng() >> 56);
}

/* An ID sharing exactly `bits` leading bits with ref (0..159), random
 * after the first differing bit. */
static void
id_sharing(uint8_t id[20], const uint8_t ref[20], int bits)
{
	prng_bytes(id, 20);
	for (int bit = 0; bit <= bits; bit++) {
		uint8_t mask = (uint8_t)(0x80 >> (bit % 8));
		uint8_t want = ref[bit / 8] & mask;
		if (bit == bits)
			want ^= mask;
		id[bit / 8] = (uint8_t)((id[bit / 8] & ~mask) | want);
	}
}

/* A distinct IPv4 address per index (100.64/10: not one BEP 42 exempts). */
static struct dht_addr
v4_nth(uint32_t i)
{
	struct dht_addr a;

	memset(&a, 0, sizeof(a));
	a.family = 4;
	a.ip[0] = 100;
	a.ip[1] = (uint8_t)(64 + (i >> 16));
	a.ip[2] = (uint8_t)(i >> 8);
	a.ip[3] = (uint8_t)i;
	a.port = 6881;
	return a;
}

static void
test_capacity(void)
{
	struct routing wide, narrow, wide4, dflt;
	uint8_t self[20];
	bool narrow_k = true, deep_k = true;

	memset(self, 0, 20);
	routing_init(&wide, 4, 8, self, ROUTING_WIDE, 1000);
	routing_init(&narrow, 4, 8, self, 0, 1000);
	routing_init(&wide4, 4, 4, self, ROUTING_WIDE | ROUTING_RELAX_LOOPBACK, 1000);
	routing_init(&dflt, 4, 0, self, ROUTING_WIDE, 1000);

	is_int(routing_bucket_cap(&wide, 0), 128, "wide k=8: bucket 0 holds 16k = 128");
	is_int(routing_bucket_cap(&wide, 1), 64, "wide k=8: bucket 1 holds 8k = 64");
	is_int(routing_bucket_cap(&wide, 2), 32, "wide k=8: bucket 2 holds 4k = 32");
	is_int(routing_bucket_cap(&wide, 3), 16, "wide k=8: bucket 3 holds 2k = 16");
	for (int i = 4; i < 160; i++)
		if (routing_bucket_cap(&wide, i) != 8)
			deep_k = false;
	ok(deep_k, "wide k=8: buckets 4..159 hold k = 8");
	for (int i = 0; i < 160; i++)
		if (routing_bucket_cap(&narrow, i) != 8)
			narrow_k = false;
	ok(narrow_k, "narrow k=8: every bucket holds k = 8");
	is_int(routing_capacity(&narrow), 160 * 8, "narrow k=8: capacity 160k");
	is_int(routing_capacity(&wide), 160 * 8 + 8 * (15 + 7 + 3 + 1),
		"wide k=8: capacity 160k + k(15 + 7 + 3 + 1)");
	is_int(routing_bucket_cap(&wide4, 0), 64, "wide k=4: bucket 0 holds 16k = 64");
	is_int(routing_bucket_cap(&wide4, 3), 8, "wide k=4: bucket 3 holds 2k = 8");
	is_int(routing_bucket_cap(&wide4, 4), 4, "wide k=4: bucket 4 holds k");
	is_int(routing_capacity(&wide4), 160 * 4 + 4 * (15 + 7 + 3 + 1),
		"wide k=4: capacity 160k + 26k (with the loopback flag too)");
	ok(wide4.relax_loopback && wide4.wide && !narrow.wide && !narrow.relax_loopback &&
			wide.wide && !wide.relax_loopback,
		"routing_init flags set wide and relax_loopback independently");
	is_int(routing_bucket_cap(&dflt, 0), 128, "wide, k=0 defaults to 8: bucket 0 holds 128");
	is_int(routing_capacity(&dflt), 1488, "wide, k=0 defaults to 8: capacity 1488");
	routing_free(&wide);
	routing_free(&narrow);
	routing_free(&wide4);
	routing_free(&dflt);
}

/* Fill bucket `bi` (self = 0: IDs whose first set bit is bit bi) with
 * `want` new nodes numbered from *ipn; return how many entered. */
static int
fill_bucket(struct routing *rt, int bi, int want, uint32_t *ipn, bool *wants_ok)
{
	uint8_t zero[20], id[20];
	int added = 0;

	memset(zero, 0, 20);
	for (int i = 0; i < want; i++) {
		struct dht_addr a = v4_nth((*ipn)++);
		id_sharing(id, zero, bi);
		if (!routing_wants(rt, id, &a))
			*wants_ok = false;
		if (routing_heard(rt, id, &a, ROUTING_REPLY, 1000) == 1)
			added++;
	}
	return added;
}

static void
test_wide_fill(void)
{
	struct routing wide, narrow;
	uint8_t self[20], id[20];
	struct dht_addr a, extra, first;
	uint32_t ipn = 1;
	bool wants = true;
	int added;

	memset(self, 0, 20);
	routing_init(&wide, 4, 8, self, ROUTING_WIDE, 1000);
	routing_init(&narrow, 4, 8, self, 0, 1000);

	first = v4_nth(ipn);
	added = fill_bucket(&wide, 0, 128, &ipn, &wants);
	is_int(added, 128, "wide: bucket 0 takes 128 distinct nodes");
	ok(wants, "wide: routing_wants is true while bucket 0 has room");
	is_int(routing_count(&wide, 1000, NULL), 128, "wide: 128 nodes counted");
	id_sharing(id, self, 0);
	extra = v4_nth(ipn++);
	ok(!routing_wants(&wide, id, &extra), "wide: routing_wants false once bucket 0 holds 128");
	is_int(routing_heard(&wide, id, &extra, ROUTING_REPLY, 1000), 0,
		"wide: the 129th node is kept as a replacement candidate");
	ok(routing_find_addr(&wide, &extra) == NULL, "wide: ... and is not in the bucket");
	is_int(routing_count(&wide, 1000, NULL), 128, "wide: still 128 nodes");
	/* The candidate takes the place of a node that turns bad. */
	routing_failed(&wide, &first);
	routing_failed(&wide, &first);
	ok(routing_find_addr(&wide, &first) == NULL && routing_find_addr(&wide, &extra) != NULL,
		"wide: a bad node of the 128 is replaced by the candidate");
	is_int(routing_count(&wide, 1000, NULL), 128, "wide: 128 nodes after the replacement");

	wants = true;
	is_int(fill_bucket(&wide, 1, 65, &ipn, &wants), 64, "wide: bucket 1 stops at 64");
	is_int(fill_bucket(&wide, 2, 33, &ipn, &wants), 32, "wide: bucket 2 stops at 32");
	is_int(fill_bucket(&wide, 3, 17, &ipn, &wants), 16, "wide: bucket 3 stops at 16");
	is_int(fill_bucket(&wide, 4, 9, &ipn, &wants), 8, "wide: bucket 4 stops at k = 8");
	ok(!wants, "wide: routing_wants turned false at each bucket's cap");
	is_int(routing_count(&wide, 1000, NULL), 128 + 64 + 32 + 16 + 8,
		"wide: 248 nodes in buckets 0..4");

	wants = true;
	added = fill_bucket(&narrow, 0, 8, &ipn, &wants);
	is_int(added, 8, "narrow: bucket 0 takes 8");
	ok(wants, "narrow: routing_wants true below 8");
	id_sharing(id, self, 0);
	a = v4_nth(ipn++);
	ok(!routing_wants(&narrow, id, &a), "narrow: routing_wants false at 8");
	is_int(routing_heard(&narrow, id, &a, ROUTING_REPLY, 1000), 0,
		"narrow: the 9th node of bucket 0 is a candidate");
	is_int(routing_count(&narrow, 1000, NULL), 8, "narrow: 8 nodes");
	routing_free(&wide);
	routing_free(&narrow);
}

/* Brute-force reference for routing_closest. */
struct ref_node {
	uint8_t id[20];
	struct dht_addr addr;
	bool bad;
};

static const uint8_t *ref_target;

static int
ref_cmp(const void *a, const void *b)
{
	const struct ref_node *x = a, *y = b;

	return dht_id_cmp_dist(ref_target, x->id, y->id);
}

#define REF_MAX 1600

struct closest_case {
	const char *name;
	unsigned flags;
	int attempts;
};

/* Pairs of adjacent results whose distances agree on the first 64 bits. */
static int
count_ties(const uint8_t *target, const struct routing_node *out, size_t n)
{
	int ties = 0;

	for (size_t i = 1; i < n; i++) {
		bool same = true;
		for (int b = 0; b < 8; b++)
			if ((out[i - 1].id[b] ^ target[b]) != (out[i].id[b] ^ target[b]))
				same = false;
		if (same)
			ties++;
	}
	return ties;
}

/* Put a node into the table and, when it went in, into the reference. */
static void
add_ref(struct routing *rt, const uint8_t id[20], const struct dht_addr *a,
	struct ref_node *ref, int *nref, int *refused)
{
	if (routing_heard(rt, id, a, ROUTING_REPLY, 1000) != 1) {
		(*refused)++;
		return;
	}
	memcpy(ref[*nref].id, id, 20);
	ref[*nref].addr = *a;
	ref[*nref].bad = false;
	(*nref)++;
}

static void
closest_case(const struct closest_case *cc)
{
	static const size_t maxes[] = { 1, 8, 48, 200, ROUTING_CLOSEST_MAX, 1000 };
	enum { NMAX = sizeof(maxes) / sizeof(maxes[0]) };
	static struct ref_node ref[REF_MAX], sorted[REF_MAX];
	static struct routing_node out[ROUTING_CLOSEST_MAX + 8];
	struct routing rt;
	uint8_t self[20], id[20], target[20];
	uint8_t prefixes[8][8];
	int nref = 0, nbad = 0, nlive, nprefix = 0, refused = 0, ties = 0, bad_seen = 0;
	int targets = 0, mismatch[NMAX] = { 0 };
	bool first_diag = true, guard_ok = true;
	uint32_t ipn = 1;

	prng_bytes(self, 20);
	routing_init(&rt, 4, 8, self, cc->flags, 1000);

	/* Clusters: nodes with the same first 8 bytes (so the same first 64
	 * bits of distance to any target) and different later bytes, in a
	 * wide bucket, a narrow one, a deep one and one past bit 64. */
	{
		static const int cluster_bits[] = { 1, 3, 9, 30, 70 };
		for (size_t c = 0; c < sizeof(cluster_bits) / sizeof(cluster_bits[0]); c++) {
			uint8_t base[20];
			id_sharing(base, self, cluster_bits[c]);
			memcpy(prefixes[nprefix++], base, 8);
			for (int i = 0; i < 5; i++) {
				struct dht_addr a = v4_nth(ipn++);
				/* past bit 64 the bucket depends on the later
				 * bytes, and every ID there starts as ours */
				if (cluster_bits[c] >= 64) {
					id_sharing(id, self, cluster_bits[c]);
				} else {
					memcpy(id, base, 8);
					prng_bytes(id + 8, 12);
				}
				add_ref(&rt, id, &a, ref, &nref, &refused);
			}
		}
	}
	/* The bulk: mostly the far buckets, some deep ones, a few very deep. */
	for (int i = 0; i < cc->attempts && nref < REF_MAX; i++) {
		static const int deep[] = { 20, 40, 63, 64, 65, 100, 158, 159 };
		uint64_t r = prng();
		int bits;
		struct dht_addr a = v4_nth(ipn++);
		if (r % 8 < 4)
			bits = (int)(r >> 8) % 4;
		else if (r % 8 < 7)
			bits = (int)(r >> 8) % 24;
		else
			bits = deep[(r >> 8) % (sizeof(deep) / sizeof(deep[0]))];
		id_sharing(id, self, bits);
		if (!routing_wants(&rt, id, &a))
			continue; /* bucket full: keep the table free of candidates */
		add_ref(&rt, id, &a, ref, &nref, &refused);
	}
	is_int(refused, 0, "%s: every node with room entered (%d nodes)", cc->name, nref);
	/* Every 7th node turns bad; no bucket has candidates, so the bad
	 * nodes stay in their buckets and routing_closest must skip them. */
	for (int i = 3; i < nref; i += 7) {
		routing_failed(&rt, &ref[i].addr);
		routing_failed(&rt, &ref[i].addr);
		ref[i].bad = true;
		nbad++;
	}
	{
		bool kept = true;
		for (int i = 3; i < nref; i += 7) {
			struct routing_node *n = routing_find_addr(&rt, &ref[i].addr);
			if (n == NULL || n->fails < ROUTING_MAX_FAILS)
				kept = false;
		}
		ok(kept && nbad > 0, "%s: %d bad nodes still in their buckets", cc->name, nbad);
	}
	nlive = nref - nbad;
	is_int(routing_count(&rt, 1000, NULL), nlive, "%s: routing_count skips the bad nodes",
		cc->name);

	for (int t = 0; t < 60; t++) {
		int n = 0;
		/* Targets: our own ID, IDs sharing 0, 1, 5, 20, 64, 70, 159 bits
		 * with it, a node's own ID, the clusters' prefixes, random. */
		switch (t) {
		case 0: memcpy(target, self, 20); break;
		case 1: id_sharing(target, self, 0); break;
		case 2: id_sharing(target, self, 1); break;
		case 3: id_sharing(target, self, 5); break;
		case 4: id_sharing(target, self, 20); break;
		case 5: id_sharing(target, self, 64); break;
		case 6: id_sharing(target, self, 70); break;
		case 7: id_sharing(target, self, 159); break;
		case 8: memcpy(target, ref[0].id, 20); break;
		case 9: memcpy(target, ref[nref / 2].id, 20); break;
		case 10: memcpy(target, ref[3].id, 20); break; /* a bad node's ID */
		default:
			if (t < 11 + nprefix * 3) {
				/* inside a cluster: the ties are at the top */
				memcpy(target, prefixes[(t - 11) % nprefix], 8);
				prng_bytes(target + 8, 12);
			} else if (t % 2) {
				id_sharing(target, self, (int)(prng() % 8));
			} else {
				prng_bytes(target, 20);
			}
		}
		targets++;
		for (int i = 0; i < nref; i++)
			if (!ref[i].bad)
				sorted[n++] = ref[i];
		ref_target = target;
		qsort(sorted, (size_t)n, sizeof(sorted[0]), ref_cmp);
		for (int mi = 0; mi < NMAX; mi++) {
			size_t max = maxes[mi], want = max, got;
			if (want > ROUTING_CLOSEST_MAX)
				want = ROUTING_CLOSEST_MAX;
			if (want > (size_t)n)
				want = (size_t)n;
			memset(out, 0xa5, sizeof(out));
			got = routing_closest(&rt, target, out, max);
			if (max < ROUTING_CLOSEST_MAX) {
				const uint8_t *g = (const uint8_t *)&out[max];
				for (size_t b = 0; b < sizeof(out[0]); b++)
					if (g[b] != 0xa5)
						guard_ok = false;
			}
			bool same = got == want;
			for (size_t i = 0; same && i < got; i++)
				if (memcmp(out[i].id, sorted[i].id, 20) != 0 ||
				    !dht_addr_eq(&out[i].addr, &sorted[i].addr))
					same = false;
			for (size_t i = 0; i < got; i++)
				if (out[i].fails >= ROUTING_MAX_FAILS)
					bad_seen++;
			if (!same) {
				mismatch[mi]++;
				if (first_diag) {
					printf("# %s: target %d, max %zu: got %zu nodes, want %zu\n",
						cc->name, t, max, got, want);
					first_diag = false;
				}
			}
			if (mi == NMAX - 1)
				ties += count_ties(target, out, got);
		}
	}
	for (int mi = 0; mi < NMAX; mi++)
		is_int(mismatch[mi], 0, "%s: routing_closest(max %zu) equals the brute-force order "
			"for %d targets", cc->name, maxes[mi], targets);
	is_int(bad_seen, 0, "%s: no bad node is ever returned", cc->name);
	ok(guard_ok, "%s: nothing written past max", cc->name);
	ok(ties > 0, "%s: results include %d ties on the first 64 bits of distance", cc->name,
		ties);
	routing_free(&rt);
}

static void
test_closest(void)
{
	static const struct closest_case cases[] = {
		{ "narrow, small", 0, 60 },
		{ "narrow, large", 0, 1500 },
		{ "wide, small", ROUTING_WIDE, 150 },
		{ "wide, large", ROUTING_WIDE, 1500 },
	};
	struct routing rt;
	struct routing_node out[4];
	uint8_t self[20], target[20];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		closest_case(&cases[i]);

	/* An empty table and max 0. */
	memset(self, 0x5a, 20);
	memset(target, 0x11, 20);
	routing_init(&rt, 4, 8, self, ROUTING_WIDE, 1000);
	is_int(routing_closest(&rt, target, out, 4), 0, "closest of an empty table: none");
	is_int(routing_closest(&rt, self, out, 4), 0, "closest to our own ID, empty table: none");
	{
		uint8_t id[20];
		struct dht_addr a = v4_nth(9);
		id_sharing(id, self, 2);
		routing_heard(&rt, id, &a, ROUTING_REPLY, 1000);
		is_int(routing_closest(&rt, target, out, 0), 0, "max 0: none");
		is_int(routing_closest(&rt, self, out, 4), 1, "one node: found from our own ID");
	}
	routing_free(&rt);
}

/* Issue 15: nodes named in replies enter free places unverified
 * (ROUTING_HEARD): no ping is due for them, a full bucket keeps none as
 * a candidate, and any node that made contact takes their place, even
 * one of the same IP or with the same ID. */
static void
test_heard(void)
{
	struct routing rt;
	struct routing_node n;
	uint8_t self[20], id[20];
	char ip[32];
	uint64_t now = 1000;
	struct dht_addr a;
	size_t good;

	memset(self, 0, 20);
	routing_init(&rt, 4, 8, self, 0, now);
	for (int i = 0; i < 8; i++) {
		snprintf(ip, sizeof(ip), "198.51.100.%d", i + 1);
		mkid(id, (uint8_t)(0x80 + i), (uint8_t)i);
		a = v4(ip, 6881);
		is_int(routing_heard(&rt, id, &a, ROUTING_HEARD, now), 1, "heard: node %d in", i);
	}
	is_int((int)routing_count(&rt, now, &good), 8, "heard: 8 nodes in the table");
	is_int((int)good, 0, "heard: none of them good");
	is_int(routing_next_ping(&rt, now, &n), 0, "heard: no ping due for unverified nodes");
	{
		struct routing_node all[16];
		is_int((int)routing_all(&rt, all, 16), 0, "heard: unverified nodes are not saved");
	}
	mkid(id, 0x90, 0x90);
	a = v4("198.51.100.99", 6881);
	is_int(routing_heard(&rt, id, &a, ROUTING_HEARD, now), 0,
		"heard: a full bucket takes no more heard nodes");
	is_int(routing_heard(&rt, id, &a, ROUTING_REPLY, now), 1,
		"heard: a node that replied takes an unverified one's place");
	ok(routing_find_addr(&rt, &a) != NULL, "heard: ... and is in the table");
	mkid(id, 0xa0, 0xa0);
	a = v4("198.51.100.2", 7000); /* the IP of unverified node 1 */
	is_int(routing_heard(&rt, id, &a, ROUTING_QUERY, now), 1,
		"heard: a node that queried us from an unverified node's IP replaces it");
	mkid(id, 0x82, 2); /* unverified node 2's ID from another address */
	a = v4("198.51.100.77", 6881);
	is_int(routing_heard(&rt, id, &a, ROUTING_REPLY, now), 1,
		"heard: an unverified node's ID that replied from elsewhere moves");
	mkid(id, 0x83, 3);
	a = v4("198.51.100.4", 6881);
	is_int(routing_heard(&rt, id, &a, ROUTING_REPLY, now), 1, "heard: node 3 replies");
	mkid(id, 0xb0, 0xb0);
	a = v4("198.51.100.4", 7001);
	is_int(routing_heard(&rt, id, &a, ROUTING_QUERY, now), -1,
		"heard: once verified, its IP is its own again");
	routing_free(&rt);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_bep42();
	test_tokens();
	test_routing();
	test_capacity();
	test_wide_fill();
	test_closest();
	test_heard();
	return tap_done();
}
