/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tls.c -- OpenSSL server contexts for DoT and HTTPS (see tls.h).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/util.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#define LOG_MODULE "tls"
#include "http/tls.h"
#include "util/log.h"

struct tls_server {
	SSL_CTX *ctx[2];   /* by enum tls_alpn */
};

static void
log_ssl_errors(const char *what, const char *file)
{
	unsigned long e = ERR_get_error();
	char buf[256];

	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	else
		strcpy(buf, "unknown error");
	log_err("%s %s: %s", what, file ? file : "", buf);
	ERR_clear_error();
}

/* RFC 7301: pick the first of our protocols that the client offers. A
 * client that offers none of ours: HTTPS answers no_application_protocol
 * only for a client that offers ALPN with other protocols, DoT serves
 * clients that offer nothing or something else (RFC 7858 predates ALPN
 * "dot"; kdig offers none). */
static int
alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
    unsigned inlen, void *arg)
{
	static const unsigned char dot[] = "\x03" "dot";
	static const unsigned char http[] = "\x02" "h2" "\x08" "http/1.1";
	int which = (int)(intptr_t)arg;
	const unsigned char *ours = which == TLS_ALPN_DOT ? dot : http;
	unsigned ours_len = which == TLS_ALPN_DOT ? sizeof(dot) - 1 : sizeof(http) - 1;
	(void)ssl;

	for (unsigned i = 0; i < ours_len; i += 1u + ours[i]) {
		for (unsigned j = 0; j < inlen; j += 1u + in[j]) {
			if (j + 1u + in[j] > inlen)
				break;
			if (in[j] == ours[i] && memcmp(in + j + 1, ours + i + 1, ours[i]) == 0) {
				*out = in + j + 1;
				*outlen = in[j];
				return SSL_TLSEXT_ERR_OK;
			}
		}
	}
	return which == TLS_ALPN_DOT ? SSL_TLSEXT_ERR_NOACK : SSL_TLSEXT_ERR_ALERT_FATAL;
}

static SSL_CTX *
ctx_load(const char *cert, const char *key, int which)
{
	SSL_CTX *c = SSL_CTX_new(TLS_server_method());

	if (!c) {
		log_ssl_errors("SSL_CTX_new", NULL);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
	SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	/* tickets are on by default (random key per context); a server-side
	 * cache as well for TLS 1.2 clients that use session IDs */
	SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_SERVER);
	SSL_CTX_sess_set_cache_size(c, 4096);
	/* one TLS 1.3 ticket per handshake (OpenSSL sends two): a DNS
	 * client keeps one connection, and each ticket costs an encryption */
	SSL_CTX_set_num_tickets(c, 1);
	SSL_CTX_set_session_id_context(c, (const unsigned char *)(which ? "pkdns-h" : "pkdns-d"), 7);
	/* bufferevent_openssl writes from an evbuffer whose chunks move */
	SSL_CTX_set_mode(c, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_use_certificate_chain_file(c, cert) != 1) {
		log_ssl_errors("cannot load certificate chain", cert);
		SSL_CTX_free(c);
		return NULL;
	}
	if (SSL_CTX_use_PrivateKey_file(c, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(c) != 1) {
		log_ssl_errors("cannot load private key (or it does not match the certificate)", key);
		SSL_CTX_free(c);
		return NULL;
	}
	SSL_CTX_set_alpn_select_cb(c, alpn_select, (void *)(intptr_t)which);
	return c;
}

static int
load_both(SSL_CTX *out[2], const char *cert, const char *key)
{
	out[0] = ctx_load(cert, key, TLS_ALPN_DOT);
	if (!out[0])
		return -1;
	out[1] = ctx_load(cert, key, TLS_ALPN_HTTP);
	if (!out[1]) {
		SSL_CTX_free(out[0]);
		return -1;
	}
	return 0;
}

struct tls_server *
tls_server_new(const char *cert_file, const char *key_file)
{
	struct tls_server *t;

	if (!cert_file || !key_file) {
		log_err("TLS listeners need both tls-cert and tls-key");
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	if (load_both(t->ctx, cert_file, key_file) < 0) {
		free(t);
		return NULL;
	}
	return t;
}

int
tls_server_reload(struct tls_server *t, const char *cert_file, const char *key_file)
{
	SSL_CTX *n[2];

	if (!cert_file || !key_file || load_both(n, cert_file, key_file) < 0) {
		log_err("keeping the old certificate");
		return -1;
	}
	for (int i = 0; i < 2; i++) {
		SSL_CTX_free(t->ctx[i]);
		t->ctx[i] = n[i];
	}
	log_info("certificate %s reloaded", cert_file);
	return 0;
}

SSL *
tls_server_ssl(struct tls_server *t, enum tls_alpn alpn)
{
	SSL *ssl = SSL_new(t->ctx[alpn == TLS_ALPN_HTTP]);

	if (!ssl)
		ERR_clear_error();
	return ssl;
}

int
tls_ssl_is_h2(const SSL *ssl)
{
	const unsigned char *p;
	unsigned n;

	SSL_get0_alpn_selected(ssl, &p, &n);
	return n == 2 && memcmp(p, "h2", 2) == 0;
}

void
tls_server_free(struct tls_server *t)
{
	if (!t)
		return;
	SSL_CTX_free(t->ctx[0]);
	SSL_CTX_free(t->ctx[1]);
	free(t);
}

struct bufferevent *
tls_server_accept_bev(struct event_base *base, int fd, struct tls_server *tls,
    enum tls_alpn alpn)
{
	struct bufferevent *bev;
	SSL *ssl = NULL;

	if ((tls && !(ssl = tls_server_ssl(tls, alpn))) ||
	    evutil_make_socket_nonblocking(fd) < 0) {
		if (ssl)
			SSL_free(ssl);
		close(fd);
		return NULL;
	}
	if (!ssl) {
		bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
		if (!bev)
			close(fd);
		return bev;
	}
	/* the bufferevent owns ssl from here (freed with it, or on failure) */
	bev = bufferevent_openssl_socket_new(base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
	    BEV_OPT_CLOSE_ON_FREE);
	if (bev)
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	else
		close(fd);
	return bev;
}
