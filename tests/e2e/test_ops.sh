#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
# pkdns e2e: operating the daemon. Prometheus /metrics (checked with
# promtool, else with a parser of the text format); systemd readiness
# against a fake $NOTIFY_SOCKET (READY=1 once DNS answers, RELOADING=1
# with MONOTONIC_USEC and READY=1 around SIGHUP, STATUS=, STOPPING=1);
# the pidfile lock (a second start refused, the first one's file intact,
# kill -HUP $(cat pidfile) still reaches the daemon); the privilege drop
# (username, seen in /proc/PID/status); dht-listen.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
require_pkdns
require_tools curl
nsd_start
UP=(-f 127.0.0.1:"$NSD_PORT" --dnssec no)

# --- /metrics ---
MP=$(pick_port)
pkdns_start "${UP[@]}" --control-socket none --metrics-listen 127.0.0.1:"$MP"
q www.e2e.example A
q www.e2e.example A
q nx.e2e.example A
curl -s -o "$TMPD/metrics" -w '%{http_code} %{content_type}' "http://127.0.0.1:$MP/metrics" >"$TMPD/code"
is "$(cut -d' ' -f1 "$TMPD/code")" 200 "GET /metrics: 200"
like "$(cat "$TMPD/code")" "text/plain; version=0.0.4" "  ... in the text exposition format"
if command -v promtool >/dev/null 2>&1; then
	out=$(promtool check metrics <"$TMPD/metrics" 2>&1)
	is "$?:$out" "0:" "  ... that promtool check metrics accepts without a remark"
else
	skip "promtool check metrics" "promtool not installed (Debian: prometheus)"
fi
# our own reading of the format: every sample belongs to a TYPE'd family,
# counters end in _total, histograms have buckets up to +Inf
out=$("$PYTHON" - "$TMPD/metrics" <<'EOF'
import re, sys
types, errs, samples = {}, [], {}
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    if line.startswith("# TYPE "):
        _, _, name, t = line.split(" ", 3); types[name] = t; continue
    if line.startswith("#") or not line: continue
    m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? ([0-9.eE+-]+|\+Inf|NaN)$', line)
    if not m: errs.append("bad line: " + line); continue
    name = m.group(1); samples[name + (m.group(2) or "")] = float(m.group(3))
    fam = re.sub(r'_(bucket|sum|count)$', '', name) if name not in types else name
    if fam not in types: errs.append("no TYPE for " + name)
    elif types[fam] == "counter" and not name.endswith("_total"): errs.append("counter without _total: " + name)
print("\n".join(errs) or "clean")
for k in ('pkdns_queries_total{transport="udp"}', 'pkdns_responses_total{transport="udp",rcode="NXDOMAIN"}',
          'pkdns_queries_path_total{path="cache"}', 'pkdns_dht_lookup_seconds_bucket{outcome="found",le="+Inf"}',
          'pkdns_replies_total{transport="udp",path="icann",rcode="NXDOMAIN"}',
          'pkdns_replies_total{transport="udp",path="cache",rcode="NOERROR"}',
          'pkdns_process_resident_memory_bytes', 'pkdns_process_open_fds', 'pkdns_cache_bytes{cache="answer"}'):
    print(k, samples.get(k, "missing"))
EOF
)
like "$out" "^clean" "  ... and our parser: every sample typed, counters end in _total"
like "$out" 'pkdns_queries_total\{transport="udp"\} [3-9]' "  ... queries by transport count the queries"
like "$out" 'rcode="NXDOMAIN"\} [1-9]' "  ... responses by rcode count the NXDOMAIN"
like "$out" 'path="cache"\} [1-9]' "  ... queries by path count the cache answer"
like "$out" 'path="icann",rcode="NXDOMAIN"\} [1-9]' "  ... replies by transport, path and rcode: the NXDOMAIN from the ICANN path"
like "$out" 'path="cache",rcode="NOERROR"\} [1-9]' "  ... and the answer from the cache"
like "$out" 'le="\+Inf"\} [0-9]' "  ... the look-up histogram is there"
like "$out" 'resident_memory_bytes [1-9]' "  ... the process's RSS"
like "$out" 'open_fds [1-9]' "  ... and its descriptors"
like "$out" 'cache="answer"\} [1-9]' "  ... the answer cache's bytes"
is "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MP/other")" 404 "another path: 404"
pkdns_stop

# /metrics on the HTTP listeners (http-listen), for clients access-control allows
HP=$(pick_port)
pkdns_start "${UP[@]}" --control-socket none --http-listen 127.0.0.1:"$HP" --access-control "127.0.0.1/32 allow"
is "$(curl -s -o "$TMPD/metrics2" -w '%{http_code}' "http://127.0.0.1:$HP/metrics")" 200 \
	"GET /metrics on http-listen: 200 for an allowed client"
like "$(cat "$TMPD/metrics2")" "^# HELP pkdns_" "  ... with the metrics"
is "$(curl -s -o /dev/null --interface 127.0.0.2 -w '%{http_code}' "http://127.0.0.1:$HP/metrics")" 403 \
	"  ... 403 for a client access-control does not allow (127.0.0.2)"
pkdns_stop

# --- systemd readiness with a fake notify socket ---
NS=$TMPD/notify.sock
"$PYTHON" - "$NS" "$TMPD/notify.out" <<'EOF' &
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1]); s.settimeout(1)
end = time.time() + 60
with open(sys.argv[2], "w", buffering=1) as out:
    while time.time() < end:
        try: msg = s.recv(4096).decode()
        except socket.timeout: continue
        out.write(msg.replace("\n", "|") + "\n")
        if "STOPPING=1" in msg: break
EOF
LISTENER=$!
for _ in $(seq 1 50); do [ -S "$NS" ] && break; sleep 0.1; done
NOTIFY_SOCKET=$NS pkdns_start "${UP[@]}" --control-socket none
wait_log READY 20 "$TMPD/notify.out"
like "$(head -n 1 "$TMPD/notify.out")" "^READY=1\|MAINPID=$PKDNS_PID" "READY=1 (with MAINPID) once the listeners answer"
wait_log STATUS= 20 "$TMPD/notify.out"
like "$(cat "$TMPD/notify.out")" "STATUS=serving; DHT off" "STATUS= says the DHT state"
kill -HUP "$PKDNS_PID"
for _ in $(seq 1 200); do [ "$(grep -c READY=1 "$TMPD/notify.out")" -ge 2 ] && break; sleep 0.1; done
like "$(cat "$TMPD/notify.out")" "RELOADING=1\|MONOTONIC_USEC=[0-9]+" "SIGHUP: RELOADING=1 with MONOTONIC_USEC"
like "$(grep -A1 RELOADING "$TMPD/notify.out" | tail -n 1)" "^READY=1" "  ... then READY=1"
pkdns_stop
wait_exit "$LISTENER" 10
like "$(tail -n 1 "$TMPD/notify.out")" "^STOPPING=1" "SIGTERM: STOPPING=1"

# --- the pidfile lock ---
PF=$TMPD/pkdns.pid
pkdns_start "${UP[@]}" --control-socket none --pidfile "$PF" -v -v
FIRST=$PKDNS_PID
is "$(cat "$PF")" "$FIRST" "the pidfile names the daemon"
P2=$(pick_port)
out=$(timeout 10 "$PKDNS" -d --dht-mode off "${UP[@]}" --control-socket none -l 127.0.0.1:"$P2" --pidfile "$PF" 2>&1)
rc=$?
isnt "$rc" 0 "a second start with the same pidfile fails (on another port)"
like "$out" "already running \(pid $FIRST\)" "  ... saying: already running (pid N)"
is "$(cat "$PF")" "$FIRST" "  ... and the first one's pidfile is intact"
kill -HUP "$(cat "$PF")"
wait_log "configuration reloaded"
like "$(cat "$PKDNS_LOG")" "configuration reloaded" "kill -HUP \$(cat pidfile) still reaches the daemon"
pkdns_stop
ok "the pidfile is removed at exit" test ! -e "$PF"

# --- the privilege drop ---
if [ "$(id -u)" != 0 ]; then
	skip "username drops to nobody" "not root"
else
	NOBODY_UID=$(id -u nobody); NOBODY_GID=$(id -g nobody)
	chmod 755 "$TMPD"
	pkdns_start "${UP[@]}" --control-socket "$TMPD/ctl.sock" --username nobody --pidfile "$PF"
	st=$(cat /proc/"$PKDNS_PID"/status)
	like "$(printf '%s\n' "$st" | grep '^Uid:')" "^Uid:[[:space:]]+${NOBODY_UID}[[:space:]]+${NOBODY_UID}[[:space:]]+${NOBODY_UID}[[:space:]]+$NOBODY_UID\$" \
		"username nobody: every UID is nobody's (/proc/PID/status)"
	like "$(printf '%s\n' "$st" | grep '^Gid:')" "^Gid:[[:space:]]+${NOBODY_GID}[[:space:]]+${NOBODY_GID}[[:space:]]+${NOBODY_GID}[[:space:]]+$NOBODY_GID\$" \
		"  ... every GID nobody's"
	is "$(printf '%s\n' "$st" | sed -n 's/^Groups:[[:space:]]*//p' | tr -s ' ' | sed 's/ $//')" \
		"$(id -G nobody | tr ' ' '\n' | sort -n | tr '\n' ' ' | sed 's/ $//')" "  ... and its groups only"
	q www.e2e.example A
	is "$(status)" NOERROR "  ... and it answers"
	is "$(stat -c %U "$TMPD/ctl.sock")" root "  ... its control socket still belongs to root"
	is "$(cat "$PF")" "$PKDNS_PID" "  ... its pidfile was written"
	pkdns_stop
	# chroot: the root directory of the process is the jail
	mkdir -p "$TMPD/jail"
	# LeakSanitizer (an --enable-sanitizers build) needs /proc, which the jail hides
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		pkdns_start "${UP[@]}" --control-socket none --username nobody --chroot "$TMPD/jail"
	is "$(readlink /proc/"$PKDNS_PID"/root)" "$TMPD/jail" "chroot: the daemon's root directory is the jail"
	like "$(grep '^Uid:' /proc/"$PKDNS_PID"/status)" "^Uid:[[:space:]]+${NOBODY_UID}[[:space:]]" "  ... as nobody"
	q www.e2e.example A
	is "$(status)" NOERROR "  ... and it answers"
	pkdns_stop
	out=$(timeout 10 "$PKDNS" -d --dht-mode off "${UP[@]}" --control-socket none -l 127.0.0.1:"$(pick_port)" \
		--username no-such-user-pkdns 2>&1)
	rc=$?
	isnt "$rc" 0 "as root, a username that does not exist: refused"
	is "$(printf '%s\n' "$out" | wc -l)" 1 "  ... with one line"
	like "$out" "username no-such-user-pkdns: no such user" "  ... saying so"
fi

# --- dht-listen ---
DP=$(pick_port)
pkdns_start "${UP[@]}" --control-socket none --dht-mode client --dht-listen 127.0.0.2 --dht-port "$DP" \
	--bootstrap 127.0.0.1:9
socks=$(ss -Hlun "sport = :$DP" 2>/dev/null | awk '{print $4}')
is "$socks" "127.0.0.2:$DP" "dht-listen 127.0.0.2: the DHT socket is bound to that address only"
pkdns_stop
done_testing
