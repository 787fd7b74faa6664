/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * relay_api.c -- the pkarr relay API server (pkarr design/relays.md) over
 * the pkarr resolver (pkarr/resolver.h), whose client it is. See
 * relay_api.h.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "relay"
#include "daemon/internal.h"
#include "daemon/relay_api.h"
#include "pkarr/packet.h"
#include "pkarr/relay.h"
#include "pkarr/resolver.h"
#include "pkarr/zbase32.h"
#include "util/log.h"
#include "util/ratelimit.h"
#include "util/time.h"

struct relay_call {
	struct relay_api *api;
	relay_http_send_fn send;       /* NULL once cancelled */
	void *conn;
	struct pkarr_get *get;         /* a GET waiting on the resolver */
	bool has_ims;
	uint64_t ims_s;
	struct relay_call *prev, *next;
};

struct relay_api {
	struct pkdns *d;
	struct pkarr_resolver *r;
	struct ratelimit *rl_put;
	struct pkarr_answer_params params;
	struct relay_call *calls;
};

struct relay_api *
relay_api_new(struct pkdns *d, struct pkarr_resolver *r)
{
	struct relay_api *api = calloc(1, sizeof(*api));
	uint32_t rate = d->conf.relay_put_ratelimit;

	if (!api)
		return NULL;
	api->d = d;
	api->r = r;
	api->params.min_ttl = d->conf.min_ttl;
	api->params.max_ttl = d->conf.max_ttl;
	api->rl_put = ratelimit_new(rate, rate > UINT32_MAX / 5 ? UINT32_MAX : rate * 5, 65536);
	if (!api->rl_put) {
		free(api);
		return NULL;
	}
	return api;
}

static void
call_free(struct relay_call *c)
{
	struct relay_api *api = c->api;

	if (c->prev)
		c->prev->next = c->next;
	else
		api->calls = c->next;
	if (c->next)
		c->next->prev = c->prev;
	free(c);
}

void
relay_api_free(struct relay_api *api)
{
	if (!api)
		return;
	while (api->calls) {
		if (api->calls->get)
			pkarr_resolver_cancel(api->r, api->calls->get);
		call_free(api->calls);
	}
	ratelimit_free(api->rl_put);
	free(api);
}

void
relay_call_cancel(struct relay_call *c)
{
	if (!c)
		return;
	if (c->get) { /* a GET: the resolver forgets it */
		pkarr_resolver_cancel(c->api->r, c->get);
		call_free(c);
		return;
	}
	/* a PUT: the resolver still holds it, freed when its callback comes */
	c->send = NULL;
}

bool
relay_api_path(const char *path, size_t len)
{
	size_t end;

	/* "/" and one segment of a key's length: the relay's, even when it
	 * is no key (then 400, relays.md) */
	if (len < 1 || path[0] != '/')
		return false;
	for (end = 1; end < len && path[end] != '?'; end++)
		if (path[end] == '/')
			return false;
	return end - 1 == PKARR_Z32_KEY_LEN;
}

/* ---- replies -------------------------------------------------------------- */

static void
hdr(struct relay_http_reply *r, const char *name, const char *value)
{
	if (r->n >= RELAY_HTTP_MAX_HDRS)
		return;
	r->h[r->n].name = name;
	snprintf(r->h[r->n].value, sizeof(r->h[r->n].value), "%s", value);
	r->n++;
}

static const char *
reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 204: return "No Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	default: return "Service Unavailable";
	}
}

/* A reply with the CORS headers every relay answer carries (relays.md). */
static void
reply_init(struct relay_http_reply *r, int status)
{
	memset(r, 0, sizeof(*r));
	r->status = status;
	r->reason = reason(status);
	hdr(r, "Access-Control-Allow-Origin", "*");
	hdr(r, "Access-Control-Allow-Methods", "GET, PUT, OPTIONS");
	hdr(r, "Access-Control-Expose-Headers", "Pkarr-Dht-Stored-Nodes");
}

static void
send_status(relay_http_send_fn send, void *conn, int status)
{
	struct relay_http_reply r;

	reply_init(&r, status);
	if (status == 405)
		hdr(&r, "Allow", "GET, HEAD, PUT, OPTIONS");
	send(conn, &r);
}

/* 200 with the payload, or 304 when If-Modified-Since covers it. */
static void
send_packet(const struct relay_api *api, relay_http_send_fn send, void *conn,
    const struct pkarr_packet *pkt, bool has_ims, uint64_t ims_s)
{
	struct relay_http_reply r;
	uint8_t buf[PKARR_RELAY_PAYLOAD_MAX];
	char date[PKARR_RELAY_DATE_LEN], cc[48];
	size_t len = 0;
	bool modified = !has_ims || pkarr_relay_modified_since(pkt->ts_us, ims_s);

	reply_init(&r, modified ? 200 : 304);
	snprintf(cc, sizeof(cc), "public, max-age=%u", pkarr_relay_max_age(pkt, &api->params));
	hdr(&r, "Cache-Control", cc);
	pkarr_relay_http_date(pkt->ts_us / 1000000, date);
	hdr(&r, "Last-Modified", date);
	if (modified) {
		hdr(&r, "Content-Type", PKARR_RELAY_CONTENT_TYPE);
		if (pkarr_relay_encode(pkt, buf, sizeof(buf), &len) < 0) {
			send_status(send, conn, 500);
			return;
		}
		r.body = buf; /* the listener leaves it out of a HEAD reply */
		r.body_len = len;
	}
	send(conn, &r);
}

/* ---- GET ------------------------------------------------------------------ */

static void
get_done(void *ctx, const struct pkarr_resolver_result *res)
{
	struct relay_call *c = ctx;

	c->get = NULL;
	if (c->send) {
		if (res->rc == PKARR_RESOLVER_FOUND)
			send_packet(c->api, c->send, c->conn, res->pkt, c->has_ims, c->ims_s);
		else
			send_status(c->send, c->conn, res->rc == PKARR_RESOLVER_NONE ? 404 : 503);
	}
	call_free(c);
}

static struct relay_call *
call_new(struct relay_api *api, relay_http_send_fn send, void *conn)
{
	struct relay_call *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->api = api;
	c->send = send;
	c->conn = conn;
	c->next = api->calls;
	if (api->calls)
		api->calls->prev = c;
	api->calls = c;
	return c;
}

static void
handle_get(struct relay_api *api, const struct relay_http_req *req, const uint8_t pk[32],
    relay_http_send_fn send, void *conn, struct relay_call **pending)
{
	struct pkarr_packet pkt;
	struct relay_call *c;
	uint64_t ims_s = 0;
	bool has_ims = false;
	int rc;

	/* an unparseable date is ignored (RFC 9110 section 13.1.3) */
	if (req->if_modified_since &&
	    pkarr_relay_parse_http_date(req->if_modified_since, strlen(req->if_modified_since),
		&ims_s) == 0)
		has_ims = true;
	c = call_new(api, send, conn);
	if (!c) {
		send_status(send, conn, 500);
		return;
	}
	c->has_ims = has_ims;
	c->ims_s = ims_s;
	rc = pkarr_resolver_get(api->r, pk, req->client, get_done, c, &pkt, NULL, &c->get);
	switch (rc) {
	case PKARR_RESOLVER_PENDING:
		*pending = c;
		return;
	case PKARR_RESOLVER_FOUND:
		send_packet(api, send, conn, &pkt, has_ims, ims_s);
		break;
	case PKARR_RESOLVER_NONE:
		send_status(send, conn, 404);
		break;
	case PKARR_RESOLVER_LIMITED:
		api->d->w.stats.ratelimited++;
		send_status(send, conn, 429);
		break;
	default:
		send_status(send, conn, 503);
		break;
	}
	call_free(c);
}

/* ---- PUT ------------------------------------------------------------------ */

static void
put_done(void *ctx, unsigned stored)
{
	struct relay_call *c = ctx;
	struct relay_http_reply r;
	char n[16];

	if (c->send) {
		if (stored == 0) {
			send_status(c->send, c->conn, 503);
		} else {
			reply_init(&r, 204);
			snprintf(n, sizeof(n), "%u", stored);
			hdr(&r, "Pkarr-Dht-Stored-Nodes", n);
			c->send(c->conn, &r);
		}
	}
	call_free(c);
}

static void
handle_put(struct relay_api *api, const struct relay_http_req *req, const uint8_t pk[32],
    relay_http_send_fn send, void *conn, struct relay_call **pending)
{
	struct pkarr_packet pkt;
	struct relay_call *c;
	char key[PKARR_Z32_KEY_LEN + 1];
	int rc;

	if (req->body_too_large || req->body_len > RELAY_API_BODY_MAX) {
		send_status(send, conn, 413);
		return;
	}
	/* before the signature: its check is the expensive part */
	if (req->client && !ratelimit_allow(api->rl_put, req->client, time_mono_ms())) {
		api->d->w.stats.ratelimited++;
		send_status(send, conn, 429);
		return;
	}
	pkarr_z32_encode(pk, key);
	rc = pkarr_relay_decode(&pkt, pk, req->body, req->body_len);
	if (rc == 0)
		rc = pkarr_packet_check_time(pkt.ts_us, time_wall_us() / 1000000);
	if (rc < 0) {
		log_info("%s: PUT refused: %s", key, pkarr_strerror(rc));
		send_status(send, conn, 400);
		return;
	}
	c = call_new(api, send, conn);
	if (!c) {
		send_status(send, conn, 500);
		return;
	}
	rc = pkarr_resolver_put_from(api->r, &pkt, req->client, put_done, c);
	switch (rc) {
	case PKARR_RESOLVER_PENDING:
		log_debug("%s: PUT seq %llu: putting on the DHT", key,
		    (unsigned long long)pkt.ts_us);
		*pending = c;
		return;
	case PKARR_RESOLVER_OLDER:
		send_status(send, conn, 409);
		break;
	case PKARR_RESOLVER_BAD:
		send_status(send, conn, 400);
		break;
	case PKARR_RESOLVER_UNREACHABLE:
		log_info("%s: PUT cached, but no DHT node is known to put it on", key);
		send_status(send, conn, 503);
		break;
	default:
		send_status(send, conn, 500);
		break;
	}
	call_free(c);
}

void
relay_api_handle(struct relay_api *api, const struct relay_http_req *req,
    relay_http_send_fn send, void *conn, struct relay_call **pending)
{
	uint8_t pk[32];

	*pending = NULL;
	if (req->method == RELAY_HTTP_OPTIONS) {
		struct relay_http_reply r;
		reply_init(&r, 204);
		hdr(&r, "Access-Control-Allow-Headers", "Content-Type, If-Modified-Since, If-Match");
		hdr(&r, "Access-Control-Max-Age", "86400");
		/* Chrome's Private Network Access: a public page may then ask
		 * the local relay on 127.0.0.1:6881 (relays.md's first try) */
		hdr(&r, "Access-Control-Allow-Private-Network", "true");
		send(conn, &r);
		return;
	}
	if (req->method == RELAY_HTTP_OTHER) {
		send_status(send, conn, 405);
		return;
	}
	if (req->method == RELAY_HTTP_PUT && req->body_too_large) {
		send_status(send, conn, 413);
		return;
	}
	if (pkarr_relay_path_key(req->path, req->path_len, pk) < 0) {
		send_status(send, conn, 400);
		return;
	}
	if (req->method == RELAY_HTTP_PUT)
		handle_put(api, req, pk, send, conn, pending);
	else
		handle_get(api, req, pk, send, conn, pending);
}
