/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_pkarr_answer.c -- differential libFuzzer target for the
 * parsed-once packet form: pkarr_index_build() and pkarr_answer_view()
 * (src/pkarr/answer.c), through the packet cache's index
 * (pkarr_cache_put_verified(), pkarr_cache_get_view() in
 * src/pkarr/cache.c) and through pkarr_answer(), against the former ldns
 * implementation that parsed the packet on every call (oracle_answer.c,
 * the code of answer.c at b23926e).
 *
 * Not built by make: see tests/fuzz/README.md, e.g.
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -I<dir with an empty config.h> -Isrc tests/fuzz/fuzz_pkarr_answer.c \
 *     tests/fuzz/oracle_answer.c src/pkarr/answer.c src/pkarr/cache.c \
 *     src/pkarr/lmdbcheck.c src/pkarr/packet.c src/pkarr/zbase32.c \
 *     src/util/log.c -lldns -lsodium -llmdb -o fuzz_pkarr_answer
 *   ./fuzz_pkarr_answer -max_len=1100 -max_total_time=300
 *
 * Input: flags (1 byte: bits 0-1 the key, seed 00..01 to 00..04; bit 2
 * the harness writes the key as a question at offset 12 first, so records
 * can name it with the pointer c0 0c; bits 3-7 rotate the qtypes), the TTL
 * clamp (2 bytes, indexes into a table), then a DNS message. No
 * signature is made or checked: answering trusts its caller for that, and
 * the cache's put_verified path does too.
 *
 * Checks, for every packet ldns parses and every question asked (names
 * taken from the packet's owners and record data, below and above them,
 * in other case, and a few fixed ones, with three qtypes each): the same
 * outcome, the same records in each list (wire form, owner case and TTL
 * included) and the same CNAME target from all three paths; the same
 * freshness TTL (pkarr_packet_min_ttl, the cache's index); and that the
 * cache accepts exactly the packets the oracle can answer from.
 */
#include "config.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>
#include <sodium.h>

#include "pkarr/answer.h"
#include "pkarr/cache.h"
#include "pkarr/packet.h"
#include "util/log.h"
#include "../unit/testutil.h"
#include "oracle_answer.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HDR 3
#define MAX_NAMES 40
#define NOW_S 1000

static const ldns_rr_type qtypes[] = {
	LDNS_RR_TYPE_A, LDNS_RR_TYPE_AAAA, LDNS_RR_TYPE_TXT,
	LDNS_RR_TYPE_CNAME, LDNS_RR_TYPE_NS, LDNS_RR_TYPE_DS,
	LDNS_RR_TYPE_ANY, LDNS_RR_TYPE_SOA, LDNS_RR_TYPE_MX,
	LDNS_RR_TYPE_HTTPS, LDNS_RR_TYPE_SVCB, LDNS_RR_TYPE_PTR,
};
#define NQTYPES (sizeof(qtypes) / sizeof(qtypes[0]))

static const uint32_t ttls[] = {0, 1, 60, 300, 3600, 86400, 604800, UINT32_MAX};

static uint8_t pks[4][32];

/* Two lists hold the same records: wire form, owner bytes, TTL. */
static void
same_list(const ldns_rr_list *a, const ldns_rr_list *b)
{
	tu_check(ldns_rr_list_rr_count(a) == ldns_rr_list_rr_count(b));
	for (size_t i = 0; i < ldns_rr_list_rr_count(a); i++) {
		const ldns_rr *x = ldns_rr_list_rr(a, i), *y = ldns_rr_list_rr(b, i);
		uint8_t *wx = NULL, *wy = NULL;
		size_t lx = 0, ly = 0;

		tu_check(ldns_rr_ttl(x) == ldns_rr_ttl(y));
		tu_check(ldns_rr_get_type(x) == ldns_rr_get_type(y));
		tu_check(ldns_rr_get_class(x) == ldns_rr_get_class(y));
		tu_check(ldns_rr_rd_count(x) == ldns_rr_rd_count(y));
		tu_check(ldns_rr2wire(&wx, x, LDNS_SECTION_ANSWER, &lx) == LDNS_STATUS_OK);
		tu_check(ldns_rr2wire(&wy, y, LDNS_SECTION_ANSWER, &ly) == LDNS_STATUS_OK);
		tu_check(lx == ly && memcmp(wx, wy, lx) == 0);
		free(wx);
		free(wy);
		for (size_t f = 0; f < ldns_rr_rd_count(x); f++)
			tu_check(ldns_rdf_get_type(ldns_rr_rdf(x, f)) ==
				 ldns_rdf_get_type(ldns_rr_rdf(y, f)));
	}
}

struct result {
	enum pkarr_answer_status st;
	ldns_rr_list *an, *ns, *ad;
	ldns_rdf *target;
};

static void
result_init(struct result *r)
{
	r->an = ldns_rr_list_new();
	r->ns = ldns_rr_list_new();
	r->ad = ldns_rr_list_new();
	r->target = NULL;
	tu_check(r->an && r->ns && r->ad);
}

static void
result_free(struct result *r)
{
	ldns_rr_list_deep_free(r->an);
	ldns_rr_list_deep_free(r->ns);
	ldns_rr_list_deep_free(r->ad);
	ldns_rdf_deep_free(r->target);
}

static void
same_result(const struct result *a, const struct result *b)
{
	tu_check(a->st == b->st);
	/* SERVFAIL lists are partial results the caller discards */
	if (a->st == PKARR_ANS_SERVFAIL)
		return;
	same_list(a->an, b->an);
	same_list(a->ns, b->ns);
	same_list(a->ad, b->ad);
	tu_check((a->target == NULL) == (b->target == NULL));
	if (a->target != NULL)
		tu_check(ldns_rdf_compare(a->target, b->target) == 0 &&
			 memcmp(ldns_rdf_data(a->target), ldns_rdf_data(b->target),
				ldns_rdf_size(a->target)) == 0);
}

static void
ask(const struct pkarr_packet *pkt, const struct pkarr_view *cached,
    const ldns_rdf *qname, ldns_rr_type qtype,
    const struct pkarr_answer_params *p, bool glue)
{
	struct result o, n, c;

	result_init(&o);
	result_init(&n);
	o.st = oracle_answer(pkt, qname, qtype, p, o.an, o.ns, glue ? o.ad : NULL,
			     &o.target);
	n.st = pkarr_answer(pkt, qname, qtype, p, n.an, n.ns, glue ? n.ad : NULL,
			    &n.target);
	same_result(&o, &n);
	if (cached != NULL) {
		result_init(&c);
		c.st = pkarr_answer_view(cached, qname, qtype, p, c.an, c.ns,
					 glue ? c.ad : NULL, &c.target);
		same_result(&o, &c);
		result_free(&c);
	}
	result_free(&o);
	result_free(&n);
}

static ldns_rdf *
prefixed(const char *label, const ldns_rdf *base)
{
	ldns_rdf *l = ldns_dname_new_frm_str(label), *r;

	if (l == NULL)
		return NULL;
	r = ldns_dname_cat_clone(l, base);
	ldns_rdf_deep_free(l);
	return r;
}

static void
add(ldns_rdf **names, size_t *nn, ldns_rdf *r)
{
	if (r == NULL)
		return;
	if (*nn >= MAX_NAMES) {
		ldns_rdf_deep_free(r);
		return;
	}
	names[(*nn)++] = r;
}

static void
answer_all(const struct pkarr_packet *pkt, uint8_t sel,
	   const struct pkarr_answer_params *p)
{
	ldns_rdf *names[MAX_NAMES];
	size_t nn = 0;
	ldns_rdf *apex = pkarr_key_dname(pkt->pk);
	ldns_pkt *dp = NULL;
	struct pkarr_cache *cache;
	struct pkarr_view view;
	const struct pkarr_view *cached = NULL;
	uint32_t t_old = 0, t_new = 0;
	int rc_old, rc_new, put;

	tu_check(apex != NULL);
	rc_old = oracle_min_ttl(pkt, p, &t_old);
	rc_new = pkarr_packet_min_ttl(pkt, p, &t_new);
	tu_check(rc_old == rc_new && (rc_old < 0 || t_old == t_new));

	/* The cache's own index: accepted exactly when the oracle loads the
	 * packet, fresh for the same TTL, answering the same. */
	cache = pkarr_cache_new(1 << 20, NULL, p);
	tu_check(cache != NULL);
	put = pkarr_cache_put_verified(cache, pkt, NOW_S);
	tu_check((put >= 0) == (rc_old == 0));
	if (put >= 0) {
		uint64_t until = 0;
		/* STALE at once when the freshness TTL is 0 */
		tu_check(pkarr_cache_get_view(cache, pkt->pk, NOW_S, &view) ==
			 (t_old > 0 ? PKARR_CACHE_FRESH : PKARR_CACHE_STALE));
		tu_check(pkarr_view_min_ttl(&view, p) == t_old);
		tu_check(pkarr_cache_times(cache, pkt->pk, NULL, &until) == 0 &&
			 until == (uint64_t)NOW_S + t_old);
		cached = &view;
	}

	add(names, &nn, ldns_rdf_clone(apex));
	{
		ldns_rdf *u = ldns_rdf_clone(apex);
		uint8_t *d = ldns_rdf_data(u);
		for (size_t i = 0; i < ldns_rdf_size(u); i++)
			d[i] = (uint8_t)toupper(d[i]);
		add(names, &nn, u);
	}
	add(names, &nn, prefixed("*", apex));
	add(names, &nn, prefixed("no.such.name", apex));
	add(names, &nn, ldns_dname_new_frm_str("example.com."));
	if (ldns_wire2pkt(&dp, pkt->dns, pkt->dns_len) == LDNS_STATUS_OK) {
		ldns_rr_list *l = ldns_pkt_answer(dp);
		for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++) {
			const ldns_rr *rr = ldns_rr_list_rr(l, i);
			const ldns_rdf *o = ldns_rr_owner(rr);
			add(names, &nn, ldns_rdf_clone(o));
			/* below an owner: a wildcard's or an empty
			 * non-terminal's; and above it */
			if (ldns_rdf_size(o) < 200) {
				add(names, &nn, prefixed("Zz", o));
				add(names, &nn, prefixed("a.B", o));
			}
			if (ldns_dname_label_count(o) > 1)
				add(names, &nn, ldns_dname_left_chop(o));
			if (ldns_rr_rd_count(rr) >= 1 &&
			    ldns_rdf_get_type(ldns_rr_rdf(rr, 0)) == LDNS_RDF_TYPE_DNAME)
				add(names, &nn, ldns_rdf_clone(ldns_rr_rdf(rr, 0)));
		}
		ldns_pkt_free(dp);
	}
	for (size_t i = 0; i < nn; i++) {
		for (size_t j = 0; j < 3; j++) {
			ldns_rr_type t = qtypes[(sel + i + j * 5) % NQTYPES];
			ask(pkt, cached, names[i], t, p, (i + j) % 2 == 0);
		}
		ldns_rdf_deep_free(names[i]);
	}
	/* the view was only borrowed: the cache frees the index */
	pkarr_cache_free(cache);
	ldns_rdf_deep_free(apex);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_setup("fuzz", -1, true);
	if (sodium_init() < 0)
		abort();
	for (int i = 0; i < 4; i++) {
		uint8_t seed[32] = {0}, sk[64];
		seed[31] = (uint8_t)(i + 1);
		crypto_sign_seed_keypair(pks[i], sk, seed);
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pkarr_answer_params p;
	struct pkarr_packet *pkt;
	uint8_t flags;
	size_t blen, off = 0;

	if (size < HDR)
		return 0;
	flags = data[0];
	p.min_ttl = ttls[data[1] % 8];
	p.max_ttl = ttls[data[2] % 8];
	if (p.max_ttl < p.min_ttl)
		p.max_ttl = p.min_ttl;
	pkt = calloc(1, sizeof(*pkt));
	tu_check(pkt != NULL);
	memcpy(pkt->pk, pks[flags & 3], 32);
	pkt->ts_us = (uint64_t)NOW_S * 1000000u;
	data += HDR;
	blen = size - HDR;
	if ((flags & 4) && blen >= LDNS_HEADER_SIZE) {
		/* header, then "<key>." IN A as a question, then the rest */
		ldns_rdf *apex = pkarr_key_dname(pkt->pk);

		tu_check(apex != NULL);
		memcpy(pkt->dns, data, LDNS_HEADER_SIZE);
		pkt->dns[4] = 0;
		pkt->dns[5] = 1;
		off = LDNS_HEADER_SIZE;
		memcpy(pkt->dns + off, ldns_rdf_data(apex), ldns_rdf_size(apex));
		off += ldns_rdf_size(apex);
		memcpy(pkt->dns + off, "\0\1\0\1", 4);
		off += 4;
		ldns_rdf_deep_free(apex);
		data += LDNS_HEADER_SIZE;
		blen -= LDNS_HEADER_SIZE;
	}
	if (off + blen > PKARR_MAX_DNS)
		blen = PKARR_MAX_DNS - off;
	memcpy(pkt->dns + off, data, blen);
	pkt->dns_len = off + blen;
	answer_all(pkt, (uint8_t)(flags >> 3), &p);
	free(pkt);
	return 0;
}
