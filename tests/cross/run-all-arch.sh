#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# run-all-arch.sh [ARCH...]: tests/cross/run-arch.sh for each architecture
# (default: mipsel arm64 s390x, i.e. 32-bit little-endian, 64-bit ARM and
# big-endian), one after the other. Ends with the sum, "N passed, M failed".
set -u
cd "$(dirname "$0")/../.." || exit 1
[ $# -gt 0 ] || set -- mipsel arm64 s390x
pass=0
fail=0
for arch in "$@"; do
	out=$(mktemp)
	t0=$(date +%s)
	bash tests/cross/run-arch.sh "$arch" 2>&1 | tee "$out"
	line=$(grep -E "^$arch: [0-9]+ passed, [0-9]+ failed" "$out" | tail -n 1)
	p=$(echo "$line" | sed -n 's/^[^:]*: \([0-9]*\) passed.*/\1/p')
	f=$(echo "$line" | sed -n 's/.* passed, \([0-9]*\) failed.*/\1/p')
	pass=$((pass + ${p:-0}))
	fail=$((fail + ${f:-1}))
	echo "== $arch: ${p:-0} passed, ${f:-1} failed in $(($(date +%s) - t0)) s"
	rm -f "$out"
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
