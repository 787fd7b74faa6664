#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# pkdns e2e: Extended DNS Errors (RFC 8914) on the ICANN path and at the
# front end, read from dig's and kdig's "EDE:" lines, and the query log
# (log-queries, log-servfail) read from pkdns's own log: a REFUSED client
# (18 Prohibited), a NOTIMP type (21 Not Supported), a stale answer (3)
# and SERVFAIL with the upstream down (22 No Reachable Authority); no EDE
# to a client that sent no OPT; an answer replayed from the answer cache
# carries the EDE its first answer had (a pkarr key with no packet: EDE 0
# "no packet for this key on the DHT", asked twice with dig and kdig).
# (DNSSEC Bogus, 6, is in test_dnssec.sh; the other pkarr texts in
# test_pkarr_policy.sh.)
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
. "$E2E_DIR/pkarr_lib.sh"
require_pkdns
require_tools kdig

# ede: the EDE line of $OUT (dig or kdig), or "none".
ede() {
	local l
	l=$(printf '%s\n' "$OUT" | grep -E '^;;? EDE: ' | head -n 1)
	echo "${l:-none}"
}
kq() {
	OUT=$(timeout -k 1 30 kdig @127.0.0.1 -p "$PKDNS_PORT" +time="$QTIME" +retry=0 "$@" 2>&1)
	RC=$?
}
# logline WORD ERE: the first line of the pkdns log from module WORD
# matching ERE (waits up to 10 s: lines are written as replies leave;
# a bound, it ends at the line).
logline() {
	local i l
	for i in $(seq 1 100); do
		l=$(grep -E "pkdns\[$1\] [a-z]+: $2" "$PKDNS_LOG" | head -n 1)
		[ -n "$l" ] && break
		sleep 0.1
	done
	printf '%s\n' "$l"
}

nsd_start
# shellcheck disable=SC2086
pkdns_start -f 127.0.0.1:"$NSD_PORT" --dnssec no --serve-stale yes --log-queries yes \
	--log-servfail yes --access-control "127.0.0.1/32 allow" \
	--access-control "127.0.0.2/32 refuse"

# --- the front end -----------------------------------------------------------
q -b 127.0.0.2 www.e2e.example A
is "$(status)" REFUSED "a refused client: REFUSED"
like "$(ede)" '^; EDE: 18 \(Prohibited\)' "  ... with EDE 18 Prohibited (dig)"
q -b 127.0.0.2 +noedns www.e2e.example A
is "$(status) $(ede)" "REFUSED none" "  ... and no EDE when the query had no OPT"
q www.e2e.example TYPE253
is "$(status)" NOTIMP "MAILB: NOTIMP"
like "$(ede)" '^; EDE: 21 \(Not Supported\)' "  ... with EDE 21 Not Supported"
kq +edns www.e2e.example TYPE253
like "$(ede)" '^;; EDE: 21 \(Not Supported\)' "  ... as kdig reads it"

# --- query log: one line per answered query ----------------------------------
q www.e2e.example A
is "$(status)" NOERROR "an ICANN answer"
like "$(logline query '127\.0\.0\.1 www\.e2e\.example\. A udp icann NOERROR')" \
	' [0-9]+ms cache=miss$' "query log: client, name, type, transport, path, rcode, ms, cache miss"
q +tcp www.e2e.example A
like "$(logline query '127\.0\.0\.1 www\.e2e\.example\. A tcp cache NOERROR')" \
	' [0-9]+ms cache=hit$' "query log: the same over TCP from the answer cache: a hit"
like "$(logline query '127\.0\.0\.2 www\.e2e\.example\. A udp - REFUSED')" 'cache=miss$' \
	"query log: the refused query"
q www.e2e.example A
is "$(ede)" none "a plain answer has no EDE"

# --- stale answers and the upstream down -------------------------------------
q stale.e2e.example A
is "$(status) $(rdata A)" "NOERROR 192.0.2.54" "2-second record answered"
nsd_stop
sleep 3 # stale.e2e.example (TTL 2) is now surely expired
QTIME=8
q stale.e2e.example A
is "$(status) $(rdata A)" "NOERROR 192.0.2.54" "upstream down: the expired record is served"
like "$(ede)" '^; EDE: 3 \(Stale Answer\)' "  ... with EDE 3 Stale Answer (dig)"
kq +edns stale.e2e.example A
like "$(ede)" '^;; EDE: 3 \(Stale Answer\)' "  ... as kdig reads it"
q +noedns stale.e2e.example A
is "$(status) $(ede)" "NOERROR none" "  ... and no EDE without OPT"

q uncached.e2e.example A
is "$(status)" SERVFAIL "a name never seen, upstream down: SERVFAIL"
like "$(ede)" '^; EDE: 22 \(No Reachable Authority\): \((no answer from upstream in time|upstream unreachable)\)' \
	"  ... with EDE 22 No Reachable Authority and why (dig)"
kq +edns uncached2.e2e.example A
like "$(ede)" "^;; EDE: 22 \(No Reachable Authority\): '(no answer from upstream in time|upstream unreachable)'" \
	"  ... as kdig reads it"
like "$(logline servfail '127\.0\.0\.1 uncached\.e2e\.example\. A udp icann: ')" \
	'icann: (no answer from upstream in time|upstream unreachable)$' \
	"log-servfail: the SERVFAIL and its reason"
like "$(logline query '127\.0\.0\.1 uncached\.e2e\.example\. A udp icann SERVFAIL')" 'cache=miss$' \
	"query log: the SERVFAIL too"
ok "pkdns still running" _alive "$PKDNS_PID"
pkdns_stop

# --- both logs off by default ------------------------------------------------
nsd_start
pkdns_start -f 127.0.0.1:"$NSD_PORT" --dnssec no
q www.e2e.example A
q nope.e2e.example A
sleep 0.3
is "$(grep -cE 'pkdns\[(query|servfail)\]' "$PKDNS_LOG")" 0 "no query log lines by default"
pkdns_stop

# --- replays from the answer cache carry the first answer's EDE --------------
# A key nobody published: the DHT testnet answers without a packet, and
# the NXDOMAIN (with its SOA) goes into the answer cache.
if [ -x "$CLI" ]; then
	QTIME=8
	pkarr_start --log-queries yes
	KN=$(new_key nobody)
	KK=$(new_key nobody2)
	NOPKT="no packet for this key on the DHT"
	q "$KN" A
	is "$(status)" NXDOMAIN "a key with no packet: NXDOMAIN"
	first=$(ede)
	like "$first" "^; EDE: 0 \(Other\): \($NOPKT\)" "  ... with EDE 0 and its text (dig)"
	q "$KN" A
	like "$(logline query "127\.0\.0\.1 $KN\. A udp cache NXDOMAIN")" 'cache=hit$' \
		"  ... asked again: answered from the answer cache"
	is "$(status) $(ede)" "NXDOMAIN $first" "  ... with the same EDE (dig)"
	q +noedns "$KN" A
	is "$(status) $(ede)" "NXDOMAIN none" "  ... and none to a client that sent no OPT"
	kq +edns "$KK" A
	kfirst=$(ede)
	like "$kfirst" "^;; EDE: 0 \(Other\): '$NOPKT'" "another such key: the EDE as kdig reads it"
	kq +edns "$KK" A
	like "$(logline query "127\.0\.0\.1 $KK\. A udp cache NXDOMAIN")" 'cache=hit$' \
		"  ... asked again: from the answer cache"
	is "$(ede)" "$kfirst" "  ... with the same EDE (kdig)"
	kq +tcp +edns "$KK" A
	is "$(ede)" "$kfirst" "  ... over TCP too"
	pkdns_stop
else
	skip "answer-cache replays carry the EDE" "pkdns-cli not built"
fi
done_testing
