/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dht_util.c -- addresses, XOR distance, BEP 42 IDs, tokens, BEP 44 signable.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <ldns/sha1.h>
#include <sodium.h>

#include "dht/bencode.h"
#include "dht/dht_util.h"

static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

int
dht_addr_from_sockaddr(const struct sockaddr *sa, socklen_t salen,
	struct dht_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (sa == NULL)
		return -1;
	if (sa->sa_family == AF_INET && salen >= (socklen_t)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		out->family = 4;
		memcpy(out->ip, &s4->sin_addr, 4);
		out->port = ntohs(s4->sin_port);
		return 0;
	}
	if (sa->sa_family == AF_INET6 && salen >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		const uint8_t *b = s6->sin6_addr.s6_addr;
		if (memcmp(b, v4mapped, 12) == 0) {
			out->family = 4;
			memcpy(out->ip, b + 12, 4);
		} else {
			out->family = 6;
			memcpy(out->ip, b, 16);
		}
		out->port = ntohs(s6->sin6_port);
		return 0;
	}
	return -1;
}

socklen_t
dht_addr_to_sockaddr(const struct dht_addr *a, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == 4) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, a->ip, 4);
		s4->sin_port = htons(a->port);
		return sizeof(*s4);
	}
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	s6->sin6_family = AF_INET6;
	memcpy(&s6->sin6_addr, a->ip, 16);
	s6->sin6_port = htons(a->port);
	return sizeof(*s6);
}

bool
dht_addr_ip_eq(const struct dht_addr *a, const struct dht_addr *b)
{
	uint32_t x, y;

	if (a->family != b->family)
		return false;
	if (a->family != 4)
		return memcmp(a->ip, b->ip, 16) == 0;
	/* look-ups and the transaction table compare addresses in loops */
	memcpy(&x, a->ip, 4);
	memcpy(&y, b->ip, 4);
	return x == y;
}

bool
dht_addr_eq(const struct dht_addr *a, const struct dht_addr *b)
{
	return dht_addr_ip_eq(a, b) && a->port == b->port;
}

bool
dht_addr_is_loopback(const struct dht_addr *a)
{
	static const uint8_t lo6[16] = { [15] = 1 };

	if (a->family == 4)
		return a->ip[0] == 127;
	return a->family == 6 && memcmp(a->ip, lo6, 16) == 0;
}

bool
dht_addr_is_local(const struct dht_addr *a)
{
	const uint8_t *b = a->ip;

	if (dht_addr_is_loopback(a))
		return true;
	if (a->family == 4)
		return b[0] == 10 || (b[0] == 172 && (b[1] & 0xf0) == 16) ||
		       (b[0] == 192 && b[1] == 168) || (b[0] == 169 && b[1] == 254);
	if (a->family == 6)
		return (b[0] & 0xfe) == 0xfc || (b[0] == 0xfe && (b[1] & 0xc0) == 0x80);
	return false;
}

const char *
dht_addr_str(const struct dht_addr *a, char *buf, size_t cap)
{
	char ip[INET6_ADDRSTRLEN];

	if (a->family == 4) {
		inet_ntop(AF_INET, a->ip, ip, sizeof(ip));
		snprintf(buf, cap, "%s:%u", ip, a->port);
	} else if (a->family == 6) {
		inet_ntop(AF_INET6, a->ip, ip, sizeof(ip));
		snprintf(buf, cap, "[%s]:%u", ip, a->port);
	} else {
		snprintf(buf, cap, "(none)");
	}
	return buf;
}

size_t
dht_addr_compact(const struct dht_addr *a, uint8_t *out)
{
	size_t n = a->family == 4 ? 4 : a->family == 6 ? 16 : 0;

	if (n == 0)
		return 0;
	memcpy(out, a->ip, n);
	out[n] = (uint8_t)(a->port >> 8);
	out[n + 1] = (uint8_t)a->port;
	return n + 2;
}

int
dht_addr_uncompact(const uint8_t *p, size_t n, struct dht_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (n != 6 && n != 18)
		return -1;
	out->family = n == 6 ? 4 : 6;
	memcpy(out->ip, p, n - 2);
	out->port = (uint16_t)(p[n - 2] << 8 | p[n - 1]);
	return 0;
}

int
dht_id_cmp_dist(const uint8_t *target, const uint8_t *a, const uint8_t *b)
{
	for (int i = 0; i < 20; i++) {
		uint8_t da = a[i] ^ target[i], db = b[i] ^ target[i];
		if (da != db)
			return da < db ? -1 : 1;
	}
	return 0;
}

int
dht_id_common_bits(const uint8_t *a, const uint8_t *b)
{
	for (int i = 0; i < 20; i++) {
		uint8_t x = a[i] ^ b[i];
		if (x) {
			int n = 0;
			while (!(x & 0x80)) {
				x <<= 1;
				n++;
			}
			return i * 8 + n;
		}
	}
	return 160;
}

uint32_t
dht_crc32c(const uint8_t *p, size_t n)
{
	uint32_t crc = 0xffffffffu;

	for (size_t i = 0; i < n; i++) {
		crc ^= p[i];
		for (int b = 0; b < 8; b++)
			crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1u)));
	}
	return ~crc;
}

static int
bep42_prefix(const struct dht_addr *ip, uint8_t r, uint32_t *crc)
{
	static const uint8_t m4[4] = { 0x03, 0x0f, 0x3f, 0xff };
	static const uint8_t m6[8] = { 0x01, 0x03, 0x07, 0x0f, 0x1f, 0x3f, 0x7f, 0xff };
	uint8_t buf[8];
	size_t n;
	const uint8_t *m;

	if (ip->family == 4) {
		n = 4;
		m = m4;
	} else if (ip->family == 6) {
		n = 8;
		m = m6;
	} else {
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		buf[i] = ip->ip[i] & m[i];
	buf[0] |= (uint8_t)((r & 7) << 5);
	*crc = dht_crc32c(buf, n);
	return 0;
}

int
dht_bep42_make_id(const struct dht_addr *ip, uint8_t r, const uint8_t *rnd,
	uint8_t *id_out)
{
	uint32_t crc;

	if (bep42_prefix(ip, r, &crc) < 0)
		return -1;
	if (rnd)
		memcpy(id_out, rnd, 20);
	else
		memset(id_out, 0, 20);
	id_out[0] = (uint8_t)(crc >> 24);
	id_out[1] = (uint8_t)(crc >> 16);
	id_out[2] = (uint8_t)(((crc >> 8) & 0xf8) | (id_out[2] & 7));
	id_out[19] = r;
	return 0;
}

bool
dht_bep42_valid(const struct dht_addr *ip, const uint8_t *id)
{
	uint32_t crc;

	if (bep42_prefix(ip, id[19], &crc) < 0)
		return false;
	return id[0] == (uint8_t)(crc >> 24) && id[1] == (uint8_t)(crc >> 16) &&
	       (id[2] & 0xf8) == (uint8_t)((crc >> 8) & 0xf8);
}

void
dht_sha1(const void *p, size_t n, uint8_t out[20])
{
	/* ldns_sha1 takes an unsigned int length; DHT inputs are tiny. */
	ldns_sha1((const unsigned char *)p, (unsigned int)n, out);
}

void
dht_mutable_target(const uint8_t k[32], const uint8_t *salt, size_t salt_len,
	uint8_t out[20])
{
	uint8_t buf[32 + 64];

	if (salt_len > 64)
		salt_len = 64;
	memcpy(buf, k, 32);
	if (salt_len)
		memcpy(buf + 32, salt, salt_len);
	dht_sha1(buf, 32 + salt_len, out);
}

void
dht_tokens_init(struct dht_tokens *t, uint64_t now_ms)
{
	randombytes_buf(t->cur, sizeof(t->cur));
	randombytes_buf(t->prev, sizeof(t->prev));
	t->rotated_ms = now_ms;
}

void
dht_tokens_tick(struct dht_tokens *t, uint64_t now_ms)
{
	if (now_ms - t->rotated_ms < DHT_TOKEN_ROTATE_MS)
		return;
	memcpy(t->prev, t->cur, sizeof(t->cur));
	randombytes_buf(t->cur, sizeof(t->cur));
	t->rotated_ms = now_ms;
}

static void
token_with(const uint8_t secret[16], const struct dht_addr *a, uint8_t *out)
{
	uint8_t buf[16 + 16], md[20];
	size_t n = a->family == 4 ? 4 : 16;

	memcpy(buf, a->ip, n);
	memcpy(buf + n, secret, 16);
	dht_sha1(buf, n + 16, md);
	memcpy(out, md, DHT_TOKEN_LEN);
}

void
dht_token_make(const struct dht_tokens *t, const struct dht_addr *a,
	uint8_t out[DHT_TOKEN_LEN])
{
	token_with(t->cur, a, out);
}

bool
dht_token_check(const struct dht_tokens *t, const struct dht_addr *a,
	const uint8_t *tok, size_t n)
{
	uint8_t want[DHT_TOKEN_LEN];

	if (n != DHT_TOKEN_LEN)
		return false;
	token_with(t->cur, a, want);
	if (sodium_memcmp(want, tok, n) == 0)
		return true;
	token_with(t->prev, a, want);
	return sodium_memcmp(want, tok, n) == 0;
}

int
dht_signable_raw(uint8_t *out, size_t cap, const uint8_t *salt,
	size_t salt_len, int64_t seq, const uint8_t *v_bencoded, size_t v_len)
{
	struct bencode_writer w;

	bencode_writer_init(&w, out, cap);
	if (salt_len) {
		bencode_put_cstr(&w, "salt");
		bencode_put_str(&w, salt, salt_len);
	}
	bencode_put_cstr(&w, "seq");
	bencode_put_int(&w, seq);
	bencode_put_cstr(&w, "v");
	bencode_put_raw(&w, v_bencoded, v_len);
	return bencode_writer_done(&w);
}
