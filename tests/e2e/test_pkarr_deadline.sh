#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# pkdns e2e: a client of the pkarr path gets its answer by the same
# deadline as an ICANN client (SERVFAIL at 4 s when nothing answers),
# whatever the task waits on: a CNAME into an ICANN name whose upstream
# never answers, an NS delegation whose glue address never answers.
# Twenty hanging delegations at once do not stop a working delegation
# from answering, during the hang or after it.
# The "never answers" servers are loopback black holes (they read every
# query and drop it). Glue carries no port, so the delegated servers
# listen on port 53 of spare loopback addresses: this needs root.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
. "$E2E_DIR/pkarr_lib.sh"
require_pkarr
[ "$(id -u)" = 0 ] || skip_all "binding port 53 for the delegated name servers needs root"

BH_PID=
BH53_PID=
DNSD_PID=
_dl_cleanup() {
	local rc=$?
	for p in "$BH_PID" "$BH53_PID" "$DNSD_PID"; do
		[ -n "$p" ] && _kill_bounded "$p" 3
	done
	(exit $rc)
	_pkarr_cleanup
}
trap _dl_cleanup EXIT

BHADDR=$(free53) || bail_out "no loopback address with port 53 free"
NSADDR=$(free53 "$BHADDR") || bail_out "no second loopback address with port 53 free"

blackhole() { # ADDR PORT LOG
	"$PYTHON" "$E2E_DIR/blackhole.py" serve --addr "$1" --port "$2" --lifetime 150 >"$3" 2>&1 &
	BHSTART=$!
	wait_ready "$3" "$BHSTART" "black hole on $1:$2"
}
BH_PORT=$(pick_port)
blackhole 127.0.0.1 "$BH_PORT" "$TMPD/bh.log"
BH_PID=$BHSTART
blackhole "$BHADDR" 53 "$TMPD/bh53.log"
BH53_PID=$BHSTART

K=$(new_key k)
[ ${#K} -eq 52 ] || bail_out "no key"

# a working delegated name server: nsd on $NSADDR:53 for ok.<key>
DNSD=$TMPD/deleg
mkdir -p "$DNSD"
cat >"$DNSD/ok.zone" <<Z
\$TTL 300
ok.$K. IN SOA ns.ok.$K. host.ok.$K. 1 3600 600 86400 60
ok.$K. IN NS ns.ok.$K.
ns.ok.$K. IN A $NSADDR
www.ok.$K. IN A 198.51.100.70
w2.ok.$K. IN A 198.51.100.71
st.ok.$K. 1 IN A 198.51.100.73
Z
cat >"$DNSD/ok2.zone" <<Z
\$TTL 300
ok2.$K. IN SOA ns.ok.$K. host.ok.$K. 1 3600 600 86400 60
ok2.$K. IN NS ns.ok.$K.
www.ok2.$K. IN A 198.51.100.72
Z
cat >"$DNSD/ok3.zone" <<Z
\$TTL 300
ok3.$K. IN SOA ns.ok.$K. host.ok.$K. 1 3600 600 86400 60
ok3.$K. IN NS ns.ok.$K.
w3.ok3.$K. IN A 198.51.100.74
Z
deleg_nsd_conf "$DNSD" "$NSADDR" "ok.$K=ok.zone" "ok2.$K=ok2.zone" "ok3.$K=ok3.zone"
deleg_nsd_start "$DNSD" "$NSADDR" "www.ok.$K"

# the ICANN upstream is the black hole on 127.0.0.1
# the query log gives how long pkdns took to answer, by its own clock: a
# loaded machine delays dig and this shell, not the daemon's timers
NSD_PORT=$BH_PORT PROBE_NAME=none pkarr_start --ratelimit 0 --log-queries yes --log-servfail yes
{
	echo '$TTL 300'
	echo '@ IN A 192.0.2.80'
	echo 'ext IN CNAME www.hang.example.'
	echo 'ok IN NS ns.ok'
	echo "ns.ok IN A $NSADDR"
	echo 'ok2 IN NS ns.ok'
	echo 'ok3 IN NS ns.ok'
	for i in $(seq 0 19); do echo "h$i IN NS bh"; done
	echo "bh IN A $BHADDR"
} >"$TMPD/k.zone"
publish k "$TMPD/k.zone"
is "$RC" 0 "publish a packet: a CNAME into ICANN, a working and 20 hanging delegations"
q "$K" A
is "$(status) $(rdata A)" "NOERROR 192.0.2.80" "the key answers"
q "www.ok.$K" A
is "$(status) $(rdata A)" "NOERROR 198.51.100.70" "the working delegation answers"

# The deadline fires 4 s after the query came, by pkdns's clock; a timer
# that a loaded (or sanitizer) build runs late is allowed 2 s. Without the
# deadline the client waits for libunbound, which tries a silent server
# far longer, or for ever.
elapsed_q "ext.$K" A
is "$(status)" SERVFAIL "CNAME into an ICANN name whose upstream never answers: SERVFAIL"
ms=$(qlog_ms "ext.$K" A SERVFAIL)
cmp_ok "${ms:-99999}" -lt 6000 "  ... within the deadline ($ms ms by pkdns's clock; $MS ms for dig)"
cmp_ok "${ms:-0}" -ge 3000 "  ... not before the stale-answer time has passed ($ms ms)"

elapsed_q "www.h0.$K" A
is "$(status)" SERVFAIL "NS delegation whose glue never answers: SERVFAIL"
ms=$(qlog_ms "www.h0.$K" A SERVFAIL)
cmp_ok "${ms:-99999}" -lt 6000 "  ... within the deadline ($ms ms by pkdns's clock; $MS ms for dig)"

# 20 hanging delegations at once; the working one asked in the middle
rss() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$PKDNS_PID/status"; }
rss0=$(rss)
burst 20 "www.h%d.$K" 192.0.2.1 spread >"$TMPD/burst.out" &
BURST=$!
sleep 1.5
elapsed_q "w2.ok.$K" A
is "$(status) $(rdata A)" "NOERROR 198.51.100.71" "a working delegation answers while 20 others hang"
# just past the 20 queries' deadline, a zone with no resolver yet
sleep 3.2
elapsed_q "www.ok2.$K" A
is "$(status) $(rdata A)" "NOERROR 198.51.100.72" "a delegation asked for the first time just after 20 hanging ones answers"
wait "$BURST"
BOUT=$(cat "$TMPD/burst.out")
diag "$BOUT" "RSS $rss0 kB before, $(rss) kB after 22 delegation resolvers"
like "$BOUT" "replies=20 .*rcodes=2$" "  ... and each of the 20 got SERVFAIL"
like "$(stat_counter servfail)" '^[0-9]+$' "the deadline's counters are in the stats line"

# the delegated server answers a 1-second record, then turns into a black
# hole: once the record has expired, the client gets it stale at 1.8 s
q "st.ok.$K" A
is "$(status) $(rdata A)" "NOERROR 198.51.100.73" "a 1-second record from the working delegation"
_kill_bounded "$DNSD_PID" 3
DNSD_PID=
blackhole "$NSADDR" 53 "$TMPD/bh53b.log"
DNSD_PID=$BHSTART
sleep 2
elapsed_q "st.ok.$K" A
is "$(status) $(rdata A)" "NOERROR 198.51.100.73" "its server hangs now: the expired answer is served (RFC 8767)"
# by pkdns's clock: the stale answer goes out when the 1.8 s timer fires
ms=$(qlog_ms "st.ok.$K" A NOERROR)
cmp_ok "${ms:-0}" -ge 1700 "  ... after the client response timer ($ms ms by pkdns's clock; $MS ms for dig)"
cmp_ok "${ms:-99999}" -lt 3500 "  ... well before the SERVFAIL deadline ($ms ms)"

# 300 names at once under a zone not asked before, while its server
# hangs: the zone's resolver (256 at most) is left full of queries nobody
# waits on once they had SERVFAIL. The server back, the next client is
# answered (a fresh resolver), not SERVFAIL at once until libunbound
# gives those up.
FOUT=$(timeout -k 1 40 "$PYTHON" "$E2E_DIR/blackhole.py" bulk --port "$PKDNS_PORT" \
	--count 300 --fmt "f%d.ok3.$K" --window 1000 --timeout 15)
diag "$FOUT"
like "$FOUT" "replies=300 " "300 names under a hanging delegation: each answered"
_kill_bounded "$DNSD_PID" 3
deleg_nsd_start "$DNSD" "$NSADDR" "www.ok.$K"
elapsed_q "w3.ok3.$K" A
diag "w3.ok3: $(status) in $MS ms"
is "$(status) $(rdata A)" "NOERROR 198.51.100.74" \
	"  ... its server back: the zone answers, its resolver full of abandoned queries replaced"

pkdns_stop

# --min-ttl 0: a key with no packet is not remembered as negative, and
# its waiting client used to rejoin a look-up as it ended and wait
# forever. Whatever it is answered, it is answered by the deadline (and
# the deadline must not touch the look-up freed under it: the sanitizer
# build checks that).
TESTNET_PORT=
NSD_PORT=$BH_PORT PROBE_NAME=none pkarr_start --min-ttl 0 --log-queries yes
U=$(new_key unpublished)
elapsed_q "$U" A
isnt "$(status)" noreply "--min-ttl 0, a key with no packet: a reply ($(status))"
ms=$(qlog_ms "$U" A)
cmp_ok "${ms:-99999}" -lt 6000 "  ... within the deadline ($ms ms by pkdns's clock; $MS ms for dig)"
elapsed_q "www.$U" A
isnt "$(status)" noreply "  ... and again for a name under it ($(status), $MS ms)"
pkdns_stop
done_testing
