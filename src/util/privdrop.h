/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * privdrop.h -- give up root once the privileged work is done: optional
 * chroot(2), then the user's supplementary groups, group and user ID.
 *
 * The user is looked up first (privdrop_prepare), while /etc/passwd is
 * still reachable; the drop itself (privdrop_apply) comes after every
 * listener, the cache directory and the control socket are open. Files
 * read later (the trust anchor, cache-dir on a retry) must then be
 * reachable inside the chroot and readable by the user. Functions return
 * 0 or -1 after logging one line saying why.
 */
#ifndef PKDNS_UTIL_PRIVDROP_H
#define PKDNS_UTIL_PRIVDROP_H

#include <stdbool.h>
#include <sys/types.h>

#define PRIVDROP_MAX_GROUPS 64

/** What to become. */
struct privdrop {
	bool active;            /**< a user is set and we are root */
	char name[64];
	uid_t uid;
	gid_t gid;
	gid_t groups[PRIVDROP_MAX_GROUPS];
	int n_groups;
};

/**
 * Look the user up. As root, a user that does not exist is an error; as
 * any other user there is nothing to drop (logged, not an error) unless
 * the name is not the current user's.
 * @param p filled in
 * @param username NULL: nothing to do
 * @return 0 or -1
 */
int privdrop_prepare(struct privdrop *p, const char *username);

/**
 * chroot to dir (when not NULL) and become the user prepared (when
 * active); checks that root cannot be regained.
 * @return 0 or -1
 */
int privdrop_apply(const struct privdrop *p, const char *dir);

#endif
