#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""A malicious Mainline DHT peer for the end-to-end tests (stdlib only).

A Sybil chain: it listens on --count loopback addresses (127.77.0.1 up,
one UDP port) and answers every get, get_peers and find_node with 8
"nodes" whose IDs are closer to the target than any it named before, at
its own addresses, so that a look-up without bounds never ends. It
answers ping too (so it enters routing tables), after --delay seconds.
It never holds a value.

With --keys FILE (z-base32 pkarr keys, one a line) it leads astray only
the look-ups of those keys (target SHA-1 of the key) and stays silent to
the rest, like an attacker who targets some keys.

Usage: dht_sybil_node.py --port PORT [--count N] [--delay S] [--lifetime S]
                         [--keys FILE]
Prints "ready" once bound, then one line "queries N" per second while
queries arrive, and "total N" at exit. Loopback only; exits by itself
after --lifetime seconds.
"""

import argparse
import hashlib
import heapq
import os
import random
import select
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pkarr_slow_node import bdecode, bencode  # noqa: E402


Z32 = "ybndrfg8ejkmcpqxot1uwisza345h769"


def z32_target(key):
    """SHA-1 of the 32-byte public key a z-base32 pkarr key encodes."""
    bits = 0
    for c in key:
        bits = (bits << 5) | Z32.index(c)
    pk = (bits >> (len(key) * 5 - 256)).to_bytes(32, "big")
    return hashlib.sha1(pk).digest()


def closer(target, depth):
    """An ID sharing `depth` leading bits with target, then differing."""
    t = int.from_bytes(target, "big")
    flip = 1 << (159 - depth)
    low = random.getrandbits(159 - depth) if depth < 159 else 0
    v = ((t >> (160 - depth)) << (160 - depth)) if depth else 0
    v |= (t & flip) ^ flip
    v |= low
    return v.to_bytes(20, "big")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--count", type=int, default=128)
    ap.add_argument("--delay", type=float, default=0.0)
    ap.add_argument("--lifetime", type=float, default=120)
    ap.add_argument("--keys")
    args = ap.parse_args()
    only = None
    if args.keys:
        only = set(z32_target(k) for k in open(args.keys).read().split())

    addrs = ["127.77.%d.%d" % (i // 250, 1 + i % 250) for i in range(args.count)]
    socks = []
    for a in addrs:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        s.bind((a, args.port))
        s.setblocking(False)
        socks.append(s)
    depth = {}  # target -> leading bits shared by the last nodes named
    pending = []  # heap of (due, n, sock, addr, reply)
    n = total = 0
    last_print = time.monotonic()
    print("ready", flush=True)
    end = time.monotonic() + args.lifetime
    while time.monotonic() < end:
        now = time.monotonic()
        while pending and pending[0][0] <= now:
            _, _, s, addr, reply = heapq.heappop(pending)
            try:
                s.sendto(reply, addr)
            except OSError:
                pass
        if now - last_print >= 1.0:
            print("queries %d" % total, flush=True)
            last_print = now
        wait = min(end - now, (pending[0][0] - now) if pending else 0.5)
        r, _, _ = select.select(socks, [], [], max(0.0, wait))
        for s in r:
            for _ in range(64):
                try:
                    buf, addr = s.recvfrom(2048)
                except BlockingIOError:
                    break
                try:
                    msg, _ = bdecode(buf)
                    if msg.get(b"y") != b"q":
                        continue
                    q, a, t = msg[b"q"], msg.get(b"a", {}), msg[b"t"]
                except (ValueError, KeyError, IndexError, AttributeError, TypeError):
                    continue
                total += 1
                r_ = {b"id": os.urandom(20), b"token": b"sybl"}
                target = a.get(b"target") or a.get(b"info_hash")
                if only is not None and q != b"ping" and target not in only:
                    continue
                if q in (b"get", b"get_peers", b"find_node") and isinstance(target, bytes) \
                        and len(target) == 20:
                    d = min(depth.get(target, 8) + 1, 150)
                    depth[target] = d
                    if len(depth) > 100000:
                        depth.clear()
                    nodes = b""
                    for _ in range(8):
                        ip = random.choice(addrs)
                        nodes += closer(target, d) + socket.inet_aton(ip) + \
                            args.port.to_bytes(2, "big")
                    r_[b"nodes"] = nodes
                elif q != b"ping":
                    continue
                n += 1
                reply = bencode({b"t": t, b"y": b"r", b"r": r_})
                heapq.heappush(pending, (time.monotonic() + args.delay, n, s, addr, reply))
    print("total %d" % total, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
