/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_http_parse.c -- src/http/parse.c and doh_min_ttl through their
 * headers: HTTP/1.1 request heads (RFC 9112), query parameters,
 * base64url (RFC 4648 section 5), X-Forwarded-For, DoH freshness.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "http/doh.h"
#include "http/http.h"
#include "http/parse.h"
#include "tap.h"

static int
head(const char *s, struct h1_head *h)
{
	return h1_parse_head(s, strlen(s), h);
}

int
main(void)
{
	struct h1_head h;
	struct h1_str v;
	uint8_t out[64];
	struct sockaddr_storage ss;
	socklen_t sl;

	is_int(head("GET /dns-query?dns=AA HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\nrest", &h), H1_OK,
	    "a GET head parses");
	ok(h.method == HTTP_GET && h.minor == 1 && h.content_length == -1, "GET, HTTP/1.1, no length");
	is_int(h.head_len, strlen("GET /dns-query?dns=AA HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n"),
	    "head length stops at the empty line");
	ok(h.accept.n == 3 && memcmp(h.accept.p, "*/*", 3) == 0, "Accept value");
	ok(h.target.n == 17 && memcmp(h.target.p, "/dns-query?dns=AA", 17) == 0, "target");
	is_int(head("GET / HTTP/1.1\r\nHost: a\r\n", &h), H1_PARTIAL, "no empty line yet: partial");
	is_int(head("POST / HTTP/1.1\r\nContent-Length: 12\r\ncontent-type:  application/dns-message \r\n\r\n", &h),
	    H1_OK, "POST head");
	ok(h.content_length == 12 && h.content_type.n == 23, "length 12, type trimmed of spaces");
	is_int(head("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", &h), H1_BAD,
	    "differing Content-Length: bad (RFC 9112 section 6.3)");
	is_int(head("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", &h), H1_BAD, "negative length: bad");
	is_int(head("GET / HTTP/1.1\r\nHost : a\r\n\r\n", &h), H1_BAD, "space before colon: bad");
	is_int(head("GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", &h), H1_BAD, "obs-fold: bad");
	is_int(head("GET / HTTP/1.1\nHost: a\n\n", &h), H1_BAD, "bare LF: bad");
	is_int(head("GET / HTTP/2.0\r\n\r\n", &h), H1_VERSION, "HTTP/2.0 request line: 505");
	is_int(head("GET http://a/ HTTP/1.1\r\n\r\n", &h), H1_BAD, "absolute-form target: bad");
	is_int(head("BREW / HTTP/1.1\r\n\r\n", &h), H1_OK, "unknown method parses...");
	is_int(h.method, 0, "...as method 0 (501)");
	is_int(head("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &h), H1_OK, "HTTP/1.0");
	ok(h.minor == 0 && h.conn_keep_alive && !h.conn_close, "keep-alive token");
	is_int(head("GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", &h), H1_OK, "TE parses");
	ok(h.chunked, "...and is flagged (501)");
	{
		char big[4096] = "GET / HTTP/1.1\r\n";
		for (int i = 0; i < 70; i++)
			strcat(big, "X-A: b\r\n");
		strcat(big, "\r\n");
		is_int(head(big, &h), H1_TOO_LARGE, "70 header fields: too many (431)");
	}

	ok(http_query_param("a=1&dns=AAAB&x", 14, "dns", &v) && v.n == 4 &&
	    memcmp(v.p, "AAAB", 4) == 0, "dns= among other parameters");
	ok(!http_query_param("xdns=AA", 7, "dns", &v), "xdns= is not dns=");
	ok(!http_query_param("dns", 3, "dns", &v), "a name without '=' is no value");

	is_int(http_b64url_decode("AAABAAAB", 8, out, sizeof(out)), 6, "base64url 8 chars -> 6 bytes");
	is_int(http_b64url_decode("_-8", 3, out, sizeof(out)), 2, "'-' and '_' decode");
	ok(out[0] == 0xff && out[1] == 0xef, "...to 0xff 0xef");
	is_int(http_b64url_decode("AB+/", 4, out, sizeof(out)), -1, "'+' and '/' (plain base64): bad");
	is_int(http_b64url_decode("AAA", 3, out, sizeof(out)), 2, "no padding needed");
	is_int(http_b64url_decode("AAB", 3, out, sizeof(out)), -1, "non-zero left-over bits: bad");
	is_int(http_b64url_decode("AAAA=", 5, out, sizeof(out)), 3, "trailing '=' tolerated");
	is_int(http_b64url_decode("A", 1, out, sizeof(out)), -1, "one char: bad");
	is_int(http_b64url_decode("AAAAAAAA", 8, out, 5), -1, "longer than the buffer: bad");
	is_int(http_b64url_decode("AAAAAAA", 7, out, 5), 5, "7 chars fill 5 bytes exactly");
	is_int(http_b64url_decode("AAAAAAA", 7, out, 4), -1, "...not 4");
	{
		/* every byte value in every position of a quantum and of a
		 * 2- and 3-char tail, against the alphabet of RFC 4648 table 2 */
		static const char abc[] =
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
		int bad = 0;
		for (int c = 0; c < 256; c++) {
			const char *at = c ? memchr(abc, c, 64) : NULL;
			long want = at ? at - abc : -1;
			for (int pos = 0; pos < 4; pos++) {
				if (c == '=' && pos == 3)
					continue; /* trailing padding: stripped */
				char q[4] = { 'A', 'A', 'A', 'A' };
				q[pos] = (char)c;
				long n = http_b64url_decode(q, 4, out, sizeof(out));
				uint32_t acc = (uint32_t)out[0] << 16 | (uint32_t)out[1] << 8 | out[2];
				if (want < 0 ? n != -1 : (n != 3 || acc != (uint32_t)want << (18 - 6 * pos)))
					bad++;
			}
			/* a tail: the last char's left-over bits must be zero */
			char t2[2] = { (char)c, 'A' }, t3[3] = { 'A', (char)c, 'A' };
			long n2 = http_b64url_decode(t2, 2, out, sizeof(out));
			if (want < 0 ? n2 != -1 : (n2 != 1 || out[0] != (uint8_t)(want << 2)))
				bad++;
			long n3 = http_b64url_decode(t3, 3, out, sizeof(out));
			if (want < 0 ? n3 != -1 : (n3 != 2 || out[0] != (uint8_t)(want >> 4) ||
			    out[1] != (uint8_t)(want << 4)))
				bad++;
		}
		is_int(bad, 0, "base64url: all 256 byte values in every position");
	}

	ok(http_xff_parse("203.0.113.9, 192.0.2.1 ", 23, &ss, &sl) == 0 && ss.ss_family == AF_INET &&
	    ((struct sockaddr_in *)&ss)->sin_addr.s_addr == htonl(0xc0000201),
	    "X-Forwarded-For: the last address");
	ok(http_xff_parse("2001:db8::1", 11, &ss, &sl) == 0 && ss.ss_family == AF_INET6, "IPv6");
	ok(http_xff_parse("1.2.3.4, unknown", 16, &ss, &sl) < 0, "the last not an address: refused");

	{
		/* a.example A ttl 300 + SOA in authority ttl 900 minimum 60 */
		static const uint8_t m[] = {
			0, 0, 0x81, 0x80, 0, 1, 0, 1, 0, 1, 0, 0,
			1, 'a', 0, 0, 1, 0, 1,
			0xc0, 12, 0, 1, 0, 1, 0, 0, 1, 0x2c, 0, 4, 1, 2, 3, 4,
			0, 0, 6, 0, 1, 0, 0, 3, 0x84, 0, 22, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2,
			0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 60,
		};
		is_int(doh_min_ttl(m, sizeof(m)), 60, "lowest TTL: SOA MINIMUM 60 < A 300");
		uint8_t c[sizeof(m)];
		memcpy(c, m, sizeof(m));
		c[9] = 0; /* NSCOUNT 0 */
		is_int(doh_min_ttl(c, 35), 300, "without the authority: the A record's 300");
		is_int(doh_min_ttl(m, 30), -1, "a record cut short: malformed");
		c[7] = 0; /* ANCOUNT 0 */
		is_int(doh_min_ttl(c, 19), 0, "no records: 0");
	}
	return tap_done();
}
