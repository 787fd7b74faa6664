/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cold_internet_net.c -- the emulated network of bench/cold_internet.sh:
 * the same testnet as `pkdns --testnet N --testnet-rtt ...`
 * (dht_testnet_new_emulated), alone in its own process so that pkdns,
 * libtorrent and JS pkarr are all clients from outside it, and the
 * testnet's tally of what each sender sent (dht_testnet_sources) counts
 * every client's messages the same way.
 *
 * Usage: cold_internet_net NODES FIRST_PORT RTT_MS LOSS_PCT DEAD_PCT SEED
 * Prints "ready" once the nodes are up, then serves stdin: a line "tally"
 * prints one "ADDRESS PORT DATAGRAMS" line per outside sender and "end",
 * a line "nodes" one "PORT DELAY_MS live|dead" line per node and "end";
 * end of input stops it. A benchmark tool, not a test; links libpkdns.a.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "dht/dht_event.h"
#include "util/log.h"

struct net {
	struct event_base *base;
	struct dht_testnet *tn;
	char line[256];
	size_t len;
};

static void
print_tally(struct net *n)
{
	struct dht_testnet_source src[DHT_TESTNET_MAX_SOURCES];
	size_t k = dht_testnet_sources(n->tn, src, DHT_TESTNET_MAX_SOURCES);

	for (size_t i = 0; i < k; i++) {
		char ip[INET6_ADDRSTRLEN] = "?";
		unsigned port = 0;
		if (src[i].addr.ss_family == AF_INET) {
			const struct sockaddr_in *s = (const struct sockaddr_in *)&src[i].addr;
			inet_ntop(AF_INET, &s->sin_addr, ip, sizeof(ip));
			port = ntohs(s->sin_port);
		} else {
			const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)&src[i].addr;
			inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof(ip));
			port = ntohs(s->sin6_port);
		}
		printf("%s %u %llu\n", ip, port, (unsigned long long)src[i].datagrams);
	}
	printf("end\n");
	fflush(stdout);
}

static void
print_nodes(struct net *n)
{
	for (int i = 0; i < dht_testnet_size(n->tn); i++)
		printf("%u %u %s\n", (unsigned)dht_node_port(dht_testnet_node(n->tn, i)),
		    dht_testnet_node_delay(n->tn, i), dht_testnet_node_dead(n->tn, i) ? "dead" : "live");
	printf("end\n");
	fflush(stdout);
}

static void
on_stdin(evutil_socket_t fd, short what, void *arg)
{
	struct net *n = arg;
	ssize_t r;

	(void)what;
	r = read(fd, n->line + n->len, sizeof(n->line) - 1 - n->len);
	if (r <= 0) {
		event_base_loopbreak(n->base);
		return;
	}
	n->len += (size_t)r;
	for (;;) {
		char *nl = memchr(n->line, '\n', n->len);
		size_t used;
		if (nl == NULL)
			break;
		*nl = '\0';
		if (strcmp(n->line, "tally") == 0)
			print_tally(n);
		else if (strcmp(n->line, "nodes") == 0)
			print_nodes(n);
		used = (size_t)(nl - n->line) + 1;
		memmove(n->line, nl + 1, n->len - used);
		n->len -= used;
	}
	if (n->len == sizeof(n->line) - 1)
		n->len = 0; /* a line too long for any command */
}

int
main(int argc, char **argv)
{
	struct dht_testnet_emu emu;
	struct net n;
	struct event *ev;
	long nodes, port;

	if (argc != 7) {
		fprintf(stderr, "usage: %s NODES FIRST_PORT RTT_MS LOSS_PCT DEAD_PCT SEED\n", argv[0]);
		return 2;
	}
	nodes = strtol(argv[1], NULL, 10);
	port = strtol(argv[2], NULL, 10);
	memset(&emu, 0, sizeof(emu));
	emu.rtt_ms = (unsigned)strtoul(argv[3], NULL, 10);
	emu.loss_pct = (unsigned)strtoul(argv[4], NULL, 10);
	emu.dead_pct = (unsigned)strtoul(argv[5], NULL, 10);
	emu.seed = strtoull(argv[6], NULL, 10);
	if (nodes < 1 || nodes > 1000 || port < 1 || port + nodes > 65536) {
		fprintf(stderr, "bad NODES or FIRST_PORT\n");
		return 2;
	}
	log_setup("cold_internet_net", 0, true);
	memset(&n, 0, sizeof(n));
	n.base = event_base_new();
	if (n.base == NULL)
		return 1;
	n.tn = dht_testnet_new_emulated(n.base, (int)nodes, (uint16_t)port, &emu);
	if (n.tn == NULL) {
		fprintf(stderr, "cannot start the testnet\n");
		return 1;
	}
	ev = event_new(n.base, 0, EV_READ | EV_PERSIST, on_stdin, &n);
	if (ev == NULL || event_add(ev, NULL) < 0)
		return 1;
	printf("ready\n");
	fflush(stdout);
	event_base_dispatch(n.base);
	event_free(ev);
	dht_testnet_free(n.tn);
	event_base_free(n.base);
	return 0;
}
