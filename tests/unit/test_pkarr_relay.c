/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_pkarr_relay.c -- the relay protocol's pieces (src/pkarr/relay.h):
 * payload round trip and refusals, request paths, HTTP dates in all
 * three forms, If-Modified-Since, max-age and relay URLs.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "pkarr/relay.h"
#include "pkarr/zbase32.h"
#include "tap.h"

/* a DNS message: "_x.<key>" A with TTL 120 and "_y.<key>" TXT with 30 */
static size_t
make_dns(uint8_t *b, const uint8_t pk[32])
{
	static const uint8_t hdr[] = { 0, 0, 0x84, 0, 0, 0, 0, 2, 0, 0, 0, 0 };
	static const uint8_t a[] = { 0, 1, 0, 1, 0, 0, 0, 120, 0, 4, 127, 0, 0, 1 };
	static const uint8_t txt[] = { 0, 16, 0, 1, 0, 0, 0, 30, 0, 2, 1, 'a' };
	char z[PKARR_Z32_KEY_LEN + 1];
	size_t o = sizeof(hdr);

	pkarr_z32_encode(pk, z);
	memcpy(b, hdr, o);
	for (int i = 0; i < 2; i++) {
		b[o++] = 2;
		b[o++] = '_';
		b[o++] = i ? 'y' : 'x';
		b[o++] = PKARR_Z32_KEY_LEN;
		memcpy(b + o, z, PKARR_Z32_KEY_LEN);
		o += PKARR_Z32_KEY_LEN;
		b[o++] = 0;
		memcpy(b + o, i ? txt : a, i ? sizeof(txt) : sizeof(a));
		o += i ? sizeof(txt) : sizeof(a);
	}
	return o;
}

static void
test_payload(void)
{
	static const uint8_t seed[32] = { [31] = 7 };
	struct pkarr_packet p, q;
	uint8_t dns[256], buf[PKARR_RELAY_PAYLOAD_MAX + 100], other[32];
	size_t dl, len;
	struct pkarr_answer_params ap = { 60, 86400 };

	ok(pkarr_packet_sign(&p, seed, 1, (const uint8_t *)"\0\0\x84\0\0\0\0\0\0\0\0\0", 12) ==
	    0, "sign (to learn the key)");
	dl = make_dns(dns, p.pk);
	ok(pkarr_packet_sign(&p, seed, 1700000000123456ull, dns, dl) == 0, "sign");
	ok(pkarr_relay_encode(&p, buf, sizeof(buf), &len) == 0, "encode");
	is_int(len, 64 + 8 + dl, "payload is sig | seq | dns");
	/* seq: 8 bytes big endian right after the signature */
	is_int(buf[64], 0x00, "seq big endian (first byte)");
	is_int(((uint64_t)buf[65] << 48 | (uint64_t)buf[66] << 40 | (uint64_t)buf[67] << 32 | (uint64_t)buf[68] << 24 |
	    (uint64_t)buf[69] << 16 | (uint64_t)buf[70] << 8 | buf[71]), 1700000000123456ull,
	    "seq big endian (value)");
	ok(memcmp(buf, p.sig, 64) == 0, "signature first");
	ok(pkarr_relay_decode(&q, p.pk, buf, len) == 0, "decode");
	ok(q.ts_us == p.ts_us && q.dns_len == dl && memcmp(q.dns, dns, dl) == 0, "round trip");
	is_int(pkarr_relay_encode(&p, buf, len - 1, &len), PKARR_E_SPACE, "short buffer");
	pkarr_relay_encode(&p, buf, sizeof(buf), &len);
	buf[3] ^= 1;
	is_int(pkarr_relay_decode(&q, p.pk, buf, len), PKARR_E_SIG, "forged signature");
	buf[3] ^= 1;
	buf[71] ^= 1;
	is_int(pkarr_relay_decode(&q, p.pk, buf, len), PKARR_E_SIG, "other seq");
	buf[71] ^= 1;
	memcpy(other, p.pk, 32);
	other[0] ^= 1;
	ok(pkarr_relay_decode(&q, other, buf, len) < 0, "other key");
	is_int(pkarr_relay_decode(&q, p.pk, buf, 71), PKARR_E_SIZE, "71 bytes: too short");
	is_int(pkarr_relay_decode(&q, p.pk, buf, PKARR_RELAY_PAYLOAD_MAX + 1), PKARR_E_SIZE,
	    "1073 bytes: too long");
	is_int(pkarr_relay_max_age(&p, &ap), 60, "max-age: smallest TTL, clamped up to 60");
	ap.min_ttl = 10;
	is_int(pkarr_relay_max_age(&p, &ap), 30, "max-age: smallest TTL");
}

static void
test_path(void)
{
	uint8_t pk[32], back[32];
	char z[PKARR_Z32_KEY_LEN + 1], path[128];

	memset(pk, 0xa5, 32);
	pkarr_z32_encode(pk, z);
	snprintf(path, sizeof(path), "/%s", z);
	ok(pkarr_relay_path_key(path, strlen(path), back) == 0 && memcmp(back, pk, 32) == 0,
	    "path /<key>");
	snprintf(path, sizeof(path), "/%s?x=1", z);
	ok(pkarr_relay_path_key(path, strlen(path), back) == 0, "path with a query");
	snprintf(path, sizeof(path), "/%s/", z);
	ok(pkarr_relay_path_key(path, strlen(path), back) < 0, "trailing slash refused");
	snprintf(path, sizeof(path), "%s", z);
	ok(pkarr_relay_path_key(path, strlen(path), back) < 0, "no leading slash");
	snprintf(path, sizeof(path), "/%s", z);
	ok(pkarr_relay_path_key(path, strlen(path) - 1, back) < 0, "51 characters");
	path[5] = '0'; /* not in the alphabet */
	ok(pkarr_relay_path_key(path, strlen(path), back) < 0, "bad character");
	ok(pkarr_relay_path_key("/dns-query", 10, back) < 0, "/dns-query is no key");
}

static void
test_dates(void)
{
	char d[PKARR_RELAY_DATE_LEN];
	uint64_t t;

	pkarr_relay_http_date(784111777, d);
	ok(strcmp(d, "Sun, 06 Nov 1994 08:49:37 GMT") == 0, "format: %s", d);
	pkarr_relay_http_date(0, d);
	ok(strcmp(d, "Thu, 01 Jan 1970 00:00:00 GMT") == 0, "format epoch: %s", d);
	pkarr_relay_http_date(951782400, d);
	ok(strcmp(d, "Tue, 29 Feb 2000 00:00:00 GMT") == 0, "format leap day: %s", d);
	ok(pkarr_relay_parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT", 29, &t) == 0 &&
	    t == 784111777, "IMF-fixdate");
	ok(pkarr_relay_parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT", 30, &t) == 0 &&
	    t == 784111777, "RFC 850");
	ok(pkarr_relay_parse_http_date("Sun Nov  6 08:49:37 1994", 24, &t) == 0 &&
	    t == 784111777, "asctime");
	ok(pkarr_relay_parse_http_date("Fri, 18 Oct 2024 13:24:21 GMT", 29, &t) == 0 &&
	    t == 1729257861, "relays.md's example");
	ok(pkarr_relay_parse_http_date("Sun, 06 Nov 1994 08:49:37 UTC", 29, &t) < 0, "not GMT");
	ok(pkarr_relay_parse_http_date("Sun, 31 Nov 1994 08:49:37 GMT", 29, &t) < 0, "Nov 31");
	ok(pkarr_relay_parse_http_date("Sun, 29 Feb 2001 08:49:37 GMT", 29, &t) < 0,
	    "Feb 29 2001");
	ok(pkarr_relay_parse_http_date("Sun, 06 Nov 1994 24:49:37 GMT", 29, &t) < 0, "hour 24");
	ok(pkarr_relay_parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT ", 30, &t) < 0,
	    "trailing byte");
	ok(pkarr_relay_parse_http_date("1729257861", 10, &t) < 0, "a number");
	ok(pkarr_relay_parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT", 20, &t) < 0,
	    "length bounds the read");
	ok(pkarr_relay_modified_since(1729257861999999ull, 1729257860), "modified since");
	ok(!pkarr_relay_modified_since(1729257861999999ull, 1729257861), "same second: 304");
	ok(!pkarr_relay_modified_since(1729257861000000ull, 1729257900), "later date: 304");
}

static void
test_urls(void)
{
	struct pkarr_relay_url u;

	ok(pkarr_relay_url_parse("https://relay.pkarr.org", &u) == 0 && u.https &&
	    strcmp(u.host, "relay.pkarr.org") == 0 && u.port == 443 && u.path[0] == 0,
	    "https default port");
	ok(pkarr_relay_url_parse("http://127.0.0.1:6881/", &u) == 0 && !u.https &&
	    strcmp(u.host, "127.0.0.1") == 0 && u.port == 6881 && u.path[0] == 0,
	    "http with port, trailing slash");
	ok(pkarr_relay_url_parse("http://[::1]:8080/pkarr/", &u) == 0 &&
	    strcmp(u.host, "::1") == 0 && u.port == 8080 && strcmp(u.path, "/pkarr") == 0,
	    "IPv6 literal and a path");
	ok(pkarr_relay_url_parse("ftp://x", &u) < 0, "other scheme");
	ok(pkarr_relay_url_parse("http://", &u) < 0, "no host");
	ok(pkarr_relay_url_parse("http://x:0", &u) < 0, "port 0");
	ok(pkarr_relay_url_parse("http://x:65536", &u) < 0, "port too big");
	ok(pkarr_relay_url_parse("http://u@x", &u) < 0, "user info");
	ok(pkarr_relay_url_parse("http://x/a?b", &u) < 0, "query");
	ok(pkarr_relay_url_parse("http://x/a b", &u) < 0, "space");
}

int
main(void)
{
	test_payload();
	test_path();
	test_dates();
	test_urls();
	return tap_done();
}
