/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * relay_http.h -- INTERIM plain HTTP/1.1 listeners (`http-listen`) that
 * serve the pkarr relay API (relay_api.h) until the shared HTTP/1.1 +
 * HTTP/2 + TLS listeners take the route. Other paths get 404.
 */
#ifndef PKDNS_DAEMON_RELAY_HTTP_H
#define PKDNS_DAEMON_RELAY_HTTP_H

#include <stddef.h>

struct conf_addr;
struct event_base;
struct relay_api;
struct relay_http;

/**
 * Listen on each address.
 * @param base the event loop
 * @param api the relay API the requests go to
 * @param addrs the addresses (http-listen)
 * @param n how many
 * @return the listeners, or NULL (an address could not be bound; logged)
 */
struct relay_http *relay_http_new(struct event_base *base, struct relay_api *api,
    const struct conf_addr *addrs, size_t n);

/** Close the listeners and their connections (NULL is fine). */
void relay_http_free(struct relay_http *rh);

#endif
