#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Cold look-ups on one DHT network: pkdns (through DNS) against
libtorrent's dht_get_mutable_item, key by key, alternating.

  cold.py --dns-port P --bootstrap H:P --keys FILE --pkdns-log LOG
          [--label NET] [--warmup 3]

FILE has one published key per line: "z32 hex". For each key, in the
order A B for even keys and B A for odd ones, it
  - asks pkdns (UDP, "<z32>. A") and times the answer in this process
    (the client's view: time to first answer, rcode, answer count);
  - asks one long-lived libtorrent session (read-only client from
    tests/interop/ltdht.py) for the mutable item, waiting on alerts with
    wait_for_alert so the time to the first item is not quantised by a
    polling sleep; messages are the change in dht_messages_out.
pkdns's messages per look-up come from its debug log ("<key>: look-up
done: N queried, ..."), read at the end. Prints one line per look-up and
a summary; "label=..." lines feed lib/summarise.py.
"""
import argparse
import os
import re
import socket
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "interop"))
sys.path.insert(0, HERE)
import dnsq  # noqa: E402
import ltdht  # noqa: E402

lt = ltdht.lt


pct = dnsq.pct


def pkdns_get(sock, port, z32, timeout=10.0):
    return dnsq.timed_answer(sock, port, z32, timeout)


def lt_get(c, pk, timeout=10.0, after_first=2.0):
    """(found, ms to first item, ms until the look-up ended or was given
    up, messages sent, complete). A look-up still running after_first
    seconds past its first item is given up: libtorrent waits 15 s on a
    dead node, and that is not the figure measured here."""
    before = c.counters()
    t0 = time.monotonic()
    c.sess.dht_get_mutable_item(pk, b"")
    first = None
    done = False
    while not done and time.monotonic() - t0 < timeout:
        if first is not None and time.monotonic() - t0 > first / 1000 + after_first:
            break
        c.sess.wait_for_alert(5)
        for a in c._alerts():
            if not isinstance(a, lt.dht_mutable_item_alert) or bytes(a.key) != pk:
                continue
            if first is None and ltdht._alert_item(a) is not None:
                first = (time.monotonic() - t0) * 1000
            if a.authoritative:
                done = True
    total = (time.monotonic() - t0) * 1000
    after = c.counters()
    msgs = after.get("dht.dht_messages_out", 0) - before.get("dht.dht_messages_out", 0)
    return first is not None, first, total, msgs, done


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dns-port", type=int, required=True)
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--keys", required=True)
    ap.add_argument("--pkdns-log", required=True)
    ap.add_argument("--label", default="net")
    ap.add_argument("--warmup", type=int, default=3)
    a = ap.parse_args()
    keys = [l.split() for l in open(a.keys) if l.strip()]
    c = ltdht.Client([ltdht.parse_hostport(a.bootstrap)])
    print("# libtorrent client joined in %d ms" % c.join_ms, file=sys.stderr)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    # warm both routing tables with look-ups of absent keys (not counted)
    for _ in range(a.warmup):
        pk = os.urandom(32)
        z = dnsq_z32(pk)
        if z:
            pkdns_get(sock, a.dns_port, z, 5)
        lt_get(c, pk, 3, 0)
    pk_ms, lt_ms, lt_tot, lt_msgs, pk_fail, lt_fail, lt_done = [], [], [], [], 0, 0, 0
    pk_by_key, lt_by_key = {}, {}
    for i, (z32, hexpk) in enumerate(keys):
        pk = bytes.fromhex(hexpk)
        order = ("pkdns", "lt") if i % 2 == 0 else ("lt", "pkdns")
        for who in order:
            if who == "pkdns":
                ok, ms = pkdns_get(sock, a.dns_port, z32)
                if ok:
                    pk_ms.append(ms)
                    pk_by_key[z32] = ms
                else:
                    pk_fail += 1
                print("%s pkdns %s %s %.3f" % (a.label, z32, "ok" if ok else "FAIL", ms))
            else:
                ok, first, total, msgs, done = lt_get(c, pk)
                lt_done += done
                if ok:
                    lt_ms.append(first)
                    lt_by_key[z32] = first
                    lt_tot.append(total)
                    lt_msgs.append(msgs)
                else:
                    lt_fail += 1
                print("%s lt %s %s %s %.3f %d %s" % (
                    a.label, z32, "ok" if ok else "FAIL", "%.3f" % first if first else "-",
                    total, msgs, "complete" if done else "given-up"))
            sys.stdout.flush()
    c.close()
    # pkdns's look-ups go on after the answer: let them end, then read its log
    time.sleep(2)
    wanted = {k[0] for k in keys}
    pk_msgs, pk_tot = [], []
    rx = re.compile(r"pkarr\] debug: (\S+): look-up done: (\d+) queried, (\d+) responses, "
                    r"(\d+) values, (\d+) ms")
    with open(a.pkdns_log, errors="replace") as f:
        for line in f:
            m = rx.search(line)
            if m and m.group(1) in wanted:
                pk_msgs.append(int(m.group(2)))
                pk_tot.append(int(m.group(5)))
    n = len(keys)
    pk_slow = sum(1 for t in pk_tot if t >= 1000)
    print("label=pkdns-%s n=%d found=%d p50_ms=%.3f p95_ms=%.3f mean_ms=%.3f max_ms=%.3f "
          "msgs_mean=%.1f msgs_p50=%.1f total_p50_ms=%.1f slow_or_incomplete=%d" % (
              a.label, n, len(pk_ms), pct(pk_ms, 50), pct(pk_ms, 95),
              statistics.mean(pk_ms) if pk_ms else float("nan"), max(pk_ms, default=float("nan")),
              statistics.mean(pk_msgs) if pk_msgs else float("nan"),
              pct(pk_msgs, 50), pct(pk_tot, 50), pk_slow))
    print("label=lt-%s n=%d found=%d p50_ms=%.3f p95_ms=%.3f mean_ms=%.3f max_ms=%.3f "
          "msgs_mean=%.1f msgs_p50=%.1f total_p50_ms=%.1f slow_or_incomplete=%d" % (
              a.label, n, len(lt_ms), pct(lt_ms, 50), pct(lt_ms, 95),
              statistics.mean(lt_ms) if lt_ms else float("nan"), max(lt_ms, default=float("nan")),
              statistics.mean(lt_msgs) if lt_msgs else float("nan"),
              pct(lt_msgs, 50), pct(lt_tot, 50), n - lt_done))
    # Paired: the same key, asked of both within a millisecond or two,
    # so machine noise that moves both medians between runs cancels.
    both = [k for k in pk_by_key if k in lt_by_key]
    if both:
        print("paired: keys=%d pkdns_faster=%d median_ratio=%.2f" % (
            len(both), sum(1 for k in both if pk_by_key[k] < lt_by_key[k]),
            statistics.median(pk_by_key[k] / lt_by_key[k] for k in both)))
    return 0 if pk_ms and lt_ms else 1


ZB32 = "ybndrfg8ejkmcpqxot1uwisza345h769"


def dnsq_z32(pk):
    n = int.from_bytes(pk, "big") << 4
    return "".join(ZB32[(n >> (5 * (51 - i))) & 31] for i in range(52))


if __name__ == "__main__":
    sys.exit(main())
