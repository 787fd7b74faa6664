/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pidfile.h -- a pidfile that holds a flock(2) for the life of the
 * process, so that a second instance sees the first one and leaves its
 * file alone.
 *
 * The lock is taken before anything else is opened and kept by an open
 * descriptor (it survives fork and daemon(3): a flock belongs to the open
 * file description); the PID is written later, once the daemon holds its
 * sockets. A file whose lock nobody holds is stale and is taken over.
 * All functions return 0 on success and -1 after logging why.
 */
#ifndef PKDNS_UTIL_PIDFILE_H
#define PKDNS_UTIL_PIDFILE_H

#include <sys/types.h>

/** A locked pidfile. */
struct pidfile {
	int fd;         /**< open, locked; -1 when none */
	char *path;     /**< absolute path (the daemon chdirs to /) */
	uid_t uid;      /**< owner to give the file after writing (-1: keep) */
	gid_t gid;
};

/**
 * Open path (created mode 0644, not truncated) and take its lock.
 * When another process holds it, logs "already running (pid N)" with the
 * PID in the file and fails, touching nothing.
 * @param pf filled in (pf->fd -1 on failure)
 * @param path the file; a relative path is made absolute here
 * @return 0 or -1
 */
int pidfile_lock(struct pidfile *pf, const char *path);

/**
 * Write the calling process's PID into the locked file.
 * @return 0 or -1
 */
int pidfile_write(struct pidfile *pf);

/**
 * Remove the file (only ever called by the lock holder) and close it.
 * The unlink may fail after a privilege drop; the lock goes with the
 * descriptor all the same, so the next start takes the stale file over.
 * NULL and an unlocked pf are fine.
 */
void pidfile_release(struct pidfile *pf);

#endif
