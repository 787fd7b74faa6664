#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# memory.sh -- resident memory of pkdns holding 100,000 cached pkarr
# packets, per packet, against the packets' own bytes (public key,
# signature, timestamp and DNS message: the SignedPacket layout).
#
# How the cache is filled: bench/fill_cache.c (linked to libpkdns.a)
# signs N packets (one key each, ~160-byte DNS message: two A records and
# a 40-byte TXT) and puts them into a struct pkarr_cache backed by an LMDB
# directory; it reports its own RSS growth (the cache alone). Then a real
# daemon is started on that directory (--cache-dir, which loads and
# re-verifies every packet), and for comparison on an empty directory,
# alternating full/empty for ROUNDS rounds; the difference of the two
# daemons' RssAnon divided by N is pkdns's resident cost per packet.
# VmRSS also counts LMDB's file pages (RssFile), which the kernel can drop.
#
# Environment: PACKETS (100000), ROUNDS (3), TXT_BYTES (40).
# Bounded: about 1.5 minutes for 100,000 packets on 2 cores.
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
. "$BENCH_DIR/lib.sh"

N=${PACKETS:-100000}
ROUNDS=${ROUNDS:-3}
TXT=${TXT_BYTES:-40}
SRC=$(cd "$BENCH_DIR/.." && pwd)/src

machine_line
# shellcheck disable=SC2046
gcc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -I"$BUILD" -I"$SRC" \
	"$BENCH_DIR/fill_cache.c" "$BUILD/libpkdns.a" \
	$(pkg-config --libs ldns libsodium libevent libunbound lmdb) -o "$WORK/fill_cache" ||
	{ say "cannot build fill_cache"; exit 1; }

say "signing and caching $N packets"
t0=$(date +%s.%N)
"$WORK/fill_cache" "$N" "$WORK/full" "$TXT" | tee "$WORK/fill.txt" || exit 1
say "filled in $(echo "$(date +%s.%N) - $t0" | bc) s; LMDB file $(du -k "$WORK/full/pkarr-packets.mdb" | cut -f1) kB"
own=$(sed -n 's/.* own_per_packet=\([0-9.]*\).*/\1/p' "$WORK/fill.txt")
mkdir -p "$WORK/empty"

# A first key the daemon must answer from its loaded cache (fill_cache
# seeds packet i with i in the first 8 bytes, 0x5a in the last).
printf '%064x\n' 0 | sed 's/..$/5a/' >"$WORK/seed0"
chmod 600 "$WORK/seed0"
KEY=$("$PKDNS_CLI" publickey "$WORK/seed0")

RES=$WORK/results.txt
: >"$RES"
run_daemon() { # LABEL DIR
	local port budget=$((N * 1300 / 1048576 + 64))m t0 t1 st
	port=$(free_port)
	t0=$(date +%s%N)
	bg "pk-$1" "$PKDNS" -d -v --dht-mode off -l "127.0.0.1:$port" -f 127.0.0.1:9 --dnssec no \
		--ratelimit 0 --stats-interval 0 --cache-dir "$2" --packet-cache-size "$budget"
	for _ in $(seq 1 600); do
		grep -q ' ready' "$WORK/pk-$1.log" && break
		kill -0 "$(pid_of "pk-$1")" 2>/dev/null || break
		sleep 0.05
	done
	t1=$(date +%s%N)
	if [ "$1" = full ]; then
		wait_answer "$port" "www.$KEY" A 10 || say "pkdns did not answer from its loaded cache"
	fi
	st=/proc/$(pid_of "pk-$1")/status
	echo "label=$1 rss_kb=$(awk '/^VmRSS/ {print $2}' "$st") anon_kb=$(awk '/^RssAnon/ {print $2}' "$st") file_kb=$(awk '/^RssFile/ {print $2}' "$st") load_ms=$(((t1 - t0) / 1000000)) packets=$(sed -n 's/.*packet cache: \([0-9]*\) packets.*/\1/p' "$WORK/pk-$1.log" | head -1)" |
		tee -a "$RES"
	stop "pk-$1"
}
for _ in $(seq 1 "$ROUNDS"); do
	run_daemon full "$WORK/full"
	run_daemon empty "$WORK/empty"
done

echo "== memory: pkdns with $N cached packets (own bytes ${own} per packet)"
"$PYTHON" - "$RES" "$WORK/fill.txt" "$N" <<'EOF'
import statistics, sys
rows = [dict(p.split("=", 1) for p in l.split() if "=" in p) for l in open(sys.argv[1])]
fill = dict(p.split("=", 1) for p in open(sys.argv[2]).read().split() if "=" in p)
n = int(sys.argv[3])
own = float(fill["own_per_packet"])
def med(label, key):
    return statistics.median(float(r[key]) for r in rows if r["label"] == label)
print("fill_cache (cache alone): %.0f bytes of RssAnon per packet, cache accounts %.0f; ratio to own bytes %.2f"
      % (float(fill["anon_per_packet"]), float(fill["cache_per_packet"]), float(fill["anon_per_packet"]) / own))
for k in ("rss_kb", "anon_kb", "file_kb", "load_ms"):
    print("%-8s full %.0f [%s]  empty %.0f [%s]" % (k, med("full", k),
          " ".join(r[k] for r in rows if r["label"] == "full"), med("empty", k),
          " ".join(r[k] for r in rows if r["label"] == "empty")))
loaded = [r.get("packets", "") for r in rows if r["label"] == "full"]
print("packets loaded by the daemon: %s" % " ".join(loaded))
per_anon = (med("full", "anon_kb") - med("empty", "anon_kb")) * 1024 / n
per_rss = (med("full", "rss_kb") - med("empty", "rss_kb")) * 1024 / n
print("pkdns per packet: %.0f bytes RssAnon, %.0f bytes VmRSS (with LMDB pages); own bytes %.0f"
      % (per_anon, per_rss, own))
print("ratio RssAnon per packet / own bytes = %.2f; VmRSS per packet / own bytes = %.2f"
      % (per_anon / own, per_rss / own))
EOF
