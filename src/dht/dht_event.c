/*
 * dht_event.c -- one UDP socket and one timer per DHT node on libevent.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
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
};

struct dht_testnet {
	int n;
	struct dht_node **nodes;
};

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
			dg[k].buf = n->rx[i];
			dg[k].len = n->rx_msg[i].msg_len;
			dg[k].from = (const struct sockaddr *)&n->rx_from[i];
			dg[k].fromlen = n->rx_msg[i].msg_hdr.msg_namelen;
			k++;
		}
		dht_input_batch(n->d, dg, k, time_mono_ms());
		got = true;
		if (r < RX_BATCH)
			break;
	}
	/* Input can finish look-ups or add transactions: re-plan the timer. */
	if (got)
		schedule(n, dht_periodic(n->d, time_mono_ms()));
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
	dht_free(n->d);
	if (n->fd >= 0)
		close(n->fd);
	free(n->rx);
	free(n);
}

struct dht_testnet *
dht_testnet_new(struct event_base *base, int count, uint16_t first_port)
{
	struct dht_testnet *tn;
	struct sockaddr_in a;
	struct dht_config cfg;

	if (count < 1 || count > 1000 || (unsigned)first_port + (unsigned)count > 65536)
		return NULL;
	tn = calloc(1, sizeof(*tn));
	if (tn == NULL)
		return NULL;
	tn->nodes = calloc((size_t)count, sizeof(*tn->nodes));
	if (tn->nodes == NULL) {
		free(tn);
		return NULL;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.mode = DHT_MODE_SERVER;
	cfg.loopback_testnet = true;
	cfg.quiet = true; /* the daemon's own node speaks for the DHT */
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (int i = 0; i < count; i++) {
		a.sin_port = htons((uint16_t)(first_port + i));
		tn->nodes[i] = dht_node_new(base, (struct sockaddr *)&a, sizeof(a), &cfg);
		if (tn->nodes[i] == NULL) {
			log_err("testnet: node %d on port %d failed", i, first_port + i);
			tn->n = i;
			dht_testnet_free(tn);
			return NULL;
		}
		tn->n = i + 1;
		if (i > 0) {
			struct sockaddr_in b = a;
			b.sin_port = htons(first_port);
			dht_add_bootstrap(tn->nodes[i]->d, (struct sockaddr *)&b, sizeof(b));
		}
	}
	return tn;
}

struct dht_node *
dht_testnet_node(struct dht_testnet *tn, int i)
{
	return tn && i >= 0 && i < tn->n ? tn->nodes[i] : NULL;
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
