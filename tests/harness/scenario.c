/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * scenario.c -- the scenario file parser. Line oriented: one step per
 * line, "#" starts a comment line, {name} anywhere stands for the public
 * key of the test key "name". Every line is checked here, so a typo in a
 * scenario is a file:line error, not a puzzling test failure.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>
#include <sodium.h>

#include "icann/icann.h"
#include "pkarr/zbase32.h"
#include "pkarr/zone.h"
#include "scenario.h"

#define MAX_LINE 4096
#define MAX_TIME_S (30u * 86400u)
#define MAX_KEY_NAME 32

struct parser {
	struct scenario *sc;
	int line;
	char *err;
	size_t errlen;
	struct step **tail;
	struct step *last;         /* the step ANSWER/AUTHORITY lines attach to */
	char query_label[32];      /* the latest QUERY's label */
	char labels[256][32];      /* every QUERY label so far */
	size_t n_labels;
};

static int
fail(struct parser *p, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(p->err, p->errlen, "%s:%d: ", p->sc->file, p->line);

	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < p->errlen)
		vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

void
scenario_key(const char *name, uint8_t seed[32], uint8_t pk[32])
{
	uint8_t sk[64];

	crypto_generichash(seed, 32, (const uint8_t *)name, strlen(name), NULL, 0);
	crypto_sign_seed_keypair(pk, sk, seed);
	sodium_memzero(sk, sizeof(sk));
}

/* {name} -> the key's z-base32 form. */
static int
substitute(struct parser *p, const char *in, char *out, size_t cap)
{
	size_t n = 0;

	while (*in) {
		if (*in == '{') {
			const char *end = strchr(in, '}');
			char name[64], z[PKARR_Z32_KEY_LEN + 1];
			uint8_t seed[32], pk[32];
			size_t len = end ? (size_t)(end - in - 1) : 0;
			if (!end || len == 0 || len > MAX_KEY_NAME)
				return fail(p, "'{' without a key name (1 to %d characters) and '}'",
				    MAX_KEY_NAME);
			memcpy(name, in + 1, len);
			name[len] = '\0';
			for (size_t i = 0; i < len; i++)
				if (!isalnum((unsigned char)name[i]) && name[i] != '_' && name[i] != '-')
					return fail(p, "key name '{%s}': letters, digits, _ and - only", name);
			scenario_key(name, seed, pk);
			pkarr_z32_encode(pk, z);
			p->sc->uses_dht = true;
			if (n + PKARR_Z32_KEY_LEN >= cap)
				return fail(p, "line too long");
			memcpy(out + n, z, PKARR_Z32_KEY_LEN);
			n += PKARR_Z32_KEY_LEN;
			in = end + 1;
			continue;
		}
		if (n + 1 >= cap)
			return fail(p, "line too long");
		out[n++] = *in++;
	}
	out[n] = '\0';
	return 0;
}

/* The next whitespace-separated word of *s, or NULL at the end. */
static char *
word(char **s)
{
	char *w;

	while (**s == ' ' || **s == '\t')
		(*s)++;
	if (!**s)
		return NULL;
	w = *s;
	while (**s && **s != ' ' && **s != '\t')
		(*s)++;
	if (**s)
		*(*s)++ = '\0';
	return w;
}

static char *
rest(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

/* Seconds with up to three decimals, as milliseconds. */
static int
parse_seconds(struct parser *p, const char *w, uint64_t *ms)
{
	uint64_t s = 0, frac = 0;
	unsigned digits = 0;
	const char *c = w;

	if (!w || !isdigit((unsigned char)*c))
		return fail(p, "expected seconds (e.g. 1.8), got '%s'", w ? w : "");
	for (; isdigit((unsigned char)*c); c++)
		if ((s = s * 10 + (uint64_t)(*c - '0')) > MAX_TIME_S)
			return fail(p, "'%s': at most %u seconds", w, MAX_TIME_S);
	if (*c == '.')
		for (c++; isdigit((unsigned char)*c); c++, digits++)
			if (digits < 3)
				frac = frac * 10 + (uint64_t)(*c - '0');
	if (*c || digits > 3)
		return fail(p, "'%s' is not a number of seconds (at most 3 decimals)", w);
	while (digits++ < 3)
		frac *= 10;
	*ms = s * 1000 + frac;
	return 0;
}

static int
parse_type(struct parser *p, const char *w, uint16_t *t)
{
	if (!w)
		return fail(p, "expected a record type");
	*t = (uint16_t)ldns_get_rr_type_by_name(w);
	if (*t == 0)
		return fail(p, "unknown record type '%s'", w);
	return 0;
}

static int
parse_name(struct parser *p, const char *w, char *out, size_t cap)
{
	ldns_rdf *r = NULL;
	size_t n;

	if (!w)
		return fail(p, "expected a domain name");
	n = strlen(w);
	if (n == 0 || w[n - 1] != '.')
		return fail(p, "'%s': write names absolute, with the final dot", w);
	if (ldns_str2rdf_dname(&r, w) != LDNS_STATUS_OK)
		return fail(p, "'%s' is not a domain name", w);
	ldns_rdf_deep_free(r);
	if (n >= cap)
		return fail(p, "name too long");
	for (size_t i = 0; i <= n; i++)
		out[i] = (char)tolower((unsigned char)w[i]);
	return 0;
}

static int
parse_rcode(const char *w)
{
	static const char *names[] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",
		"REFUSED" };

	for (int i = 0; w && i < 6; i++)
		if (strcmp(w, names[i]) == 0)
			return i;
	return -1;
}

/* Check one record in presentation form and keep its text. */
static int
add_rr(struct parser *p, struct rr_text **list, const char *text)
{
	ldns_rr *rr = NULL;
	ldns_status st = ldns_rr_new_frm_str(&rr, text, 0, NULL, NULL);
	struct rr_text *t, **tail;

	if (st != LDNS_STATUS_OK)
		return fail(p, "record '%s': %s", text, ldns_get_errorstr_by_id(st));
	ldns_rr_free(rr);
	if (strchr(text, ' ') == NULL || !strchr(text, '.'))
		return fail(p, "record '%s': give owner, TTL, class, type and data", text);
	t = calloc(1, sizeof(*t));
	if (!t || !(t->text = strdup(text))) {
		free(t);
		return fail(p, "out of memory");
	}
	for (tail = list; *tail; tail = &(*tail)->next)
		;
	*tail = t;
	return 0;
}

/* Records separated by ';' outside double quotes. */
static int
add_rrs(struct parser *p, struct rr_text **list, char *s)
{
	bool quoted = false;
	char *start = s;

	for (;; s++) {
		if (*s == '"' && (s == start || s[-1] != '\\'))
			quoted = !quoted;
		if ((*s == ';' && !quoted) || !*s) {
			bool end = !*s;
			*s = '\0';
			char *rr = rest(start);
			if (!*rr)
				return fail(p, "empty record (';' with nothing around it)");
			if (add_rr(p, list, rr) < 0)
				return -1;
			if (end)
				return 0;
			start = s + 1;
		}
	}
}

static char *
join_rrs(const struct rr_text *l)
{
	size_t n = 1;
	char *s;

	for (const struct rr_text *t = l; t; t = t->next)
		n += strlen(t->text) + 1;
	if (!(s = calloc(1, n)))
		return NULL;
	for (const struct rr_text *t = l; t; t = t->next) {
		strcat(s, t->text);
		if (t->next)
			strcat(s, "\n");
	}
	return s;
}

static void
free_rrs(struct rr_text *l)
{
	while (l) {
		struct rr_text *n = l->next;
		free(l->text);
		free(l);
		l = n;
	}
}

static int
parse_icann(struct parser *p, struct step *st, char *s)
{
	struct fake_rule *r = &st->rule;
	struct rr_text *an = NULL, *au = NULL;
	char *arrow = strstr(s, "->"), *auth = strstr(s, " AUTHORITY ");
	char *w;
	int rc = -1;

	if (arrow)
		*arrow = '\0';
	if (auth)
		*auth = '\0';
	if (auth && arrow && auth < arrow)
		return fail(p, "write '-> answer records' before 'AUTHORITY records'");
	if (parse_name(p, word(&s), r->name, sizeof(r->name)) < 0 ||
	    parse_type(p, word(&s), &r->qtype) < 0)
		return -1;
	r->sec = ICANN_INSECURE;
	while ((w = word(&s))) {
		int rcode = parse_rcode(w);
		if (strcmp(w, "DELAY") == 0) {
			if (parse_seconds(p, word(&s), &r->delay_ms) < 0)
				return -1;
		} else if (strcmp(w, "NEVER") == 0) {
			r->never = true;
		} else if (strcmp(w, "FAIL") == 0) {
			r->fail = true;
		} else if (strcmp(w, "SECURE") == 0) {
			r->sec = ICANN_SECURE;
		} else if (strcmp(w, "BOGUS") == 0) {
			r->sec = ICANN_BOGUS;
		} else if (rcode >= 0) {
			r->rcode = rcode;
		} else {
			return fail(p, "ICANN: unknown word '%s' (DELAY s, NEVER, FAIL, SECURE, "
			    "BOGUS, an rcode, '-> records', 'AUTHORITY records')", w);
		}
	}
	if ((arrow && add_rrs(p, &an, arrow + 2) < 0) ||
	    (auth && add_rrs(p, &au, auth + strlen(" AUTHORITY ")) < 0))
		goto out;
	if ((r->never || r->fail) && (an || au)) {
		fail(p, "ICANN: NEVER and FAIL answer nothing, so no records");
		goto out;
	}
	r->answer = join_rrs(an);
	r->authority = join_rrs(au);
	rc = (r->answer && r->authority) ? 0 : fail(p, "out of memory");
out:
	free_rrs(an);
	free_rrs(au);
	return rc;
}

static int
parse_publish(struct parser *p, struct step *st, char *s)
{
	char *key = word(&s), *zone = rest(s), err[256], text[4096];
	uint8_t pk[32];
	bool quoted = false;
	size_t n = 0;

	if (!key || !*zone)
		return fail(p, "PUBLISH key records (e.g. PUBLISH alice www 300 IN A 192.0.2.1)");
	if (strlen(key) > MAX_KEY_NAME)
		return fail(p, "PUBLISH: '%s' is not a key name (at most %d characters)", key,
		    MAX_KEY_NAME);
	for (const char *c = key; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-')
			return fail(p, "PUBLISH: '%s' is a key name (letters, digits, _ -), not a key", key);
	snprintf(st->name, sizeof(st->name), "%s", key);
	scenario_key(key, st->seed, pk);
	/* records are separated by ';': one zone line each, no leading blank
	 * (that would mean "the previous owner") */
	for (const char *c = zone; *c && n + 1 < sizeof(text); c++) {
		if (*c == '"')
			quoted = !quoted;
		if (*c == ';' && !quoted) {
			text[n++] = '\n';
			while (c[1] == ' ' || c[1] == '\t')
				c++;
		} else {
			text[n++] = *c;
		}
	}
	text[n] = '\0';
	if (pkarr_zone_to_dns(text, pk, 300, st->dns, sizeof(st->dns), &st->dns_len, err,
		sizeof(err)) != 0)
		return fail(p, "PUBLISH records: %s", err);
	return 0;
}

static int
parse_label(struct parser *p, char **s, char *label, bool query)
{
	char *w = *s;

	while (*w == ' ' || *w == '\t')
		w++;
	if (*w != '@') {
		if (query) {
			snprintf(label, 32, "line %d", p->line);
			return 0;
		}
		if (!p->query_label[0])
			return fail(p, "EXPECT before any QUERY");
		snprintf(label, 32, "%s", p->query_label);
		return 0;
	}
	w = word(s);
	if (strlen(w + 1) == 0 || strlen(w + 1) >= 32)
		return fail(p, "label '%s': 1 to 31 characters after '@'", w);
	snprintf(label, 32, "%s", w + 1);
	if (query)
		return 0;
	for (size_t i = 0; i < p->n_labels; i++)
		if (strcmp(p->labels[i], label) == 0)
			return 0;
	return fail(p, "no QUERY @%s before this line", label);
}

static int
parse_query(struct parser *p, struct step *st, char *s)
{
	char *w;

	if (parse_label(p, &s, st->label, true) < 0 ||
	    parse_name(p, word(&s), st->name, sizeof(st->name)) < 0 ||
	    parse_type(p, word(&s), &st->qtype) < 0)
		return -1;
	while ((w = word(&s))) {
		if (strcmp(w, "+do") == 0)
			st->do_bit = true;
		else if (strcmp(w, "+cd") == 0)
			st->cd = true;
		else if (strcmp(w, "+nord") == 0)
			st->nord = true;
		else
			return fail(p, "QUERY: unknown option '%s' (+do, +cd, +nord)", w);
	}
	for (size_t i = 0; i < p->n_labels; i++)
		if (strcmp(p->labels[i], st->label) == 0)
			return fail(p, "QUERY @%s: label used before", st->label);
	if (p->n_labels == sizeof(p->labels) / sizeof(p->labels[0]))
		return fail(p, "too many queries");
	snprintf(p->labels[p->n_labels++], 32, "%s", st->label);
	snprintf(p->query_label, sizeof(p->query_label), "%s", st->label);
	return 0;
}

static int
parse_flag(struct parser *p, struct step *st, const char *w)
{
	static const struct { const char *name; unsigned bit; } flags[] = {
		{ "aa", FLAG_AA }, { "tc", FLAG_TC }, { "rd", FLAG_RD }, { "ra", FLAG_RA },
		{ "ad", FLAG_AD }, { "cd", FLAG_CD },
	};

	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (strcmp(w + 1, flags[i].name) == 0) {
			if (*w == '+')
				st->flags_set |= flags[i].bit;
			else
				st->flags_clear |= flags[i].bit;
			return 0;
		}
	return fail(p, "unknown flag '%s' (+aa -aa +tc +rd +ra +ad +cd and their -)", w);
}

static int
parse_expect(struct parser *p, struct step *st, char *s)
{
	char *w;

	while (*s == ' ' || *s == '\t')
		s++;
	if (strncmp(s, "UPSTREAM", 8) == 0 && (!s[8] || s[8] == ' ' || s[8] == '\t')) {
		s += 8;
		char *n;
		unsigned long v;
		st->kind = STEP_UPSTREAM;
		if (parse_name(p, word(&s), st->name, sizeof(st->name)) < 0 ||
		    parse_type(p, word(&s), &st->qtype) < 0)
			return -1;
		n = word(&s);
		errno = 0;
		v = n ? strtoul(n, &w, 10) : 0;
		if (!n || *w || errno || v > 100000 || !isdigit((unsigned char)*n) || word(&s))
			return fail(p, "EXPECT UPSTREAM name type COUNT");
		st->count = (unsigned)v;
		return 0;
	}
	if (strncmp(s, "DHT", 3) == 0 && (!s[3] || s[3] == ' ' || s[3] == '\t')) {
		s += 3;
		char *key = word(&s), *what = word(&s);
		st->kind = STEP_DHT;
		p->sc->uses_dht = true;
		if (!key || !what || word(&s) ||
		    (strcmp(what, "FOUND") != 0 && strcmp(what, "ABSENT") != 0))
			return fail(p, "EXPECT DHT keyname FOUND|ABSENT");
		if (strlen(key) > MAX_KEY_NAME)
			return fail(p, "EXPECT DHT: '%s' is not a key name", key);
		snprintf(st->name, sizeof(st->name), "%s", key);
		st->found = strcmp(what, "FOUND") == 0;
		return 0;
	}
	if (parse_label(p, &s, st->label, false) < 0)
		return -1;
	w = word(&s);
	if (w && strcmp(w, "NOTHING") == 0) {
		st->kind = STEP_NOTHING;
		if (word(&s))
			return fail(p, "EXPECT NOTHING takes nothing more");
		return 0;
	}
	if ((st->rcode = parse_rcode(w)) < 0)
		return fail(p, "EXPECT: '%s' is not NOTHING, UPSTREAM, DHT or an rcode "
		    "(NOERROR, NXDOMAIN, SERVFAIL, REFUSED, NOTIMP, FORMERR)", w ? w : "");
	while ((w = word(&s)))
		if ((*w != '+' && *w != '-') || parse_flag(p, st, w) < 0)
			return *w == '+' || *w == '-' ? -1 : fail(p, "EXPECT: '%s' is not a flag", w);
	return 0;
}

static int
parse_line(struct parser *p, char *line)
{
	char *s = line, *kw = word(&s);
	struct step *st;
	int rc;

	if (!kw || *kw == '#')
		return 0;
	if (strcmp(kw, "ANSWER") == 0 || strcmp(kw, "AUTHORITY") == 0) {
		if (!p->last || p->last->kind != STEP_EXPECT)
			return fail(p, "%s must follow an EXPECT with an rcode", kw);
		if (kw[1] == 'U') {
			p->last->check_authority = true;
			if (strcmp(rest(s), "none") == 0)
				return 0;
		}
		return add_rrs(p, kw[1] == 'N' ? &p->last->answer : &p->last->authority, rest(s));
	}
	if (!(st = calloc(1, sizeof(*st))))
		return fail(p, "out of memory");
	st->line = p->line;
	*p->tail = st;
	p->tail = &st->next;
	p->last = st;
	if (strcmp(kw, "CONFIG") == 0 || strcmp(kw, "CONFIG+") == 0) {
		char *colon = strchr(s, ':');
		st->kind = STEP_CONFIG;
		st->append = kw[6] == '+';
		if (!colon)
			return fail(p, "CONFIG key: value");
		*colon = '\0';
		st->key = strdup(rest(s));
		st->value = strdup(rest(colon + 1));
		if (!st->key || !st->value)
			return fail(p, "out of memory");
		if (!*st->key || strspn(st->key, "abcdefghijklmnopqrstuvwxyz0123456789-") !=
		    strlen(st->key))
			return fail(p, "CONFIG: '%s' is not a key name", st->key);
		if (!*st->value || strchr(st->value, '\n'))
			return fail(p, "CONFIG %s: no value", st->key);
		return 0;
	}
	if (strcmp(kw, "ICANN") == 0) {
		st->kind = STEP_ICANN;
		return parse_icann(p, st, s);
	}
	if (strcmp(kw, "PUBLISH") == 0) {
		st->kind = STEP_PUBLISH;
		p->sc->uses_dht = true;
		return parse_publish(p, st, s);
	}
	if (strcmp(kw, "QUERY") == 0) {
		st->kind = STEP_QUERY;
		return parse_query(p, st, s);
	}
	if (strcmp(kw, "EXPECT") == 0) {
		st->kind = STEP_EXPECT;
		return parse_expect(p, st, s);
	}
	if (strcmp(kw, "TIME_PASSES") == 0) {
		st->kind = STEP_TIME;
		if ((rc = parse_seconds(p, word(&s), &st->ms)) < 0)
			return rc;
		return word(&s) ? fail(p, "TIME_PASSES takes one number of seconds") : 0;
	}
	if (strcmp(kw, "TODO") == 0) {
		st->kind = STEP_TODO;
		if (!(st->value = strdup(rest(s))))
			return fail(p, "out of memory");
		return 0;
	}
	if (strcmp(kw, "SIGHUP") == 0) {
		st->kind = STEP_SIGHUP;
		return word(&s) ? fail(p, "SIGHUP takes nothing more") : 0;
	}
	return fail(p, "unknown step '%s' (CONFIG, ICANN, PUBLISH, QUERY, EXPECT, ANSWER, "
	    "AUTHORITY, TIME_PASSES, SIGHUP, TODO)", kw);
}

int
scenario_parse_text(struct scenario *sc, const char *file, const char *text, char *err,
    size_t errlen)
{
	struct parser p = { .sc = sc, .err = err, .errlen = errlen };
	char raw[MAX_LINE], line[MAX_LINE];

	memset(sc, 0, sizeof(*sc));
	sc->file = file;
	p.tail = &sc->steps;
	while (*text) {
		size_t n = strcspn(text, "\n");
		p.line++;
		if (n >= sizeof(raw))
			return fail(&p, "line longer than %d characters", MAX_LINE - 1);
		memcpy(raw, text, n);
		raw[n] = '\0';
		text += n + (text[n] == '\n');
		if (n && raw[n - 1] == '\r')
			raw[n - 1] = '\0';
		for (const char *c = raw; *c; c++)
			if ((unsigned char)*c < 0x20 && *c != '\t')
				return fail(&p, "control character in line");
		if (substitute(&p, raw, line, sizeof(line)) < 0 || parse_line(&p, line) < 0)
			return -1;
	}
	if (!sc->steps)
		return fail(&p, "no steps");
	return 0;
}

int
scenario_parse(struct scenario *sc, const char *file, char *err, size_t errlen)
{
	FILE *f = fopen(file, "r");
	char *buf;
	size_t n;
	int rc;

	memset(sc, 0, sizeof(*sc));
	sc->file = file;
	if (!f) {
		snprintf(err, errlen, "%s: %s", file, strerror(errno));
		return -1;
	}
	buf = malloc(1024 * 1024 + 1);
	n = buf ? fread(buf, 1, 1024 * 1024 + 1, f) : 0;
	fclose(f);
	if (!buf || n > 1024 * 1024) {
		free(buf);
		snprintf(err, errlen, "%s: %s", file, buf ? "larger than 1 MB" : "out of memory");
		return -1;
	}
	buf[n] = '\0';
	if (memchr(buf, '\0', n)) {
		free(buf);
		snprintf(err, errlen, "%s: a NUL byte: not a text file", file);
		return -1;
	}
	rc = scenario_parse_text(sc, file, buf, err, errlen);
	free(buf);
	return rc;
}

void
scenario_free(struct scenario *sc)
{
	while (sc->steps) {
		struct step *st = sc->steps;
		sc->steps = st->next;
		free(st->key);
		free(st->value);
		free(st->rule.answer);
		free(st->rule.authority);
		free_rrs(st->answer);
		free_rrs(st->authority);
		free(st);
	}
}
