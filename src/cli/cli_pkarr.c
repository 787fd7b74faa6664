/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cli_pkarr.c -- `pkdns-cli publish` and `pkdns-cli resolve`: pkarr
 * signed packets on the Mainline DHT.
 *
 * A packet goes on the DHT as a BEP 44 mutable item with k = public key,
 * seq = timestamp in microseconds, v = the DNS message and no salt
 * (doc/design.md, "SignedPacket"). Resolving waits for the whole look-up so
 * the highest seq seen wins, not the first answer.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include <ldns/ldns.h>
#include <sodium.h>

#define LOG_MODULE "cli"
#include "cli/cli.h"
#include "dht/dht.h"
#include "pkarr/packet.h"
#include "pkarr/resolver.h"
#include "pkarr/zbase32.h"
#include "pkarr/zone.h"
#include "util/log.h"
#include "util/time.h"

/* A zone that makes at most 1000 bytes of DNS is far smaller than this;
 * the bound only stops a mistaken argument (a disk image) early. */
#define ZONE_FILE_MAX (1024 * 1024)
/* TTL of records before any $TTL and without their own. */
#define ZONE_DEFAULT_TTL 300
/* Wait for the routing table before a look-up: this many nodes, or ... */
#define BOOT_MIN_NODES 8
/* ... this long at most. */
#define BOOT_WAIT_MS 3000
/* Puts of one publish when none stores anything. */
#define PUT_TRIES 3

/* Read a whole text file, NUL-terminated. NULL after printing why. */
static char *
read_text_file(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t len = 0;

	if (f == NULL) {
		fprintf(stderr, "pkdns-cli: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	buf = malloc(ZONE_FILE_MAX + 1);
	if (buf == NULL) {
		fprintf(stderr, "pkdns-cli: out of memory\n");
		fclose(f);
		return NULL;
	}
	len = fread(buf, 1, ZONE_FILE_MAX + 1, f);
	if (ferror(f)) {
		fprintf(stderr, "pkdns-cli: %s: read error\n", path);
		goto fail;
	}
	if (len > ZONE_FILE_MAX) {
		fprintf(stderr, "pkdns-cli: %s: larger than %d bytes\n", path,
		    ZONE_FILE_MAX);
		goto fail;
	}
	if (memchr(buf, '\0', len) != NULL) {
		fprintf(stderr, "pkdns-cli: %s: not a text file\n", path);
		goto fail;
	}
	buf[len] = '\0';
	fclose(f);
	return buf;
fail:
	free(buf);
	fclose(f);
	return NULL;
}

/* Completion flag and result of one DHT operation. */
struct op_state {
	bool done;
	struct dht_lookup_stats st;
	bool have;                 /* resolve: a valid packet was seen */
	struct pkarr_packet best;  /* resolve: the newest one */
	unsigned values, invalid;  /* resolve: values seen, refused */
	const uint8_t *pk;         /* resolve: the key asked for */
};

static void
op_done(void *ctx, const struct dht_lookup_stats *st)
{
	struct op_state *s = ctx;

	s->st = *st;
	s->done = true;
}

static void
resolve_value(void *ctx, const struct dht_item *item)
{
	struct op_state *s = ctx;
	struct pkarr_packet *p;
	int rc;

	s->values++;
	if (!item->is_mutable || item->salt_len != 0 ||
	    memcmp(item->k, s->pk, 32) != 0) {
		s->invalid++;
		return;
	}
	p = malloc(sizeof(*p));
	if (p == NULL)
		return;
	/* The DHT checked the BEP 44 signature; the pkarr rules (size, DNS
	 * syntax) are ours to enforce. */
	rc = pkarr_packet_from_verified_bep44(p, item->k, item->seq, item->v, item->v_len,
	    item->sig);
	if (rc != 0) {
		log_info("value with seq %" PRId64 " refused: %s", item->seq,
		    pkarr_strerror(rc));
		s->invalid++;
	} else if (!s->have || p->ts_us > s->best.ts_us) {
		s->best = *p;
		s->have = true;
		log_info("packet with seq %" PRIu64 " received", p->ts_us);
	}
	free(p);
}

int
cli_cmd_publish(const struct cli_opts *o, int argc, char **argv)
{
	char *pos[2], *text = NULL;
	char err[256], z32[PKARR_Z32_KEY_LEN + 1];
	uint8_t seed[32], pk[32], sk[64], dns[PKARR_MAX_DNS];
	size_t npos, dns_len = 0;
	struct pkarr_packet *pkt = NULL;
	struct dht_item *item = NULL;
	struct cli_session *s = NULL;
	struct op_state st;
	int rc = CLI_EXIT_USAGE, r;
	const char *relay = NULL, *relay_ca = NULL;
	const struct cli_optspec specs[] = {
		{ NULL, "--relay", true, &relay },
		{ NULL, "--relay-ca", true, &relay_ca },
	};

	if (cli_parse_args("publish", argc, argv, specs, 2, pos, 2, &npos) != 0 ||
	    npos != 2) {
		fprintf(stderr, "usage: pkdns-cli publish [--relay URL [--relay-ca FILE]] "
		    "SEEDFILE ZONEFILE\n");
		return CLI_EXIT_USAGE;
	}
	if (cli_read_seed(pos[0], seed) != 0)
		return CLI_EXIT_USAGE;
	if (crypto_sign_seed_keypair(pk, sk, seed) != 0) {
		fprintf(stderr, "pkdns-cli: key derivation failed\n");
		rc = CLI_EXIT_FAIL;
		goto out;
	}
	pkarr_z32_encode(pk, z32);
	text = read_text_file(pos[1]);
	if (text == NULL)
		goto out;
	r = pkarr_zone_to_dns(text, pk, ZONE_DEFAULT_TTL, dns, sizeof(dns),
	    &dns_len, err, sizeof(err));
	if (r != 0) {
		fprintf(stderr, "pkdns-cli: %s: %s\n", pos[1], err);
		goto out;
	}
	pkt = malloc(sizeof(*pkt));
	item = calloc(1, sizeof(*item));
	if (pkt == NULL || item == NULL) {
		fprintf(stderr, "pkdns-cli: out of memory\n");
		rc = CLI_EXIT_FAIL;
		goto out;
	}
	r = pkarr_packet_sign(pkt, seed, time_wall_us(), dns, dns_len);
	if (r != 0) {
		fprintf(stderr, "pkdns-cli: %s: cannot sign: %s\n", pos[1],
		    pkarr_strerror(r));
		goto out;
	}
	if (relay) { /* through a relay instead of the DHT */
		rc = cli_relay_put(o, relay, relay_ca, pkt);
		goto out;
	}
	pkarr_dht_item(item, pkt);

	rc = CLI_EXIT_FAIL;
	s = cli_session_start(o, BOOT_MIN_NODES, BOOT_WAIT_MS);
	if (s == NULL)
		goto out;
	/* A put whose few first queries were all lost (a lossy network, a
	 * table of one bootstrap node) stored nothing and heard no refusal:
	 * try again, with what the table learnt meanwhile, while --timeout
	 * allows. */
	for (int attempt = 0; attempt < PUT_TRIES; attempt++) {
		memset(&st, 0, sizeof(st));
		if (dht_put(cli_session_dht(s), item, -1, op_done, &st,
			cli_session_now(s)) == 0) {
			fprintf(stderr, "pkdns-cli: the DHT refused the item\n");
			goto out;
		}
		if (cli_session_run(s, &st.done, 0) != 0) {
			fprintf(stderr, "pkdns-cli: publish timed out\n");
			goto out;
		}
		if (st.st.stored > 0 || st.st.put_errors > 0)
			break;
		cli_print_stats("publish (nothing stored)", &st.st);
	}
	cli_print_stats("publish", &st.st);
	printf("%s seq %" PRIu64 ": %zu bytes stored on %u node%s\n", z32,
	    pkt->ts_us, pkt->dns_len, st.st.stored,
	    st.st.stored == 1 ? "" : "s");
	if (st.st.stored == 0) {
		fprintf(stderr, "pkdns-cli: no node stored the packet\n");
		goto out;
	}
	rc = CLI_EXIT_OK;
out:
	cli_session_free(s);
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(sk, sizeof(sk));
	free(item);
	free(pkt);
	free(text);
	return rc;
}

/* NAME relative to the key ("@" = apex) or absolute under the key, to an
 * absolute dname; NULL when it is not a name. */
static ldns_rdf *
name_under_key(const char *name, const char *z32)
{
	char buf[LDNS_MAX_DOMAINLEN * 2 + 4];
	size_t n = strlen(name), k = strlen(z32);
	ldns_rdf *r = NULL;

	if (n > 0 && name[n - 1] == '.')
		n--;
	if (strcmp(name, "@") == 0 || (n == k && strncasecmp(name, z32, k) == 0))
		snprintf(buf, sizeof(buf), "%s.", z32);
	else if (n > k + 1 && name[n - k - 1] == '.' &&
		 strncasecmp(name + n - k, z32, k) == 0)
		snprintf(buf, sizeof(buf), "%.*s.", (int)n, name);
	else if (n + k + 3 < sizeof(buf))
		snprintf(buf, sizeof(buf), "%.*s.%s.", (int)n, name, z32);
	else
		return NULL;
	if (ldns_str2rdf_dname(&r, buf) != LDNS_STATUS_OK)
		return NULL;
	ldns_dname2canonical(r);
	return r;
}

/* Keep only the records of pkt matching name (NULL: any) and type (0:
 * any). Returns the number kept, or -1 when the DNS does not parse. */
static int
filter_packet(struct pkarr_packet *pkt, const ldns_rdf *name,
    ldns_rr_type type)
{
	ldns_pkt *in = NULL, *out = NULL;
	ldns_rr_list *an;
	uint8_t *wire = NULL;
	size_t wlen = 0;
	int kept = 0;

	if (ldns_wire2pkt(&in, pkt->dns, pkt->dns_len) != LDNS_STATUS_OK)
		return -1;
	out = ldns_pkt_new();
	if (out == NULL) {
		ldns_pkt_free(in);
		return -1;
	}
	ldns_pkt_set_qr(out, true);
	an = ldns_pkt_answer(in);
	for (size_t i = 0; an != NULL && i < ldns_rr_list_rr_count(an); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(an, i);
		ldns_rr *c;

		if (type != 0 && ldns_rr_get_type(rr) != type)
			continue;
		if (name != NULL) {
			ldns_rdf *own = ldns_rdf_clone(ldns_rr_owner(rr));
			int cmp;

			if (own == NULL)
				continue;
			ldns_dname2canonical(own);
			cmp = ldns_dname_compare(own, name);
			ldns_rdf_deep_free(own);
			if (cmp != 0)
				continue;
		}
		c = ldns_rr_clone(rr);
		if (c == NULL || !ldns_pkt_push_rr(out, LDNS_SECTION_ANSWER, c)) {
			ldns_rr_free(c);
			kept = -1;
			break;
		}
		kept++;
	}
	/* Re-encoding a subset of at most 1000 bytes of records cannot
	 * grow past 1000 bytes, so the copy below always fits. */
	if (kept >= 0 && ldns_pkt2wire(&wire, out, &wlen) == LDNS_STATUS_OK &&
	    wlen <= sizeof(pkt->dns)) {
		memcpy(pkt->dns, wire, wlen);
		pkt->dns_len = wlen;
	} else {
		kept = -1;
	}
	free(wire);
	ldns_pkt_free(in);
	ldns_pkt_free(out);
	return kept;
}

static void
print_packet_time(uint64_t ts_us)
{
	time_t secs = (time_t)(ts_us / 1000000u);
	struct tm tm;
	char when[40];
	int64_t age = (int64_t)(time_wall_us() / 1000000u) - (int64_t)secs;

	if (gmtime_r(&secs, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(when, sizeof(when), "?");
	printf("; timestamp %" PRIu64 " (%s, %" PRId64 " s ago)\n", ts_us,
	    when, age);
}

int
cli_cmd_resolve(const struct cli_opts *o, int argc, char **argv)
{
	char *pos[3];
	char z32[PKARR_Z32_KEY_LEN + 1];
	uint8_t pk[32];
	size_t npos;
	ldns_rdf *name = NULL;
	ldns_rr_type type = 0;
	struct op_state *st = NULL;
	struct cli_session *s = NULL;
	uint32_t id;
	int rc = CLI_EXIT_USAGE, kept;
	const char *relay = NULL, *relay_ca = NULL;
	const struct cli_optspec specs[] = {
		{ NULL, "--relay", true, &relay },
		{ NULL, "--relay-ca", true, &relay_ca },
	};

	if (cli_parse_args("resolve", argc, argv, specs, 2, pos, 3, &npos) != 0 ||
	    npos < 1) {
		fprintf(stderr, "usage: pkdns-cli resolve [--relay URL [--relay-ca FILE]] "
		    "KEY [NAME] [TYPE]\n");
		return CLI_EXIT_USAGE;
	}
	if (cli_parse_key(pos[0], pk) != 0) {
		fprintf(stderr,
		    "pkdns-cli: '%s' is not a key (52 z-base32 characters or "
		    "64 hex digits)\n",
		    pos[0]);
		return CLI_EXIT_USAGE;
	}
	pkarr_z32_encode(pk, z32);
	if (npos >= 2) {
		name = name_under_key(pos[1], z32);
		if (name == NULL) {
			fprintf(stderr, "pkdns-cli: '%s' is not a name\n",
			    pos[1]);
			return CLI_EXIT_USAGE;
		}
	}
	if (npos >= 3 && strcasecmp(pos[2], "ANY") != 0) {
		type = ldns_get_rr_type_by_name(pos[2]);
		if (type == 0) {
			fprintf(stderr, "pkdns-cli: '%s' is not a record type\n",
			    pos[2]);
			goto out;
		}
	}
	rc = CLI_EXIT_FAIL;
	st = calloc(1, sizeof(*st));
	if (st == NULL) {
		fprintf(stderr, "pkdns-cli: out of memory\n");
		goto out;
	}
	st->pk = pk;
	if (relay) { /* through a relay instead of the DHT */
		int g = cli_relay_get(o, relay, relay_ca, pk, &st->best);
		if (g == 1)
			fprintf(stderr, "pkdns-cli: no packet found for %s\n", z32);
		if (g != 0)
			goto out;
		st->have = true;
		goto found;
	}
	s = cli_session_start(o, BOOT_MIN_NODES, BOOT_WAIT_MS);
	if (s == NULL)
		goto out;
	id = dht_get_mutable(cli_session_dht(s), pk, NULL, 0, 0, resolve_value,
	    op_done, st, cli_session_now(s));
	if (id == 0) {
		fprintf(stderr, "pkdns-cli: cannot start the look-up\n");
		goto out;
	}
	if (cli_session_run(s, &st->done, 0) != 0) {
		dht_cancel(cli_session_dht(s), id);
		fprintf(stderr, "pkdns-cli: look-up timed out%s\n",
		    st->have ? "; showing the newest packet seen" : "");
	} else {
		cli_print_stats("resolve", &st->st);
	}
	if (st->invalid > 0)
		fprintf(stderr, "pkdns-cli: %u invalid value%s refused\n",
		    st->invalid, st->invalid == 1 ? "" : "s");
	if (!st->have) {
		fprintf(stderr, "pkdns-cli: no packet found for %s\n", z32);
		goto out;
	}
found:
	print_packet_time(st->best.ts_us);
	kept = filter_packet(&st->best, name, type);
	if (kept < 0) {
		fprintf(stderr, "pkdns-cli: the packet does not parse\n");
		goto out;
	}
	if (pkarr_packet_print_zone(stdout, &st->best) != 0) {
		fprintf(stderr, "pkdns-cli: cannot print the records\n");
		goto out;
	}
	if (kept == 0) {
		fprintf(stderr, "pkdns-cli: no record in the packet matches "
		    "name %s type %s\n", npos >= 2 ? pos[1] : "*",
		    npos >= 3 ? pos[2] : "ANY");
		goto out;
	}
	rc = CLI_EXIT_OK;
out:
	cli_session_free(s);
	ldns_rdf_deep_free(name);
	free(st);
	return rc;
}
