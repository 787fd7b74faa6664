/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * zbase32.h -- z-base32 encoding of Ed25519 public keys, the form a pkarr
 * key takes as a DNS label (a 52-character top-level domain).
 *
 * Alphabet "ybndrfg8ejkmcpqxot1uwisza345h769" (Zooko's human-oriented
 * base-32, as used by pkarr). 32 bytes are 256 bits: 51 full 5-bit digits
 * plus one digit carrying the last bit and 4 pad bits, which must be zero
 * so that every key has exactly one spelling (doc/design.md, "Keys").
 */
#ifndef PKDNS_PKARR_ZBASE32_H
#define PKDNS_PKARR_ZBASE32_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Characters in the z-base32 form of a 32-byte key. */
#define PKARR_Z32_KEY_LEN 52

/**
 * Encode a public key as z-base32 (lower case).
 * @param key the 32-byte Ed25519 public key
 * @param out receives 52 characters and a terminating NUL
 */
void pkarr_z32_encode(const uint8_t key[32], char out[PKARR_Z32_KEY_LEN + 1]);

/**
 * Decode the z-base32 spelling of a public key.
 * Accepts upper and lower case; refuses any other length, any character
 * outside the alphabet and non-zero pad bits.
 * @param s the characters (need not be NUL-terminated)
 * @param len number of characters in s; must be 52
 * @param key receives the 32 bytes (undefined on error)
 * @return 0 on success, -1 on a bad length, -2 on a bad character,
 *         -3 on non-zero pad bits
 */
int pkarr_z32_decode_key(const char *s, size_t len, uint8_t key[32]);

/**
 * Tell whether a DNS label is a pkarr key (52 z-base32 characters that
 * decode to 32 bytes with zero pad bits).
 * @param label the label's bytes (no length prefix)
 * @param len the label's length
 * @return true when the label is a key
 */
bool pkarr_is_key_label(const uint8_t *label, size_t len);

#endif
