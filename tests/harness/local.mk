# SPDX-License-Identifier: BSD-3-Clause
# tests/harness: the deterministic daemon test harness (README.md there).
# pkdns-harness compiles the daemon's own files (src_pkdns_SOURCES, so
# files other branches add there come along; daemon_main.h renames
# main.c's main) with a scripted ICANN resolver in place of
# src/icann/icann.c (fake_icann.c defines every icann.h function, so the
# archive's icann.o is never pulled in) and a virtual clock (vclock.c
# interposes clock_gettime, gettimeofday, time and epoll_wait; -rdynamic
# exports them to libevent). Each scenario file is a test of its own:
# the harness is its log compiler.
check_PROGRAMS += tests/harness/pkdns-harness
tests_harness_pkdns_harness_SOURCES = tests/harness/harness.c tests/harness/harness.h \
	tests/harness/vclock.c tests/harness/fake_icann.c tests/harness/scenario.c \
	tests/harness/scenario.h tests/harness/daemon_main.h $(src_pkdns_SOURCES)
tests_harness_pkdns_harness_CPPFLAGS = $(AM_CPPFLAGS) \
	-include $(top_srcdir)/tests/harness/daemon_main.h
tests_harness_pkdns_harness_LDADD = $(src_pkdns_LDADD) -ldl
tests_harness_pkdns_harness_LDFLAGS = -rdynamic

# the scenario parser on its own: malformed lines are file:line errors
check_PROGRAMS += tests/harness/test_scenario
tests_harness_test_scenario_SOURCES = tests/harness/test_scenario.c \
	tests/harness/scenario.c tests/harness/scenario.h tests/harness/harness.h
tests_harness_test_scenario_LDADD = libpkdns.a $(DEPS_LIBS)
TESTS += tests/harness/test_scenario

HARNESS_SCENARIOS = \
	tests/harness/scenarios/icann_coalesce.scn \
	tests/harness/scenarios/icann_deadline.scn \
	tests/harness/scenarios/icann_dnssec.scn \
	tests/harness/scenarios/icann_negative.scn \
	tests/harness/scenarios/icann_serve_stale.scn \
	tests/harness/scenarios/icann_sighup.scn \
	tests/harness/scenarios/icann_ttl_countdown.scn \
	tests/harness/scenarios/pkarr_cname_dnssec.scn \
	tests/harness/scenarios/pkarr_coalesce.scn \
	tests/harness/scenarios/pkarr_deadline.scn \
	tests/harness/scenarios/pkarr_dht_silent.scn \
	tests/harness/scenarios/pkarr_negative.scn \
	tests/harness/scenarios/pkarr_republish.scn \
	tests/harness/scenarios/pkarr_sighup_max_ttl.scn \
	tests/harness/scenarios/pkarr_ttl_clamp.scn
TESTS += $(HARNESS_SCENARIOS)
TEST_EXTENSIONS += .scn
SCN_LOG_DRIVER = $(LOG_DRIVER)
SCN_LOG_COMPILER = $(top_builddir)/tests/harness/pkdns-harness
EXTRA_DIST += tests/harness/README.md tests/harness/mutations.py $(HARNESS_SCENARIOS)
