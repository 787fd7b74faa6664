#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# pkdns e2e: transport rules. UDP size limits and truncation (RFC 1035
# 4.2.1, RFC 6891 6.2.5), TCP per RFC 7766 (several and pipelined queries
# per connection, answers matched by ID, idle timeout), several listen
# addresses, IPv6.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
require_pkdns

nsd_start
pkdns_start -f 127.0.0.1:"$NSD_PORT" --dnssec no --tcp-idle-timeout 2

# big: 8 TXT records, about 950 bytes: > 512, > 600, < 1232.
q +noedns +ignore big.e2e.example TXT
is "$(status)" NOERROR "big TXT over UDP without EDNS: NOERROR"
ok "big TXT over UDP without EDNS: TC=1" has_flag tc
cmp_ok "$(msg_size)" -le 512 "big TXT over UDP without EDNS: reply <= 512 bytes"

q +noedns +tcp big.e2e.example TXT
is "$(count_lines "$(answers TXT)")" 8 "big TXT over TCP without EDNS: all 8 records"
ok "big TXT over TCP: TC=0" eval '! has_flag tc'

q +bufsize=1232 +ignore big.e2e.example TXT
is "$(count_lines "$(answers TXT)")" 8 "big TXT over UDP, bufsize 1232: all 8 records"
ok "big TXT over UDP, bufsize 1232: TC=0" eval '! has_flag tc'
like "$OUT" 'EDNS: version: 0' "big TXT over UDP, bufsize 1232: OPT in the reply"

q +bufsize=600 +ignore big.e2e.example TXT
ok "big TXT over UDP, bufsize 600: TC=1" has_flag tc
cmp_ok "$(msg_size)" -le 600 "big TXT over UDP, bufsize 600: reply <= 600 bytes"
like "$OUT" 'EDNS: version: 0' "truncated reply still carries OPT (RFC 6891 7)"

q +bufsize=100 +ignore big.e2e.example TXT
ok "bufsize below 512 is treated as 512 (RFC 6891 6.2.5): TC=1" has_flag tc
cmp_ok "$(msg_size)" -le 512 "bufsize 100: reply <= 512 bytes"

# huge: 16 TXT records, about 3.5 kB: over any UDP limit we send.
q +bufsize=4096 +ignore huge.e2e.example TXT
ok "huge TXT over UDP, bufsize 4096: TC=1 (we send at most 1232)" has_flag tc
cmp_ok "$(msg_size)" -le 1232 "huge TXT over UDP: reply <= 1232 bytes"

q +tcp huge.e2e.example TXT
is "$(status)" NOERROR "huge TXT over TCP: NOERROR"
is "$(count_lines "$(answers TXT)")" 16 "huge TXT over TCP: all 16 records"

q huge.e2e.example TXT
is "$(count_lines "$(answers TXT)")" 16 "huge TXT: dig falls back to TCP after TC and gets all 16"

# Small answers fit without EDNS.
q +noedns www.e2e.example A
ok "small answer without EDNS: TC=0" eval '! has_flag tc'

# --- TCP, RFC 7766 ---
q +tcp +keepopen www.e2e.example A mail.e2e.example A txt.e2e.example TXT
is "$(printf '%s\n' "$OUT" | grep -c 'status: NOERROR')" 3 "three queries in sequence on one TCP connection (dig +keepopen)"
like "$OUT" 'mail.e2e.example.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+A[[:space:]]+192.0.2.25' "  ... the second answer is right"

names=""
for i in 0 1 2 3 4 5 6 7 8 9 10 11; do names="$names p$i.e2e.example"; done
# shellcheck disable=SC2086
r=$(probe pipeline $names)
is "$r" "sent=12 got=12 matched=12 answered=12" "12 pipelined TCP queries in one write: 12 answers matched by ID and name"
# shellcheck disable=SC2086
r=$(probe pipeline $names www.e2e.example huge.e2e.example/TXT big.e2e.example/TXT nope.e2e.example)
like "$r" "sent=16 got=16 matched=16 answered=15" "16 pipelined queries, cached and not, small and 3.5 kB, one NXDOMAIN"
# More than the 64 queries a connection may have in flight, none cached:
# reading pauses at the cap and resumes from the loop as answers leave.
names=""
for i in $(seq 1 200); do names="$names cap$i.e2e.example"; done
# shellcheck disable=SC2086
r=$(probe pipeline $names)
like "$r" "^sent=200 got=200 matched=200 " "200 uncached queries pipelined in one write, over the 64 in flight per connection: all answered"

r=$(probe split www.e2e.example)
like "$r" "^rcode=0 .*id=ok qr=1 .* an=2 " "a TCP query sent one byte at a time is reassembled and answered"

# closed 2 s after the answer, as the client sees it (rounded, + 3 s for a
# loaded machine); the default timeout (10 s) would leave it open for the
# 8 s the probe waits, and one that closes at once gives after=0
r=$(probe idle 8)
like "$r" "^closed after=[1-5]$" "idle TCP connection closed after --tcp-idle-timeout 2"

# --- a second listener, and IPv6 ---
pkdns_stop
PKDNS_PORT=$(pick_port)
if have_ipv6; then
	PKDNS_NO_LISTEN=1 PROBE_HOST=127.0.0.2 pkdns_start -f 127.0.0.1:"$NSD_PORT" --dnssec no \
		-l 127.0.0.2:"$PKDNS_PORT" -l "[::1]:$PKDNS_PORT"
else
	PKDNS_NO_LISTEN=1 PROBE_HOST=127.0.0.2 pkdns_start -f 127.0.0.1:"$NSD_PORT" --dnssec no \
		-l 127.0.0.2:"$PKDNS_PORT"
fi
QHOST=127.0.0.2 q www.e2e.example A
is "$(status) $(rdata A | tr '\n' ' ')" "NOERROR 192.0.2.1 192.0.2.2 " "listen on 127.0.0.2, UDP"
QHOST=127.0.0.2 q +tcp www.e2e.example A
is "$(status) $(rdata A | tr '\n' ' ')" "NOERROR 192.0.2.1 192.0.2.2 " "listen on 127.0.0.2, TCP"
if have_ipv6; then
	QHOST=::1 q www.e2e.example AAAA
	is "$(status) $(rdata AAAA | tr '\n' ' ')" "NOERROR 2001:db8::1 2001:db8::2 " "second listener on [::1], UDP (default ACL allows ::1)"
	QHOST=::1 q +tcp www.e2e.example A
	is "$(status) $(rdata A | tr '\n' ' ')" "NOERROR 192.0.2.1 192.0.2.2 " "second listener on [::1], TCP"
	QHOST=::1 q +noedns +ignore big.e2e.example TXT
	ok "listener on [::1]: truncation over UDP too" has_flag tc
	r=$(QHOST=::1 probe pipeline p1.e2e.example p2.e2e.example p3.e2e.example)
	is "$r" "sent=3 got=3 matched=3 answered=3" "listener on [::1]: pipelined TCP"
else
	for t in UDP TCP TC pipeline; do skip "listener on [::1] $t" "no ::1 on this machine"; done
fi
QHOST=127.0.0.1 q +time=2 www.e2e.example A
is "$(status)" noreply "no listener on 127.0.0.1 when only other addresses are given"
pkdns_stop

# --- upstream over IPv6, and --edns-buffer-size ---
if have_ipv6; then
	pkdns_start -f "[::1]:$NSD_PORT" --dnssec no --edns-buffer-size 700
else
	pkdns_start -f 127.0.0.1:"$NSD_PORT" --dnssec no --edns-buffer-size 700
fi
q www.e2e.example A
is "$(status) $(rdata A | tr '\n' ' ')" "NOERROR 192.0.2.1 192.0.2.2 " "forwarding to an upstream on [::1] (or 127.0.0.1 without IPv6)"
q +bufsize=4096 +ignore big.e2e.example TXT
ok "--edns-buffer-size 700: a 950-byte answer is truncated for bufsize 4096" has_flag tc
cmp_ok "$(msg_size)" -le 700 "--edns-buffer-size 700: reply <= 700 bytes"
q +bufsize=4096 +ignore txt.e2e.example TXT
ok "--edns-buffer-size 700: a small answer is not truncated" eval '! has_flag tc'
pkdns_stop

# --- a wildcard listener answers from the address it was asked at ---
# (dig drops a reply that comes from another address than it asked)
PKDNS_PORT=$(pick_port)
PKDNS_NO_LISTEN=1 pkdns_start -l 0.0.0.0:"$PKDNS_PORT" -f 127.0.0.1:"$NSD_PORT" --dnssec no
QHOST=127.0.0.5 q www.e2e.example A
is "$(status) $(rdata A | tr '\n' ' ')" "NOERROR 192.0.2.1 192.0.2.2 " "listen on 0.0.0.0, asked at 127.0.0.5: answered from 127.0.0.5 (first answer, held)"
QHOST=127.0.0.6 q www.e2e.example A
is "$(status) $(rdata A | tr '\n' ' ')" "NOERROR 192.0.2.1 192.0.2.2 " "  ... asked at 127.0.0.6: answered from 127.0.0.6 (cached answer, batched)"
pkdns_stop

# --- one client must not hold every TCP slot (RFC 7766 6.2.3) ---
# An attacker on 20 loopback addresses keeps as many connections as it can
# (16 per address, 320 for a table of 64) and feeds each one byte a second,
# never a whole message, reconnecting whatever is closed; a legitimate
# client on 127.0.0.1 connects and asks every 0.4 s meanwhile. Before the
# per-client cap, the message deadline and eviction of the least recently
# active idle connection, the table filled and the client was refused.
pkdns_start -f 127.0.0.1:"$NSD_PORT" --dnssec no --tcp-max-connections 64 --tcp-idle-timeout 10
r=$(timeout -k 1 40 "$PYTHON" - "$PKDNS_PORT" <<'EOF'
import socket, struct, sys, threading, time
port = int(sys.argv[1])
stop = time.time() + 8
held = {"max": 0, "opened": 0, "closed": 0}

def attacker():
    conns = {}
    while time.time() < stop:
        for a in range(20):
            src = "127.0.0.%d" % (10 + a)
            for k in range(16):
                s = conns.get((a, k))
                if s is None:
                    try:
                        s = socket.socket()
                        s.setblocking(False)
                        s.bind((src, 0))
                        s.connect_ex(("127.0.0.1", port))
                        conns[(a, k)] = s
                        held["opened"] += 1
                    except OSError:
                        s.close()
                        continue
                try:
                    # EOF or a reset: the server closed it
                    if s.recv(64) == b"":
                        raise ConnectionError
                except BlockingIOError:
                    pass
                except OSError:
                    s.close()
                    del conns[(a, k)]
                    held["closed"] += 1
                    continue
                try:
                    s.send(b"\x00")  # a byte of a message that never completes
                except OSError:
                    pass
        held["max"] = max(held["max"], len(conns))
        time.sleep(1)
    for s in conns.values():
        s.close()

t = threading.Thread(target=attacker)
t.start()
time.sleep(1.5)
asked = answered = 0
slowest = 0.0
qname = b"\x03www\x03e2e\x07example\x00"
def ask(qid):
    try:
        c = socket.create_connection(("127.0.0.1", port), 2)
        c.settimeout(2)
        q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + qname + struct.pack("!HH", 1, 1)
        c.sendall(struct.pack("!H", len(q)) + q)
        buf = b""
        while len(buf) < 2 or len(buf) < 2 + struct.unpack("!H", buf[:2])[0]:
            d = c.recv(4096)
            if not d:
                break
            buf += d
        c.close()
        return len(buf) >= 14 and struct.unpack("!H", buf[2:4])[0] == qid and buf[5] & 0x0f == 0
    except OSError:
        return False

retried = 0
while time.time() < stop - 0.5:
    asked += 1
    start = time.time()
    # a stub resolver asks again on a new connection when one fails (a
    # loaded machine may close the client's young connection while it is
    # still idle); one retry, and every question must be answered
    ok = ask(asked)
    if not ok:
        retried += 1
        start = time.time()
        ok = ask(asked)
    if ok:
        answered += 1
        slowest = max(slowest, time.time() - start)
    time.sleep(0.4)
t.join()
print("answered=%d/%d slowest_ms=%d attacker_connections=%d opened=%d closed=%d retried=%d" % (
    answered, asked, int(slowest * 1000), held["max"], held["opened"], held["closed"], retried))
EOF
)
diag "$r"
like "$r" '^answered=([0-9]+)/\1 ' "a TCP client is answered every time while an attacker drips bytes into as many connections as it can"
cmp_ok "$(printf '%s\n' "$r" | sed -n 's/.*slowest_ms=\([0-9]*\).*/\1/p')" -lt 1000 "  ... each answer within 1 s of the attempt that got it"
# A retry happens when the client's young connection is closed before its
# question is in (a loaded machine stretches that moment: 2 of 13 seen in
# a sanitizer build beside two CPU hogs); a server that evicts the client
# as a rule makes it retry nearly every time
asked=$(printf '%s\n' "$r" | sed -n 's/^answered=[0-9]*\/\([0-9]*\) .*/\1/p')
retried=$(printf '%s\n' "$r" | sed -n 's/.*retried=\([0-9]*\).*/\1/p')
cmp_ok "$((${retried:-99} * 2))" -le "${asked:-0}" "  ... at most half the questions needed a second connection ($retried of $asked)"
cmp_ok "$(printf '%s\n' "$r" | sed -n 's/.*closed=\([0-9]*\).*/\1/p')" -gt 100 "  ... the attacker's connections are closed (cap, deadline, eviction)"
q www.e2e.example A
is "$(status)" NOERROR "UDP answers during and after the TCP attack"
pkdns_stop

nsd_stop
done_testing
