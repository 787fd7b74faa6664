/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_ops.c -- unit tests of the operating pieces (issue 14): the
 * control channel's request parser (control/ctl.h), the pidfile lock
 * (util/pidfile.h), the notify protocol (util/notify.h) and the answer
 * cache's flush of a zone (cache_remove_under).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "cache/cache.h"
#include "control/ctl.h"
#include "tap.h"
#include "util/log.h"
#include "util/notify.h"
#include "util/pidfile.h"
#include "util/ratelimit.h"

static int
parse(const char *line, struct ctl_request *r, char *err)
{
	return ctl_parse(line, strlen(line), false, r, err, 160);
}

static void
test_parse(void)
{
	struct ctl_request r;
	char err[160], big[CTL_MAX_LINE + 10];

	ok(parse("status", &r, err) == 0 && r.cmd == CTL_STATUS, "status");
	ok(parse("stats_noreset\n", &r, err) == 0 && r.cmd == CTL_STATS_NORESET,
	    "stats_noreset with a newline");
	ok(parse("verbosity 3", &r, err) == 0 && r.verbosity == 3, "verbosity 3");
	ok(parse("verbosity 4", &r, err) < 0 && strstr(err, "0..3"), "verbosity 4 refused: %s", err);
	ok(parse("verbosity 2x", &r, err) < 0, "verbosity 2x refused");
	ok(parse("flush WWW.Example.COM AAAA", &r, err) == 0 && r.qtype == LDNS_RR_TYPE_AAAA &&
		r.name_len == 17 && memcmp(r.name, "\3www\7example\3com", 17) == 0,
	    "flush NAME TYPE: lower-case wire name and type");
	ok(parse("flush www.example.com", &r, err) == 0 && r.qtype == 0, "flush NAME: no type");
	ok(parse("flush www.example.com NOTATYPE", &r, err) < 0 && strstr(err, "unknown type"),
	    "flush with an unknown type: %s", err);
	ok(parse("flush_zone", &r, err) < 0 && strstr(err, "wrong number"), "flush_zone alone: %s",
	    err);
	ok(parse("flush_zone a b", &r, err) < 0, "flush_zone with two names");
	ok(parse("lookup yg4gxe7z1r7mr6orids9fh95y7gxhdsxjqi6nngsxxtakqaxr5no", &r, err) == 0 &&
		r.cmd == CTL_LOOKUP, "lookup KEY");
	ok(parse("lookup yg4gxe7z1r7mr6orids9fh95y7gxhdsxjqi6nngsxxtakqaxr5n", &r, err) < 0,
	    "lookup of 51 characters refused");
	ok(parse("republish example.com", &r, err) < 0 && strstr(err, "public key"),
	    "republish of a name refused: %s", err);
	ok(parse("", &r, err) < 0 && strstr(err, "no command"), "empty line");
	ok(parse("frobnicate", &r, err) < 0 && strstr(err, "unknown command 'frobnicate'"),
	    "unknown command named: %s", err);
	ok(parse("status\x01", &r, err) < 0, "control byte refused");
	ok(parse("status \xc3\xa9", &r, err) < 0, "non-ASCII refused");
	ok(parse("flush a b c d e f", &r, err) < 0, "too many words refused");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ok(parse(big, &r, err) < 0 && strstr(err, "too long"), "a line over CTL_MAX_LINE refused");
	ok(ctl_parse("PKDNSCTL1 dht_nodes\n", 20, true, &r, err, sizeof(err)) == 0 &&
		r.cmd == CTL_DHT_NODES, "with the protocol word");
	ok(ctl_parse("dht_nodes", 9, true, &r, err, sizeof(err)) < 0,
	    "the daemon's side wants the protocol word");
	ok(parse("stats_noreset", &r, err) == 0 && ctl_parse("stats_noreset", 4, false, &r, err,
		sizeof(err)) < 0, "len is honoured (no NUL needed, none read past)");
}

static void
test_pidfile(void)
{
	char dir[] = "/tmp/pkdns-test-pid.XXXXXX", path[64], buf[32] = "";
	struct pidfile a, b;
	FILE *f;

	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp");
		return;
	}
	snprintf(path, sizeof(path), "%s/p.pid", dir);
	ok(pidfile_lock(&a, path) == 0 && pidfile_write(&a) == 0, "first lock and write");
	ok(pidfile_lock(&b, path) < 0 && b.fd < 0, "a second lock of the same file fails");
	f = fopen(path, "r");
	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = '\0';
		fclose(f);
	}
	ok(atol(buf) == (long)getpid(), "the first one's PID is intact in the file");
	pidfile_release(&a);
	ok(access(path, F_OK) < 0, "release removes the file");
	/* a stale file (no lock held) is taken over */
	f = fopen(path, "w");
	if (f) {
		fputs("999999\n", f);
		fclose(f);
	}
	ok(pidfile_lock(&b, path) == 0, "a stale file is taken over");
	pidfile_release(&b);
	rmdir(dir);
}

static void
test_notify(void)
{
	char dir[] = "/tmp/pkdns-test-ntf.XXXXXX", got[128];
	struct sockaddr_un sun;
	struct notify n;
	ssize_t len;
	int fd;

	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp");
		return;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/n.sock", dir);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	ok(fd >= 0 && bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0, "fake notify socket");
	unsetenv("NOTIFY_SOCKET");
	ok(notify_open(&n) == 0 && n.fd < 0, "no NOTIFY_SOCKET: nothing to do");
	ok(notify_send(&n, "READY=1") == 0, "  ... and sending is a no-op");
	setenv("NOTIFY_SOCKET", sun.sun_path, 1);
	ok(notify_open(&n) == 0 && n.fd >= 0, "NOTIFY_SOCKET: connected");
	ok(getenv("NOTIFY_SOCKET") == NULL, "  ... and unset for children");
	ok(notify_send(&n, "READY=1\nSTATUS=up") == 0, "send");
	len = recv(fd, got, sizeof(got) - 1, MSG_DONTWAIT);
	got[len > 0 ? len : 0] = '\0';
	ok(strcmp(got, "READY=1\nSTATUS=up") == 0, "one datagram, the lines as sent");
	notify_close(&n);
	setenv("NOTIFY_SOCKET", "relative/path", 1);
	ok(notify_open(&n) < 0 && n.fd < 0, "a relative NOTIFY_SOCKET is refused");
	close(fd);
	unlink(sun.sun_path);
	rmdir(dir);
}

/* A NOERROR answer with one A record for name. */
static int
store(struct cache *c, const char *name)
{
	ldns_pkt *p = NULL;
	ldns_rr *rr = NULL;
	uint8_t *wire = NULL, key[256];
	size_t len = 0;
	struct cache_key k;
	char text[300];
	int rc = -1;

	snprintf(text, sizeof(text), "%s 300 IN A 192.0.2.1", name);
	if (ldns_pkt_query_new_frm_str(&p, name, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, 0) !=
	    LDNS_STATUS_OK || ldns_rr_new_frm_str(&rr, text, 0, NULL, NULL) != LDNS_STATUS_OK)
		goto out;
	ldns_pkt_set_qr(p, true);
	ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr);
	rr = NULL;
	if (ldns_pkt2wire(&wire, p, &len) != LDNS_STATUS_OK)
		goto out;
	if (cache_key_from_question(wire, len, key, sizeof(key), false, &k) < 0)
		goto out;
	rc = cache_store(c, &k, wire, len, 0, 1000);
out:
	ldns_rr_free(rr);
	ldns_pkt_free(p);
	free(wire);
	return rc;
}

static void
test_flush_zone(void)
{
	struct cache *c = cache_new(1 << 20);
	struct cache_stats st;

	ok(store(c, "www.example.com.") == 0 && store(c, "example.com.") == 0 &&
		store(c, "a.b.example.com.") == 0 && store(c, "notexample.com.") == 0 &&
		store(c, "example.org.") == 0, "five answers stored");
	ok(cache_remove_under(c, (const uint8_t *)"\7example\3com", 13) == 3,
	    "the zone, and the names under it, and nothing else");
	cache_get_stats(c, &st);
	ok(st.entries == 2, "two answers left (notexample.com, example.org)");
	ok(cache_remove_under(c, (const uint8_t *)"\3com", 5) == 1, "then com: notexample.com");
	ok(cache_remove_under(c, (const uint8_t *)"", 1) == 1, "the root: everything else");
	ok(cache_remove_under(c, NULL, 0) == 0, "no zone: nothing");
	cache_free(c);
}

static struct sockaddr_in
v4(uint32_t a)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(a);
	return sin;
}

static void
test_ratelimit_limited(void)
{
	struct ratelimit *rl = ratelimit_new(2, 2, 64);
	struct sockaddr_in a = v4(0x0a000001), b = v4(0x0a000002);

	ok(ratelimit_limited(rl, 1000) == 0, "no client limited at first");
	for (int i = 0; i < 5; i++)
		ratelimit_allow(rl, (struct sockaddr *)&a, 1000);
	ratelimit_allow(rl, (struct sockaddr *)&b, 1000);
	ok(ratelimit_limited(rl, 1000) == 1, "one client spent its burst, the other not");
	ok(ratelimit_limited(rl, 1400) == 1, "  ... still 400 ms later (2/s: 500 ms a token)");
	ok(ratelimit_limited(rl, 1600) == 0, "  ... not 600 ms later");
	ratelimit_set(rl, 0, 0);
	ok(ratelimit_limited(rl, 1000) == 0, "no limit: nobody limited");
	ratelimit_free(rl);
}

int
main(void)
{
	log_setup("test_ops", 0, true);
	test_parse();
	test_pidfile();
	test_notify();
	test_flush_zone();
	test_ratelimit_limited();
	return tap_done();
}
