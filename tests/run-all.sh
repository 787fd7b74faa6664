#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Run the whole pkdns test suite from a fresh checkout: install the build
# and test dependencies (Debian, as root), build in a separate folder and
# run `make check` (unit, end-to-end and libtorrent interop tests).
#
#   tests/run-all.sh              normal build with -Werror, in ./build
#   tests/run-all.sh --sanitize   AddressSanitizer + UBSan build, in ./build-sanitize
#
# Ends with one line "N passed, M failed" (TAP assertions of the run).
#
# It leaves the machine's services alone: it stops nothing and kills
# nothing it did not start (the tests start their own nsd, unbound and
# dnsmasq on loopback ports and stop them by PID). Packages it installs
# are kept from starting or enabling their services: a policy-rc.d that
# refuses every start is in place during the install (unless one already
# is), and the units of newly installed packages are disabled.
set -u
cd "$(dirname "$0")/.." || exit 1
top=$(pwd)

sanitize=no
[ "${1:-}" = "--sanitize" ] && sanitize=yes

# Debian packages: build dependencies, then what the tests drive.
BUILD_DEPS="build-essential autoconf automake pkg-config libldns-dev libsodium-dev
  libevent-dev libunbound-dev liblmdb-dev dns-root-data libssl-dev libnghttp2-dev"
TEST_DEPS="dnsutils knot-dnsutils ldnsutils nsd unbound dnsmasq-base python3
  python3-libtorrent iproute2 procps shellcheck curl openssl dnsperf nghttp2-client chromium libnss3-tools nodejs npm prometheus"

# the tools the tests drive live in sbin, which a plain `su` leaves out
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

# shellcheck source=tests/lib-install.sh
. "$top/tests/lib-install.sh"
trap drop_policy EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
	missing=""
	for p in $BUILD_DEPS $TEST_DEPS; do
		dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
	done
	if [ -n "$missing" ]; then
		echo "installing:$missing"
		export DEBIAN_FRONTEND=noninteractive
		# nsd and unbound would start system services on port 53:
		# tests/lib-install.sh keeps them from starting or being enabled
		apt-get update -q >/dev/null
		# shellcheck disable=SC2086
		install_quietly $missing || {
			echo "apt-get install failed"; echo "0 passed, 1 failed"; exit 1; }
	fi
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
# A source tree configured in place (./configure run at the top) cannot
# also be built in a separate folder: autoconf refuses. Build there then.
if [ -f "$top/config.status" ]; then
	echo "the source tree is configured in place: building there (make distclean to use $build)"
	build=$top
fi
mkdir -p "$build"
cd "$build" || exit 1
# (Re)configure unless this script configured this folder with these
# flags (the README's build in ./build has none of them).
if [ ! -f Makefile ] || [ "$(cat run-all.flags 2>/dev/null)" != "$flags" ]; then
	rm -f run-all.flags
	# shellcheck disable=SC2086
	"$top/configure" $flags CFLAGS="-O2 -g" >configure.out 2>&1 || {
		tail -20 configure.out; echo "0 passed, 1 failed"; exit 1; }
	echo "$flags" >run-all.flags
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
