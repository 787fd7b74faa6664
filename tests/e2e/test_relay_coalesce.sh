#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# pkdns e2e: relay API GETs and DNS queries for one uncached key share one
# DHT look-up. The DHT is one node (tests/e2e/data/pkarr_slow_node.py)
# that holds back every value for 0.7 s, so that the GETs and the queries
# are all in flight together.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
. "$E2E_DIR/pkarr_lib.sh"
. "$E2E_DIR/relay_lib.sh"
require_relay_curl

nsd_start
slow_node_start 0.7
export CLI_NET="--bootstrap 127.0.0.1:$SLOW_PORT"
HP=$(pick_port)
pkdns_start -f 127.0.0.1:"$NSD_PORT" --dnssec no --dht-mode client \
	--bootstrap 127.0.0.1:"$SLOW_PORT" --dht-port 0 -v -v --http-listen 127.0.0.1:"$HP"

# shellcheck disable=SC2016
printf '$TTL 300\n* IN A 192.0.2.99\n@ IN A 192.0.2.98\n' >"$TMPD/w.zone"
K=$(new_key k)
publish k "$TMPD/w.zone"
is "$RC" 0 "published to the one-node DHT"

before=$(stat_counter "dht look-ups")
like "$before" '^[0-9]+$' "stats line has a DHT look-up count"
gets=
for i in 1 2 3 4 5; do
	timeout -k 1 20 curl -s -m 15 -o "$TMPD/get$i" -w '%{http_code}\n' \
		"http://127.0.0.1:$HP/$K" >"$TMPD/code$i" 2>/dev/null &
	gets="$gets $!"
done
r=$(burst 20 "c%d.$K" 192.0.2.99 spread)
for p in $gets; do wait "$p"; done
like "$r" "^sent=20 replies=20 noerror=20 right=20 " "20 DNS queries beside 5 GETs: all answered"
codes=$(cat "$TMPD"/code* | sort | uniq -c | tr -s ' ' | sed 's/^ //')
is "$codes" "5 200" "5 GETs beside the queries: all 200"
same=1
for i in 2 3 4 5; do cmp -s "$TMPD/get1" "$TMPD/get$i" || same=0; done
is "$same" 1 "the 5 GETs got the same payload"
after=$(stat_counter "dht look-ups")
is "$((after - before))" 1 "GETs and DNS queries of one key: exactly one DHT look-up"
is "$(grep -c 'get .*(value, delayed)' "$TMPD/slow.log")" 1 "the DHT node was asked for the value once"

# cached now: a GET starts no look-up
http "http://127.0.0.1:$HP/$K"
is "$HS" 200 "GET of the cached key: 200"
is "$(stat_counter "dht look-ups")" "$after" "  ... with no further DHT look-up"
pkdns_stop
slow_node_stop
done_testing
