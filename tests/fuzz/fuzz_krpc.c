/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_krpc.c -- libFuzzer target for the whole DHT message path: KRPC
 * datagrams fed to a sans-I/O node (dht_input), which parses them
 * (krpc.c, bencode.c), answers queries (dht_server.c, dht_store.c),
 * matches replies to its own transactions and drives look-ups with them
 * (dht.c, dht_lookup.c, routing.c).
 *
 * Not built by make: see tests/fuzz/README.md, e.g.
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -I<dir with an empty config.h> -Isrc tests/fuzz/fuzz_krpc.c \
 *     src/dht/bencode.c src/dht/krpc.c src/dht/dht_util.c \
 *     src/dht/routing.c src/dht/dht_store.c src/dht/dht.c \
 *     src/dht/dht_lookup.c src/dht/dht_server.c src/util/log.c \
 *     -lldns -lsodium -o fuzz_krpc
 *   ./fuzz_krpc -max_len=1500 -max_total_time=180
 *
 * The input is a script. Byte 0 picks the node's configuration (mode,
 * k, store bounds, loopback testnet, fixed ID); then each step starts with
 * an opcode byte:
 *   0-2  a datagram: flags byte, 2-byte length, bytes. The flags pick
 *        the sender among eight fixed addresses, or "reply" to one of the
 *        last queries the node sent (sender = its destination, "t"
 *        replaced by its transaction ID); they can also swap in the write
 *        token the node gave the sender, and sign k/sig over seq, salt and
 *        v with a fixed key, so that put and get replies get past the
 *        token and signature checks a fuzzer cannot guess.
 *   3    time passes (2-byte ms count) and dht_periodic runs
 *   4,5  dht_get_mutable (fixed key, salt, min_seq) / dht_get_immutable
 *   6    dht_put of an item signed here (or immutable)
 *   7    dht_cancel of a look-up started before
 *   8    dht_add_bootstrap
 *   9    dht_load_nodes of fuzzer bytes, dht_save_nodes
 *   10   start holding datagrams, or hand the held ones to
 *        dht_input_batch (also when 8 are held, before any other step,
 *        and at the end of the script)
 * Randomness (node ID, transaction salts, token secrets) comes from a
 * deterministic generator reset for every input, so crashes reproduce.
 *
 * Besides memory safety it checks: every datagram the node sends parses
 * as KRPC, goes to a valid address, and is an answer ('r' or 'e') only
 * while a query is being processed by an answering node, with that
 * query's "t" (in a batch: the "t" of one of the batch's queries), and
 * a value reported during a batch comes before any query of the batch's
 * (those wait for its end); krpc_parse views lie inside the datagram and have the
 * sizes BEP 5/44 fix; get callbacks only see values that verify (the
 * signature over BEP 44's signable, or SHA-1 target for immutable items)
 * with rising seq; callbacks never run inside dht_get_*, dht_put or
 * dht_cancel, never after dht_cancel, done at most once; and once the
 * peers fall silent every look-up ends within a few minutes of node time.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "dht/bencode.h"
#include "dht/dht.h"
#include "dht/dht_util.h"
#include "dht/krpc.h"
#include "util/log.h"
#include "../unit/testutil.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NADDR 8
#define NSENT 64
#define NTOK 16
#define NLOOKUP 64
#define MAX_SEND 2048
#define NHELD 8

/* Deterministic randombytes, reset per input: libFuzzer needs runs that
 * repeat. The state is the harness's own, not the code under test's. */
static uint64_t prng_state;

static uint64_t
prng_next(void)
{
	uint64_t z = (prng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static const char *
prng_name(void)
{
	return "fuzz";
}

static uint32_t
prng_random(void)
{
	return (uint32_t)prng_next();
}

static void
prng_buf(void *const buf, const size_t size)
{
	uint8_t *p = buf;

	for (size_t i = 0; i < size; i++)
		p[i] = (uint8_t)prng_next();
}

static randombytes_implementation prng_impl = {
	.implementation_name = prng_name,
	.random = prng_random,
	.buf = prng_buf,
};

/* The fixed signing key (seed 0x42...). */
static uint8_t sign_pk[32], sign_sk[64];

/* An address in one comparable form. */
struct naddr {
	int family;
	uint8_t ip[16];
	uint16_t port;
};

struct sa {
	struct sockaddr_storage ss;
	socklen_t len;
};

struct sent {
	struct sa to;
	uint8_t t[KRPC_MAX_TID];
	size_t tn;
};

struct tok {
	struct naddr ip;
	uint8_t t[64];
	size_t n;
};

struct h;

struct lk {
	struct h *h;
	uint32_t id;
	bool used, done, cancelled, is_mutable, is_put;
	int reenter;
	uint8_t target[20];
	uint8_t salt[DHT_MAX_SALT];
	size_t salt_len;
	int64_t min_seq, last_seq;
	bool have_seq;
};

/* Harness state for one input. */
struct h {
	struct dht *d;
	uint64_t now;
	bool answering;      /* config mode answers queries */
	bool in_api;         /* inside dht_get_* / dht_put / dht_cancel */
	bool in_query;       /* dht_input is processing a query */
	const uint8_t *qt;   /* that query's t */
	size_t qtn;
	struct sa addrs[NADDR];
	struct sent sent[NSENT];
	size_t nsent;
	struct tok tok[NTOK];
	size_t ntok;
	struct lk lk[NLOOKUP];
	uint8_t last_salt[DHT_MAX_SALT];
	size_t last_salt_len;
	size_t sends;
	/* op 10: datagrams held for one dht_input_batch, with the "t" of
	 * each query among them (views into the held bytes) */
	bool holding, in_batch;
	uint8_t *held[NHELD];
	size_t held_len[NHELD];
	struct sa held_from[NHELD];
	size_t nheld;
	const uint8_t *bt[NHELD];
	size_t btn[NHELD];
	size_t nbt;
	size_t batch_queries; /* queries sent since the batch began */
};

static void
normalize(const struct sockaddr *sa, struct naddr *out)
{
	static const uint8_t v4m[12] = { [10] = 0xff, [11] = 0xff };

	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		out->family = 4;
		memcpy(out->ip, &s4->sin_addr, 4);
		out->port = ntohs(s4->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		if (memcmp(s6->sin6_addr.s6_addr, v4m, 12) == 0) {
			out->family = 4;
			memcpy(out->ip, s6->sin6_addr.s6_addr + 12, 4);
		} else {
			out->family = 6;
			memcpy(out->ip, s6->sin6_addr.s6_addr, 16);
		}
		out->port = ntohs(s6->sin6_port);
	}
}

static bool
naddr_ip_eq(const struct naddr *a, const struct naddr *b)
{
	return a->family == b->family && memcmp(a->ip, b->ip, 16) == 0;
}

static void
set4(struct sa *a, const char *ip, uint16_t port)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)&a->ss;

	memset(a, 0, sizeof(*a));
	s4->sin_family = AF_INET;
	s4->sin_port = htons(port);
	inet_pton(AF_INET, ip, &s4->sin_addr);
	a->len = sizeof(*s4);
}

static void
set6(struct sa *a, const char *ip, uint16_t port)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a->ss;

	memset(a, 0, sizeof(*a));
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(port);
	inet_pton(AF_INET6, ip, &s6->sin6_addr);
	a->len = sizeof(*s6);
}

/* Views of a parsed message lie inside [buf, buf + len). */
static void
check_view(const uint8_t *p, size_t n, const uint8_t *buf, size_t len)
{
	if (p == NULL)
		return;
	tu_check(p >= buf && n <= (size_t)(buf + len - p));
}

static void
check_msg(const struct krpc_msg *m, const uint8_t *buf, size_t len)
{
	tu_check(m->y == 'q' || m->y == 'r' || m->y == 'e');
	tu_check(m->t.p != NULL && m->t.n <= KRPC_MAX_TID);
	check_view(m->t.p, m->t.n, buf, len);
	check_view(m->version.p, m->version.n, buf, len);
	check_view(m->ip.p, m->ip.n, buf, len);
	tu_check(m->ip.p == NULL || m->ip.n == 6 || m->ip.n == 18);
	check_view(m->q.p, m->q.n, buf, len);
	check_view(m->id, 20, buf, len);
	check_view(m->target, 20, buf, len);
	check_view(m->info_hash, 20, buf, len);
	check_view(m->nodes.p, m->nodes.n, buf, len);
	tu_check(m->nodes.n % 26 == 0);
	check_view(m->nodes6.p, m->nodes6.n, buf, len);
	tu_check(m->nodes6.n % 38 == 0);
	check_view(m->token.p, m->token.n, buf, len);
	check_view(m->k, 32, buf, len);
	check_view(m->sig, 64, buf, len);
	check_view(m->salt.p, m->salt.n, buf, len);
	check_view(m->value.p, m->value.n, buf, len);
	check_view(m->value_str.p, m->value_str.n, buf, len);
	if (m->value_str.p)
		tu_check(m->value.p && m->value_str.p > m->value.p &&
		    m->value_str.p + m->value_str.n == m->value.p + m->value.n);
	tu_check(m->n_values <= KRPC_MAX_VALUES);
	for (size_t i = 0; i < m->n_values; i++) {
		check_view(m->values[i].p, m->values[i].n, buf, len);
		tu_check(m->values[i].n == 6 || m->values[i].n == 18);
	}
	check_view(m->err_msg.p, m->err_msg.n, buf, len);
	if (m->y == 'q')
		tu_check(m->method >= KRPC_M_PING && m->method <= KRPC_M_UNKNOWN);
	if (m->y != 'e')
		tu_check(m->id != NULL);
}

static int
send_cb(void *ctx, const uint8_t *buf, size_t len, const struct sockaddr *to,
	socklen_t tolen)
{
	struct h *h = ctx;
	struct krpc_msg *m = malloc(sizeof(*m));
	struct naddr na;

	tu_check(buf != NULL && len > 0 && len <= MAX_SEND);
	tu_check(to != NULL);
	tu_check((to->sa_family == AF_INET && tolen == sizeof(struct sockaddr_in)) ||
	    (to->sa_family == AF_INET6 && tolen == sizeof(struct sockaddr_in6)));
	normalize(to, &na);
	tu_check(na.port != 0);
	h->sends++;
	if (m == NULL)
		return 0;
	tu_check(krpc_parse(buf, len, m) == 0);
	check_msg(m, buf, len);
	if (m->y == 'q') {
		struct sent *s = &h->sent[h->nsent++ % NSENT];
		if (h->in_batch)
			h->batch_queries++;
		tu_check(m->method >= KRPC_M_PING && m->method <= KRPC_M_PUT);
		tu_check(m->t.n == 4);
		memset(s, 0, sizeof(*s));
		memcpy(&s->to.ss, to, tolen);
		s->to.len = tolen;
		memcpy(s->t, m->t.p, m->t.n);
		s->tn = m->t.n;
	} else {
		/* Answers go only to the query being processed. */
		tu_check(h->answering);
		if (h->in_batch) {
			bool found = false;
			for (size_t i = 0; i < h->nbt; i++)
				if (m->t.n == h->btn[i] && memcmp(m->t.p, h->bt[i], h->btn[i]) == 0)
					found = true;
			tu_check(found);
		} else {
			tu_check(h->in_query);
			tu_check(m->t.n == h->qtn && memcmp(m->t.p, h->qt, h->qtn) == 0);
		}
		if (m->y == 'r' && m->token.p && m->token.n <= sizeof(h->tok[0].t)) {
			struct tok *t = NULL;
			for (size_t i = 0; i < h->ntok && i < NTOK; i++)
				if (naddr_ip_eq(&h->tok[i].ip, &na))
					t = &h->tok[i];
			if (t == NULL)
				t = &h->tok[h->ntok++ % NTOK];
			t->ip = na;
			memcpy(t->t, m->token.p, m->token.n);
			t->n = m->token.n;
		}
	}
	free(m);
	return 0;
}

static void
get_cb(void *ctx, const struct dht_item *it)
{
	struct lk *l = ctx;
	uint8_t target[20];

	tu_check(l->used && !l->done && !l->cancelled && !l->is_put);
	tu_check(!l->h->in_api);
	tu_check(!l->h->in_batch || l->h->batch_queries == 0);
	tu_check(it->is_mutable == l->is_mutable);
	tu_check(it->v_len <= DHT_MAX_VALUE && it->salt_len <= DHT_MAX_SALT);
	if (it->is_mutable) {
		uint8_t signable[DHT_MAX_VALUE + DHT_MAX_SALT + 64];
		int n = dht_bep44_signable(signable, sizeof(signable), it->salt,
			it->salt_len, it->seq, it->v, it->v_len);
		tu_check(n > 0);
		tu_check(crypto_sign_verify_detached(it->sig, signable,
			(unsigned long long)n, it->k) == 0);
		tu_check(memcmp(it->k, sign_pk, 32) == 0);
		tu_check(it->salt_len == l->salt_len &&
		    memcmp(it->salt, l->salt, l->salt_len) == 0);
		tu_check(it->seq >= l->min_seq);
		tu_check(!l->have_seq || it->seq > l->last_seq);
		l->have_seq = true;
		l->last_seq = it->seq;
	} else {
		dht_immutable_target(it->v, it->v_len, target);
		tu_check(memcmp(target, l->target, 20) == 0);
		tu_check(!l->have_seq);
		l->have_seq = true;
	}
	if (l->reenter & 1) {
		l->cancelled = true;
		dht_cancel(l->h->d, l->id);
	}
}

static struct lk *lk_alloc(struct h *h);
static void done_cb(void *ctx, const struct dht_lookup_stats *st);

static void
done_cb(void *ctx, const struct dht_lookup_stats *st)
{
	struct lk *l = ctx;
	struct h *h = l->h;

	tu_check(l->used && !l->done && !l->cancelled);
	tu_check(!h->in_api);
	tu_check(st->lookup_id == l->id);
	tu_check(st->responses <= st->sent);
	tu_check(st->stored + st->put_errors <= st->sent);
	tu_check(st->first_value_ms < 0 || (uint64_t)st->first_value_ms <= st->elapsed_ms);
	l->done = true;
	if (l->reenter & 2) {
		/* Start another look-up from inside the callback. */
		struct lk *n = lk_alloc(h);
		if (n) {
			memset(n->target, 0x5a, sizeof(n->target));
			n->id = dht_get_immutable(h->d, n->target, get_cb, done_cb, n, h->now);
			tu_check(n->id != 0);
		}
	}
}

static struct lk *
lk_alloc(struct h *h)
{
	for (int i = 0; i < NLOOKUP; i++) {
		if (!h->lk[i].used) {
			memset(&h->lk[i], 0, sizeof(h->lk[i]));
			h->lk[i].used = true;
			h->lk[i].h = h;
			return &h->lk[i];
		}
	}
	return NULL;
}

/* A tiny reader over the fuzzer's script. */
struct rd {
	const uint8_t *p;
	size_t n;
};

static uint8_t
rd_u8(struct rd *r)
{
	uint8_t b;

	if (r->n == 0)
		return 0;
	b = *r->p++;
	r->n--;
	return b;
}

static size_t
rd_bytes(struct rd *r, size_t want, const uint8_t **out)
{
	if (want > r->n)
		want = r->n;
	*out = r->p;
	r->p += want;
	r->n -= want;
	return want;
}

/* Replace the bencoded string whose bytes start at p (inside buf) with
 * the n bytes of val; returns a new heap buffer or NULL. */
static uint8_t *
replace_str(const uint8_t *buf, size_t len, const uint8_t *p, size_t pn,
	const uint8_t *val, size_t n, size_t *newlen)
{
	const uint8_t *hdr = p - 1; /* the ':' */
	char num[24];
	size_t pre, post, nl;
	uint8_t *out;

	while (hdr > buf && hdr[-1] >= '0' && hdr[-1] <= '9')
		hdr--;
	pre = (size_t)(hdr - buf);
	post = len - (size_t)(p + pn - buf);
	nl = (size_t)snprintf(num, sizeof(num), "%zu:", n);
	out = malloc(pre + nl + n + post + 1);
	if (out == NULL)
		return NULL;
	memcpy(out, buf, pre);
	memcpy(out + pre, num, nl);
	memcpy(out + pre + nl, val, n);
	memcpy(out + pre + nl + n, p + pn, post);
	*newlen = pre + nl + n + post;
	return out;
}

static void
op_datagram(struct h *h, struct rd *r)
{
	uint8_t flags = rd_u8(r), pick = rd_u8(r);
	size_t want = (size_t)rd_u8(r) << 8;
	const uint8_t *bytes;
	uint8_t *buf, *nb;
	size_t len, nl;
	struct sa from = h->addrs[flags % NADDR];
	struct krpc_msg *m;
	struct naddr nf;
	int rc;

	want |= rd_u8(r);
	len = rd_bytes(r, want, &bytes);
	buf = malloc(len ? len : 1);
	m = malloc(sizeof(*m));
	if (buf == NULL || m == NULL)
		goto out;
	memcpy(buf, bytes, len);
	if ((flags & 0x08) && h->nsent > 0) {
		/* A reply to one of the node's recent queries. */
		size_t back = pick % (h->nsent < NSENT ? h->nsent : NSENT);
		const struct sent *s = &h->sent[(h->nsent - 1 - back) % NSENT];
		from = s->to;
		krpc_parse(buf, len, m);
		if (m->t.p && (nb = replace_str(buf, len, m->t.p, m->t.n, s->t,
					     s->tn, &nl)) != NULL) {
			free(buf);
			buf = nb;
			len = nl;
		}
	}
	normalize((const struct sockaddr *)&from.ss, &nf);
	if (flags & 0x10) {
		/* The write token the node handed this IP. */
		krpc_parse(buf, len, m);
		for (size_t i = 0; i < h->ntok && i < NTOK; i++) {
			if (!naddr_ip_eq(&h->tok[i].ip, &nf) || m->token.p == NULL)
				continue;
			nb = replace_str(buf, len, m->token.p, m->token.n,
				h->tok[i].t, h->tok[i].n, &nl);
			if (nb) {
				free(buf);
				buf = nb;
				len = nl;
			}
			break;
		}
	}
	if (flags & 0x20) {
		/* Sign v with the fixed key, as a real publisher would. */
		rc = krpc_parse(buf, len, m);
		if (m->k && m->sig && m->has_seq && m->value.p) {
			uint8_t signable[4096];
			const uint8_t *salt = m->y == 'q' ? m->salt.p : h->last_salt;
			size_t sl = m->y == 'q' ? m->salt.n : h->last_salt_len;
			int n = dht_signable_raw(signable, sizeof(signable), salt,
				sl, m->seq, m->value.p, m->value.n);
			if (n > 0) {
				size_t ko = (size_t)(m->k - buf), so = (size_t)(m->sig - buf);
				memcpy(buf + ko, sign_pk, 32);
				crypto_sign_detached(buf + so, NULL, signable,
					(unsigned long long)n, sign_sk);
			}
		}
		(void)rc;
	}
	rc = krpc_parse(buf, len, m);
	tu_check(rc == 0 || rc == KRPC_ERR_BENCODE || rc == KRPC_ERR_FORMAT ||
	    rc == KRPC_ERR_FIELD);
	if (rc == 0)
		check_msg(m, buf, len);
	if (flags & 0x40)
		h->now += pick;
	if (h->holding && h->nheld < NHELD) {
		if ((rc == 0 || rc == KRPC_ERR_FIELD) && m->y == 'q' && m->t.p) {
			h->bt[h->nbt] = m->t.p;
			h->btn[h->nbt++] = m->t.n;
		}
		h->held[h->nheld] = buf;
		h->held_len[h->nheld] = len;
		h->held_from[h->nheld++] = from;
		buf = NULL; /* the batch owns it now */
		goto out;
	}
	h->in_query = (rc == 0 || rc == KRPC_ERR_FIELD) && m->y == 'q' && m->t.p;
	h->qt = m->t.p;
	h->qtn = m->t.n;
	dht_input(h->d, buf, len, (const struct sockaddr *)&from.ss, from.len, h->now);
	h->in_query = false;
out:
	free(m);
	free(buf);
}

/* Hand the held datagrams to the node as one batch. */
static void
flush_batch(struct h *h)
{
	struct dht_datagram dg[NHELD];

	for (size_t i = 0; i < h->nheld; i++) {
		dg[i].buf = h->held[i];
		dg[i].len = h->held_len[i];
		dg[i].from = (const struct sockaddr *)&h->held_from[i].ss;
		dg[i].fromlen = h->held_from[i].len;
	}
	h->in_batch = true;
	h->batch_queries = 0;
	dht_input_batch(h->d, dg, h->nheld, h->now);
	h->in_batch = false;
	for (size_t i = 0; i < h->nheld; i++)
		free(h->held[i]);
	h->nheld = h->nbt = 0;
}

static void
op_get_mutable(struct h *h, struct rd *r)
{
	struct lk *l = lk_alloc(h);
	uint8_t b = rd_u8(r), ms = rd_u8(r);
	const uint8_t *salt;
	size_t sl = rd_bytes(r, (b & 0x80) ? b % 80 : 0, &salt);

	if (l == NULL)
		return;
	l->is_mutable = true;
	l->reenter = b & 3;
	l->min_seq = ms;
	if (sl <= DHT_MAX_SALT) {
		memcpy(l->salt, salt, sl);
		memcpy(h->last_salt, salt, sl);
		h->last_salt_len = sl;
	}
	l->salt_len = sl;
	h->in_api = true;
	l->id = dht_get_mutable(h->d, sign_pk, sl ? salt : NULL, sl, ms, get_cb,
		done_cb, l, h->now);
	h->in_api = false;
	tu_check((l->id == 0) == (sl > DHT_MAX_SALT));
	if (l->id == 0)
		l->used = false;
}

static void
op_get_immutable(struct h *h, struct rd *r)
{
	struct lk *l = lk_alloc(h);
	uint8_t b = rd_u8(r);
	const uint8_t *v;
	size_t vl = rd_bytes(r, b & 0x3f, &v);

	if (l == NULL)
		return;
	l->reenter = (b >> 6) & 3;
	/* Mostly the target of a value, so that replies can match it. */
	dht_immutable_target(v, vl, l->target);
	h->in_api = true;
	l->id = dht_get_immutable(h->d, l->target, get_cb, done_cb, l, h->now);
	h->in_api = false;
	tu_check(l->id != 0);
}

static void
op_put(struct h *h, struct rd *r)
{
	struct lk *l = lk_alloc(h);
	uint8_t b = rd_u8(r), seq = rd_u8(r);
	struct dht_item *it = calloc(1, sizeof(*it));
	const uint8_t *p;
	size_t n;

	if (l == NULL || it == NULL) {
		if (l)
			l->used = false;
		free(it);
		return;
	}
	l->is_put = true;
	l->reenter = b & 2;
	it->is_mutable = b & 1;
	n = rd_bytes(r, (b & 4) ? (b >> 3) : 0, &p);
	memcpy(it->salt, p, n);
	it->salt_len = n;
	n = rd_bytes(r, rd_u8(r), &p);
	memcpy(it->v, p, n);
	it->v_len = n;
	if (it->is_mutable) {
		uint8_t signable[DHT_MAX_VALUE + DHT_MAX_SALT + 64];
		int sn;
		it->seq = seq;
		memcpy(it->k, sign_pk, 32);
		sn = dht_bep44_signable(signable, sizeof(signable), it->salt,
			it->salt_len, it->seq, it->v, it->v_len);
		tu_check(sn > 0);
		crypto_sign_detached(it->sig, NULL, signable, (unsigned long long)sn,
			sign_sk);
		/* Bit 6 spoils the signature: dht_put must refuse it. */
		if (b & 0x40)
			it->sig[0] ^= 1;
	}
	h->in_api = true;
	l->id = dht_put(h->d, it, (b & 0x80) ? (int64_t)seq - 1 : -1, done_cb, l, h->now);
	h->in_api = false;
	tu_check((l->id == 0) == (it->is_mutable && (b & 0x40)));
	if (l->id == 0)
		l->used = false;
	free(it);
}

static void
op_cancel(struct h *h, struct rd *r)
{
	struct lk *l = &h->lk[rd_u8(r) % NLOOKUP];

	h->in_api = true;
	if (l->used && !l->done) {
		l->cancelled = true;
		dht_cancel(h->d, l->id);
	} else {
		dht_cancel(h->d, l->used ? l->id : 12345);
	}
	h->in_api = false;
}

static void
op_nodes(struct h *h, struct rd *r)
{
	size_t want = rd_u8(r) * 4u, n;
	const uint8_t *p;
	uint8_t *copy, *save;
	struct bencode_value v;
	int rc;

	n = rd_bytes(r, want, &p);
	copy = malloc(n ? n : 1);
	if (copy == NULL)
		return;
	memcpy(copy, p, n);
	rc = dht_load_nodes(h->d, copy, n, h->now);
	tu_check(rc >= -1);
	free(copy);
	save = malloc(65536);
	if (save == NULL)
		return;
	rc = dht_save_nodes(h->d, save, 65536);
	tu_check(rc > 0);
	tu_check(bencode_parse(save, (size_t)rc, &v, NULL) == 0 && v.type == BENCODE_DICT);
	/* Too small a buffer is refused, not overrun (ASan watches). */
	tu_check(dht_save_nodes(h->d, save, (size_t)rc - 1) == -1);
	free(save);
}

static bool
lookups_pending(const struct h *h)
{
	for (int i = 0; i < NLOOKUP; i++)
		if (h->lk[i].used && !h->lk[i].done && !h->lk[i].cancelled)
			return true;
	return false;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	uint8_t seed[32];

	(void)argc;
	(void)argv;
	/* Refused puts and new external addresses are logged: keep quiet. */
	log_setup("fuzz", -1, true);
	randombytes_set_implementation(&prng_impl);
	if (sodium_init() < 0)
		abort();
	memset(seed, 0x42, sizeof(seed));
	crypto_sign_seed_keypair(sign_pk, sign_sk, seed);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t fixed_id[20] = { 0x11, 0x22, 0x33, 0x44, 0x55 };
	struct dht_config cfg;
	struct dht_info info;
	struct rd r = { data, size };
	struct h *h;
	uint8_t c;

	if (size < 1)
		return 0;
	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return 0;
	prng_state = 1;
	c = rd_u8(&r);
	memset(&cfg, 0, sizeof(cfg));
	cfg.mode = c % 3;
	cfg.loopback_testnet = c & 4;
	cfg.k = (c & 8) ? 2 : 0;
	cfg.max_items = (c & 16) ? 3 : 0;
	cfg.max_item_bytes = (c & 32) ? 2500 : 0;
	cfg.node_id = (c & 64) ? fixed_id : NULL;
	cfg.send = send_cb;
	cfg.send_ctx = h;
	h->answering = cfg.mode != DHT_MODE_CLIENT;
	h->now = 1000000;
	set4(&h->addrs[0], "1.2.3.4", 6881);
	set4(&h->addrs[1], "5.6.7.8", 6882);
	set4(&h->addrs[2], "127.0.0.1", 7000);
	set4(&h->addrs[3], "10.0.0.1", 1);
	set6(&h->addrs[4], "2001:db8::1", 6881);
	set6(&h->addrs[5], "::ffff:9.9.9.9", 80);
	set4(&h->addrs[6], "1.2.3.4", 0);
	set6(&h->addrs[7], "::1", 53);
	h->d = dht_new(&cfg, h->now);
	if (h->d == NULL) {
		free(h);
		return 0;
	}
	while (r.n > 0) {
		uint8_t op = rd_u8(&r) % 11;
		/* a batch ends before anything else happens to the node */
		if ((op > 2 || h->nheld == NHELD) && h->nheld > 0)
			flush_batch(h);
		switch (op) {
		case 0:
		case 1:
		case 2:
			op_datagram(h, &r);
			break;
		case 3: {
			uint64_t ms = (uint64_t)rd_u8(&r) << 8;
			ms |= rd_u8(&r);
			h->now += ms * 16;
			(void)dht_periodic(h->d, h->now);
			break;
		}
		case 4:
			op_get_mutable(h, &r);
			break;
		case 5:
			op_get_immutable(h, &r);
			break;
		case 6:
			op_put(h, &r);
			break;
		case 7:
			op_cancel(h, &r);
			break;
		case 8: {
			struct sa *a = &h->addrs[rd_u8(&r) % NADDR];
			(void)dht_add_bootstrap(h->d, (const struct sockaddr *)&a->ss,
				a->len);
			break;
		}
		case 9:
			op_nodes(h, &r);
			break;
		case 10:
			h->holding = !h->holding;
			break;
		}
	}
	if (h->nheld > 0)
		flush_batch(h);
	/* The peers fall silent: every look-up must end by timeouts, within
	 * two minutes of node time (48 candidates, 2 s each, alpha 3). */
	for (int i = 0; i < 50 && lookups_pending(h); i++) {
		uint64_t next = dht_periodic(h->d, h->now);
		tu_check(next >= 1);
		h->now += 2500;
	}
	for (int i = 0; i < NLOOKUP; i++) {
		const struct lk *l = &h->lk[i];
		if (l->used && !l->cancelled)
			tu_check(l->done);
	}
	dht_get_info(h->d, h->now, &info);
	tu_check(info.lookups == 0 || info.lookups < 1000);
	dht_free(h->d);
	free(h);
	return 0;
}
