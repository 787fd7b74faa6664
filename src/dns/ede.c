/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ede.c -- the EDE option (RFC 8914 section 2): OPTION-CODE 15,
 * OPTION-LENGTH, a 16-bit INFO-CODE, then EXTRA-TEXT without a NUL.
 */
#include "config.h"

#include <string.h>

#include "dns/ede.h"
#include "dns/msg.h"

/* Cut text at max bytes without splitting a UTF-8 sequence. */
static size_t
text_len(const char *text, size_t max)
{
	size_t n = 0;

	if (!text)
		return 0;
	while (n < max && text[n])
		n++;
	if (n == max && text[n])
		while (n > 0 && ((uint8_t)text[n] & 0xc0) == 0x80)
			n--;
	return n;
}

size_t
dns_ede_append(uint8_t *msg, size_t len, size_t cap, size_t opt_off, uint16_t code,
    const char *text)
{
	size_t tlen = text_len(text, DNS_EDE_TEXT_MAX), add = 6 + tlen, rdlen;

	if (len < DNS_HDR_LEN || opt_off < DNS_HDR_LEN || opt_off + 11 > len || len > cap)
		return 0;
	if (msg[opt_off] != 0 || dns_get16(msg + opt_off + 1) != DNS_TYPE_OPT)
		return 0;
	rdlen = dns_get16(msg + opt_off + 9);
	if (opt_off + 11 + rdlen != len || rdlen + add > 65535 || cap - len < add)
		return 0;
	dns_put16(msg + len, DNS_OPT_EDE);
	dns_put16(msg + len + 2, (uint16_t)(2 + tlen));
	dns_put16(msg + len + 4, code);
	if (tlen)
		memcpy(msg + len + 6, text, tlen);
	dns_put16(msg + opt_off + 9, (uint16_t)(rdlen + add));
	return len + add;
}

const char *
dns_ede_name(uint16_t code)
{
	switch (code) {
	case DNS_EDE_OTHER: return "Other";
	case DNS_EDE_STALE_ANSWER: return "Stale Answer";
	case DNS_EDE_DNSSEC_BOGUS: return "DNSSEC Bogus";
	case DNS_EDE_FILTERED: return "Filtered";
	case DNS_EDE_PROHIBITED: return "Prohibited";
	case DNS_EDE_NOT_SUPPORTED: return "Not Supported";
	case DNS_EDE_NO_REACHABLE_AUTHORITY: return "No Reachable Authority";
	case DNS_EDE_NETWORK_ERROR: return "Network Error";
	default: return "?";
	}
}
