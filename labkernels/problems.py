"""What each format's matrix multiply computes, how to make inputs for it, and its reference.

Every problem is ``Y[M, N] = X[M, K] · W[N, K]ᵀ`` with both operands stored
row-major with K contiguous (the "TN" layout of cuBLAS and of every kernel
here): a row of W is one output channel.

A problem knows how to draw fresh random inputs (never zeros), the float64
reference of what a kernel must return, and the per-element tolerance that
format's arithmetic earns. :mod:`labkernels.check` uses these to check any
kernel, the lab's or a student's, the same way.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .errors import check_choice, check_int


@dataclass(frozen=True)
class Problem:
    fmt: str
    description: str
    make_inputs: Callable = field(repr=False)  #: (M, N, K, rng, **params) -> dict of host arrays
    reference: Callable = field(repr=False)  #: inputs -> float64 [M, N]
    out_dtype: np.dtype = np.dtype(np.float16)
    #: elementwise: |out - ref| <= tol * (|ref| + rms(ref)); the rms term keeps
    #: outputs that cancel to near zero from demanding more than the format has.
    tol: float = 2.0**-10
    #: ‖out - ref‖ / ‖ref‖ must stay under this too.
    norm_tol: float = 1e-3
    params: dict = field(default_factory=dict)  #: default extra parameters (group size, ...)
    #: the K (and N) a shape must be a multiple of, given params
    k_multiple: Callable = field(default=lambda **p: 1, repr=False)
    #: inputs indexed by the row m of Y (sliced together when a check samples rows)
    row_inputs: tuple[str, ...] = ("x",)
    #: every problem's inputs are drawn so that |Y| is of order 1 (W scaled by 1/sqrt(K) and
    #: the like); a check's error scale never drops below this, so a check of one output (or
    #: a few) that cancels to near zero does not ask for more than the format holds
    scale_floor: float = 0.25
    #: inputs -> float64 [M, N] bound on the largest |product| summed into each output,
    #: max_k |x[m, k]| * max_k |w[n, k]| with scales (for variants whose accumulator keeps a
    #: fixed number of bits relative to that product, Variant.acc_bits); None: not needed
    largest_product: Callable | None = field(default=None, repr=False)

    def select_rows(self, inputs: dict, rows) -> dict:
        """The inputs restricted to rows ``rows`` of X (and of any per-row scales)."""
        return {k: (v[rows] if k in self.row_inputs else v) for k, v in inputs.items()}

    def inputs(self, M: int, N: int, K: int, rng: np.random.Generator, **params) -> dict:
        M = check_int("M", M, min_value=1)
        N = check_int("N", N, min_value=1)
        K = check_int("K", K, min_value=1)
        # Refuse before allocating: every operand's elements must fit the kernels' 32-bit sizes.
        for name, n in (("M*K (x)", M * K), ("N*K (w)", N * K), ("M*N (the output)", M * N)):
            if n > MAX_ELEMENTS:
                raise ValueError(f"M={M}, N={N}, K={K} is too large: {name} = {n} elements, more than the "
                                 f"{MAX_ELEMENTS} (2**31 - 1) the kernels' 32-bit sizes allow; use smaller shapes")
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator (np.random.default_rng(seed)); "
                            f"got {type(rng).__name__}")
        unknown = sorted(set(params) - set(self.params))
        if unknown:
            known = ", ".join(repr(k) for k in self.params) or "none"
            raise TypeError(f"unknown parameter {unknown[0]!r} for {self.fmt}; known: {known}")
        p = {**self.params, **params}
        mult = self.k_multiple(**p)
        if K % mult:
            raise ValueError(f"K={K} must be a multiple of {mult} for {self.fmt} with {p}")
        return self.make_inputs(M, N, K, rng, **p)


def random_normal(rng: np.random.Generator, shape, dtype, scale: float = 1.0) -> np.ndarray:
    """Fresh Gaussian data in ``dtype``; a draw that happens to contain an exact zero is fine,
    an all-zero tensor is impossible."""
    return (rng.standard_normal(shape, dtype=np.float32) * np.float32(scale)).astype(dtype)


# --------------------------------------------------------------------------
# fp16 × fp16 -> fp16, fp32 accumulation (the baseline every format is compared with).
# --------------------------------------------------------------------------


def _fp16_inputs(M, N, K, rng):
    # W scaled by 1/sqrt(K) keeps |Y| near 1 for any K: far from fp16 overflow,
    # and away from the subnormal range where fp16 loses relative precision.
    return {
        "x": random_normal(rng, (M, K), np.float16),
        "w": random_normal(rng, (N, K), np.float16, 1.0 / np.sqrt(K)),
    }


def _fp16_reference(inp):
    return inp["x"].astype(np.float64) @ inp["w"].astype(np.float64).T


PROBLEMS: dict[str, Problem] = {}

#: The most elements any operand of a problem may have (the kernels take int32 sizes).
MAX_ELEMENTS = 2**31 - 1


def add(problem: Problem) -> Problem:
    PROBLEMS[problem.fmt] = problem
    return problem


add(Problem(
    fmt="fp16",
    description="Y = X·Wᵀ, X [M,K] fp16, W [N,K] fp16, fp32 accumulation, Y [M,N] fp16",
    make_inputs=_fp16_inputs,
    reference=_fp16_reference,
    # fp16 output rounding is 2^-11 relative; fp32 accumulation adds far less.
    tol=2.0**-10,
    norm_tol=1e-3,
))


# --------------------------------------------------------------------------
# Weight-only quantization: int4 / int8 weights with fp16 group scales, fp16 activations.
# --------------------------------------------------------------------------


def _weights(N, K, rng):
    # N(0, 1/K): the scale of a trained layer's weights, so |Y| stays near |X|.
    return rng.standard_normal((N, K), dtype=np.float32) / np.float32(np.sqrt(K))


def _w4a16_inputs(M, N, K, rng, group_size=128, zeros=False):
    from . import formats

    if not isinstance(zeros, (bool, np.bool_)):
        raise TypeError(f"zeros must be a bool (asymmetric int4 with zero points); got {type(zeros).__name__} {zeros!r}")

    qt = formats.quantize_int(_weights(N, K, rng), bits=4, group_size=group_size, symmetric=not zeros)
    return {
        "x": random_normal(rng, (M, K), np.float16),
        "qweight": formats.pack_int4(qt.q),
        "scales": qt.scales,
        "zeros": qt.zeros,
    }


def group_size_of(K: int, scales) -> int | None:
    """The group size a scale tensor implies (None: one scale per row, per-channel)."""
    G = scales.shape[1]
    return None if G == 1 else K // G


def dequantized_w4(inp) -> np.ndarray:
    """float64 weights [N, K] exactly as stored: (q - z) * s."""
    from . import formats

    q = formats.unpack_int4(inp["qweight"])
    K = q.shape[1]
    qt = formats.IntQuantized(q=q, scales=inp["scales"], zeros=inp["zeros"], bits=4,
                              group_size=group_size_of(K, inp["scales"]))
    return formats.dequantize_int(qt).astype(np.float64)


def _w4a16_reference(inp):
    return inp["x"].astype(np.float64) @ dequantized_w4(inp).T


add(Problem(
    fmt="w4a16",
    description="Y = X·deq(W)ᵀ: X [M,K] fp16; W int4 packed [N,K/2] uint8 (even k in the low nibble), "
                "fp16 scales [N,K/g], optional uint8 zero points [N,K/g]; fp32 accumulation; Y fp16",
    make_inputs=_w4a16_inputs,
    reference=_w4a16_reference,
    # The kernels round each dequantized weight (q - z)·s to fp16 (2^-11) and may
    # form short partial sums of products in fp16 before the fp32 accumulation.
    tol=2.0**-9,
    norm_tol=2e-3,
    params={"group_size": 128, "zeros": False},
    k_multiple=lambda group_size=128, zeros=False: group_size or 2,
))


def _w8a16_inputs(M, N, K, rng):
    from . import formats

    qt = formats.quantize_int(_weights(N, K, rng), bits=8, group_size=None, symmetric=True)
    return {"x": random_normal(rng, (M, K), np.float16), "qweight": qt.q, "scales": qt.scales}


def _w8a16_reference(inp):
    w = inp["qweight"].astype(np.float64) * inp["scales"].astype(np.float64)
    return inp["x"].astype(np.float64) @ w.T


add(Problem(
    fmt="w8a16",
    description="Y = X·deq(W)ᵀ: X [M,K] fp16; W int8 [N,K] symmetric (-127..127), fp16 per-channel "
                "scales [N,1]; fp32 accumulation; Y fp16",
    make_inputs=_w8a16_inputs,
    reference=_w8a16_reference,
    tol=2.0**-9,
    norm_tol=2e-3,
))


# --------------------------------------------------------------------------
# int8 activations: A8W8 (int8 x int8 -> int32) and W4A8 (int4 weights, int8 MMA).
# --------------------------------------------------------------------------


def random_int8(rng: np.random.Generator, shape) -> np.ndarray:
    """Uniform int8 over the whole range, with -128 and 127 both present: the two
    values where a sign-extension or saturation mistake shows."""
    a = rng.integers(-128, 128, size=shape, dtype=np.int8)
    if a.size >= 2:
        flat = a.reshape(-1)
        i, j = rng.choice(flat.size, size=2, replace=False)
        flat[i], flat[j] = -128, 127
    return a


def _act_scales(rng, M):
    # About 1/74 (74 is the rms of a uniform int8), so x_q·x_scale has unit rms.
    return (rng.uniform(0.5, 1.0, size=(M, 1)) / 74.0).astype(np.float16)


def _a8w8_inputs(M, N, K, rng):
    return {
        "x": random_int8(rng, (M, K)),
        "x_scale": _act_scales(rng, M),
        "w": random_int8(rng, (N, K)),
        # 1/(74·sqrt(K)) keeps |Y| near 1 for any K.
        "w_scale": (rng.uniform(0.5, 1.0, size=(N, 1)) / (74.0 * np.sqrt(K))).astype(np.float16),
    }


def int8_product(x, w) -> np.ndarray:
    """The exact integer product x·wᵀ of int8 matrices, as float64. Exact, not approximate:
    every product is at most 2**14 in magnitude and every sum stays far below 2**53, so
    float64 BLAS rounds nothing (and is ~100x faster than numpy's integer matmul)."""
    return x.astype(np.float64) @ w.astype(np.float64).T


def _a8w8_reference(inp):
    return (int8_product(inp["x"], inp["w"]) * inp["x_scale"].astype(np.float64)
            * inp["w_scale"].astype(np.float64).T)


add(Problem(
    fmt="a8w8",
    description="Y = (Xq·Wqᵀ)·sx·swᵀ: Xq [M,K] int8 with fp16 per-token scales sx [M,1]; Wq [N,K] int8 with "
                "fp16 per-channel scales sw [N,1]; exact int32 accumulation, fp32 epilogue, Y fp16",
    make_inputs=_a8w8_inputs,
    reference=_a8w8_reference,
    # The integer sum is exact; the epilogue rounds twice in fp32 and once to fp16.
    tol=2.0**-10,
    norm_tol=1e-3,
    row_inputs=("x", "x_scale"),
))


def _w4a8_inputs(M, N, K, rng, group_size=128):
    from . import formats

    qt = formats.quantize_int(_weights(N, K, rng), bits=4, group_size=group_size, symmetric=True)
    return {"x": random_int8(rng, (M, K)), "x_scale": _act_scales(rng, M),
            "qweight": formats.pack_int4(qt.q), "scales": qt.scales}


def _w4a8_reference(inp):
    w = dequantized_w4({**inp, "zeros": None})
    return (inp["x"].astype(np.float64) * inp["x_scale"].astype(np.float64)) @ w.T


add(Problem(
    fmt="w4a8",
    description="Y = (Xq·sx)·deq(W)ᵀ: Xq [M,K] int8 with fp16 per-token scales sx [M,1]; W symmetric int4 "
                "packed [N,K/2] uint8 (even k in the low nibble, value q-8) with fp16 group scales [N,K/g]; "
                "int32 sums per group, fp32 across groups; Y fp16",
    make_inputs=_w4a8_inputs,
    reference=_w4a8_reference,
    # Integer sums are exact within a group; each group's sum is scaled in fp32 (one
    # rounding per group) and the total rounded to fp16.
    tol=2.0**-10,
    norm_tol=1e-3,
    params={"group_size": 128},
    k_multiple=lambda group_size=128: group_size or 2,
    row_inputs=("x", "x_scale"),
))


# --------------------------------------------------------------------------
# FP8: e4m3 activations and weights (codes as uint8), fp32 per-token / per-channel scales.
# --------------------------------------------------------------------------


def random_e4m3(rng: np.random.Generator, shape) -> np.ndarray:
    """e4m3 codes of N(0, 1) values (no NaN code), with ±448 (0x7E, 0xFE) and the smallest
    subnormal (0x01) present: the codes where a decoder's exponent or sign handling shows."""
    from . import formats

    c = formats.encode_e4m3(rng.standard_normal(shape, dtype=np.float32))
    if c.size >= 3:
        flat = c.reshape(-1)
        i, j, k = rng.choice(flat.size, size=3, replace=False)
        flat[i], flat[j], flat[k] = 0x7E, 0xFE, 0x01
    return c


def _fp8_inputs(M, N, K, rng):
    return {
        "x": random_e4m3(rng, (M, K)),
        "x_scale": rng.uniform(0.5, 1.0, size=(M, 1)).astype(np.float32),
        "w": random_e4m3(rng, (N, K)),
        # 1/sqrt(K) keeps |Y| near 1 for any K (e4m3 of N(0, 1) has unit rms).
        "w_scale": (rng.uniform(0.5, 1.0, size=(N, 1)) / np.sqrt(K)).astype(np.float32),
    }


def _fp8_reference(inp):
    from . import formats

    x = formats.decode_e4m3(inp["x"]).astype(np.float64)
    w = formats.decode_e4m3(inp["w"]).astype(np.float64)
    return (x @ w.T) * inp["x_scale"].astype(np.float64) * inp["w_scale"].astype(np.float64).T


def _fp8_largest_product(inp):
    from . import formats

    x = np.abs(formats.decode_e4m3(inp["x"]).astype(np.float64)).max(axis=1, keepdims=True)
    w = np.abs(formats.decode_e4m3(inp["w"]).astype(np.float64)).max(axis=1, keepdims=True)
    return (x * inp["x_scale"].astype(np.float64)) @ (w * inp["w_scale"].astype(np.float64)).T


add(Problem(
    fmt="fp8",
    description="Y = (Xq·Wqᵀ)·sx·swᵀ: Xq [M,K] and Wq [N,K] float8_e4m3fn codes (uint8); fp32 per-token "
                "scales sx [M,1] and per-channel sw [N,1] (per-tensor: all equal); fp32 accumulation; Y fp16",
    make_inputs=_fp8_inputs,
    reference=_fp8_reference,
    # Products of two e4m3 values are exact in fp32; the sums are not (Hopper's fp8 Tensor
    # Cores also keep fewer bits than fp32 while accumulating), then fp16 output rounding.
    tol=2.0**-9,
    norm_tol=2e-3,
    row_inputs=("x", "x_scale"),
    largest_product=_fp8_largest_product,
))


# --------------------------------------------------------------------------
# Block-scaled formats: MXFP8, MXFP4 (E8M0 scale per 32 k) and NVFP4 (E4M3 scale per 16 k,
# fp32 per tensor). Both operands are block-scaled, the layout of labkernels.formats.
# --------------------------------------------------------------------------

#: block-scale exponents are drawn from this many binades either side of a base: 7 binades
#: per operand, so a kernel that applies a block's scale to the wrong block, or not at all,
#: lands far off the reference
SCALE_SPREAD = 3
#: rms of 2**a for a uniform over -SCALE_SPREAD..SCALE_SPREAD (the spread's effect on |Y|)
_SPREAD_RMS = float(np.sqrt(np.mean(4.0 ** np.arange(-SCALE_SPREAD, SCALE_SPREAD + 1))))
_RMS = {"e4m3": 1.0, "e2m1": float(np.sqrt(np.mean(np.array([0, .5, 1, 1.5, 2, 3, 4, 6]) ** 2)))}


def _base_exp(elem: str, K: int = 1) -> int:
    """The scale exponent that gives an operand's values an rms near 1/sqrt(K) (1 for X), so
    |Y| stays near 1 for any K."""
    return -int(round(np.log2(_RMS[elem] * _SPREAD_RMS * np.sqrt(K))))


def _e8m0_codes(rng, shape, base: int) -> np.ndarray:
    return (127 + base + rng.integers(-SCALE_SPREAD, SCALE_SPREAD + 1, size=shape)).astype(np.uint8)


def _e4m3_scale_codes(rng, shape) -> np.ndarray:
    """E4M3 block scales over 2**-3 .. 2**3 with any mantissa, as NVFP4's recipe makes them."""
    e = rng.integers(7 - SCALE_SPREAD, 7 + SCALE_SPREAD + 1, size=shape)
    return ((e << 3) | rng.integers(0, 8, size=shape)).astype(np.uint8)


def random_fp4(rng: np.random.Generator, shape) -> np.ndarray:
    """Packed E2M1 codes (``shape[-1]`` bytes hold ``2*shape[-1]`` elements), every code equally
    likely: ±6 (the saturation value), ±0 and the subnormal ±0.5 all appear."""
    return rng.integers(0, 256, size=shape, dtype=np.uint8)


def _special_blocks(inp: dict, rng, *, block: int, per_byte: int, max_code: int, small_scale: int):
    """One all-zero block in X (scale code 0, what the quantizers write for a zero amax; only
    where a row has more than one block) and
    one block of W at its format's ±max (under W's smallest scale, so |Y| stays in fp16's
    range): where a decoder's edge cases show."""
    x, xs, w, ws = inp["x"], inp["x_scales"], inp["w"], inp["w_scales"]
    if xs.shape[1] > 1:  # never a whole row of zeros
        m, kb = rng.integers(x.shape[0]), rng.integers(xs.shape[1])
        x[m, kb * block // per_byte:(kb + 1) * block // per_byte] = 0
        xs[m, kb] = 0
    n, kb = rng.integers(w.shape[0]), rng.integers(ws.shape[1])
    run = w[n, kb * block // per_byte:(kb + 1) * block // per_byte]
    run[: len(run) // 2] = max_code
    run[len(run) // 2:] = max_code | (0x88 if per_byte == 2 else 0x80)
    ws[n, kb] = small_scale


def _mxfp8_inputs(M, N, K, rng):
    bw = _base_exp("e4m3", K)
    inp = {
        "x": random_e4m3(rng, (M, K)),
        "x_scales": _e8m0_codes(rng, (M, K // 32), _base_exp("e4m3")),
        "w": random_e4m3(rng, (N, K)),
        "w_scales": _e8m0_codes(rng, (N, K // 32), bw),
    }
    # ±448 is exercised by W's max block. X's own ±448 (from random_e4m3) meeting it would make
    # products of 448² that cancel to a small sum, below what Hopper's fp8 Tensor Cores resolve
    # (their accumulator keeps ~14 bits of the largest product): X's ±448 become ±1.
    x = inp["x"]
    big = (x & 0x7F) == 0x7E
    x[big] = (x[big] & 0x80) | 0x38
    _special_blocks(inp, rng, block=32, per_byte=1, max_code=0x7E, small_scale=127 + bw - 2 * SCALE_SPREAD)
    return inp


def _mxfp4_inputs(M, N, K, rng):
    bw = _base_exp("e2m1", K)
    inp = {
        "x": random_fp4(rng, (M, K // 2)),
        "x_scales": _e8m0_codes(rng, (M, K // 32), _base_exp("e2m1")),
        "w": random_fp4(rng, (N, K // 2)),
        "w_scales": _e8m0_codes(rng, (N, K // 32), bw),
    }
    _special_blocks(inp, rng, block=32, per_byte=2, max_code=0x77, small_scale=127 + bw - SCALE_SPREAD)
    return inp


def _nvfp4_inputs(M, N, K, rng):
    # the global scales carry the base exponent; the E4M3 block scales the spread
    gx, gw = (2.0 ** _base_exp("e2m1", k) for k in (1, K))
    inp = {
        "x": random_fp4(rng, (M, K // 2)),
        "x_scales": _e4m3_scale_codes(rng, (M, K // 16)),
        "x_global": (rng.uniform(0.75, 1.5, size=(1,)) * gx).astype(np.float32),
        "w": random_fp4(rng, (N, K // 2)),
        "w_scales": _e4m3_scale_codes(rng, (N, K // 16)),
        "w_global": (rng.uniform(0.75, 1.5, size=(1,)) * gw).astype(np.float32),
    }
    _special_blocks(inp, rng, block=16, per_byte=2, max_code=0x77, small_scale=(7 - SCALE_SPREAD) << 3)
    return inp


def _dequantized(fmt, inp):
    """X and W as float64 values."""
    from . import formats

    if fmt == "nvfp4":
        dq = [formats.dequantize_nvfp4(formats.NVFP4Quantized(inp[d], inp[s], np.float32(inp[g][0])))
              for d, s, g in (("x", "x_scales", "x_global"), ("w", "w_scales", "w_global"))]
    else:
        dq = [formats.dequantize_mx(formats.MXQuantized(inp[d], inp[s], fmt))
              for d, s in (("x", "x_scales"), ("w", "w_scales"))]
    return dq[0].astype(np.float64), dq[1].astype(np.float64)


def _mx_reference(fmt):
    def reference(inp):
        x, w = _dequantized(fmt, inp)
        return x @ w.T
    return reference


def _mx_largest_product(fmt):
    def largest(inp):
        x, w = _dequantized(fmt, inp)
        return np.abs(x).max(axis=1, keepdims=True) @ np.abs(w).max(axis=1, keepdims=True).T
    return largest


for _fmt, _make, _block, _desc in (
    ("mxfp8_e4m3", _mxfp8_inputs, 32,
     "Y = deq(X)·deq(W)ᵀ, MXFP8: X [M,K] and W [N,K] e4m3 codes (uint8), E8M0 scales x_scales [M,K/32] and "
     "w_scales [N,K/32] (uint8, value 2**(code-127)); fp32 accumulation; Y fp16"),
    ("mxfp4", _mxfp4_inputs, 32,
     "Y = deq(X)·deq(W)ᵀ, MXFP4: X [M,K/2] and W [N,K/2] packed e2m1 (uint8, even k in the low nibble), "
     "E8M0 scales x_scales [M,K/32] and w_scales [N,K/32]; fp32 accumulation; Y fp16"),
    ("nvfp4", _nvfp4_inputs, 16,
     "Y = deq(X)·deq(W)ᵀ, NVFP4: X [M,K/2] and W [N,K/2] packed e2m1, E4M3 scales x_scales [M,K/16] and "
     "w_scales [N,K/16] (uint8 codes), fp32 per-tensor x_global [1] and w_global [1]; fp32 accumulation; Y fp16"),
):
    add(Problem(
        fmt=_fmt.replace("_e4m3", ""),
        description=_desc,
        make_inputs=_make,
        reference=_mx_reference(_fmt),
        # Each block's products are exact in fp32 (a few significand bits times a power-of-two
        # or 4-bit scale); the sums round in fp32 (and in Hopper's narrower fp8 accumulator
        # within a block), then once to fp16.
        tol=2.0**-9,
        norm_tol=2e-3,
        k_multiple=(lambda b=_block: (lambda **p: b))(),
        row_inputs=("x", "x_scales"),
        largest_product=_mx_largest_product(_fmt),
    ))


def get(fmt: str) -> Problem:
    return PROBLEMS[check_choice("format", fmt, PROBLEMS)]
