/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_bencode.c -- bencode reader/writer: round trips, malformed input,
 * and every KRPC message of a real libtorrent/bittorrent-dht capture.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dht/bencode.h"
#include "tap.h"
#include "testutil.h"

/* Re-encode a parsed value with the writer, element by element. */
static void
reencode(struct bencode_writer *w, const struct bencode_value *v)
{
	struct bencode_iter it;
	struct bencode_value k, e;

	switch (v->type) {
	case BENCODE_INT:
		bencode_put_int(w, v->i);
		break;
	case BENCODE_STR:
		bencode_put_str(w, v->str, v->str_len);
		break;
	case BENCODE_LIST:
	case BENCODE_DICT:
		if (v->type == BENCODE_LIST)
			bencode_put_list(w);
		else
			bencode_put_dict(w);
		bencode_iter_init(v, &it);
		while (bencode_iter_next(&it, v->type == BENCODE_DICT ? &k : NULL, &e) > 0) {
			if (v->type == BENCODE_DICT)
				bencode_put_str(w, k.str, k.str_len);
			reencode(w, &e);
		}
		bencode_put_end(w);
		break;
	}
}

static int
roundtrip(const uint8_t *in, size_t n)
{
	struct bencode_value v;
	struct bencode_writer w;
	uint8_t out[4096];

	if (bencode_parse(in, n, &v, NULL) < 0)
		return 0;
	bencode_writer_init(&w, out, sizeof(out));
	reencode(&w, &v);
	return bencode_writer_done(&w) == (int)n && memcmp(out, in, n) == 0;
}

static int
parses_n(const char *s, size_t n)
{
	struct bencode_value v;
	return bencode_parse((const uint8_t *)s, n, &v, NULL);
}

static int
parses(const char *s)
{
	return parses_n(s, strlen(s));
}

static void
test_capture(void)
{
	char path[1024], line[8192];
	uint8_t msg[4096];
	int n = 0, good = 0;
	FILE *f;

	f = tu_open_data("krpc_capture.jsonl", path, sizeof(path));
	if (!ok(f != NULL, "open %s", path))
		return;
	while (fgets(line, sizeof(line), f)) {
		size_t hl;
		int ml;
		const char *hex = tu_json_str(line, "hex", &hl);
		if (hex == NULL)
			continue;
		ml = tu_unhex(hex, hl, msg, sizeof(msg));
		n++;
		if (ml >= 0 && roundtrip(msg, (size_t)ml))
			good++;
		else
			printf("# line %d does not round trip\n", n);
	}
	fclose(f);
	ok(n >= 50, "capture has %d messages", n);
	is_int(good, n, "every captured message parses and re-encodes byte-identical");
}

int
main(void)
{
	struct bencode_value v, x;
	struct bencode_writer w;
	uint8_t buf[64];
	size_t used;
	const char *good[] = { "i0e", "i-1e", "i42e", "i9223372036854775807e",
		"i-9223372036854775808e", "0:", "4:spam", "le", "de",
		"l4:spami42ee", "d3:bar4:spam3:fooi42ee", "d1:ad1:bli1ei2eeee",
		"d0:i1e1:ai2ee", "d3:fooi1e3:bari2ee", "d1:b0:1:a0:e", "d2:ab0:1:a0:e" };
	const char *bad[] = { "", "i", "ie", "i-e", "i-0e", "i03e", "i00e",
		"i1", "i1x", "i9223372036854775808e", "i-9223372036854775809e",
		"5:spam", "01:a", "-1:a", ":", "l", "d", "li1e", "d3:fooe",
		"d3:fooi1e3:fooi2ee", "di1ei2ee", "x",
		"4:spamX", "l-e" };

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ok(parses(good[i]) == 0, "accepts %s", good[i]);
		ok(roundtrip((const uint8_t *)good[i], strlen(good[i])), "round trip %s", good[i]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(parses(bad[i]) < 0, "rejects \"%s\"", bad[i]);
	is_int(parses("i-0e"), BENCODE_ERR_NONCANON, "-0 is non-canonical");
	is_int(parses("i01e"), BENCODE_ERR_NONCANON, "leading zero is non-canonical");
	is_int(parses("d1:ai1e1:ai2ee"), BENCODE_ERR_NONCANON, "duplicate keys");
	is_int(parses("d1:bi1e1:ai2e1:bi3ee"), BENCODE_ERR_NONCANON,
		"a repeated key after the order broke");
	is_int(parses("d1:ai1e1:ci2e1:bi3e1:ci4ee"), BENCODE_ERR_NONCANON,
		"a repeated key, not next to its twin");
	/* Unsorted keys are taken (libtorrent and others take them). */
	{
		struct bencode_value d, e;
		ok(bencode_parse((const uint8_t *)"d1:bi1e1:ai2ee", 14, &d, NULL) == 0,
			"unsorted keys accepted");
		ok(bencode_dict_get(&d, "a", &e) == 0 && e.i == 2 &&
				bencode_dict_get(&d, "b", &e) == 0 && e.i == 1,
			"and found by name");
		ok(roundtrip((const uint8_t *)"d1:bi1e1:ai2ee", 14),
			"and written back in the order read");
	}
	/* An out-of-order dictionary may have at most 32 keys; a sorted one more. */
	{
		char big[1024];
		size_t n = 0;
		big[n++] = 'd';
		for (int i = 0; i < 40; i++)
			n += (size_t)snprintf(big + n, sizeof(big) - n, "2:%02di0e", i);
		big[n++] = 'e';
		ok(parses_n(big, n) == 0, "40 sorted keys");
		memcpy(big + 1, "2:99", 4); /* first key now sorts last */
		is_int(parses_n(big, n), BENCODE_ERR_NONCANON, "40 keys out of order: refused");
		n = 0;
		big[n++] = 'd';
		for (int i = 31; i >= 0; i--)
			n += (size_t)snprintf(big + n, sizeof(big) - n, "2:%02di0e", i);
		big[n++] = 'e';
		ok(parses_n(big, n) == 0, "32 keys in reverse order");
	}
	is_int(parses("10:abc"), BENCODE_ERR_TRUNC, "string longer than input");

	/* Depth limit: 40 nested lists. */
	{
		char deep[100];
		memset(deep, 'l', 40);
		memset(deep + 40, 'e', 40);
		deep[80] = 0;
		is_int(parses(deep), BENCODE_ERR_LIMIT, "nesting depth bounded");
		memset(deep, 'l', 20);
		memset(deep + 20, 'e', 20);
		deep[40] = 0;
		is_int(parses(deep), 0, "moderate nesting accepted");
	}
	/* Element limit. */
	{
		size_t n = 2 + 3 * 5000;
		char *big = malloc(n + 1);
		big[0] = 'l';
		for (size_t i = 0; i < 5000; i++)
			memcpy(big + 1 + 3 * i, "i1e", 3);
		big[n - 1] = 'e';
		big[n] = 0;
		is_int(parses(big), BENCODE_ERR_LIMIT, "element count bounded");
		free(big);
	}
	/* Trailing bytes with used. */
	ok(bencode_parse((const uint8_t *)"i1exyz", 6, &v, &used) == 0 && used == 3,
		"used reports the element length");
	ok(bencode_parse((const uint8_t *)"i1exyz", 6, &v, NULL) < 0,
		"trailing garbage rejected without used");

	/* Dictionary look-ups. */
	ok(bencode_parse((const uint8_t *)"d3:bar4:spam3:fooi42ee", 22, &v, NULL) == 0,
		"dict parses");
	ok(bencode_dict_get(&v, "foo", &x) == 0 && x.type == BENCODE_INT && x.i == 42,
		"dict foo = 42");
	ok(bencode_dict_get(&v, "bar", &x) == 0 && x.type == BENCODE_STR &&
		x.str_len == 4 && memcmp(x.str, "spam", 4) == 0, "dict bar = spam");
	is_int(bencode_dict_get(&v, "baz", &x), BENCODE_ERR_NOTFOUND, "absent key");
	is_int(bencode_dict_get(&x, "baz", &x), BENCODE_ERR_TYPE, "lookup in a string");

	/* Writer bounds. */
	bencode_writer_init(&w, buf, 5);
	bencode_put_cstr(&w, "spam");
	is_int(bencode_writer_done(&w), -1, "overflow reported");
	bencode_writer_init(&w, buf, sizeof(buf));
	bencode_put_dict(&w);
	bencode_put_cstr(&w, "a");
	bencode_put_int(&w, -7);
	bencode_put_cstr(&w, "b");
	bencode_put_list(&w);
	bencode_put_str(&w, "x", 1);
	bencode_put_end(&w);
	bencode_put_end(&w);
	ok(bencode_writer_done(&w) == 17 && memcmp(buf, "d1:ai-7e1:bl1:xee", 17) == 0,
		"writer output");

	/* Integer and length edges, read back by the parser. */
	{
		static const int64_t ints[] = { 0, 9, 10, -1, -10, 1234567890123LL,
			INT64_MAX, INT64_MIN };
		static const char *want[] = { "i0e", "i9e", "i10e", "i-1e", "i-10e",
			"i1234567890123e", "i9223372036854775807e", "i-9223372036854775808e" };
		static uint8_t big[1000];
		for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
			bencode_writer_init(&w, buf, sizeof(buf));
			bencode_put_int(&w, ints[i]);
			int n = bencode_writer_done(&w);
			ok(n == (int)strlen(want[i]) && memcmp(buf, want[i], (size_t)n) == 0 &&
					bencode_parse(buf, (size_t)n, &v, NULL) == 0 && v.i == ints[i],
				"integer %s", want[i]);
		}
		bencode_writer_init(&w, buf, sizeof(buf));
		bencode_put_str(&w, "", 0);
		ok(bencode_writer_done(&w) == 2 && memcmp(buf, "0:", 2) == 0, "empty string");
		uint8_t out[1100];
		bencode_writer_init(&w, out, sizeof(out));
		bencode_put_str(&w, big, sizeof(big));
		ok(bencode_writer_done(&w) == 1005 && memcmp(out, "1000:", 5) == 0,
			"1000-byte string: 4-digit length");
	}

	test_capture();
	return tap_done();
}
