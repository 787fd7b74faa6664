/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_scenario.c -- the harness's scenario parser: good lines parse
 * into the steps they say, and each kind of malformed line is refused
 * with the file and line number.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "../unit/tap.h"
#include "scenario.h"

static char err[600];

static int
parse(struct scenario *sc, const char *text)
{
	err[0] = '\0';
	return scenario_parse_text(sc, "t.scn", text, err, sizeof(err));
}

/* A bad scenario: refused, and the message starts "t.scn:LINE: ". */
static void
bad(const char *text, int line, const char *what)
{
	struct scenario sc;
	char prefix[32];
	int rc = parse(&sc, text);

	snprintf(prefix, sizeof(prefix), "t.scn:%d: ", line);
	ok(rc == -1 && strncmp(err, prefix, strlen(prefix)) == 0, "refused at line %d: %s (%s)",
	    line, what, err);
	scenario_free(&sc);
}

int
main(void)
{
	struct scenario sc;
	const struct step *st;

	if (sodium_init() < 0)
		return 1;
	ok(parse(&sc,
	       "# comment\n"
	       "CONFIG max-ttl: 60\n"
	       "ICANN a.example. A DELAY 2.5 -> a.example. 60 IN A 192.0.2.1 ; a.example. 60 IN A 192.0.2.2\n"
	       "ICANN nx.example. AAAA NXDOMAIN AUTHORITY example. 60 IN SOA ns. h. 1 2 3 4 5\n"
	       "PUBLISH alice @ 300 IN A 192.0.2.9; www 60 IN TXT \"a;b\"\n"
	       "QUERY @one www.{alice}. A +do +cd\n"
	       "EXPECT NOERROR +ra -aa\n"
	       "ANSWER a.example. 60 IN A 192.0.2.1\n"
	       "AUTHORITY none\n"
	       "EXPECT @one NOTHING\n"
	       "EXPECT UPSTREAM a.example. A 1\n"
	       "EXPECT DHT alice FOUND\n"
	       "TIME_PASSES 1.8\n"
	       "SIGHUP\n"
	       "TODO issue 12\n") == 0, "a scenario with every kind of step parses (%s)", err);
	st = sc.steps;
	ok(st && st->kind == STEP_CONFIG && strcmp(st->key, "max-ttl") == 0 &&
	    strcmp(st->value, "60") == 0, "CONFIG key and value");
	st = st ? st->next : NULL;
	ok(st && st->kind == STEP_ICANN && st->rule.delay_ms == 2500 && st->rule.qtype == 1 &&
	    strchr(st->rule.answer, '\n') && !*st->rule.authority, "ICANN: delay, type, two records");
	st = st ? st->next : NULL;
	ok(st && st->rule.rcode == 3 && st->rule.qtype == 28 && strstr(st->rule.authority, "SOA"),
	    "ICANN: rcode and authority");
	st = st ? st->next : NULL;
	ok(st && st->kind == STEP_PUBLISH && st->dns_len > 12, "PUBLISH: zone text to DNS");
	st = st ? st->next : NULL;
	ok(st && st->kind == STEP_QUERY && strcmp(st->label, "one") == 0 && st->do_bit && st->cd &&
	    strlen(st->name) == 4 + 52 + 1, "QUERY: label, flags, {alice} became a key");
	st = st ? st->next : NULL;
	ok(st && st->kind == STEP_EXPECT && strcmp(st->label, "one") == 0 && st->rcode == 0 &&
	    st->answer && !st->answer->next && st->check_authority && !st->authority &&
	    (st->flags_set & FLAG_RA) && (st->flags_clear & FLAG_AA), "EXPECT: rcode, flags, records");
	st = st ? st->next : NULL;
	ok(st && st->kind == STEP_NOTHING, "EXPECT NOTHING");
	st = st ? st->next : NULL;
	ok(st && st->kind == STEP_UPSTREAM && st->count == 1, "EXPECT UPSTREAM");
	st = st ? st->next : NULL;
	ok(st && st->kind == STEP_DHT && st->found, "EXPECT DHT");
	st = st ? st->next : NULL;
	ok(st && st->kind == STEP_TIME && st->ms == 1800, "TIME_PASSES 1.8 is 1800 ms");
	st = st ? st->next : NULL;
	ok(st && st->kind == STEP_SIGHUP, "SIGHUP");
	st = st ? st->next : NULL;
	ok(st && st->kind == STEP_TODO && strcmp(st->value, "issue 12") == 0 && !st->next,
	    "TODO with its reason, and nothing after it");
	scenario_free(&sc);

	bad("QUERY a.example. A\nFROB x\n", 2, "unknown step");
	bad("QUERY a.example A\n", 1, "relative name");
	bad("QUERY a.example. NOTATYPE\n", 1, "unknown type");
	bad("QUERY a.example. A +dnssec\n", 1, "unknown query option");
	bad("\n\nEXPECT NOERROR\n", 3, "EXPECT before any QUERY");
	bad("QUERY a.example. A\nEXPECT @other NOERROR\n", 2, "unknown label");
	bad("QUERY @x a.example. A\nQUERY @x a.example. A\n", 2, "label used twice");
	bad("QUERY a.example. A\nEXPECT NOERROR +zz\n", 2, "unknown flag");
	bad("QUERY a.example. A\nEXPECT WHATEVER\n", 2, "unknown rcode");
	bad("QUERY a.example. A\nEXPECT NOTHING more\n", 2, "words after NOTHING");
	bad("ANSWER a.example. 60 IN A 192.0.2.1\n", 1, "ANSWER without EXPECT");
	bad("QUERY a.example. A\nEXPECT NOERROR\nANSWER a.example. 60 IN A 300.0.2.1\n", 3,
	    "bad record data");
	bad("QUERY a.example. A\nEXPECT NOERROR\nANSWER a.example. 60 IN A 1.2.3.4 ;\n", 3,
	    "empty record after ';'");
	bad("TIME_PASSES\n", 1, "TIME_PASSES without seconds");
	bad("TIME_PASSES 1.2345\n", 1, "more than 3 decimals");
	bad("TIME_PASSES 99999999\n", 1, "more than 30 days");
	bad("TIME_PASSES -1\n", 1, "negative time");
	bad("TIME_PASSES 1 2\n", 1, "two numbers");
	bad("SIGHUP now\n", 1, "words after SIGHUP");
	bad("CONFIG max-ttl 60\n", 1, "CONFIG without a colon");
	bad("CONFIG Max_TTL: 60\n", 1, "CONFIG key with capitals");
	bad("CONFIG max-ttl:\n", 1, "CONFIG without a value");
	bad("ICANN a.example. A LATER\n", 1, "unknown ICANN word");
	bad("ICANN a.example. A DELAY x\n", 1, "DELAY without seconds");
	bad("ICANN a.example. A NEVER -> a.example. 60 IN A 192.0.2.1\n", 1, "NEVER with records");
	bad("ICANN a.example. A AUTHORITY example. 60 IN SOA ns. h. 1 2 3 4 5 -> a.example. 60 IN A 1.2.3.4\n",
	    1, "AUTHORITY before ->");
	bad("PUBLISH alice\n", 1, "PUBLISH without records");
	bad("PUBLISH {alice} @ 60 IN A 192.0.2.1\n", 1, "PUBLISH with a key, not a key name");
	bad("PUBLISH alice www.example.com. 60 IN A 192.0.2.1\n", 1, "PUBLISH record outside the key");
	bad("QUERY www.{al ice}. A\n", 1, "bad key name in braces");
	bad("QUERY www.{alice. A\n", 1, "unclosed brace");
	bad("EXPECT UPSTREAM a.example. A many\n", 1, "UPSTREAM count not a number");
	bad("EXPECT DHT alice MAYBE\n", 1, "DHT neither FOUND nor ABSENT");
	bad("QUERY a.example. A\x01\n", 1, "control character");
	bad("# only a comment\n", 1, "no steps");
	return tap_done();
}
