/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * testutil.h -- helpers shared by the unit tests (tests/unit/test_*.c) and
 * the libFuzzer targets (tests/fuzz/fuzz_*.c): hex decoding, the test
 * vector files under tests/data/ (JSON lines, one object a line, read
 * field by field without a JSON library), and the fuzz targets' aborting
 * check.
 *
 * Everything is static inline so that a test program includes it and
 * links nothing more; it has no state of its own, and it does not include
 * tap.h (the fuzz targets have no TAP output): the callers make their
 * assertions with what these return.
 */
#ifndef PKDNS_TESTS_TESTUTIL_H
#define PKDNS_TESTS_TESTUTIL_H

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/**
 * A failed property names itself before aborting, so a fuzzer's crash
 * report says which one broke (libFuzzer targets only: a unit test
 * asserts with tap.h instead).
 * @param cond the property that must hold
 */
#define tu_check(cond)                                                    \
	do {                                                              \
		if (!(cond)) {                                            \
			fprintf(stderr, "check failed: %s:%d: %s\n",      \
			    __FILE__, __LINE__, #cond);                   \
			abort();                                          \
		}                                                         \
	} while (0)

/**
 * The value of one hex digit.
 * @param c a character
 * @return 0..15, or -1 when c is not a hex digit
 */
static inline int
tu_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/**
 * Decode hex digits (either case) into bytes. An odd last digit is left
 * over, as the vectors' lengths are always even.
 * @param hex the digits (need not be terminated)
 * @param hexlen how many characters of hex to read
 * @param out where the bytes go
 * @param cap room in out
 * @return the number of bytes (hexlen / 2), or -1 when they would not
 *         fit in cap or a character is not a hex digit (out may then be
 *         partly written)
 */
static inline int
tu_unhex(const char *hex, size_t hexlen, uint8_t *out, size_t cap)
{
	size_t n = hexlen / 2;

	if (n > cap || n > INT_MAX)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int hi = tu_hexval(hex[2 * i]), lo = tu_hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (int)n;
}

/**
 * tu_unhex of a terminated string.
 * @param hex the digits, NUL-terminated
 * @param out where the bytes go
 * @param cap room in out
 * @return the number of bytes, or -1 (see tu_unhex)
 */
static inline int
tu_unhex_str(const char *hex, uint8_t *out, size_t cap)
{
	return tu_unhex(hex, strlen(hex), out, cap);
}

/**
 * Find where the value of "key" starts on one JSON line: after `"key":`
 * and the blanks that follow it (the vector files are written both with
 * and without them). Nested objects are searched too: the first match
 * wins, so keys must be unique on the line.
 * @param line one line of a .jsonl file, NUL-terminated
 * @param key the member name, without quotes
 * @return the first character of the value, or NULL when key is absent
 */
static inline const char *
tu_json_value(const char *line, const char *key)
{
	char pat[64];
	const char *p;
	int n = snprintf(pat, sizeof(pat), "\"%s\":", key);

	if (n < 0 || (size_t)n >= sizeof(pat))
		return NULL;
	p = strstr(line, pat);
	if (p == NULL)
		return NULL;
	p += n;
	while (*p == ' ')
		p++;
	return p;
}

/**
 * The string value of "key" on one JSON line, in place (escapes are not
 * decoded: the vectors hold hex and z-base32 only).
 * @param line one line of a .jsonl file, NUL-terminated
 * @param key the member name, without quotes
 * @param len receives the length of the value
 * @return the first character of the value (not terminated), or NULL when
 *         key is absent or its value is not a string
 */
static inline const char *
tu_json_str(const char *line, const char *key, size_t *len)
{
	const char *p = tu_json_value(line, key), *e;

	if (p == NULL || *p != '"')
		return NULL;
	p++;
	e = strchr(p, '"');
	if (e == NULL)
		return NULL;
	*len = (size_t)(e - p);
	return p;
}

/**
 * Copy the string value of "key" on one JSON line into out, terminated.
 * @param line one line of a .jsonl file, NUL-terminated
 * @param key the member name, without quotes
 * @param out where the value goes
 * @param cap room in out, with the NUL
 * @return 0, or -1 when key is absent, not a string or too long
 */
static inline int
tu_json_copy(const char *line, const char *key, char *out, size_t cap)
{
	size_t n;
	const char *p = tu_json_str(line, key, &n);

	if (p == NULL || n >= cap)
		return -1;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

/**
 * The unsigned integer value of "key" on one JSON line.
 * @param line one line of a .jsonl file, NUL-terminated
 * @param key the member name, without quotes
 * @param v receives the number
 * @return 0, or -1 when key is absent
 */
static inline int
tu_json_u64(const char *line, const char *key, uint64_t *v)
{
	const char *p = tu_json_value(line, key);

	if (p == NULL)
		return -1;
	*v = strtoull(p, NULL, 10);
	return 0;
}

/**
 * Open a file of tests/data/ for reading, under $top_srcdir (which the
 * test harness sets; "." when unset).
 * @param name the file name inside tests/data/
 * @param path receives the full path, for the caller's messages
 * @param cap room in path
 * @return the open file, or NULL (path still says what was tried)
 */
static inline FILE *
tu_open_data(const char *name, char *path, size_t cap)
{
	const char *top = getenv("top_srcdir");

	snprintf(path, cap, "%s/tests/data/%s", top ? top : ".", name);
	return fopen(path, "r");
}

#endif
