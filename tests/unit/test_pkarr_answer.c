/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_pkarr_answer.c -- every answering rule of pkarr_answer(): exact
 * matches, case, TTL clamps, NODATA/NXDOMAIN with SOA, empty
 * non-terminals, RFC 4592 wildcards, CNAME chains (inside, out, limits,
 * loops), ANY, delegations with glue, and the JS vectors' packets; and
 * pkarr_rr_addrs(), the A/AAAA records of a list as socket addresses.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ldns/ldns.h>

#include "pkarr/answer.h"
#include "pkarr/packet.h"
#include "pkarr/zbase32.h"
#include "pkarr/zone.h"
#include "pkarr_testutil.h"
#include "tap.h"
#include "testutil.h"

static const struct pkarr_answer_params P = {60, 86400};
static const uint8_t SEED[32] = {0x42, 1, 2, 3};
static char KEY[53];

struct res {
	enum pkarr_answer_status st;
	ldns_rr_list *an, *ns, *ad;
	ldns_rdf *target;
};

static void
res_free(struct res *r)
{
	ldns_rr_list_deep_free(r->an);
	ldns_rr_list_deep_free(r->ns);
	ldns_rr_list_deep_free(r->ad);
	ldns_rdf_deep_free(r->target);
	memset(r, 0, sizeof(*r));
}

static int
make(struct pkarr_packet *pkt, const char *zone, uint64_t ts)
{
	return tu_zone_packet(pkt, SEED, ts, zone, KEY);
}

/* rel "@" = the key; otherwise "<rel>.<key>."; rel ending in '.' = as is */
static ldns_rdf *
name(const char *rel)
{
	return tu_key_dname(KEY, rel);
}

static struct res
ask_rdf(const struct pkarr_packet *pkt, const ldns_rdf *q, ldns_rr_type t)
{
	struct res r;

	r.an = ldns_rr_list_new();
	r.ns = ldns_rr_list_new();
	r.ad = ldns_rr_list_new();
	r.target = NULL;
	r.st = pkarr_answer(pkt, q, t, &P, r.an, r.ns, r.ad, &r.target);
	return r;
}

static struct res
ask(const struct pkarr_packet *pkt, const char *rel, ldns_rr_type t)
{
	ldns_rdf *q = name(rel);
	struct res r = ask_rdf(pkt, q, t);
	ldns_rdf_deep_free(q);
	return r;
}

static size_t
n_of(const ldns_rr_list *l)
{
	return ldns_rr_list_rr_count(l);
}

static ldns_rr_type
type_at(const ldns_rr_list *l, size_t i)
{
	return ldns_rr_get_type(ldns_rr_list_rr(l, i));
}

static bool
owner_is(const ldns_rr_list *l, size_t i, const char *rel)
{
	ldns_rdf *want = name(rel);
	bool same;

	if (i >= n_of(l)) {
		ldns_rdf_deep_free(want);
		return false;
	}
	same = ldns_rdf_compare(ldns_rr_owner(ldns_rr_list_rr(l, i)), want) == 0;
	ldns_rdf_deep_free(want);
	return same;
}

static bool
rdata_str(const ldns_rr_list *l, size_t i, size_t field, const char *want)
{
	char *s;
	bool same;

	if (i >= n_of(l))
		return false;
	s = ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(l, i), field));
	same = s != NULL && strcmp(s, want) == 0;
	if (!same)
		printf("#   rdata %s, want %s\n", s ? s : "(null)", want);
	free(s);
	return same;
}

static void
test_basic(void)
{
	struct pkarr_packet pkt;
	struct res r;
	uint32_t ttl = 0;

	if (!ok(make(&pkt, "@ 10 A 1.2.3.4\n"
			   "@ 100000 A 5.6.7.8\n"
			   "www 300 TXT \"hello\" \"world\"\n"
			   "mx 300 MX 10 mail.example.\n"
			   "svc 300 SVCB 1 . alpn=h2 port=8443\n"
			   "a.b.c 300 A 10.0.0.1\n",
		     1700000000123456ull) == 0,
		"build packet"))
		return;

	r = ask(&pkt, "@", LDNS_RR_TYPE_A);
	is_int(r.st, PKARR_ANS_OK, "apex A");
	is_int(n_of(r.an), 2, "two A records");
	is_int(ldns_rr_ttl(ldns_rr_list_rr(r.an, 0)), 60, "TTL 10 clamped to 60");
	is_int(ldns_rr_ttl(ldns_rr_list_rr(r.an, 1)), 86400,
	       "TTL 100000 clamped to 86400");
	ok(rdata_str(r.an, 0, 0, "1.2.3.4"), "first address");
	is_int(n_of(r.ns), 0, "no authority on OK");
	res_free(&r);

	/* Case: the whole name in upper case, answer keeps the asked case. */
	{
		char buf[128];
		ldns_rdf *q;
		snprintf(buf, sizeof(buf), "WwW.%s.", KEY);
		for (char *c = buf + 4; *c; c++)
			*c = (char)toupper((unsigned char)*c);
		q = ldns_dname_new_frm_str(buf);
		r = ask_rdf(&pkt, q, LDNS_RR_TYPE_TXT);
		is_int(r.st, PKARR_ANS_OK, "upper-case question matches");
		ok(n_of(r.an) == 1 &&
			   ldns_rdf_compare(ldns_rr_owner(ldns_rr_list_rr(r.an, 0)),
					    q) == 0,
		   "owner in the question's case");
		is_int(n_of(r.an) ? ldns_rr_rd_count(ldns_rr_list_rr(r.an, 0)) : 0,
		       2, "TXT with two strings served");
		ldns_rdf_deep_free(q);
		res_free(&r);
	}

	r = ask(&pkt, "mx", LDNS_RR_TYPE_MX);
	ok(r.st == PKARR_ANS_OK && rdata_str(r.an, 0, 1, "mail.example."),
	   "MX served");
	res_free(&r);
	r = ask(&pkt, "svc", LDNS_RR_TYPE_SVCB);
	ok(r.st == PKARR_ANS_OK && n_of(r.an) == 1, "SVCB served");
	res_free(&r);

	r = ask(&pkt, "@", LDNS_RR_TYPE_AAAA);
	is_int(r.st, PKARR_ANS_NODATA, "apex AAAA: NODATA");
	is_int(n_of(r.an), 0, "no answer records");
	ok(n_of(r.ns) == 1 && type_at(r.ns, 0) == LDNS_RR_TYPE_SOA &&
		   owner_is(r.ns, 0, "@"),
	   "SOA of the key in authority");
	if (n_of(r.ns) == 1) {
		ldns_rr *soa = ldns_rr_list_rr(r.ns, 0);
		is_int(ldns_rdf2native_int32(ldns_rr_rdf(soa, 2)), 1700000000u,
		       "SOA serial = timestamp in seconds");
		is_int(ldns_rdf2native_int32(ldns_rr_rdf(soa, 6)), 60,
		       "SOA minimum = smallest clamped TTL");
		is_int(ldns_rr_ttl(soa), 60, "SOA TTL");
	}
	res_free(&r);

	r = ask(&pkt, "nothere", LDNS_RR_TYPE_A);
	is_int(r.st, PKARR_ANS_NXDOMAIN, "missing name: NXDOMAIN");
	ok(n_of(r.ns) == 1 && type_at(r.ns, 0) == LDNS_RR_TYPE_SOA,
	   "NXDOMAIN carries the SOA");
	res_free(&r);

	r = ask(&pkt, "b.c", LDNS_RR_TYPE_A);
	is_int(r.st, PKARR_ANS_NODATA, "empty non-terminal b.c: NODATA");
	res_free(&r);
	r = ask(&pkt, "c", LDNS_RR_TYPE_A);
	is_int(r.st, PKARR_ANS_NODATA, "empty non-terminal c: NODATA");
	res_free(&r);
	r = ask(&pkt, "x.a.b.c", LDNS_RR_TYPE_A);
	is_int(r.st, PKARR_ANS_NXDOMAIN, "below a leaf: NXDOMAIN");
	res_free(&r);

	r = ask(&pkt, "@", LDNS_RR_TYPE_ANY);
	ok(r.st == PKARR_ANS_OK && n_of(r.an) == 2, "ANY at the apex");
	res_free(&r);

	r = ask(&pkt, "www.example.com.", LDNS_RR_TYPE_A);
	is_int(r.st, PKARR_ANS_SERVFAIL, "name outside the key: SERVFAIL");
	res_free(&r);
	{
		char buf[128];
		ldns_rdf *q;
		snprintf(buf, sizeof(buf), "www.%s.",
			 "j144z7ipx879mk7h3m6cr4qamujgk8swznn5mbw9ropq5hffzewo");
		q = ldns_dname_new_frm_str(buf);
		r = ask_rdf(&pkt, q, LDNS_RR_TYPE_TXT);
		is_int(r.st, PKARR_ANS_SERVFAIL, "another key: SERVFAIL");
		ldns_rdf_deep_free(q);
		res_free(&r);
		snprintf(buf, sizeof(buf), "www.%s.key.", KEY);
		q = ldns_dname_new_frm_str(buf);
		r = ask_rdf(&pkt, q, LDNS_RR_TYPE_TXT);
		is_int(r.st, PKARR_ANS_SERVFAIL,
		       "unstripped suffix: SERVFAIL (caller strips it)");
		ldns_rdf_deep_free(q);
		res_free(&r);
	}

	is_int(pkarr_packet_min_ttl(&pkt, &P, &ttl), 0, "min ttl");
	is_int(ttl, 60, "packet freshness = smallest clamped TTL");
	{
		struct pkarr_answer_params wide = {1, 1000000};
		pkarr_packet_min_ttl(&pkt, &wide, &ttl);
		is_int(ttl, 10, "unclamped smallest TTL");
	}
}

static void
test_wildcards(void)
{
	struct pkarr_packet pkt;
	struct res r;

	if (!ok(make(&pkt, "* 300 TXT wild\n"
			   "*.w 300 A 10.9.9.9\n"
			   "*.cn 300 CNAME target\n"
			   "target 300 A 10.1.1.1\n"
			   "a.b.c 300 A 10.0.0.1\n"
			   "host 300 A 10.0.0.2\n",
		     5) == 0,
		"build wildcard packet"))
		return;

	r = ask(&pkt, "foo", LDNS_RR_TYPE_TXT);
	is_int(r.st, PKARR_ANS_OK, "foo TXT from *.<key>");
	ok(owner_is(r.an, 0, "foo"), "owner is the question's name");
	ok(rdata_str(r.an, 0, 0, "\"wild\""), "wildcard data");
	res_free(&r);
	r = ask(&pkt, "x.y.z", LDNS_RR_TYPE_TXT);
	ok(r.st == PKARR_ANS_OK && owner_is(r.an, 0, "x.y.z"),
	   "several labels below the apex match too");
	res_free(&r);
	r = ask(&pkt, "foo", LDNS_RR_TYPE_A);
	is_int(r.st, PKARR_ANS_NODATA, "wildcard without the type: NODATA");
	res_free(&r);
	r = ask(&pkt, "host", LDNS_RR_TYPE_TXT);
	is_int(r.st, PKARR_ANS_NODATA, "existing name is not covered by *");
	res_free(&r);
	r = ask(&pkt, "b.c", LDNS_RR_TYPE_TXT);
	is_int(r.st, PKARR_ANS_NODATA, "empty non-terminal is not covered by *");
	res_free(&r);
	r = ask(&pkt, "q.b.c", LDNS_RR_TYPE_TXT);
	is_int(r.st, PKARR_ANS_NXDOMAIN,
	       "closest encloser b.c has no wildcard: NXDOMAIN");
	res_free(&r);
	r = ask(&pkt, "sub.host", LDNS_RR_TYPE_TXT);
	is_int(r.st, PKARR_ANS_NXDOMAIN, "closest encloser host: NXDOMAIN");
	res_free(&r);
	r = ask(&pkt, "m.w", LDNS_RR_TYPE_A);
	ok(r.st == PKARR_ANS_OK && owner_is(r.an, 0, "m.w") &&
		   rdata_str(r.an, 0, 0, "10.9.9.9"),
	   "*.w answers m.w");
	res_free(&r);
	r = ask(&pkt, "w", LDNS_RR_TYPE_TXT);
	is_int(r.st, PKARR_ANS_NODATA, "w exists (parent of *.w): NODATA");
	res_free(&r);
	r = ask(&pkt, "*", LDNS_RR_TYPE_TXT);
	ok(r.st == PKARR_ANS_OK && owner_is(r.an, 0, "*"),
	   "asking for * itself");
	res_free(&r);
	r = ask(&pkt, "k.cn", LDNS_RR_TYPE_A);
	ok(r.st == PKARR_ANS_OK && n_of(r.an) == 2 &&
		   type_at(r.an, 0) == LDNS_RR_TYPE_CNAME &&
		   owner_is(r.an, 0, "k.cn") && owner_is(r.an, 1, "target"),
	   "wildcard CNAME followed, owner synthesised");
	res_free(&r);
}

static void
test_cnames(void)
{
	struct pkarr_packet pkt;
	struct res r;
	char zone[4096];
	int n;

	n = snprintf(zone, sizeof(zone),
		     "www 300 CNAME web\n"
		     "web 300 A 1.2.3.4\n"
		     "web 300 TXT hi\n"
		     "out 300 CNAME example.com.\n"
		     "other 300 CNAME _x.j144z7ipx879mk7h3m6cr4qamujgk8swznn5mbw9ropq5hffzewo.\n"
		     "dangling 300 CNAME nope\n"
		     "l1 300 CNAME l2\nl2 300 CNAME l1\n"
		     "self 300 CNAME self\n"
		     "two 300 CNAME www\n");
	/* c0 -> c1 -> ... -> c9 A: 9 links from c0, 8 from c1. */
	for (int i = 0; i < 9; i++)
		n += snprintf(zone + n, sizeof(zone) - (size_t)n,
			      "c%d 300 CNAME c%d\n", i, i + 1);
	snprintf(zone + n, sizeof(zone) - (size_t)n, "c9 300 A 9.9.9.9\n");
	if (!ok(make(&pkt, zone, 7) == 0, "build CNAME packet"))
		return;

	r = ask(&pkt, "www", LDNS_RR_TYPE_A);
	is_int(r.st, PKARR_ANS_OK, "CNAME inside the packet followed");
	ok(n_of(r.an) == 2 && type_at(r.an, 0) == LDNS_RR_TYPE_CNAME &&
		   owner_is(r.an, 0, "www") && type_at(r.an, 1) == LDNS_RR_TYPE_A &&
		   owner_is(r.an, 1, "web"),
	   "CNAME then A, each with its owner");
	res_free(&r);
	r = ask(&pkt, "two", LDNS_RR_TYPE_TXT);
	ok(r.st == PKARR_ANS_OK && n_of(r.an) == 3, "two links then TXT");
	res_free(&r);
	r = ask(&pkt, "www", LDNS_RR_TYPE_CNAME);
	ok(r.st == PKARR_ANS_OK && n_of(r.an) == 1 &&
		   type_at(r.an, 0) == LDNS_RR_TYPE_CNAME,
	   "qtype CNAME: the CNAME only");
	res_free(&r);
	r = ask(&pkt, "www", LDNS_RR_TYPE_ANY);
	ok(r.st == PKARR_ANS_OK && n_of(r.an) == 1 &&
		   type_at(r.an, 0) == LDNS_RR_TYPE_CNAME,
	   "ANY at a CNAME: not followed");
	res_free(&r);
	r = ask(&pkt, "www", LDNS_RR_TYPE_AAAA);
	ok(r.st == PKARR_ANS_NODATA && n_of(r.an) == 1 && n_of(r.ns) == 1,
	   "chain ends in NODATA: CNAME in answer, SOA in authority");
	res_free(&r);

	r = ask(&pkt, "out", LDNS_RR_TYPE_A);
	is_int(r.st, PKARR_ANS_CNAME_OUT, "CNAME to an ICANN name");
	ok(r.target != NULL && n_of(r.an) == 1, "target set, CNAME in answer");
	if (r.target) {
		char *s = ldns_rdf2str(r.target);
		ok(s && strcmp(s, "example.com.") == 0, "target %s", s);
		free(s);
	}
	res_free(&r);
	r = ask(&pkt, "other", LDNS_RR_TYPE_TXT);
	is_int(r.st, PKARR_ANS_CNAME_OUT, "CNAME to another key");
	if (r.target) {
		char *s = ldns_rdf2str(r.target);
		ok(s && strcmp(s, "_x.j144z7ipx879mk7h3m6cr4qamujgk8swznn5mbw9ropq5hffzewo.") == 0,
		   "target %s", s);
		free(s);
	}
	res_free(&r);
	r = ask(&pkt, "dangling", LDNS_RR_TYPE_A);
	ok(r.st == PKARR_ANS_NXDOMAIN && n_of(r.an) == 1 && n_of(r.ns) == 1,
	   "CNAME to a missing name: NXDOMAIN with the CNAME (RFC 6604)");
	res_free(&r);
	r = ask(&pkt, "l1", LDNS_RR_TYPE_A);
	is_int(r.st, PKARR_ANS_SERVFAIL, "CNAME loop: SERVFAIL");
	res_free(&r);
	r = ask(&pkt, "self", LDNS_RR_TYPE_A);
	is_int(r.st, PKARR_ANS_SERVFAIL, "CNAME to itself: SERVFAIL");
	res_free(&r);
	r = ask(&pkt, "c1", LDNS_RR_TYPE_A);
	ok(r.st == PKARR_ANS_OK && n_of(r.an) == 9, "8 links followed");
	res_free(&r);
	r = ask(&pkt, "c0", LDNS_RR_TYPE_A);
	is_int(r.st, PKARR_ANS_SERVFAIL, "9 links: SERVFAIL");
	res_free(&r);
}

static void
test_delegation(void)
{
	struct pkarr_packet pkt;
	struct res r;

	if (!ok(make(&pkt, "sub 300 NS ns1.sub\n"
			   "sub 300 NS ns.example.net.\n"
			   "ns1.sub 300 A 10.0.0.53\n"
			   "ns1.sub 300 AAAA ::53\n"
			   "sub 300 DS 12345 13 2 "
			   "e2d3c916f6deeac73294e8268fb5885044a833fc5459588f4a9184cfc41a5766\n"
			   "into 300 CNAME www.sub\n"
			   "@ 300 A 1.1.1.1\n",
		     9) == 0,
		"build delegation packet"))
		return;
	r = ask(&pkt, "www.sub", LDNS_RR_TYPE_A);
	is_int(r.st, PKARR_ANS_DELEGATION, "name below NS: DELEGATION");
	ok(n_of(r.an) == 0 && n_of(r.ns) == 2 &&
		   type_at(r.ns, 0) == LDNS_RR_TYPE_NS && owner_is(r.ns, 0, "sub"),
	   "NS rrset in authority");
	ok(n_of(r.ad) == 2, "glue A and AAAA in additional");
	res_free(&r);
	r = ask(&pkt, "sub", LDNS_RR_TYPE_A);
	is_int(r.st, PKARR_ANS_DELEGATION, "the cut itself: DELEGATION");
	res_free(&r);
	r = ask(&pkt, "sub", LDNS_RR_TYPE_DS);
	ok(r.st == PKARR_ANS_OK && n_of(r.an) == 1, "DS at the cut answered");
	res_free(&r);
	r = ask(&pkt, "into", LDNS_RR_TYPE_A);
	ok(r.st == PKARR_ANS_DELEGATION && n_of(r.an) == 1 && n_of(r.ns) == 2,
	   "CNAME into a delegation");
	res_free(&r);
	r = ask(&pkt, "@", LDNS_RR_TYPE_A);
	is_int(r.st, PKARR_ANS_OK, "apex still answered");
	res_free(&r);

	if (!ok(make(&pkt, "@ 300 NS ns.example.net.\n@ 300 A 1.1.1.1\n", 9) == 0,
		"build apex-NS packet"))
		return;
	r = ask(&pkt, "@", LDNS_RR_TYPE_A);
	ok(r.st == PKARR_ANS_DELEGATION && n_of(r.ns) == 1 && n_of(r.ad) == 0,
	   "NS at the apex delegates the whole key");
	res_free(&r);
	r = ask(&pkt, "deep.name", LDNS_RR_TYPE_A);
	is_int(r.st, PKARR_ANS_DELEGATION, "and every name under it");
	res_free(&r);
}

/* The JS package's packets: names stored in full, ending in the key. */
static void
test_vectors(void)
{
	static char line[65536], hex[8192];
	struct pkarr_packet v[4];
	char path[4096];
	int nv = 0;
	FILE *f;
	struct res r;

	f = tu_open_data("pkarr_signed_packets.jsonl", path, sizeof(path));
	if (!ok(f != NULL, "open %s", path))
		return;
	while (nv < 3 && fgets(line, sizeof(line), f)) {
		uint8_t pk[32], relay[4096];
		int rl;
		if (tu_json_copy(line, "public_key_hex", hex, sizeof(hex)) < 0)
			continue;
		tu_unhex_str(hex, pk, 32);
		tu_json_copy(line, "relay_bytes_hex", hex, sizeof(hex));
		rl = tu_unhex_str(hex, relay, sizeof(relay));
		if (!ok(rl >= 0 && pkarr_packet_parse_relay(&v[nv], pk, relay,
							   (size_t)rl) == 0,
			"vector %d parses", nv + 1))
			break;
		nv++;
	}
	fclose(f);
	if (nv < 3)
		return;

	pkarr_z32_encode(v[0].pk, KEY);
	r = ask(&v[0], "@", LDNS_RR_TYPE_A);
	ok(r.st == PKARR_ANS_OK && rdata_str(r.an, 0, 0, "1.2.3.4") &&
		   ldns_rr_ttl(ldns_rr_list_rr(r.an, 0)) == 301,
	   "vector 1: apex A 1.2.3.4 TTL 301");
	res_free(&r);

	pkarr_z32_encode(v[1].pk, KEY);
	r = ask(&v[1], "@", LDNS_RR_TYPE_AAAA);
	ok(r.st == PKARR_ANS_OK && rdata_str(r.an, 0, 0, "2001:db8::1"),
	   "vector 2: apex AAAA");
	res_free(&r);
	r = ask(&v[1], "_pubky", LDNS_RR_TYPE_TXT);
	ok(r.st == PKARR_ANS_OK && rdata_str(r.an, 0, 0, "\"v=1 hello\""),
	   "vector 2: _pubky TXT");
	res_free(&r);
	r = ask(&v[1], "www", LDNS_RR_TYPE_A);
	ok(r.st == PKARR_ANS_CNAME_OUT && r.target != NULL,
	   "vector 2: www CNAME leaves the packet");
	res_free(&r);

	pkarr_z32_encode(v[2].pk, KEY);
	r = ask(&v[2], "a.b.c", LDNS_RR_TYPE_A);
	ok(r.st == PKARR_ANS_OK && n_of(r.an) == 2, "vector 3: a.b.c two A");
	res_free(&r);
	r = ask(&v[2], "anything", LDNS_RR_TYPE_TXT);
	ok(r.st == PKARR_ANS_OK && n_of(r.an) == 1 &&
		   ldns_rr_rd_count(ldns_rr_list_rr(r.an, 0)) == 2 &&
		   rdata_str(r.an, 0, 1, "\"part two\""),
	   "vector 3: wildcard TXT with two strings");
	res_free(&r);
	r = ask(&v[2], "b.c", LDNS_RR_TYPE_TXT);
	is_int(r.st, PKARR_ANS_NODATA, "vector 3: b.c is an empty non-terminal");
	res_free(&r);
}

/* A packet whose DNS holds records outside its key: they are ignored. */
static void
test_foreign_records(void)
{
	struct pkarr_packet pkt;
	ldns_pkt *p = ldns_pkt_new();
	ldns_rr *rr = NULL;
	uint8_t *wire = NULL;
	size_t wl = 0;
	struct res r;

	tu_seed_key(SEED, KEY, NULL);
	ldns_rr_new_frm_str(&rr, "victim.example. 300 IN A 6.6.6.6", 300, NULL,
			    NULL);
	ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr);
	ldns_pkt2wire(&wire, p, &wl);
	ok(pkarr_packet_sign(&pkt, SEED, 1, wire, wl) == 0, "foreign packet");
	r = ask(&pkt, "@", LDNS_RR_TYPE_A);
	is_int(r.st, PKARR_ANS_NODATA, "foreign record not served");
	res_free(&r);
	free(wire);
	ldns_pkt_free(p);
}

/* Names are compared as canonical wire bytes: owners in any case match,
 * and "under" means at a label boundary, never a byte suffix inside a
 * label ("y\003cut" is one label whose last bytes are the wire form of
 * "cut"). */
static void
test_name_bytes(void)
{
	struct pkarr_packet pkt;
	struct res r;

	if (!ok(make(&pkt, "b 300 A 10.0.0.1\n"
			   "MiXeD 300 A 10.0.0.2\n"
			   "*.W 300 TXT wild\n"
			   "deep.Er 300 A 10.0.0.3\n"
			   "cut 300 NS ns.example.com.\n",
		     5) == 0,
		"build packet with mixed-case owners"))
		return;
	r = ask(&pkt, "mixed", LDNS_RR_TYPE_A);
	ok(r.st == PKARR_ANS_OK && n_of(r.an) == 1 && rdata_str(r.an, 0, 0, "10.0.0.2"),
	   "lower-case question finds a mixed-case owner");
	res_free(&r);
	r = ask(&pkt, "MIXED", LDNS_RR_TYPE_A);
	ok(r.st == PKARR_ANS_OK && owner_is(r.an, 0, "MIXED"),
	   "upper-case question too, answered in its own case");
	res_free(&r);
	r = ask(&pkt, "x.w", LDNS_RR_TYPE_TXT);
	ok(r.st == PKARR_ANS_OK && rdata_str(r.an, 0, 0, "\"wild\""),
	   "mixed-case wildcard owner synthesises");
	res_free(&r);
	r = ask(&pkt, "er", LDNS_RR_TYPE_A);
	is_int(r.st, PKARR_ANS_NODATA, "mixed-case empty non-terminal exists");
	res_free(&r);
	r = ask(&pkt, "ab", LDNS_RR_TYPE_A);
	is_int(r.st, PKARR_ANS_NXDOMAIN, "ab is not b");
	res_free(&r);
	r = ask(&pkt, "x\\001b", LDNS_RR_TYPE_A);
	is_int(r.st, PKARR_ANS_NXDOMAIN, "a label ending in b's bytes is not under b");
	ok(n_of(r.ns) == 1 && type_at(r.ns, 0) == LDNS_RR_TYPE_SOA, "... with the key's SOA");
	res_free(&r);
	r = ask(&pkt, "y.cut", LDNS_RR_TYPE_A);
	is_int(r.st, PKARR_ANS_DELEGATION, "a name below the cut is delegated");
	res_free(&r);
	r = ask(&pkt, "y\\003cut", LDNS_RR_TYPE_A);
	is_int(r.st, PKARR_ANS_NXDOMAIN, "a label ending in the cut's bytes is not below it");
	res_free(&r);
	r = ask(&pkt, "c.b", LDNS_RR_TYPE_A);
	is_int(r.st, PKARR_ANS_NXDOMAIN, "below an owner, nothing there: NXDOMAIN");
	res_free(&r);
}

static ldns_rr *
rr_text(const char *text)
{
	ldns_rr *rr = NULL;

	if (ldns_rr_new_frm_str(&rr, text, 300, NULL, NULL) != LDNS_STATUS_OK)
		return NULL;
	return rr;
}

static void
test_rr_addrs(void)
{
	ldns_rr_list *list = ldns_rr_list_new();
	struct sockaddr_storage addrs[3];
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&addrs[0];
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&addrs[1];
	struct in_addr a4;
	struct in6_addr a6;
	ldns_rr *bad;

	ldns_rr_list_push_rr(list, rr_text("ns.example. A 127.0.0.2"));
	ldns_rr_list_push_rr(list, rr_text("ns.example. TXT \"not an address\""));
	ldns_rr_list_push_rr(list, rr_text("ns.example. AAAA ::1"));
	/* an A record whose data is not 4 bytes is no address */
	bad = rr_text("ns.example. A 127.0.0.3");
	ldns_rdf_deep_free(ldns_rr_pop_rdf(bad));
	ldns_rr_push_rdf(bad, ldns_rdf_new_frm_str(LDNS_RDF_TYPE_AAAA, "::2"));
	ldns_rr_list_push_rr(list, bad);
	ldns_rr_list_push_rr(list, rr_text("ns.example. A 127.0.0.4"));

	memset(addrs, 0xff, sizeof(addrs));
	is_int(pkarr_rr_addrs(list, 5353, addrs, 3), 3, "rr_addrs: A, AAAA, A; TXT and a bad A skipped");
	inet_pton(AF_INET, "127.0.0.2", &a4);
	ok(sin->sin_family == AF_INET && ntohs(sin->sin_port) == 5353 &&
	       sin->sin_addr.s_addr == a4.s_addr, "rr_addrs: the A record, with the port");
	inet_pton(AF_INET6, "::1", &a6);
	ok(sin6->sin6_family == AF_INET6 && ntohs(sin6->sin6_port) == 5353 &&
	       memcmp(&sin6->sin6_addr, &a6, 16) == 0 && sin6->sin6_flowinfo == 0 &&
	       sin6->sin6_scope_id == 0, "rr_addrs: the AAAA record, the rest zeroed");
	inet_pton(AF_INET, "127.0.0.4", &a4);
	sin = (const struct sockaddr_in *)&addrs[2];
	ok(sin->sin_family == AF_INET && sin->sin_addr.s_addr == a4.s_addr,
	    "rr_addrs: the bad A record took no place");
	is_int(pkarr_rr_addrs(list, 53, addrs, 1), 1, "rr_addrs: at most max");
	is_int(pkarr_rr_addrs(NULL, 53, addrs, 3), 0, "rr_addrs: no list, no addresses");
	ldns_rr_list_deep_free(list);
}

int
main(void)
{
	test_basic();
	test_wildcards();
	test_cnames();
	test_delegation();
	test_vectors();
	test_foreign_records();
	test_name_bytes();
	test_rr_addrs();
	return tap_done();
}
