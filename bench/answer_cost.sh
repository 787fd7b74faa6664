#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# answer_cost.sh -- allocations and CPU per answer from a cached pkarr
# packet (packet cache hit, answer cache miss): bench/answer_cost.c, linked
# to libpkdns.a, answers N questions the way the daemon does. Allocations
# per answer: valgrind's heap summary for N and for 0 answers, the
# difference over N (exact, repeatable). Instructions per answer:
# callgrind, the same difference (repeatable on a loaded machine). CPU
# microseconds per answer: CPU time (CLOCK_PROCESS_CPUTIME_ID) of N x 10
# answers outside valgrind, best of three (it still moves with the load).
#
# Environment: N (2000), BUILD (the built tree: default ./build if it has
# libpkdns.a, else the source tree), OLD_API=1 to build against a tree
# from before pkarr_cache_get_view() (the "before" figure).
# Needs: gcc, pkg-config, valgrind. About 30 s.
set -e
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$BENCH_DIR/.." && pwd)
if [ -z "$BUILD" ]; then
	if [ -f "$SRC/build/libpkdns.a" ]; then BUILD=$SRC/build; else BUILD=$SRC; fi
fi
N=${N:-2000}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
for t in gcc pkg-config valgrind; do
	command -v "$t" >/dev/null || { echo "answer_cost.sh: needs $t" >&2; exit 1; }
done
DEF=
[ -n "$OLD_API" ] && DEF=-DOLD_API
# shellcheck disable=SC2046
gcc -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra $DEF -I"$BUILD" -I"$SRC/src" \
	"$BENCH_DIR/answer_cost.c" "$BUILD/libpkdns.a" \
	$(pkg-config --libs ldns libsodium libevent libunbound lmdb) -o "$WORK/answer_cost"
echo "revision $(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo unknown)${OLD_API:+ (OLD_API)}, N=$N"

allocs() {
	valgrind --tool=memcheck "$WORK/answer_cost" "$@" 2>&1 >/dev/null |
		sed -n 's/.*total heap usage: \([0-9,]*\) allocs.*/\1/p' | tr -d ,
}
instr() {
	valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.$1" \
		"$WORK/answer_cost" "$1" 2>&1 >/dev/null |
		sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
a0=$(allocs 0); a1=$(allocs "$N"); a2=$(allocs "$N" answer-only)
i0=$(instr 0); i1=$(instr "$N")
best=
for _ in 1 2 3; do
	u=$("$WORK/answer_cost" $((N * 10)) | sed -n 's/.*us_per_answer=\([0-9.]*\).*/\1/p')
	if [ -z "$best" ] || awk "BEGIN{exit !($u < $best)}"; then best=$u; fi
done
awk -v a0="$a0" -v a1="$a1" -v a2="$a2" -v i0="$i0" -v i1="$i1" -v n="$N" -v us="$best" 'BEGIN {
	printf "allocations per cached pkarr answer: %.1f (%.1f of them before encoding the reply)\n", (a1 - a0) / n, (a2 - a0) / n
	printf "instructions per cached pkarr answer: %.0f\n", (i1 - i0) / n
	printf "CPU us per cached pkarr answer (best of 3 x %d): %s\n", n * 10, us
}'
