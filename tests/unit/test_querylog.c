/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_querylog.c -- unit tests for src/dns/querylog.h: the fields of a
 * query-log line, the SERVFAIL line with its reason, names with spaces,
 * newlines and other bytes escaped (one line, bounded length whatever
 * the name), and a buffer too small refused rather than overrun.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "dns/querylog.h"
#include "tap.h"

int
main(void)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	char line[QUERYLOG_LINE_MAX];
	static const uint8_t name[] = "\3www\7example\3com";
	struct querylog_entry e;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(5353);
	inet_pton(AF_INET, "192.0.2.7", &sin.sin_addr);
	memset(&e, 0, sizeof(e));
	e.client = (struct sockaddr *)&sin;
	e.qname = name;
	e.qname_len = sizeof(name);
	e.qtype = 28;
	e.path = "icann";
	e.rcode = 3;
	e.ms = 42;
	ok(querylog_format(line, sizeof(line), &e) > 0, "a line");
	ok(strcmp(line, "192.0.2.7 www.example.com. AAAA udp icann NXDOMAIN 42ms cache=miss") == 0,
	    "fields: %s", line);

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::1", &sin6.sin6_addr);
	e.client = (struct sockaddr *)&sin6;
	e.tcp = true;
	e.cache_hit = true;
	e.path = NULL;
	e.qtype = 65280;
	e.rcode = 9;
	querylog_format(line, sizeof(line), &e);
	ok(strcmp(line, "2001:db8::1 www.example.com. TYPE65280 tcp - RCODE9 42ms cache=hit") == 0,
	    "IPv6, unknown type and rcode, cache hit: %s", line);

	e.rcode = 2;
	e.qtype = 1;
	e.path = "pkarr";
	e.reason = "DHT unreachable";
	querylog_format_servfail(line, sizeof(line), &e);
	ok(strcmp(line, "2001:db8::1 www.example.com. A tcp pkarr: DHT unreachable") == 0,
	    "SERVFAIL line: %s", line);
	e.reason = "bad\nreason";
	querylog_format_servfail(line, sizeof(line), &e);
	ok(strchr(line, '\n') == NULL, "a reason cannot split the line");
	e.reason = NULL;
	querylog_format_servfail(line, sizeof(line), &e);
	ok(strstr(line, ": unknown") != NULL, "no reason: unknown");

	/* a hostile name: spaces, a newline, dots inside labels, 255 bytes */
	uint8_t evil[255];
	size_t o = 0;
	while (o + 64 <= 254) {
		evil[o] = 63;
		for (int i = 1; i <= 63; i++)
			evil[o + i] = (uint8_t)(i % 3 == 0 ? '\n' : i % 3 == 1 ? ' ' : '.');
		o += 64;
	}
	evil[o] = (uint8_t)(255 - o - 2);
	for (int i = 1; i <= evil[o]; i++)
		evil[o + i] = '"';
	o += 1 + evil[o];
	evil[o++] = 0;
	e.qname = evil;
	e.qname_len = o;
	size_t len = querylog_format(line, sizeof(line), &e);
	ok(len > 0 && len < QUERYLOG_LINE_MAX, "a 255-byte name of escapes fits (%zu)", len);
	ok(strchr(line, '\n') == NULL && strstr(line, "\\010\\032\\046") != NULL,
	    "newline, space and dot escaped");
	is_int(querylog_format(line, 40, &e), 0, "a buffer too small: 0, no overrun");
	is_int(querylog_format_servfail(line, 40, &e), 0, "the same for the SERVFAIL line");
	return tap_done();
}
