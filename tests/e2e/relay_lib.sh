# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
# Helpers of the pkarr relay tests (tests/e2e/test_relay*.sh), on top of
# lib.sh and pkarr_lib.sh:
#   http ARGS...          curl, bounded; status code in $HS, headers in
#                         $HH, body in $TMPD/body
#   relay_test_ca         a test CA and a server certificate for 127.0.0.1
#                         (openssl CLI) in $TMPD/tls: ca.pem, srv.pem,
#                         srv.key, and wrong.pem/wrong.key (for another name)
#   fake_relay_start CERT KEY DIR   an HTTPS relay (python3) serving the
#                         files of DIR as /<key>; port in $FAKE_PORT, the
#                         If-Modified-Since headers it saw in DIR.ims
#   keep_pid PID          killed (bounded) by the EXIT trap
#   require_relay_curl    require_pkarr, and skip all without curl
_EXTRA_PIDS=

require_relay_curl() {
	require_pkarr
	command -v curl >/dev/null || skip_all "curl not installed"
}

keep_pid() { _EXTRA_PIDS="$_EXTRA_PIDS $1"; }

# chained before pkarr_lib.sh's trap (the slow node) and lib.sh's
_relay_cleanup() {
	local rc=$? p
	for p in $_EXTRA_PIDS; do _kill_bounded "$p" 5; done
	(exit $rc)
	if declare -F _pkarr_cleanup >/dev/null; then _pkarr_cleanup; else _cleanup; fi
}
trap _relay_cleanup EXIT

http() {
	rm -f "$TMPD/body"
	HH=$(timeout -k 1 20 curl -s -m 15 -D - -o "$TMPD/body" "$@" 2>/dev/null | tr -d '\r')
	HS=$(printf '%s\n' "$HH" | sed -n 's/^HTTP\/[0-9.]* \([0-9]*\).*/\1/p' | tail -n 1)
	[ -n "$HS" ] || HS=none
}

# header NAME: its value in $HH (last one)
header() { printf '%s\n' "$HH" | sed -n "s/^$1: //Ip" | tail -n 1; }

relay_test_ca() {
	local d=$TMPD/tls
	mkdir -p "$d"
	(
		cd "$d" || exit 1
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout ca.key -out ca.pem -days 2 -subj /CN=pkdns-test-ca &&
		for n in srv wrong; do
			openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
				-keyout $n.key -out $n.csr -subj /CN=$n || exit 1
			if [ $n = srv ]; then
				echo "subjectAltName=IP:127.0.0.1,DNS:localhost" >$n.ext
			else
				echo "subjectAltName=DNS:wrong.example" >$n.ext
			fi
			openssl x509 -req -in $n.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
				-out $n.pem -days 2 -extfile $n.ext || exit 1
		done
	) >"$TMPD/tls.log" 2>&1 || bail_out "openssl: $(tail -n 3 "$TMPD/tls.log")"
}

fake_relay_start() { # CERT KEY DIR

	FAKE_PORT=$(pick_port)
	"$PYTHON" - "$FAKE_PORT" "$1" "$2" "$3" >"$3.log" 2>&1 <<'PY' &
import http.server, os, ssl, sys
port, cert, key, d = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        name = os.path.basename(self.path)
        ims = self.headers.get("If-Modified-Since")
        if ims:
            with open(d + ".ims", "a") as f:
                f.write(name + " " + ims + "\n")
        p = os.path.join(d, name)
        if not os.path.isfile(p):
            self.send_response(404)
            self.end_headers()
            return
        body = open(p, "rb").read()
        self.send_response(200)
        self.send_header("Content-Type", "application/pkarr.org/relays#payload")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv = http.server.HTTPServer(("127.0.0.1", port), H)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
PY
	keep_pid $!
	for _ in $(seq 1 50); do
		"$PYTHON" -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' \
			"$FAKE_PORT" 2>/dev/null && return 0
		sleep 0.1
	done
	bail_out "fake relay did not start: $(tail -n 3 "$3.log")"
}

# daemon_start NAME ARGS...: pkdns_start (pkarr_start when NAME is A)
# keeping NAME_PID, NAME_PORT and NAME_LOG; daemon_stop NAME asserts a
# clean exit. dq NAME DIG-ARGS...: q against that daemon.
daemon_start() {
	local name=$1
	shift
	if [ "$name" = A ]; then pkarr_start "$@"; else pkdns_start "$@"; fi
	keep_pid "$PKDNS_PID"
	eval "${name}_PID=\$PKDNS_PID ${name}_PORT=\$PKDNS_PORT ${name}_LOG=\$PKDNS_LOG"
}

daemon_stop() {
	eval "PKDNS_PID=\$${1}_PID PKDNS_LOG=\$${1}_LOG"
	pkdns_stop
}

dq() {
	local name=$1
	shift
	eval "PKDNS_PORT=\$${name}_PORT"
	q "$@"
}

# wait_answer NAME QNAME IP: up to 40 tries (20 s and more: a bound, not an
# expectation) for daemon NAME to answer QNAME A with IP; true when it did
wait_answer() {

	for _ in $(seq 1 40); do
		dq "$1" "$2" A
		[ "$(rdata A)" = "$3" ] && return 0
		sleep 0.5
	done
	return 1
}
