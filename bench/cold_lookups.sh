#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# cold_lookups.sh -- time to first answer and messages per look-up for
# keys pkdns has not cached, against libtorrent's dht_get_mutable_item on
# the same loopback network, key by key (A B, then B A: lib/cold.py).
#
# Two networks of NODES (500) nodes, one after the other:
#   ours:       pkdns --testnet NODES (our DHT nodes in the daemon's
#               process, 127.0.0.1:PORT..PORT+NODES-1); the daemon under
#               test is that same process: its own node does the look-ups.
#   libtorrent: tests/interop/ltdht.py net --nodes NODES (one session per
#               address 127.X.Y.Z); a separate pkdns daemon bootstraps
#               from it.
# KEYS (100) keys are published on each with pkdns-cli publish. pkdns is
# timed by the DNS client (UDP query to answer); its messages per look-up
# are the "queried" count of its debug log. libtorrent's time runs from
# dht_get_mutable_item to the first alert with an item; its messages are
# the change in dht_messages_out (both whole look-ups, not just to the
# first answer).
#
# Environment: NODES (500), KEYS (100), NETS ("ours lt"); CAPTURE=1 also
# records the libtorrent network's look-ups with tcpdump and prints where
# their time goes on the wire (lib/timeline.py).
# Bounded: about 2 minutes (the libtorrent network needs ~20 s to settle).
# The libtorrent network lives 280 s, or 2 s a key past 125 keys: a look-up
# pair takes up to ~2 s (libtorrent's look-ups that do not end are given
# up 2 s after their first item), publishing ~0.2 s a key.
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
. "$BENCH_DIR/lib.sh"

NODES=${NODES:-500}
KEYS=${KEYS:-100}
NETS=${NETS:-ours lt}
LTDHT=$(cd "$BENCH_DIR/.." && pwd)/tests/interop/ltdht.py
RES=$WORK/results.txt
: >"$RES"

machine_line
"$PYTHON" -c 'import libtorrent' 2>/dev/null || { say "no libtorrent for $PYTHON: only pkdns can run"; NETS=ours; }

make_keys() { # -> $WORK/keys.txt ("z32 hex"), seeds and zones in $WORK/k/
	mkdir -p "$WORK/k"
	: >"$WORK/keys.txt"
	for i in $(seq 0 $((KEYS - 1))); do
		"$PKDNS_CLI" generate -o "$WORK/k/seed$i" >/dev/null 2>&1
		z=$("$PKDNS_CLI" publickey "$WORK/k/seed$i") || exit 1
		printf '$TTL 3600\n@ IN A 10.1.%d.%d\nwww IN A 10.2.%d.%d\n' \
			$((i / 256)) $((i % 256)) $((i / 256)) $((i % 256)) >"$WORK/k/zone$i"
		echo "$z $("$PYTHON" -c '
import sys
a = "ybndrfg8ejkmcpqxot1uwisza345h769"
n = 0
for ch in sys.argv[1]: n = n * 32 + a.index(ch)
print("%064x" % (n >> 4))' "$z")" >>"$WORK/keys.txt"
	done
}

publish_all() { # BOOTSTRAP-ARGS...
	local t0 ok
	t0=$(date +%s)
	seq 0 $((KEYS - 1)) | xargs -P 8 -I{} sh -c \
		"\"$PKDNS_CLI\" $* publish \"$WORK/k/seed{}\" \"$WORK/k/zone{}\" >>\"$WORK/publish.log\" 2>&1 || echo fail >>\"$WORK/publish.fail\""
	ok=$(grep -c 'bytes stored on' "$WORK/publish.log")
	say "published $ok of $KEYS keys in $(($(date +%s) - t0)) s ($(grep -o 'bytes stored on [0-9]*' "$WORK/publish.log" | awk '{s+=$4} END {printf "%.1f", s/NR}') nodes each)"
	rm -f "$WORK/publish.log" "$WORK/publish.fail"
}

make_keys
say "$KEYS keys made"

for net in $NETS; do
	DNS_PORT=$(free_port)
	case $net in
	ours)
		TN=$(free_port_range "$NODES")
		say "ours: pkdns --testnet $NODES on 127.0.0.1:$TN, DNS :$DNS_PORT"
		bg pk-ours "$PKDNS" -d -v -v --testnet "$NODES" --testnet-port "$TN" --dht-port 0 \
			-l "127.0.0.1:$DNS_PORT" -f 127.0.0.1:9 --dnssec no --ratelimit 0 \
			--dht-ratelimit 0 --stats-interval 0
		sleep 3
		kill -0 "$(pid_of pk-ours)" || { tail "$WORK/pk-ours.log"; exit 1; }
		BOOT=127.0.0.1:$TN
		publish_all --testnet-port "$TN"
		LOG=$WORK/pk-ours.log
		;;
	lt)
		LTPORT=$(free_port)
		LTLIFE=$((30 + 2 * KEYS))
		[ "$LTLIFE" -lt 280 ] && LTLIFE=280
		LTBASE=127.$((RANDOM % 60 + 20)).$((RANDOM % 200)).1
		say "libtorrent: ltdht.py net --nodes $NODES from $LTBASE:$LTPORT"
		bg ltnet "$PYTHON" "$LTDHT" net --nodes "$NODES" --ip-base "$LTBASE" --port "$LTPORT" \
			--duration "$LTLIFE" --ready-file "$WORK/lt.ready" --settle-timeout 90
		for _ in $(seq 1 1000); do
			[ -s "$WORK/lt.ready" ] && break
			kill -0 "$(pid_of ltnet)" 2>/dev/null || break
			sleep 0.1
		done
		[ -s "$WORK/lt.ready" ] || { say "libtorrent network did not start"; tail "$WORK/ltnet.log"; continue; }
		say "libtorrent network: $(tr -d '\n' <"$WORK/lt.ready" | cut -c1-160)"
		BOOT=$LTBASE:$LTPORT
		PK_DHT_PORT=$(free_port)
		bg pk-lt "$PKDNS" -d -v -v --bootstrap "$BOOT" --dht-port "$PK_DHT_PORT" \
			-l "127.0.0.1:$DNS_PORT" -f 127.0.0.1:9 --dnssec no --ratelimit 0 \
			--dht-ratelimit 0 --stats-interval 0
		sleep 2
		publish_all --bootstrap "$BOOT"
		LOG=$WORK/pk-lt.log
		;;
	*) say "unknown network $net"; continue ;;
	esac
	if [ "$NETS" = ours ] && ! "$PYTHON" -c 'import libtorrent' 2>/dev/null; then
		"$PYTHON" "$BENCH_DIR/lib/dnsq.py" --port "$DNS_PORT" --each <(sed 's/ .*/ A/' "$WORK/keys.txt") >"$WORK/ours-only.txt"
		continue
	fi
	capturing=
	if [ -n "${CAPTURE:-}" ] && [ "$net" = lt ]; then
		if command -v tcpdump >/dev/null; then
			bg tcpdump tcpdump -i lo -B 65536 -w "$WORK/cold-lt.pcap" udp
			capturing=1
			sleep 1
		else
			say "CAPTURE set but no tcpdump (apt-get install tcpdump)"
		fi
	fi
	"$PYTHON" "$BENCH_DIR/lib/cold.py" --dns-port "$DNS_PORT" --bootstrap "$BOOT" \
		--keys "$WORK/keys.txt" --pkdns-log "$LOG" --label "$net" >"$WORK/cold-$net.txt" ||
		say "some look-ups failed on $net"
	if [ -n "$capturing" ]; then
		sleep 0.5
		stop tcpdump
		"$PYTHON" "$BENCH_DIR/lib/timeline.py" --pcap "$WORK/cold-lt.pcap" --dns-port "$DNS_PORT" \
			--dht-port "$PK_DHT_PORT" --keys "$WORK/keys.txt" | sed 's/^/timeline: /' | tee -a "$RES"
	fi
	grep '^label=' "$WORK/cold-$net.txt" | tee -a "$RES"
	grep '^paired:' "$WORK/cold-$net.txt" | sed "s/^/$net /" >>"$WORK/paired.txt"
	grep -c ' FAIL' "$WORK/cold-$net.txt" | sed "s/^/failed look-ups on $net: /"
	case $net in
	ours) stop pk-ours ;;
	lt) stop pk-lt; stop ltnet ;;
	esac
done

echo "== cold look-ups: $KEYS keys on $NODES-node loopback networks (time to first answer, ms; messages per look-up)"
for net in $NETS; do
	[ -s "$WORK/cold-$net.txt" ] || continue
	echo "-- network: $net"
	"$PYTHON" "$BENCH_DIR/lib/summarise.py" "$RES" "pkdns-$net" "lt-$net" p50_ms p95_ms mean_ms max_ms msgs_mean total_p50_ms found slow_or_incomplete
	grep "^$net paired:" "$WORK/paired.txt" 2>/dev/null | sed 's/^[a-z]* //'
done
