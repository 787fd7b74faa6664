#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# doh_dot.sh -- DNS over TLS and DNS over HTTPS: pkdns against Debian's
# unbound (tls-port, https-port; built with nghttp2), one thread each,
# the same certificate (made here), the same 1,000 ICANN names cached
# (both forward to nsd on loopback). Measures, alternating A B A B:
#   - dnsperf -m dot and -m doh throughput (queries/s) and server CPU
#     microseconds per answer (cpu_us_per_q);
#   - new TLS connections: full handshakes per second (openssl s_time
#     -new, no resumption) and server CPU microseconds per handshake;
#   - memory per idle TLS connection: RSS growth over N open, idle,
#     handshaken connections, divided by N.
#
# Environment: ROUNDS (5), SECONDS_PER_RUN (5), CLIENTS (8 connections),
# OUTSTANDING (200 queries in flight in all), IDLE_CONNS (100), PIN (1:
# servers on CPU 1, dnsperf on CPU 0). About two and a half minutes by
# default. Throughput: the median of the rounds and the ratio within each
# round (lib/summarise.py); every run checks that each query sent got a
# NOERROR answer (all_answered=1) and the summary counts the runs that
# did not.
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
. "$BENCH_DIR/lib.sh"

ROUNDS=${ROUNDS:-5}
SECS=${SECONDS_PER_RUN:-5}
CLIENTS=${CLIENTS:-8}
OUTSTANDING=${OUTSTANDING:-200}
IDLE_CONNS=${IDLE_CONNS:-100}
NNAMES=1000
ZONE=bench.example

machine_line
NSD_PORT=$(free_port)
PK_PORT=$(free_port); PK_DOT=$(free_port); PK_DOH=$(free_port)
UB_PORT=$(free_port); UB_DOT=$(free_port); UB_DOH=$(free_port)
say "nsd :$NSD_PORT; pkdns :$PK_PORT dot :$PK_DOT doh :$PK_DOH; unbound :$UB_PORT dot :$UB_DOT doh :$UB_DOH"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-keyout "$WORK/key.pem" -out "$WORK/cert.pem" -subj "/CN=localhost" \
	-addext "subjectAltName=IP:127.0.0.1,DNS:localhost" 2>/dev/null || exit 1

nsd_upstream "$ZONE" $NNAMES "$NSD_PORT"

# (not a pipe: cached_forwarders must run in this shell, whose exit trap
# stops the servers it starts)
cached_forwarders "$UB_PORT" "$PK_PORT" "$NSD_PORT" "$ZONE" $NNAMES \
	--tls-listen "127.0.0.1:$PK_DOT" --https-listen "127.0.0.1:$PK_DOH" \
	--tls-cert "$WORK/cert.pem" --tls-key "$WORK/key.pem" \
	--tcp-max-connections 1000 --tcp-max-per-client 1000 --http-max-connections 8000 \
	< <(unbound_encrypted_lines "$UB_DOT" "$UB_DOH")

RES=$WORK/results.txt
: >"$RES"

# Fairness on a small shared machine: both servers on one CPU and dnsperf
# on the other (PIN=0: no pinning), so a server never fights its own load
# generator for a core; rounds alternate the order (pkdns first in odd
# rounds, unbound first in even ones) so a drift in the machine's load
# falls on both; the same dnsperf settings for both (-T 1, CLIENTS
# connections, OUTSTANDING queries in flight in all, DoH by GET).
PIN=${PIN:-1}
CLIENT_PIN=()
if [ "$PIN" = 1 ] && [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
	for n in pkdns unbound; do
		taskset -apc 1 "$(pid_of $n)" >/dev/null
	done
	CLIENT_PIN=(taskset -c 0)
	say "servers pinned to CPU 1, dnsperf to CPU 0"
fi

# One dnsperf run against a server: dnsstat.py's line plus the server's
# CPU (cpu_us_per_q), dnsperf's own CPU (client_us_per_q: what taking
# this server's answers costs the load generator) and all_answered=1 when
# every query sent got a NOERROR answer (nothing lost, no other rcode).
tls_run() { # LABEL PID PORT MODE
	local t0 t1 hz line
	hz=$(getconf CLK_TCK)
	t0=$(cpu_ticks "$2")
	"${CLIENT_PIN[@]}" "$PYTHON" -c '
import resource, subprocess, sys
rc = subprocess.run(sys.argv[1:], stderr=subprocess.STDOUT).returncode
u = resource.getrusage(resource.RUSAGE_CHILDREN)
print("client_cpu_s=%.3f" % (u.ru_utime + u.ru_stime))
sys.exit(rc)' dnsperf -m "$4" -s 127.0.0.1 -p "$3" -T 1 -c "$CLIENTS" -q "$OUTSTANDING" -t 5 \
		-d "$WORK/queries.txt" -l "$SECS" >"$WORK/run.out" 2>&1
	t1=$(cpu_ticks "$2")
	line=$("$PYTHON" "$BENCH_DIR/lib/dnsstat.py" --label "$1" <"$WORK/run.out")
	awk -v l="$line" -v t="$((t1 - t0))" -v hz="$hz" \
	    -v cc="$(sed -n 's/^client_cpu_s=//p' "$WORK/run.out")" 'BEGIN {
		n = 0; sent = -1; lost = -1; rc = ""
		k = split(l, f, " ")
		for (i = 1; i <= k; i++) {
			split(f[i], kv, "=")
			if (kv[1] == "completed") n = kv[2]
			if (kv[1] == "sent") sent = kv[2]
			if (kv[1] == "lost") lost = kv[2]
			if (kv[1] == "rcodes") rc = kv[2]
		}
		ok = (n > 0 && n == sent && lost == 0 && rc == "NOERROR:" n)
		printf "%s cpu_s=%.2f cpu_us_per_q=%.3f client_us_per_q=%.3f all_answered=%d\n", l,
		    t / hz, n ? t / hz * 1e6 / n : 0, n ? cc * 1e6 / n : 0, ok }'
}

for mode in dot doh; do
	pk=$PK_DOT ub=$UB_DOT
	[ $mode = doh ] && pk=$PK_DOH ub=$UB_DOH
	for r in $(seq 1 "$ROUNDS"); do
		if [ $((r % 2)) = 1 ]; then
			tls_run "pkdns-$mode" "$(pid_of pkdns)" "$pk" $mode | tee -a "$RES"
			tls_run "unbound-$mode" "$(pid_of unbound)" "$ub" $mode | tee -a "$RES"
		else
			tls_run "unbound-$mode" "$(pid_of unbound)" "$ub" $mode | tee -a "$RES"
			tls_run "pkdns-$mode" "$(pid_of pkdns)" "$pk" $mode | tee -a "$RES"
		fi
	done
done

# full TLS handshakes per second (openssl s_time -new: a new session each time)
handshakes() { # LABEL PID PORT
	local t0 t1 n hz
	hz=$(getconf CLK_TCK)
	t0=$(cpu_ticks "$2")
	n=$("${CLIENT_PIN[@]}" openssl s_time -connect "127.0.0.1:$3" -new -time "$SECS" 2>/dev/null |
		sed -n 's/^\([0-9]*\) connections in [0-9.]*s.*/\1/p' | head -n 1)
	t1=$(cpu_ticks "$2")
	awk -v l="$1" -v n="${n:-0}" -v s="$SECS" -v t="$((t1 - t0))" -v hz="$hz" \
		'BEGIN { printf "label=%s handshakes=%d hs_per_s=%.1f cpu_us_per_hs=%.1f\n", l, n, n / s, n ? t / hz * 1e6 / n : 0 }'
}
for _ in $(seq 1 "$ROUNDS"); do
	handshakes pkdns-hs "$(pid_of pkdns)" "$PK_DOT" | tee -a "$RES"
	handshakes unbound-hs "$(pid_of unbound)" "$UB_DOT" | tee -a "$RES"
done

# memory per idle TLS connection (DoT, and HTTPS with ALPN h2)
idle_mem() { # LABEL PID PORT ALPN
	local before after
	before=$(rss_kb "$2")
	"$PYTHON" - "$3" "$IDLE_CONNS" "$4" "$WORK/idle.$1" <<'EOF' &
import os, socket, ssl, sys, time
port, n, alpn, flag = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
if alpn != "none":
    ctx.set_alpn_protocols([alpn])
conns = []
for _ in range(n):
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=5))
    if alpn == "h2":
        s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
    conns.append(s)
open(flag, "w").close()
time.sleep(8)
EOF
	local py=$!
	for _ in $(seq 1 100); do [ -f "$WORK/idle.$1" ] && break; sleep 0.1; done
	sleep 1
	after=$(rss_kb "$2")
	wait "$py" 2>/dev/null
	awk -v l="$1" -v b="$before" -v a="$after" -v n="$IDLE_CONNS" \
		'BEGIN { printf "label=%s conns=%d rss_before_kb=%d rss_after_kb=%d kb_per_conn=%.1f\n", l, n, b, a, (a - b) / n }'
}
idle_mem pkdns-idle-dot "$(pid_of pkdns)" "$PK_DOT" none | tee -a "$RES"
idle_mem unbound-idle-dot "$(pid_of unbound)" "$UB_DOT" none | tee -a "$RES"
idle_mem pkdns-idle-h2 "$(pid_of pkdns)" "$PK_DOH" h2 | tee -a "$RES"
idle_mem unbound-idle-h2 "$(pid_of unbound)" "$UB_DOH" h2 | tee -a "$RES"

echo "== DoT and DoH: pkdns vs unbound ($NNAMES cached names, $CLIENTS connections, $OUTSTANDING in flight, ${SECS}s runs, $ROUNDS rounds)"
echo "runs with a query not answered NOERROR: $(grep -c 'all_answered=0' "$RES") of $(grep -c 'all_answered=' "$RES")"
"$PYTHON" "$BENCH_DIR/lib/summarise.py" "$RES" pkdns-dot unbound-dot qps cpu_us_per_q client_us_per_q
"$PYTHON" "$BENCH_DIR/lib/summarise.py" "$RES" pkdns-doh unbound-doh qps cpu_us_per_q client_us_per_q
"$PYTHON" "$BENCH_DIR/lib/summarise.py" "$RES" pkdns-hs unbound-hs hs_per_s cpu_us_per_hs
"$PYTHON" "$BENCH_DIR/lib/summarise.py" "$RES" pkdns-idle-dot unbound-idle-dot kb_per_conn
"$PYTHON" "$BENCH_DIR/lib/summarise.py" "$RES" pkdns-idle-h2 unbound-idle-h2 kb_per_conn
