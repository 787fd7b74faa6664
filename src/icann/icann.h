/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * icann.h -- the ICANN path: ordinary names through libunbound, on the
 * daemon's own event_base (ub_ctx_create_event), no extra threads.
 *
 * Default: full recursion from the root with DNSSEC validation against
 * the configured trust anchor file. With forwarders: every name is sent
 * to them (still validated when DNSSEC is on). libunbound brings random
 * source ports and IDs, TCP fallback, EDNS and the validator.
 *
 * Callbacks never run inside the call that started them; they run from
 * the event loop. (An answer libunbound has at once is kept and handed
 * over when the loop runs.)
 * Errors: a function that can fail returns a negative int (-1 unless its
 * @return names codes), NULL for a pointer, or 0 for an ID.
 */
#ifndef PKDNS_ICANN_ICANN_H
#define PKDNS_ICANN_ICANN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct event_base;
struct icann;

/** Settings of the ICANN path. */
struct icann_config {
	const struct sockaddr_storage *forward; /**< upstreams, or none */
	size_t n_forward;
	/** When set, forward[] are not forwarders but the authoritative
	 *  servers of this one zone (a libunbound stub zone); used for NS
	 *  delegations inside pkarr packets. */
	const char *stub_zone;
	bool dnssec;                  /**< validate */
	const char *trust_anchor_file;/**< zone-format DS/DNSKEY file */
	/** Most queries inside libunbound at once, cancelled ones included
	 *  (0: no limit). libunbound keeps a query whose servers never
	 *  answer for minutes, about 12 KB each: this bounds that memory. */
	size_t max_inflight;
	/** Small caches (a delegation's resolver: one zone, few names). */
	bool small;
};

/** DNSSEC status of an answer, as libunbound reports it. */
enum icann_sec { ICANN_INSECURE = 0, ICANN_BOGUS = 1, ICANN_SECURE = 2 };

/**
 * Called once per icann_resolve(), always from the event loop, never
 * before icann_resolve returns (an answer libunbound has at once, from
 * its cache or local data, is kept and handed over when the loop runs).
 * @param ctx the caller's pointer
 * @param rcode 0, or a DNS rcode when resolution failed (msg is NULL)
 * @param msg the answer in wire format (valid during the call only)
 * @param sec the DNSSEC status
 * @param why_bogus libunbound's reason when sec is ICANN_BOGUS, or NULL
 */
typedef void (*icann_cb)(void *ctx, int rcode, const uint8_t *msg, size_t len,
    enum icann_sec sec, const char *why_bogus);

/**
 * Create the resolver on base.
 * @return the resolver, or NULL after logging why
 */
struct icann *icann_new(struct event_base *base, const struct icann_config *cfg);

/** Drop everything in flight (no callbacks) and free: ub_ctx_delete,
 *  linear in the queries in flight. */
void icann_free(struct icann *ic);

/** Queries inside libunbound now, cancelled ones included. */
size_t icann_inflight(const struct icann *ic);

/** True when icann_resolve() would refuse for max_inflight. */
bool icann_full(const struct icann *ic);

/** A resolve in flight. */
struct icann_req;

/** Never returned any more (the callback never runs inside
 *  icann_resolve); kept so that callers written for it still build. */
#define ICANN_DONE ((struct icann_req *)1)

/**
 * Start resolving.
 * @param name the name in text form
 * @param qtype, qclass as in the question
 * @param cb, ctx called once with the answer
 * @return a handle for icann_cancel(), or NULL on failure or when
 *         icann_full() (cb is not called)
 */
struct icann_req *icann_resolve(struct icann *ic, const char *name, uint16_t qtype,
    uint16_t qclass, icann_cb cb, void *ctx);

/**
 * Cancel a resolve in flight: its callback will not be called, and r is
 * invalid after this call. The query itself goes on inside libunbound
 * until libunbound ends it (with servers that never answer: up to
 * minutes) and counts in icann_inflight() until then. (With
 * ub_ctx_create_event, ub_cancel only suppresses the callback and frees
 * nothing, so it would only hide when the memory comes back.)
 */
void icann_cancel(struct icann *ic, struct icann_req *r);

#endif
