/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_cache_store.c -- libFuzzer target for the answer cache's message
 * walk (cache_store) and question parser (cache_key_from_question).
 *
 * Not built by make: build by hand, e.g.
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -I<dir with an empty config.h> -Isrc tests/fuzz/fuzz_cache_store.c \
 *     src/cache/cache.c src/util/log.c -lsodium -o fuzz_cache_store
 *   ./fuzz_cache_store -max_total_time=60
 *
 * Whatever cache_store() accepts must come back from cache_lookup() with
 * the same length, fresh and stale, and the cache must hold at most one
 * entry.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cache/cache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t name[] = "\7example\3com";
	struct cache_key k = { name, sizeof(name), 1, 1, false };
	uint8_t qbuf[CACHE_NAME_MAX];
	struct cache_key qk;
	uint8_t *out;
	struct cache *c;
	struct cache_stats st;
	bool stale;
	int r;

	(void)cache_key_from_question(data, size, qbuf, sizeof(qbuf), true,
				      &qk);
	c = cache_new(1u << 20);
	if (!c)
		return 0;
	out = malloc(size ? size : 1);
	if (!out) {
		cache_free(c);
		return 0;
	}
	r = cache_store(c, &k, data, size, 0, 1000);
	if (r == 0) {
		long n = cache_lookup(c, &k, 7, true, 1500, out, size, false,
				      0, &stale);
		if (n != (long)size || stale)
			abort();
		if (size > 0 && cache_lookup(c, &k, 7, true, 1500, out,
					     size - 1, false, 0,
					     &stale) != CACHE_ERR_NOSPACE)
			abort();
		/* Lifetimes are below 2^31 s: at 3e12 ms the entry has
		 * expired, and less than UINT32_MAX s ago. */
		n = cache_lookup(c, &k, 7, false, 3000000000000ull, out, size,
				 true, UINT32_MAX, &stale);
		if (n != (long)size || !stale)
			abort();
	}
	cache_get_stats(c, &st);
	if (st.entries > 1)
		abort();
	cache_free(c);
	free(out);
	return 0;
}
