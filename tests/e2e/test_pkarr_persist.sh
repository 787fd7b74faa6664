#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# pkdns e2e: the pkarr packet cache on disk (--cache-dir). A packet
# fetched from the DHT testnet survives a restart and is served with no
# DHT at all (--dht-mode off, then a dead bootstrap node); a packet
# tampered with on disk is verified again and not served.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
. "$E2E_DIR/pkarr_lib.sh"
require_pkarr

CACHE=$TMPD/cache
nsd_start
pkarr_start --cache-dir "$CACHE"

KP=$(new_key p)
KN=$(new_key n) # never asked for
[ ${#KP} -eq 52 ] || bail_out "pkdns-cli generate gave no key: '$KP'"
cat >"$TMPD/p.zone" <<'Z'
$TTL 300
@     IN A    192.0.2.41
www   IN A    192.0.2.42
_pubky IN TXT "persist-me-0123456789"
Z
publish p "$TMPD/p.zone"
is "$RC" 0 "publish: exit 0"
publish n "$TMPD/p.zone"
is "$RC" 0 "publish a second key: exit 0"

q "www.$KP" A
is "$(status) $(rdata A)" "NOERROR 192.0.2.42" "first run: answered from the DHT"
q "_pubky.$KP" TXT
is "$(rdata TXT)" '"persist-me-0123456789"' "first run: TXT"
ok "first run: the LMDB file exists" test -s "$CACHE/pkarr-packets.mdb"
pkdns_stop

# --- restart with no DHT ---------------------------------------------------------
pkdns_start -f 127.0.0.1:"$NSD_PORT" --dnssec no --cache-dir "$CACHE" -v -v
like "$(cat "$PKDNS_LOG")" 'packet cache: 1 packets' "restart, --dht-mode off: one packet loaded from disk"
q "www.$KP" A
is "$(status) $(rdata A)" "NOERROR 192.0.2.42" "restart, --dht-mode off: www answered from disk"
ttl=$(ttl_of A)
cmp_ok "$ttl" -le 300 "restart: TTL not above the record's 300"
q "$KP" A
is "$(status) $(rdata A)" "NOERROR 192.0.2.41" "restart, --dht-mode off: apex A from disk"
q +tcp "_pubky.$KP" TXT
is "$(status) $(rdata TXT)" 'NOERROR "persist-me-0123456789"' "restart, --dht-mode off: TXT over TCP from disk"
q "nosuch.$KP" A
is "$(status)" NXDOMAIN "restart, --dht-mode off: a name not in the stored packet: NXDOMAIN"
q "$KN" A
is "$(status)" SERVFAIL "restart, --dht-mode off: a key never fetched: SERVFAIL (no DHT to ask)"
is "$(stat_counter "dht look-ups")" 0 "restart, --dht-mode off: no DHT look-up"
pkdns_stop

dead_port
pkdns_start -f 127.0.0.1:"$NSD_PORT" --dnssec no --cache-dir "$CACHE" --dht-mode client \
	--bootstrap 127.0.0.1:"$DEAD" --dht-port 0 -v -v --log-queries yes
q "www.$KP" A
is "$(status) $(rdata A)" "NOERROR 192.0.2.42" "restart, dead bootstrap node: www answered from disk"
# dig waits up to 15 s (a bound); pkdns's own clock (the query log) says
# it failed before the 4 s deadline, which a loaded machine's slow dig
# cannot stretch
QTIME=15 elapsed_q "$KN" A
like "$(status)" '^(SERVFAIL|NXDOMAIN)$' "restart, dead bootstrap node: a key never fetched fails ($(status))"
ms=$(qlog_ms "$KN" A)
cmp_ok "${ms:-99999}" -lt 4000 "  ... before the 4 s deadline ($ms ms by pkdns's clock, $MS ms for dig)"
pkdns_stop

# --- a packet tampered with on disk -------------------------------------------------
# Flip one byte of the TXT string in every copy LMDB keeps: the signature
# no longer matches, so pkdns must not serve it.
n=$("$PYTHON" - "$CACHE/pkarr-packets.mdb" <<'PY'
import sys
path = sys.argv[1]
data = bytearray(open(path, "rb").read())
needle = b"persist-me-0123456789"
n, i = 0, data.find(needle)
while i >= 0:
    data[i] = ord("P")
    n += 1
    i = data.find(needle, i + 1)
open(path, "wb").write(data)
print(n)
PY
)
cmp_ok "$n" -ge 1 "tamper: the TXT string found in the LMDB file ($n copies)"
pkdns_start -f 127.0.0.1:"$NSD_PORT" --dnssec no --cache-dir "$CACHE" -v -v
q "_pubky.$KP" TXT
unlike "$OUT" 'Persist-me' "tampered packet on disk: the forged TXT is never served ($(status))"
isnt "$(status) $(rdata TXT)" 'NOERROR "persist-me-0123456789"' "tampered packet on disk: not served as it was either"
pkdns_stop

done_testing
