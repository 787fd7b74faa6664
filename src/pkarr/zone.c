/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * zone.c -- zone text <-> pkarr DNS message (see zone.h).
 */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ldns/ldns.h>

#include "pkarr/answer.h"
#include "pkarr/zbase32.h"
#include "pkarr/zone.h"

/* RR types: the largest, and the meta and query types (RFC 6895
 * section 3.1), which are no data a zone can hold. */
#define TYPE_MAX 65535u
#define META_TYPE_FIRST 128
#define META_TYPE_LAST 255

__attribute__((format(printf, 3, 4))) static void
set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static bool
owner_in_zone(const ldns_rr *rr, const ldns_rdf *apex)
{
	ldns_rdf *o = ldns_rdf_clone(ldns_rr_owner(rr));
	bool in;

	if (o == NULL)
		return false;
	ldns_dname2canonical(o);
	in = ldns_dname_compare(o, apex) == 0 ||
	     ldns_dname_is_subdomain(o, apex);
	ldns_rdf_deep_free(o);
	return in;
}

/* ldns's text parser can build a record whose fields do not match its
 * type (e.g. a NAPTR cut short by "\#" in mid-data): too few fields for
 * the type, or a wire form that does not parse. Such a record would not
 * sign, or would print as text that does not read back; refuse it at its
 * line instead. */
static bool
rr_well_formed(const ldns_rr *rr)
{
	const ldns_rr_descriptor *desc = ldns_rr_descript(ldns_rr_get_type(rr));
	uint8_t *wire = NULL;
	size_t len = 0, pos = 0;
	ldns_rr *back = NULL;
	bool ok;

	if (desc != NULL &&
	    (ldns_rr_rd_count(rr) < ldns_rr_descriptor_minimum(desc) ||
	     ldns_rr_rd_count(rr) > ldns_rr_descriptor_maximum(desc)))
		return false;
	if (ldns_rr2wire(&wire, rr, LDNS_SECTION_ANSWER, &len) != LDNS_STATUS_OK)
		return false;
	ok = ldns_wire2rr(&back, wire, len, &pos, LDNS_SECTION_ANSWER) ==
		     LDNS_STATUS_OK &&
	     pos == len;
	ldns_rr_free(back);
	free(wire);
	return ok;
}

/* Read every record into pkt; 0 or a PKARR_E_* code with err set. */
static int
read_records(FILE *fp, const ldns_rdf *apex, uint32_t default_ttl,
	     ldns_pkt *pkt, char *err, size_t errlen)
{
	ldns_rdf *origin = ldns_rdf_clone(apex), *prev = NULL;
	uint32_t ttl = default_ttl;
	int line_nr = 1, rc = 0;

	if (origin == NULL)
		return PKARR_E_NOMEM;
	while (!feof(fp)) {
		ldns_rr *rr = NULL;
		int at = line_nr;
		ldns_status s = ldns_rr_new_frm_fp_l(&rr, fp, &ttl, &origin,
						     &prev, &line_nr);

		if (s == LDNS_STATUS_SYNTAX_EMPTY || s == LDNS_STATUS_SYNTAX_TTL ||
		    s == LDNS_STATUS_SYNTAX_ORIGIN)
			continue;
		if (s == LDNS_STATUS_SYNTAX_INCLUDE) {
			set_err(err, errlen, "line %d: $INCLUDE is not supported",
				at);
			rc = PKARR_E_INVAL;
			break;
		}
		if (s != LDNS_STATUS_OK || rr == NULL) {
			set_err(err, errlen, "line %d: %s", at,
				ldns_get_errorstr_by_id(s));
			ldns_rr_free(rr);
			rc = PKARR_E_INVAL;
			break;
		}
		if (!owner_in_zone(rr, apex)) {
			char *o = ldns_rdf2str(ldns_rr_owner(rr));
			set_err(err, errlen,
				"line %d: name %s is not under the key", at,
				o ? o : "?");
			free(o);
			ldns_rr_free(rr);
			rc = PKARR_E_INVAL;
			break;
		}
		/* ldns reads an unknown mnemonic, even "!" or ",", as type 0;
		 * 0 is reserved, OPT and 128-255 (RFC 6895 section 3.1: meta
		 * and query types) are not data a zone can hold */
		if (ldns_rr_get_type(rr) == 0 || (unsigned)ldns_rr_get_type(rr) > TYPE_MAX ||
		    ldns_rr_get_type(rr) == LDNS_RR_TYPE_OPT ||
		    (ldns_rr_get_type(rr) >= META_TYPE_FIRST &&
		     ldns_rr_get_type(rr) <= META_TYPE_LAST)) {
			if (ldns_rr_get_type(rr) == 0 || (unsigned)ldns_rr_get_type(rr) > TYPE_MAX)
				set_err(err, errlen, "line %d: unknown record type", at);
			else
				set_err(err, errlen, "line %d: type %u is not data a zone "
					"can hold", at, (unsigned)ldns_rr_get_type(rr));
			ldns_rr_free(rr);
			rc = PKARR_E_INVAL;
			break;
		}
		if (!rr_well_formed(rr)) {
			set_err(err, errlen,
				"line %d: record data does not fit its type", at);
			ldns_rr_free(rr);
			rc = PKARR_E_INVAL;
			break;
		}
		if (!ldns_pkt_push_rr(pkt, LDNS_SECTION_ANSWER, rr)) {
			ldns_rr_free(rr);
			rc = PKARR_E_NOMEM;
			break;
		}
	}
	ldns_rdf_deep_free(origin);
	ldns_rdf_deep_free(prev);
	return rc;
}

int
pkarr_zone_to_dns(const char *text, const uint8_t pk[32],
		  uint32_t default_ttl, uint8_t *out, size_t cap, size_t *len,
		  char *err, size_t errlen)
{
	ldns_rdf *apex = NULL;
	ldns_pkt *pkt = NULL;
	uint8_t *wire = NULL;
	size_t wlen = 0;
	FILE *fp = NULL;
	int rc;

	set_err(err, errlen, "no error");
	if (text == NULL || pk == NULL || out == NULL || len == NULL) {
		set_err(err, errlen, "invalid argument");
		return PKARR_E_INVAL;
	}
	apex = pkarr_key_dname(pk);
	pkt = ldns_pkt_new();
	if (apex == NULL || pkt == NULL) {
		rc = PKARR_E_NOMEM;
		set_err(err, errlen, "out of memory");
		goto out;
	}
	ldns_pkt_set_id(pkt, 0);
	ldns_pkt_set_qr(pkt, true);
	if (text[0] != '\0') {
		fp = fmemopen((void *)(uintptr_t)text, strlen(text), "r");
		if (fp == NULL) {
			rc = PKARR_E_NOMEM;
			set_err(err, errlen, "out of memory");
			goto out;
		}
		rc = read_records(fp, apex, default_ttl, pkt, err, errlen);
		if (rc < 0)
			goto out;
	}
	if (ldns_pkt2wire(&wire, pkt, &wlen) != LDNS_STATUS_OK) {
		rc = PKARR_E_INVAL;
		set_err(err, errlen, "cannot encode the records as DNS");
		goto out;
	}
	if (wlen > PKARR_MAX_DNS) {
		rc = PKARR_E_SIZE;
		set_err(err, errlen,
			"the records take %zu bytes as a DNS packet; a pkarr "
			"packet holds at most %d",
			wlen, PKARR_MAX_DNS);
		goto out;
	}
	if (wlen > cap) {
		rc = PKARR_E_SPACE;
		set_err(err, errlen, "output buffer too small");
		goto out;
	}
	memcpy(out, wire, wlen);
	*len = wlen;
	rc = 0;
out:
	if (fp != NULL)
		fclose(fp);
	free(wire);
	ldns_pkt_free(pkt);
	ldns_rdf_deep_free(apex);
	return rc;
}

/* ldns prints a label "@" as "@", which a zone file reads as the origin,
 * and leaves '"', '(', ')' and ';' bare, which a zone file reads as
 * quoting, grouping and a comment: escape them so that the text reads
 * back. ldns's own escapes (\\X, \\DDD) are copied as they are. */
static void
print_relative(FILE *f, const char *s, size_t n)
{
	bool label_start = true;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\') {
			size_t len = i + 3 < n && isdigit((unsigned char)s[i + 1]) ? 4 : 2;
			for (size_t j = 0; j < len && i < n; j++)
				fputc(s[i++], f);
			i--;
			label_start = false;
			continue;
		}
		if ((s[i] == '@' && label_start) || strchr("\"();", s[i]) != NULL)
			fputc('\\', f);
		fputc(s[i], f);
		label_start = s[i] == '.';
	}
}

/* Owner relative to the key: "@", "www", or absolute when outside it. */
static void
print_owner(FILE *f, const ldns_rdf *owner, const char *z32)
{
	char *s = ldns_rdf2str(owner);
	size_t n, k = strlen(z32);

	if (s == NULL) {
		fputs("?", f);
		return;
	}
	n = strlen(s);
	if (n > 0 && s[n - 1] == '.')
		n--;
	if (n == k && strncasecmp(s, z32, k) == 0)
		fputs("@", f);
	else if (n > k + 1 && s[n - k - 1] == '.' &&
		 strncasecmp(s + n - k, z32, k) == 0)
		print_relative(f, s, n - k - 1);
	else
		print_relative(f, s, strlen(s));
	free(s);
}

int
pkarr_packet_print_zone(FILE *f, const struct pkarr_packet *pkt)
{
	char z32[PKARR_Z32_KEY_LEN + 1];
	ldns_pkt *p = NULL;
	ldns_rr_list *an;

	if (f == NULL || pkt == NULL || pkt->dns_len > PKARR_MAX_DNS)
		return PKARR_E_INVAL;
	if (ldns_wire2pkt(&p, pkt->dns, pkt->dns_len) != LDNS_STATUS_OK)
		return PKARR_E_DNS;
	pkarr_z32_encode(pkt->pk, z32);
	fprintf(f, "; key %s, timestamp %" PRIu64 " us\n", z32, pkt->ts_us);
	an = ldns_pkt_answer(p);
	for (size_t i = 0; an != NULL && i < ldns_rr_list_rr_count(an); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(an, i);
		char *type = ldns_rr_type2str(ldns_rr_get_type(rr));
		char *cls = ldns_rr_class2str(ldns_rr_get_class(rr));

		print_owner(f, ldns_rr_owner(rr), z32);
		fprintf(f, "\t%" PRIu32 "\t%s\t%s", ldns_rr_ttl(rr),
			cls ? cls : "IN", type ? type : "TYPE0");
		free(type);
		free(cls);
		for (size_t j = 0; j < ldns_rr_rd_count(rr); j++) {
			char *d = ldns_rdf2str(ldns_rr_rdf(rr, j));
			fprintf(f, " %s", d ? d : "?");
			free(d);
		}
		fputc('\n', f);
	}
	ldns_pkt_free(p);
	return ferror(f) ? PKARR_E_IO : 0;
}
