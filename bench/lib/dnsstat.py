#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Summarise dnsperf output (stdin) as one 'key=value' line.

Reads dnsperf's closing statistics (sent, completed, lost, QPS, average
latency, response codes) and, when dnsperf ran with -v, every per-query
line ("> NOERROR name type 0.000134") to compute latency percentiles,
which dnsperf 2.10 does not print itself. Stdlib only.
"""
import argparse
import re
import sys


def pct(sorted_vals, p):
    if not sorted_vals:
        return float("nan")
    k = (len(sorted_vals) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(sorted_vals) - 1)
    return sorted_vals[lo] + (sorted_vals[hi] - sorted_vals[lo]) * (k - lo)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--label", default="run")
    args = ap.parse_args()
    lat = []
    rc = {}
    stats = {}
    for line in sys.stdin:
        if line.startswith("> "):
            parts = line.split()
            if len(parts) >= 3:
                try:
                    lat.append(float(parts[-1]) * 1000.0)
                except ValueError:
                    pass
                rc[parts[1]] = rc.get(parts[1], 0) + 1
            continue
        m = re.match(r"\s*Queries sent:\s+(\d+)", line)
        if m:
            stats["sent"] = int(m.group(1))
        m = re.match(r"\s*Queries completed:\s+(\d+)", line)
        if m:
            stats["completed"] = int(m.group(1))
        m = re.match(r"\s*Queries lost:\s+(\d+)", line)
        if m:
            stats["lost"] = int(m.group(1))
        m = re.match(r"\s*Queries per second:\s+([\d.]+)", line)
        if m:
            stats["qps"] = float(m.group(1))
        m = re.match(r"\s*Average Latency \(s\):\s+([\d.]+) \(min ([\d.]+), max ([\d.]+)\)", line)
        if m:
            stats["avg_ms"] = float(m.group(1)) * 1000
            stats["max_ms"] = float(m.group(3)) * 1000
        m = re.match(r"\s*Response codes:\s+(.*)", line)
        if m and not rc:
            for name, n in re.findall(r"([A-Z]+) (\d+)", m.group(1)):
                rc[name] = int(n)
        m = re.match(r"\s*Average packet size:\s+request (\d+), response (\d+)", line)
        if m:
            stats["resp_bytes"] = int(m.group(2))
    out = ["label=%s" % args.label]
    for k in ("qps", "sent", "completed", "lost", "avg_ms", "max_ms", "resp_bytes"):
        if k in stats:
            v = stats[k]
            out.append("%s=%s" % (k, ("%.3f" % v) if isinstance(v, float) else v))
    if lat:
        lat.sort()
        for p in (50, 90, 99, 99.9):
            out.append("p%s_ms=%.3f" % (str(p).replace(".", ""), pct(lat, p)))
    out.append("rcodes=" + ",".join("%s:%d" % kv for kv in sorted(rc.items())))
    print(" ".join(out))
    sys.stdout.flush()
    return 0 if stats.get("completed") else 1


if __name__ == "__main__":
    sys.exit(main())
