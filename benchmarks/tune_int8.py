"""Tuning sweeps behind the int8 defaults (results in benchmarks/NOTES.md), one run.

    python benchmarks/tune_int8.py [--gemv-only]

A8W8 v02 GEMV at M = 1 over WARPS x UNROLL x HINT (plain __ldg, or the streaming
L1::no_allocate.L2::256B load) x SPLIT (warps per row) for both benchmark shapes, and every
v06 tile configuration (V06_CONFIGS and V06_EXTRA) at 8192^3 beside torch._int_mm.
Every configuration's output is compared with the default's before it is timed.
"""
from __future__ import annotations

import torch  # the library peer, imported before CuPy (see benchmarks/int8.py)

import cupy

from labkernels import bench
from labkernels.kernels import int8


def rand(shape):
    return cupy.random.default_rng(0).integers(-128, 128, shape, dtype=cupy.int8)


def main(gemv_only: bool = False):
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
    if gemv_only:
        return
    M = N = K = 8192
    x, w = rand((M, K)), rand((N, K))
    xs, ws = cupy.full((M, 1), 0.01, cupy.float16), cupy.full((N, 1), 0.001, cupy.float16)
    out = cupy.empty((M, N), cupy.int32)
    ref = int8.mma_gemm(x, xs, w, ws, out=cupy.empty((M, N), cupy.int32), config="128x128").copy()
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
    xt, wt = torch.as_tensor(x, device="cuda"), torch.as_tensor(w, device="cuda")
    t = bench.time_kernel(lambda: torch._int_mm(xt, wt.t()), [()], iters=20)
    print(f"  torch._int_mm {t.median_us:8.1f} us {2 * M * N * K / (t.median_us * 1e-6) / 1e12:6.0f} TOP/s")


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description="the int8 tuning sweeps")
    ap.add_argument("--gemv-only", action="store_true", help="the v02 GEMV sweep only")
    main(gemv_only=ap.parse_args().gemv_only)
