/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_tcp_framing.c -- libFuzzer target for the TCP input path of the
 * DNS front end (src/dns/server.c: length-prefixed stream reassembly,
 * RFC 1035 section 4.2.2 and RFC 7766), fed through a socketpair handed
 * to dns_server_tcp_adopt(), in chunks the input chooses.
 *
 * Input: byte 0 is the configuration (bits 0-2: queries in flight per
 * connection 1..8; bit 3: the handler holds every query with an odd ID
 * and answers it after the stream ends; bit 4: the client closes its end
 * before the held answers come). Then chunks, each a length byte N and
 * N bytes written in one send(); the event loop runs between chunks.
 *
 * Besides memory safety (and no leak once the server is freed) it checks:
 * every frame the server sends is a whole DNS reply (length >= 12, QR=1)
 * with the ID of a frame that was sent, never more replies than queries
 * the stream delivered whole; with the client still reading,
 * every query that the stream delivered whole before any garbage frame,
 * and that is not itself a reply, gets exactly one answer.
 *
 * Not built by make: build by hand, e.g.
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -I<dir with an empty config.h> -Isrc tests/fuzz/fuzz_tcp_framing.c \
 *     src/dns/server.c src/dns/msg.c src/dns/ede.c src/util/log.c src/util/netaddr.c \
 *     src/util/connlimit.c \
 *     src/http/tls.c -levent -levent_openssl -lssl -lcrypto -o fuzz_tcp_framing
 *   ./fuzz_tcp_framing -max_len=4096 -max_total_time=120
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "dns/msg.h"
#include "dns/server.h"
#include "../unit/testutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_HELD 256

struct fz {
	bool hold_odd;
	struct dns_query *held[MAX_HELD];
	size_t n_held;
	unsigned handled;
	uint8_t ids[65536 / 8]; /* IDs of the whole frames sent so far */
};

static void
answer(struct dns_query *q)
{
	size_t cap;
	uint8_t *b = dns_query_buf(q, &cap);
	size_t len = DNS_HDR_LEN + q->info.qname_len + 4;

	tu_check(cap >= len);
	memset(b, 0, DNS_HDR_LEN);
	b[2] = 0x81;
	b[3] = 0x80;
	dns_put16(b + 4, 1);
	memcpy(b + DNS_HDR_LEN, q->info.qname, q->info.qname_len);
	dns_put16(b + DNS_HDR_LEN + q->info.qname_len, q->info.qtype);
	dns_put16(b + DNS_HDR_LEN + q->info.qname_len + 2, q->info.qclass);
	dns_query_answer(q, len);
}

static void
handler(void *ctx, struct dns_query *q)
{
	struct fz *f = ctx;

	tu_check(q->tcp);
	f->handled++;
	if (f->hold_odd && (q->info.id & 1) && f->n_held < MAX_HELD) {
		struct dns_query *h = dns_query_hold(q);
		if (h)
			f->held[f->n_held++] = h;
		return;
	}
	answer(q);
}

/* Read what the server sent; check each whole frame. */
static void
drain(int fd, uint8_t *buf, size_t *have, size_t cap, unsigned *frames, const struct fz *f)
{
	for (;;) {
		ssize_t n = recv(fd, buf + *have, cap - *have, MSG_DONTWAIT);
		if (n <= 0)
			break;
		*have += (size_t)n;
		while (*have >= 2) {
			size_t l = dns_get16(buf);
			if (*have < l + 2)
				break;
			tu_check(l >= DNS_HDR_LEN);
			tu_check(buf[2 + 2] & 0x80);
			uint16_t id = dns_get16(buf + 2);
			tu_check(f->ids[id / 8] & (1u << (id % 8)));
			(*frames)++;
			memmove(buf, buf + 2 + l, *have - 2 - l);
			*have -= l + 2;
		}
		if (*have == cap)
			*have = 0; /* cannot happen: frames are < 64 KiB + 2 */
	}
}

/* Note the IDs of the whole frames in the stream sent so far: errors
 * (FORMERR, NOTIMP...) are answered without the handler, with the ID. */
static void
mark_ids(const uint8_t *s, size_t len, struct fz *f)
{
	size_t o = 0;

	while (o + 2 <= len) {
		size_t l = dns_get16(s + o);
		if (o + 2 + l > len)
			break;
		if (l >= 2)
			f->ids[dns_get16(s + o + 2) / 8] |= (uint8_t)(1u << (dns_get16(s + o + 2) % 8));
		o += 2 + l;
	}
}

/* How many queries the byte stream holds that the server must answer:
 * whole frames up to the first one too short to be a message (the
 * server closes the stream there), without replies (QR=1, dropped). */
static unsigned
expected_answers(const uint8_t *s, size_t len)
{
	unsigned n = 0;
	size_t o = 0;
	struct dns_msginfo mi;

	while (o + 2 <= len) {
		size_t l = dns_get16(s + o);
		if (l < DNS_HDR_LEN || o + 2 + l > len)
			break;
		if (dns_msg_parse_query(s + o + 2, l, &mi) != -1)
			n++;
		o += 2 + l;
	}
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct event_base *base;
	struct fz f;
	struct dns_server *srv;
	struct dns_server_config cfg = {
		.edns_buffer_size = 1232,
		.tcp_idle_timeout_s = 30,
		.tcp_max_connections = 4,
		.tcp_max_per_client = 2,
	};
	struct sockaddr_in peer;
	int sv[2];
	uint8_t *stream, *out;
	size_t stream_len = 0, have = 0, o = 1;
	unsigned frames = 0;
	bool close_early;

	if (size < 1)
		return 0;
	if (!base) {
		signal(SIGPIPE, SIG_IGN);
		base = event_base_new();
		if (!base)
			abort();
	}
	memset(&f, 0, sizeof(f));
	cfg.tcp_max_pipelined = 1 + (data[0] & 7);
	f.hold_odd = data[0] & 8;
	close_early = data[0] & 16;
	srv = dns_server_new(base, &cfg, handler, &f);
	stream = malloc(size);
	out = malloc(70000);
	if (!srv || !stream || !out || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		abort();
	memset(&peer, 0, sizeof(peer));
	peer.sin_family = AF_INET;
	peer.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	tu_check(dns_server_tcp_adopt(srv, sv[0], (struct sockaddr *)&peer, sizeof(peer)) == 0);

	while (o < size) {
		size_t n = data[o++];
		if (n > size - o)
			n = size - o;
		if (n && send(sv[1], data + o, n, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)n) {
			memcpy(stream + stream_len, data + o, n);
			stream_len += n;
			mark_ids(stream, stream_len, &f);
		}
		o += n;
		for (int i = 0; i < 3; i++)
			event_base_loop(base, EVLOOP_NONBLOCK);
		drain(sv[1], out, &have, 70000, &frames, &f);
	}
	if (close_early)
		shutdown(sv[1], SHUT_RDWR);
	/* the loop may pause reading at the pipeline limit: keep answering
	 * held queries and pumping until nothing moves */
	for (int round = 0; round < 64; round++) {
		unsigned before = frames, handled = f.handled;
		size_t n_held = f.n_held;
		struct dns_query *now[MAX_HELD];
		/* an answer may resume reading, and the handler hold more */
		memcpy(now, f.held, n_held * sizeof(now[0]));
		f.n_held = 0;
		for (size_t i = 0; i < n_held; i++)
			answer(now[i]);
		for (int i = 0; i < 3; i++)
			event_base_loop(base, EVLOOP_NONBLOCK);
		if (!close_early)
			drain(sv[1], out, &have, 70000, &frames, &f);
		if (frames == before && f.handled == handled && n_held == 0 && f.n_held == 0)
			break;
	}
	tu_check(f.n_held == 0);
	tu_check(frames <= expected_answers(stream, stream_len));
	if (!close_early)
		tu_check(frames == expected_answers(stream, stream_len));
	close(sv[1]);
	for (int i = 0; i < 3; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
	dns_server_free(srv);
	free(stream);
	free(out);
	return 0;
}
