/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * oracle_answer.h -- the former ldns implementation of pkarr_answer() and
 * pkarr_packet_min_ttl(), the oracle of fuzz_pkarr_answer.c.
 */
#ifndef PKDNS_FUZZ_ORACLE_ANSWER_H
#define PKDNS_FUZZ_ORACLE_ANSWER_H

#include <ldns/ldns.h>

#include "pkarr/answer.h"

/** As pkarr_answer() before the parsed form (same contract). */
enum pkarr_answer_status
oracle_answer(const struct pkarr_packet *pkt, const ldns_rdf *qname,
	      ldns_rr_type qtype, const struct pkarr_answer_params *p,
	      ldns_rr_list *answer, ldns_rr_list *authority,
	      ldns_rr_list *additional, ldns_rdf **target);

/** As pkarr_packet_min_ttl() before the parsed form. */
int oracle_min_ttl(const struct pkarr_packet *pkt,
		   const struct pkarr_answer_params *p, uint32_t *ttl);

#endif
