/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ctl.c -- the control channel's request parser (see ctl.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "control/ctl.h"
#include "pkarr/zbase32.h"

#define MAX_WORDS 4

const char *const ctl_usage_lines[] = {
	"status               version, uptime, DHT state",
	"stats                every counter as name=value, then reset them",
	"stats_noreset        every counter, without resetting",
	"reload               read the configuration again (as SIGHUP)",
	"verbosity N          log level 0..3",
	"flush NAME [TYPE]    drop NAME's answers (of TYPE) from the answer cache",
	"flush_zone NAME      drop NAME and every name under it from the answer cache",
	"flush_key KEY        drop KEY's packet and every answer under the key",
	"lookup KEY           show the cached packet of KEY",
	"republish KEY        put KEY's cached packet on the DHT now",
	"dht_nodes            list the DHT routing table",
	NULL,
};

static const struct {
	const char *word;
	enum ctl_cmd cmd;
	int min_args, max_args;
} commands[] = {
	{ "status", CTL_STATUS, 0, 0 },
	{ "stats", CTL_STATS, 0, 0 },
	{ "stats_noreset", CTL_STATS_NORESET, 0, 0 },
	{ "reload", CTL_RELOAD, 0, 0 },
	{ "verbosity", CTL_VERBOSITY, 1, 1 },
	{ "flush", CTL_FLUSH, 1, 2 },
	{ "flush_zone", CTL_FLUSH_ZONE, 1, 1 },
	{ "flush_key", CTL_FLUSH_KEY, 1, 1 },
	{ "lookup", CTL_LOOKUP, 1, 1 },
	{ "republish", CTL_REPUBLISH, 1, 1 },
	{ "dht_nodes", CTL_DHT_NODES, 0, 0 },
};

static int
fail(char *err, size_t errlen, const char *msg, const char *word)
{
	snprintf(err, errlen, "%s%s%.64s%s", msg, word ? " '" : "", word ? word : "",
	    word ? "'" : "");
	return -1;
}

/* A domain name as a lower-case wire name. */
static int
parse_name(const char *s, struct ctl_request *req)
{
	ldns_rdf *r = NULL;

	if (ldns_str2rdf_dname(&r, s) != LDNS_STATUS_OK || !r || ldns_rdf_size(r) > 255) {
		ldns_rdf_deep_free(r);
		return -1;
	}
	req->name_len = ldns_rdf_size(r);
	memcpy(req->name, ldns_rdf_data(r), req->name_len);
	ldns_rdf_deep_free(r);
	/* lower case ASCII letters only, label lengths untouched */
	for (size_t i = 0; i < req->name_len;) {
		size_t l = req->name[i++];
		for (size_t j = 0; j < l && i < req->name_len; j++, i++)
			if (req->name[i] >= 'A' && req->name[i] <= 'Z')
				req->name[i] = (uint8_t)(req->name[i] + 32);
	}
	return 0;
}

int
ctl_parse(const char *line, size_t len, bool with_magic, struct ctl_request *req, char *err,
    size_t errlen)
{
	char buf[CTL_MAX_LINE + 1];
	char *words[MAX_WORDS + 1];
	int n = 0;
	size_t i;

	memset(req, 0, sizeof(*req));
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len > CTL_MAX_LINE)
		return fail(err, errlen, "request too long", NULL);
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)line[i];
		if (ch < 0x20 && ch != '\t')
			return fail(err, errlen, "control character in the request", NULL);
		if (ch >= 0x7f)
			return fail(err, errlen, "non-ASCII byte in the request", NULL);
	}
	memcpy(buf, line, len);
	buf[len] = '\0';
	for (char *save = NULL, *w = strtok_r(buf, " \t", &save); w;
	     w = strtok_r(NULL, " \t", &save)) {
		if (n > MAX_WORDS)
			return fail(err, errlen, "too many arguments", NULL);
		words[n++] = w;
	}
	if (with_magic) {
		if (n == 0 || strcmp(words[0], CTL_MAGIC) != 0)
			return fail(err, errlen, "not a pkdns-control request (version " CTL_MAGIC ")",
			    NULL);
		memmove(words, words + 1, (size_t)--n * sizeof(words[0]));
	}
	if (n == 0)
		return fail(err, errlen, "no command", NULL);
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(words[0], commands[i].word) == 0)
			break;
	if (i == sizeof(commands) / sizeof(commands[0]))
		return fail(err, errlen, "unknown command", words[0]);
	if (n - 1 < commands[i].min_args || n - 1 > commands[i].max_args)
		return fail(err, errlen, "wrong number of arguments for", words[0]);
	req->cmd = commands[i].cmd;
	switch (req->cmd) {
	case CTL_VERBOSITY: {
		char *end;
		long v = strtol(words[1], &end, 10);
		if (*end || end == words[1] || v < 0 || v > 3)
			return fail(err, errlen, "verbosity is 0..3, not", words[1]);
		req->verbosity = (int)v;
		break;
	}
	case CTL_FLUSH:
	case CTL_FLUSH_ZONE:
		if (parse_name(words[1], req) < 0)
			return fail(err, errlen, "not a domain name:", words[1]);
		if (n == 3) {
			ldns_rr_type t = ldns_get_rr_type_by_name(words[2]);
			if (t == 0)
				return fail(err, errlen, "unknown type", words[2]);
			req->qtype = (uint16_t)t;
		}
		break;
	case CTL_FLUSH_KEY:
	case CTL_LOOKUP:
	case CTL_REPUBLISH:
		if (pkarr_z32_decode_key(words[1], strlen(words[1]), req->key) != 0)
			return fail(err, errlen, "not a public key (52 z-base32 characters):",
			    words[1]);
		break;
	default:
		break;
	}
	return 0;
}
