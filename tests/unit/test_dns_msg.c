/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_dns_msg.c -- unit tests for src/dns/msg.h: the bounded query parser
 * (header, question, OPT of RFC 1035 section 4.1 and RFC 6891 section 6),
 * error replies, OPT append, truncation and the name helpers.
 *
 * Queries are written byte by byte here so that the tests do not share
 * any code with the parser they check.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "dns/msg.h"
#include "tap.h"

/* A query under construction. */
struct q {
	uint8_t b[1024];
	size_t len;
};

static void
put8(struct q *q, uint8_t v)
{
	q->b[q->len++] = v;
}

static void
put16(struct q *q, uint16_t v)
{
	put8(q, (uint8_t)(v >> 8));
	put8(q, (uint8_t)v);
}

static void
putmem(struct q *q, const void *p, size_t n)
{
	memcpy(q->b + q->len, p, n);
	q->len += n;
}

static void
header(struct q *q, uint16_t id, uint8_t flags2, uint8_t flags3, uint16_t qd, uint16_t an,
    uint16_t ns, uint16_t ar)
{
	q->len = 0;
	put16(q, id);
	put8(q, flags2);
	put8(q, flags3);
	put16(q, qd);
	put16(q, an);
	put16(q, ns);
	put16(q, ar);
}

/* "www.Example.COM" in wire format, 17 bytes with the root label. */
static const uint8_t NAME_MIXED[] = "\3www\7Example\3COM";
static const uint8_t NAME_LOWER[] = "\3www\7example\3com";
#define NAME_LEN 17

/* Header + www.Example.COM A IN, RD set; ar records follow when ar > 0. */
static void
std_query(struct q *q, uint16_t ar)
{
	header(q, 0xbeef, 0x01, 0x00, 1, 0, 0, ar);
	putmem(q, NAME_MIXED, NAME_LEN);
	put16(q, 1);
	put16(q, 1);
}

/* An OPT record: root owner, size, ext-rcode, version, flags, options. */
static void
opt(struct q *q, uint16_t size, uint8_t ver, bool do_bit, const uint8_t *rdata, uint16_t rdlen)
{
	put8(q, 0);
	put16(q, DNS_TYPE_OPT);
	put16(q, size);
	put8(q, 0);
	put8(q, ver);
	put8(q, do_bit ? 0x80 : 0);
	put8(q, 0);
	put16(q, rdlen);
	if (rdlen)
		putmem(q, rdata, rdlen);
}

static void
test_parse_basic(void)
{
	struct q q;
	struct dns_msginfo mi;

	std_query(&q, 0);
	is_int(dns_msg_parse_query(q.b, q.len, &mi), 0, "plain query parses");
	is_int(mi.id, 0xbeef, "id");
	is_int(mi.opcode, 0, "opcode 0");
	ok(mi.rd && !mi.cd && !mi.ad, "RD set, CD and AD clear");
	ok(mi.has_question, "has_question");
	is_int(mi.qname_len, NAME_LEN, "qname length");
	is_mem(mi.qname, NAME_LOWER, NAME_LEN, "qname lower-cased");
	is_int(mi.qtype, 1, "qtype A");
	is_int(mi.qclass, 1, "qclass IN");
	is_int(mi.question_end, DNS_HDR_LEN + NAME_LEN + 4, "question_end");
	ok(!mi.edns && !mi.do_bit, "no EDNS");
	is_int(mi.udp_size, 512, "udp_size 512 without EDNS");

	/* AD and CD bits, RD clear */
	std_query(&q, 0);
	q.b[2] = 0x00;
	q.b[3] = 0x30;
	is_int(dns_msg_parse_query(q.b, q.len, &mi), 0, "AD+CD query parses");
	ok(!mi.rd && mi.ad && mi.cd, "AD and CD read, RD clear");

	/* root name, type ANY */
	header(&q, 7, 0, 0, 1, 0, 0, 0);
	put8(&q, 0);
	put16(&q, DNS_TYPE_ANY);
	put16(&q, 1);
	is_int(dns_msg_parse_query(q.b, q.len, &mi), 0, "root ANY parses");
	is_int(mi.qname_len, 1, "root qname is one byte");
	is_int(mi.qtype, DNS_TYPE_ANY, "qtype ANY");

	/* bytes after the question with ARCOUNT 0 are ignored */
	std_query(&q, 0);
	put16(&q, 0xdead);
	is_int(dns_msg_parse_query(q.b, q.len, &mi), 0, "trailing bytes ignored");
}

static void
test_parse_no_reply(void)
{
	struct q q;
	struct dns_msginfo mi;

	std_query(&q, 0);
	is_int(dns_msg_parse_query(q.b, 0, &mi), -1, "empty: no reply");
	is_int(dns_msg_parse_query(q.b, 11, &mi), -1, "11 bytes: no reply");
	q.b[2] |= 0x80;
	is_int(dns_msg_parse_query(q.b, q.len, &mi), -1, "QR=1: no reply");
	is_int(dns_msg_parse_query(q.b, DNS_HDR_LEN, &mi), -1, "QR=1 header only: no reply");
}

static void
test_parse_errors(void)
{
	struct q q;
	struct dns_msginfo mi;

	/* opcodes other than QUERY */
	for (unsigned op = 1; op < 16; op++) {
		std_query(&q, 0);
		q.b[2] = (uint8_t)((op << 3) | 1);
		int rc = dns_msg_parse_query(q.b, q.len, &mi);
		if (rc != DNS_RCODE_NOTIMP || mi.opcode != op) {
			is_int(rc, DNS_RCODE_NOTIMP, "opcode %u: NOTIMP", op);
			return;
		}
	}
	ok(1, "opcodes 1..15: NOTIMP with the opcode kept");
	ok(mi.id == 0xbeef && mi.rd, "NOTIMP: id and RD kept for the reply");

	header(&q, 1, 0, 0, 0, 0, 0, 0);
	is_int(dns_msg_parse_query(q.b, q.len, &mi), DNS_RCODE_FORMERR, "QDCOUNT 0: FORMERR");
	ok(!mi.has_question, "QDCOUNT 0: no question");

	std_query(&q, 0);
	q.b[5] = 2;
	putmem(&q, NAME_MIXED, NAME_LEN);
	put16(&q, 1);
	put16(&q, 1);
	is_int(dns_msg_parse_query(q.b, q.len, &mi), DNS_RCODE_FORMERR, "QDCOUNT 2: FORMERR");
	ok(!mi.has_question, "QDCOUNT 2: no question echoed");
	is_int(mi.id, 0xbeef, "QDCOUNT 2: id kept");

	std_query(&q, 0);
	q.b[7] = 1;
	is_int(dns_msg_parse_query(q.b, q.len, &mi), DNS_RCODE_FORMERR, "ANCOUNT 1: FORMERR");
	ok(mi.has_question && mi.qtype == 1, "ANCOUNT 1: question kept for the reply");
	std_query(&q, 0);
	q.b[9] = 1;
	is_int(dns_msg_parse_query(q.b, q.len, &mi), DNS_RCODE_FORMERR, "NSCOUNT 1: FORMERR");

	/* every cut of the question is FORMERR, never a read past len */
	std_query(&q, 0);
	int bad = 0;
	for (size_t l = DNS_HDR_LEN; l < q.len; l++)
		if (dns_msg_parse_query(q.b, l, &mi) != DNS_RCODE_FORMERR)
			bad++;
	is_int(bad, 0, "every truncated question: FORMERR");

	/* compression pointer in the question */
	header(&q, 1, 0, 0, 1, 0, 0, 0);
	put8(&q, 0xc0);
	put8(&q, 12);
	put16(&q, 1);
	put16(&q, 1);
	is_int(dns_msg_parse_query(q.b, q.len, &mi), DNS_RCODE_FORMERR, "pointer in qname: FORMERR");

	/* 0x40 / 0x80 label types (and so lengths > 63) */
	header(&q, 1, 0, 0, 1, 0, 0, 0);
	put8(&q, 0x40);
	for (int i = 0; i < 64; i++)
		put8(&q, 'a');
	put8(&q, 0);
	put16(&q, 1);
	put16(&q, 1);
	is_int(dns_msg_parse_query(q.b, q.len, &mi), DNS_RCODE_FORMERR, "64-byte label: FORMERR");
	q.b[DNS_HDR_LEN] = 0x80;
	is_int(dns_msg_parse_query(q.b, q.len, &mi), DNS_RCODE_FORMERR, "0x80 label: FORMERR");

	/* name length: 255 bytes are fine, 256 are not. 4 x (1+62) = 252,
	 * + a 2-byte label + root = 255. */
	header(&q, 1, 0, 0, 1, 0, 0, 0);
	for (int l = 0; l < 4; l++) {
		put8(&q, 62);
		for (int i = 0; i < 62; i++)
			put8(&q, 'A');
	}
	put8(&q, 1);
	put8(&q, 'B');
	put8(&q, 0);
	put16(&q, 16);
	put16(&q, 1);
	is_int(dns_msg_parse_query(q.b, q.len, &mi), 0, "255-byte qname parses");
	is_int(mi.qname_len, 255, "255-byte qname length");
	ok(mi.qname[1] == 'a' && mi.qname[253] == 'b', "long qname lower-cased");
	is_int(mi.qtype, 16, "qtype after a long name");
	header(&q, 1, 0, 0, 1, 0, 0, 0);
	for (int l = 0; l < 4; l++) {
		put8(&q, 62);
		for (int i = 0; i < 62; i++)
			put8(&q, 'a');
	}
	put8(&q, 2);
	put8(&q, 'b');
	put8(&q, 'c');
	put8(&q, 0);
	put16(&q, 1);
	put16(&q, 1);
	is_int(dns_msg_parse_query(q.b, q.len, &mi), DNS_RCODE_FORMERR, "256-byte qname: FORMERR");
}

static void
test_parse_edns(void)
{
	struct q q;
	struct dns_msginfo mi;
	static const uint8_t cookie[] = { 0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8 };

	std_query(&q, 1);
	opt(&q, 4096, 0, true, NULL, 0);
	is_int(dns_msg_parse_query(q.b, q.len, &mi), 0, "OPT query parses");
	ok(mi.edns && mi.do_bit, "EDNS and DO");
	is_int(mi.udp_size, 4096, "udp_size from OPT");
	is_int(mi.edns_version, 0, "version 0");
	is_int(mi.question_end, DNS_HDR_LEN + NAME_LEN + 4, "question_end before OPT");

	std_query(&q, 1);
	opt(&q, 100, 0, false, NULL, 0);
	is_int(dns_msg_parse_query(q.b, q.len, &mi), 0, "OPT size 100 parses");
	ok(mi.edns && !mi.do_bit, "EDNS without DO");
	is_int(mi.udp_size, 512, "udp_size below 512 raised to 512");

	std_query(&q, 1);
	opt(&q, 1232, 0, false, cookie, sizeof(cookie));
	is_int(dns_msg_parse_query(q.b, q.len, &mi), 0, "OPT with a cookie option parses");
	is_int(mi.udp_size, 1232, "udp_size 1232");

	std_query(&q, 1);
	opt(&q, 1232, 1, false, NULL, 0);
	is_int(dns_msg_parse_query(q.b, q.len, &mi), DNS_RCODE_BADVERS, "EDNS version 1: BADVERS");
	ok(mi.edns && mi.edns_version == 1 && mi.has_question, "BADVERS: EDNS and question known");

	/* an unknown opcode AND an unknown EDNS version: BADVERS first
	 * (RFC 6891 section 6.1.3 "MUST respond with BADVERS", the way Knot
	 * does; the message cannot be read under a version we do not know,
	 * and the client learns to fall back to version 0) */
	std_query(&q, 1);
	opt(&q, 1232, 1, false, NULL, 0);
	q.b[2] = (uint8_t)((5 << 3) | 1);
	is_int(dns_msg_parse_query(q.b, q.len, &mi), DNS_RCODE_BADVERS,
	    "opcode 5 with EDNS version 1: BADVERS");
	ok(mi.opcode == 5 && mi.edns_version == 1, "  ... opcode kept for the reply");
	std_query(&q, 1);
	opt(&q, 1232, 0, false, NULL, 0);
	q.b[2] = (uint8_t)((5 << 3) | 1);
	is_int(dns_msg_parse_query(q.b, q.len, &mi), DNS_RCODE_NOTIMP,
	    "opcode 5 with EDNS version 0: NOTIMP");

	std_query(&q, 2);
	opt(&q, 1232, 0, false, NULL, 0);
	opt(&q, 1232, 0, false, NULL, 0);
	is_int(dns_msg_parse_query(q.b, q.len, &mi), DNS_RCODE_FORMERR, "two OPTs: FORMERR");

	std_query(&q, 1);
	putmem(&q, "\1a", 2);
	opt(&q, 1232, 0, false, NULL, 0);
	is_int(dns_msg_parse_query(q.b, q.len, &mi), DNS_RCODE_FORMERR, "OPT not at the root: FORMERR");

	/* an option longer than the rdata */
	static const uint8_t badopt[] = { 0, 10, 0, 9, 1, 2, 3, 4, 5, 6, 7, 8 };
	std_query(&q, 1);
	opt(&q, 1232, 0, false, badopt, sizeof(badopt));
	is_int(dns_msg_parse_query(q.b, q.len, &mi), DNS_RCODE_FORMERR, "option overruns rdata: FORMERR");
	static const uint8_t shortopt[] = { 0, 10, 0 };
	std_query(&q, 1);
	opt(&q, 1232, 0, false, shortopt, sizeof(shortopt));
	is_int(dns_msg_parse_query(q.b, q.len, &mi), DNS_RCODE_FORMERR, "3-byte option: FORMERR");

	/* rdlen beyond the message */
	std_query(&q, 1);
	opt(&q, 1232, 0, false, cookie, sizeof(cookie));
	q.len -= 1;
	is_int(dns_msg_parse_query(q.b, q.len, &mi), DNS_RCODE_FORMERR, "OPT rdata cut: FORMERR");
	std_query(&q, 1);
	opt(&q, 1232, 0, false, NULL, 0);
	int bad = 0;
	for (size_t l = DNS_HDR_LEN + NAME_LEN + 4; l < q.len; l++)
		if (dns_msg_parse_query(q.b, l, &mi) != DNS_RCODE_FORMERR)
			bad++;
	is_int(bad, 0, "every cut of the OPT: FORMERR");

	/* ARCOUNT says 1, nothing follows */
	std_query(&q, 1);
	is_int(dns_msg_parse_query(q.b, q.len, &mi), DNS_RCODE_FORMERR, "ARCOUNT 1, no record: FORMERR");

	/* another record (TSIG-like, compressed owner) is skipped, OPT still found */
	std_query(&q, 2);
	put8(&q, 0xc0);
	put8(&q, 12);
	put16(&q, 250);
	put16(&q, 255);
	put16(&q, 0);
	put16(&q, 0);
	put16(&q, 3);
	putmem(&q, "xyz", 3);
	opt(&q, 2048, 0, true, NULL, 0);
	is_int(dns_msg_parse_query(q.b, q.len, &mi), 0, "non-OPT additional record skipped");
	ok(mi.edns && mi.udp_size == 2048 && mi.do_bit, "OPT after another record found");

	/* ARCOUNT 65535 on a short message ends quickly with FORMERR */
	std_query(&q, 0xffff);
	opt(&q, 1232, 0, false, NULL, 0);
	is_int(dns_msg_parse_query(q.b, q.len, &mi), DNS_RCODE_FORMERR, "ARCOUNT 65535: FORMERR");
}

static void
test_error_reply(void)
{
	struct q q;
	struct dns_msginfo mi;
	uint8_t out[600];
	size_t len;

	/* FORMERR without a question */
	header(&q, 0x4242, 0x01, 0x10, 2, 0, 0, 0);
	is_int(dns_msg_parse_query(q.b, q.len, &mi), DNS_RCODE_FORMERR, "QDCOUNT 2 header");
	len = dns_msg_error(&mi, DNS_RCODE_FORMERR, out, sizeof(out), 1232);
	is_int(len, DNS_HDR_LEN, "FORMERR reply is a bare header");
	is_int(dns_get16(out), 0x4242, "reply id");
	ok(out[2] == 0x81, "QR and RD set, opcode 0 (got 0x%02x)", out[2]);
	is_int(dns_msg_rcode(out, len), DNS_RCODE_FORMERR, "rcode FORMERR");
	ok(out[3] & 0x80, "RA set");
	ok(out[3] & 0x10, "CD echoed");
	ok(dns_get16(out + 4) == 0 && dns_get16(out + 6) == 0 && dns_get16(out + 8) == 0 &&
	    dns_get16(out + 10) == 0, "all counts 0");

	/* NOTIMP keeps the opcode */
	std_query(&q, 0);
	q.b[2] = (2 << 3);
	is_int(dns_msg_parse_query(q.b, q.len, &mi), DNS_RCODE_NOTIMP, "opcode 2");
	len = dns_msg_error(&mi, DNS_RCODE_NOTIMP, out, sizeof(out), 1232);
	ok(len >= DNS_HDR_LEN && ((out[2] >> 3) & 0x0f) == 2 && (out[2] & 0x80),
	    "NOTIMP reply: QR, opcode 2");
	is_int(dns_msg_rcode(out, len), DNS_RCODE_NOTIMP, "rcode NOTIMP");

	/* a refusal echoes the question (lower-cased: the server restores the case) */
	std_query(&q, 0);
	q.b[3] = 0x20; /* AD in the query */
	is_int(dns_msg_parse_query(q.b, q.len, &mi), 0, "query for REFUSED");
	len = dns_msg_error(&mi, DNS_RCODE_REFUSED, out, sizeof(out), 1232);
	is_int(len, DNS_HDR_LEN + NAME_LEN + 4, "REFUSED reply: header + question");
	is_int(dns_get16(out + 4), 1, "QDCOUNT 1");
	is_mem(out + DNS_HDR_LEN, NAME_LOWER, NAME_LEN, "question name echoed");
	ok(dns_get16(out + DNS_HDR_LEN + NAME_LEN) == 1 &&
	    dns_get16(out + DNS_HDR_LEN + NAME_LEN + 2) == 1, "qtype/qclass echoed");
	ok(!(out[3] & 0x20), "AD not set in an error");
	is_int(dns_get16(out + 10), 0, "no OPT without EDNS");
	is_int(dns_msg_rcode(out, len), DNS_RCODE_REFUSED, "rcode REFUSED");

	/* cap too small */
	is_int(dns_msg_error(&mi, DNS_RCODE_REFUSED, out, DNS_HDR_LEN + NAME_LEN + 3, 1232), 0,
	    "cap one short: 0");
	is_int(dns_msg_error(&mi, DNS_RCODE_REFUSED, out, DNS_HDR_LEN + NAME_LEN + 4, 1232),
	    DNS_HDR_LEN + NAME_LEN + 4, "exact cap fits");

	/* EDNS: OPT with our size and DO echoed */
	std_query(&q, 1);
	opt(&q, 4096, 0, true, NULL, 0);
	is_int(dns_msg_parse_query(q.b, q.len, &mi), 0, "EDNS query");
	len = dns_msg_error(&mi, DNS_RCODE_SERVFAIL, out, sizeof(out), 1400);
	is_int(len, DNS_HDR_LEN + NAME_LEN + 4 + 11, "SERVFAIL with OPT");
	is_int(dns_get16(out + 10), 1, "ARCOUNT 1");
	{
		const uint8_t *o = out + DNS_HDR_LEN + NAME_LEN + 4;
		ok(o[0] == 0 && dns_get16(o + 1) == DNS_TYPE_OPT, "OPT at the root");
		is_int(dns_get16(o + 3), 1400, "our udp size announced");
		ok(o[5] == 0 && o[6] == 0 && (o[7] & 0x80), "ext-rcode 0, version 0, DO echoed");
		is_int(dns_get16(o + 9), 0, "empty rdata");
	}

	/* BADVERS: extended rcode 16 = upper 8 bits 1 in OPT, low 4 bits 0 */
	std_query(&q, 1);
	opt(&q, 4096, 1, false, NULL, 0);
	is_int(dns_msg_parse_query(q.b, q.len, &mi), DNS_RCODE_BADVERS, "version 1 query");
	len = dns_msg_error(&mi, DNS_RCODE_BADVERS, out, sizeof(out), 1232);
	is_int(len, DNS_HDR_LEN + NAME_LEN + 4 + 11, "BADVERS reply with OPT");
	is_int(dns_msg_rcode(out, len), 0, "BADVERS: low rcode bits 0");
	is_int(out[len - 11 + 5], 1, "BADVERS: OPT ext-rcode 1");
	is_int(out[len - 11 + 6], 0, "BADVERS: we speak version 0");
}

static void
test_opt_truncate(void)
{
	uint8_t m[64];
	size_t len;

	memset(m, 0, sizeof(m));
	dns_put16(m + 10, 2);
	len = dns_msg_add_opt(m, DNS_HDR_LEN, sizeof(m), 1232, false, 0);
	is_int(len, DNS_HDR_LEN + 11, "OPT appended");
	is_int(dns_get16(m + 10), 3, "ARCOUNT incremented");
	ok(m[12] == 0 && dns_get16(m + 13) == 41 && dns_get16(m + 15) == 1232 && m[17] == 0 &&
	    m[18] == 0 && m[19] == 0 && m[20] == 0 && dns_get16(m + 21) == 0, "OPT bytes");
	is_int(dns_msg_add_opt(m, DNS_HDR_LEN, DNS_HDR_LEN + 10, 1232, false, 0), 0,
	    "no room: 0");
	is_int(dns_msg_add_opt(m, DNS_HDR_LEN, DNS_HDR_LEN + 11, 512, true, 2), DNS_HDR_LEN + 11,
	    "exact room");
	ok(m[17] == 2 && m[19] == 0x80, "ext-rcode and DO written");
	is_int(dns_msg_add_opt(m, 5, sizeof(m), 512, false, 0), 0, "shorter than a header: 0");

	/* truncate a fake answer: header + question + junk */
	memset(m, 0xaa, sizeof(m));
	m[2] = 0x81;
	dns_put16(m + 4, 1);
	dns_put16(m + 6, 3);
	dns_put16(m + 8, 2);
	dns_put16(m + 10, 1);
	len = dns_msg_truncate(m, 30);
	is_int(len, 30, "truncated to qend");
	ok(m[2] & 0x02, "TC set");
	ok(m[2] & 0x80, "QR kept");
	is_int(dns_get16(m + 4), 1, "QDCOUNT kept");
	ok(dns_get16(m + 6) == 0 && dns_get16(m + 8) == 0 && dns_get16(m + 10) == 0,
	    "AN/NS/AR counts 0");

	is_int(dns_msg_rcode(m, 11), -1, "rcode of a short message: -1");
	m[3] = 0x83;
	is_int(dns_msg_rcode(m, 12), 3, "rcode NXDOMAIN");
}

static void
test_names(void)
{
	static const uint8_t ptr[] = { 3, 'w', 'w', 'w', 0xc0, 12 };
	static const uint8_t obs[] = { 0x41, 'a' };
	uint8_t big[300];
	const uint8_t *lab;
	size_t ll;
	char s[64];

	is_int(dns_msg_skip_name(NAME_MIXED, NAME_LEN, 0), NAME_LEN, "skip plain name");
	is_int(dns_msg_skip_name(NAME_MIXED, NAME_LEN - 1, 0), 0, "skip name without root: 0");
	is_int(dns_msg_skip_name(ptr, sizeof(ptr), 0), 6, "skip name ending in a pointer");
	is_int(dns_msg_skip_name(ptr, sizeof(ptr) - 1, 0), 0, "pointer cut: 0");
	is_int(dns_msg_skip_name(ptr, sizeof(ptr), 4), 6, "skip bare pointer");
	is_int(dns_msg_skip_name(obs, sizeof(obs), 0), 0, "0x40 label: 0");
	is_int(dns_msg_skip_name(ptr, sizeof(ptr), 6), 0, "offset at len: 0");
	is_int(dns_msg_skip_name(ptr, sizeof(ptr), 100), 0, "offset past len: 0");
	memset(big, 0, sizeof(big));
	for (size_t o = 0; o + 64 < sizeof(big); o += 64) {
		big[o] = 63;
		memset(big + o + 1, 'x', 63);
	}
	is_int(dns_msg_skip_name(big, sizeof(big), 0), 0, "name over 255 bytes: 0");

	is_int(dns_name_labels(NAME_LOWER, NAME_LEN), 3, "three labels");
	is_int(dns_name_labels((const uint8_t *)"", 1), 0, "root: 0 labels");
	is_int(dns_name_label_from_end(NAME_LOWER, NAME_LEN, 0, &lab, &ll), 0, "TLD found");
	ok(ll == 3 && memcmp(lab, "com", 3) == 0, "TLD is com");
	is_int(dns_name_label_from_end(NAME_LOWER, NAME_LEN, 1, &lab, &ll), 0, "second label found");
	ok(ll == 7 && memcmp(lab, "example", 7) == 0, "second label is example");
	is_int(dns_name_label_from_end(NAME_LOWER, NAME_LEN, 2, &lab, &ll), 0, "third label found");
	ok(ll == 3 && memcmp(lab, "www", 3) == 0, "third label is www");
	is_int(dns_name_label_from_end(NAME_LOWER, NAME_LEN, 3, &lab, &ll), -1, "no fourth label");
	is_int(dns_name_label_from_end((const uint8_t *)"", 1, 0, &lab, &ll), -1, "root has no TLD");

	is_int(dns_name_to_str(NAME_MIXED, NAME_LEN, s, sizeof(s)), 0, "name to text");
	ok(strcmp(s, "www.Example.COM.") == 0, "text is www.Example.COM. (%s)", s);
	is_int(dns_name_to_str((const uint8_t *)"", 1, s, sizeof(s)), 0, "root to text");
	ok(strcmp(s, ".") == 0, "root is .");
	is_int(dns_name_to_str((const uint8_t *)"\3a.b\3c d", 9, s, sizeof(s)), 0, "odd bytes to text");
	ok(strcmp(s, "a\\046b.c\\032d.") == 0, "dot and space escaped (%s)", s);
	is_int(dns_name_to_str(NAME_MIXED, NAME_LEN, s, 17), 0, "exact cap (16 chars + NUL)");
	is_int(dns_name_to_str(NAME_MIXED, NAME_LEN, s, 16), -1, "cap one short: -1");
	is_int(dns_name_to_str((const uint8_t *)"\3a.b", 5, s, 5), -1, "escape does not fit: -1");
	is_int(dns_name_to_str((const uint8_t *)"", 1, s, 1), -1, "cap 1: -1");

	is_int(dns_lower('Q'), 'q', "dns_lower letter");
	is_int(dns_lower('['), '[', "dns_lower non-letter");
	is_int(dns_lower(0xc4), 0xc4, "dns_lower high byte untouched");
}

/* dns_msg_first_rr / dns_msg_next_rr over one question and two records */
static void
test_rr_walk(void)
{
	static const uint8_t m[] = {
		0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 1,
		/* question: a. A IN */
		1, 'a', 0, 0, 1, 0, 1,
		/* answer: a. (pointer) A IN TTL 0x80000e10 10.0.0.1 */
		0xc0, 12, 0, 1, 0, 1, 0x80, 0, 0x0e, 0x10, 0, 4, 10, 0, 0, 1,
		/* additional: OPT, root, no rdata */
		0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0,
	};
	struct dns_rr r;
	unsigned n = 0;
	size_t off = dns_msg_first_rr(m, sizeof(m), &n);

	is_int(off, 19, "first record after the question");
	is_int(n, 2, "two records after the question");
	off = dns_msg_next_rr(m, sizeof(m), off, &r);
	ok(off == 35 && r.owner == 19 && r.type == 1 && r.ttl == 0x80000e10u && r.rdata == 31 &&
	    r.rdlen == 4, "the A record: owner, type, TTL as sent, rdata");
	off = dns_msg_next_rr(m, sizeof(m), off, &r);
	ok(off == sizeof(m) && r.type == 41 && r.rdlen == 0, "the OPT record, to the end");
	is_int(dns_msg_next_rr(m, sizeof(m) - 1, 35, &r), 0, "a record cut short: 0");
	is_int(dns_msg_next_rr(m, 34, 19, &r), 0, "rdata past the end: 0");
	is_int(dns_msg_first_rr(m, 18, &n), 0, "a question cut short: 0");
	is_int(dns_msg_first_rr(m, 11, &n), 0, "a short header: 0");
}

int
main(void)
{
	test_parse_basic();
	test_parse_no_reply();
	test_parse_errors();
	test_parse_edns();
	test_error_reply();
	test_opt_truncate();
	test_names();
	test_rr_walk();
	return tap_done();
}
