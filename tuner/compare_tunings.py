#!/usr/bin/env python3
"""Compare two distilled tuning files (e.g. two seeds, two machines' shards) fairly.

For every shape of --shapes, the winner of A, the winner of B and the heuristic default are
compiled, checked and timed interleaved in one `dwconv measure` process, so that the ratio is
not a comparison of two noisy runs. Prints one line per shape and the geometric means.

  tuner/compare_tunings.py build/tuning/seed1.json build/tuning/seed2.json
  tuner/compare_tunings.py tuned.json tuned.json --target-a x86-64-avx512_zen4 --target-b x86-64-avx2
    (here: what this machine gets from another level's parameters vs its own)
"""
import argparse
import json
import re
import subprocess
import sys

from main_report import geomean, shape_rows, workload_key


def winners(path, threads, target):
    """workload -> params of one target's entries (a file may hold several ISA levels)."""
    with open(path) as f:
        entries = [e for e in json.load(f)["entries"] if e["threads"] == threads]
    targets = sorted({e["target"] for e in entries})
    if target is None and len(targets) > 1:
        sys.exit(f"{path} holds entries of {', '.join(targets)}: say which with --target-a/--target-b")
    return {e["workload"]: e["params"] for e in entries if target is None or e["target"] == target}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a", help="distilled tuning file A (dwconv db distill output)")
    ap.add_argument("b", help="distilled tuning file B")
    ap.add_argument("--shapes", default="bench/shapes.csv")
    ap.add_argument("--dwconv", default="build/tuner/dwconv", help="the dwconv command-line tool")
    ap.add_argument("--threads", type=int, default=1, help="the thread count the entries were tuned at")
    ap.add_argument("--target-a", help="A's entries of this target only (e.g. x86-64-avx512_zen4)")
    ap.add_argument("--target-b", help="B's entries of this target only (e.g. x86-64-avx2)")
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--tolerance", type=float, default=0.05, help="B/A counts as agreeing within this")
    args = ap.parse_args()

    a, b = winners(args.a, args.threads, args.target_a), winners(args.b, args.threads, args.target_b)
    rows = []
    for row in shape_rows(args.shapes):
        name, key = row[0], workload_key(row)
        if key not in a or key not in b:
            print(f"{name:12s} skipped: no entry for {key} in {'A' if key not in a else 'B'}")
            continue
        run = subprocess.run([args.dwconv, "measure", name, "--shapes", args.shapes, "--params", a[key],
                              "--params", b[key], "--params", "", "--repeats", str(args.repeats),
                              "--threads", str(args.threads)],
                             capture_output=True, text=True)
        g = [float(x) for x in re.findall(r"^\s*\d+\s+([\d.]+) GFLOP/s", run.stdout, re.M)]
        if len(g) != 3:
            sys.exit(f"dwconv measure {name} failed:\n{run.stdout}{run.stderr}")
        rows.append((name, *g))
        print(f"{name:12s} A {g[0]:6.1f}  B {g[1]:6.1f}  default {g[2]:6.1f} GFLOP/s   B/A {g[1] / g[0]:.3f}"
              f"   A/default {g[0] / g[2]:.3f}   B/default {g[1] / g[2]:.3f}", flush=True)
    if not rows:
        sys.exit("no shape in both files")

    agree = sum(abs(r[2] / r[1] - 1) <= args.tolerance for r in rows)
    print(f"geomean A/default {geomean([r[1] / r[3] for r in rows]):.3f}  B/default {geomean([r[2] / r[3] for r in rows]):.3f}"
          f"  B/A within {args.tolerance:.0%} on {agree} of {len(rows)} shapes")


if __name__ == "__main__":
    main()
