# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
# Shared helpers of the pkdns benchmarks; sourced (by bash) from every
# bench/*.sh. Benchmarks print figures and ratios; they assert no times.
#
# What it gives a script:
#   BUILD, PKDNS, PKDNS_CLI, PYTHON, BENCH_DIR, WORK (a private temp dir)
#   bg NAME CMD...        start CMD in the background, log in $WORK/NAME.log,
#                         pid in $WORK/NAME.pid; stopped by the EXIT trap
#   stop NAME             SIGTERM it, wait (bounded), SIGKILL if needed
#   free_port             a UDP+TCP port free on 127.0.0.1 now
#   wait_answer PORT NAME TYPE [SECONDS]
#                         poll until the server answers NOERROR with data
#   perf_run LABEL ARGS...  dnsperf ARGS, summary line to stdout (see
#                         lib/dnsstat.py); -v output is summarised there
#   perf_run_cpu LABEL PID ARGS...  the same plus the server PID's CPU
#                         time (cpu_s, cpu_us_per_q)
#   say MSG               a line to stderr with a time stamp
#   shuffle_lines FILE    one fixed shuffle of FILE's lines (the same for
#                         every server a script compares), in place
#   unbound_conf IFACE PORT  the server: lines all the unbound references
#                         share (1 thread, foreground, files in $WORK);
#                         the caller appends its own
#   answered FILE         how many lines of lib/dnsq.py --each output are
#                         NOERROR with one record
#   warm_check NAME PORT WANT  every name of $WORK/queries.txt asked once;
#                         exits unless all WANT are answered
#   pkdns_stats LABEL     SIGUSR1 to the bg process "pkdns"; its newest
#                         stats line, as "LABEL: ..."
#   perf_alternate RES PK_PORT UB_PORT DNSPERF-ARGS...
#                         ROUNDS throughput runs of pkdns and unbound in
#                         turn, then ROUNDS latency runs at half the slower
#                         one's throughput (SECS s each; lines into RES)
#   perf_summary RES      the ratio tables of perf_alternate's runs
#   perf_profile PORT DNSPERF-ARGS...  with BENCH_PROFILE set: a perf
#                         profile of "pkdns" under load, its top 25
# Loopback only; everything this script started is stopped on exit.

set -u
: "${BENCH_DIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}"
# The build: the README builds in the source tree, tests/run-all.sh in
# ./build; BUILD= names any other.
_top=$(cd "$BENCH_DIR/.." && pwd)
if [ -z "${BUILD:-}" ]; then
	for _d in "$_top" "$_top/build" /work/build; do
		[ -x "$_d/src/pkdns" ] && { BUILD=$_d; break; }
	done
	: "${BUILD:=$_top}"
fi

# What the benchmarks drive, from Debian (installed when run as root).
BENCH_DEPS="dnsperf unbound nsd python3 python3-libtorrent gcc pkg-config"
[ -n "${BENCH_PROFILE:-}" ] && BENCH_DEPS="$BENCH_DEPS linux-perf"
[ -n "${CAPTURE:-}" ] && BENCH_DEPS="$BENCH_DEPS tcpdump"
_missing=""
for _p in $BENCH_DEPS; do
	dpkg -s "$_p" >/dev/null 2>&1 || _missing="$_missing $_p"
done
if [ -n "$_missing" ]; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "installing:$_missing" >&2
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -q >/dev/null
		# the benchmarks run their own nsd and unbound on loopback ports:
		# the packages' services are kept from starting and from being
		# enabled (tests/lib-install.sh), and nothing already running is
		# touched
		# shellcheck source=tests/lib-install.sh
		. "$_top/tests/lib-install.sh"
		# shellcheck disable=SC2086
		install_quietly $_missing || { drop_policy; echo "apt-get install failed" >&2; exit 2; }
	else
		echo "missing Debian packages:$_missing (run as root to install them)" >&2
		exit 2
	fi
fi
PKDNS=${PKDNS:-$BUILD/src/pkdns}
PKDNS_CLI=${PKDNS_CLI:-$BUILD/src/pkdns-cli}
if [ -x /usr/bin/python3 ]; then PYTHON=${PYTHON3:-/usr/bin/python3}; else PYTHON=${PYTHON3:-python3}; fi
UNBOUND=${UNBOUND:-$(command -v unbound || echo /usr/sbin/unbound)}
NSD=${NSD:-$(command -v nsd || echo /usr/sbin/nsd)}
export LC_ALL=C

WORK=$(mktemp -d "${TMPDIR:-/tmp}/pkdns-bench.XXXXXX")
_bench_names=()

say() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

bg() { # NAME CMD...
	local name=$1
	shift
	"$@" >"$WORK/$name.log" 2>&1 &
	echo $! >"$WORK/$name.pid"
	_bench_names+=("$name")
}

stop() { # NAME
	local f="$WORK/$1.pid" pid
	[ -f "$f" ] || return 0
	pid=$(cat "$f")
	rm -f "$f"
	kill -TERM "$pid" 2>/dev/null || return 0
	for _ in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

pid_of() { cat "$WORK/$1.pid"; }

_bench_cleanup() {
	local n
	for n in "${_bench_names[@]}"; do stop "$n"; done
	if [ -n "${BENCH_KEEP:-}" ]; then
		echo "work files kept in $WORK" >&2
	else
		rm -rf "$WORK"
	fi
}
trap _bench_cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
	"$PYTHON" - <<'EOF'
import random, socket
for _ in range(200):
    p = random.randint(20000, 40000)
    try:
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", p))
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM); t.bind(("127.0.0.1", p))
        u.close(); t.close(); print(p); break
    except OSError:
        pass
EOF
}

# A run of N consecutive free UDP ports (testnets bind a range).
free_port_range() { # N
	"$PYTHON" - "$1" <<'EOF'
import random, socket, sys
n = int(sys.argv[1])
for _ in range(200):
    base = random.randint(20000, 60000 - n)
    socks = []
    try:
        for p in range(base, base + n):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", p)); socks.append(s)
        print(base); break
    except OSError:
        pass
    finally:
        for s in socks: s.close()
EOF
}

wait_answer() { # PORT NAME TYPE [SECONDS]
	"$PYTHON" "$BENCH_DIR/lib/dnsq.py" --port "$1" --wait "${4:-30}" "$2" "$3" >/dev/null
}

perf_run() { # LABEL DNSPERF-ARGS...
	local label=$1
	shift
	dnsperf "$@" 2>&1 | "$PYTHON" "$BENCH_DIR/lib/dnsstat.py" --label "$label"
}

cpu_ticks() { # PID: user + system time of the process, in clock ticks
	awk '{print $14 + $15}' "/proc/$1/stat"
}

# perf_run, plus the server's own CPU time during the run: cpu_s and
# cpu_us_per_q (microseconds of server CPU per answered query). On 2
# cores one dnsperf thread is the limit at full speed, so this is the
# figure that says what each answer costs the machine.
perf_run_cpu() { # LABEL SERVER-PID DNSPERF-ARGS...
	local label=$1 pid=$2 t0 t1 line done hz
	shift 2
	hz=$(getconf CLK_TCK)
	t0=$(cpu_ticks "$pid")
	line=$(perf_run "$label" "$@")
	t1=$(cpu_ticks "$pid")
	done=$(echo "$line" | sed -n 's/.* completed=\([0-9]*\).*/\1/p')
	awk -v l="$line" -v t="$((t1 - t0))" -v hz="$hz" -v n="${done:-0}" \
		'BEGIN { printf "%s cpu_s=%.2f cpu_us_per_q=%.3f\n", l, t / hz, n ? t / hz * 1e6 / n : 0 }'
}

shuffle_lines() { # FILE
	"$PYTHON" -c 'import random,sys; l=open(sys.argv[1]).readlines(); random.Random(1).shuffle(l); open(sys.argv[1],"w").writelines(l)' "$1"
}

unbound_conf() { # IFACE PORT
	cat <<EOF
server:
  interface: $1
  port: $2
  num-threads: 1
  do-daemonize: no
  use-syslog: no
  logfile: ""
  username: ""
  chroot: ""
  directory: "$WORK"
  pidfile: ""
  so-reuseport: no
EOF
}

nsd_upstream() { # ZONE NNAMES PORT: nsd serving nI.ZONE A (I < NNAMES) on 127.0.0.1:PORT
	local zone=$1 n=$2 port=$3 i
	mkdir -p "$WORK/nsd"
	{
		echo "\$ORIGIN $zone."
		echo '$TTL 3600'
		echo "@ IN SOA ns.$zone. hostmaster.$zone. 1 3600 600 86400 3600"
		echo "@ IN NS ns.$zone."
		echo "ns IN A 127.0.0.1"
		for i in $(seq 0 $((n - 1))); do echo "n$i IN A 10.$((i / 256)).$((i % 256)).1"; done
	} >"$WORK/nsd/$zone.zone"
	cat >"$WORK/nsd/nsd.conf" <<EOF
server:
  ip-address: 127.0.0.1
  do-ip6: no
  port: $port
  username: ""
  chroot: ""
  zonesdir: "$WORK/nsd"
  database: ""
  pidfile: "$WORK/nsd/nsd.pid"
  xfrdfile: "$WORK/nsd/xfrd.state"
  zonelistfile: "$WORK/nsd/zone.list"
  xfrdir: "$WORK/nsd"
  server-count: 1
  verbosity: 1
remote-control:
  control-enable: no
zone:
  name: $zone
  zonefile: $zone.zone
EOF
	bg nsd "$NSD" -d -c "$WORK/nsd/nsd.conf"
	wait_answer "$port" "n0.$zone" A 10 || { cat "$WORK/nsd.log"; exit 1; }
}

# unbound and pkdns, one thread each, both forwarding to nsd_upstream's
# ZONE on NSD_PORT, with its NNAMES names in $WORK/queries.txt (shuffled)
# and cached in both (every answer checked). More unbound.conf server:
# lines come on stdin, more pkdns options as arguments.
unbound_forward_lines() { # NSD_PORT: the end of a bench unbound.conf,
	# forwarding everything to the bench's nsd
	cat <<EOF
  access-control: 127.0.0.0/8 allow
  do-not-query-localhost: no
forward-zone:
  name: "."
  forward-addr: 127.0.0.1@$1
remote-control:
  control-enable: no
EOF
}

unbound_encrypted_lines() { # DOT_PORT DOH_PORT: unbound's DoT and DoH
	# listeners, on the bench's certificate ($WORK/cert.pem, key.pem)
	cat <<EOF
  interface: 127.0.0.1@$1
  interface: 127.0.0.1@$2
  tls-port: $1
  https-port: $2
  tls-service-key: "$WORK/key.pem"
  tls-service-pem: "$WORK/cert.pem"
  incoming-num-tcp: 1000
EOF
}

cached_forwarders() { # UB_PORT PK_PORT NSD_PORT ZONE NNAMES [PKDNS-OPTION...] <UNBOUND-LINES
	local ub=$1 pk=$2 nsd=$3 zone=$4 n=$5
	shift 5
	{
		unbound_conf "127.0.0.1@$ub" "$ub"
		cat
		unbound_forward_lines "$nsd"
	} >"$WORK/unbound.conf"
	bg unbound "$UNBOUND" -d -c "$WORK/unbound.conf"
	bg pkdns "$PKDNS" -d -v --dht-mode off -l "127.0.0.1:$pk" -f "127.0.0.1:$nsd" \
		"$@" --dnssec no --ratelimit 0 --stats-interval 0
	wait_answer "$ub" "n0.$zone" A 10 || { cat "$WORK/unbound.log"; exit 1; }
	wait_answer "$pk" "n0.$zone" A 10 || { cat "$WORK/pkdns.log"; exit 1; }

	seq 0 $((n - 1)) | sed "s/.*/n&.$zone A/" >"$WORK/queries.txt"
	shuffle_lines "$WORK/queries.txt"
	warm_check pkdns "$pk" "$n"
	warm_check unbound "$ub" "$n"
}

answered() { # FILE
	awk '$2 == 0 && $3 == 1' "$1" | wc -l
}

warm_check() { # NAME PORT WANT
	local good
	"$PYTHON" "$BENCH_DIR/lib/dnsq.py" --port "$2" --each "$WORK/queries.txt" >"$WORK/warm-$1.txt"
	good=$(answered "$WORK/warm-$1.txt")
	say "$1: $good of $3 names answered while warming"
	[ "$good" -eq "$3" ] || { say "not every name answered"; exit 1; }
}

pkdns_stats() { # LABEL
	kill -USR1 "$(pid_of pkdns)"
	sleep 0.2
	grep 'stats' "$WORK/pkdns.log" | tail -1 | sed "s/.*stats[^:]*: /$1: /"
}

perf_alternate() { # RES PK_PORT UB_PORT DNSPERF-ARGS...
	local res=$1 pk=$2 ub=$3 q
	shift 3
	for _ in $(seq 1 "$ROUNDS"); do
		perf_run_cpu pkdns-max "$(pid_of pkdns)" -s 127.0.0.1 -p "$pk" "$@" -l "$SECS" | tee -a "$res"
		perf_run_cpu unbound-max "$(pid_of unbound)" -s 127.0.0.1 -p "$ub" "$@" -l "$SECS" | tee -a "$res"
	done
	q=$("$PYTHON" - "$res" <<'EOF'
import statistics, sys
rows = [dict(p.split("=", 1) for p in l.split() if "=" in p) for l in open(sys.argv[1])]
m = min(statistics.median(float(r["qps"]) for r in rows if r["label"] == lab)
        for lab in ("pkdns-max", "unbound-max"))
print(max(1000, int(m / 2)))
EOF
)
	say "latency runs at $q queries/s"
	for _ in $(seq 1 "$ROUNDS"); do
		perf_run_cpu pkdns-lat "$(pid_of pkdns)" -s 127.0.0.1 -p "$pk" "$@" -l "$SECS" -Q "$q" -v | tee -a "$res"
		perf_run_cpu unbound-lat "$(pid_of unbound)" -s 127.0.0.1 -p "$ub" "$@" -l "$SECS" -Q "$q" -v | tee -a "$res"
	done
}

perf_summary() { # RES
	"$PYTHON" "$BENCH_DIR/lib/summarise.py" "$1" pkdns-max unbound-max qps avg_ms cpu_us_per_q
	"$PYTHON" "$BENCH_DIR/lib/summarise.py" "$1" pkdns-lat unbound-lat qps p50_ms p90_ms p99_ms p999_ms cpu_us_per_q
}

perf_profile() { # PORT DNSPERF-ARGS...
	local port=$1 ppid
	shift
	[ -n "${BENCH_PROFILE:-}" ] && command -v perf >/dev/null || return 0
	say "profiling pkdns under load (perf record, $SECS s)"
	perf record -F 2000 -g -o "$WORK/perf.data" -p "$(pid_of pkdns)" -- sleep "$SECS" >/dev/null 2>&1 &
	ppid=$!
	perf_run pkdns-prof -s 127.0.0.1 -p "$port" "$@" -l "$SECS" >/dev/null
	wait "$ppid"
	echo "== perf profile of pkdns (self time, top 25)"
	perf report -i "$WORK/perf.data" --stdio --no-children --sort symbol 2>/dev/null |
		grep -E '^ +[0-9.]+%' | head -25
}

rss_kb() { # PID
	awk '/^VmRSS:/ {print $2}' "/proc/$1/status"
}

machine_line() {
	printf 'machine: %s cores, %s, %s\n' "$(nproc)" \
		"$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)" "$(date -u +%Y-%m-%dT%H:%MZ)"
}

for _b in "$PKDNS" "$PKDNS_CLI"; do
	[ -x "$_b" ] || { echo "missing $_b (build first: cd $BUILD && make -j2)" >&2; exit 2; }
done
