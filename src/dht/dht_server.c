/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dht_server.c -- answering queries: BEP 5 ping, find_node, get_peers,
 * announce_peer; BEP 44 get and put; BEP 32 nodes6/want; BEP 42 "ip" in
 * every answer; errors 201/203/204 (BEP 5) and 205/206/207/301/302
 * (BEP 44).
 */
#include "config.h"

#include <string.h>

#include <sodium.h>

#define LOG_MODULE "dht"
#include "util/log.h"

#include "dht/bencode.h"
#include "dht/dht_internal.h"

size_t
dht_compact_closest(struct dht *d, int family, const uint8_t target[20],
	uint8_t *out, size_t cap)
{
	struct routing_node near[16];
	size_t sz = family == 4 ? DHT_COMPACT_NODE4 : DHT_COMPACT_NODE6;
	size_t max = (size_t)d->cfg.k < 16 ? (size_t)d->cfg.k : 16;
	size_t n = routing_closest(dht_rt(d, family), target, near, max), w = 0;

	for (size_t i = 0; i < n && w + sz <= cap; i++) {
		/* only heard of, never spoken to: not ours to vouch for */
		if (routing_node_unverified(&near[i]))
			continue;
		memcpy(out + w, near[i].id, 20);
		dht_addr_compact(&near[i].addr, out + w + 20);
		w += sz;
	}
	return w;
}

void
dht_server_error(struct dht *d, const struct krpc_msg *m, const struct dht_addr *from,
	int code, const char *msg)
{
	uint8_t ip[18];
	size_t iplen = dht_addr_compact(from, ip);
	int n = krpc_build_error(d->buf, sizeof(d->buf), m->t.p, m->t.n, code, msg,
		ip, iplen, d->version, sizeof(d->version));

	if (n > 0)
		dht_send_raw(d, d->buf, (size_t)n, from);
}

/* Common parts of every answer: id, ip, t, v, and the closest nodes
 * (BEP 32: of the asker's family unless "want" says otherwise). */
struct answer {
	struct krpc_response r;
	uint8_t ip[18];
	uint8_t nodes[16 * DHT_COMPACT_NODE4];
	uint8_t nodes6[16 * DHT_COMPACT_NODE6];
	uint8_t token[DHT_TOKEN_LEN];
};

static void
answer_init(struct dht *d, struct answer *a, const struct krpc_msg *m,
	const struct dht_addr *from)
{
	memset(a, 0, sizeof(*a));
	a->r.t = m->t.p;
	a->r.t_len = m->t.n;
	a->r.id = d->id;
	a->r.ip_len = dht_addr_compact(from, a->ip);
	a->r.ip = a->ip;
	a->r.version = d->version;
	a->r.version_len = sizeof(d->version);
}

static void
answer_nodes(struct dht *d, struct answer *a, const struct krpc_msg *m,
	const struct dht_addr *from, const uint8_t *target)
{
	bool n4 = m->want_n4 || (!m->want_n6 && from->family == 4);
	bool n6 = m->want_n6 || (!m->want_n4 && from->family == 6);

	if (n4) {
		a->r.nodes_len = dht_compact_closest(d, 4, target, a->nodes, sizeof(a->nodes));
		a->r.nodes = a->nodes;
	}
	if (n6) {
		a->r.nodes6_len = dht_compact_closest(d, 6, target, a->nodes6, sizeof(a->nodes6));
		a->r.nodes6 = a->nodes6;
	}
}

static void
answer_token(struct dht *d, struct answer *a, const struct dht_addr *from)
{
	dht_token_make(&d->tokens, from, a->token);
	a->r.token = a->token;
	a->r.token_len = DHT_TOKEN_LEN;
}

static void
answer_send(struct dht *d, struct answer *a, const struct dht_addr *from)
{
	int n = krpc_build_response(d->buf, sizeof(d->buf), &a->r);

	if (n > 0)
		dht_send_raw(d, d->buf, (size_t)n, from);
	else
		log_debug("answer does not fit the send buffer");
}

static void
do_get(struct dht *d, const struct krpc_msg *m, const struct dht_addr *from,
	struct answer *a, uint64_t now_ms)
{
	const struct dht_store_item *it;

	answer_nodes(d, a, m, from, m->target);
	answer_token(d, a, from);
	it = dht_store_get(&d->store, m->target, now_ms);
	if (it == NULL)
		return;
	if (it->is_mutable) {
		a->r.has_seq = true;
		a->r.seq = it->seq;
		/* BEP 44: an asker holding seq already needs no value. */
		if (m->has_seq && m->seq >= it->seq)
			return;
		a->r.k = it->k;
		a->r.sig = it->sig;
	}
	a->r.value = it->v;
	a->r.value_len = it->v_len;
}

/* @return 0 when answered with a plain reply, else the error code sent. */
static int
do_put(struct dht *d, const struct krpc_msg *m, const struct dht_addr *from,
	uint64_t now_ms)
{
	struct dht_store_item it;
	int rc;

	if (m->token.p == NULL || !dht_token_check(&d->tokens, from, m->token.p, m->token.n))
		return KRPC_E_PROTOCOL;
	dht_adaptive_token(d, from, now_ms);
	if (m->value.p == NULL)
		return KRPC_E_PROTOCOL;
	/* BEP 44 bounds v to 1000 bytes; for strings we count the bytes
	 * themselves, as pkarr packets of exactly 1000 bytes exist. */
	if ((m->value_str.p ? m->value_str.n : m->value.n) > DHT_MAX_VALUE)
		return KRPC_E_VTOOBIG;
	if (m->salt.n > DHT_MAX_SALT)
		return KRPC_E_SALTTOOBIG;
	memset(&it, 0, sizeof(it));
	it.v = (uint8_t *)(uintptr_t)m->value.p;
	it.v_len = m->value.n;
	if (m->k) {
		uint8_t signable[DHT_MAX_VALUE + DHT_MAX_SALT + 64];
		int n;
		if (m->sig == NULL || !m->has_seq)
			return KRPC_E_PROTOCOL;
		n = dht_signable_raw(signable, sizeof(signable), m->salt.p, m->salt.n,
			m->seq, m->value.p, m->value.n);
		if (n < 0 || crypto_sign_verify_detached(m->sig, signable,
				     (unsigned long long)n, m->k) != 0)
			return KRPC_E_BADSIG;
		it.is_mutable = true;
		memcpy(it.k, m->k, 32);
		memcpy(it.sig, m->sig, 64);
		it.seq = m->seq;
		if (m->salt.n)
			memcpy(it.salt, m->salt.p, m->salt.n);
		it.salt_len = m->salt.n;
		dht_mutable_target(m->k, m->salt.p, m->salt.n, it.target);
	} else {
		dht_sha1(m->value.p, m->value.n, it.target);
	}
	rc = dht_store_put(&d->store, &it, m->has_cas, m->cas, now_ms);
	return rc < 0 ? -rc : 0;
}

static const char *
error_text(int code)
{
	switch (code) {
	case KRPC_E_VTOOBIG:
		return "message (v field) too big";
	case KRPC_E_BADSIG:
		return "invalid signature";
	case KRPC_E_SALTTOOBIG:
		return "salt (salt field) too big";
	case KRPC_E_CAS:
		return "the CAS hash mismatched, re-read value and try again";
	case KRPC_E_SEQ:
		return "sequence number less than current";
	case KRPC_E_SERVER:
		return "server error";
	default:
		return "protocol error";
	}
}

void
dht_server_query(struct dht *d, const struct krpc_msg *m, const struct dht_addr *from,
	uint64_t now_ms)
{
	struct answer a;
	int rc;

	if (memcmp(m->id, d->id, 20) == 0)
		return; /* our own query reflected back */
	/* BEP 43: read-only nodes must not enter routing tables. */
	if (!m->ro)
		routing_heard(dht_rt(d, from->family), m->id, from, ROUTING_QUERY, now_ms);
	answer_init(d, &a, m, from);
	switch (m->method) {
	case KRPC_M_PING:
		break;
	case KRPC_M_FIND_NODE:
		if (m->target == NULL)
			goto protocol;
		answer_nodes(d, &a, m, from, m->target);
		break;
	case KRPC_M_GET_PEERS: {
		struct krpc_str peers[KRPC_MAX_VALUES];
		if (m->info_hash == NULL)
			goto protocol;
		answer_token(d, &a, from);
		a.r.n_values = dht_store_get_peers(&d->store, m->info_hash,
			from->family == 4 ? 6 : 18, peers, 50, now_ms);
		a.r.values = peers;
		answer_nodes(d, &a, m, from, m->info_hash);
		answer_send(d, &a, from);
		return;
	}
	case KRPC_M_ANNOUNCE_PEER: {
		struct dht_addr peer = *from;
		uint8_t compact[18];
		size_t n;
		if (m->info_hash == NULL || m->token.p == NULL ||
		    (!m->has_port && !m->implied_port))
			goto protocol;
		if (!dht_token_check(&d->tokens, from, m->token.p, m->token.n)) {
			dht_server_error(d, m, from, KRPC_E_PROTOCOL, "bad token");
			return;
		}
		dht_adaptive_token(d, from, now_ms);
		if (!m->implied_port) {
			if (m->port <= 0 || m->port > 65535)
				goto protocol;
			peer.port = (uint16_t)m->port;
		}
		n = dht_addr_compact(&peer, compact);
		dht_store_add_peer(&d->store, m->info_hash, compact, n, now_ms);
		break;
	}
	case KRPC_M_GET:
		if (m->target == NULL)
			goto protocol;
		do_get(d, m, from, &a, now_ms);
		break;
	case KRPC_M_PUT:
		rc = do_put(d, m, from, now_ms);
		if (rc) {
			dht_server_error(d, m, from, rc, error_text(rc));
			return;
		}
		break;
	default:
		dht_server_error(d, m, from, KRPC_E_METHOD, "method unknown");
		return;
	}
	answer_send(d, &a, from);
	return;
protocol:
	dht_server_error(d, m, from, KRPC_E_PROTOCOL, "invalid arguments");
}
