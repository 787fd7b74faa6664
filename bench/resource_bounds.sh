#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# resource_bounds.sh -- does pkdns's memory level off under load it
# cannot answer from cache? Three dnsperf runs at full speed, each
# against a fresh pkdns with the default caches (--ratelimit 0 and
# --dht-ratelimit 0 so that the load reaches the paths):
#   (a) names under a published key (n<i>.<key>, a wildcard zone):
#       answer-cache misses answered from the packet cache;
#   (b) random unpublished keys: a DHT look-up each (a 20-node
#       in-process testnet), then a negative answer;
#   (c) ICANN names whose server never answers: the only upstream is
#       a loopback black hole (tests/e2e/blackhole.py).
# RSS (VmRSS, kB) and open fds of pkdns are sampled every second; the
# three curves are printed as one table, then per run: queries sent and
# answered (dnsperf), RSS at the start, peak and end, and whether a name
# under the published key still answers at the end (it must).
#
# Environment: SECONDS_PER_RUN (60), CLIENTS (8, dnsperf -c),
# OUTSTANDING (500, dnsperf -q), RUNS ("a b c": which runs). Bounded: 3 x SECONDS_PER_RUN + ~30 s.
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
. "$BENCH_DIR/lib.sh"

SECS=${SECONDS_PER_RUN:-60}
CLIENTS=${CLIENTS:-8}
OUTSTANDING=${OUTSTANDING:-500}
NQ=200000

machine_line
BH_PORT=$(free_port)
bg blackhole "$PYTHON" "$BENCH_DIR/../tests/e2e/blackhole.py" serve --port "$BH_PORT" \
	--lifetime $((3 * SECS + 120))

# the query files
"$PYTHON" - "$WORK" "$NQ" <<'EOF'
import os, sys
work, n = sys.argv[1], int(sys.argv[2])
alpha = "ybndrfg8ejkmcpqxot1uwisza345h769"
def z32(b):
    bits = int.from_bytes(b, "big") << 4  # 256 bits -> 260, 52 chars
    return "".join(alpha[(bits >> (5 * (51 - i))) & 31] for i in range(52))
with open(os.path.join(work, "b.txt"), "w") as f:
    for _ in range(n):
        f.write("%s A\n" % z32(os.urandom(32)))
with open(os.path.join(work, "c.txt"), "w") as f:
    tag = os.urandom(4).hex()
    for i in range(n):
        f.write("n%d-%s.blackhole.example A\n" % (i, tag))
EOF

start_pkdns() { # NAME
	TN=$(free_port_range 20)
	PK_PORT=$(free_port)
	bg "$1" "$PKDNS" -d -v --testnet 20 --testnet-port "$TN" --dht-port 0 \
		-l "127.0.0.1:$PK_PORT" -f "127.0.0.1:$BH_PORT" --dnssec no --ratelimit 0 \
		--dht-ratelimit 0 --stats-interval 0
	for _ in $(seq 1 50); do
		grep -q ' ready' "$WORK/$1.log" && return 0
		sleep 0.1
	done
	say "pkdns did not start"
	cat "$WORK/$1.log"
	exit 1
}

publish_key() { # sets KEY; writes a.txt
	"$PKDNS_CLI" generate -o "$WORK/seed" >/dev/null 2>&1
	KEY=$("$PKDNS_CLI" publickey "$WORK/seed") || exit 1
	printf '%s\n' '$TTL 3600' '@ IN A 10.9.0.1' '* IN A 10.9.1.1' >"$WORK/zone"
	"$PKDNS_CLI" --testnet-port "$TN" publish "$WORK/seed" "$WORK/zone" >/dev/null 2>&1 ||
		{ say "publish failed"; exit 1; }
	seq 0 $((NQ - 1)) | sed "s/.*/n&.$KEY A/" >"$WORK/a.txt"
}

sample() { # PID SECS OUT: "t rss fds" each second
	local pid=$1 i
	for i in $(seq 0 "$2"); do
		[ -r "/proc/$pid/status" ] || break
		echo "$i $(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$pid/status") $(ls "/proc/$pid/fd" | wc -l)"
		sleep 1
	done >"$3"
}

RES=$WORK/results.txt
: >"$RES"
RUNS=${RUNS:-a b c}
for run in a b c; do
	case " $RUNS " in *" $run "*) ;; *) seq 0 $((SECS + 5)) | sed "s/\$/ - -/" >"$WORK/curve-$run.txt"; continue ;; esac
	start_pkdns "pk-$run"
	pid=$(pid_of "pk-$run")
	publish_key
	wait_answer "$PK_PORT" "$KEY" A 20 || { say "the key does not answer"; exit 1; }
	say "run ($run): $SECS s of dnsperf -c $CLIENTS -q $OUTSTANDING"
	sample "$pid" $((SECS + 5)) "$WORK/curve-$run.txt" &
	spid=$!
	dnsperf -s 127.0.0.1 -p "$PK_PORT" -d "$WORK/$run.txt" -l "$SECS" -c "$CLIENTS" \
		-q "$OUTSTANDING" -t 5 >"$WORK/perf-$run.txt" 2>&1
	wait "$spid"
	sent=$(sed -n 's/^ *Queries sent: *\([0-9]*\).*/\1/p' "$WORK/perf-$run.txt")
	done_q=$(sed -n 's/^ *Queries completed: *\([0-9]*\).*/\1/p' "$WORK/perf-$run.txt")
	lost=$(sed -n 's/^ *Queries lost: *\([0-9]*\).*/\1/p' "$WORK/perf-$run.txt")
	if "$PYTHON" "$BENCH_DIR/lib/dnsq.py" --port "$PK_PORT" --wait 5 "www.$KEY" A >/dev/null 2>&1; then
		still=yes
	else
		still=NO
	fi
	kill -USR1 "$pid"
	sleep 0.3
	stats=$(grep 'stats' "$WORK/pk-$run.log" | tail -n 1 | sed 's/.*info: //')
	awk -v run="$run" -v sent="$sent" -v done_q="$done_q" -v lost="$lost" -v still="$still" '
		NR == 1 { first = $2 } { if ($2 > peak) peak = $2; last = $2; if ($3 > fmax) fmax = $3 }
		END { printf "(%s) sent %s, answered %s, lost %s; RSS %d kB at start, peak %d, end %d; fds max %d; a published name still answers: %s\n",
			run, sent, done_q, lost, first, peak, last, fmax, still }' "$WORK/curve-$run.txt" >>"$RES"
	echo "    stats: $stats" >>"$RES"
	stop "pk-$run"
done

echo "RSS (kB) and open fds of pkdns, each second of the three runs:"
printf '%4s  %9s %4s  %9s %4s  %9s %4s\n' s "rss(a)" "fd" "rss(b)" "fd" "rss(c)" "fd"
paste -d' ' "$WORK/curve-a.txt" "$WORK/curve-b.txt" "$WORK/curve-c.txt" |
	awk '{ printf "%4s  %9s %4s  %9s %4s  %9s %4s\n", $1, $2, $3, $5, $6, $8, $9 }'
echo
cat "$RES"
