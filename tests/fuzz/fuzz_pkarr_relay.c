/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_pkarr_relay.c -- libFuzzer target for the pkarr relay protocol
 * (src/pkarr/relay.c): payload decode/encode, request paths, HTTP dates
 * and relay URLs.
 *
 * Not built by make: see tests/fuzz/README.md, e.g.
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -I<dir with an empty config.h> -Isrc tests/fuzz/fuzz_pkarr_relay.c \
 *     src/pkarr/relay.c src/pkarr/packet.c src/pkarr/answer.c \
 *     src/pkarr/zbase32.c src/util/log.c -lldns -lsodium -o fuzz_pkarr_relay
 *   ./fuzz_pkarr_relay -max_len=1500 -max_total_time=180
 *
 * Input: a selector byte, then the body as hostile bytes, given as an
 * exact-size heap copy so that ASan sees any read past it.
 * - 0: a relay payload for a fixed key. Accepted payloads re-encode byte
 *   for byte; a payload the target signs itself from the body (as DNS)
 *   decodes back, and with one signature bit flipped is refused.
 * - 1: a request path. An accepted one has a key that encodes back to
 *   the 52 characters after "/" (lower-cased).
 * - 2: an HTTP date. An accepted IMF-fixdate formats back to itself.
 * - 3: a relay URL (NUL-terminated copy). An accepted one has a host,
 *   a port and a path without "?" or a trailing "/".
 */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pkarr/relay.h"
#include "pkarr/zbase32.h"
#include "util/log.h"
#include "../unit/testutil.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_setup("fuzz", -1, true);
	return 0;
}

static void
payload(const uint8_t *b, size_t n)
{
	static const uint8_t seed[32] = { [31] = 1 };
	struct pkarr_packet pkt, back;
	uint8_t out[PKARR_RELAY_PAYLOAD_MAX];
	size_t len;
	int rc;

	tu_check(pkarr_packet_sign(&pkt, seed, 1, (const uint8_t *)"\0\0\x80\0\0\0\0\0\0\0\0\0",
	    12) == 0);
	rc = pkarr_relay_decode(&back, pkt.pk, b, n);
	tu_check(rc == 0 || rc == PKARR_E_SIZE || rc == PKARR_E_SIG || rc == PKARR_E_DNS ||
	    rc == PKARR_E_INVAL);
	if (rc == PKARR_E_SIZE)
		tu_check(n < PKARR_RELAY_HDR || n > PKARR_RELAY_PAYLOAD_MAX);
	if (rc == 0) {
		tu_check(pkarr_relay_encode(&back, out, sizeof(out), &len) == 0);
		tu_check(len == n && memcmp(out, b, n) == 0);
	}
	/* the body as a DNS message, signed here: must round-trip */
	if (pkarr_packet_sign(&pkt, seed, n, b, n) == 0) {
		tu_check(pkarr_relay_encode(&pkt, out, sizeof(out), &len) == 0);
		tu_check(pkarr_relay_decode(&back, pkt.pk, out, len) == 0);
		tu_check(back.ts_us == pkt.ts_us && back.dns_len == pkt.dns_len);
		out[5] ^= 4;
		tu_check(pkarr_relay_decode(&back, pkt.pk, out, len) == PKARR_E_SIG);
	}
}

static void
path(const char *s, size_t n)
{
	uint8_t pk[32];
	char z[PKARR_Z32_KEY_LEN + 1];

	if (pkarr_relay_path_key(s, n, pk) != 0)
		return;
	tu_check(n >= 1 + PKARR_Z32_KEY_LEN && s[0] == '/');
	tu_check(n == 1 + PKARR_Z32_KEY_LEN || s[1 + PKARR_Z32_KEY_LEN] == '?');
	pkarr_z32_encode(pk, z);
	for (size_t i = 0; i < PKARR_Z32_KEY_LEN; i++)
		tu_check(z[i] == tolower((unsigned char)s[1 + i]));
}

static void
date(const char *s, size_t n)
{
	char back[PKARR_RELAY_DATE_LEN];
	uint64_t t, t2;

	if (pkarr_relay_parse_http_date(s, n, &t) != 0)
		return;
	tu_check(t <= 253402300799ull);
	pkarr_relay_http_date(t, back);
	tu_check(pkarr_relay_parse_http_date(back, strlen(back), &t2) == 0 && t2 == t);
	/* an IMF-fixdate of a valid day after 1970 formats back to itself
	 * (the weekday is not checked on input, so compare after it) */
	if (n == 29 && s[3] == ',' && t > 0 && memcmp(s + 26, "GMT", 3) == 0 &&
	    memcmp(s + 23, "60", 2) != 0)
		tu_check(memcmp(back + 5, s + 5, 24) == 0);
}

static void
url(const char *s)
{
	struct pkarr_relay_url u;
	size_t pl;

	if (pkarr_relay_url_parse(s, &u) != 0)
		return;
	tu_check(u.host[0] != '\0' && u.port != 0);
	pl = strlen(u.path);
	tu_check(pl == 0 || (u.path[0] == '/' && u.path[pl - 1] != '/'));
	tu_check(strchr(u.path, '?') == NULL && strchr(u.path, '#') == NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *b;
	size_t n;

	if (size < 1)
		return 0;
	n = size - 1;
	b = malloc(n + 1);
	if (!b)
		return 0;
	memcpy(b, data + 1, n);
	switch (data[0] % 4) {
	case 0:
		payload(b, n);
		break;
	case 1:
		path((const char *)b, n);
		break;
	case 2:
		date((const char *)b, n);
		break;
	default:
		b[n] = '\0';
		url((const char *)b);
		break;
	}
	free(b);
	return 0;
}
