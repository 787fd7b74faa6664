/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_connlimit.c -- unit tests for src/util/connlimit.h with fake
 * connections (no sockets but the listening one): the activity order,
 * one client (IPv4, IPv6 /64, IPv4-mapped), the per-client and total
 * caps closing the least recently active idle connection, a partly
 * idle one only when no idle one is left, busy ones never, the
 * listening socket, and the pause of a listener after an accept() error.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "tap.h"
#include "util/connlimit.h"

#define N 8

struct fake {
	struct connlimit_link link;
	enum connlimit_idle idle;
	int id;
	int closed;
};

static struct fake fakes[N];
static struct connlimit *table;

static enum connlimit_idle
fake_idle(struct connlimit_link *l)
{
	return CONNLIMIT_OWNER(l, struct fake, link)->idle;
}

static void
fake_evict(struct connlimit_link *l)
{
	struct fake *f = CONNLIMIT_OWNER(l, struct fake, link);

	f->closed = 1;
	connlimit_remove(table, l);
}

static struct sockaddr_storage
addr(const char *s)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(s, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		inet_pton(AF_INET6, s, &a->sin6_addr);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		inet_pton(AF_INET, s, &a->sin_addr);
	}
	return ss;
}

/* Admit then add fake i from address s; @return connlimit_admit's answer */
static int
open_fake(int i, const char *s, unsigned total, unsigned per_client)
{
	struct sockaddr_storage ss = addr(s);
	socklen_t len = ss.ss_family == AF_INET ? sizeof(struct sockaddr_in)
						: sizeof(struct sockaddr_in6);

	if (connlimit_admit(table, (struct sockaddr *)&ss, len, total, per_client) < 0)
		return -1;
	memset(&fakes[i], 0, sizeof(fakes[i]));
	fakes[i].id = i;
	fakes[i].idle = CONNLIMIT_IDLE;
	connlimit_add(table, &fakes[i].link, (struct sockaddr *)&ss, len);
	return 0;
}

static int
order_is(const int *ids, int n)
{
	struct connlimit_link *l = table->head;

	for (int i = 0; i < n; i++, l = l->next)
		if (!l || CONNLIMIT_OWNER(l, struct fake, link)->id != ids[i])
			return 0;
	return l == NULL;
}

static void
count_accept(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa, int salen,
    void *arg)
{
	int *accepted = arg;
	(void)sa;
	(void)salen;
	close(fd);
	(*accepted)++;
	event_base_loopbreak(evconnlistener_get_base(lev));
}

/* connlimit_accept_pause(): the listener stops accepting until the
 * timer made with connlimit_resume_cb fires; lines are rate-limited. */
static void
test_accept_pause(void)
{
	struct event_base *base = event_base_new();
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	struct connlimit_accept_log lg = { 0, 0 };
	struct timeval bound = { 10, 0 };
	struct evconnlistener *lev;
	struct event *resume;
	int fd, cfd, accepted = 0;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = connlimit_listen_socket((struct sockaddr *)&sin, sizeof(sin));
	getsockname(fd, (struct sockaddr *)&sin, &sl);
	lev = evconnlistener_new(base, count_accept, &accepted, LEV_OPT_CLOSE_ON_FREE, -1, fd);
	resume = evtimer_new(base, connlimit_resume_cb, lev);
	ok(base && fd >= 0 && lev && resume, "pause: a listener and its resume timer");
	if (!base || fd < 0 || !lev || !resume)
		return;

	connlimit_accept_pause(lev, resume, &lg, EMFILE, "test", "TCP");
	ok(lg.last_ms != 0 && lg.unlogged == 0, "pause: the first error is logged");
	connlimit_accept_pause(lev, resume, &lg, EMFILE, "test", "TCP");
	is_int(lg.unlogged, 1, "pause: a second one at once is counted, not logged");
	ok(evtimer_pending(resume, NULL), "pause: the resume timer is armed");

	cfd = socket(AF_INET, SOCK_STREAM, 0);
	ok(connect(cfd, (struct sockaddr *)&sin, sizeof(sin)) == 0, "pause: a client connects");
	event_base_loop(base, EVLOOP_NONBLOCK);
	is_int(accepted, 0, "pause: paused, its connection is not accepted");
	event_base_loopexit(base, &bound);
	event_base_dispatch(base);
	is_int(accepted, 1, "pause: after the pause it is accepted");

	close(cfd);
	event_free(resume);
	evconnlistener_free(lev);
	event_base_free(base);
}

int
main(void)
{
	struct connlimit t;
	struct sockaddr_storage a, b;

	table = &t;
	connlimit_init(&t, fake_idle, fake_evict);

	/* one client */
	a = addr("192.0.2.1"), b = addr("192.0.2.1");
	ok(connlimit_same_client(&a, &b), "one IPv4 address is one client");
	b = addr("192.0.2.2");
	ok(!connlimit_same_client(&a, &b), "two IPv4 addresses are two clients");
	b = addr("::ffff:192.0.2.1");
	ok(connlimit_same_client(&a, &b), "an IPv4-mapped address is its IPv4 client");
	a = addr("2001:db8:1:2::1"), b = addr("2001:db8:1:2:ffff::9");
	ok(connlimit_same_client(&a, &b), "one IPv6 /64 is one client");
	b = addr("2001:db8:1:3::1");
	ok(!connlimit_same_client(&a, &b), "two IPv6 /64s are two clients");
	b = addr("::ffff:0.0.0.1");
	a = addr("::ffff:0.0.0.2");
	ok(!connlimit_same_client(&a, &b), "two IPv4-mapped addresses are two clients");

	/* activity order */
	ok(open_fake(0, "192.0.2.1", 4, 0) == 0 && open_fake(1, "192.0.2.2", 4, 0) == 0 &&
	    open_fake(2, "192.0.2.3", 4, 0) == 0, "three admitted under a cap of 4");
	is_int(t.n, 3, "the table counts three");
	ok(order_is((int[]){ 2, 1, 0 }, 3), "newest first");
	connlimit_touch(&t, &fakes[0].link);
	ok(order_is((int[]){ 0, 2, 1 }, 3), "a touched connection moves to the front");
	connlimit_touch(&t, &fakes[0].link);
	ok(order_is((int[]){ 0, 2, 1 }, 3), "touching the front changes nothing");

	/* total cap: the least recently active idle one goes */
	fakes[1].idle = CONNLIMIT_BUSY;
	ok(open_fake(3, "192.0.2.4", 4, 0) == 0, "the fourth fits");
	ok(open_fake(4, "192.0.2.5", 4, 0) == 0, "a fifth over the cap is admitted");
	ok(!fakes[1].closed && fakes[2].closed, "by closing the oldest idle one, not a busy one");
	is_int(t.n, 4, "the table still counts four");

	/* a partly idle connection only when no idle one is left */
	fakes[0].idle = CONNLIMIT_PARTIAL;
	fakes[3].idle = CONNLIMIT_PARTIAL;
	fakes[4].idle = CONNLIMIT_IDLE;
	ok(open_fake(5, "192.0.2.6", 4, 0) == 0 && fakes[4].closed && !fakes[3].closed,
	    "an idle connection goes before an older partly idle one");
	fakes[5].idle = CONNLIMIT_BUSY;
	ok(open_fake(6, "192.0.2.7", 4, 0) == 0 && fakes[0].closed && !fakes[3].closed,
	    "else the oldest partly idle one");
	fakes[3].idle = CONNLIMIT_BUSY;
	fakes[6].idle = CONNLIMIT_BUSY;
	ok(open_fake(7, "192.0.2.8", 4, 0) < 0, "all busy: the newcomer is refused");
	is_int(t.n, 4, "and nothing was closed");

	/* per-client cap: a client over its share crowds out only itself */
	while (t.head)
		connlimit_remove(&t, t.head);
	is_int(t.n, 0, "emptied");
	ok(open_fake(0, "198.51.100.1", 8, 2) == 0 && open_fake(1, "192.0.2.1", 8, 2) == 0 &&
	    open_fake(2, "192.0.2.1", 8, 2) == 0, "two from one client under a share of 2");
	ok(open_fake(3, "::ffff:192.0.2.1", 8, 2) == 0 && fakes[1].closed && !fakes[0].closed,
	    "its third closes its own oldest idle one, not another client's");
	fakes[2].idle = fakes[3].idle = CONNLIMIT_BUSY;
	ok(open_fake(4, "192.0.2.1", 8, 2) < 0 && !fakes[0].closed,
	    "its share all busy: refused, though the table has room");
	ok(open_fake(4, "192.0.2.9", 8, 2) == 0, "another client is still admitted");
	ok(open_fake(5, "192.0.2.1", 8, 0) == 0, "no per-client cap with 0");

	/* the listening socket */
	{
		struct sockaddr_in sin;
		socklen_t sl = sizeof(sin);
		int fd, fd2, e;

		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		fd = connlimit_listen_socket((struct sockaddr *)&sin, sizeof(sin));
		ok(fd >= 0, "a listening socket on 127.0.0.1");
		getsockname(fd, (struct sockaddr *)&sin, &sl);
		fd2 = connlimit_listen_socket((struct sockaddr *)&sin, sizeof(sin));
		e = errno;
		ok(fd2 < 0 && e == EADDRINUSE, "a second one on its port fails with EADDRINUSE");
		close(fd);
	}
	test_accept_pause();
	return tap_done();
}
