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
#   say MSG               a line to stderr with a time stamp
# Loopback only; everything this script started is stopped on exit.

set -u
: "${BENCH_DIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}"
: "${BUILD:=/work/build}"
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
