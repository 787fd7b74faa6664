/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_pkarr_resolver.c -- the resolver through its header alone
 * (pkarr/resolver.h; packet.h and zone.h only make signed packets), over
 * an in-process DHT testnet on loopback that a first resolver starts
 * (testnet config) and the others bootstrap from:
 * - a published key: a get misses, its callback runs later, from the
 *   loop, never inside the call, with the packet;
 * - coalescing: N gets of one key start one look-up, every one answered;
 * - a key nobody published: NONE, then NONE at once (negative entry);
 * - cancel: a cancelled get's callback never runs, the other's does;
 * - put then get: answered from the cache at once;
 * - reconfigure: a lower max_ttl shortens the freshness of packets
 *   stored from then on;
 * - no DHT and no relay: UNREACHABLE at once;
 * - pkarr_neg_ttl(), the negative TTL shared with the daemon's answers;
 * - pkarr_dht_item(): a packet as its BEP 44 item, and back.
 * Every wait is bounded by an event_base_loopexit.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "dht/dht.h"
#include "pkarr/packet.h"
#include "pkarr/resolver.h"
#include "pkarr/zone.h"
#include "pkarr_testutil.h"
#include "tap.h"

#define TESTNET_NODES 8
#define WAIT_S 20              /* the longest any wait may take */
#define N_COALESCE 5

static struct event_base *base;

/* A packet for seed byte s: "@ ttl A addr", dated now. */
static int
make(struct pkarr_packet *pkt, uint8_t s, uint32_t ttl, const char *addr)
{
	uint8_t seed[32] = { 0 };
	char zone[128];
	struct timespec ts;

	seed[0] = s;
	seed[1] = 0xa5;
	snprintf(zone, sizeof(zone), "@ %u A %s\n", ttl, addr);
	clock_gettime(CLOCK_REALTIME, &ts);
	return tu_zone_packet(pkt, seed,
	    (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u, zone, NULL);
}

static void
base_config(struct pkarr_resolver_config *c)
{
	memset(c, 0, sizeof(*c));
	c->packet_cache_size = 1 << 20;
	c->min_ttl = 60;
	c->max_ttl = 86400;
	c->dht_mode = PKARR_RESOLVER_DHT_CLIENT;
}

/* ---- waiting on the loop ---------------------------------------------------- */

struct got {
	int calls;
	int rc;
	bool in_call;                  /* the callback ran inside the get */
	uint64_t seq;
	int *in_progress;
};

static void
on_got(void *ctx, const struct pkarr_resolver_result *res)
{
	struct got *g = ctx;

	g->calls++;
	g->rc = res->rc;
	if (g->in_progress && *g->in_progress)
		g->in_call = true;
	if (res->rc == PKARR_RESOLVER_FOUND && res->pkt)
		g->seq = res->pkt->ts_us;
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	event_base_loopbreak(base);
}

/* Run the loop for one 50 ms step. */
static void
step(void)
{
	struct timeval tv = { 0, 50000 };

	event_base_once(base, -1, EV_TIMEOUT, on_tick, NULL, &tv);
	event_base_dispatch(base);
}

/* Run the loop in 50 ms steps until *done >= want or WAIT_S passed.
 * @return true when done */
static bool
run_until(const int *done, int want)
{
	for (int i = 0; i < WAIT_S * 20 && *done < want; i++)
		step();
	return *done >= want;
}

struct put_wait {
	int done;
	unsigned stored;
};

static void
on_put(void *ctx, unsigned stored)
{
	struct put_wait *w = ctx;

	w->done++;
	w->stored = stored;
}

/* Put pkt on the testnet through r, retrying while r knows no node yet.
 * @return the nodes that stored it */
static unsigned
publish(struct pkarr_resolver *r, const struct pkarr_packet *pkt)
{
	struct put_wait w = { 0, 0 };
	int rc = pkarr_resolver_put(r, pkt, on_put, &w);

	for (int i = 0; i < WAIT_S * 20 && rc == PKARR_RESOLVER_UNREACHABLE; i++) {
		step();
		rc = pkarr_resolver_republish(r, pkt->pk, on_put, &w);
	}
	if (rc != PKARR_RESOLVER_PENDING || !run_until(&w.done, 1))
		return 0;
	return w.stored;
}

/* A resolver that bootstraps from the testnet at port. */
static struct pkarr_resolver *
client(uint16_t port)
{
	struct pkarr_resolver_config c;
	char spec[32];
	const char *boot[1] = { spec };

	base_config(&c);
	snprintf(spec, sizeof(spec), "127.0.0.1:%u", port);
	c.bootstrap = boot;
	c.n_bootstrap = 1;
	return pkarr_resolver_new(base, &c, NULL);
}

int
main(void)
{
	struct pkarr_resolver_config c;
	struct pkarr_resolver *owner = NULL, *r1, *r2;
	struct pkarr_resolver_stats st;
	struct pkarr_resolver_entry e;
	struct pkarr_packet pkt, pkt2, out;
	struct got g, gs[N_COALESCE];
	struct pkarr_get *h1, *h2;
	uint16_t port = 0;
	bool stale = true;
	int in_progress, rc, done;

	/* the negative TTL the resolver and the daemon's answers share */
	is_int(pkarr_neg_ttl(0), 1, "negative TTL: min-ttl 0 gives 1 s");
	is_int(pkarr_neg_ttl(60), 60, "negative TTL: min-ttl 60 gives 60 s");
	is_int(pkarr_neg_ttl(86400), PKARR_NEG_TTL_MAX, "negative TTL: at most %d s",
	    PKARR_NEG_TTL_MAX);

	/* a packet as its DHT item, and back (as a DHT get hands it over) */
	{
		struct dht_item *it = malloc(sizeof(*it));
		struct pkarr_packet back;

		if (!it)
			return 1;
		ok(make(&pkt, 9, 300, "127.0.0.9") == 0, "item: packet signed");
		memset(it, 0xa5, sizeof(*it));
		pkarr_dht_item(it, &pkt);
		ok(it->is_mutable && it->salt_len == 0 && it->seq == (int64_t)pkt.ts_us &&
		       it->v_len == pkt.dns_len, "item: mutable, no salt, seq = timestamp");
		ok(pkarr_packet_from_verified_bep44(&back, it->k, it->seq, it->v, it->v_len,
		       it->sig) == 0 && memcmp(back.pk, pkt.pk, 32) == 0 &&
		       memcmp(back.sig, pkt.sig, 64) == 0 && back.dns_len == pkt.dns_len &&
		       memcmp(back.dns, pkt.dns, pkt.dns_len) == 0,
		    "item: read back as the same packet");
		ok(pkarr_packet_verify(&back) == 0, "item: its signature verifies");
		free(it);
	}

	base = event_base_new();
	if (!base)
		return 1;

	/* no DHT, no relay: nothing to ask */
	base_config(&c);
	c.dht_mode = PKARR_RESOLVER_DHT_OFF;
	r1 = pkarr_resolver_new(base, &c, NULL);
	ok(r1 != NULL, "a resolver without a DHT starts");
	ok(make(&pkt, 1, 300, "127.0.0.1") == 0, "packet signed");
	is_int(pkarr_resolver_get(r1, pkt.pk, NULL, on_got, &g, &out, NULL, NULL),
	    PKARR_RESOLVER_UNREACHABLE, "no DHT and no relay: UNREACHABLE at once");
	pkarr_resolver_free(r1);

	/* the owner of the testnet; a few tries for a free range of ports */
	base_config(&c);
	c.testnet = TESTNET_NODES;
	for (int i = 0; i < 20 && !owner; i++) {
		port = (uint16_t)(20000 + (unsigned)(getpid() * 7 + i * 977) % 30000);
		c.testnet_port = port;
		owner = pkarr_resolver_new(base, &c, NULL);
	}
	ok(owner != NULL, "a resolver with a testnet of %d nodes at %u", TESTNET_NODES, port);
	if (!owner)
		return tap_done();

	/* put, then get from the cache at once */
	ok(publish(owner, &pkt) > 0, "put: stored on testnet nodes");
	rc = pkarr_resolver_get(owner, pkt.pk, NULL, on_got, &g, &out, &stale, NULL);
	is_int(rc, PKARR_RESOLVER_FOUND, "put then get: FOUND from the cache, at once");
	ok(rc == PKARR_RESOLVER_FOUND && out.ts_us == pkt.ts_us && !stale,
	    "...the packet put, fresh");

	/* a published key from another resolver: later, not inside the call */
	r1 = client(port);
	ok(r1 != NULL, "a client resolver bootstrapping from the testnet");
	memset(&g, 0, sizeof(g));
	g.in_progress = &in_progress;
	in_progress = 1;
	rc = pkarr_resolver_get(r1, pkt.pk, NULL, on_got, &g, &out, NULL, &h1);
	in_progress = 0;
	is_int(rc, PKARR_RESOLVER_PENDING, "a miss is PENDING");
	ok(h1 != NULL, "...with a handle");
	is_int(g.calls, 0, "...and no callback inside the call");
	ok(run_until(&g.calls, 1), "the callback comes from the loop");
	ok(!g.in_call, "...not inside the get");
	is_int(g.rc, PKARR_RESOLVER_FOUND, "...FOUND");
	ok(g.seq == pkt.ts_us, "...the published packet");
	is_int(pkarr_resolver_cached(r1, pkt.pk, &out, &e), PKARR_RESOLVER_FOUND,
	    "cached afterwards");
	ok(e.seq == pkt.ts_us && e.fresh_s > 0 && e.fresh_s <= 300, "...seq %llu, fresh %llu s",
	    (unsigned long long)e.seq, (unsigned long long)e.fresh_s);
	is_int(g.calls, 1, "one callback for one get");

	/* coalescing: N gets of one key, one look-up, N answers */
	ok(make(&pkt2, 2, 300, "127.0.0.2") == 0 && publish(owner, &pkt2) > 0, "second key published");
	r2 = client(port);
	ok(r2 != NULL, "a fresh client resolver");
	done = 0;
	for (int i = 0; i < N_COALESCE; i++) {
		memset(&gs[i], 0, sizeof(gs[i]));
		rc = pkarr_resolver_get(r2, pkt2.pk, NULL, on_got, &gs[i], &out, NULL, NULL);
		if (rc == PKARR_RESOLVER_PENDING)
			done++;
	}
	is_int(done, N_COALESCE, "%d gets of one key: all PENDING", N_COALESCE);
	pkarr_resolver_get_stats(r2, &st);
	is_int((int)st.lookups, 1, "...one look-up started");
	is_int((int)st.lookups_running, 1, "...one look-up running");
	{
		int answered = 0;
		for (int i = 0; i < WAIT_S * 20 && answered < N_COALESCE; i++) {
			step();
			answered = 0;
			for (int k = 0; k < N_COALESCE; k++)
				answered += gs[k].calls;
		}
		is_int(answered, N_COALESCE, "every get answered once");
		done = 0;
		for (int k = 0; k < N_COALESCE; k++)
			done += gs[k].rc == PKARR_RESOLVER_FOUND && gs[k].seq == pkt2.ts_us;
		is_int(done, N_COALESCE, "...each with the packet");
	}

	/* a key nobody published: NONE, then NONE at once */
	{
		struct pkarr_packet nobody;
		ok(make(&nobody, 3, 300, "127.0.0.3") == 0, "an unpublished key");
		memset(&g, 0, sizeof(g));
		rc = pkarr_resolver_get(r2, nobody.pk, NULL, on_got, &g, &out, NULL, NULL);
		is_int(rc, PKARR_RESOLVER_PENDING, "its get is PENDING");
		ok(run_until(&g.calls, 1), "...answered when the look-up ends");
		is_int(g.rc, PKARR_RESOLVER_NONE, "...NONE");
		is_int(pkarr_resolver_get(r2, nobody.pk, NULL, on_got, &g, &out, NULL, NULL),
		    PKARR_RESOLVER_NONE, "asked again: NONE at once (negative entry)");
		is_int(g.calls, 1, "...no callback");
	}

	/* cancel: of two gets, the cancelled one never calls back */
	{
		struct pkarr_packet pkt4;
		struct got a, b;
		memset(&a, 0, sizeof(a));
		memset(&b, 0, sizeof(b));
		ok(make(&pkt4, 4, 300, "127.0.0.4") == 0 && publish(owner, &pkt4) > 0,
		    "third key published");
		rc = pkarr_resolver_get(r2, pkt4.pk, NULL, on_got, &a, &out, NULL, &h1);
		is_int(rc, PKARR_RESOLVER_PENDING, "get a PENDING");
		rc = pkarr_resolver_get(r2, pkt4.pk, NULL, on_got, &b, &out, NULL, &h2);
		is_int(rc, PKARR_RESOLVER_PENDING, "get b PENDING");
		pkarr_resolver_cancel(r2, h1);
		ok(run_until(&b.calls, 1), "b answered");
		is_int(b.rc, PKARR_RESOLVER_FOUND, "...FOUND");
		{
			struct timeval tv = { 0, 300000 };
			event_base_loopexit(base, &tv);
			event_base_dispatch(base);
		}
		is_int(a.calls, 0, "the cancelled get a never called back");
	}

	/* reconfigure: a lower max_ttl shortens freshness of what is stored next */
	{
		struct pkarr_packet pkt5;
		ok(make(&pkt5, 5, 3600, "127.0.0.5") == 0, "a packet with TTL 3600");
		rc = pkarr_resolver_put(r2, &pkt5, NULL, NULL);
		ok(rc == PKARR_RESOLVER_PENDING || rc == PKARR_RESOLVER_UNREACHABLE, "put (rc %d)", rc);
		is_int(pkarr_resolver_cached(r2, pkt5.pk, NULL, &e), PKARR_RESOLVER_FOUND, "cached");
		ok(e.fresh_s > 3000 && e.fresh_s <= 3600, "max_ttl 86400: fresh for %llu s",
		    (unsigned long long)e.fresh_s);
		base_config(&c);
		c.max_ttl = 60;
		pkarr_resolver_reconfigure(r2, &c);
		is_int(pkarr_resolver_flush(r2, pkt5.pk), 0, "flushed");
		is_int(pkarr_resolver_cached(r2, pkt5.pk, NULL, NULL), PKARR_RESOLVER_MISS,
		    "...gone");
		rc = pkarr_resolver_put(r2, &pkt5, NULL, NULL);
		ok(rc == PKARR_RESOLVER_PENDING || rc == PKARR_RESOLVER_UNREACHABLE, "put again");
		is_int(pkarr_resolver_cached(r2, pkt5.pk, NULL, &e), PKARR_RESOLVER_FOUND, "cached");
		ok(e.fresh_s > 0 && e.fresh_s <= 60, "after reconfigure (max_ttl 60): fresh for %llu s",
		    (unsigned long long)e.fresh_s);
	}

	pkarr_resolver_free(r2);
	pkarr_resolver_free(r1);
	pkarr_resolver_free(owner);
	event_base_free(base);
	return tap_done();
}
