#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# pkdns e2e: the pkarr path. Zones published with pkdns-cli to the
# daemon's own DHT testnet on loopback and asked for with dig (UDP and
# TCP), kdig and drill: every record type of the zone, TTL clamping,
# wildcards, CNAMEs inside a packet, into another key and into an ICANN
# name (nsd upstream), NXDOMAIN/NODATA with a SOA, a key with no packet,
# key case, --tld key, CNAME loops, truncation, and 50 concurrent queries
# sharing one DHT look-up.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
. "$E2E_DIR/pkarr_lib.sh"
require_pkarr

nsd_start
pkarr_start --min-ttl 60 --max-ttl 3600 --tld key --search-domain lan --search-domain home.arpa \
	--log-queries yes

KA=$(new_key a)
KB=$(new_key b)
KC=$(new_key c)
KD=$(new_key d)
KE=$(new_key e) # never published
for k in "$KA" "$KB" "$KC" "$KD" "$KE"; do
	[ ${#k} -eq 52 ] || bail_out "pkdns-cli generate gave no key: '$k'"
done
Z=$TMPD/zones
mkdir -p "$Z"
sed "s/@KEYB@/$KB/g" "$E2E_DATA/pkarr_a.zone" >"$Z/a.zone"
sed "s/@KEYA@/$KA/g" "$E2E_DATA/pkarr_b.zone" >"$Z/b.zone"
# shellcheck disable=SC2016
printf '$TTL 300\n* IN A 192.0.2.99\n' >"$Z/d.zone"

for k in a b; do
	publish "$k" "$Z/$k.zone"
	is "$RC" 0 "publish key ${k^^}: exit 0"
done
publish c "$E2E_DATA/pkarr_big.zone"
is "$RC" 0 "publish key C (big TXT): exit 0"
publish d "$Z/d.zone"
is "$RC" 0 "publish key D (wildcard): exit 0"
[ "$_tap_failed" -eq 0 ] || bail_out "cannot publish to the testnet: $POUT"

# The flags and TTLs every positive answer from a packet must have.
# recursive service (RA=1) but not the authority (AA=0)
check_flags() { # DESC
	is "$(flag_state qr) $(flag_state aa) $(flag_state ra)" "qr=1 aa=0 ra=1" "$1: QR=1 AA=0 RA=1"
}

# tq NAME DIG-ARGS...: q, with `now` before and after it in NAME_S0 and
# NAME_S1 and, the first time (the query that put the answer in the
# answer cache), in NAME_F0 and NAME_F1 too: the times ttl_aged needs.
tq() {
	local v=$1 f0=${1}_F0 s0 s1
	shift
	s0=$(now)
	q "$@"
	s1=$(now)
	printf -v "${v}_S0" %s "$s0"
	printf -v "${v}_S1" %s "$s1"
	if [ -z "${!f0:-}" ]; then
		printf -v "${v}_F0" %s "$s0"
		printf -v "${v}_F1" %s "$s1"
	fi
}
# ttl_age NAME TYPE ORIG DESC: ttl_aged for the latest tq NAME.
ttl_age() {
	local f0=${1}_F0 f1=${1}_F1 s0=${1}_S0 s1=${1}_S1
	ttl_aged "$2" "$3" "${!f0}" "${!f1}" "${!s0}" "${!s1}" "$4"
}

# --- every record type, over UDP and then over TCP ---------------------------
records() { # TRANSPORT-LABEL DIG-ARGS...
	local t=$1
	shift
	tq APEX_A "$@" "$KA" A
	is "$(status) $(rdata A)" "NOERROR 192.0.2.10" "$t apex A"
	check_flags "$t apex A"
	is "$(answers A | cut -d' ' -f1)" "$KA." "$t apex A: owner is the key"
	ttl_age APEX_A A 300 "$t apex A (TTL 300)"

	q "$@" "$KA" AAAA
	is "$(status) $(rdata AAAA)" "NOERROR 2001:db8::10" "$t apex AAAA"
	check_flags "$t apex AAAA"

	q "$@" "www.$KA" A
	is "$(status) $(rdata A)" "NOERROR 192.0.2.11" "$t subdomain A"
	is "$(answers A | cut -d' ' -f1)" "www.$KA." "$t subdomain A: owner"
	q "$@" "www.$KA" AAAA
	is "$(rdata AAAA)" "2001:db8::11" "$t subdomain AAAA"

	q "$@" "host-$t.wild.$KA" A
	is "$(status) $(rdata A)" "NOERROR 192.0.2.12" "$t wildcard *.wild A"
	is "$(answers A | cut -d' ' -f1)" "host-$t.wild.$KA." "$t wildcard: owner is the question's name"
	q "$@" "a.b.wild.$KA" A
	is "$(status) $(rdata A)" "NOERROR 192.0.2.12" "$t wildcard two labels deep"

	q "$@" "alias.$KA" A
	is "$(status)" NOERROR "$t CNAME inside the packet: NOERROR"
	is "$(answers | cut -d' ' -f1,4,5 | tr '\n' '|')" \
		"alias.$KA. CNAME www.$KA.|www.$KA. A 192.0.2.11|" \
		"$t CNAME inside the packet: the CNAME, then the target's A"
	check_flags "$t CNAME inside the packet"

	q "$@" "icann.$KA" A
	is "$(status)" NOERROR "$t CNAME to an ICANN name: NOERROR"
	is "$(answers CNAME | cut -d' ' -f1,5)" "icann.$KA. www.e2e.example." "$t CNAME to an ICANN name: the CNAME"
	is "$(rdata A | tr '\n' ' ')" "192.0.2.1 192.0.2.2 " "$t CNAME to an ICANN name: the upstream's addresses"
	check_flags "$t CNAME to an ICANN name"

	q "$@" "icann.$KA" MX
	is "$(status) $(answers | cut -d' ' -f1,4,5)" "NOERROR icann.$KA. CNAME www.e2e.example." \
		"$t CNAME to an ICANN name, type it lacks: NOERROR, the CNAME"
	like "$(section AUTHORITY SOA)" '^e2e\.example\. [0-9]+ IN SOA ' \
		"$t CNAME to an ICANN name, type it lacks: the upstream's SOA in authority (RFC 2308 2.2)"
	q "$@" "icannx.$KA" A
	is "$(status) $(answers | cut -d' ' -f1,4,5)" "NXDOMAIN icannx.$KA. CNAME nope.e2e.example." \
		"$t CNAME to a missing ICANN name: NXDOMAIN, the CNAME"
	like "$(section AUTHORITY SOA)" '^e2e\.example\. [0-9]+ IN SOA ' \
		"$t CNAME to a missing ICANN name: the upstream's SOA in authority"

	q "$@" "_pubky.$KA" HTTPS
	is "$(status)" NOERROR "$t _pubky HTTPS: NOERROR"
	is "$(rdata HTTPS)" '1 . alpn="h2" port=8443' "$t _pubky HTTPS: the record"
	check_flags "$t _pubky HTTPS"
	q "$@" "_pubky.$KA" SVCB
	is "$(rdata SVCB)" "2 srv.$KA. alpn=\"h3\"" "$t _pubky SVCB: the record, relative target made absolute"

	q "$@" "txt.$KA" TXT
	is "$(status) $(rdata TXT)" 'NOERROR "one" "two two" "three;four"' "$t TXT with three strings, in order"

	tq APEX_MX "$@" "$KA" MX
	is "$(status) $(rdata MX)" "NOERROR 10 mail.$KA." "$t apex MX"
	ttl_age APEX_MX MX 3600 "$t MX with TTL 86400 lowered to --max-ttl 3600"
	tq APEX_TXT "$@" "$KA" TXT
	is "$(rdata TXT)" '"short ttl"' "$t apex TXT"
	ttl_age APEX_TXT TXT 60 "$t TXT with TTL 10 raised to --min-ttl 60"

	# --- negative answers ---
	q "$@" "nosuch.$KA" A
	is "$(status)" NXDOMAIN "$t name not in the packet: NXDOMAIN"
	is "$(count_lines "$(answers)")" 0 "$t NXDOMAIN: no answer records"
	like "$(section AUTHORITY SOA)" "^$KA\\. [0-9]+ IN SOA " "$t NXDOMAIN: the key's SOA in authority"
	check_flags "$t NXDOMAIN"

	q "$@" "www.$KA" TXT
	is "$(status)" NOERROR "$t NODATA (www has no TXT): NOERROR"
	is "$(count_lines "$(answers)")" 0 "$t NODATA: empty answer section"
	like "$(section AUTHORITY SOA)" "^$KA\\. [0-9]+ IN SOA " "$t NODATA: the key's SOA in authority"

	q "$@" "wild.$KA" A
	is "$(status) $(count_lines "$(answers)")" "NOERROR 0" "$t empty non-terminal above a wildcard: NODATA"
}

records udp
# Over TCP the answers come from the answer cache: at least a second
# older, so a TTL that does not count down fails ttl_age.
sleep 1
records tcp +tcp

# An answer built straight from the packet over TCP, not from the answer
# cache (no UDP query for this name before).
q +tcp "first-over-tcp.wild.$KA" A
is "$(status) $(rdata A)" "NOERROR 192.0.2.12" "tcp: a fresh name answered over TCP"

# --- key case -------------------------------------------------------------------
UPA=$(upcase "$KA")
q "WWW.$UPA" A
is "$(status) $(rdata A)" "NOERROR 192.0.2.11" "key in upper case: answered"
is "$(answers A | cut -d' ' -f1)" "WWW.$UPA." "key in upper case: owner echoes the question's case"
like "$OUT" ";WWW\\.$UPA\\.[[:space:]]+IN[[:space:]]+A" "key in upper case: question echoed as asked"
MIXA=$(mixcase "$KA")
q "$MIXA" AAAA
is "$(status) $(rdata AAAA)" "NOERROR 2001:db8::10" "key in mixed case: answered"
is "$(answers AAAA | cut -d' ' -f1)" "$MIXA." "key in mixed case: owner echoes the question's case"
q "NoSuch.$MIXA" A
is "$(status)" NXDOMAIN "key in mixed case, missing name: NXDOMAIN"

# --- a key with no packet -----------------------------------------------------------
# by pkdns's own clock (the query log): a loaded machine's slow dig is not
# in it
elapsed_q "$KE" A
is "$(status)" NXDOMAIN "key with no packet: NXDOMAIN"
like "$(section AUTHORITY SOA)" "^$KE\\. [0-9]+ IN SOA " "key with no packet: a SOA for the key in authority"
ms=$(qlog_ms "$KE" A NXDOMAIN)
cmp_ok "${ms:-99999}" -lt 3000 "key with no packet: answered within 3 s ($ms ms by pkdns's clock, $MS ms for dig)"
q "www.$KE" A
is "$(status)" NXDOMAIN "key with no packet, subdomain: NXDOMAIN (negative cached)"

# --- --tld key ----------------------------------------------------------------------
q "www.$KA.key" A
is "$(status) $(rdata A)" "NOERROR 192.0.2.11" "--tld key: www.<key>.key resolves"
is "$(answers A | cut -d' ' -f1)" "www.$KA.key." "--tld key: owner under .key"
q "$KA.KEY" AAAA
is "$(status) $(rdata AAAA)" "NOERROR 2001:db8::10" "--tld key: <key>.KEY (suffix in upper case)"
is "$(answers AAAA | cut -d' ' -f1)" "$KA.KEY." "--tld key: owner echoes the suffix's case"
q "alias.$KA.key" A
is "$(answers | cut -d' ' -f1,4 | tr '\n' '|')" "alias.$KA.key. CNAME|www.$KA.key. A|" \
	"--tld key: CNAME chain, both owners under .key"
is "$(rdata CNAME)" "www.$KA.key." "--tld key: the CNAME's target under .key too (chain stays consistent)"
q "icann.$KA.key" A
is "$(status) $(rdata A | tr '\n' ' ')" "NOERROR 192.0.2.1 192.0.2.2 " "--tld key: CNAME to an ICANN name resolves"
is "$(answers CNAME | cut -d' ' -f1,5)" "icann.$KA.key. www.e2e.example." \
	"--tld key: CNAME to an ICANN name: its owner is the question's name (under .key)"
q "other.$KA.key" A
is "$(answers | cut -d' ' -f1,4,5 | tr '\n' '|')" "other.$KA.key. CNAME $KB.key.|$KB.key. A 192.0.2.77|" \
	"--tld key: CNAME into key B: a consistent chain under .key"
q "nosuch.$KA.key" A
is "$(status)" NXDOMAIN "--tld key: missing name: NXDOMAIN"
like "$(section AUTHORITY SOA)" "^$KA\\.key\\. [0-9]+ IN SOA " "--tld key: NXDOMAIN's SOA owner under .key"
q "www.$KA.notkey" A
isnt "$(status) $(rdata A)" "NOERROR 192.0.2.11" "--tld key: another suffix is not a key TLD"

# --- search domains the OS appends (--search-domain lan, home.arpa) -------------------
q "$KA.lan" AAAA
is "$(status) $(rdata AAAA)" "NOERROR 2001:db8::10" "--search-domain lan: <key>.lan resolves"
is "$(answers AAAA | cut -d' ' -f1)" "$KA.lan." "  ... owner under .lan"
q "www.$KA.home.arpa" A
is "$(status) $(rdata A)" "NOERROR 192.0.2.11" "--search-domain home.arpa (two labels): www.<key>.home.arpa resolves"
is "$(answers A | cut -d' ' -f1)" "www.$KA.home.arpa." "  ... owner under .home.arpa"
q "alias.$KA.HOME.ARPA" A
# names are compared without case: compression may carry the question's
# spelling into the other names
is "$(answers | cut -d' ' -f1,4 | tr '\n' '|' | tr 'A-Z' 'a-z')" "alias.$KA.home.arpa. cname|www.$KA.home.arpa. a|" \
	"  ... a CNAME chain stays under the suffix (question in upper case)"
q "www.$KA.arpa" A
isnt "$(status) $(rdata A)" "NOERROR 192.0.2.11" "  ... only the whole suffix counts (.arpa alone is not one)"

# --- CNAME into a second key ---------------------------------------------------------
q "other.$KA" A
is "$(status)" NOERROR "CNAME into key B: NOERROR"
is "$(answers | cut -d' ' -f1,4,5 | tr '\n' '|')" "other.$KA. CNAME $KB.|$KB. A 192.0.2.77|" \
	"CNAME into key B: A's CNAME, then B's apex A"
check_flags "CNAME into key B"
q +tcp "other.$KA" A
is "$(rdata A)" "192.0.2.77" "CNAME into key B over TCP"

# --- CNAME loops ----------------------------------------------------------------------
# found at once, not left to the deadline (stale wait 1.8 s, SERVFAIL 4 s):
# by pkdns's own clock (the query log), which a loaded machine running dig
# slowly does not stretch
for n in loop1 self xloop; do
	elapsed_q "$n.$KA" A
	is "$(status)" SERVFAIL "CNAME loop ($n): SERVFAIL"
	ms=$(qlog_ms "$n.$KA" A SERVFAIL)
	cmp_ok "${ms:-99999}" -lt 1500 "CNAME loop ($n): answered within 1.5 s ($ms ms by pkdns's clock, $MS ms for dig)"
done
q "loop1.$KA" CNAME
is "$(status) $(rdata CNAME)" "NOERROR loop2.$KA." "CNAME loop: qtype CNAME gives the CNAME itself"

# --- truncation ---------------------------------------------------------------------------
q +noedns +ignore "big.$KC" TXT
is "$(status)" NOERROR "big TXT over UDP without EDNS: NOERROR"
ok "big TXT over UDP without EDNS: TC=1" has_flag tc
cmp_ok "$(msg_size)" -le 512 "big TXT over UDP without EDNS: reply <= 512 bytes"
q +noedns +tcp "big.$KC" TXT
is "$(count_lines "$(answers TXT)")" 6 "big TXT over TCP: all 6 records"
cmp_ok "$(msg_size)" -gt 512 "big TXT over TCP: reply > 512 bytes"
ok "big TXT over TCP: TC=0" eval '! has_flag tc'
q "big.$KC" TXT
is "$(count_lines "$(answers TXT)")" 6 "big TXT: dig with EDNS gets all 6 over UDP"

# --- kdig and drill ---------------------------------------------------------------------
if command -v kdig >/dev/null 2>&1; then
	out=$(timeout -k 1 10 kdig @127.0.0.1 -p "$PKDNS_PORT" +time=3 +retry=0 "www.$KA" A 2>&1)
	like "$out" "status: NOERROR" "kdig UDP: NOERROR"
	like "$out" "www\\.$KA\\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+A[[:space:]]+192\\.0\\.2\\.11" "kdig UDP: the A record"
	out=$(timeout -k 1 10 kdig @127.0.0.1 -p "$PKDNS_PORT" +tcp +time=3 +retry=0 "_pubky.$KA" HTTPS 2>&1)
	like "$out" "_pubky\\.$KA\\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+HTTPS[[:space:]]+1 \\. alpn=h2 port=8443" \
		"kdig TCP: the HTTPS record"
	out=$(timeout -k 1 10 kdig @127.0.0.1 -p "$PKDNS_PORT" +time=3 +retry=0 "nosuch.$KA" A 2>&1)
	like "$out" "status: NXDOMAIN" "kdig: NXDOMAIN"
else
	skip "kdig tests" "kdig not installed"
fi
if command -v drill >/dev/null 2>&1; then
	out=$(timeout -k 1 10 drill -p "$PKDNS_PORT" "txt.$KA" @127.0.0.1 TXT 2>&1)
	like "$out" "rcode: NOERROR" "drill UDP: NOERROR"
	like "$out" "txt\\.$KA\\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+TXT[[:space:]]+\"one\" \"two two\" \"three;four\"" \
		"drill UDP: the TXT record"
	out=$(timeout -k 1 10 drill -t -p "$PKDNS_PORT" "other.$KA" @127.0.0.1 A 2>&1)
	like "$out" "$KB\\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+A[[:space:]]+192\\.0\\.2\\.77" "drill TCP: CNAME into key B"
else
	skip "drill tests" "drill not installed"
fi

# --- 50 concurrent queries, one DHT look-up ---------------------------------------------
before=$(stat_counter "dht look-ups")
like "$before" '^[0-9]+$' "stats line (SIGUSR1) has a DHT look-up count"
r=$(burst 50 "n%d.$KD" 192.0.2.99 spread)
like "$r" "^sent=50 replies=50 noerror=50 right=50 " "50 concurrent clients under one uncached key: all answered with the record"
after=$(stat_counter "dht look-ups")
is "$((after - before))" 1 "50 concurrent clients under one uncached key: exactly one DHT look-up"
r=$(burst 20 "m%d.$KD" 192.0.2.99)
like "$r" "^sent=20 replies=20 noerror=20 right=20 " "20 more names under the now-cached key: all answered"
is "$(stat_counter "dht look-ups")" "$after" "  ... with no further DHT look-up"

pkdns_stop
done_testing
