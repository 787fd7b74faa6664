#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# pkdns e2e: a validly signed packet dated 10 years ahead does not pin a
# key (issue 10, item 10). Two one-node DHTs on loopback: a malicious
# one that answers at once with the owner's key signed with seq = now +
# 10 years (BEP 44 seq is the pkarr timestamp; a leaked or misused key,
# or a publisher with a wrong clock, can sign it), and an honest one that
# holds the owner's current packet and answers 0.7 s later. pkdns must
# refuse the future packet, still take the current one from the same
# look-up (the look-up reports only seqs above the best seen), and keep
# serving it.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
. "$E2E_DIR/pkarr_lib.sh"
require_pkarr

HONEST_PID=
_future_cleanup() {
	local rc=$?
	[ -n "$HONEST_PID" ] && _kill_bounded "$HONEST_PID" 3
	(exit $rc)
	_pkarr_cleanup
}
trap _future_cleanup EXIT

nsd_start
# the malicious node (answers at once): $SLOW_PORT
slow_node_start 0
MAL=$SLOW_PORT
# the honest node (answers after 0.7 s)
HONEST=$(pick_port)
[ -n "$HONEST" ] || bail_out "no free port for the honest node"
"$PYTHON" "$E2E_DATA/pkarr_slow_node.py" --port "$HONEST" --delay 0.7 --lifetime 90 \
	>"$TMPD/honest.log" 2>&1 &
HONEST_PID=$!
wait_ready "$TMPD/honest.log" "$HONEST_PID" "the honest node"

K=$(new_key f)
[ ${#K} -eq 52 ] || bail_out "no key"
printf '%s\n' '$TTL 300' 'www IN A 192.0.2.42' >"$TMPD/f.zone"
CLI_NET="--bootstrap 127.0.0.1:$HONEST"
publish f "$TMPD/f.zone"
is "$RC" 0 "the current packet published on the honest node"

# www.<key> A 192.0.2.66, as a pkarr DNS message, signed with seq = now
# + 10 years on the malicious node
HEX=$("$PYTHON" - "$K" <<'EOF'
import struct, sys
key = sys.argv[1].encode()
name = bytes([3]) + b"www" + bytes([len(key)]) + key + b"\x00"
msg = struct.pack("!HHHHHH", 0, 0x8400, 0, 1, 0, 0)
msg += name + struct.pack("!HHIH", 1, 1, 300, 4) + bytes([192, 0, 2, 66])
print(msg.hex())
EOF
)
FUTURE=$(( ($(date +%s) + 10 * 365 * 86400) * 1000000 ))
OUTP=$("$CLI" --bootstrap 127.0.0.1:"$MAL" --timeout 10 dht put-mutable -k "$KEYS/f.seed" \
	--value-hex "$HEX" --seq "$FUTURE" 2>&1)
is "$?" 0 "a packet dated 10 years ahead stored on the malicious node"
OUTP=$("$CLI" --bootstrap 127.0.0.1:"$MAL" --timeout 10 dht get-mutable "$K" 2>&1)
like "$OUTP" "seq $FUTURE" "  ... which serves it"

pkdns_start -f 127.0.0.1:"$NSD_PORT" --dnssec no --dht-mode client --dht-port 0 \
	--bootstrap 127.0.0.1:"$MAL" --bootstrap 127.0.0.1:"$HONEST" -v -v
q "www.$K" A
is "$(status) $(rdata A)" "NOERROR 192.0.2.42" "the current packet wins over one dated 10 years ahead"
q "www.$K" A
is "$(status) $(rdata A)" "NOERROR 192.0.2.42" "  ... and stays"
unlike "$OUT" "192\\.0\\.2\\.66" "  ... the future packet is never served"
pkdns_stop

done_testing
