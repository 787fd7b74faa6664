#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# pkdns-cli e2e: keys and seed files (generate, publickey against the JS
# pkarr vectors), argument and input errors (exit 2), and -- against the
# daemon's DHT testnet on loopback -- publish/resolve, the dht get/put
# round trips, ping and nodes, plus the daemon answering DNS for a key the
# CLI published.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"

CLI=${PKDNS_CLI:-$top_builddir/src/pkdns-cli}
VECTORS=$top_srcdir/tests/data/pkarr_signed_packets.jsonl
[ -x "$CLI" ] || skip_all "pkdns-cli not built at $CLI"

# run ARGS...: the CLI with stdout in $OUT, stderr in $ERR, status in $RC;
# every stderr is also kept for the sanitizer check at the end.
_run_n=0
run() {
	_run_n=$((_run_n + 1))
	OUT=$("$CLI" "$@" 2>"$TMPD/cli.$_run_n.err")
	RC=$?
	ERR=$(cat "$TMPD/cli.$_run_n.err")
}

D=$TMPD/keys
mkdir -p "$D"

# --- generate -------------------------------------------------------------
run generate
is "$RC" 0 "generate: exit 0"
like "$OUT" '^[0-9a-f]{64}$' "generate: 64 hex digits on stdout"
is "$(printf '%s\n' "$OUT" | wc -c | tr -d ' ')" 65 "generate: 64 digits and a newline"
like "$ERR" '^public key: [ybndrfg8ejkmcpqxot1uwisza345h769]{52}$' "generate: public key on stderr"
SEED1=$OUT
UNUSED=${ERR#public key: }
run generate
isnt "$OUT" "$SEED1" "generate: two runs give two seeds"

run generate -o "$D/seed"
is "$RC" 0 "generate -o: exit 0"
is "$OUT" "" "generate -o: nothing on stdout"
is "$(stat -c %a "$D/seed")" 600 "generate -o: file mode 0600"
like "$(cat "$D/seed")" '^[0-9a-f]{64}$' "generate -o: file holds 64 hex digits"
is "$(wc -c <"$D/seed" | tr -d ' ')" 65 "generate -o: and one newline"
GENKEY=${ERR#public key: }
before=$(cat "$D/seed")
run generate -o "$D/seed"
is "$RC" 2 "generate -o an existing file: exit 2"
like "$ERR" 'exists' "generate -o an existing file: says why"
is "$(cat "$D/seed")" "$before" "generate -o an existing file: file unchanged"
run --verbose generate --output="$D/seed2"
is "$RC" 0 "generate --output=FILE with a global option before: exit 0"

# --- publickey --------------------------------------------------------------
run publickey "$D/seed"
is "$RC" 0 "publickey: exit 0"
is "$OUT" "$GENKEY" "publickey: matches the key generate printed"
unlike "$ERR" 'warning' "publickey: no warning for a 0600 file"
run publickey "$D/seed" --timeout 3 -v
is "$RC:$OUT" "0:$GENKEY" "publickey: global options after the command"

if [ -r "$VECTORS" ]; then
	n=0
	while read -r seed z32; do
		printf '%s\n' "$seed" >"$D/v$n"
		chmod 600 "$D/v$n"
		run publickey "$D/v$n"
		is "$RC:$OUT" "0:$z32" "publickey: JS pkarr vector $n (seed ...${seed: -4})"
		n=$((n + 1))
	done < <("$PYTHON" -c '
import json, sys
for line in open(sys.argv[1]):
    line = line.strip()
    if line:
        v = json.loads(line)
        print(v["seed_hex"], v["public_key_z32"])
' "$VECTORS" | head -n 5)
	cmp_ok "$n" -ge 1 "publickey: vectors were read"
	# the same seed without the final newline is accepted as well
	printf '%s' "$(cat "$D/v0")" >"$D/nonl"
	chmod 600 "$D/nonl"
	run publickey "$D/nonl"
	is "$RC" 0 "publickey: seed without the newline accepted"
else
	skip "publickey: JS pkarr vectors" "no $VECTORS"
fi

# --- seed files that must be refused ----------------------------------------
bad_seed() { # DESC CONTENT(printf format)
	printf "$2" >"$D/bad"
	chmod 600 "$D/bad"
	run publickey "$D/bad"
	is "$RC" 2 "bad seed file ($1): exit 2"
	like "$ERR" 'not a seed file' "bad seed file ($1): says why"
}
H63=$(printf '%063d' 0)
bad_seed "empty" ''
bad_seed "63 digits" "${H63}\n"
bad_seed "65 digits" "${H63}01\n"
bad_seed "not hex" "${H63}g\n"
bad_seed "two newlines" "${H63}1\n\n"
bad_seed "trailing junk" "${H63}1\nxyz"
bad_seed "leading space" " ${H63}1\n"
run publickey "$D/does-not-exist"
is "$RC" 2 "missing seed file: exit 2"
like "$ERR" 'No such file' "missing seed file: says why"
printf '%s1\n' "$H63" >"$D/open"
chmod 644 "$D/open"
run publickey "$D/open"
is "$RC" 0 "seed file readable by others: still used"
like "$ERR" 'warning: .*group or others' "seed file readable by others: warning on stderr"
is "$OUT" j144z7ipx879mk7h3m6cr4qamujgk8swznn5mbw9ropq5hffzewo "seed 00..01: the known key"

# --- argument errors --------------------------------------------------------
for args in "" "nosuchcommand" "publickey" "publickey a b" "resolve" \
	"resolve not-a-key" "resolve j144z7ipx879mk7h3m6cr4qamujgk8swznn5mbw9ropq5hffzewo @ NOSUCHTYPE" \
	"publish $D/seed" "--timeout abc generate" "--timeout" "--testnet-port 0 generate" \
	"generate --bogus" "dht" "dht nosuch" "dht get-immutable 1234" \
	"dht get-mutable short" "dht put-mutable --value-hex 00" \
	"dht put-mutable -k $D/seed --value-hex 0" "dht put-immutable --value-hex zz" \
	"dht get-mutable j144z7ipx879mk7h3m6cr4qamujgk8swznn5mbw9ropq5hffzewo --salt $(printf '%065d' 0)"; do
	# shellcheck disable=SC2086
	run $args
	is "$RC" 2 "bad arguments exit 2: pkdns-cli $args"
done
run --help
is "$RC" 0 "--help: exit 0"
like "$OUT" 'publish SEEDFILE ZONEFILE' "--help: lists the commands"
run -V
like "$RC $OUT" '^0 pkdns-cli ' "-V: exit 0 and the version"

# --- zone files that must be refused (before any network) --------------------
"$PYTHON" -c '
for i in range(40):
    print("t%d IN TXT \"%s\"" % (i, "x" * 30))' >"$D/big.zone"
run --timeout 2 publish "$D/seed" "$D/big.zone"
is "$RC" 2 "zone over 1000 bytes: exit 2"
like "$ERR" 'at most 1000' "zone over 1000 bytes: message gives the limit"
printf 'www.example.com. IN A 192.0.2.1\n' >"$D/outside.zone"
run --timeout 2 publish "$D/seed" "$D/outside.zone"
is "$RC" 2 "zone with a name outside the key: exit 2"
like "$ERR" 'not under the key' "zone with a name outside the key: says why"
printf '@ IN A not-an-address\n' >"$D/syntax.zone"
run --timeout 2 publish "$D/seed" "$D/syntax.zone"
is "$RC" 2 "zone with a syntax error: exit 2"
like "$ERR" 'line 1' "zone with a syntax error: names the line"
run --timeout 2 publish "$D/seed" "$D/no-such.zone"
is "$RC" 2 "missing zone file: exit 2"
# ldns reads an unknown mnemonic, punctuation included, as type 0: it was
# published as TYPE0
for t in '!' ',' 'TYPE0' 'ANY' 'OPT'; do
	printf '@ IN A 192.0.2.1\nx IN %s \\# 0\n' "$t" >"$D/type.zone"
	run --timeout 2 publish "$D/seed" "$D/type.zone"
	is "$RC" 2 "zone with record type '$t': exit 2"
	like "$ERR" 'line 2: (unknown record type|type [0-9]+ is not data)' "  ... names line 2 and why"
done

# --- nobody to bootstrap from: bounded failure --------------------------------
dead_port
start=$(date +%s%N)
run --bootstrap "127.0.0.1:$DEAD" --timeout 2 resolve "$GENKEY"
end=$(date +%s%N)
is "$RC" 1 "resolve with a dead bootstrap node: exit 1"
# --timeout 2, the process's start and exit included: 8 s leaves a loaded
# (or sanitizer) machine room and still fails a CLI that ignores the
# option (its default is 15 s) or waits without a bound
cmp_ok $(((end - start) / 1000000)) -lt 8000 "resolve with a dead bootstrap node: gives up by its --timeout 2 ($(((end - start) / 1000000)) ms)"

# --- against the daemon's testnet --------------------------------------------
if [ ! -x "$PKDNS" ]; then
	skip "DHT tests" "pkdns not built at $PKDNS"
	done_testing
	exit $?
fi
TN=$(pick_testnet_port)
[ -n "$TN" ] || bail_out "no 20 free UDP ports for the testnet"
PROBE_NAME=none pkdns_start --testnet 20 --testnet-port "$TN" --dht-port 0 --dht-mode server --dnssec no
NET="--testnet --testnet-port $TN --timeout 10"

cat >"$D/a.zone" <<'EOF'
$TTL 300
@        IN A     192.0.2.7
@        IN TXT   "hello from pkdns-cli"
www      IN CNAME @
_pubky   60 IN TXT "v=1"
mail     IN MX    10 mx.example.com.
\@       IN TXT   "a label that is an at sign"
EOF
# shellcheck disable=SC2086
run $NET publish "$D/seed" "$D/a.zone"
is "$RC" 0 "publish: exit 0"
like "$OUT" "^$GENKEY seq [0-9]+: [0-9]+ bytes stored on [1-9][0-9]* nodes?$" "publish: key and node count"
SEQ1=$(printf '%s\n' "$OUT" | sed -n 's/.* seq \([0-9]*\):.*/\1/p')

# shellcheck disable=SC2086
run $NET resolve "$GENKEY"
is "$RC" 0 "resolve: exit 0"
like "$OUT" "^; timestamp $SEQ1 " "resolve: the packet's timestamp first"
like "$OUT" '^@[[:space:]]+300[[:space:]]+IN[[:space:]]+A[[:space:]]+192\.0\.2\.7$' "resolve: the A record"
like "$OUT" '^@[[:space:]]+300[[:space:]]+IN[[:space:]]+TXT[[:space:]]+"hello from pkdns-cli"$' "resolve: the TXT record"
like "$OUT" "^www[[:space:]]+300[[:space:]]+IN[[:space:]]+CNAME[[:space:]]+$GENKEY\\.$" "resolve: the CNAME record"
like "$OUT" '^_pubky[[:space:]]+60[[:space:]]+IN[[:space:]]+TXT[[:space:]]+"v=1"$' "resolve: per-record TTL kept"
like "$OUT" '^mail[[:space:]]+300[[:space:]]+IN[[:space:]]+MX[[:space:]]+10 mx\.example\.com\.$' "resolve: the MX record"
like "$ERR" 'resolve: [0-9]+ nodes queried' "resolve: look-up statistics on stderr"
like "$OUT" '^\\@[[:space:]]+300[[:space:]]+IN[[:space:]]+TXT[[:space:]]+"a label that is an at sign"$' \
	"resolve: a label '@' prints as '\\@' (not '@', the apex)"

# shellcheck disable=SC2086
run $NET resolve "$GENKEY" _pubky TXT
is "$RC:$(printf '%s\n' "$OUT" | grep -vc '^;')" "0:1" "resolve NAME TYPE: exactly the one record"
like "$OUT" '"v=1"' "resolve NAME TYPE: the right record"
# shellcheck disable=SC2086
run $NET resolve "$GENKEY" @ a
is "$RC:$(printf '%s\n' "$OUT" | grep -v '^;' | tr -s '\t ' ' ')" "0:@ 300 IN A 192.0.2.7" "resolve @ a: the apex A, type case-insensitive"
# shellcheck disable=SC2086
run $NET resolve "$GENKEY" nosuchname
is "$RC" 1 "resolve of a name the packet lacks: exit 1"
HEXKEY=$("$PYTHON" -c '
import sys
A = "ybndrfg8ejkmcpqxot1uwisza345h769"
bits = "".join(format(A.index(c), "05b") for c in sys.argv[1])
print("%064x" % int(bits[:256], 2))' "$GENKEY")
# shellcheck disable=SC2086
run $NET resolve "$HEXKEY" www CNAME
is "$RC" 0 "resolve with the key in hex: exit 0"
like "$OUT" '^www[[:space:]]' "resolve with the key in hex: the record"
# shellcheck disable=SC2086
run $NET resolve "$UNUSED"
is "$RC" 1 "resolve of a key never published: exit 1"
like "$ERR" 'no packet found' "resolve of a key never published: says so"

# The daemon answers DNS from what the CLI put on its testnet.
q "$GENKEY" A
is "$(status) $(rdata A)" "NOERROR 192.0.2.7" "pkdns answers the published A record over DNS"
q "_pubky.$GENKEY" TXT
is "$(rdata TXT)" '"v=1"' "pkdns answers the published TXT record over DNS"

# A new publish wins over the old one.
printf '@ 120 IN A 192.0.2.8\n' >"$D/b.zone"
sleep 0.01
# shellcheck disable=SC2086
run $NET publish "$D/seed" "$D/b.zone"
is "$RC" 0 "second publish: exit 0"
# shellcheck disable=SC2086
run $NET resolve "$GENKEY"
like "$OUT" '^@[[:space:]]+120[[:space:]]+IN[[:space:]]+A[[:space:]]+192\.0\.2\.8$' "resolve after a second publish: the newer packet"
unlike "$OUT" '192\.0\.2\.7' "resolve after a second publish: not the older one"

# --- dht put-mutable / get-mutable --------------------------------------------
run generate -o "$D/mseed"
MKEY=${ERR#public key: }
# shellcheck disable=SC2086
run $NET dht put-mutable -k "$D/mseed" --value-hex 68656c6c6f --seq 7
is "$RC" 0 "dht put-mutable: exit 0"
like "$ERR" 'stored on [1-9][0-9]* node' "dht put-mutable: stored"
# shellcheck disable=SC2086
run $NET dht get-mutable "$MKEY"
is "$RC" 0 "dht get-mutable: exit 0"
is "$OUT" "seq 7
68656c6c6f" "dht get-mutable: seq and value as put"
# shellcheck disable=SC2086
run $NET dht put-mutable -k "$D/mseed" --value-hex 6f6c64 --seq 3
is "$RC" 1 "dht put-mutable with an older seq: exit 1 (not stored)"
like "$ERR" '302' "dht put-mutable with an older seq: error 302 reported"
# shellcheck disable=SC2086
run $NET dht put-mutable -k "$D/mseed" --salt s1 --value-hex 73616c74
is "$RC" 0 "dht put-mutable with a salt: exit 0"
# shellcheck disable=SC2086
run $NET dht get-mutable "$MKEY" --salt s1
is "$RC:$(printf '%s\n' "$OUT" | tail -n 1)" "0:73616c74" "dht get-mutable with the salt: the salted value"
# shellcheck disable=SC2086
run $NET dht get-mutable "$MKEY" --salt s2
is "$RC" 1 "dht get-mutable with another salt: exit 1"
# shellcheck disable=SC2086
run $NET dht get-mutable "$UNUSED"
is "$RC" 1 "dht get-mutable of a key never used: exit 1"

# --- dht put-immutable / get-immutable -----------------------------------------
# shellcheck disable=SC2086
run $NET dht put-immutable --value-hex 0102030405
is "$RC" 0 "dht put-immutable: exit 0"
is "$OUT" a2633bcc24e22ee5c4fcaa71ba24d529b2ddb58a "dht put-immutable: target = SHA-1 of the bencoded value"
# shellcheck disable=SC2086
run $NET dht get-immutable a2633bcc24e22ee5c4fcaa71ba24d529b2ddb58a
is "$RC:$OUT" "0:0102030405" "dht get-immutable: the value"
# shellcheck disable=SC2086
run $NET dht get-immutable 00112233445566778899aabbccddeeff00112233
is "$RC" 1 "dht get-immutable of an unknown target: exit 1"

# --- dht ping / nodes --------------------------------------------------------------
run --timeout 5 dht ping "127.0.0.1:$((TN + 3))"
is "$RC" 0 "dht ping a testnet node: exit 0"
like "$OUT" '^pong from 127\.0\.0\.1:[0-9]+ in [0-9]+ ms, id [0-9a-f]{40}$' "dht ping: the node's ID"
run --timeout 2 dht ping "127.0.0.1:$DEAD"
is "$RC" 1 "dht ping of a closed port: exit 1"
# shellcheck disable=SC2086
run $NET dht nodes
is "$RC" 0 "dht nodes: exit 0"
like "$OUT" '^id [0-9a-f]{40}$' "dht nodes: our ID"
like "$OUT" '^[0-9a-f]{40} 127\.0\.0\.1:[0-9]+$' "dht nodes: testnet nodes listed"

pkdns_stop

# --- no sanitizer report from any CLI run ------------------------------------------
hits=$(cat "$TMPD"/cli.*.err | grep -E 'ERROR: (Address|Leak|Memory|Thread)Sanitizer|runtime error:|SUMMARY: UndefinedBehaviorSanitizer' | head -n 5)
is "$hits" "" "no sanitizer report from pkdns-cli"

done_testing
