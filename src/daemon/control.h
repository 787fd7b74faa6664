/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * control.h -- the daemon's two operator interfaces: the control socket
 * that pkdns-control talks to (control.c; protocol in control/ctl.h) and
 * the Prometheus /metrics listener (metrics.c). Not a module API.
 */
#ifndef PKDNS_DAEMON_CONTROL_H
#define PKDNS_DAEMON_CONTROL_H

struct pkdns;
struct pkdns_control;
struct pkdns_metrics_http;

/** Clients served at once; more are closed at accept. */
#define PKDNS_CONTROL_MAX_CLIENTS 8
/** Seconds a client has to send its request, and to read the answer. */
#define PKDNS_CONTROL_TIMEOUT_S 5

/**
 * Bind the control socket: mode 0660, owner root (when root), group
 * group (when not NULL). A socket file that no daemon answers on is
 * replaced; one that answers is left alone (another pkdns runs).
 * @return the listener, or NULL after logging
 */
struct pkdns_control *pkdns_control_open(struct pkdns *d, const char *path, const char *group);

/** Close the listener and every client; removes the socket file. */
void pkdns_control_free(struct pkdns_control *c);

/**
 * Listen for HTTP on every metrics-listen address; GET /metrics answers
 * the Prometheus text format, anything else 404.
 * @return the listener, or NULL after logging
 */
struct pkdns_metrics_http *pkdns_metrics_open(struct pkdns *d);

/** Close it. */
void pkdns_metrics_free(struct pkdns_metrics_http *m);

#endif
