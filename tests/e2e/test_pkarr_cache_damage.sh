#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# pkdns e2e: a damaged or unusable --cache-dir never stops, crashes or
# silences the resolver (issue 10, items 2 and 3).
#
# Damaged files (LMDB would die of SIGBUS on the first two, at start-up
# or at the first write, and again at every restart): a real cache file
# cut to half its size, garbage over the page headers of pages 2..n, a
# zero-length file, a directory in its place, a text file. Each time
# pkdns must start, answer an ICANN name and a key, move the file (and
# its lock file) aside as pkarr-packets.mdb.corrupt-<time>, and the new
# file must serve the key after a restart.
#
# Unusable directories: a file where the directory should be, a parent
# that is a file, a full file system (at start and after it) and a
# read-only one (tmpfs mounts; skipped when mount is not allowed). pkdns
# runs memory only, answers, and opens the cache on SIGHUP once the
# directory is usable, or by itself every cache-dir-retry seconds. A FIFO
# where the saved routing table should be must not hang start-up.
[ -z "$BASH_VERSION" ] && exec bash "$0" "$@"
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
. "$E2E_DIR/pkarr_lib.sh"
require_pkarr

MNT=$TMPD/mnt
MOUNTED=
_damage_cleanup() {
	local rc=$?
	[ -n "$MOUNTED" ] && umount "$MNT" 2>/dev/null
	(exit $rc)
	_pkarr_cleanup
}
trap _damage_cleanup EXIT

PAGE=4096
nsd_start
KP=$(new_key p)
[ ${#KP} -eq 52 ] || bail_out "pkdns-cli generate gave no key: '$KP'"
printf '%s\n' '$TTL 300' 'www IN A 192.0.2.42' >"$TMPD/p.zone"

# answers_both WHAT: the running pkdns answers an ICANN name and a key
# (published to its testnet, which starts empty with each pkdns).
answers_both() {
	q www.e2e.example A
	is "$(status) $(rdata A | head -n 1)" "NOERROR 192.0.2.1" "$1: ICANN name answered"
	publish p "$TMPD/p.zone"
	q "www.$KP" A
	is "$(status) $(rdata A)" "NOERROR 192.0.2.42" "$1: key answered from the DHT"
}

# from_disk WHAT DIR: a pkdns with no DHT serves the key from DIR's file.
from_disk() {
	pkdns_start -f 127.0.0.1:"$NSD_PORT" --dnssec no --cache-dir "$2" -v -v
	q "www.$KP" A
	is "$(status) $(rdata A)" "NOERROR 192.0.2.42" "$1: restart: the key served from the file"
	pkdns_stop
}

# --- a real cache file with some pages, to damage -------------------------
GOOD=$TMPD/good
pkarr_start --cache-dir "$GOOD"
for i in 1 2 3 4 5 6 7 8; do
	k=$(new_key "g$i")
	printf '%s\n' '$TTL 300' "@ IN A 192.0.2.$i" "@ IN TXT \"filler-$i-0123456789abcdefghijklmnopqrstuvwxyz\"" >"$TMPD/g.zone"
	publish "g$i" "$TMPD/g.zone"
	q "$k" A
done
is "$(status)" NOERROR "a cache with packets in it"
pkdns_stop
size=$(stat -c %s "$GOOD/pkarr-packets.mdb" 2>/dev/null || echo 0)
cmp_ok "$size" -ge $((4 * PAGE)) "the cache file has several pages ($size bytes)"

damage() { # CASE FILE
	case $1 in
	cut-half) truncate -s $((size / 2)) "$2" ;;
	page-garbage)
		"$PYTHON" - "$2" "$PAGE" <<'EOF'
import sys
path, page = sys.argv[1], int(sys.argv[2])
with open(path, "r+b") as f:
    f.seek(0, 2)
    end = f.tell()
    off = 2 * page
    while off + 32 <= end:
        f.seek(off)
        f.write(b"\xa5" * 32)
        off += page
EOF
		;;
	zero-length) : >"$2" ;;
	directory) rm -f "$2" && mkdir "$2" && echo x >"$2/inside" ;;
	text) printf 'this is not an LMDB file\n' >"$2" ;;
	esac
}

for c in cut-half page-garbage zero-length directory text; do
	C=$TMPD/c-$c
	mkdir -p "$C"
	cp "$GOOD/pkarr-packets.mdb" "$GOOD/pkarr-packets.mdb-lock" "$C/"
	damage "$c" "$C/pkarr-packets.mdb"
	[ "$c" = directory ] && mkfifo "$C/dht-nodes"
	n0=$_pkdns_n
	pkarr_start --cache-dir "$C"
	answers_both "$c"
	if [ "$c" = zero-length ]; then
		is "$(ls "$C" | grep -c 'corrupt-')" 0 "$c: an empty file is simply started afresh"
	else
		is "$(ls "$C" | grep -c '^pkarr-packets\.mdb\.corrupt-[0-9]*$')" 1 "$c: the file moved aside"
		is "$(ls "$C" | grep -c '^pkarr-packets\.mdb-lock\.corrupt-[0-9]*$')" 1 "$c: its lock file too"
		# in every log of this start: when a testnet port was taken,
		# pkarr_start started pkdns again (a new log), after the first
		# try had moved the file aside and said so
		dmg=$(for i in $(seq $((n0 + 1)) "$_pkdns_n"); do cat "$TMPD/pkdns.$i.log"; done |
			grep -c 'is damaged')
		is "$dmg" 1 "$c: one line says so"
	fi
	pkdns_stop
	from_disk "$c" "$C"
done

# --- unusable directories ---------------------------------------------------
# hup_reopen WHAT: SIGHUP makes pkdns open the cache it could not open
hup_reopen() {
	kill -HUP "$PKDNS_PID"
	wait_log 'open again'
	like "$(cat "$PKDNS_LOG")" 'packet cache: .* open again' "$1: SIGHUP opens the cache"
}

F=$TMPD/a-file
printf 'x\n' >"$F"
pkarr_start --cache-dir "$F"
answers_both "a file in place of the directory"
is "$(grep -c 'running memory only' "$PKDNS_LOG")" 1 "a file in place of the directory: one error line"
rm -f "$F"
hup_reopen "a file in place of the directory, removed"
pkdns_stop
from_disk "a file in place of the directory, removed" "$F"

pkarr_start --cache-dir "$TMPD/p.zone/sub"
answers_both "a parent that is a file"
like "$(cat "$PKDNS_LOG")" 'running memory only' "a parent that is a file: memory only"
pkdns_stop

# The timer, not SIGHUP: with cache-dir-retry 1 the directory is tried
# again every second and opened once the file in its place is gone.
F=$TMPD/in-the-way
printf 'x\n' >"$F"
pkarr_start --cache-dir "$F" --cache-dir-retry 1
answers_both "retried by the timer"
sleep 1.5
is "$(grep -c 'open again' "$PKDNS_LOG")" 0 "retried by the timer: still memory only while the file is there"
rm -f "$F"
wait_log 'open again'
like "$(cat "$PKDNS_LOG")" 'packet cache: .* open again' "retried by the timer: opened, no SIGHUP"
pkdns_stop
from_disk "retried by the timer" "$F"

mkdir -p "$MNT"
if mount -t tmpfs -o size=64k tmpfs "$MNT" 2>/dev/null; then
	MOUNTED=1
	dd if=/dev/zero of="$MNT/fill" bs=4k count=64 2>/dev/null
	pkarr_start --cache-dir "$MNT/cache"
	answers_both "a full file system"
	like "$(cat "$PKDNS_LOG")" 'running memory only' "a full file system: memory only"
	rm -f "$MNT/fill"
	hup_reopen "a full file system, freed"
	pkdns_stop
	from_disk "a full file system, freed" "$MNT/cache"

	# full after start: the write fails, the cache goes memory only
	rm -rf "$MNT/cache"
	pkarr_start --cache-dir "$MNT/cache"
	dd if=/dev/zero of="$MNT/fill" bs=4k 2>/dev/null
	answers_both "a file system full after start"
	like "$(cat "$PKDNS_LOG")" 'memory only until it can be reopened' \
		"a file system full after start: the cache goes memory only"
	q "www.$KP" A
	is "$(status) $(rdata A)" "NOERROR 192.0.2.42" "a file system full after start: answered again"
	rm -f "$MNT/fill"
	hup_reopen "a file system full after start, freed"
	pkdns_stop
	from_disk "a file system full after start, freed" "$MNT/cache"

	rm -rf "$MNT/cache" && mkdir "$MNT/cache"
	if mount -o remount,ro "$MNT" 2>/dev/null; then
		pkarr_start --cache-dir "$MNT/cache"
		answers_both "a read-only file system"
		like "$(cat "$PKDNS_LOG")" 'running memory only' "a read-only file system: memory only"
		pkdns_stop
	else
		skip "a read-only file system" "cannot remount tmpfs read-only"
	fi
	umount "$MNT" && MOUNTED=
else
	skip "a full and a read-only file system" "cannot mount a tmpfs (not root, or no CAP_SYS_ADMIN)"
fi

done_testing
