#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# pkdns e2e: the forwarder recipes in contrib/, each with the real
# program in front of pkdns. pkdns runs on its default configuration
# (tld: key) with its DHT testnet; a key whose packet points to a private
# address is published with pkdns-cli. Then unbound and dnsmasq, each on
# a loopback port with the contrib/ file included as shipped (only the
# port 5300 replaced by pkdns's test port), are asked for <key>.key and
# www.<key>.key with dig. unbound validates (root trust anchor) and
# filters private addresses, dnsmasq has rebind protection on, as on a
# router: the recipes' domain-insecure, private-domain and
# rebind-domain-ok lines are what lets the answer through.
# systemd-resolved needs systemd as PID 1 and its D-Bus, which a test
# cannot start on a port of its own: its recipe is only checked for the
# one line that routes every key.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
. "$E2E_DIR/pkarr_lib.sh"
require_pkarr
require_tools dig nsd

CONTRIB=$top_srcdir/contrib
UNBOUND=${UNBOUND:-$(command -v unbound || echo /usr/sbin/unbound)}
DNSMASQ=${DNSMASQ:-$(command -v dnsmasq || echo /usr/sbin/dnsmasq)}
ANCHOR=/usr/share/dns/root.key
UB_PID=
DM_PID=

# Stop the forwarders this script started (by PID) on any exit, then
# lib.sh's own cleanup.
_recipes_cleanup() {
	local rc=$?
	[ -n "$UB_PID" ] && _kill_bounded "$UB_PID" 5
	[ -n "$DM_PID" ] && _kill_bounded "$DM_PID" 5
	UB_PID=""
	DM_PID=""
	(exit $rc)
	_cleanup
}
trap _recipes_cleanup EXIT

# A recipe as shipped, pointed at the test's pkdns instead of port 5300.
recipe() { # FILE
	sed -e "s/127\.0\.0\.1@5300/127.0.0.1@$PKDNS_PORT/g" \
		-e "s/127\.0\.0\.1#5300/127.0.0.1#$PKDNS_PORT/g" "$CONTRIB/$1"
}

# wait_answer PORT NAME TYPE CLASS PID: bounded wait until the forwarder
# on PORT answers a local name; 0 when it does.
wait_answer() {
	local i
	for i in $(seq 1 50); do
		_alive "$5" || return 1
		timeout -k 1 5 dig @127.0.0.1 -p "$1" +time=1 +tries=1 "$2" "$3" -c "$4" 2>/dev/null |
			grep -q 'status: NOERROR' && return 0
		sleep 0.2
	done
	return 1
}

# fwd PORT DIG-ARGS...: like q, against a forwarder's port.
fwd() {
	local port=$1
	shift
	OUT=$(timeout -k 1 30 dig @127.0.0.1 -p "$port" +time=8 +tries=1 "$@" 2>&1)
	RC=$?
}

nsd_start
# the default configuration: no --tld
pkarr_start

K=$(new_key home)
[ ${#K} -eq 52 ] || bail_out "pkdns-cli generate gave no key: '$K'"
# shellcheck disable=SC2016
printf '%s\n' '$TTL 300' '@ IN A 192.168.1.10' 'www IN CNAME @' \
	'* IN TXT "behind a forwarder"' >"$TMPD/home.zone"
publish home "$TMPD/home.zone"
is "$RC" 0 "publish the key: exit 0"
[ "$RC" -eq 0 ] || bail_out "cannot publish to the testnet: $POUT"

# --- pkdns itself: <key>.key on the default configuration ------------------
q "$K.key" A
is "$(status) $(rdata A)" "NOERROR 192.168.1.10" "default config: <key>.key resolves like <key>"
is "$(answers A | cut -d' ' -f1)" "$K.key." "default config: the owner is the name asked for"
q "www.$K.key" A
is "$(status) $(rdata A)" "NOERROR 192.168.1.10" "default config: www.<key>.key (CNAME inside the key)"
q "$K" A
is "$(status) $(rdata A)" "NOERROR 192.168.1.10" "default config: the bare key still resolves"

# --- unbound with contrib/unbound-forward.conf ------------------------------
if [ ! -x "$UNBOUND" ]; then
	skip "unbound recipe" "unbound not installed"
else
	d=$TMPD/unbound
	mkdir -p "$d"
	UB_PORT=$(pick_port)
	recipe unbound-forward.conf >"$d/pkdns.conf"
	{
		echo "server:"
		echo "  interface: 127.0.0.1"
		echo "  port: $UB_PORT"
		echo "  do-ip6: no"
		echo "  num-threads: 1"
		echo "  username: \"\""
		echo "  chroot: \"\""
		echo "  directory: \"$d\""
		echo "  pidfile: \"\""
		echo "  do-daemonize: no"
		echo "  use-syslog: no"
		echo "  verbosity: 1"
		echo "  access-control: 127.0.0.0/8 allow"
		# as a careful router would: validate, and keep private
		# addresses out of public names
		if [ -r "$ANCHOR" ]; then
			echo "  module-config: \"validator iterator\""
			echo "  trust-anchor-file: \"$ANCHOR\""
		fi
		echo "  private-address: 10.0.0.0/8"
		echo "  private-address: 172.16.0.0/12"
		echo "  private-address: 192.168.0.0/16"
		echo "remote-control:"
		echo "  control-enable: no"
		echo "include: \"$d/pkdns.conf\""
	} >"$d/unbound.conf"
	"$UNBOUND" -d -c "$d/unbound.conf" >"$d/unbound.log" 2>&1 &
	UB_PID=$!
	if ! wait_answer "$UB_PORT" version.server TXT CH "$UB_PID"; then
		bail_out "unbound did not start: $(tail -n 5 "$d/unbound.log")"
	fi
	[ -r "$ANCHOR" ] || diag "no $ANCHOR: unbound runs without validation"
	fwd "$UB_PORT" "$K.key" A
	is "$(status) $(rdata A)" "NOERROR 192.168.1.10" "unbound recipe: <key>.key through unbound"
	fwd "$UB_PORT" "www.$K.key" A
	is "$(status) $(rdata A)" "NOERROR 192.168.1.10" "unbound recipe: www.<key>.key through unbound"
	fwd "$UB_PORT" "txt.$K.key" TXT
	is "$(status) $(rdata TXT)" "NOERROR \"behind a forwarder\"" "unbound recipe: a wildcard TXT through unbound"
	ok "unbound still runs" _alive "$UB_PID"
	_kill_bounded "$UB_PID" 5
	UB_PID=
fi

# --- dnsmasq with contrib/dnsmasq-pkdns.conf --------------------------------
if [ ! -x "$DNSMASQ" ]; then
	skip "dnsmasq recipe" "dnsmasq not installed (Debian: dnsmasq-base)"
else
	d=$TMPD/dnsmasq
	mkdir -p "$d"
	chmod 755 "$TMPD" "$d" # dnsmasq started as root reads as nobody
	DM_PORT=$(pick_port)
	{
		echo "port=$DM_PORT"
		echo "listen-address=127.0.0.1"
		echo "bind-interfaces"
		echo "no-resolv"
		echo "no-hosts"
		echo "no-poll"
		echo "pid-file="
		echo "log-facility=-"
		# OpenWrt's default: drop answers with private addresses
		echo "stop-dns-rebind"
		recipe dnsmasq-pkdns.conf
	} >"$d/dnsmasq.conf"
	chmod 644 "$d/dnsmasq.conf"
	"$DNSMASQ" -k -C "$d/dnsmasq.conf" >"$d/dnsmasq.log" 2>&1 &
	DM_PID=$!
	if ! wait_answer "$DM_PORT" version.bind TXT CH "$DM_PID"; then
		bail_out "dnsmasq did not start: $(tail -n 5 "$d/dnsmasq.log")"
	fi
	fwd "$DM_PORT" "$K.key" A
	is "$(status) $(rdata A)" "NOERROR 192.168.1.10" "dnsmasq recipe: <key>.key through dnsmasq"
	fwd "$DM_PORT" "www.$K.key" A
	is "$(status) $(rdata A)" "NOERROR 192.168.1.10" "dnsmasq recipe: www.<key>.key through dnsmasq"
	fwd "$DM_PORT" "txt.$K.key" TXT
	is "$(status) $(rdata TXT)" "NOERROR \"behind a forwarder\"" "dnsmasq recipe: a wildcard TXT through dnsmasq"
	ok "dnsmasq still runs" _alive "$DM_PID"
	_kill_bounded "$DM_PID" 5
	DM_PID=
fi

# --- systemd-resolved: not runnable here; the routing line only ------------
like "$(grep -E '^(DNS|Domains)=' "$CONTRIB/resolved-pkdns.conf" | tr '\n' ' ')" \
	'^DNS=127\.0\.0\.1:5300 Domains=~key $' "resolved recipe: one routing-only domain ~key for every key"

pkdns_stop

# --- tld: none turns the suffix off -----------------------------------------
pkarr_start --tld none
publish home "$TMPD/home.zone" # a fresh testnet
is "$RC" 0 "tld none: publish the key again: exit 0"
q "$K" A
is "$(status) $(rdata A)" "NOERROR 192.168.1.10" "tld none: the bare key resolves"
q "$K.key" A
isnt "$(status) $(rdata A)" "NOERROR 192.168.1.10" "tld none: <key>.key is not a key name"
pkdns_stop
done_testing
