#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# pkdns e2e: a real browser on pkdns's DNS over HTTPS. Headless Chromium
# (Debian's chromium) is put in secure DNS mode by a managed policy
# (DnsOverHttpsMode: secure, DnsOverHttpsTemplates: pkdns on 127.0.0.1)
# with a test CA in its NSS database (a temporary $HOME), and loads
# http://<key>.:PORT/ and http://<key>.key:PORT/ from a local web
# server whose address only the key's packet holds; --dump-dom shows
# the page. Without the policy the same URL does not load, so the
# address came through pkdns.
#
# What works and what does not (Chromium 156, Debian 12):
# - Only the managed policy file works: Chromium reads
#   /etc/chromium/policies/managed/*.json; this test writes one file of
#   its own there and removes it on exit (it needs root). A policy in
#   the --user-data-dir is ignored, and --enable-features=DnsOverHttps
#   with DoHTemplates/Fallback parameters left Chromium on the system
#   resolver.
# - An IP-literal template (https://127.0.0.1:PORT/dns-query) is
#   accepted, with the certificate's subjectAltName IP:127.0.0.1 and the
#   CA trusted in $HOME/.pki/nssdb (certutil -t C,,).
# - Answers pointing to 127.0.0.1 are used (no rebinding filter).
# - A bare single-label http://<key>:PORT/ fails with
#   ERR_NAME_NOT_RESOLVED: Chromium never sends a single-label name as
#   it is, only with the system's search suffixes (net error -805,
#   DNS_SEARCH_EMPTY, with no "search" line in resolv.conf). With a
#   trailing dot, or as <key>.key (pkdns's default tld), it loads.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
. "$E2E_DIR/pkarr_lib.sh"
require_pkarr
CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser)}
[ -n "$CHROMIUM" ] || skip_all "chromium not installed"
command -v certutil >/dev/null || skip_all "certutil (libnss3-tools) not installed"
[ "$(id -u)" -eq 0 ] || skip_all "needs root to write a managed policy in /etc/chromium"
POLDIR=/etc/chromium/policies/managed

PKI=$TMPD/pki
mkdir -p "$PKI"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-keyout "$PKI/ca.key" -out "$PKI/ca.pem" -subj "/CN=pkdns browser test CA" 2>/dev/null &&
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$PKI/s.key" \
	-out "$PKI/s.csr" -subj "/CN=localhost" 2>/dev/null &&
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$PKI/ext" &&
openssl x509 -req -in "$PKI/s.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca.key" -CAcreateserial \
	-days 2 -extfile "$PKI/ext" -out "$PKI/s.pem" 2>/dev/null || bail_out "openssl cannot make the certificates"

DOH_PORT=$(pick_port)
WEB_PORT=$(pick_port)
nsd_start
pkarr_start --https-listen 127.0.0.1:"$DOH_PORT" --tls-cert "$PKI/s.pem" --tls-key "$PKI/s.key"
KW=$(new_key web)
mkdir -p "$TMPD/z" "$TMPD/www"
printf '$TTL 300\n@ IN A 127.0.0.1\nwww IN A 127.0.0.1\n' >"$TMPD/z/w.zone"
publish web "$TMPD/z/w.zone"
is "$RC" 0 "publish the web key"
TOKEN=browser-$RANDOM-$RANDOM
echo "<html><body><p id=t>$TOKEN</p></body></html>" >"$TMPD/www/index.html"
(cd "$TMPD/www" && exec "$PYTHON" -m http.server --bind 127.0.0.1 "$WEB_PORT") >"$TMPD/web.log" 2>&1 &
WEB_PID=$!

# the policy file is ours alone: a unique name, removed on any exit
mkdir -p "$POLDIR" || skip_all "cannot create $POLDIR"
POL=$POLDIR/pkdns-e2e-$$-$RANDOM.json
trap 'rm -f "$POL"; _kill_bounded "$WEB_PID" 3; _cleanup' EXIT

export HOME=$TMPD/home
mkdir -p "$HOME/.pki/nssdb"
certutil -d sql:"$HOME/.pki/nssdb" -N --empty-password &&
certutil -d sql:"$HOME/.pki/nssdb" -A -n pkdns-test-ca -t "C,," -i "$PKI/ca.pem" ||
	bail_out "certutil cannot make the NSS database"

browse() { # URL: the page's DOM (empty when it did not load)
	rm -rf "$TMPD/ud"
	timeout -k 5 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu --no-first-run \
		--user-data-dir="$TMPD/ud" --dump-dom "$1" 2>>"$TMPD/chromium.log"
}

printf '{"DnsOverHttpsMode": "secure", "DnsOverHttpsTemplates": "https://127.0.0.1:%s/dns-query"}\n' \
	"$DOH_PORT" >"$POL"
like "$(browse "http://$KW.:$WEB_PORT/")" "$TOKEN" "Chromium, secure DoH via pkdns: http://<key>.:PORT/ shows the page"
like "$(browse "http://$KW.key:$WEB_PORT/")" "$TOKEN" "Chromium: http://<key>.key:PORT/"
like "$(browse "http://www.$KW:$WEB_PORT/")" "$TOKEN" "Chromium: http://www.<key>:PORT/"
# Chromium's rule, not pkdns's: reported, not asserted
if browse "http://$KW:$WEB_PORT/" | grep -q "$TOKEN"; then
	diag "this Chromium resolves a bare single-label http://<key>:PORT/ too"
else
	diag "as documented above, a bare single-label http://<key>:PORT/ is not resolved"
fi
rm -f "$POL"
unlike "$(browse "http://www.$KW:$WEB_PORT/")" "$TOKEN" "without the policy the page does not load (the address came from pkdns)"

pkdns_stop
done_testing
