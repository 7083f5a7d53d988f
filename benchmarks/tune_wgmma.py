"""Tile and pipeline sweep of the lab's wgmma GEMMs (results in benchmarks/NOTES.md), one run.

    python benchmarks/tune_wgmma.py [--quick]

Each Hopper GEMM with two or three warpgroups a block (128- or 192-row tiles) and several
pipeline depths, beside its library peer on the same inputs, in the same run:
fp16/v04 and dequant/v09 (W4A16, M = 4096) against cuBLAS fp16 (cupy.matmul), int8/v09 against
torch._int_mm, fp8/v04 against torch._scaled_mm, NVFP4 v04 against cuBLAS fp16. Random inputs,
never zeros; every setting's accuracy is checked by the GPU tests, not here.
"""
import argparse

import torch  # the library peers, imported before CuPy (see benchmarks/int8.py)

import cupy
import numpy as np

from labkernels import bench, problems
from labkernels.kernels import blockscaled, dequant, fp8, fp16, int8

TILES = [dict(WGS=2, STAGES=4), dict(WGS=2, STAGES=3), dict(WGS=3, STAGES=4), dict(WGS=3, STAGES=3)]
FP8 = [dict(WGS=2, STAGES=4, KSUB=1, PROMOTE=1), dict(WGS=3, STAGES=4, KSUB=1, PROMOTE=1),
       dict(WGS=3, STAGES=5, KSUB=1, PROMOTE=1), dict(WGS=2, STAGES=3, KSUB=2, PROMOTE=1)]


def timed(label, fn, flops, iters, peer_us=None):
    t = bench.time_kernel(fn, [()], iters=iters)
    rel = f"  {peer_us / t.median_us:5.2f}x peer" if peer_us else ""
    print(f"  {label:44s} {t.median_us:9.1f} us {flops / t.median_us / 1e6:7.0f} TFLOP/s{rel}", flush=True)
    return t.median_us


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="defaults and WGS=3 only")
    ap.add_argument("--iters", type=int, default=20)
    a = ap.parse_args()
    tiles = TILES[:1] if a.quick else TILES
    rng = cupy.random.default_rng(0)
    it = a.iters

    M = N = K = 8192
    fl = 2 * M * N * K
    print(f"fp16 {M}x{N}x{K}")
    x = rng.standard_normal((M, K), dtype=cupy.float32).astype(cupy.float16)
    w = rng.standard_normal((N, K), dtype=cupy.float32).astype(cupy.float16)
    out = cupy.empty((M, N), cupy.float16)
    peer = timed("cuBLAS fp16 (cupy.matmul)", lambda: cupy.matmul(x, w.T, out=out), fl, it)
    for tun in tiles:
        timed(f"fp16/v04 {tun}", lambda: fp16.wgmma_gemm(x, w, out=out, tuning=tun), fl, it, peer)
    for st in (3, 4, 2):
        timed(f"fp16/v05 TMA STAGES={st}", lambda: fp16.wgmma_tma_gemm(x, w, out=out, tuning={"STAGES": st}), fl, it,
              peer)

    print(f"int8 {M}x{N}x{K}")
    xi = rng.integers(-128, 128, (M, K), dtype=cupy.int8)
    wi = rng.integers(-128, 128, (N, K), dtype=cupy.int8)
    sx, sw = cupy.ones((M, 1), cupy.float16), cupy.ones((N, 1), cupy.float16)
    xt, wt = torch.as_tensor(xi, device="cuda"), torch.as_tensor(wi, device="cuda")
    peer = timed("torch._int_mm", lambda: torch._int_mm(xt, wt.t()), fl, it)
    for tun in tiles:
        timed(f"int8/v09 {tun}", lambda: int8.wgmma_gemm(xi, sx, wi, sw, out=out, tuning=tun), fl, it, peer)

    print(f"fp8 {M}x{N}x{K}")
    x8 = rng.integers(0, 256, (M, K), dtype=cupy.uint8) & 0xF7  # no NaN codes
    w8 = rng.integers(0, 256, (N, K), dtype=cupy.uint8) & 0xF7
    xs, ws = cupy.ones((M, 1), cupy.float32), cupy.ones((N, 1), cupy.float32)
    xt8 = torch.as_tensor(x8, device="cuda").view(torch.float8_e4m3fn)
    wt8 = torch.as_tensor(w8, device="cuda").view(torch.float8_e4m3fn)
    one = torch.ones((), device="cuda")
    peer = timed("torch._scaled_mm", lambda: torch._scaled_mm(xt8, wt8.t(), scale_a=one, scale_b=one,
                                                             out_dtype=torch.float16), fl, it)
    for tun in (FP8[1:2] if a.quick else FP8):
        timed(f"fp8/v04 {tun}", lambda: fp8.wgmma_gemm(x8, xs, w8, ws, out=out, tuning=tun), fl, it, peer)
    for tun in ([dict(BN=192, STAGES=4)] if a.quick else
                [dict(BN=192, STAGES=4), dict(BN=192, STAGES=5), dict(BN=192, STAGES=3), dict(BN=128, STAGES=6),
                 dict(BN=128, STAGES=4)]):
        timed(f"fp8/v05 TMA {tun}", lambda: fp8.wgmma_tma_gemm(x8, xs, w8, ws, out=out, tuning=tun), fl, it, peer)
    del x8, w8, xt8, wt8, xi, wi, xt, wt

    for N in (8192, 28672):
        M, K = 4096, 8192
        fl = 2 * M * N * K
        print(f"W4A16 M={M} N={N} K={K} (group 128)")
        inp = problems.get("w4a16").inputs(M, N, K, np.random.default_rng(1), group_size=128)
        d = {k: (cupy.asarray(v) if v is not None else None) for k, v in inp.items()}
        wd = rng.standard_normal((N, K), dtype=cupy.float32).astype(cupy.float16)  # cuBLAS's fp16 weights
        out = cupy.empty((M, N), cupy.float16)
        peer = timed("cuBLAS fp16 (cupy.matmul)", lambda: cupy.matmul(d["x"], wd.T, out=out), fl, it)
        for st in (3, 4):
            timed(f"dequant/v09 STAGES={st}", lambda: dequant.gemm_wgmma(**d, out=out, tuning={"STAGES": st}), fl, it,
                  peer)
        wh = cupy.empty((N, K), cupy.float16)
        timed("  its widening pass alone", lambda: dequant.widen_w4(d["qweight"], d["scales"], None, out=wh), fl, it)
        del d, wd, wh, out

    M = N = K = 8192
    fl = 2 * M * N * K
    print(f"NVFP4 {M}x{N}x{K}")
    inp = problems.get("nvfp4").inputs(M, N, K, np.random.default_rng(2))
    d = {k: cupy.asarray(v) for k, v in inp.items()}
    out = cupy.empty((M, N), cupy.float16)
    for st in (3, 4):
        timed(f"blockscaled/v04_nvfp4 STAGES={st}", lambda: blockscaled.nvfp4_wgmma(**d, out=out, tuning={"STAGES": st}),
              fl, it)


if __name__ == "__main__":
    main()
