# SPDX-License-Identifier: BSD-3-Clause
# src/pkarr: z-base32 keys, SignedPacket parse/verify/sign, answering from
# a packet, zone text, the packet cache (bytes in, bytes out: no sockets);
# the relay client and the resolver (key -> packet over the DHT and relays,
# on a libevent base).
libpkdns_a_SOURCES += \
	src/pkarr/zbase32.c src/pkarr/zbase32.h \
	src/pkarr/packet.c src/pkarr/packet.h \
	src/pkarr/answer.c src/pkarr/answer.h \
	src/pkarr/zone.c src/pkarr/zone.h \
	src/pkarr/cache.c src/pkarr/cache.h \
	src/pkarr/lmdbcheck.c src/pkarr/lmdbcheck.h \
	src/pkarr/relay.c src/pkarr/relay.h \
	src/pkarr/relay_client.c src/pkarr/relay_client.h \
	src/pkarr/resolver.c src/pkarr/resolver.h

check_PROGRAMS += tests/unit/test_pkarr_zbase32 tests/unit/test_pkarr_packet \
	tests/unit/test_pkarr_answer tests/unit/test_pkarr_zone \
	tests/unit/test_pkarr_cache tests/unit/test_pkarr_relay \
	tests/unit/test_pkarr_resolver tests/unit/test_pkarr_view
tests_unit_test_pkarr_zbase32_SOURCES = tests/unit/test_pkarr_zbase32.c
tests_unit_test_pkarr_zbase32_LDADD = libpkdns.a $(DEPS_LIBS)
tests_unit_test_pkarr_packet_SOURCES = tests/unit/test_pkarr_packet.c
tests_unit_test_pkarr_packet_LDADD = libpkdns.a $(DEPS_LIBS)
tests_unit_test_pkarr_answer_SOURCES = tests/unit/test_pkarr_answer.c
tests_unit_test_pkarr_answer_LDADD = libpkdns.a $(DEPS_LIBS)
tests_unit_test_pkarr_zone_SOURCES = tests/unit/test_pkarr_zone.c
tests_unit_test_pkarr_zone_LDADD = libpkdns.a $(DEPS_LIBS)
tests_unit_test_pkarr_cache_SOURCES = tests/unit/test_pkarr_cache.c
tests_unit_test_pkarr_cache_LDADD = libpkdns.a $(DEPS_LIBS)
tests_unit_test_pkarr_relay_SOURCES = tests/unit/test_pkarr_relay.c
tests_unit_test_pkarr_relay_LDADD = libpkdns.a $(DEPS_LIBS)
tests_unit_test_pkarr_resolver_SOURCES = tests/unit/test_pkarr_resolver.c
tests_unit_test_pkarr_resolver_LDADD = libpkdns.a $(DEPS_LIBS)
TESTS += tests/unit/test_pkarr_zbase32 tests/unit/test_pkarr_packet \
	tests/unit/test_pkarr_answer tests/unit/test_pkarr_zone \
	tests/unit/test_pkarr_cache tests/unit/test_pkarr_relay \
	tests/unit/test_pkarr_resolver tests/unit/test_pkarr_view
tests_unit_test_pkarr_view_SOURCES = tests/unit/test_pkarr_view.c
tests_unit_test_pkarr_view_LDADD = libpkdns.a $(DEPS_LIBS)
EXTRA_DIST += tests/data/pkarr_signed_packets.jsonl tests/data/lmdb_freelist_txn0.mdb
