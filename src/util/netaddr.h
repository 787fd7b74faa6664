/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * netaddr.h -- parsing and printing socket addresses and prefixes.
 *
 * Accepted forms: "127.0.0.1", "127.0.0.1:53", "::1", "[::1]", "[::1]:53";
 * prefixes "10.0.0.0/8", "::1/128", or a bare address (a host prefix).
 */
#ifndef PKDNS_UTIL_NETADDR_H
#define PKDNS_UTIL_NETADDR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/** An address prefix: family, 16 address bytes (IPv4 in the first 4), length. */
struct netprefix {
	int family;
	uint8_t addr[16];
	unsigned len;
};

/** Enough room for any address printed by netaddr_str(). */
#define NETADDR_STRLEN 64

/**
 * Parse "ADDR[:PORT]" (IPv6 in brackets when a port follows).
 * @param s the text
 * @param default_port used when s has no port
 * @param out where the address goes
 * @param outlen set to the length of the address in out
 * @return 0, or -1 when s is not an address
 */
int netaddr_parse(const char *s, uint16_t default_port,
    struct sockaddr_storage *out, socklen_t *outlen);

/**
 * Parse "ADDR/LEN" or "ADDR".
 * @return 0, or -1 when s is not a prefix or LEN is out of range
 */
int netprefix_parse(const char *s, struct netprefix *out);

/**
 * @return true when sa (IPv4, IPv6, or IPv4-mapped IPv6) lies in p
 */
bool netprefix_match(const struct netprefix *p, const struct sockaddr *sa);

/**
 * Print an address as "1.2.3.4:53" or "[::1]:53".
 * @return buf
 */
const char *netaddr_str(const struct sockaddr *sa, char *buf, size_t buflen);

/**
 * The bytes of an address for hashing and comparing (IPv4-mapped IPv6
 * is folded to IPv4).
 * @param sa the address
 * @param out 16 bytes
 * @return the number of bytes used: 4 or 16, 0 for other families
 */
size_t netaddr_ip_bytes(const struct sockaddr *sa, uint8_t out[16]);

#endif
