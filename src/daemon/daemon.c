/*
 * daemon.c -- the context, query routing and the ICANN answer path.
 *
 * A query goes: access control -> rate limit -> answer cache -> by its
 * TLD to the pkarr path (a 52-character z-base32 key) or to libunbound.
 * Every callback here tolerates arriving after the client is gone: a
 * held query is owned by exactly one pending request, which is freed in
 * one place whether the answer comes, fails, or the daemon stops.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <ldns/ldns.h>

#define LOG_MODULE "daemon"
#include "cache/cache.h"
#include "daemon/daemon.h"
#include "daemon/internal.h"
#include "dns/acl.h"
#include "dns/server.h"
#include "icann/icann.h"
#include "util/log.h"
#include "util/netaddr.h"
#include "util/ratelimit.h"
#include "util/time.h"

/* An ICANN question waiting for libunbound. If libunbound is slow, the
 * client gets a stale answer after PKDNS_STALE_WAIT_MS (RFC 8767 section
 * 5, the "client response timer") or SERVFAIL after PKDNS_ICANN_DEADLINE_MS,
 * and q becomes NULL; the resolution goes on, and its answer still
 * refreshes the cache. */
struct icann_pending {
	struct pkdns *d;
	struct dns_query *q;          /* NULL once the client was answered */
	struct icann_req *req;
	struct event *timer;
	bool stale_tried;
	uint16_t qtype, qclass;       /* to cache a late answer */
	bool do_bit, cd;
	uint8_t qname[DNS_MAX_NAME];
	size_t qname_len;
	struct icann_pending *prev, *next;
};

static void
pending_unlink(struct pkdns *d, struct icann_pending *p)
{
	if (p->prev)
		p->prev->next = p->next;
	else
		d->icann_pending = p->next;
	if (p->next)
		p->next->prev = p->prev;
}

static void
pending_free(struct pkdns *d, struct icann_pending *p)
{
	pending_unlink(d, p);
	if (p->timer)
		event_free(p->timer);
	free(p);
}

void
pkdns_cache_key(const struct dns_query *q, struct cache_key *key)
{
	key->qname = q->info.qname;
	key->qname_len = q->info.qname_len;
	key->qtype = q->info.qtype;
	key->qclass = q->info.qclass;
	key->do_bit = q->info.do_bit;
}

bool
pkdns_answer_stale(struct pkdns *d, struct dns_query *q)
{
	struct cache_key key;
	size_t cap;
	uint8_t *buf = dns_query_buf(q, &cap);
	bool stale = false;
	long n;

	if (!d->conf.serve_stale)
		return false;
	pkdns_cache_key(q, &key);
	n = cache_lookup(d->cache, &key, q->info.id, q->info.rd, time_mono_ms(), buf, cap, true,
	    PKDNS_STALE_MAX_S, &stale);
	if (n <= 0)
		return false;
	d->stats.stale_answers++;
	dns_query_answer(q, (size_t)n);
	return true;
}

/* DNSSEC records a client that did not set DO must not get (RFC 4035
 * section 3.2.1), unless it asked for that type. */
static void
strip_dnssec(ldns_rr_list *list, uint16_t qtype)
{
	size_t i = 0;

	while (list && i < ldns_rr_list_rr_count(list)) {
		ldns_rr_type t = ldns_rr_get_type(ldns_rr_list_rr(list, i));
		bool dnssec = t == LDNS_RR_TYPE_RRSIG || t == LDNS_RR_TYPE_NSEC ||
		    t == LDNS_RR_TYPE_NSEC3;
		if (dnssec && t != qtype) {
			ldns_rr *rr = ldns_rr_list_rr(list, i);
			ldns_rr_list_set_rr(list, ldns_rr_list_rr(list, ldns_rr_list_rr_count(list) - 1), i);
			ldns_rr_list_set_rr_count(list, ldns_rr_list_rr_count(list) - 1);
			ldns_rr_free(rr);
		} else {
			i++;
		}
	}
}

/* Turn libunbound's packet into our answer: no OPT (the front end adds
 * its own), DNSSEC records only for DO, AD from the validator. */
static int
icann_rewrite(const uint8_t *msg, size_t len, bool do_bit, bool cd, enum icann_sec sec,
    uint8_t **out, size_t *outlen)
{
	ldns_pkt *pkt = NULL;

	if (ldns_wire2pkt(&pkt, msg, len) != LDNS_STATUS_OK)
		return -1;
	ldns_pkt_set_edns_udp_size(pkt, 0);
	ldns_pkt_set_edns_extended_rcode(pkt, 0);
	ldns_pkt_set_edns_version(pkt, 0);
	ldns_pkt_set_edns_z(pkt, 0);
	ldns_pkt_set_edns_data(pkt, NULL);
	/* ldns 1.8 keeps "an OPT was there" in a field with no setter */
	pkt->_edns_present = 0;
	ldns_pkt_set_qr(pkt, true);
	ldns_pkt_set_aa(pkt, false);
	ldns_pkt_set_ra(pkt, true);
	ldns_pkt_set_ad(pkt, sec == ICANN_SECURE);
	ldns_pkt_set_cd(pkt, cd);
	if (!do_bit) {
		uint16_t qtype = ldns_pkt_question(pkt) && ldns_rr_list_rr_count(ldns_pkt_question(pkt))
		    ? (uint16_t)ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_question(pkt), 0))
		    : 0;
		strip_dnssec(ldns_pkt_answer(pkt), qtype);
		strip_dnssec(ldns_pkt_authority(pkt), qtype);
		strip_dnssec(ldns_pkt_additional(pkt), qtype);
		ldns_pkt_set_ancount(pkt, (uint16_t)ldns_rr_list_rr_count(ldns_pkt_answer(pkt)));
		ldns_pkt_set_nscount(pkt, (uint16_t)ldns_rr_list_rr_count(ldns_pkt_authority(pkt)));
		ldns_pkt_set_arcount(pkt, (uint16_t)ldns_rr_list_rr_count(ldns_pkt_additional(pkt)));
	}
	ldns_status st = ldns_pkt2wire(out, pkt, outlen);
	ldns_pkt_free(pkt);
	return st == LDNS_STATUS_OK ? 0 : -1;
}

static void
icann_done(void *arg, int rcode, const uint8_t *msg, size_t len, enum icann_sec sec,
    const char *why_bogus)
{
	struct icann_pending *p = arg;
	struct pkdns *d = p->d;
	struct dns_query *q = p->q;
	uint8_t *wire = NULL;
	size_t wlen = 0;
	struct cache_key key = { p->qname, p->qname_len, p->qtype, p->qclass, p->do_bit };
	bool cd = p->cd;

	/* a SERVFAIL packet (e.g. every upstream marked down) is a failure
	 * too: the stale answer is better */
	if (rcode != 0 || !msg || dns_msg_rcode(msg, len) == DNS_RCODE_SERVFAIL) {
		d->stats.icann_failures++;
		if (q && !pkdns_answer_stale(d, q))
			dns_query_error(q, DNS_RCODE_SERVFAIL);
		goto out;
	}
	if (sec == ICANN_BOGUS) {
		char name[LDNS_MAX_DOMAINLEN + 2];
		d->stats.bogus++;
		if (dns_name_to_str(key.qname, key.qname_len, name, sizeof(name)) < 0)
			strcpy(name, "?");
		log_info("bogus answer for %s type %u: %s", name, key.qtype,
		    why_bogus ? why_bogus : "no reason given");
		if (!cd) {
			if (q)
				dns_query_error(q, DNS_RCODE_SERVFAIL);
			goto out;
		}
	}
	if (icann_rewrite(msg, len, key.do_bit, cd, sec, &wire, &wlen) < 0) {
		log_warn("unparseable answer from libunbound");
		if (q)
			dns_query_error(q, DNS_RCODE_SERVFAIL);
		goto out;
	}
	if (sec != ICANN_BOGUS)
		cache_store(d->cache, &key, wire, wlen, 0, time_mono_ms());
	if (q)
		dns_query_reply(q, wire, wlen);
	free(wire);
out:
	pending_free(d, p);
}

static void
icann_slow(evutil_socket_t fd, short what, void *arg)
{
	struct icann_pending *p = arg;
	struct pkdns *d = p->d;
	(void)fd;
	(void)what;

	if (!p->q)
		return;
	if (!p->stale_tried) {
		struct timeval tv = { (PKDNS_ICANN_DEADLINE_MS - PKDNS_STALE_WAIT_MS) / 1000,
			((PKDNS_ICANN_DEADLINE_MS - PKDNS_STALE_WAIT_MS) % 1000) * 1000 };
		p->stale_tried = true;
		if (pkdns_answer_stale(d, p->q)) {
			p->q = NULL;
			return;
		}
		evtimer_add(p->timer, &tv);
		return;
	}
	d->stats.icann_failures++;
	dns_query_error(p->q, DNS_RCODE_SERVFAIL);
	p->q = NULL;
}

void
pkdns_resolve_icann(struct pkdns *d, struct dns_query *q, const char *name, uint16_t qtype)
{
	struct icann_pending *p = calloc(1, sizeof(*p));
	struct dns_query *held;
	struct timeval tv = { PKDNS_STALE_WAIT_MS / 1000, (PKDNS_STALE_WAIT_MS % 1000) * 1000 };

	if (!p) {
		dns_query_error(q, DNS_RCODE_SERVFAIL);
		return;
	}
	p->timer = evtimer_new(d->base, icann_slow, p);
	if (!p->timer) {
		free(p);
		dns_query_error(q, DNS_RCODE_SERVFAIL);
		return;
	}
	held = dns_query_hold(q);
	if (!held) {
		event_free(p->timer);
		free(p);
		return;
	}
	d->stats.icann_queries++;
	p->d = d;
	p->q = held;
	p->qtype = held->info.qtype;
	p->qclass = held->info.qclass;
	p->do_bit = held->info.do_bit;
	p->cd = held->info.cd;
	memcpy(p->qname, held->info.qname, held->info.qname_len);
	p->qname_len = held->info.qname_len;
	p->next = d->icann_pending;
	if (d->icann_pending)
		d->icann_pending->prev = p;
	d->icann_pending = p;
	/* the timer first: icann_done may run inside icann_resolve */
	evtimer_add(p->timer, &tv);
	struct icann_req *r = icann_resolve(d->icann, name, qtype, held->info.qclass, icann_done, p);
	if (!r) {
		pending_free(d, p);
		d->stats.icann_failures++;
		dns_query_error(held, DNS_RCODE_SERVFAIL);
	} else if (r != ICANN_DONE) {
		p->req = r;
	}
	/* ICANN_DONE: icann_done already ran and freed p */
}

/* Access control runs before the query is even parsed (dns_admit_fn). */
static int
admit_client(void *ctx, const struct sockaddr *client)
{
	struct pkdns *d = ctx;

	switch (acl_check(d->conf.acl, d->conf.n_acl, client)) {
	case ACL_ALLOW:
		return DNS_ADMIT_ALLOW;
	case ACL_DENY:
		return DNS_ADMIT_DROP;
	default:
		d->stats.refused++;
		return DNS_ADMIT_REFUSE;
	}
}

static void
handle_query(void *ctx, struct dns_query *q)
{
	struct pkdns *d = ctx;
	const struct sockaddr *client = (const struct sockaddr *)&q->client;
	uint64_t now = time_mono_ms();
	struct cache_key key;
	size_t cap;
	uint8_t *buf;
	long n;

	d->stats.queries++;
	if (!ratelimit_allow(d->rl_query, client, now)) {
		d->stats.ratelimited++;
		dns_query_error(q, DNS_RCODE_REFUSED);
		return;
	}
	if (q->info.qclass != LDNS_RR_CLASS_IN) {
		dns_query_error(q, DNS_RCODE_REFUSED);
		return;
	}
	if (q->info.qtype == DNS_TYPE_ANY && d->conf.disable_any) {
		dns_query_error(q, DNS_RCODE_NOTIMP);
		return;
	}
	switch (q->info.qtype) {
	case LDNS_RR_TYPE_AXFR:
	case LDNS_RR_TYPE_IXFR:
	case LDNS_RR_TYPE_MAILA:
	case LDNS_RR_TYPE_MAILB:
	case DNS_TYPE_OPT:
		dns_query_error(q, DNS_RCODE_NOTIMP);
		return;
	default:
		break;
	}

	pkdns_cache_key(q, &key);
	buf = dns_query_buf(q, &cap);
	n = cache_lookup(d->cache, &key, q->info.id, q->info.rd, now, buf, cap, false, 0, NULL);
	if (n > 0) {
		d->stats.cache_hits++;
		dns_query_answer(q, (size_t)n);
		return;
	}
	if (pkdns_route_pkarr(d, q))
		return;

	char name[LDNS_MAX_DOMAINLEN + 2];
	if (dns_name_to_str(q->info.qname, q->info.qname_len, name, sizeof(name)) < 0) {
		dns_query_error(q, DNS_RCODE_FORMERR);
		return;
	}
	pkdns_resolve_icann(d, q, name, q->info.qtype);
}

/* ---- signals, stats, life cycle -------------------------------------- */

void
pkdns_log_stats(struct pkdns *d)
{
	struct cache_stats cs;
	struct dns_server_stats ss;
	const struct pkdns_stats *s = &d->stats;

	size_t packets, nodes, nodes6;

	pkdns_pkarr_stats(d, &packets, &nodes, &nodes6);
	cache_get_stats(d->cache, &cs);
	dns_server_get_stats(d->dns, &ss);
	log_msg(LOG_LVL_WARN < d->conf.verbose ? LOG_LVL_INFO : LOG_LVL_WARN, "stats",
	    "queries %llu (udp %llu, tcp %llu), cache hits %llu, stale %llu, refused %llu, "
	    "ratelimited %llu, malformed %llu, truncated %llu; icann %llu (failed %llu, bogus %llu); "
	    "pkarr %llu, dht look-ups %llu (answered %llu, mean %llu ms to first packet), "
	    "%zu DHT nodes (IPv6 %zu), %zu packets; cache %llu entries %llu bytes",
	    (unsigned long long)s->queries, (unsigned long long)ss.udp_queries,
	    (unsigned long long)ss.tcp_queries, (unsigned long long)s->cache_hits,
	    (unsigned long long)s->stale_answers, (unsigned long long)s->refused,
	    (unsigned long long)s->ratelimited, (unsigned long long)ss.formerr,
	    (unsigned long long)ss.truncated, (unsigned long long)s->icann_queries,
	    (unsigned long long)s->icann_failures, (unsigned long long)s->bogus,
	    (unsigned long long)s->pkarr_queries, (unsigned long long)s->dht_lookups,
	    (unsigned long long)s->dht_lookups_done,
	    (unsigned long long)(s->dht_lookups_done ? s->dht_lookup_ms_total / s->dht_lookups_done : 0),
	    nodes, nodes6, packets,
	    (unsigned long long)cs.entries, (unsigned long long)cs.bytes);
}

static void
on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct pkdns *d = arg;
	(void)what;

	log_info("signal %d: stopping", (int)sig);
	dns_server_close_listeners(d->dns);
	event_base_loopexit(d->base, NULL);
}

static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct pkdns *d = arg;
	struct conf fresh;
	(void)sig;
	(void)what;

	log_reopen();
	pkdns_pkarr_reopen_cache(d);
	/* Reload what can change without new sockets: verbosity, access
	 * control, limits, TTL clamps. Addresses need a restart. */
	if (conf_load(&fresh, d->argc, d->argv) != CONF_OK) {
		log_err("SIGHUP: configuration has errors, keeping the old one");
		conf_free(&fresh);
		return;
	}
	log_setup("pkdns", fresh.verbose, d->conf.foreground);
	memcpy(d->conf.acl, fresh.acl, sizeof(fresh.acl));
	d->conf.n_acl = fresh.n_acl;
	d->conf.ratelimit = fresh.ratelimit;
	d->conf.ratelimit_burst = fresh.ratelimit_burst;
	d->conf.min_ttl = fresh.min_ttl;
	d->conf.max_ttl = fresh.max_ttl;
	d->conf.disable_any = fresh.disable_any;
	d->conf.serve_stale = fresh.serve_stale;
	d->conf.verbose = fresh.verbose;
	ratelimit_set(d->rl_query, fresh.ratelimit, fresh.ratelimit_burst);
	cache_set_stale(d->cache, fresh.serve_stale ? PKDNS_STALE_MAX_S : 0, 30);
	conf_free(&fresh);
	log_info("SIGHUP: configuration reloaded");
}

static void
on_usr1(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	pkdns_log_stats(arg);
}

static void
on_stats_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	pkdns_log_stats(arg);
}

static int
add_signal(struct pkdns *d, int sig, event_callback_fn fn, struct event **ev)
{
	*ev = evsignal_new(d->base, sig, fn, d);
	return (*ev && event_add(*ev, NULL) == 0) ? 0 : -1;
}

static int
write_pidfile(const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		log_err("pidfile %s: %s", path, strerror(errno));
		return -1;
	}
	fprintf(f, "%ld\n", (long)getpid());
	fclose(f);
	return 0;
}

struct pkdns *
pkdns_new(struct conf *cfg, int argc, char **argv)
{
	struct pkdns *d = calloc(1, sizeof(*d));
	struct dns_server_config scfg = { 0 };
	struct icann_config icfg = { 0 };
	struct sockaddr_storage fwd[CONF_MAX_LIST];

	if (!d) {
		conf_free(cfg);
		return NULL;
	}
	d->conf = *cfg;
	memset(cfg, 0, sizeof(*cfg));
	d->argc = argc;
	d->argv = argv;
	signal(SIGPIPE, SIG_IGN);
	d->base = event_base_new();
	if (!d->base)
		goto fail;
	d->cache = cache_new((size_t)d->conf.cache_size);
	d->rl_query = ratelimit_new(d->conf.ratelimit, d->conf.ratelimit_burst, 65536);
	if (!d->cache || !d->rl_query)
		goto fail;
	cache_set_stale(d->cache, d->conf.serve_stale ? PKDNS_STALE_MAX_S : 0, 30);

	for (size_t i = 0; i < d->conf.n_forward; i++)
		fwd[i] = d->conf.forward[i].ss;
	icfg.forward = fwd;
	icfg.n_forward = d->conf.n_forward;
	icfg.dnssec = d->conf.dnssec;
	icfg.trust_anchor_file = d->conf.trust_anchor_file;
	d->icann = icann_new(d->base, &icfg);
	if (!d->icann)
		goto fail;

	scfg.edns_buffer_size = (uint16_t)d->conf.edns_buffer_size;
	scfg.tcp_idle_timeout_s = d->conf.tcp_idle_timeout;
	scfg.tcp_max_connections = d->conf.tcp_max_connections;
	scfg.tcp_max_pipelined = 64;
	scfg.admit = admit_client;
	d->dns = dns_server_new(d->base, &scfg, handle_query, d);
	if (!d->dns)
		goto fail;
	size_t listening = 0;
	for (size_t i = 0; i < d->conf.n_listen; i++) {
		if (dns_server_listen(d->dns, (struct sockaddr *)&d->conf.listen[i].ss,
			d->conf.listen[i].len) == 0) {
			listening++;
			continue;
		}
		/* a host without IPv6 still gets the default IPv4 listener */
		if (d->conf.listen_default && (errno == EADDRNOTAVAIL || errno == EAFNOSUPPORT))
			continue;
		goto fail;
	}
	if (listening == 0) {
		log_err("no DNS listener could be opened");
		goto fail;
	}

	if (pkdns_pkarr_init(d) < 0)
		goto fail;

	if (add_signal(d, SIGTERM, on_stop, &d->ev_term) < 0 ||
	    add_signal(d, SIGINT, on_stop, &d->ev_int) < 0 ||
	    add_signal(d, SIGHUP, on_hup, &d->ev_hup) < 0 ||
	    add_signal(d, SIGUSR1, on_usr1, &d->ev_usr1) < 0)
		goto fail;
	if (d->conf.stats_interval) {
		struct timeval tv = { (time_t)d->conf.stats_interval, 0 };
		d->ev_stats = event_new(d->base, -1, EV_PERSIST, on_stats_timer, d);
		if (!d->ev_stats || event_add(d->ev_stats, &tv) < 0)
			goto fail;
	}
	if (!d->conf.foreground) {
		if (daemon(0, 0) < 0) {
			log_err("daemon: %s", strerror(errno));
			goto fail;
		}
		log_setup("pkdns", d->conf.verbose, false);
		/* the event base must notice the fork */
		event_reinit(d->base);
	}
	if (d->conf.pidfile && write_pidfile(d->conf.pidfile) < 0)
		goto fail;
	return d;
fail:
	pkdns_free(d);
	return NULL;
}

int
pkdns_run(struct pkdns *d)
{
	log_info("pkdns %s ready", PACKAGE_VERSION);
	if (event_base_dispatch(d->base) < 0) {
		log_err("event loop failed");
		return 1;
	}
	log_info("stopped");
	return 0;
}

void
pkdns_free(struct pkdns *d)
{
	if (!d)
		return;
	/* everything in flight is dropped: each held query freed once */
	pkdns_pkarr_free(d);
	while (d->icann_pending) {
		struct icann_pending *p = d->icann_pending;
		icann_cancel(d->icann, p->req);
		if (p->q)
			dns_query_drop(p->q);
		pending_free(d, p);
	}
	icann_free(d->icann);
	dns_server_free(d->dns);
	cache_free(d->cache);
	ratelimit_free(d->rl_query);
	if (d->ev_term)
		event_free(d->ev_term);
	if (d->ev_int)
		event_free(d->ev_int);
	if (d->ev_hup)
		event_free(d->ev_hup);
	if (d->ev_usr1)
		event_free(d->ev_usr1);
	if (d->ev_stats)
		event_free(d->ev_stats);
	if (d->base)
		event_base_free(d->base);
	if (d->conf.pidfile)
		unlink(d->conf.pidfile);
	conf_free(&d->conf);
	free(d);
}
