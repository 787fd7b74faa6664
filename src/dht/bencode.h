/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bencode.h -- bounded bencode reader and writer for KRPC (BEP 3 "bencoding").
 *
 * The reader never allocates: a parsed value is a view into the caller's
 * buffer. Every element is validated before use with explicit limits on
 * nesting depth and element count, because each datagram comes from an
 * untrusted peer. Integers without leading zeros or "-0" and string
 * lengths without leading zeros are enforced, and dictionary keys must be
 * unique. Keys out of their sorted order (raw byte strings) are accepted,
 * as other DHT implementations accept them, in dictionaries of at most 32
 * keys (what pkdns builds is always sorted: krpc.c writes keys in order).
 * The writer appends into a caller buffer and remembers an overflow
 * instead of writing past the end.
 */
#ifndef PKDNS_DHT_BENCODE_H
#define PKDNS_DHT_BENCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Largest nesting depth the reader accepts. */
#define BENCODE_MAX_DEPTH 32
/** Largest number of elements (all levels) in one top-level value. */
#define BENCODE_MAX_ELEMENTS 4096

/** Error codes (negative). */
enum bencode_err {
	BENCODE_ERR_TRUNC = -1,     /**< input ends inside an element */
	BENCODE_ERR_SYNTAX = -2,    /**< not bencode */
	BENCODE_ERR_NONCANON = -3,  /**< leading zeros, -0, a repeated key, an
				         unsorted dictionary of over 32 keys */
	BENCODE_ERR_LIMIT = -4,     /**< too deep or too many elements */
	BENCODE_ERR_RANGE = -5,     /**< integer outside int64 */
	BENCODE_ERR_TYPE = -6,      /**< value has the wrong type */
	BENCODE_ERR_NOTFOUND = -7,  /**< dictionary key absent */
};

/** Element types. */
enum bencode_type {
	BENCODE_INT = 1,
	BENCODE_STR,
	BENCODE_LIST,
	BENCODE_DICT,
};

/** A validated element: a view into the parsed buffer. */
struct bencode_value {
	enum bencode_type type;
	const uint8_t *raw; /**< whole encoded element */
	size_t raw_len;
	const uint8_t *str; /**< BENCODE_STR: the bytes of the string */
	size_t str_len;
	int64_t i; /**< BENCODE_INT: the value */
};

/** Iterator over a list or dictionary. */
struct bencode_iter {
	const uint8_t *p;
	const uint8_t *end;
	bool dict;
};

/**
 * Validate and parse exactly one element at the start of a buffer.
 * @param buf input
 * @param len bytes in buf
 * @param out the element (views into buf)
 * @param used if not NULL, receives the length of the element; when NULL
 *        trailing bytes after the element are an error
 * @return 0 or a negative enum bencode_err
 */
int bencode_parse(const uint8_t *buf, size_t len, struct bencode_value *out,
	size_t *used);

/**
 * Look a key up in a dictionary returned by bencode_parse().
 * @param dict a BENCODE_DICT value
 * @param key NUL-terminated key
 * @param out the value found
 * @return 0, BENCODE_ERR_NOTFOUND or BENCODE_ERR_TYPE (dict is no dict)
 */
int bencode_dict_get(const struct bencode_value *dict, const char *key,
	struct bencode_value *out);

/**
 * Start iterating over a list or dictionary.
 * @param v a BENCODE_LIST or BENCODE_DICT value
 * @param it iterator to set up
 * @return 0 or BENCODE_ERR_TYPE
 */
int bencode_iter_init(const struct bencode_value *v, struct bencode_iter *it);

/**
 * Next element of a list, or next key/value pair of a dictionary.
 * @param it iterator
 * @param key receives the key (dictionaries; may be NULL for lists)
 * @param val receives the element or value
 * @return 1 when an element was produced, 0 at the end, negative on error
 */
int bencode_iter_next(struct bencode_iter *it, struct bencode_value *key,
	struct bencode_value *val);

/** Writer state: appends into buf, never past cap. */
struct bencode_writer {
	uint8_t *buf;
	size_t cap;
	size_t len;
	bool overflow; /**< set once anything did not fit */
};

/**
 * Start writing into a caller buffer.
 * @param w writer
 * @param buf destination
 * @param cap its size
 */
void bencode_writer_init(struct bencode_writer *w, uint8_t *buf, size_t cap);

/**
 * Append a byte string "<len>:<bytes>".
 * @param w writer
 * @param p bytes (may be NULL when n is 0)
 * @param n length
 */
void bencode_put_str(struct bencode_writer *w, const void *p, size_t n);

/**
 * Append a NUL-terminated string as a byte string (keys mostly).
 * @param w writer
 * @param s the string
 */
void bencode_put_cstr(struct bencode_writer *w, const char *s);

/**
 * Append an integer "i<n>e".
 * @param w writer
 * @param n value
 */
void bencode_put_int(struct bencode_writer *w, int64_t n);

/**
 * Append pre-encoded bytes (an already bencoded value) unchanged.
 * @param w writer
 * @param p bytes
 * @param n length
 */
void bencode_put_raw(struct bencode_writer *w, const void *p, size_t n);

/** Open a dictionary ("d"); keys must then be written in sorted order.
 * @param w writer */
void bencode_put_dict(struct bencode_writer *w);

/** Open a list ("l").
 * @param w writer */
void bencode_put_list(struct bencode_writer *w);

/** Close the innermost list or dictionary ("e").
 * @param w writer */
void bencode_put_end(struct bencode_writer *w);

/**
 * Finish writing.
 * @param w writer
 * @return bytes written, or -1 when the buffer was too small
 */
int bencode_writer_done(const struct bencode_writer *w);

#endif
