/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ops.h -- operating the daemon (issue 14): the pidfile lock, systemd
 * readiness, the privilege drop, the control channel and the metrics
 * listener, and the counters only they read. The daemon calls these at a
 * few marked places in its life cycle; everything lives in struct
 * pkdns_ops, hung off the context. Not a module API.
 *
 * Order in pkdns_new(): pkdns_ops_early (before any listener: a second
 * instance stops here), the listeners and the pkarr path, pkdns_ops_open
 * (control socket, /metrics), daemon(3), pkdns_ops_started (pidfile
 * written, privileges dropped, READY=1).
 */
#ifndef PKDNS_DAEMON_OPS_H
#define PKDNS_DAEMON_OPS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct pkdns;
struct dht;
struct dht_node;
struct pkarr_cache;

/** Buckets of the look-up latency histogram (upper bounds, seconds). */
#define PKDNS_LOOKUP_BUCKETS 10

/** @return 0, or -1 after logging (the daemon does not start) */
int pkdns_ops_early(struct pkdns *d);
/** @return 0 or -1 */
int pkdns_ops_open(struct pkdns *d);
/** After daemon(3). @return 0 or -1 */
int pkdns_ops_started(struct pkdns *d);
/** SIGTERM/SIGINT: tell the service manager. */
void pkdns_ops_stopping(struct pkdns *d);
/** Free everything; removes the pidfile and the control socket. */
void pkdns_ops_free(struct pkdns *d);

/**
 * Reload the configuration (SIGHUP and the control channel's reload):
 * RELOADING=1, pkdns_reload(), READY=1.
 * @param why receives conf_load()'s error lines on failure (may be NULL)
 * @return 0, or -1 when the old configuration was kept
 */
int pkdns_ops_reload(struct pkdns *d, char *why, size_t whylen);

/** A DHT look-up ended: ms to its first packet, or to its end (none). */
void pkdns_ops_lookup_observed(struct pkdns *d, uint64_t ms, int found);

/** A client's question asked the packet cache: hit (packet or negative) or miss. */
void pkdns_ops_packet_cache(struct pkdns *d, int hit);

/**
 * Every reply (request.c's count_reply): counted by transport (enum
 * pkdns_transport), path (enum pkdns_path), rcode and, for errors, reason
 * (enum pkdns_fail). Out-of-range values are counted as the last bucket.
 */
void pkdns_ops_replied(struct pkdns *d, int transport, int path, int rcode, int reason);

/** Print the status (pkdns-control status). */
void pkdns_ops_status(struct pkdns *d, FILE *f);
/** Print every counter as name=value lines; reset those that count when asked. */
void pkdns_ops_stats(struct pkdns *d, FILE *f, int reset);
/** Print the Prometheus text exposition. */
void pkdns_ops_metrics(struct pkdns *d, FILE *f);

/** The reload itself (daemon.c, the old SIGHUP handler). @return 0 or -1 */
int pkdns_reload(struct pkdns *d);

#endif
