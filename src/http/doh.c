/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * doh.c -- DNS over HTTPS, RFC 8484 (see doh.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LOG_MODULE "doh"
#include "dns/msg.h"
#include "dns/server.h"
#include "http/doh.h"
#include "http/http.h"
#include "http/parse.h"
#include "util/log.h"

#define DOH_CT "application/dns-message"
#define DOH_MAX_MSG 65535

struct doh {
	struct dns_server *dns;
	char *path;
};

/* One query waiting for its answer. */
struct doh_pending {
	struct http_req *req;
	struct dns_submitted *h;
};

static void
cors(struct http_req *r)
{
	http_resp_header(r, "Access-Control-Allow-Origin", "*");
}

static uint32_t
rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

long
doh_min_ttl(const uint8_t *msg, size_t len)
{
	unsigned n_rr;
	size_t off = dns_msg_first_rr(msg, len, &n_rr);
	long best = -1;

	if (!off)
		return -1;
	for (unsigned i = 0; i < n_rr; i++) {
		struct dns_rr r;
		off = dns_msg_next_rr(msg, len, off, &r);
		if (!off)
			return -1;
		long ttl = (long)(r.ttl & 0x7fffffffu);
		size_t rd = r.rdata, rdlen = r.rdlen;
		if (r.type == DNS_TYPE_OPT)
			continue;
		if (r.type == 6 /* SOA */ && i >= dns_get16(msg + 6)) {
			/* RFC 2308 section 5: a negative answer lives min(TTL, MINIMUM) */
			size_t p = dns_msg_skip_name(msg, rd + rdlen, rd);
			if (p)
				p = dns_msg_skip_name(msg, rd + rdlen, p);
			if (p && p + 20 <= rd + rdlen) {
				long min = (long)(rd32(msg + p + 16) & 0x7fffffffu);
				if (min < ttl)
					ttl = min;
			}
		}
		if (best < 0 || ttl < best)
			best = ttl;
	}
	return best < 0 ? 0 : best;
}

static void
answered(void *ctx, const uint8_t *msg, size_t len)
{
	struct doh_pending *p = ctx;
	struct http_req *r = p->req;
	char cc[32];

	free(p);
	cors(r);
	if (!msg) {
		http_reply(r, 403, "text/plain", "refused\n", 8);
		return;
	}
	long ttl = doh_min_ttl(msg, len);
	char digits[12];
	unsigned long v = ttl < 0 ? 0 : (unsigned long)ttl; /* at most 2^31 - 1 */
	size_t nd = 0;
	do {
		digits[nd++] = (char)('0' + v % 10);
		v /= 10;
	} while (v && nd < sizeof(digits));
	memcpy(cc, "max-age=", 8);
	for (size_t i = 0; i < nd; i++)
		cc[8 + i] = digits[nd - 1 - i];
	cc[8 + nd] = 0;
	http_resp_header(r, "Cache-Control", cc);
	http_reply(r, 200, DOH_CT, msg, len);
}

static void
aborted(void *ctx, struct http_req *r)
{
	struct doh_pending *p = ctx;
	(void)r;
	dns_submit_cancel(p->h);
	free(p);
}

/* RFC 8484 section 4.1: the server must accept application/dns-message;
 * clients that send no Accept or a wildcard get it too. */
static bool
accept_ok(const char *a)
{
	if (!a || !*a || strcasecmp(a, DOH_CT) == 0)
		return true;
	return strcasestr(a, DOH_CT) || strstr(a, "*/*") || strcasestr(a, "application/*");
}

static void
bad(struct http_req *r, int status, const char *why)
{
	cors(r);
	http_reply(r, status, "text/plain", why, strlen(why));
}

static void
doh_handle(void *ctx, struct http_req *r)
{
	struct doh *d = ctx;
	uint8_t buf[DOH_MAX_MSG];
	const uint8_t *msg;
	size_t len;

	if (strcmp(r->path, d->path) != 0) {
		bad(r, 404, "not found\n");
		return;
	}
	if (r->method == HTTP_OPTIONS) {
		/* CORS preflight (Fetch standard) */
		cors(r);
		http_resp_header(r, "Access-Control-Allow-Methods", "GET, POST, OPTIONS");
		http_resp_header(r, "Access-Control-Allow-Headers", "Content-Type, Accept");
		http_resp_header(r, "Access-Control-Max-Age", "86400");
		http_reply(r, 204, NULL, NULL, 0);
		return;
	}
	if (!accept_ok(r->accept)) {
		bad(r, 406, "only application/dns-message\n");
		return;
	}
	if (r->method == HTTP_POST) {
		const char *ct = r->content_type;
		size_t cl = strlen(DOH_CT);
		if (!ct || strncasecmp(ct, DOH_CT, cl) != 0 || (ct[cl] && ct[cl] != ';' && ct[cl] != ' ')) {
			bad(r, 415, "Content-Type must be application/dns-message\n");
			return;
		}
		msg = r->body;
		len = r->body_len;
	} else {
		struct h1_str v;
		long n;
		if (!r->query || !http_query_param(r->query, strlen(r->query), "dns", &v)) {
			bad(r, 400, "no dns parameter\n");
			return;
		}
		n = http_b64url_decode(v.p, v.n, buf, sizeof(buf));
		if (n < 0) {
			bad(r, 400, "dns parameter is not base64url\n");
			return;
		}
		msg = buf;
		len = (size_t)n;
	}
	/* no reply would come for these over UDP either: say so here */
	if (!msg || len < DNS_HDR_LEN || (msg[2] & 0x80)) {
		bad(r, 400, "not a DNS query\n");
		return;
	}
	struct doh_pending *p = calloc(1, sizeof(*p));
	if (!p) {
		bad(r, 500, "out of memory\n");
		return;
	}
	p->req = r;
	struct dns_submitted *h = dns_server_submit(d->dns, msg, len,
	    (const struct sockaddr *)&r->client, r->client_len,
	    r->tls ? DNS_TRANSPORT_HTTPS : DNS_TRANSPORT_HTTP, answered, p);
	if (!h) {
		free(p);
		bad(r, 500, "cannot take the query now\n");
		return;
	}
	/* the answer comes from the loop, never inside dns_server_submit */
	p->h = h;
	http_req_on_abort(r, aborted, p);
}

struct doh *
doh_new(struct http_server *http, struct dns_server *dns, const char *path)
{
	struct doh *d = calloc(1, sizeof(*d));

	if (!d || !(d->path = strdup(path)))
		goto fail;
	d->dns = dns;
	if (http_route_add(http, HTTP_GET | HTTP_POST | HTTP_OPTIONS, path, doh_handle, d) < 0)
		goto fail;
	return d;
fail:
	if (d)
		free(d->path);
	free(d);
	return NULL;
}

void
doh_free(struct doh *d)
{
	if (!d)
		return;
	free(d->path);
	free(d);
}
