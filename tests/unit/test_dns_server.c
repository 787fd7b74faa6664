/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_dns_server.c -- unit tests for src/dns/server.h: a dns_server on
 * 127.0.0.1 (ephemeral port) with this test's own handler, and real UDP
 * and TCP client sockets in the same process, driven by pumping the same
 * event loop while waiting for an answer.
 *
 * The handler picks its behaviour from the first label of the query name:
 *   now        answer at once (dns_query_answer into dns_query_buf)
 *   bigN       answer at once with TXT records making about N bytes
 *   reply      answer at once with dns_query_reply (a copy)
 *   holdN      dns_query_hold, answer from an evtimer N ms later
 *   holderrN   hold, then SERVFAIL after N ms
 *   holdreplyN hold, then dns_query_reply after N ms
 *   refused    dns_query_error(REFUSED)
 *   drop       dns_query_drop
 *   forget     return without answering (the server must drop it)
 *   ede        SERVFAIL with EDE 22 "why" (dns_query_set_ede)
 *   edebigN    EDE 3, then the bigN answer
 *   edeholdN   EDE 22 "why", held, SERVFAIL after N ms
 * Answers are written with ID 0, the question lower-cased and AD set, so
 * that the server's patching (ID, the client's spelling, AD only for DO/AD
 * queries, OPT, truncation) is what the client sees.
 *
 * Covers RFC 1035 section 4.2 (UDP 512, TCP framing), RFC 6891 sections
 * 6.2.3-7 (OPT, BADVERS, payload sizes), RFC 7766 (pipelining, out-of-order
 * answers, idle timeout). Bounded to about three seconds.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "dns/ede.h"
#include "dns/server.h"
#include "tap.h"

#define SERVER_EDNS 1232
#define MAX_CONNS 4

struct test;
static int listen_ephemeral(struct test *t);

/* A query held by the handler until its timer fires. */
struct pending {
	struct test *t;
	struct event *ev;
	struct dns_query *q;
	int mode; /* 0 answer, 1 SERVFAIL, 2 reply */
	struct pending *next;
};

struct test {
	struct event_base *base;
	struct dns_server *srv;
	struct sockaddr_in addr;
	unsigned handler_calls;
	unsigned held_now;      /* held queries not yet answered */
	struct pending *pending;
};

static uint64_t
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static void
set16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* ---- the handler ------------------------------------------------------ */

/* The answer: header (ID 0, QR RD RA, AD), the question as parsed
 * (lower-cased), then one A record, or TXT records up to about target
 * bytes. */
static size_t
build_answer(const struct dns_query *q, uint8_t *b, size_t cap, size_t target)
{
	size_t len = DNS_HDR_LEN;
	uint16_t an = 0;

	if (cap < DNS_HDR_LEN + q->info.qname_len + 4 + 16)
		return 0;
	memset(b, 0, DNS_HDR_LEN);
	b[2] = 0x81;
	b[3] = 0xa0; /* RA, AD */
	set16(b + 4, 1);
	memcpy(b + len, q->info.qname, q->info.qname_len);
	len += q->info.qname_len;
	set16(b + len, q->info.qtype);
	set16(b + len + 2, q->info.qclass);
	len += 4;
	do {
		size_t rdlen = target ? 201 : 4;
		if (len + 12 + rdlen > cap)
			break;
		b[len] = 0xc0;
		b[len + 1] = DNS_HDR_LEN;
		set16(b + len + 2, target ? 16 : 1);
		set16(b + len + 4, 1);
		set16(b + len + 6, 0);
		set16(b + len + 8, 300);
		set16(b + len + 10, (uint16_t)rdlen);
		len += 12;
		if (target) {
			b[len] = 200;
			memset(b + len + 1, 'x', 200);
		} else {
			memcpy(b + len, "\xc0\x00\x02\x01", 4);
		}
		len += rdlen;
		an++;
	} while (target && len < target);
	set16(b + 6, an);
	return len;
}

static void
pending_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pending *p = arg;
	struct test *t = p->t;
	(void)fd;
	(void)what;

	if (p->mode == 1) {
		dns_query_error(p->q, DNS_RCODE_SERVFAIL);
	} else if (p->mode == 2) {
		uint8_t own[600];
		size_t len = build_answer(p->q, own, sizeof(own), 0);
		dns_query_reply(p->q, own, len);
	} else {
		size_t cap;
		uint8_t *buf = dns_query_buf(p->q, &cap);
		dns_query_answer(p->q, build_answer(p->q, buf, cap, 0));
	}
	t->held_now--;
	for (struct pending **pp = &t->pending; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	event_free(p->ev);
	free(p);
}

static void
hold(struct test *t, struct dns_query *q, int mode, unsigned ms)
{
	struct pending *p = calloc(1, sizeof(*p));
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

	if (!p) {
		dns_query_error(q, DNS_RCODE_SERVFAIL);
		return;
	}
	p->q = dns_query_hold(q);
	if (!p->q) {
		free(p);
		return;
	}
	p->t = t;
	p->mode = mode;
	p->ev = evtimer_new(t->base, pending_cb, p);
	if (!p->ev) {
		dns_query_drop(p->q);
		free(p);
		return;
	}
	p->next = t->pending;
	t->pending = p;
	t->held_now++;
	evtimer_add(p->ev, &tv);
}

/* Does the first label of q start with word? Then *num = the number after it. */
static int
label_is(const struct dns_query *q, const char *word, unsigned *num)
{
	const uint8_t *n = q->info.qname;
	size_t wl = strlen(word), ll = n[0];
	unsigned v = 0;

	if (q->info.qname_len < 2 || ll < wl || memcmp(n + 1, word, wl) != 0)
		return 0;
	for (size_t i = wl; i < ll; i++) {
		if (n[1 + i] < '0' || n[1 + i] > '9')
			return 0;
		v = v * 10 + (unsigned)(n[1 + i] - '0');
	}
	if (num)
		*num = v;
	else if (ll != wl)
		return 0;
	return 1;
}

static void
handler(void *ctx, struct dns_query *q)
{
	struct test *t = ctx;
	unsigned n = 0;
	size_t cap;
	uint8_t *buf;

	t->handler_calls++;
	if (label_is(q, "ede", NULL)) {
		dns_query_set_ede(q, DNS_EDE_NO_REACHABLE_AUTHORITY, "why");
		dns_query_error(q, DNS_RCODE_SERVFAIL);
	} else if (label_is(q, "edebig", &n)) {
		dns_query_set_ede(q, DNS_EDE_STALE_ANSWER, NULL);
		buf = dns_query_buf(q, &cap);
		dns_query_answer(q, build_answer(q, buf, cap, n));
	} else if (label_is(q, "edehold", &n)) {
		dns_query_set_ede(q, DNS_EDE_NO_REACHABLE_AUTHORITY, "why");
		hold(t, q, 1, n);
	} else if (label_is(q, "now", NULL)) {
		buf = dns_query_buf(q, &cap);
		dns_query_answer(q, build_answer(q, buf, cap, 0));
	} else if (label_is(q, "big", &n)) {
		buf = dns_query_buf(q, &cap);
		dns_query_answer(q, build_answer(q, buf, cap, n));
	} else if (label_is(q, "reply", NULL)) {
		uint8_t own[600];
		dns_query_reply(q, own, build_answer(q, own, sizeof(own), 0));
	} else if (label_is(q, "holderr", &n)) {
		hold(t, q, 1, n);
	} else if (label_is(q, "holdreply", &n)) {
		hold(t, q, 2, n);
	} else if (label_is(q, "hold", &n)) {
		hold(t, q, 0, n);
	} else if (label_is(q, "refused", NULL)) {
		dns_query_error(q, DNS_RCODE_REFUSED);
	} else if (label_is(q, "drop", NULL)) {
		dns_query_drop(q);
	} else if (label_is(q, "forget", NULL)) {
		/* the server must notice and drop it */
	} else {
		dns_query_error(q, DNS_RCODE_NXDOMAIN);
	}
}

/* ---- clients -------------------------------------------------------- */

/* Build a query for a dotted name; edns_size 0 = no OPT. */
static size_t
make_query(uint8_t *b, uint16_t id, const char *name, uint16_t qtype, uint16_t edns_size,
    bool do_bit, uint8_t edns_version)
{
	size_t len = DNS_HDR_LEN;
	const char *p = name;

	memset(b, 0, DNS_HDR_LEN);
	set16(b, id);
	b[2] = 0x01; /* RD */
	set16(b + 4, 1);
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);
		b[len++] = (uint8_t)l;
		memcpy(b + len, p, l);
		len += l;
		p += l;
		if (*p == '.')
			p++;
	}
	b[len++] = 0;
	set16(b + len, qtype);
	set16(b + len + 2, 1);
	len += 4;
	if (edns_size) {
		set16(b + 10, 1);
		b[len] = 0;
		set16(b + len + 1, DNS_TYPE_OPT);
		set16(b + len + 3, edns_size);
		b[len + 5] = 0;
		b[len + 6] = edns_version;
		b[len + 7] = do_bit ? 0x80 : 0;
		b[len + 8] = 0;
		set16(b + len + 9, 0);
		len += 11;
	}
	return len;
}

/* Pump the event loop until fd is readable (or hung up), or ms pass. */
static bool
pump_until_readable(struct test *t, int fd, unsigned ms)
{
	uint64_t end = now_ms() + ms;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		event_base_loop(t->base, EVLOOP_NONBLOCK);
		if (poll(&p, 1, 2) > 0)
			return true;
		if (now_ms() >= end)
			return false;
	}
}

static void
pump_for(struct test *t, unsigned ms)
{
	uint64_t end = now_ms() + ms;
	while (now_ms() < end) {
		event_base_loop(t->base, EVLOOP_NONBLOCK);
		usleep(1000);
	}
}

static int
udp_client(struct test *t)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&t->addr, sizeof(t->addr)) < 0) {
		perror("udp client");
		exit(99);
	}
	return fd;
}

/* Send one datagram and wait for one answer. @return its length, or -1. */
static ssize_t
udp_ask(struct test *t, int fd, const uint8_t *q, size_t qlen, uint8_t *ans, size_t cap,
    unsigned ms)
{
	if (send(fd, q, qlen, 0) != (ssize_t)qlen)
		return -1;
	if (!pump_until_readable(t, fd, ms))
		return -1;
	return recv(fd, ans, cap, 0);
}

#define TCP_CLIENT_BUF 70000

struct tcp_client {
	int fd;
	uint8_t *buf;  /* TCP_CLIENT_BUF bytes */
	size_t have;
};

static void
tcp_connect(struct test *t, struct tcp_client *c)
{
	c->have = 0;
	c->buf = malloc(TCP_CLIENT_BUF);
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (!c->buf || c->fd < 0 ||
	    connect(c->fd, (struct sockaddr *)&t->addr, sizeof(t->addr)) < 0) {
		perror("tcp client");
		exit(99);
	}
	fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
}

static void
tcp_close(struct tcp_client *c)
{
	close(c->fd);
	free(c->buf);
	c->buf = NULL;
}

static int
tcp_send(struct tcp_client *c, const uint8_t *m, size_t len)
{
	uint8_t b[2 + 4096];
	set16(b, (uint16_t)len);
	memcpy(b + 2, m, len);
	return send(c->fd, b, len + 2, MSG_NOSIGNAL) == (ssize_t)(len + 2) ? 0 : -1;
}

/* Read one framed message. @return its length, -1 on timeout, -2 when
 * the server closed the connection. */
static ssize_t
tcp_recv(struct test *t, struct tcp_client *c, uint8_t *out, size_t cap, unsigned ms)
{
	uint64_t end = now_ms() + ms;

	for (;;) {
		if (c->have >= 2) {
			size_t l = get16(c->buf);
			if (c->have >= l + 2) {
				if (l > cap)
					return -1;
				memcpy(out, c->buf + 2, l);
				memmove(c->buf, c->buf + 2 + l, c->have - 2 - l);
				c->have -= l + 2;
				return (ssize_t)l;
			}
		}
		uint64_t now = now_ms();
		if (now >= end || !pump_until_readable(t, c->fd, (unsigned)(end - now)))
			return -1;
		ssize_t n = recv(c->fd, c->buf + c->have, TCP_CLIENT_BUF - c->have, 0);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return -2;
		if (n > 0)
			c->have += (size_t)n;
	}
}

/* ---- checks ------------------------------------------------------------ */

/* The answer's ID, QR, and question bytes equal the query's. */
static bool
echoes(const uint8_t *q, size_t qlen, const uint8_t *a, size_t alen)
{
	size_t qend = DNS_HDR_LEN;

	while (qend < qlen && q[qend])
		qend += (size_t)q[qend] + 1;
	qend += 5;
	return alen >= qend && qlen >= qend && get16(a) == get16(q) && (a[2] & 0x80) &&
	    get16(a + 4) == 1 && memcmp(a + DNS_HDR_LEN, q + DNS_HDR_LEN, qend - DNS_HDR_LEN) == 0;
}

static int
rcode(const uint8_t *a)
{
	return a[3] & 0x0f;
}

/* Offset of the OPT record when it is the last 11 bytes, else 0. */
static size_t
opt_at(const uint8_t *a, size_t len)
{
	if (len < DNS_HDR_LEN + 11 || get16(a + 10) == 0)
		return 0;
	size_t o = len - 11;
	if (a[o] != 0 || get16(a + o + 1) != DNS_TYPE_OPT)
		return 0;
	return o;
}

/* ---- tests ------------------------------------------------------------- */

static void
test_udp(struct test *t)
{
	uint8_t q[512], a[4096];
	size_t ql;
	ssize_t al;
	size_t o;
	int fd = udp_client(t);

	ql = make_query(q, 0x1111, "Now.ExAmple.COM", 1, 0, false, 0);
	al = udp_ask(t, fd, q, ql, a, sizeof(a), 1000);
	ok(al > 0 && echoes(q, ql, a, (size_t)al), "UDP: ID and question echoed in the client's case");
	ok(al > 0 && rcode(a) == 0 && get16(a + 6) == 1, "UDP: NOERROR with one answer");
	ok(al > 0 && (a[2] & 0x01) && (a[3] & 0x80), "UDP: RD and RA");
	ok(al > 0 && !(a[3] & 0x20), "UDP: AD cleared (query had neither DO nor AD)");
	ok(al > 0 && get16(a + 10) == 0 && opt_at(a, (size_t)al) == 0, "UDP: no OPT without EDNS");

	ql = make_query(q, 0x1112, "now.example", 28, 4096, true, 0);
	al = udp_ask(t, fd, q, ql, a, sizeof(a), 1000);
	o = al > 0 ? opt_at(a, (size_t)al) : 0;
	ok(al > 0 && get16(a) == 0x1112, "UDP EDNS: answered");
	ok(o > 0 && get16(a + 10) == 1, "UDP EDNS: OPT added, ARCOUNT 1");
	ok(o > 0 && get16(a + o + 3) == SERVER_EDNS, "UDP EDNS: our buffer size announced");
	ok(o > 0 && (a[o + 7] & 0x80) && a[o + 6] == 0, "UDP EDNS: DO echoed, version 0");
	ok(al > 0 && (a[3] & 0x20), "UDP EDNS: AD kept for a DO query");

	ql = make_query(q, 0x1113, "reply.example", 1, 0, false, 0);
	q[3] |= 0x20; /* AD in the query */
	al = udp_ask(t, fd, q, ql, a, sizeof(a), 1000);
	ok(al > 0 && echoes(q, ql, a, (size_t)al) && get16(a + 6) == 1,
	    "UDP: dns_query_reply answer");
	ok(al > 0 && (a[3] & 0x20), "UDP: AD kept for an AD query");

	ql = make_query(q, 0x1114, "Refused.Example", 1, 0, false, 0);
	al = udp_ask(t, fd, q, ql, a, sizeof(a), 1000);
	ok(al > 0 && echoes(q, ql, a, (size_t)al) && rcode(a) == DNS_RCODE_REFUSED,
	    "UDP: dns_query_error REFUSED with the question in the client's case");

	ql = make_query(q, 0x1115, "HOLD30.example", 1, 1232, false, 0);
	al = udp_ask(t, fd, q, ql, a, sizeof(a), 1000);
	ok(al > 0 && echoes(q, ql, a, (size_t)al) && get16(a + 6) == 1 && opt_at(a, (size_t)al),
	    "UDP: held query answered later, with OPT and the client's case");

	ql = make_query(q, 0x1116, "holderr20.example", 1, 0, false, 0);
	al = udp_ask(t, fd, q, ql, a, sizeof(a), 1000);
	ok(al > 0 && echoes(q, ql, a, (size_t)al) && rcode(a) == DNS_RCODE_SERVFAIL,
	    "UDP: held query errored later");

	ql = make_query(q, 0x1117, "holdreply20.example", 1, 0, false, 0);
	al = udp_ask(t, fd, q, ql, a, sizeof(a), 1000);
	ok(al > 0 && echoes(q, ql, a, (size_t)al) && get16(a + 6) == 1,
	    "UDP: held query answered with dns_query_reply");

	unsigned calls = t->handler_calls;
	ql = make_query(q, 0x1118, "drop.example", 1, 0, false, 0);
	ok(udp_ask(t, fd, q, ql, a, sizeof(a), 150) < 0, "UDP: dropped query gets no reply");
	ql = make_query(q, 0x1119, "forget.example", 1, 0, false, 0);
	ok(udp_ask(t, fd, q, ql, a, sizeof(a), 150) < 0, "UDP: query the handler ignored: no reply");
	is_int(t->handler_calls - calls, 2, "handler saw both");
	/* still alive after that */
	ql = make_query(q, 0x111a, "now.example", 1, 0, false, 0);
	al = udp_ask(t, fd, q, ql, a, sizeof(a), 1000);
	ok(al > 0 && get16(a) == 0x111a, "UDP: next query answered");
	close(fd);
}

/* The EDE option at the end of a reply's OPT record, if any: its
 * INFO-CODE and text length. @return true when there is one */
static bool
ede_of(const uint8_t *a, size_t len, unsigned *code, size_t *tlen)
{
	/* the OPT is the last record: find it from its known size */
	for (size_t o = DNS_HDR_LEN; o + 11 <= len; o++) {
		if (a[o] != 0 || get16(a + o + 1) != DNS_TYPE_OPT)
			continue;
		size_t rdlen = get16(a + o + 9);
		if (o + 11 + rdlen != len || rdlen < 6 || get16(a + o + 11) != DNS_OPT_EDE ||
		    get16(a + o + 13) != rdlen - 4)
			continue;
		*code = get16(a + o + 15);
		*tlen = rdlen - 6;
		return true;
	}
	return false;
}

static void
test_ede(struct test *t)
{
	uint8_t q[512], a[4096];
	size_t ql, tl = 0;
	ssize_t al;
	unsigned code = 0;
	int fd = udp_client(t);

	ql = make_query(q, 0x2001, "ede.example", 1, 1232, false, 0);
	al = udp_ask(t, fd, q, ql, a, sizeof(a), 1000);
	ok(al > 0 && rcode(a) == DNS_RCODE_SERVFAIL && ede_of(a, (size_t)al, &code, &tl) &&
	    code == DNS_EDE_NO_REACHABLE_AUTHORITY && tl == 3 &&
	    memcmp(a + al - 3, "why", 3) == 0, "EDE: an error reply carries the option in its OPT");
	ql = make_query(q, 0x2002, "ede.example", 1, 0, false, 0);
	al = udp_ask(t, fd, q, ql, a, sizeof(a), 1000);
	ok(al > 0 && rcode(a) == DNS_RCODE_SERVFAIL && get16(a + 10) == 0,
	    "EDE: none (and no OPT) when the query had no OPT");
	ql = make_query(q, 0x2003, "edebig300.example", 16, 1232, false, 0);
	al = udp_ask(t, fd, q, ql, a, sizeof(a), 1000);
	ok(al > 0 && get16(a + 6) > 0 && ede_of(a, (size_t)al, &code, &tl) &&
	    code == DNS_EDE_STALE_ANSWER && tl == 0, "EDE: an answer carries it after its records");
	ql = make_query(q, 0x2004, "edebig1100.example", 16, 512, false, 0);
	al = udp_ask(t, fd, q, ql, a, sizeof(a), 1000);
	ok(al > 0 && al <= 512 && (a[2] & 0x02) && ede_of(a, (size_t)al, &code, &tl) &&
	    code == DNS_EDE_STALE_ANSWER, "EDE: kept in a truncated answer, within 512 bytes");
	ql = make_query(q, 0x2005, "edehold20.example", 1, 1232, false, 0);
	al = udp_ask(t, fd, q, ql, a, sizeof(a), 1000);
	ok(al > 0 && rcode(a) == DNS_RCODE_SERVFAIL && ede_of(a, (size_t)al, &code, &tl) &&
	    code == DNS_EDE_NO_REACHABLE_AUTHORITY, "EDE: set before dns_query_hold, sent after");
	close(fd);
}

static void
test_udp_truncation(struct test *t)
{
	static const struct {
		const char *name;
		uint16_t edns;     /* 0: no OPT */
		bool truncated;
	} cases[] = {
		{ "big400.example", 0, false },   /* 12+18+426 < 512 */
		{ "big600.example", 0, true },    /* over 512 without EDNS */
		{ "big600.example", 512, true },  /* EDNS 512 */
		{ "big600.example", 1000, false },
		{ "big1100.example", 1000, true },   /* the client's size */
		{ "big1000.example", 4096, false },
		{ "big1300.example", 4096, true },   /* our size, 1232 */
		{ "big3000.example", 65535, true },
	};
	uint8_t q[512], a[8192];
	int fd = udp_client(t);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t ql = make_query(q, (uint16_t)(0x2200 + i), cases[i].name, 16, cases[i].edns,
		    false, 0);
		size_t qend = ql - (cases[i].edns ? 11 : 0);
		ssize_t al = udp_ask(t, fd, q, ql, a, sizeof(a), 1000);
		size_t limit = cases[i].edns == 0 ? 512 :
		    cases[i].edns < SERVER_EDNS ? cases[i].edns : SERVER_EDNS;
		bool tc = al > 0 && (a[2] & 0x02);
		bool has_opt = al > 0 && opt_at(a, (size_t)al) != 0;

		ok(al > 0 && echoes(q, ql, a, (size_t)al) && (size_t)al <= limit,
		    "%s EDNS %u: answer of %zd bytes within %zu", cases[i].name, cases[i].edns, al,
		    limit);
		ok(tc == cases[i].truncated, "%s EDNS %u: TC=%d", cases[i].name, cases[i].edns,
		    cases[i].truncated);
		ok(has_opt == (cases[i].edns != 0), "%s EDNS %u: OPT %s", cases[i].name,
		    cases[i].edns, cases[i].edns ? "present" : "absent");
		if (cases[i].truncated)
			ok(al > 0 && (size_t)al == qend + (cases[i].edns ? 11 : 0) &&
			    get16(a + 6) == 0 && get16(a + 8) == 0,
			    "%s EDNS %u: truncated to header, question (and OPT)", cases[i].name,
			    cases[i].edns);
		else
			ok(al > 0 && get16(a + 6) > 0 && (size_t)al >= qend + 213,
			    "%s EDNS %u: full answer", cases[i].name, cases[i].edns);
	}
	close(fd);
}

static void
test_udp_malformed(struct test *t)
{
	uint8_t q[512], a[4096];
	size_t ql;
	ssize_t al;
	int fd = udp_client(t);
	unsigned calls = t->handler_calls;

	/* QDCOUNT 2 */
	ql = make_query(q, 0x3301, "now.example", 1, 0, false, 0);
	memcpy(q + ql, q + DNS_HDR_LEN, ql - DNS_HDR_LEN);
	ql += ql - DNS_HDR_LEN;
	set16(q + 4, 2);
	al = udp_ask(t, fd, q, ql, a, sizeof(a), 1000);
	ok(al >= DNS_HDR_LEN && get16(a) == 0x3301 && (a[2] & 0x80) && rcode(a) == DNS_RCODE_FORMERR,
	    "QDCOUNT 2: FORMERR");

	/* opcode 1 (IQUERY) */
	ql = make_query(q, 0x3302, "now.example", 1, 0, false, 0);
	q[2] |= 1 << 3;
	al = udp_ask(t, fd, q, ql, a, sizeof(a), 1000);
	ok(al >= DNS_HDR_LEN && get16(a) == 0x3302 && rcode(a) == DNS_RCODE_NOTIMP &&
	    ((a[2] >> 3) & 0x0f) == 1, "opcode 1: NOTIMP with the opcode echoed");

	/* EDNS version 1 */
	ql = make_query(q, 0x3303, "now.example", 1, 1232, true, 1);
	al = udp_ask(t, fd, q, ql, a, sizeof(a), 1000);
	size_t o = al > 0 ? opt_at(a, (size_t)al) : 0;
	ok(al > 0 && echoes(q, ql - 11, a, (size_t)al), "EDNS version 1: answered, question echoed");
	ok(o > 0 && rcode(a) == 0 && a[o + 5] == 1 && a[o + 6] == 0,
	    "EDNS version 1: BADVERS (ext-rcode 1, version 0 in OPT)");

	/* QR=1: a response must never be answered (reflection loops) */
	ql = make_query(q, 0x3304, "now.example", 1, 0, false, 0);
	q[2] |= 0x80;
	ok(udp_ask(t, fd, q, ql, a, sizeof(a), 150) < 0, "QR=1: no reply");
	ok(udp_ask(t, fd, q, 5, a, sizeof(a), 100) < 0, "5-byte datagram: no reply");
	ok(udp_ask(t, fd, q, 0, a, sizeof(a), 100) < 0, "empty datagram: no reply");

	/* cut question */
	ql = make_query(q, 0x3305, "now.example", 1, 0, false, 0);
	al = udp_ask(t, fd, q, ql - 3, a, sizeof(a), 1000);
	ok(al >= DNS_HDR_LEN && get16(a) == 0x3305 && rcode(a) == DNS_RCODE_FORMERR,
	    "cut question: FORMERR");

	/* a datagram larger than the server reads */
	{
		uint8_t huge[8000] = { 0 };
		ql = make_query(huge, 0x3306, "now.example", 1, 0, false, 0);
		ok(udp_ask(t, fd, huge, sizeof(huge), a, sizeof(a), 150) < 0 ||
		    get16(a) == 0x3306, "8000-byte datagram: dropped or answered, no crash");
	}
	is_int(t->handler_calls - calls, 0, "malformed queries never reach the handler");

	ql = make_query(q, 0x3307, "now.example", 1, 0, false, 0);
	al = udp_ask(t, fd, q, ql, a, sizeof(a), 1000);
	ok(al > 0 && get16(a) == 0x3307, "server still answers");
	close(fd);
}

static void
test_tcp(struct test *t)
{
	struct tcp_client c;
	uint8_t q[3][512], a[70000];
	size_t ql[3];
	ssize_t al;

	tcp_connect(t, &c);
	/* three pipelined queries in one write: answers come as they are ready */
	ql[0] = make_query(q[0], 0x4401, "Hold300.Example", 1, 0, false, 0);
	ql[1] = make_query(q[1], 0x4402, "hOLD100.example", 1, 1232, true, 0);
	ql[2] = make_query(q[2], 0x4403, "NOW.example", 1, 0, false, 0);
	{
		uint8_t all[1600];
		size_t n = 0;
		for (int i = 0; i < 3; i++) {
			set16(all + n, (uint16_t)ql[i]);
			memcpy(all + n + 2, q[i], ql[i]);
			n += ql[i] + 2;
		}
		ok(send(c.fd, all, n, MSG_NOSIGNAL) == (ssize_t)n, "TCP: three queries in one write");
	}
	al = tcp_recv(t, &c, a, sizeof(a), 1000);
	ok(al > 0 && echoes(q[2], ql[2], a, (size_t)al), "TCP: the immediate answer first");
	al = tcp_recv(t, &c, a, sizeof(a), 1000);
	ok(al > 0 && echoes(q[1], ql[1] - 11, a, (size_t)al) && opt_at(a, (size_t)al),
	    "TCP: then the 100 ms one (with OPT)");
	al = tcp_recv(t, &c, a, sizeof(a), 1000);
	ok(al > 0 && echoes(q[0], ql[0], a, (size_t)al) && get16(a + 10) == 0,
	    "TCP: then the 300 ms one (no OPT)");

	/* a large answer over TCP is never truncated */
	ql[0] = make_query(q[0], 0x4404, "big3000.example", 16, 0, false, 0);
	tcp_send(&c, q[0], ql[0]);
	al = tcp_recv(t, &c, a, sizeof(a), 1000);
	ok(al >= 3000 && echoes(q[0], ql[0], a, (size_t)al) && !(a[2] & 0x02),
	    "TCP: 3000-byte answer without EDNS, not truncated (%zd)", al);
	ql[0] = make_query(q[0], 0x4405, "big40000.example", 16, 1232, false, 0);
	tcp_send(&c, q[0], ql[0]);
	al = tcp_recv(t, &c, a, sizeof(a), 1000);
	ok(al >= 40000 && echoes(q[0], ql[0] - 11, a, (size_t)al) && !(a[2] & 0x02) &&
	    opt_at(a, (size_t)al), "TCP: 40000-byte answer with OPT (%zd)", al);

	/* malformed over TCP: FORMERR, and the connection goes on */
	ql[0] = make_query(q[0], 0x4406, "now.example", 1, 0, false, 0);
	set16(q[0] + 4, 2);
	tcp_send(&c, q[0], ql[0]);
	al = tcp_recv(t, &c, a, sizeof(a), 1000);
	ok(al >= DNS_HDR_LEN && get16(a) == 0x4406 && rcode(a) == DNS_RCODE_FORMERR,
	    "TCP: QDCOUNT 2 gets FORMERR");
	ql[0] = make_query(q[0], 0x4407, "now.example", 1, 0, false, 0);
	q[0][2] |= 0x80;
	tcp_send(&c, q[0], ql[0]);
	ql[1] = make_query(q[1], 0x4408, "refused.example", 1, 0, false, 0);
	tcp_send(&c, q[1], ql[1]);
	al = tcp_recv(t, &c, a, sizeof(a), 1000);
	ok(al > 0 && get16(a) == 0x4408 && rcode(a) == DNS_RCODE_REFUSED,
	    "TCP: QR=1 message skipped, next query answered");

	/* half-close with held queries: answers still arrive, then EOF */
	ql[0] = make_query(q[0], 0x4409, "hold80.example", 1, 0, false, 0);
	ql[1] = make_query(q[1], 0x440a, "holderr40.example", 1, 0, false, 0);
	tcp_send(&c, q[0], ql[0]);
	tcp_send(&c, q[1], ql[1]);
	shutdown(c.fd, SHUT_WR);
	al = tcp_recv(t, &c, a, sizeof(a), 1000);
	ok(al > 0 && get16(a) == 0x440a && rcode(a) == DNS_RCODE_SERVFAIL,
	    "TCP half-closed: held SERVFAIL arrives");
	al = tcp_recv(t, &c, a, sizeof(a), 1000);
	ok(al > 0 && get16(a) == 0x4409 && rcode(a) == 0, "TCP half-closed: held answer arrives");
	is_int(tcp_recv(t, &c, a, sizeof(a), 1000), -2, "TCP half-closed: server closes when done");
	tcp_close(&c);

	/* a message too short to be a query: the stream is garbage, closed */
	tcp_connect(t, &c);
	{
		static const uint8_t junk[] = { 0, 3, 1, 2, 3 };
		send(c.fd, junk, sizeof(junk), MSG_NOSIGNAL);
	}
	is_int(tcp_recv(t, &c, a, sizeof(a), 1000), -2, "TCP: 3-byte message closes the connection");
	tcp_close(&c);

	/* a message split over several writes */
	tcp_connect(t, &c);
	ql[0] = make_query(q[0], 0x440b, "now.example", 1, 0, false, 0);
	{
		uint8_t fr[600];
		set16(fr, (uint16_t)ql[0]);
		memcpy(fr + 2, q[0], ql[0]);
		for (size_t i = 0; i < ql[0] + 2; i++) {
			send(c.fd, fr + i, 1, MSG_NOSIGNAL);
			pump_for(t, 1);
		}
	}
	al = tcp_recv(t, &c, a, sizeof(a), 1000);
	ok(al > 0 && echoes(q[0], ql[0], a, (size_t)al), "TCP: query sent a byte at a time");
	tcp_close(&c);
}

static void
test_tcp_disconnect(struct test *t)
{
	struct tcp_client c;
	uint8_t q[512];
	size_t ql;

	/* the client goes away while its queries are held; the answers go
	 * nowhere, nothing crashes or leaks (ASan checks at exit) */
	tcp_connect(t, &c);
	ql = make_query(q, 0x5501, "hold60.example", 1, 0, false, 0);
	tcp_send(&c, q, ql);
	ql = make_query(q, 0x5502, "holdreply60.example", 1, 0, false, 0);
	tcp_send(&c, q, ql);
	pump_for(t, 20);
	ok(t->held_now == 2, "two queries held");
	tcp_close(&c);
	pump_for(t, 150);
	is_int(t->held_now, 0, "held queries answered after the client left");

	/* RST instead of FIN */
	tcp_connect(t, &c);
	ql = make_query(q, 0x5503, "hold60.example", 1, 0, false, 0);
	tcp_send(&c, q, ql);
	pump_for(t, 20);
	{
		struct linger lg = { 1, 0 };
		setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	tcp_close(&c);
	pump_for(t, 150);
	is_int(t->held_now, 0, "held query answered after a reset");

	/* the client leaves while a big answer is still being written */
	tcp_connect(t, &c);
	ql = make_query(q, 0x5504, "big60000.example", 16, 0, false, 0);
	for (int i = 0; i < 20; i++)
		tcp_send(&c, q, ql);
	pump_for(t, 30);
	tcp_close(&c);
	pump_for(t, 50);
	ok(1, "no crash when the client leaves during large writes");
}

static void
test_tcp_limits(struct test *t)
{
	struct tcp_client c[MAX_CONNS + 1];
	uint8_t q[512], a[4096];
	size_t ql;
	struct dns_server_stats st0, st1;
	uint64_t connected[MAX_CONNS];

	dns_server_get_stats(t->srv, &st0);
	for (int i = 0; i < MAX_CONNS; i++) {
		tcp_connect(t, &c[i]);
		connected[i] = now_ms(); /* the server accepts it after this */
		pump_for(t, 10);
	}
	pump_for(t, 20);
	/* the table is full of idle connections: the least recently active
	 * one (c[0]) makes room for the newcomer (RFC 7766 section 6.2.3) */
	tcp_connect(t, &c[MAX_CONNS]);
	is_int(tcp_recv(t, &c[0], a, sizeof(a), 500), -2,
	    "table full: the oldest idle connection is closed");
	ql = make_query(q, 0x6600, "now.example", 1, 0, false, 0);
	tcp_send(&c[MAX_CONNS], q, ql);
	ssize_t al = tcp_recv(t, &c[MAX_CONNS], a, sizeof(a), 1000);
	ok(al > 0 && get16(a) == 0x6600, "  ... and the newcomer is answered");
	dns_server_get_stats(t->srv, &st1);
	is_int(st1.tcp_evicted - st0.tcp_evicted, 1, "eviction counted");
	is_int(st1.tcp_refused - st0.tcp_refused, 0, "nobody refused");
	tcp_close(&c[0]);
	ql = make_query(q, 0x6601, "now.example", 1, 0, false, 0);
	tcp_send(&c[1], q, ql);
	al = tcp_recv(t, &c[1], a, sizeof(a), 1000);
	ok(al > 0 && get16(a) == 0x6601, "connections within the limit still work");

	/* idle timeout (1 s): a silent client is closed, a busy one is not.
	 * Waited for 5 s at most: a loaded machine may stall this process (and
	 * so the server's timer with it) for a while; not closing at all, or
	 * before the timeout, still fails. */
	uint64_t start = now_ms();
	tcp_send(&c[MAX_CONNS], q, ql);
	ql = make_query(q, 0x6602, "hold1300.example", 1, 0, false, 0);
	tcp_send(&c[2], q, ql);
	is_int(tcp_recv(t, &c[3], a, sizeof(a), 5000), -2, "idle connection closed");
	/* c[3] has been silent since it was accepted: the timeout counts from
	 * there, not from start (a slow machine makes the steps in between
	 * longer, and took from start shorter) */
	uint64_t took = now_ms() - connected[3];
	ok(took >= 900 && now_ms() - start < 5000, "after the idle timeout (%llu ms after it connected)",
	    (unsigned long long)took);
	al = tcp_recv(t, &c[2], a, sizeof(a), 1500);
	ok(al > 0 && get16(a) == 0x6602, "a connection waiting for a held answer outlives the timeout");
	for (int i = 1; i <= MAX_CONNS; i++)
		tcp_close(&c[i]);
	pump_for(t, 20);
}

static void
tcp_connect_from(struct test *t, struct tcp_client *c, const char *src)
{
	struct sockaddr_in a;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	inet_pton(AF_INET, src, &a.sin_addr);
	c->have = 0;
	c->buf = malloc(TCP_CLIENT_BUF);
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (!c->buf || c->fd < 0 || bind(c->fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    connect(c->fd, (struct sockaddr *)&t->addr, sizeof(t->addr)) < 0) {
		perror("tcp client");
		exit(99);
	}
	fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
}

/* One client must not hold every slot (issue 10 item 8): a per-client
 * cap, a deadline for a whole message, and a table full of busy
 * connections refusing rather than closing one that waits for an answer.
 * A second server: 4 connections, 2 per client, 300 ms per message. */
static void
test_tcp_fairness(struct test *main_t)
{
	struct test t;
	struct dns_server_config cfg = {
		.edns_buffer_size = SERVER_EDNS,
		.tcp_idle_timeout_s = 5,
		.tcp_max_connections = 4,
		.tcp_max_per_client = 2,
		.tcp_msg_timeout_ms = 300,
	};
	struct tcp_client c[6];
	struct dns_server_stats st0, st1;
	uint8_t q[512], a[4096];
	size_t ql;
	ssize_t al;

	memset(&t, 0, sizeof(t));
	t.base = main_t->base;
	t.srv = dns_server_new(t.base, &cfg, handler, &t);
	if (!t.srv || listen_ephemeral(&t) < 0) {
		ok(0, "fairness server listens");
		dns_server_free(t.srv);
		return;
	}
	dns_server_get_stats(t.srv, &st0);

	/* per client: a third connection from 127.0.0.1 closes that client's
	 * least recently active idle one; with both busy, it is refused */
	tcp_connect_from(&t, &c[0], "127.0.0.1");
	pump_for(&t, 10);
	tcp_connect_from(&t, &c[1], "127.0.0.1");
	pump_for(&t, 20);
	tcp_connect_from(&t, &c[2], "127.0.0.1");
	is_int(tcp_recv(&t, &c[0], a, sizeof(a), 500), -2,
	    "a client over its cap loses its least recently active idle connection");
	tcp_close(&c[0]);
	c[0] = c[2];
	ql = make_query(q, 0x9900, "now.example", 1, 0, false, 0);
	tcp_send(&c[0], q, ql);
	al = tcp_recv(&t, &c[0], a, sizeof(a), 1000);
	ok(al > 0 && get16(a) == 0x9900, "  ... and its new connection is served");
	dns_server_get_stats(t.srv, &st1);
	ok(st1.tcp_evicted - st0.tcp_evicted == 1 && st1.tcp_refused == st0.tcp_refused,
	    "  ... counted as an eviction");
	ql = make_query(q, 0x9905, "hold400.example", 1, 0, false, 0);
	tcp_send(&c[0], q, ql);
	tcp_send(&c[1], q, ql);
	pump_for(&t, 50);
	tcp_connect_from(&t, &c[2], "127.0.0.1");
	is_int(tcp_recv(&t, &c[2], a, sizeof(a), 300), -2,
	    "with both its connections busy, a third is refused");
	tcp_close(&c[2]);
	dns_server_get_stats(t.srv, &st1);
	is_int(st1.tcp_refused - st0.tcp_refused, 1, "  ... counted as refused");
	al = tcp_recv(&t, &c[0], a, sizeof(a), 1000);
	ok(al > 0 && get16(a) == 0x9905, "  ... and the busy ones get their answers");
	al = tcp_recv(&t, &c[1], a, sizeof(a), 1000);
	ok(al > 0 && get16(a) == 0x9905, "  ... both of them");
	tcp_connect_from(&t, &c[2], "127.0.0.2");
	ql = make_query(q, 0x9901, "now.example", 1, 0, false, 0);
	tcp_send(&c[2], q, ql);
	al = tcp_recv(&t, &c[2], a, sizeof(a), 1000);
	ok(al > 0 && get16(a) == 0x9901, "another client is served");
	dns_server_get_stats(t.srv, &st0);

	/* the message deadline: one byte every 100 ms (well inside the 5 s
	 * idle timeout) never makes a message; closed after about 300 ms.
	 * The bound is 3 s, short of the idle timeout that would close it
	 * without the deadline: a loaded machine's stalls fit in it. */
	{
		uint64_t start = now_ms(), took;
		uint8_t drip[2] = { 0, 40 };
		ssize_t r = -1;
		send(c[1].fd, drip, 1, MSG_NOSIGNAL);
		for (int i = 1; i < 40 && r != -2 && now_ms() - start < 4000; i++) {
			r = tcp_recv(&t, &c[1], a, sizeof(a), 100);
			if (r != -2)
				send(c[1].fd, i == 1 ? drip + 1 : (const uint8_t *)"x", 1, MSG_NOSIGNAL);
		}
		took = now_ms() - start;
		is_int(r, -2, "a dripping client is closed");
		ok(took >= 250 && took < 3000, "  ... by the 300 ms message deadline (%llu ms)",
		    (unsigned long long)took);
		tcp_close(&c[1]);
	}
	/* a message sent in pieces within the deadline is fine */
	{
		tcp_connect_from(&t, &c[1], "127.0.0.3");
		uint8_t framed[600];
		ql = make_query(framed + 2, 0x9902, "now.example", 1, 0, false, 0);
		set16(framed, (uint16_t)ql);
		send(c[1].fd, framed, 5, MSG_NOSIGNAL);
		pump_for(&t, 100);
		send(c[1].fd, framed + 5, ql - 3, MSG_NOSIGNAL);
		al = tcp_recv(&t, &c[1], a, sizeof(a), 1000);
		ok(al > 0 && get16(a) == 0x9902, "a message in two pieces 100 ms apart is answered");
		/* the deadline is per message: the next one gets its own */
		pump_for(&t, 250);
		send(c[1].fd, framed, 5, MSG_NOSIGNAL);
		pump_for(&t, 150);
		send(c[1].fd, framed + 5, ql - 3, MSG_NOSIGNAL);
		al = tcp_recv(&t, &c[1], a, sizeof(a), 1000);
		ok(al > 0 && get16(a) == 0x9902, "  ... and so is the next one, its clock fresh");
	}
	dns_server_get_stats(t.srv, &st1);
	is_int(st1.tcp_slow - st0.tcp_slow, 1, "one slow connection counted");
	(void)st1;

	/* four connections, each waiting for a held answer: a fifth client
	 * is refused, and nobody waiting for an answer is cut off */
	tcp_connect_from(&t, &c[3], "127.0.0.4");
	pump_for(&t, 20);
	ql = make_query(q, 0x9903, "hold600.example", 1, 0, false, 0);
	tcp_send(&c[0], q, ql);
	tcp_send(&c[1], q, ql);
	tcp_send(&c[2], q, ql);
	tcp_send(&c[3], q, ql);
	pump_for(&t, 50);
	is_int(t.held_now, 4, "four held queries");
	dns_server_get_stats(t.srv, &st0);
	tcp_connect_from(&t, &c[4], "127.0.0.5");
	is_int(tcp_recv(&t, &c[4], a, sizeof(a), 300), -2, "table full of busy connections: refused");
	tcp_close(&c[4]);
	dns_server_get_stats(t.srv, &st1);
	ok(st1.tcp_refused - st0.tcp_refused == 1 && st1.tcp_evicted == st0.tcp_evicted,
	    "  ... counted as refused, nobody evicted");
	unsigned answered = 0;
	for (int i = 0; i < 4; i++) {
		al = tcp_recv(&t, &c[i], a, sizeof(a), 1500);
		if (al > 0 && get16(a) == 0x9903)
			answered++;
	}
	is_int(answered, 4, "the four held answers arrive");
	/* now they are idle: a newcomer evicts the least recently active */
	tcp_connect_from(&t, &c[4], "127.0.0.5");
	ql = make_query(q, 0x9904, "now.example", 1, 0, false, 0);
	tcp_send(&c[4], q, ql);
	al = tcp_recv(&t, &c[4], a, sizeof(a), 1000);
	ok(al > 0 && get16(a) == 0x9904, "once idle, one makes room for a newcomer");
	for (int i = 0; i < 5; i++)
		tcp_close(&c[i]);
	pump_for(&t, 20);
	dns_server_free(t.srv);
}

static void
test_stats(struct test *t)
{
	struct dns_server_stats st;

	dns_server_get_stats(t->srv, &st);
	ok(st.udp_queries >= 20, "udp_queries counted (%llu)", (unsigned long long)st.udp_queries);
	ok(st.tcp_queries >= 10, "tcp_queries counted (%llu)", (unsigned long long)st.tcp_queries);
	ok(st.formerr >= 5, "formerr counted (%llu)", (unsigned long long)st.formerr);
	ok(st.truncated >= 5, "truncated counted (%llu)", (unsigned long long)st.truncated);
	ok(st.dropped >= 3, "dropped counted (%llu)", (unsigned long long)st.dropped);
	ok(st.tcp_connections >= 8, "tcp_connections counted (%llu)",
	    (unsigned long long)st.tcp_connections);
}

/* Held UDP queries "stay valid" after dns_server_close_listeners(): their
 * answers must not leave through whatever socket took the closed
 * listener's descriptor number. */
static void
test_close_with_held(struct test *t)
{
	uint8_t q[512], a[512];
	size_t ql;
	struct sockaddr_in from, any;
	socklen_t fl = sizeof(from);
	int cl = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	int decoy;

	memset(&any, 0, sizeof(any));
	any.sin_family = AF_INET;
	any.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ql = make_query(q, 0x7701, "hold100.example", 1, 0, false, 0);
	sendto(cl, q, ql, 0, (struct sockaddr *)&t->addr, sizeof(t->addr));
	pump_for(t, 30);
	ok(t->held_now == 1, "a UDP query held");
	dns_server_close_listeners(t->srv);
	/* a new socket of someone else's: it may get the listener's number */
	decoy = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	bind(decoy, (struct sockaddr *)&any, sizeof(any));
	pump_for(t, 200);
	is_int(t->held_now, 0, "held UDP query finished after close_listeners");
	ssize_t n = recvfrom(cl, a, sizeof(a), 0, (struct sockaddr *)&from, &fl);
	ok(n < 0 || from.sin_port == t->addr.sin_port,
	    "a held answer after close_listeners comes from the server's port or not at all");
	close(decoy);

	int fd = udp_client(t);
	ql = make_query(q, 0x7702, "now.example", 1, 0, false, 0);
	ok(udp_ask(t, fd, q, ql, a, sizeof(a), 100) < 0, "no answer after close_listeners");
	close(fd);
	close(cl);
}

/* Listen on an ephemeral port: find a free one with a probe socket, then
 * listen there; another process may take it in between, so retry. */
static int
listen_ephemeral(struct test *t)
{
	for (int attempt = 0; attempt < 20; attempt++) {
		struct sockaddr_in a;
		socklen_t al = sizeof(a);
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		memset(&a, 0, sizeof(a));
		a.sin_family = AF_INET;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
		    getsockname(fd, (struct sockaddr *)&a, &al) < 0) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		close(fd);
		if (dns_server_listen(t->srv, (struct sockaddr *)&a, sizeof(a)) == 0) {
			t->addr = a;
			return 0;
		}
	}
	return -1;
}

/* A second server allowing two queries in flight per TCP connection: the
 * rest wait in the socket and are read as held answers go out. */
static void
test_pipeline_limit(struct test *main_t)
{
	struct tcp_client c;
	struct test t;
	struct dns_server_config cfg = {
		.edns_buffer_size = SERVER_EDNS,
		.tcp_idle_timeout_s = 5,
		.tcp_max_connections = 2,
		.tcp_max_pipelined = 2,
	};
	uint8_t all[4096], a[4096];
	size_t n = 0;
	unsigned got = 0, max_held = 0;

	memset(&t, 0, sizeof(t));
	t.base = main_t->base;
	t.srv = dns_server_new(t.base, &cfg, handler, &t);
	if (!t.srv || listen_ephemeral(&t) < 0) {
		ok(0, "second server listens");
		dns_server_free(t.srv);
		return;
	}
	tcp_connect(&t, &c);
	for (int i = 0; i < 6; i++) {
		size_t ql = make_query(all + n + 2, (uint16_t)(0x8800 + i),
		    i == 5 ? "now.example" : "hold40.example", 1, 0, false, 0);
		set16(all + n, (uint16_t)ql);
		n += ql + 2;
	}
	send(c.fd, all, n, MSG_NOSIGNAL);
	uint64_t end = now_ms() + 2000;
	while (got < 6 && now_ms() < end) {
		ssize_t al = tcp_recv(&t, &c, a, sizeof(a), 50);
		if (t.held_now > max_held)
			max_held = t.held_now;
		if (al > 0 && (get16(a) & 0xfff0) == 0x8800)
			got++;
		else if (al == -2)
			break;
	}
	is_int(got, 6, "pipeline limit 2: all six queries answered");
	ok(max_held <= 2, "never more than two held at once (%u)", max_held);
	tcp_close(&c);
	pump_for(&t, 20);
	dns_server_free(t.srv);
}

int
main(void)
{
	struct test t;
	struct dns_server_config cfg = {
		.edns_buffer_size = SERVER_EDNS,
		.tcp_idle_timeout_s = 1,
		.tcp_max_connections = MAX_CONNS,
		.tcp_max_pipelined = 0,
	};

	/* the daemon ignores SIGPIPE too: a client may go before its answer */
	signal(SIGPIPE, SIG_IGN);
	memset(&t, 0, sizeof(t));
	t.base = event_base_new();
	if (!t.base)
		return 99;
	t.srv = dns_server_new(t.base, &cfg, handler, &t);
	ok(t.srv != NULL, "dns_server_new");
	if (!t.srv || listen_ephemeral(&t) < 0) {
		ok(0, "listen on 127.0.0.1");
		return tap_done();
	}
	ok(1, "listening on 127.0.0.1:%u", ntohs(t.addr.sin_port));

	test_udp(&t);
	test_udp_truncation(&t);
	test_ede(&t);
	test_udp_malformed(&t);
	test_tcp(&t);
	test_tcp_disconnect(&t);
	test_tcp_limits(&t);
	test_tcp_fairness(&t);
	test_stats(&t);
	test_pipeline_limit(&t);

	/* nothing may be left held before the server goes */
	pump_for(&t, 20);
	is_int(t.held_now, 0, "no held query left");
	while (t.pending) {
		struct pending *p = t.pending;
		t.pending = p->next;
		dns_query_drop(p->q);
		event_free(p->ev);
		free(p);
	}
	test_close_with_held(&t);
	dns_server_free(t.srv);
	event_base_free(t.base);
	return tap_done();
}
