/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * time.h -- clocks for timers (monotonic) and for timestamps (wall clock).
 */
#ifndef PKDNS_UTIL_TIME_H
#define PKDNS_UTIL_TIME_H

#include <stdint.h>
#include <time.h>

/** @return milliseconds of the monotonic clock; for timeouts and TTLs. */
static inline uint64_t
time_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/** @return microseconds since the Unix epoch (pkarr timestamps). */
static inline uint64_t
time_wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

#endif
