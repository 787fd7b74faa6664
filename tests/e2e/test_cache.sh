#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# pkdns e2e: the answer cache. Cached answers (positive and negative,
# RFC 2308) outlive the upstream, the key ignores qname case, serve-stale
# (RFC 8767) answers expired records when the upstream fails, and a name
# never seen while the upstream is down gets SERVFAIL. How TTLs count
# down, to the second, is tests/harness/scenarios/icann_ttl_countdown.scn
# (virtual time: no sleep, no bound that a loaded machine can break).
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
require_pkdns

nsd_start
UP="-f 127.0.0.1:$NSD_PORT --dnssec no"
# shellcheck disable=SC2086
pkdns_start $UP --serve-stale yes --log-queries yes

f0=$(now)
q ttl.e2e.example A
f1=$(now)
is "$(status) $(rdata A)" "NOERROR 192.0.2.51" "first answer"
ttl_aged A 3600 "$f0" "$f1" "$f0" "$f1" "first answer: the zone's TTL ($(ttl_of A))"
q cached.e2e.example A
q cased.e2e.example A
q gone.e2e.example A
is "$(status)" NXDOMAIN "NXDOMAIN before the upstream stops"
q stale.e2e.example A
is "$(status) $(rdata A)" "NOERROR 192.0.2.54" "2-second record answered"
cmp_ok "$(ttl_of A)" -le 2 "  ... with TTL <= 2"

nsd_stop
# Not a timing check: serve-stale below needs stale.e2e.example (TTL 2)
# expired, and libunbound's whole seconds may keep it up to 1 s longer.
sleep 3.2
# shellcheck disable=SC2016
ok "upstream nsd is down" eval '! timeout 5 dig @127.0.0.1 -p $NSD_PORT +time=1 +tries=1 +norec cached.e2e.example | grep -q NOERROR'

q cached.e2e.example A
is "$(status) $(rdata A)" "NOERROR 192.0.2.50" "cached answer served after the upstream stopped"
cmp_ok "$(ttl_of A)" -lt 3600 "  ... with a TTL that has counted down"
q +tcp cached.e2e.example A
is "$(status) $(rdata A)" "NOERROR 192.0.2.50" "cached answer served over TCP too"
q CaSeD.E2E.example A
is "$(status) $(rdata A)" "NOERROR 192.0.2.53" "cache lookup ignores the case of the name"
like "$OUT" '^;CaSeD\.E2E\.example\.[[:space:]]+IN[[:space:]]+A' "  ... and the question echoes the client's spelling"
q gone.e2e.example A
is "$(status)" NXDOMAIN "cached NXDOMAIN served after the upstream stopped"

# With the upstream down, libunbound retries for a while; a stub gives up
# after about 5 s (dig, glibc): pkdns answers stale at 1.8 s (RFC 8767's
# client response timer) and SERVFAIL at 4 s. The bounds are on the time
# pkdns itself logs (--log-queries: from the query's arrival to the
# reply), which a loaded machine does not stretch as it does dig's start
# and this shell; dig is given 15 s, a bound only.
QTIME=15
elapsed_q stale.e2e.example A
is "$(status) $(rdata A)" "NOERROR 192.0.2.54" "serve-stale yes: the expired record is served when the upstream fails"
cmp_ok "$(ttl_of A)" -ge 1 "  ... with a TTL > 0 (RFC 8767 4)"
cmp_ok "$(ttl_of A)" -le 300 "  ... and a short one"
ms=$(qlog_ms stale.e2e.example A NOERROR)
cmp_ok "${ms:-99999}" -le 3000 "  ... within 3 s ($ms ms by pkdns's clock, $MS ms for dig)"
q stale.e2e.example A
is "$(status) $(rdata A)" "NOERROR 192.0.2.54" "serve-stale yes: asked again, the stale record is served again"

elapsed_q uncached.e2e.example A
is "$(status)" SERVFAIL "a name never seen gets SERVFAIL when the upstream is down ($MS ms for dig)"
ms=$(qlog_ms uncached.e2e.example A SERVFAIL)
cmp_ok "${ms:-99999}" -le 5000 "  ... within 5 s ($ms ms by pkdns's clock)"
q +tcp www.e2e.example A
is "$(status)" SERVFAIL "a second never-seen name: SERVFAIL over TCP"
ok "pkdns still running" _alive "$PKDNS_PID"
pkdns_stop

# --- serve-stale no ---
nsd_start
QTIME=4
# shellcheck disable=SC2086
pkdns_start $UP --serve-stale no
q stale.e2e.example A
is "$(status) $(rdata A)" "NOERROR 192.0.2.54" "serve-stale no: record answered while the upstream is up"
nsd_stop
sleep 3.5 # TTL 2 s; libunbound counts whole seconds and may answer (TTL 0) up to 1 s past it
QTIME=15
q stale.e2e.example A
is "$(status)" SERVFAIL "serve-stale no: SERVFAIL once it expired and the upstream is down"
pkdns_stop

# --- an upstream that never was ---
deadport=$(pick_port)
PROBE_NAME=none pkdns_start -f 127.0.0.1:"$deadport" --dnssec no
q www.e2e.example A
is "$(status)" SERVFAIL "upstream never reachable: SERVFAIL"
pkdns_stop

# --- a tiny cache still answers correctly while it evicts ---
nsd_start
QTIME=4
# shellcheck disable=SC2086
pkdns_start $UP --cache-size 4k
bad=0
for round in 1 2; do
	for i in 0 1 2 3 4 5 6 7 8 9 10 11; do
		q p$i.e2e.example A
		[ "$(rdata A)" = "192.0.2.$((100 + i))" ] || bad=$((bad + 1))
	done
	q huge.e2e.example TXT
	[ "$(count_lines "$(answers TXT)")" = 16 ] || bad=$((bad + 1))
done
is "$bad" 0 "--cache-size 4k: 26 answers, all right, while the cache evicts"
pkdns_stop

nsd_stop
done_testing
