#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# pkdns e2e: process life. Signals (TERM/INT exit 0 promptly, HUP keeps
# serving), the config file (keys, comments, repeatable keys, command line
# over config), and start-up errors: a bad option or config line is one
# message "FILE:LINE: KEY: reason" on stderr and exit status 2.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
require_pkdns

nsd_start
UP="-f 127.0.0.1:$NSD_PORT --dnssec no"

# --- signals ---
# shellcheck disable=SC2086
pkdns_start $UP
kill -HUP "$PKDNS_PID"
sleep 0.5
ok "SIGHUP: still running" _alive "$PKDNS_PID"
q www.e2e.example A
is "$(status) $(rdata A | tr '\n' ' ')" "NOERROR 192.0.2.1 192.0.2.2 " "SIGHUP: still answering (UDP)"
q +tcp mail.e2e.example A
is "$(status) $(rdata A)" "NOERROR 192.0.2.25" "SIGHUP: still answering (TCP)"
kill -HUP "$PKDNS_PID"
kill -HUP "$PKDNS_PID"
sleep 0.5
q txt.e2e.example TXT
is "$(status)" NOERROR "two more SIGHUPs: still answering"
start=$(date +%s)
kill -TERM "$PKDNS_PID"
wait_exit "$PKDNS_PID" 5
is "$EXIT_STATUS" 0 "SIGTERM: exit status 0 within 5 s"
cmp_ok $(($(date +%s) - start)) -le 3 "SIGTERM: exits promptly"
check_sanitizer_log "$PKDNS_LOG"
PKDNS_PID=

# shellcheck disable=SC2086
pkdns_start $UP
kill -INT "$PKDNS_PID"
wait_exit "$PKDNS_PID" 5
is "$EXIT_STATUS" 0 "SIGINT: exit status 0 within 5 s"
check_sanitizer_log "$PKDNS_LOG"
PKDNS_PID=

# SIGTERM while a question waits on an upstream that never answers:
# the pending query must not delay or crash the exit.
black=$(pick_port)
"$PYTHON" -c 'import socket,sys,time
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(("127.0.0.1",int(sys.argv[1]))); time.sleep(30)' "$black" &
hole=$!
PROBE_NAME=none pkdns_start -f 127.0.0.1:"$black" --dnssec no
timeout 10 dig @127.0.0.1 -p "$PKDNS_PORT" +time=8 +tries=1 slow1.e2e.example >/dev/null 2>&1 &
dig1=$!
timeout 10 dig @127.0.0.1 -p "$PKDNS_PORT" +tcp +time=8 +tries=1 slow2.e2e.example >/dev/null 2>&1 &
dig2=$!
sleep 1
kill -TERM "$PKDNS_PID"
wait_exit "$PKDNS_PID" 5
is "$EXIT_STATUS" 0 "SIGTERM with queries pending on a silent upstream: exit 0 within 5 s"
check_sanitizer_log "$PKDNS_LOG"
PKDNS_PID=
kill "$hole" "$dig1" "$dig2" 2>/dev/null
wait "$hole" "$dig1" "$dig2" 2>/dev/null

# --- a good config file ---
p2=$(pick_port)
conf=$TMPD/good.conf
cat >"$conf" <<EOF
# pkdns e2e: a config file with comments, blank lines and repeated keys

forward: 127.0.0.1:$NSD_PORT   # the loopback nsd
dnssec: no
dht-mode: off
listen: 127.0.0.3:$p2
listen: 127.0.0.4:$p2
verbose: 2
edns-buffer-size: 700
cache-size: 2m
tcp-idle-timeout: 5
EOF
PKDNS_PORT=$p2
PKDNS_NO_LISTEN=1 PROBE_HOST=127.0.0.3 pkdns_start -c "$conf" --edns-buffer-size 1232
QHOST=127.0.0.3 q www.e2e.example A
is "$(status) $(rdata A | tr '\n' ' ')" "NOERROR 192.0.2.1 192.0.2.2 " "config file: first listen key"
QHOST=127.0.0.4 q +tcp www.e2e.example A
is "$(status) $(rdata A | tr '\n' ' ')" "NOERROR 192.0.2.1 192.0.2.2 " "config file: second listen key (repeatable)"
QHOST=127.0.0.3 q +bufsize=1232 +ignore big.e2e.example TXT
ok "command line --edns-buffer-size 1232 overrides the config's 700" eval '! has_flag tc'
pkdns_stop

# --- start-up errors: exit 2, one line naming file, line and key ---
# run_bad ARGS...: runs pkdns (bounded), sets BAD_RC and BAD_ERR.
run_bad() {
	BAD_ERR=$(timeout -k 1 10 "$PKDNS" "$@" 2>&1 >/dev/null </dev/null)
	BAD_RC=$?
}
L="-l 127.0.0.1:$(pick_port) --dht-mode off"

cat >"$TMPD/unknown.conf" <<EOF
# line 1
dnssec: no
frobnicate: yes
EOF
# shellcheck disable=SC2086
run_bad -d $L -c "$TMPD/unknown.conf"
is "$BAD_RC" 2 "config: unknown key: exit 2"
like "$BAD_ERR" "$TMPD/unknown.conf:3: frobnicate: " "  ... message 'FILE:3: frobnicate: reason'"
is "$(count_lines "$BAD_ERR")" 1 "  ... in one line"

cat >"$TMPD/badvalue.conf" <<EOF
forward: 127.0.0.1:$NSD_PORT

# a comment
cache-size: lots
EOF
# shellcheck disable=SC2086
run_bad -d $L -c "$TMPD/badvalue.conf"
is "$BAD_RC" 2 "config: bad value: exit 2"
like "$BAD_ERR" "$TMPD/badvalue.conf:4: cache-size: " "  ... message 'FILE:4: cache-size: reason'"
is "$(count_lines "$BAD_ERR")" 1 "  ... in one line"

printf 'dnssec: no\nthis line has no colon\n' >"$TMPD/syntax.conf"
# shellcheck disable=SC2086
run_bad -d $L -c "$TMPD/syntax.conf"
is "$BAD_RC" 2 "config: line without 'key: value': exit 2"
like "$BAD_ERR" "$TMPD/syntax.conf:2: " "  ... message names the file and line 2"

printf 'listen: 127.0.0.1:99999\n' >"$TMPD/port.conf"
run_bad -d --dht-mode off -c "$TMPD/port.conf"
is "$BAD_RC" 2 "config: port out of range: exit 2"
like "$BAD_ERR" "$TMPD/port.conf:1: listen: " "  ... message 'FILE:1: listen: reason'"

printf 'dht-mode: sometimes\n' >"$TMPD/mode.conf"
# shellcheck disable=SC2086
run_bad -d $L -c "$TMPD/mode.conf"
is "$BAD_RC" 2 "config: bad dht-mode: exit 2"
like "$BAD_ERR" "mode.conf:1: dht-mode: " "  ... names the key"

# shellcheck disable=SC2086
run_bad -d $L -c "$TMPD/does-not-exist.conf"
is "$BAD_RC" 2 "-c with a missing file: exit 2"
like "$BAD_ERR" "does-not-exist.conf" "  ... names the file"

# shellcheck disable=SC2086
run_bad -d $L --no-such-option
is "$BAD_RC" 2 "unknown option: exit 2"
isnt "$BAD_ERR" "" "  ... with a message"
# shellcheck disable=SC2086
run_bad -d $L --dht-mode bogus
is "$BAD_RC" 2 "--dht-mode bogus: exit 2"
like "$BAD_ERR" "dht-mode" "  ... names the option"
run_bad -d --dht-mode off -l 127.0.0.1:99999
is "$BAD_RC" 2 "--listen with port 99999: exit 2"
run_bad -d --dht-mode off -l 'not an address'
is "$BAD_RC" 2 "--listen with a bad address: exit 2"
# shellcheck disable=SC2086
run_bad -d $L -f '[::1'
is "$BAD_RC" 2 "--forward with a bad address: exit 2"
# shellcheck disable=SC2086
run_bad -d $L --cache-size 12q
is "$BAD_RC" 2 "--cache-size 12q: exit 2"
# shellcheck disable=SC2086
run_bad -d $L --dnssec maybe
is "$BAD_RC" 2 "--dnssec maybe: exit 2"
# shellcheck disable=SC2086
run_bad -d $L --ratelimit -5
is "$BAD_RC" 2 "--ratelimit -5: exit 2"
# shellcheck disable=SC2086
run_bad -d $L --listen
is "$BAD_RC" 2 "option missing its argument: exit 2"

# A port someone else holds (nsd's): a start-up failure, not a hang.
# shellcheck disable=SC2086
run_bad -d --dht-mode off -l 127.0.0.1:"$NSD_PORT" $UP
isnt "$BAD_RC" 0 "listen port already in use: non-zero exit"
isnt "$BAD_RC" 124 "  ... at once, not after the 10 s timeout"

# --- values that used to fail silently (issue 10 item 12, issue 11) ---
# shellcheck disable=SC2086
run_bad -d $L -c "$TMPD"
is "$BAD_RC" 2 "-c DIRECTORY: exit 2 (it used to start with no config)"
like "$BAD_ERR" "$TMPD: is a directory" "  ... says it is a directory"
# shellcheck disable=SC2086
run_bad -d $L --cache-size 0
is "$BAD_RC" 2 "--cache-size 0: exit 2 (it used to exit 1 with no message)"
like "$BAD_ERR" '^pkdns: --cache-size: 0 is too small' "  ... one clear line"
is "$(count_lines "$BAD_ERR")" 1 "  ... in one line"
printf 'dnssec: no\ncache-size: 0\n' >"$TMPD/cache0.conf"
# shellcheck disable=SC2086
run_bad -d $L -c "$TMPD/cache0.conf"
like "$BAD_RC $BAD_ERR" "^2 pkdns: $TMPD/cache0.conf:2: cache-size: " "cache-size: 0 in a file: exit 2, FILE:2: cache-size:"
# shellcheck disable=SC2086
run_bad -d $L --tcp-idle-timeout 0
like "$BAD_RC $BAD_ERR" '^2 pkdns: --tcp-idle-timeout: 0 is not within 1..3600' "--tcp-idle-timeout 0: refused (it disabled the timeout)"
# shellcheck disable=SC2086
run_bad -d $L --max-ttl 2147483648
like "$BAD_RC $BAD_ERR" '^2 pkdns: --max-ttl: .*RFC 2181' "--max-ttl 2^31: refused (RFC 2181)"
printf 'dnssec: no\ntld: a\000b\n' >"$TMPD/nul.conf"
# shellcheck disable=SC2086
run_bad -d $L -c "$TMPD/nul.conf"
like "$BAD_RC $BAD_ERR" "^2 pkdns: $TMPD/nul.conf:2: .*NUL byte" "a NUL byte in a line: exit 2, reported as a NUL at its line"
# 4g is more than a 32-bit size_t holds: refused there, taken here
if [ "$(getconf LONG_BIT)" -ge 64 ]; then
	out=$(timeout 5 "$PKDNS" --check-config --cache-size 4g --dnssec no 2>&1)
	is "$?" 0 "--cache-size 4g: fine on a 64-bit system"
else
	out=$(timeout 5 "$PKDNS" --check-config --cache-size 4g --dnssec no 2>&1)
	like "$? $out" '^2 pkdns: --cache-size: 4g is more than this system can address' "--cache-size 4g: refused on a 32-bit system"
fi

# --- --check-config: everything checked, nothing started ---
cat >"$TMPD/check-good.conf" <<EOF
listen: 127.0.0.1:$NSD_PORT  # in use by nsd: not bound by a check
dnssec: no
cache-dir: $TMPD/cache-to-create
pidfile: $TMPD/p.pid
tld: key
EOF
out=$(timeout 5 "$PKDNS" --check-config -c "$TMPD/check-good.conf" 2>&1)
is "$?" 0 "--check-config of a good file: exit 0"
is "$out" "pkdns: no errors in $TMPD/check-good.conf" "  ... says so"
ok "  ... started nothing (no cache-dir made, no pidfile)" test ! -e "$TMPD/cache-to-create" -a ! -e "$TMPD/p.pid"
cat >"$TMPD/check-bad.conf" <<EOF
dnssec: yes
trust-anchor-file: $TMPD/no-anchor.key
cache-dir: $TMPD/check-good.conf
pidfile: $TMPD/no-dir/p.pid
republish: not-a-key
search-domain: ..
EOF
out=$(timeout 5 "$PKDNS" --check-config -c "$TMPD/check-bad.conf" 2>&1)
is "$?" 2 "--check-config of a file naming missing files and bad names: exit 2"
for l in "2: trust-anchor-file: " "3: cache-dir: .*not a directory" "4: pidfile: .*does not exist" \
	"5: republish: 'not-a-key' is not a public key" "6: search-domain: "; do
	like "$out" "^pkdns: $TMPD/check-bad.conf:$l" "  ... FILE:$l"
done
is "$(count_lines "$out")" 5 "  ... one line per error, all of them"
printf 'dnssec: no\ncache-size: lots\n' >"$TMPD/check-parse.conf"
out=$(timeout 5 "$PKDNS" --check-config -c "$TMPD/check-parse.conf" 2>&1)
like "$? $out" "^2 pkdns: $TMPD/check-parse.conf:2: cache-size: " "--check-config of a file that does not parse: exit 2, FILE:LINE: KEY:"
out=$(cd "$TMPD" && timeout 5 "$PKDNS" --check-config --dnssec no 2>&1)
is "$?" 0 "--check-config with no config file: exit 0"

# --- the pidfile: relative path, and a failed second start ---
p3=$(pick_port)
rm -f "$TMPD/rel.pid"
# shellcheck disable=SC2086
(cd "$TMPD" && timeout 10 "$PKDNS" --dht-mode off -l 127.0.0.1:"$p3" $UP --pidfile rel.pid >/dev/null 2>&1)
rc=$?
for _ in $(seq 1 50); do [ -s "$TMPD/rel.pid" ] && break; sleep 0.1; done
bgpid=$(cat "$TMPD/rel.pid" 2>/dev/null)
is "$rc" 0 "in the background with a relative --pidfile: the parent exits 0"
ok "  ... the pidfile is written where it was asked (it used to fail after the chdir to /)" \
	test -n "$bgpid"
if [ -z "$bgpid" ]; then
	# no pidfile: find the daemon we started by the port it holds, to stop it
	bgpid=$(ss -Hltnp "sport = :$p3" 2>/dev/null | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -n 1)
	[ -n "$bgpid" ] && kill -TERM "$bgpid" 2>/dev/null
	bgpid=
fi
ok "  ... and names the running daemon" _alive "${bgpid:-0}"
# a second start on the same port fails and must leave the pidfile alone
# shellcheck disable=SC2086
run_bad -d --dht-mode off -l 127.0.0.1:"$p3" $UP --pidfile "$TMPD/rel.pid"
isnt "$BAD_RC" 0 "a second start on the same port fails"
is "$(cat "$TMPD/rel.pid" 2>/dev/null)" "$bgpid" "  ... and leaves the running daemon's pidfile in place"
if [ -n "$bgpid" ]; then
	kill -TERM "$bgpid"
	for _ in $(seq 1 50); do _alive "$bgpid" || break; sleep 0.1; done
	ok "the daemon stops on SIGTERM" eval "! _alive $bgpid"
	ok "  ... and removes its pidfile" test ! -e "$TMPD/rel.pid"
fi

# --- version and help ---
out=$(timeout 5 "$PKDNS" --version 2>&1)
is "$?" 0 "--version: exit 0"
like "$out" '[0-9]+\.[0-9]+' "--version: prints a version number"
out=$(timeout 5 "$PKDNS" --help 2>&1)
is "$?" 0 "--help: exit 0"
like "$out" '--listen' "--help: lists --listen"

nsd_stop
done_testing
