#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# /usr/lib/pkdns/dnsmasq.sh add|remove: make dnsmasq (dhcp.@dnsmasq[0])
# forward the key TLD to pkdns, or stop it doing so.
#
#   add     list server '/TLD/ADDR#PORT' and list rebind_domain 'TLD', from
#           pkdns's UCI listen, port and tld; an older server entry of
#           pkdns for the TLD (another port) is replaced
#   remove  takes out every '/TLD/ADDR#*' server entry and the
#           rebind_domain entry
#
# Idempotent: dnsmasq is reloaded only when its config changed, and only
# if it runs. Called by the uci-defaults script (install), the init
# script (each start) and the package's prerm (removal).
# OpenWrt's /bin/sh is busybox ash, which has 'local' as dash does;
# config_get sets the variables it names.
# shellcheck shell=dash disable=SC2154
# shellcheck source=/dev/null
. "${IPKG_INSTROOT}/lib/functions.sh"

action=$1
config_load pkdns
config_get listen main listen 127.0.0.1
config_get port main port 5300
config_get tld main tld key
[ -n "$tld" ] || exit 0
# dnsmasq must reach pkdns on a concrete address
case "$listen" in
0.0.0.0 | "") addr=127.0.0.1 ;;
:: | "[::]") addr=::1 ;;
*) addr=$listen ;;
esac
want="/$tld/$addr#$port"
D='dhcp.@dnsmasq[0]'

uci -q get "$D" >/dev/null || exit 0 # no dnsmasq configured
changed=0

# Drop pkdns's server entries for the TLD other than $want ("remove": all).
for s in $(uci -q get "$D.server"); do
	case "$s" in
	"/$tld/$addr#"*)
		if [ "$action" = remove ] || [ "$s" != "$want" ]; then
			uci -q del_list "$D.server=$s"
			changed=1
		fi
		;;
	esac
done

has() { # LIST-OPTION VALUE
	local v
	for v in $(uci -q get "$D.$1"); do
		[ "$v" = "$2" ] && return 0
	done
	return 1
}

case "$action" in
add)
	if ! has server "$want"; then
		uci add_list "$D.server=$want"
		changed=1
	fi
	if ! has rebind_domain "$tld"; then
		uci add_list "$D.rebind_domain=$tld"
		changed=1
	fi
	;;
remove)
	if has rebind_domain "$tld"; then
		uci -q del_list "$D.rebind_domain=$tld"
		changed=1
	fi
	;;
*)
	echo "usage: $0 add|remove" >&2
	exit 2
	;;
esac

if [ "$changed" = 1 ]; then
	uci commit dhcp
	# not while an image is built (IPKG_INSTROOT): nothing runs there
	if [ -z "${IPKG_INSTROOT}" ] && /etc/init.d/dnsmasq running 2>/dev/null; then
		/etc/init.d/dnsmasq reload
	fi
fi
exit 0
