#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# test_openwrt.sh: the OpenWrt package's shell scripts (contrib/openwrt/
# files), checked off the router. TAP on stdout.
#
#  - `sh -n` and shellcheck (when installed) on the init, uci-defaults,
#    dnsmasq-hook and NTP-hotplug scripts;
#  - the init script's write_conf, fed the shipped /etc/config/pkdns
#    through a stand-in of OpenWrt's /lib/functions.sh, writes a
#    pkdns.conf that the real pkdns accepts: it starts on it and answers;
#  - the dnsmasq hook against a stand-in `uci` holding dhcp.@dnsmasq[0]:
#    add puts in the server and rebind_domain entries once, a new port
#    replaces the old entry, remove takes out what add put in and leaves
#    the user's own entries alone.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
export top_srcdir
. "$top_srcdir/tests/e2e/lib.sh"
F=$top_srcdir/contrib/openwrt/files
SCRIPTS="pkdns.init pkdns-dnsmasq.sh pkdns.defaults pkdns.ntpd"

# --- static checks -----------------------------------------------------------
for s in $SCRIPTS; do
	ok "sh -n $s" sh -n "$F/$s"
done
if command -v shellcheck >/dev/null; then
	for s in $SCRIPTS; do
		out=$(cd "$F" && shellcheck -S style "$s" 2>&1)
		is "$out" "" "shellcheck $s"
	done
else
	skip "shellcheck" "shellcheck not installed (Debian: shellcheck)"
fi

# --- a stand-in of OpenWrt's UCI shell API ------------------------------------
ROOT=$TMPD/root
mkdir -p "$ROOT/lib" "$ROOT/etc/config" "$TMPD/bin"
cp "$F/pkdns.config" "$ROOT/etc/config/pkdns"
# config_load NAME parses $IPKG_INSTROOT/etc/config/NAME (option and list
# lines with single-quoted values) into shell variables, as the real one.
cat >"$ROOT/lib/functions.sh" <<'EOF'
config_load() {
	_cfg=$(awk -v q="'" '
		$1 == "config" { gsub(q, "", $3); sec = $3; next }
		$1 == "option" || $1 == "list" {
			name = $2; $1 = ""; $2 = ""; v = $0
			sub(/^ */, "", v); gsub(q, "", v)
			print $0 == "" ? "" : sec "\t" name "\t" v
		}' "${IPKG_INSTROOT}/etc/config/$1" | grep -v '^$')
}
config_get() { # VAR SECTION OPTION [DEFAULT]
	local v
	v=$(printf '%s\n' "$_cfg" | awk -F '\t' -v s="$2" -v o="$3" '$1 == s && $2 == o { print $3 }' | tr '\n' ' ' | sed 's/ $//')
	[ -n "$v" ] || v=$4
	eval "$1=\$v"
}
config_get_bool() {
	local _b
	config_get _b "$2" "$3" "$4"
	case "$_b" in 1 | on | true | yes | enabled) _b=1 ;; *) _b=0 ;; esac
	eval "$1=\$_b"
}
config_list_foreach() { # SECTION OPTION FUNC ARGS...
	local s=$1 o=$2 f=$3 v
	shift 3
	printf '%s\n' "$_cfg" | awk -F '\t' -v s="$s" -v o="$o" '$1 == s && $2 == o { print $3 }' >"$TMPD/.list"
	while read -r v; do "$f" "$v" "$@"; done <"$TMPD/.list"
}
EOF
export IPKG_INSTROOT=$ROOT

# --- write_conf: the shipped UCI config gives a pkdns.conf pkdns accepts -----
CONF=$TMPD/pkdns.conf
(
	# rc.common runs the init script's functions in a shell with these
	# loaded; only the function definitions are wanted here.
	. "$ROOT/lib/functions.sh"
	. "$F/pkdns.init"
	config_load pkdns
	write_conf main
) >"$CONF" 2>"$TMPD/write_conf.err"
is "$(cat "$TMPD/write_conf.err")" "" "write_conf: no errors"
ok "write_conf: listen from listen and port" grep -qx 'listen: 127\.0\.0\.1:5300' "$CONF"
ok "write_conf: dht_mode becomes dht-mode" grep -qx 'dht-mode: client' "$CONF"
ok "write_conf: dnssec '0' becomes no" grep -qx 'dnssec: no' "$CONF"
ok "write_conf: list forward" grep -qx 'forward: 127\.0\.0\.1:53' "$CONF"
ok "write_conf: list private_address (the rebinding policy)" grep -qx 'private-address: 192\.168\.0\.0/16' "$CONF"
ok "write_conf: private_address_loopback_exempt '0' becomes no (queries come from dnsmasq)" \
	grep -qx 'private-address-loopback-exempt: no' "$CONF"
unlike "$(cat "$CONF")" 'enabled|dnsmasq|conf-file' "write_conf: no keys of the init script's own"
diag "$(cat "$CONF")"

if [ -x "$PKDNS" ]; then
	# The generated file as it is; -l and --cache-dir (command line wins)
	# move it to a free port and a temporary folder, and no DHT traffic
	# leaves loopback (--bootstrap to a closed loopback port).
	mkdir -p "$TMPD/cache"
	PROBE_NAME=none pkdns_start -c "$CONF" --cache-dir "$TMPD/cache" --bootstrap 127.0.0.1:9
	q +time=10 +tries=1 localhost A
	isnt "$(status)" noreply "pkdns runs on the generated pkdns.conf and answers"
	pkdns_stop
else
	skip "pkdns starts on the generated pkdns.conf" "pkdns not built"
fi

# --- the dnsmasq hook against a stand-in uci ----------------------------------
# dhcp.@dnsmasq[0] as lines "OPTION=VALUE" in $UCI_DHCP.
export UCI_DHCP=$TMPD/dhcp
cat >"$TMPD/bin/uci" <<'EOF'
#!/bin/sh
[ "$1" = -q ] && shift
cmd=$1
arg=$2
D='dhcp.@dnsmasq[0]'
case "$cmd" in
get)
	[ "$arg" = "$D" ] && { [ -f "$UCI_DHCP" ]; exit; }
	opt=${arg#"$D."}
	v=$(sed -n "s/^$opt=//p" "$UCI_DHCP" | tr '\n' ' ' | sed 's/ $//')
	[ -n "$v" ] && echo "$v"
	;;
add_list)
	opt=${arg#"$D."}
	echo "$opt" >>"$UCI_DHCP"
	;;
del_list)
	opt=${arg#"$D."}
	grep -vxF -- "$opt" "$UCI_DHCP" >"$UCI_DHCP.new"
	mv "$UCI_DHCP.new" "$UCI_DHCP"
	;;
commit)
	echo "$arg" >>"$UCI_DHCP.commits"
	;;
esac
EOF
chmod +x "$TMPD/bin/uci"
PATH=$TMPD/bin:$PATH
export PATH
hook() { sh "$F/pkdns-dnsmasq.sh" "$@"; }

printf 'server=/lan.example/192.0.2.1\nrebind_domain=plex.direct\n' >"$UCI_DHCP"
before=$(cat "$UCI_DHCP")
hook add
is "$(grep -c '^server=/key/127.0.0.1#5300$' "$UCI_DHCP") $(grep -c '^rebind_domain=key$' "$UCI_DHCP")" "1 1" \
	"add: server /key/127.0.0.1#5300 and rebind_domain key"
is "$(wc -l <"$UCI_DHCP.commits" | tr -d ' ')" 1 "add: one uci commit"
hook add
is "$(grep -c 'key' "$UCI_DHCP") $(wc -l <"$UCI_DHCP.commits" | tr -d ' ')" "2 1" \
	"add again: nothing added, no commit"
sed -i "s/^\([[:space:]]*option port\) .*/\1 '5353'/" "$ROOT/etc/config/pkdns"
hook add
is "$(grep '^server=/key/' "$UCI_DHCP")" "server=/key/127.0.0.1#5353" "add after a port change: the entry follows"
hook remove
is "$(cat "$UCI_DHCP")" "$before" "remove: back to the user's own entries"
rm -f "$UCI_DHCP"
hook add
ok "add without a dnsmasq section: does nothing" test ! -e "$UCI_DHCP"

done_testing
