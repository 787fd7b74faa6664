#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# pkdns e2e: a pkarr client's answer leaves through the same exit as an
# ICANN client's (src/daemon/request.c), so the same rules hold for it:
# - a key's CNAME into a signed ICANN zone, asked without DO, carries no
#   RRSIG (RFC 4035 3.2.1); with DO it does; never AD (the chain starts in
#   a packet no validator checked);
# - a key's CNAME into a bogus name is SERVFAIL with no data (RFC 4035
#   3.2.2), and the data with CD;
# - a client whose DHT look-up stalls (the only DHT node holds its reply
#   back for 10 s) gets SERVFAIL by the 4 s deadline at the latest, as an
#   ICANN client does (today the look-up itself gives up first, at ~2 s).
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
. "$E2E_DIR/pkarr_lib.sh"
require_pkarr
require_tools ldns-keygen ldns-signzone ldns-key2ds

# --- the signed upstream, as in test_dnssec.sh ---
sign_e2e_zone
nsd_start e2e.example="$TMPD/zones/e2e.example.zone.signed" other.example="$E2E_DATA/other.example.zone"

# pkarr_start's "--dnssec no" is overridden by the later option
pkarr_start --dnssec yes --trust-anchor-file "$TMPD/ta.ds"
q +dnssec signed.e2e.example TXT
ok "the ICANN path validates: signed TXT has AD=1" has_flag ad

K=$(new_key k)
[ ${#K} -eq 52 ] || bail_out "no key"
{
	echo '$TTL 300'
	echo '@ IN A 192.0.2.80'
	echo 'ext IN CNAME www.e2e.example.'
	echo 'sig IN CNAME signed.e2e.example.'
	echo 'bog IN CNAME bogus1.e2e.example.'
} >"$TMPD/k.zone"
publish k "$TMPD/k.zone"
is "$RC" 0 "publish a packet with CNAMEs into the signed zone"

q +nodnssec "ext.$K" A
is "$(status) $(rdata A | tr '\n' ' ')" "NOERROR 192.0.2.1 192.0.2.2 " "key CNAME into a signed name, no DO: answered"
is "$(count_lines "$(answers CNAME)")" 1 "  ... with the packet's CNAME"
is "$(count_lines "$(answers RRSIG)")" 0 "  ... and no RRSIG (RFC 4035 3.2.1)"
ok "  ... and AD=0" eval '! has_flag ad'
q +nodnssec +tcp "ext.$K" A
is "$(count_lines "$(answers RRSIG)")" 0 "  ... from the answer cache over TCP: still no RRSIG"

q +dnssec "sig.$K" TXT
is "$(status) $(rdata TXT)" 'NOERROR "signed data"' "key CNAME into a signed TXT, DO=1: answered"
is "$(count_lines "$(answers RRSIG)")" 1 "  ... with the target's RRSIG (the client set DO)"
ok "  ... and AD=0: the chain starts in a packet" eval '! has_flag ad'
q +nodnssec "sig.$K" TXT
is "$(count_lines "$(answers RRSIG)")" 0 "the same name without DO: no RRSIG"

q +nodnssec "bog.$K" TXT
is "$(status)" SERVFAIL "key CNAME into a bogus name: SERVFAIL"
is "$(count_lines "$(answers)")" 0 "  ... with no data"
q +dnssec "bog.$K" TXT
is "$(status) $(count_lines "$(answers)")" "SERVFAIL 0" "  ... with DO too"
q +cd "bog.$K" TXT
is "$(status) $(rdata TXT)" 'NOERROR "tampered one"' "  ... the data with CD (RFC 4035 3.2.2)"
q "bog.$K" TXT
is "$(status)" SERVFAIL "  ... and without CD again: SERVFAIL (not from the cache)"
pkdns_stop

# --- a DHT look-up that stalls ---
slow_node_start 10
CLI_NET="--bootstrap 127.0.0.1:$SLOW_PORT"
S=$(new_key s)
publish s "$TMPD/k.zone"
is "$RC" 0 "publish to a one-node DHT that holds back each value for 10 s"
pkdns_start -f 127.0.0.1:"$NSD_PORT" --dnssec no --dht-mode client \
	--bootstrap 127.0.0.1:"$SLOW_PORT" --dht-port 0 -v -v --log-queries yes

# the deadline is 4 s after the query came, by pkdns's clock (its query
# log); 2 s more for a loaded machine running the timer late, far short
# of the node's 10 s
elapsed_q "$S" A
is "$(status)" SERVFAIL "DHT look-up stalls: SERVFAIL"
ms=$(qlog_ms "$S" A SERVFAIL)
cmp_ok "${ms:-99999}" -lt 6000 "  ... by the deadline ($ms ms by pkdns's clock, $MS ms for dig)"
elapsed_q +tcp "$S" A
is "$(status)" SERVFAIL "  ... over TCP too"
ms=$(qlog_ms "$S" A SERVFAIL)
cmp_ok "${ms:-99999}" -lt 6000 "  ... by the deadline ($ms ms by pkdns's clock, $MS ms for dig)"
pkdns_stop
nsd_stop
done_testing
