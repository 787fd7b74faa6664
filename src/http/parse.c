/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * parse.c -- HTTP/1.1 request heads, query strings, base64url and
 * X-Forwarded-For, without I/O (see parse.h).
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "http/http.h"
#include "http/parse.h"
#include "util/netaddr.h"

/* RFC 9110 section 5.6.2 */
static bool
is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool
str_is(const struct h1_str *s, const char *lit)
{
	size_t n = strlen(lit);
	return s->n == n && strncasecmp(s->p, lit, n) == 0;
}

/* Does a comma-separated header value hold this token? */
static bool
has_token(const char *p, size_t n, const char *tok)
{
	size_t tl = strlen(tok);
	size_t i = 0;

	while (i < n) {
		while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == ','))
			i++;
		size_t start = i;
		while (i < n && p[i] != ',')
			i++;
		size_t end = i;
		while (end > start && (p[end - 1] == ' ' || p[end - 1] == '\t'))
			end--;
		if (end - start == tl && strncasecmp(p + start, tok, tl) == 0)
			return true;
	}
	return false;
}

static unsigned
method_bit(const struct h1_str *m)
{
	static const struct { const char *s; unsigned bit; } tab[] = {
		{ "GET", HTTP_GET }, { "HEAD", HTTP_HEAD }, { "POST", HTTP_POST },
		{ "PUT", HTTP_PUT }, { "DELETE", HTTP_DELETE }, { "OPTIONS", HTTP_OPTIONS },
	};
	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (m->n == strlen(tab[i].s) && memcmp(m->p, tab[i].s, m->n) == 0)
			return tab[i].bit;
	return 0;
}

/* One header field; the line is [p, p+n) without its CRLF. */
static int
parse_field(const char *p, size_t n, struct h1_head *h)
{
	size_t i = 0;
	struct h1_str name, val;

	while (i < n && is_tchar((unsigned char)p[i]))
		i++;
	if (i == 0 || i >= n || p[i] != ':')
		return H1_BAD; /* empty name, space before ':' (section 5.1), or obs-fold */
	name.p = p;
	name.n = i;
	i++;
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	size_t end = n;
	while (end > i && (p[end - 1] == ' ' || p[end - 1] == '\t'))
		end--;
	for (size_t j = i; j < end; j++) {
		unsigned char c = (unsigned char)p[j];
		if (c == 0 || c == '\r' || c == '\n' || (c < 0x20 && c != '\t') || c == 0x7f)
			return H1_BAD;
	}
	val.p = p + i;
	val.n = end - i;

	if (str_is(&name, "content-length")) {
		int64_t v = 0;
		if (val.n == 0 || val.n > 15)
			return H1_BAD;
		for (size_t j = 0; j < val.n; j++) {
			if (val.p[j] < '0' || val.p[j] > '9')
				return H1_BAD;
			v = v * 10 + (val.p[j] - '0');
		}
		/* section 6.3: differing repeated lengths are an error */
		if (h->content_length >= 0 && h->content_length != v)
			return H1_BAD;
		h->content_length = v;
	} else if (str_is(&name, "transfer-encoding")) {
		h->chunked = true;
	} else if (str_is(&name, "connection")) {
		if (has_token(val.p, val.n, "close"))
			h->conn_close = true;
		if (has_token(val.p, val.n, "keep-alive"))
			h->conn_keep_alive = true;
	} else if (str_is(&name, "content-type")) {
		if (!h->content_type.p)
			h->content_type = val;
	} else if (str_is(&name, "accept")) {
		if (!h->accept.p)
			h->accept = val;
	} else if (str_is(&name, "origin")) {
		if (!h->origin.p)
			h->origin = val;
	} else if (str_is(&name, "if-modified-since")) {
		if (!h->if_modified_since.p)
			h->if_modified_since = val;
	} else if (str_is(&name, "x-forwarded-for")) {
		/* repeated: the last one is the nearest proxy's */
		h->x_forwarded_for = val;
	}
	return H1_OK;
}

int
h1_parse_head(const char *buf, size_t len, struct h1_head *h)
{
	const char *end = NULL;
	size_t i, line_end;

	memset(h, 0, sizeof(*h));
	h->content_length = -1;
	/* RFC 9112 section 2.2: ignore empty lines before the request line */
	i = 0;
	while (i + 1 < len && buf[i] == '\r' && buf[i + 1] == '\n')
		i += 2;
	for (size_t j = i; j + 3 < len; j++) {
		if (buf[j] == '\r' && buf[j + 1] == '\n' && buf[j + 2] == '\r' && buf[j + 3] == '\n') {
			end = buf + j;
			break;
		}
	}
	if (!end) {
		/* a bare LF where CRLF belongs, or a NUL, is bad at once */
		for (size_t j = i; j < len; j++)
			if (buf[j] == 0 || (buf[j] == '\n' && (j == 0 || buf[j - 1] != '\r')))
				return H1_BAD;
		return H1_PARTIAL;
	}
	h->head_len = (size_t)(end - buf) + 4;
	size_t hend = (size_t)(end - buf) + 2; /* includes the last field's CRLF */

	/* request-line = method SP request-target SP HTTP-version */
	line_end = i;
	while (line_end + 1 < hend && !(buf[line_end] == '\r' && buf[line_end + 1] == '\n'))
		line_end++;
	{
		const char *p = buf + i;
		size_t n = line_end - i, a = 0, b;
		while (a < n && is_tchar((unsigned char)p[a]))
			a++;
		if (a == 0 || a >= n || p[a] != ' ')
			return H1_BAD;
		h->method_str.p = p;
		h->method_str.n = a;
		h->method = method_bit(&h->method_str);
		b = a + 1;
		while (b < n && p[b] != ' ')
			b++;
		if (b == a + 1 || b >= n)
			return H1_BAD;
		h->target.p = p + a + 1;
		h->target.n = b - a - 1;
		for (size_t j = 0; j < h->target.n; j++) {
			unsigned char c = (unsigned char)h->target.p[j];
			if (c <= 0x20 || c >= 0x7f)
				return H1_BAD;
		}
		if (h->target.p[0] != '/' && !(h->target.n == 1 && h->target.p[0] == '*'))
			return H1_BAD; /* absolute-form and authority-form: not for us */
		if (n - b - 1 != 8 || memcmp(p + b + 1, "HTTP/", 5) != 0 || p[b + 7] != '.' ||
		    p[b + 6] < '0' || p[b + 6] > '9' || p[b + 8] < '0' || p[b + 8] > '9')
			return H1_BAD;
		if (p[b + 6] != '1')
			return H1_VERSION;
		h->minor = p[b + 8] - '0';
	}
	i = line_end + 2;
	while (i < hend) {
		size_t e = i;
		while (e + 1 < hend && !(buf[e] == '\r' && buf[e + 1] == '\n'))
			e++;
		if (e + 1 >= hend)
			return H1_BAD;
		if (++h->n_headers > H1_MAX_HEADERS)
			return H1_TOO_LARGE;
		int rc = parse_field(buf + i, e - i, h);
		if (rc != H1_OK)
			return rc;
		i = e + 2;
	}
	return H1_OK;
}

bool
http_query_param(const char *q, size_t qlen, const char *name, struct h1_str *val)
{
	size_t nl = strlen(name), i = 0;

	while (i < qlen) {
		size_t s = i;
		while (i < qlen && q[i] != '&')
			i++;
		/* [s, i) is one "name=value" */
		if (i - s > nl && q[s + nl] == '=' && memcmp(q + s, name, nl) == 0) {
			val->p = q + s + nl + 1;
			val->n = i - s - nl - 1;
			return true;
		}
		i++;
	}
	return false;
}

/* base64url (RFC 4648 section 5) digit values; 64: not a digit */
#define X64 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64
static const uint8_t b64url_val[256] = {
	X64, X64,
	64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 62, 64, 64,
	52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 64, 64, 64, 64, 64, 64,
	64, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
	15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 64, 64, 64, 64, 63,
	64, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
	41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 64, 64, 64, 64, 64,
	X64, X64, X64, X64, X64, X64, X64, X64,
};
#undef X64

long
http_b64url_decode(const char *in, size_t len, uint8_t *out, size_t cap)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t o = 0, i = 0, full, rest;
	uint32_t acc;

	while (len > 0 && in[len - 1] == '=')
		len--;
	rest = len % 4;
	if (rest == 1)
		return -1;
	full = len - rest;
	if (full / 4 * 3 + (rest ? rest - 1 : 0) > cap)
		return -1;
	for (; i < full; i += 4) {
		uint32_t a = b64url_val[p[i]], b = b64url_val[p[i + 1]];
		uint32_t c = b64url_val[p[i + 2]], d = b64url_val[p[i + 3]];
		if ((a | b | c | d) & 64)
			return -1;
		acc = a << 18 | b << 12 | c << 6 | d;
		out[o++] = (uint8_t)(acc >> 16);
		out[o++] = (uint8_t)(acc >> 8);
		out[o++] = (uint8_t)acc;
	}
	if (rest) {
		uint32_t a = b64url_val[p[i]], b = b64url_val[p[i + 1]];
		uint32_t c = rest == 3 ? b64url_val[p[i + 2]] : 0;
		if ((a | b | c) & 64)
			return -1;
		acc = a << 18 | b << 12 | c << 6;
		/* RFC 4648 section 3.5: the left-over bits must be zero */
		if (rest == 2 ? (acc & 0xffff) : (acc & 0xff))
			return -1;
		out[o++] = (uint8_t)(acc >> 16);
		if (rest == 3)
			out[o++] = (uint8_t)(acc >> 8);
	}
	return (long)o;
}

int
http_xff_parse(const char *v, size_t len, struct sockaddr_storage *out, socklen_t *out_len)
{
	char buf[NETADDR_STRLEN];
	size_t s = len, e;

	while (s > 0 && v[s - 1] != ',')
		s--;
	while (s < len && (v[s] == ' ' || v[s] == '\t'))
		s++;
	e = len;
	while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
		e--;
	if (e == s || e - s >= sizeof(buf))
		return -1;
	memcpy(buf, v + s, e - s);
	buf[e - s] = 0;
	return netaddr_parse(buf, 0, out, out_len);
}
