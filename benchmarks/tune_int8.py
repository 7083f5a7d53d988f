"""Tuning sweeps behind the int8 defaults (results in benchmarks/NOTES.md), one run.

    python benchmarks/tune_int8.py [--gemv-only | --gemm-only]

A8W8 v02 GEMV at M = 1 over WARPS x UNROLL x HINT (plain __ldg, or the streaming
L1::no_allocate.L2::256B load) x SPLIT (warps per row) for both benchmark shapes; every
v06 tile configuration (V06_CONFIGS and V06_EXTRA) and every v10 setting (mma.sync fed by TMA,
Hopper) at 8192^3, beside torch._int_mm timed before and after them.
Every configuration's output is compared with the default's before it is timed.
"""
from __future__ import annotations

import torch  # the library peer, imported before CuPy (see benchmarks/int8.py)

import cupy

from labkernels import bench, registry
from labkernels.kernels import int8


def rand(shape):
    return cupy.random.default_rng(0).integers(-128, 128, shape, dtype=cupy.int8)


def main(gemv_only: bool = False, gemm_only: bool = False):
    if not gemm_only:
        gemv_sweep()
    if not gemv_only:
        gemm_sweep()


def gemv_sweep():
    print("A8W8 v02 GEMV, M = 1: median us (GB/s)")
    for N, K in [(8192, 8192), (28672, 8192)]:
        sets = []
        for i in range(3):  # 3 x >= 67 MB rotate past the 50 MB L2
            sets.append((rand((1, K)), cupy.full((1, 1), 0.01, cupy.float16), rand((N, K)),
                         cupy.full((N, 1), 0.001, cupy.float16)))
        out = cupy.empty((1, N), cupy.int32)
        ref = int8.dp4a_gemv(*sets[0], out=cupy.empty((1, N), cupy.int32)).copy()
        for warps, unroll, hint, split in [(w, u, h, s) for h in (0, 1) for s in (1, 2, 4, 8)
                                           for w in (4, 8, 16) for u in (1, 2, 4)
                                           if w % s == 0 and (h or s == 1)]:
            tun = {"WARPS": warps, "UNROLL": unroll, "HINT": hint, "SPLIT": split}
            got = int8.dp4a_gemv(*sets[0], out=out, tuning=tun)
            assert bool((got == ref).all()), tun
            t = bench.time_kernel(lambda *a: int8.dp4a_gemv(*a, out=out, tuning=tun), sets, iters=30,
                                  flush_l2=False)
            print(f"  N={N} K={K} WARPS={warps:<2} UNROLL={unroll} HINT={hint} SPLIT={split} {t.median_us:7.1f} us "
                  f"({N * K / (t.median_us * 1e-6) / 1e9:6.0f} GB/s)")
        del sets


def gemm_sweep():
    M = N = K = 8192
    x, w = rand((M, K)), rand((N, K))
    xs, ws = cupy.full((M, 1), 0.01, cupy.float16), cupy.full((N, 1), 0.001, cupy.float16)
    out = cupy.empty((M, N), cupy.int32)
    ref = int8.mma_gemm(x, xs, w, ws, out=cupy.empty((M, N), cupy.int32), config="128x128").copy()
    xt, wt = torch.as_tensor(x, device="cuda"), torch.as_tensor(w, device="cuda")

    def peer():
        t = bench.time_kernel(lambda: torch._int_mm(xt, wt.t()), [()], iters=20)
        print(f"  torch._int_mm {t.median_us:8.1f} us {2 * M * N * K / (t.median_us * 1e-6) / 1e12:6.0f} TOP/s")

    peer()
    print("A8W8 v06 at 8192^3: median us, TOP/s")
    for name in [*int8.V06_CONFIGS, *int8.V06_EXTRA]:
        cfg = {**int8.V06_CONFIGS, **int8.V06_EXTRA}[name]
        if int8.v06_smem(cfg) > int8._smem_optin():
            print(f"  {name:<12} does not fit")
            continue
        got = int8.mma_gemm(x, xs, w, ws, out=out, config=name)
        assert bool((got == ref).all()), name
        t = bench.time_kernel(lambda: int8.mma_gemm(x, xs, w, ws, out=out, config=name), [()], iters=20)
        print(f"  {name:<12} {t.median_us:8.1f} us {2 * M * N * K / (t.median_us * 1e-6) / 1e12:6.0f} TOP/s")
    ok, why = registry.get("int8/v10_mma_tma").runnable()
    if not ok:
        print(f"A8W8 v10 skipped: {why}")
    else:
        print("A8W8 v10 (mma.sync fed by TMA) at 8192^3: median us, TOP/s")
        for tun in [dict(PIPE=p, PERSIST=q, GROUP_M=g, STAGES=st, BN=256)
                    for p in (0, 1) for q in (0, 1) for g in (8, 16) for st in (3, 4)] + [
                    dict(PIPE=1, PERSIST=1, GROUP_M=32, STAGES=4, BN=256), dict(PIPE=1, PERSIST=1, GROUP_M=16,
                                                                                 STAGES=4, BN=128)]:
            got = int8.mma_tma_gemm(x, xs, w, ws, out=out, tuning=tun)
            assert bool((got == ref).all()), tun
            t = bench.time_kernel(lambda: int8.mma_tma_gemm(x, xs, w, ws, out=out, tuning=tun), [()], iters=20)
            print(f"  {str(tun):<46} {t.median_us:8.1f} us {2 * M * N * K / (t.median_us * 1e-6) / 1e12:6.0f} TOP/s")
    peer()


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description="the int8 tuning sweeps")
    ap.add_argument("--gemv-only", action="store_true", help="the v02 GEMV sweep only")
    ap.add_argument("--gemm-only", action="store_true", help="the v06 and v10 GEMM sweeps only")
    a = ap.parse_args()
    main(gemv_only=a.gemv_only, gemm_only=a.gemm_only)
