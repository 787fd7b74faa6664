#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# run-arch.sh ARCH: cross-build pkdns for ARCH (mipsel, arm64, s390x) and
# run every unit test program under qemu-user, then one end-to-end case
# (tests/cross/e2e_foreign.sh: the foreign daemon with --testnet, a native
# pkdns-cli publish, dig gets the answer).
#
# Needs (Debian 12, installed when run as root and missing):
# gcc-mipsel-linux-gnu / gcc-aarch64-linux-gnu / gcc-s390x-linux-gnu and
# qemu-user; the target libraries come from tests/cross/sysroot.sh.
#
# Environment:
#   PKDNS_CROSS_CACHE  sysroots and .debs (default /var/cache/pkdns-cross)
#   CROSS_BUILD        build folder (default BUILD_ROOT/ARCH, BUILD_ROOT
#                      defaulting to ./build-cross)
#   CROSS_CFLAGS       (default "-O2 -g"); CROSS_LDFLAGS: added to LDFLAGS
#   CROSS_BUILD_ONLY   1: build src/pkdns and src/pkdns-cli, run nothing
#                      (bench/footprint.sh)
#   PKDNS_CLI          native pkdns-cli for the e2e case (default
#                      ./build/src/pkdns-cli, else ./src/pkdns-cli, else the
#                      foreign one under qemu)
#   UNIT_TIMEOUT       seconds per unit program under qemu (default 300)
#
# Prints TAP-like lines and ends with "ARCH: N passed, M failed": N and M
# count unit and e2e assertions, and a failed configure, build, crash or
# short plan counts as one failure.
set -u
arch=${1:?usage: run-arch.sh mipsel|arm64|s390x}
case $arch in
mipsel) triplet=mipsel-linux-gnu qemu=qemu-mipsel ;;
arm64) triplet=aarch64-linux-gnu qemu=qemu-aarch64 ;;
s390x) triplet=s390x-linux-gnu qemu=qemu-s390x ;;
*) echo "run-arch.sh: unknown architecture '$arch'"; echo "$arch: 0 passed, 1 failed"; exit 1 ;;
esac
cd "$(dirname "$0")/../.." || exit 1
top=$(pwd)
t_start=$(date +%s)

pass=0
fail=0
finish() {
	echo "# $arch: $(($(date +%s) - t_start)) s"
	echo "$arch: $pass passed, $fail failed"
	[ "$fail" = 0 ]
	exit
}
die() { echo "not ok - $arch: $*"; fail=$((fail + 1)); finish; }

# --- tools -------------------------------------------------------------------
# The cross C library's headers and crt files are only a Recommends of
# the gcc package: name them.
need="gcc-$triplet libc6-dev-$arch-cross qemu-user"
missing=""
for p in $need; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "# installing$missing"
		# shellcheck disable=SC2086
		# (a fresh machine may need its package lists first)
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
			$missing >/dev/null 2>&1 ||
			{ apt-get update -q >/dev/null 2>&1 &&
				DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
					$missing >/dev/null 2>&1; } || die "apt-get install$missing failed"
	else
		die "missing Debian packages:$missing"
	fi
fi
command -v "$triplet-gcc" >/dev/null || die "no $triplet-gcc"
command -v "$qemu" >/dev/null || die "no $qemu"
sysroot=$(bash tests/cross/sysroot.sh "$arch" | tail -n 1)
[ -d "$sysroot/usr/lib/$triplet" ] || die "no sysroot for $arch"

# --- source: out of tree when the tree is clean, else a clean copy ----------
src=$top
build=${CROSS_BUILD:-${BUILD_ROOT:-$top/build-cross}/$arch}
mkdir -p "$build"
build=$(cd "$build" && pwd)
if [ -f "$top/config.status" ]; then
	# Configured in place: autoconf refuses a second, out-of-tree build.
	# Build from a copy of the files git knows (plus uncommitted edits).
	src=$build/src-copy
	rm -rf "$src"
	mkdir -p "$src"
	git -C "$top" ls-files -co --exclude-standard -z | (cd "$top" && xargs -0 tar -cf - 2>/dev/null) |
		tar -C "$src" -xf - || die "cannot copy the source tree"
	(cd "$src" && autoreconf -fi >"$build/autoreconf.out" 2>&1) || die "autoreconf failed"
	build=$build/obj
	mkdir -p "$build"
elif [ ! -x "$top/configure" ]; then
	autoreconf -fi >/dev/null 2>&1 || die "autoreconf failed"
fi

# --- configure and build -----------------------------------------------------
libdir=$sysroot/usr/lib/$triplet
cd "$build" || die "no build folder"
t0=$(date +%s)
if [ ! -f Makefile ] || [ "$(cat .cross-sysroot 2>/dev/null)" != "$sysroot" ]; then
	"$src/configure" --host="$triplet" --enable-werror \
		CFLAGS="${CROSS_CFLAGS:--O2 -g}" \
		CPPFLAGS="-I$sysroot/usr/include/$triplet" \
		LDFLAGS="-L$libdir -Wl,-rpath-link,$libdir:$sysroot/lib/$triplet ${CROSS_LDFLAGS:-}" \
		PKG_CONFIG=pkg-config \
		PKG_CONFIG_LIBDIR="$libdir/pkgconfig:$sysroot/usr/share/pkgconfig" \
		PKG_CONFIG_SYSROOT_DIR="$sysroot" >configure.out 2>&1 || {
		tail -20 configure.out | sed 's/^/# /'; die "configure --host=$triplet"; }
	echo "$sysroot" >.cross-sysroot
fi
echo "ok - $arch: configure --host=$triplet"
pass=$((pass + 1))
if [ "${CROSS_BUILD_ONLY:-}" = 1 ]; then
	make -j"${JOBS:-2}" src/pkdns src/pkdns-cli >make.out 2>&1 || {
		grep -E 'error|warning' make.out | head -20 | sed 's/^/# /'; die "build (-Werror)"; }
	echo "ok - $arch: built src/pkdns and src/pkdns-cli in $build"
	pass=$((pass + 1))
	finish
fi
# all, plus the check programs without running them
if ! make -j"${JOBS:-2}" >make.out 2>&1 || ! make -j"${JOBS:-2}" check TESTS= >>make.out 2>&1; then
	grep -E 'error|warning' make.out | head -20 | sed 's/^/# /'
	die "build (-Werror)"
fi
warnings=$(grep -c 'warning:' make.out)
echo "ok - $arch: build with -Werror ($warnings warnings, $(($(date +%s) - t0)) s)"
pass=$((pass + 1))
file src/pkdns | grep -q "ELF" || die "src/pkdns is not an ELF file"
echo "# $(file -b src/pkdns | cut -d, -f1-2)"

# --- unit tests under qemu ---------------------------------------------------
# The compiled tests: TESTS that are also check_PROGRAMS.
# shellcheck disable=SC2016 # make expands them
units=$(printf 'pkdns-list-units:\n\t@echo $(TESTS)\n\t@echo $(check_PROGRAMS)\n' |
	make -s -f Makefile -f - pkdns-list-units | tr ' ' '\n' | sort | uniq -d)
[ -n "$units" ] || die "no unit test programs found"
export top_srcdir=$src top_builddir=$build
t0=$(date +%s)
nunits=0
for u in $units; do
	nunits=$((nunits + 1))
	out=$build/$u.cross.log
	timeout -k 5 "${UNIT_TIMEOUT:-300}" "$qemu" -L "$sysroot" "./$u" >"$out" 2>&1
	rc=$?
	p=$(grep -cE '^ok( |$)' "$out")
	f=$(grep -cE '^not ok( |$)' "$out")
	# TODO assertions do not fail; count them as passed ones do in automake
	todo=$(grep -E '^not ok( |$)' "$out" | grep -ciE '# *todo')
	f=$((f - todo)); p=$((p + todo))
	plan=$(sed -n 's/^1\.\.\([0-9]*\).*/\1/p' "$out" | tail -n 1)
	pass=$((pass + p))
	fail=$((fail + f))
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		echo "not ok - $arch: $u exited $rc"; fail=$((fail + 1))
	elif [ -z "$plan" ] || [ "$plan" != $((p + f)) ]; then
		echo "not ok - $arch: $u plan ${plan:-none}, ran $((p + f))"; fail=$((fail + 1))
	else
		echo "# $u: $p passed, $f failed"
	fi
	[ "$f" = 0 ] || grep -E '^not ok' "$out" | head -10 | sed 's/^/# /'
	[ "$rc" = 0 ] || tail -5 "$out" | sed 's/^/#   /'
done
echo "# $arch: $nunits unit programs, $pass checks so far, $(($(date +%s) - t0)) s under $qemu"

# --- end to end: the foreign daemon, a native pkdns-cli, dig -----------------
cli=${PKDNS_CLI:-}
for c in "$top/build/src/pkdns-cli" "$top/src/pkdns-cli"; do
	[ -z "$cli" ] && [ -x "$c" ] && cli=$c
done
wrap=$build/pkdns-$arch
printf '#!/bin/sh\nexec %s -L %s %s "$@"\n' "$qemu" "$sysroot" "$build/src/pkdns" >"$wrap"
chmod +x "$wrap"
if [ -z "$cli" ]; then
	echo "# no native pkdns-cli (build ./build first): the e2e case uses the $arch one under qemu"
	cli=$build/pkdns-cli-$arch
	printf '#!/bin/sh\nexec %s -L %s %s "$@"\n' "$qemu" "$sysroot" "$build/src/pkdns-cli" >"$cli"
	chmod +x "$cli"
fi
t0=$(date +%s)
out=$build/e2e_foreign.cross.log
PKDNS=$wrap PKDNS_CLI=$cli CROSS_ARCH=$arch timeout -k 5 360 bash "$src/tests/cross/e2e_foreign.sh" >"$out" 2>&1
rc=$?
p=$(grep -cE '^ok( |$)' "$out")
f=$(grep -cE '^not ok( |$)' "$out")
pass=$((pass + p))
fail=$((fail + f))
grep -E '^(not ok|ok|# )' "$out" | sed 's/^/  /'
if grep -q '^1\.\.0 # SKIP' "$out"; then
	echo "not ok - $arch: e2e skipped: $(sed -n 's/^1\.\.0 # SKIP //p' "$out")"; fail=$((fail + 1))
elif [ "$rc" != 0 ] && [ "$f" = 0 ]; then
	echo "not ok - $arch: e2e exited $rc"; tail -5 "$out" | sed 's/^/#   /'; fail=$((fail + 1))
fi
echo "# $arch: e2e $(($(date +%s) - t0)) s"
finish
