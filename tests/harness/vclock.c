/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vclock.c -- the harness's virtual clock and its seam into the event
 * loop, by symbol interposition: this file defines clock_gettime,
 * gettimeofday and time, so the daemon's own code (src/util/time.h) and
 * libevent (its monotonic timer clock and cached time) all read virtual
 * time; and it defines epoll_wait, so the loop's one blocking point is
 * where the harness decides whether time moves. A definition in the
 * executable wins over libc's for every caller, shared libraries
 * included (-rdynamic makes sure the symbols are exported).
 *
 * Time moves only inside vclock_run(): when the loop would block (no
 * socket ready, no timer due) and the target time is not reached yet,
 * the clock jumps to the next timer libevent waits for, or to the
 * target. Datagrams sent on loopback but not yet read anywhere (counted
 * by the sendto/sendmsg/sendmmsg/recvmmsg/recvfrom wrappers below) keep
 * time still: loopback delivery is almost always synchronous, and the
 * count makes "almost" not matter.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include <event2/event.h>

#include "harness.h"

/* The one place with process-wide state: interposed libc functions have
 * no context argument. */
static struct {
	uint64_t mono_ns;        /* virtual CLOCK_MONOTONIC */
	uint64_t target_ns;      /* vclock_run() moves mono_ns up to this */
	struct event_base *base; /* the loop being run by vclock_run() */
	bool idle;               /* the loop reached target with nothing to do */
	long inflight;           /* loopback datagrams sent, not yet read */
	unsigned long lost;      /* datagrams given up on */
	unsigned long polls;     /* epoll_wait calls (for the self-check) */
	unsigned long waits;     /* real 1 ms waits for datagrams in flight */
} vc = { .mono_ns = VCLOCK_MONO_START_S * 1000000000ull };

uint64_t
vclock_now_ms(void)
{
	return vc.mono_ns / 1000000u;
}

unsigned long
vclock_lost(void)
{
	return vc.lost;
}

unsigned long
vclock_waits(void)
{
	return vc.waits;
}

unsigned long
vclock_polls(void)
{
	return vc.polls;
}

static void
ns_ts(uint64_t ns, struct timespec *ts)
{
	ts->tv_sec = (time_t)(ns / 1000000000u);
	ts->tv_nsec = (long)(ns % 1000000000u);
}

static uint64_t
wall_ns(void)
{
	return (VCLOCK_WALL_START_S - VCLOCK_MONO_START_S) * 1000000000ull + vc.mono_ns;
}

int
clock_gettime(clockid_t id, struct timespec *ts)
{
	static int (*real)(clockid_t, struct timespec *);

	switch (id) {
	case CLOCK_REALTIME:
	case CLOCK_REALTIME_COARSE:
	case CLOCK_TAI:
		ns_ts(wall_ns(), ts);
		return 0;
	case CLOCK_MONOTONIC:
	case CLOCK_MONOTONIC_COARSE:
	case CLOCK_MONOTONIC_RAW:
	case CLOCK_BOOTTIME:
		ns_ts(vc.mono_ns, ts);
		return 0;
	default: /* CPU-time clocks stay real */
		if (!real)
			*(void **)&real = dlsym(RTLD_NEXT, "clock_gettime");
		if (!real) {
			errno = EINVAL;
			return -1;
		}
		return real(id, ts);
	}
}

int
gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
	uint64_t ns = wall_ns();

	(void)tz;
	tv->tv_sec = (time_t)(ns / 1000000000u);
	tv->tv_usec = (suseconds_t)(ns % 1000000000u / 1000u);
	return 0;
}

time_t
time(time_t *t)
{
	time_t s = (time_t)(wall_ns() / 1000000000u);

	if (t)
		*t = s;
	return s;
}

/* ---- datagrams in flight ------------------------------------------------ */

static bool
is_dgram(int fd)
{
	int type = 0;
	socklen_t len = sizeof(type);

	return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_DGRAM;
}

/* libc's own function, looked up once */
#define REAL(name) \
	static __typeof__(&name) real_##name; \
	if (!real_##name) \
		*(void **)&real_##name = dlsym(RTLD_NEXT, #name)

ssize_t
sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to,
    socklen_t tolen)
{
	REAL(sendto);
	ssize_t r = real_sendto(fd, buf, len, flags, to, tolen);
	if (r >= 0 && is_dgram(fd))
		vc.inflight++;
	return r;
}

ssize_t
sendmsg(int fd, const struct msghdr *m, int flags)
{
	REAL(sendmsg);
	ssize_t r = real_sendmsg(fd, m, flags);
	if (r >= 0 && is_dgram(fd))
		vc.inflight++;
	return r;
}

int
sendmmsg(int fd, struct mmsghdr *v, unsigned int n, int flags)
{
	REAL(sendmmsg);
	int r = real_sendmmsg(fd, v, n, flags);
	if (r > 0 && is_dgram(fd))
		vc.inflight += r;
	return r;
}

int
recvmmsg(int fd, struct mmsghdr *v, unsigned int n, int flags, struct timespec *timeout)
{
	REAL(recvmmsg);
	int r = real_recvmmsg(fd, v, n, flags, timeout);
	if (r > 0 && is_dgram(fd))
		vc.inflight -= r;
	return r;
}

ssize_t
recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *from, socklen_t *fromlen)
{
	REAL(recvfrom);
	ssize_t r = real_recvfrom(fd, buf, len, flags, from, fromlen);
	if (r >= 0 && !(flags & MSG_PEEK) && is_dgram(fd))
		vc.inflight--;
	return r;
}

ssize_t
recvmsg(int fd, struct msghdr *m, int flags)
{
	REAL(recvmsg);
	ssize_t r = real_recvmsg(fd, m, flags);
	if (r >= 0 && !(flags & MSG_PEEK) && is_dgram(fd))
		vc.inflight--;
	return r;
}

/* ---- the loop's blocking point ------------------------------------------ */

/* Real waits for a datagram still on its way: 1 ms each, VCLOCK_LOST_MS
 * in all, then it counts as lost (sent to a port nobody has open). */
#define VCLOCK_LOST_MS 200

int
epoll_wait(int epfd, struct epoll_event *ev, int max, int timeout_ms)
{
	int n, waited = 0;

	vc.polls++;
	for (;;) {
		harness_drain();
		n = epoll_pwait(epfd, ev, max, 0, NULL);
		if (n != 0 || vc.inflight <= 0)
			break;
		if (waited++ >= VCLOCK_LOST_MS) {
			vc.lost += (unsigned long)vc.inflight;
			vc.inflight = 0;
			break;
		}
		vc.waits++;
		n = epoll_pwait(epfd, ev, max, 1, NULL);
		if (n != 0)
			break;
	}
	if (n != 0 || timeout_ms == 0 || !vc.base)
		return n;
	/* nothing to do before the next timer (or ever: -1) */
	if (vc.mono_ns >= vc.target_ns) {
		vc.idle = true;
		event_base_loopbreak(vc.base);
		return 0;
	}
	uint64_t step = timeout_ms < 0 ? UINT64_MAX : (uint64_t)timeout_ms * 1000000u;
	if (step > vc.target_ns - vc.mono_ns)
		step = vc.target_ns - vc.mono_ns;
	vc.mono_ns += step;
	return 0;
}

/* ---- running the loop ---------------------------------------------------- */

static int (*real_loop)(struct event_base *, int);

static int
loop_real(struct event_base *base, int flags)
{
	if (!real_loop)
		*(void **)&real_loop = dlsym(RTLD_NEXT, "event_base_loop");
	return real_loop ? real_loop(base, flags) : -1;
}

int
vclock_run(struct event_base *base, uint64_t ms)
{
	struct event_base *outer = vc.base;
	int rc;

	vc.base = base;
	vc.target_ns = vc.mono_ns + ms * 1000000u;
	vc.idle = false;
	/* returns at the break above (idle at target), or 1 when no event
	 * is left at all (then jump to the target: nothing can happen) */
	rc = loop_real(base, 0);
	if (rc == 1 && vc.mono_ns < vc.target_ns)
		vc.mono_ns = vc.target_ns;
	vc.base = outer;
	return rc < 0 ? -1 : 0;
}

/* pkdns_run() hands its loop over here: the scenario runs instead, and
 * drives the loop step by step through vclock_run(). */
int
event_base_loop(struct event_base *base, int flags)
{
	static bool running;
	int rc;

	if (running || flags != 0)
		return loop_real(base, flags);
	running = true;
	rc = harness_main_loop(base);
	running = false;
	return rc;
}

int
event_base_dispatch(struct event_base *base)
{
	return event_base_loop(base, 0);
}
