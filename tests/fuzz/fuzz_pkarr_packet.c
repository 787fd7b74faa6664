/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_pkarr_packet.c -- libFuzzer target for pkarr SignedPackets
 * (src/pkarr/packet.c) and answering from them (src/pkarr/answer.c).
 *
 * Not built by make: see tests/fuzz/README.md, e.g.
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -I<dir with an empty config.h> -Isrc tests/fuzz/fuzz_pkarr_packet.c \
 *     src/pkarr/packet.c src/pkarr/answer.c src/pkarr/zbase32.c \
 *     src/util/log.c -lldns -lsodium -o fuzz_pkarr_packet
 *   ./fuzz_pkarr_packet -max_len=1500 -max_total_time=180
 *
 * Parsing verifies a signature, which a fuzzer cannot forge, so the input
 * drives two paths. Input: flags (1 byte), timestamp (8, big endian),
 * TTL clamp (2), then the body.
 * - flags bit 3 set: the body goes through pkarr_packet_parse_relay (for
 *   the key of the chosen seed), pkarr_packet_parse_full and
 *   pkarr_packet_from_bep44 as hostile bytes; seeds made from
 *   tests/data/pkarr_signed_packets.jsonl carry real signatures, so the
 *   accepted path is reached too.
 * - otherwise the body is a DNS message (bit 2: the harness puts the key
 *   in a question at offset 12 first, so records can point at it with
 *   0xc00c) that the target signs itself with one of four fixed seeds
 *   (bits 0-1: seed 00..01 to 00..04, the seeds of the test vectors).
 * Every packet that parses or signs is then answered for names derived
 * from its records and a few fixed ones, for several qtypes.
 *
 * Besides memory safety it checks: result codes are the documented ones;
 * sign, serialise and parse round-trip byte for byte and a flipped
 * signature bit is refused; pkarr_answer's outcome matches what its lists
 * hold (answers at the question's name in the question's case, only
 * CNAMEs before the data, one SOA at the apex for negative answers, NS
 * only in a delegation, glue only A/AAAA, target only for CNAME_OUT and
 * outside the key), every TTL lies inside the clamp, names outside the
 * key give SERVFAIL, and the answer lists encode as a DNS message.
 */
#include "config.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "pkarr/answer.h"
#include "pkarr/packet.h"
#include "pkarr/zbase32.h"
#include "util/log.h"
#include "../unit/testutil.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HDR 11

static const ldns_rr_type qtypes[] = {
	LDNS_RR_TYPE_A, LDNS_RR_TYPE_AAAA, LDNS_RR_TYPE_TXT,
	LDNS_RR_TYPE_CNAME, LDNS_RR_TYPE_NS, LDNS_RR_TYPE_DS,
	LDNS_RR_TYPE_ANY, LDNS_RR_TYPE_SOA, LDNS_RR_TYPE_MX,
	LDNS_RR_TYPE_HTTPS, LDNS_RR_TYPE_SVCB, LDNS_RR_TYPE_PTR,
};
#define NQTYPES (sizeof(qtypes) / sizeof(qtypes[0]))

static bool
under(const ldns_rdf *name, const ldns_rdf *apex)
{
	ldns_rdf *c = ldns_rdf_clone(name);
	bool r;

	tu_check(c != NULL);
	ldns_dname2canonical(c);
	r = ldns_dname_compare(c, apex) == 0 || ldns_dname_is_subdomain(c, apex);
	ldns_rdf_deep_free(c);
	return r;
}

static bool
same_bytes(const ldns_rdf *a, const ldns_rdf *b)
{
	return ldns_rdf_size(a) == ldns_rdf_size(b) &&
	    memcmp(ldns_rdf_data(a), ldns_rdf_data(b), ldns_rdf_size(a)) == 0;
}

static void
check_ttls(const ldns_rr_list *l, const struct pkarr_answer_params *p)
{
	for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++) {
		uint32_t t = ldns_rr_ttl(ldns_rr_list_rr(l, i));
		tu_check(t >= p->min_ttl && t <= p->max_ttl);
	}
}

static size_t
count_type(const ldns_rr_list *l, ldns_rr_type t)
{
	size_t n = 0;

	for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++)
		if (ldns_rr_get_type(ldns_rr_list_rr(l, i)) == t)
			n++;
	return n;
}

/* The answer lists must make a DNS message (what the server sends). */
static void
check_encodes(const ldns_rr_list *an, const ldns_rr_list *ns, const ldns_rr_list *ad)
{
	ldns_pkt *pkt = ldns_pkt_new();
	uint8_t *wire = NULL;
	size_t wl = 0;

	tu_check(pkt != NULL);
	for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++)
		tu_check(ldns_pkt_push_rr(pkt, LDNS_SECTION_ANSWER,
		    ldns_rr_clone(ldns_rr_list_rr(an, i))));
	for (size_t i = 0; i < ldns_rr_list_rr_count(ns); i++)
		tu_check(ldns_pkt_push_rr(pkt, LDNS_SECTION_AUTHORITY,
		    ldns_rr_clone(ldns_rr_list_rr(ns, i))));
	for (size_t i = 0; i < ldns_rr_list_rr_count(ad); i++)
		tu_check(ldns_pkt_push_rr(pkt, LDNS_SECTION_ADDITIONAL,
		    ldns_rr_clone(ldns_rr_list_rr(ad, i))));
	tu_check(ldns_pkt2wire(&wire, pkt, &wl) == LDNS_STATUS_OK);
	free(wire);
	ldns_pkt_free(pkt);
}

static void
ask(const struct pkarr_packet *pkt, const ldns_rdf *apex, const ldns_rdf *qname,
	ldns_rr_type qtype, const struct pkarr_answer_params *p, bool glue)
{
	ldns_rr_list *an = ldns_rr_list_new(), *ns = ldns_rr_list_new(),
		     *ad = ldns_rr_list_new();
	ldns_rdf *target = (ldns_rdf *)(uintptr_t)1;
	enum pkarr_answer_status st;
	size_t nan, nns, nad, ncname;
	bool in_key = under(qname, apex);

	tu_check(an && ns && ad);
	st = pkarr_answer(pkt, qname, qtype, p, an, ns, glue ? ad : NULL, &target);
	tu_check(st >= PKARR_ANS_OK && st <= PKARR_ANS_SERVFAIL);
	nan = ldns_rr_list_rr_count(an);
	nns = ldns_rr_list_rr_count(ns);
	nad = ldns_rr_list_rr_count(ad);
	ncname = count_type(an, LDNS_RR_TYPE_CNAME);
	tu_check((target != NULL) == (st == PKARR_ANS_CNAME_OUT));
	if (!in_key)
		tu_check(st == PKARR_ANS_SERVFAIL);
	if (!glue)
		tu_check(nad == 0);
	if (st == PKARR_ANS_SERVFAIL)
		goto out;
	check_ttls(an, p);
	check_ttls(ns, p);
	check_ttls(ad, p);
	/* Whatever answers first sits at the question's name, its case. */
	if (nan > 0)
		tu_check(same_bytes(ldns_rr_owner(ldns_rr_list_rr(an, 0)), qname));
	if (qtype == LDNS_RR_TYPE_ANY && nan > 0) {
		for (size_t i = 0; i < nan; i++)
			tu_check(same_bytes(ldns_rr_owner(ldns_rr_list_rr(an, i)), qname));
	}
	switch (st) {
	case PKARR_ANS_OK:
		tu_check(nan >= 1 && nns == 0 && nad == 0);
		if (qtype != LDNS_RR_TYPE_ANY && qtype != LDNS_RR_TYPE_CNAME)
			tu_check(ncname + count_type(an, qtype) == nan);
		break;
	case PKARR_ANS_NODATA:
	case PKARR_ANS_NXDOMAIN:
		tu_check(ncname == nan && nad == 0);
		tu_check(nns == 1 && ldns_rr_get_type(ldns_rr_list_rr(ns, 0)) == LDNS_RR_TYPE_SOA);
		tu_check(ldns_dname_compare(ldns_rr_owner(ldns_rr_list_rr(ns, 0)), apex) == 0);
		break;
	case PKARR_ANS_CNAME_OUT:
		tu_check(nan >= 1 && ncname == nan && nns == 0 && nad == 0);
		tu_check(ldns_rdf_get_type(target) == LDNS_RDF_TYPE_DNAME);
		tu_check(!under(target, apex));
		break;
	case PKARR_ANS_DELEGATION:
		tu_check(ncname == nan);
		tu_check(nns >= 1 && count_type(ns, LDNS_RR_TYPE_NS) == nns);
		tu_check(count_type(ad, LDNS_RR_TYPE_A) + count_type(ad, LDNS_RR_TYPE_AAAA) == nad);
		break;
	default:
		break;
	}
	/* One CNAME per link followed, at most PKARR_MAX_CNAME_CHAIN. */
	if (qtype != LDNS_RR_TYPE_ANY && qtype != LDNS_RR_TYPE_CNAME)
		tu_check(ncname <= PKARR_MAX_CNAME_CHAIN);
	check_encodes(an, ns, ad);
out:
	if (st != PKARR_ANS_CNAME_OUT)
		tu_check(target == NULL);
	ldns_rdf_deep_free(st == PKARR_ANS_CNAME_OUT ? target : NULL);
	ldns_rr_list_deep_free(an);
	ldns_rr_list_deep_free(ns);
	ldns_rr_list_deep_free(ad);
}

static ldns_rdf *
prefixed(const char *label, const ldns_rdf *base)
{
	ldns_rdf *l = ldns_dname_new_frm_str(label), *r;

	if (l == NULL)
		return NULL;
	r = ldns_dname_cat_clone(l, base);
	ldns_rdf_deep_free(l);
	return r;
}

static void
answer_all(const struct pkarr_packet *pkt, uint8_t sel,
	const struct pkarr_answer_params *p)
{
	ldns_rdf *names[24];
	size_t nn = 0;
	ldns_rdf *apex = pkarr_key_dname(pkt->pk);
	ldns_pkt *dp = NULL;
	uint32_t ttl;

	tu_check(apex != NULL);
	tu_check(pkarr_packet_min_ttl(pkt, p, &ttl) == 0);
	tu_check(ttl >= p->min_ttl && ttl <= p->max_ttl);
	names[nn++] = ldns_rdf_clone(apex);
	{
		/* The key in upper case: same name, other spelling. */
		ldns_rdf *u = ldns_rdf_clone(apex);
		uint8_t *d = ldns_rdf_data(u);
		for (size_t i = 0; i < ldns_rdf_size(u); i++)
			d[i] = (uint8_t)toupper(d[i]);
		names[nn++] = u;
	}
	names[nn++] = prefixed("www", apex);
	names[nn++] = prefixed("*", apex);
	names[nn++] = prefixed("no.such.name", apex);
	names[nn++] = ldns_dname_new_frm_str("example.com.");
	names[nn++] = ldns_dname_new_frm_str(
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.");
	tu_check(ldns_wire2pkt(&dp, pkt->dns, pkt->dns_len) == LDNS_STATUS_OK);
	for (size_t i = 0; i < ldns_rr_list_rr_count(ldns_pkt_answer(dp)) && nn + 3 <= 24; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(ldns_pkt_answer(dp), i);
		const ldns_rdf *o = ldns_rr_owner(rr);
		if (o == NULL || ldns_rdf_get_type(o) != LDNS_RDF_TYPE_DNAME)
			continue;
		names[nn++] = ldns_rdf_clone(o);
		/* Below an owner: a wildcard's or an empty non-terminal's. */
		if (ldns_rdf_size(o) < 200)
			names[nn++] = prefixed("Zz", o);
		if (ldns_rr_rd_count(rr) >= 1 &&
		    ldns_rdf_get_type(ldns_rr_rdf(rr, 0)) == LDNS_RDF_TYPE_DNAME)
			names[nn++] = ldns_rdf_clone(ldns_rr_rdf(rr, 0));
	}
	ldns_pkt_free(dp);
	for (size_t i = 0; i < nn; i++) {
		if (names[i] == NULL)
			continue;
		for (size_t j = 0; j < 3; j++) {
			ldns_rr_type t = qtypes[(sel + i + j * 5) % NQTYPES];
			ask(pkt, apex, names[i], t, p, (i + j) % 2 == 0);
		}
		ldns_rdf_deep_free(names[i]);
	}
	ldns_rdf_deep_free(apex);
}

/* Serialise and parse back; a flipped signature bit is refused. */
static void
round_trip(const struct pkarr_packet *pkt)
{
	uint8_t buf[32 + PKARR_RELAY_MAX];
	struct pkarr_packet back;
	size_t len;

	tu_check(pkarr_packet_verify(pkt) == 0);
	tu_check(pkarr_packet_to_relay(pkt, buf, sizeof(buf), &len) == 0);
	tu_check(len == PKARR_RELAY_HDR + pkt->dns_len);
	tu_check(pkarr_packet_to_relay(pkt, buf, len - 1, &len) == PKARR_E_SPACE);
	tu_check(pkarr_packet_to_relay(pkt, buf, sizeof(buf), &len) == 0);
	tu_check(pkarr_packet_parse_relay(&back, pkt->pk, buf, len) == 0);
	tu_check(memcmp(&back.sig, pkt->sig, 64) == 0 && back.ts_us == pkt->ts_us &&
	    back.dns_len == pkt->dns_len &&
	    memcmp(back.dns, pkt->dns, pkt->dns_len) == 0);
	tu_check(pkarr_packet_to_full(pkt, buf, sizeof(buf), &len) == 0);
	tu_check(len == 32 + PKARR_RELAY_HDR + pkt->dns_len);
	tu_check(pkarr_packet_parse_full(&back, buf, len) == 0);
	tu_check(memcmp(back.pk, pkt->pk, 32) == 0);
	tu_check(pkarr_packet_from_bep44(&back, pkt->pk, (int64_t)pkt->ts_us, pkt->dns,
	    pkt->dns_len, pkt->sig) == 0);
	buf[32 + 17] ^= 0x10;
	tu_check(pkarr_packet_parse_full(&back, buf, len) == PKARR_E_SIG);
	buf[32 + 17] ^= 0x10;
	/* Another timestamp is another message. */
	tu_check(pkarr_packet_from_bep44(&back, pkt->pk, (int64_t)(pkt->ts_us ^ 1),
	    pkt->dns, pkt->dns_len, pkt->sig) == PKARR_E_SIG);
}

static int
parse_code_ok(int rc)
{
	return rc == 0 || rc == PKARR_E_SIZE || rc == PKARR_E_DNS ||
	    rc == PKARR_E_SIG || rc == PKARR_E_INVAL;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* pkarr_answer warns about packets that do not load: keep quiet. */
	log_setup("fuzz", -1, true);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t ttls[] = { 0, 1, 60, 300, 3600, 86400, 604800, UINT32_MAX };
	struct pkarr_answer_params p;
	struct pkarr_packet *pkt;
	uint8_t seed[32] = { 0 }, flags;
	const uint8_t *body;
	uint8_t *copy;
	uint64_t ts = 0;
	size_t blen;
	int rc;

	if (size < HDR)
		return 0;
	flags = data[0];
	for (int i = 1; i <= 8; i++)
		ts = ts << 8 | data[i];
	p.min_ttl = ttls[data[9] % 8];
	p.max_ttl = ttls[data[10] % 8];
	if (p.max_ttl < p.min_ttl)
		p.max_ttl = p.min_ttl;
	seed[31] = (uint8_t)((flags & 3) + 1);
	body = data + HDR;
	blen = size - HDR;
	/* An exact-size heap copy, so that ASan sees any read past it. */
	copy = malloc(blen + 64 + 1);
	pkt = malloc(sizeof(*pkt));
	if (copy == NULL || pkt == NULL)
		goto out;
	memcpy(copy, body, blen);

	if (flags & 8) {
		struct pkarr_packet tmp;
		uint8_t *exact = malloc(blen ? blen : 1);
		tu_check(pkarr_packet_sign(&tmp, seed, 1, (const uint8_t *)
		    "\0\0\x80\0\0\0\0\0\0\0\0\0", 12) == 0);
		if (exact == NULL)
			goto out;
		memcpy(exact, body, blen);
		rc = pkarr_packet_parse_full(pkt, exact, blen);
		tu_check(parse_code_ok(rc));
		if (rc == 0) {
			round_trip(pkt);
			answer_all(pkt, flags >> 4, &p);
		}
		rc = pkarr_packet_from_bep44(pkt, tmp.pk, (int64_t)ts, exact, blen,
		    tmp.sig);
		tu_check(parse_code_ok(rc));
		rc = pkarr_packet_parse_relay(pkt, tmp.pk, exact, blen);
		tu_check(parse_code_ok(rc));
		if (rc == 0) {
			tu_check(blen >= PKARR_RELAY_HDR && pkt->dns_len == blen - PKARR_RELAY_HDR);
			round_trip(pkt);
			answer_all(pkt, flags >> 4, &p);
		}
		free(exact);
		goto out;
	}
	if ((flags & 4) && blen >= 12) {
		/* Header, then a question holding the key, then the rest. */
		char z32[PKARR_Z32_KEY_LEN + 1];
		struct pkarr_packet tmp;
		uint8_t *d = malloc(blen + 64);
		size_t o = 0;
		tu_check(pkarr_packet_sign(&tmp, seed, 1, (const uint8_t *)
		    "\0\0\x80\0\0\0\0\0\0\0\0\0", 12) == 0);
		if (d == NULL)
			goto out;
		pkarr_z32_encode(tmp.pk, z32);
		memcpy(d, body, 12);
		d[4] = 0;
		d[5] = 1;
		o = 12;
		d[o++] = PKARR_Z32_KEY_LEN;
		memcpy(d + o, z32, PKARR_Z32_KEY_LEN);
		o += PKARR_Z32_KEY_LEN;
		memcpy(d + o, "\0\0\x10\0\x01", 5);
		o += 5;
		memcpy(d + o, body + 12, blen - 12);
		o += blen - 12;
		free(copy);
		copy = d;
		blen = o;
	}
	rc = pkarr_packet_sign(pkt, seed, ts, copy, blen);
	tu_check(rc == 0 || rc == PKARR_E_SIZE || rc == PKARR_E_DNS || rc == PKARR_E_INVAL);
	if (rc == PKARR_E_INVAL)
		tu_check(ts > (uint64_t)INT64_MAX);
	if (rc == PKARR_E_SIZE)
		tu_check(blen > PKARR_MAX_DNS);
	if (rc == 0) {
		tu_check(blen <= PKARR_MAX_DNS && ts <= (uint64_t)INT64_MAX);
		round_trip(pkt);
		answer_all(pkt, flags >> 4, &p);
	}
out:
	free(copy);
	free(pkt);
	return 0;
}
