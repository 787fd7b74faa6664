/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * zbase32.c -- z-base32 for 32-byte keys (see zbase32.h).
 */
#include "config.h"

#include "pkarr/zbase32.h"

static const char z32_alphabet[] = "ybndrfg8ejkmcpqxot1uwisza345h769";

/* -1 for bytes outside the alphabet; both cases map to the same value. */
static int
z32_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		c = (unsigned char)(c - 'A' + 'a');
	for (int i = 0; i < 32; i++)
		if ((unsigned char)z32_alphabet[i] == c)
			return i;
	return -1;
}

void
pkarr_z32_encode(const uint8_t key[32], char out[PKARR_Z32_KEY_LEN + 1])
{
	uint32_t acc = 0;
	int bits = 0;
	size_t n = 0;

	for (size_t i = 0; i < 32; i++) {
		acc = (acc << 8) | key[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			out[n++] = z32_alphabet[(acc >> bits) & 31];
		}
	}
	/* 256 = 51 * 5 + 1: the last digit holds one bit and 4 zero pad bits. */
	if (bits > 0)
		out[n++] = z32_alphabet[(acc << (5 - bits)) & 31];
	out[n] = '\0';
}

int
pkarr_z32_decode_key(const char *s, size_t len, uint8_t key[32])
{
	uint32_t acc = 0;
	int bits = 0;
	size_t n = 0;

	if (s == NULL || len != PKARR_Z32_KEY_LEN)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int v = z32_value((unsigned char)s[i]);
		if (v < 0)
			return -2;
		acc = ((acc << 5) | (uint32_t)v) & 0xffffu;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			if (n < 32)
				key[n] = (uint8_t)(acc >> bits);
			n++;
		}
	}
	/* 52 * 5 = 260 bits: 4 bits are left over and must all be zero. */
	if (n != 32 || bits != 4)
		return -1;
	if ((acc & 0xfu) != 0)
		return -3;
	return 0;
}

bool
pkarr_is_key_label(const uint8_t *label, size_t len)
{
	uint8_t key[32];

	if (label == NULL || len != PKARR_Z32_KEY_LEN)
		return false;
	return pkarr_z32_decode_key((const char *)label, len, key) == 0;
}
