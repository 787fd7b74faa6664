/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_pkarr_view.c -- the parsed-once packet form: pkarr_index_build()
 * (which records, where, in what order, at most how many),
 * pkarr_answer_view() from the packet cache's index
 * (pkarr_cache_get_view()) giving the records pkarr_answer() gives, for a
 * packet stored and for one read back from LMDB (indexed when first
 * verified), and the index's bytes counted in the cache.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "pkarr/answer.h"
#include "pkarr/cache.h"
#include "pkarr/packet.h"
#include "pkarr/zbase32.h"
#include "pkarr/zone.h"
#include "pkarr_testutil.h"
#include "tap.h"
#include "testutil.h"

static const struct pkarr_answer_params P = {60, 86400};
static char KEY[PKARR_Z32_KEY_LEN + 1];

static const char ZONE[] =
	"@ 300 A 1.1.1.1\n"
	"www 120 CNAME web\n"
	"web 3600 A 10.0.0.1\n"
	"WEB 3600 AAAA ::1\n"
	"* 600 TXT wild\n"
	"out 300 CNAME example.com.\n"
	"sub 300 NS ns1.sub\n"
	"ns1.sub 300 A 10.0.0.53\n"
	"a.b.c 300 A 10.0.0.9\n";

static int
make(struct pkarr_packet *pkt, unsigned seed_byte, const char *zone)
{
	uint8_t seed[32] = {0x42, 7};

	seed[2] = (uint8_t)seed_byte;
	return tu_zone_packet(pkt, seed, 1000000000, zone, KEY);
}

static ldns_rdf *
name(const char *rel)
{
	return tu_key_dname(KEY, rel);
}

/* The records of a list as text, one line each. */
static char *
list_text(const ldns_rr_list *l)
{
	char *s = ldns_rr_list2str(l);
	return s != NULL ? s : strdup("?");
}

/* Does the view answer (q, t) as pkarr_answer() does for pkt? */
static bool
same_answer(const struct pkarr_packet *pkt, const struct pkarr_view *v,
	    const char *rel, ldns_rr_type t)
{
	ldns_rr_list *l[6];
	ldns_rdf *q = name(rel), *tg[2] = {NULL, NULL};
	enum pkarr_answer_status st[2];
	bool same = true;

	for (int i = 0; i < 6; i++)
		l[i] = ldns_rr_list_new();
	st[0] = pkarr_answer(pkt, q, t, &P, l[0], l[1], l[2], &tg[0]);
	st[1] = pkarr_answer_view(v, q, t, &P, l[3], l[4], l[5], &tg[1]);
	same = st[0] == st[1];
	for (int i = 0; i < 3 && same; i++) {
		char *a = list_text(l[i]), *b = list_text(l[i + 3]);
		same = strcmp(a, b) == 0;
		free(a);
		free(b);
	}
	if (same && (tg[0] != NULL || tg[1] != NULL))
		same = tg[0] != NULL && tg[1] != NULL &&
		       ldns_rdf_compare(tg[0], tg[1]) == 0;
	for (int i = 0; i < 6; i++)
		ldns_rr_list_deep_free(l[i]);
	ldns_rdf_deep_free(tg[0]);
	ldns_rdf_deep_free(tg[1]);
	ldns_rdf_deep_free(q);
	return same;
}

static const struct {
	const char *rel;
	ldns_rr_type t;
} QS[] = {
	{"@", LDNS_RR_TYPE_A},       {"www", LDNS_RR_TYPE_A},
	{"WWW", LDNS_RR_TYPE_AAAA},  {"web", LDNS_RR_TYPE_ANY},
	{"nope", LDNS_RR_TYPE_TXT},  {"x.y", LDNS_RR_TYPE_A},
	{"out", LDNS_RR_TYPE_A},     {"deep.sub", LDNS_RR_TYPE_A},
	{"b.c", LDNS_RR_TYPE_A},     {"web", LDNS_RR_TYPE_MX},
	{"sub", LDNS_RR_TYPE_DS},    {"ns1.sub", LDNS_RR_TYPE_A},
};
#define NQS (sizeof(QS) / sizeof(QS[0]))

static void
test_index(void)
{
	struct pkarr_rr_ref rr[PKARR_MAX_RECORDS];
	struct pkarr_packet pkt;
	size_t n = 0;

	if (!ok(make(&pkt, 1, ZONE) == 0, "packet"))
		return;
	is_int(pkarr_index_build(pkt.dns, pkt.dns_len, pkt.pk, rr, &n), 0,
	       "index built");
	is_int((int)n, 9, "one entry per record under the key");
	ok(rr[0].type == LDNS_RR_TYPE_A && rr[0].ttl == 300 &&
		   rr[0].owner_len == PKARR_Z32_KEY_LEN + 2 && rr[0].labels == 1,
	   "apex A: type, TTL, owner length and labels");
	ok(rr[1].type == LDNS_RR_TYPE_CNAME && rr[1].ttl == 120 &&
		   rr[1].labels == 2 && rr[1].off > rr[0].off,
	   "records in message order");
	ok(sizeof(struct pkarr_rr_ref) == 12, "12 bytes a record (%zu)",
	   sizeof(struct pkarr_rr_ref));
	is_int(pkarr_index_build(pkt.dns, 11, pkt.pk, rr, &n), PKARR_E_DNS,
	       "a cut message does not index");

	/* a record outside the key is not indexed: the key's, then
	 * example., then the key's again through a pointer */
	{
		uint8_t dns[PKARR_MAX_DNS], seed[32] = {0x42, 7, 4};
		size_t o = 0;
		static const uint8_t a_rr[] = {0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 10, 0, 0, 1};

		if (tu_seed_key(seed, KEY, NULL) < 0)
			return;
		memcpy(dns, "\0\0\x84\0\0\0\0\3\0\0\0\0", 12);
		o = 12;
		dns[o++] = PKARR_Z32_KEY_LEN;
		memcpy(dns + o, KEY, PKARR_Z32_KEY_LEN);
		o += PKARR_Z32_KEY_LEN;
		dns[o++] = 0;
		memcpy(dns + o, a_rr, sizeof(a_rr));
		o += sizeof(a_rr);
		memcpy(dns + o, "\7example\0", 9);
		o += 9;
		memcpy(dns + o, a_rr, sizeof(a_rr));
		o += sizeof(a_rr);
		dns[o++] = 0xc0;
		dns[o++] = 12;
		memcpy(dns + o, a_rr, sizeof(a_rr));
		o += sizeof(a_rr);
		if (!ok(pkarr_packet_sign(&pkt, seed, 5, dns, o) == 0,
			"packet with a foreign record"))
			return;
		is_int(pkarr_index_build(pkt.dns, pkt.dns_len, pkt.pk, rr, &n), 0,
		       "indexed");
		ok(n == 2 && rr[0].off == 12 && rr[1].off > rr[0].off &&
			   rr[1].owner_len == PKARR_Z32_KEY_LEN + 2,
		   "example. skipped; a compressed owner read through its pointer");
	}
}

static void
test_cache_view(void)
{
	char tmpl[] = "/tmp/test_pkarr_view.XXXXXX", cmd[128];
	char *dir = mkdtemp(tmpl);
	struct pkarr_packet pkt;
	struct pkarr_view v;
	struct pkarr_cache *c;
	size_t bytes_plain, good = 0;

	if (!ok(dir != NULL && make(&pkt, 3, ZONE) == 0, "packet and dir"))
		return;
	c = pkarr_cache_new(1 << 20, dir, &P);
	is_int(pkarr_cache_get_view(c, pkt.pk, 100, &v), PKARR_CACHE_MISS,
	       "miss before a put");
	ok(v.dns == NULL && v.n == 0, "view zeroed on a miss");
	is_int(pkarr_cache_put(c, &pkt, 100), PKARR_PUT_NEW, "stored");
	is_int(pkarr_cache_get_view(c, pkt.pk, 100, &v), PKARR_CACHE_FRESH,
	       "fresh view");
	ok(v.n == 9 && v.dns_len == pkt.dns_len &&
		   memcmp(v.dns, pkt.dns, pkt.dns_len) == 0 && v.ts_us == pkt.ts_us &&
		   memcmp(v.pk, pkt.pk, 32) == 0,
	   "the view is the packet and its index");
	is_int((int)pkarr_view_min_ttl(&v, &P), 120, "freshness from the index");
	for (size_t i = 0; i < NQS; i++)
		good += same_answer(&pkt, &v, QS[i].rel, QS[i].t);
	is_int((int)good, (int)NQS, "the view answers as pkarr_answer()");
	is_int(pkarr_cache_get_view(c, pkt.pk, 100 + 120, &v), PKARR_CACHE_STALE,
	       "stale view after the smallest TTL");
	pkarr_cache_free(c);

	/* read back from disk: indexed when first verified */
	c = pkarr_cache_new(1 << 20, dir, &P);
	bytes_plain = pkarr_cache_bytes(c);
	is_int(pkarr_cache_get_view(c, pkt.pk, 101, &v), PKARR_CACHE_FRESH,
	       "fresh view of a packet read back from LMDB");
	ok(pkarr_cache_bytes(c) > bytes_plain,
	   "its index counted once built (%zu > %zu bytes)",
	   pkarr_cache_bytes(c), bytes_plain);
	good = 0;
	for (size_t i = 0; i < NQS; i++)
		good += same_answer(&pkt, &v, QS[i].rel, QS[i].t);
	is_int((int)good, (int)NQS, "... answers as pkarr_answer()");
	is_int(pkarr_cache_remove(c, pkt.pk), 0, "removed");
	is_int((int)pkarr_cache_bytes(c), 0, "no bytes left (index included)");
	pkarr_cache_free(c);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		diag("could not remove the temporary directory");
}

int
main(void)
{
	test_index();
	test_cache_view();
	return tap_done();
}
