#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# pkdns e2e: the DHT over IPv6 (BEP 32). A pkdns DHT node on [::] (one
# dual-stack socket) stores a packet that pkdns-cli publishes over ::1;
# a second pkdns that knows only that node's IPv6 address resolves the
# key through it, and its routing table holds the node as an IPv6 node.
# With a DHT node bound to IPv4 only, none of this can happen.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
. "$E2E_DIR/pkarr_lib.sh"
require_pkarr
"$PYTHON" -c 'import socket; s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.bind(("::1", 0))' \
	2>/dev/null || skip_all "no IPv6 loopback (::1) on this host"

nsd_start

# The storing node: a pkdns whose DHT node is a server, alone on its network.
STORE_PORT=$(pick_port)
STORE_DNS=$(pick_port)
[ -n "$STORE_PORT" ] && [ -n "$STORE_DNS" ] || bail_out "no free ports"
"$PKDNS" -d -v -v --dht-mode server --dht-port "$STORE_PORT" --bootstrap "[::1]:9" \
	-l 127.0.0.1:"$STORE_DNS" -f 127.0.0.1:"$NSD_PORT" --dnssec no --ratelimit 0 \
	--dht-ratelimit 0 >"$TMPD/store.log" 2>&1 &
STORE_PID=$!
_store_cleanup() {
	local rc=$?
	[ -n "$STORE_PID" ] && _kill_bounded "$STORE_PID" 3
	(exit $rc)
	_pkarr_cleanup
}
trap _store_cleanup EXIT
for _ in $(seq 1 50); do
	grep -q 'DHT node on UDP port' "$TMPD/store.log" && break
	_alive "$STORE_PID" || bail_out "the storing pkdns exited: $(tail -n 3 "$TMPD/store.log")"
	sleep 0.1
done
like "$(cat "$TMPD/store.log")" "DHT node on UDP port $STORE_PORT \\(IPv4 and IPv6\\)" \
	"the DHT node takes part in both DHTs (one dual-stack socket)"

K=$(new_key v6)
[ ${#K} -eq 52 ] || bail_out "pkdns-cli generate gave no key: '$K'"
cat >"$TMPD/v6.zone" <<'Z'
$TTL 300
@     IN A    192.0.2.61
www   IN AAAA 2001:db8::61
Z
CLI_NET="--bootstrap [::1]:$STORE_PORT"
publish v6 "$TMPD/v6.zone"
is "$RC" 0 "publish over IPv6: exit 0"
like "$POUT" 'stored on 1 node$' "the packet is stored on the IPv6 node"

# The resolver: its only way into the DHT is the storing node's IPv6 address.
pkdns_start -f 127.0.0.1:"$NSD_PORT" --dnssec no --dht-mode client --dht-port 0 \
	--bootstrap "[::1]:$STORE_PORT" -v -v
like "$(cat "$PKDNS_LOG")" 'DHT node on UDP port [0-9]+ \(IPv4 and IPv6\)' "resolver: dual-stack DHT node"
q "www.$K" AAAA
is "$(status) $(rdata AAAA)" "NOERROR 2001:db8::61" "a key resolved through an IPv6-only DHT"
q "$K" A
is "$(status) $(rdata A)" "NOERROR 192.0.2.61" "  ... apex A from the same packet"
# the stats line SIGUSR1 asks for: waited for (10 s at most), not slept for
before=$(grep -c 'DHT nodes (IPv6' "$PKDNS_LOG")
kill -USR1 "$PKDNS_PID"
for _ in $(seq 1 100); do
	[ "$(grep -c 'DHT nodes (IPv6' "$PKDNS_LOG")" -gt "$before" ] && break
	sleep 0.1
done
n6=$(grep 'DHT nodes (IPv6' "$PKDNS_LOG" | tail -n 1 |
	sed -n 's/.* \([0-9][0-9]*\) DHT nodes (IPv6 \([0-9][0-9]*\)).*/\1 \2/p')
is "$n6" "1 1" "the resolver's routing table: the storing node, as an IPv6 node"
pkdns_stop

kill -TERM "$STORE_PID" 2>/dev/null
wait_exit "$STORE_PID" 10 || _kill_bounded "$STORE_PID" 1
STORE_PID=
is "$EXIT_STATUS" 0 "storing pkdns exits with status 0 on SIGTERM"
check_sanitizer_log "$TMPD/store.log"
done_testing
