#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Measure BEP 44 look-ups: pkdns's client against libtorrent's, on a pkdns
DHT network and on a libtorrent one, in the same run.

Not a test. It starts `pkdns --testnet N` (N pkdns DHT nodes on
127.0.0.1:P..P+N-1) and a libtorrent network of N nodes (ltdht.Net),
publishes K mutable items on each (pkdns-cli dht put-mutable on the pkdns
network, a libtorrent client on the libtorrent one: a short-lived pkdns-cli
that puts stays in libtorrent's routing tables as a silent node), and then,
for every key, a fresh client of each kind gets it:

  pkdns:      pkdns-cli -v dht get-mutable KEY, bootstrapped from 3 random
              nodes; "nodes queried" of its statistics line is the number
              of get queries it sent (its look-up queries no node twice),
              "first after" the time to the first verified value, the last
              figure the time to the end of the look-up;
  libtorrent: a new ltdht.Client (read-only) bootstrapped from 3 random
              nodes; dht_get_item, the change of dht.dht_messages_out, the
              time to the first item alert and to the authoritative one.

Both figures leave the join out: pkdns-cli waits for a few nodes in its
table before it starts the look-up, and ltdht.Client joins before the get.
Prints a table of medians and, with --md FILE, writes it with the command
line into FILE.

  /usr/bin/python3 tests/interop/measure_lookups.py [--nodes 200]
      [--keys 20] [--md tests/interop/MEASUREMENTS.md]
"""

import argparse
import os
import random
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import interop_common as ic  # noqa: E402
import ltdht  # noqa: E402


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x):
    if x is None:
        return "-"
    return "%g" % round(x, 1)


def get_pkdns(pk, boot, timeout):
    rc, out, err, secs = ic.cli(["dht", "get-mutable", pk.hex()], boot,
                                timeout=timeout)
    st = ic.cli_stats(err) or {}
    return {"found": rc == 0 and ic.parse_get_mutable(out) is not None,
            "messages": st.get("queried"), "first_ms": st.get("first"),
            "total_ms": st.get("ms"), "wall_s": secs}


def get_lt(pk, boot, timeout):
    c = ltdht.Client(boot)
    try:
        g = c.get_mutable(pk, timeout=timeout)
    finally:
        c.close()
    return {"found": g["found"], "messages": g.get("messages_out"),
            "first_ms": g.get("ms_to_first"),
            "total_ms": g.get("ms_total") if g.get("complete") else None,
            "join_ms": c.join_ms}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--nodes", type=int, default=200)
    p.add_argument("--keys", type=int, default=20)
    p.add_argument("--timeout", type=float, default=16,
                   help="bound of each get (libtorrent's request timeout "
                   "is 15 s)")
    p.add_argument("--md", help="write the results into this Markdown file")
    p.add_argument("--seed", type=int, help="random seed for bootstrap "
                   "choices")
    args = p.parse_args()
    ic.require_libtorrent()
    rnd = random.Random(args.seed)
    pkdns, pkcli = ic.binaries()
    for b in (pkdns, pkcli):
        if not os.access(b, os.X_OK):
            sys.exit("%s not found; set top_builddir" % b)
    work = ic.tmpdir()
    t0 = time.monotonic()

    # our network: pkdns --testnet N (the daemon's own node joins it too)
    tport = None
    for _ in range(20):
        cand = random.randint(10000, 32000 - args.nodes)
        if all(ic.port_free(cand + i) for i in range(0, args.nodes, 7)):
            tport = cand
            break
    d = ic.Daemon(["--testnet", str(args.nodes), "--testnet-port",
                   str(tport), "--dht-port", "0"], verbose=1,
                  ready_timeout=60)
    if not d.ready:
        sys.exit("pkdns --testnet did not start:\n" + d.log()[-2000:])
    ours = [("127.0.0.1", tport + i) for i in range(args.nodes)]
    print("# pkdns testnet: %d nodes on 127.0.0.1:%d (%.1f s)" %
          (args.nodes, tport, time.monotonic() - t0), flush=True)

    t1 = time.monotonic()
    net = ic.start_net(args.nodes)
    ready, waited, sizes = net.wait_ready(timeout=120)
    print("# libtorrent network: %d nodes, ready %s in %.1f s "
          "(tables %d..%d)" % (args.nodes, ready, time.monotonic() - t1,
                               min(sizes), max(sizes)), flush=True)
    lts = net.endpoints
    # let our testnet's tables fill as well (started before, so settled)
    time.sleep(max(0, 5 - (time.monotonic() - t0)))

    # publish
    keys = {"pkdns": [], "libtorrent": []}
    for i in range(args.keys):
        seed = os.urandom(32)
        pk, _ = ltdht.ed25519_keypair(seed)
        sf = ic.write_seed(work, seed, "k%d.seed" % i)
        rc, out, err, _ = ic.cli(["dht", "put-mutable", "-k", sf,
                                  "--value-hex", os.urandom(64).hex()],
                                 rnd.sample(ours, 3), timeout=15)
        if rc == 0:
            keys["pkdns"].append(pk)
        else:
            print("# put %d on pkdns failed: %s" % (i, err.strip()[-200:]))
    writer = ltdht.Client(rnd.sample(lts, 3), read_only=False)
    for i in range(args.keys):
        seed = os.urandom(32)
        pk, _ = ltdht.ed25519_keypair(seed)
        r = writer.put_mutable(seed, os.urandom(64), timeout=20)
        if r["ok"]:
            keys["libtorrent"].append(pk)
        else:
            print("# put %d on libtorrent failed: %r" % (i, r))
    print("# published %d + %d keys" % (len(keys["pkdns"]),
                                         len(keys["libtorrent"])),
          flush=True)

    # get: each key, each client kind, each network
    eps = {"pkdns": ours, "libtorrent": lts}
    results = {}
    for netname in ("pkdns", "libtorrent"):
        for cname, fn in (("pkdns-cli", get_pkdns), ("libtorrent", get_lt)):
            rows = []
            for pk in keys[netname]:
                rows.append(fn(pk, rnd.sample(eps[netname], 3),
                               args.timeout))
            results[(netname, cname)] = rows
            print("# %s network, %s client: %d/%d found" %
                  (netname, cname, sum(r["found"] for r in rows), len(rows)),
                  flush=True)
    writer.close()
    ic.close_net(net)
    d.stop()

    lines = ["| network (%d nodes) | client | found | messages sent "
             "(median) | first value, ms (median) | look-up end, ms "
             "(median) |" % args.nodes,
             "| --- | --- | --- | --- | --- | --- |"]
    for (netname, cname), rows in results.items():
        found = [r for r in rows if r["found"]]
        ends = [r["total_ms"] for r in found]
        end_s = fmt(med(ends))
        if any(e is None for e in ends):
            end_s += " (%d of %d not ended within %g s)" % (
                sum(e is None for e in ends), len(ends), args.timeout)
        lines.append("| %s | %s | %d/%d | %s | %s | %s |" % (
            netname, cname, len(found), len(rows),
            fmt(med(r["messages"] for r in found)),
            fmt(med(r["first_ms"] for r in found)), end_s))
    table = "\n".join(lines)
    print(table)
    cmd = "top_builddir=BUILD /usr/bin/python3 tests/interop/" \
        "measure_lookups.py --nodes %d --keys %d" % (args.nodes, args.keys)
    if args.md:
        cmd += " --md %s" % args.md
    print("# %s (%.0f s)" % (cmd, time.monotonic() - t0))
    if args.md:
        write_md(args.md, table, cmd, time.monotonic() - t0)
    ic.cleanup()
    return 0


def write_md(path, table, cmd, secs):
    """Replace the generated section of path (or create it)."""
    begin, end = "<!-- measure_lookups begin -->", \
        "<!-- measure_lookups end -->"
    body = "%s\n\nMeasured %s on this machine (%d CPUs) in %.0f s with\n\n" \
        "    %s\n\n%s\n%s" % (
            begin, time.strftime("%Y-%m-%d"), os.cpu_count() or 0, secs, cmd,
            table, end)
    text = ""
    if os.path.exists(path):
        with open(path) as f:
            text = f.read()
    if begin in text and end in text:
        text = text[:text.index(begin)] + body + \
            text[text.index(end) + len(end):]
    else:
        text = (text.rstrip("\n") + "\n\n" if text else "") + body + "\n"
    with open(path, "w") as f:
        f.write(text)


if __name__ == "__main__":
    sys.exit(main())
