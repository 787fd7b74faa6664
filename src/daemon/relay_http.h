/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * relay_http.h -- mounts the pkarr relay API (relay_api.h) on the HTTP
 * server (http/http.h): GET, PUT and OPTIONS under "/", so that
 * `http-listen: 127.0.0.1:6881` is the "local Pkarr server" web apps look
 * for (pkarr design/relays.md). Longer prefixes (doh-path) win.
 */
#ifndef PKDNS_DAEMON_RELAY_HTTP_H
#define PKDNS_DAEMON_RELAY_HTTP_H

struct http_server;
struct relay_api;

/**
 * Add the relay API's route.
 * @param s the HTTP server (NULL: nothing to do)
 * @param api the relay API
 * @return 0, or -1 (out of memory)
 */
int relay_http_mount(struct http_server *s, struct relay_api *api);

#endif
