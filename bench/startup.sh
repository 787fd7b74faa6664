#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# startup.sh -- time from exec to the first answered query, for pkdns
# started with a saved routing table and a warm --cache-dir, against a
# cold pkdns and against unbound starting with local-data.
#
# A separate pkdns process runs a 50-node testnet (the "DHT"), with two
# keys published on it: CACHED (queried once while the warm cache-dir is
# made, so its packet is in the LMDB file) and FRESH (never queried
# before the measured runs). The warm directory is made by one pkdns run
# that resolves CACHED, looks up a few absent keys to fill its routing
# table, and stops (saving dht-nodes). Each measured run gets its own copy
# of that directory. lib/dnsq.py starts the server and polls it every
# 2 ms (UDP, connected socket, so a port with nothing bound fails at once) until an answer with records arrives; the time runs from
# just before exec. Variants, alternating, ROUNDS (5) times each:
#   warm-cached   warm cache-dir; question under CACHED (answered from disk)
#   warm-table    warm cache-dir, dead bootstrap: FRESH, so the look-up can
#                 only use the saved routing table
#   cold-boot     no cache-dir, a live bootstrap node: FRESH
#   unbound       unbound with one local-data name
# Bounded: well under a minute.
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
. "$BENCH_DIR/lib.sh"

ROUNDS=${ROUNDS:-5}
machine_line
TN=$(free_port_range 50)
NET_DNS=$(free_port)
bg net "$PKDNS" -d --testnet 50 --testnet-port "$TN" --dht-port 0 -l "127.0.0.1:$NET_DNS" \
	-f 127.0.0.1:9 --dnssec no --stats-interval 0
sleep 1.5
kill -0 "$(pid_of net)" || { cat "$WORK/net.log"; exit 1; }
for k in cached fresh; do
	"$PKDNS_CLI" generate -o "$WORK/seed-$k" >/dev/null 2>&1
	printf '$TTL 3600\n@ IN A 10.9.9.9\nwww IN A 10.9.9.8\n' >"$WORK/zone-$k"
	"$PKDNS_CLI" --testnet-port "$TN" publish "$WORK/seed-$k" "$WORK/zone-$k" >/dev/null 2>&1 ||
		{ say "publish failed"; exit 1; }
done
CACHED=$("$PKDNS_CLI" publickey "$WORK/seed-cached")
FRESH=$("$PKDNS_CLI" publickey "$WORK/seed-fresh")
DEAD=$(free_port)
say "DHT: 50 nodes at 127.0.0.1:$TN; keys published"

pk_args() { # PORT -> common daemon arguments
	echo "-d -v --dht-port 0 -l 127.0.0.1:$1 -f 127.0.0.1:9 --dnssec no --ratelimit 0 --dht-ratelimit 0 --stats-interval 0"
}

# --- the warm cache-dir ------------------------------------------------------
P=$(free_port)
# shellcheck disable=SC2046
bg warmup "$PKDNS" $(pk_args "$P") --bootstrap "127.0.0.1:$TN" --cache-dir "$WORK/warm"
wait_answer "$P" "www.$CACHED" A 10 || { cat "$WORK/warmup.log"; exit 1; }
for _ in 1 2 3 4 5; do
	"$PYTHON" "$BENCH_DIR/lib/dnsq.py" --port "$P" "$(head -c 32 /dev/urandom | "$PYTHON" -c '
import sys
a = "ybndrfg8ejkmcpqxot1uwisza345h769"
n = int.from_bytes(sys.stdin.buffer.read(), "big") << 4
print("".join(a[(n >> (5 * (51 - i))) & 31] for i in range(52)))')" A >/dev/null
done
sleep 1
stop warmup
say "warm cache-dir: $(ls "$WORK/warm" | tr '\n' ' '); dht-nodes $(stat -c %s "$WORK/warm/dht-nodes" 2>/dev/null) bytes"

{
	unbound_conf 127.0.0.1 UBPORT
	cat <<EOF
  module-config: "iterator"
  local-zone: "bench.example." static
  local-data: "www.bench.example. 3600 IN A 10.9.9.8"
remote-control:
  control-enable: no
EOF
} >"$WORK/unbound.conf"

RES=$WORK/results.txt
: >"$RES"
probe() { # LABEL NAME CMD...
	local label=$1 name=$2 ms
	shift 2
	ms=$("$PYTHON" "$BENCH_DIR/lib/dnsq.py" --port "$PORT" --start-ms --wait 30 \
		--log "$WORK/run-$label.log" "$name" A -- "$@")
	echo "label=$label ms=$ms" | tee -a "$RES"
}
for _ in $(seq 1 "$ROUNDS"); do
	PORT=$(free_port)
	rm -rf "$WORK/run"
	cp -a "$WORK/warm" "$WORK/run"
	# shellcheck disable=SC2046
	probe warm-cached "www.$CACHED" "$PKDNS" $(pk_args "$PORT") --bootstrap "127.0.0.1:$TN" --cache-dir "$WORK/run"
	PORT=$(free_port)
	rm -rf "$WORK/run"
	cp -a "$WORK/warm" "$WORK/run"
	# shellcheck disable=SC2046
	probe warm-table "www.$FRESH" "$PKDNS" $(pk_args "$PORT") --bootstrap "127.0.0.1:$DEAD" --cache-dir "$WORK/run"
	PORT=$(free_port)
	# shellcheck disable=SC2046
	probe cold-boot "www.$FRESH" "$PKDNS" $(pk_args "$PORT") --bootstrap "127.0.0.1:$TN"
	PORT=$(free_port)
	sed "s/UBPORT/$PORT/" "$WORK/unbound.conf" >"$WORK/unbound-run.conf"
	probe unbound www.bench.example "$UNBOUND" -d -c "$WORK/unbound-run.conf"
done

echo "== startup: exec to first answered query, ms ($ROUNDS rounds)"
"$PYTHON" "$BENCH_DIR/lib/summarise.py" "$RES" warm-cached unbound ms
"$PYTHON" "$BENCH_DIR/lib/summarise.py" "$RES" warm-table cold-boot ms
"$PYTHON" "$BENCH_DIR/lib/summarise.py" "$RES" warm-table unbound ms
