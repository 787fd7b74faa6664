/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pkdns-control.c -- the operator's client of the control socket (as
 * unbound-control is unbound's): sends one command, prints the answer.
 * The command is checked here first, so that a typo needs no daemon;
 * the daemon checks it again. Exit status: 0 done, 1 the daemon said
 * "error", 2 usage, 3 no daemon reached.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "control/ctl.h"

#ifndef PKDNS_RUNSTATEDIR
#define PKDNS_RUNSTATEDIR "/run"
#endif
/* the daemon's default, and the systemd unit's RuntimeDirectory */
#define DEFAULT_SOCKET PKDNS_RUNSTATEDIR "/pkdns.sock"
#define UNIT_SOCKET PKDNS_RUNSTATEDIR "/pkdns/pkdns.sock"
/* how long to wait for an answer; a reload or a large table is quick */
#define TIMEOUT_MS 30000
/* largest answer read (dht_nodes of two full tables is ~100 KB) */
#define MAX_ANSWER (4u << 20)

static void
usage(FILE *f)
{
	fprintf(f, "usage: pkdns-control [-s SOCKET] COMMAND [ARGS]\n"
	    "  -s SOCKET  the daemon's control socket (default " DEFAULT_SOCKET
	    ", then " UNIT_SOCKET ")\n  -h         this help\n  -V         version\n"
	    "commands:\n");
	for (size_t i = 0; ctl_usage_lines[i]; i++)
		fprintf(f, "  %s\n", ctl_usage_lines[i]);
}

static int
connect_to(const char *path)
{
	struct sockaddr_un sun;
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int
send_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	const char *path = NULL;
	char line[CTL_MAX_LINE + 2], err[160], *answer;
	struct ctl_request req;
	size_t len = 0, have = 0;
	int fd, opt;

	while ((opt = getopt(argc, argv, "+s:hV")) != -1) {
		switch (opt) {
		case 's':
			path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("pkdns-control %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	for (int i = optind; i < argc; i++) {
		size_t w = strlen(argv[i]);
		if (len + w + 1 > CTL_MAX_LINE) {
			fprintf(stderr, "pkdns-control: command too long\n");
			return 2;
		}
		if (len)
			line[len++] = ' ';
		memcpy(line + len, argv[i], w);
		len += w;
	}
	line[len] = '\0';
	if (ctl_parse(line, len, false, &req, err, sizeof(err)) < 0) {
		fprintf(stderr, "pkdns-control: %s\n", err);
		return 2;
	}
	if (path) {
		fd = connect_to(path);
	} else {
		path = DEFAULT_SOCKET;
		fd = connect_to(path);
		if (fd < 0 && errno == ENOENT) {
			path = UNIT_SOCKET;
			fd = connect_to(path);
		}
	}
	if (fd < 0) {
		fprintf(stderr, "pkdns-control: %s: %s (is pkdns running? control-socket in "
		    "pkdns.conf, -s here)\n", path, strerror(errno));
		return 3;
	}
	answer = malloc(MAX_ANSWER + 1);
	if (!answer || send_all(fd, CTL_MAGIC " ", strlen(CTL_MAGIC) + 1) < 0 ||
	    send_all(fd, line, len) < 0 || send_all(fd, "\n", 1) < 0) {
		fprintf(stderr, "pkdns-control: %s: %s\n", path, strerror(errno));
		return 3;
	}
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;
		int r = poll(&p, 1, TIMEOUT_MS);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			fprintf(stderr, "pkdns-control: %s: no answer in %d s\n", path,
			    TIMEOUT_MS / 1000);
			return 3;
		}
		n = read(fd, answer + have, MAX_ANSWER - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "pkdns-control: %s: %s\n", path, strerror(errno));
			return 3;
		}
		if (n == 0 || (have += (size_t)n) == MAX_ANSWER)
			break;
	}
	close(fd);
	if (have == 0) {
		fprintf(stderr, "pkdns-control: %s: the daemon closed without an answer\n", path);
		return 3;
	}
	if (have >= 5 && memcmp(answer, "error", 5) == 0) {
		fwrite(answer, 1, have, stderr);
		return 1;
	}
	fwrite(answer, 1, have, stdout);
	free(answer);
	return 0;
}
