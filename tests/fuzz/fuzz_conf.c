/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_conf.c -- libFuzzer target for the configuration parser
 * (src/util/conf.c): the config file and the command line.
 *
 * Input: byte 0 chooses what the rest is. Even: the text of a config file
 * (written to a scratch file read with -c). Odd: a command line, one
 * argument per line (arguments that name another file, -c/--config, are
 * dropped so the target never reads outside its scratch file).
 *
 * Besides memory safety and no leak after conf_free() it checks that a
 * configuration that loads keeps the promises conf.h makes: sizes within
 * size_t and above their minimums, TTL clamps within 2^31 - 1 and in
 * order, TCP limits in range, lists within CONF_MAX_LIST with non-empty
 * strings, at least one listen address, the per-client cap derived.
 * Loading twice gives the same result (the parser keeps no state).
 *
 * Not built by make: build by hand, e.g.
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -DPACKAGE_VERSION='"fuzz"' -DPKDNS_TRUST_ANCHOR='"/x/root.key"' \
 *     -I<dir with an empty config.h> -Isrc tests/fuzz/fuzz_conf.c \
 *     src/util/conf.c src/util/netaddr.c -o fuzz_conf
 *   ./fuzz_conf -max_len=2048 -max_total_time=120
 */
#include "config.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/conf.h"
#include "../unit/testutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ARGS 64

static void
check_loaded(const struct conf *c)
{
	tu_check(c->cache_size >= 4096 && c->cache_size <= SIZE_MAX);
	tu_check(c->packet_cache_size >= 65536 && c->packet_cache_size <= SIZE_MAX);
	tu_check(c->min_ttl <= c->max_ttl && c->max_ttl <= 2147483647u);
	tu_check(c->tcp_idle_timeout >= 1 && c->tcp_idle_timeout <= 3600);
	tu_check(c->tcp_max_connections >= 1 && c->tcp_max_connections <= 65535);
	tu_check(c->tcp_max_per_client >= 1 && c->tcp_max_per_client <= 65535);
	tu_check(c->edns_buffer_size >= 512 && c->edns_buffer_size <= 65535);
	tu_check(c->verbose >= 0);
	tu_check(c->n_listen >= 1 && c->n_listen <= CONF_MAX_LIST);
	tu_check(c->n_forward <= CONF_MAX_LIST && c->n_acl <= CONF_MAX_LIST);
	tu_check(c->n_bootstrap <= CONF_MAX_LIST && c->n_republish <= CONF_MAX_LIST);
	tu_check(c->n_search_domain <= CONF_MAX_LIST);
	for (size_t i = 0; i < c->n_bootstrap; i++)
		tu_check(c->bootstrap[i] && c->bootstrap[i][0]);
	for (size_t i = 0; i < c->n_republish; i++)
		tu_check(c->republish[i] && c->republish[i][0]);
	for (size_t i = 0; i < c->n_search_domain; i++)
		tu_check(c->search_domain[i] && c->search_domain[i][0]);
	tu_check(!c->tld || c->tld[0]);
	tu_check(!c->cache_dir || c->cache_dir[0]);
	tu_check(!c->pidfile || c->pidfile[0]);
	tu_check(c->trust_anchor_file != NULL);
	tu_check(c->dht_mode >= DHT_MODE_OFF_CONF && c->dht_mode <= DHT_MODE_ADAPTIVE_CONF);
	for (size_t i = 0; i < c->n_listen; i++)
		tu_check(c->listen[i].len > 0 && c->listen[i].len <= sizeof(c->listen[i].ss));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	static int devnull = -1;
	char *argv[MAX_ARGS + 4], *text;
	int argc = 0;
	struct conf c1, c2;
	enum conf_result r1, r2;

	if (size < 1)
		return 0;
	if (!path[0]) {
		snprintf(path, sizeof(path), "/tmp/fuzz_conf.%ld.conf", (long)getpid());
		devnull = open("/dev/null", O_WRONLY);
	}
	text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	argv[argc++] = (char *)"pkdns";
	if (!(data[0] & 1)) {
		FILE *f = fopen(path, "w");
		if (!f) {
			free(text);
			return 0;
		}
		fwrite(data + 1, 1, size - 1, f);
		fclose(f);
		argv[argc++] = (char *)"-c";
		argv[argc++] = path;
	} else {
		char *save = NULL;
		for (char *a = strtok_r(text, "\n", &save); a && argc < MAX_ARGS;
		     a = strtok_r(NULL, "\n", &save)) {
			if (!strncmp(a, "-c", 2) || strstr(a, "conf") || !strncmp(a, "-h", 2) ||
			    !strncmp(a, "-V", 2) || strstr(a, "help") || strstr(a, "vers"))
				continue;
			argv[argc++] = a;
		}
		/* a file name would be read as the value of a preceding -c */
		argv[argc++] = (char *)"-c";
		argv[argc++] = (char *)"/dev/null";
	}
	argv[argc] = NULL;

	/* the parser reports on stderr: keep the fuzzer's output readable */
	int saved = dup(2);
	dup2(devnull, 2);
	r1 = conf_load(&c1, argc, argv);
	r2 = conf_load(&c2, argc, argv);
	dup2(saved, 2);
	close(saved);
	if (!(data[0] & 1))
		unlink(path); /* leave nothing in /tmp when the run ends */

	tu_check(r1 == CONF_OK || r1 == CONF_ERROR || r1 == CONF_EXIT_OK);
	tu_check(r1 == r2);
	if (r1 == CONF_OK) {
		check_loaded(&c1);
		tu_check(c1.cache_size == c2.cache_size && c1.n_listen == c2.n_listen &&
		    c1.tcp_max_per_client == c2.tcp_max_per_client && c1.n_acl == c2.n_acl &&
		    c1.min_ttl == c2.min_ttl && c1.max_ttl == c2.max_ttl);
	}
	conf_free(&c1);
	conf_free(&c2);
	free(text);
	return 0;
}
