/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * routing.h -- the Kademlia routing table of one address family (BEP 5
 * "Routing Table", BEP 32 for IPv6).
 *
 * 160 buckets indexed by the number of leading bits a node ID shares with
 * ours; this is the fully split form of BEP 5's bucket tree (only the
 * bucket holding our own ID ever splits, so bucket i of the tree is the set
 * of IDs sharing exactly i bits). Each bucket keeps up to k nodes and up to
 * k replacement candidates; with ROUTING_WIDE the four farthest keep 16k,
 * 8k, 4k and 2k nodes (libtorrent's "extended routing table" has the same
 * sizes). Those four buckets cover 15/16 of the ID space: knowing 16 times
 * more of its nodes puts a look-up's first queries about four bits closer
 * to the target, which on a network of a few hundred nodes is often on a
 * node holding the item, and saves about one round trip on a large one.
 *
 * Node states (BEP 5): good = replied to us within 15 minutes, or replied
 * ever and queried us within 15 minutes; bad = ROUTING_MAX_FAILS queries
 * in a row unanswered; questionable otherwise. Nodes enter only on direct
 * contact (a reply, or a query from a node that did not say ro=1: the
 * caller filters BEP 43). A full bucket replaces bad nodes first, then a
 * BEP 42-invalid node by a valid one, else keeps the newcomer as a
 * replacement candidate while the questionable nodes get pinged. One node
 * per IP address, except loopback addresses when relax_loopback is set.
 * Nodes a reply names may also fill a bucket's free places unverified
 * (ROUTING_HEARD, issue 15): table coverage without a ping each; any node
 * that makes contact takes such a place.
 */
#ifndef PKDNS_DHT_ROUTING_H
#define PKDNS_DHT_ROUTING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dht/dht_util.h"

/** Unanswered queries in a row that make a node bad. */
#define ROUTING_MAX_FAILS 2
/** BEP 5: a node not heard from in 15 minutes becomes questionable. */
#define ROUTING_GOOD_MS (15u * 60u * 1000u)
/** BEP 5: a bucket unchanged for 15 minutes is refreshed. */
#define ROUTING_REFRESH_MS (15u * 60u * 1000u)
/** Least time between two liveness pings to one node. */
#define ROUTING_PING_INTERVAL_MS (60u * 1000u)

/** One known node. */
struct routing_node {
	uint8_t id[20];
	struct dht_addr addr;
	uint64_t last_reply_ms; /**< 0: never replied */
	uint64_t last_query_ms; /**< 0: never queried us */
	uint64_t last_ping_ms;
	uint8_t fails;
	bool bep42_ok; /**< ID valid for the address, or address local */
	uint16_t rtt_ms; /**< smoothed round trip of its replies; 0: none
			      measured yet (look-ups ask fast nodes first
			      and give up waiting on them sooner) */
	bool heard;      /**< entered as ROUTING_HEARD */
};

/**
 * @param n a node
 * @return true for a node only heard of (ROUTING_HEARD) that has not
 *         made contact since
 */
bool routing_node_unverified(const struct routing_node *n);

/** One k-bucket. */
struct routing_bucket {
	int n, nrep;
	struct routing_node *nodes; /**< k entries, allocated on first use */
	struct routing_node *rep;   /**< k replacement candidates */
	uint64_t changed_ms;
	bool refreshed; /**< looked up at least once (Kademlia join) */
};

/** routing_init() flags. */
enum routing_flags {
	ROUTING_RELAX_LOOPBACK = 1, /**< many nodes on one loopback IP (testnets) */
	ROUTING_WIDE = 2,           /**< the four farthest buckets hold 16k..2k */
};

/** A routing table for one address family. */
struct routing {
	uint8_t family; /**< 4 or 6 */
	int k;
	bool relax_loopback;
	bool wide;
	uint8_t self[20];
	struct routing_bucket b[160];
};

/** How a node made contact. */
enum routing_contact {
	ROUTING_REPLY = 1, /**< answered one of our queries */
	ROUTING_QUERY,     /**< sent us a query */
	ROUTING_LOADED,    /**< from a saved table: not yet verified */
	ROUTING_HEARD,     /**< named in a reply: not verified; fills a
				bucket with room only, is never pinged for
				upkeep and gives way to any node that made
				contact (the first look-up that asks it
				verifies it) */
};

/**
 * Set up an empty table.
 * @param rt table
 * @param family 4 or 6
 * @param k bucket size (BEP 5: 8)
 * @param self our node ID
 * @param flags enum routing_flags
 * @param now_ms current time
 */
void routing_init(struct routing *rt, int family, int k, const uint8_t self[20],
	unsigned flags, uint64_t now_ms);

/**
 * How many nodes a bucket holds at most.
 * @param rt table
 * @param i bucket index (shared leading bits with our ID)
 * @return k, or more for the far buckets of a ROUTING_WIDE table
 */
int routing_bucket_cap(const struct routing *rt, int i);

/**
 * The most nodes the table can hold (all buckets full).
 * @param rt table
 * @return that number
 */
size_t routing_capacity(const struct routing *rt);

/**
 * Free the buckets.
 * @param rt table
 */
void routing_free(struct routing *rt);

/**
 * Record contact with a node: insert, update, or keep as a candidate.
 * @param rt table
 * @param id node ID
 * @param addr node address (family must match the table)
 * @param how enum routing_contact
 * @param now_ms current time
 * @return 1 when the node is (now) in the table, 0 when kept as a
 *         replacement candidate, -1 when rejected
 */
int routing_heard(struct routing *rt, const uint8_t id[20],
	const struct dht_addr *addr, enum routing_contact how, uint64_t now_ms);

/**
 * Record the round trip of a node's reply (smoothed: 3/4 the old, 1/4
 * the new; the first one as it is).
 * @param rt table
 * @param id node ID
 * @param addr node address
 * @param rtt_ms the round trip (capped at 65535)
 */
void routing_rtt(struct routing *rt, const uint8_t id[20], const struct dht_addr *addr,
	uint64_t rtt_ms);

/**
 * Record an unanswered query; the node turns bad after ROUTING_MAX_FAILS
 * and is then replaced by a candidate if the bucket has one.
 * @param rt table
 * @param addr node address
 */
void routing_failed(struct routing *rt, const struct dht_addr *addr);

/**
 * Give every bad node another chance: it turns questionable (one failure
 * short of bad) and is due for a ping at once. For when the network comes
 * back after every node stopped answering.
 * @param rt table
 */
void routing_revive(struct routing *rt);

/** The most nodes routing_closest() returns. */
#define ROUTING_CLOSEST_MAX 256

/**
 * The closest nodes to a target that are not bad, closest first. Visits
 * only the buckets it needs: all of one bucket's nodes are closer to the
 * target than those of the buckets it comes before in XOR order.
 * @param rt table
 * @param target 20-byte ID
 * @param out destination array
 * @param max its size (at most ROUTING_CLOSEST_MAX are written)
 * @return number of nodes written
 */
size_t routing_closest(const struct routing *rt, const uint8_t target[20],
	struct routing_node *out, size_t max);

/**
 * The next questionable node due for a liveness ping; marks it pinged.
 * @param rt table
 * @param now_ms current time
 * @param out the node to ping
 * @return 1 when a node is due, 0 otherwise
 */
int routing_next_ping(struct routing *rt, uint64_t now_ms,
	struct routing_node *out);

/**
 * The next bucket due for a refresh (BEP 5: unchanged for 15 minutes,
 * and once at start so a joining node fills its far buckets), as a random
 * target inside it; marks the bucket refreshed.
 * @param rt table
 * @param now_ms current time
 * @param target random ID in the bucket's range
 * @return 1 when a refresh is due, 0 otherwise
 */
int routing_next_refresh(struct routing *rt, uint64_t now_ms,
	uint8_t target[20]);

/**
 * Change our own ID (BEP 42 regeneration) and re-sort every node.
 * @param rt table
 * @param self the new ID
 * @param now_ms current time
 */
void routing_set_self(struct routing *rt, const uint8_t self[20], uint64_t now_ms);

/**
 * Count nodes that are not bad.
 * @param rt table
 * @param now_ms current time
 * @param good if not NULL, receives the number of good nodes
 * @return the number of nodes in the table
 */
size_t routing_count(const struct routing *rt, uint64_t now_ms, size_t *good);

/**
 * Copy every node that is not bad (bucket order), for saving; not those
 * only heard of (ROUTING_HEARD) that never made contact: a restart
 * starts from nodes known to be alive, and a look-up's first queries
 * then go to them.
 * @param rt table
 * @param out destination
 * @param max its size
 * @return number of nodes written
 */
size_t routing_all(const struct routing *rt, struct routing_node *out, size_t max);

/**
 * Find a node by address.
 * @param rt table
 * @param addr address
 * @return the node or NULL
 */
struct routing_node *routing_find_addr(struct routing *rt, const struct dht_addr *addr);

/**
 * Whether a node heard of (in a "nodes" list) would fit into its bucket
 * now: worth a ping so the table fills beyond the nodes we talk to.
 * @param rt table
 * @param id its ID
 * @param addr its address
 * @return true when the bucket has room and the node is not in it
 */
bool routing_wants(const struct routing *rt, const uint8_t id[20],
	const struct dht_addr *addr);

/**
 * @param n a node
 * @param now_ms current time
 * @return true when the node is good per BEP 5
 */
bool routing_node_good(const struct routing_node *n, uint64_t now_ms);

#endif
