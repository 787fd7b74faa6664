/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_dns_reentry.c -- the callback discipline of src/dns/server.h: the
 * query handler is never entered while another handler call, or one of
 * the handler's dns_query_reply() calls, is on the stack. In particular
 * answering a held TCP query must not read and dispatch the connection's
 * next pipelined query from inside that dns_query_reply (issue 12 item 4):
 * a caller answering a list of waiters would find the list changed under
 * it, and a long pipeline would nest one handler call per query.
 *
 * TCP connections are socketpairs handed to dns_server_tcp_adopt(), one
 * query in flight per connection (tcp_max_pipelined 1) so that every held
 * query pauses the reads. The handler picks its behaviour from the first
 * label of the name:
 *   now    answer at once (dns_query_reply)
 *   hold   hold; answered from the event loop (a zero-timeout event)
 *   drop   hold; dropped from the event loop (no answer, nothing written)
 *   wait   hold; answered by the next "flush" query's handler
 *   flush  answer every "wait" query, then this one, all at once
 * Every answer goes through reply(), which counts the calls on the stack.
 * The same for dns_server_submit (DoH's entry): its callback never runs
 * inside the call.
 * Bounded by iteration counts, not by the clock.
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
#include <unistd.h>

#include <event2/event.h>

#include "dns/msg.h"
#include "dns/server.h"
#include "tap.h"

#define MAX_HELD 4096
#define PUMP_IDLE_ROUNDS 2000 /* rounds with no progress before giving up */

struct test {
	struct event_base *base;
	struct dns_server *srv;
	struct event *later;              /* answers the "hold" queries */
	struct dns_query *hold[MAX_HELD]; /* held, for the loop */
	bool drop[MAX_HELD];              /* ... to be dropped, not answered */
	size_t nhold;
	struct dns_query *wait[MAX_HELD]; /* held, for a "flush" */
	size_t nwait;
	int depth;                        /* handler calls on the stack */
	int max_depth;
	int in_reply;                     /* reply() calls on the stack */
	unsigned reentered;               /* handler entered inside either */
	unsigned calls;
};

/* A client end: bytes received, parsed into answers as they complete. */
struct client {
	int fd;
	uint8_t buf[1 << 16];
	size_t len;
	unsigned answers;
	unsigned in_order;                /* answers whose ID was the next one */
	uint16_t next_id;
	bool closed;
};

static void
reply(struct test *t, struct dns_query *q)
{
	uint8_t m[512];
	size_t len = dns_msg_error(&q->info, 0, m, sizeof(m), 0);

	t->in_reply++;
	dns_query_reply(q, m, len);
	t->in_reply--;
}

static void
later_cb(evutil_socket_t fd, short what, void *arg)
{
	struct test *t = arg;
	(void)fd;
	(void)what;

	/* take the list first: answering may (wrongly) add to it */
	size_t n = t->nhold;
	struct dns_query *q[MAX_HELD];
	bool drop[MAX_HELD];
	memcpy(q, t->hold, n * sizeof(q[0]));
	memcpy(drop, t->drop, n * sizeof(drop[0]));
	t->nhold = 0;
	for (size_t i = 0; i < n; i++) {
		if (!drop[i]) {
			reply(t, q[i]);
			continue;
		}
		t->in_reply++;
		dns_query_drop(q[i]);
		t->in_reply--;
	}
}

static bool
first_label(const struct dns_query *q, const char *w)
{
	size_t n = strlen(w);
	return q->info.qname_len > n + 1 && q->info.qname[0] == n &&
	    memcmp(q->info.qname + 1, w, n) == 0;
}

static void
handler(void *ctx, struct dns_query *q)
{
	struct test *t = ctx;

	t->calls++;
	if (t->depth > 0 || t->in_reply > 0)
		t->reentered++;
	if (++t->depth > t->max_depth)
		t->max_depth = t->depth;
	if (first_label(q, "hold") || first_label(q, "wait") || first_label(q, "drop")) {
		bool wait = first_label(q, "wait");
		struct dns_query *h = NULL;
		if (t->nhold >= MAX_HELD || t->nwait >= MAX_HELD)
			reply(t, q); /* no room to keep it */
		else
			h = dns_query_hold(q); /* NULL: answered SERVFAIL */
		if (!h) {
			/* finished */
		} else if (wait) {
			t->wait[t->nwait++] = h;
		} else {
			t->drop[t->nhold] = first_label(q, "drop");
			t->hold[t->nhold++] = h;
			event_active(t->later, EV_TIMEOUT, 1);
		}
	} else if (first_label(q, "flush")) {
		size_t n = t->nwait;
		struct dns_query *w[MAX_HELD];
		memcpy(w, t->wait, n * sizeof(w[0]));
		t->nwait = 0;
		for (size_t i = 0; i < n; i++)
			reply(t, w[i]);
		reply(t, q);
	} else {
		reply(t, q);
	}
	t->depth--;
}

static size_t
make_query(uint8_t *b, uint16_t id, const char *label)
{
	size_t n = strlen(label), off = 12;

	memset(b, 0, 12);
	b[0] = (uint8_t)(id >> 8);
	b[1] = (uint8_t)id;
	b[2] = 0x01; /* RD */
	b[5] = 1;    /* QDCOUNT */
	b[off++] = (uint8_t)n;
	memcpy(b + off, label, n);
	off += n;
	memcpy(b + off, "\7example\0", 9);
	off += 9;
	b[off++] = 0;
	b[off++] = 1; /* A */
	b[off++] = 0;
	b[off++] = 1; /* IN */
	return off;
}

/* n queries with IDs first, first + 1, ... and the names label(i)
 * gives, each with its two-byte length prefix (RFC 1035 section 4.2.2) */
static size_t
frame_queries(uint8_t *out, size_t cap, uint16_t first, unsigned n,
    const char *(*label)(unsigned i))
{
	size_t len = 0;

	for (unsigned i = 0; i < n && len + 2 + 64 <= cap; i++) {
		size_t ql = make_query(out + len + 2, (uint16_t)(first + i), label(i));
		out[len] = (uint8_t)(ql >> 8);
		out[len + 1] = (uint8_t)ql;
		len += ql + 2;
	}
	return len;
}

static void client_parse(struct client *c);

/* Read what the server sent; false when nothing came. */
static bool
client_read(struct client *c)
{
	bool progress = false;
	ssize_t r;

	while ((r = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len)) > 0) {
		c->len += (size_t)r;
		progress = true;
		client_parse(c);
	}
	if (r == 0)
		c->closed = true;
	return progress;
}

/* Count the whole answers in c->buf and drop them from it. */
static void
client_parse(struct client *c)
{
	for (;;) {
		if (c->len < 2)
			break;
		size_t m = ((size_t)c->buf[0] << 8) | c->buf[1];
		if (c->len < m + 2)
			break;
		if (m >= 12) {
			uint16_t id = (uint16_t)((c->buf[2] << 8) | c->buf[3]);
			c->answers++;
			if (id == c->next_id)
				c->in_order++;
			c->next_id = (uint16_t)(id + 1);
		}
		memmove(c->buf, c->buf + m + 2, c->len - m - 2);
		c->len -= m + 2;
	}
}

/* Write all of buf to c, running the loop while the socket is full. */
static void
client_write(struct test *t, struct client *c, const uint8_t *buf, size_t len)
{
	size_t off = 0;
	unsigned idle = 0;

	while (off < len && idle < PUMP_IDLE_ROUNDS) {
		ssize_t w = write(c->fd, buf + off, len - off);
		if (w > 0) {
			off += (size_t)w;
			idle = 0;
			continue;
		}
		event_base_loop(t->base, EVLOOP_NONBLOCK);
		client_read(c);
		idle++;
	}
}

/* Run the loop until cond(t, arg) holds or nothing moves for a while. */
static void
pump(struct test *t, struct client *c1, struct client *c2,
    bool (*cond)(struct test *, void *), void *arg)
{
	unsigned idle = 0;

	while (!cond(t, arg) && idle < PUMP_IDLE_ROUNDS) {
		unsigned before = t->calls;
		event_base_loop(t->base, EVLOOP_NONBLOCK);
		bool moved = t->calls != before;
		if (c1 && client_read(c1))
			moved = true;
		if (c2 && client_read(c2))
			moved = true;
		if (moved) {
			idle = 0;
		} else {
			struct pollfd p[2];
			int n = 0;
			if (c1)
				p[n++] = (struct pollfd){ .fd = c1->fd, .events = POLLIN };
			if (c2)
				p[n++] = (struct pollfd){ .fd = c2->fd, .events = POLLIN };
			poll(p, (nfds_t)n, 1);
			idle++;
		}
	}
}

/* a client and the number of answers to wait for */
struct want {
	struct client c;
	unsigned n;
};

static bool
answers_at_least(struct test *t, void *arg)
{
	struct want *w = arg;
	(void)t;
	return w->c.answers >= w->n;
}

static bool
waiting_one(struct test *t, void *arg)
{
	(void)arg;
	return t->nwait >= 1;
}

static int
adopt(struct test *t, struct client *c)
{
	int sv[2];
	struct sockaddr_in peer;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return -1;
	fcntl(sv[1], F_SETFL, fcntl(sv[1], F_GETFL) | O_NONBLOCK);
	memset(&peer, 0, sizeof(peer));
	peer.sin_family = AF_INET;
	peer.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (dns_server_tcp_adopt(t->srv, sv[0], (struct sockaddr *)&peer, sizeof(peer)) < 0) {
		close(sv[1]);
		return -1;
	}
	c->fd = sv[1];
	return 0;
}

static int
setup(struct test *t)
{
	struct dns_server_config cfg = {
		.edns_buffer_size = 1232,
		.tcp_idle_timeout_s = 30,
		.tcp_max_connections = 16,
		.tcp_max_pipelined = 1,
	};

	memset(t, 0, sizeof(*t));
	t->base = event_base_new();
	if (!t->base)
		return -1;
	t->later = event_new(t->base, -1, 0, later_cb, t);
	t->srv = dns_server_new(t->base, &cfg, handler, t);
	return t->later && t->srv ? 0 : -1;
}

static void
teardown(struct test *t)
{
	/* every held query must be finished before the server goes */
	for (size_t i = 0; i < t->nhold; i++)
		dns_query_drop(t->hold[i]);
	for (size_t i = 0; i < t->nwait; i++)
		dns_query_drop(t->wait[i]);
	t->nhold = t->nwait = 0;
	dns_server_free(t->srv);
	event_free(t->later);
	event_base_free(t->base);
}

static const char *
label_mixed(unsigned i)
{
	return i % 3 == 0 ? "now" : "hold";
}

static const char *
label_drop_hold(unsigned i)
{
	return i % 2 == 0 ? "drop" : "hold";
}

static const char *
label_now(unsigned i)
{
	(void)i;
	return "now";
}

static const char *
label_wait(unsigned i)
{
	(void)i;
	return "wait";
}

static const char *
label_flush(unsigned i)
{
	(void)i;
	return "flush";
}

/* Many pipelined queries in one write; a third answered in the handler,
 * the rest held and answered from the loop, where each answer lets the
 * connection read its next query. */
static void
test_pipeline_from_loop(unsigned n, const char *(*label)(unsigned), const char *what)
{
	struct test t;
	struct want w;
	static uint8_t q[1 << 17];

	if (setup(&t) < 0 || adopt(&t, &w.c) < 0) {
		ok(0, "%s: set up", what);
		return;
	}
	w.n = n;
	size_t len = frame_queries(q, sizeof(q), 0, n, label);
	client_write(&t, &w.c, q, len);
	pump(&t, &w.c, NULL, answers_at_least, &w);
	is_int(w.c.answers, n, "%s: every pipelined query answered", what);
	is_int(w.c.in_order, n, "%s: answers in query order (one in flight)", what);
	is_int(t.calls, n, "%s: the handler saw each query once", what);
	is_int(t.reentered, 0,
	    "%s: the handler never entered inside another handler call or dns_query_reply", what);
	is_int(t.max_depth, 1, "%s: handler nesting depth", what);
	close(w.c.fd);
	teardown(&t);
}

/* Held queries dropped from the loop write nothing, so no write
 * callback comes: the connection must still read its next query. */
static void
test_pipeline_with_drops(void)
{
	enum { N = 100 };
	struct test t;
	struct want w;
	static uint8_t q[1 << 14];

	if (setup(&t) < 0 || adopt(&t, &w.c) < 0) {
		ok(0, "drops: set up");
		return;
	}
	w.n = N / 2;
	size_t len = frame_queries(q, sizeof(q), 0, N, label_drop_hold);
	client_write(&t, &w.c, q, len);
	pump(&t, &w.c, NULL, answers_at_least, &w);
	is_int(t.calls, N, "drops: every pipelined query reached the handler");
	is_int(w.c.answers, N / 2, "drops: every query not dropped answered");
	is_int(t.reentered, 0, "drops: no handler call inside another or inside a drop");
	close(w.c.fd);
	teardown(&t);
}

/* The coalescing shape: connection A's handler answers connection B's
 * held query (a shared look-up finishing). B may read its next query
 * only from the loop, not inside A's handler. */
static void
test_answer_other_connection(void)
{
	enum { K = 50 };
	struct test t;
	struct want a, b;
	static uint8_t q[1 << 14];

	if (setup(&t) < 0 || adopt(&t, &a.c) < 0 || adopt(&t, &b.c) < 0) {
		ok(0, "coalescing: set up");
		return;
	}
	b.n = K;
	size_t len = frame_queries(q, sizeof(q), 0, K, label_wait);
	client_write(&t, &b.c, q, len);
	pump(&t, &a.c, &b.c, waiting_one, NULL);
	ok(t.nwait == 1, "coalescing: B's first query waits, the rest stay unread");
	for (unsigned i = 0; i < K; i++) {
		a.n = i + 1;
		len = frame_queries(q, sizeof(q), (uint16_t)i, 1, label_flush);
		client_write(&t, &a.c, q, len);
		pump(&t, &a.c, &b.c, answers_at_least, &a);
		if (i + 1 < K)
			pump(&t, &a.c, &b.c, waiting_one, NULL);
	}
	pump(&t, &a.c, &b.c, answers_at_least, &b);
	is_int(a.c.answers, K, "coalescing: A's flushes answered");
	is_int(b.c.answers, K, "coalescing: all of B's pipelined queries answered");
	is_int(b.c.in_order, K, "coalescing: B's answers in order");
	is_int(t.reentered, 0, "coalescing: no handler call inside another");
	is_int(t.max_depth, 1, "coalescing: handler nesting depth");
	close(a.c.fd);
	close(b.c.fd);
	teardown(&t);
}

/* A connection that goes away with a reply just sent and its next read
 * still to come: nothing may touch it afterwards (ASan builds check). */
static void
test_close_with_resume_pending(void)
{
	struct test t;
	struct want w;
	uint8_t q[1024];

	if (setup(&t) < 0 || adopt(&t, &w.c) < 0) {
		ok(0, "close: set up");
		return;
	}
	size_t len = frame_queries(q, sizeof(q), 0, 4, label_wait);
	client_write(&t, &w.c, q, len);
	pump(&t, &w.c, NULL, waiting_one, NULL);
	ok(t.nwait == 1, "close: one query held, three unread");
	/* the client hangs up, then the held query is answered */
	close(w.c.fd);
	for (int i = 0; i < 20; i++)
		event_base_loop(t.base, EVLOOP_NONBLOCK);
	t.nwait = 0;
	reply(&t, t.wait[0]);
	for (int i = 0; i < 20; i++)
		event_base_loop(t.base, EVLOOP_NONBLOCK);
	ok(t.reentered == 0, "close: no handler call inside dns_query_reply");
	/* whatever was read after the answer is held again: finish it */
	teardown(&t);

	/* the server freed with a connection's read still to resume */
	if (setup(&t) < 0 || adopt(&t, &w.c) < 0) {
		ok(0, "free: set up");
		return;
	}
	client_write(&t, &w.c, q, len);
	pump(&t, &w.c, NULL, waiting_one, NULL);
	t.nwait = 0;
	reply(&t, t.wait[0]);
	ok(t.reentered == 0 && t.calls == 1,
	    "free: the next query is not read inside dns_query_reply");
	dns_server_free(t.srv);
	t.srv = NULL;
	for (int i = 0; i < 5; i++)
		event_base_loop(t.base, EVLOOP_NONBLOCK);
	ok(t.calls == 1, "free: nothing runs for a freed connection");
	close(w.c.fd);
	event_free(t.later);
	event_base_free(t.base);
}

/* What a dns_server_submit callback saw. */
struct sub_rec {
	bool in_submit;     /* dns_server_submit is running */
	unsigned calls, during;
	size_t len;
	uint16_t id;
};

static void
sub_cb(void *ctx, const uint8_t *msg, size_t len)
{
	struct sub_rec *r = ctx;

	r->calls++;
	if (r->in_submit)
		r->during++;
	r->len = msg ? len : 0;
	if (msg && len >= 2)
		r->id = (uint16_t)((msg[0] << 8) | msg[1]);
}

static struct dns_submitted *
submit(struct test *t, const uint8_t *m, size_t len, struct sub_rec *r)
{
	struct sockaddr_in peer;
	struct dns_submitted *h;

	memset(&peer, 0, sizeof(peer));
	peer.sin_family = AF_INET;
	peer.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	memset(r, 0, sizeof(*r));
	r->in_submit = true;
	h = dns_server_submit(t->srv, m, len, (struct sockaddr *)&peer, sizeof(peer),
	    DNS_TRANSPORT_HTTPS, sub_cb, r);
	r->in_submit = false;
	return h;
}

static void
run_until_called(struct test *t, const struct sub_rec *r)
{
	for (int i = 0; i < 100 && r->calls == 0; i++)
		event_base_loop(t->base, EVLOOP_NONBLOCK);
}

/* DoH's entry (dns_server_submit): its callback runs from the loop,
 * also for an answer the handler gives at once. */
static void
test_submit(void)
{
	struct test t;
	struct sub_rec r;
	struct dns_submitted *h;
	static uint8_t m[70000];
	size_t len;

	if (setup(&t) < 0) {
		ok(0, "submit: set up");
		return;
	}
	len = make_query(m, 0x4201, "now");
	h = submit(&t, m, len, &r);
	ok(h != NULL, "submit, answered at once: a handle");
	is_int(r.calls, 0, "submit, answered at once: no callback inside dns_server_submit");
	run_until_called(&t, &r);
	ok(r.calls == 1 && r.during == 0 && r.len > 12 && r.id == 0x4201,
	    "submit, answered at once: the answer arrives from the loop");

	len = make_query(m, 0x4202, "hold");
	h = submit(&t, m, len, &r);
	ok(h != NULL && r.calls == 0, "submit, held: a handle, no callback yet");
	run_until_called(&t, &r);
	ok(r.calls == 1 && r.during == 0 && r.id == 0x4202, "submit, held: answered from the loop");

	len = make_query(m, 0x4203, "now");
	h = submit(&t, m, len, &r);
	dns_submit_cancel(h);
	for (int i = 0; i < 5; i++)
		event_base_loop(t.base, EVLOOP_NONBLOCK);
	is_int(r.calls, 0, "submit, cancelled before the loop ran: no callback");

	len = make_query(m, 0x4204, "now");
	m[2] |= 0x80; /* a response, not a query: dropped */
	h = submit(&t, m, len, &r);
	ok(h != NULL && r.calls == 0, "submit, dropped: a handle, no callback yet");
	run_until_called(&t, &r);
	ok(r.calls == 1 && r.len == 0, "submit, dropped: a NULL answer from the loop");

	h = submit(&t, m, sizeof(m), &r);
	ok(h == NULL && r.calls == 0, "submit, too long: NULL and no callback at all");
	teardown(&t);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN); /* as the daemon: a hung-up client is EPIPE */
	test_pipeline_from_loop(300, label_mixed, "mixed");
	test_pipeline_from_loop(2000, label_now, "sync");
	test_pipeline_with_drops();
	test_answer_other_connection();
	test_close_with_resume_pending();
	test_submit();
	return tap_done();
}
