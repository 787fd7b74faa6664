#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# pkdns e2e: pkdns on an emulated wide-area DHT (issue 15). Its in-process
# testnet of 50 nodes runs with --testnet-rtt 50 --testnet-loss 5
# --testnet-dead 30 and a fixed seed. From outside, a plain UDP client
# sees what any DHT client would: 15 nodes never answer a ping, the
# others answer after delays around the median. Keys published there with
# pkdns-cli (which tries a put again when its first queries are all lost)
# still resolve through pkdns with dig. The answers are asserted, never
# the time they took.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
. "$E2E_DIR/pkarr_lib.sh"
require_pkarr

N=50
nsd_start
TESTNET_PORT=$(pick_testnet_port $N)
[ -n "$TESTNET_PORT" ] || bail_out "no $N free UDP ports for the testnet"
pkarr_start --testnet $N --testnet-rtt 50 --testnet-loss 5 --testnet-dead 30 --testnet-seed 15
like "$(cat "$PKDNS_LOG")" 'testnet: rtt 50 ms \(median\), loss 5 %, dead 30 %, seed 15' \
	"the emulation is on, with its seed in the log"

# Ping every node (3 tries each, 3 s in all): 15 dead ones are silent,
# the 35 live ones answer (a try is lost with 1 - 0.95^2 ~ 10 %). pkdns's
# own DHT node, which has no emulated delay, is pinged alongside: its
# median is what this machine's load adds to every ping.
OWN=$(sed -n 's/.*DHT node on UDP port \([0-9]*\) (IPv4).*/\1/p' "$PKDNS_LOG" | head -n 1)
PINGS=$(timeout -k 1 20 "$PYTHON" - "$TESTNET_PORT" "$N" "${OWN:-0}" <<'EOF'
import os, select, socket, statistics, sys, time
base, n, own = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
me = os.urandom(20)
rtt, own_rtt = {}, []
def ping(t, port):
    s.sendto(b"d1:ad2:id20:" + me + b"e1:q4:ping1:t2:" + t + b"1:y1:qe", ("127.0.0.1", port))
for attempt in range(3):
    sent = {}
    for i in range(n):
        if own and i % 5 == 0:  # the baseline, amid the others
            ping(b"o%c" % i, own)
            sent[("own", i)] = time.monotonic()
        if i in rtt:
            continue
        ping(b"%c%c" % (attempt, i), base + i)
        sent[i] = time.monotonic()
    end = time.monotonic() + 1.0
    while time.monotonic() < end:
        r, _, _ = select.select([s], [], [], max(0.0, end - time.monotonic()))
        if not r:
            continue
        buf, (_, port) = s.recvfrom(2048)
        if port == own:
            j = buf.find(b"1:t2:o")
            k = ("own", buf[j + 6]) if j >= 0 and len(buf) > j + 6 else None
            if k in sent and b"1:y1:r" in buf:
                own_rtt.append((time.monotonic() - sent.pop(k)) * 1000)
            continue
        i = port - base
        if i in sent and i not in rtt and b"1:y1:r" in buf:
            rtt[i] = (time.monotonic() - sent[i]) * 1000
print("answered=%d median=%d baseline=%d (of %d)" % (
    len(rtt), statistics.median(rtt.values()) if rtt else 0,
    statistics.median(own_rtt) if own_rtt else 0, len(own_rtt)))
EOF
)
diag "pings: $PINGS"
ANS=$(printf '%s\n' "$PINGS" | sed -n 's/.*answered=\([0-9]*\).*/\1/p')
MED=$(printf '%s\n' "$PINGS" | sed -n 's/.*median=\([0-9]*\).*/\1/p')
BASE=$(printf '%s\n' "$PINGS" | sed -n 's/.*baseline=\([0-9]*\).*/\1/p')
ok "15 dead nodes never answer a ping, the live ones do ($ANS of $N answered)" \
	test "${ANS:-0}" -ge 31 -a "${ANS:-99}" -le 35
# at least 20 ms (load only adds to it), and at most 120 ms more than the
# unemulated node took at the same time (35-44 ms seen in all, idle)
ok "the nodes answer after delays around 50 ms (median $MED ms, an unemulated node ${BASE:-?} ms)" \
	test "${MED:-0}" -ge 20 -a "${MED:-0}" -le $((120 + ${BASE:-0}))

# Publish 8 keys at once with pkdns-cli. With 5 % loss at each node end a
# put's first query, to the bootstrap node alone, is lost ~10 % of the
# time: pkdns-cli must try again rather than fail.
NK=8
Z=$TMPD/zones
mkdir -p "$Z"
for k in $(seq 1 $NK); do
	KEY[$k]=$(new_key "k$k")
	[ ${#KEY[$k]} -eq 52 ] || bail_out "pkdns-cli generate gave no key"
	printf '%s\n' '$TTL 300' "@ IN A 192.0.2.$((40 + k))" >"$Z/k$k.zone"
done
PIDS=
for k in $(seq 1 $NK); do
	(publish "k$k" "$Z/k$k.zone"; printf '%s\n' "$POUT" >"$Z/k$k.out"; echo "$RC" >"$Z/k$k.rc") &
	PIDS="$PIDS $!"
done
# only these: a bare wait would wait for nsd and pkdns too
# shellcheck disable=SC2086
wait $PIDS
PUB=0
for k in $(seq 1 $NK); do
	if [ "$(cat "$Z/k$k.rc" 2>/dev/null)" = 0 ]; then PUB=$((PUB + 1)); else
		diag "key $k: $(tail -n 3 "$Z/k$k.out" 2>/dev/null)"
	fi
done
is "$PUB" "$NK" "all $NK keys published to the emulated network (pkdns-cli exit 0)"
diag "puts tried again: $(cat "$Z"/k*.out | grep -c 'nothing stored')"

# Cold look-ups through pkdns; a look-up ends within 12 s, found or not.
QTIME=15
for k in $(seq 1 $NK); do
	q "${KEY[$k]}" A
	is "$(status) $(rdata A)" "NOERROR 192.0.2.$((40 + k))" "key $k resolves on the emulated network"
done

pkdns_stop

# The same, made certain: a one-node DHT that ignores the first get of
# the put; pkdns-cli must put again and succeed.
slow_node_start 0 --drop-first-get
K9=$(new_key k9)
[ ${#K9} -eq 52 ] || bail_out "pkdns-cli generate gave no key"
CLI_NET="--bootstrap 127.0.0.1:$SLOW_PORT"
publish k9 "$Z/k1.zone"
is "$RC" 0 "publish when the first get of the put is lost: exit 0 ($(printf '%s' "$POUT" | tail -n 1))"
like "$POUT" 'nothing stored' "pkdns-cli said it tried again"
like "$(cat "$TMPD/slow.log")" 'put 127\.0\.0\.1' "the second put reached the node"

done_testing
