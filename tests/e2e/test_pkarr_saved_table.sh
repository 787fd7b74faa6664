#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# pkdns e2e: the routing table a pkdns saved in --cache-dir after joining
# a network on this host (a 20-node testnet hosted by another pkdns, as
# in bench/cold_internet.sh) is loaded in full at restart: one entry per
# loopback port, since the loopback bootstrap address says the network
# lives here, not one entry for all of 127.0.0.1 (issue 15). A key
# published since is then answered through it.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
. "$E2E_DIR/pkarr_lib.sh"
require_pkarr

# (pkarr_lib.sh's testnet_host_stop stops the host, also on exit)

# the network: a pkdns hosting a testnet (new ports when one was taken)
for _try in 1 2 3; do
	TESTNET_PORT=$(pick_testnet_port)
	[ -n "$TESTNET_PORT" ] || bail_out "no 20 free UDP ports"
	"$PKDNS" -d -l 127.0.0.1:"$(pick_port)" --dht-mode client --dht-port 0 --dnssec no \
		--testnet 20 --testnet-port "$TESTNET_PORT" -v >"$TMPD/host.log" 2>&1 &
	HOST_PID=$!
	for _i in $(seq 1 50); do
		grep -q 'testnet: 20 DHT nodes' "$TMPD/host.log" && break
		_alive "$HOST_PID" || break
		sleep 0.1
	done
	grep -q 'testnet: 20 DHT nodes' "$TMPD/host.log" && _alive "$HOST_PID" && break
	testnet_host_stop
done
[ -n "$HOST_PID" ] || bail_out "the testnet host did not start: $(tail -n 3 "$TMPD/host.log")"

nsd_start
CACHE=$TMPD/cache
cat >"$TMPD/z.zone" <<'Z'
$TTL 300
@     IN A    192.0.2.51
Z
K1=$(new_key one)
publish one "$TMPD/z.zone"
is "$RC" 0 "publish the first key: exit 0"

joiner() {
	pkdns_start -f 127.0.0.1:"$NSD_PORT" --dnssec no --dht-mode client --dht-port 0 \
		--bootstrap 127.0.0.1:"$TESTNET_PORT" --cache-dir "$CACHE" -v -v
}
joiner
unlike "$(cat "$PKDNS_LOG")" 'loaded [0-9]+ DHT nodes' "first start: no saved table"
q "$K1" A
is "$(status) $(rdata A)" "NOERROR 192.0.2.51" "first start: the key answered from the network"
pkdns_stop
ok "the routing table was saved" test -s "$CACHE/dht-nodes"

joiner
loaded=$(sed -n 's/.*loaded \([0-9][0-9]*\) DHT nodes.*/\1/p' "$PKDNS_LOG" | head -n 1)
cmp_ok "${loaded:-0}" -ge 8 "restart: the saved table loaded a node per loopback port ($loaded nodes)"
K2=$(new_key two)
publish two "$TMPD/z.zone"
is "$RC" 0 "publish a second key: exit 0"
q "$K2" A
is "$(status) $(rdata A)" "NOERROR 192.0.2.51" "restart: a new key answered through the saved table"
pkdns_stop
testnet_host_stop
done_testing
