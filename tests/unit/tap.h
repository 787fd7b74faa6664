/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tap.h -- a tiny Test Anything Protocol harness for the unit tests.
 *
 * ok(cond, fmt, ...) prints one "ok N - ..." / "not ok N - ..." line;
 * tap_done() prints the plan and returns the exit status for main().
 * The counters are per test program, in this header on purpose.
 */
#ifndef PKDNS_TESTS_TAP_H
#define PKDNS_TESTS_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

__attribute__((format(printf, 2, 3))) static inline int
ok(int cond, const char *fmt, ...)
{
	va_list ap;
	tap_n++;
	printf("%sok %d - ", cond ? "" : "not ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond)
		tap_failed++;
	fflush(stdout);
	return cond;
}

/** Compare two integers and show both when they differ. */
#define is_int(got, want, ...)                                              \
	do {                                                                \
		long long g_ = (long long)(got), w_ = (long long)(want);    \
		if (!ok(g_ == w_, __VA_ARGS__))                             \
			printf("#   got %lld, want %lld\n", g_, w_);        \
	} while (0)

/** Compare two byte strings. */
#define is_mem(got, want, len, ...) ok(memcmp((got), (want), (len)) == 0, __VA_ARGS__)

static inline void
diag(const char *msg)
{
	printf("# %s\n", msg);
}

static inline int
tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
