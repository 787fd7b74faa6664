#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
# pkdns e2e: pkdns-control lookup says where a cached packet came from
# (issue 14): the DHT node that answered (ip:port, one of the testnet's),
# a PUT to the relay API (the client's address), a relay asked as a
# client (its URL), and, after a restart with cache-dir, the disk cache.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
. "$E2E_DIR/pkarr_lib.sh"
. "$E2E_DIR/relay_lib.sh"
require_relay_curl
CTL=${PKDNS_CONTROL:-$top_builddir/src/pkdns-control}
[ -x "$CTL" ] || skip_all "pkdns-control not built at $CTL"

# ctl SOCKET ARGS...: output in $COUT, status in $CRC
ctl() { COUT=$(timeout -k 1 40 "$CTL" -s "$@" 2>&1); CRC=$?; }
# source: the "source:" line of $COUT
source_of() { printf '%s\n' "$COUT" | sed -n 's/^source: //p'; }

nsd_start
HP=$(pick_port)
R=http://127.0.0.1:$HP
CACHE=$TMPD/cache
daemon_start A --http-listen 127.0.0.1:"$HP" --cache-dir "$CACHE" \
	--control-socket "$TMPD/a.sock"

# --- from the DHT: the node that answered -----------------------------------
KA=$(new_key a)
printf '@ 300 IN A 192.0.2.11\n' >"$TMPD/a.zone"
publish a "$TMPD/a.zone"
is "$RC" 0 "key A published on the testnet"
dq A "$KA" A
is "$(status) $(rdata A)" "NOERROR 192.0.2.11" "key A resolves through the DHT"
ctl "$TMPD/a.sock" lookup "$KA"
is "$CRC" 0 "lookup A: exit 0"
src=$(source_of)
like "$src" '^DHT node 127\.0\.0\.1:[0-9]+$' "  ... source: the DHT node's address and port"
port=${src##*:}
ok "  ... one of the testnet's nodes ($port in $TESTNET_PORT..$((TESTNET_PORT + 19)))" \
	test "${port:-0}" -ge "$TESTNET_PORT" -a "${port:-0}" -le "$((TESTNET_PORT + 19))"
like "$COUT" "kept on disk: yes" "  ... and kept in cache-dir"

# --- a PUT to the relay API: the client's address ---------------------------
KB=$(new_key b)
printf '@ 300 IN A 192.0.2.12\n' >"$TMPD/b.zone"
timeout -k 1 30 "$CLI" --timeout 10 publish --relay "$R" "$KEYS/b.seed" "$TMPD/b.zone" >"$TMPD/b.out" 2>&1
is "$?" 0 "key B PUT through the relay API (pkdns-cli publish --relay)"
ctl "$TMPD/a.sock" lookup "$KB"
is "$CRC:$(source_of)" "0:relay PUT from 127.0.0.1" "lookup B: source: relay PUT from 127.0.0.1"
like "$COUT" "192\.0\.2\.12" "  ... with its records"

# --- a relay asked as a client: its URL -------------------------------------
DEAD=$(pick_port)
PROBE_NAME=none daemon_start C --dht-mode client --bootstrap 127.0.0.1:"$DEAD" --relay "$R" \
	--control-socket "$TMPD/c.sock"
dq C "$KA" A
is "$(status) $(rdata A)" "NOERROR 192.0.2.11" "a daemon with a relay and no DHT node resolves A"
ctl "$TMPD/c.sock" lookup "$KA"
is "$CRC:$(source_of)" "0:relay $R" "  ... its lookup: source: the relay's URL"
like "$COUT" "kept on disk: no" "  ... in memory only (no cache-dir)"
daemon_stop C

# --- after a restart with cache-dir: the disk --------------------------------
daemon_stop A
daemon_start A --cache-dir "$CACHE" --control-socket "$TMPD/a.sock"
for k in "$KA" "$KB"; do
	ctl "$TMPD/a.sock" lookup "$k"
	is "$CRC:$(source_of)" "0:disk cache (cache-dir, read at start)" \
		"after a restart: lookup ${k:0:8}...: source: the disk cache"
done
like "$COUT" "192\.0\.2\.12" "  ... with its records"
daemon_stop A
done_testing
