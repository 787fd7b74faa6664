#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# pkdns e2e: the rebinding policy (private-address, private-domain,
# private-key, private-address-loopback-exempt) on pkarr and ICANN
# answers, and the pkarr path's Extended DNS Errors (RFC 8914): "no
# packet for this key on the DHT" and "DHT unreachable".
#
# Clients here are all on loopback (127.0.0.1), so the policy is applied
# to them by turning private-address-loopback-exempt off; then the same
# answers with the knob at its default (exempt) keep every address.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
. "$E2E_DIR/pkarr_lib.sh"
require_pkarr

ede() {
	local l
	l=$(printf '%s\n' "$OUT" | grep -E '^;;? EDE: ' | head -n 1)
	echo "${l:-none}"
}
list() { rdata "$1" | tr '\n' ' ' | sed 's/ $//'; }

Z=$TMPD/zones
mkdir -p "$Z"
{
	echo '$TTL 300'
	echo '@ IN SOA ns1 hostmaster 1 3600 900 604800 300'
	echo '@ IN NS ns1'
	echo 'ns1 IN A 127.0.0.1'
	echo 'www IN A 10.1.1.1'
	echo 'www IN A 192.0.2.80'
	echo 'nas.lan IN A 192.168.1.5'
} >"$Z/rebind.example.zone"
nsd_start e2e.example="$E2E_DATA/e2e.example.zone" rebind.example="$Z/rebind.example.zone"

KA=$(new_key a)
KB=$(new_key b)
KN=$(new_key n) # never published
KN2=$(new_key n2) # nor this one (the answer cache keeps no EDE: a fresh key for kdig)
printf '$TTL 300\n@ IN A 192.168.1.1\n@ IN A 192.0.2.7\nwww IN AAAA fd00::1\n' >"$Z/a.zone"
printf '$TTL 300\n@ IN A 10.0.0.1\n' >"$Z/b.zone"

POLICY="--private-address 192.168.0.0/16 --private-address 10.0.0.0/8 --private-address fd00::/8
	--private-key $KB --private-domain lan.rebind.example --tld key"
# shellcheck disable=SC2086
pkarr_start $POLICY --private-address-loopback-exempt no --log-queries yes
publish a "$Z/a.zone"
is "$RC" 0 "publish key A (a private and a public address)"
publish b "$Z/b.zone"
is "$RC" 0 "publish key B (a private address; a private-key)"

# --- pkarr EDE texts ---------------------------------------------------------
q "$KN" A
is "$(status)" NXDOMAIN "a key with no packet: NXDOMAIN"
like "$(ede)" '^; EDE: 0 \(Other\): \(no packet for this key on the DHT\)' \
	"  ... with the EXTRA-TEXT \"no packet for this key on the DHT\""
OUT=$(timeout -k 1 30 kdig @127.0.0.1 -p "$PKDNS_PORT" +time=4 +retry=0 +edns "$KN2" A 2>&1)
like "$(ede)" "^;; EDE: 0 \(Other\): 'no packet for this key on the DHT'" "  ... as kdig reads it"
like "$(grep -E "pkdns\[query\] [a-z]+: 127\.0\.0\.1 $KN\. A udp pkarr NXDOMAIN" "$PKDNS_LOG" | head -n 1)" \
	'cache=miss$' "query log: the pkarr path"

# --- the policy on a non-exempt client ---------------------------------------
q "$KA" A
is "$(status) $(list A)" "NOERROR 192.0.2.7" "pkarr: the private address is removed, the public one kept"
like "$(ede)" '^; EDE: 17 \(Filtered\)' "  ... with EDE 17 Filtered"
q "$KA" A
is "$(status) $(list A)" "NOERROR 192.0.2.7" "  ... and from the answer cache too"
q "www.$KA" AAAA
is "$(status) $(count_lines "$(answers)")" "NOERROR 0" \
	"only a private address: NOERROR with no answer (NODATA, as unbound)"
q "$KB" A
is "$(status) $(list A)" "NOERROR 10.0.0.1" "private-key: its private address is kept"
q "$KB.key" A
is "$(status) $(list A)" "NOERROR 10.0.0.1" "  ... under the tld suffix too"
is "$(ede)" none "  ... and no EDE"
q www.rebind.example A
is "$(status) $(list A)" "NOERROR 192.0.2.80" "ICANN: the private address is removed too"
q nas.lan.rebind.example A
is "$(status) $(list A)" "NOERROR 192.168.1.5" "private-domain: the name under it keeps its private address"
pkdns_stop

# --- loopback exempt (the default) -------------------------------------------
# shellcheck disable=SC2086
pkarr_start $POLICY
publish a "$Z/a.zone"
q "$KA" A
is "$(status) $(list A)" "NOERROR 192.0.2.7 192.168.1.1" "an exempt (loopback) client gets every address"
is "$(ede)" none "  ... and no EDE"
q www.rebind.example A
is "$(status) $(list A)" "NOERROR 10.1.1.1 192.0.2.80" "  ... ICANN answers too"
pkdns_stop

# --- DHT unreachable ---------------------------------------------------------
DEAD=$(pick_port)
pkdns_start -f 127.0.0.1:"$NSD_PORT" --dnssec no --dht-mode client --dht-port 0 \
	--bootstrap 127.0.0.1:"$DEAD" --log-servfail yes
QTIME=8
q "$KA" A
is "$(status)" SERVFAIL "no DHT node answers: SERVFAIL"
like "$(ede)" '^; EDE: 22 \(No Reachable Authority\): \((DHT unreachable|no answer from the DHT in time)\)' \
	"  ... with EDE 22 and the EXTRA-TEXT \"DHT unreachable\""
like "$(grep -E "pkdns\[servfail\] [a-z]+: 127\.0\.0\.1 $KA\. A udp pkarr: " "$PKDNS_LOG" | head -n 1)" \
	'pkarr: (DHT unreachable|no answer from the DHT in time)$' "log-servfail: the reason"
pkdns_stop
done_testing
