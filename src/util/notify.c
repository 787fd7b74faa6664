/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * notify.c -- see notify.h; the protocol is the one systemd documents in
 * sd_notify(3) ("NOTIFY_SOCKET", datagrams of VAR=VALUE lines).
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define LOG_MODULE "notify"
#include "util/log.h"
#include "util/notify.h"

int
notify_open(struct notify *n)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun;
	size_t len;
	socklen_t slen;

	n->fd = -1;
	n->warned = false;
	if (!path || !*path)
		return 0;
	len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || len >= sizeof(sun.sun_path)) {
		log_err("NOTIFY_SOCKET '%s': not an absolute or abstract socket name", path);
		unsetenv("NOTIFY_SOCKET");
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, len);
	if (path[0] == '@')
		sun.sun_path[0] = '\0'; /* abstract: no NUL terminator counted */
	slen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (path[0] == '/'));
	n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (n->fd < 0 || connect(n->fd, (struct sockaddr *)&sun, slen) < 0) {
		log_err("NOTIFY_SOCKET %s: %s", path, strerror(errno));
		if (n->fd >= 0)
			close(n->fd);
		n->fd = -1;
		unsetenv("NOTIFY_SOCKET");
		return -1;
	}
	unsetenv("NOTIFY_SOCKET");
	return 0;
}

int
notify_send(struct notify *n, const char *msg)
{
	if (n->fd < 0)
		return 0;
	if (send(n->fd, msg, strlen(msg), MSG_NOSIGNAL) < 0) {
		if (!n->warned)
			log_warn("service manager notification: %s", strerror(errno));
		n->warned = true;
		return -1;
	}
	return 0;
}

void
notify_close(struct notify *n)
{
	if (n->fd >= 0)
		close(n->fd);
	n->fd = -1;
}
