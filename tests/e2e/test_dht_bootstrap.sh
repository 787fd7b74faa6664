#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# pkdns e2e: started before the network, pkdns bootstraps by itself once
# the network is there (issue 10, item 1). At start its bootstrap name
# (dht.later.example) is not served by the upstream (nsd answers REFUSED)
# and no DHT node listens where its IP bootstrap points. pkdns says once
# that no node answers. Then "the network comes up": nsd serves the name
# and a DHT (a second pkdns hosting a 20-node testnet) runs there; a key
# published on it must resolve within 30 s (by pkdns's log), without a
# restart, and the log must say each state change once.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
. "$E2E_DIR/pkarr_lib.sh"
require_pkarr

HOLD_PID=
# The testnet's 20 ports are picked at the start and named in pkdns's
# bootstrap, but the network comes up seconds later: until then a holder
# keeps them bound, or a test running beside this one may take one.
hold_ports() {
	"$PYTHON" - "$TESTNET_PORT" "$TMPD/hold.release" <<'EOF' &
import os, socket, sys, time
base = int(sys.argv[1])
socks = []
for p in range(base, base + 20):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", p))
    socks.append(s)
for _ in range(1200):  # 60 s at most
    if os.path.exists(sys.argv[2]):
        break
    time.sleep(0.05)
EOF
	HOLD_PID=$!
}
release_ports() {
	[ -n "$HOLD_PID" ] || return 0
	: >"$TMPD/hold.release"
	wait "$HOLD_PID" 2>/dev/null
	HOLD_PID=
}
host_start() { # the DHT network, on the ports held until now
	release_ports
	testnet_host_start
}
_boot_cleanup() {
	local rc=$?
	release_ports
	(exit $rc)
	_pkarr_cleanup
}
trap _boot_cleanup EXIT

# the zone that is not served yet
printf '%s\n' '$ORIGIN later.example.' '$TTL 60' \
	'@ IN SOA ns1 hostmaster 1 3600 900 604800 5' '@ IN NS ns1' \
	'ns1 IN A 127.0.0.1' 'dht IN A 127.0.0.1' >"$TMPD/later.zone"

nsd_start
TESTNET_PORT=$(pick_testnet_port)
[ -n "$TESTNET_PORT" ] || bail_out "no 20 free UDP ports"
hold_ports
dead_port
[ -n "$DEAD" ] || bail_out "no free port"

pkdns_start -f 127.0.0.1:"$NSD_PORT" --dnssec no --dht-mode client --dht-port 0 \
	--bootstrap dht.later.example:"$TESTNET_PORT" --bootstrap 127.0.0.1:"$DEAD" -v \
	--log-queries yes

# offline: told once, within the start-up grace (15 s) and a little
for i in $(seq 1 80); do
	grep -q 'no DHT node answers (offline?)' "$PKDNS_LOG" && break
	sleep 0.5
done
like "$(cat "$PKDNS_LOG")" 'no DHT node answers \(offline\?\)' "offline at start: said so"
like "$(cat "$PKDNS_LOG")" 'bootstrap dht\.later\.example: cannot resolve it' \
	"offline at start: the bootstrap name did not resolve"
# the retries go on (1, 2, 4, 8 s ...); none of them adds a line
sleep 6

# the network comes up: a DHT on the bootstrap port, the name served
host_start
K=$(new_key later)
printf '%s\n' '$TTL 300' '@ IN A 192.0.2.77' >"$TMPD/k.zone"
CLI_NET="--bootstrap 127.0.0.1:$TESTNET_PORT"
publish later "$TMPD/k.zone"
is "$RC" 0 "publish the key to the DHT that just came up"
nsd_stop
nsd_start e2e.example="$E2E_DATA/e2e.example.zone" later.example="$TMPD/later.zone"
t0=$(date +%s%N)
qlog_mark

# asked every second, for 60 s at most (a bound)
got=
for i in $(seq 1 60); do
	q +time=2 +tries=1 "$K" A
	if [ "$(status) $(rdata A)" = "NOERROR 192.0.2.77" ]; then
		got=yes
		break
	fi
	[ $((($(date +%s%N) - t0) / 1000000)) -gt 60000 ] && break
	sleep 1
done
t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000))
is "$got" yes "the key resolves once the network is up, without a restart"
# Within 30 s: when pkdns answered it, by the stamp of its query-log line
# (the same clock as t0), not when this loop, slowed by a loaded machine,
# had read the answer. While offline pkdns retries at most every 16 s.
first=$(tail -n +$((QLOG_FROM + 1)) "$PKDNS_LOG" | grep -F 'pkdns[query] ' |
	grep -iF " $K. A " | grep -F ' NOERROR ' | head -n 1)
fms=$(log_ms "$first")
pms=missing
[ -n "$fms" ] && pms=$((fms - t0 / 1000000))
cmp_ok "$pms" -le 30000 "  ... within 30 s of the network coming up (${pms} ms by pkdns's log)"
diag "network usable to first answer: ${pms} ms by pkdns's log, ${ms} ms for this loop"
like "$(cat "$PKDNS_LOG")" 'bootstrap dht\.later\.example: 1 IPv4 addresses' \
	"the bootstrap name was resolved again"
for i in $(seq 1 60); do # a bound: "up" follows within 5 s of a node
	grep -q 'DHT up: ' "$PKDNS_LOG" && break
	sleep 0.5
done
is "$(grep -c 'no DHT node answers (offline?)' "$PKDNS_LOG")" 1 "'no DHT node answers' logged once"
is "$(grep -c 'DHT up: [0-9]* nodes' "$PKDNS_LOG")" 1 "'DHT up: N nodes' logged once"
is "$(grep -c 'cannot resolve it' "$PKDNS_LOG")" 1 "the failed name logged once, not once per retry"

pkdns_stop
testnet_host_stop
done_testing
