#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# pkdns e2e: ordinary record types through the ICANN path (forwarding to a
# loopback nsd), asked with dig, kdig and drill.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
require_pkdns

nsd_start
pkdns_start -f 127.0.0.1:"$NSD_PORT" --dnssec no

# --- dig ---
q www.e2e.example A
is "$(status)" NOERROR "dig A: NOERROR"
is "$(rdata A | tr '\n' ' ')" "192.0.2.1 192.0.2.2 " "dig A: both addresses"
is "$(flag_state qr) $(flag_state ra) $(flag_state aa)" "qr=1 ra=1 aa=0" "dig A: QR=1 RA=1 AA=0 (recursive answer)"
like "$OUT" 'QUESTION SECTION:.*' "dig A: question echoed"
is "$(printf '%s\n' "$OUT" | sed -n 's/^;\(www.e2e.example.\)[[:space:]].*/\1/p')" "www.e2e.example." "dig A: question name echoed"

q www.e2e.example AAAA
is "$(status)" NOERROR "dig AAAA: NOERROR"
is "$(rdata AAAA | tr '\n' ' ')" "2001:db8::1 2001:db8::2 " "dig AAAA: both addresses"

q txt.e2e.example TXT
is "$(status)" NOERROR "dig TXT: NOERROR"
is "$(rdata TXT)" '"first string" "second string" "third; with spaces"' "dig TXT: three strings, in order, spaces kept"

q e2e.example MX
is "$(status)" NOERROR "dig MX: NOERROR"
is "$(rdata MX | tr '\n' ' ')" "10 mail.e2e.example. 20 mail2.e2e.example. " "dig MX: both exchangers with preferences"

q alias.e2e.example A
is "$(status)" NOERROR "dig CNAME chain: NOERROR"
is "$(answers CNAME | cut -d' ' -f1,5 | tr '\n' ' ')" "alias.e2e.example. alias2.e2e.example. alias2.e2e.example. www.e2e.example. " \
	"dig CNAME chain: both CNAMEs, in chain order"
is "$(rdata A | tr '\n' ' ')" "192.0.2.1 192.0.2.2 " "dig CNAME chain: ends in the target's addresses"

q xzone.e2e.example A
is "$(status)" NOERROR "dig CNAME into another zone: NOERROR"
is "$(answers CNAME | cut -d' ' -f5)" "host.other.example." "dig CNAME into another zone: the CNAME"
is "$(rdata A)" "192.0.2.200" "dig CNAME into another zone: the target's address"

q alias.e2e.example CNAME
is "$(rdata CNAME)" "alias2.e2e.example." "dig qtype CNAME: the CNAME itself, not followed"

q nope.e2e.example A
is "$(status)" NXDOMAIN "dig NXDOMAIN: status"
is "$(count_lines "$(answers)")" 0 "dig NXDOMAIN: no answer records"
like "$(section AUTHORITY SOA)" '^e2e.example. [0-9]+ IN SOA ' "dig NXDOMAIN: SOA in authority (negative caching, RFC 2308)"

q onlya.e2e.example AAAA
is "$(status)" NOERROR "dig NODATA: NOERROR"
is "$(count_lines "$(answers)")" 0 "dig NODATA: empty answer section"
like "$(section AUTHORITY SOA)" '^e2e.example. [0-9]+ IN SOA ' "dig NODATA: SOA in authority"

q ent.e2e.example A
is "$(status)" NOERROR "dig empty non-terminal: NOERROR, not NXDOMAIN"

q WwW.E2e.ExAmPlE A
is "$(status)" NOERROR "dig mixed-case name: NOERROR"
is "$(rdata A | tr '\n' ' ')" "192.0.2.1 192.0.2.2 " "dig mixed-case name: same addresses"

q +tcp www.e2e.example A
is "$(status) $(rdata A | tr '\n' ' ')" "NOERROR 192.0.2.1 192.0.2.2 " "dig A over TCP"

q +tcp nope.e2e.example TXT
is "$(status)" NXDOMAIN "dig NXDOMAIN over TCP"

q +noedns www.e2e.example A
is "$(status) $(rdata A | tr '\n' ' ')" "NOERROR 192.0.2.1 192.0.2.2 " "dig A without EDNS"
unlike "$OUT" 'OPT PSEUDOSECTION' "no OPT in the reply to a query without EDNS (RFC 6891 7)"

q +edns=0 www.e2e.example A
like "$OUT" 'EDNS: version: 0' "OPT in the reply to a query with EDNS"

q -c CH version.bind TXT
isnt "$(status)" noreply "a CHAOS query gets a reply"

q e2e.example SOA
like "$(answers SOA)" '^e2e.example. [0-9]+ IN SOA ns1.e2e.example. hostmaster.e2e.example. 2024010101 ' "dig SOA"

# --- kdig ---
if command -v kdig >/dev/null 2>&1; then
	KD="timeout -k 1 20 kdig @127.0.0.1 -p $PKDNS_PORT +time=4 +retry=0"
	out=$($KD www.e2e.example A +short 2>&1 | sort | tr '\n' ' ')
	is "$out" "192.0.2.1 192.0.2.2 " "kdig A"
	out=$($KD txt.e2e.example TXT +short 2>&1)
	is "$out" '"first string" "second string" "third; with spaces"' "kdig TXT"
	out=$($KD +tcp e2e.example MX +short 2>&1 | sort | tr '\n' ' ')
	is "$out" "10 mail.e2e.example. 20 mail2.e2e.example. " "kdig MX over TCP"
	out=$($KD alias.e2e.example A 2>&1)
	like "$out" 'alias2.e2e.example.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+CNAME[[:space:]]+www.e2e.example.' "kdig CNAME chain"
	out=$($KD nope.e2e.example A 2>&1)
	like "$out" 'status: NXDOMAIN' "kdig NXDOMAIN"
	out=$($KD onlya.e2e.example AAAA 2>&1)
	like "$out" 'status: NOERROR.*' "kdig NODATA: NOERROR"
	like "$out" 'ANSWER: 0' "kdig NODATA: no answer"
else
	for t in A TXT MX CNAME NXDOMAIN NODATA NODATA2; do skip "kdig $t" "kdig not installed"; done
fi

# --- drill ---
if command -v drill >/dev/null 2>&1; then
	DR="timeout 10 drill -p $PKDNS_PORT"
	out=$($DR www.e2e.example A @127.0.0.1 2>&1)
	like "$out" 'rcode: NOERROR' "drill A: NOERROR"
	is "$(printf '%s\n' "$out" | awk '$4 == "A" && $1 == "www.e2e.example." { print $5 }' | sort | tr '\n' ' ')" \
		"192.0.2.1 192.0.2.2 " "drill A: both addresses"
	out=$($DR -t txt.e2e.example TXT @127.0.0.1 2>&1)
	like "$out" 'txt.e2e.example.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+TXT[[:space:]]+"first string" "second string" "third; with spaces"' "drill TXT over TCP"
	out=$($DR nope.e2e.example A @127.0.0.1 2>&1)
	like "$out" 'rcode: NXDOMAIN' "drill NXDOMAIN"
	out=$($DR www.e2e.example AAAA @127.0.0.1 2>&1)
	like "$out" 'IN[[:space:]]+AAAA[[:space:]]+2001:db8::1' "drill AAAA"
else
	for t in A A2 TXT NXDOMAIN AAAA; do skip "drill $t" "drill not installed"; done
fi

pkdns_stop
nsd_stop
done_testing
