#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Where the time of a cold look-up goes, from a packet capture.

  timeline.py --pcap FILE --dns-port P --dht-port Q --keys FILE

Reads a tcpdump capture (loopback, UDP, pcap format) taken while
lib/cold.py ran and, for every look-up of a key in FILE ("z32 hex"
lines), lines up on the wire:
  pkdns       DNS query in, its DHT queries (sent from 127.0.0.1:Q),
              the first reply carrying a value, the DNS answer out;
  libtorrent  the read-only client's get queries (ro=1) for the key's
              target and the first reply carrying a value.
Prints medians: start to first DHT query, start to first value, queries
sent before it, that reply's round trip, and (pkdns) value to DNS answer,
which is pkdns's own work after the value arrived (verification, answer
building, send). libtorrent's "start" is its first query: the hand-over
from the Python call to its network thread is not on the wire.
"""
import argparse
import collections
import hashlib
import os
import statistics
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "tests", "interop"))
from ltdht import bdecode  # noqa: E402


def packets(path):
    with open(path, "rb") as f:
        gh = f.read(24)
        if len(gh) < 24:
            return
        magic = struct.unpack("<I", gh[:4])[0]
        if magic not in (0xa1b2c3d4, 0xa1b23c4d):
            raise SystemExit("%s: not a little-endian pcap file" % path)
        nano = magic == 0xa1b23c4d
        link = struct.unpack("<I", gh[20:24])[0]
        skip = {1: 14, 113: 16, 276: 20}.get(link)
        if skip is None:
            raise SystemExit("%s: link type %d not handled" % (path, link))
        while True:
            h = f.read(16)
            if len(h) < 16:
                return
            ts, frac, caplen, _ = struct.unpack("<IIII", h)
            data = f.read(caplen)
            ip = data[skip:]
            if len(ip) < 28 or ip[0] >> 4 != 4 or ip[9] != 17:
                continue
            ihl = (ip[0] & 15) * 4
            sp, dp, ulen = struct.unpack(">HHH", ip[ihl:ihl + 6])
            src = (".".join(map(str, ip[12:16])), sp)
            dst = (".".join(map(str, ip[16:20])), dp)
            yield ts + frac / (1e9 if nano else 1e6), src, dst, ip[ihl + 8:ihl + ulen]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pcap", required=True)
    ap.add_argument("--dns-port", type=int, required=True)
    ap.add_argument("--dht-port", type=int, required=True)
    ap.add_argument("--keys", required=True)
    a = ap.parse_args()
    targets = set()
    for line in open(a.keys):
        if line.strip():
            targets.add(hashlib.sha1(bytes.fromhex(line.split()[1])).digest())
    me = ("127.0.0.1", a.dht_port)
    pending = {}
    runs = {"pkdns": [], "libtorrent": []}
    for t, src, dst, p in packets(a.pcap):
        if dst[1] == a.dns_port and len(p) >= 12:
            runs["pkdns"].append({"t0": t, "ev": []})
            continue
        if src[1] == a.dns_port:
            if runs["pkdns"] and "end" not in runs["pkdns"][-1]:
                runs["pkdns"][-1]["end"] = t
            continue
        try:
            m = bdecode(p)
        except Exception:
            continue
        if not isinstance(m, dict):
            continue
        if m.get(b"y") == b"q":
            args = m.get(b"a") or {}
            tgt = args.get(b"target")
            if tgt not in targets:
                continue
            if src == me:
                who = "pkdns"
            elif m.get(b"ro") == 1:
                who = "libtorrent"
                if not runs[who] or runs[who][-1]["tgt"] != tgt:
                    runs[who].append({"t0": t, "tgt": tgt, "ev": []})
            else:
                continue
            if not runs[who]:
                continue
            pending[(src, dst, m.get(b"t"))] = (t, runs[who][-1])
            runs[who][-1]["ev"].append((t, "q", 0.0))
        elif m.get(b"y") == b"r":
            k = (dst, src, m.get(b"t"))
            if k not in pending:
                continue
            tq, run = pending.pop(k)
            r = m.get(b"r") or {}
            run["ev"].append((t, "v" if b"v" in r else "r", (t - tq) * 1e3))
    for who, lst in runs.items():
        first_q, first_v, before, rtt, after = [], [], [], [], []
        for run in lst:
            ev = run["ev"]
            if not ev:
                continue
            first_q.append((ev[0][0] - run["t0"]) * 1e3)
            vs = [e for e in ev if e[1] == "v"]
            if not vs:
                continue
            tv = vs[0][0]
            first_v.append((tv - run["t0"]) * 1e3)
            before.append(sum(1 for e in ev if e[1] == "q" and e[0] < tv))
            rtt.append(vs[0][2])
            if "end" in run:
                after.append((run["end"] - tv) * 1e3)

        def med(x):
            return "%.3f" % statistics.median(x) if x else "-"
        print("%-10s look-ups=%d with_value=%d start_to_first_query_ms=%s "
              "start_to_first_value_ms=%s queries_before_value=%s value_rtt_ms=%s "
              "value_to_dns_answer_ms=%s" % (
                  who, len(lst), len(first_v), med(first_q), med(first_v), med(before),
                  med(rtt), med(after)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
