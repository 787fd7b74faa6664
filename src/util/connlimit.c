/* SPDX-License-Identifier: BSD-3-Clause */
/* connlimit.c -- a TCP server's connection table (see connlimit.h). */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "util/connlimit.h"
#include "util/log.h"
#include "util/netaddr.h"
#include "util/time.h"

void
connlimit_init(struct connlimit *t, enum connlimit_idle (*idle)(struct connlimit_link *),
    void (*evict)(struct connlimit_link *))
{
	memset(t, 0, sizeof(*t));
	t->idle = idle;
	t->evict = evict;
}

bool
connlimit_same_client(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	uint8_t x[16], y[16];
	size_t n = netaddr_ip_bytes((const struct sockaddr *)a, x);
	size_t m = netaddr_ip_bytes((const struct sockaddr *)b, y);

	if (n == 0 || n != m)
		return false;
	return memcmp(x, y, n == 16 ? 8 : 4) == 0;
}

bool
connlimit_make_room(struct connlimit *t, const struct sockaddr_storage *client)
{
	struct connlimit_link *victim = NULL;

	for (struct connlimit_link *l = t->tail; l; l = l->prev) {
		enum connlimit_idle idle;

		if (client && !connlimit_same_client(&l->peer, client))
			continue;
		idle = t->idle(l);
		if (idle == CONNLIMIT_BUSY)
			continue;
		if (idle == CONNLIMIT_IDLE) {
			victim = l;
			break;
		}
		if (!victim)
			victim = l;
	}
	if (!victim)
		return false;
	t->evict(victim);
	return true;
}

int
connlimit_admit(struct connlimit *t, const struct sockaddr *peer, socklen_t salen,
    unsigned max_total, unsigned max_per_client)
{
	struct sockaddr_storage p;

	if ((size_t)salen > sizeof(p))
		return -1;
	memset(&p, 0, sizeof(p));
	memcpy(&p, peer, (size_t)salen);
	if (max_per_client) {
		unsigned n = 0;
		for (struct connlimit_link *l = t->head; l; l = l->next)
			if (connlimit_same_client(&l->peer, &p))
				n++;
		if (n >= max_per_client && !connlimit_make_room(t, &p))
			return -1;
	}
	if (t->n >= max_total && !connlimit_make_room(t, NULL))
		return -1;
	return 0;
}

static void
push_front(struct connlimit *t, struct connlimit_link *l)
{
	l->prev = NULL;
	l->next = t->head;
	if (t->head)
		t->head->prev = l;
	else
		t->tail = l;
	t->head = l;
}

static void
unlink_(struct connlimit *t, struct connlimit_link *l)
{
	if (l->prev)
		l->prev->next = l->next;
	else
		t->head = l->next;
	if (l->next)
		l->next->prev = l->prev;
	else
		t->tail = l->prev;
	l->prev = l->next = NULL;
}

void
connlimit_add(struct connlimit *t, struct connlimit_link *l, const struct sockaddr *peer,
    socklen_t salen)
{
	memset(&l->peer, 0, sizeof(l->peer));
	memcpy(&l->peer, peer, (size_t)salen);
	l->peer_len = salen;
	push_front(t, l);
	t->n++;
}

void
connlimit_remove(struct connlimit *t, struct connlimit_link *l)
{
	unlink_(t, l);
	t->n--;
}

void
connlimit_touch(struct connlimit *t, struct connlimit_link *l)
{
	if (t->head != l) {
		unlink_(t, l);
		push_front(t, l);
	}
}

int
connlimit_listen_socket(const struct sockaddr *addr, socklen_t len)
{
	int one = 1;
	int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (addr->sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, addr, len) < 0 || listen(fd, 128) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

void
connlimit_accept_pause(struct evconnlistener *lev, struct event *resume,
    struct connlimit_accept_log *lg, int err, const char *module, const char *proto)
{
	uint64_t now = time_mono_ms();
	struct timeval pause = { 0, CONNLIMIT_ACCEPT_PAUSE_MS * 1000 };

	lg->unlogged++;
	if (lg->last_ms == 0 || now - lg->last_ms >= CONNLIMIT_ACCEPT_LOG_MS) {
		log_msg(LOG_LVL_WARN, module,
		    "accept: %s (%llu times since the last such line); pausing %s accepts %d ms "
		    "at a time", strerror(err), (unsigned long long)lg->unlogged, proto,
		    CONNLIMIT_ACCEPT_PAUSE_MS);
		lg->last_ms = now ? now : 1;
		lg->unlogged = 0;
	}
	evconnlistener_disable(lev);
	evtimer_add(resume, &pause);
}

void
connlimit_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	evconnlistener_enable(arg);
}
