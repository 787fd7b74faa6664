/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * netaddr.c -- address and prefix parsing for config and access control.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/netaddr.h"

static int
parse_port(const char *s, uint16_t *port)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -1;
	v = strtoul(s, &end, 10);
	if (*end != '\0' || v > 65535 || s[0] == '-' || s[0] == '+')
		return -1;
	*port = (uint16_t)v;
	return 0;
}

int
netaddr_parse(const char *s, uint16_t default_port,
    struct sockaddr_storage *out, socklen_t *outlen)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *port_s = NULL;
	uint16_t port = default_port;
	size_t hl;

	memset(out, 0, sizeof(*out));
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close)
			return -1;
		hl = (size_t)(close - s - 1);
		if (close[1] == ':')
			port_s = close + 2;
		else if (close[1] != '\0')
			return -1;
		s++;
	} else {
		const char *colon = strchr(s, ':');
		if (colon && strchr(colon + 1, ':'))
			colon = NULL; /* bare IPv6, no port */
		hl = colon ? (size_t)(colon - s) : strlen(s);
		if (colon)
			port_s = colon + 1;
	}
	if (hl == 0 || hl >= sizeof(host))
		return -1;
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (port_s && parse_port(port_s, &port) < 0)
		return -1;

	struct sockaddr_in *a4 = (struct sockaddr_in *)out;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)out;
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		*outlen = sizeof(*a4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		*outlen = sizeof(*a6);
		return 0;
	}
	return -1;
}

int
netprefix_parse(const char *s, struct netprefix *out)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t hl = slash ? (size_t)(slash - s) : strlen(s);
	unsigned max;

	memset(out, 0, sizeof(*out));
	if (hl == 0 || hl >= sizeof(host))
		return -1;
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (inet_pton(AF_INET, host, out->addr) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, host, out->addr) == 1) {
		out->family = AF_INET6;
		max = 128;
	} else {
		return -1;
	}
	out->len = max;
	if (slash) {
		char *end;
		unsigned long v = strtoul(slash + 1, &end, 10);
		if (slash[1] < '0' || slash[1] > '9' || *end != '\0' || v > max)
			return -1;
		out->len = (unsigned)v;
	}
	return 0;
}

size_t
netaddr_ip_bytes(const struct sockaddr *sa, uint8_t out[16])
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (sa->sa_family == AF_INET) {
		memcpy(out, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return 4;
	}
	if (sa->sa_family == AF_INET6) {
		const uint8_t *b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		if (memcmp(b, mapped, 12) == 0) {
			memcpy(out, b + 12, 4);
			return 4;
		}
		memcpy(out, b, 16);
		return 16;
	}
	return 0;
}

bool
netprefix_match(const struct netprefix *p, const struct sockaddr *sa)
{
	uint8_t ip[16];
	size_t n = netaddr_ip_bytes(sa, ip);
	unsigned full, rest;

	if (n == 0 || (p->family == AF_INET) != (n == 4))
		return false;
	full = p->len / 8;
	rest = p->len % 8;
	if (memcmp(ip, p->addr, full) != 0)
		return false;
	if (rest) {
		uint8_t mask = (uint8_t)(0xff << (8 - rest));
		if ((ip[full] & mask) != (p->addr[full] & mask))
			return false;
	}
	return true;
}

const char *
netaddr_str(const struct sockaddr *sa, char *buf, size_t buflen)
{
	char host[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		snprintf(buf, buflen, "%s:%u", host, ntohs(a->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
		snprintf(buf, buflen, "[%s]:%u", host, ntohs(a->sin6_port));
	} else {
		snprintf(buf, buflen, "(unknown family %d)", sa->sa_family);
	}
	return buf;
}
