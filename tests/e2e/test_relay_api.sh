#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# pkdns e2e: the pkarr relay API (pkarr design/relays.md) on http-listen,
# with curl: every status (200, 304, 400, 404, 409, 413, 429, 503, 204),
# its headers (Content-Type, Cache-Control from the TTLs, Last-Modified
# from the seq, CORS), the daemon still answering after each; relays as
# a client (relay:), over HTTP and over HTTPS with a test CA (relay-ca),
# with no reachable DHT node; a relay's older or forged packet never
# taking the place of a newer one; pkdns-cli publish/resolve --relay.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
. "$E2E_DIR/pkarr_lib.sh"
. "$E2E_DIR/relay_lib.sh"
require_relay_curl
command -v openssl >/dev/null || skip_all "openssl not installed"

# --check-config knows a relay URL and the CA file
"$PKDNS" --check-config --relay ftp://x >"$TMPD/cc.out" 2>&1
is "$?" 2 "--check-config: a relay URL that is not http(s) is an error"
like "$(cat "$TMPD/cc.out")" "--relay: 'ftp://x' is not a relay URL" "  ... saying which"
"$PKDNS" --check-config --relay-ca "$TMPD/none.pem" >/dev/null 2>&1
is "$?" 2 "--check-config: a missing relay-ca file is an error"
"$PKDNS" --check-config --relay https://relay.example.net/pkarr >/dev/null 2>&1
is "$?" 0 "--check-config: an https relay URL with a path is fine"

nsd_start
HP=$(pick_port)
daemon_start A --http-listen 127.0.0.1:"$HP" --relay-put-ratelimit 1
R=http://127.0.0.1:$HP

K=$(new_key k)
printf '@ 300 IN A 192.0.2.1\n@ 120 IN TXT "v1"\n' >"$TMPD/v1.zone"
printf '@ 300 IN A 192.0.2.2\n@ 120 IN TXT "v2"\n' >"$TMPD/v2.zone"
publish k "$TMPD/v1.zone"
is "$RC" 0 "v1 published on the testnet"
SEQ1=$(printf '%s\n' "$POUT" | sed -n 's/.* seq \([0-9][0-9]*\):.*/\1/p')

# --- GET ------------------------------------------------------------------
http "$R/$K"
is "$HS" 200 "GET /<key>: 200"
is "$(header Content-Type)" "application/pkarr.org/relays#payload" "GET: Content-Type"
is "$(header Cache-Control)" "public, max-age=120" "GET: max-age is the smallest TTL"
is "$(header Access-Control-Allow-Origin)" "*" "GET: CORS origin"
LM=$(header Last-Modified)
is "$LM" "$(date -u -d "@$((SEQ1 / 1000000))" '+%a, %d %b %Y %H:%M:%S GMT')" \
	"GET: Last-Modified is the seq's second"
cp "$TMPD/body" "$TMPD/v1.bin"
is "$("$PYTHON" -c 'import sys; b=open(sys.argv[1],"rb").read(); print(int.from_bytes(b[64:72],"big"))' "$TMPD/v1.bin")" \
	"$SEQ1" "payload: sig | seq (8 bytes big endian) | packet"
http --http2-prior-knowledge "$R/$K"
is "$HS" 200 "GET over HTTP/2 (prior knowledge): 200"
cmp -s "$TMPD/body" "$TMPD/v1.bin"
is "$?" 0 "HTTP/2: the same payload"
http -I "$R/$K"
is "$HS $(header Content-Length)" "200 $(stat -c %s "$TMPD/v1.bin")" "HEAD: 200 with the payload's length"
http -H "If-Modified-Since: $LM" "$R/$K"
is "$HS" 304 "If-Modified-Since the Last-Modified: 304"
is "$(stat -c %s "$TMPD/body" 2>/dev/null || echo 0)" 0 "304: no body"
http -H "If-Modified-Since: Thu, 01 Jan 2015 00:00:00 GMT" "$R/$K"
is "$HS" 200 "If-Modified-Since before the seq: 200"
http -H "If-Modified-Since: garbage" "$R/$K"
is "$HS" 200 "an unparseable If-Modified-Since is ignored"
UNK=$(new_key unknown)
http "$R/$UNK"
is "$HS" 404 "GET of a key nobody published: 404"
http "$R/notakey"
is "$HS" 404 "GET of another path: 404"
http "$R/${K%?}0"
is "$HS" 400 "GET of /<52 characters, not a key>: 400"
http -X OPTIONS "$R/$K"
is "$HS" 204 "OPTIONS: 204"
is "$(header Access-Control-Allow-Origin)" "*" "OPTIONS: Access-Control-Allow-Origin *"
is "$(header Access-Control-Allow-Methods)" "GET, PUT, OPTIONS" "OPTIONS: methods"
like "$(header Access-Control-Allow-Headers)" "If-Modified-Since" "OPTIONS: allowed headers"
dq A "$K" A
is "$(status) $(rdata A)" "NOERROR 192.0.2.1" "DNS still answers"

# --- PUT ------------------------------------------------------------------
http -X PUT --data-binary @"$TMPD/v1.bin" "$R/$K"
is "$HS" 204 "PUT of the same packet: 204"
cmp_ok "$(header Pkarr-Dht-Stored-Nodes)" -ge 1 "PUT: Pkarr-Dht-Stored-Nodes"
cp "$TMPD/v1.bin" "$TMPD/forged.bin"
printf '\001' | dd of="$TMPD/forged.bin" bs=1 seek=70 conv=notrunc 2>/dev/null
http -X PUT --data-binary @"$TMPD/forged.bin" "$R/$K"
is "$HS" 400 "PUT with a forged signature (other seq): 400"
head -c 2048 /dev/zero >"$TMPD/big.bin"
http -X PUT --data-binary @"$TMPD/big.bin" "$R/$K"
is "$HS" 413 "PUT of 2 KB: 413"
http -X PUT --data-binary @"$TMPD/v1.bin" "$R/$UNK"
is "$HS" 400 "PUT of a packet under another key: 400"
dq A "$K" A
is "$(status) $(rdata A)" "NOERROR 192.0.2.1" "DNS still answers after the refused PUTs"

# --- relays as a client, no DHT node reachable ----------------------------
dead_port
PROBE_NAME=none daemon_start C --dht-mode client --bootstrap 127.0.0.1:"$DEAD" --relay "$R"
dq C "$K" A
is "$(status) $(rdata A)" "NOERROR 192.0.2.1" "no DHT node: relay: alone answers the key"
dq C "$UNK" A
is "$(status)" NXDOMAIN "no DHT node: the relay's 404 is NXDOMAIN"
daemon_stop C

# --- a newer packet through the relay; the older one then refused ----------
sleep 1 # ratelimit: 1 PUT/s, burst 5
POUT=$(timeout -k 1 30 "$CLI" --timeout 10 publish --relay "$R" "$KEYS/k.seed" "$TMPD/v2.zone" 2>&1)
is "$?" 0 "pkdns-cli publish --relay to pkdns: exit 0"
like "$POUT" "stored by relay" "publish --relay: stored"
http -X PUT --data-binary @"$TMPD/v1.bin" "$R/$K"
is "$HS" 409 "PUT of an older seq than the one held: 409"
OUTR=$(timeout -k 1 30 "$CLI" --timeout 10 resolve --relay "$R" "$K" 2>&1)
like "$OUTR" "192\.0\.2\.2" "pkdns-cli resolve --relay: the new packet"
timeout -k 1 30 "$CLI" --timeout 10 resolve --relay "$R" "$UNK" >/dev/null 2>&1
is "$?" 1 "pkdns-cli resolve --relay of an unknown key: exit 1"
OUTD=$(timeout -k 1 30 "$CLI" --testnet-port "$TESTNET_PORT" --timeout 10 resolve "$K" 2>&1)
like "$OUTD" "192\.0\.2\.2" "the relayed PUT reached the DHT (pkdns-cli resolve)"

# --- HTTPS relays: test CA, host name check, older and forged packets ------
relay_test_ca
mkdir -p "$TMPD/fake"
cp "$TMPD/v1.bin" "$TMPD/fake/$K"          # an older packet
FK=$(new_key forged)
cp "$TMPD/v1.bin" "$TMPD/fake/$FK"         # K's packet under another key
fake_relay_start "$TMPD/tls/srv.pem" "$TMPD/tls/srv.key" "$TMPD/fake"
F=https://127.0.0.1:$FAKE_PORT
PROBE_NAME=none daemon_start C --dht-mode client --bootstrap 127.0.0.1:"$DEAD" \
	--min-ttl 1 --max-ttl 1 --relay "$F" --relay-ca "$TMPD/tls/ca.pem"
dq C "$K" A
is "$(status) $(rdata A)" "NOERROR 192.0.2.1" "https relay trusted through relay-ca answers"
dq C "$FK" A
is "$(status)" SERVFAIL "a forged packet from a relay is refused"
daemon_stop C

PROBE_NAME=none daemon_start C --dht-mode client --bootstrap 127.0.0.1:"$DEAD" \
	--min-ttl 1 --max-ttl 1 --relay "$F" --relay "$R" --relay-ca "$TMPD/tls/ca.pem"
ok "an older relay's packet, then the newer one" wait_answer C "$K" 192.0.2.2
old_after=0
for _ in $(seq 1 8); do
	sleep 0.4
	dq C "$K" A
	[ "$(rdata A)" = 192.0.2.1 ] && old_after=$((old_after + 1))
done
is "$old_after" 0 "the older packet never replaces the newer one (8 queries over 3 s)"
like "$(cat "$TMPD/fake.ims" 2>/dev/null)" "^$K .* GMT" "refreshes ask with If-Modified-Since"
daemon_stop C

PROBE_NAME=none daemon_start C --dht-mode client --bootstrap 127.0.0.1:"$DEAD" --relay "$F"
dq C "$K" A
is "$(status)" SERVFAIL "a test CA's certificate is not trusted without relay-ca"
daemon_stop C
fake_relay_start "$TMPD/tls/wrong.pem" "$TMPD/tls/wrong.key" "$TMPD/fake"
PROBE_NAME=none daemon_start C --dht-mode client --bootstrap 127.0.0.1:"$DEAD" \
	--relay "https://127.0.0.1:$FAKE_PORT" --relay-ca "$TMPD/tls/ca.pem"
dq C "$K" A
is "$(status)" SERVFAIL "a certificate for another name is refused"
daemon_stop C
timeout -k 1 30 "$CLI" --timeout 10 resolve --relay "$F" --relay-ca "$TMPD/tls/ca.pem" "$K" >"$TMPD/cli.out" 2>&1
is "$?" 0 "pkdns-cli resolve --relay https with --relay-ca"

# --- no DHT: PUT 503, GET of a key nobody has 503 ----------------------------
HB=$(pick_port)
PROBE_NAME=none daemon_start B --dht-mode client --bootstrap 127.0.0.1:"$DEAD" \
	--http-listen 127.0.0.1:"$HB"
http -X PUT --data-binary @"$TMPD/v1.bin" "http://127.0.0.1:$HB/$K"
is "$HS" 503 "PUT with no DHT node reachable: 503"
http "http://127.0.0.1:$HB/$UNK"
is "$HS" 503 "GET with no DHT node reachable: 503"
http "http://127.0.0.1:$HB/$K"
is "$HS" 200 "the PUT that got 503 is still cached (GET 200)"
daemon_stop B

# --- 429 -------------------------------------------------------------------
# 30 PUTs from one curl, 10 at a time: the bucket (burst 5, 1 per second)
# runs dry unless the daemon took over 25 s for them, however slow this
# machine (one PUT per curl run let the bucket refill under ASan on a
# loaded CI machine)
got429=0
puts=()
for i in $(seq 1 30); do
	[ "$i" = 1 ] || puts+=(--next)
	puts+=(-s -m 50 -X PUT --data-binary @"$TMPD/v1.bin" -o /dev/null -w '%{http_code}\n' "$R/$K")
done
for _ in 1 2 3; do
	codes=$(timeout -k 1 60 curl -s --parallel --parallel-max 10 "${puts[@]}" 2>/dev/null)
	if printf '%s\n' "$codes" | grep -qx 429; then got429=1; break; fi
done
is "$got429" 1 "PUTs over relay-put-ratelimit: 429"
http "$R/$K"
is "$HS" 200 "GET still served after 429"
# (A records of K sit in the answer cache for their TTL; TXT was never asked)
dq A "$K" TXT
is "$(status) $(rdata TXT)" 'NOERROR "v2"' "DNS still answers, from the newer packet"
daemon_stop A
done_testing
