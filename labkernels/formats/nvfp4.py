"""NVFP4: E2M1 elements, an E4M3 scale per 16 elements, and an fp32 per-tensor scale.

Layout
------
``x[..., K]`` (``K`` a multiple of 16) is cut into blocks of 16 consecutive
elements along the LAST axis. :func:`quantize_nvfp4` returns an
:class:`NVFP4Quantized` ``(data, scales, global_scale)``:

``data``
    ``uint8 [..., K // 2]``: E2M1 codes, two per byte in the
    :func:`~labkernels.formats.pack_fp4` order (element ``2j`` in the low
    nibble of byte ``j``, ``2j + 1`` in the high nibble); a block of 16 is 8
    consecutive bytes.
``scales``
    ``uint8 [..., K // 16]``: float8_e4m3fn codes (always non-negative),
    row-major: the scale of element ``(..., k)`` is ``scales[..., k // 16]``.
    (Blackwell's block-scaled MMAs want scale tiles in their own swizzled
    order; re-laying them out is the kernel's job.)
``global_scale``
    ``np.float32`` scalar, the per-tensor scale.

Value of an element: ``e2m1 * e4m3_scale * global_scale``
(:func:`dequantize_nvfp4`, float32: ``e2m1 * e4m3_scale`` is exact in float32,
then one rounding when multiplying by ``global_scale``).

Recipe
------
* ``global_scale = amax(|x|) / (448 * 6)``, rounded to float32, unless given
  (then it must be a finite positive number; it is rounded to float32). If the
  computed value is 0 (all-zero input, or an ``amax`` so small that the
  quotient underflows float32) it is 1.0, so it is never 0.
* per block: ``s_b = encode_e4m3(block_amax / (6 * global_scale))``, round to
  nearest even, saturating to 448. The ratio is computed in float64 (``6 *
  global_scale`` is exact there) and rounded once to E4M3.
* elements: ``encode_e2m1(x / (decode_e4m3(s_b) * global_scale))``, saturating
  to ±6, round to nearest even; the divisor is exact in float64 and the
  quotient is rounded once to float64 and then to E2M1 (for float16/float32
  input this equals rounding the exact quotient; for float64 input a quotient
  within 2**-53 relative of an E2M1 tie may round differently).
* a block whose scale encodes to 0 (its amax is below half the smallest E4M3
  subnormal times ``6 * global_scale``) gets all-zero element codes.

Negative zero in ``x`` is stored as -0 (code 0x8) unless the block scale is 0.
NaN or Inf in ``x`` raises ``ValueError`` (the per-tensor amax would be
meaningless and E2M1 has no NaN): ``"x contains NaN or Inf; quantizers need
finite input"``.
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from ..errors import check_array, check_divisible
from ._minifloat import CHUNK, check_codes, check_float_input, encode_chunk, pack_nibbles, unpack_nibbles
from .fp4 import _E2M1_TABLE, E2M1
from .fp8 import _E4M3_TABLE, E4M3

__all__ = ["NVFP4_BLOCK", "NVFP4Quantized", "quantize_nvfp4", "dequantize_nvfp4"]

NVFP4_BLOCK = 16


@dataclass(frozen=True, eq=False)
class NVFP4Quantized:
    """NVFP4 tensor; see :mod:`labkernels.formats.nvfp4` for the layout.

    data: uint8 [..., K // 2] packed E2M1; scales: uint8 E4M3 codes [..., K // 16];
    global_scale: np.float32.
    """

    data: np.ndarray
    scales: np.ndarray
    global_scale: np.float32

    @property
    def shape(self) -> tuple:
        """Shape of the tensor this encodes, ``[..., K]``."""
        return tuple(self.data.shape[:-1]) + (2 * self.data.shape[-1],)


def check_global_scale(global_scale) -> np.float32:
    """``global_scale`` as the float32 the recipe uses; a TypeError/ValueError for anything else."""
    if isinstance(global_scale, np.ndarray) and global_scale.ndim == 0:
        global_scale = global_scale[()]
    if isinstance(global_scale, (bool, np.bool_)) or not isinstance(global_scale, numbers.Real):
        raise TypeError(f"global_scale must be a real number or None; got {type(global_scale).__name__}")
    with np.errstate(over="ignore"):
        g = np.float32(global_scale)
    if not (np.isfinite(g) and g > 0):
        raise ValueError(f"global_scale must be finite and > 0 as a float32; got {global_scale!r}")
    return g


def global_scale_from_amax(amax) -> np.float32:
    """The recipe's per-tensor scale: ``amax / (448 * 6)`` in float64, rounded to float32; 1.0
    where that is 0 (so it is never 0)."""
    g = np.float32(float(amax) / (448.0 * 6.0))
    return g if g != 0 else np.float32(1.0)


def quantize_nvfp4(x, global_scale=None) -> NVFP4Quantized:
    """Quantize ``x[..., K]`` (float16/32/64, K % 16 == 0) to NVFP4; see the module docstring for the recipe."""
    x = check_float_input("x", x, ndim_min=1, allow_empty=False)
    k = x.shape[-1]
    check_divisible("K (x.shape[-1])", k, NVFP4_BLOCK, "the NVFP4 block size")
    if not np.isfinite(x).all():
        raise ValueError("x contains NaN or Inf; quantizers need finite input")
    if global_scale is None:
        g = global_scale_from_amax(np.abs(x).max())
    else:
        g = check_global_scale(global_scale)
    g6 = 6.0 * float(g)      # exact in float64
    g64 = float(g)

    blocks = np.asarray(x).reshape(-1, NVFP4_BLOCK)
    nblocks = blocks.shape[0]
    codes = np.empty(blocks.shape, np.uint8)
    scales = np.empty(nblocks, np.uint8)
    step = max(1, CHUNK // NVFP4_BLOCK)
    for b0 in range(0, nblocks, step):
        blk = blocks[b0:b0 + step].astype(np.float64)    # exact
        bamax = np.abs(blk).max(axis=1)
        sb = encode_chunk(E4M3, bamax / g6, True)
        scales[b0:b0 + step] = sb
        d = _E4M3_TABLE[sb].astype(np.float64) * g64      # exact
        zero = d == 0
        y = (blk / np.where(zero, 1.0, d)[:, None]).reshape(-1)
        # float64 -> float32 with round-to-odd (truncate, then set the last bit
        # if anything was lost): with 24 >= 2 + 2 bits, rounding that to E2M1
        # equals rounding the float64 quotient to E2M1 directly
        with np.errstate(over="ignore"):
            y32 = y.astype(np.float32)
        back = y32.astype(np.float64)
        bits = y32.view(np.uint32)
        bits -= (np.abs(back) > np.abs(y)).view(np.uint8)   # RNE went up: step back toward 0
        bits |= (back != y).view(np.uint8)
        c = encode_chunk(E2M1, y32, True).reshape(blk.shape)
        if zero.any():
            c[zero] = 0
        codes[b0:b0 + step] = c
    codes = codes.reshape(x.shape)
    return NVFP4Quantized(data=pack_nibbles("codes", codes),
                          scales=scales.reshape(x.shape[:-1] + (k // NVFP4_BLOCK,)),
                          global_scale=g)


def dequantize_nvfp4(q: NVFP4Quantized) -> np.ndarray:
    """``e2m1 * e4m3_scale * global_scale`` as float32 ``[..., K]``."""
    if not isinstance(q, NVFP4Quantized):
        raise TypeError(f"q must be an NVFP4Quantized (from quantize_nvfp4); got {type(q).__name__}")
    data = check_codes("q.data", q.data)
    if data.ndim < 1:
        raise ValueError("q.data must have at least 1 dimension")
    g = check_global_scale(q.global_scale)
    codes = unpack_nibbles("q.data", data)
    k = codes.shape[-1]
    check_divisible("K (q.shape[-1])", k, NVFP4_BLOCK, "the NVFP4 block size")
    nb = k // NVFP4_BLOCK
    check_array("q.scales", q.scales, dtype=np.uint8, shape=codes.shape[:-1] + (nb,))
    vals = _E2M1_TABLE[codes].reshape(codes.shape[:-1] + (nb, NVFP4_BLOCK))
    vals *= _E4M3_TABLE[q.scales][..., None]
    vals *= g
    return vals.reshape(codes.shape)
