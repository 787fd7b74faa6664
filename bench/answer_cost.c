/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * answer_cost.c -- what one answer from a cached pkarr packet costs, the
 * work the daemon does for a question whose key's packet is in the packet
 * cache but whose answer is not in the answer cache: take the packet from
 * the cache, pkarr_answer() into record lists, then encode the reply as
 * task_reply() in src/daemon/pkarr_path.c does (an ldns_pkt with the
 * question and the lists, ldns_pkt2wire). Used by bench/answer_cost.sh,
 * which runs it under valgrind to count allocations and instructions.
 *
 * Usage: answer_cost N [answer-only]
 * The packet is the one bench/cached_pkarr.sh publishes per key: 30 A
 * records n0..n29 and a wildcard (TTL 3600); the questions go round
 * n0..n99 (a third exact names, two thirds wildcard answers). Prints
 * "answers=N us_per_answer=X". With "answer-only" the reply is not
 * encoded: the cost of the cache and pkarr_answer() alone. Links libpkdns.a; a benchmark tool, not a
 * test. Built with -DOLD_API for trees before the parsed-once packet
 * form (pkarr_cache_get_view()), to measure before and after.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ldns/ldns.h>

#include "pkarr/answer.h"
#include "pkarr/cache.h"
#include "pkarr/packet.h"
#include "pkarr/zbase32.h"
#include "pkarr/zone.h"
#include "util/log.h"

#define NEXPLICIT 30
#define NNAMES 100
#define NOW_S 1000

static int
make_packet(struct pkarr_packet *pkt)
{
	uint8_t seed[32], dns[PKARR_MAX_DNS];
	char zone[2048], err[128];
	struct pkarr_packet tmp;
	size_t len = 0, off;

	memset(seed, 0x42, sizeof(seed));
	if (pkarr_packet_sign(&tmp, seed, 1,
			      (const uint8_t *)"\0\0\x80\0\0\0\0\0\0\0\0\0", 12) < 0)
		return -1;
	off = (size_t)snprintf(zone, sizeof(zone), "$TTL 3600\n");
	for (int i = 0; i < NEXPLICIT; i++)
		off += (size_t)snprintf(zone + off, sizeof(zone) - off,
					"n%d IN A 10.0.0.%d\n", i, i);
	snprintf(zone + off, sizeof(zone) - off, "* IN A 10.0.1.1\n");
	if (pkarr_zone_to_dns(zone, tmp.pk, 300, dns, sizeof(dns), &len, err,
			      sizeof(err)) < 0) {
		fprintf(stderr, "zone: %s\n", err);
		return -1;
	}
	return pkarr_packet_sign(pkt, seed, (uint64_t)NOW_S * 1000000u, dns,
				 len);
}

/* One answer, as the daemon builds it; returns the reply's length. */
static size_t
answer_one(struct pkarr_cache *c, const uint8_t pk[32], const ldns_rdf *qname,
	   const struct pkarr_answer_params *p, bool encode)
{
	ldns_rr_list *an = ldns_rr_list_new(), *ns = ldns_rr_list_new(),
		     *ar = ldns_rr_list_new();
	ldns_rdf *target = NULL;
	ldns_pkt *pkt;
	ldns_rr *question;
	uint8_t *wire = NULL;
	size_t wlen = 0;
#ifdef OLD_API
	const struct pkarr_packet *cached = NULL;
	struct pkarr_packet copy;

	if (pkarr_cache_get(c, pk, NOW_S, &cached) != PKARR_CACHE_FRESH)
		exit(1);
	copy = *cached;
	pkarr_answer(&copy, qname, LDNS_RR_TYPE_A, p, an, ns, ar, &target);
#else
	struct pkarr_view v;

	if (pkarr_cache_get_view(c, pk, NOW_S, &v) != PKARR_CACHE_FRESH)
		exit(1);
	pkarr_answer_view(&v, qname, LDNS_RR_TYPE_A, p, an, ns, ar, &target);
#endif
	if (!encode) {
		ldns_rr_list_deep_free(an);
		ldns_rr_list_deep_free(ns);
		ldns_rr_list_deep_free(ar);
		ldns_rdf_deep_free(target);
		return 0;
	}
	pkt = ldns_pkt_new();
	question = ldns_rr_new();
	if (pkt == NULL || question == NULL)
		exit(1);
	ldns_rr_set_owner(question, ldns_rdf_clone(qname));
	ldns_rr_set_type(question, LDNS_RR_TYPE_A);
	ldns_rr_set_class(question, LDNS_RR_CLASS_IN);
	ldns_rr_set_question(question, true);
	ldns_pkt_push_rr(pkt, LDNS_SECTION_QUESTION, question);
	ldns_pkt_push_rr_list(pkt, LDNS_SECTION_ANSWER, an);
	ldns_pkt_push_rr_list(pkt, LDNS_SECTION_AUTHORITY, ns);
	ldns_pkt_push_rr_list(pkt, LDNS_SECTION_ADDITIONAL, ar);
	ldns_rr_list_free(an);
	ldns_rr_list_free(ns);
	ldns_rr_list_free(ar);
	ldns_pkt_set_qr(pkt, true);
	ldns_pkt_set_ra(pkt, true);
	if (ldns_pkt2wire(&wire, pkt, &wlen) != LDNS_STATUS_OK)
		exit(1);
	ldns_pkt_free(pkt);
	ldns_rdf_deep_free(target);
	free(wire);
	return wlen;
}

int
main(int argc, char **argv)
{
	struct pkarr_answer_params p = {60, 86400};
	struct pkarr_packet pkt;
	struct pkarr_cache *c;
	ldns_rdf *names[NNAMES];
	char key[PKARR_Z32_KEY_LEN + 1], text[128];
	struct timespec t0, t1;
	long n = argc > 1 ? atol(argv[1]) : 1000;
	bool encode = !(argc > 2 && strcmp(argv[2], "answer-only") == 0);
	size_t bytes = 0;
	double us;

	log_setup("answer_cost", LOG_LVL_ERR, true);
	if (make_packet(&pkt) < 0)
		return 1;
	c = pkarr_cache_new(1 << 20, NULL, &p);
	if (c == NULL || pkarr_cache_put(c, &pkt, NOW_S) < 0)
		return 1;
	pkarr_z32_encode(pkt.pk, key);
	for (int i = 0; i < NNAMES; i++) {
		snprintf(text, sizeof(text), "n%d.%s.", i, key);
		names[i] = ldns_dname_new_frm_str(text);
		if (names[i] == NULL)
			return 1;
	}
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
	for (long i = 0; i < n; i++)
		bytes += answer_one(c, pkt.pk, names[i % NNAMES], &p, encode);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
	us = (double)(t1.tv_sec - t0.tv_sec) * 1e6 +
	     (double)(t1.tv_nsec - t0.tv_nsec) / 1e3;
	printf("answers=%ld reply_bytes=%zu us_per_answer=%.2f\n", n, bytes,
	       n > 0 ? us / (double)n : 0.0);
	for (int i = 0; i < NNAMES; i++)
		ldns_rdf_deep_free(names[i]);
	pkarr_cache_free(c);
	return 0;
}
