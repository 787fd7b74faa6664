/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * answer.c -- answering a question from a packet's records (see answer.h).
 *
 * The index (struct pkarr_rr_ref) says where each record starts in the
 * DNS message; names are compared in the message itself, following its
 * compression pointers and folding ASCII case on the way, against
 * lower-case uncompressed names on the stack. With at most a hundred
 * records, linear scans with a length filter beat any index we could
 * keep. Only the records handed out are parsed with ldns, at the
 * record's offset and with ldns_wire2rr's own steps (the owner cloned
 * from the question instead of read and replaced, then ldns_wire2rdf),
 * so they are byte for byte what a parse of the whole packet gives.
 */
#include "config.h"

#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <ldns/ldns.h>

#define LOG_MODULE "pkarr"
#include "util/log.h"

#include "pkarr/answer.h"
#include "pkarr/zbase32.h"

/* Longest wire name, root label included (RFC 1035 section 3.1). */
#define NAME_MAX_WIRE 255
/* A name buffer: the longest name, and room for a wildcard label ("*.")
 * in front of one, which no owner can then match. */
#define NAME_BUF (NAME_MAX_WIRE + 2)
/* The wire form of "<key>.": a length byte, the key, the root. */
#define APEX_LEN (PKARR_Z32_KEY_LEN + 2)
/* Two top bits of a length byte that make it a compression pointer. */
#define PTR_BITS 0xc0
/* Each pointer of a message followed once at most: a name cannot go
 * through more distinct two-byte pointers than half the message holds. */
#define MAX_PTR_HOPS (PKARR_MAX_DNS / 2)
/* Type, class and TTL of a record: the bytes between owner and RDLENGTH. */
#define RR_FIXED 8
/* SOA rdata of a negative answer after mname and rname: serial, refresh,
 * retry, expire, minimum (RFC 1035 section 3.3.13). */
#define SOA_NUMS 5

/* A lower-case uncompressed name. */
struct name {
	uint8_t w[NAME_BUF];
	size_t len;
};

struct zone {
	const struct pkarr_view *v;
	uint8_t apex[APEX_LEN]; /* "<key>." lower case */
};

ldns_rdf *
pkarr_key_dname(const uint8_t pk[32])
{
	char z32[PKARR_Z32_KEY_LEN + 1];
	uint8_t wire[APEX_LEN];

	if (pk == NULL)
		return NULL;
	pkarr_z32_encode(pk, z32);
	wire[0] = PKARR_Z32_KEY_LEN;
	memcpy(wire + 1, z32, PKARR_Z32_KEY_LEN);
	wire[PKARR_Z32_KEY_LEN + 1] = 0;
	return ldns_dname_new_frm_data(sizeof(wire), wire);
}

static uint8_t
lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + ('a' - 'A')) : c;
}

/* Copy a wire name in lower case (RFC 4034 section 6.2: ASCII letters;
 * length bytes are below 'A', so the whole form can be folded). */
static void
name_set(struct name *n, const uint8_t *w, size_t len)
{
	for (size_t i = 0; i < len; i++)
		n->w[i] = lower(w[i]);
	n->len = len;
}

/* Read the name at off of the message into out, lower case, as
 * ldns_wire2dname reads it. @return its length, or 0 when it is bad. */
static size_t
wire_name(const uint8_t *m, size_t mlen, size_t off, uint8_t out[NAME_BUF],
	  unsigned *labels)
{
	size_t o = 0, hops = 0;

	*labels = 0;
	while (off < mlen) {
		uint8_t l = m[off];

		if ((l & PTR_BITS) == PTR_BITS) {
			if (off + 1 >= mlen || ++hops > MAX_PTR_HOPS)
				return 0;
			off = ((size_t)(l & ~PTR_BITS) << 8) | m[off + 1];
			if (off == 0 || off >= mlen)
				return 0;
			continue;
		}
		if (l == 0) {
			out[o++] = 0;
			return o;
		}
		if (l > LDNS_MAX_LABELLEN || off + 1 + l > mlen ||
		    o + 1 + l >= NAME_MAX_WIRE)
			return 0;
		out[o++] = l;
		for (size_t i = 0; i < l; i++)
			out[o++] = lower(m[off + 1 + i]);
		off += 1 + (size_t)l;
		(*labels)++;
	}
	return 0;
}

/* The owner of record i, lower case. */
static void
owner_of(const struct zone *z, size_t i, struct name *out)
{
	unsigned labels;

	out->len = wire_name(z->v->dns, z->v->dns_len, z->v->rr[i].off,
			     out->w, &labels);
}

static bool
name_eq(const struct name *a, const uint8_t *b, size_t blen)
{
	return a->len == blen && memcmp(a->w, b, blen) == 0;
}

/* Is name (n, nl) equal to or below parent (p, pl): does parent's wire
 * form end name's, starting at one of name's label boundaries? */
static bool
name_under(const uint8_t *n, size_t nl, const uint8_t *p, size_t pl)
{
	size_t o = 0;

	if (pl == 0 || pl > nl)
		return false;
	while (nl - o > pl) {
		o += (size_t)n[o] + 1; /* the next label */
		if (o >= nl)
			return false;
	}
	return nl - o == pl && memcmp(n + o, p, pl) == 0;
}

static unsigned
label_count(const uint8_t *n, size_t len)
{
	unsigned c = 0;

	for (size_t o = 0; o < len && n[o] != 0; o += (size_t)n[o] + 1)
		c++;
	return c;
}

static bool
owner_is(const struct zone *z, size_t i, const struct name *name)
{
	struct name o;

	if (z->v->rr[i].owner_len != name->len)
		return false;
	owner_of(z, i, &o);
	return name_eq(&o, name->w, name->len);
}

static uint32_t
clamp_ttl(uint32_t ttl, const struct pkarr_answer_params *p)
{
	if (ttl < p->min_ttl)
		ttl = p->min_ttl;
	if (ttl > p->max_ttl)
		ttl = p->max_ttl;
	return ttl;
}

int
pkarr_index_build(const uint8_t *dns, size_t dns_len, const uint8_t pk[32],
		  struct pkarr_rr_ref out[PKARR_MAX_RECORDS], size_t *n)
{
	uint8_t apex[APEX_LEN], owner[NAME_BUF];
	char z32[PKARR_Z32_KEY_LEN + 1];
	size_t qd, an;
	size_t pos = LDNS_HEADER_SIZE, nrec;
	int rc = 0;

	if (dns == NULL || pk == NULL || out == NULL || n == NULL)
		return PKARR_E_INVAL;
	*n = 0;
	if (dns_len > PKARR_MAX_DNS)
		return PKARR_E_SIZE;
	if (dns_len < LDNS_HEADER_SIZE)
		return PKARR_E_DNS;
	pkarr_z32_encode(pk, z32);
	apex[0] = PKARR_Z32_KEY_LEN;
	memcpy(apex + 1, z32, PKARR_Z32_KEY_LEN);
	apex[APEX_LEN - 1] = 0;
	qd = LDNS_QDCOUNT(dns);
	an = LDNS_ANCOUNT(dns);
	nrec = qd + an + LDNS_NSCOUNT(dns) + LDNS_ARCOUNT(dns);
	/* What the answer has always required: the whole message parses,
	 * every record of every section as ldns_wire2pkt reads it (one
	 * ldns_wire2rr after the other: record boundaries are where ldns's
	 * own reading of each record ends, not where RDLENGTH says). */
	for (size_t i = 0; i < nrec && rc == 0; i++) {
		ldns_pkt_section sec = i < qd	       ? LDNS_SECTION_QUESTION
				       : i < qd + an ? LDNS_SECTION_ANSWER
						     : LDNS_SECTION_ADDITIONAL;
		size_t start = pos, olen;
		ldns_rr *rr = NULL;
		unsigned labels;

		if (ldns_wire2rr(&rr, dns, dns_len, &pos, sec) != LDNS_STATUS_OK)
			return PKARR_E_DNS;
		if (sec != LDNS_SECTION_ANSWER) {
			ldns_rr_free(rr);
			continue;
		}
		olen = wire_name(dns, dns_len, start, owner, &labels);
		/* our reading of the owner must be ldns's, case aside */
		if (olen == 0 || olen != ldns_rdf_size(ldns_rr_owner(rr)) ||
		    label_count(ldns_rdf_data(ldns_rr_owner(rr)), olen) != labels)
			rc = PKARR_E_DNS;
		/* Records outside the key are not the key's to publish. */
		else if (name_under(owner, olen, apex, sizeof(apex)) &&
			 *n < PKARR_MAX_RECORDS && start <= UINT16_MAX) {
			out[*n].off = (uint16_t)start;
			out[*n].type = (uint16_t)ldns_rr_get_type(rr);
			out[*n].ttl = ldns_rr_ttl(rr);
			out[*n].owner_len = (uint8_t)olen;
			out[*n].labels = (uint8_t)labels;
			(*n)++;
		}
		ldns_rr_free(rr);
	}
	if (rc < 0)
		*n = 0;
	return rc;
}

uint32_t
pkarr_view_min_ttl(const struct pkarr_view *v,
		   const struct pkarr_answer_params *p)
{
	uint32_t best = 0;

	if (v->n == 0)
		return clamp_ttl(p->min_ttl, p);
	for (size_t i = 0; i < v->n; i++) {
		uint32_t t = clamp_ttl(v->rr[i].ttl, p);
		if (i == 0 || t < best)
			best = t;
	}
	return best;
}

int
pkarr_view_from_packet(const struct pkarr_packet *pkt,
		       struct pkarr_rr_ref rr[PKARR_MAX_RECORDS],
		       struct pkarr_view *v)
{
	if (pkt == NULL || rr == NULL || v == NULL)
		return PKARR_E_INVAL;
	v->pk = pkt->pk;
	v->ts_us = pkt->ts_us;
	v->dns = pkt->dns;
	v->dns_len = pkt->dns_len;
	v->rr = rr;
	return pkarr_index_build(pkt->dns, pkt->dns_len, pkt->pk, rr, &v->n);
}

int
pkarr_packet_min_ttl(const struct pkarr_packet *pkt,
		     const struct pkarr_answer_params *p, uint32_t *ttl)
{
	struct pkarr_rr_ref rr[PKARR_MAX_RECORDS];
	struct pkarr_view v;
	int rc;

	if (pkt == NULL || p == NULL || ttl == NULL)
		return PKARR_E_INVAL;
	rc = pkarr_view_from_packet(pkt, rr, &v);
	if (rc < 0)
		return rc == PKARR_E_SIZE ? rc : PKARR_E_DNS;
	*ttl = pkarr_view_min_ttl(&v, p);
	return 0;
}

/* Where the (possibly compressed) name at off ends in the message. */
static size_t
name_end(const uint8_t *m, size_t mlen, size_t off)
{
	while (off < mlen && m[off] != 0) {
		if ((m[off] & PTR_BITS) == PTR_BITS)
			return off + 2;
		off += (size_t)m[off] + 1;
	}
	return off + 1;
}

/* Record i as a new ldns_rr with a clamped TTL and, when owner is not
 * NULL, that owner instead of its own: ldns_wire2rr's steps, with the
 * owner cloned rather than read and replaced. */
static ldns_rr *
make_rr(const struct zone *z, size_t i, const ldns_rdf *owner,
	const struct pkarr_answer_params *p)
{
	const uint8_t *m = z->v->dns;
	size_t len = z->v->dns_len, pos = z->v->rr[i].off;
	ldns_rdf *o = NULL;
	ldns_rr *rr;

	if (owner != NULL)
		o = ldns_rdf_clone(owner);
	else if (ldns_wire2dname(&o, m, len, &pos) != LDNS_STATUS_OK)
		o = NULL;
	if (o == NULL)
		return NULL;
	rr = ldns_rr_new();
	if (rr == NULL) {
		ldns_rdf_deep_free(o);
		return NULL;
	}
	ldns_rr_set_owner(rr, o);
	pos = name_end(m, len, z->v->rr[i].off);
	/* the index was built from a whole parse: type, class and TTL are
	 * there (RR_FIXED bytes), the RDATA reads as it read then */
	if (pos + RR_FIXED > len) {
		ldns_rr_free(rr);
		return NULL;
	}
	ldns_rr_set_type(rr, ldns_read_uint16(m + pos));
	ldns_rr_set_class(rr, ldns_read_uint16(m + pos + 2));
	ldns_rr_set_ttl(rr, clamp_ttl(ldns_read_uint32(m + pos + 4), p));
	pos += RR_FIXED;
	if (ldns_wire2rdf(rr, m, len, &pos) != LDNS_STATUS_OK) {
		ldns_rr_free(rr);
		return NULL;
	}
	ldns_rr_set_question(rr, false);
	return rr;
}

static int
push_rr(ldns_rr_list *list, ldns_rr *rr)
{
	if (rr == NULL)
		return -1;
	if (!ldns_rr_list_push_rr(list, rr)) {
		ldns_rr_free(rr);
		return -1;
	}
	return 0;
}

/* Append record i (see make_rr) to list, if there is a list. */
static int
push_record(ldns_rr_list *list, const struct zone *z, size_t i,
	    const ldns_rdf *owner, const struct pkarr_answer_params *p)
{
	if (list == NULL)
		return 0;
	return push_rr(list, make_rr(z, i, owner, p));
}

static bool
zone_has_name(const struct zone *z, const struct name *name)
{
	for (size_t i = 0; i < z->v->n; i++)
		if (owner_is(z, i, name))
			return true;
	return false;
}

/* RFC 4592 section 2.2.2: a name exists when it owns records or has
 * descendants that do (an empty non-terminal); the apex always exists. */
static bool
zone_name_exists(const struct zone *z, const struct name *name)
{
	struct name o;

	if (name_eq(name, z->apex, sizeof(z->apex)))
		return true;
	for (size_t i = 0; i < z->v->n; i++) {
		if (z->v->rr[i].owner_len < name->len)
			continue;
		owner_of(z, i, &o);
		if (name_under(o.w, o.len, name->w, name->len))
			return true;
	}
	return false;
}

/* The record index of the highest NS rrset owner at or above name (apex
 * included), or -1. A DS question at the cut belongs to the parent side:
 * not a cut then. */
static long
zone_find_cut(const struct zone *z, const struct name *name, ldns_rr_type qtype)
{
	long best = -1;
	struct name o;

	for (size_t i = 0; i < z->v->n; i++) {
		const struct pkarr_rr_ref *r = &z->v->rr[i];

		if (r->type != LDNS_RR_TYPE_NS || r->owner_len > name->len)
			continue;
		if (best >= 0 && r->labels >= z->v->rr[best].labels)
			continue;
		owner_of(z, i, &o);
		if (!name_under(name->w, name->len, o.w, o.len))
			continue;
		if (qtype == LDNS_RR_TYPE_DS && name_eq(name, o.w, o.len))
			continue;
		best = (long)i;
	}
	return best;
}

static int
add_delegation(const struct zone *z, size_t cut_i,
	       const struct pkarr_answer_params *p, ldns_rr_list *authority,
	       ldns_rr_list *additional)
{
	struct name cut, ns;

	owner_of(z, cut_i, &cut);
	for (size_t i = 0; i < z->v->n; i++) {
		ldns_rr *rr;
		const ldns_rdf *target;

		if (z->v->rr[i].type != LDNS_RR_TYPE_NS || !owner_is(z, i, &cut))
			continue;
		if (authority == NULL && additional == NULL)
			continue;
		rr = make_rr(z, i, NULL, p);
		if (rr == NULL)
			return -1;
		target = ldns_rr_rd_count(rr) >= 1 ? ldns_rr_rdf(rr, 0) : NULL;
		if (target != NULL && ldns_rdf_size(target) <= NAME_MAX_WIRE)
			name_set(&ns, ldns_rdf_data(target), ldns_rdf_size(target));
		else
			ns.len = 0; /* matches no owner */
		if (authority != NULL) {
			if (push_rr(authority, rr) < 0)
				return -1;
		} else {
			ldns_rr_free(rr);
		}
		if (additional == NULL || target == NULL)
			continue;
		for (size_t j = 0; j < z->v->n; j++) {
			uint16_t t = z->v->rr[j].type;
			if ((t == LDNS_RR_TYPE_A || t == LDNS_RR_TYPE_AAAA) &&
			    owner_is(z, j, &ns) &&
			    push_record(additional, z, j, NULL, p) < 0)
				return -1;
		}
	}
	return 0;
}

static int
add_soa(const struct zone *z, const struct pkarr_answer_params *p,
	ldns_rr_list *authority)
{
	uint32_t neg = pkarr_view_min_ttl(z->v, p);
	uint32_t serial = (uint32_t)(z->v->ts_us / PKARR_US_PER_S);
	uint32_t nums[SOA_NUMS] = {serial, neg, neg, p->max_ttl, neg};
	ldns_rdf *apex;
	ldns_rr *soa;

	if (authority == NULL)
		return 0;
	soa = ldns_rr_new();
	if (soa == NULL)
		return -1;
	ldns_rr_set_type(soa, LDNS_RR_TYPE_SOA);
	ldns_rr_set_class(soa, LDNS_RR_CLASS_IN);
	ldns_rr_set_ttl(soa, neg);
	apex = ldns_dname_new_frm_data(sizeof(z->apex), z->apex);
	ldns_rr_set_owner(soa, apex);
	/* No mailbox exists for a key: rname is the root ("no mail"). */
	if (apex == NULL || !ldns_rr_push_rdf(soa, ldns_rdf_clone(apex)) ||
	    !ldns_rr_push_rdf(soa, ldns_dname_new_frm_str(".")))
		goto fail;
	for (int i = 0; i < SOA_NUMS; i++) {
		ldns_rdf *r = ldns_native2rdf_int32(
			i == 0 ? LDNS_RDF_TYPE_INT32 : LDNS_RDF_TYPE_PERIOD,
			nums[i]);
		if (r == NULL || !ldns_rr_push_rdf(soa, r)) {
			ldns_rdf_deep_free(r);
			goto fail;
		}
	}
	for (size_t i = 0; i < ldns_rr_rd_count(soa); i++)
		if (ldns_rr_rdf(soa, i) == NULL)
			goto fail;
	if (!ldns_rr_list_push_rr(authority, soa))
		goto fail;
	return 0;
fail:
	ldns_rr_free(soa);
	return -1;
}

/* The owner that holds the data for `name`: itself, its wildcard
 * (RFC 4592 section 3.3.1) or nothing (NXDOMAIN) into out. */
static enum pkarr_answer_status
zone_match(const struct zone *z, const struct name *name, struct name *out)
{
	struct name ce;
	size_t off;

	if (zone_name_exists(z, name)) {
		*out = *name;
		return PKARR_ANS_OK;
	}
	/* Closest encloser: the longest existing ancestor; the apex exists,
	 * so the walk ends there at the latest. */
	off = (size_t)name->w[0] + 1;
	for (;;) {
		if (off >= name->len || name->w[off] == 0)
			return PKARR_ANS_SERVFAIL;
		ce.len = name->len - off;
		memcpy(ce.w, name->w + off, ce.len);
		if (zone_name_exists(z, &ce))
			break;
		off += (size_t)name->w[off] + 1;
	}
	out->w[0] = 1;
	out->w[1] = '*';
	memcpy(out->w + 2, ce.w, ce.len);
	out->len = ce.len + 2;
	return zone_has_name(z, out) ? PKARR_ANS_OK : PKARR_ANS_NXDOMAIN;
}

static bool
ends_in_apex(const struct name *name, const struct zone *z)
{
	return name_under(name->w, name->len, z->apex, sizeof(z->apex));
}

/* The records at match (see pkarr_answer_view): pushes those of qtype
 * with owner cur_case; *cname receives the first CNAME's index or -1.
 * @return how many were pushed, or -1 */
static int
push_matches(const struct zone *z, const struct name *match, ldns_rr_type qtype,
	     const ldns_rdf *cur_case, const struct pkarr_answer_params *p,
	     ldns_rr_list *answer, long *cname)
{
	int found = 0;

	*cname = -1;
	for (size_t i = 0; i < z->v->n; i++) {
		uint16_t t = z->v->rr[i].type;

		if (!owner_is(z, i, match))
			continue;
		if (t == LDNS_RR_TYPE_CNAME && *cname < 0)
			*cname = (long)i;
		if (qtype != LDNS_RR_TYPE_ANY && t != qtype)
			continue;
		if (push_record(answer, z, i, cur_case, p) < 0)
			return -1;
		found++;
	}
	return found;
}

enum pkarr_answer_status
pkarr_answer_view(const struct pkarr_view *v, const ldns_rdf *qname,
		  ldns_rr_type qtype, const struct pkarr_answer_params *p,
		  ldns_rr_list *answer, ldns_rr_list *authority,
		  ldns_rr_list *additional, ldns_rdf **target)
{
	struct name visited[PKARR_MAX_CNAME_CHAIN + 1], match;
	const ldns_rdf *cur_case = qname; /* borrowed: qname or a CNAME's */
	size_t nvisited = 0;
	int links = 0;
	struct zone z;

	if (target != NULL)
		*target = NULL;
	if (v == NULL || qname == NULL || p == NULL || answer == NULL ||
	    ldns_rdf_get_type(qname) != LDNS_RDF_TYPE_DNAME ||
	    ldns_rdf_size(qname) > NAME_MAX_WIRE || v->pk == NULL ||
	    (v->n > 0 && v->rr == NULL))
		return PKARR_ANS_SERVFAIL;
	z.v = v;
	z.apex[0] = PKARR_Z32_KEY_LEN;
	pkarr_z32_encode(v->pk, (char *)z.apex + 1); /* its NUL is the root */
	name_set(&visited[0], ldns_rdf_data(qname), ldns_rdf_size(qname));
	if (!ends_in_apex(&visited[0], &z))
		return PKARR_ANS_SERVFAIL; /* caller bug: not this key's name */

	for (;;) {
		struct name *cur = &visited[nvisited];
		enum pkarr_answer_status st;
		ldns_rr *cname_rr;
		long cut, cname;
		int found;

		if (!ends_in_apex(cur, &z)) {
			/* The chain left this key's zone: someone else's. */
			if (target == NULL)
				return PKARR_ANS_SERVFAIL;
			*target = ldns_rdf_clone(cur_case);
			return *target ? PKARR_ANS_CNAME_OUT : PKARR_ANS_SERVFAIL;
		}
		for (size_t i = 0; i < nvisited; i++)
			if (name_eq(&visited[i], cur->w, cur->len))
				return PKARR_ANS_SERVFAIL; /* CNAME loop */
		nvisited++;

		cut = zone_find_cut(&z, cur, qtype);
		if (cut >= 0)
			return add_delegation(&z, (size_t)cut, p, authority,
					      additional) == 0
				       ? PKARR_ANS_DELEGATION
				       : PKARR_ANS_SERVFAIL;
		st = zone_match(&z, cur, &match);
		if (st == PKARR_ANS_NXDOMAIN)
			return add_soa(&z, p, authority) < 0 ? PKARR_ANS_SERVFAIL
							     : st;
		if (st != PKARR_ANS_OK)
			return st;
		found = push_matches(&z, &match, qtype, cur_case, p, answer,
				     &cname);
		if (found < 0)
			return PKARR_ANS_SERVFAIL;
		if (found > 0)
			return PKARR_ANS_OK;
		cname_rr = cname >= 0 ? make_rr(&z, (size_t)cname, cur_case, p)
				      : NULL;
		if (cname >= 0 && cname_rr == NULL)
			return PKARR_ANS_SERVFAIL;
		if (cname_rr == NULL || ldns_rr_rd_count(cname_rr) < 1 ||
		    ldns_rdf_get_type(ldns_rr_rdf(cname_rr, 0)) !=
			    LDNS_RDF_TYPE_DNAME ||
		    ldns_rdf_size(ldns_rr_rdf(cname_rr, 0)) > NAME_MAX_WIRE) {
			/* Exists (or empty non-terminal), not this type. */
			ldns_rr_free(cname_rr);
			return add_soa(&z, p, authority) < 0 ? PKARR_ANS_SERVFAIL
							     : PKARR_ANS_NODATA;
		}
		/* the answer list owns the CNAME, so cur_case lives on */
		if (push_rr(answer, cname_rr) < 0)
			return PKARR_ANS_SERVFAIL;
		if (++links > PKARR_MAX_CNAME_CHAIN)
			return PKARR_ANS_SERVFAIL;
		cur_case = ldns_rr_rdf(cname_rr, 0);
		name_set(&visited[nvisited], ldns_rdf_data(cur_case),
			 ldns_rdf_size(cur_case));
	}
}

enum pkarr_answer_status
pkarr_answer(const struct pkarr_packet *pkt, const ldns_rdf *qname,
	     ldns_rr_type qtype, const struct pkarr_answer_params *p,
	     ldns_rr_list *answer, ldns_rr_list *authority,
	     ldns_rr_list *additional, ldns_rdf **target)
{
	struct pkarr_rr_ref rr[PKARR_MAX_RECORDS];
	struct pkarr_view v;

	if (target != NULL)
		*target = NULL;
	if (pkt == NULL || qname == NULL || p == NULL || answer == NULL)
		return PKARR_ANS_SERVFAIL;
	if (pkarr_view_from_packet(pkt, rr, &v) < 0) {
		log_warn("packet does not load as a zone");
		return PKARR_ANS_SERVFAIL;
	}
	return pkarr_answer_view(&v, qname, qtype, p, answer, authority,
				 additional, target);
}

size_t
pkarr_rr_addrs(const ldns_rr_list *list, uint16_t port, struct sockaddr_storage *addrs,
    size_t max)
{
	size_t n = 0;

	for (size_t i = 0; list && i < ldns_rr_list_rr_count(list) && n < max; i++) {
		ldns_rr *rr = ldns_rr_list_rr(list, i);
		ldns_rdf *a = ldns_rr_rd_count(rr) ? ldns_rr_rdf(rr, 0) : NULL;
		struct sockaddr_storage *ss = &addrs[n];
		memset(ss, 0, sizeof(*ss));
		if (!a)
			continue;
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_A && ldns_rdf_size(a) == 4) {
			struct sockaddr_in *sin = (struct sockaddr_in *)ss;
			sin->sin_family = AF_INET;
			sin->sin_port = htons(port);
			memcpy(&sin->sin_addr, ldns_rdf_data(a), 4);
			n++;
		} else if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_AAAA && ldns_rdf_size(a) == 16) {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
			sin6->sin6_family = AF_INET6;
			sin6->sin6_port = htons(port);
			memcpy(&sin6->sin6_addr, ldns_rdf_data(a), 16);
			n++;
		}
	}
	return n;
}
