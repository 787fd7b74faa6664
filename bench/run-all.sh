#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# run-all.sh -- every pkdns benchmark, one after the other, output to
# stdout and to bench-results-<date>.txt in the current directory (or the
# file given as $1). Each script is bounded (a few minutes) and stops
# what it started; a failing script does not stop the others.
# Environment is passed through (ROUNDS, SECONDS_PER_RUN, NODES, KEYS,
# PACKETS, BENCH_PROFILE=1, BUILD=/path/to/build ...).
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-bench-results-$(date -u +%Y%m%dT%H%MZ).txt}
rc=0
{
	echo "# pkdns benchmarks, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
	echo "# git: $(cd "$BENCH_DIR/.." && git rev-parse --short HEAD 2>/dev/null)"
} | tee "$OUT"
for b in cached_pkarr cached_icann cold_lookups memory startup; do
	echo "### $b" | tee -a "$OUT"
	start=$(date +%s)
	timeout -k 10 600 "$BENCH_DIR/$b.sh" 2>&1 | tee -a "$OUT"
	st=${PIPESTATUS[0]}
	echo "### $b: exit $st, $(($(date +%s) - start)) s" | tee -a "$OUT"
	[ "$st" -eq 0 ] || rc=1
done
echo "results in $OUT"
exit $rc
