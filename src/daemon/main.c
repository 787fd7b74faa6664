/*
 * main.c -- pkdns: options, daemonising, and the run of the context.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "daemon/daemon.h"
#include "util/conf.h"
#include "util/log.h"

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
