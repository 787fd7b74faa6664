#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""A one-node Mainline DHT for the pkarr end-to-end tests (stdlib only).

It answers BEP 5 ping and find_node (no other nodes) and BEP 44 get and
put, and holds back every `get` reply that carries a stored value for
--delay seconds. pkdns's own testnet answers within a millisecond, so
"many clients, one look-up" can only be seen against a node this slow.
Signatures are not checked: pkdns and pkdns-cli check them.

With --drop-first-get it ignores the first `get` it receives, as a
lossy network would (a client must ask again).

Usage: pkarr_slow_node.py --port PORT [--delay SECONDS] [--lifetime SECONDS]
                          [--drop-first-get]
Prints "ready" once bound, then logs one line per query on stdout.
Loopback only; exits by itself after --lifetime seconds.
"""

import argparse
import hashlib
import heapq
import os
import select
import socket
import sys
import time


def bdecode(buf, i=0, depth=0):
    """(value, next index) of the bencoded item at buf[i:]."""
    if depth > 32:
        raise ValueError("too deep")
    c = buf[i:i + 1]
    if c == b"i":
        j = buf.index(b"e", i)
        return int(buf[i + 1:j]), j + 1
    if c == b"l":
        out, i = [], i + 1
        while buf[i:i + 1] != b"e":
            v, i = bdecode(buf, i, depth + 1)
            out.append(v)
        return out, i + 1
    if c == b"d":
        out, i = {}, i + 1
        while buf[i:i + 1] != b"e":
            k, i = bdecode(buf, i, depth + 1)
            v, i = bdecode(buf, i, depth + 1)
            out[k] = v
        return out, i + 1
    if c.isdigit():
        j = buf.index(b":", i)
        n = int(buf[i:j])
        if j + 1 + n > len(buf):
            raise ValueError("string past the end")
        return buf[j + 1:j + 1 + n], j + 1 + n
    raise ValueError("bad bencode")


def bencode(v):
    if isinstance(v, int):
        return b"i%de" % v
    if isinstance(v, bytes):
        return b"%d:%s" % (len(v), v)
    if isinstance(v, list):
        return b"l" + b"".join(bencode(x) for x in v) + b"e"
    if isinstance(v, dict):
        return b"d" + b"".join(bencode(k) + bencode(v[k]) for k in sorted(v)) + b"e"
    raise TypeError(type(v))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--delay", type=float, default=0.5)
    ap.add_argument("--lifetime", type=float, default=60)
    ap.add_argument("--drop-first-get", action="store_true")
    args = ap.parse_args()

    node_id = os.urandom(20)
    token = os.urandom(8)
    items = {}  # target -> dict(k, seq, sig, v)
    pending = []  # heap of (due, n, addr, reply)
    n = 0
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", args.port))
    print("ready", flush=True)
    end = time.monotonic() + args.lifetime
    while time.monotonic() < end:
        now = time.monotonic()
        while pending and pending[0][0] <= now:
            _, _, addr, reply = heapq.heappop(pending)
            s.sendto(reply, addr)
        wait = min(end - now, (pending[0][0] - now) if pending else 1.0)
        r, _, _ = select.select([s], [], [], max(0.0, wait))
        if not r:
            continue
        buf, addr = s.recvfrom(2048)
        try:
            msg, _ = bdecode(buf)
            if msg.get(b"y") != b"q":
                continue
            q, a, t = msg[b"q"], msg.get(b"a", {}), msg[b"t"]
        except (ValueError, KeyError, IndexError, AttributeError, TypeError):
            continue
        r = {b"id": node_id}
        delay = 0.0
        if q == b"get" and args.drop_first_get:
            args.drop_first_get = False
            print("get %s:%d (dropped)" % addr, flush=True)
            continue
        if q == b"get":
            target = a.get(b"target", b"")
            r[b"token"] = token
            r[b"nodes"] = b""
            item = items.get(target)
            if item:
                r.update(item)
                delay = args.delay
        elif q == b"put":
            k, v = a.get(b"k", b""), a.get(b"v", b"")
            target = hashlib.sha1(k + a.get(b"salt", b"")).digest()
            old = items.get(target)
            if old and old[b"seq"] > a.get(b"seq", 0):
                s.sendto(bencode({b"t": t, b"y": b"e", b"e": [302, b"sequence number too old"]}), addr)
                continue
            items[target] = {b"k": k, b"seq": a.get(b"seq", 0), b"sig": a.get(b"sig", b""), b"v": v}
        elif q in (b"find_node", b"get_peers"):
            r[b"nodes"] = b""
        elif q != b"ping":
            s.sendto(bencode({b"t": t, b"y": b"e", b"e": [204, b"method unknown"]}), addr)
            continue
        print("%s %s:%d%s" % (q.decode("ascii", "replace"), addr[0], addr[1],
                              " (value, delayed)" if delay else ""), flush=True)
        reply = bencode({b"t": t, b"y": b"r", b"r": r})
        n += 1
        heapq.heappush(pending, (time.monotonic() + delay, n, addr, reply))
    return 0


if __name__ == "__main__":
    sys.exit(main())
