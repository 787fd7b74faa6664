/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bytes.h -- big-endian (network order) integers in byte buffers.
 */
#ifndef PKDNS_UTIL_BYTES_H
#define PKDNS_UTIL_BYTES_H

#include <stdint.h>

/**
 * @param p 8 bytes, most significant first
 * @return their value
 */
static inline uint64_t
bytes_get_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

/**
 * Write v as 8 bytes, most significant first.
 * @param p destination
 * @param v value
 */
static inline void
bytes_put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

#endif
