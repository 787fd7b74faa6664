/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cli_dht.c -- `pkdns-cli dht ...`: drive a Mainline DHT node by hand:
 * ping (BEP 5), get/put of BEP 44 mutable and immutable items, and the
 * routing table.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#define LOG_MODULE "cli"
#include "cli/cli.h"
#include "dht/bencode.h"
#include "dht/dht.h"
#include "pkarr/zbase32.h"
#include "util/log.h"
#include "util/netaddr.h"
#include "util/time.h"

/* `dht nodes`: the table counts as settled after this long unchanged. */
#define NODES_SETTLE_MS 1000
#define NODES_WAIT_MS 10000
/* `dht ping`: tries, and the wait for each reply. */
#define PING_TRIES 3
#define PING_WAIT_MS 1000

/* ---- dht get / put ---------------------------------------------------- */

struct item_state {
	bool done;
	bool have;
	struct dht_lookup_stats st;
	struct dht_item item;     /* newest value */
	const uint8_t *salt;      /* get-mutable: what was asked */
	size_t salt_len;
};

static void
item_done(void *ctx, const struct dht_lookup_stats *st)
{
	struct item_state *s = ctx;

	s->st = *st;
	s->done = true;
}

/* Check a mutable item's signature ourselves before printing it: the
 * user reads this output as "the DHT holds this, signed by k". */
static bool
mutable_sig_ok(const struct dht_item *it)
{
	uint8_t buf[DHT_MAX_SALT + DHT_MAX_VALUE + 64];
	int n = dht_bep44_signable(buf, sizeof(buf),
	    it->salt_len ? it->salt : NULL, it->salt_len, it->seq, it->v,
	    it->v_len);

	return n > 0 &&
	    crypto_sign_verify_detached(it->sig, buf, (size_t)n, it->k) == 0;
}

static void
item_value(void *ctx, const struct dht_item *it)
{
	struct item_state *s = ctx;

	if (it->is_mutable) {
		if (it->salt_len != s->salt_len ||
		    (s->salt_len && memcmp(it->salt, s->salt, s->salt_len) != 0) ||
		    !mutable_sig_ok(it)) {
			log_warn("value with a bad signature ignored");
			return;
		}
		if (s->have && it->seq <= s->item.seq)
			return;
	} else if (s->have) {
		return;
	}
	s->item = *it;
	s->have = true;
}

/* Run a started look-up to its end or the deadline. */
static int
wait_lookup(struct cli_session *sess, uint32_t id, struct item_state *st,
    const char *what)
{
	if (id == 0) {
		fprintf(stderr, "pkdns-cli: cannot start %s\n", what);
		return -1;
	}
	if (cli_session_run(sess, &st->done, 0) != 0) {
		dht_cancel(cli_session_dht(sess), id);
		fprintf(stderr, "pkdns-cli: %s timed out\n", what);
		return st->have ? 0 : -1;
	}
	cli_print_stats(what, &st->st);
	return 0;
}

/* Look up one item, mutable (k, with its salt) or immutable (target),
 * and print the newest value found: the body of both get commands. */
static int
get_item(const struct cli_opts *o, const uint8_t *k, const uint8_t *salt,
    size_t salt_len, const uint8_t *target)
{
	const char *what = k ? "get-mutable" : "get-immutable";
	struct item_state *st = calloc(1, sizeof(*st));
	struct cli_session *s = NULL;
	uint32_t id;
	int rc = CLI_EXIT_FAIL;

	if (st == NULL)
		return CLI_EXIT_FAIL;
	st->salt = salt;
	st->salt_len = salt_len;
	s = cli_session_start(o, 8, 3000);
	if (s == NULL)
		goto out;
	if (k != NULL)
		id = dht_get_mutable(cli_session_dht(s), k, salt, salt_len, 0,
		    item_value, item_done, st, cli_session_now(s));
	else
		id = dht_get_immutable(cli_session_dht(s), target, item_value,
		    item_done, st, cli_session_now(s));
	if (wait_lookup(s, id, st, what) != 0)
		goto out;
	if (!st->have) {
		fprintf(stderr, "pkdns-cli: not found\n");
		goto out;
	}
	if (k != NULL)
		printf("seq %" PRId64 "\n", st->item.seq);
	cli_print_hex(st->item.v, st->item.v_len);
	rc = CLI_EXIT_OK;
out:
	cli_session_free(s);
	free(st);
	return rc;
}

static int
parse_salt(const char *salt, size_t *len)
{
	*len = salt ? strlen(salt) : 0;
	if (*len > DHT_MAX_SALT) {
		fprintf(stderr, "pkdns-cli: salt longer than %d bytes\n",
		    DHT_MAX_SALT);
		return -1;
	}
	return 0;
}

static int
dht_get_mutable_cmd(const struct cli_opts *o, int argc, char **argv)
{
	const char *salt = NULL;
	const struct cli_optspec specs[] = {
		{ NULL, "--salt", true, &salt },
	};
	char *pos[1];
	size_t npos, salt_len;
	uint8_t k[32];

	if (cli_parse_args("dht get-mutable", argc, argv, specs, 1, pos, 1,
		&npos) != 0 ||
	    npos != 1) {
		fprintf(stderr,
		    "usage: pkdns-cli dht get-mutable KEY [--salt S]\n");
		return CLI_EXIT_USAGE;
	}
	if (cli_parse_key(pos[0], k) != 0) {
		fprintf(stderr, "pkdns-cli: '%s' is not a key\n", pos[0]);
		return CLI_EXIT_USAGE;
	}
	if (parse_salt(salt, &salt_len) != 0)
		return CLI_EXIT_USAGE;
	return get_item(o, k, (const uint8_t *)salt, salt_len, NULL);
}

static int
dht_get_immutable_cmd(const struct cli_opts *o, int argc, char **argv)
{
	char *pos[1];
	size_t npos, tlen;
	uint8_t target[20];

	if (cli_parse_args("dht get-immutable", argc, argv, NULL, 0, pos, 1,
		&npos) != 0 ||
	    npos != 1) {
		fprintf(stderr, "usage: pkdns-cli dht get-immutable TARGET\n");
		return CLI_EXIT_USAGE;
	}
	if (strlen(pos[0]) != 40 ||
	    cli_hex_decode(pos[0], target, sizeof(target), &tlen) != 0) {
		fprintf(stderr, "pkdns-cli: target must be 40 hex digits\n");
		return CLI_EXIT_USAGE;
	}
	return get_item(o, NULL, NULL, 0, target);
}

static int
parse_seq(const char *s, int64_t *seq)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0)
		return -1;
	*seq = (int64_t)v;
	return 0;
}

/* --value-hex into item->v; 0, or -1 after saying what is wrong. */
static int
parse_value_hex(const char *hex, struct dht_item *item)
{
	if (cli_hex_decode(hex, item->v, sizeof(item->v), &item->v_len) != 0) {
		fprintf(stderr,
		    "pkdns-cli: --value-hex: expected an even number of hex "
		    "digits, at most %d bytes\n",
		    DHT_MAX_VALUE);
		return -1;
	}
	return 0;
}

/* Put a prepared item and report; 0 when at least one node stored it. */
static int
put_item(const struct cli_opts *o, const struct dht_item *item,
    const char *what)
{
	struct item_state *st = calloc(1, sizeof(*st));
	struct cli_session *s = NULL;
	uint32_t id;
	int rc = CLI_EXIT_FAIL;

	if (st == NULL)
		return CLI_EXIT_FAIL;
	s = cli_session_start(o, 8, 3000);
	if (s == NULL)
		goto out;
	id = dht_put(cli_session_dht(s), item, -1, item_done, st,
	    cli_session_now(s));
	if (id == 0) {
		fprintf(stderr, "pkdns-cli: the DHT refused the item\n");
		goto out;
	}
	/* A put sees no values, so a timeout is a failure here. */
	if (wait_lookup(s, id, st, what) != 0)
		goto out;
	fprintf(stderr, "stored on %u node%s\n", st->st.stored,
	    st->st.stored == 1 ? "" : "s");
	if (st->st.stored > 0)
		rc = CLI_EXIT_OK;
out:
	cli_session_free(s);
	free(st);
	return rc;
}

static int
dht_put_mutable_cmd(const struct cli_opts *o, int argc, char **argv)
{
	const char *seedfile = NULL, *hex = NULL, *salt = NULL, *seqs = NULL;
	const struct cli_optspec specs[] = {
		{ "-k", "--key", true, &seedfile },
		{ NULL, "--value-hex", true, &hex },
		{ NULL, "--salt", true, &salt },
		{ NULL, "--seq", true, &seqs },
	};
	char *pos[1];
	size_t npos, salt_len;
	uint8_t seed[32], sk[64];
	uint8_t sigbuf[DHT_MAX_SALT + DHT_MAX_VALUE + 64];
	char z32[PKARR_Z32_KEY_LEN + 1];
	struct dht_item *item = NULL;
	int n, rc = CLI_EXIT_USAGE;

	if (cli_parse_args("dht put-mutable", argc, argv, specs, 4, pos, 0,
		&npos) != 0 ||
	    seedfile == NULL || hex == NULL) {
		fprintf(stderr,
		    "usage: pkdns-cli dht put-mutable -k SEEDFILE --value-hex "
		    "HEX [--salt S] [--seq N]\n");
		return CLI_EXIT_USAGE;
	}
	if (parse_salt(salt, &salt_len) != 0)
		return CLI_EXIT_USAGE;
	item = calloc(1, sizeof(*item));
	if (item == NULL)
		return CLI_EXIT_FAIL;
	item->is_mutable = true;
	if (parse_value_hex(hex, item) != 0)
		goto out;
	item->seq = (int64_t)time_wall_us();
	if (seqs != NULL && parse_seq(seqs, &item->seq) != 0) {
		fprintf(stderr, "pkdns-cli: --seq: bad number '%s'\n", seqs);
		goto out;
	}
	if (salt_len > 0)
		memcpy(item->salt, salt, salt_len);
	item->salt_len = salt_len;
	if (cli_read_seed(seedfile, seed) != 0)
		goto out;
	rc = CLI_EXIT_FAIL;
	n = dht_bep44_signable(sigbuf, sizeof(sigbuf),
	    salt_len ? item->salt : NULL, salt_len, item->seq, item->v,
	    item->v_len);
	if (n < 0 || crypto_sign_seed_keypair(item->k, sk, seed) != 0 ||
	    crypto_sign_detached(item->sig, NULL, sigbuf, (size_t)n, sk) != 0) {
		fprintf(stderr, "pkdns-cli: signing failed\n");
		goto out;
	}
	pkarr_z32_encode(item->k, z32);
	printf("%s seq %" PRId64 "\n", z32, item->seq);
	fflush(stdout);
	rc = put_item(o, item, "put-mutable");
out:
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(sk, sizeof(sk));
	free(item);
	return rc;
}

static int
dht_put_immutable_cmd(const struct cli_opts *o, int argc, char **argv)
{
	const char *hex = NULL;
	const struct cli_optspec specs[] = {
		{ NULL, "--value-hex", true, &hex },
	};
	char *pos[1];
	size_t npos;
	uint8_t target[20];
	struct dht_item *item = NULL;
	int rc;

	if (cli_parse_args("dht put-immutable", argc, argv, specs, 1, pos, 0,
		&npos) != 0 ||
	    hex == NULL) {
		fprintf(stderr,
		    "usage: pkdns-cli dht put-immutable --value-hex HEX\n");
		return CLI_EXIT_USAGE;
	}
	item = calloc(1, sizeof(*item));
	if (item == NULL)
		return CLI_EXIT_FAIL;
	if (parse_value_hex(hex, item) != 0) {
		free(item);
		return CLI_EXIT_USAGE;
	}
	dht_immutable_target(item->v, item->v_len, target);
	cli_print_hex(target, sizeof(target));
	fflush(stdout);
	rc = put_item(o, item, "put-immutable");
	free(item);
	return rc;
}

/* ---- dht nodes -------------------------------------------------------- */

struct settle {
	size_t last;
	uint64_t since_ms;
};

static bool
table_settled(struct cli_session *s, void *ctx)
{
	struct settle *st = ctx;
	size_t n = cli_session_table_size(s);
	uint64_t now = time_mono_ms();

	if (n != st->last) {
		st->last = n;
		st->since_ms = now;
		return false;
	}
	return n > 0 && now - st->since_ms >= NODES_SETTLE_MS;
}

static void
print_compact(const struct bencode_value *v, size_t each, int family)
{
	for (size_t off = 0; off + each <= v->str_len; off += each) {
		const uint8_t *p = v->str + off;
		char ip[INET6_ADDRSTRLEN];
		unsigned port = (unsigned)p[each - 2] << 8 | p[each - 1];

		if (inet_ntop(family, p + 20, ip, sizeof(ip)) == NULL)
			continue;
		for (size_t i = 0; i < 20; i++)
			printf("%02x", p[i]);
		if (family == AF_INET6)
			printf(" [%s]:%u\n", ip, port);
		else
			printf(" %s:%u\n", ip, port);
	}
}

static int
dht_nodes_cmd(const struct cli_opts *o, int argc, char **argv)
{
	char *pos[1];
	size_t npos;
	struct cli_session *s;
	struct dht_info info;
	struct settle st = { 0, 0 };
	struct bencode_value root, v;
	struct item_state fill;
	uint8_t *buf, target[20];
	size_t cap;
	uint32_t id;
	int n;

	if (cli_parse_args("dht nodes", argc, argv, NULL, 0, pos, 0, &npos) !=
	    0) {
		fprintf(stderr, "usage: pkdns-cli dht nodes\n");
		return CLI_EXIT_USAGE;
	}
	s = cli_session_start(o, 1, 3000);
	if (s == NULL)
		return CLI_EXIT_FAIL;
	/* A look-up of a random target meets many nodes at once; without
	 * it the table grows only as fast as the node's refresh timers. */
	randombytes_buf(target, sizeof(target));
	memset(&fill, 0, sizeof(fill));
	id = dht_get_immutable(cli_session_dht(s), target, item_value,
	    item_done, &fill, cli_session_now(s));
	if (id != 0 && cli_session_run(s, &fill.done, NODES_WAIT_MS) != 0)
		dht_cancel(cli_session_dht(s), id);
	st.since_ms = time_mono_ms();
	(void)cli_session_run_until(s, table_settled, &st, NODES_WAIT_MS);
	dht_get_info(cli_session_dht(s), cli_session_now(s), &info);
	printf("id ");
	cli_print_hex(info.id, sizeof(info.id));
	printf("mode %s\n", info.server ? "server" : "client");
	printf("ipv4 %zu nodes, %zu good\n", info.nodes4, info.good4);
	printf("ipv6 %zu nodes, %zu good\n", info.nodes6, info.good6);
	if (info.have_external)
		printf("external %s\n", info.external);
	cap = dht_save_nodes_size(cli_session_dht(s));
	buf = malloc(cap);
	if (buf != NULL &&
	    (n = dht_save_nodes(cli_session_dht(s), buf, cap)) > 0 &&
	    bencode_parse(buf, (size_t)n, &root, NULL) == 0) {
		if (bencode_dict_get(&root, "nodes", &v) == 0 &&
		    v.type == BENCODE_STR)
			print_compact(&v, 26, AF_INET);
		if (bencode_dict_get(&root, "nodes6", &v) == 0 &&
		    v.type == BENCODE_STR)
			print_compact(&v, 38, AF_INET6);
	}
	free(buf);
	n = info.nodes4 + info.nodes6 > 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
	cli_session_free(s);
	return n;
}

/* ---- dht ping --------------------------------------------------------- */

static int
dht_ping_cmd(const struct cli_opts *o, int argc, char **argv)
{
	char *pos[1];
	size_t npos;
	struct sockaddr_storage to;
	socklen_t tolen;
	uint8_t id[20], tid[2], q[128], r[1500];
	struct bencode_writer w;
	struct bencode_value root, v, rv;
	char abuf[NETADDR_STRLEN];
	int fd, qlen, rc = CLI_EXIT_FAIL;
	uint64_t start, deadline;

	if (cli_parse_args("dht ping", argc, argv, NULL, 0, pos, 1, &npos) !=
		0 ||
	    npos != 1) {
		fprintf(stderr, "usage: pkdns-cli dht ping HOST:PORT\n");
		return CLI_EXIT_USAGE;
	}
	switch (cli_resolve_hostport(pos[0], &to, &tolen, 1)) {
	case 1:
		break;
	case -2:
		return CLI_EXIT_USAGE;
	default:
		return CLI_EXIT_FAIL;
	}
	randombytes_buf(id, sizeof(id));
	randombytes_buf(tid, sizeof(tid));
	/* BEP 5 ping with BEP 43 "ro": a one-shot tool must not enter
	 * anyone's routing table. Keys in sorted order. */
	bencode_writer_init(&w, q, sizeof(q));
	bencode_put_dict(&w);
	bencode_put_cstr(&w, "a");
	bencode_put_dict(&w);
	bencode_put_cstr(&w, "id");
	bencode_put_str(&w, id, sizeof(id));
	bencode_put_end(&w);
	bencode_put_cstr(&w, "q");
	bencode_put_cstr(&w, "ping");
	bencode_put_cstr(&w, "ro");
	bencode_put_int(&w, 1);
	bencode_put_cstr(&w, "t");
	bencode_put_str(&w, tid, sizeof(tid));
	bencode_put_cstr(&w, "y");
	bencode_put_cstr(&w, "q");
	bencode_put_end(&w);
	qlen = bencode_writer_done(&w);
	fd = socket(to.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (qlen < 0 || fd < 0) {
		fprintf(stderr, "pkdns-cli: socket: %s\n", strerror(errno));
		if (fd >= 0)
			close(fd);
		return CLI_EXIT_FAIL;
	}
	netaddr_str((struct sockaddr *)&to, abuf, sizeof(abuf));
	start = time_mono_ms();
	deadline = start + o->timeout_ms;
	for (int t = 0; t < PING_TRIES && rc != CLI_EXIT_OK; t++) {
		uint64_t sent = time_mono_ms(), until = sent + PING_WAIT_MS;

		if (sent >= deadline)
			break;
		if (until > deadline)
			until = deadline;
		if (sendto(fd, q, (size_t)qlen, 0, (struct sockaddr *)&to,
			tolen) < 0) {
			fprintf(stderr, "pkdns-cli: %s: %s\n", abuf,
			    strerror(errno));
			break;
		}
		for (uint64_t now = sent; now < until; now = time_mono_ms()) {
			struct pollfd pfd = { fd, POLLIN, 0 };
			struct sockaddr_storage from;
			socklen_t fromlen = sizeof(from);
			ssize_t n;

			if (poll(&pfd, 1, (int)(until - now)) <= 0)
				continue;
			n = recvfrom(fd, r, sizeof(r), 0,
			    (struct sockaddr *)&from, &fromlen);
			if (n <= 0 ||
			    bencode_parse(r, (size_t)n, &root, NULL) != 0 ||
			    bencode_dict_get(&root, "t", &v) != 0 ||
			    v.type != BENCODE_STR || v.str_len != 2 ||
			    memcmp(v.str, tid, 2) != 0)
				continue;
			if (bencode_dict_get(&root, "y", &v) != 0 ||
			    v.type != BENCODE_STR || v.str_len != 1)
				continue;
			if (v.str[0] == 'e') {
				fprintf(stderr, "pkdns-cli: %s answered with "
				    "an error\n", abuf);
				t = PING_TRIES;
				break;
			}
			if (v.str[0] != 'r' ||
			    bencode_dict_get(&root, "r", &rv) != 0 ||
			    rv.type != BENCODE_DICT ||
			    bencode_dict_get(&rv, "id", &v) != 0 ||
			    v.type != BENCODE_STR || v.str_len != 20)
				continue;
			printf("pong from %s in %" PRIu64 " ms, id ", abuf,
			    time_mono_ms() - sent);
			cli_print_hex(v.str, 20);
			if (bencode_dict_get(&root, "ip", &v) == 0 &&
			    v.type == BENCODE_STR && v.str_len == 6)
				printf("our address as seen: %u.%u.%u.%u:%u\n",
				    v.str[0], v.str[1], v.str[2], v.str[3],
				    (unsigned)v.str[4] << 8 | v.str[5]);
			rc = CLI_EXIT_OK;
			break;
		}
	}
	close(fd);
	if (rc != CLI_EXIT_OK)
		fprintf(stderr, "pkdns-cli: no answer from %s\n", abuf);
	return rc;
}

int
cli_cmd_dht(const struct cli_opts *o, int argc, char **argv)
{
	const char *sub = argc > 0 ? argv[0] : "";

	if (strcmp(sub, "ping") == 0)
		return dht_ping_cmd(o, argc - 1, argv + 1);
	if (strcmp(sub, "get-mutable") == 0)
		return dht_get_mutable_cmd(o, argc - 1, argv + 1);
	if (strcmp(sub, "put-mutable") == 0)
		return dht_put_mutable_cmd(o, argc - 1, argv + 1);
	if (strcmp(sub, "get-immutable") == 0)
		return dht_get_immutable_cmd(o, argc - 1, argv + 1);
	if (strcmp(sub, "put-immutable") == 0)
		return dht_put_immutable_cmd(o, argc - 1, argv + 1);
	if (strcmp(sub, "nodes") == 0)
		return dht_nodes_cmd(o, argc - 1, argv + 1);
	fprintf(stderr,
	    "usage: pkdns-cli dht ping|get-mutable|put-mutable|get-immutable|"
	    "put-immutable|nodes ...\n");
	return CLI_EXIT_USAGE;
}
