#!/usr/bin/env bash
# Run the whole pkdns test suite from a fresh checkout: install the build
# and test dependencies (Debian, as root), build in a separate folder and
# run `make check` (unit, end-to-end and libtorrent interop tests).
#
#   tests/run-all.sh              normal build with -Werror
#   tests/run-all.sh --sanitize   AddressSanitizer + UBSan build
#
# Ends with one line "N passed, M failed" (TAP assertions of the run).
set -u
cd "$(dirname "$0")/.."
top=$(pwd)

sanitize=no
[ "${1:-}" = "--sanitize" ] && sanitize=yes

# Debian packages: build dependencies, then what the tests drive.
BUILD_DEPS="build-essential autoconf automake pkg-config libldns-dev libsodium-dev
  libevent-dev libunbound-dev liblmdb-dev dns-root-data"
TEST_DEPS="dnsutils knot-dnsutils ldnsutils nsd unbound python3 python3-libtorrent
  iproute2 procps shellcheck"

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
	missing=""
	for p in $BUILD_DEPS $TEST_DEPS; do
		dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
	done
	if [ -n "$missing" ]; then
		echo "installing:$missing"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -q >/dev/null
		apt-get install -y -q --no-install-recommends $missing >/dev/null || {
			echo "apt-get install failed"; echo "0 passed, 1 failed"; exit 1; }
	fi
	# nsd and unbound packages may start system services; the tests run
	# their own instances on loopback ports and need none of them.
	for s in nsd unbound; do
		command -v systemctl >/dev/null 2>&1 && systemctl stop "$s" >/dev/null 2>&1
		pkill -x "$s" >/dev/null 2>&1
	done
fi

[ -x configure ] || autoreconf -fi || { echo "0 passed, 1 failed"; exit 1; }

if [ "$sanitize" = yes ]; then
	build="$top/build-sanitize"
	flags="--enable-werror --enable-sanitizers"
	export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1"
	export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
else
	build="$top/build"
	flags="--enable-werror"
fi
mkdir -p "$build"
cd "$build" || exit 1
if [ ! -f Makefile ]; then
	"$top/configure" $flags CFLAGS="-O2 -g" >configure.out 2>&1 || {
		tail -20 configure.out; echo "0 passed, 1 failed"; exit 1; }
fi
make -j"$(nproc)" >make.out 2>&1 || { tail -40 make.out; echo "0 passed, 1 failed"; exit 1; }
make -j"$(nproc)" check >check.out 2>&1
rc=$?
grep -E '^(PASS|FAIL|XFAIL|XPASS|ERROR|SKIP)' check.out | grep -v '^PASS' | head -50
# test-suite.log counts each TAP assertion
count() { sed -n "s/^# $1: *\([0-9]*\).*/\1/p" test-suite.log 2>/dev/null | head -1; }
pass=$(count PASS); fail=$(count FAIL); err=$(count ERROR); xpass=$(count XPASS)
skip=$(count SKIP)
pass=${pass:-0}; failed=$(( ${fail:-0} + ${err:-0} + ${xpass:-0} ))
if [ "$rc" != 0 ] && [ "$failed" = 0 ]; then
	tail -30 check.out
	failed=1
fi
[ "$failed" != 0 ] && [ -f test-suite.log ] && sed -n '/^FAIL\|^ERROR/,+3p' test-suite.log | head -80
echo "$pass passed, $failed failed, ${skip:-0} skipped"
[ "$failed" = 0 ]
