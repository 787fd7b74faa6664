/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_cache.c -- unit tests for src/cache/cache.h: keys, hits and misses,
 * ID/RD/TTL patching, lifetimes (positive, negative, capped), malformed
 * input, LRU eviction, serve-stale, buffer sizes, the Extended DNS Error
 * kept with an entry.
 *
 * Responses are built with ldns (which compresses names) and read back
 * with ldns, so the checks do not trust the cache's own parser.
 */
#include "config.h"

#include <ldns/ldns.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache/cache.h"
#include "tap.h"

#define T0 1000000000ull /* an arbitrary "now" in ms */

struct msg {
	uint8_t b[4096];
	size_t len;
};

/* Build a response. Each section is a NULL-terminated list of RR strings
 * (or NULL). rcode is an LDNS rcode; edns adds an OPT (with DO). */
static int
build(struct msg *m, const char *question, ldns_pkt_rcode rcode,
      const char *const *an, const char *const *ns, const char *const *ar,
      bool edns)
{
	const char *const *secs[3] = { an, ns, ar };
	const ldns_pkt_section sec_id[3] = { LDNS_SECTION_ANSWER,
					     LDNS_SECTION_AUTHORITY,
					     LDNS_SECTION_ADDITIONAL };
	ldns_pkt *p = ldns_pkt_new();
	ldns_rr *rr = NULL;
	uint8_t *wire = NULL;
	size_t size = 0;
	int rc = -1;

	if (!p)
		return -1;
	ldns_pkt_set_id(p, 0x1234);
	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_rd(p, true);
	ldns_pkt_set_ra(p, true);
	ldns_pkt_set_rcode(p, (uint8_t)rcode);
	if (ldns_rr_new_question_frm_str(&rr, question, NULL, NULL) !=
	    LDNS_STATUS_OK)
		goto out;
	ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, rr);
	for (int s = 0; s < 3; s++) {
		for (const char *const *r = secs[s]; r && *r; r++) {
			if (ldns_rr_new_frm_str(&rr, *r, 0, NULL, NULL) !=
			    LDNS_STATUS_OK) {
				fprintf(stderr, "bad rr %s\n", *r);
				goto out;
			}
			ldns_pkt_push_rr(p, sec_id[s], rr);
		}
	}
	if (edns) {
		ldns_pkt_set_edns_udp_size(p, 1232);
		ldns_pkt_set_edns_do(p, true);
	}
	if (ldns_pkt2wire(&wire, p, &size) != LDNS_STATUS_OK ||
	    size > sizeof(m->b))
		goto out;
	memcpy(m->b, wire, size);
	m->len = size;
	rc = 0;
out:
	free(wire);
	ldns_pkt_free(p);
	return rc;
}

/* A key from a text name (wire-encoded here, as the daemon would). */
struct tkey {
	uint8_t name[CACHE_NAME_MAX];
	struct cache_key k;
};

static void
mkkey(struct tkey *t, const char *name, uint16_t qtype, uint16_t qclass,
      bool do_bit)
{
	ldns_rdf *d = ldns_dname_new_frm_str(name);

	memset(t, 0, sizeof(*t));
	if (d) {
		memcpy(t->name, ldns_rdf_data(d), ldns_rdf_size(d));
		t->k.qname_len = ldns_rdf_size(d);
		ldns_rdf_deep_free(d);
	}
	t->k.qname = t->name;
	t->k.qtype = qtype;
	t->k.qclass = qclass;
	t->k.do_bit = do_bit;
}

/* Parse an answer back with ldns; collect every non-OPT TTL in order. */
static int
ttls_of(const uint8_t *b, size_t len, uint32_t *ttl, int max)
{
	ldns_pkt *p = NULL;
	const ldns_pkt_section secs[3] = { LDNS_SECTION_ANSWER,
					   LDNS_SECTION_AUTHORITY,
					   LDNS_SECTION_ADDITIONAL };
	int n = 0;

	if (ldns_wire2pkt(&p, b, len) != LDNS_STATUS_OK)
		return -1;
	for (int s = 0; s < 3; s++) {
		ldns_rr_list *l = ldns_pkt_get_section_clone(p, secs[s]);

		for (size_t i = 0; l && i < ldns_rr_list_rr_count(l); i++)
			if (n < max)
				ttl[n++] = ldns_rr_ttl(ldns_rr_list_rr(l, i));
		ldns_rr_list_deep_free(l);
	}
	ldns_pkt_free(p);
	return n;
}

static bool
has_compression(const struct msg *m)
{
	for (size_t i = 12; i < m->len; i++)
		if ((m->b[i] & 0xC0) == 0xC0)
			return true;
	return false;
}

static const char *const pos_an[] = {
	"www.example.com. 300 IN CNAME web.example.com.",
	"web.example.com. 100 IN A 192.0.2.1",
	"web.example.com. 100 IN A 192.0.2.2", NULL
};
static const char *const pos_ns[] = {
	"example.com. 200 IN NS ns1.example.com.", NULL
};
static const char *const pos_ar[] = {
	"ns1.example.com. 50 IN A 192.0.2.53", NULL
};

static void
test_key_from_question(void)
{
	struct msg q;
	uint8_t buf[CACHE_NAME_MAX];
	struct cache_key k;
	static const uint8_t want[] = "\3www\7example\3com";
	int r;

	build(&q, "WwW.ExAmPlE.CoM. IN AAAA", LDNS_RCODE_NOERROR, NULL, NULL,
	      NULL, false);
	r = cache_key_from_question(q.b, q.len, buf, sizeof(buf), true, &k);
	is_int(r, (long long)q.len, "key_from_question returns the end of the question");
	is_int(k.qname_len, sizeof(want), "lower-cased name length");
	is_mem(k.qname, want, sizeof(want), "name lower-cased in wire format");
	ok(k.qname == buf, "key points at the caller's buffer");
	is_int(k.qtype, LDNS_RR_TYPE_AAAA, "qtype read");
	is_int(k.qclass, LDNS_RR_CLASS_IN, "qclass read");
	ok(k.do_bit, "do bit passed through");

	r = cache_key_from_question(q.b, q.len, buf, 10, false, &k);
	is_int(r, CACHE_ERR_NOSPACE, "small name buffer: NOSPACE");
	for (size_t l = 0; l < q.len; l++) {
		r = cache_key_from_question(q.b, l, buf, sizeof(buf), false, &k);
		if (r >= 0) {
			ok(0, "truncated question at %zu accepted", l);
			break;
		}
	}
	ok(1, "every truncated question rejected");

	/* Compression in the question. */
	{
		uint8_t m[] = { 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0,
				1, 'a', 0xC0, 12, 0, 1, 0, 1 };
		r = cache_key_from_question(m, sizeof(m), buf, sizeof(buf),
					    false, &k);
		is_int(r, CACHE_ERR_MALFORMED, "compression in question refused");
		m[5] = 2;
		m[14] = 0;
		r = cache_key_from_question(m, 19, buf, sizeof(buf), false, &k);
		is_int(r, CACHE_ERR_MALFORMED, "QDCOUNT 2 refused");
		m[5] = 0;
		r = cache_key_from_question(m, 19, buf, sizeof(buf), false, &k);
		is_int(r, CACHE_ERR_MALFORMED, "QDCOUNT 0 refused");
	}
	/* A name of 256 bytes. */
	{
		uint8_t m[12 + 300];
		size_t o = 12;

		memset(m, 0, sizeof(m));
		m[5] = 1;
		for (int i = 0; i < 4; i++) {
			m[o++] = 63;
			memset(m + o, 'a', 63);
			o += 63;
		}
		m[o++] = 0;
		o += 4;
		r = cache_key_from_question(m, o, buf, sizeof(buf), false, &k);
		is_int(r, CACHE_ERR_MALFORMED, "name over 255 bytes refused");
	}
}

static void
test_positive(void)
{
	struct cache *c = cache_new(1 << 20);
	struct msg m;
	struct tkey k, k2;
	uint8_t out[4096];
	uint32_t ttl[16];
	long n;
	int r;
	bool st = true;

	ok(build(&m, "www.example.com. IN A", LDNS_RCODE_NOERROR, pos_an,
		 pos_ns, pos_ar, true) == 0,
	   "positive response built");
	ok(has_compression(&m), "ldns compressed the names");
	mkkey(&k, "www.example.com.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, false);
	r = cache_store(c, &k.k, m.b, m.len, 0, T0);
	is_int(r, 0, "positive answer stored");

	n = cache_lookup(c, &k.k, 0xBEEF, false, T0, out, sizeof(out), false,
			 0, &st);
	is_int(n, (long long)m.len, "hit returns the whole message");
	ok(!st, "fresh hit is not stale");
	ok(out[0] == 0xBE && out[1] == 0xEF, "ID patched");
	ok(!(out[2] & 1), "RD cleared as in the query");
	ok((out[2] & 0xFE) == (m.b[2] & 0xFE) && out[3] == m.b[3],
	   "other flags kept");
	is_int(ttls_of(out, (size_t)n, ttl, 16), 5, "answer parses, 5 TTL-bearing RRs");
	is_int(ttl[0], 100, "CNAME TTL lowered to the lifetime (min TTL 100)");
	is_int(ttl[1], 100, "A TTL 100");
	is_int(ttl[3], 100, "NS TTL lowered to 100");
	is_int(ttl[4], 50, "additional TTL below lifetime kept");
	{
		ldns_pkt *p = NULL;
		ok(ldns_wire2pkt(&p, out, (size_t)n) == LDNS_STATUS_OK &&
			   ldns_pkt_edns_do(p) &&
			   ldns_pkt_edns_udp_size(p) == 1232,
		   "OPT passed through untouched");
		ldns_pkt_free(p);
	}
	n = cache_lookup(c, &k.k, 0x1234, true, T0, out, sizeof(out), false,
			 0, NULL);
	ok(n == (long)m.len && out[2] == m.b[2], "RD set as in the query");
	/* Everything but ID, flags and TTLs is byte-identical: at time 0
	 * only the TTLs lowered to the lifetime differ from the original. */
	{
		ldns_pkt *a = NULL, *b = NULL;
		ldns_rr_list *la, *lb;
		bool same = false;

		if (ldns_wire2pkt(&a, out, (size_t)n) == LDNS_STATUS_OK &&
		    ldns_wire2pkt(&b, m.b, m.len) == LDNS_STATUS_OK) {
			la = ldns_pkt_all_noquestion(a);
			lb = ldns_pkt_all_noquestion(b);
			same = ldns_rr_list_rr_count(la) == 5 &&
			       ldns_rr_list_rr_count(lb) == 5;
			for (size_t i = 0; same && i < 5; i++) {
				ldns_rr *x = ldns_rr_list_rr(la, i);
				ldns_rr *y = ldns_rr_list_rr(lb, i);

				ldns_rr_set_ttl(x, ldns_rr_ttl(y));
				same = ldns_rr_compare(x, y) == 0;
			}
			ldns_rr_list_deep_free(la);
			ldns_rr_list_deep_free(lb);
		}
		ok(same, "records identical apart from TTLs");
		ldns_pkt_free(a);
		ldns_pkt_free(b);
	}

	/* Countdown. */
	n = cache_lookup(c, &k.k, 1, true, T0 + 1, out, sizeof(out), false, 0,
			 NULL);
	ttls_of(out, (size_t)n, ttl, 16);
	is_int(ttl[1], 99, "1 ms in the cache rounds up to 1 s");
	n = cache_lookup(c, &k.k, 1, true, T0 + 1000, out, sizeof(out), false,
			 0, NULL);
	ttls_of(out, (size_t)n, ttl, 16);
	is_int(ttl[1], 99, "after 1.000 s: 99");
	n = cache_lookup(c, &k.k, 1, true, T0 + 1001, out, sizeof(out), false,
			 0, NULL);
	ttls_of(out, (size_t)n, ttl, 16);
	is_int(ttl[1], 98, "after 1.001 s: 98");
	is_int(ttl[4], 48, "additional counts down too");
	n = cache_lookup(c, &k.k, 1, true, T0 + 60000, out, sizeof(out), false,
			 0, NULL);
	ttls_of(out, (size_t)n, ttl, 16);
	is_int(ttl[0], 40, "after 60 s: 40");
	is_int(ttl[4], 0, "additional past its own TTL shows 0");
	n = cache_lookup(c, &k.k, 1, true, T0 + 99999, out, sizeof(out), false,
			 0, NULL);
	is_int(n, (long long)m.len, "still there 1 ms before expiry");
	ttls_of(out, (size_t)n, ttl, 16);
	is_int(ttl[0], 0, "with TTL 0 left");
	n = cache_lookup(c, &k.k, 1, true, T0 + 100000, out, sizeof(out), false,
			 0, NULL);
	is_int(n, 0, "expired at the smallest TTL (100 s)");
	n = cache_lookup(c, &k.k, 1, true, T0 - 5000, out, sizeof(out), false,
			 0, NULL);
	ttls_of(out, (size_t)n, ttl, 16);
	ok(n > 0 && ttl[0] == 100, "a clock before the store time counts as 0 s");

	/* Each key part. */
	mkkey(&k2, "WWW.example.com.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, false);
	is_int(cache_lookup(c, &k2.k, 1, true, T0, out, sizeof(out), false, 0,
			    NULL),
	       0, "miss on a differently cased name (caller lower-cases)");
	mkkey(&k2, "www.example.com.", LDNS_RR_TYPE_AAAA, LDNS_RR_CLASS_IN, false);
	is_int(cache_lookup(c, &k2.k, 1, true, T0, out, sizeof(out), false, 0,
			    NULL),
	       0, "miss on qtype");
	mkkey(&k2, "www.example.com.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_CH, false);
	is_int(cache_lookup(c, &k2.k, 1, true, T0, out, sizeof(out), false, 0,
			    NULL),
	       0, "miss on qclass");
	mkkey(&k2, "www.example.com.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, true);
	is_int(cache_lookup(c, &k2.k, 1, true, T0, out, sizeof(out), false, 0,
			    NULL),
	       0, "miss on the DO bit");
	mkkey(&k2, "ww.example.com.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, false);
	is_int(cache_lookup(c, &k2.k, 1, true, T0, out, sizeof(out), false, 0,
			    NULL),
	       0, "miss on another name");
	mkkey(&k2, "www.example.com.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, true);
	is_int(cache_store(c, &k2.k, m.b, m.len, 0, T0), 0, "store under DO");
	ok(cache_lookup(c, &k2.k, 1, true, T0, out, sizeof(out), false, 0,
			NULL) > 0 &&
		   cache_lookup(c, &k.k, 1, true, T0, out, sizeof(out), false,
				0, NULL) > 0,
	   "DO and non-DO entries live side by side");

	/* Output buffer too small. */
	is_int(cache_lookup(c, &k.k, 1, true, T0, out, m.len - 1, false, 0,
			    NULL),
	       CACHE_ERR_NOSPACE, "out buffer one byte short: NOSPACE");
	is_int(cache_lookup(c, &k.k, 1, true, T0, out, m.len, false, 0, NULL),
	       (long long)m.len, "exact size works, entry kept");

	/* ttl_cap. */
	is_int(cache_store(c, &k.k, m.b, m.len, 10, T0), 0, "replace with cap 10");
	n = cache_lookup(c, &k.k, 1, true, T0, out, sizeof(out), false, 0, NULL);
	ttls_of(out, (size_t)n, ttl, 16);
	ok(ttl[0] == 10 && ttl[1] == 10 && ttl[3] == 10 && ttl[4] == 10,
	   "cap lowers every TTL to 10");
	is_int(cache_lookup(c, &k.k, 1, true, T0 + 10000, out, sizeof(out),
			    false, 0, NULL),
	       0, "capped entry expires after 10 s");

	/* Replace with different content, then remove. */
	{
		static const char *const an2[] = {
			"www.example.com. 600 IN A 198.51.100.7", NULL
		};
		struct msg m2;
		struct cache_stats s1, s2;

		build(&m2, "www.example.com. IN A", LDNS_RCODE_NOERROR, an2,
		      NULL, NULL, false);
		cache_get_stats(c, &s1);
		is_int(cache_store(c, &k.k, m2.b, m2.len, 0, T0), 0, "replaced");
		cache_get_stats(c, &s2);
		is_int(s2.entries, s1.entries, "replacing keeps the entry count");
		n = cache_lookup(c, &k.k, 0x1234, true, T0 + 500, out,
				 sizeof(out), false, 0, NULL);
		ok(n == (long)m2.len &&
			   memcmp(out + 12, m2.b + 12, 21) == 0 &&
			   memcmp(out + n - 4, "\xc6\x33\x64\x07", 4) == 0,
		   "new content served");
		cache_remove(c, &k.k);
		is_int(cache_lookup(c, &k.k, 1, true, T0, out, sizeof(out),
				    false, 0, NULL),
		       0, "removed");
		cache_get_stats(c, &s2);
		is_int(s2.entries, s1.entries - 1, "one entry fewer");
		cache_remove(c, &k.k);
		ok(1, "removing a missing key is harmless");
	}
	cache_free(c);
}

static const char *const soa_ns[] = {
	"example.com. 3600 IN SOA ns1.example.com. host.example.com. 1 7200 3600 1209600 60",
	NULL
};
static const char *const soa_ns_low_ttl[] = {
	"example.com. 30 IN SOA ns1.example.com. host.example.com. 1 7200 3600 1209600 600",
	"example.com. 3600 IN NSEC zz.example.com. A NS SOA RRSIG NSEC", NULL
};

static void
test_negative(void)
{
	struct cache *c = cache_new(1 << 20);
	struct msg m;
	struct tkey k;
	uint8_t out[4096];
	uint32_t ttl[8];
	long n;

	build(&m, "nope.example.com. IN A", LDNS_RCODE_NXDOMAIN, NULL, soa_ns,
	      NULL, false);
	mkkey(&k, "nope.example.com.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, false);
	is_int(cache_store(c, &k.k, m.b, m.len, 0, T0), 0, "NXDOMAIN stored");
	n = cache_lookup(c, &k.k, 7, true, T0, out, sizeof(out), false, 0, NULL);
	is_int(n, (long long)m.len, "NXDOMAIN hit");
	is_int(out[3] & 0x0F, LDNS_RCODE_NXDOMAIN, "rcode kept");
	ttls_of(out, (size_t)n, ttl, 8);
	is_int(ttl[0], 60, "SOA TTL lowered to SOA MINIMUM (60 < 3600)");
	ok(cache_lookup(c, &k.k, 7, true, T0 + 59999, out, sizeof(out), false,
			0, NULL) > 0,
	   "NXDOMAIN alive at 59.999 s");
	is_int(cache_lookup(c, &k.k, 7, true, T0 + 60000, out, sizeof(out),
			    false, 0, NULL),
	       0, "NXDOMAIN expires at SOA MINIMUM");

	build(&m, "www.example.com. IN TXT", LDNS_RCODE_NOERROR, NULL,
	      soa_ns_low_ttl, NULL, true);
	mkkey(&k, "www.example.com.", LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_IN, true);
	is_int(cache_store(c, &k.k, m.b, m.len, 0, T0), 0, "NODATA stored");
	n = cache_lookup(c, &k.k, 7, true, T0, out, sizeof(out), false, 0, NULL);
	ttls_of(out, (size_t)n, ttl, 8);
	ok(n > 0 && ttl[0] == 30 && ttl[1] == 30,
	   "NODATA lifetime = SOA TTL when below MINIMUM");
	ok(cache_lookup(c, &k.k, 7, true, T0 + 29999, out, sizeof(out), false,
			0, NULL) > 0,
	   "NODATA alive at 29.999 s");
	is_int(cache_lookup(c, &k.k, 7, true, T0 + 30000, out, sizeof(out),
			    false, 0, NULL),
	       0, "NODATA expires at 30 s");

	/* Negative answers without SOA and other uncacheable ones. */
	build(&m, "www.example.com. IN TXT", LDNS_RCODE_NOERROR, NULL, NULL,
	      NULL, false);
	is_int(cache_store(c, &k.k, m.b, m.len, 0, T0), CACHE_NOT_STORED,
	       "NOERROR with no records not stored");
	build(&m, "www.example.com. IN TXT", LDNS_RCODE_NXDOMAIN, NULL, NULL,
	      NULL, false);
	is_int(cache_store(c, &k.k, m.b, m.len, 0, T0), CACHE_NOT_STORED,
	       "NXDOMAIN without SOA not stored");
	build(&m, "www.example.com. IN TXT", LDNS_RCODE_NOERROR, NULL, pos_ns,
	      pos_ar, false);
	is_int(cache_store(c, &k.k, m.b, m.len, 0, T0), CACHE_NOT_STORED,
	       "referral (NS, no SOA) not stored");

	/* SERVFAIL is not stored and leaves the old entry for serve-stale. */
	build(&m, "www.example.com. IN A", LDNS_RCODE_NOERROR, pos_an, NULL,
	      NULL, false);
	mkkey(&k, "www.example.com.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, false);
	is_int(cache_store(c, &k.k, m.b, m.len, 0, T0), 0, "positive stored");
	build(&m, "www.example.com. IN A", LDNS_RCODE_SERVFAIL, NULL, NULL,
	      NULL, false);
	is_int(cache_store(c, &k.k, m.b, m.len, 0, T0), CACHE_NOT_STORED,
	       "SERVFAIL not stored");
	n = cache_lookup(c, &k.k, 7, true, T0, out, sizeof(out), false, 0, NULL);
	ok(n > 0 && (out[3] & 0x0F) == 0, "old answer survives a SERVFAIL");
	build(&m, "www.example.com. IN A", LDNS_RCODE_REFUSED, pos_an, NULL,
	      NULL, false);
	is_int(cache_store(c, &k.k, m.b, m.len, 0, T0), CACHE_NOT_STORED,
	       "REFUSED not stored even with records");
	build(&m, "www.example.com. IN A", LDNS_RCODE_NOERROR, pos_an, NULL,
	      NULL, false);
	m.b[2] |= 0x02;
	is_int(cache_store(c, &k.k, m.b, m.len, 0, T0), CACHE_NOT_STORED,
	       "TC response not stored");
	m.b[2] &= (uint8_t)~0x82;
	is_int(cache_store(c, &k.k, m.b, m.len, 0, T0), CACHE_NOT_STORED,
	       "QR clear (a query) not stored");
	ok(cache_lookup(c, &k.k, 7, true, T0, out, sizeof(out), false, 0,
			NULL) > 0,
	   "old answer still there");
	{
		static const char *const an0[] = {
			"www.example.com. 0 IN A 192.0.2.9", NULL
		};
		static const char *const anbig[] = {
			"www.example.com. 2147483648 IN A 192.0.2.9", NULL
		};
		build(&m, "www.example.com. IN A", LDNS_RCODE_NOERROR, an0,
		      NULL, NULL, false);
		is_int(cache_store(c, &k.k, m.b, m.len, 0, T0),
		       CACHE_NOT_STORED, "TTL 0 not stored");
		is_int(cache_lookup(c, &k.k, 7, true, T0, out, sizeof(out),
				    false, 0, NULL),
		       0, "and the older answer is gone");
		build(&m, "www.example.com. IN A", LDNS_RCODE_NOERROR, anbig,
		      NULL, NULL, false);
		is_int(cache_store(c, &k.k, m.b, m.len, 0, T0),
		       CACHE_NOT_STORED,
		       "TTL with the top bit set counts as 0 (RFC 2181)");
	}
	cache_free(c);
}

/* Put a valid header + question for "a." IN A in b; return its length. */
static size_t
hdr(uint8_t *b, uint16_t an, uint16_t ns, uint16_t ar)
{
	static const uint8_t h[] = { 0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0,
				     1, 'a', 0, 0, 1, 0, 1 };

	memcpy(b, h, sizeof(h));
	b[6] = (uint8_t)(an >> 8);
	b[7] = (uint8_t)an;
	b[8] = (uint8_t)(ns >> 8);
	b[9] = (uint8_t)ns;
	b[10] = (uint8_t)(ar >> 8);
	b[11] = (uint8_t)ar;
	return sizeof(h);
}

/* Append an A record with the given owner bytes. */
static size_t
add_a(uint8_t *b, size_t o, const uint8_t *owner, size_t olen)
{
	static const uint8_t rest[] = { 0, 1, 0, 1, 0, 0, 0, 60, 0, 4,
					192, 0, 2, 1 };

	memcpy(b + o, owner, olen);
	o += olen;
	memcpy(b + o, rest, sizeof(rest));
	return o + sizeof(rest);
}

static void
test_malformed(void)
{
	struct cache *c = cache_new(1 << 20);
	struct msg m;
	struct tkey k;
	uint8_t b[1024], out[4096];
	size_t o;
	int bad = 0;

	mkkey(&k, "www.example.com.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, false);
	build(&m, "www.example.com. IN A", LDNS_RCODE_NOERROR, pos_an, pos_ns,
	      pos_ar, true);
	for (size_t l = 0; l < m.len; l++)
		if (cache_store(c, &k.k, m.b, l, 0, T0) >= 0)
			bad++;
	is_int(bad, 0, "every truncation of a valid response rejected");
	is_int(cache_store(c, &k.k, m.b, m.len, 0, T0), 0, "the whole one stored");

	/* Counts that disagree with the data. */
	memcpy(b, m.b, m.len);
	b[7]++;
	ok(cache_store(c, &k.k, b, m.len, 0, T0) == CACHE_ERR_MALFORMED,
	   "ANCOUNT one too many rejected");
	memcpy(b, m.b, m.len);
	b[11]--;
	ok(cache_store(c, &k.k, b, m.len, 0, T0) == CACHE_ERR_MALFORMED,
	   "ARCOUNT one too few (trailing bytes) rejected");
	memcpy(b, m.b, m.len);
	b[6] = b[8] = b[10] = 0xFF;
	ok(cache_store(c, &k.k, b, m.len, 0, T0) == CACHE_ERR_MALFORMED,
	   "huge counts rejected");
	memcpy(b, m.b, m.len);
	b[5] = 2;
	ok(cache_store(c, &k.k, b, m.len, 0, T0) == CACHE_ERR_MALFORMED,
	   "QDCOUNT 2 rejected");

	/* Hand-made names. */
	{
		const uint8_t ok_ptr[] = { 0xC0, 12 };
		const uint8_t self[] = { 0xC0, 19 };
		const uint8_t fwd[] = { 0xC0, 60 };
		const uint8_t hdrp[] = { 0xC0, 2 };
		const uint8_t far[] = { 0xFF, 0xFF };
		const uint8_t half[] = { 0xC0 };
		const uint8_t ext[] = { 0x41, 'a', 0 };
		const uint8_t ext2[] = { 0x81, 'a', 0 };

		o = add_a(b, hdr(b, 1, 0, 0), ok_ptr, sizeof(ok_ptr));
		is_int(cache_store(c, &k.k, b, o, 0, T0), 0,
		       "hand-made answer with a valid pointer stored");
		o = add_a(b, hdr(b, 1, 0, 0), self, sizeof(self));
		is_int(cache_store(c, &k.k, b, o, 0, T0), CACHE_ERR_MALFORMED,
		       "pointer to itself rejected");
		o = add_a(b, hdr(b, 1, 0, 0), fwd, sizeof(fwd));
		is_int(cache_store(c, &k.k, b, o, 0, T0), CACHE_ERR_MALFORMED,
		       "forward pointer rejected");
		o = add_a(b, hdr(b, 1, 0, 0), hdrp, sizeof(hdrp));
		is_int(cache_store(c, &k.k, b, o, 0, T0), CACHE_ERR_MALFORMED,
		       "pointer into the header rejected");
		o = add_a(b, hdr(b, 1, 0, 0), far, sizeof(far));
		is_int(cache_store(c, &k.k, b, o, 0, T0), CACHE_ERR_MALFORMED,
		       "pointer out of range rejected");
		o = hdr(b, 1, 0, 0);
		memcpy(b + o, half, 1);
		is_int(cache_store(c, &k.k, b, o + 1, 0, T0),
		       CACHE_ERR_MALFORMED, "pointer cut in half rejected");
		o = add_a(b, hdr(b, 1, 0, 0), ext, sizeof(ext));
		is_int(cache_store(c, &k.k, b, o, 0, T0), CACHE_ERR_MALFORMED,
		       "label type 0x40 rejected");
		o = add_a(b, hdr(b, 1, 0, 0), ext2, sizeof(ext2));
		is_int(cache_store(c, &k.k, b, o, 0, T0), CACHE_ERR_MALFORMED,
		       "label type 0x80 rejected");
	}
	/* A loop through two names: first owner "b" + pointer to the second
	 * owner, second owner "c" + pointer back to the first. */
	{
		size_t o1, o2;

		o = hdr(b, 2, 0, 0);
		o1 = o;
		b[o++] = 1;
		b[o++] = 'b';
		b[o++] = 0xC0;
		b[o++] = 0; /* patched below */
		o = add_a(b, o, (const uint8_t *)"", 0);
		o2 = o;
		o = add_a(b, o, (const uint8_t[]){ 1, 'c', 0xC0, (uint8_t)o1 },
			  4);
		b[o1 + 3] = (uint8_t)o2;
		is_int(cache_store(c, &k.k, b, o, 0, T0), CACHE_ERR_MALFORMED,
		       "compression loop rejected");
	}
	/* A forward pointer at a well-formed name further on. */
	{
		size_t o1;

		o = hdr(b, 2, 0, 0);
		o1 = o;
		o = add_a(b, o, (const uint8_t[]){ 0xC0, 0 }, 2);
		b[o1 + 1] = (uint8_t)o;
		o = add_a(b, o, (const uint8_t[]){ 1, 'b', 0 }, 3);
		is_int(cache_store(c, &k.k, b, o, 0, T0), CACHE_ERR_MALFORMED,
		       "forward pointer to a valid name rejected");
	}
	/* A name that points back into itself: "a" then a pointer to "a". */
	{
		size_t o1;

		o = hdr(b, 1, 0, 0);
		o1 = o;
		o = add_a(b, o, (const uint8_t[]){ 1, 'a', 0xC0, (uint8_t)o1 },
			  4);
		is_int(cache_store(c, &k.k, b, o, 0, T0), CACHE_ERR_MALFORMED,
		       "pointer back into the same name rejected");
	}
	/* A chain of pointers that builds a name longer than 255 bytes. */
	{
		size_t prev = 0, n = 0;

		o = hdr(b, 0, 0, 0);
		for (int i = 0; i < 8; i++) {
			size_t here = o;

			b[o++] = 40;
			memset(b + o, 'x', 40);
			o += 40;
			if (i == 0) {
				b[o++] = 0;
			} else {
				b[o++] = 0xC0 | (uint8_t)(prev >> 8);
				b[o++] = (uint8_t)prev;
			}
			o = add_a(b, o, (const uint8_t *)"", 0);
			prev = here;
			n++;
		}
		b[7] = (uint8_t)n;
		is_int(cache_store(c, &k.k, b, o, 0, T0), CACHE_ERR_MALFORMED,
		       "names over 255 bytes through pointers rejected");
	}
	/* OPT rules. */
	{
		const uint8_t opt[] = { 0, 0, 41, 4, 0xD0, 0, 0, 0x80, 0, 0, 0 };
		const uint8_t root[] = { 0 };

		o = add_a(b, hdr(b, 1, 0, 2), root, 1);
		memcpy(b + o, opt, sizeof(opt));
		o += sizeof(opt);
		memcpy(b + o, opt, sizeof(opt));
		o += sizeof(opt);
		is_int(cache_store(c, &k.k, b, o, 0, T0), CACHE_ERR_MALFORMED,
		       "two OPT records rejected");
		o = add_a(b, hdr(b, 2, 0, 0), root, 1);
		memcpy(b + o, opt, sizeof(opt));
		o += sizeof(opt);
		is_int(cache_store(c, &k.k, b, o, 0, T0), CACHE_ERR_MALFORMED,
		       "OPT in the answer section rejected");
		o = add_a(b, hdr(b, 1, 0, 1), root, 1);
		memcpy(b + o, opt, sizeof(opt));
		b[o + 5] = 1; /* extended rcode 16: BADVERS */
		o += sizeof(opt);
		is_int(cache_store(c, &k.k, b, o, 0, T0), CACHE_NOT_STORED,
		       "extended rcode from OPT not stored");
		b[o - sizeof(opt) + 5] = 0;
		is_int(cache_store(c, &k.k, b, o, 0, T0), 0,
		       "the same with extended rcode 0 stored");
	}
	/* Random mutations of a valid response: no crash; what is stored
	 * must come back whole. */
	{
		uint32_t seed = 12345;
		int stored = 0, lookups_ok = 0;

		for (int i = 0; i < 20000; i++) {
			int flips = 1 + (int)(seed % 4);
			long n;
			int r;

			memcpy(b, m.b, m.len);
			for (int f = 0; f < flips; f++) {
				seed = seed * 1103515245u + 12345u;
				b[(seed >> 8) % m.len] ^= (uint8_t)(1u << ((seed >> 4) & 7));
			}
			r = cache_store(c, &k.k, b, m.len - (seed % 3 == 0 ? (seed >> 20) % 8 : 0), 0, T0);
			if (r == 0) {
				stored++;
				n = cache_lookup(c, &k.k, 9, true, T0, out,
						 sizeof(out), false, 0, NULL);
				if (n > 0)
					lookups_ok++;
			}
		}
		ok(stored > 0 && stored == lookups_ok,
		   "mutated responses: %d stored, all served back", stored);
	}
	is_int(cache_store(c, &k.k, m.b, 70000, 0, T0), CACHE_ERR_MALFORMED,
	       "length over 65535 rejected");
	{
		struct cache_key bk = k.k;

		bk.qname_len = 0;
		is_int(cache_store(c, &bk, m.b, m.len, 0, T0), CACHE_ERR_INVAL,
		       "empty key name rejected");
		bk.qname_len = 256;
		is_int(cache_store(c, &bk, m.b, m.len, 0, T0), CACHE_ERR_INVAL,
		       "key name over 255 rejected");
		is_int(cache_store(c, NULL, m.b, m.len, 0, T0), CACHE_ERR_INVAL,
		       "NULL key rejected");
	}
	cache_free(c);
}

static void
test_lru(void)
{
	struct msg m;
	struct tkey k[5];
	char name[64];
	uint8_t out[4096];
	struct cache_stats st;
	struct cache *c;
	size_t budget;

	build(&m, "www.example.com. IN A", LDNS_RCODE_NOERROR, pos_an, pos_ns,
	      pos_ar, false);
	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "n%d.example.com.", i);
		mkkey(&k[i], name, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, false);
	}
	/* Learn what one entry costs, then allow three. */
	c = cache_new(1 << 20);
	cache_store(c, &k[0].k, m.b, m.len, 0, T0);
	cache_get_stats(c, &st);
	ok(st.bytes > m.len + k[0].k.qname_len,
	   "an entry is charged more than its bytes (%llu)",
	   (unsigned long long)st.bytes);
	budget = (size_t)st.bytes * 3 + 10;
	cache_free(c);

	c = cache_new(budget);
	for (int i = 0; i < 3; i++)
		cache_store(c, &k[i].k, m.b, m.len, 0, T0 + (uint64_t)i);
	cache_get_stats(c, &st);
	is_int(st.entries, 3, "three entries fit");
	ok(cache_lookup(c, &k[0].k, 1, true, T0 + 10, out, sizeof(out), false,
			0, NULL) > 0,
	   "touch the oldest");
	is_int(cache_store(c, &k[3].k, m.b, m.len, 0, T0 + 20), 0, "fourth stored");
	cache_get_stats(c, &st);
	is_int(st.entries, 3, "still three entries");
	is_int(st.evictions, 1, "one eviction");
	ok(st.bytes <= budget, "bytes within the budget");
	ok(cache_lookup(c, &k[1].k, 1, true, T0 + 30, out, sizeof(out), false,
			0, NULL) == 0,
	   "least recently used (n1) evicted");
	ok(cache_lookup(c, &k[0].k, 1, true, T0 + 30, out, sizeof(out), false,
			0, NULL) > 0 &&
		   cache_lookup(c, &k[2].k, 1, true, T0 + 30, out,
				sizeof(out), false, 0, NULL) > 0 &&
		   cache_lookup(c, &k[3].k, 1, true, T0 + 30, out,
				sizeof(out), false, 0, NULL) > 0,
	   "recently used ones kept");
	cache_free(c);

	c = cache_new(200);
	is_int(cache_store(c, &k[0].k, m.b, m.len, 0, T0), CACHE_NOT_STORED,
	       "an entry larger than the budget is not stored");
	cache_get_stats(c, &st);
	ok(st.entries == 0 && st.bytes == 0, "and nothing is charged");
	cache_free(c);

	/* Many entries: the table grows and everything is found. */
	{
		int found = 0;
		struct tkey t;

		c = cache_new(64u << 20);
		for (int i = 0; i < 5000; i++) {
			snprintf(name, sizeof(name), "host%d.example.com.", i);
			mkkey(&t, name, (uint16_t)(1 + i % 3), LDNS_RR_CLASS_IN,
			      i % 2);
			cache_store(c, &t.k, m.b, m.len, 0, T0);
		}
		for (int i = 0; i < 5000; i++) {
			snprintf(name, sizeof(name), "host%d.example.com.", i);
			mkkey(&t, name, (uint16_t)(1 + i % 3), LDNS_RR_CLASS_IN,
			      i % 2);
			if (cache_lookup(c, &t.k, 1, true, T0, out, sizeof(out),
					 false, 0, NULL) == (long)m.len)
				found++;
		}
		is_int(found, 5000, "5000 entries all found after growth");
		cache_get_stats(c, &st);
		ok(st.entries == 5000 && st.hits == 5000, "stats count them");
		cache_free(c);
	}
}

static void
test_stale(void)
{
	struct cache *c = cache_new(1 << 20);
	struct msg m;
	struct tkey k;
	uint8_t out[4096];
	uint32_t ttl[8];
	struct cache_stats st;
	bool stale = false;
	long n;

	build(&m, "www.example.com. IN A", LDNS_RCODE_NOERROR, pos_an, pos_ns,
	      pos_ar, true);
	mkkey(&k, "www.example.com.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, false);
	cache_store(c, &k.k, m.b, m.len, 0, T0);
	/* Expired at T0 + 100 s. */
	is_int(cache_lookup(c, &k.k, 1, true, T0 + 150000, out, sizeof(out),
			    false, 0, &stale),
	       0, "expired: miss without allow_stale");
	n = cache_lookup(c, &k.k, 0x4242, false, T0 + 150000, out, sizeof(out),
			 true, 60, &stale);
	is_int(n, (long long)m.len, "served stale 50 s past expiry (window 60 s)");
	ok(stale, "is_stale set");
	ok(out[0] == 0x42 && out[1] == 0x42 && !(out[2] & 1),
	   "stale answer gets the ID and RD patched");
	ttls_of(out, (size_t)n, ttl, 8);
	ok(ttl[0] == 30 && ttl[3] == 30 && ttl[4] == 30,
	   "stale TTLs are 30 s (RFC 8767)");
	n = cache_lookup(c, &k.k, 1, true, T0 + 150000, out, 10, true, 60,
			 &stale);
	is_int(n, CACHE_ERR_NOSPACE, "stale answer into a small buffer: NOSPACE");
	cache_set_stale(c, CACHE_STALE_KEEP_DEFAULT, 5);
	n = cache_lookup(c, &k.k, 1, true, T0 + 150000, out, sizeof(out), true,
			 60, &stale);
	ttls_of(out, (size_t)n, ttl, 8);
	is_int(ttl[0], 5, "stale TTL settable");
	cache_get_stats(c, &st);
	is_int(st.stale_hits, 2, "stale hits counted");
	is_int(st.hits, 0, "not as fresh hits");
	n = cache_lookup(c, &k.k, 1, true, T0 + 160000, out, sizeof(out), true,
			 60, &stale);
	ok(n == 0 && !stale, "60 s past expiry: beyond the window, miss");
	cache_get_stats(c, &st);
	is_int(st.entries, 0, "and the entry is dropped");
	n = cache_lookup(c, &k.k, 1, true, T0 + 150000, out, sizeof(out), true,
			 600, &stale);
	is_int(n, 0, "gone for good");

	/* keep 0: an expired entry goes at the first lookup that sees it. */
	cache_set_stale(c, 0, 30);
	cache_store(c, &k.k, m.b, m.len, 0, T0);
	is_int(cache_lookup(c, &k.k, 1, true, T0 + 100000, out, sizeof(out),
			    false, 0, NULL),
	       0, "expired");
	cache_get_stats(c, &st);
	is_int(st.entries, 0, "keep 0 drops expired entries at once");
	cache_set_stale(c, 3600, 30);
	cache_store(c, &k.k, m.b, m.len, 0, T0);
	cache_lookup(c, &k.k, 1, true, T0 + 100000, out, sizeof(out), false, 0,
		     NULL);
	cache_get_stats(c, &st);
	is_int(st.entries, 1, "within the keep time an expired entry stays");
	ok(cache_lookup(c, &k.k, 1, true, T0 + 100000, out, sizeof(out), true,
			10, &stale) > 0 &&
		   stale,
	   "and can be served stale");
	/* A store drops cold entries expired past the keep time. */
	{
		struct tkey k2;

		cache_set_stale(c, 10, 30);
		mkkey(&k2, "other.example.com.", LDNS_RR_TYPE_A,
		      LDNS_RR_CLASS_IN, false);
		cache_get_stats(c, &st);
		n = (long)st.evictions;
		cache_store(c, &k2.k, m.b, m.len, 0, T0 + 111000);
		cache_get_stats(c, &st);
		ok(st.entries == 1 && st.evictions == (uint64_t)n + 1,
		   "a store drops a cold entry 11 s past expiry (keep 10 s)");
		cache_set_stale(c, 3600, 30);
	}
	/* A fresh entry with allow_stale is just fresh. */
	cache_store(c, &k.k, m.b, m.len, 0, T0);
	ok(cache_lookup(c, &k.k, 1, true, T0 + 1000, out, sizeof(out), true,
			10, &stale) > 0 &&
		   !stale,
	   "fresh entry with allow_stale: not stale");
	cache_free(c);
}

/* cache_store_ede(): the code and text come back with every lookup of
 * the entry (fresh and stale), bounded; plain stores keep none. */
static void
test_ede(void)
{
	struct cache *c = cache_new(1 << 20);
	struct cache_stats st0, st1;
	struct cache_ede in = { true, 0, "no packet for this key on the DHT" };
	struct cache_ede got;
	struct msg m;
	struct tkey k, k2, k3;
	uint8_t out[4096];
	char longtext[200];
	bool stale = false;
	long n;

	build(&m, "nope.example.com. IN A", LDNS_RCODE_NXDOMAIN, NULL, soa_ns,
	      NULL, false);
	mkkey(&k, "nope.example.com.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, false);
	is_int(cache_store_ede(c, &k.k, m.b, m.len, 0, T0, &in), 0,
	       "NXDOMAIN stored with an EDE");
	memset(&got, 0, sizeof(got));
	n = cache_lookup_ede(c, &k.k, 7, true, T0 + 1000, out, sizeof(out),
			     false, 0, NULL, &got);
	ok(n == (long)m.len, "  ... looked up");
	ok(got.set && got.code == 0, "  ... with its EDE code");
	ok(got.text && strcmp(got.text, in.text) == 0, "  ... and its text");
	ok(got.text != in.text, "  ... a copy of the text");
	n = cache_lookup_ede(c, &k.k, 7, true, T0 + 1000, out, sizeof(out),
			     false, 0, NULL, &got);
	ok(n > 0 && got.set && strcmp(got.text, in.text) == 0,
	   "  ... the same on every replay");
	n = cache_lookup_ede(c, &k.k, 7, true, T0 + 700 * 1000, out,
			     sizeof(out), true, 3600, &stale, &got);
	ok(n > 0 && stale && got.set && strcmp(got.text, in.text) == 0,
	   "  ... and with a stale answer");

	/* a plain store (and cache_store() over an EDE entry) keeps none */
	is_int(cache_store(c, &k.k, m.b, m.len, 0, T0), 0, "stored again without");
	got.set = true;
	n = cache_lookup_ede(c, &k.k, 7, true, T0, out, sizeof(out), false, 0,
			     NULL, &got);
	ok(n > 0 && !got.set && got.text == NULL, "  ... no EDE comes back");

	/* a code without text */
	in.code = 6;
	in.text = NULL;
	mkkey(&k2, "www.example.com.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, false);
	build(&m, "www.example.com. IN A", LDNS_RCODE_NOERROR, pos_an, NULL,
	      NULL, false);
	is_int(cache_store_ede(c, &k2.k, m.b, m.len, 0, T0, &in), 0,
	       "an EDE code without text");
	n = cache_lookup_ede(c, &k2.k, 7, true, T0, out, sizeof(out), false, 0,
			     NULL, &got);
	ok(n > 0 && got.set && got.code == 6 && got.text == NULL,
	   "  ... comes back without text");

	/* a long text is cut at CACHE_EDE_TEXT_MAX, not inside a character,
	 * and its bytes are charged */
	memset(longtext, 'a', sizeof(longtext));
	memcpy(longtext + CACHE_EDE_TEXT_MAX - 1, "\xc3\xa9", 2); /* é */
	longtext[sizeof(longtext) - 1] = '\0';
	in.code = 0;
	in.text = longtext;
	mkkey(&k3, "www.example.com.", LDNS_RR_TYPE_AAAA, LDNS_RR_CLASS_IN,
	      false);
	cache_get_stats(c, &st0);
	is_int(cache_store_ede(c, &k3.k, m.b, m.len, 0, T0, &in), 0,
	       "a 199-byte EDE text");
	cache_get_stats(c, &st1);
	n = cache_lookup_ede(c, &k3.k, 7, true, T0, out, sizeof(out), false, 0,
			     NULL, &got);
	ok(n > 0 && got.text && strlen(got.text) == CACHE_EDE_TEXT_MAX - 1,
	   "  ... cut before the character that crosses the limit");
	ok(st1.bytes - st0.bytes >= m.len + CACHE_EDE_TEXT_MAX - 1,
	   "  ... its bytes counted");
	n = cache_lookup_ede(c, &k3.k, 7, true, T0, out, sizeof(out), false, 0,
			     NULL, NULL);
	ok(n > 0, "a NULL ede is fine");
	cache_free(c);
}

int
main(void)
{
	test_key_from_question();
	test_positive();
	test_negative();
	test_malformed();
	test_lru();
	test_stale();
	test_ede();
	ok(cache_new(0) == NULL, "cache_new(0) fails");
	cache_free(NULL);
	return tap_done();
}
