#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# pkdns e2e: a relay that accepts connections and never answers costs
# pkdns at most RELAY_CLIENT_MAX_INFLIGHT (32) open requests however many
# keys are asked at once, and each client still gets its answer (SERVFAIL
# at the deadline) while pkdns keeps answering other names.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
. "$E2E_DIR/pkarr_lib.sh"
. "$E2E_DIR/relay_lib.sh"
require_pkarr

nsd_start
SP=$(pick_port)
"$PYTHON" - "$SP" "$TMPD/silent.count" >"$TMPD/silent.log" 2>&1 <<'PY' &
import socket, sys, time
port, out = int(sys.argv[1]), sys.argv[2]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(256)
s.settimeout(1)
open(out, "w").write("0\n")  # ready: listening
held, deadline = [], time.time() + 60
while time.time() < deadline:
    try:
        c, _ = s.accept()
    except socket.timeout:
        continue
    held.append(c)  # read nothing, answer nothing
    with open(out, "w") as f:
        f.write("%d\n" % len(held))
PY
keep_pid $!
# until it listens (a loaded machine starts python slowly)
for _ in $(seq 1 100); do [ -s "$TMPD/silent.count" ] && break; sleep 0.1; done
[ -s "$TMPD/silent.count" ] || bail_out "the silent relay did not start: $(tail -n 3 "$TMPD/silent.log")"
dead_port
pkdns_start -f 127.0.0.1:"$NSD_PORT" --dnssec no --dht-mode client \
	--bootstrap 127.0.0.1:"$DEAD" --relay "http://127.0.0.1:$SP" --dht-ratelimit 0
keep_pid "$PKDNS_PID"

# 60 different keys at once, from 60 source addresses
r=$(timeout -k 1 40 "$PYTHON" - "$PKDNS_PORT" <<'PY'
import os, random, select, socket, struct, sys, time
A = "ybndrfg8ejkmcpqxot1uwisza345h769"
def z32(b):
    bits = int.from_bytes(b, "big") << 4   # 256 bits + 4 pad bits
    return "".join(A[(bits >> (5 * (51 - i))) & 31] for i in range(52))
port, socks = int(sys.argv[1]), []
for i in range(60):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.%d" % (10 + i), 0))
    q = struct.pack("!HHHHHH", i, 0x0100, 1, 0, 0, 0)
    q += bytes([52]) + z32(os.urandom(32)).encode() + b"\0" + struct.pack("!HH", 1, 1)
    s.sendto(q, ("127.0.0.1", port))
    socks.append(s)
# SERVFAIL comes at the 4 s deadline; 20 s is a bound, not an expectation
got, deadline = {}, time.time() + 20
while len(got) < 60 and time.time() < deadline:
    r, _, _ = select.select([s for s in socks if s not in got], [], [], 1)
    for s in r:
        got[s] = s.recv(4096)[3] & 15
print("replies=%d servfail=%d" % (len(got), sum(1 for c in got.values() if c == 2)))
PY
)
is "$r" "replies=60 servfail=60" "60 cold keys, a silent relay, no DHT: every client answered SERVFAIL"
n=$(cat "$TMPD/silent.count" 2>/dev/null || echo 0)
cmp_ok "$n" -le 32 "the silent relay got at most 32 connections ($n)"
cmp_ok "$n" -ge 1 "  ... and was asked ($n)"
q ready.e2e.example A
is "$(status)" NOERROR "pkdns still answers other names"
pkdns_stop
done_testing
