/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ratelimit.h -- per-source token buckets in a fixed amount of memory.
 *
 * Clients are keyed by IPv4 address or IPv6 /64 (one host usually owns a
 * whole /64). The table is 4-way set associative: a new client takes the
 * least recently seen slot of its set, so memory stays bounded however
 * many addresses an attacker uses; a client pushed out simply starts
 * again with a full bucket.
 */
#ifndef PKDNS_UTIL_RATELIMIT_H
#define PKDNS_UTIL_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct ratelimit;

/**
 * @param rate tokens per second (0: everything allowed)
 * @param burst bucket size
 * @param slots table size (rounded up to a power of two, >= 4)
 * @return the table, or NULL when out of memory
 */
struct ratelimit *ratelimit_new(uint32_t rate, uint32_t burst, size_t slots);

/** Free the table. */
void ratelimit_free(struct ratelimit *rl);

/** Change rate and burst (SIGHUP); buckets keep their state. */
void ratelimit_set(struct ratelimit *rl, uint32_t rate, uint32_t burst);

/**
 * Take one token for this client.
 * @return true when allowed
 */
bool ratelimit_allow(struct ratelimit *rl, const struct sockaddr *client, uint64_t now_ms);

/**
 * Clients whose bucket is empty now (their next query would be refused),
 * for the metrics; walks the whole table.
 * @return the count
 */
size_t ratelimit_limited(const struct ratelimit *rl, uint64_t now_ms);

#endif
