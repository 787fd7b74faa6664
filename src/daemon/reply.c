/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * reply.c -- what happens to every reply as it leaves: the rebinding
 * policy (private-address, private-domain, private-key; dns/rebind.h)
 * and the query log (log-queries, log-servfail; dns/querylog.h).
 *
 * Both run from the front end's two hooks (dns/server.h: the answer
 * filter and the reply callback), which every reply passes whatever path
 * answered it: the answer cache, a stale answer, the pkarr path, the
 * ICANN path, or an error. The answer cache keeps answers unfiltered:
 * the policy depends on the client (loopback clients may be exempt).
 */
#include "config.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#define LOG_MODULE "daemon"
#include "daemon/internal.h"
#include "daemon/request.h"
#include "dns/ede.h"
#include "dns/querylog.h"
#include "dns/rebind.h"
#include "dns/server.h"
#include "pkarr/zbase32.h"
#include "util/log.h"

int
pkdns_rebind_build(const struct conf *c, struct rebind_policy *p)
{
	int rc = 0;

	memset(p, 0, sizeof(*p));
	for (size_t i = 0; i < c->n_private_address; i++)
		if (rebind_add_prefix(p, &c->private_address[i]) < 0)
			rc = conf_error(c, "private-address", i, "too many prefixes");
	for (size_t i = 0; i < c->n_private_domain; i++)
		if (rebind_add_domain(p, c->private_domain[i]) < 0)
			rc = conf_error(c, "private-domain", i, "'%s' is not a domain name",
			    c->private_domain[i]);
	/* a key's names: <key>, <key>.<tld>, <key>.<search domain> */
	for (size_t i = 0; i < c->n_private_key; i++) {
		const char *k = c->private_key[i];
		uint8_t pk[32];
		char name[512];

		if (pkarr_z32_decode_key(k, strlen(k), pk) != 0) {
			rc = conf_error(c, "private-key", i, "'%s' is not a public key "
			    "(52 z-base32 characters)", k);
			continue;
		}
		if (rebind_add_domain(p, k) < 0)
			rc = conf_error(c, "private-key", i, "too many private names");
		if (c->tld) {
			snprintf(name, sizeof(name), "%s.%s", k, c->tld);
			if (rebind_add_domain(p, name) < 0)
				rc = conf_error(c, "private-key", i, "too many private names");
		}
		for (size_t j = 0; j < c->n_search_domain; j++) {
			snprintf(name, sizeof(name), "%s.%s", k, c->search_domain[j]);
			if (rebind_add_domain(p, name) < 0)
				rc = conf_error(c, "private-key", i, "too many private names");
		}
	}
	return rc;
}

int
pkdns_reply_configure(struct pkdns *d, const struct conf *c)
{
	struct rebind_policy *p = calloc(1, sizeof(*p));

	if (!p || pkdns_rebind_build(c, p) < 0) {
		free(p);
		return -1;
	}
	free(d->w.rebind);
	d->w.rebind = p;
	return 0;
}

/* 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104. */
static bool
client_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	}
	if (ss->ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
		return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return false;
}

size_t
pkdns_reply_filter(void *ctx, struct dns_query *q, uint8_t *msg, size_t len, size_t cap)
{
	struct pkdns *d = ctx;
	struct dns_query_note *note;
	unsigned removed = 0;
	long n;

	if (!d->w.rebind || !rebind_active(d->w.rebind))
		return len;
	if (d->conf.private_address_loopback_exempt && client_loopback(&q->client))
		return len;
	n = rebind_filter(d->w.rebind, msg, len, cap, &removed);
	note = dns_query_note(q);
	if (n < 0) {
		note->reason = "rebinding policy: answer could not be filtered";
		return 0;
	}
	if (removed) {
		if (!note->ede)
			dns_query_set_ede(q, DNS_EDE_FILTERED,
			    "private address removed (rebinding policy)");
		log_debug("rebinding policy: %u record(s) removed", removed);
	}
	return (size_t)n;
}

void
pkdns_reply_log(void *ctx, const struct dns_query *q, const struct dns_query_note *note,
    const uint8_t *msg, size_t len, uint64_t ms)
{
	struct pkdns *d = ctx;
	int rcode = dns_msg_rcode(msg, len);
	bool servfail = d->conf.log_servfail && rcode == DNS_RCODE_SERVFAIL;
	char line[QUERYLOG_LINE_MAX];
	/* shown at the default verbosity, as the stats line */
	int level = log_enabled(LOG_LVL_INFO) ? LOG_LVL_INFO : LOG_LVL_WARN;
	struct querylog_entry e = {
		.client = (const struct sockaddr *)&q->client,
		.qname = q->info.qname,
		.qname_len = q->info.qname_len,
		.qtype = q->info.qtype,
		.tcp = q->tcp,
		.transport = q->transport == DNS_TRANSPORT_TLS	 ? "tls"
			     : q->transport == DNS_TRANSPORT_HTTPS ? "https"
			     : q->transport == DNS_TRANSPORT_HTTP  ? "http"
								   : NULL,
		.path = note->path,
		.rcode = rcode,
		.ms = ms,
		.cache_hit = note->cache_hit,
		.reason = note->reason ? note->reason
		    : note->ede_text ? note->ede_text
		    : note->ede ? dns_ede_name(note->ede_code) : NULL,
	};

	if (d->conf.log_queries && querylog_format(line, sizeof(line), &e))
		log_msg(level, "query", "%s", line);
	if (servfail && querylog_format_servfail(line, sizeof(line), &e))
		log_msg(level, "servfail", "%s", line);
}

/* The Extended DNS Error (RFC 8914) of a reason; false: none fits. */
static bool
fail_ede(const struct pkdns_req *r, enum pkdns_fail why, uint16_t *code, const char **text)
{
	bool dht = r->path == PKDNS_PATH_PKARR && !r->used_icann;

	switch (why) {
	case PKDNS_FAIL_NO_AUTHORITY:
		*code = DNS_EDE_NO_REACHABLE_AUTHORITY;
		*text = "no reachable name server";
		return true;
	case PKDNS_FAIL_DHT_UNREACHABLE:
		*code = DNS_EDE_NO_REACHABLE_AUTHORITY;
		*text = "DHT unreachable";
		return true;
	case PKDNS_FAIL_NETWORK:
		/* libunbound's SERVFAIL: every upstream failed or is down */
		*code = DNS_EDE_NO_REACHABLE_AUTHORITY;
		*text = "upstream unreachable";
		return true;
	case PKDNS_FAIL_DEADLINE:
		*code = DNS_EDE_NO_REACHABLE_AUTHORITY;
		*text = dht ? "no answer from the DHT in time" : "no answer from upstream in time";
		return true;
	case PKDNS_FAIL_NO_PACKET:
		*code = DNS_EDE_OTHER;
		*text = "no packet for this key on the DHT";
		return true;
	case PKDNS_FAIL_FUTURE_PACKET:
		*code = DNS_EDE_OTHER;
		*text = "packet dated in the future (is the clock behind?)";
		return true;
	case PKDNS_FAIL_BOGUS:
		*code = DNS_EDE_DNSSEC_BOGUS;
		*text = "DNSSEC validation failed";
		return true;
	case PKDNS_FAIL_BUDGET:
		*code = DNS_EDE_OTHER;
		*text = "too many queries in flight";
		return true;
	case PKDNS_FAIL_RATELIMIT:
		*code = DNS_EDE_OTHER;
		*text = "rate limited";
		return true;
	case PKDNS_FAIL_CHASE:
		*code = DNS_EDE_OTHER;
		*text = "too many CNAME or delegation hops";
		return true;
	case PKDNS_FAIL_POLICY:
		*code = DNS_EDE_NOT_SUPPORTED;
		*text = NULL;
		return true;
	default:
		return false;
	}
}

void
pkdns_reply_note(const struct pkdns_req *r, struct dns_query *q, const struct pkdns_result *res)
{
	static const char *const paths[] = {
		[PKDNS_PATH_NONE] = NULL,
		[PKDNS_PATH_CACHE] = "cache",
		[PKDNS_PATH_ICANN] = "icann",
		[PKDNS_PATH_PKARR] = "pkarr",
	};
	struct dns_query_note *n = dns_query_note(q);
	enum pkdns_fail why = res->kind == PKDNS_RES_ERROR ? res->reason : r->reason;
	uint16_t code;
	const char *text;

	n->path = (size_t)r->path < sizeof(paths) / sizeof(paths[0]) ? paths[r->path] : NULL;
	n->cache_hit = r->path == PKDNS_PATH_CACHE;
	/* a FORMERR is the client's doing: nothing to explain */
	if (res->kind == PKDNS_RES_ERROR && res->rcode == DNS_RCODE_FORMERR)
		return;
	if (res->kind == PKDNS_RES_ERROR || res->kind == PKDNS_RES_PKT) {
		if (fail_ede(r, why, &code, &text)) {
			dns_query_set_ede(q, code, text);
			n->reason = text ? text : pkdns_fail_str(why);
		} else if (why != PKDNS_FAIL_NONE) {
			n->reason = pkdns_fail_str(why);
		}
	}
}

void
pkdns_reply_stale(struct dns_query *q)
{
	dns_query_set_ede(q, DNS_EDE_STALE_ANSWER, NULL);
}
