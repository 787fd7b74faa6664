# SPDX-License-Identifier: BSD-3-Clause
# Helpers of the pkarr end-to-end tests (tests/e2e/test_pkarr*.sh), on
# top of lib.sh: a pkdns with its in-process DHT testnet, keys and zones
# published with pkdns-cli, the SIGUSR1 stats counters, and a burst of
# concurrent UDP queries.
#
#   pkarr_start ARGS...        pkdns -v -v with --testnet 20 on $TESTNET_PORT,
#                              forwarding ICANN names to nsd ($NSD_PORT)
#   new_key NAME               seed in $KEYS/NAME.seed; prints the key
#   publish NAME ZONEFILE      pkdns-cli publish to the testnet (status in $RC)
#   stat_counter FIELD         one number of a fresh stats line (SIGUSR1)
#   burst N NAME-FMT IP [spread]  N queries at once; prints a summary line
#   slow_node_start DELAY [ARGS]  a one-node DHT on $SLOW_PORT that answers
#                              get with a value after DELAY seconds
#   mixcase KEY                the key with every other letter upper case
#   testnet_host_start         a second pkdns hosting a 20-node testnet on
#                              $TESTNET_PORT (a DHT to join from outside);
#   testnet_host_stop          stopped by this or the EXIT trap
#   free53 [EXCEPT]            a spare loopback address with port 53 free
#   deleg_nsd_conf DIR ADDR ZONE=FILE...  an nsd.conf for ADDR:53
#   deleg_nsd_start DIR ADDR NAME  that nsd ($DNSD_PID), once NAME answers
# Sourced after lib.sh (which has pick_testnet_port for $TESTNET_PORT).

CLI=${PKDNS_CLI:-$top_builddir/src/pkdns-cli}
KEYS=$TMPD/keys
mkdir -p "$KEYS"

require_pkarr() {
	require_pkdns
	[ -x "$CLI" ] || skip_all "pkdns-cli not built at $CLI"
}

# pkarr_start ARGS...: pkdns with a 20-node testnet on loopback (a fresh
# block of ports per start unless TESTNET_PORT is set by the caller).
# Ports are picked free and bound a moment later, while other tests run:
# when one was taken in between, new ones are picked (TESTNET_PORT too)
# and pkdns started again, three times at most.
pkarr_start() {
	local n=20 prev='' a try rc
	for a in "$@"; do # the testnet's size: the last --testnet N
		[ "$prev" = --testnet ] && n=$a
		prev=$a
	done
	[ -n "$TESTNET_PORT" ] || TESTNET_PORT=$(pick_testnet_port "$n")
	[ -n "$TESTNET_PORT" ] || bail_out "no $n free UDP ports for the testnet"
	for try in 1 2 3; do
		rc=0
		PKDNS_START_RETRY=$([ "$try" -lt 3 ] && echo yes) \
			pkdns_start -f 127.0.0.1:"$NSD_PORT" --dnssec no --dht-mode adaptive \
			--testnet 20 --testnet-port "$TESTNET_PORT" --dht-port 0 -v -v "$@" || rc=$?
		[ "$rc" = 3 ] || return "$rc"
		TESTNET_PORT=$(pick_testnet_port "$n")
		[ -n "$TESTNET_PORT" ] || bail_out "no $n free UDP ports for the testnet"
	done
}

# new_key NAME: a fresh seed file; prints the z-base32 key.
new_key() {
	"$CLI" generate -o "$KEYS/$1.seed" 2>&1 >/dev/null | sed -n 's/^public key: //p'
}

# publish NAME ZONEFILE: publish to the running testnet (or to the DHT
# that $CLI_NET names, e.g. "--bootstrap 127.0.0.1:PORT"), within the
# CLI's --timeout ${PUBLISH_TIMEOUT:-10}; the CLI's output in $POUT, its
# status in $RC.
publish() {
	# shellcheck disable=SC2086
	POUT=$("$CLI" ${CLI_NET:---testnet-port $TESTNET_PORT} --timeout "${PUBLISH_TIMEOUT:-10}" publish "$KEYS/$1.seed" "$2" 2>&1)
	RC=$?
}

# stat_counter FIELD: send SIGUSR1, wait (bounded) for the new stats line
# and print the number after FIELD in it (e.g. "dht look-ups", "pkarr").
stat_counter() {
	local before i line
	before=$(grep -c 'dht look-ups' "$PKDNS_LOG")
	kill -USR1 "$PKDNS_PID" 2>/dev/null || return 1
	for i in $(seq 1 50); do
		if [ "$(grep -c 'dht look-ups' "$PKDNS_LOG")" -gt "$before" ]; then
			line=$(grep 'dht look-ups' "$PKDNS_LOG" | tail -n 1)
			printf '%s\n' "$line" | sed -n "s/.*[ ;(]$1 \([0-9][0-9]*\).*/\1/p"
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# burst N NAME-FMT IP [spread]: N different UDP queries (type A; NAME-FMT
# is a printf format with one %d) sent back to back from N sockets before
# any reply is read; then waits up to 15 s for all replies (a bound, not
# an expectation: the deadline answers each by 4 s, and the wait ends once
# all are in). With "spread"
# query i comes from 127.0.0.(10+i), else all from 127.0.0.1. Prints
# "sent=N replies=R noerror=E right=G rcodes=LIST" where right counts the
# NOERROR replies whose answer holds an A record with address IP.
burst() {
	timeout -k 1 30 "$PYTHON" - "$PKDNS_PORT" "$1" "$2" "$3" "${4:-}" <<'EOF'
import random, select, socket, struct, sys, time

port, n, fmt, ip = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
spread = sys.argv[5] == "spread"
want = socket.inet_aton(ip)

def qname(name):
    out = b""
    for label in name.strip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\x00"

def skip_name(buf, off):
    while off < len(buf):
        n = buf[off]
        if n == 0:
            return off + 1
        if n & 0xC0 == 0xC0:
            return off + 2
        off += n + 1
    raise ValueError("name runs past the end")

def check(buf, qid):
    """(rcode, right) of one reply."""
    rid, flags, qd, an = struct.unpack("!HHHH", buf[:8])
    if rid != qid:
        return None
    off = 12
    for _ in range(qd):
        off = skip_name(buf, off) + 4
    right = False
    for _ in range(an):
        off = skip_name(buf, off)
        rtype, _cls, _ttl, rdlen = struct.unpack("!HHIH", buf[off:off + 10])
        off += 10
        if rtype == 1 and buf[off:off + rdlen] == want:
            right = True
        off += rdlen
    return flags & 0xF, right

socks, ids = [], []
for i in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setblocking(False)
    if spread:
        s.bind(("127.0.0.%d" % (10 + i % 240), 0))
    qid = random.randrange(65536)
    msg = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + qname(fmt % i) + struct.pack("!HH", 1, 1)
    socks.append(s)
    ids.append(qid)
    s.sendto(msg, ("127.0.0.1", port))
res = {}
deadline = time.time() + 15
while len(res) < n and time.time() < deadline:
    pending = [s for i, s in enumerate(socks) if i not in res]
    r, _, _ = select.select(pending, [], [], max(0.0, deadline - time.time()))
    for s in r:
        i = socks.index(s)
        try:
            got = check(s.recv(4096), ids[i])
        except (OSError, ValueError, struct.error):
            continue
        if got is not None:
            res[i] = got
print("sent=%d replies=%d noerror=%d right=%d rcodes=%s" % (
    n, len(res), sum(1 for c, _ in res.values() if c == 0),
    sum(1 for c, g in res.values() if c == 0 and g),
    ",".join(sorted(set(str(c) for c, _ in res.values())))))
EOF
}

# mixcase KEY: every other letter in upper case ("aBcD...").
mixcase() {
	printf '%s\n' "$1" | awk '{ s = ""; for (i = 1; i <= length($0); i++) {
		c = substr($0, i, 1); s = s ((i % 2) ? c : toupper(c)) } print s }'
}

upcase() { printf '%s\n' "$1" | tr '[:lower:]' '[:upper:]'; }

# slow_node_start DELAY [ARGS]: tests/e2e/data/pkarr_slow_node.py on a free
# port ($SLOW_PORT), its log in $TMPD/slow.log; killed by the EXIT trap.
SLOW_PID=
slow_node_start() {
	SLOW_PORT=$(pick_port)
	[ -n "$SLOW_PORT" ] || bail_out "no free port for the slow DHT node"
	"$PYTHON" "$E2E_DATA/pkarr_slow_node.py" --port "$SLOW_PORT" --delay "$1" \
		--lifetime 90 "${@:2}" >"$TMPD/slow.log" 2>&1 &
	SLOW_PID=$!
	wait_ready "$TMPD/slow.log" "$SLOW_PID" "the slow DHT node"
}

slow_node_stop() {
	[ -n "$SLOW_PID" ] || return 0
	_kill_bounded "$SLOW_PID" 3
	SLOW_PID=
}

# testnet_host_start: the DHT network of a test whose pkdns joins it from
# outside: another pkdns hosting a 20-node testnet on $TESTNET_PORT, its
# log in $TMPD/host.log, its PID in $HOST_PID.
HOST_PID=
testnet_host_start() {
	"$PKDNS" -d -l 127.0.0.1:"$(pick_port)" --dht-mode client --dht-port 0 --dnssec no \
		--testnet 20 --testnet-port "$TESTNET_PORT" >>"$TMPD/host.log" 2>&1 &
	HOST_PID=$!
	sleep 1
	_alive "$HOST_PID" || bail_out "DHT host did not start: $(tail -n 3 "$TMPD/host.log")"
}

testnet_host_stop() {
	[ -n "$HOST_PID" ] || return 0
	kill -TERM "$HOST_PID" 2>/dev/null
	wait_exit "$HOST_PID" 10 || _kill_bounded "$HOST_PID" 1
	HOST_PID=
}

# --- a delegated name server on port 53 (glue carries no port: needs root) ---
# free53 [EXCEPT]: prints a spare loopback address (127.0.x.y, not EXCEPT)
# whose port 53 is free for UDP and TCP.
free53() {
	local a i
	for i in $(seq 1 40); do
		a=127.0.$((RANDOM % 200 + 20)).$((RANDOM % 200 + 20))
		[ "$a" = "${1:-}" ] && continue
		if "$PYTHON" -c "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('$a',53)); t=socket.socket(); t.bind(('$a',53))" 2>/dev/null; then
			echo "$a"
			return 0
		fi
	done
	return 1
}

# deleg_nsd_conf DIR ADDR ZONE=FILE...: DIR/nsd.conf for an nsd on ADDR:53
# serving each ZONE from FILE (a name in DIR).
deleg_nsd_conf() {
	local d=$1 a=$2 z
	shift 2
	{
		echo "server:"
		echo "  ip-address: $a@53"
		echo "  do-ip6: no"
		nsd_conf_files "$d"
		echo "remote-control:"
		echo "  control-enable: no"
		for z in "$@"; do
			echo "zone:"
			echo "  name: ${z%%=*}"
			echo "  zonefile: ${z#*=}"
		done
	} >"$d/nsd.conf"
}

# deleg_nsd_start DIR ADDR NAME: nsd with DIR/nsd.conf (log DIR/nsd.log),
# its PID in $DNSD_PID (the caller's EXIT trap stops it); waits up to 5 s
# until NAME has an answer from ADDR:53.
deleg_nsd_start() {
	"$NSD" -d -c "$1/nsd.conf" >>"$1/nsd.log" 2>&1 &
	DNSD_PID=$!
	for _ in $(seq 1 50); do
		timeout -k 1 5 dig @"$2" +time=1 +tries=1 +norec "$3" A 2>/dev/null |
			grep -q 'status: NOERROR' && break
		sleep 0.1
	done
}

# lib.sh's EXIT trap knows nothing of the slow node and the testnet host:
# chain our cleanup.
_pkarr_cleanup() {
	local rc=$?
	slow_node_stop
	testnet_host_stop
	(exit $rc)
	_cleanup
}
trap _pkarr_cleanup EXIT
