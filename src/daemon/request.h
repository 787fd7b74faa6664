/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * request.h -- one client request across the resolution paths, and the
 * one function through which every reply leaves the daemon.
 *
 * A struct pkdns_req is the client's side of a question: the held
 * dns_query, its deadline (a stale answer at PKDNS_STALE_WAIT_MS, SERVFAIL
 * at PKDNS_DEADLINE_MS, the same for every path), the CNAME chain gathered
 * so far, and what the hooks of the reply need to know (transport, path,
 * why it failed). The steps that resolve (the answer cache, the ICANN
 * path, the pkarr path) never answer a client themselves: they hand a
 * struct pkdns_result to pkdns_req_finish(), which applies the rules every
 * answer must obey -- DNSSEC records only for DO clients (RFC 4035 section
 * 3.2.1), AD only for validated data of the ICANN path, bogus data only
 * with CD (RFC 4035 section 3.2.2), the answer cache, the counters -- and
 * sends it. Modelled on unbound's mesh_send_reply().
 *
 * The hook point: pkdns_req_finish() is the place for anything that
 * must see every reply (EDE options, the query log, the rebinding filter,
 * metrics by transport, path and rcode). At that point r->transport,
 * r->path, r->reason and res are set.
 *
 * Callbacks never run inside the call that started them; they run from
 * the event loop. The deadline's expired callback runs from the loop,
 * never inside a call of this API. pkdns_req_finish() sends and
 * returns: it never re-enters the DNS handler (dns/server.h reads a TCP
 * connection's next query from the loop, not inside the reply), so
 * finishing one request neither starts nor finishes another.
 *
 * Errors: a function that can fail returns a negative int (-1 unless its
 * @return names codes), NULL for a pointer, or 0 for an ID. Each
 * function says what a failure leaves of the request.
 */
#ifndef PKDNS_DAEMON_REQUEST_H
#define PKDNS_DAEMON_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ldns/ldns.h>

#include "icann/icann.h"

struct cache_key;

struct dns_query;
struct event;
struct pkdns;

/* How long a client waits before a stale answer is tried (RFC 8767
 * section 5 suggests 1.8 s), and before it gets SERVFAIL. */
#define PKDNS_STALE_WAIT_MS 1800
#define PKDNS_DEADLINE_MS 4000

/** How the query came in. */
enum pkdns_transport {
	PKDNS_TRANSPORT_UDP = 0,
	PKDNS_TRANSPORT_TCP,
};

/** Which path answered (or failed) the request. */
enum pkdns_path {
	PKDNS_PATH_NONE = 0,   /**< refused or malformed before routing */
	PKDNS_PATH_CACHE,      /**< the answer cache (stale answers too) */
	PKDNS_PATH_ICANN,      /**< libunbound */
	PKDNS_PATH_PKARR,      /**< a key's packet (maybe with ICANN steps) */
};

/** Why a request ended in an error reply (SERVFAIL, REFUSED...). */
enum pkdns_fail {
	PKDNS_FAIL_NONE = 0,
	PKDNS_FAIL_NO_AUTHORITY,   /**< no reachable name server / upstream */
	PKDNS_FAIL_DHT_UNREACHABLE, /**< no DHT node answered (or no DHT) */
	PKDNS_FAIL_NO_PACKET,      /**< the key has no usable packet */
	PKDNS_FAIL_FUTURE_PACKET,  /**< only packets dated ahead of the clock */
	PKDNS_FAIL_BOGUS,          /**< DNSSEC validation failed */
	PKDNS_FAIL_NETWORK,        /**< the upstream failed or answered SERVFAIL */
	PKDNS_FAIL_DEADLINE,       /**< PKDNS_DEADLINE_MS passed */
	PKDNS_FAIL_BUDGET,         /**< over a budget (client, in-flight, waiters) */
	PKDNS_FAIL_RATELIMIT,      /**< a rate limit */
	PKDNS_FAIL_CHASE,          /**< too many CNAME/delegation hops */
	PKDNS_FAIL_POLICY,         /**< refused by policy (class, type, ANY) */
	PKDNS_FAIL_INTERNAL,       /**< out of memory, unparseable data */
};

/** The name of a reason, for logs ("deadline", "bogus"...). */
const char *pkdns_fail_str(enum pkdns_fail why);

/** What a step hands to pkdns_req_finish(). */
enum pkdns_result_kind {
	PKDNS_RES_PKT = 0,     /**< pkt is the answer */
	PKDNS_RES_ERROR,       /**< an error reply with rcode */
	PKDNS_RES_BUF,         /**< the answer is in dns_query_buf, len bytes */
	PKDNS_RES_STALE,       /**< a stale answer if the cache has one; else
	                            the request stays held (see finish) */
	PKDNS_RES_DROP,        /**< send nothing */
};

struct pkdns_result {
	enum pkdns_result_kind kind;
	int rcode;                 /**< PKDNS_RES_ERROR; the pkt's own otherwise */
	enum pkdns_fail reason;    /**< why, for errors */
	bool stale_ok;             /**< PKDNS_RES_ERROR: a stale answer first */
	ldns_pkt *pkt;             /**< PKDNS_RES_PKT: changed in place, not freed */
	enum icann_sec sec;        /**< DNSSEC status of pkt's data */
	size_t len;                /**< PKDNS_RES_BUF */
	bool no_cache;             /**< do not store pkt in the answer cache */
};

/** Called when the deadline answered the client (stale or SERVFAIL): the
 *  owner detaches from whatever it waits on and frees itself. The request
 *  is finished; only its fields are still readable. */
typedef void (*pkdns_deadline_fn)(void *ctx);

/** The client deadline of a held request (internal to request.c). */
struct pkdns_deadline {
	struct event *timer;
	bool stale_tried;
	pkdns_deadline_fn expired;
	void *ctx;
};

struct pkdns_req {
	struct pkdns *d;
	struct dns_query *q;           /**< NULL once finished */
	bool held;                     /**< q was held (dns_query_hold) */
	struct pkdns_deadline dl;
	enum pkdns_transport transport;
	enum pkdns_path path;
	enum pkdns_fail reason;        /**< set by finish when it failed */
	int rcode;                     /**< the rcode sent, once finished */
	bool used_icann;               /**< a step asked the ICANN path */
	bool stale;                    /**< answered from a stale entry */
	bool timed_out;                /**< the deadline sent SERVFAIL */
	ldns_rr_list *chain;           /**< answer records gathered so far (owned) */
};

/**
 * Fill r for q, answered within the handler call (nothing held).
 * @param path the path the request takes
 */
void pkdns_req_init(struct pkdns_req *r, struct pkdns *d, struct dns_query *q,
    enum pkdns_path path);

/**
 * Hold r's query beyond the handler call and arm its deadline.
 * @param expired called from the event loop, with ctx, after the deadline
 *        answered the client
 * @return 0; or -1 when it could not, and the query was answered
 *         (SERVFAIL) or dropped: r is finished
 */
int pkdns_req_hold(struct pkdns_req *r, pkdns_deadline_fn expired, void *ctx);

/**
 * The one exit: apply the answer rules to res and send it. Runs the
 * reply hooks. The deadline is stopped; r->chain is freed.
 * @return true when r is finished; false only for PKDNS_RES_STALE when
 *         no stale answer was found (r still held, nothing sent)
 */
bool pkdns_req_finish(struct pkdns_req *r, struct pkdns_result *res);

/** Finish r with an error reply (a stale answer first when stale_ok). */
void pkdns_req_fail(struct pkdns_req *r, int rcode, enum pkdns_fail why, bool stale_ok);

/** Drop r's query (shutdown): nothing sent, the deadline stopped. */
void pkdns_req_drop(struct pkdns_req *r);

/** Free what r owns (chain, timer); r's query must be finished. */
void pkdns_req_clear(struct pkdns_req *r);

/**
 * The one consumer of an ICANN answer for r, whether r is an ICANN
 * client or a pkarr client whose CNAME chain left into an ICANN name (its
 * r->chain goes first, the ICANN part's SOA only with a negative answer).
 * Failures, SERVFAIL packets, bogus data without CD: an error reply
 * (a stale answer first for failures). Finishes r.
 * @param rcode, msg, len, sec as icann_cb gives them
 * @param first false when another request already had the same answer
 *        (bogus answers are logged and counted once)
 */
void pkdns_req_icann_answer(struct pkdns_req *r, int rcode, const uint8_t *msg, size_t len,
    enum icann_sec sec, const char *why_bogus, bool first);

/**
 * Store a libunbound answer that came after every client of its question
 * had its answer (stale or SERVFAIL at the deadline), so that the next
 * client gets it from the cache (RFC 8767 section 5: the resolution goes
 * on after the client response timer). Same rules as a client's answer;
 * failures and bogus answers are not stored.
 */
void pkdns_icann_store_late(struct pkdns *d, const struct cache_key *key, bool cd, int rcode,
    const uint8_t *msg, size_t len, enum icann_sec sec);

#endif
