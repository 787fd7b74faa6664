/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bencode.c -- bounded, allocation-free bencode reader and writer.
 *
 * The reader validates a whole element (recursively, depth-bounded) before
 * handing out a view; later look-ups walk the already validated bytes with
 * the same checked code, so a bug in one path cannot read past the end.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "dht/bencode.h"

struct scan {
	size_t elements;
};

static int scan_value(struct scan *s, const uint8_t *p, const uint8_t *end,
	int depth, struct bencode_value *out, const uint8_t **next);

/* Decimal digits up to the terminator; canonical (no leading zeros, no -0). */
static int
scan_int(const uint8_t *p, const uint8_t *end, uint8_t term, int64_t *val,
	const uint8_t **next, bool allow_neg)
{
	bool neg = false;
	uint64_t acc = 0;
	const uint8_t *start;

	if (p < end && *p == '-' && allow_neg) {
		neg = true;
		p++;
	}
	start = p;
	while (p < end && *p >= '0' && *p <= '9') {
		unsigned d = (unsigned)(*p - '0');
		if (acc > (UINT64_MAX - d) / 10)
			return BENCODE_ERR_RANGE;
		acc = acc * 10 + d;
		p++;
	}
	if (p >= end)
		return BENCODE_ERR_TRUNC;
	if (*p != term || p == start)
		return BENCODE_ERR_SYNTAX;
	if (start[0] == '0' && p - start > 1)
		return BENCODE_ERR_NONCANON;
	if (neg && acc == 0)
		return BENCODE_ERR_NONCANON;
	if (neg) {
		if (acc > (uint64_t)INT64_MAX + 1)
			return BENCODE_ERR_RANGE;
		*val = acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc;
	} else {
		if (acc > (uint64_t)INT64_MAX)
			return BENCODE_ERR_RANGE;
		*val = (int64_t)acc;
	}
	*next = p + 1;
	return 0;
}

static int
scan_str(const uint8_t *p, const uint8_t *end, struct bencode_value *out,
	const uint8_t **next)
{
	int64_t n;
	const uint8_t *q;
	int rc = scan_int(p, end, ':', &n, &q, false);

	if (rc < 0)
		return rc;
	if ((uint64_t)n > (uint64_t)(end - q))
		return BENCODE_ERR_TRUNC;
	out->type = BENCODE_STR;
	out->str = q;
	out->str_len = (size_t)n;
	*next = q + n;
	return 0;
}

/* Byte-wise comparison of keys as bencode requires (shorter prefix first). */
static int
key_cmp(const struct bencode_value *a, const struct bencode_value *b)
{
	size_t n = a->str_len < b->str_len ? a->str_len : b->str_len;
	int c = n ? memcmp(a->str, b->str, n) : 0;

	if (c)
		return c;
	return a->str_len < b->str_len ? -1 : a->str_len > b->str_len;
}

/* Keys of an out-of-order dictionary that are checked for duplicates; one
 * with more keys than this is refused. */
#define UNSORTED_MAX_KEYS 32

static bool
key_eq(const struct bencode_value *a, const struct bencode_value *b)
{
	return a->str_len == b->str_len && memcmp(a->str, b->str, a->str_len) == 0;
}

static int
scan_container(struct scan *s, const uint8_t *p, const uint8_t *end, int depth,
	bool dict, const uint8_t **next)
{
	struct bencode_value key, prev = { 0 }, val;
	struct bencode_value seen[UNSORTED_MAX_KEYS];
	size_t nkeys = 0;
	bool sorted = true;
	int rc;

	if (depth >= BENCODE_MAX_DEPTH)
		return BENCODE_ERR_LIMIT;
	for (;;) {
		if (p >= end)
			return BENCODE_ERR_TRUNC;
		if (*p == 'e') {
			*next = p + 1;
			return 0;
		}
		if (dict) {
			if (*p < '0' || *p > '9')
				return BENCODE_ERR_SYNTAX;
			if (++s->elements > BENCODE_MAX_ELEMENTS)
				return BENCODE_ERR_LIMIT;
			rc = scan_str(p, end, &key, &p);
			if (rc < 0)
				return rc;
			/* Keys are sorted in canonical bencode, and in what
			 * every peer we know sends; other orders are taken too
			 * (as libtorrent does), but never a key twice. While
			 * the order holds, a repeat can only be the key before. */
			if (nkeys > 0 && key_cmp(&prev, &key) >= 0) {
				if (key_eq(&prev, &key))
					return BENCODE_ERR_NONCANON;
				sorted = false;
			}
			if (!sorted) {
				if (nkeys >= UNSORTED_MAX_KEYS)
					return BENCODE_ERR_NONCANON;
				for (size_t i = 0; i < nkeys; i++)
					if (key_eq(&seen[i], &key))
						return BENCODE_ERR_NONCANON;
			}
			if (nkeys < UNSORTED_MAX_KEYS)
				seen[nkeys] = key;
			nkeys++;
			prev = key;
		}
		rc = scan_value(s, p, end, depth + 1, &val, &p);
		if (rc < 0)
			return rc;
	}
}

static int
scan_value(struct scan *s, const uint8_t *p, const uint8_t *end, int depth,
	struct bencode_value *out, const uint8_t **next)
{
	int rc;

	if (p >= end)
		return BENCODE_ERR_TRUNC;
	if (++s->elements > BENCODE_MAX_ELEMENTS)
		return BENCODE_ERR_LIMIT;
	memset(out, 0, sizeof(*out));
	out->raw = p;
	switch (*p) {
	case 'i':
		out->type = BENCODE_INT;
		rc = scan_int(p + 1, end, 'e', &out->i, next, true);
		break;
	case 'l':
		out->type = BENCODE_LIST;
		rc = scan_container(s, p + 1, end, depth, false, next);
		break;
	case 'd':
		out->type = BENCODE_DICT;
		rc = scan_container(s, p + 1, end, depth, true, next);
		break;
	default:
		if (*p < '0' || *p > '9')
			return BENCODE_ERR_SYNTAX;
		rc = scan_str(p, end, out, next);
		break;
	}
	if (rc < 0)
		return rc;
	out->raw_len = (size_t)(*next - p);
	return 0;
}

int
bencode_parse(const uint8_t *buf, size_t len, struct bencode_value *out,
	size_t *used)
{
	struct scan s = { 0 };
	const uint8_t *next;
	int rc;

	if (buf == NULL || out == NULL)
		return BENCODE_ERR_SYNTAX;
	rc = scan_value(&s, buf, buf + len, 0, out, &next);
	if (rc < 0)
		return rc;
	if (used)
		*used = (size_t)(next - buf);
	else if (next != buf + len)
		return BENCODE_ERR_SYNTAX;
	return 0;
}

int
bencode_iter_init(const struct bencode_value *v, struct bencode_iter *it)
{
	if (v->type != BENCODE_LIST && v->type != BENCODE_DICT)
		return BENCODE_ERR_TYPE;
	it->p = v->raw + 1;
	it->end = v->raw + v->raw_len;
	it->dict = v->type == BENCODE_DICT;
	return 0;
}

int
bencode_iter_next(struct bencode_iter *it, struct bencode_value *key,
	struct bencode_value *val)
{
	struct bencode_value k;
	size_t used;
	int rc;

	if (it->p >= it->end)
		return BENCODE_ERR_TRUNC;
	if (*it->p == 'e')
		return 0;
	if (it->dict) {
		rc = bencode_parse(it->p, (size_t)(it->end - it->p), &k, &used);
		if (rc < 0)
			return rc;
		if (k.type != BENCODE_STR)
			return BENCODE_ERR_SYNTAX;
		it->p += used;
		if (key)
			*key = k;
	}
	rc = bencode_parse(it->p, (size_t)(it->end - it->p), val, &used);
	if (rc < 0)
		return rc;
	it->p += used;
	return 1;
}

int
bencode_dict_get(const struct bencode_value *dict, const char *key,
	struct bencode_value *out)
{
	struct bencode_iter it;
	struct bencode_value k, v;
	size_t klen = strlen(key);
	int rc;

	if (dict->type != BENCODE_DICT)
		return BENCODE_ERR_TYPE;
	bencode_iter_init(dict, &it);
	while ((rc = bencode_iter_next(&it, &k, &v)) > 0) {
		if (k.str_len == klen && memcmp(k.str, key, klen) == 0) {
			*out = v;
			return 0;
		}
	}
	return rc < 0 ? rc : BENCODE_ERR_NOTFOUND;
}

void
bencode_writer_init(struct bencode_writer *w, uint8_t *buf, size_t cap)
{
	w->buf = buf;
	w->cap = cap;
	w->len = 0;
	w->overflow = false;
}

void
bencode_put_raw(struct bencode_writer *w, const void *p, size_t n)
{
	if (w->overflow || n > w->cap - w->len) {
		w->overflow = true;
		return;
	}
	if (n)
		memcpy(w->buf + w->len, p, n);
	w->len += n;
}

/* Decimal digits of v, written backwards from end; returns the first.
 * (snprintf was a third of the cost of building a query.) */
static char *
put_digits(char *end, uint64_t v)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return end;
}

void
bencode_put_str(struct bencode_writer *w, const void *p, size_t n)
{
	char hdr[24], *s;

	hdr[23] = ':';
	s = put_digits(hdr + 23, n);
	bencode_put_raw(w, s, (size_t)(hdr + 24 - s));
	bencode_put_raw(w, p, n);
}

void
bencode_put_cstr(struct bencode_writer *w, const char *s)
{
	bencode_put_str(w, s, strlen(s));
}

void
bencode_put_int(struct bencode_writer *w, int64_t n)
{
	char tmp[32], *s;
	/* the magnitude as unsigned: -INT64_MIN does not fit an int64_t */
	uint64_t mag = n < 0 ? (uint64_t)0 - (uint64_t)n : (uint64_t)n;

	tmp[31] = 'e';
	s = put_digits(tmp + 31, mag);
	if (n < 0)
		*--s = '-';
	*--s = 'i';
	bencode_put_raw(w, s, (size_t)(tmp + 32 - s));
}

void
bencode_put_dict(struct bencode_writer *w)
{
	bencode_put_raw(w, "d", 1);
}

void
bencode_put_list(struct bencode_writer *w)
{
	bencode_put_raw(w, "l", 1);
}

void
bencode_put_end(struct bencode_writer *w)
{
	bencode_put_raw(w, "e", 1);
}

int
bencode_writer_done(const struct bencode_writer *w)
{
	if (w->overflow || w->len > (size_t)INT32_MAX)
		return -1;
	return (int)w->len;
}
