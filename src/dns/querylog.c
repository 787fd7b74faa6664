/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * querylog.c -- formatting the query log's lines (see querylog.h).
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <ldns/ldns.h>

#include "dns/msg.h"
#include "dns/querylog.h"

const char *
querylog_rcode_name(int rcode)
{
	static const char *const names[] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
		"NOTIMP", "REFUSED" };

	if (rcode >= 0 && rcode < (int)(sizeof(names) / sizeof(names[0])))
		return names[rcode];
	return NULL;
}

/* The client's address without its port. */
static void
client_str(const struct sockaddr *sa, char *buf, size_t cap)
{
	const void *a = NULL;

	if (sa && sa->sa_family == AF_INET)
		a = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	else if (sa && sa->sa_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	if (!a || !inet_ntop(sa->sa_family, a, buf, (socklen_t)cap))
		snprintf(buf, cap, "-");
}

/* "CLIENT NAME TYPE TRANSPORT PATH" into out. @return length or 0 */
static size_t
common(char *out, size_t cap, const struct querylog_entry *e)
{
	char client[INET6_ADDRSTRLEN], name[4 * DNS_MAX_NAME + 2], type[16];
	const ldns_rr_descriptor *desc = ldns_rr_descript(e->qtype);
	int n;

	client_str(e->client, client, sizeof(client));
	if (dns_name_to_str(e->qname, e->qname_len, name, sizeof(name)) < 0)
		snprintf(name, sizeof(name), "?");
	if (desc && desc->_name && e->qtype != 0)
		snprintf(type, sizeof(type), "%s", desc->_name);
	else
		snprintf(type, sizeof(type), "TYPE%u", e->qtype);
	n = snprintf(out, cap, "%s %s %s %s %s", client, name, type,
	    e->transport != NULL ? e->transport : e->tcp ? "tcp" : "udp", e->path ? e->path : "-");
	return (n < 0 || (size_t)n >= cap) ? 0 : (size_t)n;
}

size_t
querylog_format(char *out, size_t cap, const struct querylog_entry *e)
{
	const char *rc = querylog_rcode_name(e->rcode);
	size_t len = common(out, cap, e);
	int n;

	if (len == 0)
		return 0;
	if (rc)
		n = snprintf(out + len, cap - len, " %s", rc);
	else
		n = snprintf(out + len, cap - len, " RCODE%d", e->rcode);
	if (n < 0 || (size_t)n >= cap - len)
		return 0;
	len += (size_t)n;
	n = snprintf(out + len, cap - len, " %llums cache=%s", (unsigned long long)e->ms,
	    e->cache_hit ? "hit" : "miss");
	if (n < 0 || (size_t)n >= cap - len)
		return 0;
	return len + (size_t)n;
}

size_t
querylog_format_servfail(char *out, size_t cap, const struct querylog_entry *e)
{
	const char *why = e->reason && *e->reason ? e->reason : "unknown";
	size_t len = common(out, cap, e), i;

	if (len == 0 || cap - len < 3)
		return 0;
	out[len++] = ':';
	out[len++] = ' ';
	/* reasons are ours, but keep the line one line whatever they hold */
	for (i = 0; why[i] && len + 1 < cap && i < 200; i++)
		out[len++] = (why[i] >= 0x20 && why[i] < 0x7f) ? why[i] : '?';
	out[len] = '\0';
	return len;
}
