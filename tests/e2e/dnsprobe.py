#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Raw DNS probes for the pkdns end-to-end tests (stdlib only).

dig cannot send malformed queries, pipeline queries on one TCP connection
or leave a connection idle, so the shell tests call this tool for that and
assert on the one-line summaries it prints.  Every socket operation has a
timeout: the tool never waits longer than its --timeout (default 3 s) per
reply.

Summary of a reply:  "rcode=N ercode=N id=ok|bad qr=0|1 tc=0|1 aa=0|1
ra=0|1 qd=N an=N ns=N ar=N size=N", or "noreply" when nothing came back.
"""

import argparse
import os
import random
import socket
import struct
import ssl
import sys
import time

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "MX": 15, "TXT": 16,
         "AAAA": 28, "OPT": 41, "ANY": 255}


def encode_name(name):
    out = b""
    for label in name.strip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


def header(qid, flags=0x0100, qd=1, an=0, ns=0, ar=0):
    return struct.pack("!HHHHHH", qid, flags, qd, an, ns, ar)


def question(name, qtype="A"):
    return encode_name(name) + struct.pack("!HH", TYPES[qtype], 1)


def opt_rr(bufsize=1232, version=0, do=False, name=b"\x00", rdata=b""):
    ttl = (version << 16) | (0x8000 if do else 0)
    return name + struct.pack("!HHIH", 41, bufsize, ttl, len(rdata)) + rdata


def query(qid, name, qtype="A", edns=True, bufsize=1232):
    if edns:
        return header(qid, ar=1) + question(name, qtype) + opt_rr(bufsize)
    return header(qid) + question(name, qtype)


def skip_name(buf, off):
    """Offset just past the name at off; raises on malformed input."""
    for _ in range(128):
        n = buf[off]
        if n & 0xC0 == 0xC0:
            return off + 2
        off += 1 + n
        if n == 0:
            return off
    raise ValueError("name too long")


def read_name(buf, off, depth=0):
    labels = []
    for _ in range(128):
        n = buf[off]
        if n & 0xC0 == 0xC0:
            if depth > 16:
                raise ValueError("pointer loop")
            ptr = struct.unpack("!H", buf[off:off + 2])[0] & 0x3FFF
            labels.append(read_name(buf, ptr, depth + 1))
            break
        if n == 0:
            break
        labels.append(buf[off + 1:off + 1 + n].decode("ascii", "replace"))
        off += 1 + n
    return ".".join(x for x in labels if x).lower()


def summary(reply, qid):
    if reply is None:
        return "noreply"
    if len(reply) < 12:
        return "short size=%d" % len(reply)
    rid, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", reply[:12])
    rcode = flags & 0xF
    ercode = rcode
    # The extended rcode lives in the OPT record (RFC 6891 6.1.3).
    try:
        off = 12
        for _ in range(qd):
            off = skip_name(reply, off) + 4
        for i in range(an + ns + ar):
            off = skip_name(reply, off)
            rtype, _, ttl, rdlen = struct.unpack("!HHIH", reply[off:off + 10])
            if rtype == 41 and i >= an + ns:
                ercode = ((ttl >> 24) << 4) | rcode
            off += 10 + rdlen
    except (IndexError, ValueError, struct.error):
        pass
    return ("rcode=%d ercode=%d id=%s qr=%d tc=%d aa=%d ra=%d qd=%d an=%d "
            "ns=%d ar=%d size=%d" % (
                rcode, ercode, "ok" if rid == qid else "bad",
                flags >> 15, (flags >> 9) & 1, (flags >> 10) & 1,
                (flags >> 7) & 1, qd, an, ns, ar, len(reply)))


def family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def udp_exchange(args, payload, want_reply=True):
    s = socket.socket(family(args.host), socket.SOCK_DGRAM)
    if args.src:
        s.bind((args.src, 0))
    s.settimeout(args.timeout)
    s.sendto(payload, (args.host, args.port))
    try:
        data, _ = s.recvfrom(65535)
    except socket.timeout:
        data = None
    s.close()
    return data


def tcp_connect(args):
    s = socket.socket(family(args.host), socket.SOCK_STREAM)
    if args.src:
        s.bind((args.src, 0))
    s.settimeout(args.timeout)
    s.connect((args.host, args.port))
    if args.tls:
        # DoT (RFC 7858): the same framing inside TLS; the certificate is
        # not what these probes check
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        s = ctx.wrap_socket(s)
    return s


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError("connection closed")
        buf += chunk
    return buf


def tcp_read_msg(s):
    (n,) = struct.unpack("!H", recv_exact(s, 2))
    return recv_exact(s, n)


# Malformed and unusual queries; each returns (packet, id).
def case_packet(case, qid):
    q = question("www.e2e.example")
    if case == "good":
        return query(qid, "www.e2e.example")
    if case == "qdcount2":
        return header(qid, qd=2) + q + question("mail.e2e.example")
    if case == "qdcount0":
        return header(qid, qd=0)
    if case == "truncq":  # name cut off in the middle of a label
        return header(qid) + encode_name("www.e2e.example")[:7]
    if case == "notype":  # name complete, QTYPE/QCLASS missing
        return header(qid) + encode_name("www.e2e.example")
    if case == "badlabel":  # label length runs past the end
        return header(qid) + b"\x3fwww" + struct.pack("!HH", 1, 1)
    if case == "ptrloop":  # compression pointer to itself in the question
        return header(qid) + b"\xc0\x0c" + struct.pack("!HH", 1, 1)
    if case == "qr":  # a response sent to us as if it were a query
        return header(qid, flags=0x8100) + q
    if case == "opt2":  # two OPT records: RFC 6891 6.1.1 says FORMERR
        return header(qid, ar=2) + q + opt_rr() + opt_rr()
    if case == "optname":  # OPT owner must be the root
        return header(qid, ar=1) + q + opt_rr(name=encode_name("x"))
    if case == "optshort":  # OPT rdata length runs past the end
        return header(qid, ar=1) + q + opt_rr()[:-2] + b"\x00\x20"
    if case == "ednsver1":  # unknown EDNS version: BADVERS (16)
        return header(qid, ar=1) + q + opt_rr(version=1)
    if case == "arcount_lie":  # ARCOUNT=1 with no record present
        return header(qid, ar=1) + q
    if case == "opcode_update":
        return header(qid, flags=(5 << 11)) + q
    if case == "short_header":
        return struct.pack("!HH", qid, 0x0100) + b"\x00\x01"
    raise SystemExit("unknown case " + case)


def cmd_case(args):
    qid = random.randrange(1, 65535)
    reply = udp_exchange(args, case_packet(args.case, qid))
    print(summary(reply, qid))


def cmd_tcpcase(args):
    qid = random.randrange(1, 65535)
    pkt = case_packet(args.case, qid)
    s = tcp_connect(args)
    s.sendall(struct.pack("!H", len(pkt)) + pkt)
    try:
        reply = tcp_read_msg(s)
    except (EOFError, socket.timeout, ConnectionError):
        reply = None
    s.close()
    print(summary(reply, qid))


def cmd_garbage(args):
    """Random datagrams; only some have a parseable header."""
    rnd = random.Random(args.seed)
    s = socket.socket(family(args.host), socket.SOCK_DGRAM)
    if args.src:
        s.bind((args.src, 0))
    s.setblocking(False)
    sent = 0
    for i in range(args.count):
        n = rnd.choice([0, 1, 2, 5, 11, 12, 13, 17, 40, 100, 300, 511, 512,
                        513, 1232, 1500, 4096])
        pkt = bytes(rnd.getrandbits(8) for _ in range(n))
        if i % 4 == 0 and n >= 12:
            # A header that looks like a query, so the parser gets further.
            pkt = header(rnd.getrandbits(16), flags=0x0100,
                         qd=rnd.choice([0, 1, 2, 65535]),
                         an=rnd.choice([0, 1, 65535]),
                         ns=rnd.choice([0, 1]),
                         ar=rnd.choice([0, 1, 2])) + pkt[12:]
        for _ in range(50):
            try:
                s.sendto(pkt, (args.host, args.port))
                sent += 1
                break
            except BlockingIOError:
                time.sleep(0.001)
        # Drain replies so our receive buffer never blocks anything.
        try:
            while True:
                s.recv(65535)
        except (BlockingIOError, ConnectionRefusedError):
            pass
    s.close()
    print("sent=%d" % sent)


def cmd_tcpgarbage(args):
    """Hostile TCP clients: junk, zero length, a huge announced length
    that never arrives, a half-sent message. Prints how many it ran."""
    rnd = random.Random(args.seed)
    done = 0
    for kind in ("junk", "zero", "announce", "half", "onebyte"):
        try:
            s = tcp_connect(args)
            if kind == "junk":
                s.sendall(bytes(rnd.getrandbits(8) for _ in range(3000)))
            elif kind == "zero":
                s.sendall(b"\x00\x00" * 4)
            elif kind == "announce":
                s.sendall(b"\xff\xff" + b"\x00" * 20)
            elif kind == "half":
                pkt = query(1, "www.e2e.example")
                s.sendall(struct.pack("!H", len(pkt)) + pkt[:10])
            else:
                s.sendall(b"\x00")
            s.close()
            done += 1
        except OSError:
            pass
    print("ran=%d" % done)


def cmd_pipeline(args):
    """N queries (NAME or NAME/TYPE) in one write on one connection;
    answers may come in any order (RFC 7766 6.2.1.1), so they are matched
    by ID and question name."""
    names = args.names
    s = tcp_connect(args)
    ids = random.sample(range(1, 65535), len(names))
    want = {}
    blob = b""
    for qid, spec in zip(ids, names):
        name, _, qtype = spec.partition("/")
        pkt = query(qid, name, qtype or "A")
        want[qid] = name.lower().strip(".")
        blob += struct.pack("!H", len(pkt)) + pkt
    s.sendall(blob)
    got = 0
    matched = 0
    answered = 0
    deadline = time.time() + args.timeout * 2
    try:
        while got < len(names) and time.time() < deadline:
            msg = tcp_read_msg(s)
            got += 1
            rid, flags, qd, an = struct.unpack("!HHHH", msg[:8])
            if rid in want and qd == 1 and read_name(msg, 12) == want[rid]:
                matched += 1
                del want[rid]
                if flags & 0xF == 0 and an >= 1:
                    answered += 1
    except (EOFError, socket.timeout, ConnectionError, ValueError,
            IndexError) as e:
        print("error=%s" % type(e).__name__, end=" ")
    s.close()
    print("sent=%d got=%d matched=%d answered=%d" % (
        len(names), got, matched, answered))


def cmd_split(args):
    """One query sent a byte at a time: the server must reassemble it."""
    qid = random.randrange(1, 65535)
    pkt = query(qid, args.name)
    s = tcp_connect(args)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for b in struct.pack("!H", len(pkt)) + pkt:
        s.sendall(bytes([b]))
        time.sleep(0.005)
    try:
        reply = tcp_read_msg(s)
    except (EOFError, socket.timeout, ConnectionError):
        reply = None
    s.close()
    print(summary(reply, qid))


def cmd_idle(args):
    """Connect, ask one question, then stay silent; report whether and
    when the server closed the connection."""
    s = tcp_connect(args)
    pkt = query(7, "www.e2e.example")
    s.sendall(struct.pack("!H", len(pkt)) + pkt)
    try:
        tcp_read_msg(s)
    except (EOFError, socket.timeout, ConnectionError):
        print("noanswer")
        return
    start = time.time()
    s.settimeout(args.wait)
    try:
        data = s.recv(1)
        state = "closed" if not data else "data"
    except socket.timeout:
        state = "open"
    except ConnectionError:
        state = "closed"
    print("%s after=%d" % (state, int(time.time() - start + 0.5)))
    s.close()


def cmd_flood(args):
    """count queries as fast as possible over UDP; count the rcodes.
    Replies are drained while sending so our own receive buffer (about
    256 small datagrams) never drops any."""
    s = socket.socket(family(args.host), socket.SOCK_DGRAM)
    if args.src:
        s.bind((args.src, 0))
    counts = {}
    got = 0

    def take(data):
        rc = data[3] & 0xF if len(data) >= 12 else -1
        counts[rc] = counts.get(rc, 0) + 1

    for i in range(args.count):
        s.setblocking(True)
        s.sendto(query(i + 1, args.name), (args.host, args.port))
        if i % 20 == 19 and args.gap:
            time.sleep(args.gap)
        s.setblocking(False)
        try:
            while True:
                take(s.recv(65535))
                got += 1
        except (BlockingIOError, ConnectionRefusedError):
            pass
    s.settimeout(0.5)
    deadline = time.time() + args.timeout
    while got < args.count and time.time() < deadline:
        try:
            data = s.recv(65535)
        except socket.timeout:
            continue
        got += 1
        take(data)
    print("got=%d noerror=%d refused=%d other=%d" % (
        got, counts.get(0, 0), counts.get(5, 0),
        got - counts.get(0, 0) - counts.get(5, 0)))


def cmd_tamper(args):
    """Spoil the signature of every RRSIG owned by one of the names in a
    zone file written by ldns-signzone (one record per line)."""
    owners = {n.lower().rstrip(".") + "." for n in args.names}
    out = []
    spoiled = 0
    with open(args.zone) as f:
        for line in f:
            fields = line.split()
            if (len(fields) > 5 and fields[0].lower() in owners
                    and fields[3] == "RRSIG" and fields[4] != "NSEC"):
                sig = list(fields[-1])
                mid = len(sig) // 2
                sig[mid] = "B" if sig[mid] != "B" else "C"
                fields[-1] = "".join(sig)
                line = "\t".join(fields) + "\n"
                spoiled += 1
            out.append(line)
    with open(args.zone, "w") as f:
        f.writelines(out)
    print("spoiled=%d" % spoiled)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=53)
    p.add_argument("--src", help="source address to bind")
    p.add_argument("--timeout", type=float, default=3.0)
    p.add_argument("--tls", action="store_true",
                   help="TCP probes over TLS (DoT)")
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("case")
    c.add_argument("case")
    c.set_defaults(fn=cmd_case)
    c = sub.add_parser("tcpcase")
    c.add_argument("case")
    c.set_defaults(fn=cmd_tcpcase)
    c = sub.add_parser("garbage")
    c.add_argument("count", type=int)
    c.add_argument("--seed", type=int, default=1)
    c.set_defaults(fn=cmd_garbage)
    c = sub.add_parser("tcpgarbage")
    c.add_argument("--seed", type=int, default=1)
    c.set_defaults(fn=cmd_tcpgarbage)
    c = sub.add_parser("pipeline")
    c.add_argument("names", nargs="+")
    c.set_defaults(fn=cmd_pipeline)
    c = sub.add_parser("split")
    c.add_argument("name")
    c.set_defaults(fn=cmd_split)
    c = sub.add_parser("idle")
    c.add_argument("wait", type=float)
    c.set_defaults(fn=cmd_idle)
    c = sub.add_parser("flood")
    c.add_argument("name")
    c.add_argument("count", type=int)
    c.add_argument("--gap", type=float, default=0.0,
                   help="pause after every 20 queries (seconds)")
    c.set_defaults(fn=cmd_flood)
    c = sub.add_parser("tamper")
    c.add_argument("zone")
    c.add_argument("names", nargs="+")
    c.set_defaults(fn=cmd_tamper)
    args = p.parse_args()
    try:
        args.fn(args)
    except (OSError, EOFError) as e:
        print("error=%s" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
