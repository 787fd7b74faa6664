/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rebind.h -- the DNS rebinding policy: private addresses are removed
 * from answers for names outside the private domains.
 *
 * Semantics of unbound's private-address/private-domain (iterator/
 * iter_priv.c and its test iter_privaddr.rpl): an A or AAAA record whose
 * address lies in a private prefix, or an SVCB/HTTPS record whose
 * ipv4hint/ipv6hint holds one (RFC 9460 section 7.3), is removed from
 * every section unless its owner name is at or under a private domain.
 * Only the matching records go; the rest of the RRset and the message
 * stay, and the rcode is kept: an answer left empty is NOERROR with no
 * answer records (NODATA), as unbound answers. IPv4-mapped IPv6
 * addresses (::ffff:a.b.c.d) are matched against the IPv4 prefixes too.
 * The caller decides for which clients the policy applies.
 */
#ifndef PKDNS_DNS_REBIND_H
#define PKDNS_DNS_REBIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/msg.h"
#include "util/netaddr.h"

#define REBIND_MAX_PREFIX 64
#define REBIND_MAX_DOMAIN 256

/** A policy: prefixes and exempt domains. Zero it, then add to it. */
struct rebind_policy {
	struct netprefix prefix[REBIND_MAX_PREFIX];
	size_t n_prefix;
	struct {
		uint8_t wire[DNS_MAX_NAME]; /**< lower case, with the root label */
		size_t len;
	} domain[REBIND_MAX_DOMAIN];
	size_t n_domain;
};

/** Add a private prefix. @return 0, or -1 when full */
int rebind_add_prefix(struct rebind_policy *p, const struct netprefix *pfx);

/**
 * Add a private domain: it and every name under it may hold private
 * addresses.
 * @param name text ("example.net" or "example.net."; "." is every name)
 * @return 0, or -1 when not a name or the list is full
 */
int rebind_add_domain(struct rebind_policy *p, const char *name);

/** @return true when the policy removes anything at all (a prefix is set). */
bool rebind_active(const struct rebind_policy *p);

/**
 * Apply the policy to a DNS message (no OPT record expected: the front
 * end adds its own later). When nothing matches, msg is not touched and
 * nothing is allocated; otherwise it is rewritten without the records
 * (through ldns, so names stay valid whatever pointed into the removed
 * records) and AD is cleared (the answer is no longer the signed one).
 * @param msg, len the message; cap the buffer's size
 * @param removed set to the number of records removed
 * @return the new length (len when nothing was removed), or -1 when the
 *         message is malformed or the rewrite does not fit in cap
 */
long rebind_filter(const struct rebind_policy *p, uint8_t *msg, size_t len, size_t cap,
    unsigned *removed);

#endif
