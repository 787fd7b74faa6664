/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cache.h -- the answer cache in front of both resolution paths (ICANN
 * through libunbound, and pkarr).
 *
 * Entries are complete DNS responses in wire format, keyed by (lower-cased
 * qname, qtype, qclass, DO bit). A lookup copies the stored bytes into the
 * caller's buffer and patches only the message ID, the RD flag and the TTL
 * fields (whose offsets were found once, at store time), so the hot path
 * allocates nothing and never re-parses a message.
 *
 * Lifetimes follow RFC 1035 section 7.3 / RFC 2181 section 8 (smallest TTL
 * of the answer and authority sections; a TTL with the top bit set counts as
 * zero) and RFC 2308 section 5 for negative answers (the smaller of the SOA
 * record's TTL and its MINIMUM field). Expired entries may be served stale
 * as RFC 8767 describes (section 4: TTL of 30 s on stale answers).
 *
 * The table is keyed with SipHash-2-4 under a random key per cache, so
 * clients who choose query names cannot aim them all at one bucket. Memory
 * is bounded by bytes, entry overhead included, with LRU eviction.
 *
 * Not thread-safe: one cache belongs to one event loop.
 */
#ifndef PKDNS_CACHE_CACHE_H
#define PKDNS_CACHE_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Error codes (negative) returned by the cache functions. */
enum cache_error {
	CACHE_ERR_INVAL = -1,     /**< bad argument (NULL, name too long) */
	CACHE_ERR_NOMEM = -2,     /**< allocation failed */
	CACHE_ERR_MALFORMED = -3, /**< the DNS message does not parse */
	CACHE_ERR_NOSPACE = -4,   /**< the output buffer is too small */
};

/** cache_store() result: well-formed, but not cacheable (see there). */
#define CACHE_NOT_STORED 1

/** TTL put on stale answers unless changed (RFC 8767 section 4). */
#define CACHE_STALE_TTL_DEFAULT 30u
/** How long expired entries are kept for serve-stale unless changed:
 * one day, within RFC 8767 section 5's suggested 1 to 3 days. */
#define CACHE_STALE_KEEP_DEFAULT 86400u

/** Longest wire-format name (RFC 1035 section 2.3.4): size of key buffers. */
#define CACHE_NAME_MAX 255

/** Longest EXTRA-TEXT kept with an entry (bytes; RFC 8914 section 2);
 *  a longer one is cut on a UTF-8 character boundary. */
#define CACHE_EDE_TEXT_MAX 80

struct cache;

/**
 * What an answer is stored under. The name is in wire format (labels ending
 * with the root label, no compression) and lower-cased (ASCII A-Z only) by
 * the caller, e.g. with cache_key_from_question(). The cache copies it on
 * store; on lookup it is only read.
 */
struct cache_key {
	const uint8_t *qname; /**< wire-format name, lower-cased */
	size_t qname_len;     /**< its length, root label included (1..255) */
	uint16_t qtype;       /**< question type */
	uint16_t qclass;      /**< question class */
	bool do_bit;          /**< the query's EDNS DO bit (RFC 3225) */
};

/**
 * An Extended DNS Error (RFC 8914) kept with an answer, so that every
 * replay from the cache explains itself as the first answer did (e.g. a
 * pkarr NXDOMAIN's "no packet for this key on the DHT"). The cache only
 * keeps it; who gets it (EDNS clients only) is the front end's rule.
 */
struct cache_ede {
	bool set;         /**< an EDE goes with the answer */
	uint16_t code;    /**< its INFO-CODE */
	const char *text; /**< EXTRA-TEXT (UTF-8, NUL-terminated) or NULL */
};

/** Counters, for the stats log line and the tests. */
struct cache_stats {
	uint64_t entries;    /**< entries held now */
	uint64_t bytes;      /**< bytes they are charged, overhead included */
	uint64_t hits;       /**< lookups answered with a fresh entry */
	uint64_t misses;     /**< lookups that returned 0 */
	uint64_t stale_hits; /**< lookups answered with a stale entry */
	uint64_t evictions;  /**< entries dropped for space or for age */
};

/**
 * Create an empty cache.
 * @param max_bytes memory budget for the entries (each charged its message,
 *   key, TTL offset table and a fixed overhead); at least a few KB
 * @return the cache, or NULL when out of memory or max_bytes is 0
 */
struct cache *cache_new(size_t max_bytes);

/**
 * Free the cache and every entry. NULL is allowed.
 * @param c the cache
 */
void cache_free(struct cache *c);

/**
 * Set the serve-stale parameters (RFC 8767).
 * @param c the cache
 * @param keep_s expired entries older than this past their expiry are
 *   dropped when a lookup meets them (0: drop expired entries at once, i.e.
 *   no serve-stale); default CACHE_STALE_KEEP_DEFAULT
 * @param stale_ttl_s TTL written into every record of a stale answer;
 *   default CACHE_STALE_TTL_DEFAULT
 */
void cache_set_stale(struct cache *c, uint32_t keep_s, uint32_t stale_ttl_s);

/**
 * Store a complete DNS response under key, replacing what the key held.
 *
 * The message is hostile input: it is walked once, bounded, and anything
 * malformed (truncated, counts beyond the data, bad label types, compression
 * pointers that point forward, at themselves, into the header or past the
 * end, names over 255 bytes, trailing bytes, more than one OPT, OPT outside
 * the additional section, a question count above 1) is rejected.
 *
 * The entry lives for the smallest TTL of the answer and authority records,
 * further bounded by the MINIMUM field of an SOA in the authority section.
 * A negative answer (NXDOMAIN, or NOERROR with no answer records) needs
 * that SOA (RFC 2308 section 5). Each stored TTL is lowered to the entry's
 * lifetime so no record outlives it. OPT is left alone (its TTL field holds
 * EDNS flags) and returned as it was stored.
 *
 * Not stored (CACHE_NOT_STORED): rcodes other than NOERROR/NXDOMAIN
 * (including extended rcodes from OPT), opcodes other than QUERY, QR clear
 * and TC set; an existing entry then stays, so it can still be served stale
 * while the source fails. Also not stored, but removing the existing entry
 * because the source has newer data that must not be cached: NOERROR or
 * NXDOMAIN answers with a lifetime of 0, negative answers without SOA, and
 * entries larger than the whole budget.
 *
 * @param c the cache
 * @param key where to store it (the name is copied)
 * @param msg the response, header included; its ID is ignored
 * @param len its length (at most 65535)
 * @param ttl_cap upper bound for the lifetime in seconds (0: none)
 * @param now_ms the current monotonic time in milliseconds
 * @return 0 stored, CACHE_NOT_STORED, or a negative enum cache_error
 */
int cache_store(struct cache *c, const struct cache_key *key,
		const uint8_t *msg, size_t len, uint32_t ttl_cap,
		uint64_t now_ms);

/**
 * As cache_store(), keeping an Extended DNS Error with the answer: its
 * code and text (copied, cut at CACHE_EDE_TEXT_MAX bytes) are handed
 * back by every cache_lookup_ede() of the entry. The text's bytes are
 * counted in the entry's charge.
 * @param ede the EDE, or NULL (or ede->set false) for none
 * @return as cache_store()
 */
int cache_store_ede(struct cache *c, const struct cache_key *key,
		    const uint8_t *msg, size_t len, uint32_t ttl_cap,
		    uint64_t now_ms, const struct cache_ede *ede);

/**
 * Copy the cached answer for key into out, ready to send: the ID set to
 * id, RD set to the client's rd, and every TTL (OPT aside) lowered by the
 * whole seconds spent in the cache, rounded up so that no record shows
 * more than what remains. Moves the entry to the head of the LRU list.
 *
 * An expired entry is a miss, unless allow_stale and it expired less than
 * stale_max_s seconds ago: then it is returned with every TTL set to the
 * stale TTL (see cache_set_stale()) and *is_stale set. An entry expired for
 * longer than stale_max_s (allow_stale) or the keep time is dropped.
 *
 * @param c the cache
 * @param key what to look up
 * @param id message ID of the client's query
 * @param rd the client's RD flag
 * @param now_ms the current monotonic time in milliseconds (same clock as
 *   cache_store())
 * @param out where the answer goes
 * @param cap size of out
 * @param allow_stale serve an expired entry (the source has failed)
 * @param stale_max_s how long past expiry an entry may be served stale
 * @param is_stale set to whether the answer was stale; may be NULL
 * @return the answer's length, 0 on a miss, CACHE_ERR_NOSPACE when cap is
 *   too small (the entry stays), CACHE_ERR_INVAL on bad arguments
 */
long cache_lookup(struct cache *c, const struct cache_key *key, uint16_t id,
		  bool rd, uint64_t now_ms, uint8_t *out, size_t cap,
		  bool allow_stale, uint32_t stale_max_s, bool *is_stale);

/**
 * As cache_lookup(), also handing out the EDE stored with the entry.
 * @param ede receives it when the answer's length is returned (set false
 *   when the entry has none; untouched otherwise); its text points into
 *   the entry: valid only until the next call into the cache. May be NULL
 * @return as cache_lookup()
 */
long cache_lookup_ede(struct cache *c, const struct cache_key *key,
		      uint16_t id, bool rd, uint64_t now_ms, uint8_t *out,
		      size_t cap, bool allow_stale, uint32_t stale_max_s,
		      bool *is_stale, struct cache_ede *ede);

/**
 * Drop the entry for key, if there is one.
 * @param c the cache
 * @param key what to drop
 */
void cache_remove(struct cache *c, const struct cache_key *key);

/**
 * Drop every entry whose name is zone or a name under it (pkdns-control
 * flush_zone). Walks the whole cache: for an operator, not a hot path.
 * @param c the cache
 * @param zone wire-format name, lower-cased, root label included
 * @param zone_len its length
 * @return how many entries were dropped
 */
size_t cache_remove_under(struct cache *c, const uint8_t *zone, size_t zone_len);

/**
 * Read the counters.
 * @param c the cache
 * @param st filled in
 */
void cache_get_stats(const struct cache *c, struct cache_stats *st);

/**
 * Build a key from a DNS query: check that it has exactly one question,
 * copy the question name lower-cased into buf (bounded, and compression is
 * refused: a question has nothing earlier to point to) and fill key with
 * it, the question's type and class, and do_bit.
 *
 * The DO bit lives in the OPT record at the end of the query, which the
 * front end parses anyway for the EDNS buffer size; it passes it in.
 *
 * @param msg the query, header included
 * @param len its length
 * @param buf receives the lower-cased name; key->qname points here
 * @param cap size of buf (CACHE_NAME_MAX is always enough)
 * @param do_bit the query's EDNS DO bit
 * @param key filled in
 * @return the offset just past the question (where the next section
 *   starts), or a negative enum cache_error (CACHE_ERR_MALFORMED when the
 *   question does not parse or QDCOUNT is not 1, CACHE_ERR_NOSPACE when buf
 *   is too small)
 */
int cache_key_from_question(const uint8_t *msg, size_t len, uint8_t *buf,
			    size_t cap, bool do_bit, struct cache_key *key);

#endif
