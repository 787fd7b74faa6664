#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# pkdns e2e: NS records in a packet delegate a name. The packet says
# "sub NS ns.sub" with glue "ns.sub A <addr>"; an nsd on <addr> port 53
# serves the zone sub.<key>. pkdns must ask that name server and answer
# with what it says (positive, NXDOMAIN with its SOA, over UDP and TCP).
# A second key delegates to a name server named in the ICANN world
# (ns.deleg.e2e.example, no glue): pkdns finds its address first. A third
# delegates to a name server named under a fourth key, again with no
# glue: pkdns looks that key's packet up for the address.
# Name servers listen on port 53 (glue carries no port), so this needs
# root to bind it on a spare loopback address.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
. "$E2E_DIR/pkarr_lib.sh"
require_pkarr
[ "$(id -u)" = 0 ] || skip_all "binding port 53 for the delegated name server needs root"

DNSD=$TMPD/deleg
mkdir -p "$DNSD"
DNSD_PID=
_deleg_cleanup() {
	local rc=$?
	[ -n "$DNSD_PID" ] && _kill_bounded "$DNSD_PID" 3
	(exit $rc)
	_pkarr_cleanup
}
trap _deleg_cleanup EXIT

K=$(new_key d)
[ ${#K} -eq 52 ] || bail_out "no key"
K2=$(new_key d2)
[ ${#K2} -eq 52 ] || bail_out "no second key"
K3=$(new_key d3)
K4=$(new_key d4)
[ ${#K3} -eq 52 ] && [ ${#K4} -eq 52 ] || bail_out "no third or fourth key"

# a spare loopback address with port 53 free
NSADDR=$(free53) || bail_out "no loopback address with port 53 free"

cat >"$DNSD/sub.zone" <<Z
\$TTL 300
sub.$K. IN SOA ns.sub.$K. host.sub.$K. 1 3600 600 86400 60
sub.$K. IN NS ns.sub.$K.
ns.sub.$K. IN A $NSADDR
www.sub.$K. IN A 198.51.100.7
txt.sub.$K. IN TXT "served by the delegated name server"
Z
cat >"$DNSD/k2.zone" <<Z
\$TTL 300
$K2. IN SOA ns.deleg.e2e.example. host.e2e.example. 1 3600 600 86400 60
$K2. IN NS ns.deleg.e2e.example.
www.$K2. IN A 198.51.100.8
Z
cat >"$DNSD/k3.zone" <<Z
\$TTL 300
$K3. IN SOA ns.$K4. host.e2e.example. 1 3600 600 86400 60
$K3. IN NS ns.$K4.
www.$K3. IN A 198.51.100.9
mail.$K3. IN A 198.51.100.10
Z
deleg_nsd_conf "$DNSD" "$NSADDR" "sub.$K=sub.zone" "$K2=k2.zone" "$K3=k3.zone"
deleg_nsd_start "$DNSD" "$NSADDR" "www.sub.$K"

# the ICANN upstream's zone, plus the name server's address
{ cat "$E2E_DATA/e2e.example.zone"; echo "ns.deleg IN A $NSADDR"; } >"$TMPD/e2e.example.zone"
nsd_start e2e.example="$TMPD/e2e.example.zone" other.example="$E2E_DATA/other.example.zone"
pkarr_start --log-queries yes
printf '%s\n' '$TTL 300' '@ IN A 192.0.2.61' 'sub IN NS ns.sub' "ns.sub IN A $NSADDR" >"$TMPD/p.zone"
publish d "$TMPD/p.zone"
is "$RC" 0 "publish a packet that delegates sub.<key>"

q "www.sub.$K" A
is "$(status) $(rdata A)" "NOERROR 198.51.100.7" "a name under the delegation: answered by its name server"
like "$(flags)" 'ra' "  ... RA=1"
q +tcp "txt.sub.$K" TXT
is "$(status) $(rdata TXT)" 'NOERROR "served by the delegated name server"' "  ... over TCP too"
q "WWW.SUB.$(upcase "$K")" A
is "$(status) $(rdata A)" "NOERROR 198.51.100.7" "  ... in upper case"
q "nosuch.sub.$K" A
is "$(status)" NXDOMAIN "a name the delegated zone lacks: NXDOMAIN"
like "$OUT" "sub\\.$K\\.[[:space:]].*SOA" "  ... with the delegated zone's SOA"
q "$K" A
is "$(status) $(rdata A)" "NOERROR 192.0.2.61" "the apex is still answered from the packet"

# the whole second key delegated to ns.deleg.e2e.example, no glue
printf '%s\n' '$TTL 300' '@ IN NS ns.deleg.e2e.example.' >"$TMPD/k2p.zone"
publish d2 "$TMPD/k2p.zone"
is "$RC" 0 "publish a packet that delegates its key to an ICANN-named name server"
q "www.$K2" A
is "$(status) $(rdata A)" "NOERROR 198.51.100.8" "  ... its names are answered by that name server"
q "nosuch.$K2" A
is "$(status)" NXDOMAIN "  ... and its NXDOMAIN passed on"

# the third key delegated to ns.<fourth key>, whose own packet has the address
printf '%s\n' '$TTL 300' "ns IN A $NSADDR" >"$TMPD/k4p.zone"
publish d4 "$TMPD/k4p.zone"
is "$RC" 0 "publish the name server's key"
printf '%s\n' '$TTL 300' "@ IN NS ns.$K4." >"$TMPD/k3p.zone"
publish d3 "$TMPD/k3p.zone"
is "$RC" 0 "publish a packet that delegates to a name server under another key"
q "www.$K3" A
is "$(status) $(rdata A)" "NOERROR 198.51.100.9" \
	"name server under a key, no glue: its key looked up, then asked"
q "mail.$K3" A
is "$(status) $(rdata A)" "NOERROR 198.51.100.10" "  ... and again with that key's packet cached"

# a name server under a key that has no packet at all: a prompt SERVFAIL
K5=$(new_key d5)
K6=$(new_key d6)
printf '%s\n' '$TTL 300' "@ IN NS ns.$K5." >"$TMPD/k6p.zone"
publish d6 "$TMPD/k6p.zone"
is "$RC" 0 "publish a packet that delegates to a name server under a key with no packet"
elapsed_q "www.$K6" A
is "$(status)" SERVFAIL "  ... SERVFAIL"
like "$(cat "$PKDNS_LOG")" "$K5: look-up done" "  ... after a DHT look-up of the name server's key"
# prompt: once that look-up ends, not at the deadline (stale wait 1.8 s,
# SERVFAIL 4 s); by pkdns's clock, which a loaded machine's slow dig does
# not stretch
ms=$(qlog_ms "www.$K6" A SERVFAIL)
cmp_ok "${ms:-99999}" -lt 3000 "  ... within 3 s ($ms ms by pkdns's clock, $MS ms for dig)"

pkdns_stop
done_testing
