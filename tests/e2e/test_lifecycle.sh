#!/bin/sh
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

# --- version and help ---
out=$(timeout 5 "$PKDNS" --version 2>&1)
is "$?" 0 "--version: exit 0"
like "$out" '[0-9]+\.[0-9]+' "--version: prints a version number"
out=$(timeout 5 "$PKDNS" --help 2>&1)
is "$?" 0 "--help: exit 0"
like "$out" '--listen' "--help: lists --listen"

nsd_stop
done_testing
