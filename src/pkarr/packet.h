/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * packet.h -- the pkarr SignedPacket: parse, verify, sign and serialise.
 *
 * A SignedPacket is public key (32) | Ed25519 signature (64) | timestamp
 * (8, big endian, microseconds since the epoch) | DNS message (<= 1000
 * bytes). The relay byte layout is the same without the leading key. On
 * the Mainline DHT it is a BEP 44 mutable item: k = key, seq = timestamp,
 * v = DNS message, no salt; the signature covers the bencoded string
 * "3:seqi<seq>e1:v<len>:<dns>" (BEP 44, "Mutable items").
 *
 * Every parse function here also verifies: a struct pkarr_packet that a
 * parse or sign function filled is always signed by its key, at most 1000
 * bytes of DNS and parseable as a DNS message. No I/O, no global state.
 */
#ifndef PKDNS_PKARR_PACKET_H
#define PKDNS_PKARR_PACKET_H

#include <stddef.h>
#include <stdint.h>

/** Microseconds in a second: timestamps are microseconds, clocks seconds. */
#define PKARR_US_PER_S 1000000u

/** Largest DNS message a pkarr packet may carry (BEP 44 value limit). */
#define PKARR_MAX_DNS 1000
/** Bytes of the relay layout before the DNS message (signature, time). */
#define PKARR_RELAY_HDR 72
/** Largest relay-layout packet. */
#define PKARR_RELAY_MAX (PKARR_RELAY_HDR + PKARR_MAX_DNS)
/** Largest bencoded signable string ("3:seqi" 20 digits "e1:v1000:" dns). */
#define PKARR_SIGNABLE_MAX (6 + 20 + 9 + PKARR_MAX_DNS)

/** Error codes of the pkarr module (all negative). */
enum pkarr_err {
	PKARR_OK = 0,
	PKARR_E_INVAL = -1,  /**< bad argument or malformed input */
	PKARR_E_SIZE = -2,   /**< DNS message over 1000 bytes, or short */
	PKARR_E_SIG = -3,    /**< signature does not verify */
	PKARR_E_DNS = -4,    /**< not a parseable DNS message */
	PKARR_E_NOMEM = -5,  /**< out of memory */
	PKARR_E_IO = -6,     /**< storage failure (cache) */
	PKARR_E_SPACE = -7,  /**< output buffer too small */
	PKARR_E_FUTURE = -8, /**< timestamp too far in the future */
};

/**
 * How far past the local clock a packet's timestamp may be, in seconds.
 * A packet is signed with its publisher's clock; a few minutes cover
 * ordinary skew. One dated further ahead would, as the highest seq, keep
 * the owner's real packets out for as long as it is ahead (days, years),
 * so it is refused rather than merely not preferred.
 */
#define PKARR_FUTURE_MAX_S 300

/**
 * Below this wall-clock time (2025-01-01 UTC) the local clock is taken to
 * be unset (a board without a battery-backed clock, before NTP): every
 * packet would look "in the future", so no packet is refused for its
 * time until the clock is set.
 */
#define PKARR_CLOCK_SET_S 1735689600u

/** One verified signed packet, self-contained (no pointers). */
struct pkarr_packet {
	uint8_t pk[32];   /**< Ed25519 public key */
	uint8_t sig[64];  /**< signature over the BEP 44 signable */
	uint64_t ts_us;   /**< timestamp = BEP 44 seq, microseconds */
	uint8_t dns[PKARR_MAX_DNS]; /**< the DNS message */
	size_t dns_len;   /**< bytes used in dns */
};

/**
 * Describe an error code.
 * @param err a PKARR_E_* value (or 0)
 * @return a static string
 */
const char *pkarr_strerror(int err);

/**
 * Build the BEP 44 signable string "3:seqi<ts>e1:v<len>:<dns>".
 * @param ts_us the timestamp (seq)
 * @param dns the DNS message
 * @param dns_len its length (<= PKARR_MAX_DNS)
 * @param out buffer for the result
 * @param cap size of out (PKARR_SIGNABLE_MAX always suffices)
 * @return the length written, or a negative PKARR_E_* code
 */
int pkarr_signable(uint64_t ts_us, const uint8_t *dns, size_t dns_len,
		   uint8_t *out, size_t cap);

/**
 * Check a packet: DNS size, DNS parse and signature.
 * @param pkt the packet
 * @return 0 when valid, PKARR_E_SIZE, PKARR_E_DNS or PKARR_E_SIG
 */
int pkarr_packet_verify(const struct pkarr_packet *pkt);

/**
 * Is the packet's timestamp acceptable at this wall-clock time: at most
 * PKARR_FUTURE_MAX_S ahead of it (any time when now_s is below
 * PKARR_CLOCK_SET_S, an unset clock)?
 * @param ts_us the packet's timestamp (microseconds)
 * @param now_s the local wall-clock time in seconds
 * @return 0, or PKARR_E_FUTURE
 */
int pkarr_packet_check_time(uint64_t ts_us, uint64_t now_s);

/**
 * Parse and verify the relay layout (sig | ts | dns) for a known key.
 * @param out receives the packet (its content is undefined on error)
 * @param pk the 32-byte public key the packet is claimed to be from
 * @param buf the bytes (hostile)
 * @param len their number
 * @return 0, or PKARR_E_SIZE (too short or DNS over 1000 bytes),
 *         PKARR_E_DNS, PKARR_E_SIG, PKARR_E_INVAL
 */
int pkarr_packet_parse_relay(struct pkarr_packet *out, const uint8_t pk[32],
			     const uint8_t *buf, size_t len);

/**
 * Parse and verify the full layout (pk | sig | ts | dns).
 * @param out receives the packet
 * @param buf the bytes (hostile)
 * @param len their number
 * @return as pkarr_packet_parse_relay()
 */
int pkarr_packet_parse_full(struct pkarr_packet *out, const uint8_t *buf,
			    size_t len);

/**
 * Build and verify a packet from the fields of a BEP 44 mutable item.
 * @param out receives the packet
 * @param k the item's key (32 bytes)
 * @param seq the item's seq; negative values are refused
 * @param v the item's value: the DNS message
 * @param v_len its length
 * @param sig the item's signature (64 bytes)
 * @return as pkarr_packet_parse_relay()
 */
int pkarr_packet_from_bep44(struct pkarr_packet *out, const uint8_t k[32],
			    int64_t seq, const uint8_t *v, size_t v_len,
			    const uint8_t sig[64]);

/**
 * As pkarr_packet_from_bep44() for an item whose BEP 44 signature over
 * exactly these fields (no salt) was already checked against k, as the
 * DHT's get callbacks guarantee: checks sizes and the DNS message but not
 * the signature again (an Ed25519 verification is most of the CPU time
 * between a DHT answer and the DNS answer).
 * @return 0, PKARR_E_SIZE, PKARR_E_DNS or PKARR_E_INVAL
 */
int pkarr_packet_from_verified_bep44(struct pkarr_packet *out,
				     const uint8_t k[32], int64_t seq,
				     const uint8_t *v, size_t v_len,
				     const uint8_t sig[64]);

/**
 * Sign a DNS message into a packet.
 * @param out receives the packet (public key derived from seed)
 * @param seed the 32-byte Ed25519 secret seed
 * @param ts_us the timestamp (usually time_wall_us())
 * @param dns the DNS message; it must parse as DNS
 * @param dns_len its length; at most PKARR_MAX_DNS
 * @return 0, PKARR_E_SIZE, PKARR_E_DNS or PKARR_E_INVAL
 */
int pkarr_packet_sign(struct pkarr_packet *out, const uint8_t seed[32],
		      uint64_t ts_us, const uint8_t *dns, size_t dns_len);

/**
 * Serialise to the relay layout (sig | ts | dns).
 * @param pkt the packet
 * @param out buffer
 * @param cap its size (PKARR_RELAY_MAX always suffices)
 * @param len receives the number of bytes written
 * @return 0 or PKARR_E_SPACE
 */
int pkarr_packet_to_relay(const struct pkarr_packet *pkt, uint8_t *out,
			  size_t cap, size_t *len);

/**
 * Serialise to the full layout (pk | sig | ts | dns).
 * @param pkt the packet
 * @param out buffer
 * @param cap its size (32 + PKARR_RELAY_MAX always suffices)
 * @param len receives the number of bytes written
 * @return 0 or PKARR_E_SPACE
 */
int pkarr_packet_to_full(const struct pkarr_packet *pkt, uint8_t *out,
			 size_t cap, size_t *len);

#endif
