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
 * The packet is parsed once into a compact index (struct pkarr_rr_ref:
 * where each record of the answer section starts in the DNS message, its
 * type, TTL and owner's length), which the packet cache keeps beside the
 * packet (pkarr_cache_get_view()). Answering then compares names in the
 * message itself and parses only the records it hands out: no parse of
 * the whole packet per question. pkarr_answer() builds the index on the
 * stack for one call, for a packet that is not in the cache.
 *
 * Functions here do no I/O and keep no state; no callbacks. Errors: a
 * negative PKARR_E_* code, or PKARR_ANS_SERVFAIL for the answer itself.
 */
#ifndef PKDNS_PKARR_ANSWER_H
#define PKDNS_PKARR_ANSWER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

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
 * Most records of a packet that are answered from: a 1000-byte message
 * cannot hold more, each record taking at least 11 bytes. Records past
 * it are ignored.
 */
#define PKARR_MAX_RECORDS 100

/**
 * One record of a packet's answer section, located in its DNS message:
 * 12 bytes whatever the record's size, so the index of a packet costs
 * 12 bytes per record and refers to the message for everything else.
 */
struct pkarr_rr_ref {
	uint16_t off;      /**< offset of the record (its owner) in the message */
	uint16_t type;     /**< RR type */
	uint32_t ttl;      /**< TTL as published (not clamped) */
	uint8_t owner_len; /**< wire length of the owner, uncompressed */
	uint8_t labels;    /**< labels of the owner, the root not counted */
};

/**
 * A verified packet with its index: everything pkarr_answer_view() reads.
 * The pointers are borrowed (from the packet cache or the caller) and
 * must outlive the calls that use the view.
 */
struct pkarr_view {
	const uint8_t *pk;              /**< the 32-byte key */
	uint64_t ts_us;                 /**< the packet's timestamp */
	const uint8_t *dns;             /**< its DNS message */
	size_t dns_len;                 /**< the message's length */
	const struct pkarr_rr_ref *rr;  /**< its records under the key */
	size_t n;                       /**< how many */
};

/**
 * Index a packet's records: those of the answer section whose owner is at
 * or below the key, in message order, at most PKARR_MAX_RECORDS (as
 * pkarr_answer() has always read a packet; pkarr writers put every
 * record in the answer section). The message must parse as a whole with
 * ldns (it does for any verified packet); each record is found where
 * ldns's own parse finds it.
 * @param dns the DNS message (at most PKARR_MAX_DNS bytes)
 * @param dns_len its length
 * @param pk the packet's 32-byte key
 * @param out receives the records (room for PKARR_MAX_RECORDS)
 * @param n receives how many
 * @return 0, PKARR_E_SIZE, PKARR_E_DNS (does not parse), PKARR_E_INVAL
 */
int pkarr_index_build(const uint8_t *dns, size_t dns_len, const uint8_t pk[32],
		      struct pkarr_rr_ref out[PKARR_MAX_RECORDS], size_t *n);

/**
 * Make the view of a packet that is not in the cache, its index built
 * into caller storage (on the stack: 1200 bytes).
 * @param pkt a verified packet (borrowed by the view)
 * @param rr storage for the index, borrowed by the view
 * @param v receives the view
 * @return as pkarr_index_build()
 */
int pkarr_view_from_packet(const struct pkarr_packet *pkt,
			   struct pkarr_rr_ref rr[PKARR_MAX_RECORDS],
			   struct pkarr_view *v);

/**
 * As pkarr_answer(), from a packet's view: same outcomes, same records,
 * byte for byte. Allocates only the records handed out (and the SOA of
 * a negative answer).
 * @param v a verified packet and its index (pkarr_index_build())
 * @return as pkarr_answer()
 */
enum pkarr_answer_status
pkarr_answer_view(const struct pkarr_view *v, const ldns_rdf *qname,
		  ldns_rr_type qtype, const struct pkarr_answer_params *p,
		  ldns_rr_list *answer, ldns_rr_list *authority,
		  ldns_rr_list *additional, ldns_rdf **target);

/**
 * The smallest clamped TTL of a view's records (p->min_ttl clamped when
 * it has none): as pkarr_packet_min_ttl().
 * @param v the view
 * @param p the TTL clamp
 * @return the TTL
 */
uint32_t pkarr_view_min_ttl(const struct pkarr_view *v,
			    const struct pkarr_answer_params *p);

/**
 * Answer a question from a verified packet (its index is built for this
 * call; pkarr_answer_view() answers from one kept in the packet cache).
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
 * The A and AAAA records of a list as socket addresses with a port, in
 * list order; other types, and A/AAAA records whose data is not 4/16
 * bytes, are skipped. Used for bootstrap names and name servers alike.
 * @param list the records (may be NULL: none)
 * @param port the port to put in each address (host order)
 * @param addrs receives the addresses (zeroed first)
 * @param max room in addrs
 * @return how many were written, at most max
 */
size_t pkarr_rr_addrs(const ldns_rr_list *list, uint16_t port,
		      struct sockaddr_storage *addrs, size_t max);

/**
 * Make the dname "<z32 key>." for a public key.
 * @param pk the 32-byte key
 * @return a new rdf (free with ldns_rdf_deep_free) or NULL
 */
ldns_rdf *pkarr_key_dname(const uint8_t pk[32]);

#endif
