/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tls.h -- the server side of TLS for DoT (RFC 7858) and HTTPS (DoH,
 * RFC 8484): one certificate chain and key, TLS 1.2 and later only,
 * ALPN ("dot" for DoT; "h2" then "http/1.1" for HTTPS), session
 * resumption by tickets (RFC 5077/8446; the ticket key lives in memory
 * and changes on reload) and a session cache.
 *
 * tls_server_reload() re-reads the files (SIGHUP); on failure the old
 * certificate stays. Connections already open keep the context they
 * started with (OpenSSL counts references).
 *
 * Errors: 0 or -1, NULL; every failure is logged.
 */
#ifndef PKDNS_HTTP_TLS_H
#define PKDNS_HTTP_TLS_H

#include <openssl/ssl.h>

struct tls_server;

/** Which protocols a listener offers in ALPN. */
enum tls_alpn {
	TLS_ALPN_DOT = 0,   /**< "dot" (a client offering no ALPN is served too) */
	TLS_ALPN_HTTP = 1,  /**< "h2", "http/1.1" */
};

/**
 * Load a certificate chain and its key (PEM).
 * @return the context, or NULL after logging why
 */
struct tls_server *tls_server_new(const char *cert_file, const char *key_file);

/**
 * Read the files again (for SIGHUP); the old context stays on failure.
 * @param cert_file, key_file the (possibly changed) paths
 * @return 0, or -1 after logging why
 */
int tls_server_reload(struct tls_server *t, const char *cert_file, const char *key_file);

/**
 * A new server-side SSL for one accepted connection.
 * @return the SSL (the caller frees it, or hands it to a bufferevent), or NULL
 */
SSL *tls_server_ssl(struct tls_server *t, enum tls_alpn alpn);

/** @return true when the SSL negotiated ALPN "h2" */
int tls_ssl_is_h2(const SSL *ssl);

struct bufferevent;
struct event_base;

/**
 * The bufferevent of an accepted connection: made non-blocking, over TLS
 * (accepting, a dirty shutdown allowed) when tls is not NULL, plain
 * otherwise. It owns fd (closed when it is freed).
 * @param tls the listener's TLS context, or NULL for plain TCP
 * @return the bufferevent, or NULL with fd closed
 */
struct bufferevent *tls_server_accept_bev(struct event_base *base, int fd,
    struct tls_server *tls, enum tls_alpn alpn);

/** Free the context (connections using it keep their reference). */
void tls_server_free(struct tls_server *t);

#endif
