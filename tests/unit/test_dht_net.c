/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_dht_net.c -- many sans-I/O DHT nodes in one process.
 *
 * Part 1 has no sockets: the send callbacks append to a queue that the
 * test delivers with dht_input, on a simulated clock, between nodes with
 * fake addresses 127.0.1.x. It checks bootstrap, look-up convergence,
 * BEP 44 put/get (mutable, immutable, newer seq, old seq refused),
 * BEP 43 client nodes staying out of routing tables, the adaptive switch,
 * cancellation from a callback, and that a node that leaves is replaced;
 * then a second network that delivers in batches (dht_input_batch).
 * Part 2 runs a real loopback testnet on an event_base (dht_event.h).
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <sodium.h>

#include "dht/dht.h"
#include "dht/dht_event.h"
#include "dht/dht_internal.h" /* the nodes' stores, to forge items */
#include "dht/krpc.h"
#include "tap.h"

#define NNODES 30
#define MAXNODES 40

struct pkt {
	int from;
	struct sockaddr_in to;
	size_t len;
	uint8_t data[2048];
};

struct net;

struct node {
	struct net *net;
	int idx;
	struct dht *d;
	struct sockaddr_in addr;
	uint64_t due;
	bool gone;
	int sent_ro, sent_q; /* queries sent with / without ro=1 */
};

struct net {
	struct node n[MAXNODES];
	int count;
	struct pkt *q;
	size_t qlen, qcap, qhead;
	uint64_t now;
	unsigned delivered, dropped;
	bool batched;            /* deliver with dht_input_batch */
	unsigned batches, max_batch;
};

static int
net_send(void *ctx, const uint8_t *buf, size_t len, const struct sockaddr *to,
	socklen_t tolen)
{
	struct node *nd = ctx;
	struct net *net = nd->net;
	struct pkt *p;
	struct krpc_msg *m;

	if (to->sa_family != AF_INET || tolen < sizeof(struct sockaddr_in) || len > 2048)
		return 0;
	m = malloc(sizeof(*m));
	if (m && krpc_parse(buf, len, m) == 0 && m->y == 'q') {
		if (m->ro)
			nd->sent_ro++;
		else
			nd->sent_q++;
	}
	free(m);
	if (net->qlen == net->qcap) {
		net->qcap = net->qcap ? net->qcap * 2 : 1024;
		net->q = realloc(net->q, net->qcap * sizeof(*net->q));
	}
	p = &net->q[net->qlen++];
	p->from = nd->idx;
	memcpy(&p->to, to, sizeof(p->to));
	p->len = len;
	memcpy(p->data, buf, len);
	return 0;
}

static struct node *
net_add(struct net *net, int mode)
{
	struct node *nd = &net->n[net->count];
	struct dht_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	nd->net = net;
	nd->idx = net->count;
	nd->addr.sin_family = AF_INET;
	nd->addr.sin_port = htons(6881);
	nd->addr.sin_addr.s_addr = htonl(0x7f000100u + (uint32_t)net->count + 1);
	cfg.mode = mode;
	cfg.send = net_send;
	cfg.send_ctx = nd;
	cfg.loopback_testnet = true;
	nd->d = dht_new(&cfg, net->now);
	nd->due = net->now;
	net->count++;
	return nd;
}

static struct node *
find_node(struct net *net, const struct sockaddr_in *a)
{
	for (int i = 0; i < net->count; i++)
		if (net->n[i].addr.sin_addr.s_addr == a->sin_addr.s_addr &&
		    net->n[i].addr.sin_port == a->sin_port)
			return &net->n[i];
	return NULL;
}

#define NET_BATCH 16

/* Batched delivery: what is queued at the start of a round reaches each
 * destination as batches of up to NET_BATCH datagrams in arrival order,
 * as the libevent glue hands over what one recvmmsg returned. Packets
 * are copied out first: sends during a batch grow (move) the queue. */
static void
deliver_batched(struct net *net)
{
	for (unsigned guard = 0; net->qhead < net->qlen && guard < 100000; guard++) {
		size_t n = net->qlen - net->qhead;
		struct pkt *round = malloc(n * sizeof(*round));
		bool *taken = calloc(n, sizeof(*taken));

		if (round == NULL || taken == NULL) {
			free(round);
			free(taken);
			break;
		}
		memcpy(round, &net->q[net->qhead], n * sizeof(*round));
		net->qhead = net->qlen;
		for (size_t i = 0; i < n; i++) {
			struct dht_datagram dg[NET_BATCH];
			struct node *dst;
			size_t k = 0;
			if (taken[i])
				continue;
			dst = find_node(net, &round[i].to);
			for (size_t j = i; j < n && k < NET_BATCH; j++) {
				struct node *src = &net->n[round[j].from];
				if (taken[j] || find_node(net, &round[j].to) != dst)
					continue;
				taken[j] = true;
				if (dst == NULL || dst->gone || src->gone) {
					net->dropped++;
					continue;
				}
				dg[k].buf = round[j].data;
				dg[k].len = round[j].len;
				dg[k].from = (const struct sockaddr *)&src->addr;
				dg[k].fromlen = sizeof(src->addr);
				k++;
			}
			if (k == 0)
				continue;
			dht_input_batch(dst->d, dg, k, net->now);
			net->delivered += (unsigned)k;
			net->batches++;
			if (k > net->max_batch)
				net->max_batch = (unsigned)k;
			dst->due = net->now;
		}
		free(round);
		free(taken);
	}
	net->qhead = net->qlen = 0;
}

static void
deliver(struct net *net)
{
	if (net->batched) {
		deliver_batched(net);
		return;
	}
	/* Delivery may enqueue more: process until quiet (bounded). */
	for (unsigned guard = 0; net->qhead < net->qlen && guard < 1000000; guard++) {
		struct pkt p = net->q[net->qhead++];
		struct node *dst = find_node(net, &p.to);
		struct node *src = &net->n[p.from];
		if (dst == NULL || dst->gone || src->gone) {
			net->dropped++;
			continue;
		}
		net->delivered++;
		dht_input(dst->d, p.data, p.len, (const struct sockaddr *)&src->addr,
			sizeof(src->addr), net->now);
		dst->due = net->now; /* new work may want a timer sooner */
	}
	net->qhead = net->qlen = 0;
}

static void
net_run(struct net *net, uint64_t ms)
{
	uint64_t end = net->now + ms;

	while (net->now < end) {
		uint64_t next = end;
		deliver(net);
		for (int i = 0; i < net->count; i++) {
			struct node *nd = &net->n[i];
			if (nd->gone)
				continue;
			if (nd->due <= net->now)
				nd->due = net->now + dht_periodic(nd->d, net->now);
		}
		deliver(net);
		for (int i = 0; i < net->count; i++)
			if (!net->n[i].gone && net->n[i].due < next)
				next = net->n[i].due;
		net->now = next > net->now ? next : net->now + 1;
	}
	deliver(net);
}

struct result {
	int values, done;
	int64_t seq;
	uint8_t v[1000];
	size_t v_len;
	struct dht_lookup_stats st;
	struct dht *d;
	uint32_t id;
	bool cancel_in_cb;
	struct sockaddr_storage from; /* the node that sent the last value */
	socklen_t from_len;
};

static void
on_value(void *ctx, const struct dht_item *it)
{
	struct result *r = ctx;

	r->values++;
	r->seq = it->seq;
	r->from = it->from;
	r->from_len = it->from_len;
	memcpy(r->v, it->v, it->v_len);
	r->v_len = it->v_len;
	if (r->cancel_in_cb)
		dht_cancel(r->d, r->id);
}

static void
on_done(void *ctx, const struct dht_lookup_stats *st)
{
	struct result *r = ctx;

	r->done++;
	r->st = *st;
}

static void
sign_item(struct dht_item *it, const uint8_t sk[64], int64_t seq, const char *v)
{
	uint8_t buf[1200];
	int n;

	it->is_mutable = true;
	it->seq = seq;
	it->v_len = strlen(v);
	memcpy(it->v, v, it->v_len);
	n = dht_bep44_signable(buf, sizeof(buf), it->salt, it->salt_len, seq, it->v, it->v_len);
	crypto_sign_detached(it->sig, NULL, buf, (unsigned long long)n, sk);
}

/* Whether `who` is in the saved routing table of `d`. */
static bool
table_has(struct dht *d, const struct sockaddr_in *who)
{
	static uint8_t buf[65536];
	int n = dht_save_nodes(d, buf, sizeof(buf));

	for (int i = 0; i + 26 <= n; i++) {
		if (memcmp(buf + i, "5:nodes", 7) == 0) {
			/* Walk the compact list after "5:nodes<len>:". */
			char *end;
			long len = strtol((const char *)buf + i + 7, &end, 10);
			const uint8_t *p = (const uint8_t *)end + 1;
			for (long j = 0; j + 26 <= len; j += 26)
				if (memcmp(p + j + 20, &who->sin_addr, 4) == 0 &&
				    memcmp(p + j + 24, &who->sin_port, 2) == 0)
					return true;
			return false;
		}
	}
	return false;
}

/* n server nodes, each bootstrapped from the first, run for a minute of
 * simulated time. @return how many know at least k = 8 others. */
static int
net_start(struct net *net, int n, uint64_t now, bool batched)
{
	struct dht_info info;
	int full = 0;

	memset(net, 0, sizeof(*net));
	net->now = now;
	net->batched = batched;
	for (int i = 0; i < n; i++) {
		struct node *nd = net_add(net, DHT_MODE_SERVER);
		if (!nd->d)
			break;
		if (i > 0)
			dht_add_bootstrap(nd->d, (struct sockaddr *)&net->n[0].addr,
				sizeof(net->n[0].addr));
	}
	net_run(net, 60000);
	for (int i = 0; i < net->count; i++) {
		dht_get_info(net->n[i].d, net->now, &info);
		if (info.nodes4 >= 8)
			full++;
	}
	return full;
}

static void
test_sim(void)
{
	static struct net net;
	struct dht_info info;
	struct result r1, r2, r3, r4, r5, r6;
	struct dht_item it;
	uint8_t pk[32], sk[64], seed[32], target[20];
	int full = 0;
	struct node *client, *adaptive;

	full = net_start(&net, NNODES, 1000000, false);
	is_int(net.count, NNODES, "%d nodes created", NNODES);
	is_int(full, NNODES, "every node knows at least k=8 others after a minute");
	ok(net.delivered > 500, "%u datagrams delivered", net.delivered);

	/* Mutable put from node 3, get from node 17. */
	memset(seed, 7, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
	memset(&it, 0, sizeof(it));
	memcpy(it.k, pk, 32);
	sign_item(&it, sk, 1, "hello pkarr");
	memset(&r1, 0, sizeof(r1));
	ok(dht_put(net.n[3].d, &it, -1, on_done, &r1, net.now) != 0, "put started");
	net_run(&net, 10000);
	is_int(r1.done, 1, "put done once");
	ok(r1.st.stored >= 6, "put stored on %u nodes (k=8)", r1.st.stored);
	is_int(r1.st.put_errors, 0, "no put errors");

	memset(&r2, 0, sizeof(r2));
	ok(dht_get_mutable(net.n[17].d, pk, NULL, 0, 0, on_value, on_done, &r2, net.now) != 0,
		"get started");
	net_run(&net, 10000);
	ok(r2.values >= 1 && r2.seq == 1 && r2.v_len == 11 && memcmp(r2.v, "hello pkarr", 11) == 0,
		"get from another node returns the value");
	is_int(r2.done, 1, "get done once");
	{
		/* the value says which node sent it: one that holds it */
		struct node *from = r2.from_len == sizeof(struct sockaddr_in)
			? find_node(&net, (const struct sockaddr_in *)&r2.from) : NULL;
		uint8_t tgt[20];
		dht_mutable_target(pk, NULL, 0, tgt);
		ok(from != NULL && from != &net.n[17] &&
			dht_store_get(&from->d->store, tgt, net.now) != NULL,
			"the value names the node that sent it (node %d), which stores it",
			from ? from->idx : -1);
	}
	ok(r2.st.first_value_ms >= 0 && r2.st.queried > 0 && r2.st.responses > 0,
		"stats: queried %u, responses %u, first value at %lld ms", r2.st.queried,
		r2.st.responses, (long long)r2.st.first_value_ms);

	/* A newer seq replaces it; min_seq filters. */
	sign_item(&it, sk, 5, "newer");
	memset(&r3, 0, sizeof(r3));
	dht_put(net.n[8].d, &it, 1, on_done, &r3, net.now);
	net_run(&net, 10000);
	ok(r3.done == 1 && r3.st.stored >= 6, "newer put with cas stored (%u)", r3.st.stored);
	memset(&r2, 0, sizeof(r2));
	dht_get_mutable(net.n[25].d, pk, NULL, 0, 2, on_value, on_done, &r2, net.now);
	net_run(&net, 10000);
	ok(r2.values >= 1 && r2.seq == 5 && r2.v_len == 5, "newest seq found with min_seq 2");

	/* Storing nodes that hand out a forged higher seq (signature not
	 * matching) must neither be reported nor hide the genuine item. */
	{
		int forged = 0, kept = 0;
		uint8_t tgt[20];
		dht_mutable_target(pk, NULL, 0, tgt);
		for (int i = 0; i < net.count; i++) {
			struct dht_store_item *si = (struct dht_store_item *)dht_store_get(
				&net.n[i].d->store, tgt, net.now);
			if (si == NULL)
				continue;
			if (i % 2 == 0) {
				si->seq = 9;
				forged++;
			} else {
				kept++;
			}
		}
		ok(forged > 0 && kept > 0, "%d holders forged, %d genuine", forged, kept);
		memset(&r2, 0, sizeof(r2));
		dht_get_mutable(net.n[26].d, pk, NULL, 0, 0, on_value, on_done, &r2, net.now);
		net_run(&net, 10000);
		ok(r2.done == 1 && r2.values >= 1 && r2.seq == 5 && r2.v_len == 5 &&
				memcmp(r2.v, "newer", 5) == 0,
			"forged seq 9 ignored, genuine seq 5 reported (last seq %lld, %d values)",
			(long long)r2.seq, r2.values);
		for (int i = 0; i < net.count; i++) {
			struct dht_store_item *si = (struct dht_store_item *)dht_store_get(
				&net.n[i].d->store, tgt, net.now);
			if (si != NULL && si->seq == 9)
				si->seq = 5;
		}
	}

	/* An older seq is refused with 302. */
	sign_item(&it, sk, 2, "older");
	memset(&r4, 0, sizeof(r4));
	dht_put(net.n[9].d, &it, -1, on_done, &r4, net.now);
	net_run(&net, 10000);
	/* A node near the target that never got the newer item may take the
	 * older one: the look-up sets of different nodes differ a little. */
	ok(r4.done == 1 && r4.st.stored <= 2 && r4.st.put_errors >= 5 && r4.st.last_error == 302,
		"older seq refused: stored %u, errors %u, last %d", r4.st.stored,
		r4.st.put_errors, r4.st.last_error);

	/* A forged signature is refused locally. */
	it.sig[0] ^= 1;
	ok(dht_put(net.n[9].d, &it, -1, on_done, &r4, net.now) == 0, "bad signature refused");

	/* Immutable item. */
	memset(&it, 0, sizeof(it));
	memcpy(it.v, "immutable data", 14);
	it.v_len = 14;
	memset(&r5, 0, sizeof(r5));
	dht_put(net.n[11].d, &it, -1, on_done, &r5, net.now);
	net_run(&net, 10000);
	ok(r5.done == 1 && r5.st.stored >= 6, "immutable put stored (%u)", r5.st.stored);
	dht_immutable_target(it.v, it.v_len, target);
	memset(&r5, 0, sizeof(r5));
	dht_get_immutable(net.n[22].d, target, on_value, on_done, &r5, net.now);
	net_run(&net, 10000);
	ok(r5.values == 1 && r5.v_len == 14 && memcmp(r5.v, "immutable data", 14) == 0,
		"immutable get (queried %u, responses %u, timeouts %u)", r5.st.queried,
		r5.st.responses, r5.st.timeouts);

	/* Cancel from inside the value callback: no done callback. */
	memset(&r6, 0, sizeof(r6));
	r6.cancel_in_cb = true;
	r6.d = net.n[14].d;
	r6.id = dht_get_mutable(net.n[14].d, pk, NULL, 0, 0, on_value, on_done, &r6, net.now);
	net_run(&net, 10000);
	ok(r6.values == 1 && r6.done == 0, "cancel in callback: one value, no done");

	/* Unknown key: look-up ends without values. */
	memset(seed, 9, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
	memset(&r6, 0, sizeof(r6));
	dht_get_mutable(net.n[2].d, pk, NULL, 0, 0, on_value, on_done, &r6, net.now);
	net_run(&net, 10000);
	ok(r6.done == 1 && r6.values == 0 && r6.st.first_value_ms == -1,
		"missing key: done, no value");

	/* BEP 43: a client node works but never enters routing tables. */
	client = net_add(&net, DHT_MODE_CLIENT);
	dht_add_bootstrap(client->d, (struct sockaddr *)&net.n[0].addr, sizeof(net.n[0].addr));
	net_run(&net, 30000);
	memset(&r2, 0, sizeof(r2));
	memset(seed, 7, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
	dht_get_mutable(client->d, pk, NULL, 0, 0, on_value, on_done, &r2, net.now);
	net_run(&net, 10000);
	ok(r2.values >= 1 && r2.seq == 5, "client node gets the value");
	{
		int seen = 0;
		for (int i = 0; i < NNODES; i++)
			if (table_has(net.n[i].d, &client->addr))
				seen++;
		is_int(seen, 0, "client node is in no routing table");
		ok(client->sent_ro > 0 && client->sent_q == 0, "client queries all carry ro=1");
	}

	/* Adaptive: starts read-only. 3 new nodes bootstrap from it: their
	 * queries come unasked, but that alone (forgeable) is not enough;
	 * it turns server once those 3 IPs also store something on it with
	 * the token it gave them (a put near its ID). */
	adaptive = net_add(&net, DHT_MODE_ADAPTIVE);
	dht_add_bootstrap(adaptive->d, (struct sockaddr *)&net.n[0].addr, sizeof(net.n[0].addr));
	net_run(&net, 5000);
	dht_get_info(adaptive->d, net.now, &info);
	ok(!info.server && adaptive->sent_ro > 0, "adaptive node starts read-only");
	{
		struct node *joiners[3];
		uint8_t aid[20];
		dht_get_info(adaptive->d, net.now, &info);
		memcpy(aid, info.id, 20);
		for (int i = 0; i < 3; i++) {
			joiners[i] = net_add(&net, DHT_MODE_SERVER);
			dht_add_bootstrap(joiners[i]->d, (struct sockaddr *)&adaptive->addr,
				sizeof(adaptive->addr));
		}
		net_run(&net, 5000);
		dht_get_info(adaptive->d, net.now, &info);
		ok(!info.server, "adaptive node: unsolicited queries from 3 IPs alone do not switch it");
		for (int i = 0; i < 3; i++) {
			struct dht_item near;
			uint8_t near_t[20];
			memset(&near, 0, sizeof(near));
			/* an immutable value whose target shares 16 bits with
			 * the adaptive node's ID: it is among the k closest */
			for (uint32_t c = 0;; c++) {
				near.v_len = (size_t)snprintf((char *)near.v, sizeof(near.v), "near %d %u", i, c);
				dht_immutable_target(near.v, near.v_len, near_t);
				if (near_t[0] == aid[0] && near_t[1] == aid[1])
					break;
			}
			dht_put(joiners[i]->d, &near, -1, NULL, NULL, net.now);
		}
		net_run(&net, 5000);
	}
	dht_get_info(adaptive->d, net.now, &info);
	ok(info.server, "adaptive node turned server once those IPs returned its tokens");
	adaptive->sent_q = adaptive->sent_ro = 0;
	memset(&r2, 0, sizeof(r2));
	dht_get_mutable(adaptive->d, pk, NULL, 0, 0, on_value, on_done, &r2, net.now);
	net_run(&net, 10000);
	ok(adaptive->sent_q > 0 && adaptive->sent_ro == 0, "adaptive node now queries without ro");
	ok(r2.values >= 1, "adaptive node gets the value");

	/* Node 5 leaves; whoever had it drops it within 20 minutes and the
	 * tables stay full. */
	{
		int had = 0, still = 0, full_after = 0;
		for (int i = 0; i < NNODES; i++)
			if (i != 5 && table_has(net.n[i].d, &net.n[5].addr))
				had++;
		net.n[5].gone = true;
		net_run(&net, 20 * 60 * 1000);
		for (int i = 0; i < NNODES; i++) {
			if (i == 5)
				continue;
			if (table_has(net.n[i].d, &net.n[5].addr))
				still++;
			dht_get_info(net.n[i].d, net.now, &info);
			if (info.nodes4 >= 8)
				full_after++;
		}
		ok(had > 0, "%d nodes had node 5", had);
		is_int(still, 0, "no node keeps the departed node");
		is_int(full_after, NNODES - 1, "tables still hold k nodes");
	}

	/* After 2 h without republishing, items expire. */
	memset(&r2, 0, sizeof(r2));
	net_run(&net, 2 * 3600 * 1000);
	dht_get_mutable(net.n[17].d, pk, NULL, 0, 0, on_value, on_done, &r2, net.now);
	net_run(&net, 10000);
	ok(r2.done == 1 && r2.values == 0, "items expire after 2 hours");

	/* Save and load the routing table into a fresh node. */
	{
		static uint8_t buf[65536];
		int n = dht_save_nodes(net.n[1].d, buf, sizeof(buf));
		struct node *fresh = net_add(&net, DHT_MODE_SERVER);
		ok(n > 0 && dht_load_nodes(fresh->d, buf, (size_t)n, net.now) >= 8,
			"saved table loads into a new node");
		dht_get_info(fresh->d, net.now, &info);
		ok(info.nodes4 >= 8, "loaded node has %zu nodes", info.nodes4);
		size_t want = dht_save_nodes_size(net.n[1].d);
		ok(n > 0 && want >= (size_t)n && want <= (size_t)n + 64,
			"dht_save_nodes_size: %zu bytes for a %d-byte table", want, n);
		is_int(dht_save_nodes(net.n[1].d, buf, want), n, "... and saving into that many works");
		is_int(dht_load_nodes(fresh->d, (const uint8_t *)"garbage", 7, net.now), -1,
			"garbage table refused");
	}

	for (int i = 0; i < net.count; i++)
		dht_free(net.n[i].d);
	free(net.q);
}

/* The same network delivering with dht_input_batch: look-ups converge,
 * values come back, and no look-up waits for a timeout to go on. */
static void
test_sim_batched(void)
{
	static struct net net;
	struct result rp, rg, ri;
	struct dht_item it;
	uint8_t pk[32], sk[64], seed[32], target[20];
	int full = 0;
	const int nn = 20;

	full = net_start(&net, nn, 5000000, true);
	is_int(net.count, nn, "batched: %d nodes created", nn);
	is_int(full, nn, "batched: every node knows at least 8 others after a minute");
	ok(net.max_batch > 1 && net.batches < net.delivered,
		"batched: %u datagrams in %u batches, up to %u in one", net.delivered, net.batches,
		net.max_batch);

	memset(seed, 0x5b, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
	memset(&it, 0, sizeof(it));
	memcpy(it.k, pk, 32);
	sign_item(&it, sk, 3, "batched value");
	memset(&rp, 0, sizeof(rp));
	ok(dht_put(net.n[2].d, &it, -1, on_done, &rp, net.now) != 0, "batched: put started");
	/* well under the 2 s query timeout: only replies can move it on */
	net_run(&net, 500);
	ok(rp.done == 1 && rp.st.stored >= 6 && rp.st.timeouts == 0,
		"batched: put done in 500 ms, stored on %u nodes, %u timeouts", rp.st.stored,
		rp.st.timeouts);

	memset(&rg, 0, sizeof(rg));
	ok(dht_get_mutable(net.n[13].d, pk, NULL, 0, 0, on_value, on_done, &rg, net.now) != 0,
		"batched: get started");
	net_run(&net, 500);
	ok(rg.values >= 1 && rg.seq == 3 && rg.v_len == 13 && memcmp(rg.v, "batched value", 13) == 0,
		"batched: get returns the value");
	ok(rg.done == 1 && rg.st.timeouts == 0 && rg.st.first_value_ms == 0,
		"batched: get done in 500 ms without timeouts (queried %u, first value at %lld ms)",
		rg.st.queried, (long long)rg.st.first_value_ms);

	memset(&it, 0, sizeof(it));
	memcpy(it.v, "batched immutable", 17);
	it.v_len = 17;
	memset(&ri, 0, sizeof(ri));
	dht_put(net.n[5].d, &it, -1, on_done, &ri, net.now);
	net_run(&net, 500);
	ok(ri.done == 1 && ri.st.stored >= 6, "batched: immutable put stored (%u)", ri.st.stored);
	dht_immutable_target(it.v, it.v_len, target);
	memset(&ri, 0, sizeof(ri));
	dht_get_immutable(net.n[17].d, target, on_value, on_done, &ri, net.now);
	net_run(&net, 500);
	ok(ri.values == 1 && ri.done == 1 && ri.v_len == 17 &&
			memcmp(ri.v, "batched immutable", 17) == 0,
		"batched: immutable get returns the value");
	for (int i = 0; i < net.count; i++)
		dht_free(net.n[i].d);
	free(net.q);
}

/* Part 2: real sockets. */
struct ev_test {
	struct event_base *base;
	struct dht_node *client;
	struct result put, get;
	bool get_started;
	struct dht_item it;
	uint8_t pk[32];
	int phase;
};

static void
ev_tick(evutil_socket_t fd, short what, void *arg)
{
	struct ev_test *t = arg;
	struct dht_info info;
	struct dht *d = dht_node_dht(t->client);
	uint64_t now = dht_node_now(t->client);

	(void)fd;
	(void)what;
	dht_get_info(d, now, &info);
	if (t->phase == 0 && info.nodes4 >= 4) {
		dht_put(d, &t->it, -1, on_done, &t->put, now);
		t->phase = 1;
	} else if (t->phase == 1 && t->put.done) {
		dht_get_mutable(d, t->pk, NULL, 0, 0, on_value, on_done, &t->get, now);
		dht_node_kick(t->client);
		t->phase = 2;
	} else if (t->phase == 2 && t->get.done) {
		event_base_loopbreak(t->base);
	}
}

static void
test_event(void)
{
	struct ev_test t;
	struct dht_testnet *tn;
	struct sockaddr_in any, boot;
	struct dht_config cfg;
	struct event *tick;
	struct timeval tv_tick = { 0, 50000 }, tv_stop = { 8, 0 };
	uint8_t sk[64], seed[32];
	uint16_t port = 0;

	memset(&t, 0, sizeof(t));
	t.base = event_base_new();
	tn = NULL;
	/* A random port range; try again if something holds one of them. */
	for (int i = 0; i < 5 && tn == NULL; i++) {
		port = (uint16_t)(40000 + randombytes_uniform(20000));
		tn = dht_testnet_new(t.base, 8, port);
	}
	if (!ok(tn != NULL, "testnet of 8 nodes on 127.0.0.1:%u..", port)) {
		event_base_free(t.base);
		return;
	}
	memset(&any, 0, sizeof(any));
	any.sin_family = AF_INET;
	any.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	memset(&cfg, 0, sizeof(cfg));
	cfg.mode = DHT_MODE_CLIENT;
	cfg.loopback_testnet = true;
	t.client = dht_node_new(t.base, (struct sockaddr *)&any, sizeof(any), &cfg);
	ok(t.client != NULL && dht_node_port(t.client) != 0, "client node bound to port %u",
		t.client ? dht_node_port(t.client) : 0);
	if (t.client == NULL) {
		dht_testnet_free(tn);
		event_base_free(t.base);
		return;
	}
	boot = any;
	boot.sin_port = htons(port);
	dht_add_bootstrap(dht_node_dht(t.client), (struct sockaddr *)&boot, sizeof(boot));
	dht_node_kick(t.client);

	memset(seed, 3, sizeof(seed));
	crypto_sign_seed_keypair(t.pk, sk, seed);
	memcpy(t.it.k, t.pk, 32);
	sign_item(&t.it, sk, 7, "over real sockets");

	tick = event_new(t.base, -1, EV_PERSIST, ev_tick, &t);
	event_add(tick, &tv_tick);
	/* Hard bound: leave the loop after tv_stop whatever happens. */
	event_base_loopexit(t.base, &tv_stop);
	event_base_dispatch(t.base);
	ok(t.put.done == 1 && t.put.st.stored >= 4, "put over loopback stored on %u nodes",
		t.put.st.stored);
	ok(t.get.values >= 1 && t.get.seq == 7 && t.get.v_len == 17,
		"get over loopback returns the value");
	event_free(tick);
	dht_node_free(t.client);
	dht_testnet_free(tn);
	event_base_free(t.base);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_sim();
	test_sim_batched();
	test_event();
	return tap_done();
}
