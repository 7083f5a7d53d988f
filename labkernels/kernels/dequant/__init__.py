"""Dequant-then-MMA: weight-only quantization (W4A16, W8A16), lesson 1.

Every W4A16 variant computes ``Y = X·deq(W)ᵀ`` from the same inputs
(``labkernels.problems``: ``x`` fp16 [M, K]; ``qweight`` packed int4 [N, K/2],
even k in the low nibble; ``scales`` fp16 [N, G]; ``zeros`` uint8 [N, G] or
None for symmetric int4). Variants in teaching order:

    v00  torch's int4 weight-only kernel (tinygemm), the library peer
    v01  Numba, one thread per output
    v02  one warp per row, coalesced 4-byte loads          (GEMV, M <= 16)
    v03  16-byte loads, several in flight                  (GEMV, M <= 16)
    v04  lop3 / magic-number int4 -> fp16, zero folded in  (GEMV, M <= 16)
    v05  WMMA, dequantized through shared memory           (GEMM)
    v06  mma.sync, weights re-laid out offline, skinny M   (any M; best for M <= 16)
    v07  mma.sync, 128x128 tiles, 3-stage cp.async         (GEMM)
    v08  W8A16 GEMV, int8 per-channel
    v09  weights dequantized once to fp16, then fp16/v05's TMA + wgmma GEMM  (GEMM, sm_90a)
    v10  v06's fragments as a GEMV: no split K, scales on fp32 sums  (GEMV on the Tensor Cores, M <= 16)

v06 and v07 take their weights in *fragment order* (:func:`prepack_w4`), made
once, offline, as a model loader would; the registry's ``prepare`` step does it
outside every timing.
"""
from __future__ import annotations

import numpy as np

from ... import build, device
from ...errors import UnsupportedDevice, check_array, check_divisible
from ...registry import register
from .._launch import (alloc_out, array_module, cdiv, check_grid, check_simulator_work, check_xw, ensure_int32,
                       require_cupy, smem_function, torch_op_available)
from .. import fp16
from . import v01_gemv_numba

ARCHS_ALL = build.TARGETS  # every target NVRTC builds for
ARCHS_MMA = ARCHS_ALL[1:]  # mma.sync m16n8k16 and cp.async: sm_80+

GEMV_MAX_M = 16
GEMV_DEFINES = {"WARPS": 4, "UNROLL": 4}  # + ROWS = M: one kernel per M (known trip counts)
SKINNY_DEFINES = {"WARPS": 8, "KCH": 1024}
SKINNY_SMEM = 2 * 16 * (SKINNY_DEFINES["KCH"] + 8) * 2
GEMM_DEFINES = {"STAGES": 3}
GEMM_SMEM = GEMM_DEFINES["STAGES"] * (128 * (128 + 8) * 2 + 16 * 512)


# --------------------------------------------------------------------------
# Argument checks shared by every W4A16 launcher.
# --------------------------------------------------------------------------


def check_w4(x, qweight, scales, zeros, out, *, max_m=None, k_multiple=2, what="W4A16 kernel"):
    """Check the W4A16 operands; return (M, N, K, G)."""
    M, N, K = check_xw(x, qweight, out, w_dtype=np.uint8, w_cols=lambda K: K // 2, max_m=max_m, what=what,
                       w_name="qweight")
    check_divisible("K (x.shape[1])", K, 2, "two int4 per byte")
    if K % k_multiple:
        raise ValueError(f"{what} needs K to be a multiple of {k_multiple} (aligned vector loads); got K={K}")
    check_array("scales", scales, dtype=np.float16, ndim=2)
    if scales.shape[0] != N:
        raise ValueError(f"scales must have shape (N, G) = ({N}, G); got {tuple(scales.shape)}")
    G = scales.shape[1]
    if K % G or (G > 1 and K // G not in (32, 64, 128)):
        raise ValueError(f"scales imply a group size of K/G = {K}/{G}; it must be 32, 64 or 128 "
                         f"(or G = 1, per-channel)")
    if zeros is not None:
        check_array("zeros", zeros, dtype=np.uint8, shape=(N, G))
    array_module(x, qweight, scales, zeros, out)
    return M, N, K, G


_NULL = np.uint64(0)  # a null pointer argument


def _args(x, qweight, scales, zeros, out, M, N, K, G, *extra):
    """Kernel arguments in the order every W4A16 kernel takes them (``extra`` after ``out``)."""
    return (x, qweight, scales, _NULL if zeros is None else zeros, out, *extra,
            np.int32(M), np.int32(N), np.int32(K), np.int32(G))


# --------------------------------------------------------------------------
# Offline re-layout into mma.sync fragment order.
# --------------------------------------------------------------------------

#: For lane t, word j, nibble i of a fragment tile: the (row, k) it holds within
#: an 8 x 128 tile. B fragment of m16n8k16: lane t holds rows n = t // 4 and
#: k = 2c, 2c+1 (reg b0) and 2c+8, 2c+9 (reg b1) with c = t % 4. Word j carries
#: k16 steps 2j and 2j+1; nibbles are ordered so that lop3-extracting nibbles
#: (i, i+4) of (word >> 4i) gives b0 of step 2j, b0 of 2j+1, b1 of 2j, b1 of 2j+1.
_T = np.arange(32)[:, None, None]
_J = np.arange(4)[None, :, None]
_I = np.arange(8)[None, None, :]
FRAG_ROW = np.broadcast_to(_T // 4, (32, 4, 8))
FRAG_K = 16 * (2 * _J + (_I & 1)) + 2 * (_T % 4) + np.array([0, 8, 1, 9])[_I >> 1]


def prepack_w4(qweight: np.ndarray) -> np.ndarray:
    """Natural packed int4 ``[N, K/2]`` -> fragment order, uint32 ``[ceil(N/8), ceil(K/128), 32, 4]``.

    Rows and columns past N and K are padded (code 8); kernels never write
    those rows and multiply those columns by zeros of X.
    """
    from ...formats import unpack_int4

    check_array("qweight", qweight, dtype=np.uint8, ndim=2)
    q = unpack_int4(np.asarray(qweight))
    N, K = q.shape
    NT, KC = cdiv(N, 8), cdiv(K, 128)
    qp = np.full((NT * 8, KC * 128), 8, np.uint8)
    qp[:N, :K] = q
    tiles = qp.reshape(NT, 8, KC, 128)
    vals = tiles[:, FRAG_ROW, :, FRAG_K]  # [32, 4, 8, NT, KC]: advanced indices first
    vals = np.moveaxis(vals, (3, 4), (0, 1)).astype(np.uint32)  # [NT, KC, 32, 4, 8]
    words = np.zeros(vals.shape[:4], np.uint32)
    for i in range(8):
        words |= vals[..., i] << np.uint32(4 * i)
    return words


def _prepare_prepacked(inputs: dict) -> dict:
    xp = array_module(inputs["qweight"])
    qw = inputs["qweight"] if xp is np else xp.asnumpy(inputs["qweight"])
    out = dict(inputs)
    out["qweight"] = xp.asarray(prepack_w4(qw))
    return out


def check_prepacked(qweight, N, K):
    NT, KC = cdiv(N, 8), cdiv(K, 128)
    check_array("qweight", qweight, dtype=np.uint32, shape=(NT, KC, 32, 4))


# --------------------------------------------------------------------------
# Launchers.
# --------------------------------------------------------------------------


def gemv_numba(x, qweight, scales, zeros=None, out=None):
    """v01: one Numba thread per output."""
    M, N, K, G = check_w4(x, qweight, scales, zeros, out, what="W4A16 v01 (Numba)")
    bx, by = v01_gemv_numba.BLOCK
    check_grid("W4A16 v01 (Numba)", (cdiv(N, bx), cdiv(M, by)))
    check_simulator_work("W4A16 v01 (Numba)", M, N, K)
    out = alloc_out(array_module(x), out, M, N)
    v01_gemv_numba.launch(x, qweight, scales, zeros, out)
    return out


def _gemv(source, kernel, k_multiple, tuning_of_m=None):
    def launch(x, qweight, scales, zeros=None, out=None, *, tuning: dict | None = None):
        M, N, K, G = check_w4(x, qweight, scales, zeros, out, max_m=GEMV_MAX_M, k_multiple=k_multiple,
                              what=f"W4A16 {source.split('/')[-1][:3]}")
        xp = require_cupy(x, qweight, scales, out, what=kernel)
        out = alloc_out(xp, out, M, N)
        defines = {**GEMV_DEFINES, "ROWS": M, **(tuning_of_m(M) if tuning_of_m else {}), **(tuning or {})}
        fn = build.get_function(source, kernel, defines)
        w, rpw = defines["WARPS"], defines.get("RPW", 1)
        fn((cdiv(N, w * rpw),), (32 * w,), _args(x, qweight, scales, zeros, out, M, N, K, G))
        return out

    launch.__doc__ = (f"{source}: one warp per row of W, M <= {GEMV_MAX_M} (``tuning`` overrides "
                      f"#defines: WARPS, UNROLL, ...).")
    return launch


gemv_warp = _gemv("dequant/v02_gemv_warp.cu", "w4a16_gemv_warp", 8)
gemv_vector = _gemv("dequant/v03_gemv_vector.cu", "w4a16_gemv_vector", 32)
# v04: two rows per warp, two 16-byte loads per row in flight, streamed (HINT); at M = 1 capped
# at 64 registers so that 8 blocks fit per SM (one wave for N = 8192). (benchmarks/dequant.py
# --tune-only, NOTES.md.)
V04_TUNING = lambda M: {"UNROLL": 2, "RPW": 2, "MINB": 8 if M == 1 else 1, "HINT": 1}  # noqa: E731
gemv_lop3 = _gemv("dequant/v04_gemv_lop3.cu", "w4a16_gemv_lop3", 32, V04_TUNING)


def gemm_wmma(x, qweight, scales, zeros=None, out=None):
    """v05: WMMA, weights dequantized through a shared-memory fp16 tile."""
    M, N, K, G = check_w4(x, qweight, scales, zeros, out, k_multiple=32, what="W4A16 v05 (WMMA)")
    xp = require_cupy(x, qweight, scales, out, what="W4A16 WMMA GEMM")
    device.require("wmma_f16", "W4A16 v05 (WMMA)")
    if cdiv(M, 64) > 65535:
        raise ValueError(f"M={M} is too large for one launch (grid.y <= 65535 tiles of 64)")
    out = alloc_out(xp, out, M, N)
    fn = build.get_function("dequant/v05_gemm_wmma.cu", "w4a16_gemm_wmma")
    fn((cdiv(N, 64), cdiv(M, 64)), (128,), _args(x, qweight, scales, zeros, out, M, N, K, G))
    return out


def _check_prepacked_call(x, qweight, scales, zeros, out, what):
    check_array("x", x, dtype=np.float16, ndim=2)
    M, K = x.shape
    ensure_int32("M (x.shape[0])", M)
    ensure_int32("K (x.shape[1])", K)
    if getattr(qweight, "dtype", None) == np.uint8 and getattr(qweight, "ndim", 0) == 2:
        raise TypeError(f"qweight must have dtype uint32, in {what}'s fragment order [ceil(N/8), ceil(K/128), 32, 4] "
                        f"(dequant.prepack_w4(qweight)); got the natural packed layout, uint8 {tuple(qweight.shape)}")
    check_array("qweight", qweight, dtype=np.uint32, ndim=4)
    N8 = qweight.shape[0] * 8
    check_array("scales", scales, dtype=np.float16, ndim=2)
    N, G = scales.shape
    if not (N8 - 8 < N <= N8):
        raise ValueError(f"scales has {N} rows but the prepacked weights hold {N8 // 8} row tiles of 8")
    check_prepacked(qweight, N, K)
    if K % 8:
        raise ValueError(f"{what} needs K to be a multiple of 8 (16-byte rows of X); got K={K}")
    if K % G or (G > 1 and K // G not in (32, 64, 128)):
        raise ValueError(f"scales imply a group size of K/G = {K}/{G}; it must be 32, 64 or 128 (or G = 1)")
    if zeros is not None:
        check_array("zeros", zeros, dtype=np.uint8, shape=(N, G))
    if out is not None:
        check_array("out", out, dtype=np.float16, shape=(M, N))
    return M, N, K, G


def mma_skinny(x, qweight, scales, zeros=None, out=None):
    """v06: tensor-core GEMV/skinny GEMM on fragment-ordered weights (see prepack_w4)."""
    M, N, K, G = _check_prepacked_call(x, qweight, scales, zeros, out, "W4A16 v06")
    xp = require_cupy(x, qweight, scales, out, what="W4A16 v06 (mma.sync)")
    device.require("mma_f16_m16n8k16", "W4A16 v06 (mma.sync m16n8k16)", alternative="dequant/v04_gemv_lop3")
    if cdiv(M, 16) > 65535:
        raise ValueError(f"M={M} is too large for v06 (grid.y <= 65535 tiles of 16); use v07")
    ensure_int32("M*N", M * N)  # the split-K reduction indexes the output with one int
    out = alloc_out(xp, out, M, N)
    w = SKINNY_DEFINES["WARPS"]
    blocks = cdiv(cdiv(N, 8), w) * cdiv(M, 16)
    # Split K until the grid holds about two blocks per SM (the registers allow two),
    # keeping at least one chunk of K per block.
    sms = device.gpu().sms
    splits = max(1, min(8, (2 * sms) // blocks, cdiv(K, SKINNY_DEFINES["KCH"])))
    part = xp.empty((splits, M, N), dtype=xp.float32) if splits > 1 else None
    smem_function("dequant/v06_mma_skinny.cu", "w4a16_mma_skinny", tuple(SKINNY_DEFINES.items()), SKINNY_SMEM)(
        (cdiv(cdiv(N, 8), w), cdiv(M, 16), splits), (32 * w,),
        _args(x, qweight, scales, zeros, out, M, N, K, G, _NULL if part is None else part),
        shared_mem=SKINNY_SMEM)
    if splits > 1:
        red = build.get_function("dequant/v06_mma_skinny.cu", "w4a16_splitk_reduce", SKINNY_DEFINES)
        red((cdiv(M * N, 256),), (256,), (part, out, np.int32(M * N), np.int32(splits)))
    return out


#: v10: the tensor-core GEMV's tuning for a matrix of ``nt`` n8 tiles (N / 8): two tiles a warp where
#: that still gives the SMs enough warps, else one with longer chunks. Tuned on the H100 at M = 16
#: (benchmarks/dequant.py --tune-v10, NOTES.md).
def V10_TUNING(nt: int) -> dict:  # noqa: N802 (a table, like the other families' V.._TUNING)
    if nt >= 2048:
        return {"WARPS": 8, "TPW": 2, "KCH": 512, "STAGES": 2, "HINT": 1}
    return {"WARPS": 8, "TPW": 1, "KCH": 1024, "STAGES": 2, "HINT": 1}


def v10_smem(d: dict) -> int:
    return d["STAGES"] * 16 * (d["KCH"] + 8) * 2


def v10_config(nt: int, tuning: dict | None = None) -> dict:
    """V10_TUNING(nt) overridden by ``tuning``, or a ValueError naming what the settings may be."""
    d = {**V10_TUNING(nt), **(tuning or {})}
    ok = (set(d) == set(V10_TUNING(1)) and all(isinstance(v, int) and not isinstance(v, bool) for v in d.values())
          and d["TPW"] in (1, 2, 4) and d["WARPS"] in (1, 2, 4, 8, 16) and d["KCH"] % 128 == 0
          and 128 <= d["KCH"] <= 2048 and d["TPW"] * d["KCH"] <= 2048 and d["STAGES"] in (2, 3) and d["HINT"] in (0, 1))
    if not ok:
        raise ValueError(f"W4A16 v10 tuning takes WARPS 1..16 (a power of two), TPW 1/2/4, KCH a multiple of 128 "
                         f"with TPW * KCH <= 2048 (the weights in flight live in registers), STAGES 2 or 3, "
                         f"HINT 0 or 1; got {tuning}")
    return d


def v10_group_define(K: int, G: int, kch: int) -> int:
    """v10's GS define: the group size when it divides a chunk of KCH values, so that where groups
    start and end is known at compile time; 0 (found at run time) for per-channel scales (G = 1)."""
    return K // G if G > 1 and kch % (K // G) == 0 else 0


def mma_gemv(x, qweight, scales, zeros=None, out=None, *, tuning: dict | None = None):
    """v10: tensor-core GEMV for M <= 16 on fragment-ordered weights (see prepack_w4), one pass over
    the weights with no split K; ``tuning`` overrides WARPS, TPW (n8 tiles a warp), KCH (k values a
    chunk), STAGES (X buffers), HINT (streaming loads)."""
    what = "W4A16 v10 (mma.sync GEMV)"
    M, N, K, G = _check_prepacked_call(x, qweight, scales, zeros, out, what)
    if M > GEMV_MAX_M:
        raise ValueError(f"{what} handles M up to {GEMV_MAX_M} (one 16-row MMA tile); got M={M}: use "
                         f"dequant/v09_gemm_wgmma or dequant/v07_gemm_mma")
    xp = require_cupy(x, qweight, scales, out, what=what)
    device.require("mma_f16_m16n8k16", what, alternative="dequant/v04_gemv_lop3")
    d = v10_config(cdiv(N, 8), tuning)
    out = alloc_out(xp, out, M, N)
    smem = v10_smem(d)
    gs = v10_group_define(K, G, d["KCH"])
    smem_function("dequant/v10_mma_gemv.cu", "w4a16_mma_gemv", tuple(sorted({**d, "GS": gs}.items())), smem)(
        (cdiv(cdiv(N, 8), d["WARPS"] * d["TPW"]),), (32 * d["WARPS"],),
        _args(x, qweight, scales, zeros, out, M, N, K, G), shared_mem=smem)
    return out


def gemm_mma(x, qweight, scales, zeros=None, out=None):
    """v07: 128x128-tile mma.sync GEMM with a cp.async pipeline, fragment-ordered weights."""
    M, N, K, G = _check_prepacked_call(x, qweight, scales, zeros, out, "W4A16 v07")
    xp = require_cupy(x, qweight, scales, out, what="W4A16 v07 (mma.sync)")
    device.require("cp_async", "W4A16 v07 (cp.async + mma.sync m16n8k16)", alternative="dequant/v05_gemm_wmma")
    if cdiv(M, 128) > 65535:
        raise ValueError(f"M={M} is too large for one launch (grid.y <= 65535 tiles of 128)")
    out = alloc_out(xp, out, M, N)
    smem_function("dequant/v07_gemm_mma.cu", "w4a16_gemm_mma", tuple(GEMM_DEFINES.items()), GEMM_SMEM)(
        (cdiv(N, 128), cdiv(M, 128)), (256,), _args(x, qweight, scales, zeros, out, M, N, K, G),
        shared_mem=GEMM_SMEM)
    return out


#: v09: the fp16 GEMM's pipeline depth (fp16/v05_wgmma_tma.cu); 4 measured 1-7% faster than 3 at
#: M = 4096 (benchmarks/tune_wgmma.py)
WGMMA_DEFINES = {**fp16.TMA_DEFINES, "STAGES": 4}


def widen_w4(qweight, scales, zeros=None, out=None, *, defines: dict | None = None):
    """W4A16 weights -> fp16 ``[N, K]``, each ``(q - z) * s`` rounded once (v09's first kernel).
    ``out``: an fp16 ``[N, K]`` CuPy array to write into; K % 8 == 0. ``defines``: the GEMM's tuning
    of the call, so that both kernels come from one build of v09's module."""
    import cupy

    N, K = qweight.shape[0], 2 * qweight.shape[1]
    if K % 8:
        raise ValueError(f"W4A16 widening needs K to be a multiple of 8 (whole 32-bit words); got K={K}")
    G = scales.shape[1]
    if out is None:
        out = cupy.empty((N, K), dtype=cupy.float16)
    words = N * K // 8
    d = fp16.tma_config({**WGMMA_DEFINES, **(defines or {})})  # v09's module: built once for both kernels
    fn = build.get_function("dequant/v09_gemm_wgmma.cu", "w4a16_widen", d, specific=True)
    fn((cdiv(words, 256),), (256,), (qweight, scales, _NULL if zeros is None else zeros, out, np.int64(words),
                                      np.int32(K), np.int32(G)))
    return out


def gemm_wgmma(x, qweight, scales, zeros=None, out=None, *, tuning: dict | None = None):
    """v09: the weights dequantized once into an fp16 scratch matrix, then the fp16 TMA + wgmma GEMM
    (sm_90a). Both kernels run in every call (and its timing)."""
    what = "W4A16 v09 (dequantize once + wgmma)"
    M, N, K, G = check_w4(x, qweight, scales, zeros, out, k_multiple=8, what=what)
    xp = require_cupy(x, qweight, scales, out, what=what)
    device.require("wgmma", what, alternative="dequant/v07_gemm_mma")
    d = fp16.tma_config({**WGMMA_DEFINES, **(tuning or {})})
    out = alloc_out(xp, out, M, N)
    wh = widen_w4(qweight, scales, zeros, defines=d)
    return fp16.tma_launch("dequant/v09_gemm_wgmma.cu", x, None, wh, None, out, M, N, K, d, what)


# --------------------------------------------------------------------------
# torch's int4 weight-only kernel (tinygemm) as the library peer.
# --------------------------------------------------------------------------


_torch_ok = torch_op_available("_weight_int4pack_mm")


def _torch_prepare(inputs: dict) -> dict:
    """torch's own offline packing: int4 codes -> its tiled layout; scales and zeros ->
    its [K/g, N, 2] bf16 table, where a weight is (q - 8)·s + zero, so zero = (8 - z)·s."""
    import torch

    from ...formats import unpack_int4

    xp = array_module(inputs["qweight"])
    get = (lambda a: a) if xp is np else xp.asnumpy
    q = unpack_int4(get(inputs["qweight"]))  # [N, K]
    N, K = q.shape
    s = get(inputs["scales"]).astype(np.float32)
    G = s.shape[1]
    z = np.full_like(s, 8.0) if inputs["zeros"] is None else get(inputs["zeros"]).astype(np.float32)
    dev = torch.device("cuda")
    # torch's packer wants the even element in the HIGH nibble (the lab's layout has it low).
    packed_u8 = torch.from_numpy(((q[:, ::2] << 4) | q[:, 1::2]).astype(np.uint8)).to(dev)
    wp = torch._convert_weight_to_int4pack(packed_u8, 8)
    sz = np.stack([s, (8.0 - z) * s], axis=-1).transpose(1, 0, 2)  # [G, N, 2]
    return {"x": torch.as_tensor(inputs["x"], device=dev).to(torch.bfloat16), "wp": wp,
            "sz": torch.from_numpy(np.ascontiguousarray(sz)).to(dev, torch.bfloat16), "group": K // G}


def _torch_timed(x, wp, sz, group):
    import torch

    return torch._weight_int4pack_mm(x, wp, group, sz)


def torch_int4(x, wp, sz, group, out=None):
    """torch._weight_int4pack_mm (bf16 activations, bf16 scales), result copied into ``out``."""
    ok, why = _torch_ok()
    if not ok:
        raise UnsupportedDevice(f"dequant/v00_torch_int4 cannot run here: {why}")
    import torch

    y = _torch_timed(x, wp, sz, group)
    if out is None:
        import cupy

        out = cupy.empty(tuple(y.shape), dtype=cupy.float16)
    torch.as_tensor(out, device="cuda").copy_(y)
    return out


# --------------------------------------------------------------------------
# W8A16.
# --------------------------------------------------------------------------


def w8a16_gemv(x, qweight, scales, out=None):
    """v08: W8A16 GEMV, int8 per-channel weights, M <= 16."""
    M, N, K = check_xw(x, qweight, out, w_dtype=np.int8, max_m=GEMV_MAX_M, what="W8A16 v08", w_name="qweight")
    check_array("scales", scales, dtype=np.float16, shape=(N, 1))
    if K % 16:
        raise ValueError(f"W8A16 v08 needs K to be a multiple of 16 (16-byte rows); got K={K}")
    xp = require_cupy(x, qweight, scales, out, what="W8A16 GEMV")
    out = alloc_out(xp, out, M, N)
    fn = build.get_function("dequant/v08_w8a16_gemv.cu", "w8a16_gemv", {**GEMV_DEFINES, "ROWS": M})
    w = GEMV_DEFINES["WARPS"]
    fn((cdiv(N, w),), (32 * w,), (x, qweight, scales, out, np.int32(M), np.int32(N), np.int32(K)))
    return out


# --------------------------------------------------------------------------
# Registry.
# --------------------------------------------------------------------------

register(id="dequant/v00_torch_int4", family="dequant", fmt="w4a16", op="gemm", impl="library", launch=torch_int4,
         reference=True, prepare=_torch_prepare, timed=_torch_timed, available=_torch_ok, tol=2.0**-6,
         description="torch._weight_int4pack_mm (tinygemm): bf16 activations and scales; library peer")
register(id="dequant/v01_gemv_numba", family="dequant", fmt="w4a16", op="gemm", impl="numba", launch=gemv_numba,
         source="dequant/v01_gemv_numba.py", numba_func="w4a16_gemv_numba", numba_sig=v01_gemv_numba.SIGNATURE,
         promises=("cvt.rn.f16.f32",), bench_max_m=4,
         description="Numba, one thread per output, byte-by-byte dequantization")
register(id="dequant/v02_gemv_warp", family="dequant", fmt="w4a16", op="gemv", impl="cupy", launch=gemv_warp,
         source="dequant/v02_gemv_warp.cu", archs=ARCHS_ALL, defines={**GEMV_DEFINES, "ROWS": 4}, max_m=GEMV_MAX_M,
         promises=("shfl.sync.bfly", "cvt.rn.f32.u32"),
         description="one warp per row, coalesced 4-byte loads, I2F conversion")
register(id="dequant/v03_gemv_vector", family="dequant", fmt="w4a16", op="gemv", impl="cupy", launch=gemv_vector,
         source="dequant/v03_gemv_vector.cu", archs=ARCHS_ALL, defines={**GEMV_DEFINES, "ROWS": 4}, max_m=GEMV_MAX_M,
         promises=("ld.global.nc.v4",),
         description="16-byte loads, UNROLL in flight per lane")
register(id="dequant/v04_gemv_lop3", family="dequant", fmt="w4a16", op="gemv", impl="cupy", launch=gemv_lop3,
         source="dequant/v04_gemv_lop3.cu", archs=ARCHS_ALL, defines={**GEMV_DEFINES, "ROWS": 1, **V04_TUNING(1)},
         max_m=GEMV_MAX_M,
         promises=("lop3.b32", "ld.global.nc.v4", "sub.f16x2", "fma.rn.f16x2"),
         # Its partial sums of four products are fp16 (hfma2) before they reach fp32: each rounds
         # at 2^-11 of a partial, which at K = 128 measured up to ~2^-9 of |Y| (H100): another
         # precision than the problem's fp32 sums, declared as such.
         tol=2.0**-8,
         description="lop3 magic-number int4->fp16, zero point folded, scale once per 32 weights, 2 rows per warp")
register(id="dequant/v05_gemm_wmma", family="dequant", fmt="w4a16", op="gemm", impl="cupy", launch=gemm_wmma,
         source="dequant/v05_gemm_wmma.cu", archs=ARCHS_ALL, requires="wmma_f16",
         promises=("wmma.mma.sync.aligned.row.col.m16n16k16.f32.f32", "wmma.load.b.sync", "lop3.b32"),
         description="WMMA 16x16x16, weights dequantized into a shared-memory fp16 tile")
register(id="dequant/v06_mma_skinny", family="dequant", fmt="w4a16", op="gemm", impl="cupy", launch=mma_skinny,
         source="dequant/v06_mma_skinny.cu", archs=ARCHS_MMA, defines=SKINNY_DEFINES, requires="mma_f16_m16n8k16",
         prepare=_prepare_prepacked, bench_max_m=256,
         promises=("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32", "ldmatrix.sync.aligned.m8n8.x4", "lop3.b32"),
         description="mma.sync m16n8k16, fragment-ordered weights (offline re-layout), 16 rows of M per pass")
register(id="dequant/v10_mma_gemv", family="dequant", fmt="w4a16", op="gemv", impl="cupy", launch=mma_gemv,
         source="dequant/v10_mma_gemv.cu", archs=ARCHS_MMA, defines=V10_TUNING(1), requires="mma_f16_m16n8k16",
         prepare=_prepare_prepacked, max_m=GEMV_MAX_M,
         promises=("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32", "ldmatrix.sync.aligned.m8n8.x4", "lop3.b32",
                   "sub.f16x2", "ld.global.nc.L1::no_allocate.L2::256B.v4", "cp.async.cg.shared.global"),
         description="v06's fragment-ordered weights as a GEMV: no split K, each X fragment feeds TPW tiles, "
                     "group scales on fp32 sums, streaming loads (M <= 16)")
register(id="dequant/v07_gemm_mma", family="dequant", fmt="w4a16", op="gemm", impl="cupy", launch=gemm_mma,
         source="dequant/v07_gemm_mma.cu", archs=ARCHS_MMA, defines=GEMM_DEFINES, requires="cp_async",
         prepare=_prepare_prepacked,
         promises=("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32", "ldmatrix.sync.aligned.m8n8.x4",
                   "cp.async.cg.shared.global", "cp.async.wait_group", "lop3.b32"),
         description="128x128 tiles, 3-stage cp.async, ldmatrix A, int4 dequantized in registers")
register(id="dequant/v08_w8a16_gemv", family="dequant", fmt="w8a16", op="gemv", impl="cupy", launch=w8a16_gemv,
         source="dequant/v08_w8a16_gemv.cu", archs=ARCHS_ALL, defines={**GEMV_DEFINES, "ROWS": 4}, max_m=GEMV_MAX_M,
         promises=("prmt.b32", "sub.f16x2", "ld.global.nc.v4"),
         description="W8A16: int8 per-channel, prmt magic-number conversion")
register(id="dequant/v09_gemm_wgmma", family="dequant", fmt="w4a16", op="gemm", impl="cupy", launch=gemm_wgmma,
         source="dequant/v09_gemm_wgmma.cu", archs=("sm_90a",), specific=True, defines=WGMMA_DEFINES, requires="wgmma",
         promises=("lop3.b32", "wgmma.mma_async.sync.aligned.m64n256k16.f32.f16.f16", "cp.async.bulk.tensor.2d"),
         description="weights dequantized once per call into fp16 (lop3, one pass), then fp16/v05's TMA + wgmma GEMM")
