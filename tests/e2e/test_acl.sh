#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# pkdns e2e: access control (--access-control "PREFIX allow|refuse|deny",
# longest matching prefix wins, unmatched = refuse; default: loopback
# allowed) and the per-client rate limit. Several loopback source
# addresses stand in for different clients (dig -b 127.0.0.N).
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
require_pkdns

nsd_start
UP="-f 127.0.0.1:$NSD_PORT --dnssec no"

# --- default: all of 127.0.0.0/8 is allowed ---
# shellcheck disable=SC2086
pkdns_start $UP
for src in 127.0.0.1 127.0.0.9 127.1.2.3; do
	q -b "$src" www.e2e.example A
	is "$(status)" NOERROR "default ACL: $src allowed"
done
pkdns_stop

# --- only 127.0.0.2/32 allowed: everything else is refused ---
# shellcheck disable=SC2086
PROBE_SRC=127.0.0.2 pkdns_start $UP --access-control "127.0.0.2/32 allow"
q -b 127.0.0.2 www.e2e.example A
is "$(status) $(rdata A | tr '\n' ' ')" "NOERROR 192.0.2.1 192.0.2.2 " "127.0.0.2/32 allow: 127.0.0.2 gets the answer"
q -b 127.0.0.1 www.e2e.example A
is "$(status)" REFUSED "127.0.0.2/32 allow: 127.0.0.1 (unmatched) gets REFUSED"
is "$(count_lines "$(answers)")" 0 "REFUSED carries no answer"
ok "REFUSED has QR=1" has_flag qr
q -b 127.0.0.3 +tcp www.e2e.example A
is "$(status)" REFUSED "unmatched client refused over TCP too"
r=$(probe --src 127.0.0.4 case good)
like "$r" '^rcode=5 .*id=ok qr=1 ' "raw query from 127.0.0.4: REFUSED with the query's ID"
q -b 127.0.0.3 nope.e2e.example A
is "$(status)" REFUSED "refused before resolving (no NXDOMAIN leaks out)"
pkdns_stop

# --- longest prefix wins; deny drops silently ---
# shellcheck disable=SC2086
pkdns_start $UP \
	--access-control "127.0.0.0/8 refuse" \
	--access-control "127.0.0.0/24 allow" \
	--access-control "127.0.0.7/32 deny" \
	--access-control "127.0.0.8/32 refuse" \
	--access-control "127.0.1.0/24 deny" \
	--access-control "127.0.1.5/32 allow"
q -b 127.0.0.1 www.e2e.example A
is "$(status)" NOERROR "/24 allow beats /8 refuse for 127.0.0.1"
q -b 127.0.0.200 www.e2e.example A
is "$(status)" NOERROR "/24 allow beats /8 refuse for 127.0.0.200"
q -b 127.0.0.8 www.e2e.example A
is "$(status)" REFUSED "/32 refuse beats /24 allow for 127.0.0.8"
q -b 127.0.2.1 www.e2e.example A
is "$(status)" REFUSED "only /8 refuse matches 127.0.2.1"
QTIME=2 q -b 127.0.0.7 www.e2e.example A
is "$RC $(status)" "9 noreply" "/32 deny: 127.0.0.7 gets no reply at all (UDP)"
QTIME=2 q -b 127.0.1.9 www.e2e.example A
is "$RC $(status)" "9 noreply" "/24 deny: 127.0.1.9 gets no reply"
r=$(probe --timeout 1 --src 127.0.0.7 case qdcount2)
is "$r" noreply "deny: not even FORMERR for a malformed query"
QTIME=2 q -b 127.0.0.7 +tcp www.e2e.example A
isnt "$(status)" NOERROR "deny: no answer over TCP either"
q -b 127.0.1.5 www.e2e.example A
is "$(status)" NOERROR "/32 allow inside a /24 deny: 127.0.1.5 answered"
q -b 127.0.0.1 www.e2e.example A
is "$(status)" NOERROR "127.0.0.1 still served after the denied clients"
pkdns_stop

# --- IPv6 rules ---
if have_ipv6; then
	PKDNS_PORT=$(pick_port)
	# shellcheck disable=SC2086
	PKDNS_NO_LISTEN=1 PROBE_HOST=::1 pkdns_start $UP -l "[::1]:$PKDNS_PORT" -l "127.0.0.1:$PKDNS_PORT" \
		--access-control "::1/128 allow" --access-control "127.0.0.0/8 refuse"
	QHOST=::1 q www.e2e.example A
	is "$(status)" NOERROR "::1/128 allow: ::1 answered"
	q www.e2e.example A
	is "$(status)" REFUSED "127.0.0.0/8 refuse next to an IPv6 rule"
	pkdns_stop
	PKDNS_PORT=$(pick_port)
	# shellcheck disable=SC2086
	PKDNS_NO_LISTEN=1 PROBE_HOST=::1 pkdns_start $UP -l "[::1]:$PKDNS_PORT" --access-control "127.0.0.0/8 allow"
	QHOST=::1 q www.e2e.example A
	is "$(status)" REFUSED "::1 unmatched by an IPv4-only rule set: REFUSED"
	pkdns_stop
else
	for t in 1 2 3 4 5 6; do skip "IPv6 ACL $t" "no ::1 on this machine"; done
fi

# --- config-file form, and a bad rule ---
conf=$TMPD/acl.conf
cat >"$conf" <<EOF
# access control from a config file
forward: 127.0.0.1:$NSD_PORT
dnssec: no
access-control: 127.0.0.0/8 refuse
access-control: 127.0.0.10/31 allow
EOF
PROBE_SRC=127.0.0.10 pkdns_start -c "$conf"
q -b 127.0.0.11 www.e2e.example A
is "$(status)" NOERROR "config file: /31 allow covers 127.0.0.11"
q -b 127.0.0.12 www.e2e.example A
is "$(status)" REFUSED "config file: 127.0.0.12 outside the /31 refused"
pkdns_stop

out=$("$PKDNS" -d --dht-mode off -l 127.0.0.1:"$(pick_port)" --access-control "127.0.0.0/8 maybe" 2>&1)
is "$?" 2 "--access-control with a bad action: exit 2"
out=$("$PKDNS" -d --dht-mode off -l 127.0.0.1:"$(pick_port)" --access-control "127.0.0.0/33 allow" 2>&1)
is "$?" 2 "--access-control with a bad prefix length: exit 2"
like "$out" 'access-control' "  ... and the message names the key"

# --- rate limit: REFUSED beyond QPS + burst, per client ---
# shellcheck disable=SC2086
pkdns_start $UP --ratelimit 5 --ratelimit-burst 10
q cached.e2e.example A
r=$(probe --src 127.0.0.20 flood cached.e2e.example 60)
like "$r" '^got=60 ' "ratelimit 5/s burst 10: 60 quick queries all get a reply"
n=$(printf '%s\n' "$r" | sed -n 's/.* noerror=\([0-9]*\) .*/\1/p')
cmp_ok "$n" -le 25 "  ... at most ~burst+QPS of them answered NOERROR (got $n)"
cmp_ok "$n" -ge 5 "  ... but at least some (got $n)"
like "$r" 'refused=[1-9]' "  ... the others REFUSED"
q -b 127.0.0.21 cached.e2e.example A
is "$(status)" NOERROR "another client is not limited by the first one's flood"
pkdns_stop

# shellcheck disable=SC2086
pkdns_start $UP --ratelimit 0 --ratelimit-burst 5
q cached.e2e.example A
# ~600 queries/s: far over a burst of 5, gentle enough for a sanitizer build.
r=$(probe --src 127.0.0.22 flood --gap 0.03 cached.e2e.example 300)
is "$r" "got=300 noerror=300 refused=0 other=0" "--ratelimit 0: no limit (300 queries at ~600/s all answered)"
pkdns_stop

nsd_stop
done_testing
