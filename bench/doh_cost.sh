#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# doh_cost.sh -- instructions per DNS-over-HTTPS (and DNS-over-TLS)
# answer, counted by callgrind, for pkdns and for Debian's unbound (one
# thread each, the same certificate, the same 1,000 cached names; both
# forward to nsd on loopback). Instruction counts do not move with the
# machine's load, so this is the repeatable "before/after" figure for a
# change in the DoH path; doh_dot.sh gives the queries/s ratio.
#
# Each server runs under valgrind --tool=callgrind. After warming, for
# each mode: counters zeroed, dnsperf sends the query file once (-n 1),
# dump; zeroed, dnsperf sends it N1 times, dump. Instructions per answer
# = (second - first) / (answers of the second - answers of the first),
# so start-up, warming and the connections' handshakes cancel out.
#
# Environment: N1 (5), CLIENTS (8), OUTSTANDING (20), ONLY (pkdns,
# unbound or both: default both), PROFILE=1 for the top functions of
# pkdns's DoH dump (callgrind_annotate, inclusive and self).
# Needs valgrind; about 2 minutes with both servers.
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
. "$BENCH_DIR/lib.sh"

command -v valgrind >/dev/null || { echo "doh_cost.sh: needs valgrind" >&2; exit 2; }
N1=${N1:-5}
CLIENTS=${CLIENTS:-8}
OUTSTANDING=${OUTSTANDING:-20}
ONLY=${ONLY:-both}
NNAMES=1000
ZONE=bench.example

machine_line
echo "revision $(git -C "$BENCH_DIR/.." rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$BENCH_DIR/.." diff --quiet HEAD -- src 2>/dev/null || echo ' (src modified)')"
NSD_PORT=$(free_port)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-keyout "$WORK/key.pem" -out "$WORK/cert.pem" -subj "/CN=localhost" \
	-addext "subjectAltName=IP:127.0.0.1,DNS:localhost" 2>/dev/null || exit 1
nsd_upstream "$ZONE" $NNAMES "$NSD_PORT"
seq 0 $((NNAMES - 1)) | sed "s/.*/n&.$ZONE A/" >"$WORK/queries.txt"
shuffle_lines "$WORK/queries.txt"

CG="valgrind --tool=callgrind --dump-instr=no --compress-strings=no"

# total instructions of the newest callgrind dump of NAME
dump_total() { # NAME
	local f
	f=$(ls -t "$WORK/cg.$1".* 2>/dev/null | head -n 1)
	sed -n 's/^totals: *\([0-9]*\).*/\1/p; s/^summary: *\([0-9]*\).*/\1/p' "$f" | head -n 1
}

# callgrind_control -z / -d wait for the process to take the command
cg_ctl() { # ARG NAME
	callgrind_control "$1" "$(pid_of "$2")" >/dev/null 2>&1
}

# one measured dnsperf pass: zero, run, dump; prints "answers instructions"
measured() { # NAME MODE PORT PASSES
	local done ins
	cg_ctl -z "$1"
	done=$(dnsperf -m "$2" -s 127.0.0.1 -p "$3" -T 1 -c "$CLIENTS" -q "$OUTSTANDING" -t 60 \
		-d "$WORK/queries.txt" -n "$4" 2>&1 | "$PYTHON" "$BENCH_DIR/lib/dnsstat.py" --label x |
		sed -n 's/.* completed=\([0-9]*\).* lost=\([0-9]*\).*/\1 \2/p')
	cg_ctl -d "$1"
	sleep 1
	ins=$(dump_total "$1")
	echo "$done $ins"
}

cost() { # NAME MODE PORT
	local a b
	a=$(measured "$1" "$2" "$3" 1)
	b=$(measured "$1" "$2" "$3" "$N1")
	# shellcheck disable=SC2086
	set -- "$1" "$2" $a $b
	awk -v l="$1-$2" -v c1="$3" -v l1="$4" -v i1="$5" -v c2="$6" -v l2="$7" -v i2="$8" 'BEGIN {
		printf "label=%s answers=%d lost=%d instr_per_answer=%.0f\n", l, c2 - c1, l1 + l2,
		    (c2 > c1 ? (i2 - i1) / (c2 - c1) : 0) }'
}

RES=$WORK/results.txt
: >"$RES"
if [ "$ONLY" != unbound ]; then
	PK_PORT=$(free_port); PK_DOT=$(free_port); PK_DOH=$(free_port)
	# shellcheck disable=SC2086
	bg pkdns $CG --callgrind-out-file="$WORK/cg.pkdns.%p" "$PKDNS" -d --dht-mode off \
		-l "127.0.0.1:$PK_PORT" -f "127.0.0.1:$NSD_PORT" --dnssec no --ratelimit 0 \
		--stats-interval 0 --tls-listen "127.0.0.1:$PK_DOT" --https-listen "127.0.0.1:$PK_DOH" \
		--tls-cert "$WORK/cert.pem" --tls-key "$WORK/key.pem" --tcp-max-connections 1000 \
		--tcp-max-per-client 1000 --http-max-connections 1000
	wait_answer "$PK_PORT" "n0.$ZONE" A 60 || { cat "$WORK/pkdns.log"; exit 1; }
	warm_check pkdns "$PK_PORT" $NNAMES
	cost pkdns doh "$PK_DOH" | tee -a "$RES"
	cp "$(ls -t "$WORK"/cg.pkdns.* | head -n 1)" "$WORK/pkdns-doh.cg"
	cost pkdns dot "$PK_DOT" | tee -a "$RES"
	stop pkdns
fi
if [ "$ONLY" != pkdns ]; then
	UB_PORT=$(free_port); UB_DOT=$(free_port); UB_DOH=$(free_port)
	{
		unbound_conf "127.0.0.1@$UB_PORT" "$UB_PORT"
		unbound_encrypted_lines "$UB_DOT" "$UB_DOH"
		unbound_forward_lines "$NSD_PORT"
	} >"$WORK/unbound.conf"
	# shellcheck disable=SC2086
	bg unbound $CG --callgrind-out-file="$WORK/cg.unbound.%p" "$UNBOUND" -d -c "$WORK/unbound.conf"
	wait_answer "$UB_PORT" "n0.$ZONE" A 60 || { cat "$WORK/unbound.log"; exit 1; }
	warm_check unbound "$UB_PORT" $NNAMES
	cost unbound doh "$UB_DOH" | tee -a "$RES"
	cost unbound dot "$UB_DOT" | tee -a "$RES"
	stop unbound
fi

echo "== instructions per answer (callgrind; $CLIENTS clients, $OUTSTANDING outstanding, $NNAMES cached names)"
"$PYTHON" "$BENCH_DIR/lib/summarise.py" "$RES" pkdns-doh unbound-doh instr_per_answer
"$PYTHON" "$BENCH_DIR/lib/summarise.py" "$RES" pkdns-dot unbound-dot instr_per_answer
if [ -n "${PROFILE:-}" ] && [ -f "$WORK/pkdns-doh.cg" ]; then
	echo "== pkdns DoH pass ($N1 x $NNAMES queries): top functions, inclusive"
	callgrind_annotate --inclusive=yes "$WORK/pkdns-doh.cg" 2>/dev/null | sed -n '/^Ir/,$p' | head -45
	echo "== self"
	callgrind_annotate --inclusive=no "$WORK/pkdns-doh.cg" 2>/dev/null | sed -n '/^Ir/,$p' | head -45
fi
