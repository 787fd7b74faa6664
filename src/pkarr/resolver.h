/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * resolver.h -- public key -> signed packet: the packet cache, the DHT
 * node (or an in-process testnet), one look-up per key however many ask
 * (the DHT and the configured relays together), bootstrap, the saved
 * routing table, republishing, idle verification of packets read from
 * disk, and putting packets (BEP 44).
 *
 * The resolver knows nothing of DNS questions, the daemon or libunbound:
 * bootstrap host names are resolved through the resolve_host hook of
 * struct pkarr_resolver_hooks. Its clients are the daemon's pkarr path
 * (DNS questions), the relay API and the control channel.
 *
 * Loop and re-entrancy: everything runs on the event base given to
 * pkarr_resolver_new().
 * Callbacks never run inside the call that started them; they run from
 * the event loop. (pkarr_resolver_get answers a cached key synchronously
 * through its return value and out-parameters, a miss through the
 * callback, from the loop.) A callback may call any function here,
 * including a new get for the same key, and may cancel other pending
 * gets. The hooks of struct pkarr_resolver_hooks are the owner's
 * functions the resolver calls; resolve_host must not call its fn
 * inside the call either.
 *
 * Errors: a function that can fail returns a negative int (-1 unless its
 * @return names codes), NULL for a pointer, or 0 for an ID. (The enum
 * pkarr_resolver_rc codes below zero.)
 */
#ifndef PKDNS_PKARR_RESOLVER_H
#define PKDNS_PKARR_RESOLVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct sockaddr;
struct pkarr_packet;
struct pkarr_view;
struct sockaddr_storage;
struct pkarr_cache;
struct dht;
struct dht_node;
struct dht_item;
struct pkarr_resolver;
struct pkarr_get;

/** How the DHT node runs. */
enum pkarr_resolver_dht_mode {
	PKARR_RESOLVER_DHT_OFF = 0,    /**< no DHT node (relays only, or nothing) */
	PKARR_RESOLVER_DHT_ADAPTIVE,   /**< server once reachable (BEP 43) */
	PKARR_RESOLVER_DHT_CLIENT,     /**< read-only node */
	PKARR_RESOLVER_DHT_SERVER,
};

/**
 * The resolver's settings. Strings and lists are copied by
 * pkarr_resolver_new(). What pkarr_resolver_reconfigure() changes live:
 * min_ttl, max_ttl (answers' TTL clamp, packet freshness for packets
 * stored from then on, the negative TTL), dht_ratelimit(_burst) and the
 * republish keys. Everything else is read once by pkarr_resolver_new().
 */
struct pkarr_resolver_config {
	size_t packet_cache_size;      /**< bytes */
	const char *cache_dir;         /**< packets and the routing table, or NULL */
	uint32_t cache_dir_retry;      /**< s between tries of an unusable cache_dir; 0 never */
	uint32_t min_ttl, max_ttl;     /**< TTL clamp of answers and of freshness */
	uint32_t dht_ratelimit;        /**< look-ups a client may start per s; 0 no limit */
	uint32_t dht_ratelimit_burst;
	enum pkarr_resolver_dht_mode dht_mode;
	uint16_t dht_port;             /**< 0: any */
	const struct sockaddr_storage *dht_listen; /**< bind the node here, or NULL */
	uint32_t dht_listen_len;       /**< its length (socklen_t) */
	uint32_t testnet;              /**< in-process DHT nodes to start, 0 none */
	uint16_t testnet_port;
	uint32_t testnet_rtt, testnet_loss, testnet_dead, testnet_seed; /**< emulation */
	const char *const *bootstrap;  /**< "host:port" or "addr:port" */
	size_t n_bootstrap;
	const char *const *republish;  /**< z-base32 keys always republished */
	size_t n_republish;
	uint32_t republish_interval;   /**< s; 0 no republishing */
	const char *const *relay;      /**< relay URLs asked beside the DHT */
	size_t n_relay;
	const char *relay_ca;          /**< CA file for https relays, or NULL */
};

/**
 * The answer to a bootstrap name's question: rcode, and the DNS message
 * (wire, valid during the call) or NULL.
 */
typedef void (*pkarr_resolver_host_fn)(void *arg, int rcode, const uint8_t *msg, size_t len);

/** What the resolver asks of its owner. */
struct pkarr_resolver_hooks {
	void *ctx;
	/**
	 * Resolve host's records of qtype (A or AAAA), never through the
	 * OS resolver when pkdns may be it. fn must not run inside this call.
	 * @return a handle for cancel_host, or NULL (nothing started)
	 */
	void *(*resolve_host)(void *ctx, const char *host, uint16_t qtype,
	    pkarr_resolver_host_fn fn, void *arg);
	/** Cancel a resolve_host that has not called back. */
	void (*cancel_host)(void *ctx, void *handle);
	/** A DHT look-up ended: ms to its first value (found) or in all
	 *  (not found). May be NULL. */
	void (*lookup_observed)(void *ctx, uint64_t ms, bool found);
};

/** Outcomes of the calls below and of their callbacks. */
enum pkarr_resolver_rc {
	PKARR_RESOLVER_FOUND = 0,        /**< a packet (fresh or stale) */
	PKARR_RESOLVER_PENDING = 1,      /**< the callback will tell */
	PKARR_RESOLVER_NONE = 2,         /**< the key is known to have no packet */
	PKARR_RESOLVER_MISS = 3,         /**< pkarr_resolver_cached: not held */
	PKARR_RESOLVER_FAIL = -1,        /**< out of memory, too many look-ups */
	PKARR_RESOLVER_LIMITED = -2,     /**< over the client's look-up rate */
	PKARR_RESOLVER_OLDER = -3,       /**< put: a newer packet is held */
	PKARR_RESOLVER_BAD = -4,         /**< put: refused (bad, dated in the future) */
	PKARR_RESOLVER_UNREACHABLE = -5, /**< no DHT node or relay answers/is known */
	PKARR_RESOLVER_REFUSED = -6,     /**< get: only packets dated in the future */
};

/** A get's outcome: rc is _FOUND (pkt and its parsed view, answer.h,
 *  valid during the call; view NULL when the packet's records could not
 *  be indexed; stale when past its TTL), _NONE, _UNREACHABLE or
 *  _REFUSED. */
struct pkarr_resolver_result {
	int rc;
	bool stale;
	const struct pkarr_packet *pkt;
	const struct pkarr_view *view;
};

typedef void (*pkarr_resolver_get_fn)(void *ctx, const struct pkarr_resolver_result *res);
/** A put's outcome: how many DHT nodes stored the packet. */
typedef void (*pkarr_resolver_put_fn)(void *ctx, unsigned stored);

/**
 * Start a resolver: the packet cache (reading cache_dir), the relay
 * client, the DHT node or testnet, bootstrap. hooks is copied.
 * @return the resolver, or NULL (logged)
 */
struct pkarr_resolver *pkarr_resolver_new(struct event_base *base,
    const struct pkarr_resolver_config *cfg, const struct pkarr_resolver_hooks *hooks);

/** Save the routing table and stop; pending gets and puts are dropped
 *  without their callbacks. NULL is a no-op. */
void pkarr_resolver_free(struct pkarr_resolver *r);

/** Apply the live settings of cfg (see struct pkarr_resolver_config);
 *  the others are ignored. */
void pkarr_resolver_reconfigure(struct pkarr_resolver *r, const struct pkarr_resolver_config *cfg);

/** The longest "this key has no packet" is kept, in seconds. */
#define PKARR_NEG_TTL_MAX 300

/**
 * How long "this key has no packet" lasts: the resolver's negative cache
 * entry, and the TTL (and SOA minimum) of the negative answer the daemon
 * gives for it, so that downstream resolvers forget it no later than we
 * do (RFC 2308 section 5). At least 1 s: an entry of 0 s is gone before
 * it is read.
 * @param min_ttl the configured min-ttl
 * @return min_ttl within [1, PKARR_NEG_TTL_MAX]
 */
uint32_t pkarr_neg_ttl(uint32_t min_ttl);

/**
 * A packet as the BEP 44 mutable item it is put on the DHT as: key,
 * signature, seq = timestamp in microseconds, v = the DNS message, no
 * salt (pkarr design/base.md). The reverse is
 * pkarr_packet_from_verified_bep44().
 * @param item filled (zeroed first)
 * @param pkt a signed packet
 */
void pkarr_dht_item(struct dht_item *item, const struct pkarr_packet *pkt);

/** Retry opening the cache_dir file when the cache runs memory only. */
void pkarr_resolver_reopen_cache(struct pkarr_resolver *r);

/**
 * A key's packet. A cached packet (fresh, or stale: then a refresh starts
 * in the background) or a negative entry answers at once; a miss starts or
 * joins the key's look-up and fn answers later, from the loop, as soon as
 * the first verified packet arrives (the look-up goes on for a newer one)
 * or when the look-up ends.
 * @param client charged a look-up it starts (dht-ratelimit), or NULL
 * @param out receives the packet for _FOUND
 * @param stale set for _FOUND: the packet is past its TTL (may be NULL)
 * @param handle receives, for _PENDING, a handle for pkarr_resolver_cancel,
 *        valid until fn runs (may be NULL)
 * @return _FOUND, _NONE, _PENDING, _LIMITED, _UNREACHABLE (no DHT or relay)
 *         or _FAIL
 */
int pkarr_resolver_get(struct pkarr_resolver *r, const uint8_t pk[32],
    const struct sockaddr *client, pkarr_resolver_get_fn fn, void *ctx,
    struct pkarr_packet *out, bool *stale, struct pkarr_get **handle);

/**
 * As pkarr_resolver_get, but a cached packet is handed out as its view
 * (answer.h: parsed once when stored; nothing copied), valid only until
 * the next call into the resolver. For answering DNS questions.
 * @param view receives the view for _FOUND
 */
int pkarr_resolver_get_view(struct pkarr_resolver *r, const uint8_t pk[32],
    const struct sockaddr *client, pkarr_resolver_get_fn fn, void *ctx,
    struct pkarr_view *view, bool *stale, struct pkarr_get **handle);

/**
 * The cached view of a key's packet, without any look-up; valid until the
 * next call into the resolver.
 * @return _FOUND, _NONE (negative entry) or _MISS
 */
int pkarr_resolver_cached_view(struct pkarr_resolver *r, const uint8_t pk[32],
    struct pkarr_view *view);

/** Forget a pending get: its callback never runs. */
void pkarr_resolver_cancel(struct pkarr_resolver *r, struct pkarr_get *h);

/**
 * Store a verified packet, add its key to the republish set for a while
 * and put it on the DHT (BEP 44). fn runs when the put ends.
 * @return _PENDING, _OLDER, _BAD, _UNREACHABLE (cached, not put) or _FAIL
 */
int pkarr_resolver_put(struct pkarr_resolver *r, const struct pkarr_packet *pkt,
    pkarr_resolver_put_fn fn, void *ctx);

/**
 * As pkarr_resolver_put, for a packet a client handed in through the
 * relay API: the cache remembers it came from that client's address
 * (pkarr_resolver_cached: "relay PUT from ADDRESS").
 * @param from the client, or NULL (the source is then unknown)
 * @return as pkarr_resolver_put
 */
int pkarr_resolver_put_from(struct pkarr_resolver *r, const struct pkarr_packet *pkt,
    const struct sockaddr *from, pkarr_resolver_put_fn fn, void *ctx);

/** What the cache holds for a key (for control channels). */
struct pkarr_resolver_entry {
	uint64_t seq;                  /**< the packet's timestamp, µs */
	uint64_t age_s;                /**< since it was stored */
	uint64_t fresh_s;              /**< freshness left, 0 when stale */
	bool on_disk;                  /**< the cache writes through to cache_dir */
	char source[160];              /**< where it came from, for people: "DHT
					    node ADDR:PORT", "relay URL", "relay
					    PUT from ADDR", "disk cache (...)"
					    (cache.h: pkarr_source_str) */
};

/**
 * The cached packet of a key, without any look-up.
 * @param out receives the packet for _FOUND (may be NULL)
 * @param e receives its times for _FOUND (may be NULL)
 * @return _FOUND, _NONE (negative entry) or _MISS
 */
int pkarr_resolver_cached(struct pkarr_resolver *r, const uint8_t pk[32],
    struct pkarr_packet *out, struct pkarr_resolver_entry *e);

/** Drop a key's cache entry (packet or negative). @return 0, or -1 when
 *  none was held */
int pkarr_resolver_flush(struct pkarr_resolver *r, const uint8_t pk[32]);

/** Put a key's cached packet on the DHT now (and keep republishing it for
 *  a while). @return _PENDING (fn runs when the put ends), _MISS or
 *  _UNREACHABLE */
int pkarr_resolver_republish(struct pkarr_resolver *r, const uint8_t pk[32],
    pkarr_resolver_put_fn fn, void *ctx);

/** Counters and sizes. */
struct pkarr_resolver_stats {
	uint64_t lookups;              /**< DHT look-ups started */
	uint64_t lookups_done;         /**< ...that found a packet */
	uint64_t lookup_ms_total;      /**< time to their first packet */
	size_t packets;                /**< packets cached */
	size_t nodes, nodes6;          /**< routing table, and its IPv6 part */
	size_t lookups_running;
};

void pkarr_resolver_get_stats(struct pkarr_resolver *r, struct pkarr_resolver_stats *st);

/* Lent to control channels and metrics, read-only; r may be NULL (then
 * so is the answer). */

/** The DHT (NULL without one), for node lists and health (dht.h). */
struct dht *pkarr_resolver_dht(struct pkarr_resolver *r);
/** The DHT node (NULL without one): its port, clock (dht_event.h). */
struct dht_node *pkarr_resolver_node(struct pkarr_resolver *r);
/** The packet cache, for read-only walks (cache.h). */
struct pkarr_cache *pkarr_resolver_cache(struct pkarr_resolver *r);

#endif
