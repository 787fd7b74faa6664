/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_dns_query.c -- libFuzzer target for the front end's query parser
 * (dns_msg_parse_query) and error replies (dns_msg_error), with the name
 * helpers, OPT append and truncation run over what the parser accepts.
 *
 * Not built by make: build by hand, e.g.
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -I<dir with an empty config.h> -Isrc tests/fuzz/fuzz_dns_query.c \
 *     src/dns/msg.c -o fuzz_dns_query
 *   ./fuzz_dns_query -max_total_time=120
 *
 * Besides memory safety it checks: the result is one of the documented
 * codes; a parsed question is a valid lower-case name inside the input;
 * an error reply fits its buffer (or is refused), echoes ID and question,
 * is never itself answered (QR=1) and, with QR cleared, parses back to
 * the same question and EDNS flags.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns/msg.h"
#include "../unit/testutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_question(const uint8_t *data, size_t size, const struct dns_msginfo *mi)
{
	char text[4 * DNS_MAX_NAME + 2];
	const uint8_t *label;
	size_t ll;
	unsigned labels;

	tu_check(mi->qname_len >= 1 && mi->qname_len <= DNS_MAX_NAME);
	tu_check(mi->question_end == DNS_HDR_LEN + mi->qname_len + 4);
	tu_check(mi->question_end <= size);
	tu_check(dns_msg_skip_name(data, size, DNS_HDR_LEN) == DNS_HDR_LEN + mi->qname_len);
	tu_check(mi->qname[mi->qname_len - 1] == 0);
	for (size_t i = 0; i < mi->qname_len; i++)
		tu_check(mi->qname[i] == dns_lower(data[DNS_HDR_LEN + i]));
	labels = dns_name_labels(mi->qname, mi->qname_len);
	tu_check(labels <= 127);
	for (unsigned i = 0; i < labels; i++) {
		tu_check(dns_name_label_from_end(mi->qname, mi->qname_len, i, &label, &ll) == 0);
		tu_check(ll >= 1 && ll <= 63);
		tu_check(label > mi->qname && label + ll < mi->qname + mi->qname_len);
	}
	tu_check(dns_name_label_from_end(mi->qname, mi->qname_len, labels, &label, &ll) == -1);
	tu_check(dns_name_to_str(mi->qname, mi->qname_len, text, sizeof(text)) == 0);
	tu_check(strlen(text) < sizeof(text));
	/* every smaller buffer is refused or holds a terminated string */
	for (size_t cap = 0; cap < strlen(text) + 1; cap++) {
		char small[sizeof(text)];
		memset(small, 'Z', sizeof(small));
		int r = dns_name_to_str(mi->qname, mi->qname_len, small, cap);
		tu_check(r == -1);
		tu_check(small[cap] == 'Z');
	}
}

static void
check_reply(const struct dns_msginfo *mi, int rcode)
{
	uint8_t out[600], back[600];
	size_t len, l;
	struct dns_msginfo mi2;

	len = dns_msg_error(mi, rcode, out, sizeof(out), 1232);
	tu_check(len >= DNS_HDR_LEN && len <= sizeof(out));
	tu_check(dns_get16(out) == mi->id);
	tu_check(out[2] & 0x80);
	tu_check(dns_msg_rcode(out, len) == (rcode & 0x0f));
	/* a reply is never answered */
	tu_check(dns_msg_parse_query(out, len, &mi2) == -1);
	if (mi->has_question && mi->opcode == 0) {
		memcpy(back, out, len);
		back[2] &= 0x7f;
		tu_check(dns_msg_parse_query(back, len, &mi2) == 0);
		tu_check(mi2.qname_len == mi->qname_len &&
		    memcmp(mi2.qname, mi->qname, mi->qname_len) == 0);
		tu_check(mi2.qtype == mi->qtype && mi2.qclass == mi->qclass && mi2.id == mi->id);
		tu_check(mi2.edns == mi->edns && mi2.do_bit == mi->do_bit);
		if (mi->edns)
			tu_check(mi2.udp_size == 1232);
	}
	/* every smaller buffer: refused, or a reply that fits */
	for (size_t cap = 0; cap < len; cap++) {
		memset(back, 0xee, sizeof(back));
		l = dns_msg_error(mi, rcode, back, cap, 1232);
		tu_check(l == 0 || (l >= DNS_HDR_LEN && l <= cap));
		tu_check(back[cap] == 0xee);
	}
	/* OPT append and truncation on the reply */
	l = dns_msg_add_opt(out, len, sizeof(out), 4096, true, 0);
	tu_check(l == len + 11);
	tu_check(dns_get16(out + 10) == (uint16_t)(mi->edns ? 2 : 1));
	l = dns_msg_truncate(out, mi->has_question ? mi->question_end : DNS_HDR_LEN);
	tu_check(out[2] & 0x02);
	tu_check(dns_get16(out + 6) == 0 && dns_get16(out + 8) == 0 && dns_get16(out + 10) == 0);
	(void)l;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_msginfo mi;
	int rc;
	uint8_t *copy;

	/* an exact-size heap copy, so that ASan sees any read past size */
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	rc = dns_msg_parse_query(copy, size, &mi);
	tu_check(rc == -1 || rc == 0 || rc == DNS_RCODE_FORMERR || rc == DNS_RCODE_NOTIMP ||
	    rc == DNS_RCODE_BADVERS);
	tu_check(mi.udp_size >= 512);
	if (rc == -1) {
		tu_check(size < DNS_HDR_LEN || (copy[2] & 0x80));
		free(copy);
		return 0;
	}
	tu_check(mi.id == dns_get16(copy));
	if (rc == 0)
		tu_check(mi.has_question && mi.opcode == 0);
	/* BADVERS wins over NOTIMP for an unknown opcode (RFC 6891 6.1.3) */
	if (rc == DNS_RCODE_BADVERS)
		tu_check(mi.has_question && mi.edns && mi.edns_version != 0);
	if (rc == DNS_RCODE_NOTIMP)
		tu_check(mi.opcode != 0 && !(mi.edns && mi.edns_version != 0));
	if (rc == 0 && mi.edns)
		tu_check(mi.edns_version == 0);
	if (mi.has_question)
		check_question(copy, size, &mi);
	for (size_t off = 0; off <= size + 1; off++) {
		size_t e = dns_msg_skip_name(copy, size, off);
		tu_check(e == 0 || (e > off && e <= size));
	}
	check_reply(&mi, rc ? rc : DNS_RCODE_REFUSED);
	check_reply(&mi, DNS_RCODE_SERVFAIL);
	free(copy);
	return 0;
}
