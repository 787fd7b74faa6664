#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
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
# also records a perf profile of pkdns under load and prints its top;
# PKDNS_ARGS adds options to pkdns (e.g. "--cache-size 4k": an answer
# cache too small to hold the names, so that most answers come from the
# packet cache, as bench/answer_cost.sh measures in isolation).
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

# shellcheck disable=SC2086
bg pkdns "$PKDNS" -d -v --testnet 20 --testnet-port "$TN" --dht-port 0 \
	-l "127.0.0.1:$PK_PORT" -f 127.0.0.1:9 --dnssec no --ratelimit 0 \
	--dht-ratelimit 0 --stats-interval 0 ${PKDNS_ARGS:-}
sleep 1
kill -0 "$(pid_of pkdns)" || { cat "$WORK/pkdns.log"; exit 1; }

# --- keys, zones, unbound's local-data, the query file ------------------
UBCONF=$WORK/unbound.conf
{
	unbound_conf "127.0.0.1@$UB_PORT" "$UB_PORT"
	echo '  module-config: "iterator"'
	echo '  access-control: 127.0.0.0/8 allow'
} >"$UBCONF"
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
shuffle_lines "$WORK/queries.txt"
say "published $NKEYS keys, $(wc -l <"$WORK/queries.txt") names"

bg unbound "$UNBOUND" -d -c "$UBCONF"
wait_answer "$UB_PORT" "$(head -1 "$WORK/queries.txt" | cut -d' ' -f1)" A 10 || { cat "$WORK/unbound.log"; exit 1; }

# --- warm both and check every answer ------------------------------------
warm_check pkdns "$PK_PORT" $((NKEYS * NNAMES))
warm_check unbound "$UB_PORT" $((NKEYS * NNAMES))
"$PYTHON" "$BENCH_DIR/lib/dnsq.py" --port "$PK_PORT" --each "$WORK/queries.txt" >"$WORK/warm2.txt"
say "pkdns second pass: $(answered "$WORK/warm2.txt") answered (from cache)"
pkdns_stats "pkdns stats"

# --- throughput, alternating ---------------------------------------------
RES=$WORK/results.txt
: >"$RES"
DP="-T 1 -c $CLIENTS -q 200 -t 2 -d $WORK/queries.txt"
# shellcheck disable=SC2086
perf_alternate "$RES" "$PK_PORT" "$UB_PORT" $DP

echo "== cached pkarr names: pkdns vs unbound local-data (1,000 names, $CLIENTS clients, ${SECS}s runs, $ROUNDS rounds)"
perf_summary "$RES"
echo "pkdns RSS $(rss_kb "$(pid_of pkdns)") kB (with a 20-node testnet), unbound RSS $(rss_kb "$(pid_of unbound)") kB"

# shellcheck disable=SC2086
perf_profile "$PK_PORT" $DP
