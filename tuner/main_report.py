#!/usr/bin/env python3
"""The main job's table: per shape, what tuning bought (default vs tuned vs Halide's
autoschedulers, all measured by the tuner at 1 thread, the finalists interleaved) and where the
tuned build stands against its general kernels (what the shape runs without a kernel of its own)
and the peers (bench/report.py's report.json, one interleaved run).

usage: main_report.py DISTILLED.json REPORT.json SHAPES.csv DWCONV [TARGET]
DWCONV: the dwconv command, which names each shape's workload key (`dwconv info`), so that this
script does not re-derive the key or TensorFlow's padding rule.
TARGET: the entries of that target only (e.g. x86-64-avx2, this machine's ISA level); default all.
"""
import json
import math
import subprocess
import sys


def geomean(xs):
    xs = [x for x in xs if x and x > 0]
    return math.exp(sum(map(math.log, xs)) / len(xs)) if xs else float("nan")


def workload_key(dwconv, name, shapes_csv):
    """dwconv::workload_key() of a shape of shapes_csv, as `dwconv info` prints it."""
    out = subprocess.run([dwconv, "info", name, "--shapes", shapes_csv], check=True, capture_output=True,
                         text=True).stdout
    for line in out.splitlines():
        if line.startswith("workload:"):
            return line.split(":", 1)[1].strip()
    raise RuntimeError(f"dwconv info {name} printed no workload key:\n{out}")


def shape_rows(path):
    """The data rows of a shapes CSV, split into fields (name first), in file order."""
    return [l.strip().split(",") for l in open(path) if l.strip() and not l.startswith("#")][1:]


def main():
    distilled, report, shapes_csv, dwconv = sys.argv[1:5]
    target = sys.argv[5] if len(sys.argv) > 5 else None
    entries = {e["workload"]: e for e in json.load(open(distilled))["entries"]
               if e["threads"] == 1 and (target is None or e["target"] == target)}
    results = json.load(open(report))["results"]
    bench = {(r["shape"], r["impl"], r["threads"]): r for r in results}
    rows = shape_rows(shapes_csv)
    head = ["shape", "default", "tuned", "tuned/default", "best autosched.", "tuned/autosched.",
            "general 1T (bench)", "dwconv 1T (bench)", "dwconv/general", "oneDNN 1T", "XNNPACK 1T",
            "general/best peer 1T", "dwconv/best peer 1T"]
    print("GFLOP/s at 1 thread, medians (tuner columns: finalists re-measured interleaved)\n")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    g_def, g_as, g_peer, g_gen, g_gen_peer = [], [], [], [], []
    for row in rows:
        name = row[0]
        e = entries.get(workload_key(dwconv, name, shapes_csv))
        d = e["default_gflops"] if e else None
        t = e["gflops"] if e else None
        aut = e.get("autoschedulers", {}) if e else {}
        best_as = max(aut.items(), key=lambda kv: kv[1]) if aut else (None, 0)
        dw = bench.get((name, "dwconv", 1), {}).get("gflops")
        gen = bench.get((name, "dwconv_general", 1), {}).get("gflops")
        peers = {p: bench.get((name, p, 1), {}).get("gflops") for p in ("onednn", "xnnpack")}
        best_peer = max([v for v in peers.values() if v] or [0])
        cells = [name, f"{d:.1f}" if d else "-", f"{t:.1f}" if t else "-",
                 f"{t / d:.2f}x" if t and d else "-",
                 f"{best_as[1]:.1f} ({best_as[0]})" if best_as[0] else "-",
                 f"{t / best_as[1]:.1f}x" if t and best_as[1] else "-",
                 f"{gen:.1f}" if gen else "-", f"{dw:.1f}" if dw else "-",
                 f"{dw / gen:.2f}x" if dw and gen else "-",
                 f"{peers['onednn']:.1f}" if peers["onednn"] else "-",
                 f"{peers['xnnpack']:.1f}" if peers["xnnpack"] else "-",
                 f"{gen / best_peer:.2f}x" if gen and best_peer else "-",
                 f"{dw / best_peer:.2f}x" if dw and best_peer else "-"]
        print("| " + " | ".join(cells) + " |")
        if t and d:
            g_def.append(t / d)
        if t and best_as[1]:
            g_as.append(t / best_as[1])
        if dw and best_peer:
            g_peer.append(dw / best_peer)
        if dw and gen:
            g_gen.append(dw / gen)
        if gen and best_peer:
            g_gen_peer.append(gen / best_peer)
    print(f"\ngeometric means: tuned/default {geomean(g_def):.2f}x ({len(g_def)} shapes), "
          f"tuned/best autoscheduler {geomean(g_as):.2f}x ({len(g_as)}), dwconv/general {geomean(g_gen):.2f}x ({len(g_gen)}), "
          f"general/best peer {geomean(g_gen_peer):.2f}x ({len(g_gen_peer)}), dwconv/best peer {geomean(g_peer):.2f}x ({len(g_peer)})")


if __name__ == "__main__":
    main()
