#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
# pkdns e2e: the control channel (pkdns-control) against a running pkdns
# with its DHT testnet: status, stats and stats_noreset, verbosity,
# reload (a broken config is refused and reported, the old one kept),
# flush, flush_zone, flush_key, lookup, republish, dht_nodes; bad
# commands; clients that stall or send too much are cut off while DNS
# goes on; the socket's mode.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
. "$E2E_DIR/pkarr_lib.sh"
require_pkarr
CTL=${PKDNS_CONTROL:-$top_builddir/src/pkdns-control}
[ -x "$CTL" ] || skip_all "pkdns-control not built at $CTL"

SOCK=$TMPD/ctl.sock
CONF=$TMPD/pkdns.conf
echo "verbose: 2" >"$CONF"
nsd_start
pkarr_start -c "$CONF" --control-socket "$SOCK"
ctl() { COUT=$(timeout -k 1 40 "$CTL" -s "$SOCK" "$@" 2>&1); CRC=$?; }
stat_of() { ctl stats_noreset; printf '%s\n' "$COUT" | sed -n "s/^$1=//p"; }

# --- the socket ---
ok "the control socket exists" test -S "$SOCK"
is "$(stat -c %a "$SOCK")" 660 "  ... with mode 0660"

# --- status ---
ctl status
is "$CRC" 0 "status: exit 0"
like "$COUT" "version: [0-9]" "  ... names the version"
like "$COUT" "uptime: [0-9]+ seconds" "  ... the uptime"
like "$COUT" "dht mode: adaptive" "  ... the DHT mode"
like "$COUT" "dht nodes ipv4: [0-9]+" "  ... the nodes per family"
like "$COUT" "dht reachable: (yes|no)" "  ... whether it is reachable"
like "$COUT" "dht external address: " "  ... the external address"
like "$COUT" "dht bootstrap: " "  ... the bootstrap state"

# --- stats ---
q www.e2e.example A
is "$(status)" NOERROR "an ICANN name resolves"
q www.e2e.example A
ctl stats_noreset
is "$CRC" 0 "stats_noreset: exit 0"
unlike "$(printf '%s\n' "$COUT" | grep -v '^[a-zA-Z0-9_.]*=[0-9]*$')" . \
	"  ... every line is name=value"
cmp_ok "$(printf '%s\n' "$COUT" | sed -n 's/^num.queries=//p')" -ge 2 "  ... num.queries counts the queries"
cmp_ok "$(printf '%s\n' "$COUT" | sed -n 's/^num.path.cache=//p')" -ge 1 "  ... and the cache answer"
ctl stats
is "$CRC" 0 "stats: exit 0"
cmp_ok "$(printf '%s\n' "$COUT" | sed -n 's/^num.queries=//p')" -ge 2 "  ... shows the counts"
is "$(stat_of num.queries)" 0 "  ... and resets them (stats_noreset after it: 0)"

# --- verbosity ---
ctl verbosity 3
is "$CRC:$COUT" "0:ok" "verbosity 3: ok"
ctl status
like "$COUT" "verbosity: 3" "  ... status shows it"
ctl verbosity 9
isnt "$CRC" 0 "verbosity 9: refused"

# --- bad commands ---
ctl no_such_command
isnt "$CRC" 0 "an unknown command: non-zero exit"
is "$(printf '%s\n' "$COUT" | wc -l)" 1 "  ... with one error line"
ctl lookup not-a-key
isnt "$CRC" 0 "lookup of a non-key: non-zero exit"
# the daemon checks too (a client that skips the local check)
out=$("$PYTHON" - "$SOCK" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(sys.argv[1])
s.sendall(b"PKDNSCTL1 flush_zone\n"); print(s.recv(4096).decode().strip())
EOF
)
like "$out" "^error: wrong number of arguments" "the daemon answers a bad request with an error line"
out=$("$PYTHON" - "$SOCK" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(sys.argv[1])
s.sendall(b"status\n"); print(s.recv(4096).decode().strip())
EOF
)
like "$out" "^error: not a pkdns-control request" "  ... and a request without the protocol word"

# --- stalled and greedy clients: cut off, DNS goes on ---
out=$("$PYTHON" - "$SOCK" "$PKDNS_PORT" <<'EOF'
import socket, sys, time
path, port = sys.argv[1], int(sys.argv[2])
stalled = []
for i in range(8):
    s = socket.socket(socket.AF_UNIX); s.settimeout(20); s.connect(path); stalled.append(s)
time.sleep(0.3)
extra = socket.socket(socket.AF_UNIX); extra.settimeout(20); extra.connect(path)
print("ninth:", extra.recv(200).decode().strip())
# DNS is answered while eight clients hold the control channel
q = bytes.fromhex("abcd01000001000000000000") + b"\x03www\x03e2e\x07example\x00\x00\x01\x00\x01"
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(5)
u.sendto(q, ("127.0.0.1", port))
print("dns:", "answered" if u.recv(512)[:2] == b"\xab\xcd" else "no")
# the stalled ones are closed by the daemon (recv returns b"")
closed = 0
for s in stalled:
    try:
        if s.recv(100) == b"": closed += 1
    except socket.timeout:
        pass
print("closed:", closed)
g = socket.socket(socket.AF_UNIX); g.settimeout(20); g.connect(path)
try:
    g.sendall(b"PKDNSCTL1 " + b"x" * 4000)
    print("long:", g.recv(200).decode().strip())
except OSError as e:
    print("long: reset", e)
EOF
)
like "$out" "ninth: error: too many control clients" "a ninth client at once is turned away"
like "$out" "dns: answered" "DNS answers while eight control clients stall"
like "$out" "closed: 8" "stalled control clients are cut off"
like "$out" "long: (error: request too long|reset)" "a request line over the limit is refused"
ctl status
is "$CRC" 0 "the control channel serves again afterwards"

# --- flush, flush_zone ---
q www.e2e.example A
q mail.e2e.example A
entries=$(stat_of answer_cache.entries)
ctl flush www.e2e.example A
is "$CRC:$COUT" "0:ok" "flush NAME TYPE: ok"
is "$(stat_of answer_cache.entries)" "$((entries - 1))" "  ... one answer fewer in the cache"
ctl flush_zone e2e.example
like "$COUT" "^ok, removed [1-9][0-9]* answers" "flush_zone: removes what is under the zone"
q www.e2e.example A
before=$(stat_of num.path.cache)
q www.e2e.example A
is "$(stat_of num.path.cache)" "$((before + 1))" "  ... which is then cached again"

# --- the pkarr commands ---
KA=$(new_key a)
# shellcheck disable=SC2016
printf '%s\n' '$TTL 300' '@ IN A 192.0.2.77' 'www IN TXT "hello"' >"$TMPD/a.zone"
publish a "$TMPD/a.zone"
is "$RC" 0 "publish a key to the testnet"
q "$KA" A
is "$(rdata A)" 192.0.2.77 "the key resolves"
ctl lookup "$KA"
is "$CRC" 0 "lookup KEY: exit 0"
like "$COUT" "seq: [0-9]+" "  ... shows the seq"
like "$COUT" "age: [0-9]+ seconds" "  ... the age"
like "$COUT" "source: DHT" "  ... where it came from"
like "$COUT" "192\.0\.2\.77" "  ... and the records as zone text"
like "$COUT" "TXT" "  ... all of them"
ctl republish "$KA"
like "$CRC:$COUT" "^0:ok, republishing" "republish KEY: starts a put"
ctl dht_nodes
is "$CRC" 0 "dht_nodes: exit 0"
like "$COUT" "^[0-9a-f]{40} 127\.0\.0\.1:[0-9]+" "  ... lists the testnet's nodes (ID, address)"
q "$KA.key" A
entries=$(stat_of answer_cache.entries)
ctl flush_key "$KA"
like "$COUT" "^ok, removed the packet and [1-9][0-9]* answers" "flush_key: drops the packet and the answers"
ctl lookup "$KA"
isnt "$CRC" 0 "  ... lookup finds no packet afterwards"
cmp_ok "$(stat_of answer_cache.entries)" -lt "$entries" "  ... the answer cache has fewer entries"
KN=$(new_key nobody)
ctl lookup "$KN"
is "$CRC" 1 "lookup of an unknown key: exit 1"
like "$COUT" "^error: " "  ... with an error line"

# --- reload ---
printf '%s\n' "verbose: 2" "cache-size: lots" >"$CONF"
ctl reload
is "$CRC" 1 "reload of a broken config: exit 1"
like "$COUT" "old configuration is kept" "  ... the old configuration is kept"
like "$COUT" "cache-size" "  ... and the error is returned to the caller"
q www.e2e.example A
is "$(status)" NOERROR "  ... the daemon still answers"
q e2e.example ANY
isnt "$(status)" NOTIMP "ANY is answered before the reload"
printf '%s\n' "verbose: 2" "disable-any: yes" >"$CONF"
ctl reload
is "$CRC:$COUT" "0:ok" "reload of a good config: ok"
q e2e.example ANY
is "$(status)" NOTIMP "  ... and it took effect (disable-any)"

pkdns_stop
ok "the control socket is removed at exit" test ! -e "$SOCK"
ctl status
is "$CRC" 3 "no daemon: exit 3"
done_testing
