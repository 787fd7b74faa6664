#!/bin/sh
# pkdns e2e: pkdns on an emulated wide-area DHT (issue 15). Its in-process
# testnet of 50 nodes runs with --testnet-rtt 50 --testnet-loss 5
# --testnet-dead 30 and a fixed seed. From outside, a plain UDP client
# sees what any DHT client would: 15 nodes never answer a ping, the
# others answer after delays around the median. Keys published there with
# pkdns-cli still resolve through pkdns with dig. The answers are
# asserted, never the time they took.
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
# the 35 live ones answer (a try is lost with 1 - 0.95^2 ~ 10 %).
PINGS=$(timeout -k 1 20 "$PYTHON" - "$TESTNET_PORT" "$N" <<'EOF'
import os, select, socket, statistics, sys, time
base, n = int(sys.argv[1]), int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
me = os.urandom(20)
rtt = {}
for attempt in range(3):
    sent = {}
    for i in range(n):
        if i in rtt:
            continue
        t = b"%c%c" % (attempt, i)
        s.sendto(b"d1:ad2:id20:" + me + b"e1:q4:ping1:t2:" + t + b"1:y1:qe",
                 ("127.0.0.1", base + i))
        sent[i] = time.monotonic()
    end = time.monotonic() + 1.0
    while time.monotonic() < end:
        r, _, _ = select.select([s], [], [], max(0.0, end - time.monotonic()))
        if not r:
            continue
        buf, (_, port) = s.recvfrom(2048)
        i = port - base
        if i in sent and i not in rtt and b"1:y1:r" in buf:
            rtt[i] = (time.monotonic() - sent[i]) * 1000
print("answered=%d median=%d" % (len(rtt), statistics.median(rtt.values()) if rtt else 0))
EOF
)
diag "pings: $PINGS"
ANS=$(printf '%s\n' "$PINGS" | sed -n 's/.*answered=\([0-9]*\).*/\1/p')
MED=$(printf '%s\n' "$PINGS" | sed -n 's/.*median=\([0-9]*\).*/\1/p')
ok "15 dead nodes never answer a ping, the live ones do ($ANS of $N answered)" \
	test "${ANS:-0}" -ge 31 -a "${ANS:-99}" -le 35
ok "the nodes answer after delays around 50 ms (median $MED ms)" \
	test "${MED:-0}" -ge 20 -a "${MED:-0}" -le 120

Z=$TMPD/zones
mkdir -p "$Z"
for k in 1 2 3; do
	KEY[$k]=$(new_key "k$k")
	[ ${#KEY[$k]} -eq 52 ] || bail_out "pkdns-cli generate gave no key"
	printf '%s\n' '$TTL 300' "@ IN A 192.0.2.$((40 + k))" >"$Z/k$k.zone"
	publish "k$k" "$Z/k$k.zone"
	is "$RC" 0 "publish key $k to the emulated network: exit 0"
done

# Cold look-ups through pkdns; a look-up ends within 12 s, found or not.
QTIME=15
for k in 1 2 3; do
	q "${KEY[$k]}" A
	is "$(status) $(rdata A)" "NOERROR 192.0.2.$((40 + k))" "key $k resolves on the emulated network"
done

pkdns_stop
done_testing
