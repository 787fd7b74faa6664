/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_pkarr_zone.c -- zone text to pkarr DNS bytes and back.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "pkarr/packet.h"
#include "pkarr/zbase32.h"
#include "pkarr/zone.h"
#include "tap.h"
#include "testutil.h"

/* Seed 2 of the JS vectors and the DNS bytes pkarr@1.3.0 made from the
 * same four records (tests/data/pkarr_signed_packets.jsonl, line 2). */
static const char *key2 = "qotmundiuydehcsre1fjjgs5frgo6utiz8obsdzf6go6cy86r34y";
static const char *js_dns2 =
	"00008000000000040000000034716f746d756e6469757964656863737265316"
	"66a6a6773356672676f367574697a386f6273647a6636676f366379383672333479"
	"00000100010000012e00045db8d82234716f746d756e64697579646568637372653"
	"1666a6a6773356672676f367574697a386f6273647a6636676f3663793836723334"
	"7900001c00010000012e001020010db8000000000000000000000001037777773471"
	"6f746d756e646975796465686373726531666a6a6773356672676f367574697a386f"
	"6273647a6636676f36637938367233347900000500010000012e000d076578616d70"
	"6c6503636f6d00065f7075626b7934716f746d756e64697579646568637372653166"
	"6a6a6773356672676f367574697a386f6273647a6636676f36637938367233347900"
	"001000010000012e000a09763d312068656c6c6f";

static void
test_vector_zone(void)
{
	uint8_t pk[32], js[1000], dns[1000];
	size_t jlen, len = 0;
	char err[200];
	int n;
	const char *zone = "$TTL 302\n"
			   "@\tIN A 93.184.216.34\n"
			   "@ IN AAAA 2001:db8::1 ; comment\n"
			   "\n"
			   "www IN CNAME example.com.\n"
			   "_pubky IN TXT \"v=1 hello\"\n";

	pkarr_z32_decode_key(key2, 52, pk);
	n = tu_unhex_str(js_dns2, js, sizeof(js));
	jlen = n < 0 ? 0 : (size_t)n;
	is_int(pkarr_zone_to_dns(zone, pk, 300, dns, sizeof(dns), &len, err,
				 sizeof(err)),
	       0, "vector zone parses (%s)", err);
	/* ldns compresses names and the JS package does not: compare the
	 * records, not the bytes. */
	{
		ldns_pkt *a = NULL, *b = NULL;
		ldns_rr_list *la, *lb;
		int same = 1;

		ok(len < jlen, "compressed: %zu bytes against %zu", len, jlen);
		if (!ok(ldns_wire2pkt(&a, dns, len) == LDNS_STATUS_OK &&
				ldns_wire2pkt(&b, js, jlen) == LDNS_STATUS_OK,
			"both parse")) {
			ldns_pkt_free(a);
			ldns_pkt_free(b);
			return;
		}
		la = ldns_pkt_answer(a);
		lb = ldns_pkt_answer(b);
		is_int(ldns_rr_list_rr_count(la), ldns_rr_list_rr_count(lb),
		       "same record count");
		for (size_t i = 0; i < ldns_rr_list_rr_count(la) &&
				   i < ldns_rr_list_rr_count(lb);
		     i++)
			if (ldns_rr_compare(ldns_rr_list_rr(la, i),
					    ldns_rr_list_rr(lb, i)) != 0 ||
			    ldns_rr_ttl(ldns_rr_list_rr(la, i)) !=
				    ldns_rr_ttl(ldns_rr_list_rr(lb, i)))
				same = 0;
		ok(same, "same records, TTLs and order as the JS package");
		ok(ldns_pkt_get_opcode(a) == ldns_pkt_get_opcode(b) &&
			   ldns_pkt_qr(a) == ldns_pkt_qr(b) &&
			   ldns_pkt_aa(a) == ldns_pkt_aa(b) &&
			   ldns_pkt_id(a) == ldns_pkt_id(b),
		   "same header flags");
		ldns_pkt_free(a);
		ldns_pkt_free(b);
	}
}

static ldns_pkt *
parse(const uint8_t *dns, size_t len)
{
	ldns_pkt *p = NULL;
	if (ldns_wire2pkt(&p, dns, len) != LDNS_STATUS_OK)
		return NULL;
	return p;
}

static void
test_features(void)
{
	uint8_t pk[32], dns[1000];
	size_t len = 0;
	char err[200], z32[53];
	ldns_pkt *p;
	ldns_rr_list *an;
	const char *zone =
		"$TTL 120\n"
		"@ 60 A 10.0.0.1\n"
		"  AAAA ::1\n" /* blank owner: previous one */
		"sub.deep 7200 IN MX 10 mail\n"
		"txt TXT \"one\" \"two\" ( \"three\" )\n"
		"_https HTTPS 1 . alpn=h2\n"
		"* TXT wild\n"
		"dns NS ns1.example.net.\n";

	for (int i = 0; i < 32; i++)
		pk[i] = (uint8_t)(i * 7);
	pkarr_z32_encode(pk, z32);
	is_int(pkarr_zone_to_dns(zone, pk, 300, dns, sizeof(dns), &len, err,
				 sizeof(err)),
	       0, "zone with many types parses (%s)", err);
	p = parse(dns, len);
	if (!ok(p != NULL, "output is DNS"))
		return;
	ok(ldns_pkt_qr(p) && ldns_pkt_id(p) == 0 && ldns_pkt_qdcount(p) == 0,
	   "response, id 0, no question");
	an = ldns_pkt_answer(p);
	is_int(ldns_rr_list_rr_count(an), 7, "7 records in the answer section");
	if (ldns_rr_list_rr_count(an) == 7) {
		char *o = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(an, 0)));
		char want[80];
		snprintf(want, sizeof(want), "%s.", z32);
		ok(o && strcmp(o, want) == 0, "@ is the key (%s)", o);
		free(o);
		is_int(ldns_rr_ttl(ldns_rr_list_rr(an, 0)), 60, "own TTL");
		is_int(ldns_rr_ttl(ldns_rr_list_rr(an, 1)), 120, "$TTL");
		o = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(an, 1)));
		ok(o && strcmp(o, want) == 0, "blank owner repeats the last");
		free(o);
		o = ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(an, 2), 1));
		snprintf(want, sizeof(want), "mail.%s.", z32);
		ok(o && strcmp(o, want) == 0, "relative MX target (%s)", o);
		free(o);
		is_int(ldns_rr_rd_count(ldns_rr_list_rr(an, 3)), 3,
		       "TXT keeps three strings");
		is_int(ldns_rr_get_type(ldns_rr_list_rr(an, 4)),
		       LDNS_RR_TYPE_HTTPS, "HTTPS record");
	}
	ldns_pkt_free(p);

	/* Round trip through the printer. */
	{
		struct pkarr_packet pkt, back;
		uint8_t seed[32] = {1}, dns2[1000];
		size_t len2 = 0;
		char *txt = NULL;
		size_t tlen = 0;
		FILE *m;

		is_int(pkarr_packet_sign(&pkt, seed, 5, dns, len), 0, "sign");
		pkarr_z32_encode(pkt.pk, z32);
		/* re-parse against the signer's key */
		is_int(pkarr_zone_to_dns(zone, pkt.pk, 300, dns, sizeof(dns),
					 &len, err, sizeof(err)),
		       0, "zone for the signer's key");
		is_int(pkarr_packet_sign(&pkt, seed, 5, dns, len), 0, "sign");
		m = open_memstream(&txt, &tlen);
		is_int(pkarr_packet_print_zone(m, &pkt), 0, "print");
		fclose(m);
		ok(txt && strstr(txt, "\nsub.deep\t7200\tIN\tMX") != NULL,
		   "relative names printed");
		ok(txt && strstr(txt, "\n@\t60\tIN\tA\t10.0.0.1") == NULL &&
			   strstr(txt, "\n@\t60\tIN\tA 10.0.0.1\n") != NULL,
		   "apex printed as @");
		is_int(pkarr_zone_to_dns(txt, pkt.pk, 300, dns2, sizeof(dns2),
					 &len2, err, sizeof(err)),
		       0, "printed zone parses again (%s)", err);
		ok(len2 == len && memcmp(dns, dns2, len) == 0,
		   "and gives the same bytes");
		(void)back;
		free(txt);
	}
}

/* Found by fuzz_pkarr_zone: ldns reads "TYPE65536" as type 65536, which
 * the wire form stores as 0; and an owner with '"', '(', ')' or ';' was
 * printed bare, so the printed zone read back as something else. */
static void
test_fuzz_finds(void)
{
	uint8_t seed[32] = {2}, dns[1000], dns2[1000];
	size_t len = 0, len2 = 0, tlen = 0;
	char err[200], *txt = NULL;
	struct pkarr_packet pkt;
	FILE *m;

	is_int(pkarr_zone_to_dns("@ TYPE65536 \\# 0\n", seed, 300, dns, sizeof(dns),
				 &len, err, sizeof(err)),
	       PKARR_E_INVAL, "TYPE65536 refused (%s)", err);
	/* the signer's key first: names must end in it */
	is_int(pkarr_zone_to_dns("@ A 1.2.3.4\n", seed, 300, dns, sizeof(dns), &len, err,
				 sizeof(err)), 0, "a zone to learn the signer's key");
	is_int(pkarr_packet_sign(&pkt, seed, 5, dns, len), 0, "sign it");
	/* fuzz_pkarr_zone's input, less its control byte: the owner is '"' */
	is_int(pkarr_zone_to_dns("\" TXT ,\n TXT \";", pkt.pk, 300, dns,
				 sizeof(dns), &len, err, sizeof(err)),
	       0, "an owner that is a quote (%s)", err);
	is_int(pkarr_packet_sign(&pkt, seed, 5, dns, len), 0, "sign");
	m = open_memstream(&txt, &tlen);
	is_int(pkarr_packet_print_zone(m, &pkt), 0, "print");
	fclose(m);
	is_int(pkarr_zone_to_dns(txt, pkt.pk, 300, dns2, sizeof(dns2), &len2, err,
				 sizeof(err)),
	       0, "printed zone parses again (%s)", err);
	ok(len2 == len && memcmp(dns, dns2, len) == 0, "and gives the same bytes");
	free(txt);
}

static void
test_errors(void)
{
	uint8_t pk[32] = {3}, dns[2000];
	size_t len = 0;
	char err[200], big[8192];
	int n = 0;

	is_int(pkarr_zone_to_dns("example.com. A 1.2.3.4\n", pk, 300, dns,
				 sizeof(dns), &len, err, sizeof(err)),
	       PKARR_E_INVAL, "name outside the key refused");
	ok(strstr(err, "line 1:") && strstr(err, "not under the key"),
	   "message: %s", err);
	is_int(pkarr_zone_to_dns("@ A 1.2.3.4\nwww A not-an-ip\n", pk, 300,
				 dns, sizeof(dns), &len, err, sizeof(err)),
	       PKARR_E_INVAL, "bad rdata refused");
	ok(strstr(err, "line 2:") != NULL, "message names line 2: %s", err);
	is_int(pkarr_zone_to_dns("$INCLUDE /etc/passwd\n", pk, 300, dns,
				 sizeof(dns), &len, err, sizeof(err)),
	       PKARR_E_INVAL, "$INCLUDE refused");
	for (int i = 0; i < 12; i++)
		n += snprintf(big + n, sizeof(big) - (size_t)n,
			      "t%d TXT \"%0100d\"\n", i, i);
	is_int(pkarr_zone_to_dns(big, pk, 300, dns, sizeof(dns), &len, err,
				 sizeof(err)),
	       PKARR_E_SIZE, "over 1000 bytes refused");
	ok(strstr(err, "1000") != NULL, "message: %s", err);
	is_int(pkarr_zone_to_dns("", pk, 300, dns, sizeof(dns), &len, err,
				 sizeof(err)),
	       0, "empty zone is fine");
	is_int(len, 12, "header only");
	is_int(pkarr_zone_to_dns("@ A 1.2.3.4\n", pk, 300, dns, 12, &len, err,
				 sizeof(err)),
	       PKARR_E_SPACE, "small buffer");
}

int
main(void)
{
	test_vector_zone();
	test_features();
	test_errors();
	test_fuzz_finds();
	return tap_done();
}
