/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_netaddr.c -- unit tests for src/util/netaddr.h: address and prefix
 * parsing, prefix matching (IPv4-mapped IPv6 included), printing and the
 * address bytes used as hash keys.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "util/netaddr.h"
#include "tap.h"

static struct sockaddr_storage
sa4(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *a = (struct sockaddr_in *)&ss;
	memset(&ss, 0, sizeof(ss));
	a->sin_family = AF_INET;
	a->sin_port = htons(port);
	inet_pton(AF_INET, ip, &a->sin_addr);
	return ss;
}

static struct sockaddr_storage
sa6(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
	memset(&ss, 0, sizeof(ss));
	a->sin6_family = AF_INET6;
	a->sin6_port = htons(port);
	inet_pton(AF_INET6, ip, &a->sin6_addr);
	return ss;
}

/* Parse s and print it back; "" when it does not parse. */
static const char *
roundtrip(const char *s, uint16_t def, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = 0;

	if (netaddr_parse(s, def, &ss, &sl) < 0)
		return "";
	if ((ss.ss_family == AF_INET && sl != sizeof(struct sockaddr_in)) ||
	    (ss.ss_family == AF_INET6 && sl != sizeof(struct sockaddr_in6)))
		return "(bad length)";
	return netaddr_str((struct sockaddr *)&ss, buf, len);
}

static void
test_parse(void)
{
	static const struct {
		const char *in;
		const char *out;
	} good[] = {
		{ "127.0.0.1", "127.0.0.1:53" },
		{ "127.0.0.1:5353", "127.0.0.1:5353" },
		{ "0.0.0.0:0", "0.0.0.0:0" },
		{ "10.1.2.3:65535", "10.1.2.3:65535" },
		{ "::1", "[::1]:53" },
		{ "[::1]", "[::1]:53" },
		{ "[::1]:8053", "[::1]:8053" },
		{ "2001:db8::1", "[2001:db8::1]:53" },
		{ "[2001:db8::1]:1", "[2001:db8::1]:1" },
		{ "::ffff:192.0.2.1", "[::ffff:192.0.2.1]:53" },
	};
	static const char *const bad[] = {
		"", ":53", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:+5",
		"127.0.0.1:5x", "127.0.0.256", "localhost", "localhost:53", "[::1", "[::1]53",
		"[::1]:", "[]", "[]:53", "[127.0.0.1:53", "::1:53:x", "1.2.3.4:53:1",
		"[::1]:99999", "2001:db8::g",
	};
	char buf[NETADDR_STRLEN];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		const char *got = roundtrip(good[i].in, 53, buf, sizeof(buf));
		ok(strcmp(got, good[i].out) == 0, "parse '%s' -> '%s' (got '%s')", good[i].in,
		    good[i].out, got);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sockaddr_storage ss;
		socklen_t sl;
		is_int(netaddr_parse(bad[i], 53, &ss, &sl), -1, "reject '%s'", bad[i]);
	}
	/* a host name longer than any address must not overflow */
	char lng[200];
	memset(lng, '1', sizeof(lng) - 1);
	lng[sizeof(lng) - 1] = '\0';
	{
		struct sockaddr_storage ss;
		socklen_t sl;
		is_int(netaddr_parse(lng, 53, &ss, &sl), -1, "reject a 199-character host");
		lng[0] = '[';
		lng[150] = ']';
		lng[151] = '\0';
		is_int(netaddr_parse(lng, 53, &ss, &sl), -1, "reject a long bracketed host");
	}
	ok(strcmp(roundtrip("192.0.2.7", 0, buf, sizeof(buf)), "192.0.2.7:0") == 0,
	    "default port 0 used");
}

static void
test_prefix(void)
{
	struct netprefix p;

	is_int(netprefix_parse("10.0.0.0/8", &p), 0, "10.0.0.0/8");
	ok(p.family == AF_INET && p.len == 8 && p.addr[0] == 10, "family, length, bytes");
	is_int(netprefix_parse("192.0.2.1", &p), 0, "bare IPv4 is a host prefix");
	is_int(p.len, 32, "bare IPv4 /32");
	is_int(netprefix_parse("::1", &p), 0, "bare IPv6");
	ok(p.family == AF_INET6 && p.len == 128 && p.addr[15] == 1, "bare IPv6 /128");
	is_int(netprefix_parse("2001:db8::/32", &p), 0, "2001:db8::/32");
	ok(p.len == 32 && p.addr[0] == 0x20 && p.addr[1] == 0x01, "IPv6 prefix bytes");
	is_int(netprefix_parse("0.0.0.0/0", &p), 0, "/0");
	is_int(p.len, 0, "/0 length");
	is_int(netprefix_parse("::/0", &p), 0, "::/0");

	static const char *const bad[] = {
		"", "/8", "10.0.0.0/", "10.0.0.0/33", "::/129", "10.0.0.0/8x", "10.0.0.0/-1",
		"10.0.0/8", "example.com/8", "[::1]/128", "10.0.0.0/99999999999999999999",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		is_int(netprefix_parse(bad[i], &p), -1, "reject prefix '%s'", bad[i]);
}

static bool
match(const char *prefix, const struct sockaddr_storage *ss)
{
	struct netprefix p;
	if (netprefix_parse(prefix, &p) < 0)
		return false;
	return netprefix_match(&p, (const struct sockaddr *)ss);
}

static void
test_match(void)
{
	struct sockaddr_storage a = sa4("10.1.2.3", 1);
	struct sockaddr_storage b = sa4("192.168.1.130", 1);
	struct sockaddr_storage m = sa6("::ffff:10.1.2.3", 1);
	struct sockaddr_storage v6 = sa6("2001:db8:1:2::5", 1);
	struct sockaddr_storage lo6 = sa6("::1", 1);
	struct sockaddr_un un;

	ok(match("10.0.0.0/8", &a), "10.1.2.3 in 10/8");
	ok(!match("10.0.0.0/8", &b), "192.168.1.130 not in 10/8");
	ok(match("10.1.2.3", &a), "host prefix matches itself");
	ok(!match("10.1.2.4", &a), "host prefix: other host");
	ok(match("0.0.0.0/0", &a) && match("0.0.0.0/0", &b), "/0 matches every IPv4");
	ok(match("192.168.1.128/25", &b), "non-byte boundary /25 matches");
	ok(!match("192.168.1.0/25", &b), "non-byte boundary /25 excludes");
	ok(match("192.168.1.130/31", &b) && !match("192.168.1.128/31", &b), "/31");
	ok(match("10.255.255.255/8", &a), "host bits of the prefix ignored");

	ok(match("10.0.0.0/8", &m), "IPv4-mapped client matches an IPv4 rule");
	ok(!match("::/0", &m), "IPv4-mapped client does not match ::/0");
	ok(!match("::/0", &a), "IPv4 client does not match ::/0");
	ok(!match("0.0.0.0/0", &v6), "IPv6 client does not match 0/0");
	ok(match("::/0", &v6), "::/0 matches IPv6");
	ok(match("2001:db8:1::/48", &v6), "/48 matches");
	ok(!match("2001:db8:2::/48", &v6), "other /48");
	ok(match("2001:db8:1:2::/63", &v6) && !match("2001:db8:1:3::/64", &v6), "/63 and /64");
	ok(match("::1", &lo6) && !match("::1", &v6), "::1/128");

	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	ok(!match("0.0.0.0/0", (struct sockaddr_storage *)(void *)&un) &&
	    !match("::/0", (struct sockaddr_storage *)(void *)&un), "AF_UNIX matches nothing");
}

static void
test_bytes_str(void)
{
	struct sockaddr_storage a = sa4("192.0.2.1", 53);
	struct sockaddr_storage m = sa6("::ffff:192.0.2.1", 53);
	struct sockaddr_storage v6 = sa6("2001:db8::1", 5353);
	struct sockaddr_un un;
	uint8_t b1[16], b2[16];
	char buf[NETADDR_STRLEN];

	is_int(netaddr_ip_bytes((struct sockaddr *)&a, b1), 4, "IPv4: 4 bytes");
	is_int(netaddr_ip_bytes((struct sockaddr *)&m, b2), 4, "mapped: 4 bytes");
	is_mem(b1, b2, 4, "mapped folded to the IPv4 bytes");
	ok(b1[0] == 192 && b1[3] == 1, "IPv4 bytes in network order");
	is_int(netaddr_ip_bytes((struct sockaddr *)&v6, b1), 16, "IPv6: 16 bytes");
	ok(b1[0] == 0x20 && b1[1] == 0x01 && b1[15] == 1, "IPv6 bytes");
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	is_int(netaddr_ip_bytes((struct sockaddr *)&un, b1), 0, "AF_UNIX: 0");

	ok(strcmp(netaddr_str((struct sockaddr *)&a, buf, sizeof(buf)), "192.0.2.1:53") == 0,
	    "print IPv4");
	ok(strcmp(netaddr_str((struct sockaddr *)&v6, buf, sizeof(buf)), "[2001:db8::1]:5353") == 0,
	    "print IPv6");
	struct sockaddr_storage full = sa6("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", 65535);
	netaddr_str((struct sockaddr *)&full, buf, sizeof(buf));
	ok(strlen(buf) < NETADDR_STRLEN && buf[0] == '[' && strstr(buf, "]:65535"),
	    "longest form fits NETADDR_STRLEN (%s)", buf);
	char tiny[8];
	netaddr_str((struct sockaddr *)&v6, tiny, sizeof(tiny));
	ok(strlen(tiny) == 7, "short buffer: cut and terminated");
	netaddr_str((struct sockaddr *)&un, buf, sizeof(buf));
	ok(strstr(buf, "unknown") != NULL, "unknown family printed as such");
}

int
main(void)
{
	test_parse();
	test_prefix();
	test_match();
	test_bytes_str();
	return tap_done();
}
