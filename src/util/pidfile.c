/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pidfile.c -- see pidfile.h. flock(2) rather than fcntl(2) locks: an
 * fcntl lock is lost by the parent's exit in daemon(3) and by closing any
 * descriptor of the file, a flock is not.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define LOG_MODULE "pidfile"
#include "util/log.h"
#include "util/pidfile.h"

/* The absolute form of path: realpath() of its folder, then its name. */
static char *
absolute(const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	char dir[PATH_MAX], real[PATH_MAX];
	char *abs;

	if (!*base) {
		log_err("pidfile %s: not a file name", path);
		return NULL;
	}
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) : 1,
	    slash ? (slash == path ? "/" : path) : ".");
	if (!realpath(dir, real)) {
		log_err("pidfile %s: %s", path, strerror(errno));
		return NULL;
	}
	abs = malloc(strlen(real) + strlen(base) + 2);
	if (abs)
		sprintf(abs, "%s/%s", strcmp(real, "/") ? real : "", base);
	return abs;
}

/* The PID another instance wrote, or 0 when unreadable. */
static long
read_pid(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	long pid;

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	pid = strtol(buf, NULL, 10);
	return pid > 0 ? pid : 0;
}

int
pidfile_lock(struct pidfile *pf, const char *path)
{
	pf->fd = -1;
	pf->uid = (uid_t)-1;
	pf->gid = (gid_t)-1;
	pf->path = absolute(path);
	if (!pf->path)
		return -1;
	pf->fd = open(pf->path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (pf->fd < 0) {
		log_err("pidfile %s: %s", pf->path, strerror(errno));
		goto fail;
	}
	if (flock(pf->fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK) {
			long pid = read_pid(pf->fd);
			if (pid)
				log_err("already running (pid %ld): %s is locked", pid, pf->path);
			else
				log_err("already running: %s is locked", pf->path);
		} else {
			log_err("pidfile %s: flock: %s", pf->path, strerror(errno));
		}
		goto fail;
	}
	return 0;
fail:
	if (pf->fd >= 0)
		close(pf->fd);
	pf->fd = -1;
	free(pf->path);
	pf->path = NULL;
	return -1;
}

int
pidfile_write(struct pidfile *pf)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());

	if (ftruncate(pf->fd, 0) < 0 || pwrite(pf->fd, buf, (size_t)n, 0) != n) {
		log_err("pidfile %s: %s", pf->path, strerror(errno));
		return -1;
	}
	/* after a privilege drop the daemon can still rewrite it */
	if ((pf->uid != (uid_t)-1 || pf->gid != (gid_t)-1) && fchown(pf->fd, pf->uid, pf->gid) < 0)
		log_warn("pidfile %s: chown: %s", pf->path, strerror(errno));
	return 0;
}

void
pidfile_release(struct pidfile *pf)
{
	if (!pf || pf->fd < 0)
		return;
	/* we hold the lock: the file is ours to remove */
	if (unlink(pf->path) < 0 && errno != ENOENT)
		log_debug("pidfile %s: %s (the next start takes it over)", pf->path,
		    strerror(errno));
	close(pf->fd);
	pf->fd = -1;
	free(pf->path);
	pf->path = NULL;
}
