/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ops.c -- operating the daemon (see ops.h): pidfile lock, systemd
 * readiness (sd_notify(3) protocol, src/util/notify.c), privilege drop,
 * reload with RELOADING=1/READY=1, the status text, and every counter as
 * unbound-control-style "name=value" lines and as the Prometheus text
 * exposition format (version 0.0.4).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#define LOG_MODULE "daemon"
#include "cache/cache.h"
#include "daemon/control.h"
#include "daemon/internal.h"
#include "daemon/ops.h"
#include "daemon/request.h"
#include "dht/dht.h"
#include "dht/dht_event.h"
#include "dns/server.h"
#include "http/http.h"
#include "icann/icann.h"
#include "pkarr/cache.h"
#include "pkarr/resolver.h"
#include "util/log.h"
#include "util/notify.h"
#include "util/pidfile.h"
#include "util/privdrop.h"
#include "util/ratelimit.h"
#include "util/time.h"

#define STATUS_TICK_S 5
#define N_TRANSPORT 5
#define N_PATH 4
#define N_FAIL 16
#define MAX_METRICS 160

/* Upper bounds of the look-up histogram, milliseconds. */
static const unsigned lookup_bounds_ms[PKDNS_LOOKUP_BUCKETS] = {
	50, 100, 250, 500, 1000, 2000, 4000, 8000, 16000, 32000,
};

struct pkdns_ops {
	struct pidfile pidfile;
	struct notify notify;
	struct privdrop priv;
	uint64_t start_ms;
	struct event *ev_status;
	char status[256];             /* the last STATUS= sent */
	struct pkdns_control *control;
	struct pkdns_metrics_http *metrics;
	/* look-up latency: per outcome (found, not), per bucket, cumulative
	 * only when printed */
	uint64_t lookup_bucket[2][PKDNS_LOOKUP_BUCKETS + 1];
	uint64_t lookup_ms_sum[2], lookup_count[2];
	uint64_t reloads, reload_failures;
	uint64_t pcache_hits, pcache_misses;
	/* replies by [transport][path][rcode], errors by reason; and what
	 * "stats" last reset them to */
	uint64_t replies[N_TRANSPORT][N_PATH][16], fails[N_FAIL];
	uint64_t replies_base[N_TRANSPORT][N_PATH][16], fails_base[N_FAIL];
	uint64_t baseline[MAX_METRICS]; /* "stats" resets against these */
};

/* One figure: its stats name, its Prometheus name and labels. Figures
 * with the same Prometheus name are listed together. */
struct figure {
	const char *stat;
	const char *prom;
	const char *labels;
	const char *help;
	bool counter;
	uint64_t v;
	bool hide;                    /* a zero nobody needs to see */
	char lbuf[48], sbuf[40];      /* labels and name made on the fly */
};

static const char *
health_name(int h)
{
	switch (h) {
	case DHT_HEALTH_UP: return "up";
	case DHT_HEALTH_DOWN: return "down";
	default: return "starting";
	}
}

static const char *
mode_name(int m)
{
	switch (m) {
	case DHT_MODE_OFF_CONF: return "off";
	case DHT_MODE_CLIENT_CONF: return "client";
	case DHT_MODE_SERVER_CONF: return "server";
	default: return "adaptive";
	}
}

/* ---- life cycle ------------------------------------------------------- */

static void
status_line(struct pkdns *d, char *buf, size_t cap)
{
	struct dht *dht = pkarr_resolver_dht(d->resolver);
	struct dht_info info;

	if (!dht) {
		snprintf(buf, cap, "serving; DHT off");
		return;
	}
	dht_get_info(dht, time_mono_ms(), &info);
	snprintf(buf, cap, "serving; DHT %s: %zu nodes (%zu IPv6), %s%s",
	    health_name(info.health), info.nodes4 + info.nodes6, info.nodes6,
	    info.server ? "reachable" : "not reachable",
	    info.have_external ? "" : ", external address unknown");
}

static void
send_status(struct pkdns *d, bool force)
{
	struct pkdns_ops *o = d->ops;
	char line[sizeof(o->status)], msg[sizeof(o->status) + 16];

	if (o->notify.fd < 0)
		return;
	status_line(d, line, sizeof(line));
	if (!force && strcmp(line, o->status) == 0)
		return;
	memcpy(o->status, line, sizeof(line));
	snprintf(msg, sizeof(msg), "STATUS=%s", line);
	notify_send(&o->notify, msg);
}

static void
on_status_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	send_status(arg, false);
}

int
pkdns_ops_early(struct pkdns *d)
{
	struct pkdns_ops *o = calloc(1, sizeof(*o));

	if (!o)
		return -1;
	d->ops = o;
	o->pidfile.fd = -1;
	o->notify.fd = -1;
	o->start_ms = time_mono_ms();
	/* the user first: its groups come from /etc/group, out of reach
	 * after chroot, and a missing user must stop us before anything */
	if (privdrop_prepare(&o->priv, d->conf.username) < 0)
		return -1;
	if (d->conf.pidfile && pidfile_lock(&o->pidfile, d->conf.pidfile) < 0)
		return -1;
	if (o->priv.active) {
		o->pidfile.uid = o->priv.uid;
		o->pidfile.gid = o->priv.gid;
	}
	(void)notify_open(&o->notify);
	return 0;
}

/* Whether the folder of path exists. */
static bool
dir_exists(const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[4096];
	struct stat st;

	if (!slash)
		return true;
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	return !*dir || (stat(dir, &st) == 0 && S_ISDIR(st.st_mode));
}

int
pkdns_ops_open(struct pkdns *d)
{
	struct pkdns_ops *o = d->ops;

	if (d->conf.control_socket && d->conf.control_socket_default &&
	    !dir_exists(d->conf.control_socket)) {
		/* a source build's $runstatedir may not exist yet */
		log_info("no control channel: the folder of %s does not exist (control-socket)",
		    d->conf.control_socket);
	} else if (d->conf.control_socket) {
		o->control = pkdns_control_open(d, d->conf.control_socket, d->conf.control_group);
		if (!o->control && !d->conf.control_socket_default)
			return -1;
		if (!o->control)
			log_warn("no control channel (control-socket %s could not be opened)",
			    d->conf.control_socket);
	}
	/* /metrics on the HTTP listeners, and on metrics-listen */
	o->metrics = pkdns_metrics_open(d);
	if (!o->metrics)
		return -1;
	return 0;
}

int
pkdns_ops_started(struct pkdns *d)
{
	struct pkdns_ops *o = d->ops;
	char msg[64];
	struct timeval tv = { STATUS_TICK_S, 0 };

	if (o->pidfile.fd >= 0 && pidfile_write(&o->pidfile) < 0)
		return -1;
	if (privdrop_apply(&o->priv, d->conf.chroot_dir) < 0)
		return -1;
	o->ev_status = event_new(d->w.base, -1, EV_PERSIST, on_status_tick, d);
	if (!o->ev_status || event_add(o->ev_status, &tv) < 0)
		return -1;
	/* MAINPID: after daemon(3) we are not the process systemd started */
	snprintf(msg, sizeof(msg), "READY=1\nMAINPID=%ld", (long)getpid());
	notify_send(&o->notify, msg);
	send_status(d, true);
	return 0;
}

void
pkdns_ops_stopping(struct pkdns *d)
{
	if (d->ops)
		notify_send(&d->ops->notify, "STOPPING=1");
}

void
pkdns_ops_free(struct pkdns *d)
{
	struct pkdns_ops *o = d->ops;

	if (!o)
		return;
	pkdns_control_free(o->control);
	pkdns_metrics_free(o->metrics);
	if (o->ev_status)
		event_free(o->ev_status);
	notify_close(&o->notify);
	pidfile_release(&o->pidfile);
	free(o);
	d->ops = NULL;
}

/* conf_load() prints its errors on stderr: catch them for the caller in
 * a memory file while it runs. */
int
pkdns_ops_reload(struct pkdns *d, char *why, size_t whylen)
{
	struct pkdns_ops *o = d->ops;
	struct timespec ts;
	char msg[96];
	int saved = -1, mem = -1, rc;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000);
	notify_send(&o->notify, msg);
	if (why && whylen) {
		why[0] = '\0';
		fflush(stderr);
		mem = memfd_create("pkdns-reload", MFD_CLOEXEC);
		saved = mem >= 0 ? dup(STDERR_FILENO) : -1;
		if (saved >= 0 && dup2(mem, STDERR_FILENO) < 0) {
			close(saved);
			saved = -1;
		}
	}
	rc = pkdns_reload(d);
	if (saved >= 0) {
		ssize_t n;
		fflush(stderr);
		dup2(saved, STDERR_FILENO);
		close(saved);
		n = pread(mem, why, whylen - 1, 0);
		why[n > 0 ? n : 0] = '\0';
		/* the log keeps what the caller gets */
		fputs(why, stderr);
	}
	if (mem >= 0)
		close(mem);
	o->reloads++;
	if (rc < 0)
		o->reload_failures++;
	notify_send(&o->notify, "READY=1");
	send_status(d, true);
	return rc;
}

void
pkdns_ops_packet_cache(struct pkdns *d, int hit)
{
	if (!d->ops)
		return;
	if (hit)
		d->ops->pcache_hits++;
	else
		d->ops->pcache_misses++;
}

void
pkdns_ops_replied(struct pkdns *d, int transport, int path, int rcode, int reason)
{
	struct pkdns_ops *o = d->ops;

	if (!o)
		return;
	transport = transport < 0 || transport >= N_TRANSPORT ? N_TRANSPORT - 1 : transport;
	path = path < 0 || path >= N_PATH ? 0 : path;
	o->replies[transport][path][rcode & 0x0f]++;
	if (reason > 0)
		o->fails[reason < N_FAIL ? reason : N_FAIL - 1]++;
}

void
pkdns_ops_lookup_observed(struct pkdns *d, uint64_t ms, int found)
{
	struct pkdns_ops *o = d->ops;
	int f = found ? 0 : 1;
	size_t i = 0;

	if (!o)
		return;
	while (i < PKDNS_LOOKUP_BUCKETS && ms > lookup_bounds_ms[i])
		i++;
	o->lookup_bucket[f][i]++;
	o->lookup_ms_sum[f] += ms;
	o->lookup_count[f]++;
}

/* ---- figures ------------------------------------------------------------ */

static uint64_t
process_rss(void)
{
	FILE *f = fopen("/proc/self/statm", "re");
	unsigned long long size = 0, rss = 0;

	if (!f)
		return 0;
	if (fscanf(f, "%llu %llu", &size, &rss) != 2)
		rss = 0;
	fclose(f);
	return (uint64_t)rss * (uint64_t)sysconf(_SC_PAGESIZE);
}

static uint64_t
process_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *e;
	uint64_t n = 0;

	if (!dir)
		return 0;
	while ((e = readdir(dir)))
		if (e->d_name[0] != '.')
			n++;
	closedir(dir);
	return n ? n - 1 : 0; /* the one opendir holds */
}

static const char *const path_names[N_PATH] = { "none", "cache", "icann", "pkarr" };

/* enum dns_transport */
static const char *const transport_names[5] = { "udp", "tcp", "tls", "https", "http" };

static const char *const rcode_names[16] = {
	"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN",
	"YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE", "DSOTYPENI", "RCODE12", "RCODE13",
	"RCODE14", "RCODE15",
};

/* Fill f with every figure, always in the same order (the baseline of
 * "stats" is indexed by place). @return how many */
static size_t
collect(struct pkdns *d, struct figure *f)
{
	const struct pkdns_stats *s = &d->w.stats;
	struct dns_server_stats ss;
	struct http_server_stats hs;
	struct cache_stats cs;
	struct dht *dht = pkarr_resolver_dht(d->resolver);
	struct pkarr_cache *pc = pkarr_resolver_cache(d->resolver);
	struct dht_info info;
	uint64_t sent = 0, received = 0;
	size_t n = 0;

	dns_server_get_stats(d->w.dns, &ss);
	cache_get_stats(d->w.cache, &cs);
	memset(&hs, 0, sizeof(hs));
	if (d->w.http)
		http_server_get_stats(d->w.http, &hs);
	memset(&info, 0, sizeof(info));
	if (dht)
		dht_get_info(dht, time_mono_ms(), &info);
	dht_node_counters(pkarr_resolver_node(d->resolver), &sent, &received);
#define FIG(st, pr, lab, hlp, ctr, val) \
	do { \
		if (n < MAX_METRICS) \
			f[n++] = (struct figure){ st, pr, lab, hlp, ctr, (uint64_t)(val), false, "", "" }; \
	} while (0)
	FIG("time.up_seconds", "pkdns_uptime_seconds", "", "Seconds since start.", false,
	    (time_mono_ms() - d->ops->start_ms) / 1000);
	FIG("num.queries", "pkdns_queries_received_total", "", "Queries handled (after access control).", true, s->queries);
	FIG("num.queries.udp", "pkdns_queries_total", "transport=\"udp\"", "Well-formed queries by transport.", true, ss.udp_queries);
	FIG("num.queries.tcp", "pkdns_queries_total", "transport=\"tcp\"", NULL, true, ss.tcp_queries);
	FIG("num.queries.doh", "pkdns_queries_total", "transport=\"doh\"", NULL, true, ss.doh_queries);
	FIG("num.path.cache", "pkdns_queries_path_total", "path=\"cache\"", "Queries by the path that answered them: cache, pkarr (keys), icann.", true, s->cache_hits);
	FIG("num.path.pkarr", "pkdns_queries_path_total", "path=\"pkarr\"", NULL, true, s->pkarr_queries);
	FIG("num.path.icann", "pkdns_queries_path_total", "path=\"icann\"", NULL, true, s->icann_queries);
	/* responses by transport and rcode: only the rcodes seen, plus the
	 * common ones so that a dashboard has its series from the start */
	for (int t = 0; t < 5; t++)
		for (int r = 0; r < 16; r++) {
			bool common = t < 2 && (r == 0 || r == 2 || r == 3 || r == 5);
			struct figure *g = &f[n < MAX_METRICS ? n : MAX_METRICS - 1];
			FIG(NULL, "pkdns_responses_total", NULL,
			    (t == 0 && r == 0) ? "Responses sent by transport and rcode." : NULL, true,
			    ss.rcode[t][r]);
			snprintf(g->lbuf, sizeof(g->lbuf), "transport=\"%s\",rcode=\"%s\"",
			    transport_names[t], rcode_names[r]);
			snprintf(g->sbuf, sizeof(g->sbuf), "num.answer.rcode.%s.%s", transport_names[t],
			    rcode_names[r]);
			g->labels = g->lbuf;
			g->stat = g->sbuf;
			/* every row always collected, so that the places (and the
			 * baseline of "stats") never move; the zeros of rare
			 * rcodes are left out of the output */
			g->hide = !common && ss.rcode[t][r] == 0;
		}
	FIG("num.answer.stale", "pkdns_stale_answers_total", "", "Stale answers (RFC 8767).", true, s->stale_answers);
	FIG("num.refused.acl", "pkdns_refused_total", "", "Queries refused by access control.", true, s->refused);
	FIG("num.ratelimited", "pkdns_ratelimited_total", "", "Queries and look-ups refused by the per-client rate limits.", true, s->ratelimited);
	FIG("ratelimit.clients_limited", "pkdns_ratelimited_clients", "", "Clients whose query rate limit is spent now.", false, ratelimit_limited(d->w.rl_query, time_mono_ms()));
	FIG("num.malformed", "pkdns_malformed_total", "", "Malformed queries (FORMERR).", true, ss.formerr);
	FIG("num.truncated", "pkdns_truncated_total", "", "UDP answers truncated (TC).", true, ss.truncated);
	FIG("num.dropped", "pkdns_dropped_total", "", "Queries dropped without an answer.", true, ss.dropped);
	FIG("tcp.connections", "pkdns_tcp_connections_total", "", "TCP connections accepted.", true, ss.tcp_connections);
	FIG("tcp.refused", "pkdns_tcp_refused_total", "", "TCP connections closed at accept.", true, ss.tcp_refused);
	FIG("tcp.evicted", "pkdns_tcp_evicted_total", "", "Idle TCP connections closed for room.", true, ss.tcp_evicted);
	FIG("tls.connections", "pkdns_tls_connections_total", "", "DoT connections accepted.", true, ss.tls_connections);
	FIG("tls.handshake_failed", "pkdns_tls_handshake_failures_total", "", "DoT handshakes failed or timed out.", true, ss.tls_handshake_failed);
	FIG("http.connections", "pkdns_http_connections_total", "", "HTTP and HTTPS connections accepted.", true, hs.connections);
	FIG("http.requests.h1", "pkdns_http_requests_total", "version=\"1.1\"", "HTTP requests by version.", true, hs.requests_h1);
	FIG("http.requests.h2", "pkdns_http_requests_total", "version=\"2\"", NULL, true, hs.requests_h2);
	FIG("http.bad_requests", "pkdns_http_bad_requests_total", "", "HTTP requests refused (400, 413, 431).", true, hs.bad_requests);
	FIG("http.open", "pkdns_http_connections_open", "", "HTTP connections open.", false, hs.open);
	FIG("icann.failures", "pkdns_upstream_failures_total", "path=\"icann\"", "Resolutions that failed upstream.", true, s->icann_failures);
	FIG("icann.bogus", "pkdns_dnssec_bogus_total", "", "DNSSEC bogus answers.", true, s->bogus);
	FIG("icann.joined", "pkdns_icann_joined_total", "", "Queries that joined a resolution in flight.", true, d->w.icann_joined);
	FIG("icann.over_budget", "pkdns_icann_over_budget_total", "", "Queries over an ICANN budget.", true, d->w.icann_capped);
	FIG("icann.inflight", "pkdns_icann_inflight", "", "Resolutions in libunbound.", false, icann_inflight(d->w.icann));
	FIG("icann.waiting", "pkdns_icann_waiting", "", "Clients waiting on the ICANN path.", false, d->w.icann_waiters);
	FIG("deadline.stale", "pkdns_deadline_total", "outcome=\"stale\"", "Held queries answered by their deadline.", true, d->w.deadline_stale);
	FIG("deadline.servfail", "pkdns_deadline_total", "outcome=\"servfail\"", NULL, true, d->w.deadline_servfail);
	FIG("answer_cache.entries", "pkdns_cache_entries", "cache=\"answer\"", "Entries in a cache.", false, cs.entries);
	FIG("packet_cache.packets", "pkdns_cache_entries", "cache=\"packet\"", NULL, false, pc ? pkarr_cache_count(pc) : 0);
	FIG("answer_cache.bytes", "pkdns_cache_bytes", "cache=\"answer\"", "Bytes a cache holds.", false, cs.bytes);
	FIG("packet_cache.bytes", "pkdns_cache_bytes", "cache=\"packet\"", NULL, false, pc ? pkarr_cache_bytes(pc) : 0);
	FIG("answer_cache.hits", "pkdns_cache_hits_total", "cache=\"answer\"", "Cache look-ups answered.", true, cs.hits + cs.stale_hits);
	FIG("packet_cache.hits", "pkdns_cache_hits_total", "cache=\"packet\"", NULL, true, d->ops->pcache_hits);
	FIG("answer_cache.misses", "pkdns_cache_misses_total", "cache=\"answer\"", "Cache look-ups missed.", true, cs.misses);
	FIG("packet_cache.misses", "pkdns_cache_misses_total", "cache=\"packet\"", NULL, true, d->ops->pcache_misses);
	FIG("answer_cache.evictions", "pkdns_cache_evictions_total", "cache=\"answer\"", "Entries dropped for room or age.", true, cs.evictions);
	FIG("dht.nodes.ipv4", "pkdns_dht_nodes", "family=\"ipv4\"", "Nodes in the DHT routing table.", false, info.nodes4);
	FIG("dht.nodes.ipv6", "pkdns_dht_nodes", "family=\"ipv6\"", NULL, false, info.nodes6);
	FIG("dht.good.ipv4", "pkdns_dht_good_nodes", "family=\"ipv4\"", "Nodes that answered recently.", false, info.good4);
	FIG("dht.good.ipv6", "pkdns_dht_good_nodes", "family=\"ipv6\"", NULL, false, info.good6);
	FIG("dht.up", "pkdns_dht_up", "", "1 when DHT nodes answer.", false, info.health == DHT_HEALTH_UP);
	FIG("dht.server", "pkdns_dht_server", "", "1 when the node answers queries (reachable).", false, info.server);
	FIG("dht.items", "pkdns_dht_items", "", "BEP 44 items stored for others.", false, info.items);
	FIG("dht.lookups", "pkdns_dht_lookups_total", "", "DHT look-ups started for clients.", true, s->dht_lookups);
	FIG("dht.lookups.inflight", "pkdns_dht_lookups_inflight", "", "DHT look-ups running.", false, info.lookups);
	FIG("dht.messages.sent", "pkdns_dht_messages_total", "direction=\"sent\"", "DHT datagrams.", true, sent);
	FIG("dht.messages.received", "pkdns_dht_messages_total", "direction=\"received\"", NULL, true, received);
	FIG("control.reloads", "pkdns_reloads_total", "", "Configuration reloads.", true, d->ops->reloads);
	FIG("control.reload_failures", "pkdns_reload_failures_total", "", "Reloads that kept the old configuration.", true, d->ops->reload_failures);
	FIG("process.rss_bytes", "pkdns_process_resident_memory_bytes", "", "Resident memory.", false, process_rss());
	FIG("process.open_fds", "pkdns_process_open_fds", "", "Open file descriptors.", false, process_fds());
#undef FIG
	return n;
}

void
pkdns_ops_stats(struct pkdns *d, FILE *out, int reset)
{
	struct figure f[MAX_METRICS];
	size_t n = collect(d, f);

	for (size_t i = 0; i < n; i++) {
		uint64_t v = f[i].v;
		/* "stats" counts since the last reset; the Prometheus
		 * counters never go back */
		if (f[i].counter && v >= d->ops->baseline[i])
			v -= d->ops->baseline[i];
		if (reset && f[i].counter)
			d->ops->baseline[i] = f[i].v;
		if (f[i].hide)
			continue;
		fprintf(out, "%s=%llu\n", f[i].stat, (unsigned long long)v);
	}
	/* replies and failures: the rows seen so far */
	for (int t = 0; t < N_TRANSPORT; t++)
		for (int p = 0; p < N_PATH; p++)
			for (int r = 0; r < 16; r++) {
				uint64_t v = d->ops->replies[t][p][r];
				if (v == 0)
					continue;
				fprintf(out, "num.reply.%s.%s.%s=%llu\n", transport_names[t],
				    path_names[p], rcode_names[r],
				    (unsigned long long)(v - d->ops->replies_base[t][p][r]));
				if (reset)
					d->ops->replies_base[t][p][r] = v;
			}
	for (int k = 1; k < N_FAIL; k++) {
		uint64_t v = d->ops->fails[k];
		if (v == 0)
			continue;
		fprintf(out, "num.fail.%s=%llu\n", pkdns_fail_str((enum pkdns_fail)k),
		    (unsigned long long)(v - d->ops->fails_base[k]));
		if (reset)
			d->ops->fails_base[k] = v;
	}
	for (int k = 0; k < 2; k++)
		fprintf(out, "dht.lookup.%s.count=%llu\ndht.lookup.%s.avg_ms=%llu\n",
		    k ? "notfound" : "found", (unsigned long long)d->ops->lookup_count[k],
		    k ? "notfound" : "found",
		    (unsigned long long)(d->ops->lookup_count[k]
			    ? d->ops->lookup_ms_sum[k] / d->ops->lookup_count[k] : 0));
}

void
pkdns_ops_metrics(struct pkdns *d, FILE *out)
{
	struct figure f[MAX_METRICS];
	size_t n = collect(d, f);
	const char *last = "";

	for (size_t i = 0; i < n; i++) {
		if (f[i].hide && strcmp(f[i].prom, last) == 0)
			continue;
		if (strcmp(f[i].prom, last) != 0) {
			fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", f[i].prom,
			    f[i].help ? f[i].help : "", f[i].prom, f[i].counter ? "counter" : "gauge");
			last = f[i].prom;
		}
		if (*f[i].labels)
			fprintf(out, "%s{%s} %llu\n", f[i].prom, f[i].labels, (unsigned long long)f[i].v);
		else
			fprintf(out, "%s %llu\n", f[i].prom, (unsigned long long)f[i].v);
	}
	fprintf(out, "# HELP pkdns_replies_total Replies by transport, path (none, cache, icann, "
	    "pkarr) and rcode.\n# TYPE pkdns_replies_total counter\n");
	for (int t = 0; t < N_TRANSPORT; t++)
		for (int p = 0; p < N_PATH; p++)
			for (int r = 0; r < 16; r++)
				if (d->ops->replies[t][p][r] || (t == 0 && p == 0 && r == 0))
					fprintf(out, "pkdns_replies_total{transport=\"%s\",path=\"%s\","
					    "rcode=\"%s\"} %llu\n", transport_names[t], path_names[p],
					    rcode_names[r], (unsigned long long)d->ops->replies[t][p][r]);
	fprintf(out, "# HELP pkdns_failures_total Error replies by reason.\n"
	    "# TYPE pkdns_failures_total counter\n");
	for (int k = 1; k < N_FAIL; k++)
		if (d->ops->fails[k] || k == 1)
			fprintf(out, "pkdns_failures_total{reason=\"%s\"} %llu\n",
			    pkdns_fail_str((enum pkdns_fail)k), (unsigned long long)d->ops->fails[k]);
	fprintf(out, "# HELP pkdns_dht_lookup_seconds Time of a DHT look-up to its first packet "
	    "(found) or to its end (notfound).\n# TYPE pkdns_dht_lookup_seconds histogram\n");
	for (int k = 0; k < 2; k++) {
		const char *o = k ? "notfound" : "found";
		uint64_t cum = 0;
		for (size_t b = 0; b < PKDNS_LOOKUP_BUCKETS; b++) {
			cum += d->ops->lookup_bucket[k][b];
			fprintf(out, "pkdns_dht_lookup_seconds_bucket{outcome=\"%s\",le=\"%g\"} %llu\n",
			    o, lookup_bounds_ms[b] / 1000.0, (unsigned long long)cum);
		}
		cum += d->ops->lookup_bucket[k][PKDNS_LOOKUP_BUCKETS];
		fprintf(out, "pkdns_dht_lookup_seconds_bucket{outcome=\"%s\",le=\"+Inf\"} %llu\n", o,
		    (unsigned long long)cum);
		fprintf(out, "pkdns_dht_lookup_seconds_sum{outcome=\"%s\"} %.3f\n", o,
		    d->ops->lookup_ms_sum[k] / 1000.0);
		fprintf(out, "pkdns_dht_lookup_seconds_count{outcome=\"%s\"} %llu\n", o,
		    (unsigned long long)d->ops->lookup_count[k]);
	}
	fprintf(out, "# HELP pkdns_build_info Version of pkdns.\n# TYPE pkdns_build_info gauge\n"
	    "pkdns_build_info{version=\"%s\"} 1\n", PACKAGE_VERSION);
}

void
pkdns_ops_status(struct pkdns *d, FILE *out)
{
	struct dht *dht = pkarr_resolver_dht(d->resolver);
	struct dht_info info;
	uint64_t up = (time_mono_ms() - d->ops->start_ms) / 1000;

	fprintf(out, "version: %s\n", PACKAGE_VERSION);
	fprintf(out, "uptime: %llu seconds\n", (unsigned long long)up);
	fprintf(out, "pid: %ld\n", (long)getpid());
	fprintf(out, "verbosity: %d\n", d->conf.verbose);
	fprintf(out, "dht mode: %s\n", mode_name(d->conf.dht_mode));
	if (!dht) {
		fprintf(out, "dht: off\n");
		return;
	}
	dht_get_info(dht, time_mono_ms(), &info);
	fprintf(out, "dht state: %s\n", health_name(info.health));
	fprintf(out, "dht port: %u\n", (unsigned)dht_node_port(pkarr_resolver_node(d->resolver)));
	fprintf(out, "dht nodes ipv4: %zu (%zu good)\n", info.nodes4, info.good4);
	fprintf(out, "dht nodes ipv6: %zu (%zu good)\n", info.nodes6, info.good6);
	fprintf(out, "dht reachable: %s\n", info.server ? "yes (answering as a server)" : "no");
	fprintf(out, "dht external address: %s\n", info.have_external ? info.external : "unknown");
	fprintf(out, "dht bootstrap: %s\n",
	    info.health == DHT_HEALTH_UP ? "done" :
	    info.health == DHT_HEALTH_DOWN ? "retrying (no node answers)" : "in progress");
	fprintf(out, "dht look-ups running: %zu\n", info.lookups);
	fprintf(out, "dht items stored: %zu\n", info.items);
}
