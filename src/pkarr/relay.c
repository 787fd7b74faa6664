/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * relay.c -- the pkarr relay payload, paths, HTTP dates and URLs (pkarr
 * design/relays.md; dates per RFC 9110 section 5.6.7). See relay.h.
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "pkarr/relay.h"
#include "pkarr/zbase32.h"

int
pkarr_relay_decode(struct pkarr_packet *out, const uint8_t pk[32], const uint8_t *buf,
    size_t len)
{
	if (!out || !pk || (!buf && len))
		return PKARR_E_INVAL;
	if (len > PKARR_RELAY_PAYLOAD_MAX || len < PKARR_RELAY_HDR)
		return PKARR_E_SIZE;
	return pkarr_packet_parse_relay(out, pk, buf, len);
}

int
pkarr_relay_encode(const struct pkarr_packet *pkt, uint8_t *out, size_t cap, size_t *len)
{
	return pkarr_packet_to_relay(pkt, out, cap, len);
}

int
pkarr_relay_path_key(const char *path, size_t len, uint8_t pk[32])
{
	size_t end;

	if (!path || len < 1 + PKARR_Z32_KEY_LEN || path[0] != '/')
		return PKARR_E_INVAL;
	for (end = 1; end < len && path[end] != '?'; end++)
		;
	if (end - 1 != PKARR_Z32_KEY_LEN)
		return PKARR_E_INVAL;
	return pkarr_z32_decode_key(path + 1, PKARR_Z32_KEY_LEN, pk) == 0 ? 0 : PKARR_E_INVAL;
}

/* ---- dates ---------------------------------------------------------------- */

static const char wdays[7][4] = { "Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed" };
static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug",
	"Sep", "Oct", "Nov", "Dec" };

/* Days since 1970-01-01 of a proleptic Gregorian date (y >= 1970), and
 * back (the usual era arithmetic, 400-year cycles of 146097 days). */
static uint64_t
days_from_civil(unsigned y, unsigned m, unsigned d)
{
	unsigned yy = m <= 2 ? y - 1 : y;
	unsigned era = yy / 400, yoe = yy - era * 400;
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (uint64_t)era * 146097 + doe - 719468;
}

static void
civil_from_days(uint64_t z, unsigned *y, unsigned *m, unsigned *d)
{
	z += 719468;
	uint64_t era = z / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (unsigned)(yoe + era * 400) + (*m <= 2);
}

#define DATE_MAX_S 253402300799ull /* 9999-12-31 23:59:59 */

static void
put2(char *p, unsigned v)
{
	p[0] = (char)('0' + v / 10 % 10);
	p[1] = (char)('0' + v % 10);
}

void
pkarr_relay_http_date(uint64_t secs, char out[PKARR_RELAY_DATE_LEN])
{
	unsigned y, m, d;
	uint64_t days;
	unsigned sod;

	if (secs > DATE_MAX_S)
		secs = DATE_MAX_S;
	days = secs / 86400;
	sod = (unsigned)(secs % 86400);
	civil_from_days(days, &y, &m, &d);
	/* "Sun, 06 Nov 1994 08:49:37 GMT" */
	memcpy(out, wdays[days % 7], 3);
	memcpy(out + 3, ", ", 2);
	put2(out + 5, d);
	out[7] = ' ';
	memcpy(out + 8, months[m - 1], 3);
	out[11] = ' ';
	put2(out + 12, y / 100);
	put2(out + 14, y % 100);
	out[16] = ' ';
	put2(out + 17, sod / 3600);
	out[19] = ':';
	put2(out + 20, sod / 60 % 60);
	out[22] = ':';
	put2(out + 23, sod % 60);
	memcpy(out + 25, " GMT", 4);
	out[29] = '\0';
}

/* A cursor over the hostile date text. */
struct dcur {
	const char *s;
	size_t len, pos;
};

static int
d_lit(struct dcur *c, const char *lit)
{
	size_t n = strlen(lit);
	if (c->len - c->pos < n || memcmp(c->s + c->pos, lit, n) != 0)
		return -1;
	c->pos += n;
	return 0;
}

/* exactly n digits (n <= 4); sp: a leading space counts (asctime's day) */
static int
d_num_sp(struct dcur *c, unsigned n, unsigned *v, int sp)
{
	*v = 0;
	if (c->len - c->pos < n)
		return -1;
	for (unsigned i = 0; i < n; i++) {
		char ch = c->s[c->pos + i];
		if (ch == ' ' && i == 0 && sp)
			continue;
		if (ch < '0' || ch > '9')
			return -1;
		*v = *v * 10 + (unsigned)(ch - '0');
	}
	c->pos += n;
	return 0;
}

static int
d_num(struct dcur *c, unsigned n, unsigned *v)
{
	return d_num_sp(c, n, v, 0);
}

static int
d_month(struct dcur *c, unsigned *m)
{
	if (c->len - c->pos < 3)
		return -1;
	for (unsigned i = 0; i < 12; i++)
		if (memcmp(c->s + c->pos, months[i], 3) == 0) {
			*m = i + 1;
			c->pos += 3;
			return 0;
		}
	return -1;
}

static int
d_time(struct dcur *c, unsigned *h, unsigned *mi, unsigned *se)
{
	if (d_num(c, 2, h) < 0 || d_lit(c, ":") < 0 || d_num(c, 2, mi) < 0 ||
	    d_lit(c, ":") < 0 || d_num(c, 2, se) < 0)
		return -1;
	return 0;
}

static const unsigned mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

int
pkarr_relay_parse_http_date(const char *s, size_t len, uint64_t *secs)
{
	struct dcur c = { s, len, 0 };
	unsigned y = 0, m = 0, d = 0, h = 0, mi = 0, se = 0;
	size_t comma;

	if (!s || !secs || len < 24 || len > 64)
		return PKARR_E_INVAL;
	for (comma = 0; comma < len && s[comma] != ',' && s[comma] != ' '; comma++)
		;
	if (comma == 3 && s[3] == ',') {
		/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
		c.pos = 4;
		if (d_lit(&c, " ") < 0 || d_num(&c, 2, &d) < 0 || d_lit(&c, " ") < 0 ||
		    d_month(&c, &m) < 0 || d_lit(&c, " ") < 0 || d_num(&c, 4, &y) < 0 ||
		    d_lit(&c, " ") < 0 || d_time(&c, &h, &mi, &se) < 0 || d_lit(&c, " GMT") < 0)
			return PKARR_E_INVAL;
	} else if (comma > 3 && comma < len && s[comma] == ',') {
		/* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"; two-digit years
		 * within 50 years ahead are taken as this century (RFC 9110
		 * says relative to now; this code has no clock) */
		c.pos = comma + 1;
		if (d_lit(&c, " ") < 0 || d_num(&c, 2, &d) < 0 || d_lit(&c, "-") < 0 ||
		    d_month(&c, &m) < 0 || d_lit(&c, "-") < 0 || d_num(&c, 2, &y) < 0 ||
		    d_lit(&c, " ") < 0 || d_time(&c, &h, &mi, &se) < 0 || d_lit(&c, " GMT") < 0)
			return PKARR_E_INVAL;
		y += y < 70 ? 2000 : 1900;
	} else if (comma == 3 && s[3] == ' ') {
		/* asctime: "Sun Nov  6 08:49:37 1994" */
		c.pos = 4;
		if (d_month(&c, &m) < 0 || d_lit(&c, " ") < 0 || d_num_sp(&c, 2, &d, 1) < 0 ||
		    d_lit(&c, " ") < 0 || d_time(&c, &h, &mi, &se) < 0 || d_lit(&c, " ") < 0 ||
		    d_num(&c, 4, &y) < 0)
			return PKARR_E_INVAL;
	} else {
		return PKARR_E_INVAL;
	}
	if (c.pos != len)
		return PKARR_E_INVAL;
	if (d < 1 || d > mdays[m - 1] || h > 23 || mi > 59 || se > 60)
		return PKARR_E_INVAL;
	if (m == 2 && d == 29 && (y % 4 != 0 || (y % 100 == 0 && y % 400 != 0)))
		return PKARR_E_INVAL;
	if (y < 1970) { /* before the epoch: "long ago" */
		*secs = 0;
		return 0;
	}
	*secs = days_from_civil(y, m, d) * 86400 + h * 3600u + mi * 60u + (se > 59 ? 59 : se);
	return 0;
}

int
pkarr_relay_modified_since(uint64_t ts_us, uint64_t ims_s)
{
	return ts_us / 1000000 > ims_s;
}

uint32_t
pkarr_relay_max_age(const struct pkarr_packet *pkt, const struct pkarr_answer_params *p)
{
	uint32_t ttl;

	if (pkarr_packet_min_ttl(pkt, p, &ttl) < 0)
		return p->min_ttl;
	return ttl;
}

/* ---- URLs ------------------------------------------------------------------ */

int
pkarr_relay_url_parse(const char *url, struct pkarr_relay_url *out)
{
	const char *p, *host, *host_end, *end;
	size_t n;
	unsigned long port = 0;

	if (!url || !out)
		return PKARR_E_INVAL;
	memset(out, 0, sizeof(*out));
	n = strnlen(url, PKARR_RELAY_URL_MAX + 1);
	if (n > PKARR_RELAY_URL_MAX)
		return PKARR_E_INVAL;
	end = url + n;
	if (n >= 8 && strncasecmp(url, "https://", 8) == 0) {
		out->https = 1;
		p = url + 8;
	} else if (n >= 7 && strncasecmp(url, "http://", 7) == 0) {
		p = url + 7;
	} else {
		return PKARR_E_INVAL;
	}
	if (p < end && *p == '[') {
		host = p + 1;
		host_end = memchr(host, ']', (size_t)(end - host));
		if (!host_end)
			return PKARR_E_INVAL;
		p = host_end + 1;
	} else {
		host = p;
		while (p < end && *p != ':' && *p != '/')
			p++;
		host_end = p;
	}
	if (host_end == host || (size_t)(host_end - host) >= sizeof(out->host))
		return PKARR_E_INVAL;
	for (const char *h = host; h < host_end; h++) {
		char ch = *h;
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == ':' || ch == '_'))
			return PKARR_E_INVAL;
	}
	memcpy(out->host, host, (size_t)(host_end - host));
	if (p < end && *p == ':') {
		p++;
		if (p == end || *p < '0' || *p > '9')
			return PKARR_E_INVAL;
		while (p < end && *p >= '0' && *p <= '9') {
			port = port * 10 + (unsigned long)(*p - '0');
			if (port > 65535)
				return PKARR_E_INVAL;
			p++;
		}
		if (port == 0)
			return PKARR_E_INVAL;
	} else {
		port = out->https ? 443 : 80;
	}
	out->port = (uint16_t)port;
	if (p < end && *p != '/')
		return PKARR_E_INVAL;
	/* the path: printable, no query or fragment, trailing "/" dropped */
	n = (size_t)(end - p);
	while (n > 0 && p[n - 1] == '/')
		n--;
	for (size_t i = 0; i < n; i++)
		if (p[i] <= ' ' || p[i] > '~' || p[i] == '?' || p[i] == '#')
			return PKARR_E_INVAL;
	memcpy(out->path, p, n);
	out->path[n] = '\0';
	return 0;
}
