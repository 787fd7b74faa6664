#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# pkdns e2e: a key whose only packet on the DHT is dated more than 5 min
# ahead of pkdns's clock (this host's clock is behind: a Raspberry Pi's
# fake-hwclock after a day off) gets SERVFAIL, a temporary failure, not
# NXDOMAIN, and no negative entry: asking again runs the look-up again.
# One one-node DHT on loopback holds the packet, signed with seq = now +
# 1 day; a second key with nothing published gets NXDOMAIN (the contrast).
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
. "$E2E_DIR/pkarr_lib.sh"
require_pkarr

nsd_start
slow_node_start 0
NODE=$SLOW_PORT

K=$(new_key g)
[ ${#K} -eq 52 ] || bail_out "no key"
E=$(new_key h)
[ ${#E} -eq 52 ] || bail_out "no second key"

# www.<key> A 192.0.2.77, as a pkarr DNS message, signed with seq = now +
# 1 day
HEX=$("$PYTHON" - "$K" <<'EOF'
import struct, sys
key = sys.argv[1].encode()
name = bytes([3]) + b"www" + bytes([len(key)]) + key + b"\x00"
msg = struct.pack("!HHHHHH", 0, 0x8400, 0, 1, 0, 0)
msg += name + struct.pack("!HHIH", 1, 1, 300, 4) + bytes([192, 0, 2, 77])
print(msg.hex())
EOF
)
AHEAD=$(( ($(date +%s) + 86400) * 1000000 ))
OUTP=$("$CLI" --bootstrap 127.0.0.1:"$NODE" --timeout 10 dht put-mutable -k "$KEYS/g.seed" \
	--value-hex "$HEX" --seq "$AHEAD" 2>&1)
is "$?" 0 "a packet dated a day ahead stored on the node"

gets() { grep -c '^get ' "$TMPD/slow.log"; }

pkdns_start -f 127.0.0.1:"$NSD_PORT" --dnssec no --dht-mode client --dht-port 0 \
	--bootstrap 127.0.0.1:"$NODE" -v -v
q "www.$E" A
is "$(status)" "NXDOMAIN" "a key with nothing on the DHT: NXDOMAIN"

G0=$(gets)
q "www.$K" A
is "$(status)" "SERVFAIL" "only a packet dated a day ahead: SERVFAIL, not NXDOMAIN"
unlike "$OUT" "192\\.0\\.2\\.77" "  ... the future packet is not served"
G1=$(gets)
cmp_ok "$G1" -gt "$G0" "  ... after asking the DHT"
like "$(cat "$PKDNS_LOG")" "dated more than [0-9]+ s ahead of the clock" \
	"  ... and the log says why"
q "www.$K" A
is "$(status)" "SERVFAIL" "asked again: SERVFAIL again"
G2=$(gets)
cmp_ok "$G2" -gt "$G1" "  ... from a new look-up (no negative entry was stored)"
pkdns_stop

done_testing
