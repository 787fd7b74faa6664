#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# pkdns e2e: republishing. A DHT network (a second pkdns that only hosts
# a 20-node testnet) holds a key's packet; our pkdns fetches it once. The
# network is then replaced by an empty one on the same ports: only our
# republishing can bring the packet back, and a fresh pkdns-cli must
# find it there. A configured key (--republish) that no client asked for
# is fetched and republished too; a key nobody asked for and nobody
# configured is not.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
. "$E2E_DIR/pkarr_lib.sh"
require_pkarr

nsd_start
TESTNET_PORT=$(pick_testnet_port)
[ -n "$TESTNET_PORT" ] || bail_out "no 20 free UDP ports"
testnet_host_start

KA=$(new_key asked)
KC=$(new_key configured)
KN=$(new_key nobody)
printf '%s\n' '$TTL 300' '@ IN A 192.0.2.51' >"$TMPD/a.zone"
printf '%s\n' '$TTL 300' '@ IN A 192.0.2.52' >"$TMPD/c.zone"
printf '%s\n' '$TTL 300' '@ IN A 192.0.2.53' >"$TMPD/n.zone"
CLI_NET="--bootstrap 127.0.0.1:$TESTNET_PORT"
for k in asked:a configured:c nobody:n; do
	publish "${k%%:*}" "$TMPD/${k##*:}.zone"
	is "$RC" 0 "publish ${k%%:*}: exit 0"
done

# our pkdns: a client of that network, republishing every 2 s
pkdns_start -f 127.0.0.1:"$NSD_PORT" --dnssec no --dht-mode client --dht-port 0 \
	--bootstrap dht.e2e.example:"$TESTNET_PORT" --republish "$KC" --republish-interval 2 -v -v
q "$KA" A
is "$(status) $(rdata A)" "NOERROR 192.0.2.51" "the asked key resolves through the DHT"
like "$(cat "$PKDNS_LOG")" 'bootstrap dht\.e2e\.example: 1 IPv4 addresses' \
	"the bootstrap node's name was resolved through pkdns's own ICANN path"

# wait (bounded) for a round that republishes both the asked and the
# configured key
wait_log 'republishing 2 packets' 10
like "$(cat "$PKDNS_LOG")" 'republishing 2 packets' "a round republishes the asked and the configured key"
like "$(cat "$PKDNS_LOG")" 'republished to [1-9][0-9]* nodes' "the puts are acknowledged by DHT nodes"

# replace the network by an empty one on the same ports
testnet_host_stop
testnet_host_start
out=$("$CLI" $CLI_NET --timeout 5 resolve "$KA" 2>&1)
rc=$?
for i in $(seq 1 30); do
	[ "$rc" = 0 ] && break
	sleep 0.5
	out=$("$CLI" $CLI_NET --timeout 5 resolve "$KA" 2>&1)
	rc=$?
done
is "$rc" 0 "the asked key is back on the new network, put there by republishing"
like "$out" '192\.0\.2\.51' "  ... with its records"
out=$("$CLI" $CLI_NET --timeout 5 resolve "$KC" 2>&1)
is "$?" 0 "the configured key is back too"
like "$out" '192\.0\.2\.52' "  ... with its records"
out=$("$CLI" $CLI_NET --timeout 5 resolve "$KN" 2>&1)
is "$?" 1 "a key nobody asked for or configured is not republished"

pkdns_stop
testnet_host_stop
done_testing
