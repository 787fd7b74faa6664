/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_pkarr_zbase32.c -- z-base32 keys against the JS pkarr vectors and
 * hand-made bad inputs.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkarr/zbase32.h"
#include "tap.h"
#include "testutil.h"

static void
test_vectors(void)
{
	char path[4096], line[16384], z32[128], hex[128], enc[53];
	uint8_t key[32], dec[32];
	int count = 0;
	FILE *f;

	f = tu_open_data("pkarr_signed_packets.jsonl", path, sizeof(path));
	if (!ok(f != NULL, "open %s", path))
		return;
	while (fgets(line, sizeof(line), f)) {
		if (tu_json_copy(line, "public_key_z32", z32, sizeof(z32)) < 0 ||
		    tu_json_copy(line, "public_key_hex", hex, sizeof(hex)) < 0)
			continue;
		count++;
		ok(tu_unhex_str(hex, key, sizeof(key)) == 32, "vector %d: hex key", count);
		pkarr_z32_encode(key, enc);
		ok(strcmp(enc, z32) == 0, "vector %d: encode %s", count, enc);
		is_int(pkarr_z32_decode_key(z32, strlen(z32), dec), 0,
		       "vector %d: decode", count);
		is_mem(dec, key, 32, "vector %d: decoded bytes", count);
		ok(pkarr_is_key_label((const uint8_t *)z32, strlen(z32)),
		   "vector %d: is a key label", count);
		for (char *c = z32; *c; c++)
			if (*c >= 'a' && *c <= 'z')
				*c = (char)(*c - 'a' + 'A');
		memset(dec, 0, sizeof(dec));
		is_int(pkarr_z32_decode_key(z32, strlen(z32), dec), 0,
		       "vector %d: upper case decodes", count);
		is_mem(dec, key, 32, "vector %d: upper case bytes", count);
	}
	fclose(f);
	ok(count >= 4, "read %d vectors", count);
}

static void
test_bad(void)
{
	/* Key 0x4c.. from the first vector; variations of its spelling. */
	const char *good = "j144z7ipx879mk7h3m6cr4qamujgk8swznn5mbw9ropq5hffzewo";
	char s[64];
	uint8_t key[32];

	is_int(pkarr_z32_decode_key(good, 51, key), -1, "51 chars refused");
	strcpy(s, good);
	strcat(s, "y");
	is_int(pkarr_z32_decode_key(s, 53, key), -1, "53 chars refused");
	is_int(pkarr_z32_decode_key("", 0, key), -1, "empty refused");

	strcpy(s, good);
	s[10] = 'l'; /* 'l' and 'v' and '2' are not in the alphabet */
	is_int(pkarr_z32_decode_key(s, 52, key), -2, "'l' refused");
	s[10] = '2';
	is_int(pkarr_z32_decode_key(s, 52, key), -2, "'2' refused");
	s[10] = '.';
	is_int(pkarr_z32_decode_key(s, 52, key), -2, "'.' refused");
	ok(!pkarr_is_key_label((const uint8_t *)s, 52), "not a key label");

	/* Last char 'o' = 16 = 10000b: one data bit, pad zero. 'e' (= 8,
	 * 01000b) sets a pad bit. */
	strcpy(s, good);
	s[51] = 'e';
	is_int(pkarr_z32_decode_key(s, 52, key), -3, "non-zero pad bits refused");
	ok(!pkarr_is_key_label((const uint8_t *)s, 52), "pad bits: not a key label");
	s[51] = 'y'; /* 0: data bit 0, pad zero: another valid key */
	is_int(pkarr_z32_decode_key(s, 52, key), 0, "zero pad bits accepted");
	ok(!pkarr_is_key_label((const uint8_t *)"example", 7), "'example' is not a key");
	ok(!pkarr_is_key_label(NULL, 52), "NULL is not a key");

	/* Round trip over a few patterns. */
	for (int pat = 0; pat < 4; pat++) {
		uint8_t k[32], d[32];
		char e[53];
		for (int i = 0; i < 32; i++)
			k[i] = (uint8_t)(pat == 0 ? 0 : pat == 1 ? 0xff : i * 37 + pat);
		pkarr_z32_encode(k, e);
		ok(strlen(e) == 52 && pkarr_z32_decode_key(e, 52, d) == 0 &&
			   memcmp(k, d, 32) == 0,
		   "round trip pattern %d (%s)", pat, e);
	}
}

int
main(void)
{
	test_vectors();
	test_bad();
	return tap_done();
}
