/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * harness.h -- what the parts of the daemon test harness share: the
 * virtual clock (vclock.c), the scripted ICANN resolver (fake_icann.c),
 * the scenario parser (scenario.c) and the driver (harness.c).
 */
#ifndef PKDNS_TESTS_HARNESS_H
#define PKDNS_TESTS_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;

/* Virtual time starts here: the monotonic clock at 1,000,000 s (a host
 * up for 11 days) and the wall clock at 2026-01-01 00:00:00 UTC. */
#define VCLOCK_MONO_START_S 1000000ull
#define VCLOCK_WALL_START_S 1767225600ull

/** @return the virtual monotonic clock in ms. */
uint64_t vclock_now_ms(void);

/**
 * Run base until it has nothing left to do at now + ms (virtual), the
 * clock jumping from timer to timer; ms = 0 only runs what is due now.
 * @return 0, or -1 when the loop failed
 */
int vclock_run(struct event_base *base, uint64_t ms);

/** @return datagrams that never arrived (sent to a closed port). */
unsigned long vclock_lost(void);

/** @return real waits (1 ms each) for datagrams still in flight. */
unsigned long vclock_waits(void);

/** @return epoll_wait calls seen (the interposition works when > 0). */
unsigned long vclock_polls(void);

/** Called at every blocking point, before time may move: the harness
 *  reads its client sockets there so their replies do not count as in
 *  flight. */
void harness_drain(void);

/**
 * The scenario, run in place of the daemon's event loop.
 * @return 0 (the daemon's loop ended normally)
 */
int harness_main_loop(struct event_base *base);

/* ---- the scripted ICANN resolver ---------------------------------------- */

/** What the upstream does for one question. */
struct fake_rule {
	char name[256];          /**< lower case, with the final dot */
	uint16_t qtype;
	uint64_t delay_ms;       /**< answer after this long (virtual) */
	bool never;              /**< never answer */
	bool fail;               /**< resolution fails (no packet) */
	int rcode;               /**< of the packet */
	int sec;                 /**< enum icann_sec */
	char *answer, *authority; /**< RRs in text, '\n' between them */
	struct fake_rule *next;
};

/** Add a rule; it replaces an earlier one for the same question. The
 *  fake takes ownership. */
void fake_icann_rule(struct fake_rule *r);

/** @return resolutions started for name (lower case, final dot) and type. */
unsigned fake_icann_count(const char *name, uint16_t qtype);

/** @return resolutions started with no rule (answered as failures). */
unsigned fake_icann_unscripted(char *last, size_t cap);

/** @return resolutions waiting (delayed or NEVER). */
size_t fake_icann_pending(void);

/** Free every rule. */
void fake_icann_reset(void);

#endif
