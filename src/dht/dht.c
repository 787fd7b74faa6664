/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dht.c -- the node core: datagram dispatch, transactions and timeouts,
 * maintenance (BEP 5 pings and bucket refresh, bootstrap), external IP
 * voting and BEP 42 ID regeneration, adaptive BEP 43 mode, persistence.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define LOG_MODULE "dht"
#include "util/log.h"

#include "dht/bencode.h"
#include "dht/dht_internal.h"

/* Votes needed before an external IP is believed (BEP 42 "voting"). */
#define VOTES_NEEDED 3
/* While the table holds fewer than k nodes, re-bootstrap this often. */
#define BOOT_INTERVAL_MS 10000u
#define MAINT_INTERVAL_MS 1000u
#define EXPIRE_INTERVAL_MS 60000u
/* Per source IP: sustained queries per second and burst. */
#define RATE_PER_S 50u
#define RATE_BURST 200u
/* Health: no reply for this long while queries time out = down. */
#define DOWN_QUIET_MS 30000u
#define DOWN_FAILS 8u
/* at start, no verdict for this long, then down if nobody answered */
#define START_GRACE_MS 15000u
/* replies for this long (or k nodes) before "up" is said */
#define UP_SETTLE_MS 5000u
/* a stalled look-up (no free transaction) is retried this soon */
#define STALL_RETRY_MS 100u

static const uint8_t client_version[4] = { 'P', 'K', 0, 1 };

struct routing *
dht_rt(struct dht *d, int family)
{
	return family == 6 ? &d->rt6 : &d->rt4;
}

bool
dht_answering(const struct dht *d)
{
	return d->cfg.mode == DHT_MODE_SERVER || d->cfg.mode == DHT_MODE_ADAPTIVE;
}

static uint32_t
ip_hash(const struct dht_addr *a)
{
	return dht_crc32c(a->ip, a->family == 4 ? 4 : 16);
}

static struct dht_silent *
silent_slot(struct dht *d, const struct dht_addr *a)
{
	return &d->silent[(ip_hash(a) ^ (a->port * 0x9E37u)) % DHT_SILENT_SLOTS];
}

bool
dht_network_silent(const struct dht *d, uint64_t now_ms)
{
	return d->last_reply_ms == 0 || now_ms - d->last_reply_ms >= DOWN_QUIET_MS;
}

unsigned
dht_silent_fails(const struct dht *d, const struct dht_addr *a, uint64_t now_ms)
{
	const struct dht_silent *s = silent_slot((struct dht *)d, a);

	if (s->fails == 0 || !dht_addr_eq(&s->addr, a) || now_ms - s->ms >= DHT_SILENT_MS)
		return 0;
	return s->fails;
}

static void
silent_note(struct dht *d, const struct dht_addr *a, uint64_t now_ms)
{
	struct dht_silent *s = silent_slot(d, a);

	if (!dht_addr_eq(&s->addr, a) || now_ms - s->ms >= DHT_SILENT_MS) {
		s->addr = *a;
		s->fails = 0;
	}
	s->ms = now_ms;
	if (s->fails < 255)
		s->fails++;
}

int
dht_send_raw(struct dht *d, const uint8_t *buf, size_t len, const struct dht_addr *to)
{
	struct sockaddr_storage ss;
	socklen_t sl = dht_addr_to_sockaddr(to, &ss);
	int rc;

	/* Adaptive mode needs to know whom we talked to: a query from an
	 * address we never sent to cannot be riding a NAT mapping. */
	d->seen[ip_hash(to) % DHT_SEEN_SLOTS] = d->now_ms ? d->now_ms : 1;
	rc = d->cfg.send(d->cfg.send_ctx, buf, len, (const struct sockaddr *)&ss, sl) < 0 ? -1 : 0;
	/* Whether this host reaches the IPv6 DHT at all, as its sends say:
	 * one success is enough (some IPv6 destinations may be unroutable). */
	if (to->family == 6 && d->v6_reach != 1) {
		if (rc == 0) {
			d->v6_reach = 1;
		} else if (d->v6_reach == 0) {
			d->v6_reach = -1;
			if (d->cfg.dual_stack)
				log_info("IPv6 nodes cannot be reached from here: "
					 "IPv4 DHT only until one can");
		}
	}
	return rc;
}

bool
dht_want_both(const struct dht *d)
{
	return d->cfg.dual_stack && d->v6_reach >= 0;
}

int
dht_send_query(struct dht *d, struct krpc_query *q, const struct dht_addr *to,
	uint8_t purpose, uint32_t lookup_id, uint64_t now_ms)
{
	struct dht_txn *t = NULL;
	uint16_t idx = 0;
	uint8_t tid[4];
	int n;

	for (int i = 0; i < DHT_MAX_TXN; i++) {
		idx = (uint16_t)((d->txn_next + i) % DHT_MAX_TXN);
		if (!d->txn[idx].used) {
			t = &d->txn[idx];
			break;
		}
	}
	if (t == NULL)
		return -1;
	d->txn_next = (uint16_t)((idx + 1) % DHT_MAX_TXN);
	memset(t, 0, sizeof(*t));
	if (d->salt_left == 0) {
		randombytes_buf(d->salt_pool, sizeof(d->salt_pool));
		d->salt_left = (uint8_t)(sizeof(d->salt_pool) / sizeof(d->salt_pool[0]));
	}
	t->salt = d->salt_pool[--d->salt_left];
	tid[0] = (uint8_t)(idx >> 8);
	tid[1] = (uint8_t)idx;
	tid[2] = (uint8_t)(t->salt >> 8);
	tid[3] = (uint8_t)t->salt;
	q->t = tid;
	q->t_len = 4;
	q->id = d->id;
	q->ro = !d->server_now;
	q->version = d->version;
	q->version_len = sizeof(d->version);
	n = krpc_build_query(d->buf, sizeof(d->buf), q);
	if (n < 0)
		return -1;
	t->used = true;
	t->purpose = purpose;
	t->to = *to;
	t->sent_ms = now_ms;
	t->lookup_id = lookup_id;
	d->last_txn = idx;
	if (dht_send_raw(d, d->buf, (size_t)n, to) < 0) {
		t->used = false;
		return DHT_SEND_UNREACHABLE;
	}
	return 0;
}

struct dht *
dht_new(const struct dht_config *cfg, uint64_t now_ms)
{
	struct dht *d;
	unsigned rflags;

	if (cfg == NULL || cfg->send == NULL)
		return NULL;
	if (sodium_init() < 0)
		return NULL;
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return NULL;
	d->cfg = *cfg;
	if (d->cfg.k <= 0)
		d->cfg.k = 8;
	/* a look-up gathers 4k + 16 candidates from routing_closest() */
	if (d->cfg.k > (ROUTING_CLOSEST_MAX - 16) / 4)
		d->cfg.k = (ROUTING_CLOSEST_MAX - 16) / 4;
	if (d->cfg.alpha <= 0)
		d->cfg.alpha = 3;
	if (d->cfg.query_timeout_ms == 0)
		d->cfg.query_timeout_ms = 2000;
	if (d->cfg.max_items == 0)
		d->cfg.max_items = 1000;
	if (d->cfg.max_item_bytes == 0)
		d->cfg.max_item_bytes = 2u << 20;
	if (d->cfg.lookup_deadline_ms == 0)
		d->cfg.lookup_deadline_ms = 12000;
	if (d->cfg.lookup_budget == 0)
		d->cfg.lookup_budget = 96;
	if (d->cfg.lookup_budget > DHT_MAX_LOOKUP_BUDGET)
		d->cfg.lookup_budget = DHT_MAX_LOOKUP_BUDGET;
	if (d->cfg.lookup_per_reply == 0)
		d->cfg.lookup_per_reply = 8;
	if (d->cfg.lookup_per_subnet == 0)
		d->cfg.lookup_per_subnet = 2;
	if (cfg->node_id) {
		memcpy(d->id, cfg->node_id, 20);
		d->id_fixed = true;
	} else {
		randombytes_buf(d->id, 20);
	}
	d->cfg.node_id = NULL;
	d->server_now = d->cfg.mode == DHT_MODE_SERVER;
	memcpy(d->version, client_version, sizeof(d->version));
	rflags = (d->cfg.loopback_testnet ? ROUTING_RELAX_LOOPBACK : 0) |
	    (d->cfg.narrow_buckets ? 0 : ROUTING_WIDE);
	routing_init(&d->rt4, 4, d->cfg.k, d->id, rflags, now_ms);
	routing_init(&d->rt6, 6, d->cfg.k, d->id, rflags, now_ms);
	dht_tokens_init(&d->tokens, now_ms);
	if (dht_store_init(&d->store, d->cfg.max_items, d->cfg.max_item_bytes) < 0) {
		free(d);
		return NULL;
	}
	randombytes_buf(&d->txn_next, sizeof(d->txn_next));
	d->txn_next %= DHT_MAX_TXN;
	d->next_lookup_id = randombytes_uniform(1u << 30) + 1;
	d->last_maint_ms = now_ms;
	d->now_ms = now_ms;
	d->start_ms = now_ms;
	return d;
}

void
dht_free(struct dht *d)
{
	if (d == NULL)
		return;
	dht_lookups_free(d);
	routing_free(&d->rt4);
	routing_free(&d->rt6);
	dht_store_free(&d->store);
	free(d);
}

/* BEP 42: believe an external IP once VOTES_NEEDED distinct repliers say
 * so, then move to an ID that matches it (unless the caller fixed one). */
static void
external_vote(struct dht *d, const struct dht_addr *voter, const struct krpc_str *ip,
	uint64_t now_ms)
{
	struct dht_addr a;
	int slot = -1, best = 0;
	const struct dht_addr *winner = NULL;
	char s[64];

	if (dht_addr_uncompact(ip->p, ip->n, &a) < 0)
		return;
	a.port = 0;
	for (int i = 0; i < d->nvotes; i++)
		if (dht_addr_ip_eq(&d->votes[i].voter, voter))
			slot = i;
	if (slot < 0) {
		if (d->nvotes < DHT_VOTES) {
			slot = d->nvotes++;
		} else {
			slot = d->vote_next;
			d->vote_next = (d->vote_next + 1) % DHT_VOTES;
		}
	}
	d->votes[slot].voter = *voter;
	d->votes[slot].ip = a;
	/* On a dual-stack socket both families vote. The node has one ID
	 * (BEP 32), and the IPv4 DHT is where BEP 42 is checked: an IPv6
	 * address is elected only when no IPv4 node has voted. */
	int want_family = 6;
	for (int i = 0; i < d->nvotes; i++)
		if (d->votes[i].ip.family == 4)
			want_family = 4;
	for (int i = 0; i < d->nvotes; i++) {
		int c = 0;
		if (d->votes[i].ip.family != want_family)
			continue;
		for (int j = 0; j < d->nvotes; j++)
			if (dht_addr_ip_eq(&d->votes[i].ip, &d->votes[j].ip))
				c++;
		if (c > best) {
			best = c;
			winner = &d->votes[i].ip;
		}
	}
	if (winner == NULL || best < VOTES_NEEDED || dht_addr_ip_eq(winner, &d->external))
		return;
	d->external = *winner;
	/* the vote is about the IP only: print it without the (zero) port */
	dht_addr_str(winner, s, sizeof(s));
	if (strrchr(s, ':') && strcmp(strrchr(s, ':'), ":0") == 0)
		*strrchr(s, ':') = '\0';
	log_info("external address %s (%d votes)", s, best);
	if (d->id_fixed || dht_addr_is_local(winner) || dht_bep42_valid(winner, d->id))
		return;
	{
		uint8_t rnd[20], r;
		randombytes_buf(rnd, sizeof(rnd));
		randombytes_buf(&r, 1);
		dht_bep42_make_id(winner, r, rnd, d->id);
		routing_set_self(&d->rt4, d->id, now_ms);
		routing_set_self(&d->rt6, d->id, now_ms);
		log_info("new BEP 42 node ID for %s", s);
	}
}

/* Adaptive mode, first half: a query from an IP we have not sent to
 * lately could not have come through a NAT mapping we opened, but its
 * source may be forged (by anyone who can reach us: a host on our own
 * network, say). Note the IP; dht_adaptive_token() decides. */
static void
adaptive_note(struct dht *d, const struct dht_addr *from, uint64_t now_ms)
{
	uint64_t seen = d->seen[ip_hash(from) % DHT_SEEN_SLOTS];
	int slot = 0;

	if (d->server_now || d->cfg.mode != DHT_MODE_ADAPTIVE)
		return;
	if (seen && now_ms - seen < DHT_ADAPTIVE_WINDOW_MS)
		return;
	/* our own network says nothing about reachability from outside */
	if (dht_addr_is_local(from) && !(d->cfg.loopback_testnet && dht_addr_is_loopback(from)))
		return;
	for (int i = 0; i < DHT_ADAPTIVE_SLOTS; i++) {
		if (d->adapt[i].ip.family && dht_addr_ip_eq(&d->adapt[i].ip, from))
			return; /* the first unsolicited contact counts */
		if (d->adapt[i].ms < d->adapt[slot].ms)
			slot = i;
	}
	d->adapt[slot].ip = *from;
	d->adapt[slot].ip.port = 0;
	d->adapt[slot].ms = now_ms ? now_ms : 1;
	d->adapt[slot].proven = false;
}

void
dht_adaptive_token(struct dht *d, const struct dht_addr *from, uint64_t now_ms)
{
	int n = 0;
	bool hit = false;

	if (d->server_now || d->cfg.mode != DHT_MODE_ADAPTIVE)
		return;
	/* Second half: the sender presents the token we sent to that IP in
	 * answer to its unsolicited query, so it did receive our reply there:
	 * the unsolicited query was real, and it reached us. */
	for (int i = 0; i < DHT_ADAPTIVE_SLOTS; i++) {
		struct dht_adapt *a = &d->adapt[i];
		if (!a->ip.family || now_ms - a->ms >= DHT_ADAPTIVE_WINDOW_MS)
			continue;
		if (dht_addr_ip_eq(&a->ip, from) && !a->proven) {
			a->proven = true;
			hit = true;
		}
		if (a->proven)
			n++;
	}
	if (hit && n >= DHT_ADAPTIVE_MIN_IPS) {
		d->server_now = true;
		log_info("reachable from outside (%d nodes that reached us unasked returned our "
			 "tokens): switching to server mode", n);
	}
}

static bool
rate_ok(struct dht *d, const struct dht_addr *from, uint64_t now_ms)
{
	struct dht_rate *r;
	uint64_t add;

	if (d->cfg.loopback_testnet && dht_addr_is_loopback(from))
		return true;
	r = &d->rate[ip_hash(from) % DHT_RATE_SLOTS];
	if (!dht_addr_ip_eq(&r->ip, from)) {
		r->ip = *from;
		r->last_ms = now_ms;
		r->tokens_milli = RATE_BURST * 1000u;
	}
	add = (now_ms - r->last_ms) * RATE_PER_S;
	r->last_ms = now_ms;
	if (add > RATE_BURST * 1000u || r->tokens_milli + add > RATE_BURST * 1000u)
		r->tokens_milli = RATE_BURST * 1000u;
	else
		r->tokens_milli += (uint32_t)add;
	if (r->tokens_milli < 1000u)
		return false;
	r->tokens_milli -= 1000u;
	return true;
}

static void
handle_reply(struct dht *d, const struct krpc_msg *m, const struct dht_addr *from,
	uint64_t now_ms)
{
	struct dht_txn t;
	uint16_t idx, salt;
	struct dht_lookup *l;

	if (m->t.n != 4)
		return;
	idx = (uint16_t)(m->t.p[0] << 8 | m->t.p[1]);
	salt = (uint16_t)(m->t.p[2] << 8 | m->t.p[3]);
	if (idx >= DHT_MAX_TXN || !d->txn[idx].used || d->txn[idx].salt != salt ||
	    !dht_addr_eq(&d->txn[idx].to, from))
		return;
	/* A reply claiming our own ID is a reflection or a lie: ignore it as
	 * if it never came, so the query is still answered or times out.
	 * Spending the transaction on it would leave the look-up that sent
	 * the query waiting for this node forever: look-ups hear only of
	 * replies and timeouts. */
	if (m->y == 'r' && memcmp(m->id, d->id, 20) == 0)
		return;
	t = d->txn[idx];
	d->txn[idx].used = false;
	if (dht_addr_eq(&silent_slot(d, from)->addr, from))
		silent_slot(d, from)->fails = 0;
	d->last_reply_ms = now_ms ? now_ms : 1;
	d->fails_since_reply = 0;
	if (m->y == 'r') {
		for (int i = 0; i < d->nboot; i++)
			if (dht_addr_eq(&d->boot[i], from))
				d->boot_used_ms[i] = now_ms;
		uint64_t rtt = now_ms > t.sent_ms ? now_ms - t.sent_ms : 1;
		routing_heard(dht_rt(d, from->family), m->id, from, ROUTING_REPLY, now_ms);
		routing_rtt(dht_rt(d, from->family), m->id, from, rtt);
		if (rtt > d->cfg.query_timeout_ms)
			rtt = d->cfg.query_timeout_ms;
		d->rtt_est_ms = d->rtt_est_ms ? (unsigned)((7u * d->rtt_est_ms + rtt) / 8u)
					      : (unsigned)rtt;
		if (m->ip.p)
			external_vote(d, from, &m->ip, now_ms);
	}
	if (t.lookup_id && (l = dht_lookup_find(d, t.lookup_id)) != NULL)
		dht_lookup_reply(d, l, &t, m, now_ms);
}

static void
input_one(struct dht *d, struct krpc_msg *m, const struct dht_datagram *dg, uint64_t now_ms)
{
	struct dht_addr a;
	int rc;

	if (dg->buf == NULL || dht_addr_from_sockaddr(dg->from, dg->fromlen, &a) < 0 ||
	    a.port == 0)
		return;
	rc = krpc_parse(dg->buf, dg->len, m);
	if (rc == 0 && m->y == 'q') {
		adaptive_note(d, &a, now_ms);
		if (dht_answering(d) && rate_ok(d, &a, now_ms))
			dht_server_query(d, m, &a, now_ms);
	} else if (rc == KRPC_ERR_FIELD && m->y == 'q' && m->t.p && dht_answering(d) &&
		   rate_ok(d, &a, now_ms)) {
		dht_server_error(d, m, &a, KRPC_E_PROTOCOL, "invalid arguments");
	} else if (rc == 0 && (m->y == 'r' || m->y == 'e')) {
		handle_reply(d, m, &a, now_ms);
	}
}

void
dht_input_batch(struct dht *d, const struct dht_datagram *dg, size_t n, uint64_t now_ms)
{
	struct krpc_msg *m;

	if (d == NULL || dg == NULL || n == 0)
		return;
	d->now_ms = now_ms;
	/* The message struct holds 64 value views: keep it off the stack. */
	m = malloc(sizeof(*m));
	if (m == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		input_one(d, m, &dg[i], now_ms);
	free(m);
	/* Look-ups started by callbacks are appended and step themselves;
	 * only those a reply touched are due. */
	for (struct dht_lookup *l = d->lookups; l; l = l->next) {
		if (!l->step_due)
			continue;
		l->step_due = false;
		dht_lookup_step(d, l, now_ms);
	}
	dht_lookups_finish(d, now_ms);
}

void
dht_input(struct dht *d, const uint8_t *buf, size_t len, const struct sockaddr *from,
	socklen_t fromlen, uint64_t now_ms)
{
	struct dht_datagram dg = { buf, len, from, fromlen };

	if (d == NULL || buf == NULL)
		return;
	dht_input_batch(d, &dg, 1, now_ms);
}

static void
set_health(struct dht *d, uint8_t h)
{
	d->health = h;
	d->health_changes++;
}

/* Say when the DHT stops or starts answering, once per change: a line per
 * failed query would flood the log of a machine that is offline. */
static void
health_check(struct dht *d, size_t count, uint64_t now_ms)
{
	bool recent = d->last_reply_ms && now_ms - d->last_reply_ms < DOWN_QUIET_MS;

	if (d->health != DHT_HEALTH_UP) {
		if (!recent || count == 0) {
			d->up_candidate_ms = 0;
		} else if (d->up_candidate_ms == 0) {
			d->up_candidate_ms = now_ms;
		}
		if (d->up_candidate_ms &&
		    (count >= (size_t)d->cfg.k || now_ms - d->up_candidate_ms >= UP_SETTLE_MS)) {
			set_health(d, DHT_HEALTH_UP);
			d->up_candidate_ms = 0;
			if (!d->cfg.quiet)
				log_info("DHT up: %zu nodes", count);
			return;
		}
	}
	if (d->health == DHT_HEALTH_STARTING && !recent &&
	    now_ms - d->start_ms >= START_GRACE_MS) {
		set_health(d, DHT_HEALTH_DOWN);
		if (!d->cfg.quiet)
			log_info("no DHT node answers (offline?)");
	} else if (d->health == DHT_HEALTH_UP &&
		   (count == 0 || (!recent && d->fails_since_reply >= DOWN_FAILS))) {
		set_health(d, DHT_HEALTH_DOWN);
		if (!d->cfg.quiet)
			log_info("no DHT node answers (offline?)");
		dht_rebootstrap(d, now_ms);
	}
}

/* A lone find_node(self) to a bootstrap address: the reply puts the node
 * in the table and the next maintenance round starts the self look-up
 * from it. */
static int
boot_send(struct dht *d, const struct dht_addr *a, uint64_t now_ms)
{
	struct krpc_query q;

	memset(&q, 0, sizeof(q));
	q.method = KRPC_M_FIND_NODE;
	q.target = d->id;
	q.port = -1;
	/* BEP 32: a dual-stack node bootstraps both tables at once */
	q.want_n4 = q.want_n6 = dht_want_both(d);
	d->last_boot_ms = 0;
	return dht_send_query(d, &q, a, TXN_PING, 0, now_ms);
}

void
dht_rebootstrap(struct dht *d, uint64_t now_ms)
{
	if (d == NULL)
		return;
	d->now_ms = now_ms;
	routing_revive(&d->rt4);
	routing_revive(&d->rt6);
	/* (sending is no use of an address: only a reply marks it) */
	for (int i = 0; i < d->nboot; i++)
		(void)boot_send(d, &d->boot[i], now_ms);
	d->last_boot_ms = 0;
}

static void
maintenance(struct dht *d, uint64_t now_ms)
{
	struct routing_node n;
	uint8_t target[20];
	size_t count = routing_count(&d->rt4, now_ms, NULL) + routing_count(&d->rt6, now_ms, NULL);
	struct krpc_query q;

	dht_tokens_tick(&d->tokens, now_ms);
	health_check(d, count, now_ms);
	if (now_ms - d->last_expire_ms >= EXPIRE_INTERVAL_MS) {
		d->last_expire_ms = now_ms;
		dht_store_expire(&d->store, now_ms);
	}
	for (int fam = 4; fam <= 6; fam += 2) {
		struct routing *rt = dht_rt(d, fam);
		for (int i = 0; i < 4 && routing_next_ping(rt, now_ms, &n) == 1; i++) {
			memset(&q, 0, sizeof(q));
			q.method = KRPC_M_PING;
			q.port = -1;
			dht_send_query(d, &q, &n.addr, TXN_PING, 0, now_ms);
		}
		if (routing_next_refresh(rt, now_ms, target) == 1) {
			struct dht_lookup *l = dht_lookup_new(d, LK_FIND_NODE, target, now_ms);
			if (l) {
				l->internal = true;
				dht_lookup_step(d, l, now_ms);
			}
		}
	}
	/* Low on nodes: look ourselves up again, seeded from the bootstrap
	 * addresses (dht_lookup_new adds them when the table is thin). */
	if (count < (size_t)d->cfg.k && (d->nboot > 0 || count > 0) &&
	    (d->last_boot_ms == 0 || now_ms - d->last_boot_ms >= BOOT_INTERVAL_MS)) {
		struct dht_lookup *l = dht_lookup_new(d, LK_FIND_NODE, d->id, now_ms);
		d->last_boot_ms = now_ms;
		if (l) {
			l->internal = true;
			dht_lookup_step(d, l, now_ms);
		}
	}
}

uint64_t
dht_periodic(struct dht *d, uint64_t now_ms)
{
	uint64_t next = MAINT_INTERVAL_MS, half = d->cfg.query_timeout_ms / 2;

	d->now_ms = now_ms;

	for (int i = 0; i < DHT_MAX_TXN; i++) {
		struct dht_txn *t = &d->txn[i];
		struct dht_lookup *l;
		uint64_t age, due, soft;
		if (!t->used)
			continue;
		age = now_ms - t->sent_ms;
		if (age >= d->cfg.query_timeout_ms) {
			struct dht_txn copy = *t;
			t->used = false;
			d->fails_since_reply++;
			routing_failed(dht_rt(d, copy.to.family), &copy.to);
			silent_note(d, &copy.to, now_ms);
			if (copy.lookup_id && (l = dht_lookup_find(d, copy.lookup_id)) != NULL)
				dht_lookup_timeout(d, l, &copy, false, now_ms);
			continue;
		}
		soft = t->soft_ms && t->soft_ms < half ? t->soft_ms : half;
		if (!t->slow && age >= soft && t->purpose == TXN_LOOKUP) {
			t->slow = true;
			if ((l = dht_lookup_find(d, t->lookup_id)) != NULL)
				dht_lookup_timeout(d, l, t, true, now_ms);
		}
		if (t->used) {
			due = (t->slow || t->purpose != TXN_LOOKUP ? d->cfg.query_timeout_ms : soft) - age;
			if (due < next)
				next = due;
		}
	}
	if (now_ms - d->last_maint_ms >= MAINT_INTERVAL_MS) {
		d->last_maint_ms = now_ms;
		maintenance(d, now_ms);
	}
	/* Deadlines, and look-ups that found every transaction busy. */
	for (struct dht_lookup *l = d->lookups; l; l = l->next) {
		uint64_t end = l->start_ms + d->cfg.lookup_deadline_ms;
		if (l->dead || l->finished)
			continue;
		if (now_ms >= end && !l->st.deadline)
			dht_lookup_expire(d, l, now_ms);
		else if (l->stalled)
			dht_lookup_step(d, l, now_ms);
		if (l->stalled && next > STALL_RETRY_MS)
			next = STALL_RETRY_MS;
		if (!l->st.deadline && end - now_ms < next)
			next = end - now_ms;
	}
	dht_lookups_finish(d, now_ms);
	for (struct dht_lookup *l = d->lookups; l; l = l->next)
		if (l->finished)
			next = 0;
	return next ? next : 1;
}

int
dht_add_bootstrap(struct dht *d, const struct sockaddr *sa, socklen_t salen)
{
	struct dht_addr a;
	uint64_t now_ms = d->now_ms;
	int res = DHT_BOOT_ADDED, slot = -1;

	if (dht_addr_from_sockaddr(sa, salen, &a) < 0 || a.port == 0)
		return DHT_BOOT_ERROR;
	/* Told to join through this host: the network lives here (a
	 * testnet in another process, a libtorrent one, a benchmark), its
	 * nodes share 127.0.0.1 and only their ports tell them apart. Only
	 * this host sends from loopback, and nodes enter the table only on
	 * direct contact, so no one outside can fill it this way. */
	if (dht_addr_is_loopback(&a))
		d->rt4.relax_loopback = d->rt6.relax_loopback = true;
	for (int i = 0; i < d->nboot && slot < 0; i++)
		if (dht_addr_eq(&d->boot[i], &a)) {
			slot = i;
			res = DHT_BOOT_KNOWN;
		}
	if (slot < 0 && d->nboot < DHT_MAX_BOOT) {
		slot = d->nboot++;
	} else if (slot < 0) {
		/* full: the address unused longest (the first of equals) */
		slot = 0;
		for (int i = 1; i < d->nboot; i++)
			if (d->boot_used_ms[i] < d->boot_used_ms[slot])
				slot = i;
		res = DHT_BOOT_REPLACED;
	}
	d->boot[slot] = a;
	d->boot_used_ms[slot] = now_ms;
	if (boot_send(d, &a, now_ms) < 0)
		return DHT_BOOT_ERROR;
	return res;
}

int
dht_bep44_signable(uint8_t *out, size_t cap, const uint8_t *salt, size_t salt_len,
	int64_t seq, const uint8_t *v, size_t v_len)
{
	uint8_t enc[DHT_MAX_VALUE + 16];
	struct bencode_writer w;
	int n;

	if (v_len > DHT_MAX_VALUE)
		return -1;
	bencode_writer_init(&w, enc, sizeof(enc));
	bencode_put_str(&w, v, v_len);
	n = bencode_writer_done(&w);
	if (n < 0)
		return -1;
	return dht_signable_raw(out, cap, salt, salt_len, seq, enc, (size_t)n);
}

void
dht_immutable_target(const uint8_t *v, size_t v_len, uint8_t target[20])
{
	uint8_t enc[DHT_MAX_VALUE + 16];
	struct bencode_writer w;
	int n;

	bencode_writer_init(&w, enc, sizeof(enc));
	bencode_put_str(&w, v, v_len);
	n = bencode_writer_done(&w);
	dht_sha1(enc, n > 0 ? (size_t)n : 0, target);
}

static int
put_nodes(struct bencode_writer *w, const struct routing *rt, const char *key)
{
	size_t max = routing_capacity(rt), n;
	size_t sz = rt->family == 4 ? DHT_COMPACT_NODE4 : DHT_COMPACT_NODE6;
	struct routing_node *all = calloc(max ? max : 1, sizeof(*all));
	uint8_t *buf;

	if (all == NULL)
		return -1;
	n = routing_all(rt, all, max);
	buf = malloc(n * sz + 1);
	if (buf == NULL) {
		free(all);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		memcpy(buf + i * sz, all[i].id, 20);
		dht_addr_compact(&all[i].addr, buf + i * sz + 20);
	}
	bencode_put_cstr(w, key);
	bencode_put_str(w, buf, n * sz);
	free(buf);
	free(all);
	return 0;
}

int
dht_save_nodes(const struct dht *d, uint8_t *buf, size_t cap)
{
	struct bencode_writer w;

	bencode_writer_init(&w, buf, cap);
	bencode_put_dict(&w);
	bencode_put_cstr(&w, "id");
	bencode_put_str(&w, d->id, 20);
	if (put_nodes(&w, &d->rt4, "nodes") < 0 || put_nodes(&w, &d->rt6, "nodes6") < 0)
		return -1;
	bencode_put_end(&w);
	return bencode_writer_done(&w);
}

size_t
dht_save_nodes_size(const struct dht *d)
{
	/* the dictionary, its keys and the strings' length prefixes fit in
	 * 64 bytes; then each node's compact form */
	return 64 + routing_count(&d->rt4, d->now_ms, NULL) * DHT_COMPACT_NODE4 +
	    routing_count(&d->rt6, d->now_ms, NULL) * DHT_COMPACT_NODE6;
}

int
dht_load_nodes(struct dht *d, const uint8_t *buf, size_t len, uint64_t now_ms)
{
	struct bencode_value top, v;
	int loaded = 0;

	if (bencode_parse(buf, len, &top, NULL) < 0 || top.type != BENCODE_DICT)
		return -1;
	if (bencode_dict_get(&top, "id", &v) == 0 && v.type == BENCODE_STR &&
	    v.str_len == 20 && !d->id_fixed && memcmp(v.str, d->id, 20) != 0) {
		memcpy(d->id, v.str, 20);
		routing_set_self(&d->rt4, d->id, now_ms);
		routing_set_self(&d->rt6, d->id, now_ms);
	}
	for (int fam = 4; fam <= 6; fam += 2) {
		size_t sz = fam == 4 ? DHT_COMPACT_NODE4 : DHT_COMPACT_NODE6;
		if (bencode_dict_get(&top, fam == 4 ? "nodes" : "nodes6", &v) < 0)
			continue;
		if (v.type != BENCODE_STR || v.str_len % sz != 0)
			return -1;
		for (size_t i = 0; i + sz <= v.str_len; i += sz) {
			struct dht_addr a;
			if (dht_addr_uncompact(v.str + i + 20, sz - 20, &a) < 0)
				continue;
			if (routing_heard(dht_rt(d, fam), v.str + i, &a, ROUTING_LOADED, now_ms) == 1)
				loaded++;
		}
	}
	return loaded;
}

void
dht_get_info(const struct dht *d, uint64_t now_ms, struct dht_info *out)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->id, d->id, 20);
	out->server = d->server_now;
	out->nodes4 = routing_count(&d->rt4, now_ms, &out->good4);
	out->nodes6 = routing_count(&d->rt6, now_ms, &out->good6);
	out->items = d->store.n_items;
	out->health = d->health;
	out->health_changes = d->health_changes;
	for (const struct dht_lookup *l = d->lookups; l; l = l->next)
		if (!l->dead)
			out->lookups++;
	if (d->external.family) {
		out->have_external = true;
		dht_addr_str(&d->external, out->external, sizeof(out->external));
	}
}
