/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_http.c -- libFuzzer target for the HTTP request path pkdns wrote
 * itself (src/http/parse.c: HTTP/1.1 request heads, query strings,
 * base64url, X-Forwarded-For; src/http/doh.c: doh_min_ttl) and for the
 * server around nghttp2 (src/http/http.c, http1.c, h2.c): the input is
 * written into a socketpair handed to http_server_adopt() and the event
 * loop runs, so nghttp2 sessions and the HTTP/1.1 reader see arbitrary
 * bytes, with a route that answers at once or on the next loop turn.
 *
 * Input: byte 0 is the configuration (bit 0: prefix the HTTP/2
 * connection preface, so that the bytes reach nghttp2's frame parser;
 * bit 1: the route answers later, from a timer; bit 2: the client
 * closes before that answer). The rest is the stream, written in chunks
 * of (byte 1 & 63) + 1 bytes with the loop run between them.
 *
 * Besides memory safety (and no leak once the server is freed) it checks
 * what the parsers promise: a parsed head is no longer than the input,
 * base64url never decodes to more than 3/4 of its length.
 *
 * Not built by make: build by hand, e.g.
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -I<dir with an empty config.h> -Isrc tests/fuzz/fuzz_http.c \
 *     src/http/http.c src/http/http1.c src/http/h2.c src/http/parse.c \
 *     src/http/doh.c src/http/tls.c src/dns/server.c src/dns/msg.c \
 *     src/util/log.c src/util/netaddr.c src/util/connlimit.c \
 *     -levent -levent_openssl -lssl -lcrypto -lnghttp2 -o fuzz_http
 *   ./fuzz_http -max_len=8192 -max_total_time=120
 */
#include "config.h"

#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <netinet/in.h>

#include <event2/event.h>

#include "http/doh.h"
#include "http/http.h"
#include "http/parse.h"

struct held {
	struct http_req *req;
	struct event *ev;
	struct held **list;
};

struct fz {
	struct event_base *base;
	bool later;
	struct held *pending;  /* at most one held request at a time */
};

static void
held_free(struct held *h)
{
	*h->list = NULL;
	event_free(h->ev);
	free(h);
}

static void
answer_later(evutil_socket_t fd, short what, void *arg)
{
	struct held *h = arg;
	(void)fd;
	(void)what;
	http_resp_header(h->req, "X-Test", "later");
	http_reply(h->req, 200, "text/plain", "late\n", 5);
	held_free(h);
}

static void
aborted(void *ctx, struct http_req *req)
{
	(void)req;
	held_free(ctx);
}

static void
route(void *ctx, struct http_req *req)
{
	struct fz *f = ctx;
	struct timeval tv = { 0, 0 };

	if (f->later && !f->pending) {
		struct held *h = calloc(1, sizeof(*h));
		if (h) {
			h->req = req;
			h->list = &f->pending;
			h->ev = evtimer_new(f->base, answer_later, h);
			if (h->ev) {
				f->pending = h;
				http_req_on_abort(req, aborted, h);
				evtimer_add(h->ev, &tv);
				return;
			}
			free(h);
		}
	}
	http_resp_header(req, "Cache-Control", "max-age=1");
	http_reply(req, 200, "application/octet-stream", req->body, req->body_len);
}

static void
parsers(const uint8_t *data, size_t size)
{
	struct h1_head h;
	struct h1_str v;
	uint8_t out[1024];
	struct sockaddr_storage ss;
	socklen_t sl;

	if (h1_parse_head((const char *)data, size, &h) == H1_OK && h.head_len > size)
		abort();
	if (http_query_param((const char *)data, size, "dns", &v)) {
		if (v.p < (const char *)data || v.p + v.n > (const char *)data + size)
			abort();
		long n = http_b64url_decode(v.p, v.n, out, sizeof(out));
		if (n > 0 && (size_t)n > v.n * 3 / 4)
			abort();
	}
	long n = http_b64url_decode((const char *)data, size, out, sizeof(out));
	if (n > 0 && (size_t)n > size * 3 / 4)
		abort();
	http_xff_parse((const char *)data, size, &ss, &sl);
	doh_min_ttl(data, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
	struct http_server_config cfg = { .max_connections = 4, .max_streams = 8,
		.max_header = 1024, .max_body = 2048, .max_body_total = 3000, .idle_timeout_s = 5,
		.request_timeout_ms = 1000 };
	struct sockaddr_in peer = { .sin_family = AF_INET, .sin_port = htons(4242),
		.sin_addr.s_addr = htonl(0x7f000001) };
	struct fz f = { 0 };
	struct http_server *s;
	int sv[2];
	uint8_t sink[4096];

	if (size < 2)
		return 0;
	parsers(data + 2, size - 2);
	signal(SIGPIPE, SIG_IGN);
	f.base = event_base_new();
	f.later = data[0] & 2;
	s = http_server_new(f.base, &cfg);
	http_route_add(s, HTTP_GET | HTTP_POST | HTTP_PUT | HTTP_OPTIONS, "/", route, &f);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) < 0)
		abort();
	http_server_adopt(s, sv[0], (struct sockaddr *)&peer, sizeof(peer), NULL);
	if (data[0] & 1)
		(void)!write(sv[1], preface, sizeof(preface) - 1);
	size_t chunk = (size_t)(data[1] & 63) + 1;
	for (size_t off = 2; off < size; off += chunk) {
		size_t n = size - off < chunk ? size - off : chunk;
		(void)!write(sv[1], data + off, n);
		event_base_loop(f.base, EVLOOP_NONBLOCK);
		while (read(sv[1], sink, sizeof(sink)) > 0)
			;
	}
	if (data[0] & 4)
		shutdown(sv[1], SHUT_WR);
	for (int i = 0; i < 4; i++) {
		event_base_loop(f.base, EVLOOP_NONBLOCK);
		while (read(sv[1], sink, sizeof(sink)) > 0)
			;
	}
	http_server_free(s);  /* aborts what is still held */
	close(sv[1]);
	event_base_free(f.base);
	return 0;
}
