/*
 * conf.c -- defaults, config file and command line for struct conf.
 *
 * One table lists every key once: its type, where it lives in struct conf,
 * whether it takes a value and its short option. The config file and the
 * command line go through the same setter, so they cannot disagree.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "util/conf.h"

/* Where pkdns users and DESIGN.md expect it, whatever the build prefix. */
#define DEFAULT_CONFIG "/etc/pkdns/pkdns.conf"

enum conf_type {
	T_BOOL, T_U32, T_U16, T_SIZE, T_STR, T_ADDR_LIST, T_STR_LIST, T_ACL,
	T_DHT_MODE, T_VERBOSE, T_FLAG, T_CONFIG, T_HELP, T_VERSION
};

struct conf_key {
	const char *name;
	char short_opt;
	enum conf_type type;
	size_t off;     /* offset of the value in struct conf */
	size_t off_n;   /* for lists: offset of the count */
	uint16_t port;  /* for address lists: default port */
	const char *help;
};

#define F(m) offsetof(struct conf, m)
static const struct conf_key conf_keys[] = {
	{ "config", 'c', T_CONFIG, 0, 0, 0, "FILE  config file (default " DEFAULT_CONFIG " if present)" },
	{ "listen", 'l', T_ADDR_LIST, F(listen), F(n_listen), 53, "ADDR[:PORT]  DNS address, repeatable (default 127.0.0.1:53, [::1]:53)" },
	{ "forward", 'f', T_ADDR_LIST, F(forward), F(n_forward), 53, "ADDR[:PORT]  ICANN upstream, repeatable (default: recursion from the root)" },
	{ "dht-port", 0, T_U16, F(dht_port), 0, 0, "PORT  UDP port of the DHT node, 0 = any (default 6881)" },
	{ "bootstrap", 0, T_STR_LIST, F(bootstrap), F(n_bootstrap), 0, "HOST:PORT  DHT bootstrap node, repeatable" },
	{ "dht-mode", 0, T_DHT_MODE, F(dht_mode), 0, 0, "off|client|server|adaptive  (default adaptive)" },
	{ "cache-dir", 0, T_STR, F(cache_dir), 0, 0, "DIR  persistent packet cache and routing table" },
	{ "min-ttl", 0, T_U32, F(min_ttl), 0, 0, "SECONDS  lower clamp of pkarr TTLs (default 60)" },
	{ "max-ttl", 0, T_U32, F(max_ttl), 0, 0, "SECONDS  upper clamp of pkarr TTLs (default 86400)" },
	{ "testnet", 0, T_U32, F(testnet), 0, 0, "N  run N local DHT nodes on 127.0.0.1 and use only them" },
	{ "testnet-port", 0, T_U16, F(testnet_port), 0, 0, "PORT  first UDP port of the testnet (default 46881)" },
	{ "testnet-rtt", 0, T_U32, F(testnet_rtt), 0, 0, "MS  testnet: median delay of its nodes' answers (log-normal), 0 = none" },
	{ "testnet-loss", 0, T_U32, F(testnet_loss), 0, 0, "PERCENT  testnet: datagrams lost at each node, 0..100" },
	{ "testnet-dead", 0, T_U32, F(testnet_dead), 0, 0, "PERCENT  testnet: nodes known to the others that never answer, 0..100" },
	{ "testnet-seed", 0, T_U32, F(testnet_seed), 0, 0, "N  testnet: seed of the emulation, for a repeatable run (default: logged at start)" },
	{ "foreground", 'd', T_FLAG, F(foreground), 0, 0, "stay in the foreground, log to stderr" },
	{ "verbose", 'v', T_VERBOSE, F(verbose), 0, 0, "more log output (repeatable; config: verbose: N)" },
	{ "cache-size", 0, T_SIZE, F(cache_size), 0, 0, "BYTES  answer cache size, k/m/g suffix (default 32m)" },
	{ "packet-cache-size", 0, T_SIZE, F(packet_cache_size), 0, 0, "BYTES  pkarr packet cache size (default 16m)" },
	{ "access-control", 0, T_ACL, F(acl), F(n_acl), 0, "\"PREFIX allow|refuse|deny\"  repeatable (default: loopback allowed)" },
	{ "dnssec", 0, T_BOOL, F(dnssec), 0, 0, "yes|no  DNSSEC validation on the ICANN path (default yes)" },
	{ "trust-anchor-file", 0, T_STR, F(trust_anchor_file), 0, 0, "FILE  DS/DNSKEY trust anchors (default " PKDNS_TRUST_ANCHOR ")" },
	{ "tcp-idle-timeout", 0, T_U32, F(tcp_idle_timeout), 0, 0, "SECONDS  close idle TCP connections (default 10)" },
	{ "tcp-max-connections", 0, T_U32, F(tcp_max_connections), 0, 0, "N  concurrent TCP clients (default 256)" },
	{ "edns-buffer-size", 0, T_U32, F(edns_buffer_size), 0, 0, "BYTES  largest UDP answer sent (default 1232)" },
	{ "ratelimit", 0, T_U32, F(ratelimit), 0, 0, "QPS  queries per second per client IP, 0 = off (default 100)" },
	{ "ratelimit-burst", 0, T_U32, F(ratelimit_burst), 0, 0, "N  burst of the query limit (default 200)" },
	{ "dht-ratelimit", 0, T_U32, F(dht_ratelimit), 0, 0, "N  DHT look-ups per second per client IP, 0 = off (default 5)" },
	{ "dht-ratelimit-burst", 0, T_U32, F(dht_ratelimit_burst), 0, 0, "N  burst of the look-up limit (default 25)" },
	{ "disable-any", 0, T_BOOL, F(disable_any), 0, 0, "yes|no  answer ANY queries with NOTIMP (default no)" },
	{ "serve-stale", 0, T_BOOL, F(serve_stale), 0, 0, "yes|no  RFC 8767 stale answers when the source fails (default yes)" },
	{ "tld", 0, T_STR, F(tld), 0, 0, "NAME  extra suffix after key TLDs, e.g. key" },
	{ "search-domain", 0, T_STR_LIST, F(search_domain), F(n_search_domain), 0, "NAME  a search domain the OS appends (lan, home.arpa): <key>.NAME resolves like <key>; repeatable" },
	{ "republish", 0, T_STR_LIST, F(republish), F(n_republish), 0, "KEY  republish this key's packet, repeatable" },
	{ "republish-interval", 0, T_U32, F(republish_interval), 0, 0, "SECONDS  (default 3600)" },
	{ "stats-interval", 0, T_U32, F(stats_interval), 0, 0, "SECONDS  stats log line, 0 = off (default 300)" },
	{ "pidfile", 0, T_STR, F(pidfile), 0, 0, "FILE  write the process ID here" },
	{ "version", 'V', T_VERSION, 0, 0, 0, "print the version and exit" },
	{ "help", 'h', T_HELP, 0, 0, 0, "print this help and exit" },
};
#undef F
#define N_KEYS (sizeof(conf_keys) / sizeof(conf_keys[0]))

/* Where a value came from, for error messages. */
struct conf_src {
	const char *file; /* NULL: command line */
	unsigned line;
	bool cmdline;
	bool list_reset[N_KEYS]; /* command line: list already cleared */
};

static void
conf_defaults(struct conf *c)
{
	memset(c, 0, sizeof(*c));
	c->dht_port = 6881;
	c->dht_mode = DHT_MODE_ADAPTIVE_CONF;
	c->min_ttl = 60;
	c->max_ttl = 86400;
	c->testnet_port = 46881;
	c->verbose = 1; /* errors and warnings */
	c->cache_size = 32u << 20;
	c->packet_cache_size = 16u << 20;
	c->dnssec = true;
	c->tcp_idle_timeout = 10;
	c->tcp_max_connections = 256;
	c->edns_buffer_size = 1232;
	c->ratelimit = 100;
	c->ratelimit_burst = 200;
	c->dht_ratelimit = 5;
	c->dht_ratelimit_burst = 25;
	c->serve_stale = true;
	c->republish_interval = 3600;
	c->stats_interval = 300;
}

static const char *const default_bootstrap[] = {
	"router.bittorrent.com:6881", "router.utorrent.com:6881",
	"dht.transmissionbt.com:6881", "dht.libtorrent.org:25401",
};

static void
conf_complete(struct conf *c)
{
	if (c->n_listen == 0) {
		netaddr_parse("127.0.0.1:53", 53, &c->listen[0].ss, &c->listen[0].len);
		netaddr_parse("[::1]:53", 53, &c->listen[1].ss, &c->listen[1].len);
		c->n_listen = 2;
		c->listen_default = true;
	}
	if (c->n_bootstrap == 0 && c->testnet == 0) {
		for (size_t i = 0; i < 4; i++)
			c->bootstrap[i] = strdup(default_bootstrap[i]);
		c->n_bootstrap = 4;
	}
	if (c->n_acl == 0) {
		netprefix_parse("127.0.0.0/8", &c->acl[0].prefix);
		netprefix_parse("::1/128", &c->acl[1].prefix);
		c->acl[0].action = c->acl[1].action = ACL_ALLOW;
		c->n_acl = 2;
	}
	if (!c->trust_anchor_file)
		c->trust_anchor_file = strdup(PKDNS_TRUST_ANCHOR);
}

void
conf_free(struct conf *c)
{
	for (size_t i = 0; i < c->n_bootstrap; i++)
		free(c->bootstrap[i]);
	for (size_t i = 0; i < c->n_republish; i++)
		free(c->republish[i]);
	for (size_t i = 0; i < c->n_search_domain; i++)
		free(c->search_domain[i]);
	free(c->cache_dir);
	free(c->trust_anchor_file);
	free(c->tld);
	free(c->pidfile);
	free((char *)c->config_file);
	memset(c, 0, sizeof(*c));
}

__attribute__((format(printf, 3, 4))) static int
conf_fail(const struct conf_src *src, const char *key, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (src->file)
		fprintf(stderr, "pkdns: %s:%u: %s: %s\n", src->file, src->line, key, msg);
	else
		fprintf(stderr, "pkdns: --%s: %s\n", key, msg);
	return -1;
}

int
conf_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t mul = 1;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case '\0': break;
	case 'k': case 'K': mul = 1ull << 10; end++; break;
	case 'm': case 'M': mul = 1ull << 20; end++; break;
	case 'g': case 'G': mul = 1ull << 30; end++; break;
	default: return -1;
	}
	if (*end != '\0' || v > UINT64_MAX / mul)
		return -1;
	*out = v * mul;
	return 0;
}

static int
parse_bool(const char *s, bool *out)
{
	if (!strcasecmp(s, "yes") || !strcasecmp(s, "true") || !strcmp(s, "1") || !strcasecmp(s, "on"))
		*out = true;
	else if (!strcasecmp(s, "no") || !strcasecmp(s, "false") || !strcmp(s, "0") || !strcasecmp(s, "off"))
		*out = false;
	else
		return -1;
	return 0;
}

static int
parse_u32(const char *s, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end != '\0' || v > max)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* The entry count of a list key, or NULL (reported) when the list is
 * full. A list given on the command line replaces the config file's. */
static size_t *
list_count(struct conf *c, const struct conf_key *k, struct conf_src *src)
{
	size_t *n = (size_t *)((char *)c + k->off_n);
	size_t idx = (size_t)(k - conf_keys);

	if (src->cmdline && !src->list_reset[idx]) {
		src->list_reset[idx] = true;
		if (k->type == T_STR_LIST) {
			char **list = (char **)((char *)c + k->off);
			for (size_t i = 0; i < *n; i++)
				free(list[i]);
		}
		*n = 0;
	}
	if (*n >= CONF_MAX_LIST) {
		conf_fail(src, k->name, "more than %d entries", CONF_MAX_LIST);
		return NULL;
	}
	return n;
}

static int
conf_set(struct conf *c, const struct conf_key *k, const char *val, struct conf_src *src)
{
	void *p = (char *)c + k->off;
	uint32_t u;

	switch (k->type) {
	case T_BOOL:
	case T_FLAG:
		if (parse_bool(val, p) < 0)
			return conf_fail(src, k->name, "'%s' is not yes or no", val);
		return 0;
	case T_U32:
		if (parse_u32(val, UINT32_MAX, p) < 0)
			return conf_fail(src, k->name, "'%s' is not a number", val);
		return 0;
	case T_U16:
		if (parse_u32(val, 65535, &u) < 0)
			return conf_fail(src, k->name, "'%s' is not a port number", val);
		*(uint16_t *)p = (uint16_t)u;
		return 0;
	case T_SIZE:
		if (conf_parse_size(val, p) < 0)
			return conf_fail(src, k->name, "'%s' is not a size (bytes, k, m or g)", val);
		return 0;
	case T_STR: {
		char **s = p;
		if (!*val)
			return conf_fail(src, k->name, "empty value");
		free(*s);
		*s = strdup(val);
		return 0;
	}
	case T_ADDR_LIST: {
		size_t *n = list_count(c, k, src);
		struct conf_addr *list = p;
		if (n == NULL)
			return -1;
		if (netaddr_parse(val, k->port, &list[*n].ss, &list[*n].len) < 0)
			return conf_fail(src, k->name, "'%s' is not an address (ADDR[:PORT], [IPv6]:PORT)", val);
		(*n)++;
		return 0;
	}
	case T_STR_LIST: {
		size_t *n = list_count(c, k, src);
		char **list = p;
		if (n == NULL)
			return -1;
		if (!*val)
			return conf_fail(src, k->name, "empty value");
		list[(*n)++] = strdup(val);
		return 0;
	}
	case T_ACL: {
		size_t *n = list_count(c, k, src);
		struct conf_acl_rule *list = p;
		char pfx[128], act[16], extra[2];
		int got = sscanf(val, "%127s %15s %1s", pfx, act, extra);
		if (n == NULL)
			return -1;
		if (got != 2)
			return conf_fail(src, k->name, "'%s' is not \"PREFIX allow|refuse|deny\"", val);
		if (netprefix_parse(pfx, &list[*n].prefix) < 0)
			return conf_fail(src, k->name, "'%s' is not an address prefix", pfx);
		if (!strcmp(act, "allow"))
			list[*n].action = ACL_ALLOW;
		else if (!strcmp(act, "refuse"))
			list[*n].action = ACL_REFUSE;
		else if (!strcmp(act, "deny"))
			list[*n].action = ACL_DENY;
		else
			return conf_fail(src, k->name, "'%s' is not allow, refuse or deny", act);
		(*n)++;
		return 0;
	}
	case T_DHT_MODE: {
		static const char *const modes[] = { "off", "client", "server", "adaptive" };
		for (int i = 0; i < 4; i++) {
			if (!strcmp(val, modes[i])) {
				*(int *)p = i;
				return 0;
			}
		}
		return conf_fail(src, k->name, "'%s' is not off, client, server or adaptive", val);
	}
	case T_VERBOSE:
		if (parse_u32(val, 9, &u) < 0)
			return conf_fail(src, k->name, "'%s' is not a level 0-9", val);
		*(int *)p = (int)u;
		return 0;
	default:
		return conf_fail(src, k->name, "not allowed here");
	}
}

static const struct conf_key *
key_by_name(const char *name, size_t len)
{
	for (size_t i = 0; i < N_KEYS; i++)
		if (strlen(conf_keys[i].name) == len && !strncmp(conf_keys[i].name, name, len))
			return &conf_keys[i];
	return NULL;
}

static const struct conf_key *
key_by_short(char c)
{
	for (size_t i = 0; i < N_KEYS; i++)
		if (conf_keys[i].short_opt == c)
			return &conf_keys[i];
	return NULL;
}

static char *
trim(char *s)
{
	char *e;
	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		*--e = '\0';
	return s;
}

static int
conf_read_file(struct conf *c, const char *path)
{
	struct conf_src src = { .file = path };
	char line[1024];
	FILE *f = fopen(path, "r");
	int rc = 0;

	if (!f) {
		fprintf(stderr, "pkdns: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *s, *colon, *key, *val, *hash;
		const struct conf_key *k;

		src.line++;
		if (!strchr(line, '\n') && !feof(f)) {
			rc = conf_fail(&src, "(line)", "line longer than %zu bytes", sizeof(line) - 2);
			break;
		}
		/* '#' starts a comment unless inside double quotes */
		hash = NULL;
		for (char *q = line, in = 0; *q; q++) {
			if (*q == '"')
				in = !in;
			else if (*q == '#' && !in) {
				hash = q;
				break;
			}
		}
		if (hash)
			*hash = '\0';
		s = trim(line);
		if (!*s)
			continue;
		colon = strchr(s, ':');
		if (!colon) {
			rc = conf_fail(&src, s, "expected \"key: value\"");
			break;
		}
		*colon = '\0';
		key = trim(s);
		val = trim(colon + 1);
		if (val[0] == '"' && strlen(val) >= 2 && val[strlen(val) - 1] == '"') {
			val[strlen(val) - 1] = '\0';
			val++;
		}
		k = key_by_name(key, strlen(key));
		if (!k || k->type == T_CONFIG || k->type == T_HELP || k->type == T_VERSION) {
			rc = conf_fail(&src, key, "unknown key");
			break;
		}
		if (conf_set(c, k, val, &src) < 0) {
			rc = -1;
			break;
		}
	}
	fclose(f);
	return rc;
}

static void
conf_usage(void)
{
	printf("usage: pkdns [options]\n"
	       "A DNS server that resolves public keys as top-level domains (pkarr on the\n"
	       "Mainline DHT) and every other name through a validating resolver.\n\n");
	for (size_t i = 0; i < N_KEYS; i++) {
		const struct conf_key *k = &conf_keys[i];
		char opt[40];
		if (k->short_opt)
			snprintf(opt, sizeof(opt), "-%c, --%s", k->short_opt, k->name);
		else
			snprintf(opt, sizeof(opt), "    --%s", k->name);
		printf("  %-26s %s\n", opt, k->help);
	}
	printf("\nEvery option is also a config file key (\"key: value\"); see pkdns.conf(5).\n");
}

/* Walk argv; with only_meta, act on -c/-h/-V alone (first pass). */
static enum conf_result
conf_argv(struct conf *c, int argc, char **argv, bool only_meta, const char **config_path)
{
	struct conf_src src = { .cmdline = true };

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *val = NULL;
		const struct conf_key *k = NULL;

		if (arg[0] == '-' && arg[1] == '-' && arg[2]) {
			const char *eq = strchr(arg + 2, '=');
			size_t len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
			k = key_by_name(arg + 2, len);
			if (eq)
				val = eq + 1;
		} else if (arg[0] == '-' && arg[1] && arg[1] != '-') {
			k = key_by_short(arg[1]);
			if (k && arg[2]) {
				/* -vv, or -l127.0.0.1 */
				if (k->type == T_VERBOSE || k->type == T_FLAG) {
					for (const char *q = arg + 2; *q; q++)
						if (*q != arg[1])
							k = NULL;
				} else {
					val = arg + 2;
				}
			}
		}
		if (!k) {
			fprintf(stderr, "pkdns: unknown option '%s' (try --help)\n", arg);
			return CONF_ERROR;
		}
		bool takes_value = k->type != T_FLAG && k->type != T_VERBOSE &&
		    k->type != T_HELP && k->type != T_VERSION;
		if (takes_value && !val) {
			if (i + 1 >= argc) {
				fprintf(stderr, "pkdns: --%s: needs a value\n", k->name);
				return CONF_ERROR;
			}
			val = argv[++i];
		} else if (!takes_value && val && k->type != T_VERBOSE && k->type != T_FLAG) {
			fprintf(stderr, "pkdns: --%s takes no value\n", k->name);
			return CONF_ERROR;
		}
		if (k->type == T_HELP) {
			if (only_meta) {
				conf_usage();
				return CONF_EXIT_OK;
			}
			continue;
		}
		if (k->type == T_VERSION) {
			if (only_meta) {
				printf("pkdns %s\n", PACKAGE_VERSION);
				return CONF_EXIT_OK;
			}
			continue;
		}
		if (k->type == T_CONFIG) {
			if (only_meta)
				*config_path = val;
			continue;
		}
		if (only_meta)
			continue;
		if (k->type == T_VERBOSE && !val) {
			/* each -v one level more; -vvv counts its letters */
			size_t n = (arg[1] == '-') ? 1 : strlen(arg) - 1;
			if (!src.list_reset[k - conf_keys]) {
				src.list_reset[k - conf_keys] = true;
				c->verbose = 1;
			}
			c->verbose += (int)n;
			continue;
		}
		if (k->type == T_FLAG && !val)
			val = "yes";
		if (conf_set(c, k, val, &src) < 0)
			return CONF_ERROR;
	}
	return CONF_OK;
}

enum conf_result
conf_load(struct conf *c, int argc, char **argv)
{
	const char *path = NULL;
	enum conf_result r;

	conf_defaults(c);
	r = conf_argv(c, argc, argv, true, &path);
	if (r != CONF_OK)
		return r;
	if (!path && access(DEFAULT_CONFIG, R_OK) == 0)
		path = DEFAULT_CONFIG;
	if (path) {
		if (conf_read_file(c, path) < 0)
			return CONF_ERROR;
		c->config_file = strdup(path);
	}
	r = conf_argv(c, argc, argv, false, &path);
	if (r != CONF_OK)
		return r;
	if (c->min_ttl > c->max_ttl) {
		fprintf(stderr, "pkdns: %s: min-ttl: %u is above max-ttl %u\n",
		    c->config_file ? c->config_file : "command line", c->min_ttl, c->max_ttl);
		return CONF_ERROR;
	}
	if (c->testnet_loss > 100 || c->testnet_dead > 100) {
		fprintf(stderr, "pkdns: %s: %u is not a percentage (0..100)\n",
		    c->testnet_loss > 100 ? "testnet-loss" : "testnet-dead",
		    c->testnet_loss > 100 ? c->testnet_loss : c->testnet_dead);
		return CONF_ERROR;
	}
	if (c->testnet_rtt > 10000) {
		fprintf(stderr, "pkdns: testnet-rtt: %u ms is above 10000\n", c->testnet_rtt);
		return CONF_ERROR;
	}
	if (c->edns_buffer_size < 512 || c->edns_buffer_size > 65535) {
		fprintf(stderr, "pkdns: edns-buffer-size: %u is not within 512..65535\n", c->edns_buffer_size);
		return CONF_ERROR;
	}
	conf_complete(c);
	return CONF_OK;
}

enum conf_result
conf_reload(struct conf *c, int argc, char **argv)
{
	struct conf fresh;
	enum conf_result r = conf_load(&fresh, argc, argv);

	if (r != CONF_OK) {
		conf_free(&fresh);
		return r;
	}
	conf_free(c);
	*c = fresh;
	return CONF_OK;
}
