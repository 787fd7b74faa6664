/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * oracle_answer.c -- the ldns answering code that src/pkarr/answer.c used
 * before the parsed-once packet form (commit b23926e): it parses the
 * packet with ldns_wire2pkt on every call. Kept only as the oracle of the
 * differential fuzz target fuzz_pkarr_answer.c, which checks that the
 * answers from the cache's parsed form are, record for record, what this
 * code gives. Not part of the daemon.
 */
#include "config.h"

#include <string.h>

#include <ldns/ldns.h>

#include "pkarr/answer.h"
#include "pkarr/zbase32.h"
#include "oracle_answer.h"

/* A 1000-byte message cannot hold more: each RR takes >= 11 bytes. */
#define MAX_RECORDS 100

struct rec {
	ldns_rdf *owner; /* canonical (lower-case) clone */
	ldns_rr *rr;     /* borrowed from zone.pkt */
};

struct zone {
	ldns_pkt *pkt;
	ldns_rdf *apex; /* "<key>." lower case */
	struct rec recs[MAX_RECORDS];
	size_t n;
};

static ldns_rdf *
oracle_key_dname(const uint8_t pk[32])
{
	char z32[PKARR_Z32_KEY_LEN + 1];
	uint8_t wire[PKARR_Z32_KEY_LEN + 2];

	if (pk == NULL)
		return NULL;
	pkarr_z32_encode(pk, z32);
	wire[0] = PKARR_Z32_KEY_LEN;
	memcpy(wire + 1, z32, PKARR_Z32_KEY_LEN);
	wire[PKARR_Z32_KEY_LEN + 1] = 0;
	return ldns_dname_new_frm_data(sizeof(wire), wire);
}

/* A dname in canonical form (RFC 4034 section 6.2: ASCII letters lower
 * case). Length bytes are below 'A', so the whole wire form can be
 * folded; ldns_dname2canonical does the same through the locale's
 * tolower, 20 instructions a byte, for every record of every packet. */
static void
name_lower(ldns_rdf *name)
{
	uint8_t *p = ldns_rdf_data(name);

	for (size_t i = 0; i < ldns_rdf_size(name); i++)
		if (p[i] >= 'A' && p[i] <= 'Z')
			p[i] = (uint8_t)(p[i] + ('a' - 'A'));
}

/* Every name compared here is canonical (lower case, uncompressed wire
 * form: name_lower, or the z-base32 key, which is lower case),
 * so equal names are equal bytes. ldns_dname_compare folds case again and
 * ldns_dname_is_subdomain allocates every label: answering from a
 * 30-record packet cost 600k instructions, most of them there. */
static bool
name_eq(const ldns_rdf *a, const ldns_rdf *b)
{
	return ldns_rdf_size(a) == ldns_rdf_size(b) &&
	    memcmp(ldns_rdf_data(a), ldns_rdf_data(b), ldns_rdf_size(a)) == 0;
}

/* Is `name` equal to or below `parent`: does parent's wire form end
 * name's, starting at one of name's label boundaries? */
static bool
name_under(const ldns_rdf *name, const ldns_rdf *parent)
{
	const uint8_t *n = ldns_rdf_data(name);
	size_t nl = ldns_rdf_size(name), pl = ldns_rdf_size(parent), o = 0;

	if (pl == 0 || pl > nl)
		return false;
	while (nl - o > pl) {
		o += (size_t)n[o] + 1; /* the next label */
		if (o >= nl)
			return false;
	}
	return nl - o == pl && memcmp(n + o, ldns_rdf_data(parent), pl) == 0;
}

static void
zone_free(struct zone *z)
{
	for (size_t i = 0; i < z->n; i++)
		ldns_rdf_deep_free(z->recs[i].owner);
	z->n = 0;
	ldns_rdf_deep_free(z->apex);
	z->apex = NULL;
	ldns_pkt_free(z->pkt);
	z->pkt = NULL;
}

static int
zone_load(struct zone *z, const struct pkarr_packet *pkt)
{
	ldns_rr_list *an;

	memset(z, 0, sizeof(*z));
	if (pkt->dns_len > PKARR_MAX_DNS)
		return PKARR_E_SIZE;
	if (ldns_wire2pkt(&z->pkt, pkt->dns, pkt->dns_len) != LDNS_STATUS_OK)
		return PKARR_E_DNS;
	z->apex = oracle_key_dname(pkt->pk);
	if (z->apex == NULL) {
		zone_free(z);
		return PKARR_E_NOMEM;
	}
	/* pkarr writers put every record in the answer section. */
	an = ldns_pkt_answer(z->pkt);
	for (size_t i = 0; an != NULL && i < ldns_rr_list_rr_count(an); i++) {
		ldns_rr *rr = ldns_rr_list_rr(an, i);
		ldns_rdf *o;

		if (ldns_rr_owner(rr) == NULL ||
		    ldns_rdf_get_type(ldns_rr_owner(rr)) != LDNS_RDF_TYPE_DNAME)
			continue;
		o = ldns_rdf_clone(ldns_rr_owner(rr));
		if (o == NULL) {
			zone_free(z);
			return PKARR_E_NOMEM;
		}
		name_lower(o);
		/* Records outside the key are not the key's to publish. */
		if (!name_under(o, z->apex) || z->n >= MAX_RECORDS) {
			ldns_rdf_deep_free(o);
			continue;
		}
		z->recs[z->n].owner = o;
		z->recs[z->n].rr = rr;
		z->n++;
	}
	return 0;
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

static uint32_t
zone_min_ttl(const struct zone *z, const struct pkarr_answer_params *p)
{
	uint32_t best = 0;

	if (z->n == 0)
		return clamp_ttl(p->min_ttl, p);
	for (size_t i = 0; i < z->n; i++) {
		uint32_t t = clamp_ttl(ldns_rr_ttl(z->recs[i].rr), p);
		if (i == 0 || t < best)
			best = t;
	}
	return best;
}

int
oracle_min_ttl(const struct pkarr_packet *pkt,
		     const struct pkarr_answer_params *p, uint32_t *ttl)
{
	struct zone z;
	int rc;

	if (pkt == NULL || p == NULL || ttl == NULL)
		return PKARR_E_INVAL;
	rc = zone_load(&z, pkt);
	if (rc < 0)
		return rc;
	*ttl = zone_min_ttl(&z, p);
	zone_free(&z);
	return 0;
}

static bool
zone_has_name(const struct zone *z, const ldns_rdf *name)
{
	for (size_t i = 0; i < z->n; i++)
		if (name_eq(z->recs[i].owner, name))
			return true;
	return false;
}

/* RFC 4592 section 2.2.2: a name exists when it owns records or has
 * descendants that do (an empty non-terminal); the apex always exists. */
static bool
zone_name_exists(const struct zone *z, const ldns_rdf *name)
{
	if (name_eq(name, z->apex))
		return true;
	for (size_t i = 0; i < z->n; i++)
		if (name_under(z->recs[i].owner, name))
			return true;
	return false;
}

/* Append a clone of rr with a clamped TTL and, when owner is not NULL, that
 * owner instead of the record's own. */
static int
push_clone(ldns_rr_list *list, const ldns_rr *rr, const ldns_rdf *owner,
	   const struct pkarr_answer_params *p)
{
	ldns_rr *c;

	if (list == NULL)
		return 0;
	c = ldns_rr_clone(rr);
	if (c == NULL)
		return -1;
	if (owner != NULL) {
		ldns_rdf *o = ldns_rdf_clone(owner);
		if (o == NULL) {
			ldns_rr_free(c);
			return -1;
		}
		ldns_rdf_deep_free(ldns_rr_owner(c));
		ldns_rr_set_owner(c, o);
	}
	ldns_rr_set_ttl(c, clamp_ttl(ldns_rr_ttl(c), p));
	if (!ldns_rr_list_push_rr(list, c)) {
		ldns_rr_free(c);
		return -1;
	}
	return 0;
}

/* The highest NS rrset owner at or above name (apex included), or NULL.
 * A DS question at the cut belongs to the parent side: not a cut then. */
static const ldns_rdf *
zone_find_cut(const struct zone *z, const ldns_rdf *name, ldns_rr_type qtype)
{
	const ldns_rdf *best = NULL;

	for (size_t i = 0; i < z->n; i++) {
		const ldns_rdf *o = z->recs[i].owner;
		if (ldns_rr_get_type(z->recs[i].rr) != LDNS_RR_TYPE_NS)
			continue;
		if (!name_under(name, o))
			continue;
		if (qtype == LDNS_RR_TYPE_DS && name_eq(name, o))
			continue;
		if (best == NULL ||
		    ldns_dname_label_count(o) < ldns_dname_label_count(best))
			best = o;
	}
	return best;
}

static int
add_delegation(const struct zone *z, const ldns_rdf *cut,
	       const struct pkarr_answer_params *p, ldns_rr_list *authority,
	       ldns_rr_list *additional)
{
	for (size_t i = 0; i < z->n; i++) {
		const ldns_rr *rr = z->recs[i].rr;
		ldns_rdf *ns;

		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_NS ||
		    !name_eq(z->recs[i].owner, cut))
			continue;
		if (push_clone(authority, rr, NULL, p) < 0)
			return -1;
		if (additional == NULL || ldns_rr_rd_count(rr) < 1)
			continue;
		ns = ldns_rdf_clone(ldns_rr_rdf(rr, 0));
		if (ns == NULL)
			return -1;
		name_lower(ns);
		for (size_t j = 0; j < z->n; j++) {
			ldns_rr_type t = ldns_rr_get_type(z->recs[j].rr);
			if ((t == LDNS_RR_TYPE_A || t == LDNS_RR_TYPE_AAAA) &&
			    name_eq(z->recs[j].owner, ns) &&
			    push_clone(additional, z->recs[j].rr, NULL, p) < 0) {
				ldns_rdf_deep_free(ns);
				return -1;
			}
		}
		ldns_rdf_deep_free(ns);
	}
	return 0;
}

static int
add_soa(const struct zone *z, const struct pkarr_packet *pkt,
	const struct pkarr_answer_params *p, ldns_rr_list *authority)
{
	uint32_t neg = zone_min_ttl(z, p);
	uint32_t serial = (uint32_t)(pkt->ts_us / 1000000u);
	uint32_t nums[5] = {serial, neg, neg, p->max_ttl, neg};
	ldns_rr *soa;

	if (authority == NULL)
		return 0;
	soa = ldns_rr_new();
	if (soa == NULL)
		return -1;
	ldns_rr_set_type(soa, LDNS_RR_TYPE_SOA);
	ldns_rr_set_class(soa, LDNS_RR_CLASS_IN);
	ldns_rr_set_ttl(soa, neg);
	ldns_rr_set_owner(soa, ldns_rdf_clone(z->apex));
	/* No mailbox exists for a key: rname is the root ("no mail"). */
	if (ldns_rr_owner(soa) == NULL ||
	    !ldns_rr_push_rdf(soa, ldns_rdf_clone(z->apex)) ||
	    !ldns_rr_push_rdf(soa, ldns_dname_new_frm_str(".")))
		goto fail;
	for (int i = 0; i < 5; i++) {
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
 * (RFC 4592 section 3.3.1) or nothing (NXDOMAIN). *out is a new rdf. */
static enum pkarr_answer_status
zone_match(const struct zone *z, const ldns_rdf *name, ldns_rdf **out)
{
	ldns_rdf *ce, *wc;
	uint8_t wire[LDNS_MAX_DOMAINLEN + 2];
	size_t cl;

	*out = NULL;
	if (zone_name_exists(z, name)) {
		*out = ldns_rdf_clone(name);
		return *out ? PKARR_ANS_OK : PKARR_ANS_SERVFAIL;
	}
	/* Closest encloser: the longest existing ancestor; the apex exists,
	 * so the walk ends there at the latest. */
	ce = ldns_dname_left_chop(name);
	while (ce != NULL && !zone_name_exists(z, ce)) {
		ldns_rdf *up = ldns_dname_left_chop(ce);
		ldns_rdf_deep_free(ce);
		ce = up;
	}
	if (ce == NULL)
		return PKARR_ANS_SERVFAIL;
	cl = ldns_rdf_size(ce);
	if (cl + 2 > sizeof(wire)) {
		ldns_rdf_deep_free(ce);
		return PKARR_ANS_SERVFAIL;
	}
	wire[0] = 1;
	wire[1] = '*';
	memcpy(wire + 2, ldns_rdf_data(ce), cl);
	ldns_rdf_deep_free(ce);
	wc = ldns_dname_new_frm_data((uint16_t)(cl + 2), wire);
	if (wc == NULL)
		return PKARR_ANS_SERVFAIL;
	if (!zone_has_name(z, wc)) {
		ldns_rdf_deep_free(wc);
		return PKARR_ANS_NXDOMAIN;
	}
	*out = wc;
	return PKARR_ANS_OK;
}

/* The last label before the root equals the apex's only label. */
static bool
ends_in_apex(const ldns_rdf *name, const struct zone *z)
{
	return name_under(name, z->apex);
}

enum pkarr_answer_status
oracle_answer(const struct pkarr_packet *pkt, const ldns_rdf *qname,
	     ldns_rr_type qtype, const struct pkarr_answer_params *p,
	     ldns_rr_list *answer, ldns_rr_list *authority,
	     ldns_rr_list *additional, ldns_rdf **target)
{
	enum pkarr_answer_status st = PKARR_ANS_SERVFAIL;
	ldns_rdf *visited[PKARR_MAX_CNAME_CHAIN + 1];
	ldns_rdf *cur = NULL, *cur_case = NULL, *match = NULL;
	size_t nvisited = 0;
	int links = 0;
	struct zone z;

	if (target != NULL)
		*target = NULL;
	if (pkt == NULL || qname == NULL || p == NULL || answer == NULL ||
	    ldns_rdf_get_type(qname) != LDNS_RDF_TYPE_DNAME)
		return PKARR_ANS_SERVFAIL;
	if (zone_load(&z, pkt) < 0) {
		return PKARR_ANS_SERVFAIL;
	}
	cur_case = ldns_rdf_clone(qname);
	cur = ldns_rdf_clone(qname);
	if (cur == NULL || cur_case == NULL)
		goto out;
	name_lower(cur);
	if (!ends_in_apex(cur, &z))
		goto out; /* caller bug: the name must end in this key */

	for (;;) {
		const ldns_rdf *cut;
		const ldns_rr *cname = NULL;
		bool found = false;

		if (!ends_in_apex(cur, &z)) {
			/* The chain left this key's zone: someone else's. */
			if (target == NULL)
				goto out;
			*target = cur_case;
			cur_case = NULL;
			st = PKARR_ANS_CNAME_OUT;
			goto out;
		}
		for (size_t i = 0; i < nvisited; i++)
			if (name_eq(visited[i], cur))
				goto out; /* CNAME loop */
		visited[nvisited++] = cur;

		cut = zone_find_cut(&z, cur, qtype);
		if (cut != NULL) {
			if (add_delegation(&z, cut, p, authority, additional) == 0)
				st = PKARR_ANS_DELEGATION;
			goto out;
		}
		st = zone_match(&z, cur, &match);
		if (st == PKARR_ANS_NXDOMAIN) {
			if (add_soa(&z, pkt, p, authority) < 0)
				st = PKARR_ANS_SERVFAIL;
			goto out;
		}
		st = PKARR_ANS_SERVFAIL;
		if (match == NULL)
			goto out;
		for (size_t i = 0; i < z.n; i++) {
			const ldns_rr *rr = z.recs[i].rr;
			ldns_rr_type t = ldns_rr_get_type(rr);

			if (!name_eq(z.recs[i].owner, match))
				continue;
			if (t == LDNS_RR_TYPE_CNAME && cname == NULL)
				cname = rr;
			if (qtype != LDNS_RR_TYPE_ANY && t != qtype)
				continue;
			if (push_clone(answer, rr, cur_case, p) < 0)
				goto out;
			found = true;
		}
		ldns_rdf_deep_free(match);
		match = NULL;
		if (found) {
			st = PKARR_ANS_OK;
			goto out;
		}
		if (cname == NULL || ldns_rr_rd_count(cname) < 1 ||
		    ldns_rdf_get_type(ldns_rr_rdf(cname, 0)) !=
			    LDNS_RDF_TYPE_DNAME) {
			/* Exists (or empty non-terminal), not this type. */
			st = add_soa(&z, pkt, p, authority) < 0
				     ? PKARR_ANS_SERVFAIL
				     : PKARR_ANS_NODATA;
			goto out;
		}
		if (push_clone(answer, cname, cur_case, p) < 0)
			goto out;
		if (++links > PKARR_MAX_CNAME_CHAIN)
			goto out;
		ldns_rdf_deep_free(cur_case);
		cur_case = ldns_rdf_clone(ldns_rr_rdf(cname, 0));
		/* cur stays owned by visited[]; start a new one. */
		cur = ldns_rdf_clone(ldns_rr_rdf(cname, 0));
		if (cur == NULL || cur_case == NULL)
			goto out;
		name_lower(cur);
	}
out:
	if (nvisited == 0 || (cur != NULL && visited[nvisited - 1] != cur))
		ldns_rdf_deep_free(cur);
	for (size_t i = 0; i < nvisited; i++)
		ldns_rdf_deep_free(visited[i]);
	ldns_rdf_deep_free(cur_case);
	ldns_rdf_deep_free(match);
	zone_free(&z);
	return st;
}
