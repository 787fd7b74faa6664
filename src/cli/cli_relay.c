/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cli_relay.c -- publish and resolve through a pkarr relay (pkarr
 * design/relays.md) for hosts whose UDP to the DHT is blocked: one HTTP
 * request on a short-lived event loop, bounded by --timeout.
 */
#include "config.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "cli/cli.h"
#include "pkarr/relay.h"
#include "pkarr/relay_client.h"
#include "pkarr/zbase32.h"

struct relay_op {
	struct event_base *base;
	bool done;
	int status;
	uint8_t body[PKARR_RELAY_PAYLOAD_MAX];
	size_t len;
};

static void
relay_op_done(void *ctx, size_t relay, int status, const uint8_t *body, size_t len)
{
	struct relay_op *op = ctx;
	(void)relay;

	op->done = true;
	op->status = status;
	if (body && len <= sizeof(op->body)) {
		memcpy(op->body, body, len);
		op->len = len;
	}
	event_base_loopbreak(op->base);
}

static const char *
status_text(int status)
{
	static char buf[32];

	if (status == RELAY_E_TIMEOUT)
		return "timed out";
	if (status < 0)
		return "connection, TLS or HTTP error";
	snprintf(buf, sizeof(buf), "HTTP %d", status);
	return buf;
}

/* Run one request (GET when pkt is NULL) to completion. @return 0 or -1 */
static int
relay_run(const struct cli_opts *o, const char *url, const char *ca, const uint8_t pk[32],
    const struct pkarr_packet *pkt, struct relay_op *op)
{
	struct relay_client *rc;
	struct relay_req *req;
	uint64_t t = o->timeout_ms > UINT32_MAX ? UINT32_MAX : o->timeout_ms;

	memset(op, 0, sizeof(*op));
	op->base = event_base_new();
	if (!op->base)
		return -1;
	rc = relay_client_new(op->base, &url, 1, ca, (uint32_t)(t ? t : 1));
	if (!rc) {
		fprintf(stderr, "pkdns-cli: cannot use relay %s\n", url);
		event_base_free(op->base);
		return -1;
	}
	req = pkt ? relay_client_put(rc, 0, pkt, relay_op_done, op) :
	    relay_client_get(rc, 0, pk, 0, relay_op_done, op);
	if (req)
		event_base_dispatch(op->base);
	relay_client_free(rc);
	event_base_free(op->base);
	if (!req || !op->done) {
		fprintf(stderr, "pkdns-cli: cannot send the request to %s\n", url);
		return -1;
	}
	return 0;
}

int
cli_relay_put(const struct cli_opts *o, const char *url, const char *ca,
    const struct pkarr_packet *pkt)
{
	struct relay_op op;
	char z32[PKARR_Z32_KEY_LEN + 1];

	if (relay_run(o, url, ca, pkt->pk, pkt, &op) != 0)
		return CLI_EXIT_FAIL;
	pkarr_z32_encode(pkt->pk, z32);
	if (op.status != 200 && op.status != 204) {
		fprintf(stderr, "pkdns-cli: relay %s: %s%s\n", url, status_text(op.status),
		    op.status == 409 ? " (the relay holds a newer packet)" :
		    op.status == 429 ? " (rate limited)" : "");
		return CLI_EXIT_FAIL;
	}
	printf("%s seq %" PRIu64 ": %zu bytes stored by relay %s\n", z32, pkt->ts_us,
	    pkt->dns_len, url);
	return CLI_EXIT_OK;
}

int
cli_relay_get(const struct cli_opts *o, const char *url, const char *ca, const uint8_t pk[32],
    struct pkarr_packet *out)
{
	struct relay_op op;
	int rc;

	if (relay_run(o, url, ca, pk, NULL, &op) != 0)
		return -1;
	if (op.status == 404)
		return 1;
	if (op.status != 200) {
		fprintf(stderr, "pkdns-cli: relay %s: %s\n", url, status_text(op.status));
		return -1;
	}
	/* a relay is trusted no further than the signature */
	rc = pkarr_relay_decode(out, pk, op.body, op.len);
	if (rc != 0) {
		fprintf(stderr, "pkdns-cli: relay %s sent an unusable packet: %s\n", url,
		    pkarr_strerror(rc));
		return -1;
	}
	return 0;
}
