/*
 * test_dht_routing.c -- routing table rules (BEP 5), BEP 42 node IDs with
 * the BEP's published vectors, write tokens and their rotation.
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

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_bep42();
	test_tokens();
	test_routing();
	return tap_done();
}
