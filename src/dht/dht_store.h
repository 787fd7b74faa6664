/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dht_store.h -- what a DHT server node stores for others: BEP 44 items
 * and BEP 5 peers (announce_peer).
 *
 * Items expire 2 hours after their last put (BEP 44 asks for at least
 * 2 hours); the store is bounded in item count and value bytes, evicting
 * the item stored longest ago. For a mutable item the highest seq wins;
 * on equal seq the larger v (bytewise) wins, so every node converges on
 * the same value whatever order the puts arrive in. Signatures and tokens
 * are checked by the caller before anything is stored here.
 */
#ifndef PKDNS_DHT_STORE_H
#define PKDNS_DHT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dht/krpc.h"

/** Lifetime of a stored item (BEP 44). */
#define DHT_STORE_ITEM_MS (2u * 3600u * 1000u)
/** Lifetime of an announced peer. */
#define DHT_STORE_PEER_MS (30u * 60u * 1000u)
/** Bound on stored peers (all info-hashes together). */
#define DHT_STORE_MAX_PEERS 4096

/** One stored BEP 44 item. */
struct dht_store_item {
	uint8_t target[20];
	bool is_mutable;
	uint8_t k[32];
	uint8_t sig[64];
	int64_t seq;
	uint8_t salt[64];
	size_t salt_len;
	uint8_t *v;   /**< bencoded value, owned by the store */
	size_t v_len;
	uint64_t stored_ms;
};

/** One announced peer. */
struct dht_store_peer {
	uint8_t info_hash[20];
	uint8_t compact[18]; /**< 6 or 18 bytes used */
	uint8_t len;
	uint64_t stored_ms;
};

/** The store. */
struct dht_store {
	struct dht_store_item *items;
	size_t n_items, max_items;
	size_t bytes, max_bytes;
	struct dht_store_peer *peers;
	size_t n_peers;
};

/**
 * Set up an empty store.
 * @param s store
 * @param max_items bound on item count
 * @param max_bytes bound on value bytes
 * @return 0 or -1 (out of memory)
 */
int dht_store_init(struct dht_store *s, size_t max_items, size_t max_bytes);

/**
 * Free everything.
 * @param s store
 */
void dht_store_free(struct dht_store *s);

/**
 * Find an unexpired item.
 * @param s store
 * @param target 20-byte target
 * @param now_ms current time
 * @return the item or NULL
 */
const struct dht_store_item *dht_store_get(const struct dht_store *s,
	const uint8_t target[20], uint64_t now_ms);

/**
 * Store a mutable item whose signature the caller verified.
 * @param s store
 * @param it item (v is copied)
 * @param has_cas whether the put carried "cas"
 * @param cas its value
 * @param now_ms current time
 * @return 0, -KRPC_E_CAS, -KRPC_E_SEQ, or -KRPC_E_SERVER (no room)
 */
int dht_store_put(struct dht_store *s, const struct dht_store_item *it,
	bool has_cas, int64_t cas, uint64_t now_ms);

/**
 * Drop expired items and peers.
 * @param s store
 * @param now_ms current time
 */
void dht_store_expire(struct dht_store *s, uint64_t now_ms);

/**
 * Remember an announced peer.
 * @param s store
 * @param info_hash 20 bytes
 * @param compact peer address, 6 or 18 bytes
 * @param len its length
 * @param now_ms current time
 */
void dht_store_add_peer(struct dht_store *s, const uint8_t info_hash[20],
	const uint8_t *compact, size_t len, uint64_t now_ms);

/**
 * Peers announced for an info-hash, of one address length.
 * @param s store
 * @param info_hash 20 bytes
 * @param len 6 (IPv4) or 18 (IPv6)
 * @param out views into the store, valid until the next change
 * @param max size of out
 * @param now_ms current time
 * @return number of peers written
 */
size_t dht_store_get_peers(const struct dht_store *s, const uint8_t info_hash[20],
	size_t len, struct krpc_str *out, size_t max, uint64_t now_ms);

#endif
