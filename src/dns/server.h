/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * server.h -- the DNS front end: UDP and TCP listeners on an event_base.
 *
 * UDP reads and writes in batches (recvmmsg/sendmmsg); TCP follows
 * RFC 7766: two-byte length prefix, several queries per connection,
 * answers sent as they are ready (so possibly out of order), an idle
 * timeout and a cap on connections. So that one client cannot hold every
 * slot: a cap per client (address, IPv6 /64), a deadline for each whole
 * message once its first byte is in, and a full table makes room by
 * closing the least recently active idle connection (RFC 7766 section
 * 6.2.3) rather than refusing the newcomer. When accept() runs out of
 * descriptors, accepting pauses for 100 ms instead of spinning. EDNS0 (RFC 6891): the OPT record of
 * an answer is added here, with the Extended DNS Error (RFC 8914) the
 * handler attached (dns_query_set_ede), and a UDP answer larger than the
 * client's buffer is truncated here with TC=1 (keeping OPT and EDE).
 *
 * Every reply leaves through one function here, which runs two hooks of
 * the config: a filter that may edit an answer before it is sent (the
 * daemon's rebinding policy) and a callback with the reply as sent (the
 * query log), with the handler's note (struct dns_query_note).
 *
 * For every well-formed query the server calls the handler with a
 * struct dns_query. The handler answers at once (dns_query_answer with
 * the answer written into dns_query_buf: no allocation, no copy), or
 * calls dns_query_hold() and answers later with dns_query_reply(),
 * dns_query_error() or dns_query_drop(). Malformed queries never reach
 * the handler: they get FORMERR/NOTIMP/BADVERS or are dropped.
 *
 * Callbacks never run inside the call that started them; they run from
 * the event loop. The handler runs for each query read from a socket
 * (or inside dns_server_submit, for a query handed in), never inside
 * another handler call and never inside dns_query_answer, _reply, _error
 * or _drop: answering a held TCP query only queues the answer, and the
 * connection reads its next pipelined query from the loop. The
 * dns_server_submit callback runs from the loop, also for an answer
 * given at once. The config's hooks (admit, filter, on_reply) are no
 * completion callbacks: they run synchronously where a query is
 * admitted and where its reply leaves, and must not answer or hold
 * queries.
 * Errors: a function that can fail returns a negative int (-1 unless its
 * @return names codes), NULL for a pointer, or 0 for an ID.
 */
#ifndef PKDNS_DNS_SERVER_H
#define PKDNS_DNS_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dns/msg.h"

struct event_base;
struct dns_server;
struct tls_server;

/** How a query arrived. */
enum dns_transport {
	DNS_TRANSPORT_UDP = 0,
	DNS_TRANSPORT_TCP,
	DNS_TRANSPORT_TLS,   /**< DoT, RFC 7858 */
	DNS_TRANSPORT_HTTPS, /**< DoH over TLS, RFC 8484 */
	DNS_TRANSPORT_HTTP,  /**< DoH on a plain listener (behind a TLS proxy) */
};

/**
 * What the daemon says about how it answered a query, read when the
 * reply leaves (the EDE option, the query log). Every field is optional;
 * strings must outlive the query (string literals).
 */
struct dns_query_note {
	const char *path;           /**< "pkarr", "icann", "cache" or NULL */
	bool cache_hit;             /**< answered from the answer cache */
	bool ede;                   /**< send ede_code/ede_text (EDNS clients only) */
	uint16_t ede_code;          /**< RFC 8914 INFO-CODE (dns/ede.h) */
	const char *ede_text;       /**< EXTRA-TEXT, or NULL */
	const char *reason;         /**< why a SERVFAIL/REFUSED, for the log */
};

/** One query; the fields are read-only for the handler. */
struct dns_query {
	struct dns_msginfo info;           /**< parsed header, question, EDNS */
	struct sockaddr_storage client;    /**< who asked */
	socklen_t client_len;
	bool tcp;                          /**< not UDP: no truncation (TCP, DoT, DoH) */
	uint8_t transport;                 /**< enum dns_transport */
	struct dns_query_priv *priv;       /**< the server's bookkeeping */
};

/**
 * Called for each well-formed query. Must answer, hold or drop q before
 * returning.
 */
typedef void (*dns_handler_fn)(void *ctx, struct dns_query *q);

/**
 * Called with every reply as it leaves (after OPT, EDE and truncation),
 * and never for a dropped query: the query log's one place.
 * @param q the query (its question and client)
 * @param note what the daemon noted about the answer
 * @param msg, len the reply as sent
 * @param ms time since the query arrived
 */
typedef void (*dns_reply_fn)(void *ctx, const struct dns_query *q,
    const struct dns_query_note *note, const uint8_t *msg, size_t len, uint64_t ms);

/**
 * Called with an answer (not an error reply) before it is sent, to edit
 * it in place (the rebinding policy): may shorten or rewrite msg.
 * @param msg, len the answer, without OPT; cap the buffer's size
 * @return the new length (0: answer SERVFAIL instead)
 */
typedef size_t (*dns_filter_fn)(void *ctx, struct dns_query *q, uint8_t *msg, size_t len,
    size_t cap);

/** What the admission check decides for a client, before any parsing. */
enum dns_admit {
	DNS_ADMIT_ALLOW = 0,  /**< parse and hand on */
	DNS_ADMIT_REFUSE = 1, /**< answer REFUSED (even a malformed query) */
	DNS_ADMIT_DROP = 2,   /**< send nothing at all */
};

/**
 * Decide what to do with a client's datagram or TCP message before it is
 * parsed, so that a denied client never gets even a FORMERR.
 * @return an enum dns_admit
 */
typedef int (*dns_admit_fn)(void *ctx, const struct sockaddr *client);

/** Limits of the front end. */
struct dns_server_config {
	dns_admit_fn admit;          /**< or NULL: everyone is allowed */
	dns_filter_fn filter;        /**< or NULL: answers are sent as given */
	dns_reply_fn on_reply;       /**< or NULL */
	uint16_t edns_buffer_size;   /**< largest UDP answer we send and announce */
	unsigned tcp_idle_timeout_s;
	/** Connections in all; lowered at dns_server_new() to what the
	 * open-file limit (RLIMIT_NOFILE) leaves room for, with a log line. */
	unsigned tcp_max_connections;
	/** Connections per client: IPv4 address or IPv6 /64; 0 = no cap.
	 * A client at its cap that connects again loses its own least
	 * recently active idle connection, or is refused if all are busy. */
	unsigned tcp_max_per_client;
	/** Once the first byte of a message arrived, the whole message must
	 * arrive within this many ms or the connection is closed; 0 = 3000. */
	unsigned tcp_msg_timeout_ms;
	unsigned tcp_max_pipelined;  /**< queries in flight per TCP connection */
};

/**
 * Create a server with no listeners.
 * @return the server, or NULL when out of memory
 */
struct dns_server *dns_server_new(struct event_base *base, const struct dns_server_config *cfg,
    dns_handler_fn handler, void *ctx);

/**
 * Listen for UDP and TCP on one address.
 * @return 0, or -1 after logging why (address in use, no permission...)
 */
int dns_server_listen(struct dns_server *s, const struct sockaddr *addr, socklen_t len);

/**
 * Serve a TCP stream accepted elsewhere (the listeners call this for each
 * connection; tests and fuzzers hand in one end of a socketpair). The
 * connection limits apply as to an accepted one.
 * @param fd connected stream socket, made non-blocking here; owned by the
 *        server from now on (closed when refused)
 * @param peer the client's address (for the per-client cap and logs)
 * @return 0, or -1 when refused or out of memory
 */
int dns_server_tcp_adopt(struct dns_server *s, int fd, const struct sockaddr *peer,
    socklen_t peer_len);

/**
 * Listen for DNS over TLS (RFC 7858) on one address: the TCP path
 * (pipelining, idle timeout, caps per client and in all) over TLS. The
 * handshake must end within tcp_msg_timeout_ms. Answers on TLS (and
 * DoH) are padded (RFC 7830, RFC 8467 section 4.1: to a multiple of 468
 * octets) whenever the query had EDNS: every answer, not only those to a
 * padded query, so that sizes say nothing of the name.
 * @param tls the certificate (not owned; must outlive the server)
 * @return 0, or -1 after logging why
 */
int dns_server_listen_tls(struct dns_server *s, const struct sockaddr *addr, socklen_t len,
    struct tls_server *tls);

/**
 * Called with the final answer to a query handed in by dns_server_submit
 * (ID and OPT set, padded for encrypted transports), or with msg NULL
 * when the query gets no answer (access control drops it, malformed).
 * msg is valid only during the call. Runs from the event loop, never
 * inside dns_server_submit (an answer the handler gave at once is kept
 * and handed over when the loop runs).
 */
typedef void (*dns_submit_fn)(void *ctx, const uint8_t *msg, size_t len);

/** A query from dns_server_submit still waiting for its answer. */
struct dns_submitted;

/**
 * Hand in a query that arrived by another transport (DoH): the same
 * admission, parsing and handler as UDP and TCP; no truncation.
 * @param msg, len the DNS message (copied)
 * @param transport DNS_TRANSPORT_HTTPS or DNS_TRANSPORT_HTTP
 * @param cb called exactly once with the answer, unless cancelled first;
 *        from the event loop, never before this returns
 * @return a handle to cancel with until cb has run, or NULL (message
 *         too long, out of memory; cb will not be called)
 */
struct dns_submitted *dns_server_submit(struct dns_server *s, const uint8_t *msg, size_t len,
    const struct sockaddr *client, socklen_t client_len, enum dns_transport transport,
    dns_submit_fn cb, void *ctx);

/** The client went away: cb will not be called; the handle is freed.
 *  Not to be called once cb has run (the handle is freed then). */
void dns_submit_cancel(struct dns_submitted *h);

/** Stop accepting new queries (sockets closed); held queries stay valid. */
void dns_server_close_listeners(struct dns_server *s);

/** Free the server. Every held query must have been finished first. */
void dns_server_free(struct dns_server *s);

/**
 * The buffer to write an answer into during the handler call.
 * @param cap set to its size (large enough for any DNS message)
 */
uint8_t *dns_query_buf(struct dns_query *q, size_t *cap);

/**
 * Send the answer written into dns_query_buf (with any ID; it is set
 * here, as is the client's spelling of the question name), adding OPT and
 * truncating as the client's transport needs. Finishes q.
 * @param len length of the answer in the buffer (without OPT)
 */
void dns_query_answer(struct dns_query *q, size_t len);

/**
 * Send msg as the answer (copied). Finishes q.
 */
void dns_query_reply(struct dns_query *q, const uint8_t *msg, size_t len);

/** Send an error reply with this rcode. Finishes q. */
void dns_query_error(struct dns_query *q, int rcode);

/**
 * The note of q, for the handler to fill in before answering (it moves
 * with q through dns_query_hold()).
 */
struct dns_query_note *dns_query_note(struct dns_query *q);

/**
 * Attach an Extended DNS Error (RFC 8914) to q's reply; sent only when
 * the query had an OPT record. A later call replaces an earlier one.
 * @param text a string literal, or NULL
 */
void dns_query_set_ede(struct dns_query *q, uint16_t code, const char *text);

/** Send nothing. Finishes q. */
void dns_query_drop(struct dns_query *q);

/**
 * Keep q beyond the handler call (asynchronous answer).
 * @return the held query (not the same pointer), or NULL when out of
 *         memory (q was then answered with SERVFAIL)
 */
struct dns_query *dns_query_hold(struct dns_query *q);

/** Counters for the stats line. */
struct dns_server_stats {
	uint64_t udp_queries, tcp_queries, formerr, dropped, truncated, refused;
	uint64_t tcp_connections;
	uint64_t tcp_refused;      /**< closed at accept: client over its cap, or
	                            *   the table full of busy connections */
	uint64_t tcp_evicted;      /**< idle connections closed to make room */
	uint64_t tcp_slow;         /**< closed: a message not whole in time */
	uint64_t accept_errors;    /**< accept() failed (e.g. EMFILE) */
	uint64_t rcode[5][16];     /**< answers sent: [enum dns_transport][rcode (4 bits)] */
	uint64_t tls_connections;  /**< DoT connections accepted */
	uint64_t tls_handshake_failed; /**< DoT handshakes failed or timed out */
	uint64_t doh_queries;      /**< queries from dns_server_submit */
};

/** Copy the counters. */
void dns_server_get_stats(const struct dns_server *s, struct dns_server_stats *st);

#endif
