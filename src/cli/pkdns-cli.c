/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pkdns-cli.c -- the command-line tool of pkdns: global options, help,
 * keys (generate, publickey) and the helpers every command shares.
 *
 * A seed file holds a 32-byte Ed25519 seed as 64 hex digits and a
 * newline, mode 0600 (doc/design.md, "Interfaces others depend on").
 * Global options may come before or after the command, as users of
 * the Rust pkdns-cli are used to.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#define LOG_MODULE "cli"
#include "cli/cli.h"
#include "pkarr/zbase32.h"
#include "util/log.h"
#include "util/netaddr.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

/* Longest seed file accepted: 64 digits and "\n"; a few bytes more are
 * read so that trailing junk is seen and refused. */
#define SEED_FILE_READ 80

static void
usage(FILE *f)
{
	fputs(
"usage: pkdns-cli [global options] COMMAND [arguments]\n"
"\n"
"commands:\n"
"  generate [-o SEEDFILE]            new secret seed (64 hex digits)\n"
"  publickey SEEDFILE                the seed's public key (z-base32)\n"
"  publish SEEDFILE ZONEFILE         sign a zone and put it on the DHT\n"
"    [--relay URL [--relay-ca FILE]] ...or PUT it to a pkarr relay instead\n"
"  resolve KEY [NAME] [TYPE]         look a key's records up on the DHT\n"
"    [--relay URL [--relay-ca FILE]] ...or GET them from a pkarr relay\n"
"  dht ping HOST:PORT                ping one DHT node\n"
"  dht get-mutable KEY [--salt S]    BEP 44 mutable get\n"
"  dht put-mutable -k SEEDFILE --value-hex HEX [--salt S] [--seq N]\n"
"  dht get-immutable TARGET          BEP 44 immutable get (40 hex digits)\n"
"  dht put-immutable --value-hex HEX BEP 44 immutable put\n"
"  dht nodes                         bootstrap and show the routing table\n"
"\n"
"global options:\n"
"  --bootstrap HOST:PORT   DHT bootstrap node (repeatable)\n"
"  --testnet               bootstrap from pkdns --testnet (127.0.0.1:46881)\n"
"  --testnet-port PORT     first port of that testnet\n"
"  --timeout SECONDS       bound on network work (default 15)\n"
"  -v, --verbose           more log lines (repeat for debug)\n"
"  -h, --help              this text\n"
"  -V, --version           the version\n"
"\n"
"exit status: 0 found/stored, 1 not found/not stored, 2 bad arguments\n",
	    f);
}

int
cli_hex_decode(const char *hex, uint8_t *out, size_t cap, size_t *len)
{
	const char *end = NULL;
	size_t n = strlen(hex), got = 0;

	if (n % 2 != 0 || n / 2 > cap)
		return -1;
	if (sodium_hex2bin(out, cap, hex, n, NULL, &got, &end) != 0 ||
	    end != hex + n || got != n / 2)
		return -1;
	*len = got;
	return 0;
}

void
cli_print_hex(const uint8_t *buf, size_t len)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		putchar(digits[buf[i] >> 4]);
		putchar(digits[buf[i] & 15]);
	}
	putchar('\n');
}

int
cli_parse_key(const char *s, uint8_t pk[32])
{
	size_t n;
	char tmp[65];

	if (strncasecmp(s, "pk:", 3) == 0)
		s += 3;
	n = strlen(s);
	if (n > 0 && s[n - 1] == '.')
		n--;
	if (n == PKARR_Z32_KEY_LEN)
		return pkarr_z32_decode_key(s, n, pk) == 0 ? 0 : -1;
	if (n == 64) {
		size_t got;

		memcpy(tmp, s, 64);
		tmp[64] = '\0';
		return cli_hex_decode(tmp, pk, 32, &got) == 0 && got == 32 ? 0
									    : -1;
	}
	return -1;
}

int
cli_read_seed(const char *path, uint8_t seed[32])
{
	char buf[SEED_FILE_READ + 1];
	struct stat st;
	ssize_t n;
	size_t total = 0, got;
	int fd, rc = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "pkdns-cli: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		fprintf(stderr, "pkdns-cli: %s: %s\n", path, strerror(errno));
		goto out;
	}
	if (S_ISREG(st.st_mode) && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
		fprintf(stderr,
		    "pkdns-cli: warning: seed file %s is accessible to group or "
		    "others (mode %04o); run chmod 600 on it\n",
		    path, (unsigned)(st.st_mode & 07777));
	while (total < SEED_FILE_READ) {
		n = read(fd, buf + total, SEED_FILE_READ - total);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "pkdns-cli: %s: %s\n", path,
			    strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		total += (size_t)n;
	}
	if (total == 65 && buf[64] == '\n')
		total = 64;
	buf[total] = '\0';
	if (total != 64 || cli_hex_decode(buf, seed, 32, &got) != 0 ||
	    got != 32) {
		fprintf(stderr,
		    "pkdns-cli: %s: not a seed file: expected exactly 64 hex "
		    "digits and an optional newline\n",
		    path);
		goto out;
	}
	rc = 0;
out:
	sodium_memzero(buf, sizeof(buf));
	close(fd);
	return rc;
}

int
cli_parse_args(const char *cmd, int argc, char **argv,
    const struct cli_optspec *specs, size_t nspecs, char **pos, size_t maxpos,
    size_t *npos)
{
	bool opts_done = false;

	*npos = 0;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		const char *eq;
		size_t nlen;
		bool matched = false;

		if (opts_done || a[0] != '-' || a[1] == '\0') {
			if (*npos >= maxpos) {
				fprintf(stderr,
				    "pkdns-cli %s: unexpected argument '%s'\n",
				    cmd, a);
				return -1;
			}
			pos[(*npos)++] = argv[i];
			continue;
		}
		if (strcmp(a, "--") == 0) {
			opts_done = true;
			continue;
		}
		eq = strncmp(a, "--", 2) == 0 ? strchr(a, '=') : NULL;
		nlen = eq ? (size_t)(eq - a) : strlen(a);
		for (size_t j = 0; j < nspecs && !matched; j++) {
			const struct cli_optspec *sp = &specs[j];
			bool hit = (sp->short_name &&
					   strlen(sp->short_name) == nlen &&
					   strncmp(a, sp->short_name, nlen) == 0) ||
			    (sp->long_name && strlen(sp->long_name) == nlen &&
				strncmp(a, sp->long_name, nlen) == 0);

			if (!hit)
				continue;
			matched = true;
			if (!sp->takes_value) {
				if (eq) {
					fprintf(stderr,
					    "pkdns-cli %s: %.*s takes no value\n",
					    cmd, (int)nlen, a);
					return -1;
				}
				*sp->value = "";
			} else if (eq) {
				*sp->value = eq + 1;
			} else if (i + 1 < argc) {
				*sp->value = argv[++i];
			} else {
				fprintf(stderr,
				    "pkdns-cli %s: %s needs a value\n", cmd, a);
				return -1;
			}
		}
		if (!matched) {
			fprintf(stderr, "pkdns-cli %s: unknown option '%s'\n",
			    cmd, a);
			return -1;
		}
	}
	return 0;
}

/* Write all of buf to fd, retrying short writes. */
static int
write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
cmd_generate(int argc, char **argv)
{
	const char *out = NULL;
	const struct cli_optspec specs[] = {
		{ "-o", "--output", true, &out },
	};
	uint8_t seed[32], pk[32], sk[64];
	char hex[2 * 32 + 2], z32[PKARR_Z32_KEY_LEN + 1];
	char *pos[1];
	size_t npos;
	int rc = CLI_EXIT_FAIL;

	if (cli_parse_args("generate", argc, argv, specs, 1, pos, 0, &npos) != 0)
		return CLI_EXIT_USAGE;
	randombytes_buf(seed, sizeof(seed));
	if (crypto_sign_seed_keypair(pk, sk, seed) != 0) {
		fprintf(stderr, "pkdns-cli: key derivation failed\n");
		goto out;
	}
	sodium_bin2hex(hex, sizeof(hex), seed, sizeof(seed));
	hex[64] = '\n';
	hex[65] = '\0';
	if (out != NULL) {
		/* O_EXCL: a seed is a secret that cannot be recovered once
		 * overwritten, so never replace an existing file. */
		int fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

		if (fd < 0) {
			fprintf(stderr, "pkdns-cli: %s: %s%s\n", out,
			    strerror(errno),
			    errno == EEXIST ? " (refusing to overwrite)" : "");
			rc = errno == EEXIST ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
			goto out;
		}
		if (fchmod(fd, 0600) != 0 || write_all(fd, hex, 65) != 0 ||
		    fsync(fd) != 0) {
			fprintf(stderr, "pkdns-cli: %s: %s\n", out,
			    strerror(errno));
			close(fd);
			unlink(out);
			goto out;
		}
		if (close(fd) != 0) {
			fprintf(stderr, "pkdns-cli: %s: %s\n", out,
			    strerror(errno));
			unlink(out);
			goto out;
		}
	} else if (fputs(hex, stdout) == EOF || fflush(stdout) != 0) {
		fprintf(stderr, "pkdns-cli: writing the seed: %s\n",
		    strerror(errno));
		goto out;
	}
	pkarr_z32_encode(pk, z32);
	fprintf(stderr, "public key: %s\n", z32);
	rc = CLI_EXIT_OK;
out:
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(hex, sizeof(hex));
	return rc;
}

static int
cmd_publickey(int argc, char **argv)
{
	uint8_t seed[32], pk[32], sk[64];
	char z32[PKARR_Z32_KEY_LEN + 1];
	char *pos[1];
	size_t npos;
	int rc;

	if (cli_parse_args("publickey", argc, argv, NULL, 0, pos, 1, &npos) !=
		0 ||
	    npos != 1) {
		fprintf(stderr, "usage: pkdns-cli publickey SEEDFILE\n");
		return CLI_EXIT_USAGE;
	}
	if (cli_read_seed(pos[0], seed) != 0)
		return CLI_EXIT_USAGE;
	rc = crypto_sign_seed_keypair(pk, sk, seed);
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(sk, sizeof(sk));
	if (rc != 0) {
		fprintf(stderr, "pkdns-cli: key derivation failed\n");
		return CLI_EXIT_FAIL;
	}
	pkarr_z32_encode(pk, z32);
	printf("%s\n", z32);
	return CLI_EXIT_OK;
}

static int parse_port(const char *s, uint16_t *port);

int
cli_split_hostport(const char *hp, char *host, size_t hostcap,
    uint16_t *port)
{
	const char *colon = strrchr(hp, ':');
	uint16_t p;

	if (colon == NULL || colon == hp || strchr(hp, ':') != colon ||
	    (size_t)(colon - hp) >= hostcap || parse_port(colon + 1, &p) != 0)
		return -1;
	memcpy(host, hp, (size_t)(colon - hp));
	host[colon - hp] = '\0';
	if (port != NULL)
		*port = p;
	return 0;
}

static int
add_bootstrap(struct cli_opts *o, const char *v)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	char host[256];

	if (netaddr_parse(v, 6881, &ss, &sslen) != 0 &&
	    cli_split_hostport(v, host, sizeof(host), NULL) != 0) {
		fprintf(stderr, "pkdns-cli: --bootstrap: '%s' is not HOST:PORT\n",
		    v);
		return -1;
	}
	if (o->nbootstrap >= CLI_MAX_BOOTSTRAP) {
		fprintf(stderr, "pkdns-cli: at most %d --bootstrap options\n",
		    CLI_MAX_BOOTSTRAP);
		return -1;
	}
	o->bootstrap[o->nbootstrap++] = v;
	return 0;
}

static int
parse_port(const char *s, uint16_t *port)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v == 0 || v > 65535 ||
	    s[0] == '-' || s[0] == '+')
		return -1;
	*port = (uint16_t)v;
	return 0;
}

static int
parse_timeout(const char *s, uint64_t *ms)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v > 0) || v > 86400)
		return -1;
	*ms = (uint64_t)(v * 1000.0);
	if (*ms == 0)
		*ms = 1;
	return 0;
}

/* Options of subcommands that take a value: their value is passed on
 * untouched even when it looks like a global option. */
static bool
sub_takes_value(const char *a)
{
	static const char *const names[] = { "-o", "--output", "-k", "--key",
		"--salt", "--value-hex", "--seq" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(a, names[i]) == 0)
			return true;
	return false;
}

/* Take the global options out of argv wherever they are; the rest, in
 * order, goes to rest. 0 to go on, 1 when done (help, version), -1 bad. */
static int
parse_global(struct cli_opts *o, int argc, char **argv, char **rest,
    int *nrest)
{
	bool ended = false;

	*nrest = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = NULL, *eq = NULL;
		char name[32];
		size_t nlen;

		if (ended || a[0] != '-') {
			rest[(*nrest)++] = argv[i];
			continue;
		}
		if (strcmp(a, "--") == 0) {
			ended = true;
			rest[(*nrest)++] = argv[i];
			continue;
		}
		if (sub_takes_value(a)) {
			rest[(*nrest)++] = argv[i];
			if (i + 1 < argc)
				rest[(*nrest)++] = argv[++i];
			continue;
		}
		if (strncmp(a, "--", 2) == 0)
			eq = strchr(a, '=');
		nlen = eq ? (size_t)(eq - a) : strlen(a);
		if (nlen >= sizeof(name)) {
			rest[(*nrest)++] = argv[i];
			continue;
		}
		memcpy(name, a, nlen);
		name[nlen] = '\0';
		if (strcmp(name, "--bootstrap") == 0 ||
		    strcmp(name, "--testnet-port") == 0 ||
		    strcmp(name, "--timeout") == 0) {
			if (eq)
				val = eq + 1;
			else if (i + 1 < argc)
				val = argv[++i];
			else {
				fprintf(stderr, "pkdns-cli: %s needs a value\n",
				    name);
				return -1;
			}
		}
		if (strcmp(name, "--bootstrap") == 0) {
			if (add_bootstrap(o, val) != 0)
				return -1;
		} else if (strcmp(name, "--testnet-port") == 0) {
			if (parse_port(val, &o->testnet_port) != 0) {
				fprintf(stderr,
				    "pkdns-cli: --testnet-port: bad port '%s'\n",
				    val);
				return -1;
			}
			o->testnet = true;
		} else if (strcmp(name, "--timeout") == 0) {
			if (parse_timeout(val, &o->timeout_ms) != 0) {
				fprintf(stderr,
				    "pkdns-cli: --timeout: expected seconds "
				    "(0 < S <= 86400), not '%s'\n",
				    val);
				return -1;
			}
		} else if (strcmp(name, "--testnet") == 0 && !eq) {
			o->testnet = true;
		} else if ((strcmp(name, "-v") == 0 ||
			       strcmp(name, "--verbose") == 0) && !eq) {
			o->verbose++;
		} else if (strcmp(name, "-vv") == 0) {
			o->verbose += 2;
		} else if ((strcmp(name, "-h") == 0 ||
			       strcmp(name, "--help") == 0) && !eq) {
			usage(stdout);
			return 1;
		} else if ((strcmp(name, "-V") == 0 ||
			       strcmp(name, "--version") == 0) && !eq) {
			printf("pkdns-cli %s\n", PACKAGE_VERSION);
			return 1;
		} else {
			/* a subcommand option; the command judges it */
			rest[(*nrest)++] = argv[i];
		}
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct cli_opts o;
	char **rest;
	int nrest, rc;
	const char *cmd;

	memset(&o, 0, sizeof(o));
	o.testnet_port = CLI_TESTNET_PORT;
	o.timeout_ms = (uint64_t)(CLI_DEFAULT_TIMEOUT_S * 1000);
	rest = calloc((size_t)argc + 1, sizeof(*rest));
	if (rest == NULL) {
		fprintf(stderr, "pkdns-cli: out of memory\n");
		return CLI_EXIT_FAIL;
	}
	rc = parse_global(&o, argc, argv, rest, &nrest);
	if (rc != 0) {
		free(rest);
		return rc > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
	}
	if (nrest == 0) {
		usage(stderr);
		free(rest);
		return CLI_EXIT_USAGE;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "pkdns-cli: libsodium failed to initialise\n");
		free(rest);
		return CLI_EXIT_FAIL;
	}
	log_setup("pkdns-cli",
	    o.verbose >= 2 ? LOG_LVL_DEBUG :
	    o.verbose == 1 ? LOG_LVL_INFO : LOG_LVL_WARN,
	    true);
	cmd = rest[0];
	if (strcmp(cmd, "generate") == 0)
		rc = cmd_generate(nrest - 1, rest + 1);
	else if (strcmp(cmd, "publickey") == 0)
		rc = cmd_publickey(nrest - 1, rest + 1);
	else if (strcmp(cmd, "publish") == 0)
		rc = cli_cmd_publish(&o, nrest - 1, rest + 1);
	else if (strcmp(cmd, "resolve") == 0)
		rc = cli_cmd_resolve(&o, nrest - 1, rest + 1);
	else if (strcmp(cmd, "dht") == 0)
		rc = cli_cmd_dht(&o, nrest - 1, rest + 1);
	else if (strcmp(cmd, "help") == 0) {
		usage(stdout);
		rc = CLI_EXIT_OK;
	} else {
		fprintf(stderr, "pkdns-cli: unknown command '%s'\n", cmd);
		usage(stderr);
		rc = CLI_EXIT_USAGE;
	}
	free(rest);
	return rc;
}
