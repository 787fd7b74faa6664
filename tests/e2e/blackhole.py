#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""A DNS server that never answers, and a bounded bulk client (stdlib only).

  blackhole.py serve --addr 127.0.0.1 --port P [--lifetime S]
      reads every UDP datagram on ADDR:P and drops it; a TCP listener
      on the same port that never accepts (connections sit in the
      backlog). Prints "ready" once bound. Exits after --lifetime.

  blackhole.py bulk --port P --count N --fmt NAME-FMT [--timeout S]
      sends N queries (type A, name NAME-FMT % i; "%.0s" for one name) to 127.0.0.1:P from
      --clients UDP sockets (the first on --first, default 127.0.0.1,
      the others on 127.0.0.11, .12, ...: distinct clients), taking turns, at most
      --window unanswered at a time, at most --rate a second (so that
      the server's socket buffer does not overflow), and waits at
      most --timeout seconds after the last one. Prints
      "sent=N replies=R rcodes=C:K,... maxwait_ms=M" where maxwait_ms is
      the longest a reply took.

Used by the deadline and resource-bound tests: an upstream that hangs
is what a dead or filtered name server looks like to a resolver.
"""

import argparse
import random
import select
import socket
import struct
import sys
import time


def encode_name(name):
    out = b""
    for label in name.strip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


def cmd_serve(args):
    fam = socket.AF_INET6 if ":" in args.addr else socket.AF_INET
    u = socket.socket(fam, socket.SOCK_DGRAM)
    u.bind((args.addr, args.port))
    t = socket.socket(fam, socket.SOCK_STREAM)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind((args.addr, args.port))
    t.listen(16)
    print("ready", flush=True)
    end = time.time() + args.lifetime
    n = 0
    while time.time() < end:
        r, _, _ = select.select([u], [], [], min(1.0, max(0.0, end - time.time())))
        if r:
            u.recv(65535)
            n += 1
    print("dropped=%d" % n, flush=True)


def cmd_bulk(args):
    socks = []
    for c in range(args.clients):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        s.setblocking(False)
        s.bind((args.first if c == 0 else "127.0.0.%d" % (10 + c), 0))
        socks.append(s)
    dest = ("127.0.0.1", args.port)
    base = random.randrange(65536)
    sent_at = {}
    got = {}
    rcodes = {}
    maxwait = 0.0
    i = 0
    end = None

    def drain(wait):
        r, _, _ = select.select(socks, [], [], wait)
        for s in r:
            drain_one(s)

    def drain_one(s):
        nonlocal maxwait
        while True:
            try:
                buf = s.recv(4096)
            except BlockingIOError:
                return
            if len(buf) < 12:
                continue
            qid, flags = struct.unpack("!HH", buf[:4])
            k = (qid - base) % 65536
            if k not in sent_at or k in got:
                continue
            got[k] = flags & 0xF
            rcodes[flags & 0xF] = rcodes.get(flags & 0xF, 0) + 1
            maxwait = max(maxwait, time.time() - sent_at[k])

    start = time.time()
    hard_end = start + args.timeout + args.count / 50.0
    while i < args.count and time.time() < hard_end:
        if i - len(got) >= args.window:
            drain(0.05)
            continue
        qid = (base + i) % 65536
        msg = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + \
            encode_name(args.fmt % i) + struct.pack("!HH", 1, 1)
        try:
            socks[i % len(socks)].sendto(msg, dest)
        except BlockingIOError:
            drain(0.01)
            continue
        sent_at[i] = time.time()
        i += 1
        pause = start + i / float(args.rate) - time.time()
        if pause > 0:
            drain(pause)
        if i % 64 == 0:
            drain(0)
    end = time.time() + args.timeout
    while len(got) < i and time.time() < end:
        drain(min(0.2, max(0.0, end - time.time())))
    print("sent=%d replies=%d rcodes=%s maxwait_ms=%d" % (
        i, len(got), ",".join("%d:%d" % kv for kv in sorted(rcodes.items())),
        int(maxwait * 1000)))


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("serve")
    a.add_argument("--addr", default="127.0.0.1")
    a.add_argument("--port", type=int, required=True)
    a.add_argument("--lifetime", type=float, default=120)
    a.set_defaults(fn=cmd_serve)
    b = sub.add_parser("bulk")
    b.add_argument("--port", type=int, required=True)
    b.add_argument("--count", type=int, required=True)
    b.add_argument("--fmt", required=True)
    b.add_argument("--window", type=int, default=500)
    b.add_argument("--clients", type=int, default=1)
    b.add_argument("--first", default="127.0.0.1")
    b.add_argument("--rate", type=int, default=3000)
    b.add_argument("--timeout", type=float, default=8)
    b.set_defaults(fn=cmd_bulk)
    args = p.parse_args()
    args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
