"""FP4 E2M1 codec and the 4-bit packing shared by FP4 and int4: NumPy reference, bit-exact.

Format
------
``float4_e2m1fn``: ``S EE M``, bias 1, no infinities, no NaN. The 16 codes are

=====  =====  =====  =====  =====  =====  =====  =====
0x0    0x1    0x2    0x3    0x4    0x5    0x6    0x7
+0     0.5    1.0    1.5    2.0    3.0    4.0    6.0
=====  =====  =====  =====  =====  =====  =====  =====

and ``0x8 | c`` is the negative of ``c`` (``0x8`` is -0). 0.5 is the only
subnormal.

Encoding (``encode_e2m1``)
--------------------------
float16/float32/float64 input is rounded once, from its exact value, to
nearest with ties to even (0.25 -> 0, 0.75 -> 1.0, 1.25 -> 1.0, 1.75 -> 2.0,
2.5 -> 2.0, 3.5 -> 4.0, 5.0 -> 4.0); -0.0 -> 0x8. One code per ``uint8``
(values 0..15); use :func:`pack_fp4` for the two-per-byte storage.

* Overflow (anything that rounds above 6, e.g. 5.0000001 -> 6, 7 -> 6) and
  ±inf become ±6 (0x7/0xF) **whatever ``saturate`` says**: the format has
  nothing else to become. ``saturate=False`` exists to mirror the FP8 codecs
  and is exactly what ``ml_dtypes.float4_e2m1fn``'s cast does (it clamps
  overflow and ±inf to ±6 too).
* NaN raises ``ValueError`` (in both modes): the format has no NaN, and
  ``ml_dtypes``' cast maps NaN to an arbitrary zero (``+nan`` -> 0x8, i.e.
  -0, and ``-nan`` -> 0x0), which a reference codec must not imitate.

As for FP8, float64 arrays are rounded directly; ``ml_dtypes``' float64
``astype`` goes through float32 (double rounding), its scalar constructor does
not and agrees with this encoder.

``decode_e2m1`` returns float32.

Packed layout (``pack_fp4`` / ``unpack_fp4``; ``pack_int4`` in
:mod:`labkernels.formats.intq` is the same layout)
----------------------------------------------------------------------------
Codes ``c[..., K]`` (``K`` even) pack into bytes ``p[..., K // 2]``::

    p[..., j] = c[..., 2*j] | (c[..., 2*j + 1] << 4)

element ``k = 2j`` in the LOW nibble (bits 0-3) of byte ``j``, element
``2j + 1`` in the HIGH nibble (bits 4-7). A little-endian 32-bit word ``i``
of a row therefore holds elements ``8i .. 8i+7``, element ``8i + t`` in bits
``[4t, 4t + 4)``. Rows stay row-major: row ``n`` of an ``[N, K]`` matrix
starts at byte ``n * K // 2``. With PTX's paired conversion
``cvt.rn.satfinite.e2m1x2.f32 d, a, b`` (``a`` goes to the high nibble, ``b``
to the low one, per the PTX ISA) pass ``a = x[2j+1]``, ``b = x[2j]``.
"""
from __future__ import annotations

import numpy as np

from ._minifloat import Minifloat, check_codes, check_float_input, check_saturate, encode, pack_nibbles, unpack_nibbles

__all__ = ["E2M1_MAX", "E2M1_VALUES", "encode_e2m1", "decode_e2m1", "pack_fp4", "unpack_fp4"]

E2M1 = Minifloat("float4_e2m1fn", ebits=2, mbits=1, bias=1, max_code=0x7, nan_code=None, inf_code=None)

E2M1_MAX = 6.0
_E2M1_TABLE = E2M1.table()
_E2M1_TABLE.setflags(write=False)
#: the 8 non-negative values, in code order (code c -> E2M1_VALUES[c], c < 8)
E2M1_VALUES = tuple(float(v) for v in _E2M1_TABLE[:8])


def encode_e2m1(x, saturate: bool = True) -> np.ndarray:
    """Round ``x`` (float16/32/64) to E2M1 codes (uint8 in 0..15, one per byte, same shape).

    Round to nearest even; overflow and ±inf clamp to ±6 in both modes (as
    ``ml_dtypes`` does); NaN raises ``ValueError``.
    """
    x = check_float_input("x", x)
    saturate = check_saturate(saturate)
    if x.size and np.isnan(x).any():
        raise ValueError("x contains NaN; float4_e2m1 has no NaN encoding (replace or mask NaNs first)")
    return encode(E2M1, x, saturate)


def decode_e2m1(codes) -> np.ndarray:
    """E2M1 codes (uint8 in 0..15, one per byte) -> float32."""
    return _E2M1_TABLE[check_codes("codes", codes, max_code=15)]


def pack_fp4(codes) -> np.ndarray:
    """[..., K] E2M1 codes (uint8 0..15, K even) -> [..., K // 2] bytes; element 2j low nibble, 2j+1 high."""
    return pack_nibbles("codes", codes)


def unpack_fp4(packed) -> np.ndarray:
    """[..., K // 2] packed bytes -> [..., K] E2M1 codes (uint8 0..15); inverse of :func:`pack_fp4`."""
    return unpack_nibbles("packed", packed)
