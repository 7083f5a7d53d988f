"""OCP Microscaling (MX v1.0): MXFP8 (E4M3, E5M2) and MXFP4 (E2M1) with E8M0 block scales.

Layout
------
``x[..., K]`` is cut into blocks of ``block_size`` (32, the spec's and the
hardware's value) consecutive elements along the LAST axis; block ``b`` of a
row covers ``k`` in ``[b*32, b*32 + 32)``. :func:`quantize_mx` returns an
:class:`MXQuantized` ``(data, scales, fmt, block_size)``:

``data``
    * ``"mxfp8_e4m3"`` / ``"mxfp8_e5m2"``: ``uint8 [..., K]``, one FP8 code per
      byte (bit patterns of :mod:`labkernels.formats.fp8`), row-major.
    * ``"mxfp4"``: ``uint8 [..., K // 2]``, two E2M1 codes per byte in the
      :func:`~labkernels.formats.pack_fp4` order: element ``2j`` in the low
      nibble of byte ``j``, ``2j + 1`` in the high nibble; a block of 32 is 16
      consecutive bytes.
``scales``
    ``uint8 [..., K // 32]`` E8M0 codes, row-major: the scale of element
    ``(..., k)`` is ``scales[..., k // 32]``, value ``2**(code - 127)``;
    0xFF is NaN. (Hardware MMAs such as ``tcgen05.mma ... block_scale`` want
    the scales re-laid out in their own tiles; that is the kernel's job.)

Value of an element: ``decode(data) * 2**(scale - 127)`` (:func:`dequantize_mx`,
float32; exact, as the product of a few-bit value and a power of two).

Quantization
------------
Per block, ``amax = max |x|``; the element format has ``emax`` (largest
exponent) 8 (E4M3), 15 (E5M2), 2 (E2M1) and max 448, 57344, 6.

* ``scale_mode="floor"`` (the OCP spec's rule, microsoft/microxcaling):
  ``shared_exp = floor(log2(amax)) - emax``. Elements of the block then lie in
  ``[0, 2**(emax + 1))`` before rounding, so the largest can exceed the
  format's max (e.g. E4M3 up to 511.9 > 448) and is **saturated** to ±max.
* ``scale_mode="rceil"`` (torchao's RCEIL, NVIDIA's cuBLAS MXFP8 recipe, PTX
  ``cvt.rp.satfinite.ue8m0x2.f32`` of ``amax / max``):
  ``shared_exp = ceil(log2(amax / max_elem))``, the smallest power of two with
  ``amax / 2**shared_exp <= max_elem``; nothing saturates. It is computed
  exactly (the smallest integer ``e`` with ``amax <= max_elem * 2**e``), which
  for float32 input is what float32 arithmetic gives too.

In both modes ``shared_exp`` is clamped to the E8M0 range [-127, 127] (the
upper clamp can only bite for float64 input beyond float32's range; the
elements then saturate), and the scale code is ``shared_exp + 127``. Elements
are ``x / 2**shared_exp`` (exact) rounded to nearest **even** and saturated to
±max of the element type (microxcaling's default ``round="nearest"`` rounds
ties away from zero instead; the spec and hardware conversions use RNE).
Negative zero keeps its sign.

All-zero block: scale code 0 (``2**-127``), all element codes +0 (or -0 for
-0.0 inputs). This is what microxcaling produces (it takes ``log2`` of the
smallest normal float32 for a zero amax, then clamps ``shared_exp`` to -127)
and what torchao's RCEIL gives (``log2(0) = -inf`` clamped to -127).

NaN or ±Inf anywhere in a block: the scale is NaN (``0xFF``) and the block's
element codes are all 0 (the spec makes every element of a NaN-scaled block
NaN regardless of its bits); :func:`dequantize_mx` returns NaN for the whole
block. Other blocks are unaffected.

Inputs may be float16, float32 or float64 (float16 is widened to float32;
scaling is by powers of two, so nothing is rounded before the element
encoding). ``K`` must be a multiple of ``block_size``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import check_array, check_choice, check_divisible, check_int
from ._minifloat import CHUNK, check_codes, check_float_input, encode_chunk, pack_nibbles, unpack_nibbles
from .fp4 import _E2M1_TABLE, E2M1
from .fp8 import _E4M3_TABLE, _E5M2_TABLE, _E8M0_TABLE, E4M3, E5M2, E8M0_BIAS, E8M0_NAN

__all__ = ["MX_FORMATS", "SCALE_MODES", "MXQuantized", "quantize_mx", "dequantize_mx"]

MX_FORMATS = ("mxfp8_e4m3", "mxfp8_e5m2", "mxfp4")
SCALE_MODES = ("floor", "rceil")

# fmt -> (element format, decode table, emax of the element format, max value)
_ELEM = {
    "mxfp8_e4m3": (E4M3, _E4M3_TABLE, 8, 448.0),
    "mxfp8_e5m2": (E5M2, _E5M2_TABLE, 15, 57344.0),
    "mxfp4": (E2M1, _E2M1_TABLE, 2, 6.0),
}


@dataclass(frozen=True, eq=False)
class MXQuantized:
    """MX-quantized tensor; see :mod:`labkernels.formats.mx` for the layout.

    data: uint8 [..., K] (FP8 codes) or [..., K // 2] (packed FP4);
    scales: uint8 E8M0 codes [..., K // block_size]; fmt: one of MX_FORMATS;
    block_size: elements per scale (32).
    """

    data: np.ndarray
    scales: np.ndarray
    fmt: str
    block_size: int = 32

    @property
    def shape(self) -> tuple:
        """Shape of the tensor this encodes, ``[..., K]``."""
        k = self.data.shape[-1] * (2 if self.fmt == "mxfp4" else 1)
        return tuple(self.data.shape[:-1]) + (k,)


def _check_block_size(block_size, fmt: str) -> int:
    block_size = check_int("block_size", block_size, min_value=1)
    if fmt == "mxfp4" and block_size % 2:
        raise ValueError(f"block_size must be even for mxfp4 (two elements per byte); got {block_size}")
    return block_size


def _shared_exponent(amax: np.ndarray, emax: int, max_elem: float, mode: str) -> np.ndarray:
    """Shared exponent per block (int32), for finite non-negative ``amax``."""
    mant, ex = np.frexp(amax)               # amax = mant * 2**ex, mant in [0.5, 1)
    e = ex.astype(np.int32) - 1             # floor(log2(amax)) for amax > 0
    if mode == "floor":
        se = e - emax
    else:
        # max_elem = p * 2**emax, p in [1, 2): amax <= max_elem * 2**s  <=>  s >= e - emax + (2*mant > p)
        p = max_elem / 2.0 ** emax
        se = e - emax + (2 * mant > p).astype(np.int32)
    se = np.where(amax == 0, -E8M0_BIAS, se)
    return np.clip(se, -E8M0_BIAS, E8M0_BIAS).astype(np.int32)


def quantize_mx(x, fmt: str, block_size: int = 32, scale_mode: str = "floor") -> MXQuantized:
    """Quantize ``x[..., K]`` (float16/32/64) to an MX format with one E8M0 scale per ``block_size`` elements.

    ``fmt``: "mxfp8_e4m3", "mxfp8_e5m2" or "mxfp4"; ``scale_mode``: "floor"
    (OCP spec) or "rceil" (torchao / cuBLAS). See the module docstring.
    """
    x = check_float_input("x", x, ndim_min=1, allow_empty=False)
    fmt = check_choice("fmt", fmt, MX_FORMATS)
    scale_mode = check_choice("scale_mode", scale_mode, SCALE_MODES)
    block_size = _check_block_size(block_size, fmt)
    k = x.shape[-1]
    check_divisible("K (x.shape[-1])", k, block_size, "the MX block size")
    elem, _, emax, max_elem = _ELEM[fmt]

    work = np.float64 if x.dtype == np.float64 else np.float32
    blocks = np.asarray(x, dtype=work).reshape(-1, block_size)
    nblocks = blocks.shape[0]
    codes = np.empty(blocks.shape, np.uint8)
    scales = np.empty(nblocks, np.uint8)
    step = max(1, CHUNK // block_size)
    with np.errstate(invalid="ignore", over="ignore"):
        for b0 in range(0, nblocks, step):
            blk = blocks[b0:b0 + step]
            amax = np.abs(blk).max(axis=1)  # NaN propagates
            finite = np.isfinite(amax)
            se = _shared_exponent(np.where(finite, amax, 0), emax, max_elem, scale_mode)
            scales[b0:b0 + step] = np.where(finite, se + E8M0_BIAS, E8M0_NAN)
            # x / 2**se as a multiplication by the exact power of two 2**-se
            # (2**-127 .. 2**127 are all float32 values); exact unless the
            # product underflows far below the element grid, where it rounds to 0 anyway
            y = blk * np.ldexp(work(1.0), -se)[:, None]
            if not finite.all():
                y[~finite] = 0
            codes[b0:b0 + step] = encode_chunk(elem, y.reshape(-1), True).reshape(y.shape)
    codes = codes.reshape(x.shape)
    data = pack_nibbles("codes", codes) if fmt == "mxfp4" else codes
    return MXQuantized(data=data, scales=scales.reshape(x.shape[:-1] + (k // block_size,)),
                       fmt=fmt, block_size=block_size)


def dequantize_mx(q: MXQuantized) -> np.ndarray:
    """``decode(data) * 2**(scales - 127)`` as float32 ``[..., K]``; a NaN scale makes its whole block NaN."""
    if not isinstance(q, MXQuantized):
        raise TypeError(f"q must be an MXQuantized (from quantize_mx); got {type(q).__name__}")
    fmt = check_choice("q.fmt", q.fmt, MX_FORMATS)
    block_size = _check_block_size(q.block_size, fmt)
    data = check_codes("q.data", q.data)
    if data.ndim < 1:
        raise ValueError("q.data must have at least 1 dimension")
    _, table, _, _ = _ELEM[fmt]
    codes = unpack_nibbles("q.data", data) if fmt == "mxfp4" else data
    k = codes.shape[-1]
    check_divisible("K (q.shape[-1])", k, block_size, "the MX block size")
    nb = k // block_size
    check_array("q.scales", q.scales, dtype=np.uint8, shape=codes.shape[:-1] + (nb,))
    vals = table[codes].reshape(codes.shape[:-1] + (nb, block_size))
    with np.errstate(over="ignore"):
        vals *= _E8M0_TABLE[q.scales][..., None]
    return vals.reshape(codes.shape)
