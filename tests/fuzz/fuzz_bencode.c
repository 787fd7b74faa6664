/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_bencode.c -- libFuzzer target for the bencode reader and writer
 * (src/dht/bencode.c), the first thing every DHT datagram goes through.
 *
 * Not built by make: see tests/fuzz/README.md, e.g.
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -I<dir with an empty config.h> -Isrc tests/fuzz/fuzz_bencode.c \
 *     src/dht/bencode.c -o fuzz_bencode
 *   ./fuzz_bencode -max_len=1500 -max_total_time=180
 *
 * Besides memory safety it checks: the result is a documented code; with
 * and without `used` the parser agrees; whatever it accepts lies inside
 * the input, and because the reader enforces canonical numbers and
 * lengths, walking the value with the iterators and writing it back with
 * the writer gives the same bytes; dictionary keys come out unique (in any
 * order, at most 32 of them when not sorted) and bencode_dict_get finds
 * each of them; a writer short of room by even one byte reports the
 * overflow and writes nothing past its buffer.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dht/bencode.h"
#include "../unit/testutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
key_cmp(const struct bencode_value *a, const struct bencode_value *b)
{
	size_t n = a->str_len < b->str_len ? a->str_len : b->str_len;
	int c = n ? memcmp(a->str, b->str, n) : 0;

	if (c)
		return c;
	return a->str_len < b->str_len ? -1 : a->str_len > b->str_len;
}

static int
valid_code(int rc)
{
	return rc == 0 || rc == BENCODE_ERR_TRUNC || rc == BENCODE_ERR_SYNTAX ||
	    rc == BENCODE_ERR_NONCANON || rc == BENCODE_ERR_LIMIT ||
	    rc == BENCODE_ERR_RANGE;
}

/* Every view of v lies inside [base, base + len). */
static void
check_inside(const struct bencode_value *v, const uint8_t *base, size_t len)
{
	tu_check(v->raw >= base && v->raw_len >= 1 &&
	    v->raw_len <= (size_t)(base + len - v->raw));
	if (v->type == BENCODE_STR) {
		tu_check(v->str > v->raw && v->str + v->str_len == v->raw + v->raw_len);
		tu_check(v->str[-1] == ':');
	}
}

/* Walk a validated value and write it back; depth is bounded by the
 * reader's own BENCODE_MAX_DEPTH, checked here too. */
static void
rewrite(struct bencode_writer *w, const struct bencode_value *v,
	const uint8_t *base, size_t len, int depth)
{
	struct bencode_iter it, it2;
	struct bencode_value k, val, prev, got, k2, v2;
	bool have_prev = false, sorted = true;
	int rc, nkeys = 0;

	tu_check(depth <= BENCODE_MAX_DEPTH);
	check_inside(v, base, len);
	switch (v->type) {
	case BENCODE_INT:
		tu_check(v->raw[0] == 'i' && v->raw[v->raw_len - 1] == 'e');
		bencode_put_int(w, v->i);
		return;
	case BENCODE_STR:
		bencode_put_str(w, v->str, v->str_len);
		return;
	case BENCODE_LIST:
	case BENCODE_DICT:
		break;
	default:
		tu_check(0);
	}
	tu_check(bencode_iter_init(v, &it) == 0);
	if (v->type == BENCODE_DICT)
		bencode_put_dict(w);
	else
		bencode_put_list(w);
	while ((rc = bencode_iter_next(&it, &k, &val)) > 0) {
		if (v->type == BENCODE_DICT) {
			tu_check(k.type == BENCODE_STR);
			check_inside(&k, base, len);
			if (have_prev && key_cmp(&prev, &k) >= 0)
				sorted = false;
			prev = k;
			have_prev = true;
			nkeys++;
			tu_check(sorted || nkeys <= 32);
			/* unique: this key is met once in the whole dictionary */
			{
				int same = 0;
				tu_check(bencode_iter_init(v, &it2) == 0);
				while (bencode_iter_next(&it2, &k2, &v2) > 0)
					if (k2.str_len == k.str_len &&
					    memcmp(k2.str, k.str, k.str_len) == 0)
						same++;
				tu_check(same == 1);
			}
			bencode_put_str(w, k.str, k.str_len);
			/* Look-up by C string: only for keys without a NUL. */
			if (k.str_len < 64 && memchr(k.str, 0, k.str_len) == NULL) {
				char name[64];
				memcpy(name, k.str, k.str_len);
				name[k.str_len] = '\0';
				tu_check(bencode_dict_get(v, name, &got) == 0);
				tu_check(got.raw == val.raw && got.raw_len == val.raw_len);
			}
		}
		rewrite(w, &val, base, len, depth + 1);
	}
	/* A validated container ends cleanly, at its own last byte. */
	tu_check(rc == 0);
	tu_check(it.p == v->raw + v->raw_len - 1);
	tu_check(bencode_iter_next(&it, NULL, &val) == 0);
	bencode_put_end(w);
	if (v->type == BENCODE_LIST) {
		tu_check(bencode_dict_get(v, "x", &got) == BENCODE_ERR_TYPE);
	}
}

static void
rewrite_into(const struct bencode_value *v, const uint8_t *base, size_t len,
	size_t cap)
{
	uint8_t *out = malloc(cap + 1);
	struct bencode_writer w;
	int n;

	if (out == NULL)
		return;
	out[cap] = 0xa5;
	bencode_writer_init(&w, out, cap);
	rewrite(&w, v, base, len, 0);
	n = bencode_writer_done(&w);
	if (cap >= v->raw_len) {
		tu_check(n == (int)v->raw_len);
		tu_check(memcmp(out, v->raw, v->raw_len) == 0);
	} else {
		tu_check(n == -1);
	}
	tu_check(out[cap] == 0xa5);
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bencode_value v, v2;
	struct bencode_iter it;
	size_t used = 0;
	uint8_t *copy;
	int rc, rc2;

	/* An exact-size heap copy, so that ASan sees any read past size. */
	copy = malloc(size ? size : 1);
	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	rc = bencode_parse(copy, size, &v, &used);
	rc2 = bencode_parse(copy, size, &v2, NULL);
	tu_check(valid_code(rc) && valid_code(rc2));
	if (rc < 0) {
		tu_check(rc2 == rc);
		free(copy);
		return 0;
	}
	tu_check(used >= 1 && used <= size);
	tu_check(v.raw == copy && v.raw_len == used);
	if (used == size)
		tu_check(rc2 == 0 && v2.raw_len == used && v2.type == v.type);
	else
		tu_check(rc2 == BENCODE_ERR_SYNTAX);
	if (v.type == BENCODE_INT || v.type == BENCODE_STR)
		tu_check(bencode_iter_init(&v, &it) == BENCODE_ERR_TYPE);
	if (v.type != BENCODE_DICT)
		tu_check(bencode_dict_get(&v, "t", &v2) == BENCODE_ERR_TYPE);
	rewrite_into(&v, copy, size, used);
	rewrite_into(&v, copy, size, used - 1);
	rewrite_into(&v, copy, size, used / 2);
	/* The element alone parses the same. */
	tu_check(bencode_parse(copy, used, &v2, NULL) == 0 && v2.raw_len == used);
	free(copy);
	return 0;
}
