#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Medians per label and ratios A/B over 'key=value' result lines.

Usage: summarise.py FILE A B [KEY ...]
Each line of FILE is 'label=X k=v ...' (as lib/dnsstat.py and the bench
scripts print). For every KEY it prints the median of A, of B (with the
per-round values) and the ratio median(A)/median(B); when A and B have
as many values (rounds that alternate them), the ratio within each round
too, sorted, and its median.
"""
import statistics
import sys


def load(path):
    rows = []
    with open(path) as f:
        for line in f:
            kv = dict(p.split("=", 1) for p in line.split() if "=" in p)
            if "label" in kv:
                rows.append(kv)
    return rows


def main():
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    rows = load(sys.argv[1])
    a, b = sys.argv[2], sys.argv[3]
    keys = sys.argv[4:]
    for k in keys:
        va = [float(r[k]) for r in rows if r["label"] == a and k in r]
        vb = [float(r[k]) for r in rows if r["label"] == b and k in r]
        if not va or not vb:
            print("%-12s %s: n/a" % (k, a))
            continue
        ma, mb = statistics.median(va), statistics.median(vb)
        ratio = ma / mb if mb else float("nan")
        print("%-12s %s %.3f [%s]  %s %.3f [%s]  ratio %s/%s = %.2f" % (
            k, a, ma, " ".join("%.3f" % v for v in va),
            b, mb, " ".join("%.3f" % v for v in vb), a, b, ratio))
        if len(va) == len(vb) and len(va) > 1 and all(vb):
            # runs of A and B alternate: the ratio within each round
            rr = sorted(x / y for x, y in zip(va, vb))
            print("%-12s per-round %s/%s: %s  median %.2f" % (
                k, a, b, " ".join("%.2f" % r for r in rr), statistics.median(rr)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
