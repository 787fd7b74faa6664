#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Cold look-ups on an emulated internet (bench/cold_internet.sh, issue 15).

  cold_internet.py --net BIN --pkdns BIN --pkdns-cli BIN --js-modules DIR
                   --work DIR --port P [--nodes 500] [--keys 100]
                   [--rtt 100 --loss 5 --dead 30 --seed 1] [--label L]
                   [--startup N]

One network (cold_internet_net: the emulated testnet alone in its own
process), KEYS keys published on it with pkdns-cli, then three clients
from outside, each joined through the testnet's first node:
  pkdns      a daemon (--bootstrap), asked over DNS: query to answer;
  lt         one libtorrent session (tests/interop/ltdht.py Client):
             dht_get_mutable_item to the first dht_mutable_item_alert
             with an item;
  js         npm pkarr's DHT (cold_internet_js.mjs): get() to the first
             verified packet.
Every key is asked once of each, in an order that turns over key by key
(all six orders in turn), each look-up given 10 s. Messages: the testnet
tallies the datagrams each client's address sent it, read before and
after the look-ups (2 s after the last, for look-ups that finish in the
background): messages per look-up = that difference / keys, the same
count for every client and everything each sends while looking up
(routing-table upkeep included). With --startup N, N more keys measure
pkdns's time from start to its first answer, with an empty cache
directory and with the routing table the look-up phase's daemon saved.
Prints one "label=..." summary line per client, paired ratios and the
startup figures.
"""
import argparse
import concurrent.futures
import os
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "interop"))
sys.path.insert(0, os.path.join(HERE, "lib"))
import dnsq  # noqa: E402
import ltdht  # noqa: E402

lt = ltdht.lt
ZB32 = "ybndrfg8ejkmcpqxot1uwisza345h769"
TIMEOUT = 10.0
ORDERS = [("pkdns", "lt", "js"), ("lt", "js", "pkdns"), ("js", "pkdns", "lt"),
          ("pkdns", "js", "lt"), ("js", "lt", "pkdns"), ("lt", "pkdns", "js")]


def say(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


pct = dnsq.pct


def z32_hex(z):
    n = 0
    for ch in z:
        n = n * 32 + ZB32.index(ch)
    return "%064x" % (n >> 4)


def free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def close_pipe(p):
    """End a helper that runs until its stdin closes (bounded wait)."""
    p.stdin.close()
    try:
        p.wait(5)
    except subprocess.TimeoutExpired:
        p.kill()


class Net:
    def __init__(self, binary, nodes, port, rtt, loss, dead, seed):
        self.p = subprocess.Popen([binary, str(nodes), str(port), str(rtt), str(loss), str(dead),
                                   str(seed)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True)
        if self.p.stdout.readline().strip() != "ready":
            raise RuntimeError("the network did not start")

    def tally(self):
        self.p.stdin.write("tally\n")
        self.p.stdin.flush()
        out = {}
        while True:
            line = self.p.stdout.readline()
            if not line or line.strip() == "end":
                return out
            ip, port, n = line.split()
            out[(ip, int(port))] = int(n)

    def nodes(self):
        """[(port, delay_ms, dead)] of every node."""
        self.p.stdin.write("nodes\n")
        self.p.stdin.flush()
        out = []
        while True:
            line = self.p.stdout.readline()
            if not line or line.strip() == "end":
                return out
            port, delay, state = line.split()
            out.append((int(port), int(delay), state == "dead"))

    def close(self):
        close_pipe(self.p)


def make_keys(cli, work, n, boot):
    """Generate and publish n keys: [(z32, hex)] of those published."""
    kd = os.path.join(work, "k")
    os.makedirs(kd, exist_ok=True)
    keys = []
    for i in range(n):
        seed = os.path.join(kd, "seed%d" % i)
        subprocess.run([cli, "generate", "-o", seed], check=True, capture_output=True)
        z = subprocess.run([cli, "publickey", seed], check=True, capture_output=True,
                           text=True).stdout.strip()
        with open(os.path.join(kd, "zone%d" % i), "w") as f:
            f.write("$TTL 3600\n@ IN A 10.1.%d.%d\n" % (i // 256, i % 256))
        keys.append((i, z))

    def publish(k):
        i, z = k
        r = subprocess.run([cli, "--bootstrap", boot, "publish", os.path.join(kd, "seed%d" % i),
                            os.path.join(kd, "zone%d" % i)], capture_output=True, text=True,
                           timeout=120)
        return r.returncode == 0 and "bytes stored on" in (r.stdout + r.stderr)

    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        ok = list(ex.map(publish, keys))
    return [(z, z32_hex(z)) for (i, z), good in zip(keys, ok) if good]


def start_pkdns(a, boot, dns_port, dht_port, cache_dir, log):
    os.makedirs(cache_dir, exist_ok=True)
    cmd = [a.pkdns, "-d", "-v", "-v", "--bootstrap", boot, "--dht-port", str(dht_port),
           "-l", "127.0.0.1:%d" % dns_port, "-f", "127.0.0.1:9", "--dnssec", "no",
           "--ratelimit", "0", "--dht-ratelimit", "0", "--stats-interval", "0",
           "--cache-dir", cache_dir]
    return cmd, open(log, "a")


stop = dnsq.stop


class Js:
    def __init__(self, script, modules, boot, storage, log):
        self.p = subprocess.Popen(["node", script, modules, boot, storage], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=open(log, "w"), text=True)
        line = self.p.stdout.readline().split()
        if not line or line[0] != "ready":
            raise RuntimeError("the JS client did not start")
        self.addr = (line[1], int(line[2]))
        self.join_ms = int(line[3])

    def get(self, hexpk):
        self.p.stdin.write("get %s\n" % hexpk)
        self.p.stdin.flush()
        r = self.p.stdout.readline().split()
        return r[0] == "ok", float(r[2])

    def close(self):
        close_pipe(self.p)


def lt_get(c, pk):
    """(found, ms to the first item) of one dht_get_mutable_item."""
    t0 = time.monotonic()
    c.sess.dht_get_mutable_item(pk, b"")
    while time.monotonic() - t0 < TIMEOUT:
        c.sess.wait_for_alert(100)
        for al in c._alerts():
            if isinstance(al, lt.dht_mutable_item_alert) and bytes(al.key) == pk and \
                    ltdht._alert_item(al) is not None:
                return True, (time.monotonic() - t0) * 1000
    return False, TIMEOUT * 1000


def pkdns_get(sock, port, z32):
    return dnsq.timed_answer(sock, port, z32, TIMEOUT)


def startup_ms(a, boot, cache_dir, z32, log):
    """ms from starting pkdns with cache_dir to its first answer for z32."""
    dns_port = free_udp_port()
    cmd, _ = start_pkdns(a, boot, dns_port, 0, cache_dir, log)
    r = subprocess.run([sys.executable, os.path.join(HERE, "lib", "dnsq.py"), "--port",
                        str(dns_port), "--start-ms", "--wait", "15", "--log", log, z32, "A",
                        "--"] + cmd, capture_output=True, text=True, timeout=40)
    try:
        return float(r.stdout.split()[0]) if r.returncode == 0 else None
    except (IndexError, ValueError):
        return None


def summary(label, ms, fails, n, msgs, med_rtt):
    return ("label=%s n=%d found=%d notfound_share=%.2f p50_ms=%.0f p90_ms=%.0f p99_ms=%.0f "
            "p50_rtts=%.1f p90_rtts=%.1f p99_rtts=%.1f msgs_per_lookup=%.1f" % (
                label, n, n - fails, fails / n if n else float("nan"), pct(ms, 50), pct(ms, 90),
                pct(ms, 99), pct(ms, 50) / med_rtt, pct(ms, 90) / med_rtt,
                pct(ms, 99) / med_rtt, msgs))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--net", required=True)
    ap.add_argument("--pkdns", required=True)
    ap.add_argument("--pkdns-cli", required=True)
    ap.add_argument("--js-modules", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--nodes", type=int, default=500)
    ap.add_argument("--keys", type=int, default=100)
    ap.add_argument("--rtt", type=int, default=100)
    ap.add_argument("--loss", type=int, default=5)
    ap.add_argument("--dead", type=int, default=30)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--label", default="net")
    ap.add_argument("--startup", type=int, default=0)
    a = ap.parse_args()
    boot = "127.0.0.1:%d" % a.port
    try:
        net = Net(a.net, a.nodes, a.port, a.rtt, a.loss, a.dead, a.seed)
    except RuntimeError as e:
        say("%s (a port of the range taken meanwhile?)" % e)
        return 3
    procs = []
    try:
        say("%s: %d nodes on %s, rtt %d ms, loss %d %%, dead %d %%, seed %d" % (
            a.label, a.nodes, boot, a.rtt, a.loss, a.dead, a.seed))
        with open(os.path.join(a.work, "nodes-%s.txt" % a.label), "w") as f:
            for port, delay, dead in net.nodes():
                f.write("%d %d %s\n" % (port, delay, "dead" if dead else "live"))
        t0 = time.monotonic()
        keys = make_keys(a.pkdns_cli, a.work, a.keys + 2 * a.startup, boot)
        say("published %d of %d keys in %.0f s" % (len(keys), a.keys + 2 * a.startup,
                                                   time.monotonic() - t0))
        extra, keys = keys[a.keys:], keys[:a.keys]
        dns_port, dht_port = free_udp_port(), free_udp_port()
        pk_log = os.path.join(a.work, "pkdns-%s.log" % a.label)
        cache = os.path.join(a.work, "cache-%s" % a.label)
        cmd, log = start_pkdns(a, boot, dns_port, dht_port, cache, pk_log)
        pk = subprocess.Popen(cmd, stdout=log, stderr=log)
        procs.append(pk)
        # a client whose first pings to the bootstrap node are all lost
        # (the emulation loses them too) never joins: then a fresh one
        for attempt in range(3):
            c = ltdht.Client([ltdht.parse_hostport(boot)], join_timeout=10.0)
            if c.join_ms < 9900:
                break
            if attempt == 2:  # keep the last one: it may join while warming up
                say("libtorrent did not join in 10 s three times; going on with the last")
                break
            say("libtorrent did not join in 10 s; a new client")
            c.close()
        js = Js(os.path.join(HERE, "cold_internet_js.mjs"), a.js_modules, boot,
                os.path.join(a.work, "js-%s" % a.label), os.path.join(a.work, "js-%s.log" % a.label))
        say("clients joined: libtorrent %d ms, js %d ms" % (c.join_ms, js.join_ms))
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        # warm every client's routing table with look-ups of absent keys
        for _ in range(2):
            z = "".join(ZB32[b % 32] for b in os.urandom(52))
            z = z[:51] + ZB32[ZB32.index(z[51]) & 0x10]
            pkdns_get(sock, dns_port, z)
            lt_get(c, bytes.fromhex(z32_hex(z)))
            js.get(z32_hex(z))
        src = {"pkdns": ("127.0.0.1", dht_port), "lt": (c.ip, c.port), "js": js.addr}
        before = net.tally()
        res = {w: {} for w in src}
        for i, (z32, hexpk) in enumerate(keys):
            for who in ORDERS[i % len(ORDERS)]:
                if who == "pkdns":
                    ok, ms = pkdns_get(sock, dns_port, z32)
                elif who == "lt":
                    ok, ms = lt_get(c, bytes.fromhex(hexpk))
                else:
                    ok, ms = js.get(hexpk)
                res[who][z32] = (ok, ms)
                print("%s %s %s %s %.1f" % (a.label, who, z32, "ok" if ok else "FAIL", ms),
                      flush=True)
        time.sleep(2)
        after = net.tally()
        n = len(keys)
        for who in ("pkdns", "lt", "js"):
            ms = [v[1] for v in res[who].values() if v[0]]
            fails = sum(1 for v in res[who].values() if not v[0])
            msgs = (after.get(src[who], 0) - before.get(src[who], 0)) / n if n else 0
            print(summary("%s-%s" % (who, a.label), ms, fails, n, msgs, a.rtt), flush=True)
        for other in ("lt", "js"):
            both = [k for k in res["pkdns"] if res["pkdns"][k][0] and res[other][k][0]]
            if both:
                r = [res["pkdns"][k][1] / res[other][k][1] for k in both]
                print("paired %s: pkdns/%s keys=%d pkdns_faster=%d median_ratio=%.2f "
                      "p90_ratio=%.2f" % (a.label, other, len(both),
                                          sum(1 for x in r if x < 1), statistics.median(r),
                                          pct(r, 90)), flush=True)
        js.close()
        c.close()
        stop(pk)
        if a.startup and extra:
            empty, saved = [], []
            for j in range(min(a.startup, len(extra) // 2)):
                d = os.path.join(a.work, "empty-%s-%d" % (a.label, j))
                empty.append(startup_ms(a, boot, d, extra[2 * j][0], pk_log + ".start"))
                saved.append(startup_ms(a, boot, cache, extra[2 * j + 1][0], pk_log + ".start"))
            print("startup %s: first answer from start, ms: empty cache-dir %s (median %.0f); "
                  "saved routing table %s (median %.0f)" % (
                      a.label, [round(x) if x else None for x in empty],
                      statistics.median([x for x in empty if x] or [float("nan")]),
                      [round(x) if x else None for x in saved],
                      statistics.median([x for x in saved if x] or [float("nan")])), flush=True)
    finally:
        for p in procs:
            stop(p)
        net.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
