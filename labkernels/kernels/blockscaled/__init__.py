"""Block-scaled formats (MXFP8, MXFP4, NVFP4), lesson 3: one scale per block of k.

Every variant computes ``Y = deq(X)·deq(W)ᵀ`` from the inputs of
``labkernels.problems["mxfp8" | "mxfp4" | "nvfp4"]``:

==========  ===============================  ====================  ==========================
format      elements ``x`` [M, ·], ``w``      block scales          per tensor
==========  ===============================  ====================  ==========================
mxfp8       e4m3 codes, one per byte [·, K]   E8M0 per 32 k         —
mxfp4       e2m1, two per byte [·, K/2]       E8M0 per 32 k         —
nvfp4       e2m1, two per byte [·, K/2]       E4M3 per 16 k         fp32 ``x_global``, ``w_global``
==========  ===============================  ====================  ==========================

Scales are ``x_scales [M, K/block]`` and ``w_scales [N, K/block]`` (uint8 codes, row-major:
the layout of :mod:`labkernels.formats`). Variants in teaching order:

    v01  Numba, one thread per output, decode tables, each block's sum scaled before it is added
    v02  FP4 GEMV (MXFP4, NVFP4), one warp per RPW rows, e2m1 decoded by bit placement,
         exact half2 block sums                                                      (M <= 16)
    v03  MXFP8 GEMV: the FP8 GEMV (fp8/v02) with each chunk's sum scaled by its block  (M <= 16)
    v04  MXFP8 GEMM on Hopper: fp8 wgmma per 32-k block, each block's scales applied in fp32 (sm_90a);
         MXFP4: its e2m1 codes widened to e4m3 (exact, e2m1_to_e4m3.cu), then the same kernel;
         NVFP4: element × UE4M3 scale widened to fp16 (exact, nvfp4_to_fp16.cu), then an fp16
         wgmma GEMM (int8/v09's tiles) with the per-tensor scales in its epilogue
    v05  native block-scaled mma.sync (sm_120a: RTX 50, RTX PRO 6000 Blackwell), native.py
    v07  MXFP8 GEMM on Hopper, v04's per-block promotion on fp8/v05's TMA pipeline: a producer
         warpgroup (TMA tiles, scales to shared memory as fp32) and two decoupled consumers, so one
         promotes while the other's MMAs run (sm_90a)

:func:`matmul` runs a problem on the best variant this GPU has: the native instruction where
it exists, else the GEMV for small M, else Hopper's v04, else v01.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ... import build
from ...errors import check_array, check_choice
from ...registry import register
from .._launch import alloc_out, array_module, cdiv, check_grid, check_simulator_work, check_xw, require_cupy
from .. import fp16
from ..fp8 import HOPPER_FP8_ACC_BITS
from . import v01_naive_numba


@dataclass(frozen=True)
class BlockFormat:
    fmt: str
    block: int  #: k per scale
    per_byte: int  #: elements per byte of ``x`` / ``w``
    scale: str  #: "e8m0" or "e4m3"
    has_global: bool  #: fp32 per-tensor scales (NVFP4)


FORMATS = {
    "mxfp8": BlockFormat("mxfp8", 32, 1, "e8m0", False),
    "mxfp4": BlockFormat("mxfp4", 32, 2, "e8m0", False),
    "nvfp4": BlockFormat("nvfp4", 16, 2, "e4m3", True),
}


def check_blockscaled(fmt: str, x, x_scales, w, w_scales, out, x_global=None, w_global=None, *,
                      max_m: int | None = None, what: str = "block-scaled kernel"):
    """Check a block-scaled problem's operands; return (M, N, K) in elements."""
    f = FORMATS[check_choice("fmt", fmt, FORMATS)]
    M, N, cols = check_xw(x, w, out, x_dtype=np.uint8, w_dtype=np.uint8, max_m=max_m, what=what)
    K = cols * f.per_byte
    if K % f.block:
        raise ValueError(f"{what}: K={K} must be a multiple of the {fmt} block size {f.block}"
                         + (f" (x.shape[1] = K/2 = {cols} bytes of packed e2m1)" if f.per_byte == 2 else ""))
    nb = K // f.block
    check_array("x_scales", x_scales, dtype=np.uint8, shape=(M, nb))
    check_array("w_scales", w_scales, dtype=np.uint8, shape=(N, nb))
    arrays = [x, x_scales, w, w_scales, out]
    if f.has_global:
        for name, g in (("x_global", x_global), ("w_global", w_global)):
            if g is None:
                raise TypeError(f"{what}: {fmt} needs {name}, its fp32 per-tensor scale (shape (1,))")
            check_array(name, g, dtype=np.float32, shape=(1,))
        arrays += [x_global, w_global]
    elif x_global is not None or w_global is not None:
        raise TypeError(f"{what}: {fmt} has no per-tensor scales; x_global and w_global are NVFP4's")
    array_module(*arrays)
    return M, N, K


@functools.lru_cache(maxsize=None)
def decode_tables(fmt: str) -> tuple[np.ndarray, np.ndarray]:
    """(element table, scale table), float32 values of every code, from labkernels.formats.
    NaN codes stay NaN: a NaN scale (E8M0 0xFF) must make its block NaN, as the spec says."""
    from ... import formats

    f = FORMATS[fmt]
    codes = np.arange(256, dtype=np.uint8)
    elem = (formats.decode_e4m3(codes) if f.per_byte == 1 else formats.decode_e2m1(codes[:16])).astype(np.float32)
    scale = (formats.decode_e8m0(codes) if f.scale == "e8m0" else formats.decode_e4m3(codes)).astype(np.float32)
    return elem, scale


_ONE = np.ones(1, np.float32)


def _naive(fmt: str, x, x_scales, w, w_scales, out=None, x_global=None, w_global=None):
    what = f"{fmt.upper()} v01 (Numba)"
    M, N, K = check_blockscaled(fmt, x, x_scales, w, w_scales, out, x_global, w_global, what=what)
    bx, by = v01_naive_numba.BLOCK
    check_grid(what, (cdiv(N, bx), cdiv(M, by)))
    check_simulator_work(what, M, N, K)
    xp = array_module(x)
    out = alloc_out(xp, out, M, N)
    elem, scale = (xp.asarray(t) for t in decode_tables(fmt))
    one = xp.asarray(_ONE)
    kernel = v01_naive_numba.mx_kernel if FORMATS[fmt].per_byte == 1 else v01_naive_numba.fp4_kernel
    v01_naive_numba.launch(kernel, x, x_scales, w, w_scales, elem, scale,
                           one if x_global is None else x_global, one if w_global is None else w_global, out)
    return out


def mxfp8_naive(x, x_scales, w, w_scales, out=None):
    """v01 MXFP8: one Numba thread per output."""
    return _naive("mxfp8", x, x_scales, w, w_scales, out)


def mxfp4_naive(x, x_scales, w, w_scales, out=None):
    """v01 MXFP4: one Numba thread per output."""
    return _naive("mxfp4", x, x_scales, w, w_scales, out)


def nvfp4_naive(x, x_scales, x_global, w, w_scales, w_global, out=None):
    """v01 NVFP4: one Numba thread per output."""
    return _naive("nvfp4", x, x_scales, w, w_scales, out, x_global, w_global)


# --------------------------------------------------------------------------
# v02: FP4 GEMV.
# --------------------------------------------------------------------------

GEMV_MAX_M = 16
ARCHS_ALL = build.TARGETS  # every target NVRTC builds for
#: v02: warps per block, 16-byte chunks in flight per lane and row, rows of W per warp; W streamed
#: with the next step's chunks in flight (HINT, PREFETCH): fastest on both benchmark shapes at
#: M = 1 (benchmarks/blockscaled.py --tune-only; NOTES.md)
GEMV_DEFINES = {"WARPS": 8, "UNROLL": 1, "RPW": 2, "HINT": 1, "PREFETCH": 1}
#: X decoded into shared memory once per block when it fits in this many bytes (no opt-in)
GEMV_XSMEM_MAX = 48 * 1024


def _fp4_gemv(fmt, x, x_scales, w, w_scales, out, x_global, w_global, tuning):
    what = f"{fmt.upper()} v02 (GEMV)"
    M, N, K = check_blockscaled(fmt, x, x_scales, w, w_scales, out, x_global, w_global,
                                max_m=GEMV_MAX_M, what=what)
    if K % 32:
        raise ValueError(f"{what} reads 16-byte chunks of 32 elements: K must be a multiple of 32; got K={K} "
                         f"(use blockscaled/v01_{fmt}_numba for other K)")
    xp = require_cupy(x, x_scales, w, w_scales, out, what=what)
    f = FORMATS[fmt]
    smem = M * K * 2 + M * (K // f.block) * 4  # X decoded to fp16, its scales to fp32
    defines = {**GEMV_DEFINES, "XSMEM": int(smem <= GEMV_XSMEM_MAX), **(tuning or {}),
               "NV": int(fmt == "nvfp4"), "ROWS": M}
    rows_per_block = defines["WARPS"] * defines["RPW"]
    check_grid(what, (cdiv(N, rows_per_block),))
    out = alloc_out(xp, out, M, N)
    if x_global is None:
        x_global = w_global = xp.ones(1, xp.float32)  # not read when NV = 0
    fn = build.get_function("blockscaled/v02_fp4_gemv.cu", "fp4_gemv", defines)
    fn((cdiv(N, rows_per_block),), (32 * defines["WARPS"],),
       (x, x_scales, x_global, w, w_scales, w_global, out, np.int32(M), np.int32(N), np.int32(K)),
       shared_mem=smem if defines["XSMEM"] else 0)
    return out


def mxfp4_gemv(x, x_scales, w, w_scales, out=None, *, tuning: dict | None = None):
    """v02 MXFP4 GEMV (M <= 16, K % 32 == 0)."""
    return _fp4_gemv("mxfp4", x, x_scales, w, w_scales, out, None, None, tuning)


def nvfp4_gemv(x, x_scales, x_global, w, w_scales, w_global, out=None, *, tuning: dict | None = None):
    """v02 NVFP4 GEMV (M <= 16, K % 32 == 0)."""
    return _fp4_gemv("nvfp4", x, x_scales, w, w_scales, out, x_global, w_global, tuning)


def mxfp8_gemv(x, x_scales, w, w_scales, out=None):
    """v03 MXFP8 GEMV (M <= 16): fp8/v02's kernel compiled with MX = 1."""
    from ..fp8 import GEMV_DEFINES as FP8_GEMV

    what = "MXFP8 v03 (GEMV)"
    M, N, K = check_blockscaled("mxfp8", x, x_scales, w, w_scales, out, max_m=GEMV_MAX_M, what=what)
    xp = require_cupy(x, x_scales, w, w_scales, out, what=what)
    check_grid(what, (cdiv(N, FP8_GEMV["WARPS"]),))
    out = alloc_out(xp, out, M, N)
    fn = build.get_function("blockscaled/v03_mxfp8_gemv.cu", "fp8_gemv", {**FP8_GEMV, "ROWS": M})
    fn((cdiv(N, FP8_GEMV["WARPS"]),), (32 * FP8_GEMV["WARPS"],),
       (x, x_scales, w, w_scales, out, np.int32(M), np.int32(N), np.int32(K)))
    return out


#: v04: fp8/v04's tiles and pipeline; the promotion is per wgmma (per block) whatever PROMOTE says
V04_DEFINES = {"STAGES": 4, "PROMOTE": 1, "KSUB": 1}


def mxfp8_wgmma(x, x_scales, w, w_scales, out=None, *, tuning: dict | None = None):
    """v04 MXFP8 GEMM on Hopper (sm_90a): a wgmma per 32-k block, scaled on the CUDA cores."""
    from ... import device
    from .._launch import ensure_int32, smem_function

    what = "MXFP8 v04 (wgmma)"
    M, N, K = check_blockscaled("mxfp8", x, x_scales, w, w_scales, out, what=what)
    xp = require_cupy(x, x_scales, w, w_scales, out, what=what)
    device.require("wgmma", what, alternative="blockscaled/v03_mxfp8_gemv (M <= 16) or blockscaled/v01_mxfp8_numba")
    blocks = cdiv(M, 128) * cdiv(N, 128)
    check_grid(what, (blocks,), ("M*N",))
    ensure_int32("M*N", M * N)
    out = alloc_out(xp, out, M, N)
    d = {**V04_DEFINES, **(tuning or {})}
    smem = d["STAGES"] * ((128 + 128) * 128 * d["KSUB"] + 4 * d["KSUB"] * (128 + 128) * 4) + 1024
    fn = smem_function("blockscaled/v04_mxfp8_wgmma.cu", "fp8_wgmma", tuple(sorted(d.items())), smem, specific=True)
    fn((blocks,), (256,), (x, x_scales, w, w_scales, out, np.int32(M), np.int32(N), np.int32(K)), shared_mem=smem)
    return out


#: v07: tile width (128, or 192 with the consumers' setmaxnreg), TMA pipeline depth, DUAL (BN 128 only:
#: each block's wgmma issued before the previous block is promoted, two accumulator sets) and PINGPONG
#: (the two consumers take turns to promote, named barriers). At 8192^3 on the H100
#: (benchmarks/tune_mxfp8.py, two runs): BN 192 STAGES 4 403-408 TFLOP/s, STAGES 3 404, BN 128 373-375,
#: BN 128 DUAL 398; PINGPONG slower: BN 192 330-341, BN 128 377-383 (v04 142, fp8/v05 1127-1133).
#: CONSUMERS 3: a third consumer warpgroup (192-row tiles, 512 threads, 160 registers a consumer thread:
#: BN 128 only, no DUAL or PINGPONG, STAGES 2 or 4: ptxas spills at 3 and 5). Measured (tune_mxfp8.py,
#: same run): CONSUMERS 3 STAGES 4 464 TFLOP/s (the default), STAGES 2 454; CONSUMERS 2 BN 192 404-411.
#: (Each block's MMA as two n64 halves committed apart measured 391 / 436 and was taken out: NOTES.md.)
V07_DEFINES = {"STAGES": 4, "BN": 128, "DUAL": 0, "PINGPONG": 0, "CONSUMERS": 3}
#: CONSUMERS = 3: the STAGES ptxas compiles without spilling at 160 registers a consumer thread
V07_C3_STAGES = (2, 4)


def v07_smem(d: dict) -> int:
    """v07's dynamic shared memory: per stage the X and W tiles (128 bytes of k a row; 64 X rows a consumer
    warpgroup), their 4 blocks' scales as fp32 and two mbarriers; 1024 bytes to align the tiles to the swizzle."""
    rows = 64 * d.get("CONSUMERS", 2) + d["BN"]
    return d["STAGES"] * (rows * 128 + 16 * rows + 16) + 1024


def v07_config(tuning: dict | None) -> dict:
    d = {**V07_DEFINES, **(tuning or {})}
    if not (set(d) == set(V07_DEFINES) and all(isinstance(v, int) and not isinstance(v, bool) for v in d.values())):
        raise ValueError(f"MXFP8 v07 tuning takes integer values for {', '.join(V07_DEFINES)} only; got {tuning}")
    ok = (d["BN"] in (128, 192) and d["DUAL"] in (0, 1) and d["PINGPONG"] in (0, 1)
          and d["CONSUMERS"] in (2, 3) and not (d["DUAL"] and (d["BN"] != 128 or d["PINGPONG"]))
          and d["STAGES"] >= 2 and v07_smem(d) <= 227 * 1024)
    if not ok:
        raise ValueError(f"MXFP8 v07 tuning takes BN 128 or 192, STAGES >= 2 within 227 KB of shared memory "
                         f"(BN 192: up to 5, BN 128: up to 6; CONSUMERS 3: 2 or 4), DUAL 0 or 1 (1 only with BN 128 "
                         f"and PINGPONG 0), PINGPONG 0 or 1 and CONSUMERS 2 or 3; got {tuning}")
    if d["CONSUMERS"] == 3 and (d["BN"] != 128 or d["DUAL"] or d["PINGPONG"]):
        raise ValueError(f"MXFP8 v07 CONSUMERS=3 leaves 160 registers a consumer thread (512 threads): it takes "
                         f"BN 128 (64 accumulators + 64 sums), DUAL 0 and PINGPONG 0; got {tuning}")
    if d["CONSUMERS"] == 3 and d["STAGES"] not in V07_C3_STAGES:
        raise ValueError(f"MXFP8 v07 CONSUMERS=3 takes STAGES {' or '.join(map(str, V07_C3_STAGES))} (ptxas spills "
                         f"the consumers' 160 registers at STAGES={d['STAGES']}); got {tuning}")
    return d


def mxfp8_wgmma_tma(x, x_scales, w, w_scales, out=None, *, tuning: dict | None = None):
    """v07 MXFP8 GEMM on Hopper (sm_90a): v04's per-block promotion on fp8/v05's TMA producer/consumer
    pipeline, the scales staged in shared memory as fp32 by the producer warpgroup."""
    from ... import device
    from .._launch import ensure_int32, smem_function, tensor_map

    what = "MXFP8 v07 (TMA + wgmma)"
    M, N, K = check_blockscaled("mxfp8", x, x_scales, w, w_scales, out, what=what)  # K % 32 == 0: TMA's 16
    xp = require_cupy(x, x_scales, w, w_scales, out, what=what)
    device.require("wgmma", what, alternative="blockscaled/v03_mxfp8_gemv (M <= 16) or blockscaled/v01_mxfp8_numba")
    d = v07_config(tuning)
    bm = 64 * d["CONSUMERS"]  # tile rows: 64 a consumer warpgroup
    blocks = cdiv(M, bm) * cdiv(N, d["BN"])
    check_grid(what, (blocks,), ("M*N",))
    ensure_int32("M*N", M * N)
    out = alloc_out(xp, out, M, N)
    smem = v07_smem(d)
    fn = smem_function("blockscaled/v07_mxfp8_tma.cu", "mxfp8_wgmma_tma", tuple(sorted(d.items())), smem,
                       specific=True)
    fn((blocks,), (128 * (1 + d["CONSUMERS"]),), (tensor_map(x, bm), x_scales, tensor_map(w, d["BN"]), w_scales, out,
                           np.int32(M), np.int32(N), np.int32(K)), shared_mem=smem)
    return out


def widen_e2m1(packed):
    """Packed e2m1 codes ``[R, C]`` (uint8, CuPy, C % 16 == 0) -> e4m3 codes ``[R, 2C]`` of the same values."""
    import cupy

    R, C = packed.shape
    out = cupy.empty((R, 2 * C), dtype=cupy.uint8)
    n16 = R * C // 16
    fn = build.get_function("blockscaled/e2m1_to_e4m3.cu", "e2m1_to_e4m3")
    fn((cdiv(n16, 256),), (256,), (packed, out, np.int64(n16)))
    return out


def _widened_mxfp4(mxfp8_gemm, what, x, x_scales, w, w_scales, out, tuning):
    """An MXFP4 GEMM on Hopper: widen X and W to e4m3 (exact; E8M0 scales unchanged), then the MXFP8
    GEMM ``mxfp8_gemm``. The widening is part of every call (and of its timing)."""
    check_blockscaled("mxfp4", x, x_scales, w, w_scales, out, what=what)
    require_cupy(x, x_scales, w, w_scales, out, what=what)
    from ... import device

    device.require("wgmma", what, alternative="blockscaled/v02_mxfp4_gemv (M <= 16) or blockscaled/v01_mxfp4_numba")
    return mxfp8_gemm(widen_e2m1(x), x_scales, widen_e2m1(w), w_scales, out, tuning=tuning)


def mxfp4_wgmma(x, x_scales, w, w_scales, out=None, *, tuning: dict | None = None):
    """v04 MXFP4 GEMM on Hopper: e2m1 widened to e4m3, then MXFP8 v04."""
    return _widened_mxfp4(mxfp8_wgmma, "MXFP4 v04 (e4m3 + wgmma)", x, x_scales, w, w_scales, out, tuning)


def mxfp4_wgmma_tma(x, x_scales, w, w_scales, out=None, *, tuning: dict | None = None):
    """v07 MXFP4 GEMM on Hopper: e2m1 widened to e4m3, then MXFP8 v07 on the TMA pipeline."""
    return _widened_mxfp4(mxfp8_wgmma_tma, "MXFP4 v07 (e4m3 + TMA + wgmma)", x, x_scales, w, w_scales, out, tuning)


def widen_nvfp4(packed, scales, out=None):
    """NVFP4 codes ``[R, K/2]`` and UE4M3 block scales ``[R, K/16]`` (uint8, CuPy) -> fp16 ``[R, K]``
    holding element × block scale, exactly (nvfp4_to_fp16.cu); the per-tensor scale is not applied.
    ``out``: an fp16 ``[R, K]`` CuPy array to write into."""
    import cupy

    R, C = packed.shape
    if out is None:
        out = cupy.empty((R, 2 * C), dtype=cupy.float16)
    nblocks = R * C // 8
    fn = build.get_function("blockscaled/nvfp4_to_fp16.cu", "nvfp4_to_fp16")
    fn((cdiv(nblocks, 256),), (256,), (packed, scales, out, np.int64(nblocks)))
    return out


def widen_nvfp4_reference(packed, scales) -> np.ndarray:
    """NumPy: what :func:`widen_nvfp4` returns, from :mod:`labkernels.formats`' decoders: the
    float64 product of each e2m1 value and its block's e4m3 scale, as float16 (exact, bar NaN scales)."""
    from ... import formats

    vals = formats.decode_e2m1(formats.unpack_fp4(packed)).astype(np.float64)
    s = formats.decode_e4m3(scales).astype(np.float64)
    return (vals * np.repeat(s, FORMATS["nvfp4"].block, axis=-1)).astype(np.float16)


#: v04 NVFP4: the lab's fp16 TMA + wgmma GEMM (fp16/v05_wgmma_tma.cu) with the per-tensor scales
V04_NVFP4_DEFINES = {**fp16.TMA_DEFINES, "STAGES": 4}


def nvfp4_wgmma(x, x_scales, x_global, w, w_scales, w_global, out=None, *, tuning: dict | None = None):
    """v04 NVFP4 GEMM on Hopper (sm_90a): X and W widened to fp16 element × block scale (exact), then
    the fp16 wgmma GEMM, fp32 accumulation, the per-tensor scales in the epilogue. The widening is
    part of every call (and of its timing)."""
    from ... import device

    what = "NVFP4 v04 (fp16 + wgmma)"
    M, N, K = check_blockscaled("nvfp4", x, x_scales, w, w_scales, out, x_global, w_global, what=what)
    xp = require_cupy(x, x_scales, w, w_scales, out, x_global, w_global, what=what)
    device.require("wgmma", what, alternative="blockscaled/v02_nvfp4_gemv (M <= 16) or blockscaled/v01_nvfp4_numba")
    d = fp16.tma_config({**V04_NVFP4_DEFINES, **(tuning or {})})
    out = alloc_out(xp, out, M, N)
    return fp16.tma_launch("blockscaled/v04_nvfp4_wgmma.cu", widen_nvfp4(x, x_scales), x_global,
                             widen_nvfp4(w, w_scales), w_global, out, M, N, K, d, what)


# --------------------------------------------------------------------------
# Registry.
# --------------------------------------------------------------------------

for _fmt, _launch, _func in (("mxfp8", mxfp8_naive, "mx_naive_numba"), ("mxfp4", mxfp4_naive, "fp4_naive_numba"),
                             ("nvfp4", nvfp4_naive, "fp4_naive_numba")):
    register(id=f"blockscaled/v01_{_fmt}_numba", family="blockscaled", fmt=_fmt, op="gemm", impl="numba",
             launch=_launch, source="blockscaled/v01_naive_numba.py", numba_func=_func,
             numba_sig=v01_naive_numba.SIG_FP8, promises=("cvt.rn.f16.f32",), bench_max_m=4,
             description=f"Numba, one thread per output, {_fmt} decoded by tables, each block's sum scaled once")

for _fmt, _launch in (("mxfp4", mxfp4_gemv), ("nvfp4", nvfp4_gemv)):
    register(id=f"blockscaled/v02_{_fmt}_gemv", family="blockscaled", fmt=_fmt, op="gemv", impl="cupy",
             launch=_launch, source="blockscaled/v02_fp4_gemv.cu", archs=ARCHS_ALL, max_m=GEMV_MAX_M,
             defines={**GEMV_DEFINES, "XSMEM": 1, "NV": int(_fmt == "nvfp4"), "ROWS": 4},
             promises=("ld.global.nc.L1::no_allocate", "fma.rn.f16x2", "shfl.sync.bfly"),
             description="one warp per 2 rows, 16-byte chunks = one MX block, streamed with the next in flight, X decoded once "
                         "per block, e2m1 -> fp16 by bit placement, exact half2 block sums, scales once per block")

register(id="blockscaled/v03_mxfp8_gemv", family="blockscaled", fmt="mxfp8", op="gemv", impl="cupy",
         launch=mxfp8_gemv, source="blockscaled/v03_mxfp8_gemv.cu", archs=ARCHS_ALL, max_m=GEMV_MAX_M,
         defines={"WARPS": 4, "UNROLL": 4, "ROWS": 4}, promises=("ld.global.nc.v4", "shfl.sync.bfly"),
         description="fp8/v02's GEMV, each 16-byte chunk's fp32 sum scaled by its block's E8M0 scales")

register(id="blockscaled/v04_mxfp8_wgmma", family="blockscaled", fmt="mxfp8", op="gemm", impl="cupy",
         launch=mxfp8_wgmma, source="blockscaled/v04_mxfp8_wgmma.cu", archs=("sm_90a",), specific=True,
         defines=V04_DEFINES, requires="wgmma", acc_bits=HOPPER_FP8_ACC_BITS,
         promises=("wgmma.mma_async.sync.aligned.m64n64k32.f32.e4m3.e4m3", "ld.shared.v4.f32"),
         description="Hopper wgmma e4m3, one MX block per k-step, waited for and promoted with its E8M0 scales by FP32 FMAs")

register(id="blockscaled/v07_mxfp8_tma", family="blockscaled", fmt="mxfp8", op="gemm", impl="cupy",
         launch=mxfp8_wgmma_tma, source="blockscaled/v07_mxfp8_tma.cu", archs=("sm_90a",), specific=True,
         defines=V07_DEFINES, requires="wgmma", acc_bits=HOPPER_FP8_ACC_BITS,
         promises=("wgmma.mma_async.sync.aligned.m64n128k32.f32.e4m3.e4m3", "cp.async.bulk.tensor.2d",
                   "mbarrier.try_wait.parity", "setmaxnreg.inc.sync.aligned.u32"),
         description="v04's per-block promotion on a TMA producer warpgroup (scales staged as fp32) and three "
                     "decoupled consumers (mbarriers, 192 x 128 tiles): some promote while others' MMAs run")

register(id="blockscaled/v04_mxfp4_wgmma", family="blockscaled", fmt="mxfp4", op="gemm", impl="cupy",
         launch=mxfp4_wgmma, source="blockscaled/v04_mxfp8_wgmma.cu", archs=("sm_90a",), specific=True,
         defines=V04_DEFINES, requires="wgmma", acc_bits=HOPPER_FP8_ACC_BITS,
         promises=("wgmma.mma_async.sync.aligned.m64n64k32.f32.e4m3.e4m3",),
         description="e2m1 widened to e4m3 (exact) in one pass, then v04's MXFP8 GEMM (the E8M0 scales as they are)")

register(id="blockscaled/v07_mxfp4_tma", family="blockscaled", fmt="mxfp4", op="gemm", impl="cupy",
         launch=mxfp4_wgmma_tma, source="blockscaled/v07_mxfp8_tma.cu", archs=("sm_90a",), specific=True,
         defines=V07_DEFINES, requires="wgmma", acc_bits=HOPPER_FP8_ACC_BITS,
         promises=("wgmma.mma_async.sync.aligned.m64n128k32.f32.e4m3.e4m3", "cp.async.bulk.tensor.2d"),
         description="e2m1 widened to e4m3 (exact) in one pass, as v04, then MXFP8 v07 on the TMA pipeline")

register(id="blockscaled/v04_nvfp4_wgmma", family="blockscaled", fmt="nvfp4", op="gemm", impl="cupy",
         launch=nvfp4_wgmma, source="blockscaled/v04_nvfp4_wgmma.cu", archs=("sm_90a",), specific=True,
         defines=V04_NVFP4_DEFINES, requires="wgmma",
         promises=("wgmma.mma_async.sync.aligned.m64n256k16.f32.f16.f16", "wgmma.commit_group.sync.aligned",
                   "wgmma.wait_group.sync.aligned", "cp.async.bulk.tensor.2d"),
         description="e2m1 x UE4M3 widened to fp16 (exact) in one pass, then the lab's fp16 TMA + wgmma GEMM "
                     "(fp16/v05), the per-tensor scales in the epilogue")

#: CUDA sources that are not variants (see quantize.AUXILIARY_SOURCES)
AUXILIARY_WIDEN = {"blockscaled/e2m1_to_e4m3.cu": (ARCHS_ALL, ("ld.global.nc.v4", "st.global.v4"), ()),
                   "blockscaled/nvfp4_to_fp16.cu": (ARCHS_ALL, ("ld.global.nc.v2", "mul.rn.f16x2", "st.global.v4"), ())}

from . import native, quantize  # noqa: E402  (register the native variants; the GPU quantizers)
from .quantize import AUXILIARY_SOURCES as _QUANTIZE_SOURCES  # noqa: E402

AUXILIARY_SOURCES = {**_QUANTIZE_SOURCES, **AUXILIARY_WIDEN}


# --------------------------------------------------------------------------
# Dispatch: the best variant this GPU runs.
# --------------------------------------------------------------------------

#: per format, the emulated variants in order of preference after the native one
_EMULATED = {"mxfp8": ("blockscaled/v03_mxfp8_gemv", "blockscaled/v07_mxfp8_tma", "blockscaled/v04_mxfp8_wgmma",
                       "blockscaled/v01_mxfp8_numba"),
             "mxfp4": ("blockscaled/v02_mxfp4_gemv", "blockscaled/v07_mxfp4_tma", "blockscaled/v04_mxfp4_wgmma",
                       "blockscaled/v01_mxfp4_numba"),
             "nvfp4": ("blockscaled/v02_nvfp4_gemv", "blockscaled/v04_nvfp4_wgmma", "blockscaled/v01_nvfp4_numba")}


def choose(fmt: str, M: int, K: int) -> str:
    """The id of the variant :func:`matmul` runs for ``fmt`` at ``M`` rows and depth ``K`` here:
    the native block-scaled MMA when the GPU has it, else the GEMV (M <= 16, K % 32 == 0),
    else Hopper's wgmma GEMM (MXFP8 and MXFP4: v07 on the TMA pipeline; NVFP4 v04; sm_90a), else the
    Numba v01 (any GPU, or the simulator)."""
    from ...registry import get

    fmt = check_choice("fmt", fmt, FORMATS)
    for vid in (native.NATIVE_VARIANTS.get(fmt), *_EMULATED[fmt]):
        if vid is None:
            continue
        v = get(vid)
        if v.supports(M) and (v.op != "gemv" or K % 32 == 0) and v.runnable()[0]:
            return vid
    raise ValueError(f"no {fmt} variant runs here for M={M}, K={K}")


def matmul(fmt: str, *, out=None, **inputs):
    """``Y = deq(X)·deq(W)ᵀ`` for the block-scaled problem ``fmt`` (inputs by name, as
    ``labkernels.problems[fmt]`` makes them), on the variant :func:`choose` picks."""
    from ...registry import get

    x = inputs.get("x")
    if x is None or not hasattr(x, "shape") or len(x.shape) != 2:
        raise TypeError("matmul needs x, a 2-D array of element codes (and the other inputs of the problem)")
    K = x.shape[1] * FORMATS[check_choice("fmt", fmt, FORMATS)].per_byte
    return get(choose(fmt, x.shape[0], K)).launch(**inputs, out=out)
