"""int8 activations: A8W8 and W4A8, lesson 2.

A8W8 variants compute ``Y = (Xq·Wqᵀ)·sx·swᵀ`` from the inputs of
``labkernels.problems`` (``x`` int8 [M, K], ``x_scale`` fp16 [M, 1] per token,
``w`` int8 [N, K], ``w_scale`` fp16 [N, 1] per channel). Pass an int32 ``out``
to get the raw integer sums instead (no scales): those are checked *exactly*.
Variants in teaching order:

    v00  cuBLAS int8 through torch._int_mm (M > 16), the library peer
    v01  Numba, one thread per output, dp4a through a linked CUDA C function
    v02  dp4a GEMV, one warp per row                         (M <= 16)
    v03  dp4a GEMM, 64x64 shared-memory tiles                (CUDA cores)
    v04  WMMA int8 16x16x16                                  (sm_72+)
    v05  mma.sync m8n8k16 + ldmatrix                         (sm_75+: T4)
    v06  mma.sync m16n8k32, cp.async pipeline, big warp tiles (sm_80+)
    v09  wgmma m64n256k32, swizzled shared memory            (sm_90a: Hopper)
    v10  v06's mma.sync fed by TMA: producer + 8 consumer warps (sm_90a)

W4A8 (int4 weights, int8 activations, int8 Tensor Cores) from
``problems["w4a8"]`` (``qweight`` packed int4 as W4A16's, symmetric; ``scales``
fp16 [N, G]):

    v07  mma.sync m16n8k32, int4 widened to int8 in registers (GEMM)
    v08  dp4a GEMV                                           (M <= 16)

Both W4A8 kernels take their weights re-laid out offline (``prepack_w4a8_mma``,
``prepack_w4a8_gemv``), done by the registry's ``prepare`` step outside timing.
:func:`quantize_per_token` makes the int8 activations on the GPU.
"""
from __future__ import annotations

import functools

import numpy as np

from ... import build, device
from ...errors import UnsupportedDevice, check_array
from ...registry import register
from .._launch import (alloc_out, array_module, cdiv, check_grid, check_simulator_work, check_xw, ensure_int32,
                       require_cupy, smem_function, tensor_map, torch_op_available)
from . import v01_dp4a_numba

ARCHS_ALL = build.TARGETS  # every target NVRTC builds for
ARCHS_MMA = ARCHS_ALL[1:]  # m16n8k32 and cp.async: sm_80+

GEMV_MAX_M = 16
GEMV_DEFINES = {"WARPS": 4, "UNROLL": 4}  # + ROWS = M: one kernel per M

#: v06 tile configurations: (BM, BN, WARPS_M, WARPS_N, STAGES). The launcher takes the
#: first of V06_ORDER whose shared memory fits the GPU: 128x128 tiles of 4 warps (64x64
#: each), two blocks per SM, measured fastest at 8192^3 (benchmarks/tune_int8.py, NOTES.md);
#: 99 KB GPUs such as the L4 and RTX 30/40 series take 64x128.
V06_CONFIGS = {
    "128x128w2x2": {"BM": 128, "BN": 128, "WARPS_M": 2, "WARPS_N": 2, "STAGES": 3},
    "128x256s4": {"BM": 128, "BN": 256, "WARPS_M": 2, "WARPS_N": 4, "STAGES": 4},
    "128x256": {"BM": 128, "BN": 256, "WARPS_M": 2, "WARPS_N": 4, "STAGES": 3},
    "128x128": {"BM": 128, "BN": 128, "WARPS_M": 2, "WARPS_N": 4, "STAGES": 4},
    "256x128": {"BM": 256, "BN": 128, "WARPS_M": 4, "WARPS_N": 2, "STAGES": 3},
    "64x128": {"BM": 64, "BN": 128, "WARPS_M": 2, "WARPS_N": 2, "STAGES": 3},
}
V06_ORDER = ["128x128w2x2", "64x128"]
#: more configurations the tuning script tries (not chosen automatically)
V06_EXTRA = {
    "256x128s4": {"BM": 256, "BN": 128, "WARPS_M": 4, "WARPS_N": 2, "STAGES": 4},
}
V07_DEFINES = {"STAGES": 3}


def v06_smem(cfg: dict) -> int:
    return cfg["STAGES"] * (cfg["BM"] + cfg["BN"]) * (128 + 16)


def v07_smem(stages: int = V07_DEFINES["STAGES"]) -> int:
    return stages * (128 * (128 + 16) + 16 * 512)


# --------------------------------------------------------------------------
# Argument checks.
# --------------------------------------------------------------------------

#: K past which an int32 sum of int8 products could overflow (|x·w| <= 2**14 each).
MAX_K = 2**31 // 2**14


def check_a8w8(x, x_scale, w, w_scale, out, *, max_m=None, k_multiple=1, what="A8W8 kernel"):
    """Check the A8W8 operands; return (M, N, K, raw): raw when ``out`` is int32."""
    raw = out is not None and getattr(out, "dtype", None) == np.int32
    M, N, K = check_xw(x, w, None, x_dtype=np.int8, w_dtype=np.int8, max_m=max_m, what=what)
    if K % k_multiple:
        raise ValueError(f"{what} needs K to be a multiple of {k_multiple} (aligned vector loads); got K={K}")
    if K > MAX_K:
        raise ValueError(f"K={K} could overflow the int32 sums (K*128*128 >= 2**31); K must be at most {MAX_K}")
    check_array("x_scale", x_scale, dtype=np.float16, shape=(M, 1))
    check_array("w_scale", w_scale, dtype=np.float16, shape=(N, 1))
    if out is not None:
        if raw:
            check_array("out", out, dtype=np.int32, shape=(M, N))
        else:
            check_array("out", out, dtype=(np.float16, np.int32), shape=(M, N))
    array_module(x, x_scale, w, w_scale, out)
    return M, N, K, raw


def check_w4a8_scales(scales, N, K):
    check_array("scales", scales, dtype=np.float16, ndim=2)
    if scales.shape[0] != N:
        raise ValueError(f"scales must have shape (N, G) = ({N}, G); got {tuple(scales.shape)}")
    G = scales.shape[1]
    if K % G or (G > 1 and K // G not in (32, 64, 128)):
        raise ValueError(f"scales imply a group size of K/G = {K}/{G}; it must be 32, 64 or 128 "
                         f"(or G = 1, per-channel)")
    return G


# --------------------------------------------------------------------------
# Per-token activation quantization on the GPU.
# --------------------------------------------------------------------------


def quantize_per_token(x):
    """fp16 ``x [M, K]`` -> (int8 ``q [M, K]``, fp16 ``scales [M, 1]``), bit-exact with
    ``formats.quantize_int(x, bits=8, group_size=None)``. CuPy arrays run the CUDA
    kernel (``int8/quantize.cu``); NumPy arrays run the reference codec."""
    check_array("x", x, dtype=np.float16, ndim=2)
    xp = array_module(x)
    M, K = x.shape
    if M == 0 or K == 0:
        raise ValueError(f"x must not be empty; got shape {tuple(x.shape)}")
    if not bool(xp.isfinite(x).all()):
        raise ValueError("x contains NaN or Inf; quantizers need finite input")
    if xp is np:
        from ...formats import quantize_int

        qt = quantize_int(x, bits=8, group_size=None, symmetric=True)
        return qt.q, qt.scales
    ensure_int32("M*K", M * K)
    q = xp.empty((M, K), dtype=xp.int8)
    s = xp.empty((M, 1), dtype=xp.float16)
    fn = build.get_function("int8/quantize.cu", "quantize_rows_int8")
    fn((M,), (256,), (x, q, s, np.int32(M), np.int32(K)))
    return q, s


# --------------------------------------------------------------------------
# A8W8 launchers.
# --------------------------------------------------------------------------


def dp4a_numba(x, x_scale, w, w_scale, out=None):
    """v01: one Numba thread per output, dp4a on int32 words (K % 4 == 0)."""
    M, N, K, raw = check_a8w8(x, x_scale, w, w_scale, out, k_multiple=4, what="A8W8 v01 (Numba)")
    bx, by = v01_dp4a_numba.BLOCK
    check_grid("A8W8 v01 (Numba)", (cdiv(N, bx), cdiv(M, by)))
    check_simulator_work("A8W8 v01 (Numba)", M, N, K)
    xp = array_module(x)
    out = alloc_out(xp, out, M, N)
    x32 = xp.ascontiguousarray(x).view(xp.int32)
    w32 = xp.ascontiguousarray(w).view(xp.int32)
    v01_dp4a_numba.launch(x32, x_scale, w32, w_scale, out)
    return out


def _launch_a8w8(source, kernel, grid, block, x, x_scale, w, w_scale, out, M, N, K, raw, defines=None,
                 smem=0):
    fn = smem_function(source, kernel, tuple(sorted({**(defines or {}), "RAW": int(raw)}.items())), smem)
    fn(grid, block, (x, x_scale, w, w_scale, out, np.int32(M), np.int32(N), np.int32(K)), shared_mem=smem)
    return out


#: v02's tuning per M (WARPS per block, 16-byte loads in flight per lane). At M = 1 four warps
#: share each row (SPLIT) and the weights are read with the streaming load (HINT): fastest on
#: both benchmark shapes (benchmarks/tune_int8.py, NOTES.md).
V02_TUNING = lambda M: {"WARPS": 4, "UNROLL": 1, "HINT": 1, "SPLIT": 4} if M == 1 else dict(GEMV_DEFINES)  # noqa: E731


def dp4a_gemv(x, x_scale, w, w_scale, out=None, *, tuning: dict | None = None):
    """v02: dp4a GEMV, one warp per row of W, M <= 16 (``tuning`` overrides WARPS/UNROLL/HINT/SPLIT)."""
    M, N, K, raw = check_a8w8(x, x_scale, w, w_scale, out, max_m=GEMV_MAX_M, what="A8W8 v02 (dp4a GEMV)")
    defines = {**V02_TUNING(M), **(tuning or {}), "ROWS": M}
    w_, split = defines["WARPS"], defines.get("SPLIT", 1)
    if split < 1 or w_ % split:
        raise ValueError(f"tuning SPLIT must divide WARPS ({w_}); got {split}")
    xp = require_cupy(x, x_scale, w, w_scale, out, what="A8W8 dp4a GEMV")
    device.require("dp4a", "A8W8 v02 (dp4a)")
    out = alloc_out(xp, out, M, N)
    return _launch_a8w8("int8/v02_dp4a_gemv.cu", "a8w8_dp4a_gemv", (cdiv(N, w_ // split),), (32 * w_,),
                        x, x_scale, w, w_scale, out, M, N, K, raw, defines)


def _tiled(source, kernel, what, k_multiple, tile, threads, requires):
    def launch(x, x_scale, w, w_scale, out=None):
        M, N, K, raw = check_a8w8(x, x_scale, w, w_scale, out, k_multiple=k_multiple, what=what)
        xp = require_cupy(x, x_scale, w, w_scale, out, what=what)
        device.require(requires, what)
        grid = (cdiv(N, tile), cdiv(M, tile))
        check_grid(what, grid)
        out = alloc_out(xp, out, M, N)
        return _launch_a8w8(source, kernel, grid, (threads,), x, x_scale, w, w_scale, out, M, N, K, raw)

    launch.__doc__ = f"{what}: {tile}x{tile} output tiles, {threads} threads per block."
    return launch


dp4a_gemm = _tiled("int8/v03_dp4a_gemm.cu", "a8w8_dp4a_gemm", "A8W8 v03 (dp4a GEMM)", 4, 64, 256, "dp4a")
wmma_gemm = _tiled("int8/v04_wmma.cu", "a8w8_wmma", "A8W8 v04 (WMMA)", 16, 64, 128, "wmma_s8")
mma_m8n8k16 = _tiled("int8/v05_mma_m8n8k16.cu", "a8w8_mma_m8n8k16", "A8W8 v05 (mma m8n8k16)", 16, 64, 128,
                     "mma_s8_m8n8k16")


@functools.lru_cache(maxsize=None)
def _smem_optin() -> int:
    import cupy

    return int(cupy.cuda.Device().attributes["MaxSharedMemoryPerBlockOptin"])


def v06_config(name: str | None = None) -> tuple[str, dict]:
    """The v06 tile configuration to use: ``name``, or the first of V06_ORDER that fits."""
    if name is not None:
        from ...errors import check_choice

        known = {**V06_CONFIGS, **V06_EXTRA}
        name = check_choice("config", name, known)
        return name, known[name]
    for n in V06_ORDER:
        if v06_smem(V06_CONFIGS[n]) <= _smem_optin():
            return n, V06_CONFIGS[n]
    raise UnsupportedDevice(f"A8W8 v06 needs at least {v06_smem(V06_CONFIGS[V06_ORDER[-1]])} bytes of shared "
                            f"memory per block; this GPU allows {_smem_optin()}: use int8/v05_mma_m8n8k16")


def mma_gemm(x, x_scale, w, w_scale, out=None, *, config: str | None = None):
    """v06: mma.sync m16n8k32 with a cp.async pipeline (K % 16 == 0); ``config`` picks a tile
    configuration of V06_CONFIGS (default: the best that fits this GPU)."""
    what = "A8W8 v06 (mma.sync m16n8k32)"
    M, N, K, raw = check_a8w8(x, x_scale, w, w_scale, out, k_multiple=16, what=what)
    xp = require_cupy(x, x_scale, w, w_scale, out, what=what)
    device.require("cp_async", what, alternative="int8/v05_mma_m8n8k16")
    name, cfg = v06_config(config)
    blocks = cdiv(M, cfg["BM"]) * cdiv(N, cfg["BN"])
    check_grid(what, (blocks,), ("M*N",))
    ensure_int32("M*N", M * N)
    out = alloc_out(xp, out, M, N)
    threads = 32 * cfg["WARPS_M"] * cfg["WARPS_N"]
    return _launch_a8w8("int8/v06_mma_gemm.cu", "a8w8_mma_gemm", (blocks,), (threads,), x, x_scale, w, w_scale,
                        out, M, N, K, raw, cfg, v06_smem(cfg))


#: v09: stages of the cp.async pipeline, warpgroups per block ((64 * WGS) x 256 tiles)
V09_DEFINES = {"STAGES": 4, "WGS": 2}


def v09_smem(cfg: dict | None = None) -> int:
    """Dynamic shared memory of v09 with ``cfg`` (default :data:`V09_DEFINES`): the stages' A and B
    tiles plus 1 KB to align them to the 128-byte swizzle."""
    cfg = {**V09_DEFINES, **(cfg or {})}
    return cfg["STAGES"] * (64 * cfg["WGS"] + 256) * 128 + 1024


def wgmma_gemm(x, x_scale, w, w_scale, out=None, *, tuning: dict | None = None):
    """v09: Hopper wgmma m64n256k32 int8, operands straight from swizzled shared memory (sm_90a)."""
    what = "A8W8 v09 (wgmma)"
    M, N, K, raw = check_a8w8(x, x_scale, w, w_scale, out, k_multiple=16, what=what)
    xp = require_cupy(x, x_scale, w, w_scale, out, what=what)
    device.require("wgmma", what, alternative="int8/v06_mma_gemm")
    cfg = {**V09_DEFINES, **(tuning or {})}
    if set(cfg) != set(V09_DEFINES) or cfg["WGS"] not in (2, 3) or cfg["STAGES"] < 3 or v09_smem(cfg) > 227 * 1024:
        raise ValueError(f"A8W8 v09 tuning takes STAGES >= 3 and WGS 2 or 3 within 227 KB of shared memory "
                         f"({v09_smem(cfg) if 'WGS' in cfg else '?'} bytes); got {tuning}")
    wgs = cfg["WGS"]
    blocks = cdiv(M, 64 * wgs) * cdiv(N, 256)
    check_grid(what, (blocks,), ("M*N",))
    ensure_int32("M*N", M * N)
    out = alloc_out(xp, out, M, N)
    smem = v09_smem(cfg)
    fn = smem_function("int8/v09_wgmma.cu", "a8w8_wgmma", tuple(sorted({**cfg, "RAW": int(raw)}.items())),
                       smem, specific=True)  # sm_90a: wgmma
    fn((blocks,), (128 * wgs,), (x, x_scale, w, w_scale, out, np.int32(M), np.int32(N), np.int32(K)), shared_mem=smem)
    return out


#: v10: TMA pipeline depth, tile width (a 128 x BN block tile, warp tiles of 64 x BN/4), the grouped
#: order's GROUP_M, PIPE (1: fragments loaded a k-step ahead, across stages) and PERSIST (1: one
#: block per SM walking the tiles; 0: one block per tile). Tuned at 8192^3 on the H100
#: (benchmarks/tune_int8.py, NOTES.md): these 995 TOP/s; PERSIST 0 948, PIPE 0 920, both 0 880.
V10_DEFINES = {"STAGES": 4, "BN": 256, "GROUP_M": 16, "PIPE": 1, "PERSIST": 1}


def v10_smem(cfg: dict | None = None) -> int:
    """Dynamic shared memory of v10: the stages' tiles, 1 KB to align them to the 128-byte
    swizzle, and the stages' two mbarriers."""
    cfg = {**V10_DEFINES, **(cfg or {})}
    return cfg["STAGES"] * (128 + cfg["BN"]) * 128 + 1024 + 16 * cfg["STAGES"]


def v10_config(tuning: dict | None = None) -> dict:
    """V10_DEFINES overridden by ``tuning``, or a ValueError naming what the settings may be."""
    cfg = {**V10_DEFINES, **(tuning or {})}
    if set(cfg) != set(V10_DEFINES) or cfg["BN"] not in (128, 256) or cfg["STAGES"] not in (2, 3, 4) \
            or cfg["PERSIST"] not in (0, 1) or cfg["PIPE"] not in (0, 1) or cfg["GROUP_M"] not in (1, 2, 4, 8, 16, 32) \
            or v10_smem(cfg) > 227 * 1024:
        raise ValueError(f"A8W8 v10 tuning takes BN 128 or 256, STAGES 2..4 within 227 KB of shared memory, "
                         f"GROUP_M a power of two up to 32, PIPE and PERSIST 0 or 1; got {tuning}")
    return cfg


def v10_kernel_defines(cfg: dict, raw: bool) -> dict:
    """The #defines v10 compiles with: its configuration less PERSIST (which only sizes the grid), and RAW."""
    return {**{k: v for k, v in cfg.items() if k != "PERSIST"}, "RAW": int(raw)}


def mma_tma_gemm(x, x_scale, w, w_scale, out=None, *, tuning: dict | None = None):
    """v10: v06's mma.sync m16n8k32 and ldmatrix, tiles delivered by TMA to 8 consumer warps
    through mbarriers (sm_90a; ``tuning`` overrides V10_DEFINES)."""
    what = "A8W8 v10 (mma.sync fed by TMA)"
    M, N, K, raw = check_a8w8(x, x_scale, w, w_scale, out, k_multiple=16, what=what)
    xp = require_cupy(x, x_scale, w, w_scale, out, what=what)
    device.require("wgmma", what, alternative="int8/v06_mma_gemm")  # TMA + setmaxnreg: sm_90a
    cfg = v10_config(tuning)
    tiles = cdiv(M, 128) * cdiv(N, cfg["BN"])
    blocks = min(tiles, device.gpu().sms) if cfg["PERSIST"] else tiles
    check_grid(what, (blocks,), ("M*N",))
    ensure_int32("M*N", M * N)
    out = alloc_out(xp, out, M, N)
    smem = v10_smem(cfg)
    fn = smem_function("int8/v10_mma_tma.cu", "a8w8_mma_tma", tuple(sorted(v10_kernel_defines(cfg, raw).items())),
                       smem, specific=True)  # sm_90a: setmaxnreg
    fn((blocks,), (384,), (tensor_map(x, 128), x_scale, tensor_map(w, cfg["BN"]), w_scale, out,
                           np.int32(M), np.int32(N), np.int32(K)), shared_mem=smem)
    return out


# --------------------------------------------------------------------------
# cuBLAS int8 through torch (the library peer).
# --------------------------------------------------------------------------


_torch_ok = torch_op_available("_int_mm")


def _torch_prepare(inputs: dict) -> dict:
    import torch

    return {k: torch.as_tensor(v, device="cuda") for k, v in inputs.items()}


def _torch_timed(x, x_scale, w, w_scale):
    import torch

    return torch._int_mm(x, w.t())  # int32 [M, N]; the scales are not in the timing


def torch_int_mm(x, x_scale, w, w_scale, out=None):
    """cuBLAS int8 GEMM (``torch._int_mm``, int32 result; needs M > 16, K and N multiples of 8),
    then the scale epilogue in torch, into ``out``."""
    ok, why = _torch_ok()
    if not ok:
        raise UnsupportedDevice(f"int8/v00_torch_int_mm cannot run here: {why}")
    import torch

    M, K = x.shape
    N = w.shape[0]
    if M <= 16 or K % 8 or N % 8:
        raise ValueError(f"torch._int_mm needs M > 16 and K, N multiples of 8; got M={M}, N={N}, K={K}")
    acc = _torch_timed(x, x_scale, w, w_scale)
    if out is None:
        import cupy

        out = cupy.empty((M, N), dtype=cupy.float16)
    t = torch.as_tensor(out, device="cuda")
    if t.dtype == torch.int32:
        t.copy_(acc)
    else:
        t.copy_((acc.float() * x_scale.float() * w_scale.float().t()).half())
    return out


# --------------------------------------------------------------------------
# W4A8: offline layouts and launchers.
# --------------------------------------------------------------------------


def _signed_nibbles(qweight):
    """Packed int4 codes u = q + 8 [N, K/2] -> two's-complement nibbles q & 15, [N, K] uint8."""
    xp = array_module(qweight)
    lo = qweight & 15
    hi = qweight >> 4
    return xp.stack([lo, hi], axis=-1).reshape(qweight.shape[0], -1) ^ 8


def prepack_w4a8_gemv(qweight):
    """Natural packed int4 [N, K/2] -> the v08 layout, uint32 [N, K/8]: in word i (k = 8i..8i+7)
    byte j = q[8i + j] | q[8i + 4 + j] << 4, two's-complement nibbles. Needs K % 32 == 0."""
    check_array("qweight", qweight, dtype=np.uint8, ndim=2)
    xp = array_module(qweight)
    N, K = qweight.shape[0], 2 * qweight.shape[1]
    if K % 32:
        raise ValueError(f"W4A8 needs K to be a multiple of 32; got K={K}")
    s = _signed_nibbles(qweight).reshape(N, K // 8, 2, 4)
    b = (s[:, :, 0, :] | (s[:, :, 1, :] << 4)).astype(xp.uint8)  # [N, K/8, 4] bytes
    return xp.ascontiguousarray(b).view(xp.uint32).reshape(N, K // 8)


def prepack_w4a8_mma(qweight):
    """Natural packed int4 [N, K/2] -> the v07 fragment order, uint32 [ceil(N/8), ceil(K/128), 32, 4].

    Word s of lane l in tile (nt, kc) holds k32 step s of n = 8nt + l/4 with t = l % 4:
    byte j = q[k0 + 4t + j] | q[k0 + 16 + 4t + j] << 4, k0 = 128kc + 32s (the B registers
    b0 and b1 of an m16n8k32 MMA). Rows and columns past N and K are padded with 0.
    """
    check_array("qweight", qweight, dtype=np.uint8, ndim=2)
    xp = array_module(qweight)
    N, K = qweight.shape[0], 2 * qweight.shape[1]
    NT, KC = cdiv(N, 8), cdiv(K, 128)
    s = xp.zeros((NT * 8, KC * 128), dtype=xp.uint8)
    s[:N, :K] = _signed_nibbles(qweight)
    s = s.reshape(NT, 8, KC, 4, 2, 4, 4)  # nt, n_in, kc, step, half, t, j
    s = s.transpose(0, 2, 1, 5, 3, 6, 4)  # nt, kc, n_in, t, step, j, half
    b = (s[..., 0] | (s[..., 1] << 4)).astype(xp.uint8)  # [NT, KC, 8, 4, 4, 4]
    return xp.ascontiguousarray(b).view(xp.uint32).reshape(NT, KC, 32, 4)


def _prepare(fn):
    def prepare(inputs: dict) -> dict:
        return {**inputs, "qweight": fn(inputs["qweight"])}

    return prepare


def _check_w4a8(x, x_scale, qweight, scales, out, what, *, max_m=None):
    check_array("x", x, dtype=np.int8, ndim=2)
    M, K = x.shape
    ensure_int32("M (x.shape[0])", M)
    ensure_int32("K (x.shape[1])", K)
    if max_m is not None and M > max_m:
        raise ValueError(f"{what} handles M up to {max_m} (one pass over the weights); got M={M}: "
                         f"use int8/v07_w4a8_mma for larger M")
    if K % 32:
        raise ValueError(f"{what} needs K to be a multiple of 32; got K={K}")
    if K > MAX_K:
        raise ValueError(f"K={K} could overflow the int32 sums; K must be at most {MAX_K}")
    check_array("x_scale", x_scale, dtype=np.float16, shape=(M, 1))
    if getattr(qweight, "dtype", None) == np.uint8:
        fix = "prepack_w4a8_gemv" if max_m else "prepack_w4a8_mma"
        raise TypeError(f"qweight must be uint32 in {what}'s layout (int8.{fix}(qweight)); got the natural "
                        f"packed layout, uint8 {tuple(qweight.shape)}")
    check_array("scales", scales, dtype=np.float16, ndim=2)
    N = scales.shape[0]
    G = check_w4a8_scales(scales, N, K)
    if max_m is not None:
        check_array("qweight", qweight, dtype=np.uint32, shape=(N, K // 8))
    else:
        check_array("qweight", qweight, dtype=np.uint32, shape=(cdiv(N, 8), cdiv(K, 128), 32, 4))
    if out is not None:
        check_array("out", out, dtype=np.float16, shape=(M, N))
    array_module(x, x_scale, qweight, scales, out)
    return M, N, K, G


def w4a8_mma(x, x_scale, qweight, scales, out=None):
    """v07: W4A8 GEMM on the int8 Tensor Cores (prepacked weights, see prepack_w4a8_mma)."""
    what = "W4A8 v07 (mma.sync m16n8k32)"
    M, N, K, G = _check_w4a8(x, x_scale, qweight, scales, out, what)
    xp = require_cupy(x, x_scale, qweight, scales, out, what=what)
    device.require("cp_async", what)
    grid = (cdiv(N, 128), cdiv(M, 128))
    check_grid(what, grid)
    out = alloc_out(xp, out, M, N)
    smem = v07_smem()
    fn = smem_function("int8/v07_w4a8_mma.cu", "w4a8_mma", tuple(V07_DEFINES.items()), smem)
    fn(grid, (256,), (x, x_scale, qweight, scales, out, np.int32(M), np.int32(N), np.int32(K), np.int32(G)),
       shared_mem=smem)
    return out


def w4a8_gemv(x, x_scale, qweight, scales, out=None):
    """v08: W4A8 GEMV, M <= 16 (prepacked weights, see prepack_w4a8_gemv)."""
    what = "W4A8 v08 (dp4a GEMV)"
    M, N, K, G = _check_w4a8(x, x_scale, qweight, scales, out, what, max_m=GEMV_MAX_M)
    xp = require_cupy(x, x_scale, qweight, scales, out, what=what)
    device.require("dp4a", what)
    out = alloc_out(xp, out, M, N)
    w_ = GEMV_DEFINES["WARPS"]
    fn = build.get_function("int8/v08_w4a8_gemv.cu", "w4a8_gemv", {**GEMV_DEFINES, "ROWS": M})
    fn((cdiv(N, w_),), (32 * w_,), (x, x_scale, qweight, scales, out, np.int32(M), np.int32(N), np.int32(K),
                                    np.int32(G)))
    return out


# --------------------------------------------------------------------------
# Exact checks of the integer path.
# --------------------------------------------------------------------------


def check_exact(variant, M: int, N: int, K: int, *, seed: int | None = None):
    """Launch an A8W8 variant with an int32 ``out`` (poisoned) on fresh full-range int8 inputs and
    compare with the exact integer product: returns (passed, number of wrong elements, message)."""
    import secrets

    from ... import check, problems, registry

    v = registry.get(variant) if isinstance(variant, str) else variant
    if v.fmt != "a8w8" or v.reference:
        raise ValueError(f"check_exact takes a lab A8W8 variant; {v.id} is {v.fmt}"
                         + (" (a library peer)" if v.reference else ""))
    seed = secrets.randbits(63) if seed is None else seed
    host = problems.get("a8w8").inputs(M, N, K, np.random.default_rng(seed))
    xp, _ = check._backend_for(v.impl)
    dev = {k: xp.asarray(a) for k, a in host.items()}
    out = xp.full((M, N), np.int32(-(2**31)), dtype=xp.int32)  # poison: a value no sum here reaches
    got = v.launch(**dev, out=out)
    if xp is not np:
        got = xp.asnumpy(got)
    ref = problems.int8_product(host["x"], host["w"])
    bad = got.astype(np.float64) != ref
    n_bad = int(bad.sum())
    if n_bad:
        i, j = np.argwhere(bad)[0]
        return False, n_bad, (f"{v.id} {M}x{N}x{K} seed {seed}: {n_bad} of {M * N} int32 sums wrong, first at "
                              f"({i}, {j}): got {int(got[i, j])}, expected {int(ref[i, j])}")
    return True, 0, f"{v.id} {M}x{N}x{K}: all {M * N} int32 sums exact"


# --------------------------------------------------------------------------
# Registry.
# --------------------------------------------------------------------------

_MMA_S8 = "mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32"

register(id="int8/v00_torch_int_mm", family="int8", fmt="a8w8", op="gemm", impl="library", launch=torch_int_mm,
         reference=True, prepare=_torch_prepare, timed=_torch_timed, available=_torch_ok, min_m=17,
         description="cuBLAS int8 GEMM through torch._int_mm (int32 out; the timing leaves out the scales)")
register(id="int8/v01_dp4a_numba", family="int8", fmt="a8w8", op="gemm", impl="numba", launch=dp4a_numba,
         source="int8/v01_dp4a_numba.py", numba_func="a8w8_dp4a_numba", numba_sig=v01_dp4a_numba.SIGNATURE,
         promises=("dp4a_s32",), bench_max_m=4, requires="dp4a",
         description="Numba, one thread per output, dp4a via a linked CUDA C device function")
register(id="int8/v02_dp4a_gemv", family="int8", fmt="a8w8", op="gemv", impl="cupy", launch=dp4a_gemv,
         source="int8/v02_dp4a_gemv.cu", archs=ARCHS_ALL, defines={**GEMV_DEFINES, "ROWS": 4, "RAW": 0},
         requires="dp4a", max_m=GEMV_MAX_M, promises=("dp4a.s32.s32", "ld.global.nc.v4", "shfl.sync.bfly"),
         description="one warp per row, 16-byte loads, dp4a, scales after the integer reduction")
register(id="int8/v03_dp4a_gemm", family="int8", fmt="a8w8", op="gemm", impl="cupy", launch=dp4a_gemm,
         source="int8/v03_dp4a_gemm.cu", archs=ARCHS_ALL, defines={"RAW": 0}, requires="dp4a", bench_max_m=4096,
         promises=("dp4a.s32.s32", "ld.shared"),
         description="64x64 shared-memory tiles, 4x4 outputs per thread, dp4a on CUDA cores")
register(id="int8/v04_wmma", family="int8", fmt="a8w8", op="gemm", impl="cupy", launch=wmma_gemm,
         source="int8/v04_wmma.cu", archs=ARCHS_ALL, defines={"RAW": 0}, requires="wmma_s8",
         promises=("wmma.mma.sync.aligned.row.col.m16n16k16.s32.s8.s8.s32", "wmma.load.a.sync"),
         description="WMMA int8 16x16x16, 64x64 tiles through shared memory")
register(id="int8/v05_mma_m8n8k16", family="int8", fmt="a8w8", op="gemm", impl="cupy", launch=mma_m8n8k16,
         source="int8/v05_mma_m8n8k16.cu", archs=ARCHS_ALL, defines={"RAW": 0}, requires="mma_s8_m8n8k16",
         promises=("mma.sync.aligned.m8n8k16.row.col.s32.s8.s8.s32", "ldmatrix.sync.aligned.m8n8.x4"),
         description="mma.sync m8n8k16 fed by ldmatrix, scales from registers (the sm_75 path)")
register(id="int8/v06_mma_gemm", family="int8", fmt="a8w8", op="gemm", impl="cupy", launch=mma_gemm,
         source="int8/v06_mma_gemm.cu", archs=ARCHS_MMA, defines={**V06_CONFIGS[V06_ORDER[0]], "RAW": 0},
         requires="cp_async",
         promises=(_MMA_S8, "ldmatrix.sync.aligned.m8n8.x4", "cp.async.cg.shared.global", "cp.async.wait_group"),
         description="mma.sync m16n8k32, ldmatrix, 3-4 stage cp.async, 64x64 warp tiles, grouped block order")
register(id="int8/v07_w4a8_mma", family="int8", fmt="w4a8", op="gemm", impl="cupy", launch=w4a8_mma,
         source="int8/v07_w4a8_mma.cu", archs=ARCHS_MMA, defines=V07_DEFINES, requires="cp_async",
         prepare=_prepare(prepack_w4a8_mma), bench_max_m=16384,
         promises=(_MMA_S8, "ldmatrix.sync.aligned.m8n8.x4", "cp.async.cg.shared.global", "cvt.rn.f32.s32"),
         description="int4 widened to int8 in registers (x16, mask only), int8 mma.sync, fp32 group rescale")
register(id="int8/v08_w4a8_gemv", family="int8", fmt="w4a8", op="gemv", impl="cupy", launch=w4a8_gemv,
         source="int8/v08_w4a8_gemv.cu", archs=ARCHS_ALL, defines={**GEMV_DEFINES, "ROWS": 4}, requires="dp4a",
         max_m=GEMV_MAX_M, prepare=_prepare(prepack_w4a8_gemv),
         promises=("dp4a.s32.s32", "ld.global.nc.v4", "and.b32"),
         description="W4A8 GEMV: 16-byte loads of 32 int4, widened by masking, dp4a, one fp32 scale per chunk")

register(id="int8/v09_wgmma", family="int8", fmt="a8w8", op="gemm", impl="cupy", launch=wgmma_gemm,
         source="int8/v09_wgmma.cu", archs=("sm_90a",), specific=True, defines={**V09_DEFINES, "RAW": 0},
         requires="wgmma",
         promises=("wgmma.mma_async.sync.aligned.m64n256k32.s32.s8.s8", "wgmma.commit_group.sync.aligned",
                   "wgmma.wait_group.sync.aligned", "fence.proxy.async.shared::cta", "cp.async.cg.shared.global"),
         description="Hopper wgmma m64n256k32 from 128-byte-swizzled shared memory, 2 warpgroups, 4-stage cp.async")

register(id="int8/v10_mma_tma", family="int8", fmt="a8w8", op="gemm", impl="cupy", launch=mma_tma_gemm,
         source="int8/v10_mma_tma.cu", archs=("sm_90a",), specific=True,
         defines=v10_kernel_defines(V10_DEFINES, raw=False),
         requires="wgmma", path="mma_sync",
         promises=(_MMA_S8, "ldmatrix.sync.aligned.m8n8.x4", "cp.async.bulk.tensor.2d", "mbarrier.try_wait.parity",
                   "setmaxnreg.inc.sync.aligned.u32"),
         description="v06's mma.sync m16n8k32 + ldmatrix fed by TMA: a producer warpgroup, 8 consumer warps, "
                     "mbarriers, 128 x 256 tiles")

#: CUDA sources that are not variants: (archs, promised PTX, NVRTC options) for the compile
#: tests. The Numba device function is compiled relocatable (-rdc), as Numba's linker does.
AUXILIARY_SOURCES = {
    "int8/quantize.cu": (ARCHS_ALL, ("div.rn.f32", "cvt.rni.s32.f32", "cvt.rn.f16.f32"), ()),
    "int8/dp4a_device.cu": (ARCHS_ALL, ("dp4a.s32.s32",), ("-rdc=true",)),
}
