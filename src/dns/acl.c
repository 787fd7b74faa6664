/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * acl.c -- longest-prefix match over the configured rules.
 */
#include "config.h"

#include "dns/acl.h"

enum conf_acl_action
acl_check(const struct conf_acl_rule *rules, size_t n, const struct sockaddr *client)
{
	enum conf_acl_action act = ACL_REFUSE;
	int best = -1;

	for (size_t i = 0; i < n; i++) {
		if ((int)rules[i].prefix.len > best && netprefix_match(&rules[i].prefix, client)) {
			best = (int)rules[i].prefix.len;
			act = rules[i].action;
		}
	}
	return act;
}
