/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_pkarr_packet.c -- SignedPacket parse/verify/sign against the JS
 * pkarr vectors (byte for byte), tampering and size limits.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkarr/packet.h"
#include "tap.h"
#include "testutil.h"

static char line[65536], hexbuf[8192];

static void
one_vector(int no)
{
	uint8_t seed[32], pk[32], relay[4096], v[4096], sig[64], out[4096];
	uint64_t ts = 0, seq = 0;
	struct pkarr_packet p, q;
	size_t olen;
	int rlen, vlen;
	const char *bep;

	if (tu_json_copy(line, "seed_hex", hexbuf, sizeof(hexbuf)) < 0 ||
	    tu_unhex_str(hexbuf, seed, 32) != 32 ||
	    tu_json_copy(line, "public_key_hex", hexbuf, sizeof(hexbuf)) < 0 ||
	    tu_unhex_str(hexbuf, pk, 32) != 32 ||
	    tu_json_u64(line, "timestamp_us", &ts) < 0 ||
	    tu_json_copy(line, "relay_bytes_hex", hexbuf, sizeof(hexbuf)) < 0 ||
	    (rlen = tu_unhex_str(hexbuf, relay, sizeof(relay))) < PKARR_RELAY_HDR) {
		ok(0, "vector %d: fields", no);
		return;
	}
	bep = strstr(line, "\"bep44\"");
	if (!ok(bep != NULL, "vector %d: has bep44", no))
		return;
	tu_json_u64(bep, "seq", &seq);
	tu_json_copy(bep, "v_hex", hexbuf, sizeof(hexbuf));
	vlen = tu_unhex_str(hexbuf, v, sizeof(v));
	tu_json_copy(bep, "sig", hexbuf, sizeof(hexbuf));
	tu_unhex_str(hexbuf, sig, 64);
	is_int(seq, ts, "vector %d: seq is the timestamp", no);
	is_int(vlen, rlen - PKARR_RELAY_HDR, "vector %d: v is the DNS part", no);

	if (rlen - PKARR_RELAY_HDR > PKARR_MAX_DNS) {
		/* The JS package signs this one; we must refuse it everywhere. */
		is_int(pkarr_packet_parse_relay(&p, pk, relay, (size_t)rlen),
		       PKARR_E_SIZE, "vector %d: %d-byte DNS refused (relay)", no,
		       rlen - PKARR_RELAY_HDR);
		is_int(pkarr_packet_from_bep44(&p, pk, (int64_t)seq, v,
					       (size_t)vlen, sig),
		       PKARR_E_SIZE, "vector %d: refused (bep44)", no);
		is_int(pkarr_packet_from_verified_bep44(&p, pk, (int64_t)seq,
							v, (size_t)vlen, sig),
		       PKARR_E_SIZE, "vector %d: refused (verified bep44)",
		       no);
		is_int(pkarr_packet_sign(&p, seed, ts, v, (size_t)vlen),
		       PKARR_E_SIZE, "vector %d: refused (sign)", no);
		return;
	}

	/* Regenerate from seed + timestamp + dns. */
	is_int(pkarr_packet_sign(&p, seed, ts, relay + PKARR_RELAY_HDR,
				 (size_t)rlen - PKARR_RELAY_HDR),
	       0, "vector %d: sign", no);
	is_mem(p.pk, pk, 32, "vector %d: public key from seed", no);
	is_mem(p.sig, relay, 64, "vector %d: same signature", no);
	is_mem(p.sig, sig, 64, "vector %d: same as bep44 sig", no);
	ok(pkarr_packet_to_relay(&p, out, sizeof(out), &olen) == 0 &&
		   olen == (size_t)rlen && memcmp(out, relay, olen) == 0,
	   "vector %d: relay bytes identical", no);
	ok(pkarr_packet_to_full(&p, out, sizeof(out), &olen) == 0 &&
		   olen == (size_t)rlen + 32 && memcmp(out, pk, 32) == 0 &&
		   memcmp(out + 32, relay, (size_t)rlen) == 0,
	   "vector %d: full bytes", no);
	is_int(pkarr_packet_parse_full(&q, out, olen), 0,
	       "vector %d: full layout parses", no);
	is_int(pkarr_packet_to_relay(&p, out, (size_t)rlen - 1, &olen),
	       PKARR_E_SPACE, "vector %d: short buffer", no);

	/* Parse both layouts given by the JS side. */
	is_int(pkarr_packet_parse_relay(&q, pk, relay, (size_t)rlen), 0,
	       "vector %d: relay verifies", no);
	ok(q.ts_us == ts && q.dns_len == (size_t)vlen &&
		   memcmp(q.dns, v, (size_t)vlen) == 0,
	   "vector %d: parsed fields", no);
	is_int(pkarr_packet_from_bep44(&q, pk, (int64_t)seq, v, (size_t)vlen,
				       sig),
	       0, "vector %d: bep44 verifies", no);
	is_int(pkarr_packet_verify(&q), 0, "vector %d: verify", no);
	memset(&p, 0, sizeof(p));
	is_int(pkarr_packet_from_verified_bep44(&p, pk, (int64_t)seq, v,
						(size_t)vlen, sig),
	       0, "vector %d: verified bep44 item taken", no);
	ok(memcmp(&p.pk, &q.pk, 32) == 0 && memcmp(p.sig, q.sig, 64) == 0 &&
		   p.ts_us == q.ts_us && p.dns_len == q.dns_len &&
		   memcmp(p.dns, q.dns, q.dns_len) == 0,
	   "vector %d: same packet as the verifying path", no);
	/* Only the signature is left to the caller: DNS and seq are checked. */
	if (vlen > 12) {
		is_int(pkarr_packet_from_verified_bep44(&p, pk, (int64_t)seq,
							v, 11, sig),
		       PKARR_E_DNS, "vector %d: cut DNS refused (verified)",
		       no);
	}
	is_int(pkarr_packet_from_verified_bep44(&p, pk, -1, v, (size_t)vlen,
						sig),
	       PKARR_E_INVAL, "vector %d: negative seq refused (verified)", no);

	/* Flip one bit in each part: signature, timestamp, DNS, key. */
	{
		size_t spots[3] = {5, 64 + 7, (size_t)rlen - 1};
		for (int i = 0; i < 3; i++) {
			relay[spots[i]] ^= 0x01;
			is_int(pkarr_packet_parse_relay(&q, pk, relay,
							(size_t)rlen),
			       PKARR_E_SIG, "vector %d: bit flip at %zu fails",
			       no, spots[i]);
			relay[spots[i]] ^= 0x01;
		}
		pk[3] ^= 0x80;
		ok(pkarr_packet_parse_relay(&q, pk, relay, (size_t)rlen) < 0,
		   "vector %d: other key fails", no);
		pk[3] ^= 0x80;
		is_int(pkarr_packet_from_bep44(&q, pk, (int64_t)seq + 1, v,
					       (size_t)vlen, sig),
		       PKARR_E_SIG, "vector %d: other seq fails", no);
	}
	ok(pkarr_packet_parse_relay(&q, pk, relay, 71) == PKARR_E_SIZE,
	   "vector %d: truncated header", no);
}

static void
test_vectors(void)
{
	char path[4096];
	int no = 0, big = 0;
	FILE *f;

	f = tu_open_data("pkarr_signed_packets.jsonl", path, sizeof(path));
	if (!ok(f != NULL, "open %s", path))
		return;
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, "relay_bytes_hex") == NULL)
			continue;
		no++;
		if (strlen(line) > 2 * (PKARR_RELAY_MAX + 100) + 1000)
			big++;
		one_vector(no);
	}
	fclose(f);
	ok(no >= 4, "%d vectors", no);
	ok(big >= 1, "an over-size vector is among them");
}

static void
test_local(void)
{
	/* A minimal DNS response header with no records. */
	uint8_t hdr[12] = {0, 0, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0};
	uint8_t seed[32] = {9}, big[PKARR_MAX_DNS + 1];
	uint8_t msg[PKARR_SIGNABLE_MAX];
	struct pkarr_packet p;
	int n;

	is_int(pkarr_packet_sign(&p, seed, 42, hdr, sizeof(hdr)), 0,
	       "empty DNS message signs");
	is_int(pkarr_packet_verify(&p), 0, "and verifies");
	n = pkarr_signable(42, hdr, sizeof(hdr), msg, sizeof(msg));
	ok(n == 15 + 12 && memcmp(msg, "3:seqi42e1:v12:", 15) == 0,
	   "signable layout");
	is_int(pkarr_packet_sign(&p, seed, 42, hdr, 5), PKARR_E_DNS,
	       "5-byte DNS refused");
	is_int(pkarr_packet_sign(&p, seed, (uint64_t)INT64_MAX + 1, hdr, 12),
	       PKARR_E_INVAL, "seq beyond int64 refused");
	hdr[7] = 1; /* claims one answer that is not there */
	is_int(pkarr_packet_sign(&p, seed, 42, hdr, sizeof(hdr)), PKARR_E_DNS,
	       "truncated DNS refused");
	memset(big, 0, sizeof(big));
	big[2] = 0x80;
	is_int(pkarr_packet_sign(&p, seed, 1, big, sizeof(big)), PKARR_E_SIZE,
	       "1001-byte DNS refused");
	p.dns_len = PKARR_MAX_DNS + 1;
	is_int(pkarr_packet_verify(&p), PKARR_E_SIZE, "verify refuses size");
	ok(strlen(pkarr_strerror(PKARR_E_SIG)) > 0, "strerror");
}

int
main(void)
{
	test_vectors();
	test_local();
	return tap_done();
}
