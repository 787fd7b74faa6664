/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_dht_lookup.c -- the bounds of one DHT look-up against hostile
 * responders (deadline, query budget, every address asked once, per-reply
 * and per-subnet caps with the BEP 42 preference), look-up slots freed at
 * the deadline when transactions run out, the node's health verdict, and
 * the evidence adaptive mode needs before it turns server.
 *
 * Sans I/O: the node's send callback records each datagram and queues
 * the answer a scripted responder would give; a simulated clock delivers
 * it. The Sybil responder answers every get with 8 fresh nodes whose IDs
 * are closer to the target than any before (issue 10, item 4). A value
 * above the look-up's max_seq is not reported but counted (too_new).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "dht/dht.h"
#include "dht/dht_util.h"
#include "dht/krpc.h"
#include "tap.h"

enum policy {
	P_SYBIL = 1,   /* every 198.18.0.0/15 address answers with 8 closer nodes */
	P_ONE_REPLY,   /* only the first bootstrap node answers, with sim.script */
	P_SILENT,      /* nobody answers */
	P_BOOT_ANSWERS, /* the bootstrap node answers, naming nobody */
	P_VALUE,       /* the bootstrap node answers get with sim.vseq's value */
	P_NET,         /* sim.net's nodes answer after their own delays */
};

/* P_NET: a few nodes with fixed IDs, each with its own delay. */
#define NET_MAX 8
struct net_node {
	struct dht_addr addr;
	uint8_t id[20];
	uint64_t delay;
	bool silent;
	bool holds; /* answers get with the value (sim.vpk, sim.vseq) */
};

#define MAX_REC 8192
#define MAX_PEND 4096

struct pend {
	uint64_t at;
	struct sockaddr_storage from;
	socklen_t fromlen;
	uint8_t buf[1500];
	size_t len;
};

static struct {
	struct dht *d;
	uint64_t now;
	enum policy policy;
	uint64_t rtt;
	/* every get / find_node sent: destination and how often */
	struct dht_addr dst[MAX_REC];
	int count[MAX_REC];
	size_t ndst;
	unsigned gets, find_nodes, pings;
	unsigned depth, fresh;
	struct pend pend[MAX_PEND];
	size_t npend;
	/* P_ONE_REPLY: the nodes the bootstrap node names */
	uint8_t script[64 * DHT_COMPACT_NODE4];
	size_t script_len;
	struct dht_addr boot;
	int done;
	struct dht_lookup_stats st;
	uint64_t max_elapsed;
	/* the token of the last reply the node sent */
	uint8_t token[32];
	size_t token_len;
	/* P_VALUE: the key, the value's seq, a signature that fails */
	uint8_t vpk[32], vsk[64];
	int64_t vseq;
	bool vbadsig;
	unsigned nvalues; /* values reported to on_value */
	struct net_node net[NET_MAX];
	int nnet;
	const uint8_t *fixed_id; /* replies and query_from use this ID */
	bool net_named;          /* P_NET replies name every net node */
	uint64_t get_at[64];     /* when each get went out */
	unsigned nget_at;
} sim;

static void
fresh_addr(struct dht_addr *a)
{
	unsigned c = sim.fresh++;

	/* a different /24 each time (198.18.0.0/15 has 512 of them) */
	memset(a, 0, sizeof(*a));
	a->family = 4;
	a->ip[0] = 198;
	a->ip[1] = (uint8_t)(18 + (c / 256) % 2);
	a->ip[2] = (uint8_t)(c % 256);
	a->ip[3] = (uint8_t)(1 + (c / 512) % 250);
	a->port = 6881;
}

static bool
is_sybil(const struct dht_addr *a)
{
	return a->family == 4 && a->ip[0] == 198 && (a->ip[1] == 18 || a->ip[1] == 19);
}

/* An ID closer to target than any given before: the target with bit
 * `depth` flipped and random bits after it. */
static void
closer_id(const uint8_t target[20], uint8_t id[20])
{
	unsigned bit = sim.depth < 150 ? sim.depth : 150;

	randombytes_buf(id, 20);
	for (unsigned i = 0; i < bit / 8; i++)
		id[i] = target[i];
	id[bit / 8] = (uint8_t)((target[bit / 8] & (0xff00 >> (bit % 8))) |
	    (~target[bit / 8] & (0x80 >> (bit % 8))) | (id[bit / 8] & (0xff >> (bit % 8 + 1))));
	if (sim.depth < 150)
		sim.depth++;
}

static void
record(const struct dht_addr *to)
{
	for (size_t i = 0; i < sim.ndst; i++)
		if (dht_addr_eq(&sim.dst[i], to)) {
			sim.count[i]++;
			return;
		}
	if (sim.ndst < MAX_REC) {
		sim.dst[sim.ndst] = *to;
		sim.count[sim.ndst++] = 1;
	}
}

static void
queue_reply(const struct krpc_msg *q, const struct dht_addr *from, const uint8_t *nodes,
	size_t nodes_len)
{
	static const uint8_t v[] = "5:hello";
	struct krpc_response r;
	uint8_t id[20], sig[64], signable[128];
	struct pend *p;
	int n;

	if (sim.npend >= MAX_PEND)
		return;
	p = &sim.pend[sim.npend];
	randombytes_buf(id, sizeof(id));
	if (sim.fixed_id)
		memcpy(id, sim.fixed_id, 20);
	memset(&r, 0, sizeof(r));
	r.t = q->t.p;
	r.t_len = q->t.n;
	r.id = id;
	r.nodes = nodes;
	r.nodes_len = nodes_len;
	r.token = (const uint8_t *)"tok1";
	r.token_len = 4;
	if ((sim.policy == P_VALUE || (sim.policy == P_NET && sim.fixed_id && sim.vseq > 0)) &&
	    q->method == KRPC_M_GET) {
		n = dht_signable_raw(signable, sizeof(signable), NULL, 0, sim.vseq, v,
			sizeof(v) - 1);
		if (n < 0)
			return;
		crypto_sign_detached(sig, NULL, signable, (unsigned long long)n, sim.vsk);
		if (sim.vbadsig)
			sig[0] ^= 1;
		r.k = sim.vpk;
		r.sig = sig;
		r.has_seq = true;
		r.seq = sim.vseq;
		r.value = v;
		r.value_len = sizeof(v) - 1;
	}
	n = krpc_build_response(p->buf, sizeof(p->buf), &r);
	if (n < 0)
		return;
	p->len = (size_t)n;
	p->fromlen = dht_addr_to_sockaddr(from, &p->from);
	p->at = sim.now + sim.rtt;
	sim.npend++;
}

static int
sim_send(void *ctx, const uint8_t *buf, size_t len, const struct sockaddr *to, socklen_t tl)
{
	struct krpc_msg m;
	struct dht_addr a;
	uint8_t nodes[8 * DHT_COMPACT_NODE4];

	(void)ctx;
	if (krpc_parse(buf, len, &m) == 0 && m.y == 'r' && m.token.p &&
	    m.token.n <= sizeof(sim.token)) {
		memcpy(sim.token, m.token.p, m.token.n);
		sim.token_len = m.token.n;
	}
	if (krpc_parse(buf, len, &m) != 0 || m.y != 'q' || dht_addr_from_sockaddr(to, tl, &a) < 0)
		return 0;
	if (m.method == KRPC_M_PING)
		sim.pings++;
	if (m.method == KRPC_M_GET || m.method == KRPC_M_FIND_NODE) {
		record(&a);
		if (m.method == KRPC_M_GET) {
			if (sim.nget_at < 64)
				sim.get_at[sim.nget_at++] = sim.now;
			sim.gets++;
		}
		else
			sim.find_nodes++;
	}
	switch (sim.policy) {
	case P_SYBIL:
		if (!is_sybil(&a) || m.target == NULL)
			return 0;
		for (int i = 0; i < 8; i++) {
			struct dht_addr na;
			closer_id(m.target, nodes + i * DHT_COMPACT_NODE4);
			fresh_addr(&na);
			dht_addr_compact(&na, nodes + i * DHT_COMPACT_NODE4 + 20);
		}
		queue_reply(&m, &a, nodes, sizeof(nodes));
		break;
	case P_ONE_REPLY:
		if (dht_addr_eq(&a, &sim.boot) && m.method == KRPC_M_GET)
			queue_reply(&m, &a, sim.script, sim.script_len);
		break;
	case P_BOOT_ANSWERS:
	case P_VALUE:
		if (dht_addr_eq(&a, &sim.boot))
			queue_reply(&m, &a, NULL, 0);
		break;
	case P_SILENT:
		break;
	case P_NET:
		for (int i = 0; i < sim.nnet; i++) {
			struct net_node *nn = &sim.net[i];
			uint64_t keep = sim.rtt;
			int64_t vseq = sim.vseq;
			if (!dht_addr_eq(&a, &nn->addr) || nn->silent)
				continue;
			sim.rtt = nn->delay;
			sim.fixed_id = nn->id;
			if (!nn->holds)
				sim.vseq = 0;
			if (sim.net_named) {
				uint8_t all[NET_MAX * DHT_COMPACT_NODE4];
				for (int j = 0; j < sim.nnet; j++) {
					memcpy(all + j * DHT_COMPACT_NODE4, sim.net[j].id, 20);
					dht_addr_compact(&sim.net[j].addr,
					    all + j * DHT_COMPACT_NODE4 + 20);
				}
				queue_reply(&m, &a, all, (size_t)sim.nnet * DHT_COMPACT_NODE4);
			} else {
				queue_reply(&m, &a, NULL, 0);
			}
			sim.vseq = vseq;
			sim.fixed_id = NULL;
			sim.rtt = keep;
		}
		break;
	}
	return 0;
}

static void
on_done(void *ctx, const struct dht_lookup_stats *st)
{
	(void)ctx;
	sim.done++;
	sim.st = *st;
	if (st->elapsed_ms > sim.max_elapsed)
		sim.max_elapsed = st->elapsed_ms;
}

static void
on_value(void *ctx, const struct dht_item *it)
{
	(void)ctx, (void)it;
	sim.nvalues++;
}

/* Advance the clock to `until` in `tick` steps, delivering due replies;
 * stops early once `want_done` look-ups ended (0: never). */
static void
run(uint64_t until, uint64_t tick, int want_done)
{
	while (sim.now < until && (want_done == 0 || sim.done < want_done)) {
		size_t keep = 0, n = sim.npend;
		for (size_t i = 0; i < n; i++) {
			struct pend p;
			if (sim.pend[i].at > sim.now) {
				sim.pend[keep++] = sim.pend[i];
				continue;
			}
			p = sim.pend[i];
			/* replies queued while delivering land after `n` */
			dht_input(sim.d, p.buf, p.len, (struct sockaddr *)&p.from, p.fromlen, sim.now);
		}
		/* keep what arrived during delivery, too */
		memmove(&sim.pend[keep], &sim.pend[n], (sim.npend - n) * sizeof(sim.pend[0]));
		sim.npend = keep + (sim.npend - n);
		dht_periodic(sim.d, sim.now);
		sim.now += tick;
	}
}

static void
sim_new(struct dht_config *cfg, enum policy pol, uint64_t rtt)
{
	memset(&sim, 0, sizeof(sim));
	sim.now = 1000;
	sim.policy = pol;
	sim.rtt = rtt;
	cfg->send = sim_send;
	cfg->mode = DHT_MODE_CLIENT;
	sim.d = dht_new(cfg, sim.now);
}

/* sim_new with silent peers (rtt 5), the DHT remade in another mode. */
static void
sim_new_mode(struct dht_config *cfg, enum dht_mode mode)
{
	memset(cfg, 0, sizeof(*cfg));
	sim_new(cfg, P_SILENT, 5);
	dht_free(sim.d);
	cfg->mode = mode;
	sim.d = dht_new(cfg, sim.now);
}

static void
add_boot(const struct dht_addr *a)
{
	struct sockaddr_storage ss;
	socklen_t sl = dht_addr_to_sockaddr(a, &ss);

	dht_add_bootstrap(sim.d, (struct sockaddr *)&ss, sl);
}

static int
max_count(void)
{
	int m = 0;

	for (size_t i = 0; i < sim.ndst; i++)
		if (sim.count[i] > m)
			m = sim.count[i];
	return m;
}

static uint32_t
start_get(void)
{
	uint8_t k[32];

	randombytes_buf(k, sizeof(k));
	return dht_get_mutable(sim.d, k, NULL, 0, 0, on_value, on_done, NULL, sim.now);
}

/* A Sybil chain that answers at once: the query budget ends it. */
static void
test_budget(void)
{
	struct dht_config cfg;
	struct dht_addr b;

	memset(&cfg, 0, sizeof(cfg));
	cfg.lookup_budget = 40;
	cfg.lookup_deadline_ms = 600000;
	sim_new(&cfg, P_SYBIL, 5);
	fresh_addr(&b);
	add_boot(&b);
	run(sim.now + 200, 10, 0); /* the bootstrap find_node and its fallout */
	sim.ndst = 0;
	sim.gets = 0;
	ok(start_get() != 0, "budget: get started against a Sybil chain");
	run(sim.now + 120000, 10, 1);
	is_int(sim.done, 1, "budget: the look-up ended");
	ok(sim.st.budget_spent && !sim.st.deadline, "budget: ... because its budget was spent");
	ok(sim.gets <= 40 && sim.st.queried <= 40,
		"budget: %u gets sent, %u counted, budget 40", sim.gets, sim.st.queried);
	ok(sim.st.elapsed_ms < 5000, "budget: ... in %llu ms of simulated time",
		(unsigned long long)sim.st.elapsed_ms);
	is_int(max_count(), 1, "budget: no address asked twice");
	dht_free(sim.d);
}

/* A slow Sybil chain (a reply every 200 ms) with a large budget: the
 * deadline ends it. */
static void
test_deadline(void)
{
	struct dht_config cfg;
	struct dht_addr b;

	memset(&cfg, 0, sizeof(cfg));
	cfg.lookup_budget = 1024;
	cfg.lookup_deadline_ms = 5000;
	sim_new(&cfg, P_SYBIL, 200);
	fresh_addr(&b);
	add_boot(&b);
	ok(start_get() != 0, "deadline: get started against a slow Sybil chain");
	run(sim.now + 60000, 10, 1);
	is_int(sim.done, 1, "deadline: the look-up ended");
	ok(sim.st.deadline, "deadline: ... by its deadline");
	ok(sim.st.elapsed_ms >= 5000 && sim.st.elapsed_ms <= 5020,
		"deadline: ended after %llu ms (deadline 5000)", (unsigned long long)sim.st.elapsed_ms);
	ok(sim.st.queried < 1024 && sim.st.responses > 20,
		"deadline: %u queries, %u replies before it", sim.st.queried, sim.st.responses);
	dht_free(sim.d);
}

/* The Sybil names nodes it already made us ask, with ever closer IDs:
 * each address is still asked only once, even after it fell off the
 * sorted candidate list. */
static int
sim_send_recycle(void *ctx, const uint8_t *buf, size_t len, const struct sockaddr *to,
	socklen_t tl)
{
	struct krpc_msg m;
	struct dht_addr a;
	uint8_t nodes[8 * DHT_COMPACT_NODE4];

	(void)ctx;
	if (krpc_parse(buf, len, &m) != 0 || m.y != 'q' || dht_addr_from_sockaddr(to, tl, &a) < 0)
		return 0;
	if (m.method != KRPC_M_GET || m.target == NULL)
		return 0;
	record(&a);
	sim.gets++;
	for (int i = 0; i < 8; i++) {
		struct dht_addr na;
		closer_id(m.target, nodes + i * DHT_COMPACT_NODE4);
		/* half fresh, half the first addresses asked */
		if (i < 4 || sim.ndst <= (size_t)i)
			fresh_addr(&na);
		else
			na = sim.dst[i - 4];
		dht_addr_compact(&na, nodes + i * DHT_COMPACT_NODE4 + 20);
	}
	queue_reply(&m, &a, nodes, sizeof(nodes));
	return 0;
}

static void
test_recycle(void)
{
	struct dht_config cfg;
	struct dht_addr b;

	memset(&cfg, 0, sizeof(cfg));
	cfg.lookup_budget = 200;
	cfg.lookup_deadline_ms = 600000;
	sim_new(&cfg, P_SILENT, 5);
	dht_free(sim.d);
	cfg.send = sim_send_recycle;
	sim.d = dht_new(&cfg, sim.now);
	fresh_addr(&b);
	add_boot(&b);
	ok(start_get() != 0, "dedup: get started against a Sybil that names old addresses");
	run(sim.now + 120000, 10, 1);
	is_int(sim.done, 1, "dedup: the look-up ended");
	is_int(max_count(), 1, "dedup: every address asked once (%zu addresses, %u gets)",
		sim.ndst, sim.gets);
	ok(sim.st.refused > 0, "dedup: %u named nodes refused", sim.st.refused);
	dht_free(sim.d);
}

/* One node holding a value at seq vseq, a look-up that accepts seqs up
 * to max_seq (-1: no limit set): what reached on_value and the stats. */
static void
value_case(int64_t vseq, int64_t max_seq, bool badsig)
{
	struct dht_config cfg;
	uint32_t id;

	memset(&cfg, 0, sizeof(cfg));
	cfg.lookup_budget = 50;
	cfg.lookup_deadline_ms = 5000;
	sim_new(&cfg, P_VALUE, 5);
	crypto_sign_keypair(sim.vpk, sim.vsk);
	sim.vseq = vseq;
	sim.vbadsig = badsig;
	fresh_addr(&sim.boot);
	add_boot(&sim.boot);
	id = dht_get_mutable(sim.d, sim.vpk, NULL, 0, 0, on_value, on_done, NULL, sim.now);
	if (max_seq >= 0)
		(void)dht_lookup_max_seq(sim.d, id, max_seq);
	run(sim.now + 10000, 5, 1);
	dht_free(sim.d);
}

/* Values dated past max_seq (pkarr: more than 5 min ahead of the clock)
 * are not reported, but counted, so the caller can tell "nothing there"
 * from "only values it refused" (the clock may be the one behind). */
static void
test_too_new(void)
{
	value_case(500, 1000, false);
	is_int(sim.done, 1, "max_seq: look-up ended");
	is_int(sim.nvalues, 1, "max_seq: a value below it is reported");
	is_int(sim.st.too_new, 0, "max_seq: and not counted as too new");

	value_case(5000, 1000, false);
	is_int(sim.done, 1, "too new: look-up ended");
	is_int(sim.nvalues, 0, "too new: a value above max_seq is not reported");
	is_int(sim.st.values, 0, "too new: nor counted as a value");
	ok(sim.st.too_new > 0, "too new: counted in too_new (%u)", sim.st.too_new);

	value_case(5000, 1000, true);
	is_int(sim.nvalues, 0, "too new, bad signature: not reported");
	is_int(sim.st.too_new, 0, "too new, bad signature: not counted either");

	value_case(5000, -1, false);
	is_int(sim.nvalues, 1, "no max_seq: the value is reported");
	is_int(sim.st.too_new, 0, "no max_seq: nothing too new");
}

static void
script_node(size_t i, const struct dht_addr *a, const uint8_t id[20])
{
	memcpy(sim.script + i * DHT_COMPACT_NODE4, id, 20);
	dht_addr_compact(a, sim.script + i * DHT_COMPACT_NODE4 + 20);
	if ((i + 1) * DHT_COMPACT_NODE4 > sim.script_len)
		sim.script_len = (i + 1) * DHT_COMPACT_NODE4;
}

static size_t
asked_matching(bool (*match)(const struct dht_addr *))
{
	size_t n = 0;

	for (size_t i = 0; i < sim.ndst; i++)
		if (match(&sim.dst[i]))
			n++;
	return n;
}

static bool
in_test_net(const struct dht_addr *a)
{
	return a->family == 4 && a->ip[0] == 198 && a->ip[1] == 51 && a->ip[2] == 100;
}

static bool
in_loopback(const struct dht_addr *a)
{
	return a->family == 4 && a->ip[0] == 127;
}

static bool
in_fresh(const struct dht_addr *a)
{
	return is_sybil(a) && a->ip[2] != 255;
}

/* One reply naming 20 nodes (silent ones): 8 join the look-up. */
static void
test_per_reply(void)
{
	struct dht_config cfg;
	uint8_t id[20];

	memset(&cfg, 0, sizeof(cfg));
	sim_new(&cfg, P_ONE_REPLY, 5);
	memset(&sim.boot, 0, sizeof(sim.boot));
	sim.boot.family = 4;
	memcpy(sim.boot.ip, "\xc6\x12\xff\x01", 4); /* 198.18.255.1 */
	sim.boot.port = 6881;
	for (size_t i = 0; i < 20; i++) {
		struct dht_addr a;
		fresh_addr(&a);
		randombytes_buf(id, sizeof(id));
		script_node(i, &a, id);
	}
	add_boot(&sim.boot);
	ok(start_get() != 0, "per reply: get started");
	run(sim.now + 60000, 10, 1);
	is_int(sim.done, 1, "per reply: the look-up ended");
	is_int(asked_matching(in_fresh), 8, "per reply: 8 of the 20 nodes one reply named were asked");
	ok(sim.st.refused >= 12, "per reply: %u refused", sim.st.refused);
	dht_free(sim.d);
}

/* One reply naming 6 nodes of 198.51.100.0/24 with IDs that BEP 42 does
 * not allow there, then one with a valid ID, then 8 loopback nodes. */
static void
test_per_subnet(void)
{
	struct dht_config cfg;
	struct dht_addr a;
	uint8_t id[20], rnd[20];
	size_t i = 0;
	bool valid_asked = false;

	memset(&cfg, 0, sizeof(cfg));
	cfg.lookup_per_reply = 32;
	sim_new(&cfg, P_ONE_REPLY, 5);
	memset(&sim.boot, 0, sizeof(sim.boot));
	sim.boot.family = 4;
	memcpy(sim.boot.ip, "\xc6\x12\xff\x01", 4);
	sim.boot.port = 6881;
	memset(&a, 0, sizeof(a));
	a.family = 4;
	a.port = 6881;
	for (; i < 6; i++) {
		memcpy(a.ip, "\xc6\x33\x64", 3); /* 198.51.100.x */
		a.ip[3] = (uint8_t)(10 + i);
		do
			randombytes_buf(id, sizeof(id));
		while (dht_bep42_valid(&a, id));
		script_node(i, &a, id);
	}
	a.ip[3] = 99;
	randombytes_buf(rnd, sizeof(rnd));
	dht_bep42_make_id(&a, 5, rnd, id);
	ok(dht_bep42_valid(&a, id), "per subnet: a BEP 42-valid ID for 198.51.100.99");
	script_node(i++, &a, id);
	for (int j = 0; j < 8; j++, i++) {
		memcpy(a.ip, "\x7f\x00\x00", 3);
		a.ip[3] = (uint8_t)(2 + j);
		randombytes_buf(id, sizeof(id));
		script_node(i, &a, id);
	}
	add_boot(&sim.boot);
	ok(start_get() != 0, "per subnet: get started");
	run(sim.now + 60000, 10, 1);
	is_int(sim.done, 1, "per subnet: the look-up ended");
	is_int(asked_matching(in_test_net), 2, "per subnet: 2 of the 7 nodes of one /24 asked");
	for (size_t j = 0; j < sim.ndst; j++)
		if (in_test_net(&sim.dst[j]) && sim.dst[j].ip[3] == 99)
			valid_asked = true;
	ok(valid_asked, "per subnet: the BEP 42-valid one among them");
	is_int(asked_matching(in_loopback), 8, "per subnet: loopback is exempt (8 of 8 asked)");
	dht_free(sim.d);
}

/* 600 look-ups at once against bootstrap nodes that never answer: 1800
 * queries do not fit 1024 transactions, yet every look-up ends by its
 * deadline (a look-up that found no free transaction is retried, not
 * forgotten). */
static void
test_many(void)
{
	struct dht_config cfg;
	struct dht_addr b;
	int started = 0;

	memset(&cfg, 0, sizeof(cfg));
	cfg.lookup_deadline_ms = 12000;
	sim_new(&cfg, P_SILENT, 5);
	for (int i = 0; i < 3; i++) {
		fresh_addr(&b);
		add_boot(&b);
	}
	for (int i = 0; i < 600; i++)
		started += start_get() != 0;
	is_int(started, 600, "600 look-ups started");
	run(sim.now + 30000, 50, 600);
	is_int(sim.done, 600, "600 look-ups: every one ended");
	ok(sim.max_elapsed < 12000, "600 look-ups: the last after %llu ms, before the 12000 ms deadline",
		(unsigned long long)sim.max_elapsed);
	dht_free(sim.d);
}

/* Health: down when nobody answers, up when the bootstrap node does, a
 * find_node to it again on dht_rebootstrap(). */
static void
test_health(void)
{
	struct dht_config cfg;
	struct dht_info info;
	unsigned before;

	memset(&cfg, 0, sizeof(cfg));
	sim_new(&cfg, P_SILENT, 5);
	memset(&sim.boot, 0, sizeof(sim.boot));
	sim.boot.family = 4;
	memcpy(sim.boot.ip, "\xc6\x12\xff\x01", 4);
	sim.boot.port = 6881;
	add_boot(&sim.boot);
	dht_get_info(sim.d, sim.now, &info);
	is_int(info.health, DHT_HEALTH_STARTING, "health: starting");
	run(sim.now + 20000, 100, 0);
	dht_get_info(sim.d, sim.now, &info);
	is_int(info.health, DHT_HEALTH_DOWN, "health: down after 15 s without a reply");
	is_int(info.health_changes, 1, "health: one change so far");
	run(sim.now + 20000, 100, 0);
	dht_get_info(sim.d, sim.now, &info);
	is_int(info.health_changes, 1, "health: still one change 20 s later (said once)");
	sim.policy = P_BOOT_ANSWERS;
	before = sim.find_nodes;
	dht_rebootstrap(sim.d, sim.now);
	ok(sim.find_nodes > before, "health: dht_rebootstrap sends the bootstrap node a find_node");
	run(sim.now + 10000, 100, 0);
	dht_get_info(sim.d, sim.now, &info);
	is_int(info.health, DHT_HEALTH_UP, "health: up once the bootstrap node answers");
	is_int(info.health_changes, 2, "health: two changes");
	ok(info.nodes4 == 1, "health: the bootstrap node is in the table (%zu nodes)", info.nodes4);
	/* it stops answering while look-ups keep asking it: down again, and
	 * the node, bad by then, gets pinged again */
	sim.policy = P_SILENT;
	for (int i = 0; i < 12; i++) {
		start_get();
		run(sim.now + 4000, 100, 0);
	}
	dht_get_info(sim.d, sim.now, &info);
	is_int(info.health, DHT_HEALTH_DOWN, "health: down when every query times out for 30 s");
	is_int(info.health_changes, 3, "health: three changes");
	before = sim.find_nodes;
	sim.policy = P_BOOT_ANSWERS;
	run(sim.now + 12000, 100, 0);
	dht_get_info(sim.d, sim.now, &info);
	ok(sim.find_nodes > before, "health: the bootstrap node was asked again");
	is_int(info.health, DHT_HEALTH_UP, "health: up again once it answers");
	dht_free(sim.d);
}

/* Send the node one query from `from`. */
static void
query_from(const struct dht_addr *from, enum krpc_method method, const uint8_t *token,
	size_t token_len)
{
	struct krpc_query q;
	struct sockaddr_storage ss;
	socklen_t sl = dht_addr_to_sockaddr(from, &ss);
	uint8_t id[20], target[20], buf[512];
	int n;

	randombytes_buf(id, sizeof(id));
	if (sim.fixed_id)
		memcpy(id, sim.fixed_id, 20);
	randombytes_buf(target, sizeof(target));
	memset(&q, 0, sizeof(q));
	q.t = (const uint8_t *)"aa";
	q.t_len = 2;
	q.method = method;
	q.id = id;
	q.target = target;
	q.port = -1;
	if (method == KRPC_M_PUT) {
		q.token = token;
		q.token_len = token_len;
		q.value = (const uint8_t *)"5:hello";
		q.value_len = 7;
	}
	n = krpc_build_query(buf, sizeof(buf), &q);
	if (n > 0)
		dht_input(sim.d, buf, (size_t)n, (struct sockaddr *)&ss, sl, sim.now);
	sim.now += 10;
}

static bool
is_server(void)
{
	struct dht_info info;

	dht_get_info(sim.d, sim.now, &info);
	return info.server;
}

/* Adaptive mode (issue 10, item 11): unsolicited queries alone, which
 * anyone who reaches us can forge, do not make the node a server; three
 * public IPs that queried unasked and then presented the token we sent
 * them do. */
static void
test_adaptive(void)
{
	struct dht_config cfg;
	struct dht_addr pub[3], spoof, lan;
	uint8_t tok[3][32], lantok[32], bad[20];
	size_t toklen[3], lantoklen;

	sim_new_mode(&cfg, DHT_MODE_ADAPTIVE);
	memset(&spoof, 0, sizeof(spoof));
	spoof.family = 4;
	spoof.port = 6881;
	for (int i = 0; i < 8; i++) {
		memcpy(spoof.ip, "\xcb\x00\x71", 3); /* 203.0.113.x */
		spoof.ip[3] = (uint8_t)(100 + i);
		query_from(&spoof, i % 2 ? KRPC_M_PING : KRPC_M_FIND_NODE, NULL, 0);
	}
	ok(!is_server(), "adaptive: 8 unsolicited queries from 8 IPs do not make it a server");
	for (int i = 0; i < 3; i++) {
		pub[i] = spoof;
		memcpy(pub[i].ip, "\xc6\x33\x64", 3); /* 198.51.100.x */
		pub[i].ip[3] = (uint8_t)(10 + i);
		sim.token_len = 0;
		query_from(&pub[i], KRPC_M_GET, NULL, 0);
		memcpy(tok[i], sim.token, sim.token_len);
		toklen[i] = sim.token_len;
	}
	ok(toklen[0] > 0 && toklen[1] > 0 && toklen[2] > 0, "adaptive: its get replies carry tokens");
	randombytes_buf(bad, sizeof(bad));
	for (int i = 0; i < 3; i++)
		query_from(&pub[i], KRPC_M_PUT, bad, sizeof(bad));
	ok(!is_server(), "adaptive: puts with wrong tokens do not count");
	query_from(&pub[0], KRPC_M_PUT, tok[1], toklen[1]);
	ok(!is_server(), "adaptive: a token sent to another IP does not count");
	/* a host of our own network proves nothing about the outside */
	memset(&lan, 0, sizeof(lan));
	lan.family = 4;
	memcpy(lan.ip, "\xc0\xa8\x01\x05", 4); /* 192.168.1.5 */
	lan.port = 6881;
	sim.token_len = 0;
	query_from(&lan, KRPC_M_GET, NULL, 0);
	memcpy(lantok, sim.token, sim.token_len);
	lantoklen = sim.token_len;
	query_from(&lan, KRPC_M_PUT, lantok, lantoklen);
	query_from(&pub[0], KRPC_M_PUT, tok[0], toklen[0]);
	query_from(&pub[1], KRPC_M_PUT, tok[1], toklen[1]);
	ok(!is_server(), "adaptive: two outside IPs and one LAN IP with their tokens: still a client");
	query_from(&pub[2], KRPC_M_PUT, tok[2], toklen[2]);
	ok(is_server(), "adaptive: the third outside IP with its token makes it a server");
	dht_free(sim.d);
}

/* Nodes of a network on this host share 127.0.0.1: once a bootstrap
 * node (or a saved table's node) is on loopback, the routing table takes
 * one node per loopback port, not one per IP; a public IP stays one. */
static size_t
nodes_after_queries(bool loopback_boot)
{
	struct dht_config cfg;
	struct dht_addr a;
	struct dht_info info;

	sim_new_mode(&cfg, DHT_MODE_SERVER);
	memset(&a, 0, sizeof(a));
	a.family = 4;
	a.ip[0] = 127;
	a.ip[3] = 1;
	if (loopback_boot) {
		a.port = 9;
		add_boot(&a);
	}
	for (int i = 0; i < 6; i++) {
		a.port = (uint16_t)(2000 + i);
		query_from(&a, KRPC_M_PING, NULL, 0);
	}
	memcpy(a.ip, "\xcb\x00\x71\x07", 4); /* 203.0.113.7 */
	for (int i = 0; i < 3; i++) {
		a.port = (uint16_t)(3000 + i);
		query_from(&a, KRPC_M_PING, NULL, 0);
	}
	dht_get_info(sim.d, sim.now, &info);
	dht_free(sim.d);
	return info.nodes4;
}

static void
test_loopback_network(void)
{
	is_int((int)nodes_after_queries(false), 2,
		"no loopback bootstrap: one node for 127.0.0.1, one for a public IP");
	is_int((int)nodes_after_queries(true), 7,
		"loopback bootstrap: a node per 127.0.0.1 port, still one for a public IP");
}

/* A node of our own ID's far half (routing bucket 0, which holds 128) and
 * NET_MAX nodes around the key's target, node i the (i+1)-th closest,
 * each in the table (they queried us) with the given delay. */
/* net_setup with bucket size k (0: the default), the nodes on 127.0.0.1
 * (a loopback testnet: a node per port) when `loopback`, and only the
 * first `known` of them in the table. */
static void
net_setup_opts(const uint8_t target[20], const uint64_t *delay, int k, bool loopback,
	int known)
{
	static uint8_t self[20];
	struct dht_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	sim_new(&cfg, P_NET, 0);
	dht_free(sim.d);
	memcpy(self, target, 20);
	self[0] ^= 0x80;
	cfg.mode = DHT_MODE_SERVER;
	cfg.node_id = self;
	cfg.k = k;
	cfg.loopback_testnet = loopback;
	sim.d = dht_new(&cfg, sim.now);
	sim.nnet = NET_MAX;
	for (int i = 0; i < NET_MAX; i++) {
		struct net_node *nn = &sim.net[i];
		int bit = 100 - 5 * i; /* node 0 shares the most bits */
		memset(&nn->addr, 0, sizeof(nn->addr));
		nn->addr.family = 4;
		nn->addr.ip[0] = loopback ? 127 : 10;
		nn->addr.ip[2] = loopback ? 0 : (uint8_t)i;
		nn->addr.ip[3] = 1;
		nn->addr.port = (uint16_t)(loopback ? 7000 + i : 6881);
		memcpy(nn->id, target, 20);
		nn->id[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
		nn->id[19] ^= 1;
		nn->delay = delay[i];
		nn->holds = true;
		if (i >= known)
			continue;
		sim.fixed_id = nn->id;
		query_from(&nn->addr, KRPC_M_PING, NULL, 0);
		sim.fixed_id = NULL;
	}
}

static void
net_setup(const uint8_t target[20], const uint64_t *delay)
{
	net_setup_opts(target, delay, 0, false, NET_MAX);
}

static uint32_t
net_get(void)
{
	sim.done = 0;
	sim.nvalues = 0;
	sim.nget_at = 0;
	return dht_get_mutable(sim.d, sim.vpk, NULL, 0, 0, on_value, on_done, NULL, sim.now);
}

/* Issue 15: of the k closest, the nodes measured fast are asked first;
 * the closest three answer in 400 ms, the other five in 20. */
static void
test_fast_first(void)
{
	uint64_t delay[NET_MAX] = { 400, 400, 400, 20, 20, 20, 20, 20 };
	uint8_t target[20];
	uint64_t t0;

	crypto_sign_keypair(sim.vpk, sim.vsk);
	dht_mutable_target(sim.vpk, NULL, 0, target);
	{
		uint8_t pk[32], sk[64];
		memcpy(pk, sim.vpk, 32);
		memcpy(sk, sim.vsk, 64);
		net_setup(target, delay);
		memcpy(sim.vpk, pk, 32);
		memcpy(sim.vsk, sk, 64);
	}
	sim.vseq = 3;
	t0 = sim.now;
	ok(net_get() != 0, "fast first: first get started");
	run(sim.now + 5000, 5, 1);
	ok(sim.done == 1 && sim.st.first_value_ms >= 400,
	    "fast first: unmeasured, the 3 closest (400 ms) asked first: value after %lld ms",
	    (long long)sim.st.first_value_ms);
	(void)t0;
	ok(net_get() != 0, "fast first: second get of the key started");
	run(sim.now + 5000, 5, 1);
	ok(sim.done == 1 && sim.st.first_value_ms >= 0 && sim.st.first_value_ms < 100,
	    "fast first: measured, a 20 ms node asked first: value after %lld ms",
	    (long long)sim.st.first_value_ms);
	ok(sim.st.queried <= NET_MAX, "fast first: %u nodes asked, no more than the %d there",
	    sim.st.queried, NET_MAX);
	dht_free(sim.d);
}

/* Issue 15: the soft timeout follows the round trips seen. Nodes that
 * answered in 40 ms now take 600: after about 2 x 40 + 100 ms the next
 * nodes are asked (not after half the 2 s timeout), and the first ones'
 * late answers still count (the hard timeout is 2 s). */
static void
test_soft_timeout(void)
{
	uint64_t delay[NET_MAX] = { 40, 40, 40, 40, 40, 40, 40, 40 };
	uint8_t target[20], pk[32], sk[64];
	uint64_t t0;

	crypto_sign_keypair(pk, sk);
	dht_mutable_target(pk, NULL, 0, target);
	net_setup(target, delay);
	memcpy(sim.vpk, pk, 32);
	memcpy(sim.vsk, sk, 64);
	sim.vseq = 3;
	ok(net_get() != 0, "soft timeout: first get started");
	run(sim.now + 5000, 5, 1);
	ok(sim.done == 1 && sim.nvalues >= 1, "soft timeout: first get found the value");
	for (int i = 0; i < NET_MAX; i++)
		sim.net[i].delay = 600;
	t0 = sim.now;
	ok(net_get() != 0, "soft timeout: second get started");
	run(sim.now + 5000, 5, 1);
	ok(sim.nget_at >= 4 && sim.get_at[3] - t0 <= 300,
	    "soft timeout: 4th get %llu ms after the start (3 sent at once)",
	    sim.nget_at >= 4 ? (unsigned long long)(sim.get_at[3] - t0) : 0ull);
	ok(sim.done == 1 && sim.st.first_value_ms >= 600 && sim.st.first_value_ms < 1000,
	    "soft timeout: the first nodes' late answers count (value after %lld ms)",
	    (long long)sim.st.first_value_ms);
	is_int((int)sim.st.timeouts, 0, "soft timeout: no query timed out");
	dht_free(sim.d);
}

static int
asked_count(const struct dht_addr *a)
{
	for (size_t i = 0; i < sim.ndst; i++)
		if (dht_addr_eq(&sim.dst[i], a))
			return sim.count[i];
	return 0;
}

/* Issue 15: a node that left its last two queries unanswered while the
 * others answer is not asked again, even as the others keep naming it
 * (churned and NAT'd nodes linger in everyone's tables). */
static void
test_silent_skipped(void)
{
	uint64_t delay[NET_MAX] = { 30, 30, 30, 30, 30, 30, 30, 30 };
	uint8_t target[20], pk[32], sk[64];

	crypto_sign_keypair(pk, sk);
	dht_mutable_target(pk, NULL, 0, target);
	net_setup(target, delay);
	memcpy(sim.vpk, pk, 32);
	memcpy(sim.vsk, sk, 64);
	sim.vseq = 3;
	sim.net_named = true;
	sim.net[0].silent = sim.net[1].silent = true;
	for (int round = 0; round < 2; round++) {
		net_get();
		run(sim.now + 5000, 5, 1);
	}
	ok(asked_count(&sim.net[0].addr) >= 2 && asked_count(&sim.net[1].addr) >= 2,
	    "silent: the two silent nodes were asked in two look-ups (%d, %d times)",
	    asked_count(&sim.net[0].addr), asked_count(&sim.net[1].addr));
	sim.ndst = 0;
	net_get();
	run(sim.now + 5000, 5, 1);
	ok(sim.done == 1 && sim.nvalues >= 1, "silent: the third look-up found the value");
	ok(asked_count(&sim.net[0].addr) == 0 && asked_count(&sim.net[1].addr) == 0,
	    "silent: ... without asking them again, though the others name them");
	ok(asked_count(&sim.net[2].addr) == 1, "silent: the others are asked as before");
	is_int((int)sim.st.timeouts, 0, "silent: no query of the third look-up timed out");
	dht_free(sim.d);
}

/* A saved table of 5 nodes on 127.0.0.1 (different ports) and 3 on one
 * public IP, loaded after a bootstrap address (as the daemon does). */
static int
load_mixed(bool loopback_boot)
{
	struct dht_config cfg;
	uint8_t blob[64 + 8 * DHT_COMPACT_NODE4];
	size_t off;
	struct dht_addr b;
	int got;

	memset(&cfg, 0, sizeof(cfg));
	sim_new(&cfg, P_SILENT, 5);
	memset(&b, 0, sizeof(b));
	b.family = 4;
	memcpy(b.ip, loopback_boot ? "\x7f\x00\x00\x01" : "\xc6\x12\xff\x01", 4);
	b.port = 7000;
	add_boot(&b);
	off = (size_t)snprintf((char *)blob, sizeof(blob), "d5:nodes%d:", 8 * DHT_COMPACT_NODE4);
	for (int i = 0; i < 8; i++) {
		struct dht_addr a;
		memset(&a, 0, sizeof(a));
		a.family = 4;
		memcpy(a.ip, i < 5 ? "\x7f\x00\x00\x01" : "\xc6\x12\x07\x07", 4);
		a.port = (uint16_t)(7001 + i);
		randombytes_buf(blob + off, 20);
		dht_addr_compact(&a, blob + off + 20);
		off += DHT_COMPACT_NODE4;
	}
	blob[off++] = 'e';
	got = dht_load_nodes(sim.d, blob, off, sim.now);
	dht_free(sim.d);
	return got;
}

static void
test_saved_loopback(void)
{
	is_int(load_mixed(false), 2,
		"saved table, public bootstrap: one node for 127.0.0.1, one for the public IP");
	is_int(load_mixed(true), 6,
		"saved table after a loopback bootstrap: a node per loopback port, still one "
		"for the public IP");
}

/* A saved table of 20 nodes, none of which answers, and a dead
 * bootstrap node (a restart after the network it saved is gone): the
 * first query timeout ends the look-up, instead of one timeout per
 * alpha of the 20. A network that answered lately is walked on. */
static void
test_silent_network(void)
{
	struct dht_config cfg;
	uint8_t blob[64 + 20 * DHT_COMPACT_NODE4];
	size_t off;
	struct dht_addr b;

	for (int round = 0; round < 2; round++) {
		memset(&cfg, 0, sizeof(cfg));
		sim_new(&cfg, P_SILENT, 5);
		off = (size_t)snprintf((char *)blob, sizeof(blob), "d5:nodes%d:",
			20 * DHT_COMPACT_NODE4);
		for (int i = 0; i < 20; i++) {
			struct dht_addr a;
			memset(&a, 0, sizeof(a));
			a.family = 4;
			a.ip[0] = 10;
			a.ip[1] = 7;
			a.ip[2] = (uint8_t)i;
			a.ip[3] = 1;
			a.port = 6881;
			randombytes_buf(blob + off, 20);
			dht_addr_compact(&a, blob + off + 20);
			off += DHT_COMPACT_NODE4;
		}
		blob[off++] = 'e';
		is_int(dht_load_nodes(sim.d, blob, off, sim.now), 20,
			"silent network: 20 saved nodes loaded");
		memset(&sim.boot, 0, sizeof(sim.boot));
		sim.boot.family = 4;
		memcpy(sim.boot.ip, "\xc6\x12\xff\x01", 4);
		sim.boot.port = 6881;
		b = sim.boot;
		if (round == 1) {
			/* the bootstrap node answers once, then goes quiet */
			sim.policy = P_BOOT_ANSWERS;
			add_boot(&b);
			run(sim.now + 100, 5, 0);
			sim.policy = P_SILENT;
		} else {
			add_boot(&b);
		}
		sim.ndst = 0;
		ok(start_get() != 0, "silent network: get started");
		run(sim.now + 60000, 5, 1);
		is_int(sim.done, 1, "silent network: the look-up ended");
		if (round == 0) {
			ok(sim.st.network_silent && sim.st.elapsed_ms <= 2100,
			    "silent network, nothing ever answered: ended at the first "
			    "timeout (%llu ms, %u asked)",
			    (unsigned long long)sim.st.elapsed_ms, sim.st.queried);
		} else {
			ok(!sim.st.network_silent && sim.st.queried >= 20,
			    "silent network, the bootstrap node answered lately: every "
			    "candidate tried (%u asked, %llu ms)", sim.st.queried,
			    (unsigned long long)sim.st.elapsed_ms);
		}
		dht_free(sim.d);
	}
}

/* Issue 15: the nodes a reply names enter the routing table, unverified,
 * without a ping each. Bucket size 4: the table knows only the closest
 * of 8 nodes; its reply names all 8; the look-up asks the 4 closest and
 * ends. The other 4 were never asked, yet a later look-up knows them. */
static void
test_heard_entries(void)
{
	uint64_t delay[NET_MAX] = { 30, 30, 30, 30, 30, 30, 30, 30 };
	uint8_t target[20], pk[32], sk[64];
	struct dht_info info;

	crypto_sign_keypair(pk, sk);
	dht_mutable_target(pk, NULL, 0, target);
	net_setup_opts(target, delay, 4, true, 1);
	memcpy(sim.vpk, pk, 32);
	memcpy(sim.vsk, sk, 64);
	sim.vseq = 3;
	sim.net_named = true;
	dht_get_info(sim.d, sim.now, &info);
	is_int((int)info.nodes4, 1, "heard entries: the table knows one node");
	sim.pings = 0;
	net_get();
	run(sim.now + 5000, 5, 1);
	ok(sim.done == 1 && sim.nvalues >= 1, "heard entries: the look-up found the value");
	ok(asked_count(&sim.net[6].addr) == 0 && asked_count(&sim.net[7].addr) == 0,
	    "heard entries: the farthest named nodes were not asked");
	dht_get_info(sim.d, sim.now, &info);
	is_int((int)info.nodes4, NET_MAX,
	    "heard entries: every named node is in the table (%zu nodes, %zu good)",
	    info.nodes4, info.good4);
	is_int((int)sim.pings, 0, "heard entries: no ping sent for them");
	/* A look-up of node 7's own ID: the closest is node 7 (heard of
	 * only, and gone), then nodes 0-3 (answered in 30 ms). The first
	 * queries go to nodes known alive. */
	sim.net[7].silent = true;
	sim.ndst = 0;
	sim.done = 0;
	ok(dht_get_immutable(sim.d, sim.net[7].id, on_value, on_done, NULL, sim.now) != 0,
	    "heard entries: a look-up of the unverified node's ID started");
	ok(sim.ndst >= 3 && asked_count(&sim.net[7].addr) == 0,
	    "heard entries: its first %zu queries went to nodes that answered before, "
	    "not to the closer one only heard of", sim.ndst);
	run(sim.now + 5000, 5, 1);
	is_int(sim.done, 1, "heard entries: that look-up ended");
	dht_free(sim.d);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_budget();
	test_deadline();
	test_recycle();
	test_per_reply();
	test_per_subnet();
	test_many();
	test_health();
	test_adaptive();
	test_too_new();
	test_loopback_network();
	test_fast_first();
	test_soft_timeout();
	test_silent_skipped();
	test_silent_network();
	test_saved_loopback();
	test_heard_entries();
	return tap_done();
}
