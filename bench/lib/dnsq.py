#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Tiny DNS-over-UDP client for the benchmarks (stdlib only).

  dnsq.py [--server 127.0.0.1] --port P [--wait S] NAME TYPE
      one query (or, with --wait, poll every 2 ms until an answer with
      rcode NOERROR and at least one answer record, for at most S
      seconds); prints "rcode ancount ms" and exits 0 on an answer.
      (Polling uses a connected socket, every 2 ms.)
  dnsq.py --port P --start-ms --wait S NAME TYPE -- CMD ARGS...
      start CMD, then poll as above; prints "ms" from the start of CMD to
      the first answer, then stops CMD (SIGTERM, bounded wait, SIGKILL).
  dnsq.py --port P --each FILE [--timeout S]
      one query per "NAME TYPE" line of FILE, sequentially; prints one
      line "name rcode ancount ms" per query (the client's own timing).
"""
import argparse
import os
import random
import select
import signal
import socket
import struct
import subprocess
import sys
import time

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "MX": 15, "TXT": 16, "AAAA": 28,
         "SRV": 33, "HTTPS": 65, "SVCB": 64}


def build_query(name, qtype, qid):
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        if label:
            q += bytes([len(label)]) + label.encode()
    q += b"\x00" + struct.pack("!HH", TYPES.get(qtype.upper(), 1), 1)
    return q


def query(sock, addr, name, qtype, timeout):
    """Send one query and wait for its reply: (rcode, ancount) or None."""
    qid = random.randint(0, 65535)
    try:
        sock.sendto(build_query(name, qtype, qid), addr)
    except OSError:
        return None  # a refusal left pending on a connected socket
    end = time.monotonic() + timeout
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return None
        r, _, _ = select.select([sock], [], [], left)
        if not r:
            return None
        try:
            data = sock.recv(65535)
        except OSError:
            return None  # ICMP port unreachable: nobody listens yet
        if len(data) >= 12:
            rid, flags, _, an = struct.unpack("!HHHH", data[:8])
            if rid == qid:
                return flags & 0xF, an


def timed_answer(sock, port, name, timeout):
    """Ask 127.0.0.1:port for name A: (NOERROR with data, ms to the reply)."""
    t0 = time.monotonic()
    r = query(sock, ("127.0.0.1", port), name, "A", timeout)
    ms = (time.monotonic() - t0) * 1000
    return r is not None and r[0] == 0 and r[1] > 0, ms


def pct(vals, p):
    """The p-th percentile of vals (linear between ranks); NaN when empty."""
    v = sorted(vals)
    if not v:
        return float("nan")
    k = (len(v) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def poll(addr, name, qtype, wait, interval=0.002):
    """Query every interval until NOERROR with data; seconds or None.
    The socket is connected so that a refused query (nothing bound to
    the port yet: ICMP port unreachable) fails at once instead of
    waiting out the timeout, which would quantise start-up times."""
    t0 = time.monotonic()
    end = t0 + wait
    while time.monotonic() < end:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.connect(addr)
            r = query(s, addr, name, qtype, interval * 5)
        finally:
            s.close()
        if r and r[0] == 0 and r[1] > 0:
            return time.monotonic() - t0
        time.sleep(interval)
    return None


def stop(p):
    if p.poll() is not None:
        return
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def main():
    argv = sys.argv[1:]
    cmd = []
    if "--" in argv:
        i = argv.index("--")
        argv, cmd = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--wait", type=float, default=0)
    ap.add_argument("--timeout", type=float, default=5)
    ap.add_argument("--start-ms", action="store_true")
    ap.add_argument("--log")
    ap.add_argument("--each")
    ap.add_argument("name", nargs="?")
    ap.add_argument("qtype", nargs="?", default="A")
    a = ap.parse_args(argv)
    addr = (a.server, a.port)
    if a.each:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        with open(a.each) as f:
            for line in f:
                parts = line.split()
                if len(parts) < 2:
                    continue
                t0 = time.monotonic()
                r = query(s, addr, parts[0], parts[1], a.timeout)
                ms = (time.monotonic() - t0) * 1000
                if r is None:
                    print("%s TIMEOUT 0 %.3f" % (parts[0], ms), flush=True)
                else:
                    print("%s %d %d %.3f" % (parts[0], r[0], r[1], ms), flush=True)
        return 0
    if a.start_ms:
        log = open(a.log, "w") if a.log else subprocess.DEVNULL
        t0 = time.monotonic()
        p = subprocess.Popen(cmd, stdout=log, stderr=log)
        try:
            got = poll(addr, a.name, a.qtype, a.wait)
            t = time.monotonic() - t0 if got is not None else None
        finally:
            stop(p)
        if t is None:
            print("timeout")
            return 1
        print("%.1f" % (t * 1000))
        return 0
    if a.wait:
        t = poll(addr, a.name, a.qtype, a.wait)
        if t is None:
            print("timeout")
            return 1
        print("0 1 %.1f" % (t * 1000))
        return 0
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    t0 = time.monotonic()
    r = query(s, addr, a.name, a.qtype, a.timeout)
    if r is None:
        print("timeout")
        return 1
    print("%d %d %.3f" % (r[0], r[1], (time.monotonic() - t0) * 1000))
    return 0 if r[0] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
