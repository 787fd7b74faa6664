/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * relay.h -- the pkarr relay protocol (pkarr design/relays.md), bytes in,
 * bytes out: the payload (signature | seq | DNS message, seq 8 bytes big
 * endian in microseconds), the request path "/<z-base32 key>", the HTTP
 * dates of Last-Modified and If-Modified-Since (RFC 9110 section 5.6.7),
 * Cache-Control's max-age from a packet's TTLs, and relay URLs as given in
 * the `relay:` key. The HTTP server handlers and the HTTP client that use
 * these live elsewhere (src/daemon/relay_api.c, relay_client.h).
 *
 * Every parse function takes hostile bytes with a length, never reads
 * past it and returns 0 or a negative PKARR_E_* code. No I/O, no global
 * state.
 */
#ifndef PKDNS_PKARR_RELAY_H
#define PKDNS_PKARR_RELAY_H

#include <stddef.h>
#include <stdint.h>

#include "pkarr/answer.h"
#include "pkarr/packet.h"

/** Largest relay payload: 64 + 8 + 1000 bytes (relays.md: 413 above). */
#define PKARR_RELAY_PAYLOAD_MAX PKARR_RELAY_MAX
/** The payload's media type (relays.md, GET). */
#define PKARR_RELAY_CONTENT_TYPE "application/pkarr.org/relays#payload"
/** Bytes of an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") and its NUL. */
#define PKARR_RELAY_DATE_LEN 30
/** Longest relay URL accepted. */
#define PKARR_RELAY_URL_MAX 512

/**
 * Decode and verify a relay payload for a key (the key is not in the
 * payload: it is the request path's). The signature, the DNS message
 * and its size are checked; the timestamp against the clock is not.
 * @param out receives the packet (undefined on error)
 * @param pk the 32-byte key
 * @param buf the payload (hostile)
 * @param len its length
 * @return 0, PKARR_E_SIZE (shorter than 72 bytes or DNS over 1000),
 *         PKARR_E_SIG, PKARR_E_DNS or PKARR_E_INVAL
 */
int pkarr_relay_decode(struct pkarr_packet *out, const uint8_t pk[32],
		       const uint8_t *buf, size_t len);

/**
 * Encode a packet as a relay payload.
 * @param pkt the packet
 * @param out buffer (PKARR_RELAY_PAYLOAD_MAX bytes always suffice)
 * @param cap its size
 * @param len receives the bytes written
 * @return 0 or PKARR_E_SPACE
 */
int pkarr_relay_encode(const struct pkarr_packet *pkt, uint8_t *out,
		       size_t cap, size_t *len);

/**
 * The key a request path names: "/" then 52 z-base32 characters (any
 * case), optionally followed by "?" and a query, which is ignored.
 * @param path the path (hostile, not NUL-terminated)
 * @param len its length
 * @param pk receives the key
 * @return 0, or PKARR_E_INVAL when the path names no key
 */
int pkarr_relay_path_key(const char *path, size_t len, uint8_t pk[32]);

/**
 * Format seconds since the epoch as an IMF-fixdate.
 * @param secs the time (UTC); times past 9999-12-31 are clamped to it
 * @param out receives PKARR_RELAY_DATE_LEN - 1 characters and a NUL
 */
void pkarr_relay_http_date(uint64_t secs, char out[PKARR_RELAY_DATE_LEN]);

/**
 * Parse an HTTP date: IMF-fixdate, or the obsolete RFC 850 and asctime
 * forms recipients must accept (RFC 9110 section 5.6.7).
 * @param s the text (hostile, not NUL-terminated)
 * @param len its length
 * @param secs receives seconds since the epoch
 * @return 0, or PKARR_E_INVAL (the caller then ignores the header)
 */
int pkarr_relay_parse_http_date(const char *s, size_t len, uint64_t *secs);

/**
 * Has a packet changed since an If-Modified-Since date? Last-Modified is
 * the packet's timestamp cut to whole seconds, so a date at or after
 * that second means "not modified".
 * @param ts_us the packet's timestamp
 * @param ims_s the If-Modified-Since date
 * @return 1 when modified since (send it), 0 when not (304)
 */
int pkarr_relay_modified_since(uint64_t ts_us, uint64_t ims_s);

/**
 * Cache-Control max-age for a packet: its smallest record TTL after the
 * clamp p (p->min_ttl for a packet without records), as relays.md asks.
 * @param pkt the packet
 * @param p the TTL clamp
 * @return seconds
 */
uint32_t pkarr_relay_max_age(const struct pkarr_packet *pkt,
			     const struct pkarr_answer_params *p);

/** A relay URL, split. */
struct pkarr_relay_url {
	int https;                    /**< 1 for https, 0 for http */
	char host[256];               /**< name or address, no brackets */
	uint16_t port;                /**< given or the scheme's default */
	char path[PKARR_RELAY_URL_MAX]; /**< path prefix, no trailing "/" */
};

/**
 * Split a relay URL "http[s]://HOST[:PORT][/PATH]" (IPv6 literals in
 * brackets; no user info, query or fragment). The key is appended to
 * PATH as "/<key>".
 * @param url the text (NUL-terminated, hostile: from config)
 * @param out receives the parts
 * @return 0, or PKARR_E_INVAL
 */
int pkarr_relay_url_parse(const char *url, struct pkarr_relay_url *out);

#endif
