/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_conf.c -- unit tests for src/util/conf.h: defaults, every key type
 * from the config file and the command line, the command line overriding
 * the file (a repeatable option replacing the file's list), quoting and
 * comments, every kind of bad value with its "FILE:LINE: KEY:" message,
 * -v counting, --key=value, -c, --help/--version, cross-key checks and
 * conf_reload().
 *
 * stderr (and stdout for --help) are captured into a temporary file around
 * each conf_load() call so the messages can be checked.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/conf.h"
#include "tap.h"

/* the build passes the configured $(sysconfdir), as it does to conf.c */
#ifdef PKDNS_SYSCONFDIR
#define SYSCONFDIR PKDNS_SYSCONFDIR
#else
#define SYSCONFDIR "/etc"
#endif

/* One test's scratch: the config file and what was printed. */
struct ctx {
	char dir[64];
	char path[128];
	char out[8192]; /* captured stderr (or stdout) */
};

static int
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

/* Run conf_load with argv (NULL-terminated, without argv[0]) while fd
 * (STDERR_FILENO or STDOUT_FILENO) goes to a file read back into x->out. */
static enum conf_result
run_fd(struct ctx *x, struct conf *c, int fd, bool reload, const char *const *args)
{
	char *argv[64];
	int argc = 0;
	char cap[160];
	enum conf_result r;

	argv[argc++] = (char *)"pkdns";
	for (; args && *args && argc < 63; args++)
		argv[argc++] = (char *)*args;
	argv[argc] = NULL;

	snprintf(cap, sizeof(cap), "%s/captured", x->dir);
	fflush(stdout);
	fflush(stderr);
	int saved = dup(fd);
	FILE *f = fopen(cap, "w+");
	if (saved < 0 || !f) {
		perror("capture");
		exit(99);
	}
	dup2(fileno(f), fd);
	r = reload ? conf_reload(c, argc, argv) : conf_load(c, argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(saved, fd);
	close(saved);
	rewind(f);
	size_t n = fread(x->out, 1, sizeof(x->out) - 1, f);
	x->out[n] = '\0';
	/* one line, so that it can be shown in a TAP description */
	for (char *q = x->out; *q; q++)
		if (*q == '\n')
			*q = '|';
	fclose(f);
	unlink(cap);
	return r;
}

/* Capture stderr around a call that is not conf_load(). */
static int capture_saved = -1;
static FILE *capture_file;

static void
capture_start(struct ctx *x)
{
	char cap[160];
	snprintf(cap, sizeof(cap), "%s/captured2", x->dir);
	fflush(stderr);
	capture_saved = dup(STDERR_FILENO);
	capture_file = fopen(cap, "w+");
	if (capture_saved < 0 || !capture_file) {
		perror("capture");
		exit(99);
	}
	unlink(cap);
	dup2(fileno(capture_file), STDERR_FILENO);
}

static void
capture_end(struct ctx *x)
{
	fflush(stderr);
	dup2(capture_saved, STDERR_FILENO);
	close(capture_saved);
	rewind(capture_file);
	size_t n = fread(x->out, 1, sizeof(x->out) - 1, capture_file);
	x->out[n] = '\0';
	for (char *q = x->out; *q; q++)
		if (*q == '\n')
			*q = '|';
	fclose(capture_file);
}

static enum conf_result
run(struct ctx *x, struct conf *c, const char *const *args)
{
	return run_fd(x, c, STDERR_FILENO, false, args);
}

/* Load text as the config file (via -c) plus extra arguments. */
static enum conf_result
run_file(struct ctx *x, struct conf *c, const char *text, const char *const *extra)
{
	const char *args[40];
	int n = 0;

	if (write_file(x->path, text) < 0) {
		perror(x->path);
		exit(99);
	}
	args[n++] = "-c";
	args[n++] = x->path;
	for (; extra && *extra && n < 39; extra++)
		args[n++] = *extra;
	args[n] = NULL;
	return run(x, c, args);
}

static const char *
addr(const struct conf_addr *a, char *buf, size_t len)
{
	return netaddr_str((const struct sockaddr *)&a->ss, buf, len);
}

/* The captured message names the file, the line and the key. */
static int
says(const struct ctx *x, unsigned line, const char *key)
{
	char want[300];
	snprintf(want, sizeof(want), "pkdns: %s:%u: %s: ", x->path, line, key);
	return strstr(x->out, want) != NULL;
}

/* Without -c, conf_load reads the installed config when there is one;
 * the tests of built-in defaults only hold when there is none. */
static bool
installed_config(void)
{
	if (access(SYSCONFDIR "/pkdns/pkdns.conf", F_OK) != 0)
		return false;
	diag("an installed " SYSCONFDIR "/pkdns/pkdns.conf exists: default checks skipped");
	return true;
}

static void
test_defaults(struct ctx *x)
{
	struct conf c;
	char b[NETADDR_STRLEN];

	if (installed_config())
		return;

	is_int(run(x, &c, NULL), CONF_OK, "no arguments: OK");
	ok(c.config_file == NULL, "no config file read");
	is_int(c.dht_port, 6881, "dht-port 6881");
	is_int(c.dht_mode, DHT_MODE_ADAPTIVE_CONF, "dht-mode adaptive");
	ok(c.min_ttl == 60 && c.max_ttl == 86400, "TTL clamps 60..86400");
	is_int(c.testnet, 0, "testnet 0");
	is_int(c.testnet_port, 46881, "testnet-port 46881");
	ok(!c.foreground, "background");
	is_int(c.verbose, 1, "verbose 1");
	is_int(c.cache_size, 32ull << 20, "cache-size 32m");
	is_int(c.packet_cache_size, 16ull << 20, "packet-cache-size 16m");
	ok(c.dnssec && c.serve_stale && !c.disable_any, "dnssec, serve-stale on; disable-any off");
	ok(c.trust_anchor_file && strcmp(c.trust_anchor_file, PKDNS_TRUST_ANCHOR) == 0,
	    "trust anchor default");
	ok(c.tcp_idle_timeout == 10 && c.tcp_max_connections == 256, "TCP defaults");
	is_int(c.edns_buffer_size, 1232, "edns-buffer-size 1232");
	ok(c.ratelimit == 100 && c.ratelimit_burst == 200, "ratelimit 100/200");
	ok(c.dht_ratelimit == 5 && c.dht_ratelimit_burst == 25, "dht-ratelimit 5/25");
	is_int(c.icann_max_per_client, 128, "icann-max-per-client 128");
	ok(c.republish_interval == 3600 && c.stats_interval == 300, "intervals");
	is_int(c.cache_dir_retry, 300, "cache-dir-retry 300");
	ok(!c.cache_dir && !c.pidfile && c.n_republish == 0 && c.n_forward == 0,
	    "no cache-dir, pidfile, republish, forward");
	ok(c.tld && strcmp(c.tld, "key") == 0, "tld key by default: <key>.key resolves");
	is_int(c.n_listen, 2, "two default listeners");
	ok(c.n_listen == 2 && strcmp(addr(&c.listen[0], b, sizeof(b)), "127.0.0.1:53") == 0,
	    "listen 127.0.0.1:53");
	ok(c.n_listen == 2 && strcmp(addr(&c.listen[1], b, sizeof(b)), "[::1]:53") == 0,
	    "listen [::1]:53");
	is_int(c.n_bootstrap, 4, "four default bootstrap nodes");
	ok(c.n_bootstrap > 0 && strcmp(c.bootstrap[0], "router.bittorrent.com:6881") == 0,
	    "router.bittorrent.com first");
	is_int(c.n_acl, 2, "two default ACL rules");
	ok(c.n_acl == 2 && c.acl[0].action == ACL_ALLOW && c.acl[0].prefix.family == AF_INET &&
	    c.acl[0].prefix.len == 8 && c.acl[1].prefix.family == AF_INET6 &&
	    c.acl[1].prefix.len == 128 && c.acl[1].action == ACL_ALLOW, "loopback allowed");
	ok(x->out[0] == '\0', "nothing printed");
	conf_free(&c);
}

static const char full_file[] =
	"# every key once\n"
	"\n"
	"listen: 127.0.0.2:5300\n"
	"listen: [::1]:5301   # trailing comment\n"
	"forward: 192.0.2.53\n"
	"forward: [2001:db8::53]:5353\n"
	"dht-port: 7000\n"
	"bootstrap: a.example:1\n"
	"bootstrap: \"b.example:2\"\n"
	"dht-mode: server\n"
	"cache-dir: /var/cache/pkdns\n"
	"cache-dir-retry: 7\n"
	"  min-ttl  :   30  \n"
	"max-ttl: 600\n"
	"testnet: 5\n"
	"testnet-port: 50000\n"
	"foreground: yes\n"
	"verbose: 4\n"
	"cache-size: 64k\n"
	"packet-cache-size: 2G\n"
	"access-control: 10.0.0.0/8 allow\n"
	"access-control: \"10.1.0.0/16 refuse\"\n"
	"access-control: 2001:db8::/32 deny\n"
	"dnssec: no\n"
	"trust-anchor-file: /tmp/anchor.key\n"
	"tcp-idle-timeout: 3\n"
	"tcp-max-connections: 9\n"
	"edns-buffer-size: 4096\n"
	"ratelimit: 0\n"
	"ratelimit-burst: 7\n"
	"dht-ratelimit: 11\n"
	"dht-ratelimit-burst: 12\n"
	"icann-max-per-client: 0\n"
	"disable-any: true\n"
	"serve-stale: off\n"
	"tld: \"key\"\n"
	"republish: o4dksfbqk85ogzdb5osziw6befigbuxmuxkuxq8434q89uj56uyy\n"
	"republish-interval: 1800\n"
	"stats-interval: 0\n"
	"pidfile: /run/pkdns.pid\r\n"
	"\t# indented comment\n";

static void
test_full_file(struct ctx *x)
{
	struct conf c;
	char b[NETADDR_STRLEN];

	is_int(run_file(x, &c, full_file, NULL), CONF_OK, "file with every key: OK (%s)", x->out);
	ok(c.config_file && strcmp(c.config_file, x->path) == 0, "config_file recorded");
	is_int(c.n_listen, 2, "two listeners");
	ok(strcmp(addr(&c.listen[0], b, sizeof(b)), "127.0.0.2:5300") == 0, "listen 0 (%s)", b);
	ok(strcmp(addr(&c.listen[1], b, sizeof(b)), "[::1]:5301") == 0, "listen 1 (%s)", b);
	is_int(c.n_forward, 2, "two forwarders");
	ok(strcmp(addr(&c.forward[0], b, sizeof(b)), "192.0.2.53:53") == 0, "forward default port 53");
	ok(strcmp(addr(&c.forward[1], b, sizeof(b)), "[2001:db8::53]:5353") == 0, "forward 1");
	is_int(c.dht_port, 7000, "dht-port");
	is_int(c.n_bootstrap, 2, "two bootstrap nodes (defaults replaced)");
	ok(c.n_bootstrap == 2 && strcmp(c.bootstrap[0], "a.example:1") == 0 &&
	    strcmp(c.bootstrap[1], "b.example:2") == 0, "bootstrap values, quotes removed");
	is_int(c.dht_mode, DHT_MODE_SERVER_CONF, "dht-mode server");
	ok(c.cache_dir && strcmp(c.cache_dir, "/var/cache/pkdns") == 0, "cache-dir");
	is_int(c.cache_dir_retry, 7, "cache-dir-retry");
	ok(c.min_ttl == 30 && c.max_ttl == 600, "min/max-ttl (spaces around the colon)");
	ok(c.testnet == 5 && c.testnet_port == 50000, "testnet");
	ok(c.foreground, "foreground: yes");
	is_int(c.verbose, 4, "verbose: 4");
	is_int(c.cache_size, 64 * 1024, "cache-size 64k");
	is_int(c.packet_cache_size, 2ull << 30, "packet-cache-size 2G");
	is_int(c.n_acl, 3, "three ACL rules (defaults replaced)");
	ok(c.acl[0].action == ACL_ALLOW && c.acl[0].prefix.len == 8 &&
	    c.acl[1].action == ACL_REFUSE && c.acl[1].prefix.len == 16 &&
	    c.acl[2].action == ACL_DENY && c.acl[2].prefix.family == AF_INET6,
	    "ACL actions and prefixes");
	ok(!c.dnssec, "dnssec: no");
	ok(c.trust_anchor_file && strcmp(c.trust_anchor_file, "/tmp/anchor.key") == 0,
	    "trust-anchor-file");
	ok(c.tcp_idle_timeout == 3 && c.tcp_max_connections == 9, "TCP limits");
	is_int(c.edns_buffer_size, 4096, "edns-buffer-size");
	ok(c.ratelimit == 0 && c.ratelimit_burst == 7, "ratelimit");
	ok(c.dht_ratelimit == 11 && c.dht_ratelimit_burst == 12, "dht-ratelimit");
	is_int(c.icann_max_per_client, 0, "icann-max-per-client: 0");
	ok(c.disable_any && !c.serve_stale, "disable-any: true, serve-stale: off");
	ok(c.tld && strcmp(c.tld, "key") == 0, "tld quoted");
	ok(c.n_republish == 1 && strlen(c.republish[0]) == 52, "republish");
	ok(c.republish_interval == 1800 && c.stats_interval == 0, "intervals");
	ok(c.pidfile && strcmp(c.pidfile, "/run/pkdns.pid") == 0, "pidfile (CRLF line end)");
	conf_free(&c);
}

static void
test_override(struct ctx *x)
{
	struct conf c;
	char b[NETADDR_STRLEN];
	static const char file[] =
		"listen: 127.0.0.2\n"
		"listen: 127.0.0.3\n"
		"bootstrap: file.example:1\n"
		"access-control: 10.0.0.0/8 allow\n"
		"dht-port: 1000\n"
		"verbose: 4\n"
		"tld: filetld\n"
		"foreground: no\n";

	{
		static const char *const a[] = { "--listen", "127.0.0.9:99", "--dht-port=2000",
			"--bootstrap=cmd.example:2", "--tld", "cmdtld", "-d", NULL };
		is_int(run_file(x, &c, file, a), CONF_OK, "file + command line: OK");
		is_int(c.n_listen, 1, "--listen replaced the file's two listeners");
		ok(strcmp(addr(&c.listen[0], b, sizeof(b)), "127.0.0.9:99") == 0, "listen from argv");
		is_int(c.dht_port, 2000, "--dht-port=2000 overrides dht-port: 1000");
		ok(c.n_bootstrap == 1 && strcmp(c.bootstrap[0], "cmd.example:2") == 0,
		    "--bootstrap replaced the file's list");
		is_int(c.n_acl, 1, "access-control from the file kept");
		ok(c.tld && strcmp(c.tld, "cmdtld") == 0, "--tld overrides");
		ok(c.foreground, "-d overrides foreground: no");
		is_int(c.verbose, 4, "verbose from the file kept");
		conf_free(&c);
	}
	{
		static const char *const a[] = { "--tld", "none", NULL };
		is_int(run_file(x, &c, file, a), CONF_OK, "--tld none: OK");
		ok(!c.tld, "--tld none turns the suffix off");
		conf_free(&c);
		is_int(run_file(x, &c, "tld: NONE\n", NULL), CONF_OK, "tld: NONE: OK");
		ok(!c.tld, "tld: NONE in the file turns it off too");
		conf_free(&c);
	}
	{
		/* the command line wins even when given before -c; repeated
		 * options on the command line add up */
		static const char *const a[] = { "-l", "127.0.0.7", "-l127.0.0.8:53", "--listen=[::1]:5",
			"--foreground=no", NULL };
		write_file(x->path, file);
		const char *args[] = { a[0], a[1], a[2], a[3], a[4], "-c", x->path, NULL };
		is_int(run(x, &c, args), CONF_OK, "options before -c: OK");
		is_int(c.n_listen, 3, "three listeners from argv");
		ok(c.n_listen == 3 && strcmp(addr(&c.listen[0], b, sizeof(b)), "127.0.0.7:53") == 0 &&
		    strcmp(addr(&c.listen[1], b, sizeof(b)), "127.0.0.8:53") == 0 &&
		    strcmp(addr(&c.listen[2], b, sizeof(b)), "[::1]:5") == 0,
		    "-l ADDR, -lADDR and --listen=ADDR");
		is_int(c.dht_port, 1000, "file value kept when not on the command line");
		ok(!c.foreground, "--foreground=no");
		conf_free(&c);
	}
	{
		static const char *const a[] = { "--access-control", "192.0.2.0/24 deny", NULL };
		is_int(run_file(x, &c, file, a), CONF_OK, "--access-control with a space in the value");
		ok(c.n_acl == 1 && c.acl[0].action == ACL_DENY && c.acl[0].prefix.len == 24,
		    "--access-control replaced the file's rules");
		conf_free(&c);
	}
	{
		static const char *const a[] = { "--testnet", "3", NULL };
		is_int(run(x, &c, a), CONF_OK, "--testnet 3");
		ok(c.testnet == 3 && (c.n_bootstrap == 0 || installed_config()),
		    "testnet: no default bootstrap nodes");
		conf_free(&c);
	}
}

static void
test_verbose(struct ctx *x)
{
	static const struct {
		const char *args[4];
		int want;
	} cases[] = {
		{ { "-v", NULL }, 2 },
		{ { "-vv", NULL }, 3 },
		{ { "-v", "-v", NULL }, 3 },
		{ { "-vvv", "-v", NULL }, 5 },
		{ { "--verbose", NULL }, 2 },
		{ { "--verbose=7", NULL }, 7 },
		{ { "--verbose=0", NULL }, 0 },
	};
	struct conf c;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum conf_result r = run(x, &c, cases[i].args);
		ok(r == CONF_OK && c.verbose == cases[i].want, "%s %s: verbose %d (got %d)",
		    cases[i].args[0], cases[i].args[1] ? cases[i].args[1] : "", cases[i].want,
		    c.verbose);
		conf_free(&c);
	}
	static const char *const bad[] = { "-vx", NULL };
	is_int(run(x, &c, bad), CONF_ERROR, "-vx: error");
	ok(strstr(x->out, "-vx") != NULL, "-vx named in the message (%s)", x->out);
	conf_free(&c);
	static const char *const bad2[] = { "--verbose=10", NULL };
	is_int(run(x, &c, bad2), CONF_ERROR, "--verbose=10: error");
	ok(strstr(x->out, "--verbose") != NULL, "message names --verbose (%s)", x->out);
	conf_free(&c);
}

/* Each bad line goes third, after two good lines, so its line number is 3. */
static void
test_bad_values(struct ctx *x)
{
	static const struct {
		const char *line;
		const char *key;
	} bad[] = {
		{ "dnssec: maybe", "dnssec" },
		{ "serve-stale:", "serve-stale" },
		{ "foreground: 2", "foreground" },
		{ "min-ttl: -1", "min-ttl" },
		{ "min-ttl: +1", "min-ttl" },
		{ "max-ttl: abc", "max-ttl" },
		{ "max-ttl: 4294967296", "max-ttl" },
		{ "ratelimit: 1.5", "ratelimit" },
		{ "ratelimit:", "ratelimit" },
		{ "dht-port: 65536", "dht-port" },
		{ "testnet-port: -5", "testnet-port" },
		{ "cache-size: 12x", "cache-size" },
		{ "cache-size: 1.5m", "cache-size" },
		{ "cache-size: -1", "cache-size" },
		{ "packet-cache-size: 99999999999999999999", "packet-cache-size" },
		{ "packet-cache-size: 17179869184g", "packet-cache-size" },
		{ "cache-dir: \"\"", "cache-dir" },
		{ "tld:", "tld" },
		{ "listen: localhost", "listen" },
		{ "listen: 127.0.0.1:99999", "listen" },
		{ "forward: 192.0.2.1:", "forward" },
		{ "bootstrap: \"\"", "bootstrap" },
		{ "republish:", "republish" },
		{ "access-control: 10.0.0.0/8", "access-control" },
		{ "access-control: 10.0.0.0/8 permit", "access-control" },
		{ "access-control: 10.0.0.0/33 allow", "access-control" },
		{ "access-control: 10.0.0.0/8 allow extra", "access-control" },
		{ "dht-mode: fast", "dht-mode" },
		{ "dht-mode: Server", "dht-mode" },
		{ "verbose: 10", "verbose" },
		{ "verbose: loud", "verbose" },
		{ "no-such-key: 1", "no-such-key" },
		{ "config: /etc/other.conf", "config" },
		{ "help: yes", "help" },
		{ "listen 127.0.0.1", "listen 127.0.0.1" },
	};
	char text[512];
	struct conf c;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "# comment\ndht-port: 1234\n%s\nmin-ttl: 5\n", bad[i].line);
		enum conf_result r = run_file(x, &c, text, NULL);
		ok(r == CONF_ERROR && says(x, 3, bad[i].key), "'%s': error at line 3 naming %s (%s)",
		    bad[i].line, bad[i].key, x->out);
		conf_free(&c);
	}

	/* an unknown key deep in the file */
	is_int(run_file(x, &c, "\n\n\n\n# x\n\ndht-port: 1\n\n\n   bogus-key   : 12 # c\n", NULL),
	    CONF_ERROR, "unknown key: error");
	ok(says(x, 10, "bogus-key") && strstr(x->out, "unknown key"),
	    "unknown key at line 10 (%s)", x->out);
	conf_free(&c);

	/* a line longer than the parser's buffer */
	{
		char big[3000];
		memcpy(big, "dht-port: 1\ntld: ", 17);
		memset(big + 17, 'a', 2000);
		strcpy(big + 2017, "\n");
		is_int(run_file(x, &c, big, NULL), CONF_ERROR, "overlong line: error");
		ok(strstr(x->out, ":2: ") != NULL, "overlong line reported at line 2 (%s)", x->out);
		conf_free(&c);
	}

	/* too many list entries */
	{
		char many[4096];
		size_t o = 0;
		for (int i = 0; i < CONF_MAX_LIST + 1; i++)
			o += (size_t)snprintf(many + o, sizeof(many) - o, "listen: 127.0.0.%d\n", i + 1);
		is_int(run_file(x, &c, many, NULL), CONF_ERROR, "%d listeners: error", CONF_MAX_LIST + 1);
		ok(says(x, CONF_MAX_LIST + 1, "listen"), "entry %d named (%s)", CONF_MAX_LIST + 1,
		    x->out);
		conf_free(&c);
	}

	/* a config file that does not exist */
	{
		static const char *const a[] = { "-c", "/nonexistent/pkdns.conf", NULL };
		is_int(run(x, &c, a), CONF_ERROR, "missing config file: error");
		ok(strstr(x->out, "/nonexistent/pkdns.conf") != NULL, "message names the file (%s)",
		    x->out);
		conf_free(&c);
	}
}

static void
test_quoting(struct ctx *x)
{
	struct conf c;

	is_int(run_file(x, &c,
		   "cache-dir: \"/var/x#y\"   # real comment\n"
		   "tld: \"a b\"\n"
		   "pidfile: \"unbalanced\n"
		   "dht-port: 53#comment right after the value\n",
		   NULL),
	    CONF_OK, "quoted values: OK (%s)", x->out);
	ok(c.cache_dir && strcmp(c.cache_dir, "/var/x#y") == 0, "'#' inside quotes kept (%s)",
	    c.cache_dir ? c.cache_dir : "NULL");
	ok(c.tld && strcmp(c.tld, "a b") == 0, "space inside quotes kept");
	ok(c.pidfile && strcmp(c.pidfile, "\"unbalanced") == 0, "an unbalanced quote is kept as is");
	is_int(c.dht_port, 53, "comment right after a value");
	conf_free(&c);

	is_int(run_file(x, &c, "dht-port: 1\ndht-port: 2\n", NULL), CONF_OK, "key given twice");
	is_int(c.dht_port, 2, "the last one wins");
	conf_free(&c);

	is_int(run_file(x, &c, "", NULL), CONF_OK, "empty file: OK");
	is_int(c.n_listen, 2, "empty file: defaults");
	conf_free(&c);
}

static void
test_cmdline_errors(struct ctx *x)
{
	static const struct {
		const char *args[4];
		const char *says;
	} bad[] = {
		{ { "--bogus", NULL }, "--bogus" },
		{ { "-Z", NULL }, "-Z" },
		{ { "stray", NULL }, "stray" },
		{ { "--", NULL }, "--" },
		{ { "--listen", NULL }, "--listen: needs a value" },
		{ { "-c", NULL }, "--config: needs a value" },
		{ { "--help=yes", NULL }, "--help takes no value" },
		{ { "--version=1", NULL }, "--version takes no value" },
		{ { "--dht-port", "x", NULL }, "--dht-port: " },
		{ { "--dht-port=", NULL }, "--dht-port: " },
		{ { "--dnssec=perhaps", NULL }, "--dnssec: " },
		{ { "--dht-mode", "on", NULL }, "--dht-mode: " },
		{ { "--cache-size", "1t", NULL }, "--cache-size: " },
		{ { "--access-control", "10.0.0.0/8", NULL }, "--access-control: " },
		{ { "-l", "1.2.3", NULL }, "--listen: " },
		{ { "--foreground=perhaps", NULL }, "--foreground: " },
	};
	struct conf c;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		enum conf_result r = run(x, &c, bad[i].args);
		ok(r == CONF_ERROR && strstr(x->out, bad[i].says) && strncmp(x->out, "pkdns: ", 7) == 0,
		    "%s %s: error mentioning '%s' (%s)", bad[i].args[0],
		    bad[i].args[1] ? bad[i].args[1] : "", bad[i].says, x->out);
		conf_free(&c);
	}
}

static void
test_help_version(struct ctx *x)
{
	struct conf c;
	static const char *const h[] = { "--help", NULL };
	static const char *const h2[] = { "--dht-port", "7", "-h", NULL };
	static const char *const v[] = { "--version", NULL };
	static const char *const v2[] = { "-V", "-c", "/nonexistent", NULL };

	is_int(run_fd(x, &c, STDOUT_FILENO, false, h), CONF_EXIT_OK, "--help: exit OK");
	ok(strstr(x->out, "usage: pkdns") && strstr(x->out, "--listen") &&
	    strstr(x->out, "--access-control") && strstr(x->out, "-c, --config"),
	    "--help lists the options");
	conf_free(&c);
	is_int(run_fd(x, &c, STDOUT_FILENO, false, h2), CONF_EXIT_OK, "-h after other options");
	conf_free(&c);
	is_int(run_fd(x, &c, STDOUT_FILENO, false, v), CONF_EXIT_OK, "--version: exit OK");
	ok(strcmp(x->out, "pkdns " PACKAGE_VERSION "|") == 0, "--version prints the version (%s)",
	    x->out);
	conf_free(&c);
	is_int(run_fd(x, &c, STDOUT_FILENO, false, v2), CONF_EXIT_OK,
	    "-V wins over a missing config file");
	conf_free(&c);
}

/* The testnet's network emulation (issue 15): file keys, command line
 * over file, and the ranges. */
static void
test_testnet_emu(struct ctx *x)
{
	static const char *const file = "testnet: 9\ntestnet-rtt: 80\ntestnet-loss: 5\n"
					"testnet-dead: 30\ntestnet-seed: 77\n";
	static const char *const a[] = { "--testnet-loss", "7", NULL };
	static const struct {
		const char *text, *key;
	} bad[] = {
		{ "testnet-loss: 101\n", "testnet-loss" },
		{ "testnet-dead: 200\n", "testnet-dead" },
		{ "testnet-rtt: 10001\n", "testnet-rtt" },
	};
	struct conf c;

	is_int(run_file(x, &c, file, NULL), CONF_OK, "testnet emulation keys (%s)", x->out);
	ok(c.testnet == 9 && c.testnet_rtt == 80 && c.testnet_loss == 5 && c.testnet_dead == 30 &&
	    c.testnet_seed == 77, "testnet-rtt, -loss, -dead, -seed from the file");
	conf_free(&c);
	is_int(run_file(x, &c, file, a), CONF_OK, "--testnet-loss over the file");
	ok(c.testnet_loss == 7 && c.testnet_rtt == 80, "the command line wins, the rest stays");
	conf_free(&c);
	is_int(run_file(x, &c, "testnet-rtt: 10000\ntestnet-loss: 100\ntestnet-dead: 100\n", NULL),
	    CONF_OK, "testnet-rtt 10000, loss and dead 100: OK");
	conf_free(&c);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		is_int(run_file(x, &c, bad[i].text, NULL), CONF_ERROR, "%s out of range", bad[i].key);
		ok(strstr(x->out, bad[i].key) != NULL, "message names %s (%s)", bad[i].key, x->out);
		conf_free(&c);
	}
}

static void
test_cross_checks(struct ctx *x)
{
	struct conf c;

	is_int(run_file(x, &c, "min-ttl: 700\nmax-ttl: 600\n", NULL), CONF_ERROR,
	    "min-ttl > max-ttl in the file: error");
	ok(strstr(x->out, x->path) && strstr(x->out, "min-ttl") && strstr(x->out, "max-ttl"),
	    "message names the file and both keys (%s)", x->out);
	conf_free(&c);
	{
		static const char *const a[] = { "--min-ttl", "90000", NULL };
		is_int(run(x, &c, a), CONF_ERROR, "--min-ttl above the default max-ttl: error");
		ok(strstr(x->out, "min-ttl") != NULL, "message names min-ttl (%s)", x->out);
		conf_free(&c);
	}
	{
		static const char *const a[] = { "--min-ttl=100", NULL };
		is_int(run_file(x, &c, "min-ttl: 700\nmax-ttl: 600\n", a), CONF_OK,
		    "the command line can repair the file's TTL clamps");
		conf_free(&c);
	}
	is_int(run_file(x, &c, "min-ttl: 600\nmax-ttl: 600\n", NULL), CONF_OK, "min-ttl == max-ttl: OK");
	conf_free(&c);
	is_int(run_file(x, &c, "edns-buffer-size: 511\n", NULL), CONF_ERROR, "edns-buffer-size 511");
	ok(strstr(x->out, "edns-buffer-size") != NULL, "message names edns-buffer-size");
	conf_free(&c);
	is_int(run_file(x, &c, "edns-buffer-size: 65536\n", NULL), CONF_ERROR,
	    "edns-buffer-size 65536");
	conf_free(&c);
	is_int(run_file(x, &c, "edns-buffer-size: 512\n", NULL), CONF_OK, "edns-buffer-size 512");
	conf_free(&c);
	is_int(run_file(x, &c, "edns-buffer-size: 65535\n", NULL), CONF_OK, "edns-buffer-size 65535");
	conf_free(&c);
}

static void
test_reload(struct ctx *x)
{
	struct conf c;
	static const char *const a[] = { "--dht-port", "4000", NULL };

	is_int(run_file(x, &c, "dht-port: 1\ntld: one\nratelimit: 10\n", a), CONF_OK, "first load");
	ok(c.dht_port == 4000 && c.ratelimit == 10, "loaded");
	write_file(x->path, "dht-port: 2\ntld: two\nratelimit: 20\n");
	const char *args[] = { "-c", x->path, "--dht-port", "4000", NULL };
	is_int(run_fd(x, &c, STDERR_FILENO, true, args), CONF_OK, "reload: OK");
	ok(c.ratelimit == 20 && c.tld && strcmp(c.tld, "two") == 0, "reload read the new file");
	is_int(c.dht_port, 4000, "reload kept the command line's override");
	write_file(x->path, "ratelimit: many\n");
	is_int(run_fd(x, &c, STDERR_FILENO, true, args), CONF_ERROR, "reload of a broken file: error");
	ok(c.ratelimit == 20 && c.tld && strcmp(c.tld, "two") == 0,
	    "a failed reload leaves the config alone");
	ok(says(x, 1, "ratelimit"), "failed reload names the line (%s)", x->out);
	conf_free(&c);
}

/* Sizes are parsed in 64 bits; what size_t cannot hold is refused with
 * one line, so a 32-bit build never wraps 4g to 0 (issue 11). Written to
 * hold whatever sizeof(size_t) is. */
static void
test_sizes_32bit(struct ctx *x)
{
	static const struct {
		const char *key, *val;
		uint64_t bytes;
	} cases[] = {
		{ "--cache-size", "4g", 4ull << 30 },
		{ "--cache-size", "5g", 5ull << 30 },
		{ "--packet-cache-size", "4g", 4ull << 30 },
		{ "--packet-cache-size", "4294967296", 4294967296ull },
		{ "--cache-size", "4194303k", 4194303ull << 10 },
	};
	struct conf c;

	printf("# size_t holds %zu bytes at most\n", (size_t)SIZE_MAX);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *a[] = { cases[i].key, cases[i].val, NULL };
		enum conf_result r = run(x, &c, a);
		uint64_t got = strcmp(cases[i].key, "--cache-size") == 0 ? c.cache_size
									 : c.packet_cache_size;
		if (cases[i].bytes > SIZE_MAX)
			ok(r == CONF_ERROR && strstr(x->out, cases[i].key) &&
			    strstr(x->out, "more than this system can address") &&
			    strchr(x->out, '|') == strrchr(x->out, '|'),
			    "%s %s: refused in one line on this %zu-bit system (%s)", cases[i].key,
			    cases[i].val, sizeof(size_t) * 8, x->out);
		else
			ok(r == CONF_OK && got == cases[i].bytes && (size_t)got == got,
			    "%s %s: %llu bytes, exact as a size_t (got %llu)", cases[i].key,
			    cases[i].val, (unsigned long long)cases[i].bytes, (unsigned long long)got);
		conf_free(&c);
	}
	/* from the file too, with its line */
	if ((4ull << 30) > SIZE_MAX) {
		is_int(run_file(x, &c, "dht-port: 1\ncache-size: 4g\n", NULL), CONF_ERROR,
		    "cache-size: 4g in a file: error on this system");
		ok(says(x, 2, "cache-size"), "  ... FILE:2: cache-size: (%s)", x->out);
	} else {
		is_int(run_file(x, &c, "dht-port: 1\ncache-size: 4g\n", NULL), CONF_OK,
		    "cache-size: 4g in a file: OK on this system");
		ok(c.cache_size == 4ull << 30, "  ... 4 GiB");
	}
	conf_free(&c);
}

/* Values that used to start a daemon that then failed silently, or that
 * silently meant something else (issue 10 item 12). */
static void
test_ranges(struct ctx *x)
{
	static const struct {
		const char *line, *key, *why;
	} bad[] = {
		{ "cache-size: 0", "cache-size", "too small" },
		{ "cache-size: 4095", "cache-size", "too small" },
		{ "packet-cache-size: 0", "packet-cache-size", "too small" },
		{ "packet-cache-size: 63k", "packet-cache-size", "too small" },
		{ "tcp-idle-timeout: 0", "tcp-idle-timeout", "1..3600" },
		{ "tcp-idle-timeout: 3601", "tcp-idle-timeout", "1..3600" },
		{ "tcp-max-connections: 0", "tcp-max-connections", "1..65535" },
		{ "tcp-max-per-client: 65536", "tcp-max-per-client", "0..65535" },
		{ "min-ttl: 2147483648", "min-ttl", "RFC 2181" },
		{ "max-ttl: 4294967295", "max-ttl", "RFC 2181" },
		{ "edns-buffer-size: 100", "edns-buffer-size", "512..65535" },
	};
	static const char *const good[] = {
		"cache-size: 4k", "packet-cache-size: 64k", "tcp-idle-timeout: 1",
		"tcp-idle-timeout: 3600", "max-ttl: 2147483647", "tcp-max-per-client: 0",
	};
	char text[256];
	struct conf c;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "# c\ndht-port: 1\n%s\n", bad[i].line);
		enum conf_result r = run_file(x, &c, text, NULL);
		ok(r == CONF_ERROR && says(x, 3, bad[i].key) && strstr(x->out, bad[i].why),
		    "'%s': error at line 3, says '%s' (%s)", bad[i].line, bad[i].why, x->out);
		conf_free(&c);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(text, sizeof(text), "%s\n", good[i]);
		is_int(run_file(x, &c, text, NULL), CONF_OK, "'%s': OK (%s)", good[i], x->out);
		conf_free(&c);
	}
	{
		static const char *const a[] = { "--cache-size", "0", NULL };
		is_int(run(x, &c, a), CONF_ERROR, "--cache-size 0: error");
		ok(strstr(x->out, "pkdns: --cache-size: 0 is too small") != NULL,
		    "  ... one clear line (%s)", x->out);
		conf_free(&c);
	}
	/* the per-client TCP cap: an eighth of the table unless set */
	is_int(run_file(x, &c, "dht-port: 1\n", NULL), CONF_OK, "default per-client cap");
	is_int(c.tcp_max_per_client, 32, "  ... 256 / 8 = 32");
	conf_free(&c);
	is_int(run_file(x, &c, "tcp-max-connections: 9\n", NULL), CONF_OK, "9 connections");
	is_int(c.tcp_max_per_client, 1, "  ... per client 9 / 8 = 1");
	conf_free(&c);
	is_int(run_file(x, &c, "tcp-max-connections: 4\n", NULL), CONF_OK, "4 connections");
	is_int(c.tcp_max_per_client, 1, "  ... per client at least 1");
	conf_free(&c);
	is_int(run_file(x, &c, "tcp-max-per-client: 5\n", NULL), CONF_OK, "tcp-max-per-client: 5");
	is_int(c.tcp_max_per_client, 5, "  ... kept");
	conf_free(&c);
}

/* A NUL byte and a directory as the config file (issue 10 item 12). */
static void
test_not_text(struct ctx *x)
{
	struct conf c;
	FILE *f = fopen(x->path, "w");

	fwrite("dht-port: 1\ntld: a\0b\nmin-ttl: 5\n", 1, 32, f);
	fclose(f);
	{
		const char *a[] = { "-c", x->path, NULL };
		is_int(run(x, &c, a), CONF_ERROR, "NUL byte in a line: error");
		ok(says(x, 2, "(line)") && strstr(x->out, "NUL byte at column 7") &&
		    !strstr(x->out, "longer"), "  ... reported as a NUL at line 2, column 7 (%s)", x->out);
		conf_free(&c);
	}
	{
		const char *a[] = { "-c", x->dir, NULL };
		is_int(run(x, &c, a), CONF_ERROR, "-c DIRECTORY: error");
		ok(strstr(x->out, x->dir) && strstr(x->out, "is a directory"),
		    "  ... says it is a directory (%s)", x->out);
		conf_free(&c);
	}
	/* a last line without '\n' is still read */
	is_int(run_file(x, &c, "dht-port: 1\ndht-port: 77", NULL), CONF_OK, "no final newline");
	is_int(c.dht_port, 77, "  ... last line read");
	conf_free(&c);
}

/* --check-config, conf_error() and conf_check_files() (issue 11). */
static void
test_check(struct ctx *x)
{
	struct conf c;
	char text[1024], file[200], sub[200];
	static const char *const chk[] = { "--check-config", NULL };

	is_int(run(x, &c, chk), CONF_OK, "--check-config parses");
	ok(c.check_config, "  ... and sets check_config");
	conf_free(&c);
	is_int(run_file(x, &c, "check-config: yes\n", NULL), CONF_ERROR,
	    "check-config is not a config file key");
	conf_free(&c);
	{
		static const char *const a[] = { "--check-config=yes", NULL };
		is_int(run(x, &c, a), CONF_ERROR, "--check-config takes no value");
		conf_free(&c);
	}

	snprintf(file, sizeof(file), "%s/plain", x->dir);
	write_file(file, "x\n");
	snprintf(sub, sizeof(sub), "%s/cachedir", x->dir);
	snprintf(text, sizeof(text),
	    "dht-port: 1\n"
	    "dnssec: yes\n"
	    "trust-anchor-file: %s/no-such-anchor\n"
	    "cache-dir: %s\n"
	    "pidfile: %s/no-such-dir/pkdns.pid\n",
	    x->dir, file, x->dir);
	is_int(run_file(x, &c, text, NULL), CONF_OK, "a config naming missing files parses");
	{
		capture_start(x);
		int rc = conf_check_files(&c);
		capture_end(x);
		is_int(rc, -1, "conf_check_files: errors");
		ok(says(x, 3, "trust-anchor-file") && strstr(x->out, "no-such-anchor"),
		    "  ... FILE:3: trust-anchor-file (%s)", x->out);
		ok(says(x, 4, "cache-dir") && strstr(x->out, "not a directory"),
		    "  ... FILE:4: cache-dir: not a directory");
		ok(says(x, 5, "pidfile") && strstr(x->out, "does not exist"),
		    "  ... FILE:5: pidfile: its directory does not exist");
	}
	conf_free(&c);

	snprintf(text, sizeof(text), "dnssec: no\ncache-dir: %s\npidfile: %s/p.pid\n", sub, x->dir);
	is_int(run_file(x, &c, text, NULL), CONF_OK, "a good config parses");
	is_int(conf_check_files(&c), 0, "conf_check_files: a cache-dir to create, pidfile dir exists");
	conf_free(&c);
	unlink(file);

	/* where a value came from: file line, command line, default */
	{
		static const char *const a[] = { "--tld", "cmd", NULL };
		is_int(run_file(x, &c, "dht-port: 1\nrepublish: a\n\nrepublish: b\n", a), CONF_OK,
		    "lists and the command line");
		capture_start(x);
		conf_error(&c, "republish", 1, "second");
		capture_end(x);
		ok(says(x, 4, "republish") && strstr(x->out, "second"),
		    "conf_error: list entry 2 at line 4 (%s)", x->out);
		capture_start(x);
		conf_error(&c, "dht-port", 0, "d");
		capture_end(x);
		ok(says(x, 1, "dht-port"), "conf_error: key at line 1 (%s)", x->out);
		capture_start(x);
		conf_error(&c, "tld", 0, "t");
		capture_end(x);
		ok(strcmp(x->out, "pkdns: --tld: t|") == 0, "conf_error: from the command line (%s)",
		    x->out);
		capture_start(x);
		conf_error(&c, "dht-mode", 0, "m");
		capture_end(x);
		ok(strcmp(x->out, "pkdns: dht-mode: m (the default)|") == 0, "conf_error: a default (%s)",
		    x->out);
		conf_free(&c);
	}
}

static void
test_parse_size(void)
{
	static const struct {
		const char *s;
		int rc;
		uint64_t v;
	} cases[] = {
		{ "0", 0, 0 },
		{ "1", 0, 1 },
		{ "1k", 0, 1024 },
		{ "1K", 0, 1024 },
		{ "2m", 0, 2u << 20 },
		{ "3G", 0, 3ull << 30 },
		{ "18446744073709551615", 0, UINT64_MAX },
		{ "17179869183g", 0, 17179869183ull << 30 },
		{ "17179869184g", -1, 0 },
		{ "18446744073709551616", -1, 0 },
		{ "", -1, 0 },
		{ "k", -1, 0 },
		{ "-1", -1, 0 },
		{ "+1", -1, 0 },
		{ "1t", -1, 0 },
		{ "1kb", -1, 0 },
		{ "1 k", -1, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = 12345;
		int rc = conf_parse_size(cases[i].s, &v);
		ok(rc == cases[i].rc && (rc < 0 || v == cases[i].v), "size '%s' -> %d %llu (got %d %llu)",
		    cases[i].s, cases[i].rc, (unsigned long long)cases[i].v, rc, (unsigned long long)v);
	}
}

int
main(void)
{
	struct ctx x;
	const char *tmp = getenv("TMPDIR");

	memset(&x, 0, sizeof(x));
	snprintf(x.dir, sizeof(x.dir), "%s/test_conf.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(x.dir)) {
		perror("mkdtemp");
		return 99;
	}
	snprintf(x.path, sizeof(x.path), "%s/pkdns.conf", x.dir);

	test_defaults(&x);
	test_full_file(&x);
	test_override(&x);
	test_verbose(&x);
	test_bad_values(&x);
	test_quoting(&x);
	test_cmdline_errors(&x);
	test_help_version(&x);
	test_cross_checks(&x);
	test_testnet_emu(&x);
	test_reload(&x);
	test_parse_size();
	test_sizes_32bit(&x);
	test_ranges(&x);
	test_not_text(&x);
	test_check(&x);

	unlink(x.path);
	rmdir(x.dir);
	return tap_done();
}
