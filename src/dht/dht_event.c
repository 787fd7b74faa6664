/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dht_event.c -- one UDP socket and one timer per DHT node on libevent,
 * and the in-process testnet with its network emulation (round-trip
 * delays, loss, dead nodes; dht_event.h).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#define LOG_MODULE "dht"
#include "util/log.h"
#include "util/time.h"

#include "dht/dht_event.h"

/* Datagrams taken from the socket in one recvmmsg and handed to the node
 * as one batch (dht_input_batch), and batches per readiness before
 * yielding to other events. The buffers are touched only as far as a
 * batch fills them, so an idle testnet node keeps one page of them. */
#define RX_BATCH 16
#define RX_ROUNDS 4
#define RX_BUF 2048

/* A datagram a testnet node sends once its delay has passed. */
struct emu_pkt {
	uint64_t due_ms;
	uint8_t *buf;
	size_t len;
	struct sockaddr_storage to;
	socklen_t tolen;
};

/* Datagrams one testnet node holds back at a time; past that it drops
 * them, as a full socket buffer would. */
#define EMU_QUEUE_MAX 4096
/* Nodes' base delays: log-normal around the median with this spread
 * (x 100; 0.9 puts ~1 node in 10 below median / 3 and above 3 x median),
 * clamped to median / 20 .. 20 x median; per-packet jitter +-10 %. */
#define EMU_SIGMA_X100 90
#define EMU_SPREAD 20
#define EMU_JITTER_PCT 10

struct dht_node {
	struct event_base *base;
	struct dht *d;
	int fd;
	int family;
	bool dual_stack;
	uint16_t port;
	struct event *rev;
	struct event *timer;
	uint8_t (*rx)[RX_BUF];                /* RX_BATCH buffers */
	struct sockaddr_storage rx_from[RX_BATCH];
	struct mmsghdr rx_msg[RX_BATCH];
	struct iovec rx_iov[RX_BATCH];
	/* testnet emulation: NULL tn for every other node */
	struct dht_testnet *tn;
	unsigned delay_ms;        /* base delay of what this node sends */
	bool dead;                /* drops everything, both ways */
	struct event *emu_timer;  /* fires at the first queued datagram */
	struct emu_pkt *q;        /* min-heap on due_ms */
	size_t nq;
	uint64_t sent, received;  /* datagrams, for the metrics */
};

struct dht_testnet {
	int n;
	struct dht_node **nodes;
	struct dht_testnet_emu emu;
	bool emulated;
	/* splitmix64 states, from the seed (not the CSPRNG: a run must be
	 * repeatable): one draws the network (delays, the dead, table
	 * order), the other each datagram's fate, so that the traffic while
	 * the nodes start cannot change the network a seed draws */
	uint64_t rng_net, rng_pkt;
	uint16_t first_port;
	/* datagrams from outside addresses (dht_testnet_sources) */
	struct dht_testnet_source src[DHT_TESTNET_MAX_SOURCES];
	size_t nsrc;
};

static int sock_send(struct dht_node *n, const uint8_t *buf, size_t len,
	const struct sockaddr *to, socklen_t tolen);
static void emu_free_queue(struct dht_node *n);

/* splitmix64 (Steele, Lea, Flood 2014): small, fast, good enough to pick
 * delays and drops. */
static uint64_t
emu_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* uniform in [0, 1) */
static double
emu_unit(struct dht_testnet *tn)
{
	return (double)(emu_rand(&tn->rng_net) >> 11) / 9007199254740992.0;
}

/* true with probability pct / 100 */
static bool
emu_chance(struct dht_testnet *tn, unsigned pct)
{
	return pct > 0 && emu_rand(&tn->rng_pkt) % 10000u < pct * 100u;
}

/* e^x for |x| <= 8 without libm: Taylor series of e^(x/64), squared six
 * times (relative error far below what a delay needs). */
static double
emu_exp(double x)
{
	double y = x / 64.0, t = 1.0, s = 1.0;

	for (int i = 1; i < 12; i++) {
		t *= y / i;
		s += t;
	}
	for (int i = 0; i < 6; i++)
		s *= s;
	return s;
}

/* A node's base delay: median * e^(sigma Z), Z standard normal drawn as
 * the sum of 12 uniforms minus 6 (Irwin-Hall: bounded to +-6, close
 * enough to a normal for a network's shape). */
static unsigned
emu_draw_delay(struct dht_testnet *tn, unsigned median)
{
	double z = -6.0, d;

	if (median == 0)
		return 0;
	for (int i = 0; i < 12; i++)
		z += emu_unit(tn);
	d = median * emu_exp(z * EMU_SIGMA_X100 / 100.0);
	if (d < (double)median / EMU_SPREAD)
		d = (double)median / EMU_SPREAD;
	if (d > (double)median * EMU_SPREAD)
		d = (double)median * EMU_SPREAD;
	return d < 1.0 ? 1u : (unsigned)(d + 0.5);
}

static void
emu_schedule(struct dht_node *n, uint64_t now)
{
	uint64_t ms = n->q[0].due_ms > now ? n->q[0].due_ms - now : 0;
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };

	evtimer_add(n->emu_timer, &tv);
}

static void
emu_pop(struct dht_node *n)
{
	size_t i = 0;

	free(n->q[0].buf);
	n->q[0] = n->q[--n->nq];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		struct emu_pkt t;
		if (l < n->nq && n->q[l].due_ms < n->q[m].due_ms)
			m = l;
		if (r < n->nq && n->q[r].due_ms < n->q[m].due_ms)
			m = r;
		if (m == i)
			break;
		t = n->q[i];
		n->q[i] = n->q[m];
		n->q[m] = t;
		i = m;
	}
}

static void
on_emu_timer(evutil_socket_t fd, short what, void *arg)
{
	struct dht_node *n = arg;
	uint64_t now = time_mono_ms();

	(void)fd;
	(void)what;
	while (n->nq > 0 && n->q[0].due_ms <= now) {
		(void)sock_send(n, n->q[0].buf, n->q[0].len, (struct sockaddr *)&n->q[0].to,
		    n->q[0].tolen);
		emu_pop(n);
	}
	if (n->nq > 0)
		emu_schedule(n, now);
}

/* Hold a datagram back for the node's delay plus jitter. */
static void
emu_queue(struct dht_node *n, const uint8_t *buf, size_t len, const struct sockaddr *to,
	socklen_t tolen)
{
	uint64_t now = time_mono_ms();
	long jit = (long)(n->delay_ms * EMU_JITTER_PCT / 100u);
	long d = (long)n->delay_ms;
	struct emu_pkt p;
	size_t i;

	if (jit > 0)
		d += (long)(emu_rand(&n->tn->rng_pkt) % (uint64_t)(2 * jit + 1)) - jit;
	if (n->nq >= EMU_QUEUE_MAX || tolen > sizeof(p.to))
		return;
	if (n->q == NULL && (n->q = calloc(EMU_QUEUE_MAX, sizeof(*n->q))) == NULL)
		return;
	p.buf = malloc(len);
	if (p.buf == NULL)
		return;
	memcpy(p.buf, buf, len);
	p.len = len;
	memset(&p.to, 0, sizeof(p.to));
	memcpy(&p.to, to, tolen);
	p.tolen = tolen;
	p.due_ms = now + (uint64_t)(d > 0 ? d : 0);
	for (i = n->nq++; i > 0 && n->q[(i - 1) / 2].due_ms > p.due_ms; i = (i - 1) / 2)
		n->q[i] = n->q[(i - 1) / 2];
	n->q[i] = p;
	if (i == 0)
		emu_schedule(n, now);
}

static void
emu_free_queue(struct dht_node *n)
{
	for (size_t i = 0; i < n->nq; i++)
		free(n->q[i].buf);
	free(n->q);
	n->q = NULL;
	n->nq = 0;
}

uint64_t
dht_node_now(const struct dht_node *n)
{
	(void)n;
	return time_mono_ms();
}

static int
node_send(void *ctx, const uint8_t *buf, size_t len, const struct sockaddr *to,
	socklen_t tolen)
{
	struct dht_node *n = ctx;

	n->sent++;
	if (n->tn) {
		/* an emulated link: a lost datagram counts as sent */
		if (n->dead || emu_chance(n->tn, n->tn->emu.loss_pct))
			return 0;
		if (n->delay_ms > 0) {
			emu_queue(n, buf, len, to, tolen);
			return 0;
		}
	}
	return sock_send(n, buf, len, to, tolen);
}

static int
sock_send(struct dht_node *n, const uint8_t *buf, size_t len, const struct sockaddr *to,
	socklen_t tolen)
{
	struct sockaddr_in6 mapped;

	if (n->family == AF_INET6 && to->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)to;
		memset(&mapped, 0, sizeof(mapped));
		mapped.sin6_family = AF_INET6;
		mapped.sin6_port = s4->sin_port;
		mapped.sin6_addr.s6_addr[10] = 0xff;
		mapped.sin6_addr.s6_addr[11] = 0xff;
		memcpy(&mapped.sin6_addr.s6_addr[12], &s4->sin_addr, 4);
		to = (const struct sockaddr *)&mapped;
		tolen = sizeof(mapped);
	} else if (n->family == AF_INET && to->sa_family != AF_INET) {
		return -1; /* an IPv4 socket cannot reach IPv6 nodes */
	}
	if (sendto(n->fd, buf, len, 0, to, tolen) >= 0)
		return 0;
	/* UDP: a full socket buffer drops the datagram like the network
	 * would; the query times out and the look-up carries on. */
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS || errno == EINTR)
		return 0;
	/* No route, address not usable, refused by a local firewall: the
	 * node fails the query now rather than wait for its timeout. */
	log_debug("sendto: %s", strerror(errno));
	return -1;
}

static void
schedule(struct dht_node *n, uint64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };

	evtimer_add(n->timer, &tv);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct dht_node *n = arg;

	(void)fd;
	(void)what;
	schedule(n, dht_periodic(n->d, time_mono_ms()));
}

/* One of the testnet's own nodes: 127.0.0.1, a port in its range. */
static bool
tn_own(const struct dht_testnet *tn, const struct sockaddr_storage *a)
{
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)a;
	unsigned port;

	if (a->ss_family != AF_INET || s4->sin_addr.s_addr != htonl(INADDR_LOOPBACK))
		return false;
	port = ntohs(s4->sin_port);
	return port >= tn->first_port && port < (unsigned)tn->first_port + (unsigned)tn->n;
}

/* Count a datagram from outside the testnet against its sender. */
static void
tn_tally(struct dht_testnet *tn, const struct sockaddr_storage *from, socklen_t len)
{
	struct sockaddr_storage a;
	size_t i;

	memset(&a, 0, sizeof(a));
	if (from->ss_family == AF_INET6 && len >= sizeof(struct sockaddr_in6) &&
	    IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)from)->sin6_addr)) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)from;
		struct sockaddr_in *s4 = (struct sockaddr_in *)&a;
		s4->sin_family = AF_INET;
		s4->sin_port = s6->sin6_port;
		memcpy(&s4->sin_addr, &s6->sin6_addr.s6_addr[12], 4);
	} else if (from->ss_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		memcpy(&a, from, sizeof(struct sockaddr_in));
	} else if (from->ss_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		memcpy(&a, from, sizeof(struct sockaddr_in6));
		((struct sockaddr_in6 *)&a)->sin6_flowinfo = 0;
	} else {
		return;
	}
	if (tn_own(tn, &a))
		return;
	for (i = 0; i < tn->nsrc; i++)
		if (memcmp(&tn->src[i].addr, &a, sizeof(a)) == 0)
			break;
	if (i == tn->nsrc) {
		if (tn->nsrc < DHT_TESTNET_MAX_SOURCES) {
			tn->nsrc++;
		} else {
			i = 0; /* full: the one heard from longest ago */
			for (size_t j = 1; j < tn->nsrc; j++)
				if (tn->src[j].last_ms < tn->src[i].last_ms)
					i = j;
		}
		tn->src[i].addr = a;
		tn->src[i].datagrams = 0;
	}
	tn->src[i].datagrams++;
	tn->src[i].last_ms = time_mono_ms();
}

static void
on_read(evutil_socket_t fd, short what, void *arg)
{
	struct dht_node *n = arg;
	struct dht_datagram dg[RX_BATCH];
	bool got = false;

	(void)what;
	for (int round = 0; round < RX_ROUNDS; round++) {
		int r;
		size_t k = 0;

		for (int i = 0; i < RX_BATCH; i++) {
			n->rx_iov[i].iov_base = n->rx[i];
			n->rx_iov[i].iov_len = RX_BUF;
			memset(&n->rx_msg[i].msg_hdr, 0, sizeof(n->rx_msg[i].msg_hdr));
			n->rx_msg[i].msg_hdr.msg_iov = &n->rx_iov[i];
			n->rx_msg[i].msg_hdr.msg_iovlen = 1;
			n->rx_msg[i].msg_hdr.msg_name = &n->rx_from[i];
			n->rx_msg[i].msg_hdr.msg_namelen = sizeof(n->rx_from[i]);
		}
		r = recvmmsg(fd, n->rx_msg, RX_BATCH, MSG_DONTWAIT, NULL);
		if (r <= 0)
			break;
		for (int i = 0; i < r; i++) {
			/* a datagram longer than any KRPC message is not one */
			if (n->rx_msg[i].msg_hdr.msg_flags & MSG_TRUNC)
				continue;
			if (n->tn)
				tn_tally(n->tn, &n->rx_from[i], n->rx_msg[i].msg_hdr.msg_namelen);
			/* testnet: a dead node hears nothing, a live one loses
			 * its share of what comes in */
			if (n->tn && (n->dead || emu_chance(n->tn, n->tn->emu.loss_pct)))
				continue;
			dg[k].buf = n->rx[i];
			dg[k].len = n->rx_msg[i].msg_len;
			dg[k].from = (const struct sockaddr *)&n->rx_from[i];
			dg[k].fromlen = n->rx_msg[i].msg_hdr.msg_namelen;
			k++;
		}
		dht_input_batch(n->d, dg, k, time_mono_ms());
		n->received += k;
		got = true;
		if (r < RX_BATCH)
			break;
	}
	/* Input can finish look-ups or add transactions: re-plan the timer. */
	if (got)
		schedule(n, dht_periodic(n->d, time_mono_ms()));
}

void
dht_node_counters(const struct dht_node *n, uint64_t *sent, uint64_t *received)
{
	*sent = n ? n->sent : 0;
	*received = n ? n->received : 0;
}

void
dht_node_kick(struct dht_node *n)
{
	schedule(n, 0);
}

struct dht_node *
dht_node_new(struct event_base *base, const struct sockaddr *bind_addr,
	socklen_t bindlen, const struct dht_config *cfg)
{
	struct dht_node *n;
	struct dht_config c;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int off = 0;

	if (base == NULL || bind_addr == NULL || cfg == NULL)
		return NULL;
	n = calloc(1, sizeof(*n));
	if (n == NULL)
		return NULL;
	n->base = base;
	n->family = bind_addr->sa_family;
	n->rx = malloc(RX_BATCH * sizeof(*n->rx));
	if (n->rx == NULL) {
		free(n);
		return NULL;
	}
	n->fd = socket(n->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (n->fd < 0) {
		log_err("socket: %s", strerror(errno));
		free(n->rx);
		free(n);
		return NULL;
	}
	/* One socket for both DHTs (BEP 32): IPv4 nodes as mapped addresses. */
	if (n->family == AF_INET6 &&
	    setsockopt(n->fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) == 0)
		n->dual_stack = true;
	if (bind(n->fd, bind_addr, bindlen) < 0 ||
	    getsockname(n->fd, (struct sockaddr *)&ss, &sl) < 0) {
		log_err("DHT socket bind: %s", strerror(errno));
		close(n->fd);
		free(n->rx);
		free(n);
		return NULL;
	}
	n->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port :
						   ((struct sockaddr_in *)&ss)->sin_port);
	c = *cfg;
	c.dual_stack = n->dual_stack;
	c.send = node_send;
	c.send_ctx = n;
	n->d = dht_new(&c, time_mono_ms());
	n->rev = event_new(base, n->fd, EV_READ | EV_PERSIST, on_read, n);
	n->timer = evtimer_new(base, on_timer, n);
	if (n->d == NULL || n->rev == NULL || n->timer == NULL || event_add(n->rev, NULL) < 0) {
		dht_node_free(n);
		return NULL;
	}
	schedule(n, 0);
	return n;
}

struct dht *
dht_node_dht(struct dht_node *n)
{
	return n->d;
}

bool
dht_node_dual_stack(const struct dht_node *n)
{
	return n->dual_stack;
}

uint16_t
dht_node_port(const struct dht_node *n)
{
	return n->port;
}

void
dht_node_free(struct dht_node *n)
{
	if (n == NULL)
		return;
	if (n->rev)
		event_free(n->rev);
	if (n->timer)
		event_free(n->timer);
	if (n->emu_timer)
		event_free(n->emu_timer);
	emu_free_queue(n);
	dht_free(n->d);
	if (n->fd >= 0)
		close(n->fd);
	free(n->rx);
	free(n);
}

struct dht_testnet *
dht_testnet_new(struct event_base *base, int count, uint16_t first_port)
{
	return dht_testnet_new_emulated(base, count, first_port, NULL);
}

/* Tell every live node of every other node, each in its own random
 * order, as if it had met them before: routing tables start full the way
 * a real node's saved table does, and the dead nodes sit in them in
 * their share (nodes that answer nobody would never get in otherwise). */
static void
emu_introduce(struct dht_testnet *tn)
{
	size_t cap = 32 + (size_t)tn->n * 26;
	uint8_t *buf = malloc(cap);
	uint8_t *comp = malloc((size_t)tn->n * 26);
	int *order = malloc((size_t)tn->n * sizeof(int));

	if (buf == NULL || comp == NULL || order == NULL)
		goto out;
	for (int i = 0; i < tn->n; i++) {
		struct dht_info info;
		uint8_t *c = comp + (size_t)i * 26;
		dht_get_info(tn->nodes[i]->d, time_mono_ms(), &info);
		memcpy(c, info.id, 20);
		c[20] = 127, c[21] = 0, c[22] = 0, c[23] = 1;
		c[24] = (uint8_t)(tn->nodes[i]->port >> 8);
		c[25] = (uint8_t)tn->nodes[i]->port;
	}
	for (int i = 0; i < tn->n; i++) {
		int m = 0, len;
		if (tn->nodes[i]->dead)
			continue;
		for (int j = 0; j < tn->n; j++)
			if (j != i)
				order[m++] = j;
		for (int j = m - 1; j > 0; j--) {
			int r = (int)(emu_rand(&tn->rng_net) % (uint64_t)(j + 1)), t = order[j];
			order[j] = order[r];
			order[r] = t;
		}
		len = snprintf((char *)buf, cap, "d5:nodes%d:", m * 26);
		for (int j = 0; j < m; j++)
			memcpy(buf + len + j * 26, comp + (size_t)order[j] * 26, 26);
		len += m * 26;
		buf[len++] = 'e';
		dht_load_nodes(tn->nodes[i]->d, buf, (size_t)len, time_mono_ms());
	}
out:
	free(buf);
	free(comp);
	free(order);
}

struct dht_testnet *
dht_testnet_new_emulated(struct event_base *base, int count, uint16_t first_port,
	const struct dht_testnet_emu *emu)
{
	struct dht_testnet *tn;
	struct sockaddr_in a;
	struct dht_config cfg;
	int ndead = 0;

	if (count < 1 || count > 1000 || (unsigned)first_port + (unsigned)count > 65536)
		return NULL;
	if (emu && (emu->loss_pct > 100 || emu->dead_pct > 100 || emu->rtt_ms > DHT_TESTNET_MAX_RTT))
		return NULL;
	tn = calloc(1, sizeof(*tn));
	if (tn == NULL)
		return NULL;
	tn->nodes = calloc((size_t)count, sizeof(*tn->nodes));
	if (tn->nodes == NULL) {
		free(tn);
		return NULL;
	}
	if (emu) {
		tn->emu = *emu;
		tn->emulated = true;
		tn->rng_net = emu->seed;
		tn->rng_pkt = emu->seed ^ 0x5DEECE66Dull;
		(void)emu_rand(&tn->rng_pkt);
		/* node 0 is everyone's bootstrap node: it stays alive */
		ndead = (int)(((unsigned)count * emu->dead_pct + 50u) / 100u);
		if (ndead > count - 1)
			ndead = count - 1;
	}
	tn->first_port = first_port;
	memset(&cfg, 0, sizeof(cfg));
	cfg.mode = DHT_MODE_SERVER;
	cfg.loopback_testnet = true;
	cfg.quiet = true; /* the daemon's own node speaks for the DHT */
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (int i = 0; i < count; i++) {
		struct dht_node *n;
		a.sin_port = htons((uint16_t)(first_port + i));
		n = tn->nodes[i] = dht_node_new(base, (struct sockaddr *)&a, sizeof(a), &cfg);
		if (n == NULL) {
			log_err("testnet: node %d on port %d failed", i, first_port + i);
			tn->n = i;
			dht_testnet_free(tn);
			return NULL;
		}
		tn->n = i + 1;
		n->tn = tn;
		if (tn->emulated) {
			n->delay_ms = emu_draw_delay(tn, tn->emu.rtt_ms);
			/* the dead: a fair draw of ndead among nodes 1.. */
			if (i > 0 && (int)(emu_rand(&tn->rng_net) % (uint64_t)(count - i)) < ndead) {
				n->dead = true;
				ndead--;
			}
			n->emu_timer = evtimer_new(base, on_emu_timer, n);
			if (n->emu_timer == NULL) {
				dht_testnet_free(tn);
				return NULL;
			}
		}
		if (i > 0 && !n->dead) {
			struct sockaddr_in b = a;
			b.sin_port = htons(first_port);
			dht_add_bootstrap(n->d, (struct sockaddr *)&b, sizeof(b));
		}
	}
	if (tn->emulated)
		emu_introduce(tn);
	return tn;
}

int
dht_testnet_size(const struct dht_testnet *tn)
{
	return tn ? tn->n : 0;
}

unsigned
dht_testnet_node_delay(const struct dht_testnet *tn, int i)
{
	return tn && i >= 0 && i < tn->n ? tn->nodes[i]->delay_ms : 0;
}

bool
dht_testnet_node_dead(const struct dht_testnet *tn, int i)
{
	return tn && i >= 0 && i < tn->n && tn->nodes[i]->dead;
}

struct dht_node *
dht_testnet_node(struct dht_testnet *tn, int i)
{
	return tn && i >= 0 && i < tn->n ? tn->nodes[i] : NULL;
}

size_t
dht_testnet_sources(const struct dht_testnet *tn, struct dht_testnet_source *out, size_t max)
{
	size_t n = tn ? tn->nsrc : 0;

	if (n > max)
		n = max;
	if (n > 0)
		memcpy(out, tn->src, n * sizeof(*out));
	return n;
}

void
dht_testnet_free(struct dht_testnet *tn)
{
	if (tn == NULL)
		return;
	for (int i = 0; i < tn->n; i++)
		dht_node_free(tn->nodes[i]);
	free(tn->nodes);
	free(tn);
}
