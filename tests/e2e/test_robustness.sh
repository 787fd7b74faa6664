#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# pkdns e2e: hostile input. Malformed queries get FORMERR where a reply is
# possible (RFC 1035 4.1.1, RFC 6891 6.1.1), garbage without a parseable
# header gets nothing, and after thousands of garbage datagrams and hostile
# TCP clients the daemon still answers correctly.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
require_pkdns

nsd_start
pkdns_start -f 127.0.0.1:"$NSD_PORT" --dnssec no --tcp-idle-timeout 3

r=$(probe case good)
like "$r" '^rcode=0 .*id=ok qr=1 .*an=2 ' "well-formed raw query: NOERROR, 2 answers (the probe itself works)"

# rcode=1 is FORMERR; the ID must be echoed so the client can match it.
for c in qdcount2 qdcount0 truncq notype badlabel ptrloop opt2 optname optshort arcount_lie; do
	r=$(probe case $c)
	like "$r" '^rcode=1 .*id=ok qr=1 ' "malformed query ($c): FORMERR with the query's ID"
done

r=$(probe case qdcount2)
like "$r" ' an=0 ' "FORMERR carries no answer records"

r=$(probe tcpcase qdcount2)
like "$r" '^rcode=1 .*id=ok qr=1 ' "malformed query over TCP (qdcount2): FORMERR"
r=$(probe tcpcase truncq)
like "$r" '^rcode=1 .*id=ok qr=1 ' "malformed query over TCP (truncated question): FORMERR"

r=$(probe case ednsver1)
like "$r" '^rcode=0 ercode=16 id=ok qr=1 ' "EDNS version 1: BADVERS (RFC 6891 6.1.3)"

r=$(probe case opcode_update)
like "$r" '^rcode=4 .*id=ok qr=1 ' "opcode UPDATE: NOTIMP (RFC 1035 4.1.1)"

# A response must never be answered as if it were a query (loops between
# servers); silence or FORMERR are both acceptable, an answer is not.
r=$(probe case qr)
like "$r" '^(noreply|rcode=1 .*)$' "a datagram with QR=1 gets no answer (silence or FORMERR)"

r=$(probe --timeout 1 case short_header)
is "$r" noreply "a 6-byte datagram (no full header) gets no reply"

r=$(probe --timeout 1 tcpcase short_header)
is "$r" noreply "a 6-byte message over TCP gets no reply"

q www.e2e.example A
is "$(status) $(rdata A | tr '\n' ' ')" "NOERROR 192.0.2.1 192.0.2.2 " "still answering after the malformed queries"

# 2,000 random datagrams from another loopback source, so a per-client
# rate limit cannot hide a crash behind REFUSED for our own queries.
r=$(probe --src 127.0.0.5 garbage 2000 --seed 42)
is "$r" "sent=2000" "2000 garbage datagrams sent"
r=$(probe --src 127.0.0.6 garbage 1000 --seed 7)
is "$r" "sent=1000" "1000 more from a second source"
sleep 0.5
ok "pkdns still running after the garbage" _alive "$PKDNS_PID"
q www.e2e.example A
is "$(status) $(rdata A | tr '\n' ' ')" "NOERROR 192.0.2.1 192.0.2.2 " "answers correctly after the garbage (UDP)"
q +tcp txt.e2e.example TXT
is "$(rdata TXT)" '"first string" "second string" "third; with spaces"' "answers correctly after the garbage (TCP)"

r=$(probe tcpgarbage --seed 3)
is "$r" "ran=5" "hostile TCP clients: junk, zero lengths, 64 kB announced, half a message, one byte"
r=$(probe tcpgarbage --seed 4)
is "$r" "ran=5" "the same again"
q +tcp www.e2e.example A
is "$(status) $(rdata A | tr '\n' ' ')" "NOERROR 192.0.2.1 192.0.2.2 " "answers over TCP after the hostile TCP clients"
r=$(probe pipeline p1.e2e.example p2.e2e.example p3.e2e.example p4.e2e.example)
is "$r" "sent=4 got=4 matched=4 answered=4" "pipelining still works after them"

# Many connections at once that never send anything must not starve a
# real client for long (RFC 7766 6.2.3: idle ones time out after 3 s or
# are closed early under pressure).
"$PYTHON" - "$PKDNS_PORT" <<'EOF' &
import socket, sys, time
conns = []
for _ in range(150):
    try:
        conns.append(socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1))
    except OSError:
        break
time.sleep(6)
EOF
hog=$!
sleep 1
q www.e2e.example A
is "$(status)" NOERROR "UDP answers while 150 idle TCP connections are open"
q +tcp +time=8 www.e2e.example A
is "$(status)" NOERROR "a TCP client is served while 150 idle TCP connections are open"
wait $hog

# --- at the descriptor limit: pause accepting, do not spin or flood the log ---
# The running daemon's soft RLIMIT_NOFILE is lowered to a few above what it
# has open; 60 TCP clients then exhaust it. Before the fix accept() failed
# with EMFILE on every turn of the loop: 100 % CPU and a log line each time.
# fd_limit_check WHAT PORT RECOVERS: the listener on PORT at the limit (WHAT
# prefixes the test names: "" for DNS over TCP, "HTTP " for HTTP); RECOVERS,
# a command, checks that it accepts again once the clients left.
fd_limit_check() {
	what=$1 port=$2 recovers=$3
	q www.e2e.example A # cached: the answers below need no upstream socket
	nfd=$(find /proc/"$PKDNS_PID"/fd -mindepth 1 -maxdepth 1 | wc -l)
	if ! prlimit --pid "$PKDNS_PID" --nofile=$((nfd + 8)): 2>/dev/null; then
		for t in cpu logged bounded udp recovers; do skip "${what}fd limit: $t" "prlimit cannot change the limit of a running process here"; done
		return
	fi
	rm -f "$TMPD/fdhog.ready"
	"$PYTHON" - "$port" "$TMPD/fdhog.ready" <<'EOF' &
import socket, sys, time
conns = []
for i in range(60):
    s = socket.socket()
    s.bind(("127.0.0.%d" % (10 + i % 20), 0))  # under the per-client cap
    s.settimeout(1)
    try:
        s.connect(("127.0.0.1", int(sys.argv[1])))
        conns.append(s)
    except OSError:
        s.close()
open(sys.argv[2], "w").close()
time.sleep(4)
EOF
	hog=$!
	for _ in $(seq 1 50); do [ -e "$TMPD/fdhog.ready" ] && break; sleep 0.1; done
	sleep 0.5
	cpu0=$(awk '{print $14 + $15}' /proc/"$PKDNS_PID"/stat)
	sleep 2
	cpu1=$(awk '{print $14 + $15}' /proc/"$PKDNS_PID"/stat)
	ticks=$(getconf CLK_TCK)
	diag "${what}CPU over 2 s at the fd limit: $((cpu1 - cpu0)) ticks of $((2 * ticks))"
	cmp_ok $((cpu1 - cpu0)) -lt $((ticks / 2)) "${what}at the fd limit: under 25 % CPU over 2 s (no accept loop)"
	n=$(grep -c 'accept:' "$PKDNS_LOG")
	diag "${what}accept error lines: $n; $(grep 'accept:' "$PKDNS_LOG" | head -n 1)"
	cmp_ok "$n" -ge 1 "  ... the accept error is logged"
	cmp_ok "$n" -le 2 "  ... at most one line per 10 s"
	q www.e2e.example A
	is "$(status)" NOERROR "  ... UDP still answers (from the cache)"
	wait "$hog"
	sleep 0.5
	"$recovers"
}

tcp_recovers() {
	q +tcp www.e2e.example A
	is "$(status)" NOERROR "  ... once the clients left, TCP accepts again"
}

pkdns_stop
pkdns_start -f 127.0.0.1:"$NSD_PORT" --dnssec no --tcp-idle-timeout 30
fd_limit_check "" "$PKDNS_PORT" tcp_recovers
pkdns_stop

# --- the same at the HTTP (DoH, relay API) listener ---
http_recovers() {
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
		"http://127.0.0.1:$hp/dns-query?dns=AAABAAABAAAAAAAAA3d3dwNlMmUHZXhhbXBsZQAAAQAB")
	is "$code" 200 "  ... once the clients left, HTTP accepts again (DoH GET 200)"
}

hp=$(pick_port)
pkdns_start -f 127.0.0.1:"$NSD_PORT" --dnssec no --http-listen 127.0.0.1:"$hp"
fd_limit_check "HTTP " "$hp" http_recovers
pkdns_stop

# --- at start-up, tcp-max-connections must fit the descriptor limit ---
p=$(pick_port)
out=$(timeout -s TERM 3 prlimit --nofile=200:200 "$PKDNS" -d --dht-mode off -l 127.0.0.1:"$p" \
	-f 127.0.0.1:"$NSD_PORT" --dnssec no --tcp-max-connections 256 2>&1)
like "$out" 'tcp-max-connections 256 lowered to 100: the open-file limit \(RLIMIT_NOFILE\) is 200' \
	"RLIMIT_NOFILE 200: tcp-max-connections lowered with a log line"

nsd_stop
done_testing
