#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# footprint.sh -- what pkdns costs on a router: stripped binary sizes, the
# libraries it loads, and resident memory at idle and with N cached
# packets, natively and for mipsel, arm64 and s390x (under qemu-user).
#
#   bench/footprint.sh               sizes, NEEDED lists, RSS (all archs)
#   ARCHS="native mipsel" PACKETS="1000" bench/footprint.sh
#   SIZES=0 ...                      memory only; MEMORY=0: sizes only
#
# Sizes: each architecture built twice (tests/cross/run-arch.sh with
# CROSS_BUILD_ONLY=1; natively a plain configure): with configure's
# default CFLAGS (-g -O2), and with "-Os -ffunction-sections
# -fdata-sections" plus -Wl,--gc-sections, as the OpenWrt package builds
# (PKG_BUILD_FLAGS:=gc-sections on the SDK's -Os). Both stripped with the
# target's strip.
#
# Memory: a native pkdns hosts a DHT testnet of TESTNET nodes (250, so
# that BEP 44 storage holds every packet); pkdns-cli publishes PACKETS_MAX
# keys to it (20 at a time; reused when KEYS and TESTNET_PORT name an
# existing set); then each architecture's daemon (default flags) runs in
# DHT client mode, bootstrapped from the testnet, with the router
# profile's other settings but the default cache sizes (32m/16m, so that
# 10,000 packets fit), and is asked www.KEY A for the first N keys of
# each step of PACKETS. Resident memory is read after each step.
# Natively that is VmRSS/RssAnon of the process. Under qemu-user the
# guest's memory is mapped into the qemu process below 2^40 (guest
# addresses; qemu's own code, heap and translation cache sit above), so
# the sum of Rss of the mappings below 2^40 in /proc/PID/smaps is the
# guest's resident set, at host page granularity.
#
# Environment: ARCHS (native mipsel arm64 s390x), PACKETS ("1000 10000"),
# TESTNET (250), KEYS (keys folder to reuse), TESTNET_PORT, INFLIGHT (32).
# Bounded: on 2 idle cores about 8 minutes to publish 10,000 keys, then
# ~4 minutes per foreign architecture for 10,000 look-ups under qemu.
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
. "$BENCH_DIR/lib.sh"
TOP=$(cd "$BENCH_DIR/.." && pwd)

ARCHS=${ARCHS:-native mipsel arm64 s390x}
PACKETS=${PACKETS:-1000 10000}
SIZES=${SIZES:-1}
MEMORY=${MEMORY:-1}
FP=${FOOTPRINT_BUILD:-$TOP/build-footprint}
mkdir -p "$FP"

triplet_of() {
	case $1 in
	native) echo "" ;;
	mipsel) echo mipsel-linux-gnu ;;
	arm64) echo aarch64-linux-gnu ;;
	s390x) echo s390x-linux-gnu ;;
	esac
}
qemu_of() {
	case $1 in
	mipsel) echo qemu-mipsel ;;
	arm64) echo qemu-aarch64 ;;
	s390x) echo qemu-s390x ;;
	esac
}

# build ARCH FLAVOUR: prints the build folder holding src/pkdns.
build() {
	local arch=$1 flavour=$2 cflags ldflags dir out
	if [ "$flavour" = small ]; then
		cflags="-Os -ffunction-sections -fdata-sections"
		ldflags="-Wl,--gc-sections"
	else
		cflags="-g -O2"
		ldflags=""
	fi
	dir=$FP/$arch-$flavour
	if [ "$arch" = native ]; then
		mkdir -p "$dir"
		if [ ! -x "$dir/obj/src/pkdns" ]; then
			# a copy of the sources: the tree may be configured in place
			rm -rf "$dir/src-copy"
			mkdir -p "$dir/src-copy" "$dir/obj"
			git -C "$TOP" ls-files -co --exclude-standard -z |
				(cd "$TOP" && xargs -0 tar -cf - 2>/dev/null) | tar -C "$dir/src-copy" -xf -
			(cd "$dir/src-copy" && autoreconf -fi >/dev/null 2>&1 &&
				cd "$dir/obj" && ../src-copy/configure --enable-werror CFLAGS="$cflags" \
				LDFLAGS="$ldflags" >configure.out 2>&1 &&
				make -j2 src/pkdns src/pkdns-cli >make.out 2>&1) || { say "native $flavour build failed"; return 1; }
		fi
		echo "$dir/obj"
		return 0
	fi
	out=$(CROSS_BUILD=$dir CROSS_BUILD_ONLY=1 CROSS_CFLAGS="$cflags" CROSS_LDFLAGS="$ldflags" \
		bash "$TOP/tests/cross/run-arch.sh" "$arch" 2>&1)
	echo "$out" | grep -q "^$arch: [1-9][0-9]* passed, 0 failed" || {
		echo "$out" | tail -5 >&2; say "$arch $flavour build failed"; return 1; }
	echo "$out" | sed -n "s/^ok - $arch: built src\/pkdns and src\/pkdns-cli in //p"
}

stripped_kb() { # TRIPLET FILE
	local s=${1:+$1-}strip
	# (stdin from /dev/null: strip fails with EBADF when fd 0 is closed)
	$s -o "$WORK/stripped" "$2" </dev/null && echo $(($(stat -c %s "$WORK/stripped") / 1024))
}

machine_line
if [ "$SIZES" = 1 ]; then
	echo "== stripped sizes (KiB): default = -g -O2; small = -Os -ffunction-sections -fdata-sections -Wl,--gc-sections"
	printf '%-8s %14s %14s %14s %14s\n' arch "pkdns default" "pkdns small" "cli default" "cli small"
	for arch in $ARCHS; do
		t=$(triplet_of "$arch")
		d=$(build "$arch" default) || continue
		s=$(build "$arch" small) || continue
		printf '%-8s %14s %14s %14s %14s\n' "$arch" \
			"$(stripped_kb "$t" "$d/src/pkdns")" "$(stripped_kb "$t" "$s/src/pkdns")" \
			"$(stripped_kb "$t" "$d/src/pkdns-cli")" "$(stripped_kb "$t" "$s/src/pkdns-cli")"
		echo "$arch NEEDED pkdns: $(readelf -d "$d/src/pkdns" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')"
		echo "$arch NEEDED pkdns-cli: $(readelf -d "$d/src/pkdns-cli" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')"
	done
fi
[ "$MEMORY" = 1 ] || exit 0

# --- a testnet with PACKETS_MAX published keys --------------------------------
max=0
for n in $PACKETS; do [ "$n" -gt "$max" ] && max=$n; done
KEYS=${KEYS:-$WORK/keys}
mkdir -p "$KEYS"
ZONE=$WORK/zone
# shellcheck disable=SC2016
printf '$TTL 300\n@ IN A 192.0.2.10\nwww IN A 192.0.2.11\n_pubky IN TXT "0123456789012345678901234567890123456789"\n' >"$ZONE"
if [ -z "${TESTNET_PORT:-}" ]; then
	TESTNET_PORT=$("$PYTHON" - "${TESTNET:-250}" <<'EOF'
import random, socket, sys
n = int(sys.argv[1])
for _ in range(100):
    base = random.randrange(10000, 32000 - n)
    socks = []
    try:
        for p in range(base, base + n):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            socks.append(s)
            s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        for s in socks:
            s.close()
    print(base)
    break
EOF
)
	hport=$(free_port)
	bg helper "$PKDNS" -d -l "127.0.0.1:$hport" --testnet "${TESTNET:-250}" --testnet-port "$TESTNET_PORT" \
		--dht-port 0 --dht-mode client -f 127.0.0.1:9 --dnssec no --ratelimit 0 --dht-ratelimit 0 --stats-interval 0
	sleep 2
	say "publishing $max keys to a ${TESTNET:-250}-node testnet on $TESTNET_PORT"
	t0=$(date +%s)
	export PKDNS_CLI KEYS ZONE TESTNET_PORT
	# shellcheck disable=SC2016
	seq 1 "$max" | xargs -P 20 -n 1 sh -c '
		[ -f "$KEYS/$1.seed" ] || "$PKDNS_CLI" generate -o "$KEYS/$1.seed" >/dev/null 2>&1
		"$PKDNS_CLI" --testnet-port "$TESTNET_PORT" --timeout 10 publish "$KEYS/$1.seed" "$ZONE" >/dev/null 2>&1 ||
			echo "publish $1 failed"' sh | head -5
	say "published in $(($(date +%s) - t0)) s"
fi
# www.KEY of each seed (kept beside the keys: 10,000 pkdns-cli runs)
if [ "$(wc -l <"$KEYS/names" 2>/dev/null)" != "$max" ]; then
	for i in $(seq 1 "$max"); do
		echo "www.$("$PKDNS_CLI" publickey "$KEYS/$i.seed")"
	done >"$KEYS/names"
fi
cp "$KEYS/names" "$WORK/names"

# mem PID GUEST: "rss_kb anon_kb" of a native process, or of the guest
# mappings (below 2^40) of a qemu process.
mem() {
	if [ "$2" = 0 ]; then
		echo "$(awk '/^VmRSS/ {print $2}' "/proc/$1/status") $(awk '/^RssAnon/ {print $2}' "/proc/$1/status")"
	else
		awk '/^[0-9a-f]+-[0-9a-f]+ / { split($1, r, "-"); g = length(r[1]) <= 10; file = ($6 != "") }
		     /^Rss:/ && g { rss += $2 }
		     /^Anonymous:/ && g { anon += $2 }
		     END { print rss, anon }' "/proc/$1/smaps"
	fi
}

echo "== resident memory (kB): pkdns in DHT client mode, caches 32m/16m, www.KEY A asked for N keys"
echo "   (native: VmRSS and RssAnon of the process; qemu: guest mappings of the qemu process)"
for arch in $ARCHS; do
	d=$(build "$arch" default) || continue
	port=$(free_port)
	if [ "$arch" = native ]; then
		cmd=("$d/src/pkdns")
		guest=0
	else
		cmd=("$(qemu_of "$arch")" -L "${PKDNS_CROSS_CACHE:-/var/cache/pkdns-cross}/$arch/sysroot" "$d/src/pkdns")
		guest=1
	fi
	bg "pk-$arch" "${cmd[@]}" -d -l "127.0.0.1:$port" --bootstrap "127.0.0.1:$TESTNET_PORT" \
		--dht-mode client --dht-port 0 -f 127.0.0.1:9 --dnssec no --tld key \
		--ratelimit 0 --dht-ratelimit 0 --stats-interval 0
	sleep 5
	pid=$(pid_of "pk-$arch")
	echo "$arch idle: $(mem "$pid" $guest)"
	done_n=0
	for n in $PACKETS; do
		sed -n "$((done_n + 1)),${n}p" "$WORK/names" >"$WORK/step"
		r=$("$PYTHON" "$BENCH_DIR/lib/fillq.py" --port "$port" --inflight "${INFLIGHT:-32}" "$WORK/step" 192.0.2.11)
		done_n=$n
		sleep 2
		echo "$arch $n: $(mem "$pid" $guest)  ($r)"
	done
	stop "pk-$arch"
done
