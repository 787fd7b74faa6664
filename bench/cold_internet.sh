#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# cold_internet.sh -- cold look-ups on an emulated internet (issue 15):
# pkdns against libtorrent and JS pkarr on the same 500-node network whose
# nodes answer after long-tailed delays, lose datagrams and are partly
# dead (the testnet of `pkdns --testnet-rtt/-loss/-dead`, run alone by
# cold_internet_net.c so that all three are clients from outside it).
#
# Two profiles, one after the other:
#   rtt 100 ms, loss 5 %, dead 30 %   (and pkdns's time from start to its
#                                      first answer: empty cache-dir, and
#                                      the routing table it saved)
#   rtt 250 ms, loss 10 %, dead 50 %
# KEYS keys published with pkdns-cli, each asked cold once of each client
# (orders turn over key by key); see cold_internet.py for what is timed
# and how messages are counted (at the testnet, the same for all).
#
# Environment: NODES (500), KEYS (100), PROFILES ("100/5/30 250/10/50"),
# SEED (1), STARTUP (3 starts of each kind; 0 = none). JS pkarr (npm
# pkarr 1.3.0) is installed once into ${XDG_CACHE_HOME:-~/.cache}/pkdns-bench/js.
# Bounded: each look-up 10 s at most; about 6 minutes per profile at
# KEYS=100 on 2 cores (KEYS=10 for a quick look: about 1 minute).
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
. "$BENCH_DIR/lib.sh"

NODES=${NODES:-500}
KEYS=${KEYS:-100}
PROFILES=${PROFILES:-100/5/30 250/10/50}
SEED=${SEED:-1}
STARTUP=${STARTUP:-3}
SRC=$(cd "$BENCH_DIR/.." && pwd)/src
JSDIR=${XDG_CACHE_HOME:-$HOME/.cache}/pkdns-bench/js

machine_line
"$PYTHON" -c 'import libtorrent' 2>/dev/null || { say "no libtorrent for $PYTHON"; exit 2; }
command -v node >/dev/null && command -v npm >/dev/null || { say "needs node and npm"; exit 2; }
if [ ! -f "$JSDIR/node_modules/pkarr/lib/dht.js" ]; then
	say "installing npm pkarr@1.3.0 into $JSDIR"
	mkdir -p "$JSDIR"
	[ -f "$JSDIR/package.json" ] || echo '{"private":true}' >"$JSDIR/package.json"
	(cd "$JSDIR" && npm install --no-audit --no-fund pkarr@1.3.0 >/dev/null 2>&1) ||
		{ say "npm install pkarr failed"; exit 2; }
fi
# shellcheck disable=SC2046
gcc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -I"$BUILD" -I"$SRC" \
	"$BENCH_DIR/cold_internet_net.c" "$BUILD/libpkdns.a" \
	$(pkg-config --libs ldns libsodium libevent libunbound lmdb) -o "$WORK/net" ||
	{ say "cannot build cold_internet_net"; exit 1; }

first=1
for prof in $PROFILES; do
	IFS=/ read -r rtt loss dead <<<"$prof"
	startup=0
	[ "$first" = 1 ] && startup=$STARTUP
	first=0
	mkdir -p "$WORK/$rtt"
	# another program may take a port of the free range before the
	# network binds it (exit 3): then a new range, three times at most
	for _try in 1 2 3; do
		port=$(free_port_range "$NODES")
		rc=0
		"$PYTHON" "$BENCH_DIR/cold_internet.py" --net "$WORK/net" --pkdns "$PKDNS" \
			--pkdns-cli "$PKDNS_CLI" --js-modules "$JSDIR/node_modules" --work "$WORK/$rtt" \
			--port "$port" --nodes "$NODES" --keys "$KEYS" --rtt "$rtt" --loss "$loss" \
			--dead "$dead" --seed "$SEED" --label "rtt$rtt" --startup "$startup" \
			>"$WORK/cold-$rtt.txt" || rc=$?
		[ "$rc" = 3 ] || break
	done
	[ "$rc" = 0 ] || say "profile $prof did not complete"
	grep -c ' FAIL' "$WORK/cold-$rtt.txt" | sed "s/^/not found within 10 s, all clients, rtt $rtt: /" >&2
done

echo "== cold look-ups on an emulated internet: $KEYS keys, $NODES nodes, seed $SEED, revision $(git -C "$BENCH_DIR" describe --always --dirty 2>/dev/null)"
for prof in $PROFILES; do
	IFS=/ read -r rtt loss dead <<<"$prof"
	echo "-- rtt $rtt ms, loss $loss %, dead $dead %"
	grep -E '^(label=|paired |startup )' "$WORK/cold-$rtt.txt"
done
