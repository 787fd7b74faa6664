/*
 * pkarr_path.c -- names under public-key TLDs.
 *
 * Not wired to the DHT yet: key TLDs are recognised and answered with
 * SERVFAIL so that they never leak to the ICANN path (an ICANN resolver
 * would only say NXDOMAIN, and would learn which keys a user looks up).
 */
#include "config.h"

#include <stdlib.h>

#define LOG_MODULE "pkarr"
#include "daemon/internal.h"
#include "dns/server.h"
#include "pkarr/zbase32.h"
#include "util/log.h"

int
pkdns_pkarr_init(struct pkdns *d)
{
	(void)d;
	return 0;
}

void
pkdns_pkarr_free(struct pkdns *d)
{
	(void)d;
}

bool
pkdns_route_pkarr(struct pkdns *d, struct dns_query *q)
{
	const uint8_t *label;
	size_t len;

	if (dns_name_label_from_end(q->info.qname, q->info.qname_len, 0, &label, &len) < 0)
		return false;
	if (!pkarr_is_key_label(label, len))
		return false;
	d->stats.pkarr_queries++;
	dns_query_error(q, DNS_RCODE_SERVFAIL);
	return true;
}
