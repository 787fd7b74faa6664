/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * packet.c -- pkarr SignedPacket parse/verify/sign (see packet.h).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <ldns/ldns.h>
#include <sodium.h>

#include "pkarr/packet.h"
#include "util/bytes.h"

const char *
pkarr_strerror(int err)
{
	switch (err) {
	case PKARR_OK:
		return "ok";
	case PKARR_E_INVAL:
		return "invalid argument or malformed input";
	case PKARR_E_SIZE:
		return "bad size (DNS message over 1000 bytes, or truncated)";
	case PKARR_E_SIG:
		return "signature does not verify";
	case PKARR_E_DNS:
		return "not a valid DNS message";
	case PKARR_E_NOMEM:
		return "out of memory";
	case PKARR_E_IO:
		return "storage error";
	case PKARR_E_SPACE:
		return "output buffer too small";
	case PKARR_E_FUTURE:
		return "timestamp too far in the future";
	default:
		return "unknown error";
	}
}

int
pkarr_packet_check_time(uint64_t ts_us, uint64_t now_s)
{
	if (now_s < PKARR_CLOCK_SET_S)
		return 0;
	/* compare in seconds: no overflow for any ts_us */
	if (ts_us / PKARR_US_PER_S > now_s + PKARR_FUTURE_MAX_S)
		return PKARR_E_FUTURE;
	return 0;
}

int
pkarr_signable(uint64_t ts_us, const uint8_t *dns, size_t dns_len,
	       uint8_t *out, size_t cap)
{
	char head[64];
	int n;

	if (dns_len > PKARR_MAX_DNS || (dns == NULL && dns_len > 0) ||
	    out == NULL)
		return PKARR_E_INVAL;
	/* bencode integers are signed; a seq past INT64_MAX is not one. */
	if (ts_us > (uint64_t)INT64_MAX)
		return PKARR_E_INVAL;
	n = snprintf(head, sizeof(head), "3:seqi%" PRIu64 "e1:v%zu:", ts_us,
		     dns_len);
	if (n < 0 || (size_t)n >= sizeof(head))
		return PKARR_E_INVAL;
	if ((size_t)n + dns_len > cap)
		return PKARR_E_SPACE;
	memcpy(out, head, (size_t)n);
	if (dns_len > 0)
		memcpy(out + n, dns, dns_len);
	return n + (int)dns_len;
}

/* A pkarr payload must be a whole DNS message; ldns does the bounds work. */
static int
dns_check(const uint8_t *dns, size_t len)
{
	ldns_pkt *p = NULL;

	if (len < LDNS_HEADER_SIZE)
		return PKARR_E_DNS;
	if (ldns_wire2pkt(&p, dns, len) != LDNS_STATUS_OK || p == NULL)
		return PKARR_E_DNS;
	ldns_pkt_free(p);
	return 0;
}

int
pkarr_packet_verify(const struct pkarr_packet *pkt)
{
	uint8_t msg[PKARR_SIGNABLE_MAX];
	int n, rc;

	if (pkt == NULL)
		return PKARR_E_INVAL;
	if (pkt->dns_len > PKARR_MAX_DNS)
		return PKARR_E_SIZE;
	n = pkarr_signable(pkt->ts_us, pkt->dns, pkt->dns_len, msg, sizeof(msg));
	if (n < 0)
		return n;
	if (sodium_init() < 0)
		return PKARR_E_INVAL;
	/* Signature first: it keeps unsigned bytes away from the DNS parser. */
	if (crypto_sign_verify_detached(pkt->sig, msg, (unsigned long long)n,
					pkt->pk) != 0)
		return PKARR_E_SIG;
	rc = dns_check(pkt->dns, pkt->dns_len);
	if (rc < 0)
		return rc;
	return 0;
}

int
pkarr_packet_parse_relay(struct pkarr_packet *out, const uint8_t pk[32],
			 const uint8_t *buf, size_t len)
{
	if (out == NULL || pk == NULL || buf == NULL)
		return PKARR_E_INVAL;
	if (len < PKARR_RELAY_HDR || len - PKARR_RELAY_HDR > PKARR_MAX_DNS)
		return PKARR_E_SIZE;
	memcpy(out->pk, pk, 32);
	memcpy(out->sig, buf, 64);
	out->ts_us = bytes_get_be64(buf + 64);
	out->dns_len = len - PKARR_RELAY_HDR;
	memcpy(out->dns, buf + PKARR_RELAY_HDR, out->dns_len);
	return pkarr_packet_verify(out);
}

int
pkarr_packet_parse_full(struct pkarr_packet *out, const uint8_t *buf,
			size_t len)
{
	if (buf == NULL)
		return PKARR_E_INVAL;
	if (len < 32)
		return PKARR_E_SIZE;
	return pkarr_packet_parse_relay(out, buf, buf + 32, len - 32);
}

/* The fields of a BEP 44 item into out; nothing is checked but sizes. */
static int
fill_from_bep44(struct pkarr_packet *out, const uint8_t k[32], int64_t seq,
		const uint8_t *v, size_t v_len, const uint8_t sig[64])
{
	if (out == NULL || k == NULL || sig == NULL || (v == NULL && v_len))
		return PKARR_E_INVAL;
	if (seq < 0)
		return PKARR_E_INVAL;
	if (v_len > PKARR_MAX_DNS)
		return PKARR_E_SIZE;
	memcpy(out->pk, k, 32);
	memcpy(out->sig, sig, 64);
	out->ts_us = (uint64_t)seq;
	out->dns_len = v_len;
	if (v_len > 0)
		memcpy(out->dns, v, v_len);
	return 0;
}

int
pkarr_packet_from_bep44(struct pkarr_packet *out, const uint8_t k[32],
			int64_t seq, const uint8_t *v, size_t v_len,
			const uint8_t sig[64])
{
	int rc = fill_from_bep44(out, k, seq, v, v_len, sig);

	return rc < 0 ? rc : pkarr_packet_verify(out);
}

int
pkarr_packet_from_verified_bep44(struct pkarr_packet *out, const uint8_t k[32],
				 int64_t seq, const uint8_t *v, size_t v_len,
				 const uint8_t sig[64])
{
	int rc = fill_from_bep44(out, k, seq, v, v_len, sig);

	return rc < 0 ? rc : dns_check(out->dns, out->dns_len);
}

int
pkarr_packet_sign(struct pkarr_packet *out, const uint8_t seed[32],
		  uint64_t ts_us, const uint8_t *dns, size_t dns_len)
{
	uint8_t sk[crypto_sign_SECRETKEYBYTES];
	uint8_t msg[PKARR_SIGNABLE_MAX];
	int n, rc;

	if (out == NULL || seed == NULL || (dns == NULL && dns_len > 0))
		return PKARR_E_INVAL;
	if (dns_len > PKARR_MAX_DNS)
		return PKARR_E_SIZE;
	rc = dns_check(dns, dns_len);
	if (rc < 0)
		return rc;
	n = pkarr_signable(ts_us, dns, dns_len, msg, sizeof(msg));
	if (n < 0)
		return n;
	if (sodium_init() < 0)
		return PKARR_E_INVAL;
	if (crypto_sign_seed_keypair(out->pk, sk, seed) != 0)
		return PKARR_E_INVAL;
	rc = crypto_sign_detached(out->sig, NULL, msg, (unsigned long long)n,
				  sk);
	sodium_memzero(sk, sizeof(sk));
	if (rc != 0)
		return PKARR_E_INVAL;
	out->ts_us = ts_us;
	memcpy(out->dns, dns, dns_len);
	out->dns_len = dns_len;
	return 0;
}

int
pkarr_packet_to_relay(const struct pkarr_packet *pkt, uint8_t *out,
		      size_t cap, size_t *len)
{
	if (pkt == NULL || out == NULL || len == NULL ||
	    pkt->dns_len > PKARR_MAX_DNS)
		return PKARR_E_INVAL;
	if (cap < PKARR_RELAY_HDR + pkt->dns_len)
		return PKARR_E_SPACE;
	memcpy(out, pkt->sig, 64);
	bytes_put_be64(out + 64, pkt->ts_us);
	memcpy(out + PKARR_RELAY_HDR, pkt->dns, pkt->dns_len);
	*len = PKARR_RELAY_HDR + pkt->dns_len;
	return 0;
}

int
pkarr_packet_to_full(const struct pkarr_packet *pkt, uint8_t *out,
		     size_t cap, size_t *len)
{
	int rc;

	if (pkt == NULL || out == NULL || len == NULL)
		return PKARR_E_INVAL;
	if (cap < 32)
		return PKARR_E_SPACE;
	memcpy(out, pkt->pk, 32);
	rc = pkarr_packet_to_relay(pkt, out + 32, cap - 32, len);
	if (rc == 0)
		*len += 32;
	return rc;
}
