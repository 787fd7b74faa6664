# SPDX-License-Identifier: BSD-3-Clause
# libFuzzer targets (built by hand, never by make: they need clang's
# -fsanitize=fuzzer, and each runs until stopped). How to build and run
# them, and how to seed their corpora: tests/fuzz/README.md. In short,
# from the top of the source tree, with an empty config.h in $D:
#   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
#     -I$D -Isrc tests/fuzz/fuzz_krpc.c src/dht/bencode.c src/dht/krpc.c \
#     src/dht/dht_util.c src/dht/routing.c src/dht/dht_store.c \
#     src/dht/dht.c src/dht/dht_lookup.c src/dht/dht_server.c \
#     src/util/log.c -lldns -lsodium -o $D/fuzz_krpc
#   $D/fuzz_krpc -max_len=1500 -max_total_time=180 $D/corpus
# fuzz_cache_store.c and fuzz_dns_query.c are distributed by the
# fragments of their modules.
EXTRA_DIST += tests/fuzz/README.md \
	tests/fuzz/fuzz_bencode.c \
	tests/fuzz/fuzz_krpc.c \
	tests/fuzz/fuzz_pkarr_packet.c \
	tests/fuzz/fuzz_pkarr_relay.c \
	tests/fuzz/fuzz_pkarr_answer.c \
	tests/fuzz/oracle_answer.c \
	tests/fuzz/oracle_answer.h \
	tests/fuzz/seed_pkarr_answer.c \
	tests/fuzz/fuzz_pkarr_zone.c \
	tests/fuzz/fuzz_tcp_framing.c \
	tests/fuzz/fuzz_http.c \
	tests/fuzz/fuzz_conf.c \
	tests/fuzz/fuzz_lmdb_check.c \
	tests/fuzz/fuzz_rebind.c \
	tests/fuzz/fuzz_ctl_parse.c
