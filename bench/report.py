#!/usr/bin/env python3
"""Turns dwconv_bench's Google Benchmark JSON into the comparison table (Markdown) and
bench/results/report.json; given the machine limits (bench/limits JSON), also the roofline
report: a Markdown table per shape with the peers, dwconv/best-peer ratios and % of roofline,
and a PNG with the roofline chart and the dwconv/best-peer bars.

Benchmark names are IMPL/SHAPE/threads:T[/real_time]; with --benchmark_repetitions the
median/min/max of the repetitions are used (computed here from the individual runs). A benchmark
that reported an error is 'unsupported' or 'mismatch' (from the error message's prefix) and never
counted as a speed.

Roofline of a shape at T threads: min(peak, bandwidth x flops / compulsory bytes), where the
compulsory bytes are input + filter + output once (the working set), and the bandwidth is the
triad's over an array set of the working set's own size when limits measured one
(--working_sets, which scripts/bench passes from --print-working-sets), else the triad's at the
cache level the working set fits in: L2 (T private L2s at T threads), L3, or DRAM. The level is
reported either way; the cache sizes come from the benchmark JSON's context, else 1 MiB /
32 MiB. The peak is the best fp32 FMA rate of any ISA that limits measured.
"""
import argparse
import json
import math
import os
import sys
from collections import defaultdict

IMPL_ORDER = {"dwconv": 0, "dwconv_general": 1, "onednn": 2, "xnnpack": 3, "naive": 4}
PEERS = ("onednn", "xnnpack")
PRETTY = {"dwconv": "dwconv", "dwconv_general": "general", "onednn": "oneDNN", "xnnpack": "XNNPACK", "naive": "naive"}


def load(path):
    with open(path) as f:
        data = json.load(f)
    runs = defaultdict(lambda: {"samples": [], "status": "ok", "label": "", "error": "", "agg_median": None})
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
        v = b.get("GFLOP/s")
        if v is not None and v > 1e6:  # older Google Benchmark: a rate in flop/s
            v /= 1e9
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == "median" and v is not None:
                r["agg_median"] = v
            continue
        if v is not None:
            r["samples"].append(v)
        r["label"] = b.get("label", r["label"])
    # Only aggregates (--benchmark_report_aggregates_only): the median stands for the runs.
    for r in runs.values():
        if not r["samples"] and r["agg_median"] is not None:
            r["samples"].append(r["agg_median"])
    return data.get("context", {}), runs


def load_shapes(path):
    """Rows of the shapes CSV in file order, with flops and compulsory bytes as shapes.cpp counts them."""
    shapes, header = [], None
    for line in open(path):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        cols = line.split(",")
        if header is None:
            header = cols
            continue
        row = dict(zip(header, cols))
        n, h, w, c, m, kh, kw, s, d = (int(row[k]) for k in ("N", "H", "W", "C", "M", "KH", "KW", "stride", "dilation"))
        if row["padding"] == "SAME":
            oh, ow = -(-h // s), -(-w // s)
        else:
            oh, ow = -(-(h - (kh - 1) * d) // s), -(-(w - (kw - 1) * d) // s)
        flops = 2.0 * n * oh * ow * c * m * kh * kw
        nbytes = 4.0 * (n * h * w * c + kh * kw * c * m + n * oh * ow * c * m)
        shapes.append({"name": row["name"], "m": m, "flops": flops, "bytes": nbytes})
    return shapes


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return (xs[n // 2] + xs[(n - 1) // 2]) / 2 if n else float("nan")


def geomean(xs):
    xs = [x for x in xs if x is not None and x > 0 and not math.isnan(x)]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


class Roofline:
    """The machine limits at a thread count, and the roof of a shape under them."""

    def __init__(self, limits, context):
        self.limits = limits
        l2, l3, l2_shared = 1 << 20, 32 << 20, 1
        for c in context.get("caches", []):
            if c.get("level") == 2 and c.get("type") in ("Unified", "Data"):
                l2, l2_shared = c["size"], max(1, c.get("num_sharing", 1))
            elif c.get("level") == 3 and c.get("type") in ("Unified", "Data"):
                l3 = c["size"]
        self.l2, self.l3, self.l2_shared = l2, l3, l2_shared

    def peak(self, threads):
        return max(v[str(threads)]["median"] for v in self.limits["peak_gflops"].values())

    def bandwidth(self, level, threads):
        return self.limits["bandwidth_gbs"][level][str(threads)]["median"]

    def level(self, nbytes, threads):
        # Each thread has its own L2 when the caches are not shared (num_sharing 1).
        l2_total = self.l2 * (threads if self.l2_shared == 1 else 1)
        if nbytes <= l2_total:
            return "L2"
        return "L3" if nbytes <= self.l3 else "DRAM"

    def working_set_bandwidth(self, shape, threads):
        """GB/s of the triad at the shape's working set size, None when not measured."""
        m = self.limits.get("working_set_gbs", {}).get(str(int(shape["bytes"])), {})
        return m[str(threads)]["median"] if str(threads) in m else None

    def roof(self, shape, threads):
        """(roof GFLOP/s, cache level of the working set, the bandwidth the roof took)."""
        level = self.level(shape["bytes"], threads)
        bw = self.working_set_bandwidth(shape, threads)
        if bw is None:
            bw = self.bandwidth(level, threads)
        ai = shape["flops"] / shape["bytes"]
        return min(self.peak(threads), bw * ai), level, bw


def fmt(v, spec=".1f", none="-"):
    return none if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)


def legacy_table(order, runs, impls):
    """The plain GFLOP/s table (what scripts/run prints); returns the dwconv/naive speedups."""
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
    speedups = []
    for shape in order:
        row = [shape] + [cell(shape, i, t)[1] for i, t in cols]
        d, _ = cell(shape, "dwconv", 1)
        n, _ = cell(shape, "naive", 1)
        sp = d / n if d and n else None
        if sp:
            speedups.append(sp)
        row.append(f"{sp:.1f}x" if sp else "-")
        row.append(runs.get((shape, "dwconv", 1), {}).get("label", ""))
        print("| " + " | ".join(row) + " |")
    print(f"\ngeometric mean dwconv/naive at 1 thread: {geomean(speedups):.1f}x over {len(speedups)} shapes")


def results_list(order, runs, impls, shapes_by_name, roofline):
    results = []
    for shape in order:
        for t in (1, 2):
            for i in impls:
                r = runs.get((shape, i, t))
                if r is None:
                    continue
                ok = r["status"] == "ok" and r["samples"]
                v = median(r["samples"]) if ok else None
                e = {"shape": shape, "impl": i, "threads": t,
                     "gflops": None if v is None else round(v, 3),
                     "status": r["status"],
                     "min": round(min(r["samples"]), 3) if ok else None,
                     "max": round(max(r["samples"]), 3) if ok else None,
                     "repetitions": len(r["samples"]),
                     "label": r["label"]}
                if r["error"]:
                    e["error"] = r["error"]
                s = shapes_by_name.get(shape)
                if roofline and s:
                    roof, level, bw = roofline.roof(s, t)
                    e["roofline_gflops"] = round(roof, 3)
                    e["roofline_level"] = level
                    e["roofline_bandwidth_gbs"] = round(bw, 2)
                    e["pct_of_roofline"] = None if v is None else round(100 * v / roof, 2)
                results.append(e)
    return results


def roofline_report(order, shapes_by_name, results, roofline, context):
    """Markdown: per-shape table, geometric means, spread and code paths. Returns (markdown, per-shape rows)."""
    get = {(e["shape"], e["impl"], e["threads"]): e for e in results}

    def speed(shape, impl, t):
        e = get.get((shape, impl, t))
        return e["gflops"] if e and e["status"] == "ok" else None

    def text(shape, impl, t):
        e = get.get((shape, impl, t))
        if e is None:
            return "-"
        if e["status"] == "ok":
            return fmt(e["gflops"])
        return "**MISMATCH**" if e["status"] == "mismatch" else "unsup."

    cols = [("naive", 1), ("onednn", 1), ("xnnpack", 1), ("dwconv_general", 1), ("dwconv", 1),
            ("onednn", 2), ("xnnpack", 2), ("dwconv_general", 2), ("dwconv", 2)]
    rows = []
    for shape in order:
        s = shapes_by_name[shape]
        row = {"shape": shape, "m": s["m"], "ai": s["flops"] / s["bytes"]}
        for t in (1, 2):
            peers = [speed(shape, p, t) for p in PEERS]
            best = max((p for p in peers if p), default=None)
            d = speed(shape, "dwconv", t)
            g = speed(shape, "dwconv_general", t)
            row[f"ratio{t}"] = d / best if d and best else None
            row[f"gratio{t}"] = g / best if g and best else None
            row[f"roof{t}"], row[f"level{t}"], row[f"bw{t}"] = roofline.roof(s, t)
            row[f"pct{t}"] = 100 * d / row[f"roof{t}"] if d else None
        rows.append(row)

    out = []
    mach = []
    for t in (1, 2):
        bw = ", ".join(f"{lv} {roofline.bandwidth(lv, t):.0f}" for lv in ("L2", "L3", "DRAM"))
        mach.append(f"- {t} thread{'s' if t > 1 else ''}: peak {roofline.peak(t):.0f} GFLOP/s, triad GB/s {bw}")
    out.append("# dwconv vs peers and the roofline\n")
    out.append("GFLOP/s, median of interleaved repetitions (higher is better); min/max in report.json.\n")
    out.append("Machine (bench/limits):\n\n" + "\n".join(mach) + "\n")
    load = (context.get("load_avg") or [0])[0]
    if load > 0.5:
        # Google Benchmark records the 1-minute load when it starts: other work was running, and
        # statically split 2-thread runs wait for a thread the scheduler gave away.
        out.append(f"**Warning:** load average {load:.2f} when the benchmark started: other processes were "
                   "running; the 2-thread numbers (and the limits) are unreliable.\n")
    measured = all(roofline.working_set_bandwidth(shapes_by_name[r["shape"]], 1) for r in rows)
    out.append(f"Working set = input + filter + output; it fits in L2 if <= {roofline.l2 >> 10} KiB "
               f"per thread, L3 if <= {roofline.l3 >> 20} MiB, else DRAM. The roof's bandwidth (GB/s, 1T) is "
               + ("the triad's over an array set of the working set's own size (a set near the L3's capacity "
                  "streams at far less than the L3 figure above)." if measured else
                  "the triad's at that level.") + "\n")
    head = ["shape", "M", "flop/B", "fits, GB/s (1T)"] + [f"{PRETTY[i]} {t}T" for i, t in cols] + \
           ["dwconv/best peer 1T", "dwconv/best peer 2T", "general/best peer 1T", "general/best peer 2T",
            "roofline 1T", "% roofline 1T", "% roofline 2T"]
    out.append("| " + " | ".join(head) + " |")
    out.append("|" + "---|" * len(head))
    for row in rows:
        shape = row["shape"]
        cells = [shape, str(row["m"]), f"{row['ai']:.2f}", f"{row['level1']}, {row['bw1']:.0f}"]
        cells += [text(shape, i, t) for i, t in cols]
        cells += [fmt(row[k], ".2f") + ("x" if row[k] else "") for k in ("ratio1", "ratio2", "gratio1", "gratio2")]
        cells += [f"{row['roof1']:.0f}", fmt(row["pct1"]) + ("%" if row["pct1"] else ""),
                  fmt(row["pct2"]) + ("%" if row["pct2"] else "")]
        out.append("| " + " | ".join(cells) + " |")
    for label, keep in (("geomean, M = 1", lambda r: r["m"] == 1), ("geomean, all", lambda r: True)):
        sel = [r for r in rows if keep(r)]
        cells = [f"**{label}** ({len(sel)} shapes)", "", "", ""]
        for i, t in cols:
            vals = [speed(r["shape"], i, t) for r in sel]
            got = [v for v in vals if v]
            cells.append(fmt(geomean(got)) + ("" if len(got) == len(sel) else f" ({len(got)})"))
        for key, suffix in (("ratio1", "x"), ("ratio2", "x"), ("gratio1", "x"), ("gratio2", "x"), (None, ""),
                            ("pct1", "%"), ("pct2", "%")):
            if key is None:
                cells.append("")
                continue
            got = [r[key] for r in sel if r[key]]
            g = geomean(got)
            cells.append((fmt(g, ".2f" if suffix == "x" else ".1f") + suffix if got else "-") +
                         ("" if len(got) == len(sel) else f" ({len(got)})"))
        out.append("| " + " | ".join(cells) + " |")
    out.append("\nA number in parentheses after a geometric mean: how many shapes it covers, when fewer than all "
               "(the others unsupported or failed). Best peer: the faster of oneDNN and XNNPACK at that thread count. "
               "general: dwconv's general kernel for the shape (Plan::create_general), what a shape without a kernel "
               "of its own runs; dwconv: the kernel Plan::create picks.\n")

    out.append("## Spread (min-max GFLOP/s over the repetitions)\n")
    head = ["shape"] + [f"{PRETTY[i]} {t}T" for i, t in cols]
    out.append("| " + " | ".join(head) + " |")
    out.append("|" + "---|" * len(head))
    for shape in order:
        cells = [shape]
        for i, t in cols:
            e = get.get((shape, i, t))
            cells.append(f"{e['min']:.1f}-{e['max']:.1f}" if e and e["status"] == "ok" else "-")
        out.append("| " + " | ".join(cells) + " |")

    out.append("\n## Code paths and failures\n")
    out.append("| shape | dwconv kernel | oneDNN implementation | not timed |")
    out.append("|---|---|---|---|")
    for shape in order:
        dw = get.get((shape, "dwconv", 1), {}).get("label", "")
        dn = get.get((shape, "onednn", 1), {}).get("label", "")
        bad = [f"{e['impl']} {e['threads']}T: {e.get('error', e['status'])}" for e in results
               if e["shape"] == shape and e["status"] != "ok" and not (e["impl"] == "naive" and e["threads"] == 2)]
        out.append(f"| {shape} | {dw} | {dn} | {'; '.join(bad)} |")
    return "\n".join(out) + "\n", rows


def plot(path, order, shapes_by_name, results, rows, roofline):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(16, 6.5), gridspec_kw={"width_ratios": [1, 1.3]})
    ais = [shapes_by_name[s]["flops"] / shapes_by_name[s]["bytes"] for s in order]
    lo, hi = min(ais) / 2, max(ais) * 2
    xs = [lo * (hi / lo) ** (k / 200) for k in range(201)]
    peak = roofline.peak(1)
    for level, style in (("L2", "-"), ("L3", "--"), ("DRAM", ":")):
        bw = roofline.bandwidth(level, 1)
        ax.plot(xs, [min(peak, bw * x) for x in xs], "k" + style, lw=1, label=f"roof 1T, {level} {bw:.0f} GB/s")
    ax.axhline(peak, color="grey", lw=0.5)
    markers = {"dwconv": ("o", "C3"), "onednn": ("s", "C0"), "xnnpack": ("^", "C2"), "naive": ("x", "C7")}
    for impl, (mk, col) in markers.items():
        pts = [(shapes_by_name[e["shape"]]["flops"] / shapes_by_name[e["shape"]]["bytes"], e["gflops"])
               for e in results if e["impl"] == impl and e["threads"] == 1 and e["status"] == "ok"
               and e["shape"] in shapes_by_name]
        if pts:
            ax.scatter([p[0] for p in pts], [p[1] for p in pts], marker=mk, color=col, label=f"{PRETTY[impl]} 1T",
                       alpha=0.8, zorder=3)
        if impl == "dwconv":
            for e in results:
                if e["impl"] == impl and e["threads"] == 1 and e["status"] == "ok" and e["shape"] in shapes_by_name:
                    s = shapes_by_name[e["shape"]]
                    ax.annotate(e["shape"], (s["flops"] / s["bytes"], e["gflops"]), fontsize=6, alpha=0.7,
                                xytext=(4, 2), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("arithmetic intensity (flop / compulsory byte)")
    ax.set_ylabel("GFLOP/s")
    ax.set_title(f"Roofline, 1 thread (peak {peak:.0f} GFLOP/s)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")

    xpos = range(len(rows))
    width = 0.4
    for k, t in enumerate((1, 2)):
        xs_k = [x + (k - 0.5) * width for x in xpos]
        vals = [r[f"ratio{t}"] or float("nan") for r in rows]
        bx.bar(xs_k, vals, width, label=f"{t} thread{'s' if t > 1 else ''}", color=("C3", "C1")[k])
        for x, v in zip(xs_k, vals):
            if not math.isnan(v):
                bx.text(x, v, f"{v:.2f}", ha="center", va="bottom", fontsize=6, rotation=90)
    # Ratios: log scale, so 2x faster and 2x slower look the same size.
    bx.set_yscale("log")
    bx.axhline(1.0, color="k", lw=1)
    bx.set_xticks(list(xpos))
    bx.set_xticklabels([r["shape"] for r in rows], rotation=60, ha="right", fontsize=8)
    bx.set_ylabel("dwconv / best peer (GFLOP/s ratio)")
    bx.set_title("dwconv vs the faster of oneDNN and XNNPACK (no bar: no comparison)")
    bx.legend(fontsize=8)
    bx.grid(True, axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("json", nargs="?", help="Google Benchmark JSON from dwconv_bench")
    ap.add_argument("--shapes", required=True, help="the shapes CSV (row order, flops and bytes)")
    ap.add_argument("--print-working-sets", action="store_true",
                    help="print the shapes' working sets in bytes, comma-separated (for limits --working_sets)")
    ap.add_argument("--out-json", help="write the machine-readable report here")
    ap.add_argument("--limits", help="JSON from bench/limits: enables the roofline report")
    ap.add_argument("--md", help="write the roofline report (Markdown) here (needs --limits)")
    ap.add_argument("--png", help="write the roofline and ratio charts here (needs --limits)")
    args = ap.parse_args()
    if args.print_working_sets:
        print(",".join(str(int(s["bytes"])) for s in load_shapes(args.shapes)))
        return 0
    if not args.json:
        ap.error("the benchmark JSON is required")
    if (args.md or args.png) and not args.limits:
        ap.error("--md and --png need --limits")
    context, runs = load(args.json)
    shapes = load_shapes(args.shapes)
    shapes_by_name = {s["name"]: s for s in shapes}
    order = [s["name"] for s in shapes]
    impls = sorted({k[1] for k in runs}, key=lambda i: IMPL_ORDER.get(i, 9))

    legacy_table(order, runs, impls)

    machine, roofline = {}, None
    if args.limits:
        with open(args.limits) as f:
            machine = json.load(f)
        roofline = Roofline(machine, context)
        machine = dict(machine, caches=context.get("caches", []), num_cpus=context.get("num_cpus"),
                       mhz_per_cpu=context.get("mhz_per_cpu"), host_name=context.get("host_name"))
    results = results_list(order, runs, impls, shapes_by_name, roofline)

    if roofline:
        ran = [s for s in order if any(k[0] == s for k in runs)]
        md, rows = roofline_report(ran, shapes_by_name, results, roofline, context)
        print("\n" + md)
        if args.md:
            os.makedirs(os.path.dirname(os.path.abspath(args.md)), exist_ok=True)
            with open(args.md, "w") as f:
                f.write(md)
            print(f"report: {args.md}")
        if args.png:
            plot(args.png, ran, shapes_by_name, results, rows, roofline)
            print(f"plot: {args.png}")
    if args.out_json:
        os.makedirs(os.path.dirname(os.path.abspath(args.out_json)), exist_ok=True)
        with open(args.out_json, "w") as f:
            json.dump({"machine": machine, "results": results}, f, indent=1)
        print(f"report: {args.out_json}")
    failures = [f"{e['impl']} {e['shape']} {e['threads']}T: {e.get('error', '')}" for e in results
                if e["status"] == "mismatch"]
    if failures:
        print("\nMISMATCHES:\n" + "\n".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
