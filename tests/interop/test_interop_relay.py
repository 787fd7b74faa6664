#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""TAP interop test: the pkarr relay API between pkdns, the JS pkarr
package (npm "pkarr": relayPut, relayGet and its relay server) and
libtorrent.

On a 30-node libtorrent DHT network on loopback:
  (a) JS relayPut to pkdns's relay API (http-listen) lands on the DHT:
      libtorrent's dht_get_item finds the packet at the JS seq;
  (b) a packet libtorrent puts is returned by JS relayGet from pkdns;
  (c) a pkdns with no reachable DHT node and `relay:` pointing at the JS
      relay server (its DHT on the libtorrent network) answers dig for
      that key, and NXDOMAIN for a key nobody published;
  (d) pkdns-cli publish --relay to the JS relay reaches the DHT (libtorrent
      finds it); pkdns-cli resolve --relay from the JS relay and from
      pkdns returns the packets.
The JS package is installed with npm into $PKARR_NPM_DIR (default
tests/interop/.npm-pkarr in the build tree) once and reused; without node
and npm, or when the install fails (offline), the test is skipped.
Bounded to 150 s. Run with /usr/bin/python3 (python3-libtorrent).
"""

import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import interop_common as ic  # noqa: E402
import ltdht  # noqa: E402

NODES = 30
TIME_LIMIT = 150
PKARR_NPM = "pkarr@1.3.0"


def npm_dir():
    """A directory whose node_modules holds the JS pkarr package, with
    pkarr_js.mjs copied in; None when it cannot be had."""
    if not shutil.which("node") or not shutil.which("npm"):
        return None
    here = os.path.dirname(os.path.abspath(__file__))
    top = os.environ.get("top_builddir") or os.path.join(here, "..", "..")
    d = os.environ.get("PKARR_NPM_DIR") or os.path.join(
        top, "tests", "interop", ".npm-pkarr")
    os.makedirs(d, exist_ok=True)
    if not os.path.exists(os.path.join(d, "node_modules", "pkarr",
                                       "package.json")):
        try:
            p = subprocess.run(["npm", "install", "--no-audit", "--no-fund",
                                "--prefer-offline", "--prefix", d, PKARR_NPM],
                               capture_output=True, text=True, timeout=180,
                               stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return None
        if p.returncode != 0:
            ic.diag("npm install %s failed: %s" % (PKARR_NPM,
                                                   p.stderr[-300:]))
            return None
    shutil.copy(os.path.join(here, "pkarr_js.mjs"), d)
    return d


def js(d, args, timeout=30):
    """Run pkarr_js.mjs; its last JSON line, or {"error": ...}."""
    try:
        p = subprocess.run(["node", os.path.join(d, "pkarr_js.mjs")] + args,
                           capture_output=True, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL, cwd=d)
    except subprocess.TimeoutExpired:
        return {"error": "timeout"}
    for line in reversed(p.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    return {"error": "no output: " + p.stderr[-300:]}


def wait_port(port, timeout=15):
    import socket
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False


def main():
    ic.require_libtorrent()
    d = npm_dir()
    if d is None:
        print("1..0 # SKIP node/npm or the npm package %s not available"
              % PKARR_NPM)
        return 0
    t = ic.Tap(TIME_LIMIT)
    ic.require_binaries()
    work = ic.tmpdir()
    net = ic.settled_net(t, NODES)
    boot = net.endpoints[2:5]

    hp = ic.free_port(udp=False, tcp=True)
    a = ic.Daemon(["--dht-port", str(ic.free_port(ip="0.0.0.0")),
                   "--http-listen", "127.0.0.1:%d" % hp]
                  + ic.bootstrap_args(net.endpoints[10:14]))
    t.ok(a.ready and wait_port(hp), "pkdns with http-listen 127.0.0.1:%d" % hp)
    relay_a = "http://127.0.0.1:%d" % hp
    reader = ltdht.Client([net.endpoints[NODES - 6]])
    writer = ltdht.Client([net.endpoints[7]], read_only=False)

    # ---- (a) JS relayPut to pkdns lands on the DHT --------------------------
    seed = os.urandom(32)
    pk, _ = ltdht.ed25519_keypair(seed)
    r = {}
    for _ in range(3):   # the daemon's table may still be filling
        r = js(d, ["put", relay_a, seed.hex(), "192.0.2.41"])
        if r.get("status") == 204:
            break
        time.sleep(2)
    t.is_(r.get("status"), 204, "JS relayPut to pkdns: 204 (%s)" % r)
    t.is_(r.get("key"), ic.zbase32(pk), "JS and pkdns agree on the key")
    g = reader.get_mutable(pk, timeout=10)
    t.ok(g["found"] and g.get("seq") == r.get("seq"),
         "libtorrent finds the relayed packet on the DHT (seq %s)"
         % g.get("seq"))

    # ---- (b) libtorrent puts, JS relayGet from pkdns ------------------------
    seed2 = os.urandom(32)
    pk2, _ = ltdht.ed25519_keypair(seed2)
    key2 = ic.zbase32(pk2)
    seq2 = int(time.time() * 1e6)
    put = writer.put_mutable(seed2, ic.dns_packet([(key2, "A", 300,
                                                    "192.0.2.42")]),
                             seq=seq2, timeout=15)
    t.ok(put["ok"], "libtorrent put a packet")
    r = js(d, ["get", relay_a, key2])
    t.ok(r.get("seq") == seq2 and r.get("a") == ["192.0.2.42"],
         "JS relayGet from pkdns returns it (%s)" % r)
    unknown = ic.zbase32(ltdht.ed25519_keypair(os.urandom(32))[0])
    r = js(d, ["get", relay_a, unknown])
    t.ok("error" in r, "JS relayGet of an unknown key fails (pkdns: 404)")

    # ---- (c) pkdns with no DHT node, relay: the JS relay server ---------------
    jp = ic.free_port(udp=False, tcp=True)
    jsdir = os.path.join(work, "js")
    os.makedirs(jsdir)
    jsrelay = subprocess.Popen(
        ["node", os.path.join(d, "pkarr_js.mjs"), "relay", str(jp), jsdir]
        + [ic.hostport(ep) for ep in net.endpoints[15:19]],
        cwd=d, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL)
    ic._procs.append(jsrelay)
    t.ok(wait_port(jp), "JS relay server on 127.0.0.1:%d" % jp)
    relay_js = "http://127.0.0.1:%d" % jp
    time.sleep(2)   # its DHT's table fills from the bootstrap nodes
    dead = ic.free_port()
    b = ic.Daemon(["--dht-mode", "client", "--dht-port", "0",
                   "--bootstrap", "127.0.0.1:%d" % dead, "--relay", relay_js])
    t.ok(b.ready, "pkdns with no reachable DHT node and relay: %s" % relay_js)
    status, rrs = ic.dig(b.dns_port, key2, "A")
    got = sorted(dd for _, ty, _, dd in rrs if ty == "A")
    t.ok(status == "NOERROR" and got == ["192.0.2.42"],
         "it answers the key through the JS relay (%s %s)" % (status, got))
    status, _ = ic.dig(b.dns_port, unknown, "A")
    t.is_(status, "NXDOMAIN", "a key the JS relay does not find: NXDOMAIN")
    b.stop_ok(t)

    # ---- (d) pkdns-cli --relay against the JS relay and pkdns ---------------
    seed3 = os.urandom(32)
    pk3, _ = ltdht.ed25519_keypair(seed3)
    seedfile = ic.write_seed(work, seed3)
    zonefile = os.path.join(work, "z.zone")
    with open(zonefile, "w") as f:
        f.write("@ 300 IN A 192.0.2.43\n")
    rc, out, err, _ = ic.cli(["publish", "--relay", relay_js, seedfile,
                              zonefile], [], timeout=20)
    t.ok(rc == 0 and "stored by relay" in out,
         "pkdns-cli publish --relay to the JS relay (%s)"
         % (out.strip() or err.strip()[-200:]))
    g = reader.get_mutable(pk3, timeout=10)
    t.ok(g["found"], "libtorrent finds the packet the JS relay put")
    rc, out, err, _ = ic.cli(["resolve", "--relay", relay_js,
                              ic.zbase32(pk3)], [], timeout=20)
    t.ok(rc == 0 and "192.0.2.43" in out,
         "pkdns-cli resolve --relay from the JS relay")
    rc, out, err, _ = ic.cli(["resolve", "--relay", relay_a, key2], [],
                             timeout=20)
    t.ok(rc == 0 and "192.0.2.42" in out,
         "pkdns-cli resolve --relay from pkdns")

    jsrelay.terminate()
    reader.close()
    writer.close()
    a.stop_ok(t)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
