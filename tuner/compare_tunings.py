#!/usr/bin/env python3
"""Compare two distilled tuning files (e.g. two seeds, two machines' shards) fairly.

For every shape of --shapes, the winner of A, the winner of B and the heuristic default are
compiled, checked and timed interleaved in one `dwconv measure` process, so that the ratio is
not a comparison of two noisy runs; --processes such processes (default 3, each compiling
again), and each ratio is the median over them: on a shared machine the same code's speed
relative to other code moves by several percent between processes. Prints one line per shape
and the geometric means.

  tuner/compare_tunings.py build/tuning/seed1.json build/tuning/seed2.json
  tuner/compare_tunings.py tuned.json tuned.json --target-a x86-64-avx512_zen4 --target-b x86-64-avx2
    (here: what this machine gets from another level's parameters vs its own)
"""
import argparse
import json
import re
import subprocess
import sys
from statistics import median

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
    ap.add_argument("--processes", type=int, default=3, help="measure processes per shape (ratios: their median)")
    ap.add_argument("--tolerance", type=float, default=0.05, help="B/A counts as agreeing within this")
    args = ap.parse_args()

    a, b = winners(args.a, args.threads, args.target_a), winners(args.b, args.threads, args.target_b)
    rows = []
    for row in shape_rows(args.shapes):
        name, key = row[0], workload_key(row)
        if key not in a or key not in b:
            print(f"{name:12s} skipped: no entry for {key} in {'A' if key not in a else 'B'}")
            continue
        runs = []
        for _ in range(args.processes):
            run = subprocess.run([args.dwconv, "measure", name, "--shapes", args.shapes, "--params", a[key],
                                  "--params", b[key], "--params", "", "--repeats", str(args.repeats),
                                  "--threads", str(args.threads)],
                                 capture_output=True, text=True)
            g = [float(x) for x in re.findall(r"^\s*\d+\s+([\d.]+) GFLOP/s", run.stdout, re.M)]
            if len(g) != 3:
                sys.exit(f"dwconv measure {name} failed:\n{run.stdout}{run.stderr}")
            runs.append(g)
        # (name, B/A, A/default, B/default, default GFLOP/s): medians over the processes
        row = (name, median([g[1] / g[0] for g in runs]), median([g[0] / g[2] for g in runs]),
               median([g[1] / g[2] for g in runs]), median([g[2] for g in runs]))
        rows.append(row)
        per = "  ".join(f"{g[1] / g[0]:.3f}" for g in runs)
        print(f"{name:12s} default {row[4]:6.1f} GFLOP/s   B/A {row[1]:.3f} ({per})   A/default {row[2]:.3f}"
              f"   B/default {row[3]:.3f}", flush=True)
    if not rows:
        sys.exit("no shape in both files")

    agree = sum(abs(r[1] - 1) <= args.tolerance for r in rows)
    print(f"geomean A/default {geomean([r[2] for r in rows]):.3f}  B/default {geomean([r[3] for r in rows]):.3f}"
          f"  B/A within {args.tolerance:.0%} on {agree} of {len(rows)} shapes (medians of {args.processes} processes)")


if __name__ == "__main__":
    main()
