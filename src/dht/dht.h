/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dht.h -- a Mainline DHT node (BEP 5) with BEP 44 storage, sans I/O.
 *
 * The node does no I/O and keeps no clock: the caller hands it every
 * datagram that arrives (dht_input), gives it a send callback for the
 * datagrams it wants to send, and calls dht_periodic when the time it asked
 * for has passed. All times are milliseconds of one monotonic clock.
 * dht_event.h wraps this in a libevent UDP socket.
 *
 * Implemented: BEP 5 (ping, find_node, get_peers, announce_peer; k-bucket
 * routing table; tokens), BEP 32 (IPv6 nodes6 / want), BEP 42 (node IDs
 * from the external IP, learnt by voting over the "ip" field of replies;
 * IDs that do not match their IP are not preferred), BEP 43 (read-only
 * "ro": client mode sends it; nodes that send it never enter our table),
 * BEP 44 (get, put of mutable and immutable items, errors 205-207, 301,
 * 302).
 *
 * Modes:
 * - DHT_MODE_CLIENT: queries carry ro=1, incoming queries are not answered.
 * - DHT_MODE_SERVER: a full node; answers and stores.
 * - DHT_MODE_ADAPTIVE: starts as a client (ro=1) but answers queries that
 *   reach it. It turns server, for good, once DHT_ADAPTIVE_MIN_IPS public
 *   IP addresses whose first query came unsolicited (we had sent nothing
 *   to them in the DHT_ADAPTIVE_WINDOW_MS before, so it cannot have come
 *   through a NAT mapping we opened) have since sent a put or
 *   announce_peer with the token we gave that address. The source of a
 *   query is easily forged (from our own network, say); returning our
 *   token proves the sender received our reply at that address, so the
 *   unsolicited query really came from there.
 *
 * Health: the node watches its replies and timeouts and logs "no DHT node
 * answers (offline?)" and "DHT up: N nodes" once per change
 * (dht_info.health); on going down it pings its failed nodes and the
 * bootstrap addresses again (dht_rebootstrap).
 *
 * Look-ups are bounded (dht_config): a deadline, a query budget, no
 * address asked twice, per-reply and per-subnet caps on new candidates.
 *
 * Re-entrancy: the get and done callbacks may call dht_cancel and start
 * new look-ups (dht_get_mutable, dht_get_immutable, dht_put), but must not
 * call dht_input, dht_periodic or dht_free. Done callbacks never run inside
 * dht_get_*, dht_put or dht_cancel, only from dht_input / dht_periodic.
 *
 * Callbacks never run inside the call that started them; they run from
 * the event loop. (Here: from dht_input and dht_periodic, which the
 * loop calls; get and done callbacks alike.) The send hook of struct
 * dht_config is no completion callback: every call that has a datagram
 * to send calls it at once, and it must not call into the node.
 * Errors: a function that can fail returns a negative int (-1 unless its
 * @return names codes), NULL for a pointer, or 0 for an ID.
 */
#ifndef PKDNS_DHT_DHT_H
#define PKDNS_DHT_DHT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/** BEP 43 behaviour; see the file comment. */
enum dht_mode {
	DHT_MODE_CLIENT = 0,
	DHT_MODE_SERVER = 1,
	DHT_MODE_ADAPTIVE = 2,
};

/** Adaptive mode: unsolicited queriers that must return our token. */
#define DHT_ADAPTIVE_MIN_IPS 3
/** Adaptive mode: the window those queries must fall in. */
#define DHT_ADAPTIVE_WINDOW_MS (10u * 60u * 1000u)

/** Largest BEP 44 value (bytes of v) and salt. */
#define DHT_MAX_VALUE 1000
#define DHT_MAX_SALT 64

/** Node configuration; zero fields take the defaults shown. */
struct dht_config {
	int mode;                /**< enum dht_mode */
	const uint8_t *node_id;  /**< 20 bytes, or NULL: random, and replaced
				      per BEP 42 once the external IP is known */
	/** Send one datagram; the node never blocks on it. Returns 0, or -1
	 *  when the destination cannot be reached from here at all (no
	 *  route, address family not usable): the query fails at once
	 *  instead of waiting out its timeout. A datagram dropped for a full
	 *  socket buffer counts as sent. */
	int (*send)(void *ctx, const uint8_t *buf, size_t len,
		const struct sockaddr *to, socklen_t tolen);
	void *send_ctx;
	int k;                   /**< bucket size and replication; 8 */
	int alpha;               /**< look-up parallelism; 3 */
	unsigned query_timeout_ms; /**< 2000 */
	size_t max_items;        /**< BEP 44 items stored for others; 1000 */
	size_t max_item_bytes;   /**< bytes of all stored values; 2 MB */
	bool loopback_testnet;   /**< relax per-IP rules for 127.0.0.0/8
				      (the routing table's one node per IP
				      is also relaxed for loopback once a
				      loopback bootstrap node is added) */
	bool narrow_buckets;     /**< every bucket k nodes, as BEP 5 has it;
				      default: the four farthest hold 16k,
				      8k, 4k and 2k (routing.h) */
	bool dual_stack;         /**< the socket reaches IPv4 and IPv6 nodes:
				      while either table is thin, find_node
				      asks for both (BEP 32 "want"), unless
				      sending to IPv6 nodes has failed */
	/* Bounds of one look-up, whatever its responders say (a Sybil node
	 * can answer every query with closer, fresh nodes forever). */
	unsigned lookup_deadline_ms; /**< a look-up ends this long after it
					  started, found or not; 12000 */
	unsigned lookup_budget;  /**< most get/find_node queries one look-up
				      sends (puts not counted); 96, at most
				      DHT_MAX_LOOKUP_BUDGET */
	unsigned lookup_per_reply; /**< most new candidates one reply may
					add to a look-up; 8 */
	unsigned lookup_per_subnet; /**< most candidates of one look-up from
					 one IPv4 /24 or IPv6 /48 at a time
					 (a BEP 42-valid ID displaces one that
					 is not); loopback addresses are
					 exempt; 2 */
	bool quiet;              /**< do not log health changes (extra
				      nodes of a testnet) */
};

/** Upper bound of dht_config.lookup_budget. */
#define DHT_MAX_LOOKUP_BUDGET 1024

/** Reachability of the DHT as the node sees it (dht_info.health). */
enum dht_health {
	DHT_HEALTH_STARTING = 0, /**< no verdict yet */
	DHT_HEALTH_UP,           /**< nodes answer */
	DHT_HEALTH_DOWN,         /**< no node answers: offline, or every
				      known node is gone */
};

/** A BEP 44 item. v holds the value as a byte string (BEP 44 allows any
 *  bencoded value; pkarr and this API use strings). */
struct dht_item {
	bool is_mutable;
	uint8_t k[32];
	uint8_t sig[64];
	int64_t seq;
	uint8_t salt[DHT_MAX_SALT];
	size_t salt_len;
	uint8_t v[DHT_MAX_VALUE];
	size_t v_len;
	/** get callbacks: the node whose reply carried the value (from_len
	 *  0 when not known); ignored by dht_put */
	struct sockaddr_storage from;
	socklen_t from_len;
};

/** What one look-up did, reported to its done callback. */
struct dht_lookup_stats {
	uint32_t lookup_id;
	unsigned queried;     /**< distinct nodes sent a query */
	unsigned responses;   /**< replies received (any kind) */
	unsigned sent;        /**< datagrams sent, puts included */
	unsigned timeouts;    /**< queries that got no answer */
	unsigned values;      /**< verified values reported */
	unsigned stored;      /**< put: nodes that acknowledged the put */
	unsigned put_errors;  /**< put: nodes that answered with an error */
	int last_error;       /**< put: last KRPC error code received, or 0 */
	int64_t first_value_ms; /**< ms from start to the first value, -1 none */
	uint64_t elapsed_ms;  /**< ms from start to done */
	bool deadline;        /**< ended by lookup_deadline_ms */
	bool budget_spent;    /**< sent lookup_budget queries */
	unsigned refused;     /**< candidates refused: per-reply or subnet
				   cap, or an address already asked */
	unsigned too_new;     /**< verified values ignored for a seq
				   above dht_lookup_max_seq() */
	bool network_silent;  /**< ended at its first query timeout: no
				   node had answered it, nor the node for
				   30 s (or ever) */
};

/** Node state for logs and the CLI. */
struct dht_info {
	uint8_t id[20];
	bool server;          /**< answering queries as a full node now */
	size_t nodes4, good4, nodes6, good6;
	size_t items;         /**< BEP 44 items stored for others */
	size_t lookups;       /**< look-ups running */
	bool have_external;
	char external[64];    /**< voted external IP, when known */
	int health;           /**< enum dht_health */
	uint64_t health_changes; /**< transitions so far (the caller can
				      tell that a DOWN happened in between) */
};

struct dht;

/**
 * Called with each verified value: for mutable items only when its seq is
 * higher than any reported before in this look-up.
 * @param ctx caller context
 * @param item the item (valid only during the call)
 */
typedef void (*dht_get_cb)(void *ctx, const struct dht_item *item);

/**
 * Called once when a look-up ends (not after dht_cancel).
 * @param ctx caller context
 * @param st what the look-up did
 */
typedef void (*dht_done_cb)(void *ctx, const struct dht_lookup_stats *st);

/**
 * Create a node.
 * @param cfg configuration (copied; send is required)
 * @param now_ms current time
 * @return the node, or NULL (bad config, out of memory)
 */
struct dht *dht_new(const struct dht_config *cfg, uint64_t now_ms);

/**
 * Free a node; no callback runs.
 * @param d node (NULL is fine)
 */
void dht_free(struct dht *d);

/**
 * Process one received datagram.
 * @param d node
 * @param buf datagram
 * @param len its length
 * @param from sender
 * @param fromlen sender length
 * @param now_ms current time
 */
void dht_input(struct dht *d, const uint8_t *buf, size_t len,
	const struct sockaddr *from, socklen_t fromlen, uint64_t now_ms);

/** One received datagram, for dht_input_batch(). */
struct dht_datagram {
	const uint8_t *buf;
	size_t len;
	const struct sockaddr *from;
	socklen_t fromlen;
};

/**
 * Process datagrams that arrived together. Each value is reported (get
 * callback) as its datagram is processed, but the queries the replies
 * lead to go out only after the last datagram: a value later in the
 * batch then reaches its caller before the node spends time sending, and
 * each look-up picks its next nodes knowing every reply of the batch. Queries from other nodes are still
 * answered in arrival order. dht_input() is a batch of one.
 * @param d node
 * @param dg the datagrams
 * @param n how many
 * @param now_ms current time
 */
void dht_input_batch(struct dht *d, const struct dht_datagram *dg, size_t n,
	uint64_t now_ms);

/**
 * Timeouts, maintenance (pings, bucket refresh, bootstrap), finished
 * look-ups.
 * @param d node
 * @param now_ms current time
 * @return ms until the node wants to be called again
 */
uint64_t dht_periodic(struct dht *d, uint64_t now_ms);

/** What dht_add_bootstrap did with an address (negative: nothing). */
enum dht_boot_result {
	DHT_BOOT_ERROR = -1,   /**< bad address, or the find_node could not be sent */
	DHT_BOOT_ADDED = 0,    /**< new, stored in a free slot */
	DHT_BOOT_KNOWN = 1,    /**< already in the list (marked as still in use) */
	DHT_BOOT_REPLACED = 2, /**< new; the list was full and it took the slot of
				    the address unused longest */
};

/**
 * Add a bootstrap node and send it a find_node for our own ID; it is used
 * again whenever the routing table runs low. The list holds DHT_MAX_BOOT
 * addresses; each is marked in use when it is added again or answers, and
 * a new address in a full list replaces the one unused longest (so the
 * addresses a name no longer resolves to make room for its new ones).
 * @param d node
 * @param sa address
 * @param salen its length
 * @return an enum dht_boot_result: DHT_BOOT_ERROR (< 0) or what was done
 *         (>= 0, the find_node was sent)
 */
int dht_add_bootstrap(struct dht *d, const struct sockaddr *sa, socklen_t salen);

/**
 * The network may have changed (it came back, the host resumed from
 * suspend): nodes that stopped answering get another chance (they are
 * pinged again) and every bootstrap address is sent a find_node. The node
 * does this by itself when it turns DHT_HEALTH_DOWN; the caller adds its
 * own reasons (a clock jump) and its retries with backoff.
 * @param d node
 * @param now_ms current time
 */
void dht_rebootstrap(struct dht *d, uint64_t now_ms);

/**
 * Look a mutable item up (BEP 44 get); target = SHA-1(k || salt).
 * @param d node
 * @param k public key
 * @param salt salt or NULL
 * @param salt_len salt length (<= 64)
 * @param min_seq report only items with seq >= min_seq
 * @param cb each newer verified value
 * @param done end of the look-up
 * @param ctx passed to the callbacks
 * @param now_ms current time
 * @return look-up ID (never 0), or 0 on error
 */
uint32_t dht_get_mutable(struct dht *d, const uint8_t k[32], const uint8_t *salt,
	size_t salt_len, int64_t min_seq, dht_get_cb cb, dht_done_cb done,
	void *ctx, uint64_t now_ms);

/**
 * Ignore values of a mutable look-up whose seq is above max_seq: not
 * reported (counted in dht_lookup_stats.too_new once their signature
 * checks), and not the "best seq" that hides lower ones. For pkarr,
 * where seq is a timestamp, a value dated years ahead must not hide the
 * owner's current one. Call right after dht_get_mutable().
 * @param d node
 * @param lookup_id what dht_get_mutable() returned
 * @param max_seq the highest seq to accept
 * @return 0, or -1 (no such mutable look-up)
 */
int dht_lookup_max_seq(struct dht *d, uint32_t lookup_id, int64_t max_seq);

/**
 * Look an immutable item up; target = SHA-1 of the bencoded value.
 * @param d node
 * @param target 20-byte target
 * @param cb the verified value (at most once)
 * @param done end of the look-up
 * @param ctx passed to the callbacks
 * @param now_ms current time
 * @return look-up ID, or 0 on error
 */
uint32_t dht_get_immutable(struct dht *d, const uint8_t target[20],
	dht_get_cb cb, dht_done_cb done, void *ctx, uint64_t now_ms);

/**
 * Store an item: get tokens from the k closest nodes, then put to those
 * that gave one. A mutable item must be signed already (see
 * dht_bep44_signable); it is verified first.
 * @param d node
 * @param item the item (copied)
 * @param cas expected current seq (BEP 44 cas), or -1
 * @param done end of the put (st->stored counts acknowledgements)
 * @param ctx passed to done
 * @param now_ms current time
 * @return look-up ID, or 0 on error (bad signature, sizes)
 */
uint32_t dht_put(struct dht *d, const struct dht_item *item, int64_t cas,
	dht_done_cb done, void *ctx, uint64_t now_ms);

/**
 * Stop a look-up; none of its callbacks runs afterwards.
 * @param d node
 * @param lookup_id from dht_get_* / dht_put (unknown IDs are ignored)
 */
void dht_cancel(struct dht *d, uint32_t lookup_id);

/**
 * The bytes a BEP 44 mutable item signature covers:
 * "4:salt<n>:<salt>" (only with a salt) "3:seqi<seq>e1:v<len>:<v>".
 * @param out destination
 * @param cap its size
 * @param salt salt or NULL
 * @param salt_len its length (0 = none)
 * @param seq sequence number
 * @param v value bytes (encoded as a bencode string)
 * @param v_len their length
 * @return bytes written, or -1 when cap is too small
 */
int dht_bep44_signable(uint8_t *out, size_t cap, const uint8_t *salt,
	size_t salt_len, int64_t seq, const uint8_t *v, size_t v_len);

/**
 * Target of an immutable item whose value is the byte string v.
 * @param v value bytes
 * @param v_len length
 * @param target 20-byte result
 */
void dht_immutable_target(const uint8_t *v, size_t v_len, uint8_t target[20]);

/**
 * Save the routing table (both families) as a bencoded dictionary
 * {"id": our ID, "nodes": compact IPv4 nodes, "nodes6": compact IPv6}.
 * @param d node
 * @param buf destination
 * @param cap its size (26 bytes per node plus a little)
 * @return bytes written, or -1 when cap is too small
 */
int dht_save_nodes(const struct dht *d, uint8_t *buf, size_t cap);

/**
 * The buffer dht_save_nodes() needs for the table as it is now.
 * @param d node
 * @return bytes
 */
size_t dht_save_nodes_size(const struct dht *d);

/**
 * Load nodes saved by dht_save_nodes; they start questionable and get
 * pinged. A saved ID is adopted when the config gave none.
 * @param d node
 * @param buf saved bytes
 * @param len their length
 * @param now_ms current time
 * @return number of nodes loaded, or -1 when buf is not a saved table
 */
int dht_load_nodes(struct dht *d, const uint8_t *buf, size_t len, uint64_t now_ms);

/**
 * Describe the node.
 * @param d node
 * @param now_ms current time
 * @param out result
 */
void dht_get_info(const struct dht *d, uint64_t now_ms, struct dht_info *out);

#endif
