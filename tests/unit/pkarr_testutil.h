/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pkarr_testutil.h -- signed pkarr packets for the pkarr unit tests
 * (test_pkarr_*.c): the key of a seed, a packet from zone text, and a
 * name under a key. Static inline, as testutil.h, and without tap.h: the
 * callers make their assertions with what these return. They need
 * libpkdns (pkarr/packet, zone, zbase32) and ldns, as every pkarr test.
 */
#ifndef PKDNS_TESTS_PKARR_TESTUTIL_H
#define PKDNS_TESTS_PKARR_TESTUTIL_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <ldns/ldns.h>

#include "pkarr/packet.h"
#include "pkarr/zbase32.h"
#include "pkarr/zone.h"

/**
 * The public key of an Ed25519 seed, learnt by signing an empty DNS
 * message with it.
 * @param seed the 32-byte seed
 * @param key receives the key in z-base32, terminated (53 bytes)
 * @param pk receives the 32-byte key, or NULL
 * @return 0, or as pkarr_packet_sign()
 */
static inline int
tu_seed_key(const uint8_t seed[32], char key[PKARR_Z32_KEY_LEN + 1], uint8_t pk[32])
{
	struct pkarr_packet tmp;
	int rc = pkarr_packet_sign(&tmp, seed, 1, (const uint8_t *)"\0\0\x80\0\0\0\0\0\0\0\0\0", 12);

	if (rc < 0)
		return rc;
	pkarr_z32_encode(tmp.pk, key);
	if (pk)
		memcpy(pk, tmp.pk, 32);
	return 0;
}

/**
 * A packet signed with seed at ts_us whose records are zone text, names
 * relative to the key (pkarr_zone_to_dns(), default TTL 300).
 * @param key receives the key in z-base32 (53 bytes), or NULL
 * @return 0; -1 when the zone text does not parse (the reason printed as
 *         a TAP comment); or as pkarr_packet_sign()
 */
static inline int
tu_zone_packet(struct pkarr_packet *pkt, const uint8_t seed[32], uint64_t ts_us,
    const char *zone, char key[PKARR_Z32_KEY_LEN + 1])
{
	uint8_t dns[PKARR_MAX_DNS], pk[32];
	char z32[PKARR_Z32_KEY_LEN + 1], err[200];
	size_t len = 0;

	if (tu_seed_key(seed, z32, pk) < 0)
		return -1;
	if (key)
		memcpy(key, z32, sizeof(z32));
	if (pkarr_zone_to_dns(zone, pk, 300, dns, sizeof(dns), &len, err, sizeof(err)) < 0) {
		printf("# zone: %s\n", err);
		return -1;
	}
	return pkarr_packet_sign(pkt, seed, ts_us, dns, len);
}

/**
 * A name under a key: rel "@" is the key itself, rel ending in '.' is
 * taken as it is, any other is "<rel>.<key>.".
 * @return a new rdf (ldns_rdf_deep_free), or NULL
 */
static inline ldns_rdf *
tu_key_dname(const char *key, const char *rel)
{
	char buf[512];

	if (strcmp(rel, "@") == 0)
		snprintf(buf, sizeof(buf), "%s.", key);
	else if (rel[0] && rel[strlen(rel) - 1] == '.')
		snprintf(buf, sizeof(buf), "%s", rel);
	else
		snprintf(buf, sizeof(buf), "%s.%s.", rel, key);
	return ldns_dname_new_frm_str(buf);
}

#endif
