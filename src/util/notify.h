/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * notify.h -- systemd's readiness protocol (sd_notify(3)) without
 * libsystemd: newline-separated VAR=VALUE lines in one datagram to the
 * AF_UNIX socket named by $NOTIFY_SOCKET (a path, or '@' for the
 * abstract namespace).
 *
 * The socket is connected once at start-up, so that messages still reach
 * systemd after chroot and the privilege drop. Without $NOTIFY_SOCKET
 * every call does nothing. Functions return 0 or -1 (logged once).
 */
#ifndef PKDNS_UTIL_NOTIFY_H
#define PKDNS_UTIL_NOTIFY_H

#include <stdbool.h>

/** The connection to the service manager. */
struct notify {
	int fd;          /**< connected datagram socket, -1 when none */
	bool warned;     /**< a send failure was logged */
};

/**
 * Connect to $NOTIFY_SOCKET when it is set (and unset it, so that
 * children do not inherit it).
 * @param n filled in (n->fd -1 when there is no service manager)
 * @return 0, or -1 when the variable is set but unusable
 */
int notify_open(struct notify *n);

/**
 * Send one message, e.g. "READY=1\nSTATUS=serving".
 * @param n the connection (no-op when n->fd < 0)
 * @param msg the lines, without a trailing newline
 * @return 0 or -1
 */
int notify_send(struct notify *n, const char *msg);

/** Close the connection. */
void notify_close(struct notify *n);

#endif
