/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * answer.h -- answering one DNS question from a verified pkarr packet.
 *
 * A packet's records form a small zone whose apex is the key: record
 * names end in the key (e.g. "_pubky.<key>", as the JS and Rust pkarr
 * packages write them). Names are compared case-insensitively. Lookup
 * follows RFC 1034 section 4.3.2 inside that zone: a zone cut (NS records
 * at or above the name, apex included) is a delegation, CNAME chains are
 * followed inside the packet (at most 8 links, RFC 1034 4.3.2 step 3a),
 * wildcards are synthesised per RFC 4592 (section 3.3.1: "*.<closest
 * encloser>" answers names that do not exist, owner rewritten to the
 * question's name) and negative answers carry a synthesised SOA for
 * negative caching (RFC 2308 section 3; RFC 6604 for CNAME chains).
 *
 * The packet's DNS message is parsed afresh on each call (it is at most
 * 1000 bytes); nothing is kept between calls.
 */
#ifndef PKDNS_PKARR_ANSWER_H
#define PKDNS_PKARR_ANSWER_H

#include <stdint.h>

#include <ldns/ldns.h>

#include "pkarr/packet.h"

/** Outcome of pkarr_answer(). */
enum pkarr_answer_status {
	PKARR_ANS_OK,         /**< records in `answer` */
	PKARR_ANS_NODATA,     /**< the name exists, not with that type */
	PKARR_ANS_NXDOMAIN,   /**< the name does not exist in the packet */
	PKARR_ANS_CNAME_OUT,  /**< chain leaves the packet: resolve *target next */
	PKARR_ANS_DELEGATION, /**< NS records cover the name */
	PKARR_ANS_SERVFAIL,   /**< loop, chain > 8, broken packet, bad qname */
};

/** TTL clamp applied to every record served (pkdns --min-ttl/--max-ttl). */
struct pkarr_answer_params {
	uint32_t min_ttl; /**< smallest TTL handed out */
	uint32_t max_ttl; /**< largest TTL handed out */
};

/** Most CNAME links followed inside one packet. */
#define PKARR_MAX_CNAME_CHAIN 8

/**
 * Answer a question from a verified packet.
 *
 * The question's name must end in the packet's key: its last label before
 * the root is the 52-character key (any case). Suffixes such as ".key" or
 * search domains must be stripped by the caller first; a name not ending
 * in this packet's key gives PKARR_ANS_SERVFAIL.
 *
 * Answer records are clones with TTLs clamped to [min_ttl, max_ttl]; the
 * records found at the question's name (or synthesised from a wildcard)
 * carry the question's name as owner, in the question's case.
 * - OK: `answer` holds the records (after any CNAMEs of the chain).
 * - NODATA / NXDOMAIN: `answer` holds the CNAMEs followed so far, if any;
 *   `authority` holds a SOA for the key (serial = packet timestamp in
 *   seconds, TTL and minimum = the packet's smallest clamped TTL).
 * - CNAME_OUT: `answer` holds the chain; *target is set to a new rdf with
 *   the name to continue with (under another key or an ICANN name).
 * - DELEGATION: `answer` holds any CNAMEs followed to reach the cut,
 *   `authority` the NS rrset of the highest cut covering the name,
 *   `additional` the packet's A/AAAA glue for the NS targets. A question
 *   for DS at the cut itself is answered from the packet instead.
 * - SERVFAIL: the lists may hold partial results; discard them.
 * qtype ANY returns every record at the name without following CNAMEs.
 *
 * @param pkt a packet that passed pkarr_packet_verify()
 * @param qname the question's name (absolute dname rdf)
 * @param qtype the question's type (LDNS_RR_TYPE_ANY allowed)
 * @param p the TTL clamp
 * @param answer caller-owned list receiving answer RRs
 * @param authority caller-owned list receiving SOA or NS RRs
 * @param additional caller-owned list receiving glue (may be NULL)
 * @param target receives a new rdf for CNAME_OUT (caller frees with
 *        ldns_rdf_deep_free); set to NULL otherwise
 * @return the outcome
 */
enum pkarr_answer_status
pkarr_answer(const struct pkarr_packet *pkt, const ldns_rdf *qname,
	     ldns_rr_type qtype, const struct pkarr_answer_params *p,
	     ldns_rr_list *answer, ldns_rr_list *authority,
	     ldns_rr_list *additional, ldns_rdf **target);

/**
 * The packet's freshness: the smallest clamped TTL of its records.
 * @param pkt a verified packet
 * @param p the TTL clamp
 * @param ttl receives the TTL; p->min_ttl for a packet without records
 * @return 0, or PKARR_E_DNS when the DNS message does not parse
 */
int pkarr_packet_min_ttl(const struct pkarr_packet *pkt,
			 const struct pkarr_answer_params *p, uint32_t *ttl);

/**
 * Make the dname "<z32 key>." for a public key.
 * @param pk the 32-byte key
 * @return a new rdf (free with ldns_rdf_deep_free) or NULL
 */
ldns_rdf *pkarr_key_dname(const uint8_t pk[32]);

#endif
