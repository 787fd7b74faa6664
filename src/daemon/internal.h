/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * internal.h -- what the daemon's files share: the context struct and the
 * hooks between query routing and the pkarr path. Not a module API.
 *
 * Loop and re-entrancy: everything here runs on the daemon's one event
 * loop.
 * Callbacks never run inside the call that started them; they run from
 * the event loop. (Timers, the client deadline, DHT look-ups,
 * icann_resolve(), which defers libunbound's immediate answers to the
 * loop; and the front end: answering a held query, dns_query_reply or
 * pkdns_req_finish, never runs the DNS handler again, as a paused TCP
 * connection reads its next query from the loop.)
 *
 * Errors: a function that can fail returns a negative int (-1 unless its
 * @return names codes), NULL for a pointer, or 0 for an ID. (Here: -1 is
 * logged where the caller cannot say more; bool functions say whether
 * they took or did the thing.)
 */
#ifndef PKDNS_DAEMON_INTERNAL_H
#define PKDNS_DAEMON_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "daemon/daemon.h"
#include "daemon/request.h"
#include "util/conf.h"

struct cache;
struct cache_key;
struct dns_query;
struct dns_server;
struct event;
struct event_base;
struct http_front;
struct http_server;
struct icann;
struct icann_pending;
struct pkarr_path;
struct pkarr_resolver;
struct relay_api;
struct ratelimit;
struct rebind_policy;
struct sockaddr_storage;

/* How long past expiry an answer may still be served (RFC 8767 suggests
 * 1 to 3 days). */
#define PKDNS_STALE_MAX_S (24 * 3600)
/* Budgets of the ICANN path. Queries in libunbound at once, those whose
 * clients already had their answer included (a server that never
 * answers keeps each for up to a minute, ~12 KB each); and clients held
 * waiting for an answer. How many of the former one client (an IPv4
 * address, an IPv6 /64) may have started is icann-max-per-client; the
 * host's own stub (127.0.0.1, ::1) has only the total budget. Over a
 * budget a client gets a stale answer or SERVFAIL at once. */
#define PKDNS_ICANN_MAX_INFLIGHT 1024
/* slots of a rate-limit table (clients tracked at once) */
#define PKDNS_RATELIMIT_SLOTS 65536
/* queries one TCP connection may have in flight */
#define PKDNS_TCP_MAX_PIPELINED 64
#define PKDNS_ICANN_MAX_WAITERS 4096

struct client_budget;
struct icann_res;

/*
 * What a worker owns: its event loop and everything a query touches on
 * its way through it. One worker today, on the process's thread; worker
 * threads would each get one of these (issue 12).
 */
struct pkdns_worker {
	struct event_base *base;
	struct dns_server *dns;
	struct http_front *front;             /* DoT, DoH, HTTP listeners */
	struct http_server *http;             /* for http_route_add() */
	struct cache *cache;
	struct icann *icann;
	struct ratelimit *rl_query;
	LIST_HEAD(, icann_res) icann_res;     /* every resolution in flight */
	struct icann_res **icann_hash;        /* ...by question, for joining */
	struct client_budget **client_hash;   /* resolutions per client */
	size_t icann_waiters;                 /* clients held on the ICANN path */
	uint32_t hash_seed;
	uint64_t deadline_stale, deadline_servfail, icann_joined, icann_capped;
	struct pkarr_path *pkarr;             /* DNS questions under keys */
	struct rebind_policy *rebind;         /* private-address; reply.c */
	struct relay_api *relay;              /* the relay API, a resolver client */
	struct pkdns_stats stats;
};

/*
 * The daemon: what the process owns (the configuration, the signals, the
 * control channel and pidfile, the pkarr resolver shared by every
 * worker), and its worker. The resolver and the signals run on the
 * worker's event base for now.
 */
struct pkdns {
	struct conf conf;
	int argc;
	char **argv;
	struct pkarr_resolver *resolver;      /* key -> packet (pkarr/resolver.h) */
	struct event *ev_term, *ev_int, *ev_hup, *ev_usr1, *ev_stats;
	struct pkdns_ops *ops;        /* issue 14: daemon/ops.h */
	struct pkdns_worker w;
};

/**
 * The rebinding policy of a configuration (private-address,
 * private-domain, private-key expanded to <key>, <key>.<tld> and
 * <key>.<search domain>).
 * @return 0, or -1 after printing each error with conf_error()
 */
int pkdns_rebind_build(const struct conf *c, struct rebind_policy *p);

/** (Re)build d->rebind from c. @return 0, or -1 (d->rebind unchanged) */
int pkdns_reply_configure(struct pkdns *d, const struct conf *c);

/** The front end's answer filter (dns_filter_fn): the rebinding policy. */
size_t pkdns_reply_filter(void *ctx, struct dns_query *q, uint8_t *msg, size_t len,
    size_t cap);

struct dns_query_note;
/** The front end's reply callback (dns_reply_fn): the query log. */
void pkdns_reply_log(void *ctx, const struct dns_query *q, const struct dns_query_note *note,
    const uint8_t *msg, size_t len, uint64_t ms);

struct pkdns_req;
struct pkdns_result;
/**
 * Tell the front end about r's reply before it is sent (called by
 * pkdns_req_finish): path, cache hit, and the Extended DNS Error (RFC
 * 8914) of its failure reason (res's for errors, r's otherwise, e.g. a
 * key with no packet), which log-servfail shows too.
 */
void pkdns_reply_note(const struct pkdns_req *r, struct dns_query *q,
    const struct pkdns_result *res);

/** q is being answered from a stale entry: EDE 3 (Stale Answer). */
void pkdns_reply_stale(struct dns_query *q);

/** The answer-cache key of a query. */
void pkdns_cache_key(const struct dns_query *q, struct cache_key *key);

/**
 * Charge one libunbound query on the ICANN path (d->icann) to client's
 * icann-max-per-client budget, as pkdns_resolve_icann does for its own;
 * release it when libunbound calls back, not before (a cancelled query
 * stays in libunbound all the same).
 * @return the budget to release, or NULL when the client is over it (or
 *         out of memory): nothing charged
 */
struct client_budget *pkdns_icann_charge(struct pkdns *d,
    const struct sockaddr_storage *client);

/** Give back what pkdns_icann_charge charged. */
void pkdns_icann_release(struct pkdns *d, struct client_budget *b);

/** Write the stats line. */
void pkdns_log_stats(struct pkdns *d);

/**
 * Apply the settings that can change while running, from fresh to
 * d->conf and to each module's *_reconfigure(): used at start (fresh is
 * &d->conf) and on SIGHUP. What changes live: verbosity, access-control,
 * ratelimit(-burst), dht-ratelimit(-burst), min-ttl, max-ttl (answers
 * of both paths, pkarr packet freshness, the negative TTL), disable-any,
 * icann-max-per-client, serve-stale, log-queries, log-servfail, the
 * rebinding policy (private-*; reply.c). Everything else (addresses, sizes,
 * the DHT, DNSSEC, cache-dir, tld, search-domain...) needs a restart: a
 * change is logged and the running value kept.
 */
void pkdns_apply_conf(struct pkdns *d, const struct conf *fresh);

/**
 * Reload: the pkarr path's copies of the configuration, live: min-ttl and
 * max-ttl (the TTL clamp of answers built from packets), the negative TTL
 * (the SOA of a key with no packet). tld and search-domain are read once
 * by pkdns_pkarr_init. The resolver's own settings go through
 * pkarr_resolver_reconfigure (pkdns_apply_conf).
 */
void pkdns_pkarr_reconfigure(struct pkdns *d, const struct conf *c);

/** Set up the pkarr path, a client of the resolver r (which outlives
 *  it). @return 0 or -1 */
int pkdns_pkarr_init(struct pkdns *d, struct pkarr_resolver *r);

/** Start d->resolver from d->conf (resolver_conf.c), its bootstrap
 *  names resolved on d->icann. @return 0 or -1 */
int pkdns_resolver_start(struct pkdns *d);

/** Reload: the resolver's live settings from c (pkarr_resolver_reconfigure). */
void pkdns_resolver_reconfigure(struct pkdns *d, const struct conf *c);

/**
 * Figures of the resolver for the stats line; also brings d->stats's DHT
 * look-up counters up to date.
 * @param packets set to the packets cached
 * @param nodes set to the DHT routing table's size, nodes6 to its IPv6 part
 */
void pkdns_resolver_stats(struct pkdns *d, size_t *packets, size_t *nodes, size_t *nodes6);

/** Stop the pkarr path, dropping its held queries. */
void pkdns_pkarr_free(struct pkdns *d);

/**
 * Take q when its name is under a public-key TLD.
 * @return true when q was taken (answered or held), false for ICANN names
 */
bool pkdns_route_pkarr(struct pkdns *d, struct dns_query *q);

#endif
