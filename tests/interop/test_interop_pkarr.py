#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""TAP interop test: pkarr packets between libtorrent and pkdns.

On a 30-node libtorrent DHT network on loopback with a pkdns daemon
bootstrapped into it:
  (a) pkarr packets put by libtorrent (three of pkarr's own signed-packet
      vectors from tests/data/pkarr_signed_packets.jsonl at their seq, whose
      libtorrent signature must equal pkarr's, and a packet built here with
      seq = now in microseconds) resolve through the daemon with dig, and
      the answers match the records;
  (b) a packet published with `pkdns-cli publish SEED ZONE` is fetched by
      libtorrent's dht_get_item and is a valid pkarr SignedPacket: the
      signature verifies over pk || sig || timestamp || packet, seq is the
      publishing time in microseconds, v parses as a DNS message holding the
      zone's records; the daemon resolves it too.
Bounded to 150 s (3-5 s seen); everything is stopped at the end.  Run with
/usr/bin/python3 (python3-libtorrent); the script re-executes itself.
"""

import json
import os
import re
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import interop_common as ic  # noqa: E402
import ltdht  # noqa: E402

NODES = 30
TIME_LIMIT = 150
VECTORS = (0, 1, 2)   # the fourth vector is over the 1000-byte BEP 44 limit

ZONE = """$TTL 300
@       IN A     192.0.2.77
@       IN AAAA  2001:db8::77
_pubky  IN TXT   "interop hello"
www     IN A     192.0.2.78
"""


def zone_records(key):
    return sorted([(key, "A", 300, "192.0.2.77"),
                   (key, "AAAA", 300, "2001:db8::77"),
                   ("_pubky." + key, "TXT", 300, "interop hello"),
                   ("www." + key, "A", 300, "192.0.2.78")])


def vector_rrs(vec):
    """The vector's records as (name, type, data) with TXT joined."""
    out = []
    for r in vec["records"]:
        data = r["data"]
        if r["type"] == "TXT" and isinstance(data, list):
            data = "".join(bytes(p["data"]).decode() for p in data)
        out.append((r["name"], r["type"], data))
    return out


def check_dig(t, port, name, rtype, want, label):
    """dig name rtype at the daemon; want is a sorted list of data."""
    status, rrs = ic.dig(port, name, rtype)
    # names in data compare without their trailing dot
    got = sorted(d.rstrip(".") if rtype == "CNAME" else d
                 for n, ty, _, d in rrs if ty == rtype)
    ok = t.ok(status == "NOERROR" and got == want,
              "%s: dig %s %s -> %s" % (label, name[:20] + "...", rtype,
                                       " ".join(got) or status))
    if not ok:
        ic.diag("want %r, got %s %r" % (want, status, rrs))
    return rrs


def main():
    ic.require_libtorrent()
    t = ic.Tap(TIME_LIMIT)
    ic.require_binaries()
    vpath = ic.srcdir_file("tests/data/pkarr_signed_packets.jsonl")
    if vpath is None:
        ic.bail_out("tests/data/pkarr_signed_packets.jsonl not found")
    with open(vpath) as f:
        vectors = [json.loads(line) for line in f if line.strip()]
    work = ic.tmpdir()

    net = ic.settled_net(t, NODES)
    boot = net.endpoints[2:5]
    dargs = ["--dht-port", str(ic.free_port(ip="0.0.0.0"))]
    dargs += ic.bootstrap_args(net.endpoints[10:14])
    d = ic.Daemon(dargs)
    t.ok(d.ready, "pkdns daemon started (DNS 127.0.0.1:%d)" % d.dns_port)
    # the writer answers queries: see test_interop_dht.py (silent entries)
    writer = ltdht.Client([net.endpoints[7]], read_only=False)

    # ---- (a) libtorrent puts pkarr packets, pkdns resolves them -----------
    for i in VECTORS:
        vec = vectors[i]
        b = vec["bep44"]
        key = vec["public_key_z32"]
        put = writer.put_mutable(bytes.fromhex(vec["seed_hex"]),
                                 bytes.fromhex(b["v_hex"]), seq=b["seq"],
                                 timeout=15)
        t.ok(put["ok"] and put.get("sig") == b["sig"],
             "vector %d: libtorrent put it at seq %s with pkarr's signature"
             % (i + 1, put.get("seq")))
        rrs = vector_rrs(vec)
        # ask for each (name, type) of the vector once
        for name, rtype in sorted(set((n, ty) for n, ty, _ in rrs)):
            qname = name
            if name.startswith("*."):
                qname = "anything" + name[1:]
            want = sorted(dd for n, ty, dd in rrs
                          if n == name and ty == rtype)
            check_dig(t, d.dns_port, qname, rtype, want, "vector %d" % (i + 1))

    seed = os.urandom(32)
    pk, _ = ltdht.ed25519_keypair(seed)
    key = ic.zbase32(pk)
    packet = ic.dns_packet([(key, "A", 300, "192.0.2.1"),
                            (key, "A", 300, "192.0.2.2"),
                            (key, "AAAA", 300, "2001:db8::1"),
                            ("_pubky." + key, "TXT", 300, "from libtorrent"),
                            ("www." + key, "CNAME", 300, "example.com")])
    seq = int(time.time() * 1e6)
    put = writer.put_mutable(seed, packet, seq=seq, timeout=15)
    t.ok(put["ok"] and put.get("seq") == seq,
         "libtorrent put a fresh pkarr packet (seq = now in us)")
    rrs = check_dig(t, d.dns_port, key, "A", ["192.0.2.1", "192.0.2.2"],
                    "fresh packet")
    t.ok(all(0 < ttl <= 300 for _, _, ttl, _ in rrs) and rrs,
         "fresh packet: TTLs within the record TTL (%s)" %
         [ttl for _, _, ttl, _ in rrs])
    check_dig(t, d.dns_port, key, "AAAA", ["2001:db8::1"], "fresh packet")
    check_dig(t, d.dns_port, "_pubky." + key, "TXT", ["from libtorrent"],
              "fresh packet")
    check_dig(t, d.dns_port, "www." + key, "CNAME", ["example.com"],
              "fresh packet")
    status, _ = ic.dig(d.dns_port, "nope." + key, "A")
    t.is_(status, "NXDOMAIN", "fresh packet: a name it lacks is NXDOMAIN")

    # ---- (b) pkdns-cli publishes, libtorrent fetches ----------------------
    seed2 = os.urandom(32)
    pk2, _ = ltdht.ed25519_keypair(seed2)
    key2 = ic.zbase32(pk2)
    seedfile = ic.write_seed(work, seed2)
    zonefile = os.path.join(work, "interop.zone")
    with open(zonefile, "w") as f:
        f.write(ZONE)
    before_us = int(time.time() * 1e6)
    rc, out, err, _ = ic.cli(["publish", seedfile, zonefile], boot)
    after_us = int(time.time() * 1e6)
    m = re.search(r"seq (\d+)", out)
    t.ok(rc == 0 and m and key2 in out,
         "pkdns-cli publish: %s" % (out.strip() or err.strip()))
    pub_seq = int(m.group(1)) if m else None
    reader = ltdht.Client([net.endpoints[NODES - 6]])
    g = reader.get_mutable(pk2, timeout=5, patience=20)
    t.ok(g["found"] and g.get("seq") == pub_seq,
         "libtorrent dht_get_item finds the packet (seq %s, first in %s ms)"
         % (g.get("seq"), g.get("ms_to_first")))
    if g["found"]:
        v = bytes.fromhex(g["v_hex"])
        sig = bytes.fromhex(g["sig"])
        gseq = g["seq"]
        t.ok(before_us <= gseq <= after_us,
             "seq is the publishing time in microseconds")
        # pkarr's SignedPacket: pk, sig, timestamp (u64 BE), packet; its
        # signature is the BEP 44 one over seq = timestamp and v = packet
        sp = pk2 + sig + struct.pack(">Q", gseq) + v
        ts = struct.unpack(">Q", sp[96:104])[0]
        t.ok(len(sp) == 104 + len(v) and ltdht.ed25519_verify(
            sp[:32], ltdht.bep44_signable(ts, sp[104:], b""), sp[32:96]),
            "the SignedPacket's signature verifies (%d bytes)" % len(sp))
        try:
            recs = sorted(ic.dns_parse(v))
            perr = None
        except ValueError as e:
            recs, perr = [], e
        t.ok(perr is None, "v parses as a DNS message (%s)" %
             (perr or "%d records" % len(recs)))
        t.is_(recs, zone_records(key2), "v holds the zone's records")
    else:
        for name in ("seq", "signature", "parses", "records"):
            t.ok(False, "SignedPacket " + name)
    check_dig(t, d.dns_port, "www." + key2, "A", ["192.0.2.78"],
              "published packet")

    reader.close()
    writer.close()
    d.stop_ok(t)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
