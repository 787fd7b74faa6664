#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# pkdns e2e: the README's web-app example in a real browser. A page served
# from one loopback origin fetch()es http://127.0.0.1:PORT/<key> from
# pkdns's relay API (another origin: CORS must allow it) in headless
# Chromium, decodes the payload's seq and shows it with the status and
# Content-Type; the DOM Chromium dumps must hold what pkdns published.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
. "$E2E_DIR/pkarr_lib.sh"
. "$E2E_DIR/relay_lib.sh"
require_pkarr
CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
[ -n "$CHROMIUM" ] || skip_all "chromium not installed"

nsd_start
HP=$(pick_port)
daemon_start A --http-listen 127.0.0.1:"$HP"
K=$(new_key k)
printf '@ 300 IN A 192.0.2.1\n' >"$TMPD/k.zone"
publish k "$TMPD/k.zone"
is "$RC" 0 "published"
SEQ=$(printf '%s\n' "$POUT" | sed -n 's/.* seq \([0-9][0-9]*\):.*/\1/p')

mkdir -p "$TMPD/www"
cat >"$TMPD/www/index.html" <<HTML
<!doctype html><html><body><pre id="out">pending</pre><script>
fetch('http://127.0.0.1:$HP/$K').then(async r => {
  const b = new Uint8Array(await r.arrayBuffer())
  let seq = 0n
  for (let i = 64; i < 72; i++) seq = (seq << 8n) | BigInt(b[i])
  document.getElementById('out').textContent = 'status=' + r.status +
    ' len=' + b.length + ' seq=' + seq + ' ct=' + r.headers.get('content-type') +
    ' cc=' + r.headers.get('cache-control')
}).catch(e => { document.getElementById('out').textContent = 'error ' + e })
</script></body></html>
HTML
WP=$(pick_port)
"$PYTHON" -m http.server --bind 127.0.0.1 --directory "$TMPD/www" "$WP" >"$TMPD/www.log" 2>&1 &
keep_pid $!
for _ in $(seq 1 50); do
	"$PYTHON" -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' \
		"$WP" 2>/dev/null && break
	sleep 0.1
done

DOM=$(timeout -k 5 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu \
	--no-first-run --user-data-dir="$TMPD/chromium" --virtual-time-budget=10000 \
	--dump-dom "http://127.0.0.1:$WP/index.html" 2>"$TMPD/chromium.log")
like "$DOM" "status=200 " "the page's fetch() got 200 across origins (CORS)"
like "$DOM" "seq=$SEQ " "the payload holds the published seq"
like "$DOM" "ct=application/pkarr.org/relays#payload" "Content-Type readable by the page"
like "$DOM" "cc=public, max-age=300" "Cache-Control readable by the page"
dq A "$K" A
is "$(status) $(rdata A)" "NOERROR 192.0.2.1" "DNS still answers"
daemon_stop A
done_testing
