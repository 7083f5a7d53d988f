"""FP8 (e4m3), lesson 3: the format, its decoders, and the Tensor Core paths per GPU.

Every variant computes ``Y = (Xq·Wqᵀ)·sx·swᵀ`` from the inputs of
``labkernels.problems["fp8"]`` (``x`` [M, K] and ``w`` [N, K] float8_e4m3fn codes
as uint8; ``x_scale`` [M, 1] and ``w_scale`` [N, 1] fp32). Variants in teaching order:

    v00  cuBLASLt fp8 through torch._scaled_mm, the library peer
    v01  Numba, one thread per output, a 256-entry decode table
    v02  GEMV, one warp per row; cvt.e4m3x2 on sm_89+, a bit trick below   (M <= 16)
    v03  mma.sync m16n8k32 e4m3, cp.async pipeline          (sm_89+; emulated on Hopper)
    v04  wgmma m64n128k32 e4m3, fp32 promotion per stage    (sm_90a: Hopper)
    v05  v04 fed by TMA: producer + two consumer warpgroups, mbarriers, 128 x 192 tiles (sm_90a)
"""
from __future__ import annotations

import functools

import numpy as np

from ... import build, device
from ...errors import UnsupportedDevice, check_array
from ...registry import register
from .._launch import (alloc_out, array_module, cdiv, check_grid, check_simulator_work, check_xw, ensure_int32,
                       tensor_map,
                       require_cupy, smem_function, torch_op_available)
from ..int8 import V06_CONFIGS, v06_config, v06_smem
from . import v01_naive_numba

ARCHS_ALL = build.TARGETS  # every target NVRTC builds for
ARCHS_FP8_MMA = ("sm_89", "sm_90", "sm_90a", "sm_100a", "sm_120a")

GEMV_MAX_M = 16
#: Hopper's fp8 Tensor Cores (wgmma, and cuBLASLt on them) align each group's products to the
#: largest and keep about 13-14 bits below it; checks allow 2**-11 of the largest product
#: (check.accumulator_slack): measured on the H100, an e4m3 ±448 among N(0,1) codes left errors
#: up to ~2**-13.6 of that product, 2-4x over the fp32 tolerance at the output.
HOPPER_FP8_ACC_BITS = 11
GEMV_DEFINES = {"WARPS": 4, "UNROLL": 4}
#: v04: promote every stage of 128 k (promoting every 256 k already left 0.23% error at K = 528
#: on the H100, over the fp8 tolerance); 4 stages. See benchmarks/NOTES.md.
#: WGS 3 (192 x 128 tiles) measured 8-15% faster at 8192^3; v04 keeps MXFP8 v04's 128 x 128 tiles so
#: that the two differ only in the block scaling (v05 is the fast FP8 GEMM)
V04_DEFINES = {"STAGES": 4, "PROMOTE": 1, "KSUB": 1, "WGS": 2}


def check_fp8(x, x_scale, w, w_scale, out, *, max_m=None, k_multiple=1, what="FP8 kernel"):
    """Check the FP8 operands; return (M, N, K)."""
    M, N, K = check_xw(x, w, out, x_dtype=np.uint8, w_dtype=np.uint8, max_m=max_m, what=what)
    if K % k_multiple:
        raise ValueError(f"{what} needs K to be a multiple of {k_multiple} (aligned vector loads); got K={K}")
    check_array("x_scale", x_scale, dtype=np.float32, shape=(M, 1))
    check_array("w_scale", w_scale, dtype=np.float32, shape=(N, 1))
    array_module(x, x_scale, w, w_scale, out)
    return M, N, K


def _args(x, x_scale, w, w_scale, out, M, N, K):
    return (x, x_scale, w, w_scale, out, np.int32(M), np.int32(N), np.int32(K))


@functools.lru_cache(maxsize=None)
def e4m3_table() -> np.ndarray:
    """float32 value of every e4m3 code (v01's decoder); the NaN codes, which the lab's encoders
    never write, read as 0 so the table stays finite."""
    from ...formats import decode_e4m3

    table = decode_e4m3(np.arange(256, dtype=np.uint8)).astype(np.float32)
    table[0x7F] = table[0xFF] = 0.0
    return table


def naive_numba(x, x_scale, w, w_scale, out=None):
    """v01: one Numba thread per output, decoding through a table."""
    M, N, K = check_fp8(x, x_scale, w, w_scale, out, what="FP8 v01 (Numba)")
    bx, by = v01_naive_numba.BLOCK
    check_grid("FP8 v01 (Numba)", (cdiv(N, bx), cdiv(M, by)))
    check_simulator_work("FP8 v01 (Numba)", M, N, K)
    xp = array_module(x)
    out = alloc_out(xp, out, M, N)
    v01_naive_numba.launch(x, x_scale, w, w_scale, xp.asarray(e4m3_table()), out)
    return out


def gemv(x, x_scale, w, w_scale, out=None):
    """v02: FP8 GEMV, one warp per row of W, M <= 16."""
    M, N, K = check_fp8(x, x_scale, w, w_scale, out, max_m=GEMV_MAX_M, what="FP8 v02 (GEMV)")
    xp = require_cupy(x, x_scale, w, w_scale, out, what="FP8 GEMV")
    out = alloc_out(xp, out, M, N)
    fn = build.get_function("fp8/v02_gemv.cu", "fp8_gemv", {**GEMV_DEFINES, "ROWS": M})
    w_ = GEMV_DEFINES["WARPS"]
    fn((cdiv(N, w_),), (32 * w_,), _args(x, x_scale, w, w_scale, out, M, N, K))
    return out


def mma_sync(x, x_scale, w, w_scale, out=None, *, config: str | None = None):
    """v03: mma.sync m16n8k32 e4m3 (sm_89+), int8/v06's tiles and pipeline (K % 16 == 0)."""
    what = "FP8 v03 (mma.sync e4m3)"
    M, N, K = check_fp8(x, x_scale, w, w_scale, out, k_multiple=16, what=what)
    xp = require_cupy(x, x_scale, w, w_scale, out, what=what)
    device.require("mma_fp8", what, alternative="fp8/v02_gemv")
    name, cfg = v06_config(config)
    blocks = cdiv(M, cfg["BM"]) * cdiv(N, cfg["BN"])
    check_grid(what, (blocks,), ("M*N",))
    ensure_int32("M*N", M * N)
    out = alloc_out(xp, out, M, N)
    smem = v06_smem(cfg)
    fn = smem_function("fp8/v03_mma_sync.cu", "fp8_mma_sync", tuple(sorted(cfg.items())), smem)
    fn((blocks,), (32 * cfg["WARPS_M"] * cfg["WARPS_N"],), _args(x, x_scale, w, w_scale, out, M, N, K),
       shared_mem=smem)
    return out


def wgmma_gemm(x, x_scale, w, w_scale, out=None, *, tuning: dict | None = None):
    """v04: Hopper wgmma m64n128k32 e4m3, partial sums promoted to fp32 per stage (sm_90a)."""
    what = "FP8 v04 (wgmma)"
    M, N, K = check_fp8(x, x_scale, w, w_scale, out, k_multiple=16, what=what)
    xp = require_cupy(x, x_scale, w, w_scale, out, what=what)
    device.require("wgmma", what, alternative="fp8/v03_mma_sync")
    defines = {**V04_DEFINES, **(tuning or {})}
    wgs = defines["WGS"]
    smem = defines["STAGES"] * (64 * wgs + 128) * 128 * defines["KSUB"] + 1024
    if wgs not in (2, 3) or smem > 227 * 1024:
        raise ValueError(f"FP8 v04 tuning: WGS must be 2 or 3 and the stages fit 227 KB of shared memory "
                         f"({smem} bytes with {defines})")
    blocks = cdiv(M, 64 * wgs) * cdiv(N, 128)
    check_grid(what, (blocks,), ("M*N",))
    ensure_int32("M*N", M * N)
    out = alloc_out(xp, out, M, N)
    fn = smem_function("fp8/v04_wgmma.cu", "fp8_wgmma", tuple(sorted(defines.items())), smem, specific=True)
    fn((blocks,), (128 * wgs,), _args(x, x_scale, w, w_scale, out, M, N, K), shared_mem=smem)
    return out


# --------------------------------------------------------------------------
# cuBLASLt fp8 through torch (the library peer).
# --------------------------------------------------------------------------

_torch_ok = torch_op_available("_scaled_mm")


def _torch_prepare(inputs: dict) -> dict:
    import torch

    t = {k: torch.as_tensor(v, device="cuda") for k, v in inputs.items()}
    one = torch.ones((), device="cuda", dtype=torch.float32)
    return {"x": t["x"].view(torch.float8_e4m3fn), "x_scale": t["x_scale"], "w": t["w"].view(torch.float8_e4m3fn),
            "w_scale": t["w_scale"], "one": one}


def _torch_timed(x, x_scale, w, w_scale, one):
    import torch

    # Per-tensor unit scales, fp16 out: the plain fp8 GEMM; the row/column scales are not timed.
    return torch._scaled_mm(x, w.t(), scale_a=one, scale_b=one, out_dtype=torch.float16)


def torch_scaled_mm(x, x_scale, w, w_scale, one, out=None):
    """torch._scaled_mm (cuBLASLt fp8, fp32 result) then the row and column scales, into ``out``."""
    ok, why = _torch_ok()
    if not ok:
        raise UnsupportedDevice(f"fp8/v00_torch_scaled_mm cannot run here: {why}")
    import torch

    M, K = x.shape
    N = w.shape[0]
    if K % 16 or N % 16:
        raise ValueError(f"torch._scaled_mm needs K and N multiples of 16; got N={N}, K={K}")
    acc = torch._scaled_mm(x, w.t(), scale_a=one, scale_b=one, out_dtype=torch.float32)
    if out is None:
        import cupy

        out = cupy.empty((M, N), dtype=cupy.float16)
    torch.as_tensor(out, device="cuda").copy_((acc * x_scale * w_scale.t()).half())
    return out


#: v05: TMA pipeline depth and tile width (BN columns: 128, or 192 with the consumers' setmaxnreg);
#: tuned at 8192^3 on the H100 (benchmarks/tune_wgmma.py): BN 192 1057-1126 TFLOP/s, BN 128 955-1029
V05_DEFINES = {"STAGES": 3, "BN": 192}


def v05_smem(d: dict) -> int:
    return d["STAGES"] * (128 + d["BN"]) * 128 + 1024 + 16 * d["STAGES"]


def wgmma_tma_gemm(x, x_scale, w, w_scale, out=None, *, tuning: dict | None = None):
    """v05: v04's promotion on fp16/v05's TMA producer/consumer pipeline (sm_90a)."""
    what = "FP8 v05 (TMA + wgmma)"
    M, N, K = check_fp8(x, x_scale, w, w_scale, out, k_multiple=16, what=what)
    xp = require_cupy(x, x_scale, w, w_scale, out, what=what)
    device.require("wgmma", what, alternative="fp8/v03_mma_sync")
    d = {**V05_DEFINES, **(tuning or {})}
    if set(d) != set(V05_DEFINES) or d["BN"] not in (128, 192) or d["STAGES"] < 2 or v05_smem(d) > 227 * 1024:
        raise ValueError(f"FP8 v05 tuning takes BN 128 or 192 and STAGES >= 2 within 227 KB of shared memory; "
                         f"got {tuning}")
    blocks = cdiv(M, 128) * cdiv(N, d["BN"])
    check_grid(what, (blocks,), ("M*N",))
    ensure_int32("M*N", M * N)
    out = alloc_out(xp, out, M, N)
    smem = v05_smem(d)
    fn = smem_function("fp8/v05_wgmma_tma.cu", "fp8_wgmma_tma", tuple(sorted(d.items())), smem, specific=True)
    fn((blocks,), (384,), (tensor_map(x, 128), x_scale, tensor_map(w, d["BN"]), w_scale, out,
                           np.int32(M), np.int32(N), np.int32(K)), shared_mem=smem)
    return out


# --------------------------------------------------------------------------
# Registry.
# --------------------------------------------------------------------------

register(id="fp8/v00_torch_scaled_mm", family="fp8", fmt="fp8", op="gemm", impl="library", launch=torch_scaled_mm,
         reference=True, prepare=_torch_prepare, timed=_torch_timed, available=_torch_ok,
         acc_bits=HOPPER_FP8_ACC_BITS,
         description="cuBLASLt fp8 GEMM through torch._scaled_mm (the timing uses unit per-tensor scales)")
register(id="fp8/v01_naive_numba", family="fp8", fmt="fp8", op="gemm", impl="numba", launch=naive_numba,
         source="fp8/v01_naive_numba.py", numba_func="fp8_naive_numba", numba_sig=v01_naive_numba.SIGNATURE,
         promises=("cvt.rn.f16.f32",), bench_max_m=4,
         description="Numba, one thread per output, e4m3 decoded through a 256-entry table")
register(id="fp8/v02_gemv", family="fp8", fmt="fp8", op="gemv", impl="cupy", launch=gemv,
         source="fp8/v02_gemv.cu", archs=ARCHS_ALL, defines={**GEMV_DEFINES, "ROWS": 4}, max_m=GEMV_MAX_M,
         promises=("ld.global.nc.v4", "shfl.sync.bfly"),
         description="one warp per row, 16-byte loads, e4m3 pairs to half2 (cvt on sm_89+, bit trick below)")
register(id="fp8/v03_mma_sync", family="fp8", fmt="fp8", op="gemm", impl="cupy", launch=mma_sync,
         source="fp8/v03_mma_sync.cu", archs=ARCHS_FP8_MMA, defines=V06_CONFIGS["128x128w2x2"], requires="mma_fp8",
         promises=("mma.sync.aligned.m16n8k32.row.col.f32.e4m3.e4m3.f32", "ldmatrix.sync.aligned.m8n8.x4",
                   "cp.async.cg.shared.global"),
         description="mma.sync m16n8k32 e4m3, int8/v06's pipeline with fp32 accumulators (emulated on Hopper)")
register(id="fp8/v04_wgmma", family="fp8", fmt="fp8", op="gemm", impl="cupy", launch=wgmma_gemm,
         source="fp8/v04_wgmma.cu", archs=("sm_90a",), specific=True, defines=V04_DEFINES, requires="wgmma",
         acc_bits=HOPPER_FP8_ACC_BITS,
         promises=("wgmma.mma_async.sync.aligned.m64n128k32.f32.e4m3.e4m3", "fence.proxy.async.shared::cta"),
         description="Hopper wgmma m64n128k32 e4m3, int8/v09's swizzled pipeline, partial sums promoted to fp32")
register(id="fp8/v05_wgmma_tma", family="fp8", fmt="fp8", op="gemm", impl="cupy", launch=wgmma_tma_gemm,
         source="fp8/v05_wgmma_tma.cu", archs=("sm_90a",), specific=True, defines=V05_DEFINES, requires="wgmma",
         acc_bits=HOPPER_FP8_ACC_BITS,
         promises=("wgmma.mma_async.sync.aligned.m64n192k32.f32.e4m3.e4m3", "cp.async.bulk.tensor.2d",
                   "mbarrier.try_wait.parity", "setmaxnreg.inc.sync.aligned.u32"),
         description="v04's per-stage fp32 promotion on a TMA producer warpgroup and two decoupled consumers "
                     "(mbarriers), 128 x 192 tiles")
