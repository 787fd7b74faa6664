#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Ask a DNS server for every name of a file, many in flight (stdlib only).

  fillq.py --port P [--inflight 32] [--timeout 5] [--tries 2] FILE IP

One A query per line (a name) of FILE over one UDP socket, at most
--inflight outstanding; a query with no reply after --timeout seconds is
sent again, at most --tries times in all. Prints one line
"sent=N answered=A right=R secs=S", where right counts NOERROR replies
whose answer holds an A record with address IP (bench/footprint.sh fills
pkdns's packet cache with it: one DHT look-up per key).
"""
import argparse
import select
import socket
import struct
import time


def build(name, qid):
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.strip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\x00" + struct.pack("!HH", 1, 1)


def skip_name(buf, off):
    while off < len(buf):
        n = buf[off]
        if n == 0:
            return off + 1
        if n & 0xC0 == 0xC0:
            return off + 2
        off += n + 1
    raise ValueError("name past the end")


def right(buf, want):
    _, flags, qd, an = struct.unpack("!HHHH", buf[:8])
    if flags & 0xF:
        return False
    off = 12
    for _ in range(qd):
        off = skip_name(buf, off) + 4
    for _ in range(an):
        off = skip_name(buf, off)
        rtype, _c, _t, rdlen = struct.unpack("!HHIH", buf[off:off + 10])
        off += 10
        if rtype == 1 and buf[off:off + rdlen] == want:
            return True
        off += rdlen
    return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--inflight", type=int, default=32)
    ap.add_argument("--timeout", type=float, default=5.0)
    ap.add_argument("--tries", type=int, default=2)
    ap.add_argument("file")
    ap.add_argument("ip")
    a = ap.parse_args()
    names = [l.strip() for l in open(a.file) if l.strip()]
    want = socket.inet_aton(a.ip)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((a.server, a.port))
    pending = {}  # qid -> [index, sent_at, tries]
    nxt = 0
    qid = 1
    answered = good = 0
    t0 = time.monotonic()
    while nxt < len(names) or pending:
        while nxt < len(names) and len(pending) < a.inflight:
            qid = qid % 65535 + 1
            s.send(build(names[nxt], qid))
            pending[qid] = [nxt, time.monotonic(), 1]
            nxt += 1
        r, _, _ = select.select([s], [], [], 0.05)
        if r:
            try:
                buf = s.recv(4096)
            except OSError:
                buf = b""
            if len(buf) >= 12:
                rid = struct.unpack("!H", buf[:2])[0]
                if rid in pending:
                    del pending[rid]
                    answered += 1
                    good += right(buf, want)
        now = time.monotonic()
        for k, (i, at, tries) in list(pending.items()):
            if now - at > a.timeout:
                del pending[k]
                if tries < a.tries:
                    qid = qid % 65535 + 1
                    s.send(build(names[i], qid))
                    pending[qid] = [i, now, tries + 1]
    print("sent=%d answered=%d right=%d secs=%.1f" % (len(names), answered, good, time.monotonic() - t0))


main()
