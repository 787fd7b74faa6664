/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_dht_krpc.c -- KRPC codec: the libtorrent / bittorrent-dht capture,
 * our builders round-tripping through the parser, hostile input, top-level
 * keys in any order; the node answering queries, BEP 42 votes, and
 * dht_input_batch holding a look-up's next queries until a batch's end.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "dht/dht.h"
#include "dht/dht_internal.h" /* DHT_MAX_BOOT */
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

#define ID_A "aaaaaaaaaaaaaaaaaaaa"
#define ID_B "bbbbbbbbbbbbbbbbbbbb"
#define NODE_X "XXXXXXXXXXXXXXXXXXXXXXXXXX" /* one compact IPv4 node */

/* Two parses of one message with its keys in other orders agree. */
static bool
same_fields(const struct krpc_msg *a, const struct krpc_msg *b)
{
#define SAME_STR(f) (a->f.n == b->f.n && (a->f.n == 0 || memcmp(a->f.p, b->f.p, a->f.n) == 0) && \
	(a->f.p == NULL) == (b->f.p == NULL))
#define SAME_20(f) ((a->f == NULL) == (b->f == NULL) && (a->f == NULL || memcmp(a->f, b->f, 20) == 0))
	return a->y == b->y && SAME_STR(t) && SAME_STR(version) && SAME_STR(ip) && a->ro == b->ro &&
	    a->method == b->method && SAME_STR(q) && SAME_20(id) && SAME_20(target) &&
	    SAME_STR(nodes) && SAME_STR(token) && a->has_seq == b->has_seq && a->seq == b->seq &&
	    a->err_code == b->err_code && SAME_STR(err_msg);
#undef SAME_STR
#undef SAME_20
}

/* krpc_parse finds the top-level keys in one walk: any order, each key
 * by its exact name, the old error codes. */
static void
test_parse_walk(void)
{
	struct krpc_msg m, s;

	/* A reply with every top-level field, sorted and shuffled. */
	is_int(parse_str("d2:ip6:ABCDEF1:rd2:id20:" ID_B "5:nodes26:" NODE_X "5:token2:tke"
		       "2:roi1e1:t2:aa1:v4:LT011:y1:re", &s), 0, "sorted reply parses");
	ok(s.y == 'r' && s.t.n == 2 && memcmp(s.t.p, "aa", 2) == 0 && s.version.n == 4 &&
			memcmp(s.version.p, "LT01", 4) == 0 && s.ip.n == 6 &&
			memcmp(s.ip.p, "ABCDEF", 6) == 0 && s.ro && s.id && s.id[0] == 'b' &&
			s.nodes.n == 26 && s.token.n == 2,
		"sorted reply: y, t, v, ip, ro, id, nodes, token");
	is_int(parse_str("d1:y1:r1:t2:aa2:roi1e1:v4:LT012:ip6:ABCDEF1:rd5:token2:tk"
		       "5:nodes26:" NODE_X "2:id20:" ID_B "ee", &m), 0,
		"reply with y before t and r last parses");
	ok(same_fields(&m, &s), "... to the same fields as the sorted one");
	is_int(parse_str("d1:rd2:id20:" ID_B "5:nodes26:" NODE_X "5:token2:tke1:v4:LT01"
		       "1:y1:r2:roi1e2:ip6:ABCDEF1:t2:aae", &m), 0, "reply with r first, t last parses");
	ok(same_fields(&m, &s), "... to the same fields as well");

	/* A query and an error, shuffled. */
	is_int(parse_str("d1:ad2:id20:" ID_A "6:target20:" ID_B "e1:q9:find_node1:t2:qq1:y1:qe",
		       &s), 0, "sorted find_node parses");
	is_int(parse_str("d1:y1:q1:t2:qq1:q9:find_node1:ad6:target20:" ID_B "2:id20:" ID_A "ee",
		       &m), 0, "find_node with y, t, q, a in reverse order parses");
	ok(same_fields(&m, &s) && m.method == KRPC_M_FIND_NODE && m.id[0] == 'a' &&
			m.target[0] == 'b', "... to the same query");
	is_int(parse_str("d1:eli202e6:Servere1:t2:ee1:y1:ee", &s), 0, "sorted error parses");
	is_int(parse_str("d1:y1:e1:t2:ee1:eli202e6:Serveree", &m), 0, "shuffled error parses");
	ok(same_fields(&m, &s) && m.err_code == 202 && m.err_msg.n == 6, "... to the same error");

	/* Unknown top-level keys, before, between and after, are skipped;
	 * names that merely start like a known key are not taken for it. */
	is_int(parse_str("d1:A1:x2:tt2:zz1:rd2:id20:" ID_B "e2:yy1:q1:t2:aa3:ipx6:ABCDEF"
		       "1:y1:r2:rod2:id20:" ID_A "e1:zi0ee", &m), 0,
		"unknown keys (tt, yy, ipx, rod, A, z) skipped");
	ok(m.y == 'r' && m.t.n == 2 && memcmp(m.t.p, "aa", 2) == 0 && m.id[0] == 'b' &&
			m.ip.p == NULL && !m.ro, "... t, y and r are the exact keys, ip unset");
	is_int(parse_str("d2:tt2:aa1:y1:r1:rd2:id20:" ID_B "ee", &m), KRPC_ERR_FORMAT,
		"only a key tt, no t: KRPC_ERR_FORMAT");

	/* Missing t or y: KRPC_ERR_FORMAT, as before the one-walk parser. */
	is_int(parse_str("d1:rd2:id20:" ID_B "e1:y1:re", &m), KRPC_ERR_FORMAT,
		"reply without t: KRPC_ERR_FORMAT");
	is_int(parse_str("d1:y1:r1:rd2:id20:" ID_B "ee", &m), KRPC_ERR_FORMAT,
		"unsorted reply without t: KRPC_ERR_FORMAT");
	is_int(parse_str("d1:rd2:id20:" ID_B "e1:t2:aae", &m), KRPC_ERR_FORMAT,
		"reply without y: KRPC_ERR_FORMAT");
	ok(m.t.n == 2 && m.y == 0, "... t is read before y is found missing");
	is_int(parse_str("d1:ad2:id20:" ID_A "e1:q4:ping1:t2:aae", &m), KRPC_ERR_FORMAT,
		"query without y: KRPC_ERR_FORMAT");
	is_int(parse_str("d1:ti5e1:y1:re", &m), KRPC_ERR_FORMAT, "t an integer: KRPC_ERR_FORMAT");
	is_int(parse_str("d1:t2:aa1:y2:qqe", &m), KRPC_ERR_FORMAT, "y of two bytes: KRPC_ERR_FORMAT");
	is_int(parse_str("d1:t2:aa1:yi1ee", &m), KRPC_ERR_FORMAT, "y an integer: KRPC_ERR_FORMAT");
	is_int(parse_str("d1:rd2:id20:" ID_B "e1:t17:aaaaaaaaaaaaaaaaa1:y1:re", &m),
		KRPC_ERR_FORMAT, "17-byte t: KRPC_ERR_FORMAT");
	is_int(parse_str("d1:t16:aaaaaaaaaaaaaaaa1:y1:r1:rd2:id20:" ID_B "ee", &m), 0,
		"16-byte t accepted");
	is_int(parse_str("i5e", &m), KRPC_ERR_FORMAT, "an integer datagram: KRPC_ERR_FORMAT");
	is_int(parse_str("4:spam", &m), KRPC_ERR_FORMAT, "a string datagram: KRPC_ERR_FORMAT");
	is_int(parse_str("d1:t2:aa1:y1:r", &m), KRPC_ERR_BENCODE, "truncated: KRPC_ERR_BENCODE");
	is_int(parse_str("d1:t2:aa1:y1:r1:y1:re", &m), KRPC_ERR_BENCODE,
		"y twice: KRPC_ERR_BENCODE");

	/* The body each y needs. */
	is_int(parse_str("d1:q4:ping1:t2:aa1:y1:qe", &m), KRPC_ERR_FIELD,
		"query without a: KRPC_ERR_FIELD");
	ok(m.y == 'q' && m.t.n == 2 && m.method == KRPC_M_PING && m.q.n == 4,
		"... with t, y and the method set for a 203 answer");
	is_int(parse_str("d1:y1:q1:q4:ping1:t2:aae", &m), KRPC_ERR_FIELD,
		"unsorted query without a: KRPC_ERR_FIELD");
	is_int(parse_str("d1:ai1e1:q4:ping1:t2:aa1:y1:qe", &m), KRPC_ERR_FIELD,
		"query whose a is not a dictionary: KRPC_ERR_FIELD");
	is_int(parse_str("d1:t2:aa1:y1:qe", &m), KRPC_ERR_FORMAT, "query without q: KRPC_ERR_FORMAT");
	is_int(parse_str("d1:ad2:id20:" ID_A "e1:qi1e1:t2:aa1:y1:qe", &m), KRPC_ERR_FORMAT,
		"query whose q is not a string: KRPC_ERR_FORMAT");
	is_int(parse_str("d1:ad2:id20:" ID_A "e1:t2:aa1:y1:re", &m), KRPC_ERR_FORMAT,
		"reply with a but no r: KRPC_ERR_FORMAT");
	is_int(parse_str("d1:rl2:ide1:t2:aa1:y1:re", &m), KRPC_ERR_FORMAT,
		"reply whose r is a list: KRPC_ERR_FORMAT");
	is_int(parse_str("d1:rde1:t2:aa1:y1:re", &m), KRPC_ERR_FIELD, "reply without id: KRPC_ERR_FIELD");
	is_int(parse_str("d1:t2:aa1:y1:ee", &m), KRPC_ERR_FORMAT, "error without e: KRPC_ERR_FORMAT");
	is_int(parse_str("d1:ei201e1:t2:aa1:y1:ee", &m), KRPC_ERR_FORMAT,
		"error whose e is no list: KRPC_ERR_FORMAT");
	/* A message carrying both bodies reads the one its y names. */
	is_int(parse_str("d1:ad2:id20:" ID_A "e1:rd2:id20:" ID_B "e1:t2:aa1:y1:re", &m), 0,
		"reply with a and r parses");
	ok(m.id && m.id[0] == 'b', "... the id comes from r");
	is_int(parse_str("d1:ad2:id20:" ID_A "e1:q4:ping1:rd2:id20:" ID_B "e1:t2:aa1:y1:qe", &m), 0,
		"query with a and r parses");
	ok(m.id && m.id[0] == 'a', "... the id comes from a");

	/* Top-level ip: 6 or 18 bytes, anything else ignored. */
	is_int(parse_str("d2:ip5:ABCDE1:rd2:id20:" ID_B "e1:t2:aa1:y1:re", &m), 0,
		"5-byte ip: the message still parses");
	ok(m.ip.p == NULL && m.ip.n == 0, "... and ip is ignored");
	is_int(parse_str("d2:ip7:ABCDEFG1:rd2:id20:" ID_B "e1:t2:aa1:y1:re", &m), 0,
		"7-byte ip: parses");
	ok(m.ip.p == NULL && m.ip.n == 0, "... ip ignored");
	is_int(parse_str("d2:ip17:ABCDEFGHIJKLMNOPQ1:rd2:id20:" ID_B "e1:t2:aa1:y1:re", &m), 0,
		"17-byte ip: parses");
	ok(m.ip.p == NULL, "... ip ignored");
	is_int(parse_str("d2:ipi7e1:rd2:id20:" ID_B "e1:t2:aa1:y1:re", &m), 0, "integer ip: parses");
	ok(m.ip.p == NULL, "... ip ignored");
	is_int(parse_str("d1:y1:r2:ip18:ABCDEFGHIJKLMNOPQR1:rd2:id20:" ID_B "e1:t2:aae", &m), 0,
		"18-byte ip (unsorted keys) parses");
	ok(m.ip.n == 18 && m.ip.p[0] == 'A', "... and is kept");

	/* ro = 1 only; v only as a string. */
	is_int(parse_str("d1:rd2:id20:" ID_B "e2:roi2e1:t2:aa1:y1:re", &m), 0, "ro = 2 parses");
	ok(!m.ro, "... as not read-only");
	is_int(parse_str("d1:rd2:id20:" ID_B "e2:ro1:11:t2:aa1:y1:re", &m), 0, "ro a string parses");
	ok(!m.ro, "... as not read-only");
	is_int(parse_str("d1:y1:q2:roi1e1:t2:aa1:q4:ping1:ad2:id20:" ID_A "ee", &m), 0,
		"unsorted query with ro = 1 parses");
	ok(m.ro && m.method == KRPC_M_PING, "... read-only ping");
	is_int(parse_str("d1:rd2:id20:" ID_B "e1:t2:aa1:vi1e1:y1:re", &m), 0, "integer v parses");
	ok(m.version.p == NULL, "... without a version");
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

/* dht_new wires narrow_buckets: a saved table of 200 nodes far from us
 * (bucket 0) loads 128 of them into a default node, 8 into a narrow one. */
static void
test_bucket_config(void)
{
	static uint8_t blob[200 * DHT_COMPACT_NODE4 + 64];
	struct dht_config cfg;
	struct dht_info info;
	uint8_t self[20];
	size_t off;
	struct dht *d;

	memset(self, 0x11, 20);
	off = (size_t)snprintf((char *)blob, sizeof(blob), "d5:nodes%d:", 200 * DHT_COMPACT_NODE4);
	for (int i = 0; i < 200; i++) {
		uint8_t *p = blob + off + (size_t)i * DHT_COMPACT_NODE4;
		memset(p, 0, 20);
		p[0] = 0x80; /* first bit differs from ours */
		p[1] = (uint8_t)i;
		p[20] = 198, p[21] = 18, p[22] = (uint8_t)(i >> 8), p[23] = (uint8_t)i;
		p[24] = 0x1a, p[25] = 0xe1;
	}
	off += 200 * DHT_COMPACT_NODE4;
	blob[off++] = 'e';

	memset(&cfg, 0, sizeof(cfg));
	cfg.mode = DHT_MODE_SERVER;
	cfg.send = queue_send;
	cfg.node_id = self;
	d = dht_new(&cfg, 1000);
	if (!ok(d != NULL, "node with default buckets"))
		return;
	is_int(dht_load_nodes(d, blob, off, 1000), 128,
		"default (wide) buckets: 128 of 200 far nodes load into bucket 0");
	dht_get_info(d, 1000, &info);
	is_int(info.nodes4, 128, "... and 128 are in the table");
	dht_free(d);
	cfg.narrow_buckets = true;
	d = dht_new(&cfg, 1000);
	if (!ok(d != NULL, "node with narrow buckets"))
		return;
	is_int(dht_load_nodes(d, blob, off, 1000), 8, "narrow_buckets: 8 of them load");
	dht_free(d);
}

/* dht_input_batch: a look-up's first wave answered by two replies that
 * arrive together, one naming closer nodes and one holding the value. */
#define BT_FAR 4
#define BT_NEAR 4
static struct batch_run {
	struct dht *d;
	uint8_t self[20], pk[32], sk[64], target[20];
	uint8_t far_id[BT_FAR][20], near_id[BT_NEAR][20];
	struct dht_addr far[BT_FAR], near[BT_NEAR];
	int wave;                          /* datagrams of the first wave */
	int q_far[3];                      /* the far node each query went to */
	uint8_t tid[3][4];
	struct sockaddr_storage from[3];
	socklen_t fromlen[3];
	uint8_t reply_a[512], reply_b[1024];
	size_t len_a, len_b;
	int values, n_out_at_value, done;
	int64_t seq;
	char v[64];
} bt;

static void
batch_value(void *ctx, const struct dht_item *it)
{
	(void)ctx;
	bt.values++;
	bt.n_out_at_value = n_out;
	bt.seq = it->seq;
	snprintf(bt.v, sizeof(bt.v), "%.*s", (int)it->v_len, (const char *)it->v);
}

static void
batch_done(void *ctx, const struct dht_lookup_stats *st)
{
	(void)ctx, (void)st;
	bt.done++;
}

static int
far_index(const struct sockaddr_storage *ss, socklen_t sl)
{
	struct dht_addr a;

	if (dht_addr_from_sockaddr((const struct sockaddr *)ss, sl, &a) < 0)
		return -1;
	for (int i = 0; i < BT_FAR; i++)
		if (dht_addr_eq(&a, &bt.far[i]))
			return i;
	return -1;
}

/* A node (fixed ID) whose table holds BT_FAR nodes far from the target,
 * a mutable get on it, its first wave captured, and the two replies:
 * A from the first node queried, naming BT_NEAR nodes much closer to the
 * target; B from the second, with the signed value. */
static bool
batch_setup(void)
{
	static const char value[] = "hello batch";
	uint8_t blob[BT_FAR * DHT_COMPACT_NODE4 + 32], nodes[BT_NEAR * DHT_COMPACT_NODE4];
	uint8_t seed[32], signable[256], sig[64], venc[32];
	struct dht_config cfg;
	struct krpc_response r;
	size_t off;
	int n;

	memset(&bt, 0, sizeof(bt));
	memset(bt.self, 0x11, 20);
	memset(seed, 0x21, sizeof(seed));
	crypto_sign_seed_keypair(bt.pk, bt.sk, seed);
	dht_mutable_target(bt.pk, NULL, 0, bt.target);
	for (int i = 0; i < BT_FAR; i++) {
		memcpy(bt.far_id[i], bt.target, 20);
		bt.far_id[i][0] ^= (uint8_t)(0x80 >> i); /* far: differ early */
		memset(&bt.far[i], 0, sizeof(bt.far[i]));
		bt.far[i].family = 4;
		memcpy(bt.far[i].ip, "\xc6\x33\x64", 3); /* 198.51.100.x */
		bt.far[i].ip[3] = (uint8_t)(20 + i);
		bt.far[i].port = 6881;
	}
	for (int i = 0; i < BT_NEAR; i++) {
		memcpy(bt.near_id[i], bt.target, 20);
		bt.near_id[i][19] ^= (uint8_t)(i + 1); /* near: distance i + 1 */
		memset(&bt.near[i], 0, sizeof(bt.near[i]));
		bt.near[i].family = 4;
		memcpy(bt.near[i].ip, "\xcb\x00\x71", 3); /* 203.0.113.x */
		bt.near[i].ip[3] = (uint8_t)(40 + i);
		bt.near[i].port = 6881;
		memcpy(nodes + i * DHT_COMPACT_NODE4, bt.near_id[i], 20);
		dht_addr_compact(&bt.near[i], nodes + i * DHT_COMPACT_NODE4 + 20);
	}

	off = (size_t)snprintf((char *)blob, sizeof(blob), "d5:nodes%d:", BT_FAR * DHT_COMPACT_NODE4);
	for (int i = 0; i < BT_FAR; i++) {
		memcpy(blob + off, bt.far_id[i], 20);
		dht_addr_compact(&bt.far[i], blob + off + 20);
		off += DHT_COMPACT_NODE4;
	}
	blob[off++] = 'e';

	memset(&cfg, 0, sizeof(cfg));
	cfg.mode = DHT_MODE_SERVER;
	cfg.send = queue_send;
	cfg.node_id = bt.self;
	bt.d = dht_new(&cfg, 1000);
	if (bt.d == NULL || dht_load_nodes(bt.d, blob, off, 1000) != BT_FAR)
		return false;
	n_out = 0;
	if (dht_get_mutable(bt.d, bt.pk, NULL, 0, 0, batch_value, batch_done, NULL, 1000) == 0)
		return false;
	bt.wave = n_out;
	if (bt.wave != 3)
		return false;
	for (int i = 0; i < 3; i++) {
		struct krpc_msg m;
		if (krpc_parse(outq[i].buf, outq[i].len, &m) != 0 || m.method != KRPC_M_GET ||
		    m.t.n != 4)
			return false;
		memcpy(bt.tid[i], m.t.p, 4);
		bt.q_far[i] = far_index(&outq[i].to, outq[i].tolen);
		if (bt.q_far[i] < 0)
			return false;
		memcpy(&bt.from[i], &outq[i].to, outq[i].tolen);
		bt.fromlen[i] = outq[i].tolen;
	}

	/* A: no value, the near nodes. */
	memset(&r, 0, sizeof(r));
	r.t = bt.tid[0];
	r.t_len = 4;
	r.id = bt.far_id[bt.q_far[0]];
	r.nodes = nodes;
	r.nodes_len = sizeof(nodes);
	r.token = (const uint8_t *)"tokA";
	r.token_len = 4;
	n = krpc_build_response(bt.reply_a, sizeof(bt.reply_a), &r);
	if (n < 0)
		return false;
	bt.len_a = (size_t)n;

	/* B: the value, signed (BEP 44). */
	n = dht_bep44_signable(signable, sizeof(signable), NULL, 0, 7, (const uint8_t *)value,
		strlen(value));
	if (n < 0)
		return false;
	crypto_sign_detached(sig, NULL, signable, (unsigned long long)n, bt.sk);
	snprintf((char *)venc, sizeof(venc), "%zu:%s", strlen(value), value);
	memset(&r, 0, sizeof(r));
	r.t = bt.tid[1];
	r.t_len = 4;
	r.id = bt.far_id[bt.q_far[1]];
	r.token = (const uint8_t *)"tokB";
	r.token_len = 4;
	r.k = bt.pk;
	r.sig = sig;
	r.has_seq = true;
	r.seq = 7;
	r.value = venc;
	r.value_len = strlen((const char *)venc);
	n = krpc_build_response(bt.reply_b, sizeof(bt.reply_b), &r);
	if (n < 0)
		return false;
	bt.len_b = (size_t)n;
	return true;
}

/* Which near node a datagram went to, or -1. */
static int
near_index(const struct out *o)
{
	struct dht_addr a;

	if (dht_addr_from_sockaddr((const struct sockaddr *)&o->to, o->tolen, &a) < 0)
		return -1;
	for (int i = 0; i < BT_NEAR; i++)
		if (dht_addr_eq(&a, &bt.near[i]))
			return i;
	return -1;
}

/* The queries sent from outq[first] on: gets and pings per near node. */
static void
count_followups(int first, int gets[BT_NEAR], int pings[BT_NEAR], int *other)
{
	memset(gets, 0, sizeof(int) * BT_NEAR);
	memset(pings, 0, sizeof(int) * BT_NEAR);
	*other = 0;
	for (int i = first; i < n_out; i++) {
		struct krpc_msg m;
		int j = near_index(&outq[i]);
		if (krpc_parse(outq[i].buf, outq[i].len, &m) != 0 || m.y != 'q' || j < 0) {
			(*other)++;
			continue;
		}
		if (m.method == KRPC_M_GET && memcmp(m.target, bt.target, 20) == 0)
			gets[j]++;
		else if (m.method == KRPC_M_PING)
			pings[j]++;
		else
			(*other)++;
	}
}

static void
test_batch(void)
{
	struct dht_datagram dg[3];
	struct dht_info info;
	int gets[BT_NEAR], pings[BT_NEAR], other;
	bool once, set;

	/* 1. Both replies in one batch, A first. */
	set = batch_setup();
	if (!ok(set, "batch: a get on a node that knows %d far nodes sent %d queries", BT_FAR,
		    bt.wave))
		goto out;
	dg[0] = (struct dht_datagram){ bt.reply_a, bt.len_a, (struct sockaddr *)&bt.from[0],
		bt.fromlen[0] };
	dg[1] = (struct dht_datagram){ bt.reply_b, bt.len_b, (struct sockaddr *)&bt.from[1],
		bt.fromlen[1] };
	dht_input_batch(bt.d, dg, 2, 1010);
	is_int(bt.values, 1, "batch: the value in the second reply is reported");
	ok(bt.seq == 7 && strcmp(bt.v, "hello batch") == 0, "batch: ... seq 7, \"%s\"", bt.v);
	is_int(bt.n_out_at_value, bt.wave,
		"batch: when the value is reported, nothing was sent since the batch began");
	count_followups(bt.wave, gets, pings, &other);
	ok(n_out > bt.wave, "batch: after the batch the look-up sent its next queries (%d)",
		n_out - bt.wave);
	ok(gets[0] == 1 && gets[1] == 1 && gets[2] == 0 && gets[3] == 0,
		"batch: gets to the two closest named nodes (alpha 3, one still in flight)");
	ok(pings[0] == 0 && pings[1] == 0 && pings[2] == 0 && pings[3] == 0,
		"batch: no named node pinged (those with room enter the table unverified)");
	is_int(other, 0, "batch: nothing else sent");
	is_int(bt.done, 0, "batch: the look-up goes on");
	dht_free(bt.d);

	/* 2. Contrast: the same replies through two dht_input calls. */
	set = batch_setup();
	if (!ok(set, "contrast: first wave of %d queries", bt.wave))
		goto out;
	dht_input(bt.d, bt.reply_a, bt.len_a, (struct sockaddr *)&bt.from[0], bt.fromlen[0], 1010);
	ok(n_out > bt.wave, "contrast: dht_input of A alone sends follow-ups at once (%d)",
		n_out - bt.wave);
	count_followups(bt.wave, gets, pings, &other);
	ok(gets[0] == 1, "contrast: ... a get to the closest named node");
	dht_input(bt.d, bt.reply_b, bt.len_b, (struct sockaddr *)&bt.from[1], bt.fromlen[1], 1010);
	is_int(bt.values, 1, "contrast: the value is reported");
	ok(bt.n_out_at_value > bt.wave,
		"contrast: %d datagrams went out before the value was reported",
		bt.n_out_at_value - bt.wave);
	count_followups(bt.wave, gets, pings, &other);
	ok(gets[0] == 1 && gets[1] == 1, "contrast: in the end gets to the two closest too");
	dht_free(bt.d);

	/* 3. Empty batches are harmless. */
	set = batch_setup();
	if (!ok(set, "empty: first wave of %d queries", bt.wave))
		goto out;
	dht_input_batch(bt.d, NULL, 0, 1010);
	dht_input_batch(bt.d, NULL, 2, 1010);
	dht_input_batch(bt.d, dg, 0, 1010);
	dht_input_batch(NULL, dg, 1, 1010);
	is_int(n_out, bt.wave, "empty: n = 0, NULL datagrams or NULL node send nothing");
	dht_get_info(bt.d, 1010, &info);
	ok(info.lookups == 1 && bt.values == 0 && bt.done == 0, "empty: the look-up is untouched");
	/* A datagram without bytes in a batch is skipped, the rest read. */
	dg[0] = (struct dht_datagram){ NULL, 10, (struct sockaddr *)&bt.from[0], bt.fromlen[0] };
	dg[1] = (struct dht_datagram){ bt.reply_b, bt.len_b, (struct sockaddr *)&bt.from[1],
		bt.fromlen[1] };
	dht_input_batch(bt.d, dg, 2, 1010);
	is_int(bt.values, 1, "empty: a NULL datagram is skipped, the next one read");
	dht_free(bt.d);

	/* 4. A query from another node inside a batch of replies is answered
	 * where it stands, before the look-up's deferred queries. */
	set = batch_setup();
	if (!ok(set, "mixed: first wave of %d queries", bt.wave))
		goto out;
	{
		static const uint8_t pid[20] = { 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee };
		struct sockaddr_in p;
		struct krpc_query q;
		struct krpc_msg m;
		uint8_t ping[256];
		int n;

		memset(&q, 0, sizeof(q));
		q.t = (const uint8_t *)"pp";
		q.t_len = 2;
		q.method = KRPC_M_PING;
		q.id = pid;
		q.port = -1;
		n = krpc_build_query(ping, sizeof(ping), &q);
		memset(&p, 0, sizeof(p));
		p.sin_family = AF_INET;
		p.sin_port = htons(7777);
		p.sin_addr.s_addr = htonl(0xc0000263); /* 192.0.2.99 */
		dg[0] = (struct dht_datagram){ bt.reply_a, bt.len_a,
			(struct sockaddr *)&bt.from[0], bt.fromlen[0] };
		dg[1] = (struct dht_datagram){ ping, (size_t)n, (struct sockaddr *)&p, sizeof(p) };
		dg[2] = (struct dht_datagram){ bt.reply_b, bt.len_b,
			(struct sockaddr *)&bt.from[1], bt.fromlen[1] };
		dht_input_batch(bt.d, dg, 3, 1010);
		ok(n_out > bt.wave && krpc_parse(outq[bt.wave].buf, outq[bt.wave].len, &m) == 0 &&
				m.y == 'r' && m.t.n == 2 && memcmp(m.t.p, "pp", 2) == 0 &&
				((struct sockaddr_in *)&outq[bt.wave].to)->sin_port == htons(7777),
			"mixed: the ping is answered, first of all that the batch sends");
		is_int(bt.n_out_at_value, bt.wave + 1,
			"mixed: when the value is reported only the ping's answer went out");
		count_followups(bt.wave + 1, gets, pings, &other);
		ok(gets[0] == 1 && gets[1] == 1 && pings[2] == 0 && pings[3] == 0 && other == 0,
			"mixed: the look-up's queries follow after the batch");
		once = true;
		for (int i = bt.wave + 1; i < n_out; i++)
			if (krpc_parse(outq[i].buf, outq[i].len, &m) == 0 && m.y == 'r')
				once = false;
		ok(once, "mixed: the ping is answered once");
	}
	dht_free(bt.d);
	return;
out:
	dht_free(bt.d);
}

/* The bootstrap list (DHT_MAX_BOOT addresses): an address added again is
 * "known", and a new one in a full list takes the slot of the address
 * unused longest; re-added and answering addresses stay. Sending to an
 * address (re-bootstrap) is no use of it. */
static bool
boot_sent_to(const struct dht_addr *a)
{
	for (int i = 0; i < n_out; i++) {
		struct dht_addr to;
		if (dht_addr_from_sockaddr((struct sockaddr *)&outq[i].to, outq[i].tolen,
			&to) == 0 && dht_addr_eq(&to, a))
			return true;
	}
	return false;
}

static int
boot_add(struct dht *d, const struct dht_addr *a)
{
	struct sockaddr_storage ss;
	socklen_t sl = dht_addr_to_sockaddr(a, &ss);

	return dht_add_bootstrap(d, (struct sockaddr *)&ss, sl);
}

static void
test_boot_list(void)
{
	struct dht_config cfg;
	struct dht_addr a[DHT_MAX_BOOT + 1], claim;
	uint64_t now = 1000;
	struct dht *d;
	int added = 0, r;

	for (int i = 0; i <= DHT_MAX_BOOT; i++)
		voter(&a[i], 4, i);
	voter(&claim, 4, 100);
	memset(&cfg, 0, sizeof(cfg));
	cfg.mode = DHT_MODE_SERVER;
	cfg.send = queue_send;
	d = dht_new(&cfg, now);
	if (!ok(d != NULL, "boot list: node"))
		return;
	for (int i = 0; i < DHT_MAX_BOOT; i++) {
		now += 1000;
		dht_periodic(d, now);
		n_out = 0;
		if (boot_add(d, &a[i]) == DHT_BOOT_ADDED)
			added++;
	}
	is_int(added, DHT_MAX_BOOT, "the first %d bootstrap addresses are added", DHT_MAX_BOOT);
	/* a[0] answers the find_node of a re-bootstrap; a[1] is added again
	 * (its name still resolves to it) */
	now += 1000;
	n_out = 0;
	dht_rebootstrap(d, now);
	is_int(n_out, DHT_MAX_BOOT, "a re-bootstrap asks every bootstrap address");
	answer_voters(d, &a[0], &claim, 1, now);
	now += 1000;
	dht_periodic(d, now);
	n_out = 0;
	r = boot_add(d, &a[1]);
	is_int(r, DHT_BOOT_KNOWN, "an address added again is reported as known");
	ok(n_out == 1 && boot_sent_to(&a[1]), "and is asked again");
	now += 1000;
	dht_periodic(d, now);
	n_out = 0;
	r = boot_add(d, &a[DHT_MAX_BOOT]);
	is_int(r, DHT_BOOT_REPLACED, "a new address in a full list replaces an old one");
	ok(n_out == 1 && boot_sent_to(&a[DHT_MAX_BOOT]), "and is asked");
	n_out = 0;
	dht_rebootstrap(d, now);
	ok(n_out == DHT_MAX_BOOT && boot_sent_to(&a[DHT_MAX_BOOT]) && boot_sent_to(&a[0]) &&
			boot_sent_to(&a[1]) && !boot_sent_to(&a[2]),
		"it took the slot of the address unused longest (not the one that answered, "
		"not the one added again)");
	n_out = 0;
	r = boot_add(d, &a[2]);
	is_int(r, DHT_BOOT_REPLACED, "the replaced address is new again");
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
	test_parse_walk();
	test_bucket_config();
	test_batch();
	test_boot_list();
	return tap_done();
}
