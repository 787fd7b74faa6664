/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rebind.c -- private-address filtering of answers (see rebind.h).
 *
 * One pass over the wire message finds the records to remove, without
 * allocating; only when there are some is the message parsed with ldns,
 * the records dropped by their place in the message, and written again.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "dns/rebind.h"

#define TYPE_A 1
#define TYPE_AAAA 28
#define TYPE_SVCB 64
#define TYPE_HTTPS 65
#define SVC_IPV4HINT 4
#define SVC_IPV6HINT 6
/* compression pointers followed for one name: more is a loop */
#define MAX_POINTERS 64
/* records removed from one message: more fails the answer */
#define MAX_REMOVED 1024

int
rebind_add_prefix(struct rebind_policy *p, const struct netprefix *pfx)
{
	if (p->n_prefix >= REBIND_MAX_PREFIX)
		return -1;
	p->prefix[p->n_prefix++] = *pfx;
	return 0;
}

int
rebind_add_domain(struct rebind_policy *p, const char *name)
{
	ldns_rdf *rdf = NULL;
	size_t len;

	if (p->n_domain >= REBIND_MAX_DOMAIN || !name || !*name)
		return -1;
	if (ldns_str2rdf_dname(&rdf, name) != LDNS_STATUS_OK)
		return -1;
	len = ldns_rdf_size(rdf);
	if (len == 0 || len > DNS_MAX_NAME) {
		ldns_rdf_deep_free(rdf);
		return -1;
	}
	for (size_t i = 0; i < len; i++)
		p->domain[p->n_domain].wire[i] = dns_lower(ldns_rdf_data(rdf)[i]);
	p->domain[p->n_domain].len = len;
	p->n_domain++;
	ldns_rdf_deep_free(rdf);
	return 0;
}

bool
rebind_active(const struct rebind_policy *p)
{
	return p->n_prefix > 0;
}

/* Is the address (4 or 16 bytes) in a private prefix? */
static bool
addr_private(const struct rebind_policy *p, const uint8_t *a, size_t alen)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (alen == 4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, a, 4);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, a, 16);
	}
	for (size_t i = 0; i < p->n_prefix; i++)
		if (netprefix_match(&p->prefix[i], (const struct sockaddr *)&ss))
			return true;
	return false;
}

/* Copy the (possibly compressed) name at off, lower-cased, into out.
 * @return 0, or -1 when malformed */
static int
name_copy(const uint8_t *msg, size_t len, size_t off, uint8_t out[DNS_MAX_NAME], size_t *outlen)
{
	size_t n = 0;
	unsigned jumps = 0;

	for (;;) {
		if (off >= len)
			return -1;
		uint8_t l = msg[off];
		if ((l & 0xc0) == 0xc0) {
			if (off + 1 >= len || ++jumps > MAX_POINTERS)
				return -1;
			off = ((size_t)(l & 0x3f) << 8) | msg[off + 1];
			continue;
		}
		if (l & 0xc0)
			return -1;
		if (n + 1 + l > DNS_MAX_NAME || off + 1 + l > len)
			return -1;
		out[n++] = l;
		for (unsigned i = 0; i < l; i++)
			out[n++] = dns_lower(msg[off + 1 + i]);
		if (l == 0)
			break;
		off += 1 + (size_t)l;
	}
	*outlen = n;
	return 0;
}

/* Is the owner at off at or under a private domain? */
static bool
owner_exempt(const struct rebind_policy *p, const uint8_t *msg, size_t len, size_t off)
{
	uint8_t name[DNS_MAX_NAME];
	size_t nlen, o = 0;

	if (p->n_domain == 0 || name_copy(msg, len, off, name, &nlen) < 0)
		return false;
	for (;;) {
		for (size_t i = 0; i < p->n_domain; i++)
			if (p->domain[i].len == nlen - o &&
			    memcmp(p->domain[i].wire, name + o, nlen - o) == 0)
				return true;
		if (name[o] == 0)
			return false;
		o += 1 + (size_t)name[o];
	}
}

/* Does an SVCB/HTTPS rdata hint at a private address?
 * @return 1 yes, 0 no, -1 malformed */
static int
svcb_private(const struct rebind_policy *p, const uint8_t *rd, size_t rdlen)
{
	size_t o = 2;

	/* SvcPriority, then TargetName, never compressed (RFC 9460 2.2) */
	while (o < rdlen && rd[o] != 0) {
		if (rd[o] & 0xc0)
			return -1;
		o += 1 + (size_t)rd[o];
	}
	if (o >= rdlen)
		return -1;
	o++;
	while (o < rdlen) {
		if (o + 4 > rdlen)
			return -1;
		uint16_t key = dns_get16(rd + o), vlen = dns_get16(rd + o + 2);
		size_t step = key == SVC_IPV4HINT ? 4 : 16;
		o += 4;
		if (o + vlen > rdlen)
			return -1;
		if (key == SVC_IPV4HINT || key == SVC_IPV6HINT) {
			if (vlen == 0 || vlen % step != 0)
				return -1;
			for (size_t i = 0; i < vlen; i += step)
				if (addr_private(p, rd + o + i, step))
					return 1;
		}
		o += vlen;
	}
	return 0;
}

/* Walk the message; note the places (0 = first answer record) of the
 * records to remove. @return the number, or -1 when malformed or more
 * than max */
static long
scan(const struct rebind_policy *p, const uint8_t *msg, size_t len, uint32_t *idx, size_t max)
{
	unsigned rrs;
	size_t off = dns_msg_first_rr(msg, len, &rrs), n = 0;

	if (!off)
		return -1;
	for (unsigned i = 0; i < rrs; i++) {
		struct dns_rr r;
		off = dns_msg_next_rr(msg, len, off, &r);
		if (!off)
			return -1;
		uint16_t type = r.type;
		size_t rdlen = r.rdlen, owner = r.owner;
		const uint8_t *rd = msg + r.rdata;
		int bad = 0;
		/* what ldns would read differently from us is refused: an
		 * address of the wrong size, SVCB parameters that do not add up */
		if ((type == TYPE_A && rdlen != 4) || (type == TYPE_AAAA && rdlen != 16))
			return -1;
		if (type == TYPE_A || type == TYPE_AAAA)
			bad = addr_private(p, rd, rdlen);
		else if (type == TYPE_SVCB || type == TYPE_HTTPS)
			bad = svcb_private(p, rd, rdlen);
		if (bad < 0)
			return -1;
		if (bad && !owner_exempt(p, msg, len, owner)) {
			if (n >= max)
				return -1;
			idx[n++] = i;
		}
	}
	return (long)n;
}

/* Remove the records at the places idx[] (sorted) from the lists. */
static void
drop_rrs(ldns_pkt *pkt, const uint32_t *idx, size_t n)
{
	ldns_rr_list *lists[3] = { ldns_pkt_answer(pkt), ldns_pkt_authority(pkt),
		ldns_pkt_additional(pkt) };
	size_t k = 0, base = 0;

	for (int s = 0; s < 3; s++) {
		ldns_rr_list *l = lists[s];
		size_t count = l ? ldns_rr_list_rr_count(l) : 0, w = 0;
		for (size_t r = 0; r < count; r++) {
			ldns_rr *rr = ldns_rr_list_rr(l, r);
			if (k < n && idx[k] == base + r) {
				ldns_rr_free(rr);
				k++;
			} else {
				ldns_rr_list_set_rr(l, rr, w++);
			}
		}
		if (l)
			ldns_rr_list_set_rr_count(l, w);
		base += count;
	}
	ldns_pkt_set_ancount(pkt, (uint16_t)(lists[0] ? ldns_rr_list_rr_count(lists[0]) : 0));
	ldns_pkt_set_nscount(pkt, (uint16_t)(lists[1] ? ldns_rr_list_rr_count(lists[1]) : 0));
	ldns_pkt_set_arcount(pkt, (uint16_t)(lists[2] ? ldns_rr_list_rr_count(lists[2]) : 0));
}

/* One rewrite: msg without the n records at the places idx[].
 * @return the new length, or -1 */
static long
rewrite(uint8_t *msg, size_t len, size_t cap, const uint32_t *idx, size_t n)
{
	ldns_pkt *pkt = NULL;
	uint8_t *wire = NULL;
	size_t wlen = 0;

	if (ldns_wire2pkt(&pkt, msg, len) != LDNS_STATUS_OK)
		return -1;
	/* the places must be the same in ldns's lists: no OPT or TSIG that
	 * ldns would have taken out of them */
	if (ldns_pkt_edns(pkt) || ldns_pkt_tsig(pkt) ||
	    ldns_rr_list_rr_count(ldns_pkt_answer(pkt)) != dns_get16(msg + 6) ||
	    ldns_rr_list_rr_count(ldns_pkt_authority(pkt)) != dns_get16(msg + 8) ||
	    ldns_rr_list_rr_count(ldns_pkt_additional(pkt)) != dns_get16(msg + 10)) {
		ldns_pkt_free(pkt);
		return -1;
	}
	drop_rrs(pkt, idx, n);
	ldns_pkt_set_ad(pkt, false);
	if (ldns_pkt2wire(&wire, pkt, &wlen) != LDNS_STATUS_OK || wlen > cap) {
		ldns_pkt_free(pkt);
		free(wire);
		return -1;
	}
	ldns_pkt_free(pkt);
	memcpy(msg, wire, wlen);
	free(wire);
	return (long)wlen;
}

long
rebind_filter(const struct rebind_policy *p, uint8_t *msg, size_t len, size_t cap,
    unsigned *removed)
{
	uint32_t idx[MAX_REMOVED];
	long n, l = (long)len;

	*removed = 0;
	if (!rebind_active(p))
		return l;
	/* ldns may read a record otherwise than the scan did (a malformed
	 * one it repairs): the rewritten message is scanned again, until it
	 * holds nothing to remove */
	for (int pass = 0; pass < 4; pass++) {
		n = scan(p, msg, (size_t)l, idx, MAX_REMOVED);
		if (n <= 0)
			return n < 0 ? -1 : l;
		l = rewrite(msg, (size_t)l, cap, idx, (size_t)n);
		if (l < 0)
			return -1;
		*removed += (unsigned)n;
	}
	return scan(p, msg, (size_t)l, idx, MAX_REMOVED) == 0 ? l : -1;
}
