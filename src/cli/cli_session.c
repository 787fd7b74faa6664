/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cli_session.c -- the short-lived DHT node of pkdns-cli: bootstrap
 * addresses (names through getaddrinfo: the CLI is no system resolver),
 * the socket, the event loop with its stop conditions and deadline.
 *
 * The node is a BEP 43 read-only client: it is gone in seconds, so
 * nobody should put it in a routing table. It binds an ephemeral port on
 * 0.0.0.0, or on 127.0.0.1 when every bootstrap node is on loopback (a
 * local testnet, where the public address would not even be reachable).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#define LOG_MODULE "cli"
#include "cli/cli.h"
#include "dht/dht.h"
#include "dht/dht_event.h"
#include "util/log.h"
#include "util/netaddr.h"
#include "util/time.h"

/* The routers every Mainline client bootstraps from (doc/design.md,
 * "Bootstrap"). */
static const char *const default_bootstrap[] = {
	"router.bittorrent.com:6881",
	"router.utorrent.com:6881",
	"dht.transmissionbt.com:6881",
	"dht.libtorrent.org:25401",
};

/* Addresses kept per bootstrap name, and in all. */
#define ADDRS_PER_NAME 4
#define MAX_ADDRS (CLI_MAX_BOOTSTRAP * ADDRS_PER_NAME + 4)
/* Bucket size and replication of the CLI's node. */
#define CLI_DHT_K 20
/* How often the loop looks at its stop conditions. */
#define TICK_MS 50

struct cli_session {
	struct event_base *base;
	struct dht_node *node;
	struct event *tick;
	uint64_t deadline_ms;       /* start + --timeout */
	uint64_t until_ms;          /* end of the current run */
	/* stop condition of the current run */
	bool (*cond)(struct cli_session *s, void *ctx);
	void *cond_ctx;
};

struct dht *
cli_session_dht(struct cli_session *s)
{
	return dht_node_dht(s->node);
}

uint64_t
cli_session_now(const struct cli_session *s)
{
	return dht_node_now(s->node);
}

uint64_t
cli_session_left_ms(const struct cli_session *s)
{
	uint64_t now = time_mono_ms();

	return now >= s->deadline_ms ? 0 : s->deadline_ms - now;
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct cli_session *s = arg;

	(void)fd;
	(void)what;
	if (time_mono_ms() >= s->until_ms ||
	    (s->cond != NULL && s->cond(s, s->cond_ctx)))
		event_base_loopbreak(s->base);
}

/* Run the loop until cond holds or wait_ms passes (bounded by the
 * deadline). Returns 0 when cond held. */
int
cli_session_run_until(struct cli_session *s,
    bool (*cond)(struct cli_session *, void *), void *ctx, uint64_t wait_ms)
{
	uint64_t now = time_mono_ms();
	struct timeval tv = { 0, TICK_MS * 1000 };
	bool held;

	if (cond != NULL && cond(s, ctx))
		return 0;
	s->until_ms = s->deadline_ms;
	if (wait_ms != 0 && now + wait_ms < s->until_ms)
		s->until_ms = now + wait_ms;
	if (now >= s->until_ms)
		return -1;
	s->cond = cond;
	s->cond_ctx = ctx;
	dht_node_kick(s->node);
	if (event_add(s->tick, &tv) != 0)
		return -1;
	if (event_base_dispatch(s->base) < 0)
		log_warn("event loop failed");
	event_del(s->tick);
	held = cond != NULL && cond(s, ctx);
	s->cond = NULL;
	s->cond_ctx = NULL;
	return held ? 0 : -1;
}

static bool
flag_set(struct cli_session *s, void *ctx)
{
	(void)s;
	return *(const bool *)ctx;
}

int
cli_session_run(struct cli_session *s, const bool *flag, uint64_t wait_ms)
{
	return cli_session_run_until(s, flag ? flag_set : NULL, (void *)(uintptr_t)flag,
	    wait_ms);
}

size_t
cli_session_table_size(struct cli_session *s)
{
	struct dht_info info;

	dht_get_info(cli_session_dht(s), cli_session_now(s), &info);
	return info.nodes4 + info.nodes6;
}

/* Start a look-up once the routing table holds want nodes, or holds
 * some and GRACE_MS passed: a look-up learns nodes from every reply, so
 * a few to start from is enough, and the node fills its table from the
 * bootstrap nodes only as fast as its own refresh timers go. */
#define GRACE_MS 500

struct min_nodes {
	size_t want;
	uint64_t start_ms;
};

static bool
enough_nodes(struct cli_session *s, void *ctx)
{
	const struct min_nodes *mn = ctx;
	size_t n = cli_session_table_size(s);

	log_debug("routing table: %zu nodes", n);
	return n >= mn->want ||
	    (n > 0 && time_mono_ms() - mn->start_ms >= GRACE_MS);
}

static bool
is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)ss;

		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)ss;

		return IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
	}
	return false;
}

/* Addresses of one HOST:PORT (a literal, or a name through getaddrinfo:
 * the CLI is no system resolver, so the OS resolver is fine here).
 * Returns how many were added to out, -1 when the name does not
 * resolve, -2 when hp is not HOST:PORT. */
int
cli_resolve_hostport(const char *hp, struct sockaddr_storage *out,
    socklen_t *outlen, size_t cap)
{
	struct addrinfo hints, *res = NULL, *ai;
	char host[256];
	const char *colon;
	int n = 0, e;

	if (cap == 0)
		return -1;
	if (netaddr_parse(hp, 6881, &out[0], &outlen[0]) == 0)
		return 1;
	if (cli_split_hostport(hp, host, sizeof(host), NULL) != 0) {
		fprintf(stderr, "pkdns-cli: '%s' is not HOST:PORT\n", hp);
		return -2;
	}
	colon = strrchr(hp, ':');
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICSERV;
	e = getaddrinfo(host, colon + 1, &hints, &res);
	if (e != 0) {
		fprintf(stderr, "pkdns-cli: warning: %s: %s\n", hp,
		    gai_strerror(e));
		return -1;
	}
	for (ai = res; ai != NULL && (size_t)n < cap && n < ADDRS_PER_NAME;
	     ai = ai->ai_next) {
		if (ai->ai_addrlen > sizeof(out[0]))
			continue;
		memcpy(&out[n], ai->ai_addr, ai->ai_addrlen);
		outlen[n] = (socklen_t)ai->ai_addrlen;
		n++;
	}
	freeaddrinfo(res);
	return n > 0 ? n : -1;
}

struct boot_list {
	struct sockaddr_storage a[MAX_ADDRS];
	socklen_t len[MAX_ADDRS];
	size_t n;
};

static void
collect_bootstrap(const struct cli_opts *o, struct boot_list *b)
{
	char testnet[32];
	const char *names[CLI_MAX_BOOTSTRAP + 4];
	size_t nn = 0;

	for (size_t i = 0; i < o->nbootstrap; i++)
		names[nn++] = o->bootstrap[i];
	if (o->testnet) {
		snprintf(testnet, sizeof(testnet), "127.0.0.1:%u",
		    (unsigned)o->testnet_port);
		names[nn++] = testnet;
	}
	if (nn == 0)
		for (size_t i = 0; i < 4; i++)
			names[nn++] = default_bootstrap[i];
	b->n = 0;
	for (size_t i = 0; i < nn; i++) {
		int got = cli_resolve_hostport(names[i], &b->a[b->n], &b->len[b->n],
		    MAX_ADDRS - b->n);

		if (got > 0)
			b->n += (size_t)got;
	}
}

struct cli_session *
cli_session_start(const struct cli_opts *o, size_t min_nodes, uint64_t wait_ms)
{
	struct cli_session *s;
	struct boot_list *b;
	struct dht_config cfg;
	struct sockaddr_storage bind_ss;
	socklen_t bind_len;
	struct min_nodes mn = { min_nodes, time_mono_ms() };
	int family = AF_INET6;
	bool all_loop = true;
	size_t used = 0;
	char abuf[NETADDR_STRLEN];

	s = calloc(1, sizeof(*s));
	b = calloc(1, sizeof(*b));
	if (s == NULL || b == NULL) {
		fprintf(stderr, "pkdns-cli: out of memory\n");
		goto fail;
	}
	s->deadline_ms = time_mono_ms() + o->timeout_ms;
	collect_bootstrap(o, b);
	if (b->n == 0) {
		fprintf(stderr, "pkdns-cli: no usable bootstrap node\n");
		goto fail;
	}
	/* One socket, one family: IPv4 when any bootstrap node has it,
	 * since that is where nearly all of the Mainline DHT lives. */
	for (size_t i = 0; i < b->n; i++)
		if (b->a[i].ss_family == AF_INET)
			family = AF_INET;
	for (size_t i = 0; i < b->n; i++)
		if (b->a[i].ss_family == family && !is_loopback(&b->a[i]))
			all_loop = false;
	memset(&bind_ss, 0, sizeof(bind_ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&bind_ss;

		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr =
		    htonl(all_loop ? INADDR_LOOPBACK : INADDR_ANY);
		bind_len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&bind_ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = all_loop ? in6addr_loopback : in6addr_any;
		bind_len = sizeof(*sin6);
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.mode = DHT_MODE_CLIENT;
	/* Replicate to the 20 closest nodes, as the Rust mainline crate
	 * does: a record needs >= 10 replicas to survive a day of churn. */
	cfg.k = CLI_DHT_K;
	cfg.loopback_testnet = all_loop;
	s->base = event_base_new();
	if (s->base == NULL) {
		fprintf(stderr, "pkdns-cli: cannot create the event loop\n");
		goto fail;
	}
	s->tick = event_new(s->base, -1, EV_PERSIST, on_tick, s);
	if (s->tick == NULL) {
		fprintf(stderr, "pkdns-cli: out of memory\n");
		goto fail;
	}
	s->node = dht_node_new(s->base, (struct sockaddr *)&bind_ss, bind_len,
	    &cfg);
	if (s->node == NULL) {
		fprintf(stderr, "pkdns-cli: cannot start a DHT node on %s\n",
		    netaddr_str((struct sockaddr *)&bind_ss, abuf, sizeof(abuf)));
		goto fail;
	}
	for (size_t i = 0; i < b->n; i++) {
		netaddr_str((struct sockaddr *)&b->a[i], abuf, sizeof(abuf));
		if (b->a[i].ss_family != family) {
			log_debug("bootstrap %s skipped: other address family",
			    abuf);
			continue;
		}
		if (dht_add_bootstrap(cli_session_dht(s),
			(struct sockaddr *)&b->a[i], b->len[i]) < 0) {
			log_warn("bootstrap %s refused", abuf);
			continue;
		}
		log_info("bootstrap from %s", abuf);
		used++;
	}
	if (used == 0) {
		fprintf(stderr, "pkdns-cli: no usable bootstrap node\n");
		goto fail;
	}
	free(b);
	b = NULL;
	if (min_nodes > 0 && cli_session_run_until(s, enough_nodes, &mn, wait_ms) != 0)
		log_info("starting with %zu nodes in the routing table",
		    cli_session_table_size(s));
	if (cli_session_table_size(s) == 0) {
		fprintf(stderr,
		    "pkdns-cli: no DHT node answered the bootstrap nodes\n");
		goto fail;
	}
	return s;
fail:
	free(b);
	cli_session_free(s);
	return NULL;
}

void
cli_session_free(struct cli_session *s)
{
	if (s == NULL)
		return;
	if (s->node != NULL)
		dht_node_free(s->node);
	if (s->tick != NULL)
		event_free(s->tick);
	if (s->base != NULL)
		event_base_free(s->base);
	free(s);
}

/* Names of the KRPC error codes of BEP 5 and BEP 44. */
static const char *
krpc_error_name(int code)
{
	switch (code) {
	case 201: return "generic error";
	case 202: return "server error";
	case 203: return "protocol error";
	case 204: return "method unknown";
	case 205: return "value too big";
	case 206: return "invalid signature";
	case 207: return "salt too big";
	case 301: return "CAS mismatch";
	case 302: return "sequence number older than the stored one";
	default: return "unknown error";
	}
}

void
cli_print_stats(const char *what, const struct dht_lookup_stats *st)
{
	fprintf(stderr,
	    "%s: %u nodes queried, %u responses, %u timeouts, %u values",
	    what, st->queried, st->responses, st->timeouts, st->values);
	if (st->first_value_ms >= 0)
		fprintf(stderr, " (first after %" PRId64 " ms)",
		    st->first_value_ms);
	if (st->stored > 0 || st->put_errors > 0)
		fprintf(stderr, ", stored on %u, %u errors", st->stored,
		    st->put_errors);
	if (st->last_error != 0)
		fprintf(stderr, " (last error %d: %s)", st->last_error,
		    krpc_error_name(st->last_error));
	fprintf(stderr, ", %" PRIu64 " ms\n", st->elapsed_ms);
}
