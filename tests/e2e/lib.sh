# SPDX-License-Identifier: BSD-3-Clause
# Shared helpers of the pkdns end-to-end tests; sourced (by bash) from
# every tests/e2e/test_*.sh.
#
# What it gives a test script:
#   TAP:      ok DESC CMD..., is GOT WANT DESC, isnt, like GOT ERE DESC,
#             unlike, cmp_ok A OP B DESC, skip DESC REASON, diag MSG,
#             bail_out MSG, done_testing; TODO=reason marks assertions TODO
#   upstream: nsd_start [ZONEFILE...] / nsd_stop (nsd on loopback, port
#             $NSD_PORT, serving tests/e2e/data/*.zone or the given files)
#   daemon:   pkdns_start ARGS... / pkdns_stop (pkdns in the foreground
#             on 127.0.0.1:$PKDNS_PORT, log in $PKDNS_LOG; pkdns_stop
#             asserts a clean exit and a log free of sanitizer reports)
#   queries:  q DIG-ARGS... runs dig against the daemon and leaves the
#             output in $OUT (parse it with status, has_flag, answers,
#             ttl_of, ttl_aged, msg_size); probe ARGS... runs
#             dnsprobe.py; now gives the time for ttl_aged; elapsed_q
#             DIG-ARGS... is q timed (ms in $MS).
#   waits:    wait_log PATTERN [SECONDS] [FILE] (a line in the daemon's
#             log, or FILE); wait_ready LOG PID WHAT (a helper's "ready")
#   timing:   qlog_ms NAME [TYPE] [RCODE] (how long pkdns took, by its
#             own clock, from its query log), log_ms LINE (a log line's
#             time stamp in ms)
#   DNSSEC:   sign_e2e_zone (e2e.example signed, two RRSIGs spoiled, DS
#             in $TMPD/ta.ds)
#   ports:    pick_port (UDP+TCP, 127.0.0.1 and ::1), pick_testnet_port
#             [COUNT] (the first of COUNT (20) consecutive free UDP ports)
# Loopback only, every wait bounded, everything killed by the EXIT trap.

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
PKDNS=${PKDNS:-$top_builddir/src/pkdns}
E2E_DIR=$top_srcdir/tests/e2e
E2E_DATA=$E2E_DIR/data
# Prefer the system python3: it is the one with a stable stdlib path.
if [ -x /usr/bin/python3 ]; then PYTHON=${PYTHON3:-/usr/bin/python3}; else PYTHON=${PYTHON3:-python3}; fi
NSD=${NSD:-$(command -v nsd || echo /usr/sbin/nsd)}
export LC_ALL=C

# --- TAP -------------------------------------------------------------------
_tap_n=0
_tap_failed=0

# While TODO is set, assertions are marked "# TODO $TODO": reported, but
# a failure is an expected one (known gap, or a recommendation only).
_tap_result() { # STATUS DESC
	_tap_n=$((_tap_n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $_tap_n - $2${TODO:+ # TODO $TODO}"
	else
		echo "not ok $_tap_n - $2${TODO:+ # TODO $TODO}"
		[ -n "$TODO" ] || _tap_failed=$((_tap_failed + 1))
	fi
	return "$1"
}

diag() { printf '%s\n' "$@" | sed 's/^/# /'; }

ok() { # DESC CMD...
	local desc=$1
	shift
	"$@" >/dev/null 2>&1
	_tap_result $? "$desc"
}

is() { # GOT WANT DESC
	if [ "$1" = "$2" ]; then _tap_result 0 "$3"; else
		_tap_result 1 "$3"
		diag "  got: '$1'" "  expected: '$2'"
		return 1
	fi
}

isnt() { # GOT UNWANTED DESC
	if [ "$1" != "$2" ]; then _tap_result 0 "$3"; else
		_tap_result 1 "$3"
		diag "  got: '$1' (must differ)"
		return 1
	fi
}

like() { # GOT ERE DESC
	if printf '%s\n' "$1" | grep -Eq -- "$2"; then _tap_result 0 "$3"; else
		_tap_result 1 "$3"
		diag "  got: '$(printf '%s' "$1" | head -c 600)'" "  expected to match: /$2/"
		return 1
	fi
}

unlike() { # GOT ERE DESC
	if ! printf '%s\n' "$1" | grep -Eq -- "$2"; then _tap_result 0 "$3"; else
		_tap_result 1 "$3"
		diag "  got: '$(printf '%s' "$1" | head -c 600)'" "  expected not to match: /$2/"
		return 1
	fi
}

cmp_ok() { # A OP B DESC   (OP: -eq -ne -lt -le -gt -ge)
	if [ -n "$1" ] && [ -n "$3" ] && test "$1" "$2" "$3" 2>/dev/null; then
		_tap_result 0 "$4"
	else
		_tap_result 1 "$4"
		diag "  '$1' $2 '$3' is false"
		return 1
	fi
}

skip() { # DESC REASON
	_tap_n=$((_tap_n + 1))
	echo "ok $_tap_n - $1 # SKIP $2"
}

bail_out() {
	echo "Bail out! $*"
	_dump_logs
	exit 1
}

skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}

done_testing() {
	if [ "$_tap_failed" -gt 0 ]; then _dump_logs; fi
	echo "1..$_tap_n"
	[ "$_tap_failed" -eq 0 ]
}

# The interesting part of each log: a sanitizer report from its start,
# else the last lines.
_dump_logs() {
	local f n
	for f in "$TMPD"/pkdns.*.log "$TMPD"/nsd/nsd.log; do
		[ -s "$f" ] || continue
		n=$(grep -nE "$_SANITIZER_RE" "$f" 2>/dev/null | head -n 1 | cut -d: -f1)
		if [ -n "$n" ]; then
			diag "--- sanitizer report in $f:"
			tail -n +"$n" "$f" | head -n 40 | sed 's/^/#   /'
		else
			diag "--- last lines of $f:"
			tail -n 25 "$f" | sed 's/^/#   /'
		fi
	done
}

# --- temp dir, cleanup ------------------------------------------------------
TMPD=$(mktemp -d "${TMPDIR:-/tmp}/pkdns-e2e.XXXXXX") || { echo "Bail out! mktemp"; exit 1; }
NSD_PID=
PKDNS_PID=
_pkdns_n=0

# Kill PID with SIGTERM, then SIGKILL after SECS; never waits longer.
_kill_bounded() { # PID SECS
	local i=0
	kill -TERM "$1" 2>/dev/null || return 0
	while [ $i -lt $(($2 * 10)) ]; do
		_alive "$1" || break
		sleep 0.1
		i=$((i + 1))
	done
	_alive "$1" && kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

# True while PID runs (a zombie, i.e. exited but not reaped, is not alive).
_alive() {
	local st
	[ -r "/proc/$1/stat" ] || return 1
	st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# wait_ready LOG PID WHAT: a helper process (a black hole, a fake DHT
# node: PID) prints "ready" at the start of a line of LOG once it
# listens. Waits at most 5 s; bails out naming WHAT, with the log's last
# lines, when the helper exits first or does not say so in time.
wait_ready() {
	for _ in $(seq 1 50); do
		grep -q '^ready' "$1" && return 0
		_alive "$2" || break
		sleep 0.1
	done
	bail_out "$3 did not start: $(tail -n 3 "$1")"
}

# Wait at most SECS for PID (a child of this shell) to exit; sets
# EXIT_STATUS to its exit status or "timeout". Not in $(...): a subshell
# cannot reap its parent's children.
wait_exit() { # PID SECS
	local i=0
	while _alive "$1"; do
		if [ $i -ge $(($2 * 10)) ]; then EXIT_STATUS=timeout; return 1; fi
		sleep 0.1
		i=$((i + 1))
	done
	wait "$1" 2>/dev/null
	EXIT_STATUS=$?
}

_HOLD_PIDS=
_cleanup() {
	local rc=$? p
	[ -n "$PKDNS_PID" ] && _kill_bounded "$PKDNS_PID" 5
	[ -n "$NSD_PID" ] && _kill_bounded "$NSD_PID" 5
	for p in $_HOLD_PIDS; do _kill_bounded "$p" 2; done
	if [ -n "$KEEP_TMP" ]; then echo "# kept $TMPD" >&2; else rm -rf "$TMPD"; fi
	exit $rc
}
trap _cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- ports ------------------------------------------------------------------
# A loopback port free for both UDP and TCP (on ::1 too when it exists).
pick_port() {
	"$PYTHON" - <<'EOF'
import random, socket
for _ in range(200):
    port = random.randrange(10000, 32000)  # below the kernel's ephemeral range
    socks = []
    try:
        for fam, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
            for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                try:
                    s = socket.socket(fam, kind)
                except OSError:
                    continue
                socks.append(s)
                try:
                    s.bind((host, port))
                except OSError as e:
                    if fam == socket.AF_INET6 and e.errno == 99:
                        continue  # no ::1 on this machine
                    raise
    except OSError:
        continue
    finally:
        for s in socks:
            s.close()
    print(port)
    break
EOF
}

# The first of twenty consecutive free UDP ports on 127.0.0.1, for the
# nodes of a pkdns --testnet 20 (--testnet-port).
pick_testnet_port() { # [COUNT] (default 20)
	"$PYTHON" - "${1:-20}" <<'EOF'
import random, socket, sys
count = int(sys.argv[1])
for _ in range(100):
    base = random.randrange(10000, 32000 - count)  # below the ephemeral range
    socks = []
    try:
        for p in range(base, base + count):
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
}

# dead_port: sets DEAD to a port on 127.0.0.1 where nothing ever answers
# (a DHT node or name server that is down), held for the test's life by
# a black hole (tests/e2e/blackhole.py, UDP read and dropped): a port only
# picked free may be bound a moment later by a test running beside this
# one, whose DHT node then answers. Not in $(...): the holder is this
# shell's child, stopped by the EXIT trap.
dead_port() {
	local i pid
	for i in 1 2 3 4 5; do
		DEAD=$(pick_port)
		[ -n "$DEAD" ] || continue
		"$PYTHON" "$E2E_DIR/blackhole.py" serve --addr 127.0.0.1 --port "$DEAD" --lifetime 900 \
			>"$TMPD/dead.$DEAD.log" 2>&1 &
		pid=$!
		for _ in $(seq 1 100); do
			if grep -q '^ready' "$TMPD/dead.$DEAD.log" 2>/dev/null; then
				_HOLD_PIDS="$_HOLD_PIDS $pid"
				return 0
			fi
			_alive "$pid" || break
			sleep 0.1
		done
		_kill_bounded "$pid" 1
	done
	bail_out "no port could be held for a dead node"
}

have_ipv6() {
	"$PYTHON" -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1",0))' 2>/dev/null
}

# --- nsd upstream -----------------------------------------------------------
# nsd_conf_files DIR: the lines of an nsd.conf "server:" section that every
# test nsd has: no user or chroot, its files in DIR, one process.
nsd_conf_files() {
	echo "  username: \"\""
	echo "  chroot: \"\""
	echo "  zonesdir: \"$1\""
	echo "  database: \"\""
	echo "  pidfile: \"$1/nsd.pid\""
	echo "  xfrdfile: \"$1/xfrd.state\""
	echo "  zonelistfile: \"$1/zone.list\""
	echo "  xfrdir: \"$1\""
	echo "  server-count: 1"
}

# nsd_start [ZONE-NAME=FILE ...]: serves e2e.example and other.example from
# tests/e2e/data unless zone files are given; waits until it answers.
nsd_start() {
	local d=$TMPD/nsd z name file i attempt picked=
	mkdir -p "$d"
	[ -n "$NSD_PORT" ] || { NSD_PORT=$(pick_port); picked=yes; }
	[ -n "$NSD_PORT" ] || bail_out "no free port for nsd"
	if [ $# -eq 0 ]; then
		set -- e2e.example="$E2E_DATA/e2e.example.zone" other.example="$E2E_DATA/other.example.zone"
	fi
	{
		echo "server:"
		echo "  ip-address: 127.0.0.1"
		if have_ipv6; then echo "  ip-address: ::1"; else echo "  do-ip6: no"; fi
		echo "  port: $NSD_PORT"
		nsd_conf_files "$d"
		echo "  verbosity: 1"
		echo "  refuse-any: no"
		echo "remote-control:"
		echo "  control-enable: no"
		for z in "$@"; do
			name=${z%%=*}
			file=${z#*=}
			cp "$file" "$d/$name.zone"
			echo "zone:"
			echo "  name: $name"
			echo "  zonefile: $name.zone"
		done
	} >"$d/nsd.conf"
	# A port picked here may be taken by another test before nsd binds it
	# (nsd then exits): up to three ports. Waits by count, not by clock:
	# up to 150 probes (a minute or more), for a loaded machine.
	for attempt in 1 2 3; do
		"$NSD" -d -c "$d/nsd.conf" >>"$d/nsd.log" 2>&1 &
		NSD_PID=$!
		for i in $(seq 1 150); do
			if timeout -k 1 5 dig @127.0.0.1 -p "$NSD_PORT" +time=1 +tries=1 +norec \
				"${z%%=*}" SOA 2>/dev/null | grep -q 'status: NOERROR'; then
				return 0
			fi
			_alive "$NSD_PID" || break
			sleep 0.2
		done
		_alive "$NSD_PID" && break
		wait "$NSD_PID" 2>/dev/null
		[ "$picked" = yes ] && grep -q 'already in use\|can.t bind' "$d/nsd.log" || break
		diag "nsd: port $NSD_PORT was taken, trying another"
		local old=$NSD_PORT
		NSD_PORT=$(pick_port)
		sed -i "s/^  port: $old\$/  port: $NSD_PORT/" "$d/nsd.conf"
	done
	bail_out "nsd did not start (see $d/nsd.log): $(tail -n 8 "$d/nsd.log" | tr '\n' ' ')"
}

nsd_stop() {
	[ -n "$NSD_PID" ] || return 0
	_kill_bounded "$NSD_PID" 5
	NSD_PID=
}

# --- pkdns ------------------------------------------------------------------
# pkdns_start ARGS...: starts pkdns in the foreground with --dht-mode off,
# listening on 127.0.0.1:$PKDNS_PORT (a fresh port per start) unless
# PKDNS_NO_LISTEN is set (then ARGS have the -l options, on the port the
# caller put in PKDNS_PORT, and PROBE_HOST says where to probe), plus ARGS. Waits (bounded) until a dig from
# ${PROBE_SRC:-any source} for ${PROBE_NAME:-ready.e2e.example} gets any
# reply; set PROBE_NAME=none to wait only for the TCP listener. The wait
# is a bound of PKDNS_START_WAIT seconds (30; more under emulation), not
# an expectation: it ends at the first reply.
# (dig -b with a source of the other address family hangs forever: never
# set PROBE_SRC to an IPv4 address with PROBE_HOST=::1.)
pkdns_start() {
	local i listen=
	[ -n "$PKDNS_NO_LISTEN" ] || PKDNS_PORT=$(pick_port)
	[ -n "$PKDNS_PORT" ] || bail_out "no free port for pkdns"
	_pkdns_n=$((_pkdns_n + 1))
	PKDNS_LOG=$TMPD/pkdns.$_pkdns_n.log
	[ -n "$PKDNS_NO_LISTEN" ] || listen="-l 127.0.0.1:$PKDNS_PORT"
	# --dht-port 0: tests that turn the DHT on run side by side, and the
	# default port (6881) is one for all of them; a test's own wins
	# shellcheck disable=SC2086
	"$PKDNS" -d --dht-mode off --dht-port 0 $listen "$@" >"$PKDNS_LOG" 2>&1 &
	PKDNS_PID=$!
	local until=$(($(date +%s) + ${PKDNS_START_WAIT:-30}))
	while [ "$(date +%s)" -lt "$until" ]; do
		if ! _alive "$PKDNS_PID"; then
			# a port picked free was taken by a test running beside
			# this one before pkdns bound it: the caller may retry
			if [ -n "${PKDNS_START_RETRY:-}" ] &&
				grep -Eq 'Address already in use|testnet: node [0-9]+ on port [0-9]+ failed' \
					"$PKDNS_LOG"; then
				diag "port taken at start, retrying: $(grep -Em1 'already in use|testnet: node' "$PKDNS_LOG")"
				return 3
			fi
			bail_out "pkdns exited at start ($PKDNS $*): $(tail -n 5 "$PKDNS_LOG")"
		fi
		if [ "${PROBE_NAME:-}" = none ]; then
			"$PYTHON" -c 'import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 1).close()' \
				"${PROBE_HOST:-127.0.0.1}" "$PKDNS_PORT" 2>/dev/null && return 0
		elif timeout -k 1 5 dig @"${PROBE_HOST:-127.0.0.1}" -p "$PKDNS_PORT" ${PROBE_SRC:+-b "$PROBE_SRC"} \
			+time=1 +tries=1 "${PROBE_NAME:-ready.e2e.example}" A >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.2
	done
	bail_out "pkdns did not answer within ${PKDNS_START_WAIT:-30} s ($PKDNS $*)"
}

# Sends SIGTERM and asserts (3 TAP lines) a prompt exit with status 0 and
# no sanitizer report in the log.
pkdns_stop() {
	[ -n "$PKDNS_PID" ] || return 0
	kill -TERM "$PKDNS_PID" 2>/dev/null
	wait_exit "$PKDNS_PID" 10 || _kill_bounded "$PKDNS_PID" 1
	PKDNS_PID=
	is "$EXIT_STATUS" 0 "pkdns exits with status 0 on SIGTERM"
	check_sanitizer_log "$PKDNS_LOG"
}

_SANITIZER_RE='ERROR: (Address|Leak|Memory|Thread)Sanitizer|runtime error:|SUMMARY: UndefinedBehaviorSanitizer'

# elapsed_q DIG-ARGS...: q (15 s allowed), and the time it took in ms in $MS
# (the client's view: report it; for what pkdns took, see qlog_ms, marked
# here)
elapsed_q() {
	local s
	qlog_mark
	s=$(date +%s%N)
	QTIME=15 q "$@"
	MS=$((($(date +%s%N) - s) / 1000000))
}

# sign_e2e_zone: e2e.example (tests/e2e/data) signed with a new ECDSA P-256
# key ($key, in $TMPD/keys) as $TMPD/zones/e2e.example.zone.signed, the
# RRSIGs of bogus1 and bogus2 spoiled (one test line), its DS in
# $TMPD/ta.ds. Needs ldns-keygen, ldns-signzone, ldns-key2ds.
sign_e2e_zone() {
	local r
	mkdir -p "$TMPD/keys" "$TMPD/zones"
	key=$(cd "$TMPD/keys" && ldns-keygen -a ECDSAP256SHA256 -k e2e.example 2>/dev/null)
	if [ -z "$key" ] || [ ! -f "$TMPD/keys/$key.key" ]; then bail_out "ldns-keygen failed"; fi
	cp "$E2E_DATA/e2e.example.zone" "$TMPD/zones/e2e.example.zone"
	(cd "$TMPD/zones" && ldns-signzone -f e2e.example.zone.signed e2e.example.zone "$TMPD/keys/$key") ||
		bail_out "ldns-signzone failed"
	r=$("$PYTHON" "$E2E_DIR/dnsprobe.py" tamper "$TMPD/zones/e2e.example.zone.signed" bogus1.e2e.example bogus2.e2e.example)
	is "$r" "spoiled=2" "spoiled the RRSIGs of bogus1 and bogus2 (TXT)"
	ldns-key2ds -n -2 "$TMPD/keys/$key.key" >"$TMPD/ta.ds" 2>/dev/null
}

# wait_log PATTERN [SECONDS] [FILE]: wait, at most SECONDS (20 by default:
# a bound, not an expectation; it returns as soon as the line is there),
# until FILE (the daemon's log by default) has a line matching PATTERN
# (grep's basic regex); 1 if it never does.
wait_log() {
	local i
	for i in $(seq 1 $((${2:-20} * 10))); do
		grep -q -- "$1" "${3:-$PKDNS_LOG}" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# qlog_mark: remember where the daemon's log ends (elapsed_q does it);
# qlog_ms NAME [TYPE] [RCODE]: how long pkdns itself took (ms from the
# query's arrival to its reply, by its own clock) to answer the last query
# for NAME (type A by default; with RCODE, the last one answered so) that
# its query log (--log-queries yes) shows after the mark; waits up to 10 s
# for the line (pkdns may write it just after the reply). Empty when there
# is none. What a test asserts about a deadline is read here, not from the
# client's clock: a loaded machine slows dig's start and the test's own
# shell far more than the daemon's timers.
QLOG_FROM=0
qlog_mark() { QLOG_FROM=$(wc -l <"$PKDNS_LOG" 2>/dev/null || echo 0); }
qlog_ms() { # NAME [TYPE] [RCODE]
	local i l
	for i in $(seq 1 100); do
		l=$(tail -n +$((QLOG_FROM + 1)) "$PKDNS_LOG" 2>/dev/null | grep -iF " ${1%.}. ${2:-A} " |
			grep -F 'pkdns[query] ' |
			grep -E " ${3:-[A-Z0-9]+} [0-9]+ms cache=" | tail -n 1)
		[ -n "$l" ] && break
		sleep 0.1
	done
	printf '%s\n' "$l" | sed -n 's/.* \([0-9][0-9]*\)ms cache=.*/\1/p'
}

# log_ms LINE: the time stamp of a line of pkdns's log in ms since the
# epoch (the same clock as `date +%s%3N`); empty for a line without one.
log_ms() {
	local st
	st=$(printf '%s\n' "$1" | sed -n 's/^\([0-9-]*T[0-9:.]*Z\) .*/\1/p')
	[ -n "$st" ] && date -u -d "$st" +%s%3N 2>/dev/null
}

check_sanitizer_log() { # LOGFILE
	local hits
	hits=$(grep -E "$_SANITIZER_RE" "$1" 2>/dev/null | head -n 5)
	is "$hits" "" "no sanitizer report in $(basename "$1")"
}

# --- queries ----------------------------------------------------------------
# q DIG-ARGS...: dig against the current pkdns; output in $OUT, dig's exit
# status in $RC (0 = a reply came; 9 = no reply). Every external client
# runs under timeout(1): dig's own +time is not always a bound.
QTIME=${QTIME:-4}
q() {
	OUT=$(timeout -k 1 30 dig @"${QHOST:-127.0.0.1}" -p "$PKDNS_PORT" +time="$QTIME" +tries=1 "$@" 2>&1)
	RC=$?
}

# The rcode of $OUT (NOERROR, NXDOMAIN, ...), or "noreply".
status() {
	local s
	s=$(printf '%s\n' "$OUT" | sed -n 's/^;; ->>HEADER<<- .*status: \([A-Z0-9]*\),.*/\1/p' | tail -n 1)
	echo "${s:-noreply}"
}

# The header flags of $OUT, e.g. "qr rd ra".
flags() {
	printf '%s\n' "$OUT" | sed -n 's/^;; flags: \([a-z ]*\);.*/\1/p' | tail -n 1
}

has_flag() { flags | tr ' ' '\n' | grep -qx "$1"; }

flag_state() { if has_flag "$1"; then echo "$1=1"; else echo "$1=0"; fi; }

# The records of one section of $OUT (ANSWER, AUTHORITY, ADDITIONAL),
# optionally only those of TYPE, one per line, whitespace squeezed.
section() { # SECTION [TYPE]
	printf '%s\n' "$OUT" | awk -v sec="$1" -v type="$2" '
		/^;; [A-Z]+ SECTION:/ { insec = ($2 == sec); next }
		/^$/ { insec = 0 }
		insec && !/^;/ { if (type == "" || $4 == type) { $1 = $1; print } }'
}

answers() { section ANSWER "$1"; }

# Rdata of the answers of TYPE, sorted, one per line.
rdata() { answers "$1" | cut -d' ' -f5- | sort; }

count_lines() { if [ -z "$1" ]; then echo 0; else printf '%s\n' "$1" | wc -l | tr -d ' '; fi; }

ttl_of() { answers "$1" | head -n 1 | cut -d' ' -f2; }

# now: the clock in seconds with nanoseconds; take it before and after
# the queries whose TTLs ttl_aged checks.
now() { date +%s.%N; }

# ttl_aged TYPE ORIG F0 F1 S0 S1 DESC: every answer TTL of TYPE in $OUT is
# ORIG less the age of the cached answer, within 1 s. The answer was
# cached (with TTL ORIG) by a query sent after time F0 and answered before
# F1, and $OUT came from a query between S0 and S1 (all from `now`), so
# its age lies between S0 - F1 and S1 - F0 seconds: scheduling delay
# widens the window rather than failing the check, while a TTL that does
# not count down still fails once S0 - F1 is 1 s or more. An answer that
# may have expired and been fetched afresh (S0 - F1 >= ORIG) is skipped.
ttl_aged() {
	local lo hi gone bad
	read -r lo hi gone < <(awk -v o="$2" -v f0="$3" -v f1="$4" -v s0="$5" -v s1="$6" 'BEGIN {
		old = s1 - f0; c = int(old); if (c < old) c++
		young = s0 - f1; if (young < 0) young = 0
		print o - c - 1, o - int(young), (young >= o) }')
	if [ "$gone" = 1 ]; then
		skip "$7: TTL $2 less the age" "the answer may have expired (too slow)"
		return
	fi
	bad=$(answers "$1" | awk -v lo="$lo" -v hi="$hi" '$2 < lo || $2 > hi')
	[ -n "$(answers "$1")" ] || bad="no $1 answer"
	is "$bad" "" "$7: TTLs within [$lo, $hi] ($2 less the age)"
}

msg_size() { printf '%s\n' "$OUT" | sed -n 's/^;; MSG SIZE *rcvd: \([0-9]*\).*/\1/p' | tail -n 1; }

# probe ARGS...: dnsprobe.py against the current pkdns.
probe() {
	timeout -k 1 60 "$PYTHON" "$E2E_DIR/dnsprobe.py" --host "${QHOST:-127.0.0.1}" --port "$PKDNS_PORT" "$@" 2>&1
}

# Checks that must hold before a script starts.
require_tools() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 || skip_all "$t not installed"
	done
}

require_pkdns() {
	[ -x "$PKDNS" ] || skip_all "pkdns not built at $PKDNS"
	require_tools dig
	[ -x "$NSD" ] || skip_all "nsd not installed"
}
