/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * connlimit.h -- the table of a TCP server's connections (the DNS
 * server's TCP/DoT side and the HTTP server): caps in all and per
 * client (an IPv4 address, or an IPv6 /64), and a full table closing
 * its least recently active idle connection rather than refusing the
 * newcomer (RFC 7766 section 6.2.3). No sockets here but the listening
 * one: the owner embeds a struct connlimit_link in each connection and
 * says, by callback, which are idle and how one is closed.
 *
 * Callbacks never run inside the call that started them; they run from
 * the event loop. (None here: idle and evict are the owner's hooks,
 * called inside connlimit_admit() and connlimit_make_room() to pick and
 * close a connection; evict must not add connections.)
 * Errors: a function that can fail returns a negative int (-1 unless its
 * @return names codes), NULL for a pointer, or 0 for an ID.
 */
#ifndef PKDNS_UTIL_CONNLIMIT_H
#define PKDNS_UTIL_CONNLIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <event2/util.h>

struct event;
struct evconnlistener;

/** The connection that embeds link l as member m. */
#define CONNLIMIT_OWNER(l, type, m) ((type *)(void *)((char *)(l) - offsetof(type, m)))

/** A connection as the table sees it. */
struct connlimit_link {
	struct connlimit_link *prev, *next; /* most recently active first */
	struct sockaddr_storage peer;
	socklen_t peer_len;
};

/** How idle a connection is, for choosing one to close. */
enum connlimit_idle {
	CONNLIMIT_BUSY,    /**< work in flight: never closed to make room */
	CONNLIMIT_PARTIAL, /**< idle, but bytes half-received or unsent */
	CONNLIMIT_IDLE     /**< nothing at all in flight */
};

struct connlimit {
	struct connlimit_link *head, *tail; /* most recently active first */
	unsigned n;
	/** @return how idle the connection of l is */
	enum connlimit_idle (*idle)(struct connlimit_link *l);
	/** Close the connection of l to make room (it calls connlimit_remove). */
	void (*evict)(struct connlimit_link *l);
};

/**
 * An empty table.
 * @param idle says how idle a connection is
 * @param evict closes a connection chosen to make room
 */
void connlimit_init(struct connlimit *t, enum connlimit_idle (*idle)(struct connlimit_link *),
    void (*evict)(struct connlimit_link *));

/**
 * Whether a and b are one client for the per-client cap: the same IPv4
 * address (an IPv4-mapped IPv6 address counts as its IPv4 address) or
 * the same IPv6 /64.
 */
bool connlimit_same_client(const struct sockaddr_storage *a, const struct sockaddr_storage *b);

/**
 * Room for a newcomer from peer: when its client has max_per_client
 * connections, close that client's least recently active idle one; when
 * the table has max_total, anyone's. A client over its share crowds out
 * only itself.
 * @param max_per_client 0 for no per-client cap
 * @param salen at most sizeof(struct sockaddr_storage)
 * @return 0 when the newcomer may be added, -1 when every candidate is busy
 */
int connlimit_admit(struct connlimit *t, const struct sockaddr *peer, socklen_t salen,
    unsigned max_total, unsigned max_per_client);

/**
 * Close the least recently active connection with nothing in flight,
 * preferring a CONNLIMIT_IDLE one to a CONNLIMIT_PARTIAL one.
 * @param client only this client's connections, or NULL for anyone's
 * @return false when every candidate is busy
 */
bool connlimit_make_room(struct connlimit *t, const struct sockaddr_storage *client);

/**
 * Add l, from peer, as the most recently active.
 * @param salen at most sizeof(struct sockaddr_storage)
 */
void connlimit_add(struct connlimit *t, struct connlimit_link *l, const struct sockaddr *peer,
    socklen_t salen);

/** Take l out of the table. */
void connlimit_remove(struct connlimit *t, struct connlimit_link *l);

/** l did something useful: make it the most recently active. */
void connlimit_touch(struct connlimit *t, struct connlimit_link *l);

/**
 * A non-blocking, close-on-exec TCP socket listening on addr (IPv6
 * only on an IPv6 address, SO_REUSEADDR, backlog 128).
 * @return the descriptor, or -1 with errno set
 */
int connlimit_listen_socket(const struct sockaddr *addr, socklen_t len);

/* The pause of a listener whose accept() fails (EMFILE...), the same for
 * the DNS server's TCP/DoT listeners and the HTTP server's. */

/** How long a listener stops accepting after accept() failed (EMFILE...). */
#define CONNLIMIT_ACCEPT_PAUSE_MS 100
/** At most one accept error line per this long. */
#define CONNLIMIT_ACCEPT_LOG_MS 10000

/** What the accept error lines of a listener (or of a server) keep. */
struct connlimit_accept_log {
	uint64_t last_ms;  /**< when a line was last written; 0: never */
	uint64_t unlogged; /**< errors since */
};

/**
 * accept() on lev failed for a reason libevent does not retry (EMFILE,
 * ENFILE, ENOBUFS...): the listener stays readable, so without a pause
 * the loop would spin at full CPU and log a line per attempt. Stop lev
 * accepting for CONNLIMIT_ACCEPT_PAUSE_MS and log a warning at most once
 * per CONNLIMIT_ACCEPT_LOG_MS, with the count of errors since the last.
 * @param lev the listener (its error callback calls this)
 * @param resume a timer made with connlimit_resume_cb and lev as argument
 * @param lg the log state, the listener's or one shared by a server's
 * @param err the errno of the failed accept()
 * @param module the log line's module ("dns", "http")
 * @param proto what is paused, for the line ("TCP", "HTTP")
 */
void connlimit_accept_pause(struct evconnlistener *lev, struct event *resume,
    struct connlimit_accept_log *lg, int err, const char *module, const char *proto);

/**
 * The callback of the timer for connlimit_accept_pause(): accept again.
 * @param arg the struct evconnlistener
 */
void connlimit_resume_cb(evutil_socket_t fd, short what, void *arg);

#endif
