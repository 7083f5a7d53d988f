"""fp16 × fp16 baseline: the numbers every quantized format is measured against.

v00 is cuBLAS (through ``cupy.matmul``); v01–v04 are the lab's own, in
teaching order (v04, Hopper's wgmma, is also the GEMM behind NVFP4's and
W4A16's large-M variants). All compute ``Y = X·Wᵀ`` with X [M, K], W [N, K], Y [M, N]
fp16, fp32 accumulation (see ``labkernels.problems``).
"""
from __future__ import annotations

import numpy as np

from ... import build, device
from ...registry import register
from .._launch import (alloc_out, array_module, cdiv, check_grid, check_simulator_work, check_xw, ensure_int32,
                       require_cupy, smem_function, tensor_map)
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


#: v04: stages of the cp.async pipeline, warpgroups per block ((64 * WGS) x 256 tiles)
WGMMA_DEFINES = {"STAGES": 4, "WGS": 2}
_SMEM_MAX = 227 * 1024  # dynamic shared memory one block of sm_90 may ask for
_NULL = np.uint64(0)


def wgmma_smem(defines: dict) -> int:
    """Dynamic shared memory of fp16/v04_wgmma.cu with ``defines``: the stages' A and B tiles plus
    1 KB to align them to the 128-byte swizzle."""
    return defines["STAGES"] * (64 * defines["WGS"] + 256) * 128 + 1024


def wgmma_config(tuning: dict | None) -> dict:
    """:data:`WGMMA_DEFINES` updated by ``tuning``, checked."""
    d = {**WGMMA_DEFINES, **(tuning or {})}
    if set(d) != set(WGMMA_DEFINES):
        raise ValueError(f"fp16 wgmma tuning takes {sorted(WGMMA_DEFINES)}; got {sorted(tuning or {})}")
    if d["WGS"] not in (2, 3):
        raise ValueError(f"WGS (warpgroups a block) must be 2 or 3; got {d['WGS']}")
    if d["STAGES"] < 3 or wgmma_smem(d) > _SMEM_MAX:
        raise ValueError(f"STAGES must be >= 3 and fit {_SMEM_MAX} bytes of shared memory "
                         f"({wgmma_smem(d)} with {d}); with WGS=3 at most 4")
    return d


def _grid(what, M, N, K, bm):
    """Blocks of the fp16 wgmma GEMMs ((bm x 256) tiles, 1-D grid), after checking what they need."""
    if K % 8:
        raise ValueError(f"{what} needs K to be a multiple of 8 (16-byte chunks of fp16 rows); got K={K}")
    blocks = cdiv(M, bm) * cdiv(N, 256)
    check_grid(what, (blocks,), ("M*N",))
    ensure_int32("M*N", M * N)
    ensure_int32("2*K (bytes of an fp16 row)", 2 * K)
    return blocks


def wgmma_gemm(x, w, out=None, *, tuning: dict | None = None):
    """v04: Hopper wgmma m64n256k16 fp16, fp32 accumulators, cp.async pipeline (sm_90a)."""
    what = "fp16 v04 (wgmma)"
    M, N, K = check_xw(x, w, out, what=what)
    xp = require_cupy(x, w, out, what=what)
    device.require("wgmma", what, alternative="fp16/v00_cublas")
    d = wgmma_config(tuning)
    blocks = _grid(what, M, N, K, 64 * d["WGS"])
    out = alloc_out(xp, out, M, N)
    smem = wgmma_smem(d)
    fn = smem_function("fp16/v04_wgmma.cu", "fp16_wgmma", tuple(sorted(d.items())), smem, specific=True)
    fn((blocks,), (128 * d["WGS"],), (x, w, out, np.int32(M), np.int32(N), np.int32(K)), shared_mem=smem)
    return out


#: v05: stages of the TMA pipeline (128 x 256 tiles; 4 fit 227 KB; 3 measured faster on the H100)
TMA_DEFINES = {"STAGES": 3}


def tma_smem(defines: dict) -> int:
    """Dynamic shared memory of fp16/v05_wgmma_tma.cu: the stages' tiles, 1 KB of alignment, the mbarriers."""
    return defines["STAGES"] * (128 + 256) * 128 + 1024 + 16 * defines["STAGES"]


def tma_config(tuning: dict | None) -> dict:
    """:data:`TMA_DEFINES` updated by ``tuning``, checked."""
    d = {**TMA_DEFINES, **(tuning or {})}
    if set(d) != set(TMA_DEFINES):
        raise ValueError(f"fp16 TMA GEMM tuning takes {sorted(TMA_DEFINES)}; got {sorted(tuning or {})}")
    if d["STAGES"] not in (2, 3, 4):
        raise ValueError(f"STAGES must be 2, 3 or 4 (227 KB of shared memory); got {d['STAGES']}")
    return d


def tma_launch(source, x, x_global, w, w_global, out, M, N, K, defines, what):
    """Launch the TMA fp16 GEMM (kernel ``fp16_wgmma_tma`` of ``source``) on fp16 X [M, K], W [N, K]."""
    blocks = _grid(what, M, N, K, 128)
    smem = tma_smem(defines)
    fn = smem_function(source, "fp16_wgmma_tma", tuple(sorted(defines.items())), smem, specific=True)
    fn((blocks,), (384,), (tensor_map(x, 128), _NULL if x_global is None else x_global, tensor_map(w, 256),
                           _NULL if w_global is None else w_global, out, np.int32(M), np.int32(N), np.int32(K)),
       shared_mem=smem)
    return out


def wgmma_tma_gemm(x, w, out=None, *, tuning: dict | None = None):
    """v05: v04's tiles loaded by TMA for a producer warpgroup, two consumer warpgroups, mbarriers (sm_90a)."""
    what = "fp16 v05 (TMA + wgmma)"
    M, N, K = check_xw(x, w, out, what=what)
    xp = require_cupy(x, w, out, what=what)
    device.require("wgmma", what, alternative="fp16/v00_cublas")
    d = tma_config(tuning)
    out = alloc_out(xp, out, M, N)
    return tma_launch("fp16/v05_wgmma_tma.cu", x, None, w, None, out, M, N, K, d, what)


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
register(id="fp16/v04_wgmma", family="fp16", fmt="fp16", op="gemm", impl="cupy", launch=wgmma_gemm,
         source="fp16/v04_wgmma.cu", archs=("sm_90a",), specific=True, defines=WGMMA_DEFINES, requires="wgmma",
         promises=("wgmma.mma_async.sync.aligned.m64n256k16.f32.f16.f16", "wgmma.commit_group.sync.aligned",
                   "fence.proxy.async.shared::cta", "cp.async.cg.shared.global"),
         description="Hopper wgmma m64n256k16, (64*WGS) x 256 tiles in 128-byte-swizzled shared memory, cp.async "
                     "pipeline, one wgmma group in flight")
register(id="fp16/v05_wgmma_tma", family="fp16", fmt="fp16", op="gemm", impl="cupy", launch=wgmma_tma_gemm,
         source="fp16/v05_wgmma_tma.cu", archs=("sm_90a",), specific=True, defines=TMA_DEFINES, requires="wgmma",
         promises=("cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes",
                   "mbarrier.try_wait.parity", "setmaxnreg.inc.sync.aligned.u32",
                   "wgmma.mma_async.sync.aligned.m64n256k16.f32.f16.f16"),
         description="v04's tiles copied by TMA for a producer warpgroup, mbarriers instead of block barriers, "
                     "two consumer warpgroups with setmaxnreg")
