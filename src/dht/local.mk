# SPDX-License-Identifier: BSD-3-Clause
# src/dht: the Mainline DHT node (BEP 5, 32, 42, 43, 44). Public headers:
# dht.h (sans-I/O node) and dht_event.h (libevent glue, testnet).
libpkdns_a_SOURCES += \
	src/dht/bencode.c src/dht/bencode.h \
	src/dht/krpc.c src/dht/krpc.h \
	src/dht/dht_util.c src/dht/dht_util.h \
	src/dht/routing.c src/dht/routing.h \
	src/dht/dht_store.c src/dht/dht_store.h \
	src/dht/dht.c src/dht/dht.h src/dht/dht_internal.h \
	src/dht/dht_lookup.c src/dht/dht_server.c \
	src/dht/dht_event.c src/dht/dht_event.h

check_PROGRAMS += tests/unit/test_bencode tests/unit/test_dht_krpc \
	tests/unit/test_dht_routing tests/unit/test_dht_bep44 tests/unit/test_dht_net \
	tests/unit/test_dht_lookup tests/unit/test_dht_testnet
tests_unit_test_bencode_SOURCES = tests/unit/test_bencode.c
tests_unit_test_bencode_LDADD = libpkdns.a $(DEPS_LIBS)
tests_unit_test_dht_krpc_SOURCES = tests/unit/test_dht_krpc.c
tests_unit_test_dht_krpc_LDADD = libpkdns.a $(DEPS_LIBS)
tests_unit_test_dht_routing_SOURCES = tests/unit/test_dht_routing.c
tests_unit_test_dht_routing_LDADD = libpkdns.a $(DEPS_LIBS)
tests_unit_test_dht_bep44_SOURCES = tests/unit/test_dht_bep44.c
tests_unit_test_dht_bep44_LDADD = libpkdns.a $(DEPS_LIBS)
tests_unit_test_dht_net_SOURCES = tests/unit/test_dht_net.c
tests_unit_test_dht_net_LDADD = libpkdns.a $(DEPS_LIBS)
tests_unit_test_dht_lookup_SOURCES = tests/unit/test_dht_lookup.c
tests_unit_test_dht_lookup_LDADD = libpkdns.a $(DEPS_LIBS)
tests_unit_test_dht_testnet_SOURCES = tests/unit/test_dht_testnet.c
tests_unit_test_dht_testnet_LDADD = libpkdns.a $(DEPS_LIBS)
TESTS += tests/unit/test_bencode tests/unit/test_dht_krpc \
	tests/unit/test_dht_routing tests/unit/test_dht_bep44 tests/unit/test_dht_net \
	tests/unit/test_dht_lookup tests/unit/test_dht_testnet
EXTRA_DIST += tests/data/krpc_capture.jsonl
