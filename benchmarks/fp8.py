"""Lesson 3 benchmark (FP8 e4m3): the lab's fp8 kernels against cuBLASLt fp8 (torch._scaled_mm),
cuBLAS fp16 and the lab's int8 wgmma kernel, one run.

    python benchmarks/fp8.py --out DIR [--quick]

For N=K=8192 and N=28672, K=8192 over M, plus 8192^3 with v04 (wgmma) beside
torch._scaled_mm on the same inputs. Writes fp8.json and sweep-<N>x<K>.png, prints
every row with its bound and % of bound, then the targets.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import asdict

try:  # torch (library peers) first: imported after CuPy/Numba it has failed on the GPU machines
    import torch  # noqa: F401
except Exception:
    pass

from labkernels import bench, crossover, device, plot, roofline, runner

SHAPES = [(8192, 8192), (28672, 8192)]
MS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--iters", type=int, default=30)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    g = device.require_gpu("the fp8 benchmark")
    t0 = time.time()
    ceil = roofline.measure_ceilings(verbose=True)
    ms = [1, 16, 256, 4096] if args.quick else MS
    iters = 10 if args.quick else args.iters
    records, failures = [], []

    def run(ids, fmt, N, K, m_list):
        rs, fs = runner.sweep(ids, fmt, N, K, m_list, ceil, iters=iters)
        records.extend(rs)
        failures.extend(fs)

    for N, K in SHAPES:
        run(["fp8/v00_torch_scaled_mm", "fp8/v02_gemv", "fp8/v04_wgmma", "fp8/v05_wgmma_tma"], "fp8", N, K, ms)
        run(["fp8/v03_mma_sync"], "fp8", N, K, [m for m in (1, 16, 256, 4096) if m in ms or args.quick])
        run(["fp16/v00_cublas"], "fp16", N, K, ms)
        run(["int8/v09_wgmma", "int8/v02_dp4a_gemv"], "a8w8", N, K, ms)
    run(["fp8/v01_naive_numba"], "fp8", *SHAPES[0], [1])

    bench.save_json(os.path.join(args.out, "fp8.json"),
                    {"env": bench.environment(), "ceilings": ceil.to_json(), "shapes": SHAPES, "ms": ms,
                     "records": records, "failures": failures})
    show = ("fp16/v00_cublas", "fp8/v00_torch_scaled_mm", "fp8/v02_gemv", "fp8/v03_mma_sync", "fp8/v04_wgmma",
            "fp8/v05_wgmma_tma", "int8/v09_wgmma")
    for N, K in SHAPES:
        rs = [r for r in records if r.N == N and r.K == K and r.kernel in show]
        plot.save(plot.sweep_figure(ceil, N, K, ["fp16", "a8w8", "fp8"], rs, ms=ms, library_fmts=["fp16", "fp8"]),
                  os.path.join(args.out, f"sweep-{N}x{K}.png"))
    print("\n" + bench.Record.header())
    for r in records:
        print(r.row())
    print(f"\nGPU {g.name}; copy bandwidth {ceil.bw / 1e12:.2f} TB/s; fp8 mma.sync {ceil.mma['fp8'] / 1e12:.0f}, "
          f"cuBLASLt fp8 {ceil.library.get('fp8', 0) / 1e12:.0f} TFLOP/s")
    for N, K in SHAPES:
        sel = [asdict(r) for r in records if r.N == N and r.K == K]
        curves = {c.name: {m: bench.Record(**d) for m, d in c.points.items()}
                  for c in crossover.measured_curves(sel, ["fp8", "fp16"])}
        lab, lib = curves.get("fp8 lab (fastest)", {}), curves.get("fp8/v00_torch_scaled_mm (peer)", {})
        cub = curves.get("fp16/v00_cublas (peer)", {})
        print(f"\nN={N} K={K}: fastest lab fp8 kernel per M")
        for m in sorted(lab):
            r = lab[m]
            vs = f"  {lib[m].time_us / r.time_us:5.2f}x torch._scaled_mm" if m in lib else ""
            vc = f"  {cub[m].time_us / r.time_us:5.2f}x cuBLAS fp16" if m in cub else ""
            print(f"  M={m:<5} {r.kernel:<18} {r.time_us:9.1f} us {r.tflops:7.1f} TFLOP/s {r.pct_of_bound:5.1f}% of "
                  f"bound ({r.bound_kind}){vs}{vc}")
    return bench.finish(records, failures, t0)


if __name__ == "__main__":
    sys.exit(main())
