#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# pkdns e2e: a packet published again (new records, higher seq) replaces
# the cached one once its TTL has passed. Zone TTL 2 s, --min-ttl 1: the
# old data until then, possibly the old data once more while pkdns
# refreshes in the background, then the new data within a few seconds,
# and never the old again.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
. "$E2E_DIR/pkarr_lib.sh"
require_pkarr

nsd_start
pkarr_start --min-ttl 1 --max-ttl 3600

KU=$(new_key u)
[ ${#KU} -eq 52 ] || bail_out "pkdns-cli generate gave no key: '$KU'"
printf '@ 2 IN A 192.0.2.1\n@ 2 IN TXT "v1"\nold 2 IN A 192.0.2.31\n' >"$TMPD/v1.zone"
printf '@ 2 IN A 192.0.2.2\n@ 2 IN TXT "v2"\nnew 2 IN A 192.0.2.32\n' >"$TMPD/v2.zone"

seq_of() { printf '%s\n' "$POUT" | sed -n 's/.* seq \([0-9][0-9]*\):.*/\1/p'; }

publish u "$TMPD/v1.zone"
is "$RC" 0 "publish v1: exit 0"
SEQ1=$(seq_of)
t_v1=$(date +%s%N) # before the query that caches v1 for its 2 s TTL
q "$KU" A
is "$(status) $(rdata A)" "NOERROR 192.0.2.1" "v1 published: the v1 address"
cmp_ok "$(ttl_of A)" -le 2 "v1: TTL 2 kept (--min-ttl 1)"
cmp_ok "$(ttl_of A)" -ge 1 "v1: TTL at least --min-ttl 1"
q "old.$KU" A
is "$(rdata A)" "192.0.2.31" "v1: a name only v1 has"

sleep 0.05
publish u "$TMPD/v2.zone"
is "$RC" 0 "publish v2: exit 0"
SEQ2=$(seq_of)
cmp_ok "$SEQ2" -gt "$SEQ1" "v2 has a higher seq than v1"
t_pub=$(date +%s%N)

# Within the TTL of what pkdns holds, v1 is still the answer (only
# asserted when this machine was quick enough to still be inside it:
# v1 was cached after t_v1, and this answer came less than 1.9 s later).
q "$KU" A
if [ $((($(date +%s%N) - t_v1) / 1000000)) -lt 1900 ]; then
	is "$(rdata A)" "192.0.2.1" "v2 published, v1's TTL not over: still v1"
else
	skip "v2 published, v1's TTL not over: still v1" "too slow: the TTL is over"
fi

# Past the TTL: an answer may still be v1 (served while refreshing), then
# v2 within a few seconds, and never v1 after the first v2.
sleep 2.2
seen_new=0
old_after_new=0
answers_seen=""
i=0
while [ $i -lt 40 ]; do
	t_ask=$(date +%s%N)
	q "$KU" A
	a=$(rdata A)
	answers_seen="$answers_seen ${a##*.}"
	case "$a" in
	# when the query that first got v2 was sent: dig's own start and
	# exit, slow on a loaded machine, are not in it
	192.0.2.2) [ $seen_new -eq 0 ] && t_new=$t_ask; seen_new=1 ;;
	192.0.2.1) [ $seen_new -eq 1 ] && old_after_new=1 ;;
	*) diag "unexpected answer: $(status) '$a'" ;;
	esac
	# once v2 is seen, keep asking across two more TTLs
	if [ $seen_new -eq 1 ] && [ $((($(date +%s%N) - t_new) / 1000000)) -ge 4500 ]; then break; fi
	sleep 0.25
	i=$((i + 1))
done
is "$seen_new" 1 "after the TTL: the v2 address appears"
[ $seen_new -eq 1 ] && cmp_ok $(((t_new - t_pub) / 1000000)) -lt 7000 "  ... within 7 s of the publish (asked $(((t_new - t_pub) / 1000000)) ms after it)"
is "$old_after_new" 0 "never the v1 address again once v2 was seen (last octets:$answers_seen)"

q "$KU" TXT
is "$(status) $(rdata TXT)" 'NOERROR "v2"' "v2: the TXT record replaced as well"
q "new.$KU" A
is "$(status) $(rdata A)" "NOERROR 192.0.2.32" "v2: a name only v2 has"
q "old.$KU" A
is "$(status)" NXDOMAIN "v2: a name only v1 had is gone (NXDOMAIN)"
q +tcp "$KU" A
is "$(rdata A)" "192.0.2.2" "v2 over TCP"

pkdns_stop
done_testing
