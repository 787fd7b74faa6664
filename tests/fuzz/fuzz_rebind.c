/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_rebind.c -- libFuzzer target for the rebinding filter
 * (dns/rebind.h: rebind_filter), which walks whole DNS messages
 * (compressed names, SVCB/HTTPS parameters) and rewrites them through
 * ldns, and for the EDE writer (dns/ede.h) on what it leaves.
 *
 * Not built by make: build by hand, e.g.
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -I<dir with an empty config.h> -Isrc tests/fuzz/fuzz_rebind.c \
 *     src/dns/rebind.c src/dns/ede.c src/dns/msg.c src/util/netaddr.c \
 *     -lldns -o fuzz_rebind
 *   ./fuzz_rebind -max_len=4096 -max_total_time=120
 *
 * Besides memory safety it checks: a message with nothing private is
 * returned unchanged; a rewritten one fits its buffer, parses with ldns,
 * has no more records than before and nothing left to remove (a second
 * pass removes nothing); an EDE appended after an OPT parses back.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "dns/ede.h"
#include "dns/msg.h"
#include "dns/rebind.h"
#include "../unit/testutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct rebind_policy *
policy(void)
{
	static struct rebind_policy *p;
	static const char *const pfx[] = { "10.0.0.0/8", "192.168.0.0/16", "fd00::/8",
		"127.0.0.0/8" };
	struct netprefix np;

	if (p)
		return p;
	p = calloc(1, sizeof(*p));
	tu_check(p != NULL);
	for (size_t i = 0; i < sizeof(pfx) / sizeof(pfx[0]); i++) {
		tu_check(netprefix_parse(pfx[i], &np) == 0);
		tu_check(rebind_add_prefix(p, &np) == 0);
	}
	tu_check(rebind_add_domain(p, "lan.example") == 0);
	return p;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t msg[65536], orig[65536];
	const size_t cap = sizeof(msg) - 200;
	unsigned removed = 0, again = 0;
	long n;

	if (size > cap)
		return 0;
	memcpy(msg, data, size);
	memcpy(orig, data, size);
	n = rebind_filter(policy(), msg, size, cap, &removed);
	if (n < 0)
		return 0;
	if (removed == 0) {
		tu_check((size_t)n == size && memcmp(msg, orig, size) == 0);
		return 0;
	}
	tu_check((size_t)n <= cap && (size_t)n >= DNS_HDR_LEN);
	ldns_pkt *pkt = NULL;
	tu_check(ldns_wire2pkt(&pkt, msg, (size_t)n) == LDNS_STATUS_OK);
	ldns_pkt_free(pkt);
	unsigned before = (unsigned)dns_get16(orig + 6) + dns_get16(orig + 8) + dns_get16(orig + 10);
	unsigned after = (unsigned)dns_get16(msg + 6) + dns_get16(msg + 8) + dns_get16(msg + 10);
	tu_check(after + removed == before);
	tu_check(rebind_filter(policy(), msg, (size_t)n, cap, &again) == n && again == 0);

	/* an OPT and an EDE after it */
	size_t l = dns_msg_add_opt(msg, (size_t)n, sizeof(msg), 1232, false, 0);
	if (l) {
		size_t e = dns_ede_append(msg, l, sizeof(msg), (size_t)n, DNS_EDE_FILTERED,
		    "private address removed");
		tu_check(e == l + 6 + 23);
		pkt = NULL;
		tu_check(ldns_wire2pkt(&pkt, msg, e) == LDNS_STATUS_OK && ldns_pkt_edns(pkt));
		ldns_pkt_free(pkt);
	}
	return 0;
}
