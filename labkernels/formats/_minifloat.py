"""Shared machinery for the small floating-point codecs (private).

One routine rounds float16/float32/float64 values to any small binary format
``1 sign bit | ebits exponent bits | mbits mantissa bits`` with
round-to-nearest-even, directly from the bits of the input (no intermediate
rounding, so a float64 input is rounded once, from its exact value). Decoding
is a lookup in a table built from the format's definition.

How the rounding works: see :func:`encode_chunk` -- round-half-even on the
input's bit pattern in the target's normal range, and a floating-point addition
of a power of two whose ulp is the target's subnormal quantum below it. Both
are exact single roundings of the input value. Magnitude codes above the
largest finite code overflowed. (Robust to flush-to-zero/denormals-are-zero
FPU modes: the only subnormal operands are float32/float64 subnormal inputs,
which round to 0 in every target format anyway, and the sign is taken from
the bits.)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import check_array

FLOAT_DTYPES = (np.float16, np.float32, np.float64)

# Elements processed per pass: big enough to amortise NumPy's per-call cost,
# small enough that the temporaries stay in L2 (16 Ki elements measured best).
CHUNK = 1 << 14


@dataclass(frozen=True)
class Minifloat:
    """A small binary floating-point format (sign, exponent, mantissa)."""

    name: str
    ebits: int
    mbits: int
    bias: int
    max_code: int          # magnitude code of the largest finite value
    nan_code: int | None   # magnitude code written for NaN (None: format has no NaN)
    inf_code: int | None   # magnitude code of infinity (None: no infinities)

    @property
    def nbits(self) -> int:
        return 1 + self.ebits + self.mbits

    @property
    def emin(self) -> int:
        """Exponent of the smallest normal value."""
        return 1 - self.bias

    def special(self, mag: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(is_nan, is_inf) masks for magnitude codes."""
        is_nan = np.zeros(mag.shape, bool)
        is_inf = np.zeros(mag.shape, bool)
        if self.inf_code is not None:
            # IEEE-like: all-ones exponent is inf (mantissa 0) or NaN.
            top = ((1 << self.ebits) - 1) << self.mbits
            is_inf = mag == top
            is_nan = mag > top
        elif self.nan_code is not None:
            is_nan = mag == self.nan_code
        return is_nan, is_inf

    def table(self) -> np.ndarray:
        """float32 value of every code (``2**nbits`` entries), NaN carrying the code's sign."""
        codes = np.arange(1 << self.nbits, dtype=np.int64)
        sign = codes >> (self.ebits + self.mbits)
        mag = codes & ((1 << (self.ebits + self.mbits)) - 1)
        ef = mag >> self.mbits
        mf = mag & ((1 << self.mbits) - 1)
        sig = np.where(ef == 0, mf, mf + (1 << self.mbits)).astype(np.float64)
        val = np.ldexp(sig, (np.maximum(ef, 1) - self.bias - self.mbits).astype(np.int32))
        is_nan, is_inf = self.special(mag)
        val = np.where(is_inf, np.inf, val)
        val = np.where(is_nan, np.nan, val)
        val = np.where(sign == 1, -val, val)
        return val.astype(np.float32)


def check_float_input(name: str, x, *, ndim_min: int = 0, allow_empty: bool = True):
    """``x`` must be a C-contiguous float16/float32/float64 NumPy array."""
    check_array(name, x, dtype=FLOAT_DTYPES, contiguous=True, allow_empty=allow_empty)
    require_numpy(name, x)
    if x.ndim < ndim_min:
        raise ValueError(f"{name} must have at least {ndim_min} dimension(s); got shape {tuple(x.shape)}")
    return np.asarray(x)


def check_codes(name: str, codes, max_code: int = 255):
    """``codes`` must be a C-contiguous uint8 NumPy array with values <= max_code."""
    check_array(name, codes, dtype=np.uint8, contiguous=True, allow_empty=True)
    require_numpy(name, codes)
    codes = np.asarray(codes)
    if max_code < 255 and codes.size and int(codes.max()) > max_code:
        raise ValueError(f"{name} holds values above {max_code}; got max {int(codes.max())}")
    return codes


def check_saturate(saturate) -> bool:
    if not isinstance(saturate, (bool, np.bool_)):
        raise TypeError(f"saturate must be a bool; got {type(saturate).__name__} {saturate!r}")
    return bool(saturate)


# Input float layouts: (float dtype, same-size unsigned int dtype, fraction bits, exponent bias)
_LAYOUT = {
    np.dtype(np.float32): (np.float32, np.uint32, 23, 127),
    np.dtype(np.float64): (np.float64, np.uint64, 52, 1023),
}


def encode_chunk(fmt: Minifloat, x: np.ndarray, saturate: bool) -> np.ndarray:
    """Codes (uint8) of a 1-D float32/float64 array; NaN -> fmt.nan_code (caller handles no-NaN formats).

    Two exact roundings, selected per element:

    * target-normal range (``|x| >= 2**emin``): round-half-even on the input's
      bit pattern, dropping all but ``m`` fraction bits (a carry out of the
      fraction correctly bumps the exponent); the code is the kept bits minus
      the exponent re-bias.
    * target-subnormal range: ``|x| + C`` with ``C = 2**(emin - m + F)``, whose
      ulp is the target's subnormal quantum, so the (round-to-nearest-even)
      floating-point addition rounds ``|x|`` to a multiple of that quantum;
      the low bits of the sum are the code (``2**m`` = smallest normal, right).
    """
    fdt, udt, F, bias = _LAYOUT[x.dtype]
    nb = 8 * np.dtype(udt).itemsize
    m, emin = fmt.mbits, fmt.emin
    sh = F - m
    b = x.view(udt)
    a = b & udt((1 << (nb - 1)) - 1)                       # |x| bits
    # normal range: round the bit pattern to m fraction bits
    rn = (a + udt((1 << (sh - 1)) - 1) + ((a >> udt(sh)) & udt(1))) >> udt(sh)
    rn -= udt((bias - fmt.bias) << m)                          # re-bias; wraps for small |x| (unused there)
    # subnormal range: let the FPU round |x| to a multiple of the quantum
    c = fdt(2.0 ** (emin - m + F))
    rs = (a.view(fdt) + c).view(udt) - c.view(udt)
    small = a < udt((emin + bias) << F)                        # |x| < 2**emin
    mag = np.where(small, rs, rn)
    overflow = mag > udt(fmt.max_code)                         # includes +-inf and NaN inputs
    if saturate or (fmt.inf_code is None and fmt.nan_code is None):
        ovf = fmt.max_code
    elif fmt.inf_code is not None:
        ovf = fmt.inf_code
    else:
        ovf = fmt.nan_code
    mag = np.where(overflow, udt(ovf), mag)
    if fmt.nan_code is not None:
        inf_bits = ((1 << (nb - 1 - F)) - 1) << F
        mag = np.where(a > udt(inf_bits), udt(fmt.nan_code), mag)
    sign = (b >> udt(nb - fmt.nbits)) & udt(1 << (fmt.nbits - 1))
    return (mag | sign).astype(np.uint8)


def encode(fmt: Minifloat, x: np.ndarray, saturate: bool) -> np.ndarray:
    """Round a validated float16/32/64 array to ``fmt`` codes (uint8, same shape)."""
    x = np.asarray(x)
    if x.dtype == np.float16:
        x = x.astype(np.float32)  # exact
    out = np.empty(x.shape, np.uint8)
    flat = x.reshape(-1)
    oflat = out.reshape(-1)
    for start in range(0, flat.size, CHUNK):
        oflat[start:start + CHUNK] = encode_chunk(fmt, flat[start:start + CHUNK], saturate)
    return out


# ---------------------------------------------------------------- nibbles
def pack_nibbles(name: str, codes) -> np.ndarray:
    """[..., K] values 0..15 (uint8) -> [..., K//2]: even element low nibble, odd element high nibble."""
    codes = check_codes(name, codes, max_code=15)
    if codes.ndim < 1:
        raise ValueError(f"{name} must have at least 1 dimension; got a 0-d array")
    k = codes.shape[-1]
    if k % 2:
        raise ValueError(f"{name}.shape[-1]={k} (K) must be even to pack two 4-bit values per byte")
    return (codes[..., 0::2] | (codes[..., 1::2] << 4)).astype(np.uint8)


def unpack_nibbles(name: str, packed) -> np.ndarray:
    """Inverse of :func:`pack_nibbles`: [..., K//2] uint8 -> [..., K] uint8 in 0..15."""
    packed = check_codes(name, packed)
    if packed.ndim < 1:
        raise ValueError(f"{name} must have at least 1 dimension; got a 0-d array")
    out = np.empty(packed.shape[:-1] + (2 * packed.shape[-1],), np.uint8)
    out[..., 0::2] = packed & 0x0F
    out[..., 1::2] = packed >> 4
    return out


def require_numpy(name: str, a) -> None:
    """These are CPU reference codecs: ``a`` must be a NumPy array (not CuPy)."""
    if not isinstance(a, (np.ndarray, np.generic)):
        raise TypeError(
            f"{name} must be a NumPy array (the formats module is the CPU reference); "
            f"got {type(a).__module__}.{type(a).__name__} -- use .get() on a CuPy array"
        )
