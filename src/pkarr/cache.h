/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cache.h -- the pkarr packet cache: at most one verified packet per key.
 *
 * Separate from the daemon's answer cache: this one holds whole packets,
 * so any question about a key can be answered from it, and it is what the
 * republisher walks. A packet is FRESH for its smallest clamped record
 * TTL after it was stored, then STALE: still served while a refresh runs
 * (RFC 8767 section 4), for at most PKARR_CACHE_STALE_MAX_S. A key looked
 * up and found to have no packet can be remembered as NEGATIVE for a short
 * time. A packet with a lower timestamp (BEP 44 seq) never replaces one
 * with a higher timestamp; equal timestamps keep the larger DNS message
 * (the Mainline rule for ties).
 *
 * Memory is bounded by bytes with LRU eviction; negative entries may use
 * at most a quarter of the budget so a flood of unknown keys cannot push
 * real packets out. An entry holds exactly its packet's bytes (key,
 * signature, timestamp, DNS message) plus 100 to 115 bytes (links, times,
 * its source, allocator header and rounding, hash table share) and the packet's
 * index (answer.h: 12 bytes a record in a chunk of its own, so that a
 * packet is parsed once, not once per question), all counted, so
 * pkarr_cache_bytes() is close to what the process really spends. The
 * index of a packet read back from disk is built, and counted, when the
 * packet is first verified; the budget is enforced again at the next
 * store.
 *
 * With an LMDB directory, packets are written through to
 * "<dir>/pkarr-packets.mdb" (with their stored time) and read back by the
 * next cache opened there, newest stored first until the budget is full
 * (the rest is deleted from disk). Nothing read from disk is handed out
 * unverified, but opening does no signature work: a packet from disk is
 * verified the first time get, times, put or foreach would use it (or by
 * pkarr_cache_verify_some()); one that fails is deleted from memory and
 * disk and looks like it was never there.
 *
 * The file lives in an LMDB map of pkarr_cache_map_size() bytes and holds
 * the most recently used packets up to a quarter of it: all of them
 * unless the budget is over a quarter of the map (more than 128 MiB on a
 * 32-bit host, where the map is capped). Should the map still fill (pages
 * emptier than expected), the file is started again from memory with
 * half the room; memory, which answers, is never touched.
 *
 * The disk never stops the cache: a directory or file that cannot be used
 * (missing rights, read-only, full, not a directory) leaves it memory
 * only, with one error logged, until pkarr_cache_open_disk() succeeds; a
 * write that fails later (disk full) does the same. A damaged file (cut
 * short, garbage in its pages: LMDB would die of SIGBUS reading it) is
 * found before LMDB maps it (see lmdbcheck.h), renamed to
 * "pkarr-packets.mdb.corrupt-<unix time>" (its lock file too) and a new
 * one started. What the check cannot cover: the file shrinking while it
 * is mapped (another process truncating it, a file system that drops
 * blocks) still faults, as with any mapped file; the directory must
 * belong to pkdns alone.
 *
 * Packets dated more than PKARR_FUTURE_MAX_S ahead of the clock are
 * refused (PKARR_E_FUTURE). One read back from disk so dated (the clock
 * was set back, e.g. restored by fake-hwclock after days off) is kept,
 * in memory and on disk, but pkarr_cache_get() answers MISS for it until
 * the clock catches up; any current packet for its key replaces it.
 *
 * Times are wall-clock seconds (time_wall_us() / 1000000) because they are
 * persisted across restarts. Single-threaded; no global state. LMDB allows
 * one open environment per file per process: open one cache per directory.
 *
 * Callbacks never run inside the call that started them; they run from
 * the event loop. (None here: the only function pointer,
 * pkarr_cache_foreach's visitor, is no completion callback but is called
 * for each packet during the walk.)
 * Errors: a function that can fail returns a negative int (-1 unless its
 * @return names codes), NULL for a pointer, or 0 for an ID.
 */
#ifndef PKDNS_PKARR_CACHE_H
#define PKDNS_PKARR_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pkarr/answer.h"
#include "pkarr/packet.h"

/** How long past its freshness a packet may still be served. */
#define PKARR_CACHE_STALE_MAX_S (3u * 86400u)

/** Smallest LMDB map (address space, not disk) a cache asks for. */
#define PKARR_CACHE_MAP_MIN (64ull << 20)
/** Largest map with 32-bit pointers: see pkarr_cache_map_size(). */
#define PKARR_CACHE_MAP_MAX32 (512ull << 20)
/** Largest map with 64-bit pointers (a bound on 4 * max_bytes). */
#define PKARR_CACHE_MAP_MAX64 (1ull << 40)

struct sockaddr;

/** Where a cached packet came from (for pkdns-control lookup). */
enum pkarr_source_kind {
	PKARR_SOURCE_UNKNOWN = 0, /**< not said (pkarr_cache_put()) */
	PKARR_SOURCE_DHT,         /**< a DHT node's reply: its address and port */
	PKARR_SOURCE_RELAY,       /**< a relay's answer to our GET: its index */
	PKARR_SOURCE_RELAY_PUT,   /**< a PUT to our relay API: the client's address */
	PKARR_SOURCE_DISK,        /**< read back from the cache directory */
};

/**
 * A packet's source, kept with it in memory: 20 bytes, no string. The
 * disk file does not keep it (its format stays as it was), so a packet
 * read back at start says PKARR_SOURCE_DISK until the DHT or a relay
 * confirms or replaces it.
 */
struct pkarr_source {
	uint8_t kind;   /**< enum pkarr_source_kind */
	uint8_t family; /**< 4 or 6 when ip holds an address, else 0 */
	uint16_t port;  /**< _DHT: the node's port; _RELAY: the relay's
			     index in the resolver's list; else 0 */
	uint8_t ip[16]; /**< the address (IPv4: the first 4 bytes) */
};

/** Longest text pkarr_source_str() writes, NUL included (a relay's URL
 *  is cut to fit). */
#define PKARR_SOURCE_STR_MAX 160

/**
 * A source from a socket address.
 * @param s receives it
 * @param kind PKARR_SOURCE_DHT or _RELAY_PUT
 * @param sa the address (AF_INET or AF_INET6; anything else, or NULL,
 *        gives a source without address)
 * @param with_port keep sa's port (a DHT node's; a relay client's
 *        ephemeral port says nothing)
 */
void pkarr_source_from_sockaddr(struct pkarr_source *s, enum pkarr_source_kind kind,
				const struct sockaddr *sa, bool with_port);

/**
 * For people: "DHT node 192.0.2.1:6881", "relay URL",
 * "relay PUT from 192.0.2.1", "disk cache (cache-dir, read at start)",
 * "unknown".
 * @param s the source
 * @param relay_url the URL of relay number s->port for _RELAY, or NULL
 * @param buf, cap where to write (PKARR_SOURCE_STR_MAX is enough)
 * @return buf
 */
const char *pkarr_source_str(const struct pkarr_source *s, const char *relay_url,
			     char *buf, size_t cap);

/** What pkarr_cache_get() found. */
enum pkarr_cache_state {
	PKARR_CACHE_MISS,     /**< nothing known: look the key up */
	PKARR_CACHE_FRESH,    /**< packet within its TTL */
	PKARR_CACHE_STALE,    /**< packet past its TTL: serve and refresh */
	PKARR_CACHE_NEGATIVE, /**< recently found to have no packet */
};

/** What pkarr_cache_put() did (non-negative; errors are PKARR_E_*). */
enum pkarr_cache_put_result {
	PKARR_PUT_NEW = 0,   /**< first packet for this key */
	PKARR_PUT_NEWER = 1, /**< replaced an older packet */
	PKARR_PUT_SAME = 2,  /**< same packet: freshness restarted */
	PKARR_PUT_OLDER = 3, /**< older than the one held: ignored */
};

struct pkarr_cache;

/**
 * Iteration callback.
 * @param ctx the caller's context
 * @param pkt a cached, verified packet (valid during the call only)
 * @param stored_s when it was stored or last confirmed
 * @return 0 to continue, anything else to stop the walk
 */
typedef int (*pkarr_cache_cb)(void *ctx, const struct pkarr_packet *pkt,
			      uint64_t stored_s);

/**
 * Create a cache.
 * @param max_bytes memory budget (entries are counted by their size)
 * @param lmdb_dir directory for the persistent copy (created if missing),
 *        or NULL for memory only. When it cannot be used the cache is
 *        memory only (pkarr_cache_has_disk() says so) and one error is
 *        logged
 * @param p TTL clamp that decides freshness (copied)
 * @return the cache, or NULL (out of memory)
 */
struct pkarr_cache *pkarr_cache_new(size_t max_bytes, const char *lmdb_dir,
				    const struct pkarr_answer_params *p);

/**
 * Reload (SIGHUP): the TTL clamp that decides freshness, for packets
 * stored from now on (copied). The memory budget and the directory
 * need a restart.
 */
void pkarr_cache_reconfigure(struct pkarr_cache *c, const struct pkarr_answer_params *p);

/**
 * As pkarr_cache_new(), with the LMDB map and the file's budget chosen by
 * the caller (tests make them small to fill the map).
 * @param map_bytes the LMDB map; 0: pkarr_cache_map_size() for this
 *        host's pointer width
 * @param disk_bytes how many bytes of packets (value, key and LMDB's
 *        per-record overhead) the file may hold; 0: map_bytes / 4
 * @return as pkarr_cache_new()
 */
struct pkarr_cache *pkarr_cache_new_map(size_t max_bytes, const char *lmdb_dir,
					const struct pkarr_answer_params *p,
					uint64_t map_bytes, uint64_t disk_bytes);

/**
 * The LMDB map a cache of max_bytes asks for: four times the budget (the
 * file holds up to a quarter of its map in records; pages are partly
 * filled and a write copies the pages it touches), rounded up to a MiB,
 * at least PKARR_CACHE_MAP_MIN. Computed in 64 bits and capped at what
 * the address space allows: PKARR_CACHE_MAP_MAX32 when pointers are
 * narrower than 64 bits (a 32-bit process has 2 GiB of address space on
 * MIPS, 3 GiB on i386, and the map must be one free range beside a heap
 * that may itself hold max_bytes), else PKARR_CACHE_MAP_MAX64. A budget
 * larger than a quarter of the map keeps only the most recently used
 * packets on disk; all of them stay in memory.
 * @param max_bytes the memory budget
 * @param ptr_bits the pointer width (sizeof(size_t) * CHAR_BIT)
 * @return the map size in bytes, representable in a size_t of that width
 */
uint64_t pkarr_cache_map_size(uint64_t max_bytes, unsigned ptr_bits);

/**
 * (Re)open the LMDB copy of a cache made with a directory that is memory
 * only because the disk failed: read back what the file holds (keys in
 * memory keep memory's packet) and write memory's packets to it. Logs
 * when it opens again; a repeated failure is logged at debug level only.
 * @param c the cache
 * @return 0 when the disk is in use (also when it already was),
 *         PKARR_E_IO when it still cannot be, PKARR_E_INVAL with no
 *         directory
 */
int pkarr_cache_open_disk(struct pkarr_cache *c);

/**
 * Is the LMDB copy in use?
 * @param c the cache
 * @return true when writes go to disk
 */
bool pkarr_cache_has_disk(const struct pkarr_cache *c);

/**
 * Flush to disk and free everything.
 * @param c the cache (NULL is fine)
 */
void pkarr_cache_free(struct pkarr_cache *c);

/**
 * Look a key up. Marks the entry as recently used; drops entries whose
 * negative time or stale limit has passed. A packet loaded from disk is
 * verified here the first time (about 75 us); if it fails it is deleted
 * and the answer is MISS. A packet dated more than PKARR_FUTURE_MAX_S
 * ahead of now_s (read back from disk) is MISS too, but kept.
 * @param c the cache
 * @param pk the 32-byte key
 * @param now_s wall-clock seconds
 * @param out receives the packet for FRESH and STALE, NULL otherwise. It
 *        points into a scratch buffer the cache owns, rebuilt on each
 *        call: valid only until the next call into the cache (any
 *        function taking c), so copy what must outlive that
 * @return the state
 */
enum pkarr_cache_state pkarr_cache_get(struct pkarr_cache *c,
				       const uint8_t pk[32], uint64_t now_s,
				       const struct pkarr_packet **out);

/**
 * As pkarr_cache_get(), handing out the packet's view (answer.h: the
 * packet in place and its index, built once when it was stored or first
 * verified) instead of a copy, for pkarr_answer_view(). Nothing is
 * copied or allocated.
 * @param c the cache
 * @param pk the 32-byte key
 * @param now_s wall-clock seconds
 * @param out receives the view for FRESH and STALE (zeroed otherwise).
 *        It points into the cache's entry: valid only until the next
 *        call into the cache (any function taking c)
 * @return the state, as pkarr_cache_get()
 */
enum pkarr_cache_state pkarr_cache_get_view(struct pkarr_cache *c,
					    const uint8_t pk[32],
					    uint64_t now_s,
					    struct pkarr_view *out);

/**
 * When the entry for a key was stored and until when it is fresh. Verifies
 * a packet loaded from disk first, as pkarr_cache_get() does.
 * @param c the cache
 * @param pk the key
 * @param stored_s receives the stored time (may be NULL)
 * @param fresh_until_s receives the end of freshness (may be NULL)
 * @return 0, or PKARR_E_INVAL when no packet is held for the key
 */
int pkarr_cache_times(struct pkarr_cache *c, const uint8_t pk[32],
		      uint64_t *stored_s, uint64_t *fresh_until_s);

/**
 * Store a packet (verified again here), replacing a negative entry or an
 * older packet, and write it through to LMDB.
 * @param c the cache
 * @param pkt the packet (copied)
 * @param now_s wall-clock seconds
 * @return a pkarr_cache_put_result, or PKARR_E_SIG/PKARR_E_DNS/
 *         PKARR_E_SIZE for a bad packet, PKARR_E_FUTURE for one dated
 *         too far ahead of now_s (pkarr_packet_check_time()),
 *         PKARR_E_NOMEM. A held packet dated too far ahead is replaced by
 *         any current one. The packet stored stays even when it alone is
 *         over the budget, until the next store evicts it
 */
int pkarr_cache_put(struct pkarr_cache *c, const struct pkarr_packet *pkt,
		    uint64_t now_s);

/**
 * As pkarr_cache_put() for a packet that already passed
 * pkarr_packet_verify() or pkarr_packet_from_verified_bep44(): its
 * signature is not checked a second time.
 * @return as pkarr_cache_put()
 */
int pkarr_cache_put_verified(struct pkarr_cache *c,
			     const struct pkarr_packet *pkt, uint64_t now_s);

/**
 * As pkarr_cache_put_verified(), saying where the packet came from: kept
 * with a new packet, and with a held one that pkt confirms
 * (PKARR_PUT_SAME: its age starts again, so its source is the latest
 * one). As pkarr_cache_put() when verify is true.
 * @param src the source (copied), or NULL for PKARR_SOURCE_UNKNOWN (a
 *        confirmation then keeps the held source)
 * @return as pkarr_cache_put()
 */
int pkarr_cache_put_from(struct pkarr_cache *c, const struct pkarr_packet *pkt,
			 uint64_t now_s, const struct pkarr_source *src, bool verify);

/**
 * Where the packet held for a key came from. Checks no signature (the
 * source of a packet read from disk is _DISK whether or not it was
 * verified yet).
 * @param c the cache
 * @param pk the key
 * @param out receives the source
 * @return 0, or PKARR_E_INVAL when no packet is held for the key
 */
int pkarr_cache_source(const struct pkarr_cache *c, const uint8_t pk[32],
		       struct pkarr_source *out);

/**
 * Hold the disk writes of the calls that follow in one LMDB transaction
 * until pkarr_cache_release_writes(), so a caller can answer a client
 * before the cache's system calls. Memory is updated at once as always.
 * Calls nest; pkarr_cache_free() releases what is still held.
 * @param c the cache
 */
void pkarr_cache_hold_writes(struct pkarr_cache *c);

/**
 * End a pkarr_cache_hold_writes(): commit the held writes (the outermost
 * release does).
 * @param c the cache
 */
void pkarr_cache_release_writes(struct pkarr_cache *c);

/**
 * Remember that a key has no packet, unless a packet is held for it.
 * The entry stored is never the one evicted to make room for it.
 * @param c the cache
 * @param pk the key
 * @param now_s wall-clock seconds
 * @param ttl_s how long to remember (0 counts as 1)
 * @return 0 when stored, 1 when a packet is held (nothing changed),
 *         PKARR_E_NOMEM
 */
int pkarr_cache_put_negative(struct pkarr_cache *c, const uint8_t pk[32],
			     uint64_t now_s, uint32_t ttl_s);

/**
 * Forget a key (memory and disk).
 * @param c the cache
 * @param pk the key
 * @return 0 when something was removed, 1 when nothing was held
 */
int pkarr_cache_remove(struct pkarr_cache *c, const uint8_t pk[32]);

/**
 * Walk every packet held, most recently used first (for republishing).
 * Packets loaded from disk and not yet verified are verified on the way
 * (those failing are deleted and skipped): a first walk over a large
 * cache just opened costs ~75 us per such packet; pkarr_cache_verify_some()
 * can spread that work beforehand. The callback must not call into the
 * cache.
 * @param c the cache
 * @param cb called once per packet
 * @param ctx passed to cb
 * @return 0 after a full walk, or the callback's non-zero value
 */
int pkarr_cache_foreach(struct pkarr_cache *c, pkarr_cache_cb cb, void *ctx);

/**
 * Verify up to max packets loaded from disk that no reader has asked for
 * yet, so that the work can be done in small steps while idle (those
 * failing are deleted from memory and disk).
 * @param c the cache
 * @param max how many signatures to check at most (0: only count)
 * @return how many packets are still unverified
 */
size_t pkarr_cache_verify_some(struct pkarr_cache *c, size_t max);

/**
 * Number of packets held (negative entries not counted), including
 * packets loaded from disk and not verified yet.
 * @param c the cache
 * @return the count
 */
size_t pkarr_cache_count(const struct pkarr_cache *c);

/**
 * Bytes accounted to all entries (packets and negative entries), with
 * their overhead (allocator header and rounding, hash table share).
 * @param c the cache
 * @return the total
 */
size_t pkarr_cache_bytes(const struct pkarr_cache *c);

#endif
