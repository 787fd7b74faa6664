/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_ratelimit.c -- unit tests for src/util/ratelimit.h: token bucket
 * arithmetic with fake times, IPv4 / IPv6 /64 / IPv4-mapped keys, the
 * fixed-size table (eviction, no growth with many clients), rate 0 = off
 * and ratelimit_set().
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

/* To show the table never grows, count the allocations the module makes:
 * the test links with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc
 * (tests/unit/local.mk), so every call from the library goes through
 * these counters first. Portable across C libraries (glibc, musl,
 * uClibc-ng), unlike glibc's mallinfo2(), and exact. */
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);

static size_t n_allocs;

void *
__wrap_malloc(size_t n)
{
	n_allocs++;
	return __real_malloc(n);
}

void *
__wrap_calloc(size_t n, size_t size)
{
	n_allocs++;
	return __real_calloc(n, size);
}

void *
__wrap_realloc(void *p, size_t n)
{
	n_allocs++;
	return __real_realloc(p, n);
}

#include "util/ratelimit.h"
#include "tap.h"

#define T0 1000000ull /* an arbitrary monotonic "now" in ms */

static struct sockaddr_storage
sa4(const char *ip)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *a = (struct sockaddr_in *)&ss;
	memset(&ss, 0, sizeof(ss));
	a->sin_family = AF_INET;
	inet_pton(AF_INET, ip, &a->sin_addr);
	return ss;
}

static struct sockaddr_storage
sa6(const char *ip)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
	memset(&ss, 0, sizeof(ss));
	a->sin6_family = AF_INET6;
	inet_pton(AF_INET6, ip, &a->sin6_addr);
	return ss;
}

#define SA(x) ((const struct sockaddr *)&(x))

/* How many of n queries at time now are allowed. */
static unsigned
take(struct ratelimit *rl, const struct sockaddr_storage *c, unsigned n, uint64_t now)
{
	unsigned allowed = 0;
	for (unsigned i = 0; i < n; i++)
		allowed += ratelimit_allow(rl, (const struct sockaddr *)c, now);
	return allowed;
}

static void
test_bucket(void)
{
	struct ratelimit *rl = ratelimit_new(10, 20, 64);
	struct sockaddr_storage a = sa4("192.0.2.1");
	struct sockaddr_storage b = sa4("192.0.2.2");

	ok(rl != NULL, "new");
	is_int(take(rl, &a, 25, T0), 20, "a full bucket gives the burst");
	is_int(take(rl, &a, 1, T0), 0, "then nothing at the same time");
	is_int(take(rl, &b, 20, T0), 20, "another client has its own bucket");
	is_int(take(rl, &a, 1, T0 + 99), 0, "99 ms at 10/s: less than a token");
	is_int(take(rl, &a, 2, T0 + 100), 1, "100 ms at 10/s: one token");
	is_int(take(rl, &a, 20, T0 + 1100), 10, "one more second: ten tokens");
	/* fractions add up: 5 x 50 ms = 2.5 tokens */
	unsigned got = 0;
	for (int i = 1; i <= 5; i++)
		got += take(rl, &a, 1, T0 + 1100 + 50 * (uint64_t)i);
	is_int(got, 2, "five 50 ms steps at 10/s give two tokens");
	is_int(take(rl, &a, 1, T0 + 1100 + 300), 1, "the half token left is kept");
	is_int(take(rl, &a, 100, T0 + 3600 * 1000ull), 20, "after an hour: only the burst");
	ratelimit_free(rl);

	/* burst below rate, and burst 0 = the rate */
	rl = ratelimit_new(100, 0, 16);
	is_int(take(rl, &a, 150, T0), 100, "burst 0 means burst = rate");
	ratelimit_free(rl);
	rl = ratelimit_new(1, 1, 16);
	is_int(take(rl, &a, 3, T0), 1, "rate 1 burst 1: one");
	is_int(take(rl, &a, 3, T0 + 999), 0, "rate 1: nothing after 999 ms");
	is_int(take(rl, &a, 3, T0 + 1000), 1, "rate 1: one after a second");
	ratelimit_free(rl);

	/* large burst: the bucket must not wrap */
	rl = ratelimit_new(1000, 5000000, 16);
	is_int(take(rl, &a, 1000, T0), 1000, "large burst: first thousand");
	is_int(take(rl, &a, 1, T0 + 10ull * 3600 * 1000), 1, "large burst: refill after hours");
	/* 5,000,000 tokens, minus the 1001 taken: the bucket is full again
	 * after 10 h at 1000/s, so a million more must pass */
	ok(take(rl, &a, 1000000, T0 + 10ull * 3600 * 1000) == 1000000,
	    "large burst: a million more after the refill");
	ratelimit_free(rl);
}

static void
test_off_and_set(void)
{
	struct ratelimit *rl = ratelimit_new(0, 10, 16);
	struct sockaddr_storage a = sa4("198.51.100.9");
	struct sockaddr_un un;

	is_int(take(rl, &a, 10000, T0), 10000, "rate 0: everything allowed");
	ratelimit_set(rl, 2, 4);
	is_int(take(rl, &a, 10, T0), 4, "set to 2/s burst 4: four");
	is_int(take(rl, &a, 10, T0 + 1000), 2, "then two per second");
	ratelimit_set(rl, 5, 4);
	is_int(take(rl, &a, 10, T0 + 2000), 4, "set rate 5: the bucket refills up to the burst");
	ratelimit_set(rl, 0, 0);
	is_int(take(rl, &a, 1000, T0 + 2000), 1000, "set back to 0: off again");
	ratelimit_set(rl, 1, 1);
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	is_int(take(rl, (struct sockaddr_storage *)(void *)&un, 50, T0), 50,
	    "a non-IP client is never limited");
	ratelimit_free(rl);
	ratelimit_free(NULL);
	ok(1, "ratelimit_free(NULL) is harmless");
}

static void
test_keys(void)
{
	struct ratelimit *rl = ratelimit_new(1, 3, 1024);
	struct sockaddr_storage a = sa6("2001:db8:1:2::1");
	struct sockaddr_storage b = sa6("2001:db8:1:2:ffff:ffff:ffff:ffff");
	struct sockaddr_storage c = sa6("2001:db8:1:3::1");
	struct sockaddr_storage v4 = sa4("203.0.113.5");
	struct sockaddr_storage m = sa6("::ffff:203.0.113.5");
	struct sockaddr_storage v4b = sa4("203.0.113.6");

	is_int(take(rl, &a, 2, T0), 2, "IPv6 host a: two of three");
	is_int(take(rl, &b, 5, T0), 1, "another host of the same /64 shares the bucket");
	is_int(take(rl, &c, 5, T0), 3, "the next /64 has its own bucket");
	is_int(take(rl, &v4, 2, T0), 2, "IPv4: two of three");
	is_int(take(rl, &m, 5, T0), 1, "IPv4-mapped IPv6 shares the IPv4 bucket");
	is_int(take(rl, &v4b, 5, T0), 3, "the neighbouring IPv4 address is separate");
	ratelimit_free(rl);
}

static void
test_table(void)
{
	/* 4 slots = one set: a fifth client pushes out the least recently seen */
	struct ratelimit *rl = ratelimit_new(1, 2, 4);
	struct sockaddr_storage c[5];
	char ip[32];

	for (int i = 0; i < 5; i++) {
		snprintf(ip, sizeof(ip), "192.0.2.%d", i + 1);
		c[i] = sa4(ip);
	}
	is_int(take(rl, &c[0], 5, T0), 2, "client 0 exhausted");
	for (int i = 1; i < 4; i++)
		take(rl, &c[i], 2, T0 + 1 + (uint64_t)i);
	is_int(take(rl, &c[0], 1, T0 + 10), 0, "client 0 still limited with 4 clients");
	/* c[0] was seen last at T0+10: now c[1] is the oldest */
	is_int(take(rl, &c[4], 5, T0 + 20), 2, "fifth client gets a bucket");
	is_int(take(rl, &c[0], 1, T0 + 21), 0, "client 0 kept its (empty) bucket");
	is_int(take(rl, &c[1], 5, T0 + 22), 2, "evicted client 1 starts again full");
	ratelimit_free(rl);

	/* many distinct clients: memory does not grow, limits still hold */
	size_t before = n_allocs;
	rl = ratelimit_new(1, 1, 256);
	ok(n_allocs > before, "the allocation counter sees the table's allocation (%zu)",
	    n_allocs - before);
	struct sockaddr_storage victim = sa4("10.0.0.1");
	before = n_allocs;
	unsigned allowed = 0;
	for (uint32_t i = 0; i < 200000; i++) {
		struct sockaddr_storage x;
		struct sockaddr_in *a = (struct sockaddr_in *)&x;
		memset(&x, 0, sizeof(x));
		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(0x0b000000u + i);
		allowed += ratelimit_allow(rl, SA(x), T0 + i / 1000);
	}
	size_t after = n_allocs;
	is_int(allowed, 200000, "200000 new clients each allowed once");
	ok(after == before, "heap did not grow: no allocation (%zu)", after - before);
	is_int(take(rl, &victim, 3, T0 + 500), 1, "a client's limit still holds afterwards");
	for (uint32_t i = 0; i < 100000; i++) {
		char s[64];
		snprintf(s, sizeof(s), "2001:db8:%x:%x::1", i >> 16, i & 0xffff);
		struct sockaddr_storage x = sa6(s);
		ratelimit_allow(rl, SA(x), T0 + 500);
	}
	ok(n_allocs == before, "100000 IPv6 /64s: heap did not grow (%zu allocations)",
	    n_allocs - before);
	ratelimit_free(rl);
}

static void
test_clock_edges(void)
{
	struct ratelimit *rl = ratelimit_new(1, 1, 16);
	struct sockaddr_storage a = sa4("192.0.2.50");

	/* a clock that goes back must not refill the bucket */
	is_int(take(rl, &a, 1, T0), 1, "one at T0");
	ok(take(rl, &a, 5, T0 - 5000) == 0, "earlier time: nothing more");
	is_int(take(rl, &a, 1, T0 + 500), 0, "still nothing half a second later");
	is_int(take(rl, &a, 1, T0 + 1000), 1, "one a second after T0");
	ratelimit_free(rl);

	/* time 0 is a valid monotonic time (e.g. a fake clock in tests) */
	rl = ratelimit_new(1, 1, 16);
	ok(take(rl, &a, 1, 0) == 1, "first query at now_ms 0 allowed");
	ratelimit_free(rl);
}

int
main(void)
{
	test_bucket();
	test_off_and_set();
	test_keys();
	test_table();
	test_clock_edges();
	return tap_done();
}
