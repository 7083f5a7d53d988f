"""fp16 × fp16 baseline: the numbers every quantized format is measured against.

v00 is cuBLAS (through ``cupy.matmul``); v01–v03 are the lab's own, in
teaching order. All compute ``Y = X·Wᵀ`` with X [M, K], W [N, K], Y [M, N]
fp16, fp32 accumulation (see ``labkernels.problems``).
"""
from __future__ import annotations

import numpy as np

from ... import build
from ...registry import register
from .._launch import (alloc_out, array_module, cdiv, check_grid, check_simulator_work, check_xw, ensure_int32,
                       require_cupy)
from . import v01_naive_numba

ALL_ARCHS = build.TARGETS  # every target NVRTC builds for


def cublas(x, w, out=None):
    """cuBLAS fp16 GEMM through ``cupy.matmul`` (fp32 accumulation)."""
    M, N, K = check_xw(x, w, out, what="cublas")
    xp = require_cupy(x, w, out, what="cuBLAS")
    out = alloc_out(xp, out, M, N)
    return xp.matmul(x, w.T, out=out)


def naive_numba(x, w, out=None):
    """v01: one Numba thread per output."""
    M, N, K = check_xw(x, w, out, what="fp16 naive (Numba)")
    xp = array_module(x, w, out)
    bx, by = v01_naive_numba.BLOCK
    check_grid("fp16 naive (Numba)", (cdiv(N, bx), cdiv(M, by)))
    check_simulator_work("fp16 naive (Numba)", M, N, K)
    out = alloc_out(xp, out, M, N)
    v01_naive_numba.launch(x, w, out)
    return out


def naive(x, w, out=None):
    """v02: one CUDA C thread per output."""
    M, N, K = check_xw(x, w, out, what="fp16 naive")
    xp = require_cupy(x, w, out, what="fp16 naive (CUDA C)")
    ensure_int32("M", M)
    if M > 65535:
        raise ValueError(f"fp16 naive launches one block row per m and handles M up to 65535; got M={M}")
    out = alloc_out(xp, out, M, N)
    fn = build.get_function("fp16/v02_naive.cu", "fp16_naive")
    threads = 128
    fn((cdiv(N, threads), M), (threads,), (x, w, out, np.int32(M), np.int32(N), np.int32(K)))
    return out


GEMV_MAX_M = 16
GEMV_DEFINES = {"WARPS": 4, "UNROLL": 4}


def gemv_warp(x, w, out=None):
    """v03: one warp per output row, 16-byte coalesced loads, M <= 16."""
    M, N, K = check_xw(x, w, out, max_m=GEMV_MAX_M, what="fp16 GEMV (v03)")
    xp = require_cupy(x, w, out, what="fp16 GEMV (CUDA C)")
    out = alloc_out(xp, out, M, N)
    # One kernel per M (ROWS): loops over the rows of X get a known trip count.
    fn = build.get_function("fp16/v03_gemv_warp.cu", "fp16_gemv_warp", {**GEMV_DEFINES, "ROWS": M})
    warps = GEMV_DEFINES["WARPS"]
    fn((cdiv(N, warps),), (warps * 32,), (x, w, out, np.int32(M), np.int32(N), np.int32(K)))
    return out


register(id="fp16/v00_cublas", family="fp16", fmt="fp16", op="gemm", impl="library", launch=cublas,
         reference=True, description="cuBLAS GEMM through cupy.matmul (the library reference)")
register(id="fp16/v01_naive_numba", family="fp16", fmt="fp16", op="gemm", impl="numba", launch=naive_numba,
         source="fp16/v01_naive_numba.py", bench_max_m=16, promises=("cvt.f32.f16", "cvt.rn.f16.f32"),
         numba_func="fp16_naive_numba", numba_sig=v01_naive_numba.SIGNATURE,
         description="Numba, one thread per output; uncoalesced W reads")
register(id="fp16/v02_naive", family="fp16", fmt="fp16", op="gemm", impl="cupy", launch=naive,
         source="fp16/v02_naive.cu", archs=ALL_ARCHS, promises=("cvt.f32.f16", "fma.rn.f32"),
         bench_max_m=16,
         description="CUDA C, one thread per output; uncoalesced W reads")
register(id="fp16/v03_gemv_warp", family="fp16", fmt="fp16", op="gemv", impl="cupy", launch=gemv_warp,
         source="fp16/v03_gemv_warp.cu", archs=ALL_ARCHS, promises=("ld.global.nc.v4", "shfl.sync.bfly"),
         max_m=GEMV_MAX_M, defines={**GEMV_DEFINES, "ROWS": 4},
         description="one warp per row of W, 16-byte coalesced loads, all M rows per load; M <= 16")
