#!/usr/bin/env python3
"""Compare two distilled tuning files (e.g. two seeds, two machines' shards) fairly.

For every shape of --shapes, the winner of A, the winner of B and the heuristic default are
compiled, checked and timed interleaved in one `dwconv measure` process, so that the ratio is
not a comparison of two noisy runs. Prints one line per shape and the geometric means.

  tuner/compare_tunings.py build/tuning/seed1.json build/tuning/seed2.json
"""
import argparse
import json
import math
import re
import subprocess
import sys


def winners(path):
    with open(path) as f:
        return {e["workload"]: e["params"] for e in json.load(f)["entries"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a", help="distilled tuning file A (dwconv db distill output)")
    ap.add_argument("b", help="distilled tuning file B")
    ap.add_argument("--shapes", default="bench/shapes.csv")
    ap.add_argument("--dwconv", default="build/tuner/dwconv", help="the dwconv command-line tool")
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--tolerance", type=float, default=0.05, help="B/A counts as agreeing within this")
    args = ap.parse_args()

    a, b = winners(args.a), winners(args.b)
    names = []
    with open(args.shapes) as f:
        for line in f:
            if line.strip() and not line.startswith("#") and not line.startswith("name,"):
                names.append(line.split(",")[0])
    rows = []
    for name in names:
        info = subprocess.run([args.dwconv, "info", name, "--shapes", args.shapes], capture_output=True, text=True)
        m = re.search(r"^workload:\s+(\S+)", info.stdout, re.M)
        if not m:
            sys.exit(f"dwconv info {name} failed: {info.stderr.strip()}")
        key = m.group(1)
        if key not in a or key not in b:
            print(f"{name:12s} skipped: no entry for {key} in {'A' if key not in a else 'B'}")
            continue
        run = subprocess.run([args.dwconv, "measure", name, "--shapes", args.shapes, "--params", a[key],
                              "--params", b[key], "--params", "", "--repeats", str(args.repeats)],
                             capture_output=True, text=True)
        g = [float(x) for x in re.findall(r"^\s*\d+\s+([\d.]+) GFLOP/s", run.stdout, re.M)]
        if len(g) != 3:
            sys.exit(f"dwconv measure {name} failed:\n{run.stdout}{run.stderr}")
        rows.append((name, *g))
        print(f"{name:12s} A {g[0]:6.1f}  B {g[1]:6.1f}  default {g[2]:6.1f} GFLOP/s   B/A {g[1] / g[0]:.3f}"
              f"   A/default {g[0] / g[2]:.3f}   B/default {g[1] / g[2]:.3f}", flush=True)
    if not rows:
        sys.exit("no shape in both files")

    def gm(xs):
        return math.exp(sum(math.log(x) for x in xs) / len(xs))

    agree = sum(abs(r[2] / r[1] - 1) <= args.tolerance for r in rows)
    print(f"geomean A/default {gm([r[1] / r[3] for r in rows]):.3f}  B/default {gm([r[2] / r[3] for r in rows]):.3f}"
          f"  B/A within {args.tolerance:.0%} on {agree} of {len(rows)} shapes")


if __name__ == "__main__":
    main()
