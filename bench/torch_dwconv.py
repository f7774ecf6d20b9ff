#!/usr/bin/env python3
"""PyTorch peer for the GPU benchmark: torch.nn.functional.conv2d(groups=C) on CUDA, channels-last,
on the shapes of bench/shapes.csv (same FLOP count as dwconv_cuda_bench).

  torch_dwconv.py [--shapes FILE] [--reps N] [--out FILE.csv]

Writes name,gflops (median) to --out for dwconv_cuda_bench --peer=FILE. Exits 3 with a
[SKIP] line when torch or a CUDA device is missing.
"""
import argparse
import csv
import os
import statistics
import sys


def same_pads(size, k, stride, dilation):
    out = (size + stride - 1) // stride
    eff = (k - 1) * dilation + 1
    total = max((out - 1) * stride + eff - size, 0)
    return total // 2, total - total // 2


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--shapes", default=os.path.join(here, "shapes.csv"))
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--out", default="")
    a = ap.parse_args()
    try:
        import torch
        import torch.nn.functional as F
    except Exception as e:  # noqa: BLE001 - any import failure means no peer
        print(f"[SKIP] PyTorch peer: torch not importable ({e})")
        return 3
    if not torch.cuda.is_available():
        print("[SKIP] PyTorch peer: torch.cuda.is_available() is False")
        return 3
    torch.backends.cudnn.benchmark = True
    dev = torch.device("cuda")
    print(f"torch {torch.__version__}, cuDNN {torch.backends.cudnn.version()}, {torch.cuda.get_device_name(0)}")
    rows = []
    with open(a.shapes) as f:
        lines = [l for l in f if l.strip() and not l.startswith("#")]
    for r in csv.DictReader(lines):
        n, h, w, c, m = (int(r[k]) for k in ("N", "H", "W", "C", "M"))
        kh, kw, s, d = int(r["KH"]), int(r["KW"]), int(r["stride"]), int(r["dilation"])
        x = torch.randn(n, c, h, w, device=dev).to(memory_format=torch.channels_last)
        wt = torch.randn(c * m, 1, kh, kw, device=dev)  # output channel c*M + m, as TensorFlow
        if r["padding"].upper() == "SAME":
            pt, pb = same_pads(h, kh, s, d)
            pl, pr = same_pads(w, kw, s, d)
            x = F.pad(x, (pl, pr, pt, pb)).contiguous(memory_format=torch.channels_last)
        y = F.conv2d(x, wt, stride=s, dilation=d, groups=c)
        oh, ow = y.shape[2], y.shape[3]
        flops = 2.0 * n * oh * ow * c * m * kh * kw
        for _ in range(3):
            F.conv2d(x, wt, stride=s, dilation=d, groups=c)
        torch.cuda.synchronize()
        times = []
        for _ in range(a.reps):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            F.conv2d(x, wt, stride=s, dilation=d, groups=c)
            end.record()
            torch.cuda.synchronize()
            times.append(start.elapsed_time(end))
        ms = statistics.median(times)
        gflops = flops / (ms * 1e6)
        rows.append((r["name"], gflops))
        print(f"{r['name']:<12} torch conv2d(groups=C) {ms:9.4f} ms {gflops:9.1f} GFLOP/s")
    if a.out:
        with open(a.out, "w") as f:
            f.write("name,gflops\n")
            for name, g in rows:
                f.write(f"{name},{g}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
