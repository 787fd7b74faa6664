# SPDX-License-Identifier: BSD-3-Clause
# unit tests of the foundation modules (src/dns, src/util); the libFuzzer
# target is built by hand (see its header comment), so it is only shipped.
check_PROGRAMS += tests/unit/test_dns_msg
tests_unit_test_dns_msg_SOURCES = tests/unit/test_dns_msg.c
tests_unit_test_dns_msg_LDADD = libpkdns.a $(DEPS_LIBS)
TESTS += tests/unit/test_dns_msg

check_PROGRAMS += tests/unit/test_conf
tests_unit_test_conf_SOURCES = tests/unit/test_conf.c
tests_unit_test_conf_LDADD = libpkdns.a $(DEPS_LIBS)
TESTS += tests/unit/test_conf

check_PROGRAMS += tests/unit/test_netaddr
tests_unit_test_netaddr_SOURCES = tests/unit/test_netaddr.c
tests_unit_test_netaddr_LDADD = libpkdns.a $(DEPS_LIBS)
TESTS += tests/unit/test_netaddr

check_PROGRAMS += tests/unit/test_ratelimit
tests_unit_test_ratelimit_SOURCES = tests/unit/test_ratelimit.c
tests_unit_test_ratelimit_LDADD = libpkdns.a $(DEPS_LIBS)
# counts the module's allocations (portable, unlike glibc's mallinfo2)
tests_unit_test_ratelimit_LDFLAGS = -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc
TESTS += tests/unit/test_ratelimit

check_PROGRAMS += tests/unit/test_connlimit
tests_unit_test_connlimit_SOURCES = tests/unit/test_connlimit.c
tests_unit_test_connlimit_LDADD = libpkdns.a $(DEPS_LIBS)
TESTS += tests/unit/test_connlimit

check_PROGRAMS += tests/unit/test_acl
tests_unit_test_acl_SOURCES = tests/unit/test_acl.c
tests_unit_test_acl_LDADD = libpkdns.a $(DEPS_LIBS)
TESTS += tests/unit/test_acl

check_PROGRAMS += tests/unit/test_dns_server
tests_unit_test_dns_server_SOURCES = tests/unit/test_dns_server.c
tests_unit_test_dns_server_LDADD = libpkdns.a $(DEPS_LIBS)
TESTS += tests/unit/test_dns_server

check_PROGRAMS += tests/unit/test_dns_reentry
tests_unit_test_dns_reentry_SOURCES = tests/unit/test_dns_reentry.c
tests_unit_test_dns_reentry_LDADD = libpkdns.a $(DEPS_LIBS)
TESTS += tests/unit/test_dns_reentry

EXTRA_DIST += tests/fuzz/fuzz_dns_query.c

# Helpers the unit tests (and the fuzz targets) share: hex, JSON lines.
EXTRA_DIST += tests/unit/testutil.h
# and the pkarr unit tests: signed packets from zone text.
EXTRA_DIST += tests/unit/pkarr_testutil.h

check_PROGRAMS += tests/unit/test_dns_ede tests/unit/test_querylog tests/unit/test_rebind
tests_unit_test_dns_ede_SOURCES = tests/unit/test_dns_ede.c
tests_unit_test_dns_ede_LDADD = libpkdns.a $(DEPS_LIBS)
tests_unit_test_querylog_SOURCES = tests/unit/test_querylog.c
tests_unit_test_querylog_LDADD = libpkdns.a $(DEPS_LIBS)
tests_unit_test_rebind_SOURCES = tests/unit/test_rebind.c
tests_unit_test_rebind_LDADD = libpkdns.a $(DEPS_LIBS)
TESTS += tests/unit/test_dns_ede tests/unit/test_querylog tests/unit/test_rebind
check_PROGRAMS += tests/unit/test_http_parse
tests_unit_test_http_parse_SOURCES = tests/unit/test_http_parse.c
tests_unit_test_http_parse_LDADD = libpkdns.a $(DEPS_LIBS)
TESTS += tests/unit/test_http_parse
# issue 14: control parser, pidfile lock, notify protocol, zone flush
check_PROGRAMS += tests/unit/test_ops
tests_unit_test_ops_SOURCES = tests/unit/test_ops.c
tests_unit_test_ops_LDADD = libpkdns.a $(DEPS_LIBS)
TESTS += tests/unit/test_ops
