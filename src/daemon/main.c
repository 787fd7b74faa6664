/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * main.c -- pkdns: options, daemonising, and the run of the context.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ldns/ldns.h>
#include <sodium.h>

#include "daemon/daemon.h"
#include "daemon/internal.h"
#include "dns/msg.h"
#include "dns/rebind.h"
#include "pkarr/relay.h"
#include "pkarr/zbase32.h"
#include "util/conf.h"
#include "util/log.h"

/* A name that may follow a key (tld, search-domain): the rule the pkarr
 * path applies at start-up (room for the 52-character key in front). */
static int
check_suffix(const struct conf *cfg, const char *key, size_t idx, const char *text)
{
	ldns_rdf *r = NULL;
	int bad = ldns_str2rdf_dname(&r, text) != LDNS_STATUS_OK || ldns_rdf_size(r) <= 1 ||
	    ldns_rdf_size(r) > DNS_MAX_NAME - 54;

	ldns_rdf_deep_free(r);
	if (bad)
		return conf_error(cfg, key, idx, "'%s' is not a domain name that can follow a key",
		    text);
	return 0;
}

/* --check-config: what conf_load() does not check because the daemon
 * checks it only while starting; sockets are not opened. */
static int
check_config(const struct conf *cfg)
{
	int rc = conf_check_files(cfg);

	for (size_t i = 0; i < cfg->n_republish; i++) {
		uint8_t k[32];
		const char *s = cfg->republish[i];
		if (pkarr_z32_decode_key(s, strlen(s), k) != 0)
			rc = conf_error(cfg, "republish", i, "'%s' is not a public key "
			    "(52 z-base32 characters)", s);
	}
	for (size_t i = 0; i < cfg->n_relay; i++) { /* RELAY */
		struct pkarr_relay_url u;
		if (pkarr_relay_url_parse(cfg->relay[i], &u) != 0)
			rc = conf_error(cfg, "relay", i, "'%s' is not a relay URL "
			    "(http[s]://HOST[:PORT][/PATH])", cfg->relay[i]);
	}
	if (cfg->relay_ca && access(cfg->relay_ca, R_OK) != 0)
		rc = conf_error(cfg, "relay-ca", 0, "%s: %s", cfg->relay_ca, strerror(errno));
	if (cfg->tld && check_suffix(cfg, "tld", 0, cfg->tld) < 0)
		rc = -1;
	for (size_t i = 0; i < cfg->n_search_domain; i++)
		if (check_suffix(cfg, "search-domain", i, cfg->search_domain[i]) < 0)
			rc = -1;
	struct rebind_policy *rb = calloc(1, sizeof(*rb));
	if (!rb || pkdns_rebind_build(cfg, rb) < 0)
		rc = -1;
	free(rb);
	if (rc == 0)
		printf("pkdns: no errors in %s\n",
		    cfg->config_file ? cfg->config_file : "the command line (no config file)");
	return rc;
}

int
main(int argc, char **argv)
{
	struct conf cfg;
	struct pkdns *d;
	int rc;

	switch (conf_load(&cfg, argc, argv)) {
	case CONF_OK:
		break;
	case CONF_EXIT_OK:
		conf_free(&cfg);
		return 0;
	default:
		conf_free(&cfg);
		return 2;
	}
	if (cfg.check_config) {
		rc = check_config(&cfg) == 0 ? 0 : 2;
		conf_free(&cfg);
		return rc;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "pkdns: libsodium failed to initialise\n");
		conf_free(&cfg);
		return 1;
	}
	/* verbose 0..3 map to error, warning, info, debug */
	log_setup("pkdns", cfg.verbose, true);
	d = pkdns_new(&cfg, argc, argv);
	if (!d)
		return 1;
	rc = pkdns_run(d);
	pkdns_free(d);
	return rc;
}
