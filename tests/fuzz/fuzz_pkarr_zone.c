/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_pkarr_zone.c -- libFuzzer target for zone text to a pkarr DNS
 * message (pkarr_zone_to_dns, src/pkarr/zone.c) and back
 * (pkarr_packet_print_zone).
 *
 * Not built by make: see tests/fuzz/README.md, e.g.
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -I<dir with an empty config.h> -Isrc tests/fuzz/fuzz_pkarr_zone.c \
 *     src/pkarr/zone.c src/pkarr/packet.c src/pkarr/answer.c \
 *     src/pkarr/zbase32.c src/util/log.c -lldns -lsodium -o fuzz_pkarr_zone
 *   ./fuzz_pkarr_zone -max_len=1500 -max_total_time=180 -dict=zone.dict
 *
 * Input: one flags byte (bits 0-1: the key, from seed 00..01 to 00..04;
 * bits 2-4: default TTL; bits 5-7: size of the error buffer), then the
 * zone text (the target adds the NUL).
 *
 * Besides memory safety it checks: the result is a documented code; the
 * error message is a terminated string inside its buffer; what is
 * accepted is a DNS response (QR, id 0, no question) of at most 1000
 * bytes with every record in the answer section under the key, which
 * signs; a buffer one byte short gives PKARR_E_SPACE and is not written
 * past; and the printed zone of the signed packet reads back to the same
 * message.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "pkarr/answer.h"
#include "pkarr/packet.h"
#include "pkarr/zone.h"
#include "../unit/testutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_message(const uint8_t *dns, size_t len, const uint8_t pk[32])
{
	ldns_pkt *p = NULL;
	ldns_rdf *apex = pkarr_key_dname(pk);
	ldns_rr_list *an;

	tu_check(apex != NULL);
	tu_check(len >= LDNS_HEADER_SIZE && len <= PKARR_MAX_DNS);
	tu_check(ldns_wire2pkt(&p, dns, len) == LDNS_STATUS_OK);
	tu_check(ldns_pkt_qr(p) && ldns_pkt_id(p) == 0);
	tu_check(ldns_pkt_qdcount(p) == 0 && ldns_pkt_nscount(p) == 0 &&
	    ldns_pkt_arcount(p) == 0);
	an = ldns_pkt_answer(p);
	for (size_t i = 0; an && i < ldns_rr_list_rr_count(an); i++) {
		ldns_rdf *o = ldns_rdf_clone(ldns_rr_owner(ldns_rr_list_rr(an, i)));
		tu_check(o != NULL);
		ldns_dname2canonical(o);
		tu_check(ldns_dname_compare(o, apex) == 0 || ldns_dname_is_subdomain(o, apex));
		ldns_rdf_deep_free(o);
	}
	ldns_pkt_free(p);
	ldns_rdf_deep_free(apex);
}

/* Print the signed packet as zone text and read it back. */
static void
check_print(const struct pkarr_packet *pkt, const uint8_t *dns, size_t len)
{
	char *text = NULL, err[256];
	size_t tl = 0, len2 = 0;
	uint8_t back[PKARR_MAX_DNS];
	FILE *f = open_memstream(&text, &tl);
	int rc;

	tu_check(f != NULL);
	tu_check(pkarr_packet_print_zone(f, pkt) == 0);
	tu_check(fclose(f) == 0);
	rc = pkarr_zone_to_dns(text, pkt->pk, 1, back, sizeof(back), &len2, err,
	    sizeof(err));
	if (rc != 0 || len2 != len || memcmp(back, dns, len) != 0) {
		fprintf(stderr, "printed zone does not read back (%d: %s):\n%s\n",
		    rc, err, text);
		abort();
	}
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t ttls[] = { 0, 1, 300, 3600, 86400, 2147483647u,
		2147483648u, UINT32_MAX };
	static const size_t errlens[] = { 0, 1, 2, 8, 16, 64, 200, 256 };
	uint8_t seed[32] = { 0 }, out[PKARR_MAX_DNS + 1], small[PKARR_MAX_DNS + 1];
	struct pkarr_packet *pkt;
	char *text, err[257];
	size_t len = 0, len2 = 0, errlen;
	uint32_t ttl;
	int rc;

	if (size < 1)
		return 0;
	seed[31] = (uint8_t)((data[0] & 3) + 1);
	ttl = ttls[(data[0] >> 2) & 7];
	errlen = errlens[(data[0] >> 5) & 7];
	text = malloc(size);
	pkt = malloc(sizeof(*pkt));
	if (text == NULL || pkt == NULL)
		goto out;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	/* The key: sign an empty response once to learn it. */
	tu_check(pkarr_packet_sign(pkt, seed, 1, (const uint8_t *)
	    "\0\0\x80\0\0\0\0\0\0\0\0\0", 12) == 0);

	memset(err, 0x5a, sizeof(err));
	memset(out, 0xa5, sizeof(out));
	rc = pkarr_zone_to_dns(text, pkt->pk, ttl, out, PKARR_MAX_DNS, &len, err,
	    errlen);
	tu_check(rc == 0 || rc == PKARR_E_INVAL || rc == PKARR_E_SIZE ||
	    rc == PKARR_E_SPACE || rc == PKARR_E_NOMEM);
	tu_check(rc != PKARR_E_SPACE); /* PKARR_MAX_DNS always suffices */
	if (errlen > 0)
		tu_check(memchr(err, '\0', errlen) != NULL);
	tu_check((unsigned char)err[errlen] == 0x5a);
	tu_check(out[PKARR_MAX_DNS] == 0xa5);
	if (rc != 0)
		goto out;
	check_message(out, len, pkt->pk);
	/* One byte short: refused, and nothing written past the end. */
	memset(small, 0xa5, sizeof(small));
	rc = pkarr_zone_to_dns(text, pkt->pk, ttl, small, len - 1, &len2, NULL, 0);
	tu_check(rc == PKARR_E_SPACE);
	tu_check(small[len - 1] == 0xa5);
	rc = pkarr_packet_sign(pkt, seed, 1700000000000000ull, out, len);
	tu_check(rc == 0);
	check_print(pkt, out, len);
out:
	free(text);
	free(pkt);
	return 0;
}
