/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * msg.c -- query parsing and answer patching (RFC 1035 section 4.1,
 * RFC 6891 section 6 for OPT).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "dns/msg.h"

size_t
dns_msg_skip_name(const uint8_t *buf, size_t len, size_t off)
{
	size_t total = 0;

	while (off < len) {
		uint8_t l = buf[off];
		if (l == 0)
			return off + 1;
		if ((l & 0xc0) == 0xc0)
			return off + 2 <= len ? off + 2 : 0;
		if (l & 0xc0)
			return 0; /* 0x40 and 0x80: obsolete label types */
		total += (size_t)l + 1;
		if (total > DNS_MAX_NAME)
			return 0;
		off += (size_t)l + 1;
	}
	return 0;
}

size_t
dns_msg_first_rr(const uint8_t *msg, size_t len, unsigned *n_rr)
{
	size_t off = DNS_HDR_LEN;
	unsigned qd;

	if (len < DNS_HDR_LEN)
		return 0;
	qd = dns_get16(msg + 4);
	*n_rr = (unsigned)dns_get16(msg + 6) + dns_get16(msg + 8) + dns_get16(msg + 10);
	for (unsigned i = 0; i < qd; i++) {
		off = dns_msg_skip_name(msg, len, off);
		if (off == 0 || off + 4 > len)
			return 0;
		off += 4;
	}
	return off;
}

size_t
dns_msg_next_rr(const uint8_t *msg, size_t len, size_t off, struct dns_rr *rr)
{
	rr->owner = off;
	off = dns_msg_skip_name(msg, len, off);
	if (off == 0 || off + 10 > len)
		return 0;
	rr->type = dns_get16(msg + off);
	rr->ttl = (uint32_t)msg[off + 4] << 24 | (uint32_t)msg[off + 5] << 16 |
	    (uint32_t)msg[off + 6] << 8 | msg[off + 7];
	rr->rdlen = dns_get16(msg + off + 8);
	rr->rdata = off + 10;
	if (rr->rdata + rr->rdlen > len)
		return 0;
	return rr->rdata + rr->rdlen;
}

/* The question name: no compression (there is nothing before it to point
 * at), labels <= 63, name <= 255; copied lower-cased. */
static int
parse_qname(const uint8_t *buf, size_t len, size_t *off, struct dns_msginfo *mi)
{
	size_t o = *off, n = 0;

	for (;;) {
		if (o >= len)
			return -1;
		uint8_t l = buf[o];
		if (l & 0xc0)
			return -1;
		if (n + 1 + l > DNS_MAX_NAME || o + 1 + l > len)
			return -1;
		mi->qname[n++] = l;
		o++;
		for (unsigned i = 0; i < l; i++)
			mi->qname[n++] = dns_lower(buf[o++]);
		if (l == 0)
			break;
	}
	mi->qname_len = n;
	*off = o;
	return 0;
}

int
dns_msg_parse_query(const uint8_t *buf, size_t len, struct dns_msginfo *mi)
{
	size_t off = DNS_HDR_LEN;
	uint16_t qd, an, ns, ar;

	memset(mi, 0, sizeof(*mi));
	mi->udp_size = 512;
	if (len < DNS_HDR_LEN)
		return -1;
	if (buf[2] & 0x80)
		return -1; /* a response: never answer it */
	mi->id = dns_get16(buf);
	mi->opcode = (buf[2] >> 3) & 0x0f;
	mi->rd = buf[2] & 0x01;
	mi->ad = buf[3] & 0x20;
	mi->cd = buf[3] & 0x10;
	qd = dns_get16(buf + 4);
	an = dns_get16(buf + 6);
	ns = dns_get16(buf + 8);
	ar = dns_get16(buf + 10);
	/* other opcodes get NOTIMP, but the question and OPT are still read
	 * so that the reply can echo them (RFC 6891 section 7) */
	int pending = mi->opcode != 0 ? DNS_RCODE_NOTIMP : 0;
	if (qd != 1)
		return DNS_RCODE_FORMERR;
	if (parse_qname(buf, len, &off, mi) < 0 || off + 4 > len)
		return pending ? pending : DNS_RCODE_FORMERR;
	mi->qtype = dns_get16(buf + off);
	mi->qclass = dns_get16(buf + off + 2);
	off += 4;
	mi->question_end = off;
	mi->has_question = true;
	if (an != 0 || ns != 0)
		return DNS_RCODE_FORMERR;

	/* Additional section: at most one OPT, owned by the root; other
	 * records (e.g. TSIG, which we do not support) are skipped. */
	for (unsigned i = 0; i < ar; i++) {
		size_t name_off = off;
		off = dns_msg_skip_name(buf, len, off);
		if (off == 0 || off + 10 > len)
			return DNS_RCODE_FORMERR;
		uint16_t type = dns_get16(buf + off);
		uint16_t rdlen = dns_get16(buf + off + 8);
		if (off + 10 + (size_t)rdlen > len)
			return DNS_RCODE_FORMERR;
		if (type == DNS_TYPE_OPT) {
			if (mi->edns || buf[name_off] != 0)
				return DNS_RCODE_FORMERR;
			mi->edns = true;
			uint16_t size = dns_get16(buf + off + 2);
			mi->udp_size = size < 512 ? 512 : size;
			mi->edns_version = buf[off + 5];
			mi->do_bit = buf[off + 6] & 0x80;
			/* options: each must fit its rdata */
			size_t o = off + 10, end = o + rdlen;
			while (o < end) {
				if (o + 4 > end)
					return DNS_RCODE_FORMERR;
				size_t olen = dns_get16(buf + o + 2);
				if (o + 4 + olen > end)
					return DNS_RCODE_FORMERR;
				o += 4 + olen;
			}
		}
		off += 10 + (size_t)rdlen;
	}
	/* BADVERS before NOTIMP: RFC 6891 section 6.1.3 says a responder
	 * that does not implement the version MUST answer BADVERS, and a
	 * message of an unknown EDNS version cannot be read reliably (its
	 * opcode included). Knot does the same; unbound answers NOTIMP first.
	 * Either way the client gets one answer it can act on: fall back to
	 * version 0 and ask again. */
	if (mi->edns && mi->edns_version != 0)
		return DNS_RCODE_BADVERS;
	return pending;
}

size_t
dns_msg_add_opt(uint8_t *msg, size_t len, size_t cap, uint16_t udp_size, bool do_bit,
    uint8_t ext_rcode)
{
	if (len < DNS_HDR_LEN || len + 11 > cap)
		return 0;
	uint8_t *p = msg + len;
	p[0] = 0;                       /* root */
	dns_put16(p + 1, DNS_TYPE_OPT);
	dns_put16(p + 3, udp_size);
	p[5] = ext_rcode;
	p[6] = 0;                       /* version */
	p[7] = do_bit ? 0x80 : 0;
	p[8] = 0;
	dns_put16(p + 9, 0);            /* rdlen */
	dns_put16(msg + 10, (uint16_t)(dns_get16(msg + 10) + 1));
	return len + 11;
}

size_t
dns_msg_error(const struct dns_msginfo *mi, int rcode, uint8_t *out, size_t cap,
    uint16_t our_udp_size)
{
	size_t len = DNS_HDR_LEN;
	size_t qlen = mi->has_question ? mi->qname_len + 4 : 0;

	if (cap < DNS_HDR_LEN + qlen)
		return 0;
	memset(out, 0, DNS_HDR_LEN);
	dns_put16(out, mi->id);
	out[2] = (uint8_t)(0x80 | (mi->opcode << 3) | (mi->rd ? 1 : 0));
	out[3] = (uint8_t)(0x80 | (mi->cd ? 0x10 : 0) | (rcode & 0x0f));
	if (mi->has_question) {
		dns_put16(out + 4, 1);
		memcpy(out + len, mi->qname, mi->qname_len);
		len += mi->qname_len;
		dns_put16(out + len, mi->qtype);
		dns_put16(out + len + 2, mi->qclass);
		len += 4;
	}
	if (mi->edns) {
		size_t l = dns_msg_add_opt(out, len, cap, our_udp_size, mi->do_bit,
		    (uint8_t)(rcode >> 4));
		if (l)
			len = l;
		else if (rcode > 15)
			return 0; /* an extended rcode needs its OPT */
	}
	return len;
}

size_t
dns_msg_truncate(uint8_t *msg, size_t qend)
{
	msg[2] |= 0x02; /* TC */
	dns_put16(msg + 6, 0);
	dns_put16(msg + 8, 0);
	dns_put16(msg + 10, 0);
	return qend;
}

int
dns_msg_rcode(const uint8_t *msg, size_t len)
{
	return len < DNS_HDR_LEN ? -1 : (msg[3] & 0x0f);
}

unsigned
dns_name_labels(const uint8_t *name, size_t len)
{
	unsigned n = 0;
	size_t o = 0;

	while (o < len && name[o] != 0) {
		o += (size_t)name[o] + 1;
		n++;
	}
	return n;
}

int
dns_name_label_from_end(const uint8_t *name, size_t len, unsigned idx,
    const uint8_t **label, size_t *label_len)
{
	size_t offs[128];
	unsigned n = 0;
	size_t o = 0;

	while (o < len && name[o] != 0 && n < 128) {
		offs[n++] = o;
		o += (size_t)name[o] + 1;
	}
	if (idx >= n)
		return -1;
	o = offs[n - 1 - idx];
	*label = name + o + 1;
	*label_len = name[o];
	return 0;
}

int
dns_name_to_str(const uint8_t *name, size_t len, char *out, size_t cap)
{
	size_t o = 0, w = 0;

	if (cap < 2)
		return -1;
	if (len == 0 || name[0] == 0) {
		out[0] = '.';
		out[1] = '\0';
		return 0;
	}
	while (o < len && name[o] != 0) {
		uint8_t l = name[o++];
		for (unsigned i = 0; i < l && o < len; i++, o++) {
			uint8_t c = name[o];
			if (c == '.' || c == '\\' || c < 0x21 || c > 0x7e) {
				if (w + 4 >= cap)
					return -1;
				w += (size_t)snprintf(out + w, cap - w, "\\%03u", c);
			} else {
				if (w + 1 >= cap)
					return -1;
				out[w++] = (char)c;
			}
		}
		if (w + 1 >= cap)
			return -1;
		out[w++] = '.';
	}
	out[w] = '\0';
	return 0;
}
