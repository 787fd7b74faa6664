/*
 * test_dht_krpc.c -- KRPC codec: the libtorrent / bittorrent-dht capture,
 * our builders round-tripping through the parser, hostile input.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "dht/dht.h"
#include "dht/dht_util.h"
#include "dht/krpc.h"
#include "tap.h"
#include "testutil.h"

#define MAXMSG 64

static uint8_t cap_msg[MAXMSG][2048];
static size_t cap_len[MAXMSG];
static int n_cap;

static void
load_capture(void)
{
	char path[1024], line[8192];
	FILE *f;

	f = tu_open_data("krpc_capture.jsonl", path, sizeof(path));
	if (!ok(f != NULL, "open %s", path))
		return;
	while (n_cap < MAXMSG && fgets(line, sizeof(line), f)) {
		size_t hl;
		const char *hex = tu_json_str(line, "hex", &hl);
		int n;
		if (hex == NULL)
			continue;
		/* A message that does not decode is kept empty: it then fails
		 * to parse, visibly, below. */
		n = tu_unhex(hex, hl, cap_msg[n_cap], sizeof(cap_msg[0]));
		cap_len[n_cap++] = n < 0 ? 0 : (size_t)n;
	}
	fclose(f);
}

static void
test_capture(void)
{
	struct krpc_msg m;
	int parsed = 0, queries = 0, replies = 0, gets = 0, puts = 0, verified = 0;

	load_capture();
	ok(n_cap > 50, "capture loaded (%d)", n_cap);
	for (int i = 0; i < n_cap; i++) {
		int rc = krpc_parse(cap_msg[i], cap_len[i], &m);
		if (rc != 0) {
			printf("# message %d: rc %d\n", i, rc);
			continue;
		}
		parsed++;
		if (m.y == 'q')
			queries++;
		if (m.y == 'r')
			replies++;
		if (m.y == 'q' && m.method == KRPC_M_GET)
			gets++;
		if (m.y == 'q' && m.method == KRPC_M_PUT) {
			puts++;
			ok(m.k && m.sig && m.has_seq && m.value_str.p && m.token.p,
				"put %d carries k, sig, seq, v, token", i);
		}
		/* Any mutable item in the capture (put or get answer) must
		 * verify with our signable bytes. */
		if (m.k && m.sig && m.has_seq && m.value.p) {
			uint8_t buf[2048];
			int n = dht_signable_raw(buf, sizeof(buf), m.salt.p, m.salt.n, m.seq,
				m.value.p, m.value.n);
			if (n > 0 && crypto_sign_verify_detached(m.sig, buf,
					     (unsigned long long)n, m.k) == 0)
				verified++;
			else
				printf("# message %d: signature does not verify\n", i);
		}
	}
	is_int(parsed, n_cap, "every captured message parses as KRPC");
	ok(queries > 10 && replies > 10, "queries %d, replies %d", queries, replies);
	ok(gets > 0 && puts > 0, "get (%d) and put (%d) present", gets, puts);
	ok(verified >= 3, "BEP 44 signatures in the capture verify (%d)", verified);

	/* Message 0: bittorrent-dht's find_node. */
	krpc_parse(cap_msg[0], cap_len[0], &m);
	ok(m.y == 'q' && m.method == KRPC_M_FIND_NODE && m.id && m.target &&
		m.t.n == 2 && !m.ro, "find_node query fields");
	/* Message 1: libtorrent's answer with BEP 42 ip, nodes, version. */
	krpc_parse(cap_msg[1], cap_len[1], &m);
	ok(m.y == 'r' && m.id && m.ip.n == 6 && m.nodes.n == 104 &&
		m.version.n == 4 && memcmp(m.version.p, "LT", 2) == 0,
		"find_node answer: ip, 4 nodes, version LT");
	{
		struct dht_addr a;
		ok(dht_addr_uncompact(m.ip.p, m.ip.n, &a) == 0 && a.family == 4 &&
			a.ip[0] == 127 && a.port == 45906, "ip field is 127.0.0.1:45906");
	}
	/* Message 36: a get_peers with an unknown extra argument "bs". */
	krpc_parse(cap_msg[36], cap_len[36], &m);
	ok(m.method == KRPC_M_GET_PEERS && m.info_hash != NULL, "unknown arguments ignored");
}

static void
test_builders(void)
{
	uint8_t buf[1500], id[20], target[20], k[32], sig[64], tok[8] = "tokentok";
	uint8_t tid[4] = { 1, 2, 3, 4 }, ip[6] = { 1, 2, 3, 4, 0x1a, 0xe1 };
	uint8_t nodes[52], value[] = "5:hello";
	struct krpc_query q;
	struct krpc_response r;
	struct krpc_msg m;
	struct krpc_str peers[2] = { { ip, 6 }, { ip, 6 } };
	int n;

	memset(id, 0x11, 20);
	memset(target, 0x22, 20);
	memset(k, 0x33, 32);
	memset(sig, 0x44, 64);
	memset(nodes, 0x55, sizeof(nodes));

	memset(&q, 0, sizeof(q));
	q.t = tid;
	q.t_len = 4;
	q.method = KRPC_M_PUT;
	q.id = id;
	q.port = -1;
	q.k = k;
	q.sig = sig;
	q.salt = (const uint8_t *)"salt";
	q.salt_len = 4;
	q.has_seq = true;
	q.seq = 42;
	q.has_cas = true;
	q.cas = 41;
	q.token = tok;
	q.token_len = 8;
	q.value = value;
	q.value_len = 7;
	q.ro = true;
	q.version = (const uint8_t *)"PK\0\1";
	q.version_len = 4;
	n = krpc_build_query(buf, sizeof(buf), &q);
	ok(n > 0, "put query built (%d bytes)", n);
	ok(krpc_parse(buf, (size_t)n, &m) == 0, "put query parses (canonical)");
	ok(m.y == 'q' && m.method == KRPC_M_PUT && m.ro && m.has_seq && m.seq == 42 &&
		m.has_cas && m.cas == 41 && m.salt.n == 4 && m.value_str.n == 5 &&
		memcmp(m.value_str.p, "hello", 5) == 0 && m.token.n == 8 &&
		memcmp(m.k, k, 32) == 0 && memcmp(m.sig, sig, 64) == 0 &&
		m.t.n == 4 && m.version.n == 4, "put fields survive");

	memset(&q, 0, sizeof(q));
	q.t = tid;
	q.t_len = 2;
	q.method = KRPC_M_ANNOUNCE_PEER;
	q.id = id;
	q.info_hash = target;
	q.port = 6881;
	q.implied_port = true;
	q.token = tok;
	q.token_len = 8;
	q.want_n4 = q.want_n6 = true;
	n = krpc_build_query(buf, sizeof(buf), &q);
	ok(n > 0 && krpc_parse(buf, (size_t)n, &m) == 0 && m.method == KRPC_M_ANNOUNCE_PEER &&
		m.has_port && m.port == 6881 && m.implied_port && m.want_n4 && m.want_n6,
		"announce_peer round trip");

	memset(&r, 0, sizeof(r));
	r.t = tid;
	r.t_len = 4;
	r.id = id;
	r.ip = ip;
	r.ip_len = 6;
	r.nodes = nodes;
	r.nodes_len = 52;
	r.token = tok;
	r.token_len = 8;
	r.k = k;
	r.sig = sig;
	r.has_seq = true;
	r.seq = -5;
	r.value = value;
	r.value_len = 7;
	r.values = peers;
	r.n_values = 2;
	n = krpc_build_response(buf, sizeof(buf), &r);
	ok(n > 0 && krpc_parse(buf, (size_t)n, &m) == 0, "response round trip");
	ok(m.y == 'r' && m.ip.n == 6 && m.nodes.n == 52 && m.n_values == 2 && m.seq == -5 &&
		m.token.n == 8, "response fields survive");
	is_int(krpc_build_response(buf, 40, &r), -1, "small buffer refused");

	n = krpc_build_error(buf, sizeof(buf), tid, 4, KRPC_E_SEQ, "too old", ip, 6, NULL, 0);
	ok(n > 0 && krpc_parse(buf, (size_t)n, &m) == 0 && m.y == 'e' && m.err_code == 302 &&
		m.err_msg.n == 7 && m.ip.n == 6, "error round trip");
}

static int
parse_str(const char *s, struct krpc_msg *m)
{
	return krpc_parse((const uint8_t *)s, strlen(s), m);
}

static void
test_hostile(void)
{
	struct krpc_msg m;

	ok(parse_str("", &m) < 0, "empty datagram");
	ok(parse_str("le", &m) < 0, "not a dictionary");
	ok(parse_str("d1:y1:qe", &m) < 0, "no transaction id");
	ok(parse_str("d1:t2:aa1:y1:xe", &m) < 0, "unknown y");
	ok(parse_str("d1:t2:aa1:y1:qe", &m) < 0, "query without q");
	is_int(parse_str("d1:ad2:id3:abce1:q4:ping1:t2:aa1:y1:qe", &m), KRPC_ERR_FIELD,
		"short id is a field error");
	ok(m.t.n == 2 && m.y == 'q', "field error keeps t for a 203 reply");
	is_int(parse_str("d1:ade1:q4:ping1:t2:aa1:y1:qe", &m), KRPC_ERR_FIELD, "missing id");
	is_int(parse_str("d1:ad2:id20:aaaaaaaaaaaaaaaaaaaa5:nodes3:abce1:q9:find_node1:t2:aa1:y1:qe",
		       &m), KRPC_ERR_FIELD, "nodes not a multiple of 26");
	is_int(parse_str("d1:ad2:id20:aaaaaaaaaaaaaaaaaaaae1:q5:hello1:t2:aa1:y1:qe", &m), 0,
		"unknown method parses");
	is_int(m.method, KRPC_M_UNKNOWN, "... as KRPC_M_UNKNOWN");
	/* A reply with its keys out of order ("ip" last, "id" after "token"). */
	is_int(parse_str("d1:rd5:token2:tk2:id20:bbbbbbbbbbbbbbbbbbbbe1:t2:aa1:y1:r2:ip6:ABCDEFe",
		       &m), 0, "a reply with unsorted keys parses");
	ok(m.y == 'r' && m.id && m.id[0] == 'b' && m.ip.n == 6 && m.token.n == 2,
		"... with every field found");
	ok(parse_str("d1:rd2:id20:bbbbbbbbbbbbbbbbbbbbe1:t2:aa1:y1:r1:t2:bbe", &m) < 0,
		"a reply with t twice is refused");
	is_int(parse_str("d1:ad2:id20:aaaaaaaaaaaaaaaaaaaa3:seq3:abce1:q3:get1:t2:aa1:y1:qe", &m),
		KRPC_ERR_FIELD, "seq of the wrong type");
	ok(parse_str("d1:eli201e5:Errore1:t2:aa1:y1:ee", &m) == 0 && m.err_code == 201,
		"error message");
	ok(parse_str("d1:ele1:t2:aa1:y1:ee", &m) < 0, "empty error list");
	ok(parse_str("d1:t17:aaaaaaaaaaaaaaaaa1:y1:ee", &m) < 0, "overlong transaction id");
	ok(parse_str("d1:rd2:id20:aaaaaaaaaaaaaaaaaaaa6:valuesl3:abc6:abcdefee1:t2:aa1:y1:re", &m) == 0 &&
		m.n_values == 1, "odd-sized peers skipped");

	/* Random bytes and mutated captured messages never crash. */
	{
		uint8_t buf[600];
		int parsed = 0;
		for (int i = 0; i < 20000; i++) {
			size_t n;
			if (n_cap > 0 && i % 2 == 0) {
				int j = i % n_cap;
				n = cap_len[j] < sizeof(buf) ? cap_len[j] : sizeof(buf);
				memcpy(buf, cap_msg[j], n);
				buf[randombytes_uniform((uint32_t)n)] = (uint8_t)randombytes_random();
				n = randombytes_uniform((uint32_t)n) + 1;
			} else {
				n = randombytes_uniform(sizeof(buf));
				randombytes_buf(buf, n);
			}
			if (krpc_parse(buf, n, &m) == 0)
				parsed++;
		}
		ok(1, "20000 fuzzed datagrams handled (%d parsed)", parsed);
	}
}


/* Server side: answers and BEP 5 / BEP 44 errors, through dht_input. */
static uint8_t last[2048];
static size_t last_len;
static int n_sent;

static int
capture_send(void *ctx, const uint8_t *buf, size_t len, const struct sockaddr *to,
	socklen_t tl)
{
	(void)ctx, (void)to, (void)tl;
	if (len <= sizeof(last)) {
		memcpy(last, buf, len);
		last_len = len;
	}
	n_sent++;
	return 0;
}

/* Send q to the node; parse its answer into m. @return error code or 0. */
static int
ask(struct dht *d, struct krpc_query *q, struct krpc_msg *m)
{
	static uint8_t buf[2048];
	struct sockaddr_in from;
	int n;

	memset(&from, 0, sizeof(from));
	from.sin_family = AF_INET;
	from.sin_port = htons(4000);
	from.sin_addr.s_addr = htonl(0xc6336401); /* 198.51.100.1 */
	q->t = (const uint8_t *)"tt";
	q->t_len = 2;
	n = krpc_build_query(buf, sizeof(buf), q);
	last_len = 0;
	dht_input(d, buf, (size_t)n, (struct sockaddr *)&from, sizeof(from), 1000);
	if (last_len == 0 || krpc_parse(last, last_len, m) != 0)
		return -1;
	return m->y == 'e' ? (int)m->err_code : 0;
}

static void
test_server(void)
{
	struct dht_config cfg;
	struct dht *d;
	struct krpc_query q;
	struct krpc_msg m;
	uint8_t id[20], token[64], pk[32], sk[64], sig[64], signable[1200];
	uint8_t value[1100], big[1010];
	size_t token_len;
	int n;

	memset(&cfg, 0, sizeof(cfg));
	cfg.mode = DHT_MODE_SERVER;
	cfg.send = capture_send;
	d = dht_new(&cfg, 1000);
	memset(id, 0x42, 20);
	crypto_sign_keypair(pk, sk);

	memset(&q, 0, sizeof(q));
	q.method = KRPC_M_PING;
	q.id = id;
	q.port = -1;
	is_int(ask(d, &q, &m), 0, "ping answered");
	ok(m.y == 'r' && m.id && m.ip.n == 6 && m.ip.p[0] == 198 && m.version.n == 4,
		"answer carries id, BEP 42 ip and version");

	q.method = KRPC_M_FIND_NODE;
	is_int(ask(d, &q, &m), 203, "find_node without target: 203");
	q.method = KRPC_M_GET;
	q.target = id;
	is_int(ask(d, &q, &m), 0, "get answered");
	ok(m.token.p != NULL && m.token.n <= sizeof(token), "get gives a token");
	token_len = m.token.n;
	memcpy(token, m.token.p, token_len);

	/* put: "11:hello world" signed. */
	memcpy(value, "11:hello world", 14);
	n = dht_bep44_signable(signable, sizeof(signable), NULL, 0, 3,
		(const uint8_t *)"hello world", 11);
	crypto_sign_detached(sig, NULL, signable, (unsigned long long)n, sk);
	memset(&q, 0, sizeof(q));
	q.method = KRPC_M_PUT;
	q.id = id;
	q.port = -1;
	q.k = pk;
	q.sig = sig;
	q.has_seq = true;
	q.seq = 3;
	q.value = value;
	q.value_len = 14;
	q.token = (const uint8_t *)"badtoken";
	q.token_len = 8;
	is_int(ask(d, &q, &m), 203, "put with a bad token: 203");
	q.token = token;
	q.token_len = token_len;
	sig[0] ^= 1;
	is_int(ask(d, &q, &m), 206, "put with a bad signature: 206");
	sig[0] ^= 1;
	is_int(ask(d, &q, &m), 0, "valid put stored");
	q.seq = 2;
	is_int(ask(d, &q, &m), 206, "changed seq breaks the signature: 206");
	n = dht_bep44_signable(signable, sizeof(signable), NULL, 0, 2,
		(const uint8_t *)"hello world", 11);
	crypto_sign_detached(sig, NULL, signable, (unsigned long long)n, sk);
	is_int(ask(d, &q, &m), 302, "older seq: 302");
	q.seq = 3;
	n = dht_bep44_signable(signable, sizeof(signable), NULL, 0, 3,
		(const uint8_t *)"hello world", 11);
	crypto_sign_detached(sig, NULL, signable, (unsigned long long)n, sk);
	q.has_cas = true;
	q.cas = 1;
	is_int(ask(d, &q, &m), 301, "cas mismatch: 301");
	q.has_cas = false;
	memset(big, 'x', sizeof(big));
	memcpy(big, "1001:", 5);
	q.value = big;
	q.value_len = 5 + 1001;
	is_int(ask(d, &q, &m), 205, "1001-byte value: 205");
	q.value = value;
	q.value_len = 14;
	q.salt = big;
	q.salt_len = 65;
	is_int(ask(d, &q, &m), 207, "65-byte salt: 207");

	/* get returns the stored item, verified. */
	memset(&q, 0, sizeof(q));
	q.method = KRPC_M_GET;
	q.id = id;
	q.port = -1;
	{
		uint8_t target[20];
		dht_mutable_target(pk, NULL, 0, target);
		q.target = target;
		is_int(ask(d, &q, &m), 0, "get of the stored item");
		ok(m.k && memcmp(m.k, pk, 32) == 0 && m.has_seq && m.seq == 3 && m.sig &&
			m.value_str.n == 11, "item returned with k, seq, sig, v");
		q.has_seq = true;
		q.seq = 3;
		is_int(ask(d, &q, &m), 0, "get with seq = current");
		ok(m.has_seq && m.seq == 3 && m.value.p == NULL, "... returns seq without v");
	}

	/* announce_peer / get_peers. */
	memset(&q, 0, sizeof(q));
	q.method = KRPC_M_ANNOUNCE_PEER;
	q.id = id;
	q.info_hash = id;
	q.port = 6881;
	q.token = token;
	q.token_len = token_len;
	is_int(ask(d, &q, &m), 0, "announce_peer accepted");
	q.method = KRPC_M_GET_PEERS;
	q.port = -1;
	q.token = NULL;
	is_int(ask(d, &q, &m), 0, "get_peers answered");
	ok(m.n_values == 1 && m.values[0].n == 6 && m.values[0].p[4] == 0x1a &&
		m.values[0].p[5] == 0xe1, "announced peer returned");

	/* Unknown method and malformed arguments. */
	{
		const char *unk = "d1:ad2:id20:aaaaaaaaaaaaaaaaaaaae1:q5:hello1:t2:tt1:y1:qe";
		const char *bad = "d1:ad2:id3:abce1:q4:ping1:t2:tt1:y1:qe";
		struct sockaddr_in from;
		memset(&from, 0, sizeof(from));
		from.sin_family = AF_INET;
		from.sin_port = htons(4001);
		from.sin_addr.s_addr = htonl(0xc6336402);
		last_len = 0;
		dht_input(d, (const uint8_t *)unk, strlen(unk), (struct sockaddr *)&from,
			sizeof(from), 1000);
		ok(last_len && krpc_parse(last, last_len, &m) == 0 && m.err_code == 204,
			"unknown method: 204");
		last_len = 0;
		dht_input(d, (const uint8_t *)bad, strlen(bad), (struct sockaddr *)&from,
			sizeof(from), 1000);
		ok(last_len && krpc_parse(last, last_len, &m) == 0 && m.err_code == 203,
			"malformed arguments: 203");
	}
	dht_free(d);

	/* A client-mode node answers nothing. */
	cfg.mode = DHT_MODE_CLIENT;
	d = dht_new(&cfg, 1000);
	memset(&q, 0, sizeof(q));
	q.method = KRPC_M_PING;
	q.id = id;
	q.port = -1;
	n_sent = 0;
	is_int(ask(d, &q, &m), -1, "client mode: no answer");
	is_int(n_sent, 0, "client mode: nothing sent");
	dht_free(d);
}

/* Every datagram a node sends, with its destination. */
#define MAXOUT 256
static struct out {
	struct sockaddr_storage to;
	socklen_t tolen;
	uint8_t buf[1500];
	size_t len;
} outq[MAXOUT];
static int n_out;

static int
queue_send(void *ctx, const uint8_t *buf, size_t len, const struct sockaddr *to, socklen_t tl)
{
	(void)ctx;
	if (n_out >= MAXOUT || len > sizeof(outq[0].buf) || tl > sizeof(outq[0].to))
		return 0;
	memcpy(&outq[n_out].to, to, tl);
	outq[n_out].tolen = tl;
	memcpy(outq[n_out].buf, buf, len);
	outq[n_out].len = len;
	n_out++;
	return 0;
}

/* Answer every query sent to a voter with a find_node reply whose "ip"
 * says what that voter sees. Returns the replies delivered. */
static int
answer_voters(struct dht *d, const struct dht_addr *voters, const struct dht_addr *claims,
	int nvoters, uint64_t now_ms)
{
	int delivered = 0;

	for (int round = 0; round < 20 && n_out > 0; round++) {
		struct out batch[MAXOUT];
		int n = n_out;
		memcpy(batch, outq, sizeof(batch[0]) * (size_t)n);
		n_out = 0;
		for (int i = 0; i < n; i++) {
			struct krpc_msg m;
			struct krpc_response r;
			struct dht_addr to;
			uint8_t ipc[18], id[20], buf[512];
			int len, v = -1;
			if (krpc_parse(batch[i].buf, batch[i].len, &m) != 0 || m.y != 'q' ||
			    dht_addr_from_sockaddr((struct sockaddr *)&batch[i].to, batch[i].tolen,
				    &to) != 0)
				continue;
			for (int j = 0; j < nvoters; j++)
				if (dht_addr_eq(&voters[j], &to))
					v = j;
			if (v < 0)
				continue;
			memset(id, 0x40 + v, sizeof(id));
			memset(&r, 0, sizeof(r));
			r.t = m.t.p;
			r.t_len = m.t.n;
			r.id = id;
			r.ip = ipc;
			r.ip_len = dht_addr_compact(&claims[v], ipc);
			len = krpc_build_response(buf, sizeof(buf), &r);
			if (len > 0) {
				dht_input(d, buf, (size_t)len, (struct sockaddr *)&batch[i].to,
					batch[i].tolen, now_ms);
				delivered++;
			}
		}
		dht_periodic(d, now_ms);
	}
	return delivered;
}

static void
voter(struct dht_addr *a, int family, int i)
{
	memset(a, 0, sizeof(*a));
	a->family = (uint8_t)family;
	if (family == 4) {
		a->ip[0] = 198, a->ip[1] = 51, a->ip[2] = 100, a->ip[3] = (uint8_t)(10 + i);
	} else {
		a->ip[0] = 0x20, a->ip[1] = 0x01, a->ip[2] = 0x0d, a->ip[3] = 0xb8;
		a->ip[15] = (uint8_t)(10 + i);
	}
	a->port = 6881;
}

/* BEP 42 voting on a dual-stack node: IPv6 voters elect an address only
 * while no IPv4 node has voted, and cannot take the election from IPv4. */
static void
test_votes(void)
{
	struct dht_config cfg;
	struct dht_info info;
	struct dht_addr voters[9], claims[9];
	struct sockaddr_storage ss;
	struct dht *d;
	uint64_t now = 1000;

	for (int i = 0; i < 9; i++) {
		voter(&voters[i], i < 3 || i >= 6 ? 6 : 4, i);
		memset(&claims[i], 0, sizeof(claims[i]));
		claims[i].family = voters[i].family;
		if (claims[i].family == 4)
			memcpy(claims[i].ip, "\xcb\x00\x71\x07", 4); /* 203.0.113.7 */
		else
			memcpy(claims[i].ip, "\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff", 16);
		claims[i].port = 7000;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.mode = DHT_MODE_SERVER;
	cfg.send = queue_send;
	cfg.dual_stack = true;
	d = dht_new(&cfg, now);
	if (!ok(d != NULL, "dual-stack node"))
		return;
	n_out = 0;
	for (int i = 0; i < 3; i++) {
		socklen_t sl = dht_addr_to_sockaddr(&voters[i], &ss);
		dht_add_bootstrap(d, (struct sockaddr *)&ss, sl);
	}
	dht_periodic(d, now);
	{
		bool want_both = false;
		for (int i = 0; i < n_out; i++) {
			struct krpc_msg m;
			if (krpc_parse(outq[i].buf, outq[i].len, &m) == 0 &&
			    m.method == KRPC_M_FIND_NODE && m.want_n4 && m.want_n6)
				want_both = true;
		}
		ok(want_both, "bootstrapping find_node asks for n4 and n6 (BEP 32)");
	}
	ok(answer_voters(d, voters, claims, 9, now) >= 3, "three IPv6 voters answered");
	dht_get_info(d, now, &info);
	ok(info.have_external && strncmp(info.external, "[2001:db8::ff]:", 15) == 0,
		"IPv6 votes alone elect the IPv6 address (%s)", info.external);
	for (int i = 3; i < 9; i++) {
		socklen_t sl = dht_addr_to_sockaddr(&voters[i], &ss);
		dht_add_bootstrap(d, (struct sockaddr *)&ss, sl);
	}
	now += 20 * 60 * 1000; /* past the bootstrap interval */
	n_out = 0;
	dht_periodic(d, now);
	ok(answer_voters(d, voters, claims, 9, now) >= 6, "IPv4 and more IPv6 voters answered");
	dht_get_info(d, now, &info);
	ok(info.have_external && strncmp(info.external, "203.0.113.7:", 12) == 0,
		"IPv4 votes win over as many IPv6 ones (%s)", info.external);
	dht_free(d);
}

/* A host without an IPv6 route: sends to IPv6 fail at once. */
static int
v4_only_send(void *ctx, const uint8_t *buf, size_t len, const struct sockaddr *to, socklen_t tl)
{
	if (to->sa_family == AF_INET6)
		return -1;
	return queue_send(ctx, buf, len, to, tl);
}

static int lookups_done;

static void
count_done(void *ctx, const struct dht_lookup_stats *st)
{
	(void)ctx, (void)st;
	lookups_done++;
}

static void
test_unreachable(void)
{
	struct dht_config cfg;
	struct dht_addr a4, a6;
	struct sockaddr_storage ss;
	socklen_t sl;
	struct krpc_msg m;
	struct dht *d;
	uint8_t k[32] = { 7 };

	voter(&a4, 4, 1);
	voter(&a6, 6, 1);
	memset(&cfg, 0, sizeof(cfg));
	cfg.mode = DHT_MODE_SERVER;
	cfg.send = v4_only_send;
	cfg.dual_stack = true;
	d = dht_new(&cfg, 1000);
	if (!ok(d != NULL, "dual-stack node on a host without IPv6 routes"))
		return;
	sl = dht_addr_to_sockaddr(&a6, &ss);
	ok(dht_add_bootstrap(d, (struct sockaddr *)&ss, sl) < 0,
		"an unreachable IPv6 bootstrap node is reported");
	n_out = 0;
	sl = dht_addr_to_sockaddr(&a4, &ss);
	dht_add_bootstrap(d, (struct sockaddr *)&ss, sl);
	ok(n_out == 1 && krpc_parse(outq[0].buf, outq[0].len, &m) == 0 &&
			m.method == KRPC_M_FIND_NODE && !m.want_n6,
		"once IPv6 sends fail, find_node stops asking for IPv6 nodes");
	dht_free(d);

	/* A look-up whose only candidates cannot be reached ends at once. */
	d = dht_new(&cfg, 1000);
	if (d == NULL)
		return;
	sl = dht_addr_to_sockaddr(&a6, &ss);
	dht_add_bootstrap(d, (struct sockaddr *)&ss, sl);
	lookups_done = 0;
	ok(dht_get_mutable(d, k, NULL, 0, 0, NULL, count_done, NULL, 1000) != 0, "get started");
	dht_periodic(d, 1000);
	is_int(lookups_done, 1, "a look-up with only unreachable nodes ends without waiting");
	dht_free(d);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_capture();
	test_builders();
	test_hostile();
	test_server();
	test_votes();
	test_unreachable();
	return tap_done();
}
