"""Lesson 3 benchmark (block-scaled MXFP8 / MXFP4 / NVFP4): the lab's kernels against the other
formats' GEMVs and GEMMs and the library peers, one run.

    python benchmarks/blockscaled.py --out DIR [--quick] [--tune | --tune-only]

For N=K=8192 and N=28672, K=8192: every block-scaled variant this GPU runs — the GEMVs at
M = 1..16 beside the lab's W4A16, A8W8 and FP8 GEMVs and cuBLAS fp16, the MXFP8 GEMM beside
plain FP8 (the lab's wgmma kernel with the same tiles, and torch._scaled_mm), and Hopper's two
emulated FP4 GEMMs side by side (MXFP4 widened to e4m3, NVFP4 widened to fp16).
``--tune`` first times v02 over its WARPS x UNROLL x RPW x HINT x PREFETCH grid at M = 1 (X in
shared memory; each configuration checked against the default's output); ``--tune-only`` stops there. Writes blockscaled.json and sweep-<N>x<K>.png, prints
every row with its bound and % of bound, then the targets.
"""
from __future__ import annotations

import argparse
import itertools
import os
import sys
import time

try:  # torch (library peers) first: imported after CuPy/Numba it has failed on the GPU machines
    import torch  # noqa: F401
except Exception:
    pass

from labkernels import bench, device, plot, registry, roofline, runner

SHAPES = [(8192, 8192), (28672, 8192)]
GEMV_MS = [1, 2, 4, 8, 16]
GEMM_MS = [32, 64, 128, 256, 512, 1024, 2048, 4096, 8192]
FMTS = ("mxfp8", "mxfp4", "nvfp4")


def tune(N: int, K: int) -> None:
    import cupy
    import numpy as np

    from labkernels import problems
    from labkernels.kernels import blockscaled

    for fmt in ("mxfp4", "nvfp4"):
        sets = []
        for i in range(3):  # 3 x >= 36 MB: past the 50 MB L2 together
            h = problems.get(fmt).inputs(1, N, K, np.random.default_rng(i))
            sets.append({k: cupy.asarray(v) for k, v in h.items()})
        launch = blockscaled.mxfp4_gemv if fmt == "mxfp4" else blockscaled.nvfp4_gemv
        out = cupy.empty((1, N), cupy.float16)
        ref = launch(**sets[0]).copy()
        nbytes = roofline.bytes_moved(fmt, 1, N, K)
        for warps, unroll, rpw, hint, prefetch in itertools.product((4, 8), (1, 2), (1, 2), (0, 1), (0, 1)):
            tun = {"WARPS": warps, "UNROLL": unroll, "RPW": rpw, "XSMEM": 1, "HINT": hint, "PREFETCH": prefetch}
            got = launch(**sets[0], out=out, tuning=tun)
            assert bool((got == ref).all()), (fmt, tun)
            t = bench.time_kernel(lambda s: launch(**s, out=out, tuning=tun), [(s,) for s in sets], iters=30,
                                  flush_l2=False)
            print(f"  tune {fmt} N={N} K={K} {tun}: {t.median_us:6.1f} us "
                  f"({nbytes / (t.median_us * 1e-6) / 1e9:5.0f} GB/s)")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--tune", action="store_true")
    ap.add_argument("--tune-only", action="store_true", help="the --tune grid, then stop")
    ap.add_argument("--iters", type=int, default=30)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    g = device.require_gpu("the block-scaled benchmark")
    t0 = time.time()
    if args.tune or args.tune_only:
        for N, K in SHAPES:
            tune(N, K)
        if args.tune_only:
            return 0
    ceil = roofline.measure_ceilings(verbose=True)
    iters = 10 if args.quick else args.iters
    records, failures = [], []

    def run(ids, fmt, N, K, m_list):
        ids = [i for i in ids if registry.get(i).runnable()[0]]
        rs, fs = runner.sweep(ids, fmt, N, K, m_list, ceil, iters=iters)
        records.extend(rs)
        failures.extend(fs)

    gemm_ms = [256, 4096, 8192] if args.quick else GEMM_MS
    for N, K in SHAPES:
        for fmt in FMTS:
            lab = [v.id for v in registry.variants(family="blockscaled", fmt=fmt) if v.impl == "cupy"]
            run(lab, fmt, N, K, GEMV_MS + gemm_ms)
        run(["dequant/v04_gemv_lop3"], "w4a16", N, K, GEMV_MS)
        run(["int8/v02_dp4a_gemv"], "a8w8", N, K, GEMV_MS)
        # plain FP8 beside MXFP8: what the per-block scaling costs
        run(["fp8/v02_gemv", "fp8/v04_wgmma", "fp8/v05_wgmma_tma", "fp8/v00_torch_scaled_mm"], "fp8", N, K,
            GEMV_MS + gemm_ms)
        run(["fp16/v00_cublas"], "fp16", N, K, GEMV_MS + gemm_ms)
    for fmt in FMTS:
        run([f"blockscaled/v01_{fmt}_numba"], fmt, *SHAPES[0], [1])

    bench.save_json(os.path.join(args.out, "blockscaled.json"),
                    {"env": bench.environment(), "ceilings": ceil.to_json(), "shapes": SHAPES,
                     "records": records, "failures": failures})
    for N, K in SHAPES:
        rs = [r for r in records if r.N == N and r.K == K and "numba" not in r.kernel]
        plot.save(plot.sweep_figure(ceil, N, K, ["fp16", "w4a16", "fp8", *FMTS], rs,
                                    ms=sorted({r.M for r in rs}), library_fmts=["fp16"]),
                  os.path.join(args.out, f"sweep-{N}x{K}.png"))
    print("\n" + bench.Record.header())
    for r in records:
        print(r.row())
    print(f"\nGPU {g.name}; copy bandwidth {ceil.bw / 1e12:.2f} TB/s")
    for N, K in SHAPES:
        at = {(r.kernel, r.M): r for r in records if r.N == N and r.K == K}
        print(f"\nN={N} K={K}, M=1:")
        cub = at.get(("fp16/v00_cublas", 1))
        for kid in ("blockscaled/v02_mxfp4_gemv", "blockscaled/v02_nvfp4_gemv", "dequant/v04_gemv_lop3",
                    "int8/v02_dp4a_gemv", "fp8/v02_gemv"):
            r = at.get((kid, 1))
            if r:
                vs = f"  {cub.time_us / r.time_us:4.2f}x cuBLAS fp16" if cub else ""
                print(f"  {kid:<28} {r.time_us:7.1f} us {r.gbps:6.0f} GB/s {r.pct_of_bound:5.1f}% of bound "
                      f"({r.bound_kind}){vs}")
        print(f"N={N} K={K}, the cost of emulated block scaling (MXFP8 v04 against FP8 v04, same tiles):")
        for m in gemm_ms:
            mx, f8, lib = (at.get((k, m)) for k in ("blockscaled/v04_mxfp8_wgmma", "fp8/v04_wgmma",
                                                     "fp8/v00_torch_scaled_mm"))
            if mx and f8:
                vs = f", torch._scaled_mm {lib.tflops:6.0f}" if lib else ""
                print(f"  M={m:<5} MXFP8 {mx.tflops:6.0f} TFLOP/s ({mx.pct_of_bound:5.1f}% of its bound, "
                      f"{mx.bound_kind}), FP8 {f8.tflops:6.0f}{vs}: MXFP8 takes {mx.time_us / f8.time_us:4.2f}x")
        print(f"N={N} K={K}, the same on the TMA pipeline (MXFP8 v07 against FP8 v05):")
        for m in gemm_ms:
            mx, f8 = (at.get((k, m)) for k in ("blockscaled/v07_mxfp8_tma", "fp8/v05_wgmma_tma"))
            if mx and f8:
                print(f"  M={m:<5} MXFP8 {mx.tflops:6.0f} TFLOP/s ({mx.pct_of_bound:5.1f}% of its bound, "
                      f"{mx.bound_kind}), FP8 {f8.tflops:6.0f}: MXFP8 takes {mx.time_us / f8.time_us:4.2f}x")
        print(f"N={N} K={K}, the emulated FP4 GEMMs (widening included): MXFP4 v04 and v07 (e4m3, fp8 wgmma, FP32 "
              f"rescale per 32-k block: MXFP8 v04's and v07's), NVFP4 v04 (fp16 = element x block scale, fp16 wgmma):")
        for m in gemm_ms:
            m4, m7, n4 = (at.get((k, m)) for k in ("blockscaled/v04_mxfp4_wgmma", "blockscaled/v07_mxfp4_tma",
                                                    "blockscaled/v04_nvfp4_wgmma"))
            for name, r in (("MXFP4 v04", m4), ("MXFP4 v07", m7), ("NVFP4 v04", n4)):
                if r:
                    print(f"  M={m:<5} {name} {r.tflops:6.0f} TFLOP/s {r.time_us:8.1f} us "
                          f"({r.pct_of_bound:5.1f}% of its bound, {r.bound_kind})")
    return bench.finish(records, failures, t0)


if __name__ == "__main__":
    sys.exit(main())
