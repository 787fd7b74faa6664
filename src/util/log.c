/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * log.c -- stderr or syslog output for the log.h API.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "util/log.h"

/* Process-wide log settings, written only by log_setup() at start-up and
 * on SIGHUP from the daemon's single thread. */
static struct {
	const char *ident;
	int verbosity;
	bool to_stderr;
	bool syslog_open;
} log_state = { "pkdns", LOG_LVL_WARN, true, false };

void
log_setup(const char *ident, int verbosity, bool to_stderr)
{
	log_state.ident = ident ? ident : "pkdns";
	log_state.verbosity = verbosity;
	log_state.to_stderr = to_stderr;
	if (!to_stderr && !log_state.syslog_open) {
		openlog(log_state.ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
		log_state.syslog_open = true;
	}
}

void
log_reopen(void)
{
	if (log_state.syslog_open) {
		closelog();
		openlog(log_state.ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	}
}

bool
log_enabled(int level)
{
	return level <= log_state.verbosity;
}

void
log_msg(int level, const char *module, const char *fmt, ...)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char line[1024];
	va_list ap;

	if (!log_enabled(level))
		return;
	if (level < LOG_LVL_ERR)
		level = LOG_LVL_ERR;
	if (level > LOG_LVL_DEBUG)
		level = LOG_LVL_DEBUG;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (log_state.to_stderr) {
		struct timespec ts;
		struct tm tm;
		char stamp[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ldZ %s[%s] %s: %s\n", stamp,
		    ts.tv_nsec / 1000000, log_state.ident, module, names[level],
		    line);
	} else {
		syslog(prio[level], "[%s] %s: %s", module, names[level], line);
	}
}
