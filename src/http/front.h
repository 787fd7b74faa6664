/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * front.h -- the encrypted and HTTP front ends as the daemon sets them
 * up from its config: the certificate (tls-cert, tls-key), DoT
 * listeners (tls-listen) on the DNS server, the HTTP server with its
 * HTTPS and plain listeners (https-listen, http-listen) and DoH mounted
 * at doh-path. Other modules mount their routes on http_front_server().
 */
#ifndef PKDNS_HTTP_FRONT_H
#define PKDNS_HTTP_FRONT_H

struct conf;
struct dns_server;
struct event_base;
struct http_front;
struct http_server;

/**
 * Create the HTTP server (no listeners yet) and the certificate when a
 * TLS listener is configured; mount DoH.
 * @return the front end, or NULL after logging why (bad certificate...)
 */
struct http_front *http_front_new(struct event_base *base, const struct conf *cfg,
    struct dns_server *dns);

/** The HTTP server, for http_route_add(). */
struct http_server *http_front_server(struct http_front *f);

/**
 * Open tls-listen, https-listen and http-listen.
 * @return 0, or -1 after logging which address failed
 */
int http_front_listen(struct http_front *f, const struct conf *cfg);

/**
 * SIGHUP: read the certificate and key again (the old ones stay when the
 * new ones do not load).
 */
void http_front_reload(struct http_front *f, const struct conf *cfg);

/** Stop accepting (shutdown); open connections are served to the end. */
void http_front_close_listeners(struct http_front *f);

/** Free everything (before the DNS server: requests in flight are cancelled). */
void http_front_free(struct http_front *f);

#endif
