/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * seed_pkarr_answer.c -- make a seed for fuzz_pkarr_answer from a zone
 * file: flags 0 (key of seed 00..01, no question), TTL clamp 60..86400,
 * then the zone as a pkarr DNS message (pkarr_zone_to_dns).
 * Usage: seed_pkarr_answer ZONEFILE OUTFILE. Linked to libpkdns.a (see
 * tests/fuzz/README.md); a tool, not a test.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "pkarr/zone.h"

#define ZONE_MAX 8192

int
main(int argc, char **argv)
{
	/* flags, then indexes of 60 and 86400 in the target's TTL table */
	static const uint8_t hdr[3] = {0, 2, 5};
	uint8_t seed[32] = {0}, pk[32], sk[64], dns[PKARR_MAX_DNS];
	char text[ZONE_MAX], err[128];
	size_t len = 0, n;
	FILE *f;

	if (argc != 3 || (f = fopen(argv[1], "r")) == NULL)
		return 2;
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	seed[31] = 1;
	if (sodium_init() < 0 || crypto_sign_seed_keypair(pk, sk, seed) != 0)
		return 1;
	if (pkarr_zone_to_dns(text, pk, 300, dns, sizeof(dns), &len, err,
			      sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", argv[1], err);
		return 1;
	}
	f = fopen(argv[2], "wb");
	if (f == NULL || fwrite(hdr, 1, sizeof(hdr), f) != sizeof(hdr) ||
	    fwrite(dns, 1, len, f) != len) {
		if (f != NULL)
			fclose(f);
		return 1;
	}
	return fclose(f) == 0 ? 0 : 1;
}
