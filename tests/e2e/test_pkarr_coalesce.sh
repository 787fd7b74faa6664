#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# pkdns e2e: many clients asking under one key at once share one DHT
# look-up. pkdns's own testnet answers within a millisecond, so the DHT
# here is one node (tests/e2e/data/pkarr_slow_node.py) that holds back
# every value for 0.7 s: all 50 queries are in flight together.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
. "$E2E_DIR/pkarr_lib.sh"
require_pkarr

nsd_start
slow_node_start 0.7
CLI_NET="--bootstrap 127.0.0.1:$SLOW_PORT"
pkdns_start -f 127.0.0.1:"$NSD_PORT" --dnssec no --dht-mode client \
	--bootstrap 127.0.0.1:"$SLOW_PORT" --dht-port 0 -v -v --log-queries yes

Z=$TMPD/zones
mkdir -p "$Z"
# shellcheck disable=SC2016
printf '$TTL 300\n* IN A 192.0.2.99\n' >"$Z/w.zone"
K_one=$(new_key one)
K_many=$(new_key many)
for k in one many; do
	[ "$(wc -c <"$KEYS/$k.seed")" -eq 65 ] || bail_out "pkdns-cli generate made no seed for '$k'"
	publish "$k" "$Z/w.zone"
	is "$RC" 0 "publish key '$k' to the one-node DHT: exit 0"
done

# 50 clients (50 source addresses), 50 names, one uncached key.
before=$(stat_counter "dht look-ups")
like "$before" '^[0-9]+$' "stats line (SIGUSR1) has a DHT look-up count"
qlog_mark
start=$(date +%s%N)
r=$(burst 50 "c%d.$K_many" 192.0.2.99 spread)
end=$(date +%s%N)
like "$r" "^sent=50 replies=50 noerror=50 right=50 " "50 clients at once under one uncached key: all answered with the record"
after=$(stat_counter "dht look-ups")
is "$((after - before))" 1 "50 clients at once: exactly one DHT look-up"
# They waited for the node's 0.7 s: the burst took at least that on this
# shell's clock (a loaded machine only adds to it). They were answered
# when the value came, well before the 4 s deadline: by pkdns's clock (the
# query log), which the burst's own slow start on a loaded machine does
# not stretch.
ms=$(((end - start) / 1000000))
mm=$(tail -n +$((QLOG_FROM + 1)) "$PKDNS_LOG" | grep -F 'pkdns[query] ' | grep -F ".$K_many. A " |
	sed -n 's/.* \([0-9][0-9]*\)ms cache=.*/\1/p' |
	awk 'NR == 1 { lo = $1; hi = $1 } { if ($1 < lo) lo = $1; if ($1 > hi) hi = $1 } END { if (NR) print lo, hi, NR; else print "none none 0" }')
read -r lo hi nl <<<"$mm"
cmp_ok "$ms" -ge 600 "50 clients at once: they did wait for the slow node (${ms} ms)"
cmp_ok "$hi" -lt 3000 "50 clients at once: all answered when its value came (slowest ${hi} ms, quickest ${lo} ms by pkdns's clock, $nl logged)"

# One client, 50 names at once: joining a look-up that is already running
# starts none, so --dht-ratelimit (burst 25 by default) must not refuse
# any of them.
before=$(stat_counter "dht look-ups")
r=$(burst 50 "n%d.$K_one" 192.0.2.99)
like "$r" "^sent=50 replies=50 noerror=50 right=50 " "one client, 50 names at once under one uncached key: all answered with the record"
after=$(stat_counter "dht look-ups")
is "$((after - before))" 1 "one client, 50 names at once: exactly one DHT look-up"

# Now cached: no look-up at all, whoever asks.
r=$(burst 30 "again%d.$K_one" 192.0.2.99)
like "$r" "^sent=30 replies=30 noerror=30 right=30 " "30 more names under the cached key: all answered"
is "$(stat_counter "dht look-ups")" "$after" "  ... with no further DHT look-up"
is "$(grep -c 'get .*(value, delayed)' "$TMPD/slow.log")" 2 "the DHT node was asked for each key's value once"

pkdns_stop
slow_node_stop
done_testing
