/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ede.h -- Extended DNS Errors (RFC 8914): the codes pkdns sends and the
 * wire-format edit that puts one EDE option into a reply's OPT record.
 *
 * An EDE travels only inside OPT (RFC 8914 section 2), so a client that
 * sent no OPT gets none (RFC 6891 section 7: no OPT in a reply to a
 * query without one). The front end (dns/server.c) adds it when it
 * writes the reply's OPT; the daemon only says which code and text.
 */
#ifndef PKDNS_DNS_EDE_H
#define PKDNS_DNS_EDE_H

#include <stddef.h>
#include <stdint.h>

/** EDNS option code of an Extended DNS Error (RFC 8914 section 2). */
#define DNS_OPT_EDE 15

/* The INFO-CODEs pkdns uses (RFC 8914 section 4). */
#define DNS_EDE_OTHER 0
#define DNS_EDE_STALE_ANSWER 3
#define DNS_EDE_DNSSEC_BOGUS 6
#define DNS_EDE_FILTERED 17
#define DNS_EDE_PROHIBITED 18
#define DNS_EDE_NOT_SUPPORTED 21
#define DNS_EDE_NO_REACHABLE_AUTHORITY 22
#define DNS_EDE_NETWORK_ERROR 23

/** Longest EXTRA-TEXT sent; longer texts are cut (on a UTF-8 boundary). */
#define DNS_EDE_TEXT_MAX 80

/**
 * Append one EDE option to the OPT record of a message.
 * @param msg, len the message; its last record must be the OPT record,
 *        starting at opt_off (its root owner byte)
 * @param cap the buffer's size
 * @param opt_off offset of the OPT record in msg
 * @param code the INFO-CODE
 * @param text EXTRA-TEXT (UTF-8, no NUL sent), or NULL for none; cut at
 *        DNS_EDE_TEXT_MAX bytes
 * @return the new length, or 0 (msg unchanged) when the OPT record is not
 *         where said or the option does not fit in cap
 */
size_t dns_ede_append(uint8_t *msg, size_t len, size_t cap, size_t opt_off, uint16_t code,
    const char *text);

/** @return a short name of an INFO-CODE ("Stale Answer"), for logs. */
const char *dns_ede_name(uint16_t code);

#endif
