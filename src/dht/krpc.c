/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * krpc.c -- KRPC parse and build (BEP 5, 32, 42, 43, 44).
 */
#include "config.h"

#include <string.h>

#include "dht/bencode.h"
#include "dht/krpc.h"

static const char *const method_names[] = {
	[KRPC_M_PING] = "ping",
	[KRPC_M_FIND_NODE] = "find_node",
	[KRPC_M_GET_PEERS] = "get_peers",
	[KRPC_M_ANNOUNCE_PEER] = "announce_peer",
	[KRPC_M_GET] = "get",
	[KRPC_M_PUT] = "put",
};

enum krpc_method
krpc_method_from_name(const uint8_t *name, size_t n)
{
	for (int m = KRPC_M_PING; m <= KRPC_M_PUT; m++) {
		if (strlen(method_names[m]) == n && memcmp(method_names[m], name, n) == 0)
			return (enum krpc_method)m;
	}
	return KRPC_M_UNKNOWN;
}

const char *
krpc_method_name(enum krpc_method m)
{
	if (m < KRPC_M_PING || m > KRPC_M_PUT)
		return "unknown";
	return method_names[m];
}

static bool
key_is(const struct bencode_value *k, const char *name)
{
	size_t n = strlen(name);
	return k->str_len == n && memcmp(k->str, name, n) == 0;
}

static int
want_str(const struct bencode_value *v, struct krpc_str *out)
{
	if (v->type != BENCODE_STR)
		return KRPC_ERR_FIELD;
	out->p = v->str;
	out->n = v->str_len;
	return 0;
}

static int
want_fixed(const struct bencode_value *v, size_t n, const uint8_t **out)
{
	if (v->type != BENCODE_STR || v->str_len != n)
		return KRPC_ERR_FIELD;
	*out = v->str;
	return 0;
}

static int
want_int(const struct bencode_value *v, int64_t *out)
{
	if (v->type != BENCODE_INT)
		return KRPC_ERR_FIELD;
	*out = v->i;
	return 0;
}

static int
parse_want(const struct bencode_value *v, struct krpc_msg *m)
{
	struct bencode_iter it;
	struct bencode_value e;
	int rc;

	if (v->type != BENCODE_LIST)
		return KRPC_ERR_FIELD;
	bencode_iter_init(v, &it);
	while ((rc = bencode_iter_next(&it, NULL, &e)) > 0) {
		if (e.type != BENCODE_STR || e.str_len != 2)
			continue;
		if (memcmp(e.str, "n4", 2) == 0)
			m->want_n4 = true;
		else if (memcmp(e.str, "n6", 2) == 0)
			m->want_n6 = true;
	}
	return rc < 0 ? KRPC_ERR_FIELD : 0;
}

static int
parse_values(const struct bencode_value *v, struct krpc_msg *m)
{
	struct bencode_iter it;
	struct bencode_value e;
	int rc;

	if (v->type != BENCODE_LIST)
		return KRPC_ERR_FIELD;
	bencode_iter_init(v, &it);
	while ((rc = bencode_iter_next(&it, NULL, &e)) > 0) {
		/* Peers of another shape are skipped, not fatal: the rest of
		 * the answer (nodes, token) is still useful. */
		if (e.type != BENCODE_STR || (e.str_len != 6 && e.str_len != 18))
			continue;
		if (m->n_values >= KRPC_MAX_VALUES)
			break;
		m->values[m->n_values].p = e.str;
		m->values[m->n_values].n = e.str_len;
		m->n_values++;
	}
	return rc < 0 ? KRPC_ERR_FIELD : 0;
}

/* The "a" or "r" dictionary: one walk, each known key checked for type. */
static int
parse_body(const struct bencode_value *d, struct krpc_msg *m)
{
	struct bencode_iter it;
	struct bencode_value k, v;
	int rc = 0, r = 0;
	int64_t tmp = 0;

	if (d->type != BENCODE_DICT)
		return KRPC_ERR_FORMAT;
	bencode_iter_init(d, &it);
	while (r == 0 && (rc = bencode_iter_next(&it, &k, &v)) > 0) {
		if (key_is(&k, "id"))
			r = want_fixed(&v, 20, &m->id);
		else if (key_is(&k, "target"))
			r = want_fixed(&v, 20, &m->target);
		else if (key_is(&k, "info_hash"))
			r = want_fixed(&v, 20, &m->info_hash);
		else if (key_is(&k, "nodes")) {
			r = want_str(&v, &m->nodes);
			if (r == 0 && m->nodes.n % 26 != 0)
				r = KRPC_ERR_FIELD;
		} else if (key_is(&k, "nodes6")) {
			r = want_str(&v, &m->nodes6);
			if (r == 0 && m->nodes6.n % 38 != 0)
				r = KRPC_ERR_FIELD;
		} else if (key_is(&k, "token")) {
			r = want_str(&v, &m->token);
		} else if (key_is(&k, "k")) {
			r = want_fixed(&v, 32, &m->k);
		} else if (key_is(&k, "sig")) {
			r = want_fixed(&v, 64, &m->sig);
		} else if (key_is(&k, "salt")) {
			r = want_str(&v, &m->salt);
		} else if (key_is(&k, "seq")) {
			r = want_int(&v, &m->seq);
			m->has_seq = r == 0;
		} else if (key_is(&k, "cas")) {
			r = want_int(&v, &m->cas);
			m->has_cas = r == 0;
		} else if (key_is(&k, "v")) {
			m->value.p = v.raw;
			m->value.n = v.raw_len;
			if (v.type == BENCODE_STR) {
				m->value_str.p = v.str;
				m->value_str.n = v.str_len;
			}
		} else if (key_is(&k, "port")) {
			r = want_int(&v, &m->port);
			m->has_port = r == 0;
		} else if (key_is(&k, "implied_port")) {
			r = want_int(&v, &tmp);
			m->implied_port = r == 0 && tmp != 0;
		} else if (key_is(&k, "want")) {
			r = parse_want(&v, m);
		} else if (key_is(&k, "values")) {
			r = parse_values(&v, m);
		}
	}
	if (r == 0 && rc < 0)
		r = KRPC_ERR_BENCODE;
	return r;
}

static int
parse_error_list(const struct bencode_value *e, struct krpc_msg *m)
{
	struct bencode_iter it;
	struct bencode_value v;

	if (e->type != BENCODE_LIST)
		return KRPC_ERR_FORMAT;
	bencode_iter_init(e, &it);
	if (bencode_iter_next(&it, NULL, &v) <= 0 || v.type != BENCODE_INT)
		return KRPC_ERR_FORMAT;
	m->err_code = v.i;
	if (bencode_iter_next(&it, NULL, &v) > 0 && v.type == BENCODE_STR) {
		m->err_msg.p = v.str;
		m->err_msg.n = v.str_len;
	}
	return 0;
}

int
krpc_parse(const uint8_t *buf, size_t len, struct krpc_msg *m)
{
	/* The top-level keys, found in one walk: looking each one up on its
	 * own re-read the whole message per key, most of the parse's cost. */
	enum { F_T, F_Y, F_V, F_IP, F_RO, F_Q, F_A, F_R, F_E, F_N };
	static const char *const names[F_N] = { "t", "y", "v", "ip", "ro", "q", "a", "r", "e" };
	struct bencode_value top, k, val, f[F_N];
	bool have[F_N] = { false };
	struct bencode_iter it;
	int rc;

	memset(m, 0, sizeof(*m));
	if (bencode_parse(buf, len, &top, NULL) < 0)
		return KRPC_ERR_BENCODE;
	if (top.type != BENCODE_DICT)
		return KRPC_ERR_FORMAT;
	bencode_iter_init(&top, &it);
	while ((rc = bencode_iter_next(&it, &k, &val)) > 0) {
		for (int i = 0; i < F_N; i++) {
			if (key_is(&k, names[i])) {
				f[i] = val;
				have[i] = true; /* bencode_parse refused repeated keys */
				break;
			}
		}
	}
	if (rc < 0)
		return KRPC_ERR_BENCODE;
	if (!have[F_T] || f[F_T].type != BENCODE_STR || f[F_T].str_len > KRPC_MAX_TID)
		return KRPC_ERR_FORMAT;
	m->t.p = f[F_T].str;
	m->t.n = f[F_T].str_len;
	if (!have[F_Y] || f[F_Y].type != BENCODE_STR || f[F_Y].str_len != 1)
		return KRPC_ERR_FORMAT;
	m->y = (char)f[F_Y].str[0];
	if (have[F_V] && f[F_V].type == BENCODE_STR) {
		m->version.p = f[F_V].str;
		m->version.n = f[F_V].str_len;
	}
	if (have[F_IP] && f[F_IP].type == BENCODE_STR &&
	    (f[F_IP].str_len == 6 || f[F_IP].str_len == 18)) {
		m->ip.p = f[F_IP].str;
		m->ip.n = f[F_IP].str_len;
	}
	if (have[F_RO] && f[F_RO].type == BENCODE_INT)
		m->ro = f[F_RO].i == 1;

	switch (m->y) {
	case 'q':
		if (!have[F_Q] || f[F_Q].type != BENCODE_STR)
			return KRPC_ERR_FORMAT;
		m->q.p = f[F_Q].str;
		m->q.n = f[F_Q].str_len;
		m->method = krpc_method_from_name(f[F_Q].str, f[F_Q].str_len);
		if (!have[F_A])
			return KRPC_ERR_FIELD;
		rc = parse_body(&f[F_A], m);
		if (rc < 0)
			return rc == KRPC_ERR_FORMAT ? KRPC_ERR_FIELD : rc;
		if (m->id == NULL)
			return KRPC_ERR_FIELD;
		return 0;
	case 'r':
		if (!have[F_R])
			return KRPC_ERR_FORMAT;
		rc = parse_body(&f[F_R], m);
		if (rc < 0)
			return rc;
		return m->id ? 0 : KRPC_ERR_FIELD;
	case 'e':
		if (!have[F_E])
			return KRPC_ERR_FORMAT;
		return parse_error_list(&f[F_E], m);
	default:
		return KRPC_ERR_FORMAT;
	}
}

static void
put_kv_str(struct bencode_writer *w, const char *key, const void *p, size_t n)
{
	if (p == NULL)
		return;
	bencode_put_cstr(w, key);
	bencode_put_str(w, p, n);
}

int
krpc_build_query(uint8_t *buf, size_t cap, const struct krpc_query *q)
{
	struct bencode_writer w;

	if (q->method < KRPC_M_PING || q->method > KRPC_M_PUT || q->id == NULL)
		return -1;
	bencode_writer_init(&w, buf, cap);
	bencode_put_dict(&w);
	bencode_put_cstr(&w, "a");
	bencode_put_dict(&w);
	if (q->has_cas) {
		bencode_put_cstr(&w, "cas");
		bencode_put_int(&w, q->cas);
	}
	put_kv_str(&w, "id", q->id, 20);
	if (q->implied_port) {
		bencode_put_cstr(&w, "implied_port");
		bencode_put_int(&w, 1);
	}
	put_kv_str(&w, "info_hash", q->info_hash, 20);
	put_kv_str(&w, "k", q->k, 32);
	if (q->port >= 0 && q->method == KRPC_M_ANNOUNCE_PEER) {
		bencode_put_cstr(&w, "port");
		bencode_put_int(&w, q->port);
	}
	if (q->salt_len)
		put_kv_str(&w, "salt", q->salt, q->salt_len);
	if (q->has_seq) {
		bencode_put_cstr(&w, "seq");
		bencode_put_int(&w, q->seq);
	}
	put_kv_str(&w, "sig", q->sig, 64);
	put_kv_str(&w, "target", q->target, 20);
	put_kv_str(&w, "token", q->token, q->token_len);
	if (q->value) {
		bencode_put_cstr(&w, "v");
		bencode_put_raw(&w, q->value, q->value_len);
	}
	if (q->want_n4 || q->want_n6) {
		bencode_put_cstr(&w, "want");
		bencode_put_list(&w);
		if (q->want_n4)
			bencode_put_cstr(&w, "n4");
		if (q->want_n6)
			bencode_put_cstr(&w, "n6");
		bencode_put_end(&w);
	}
	bencode_put_end(&w);
	bencode_put_cstr(&w, "q");
	bencode_put_cstr(&w, krpc_method_name(q->method));
	if (q->ro) {
		bencode_put_cstr(&w, "ro");
		bencode_put_int(&w, 1);
	}
	put_kv_str(&w, "t", q->t, q->t_len);
	put_kv_str(&w, "v", q->version, q->version_len);
	bencode_put_cstr(&w, "y");
	bencode_put_cstr(&w, "q");
	bencode_put_end(&w);
	return bencode_writer_done(&w);
}

int
krpc_build_response(uint8_t *buf, size_t cap, const struct krpc_response *r)
{
	struct bencode_writer w;

	if (r->id == NULL)
		return -1;
	bencode_writer_init(&w, buf, cap);
	bencode_put_dict(&w);
	put_kv_str(&w, "ip", r->ip, r->ip_len);
	bencode_put_cstr(&w, "r");
	bencode_put_dict(&w);
	put_kv_str(&w, "id", r->id, 20);
	put_kv_str(&w, "k", r->k, 32);
	put_kv_str(&w, "nodes", r->nodes, r->nodes_len);
	put_kv_str(&w, "nodes6", r->nodes6, r->nodes6_len);
	if (r->has_seq) {
		bencode_put_cstr(&w, "seq");
		bencode_put_int(&w, r->seq);
	}
	put_kv_str(&w, "sig", r->sig, 64);
	put_kv_str(&w, "token", r->token, r->token_len);
	if (r->value) {
		bencode_put_cstr(&w, "v");
		bencode_put_raw(&w, r->value, r->value_len);
	}
	if (r->n_values) {
		bencode_put_cstr(&w, "values");
		bencode_put_list(&w);
		for (size_t i = 0; i < r->n_values; i++)
			bencode_put_str(&w, r->values[i].p, r->values[i].n);
		bencode_put_end(&w);
	}
	bencode_put_end(&w);
	put_kv_str(&w, "t", r->t, r->t_len);
	put_kv_str(&w, "v", r->version, r->version_len);
	bencode_put_cstr(&w, "y");
	bencode_put_cstr(&w, "r");
	bencode_put_end(&w);
	return bencode_writer_done(&w);
}

int
krpc_build_error(uint8_t *buf, size_t cap, const uint8_t *t, size_t t_len,
	int code, const char *msg, const uint8_t *ip, size_t ip_len,
	const uint8_t *version, size_t version_len)
{
	struct bencode_writer w;

	bencode_writer_init(&w, buf, cap);
	bencode_put_dict(&w);
	bencode_put_cstr(&w, "e");
	bencode_put_list(&w);
	bencode_put_int(&w, code);
	bencode_put_cstr(&w, msg ? msg : "");
	bencode_put_end(&w);
	put_kv_str(&w, "ip", ip, ip_len);
	bencode_put_cstr(&w, "t");
	bencode_put_str(&w, t, t_len);
	put_kv_str(&w, "v", version, version_len);
	bencode_put_cstr(&w, "y");
	bencode_put_cstr(&w, "e");
	bencode_put_end(&w);
	return bencode_writer_done(&w);
}
