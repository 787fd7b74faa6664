/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * privdrop.c -- see privdrop.h. The order is the one every daemon that
 * drops root uses (unbound's daemon.c, OpenBSD's rad): groups, then GID,
 * then UID, since after setuid the others can no longer change.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define LOG_MODULE "privdrop"
#include "util/log.h"
#include "util/privdrop.h"

int
privdrop_prepare(struct privdrop *p, const char *username)
{
	struct passwd *pw;
	int n = PRIVDROP_MAX_GROUPS;

	memset(p, 0, sizeof(*p));
	if (!username)
		return 0;
	errno = 0;
	pw = getpwnam(username);
	if (!pw) {
		if (geteuid() != 0 && errno == 0) {
			log_warn("username %s: no such user; not root, so nothing to drop",
			    username);
			return 0;
		}
		log_err("username %s: %s", username,
		    errno ? strerror(errno) : "no such user (create it, or remove username)");
		return -1;
	}
	if (geteuid() != 0) {
		if (pw->pw_uid != geteuid()) {
			log_warn("username %s: not root, so running on as uid %ld", username,
			    (long)geteuid());
		}
		return 0;
	}
	snprintf(p->name, sizeof(p->name), "%s", pw->pw_name);
	p->uid = pw->pw_uid;
	p->gid = pw->pw_gid;
	if (getgrouplist(pw->pw_name, pw->pw_gid, p->groups, &n) < 0) {
		log_err("username %s: in more than %d groups", username, PRIVDROP_MAX_GROUPS);
		return -1;
	}
	p->n_groups = n;
	p->active = true;
	return 0;
}

int
privdrop_apply(const struct privdrop *p, const char *dir)
{
	if (dir) {
		if (chroot(dir) < 0 || chdir("/") < 0) {
			log_err("chroot %s: %s", dir, strerror(errno));
			return -1;
		}
	}
	if (!p->active)
		return 0;
	if (setgroups((size_t)p->n_groups, p->groups) < 0 || setresgid(p->gid, p->gid, p->gid) < 0 ||
	    setresuid(p->uid, p->uid, p->uid) < 0) {
		log_err("dropping to user %s: %s", p->name, strerror(errno));
		return -1;
	}
	/* a kernel or a seccomp filter that pretended: refuse to go on */
	if (p->uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
		log_err("dropping to user %s: root could be regained", p->name);
		return -1;
	}
	log_info("running as user %s (uid %ld, gid %ld)%s%s", p->name, (long)p->uid,
	    (long)p->gid, dir ? " in " : "", dir ? dir : "");
	return 0;
}
