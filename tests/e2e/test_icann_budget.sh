#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# pkdns e2e: the ICANN path under a flood of names whose upstream never
# answers (a loopback "black hole" that reads and drops every query).
# Every client gets a reply by the deadline; the resolutions kept in
# libunbound are capped in total and per client (icann-max-per-client,
# not for the host's own 127.0.0.1), so memory levels off; identical
# questions share one resolution; the pkarr path keeps answering
# meanwhile; SIGTERM still stops pkdns at once.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
. "$E2E_DIR/pkarr_lib.sh"
require_pkarr

BH_PID=
_bh_cleanup() {
	local rc=$?
	[ -n "$BH_PID" ] && _kill_bounded "$BH_PID" 3
	(exit $rc)
	_pkarr_cleanup
}
trap _bh_cleanup EXIT

BH_PORT=$(pick_port)
"$PYTHON" "$E2E_DIR/blackhole.py" serve --port "$BH_PORT" --lifetime 180 >"$TMPD/bh.log" 2>&1 &
BH_PID=$!
wait_ready "$TMPD/bh.log" "$BH_PID" "black hole"

rss_kb() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$PKDNS_PID/status"; }
bulk() { # COUNT FMT CLIENTS [FIRST-ADDRESS]
	timeout -k 1 60 "$PYTHON" "$E2E_DIR/blackhole.py" bulk --port "$PKDNS_PORT" \
		--count "$1" --fmt "$2" --clients "$3" --first "${4:-127.0.0.1}" \
		--window 3000 --timeout 8
}
field() { printf '%s\n' "$1" | sed -n "s/.*$2=\([0-9]*\).*/\1/p"; }
# qlog_max TEXT: the longest pkdns took (ms, by its own clock: the query
# log) to answer a query whose line has TEXT, since qlog_mark, and how
# many such lines ("MS COUNT"). The deadline is asserted on it: the bulk
# client's own maxwait_ms also counts the time a loaded machine leaves
# the client's process waiting to read a reply that had come.
qlog_max() {
	tail -n +$((QLOG_FROM + 1)) "$PKDNS_LOG" | grep -F 'pkdns[query] ' | grep -F "$1" |
		sed -n 's/.* \([0-9][0-9]*\)ms cache=.*/\1/p' |
		awk 'BEGIN { m = 0; n = 0 } { n++; if ($1 > m) m = $1 } END { if (n) print m, n; else print "none", 0 }'
}

# the black hole is the only ICANN upstream; the pkarr path has its testnet;
# a per-client budget of 64 instead of the default 128
NSD_PORT=$BH_PORT PROBE_NAME=none pkarr_start --ratelimit 0 --stats-interval 0 \
	--icann-max-per-client 64 --log-queries yes
K=$(new_key a)
printf '%s\n' '$TTL 300' '@ IN A 192.0.2.90' 'www IN A 192.0.2.91' >"$TMPD/a.zone"
publish a "$TMPD/a.zone"
is "$RC" 0 "publish a key"
q "$K" A
is "$(status) $(rdata A)" "NOERROR 192.0.2.90" "the key answers before the flood"
rss0=$(rss_kb)

# one client (127.0.0.9), 3000 distinct names: its budget caps it
qlog_mark
OUT1=$(bulk 3000 "n%d.one.bh.example" 1 127.0.0.9)
diag "one client: $OUT1"
is "$(field "$OUT1" replies)" 3000 "one client, 3000 hanging names: every query gets a reply"
# the deadline is 4 s; 2 s more for a loaded machine running its timer late
read -r mx nq < <(qlog_max .one.bh.example.)
cmp_ok "$mx" -lt 6000 "  ... each within the deadline ($nq logged, longest $mx ms by pkdns's clock)"
inflight=$(stat_counter "in flight")
cmp_ok "$inflight" -le 64 "  ... at most 64 (icann-max-per-client) of its resolutions in libunbound ($inflight)"
over1=$(stat_counter "over budget")
cmp_ok "$over1" -ge 2900 "  ... the rest answered at once, over budget ($over1)"

# the host's own stub (127.0.0.1, every local app) has the total budget only
OUT0=$(bulk 600 "n%d.host.bh.example" 1 127.0.0.1)
is "$(field "$OUT0" replies)" 600 "127.0.0.1, 600 hanging names: every query gets a reply"
over0=$(stat_counter "over budget")
is "$((over0 - over1))" 0 "  ... all 600 tried upstream, none over a per-client budget"
inflight=$(stat_counter "in flight")
cmp_ok "$inflight" -gt 128 "  ... more than 128 resolutions in libunbound now ($inflight)"
over1=$over0

# another client is not hurt by the first one's budget
q -b 127.0.0.2 +time=15 "other.bh.example" A
over2=$(stat_counter "over budget")
is "$(status) $over2" "SERVFAIL $over1" "another client's name is still tried upstream (SERVFAIL at the deadline)"

# identical questions from many clients share one resolution
before=$(stat_counter "joined")
OUT2=$(bulk 40 "same.bh.example%.0s" 8)
joined=$(( $(stat_counter "joined") - before ))
is "$(field "$OUT2" replies)" 40 "40 clients ask one hanging name: all get a reply"
cmp_ok "$joined" -ge 38 "  ... the others joined one resolution ($joined)"

# 32 clients, 8000 names: the total cap
qlog_mark
OUT3=$(bulk 8000 "n%d.many.bh.example" 32)
diag "32 clients: $OUT3"
is "$(field "$OUT3" replies)" 8000 "32 clients, 8000 hanging names: every query gets a reply"
read -r mx nq < <(qlog_max .many.bh.example.)
cmp_ok "$mx" -lt 6000 "  ... each within the deadline ($nq logged, longest $mx ms by pkdns's clock)"
inflight=$(stat_counter "in flight")
cmp_ok "$inflight" -le 1024 "  ... at most 1024 resolutions in libunbound ($inflight)"
sleep 4.5
waiting=$(stat_counter "waiting")
is "$waiting" 0 "  ... no client left waiting after the deadline"
rss1=$(rss_kb)
diag "RSS ${rss0} kB before, ${rss1} kB after 11,600 hanging names"
cmp_ok $((rss1 - rss0)) -lt 64000 "  ... RSS grew less than 64 MB (ASan included) ($(((rss1 - rss0) / 1024)) MB)"

q "www.$K" A
is "$(status) $(rdata A)" "NOERROR 192.0.2.91" "the pkarr path still answers meanwhile"

kill -TERM "$PKDNS_PID"
start=$(date +%s%N)
wait_exit "$PKDNS_PID" 30
ms=$((($(date +%s%N) - start) / 1000000))
is "$EXIT_STATUS" 0 "SIGTERM with 1024 resolutions in flight: clean exit"
# At once: its event loop ends within 2 s by its own clock (the signal's
# line to "stopped"), and the whole exit, teardown of libunbound and a
# sanitizer's leak check included, takes well under the ~20 s libunbound
# would hold its resolutions to the black hole (waiting for them is the
# bug this catches; the client's view has 10 s for a loaded machine).
l0=$(log_ms "$(grep 'signal 15: stopping' "$PKDNS_LOG" | tail -n 1)")
l1=$(log_ms "$(grep 'pkdns\[daemon\] info: stopped' "$PKDNS_LOG" | tail -n 1)")
lms=missing
[ -n "$l0" ] && [ -n "$l1" ] && lms=$((l1 - l0))
cmp_ok "$lms" -lt 2000 "  ... its event loop ends within 2 s ($lms ms by pkdns's clock, signal to 'stopped')"
cmp_ok "$ms" -lt 10000 "  ... and the process is gone well before libunbound's timeouts ($ms ms)"
PKDNS_PID=
check_sanitizer_log "$PKDNS_LOG"

# A fresh pkdns (libunbound marks the black hole down once its first
# queries end, ~20 s in, and then fails at once): a resolution keeps its
# client's slot until libunbound ends it, not only until the client had
# its answer; and the pkarr path's ICANN queries (a CNAME into an ICANN
# name, a name server's address) count in the asking client's budget.
TESTNET_PORT=
NSD_PORT=$BH_PORT PROBE_NAME=none pkarr_start --ratelimit 0 --stats-interval 0 \
	--icann-max-per-client 64 --log-queries yes
K=$(new_key c)
printf '%s\n' '$TTL 300' '@ IN A 192.0.2.92' '*.cn IN CNAME slow.bh.example.' \
	'd IN NS ns.bh.example.' >"$TMPD/c.zone"
publish c "$TMPD/c.zone"
is "$RC" 0 "a fresh pkdns: publish a CNAME into ICANN and a delegation to an ICANN name server"
s0=$(date +%s)
OUTA=$(bulk 100 "a%d.again.bh.example" 1 127.0.0.2)
overA=$(stat_counter "over budget")
is "$(field "$OUTA" replies) $overA" "100 36" "127.0.0.2, 100 hanging names: 64 tried, 36 over budget"

in0=$(stat_counter "in flight")
OUTC=$(bulk 200 "n%d.cn.$K" 1 127.0.0.3)
overC=$(stat_counter "over budget")
in1=$(stat_counter "in flight")
is "$(field "$OUTC" replies)" 200 "127.0.0.3, 200 names CNAME'd into a hanging ICANN name: all answered"
is "$((overC - overA))" 136 "  ... 64 tried, 136 over budget"
cmp_ok "$((in1 - in0))" -le 64 "  ... at most 64 more in libunbound ($in0 -> $in1)"
qlog_mark
OUTD=$(bulk 200 "w%d.d.$K" 1 127.0.0.4)
overD=$(stat_counter "over budget")
is "$(field "$OUTD" replies) $((overD - overC))" "200 136" \
	"127.0.0.4, 200 names delegated to a name server with a hanging address: 136 over budget"
read -r mx nq < <(qlog_max ".d.$K.")
cmp_ok "$mx" -lt 6000 "  ... each within the deadline ($nq logged, longest $mx ms by pkdns's clock)"

inD=$(stat_counter "in flight")
w=$((s0 + 16 - $(date +%s)))
[ "$w" -gt 0 ] && sleep "$w" # (a loaded machine may be past 16 s already)
# Past the old 15 s linger, which gave the client's slots back while its
# queries stayed in libunbound. Whether libunbound still holds them at
# 16 s depends on its own timers (on a loaded machine it may have marked
# the dead upstream down and ended them): the check needs them held.
inB=$(stat_counter "in flight")
OUTB=$(bulk 100 "b%d.again.bh.example" 1 127.0.0.2)
overB=$(stat_counter "over budget")
inB2=$(stat_counter "in flight")
# libunbound may also end some of them while the 100 are sent (its own
# timers, late on a loaded machine), and a slot it frees may be used
# again: the check needs none ended in between. What went in is
# 100 - over budget; what ended is what was in flight plus that, less
# what is in flight now. With the slots given back early (the old
# 15 s linger), 64 would go in and none end.
admitted=$((100 - (overB - overD)))
ended=$((inB + admitted - inB2))
is "$(field "$OUTB" replies)" 100 "127.0.0.2 16 s later, 100 more names: all answered"
if [ "$inB" -ge "$inD" ] && [ "$ended" -le 0 ]; then
	is "$admitted" 0 "  ... all over budget, its 64 are still in libunbound"
else
	skip "  ... all over budget while its 64 are in libunbound" \
		"libunbound ended some first (in flight $inD -> $inB -> $inB2, $admitted went in)"
fi
pkdns_stop
done_testing
