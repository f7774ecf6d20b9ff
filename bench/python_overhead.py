"""What a call through the Python package costs above the C++ call, on small layers where the
overhead shows: dwconv_bench's Plan::run time (1 thread, same buffers every iteration) against
dwconv.depthwise_conv2d(..., num_threads=1) with out= and with a new output array, on 64-byte
aligned data as the benchmark's, in rounds that alternate the two, medians printed.

    PYTHONPATH=<site with dwconv> python bench/python_overhead.py --bench build/bench/dwconv_bench
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time

import numpy as np

import dwconv

# name, N, H, W, C, M, KH, KW, stride, dilation, padding
SHAPES = [
    ("tiny_7x7x32", 1, 7, 7, 32, 1, 3, 3, 1, 1, "SAME"),
    ("mbv2_7x7x960", 1, 7, 7, 960, 1, 3, 3, 1, 1, "SAME"),
    ("mbv2_14x14x576_s2", 1, 14, 14, 576, 1, 3, 3, 2, 1, "SAME"),
]


def cpp_times(bench, shapes_csv):
    """Median real time per call of each shape, in microseconds, from dwconv_bench."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "bench.json")
        subprocess.run([bench, f"--shapes={shapes_csv}", "--benchmark_filter=^dwconv/[^/]+/threads:1/",
                        "--benchmark_repetitions=5", "--benchmark_min_time=0.2",
                        f"--benchmark_out={out}", "--benchmark_out_format=json"],
                       check=True, stdout=subprocess.DEVNULL)
        with open(out) as f:
            runs = json.load(f)["benchmarks"]
    times = {}
    for r in runs:
        if r.get("run_type") == "aggregate" and r.get("aggregate_name") == "median":
            times[r["run_name"].split("/")[1]] = r["real_time"]  # Unit(kMicrosecond)
    return times


def aligned(array, alignment=64):
    """A copy of `array` whose data starts on an `alignment`-byte boundary, as dwconv_bench's
    buffers do (NumPy aligns to 16 bytes only; the kernels' vector loads prefer 64)."""
    raw = np.empty(array.nbytes + alignment, np.uint8)
    start = -raw.ctypes.data % alignment
    out = raw[start : start + array.nbytes].view(array.dtype).reshape(array.shape)
    out[...] = array
    return out


def python_time(call, calls=2000):
    """Median over 7 batches of the time per call, in microseconds."""
    call()
    batches = []
    for _ in range(7):
        start = time.perf_counter()
        for _ in range(calls):
            call()
        batches.append((time.perf_counter() - start) / calls * 1e6)
    return statistics.median(batches)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", required=True, help="dwconv_bench of the build the package links")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
        f.write("name,N,H,W,C,M,KH,KW,stride,dilation,padding\n")
        for s in SHAPES:
            f.write(",".join(map(str, s)) + "\n")
        csv = f.name
    results = {s[0]: {"cpp": [], "out": [], "new": []} for s in SHAPES}
    try:
        for _ in range(args.rounds):
            for name, t in cpp_times(args.bench, csv).items():
                results[name]["cpp"].append(t)
            for name, n, h, w, c, m, kh, kw, stride, dilation, padding in SHAPES:
                x = aligned(rng.standard_normal((n, h, w, c)).astype(np.float32))
                f = aligned(rng.standard_normal((kh, kw, c, m)).astype(np.float32))
                out = aligned(dwconv.depthwise_conv2d(x, f, stride, padding, dilation, num_threads=1))
                results[name]["out"].append(python_time(
                    lambda: dwconv.depthwise_conv2d(x, f, stride, padding, dilation, num_threads=1, out=out)))
                results[name]["new"].append(python_time(
                    lambda: dwconv.depthwise_conv2d(x, f, stride, padding, dilation, num_threads=1)))
    finally:
        os.unlink(csv)
    print(f"dwconv {dwconv.__version__}, {dwconv.active_isa()}, {args.rounds} rounds, medians in microseconds")
    print(f"{'shape':<20} {'C++ run':>9} {'Python out=':>12} {'overhead':>9} {'Python new':>11} {'overhead':>9}")
    for name, r in results.items():
        cpp, out, new = (statistics.median(r[k]) for k in ("cpp", "out", "new"))
        print(f"{name:<20} {cpp:9.2f} {out:12.2f} {out - cpp:9.2f} {new:11.2f} {new - cpp:9.2f}")


if __name__ == "__main__":
    main()
