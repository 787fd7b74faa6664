/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dht_event.h -- libevent glue for the sans-I/O DHT node (dht.h).
 *
 * A struct dht_node owns one non-blocking UDP socket on an event_base,
 * hands what the socket holds to dht_input_batch (up to 16 datagrams per
 * recvmmsg, a few batches per readiness), sends through sendto, and
 * drives dht_periodic with a timer
 * at the time the node asks for. An IPv6 socket also carries IPv4 peers
 * as v4-mapped addresses when the system allows dual-stack sockets.
 *
 * The testnet helper runs n server nodes on 127.0.0.1 (ports first_port
 * up, each bootstrapped from the first) so pkdns works with no internet.
 * It can emulate a wide-area network (dht_testnet_new_emulated), at the
 * testnet's own sockets so that any client bootstrapping from it sees the
 * same: each node sends every datagram after its own fixed delay (drawn
 * log-normal around a median, +-10 % jitter per datagram; a timer on the
 * loop, never a sleep), each datagram to or from a node is lost with a
 * given probability, and a share of the nodes are dead: the others know
 * them (routing tables, "nodes" replies) but they never answer. With
 * emulation on, every live node starts knowing every other node in a
 * random order (a warm table, as a real node's saved one); the dead ones
 * fade out of the tables only as the nodes' own maintenance finds them
 * silent. The draws come from a PRNG owned by the testnet: one seed, one
 * network (which node is dead, each node's delay); which datagram is lost
 * still depends on the order the loop runs things in.
 *
 * Every testnet, emulated or not, tallies the datagrams its nodes receive
 * from addresses outside it (dht_testnet_sources): the network sees every
 * message a client sends, so a benchmark counts all clients the same way.
 *
 * Callbacks never run inside the call that started them; they run from
 * the event loop. (The socket and timer events feed dht_input_batch and
 * dht_periodic, which run the look-ups' callbacks; see dht.h.)
 * Errors: a function that can fail returns a negative int (-1 unless its
 * @return names codes), NULL for a pointer, or 0 for an ID.
 */
#ifndef PKDNS_DHT_EVENT_H
#define PKDNS_DHT_EVENT_H

#include <stdint.h>
#include <sys/socket.h>

#include "dht/dht.h"

struct event_base;
struct dht_node;
struct dht_testnet;

/** Largest dht_testnet_emu.rtt_ms. */
#define DHT_TESTNET_MAX_RTT 10000

/** Network conditions of an emulated testnet. */
struct dht_testnet_emu {
	unsigned rtt_ms;   /**< median of the nodes' delays; 0 = none */
	unsigned loss_pct; /**< share of datagrams lost at each end, 0..100 */
	unsigned dead_pct; /**< share of nodes that never answer, 0..100
			        (node 0, the bootstrap node, always lives) */
	uint64_t seed;     /**< the emulation's PRNG seed */
};

/** Most outside addresses a testnet tallies at a time; a new one takes
 *  the place of the one heard from longest ago (short-lived clients such
 *  as pkdns-cli runs come and go; the clients of a benchmark stay). */
#define DHT_TESTNET_MAX_SOURCES 64

/** Datagrams the testnet received from one address outside it. */
struct dht_testnet_source {
	struct sockaddr_storage addr; /**< the sender (IPv4 as AF_INET) */
	uint64_t datagrams;           /**< received by any of its nodes, lost or
					   not (what the sender sent) */
	uint64_t last_ms;             /**< when the latest came (monotonic) */
};

/**
 * Bind a UDP socket and start a node on it.
 * @param base the event loop
 * @param bind local address (port 0 = any)
 * @param bindlen its length
 * @param cfg node configuration; send and send_ctx are ignored (the glue
 *        sends), everything else is used as given
 * @return the node or NULL (socket, bind or dht_new failed; logged)
 */
struct dht_node *dht_node_new(struct event_base *base, const struct sockaddr *bind,
	socklen_t bindlen, const struct dht_config *cfg);

/**
 * @param n node
 * @return its sans-I/O core, for dht_get_mutable, dht_put, ...
 */
struct dht *dht_node_dht(struct dht_node *n);

/**
 * @param n node
 * @return the bound UDP port (host order)
 */
uint16_t dht_node_port(const struct dht_node *n);

/**
 * @param n node
 * @return whether its socket is IPv6 with IPv4-mapped addresses, so that
 *         it takes part in both the IPv4 and the IPv6 DHT (BEP 32)
 */
bool dht_node_dual_stack(const struct dht_node *n);

/**
 * The clock the node runs on; pass it as now_ms to dht.h calls.
 * @param n node
 * @return milliseconds (monotonic)
 */
uint64_t dht_node_now(const struct dht_node *n);

/**
 * Datagrams the node sent (or tried to) and received, since it started.
 * @param n node (NULL: zeros)
 */
void dht_node_counters(const struct dht_node *n, uint64_t *sent, uint64_t *received);

/**
 * Run dht_periodic soon (call after starting look-ups so that their
 * timers and done callbacks are scheduled without waiting).
 * @param n node
 */
void dht_node_kick(struct dht_node *n);

/**
 * Close the socket and free the node (no callbacks run).
 * @param n node (NULL is fine)
 */
void dht_node_free(struct dht_node *n);

/**
 * Start n server-mode nodes on 127.0.0.1:first_port .. first_port+n-1,
 * each bootstrapped from the first, with loopback_testnet set.
 * @param base the event loop
 * @param n number of nodes (1..1000)
 * @param first_port first UDP port
 * @return the testnet or NULL (a port could not be bound; logged)
 */
struct dht_testnet *dht_testnet_new(struct event_base *base, int n, uint16_t first_port);

/**
 * Start a testnet that emulates a wide-area network (see the file
 * comment).
 * @param base the event loop
 * @param n number of nodes (1..1000)
 * @param first_port first UDP port
 * @param emu the conditions, or NULL for none (as dht_testnet_new)
 * @return the testnet or NULL (a port could not be bound, or emu is out
 *         of range: loss or dead above 100, rtt above DHT_TESTNET_MAX_RTT)
 */
struct dht_testnet *dht_testnet_new_emulated(struct event_base *base, int n,
	uint16_t first_port, const struct dht_testnet_emu *emu);

/**
 * @param tn testnet
 * @return its number of nodes (0 for NULL)
 */
int dht_testnet_size(const struct dht_testnet *tn);

/**
 * @param tn testnet
 * @param i index
 * @return node i's base delay in ms (0: not emulated or out of range)
 */
unsigned dht_testnet_node_delay(const struct dht_testnet *tn, int i);

/**
 * @param tn testnet
 * @param i index
 * @return whether node i is one of the dead (never answers)
 */
bool dht_testnet_node_dead(const struct dht_testnet *tn, int i);

/**
 * @param tn testnet
 * @param i index
 * @return node i, or NULL when out of range
 */
struct dht_node *dht_testnet_node(struct dht_testnet *tn, int i);

/**
 * The tally of datagrams from outside the testnet (file comment), at most
 * DHT_TESTNET_MAX_SOURCES senders: the latest heard.
 * @param tn testnet
 * @param out where to copy them
 * @param max room in out
 * @return the number copied (0 for NULL)
 */
size_t dht_testnet_sources(const struct dht_testnet *tn, struct dht_testnet_source *out,
	size_t max);

/**
 * Stop and free every node of a testnet.
 * @param tn testnet (NULL is fine)
 */
void dht_testnet_free(struct dht_testnet *tn);

#endif
