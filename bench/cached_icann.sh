#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
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
{
	unbound_conf "127.0.0.1@$UB_PORT" "$UB_PORT"
	cat <<EOF
  access-control: 127.0.0.0/8 allow
  do-not-query-localhost: no
forward-zone:
  name: "."
  forward-addr: 127.0.0.1@$NSD_PORT
remote-control:
  control-enable: no
EOF
} >"$WORK/unbound.conf"
bg unbound "$UNBOUND" -d -c "$WORK/unbound.conf"
bg pkdns "$PKDNS" -d -v --dht-mode off -l "127.0.0.1:$PK_PORT" -f "127.0.0.1:$NSD_PORT" \
	--dnssec no --ratelimit 0 --stats-interval 0
wait_answer "$UB_PORT" "n0.$ZONE" A 10 || { cat "$WORK/unbound.log"; exit 1; }
wait_answer "$PK_PORT" "n0.$ZONE" A 10 || { cat "$WORK/pkdns.log"; exit 1; }

seq 0 $((NNAMES - 1)) | sed "s/.*/n&.$ZONE A/" >"$WORK/queries.txt"
shuffle_lines "$WORK/queries.txt"

# --- warm both caches, check every answer -----------------------------------
warm_check pkdns "$PK_PORT" $NNAMES
warm_check unbound "$UB_PORT" $NNAMES
pkdns_stats "pkdns stats"

RES=$WORK/results.txt
: >"$RES"
DP="-T 1 -c $CLIENTS -q 200 -t 2 -d $WORK/queries.txt"
# shellcheck disable=SC2086
perf_alternate "$RES" "$PK_PORT" "$UB_PORT" $DP
pkdns_stats "pkdns stats after"

echo "== cached ICANN names: pkdns vs unbound, both forwarding to nsd ($NNAMES names, $CLIENTS clients, ${SECS}s runs, $ROUNDS rounds)"
perf_summary "$RES"
echo "pkdns RSS $(rss_kb "$(pid_of pkdns)") kB, unbound RSS $(rss_kb "$(pid_of unbound)") kB"

# shellcheck disable=SC2086
perf_profile "$PK_PORT" $DP
