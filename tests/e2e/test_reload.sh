#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# pkdns e2e: SIGHUP reloads the configuration through every module
# (pkdns_apply_conf): a lowered max-ttl shows in the next pkarr answer, as
# it would after a restart; a configuration with errors is refused, the
# old one is kept, and the daemon keeps serving both paths.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
. "$E2E_DIR/pkarr_lib.sh"
require_pkarr

nsd_start
CONF=$TMPD/pkdns.conf
printf 'max-ttl: 3600\nmin-ttl: 60\n' >"$CONF"
pkarr_start -c "$CONF"

K=$(new_key k)
[ ${#K} -eq 52 ] || bail_out "no key"
# shellcheck disable=SC2016
printf '$TTL 300\n* IN A 192.0.2.80\n' >"$TMPD/k.zone"
publish k "$TMPD/k.zone"
is "$RC" 0 "publish a packet whose records have TTL 300"

q "a.$K" A
is "$(status) $(rdata A)" "NOERROR 192.0.2.80" "pkarr name answered"
is "$(ttl_of A)" 300 "  ... with the record's TTL under max-ttl 3600"

# wait_log PATTERN N: until a new line matching PATTERN is in the log (more
# than N); 20 s at most, a bound
wait_log() {
	local i
	for i in $(seq 1 200); do
		[ "$(grep -c "$1" "$PKDNS_LOG")" -gt "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

printf 'max-ttl: 60\nmin-ttl: 60\n' >"$CONF"
n=$(grep -c 'configuration reloaded' "$PKDNS_LOG")
kill -HUP "$PKDNS_PID"
ok "SIGHUP with max-ttl 60: reloaded" wait_log 'configuration reloaded' "$n"
q "b.$K" A
is "$(status) $(rdata A)" "NOERROR 192.0.2.80" "a new pkarr name after the reload: answered"
is "$(ttl_of A)" 60 "  ... with TTL 60: the new max-ttl reached the pkarr path"

printf 'max-ttl: banana\n' >"$CONF"
n=$(grep -c 'configuration has errors' "$PKDNS_LOG")
kill -HUP "$PKDNS_PID"
ok "SIGHUP with a broken configuration: refused" wait_log 'configuration has errors' "$n"
ok "  ... pkdns still runs" _alive "$PKDNS_PID"
q "c.$K" A
is "$(status) $(ttl_of A)" "NOERROR 60" "  ... pkarr names answered under the kept configuration (max-ttl 60)"
q www.e2e.example A
is "$(status) $(rdata A | tr '\n' ' ')" "NOERROR 192.0.2.1 192.0.2.2 " "  ... ICANN names answered"

# a setting that needs a restart is named, and the running value kept
printf 'max-ttl: 60\nmin-ttl: 60\ncache-size: 5000000\n' >"$CONF"
n=$(grep -c 'kept until a restart' "$PKDNS_LOG")
kill -HUP "$PKDNS_PID"
ok "SIGHUP changing cache-size: named as needing a restart" wait_log 'cache-size changed: kept until a restart' "$n"
pkdns_stop
nsd_stop
done_testing
