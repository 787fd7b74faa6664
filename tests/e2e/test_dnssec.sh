#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# pkdns e2e: DNSSEC validation on the ICANN path. The test zone is signed
# here with a fresh key (ldns-keygen/ldns-signzone), two RRSIGs are spoiled
# on purpose, nsd serves it, and pkdns gets the key's DS (or DNSKEY) as its
# trust anchor. Secure answers carry AD=1 (RFC 4035 3.2.3), bogus ones are
# SERVFAIL (with EDE 6, RFC 8914) unless the client set CD (RFC 4035 3.2.2), and a CD answer must
# never leak to a client that did not set CD (the cache keeps them apart).
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
require_pkdns
require_tools ldns-keygen ldns-signzone ldns-key2ds

# --- sign the zone ---
mkdir -p "$TMPD/keys2"
sign_e2e_zone
like "$(cat "$TMPD/ta.ds")" '^e2e\.example\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+DS[[:space:]]+[0-9]+ 13 2 ' "trust anchor: DS (SHA-256) of the zone's key"
cp "$TMPD/keys/$key.key" "$TMPD/ta.dnskey"
# A DS for some other key: nothing in the zone matches it.
key2=$(cd "$TMPD/keys2" && ldns-keygen -a ECDSAP256SHA256 -k e2e.example 2>/dev/null)
ldns-key2ds -n -2 "$TMPD/keys2/$key2.key" >"$TMPD/wrong.ds" 2>/dev/null

nsd_start e2e.example="$TMPD/zones/e2e.example.zone.signed" other.example="$E2E_DATA/other.example.zone"
UP="-f 127.0.0.1:$NSD_PORT"

# shellcheck disable=SC2086
pkdns_start $UP --dnssec yes --trust-anchor-file "$TMPD/ta.ds"

q +dnssec signed.e2e.example TXT
is "$(status) $(rdata TXT)" 'NOERROR "signed data"' "signed TXT: answered"
ok "signed TXT, DO=1: AD=1" has_flag ad
is "$(flag_state ra) $(flag_state aa)" "ra=1 aa=0" "signed TXT: RA=1 AA=0"
is "$(count_lines "$(answers RRSIG)")" 1 "signed TXT, DO=1: its RRSIG in the answer"
like "$OUT" 'flags: do;' "signed TXT, DO=1: DO echoed in our OPT (RFC 3225)"

q +nodnssec +adflag www.e2e.example A
is "$(rdata A | tr '\n' ' ')" "192.0.2.1 192.0.2.2 " "signed A without DO: answered"
ok "signed A, AD set in the query, no DO: AD=1 (RFC 6840 5.7)" has_flag ad
is "$(count_lines "$(answers RRSIG)")" 0 "signed A without DO: no RRSIG in the answer"

q +nodnssec +noadflag www.e2e.example A
ok "signed A, neither AD nor DO in the query: AD=0 (RFC 6840 5.8)" eval '! has_flag ad'

q +dnssec +tcp alias.e2e.example A
is "$(rdata A | tr '\n' ' ')" "192.0.2.1 192.0.2.2 " "signed CNAME chain over TCP: answered"
ok "signed CNAME chain: AD=1" has_flag ad
is "$(count_lines "$(answers RRSIG)")" 3 "signed CNAME chain: RRSIGs of both CNAMEs and the A set"

q +dnssec nope.e2e.example A
is "$(status)" NXDOMAIN "signed NXDOMAIN"
ok "signed NXDOMAIN: AD=1 (NSEC proof validated)" has_flag ad
cmp_ok "$(count_lines "$(section AUTHORITY NSEC)")" -ge 1 "signed NXDOMAIN, DO=1: NSEC in authority"

q +dnssec onlya.e2e.example AAAA
is "$(status) $(count_lines "$(answers)")" "NOERROR 0" "signed NODATA"
ok "signed NODATA: AD=1" has_flag ad

q +dnssec xzone.e2e.example A
is "$(status) $(rdata A)" "NOERROR 192.0.2.200" "CNAME from the signed zone into an unsigned one (no anchor): answered"
ok "  ... insecure part of the chain: AD=0" eval '! has_flag ad'

# bogus2: plain first, then CD, then plain again.
q +dnssec bogus2.e2e.example TXT
is "$(status)" SERVFAIL "spoiled signature: SERVFAIL"
is "$(count_lines "$(answers)")" 0 "spoiled signature: no data leaks out"
q +dnssec +cd bogus2.e2e.example TXT
is "$(status) $(rdata TXT)" 'NOERROR "tampered two"' "spoiled signature, CD=1: the data (RFC 4035 3.2.2)"
ok "spoiled signature, CD=1: AD=0" eval '! has_flag ad'
q +dnssec bogus2.e2e.example TXT
is "$(status)" SERVFAIL "spoiled signature, asked again without CD: still SERVFAIL"
q +nodnssec bogus2.e2e.example TXT
is "$(status)" SERVFAIL "spoiled signature without DO: SERVFAIL too"
like "$(printf '%s\n' "$OUT" | grep '^; EDE: ')" '^; EDE: 6 \(DNSSEC Bogus\)' \
	"  ... with EDE 6 DNSSEC Bogus (RFC 8914), as dig reads it"
OUT=$(timeout -k 1 30 kdig @127.0.0.1 -p "$PKDNS_PORT" +time=4 +retry=0 +edns bogus2.e2e.example TXT 2>&1)
like "$(printf '%s\n' "$OUT" | grep '^;; EDE: ')" '^;; EDE: 6 \(DNSSEC Bogus\)' \
	"  ... and as kdig reads it"

# bogus1: CD first, so a CD answer in the cache would be found next.
q +cd bogus1.e2e.example TXT
is "$(status) $(rdata TXT)" 'NOERROR "tampered one"' "CD=1 first: the data"
q bogus1.e2e.example TXT
is "$(status)" SERVFAIL "then without CD: SERVFAIL (the CD answer is not served from the cache)"
q +tcp bogus1.e2e.example TXT
is "$(status)" SERVFAIL "  ... over TCP too"

q +cd +dnssec signed.e2e.example TXT
is "$(status) $(rdata TXT)" 'NOERROR "signed data"' "CD=1 on a secure name: answered"
q +dnssec signed.e2e.example TXT
ok "secure name still AD=1 after the CD query" has_flag ad
pkdns_stop

# --- --dnssec no: no validation, never AD ---
# shellcheck disable=SC2086
pkdns_start $UP --dnssec no --trust-anchor-file "$TMPD/ta.ds"
q +dnssec bogus1.e2e.example TXT
is "$(status) $(rdata TXT)" 'NOERROR "tampered one"' "--dnssec no: spoiled signature not checked"
ok "--dnssec no: AD=0" eval '! has_flag ad'
q +dnssec signed.e2e.example TXT
ok "--dnssec no: AD=0 on signed data too" eval '! has_flag ad'
pkdns_stop

# --- trust anchor as a DNSKEY ---
# shellcheck disable=SC2086
pkdns_start $UP --trust-anchor-file "$TMPD/ta.dnskey"
q +dnssec signed.e2e.example TXT
is "$(status) $(rdata TXT)" 'NOERROR "signed data"' "DNSKEY trust anchor (and --dnssec left at its default): answered"
ok "DNSKEY trust anchor: AD=1" has_flag ad
q +dnssec bogus1.e2e.example TXT
is "$(status)" SERVFAIL "DNSKEY trust anchor: spoiled signature SERVFAIL"
pkdns_stop

# --- a trust anchor that matches no key: everything under it is bogus ---
# shellcheck disable=SC2086
pkdns_start $UP --dnssec yes --trust-anchor-file "$TMPD/wrong.ds"
q +dnssec signed.e2e.example TXT
is "$(status)" SERVFAIL "wrong trust anchor: SERVFAIL"
q +dnssec +cd signed.e2e.example TXT
is "$(status) $(rdata TXT)" 'NOERROR "signed data"' "wrong trust anchor, CD=1: the data"
pkdns_stop

# --- a trust anchor file that does not exist: a start-up error ---
# shellcheck disable=SC2086
"$PKDNS" -d --dht-mode off -l 127.0.0.1:"$(pick_port)" $UP --trust-anchor-file "$TMPD/none.ds" \
	>"$TMPD/pkdns.noanchor.log" 2>&1 </dev/null &
pid=$!
wait_exit "$pid" 5 || _kill_bounded "$pid" 1
isnt "$EXIT_STATUS" timeout "missing trust anchor file: pkdns stops at start-up"
cmp_ok "$EXIT_STATUS" -ge 1 "  ... with a non-zero exit status ($EXIT_STATUS)"
like "$(cat "$TMPD/pkdns.noanchor.log")" 'none\.ds' "  ... and names the file"

nsd_stop
done_testing
