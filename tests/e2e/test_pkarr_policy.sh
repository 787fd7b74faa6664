#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# pkdns e2e: the rebinding policy (private-address, private-domain,
# private-key, private-address-loopback-exempt) on pkarr and ICANN
# answers, and the pkarr path's Extended DNS Errors (RFC 8914): "no
# packet for this key on the DHT" and "DHT unreachable".
#
# Loopback clients (127.0.0.1) get the policy by turning
# private-address-loopback-exempt off; with the knob at its default
# (exempt) they keep every address. A client in a network namespace that
# the test makes (root only) shows the default on a non-loopback client.
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
KN2=$(new_key n2) # nor this one (a key of its own for kdig)
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

# SIGHUP reloads the policy from the config file
printf 'private-address: 192.168.0.0/16\nprivate-address-loopback-exempt: no\n' >"$TMPD/hup.conf"
: >"$TMPD/empty.conf"
pkdns_stop
pkarr_start -c "$TMPD/empty.conf" --tld key
publish a "$Z/a.zone"
q "$KA" A
is "$(status) $(list A)" "NOERROR 192.0.2.7 192.168.1.1" "no private-address: the policy is off"
cp "$TMPD/hup.conf" "$TMPD/empty.conf"
kill -HUP "$PKDNS_PID"
wait_log 'configuration reloaded'
q "$KA" A
is "$(status) $(list A)" "NOERROR 192.0.2.7" "private-address added and SIGHUP: the policy applies"
pkdns_stop

# --- a real non-loopback client, in a network namespace ----------------------
# (root only; skipped where namespaces cannot be made). A veth pair joins
# the test's namespace to this one on a /30 of 10.253.0.0/16; pkdns
# listens there too, with the policy at its defaults (loopback exempt).
NS=pkdns-rb$$
VA=pkrb$$a
VB=pkrb$$b
SUB=10.253.$(($$ % 250)).
_ns_cleanup() {
	local rc=$?
	ip netns del "$NS" 2>/dev/null
	ip link del "$VA" 2>/dev/null
	(exit $rc)
	_pkarr_cleanup
}
if [ "$(id -u)" = 0 ] && ip netns add "$NS" 2>/dev/null; then
	trap _ns_cleanup EXIT
	if ip link add "$VA" type veth peer name "$VB" &&
		ip link set "$VB" netns "$NS" &&
		ip addr add "${SUB}1/30" dev "$VA" && ip link set "$VA" up &&
		ip netns exec "$NS" ip addr add "${SUB}2/30" dev "$VB" &&
		ip netns exec "$NS" ip link set "$VB" up &&
		ip netns exec "$NS" ip link set lo up; then
		NSPORT=$(pick_port)
		# shellcheck disable=SC2086
		pkarr_start $POLICY -l "${SUB}1:$NSPORT" --access-control "127.0.0.0/8 allow" \
			--access-control "${SUB}0/30 allow"
		publish a "$Z/a.zone"
		for i in $(seq 1 25); do # the veth's address may still be tentative
			OUT=$(ip netns exec "$NS" timeout -k 1 10 dig @"${SUB}1" -p "$NSPORT" +time=2 \
				+tries=1 "$KA" A 2>&1)
			[ "$(status)" = NOERROR ] && break
			sleep 0.2
		done
		is "$(status) $(list A)" "NOERROR 192.0.2.7" \
			"a client in another network namespace (${SUB}2): the private address is removed"
		like "$(ede)" '^; EDE: 17 \(Filtered\)' "  ... with EDE 17"
		q "$KA" A
		is "$(status) $(list A)" "NOERROR 192.0.2.7 192.168.1.1" \
			"  ... while a loopback client, exempt by default, gets both"
		pkdns_stop
	else
		skip "a client in a network namespace" "veth pair not possible here"
	fi
	ip netns del "$NS" 2>/dev/null
	ip link del "$VA" 2>/dev/null
else
	skip "a client in a network namespace" "not root, or ip netns does not work"
fi

# --- DHT unreachable ---------------------------------------------------------
dead_port
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
