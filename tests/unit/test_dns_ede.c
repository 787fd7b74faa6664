/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_dns_ede.c -- unit tests for src/dns/ede.h: the EDE option goes
 * into the OPT record at its end (OPTION-CODE 15, INFO-CODE, EXTRA-TEXT
 * without a NUL, RDLEN updated), long texts are cut at a UTF-8 boundary,
 * and a message whose last record is not the OPT is left alone.
 */
#include "config.h"

#include <string.h>

#include <ldns/ldns.h>

#include "dns/ede.h"
#include "dns/msg.h"
#include "tap.h"

/* An error reply with OPT to a query for example.com A. */
static size_t
reply(uint8_t *buf, size_t cap, bool edns)
{
	struct dns_msginfo mi;
	static const uint8_t name[] = "\7example\3com";

	memset(&mi, 0, sizeof(mi));
	mi.id = 0x1234;
	mi.has_question = true;
	memcpy(mi.qname, name, sizeof(name));
	mi.qname_len = sizeof(name);
	mi.qtype = 1;
	mi.qclass = 1;
	mi.edns = edns;
	return dns_msg_error(&mi, DNS_RCODE_SERVFAIL, buf, cap, 1232);
}

int
main(void)
{
	uint8_t buf[512];
	size_t len = reply(buf, sizeof(buf), true), l;
	ldns_pkt *pkt = NULL;

	ok(len > 11, "an error reply with OPT");
	l = dns_ede_append(buf, len, sizeof(buf), len - 11, DNS_EDE_NO_REACHABLE_AUTHORITY,
	    "DHT unreachable");
	is_int(l, len + 6 + 15, "the option adds 4 + 2 + the text's length");
	is_int(dns_get16(buf + len - 2), 6 + 15, "OPT RDLEN covers the option");
	is_int(dns_get16(buf + len), 15, "OPTION-CODE 15");
	is_int(dns_get16(buf + len + 2), 2 + 15, "OPTION-LENGTH");
	is_int(dns_get16(buf + len + 4), 22, "INFO-CODE 22");
	is_mem(buf + len + 6, "DHT unreachable", 15, "EXTRA-TEXT, no NUL");
	ok(ldns_wire2pkt(&pkt, buf, l) == LDNS_STATUS_OK && pkt && ldns_pkt_edns(pkt) &&
	    ldns_rdf_size(ldns_pkt_edns_data(pkt)) == 21, "ldns reads the OPT and its option");
	ldns_pkt_free(pkt);

	/* a second option follows the first */
	size_t l2 = dns_ede_append(buf, l, sizeof(buf), len - 11, DNS_EDE_OTHER, NULL);
	is_int(l2, l + 6, "a second EDE without text: 6 bytes");
	is_int(dns_get16(buf + len - 2), 6 + 15 + 6, "RDLEN grows again");

	/* no text */
	len = reply(buf, sizeof(buf), true);
	l = dns_ede_append(buf, len, sizeof(buf), len - 11, DNS_EDE_STALE_ANSWER, NULL);
	is_int(l, len + 6, "no EXTRA-TEXT: 6 bytes");
	is_int(dns_get16(buf + len + 4), 3, "INFO-CODE 3");

	/* cut at DNS_EDE_TEXT_MAX, never inside a UTF-8 sequence */
	char text[200];
	memset(text, 'a', sizeof(text));
	text[DNS_EDE_TEXT_MAX - 1] = (char)0xc3; /* two-byte sequence across the cut */
	text[DNS_EDE_TEXT_MAX] = (char)0xa9;
	text[sizeof(text) - 1] = '\0';
	len = reply(buf, sizeof(buf), true);
	l = dns_ede_append(buf, len, sizeof(buf), len - 11, DNS_EDE_OTHER, text);
	is_int(l, len + 6 + DNS_EDE_TEXT_MAX - 1, "long text cut before the split sequence");

	/* refusals */
	len = reply(buf, sizeof(buf), true);
	is_int(dns_ede_append(buf, len, sizeof(buf), len - 12, 0, NULL), 0,
	    "no OPT at the offset: refused");
	is_int(dns_ede_append(buf, len, len + 5, len - 11, 0, NULL), 0,
	    "no room: refused");
	is_int(dns_ede_append(buf, len, sizeof(buf), len, 0, NULL), 0, "offset past the end");
	len = reply(buf, sizeof(buf), false);
	is_int(dns_ede_append(buf, len, sizeof(buf), len - 11, 0, NULL), 0,
	    "a reply without OPT gets no EDE");
	ok(strcmp(dns_ede_name(DNS_EDE_DNSSEC_BOGUS), "DNSSEC Bogus") == 0, "names for logs");
	return tap_done();
}
