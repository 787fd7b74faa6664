# SPDX-License-Identifier: BSD-3-Clause
# src/cache: the answer cache (wire-format responses, TTL countdown, LRU by
# bytes, serve-stale) in front of the ICANN and pkarr paths.
libpkdns_a_SOURCES += src/cache/cache.c src/cache/cache.h
check_PROGRAMS += tests/unit/test_cache
tests_unit_test_cache_SOURCES = tests/unit/test_cache.c
tests_unit_test_cache_LDADD = libpkdns.a $(DEPS_LIBS)
TESTS += tests/unit/test_cache
# libFuzzer target, built by hand with clang -fsanitize=fuzzer (see its head)
EXTRA_DIST += tests/fuzz/fuzz_cache_store.c
