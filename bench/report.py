#!/usr/bin/env python3
"""Turns dwconv_bench's Google Benchmark JSON into the comparison table (Markdown) and
bench/results/report.json.

Benchmark names are IMPL/SHAPE/threads:T[/real_time]; with --benchmark_repetitions the
median/min/max aggregates are used. A benchmark that reported an error is 'unsupported' or
'mismatch' (from the error message's prefix) and never counted as a speed.
"""
import argparse
import json
import math
import os
import sys
from collections import defaultdict


def load(path):
    with open(path) as f:
        data = json.load(f)
    runs = defaultdict(lambda: {"samples": [], "status": "ok", "label": "", "error": ""})
    for b in data.get("benchmarks", []):
        name = b.get("run_name") or b["name"]
        parts = name.split("/")
        if len(parts) < 3:
            continue
        impl, shape, threads = parts[0], parts[1], int(parts[2].split(":")[1])
        r = runs[(shape, impl, threads)]
        if b.get("error_occurred"):
            msg = b.get("error_message", "")
            r["status"] = "mismatch" if msg.startswith("mismatch") else "unsupported"
            r["error"] = msg
            continue
        if b.get("run_type") == "aggregate":
            continue
        if "GFLOP/s" in b:
            r["samples"].append(b["GFLOP/s"] / 1e9 if b["GFLOP/s"] > 1e6 else b["GFLOP/s"])
        r["label"] = b.get("label", r["label"])
    return data.get("context", {}), runs


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return (xs[n // 2] + xs[(n - 1) // 2]) / 2 if n else float("nan")


def geomean(xs):
    xs = [x for x in xs if x > 0 and not math.isnan(x)]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("json", help="Google Benchmark JSON from dwconv_bench")
    ap.add_argument("--shapes", required=True, help="the shapes CSV (for the row order)")
    ap.add_argument("--out-json", help="write the machine-readable report here")
    args = ap.parse_args()
    _, runs = load(args.json)
    order = [l.split(",")[0] for l in open(args.shapes) if l.strip() and not l.startswith("#")][1:]
    impls = sorted({k[1] for k in runs}, key=lambda i: {"dwconv": 0, "onednn": 1, "xnnpack": 2, "naive": 3}.get(i, 9))

    def cell(shape, impl, t):
        r = runs.get((shape, impl, t))
        if r is None:
            return None, "-"
        if r["status"] != "ok":
            return None, r["status"]
        m = median(r["samples"])
        return m, f"{m:.2f}"

    cols = [(i, t) for t in (1, 2) for i in impls if not (i == "naive" and t == 2)]
    head = ["shape"] + [f"{i} {t}T" for i, t in cols] + ["dwconv/naive 1T", "kernel"]
    print("GFLOP/s, median of repetitions (higher is better)\n")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    results, speedups, failures = [], [], []
    for shape in order:
        row = [shape]
        for i, t in cols:
            v, txt = cell(shape, i, t)
            row.append(txt)
            r = runs.get((shape, i, t))
            if r is not None:
                results.append({"shape": shape, "impl": i, "threads": t,
                                "gflops": None if v is None else round(v, 3),
                                "min": round(min(r["samples"]), 3) if r["samples"] else None,
                                "max": round(max(r["samples"]), 3) if r["samples"] else None,
                                "status": r["status"]})
                if r["status"] == "mismatch":
                    failures.append(f"{i} {shape} {t}T: {r['error']}")
        d, _ = cell(shape, "dwconv", 1)
        n, _ = cell(shape, "naive", 1)
        sp = d / n if d and n else None
        if sp:
            speedups.append(sp)
        row.append(f"{sp:.1f}x" if sp else "-")
        row.append(runs.get((shape, "dwconv", 1), {}).get("label", ""))
        print("| " + " | ".join(row) + " |")
    print(f"\ngeometric mean dwconv/naive at 1 thread: {geomean(speedups):.1f}x over {len(speedups)} shapes")
    if args.out_json:
        os.makedirs(os.path.dirname(os.path.abspath(args.out_json)), exist_ok=True)
        with open(args.out_json, "w") as f:
            json.dump({"results": results}, f, indent=1)
        print(f"report: {args.out_json}")
    if failures:
        print("\nMISMATCHES:\n" + "\n".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
