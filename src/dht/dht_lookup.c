/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dht_lookup.c -- iterative look-ups (BEP 5 "find_node", BEP 44 get/put).
 *
 * Candidates are kept sorted by XOR distance to the target (addresses whose
 * ID is not known yet, i.e. bootstrap nodes, first). Up to alpha queries
 * are in flight. Among the k closest candidates not known to have failed,
 * the next query goes to the one expected to answer first: the routing
 * table's measured round trip, or the node's smoothed round trip of all
 * replies when it has none for that node, weighed up by a quarter for
 * each place down the list (a closer node more likely holds the value);
 * a node that missed its last query, or whose ID is not BEP 42-valid for
 * its address, counts as slower; one that left its last two queries
 * unanswered while others answer is not asked (next_cand,
 * dht_silent_fails). A query unanswered after its soft timeout --
 * about twice the round trip expected of that node, at most half the
 * timeout -- stops counting toward alpha, so a dead or slow node widens
 * the look-up instead of stalling it; its answer is still taken until the
 * (hard) query timeout. No node is queried twice. The look-up ends when the k closest candidates
 * that did not fail have all answered, or nothing is left to ask. A put
 * then sends the item to the k closest nodes that returned a token.
 *
 * Callbacks may cancel look-ups or start new ones: look-ups are only ever
 * marked dead during callbacks and freed at the top of dht_input /
 * dht_periodic, and every loop re-checks `dead` after calling out.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define LOG_MODULE "dht"
#include "util/log.h"

#include "dht/bencode.h"
#include "dht/dht_internal.h"

static int
cand_cmp(const struct dht_lookup *l, const struct lookup_cand *a,
	const struct lookup_cand *b)
{
	if (!a->id_known || !b->id_known)
		return (int)a->id_known - (int)b->id_known;
	return dht_id_cmp_dist(l->target, a->id, b->id);
}

static void
resort(struct dht_lookup *l)
{
	for (size_t i = 1; i < l->nc; i++) {
		struct lookup_cand c = l->c[i];
		size_t j = i;
		while (j > 0 && cand_cmp(l, &c, &l->c[j - 1]) < 0) {
			l->c[j] = l->c[j - 1];
			j--;
		}
		l->c[j] = c;
	}
}

static struct lookup_cand *
cand_by_addr(struct dht_lookup *l, const struct dht_addr *a)
{
	for (size_t i = 0; i < l->nc; i++)
		if (dht_addr_eq(&l->c[i].addr, a))
			return &l->c[i];
	return NULL;
}

/* One IPv4 /24 or IPv6 /48: what one party can cheaply fill with Sybil
 * nodes. */
static bool
same_subnet(const struct dht_addr *a, const struct dht_addr *b)
{
	if (a->family != b->family)
		return false;
	return memcmp(a->ip, b->ip, a->family == 4 ? 3 : 6) == 0;
}

static bool
was_asked(const struct dht_lookup *l, const struct dht_addr *a)
{
	for (size_t i = 0; i < l->nasked; i++)
		if (dht_addr_eq(&l->asked[i], a))
			return true;
	return false;
}

static void
cand_remove(struct dht_lookup *l, size_t i)
{
	memmove(&l->c[i], &l->c[i + 1], (l->nc - i - 1) * sizeof(l->c[0]));
	l->nc--;
}

/* The per-subnet cap: true when c may join. A full subnet makes room for
 * a BEP 42-valid newcomer by dropping one of its unasked candidates whose
 * ID is not valid; anything else of that subnet waits outside. Loopback
 * is this host: testnets run many nodes there and nobody else can. */
static bool
subnet_room(struct dht *d, struct dht_lookup *l, const struct lookup_cand *c)
{
	size_t n = 0, weak = SIZE_MAX;

	if (dht_addr_is_loopback(&c->addr))
		return true;
	for (size_t i = 0; i < l->nc; i++) {
		if (!same_subnet(&l->c[i].addr, &c->addr))
			continue;
		n++;
		if (l->c[i].state == CAND_NEW && !l->c[i].bep42_ok)
			weak = i;
	}
	if (n < d->cfg.lookup_per_subnet)
		return true;
	if (!c->bep42_ok || weak == SIZE_MAX)
		return false;
	cand_remove(l, weak);
	return true;
}

bool
dht_lookup_add(struct dht *d, struct dht_lookup *l, const uint8_t *id,
	const struct dht_addr *a, bool from_reply)
{
	struct lookup_cand c;
	size_t pos;

	if (a->port == 0 || cand_by_addr(l, a))
		return false;
	if (id) {
		for (size_t i = 0; i < l->nc; i++)
			if (l->c[i].id_known && memcmp(l->c[i].id, id, 20) == 0)
				return false;
	}
	if (was_asked(l, a)) {
		l->st.refused++;
		return false;
	}
	memset(&c, 0, sizeof(c));
	c.addr = *a;
	if (id) {
		unsigned fails = dht_silent_fails(d, a, d->now_ms);
		/* twice silent lately while others answer: churned or NAT'd,
		 * not worth a query (bootstrap addresses are always tried) */
		if (fails >= 2 && d->health == DHT_HEALTH_UP)
			return false;
		memcpy(c.id, id, 20);
		c.id_known = true;
		c.bep42_ok = dht_addr_is_local(a) || dht_bep42_valid(a, id);
		c.fails = (uint8_t)(fails > 255 ? 255 : fails);
	}
	pos = l->nc;
	while (pos > 0 && cand_cmp(l, &c, &l->c[pos - 1]) < 0)
		pos--;
	if (pos >= l->cap)
		return false;
	if (from_reply && !subnet_room(d, l, &c)) {
		l->st.refused++;
		return false;
	}
	/* subnet_room may have removed a candidate before pos */
	pos = l->nc;
	while (pos > 0 && cand_cmp(l, &c, &l->c[pos - 1]) < 0)
		pos--;
	if (l->nc == l->cap)
		l->nc--; /* drop the farthest; `asked` remembers it if asked */
	memmove(&l->c[pos + 1], &l->c[pos], (l->nc - pos) * sizeof(c));
	l->c[pos] = c;
	l->nc++;
	return true;
}

struct dht_lookup *
dht_lookup_new(struct dht *d, uint8_t kind, const uint8_t target[20], uint64_t now_ms)
{
	struct dht_lookup *l = calloc(1, sizeof(*l)), **tail;
	struct routing_node *near;
	size_t n, total = 0;

	if (l == NULL)
		return NULL;
	l->cap = (size_t)d->cfg.k * 4 + 16;
	l->c = calloc(l->cap, sizeof(*l->c));
	l->asked = malloc(d->cfg.lookup_budget * sizeof(*l->asked));
	near = malloc(l->cap * sizeof(*near)); /* routing_closest fills it */
	if (l->c == NULL || l->asked == NULL || near == NULL) {
		free(l->c);
		free(l->asked);
		free(near);
		free(l);
		return NULL;
	}
	l->id = d->next_lookup_id++;
	if (l->id == 0)
		l->id = d->next_lookup_id++;
	l->kind = kind;
	memcpy(l->target, target, 20);
	l->start_ms = now_ms;
	l->best_seq = INT64_MIN;
	l->max_seq = INT64_MAX;
	l->st.lookup_id = l->id;
	l->st.first_value_ms = -1;
	l->cas = -1;
	for (int fam = 4; fam <= 6; fam += 2) {
		n = routing_closest(dht_rt(d, fam), target, near, l->cap);
		for (size_t i = 0; i < n; i++) {
			/* The first table's nodes come sorted and distinct:
			 * append them without dht_lookup_add's searches. */
			if (l->nc == i && fam == 4 && near[i].addr.port != 0) {
				struct lookup_cand *c = &l->c[l->nc++];
				memcpy(c->id, near[i].id, 20);
				c->id_known = true;
				c->bep42_ok = near[i].bep42_ok;
				c->addr = near[i].addr;
				c->rtt_ms = near[i].rtt_ms;
				c->fails = near[i].fails;
				c->unverified = routing_node_unverified(&near[i]);
				if (dht_silent_fails(d, &c->addr, now_ms) > c->fails)
					c->fails = (uint8_t)dht_silent_fails(d, &c->addr, now_ms);
				continue;
			}
			if (dht_lookup_add(d, l, near[i].id, &near[i].addr, false)) {
				struct lookup_cand *c = cand_by_addr(l, &near[i].addr);
				c->rtt_ms = near[i].rtt_ms;
				c->unverified = routing_node_unverified(&near[i]);
				if (near[i].fails > c->fails)
					c->fails = near[i].fails;
			}
		}
		total += n;
	}
	free(near);
	if (total < (size_t)d->cfg.k)
		for (int i = 0; i < d->nboot; i++)
			dht_lookup_add(d, l, NULL, &d->boot[i], false);
	for (tail = &d->lookups; *tail; tail = &(*tail)->next)
		;
	*tail = l;
	return l;
}

struct dht_lookup *
dht_lookup_find(struct dht *d, uint32_t id)
{
	for (struct dht_lookup *l = d->lookups; l; l = l->next)
		if (l->id == id && !l->dead)
			return l;
	return NULL;
}

/* What a candidate is expected to cost before it answers, in ms: its
 * measured round trip, else the node's smoothed one (else half the
 * timeout); a node that missed its last query or whose ID is not BEP
 * 42-valid waits behind every healthy one. */
static uint64_t
cand_cost(const struct dht *d, const struct lookup_cand *c)
{
	uint64_t ms = c->rtt_ms ? c->rtt_ms :
		      d->rtt_est_ms ? d->rtt_est_ms : d->cfg.query_timeout_ms / 2;

	if (c->fails)
		ms += d->cfg.query_timeout_ms;
	/* a table entry only heard of may be long gone (on the emulated
	 * internet 30-50 % are): it counts twice the round trip, so the
	 * first queries go to nodes known alive unless it is much closer */
	if (c->unverified)
		ms *= 2;
	if (!c->bep42_ok && c->id_known)
		ms += d->cfg.query_timeout_ms;
	return ms;
}

/* The soft timeout of a query to c: twice the round trip expected of it
 * plus 100 ms of slack (jitter, scheduling), between LOOKUP_SOFT_MIN_MS
 * and half the query timeout. A node heard from before that misses it
 * is most likely lost or gone; one never measured is given twice the
 * smoothed round trip of all nodes. */
#define LOOKUP_SOFT_MIN_MS 150u
static uint32_t
soft_timeout(const struct dht *d, const struct lookup_cand *c)
{
	uint64_t half = d->cfg.query_timeout_ms / 2, base = c->rtt_ms ? c->rtt_ms : d->rtt_est_ms;
	uint64_t s = 2 * base + 100;

	if (base == 0 || s > half)
		return (uint32_t)half;
	return (uint32_t)(s < LOOKUP_SOFT_MIN_MS ? LOOKUP_SOFT_MIN_MS : s);
}

static int
send_get(struct dht *d, struct dht_lookup *l, struct lookup_cand *c, uint64_t now_ms)
{
	struct krpc_query q;
	int rc;

	memset(&q, 0, sizeof(q));
	q.port = -1;
	q.target = l->target;
	if (l->kind == LK_FIND_NODE) {
		q.method = KRPC_M_FIND_NODE;
		/* BEP 32: a dual-stack node bootstrapping asks for both
		 * families, so each DHT helps fill the other's table. */
		if (dht_want_both(d) &&
		    (routing_count(&d->rt4, now_ms, NULL) < (size_t)d->cfg.k ||
			routing_count(&d->rt6, now_ms, NULL) < (size_t)d->cfg.k))
			q.want_n4 = q.want_n6 = true;
	} else {
		q.method = KRPC_M_GET;
		/* BEP 44: with seq, nodes holding nothing newer leave v out. */
		if (l->kind == LK_GET && l->is_mutable && l->min_seq > 0) {
			q.has_seq = true;
			q.seq = l->min_seq - 1;
		}
	}
	rc = dht_send_query(d, &q, &c->addr, TXN_LOOKUP, l->id, now_ms);
	if (rc < 0)
		return rc;
	d->txn[d->last_txn].soft_ms = soft_timeout(d, c);
	if (l->nasked < d->cfg.lookup_budget)
		l->asked[l->nasked++] = c->addr;
	l->st.queried++;
	l->st.sent++;
	return 0;
}

static int
send_put(struct dht *d, struct dht_lookup *l, struct lookup_cand *c, uint64_t now_ms)
{
	const struct dht_item *it = l->put_item;
	uint8_t enc[DHT_MAX_VALUE + 16];
	struct bencode_writer w;
	struct krpc_query q;
	int n;

	bencode_writer_init(&w, enc, sizeof(enc));
	bencode_put_str(&w, it->v, it->v_len);
	n = bencode_writer_done(&w);
	if (n < 0)
		return -1;
	memset(&q, 0, sizeof(q));
	q.method = KRPC_M_PUT;
	q.port = -1;
	q.token = c->token;
	q.token_len = c->token_len;
	q.value = enc;
	q.value_len = (size_t)n;
	if (it->is_mutable) {
		q.k = it->k;
		q.sig = it->sig;
		q.salt = it->salt;
		q.salt_len = it->salt_len;
		q.has_seq = true;
		q.seq = it->seq;
		if (l->cas >= 0) {
			q.has_cas = true;
			q.cas = l->cas;
		}
	}
	if (dht_send_query(d, &q, &c->addr, TXN_PUT, l->id, now_ms) < 0)
		return -1;
	l->st.sent++;
	return 0;
}

static void
finish(struct dht_lookup *l, uint64_t now_ms)
{
	if (l->finished)
		return;
	l->finished = true;
	l->st.elapsed_ms = now_ms - l->start_ms;
}

static void
start_put(struct dht *d, struct dht_lookup *l, uint64_t now_ms)
{
	int sent = 0;

	l->put_phase = true;
	for (size_t i = 0; i < l->nc && sent < d->cfg.k; i++) {
		struct lookup_cand *c = &l->c[i];
		if (c->state != CAND_REPLIED || c->token_len == 0)
			continue;
		if (send_put(d, l, c, now_ms) == 0) {
			c->put_state = 1;
			sent++;
		}
	}
	if (sent == 0)
		finish(l, now_ms);
}

/* The candidate to ask next: of the k closest not known to have failed
 * (a look-up that has them all answered is done), the unasked one
 * expected to answer first (cand_cost; the closer one of equals); when
 * all of those are asked, the closest unasked one beyond them. NULL when
 * the k closest have answered or nobody is left. */
static struct lookup_cand *
next_cand(const struct dht *d, struct dht_lookup *l)
{
	struct lookup_cand *best = NULL;
	uint64_t best_cost = UINT64_MAX;
	size_t live = 0, replied = 0;

	for (size_t i = 0; i < l->nc; i++) {
		struct lookup_cand *c = &l->c[i];
		if (c->state == CAND_FAILED)
			continue;
		if (c->state == CAND_REPLIED && ++replied >= (size_t)d->cfg.k)
			break;
		if (live >= (size_t)d->cfg.k) {
			if (best == NULL && c->state == CAND_NEW)
				return c;
			continue;
		}
		/* the closer, the likelier it holds the value or knows the
		 * nodes that do: each place down the list weighs a quarter
		 * of the expected round trip */
		if (c->state == CAND_NEW) {
			uint64_t cost = cand_cost(d, c) * (4 + live) / 4;
			if (cost < best_cost) {
				best = c;
				best_cost = cost;
			}
		}
		live++;
	}
	return best;
}

void
dht_lookup_step(struct dht *d, struct dht_lookup *l, uint64_t now_ms)
{
	size_t inflight = 0, replied = 0;
	bool done = true, spent;
	int rc;

	if (l->dead || l->finished)
		return;
	l->stalled = false;
	if (l->put_phase) {
		for (size_t i = 0; i < l->nc; i++)
			if (l->c[i].put_state == 1)
				return;
		finish(l, now_ms);
		return;
	}
	for (size_t i = 0; i < l->nc; i++)
		if (l->c[i].state == CAND_INFLIGHT && !l->c[i].slow)
			inflight++;
	while (inflight < (size_t)d->cfg.alpha) {
		struct lookup_cand *c = next_cand(d, l);
		if (c == NULL || l->st.queried >= d->cfg.lookup_budget)
			break;
		rc = send_get(d, l, c, now_ms);
		if (rc == DHT_SEND_UNREACHABLE) {
			c->state = CAND_FAILED; /* no route: do not wait for it */
			continue;
		}
		if (rc < 0) {
			l->stalled = true; /* every transaction busy: retry soon */
			break;
		}
		c->state = CAND_INFLIGHT;
		inflight++;
	}
	/* Out of budget: what is in flight still counts, the rest is never
	 * asked. */
	spent = l->st.queried >= d->cfg.lookup_budget;
	if (spent)
		l->st.budget_spent = true;
	replied = 0;
	for (size_t i = 0; i < l->nc; i++) {
		if (l->c[i].state == CAND_FAILED)
			continue;
		if (spent && l->c[i].state == CAND_NEW)
			continue;
		if (l->c[i].state == CAND_REPLIED) {
			if (++replied >= (size_t)d->cfg.k)
				break;
			continue;
		}
		done = false;
		break;
	}
	if (!done)
		return;
	if (l->kind == LK_PUT)
		start_put(d, l, now_ms);
	else
		finish(l, now_ms);
}

static void
report(struct dht_lookup *l, const struct dht_item *it, uint64_t now_ms)
{
	l->have_value = true;
	l->st.values++;
	if (l->st.first_value_ms < 0)
		l->st.first_value_ms = (int64_t)(now_ms - l->start_ms);
	if (l->get_cb && !l->internal)
		l->get_cb(l->ctx, it);
}

static void
check_value(struct dht_lookup *l, const struct krpc_msg *m, const struct dht_addr *from,
	uint64_t now_ms)
{
	struct dht_item *it;
	uint8_t md[20];

	if (m->value.p == NULL || m->value_str.p == NULL || m->value_str.n > DHT_MAX_VALUE)
		return;
	if (l->is_mutable) {
		uint8_t signable[DHT_MAX_VALUE + DHT_MAX_SALT + 64];
		int n;
		if (m->k == NULL || m->sig == NULL || !m->has_seq || memcmp(m->k, l->k, 32) != 0)
			return;
		if (m->seq < l->min_seq ||
		    (l->have_value && m->seq <= l->best_seq))
			return;
		n = dht_signable_raw(signable, sizeof(signable), l->salt, l->salt_len,
			m->seq, m->value.p, m->value.n);
		if (n < 0 || crypto_sign_verify_detached(m->sig, signable,
				     (unsigned long long)n, l->k) != 0)
			return;
		/* signed by the key but dated too far ahead: not a value, but
		 * the caller must know that one exists (its clock may be the
		 * one that is behind) */
		if (m->seq > l->max_seq) {
			l->st.too_new++;
			return;
		}
		l->best_seq = m->seq;
	} else {
		if (l->have_value)
			return;
		dht_sha1(m->value.p, m->value.n, md);
		if (memcmp(md, l->target, 20) != 0)
			return;
	}
	it = calloc(1, sizeof(*it));
	if (it == NULL)
		return;
	it->is_mutable = l->is_mutable;
	if (l->is_mutable) {
		memcpy(it->k, l->k, 32);
		memcpy(it->sig, m->sig, 64);
		it->seq = m->seq;
		memcpy(it->salt, l->salt, l->salt_len);
		it->salt_len = l->salt_len;
	}
	memcpy(it->v, m->value_str.p, m->value_str.n);
	it->v_len = m->value_str.n;
	it->from_len = dht_addr_to_sockaddr(from, &it->from);
	report(l, it, now_ms);
	free(it);
}

/* A node a reply names enters the routing table unverified when its
 * bucket has room (ROUTING_HEARD): what a ping each did before, without
 * the ping (issue 15: the slow look-ups were those whose start knew too
 * few of the target's closest nodes; pings cost more messages than they
 * gained past two a look-up). Not one silent lately, not a private
 * address from outside, and only a BEP 42-valid ID: one host cannot fill
 * the table with IDs of its choosing this way. */
static void
heard_of(struct dht *d, const uint8_t *id, const struct dht_addr *a)
{
	struct routing *rt = dht_rt(d, a->family);

	if (dht_addr_is_local(a) && !(rt->relax_loopback && dht_addr_is_loopback(a)))
		return;
	if (!dht_addr_is_local(a) && !dht_bep42_valid(a, id))
		return;
	if (dht_silent_fails(d, a, d->now_ms) == 0 && routing_wants(rt, id, a))
		routing_heard(rt, id, a, ROUTING_HEARD, d->now_ms);
}

static void
add_nodes(struct dht *d, struct dht_lookup *l, const struct krpc_str *s, size_t sz,
	unsigned *added)
{
	for (size_t i = 0; s->p && i + sz <= s->n; i += sz) {
		struct dht_addr a;
		if (memcmp(s->p + i, d->id, 20) == 0)
			continue;
		if (dht_addr_uncompact(s->p + i + 20, sz - 20, &a) < 0)
			continue;
		/* one responder introduces a bounded share of the look-up */
		if (*added >= d->cfg.lookup_per_reply) {
			l->st.refused++;
			continue;
		}
		heard_of(d, s->p + i, &a);
		if (dht_lookup_add(d, l, s->p + i, &a, true))
			(*added)++;
	}
}

void
dht_lookup_reply(struct dht *d, struct dht_lookup *l, const struct dht_txn *t,
	const struct krpc_msg *m, uint64_t now_ms)
{
	struct lookup_cand *c = cand_by_addr(l, &t->to);
	unsigned added = 0;

	l->st.responses++;
	if (t->purpose == TXN_PUT) {
		if (c)
			c->put_state = 2;
		if (m->y == 'r') {
			l->st.stored++;
		} else {
			l->st.put_errors++;
			l->st.last_error = (int)m->err_code;
		}
		l->step_due = true;
		return;
	}
	if (c && c->state != CAND_REPLIED) {
		if (m->y == 'e') {
			c->state = CAND_FAILED;
		} else {
			c->state = CAND_REPLIED;
			if (m->token.p && m->token.n <= sizeof(c->token)) {
				memcpy(c->token, m->token.p, m->token.n);
				c->token_len = (uint8_t)m->token.n;
			}
			if (!c->id_known || memcmp(c->id, m->id, 20) != 0) {
				memcpy(c->id, m->id, 20);
				c->id_known = true;
				resort(l);
			}
		}
	}
	if (m->y == 'r') {
		/* The value first: the caller is waiting for it, while the
		 * nodes and the queries they lead to only widen the look-up. */
		if (l->kind == LK_GET)
			check_value(l, m, &t->to, now_ms);
		if (l->dead)
			return; /* cancelled from the get callback */
		add_nodes(d, l, &m->nodes, DHT_COMPACT_NODE4, &added);
		add_nodes(d, l, &m->nodes6, DHT_COMPACT_NODE6, &added);
	}
	/* the next queries go out when the batch this reply came in ends */
	l->step_due = true;
}

void
dht_lookup_timeout(struct dht *d, struct dht_lookup *l, const struct dht_txn *t,
	bool slow_only, uint64_t now_ms)
{
	struct lookup_cand *c = cand_by_addr(l, &t->to);

	if (slow_only) {
		if (c && c->state == CAND_INFLIGHT)
			c->slow = true;
		dht_lookup_step(d, l, now_ms);
		return;
	}
	l->st.timeouts++;
	if (c) {
		if (t->purpose == TXN_PUT)
			c->put_state = 2;
		else if (c->state == CAND_INFLIGHT)
			c->state = CAND_FAILED;
	}
	/* Nobody answered this look-up, nor the node for long (or ever since
	 * it started): offline, or a saved table of a network that is gone
	 * (a testnet's, all on loopback). Walking the rest of the candidates
	 * would cost a query timeout per alpha of them; the first one is
	 * verdict enough, and the caller hears of it while still waiting. */
	if (!l->put_phase && l->st.responses == 0 && dht_network_silent(d, now_ms)) {
		l->st.network_silent = true;
		if (l->kind == LK_PUT)
			start_put(d, l, now_ms);
		else
			finish(l, now_ms);
		return;
	}
	dht_lookup_step(d, l, now_ms);
}

void
dht_lookup_expire(struct dht *d, struct dht_lookup *l, uint64_t now_ms)
{
	if (l->dead || l->finished || l->st.deadline)
		return;
	l->st.deadline = true;
	/* a put stores at the nodes that gave a token so far; its puts are
	 * bounded by the query timeout */
	if (l->kind == LK_PUT && !l->put_phase)
		start_put(d, l, now_ms);
	else
		finish(l, now_ms);
}

static void
lookup_free(struct dht_lookup *l)
{
	free(l->asked);
	free(l->put_item);
	free(l->c);
	free(l);
}

void
dht_lookups_finish(struct dht *d, uint64_t now_ms)
{
	struct dht_lookup **pp;

	(void)now_ms;
	/* New look-ups started by a callback are appended and visited too. */
	for (struct dht_lookup *l = d->lookups; l; l = l->next) {
		if (!l->finished || l->dead)
			continue;
		l->dead = true;
		if (l->done_cb && !l->internal)
			l->done_cb(l->ctx, &l->st);
	}
	pp = &d->lookups;
	while (*pp) {
		struct dht_lookup *l = *pp;
		if (l->dead) {
			*pp = l->next;
			lookup_free(l);
		} else {
			pp = &l->next;
		}
	}
}

void
dht_lookups_free(struct dht *d)
{
	while (d->lookups) {
		struct dht_lookup *l = d->lookups;
		d->lookups = l->next;
		lookup_free(l);
	}
}

static struct dht_lookup *
start(struct dht *d, uint8_t kind, const uint8_t target[20], dht_get_cb cb,
	dht_done_cb done, void *ctx, uint64_t now_ms)
{
	struct dht_lookup *l;

	d->now_ms = now_ms;
	l = dht_lookup_new(d, kind, target, now_ms);
	if (l == NULL)
		return NULL;
	l->get_cb = cb;
	l->done_cb = done;
	l->ctx = ctx;
	return l;
}

uint32_t
dht_get_mutable(struct dht *d, const uint8_t k[32], const uint8_t *salt,
	size_t salt_len, int64_t min_seq, dht_get_cb cb, dht_done_cb done,
	void *ctx, uint64_t now_ms)
{
	uint8_t target[20];
	struct dht_lookup *l;

	if (d == NULL || k == NULL || salt_len > DHT_MAX_SALT || (salt_len && salt == NULL))
		return 0;
	dht_mutable_target(k, salt, salt_len, target);
	l = start(d, LK_GET, target, cb, done, ctx, now_ms);
	if (l == NULL)
		return 0;
	l->is_mutable = true;
	memcpy(l->k, k, 32);
	if (salt_len)
		memcpy(l->salt, salt, salt_len);
	l->salt_len = salt_len;
	l->min_seq = min_seq;
	dht_lookup_step(d, l, now_ms);
	return l->id;
}

uint32_t
dht_get_immutable(struct dht *d, const uint8_t target[20], dht_get_cb cb,
	dht_done_cb done, void *ctx, uint64_t now_ms)
{
	struct dht_lookup *l;

	if (d == NULL || target == NULL)
		return 0;
	l = start(d, LK_GET, target, cb, done, ctx, now_ms);
	if (l == NULL)
		return 0;
	dht_lookup_step(d, l, now_ms);
	return l->id;
}

uint32_t
dht_put(struct dht *d, const struct dht_item *item, int64_t cas, dht_done_cb done,
	void *ctx, uint64_t now_ms)
{
	uint8_t target[20];
	struct dht_lookup *l;

	if (d == NULL || item == NULL || item->v_len > DHT_MAX_VALUE ||
	    item->salt_len > DHT_MAX_SALT)
		return 0;
	if (item->is_mutable) {
		uint8_t signable[DHT_MAX_VALUE + DHT_MAX_SALT + 64];
		int n = dht_bep44_signable(signable, sizeof(signable), item->salt,
			item->salt_len, item->seq, item->v, item->v_len);
		if (n < 0 || crypto_sign_verify_detached(item->sig, signable,
				     (unsigned long long)n, item->k) != 0) {
			log_warn("put refused: the item's signature does not verify");
			return 0;
		}
		dht_mutable_target(item->k, item->salt, item->salt_len, target);
	} else {
		dht_immutable_target(item->v, item->v_len, target);
	}
	l = start(d, LK_PUT, target, NULL, done, ctx, now_ms);
	if (l == NULL)
		return 0;
	l->put_item = malloc(sizeof(*item));
	if (l->put_item == NULL) {
		l->dead = true;
		return 0;
	}
	*l->put_item = *item;
	l->is_mutable = item->is_mutable;
	l->cas = item->is_mutable ? cas : -1;
	dht_lookup_step(d, l, now_ms);
	return l->id;
}

int
dht_lookup_max_seq(struct dht *d, uint32_t lookup_id, int64_t max_seq)
{
	struct dht_lookup *l = d ? dht_lookup_find(d, lookup_id) : NULL;

	if (l == NULL || !l->is_mutable)
		return -1;
	l->max_seq = max_seq;
	return 0;
}

void
dht_cancel(struct dht *d, uint32_t lookup_id)
{
	struct dht_lookup *l;

	if (d == NULL)
		return;
	l = dht_lookup_find(d, lookup_id);
	if (l)
		l->dead = true;
}
