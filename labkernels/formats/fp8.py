"""FP8 (E4M3FN, E5M2) and E8M0 codecs: NumPy reference, bit-exact.

Every code is one ``uint8``; an array of codes has the shape of the values it
encodes (row-major, so an ``[N, K]`` matrix of FP8 weights is ``N*K`` bytes,
element ``(n, k)`` at byte ``n*K + k``). The bit patterns are the ones the
hardware uses (PTX ``.e4m3`` / ``.e5m2`` / ``.ue8m0``, CUDA ``__nv_fp8_*``,
``ml_dtypes``), so a kernel can reinterpret the bytes directly.

Formats
-------
``float8_e4m3fn``   ``S EEEE MMM``, bias 7, no infinities. Finite values up to
                    ±448 (``0x7E``/``0xFE``); NaN is ``S.1111.111``
                    (``0x7F``/``0xFF``); subnormals are ``M * 2**-9``.
``float8_e5m2``     ``S EEEEE MM``, bias 15, IEEE-like: max ±57344
                    (``0x7B``/``0xFB``), ±inf ``0x7C``/``0xFC``, NaN
                    ``0x7D..0x7F`` (encoders write ``0x7E``/``0xFE``, the
                    canonical quiet NaN, with the input's sign); subnormals are
                    ``M * 2**-16``.
``float8_e8m0fnu``  ``EEEEEEEE``, unsigned, no mantissa, no zero: code ``e``
                    is ``2**(e - 127)`` for ``e`` in 0..254 (``2**-127`` ..
                    ``2**127``), ``0xFF`` is NaN. It is the MX block scale.

Encoding (``encode_e4m3``, ``encode_e5m2``)
-------------------------------------------
Inputs may be float16, float32 or float64. They are rounded *once*, from their
exact value (the bits are read directly; nothing is first rounded to float32),
to nearest with ties to even, subnormals included. Negative zero keeps its
sign (``0x80``).

* ``saturate=True`` (the default, like PTX ``cvt.rn.satfinite``): finite values
  whose rounding exceeds the largest finite value, and ±inf, become ±max
  (``0x7E``/``0xFE`` for E4M3, ``0x7B``/``0xFB`` for E5M2). NaN stays NaN.
* ``saturate=False`` (the plain ``ml_dtypes`` cast): overflow and ±inf become
  NaN with the input's sign for E4M3FN (``0x7F``/``0xFF``), ±inf for E5M2.
  "Overflow" is decided after rounding: for E4M3, 464 (the tie between 448
  and the non-existent 480) rounds to 448, anything above 464 overflows; for
  E5M2, 61440 (the tie between 57344 and 65536) rounds to inf.

NaN input encodes to ``0x7F``/``0xFF`` (E4M3) or ``0x7E``/``0xFE`` (E5M2)
with the NaN's sign bit, in both modes (this is also what ``ml_dtypes``
writes).

``ml_dtypes`` note: for float16/float32 input these encoders agree with
``x.astype(ml_dtypes.float8_*)`` bit for bit (after ``np.clip`` to ±max for
the saturating mode). For **float64** arrays, ``ml_dtypes``'s ``astype`` goes
through float32 (double rounding: e.g. ``1.0625 + 2**-40`` becomes 1.0 rather
than 1.125); these encoders round the float64 value directly, which matches
``ml_dtypes``' scalar constructor (``ml_dtypes.float8_e4m3fn(python_float)``,
or ``np.array(list_of_floats, dtype=...)``).

Decoding (``decode_e4m3``, ``decode_e5m2``, ``decode_e8m0``) returns float32
(every value of these formats is exactly representable, ``2**-127`` as a
float32 subnormal), NaN codes as NaN.

E8M0 (``encode_e8m0``, ``e8m0_from_exponent``)
----------------------------------------------
``encode_e8m0(x)`` matches the ``ml_dtypes.float8_e8m0fnu`` cast: for positive
finite ``x = m * 2**E`` (``1 <= m < 2``) the code is ``E + 127`` if
``m < 1.5`` and ``E + 128`` if ``m >= 1.5`` -- round to nearest *by value*,
ties (``m == 1.5``) upward (ml_dtypes' rounding; it is not ties-to-even on the
exponent). Two quirks of ml_dtypes at the bottom of the range are reproduced
on purpose: every ``x`` strictly between ``2**-127`` and ``2**-126`` gives code
1 (``2**-126``), not only those ``>= 1.5 * 2**-127`` (its conversion takes a
subnormal path there that rounds up), and positive values at or below
``2**-127`` (float32 and float64 subnormals included) give code 0, the
smallest scale. Results above ``2**127`` (``x >= 1.5 * 2**127``) give NaN
(0xFF), as do zero, negative values (``-0.0`` too), ±inf and NaN. The MX
quantizer does not round through this function: it builds its scales exactly
with :func:`e8m0_from_exponent`. As with FP8, float64 input is rounded directly (ml_dtypes'
float64 ``astype`` goes through float32, so it turns e.g. ``1e-300`` into NaN
because float32 flushes it to 0; its scalar constructor gives code 0 as here).
One ml_dtypes bug is *not* copied: its float64 scalar path wraps float64
values in ``[1.5 * 2**128, 2**129)`` around to code 0; here they are NaN like
every other overflow.

``e8m0_from_exponent(e)`` is the exact constructor used for MX scales:
integer ``e`` in [-127, 127] -> code ``e + 127``.
"""
from __future__ import annotations

import numpy as np

from ._minifloat import CHUNK, Minifloat, check_codes, check_float_input, check_saturate, encode

__all__ = [
    "E4M3_MAX",
    "E5M2_MAX",
    "E4M3_NAN",
    "E5M2_NAN",
    "E8M0_NAN",
    "E8M0_BIAS",
    "encode_e4m3",
    "decode_e4m3",
    "encode_e5m2",
    "decode_e5m2",
    "encode_e8m0",
    "decode_e8m0",
    "e8m0_from_exponent",
]

E4M3 = Minifloat("float8_e4m3fn", ebits=4, mbits=3, bias=7, max_code=0x7E, nan_code=0x7F, inf_code=None)
E5M2 = Minifloat("float8_e5m2", ebits=5, mbits=2, bias=15, max_code=0x7B, nan_code=0x7E, inf_code=0x7C)

E4M3_MAX = 448.0
E5M2_MAX = 57344.0
E4M3_NAN = 0x7F
E5M2_NAN = 0x7E
E8M0_NAN = 0xFF
E8M0_BIAS = 127

_E4M3_TABLE = E4M3.table()
_E5M2_TABLE = E5M2.table()
_E8M0_TABLE = np.append(np.ldexp(np.float64(1.0), np.arange(-127, 128)), np.nan).astype(np.float32)
for _t in (_E4M3_TABLE, _E5M2_TABLE, _E8M0_TABLE):
    _t.setflags(write=False)


def encode_e4m3(x, saturate: bool = True) -> np.ndarray:
    """Round ``x`` (float16/32/64) to float8_e4m3fn codes (uint8, same shape).

    Round to nearest even from the exact value; ``saturate=True`` clamps
    overflow and ±inf to ±448, ``saturate=False`` turns them into NaN
    (0x7F/0xFF) like ``ml_dtypes``. NaN -> 0x7F/0xFF.
    """
    x = check_float_input("x", x)
    return encode(E4M3, x, check_saturate(saturate))


def encode_e5m2(x, saturate: bool = True) -> np.ndarray:
    """Round ``x`` (float16/32/64) to float8_e5m2 codes (uint8, same shape).

    Round to nearest even from the exact value; ``saturate=True`` clamps
    overflow and ±inf to ±57344, ``saturate=False`` gives ±inf (0x7C/0xFC)
    like ``ml_dtypes``. NaN -> 0x7E/0xFE.
    """
    x = check_float_input("x", x)
    return encode(E5M2, x, check_saturate(saturate))


def decode_e4m3(codes) -> np.ndarray:
    """float8_e4m3fn codes (uint8) -> float32 values (0x7F/0xFF -> NaN)."""
    return _E4M3_TABLE[check_codes("codes", codes)]


def decode_e5m2(codes) -> np.ndarray:
    """float8_e5m2 codes (uint8) -> float32 values (±inf, NaN as coded)."""
    return _E5M2_TABLE[check_codes("codes", codes)]


def decode_e8m0(codes) -> np.ndarray:
    """E8M0 codes (uint8) -> float32 ``2**(code - 127)``; 0xFF -> NaN."""
    return _E8M0_TABLE[check_codes("codes", codes)]


def _e8m0_chunk(x: np.ndarray) -> np.ndarray:
    b = x.view(np.uint64)
    ef = ((b >> 52) & 0x7FF).astype(np.int64)
    half_up = ((b >> 51) & 1).astype(np.int64)      # mantissa >= 1.5
    code = ef - 1023 + 127 + half_up
    # ml_dtypes' lowest binade: anything strictly inside (2**-127, 2**-126) -> 2**-126
    code = np.where((ef == 1023 - 127) & ((b & ((1 << 52) - 1)) != 0), 1, code)
    code = np.where(ef == 0, 0, code)                # float64 subnormals: below 2**-127
    bad = (b >> 63 == 1) | (b == 0) | (ef == 0x7FF) | (code > 254)
    code = np.where(bad, E8M0_NAN, np.maximum(code, 0))
    return code.astype(np.uint8)


def _e8m0_chunk32(x: np.ndarray) -> np.ndarray:
    b = x.view(np.uint32)
    ef = ((b >> 23) & 0xFF).astype(np.int32)
    code = ef + ((b >> 22) & 1).astype(np.int32)     # E + 127, +1 when mantissa >= 1.5
    mant = b & 0x7FFFFF
    # float32 subnormals lie below 2**-126: (2**-127, 2**-126) -> 1, (0, 2**-127] -> 0
    code = np.where(ef == 0, (mant > 0x400000).astype(np.int32), code)
    bad = (b >> 31 == 1) | (b == 0) | (ef == 0xFF) | (code > 254)
    return np.where(bad, E8M0_NAN, code).astype(np.uint8)


def encode_e8m0(x) -> np.ndarray:
    """Round ``x`` (float16/32/64) to E8M0 codes (uint8), matching ``ml_dtypes.float8_e8m0fnu``.

    Nearest power of two by value with ties (mantissa exactly 1.5) rounding up;
    positive values below ``2**-127`` -> code 0; zero, negative, ±inf, NaN and
    results above ``2**127`` -> 0xFF (NaN). See the module docstring.
    """
    x = check_float_input("x", x)
    work, chunk_fn = (np.float64, _e8m0_chunk) if x.dtype == np.float64 else (np.float32, _e8m0_chunk32)
    flat = np.asarray(x, dtype=work).reshape(-1)
    out = np.empty(flat.size, np.uint8)
    for start in range(0, flat.size, CHUNK):
        out[start:start + CHUNK] = chunk_fn(flat[start:start + CHUNK])
    return out.reshape(np.shape(x))


def e8m0_from_exponent(e) -> np.ndarray:
    """Exact E8M0 code of ``2**e``: integer ``e`` (int or integer array) in [-127, 127] -> ``e + 127`` (uint8)."""
    if isinstance(e, (bool, np.bool_)):
        raise TypeError("e must be an integer or an integer array; got bool")
    arr = np.asarray(e)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"e must be an integer or an integer array; got dtype {arr.dtype.name}")
    if arr.size and (int(arr.min()) < -127 or int(arr.max()) > 127):
        raise ValueError(
            f"e must lie in [-127, 127] (the E8M0 exponent range); got min {int(arr.min())}, max {int(arr.max())}"
        )
    return (arr.astype(np.int64) + E8M0_BIAS).astype(np.uint8)
