#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# sysroot.sh ARCH: a sysroot of Debian's ARCH packages that pkdns builds
# against and runs on under qemu-user (ARCH: mipsel, arm64, s390x).
#
# Multiarch co-installation of the -dev packages does not work for these
# architectures on Debian 12 (the security archive covers fewer of them,
# so libssl3/libevent versions cannot match the host's; libevent-dev is
# not Multi-Arch), so the packages are fetched with a private apt state
# (nothing of the host's dpkg or apt configuration changes) and unpacked
# with `dpkg -x` into one folder per architecture:
#
#   $PKDNS_CROSS_CACHE/ARCH/sysroot   (default /var/cache/pkdns-cross)
#
# That folder serves as PKG_CONFIG_SYSROOT_DIR, -L and -rpath-link for the
# cross compiler and as `qemu-ARCH -L` at run time (it holds libc6:ARCH,
# whose dynamic loader qemu needs). The .debs and the sysroot are kept:
# a second run with the same package list reuses them and takes no
# network. Prints the sysroot's path on its last line.
set -eu

arch=${1:?usage: sysroot.sh mipsel|arm64|s390x}
case $arch in
mipsel | arm64 | s390x) ;;
*) echo "sysroot.sh: unknown architecture '$arch'" >&2; exit 2 ;;
esac

cache=${PKDNS_CROSS_CACHE:-/var/cache/pkdns-cross}/$arch
# What pkdns links against (the -dev packages pull in their libraries),
# plus the C library for the dynamic loader under qemu.
roots="libldns-dev libsodium-dev libevent-dev libunbound-dev liblmdb-dev libssl-dev libnghttp2-dev libc6"
# Headers of the C library come with the cross compiler (libc6-dev-ARCH-cross);
# a second copy in the sysroot would shadow them.
skip_re='^(libc6-dev|linux-libc-dev|libcrypt-dev|libnsl-dev|libtirpc-dev|rpcsvc-proto|libc-dev-bin)$'

mkdir -p "$cache/lists/partial" "$cache/archives/partial" "$cache/debs"
[ -f "$cache/status" ] || : >"$cache/status"
APT_OPTS=(-o "Dir::State::Lists=$cache/lists" -o "Dir::State::status=$cache/status"
	-o "Dir::Cache=$cache/archives" -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache="
	-o "APT::Architecture=$arch" -o "APT::Architectures::=$arch"
	-o "Debug::NoLocking=1")

# Package indexes of ARCH: fetched once, refreshed when a day old.
if [ -z "$(find "$cache/lists" -maxdepth 1 -name '*_Packages*' -mtime -1 2>/dev/null)" ]; then
	echo "sysroot.sh: apt-get update for $arch" >&2
	apt-get -q "${APT_OPTS[@]}" update >"$cache/update.log" 2>&1 || {
		cat "$cache/update.log" >&2; exit 1; }
fi

# The dependency closure, as name=version of each real package.
# shellcheck disable=SC2086
pkgs=$(apt-cache "${APT_OPTS[@]}" depends --recurse --no-recommends --no-suggests \
	--no-conflicts --no-breaks --no-replaces --no-enhances $roots |
	grep -v '^ ' | grep -v '^<' | sort -u | grep -Ev "$skip_re") || true
[ -n "$pkgs" ] || { echo "sysroot.sh: no packages for $arch" >&2; exit 1; }
# shellcheck disable=SC2086
want=$(apt-cache "${APT_OPTS[@]}" policy $pkgs |
	awk '/^[^ ].*:$/ { sub(/:$/, ""); p = $0 }
	     /^ *Candidate: / && $2 != "(none)" { print p "=" $2 }' | sort)

sysroot=$cache/sysroot
if [ -f "$sysroot/.packages" ] && [ "$(cat "$sysroot/.packages")" = "$want" ]; then
	echo "$sysroot"
	exit 0
fi

echo "sysroot.sh: fetching $(echo "$want" | wc -l) packages for $arch" >&2
for pv in $want; do
	p=${pv%%=*}
	v=${pv#*=}
	# apt-get download names files NAME_VERSION_ARCH.deb, with ':' as %3a.
	f="$cache/debs/${p}_${v//:/%3a}_"
	if ! ls "$f"*.deb >/dev/null 2>&1; then
		(cd "$cache/debs" && apt-get -q "${APT_OPTS[@]}" download "$pv" >>"$cache/download.log" 2>&1) || {
			tail -5 "$cache/download.log" >&2; exit 1; }
	fi
done

rm -rf "$sysroot.new"
mkdir -p "$sysroot.new"
for pv in $want; do
	p=${pv%%=*}
	v=${pv#*=}
	dpkg -x "$cache/debs/${p}_${v//:/%3a}_"*.deb "$sysroot.new"
done
printf '%s\n' "$want" >"$sysroot.new/.packages"
rm -rf "$sysroot"
mv "$sysroot.new" "$sysroot"
# Old versions of the .debs are no longer needed.
keep=$(for pv in $want; do p=${pv%%=*}; v=${pv#*=}; echo "${p}_${v//:/%3a}_"; done)
for f in "$cache/debs"/*.deb; do
	[ -e "$f" ] || continue
	b=${f##*/}
	echo "$keep" | grep -qxF "${b%"${b##*_}"}" || rm -f "$f"
done
echo "$sysroot"
