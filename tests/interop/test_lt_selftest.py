#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""TAP self-test of the libtorrent DHT harness (ltdht.py).

Starts a 30-node libtorrent DHT network on loopback, puts a BEP 44 mutable
item from one client and gets it from another, checks that libtorrent signs
exactly the bytes pkarr signs (its signature for a pkarr test vector equals
the vector's), and does an immutable round trip.  Bounded to 150 s; every
session is closed at the end.  Run with /usr/bin/python3 (the interpreter
with the python3-libtorrent binding); prints "1..0 # SKIP" without it.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import interop_common as ic  # noqa: E402
import ltdht  # noqa: E402

NODES = 30
TIME_LIMIT = 150


def main():
    ic.require_libtorrent()
    t = ic.Tap(TIME_LIMIT)
    ok = t.ok

    net = ic.settled_net(t, NODES)
    boot_a = [net.endpoints[3]]
    boot_b = [net.endpoints[NODES - 4]]

    # the writer answers queries: libtorrent puts the sender of a put into
    # its routing table even when it says ro=1, and a silent entry there
    # would hold every later lookup near the key up to 15 s
    writer = ltdht.Client(boot_a, read_only=False)
    reader = ltdht.Client(boot_b)
    ok(writer.routing_size() > 0 and reader.routing_size() > 0,
       "clients joined the network")

    # mutable round trip, seq chosen by libtorrent (first put of a key: 1)
    seed = os.urandom(32)
    pk, _ = ltdht.ed25519_keypair(seed)
    value = os.urandom(200)
    put = writer.put_mutable(seed, value, timeout=15)
    ok(put["ok"] and put["seq"] == 1 and put["nodes_stored"] >= 1,
       "put-mutable stored (seq %s on %s nodes)" %
       (put.get("seq"), put.get("nodes_stored")))
    ok(put.get("sig_matches_local") is True,
       "libtorrent's signature equals the Python Ed25519 one")
    got = reader.get_mutable(pk, timeout=20)
    ok(got["found"] and got.get("v_hex") == value.hex() and
       got.get("seq") == 1 and got.get("sig") == put.get("sig"),
       "get-mutable from another client returns the value (first in %s ms)" %
       got.get("ms_to_first"))
    ok(got.get("sig_ok") is True, "fetched signature verifies")
    ok(got.get("messages_out", 0) > 0, "messages_out counted (%s)" %
       got.get("messages_out"))

    # pkarr vector: libtorrent must sign 3:seqi<seq>e1:v<len>:<packet>
    vp = ic.srcdir_file("tests/data/pkarr_signed_packets.jsonl")
    if ok(vp is not None, "pkarr vectors found"):
        with open(vp) as f:
            vec = json.loads(f.readline())
        b = vec["bep44"]
        vseed = bytes.fromhex(vec["seed_hex"])
        vput = writer.put_mutable(vseed, bytes.fromhex(b["v_hex"]),
                                  seq=b["seq"], timeout=15)
        ok(vput["ok"] and vput.get("pk") == b["k"] and
           vput.get("seq") == b["seq"],
           "vector put at seq %s (libtorrent seq %s)" %
           (b["seq"], vput.get("seq")))
        ok(vput.get("sig") == b["sig"],
           "libtorrent's signature equals the pkarr vector's")
        vget = reader.get_mutable(bytes.fromhex(b["k"]), timeout=20)
        ok(vget["found"] and vget.get("seq") == b["seq"] and
           vget.get("v_hex") == b["v_hex"] and vget.get("sig") == b["sig"],
           "vector item fetched intact")
    else:
        for name in ("vector put", "vector signature", "vector fetched"):
            ok(False, name)

    # immutable round trip
    iv = os.urandom(100)
    iput = writer.put_immutable(iv, timeout=15)
    ok(iput["ok"], "put-immutable stored on %s nodes" %
       iput.get("nodes_stored"))
    iget = reader.get_immutable(iput["target"], timeout=20)
    ok(iget["found"] and iget.get("v_hex") == iv.hex(),
       "get-immutable returns the value")

    # an absent key must come back not found, and quickly
    miss = reader.get_mutable(os.urandom(32), timeout=20)
    ok(not miss["found"] and miss["complete"],
       "absent key: not found, lookup complete in %s ms" % miss["ms_total"])

    writer.close()
    reader.close()
    ic.close_net(net)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
