/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * daemon.h -- the daemon's single context: it owns the event loop, the
 * configuration and every module, and routes each DNS query to the
 * answer cache, the pkarr path or the ICANN path.
 *
 * Every reply leaves through pkdns_req_finish() (daemon/request.h).
 * Reload (SIGHUP) goes through pkdns_apply_conf() (daemon/internal.h),
 * which says what changes live.
 *
 * Single-threaded: the context belongs to the thread that runs
 * pkdns_run().
 * Callbacks never run inside the call that started them; they run from
 * the event loop. (No call here takes a caller's callback.)
 * Errors: a function that can fail returns a negative int (-1 unless its
 * @return names codes), NULL for a pointer, or 0 for an ID. (Here: NULL,
 * or a non-zero exit status, after logging why.)
 */
#ifndef PKDNS_DAEMON_DAEMON_H
#define PKDNS_DAEMON_DAEMON_H

#include <stdint.h>

#include "util/conf.h"

struct pkdns;

/** Counters for the stats log line (SIGUSR1 and every stats-interval). */
struct pkdns_stats {
	uint64_t queries, cache_hits, stale_answers, refused, ratelimited;
	uint64_t icann_queries, icann_failures, bogus;
	uint64_t pkarr_queries, dht_lookups, dht_lookup_ms_total, dht_lookups_done;
};

/**
 * Set up every module from cfg and open the listeners.
 * @param cfg the configuration (the daemon takes ownership)
 * @param argc, argv the command line, for reloading on SIGHUP
 * @return the context, or NULL after logging why
 */
struct pkdns *pkdns_new(struct conf *cfg, int argc, char **argv);

/**
 * Run until SIGTERM/SIGINT.
 * @return 0 on a clean stop
 */
int pkdns_run(struct pkdns *d);

/** Free everything. */
void pkdns_free(struct pkdns *d);

#endif
