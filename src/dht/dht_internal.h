/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dht_internal.h -- state shared by dht.c (core, transactions, maintenance),
 * dht_lookup.c (iterative look-ups, BEP 5 / BEP 44 client side) and
 * dht_server.c (answering queries, BEP 5 / BEP 44 server side).
 * Not part of the module's API: only dht.h and dht_event.h are.
 */
#ifndef PKDNS_DHT_INTERNAL_H
#define PKDNS_DHT_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "dht/dht.h"
#include "dht/dht_store.h"
#include "dht/dht_util.h"
#include "dht/krpc.h"
#include "dht/routing.h"

#define DHT_MAX_TXN 1024
#define DHT_MAX_BOOT 16
#define DHT_SENDBUF 2048
#define DHT_VOTES 16
#define DHT_RATE_SLOTS 256
#define DHT_SEEN_SLOTS 1024
/* addresses that left queries unanswered lately (dht_silent_fails) */
#define DHT_SILENT_SLOTS 1024
#define DHT_SILENT_MS (10u * 60u * 1000u)

/** An address whose last queries went unanswered. */
struct dht_silent {
	struct dht_addr addr;
	uint64_t ms;   /**< the latest unanswered one */
	uint8_t fails; /**< in a row */
};

/** Why a transaction was sent. */
enum txn_purpose {
	TXN_PING = 1,  /**< routing-table liveness */
	TXN_LOOKUP,    /**< a look-up's find_node / get */
	TXN_PUT,       /**< a look-up's put */
};

/** One query in flight; the wire transaction ID is index(2) || salt(2). */
struct dht_txn {
	bool used;
	bool slow;             /**< past half the timeout: no longer counts
				    toward alpha */
	uint8_t purpose;
	uint16_t salt;
	uint32_t soft_ms;      /**< TXN_LOOKUP: slow after this long (0: half
				    the timeout) */
	struct dht_addr to;
	uint64_t sent_ms;
	uint32_t lookup_id;
};

enum cand_state { CAND_NEW = 0, CAND_INFLIGHT, CAND_REPLIED, CAND_FAILED };

/** A node a look-up knows of. */
struct lookup_cand {
	uint8_t id[20];
	bool id_known;         /**< false for bootstrap addresses */
	bool slow;
	bool bep42_ok;         /**< ID valid for the address (BEP 42) */
	bool unverified;       /**< from the routing table, only heard of
				    (ROUTING_HEARD): asked after the nodes
				    that spoke to us */
	uint8_t fails;         /**< from the routing table: queries in a row
				    it left unanswered */
	uint16_t rtt_ms;       /**< from the routing table; 0: unknown */
	uint8_t state;         /**< enum cand_state */
	uint8_t put_state;     /**< 0 none, 1 sent, 2 answered */
	struct dht_addr addr;
	uint8_t token[32];
	uint8_t token_len;
};

enum lookup_kind { LK_FIND_NODE = 1, LK_GET, LK_PUT };

/** One iterative look-up. */
struct dht_lookup {
	struct dht_lookup *next;
	uint32_t id;
	uint8_t kind;          /**< enum lookup_kind */
	bool internal;         /**< maintenance: no callbacks */
	bool dead;             /**< cancelled or finished: reaped later */
	bool finished;         /**< done callback pending */
	bool put_phase;
	bool is_mutable;
	uint8_t target[20];
	uint8_t k[32];
	uint8_t salt[DHT_MAX_SALT];
	size_t salt_len;
	int64_t min_seq;
	int64_t max_seq;       /**< values above it are ignored (dht_lookup_max_seq) */
	int64_t best_seq;
	bool have_value;
	bool step_due;         /**< a reply came in this batch: step after it */
	bool stalled;          /**< no transaction was free: step again from
				    dht_periodic */
	/* every address queried, for the whole look-up: a candidate that
	 * fell off the sorted list is never asked twice */
	struct dht_addr *asked;
	size_t nasked;
	struct dht_item *put_item; /**< LK_PUT: the item to store */
	int64_t cas;
	dht_get_cb get_cb;
	dht_done_cb done_cb;
	void *ctx;
	struct lookup_cand *c;
	size_t nc, cap;
	uint64_t start_ms;
	struct dht_lookup_stats st;
};

struct dht_vote {
	struct dht_addr voter;
	struct dht_addr ip;
};

/* Adaptive mode: an IP whose first query came unsolicited, and whether
 * it has since presented a token we issued to it. */
#define DHT_ADAPTIVE_SLOTS 32
struct dht_adapt {
	struct dht_addr ip;   /**< port 0 */
	uint64_t ms;          /**< the unsolicited query */
	bool proven;
};

struct dht_rate {
	struct dht_addr ip;
	uint64_t last_ms;
	uint32_t tokens_milli; /**< token bucket, in thousandths */
};

/** The node. */
struct dht {
	struct dht_config cfg;
	uint8_t id[20];
	bool id_fixed;
	bool server_now;
	struct routing rt4, rt6;
	struct dht_tokens tokens;
	struct dht_store store;
	struct dht_txn txn[DHT_MAX_TXN];
	uint16_t txn_next;
	/* transaction salts drawn 64 at a time: one getrandom per query
	 * was a system call on every datagram sent */
	uint16_t salt_pool[64];
	uint8_t salt_left;
	int8_t v6_reach;        /* sends to IPv6: 0 untried, 1 one has worked,
				   -1 all have failed so far */
	struct dht_lookup *lookups;
	uint32_t next_lookup_id;
	struct dht_addr boot[DHT_MAX_BOOT];
	/* when each bootstrap address was last of use: added again (its
	 * name still resolves to it) or answered; a full list replaces the
	 * one unused longest */
	uint64_t boot_used_ms[DHT_MAX_BOOT];
	int nboot;
	struct dht_vote votes[DHT_VOTES];
	int nvotes, vote_next;
	struct dht_addr external;
	struct dht_rate rate[DHT_RATE_SLOTS];
	uint64_t seen[DHT_SEEN_SLOTS]; /**< adaptive: last send per IP hash */
	struct dht_adapt adapt[DHT_ADAPTIVE_SLOTS];
	uint64_t now_ms; /**< time of the latest call into the node */
	uint64_t last_maint_ms, last_boot_ms, last_expire_ms;
	/* health (dht_info.health): replies and timeouts of every query */
	uint8_t health;
	uint64_t health_changes;
	uint64_t start_ms, last_reply_ms, up_candidate_ms;
	unsigned fails_since_reply;
	uint8_t version[4];
	/* smoothed round trip of all replies (1/8 the new one); 0: none yet */
	unsigned rtt_est_ms;
	/* direct-mapped by address; a collision forgets the older one */
	struct dht_silent silent[DHT_SILENT_SLOTS];
	uint16_t last_txn; /**< the transaction dht_send_query last used */
	uint8_t buf[DHT_SENDBUF];
};

/* dht.c */
/** Send a datagram to an address. */
int dht_send_raw(struct dht *d, const uint8_t *buf, size_t len, const struct dht_addr *to);

/** dht_send_query()'s result when the send callback says the address
 *  cannot be reached: no transaction is left behind. */
#define DHT_SEND_UNREACHABLE (-2)

/** BEP 32: ask for nodes of both families (dual-stack node, IPv6 not
 *  known to be unreachable). */
bool dht_want_both(const struct dht *d);

/** Allocate a transaction and send a query; fills q->t, q->id, ro, v.
 * @return 0; -1 (no free transaction, or the query does not encode); or
 *         DHT_SEND_UNREACHABLE */
int dht_send_query(struct dht *d, struct krpc_query *q, const struct dht_addr *to,
	uint8_t purpose, uint32_t lookup_id, uint64_t now_ms);
/** How many queries in a row an address left unanswered within the last
 *  DHT_SILENT_MS (0: none, or it answered since). Look-ups ask such
 *  nodes last, or not at all: the network's churned and NAT'd nodes show
 *  up in the replies of others long after they stopped answering. */
unsigned dht_silent_fails(const struct dht *d, const struct dht_addr *a, uint64_t now_ms);
/** Whether no reply reached the node since it started, or for as long
 *  as the health verdict waits before it says "down" (30 s): the
 *  network, or the saved table's part of it, does not answer. */
bool dht_network_silent(const struct dht *d, uint64_t now_ms);
/** The routing table of an address family. */
struct routing *dht_rt(struct dht *d, int family);
/** Whether queries are answered now. */
bool dht_answering(const struct dht *d);
/** Adaptive mode: a query from this address carried a valid token of
 *  ours (put, announce_peer). */
void dht_adaptive_token(struct dht *d, const struct dht_addr *from, uint64_t now_ms);

/* dht_lookup.c */
/** Start a look-up (not yet stepped). */
struct dht_lookup *dht_lookup_new(struct dht *d, uint8_t kind,
	const uint8_t target[20], uint64_t now_ms);
/** Send what can be sent; finish when done. */
void dht_lookup_step(struct dht *d, struct dht_lookup *l, uint64_t now_ms);
/** A reply or error for one of this look-up's transactions; called only
 *  inside dht_input_batch, which steps the look-up after its last
 *  datagram. */
void dht_lookup_reply(struct dht *d, struct dht_lookup *l, const struct dht_txn *t,
	const struct krpc_msg *m, uint64_t now_ms);
/** A transaction of this look-up timed out (or went slow). */
void dht_lookup_timeout(struct dht *d, struct dht_lookup *l, const struct dht_txn *t,
	bool slow_only, uint64_t now_ms);
/** Past its deadline: end it (a put still puts to what it found). */
void dht_lookup_expire(struct dht *d, struct dht_lookup *l, uint64_t now_ms);
/** Find a live look-up by ID. */
struct dht_lookup *dht_lookup_find(struct dht *d, uint32_t id);
/** Add a candidate address (id may be NULL); one named in a reply must
 * also fit the per-subnet cap (the table and bootstrap nodes need not).
 * @return true when it was added */
bool dht_lookup_add(struct dht *d, struct dht_lookup *l, const uint8_t *id,
	const struct dht_addr *a, bool from_reply);
/** Run pending done callbacks, then free dead look-ups. */
void dht_lookups_finish(struct dht *d, uint64_t now_ms);
/** Free every look-up without callbacks. */
void dht_lookups_free(struct dht *d);

/* dht_server.c */
/** Answer one query. */
void dht_server_query(struct dht *d, const struct krpc_msg *m,
	const struct dht_addr *from, uint64_t now_ms);
/** Send a KRPC error for a query. */
void dht_server_error(struct dht *d, const struct krpc_msg *m,
	const struct dht_addr *from, int code, const char *msg);
/** Write up to k compact nodes of one family closest to target.
 * @return bytes written */
size_t dht_compact_closest(struct dht *d, int family, const uint8_t target[20],
	uint8_t *out, size_t cap);

#endif
