/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * scenario.h -- a parsed scenario file (format: tests/harness/README.md).
 * The parser checks every line (names, types, records, zone text, labels)
 * and reports the first error as "file:line: message"; the driver then
 * only executes.
 */
#ifndef PKDNS_TESTS_HARNESS_SCENARIO_H
#define PKDNS_TESTS_HARNESS_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness.h"

enum step_kind {
	STEP_CONFIG,     /* CONFIG key: value (CONFIG+ appends) */
	STEP_ICANN,      /* ICANN name type ... */
	STEP_PUBLISH,    /* PUBLISH key records */
	STEP_QUERY,      /* QUERY [@label] name type [+do] [+cd] [+nord] */
	STEP_EXPECT,     /* EXPECT [@label] RCODE [+flag|-flag]..., ANSWER/AUTHORITY lines */
	STEP_NOTHING,    /* EXPECT [@label] NOTHING */
	STEP_UPSTREAM,   /* EXPECT UPSTREAM name type N */
	STEP_DHT,        /* EXPECT DHT key FOUND|ABSENT */
	STEP_TIME,       /* TIME_PASSES seconds */
	STEP_SIGHUP,     /* SIGHUP */
	STEP_TODO,       /* TODO [reason]: later checks are TAP TODO (known bugs) */
};

/* DNS header flags an EXPECT may require set or clear. */
enum {
	FLAG_AA = 1, FLAG_TC = 2, FLAG_RD = 4, FLAG_RA = 8, FLAG_AD = 16, FLAG_CD = 32,
};

/** A list of records in presentation form, one per entry. */
struct rr_text {
	char *text;
	struct rr_text *next;
};

struct step {
	enum step_kind kind;
	int line;
	char label[32];            /* QUERY, EXPECT, NOTHING */
	char *key, *value;         /* CONFIG; value: TODO's reason ("" ends) */
	bool append;               /* CONFIG+ */
	struct fake_rule rule;     /* ICANN (answer/authority owned here) */
	uint8_t seed[32];          /* PUBLISH: the key's secret seed */
	uint8_t dns[1000];         /* PUBLISH: the DNS message */
	size_t dns_len;
	char name[256];            /* QUERY, UPSTREAM: name; DHT/PUBLISH: key label */
	uint16_t qtype;            /* QUERY, UPSTREAM */
	bool do_bit, cd, nord;     /* QUERY */
	int rcode;                 /* EXPECT */
	unsigned flags_set, flags_clear;
	struct rr_text *answer, *authority;
	bool check_authority;      /* an AUTHORITY line (or AUTHORITY none) came */
	unsigned count;            /* UPSTREAM */
	bool found;                /* DHT */
	uint64_t ms;               /* TIME_PASSES */
	struct step *next;
};

struct scenario {
	const char *file;
	struct step *steps;
	/** a {key}, PUBLISH or EXPECT DHT: the scenario needs the DHT */
	bool uses_dht;
};

/**
 * Parse a scenario file.
 * @param sc filled (free with scenario_free)
 * @param file its path
 * @param err receives "file:line: message" on failure
 * @return 0, or -1
 */
int scenario_parse(struct scenario *sc, const char *file, char *err, size_t errlen);

/** Parse scenario text (the file's contents); as scenario_parse. */
int scenario_parse_text(struct scenario *sc, const char *file, const char *text, char *err,
    size_t errlen);

void scenario_free(struct scenario *sc);

/**
 * The test key called name: its seed is BLAKE2b-256 of the name, so a
 * scenario's keys are the same in every run.
 * @param seed receives the Ed25519 secret seed
 * @param pk receives the public key
 */
void scenario_key(const char *name, uint8_t seed[32], uint8_t pk[32]);

#endif
