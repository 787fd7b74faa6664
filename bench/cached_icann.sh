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
nsd_upstream "$ZONE" $NNAMES "$NSD_PORT"

# --- the two forwarders ----------------------------------------------------
# (and warm both caches, check every answer)
cached_forwarders "$UB_PORT" "$PK_PORT" "$NSD_PORT" "$ZONE" $NNAMES </dev/null
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
