"""Foundation benchmark: measure this GPU's ceilings, check and time the fp16 kernels.

    python benchmarks/foundation.py --out benchmarks/results/<gpu>-<date>

Writes ceilings.json, fp16.json (every record with card, driver, versions and
date), roofline.png and sweep.png, and prints a table with each kernel's time,
GB/s, TFLOP/s, bound and % of bound beside cuBLAS measured in the same run.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

try:  # torch (library peers) first: imported after CuPy/Numba it has failed on the GPU machines
    import torch  # noqa: F401
except Exception:
    pass

from labkernels import bench, device, plot, registry, roofline, runner


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--n", type=int, default=8192)
    ap.add_argument("--k", type=int, default=8192)
    ap.add_argument("--iters", type=int, default=30)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    g = device.require_gpu("the foundation benchmark")
    t0 = time.time()
    print(f"GPU {g.name} sm_{g.cc[0]}{g.cc[1]}, driver {device.driver_version()} (CUDA {g.driver})", flush=True)
    ceil = roofline.measure_ceilings(refresh=True, verbose=True)
    bench.save_json(os.path.join(args.out, "ceilings.json"), {"env": bench.environment(), "ceilings": ceil.to_json()})

    N, K = args.n, args.k
    ms = [2**i for i in range(15)]
    records, failures = runner.sweep(registry.variants(family="fp16"), "fp16", N, K, ms, ceil, iters=args.iters)
    bench.save_json(os.path.join(args.out, "fp16.json"),
                    {"env": bench.environment(), "ceilings": ceil.to_json(), "N": N, "K": K,
                     "records": records, "failures": failures})
    fig = plot.roofline_figure(ceil, [r for r in records if r.M in (1, 16, 256, 4096, 16384)],
                               precisions=["fp16"])
    plot.save(fig, os.path.join(args.out, "roofline.png"))
    fig = plot.sweep_figure(ceil, N, K, ["fp16"], records, library_fmts=["fp16"])
    plot.save(fig, os.path.join(args.out, "sweep.png"))

    print("\n" + bench.Record.header())
    for r in records:
        print(r.row())
    cub = {r.M: r.time_us for r in records if r.kernel == "fp16/v00_cublas"}
    print("\nagainst cuBLAS in the same run:")
    for r in records:
        if r.kernel != "fp16/v00_cublas" and r.M in cub:
            print(f"  {r.kernel:<28} M={r.M:<5} {cub[r.M] / r.time_us:5.2f}x cuBLAS's speed")
    print(f"\n{len(records)} records, {len(failures)} failures, {time.time() - t0:.0f} s")
    return 1 if failures and not records else 0


if __name__ == "__main__":
    sys.exit(main())
