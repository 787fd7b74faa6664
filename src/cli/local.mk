# SPDX-License-Identifier: BSD-3-Clause
# src/cli: pkdns-cli, the command-line tool (keys, publish, resolve, dht).
bin_PROGRAMS += src/pkdns-cli
src_pkdns_cli_SOURCES = src/cli/pkdns-cli.c src/cli/cli_pkarr.c \
	src/cli/cli_dht.c src/cli/cli_session.c src/cli/cli_relay.c src/cli/cli.h
src_pkdns_cli_LDADD = libpkdns.a $(DEPS_LIBS)
dist_man_MANS += man/pkdns-cli.1

# End-to-end: keys, bad input, and publish/resolve/dht against the
# daemon's loopback testnet.
TESTS += tests/e2e/test_cli.sh
EXTRA_DIST += tests/e2e/test_cli.sh
