/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * harness.c -- the deterministic daemon test driver (after unbound's
 * testcode/fake_event.c and its .rpl replays). It starts the real daemon
 * through its public API (daemon.h: pkdns_new, pkdns_run, pkdns_free)
 * with a scripted ICANN resolver (fake_icann.c) and a virtual clock
 * (vclock.c), then plays one scenario file (scenario.h) as TAP:
 * questions go to the daemon's own UDP listener on loopback, pkarr
 * packets into its in-process DHT testnet, and time passes only when the
 * scenario says so. A scenario of hours takes milliseconds.
 *
 * Usage: pkdns-harness FILE.scn     (TAP on stdout; PKDNS_HARNESS_VERBOSE=N
 *                                    shows the daemon's log at level N)
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <ldns/ldns.h>
#include <sodium.h>

#include "daemon/daemon.h"
#include "dht/dht.h"
#include "dht/dht_event.h"
#include "pkarr/packet.h"
#include "pkarr/zbase32.h"
#include "scenario.h"
#include "util/conf.h"
#include "util/log.h"
#include "util/time.h"

/* daemon_main.h renamed main() for the daemon's main.c; this one is ours */
#undef main

#define TESTNET_NODES 8
#define MAX_REPLIES 8
/* How long (virtual) a PUBLISH or an EXPECT DHT may take in the testnet. */
#define DHT_WAIT_MS 30000

struct reply {
	uint8_t *buf;
	size_t len;
};

/* A question sent, and the replies it got so far. */
struct query {
	char label[32];
	int fd;
	uint16_t id;
	struct reply replies[MAX_REPLIES];
	size_t n_replies;
	struct query *next;
};

/* The config file: CONFIG lines in order. */
struct conf_line {
	char *key, *value;
	struct conf_line *next;
};

struct harness {
	struct scenario sc;
	struct event_base *base;
	char dir[256], conf_path[300];
	uint16_t dns_port, testnet_port;
	struct conf_line *conf;
	struct query *queries;
	struct dht_node *client;      /* our own DHT node: puts and gets */
	unsigned tests, failed;
	const char *todo;             /* TAP TODO reason of the checks now */
};

/* The test driver's context; the interposed loop entry point has no
 * argument to carry it. */
static struct harness *H;

static void
ok(bool good, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
ok(bool good, int line, const char *fmt, ...)
{
	va_list ap;

	H->tests++;
	if (!good && !H->todo)
		H->failed++;
	printf("%sok %u - %s", good ? "" : "not ", H->tests, H->sc.file);
	if (line > 0)
		printf(":%d", line);
	printf(": ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (H->todo)
		printf(" # TODO %s", H->todo);
	printf("\n");
	fflush(stdout);
}

/* ---- ports and the config file -------------------------------------------- */

static int
bind_port(int type, uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, type, 0), one = 1;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return -1;
	/* TCP: over TIME_WAIT; never UDP, where it would share a port in use */
	if (type == SOCK_STREAM)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* n consecutive ports free for UDP (and TCP when tcp), from a random start
 * (tests run in parallel). @return the first, or 0 */
static uint16_t
pick_ports(unsigned n, bool tcp)
{
	for (int tries = 0; tries < 200; tries++) {
		uint16_t first = (uint16_t)(20000 + randombytes_uniform(40000 - n));
		int fds[2 * TESTNET_NODES + 2];
		unsigned got = 0, nfd = 0;
		for (; got < n; got++) {
			int u = bind_port(SOCK_DGRAM, (uint16_t)(first + got));
			int t = tcp ? bind_port(SOCK_STREAM, (uint16_t)(first + got)) : -2;
			if (u >= 0)
				fds[nfd++] = u;
			if (t >= 0)
				fds[nfd++] = t;
			if (u < 0 || t == -1)
				break;
		}
		while (nfd)
			close(fds[--nfd]);
		if (got == n)
			return first;
	}
	return 0;
}

static void
conf_set(const char *key, const char *value, bool append)
{
	struct conf_line **pp = &H->conf, *c;

	while (*pp) {
		if (!append && strcmp((*pp)->key, key) == 0) {
			c = *pp;
			*pp = c->next;
			free(c->key);
			free(c->value);
			free(c);
			continue;
		}
		pp = &(*pp)->next;
	}
	c = calloc(1, sizeof(*c));
	if (!c || !(c->key = strdup(key)) || !(c->value = strdup(value))) {
		fprintf(stderr, "pkdns-harness: out of memory\n");
		exit(99);
	}
	*pp = c;
}

static int
conf_write(void)
{
	FILE *f = fopen(H->conf_path, "w");

	if (!f)
		return -1;
	for (const struct conf_line *c = H->conf; c; c = c->next)
		fprintf(f, "%s: %s\n", c->key, c->value);
	return fclose(f);
}

/* ---- questions and replies --------------------------------------------- */

static struct query *
query_find(const char *label)
{
	for (struct query *q = H->queries; q; q = q->next)
		if (strcmp(q->label, label) == 0)
			return q;
	return NULL;
}

void
harness_drain(void)
{
	uint8_t buf[65536];

	if (!H)
		return;
	for (struct query *q = H->queries; q; q = q->next)
		for (;;) {
			ssize_t n = recvfrom(q->fd, buf, sizeof(buf), MSG_DONTWAIT, NULL, NULL);
			if (n < 0)
				break;
			if (q->n_replies == MAX_REPLIES)
				continue;
			struct reply *r = &q->replies[q->n_replies];
			if (!(r->buf = malloc((size_t)n)))
				continue;
			memcpy(r->buf, buf, (size_t)n);
			r->len = (size_t)n;
			q->n_replies++;
		}
}

static void
settle(void)
{
	if (vclock_run(H->base, 0) < 0)
		ok(false, 0, "the event loop failed");
}

static int
step_query(const struct step *st)
{
	struct query *q = calloc(1, sizeof(*q));
	ldns_rdf *name = NULL;
	ldns_pkt *pkt = NULL;
	uint8_t *wire = NULL;
	size_t len = 0;
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(H->dns_port) };
	int rc = -1;

	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (!q || (q->fd = bind_port(SOCK_DGRAM, 0)) < 0) {
		free(q);
		return -1;
	}
	snprintf(q->label, sizeof(q->label), "%s", st->label);
	q->id = (uint16_t)(0x4000 + st->line);
	q->next = H->queries;
	H->queries = q;
	if (ldns_str2rdf_dname(&name, st->name) != LDNS_STATUS_OK ||
	    !(pkt = ldns_pkt_query_new(name, st->qtype, LDNS_RR_CLASS_IN, st->nord ? 0 : LDNS_RD)))
		goto out;
	name = NULL;
	ldns_pkt_set_id(pkt, q->id);
	ldns_pkt_set_cd(pkt, st->cd);
	ldns_pkt_set_edns_udp_size(pkt, 1232);
	ldns_pkt_set_edns_do(pkt, st->do_bit);
	if (ldns_pkt2wire(&wire, pkt, &len) != LDNS_STATUS_OK)
		goto out;
	if (sendto(q->fd, wire, len, 0, (struct sockaddr *)&to, sizeof(to)) == (ssize_t)len)
		rc = 0;
out:
	ldns_rdf_deep_free(name);
	ldns_pkt_free(pkt);
	free(wire);
	settle();
	return rc;
}

/* Presentation form of a record, canonical (lower-case names), one line. */
static char *
rr_line(ldns_rr *rr)
{
	char *s;
	size_t n;

	ldns_rr2canonical(rr);
	s = ldns_rr2str(rr);
	if (!s)
		return NULL;
	for (char *c = s; *c; c++)
		if (*c == '\t')
			*c = ' ';
	n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = '\0';
	return s;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Compare a section with the expected records (any order, TTLs exact).
 * @return true when equal; prints both on a difference */
static bool
section_equal(const char *what, ldns_rr_list *got, const struct rr_text *want)
{
	size_t ng = ldns_rr_list_rr_count(got), nw = 0, i;
	char **g, **w;
	bool same;

	for (const struct rr_text *t = want; t; t = t->next)
		nw++;
	g = calloc(ng + 1, sizeof(*g));
	w = calloc(nw + 1, sizeof(*w));
	for (i = 0; g && i < ng; i++)
		g[i] = rr_line(ldns_rr_list_rr(got, i));
	i = 0;
	for (const struct rr_text *t = want; w && t; t = t->next, i++) {
		ldns_rr *rr = NULL;
		if (ldns_rr_new_frm_str(&rr, t->text, 0, NULL, NULL) == LDNS_STATUS_OK)
			w[i] = rr_line(rr);
		ldns_rr_free(rr);
	}
	same = g && w && ng == nw;
	for (i = 0; same && i < ng; i++)
		same = g[i] && w[i];
	if (same) {
		qsort(g, ng, sizeof(*g), cmp_str);
		qsort(w, nw, sizeof(*w), cmp_str);
		for (i = 0; same && i < ng; i++)
			same = strcmp(g[i], w[i]) == 0;
	}
	if (!same) {
		printf("#   %s section differs\n", what);
		for (i = 0; g && i < ng; i++)
			printf("#     got:      %s\n", g[i] ? g[i] : "?");
		for (i = 0; w && i < nw; i++)
			printf("#     expected: %s\n", w[i] ? w[i] : "?");
	}
	for (i = 0; g && i < ng; i++)
		free(g[i]);
	for (i = 0; w && i < nw; i++)
		free(w[i]);
	free(g);
	free(w);
	return same;
}

static struct reply
take_reply(const char *label)
{
	struct query *q = query_find(label);
	struct reply r = { NULL, 0 };

	harness_drain();
	if (!q || q->n_replies == 0)
		return r;
	r = q->replies[0];
	memmove(q->replies, q->replies + 1, --q->n_replies * sizeof(r));
	return r;
}

static void
step_expect(const struct step *st)
{
	struct reply r = take_reply(st->label);
	ldns_pkt *pkt = NULL;
	const struct query *q = query_find(st->label);
	bool good = true;
	unsigned have = 0;

	if (!r.buf) {
		ok(false, st->line, "@%s: %s expected, no reply yet", st->label,
		    ldns_lookup_by_id(ldns_rcodes, st->rcode)->name);
		return;
	}
	if (ldns_wire2pkt(&pkt, r.buf, r.len) != LDNS_STATUS_OK) {
		free(r.buf);
		ok(false, st->line, "@%s: the reply does not parse", st->label);
		return;
	}
	if (ldns_pkt_id(pkt) != q->id || !ldns_pkt_qr(pkt)) {
		printf("#   id %u (sent %u), qr %d\n", ldns_pkt_id(pkt), q->id, ldns_pkt_qr(pkt));
		good = false;
	}
	if ((int)ldns_pkt_get_rcode(pkt) != st->rcode) {
		const ldns_lookup_table *lt = ldns_lookup_by_id(ldns_rcodes, ldns_pkt_get_rcode(pkt));
		printf("#   rcode %s\n", lt ? lt->name : "?");
		good = false;
	}
	have = (ldns_pkt_aa(pkt) ? FLAG_AA : 0) | (ldns_pkt_tc(pkt) ? FLAG_TC : 0) |
	    (ldns_pkt_rd(pkt) ? FLAG_RD : 0) | (ldns_pkt_ra(pkt) ? FLAG_RA : 0) |
	    (ldns_pkt_ad(pkt) ? FLAG_AD : 0) | (ldns_pkt_cd(pkt) ? FLAG_CD : 0);
	if ((have & st->flags_set) != st->flags_set || (have & st->flags_clear) != 0) {
		printf("#   flags%s%s%s%s%s%s\n", have & FLAG_AA ? " aa" : "", have & FLAG_TC ? " tc" : "",
		    have & FLAG_RD ? " rd" : "", have & FLAG_RA ? " ra" : "",
		    have & FLAG_AD ? " ad" : "", have & FLAG_CD ? " cd" : "");
		good = false;
	}
	if (!section_equal("answer", ldns_pkt_answer(pkt), st->answer))
		good = false;
	if (st->check_authority && !section_equal("authority", ldns_pkt_authority(pkt),
		st->authority))
		good = false;
	ok(good, st->line, "@%s: %s with %zu answer record(s)", st->label,
	    ldns_lookup_by_id(ldns_rcodes, st->rcode)->name, ldns_rr_list_rr_count(
	    ldns_pkt_answer(pkt)));
	ldns_pkt_free(pkt);
	free(r.buf);
}

static void
step_nothing(const struct step *st)
{
	struct reply r = take_reply(st->label);

	ok(r.buf == NULL, st->line, "@%s: no reply yet", st->label);
	free(r.buf);
}

/* ---- our DHT node: PUBLISH and EXPECT DHT --------------------------------- */

struct dht_wait {
	bool done, found;
	unsigned stored;
};

static void
on_dht_done(void *ctx, const struct dht_lookup_stats *st)
{
	struct dht_wait *w = ctx;

	w->done = true;
	w->stored = st->stored;
}

static void
on_dht_value(void *ctx, const struct dht_item *item)
{
	(void)item;
	((struct dht_wait *)ctx)->found = true;
}

static struct dht *
client_dht(void)
{
	struct dht_config cfg = { .mode = DHT_MODE_CLIENT, .loopback_testnet = true,
		.quiet = true };
	struct sockaddr_in sin = { .sin_family = AF_INET }, boot = sin;

	if (!H->client) {
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		boot = sin;
		boot.sin_port = htons(H->testnet_port);
		H->client = dht_node_new(H->base, (struct sockaddr *)&sin, sizeof(sin), &cfg);
		if (!H->client)
			return NULL;
		dht_add_bootstrap(dht_node_dht(H->client), (struct sockaddr *)&boot, sizeof(boot));
		dht_node_kick(H->client);
		settle();
	}
	return dht_node_dht(H->client);
}

/* Run until w is done: no time passes when the testnet answers at once;
 * otherwise up to DHT_WAIT_MS, reported. @return virtual ms taken */
static uint64_t
dht_wait(struct dht_wait *w)
{
	uint64_t t0 = vclock_now_ms();

	dht_node_kick(H->client);
	settle();
	while (!w->done && vclock_now_ms() - t0 < DHT_WAIT_MS)
		vclock_run(H->base, 10);
	return vclock_now_ms() - t0;
}

static void
step_publish(const struct step *st)
{
	struct pkarr_packet pkt;
	struct dht_item item = { .is_mutable = true };
	struct dht_wait w = { 0 };
	struct dht *dht = client_dht();
	uint64_t took;

	if (!dht || pkarr_packet_sign(&pkt, st->seed, time_wall_us(), st->dns, st->dns_len) != 0) {
		ok(false, st->line, "PUBLISH %s: cannot sign or start a DHT node", st->name);
		return;
	}
	memcpy(item.k, pkt.pk, 32);
	memcpy(item.sig, pkt.sig, 64);
	item.seq = (int64_t)pkt.ts_us;
	memcpy(item.v, pkt.dns, pkt.dns_len);
	item.v_len = pkt.dns_len;
	if (!dht_put(dht, &item, -1, on_dht_done, &w, dht_node_now(H->client))) {
		ok(false, st->line, "PUBLISH %s: dht_put refused it", st->name);
		return;
	}
	took = dht_wait(&w);
	ok(w.done && w.stored > 0, st->line, "PUBLISH %s: stored on %u testnet nodes%s", st->name,
	    w.stored, took ? " (virtual time passed, see below)" : "");
	if (took)
		printf("# PUBLISH took %llu ms of virtual time\n", (unsigned long long)took);
}

static void
step_dht(const struct step *st)
{
	uint8_t seed[32], pk[32];
	struct dht_wait w = { 0 };
	struct dht *dht = client_dht();
	uint64_t took;

	scenario_key(st->name, seed, pk);
	if (!dht || !dht_get_mutable(dht, pk, NULL, 0, 0, on_dht_value, on_dht_done, &w,
		dht_node_now(H->client))) {
		ok(false, st->line, "EXPECT DHT %s: cannot start a look-up", st->name);
		return;
	}
	took = dht_wait(&w);
	ok(w.done && w.found == st->found, st->line, "EXPECT DHT %s %s (%s)", st->name,
	    st->found ? "FOUND" : "ABSENT", w.found ? "found" : "absent");
	if (took)
		printf("# the look-up took %llu ms of virtual time\n", (unsigned long long)took);
}

/* ---- the scenario ---------------------------------------------------------- */

static void
step_icann(const struct step *st)
{
	struct fake_rule *r = malloc(sizeof(*r));

	if (!r) {
		ok(false, st->line, "out of memory");
		return;
	}
	*r = st->rule;
	r->answer = strdup(st->rule.answer);
	r->authority = strdup(st->rule.authority);
	r->next = NULL;
	fake_icann_rule(r);
}

static void
run_step(const struct step *st)
{
	switch (st->kind) {
	case STEP_CONFIG:
		conf_set(st->key, st->value, st->append);
		break;
	case STEP_ICANN:
		step_icann(st);
		break;
	case STEP_PUBLISH:
		step_publish(st);
		break;
	case STEP_QUERY:
		if (step_query(st) < 0)
			ok(false, st->line, "QUERY @%s: could not send", st->label);
		break;
	case STEP_EXPECT:
		step_expect(st);
		break;
	case STEP_NOTHING:
		step_nothing(st);
		break;
	case STEP_UPSTREAM: {
		unsigned n = fake_icann_count(st->name, st->qtype);
		ok(n == st->count, st->line, "%u upstream question(s) for %s type %u (expected %u)", n,
		    st->name, st->qtype, st->count);
		break;
	}
	case STEP_DHT:
		step_dht(st);
		break;
	case STEP_TIME:
		if (vclock_run(H->base, st->ms) < 0)
			ok(false, st->line, "the event loop failed");
		break;
	case STEP_TODO:
		H->todo = *st->value ? st->value : NULL;
		break;
	case STEP_SIGHUP:
		if (conf_write() < 0 || raise(SIGHUP) != 0)
			ok(false, st->line, "SIGHUP: cannot rewrite %s", H->conf_path);
		settle();
		break;
	}
}

/* The steps after the leading CONFIG lines (those made the daemon). */
int
harness_main_loop(struct event_base *base)
{
	const struct step *st = H->sc.steps;
	char last[300];
	unsigned n;
	uint64_t t0;

	H->base = base;
	t0 = vclock_now_ms();
	settle();
	while (st && st->kind == STEP_CONFIG)
		st = st->next;
	for (; st; st = st->next)
		run_step(st);
	H->todo = NULL;
	/* a reply no EXPECT took: a second reply to one question, or a
	 * question whose answer the scenario forgot to check */
	harness_drain();
	n = 0;
	for (const struct query *q = H->queries; q; q = q->next)
		if (q->n_replies) {
			n += (unsigned)q->n_replies;
			snprintf(last, sizeof(last), "@%s", q->label);
		}
	ok(n == 0, 0, "every reply checked by an EXPECT (%u left, last %s)", n, n ? last : "none");
	n = fake_icann_unscripted(last, sizeof(last));
	ok(n == 0, 0, "no ICANN question without an ICANN line (%u, last: %s)", n,
	    n ? last : "none");
	if (vclock_lost())
		printf("# %lu datagram(s) sent on loopback never arrived\n", vclock_lost());
	printf("# %.3f s of virtual time in %lu turns of the event loop, %lu real waits "
	    "for datagrams in flight\n", (double)(vclock_now_ms() - t0) / 1000.0, vclock_polls(),
	    vclock_waits());
	return 0;
}

/* ---- set-up ------------------------------------------------------------------ */

static void
timer_fired(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(bool *)arg = true;
}

/* Is the interposition in force, for libevent too? (A static libc, or a
 * libevent built without epoll, would defeat it.) */
static const char *
self_check(void)
{
	struct event_base *b = event_base_new();
	struct timeval tv = { 10, 0 }, now;
	bool fired = false;
	struct event *ev;
	const char *why = NULL;

	if (!b)
		return "event_base_new failed";
	if (strcmp(event_base_get_method(b), "epoll") != 0)
		why = "libevent does not use epoll";
	else if (event_base_gettimeofday_cached(b, &now) != 0 ||
	    (uint64_t)now.tv_sec != VCLOCK_WALL_START_S)
		why = "libevent does not read the interposed gettimeofday";
	ev = evtimer_new(b, timer_fired, &fired);
	if (!why && ev && evtimer_add(ev, &tv) == 0) {
		event_base_loop(b, EVLOOP_NONBLOCK);
		if (vclock_polls() == 0)
			why = "libevent does not call the interposed epoll_wait";
		else if (vclock_run(b, 10 * 1000) < 0 || !fired)
			why = "libevent timers do not follow the virtual clock";
	}
	if (ev)
		event_free(ev);
	event_base_free(b);
	return why;
}

/* Does this daemon know the config key? (Keys other branches add: the
 * harness keeps working whichever are merged.) */
static bool
conf_knows(const char *key, const char *value)
{
	char path[320], *argv[] = { "pkdns", "-c", path, NULL };
	struct conf cfg;
	FILE *f;
	int saved, null, rc;

	snprintf(path, sizeof(path), "%s/probe.conf", H->dir);
	if (!(f = fopen(path, "w")))
		return false;
	fprintf(f, "%s: %s\n", key, value);
	fclose(f);
	/* an unknown key is an error message on stderr: not ours to show */
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	null = open("/dev/null", O_WRONLY);
	if (saved >= 0 && null >= 0)
		dup2(null, STDERR_FILENO);
	rc = conf_load(&cfg, 3, argv);
	if (saved >= 0) {
		dup2(saved, STDERR_FILENO);
		close(saved);
	}
	if (null >= 0)
		close(null);
	conf_free(&cfg);
	unlink(path);
	return rc == CONF_OK;
}

/* Defaults for keys a daemon may have: nothing of a scenario's daemon
 * lives outside its temporary directory. */
static void
optional_defaults(void)
{
	char path[320];

	snprintf(path, sizeof(path), "%s/control.sock", H->dir);
	if (conf_knows("control-socket", path))
		conf_set("control-socket", path, false);
}

static void
cleanup(void)
{
	if (H->dir[0]) {
		char cmd[400];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", H->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "pkdns-harness: could not remove %s\n", H->dir);
	}
}

int
main(int argc, char **argv)
{
	static struct harness h;
	char err[600], num[16];
	const char *why, *tmp = getenv("TMPDIR"), *verbose = getenv("PKDNS_HARNESS_VERBOSE");
	char *dargv[] = { "pkdns", "-c", h.conf_path, NULL };
	struct conf cfg;
	struct pkdns *d;

	H = &h;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 2) {
		fprintf(stderr, "usage: %s FILE.scn\n", argv[0]);
		return 2;
	}
	if (sodium_init() < 0) {
		printf("Bail out! libsodium failed to initialise\n");
		return 99;
	}
	if (scenario_parse(&h.sc, argv[1], err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		printf("Bail out! %s\n", err);
		return 99;
	}
	if ((why = self_check())) {
		printf("1..0 # SKIP %s\n", why);
		scenario_free(&h.sc);
		return 0;
	}
	snprintf(h.dir, sizeof(h.dir), "%s/pkdns-harness.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	h.dns_port = pick_ports(1, true);
	h.testnet_port = h.sc.uses_dht ? pick_ports(TESTNET_NODES, false) : 1;
	if (!mkdtemp(h.dir) || !h.dns_port || !h.testnet_port) {
		printf("Bail out! no temporary directory or no free ports\n");
		return 99;
	}
	snprintf(h.conf_path, sizeof(h.conf_path), "%s/pkdns.conf", h.dir);
	/* the daemon as the tests run it, then the scenario's leading CONFIG */
	snprintf(err, sizeof(err), "127.0.0.1:%u", h.dns_port);
	conf_set("listen", err, false);
	if (h.sc.uses_dht) {
		/* the testnet, on ports of its own */
		snprintf(num, sizeof(num), "%u", h.testnet_port);
		conf_set("testnet-port", num, false);
		snprintf(num, sizeof(num), "%u", TESTNET_NODES);
		conf_set("testnet", num, false);
		conf_set("dht-port", "0", false);
	} else {
		/* no DHT traffic to step through for hours of virtual time */
		conf_set("dht-mode", "off", false);
	}
	conf_set("foreground", "yes", false);
	conf_set("dnssec", "no", false);
	conf_set("stats-interval", "0", false);
	conf_set("verbose", verbose && *verbose ? verbose : "0", false);
	optional_defaults();
	for (const struct step *st = h.sc.steps; st && st->kind == STEP_CONFIG; st = st->next)
		conf_set(st->key, st->value, st->append);
	if (conf_write() < 0 || conf_load(&cfg, 3, dargv) != CONF_OK) {
		printf("Bail out! the scenario's configuration does not load (%s)\n", h.conf_path);
		cleanup();
		return 99;
	}
	log_setup("pkdns", cfg.verbose, true);
	if (!(d = pkdns_new(&cfg, 3, dargv))) {
		printf("Bail out! pkdns_new failed\n");
		cleanup();
		return 99;
	}
	pkdns_run(d);
	dht_node_free(h.client);
	h.client = NULL;
	pkdns_free(d);
	while (h.queries) {
		struct query *q = h.queries;
		h.queries = q->next;
		close(q->fd);
		for (size_t i = 0; i < q->n_replies; i++)
			free(q->replies[i].buf);
		free(q);
	}
	while (h.conf) {
		struct conf_line *c = h.conf;
		h.conf = c->next;
		free(c->key);
		free(c->value);
		free(c);
	}
	fake_icann_reset();
	scenario_free(&h.sc);
	cleanup();
	printf("1..%u\n", h.tests);
	return h.failed ? 1 : 0;
}
