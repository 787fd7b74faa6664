/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * msg.h -- the bounded parse of an incoming DNS query and the small
 * wire-format edits the front end makes to answers.
 *
 * Only the header, the question and the OPT record (RFC 6891) are read:
 * that is all the front end needs to route and answer, and it is done
 * without allocation so that a cached answer costs no malloc. Full
 * messages (answers from upstream, pkarr packets) are handled with ldns
 * elsewhere.
 */
#ifndef PKDNS_DNS_MSG_H
#define PKDNS_DNS_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_HDR_LEN 12
#define DNS_MAX_NAME 255

#define DNS_RCODE_NOERROR 0
#define DNS_RCODE_FORMERR 1
#define DNS_RCODE_SERVFAIL 2
#define DNS_RCODE_NXDOMAIN 3
#define DNS_RCODE_NOTIMP 4
#define DNS_RCODE_REFUSED 5
#define DNS_RCODE_BADVERS 16 /* extended, needs OPT */

#define DNS_TYPE_OPT 41
#define DNS_TYPE_ANY 255

/** What the front end knows of a query after dns_msg_parse_query(). */
struct dns_msginfo {
	uint16_t id;
	uint8_t opcode;
	bool rd, cd, ad;
	bool has_question;          /**< the question parsed (for error replies) */
	uint8_t qname[DNS_MAX_NAME]; /**< wire format, lower-cased */
	size_t qname_len;
	uint16_t qtype, qclass;
	size_t question_end;        /**< offset just past the question */
	bool edns;                  /**< the query had an OPT record */
	bool do_bit;
	uint8_t edns_version;
	uint16_t udp_size;          /**< the client's buffer size, >= 512 */
};

/**
 * Parse a query. Never reads past len.
 * @param buf, len the datagram or TCP message
 * @param mi filled with what was parsed (even on a FORMERR result, as far
 *        as it got, so that the error reply can echo the question)
 * @return 0 for a well-formed query; a DNS rcode (DNS_RCODE_FORMERR,
 *         DNS_RCODE_NOTIMP, DNS_RCODE_BADVERS) to answer with; or -1
 *         when no reply must be sent (shorter than a header, or QR=1)
 */
int dns_msg_parse_query(const uint8_t *buf, size_t len, struct dns_msginfo *mi);

/**
 * Build an error reply (no answer records) for a parsed query.
 * @param mi the query as parsed
 * @param rcode DNS rcode, may be extended (BADVERS) when mi->edns
 * @param out, cap the buffer
 * @param our_udp_size the buffer size we announce in OPT
 * @return the length, or 0 when cap is too small
 */
size_t dns_msg_error(const struct dns_msginfo *mi, int rcode, uint8_t *out, size_t cap,
    uint16_t our_udp_size);

/**
 * Append an OPT record to a complete message (ARCOUNT + 1).
 * @return the new length, or 0 when it does not fit
 */
size_t dns_msg_add_opt(uint8_t *msg, size_t len, size_t cap, uint16_t udp_size, bool do_bit,
    uint8_t ext_rcode);

/**
 * Cut an answer that does not fit a UDP buffer down to its header and
 * question with TC=1 (RFC 2181 section 9, RFC 6891 section 7).
 * @param msg the answer (modified in place)
 * @param qend offset just past its question
 * @return the new length
 */
size_t dns_msg_truncate(uint8_t *msg, size_t qend);

/** @return the rcode in a message's header (low 4 bits), or -1 when short. */
int dns_msg_rcode(const uint8_t *msg, size_t len);

/**
 * Walk past one (possibly compressed) name. Pointers are not followed.
 * @return the offset after the name, or 0 when malformed/out of bounds
 */
size_t dns_msg_skip_name(const uint8_t *buf, size_t len, size_t off);

/** One resource record of a message, as dns_msg_next_rr found it. */
struct dns_rr {
	size_t owner;               /**< offset of the owner name */
	uint16_t type;
	uint32_t ttl;               /**< as sent (the top bit not cleared) */
	size_t rdata;               /**< offset of the rdata */
	size_t rdlen;               /**< within the message */
};

/**
 * Walk past the header and the question section.
 * @param n_rr out: the records after it (ANCOUNT + NSCOUNT + ARCOUNT)
 * @return the offset of the first record, or 0 when malformed or short
 */
size_t dns_msg_first_rr(const uint8_t *msg, size_t len, unsigned *n_rr);

/**
 * Read the record at off (a dns_msg_first_rr or dns_msg_next_rr answer).
 * @return the offset after it, or 0 when it is malformed or runs past len
 */
size_t dns_msg_next_rr(const uint8_t *msg, size_t len, size_t off, struct dns_rr *rr);

/** @return the number of labels of a wire-format name (root = 0). */
unsigned dns_name_labels(const uint8_t *name, size_t len);

/**
 * Find the last label of a wire-format name and the one before it.
 * @param name, len the name (uncompressed, as in struct dns_msginfo)
 * @param idx 0 = the last label (the TLD), 1 = the one before it, ...
 * @param label set to the label's first character
 * @param label_len set to its length
 * @return 0, or -1 when the name has fewer labels
 */
int dns_name_label_from_end(const uint8_t *name, size_t len, unsigned idx,
    const uint8_t **label, size_t *label_len);

/**
 * Print a wire-format name as text (with a trailing dot).
 * @return 0, or -1 when it does not fit
 */
int dns_name_to_str(const uint8_t *name, size_t len, char *out, size_t cap);

/** Lower-case ASCII letters in place. */
static inline uint8_t
dns_lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

static inline uint16_t
dns_get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline void
dns_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

#endif
