/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_rebind.c -- unit tests for src/dns/rebind.h, unbound's
 * private-address semantics: private A/AAAA records are removed from
 * every section, the rest of the RRset stays, an answer left empty stays
 * NOERROR (NODATA), names at or under a private domain keep theirs, a
 * CNAME target outside the private domain does not, IPv4-mapped IPv6
 * counts as IPv4, SVCB/HTTPS address hints count, AD is cleared, a
 * message with nothing to remove is not touched, and an address record
 * of the wrong size fails the message.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "dns/rebind.h"
#include "tap.h"

#define CAP 4096

/* A response to QNAME QTYPE holding the records (";"-separated, each
 * prefixed "an ", "ns " or "ar " for its section). */
static size_t
build(uint8_t *out, const char *qname, const char *qtype, const char *records, bool ad)
{
	ldns_pkt *pkt = NULL;
	char *copy = strdup(records), *save = NULL;
	uint8_t *wire = NULL;
	size_t len = 0;

	ldns_pkt_query_new_frm_str(&pkt, qname, ldns_get_rr_type_by_name(qtype), LDNS_RR_CLASS_IN,
	    LDNS_RD);
	ldns_pkt_set_qr(pkt, true);
	ldns_pkt_set_ra(pkt, true);
	ldns_pkt_set_ad(pkt, ad);
	ldns_pkt_set_id(pkt, 4321);
	for (char *r = strtok_r(copy, ";", &save); r; r = strtok_r(NULL, ";", &save)) {
		ldns_rr *rr = NULL;
		ldns_pkt_section sec = !strncmp(r, "ns ", 3) ? LDNS_SECTION_AUTHORITY
		    : !strncmp(r, "ar ", 3) ? LDNS_SECTION_ADDITIONAL : LDNS_SECTION_ANSWER;
		if (ldns_rr_new_frm_str(&rr, r + 3, 300, NULL, NULL) != LDNS_STATUS_OK) {
			printf("# bad record %s\n", r);
			exit(1);
		}
		ldns_pkt_push_rr(pkt, sec, rr);
	}
	ldns_pkt2wire(&wire, pkt, &len);
	memcpy(out, wire, len);
	free(wire);
	free(copy);
	ldns_pkt_free(pkt);
	return len;
}

/* The records of one section of msg, as "TYPE RDATA" lines joined by
 * "|", sorted as they come. */
static void
records(const uint8_t *msg, size_t len, ldns_pkt_section sec, char *out, size_t cap)
{
	ldns_pkt *pkt = NULL;
	ldns_rr_list *l;

	out[0] = '\0';
	if (ldns_wire2pkt(&pkt, msg, len) != LDNS_STATUS_OK) {
		snprintf(out, cap, "unparseable");
		return;
	}
	l = ldns_pkt_get_section_clone(pkt, sec);
	for (size_t i = 0; l && i < ldns_rr_list_rr_count(l); i++) {
		ldns_rr *rr = ldns_rr_list_rr(l, i);
		char *o = ldns_rdf2str(ldns_rr_owner(rr));
		char *t = ldns_rr_type2str(ldns_rr_get_type(rr));
		char *d = ldns_rdf2str(ldns_rr_rdf(rr, 0));
		snprintf(out + strlen(out), cap - strlen(out), "%s%s %s %s", i ? "|" : "", o, t, d);
		free(o);
		free(t);
		free(d);
	}
	ldns_rr_list_deep_free(l);
	ldns_pkt_free(pkt);
}

static void
prefix(struct rebind_policy *p, const char *s)
{
	struct netprefix pfx;
	if (netprefix_parse(s, &pfx) < 0 || rebind_add_prefix(p, &pfx) < 0) {
		printf("# bad prefix %s\n", s);
		exit(1);
	}
}

int
main(void)
{
	static struct rebind_policy pol;
	uint8_t msg[CAP], orig[CAP];
	char got[2048];
	unsigned removed;
	size_t len;
	long n;

	memset(&pol, 0, sizeof(pol));
	len = build(msg, "www.example.com.", "A", "an www.example.com. IN A 1.2.3.4", false);
	is_int(rebind_filter(&pol, msg, len, CAP, &removed), len, "no prefixes: untouched");
	ok(!rebind_active(&pol), "no prefixes: not active");

	prefix(&pol, "10.0.0.0/8");
	prefix(&pol, "192.168.0.0/16");
	prefix(&pol, "fd00::/8");
	ok(rebind_add_domain(&pol, "example.net") == 0, "private-domain example.net");
	ok(rebind_add_domain(&pol, "") < 0, "an empty domain refused");
	ok(rebind_active(&pol), "active");

	/* one private address in a set of two */
	len = build(msg, "www.example.com.", "A",
	    "an www.example.com. IN A 192.168.1.1;an www.example.com. IN A 1.2.3.4", true);
	n = rebind_filter(&pol, msg, len, CAP, &removed);
	ok(n > 0, "filtered");
	is_int(removed, 1, "one record removed");
	records(msg, (size_t)n, LDNS_SECTION_ANSWER, got, sizeof(got));
	ok(strcmp(got, "www.example.com. A 1.2.3.4") == 0, "the public address stays: %s", got);
	ok(!(msg[3] & 0x20), "AD cleared");
	is_int(dns_get16(msg), 4321, "ID kept");

	/* only private: NODATA, as unbound */
	len = build(msg, "www.example.com.", "A",
	    "an www.example.com. IN A 10.1.2.3;ns example.com. IN NS ns.example.com.;"
	    "ar ns.example.com. IN A 192.0.2.53", false);
	n = rebind_filter(&pol, msg, len, CAP, &removed);
	records(msg, (size_t)n, LDNS_SECTION_ANSWER, got, sizeof(got));
	ok(n > 0 && strcmp(got, "") == 0, "every address private: empty answer");
	is_int(msg[3] & 0x0f, 0, "rcode stays NOERROR");
	records(msg, (size_t)n, LDNS_SECTION_AUTHORITY, got, sizeof(got));
	ok(strcmp(got, "example.com. NS ns.example.com.") == 0, "authority kept: %s", got);
	records(msg, (size_t)n, LDNS_SECTION_ADDITIONAL, got, sizeof(got));
	ok(strcmp(got, "ns.example.com. A 192.0.2.53") == 0, "public glue kept: %s", got);

	/* glue in the additional section too */
	len = build(msg, "example.com.", "NS",
	    "an example.com. IN NS ns.example.com.;ar ns.example.com. IN A 10.0.0.53", false);
	n = rebind_filter(&pol, msg, len, CAP, &removed);
	records(msg, (size_t)n, LDNS_SECTION_ADDITIONAL, got, sizeof(got));
	ok(removed == 1 && strcmp(got, "") == 0, "private glue removed from additional");

	/* nothing private: the very same bytes */
	len = build(msg, "www.example.com.", "A", "an www.example.com. IN A 1.2.3.4", true);
	memcpy(orig, msg, len);
	n = rebind_filter(&pol, msg, len, CAP, &removed);
	ok(n == (long)len && removed == 0 && memcmp(orig, msg, len) == 0,
	    "nothing private: untouched (AD too)");

	/* private domain and its subdomains keep theirs */
	len = build(msg, "nas.home.example.net.", "A", "an nas.home.example.net. IN A 192.168.1.5",
	    false);
	n = rebind_filter(&pol, msg, len, CAP, &removed);
	ok(n == (long)len && removed == 0, "a name under a private-domain keeps its address");
	len = build(msg, "example.net.", "A", "an EXAMPLE.net. IN A 192.168.1.5", false);
	n = rebind_filter(&pol, msg, len, CAP, &removed);
	ok(n == (long)len && removed == 0, "the private-domain itself, any case");
	len = build(msg, "badexample.net.", "A", "an badexample.net. IN A 192.168.1.5", false);
	n = rebind_filter(&pol, msg, len, CAP, &removed);
	is_int(removed, 1, "a name merely ending in the same letters is not under it");

	/* CNAME out of the private domain: the target's address is removed */
	len = build(msg, "www.example.net.", "A",
	    "an www.example.net. IN CNAME evil.example.com.;an evil.example.com. IN A 10.9.9.9",
	    false);
	n = rebind_filter(&pol, msg, len, CAP, &removed);
	records(msg, (size_t)n, LDNS_SECTION_ANSWER, got, sizeof(got));
	ok(removed == 1 && strcmp(got, "www.example.net. CNAME evil.example.com.") == 0,
	    "the CNAME's target outside the domain loses its private address: %s", got);

	/* IPv6, and IPv4-mapped IPv6 against the IPv4 prefixes */
	len = build(msg, "v6.example.com.", "AAAA",
	    "an v6.example.com. IN AAAA fd12::1;an v6.example.com. IN AAAA ::ffff:192.168.0.1;"
	    "an v6.example.com. IN AAAA 2001:db8::1", false);
	n = rebind_filter(&pol, msg, len, CAP, &removed);
	records(msg, (size_t)n, LDNS_SECTION_ANSWER, got, sizeof(got));
	ok(removed == 2 && strcmp(got, "v6.example.com. AAAA 2001:db8::1") == 0,
	    "ULA and IPv4-mapped private removed: %s", got);

	/* HTTPS with a private ipv4hint (key 4), as generic rdata:
	 * priority 1, target ".", ipv4hint=10.0.0.1 */
	len = build(msg, "h.example.com.", "HTTPS",
	    "an h.example.com. IN TYPE65 \\# 11 0001 00 0004 0004 0a000001;"
	    "an h.example.com. IN TYPE65 \\# 11 0001 00 0004 0004 01020304", false);
	n = rebind_filter(&pol, msg, len, CAP, &removed);
	is_int(removed, 1, "HTTPS record with a private ipv4hint removed, the public one kept");
	len = build(msg, "h.example.com.", "HTTPS",
	    "an h.example.com. IN TYPE65 \\# 23 0001 00 0006 0010 fd000000000000000000000000000001",
	    false);
	n = rebind_filter(&pol, msg, len, CAP, &removed);
	is_int(removed, 1, "HTTPS record with a private ipv6hint removed");

	/* malformed */
	len = build(msg, "www.example.com.", "A", "an www.example.com. IN A 10.1.2.3", false);
	is_int(rebind_filter(&pol, msg, len - 3, CAP, &removed), -1, "a cut message: -1");
	msg[len - 16] = 0xc0; /* the owner: a pointer to itself */
	msg[len - 15] = (uint8_t)(len - 16);
	is_int(rebind_filter(&pol, msg, len, CAP, &removed), -1, "a pointer loop: -1");
	len = build(msg, "www.example.com.", "A",
	    "an www.example.com. IN A 10.1.2.3;an www.example.com. IN A 1.1.1.1", false);
	is_int(rebind_filter(&pol, msg, len, 20, &removed), -1, "does not fit: -1");

	/* found by fuzz_rebind: an AAAA of 17 bytes, which ldns would have
	 * repaired into a private 16-byte address after the scan skipped it */
	static const uint8_t odd[] = {
		0x00, 0x01, 0x81, 0x80, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
		0x01, 'x', 0x00, 0x00, 0x1c, 0x00, 0x01,
		0xc0, 0x0c, 0x00, 0x1c, 0x00, 0x01, 0x00, 0x00, 0x01, 0x2c, 0x00, 0x11,
		0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xaa,
	};
	memcpy(msg, odd, sizeof(odd));
	is_int(rebind_filter(&pol, msg, sizeof(odd), CAP, &removed), -1,
	    "an AAAA record of the wrong size: -1, not passed on");
	return tap_done();
}
