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

check_PROGRAMS += tests/unit/test_acl
tests_unit_test_acl_SOURCES = tests/unit/test_acl.c
tests_unit_test_acl_LDADD = libpkdns.a $(DEPS_LIBS)
TESTS += tests/unit/test_acl

check_PROGRAMS += tests/unit/test_dns_server
tests_unit_test_dns_server_SOURCES = tests/unit/test_dns_server.c
tests_unit_test_dns_server_LDADD = libpkdns.a $(DEPS_LIBS)
TESTS += tests/unit/test_dns_server

EXTRA_DIST += tests/fuzz/fuzz_dns_query.c

# Helpers the unit tests (and the fuzz targets) share: hex, JSON lines.
EXTRA_DIST += tests/unit/testutil.h

# issue 14: control parser, pidfile lock, notify protocol, zone flush
check_PROGRAMS += tests/unit/test_ops
tests_unit_test_ops_SOURCES = tests/unit/test_ops.c
tests_unit_test_ops_LDADD = libpkdns.a $(DEPS_LIBS)
TESTS += tests/unit/test_ops
