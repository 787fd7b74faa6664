/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * acl.h -- access control by client address prefix, like unbound's
 * access-control: the longest matching prefix decides; no match refuses.
 */
#ifndef PKDNS_DNS_ACL_H
#define PKDNS_DNS_ACL_H

#include <stddef.h>
#include <sys/socket.h>

#include "util/conf.h"

/**
 * @param rules, n the rules (struct conf's acl)
 * @param client the client's address
 * @return ACL_ALLOW, ACL_REFUSE (answer REFUSED) or ACL_DENY (drop)
 */
enum conf_acl_action acl_check(const struct conf_acl_rule *rules, size_t n,
    const struct sockaddr *client);

#endif
