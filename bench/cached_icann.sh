#!/bin/bash
# cached_icann.sh -- pkdns forwarding ordinary (ICANN) names to an upstream
# on loopback, with every name already in its cache, against unbound
# (num-threads: 1) forwarding to the same upstream with the same names
# cached. The upstream is nsd serving bench.example with 1,000 A names.
# dnsperf on both with the same client settings, alternating A B A B A B:
# throughput first, then latency at half the slower server's throughput
# (percentiles from dnsperf -v via lib/dnsstat.py).
#
# pkdns runs with --dht-mode off and DNSSEC off; unbound runs with its
# default modules and no trust anchor (the validator passes answers
# through), so both do the same work: answer from cache.
#
# Environment: ROUNDS (3), SECONDS_PER_RUN (10), CLIENTS (8), BENCH_PROFILE=1
# adds a perf profile of pkdns under load. About 2.5 minutes by default.
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
. "$BENCH_DIR/lib.sh"

ROUNDS=${ROUNDS:-3}
SECS=${SECONDS_PER_RUN:-10}
CLIENTS=${CLIENTS:-8}
NNAMES=1000
ZONE=bench.example

machine_line
NSD_PORT=$(free_port)
PK_PORT=$(free_port)
UB_PORT=$(free_port)
say "nsd on :$NSD_PORT, pkdns on :$PK_PORT, unbound on :$UB_PORT"

# --- upstream -----------------------------------------------------------
mkdir -p "$WORK/nsd"
{
	echo "\$ORIGIN $ZONE."
	echo '$TTL 3600'
	echo "@ IN SOA ns.$ZONE. hostmaster.$ZONE. 1 3600 600 86400 3600"
	echo "@ IN NS ns.$ZONE."
	echo "ns IN A 127.0.0.1"
	for i in $(seq 0 $((NNAMES - 1))); do echo "n$i IN A 10.$((i / 256)).$((i % 256)).1"; done
} >"$WORK/nsd/$ZONE.zone"
cat >"$WORK/nsd/nsd.conf" <<EOF
server:
  ip-address: 127.0.0.1
  do-ip6: no
  port: $NSD_PORT
  username: ""
  chroot: ""
  zonesdir: "$WORK/nsd"
  database: ""
  pidfile: "$WORK/nsd/nsd.pid"
  xfrdfile: "$WORK/nsd/xfrd.state"
  zonelistfile: "$WORK/nsd/zone.list"
  xfrdir: "$WORK/nsd"
  server-count: 1
  verbosity: 1
remote-control:
  control-enable: no
zone:
  name: $ZONE
  zonefile: $ZONE.zone
EOF
bg nsd "$NSD" -d -c "$WORK/nsd/nsd.conf"
wait_answer "$NSD_PORT" "n0.$ZONE" A 10 || { cat "$WORK/nsd.log"; exit 1; }

# --- the two forwarders ----------------------------------------------------
cat >"$WORK/unbound.conf" <<EOF
server:
  interface: 127.0.0.1@$UB_PORT
  port: $UB_PORT
  num-threads: 1
  do-daemonize: no
  use-syslog: no
  logfile: ""
  username: ""
  chroot: ""
  directory: "$WORK"
  pidfile: ""
  access-control: 127.0.0.0/8 allow
  do-not-query-localhost: no
  so-reuseport: no
forward-zone:
  name: "."
  forward-addr: 127.0.0.1@$NSD_PORT
remote-control:
  control-enable: no
EOF
bg unbound "$UNBOUND" -d -c "$WORK/unbound.conf"
bg pkdns "$PKDNS" -d -v --dht-mode off -l "127.0.0.1:$PK_PORT" -f "127.0.0.1:$NSD_PORT" \
	--dnssec no --ratelimit 0 --stats-interval 0
wait_answer "$UB_PORT" "n0.$ZONE" A 10 || { cat "$WORK/unbound.log"; exit 1; }
wait_answer "$PK_PORT" "n0.$ZONE" A 10 || { cat "$WORK/pkdns.log"; exit 1; }

seq 0 $((NNAMES - 1)) | sed "s/.*/n&.$ZONE A/" >"$WORK/queries.txt"
"$PYTHON" -c 'import random,sys; l=open(sys.argv[1]).readlines(); random.Random(1).shuffle(l); open(sys.argv[1],"w").writelines(l)' "$WORK/queries.txt"

# --- warm both caches, check every answer -----------------------------------
for s in pkdns:$PK_PORT unbound:$UB_PORT; do
	"$PYTHON" "$BENCH_DIR/lib/dnsq.py" --port "${s#*:}" --each "$WORK/queries.txt" >"$WORK/warm-${s%%:*}.txt"
	good=$(awk '$2 == 0 && $3 == 1' "$WORK/warm-${s%%:*}.txt" | wc -l)
	say "${s%%:*}: $good of $NNAMES names answered while warming"
	[ "$good" -eq $NNAMES ] || { say "not every name answered"; exit 1; }
done
kill -USR1 "$(pid_of pkdns)"
sleep 0.2
grep 'stats' "$WORK/pkdns.log" | tail -1 | sed 's/.*stats[^:]*: /pkdns stats: /'

RES=$WORK/results.txt
: >"$RES"
DP="-T 1 -c $CLIENTS -q 200 -t 2 -d $WORK/queries.txt"
for _ in $(seq 1 "$ROUNDS"); do
	perf_run pkdns-max -s 127.0.0.1 -p "$PK_PORT" $DP -l "$SECS" | tee -a "$RES"
	perf_run unbound-max -s 127.0.0.1 -p "$UB_PORT" $DP -l "$SECS" | tee -a "$RES"
done
Q=$("$PYTHON" - "$RES" <<'EOF'
import statistics, sys
rows = [dict(p.split("=", 1) for p in l.split() if "=" in p) for l in open(sys.argv[1])]
m = min(statistics.median(float(r["qps"]) for r in rows if r["label"] == lab)
        for lab in ("pkdns-max", "unbound-max"))
print(max(1000, int(m / 2)))
EOF
)
say "latency runs at $Q queries/s"
for _ in $(seq 1 "$ROUNDS"); do
	perf_run pkdns-lat -s 127.0.0.1 -p "$PK_PORT" $DP -l "$SECS" -Q "$Q" -v | tee -a "$RES"
	perf_run unbound-lat -s 127.0.0.1 -p "$UB_PORT" $DP -l "$SECS" -Q "$Q" -v | tee -a "$RES"
done
kill -USR1 "$(pid_of pkdns)"
sleep 0.2
grep 'stats' "$WORK/pkdns.log" | tail -1 | sed 's/.*stats[^:]*: /pkdns stats after: /'

echo "== cached ICANN names: pkdns vs unbound, both forwarding to nsd ($NNAMES names, $CLIENTS clients, ${SECS}s runs, $ROUNDS rounds)"
"$PYTHON" "$BENCH_DIR/lib/summarise.py" "$RES" pkdns-max unbound-max qps avg_ms
"$PYTHON" "$BENCH_DIR/lib/summarise.py" "$RES" pkdns-lat unbound-lat qps p50_ms p90_ms p99_ms p999_ms
echo "pkdns RSS $(rss_kb "$(pid_of pkdns)") kB, unbound RSS $(rss_kb "$(pid_of unbound)") kB"

if [ -n "${BENCH_PROFILE:-}" ] && command -v perf >/dev/null; then
	say "profiling pkdns under load (perf record, $SECS s)"
	perf record -F 2000 -g -o "$WORK/perf.data" -p "$(pid_of pkdns)" -- sleep "$SECS" >/dev/null 2>&1 &
	ppid=$!
	perf_run pkdns-prof -s 127.0.0.1 -p "$PK_PORT" $DP -l "$SECS" >/dev/null
	wait "$ppid"
	echo "== perf profile of pkdns (self time, top 25)"
	perf report -i "$WORK/perf.data" --stdio --no-children --sort symbol 2>/dev/null |
		grep -E '^ +[0-9.]+%' | head -25
fi
