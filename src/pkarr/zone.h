/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * zone.h -- BIND-style zone text to and from a pkarr packet's DNS message.
 *
 * What `pkdns-cli publish` reads: an RFC 1035 section 5 master file whose
 * names are relative to the key ("@" is the key itself, "www" is
 * "www.<key>."), with $TTL, per-record TTLs, comments and parentheses.
 * As in any zone file, a name without a trailing dot in record data is
 * relative too: write "CNAME example.com." for an ICANN target. Owner
 * names must lie at or below the key. $INCLUDE is refused.
 *
 * The DNS message built is a response (QR set, id 0, no question) with
 * every record in the answer section, as the JS and Rust pkarr packages
 * build theirs.
 */
#ifndef PKDNS_PKARR_ZONE_H
#define PKDNS_PKARR_ZONE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pkarr/packet.h"

/**
 * Parse zone text into DNS message bytes for a pkarr packet.
 * @param text the zone file contents (NUL-terminated)
 * @param pk the 32-byte public key: the origin of relative names
 * @param default_ttl TTL of records before any $TTL and without their own
 * @param out buffer for the DNS message
 * @param cap its size (PKARR_MAX_DNS suffices for anything accepted)
 * @param len receives the message's length
 * @param err receives a one-line message on failure ("line 3: ...")
 * @param errlen size of err (0 allowed: no message)
 * @return 0, PKARR_E_INVAL (syntax, name outside the key), PKARR_E_SIZE
 *         (message over 1000 bytes), PKARR_E_SPACE, PKARR_E_NOMEM
 */
int pkarr_zone_to_dns(const char *text, const uint8_t pk[32],
		      uint32_t default_ttl, uint8_t *out, size_t cap,
		      size_t *len, char *err, size_t errlen);

/**
 * Print a packet's records as zone text (names relative to the key, "@"
 * for the key; data names absolute), readable by pkarr_zone_to_dns().
 * @param f where to write
 * @param pkt the packet
 * @return 0, or PKARR_E_DNS when its DNS does not parse, PKARR_E_IO on
 *         a write error
 */
int pkarr_packet_print_zone(FILE *f, const struct pkarr_packet *pkt);

#endif
