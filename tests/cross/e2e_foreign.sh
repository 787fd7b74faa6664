#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# e2e_foreign.sh: one end-to-end case for a cross-built pkdns run under
# qemu-user (tests/cross/run-arch.sh runs it; TAP on stdout).
#
#   PKDNS      the foreign daemon: a wrapper that execs qemu-ARCH -L SYSROOT
#   PKDNS_CLI  a native pkdns-cli (so the packet is signed and encoded on
#              the host and verified and answered on the foreign CPU)
#   CROSS_ARCH name of the architecture, for the test descriptions
#
# The daemon runs its in-process DHT testnet (--testnet 20) and forwards
# ICANN names to nsd on loopback; pkdns-cli publishes a zone to that
# testnet; dig must get the published A, AAAA and TXT records, and an
# ICANN name through libunbound. Loopback only, bounded waits.
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
export top_srcdir
. "$top_srcdir/tests/e2e/lib.sh"
. "$top_srcdir/tests/e2e/pkarr_lib.sh"
arch=${CROSS_ARCH:-foreign}

[ -x "$PKDNS" ] || skip_all "no foreign pkdns at $PKDNS"
[ -x "$CLI" ] || skip_all "no pkdns-cli at $CLI"
command -v dig >/dev/null || skip_all "dig not installed"
[ -x "$NSD" ] || skip_all "nsd not installed"

nsd_start
TESTNET_PORT=$(pick_testnet_port)
[ -n "$TESTNET_PORT" ] || bail_out "no 20 free UDP ports for the testnet"
# Under emulation the start (libunbound, 20 DHT nodes) is slower: wait on
# a TCP connect rather than on an answer, and for longer. Every wait here
# is a bound, not an expectation (each ends at the answer): qemu on a
# loaded machine runs the daemon many times slower than natively.
PKDNS_START_WAIT=120
PUBLISH_TIMEOUT=30
PROBE_NAME=none pkdns_start -f 127.0.0.1:"$NSD_PORT" --dnssec no --dht-mode adaptive \
	--testnet 20 --testnet-port "$TESTNET_PORT" --dht-port 0 --ratelimit 0 --tld key -v

K=$(new_key a)
is "${#K}" 52 "$arch: pkdns-cli generate gives a 52-character key"
Z=$TMPD/a.zone
# shellcheck disable=SC2016
printf '$TTL 300\n@ IN A 192.0.2.10\nwww IN A 192.0.2.11\nwww IN AAAA 2001:db8::11\n@ IN TXT "big-endian and 32-bit" "second string"\n' >"$Z"
publish a "$Z"
is "$RC" 0 "$arch: native pkdns-cli publishes to the foreign daemon's testnet"
[ "$RC" = 0 ] || diag "$POUT"

# The first query does the DHT look-up on the foreign CPU (signature check
# of a packet signed on the host); allow for emulation.
q +time=25 +tries=1 "$K" A
is "$(status) $(rdata A)" "NOERROR 192.0.2.10" "$arch: apex A from the DHT"
q +time=15 +tries=1 "www.$K" A
is "$(status) $(rdata A)" "NOERROR 192.0.2.11" "$arch: www A"
q +time=15 +tries=1 "www.$K" AAAA
is "$(status) $(rdata AAAA)" "NOERROR 2001:db8::11" "$arch: www AAAA"
q +time=15 +tries=1 "$K" TXT
is "$(status) $(rdata TXT)" 'NOERROR "big-endian and 32-bit" "second string"' "$arch: TXT strings"
q +time=15 +tries=1 "www.$K.key" A
is "$(status) $(rdata A)" "NOERROR 192.0.2.11" "$arch: www.KEY.key A (the name dnsmasq forwards)"
q +time=25 +tries=1 www.e2e.example A
is "$(status) $(rdata A | tr '\n' ' ')" "NOERROR 192.0.2.1 192.0.2.2 " "$arch: ICANN name through libunbound and nsd"

pkdns_stop
done_testing
