/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_acl.c -- unit tests for src/dns/acl.h: the longest matching prefix
 * decides, whatever the rule order; IPv4-mapped IPv6 clients are judged
 * by the IPv4 rules; no match (or no rules) refuses.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/un.h>

#include "dns/acl.h"
#include "tap.h"

static struct sockaddr_storage
client(const char *ip)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons(40000);
		inet_pton(AF_INET6, ip, &a->sin6_addr);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		a->sin_port = htons(40000);
		inet_pton(AF_INET, ip, &a->sin_addr);
	}
	return ss;
}

static int
add(struct conf_acl_rule *r, size_t *n, const char *prefix, enum conf_acl_action act)
{
	if (netprefix_parse(prefix, &r[*n].prefix) < 0)
		return -1;
	r[*n].action = act;
	(*n)++;
	return 0;
}

static enum conf_acl_action
check(const struct conf_acl_rule *r, size_t n, const char *ip)
{
	struct sockaddr_storage ss = client(ip);
	return acl_check(r, n, (const struct sockaddr *)&ss);
}

static const char *
name(enum conf_acl_action a)
{
	return a == ACL_ALLOW ? "allow" : a == ACL_REFUSE ? "refuse" : a == ACL_DENY ? "deny" : "?";
}

#define EXPECT(r, n, ip, want)                                                    \
	do {                                                                      \
		enum conf_acl_action got_ = check((r), (n), (ip));                \
		ok(got_ == (want), "%s -> %s (got %s)", (ip), name(want), name(got_)); \
	} while (0)

static void
test_rules(void)
{
	struct conf_acl_rule r[16] = { 0 };
	size_t n = 0;

	EXPECT(r, 0, "127.0.0.1", ACL_REFUSE);
	EXPECT(r, 0, "::1", ACL_REFUSE);

	/* general rules first, specific ones later, and the other way round */
	ok(add(r, &n, "0.0.0.0/0", ACL_DENY) == 0 && add(r, &n, "10.0.0.0/8", ACL_ALLOW) == 0 &&
	    add(r, &n, "10.1.0.0/16", ACL_REFUSE) == 0 && add(r, &n, "10.1.2.3", ACL_ALLOW) == 0 &&
	    add(r, &n, "2001:db8::/32", ACL_ALLOW) == 0 &&
	    add(r, &n, "2001:db8:bad::/48", ACL_DENY) == 0 && add(r, &n, "::1", ACL_ALLOW) == 0,
	    "rules parsed");
	EXPECT(r, n, "192.0.2.1", ACL_DENY);
	EXPECT(r, n, "10.9.9.9", ACL_ALLOW);
	EXPECT(r, n, "10.1.9.9", ACL_REFUSE);
	EXPECT(r, n, "10.1.2.3", ACL_ALLOW);
	EXPECT(r, n, "10.1.2.4", ACL_REFUSE);
	EXPECT(r, n, "2001:db8:1::1", ACL_ALLOW);
	EXPECT(r, n, "2001:db8:bad::1", ACL_DENY);
	EXPECT(r, n, "2001:db9::1", ACL_REFUSE);
	EXPECT(r, n, "::1", ACL_ALLOW);
	EXPECT(r, n, "::2", ACL_REFUSE);
	/* IPv4-mapped clients (a dual-stack socket) follow the IPv4 rules */
	EXPECT(r, n, "::ffff:10.1.2.3", ACL_ALLOW);
	EXPECT(r, n, "::ffff:10.1.7.7", ACL_REFUSE);
	EXPECT(r, n, "::ffff:10.7.7.7", ACL_ALLOW);
	EXPECT(r, n, "::ffff:192.0.2.1", ACL_DENY);

	struct conf_acl_rule rev[16];
	for (size_t i = 0; i < n; i++)
		rev[i] = r[n - 1 - i];
	EXPECT(rev, n, "192.0.2.1", ACL_DENY);
	EXPECT(rev, n, "10.9.9.9", ACL_ALLOW);
	EXPECT(rev, n, "10.1.9.9", ACL_REFUSE);
	EXPECT(rev, n, "10.1.2.3", ACL_ALLOW);
	EXPECT(rev, n, "2001:db8:bad::1", ACL_DENY);
	EXPECT(rev, n, "::ffff:10.1.7.7", ACL_REFUSE);

	/* only IPv6 rules: IPv4 clients are refused, and vice versa */
	n = 0;
	add(r, &n, "::/0", ACL_ALLOW);
	EXPECT(r, n, "::1", ACL_ALLOW);
	EXPECT(r, n, "127.0.0.1", ACL_REFUSE);
	EXPECT(r, n, "::ffff:127.0.0.1", ACL_REFUSE);
	n = 0;
	add(r, &n, "0.0.0.0/0", ACL_ALLOW);
	EXPECT(r, n, "8.8.8.8", ACL_ALLOW);
	EXPECT(r, n, "2001:db8::1", ACL_REFUSE);

	/* the default of conf.c: loopback only */
	n = 0;
	add(r, &n, "127.0.0.0/8", ACL_ALLOW);
	add(r, &n, "::1/128", ACL_ALLOW);
	EXPECT(r, n, "127.0.0.53", ACL_ALLOW);
	EXPECT(r, n, "::ffff:127.0.0.1", ACL_ALLOW);
	EXPECT(r, n, "128.0.0.1", ACL_REFUSE);

	/* a non-IP client matches nothing */
	struct sockaddr_un un;
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	n = 0;
	add(r, &n, "0.0.0.0/0", ACL_ALLOW);
	add(r, &n, "::/0", ACL_ALLOW);
	ok(acl_check(r, n, (const struct sockaddr *)&un) == ACL_REFUSE, "AF_UNIX client refused");
}

int
main(void)
{
	test_rules();
	return tap_done();
}
