/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ratelimit.c -- token buckets, see ratelimit.h.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "util/netaddr.h"
#include "util/ratelimit.h"

struct rl_slot {
	uint8_t key[9];      /* family (4 or 6), then the IPv4 address or IPv6 /64 */
	uint64_t last_ms;
	bool used;
	uint64_t milli_tokens;
};

struct ratelimit {
	uint32_t rate, burst;
	size_t mask;         /* number of sets - 1 */
	uint8_t hash_key[crypto_shorthash_KEYBYTES];
	struct rl_slot *slots;
};

struct ratelimit *
ratelimit_new(uint32_t rate, uint32_t burst, size_t slots)
{
	struct ratelimit *rl = calloc(1, sizeof(*rl));
	size_t n = 4;

	if (!rl)
		return NULL;
	while (n < slots)
		n <<= 1;
	rl->slots = calloc(n, sizeof(*rl->slots));
	if (!rl->slots) {
		free(rl);
		return NULL;
	}
	rl->mask = n / 4 - 1;
	randombytes_buf(rl->hash_key, sizeof(rl->hash_key));
	ratelimit_set(rl, rate, burst);
	return rl;
}

void
ratelimit_free(struct ratelimit *rl)
{
	if (!rl)
		return;
	free(rl->slots);
	free(rl);
}

void
ratelimit_set(struct ratelimit *rl, uint32_t rate, uint32_t burst)
{
	rl->rate = rate;
	rl->burst = burst ? burst : (rate ? rate : 1);
}

bool
ratelimit_allow(struct ratelimit *rl, const struct sockaddr *client, uint64_t now_ms)
{
	uint8_t ip[16], key[9];
	uint8_t h[crypto_shorthash_BYTES];
	size_t n = netaddr_ip_bytes(client, ip);
	struct rl_slot *set, *s = NULL, *oldest;
	uint64_t cap = (uint64_t)rl->burst * 1000;

	if (rl->rate == 0 || n == 0)
		return true;
	memset(key, 0, sizeof(key));
	key[0] = (uint8_t)(n == 4 ? 4 : 6);
	memcpy(key + 1, ip, n == 4 ? 4 : 8);
	crypto_shorthash(h, key, sizeof(key), rl->hash_key);
	uint64_t hv;
	memcpy(&hv, h, sizeof(hv));
	set = rl->slots + (hv & rl->mask) * 4;
	oldest = set;
	for (int i = 0; i < 4; i++) {
		if (set[i].used && memcmp(set[i].key, key, sizeof(key)) == 0) {
			s = &set[i];
			break;
		}
		if (!set[i].used || (oldest->used && set[i].last_ms < oldest->last_ms))
			oldest = &set[i];
	}
	if (!s) {
		s = oldest;
		memcpy(s->key, key, sizeof(key));
		s->milli_tokens = cap;
		s->last_ms = now_ms;
		s->used = true;
	}
	/* a clock that went backwards refills nothing; a long absence
	 * refills at most the whole bucket (and cannot overflow) */
	uint64_t elapsed = now_ms > s->last_ms ? now_ms - s->last_ms : 0;
	if (rl->rate && elapsed > cap / rl->rate + 1)
		elapsed = cap / rl->rate + 1;
	uint64_t t = s->milli_tokens + elapsed * rl->rate;
	if (t > cap)
		t = cap;
	if (now_ms > s->last_ms)
		s->last_ms = now_ms;
	if (t < 1000) {
		s->milli_tokens = t;
		return false;
	}
	s->milli_tokens = t - 1000;
	return true;
}

size_t
ratelimit_limited(const struct ratelimit *rl, uint64_t now_ms)
{
	size_t n = 0;

	if (!rl || rl->rate == 0)
		return 0;
	for (size_t i = 0; i < (rl->mask + 1) * 4; i++) {
		const struct rl_slot *s = &rl->slots[i];
		uint64_t elapsed;
		if (!s->used)
			continue;
		elapsed = now_ms > s->last_ms ? now_ms - s->last_ms : 0;
		/* what its next query would find: less than one token */
		if (elapsed < 1000 && s->milli_tokens + elapsed * rl->rate < 1000)
			n++;
	}
	return n;
}
