/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fill_cache.c -- fill a pkarr packet cache with N signed packets and
 * report what it costs: resident memory before and after, bytes the cache
 * accounts, and the packets' own bytes (key, signature, timestamp and DNS
 * message: the full SignedPacket layout). Used by bench/memory.sh, which
 * also hands the LMDB directory this writes to a real pkdns daemon.
 *
 * Usage: fill_cache N [LMDB_DIR] [TXT_BYTES]
 * Each packet is its own key (seed = index), with an A record at the key,
 * an A record at www and a TXT record of TXT_BYTES bytes (default 40) at
 * _pubky: about the size of the packets pkarr users publish. Prints one
 * "key=value" line. Links libpkdns.a; a benchmark tool, not a test.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "pkarr/answer.h"
#include "pkarr/cache.h"
#include "pkarr/packet.h"
#include "pkarr/zone.h"
#include "util/log.h"

/* kB resident, anonymous and file-backed, from /proc/self/status */
static void
rss_kb(long *total, long *anon, long *file)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");

	*total = *anon = *file = -1;
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "VmRSS:", 6) == 0)
			*total = atol(line + 6);
		else if (strncmp(line, "RssAnon:", 8) == 0)
			*anon = atol(line + 8);
		else if (strncmp(line, "RssFile:", 8) == 0)
			*file = atol(line + 8);
	}
	fclose(f);
}

static int
make_packet(struct pkarr_packet *pkt, unsigned long i, size_t txt_bytes, uint64_t ts_us)
{
	uint8_t seed[32], pk[32], sk[64], dns[PKARR_MAX_DNS];
	char zone[1024], txt[512], err[128];
	size_t dns_len;

	memset(seed, 0, sizeof(seed));
	for (int b = 0; b < 8; b++)
		seed[b] = (uint8_t)(i >> (8 * b));
	seed[31] = 0x5a;
	if (crypto_sign_seed_keypair(pk, sk, seed) != 0)
		return -1;
	if (txt_bytes >= sizeof(txt))
		txt_bytes = sizeof(txt) - 1;
	memset(txt, 'x', txt_bytes);
	txt[txt_bytes] = '\0';
	snprintf(zone, sizeof(zone),
	    "$TTL 3600\n@ IN A 10.%lu.%lu.%lu\nwww IN A 10.0.0.1\n_pubky IN TXT \"%s\"\n",
	    (i >> 16) & 255, (i >> 8) & 255, i & 255, txt);
	if (pkarr_zone_to_dns(zone, pk, 3600, dns, sizeof(dns), &dns_len, err, sizeof(err)) != 0) {
		fprintf(stderr, "fill_cache: zone: %s\n", err);
		return -1;
	}
	return pkarr_packet_sign(pkt, seed, ts_us, dns, dns_len);
}

int
main(int argc, char **argv)
{
	struct pkarr_answer_params params = { .min_ttl = 60, .max_ttl = 86400 };
	struct pkarr_cache *c;
	struct pkarr_packet *pkt;
	unsigned long n, i;
	size_t txt_bytes = 40;
	unsigned long long own = 0, dns = 0;
	long t0, a0, f0, t1, a1, f1;
	uint64_t now_s;

	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: fill_cache N [LMDB_DIR] [TXT_BYTES]\n");
		return 2;
	}
	n = strtoul(argv[1], NULL, 10);
	if (argc > 3)
		txt_bytes = (size_t)strtoul(argv[3], NULL, 10);
	if (n == 0 || sodium_init() < 0)
		return 2;
	log_setup("fill_cache", 0, true);
	pkt = malloc(sizeof(*pkt));
	if (pkt == NULL)
		return 1;
	now_s = (uint64_t)time(NULL);
	rss_kb(&t0, &a0, &f0);
	/* a budget far above what N packets take: nothing is evicted */
	c = pkarr_cache_new((size_t)4 << 30, argc > 2 ? argv[2] : NULL, &params);
	if (c == NULL) {
		fprintf(stderr, "fill_cache: cannot create the cache\n");
		free(pkt);
		return 1;
	}
	for (i = 0; i < n; i++) {
		if (make_packet(pkt, i, txt_bytes, now_s * 1000000u) != 0) {
			fprintf(stderr, "fill_cache: cannot build packet %lu\n", i);
			break;
		}
		if (pkarr_cache_put(c, pkt, now_s) < 0) {
			fprintf(stderr, "fill_cache: put %lu failed\n", i);
			break;
		}
		own += 32 + 64 + 8 + pkt->dns_len;
		dns += pkt->dns_len;
	}
	rss_kb(&t1, &a1, &f1);
	size_t count = pkarr_cache_count(c);
	printf("label=fill packets=%zu own_bytes=%llu own_per_packet=%.1f dns_per_packet=%.1f "
	       "cache_bytes=%zu cache_per_packet=%.1f rss_kb=%ld anon_kb=%ld file_kb=%ld "
	       "rss_growth_kb=%ld anon_per_packet=%.1f overhead=%.2f\n",
	    count, own, count ? (double)own / (double)count : 0.0,
	    count ? (double)dns / (double)count : 0.0, pkarr_cache_bytes(c),
	    count ? (double)pkarr_cache_bytes(c) / (double)count : 0.0, t1, a1, f1, t1 - t0,
	    count ? (double)(a1 - a0) * 1024.0 / (double)count : 0.0,
	    own ? (double)(a1 - a0) * 1024.0 / (double)own : 0.0);
	pkarr_cache_free(c);
	free(pkt);
	return i == n ? 0 : 1;
}
