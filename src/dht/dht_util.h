/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dht_util.h -- addresses, node IDs and tokens for the Mainline DHT.
 *
 * - struct dht_addr: an IPv4 or IPv6 address and port in network byte
 *   order, with the compact encodings of BEP 5 ("compact IP-address/port
 *   info", 6 bytes) and BEP 32 (18 bytes).
 * - XOR distance helpers (BEP 5 "Routing Table").
 * - BEP 42 node IDs: CRC32-C of the masked external IP; generation,
 *   validation and the local-address exemption (BEP 42 "Enforcement").
 * - Write tokens (BEP 5 "get_peers"): SHA-1(ip || secret), the secret
 *   rotated every 5 minutes with the previous one still accepted.
 * - The BEP 44 bytes a mutable item signature covers.
 */
#ifndef PKDNS_DHT_UTIL_H
#define PKDNS_DHT_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/** An endpoint: family 4 or 6, address bytes, port (host order). */
struct dht_addr {
	uint8_t family; /**< 4 or 6; 0 = unset */
	uint8_t ip[16]; /**< first 4 bytes used for IPv4 */
	uint16_t port;
};

/** Bytes of one compact node info: IPv4 (BEP 5) and IPv6 (BEP 32). */
#define DHT_COMPACT_NODE4 26
#define DHT_COMPACT_NODE6 38

/**
 * Convert a socket address (IPv4-mapped IPv6 counts as IPv4).
 * @param sa socket address
 * @param salen its length
 * @param out result
 * @return 0, or -1 for an unsupported family or short length
 */
int dht_addr_from_sockaddr(const struct sockaddr *sa, socklen_t salen,
	struct dht_addr *out);

/**
 * Convert to a socket address.
 * @param a address
 * @param ss result storage
 * @return the length of the socket address
 */
socklen_t dht_addr_to_sockaddr(const struct dht_addr *a,
	struct sockaddr_storage *ss);

/**
 * @param a first address
 * @param b second address
 * @return true when family, IP and port are equal
 */
bool dht_addr_eq(const struct dht_addr *a, const struct dht_addr *b);

/**
 * @param a first address
 * @param b second address
 * @return true when family and IP are equal (port ignored)
 */
bool dht_addr_ip_eq(const struct dht_addr *a, const struct dht_addr *b);

/**
 * @param a address
 * @return true for 127.0.0.0/8 and ::1
 */
bool dht_addr_is_loopback(const struct dht_addr *a);

/**
 * @param a address
 * @return true for the ranges BEP 42 exempts from node ID checks
 *         (10/8, 172.16/12, 192.168/16, 169.254/16, 127/8, ::1, fc00::/7,
 *         fe80::/10)
 */
bool dht_addr_is_local(const struct dht_addr *a);

/**
 * Format for logs: "1.2.3.4:5" or "[::1]:5".
 * @param a address
 * @param buf destination
 * @param cap at least 64 bytes recommended
 * @return buf
 */
const char *dht_addr_str(const struct dht_addr *a, char *buf, size_t cap);

/**
 * Compact IP/port: 6 bytes (IPv4) or 18 bytes (IPv6).
 * @param a address
 * @param out at least 18 bytes
 * @return bytes written (6 or 18), 0 when the address is unset
 */
size_t dht_addr_compact(const struct dht_addr *a, uint8_t *out);

/**
 * Parse a compact IP/port.
 * @param p bytes
 * @param n 6 or 18
 * @param out result
 * @return 0 or -1 for another length
 */
int dht_addr_uncompact(const uint8_t *p, size_t n, struct dht_addr *out);

/**
 * Compare the XOR distances of a and b to target.
 * @param target reference ID (20 bytes)
 * @param a first ID
 * @param b second ID
 * @return negative when a is closer, 0 when equal, positive when b is closer
 */
int dht_id_cmp_dist(const uint8_t *target, const uint8_t *a, const uint8_t *b);

/**
 * @param a first ID (20 bytes)
 * @param b second ID
 * @return the number of leading bits a and b share (0..160)
 */
int dht_id_common_bits(const uint8_t *a, const uint8_t *b);

/**
 * CRC32-C (Castagnoli), as BEP 42 uses it.
 * @param p bytes
 * @param n length
 * @return the checksum
 */
uint32_t dht_crc32c(const uint8_t *p, size_t n);

/**
 * Make a BEP 42 node ID for an external IP.
 * @param ip external address (family 4 or 6)
 * @param r the random byte; its low 3 bits feed the hash, all of it
 *        becomes the last byte of the ID
 * @param rnd 20 random bytes for the free bits (may be NULL: zeros)
 * @param id_out the 20-byte ID
 * @return 0 or -1 when the address is unset
 */
int dht_bep42_make_id(const struct dht_addr *ip, uint8_t r,
	const uint8_t *rnd, uint8_t *id_out);

/**
 * Check a node ID against its IP per BEP 42 (first 21 bits).
 * @param ip the node's address
 * @param id its 20-byte ID
 * @return true when the ID is valid for that IP
 */
bool dht_bep42_valid(const struct dht_addr *ip, const uint8_t *id);

/**
 * SHA-1 (for tokens, BEP 44 targets and immutable items).
 * @param p bytes
 * @param n length
 * @param out 20 bytes
 */
void dht_sha1(const void *p, size_t n, uint8_t out[20]);

/** BEP 44 target of a mutable item: SHA-1(k || salt).
 * @param k 32-byte public key
 * @param salt salt bytes (may be NULL when salt_len is 0)
 * @param salt_len salt length (<= 64)
 * @param out 20 bytes */
void dht_mutable_target(const uint8_t k[32], const uint8_t *salt,
	size_t salt_len, uint8_t out[20]);

/** Bytes of a write token. */
#define DHT_TOKEN_LEN 8
/** How often the token secret changes (BEP 5: every 5 minutes). */
#define DHT_TOKEN_ROTATE_MS (5u * 60u * 1000u)

/** Secrets for write tokens: the current one and the one before. */
struct dht_tokens {
	uint8_t cur[16];
	uint8_t prev[16];
	uint64_t rotated_ms;
};

/**
 * Start with fresh random secrets.
 * @param t state
 * @param now_ms current time
 */
void dht_tokens_init(struct dht_tokens *t, uint64_t now_ms);

/**
 * Rotate the secret when it is older than DHT_TOKEN_ROTATE_MS.
 * @param t state
 * @param now_ms current time
 */
void dht_tokens_tick(struct dht_tokens *t, uint64_t now_ms);

/**
 * The token for one asker's IP (the port is not part of it).
 * @param t state
 * @param a asker
 * @param out DHT_TOKEN_LEN bytes
 */
void dht_token_make(const struct dht_tokens *t, const struct dht_addr *a,
	uint8_t out[DHT_TOKEN_LEN]);

/**
 * Check a token made by this node for this IP now or one rotation ago.
 * @param t state
 * @param a asker
 * @param tok token bytes
 * @param n token length
 * @return true when valid
 */
bool dht_token_check(const struct dht_tokens *t, const struct dht_addr *a,
	const uint8_t *tok, size_t n);

/**
 * The bytes a BEP 44 mutable item signature covers, with v given as its
 * bencoded form: "4:salt<n>:<salt>" (only with a salt) "3:seqi<seq>e1:v" v.
 * @param out destination
 * @param cap its size
 * @param salt salt or NULL
 * @param salt_len salt length (0 = no salt)
 * @param seq sequence number
 * @param v_bencoded the value, bencoded
 * @param v_len its length
 * @return bytes written, or -1 when cap is too small
 */
int dht_signable_raw(uint8_t *out, size_t cap, const uint8_t *salt,
	size_t salt_len, int64_t seq, const uint8_t *v_bencoded, size_t v_len);

#endif
