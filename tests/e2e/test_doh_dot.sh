#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# pkdns e2e: DNS over TLS (RFC 7858) and DNS over HTTPS (RFC 8484) on
# loopback with real clients: kdig +tls and +https, curl over HTTP/2,
# HTTP/1.1 and h2c, curl --doh-url fetching a page whose address only a
# key's packet holds, dnsperf -m dot and -m doh. Then what a hostile
# client gets: 413, 400, 415, 406, 404, malformed HTTP/2 frames, a TLS
# handshake that never ends, 1,000 idle TLS connections; X-Forwarded-For
# from a trusted proxy meeting access-control; certificate reload on
# SIGHUP. The test CA and certificates are made here with openssl.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
. "$E2E_DIR/pkarr_lib.sh"
require_pkarr
for t in kdig curl openssl; do
	command -v "$t" >/dev/null || skip_all "$t not installed"
done
curl -V | grep -q nghttp2 || skip_all "curl without HTTP/2"

# --- a test CA and a server certificate for 127.0.0.1 --------------------
PKI=$TMPD/pki
mkdir -p "$PKI"
mkcert() { # NAME CN
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$PKI/$1.key" -out "$PKI/$1.csr" -subj "/CN=$2" 2>/dev/null &&
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n' >"$PKI/$1.ext" &&
	openssl x509 -req -in "$PKI/$1.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca.key" \
		-CAcreateserial -days 2 -extfile "$PKI/$1.ext" -out "$PKI/$1.pem" 2>/dev/null
}
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-keyout "$PKI/ca.key" -out "$PKI/ca.pem" -subj "/CN=pkdns test CA" 2>/dev/null ||
	bail_out "openssl cannot make a CA"
mkcert server "pkdns test 1" || bail_out "openssl cannot make a certificate"
mkcert server2 "pkdns test 2" || bail_out "openssl cannot make a second certificate"
cp "$PKI/server.pem" "$PKI/live.pem"
cp "$PKI/server.key" "$PKI/live.key"

OUT=$("$PKDNS" --check-config -c /dev/null --dnssec no --tls-listen 127.0.0.1:853 --tls-cert "$TMPD/none.pem" 2>&1)
like "$OUT" "tls-cert: .*none.pem: No such file" "--check-config: a missing tls-cert is reported"
like "$OUT" "tls-key: needed by" "--check-config: a TLS listener without tls-key is reported"
"$PKDNS" --check-config -c /dev/null --dnssec no --https-listen 127.0.0.1:443 \
	--tls-cert "$PKI/server.pem" --tls-key "$PKI/server.key" >/dev/null 2>&1
is "$?" 0 "--check-config: readable certificate and key pass"

DOT_PORT=$(pick_port)
DOH_PORT=$(pick_port)
HTTP_PORT=$(pick_port)
WEB_PORT=$(pick_port)
nsd_start
pkarr_start --tls-listen 127.0.0.1:"$DOT_PORT" --https-listen 127.0.0.1:"$DOH_PORT" \
	--http-listen 127.0.0.1:"$HTTP_PORT" --tls-cert "$PKI/live.pem" --tls-key "$PKI/live.key" \
	--trusted-proxy 127.0.0.1/32 \
	--access-control "127.0.0.0/8 allow" --access-control "192.0.2.1 refuse" \
	--access-control "192.0.2.2 deny" \
	--tcp-max-connections 100 --tcp-max-per-client 100 \
	--http-max-connections 64 --ratelimit 0

# --- a key whose packet alone holds the web server's address -------------
KW=$(new_key web)
Z=$TMPD/zones
mkdir -p "$Z"
printf '$TTL 300\n@ IN A 127.0.0.1\nwww IN A 127.0.0.1\n' >"$Z/web.zone"
publish web "$Z/web.zone"
is "$RC" 0 "publish the web key"
[ "$RC" -eq 0 ] || bail_out "cannot publish to the testnet: $POUT"

WEB=$TMPD/www
mkdir -p "$WEB"
TOKEN=page-$RANDOM-$RANDOM
echo "<html><body>$TOKEN</body></html>" >"$WEB/index.html"
(cd "$WEB" && exec "$PYTHON" -m http.server --bind 127.0.0.1 "$WEB_PORT") >"$TMPD/web.log" 2>&1 &
WEB_PID=$!
trap '_kill_bounded "$WEB_PID" 3; _cleanup' EXIT
for _ in $(seq 1 50); do
	curl -s -o /dev/null "http://127.0.0.1:$WEB_PORT/" && break
	sleep 0.1
done

CA=(--cacert "$PKI/ca.pem")
DOH=https://127.0.0.1:$DOH_PORT/dns-query

# --- DoT -------------------------------------------------------------------
OUT=$(kdig @127.0.0.1 -p "$DOT_PORT" +tls-ca="$PKI/ca.pem" +tls-hostname=localhost \
	+time=5 +retry=0 "$KW" A 2>&1)
like "$OUT" "$KW\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+A[[:space:]]+127\.0\.0\.1" \
	"kdig +tls (certificate checked against the test CA): the key's A record"
like "$OUT" "TLS1\.[23]" "kdig +tls: TLS 1.2 or 1.3"
size=$(printf '%s\n' "$OUT" | sed -n 's/^;; Received \([0-9]*\) B.*/\1/p')
is "$((size % 468))" 0 "DoT answer padded to a multiple of 468 octets ($size)"
OUT=$(kdig @127.0.0.1 -p "$DOT_PORT" +tls +time=5 +retry=0 www.e2e.example A 2>&1)
like "$OUT" "www\.e2e\.example\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+A[[:space:]]+192\.0\.2\.1" \
	"kdig +tls: an ICANN name through nsd"
OUT=$(kdig @127.0.0.1 -p "$DOT_PORT" +tls +noedns +time=5 +retry=0 www.e2e.example A 2>&1)
like "$OUT" "status: NOERROR" "kdig +tls without EDNS: answered (not padded: no OPT to pad)"
OUT=$(kdig @127.0.0.1 -p "$DOT_PORT" +tls +keepopen +time=5 +retry=0 "$KW" A www.e2e.example A "www.$KW" A 2>&1)
is "$(printf '%s\n' "$OUT" | grep -c 'status: NOERROR')" 3 "three queries on one DoT connection"
names=""
for i in $(seq 1 200); do names="$names dot$i.e2e.example"; done
# shellcheck disable=SC2086
r=$(PKDNS_PORT=$DOT_PORT probe --tls pipeline $names)
like "$r" "^sent=200 got=200 matched=200 " "DoT: 200 uncached queries pipelined in one write, over the 64 in flight per connection: all answered"
ALPN=$(echo | timeout 10 openssl s_client -connect 127.0.0.1:"$DOT_PORT" -alpn dot 2>/dev/null | grep -i 'ALPN protocol')
like "$ALPN" "dot" "DoT listener selects ALPN dot"
OUT=$(echo | timeout 10 openssl s_client -connect 127.0.0.1:"$DOT_PORT" -tls1_1 2>&1)
like "$OUT" "alert protocol version" "TLS 1.1 is refused (protocol_version alert)"
for v in 1_2 1_3; do
	(sleep 0.5; echo) | timeout 10 openssl s_client -connect 127.0.0.1:"$DOT_PORT" -tls$v \
		-sess_out "$TMPD/sess$v" >/dev/null 2>&1
	OUT=$(echo | timeout 10 openssl s_client -connect 127.0.0.1:"$DOT_PORT" -tls$v \
		-sess_in "$TMPD/sess$v" 2>/dev/null | grep -E '^(Reused|New),')
	like "$OUT" "^Reused" "TLS ${v/_/.} session resumption on the DoT listener"
done

# --- DoH with kdig and curl ------------------------------------------------
OUT=$(kdig @127.0.0.1 -p "$DOH_PORT" +https +tls-ca="$PKI/ca.pem" +tls-hostname=localhost \
	+time=5 +retry=0 "$KW" A 2>&1)
like "$OUT" "$KW\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+A[[:space:]]+127\.0\.0\.1" "kdig +https: the key's A record"
like "$OUT" "HTTP/2" "kdig +https speaks HTTP/2"
OUT=$(kdig @127.0.0.1 -p "$DOH_PORT" +https +time=5 +retry=0 www.e2e.example AAAA 2>&1)
like "$OUT" "2001:db8::1" "kdig +https: an ICANN name"
OUT=$(kdig @127.0.0.1 -p "$DOH_PORT" +https-get +time=5 +retry=0 "www.$KW" A 2>&1)
like "$OUT" "www\.$KW\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+A[[:space:]]+127\.0\.0\.1" "kdig +https-get (GET)"

# a query for <key> A, in wire format and base64url
QWIRE=$TMPD/q.bin
"$PYTHON" - "$KW" >"$QWIRE" <<'PY'
import struct, sys
name = b"".join(bytes([len(l)]) + l.encode() for l in sys.argv[1].split(".")) + b"\0"
sys.stdout.buffer.write(struct.pack(">HHHHHH", 0, 0x0100, 1, 0, 0, 1) + name + struct.pack(">HH", 1, 1)
                        + b"\0" + struct.pack(">HHIH", 41, 1232, 0, 0))
PY
Q64=$("$PYTHON" -c 'import base64,sys; print(base64.urlsafe_b64encode(open(sys.argv[1],"rb").read()).decode().rstrip("="))' "$QWIRE")
has_answer() { # FILE: the DoH body holds 127.0.0.1 in an A record
	"$PYTHON" -c 'import sys; d=open(sys.argv[1],"rb").read(); sys.exit(0 if len(d)>12 and d[3]&15==0 and b"\x00\x01\x00\x01" in d and b"\x7f\x00\x00\x01" in d else 1)' "$1"
}
for v in --http2 --http1.1; do
	H=$TMPD/h; B=$TMPD/b
	code=$(curl -s "${CA[@]}" "$v" -D "$H" -o "$B" -w '%{http_code} %{http_version}' "$DOH?dns=$Q64")
	is "$code" "200 ${v#--http}" "curl $v GET: 200 over HTTP/${v#--http}"
	ok "curl $v GET: the answer holds the key's address" has_answer "$B"
	like "$(cat "$H")" "[Cc]ontent-[Tt]ype: application/dns-message" "curl $v GET: Content-Type"
	like "$(cat "$H")" "[Cc]ache-[Cc]ontrol: max-age=([0-9]|[1-9][0-9]|[12][0-9][0-9]|300)"$'\r' "curl $v GET: max-age at most the TTL (300)"
	like "$(cat "$H")" "[Aa]ccess-[Cc]ontrol-[Aa]llow-[Oo]rigin: \*" "curl $v GET: CORS"
	like "$(cat "$H")" "[Cc]ontent-[Ll]ength: $(stat -c %s "$B")"$'\r' "curl $v GET: Content-Length"
	code=$(curl -s "${CA[@]}" "$v" -o "$B" -w '%{http_code}' -H 'Content-Type: application/dns-message' \
		--data-binary @"$QWIRE" "$DOH")
	is "$code" 200 "curl $v POST: 200"
	ok "curl $v POST: the answer holds the key's address" has_answer "$B"
	is "$(( $(stat -c %s "$B") % 468 ))" 0 "curl $v POST: DoH answer padded to 468-octet blocks"
	code=$(curl -s "${CA[@]}" "$v" -o /dev/null -w '%{http_code}' -H 'Accept: */*' "$DOH?dns=$Q64")
	is "$code" 200 "curl $v with Accept: */*: 200"
	code=$(curl -s "${CA[@]}" "$v" -D "$H" -o /dev/null -w '%{http_code}' -X OPTIONS \
		-H 'Origin: https://app.example' -H 'Access-Control-Request-Method: POST' "$DOH")
	is "$code" 204 "curl $v OPTIONS preflight: 204"
	like "$(cat "$H")" "[Aa]ccess-[Cc]ontrol-[Aa]llow-[Mm]ethods: GET, POST" "curl $v preflight: allowed methods"
	# hostile and wrong requests
	head -c 70000 /dev/zero >"$TMPD/big"
	code=$(curl -s "${CA[@]}" "$v" -o /dev/null -w '%{http_code}' -H 'Content-Type: application/dns-message' \
		--data-binary @"$TMPD/big" "$DOH")
	is "$code" 413 "curl $v POST of 70,000 bytes: 413"
	code=$(curl -s "${CA[@]}" "$v" -o /dev/null -w '%{http_code}' "$DOH?dns=not*base64")
	is "$code" 400 "curl $v bad base64url: 400"
	code=$(curl -s "${CA[@]}" "$v" -o /dev/null -w '%{http_code}' "$DOH")
	is "$code" 400 "curl $v GET without dns=: 400"
	code=$(curl -s "${CA[@]}" "$v" -o /dev/null -w '%{http_code}' -H 'Content-Type: text/plain' \
		--data-binary @"$QWIRE" "$DOH")
	is "$code" 415 "curl $v POST text/plain: 415"
	code=$(curl -s "${CA[@]}" "$v" -o /dev/null -w '%{http_code}' -H 'Accept: text/html' "$DOH?dns=$Q64")
	is "$code" 406 "curl $v Accept: text/html: 406"
	code=$(curl -s "${CA[@]}" "$v" -o /dev/null -w '%{http_code}' "https://127.0.0.1:$DOH_PORT/other")
	is "$code" 404 "curl $v another path: 404"
	# a 400 does not cost the connection: the second request reuses it
	out=$(curl -s "${CA[@]}" "$v" -o /dev/null -o /dev/null -w '%{http_code}:%{num_connects} ' \
		"$DOH?dns=%%%" "$DOH?dns=$Q64")
	is "$out" "400:1 200:0 " "curl $v: after a 400 the connection serves the next request"
done
# bounds of the HTTP layer: an 8 KB header, streams per connection
BIG=$(head -c 9000 /dev/zero | tr '\0' a)
for v in --http1.1 --http2; do
	code=$(curl -s "${CA[@]}" "$v" -o /dev/null -w '%{http_code}' -H "X-Big: $BIG" "$DOH?dns=$Q64")
	is "$code" 431 "curl $v with a 9,000-byte header: 431"
done
if command -v nghttp >/dev/null; then
	OUT=$(timeout 20 nghttp -nv "$DOH?dns=$Q64" 2>&1)
	like "$OUT" "SETTINGS_MAX_CONCURRENT_STREAMS\(0x03\):100" "HTTP/2 SETTINGS: 100 concurrent streams"
	like "$OUT" "SETTINGS_MAX_HEADER_LIST_SIZE\(0x06\):8192" "HTTP/2 SETTINGS: 8 KB of headers"
else
	skip "HTTP/2 SETTINGS" "nghttp (nghttp2-client) not installed"
fi
if command -v h2load >/dev/null; then
	OUT=$(timeout 60 h2load -n 400 -c 1 -m 200 "$DOH?dns=$Q64" 2>&1)
	like "$OUT" "400 succeeded, 0 failed, 0 errored" "h2load: 400 requests, 200 at a time asked on one connection, all answered"
else
	skip "h2load" "nghttp2-client not installed"
fi
code=$(curl -s --http2-prior-knowledge -o "$TMPD/b" -w '%{http_code} %{http_version}' \
	"http://127.0.0.1:$HTTP_PORT/dns-query?dns=$Q64")
is "$code" "200 2" "plain http-listen: HTTP/2 with prior knowledge (h2c)"
code=$(curl -s --http1.1 -o "$TMPD/b" -w '%{http_code}' "http://127.0.0.1:$HTTP_PORT/dns-query?dns=$Q64")
is "$code" 200 "plain http-listen: HTTP/1.1"
ok "plain http-listen: the key's address" has_answer "$TMPD/b"

# --- a browser-like client: curl resolving http://<key>/ through DoH -----
PAGE=$(curl -s --max-time 10 --doh-url "$DOH" --doh-insecure "http://$KW:$WEB_PORT/")
like "$PAGE" "$TOKEN" "curl --doh-url: the page at http://<key>:PORT/ (address only in the packet)"
PAGE=$(curl -s --max-time 10 --doh-url "$DOH" --doh-insecure "http://www.$KW:$WEB_PORT/")
like "$PAGE" "$TOKEN" "curl --doh-url: http://www.<key>:PORT/"

# --- X-Forwarded-For: only from a trusted proxy, then access control -----
rc_of() { "$PYTHON" -c 'import sys; d=open(sys.argv[1],"rb").read(); print(d[3]&15 if len(d)>=12 else "none")' "$1"; }
curl -s -o "$TMPD/b" -H 'X-Forwarded-For: 203.0.113.9, 192.0.2.1' "http://127.0.0.1:$HTTP_PORT/dns-query?dns=$Q64"
is "$(rc_of "$TMPD/b")" 5 "XFF 192.0.2.1 from a trusted proxy: access-control refuses (REFUSED)"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'X-Forwarded-For: 192.0.2.2' "http://127.0.0.1:$HTTP_PORT/dns-query?dns=$Q64")
is "$code" 403 "XFF 192.0.2.2 (access-control deny): 403, no answer"

# --- dnsperf ---------------------------------------------------------------
if command -v dnsperf >/dev/null; then
	printf '%s A\nwww.%s A\nwww.e2e.example A\n' "$KW" "$KW" >"$TMPD/perf.txt"
	for m in dot doh; do
		port=$DOT_PORT; [ $m = doh ] && port=$DOH_PORT
		OUT=$(timeout -k 2 20 dnsperf -m $m -s 127.0.0.1 -p "$port" -d "$TMPD/perf.txt" -l 2 -c 2 -Q 500 2>&1)
		sent=$(printf '%s\n' "$OUT" | sed -n 's/.*Queries sent: *\([0-9]*\).*/\1/p')
		done_=$(printf '%s\n' "$OUT" | sed -n 's/.*Queries completed: *\([0-9]*\).*/\1/p')
		# that it ran, not how fast (500/s asked for 2 s; a loaded
		# machine sends fewer): the speed is bench/'s
		cmp_ok "${sent:-0}" -gt 20 "dnsperf -m $m: queries sent (${sent:-0})"
		is "${done_:-0}" "${sent:-0}" "dnsperf -m $m: every query answered"
	done
else
	skip "dnsperf -m dot/doh" "dnsperf not installed"
fi

# --- hostile connections ---------------------------------------------------
OUT=$(timeout -k 2 30 "$PYTHON" - "$HTTP_PORT" <<'PY'
import socket, sys
port = int(sys.argv[1])
pre = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
settings = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
cases = [
    b"\x00\x00\x05\x07\x00\x00\x00\x00\x00junk!" * 20,           # GOAWAY before SETTINGS
    settings + b"\xff\xff\xff\x00\x00\x00\x00\x00\x01" + b"x" * 100,  # frame larger than allowed
    settings + b"\x00\x00\x10\x01\x05\x00\x00\x00\x01" + b"\xff" * 16,  # HEADERS with bad HPACK
    settings + b"\x00\x00\x04\x00\x01\x00\x00\x00\x00abcd",        # DATA on stream 0
    settings + b"\x00\x00\x08\x03\x00\x00\x00\x00\x01" + b"\x00" * 8,  # RST_STREAM of wrong size
    settings + b"\x00\x00\x00\x01\x05\x00\x00\x00\x02",          # HEADERS on an even stream
    b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n",                          # a broken preface
]
closed = 0
for c in cases:
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(pre + c if not c.startswith(b"PRI") else c)
    try:
        while s.recv(4096):
            pass
        closed += 1
    except socket.timeout:
        pass
    s.close()
print(closed, len(cases))
PY
)
is "$OUT" "7 7" "malformed HTTP/2 frames: each connection closed by pkdns (GOAWAY)"
OUT=$(kdig @127.0.0.1 -p "$DOH_PORT" +https +time=5 +retry=0 www.e2e.example A 2>&1)
like "$OUT" "status: NOERROR" "DoH still answers after the malformed frames"

# a TLS handshake that never ends is closed (DoT: the message deadline,
# 3 s; HTTPS: 5 s)
OUT=$(timeout -k 2 30 "$PYTHON" - "$DOT_PORT" "$DOH_PORT" <<'PY'
import socket, sys
res = []
for port in sys.argv[1:]:
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=20)
    s.sendall(b"\x16\x03\x01\x00\xc8\x01")   # the first bytes of a ClientHello
    try:
        res.append("closed" if s.recv(100) == b"" else "data")
    except socket.timeout:
        res.append("open")
    except ConnectionResetError:
        res.append("closed")
print(" ".join(res))
PY
)
is "$OUT" "closed closed" "slow TLS handshakes: DoT and HTTPS close the connection"

# 1,000 idle TLS connections: the caps hold (100 DoT, 64 HTTP), the
# daemon keeps serving new clients by closing the least recently used
for which in dot https; do
	port=$DOT_PORT; cap=100
	[ $which = https ] && port=$DOH_PORT && cap=64
	OUT=$(timeout -k 2 120 "$PYTHON" - "$port" "$which" <<'PY'
import resource, select, socket, ssl, sys
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
port, which = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
if which == "https":
    ctx.set_alpn_protocols(["http/1.1"])
conns, fails = [], 0
for i in range(1000):
    try:
        raw = socket.create_connection(("127.0.0.1", port), timeout=5)
        conns.append(ctx.wrap_socket(raw))
    except (OSError, ssl.SSLError):
        fails += 1
# which of them did the server close?
open_ = 0
for c in conns:
    c.setblocking(False)
    try:
        r = c.recv(1)
        if r:
            open_ += 1
    except (ssl.SSLWantReadError, BlockingIOError):
        open_ += 1
    except (OSError, ssl.SSLError):
        pass
print(len(conns) + fails, open_)
for c in conns:
    c.close()
PY
)
	total=${OUT% *}; open=${OUT#* }
	is "$total" 1000 "$which: 1,000 TLS connections tried"
	cmp_ok "$open" -le "$cap" "$which: at most the cap ($cap) stay open ($open)"
	cmp_ok "$open" -ge 1 "$which: the newest stay open ($open)"
done
OUT=$(kdig @127.0.0.1 -p "$DOT_PORT" +tls +time=5 +retry=0 "$KW" A 2>&1)
like "$OUT" "status: NOERROR" "DoT answers after the idle flood"
code=$(curl -s "${CA[@]}" --http2 -o /dev/null -w '%{http_code}' "$DOH?dns=$Q64")
is "$code" 200 "DoH answers after the idle flood"

# --- certificate reload on SIGHUP ------------------------------------------
subj() { echo | timeout 10 openssl s_client -connect 127.0.0.1:"$1" 2>/dev/null | sed -n 's/^subject=.*CN *= *//p'; }
is "$(subj "$DOT_PORT")" "pkdns test 1" "DoT serves the first certificate"
cp "$PKI/server2.pem" "$PKI/live.pem"
cp "$PKI/server2.key" "$PKI/live.key"
kill -HUP "$PKDNS_PID"
wait_log 'certificate .* reloaded'
is "$(subj "$DOT_PORT")" "pkdns test 2" "SIGHUP: DoT serves the new certificate"
is "$(subj "$DOH_PORT")" "pkdns test 2" "SIGHUP: HTTPS serves the new certificate"
echo "not a certificate" >"$PKI/live.pem"
kill -HUP "$PKDNS_PID"
wait_log 'keeping the old certificate'
is "$(subj "$DOT_PORT")" "pkdns test 2" "SIGHUP with a broken file: the old certificate stays"

pkdns_stop
done_testing
