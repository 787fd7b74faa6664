#!/bin/bash
# cached_pkarr.sh -- pkdns answering names under public-key TLDs from its
# cache, against unbound (1 thread) answering the same names from
# local-data. dnsperf on both with the same client settings, alternating
# A B A B A B: first throughput (no rate limit), then latency at a fixed
# rate below both servers' saturation (per-query times from dnsperf -v,
# percentiles computed by lib/dnsstat.py).
#
# Setup: pkdns with an in-process testnet of 20 DHT nodes; 10 keys
# published with pkdns-cli, each zone holding 30 explicit names (n0..n29)
# and a wildcard that answers n30..n99, so 1,000 distinct names. Every
# name is queried once before measuring (cache warm), and checked.
#
# Environment: ROUNDS (3), SECONDS_PER_RUN (10), CLIENTS (8), BENCH_PROFILE=1
# also records a perf profile of pkdns under load and prints its top.
# Bounded: about 2.5 minutes with the defaults.
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
. "$BENCH_DIR/lib.sh"

ROUNDS=${ROUNDS:-3}
SECS=${SECONDS_PER_RUN:-10}
CLIENTS=${CLIENTS:-8}
NKEYS=10
NNAMES=100
NEXPLICIT=30

machine_line
TN=$(free_port_range 20)
PK_PORT=$(free_port)
UB_PORT=$(free_port)
say "testnet on 127.0.0.1:$TN, pkdns on :$PK_PORT, unbound on :$UB_PORT"

bg pkdns "$PKDNS" -d -v --testnet 20 --testnet-port "$TN" --dht-port 0 \
	-l "127.0.0.1:$PK_PORT" -f 127.0.0.1:9 --dnssec no --ratelimit 0 \
	--dht-ratelimit 0 --stats-interval 0
sleep 1
kill -0 "$(pid_of pkdns)" || { cat "$WORK/pkdns.log"; exit 1; }

# --- keys, zones, unbound's local-data, the query file ------------------
UBCONF=$WORK/unbound.conf
cat >"$UBCONF" <<EOF
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
  module-config: "iterator"
  access-control: 127.0.0.0/8 allow
  so-reuseport: no
EOF
: >"$WORK/queries.txt"
for k in $(seq 0 $((NKEYS - 1))); do
	"$PKDNS_CLI" generate -o "$WORK/seed$k" >/dev/null 2>&1
	key=$("$PKDNS_CLI" publickey "$WORK/seed$k") || exit 1
	{
		echo '$TTL 3600'
		for i in $(seq 0 $((NEXPLICIT - 1))); do echo "n$i IN A 10.$k.0.$i"; done
		echo "* IN A 10.$k.1.1"
	} >"$WORK/zone$k"
	"$PKDNS_CLI" --testnet-port "$TN" publish "$WORK/seed$k" "$WORK/zone$k" >/dev/null 2>&1 ||
		{ say "publish $k failed"; exit 1; }
	echo "  local-zone: \"$key.\" static" >>"$UBCONF"
	for i in $(seq 0 $((NNAMES - 1))); do
		if [ "$i" -lt $NEXPLICIT ]; then a=10.$k.0.$i; else a=10.$k.1.1; fi
		echo "  local-data: \"n$i.$key. 3600 IN A $a\"" >>"$UBCONF"
		echo "n$i.$key A" >>"$WORK/queries.txt"
	done
done
echo "remote-control:
  control-enable: no" >>"$UBCONF"
# one fixed shuffle, the same for both servers
"$PYTHON" -c 'import random,sys; l=open(sys.argv[1]).readlines(); random.Random(1).shuffle(l); open(sys.argv[1],"w").writelines(l)' "$WORK/queries.txt"
say "published $NKEYS keys, $(wc -l <"$WORK/queries.txt") names"

bg unbound "$UNBOUND" -d -c "$UBCONF"
wait_answer "$UB_PORT" "$(head -1 "$WORK/queries.txt" | cut -d' ' -f1)" A 10 || { cat "$WORK/unbound.log"; exit 1; }

# --- warm both and check every answer ------------------------------------
for s in pkdns:$PK_PORT unbound:$UB_PORT; do
	"$PYTHON" "$BENCH_DIR/lib/dnsq.py" --port "${s#*:}" --each "$WORK/queries.txt" >"$WORK/warm-${s%%:*}.txt"
	good=$(awk '$2 == 0 && $3 == 1' "$WORK/warm-${s%%:*}.txt" | wc -l)
	say "${s%%:*}: $good of $(wc -l <"$WORK/queries.txt") names answered while warming"
	[ "$good" -eq $((NKEYS * NNAMES)) ] || { say "not every name answered"; exit 1; }
done
"$PYTHON" "$BENCH_DIR/lib/dnsq.py" --port "$PK_PORT" --each "$WORK/queries.txt" >"$WORK/warm2.txt"
say "pkdns second pass: $(awk '$2 == 0 && $3 == 1' "$WORK/warm2.txt" | wc -l) answered (from cache)"
kill -USR1 "$(pid_of pkdns)"
sleep 0.2
grep 'stats' "$WORK/pkdns.log" | tail -1 | sed 's/.*stats[^:]*: /pkdns stats: /'

# --- throughput, alternating ---------------------------------------------
RES=$WORK/results.txt
: >"$RES"
DP="-T 1 -c $CLIENTS -q 200 -t 2 -d $WORK/queries.txt"
for _ in $(seq 1 "$ROUNDS"); do
	perf_run pkdns-max -s 127.0.0.1 -p "$PK_PORT" $DP -l "$SECS" | tee -a "$RES"
	perf_run unbound-max -s 127.0.0.1 -p "$UB_PORT" $DP -l "$SECS" | tee -a "$RES"
done
# latency at half the slower server's throughput, alternating
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

echo "== cached pkarr names: pkdns vs unbound local-data (1,000 names, $CLIENTS clients, ${SECS}s runs, $ROUNDS rounds)"
"$PYTHON" "$BENCH_DIR/lib/summarise.py" "$RES" pkdns-max unbound-max qps avg_ms
"$PYTHON" "$BENCH_DIR/lib/summarise.py" "$RES" pkdns-lat unbound-lat qps p50_ms p90_ms p99_ms p999_ms
echo "pkdns RSS $(rss_kb "$(pid_of pkdns)") kB (with a 20-node testnet), unbound RSS $(rss_kb "$(pid_of unbound)") kB"

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
