/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * log.h -- the one logging API of pkdns.
 *
 * Lines go to stderr when the daemon runs in the foreground (and in tests
 * and pkdns-cli), to syslog otherwise. Each line names the module that
 * wrote it: a .c file defines LOG_MODULE before including this header.
 * The log settings are process-wide and set once at start-up (and again
 * on SIGHUP) by the daemon's context; nothing else writes them.
 */
#ifndef PKDNS_UTIL_LOG_H
#define PKDNS_UTIL_LOG_H

#include <stdbool.h>

#ifndef LOG_MODULE
#define LOG_MODULE "pkdns"
#endif

/** Severity, most severe first; the verbosity shows levels <= it. */
enum log_level {
	LOG_LVL_ERR = 0,
	LOG_LVL_WARN = 1,
	LOG_LVL_INFO = 2,
	LOG_LVL_DEBUG = 3,
};

/**
 * Set where log lines go and how many.
 * @param ident program name for syslog and stderr prefixes
 * @param verbosity highest level shown (LOG_LVL_*)
 * @param to_stderr true: stderr; false: syslog (daemon facility)
 */
void log_setup(const char *ident, int verbosity, bool to_stderr);

/** Close and reopen the syslog connection (SIGHUP). */
void log_reopen(void);

/** @return true when a line of this level would be written. */
bool log_enabled(int level);

/**
 * Write one line (no trailing newline needed).
 * @param level LOG_LVL_*
 * @param module short module name, e.g. "dns"
 */
void log_msg(int level, const char *module, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_err(...) log_msg(LOG_LVL_ERR, LOG_MODULE, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, LOG_MODULE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, LOG_MODULE, __VA_ARGS__)
#define log_debug(...)                                                   \
	do {                                                             \
		if (log_enabled(LOG_LVL_DEBUG))                          \
			log_msg(LOG_LVL_DEBUG, LOG_MODULE, __VA_ARGS__); \
	} while (0)

#endif
