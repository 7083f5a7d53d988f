"""labkernels.formats against ml_dtypes and against exact (Fraction) re-derivations.

The codecs never use ml_dtypes; these tests compare them with it bit for bit.
References:

* decode: every code point against ``codes.view(ml_dtypes.T).astype(float32)``;
* encode from float16/float32: ``x.astype(ml_dtypes.T)`` (clipped to ±max
  first for the saturating mode);
* encode from float64: ``np.array(x.tolist(), dtype=ml_dtypes.T)`` -- ml_dtypes'
  scalar (direct float64) conversion; its float64 ``astype`` goes through
  float32 and double-rounds, which the codecs deliberately do not;
* MX / NVFP4 / int: small pure-Python re-derivations with ``fractions.Fraction``.
"""
from __future__ import annotations

import math
import pathlib
from fractions import Fraction

import ml_dtypes
import numpy as np
import pytest

import labkernels.formats as F

E4M3 = ml_dtypes.float8_e4m3fn
E5M2 = ml_dtypes.float8_e5m2
E8M0 = ml_dtypes.float8_e8m0fnu
E2M1 = ml_dtypes.float4_e2m1fn

# name -> (encode, decode, ml_dtypes type, number of codes, max finite)
MINIFLOATS = {
    "e4m3": (F.encode_e4m3, F.decode_e4m3, E4M3, 256, 448.0),
    "e5m2": (F.encode_e5m2, F.decode_e5m2, E5M2, 256, 57344.0),
    "e2m1": (F.encode_e2m1, F.decode_e2m1, E2M1, 16, 6.0),
}


def _bits_equal(a: np.ndarray, b: np.ndarray) -> None:
    """float32 arrays equal bit for bit, NaN for NaN (NaN payloads not compared)."""
    a = np.asarray(a, np.float32)
    b = np.asarray(b, np.float32)
    assert a.shape == b.shape
    na, nb = np.isnan(a), np.isnan(b)
    np.testing.assert_array_equal(na, nb)
    np.testing.assert_array_equal(a[~na].view(np.uint32), b[~nb].view(np.uint32))


def _codes_equal(got: np.ndarray, ref_codes: np.ndarray, decode) -> None:
    """Codes equal bit for bit where the reference is not NaN; NaN exactly where the reference is NaN."""
    assert got.dtype == np.uint8 and got.shape == ref_codes.shape
    ref_nan = np.isnan(decode(ref_codes))
    got_nan = np.isnan(decode(got))
    bad = np.nonzero(ref_nan != got_nan)[0]
    assert bad.size == 0, f"NaN mismatch at {bad[:10]}"
    diff = np.nonzero((got != ref_codes) & ~ref_nan)[0]
    assert diff.size == 0, f"{diff.size} codes differ, first at {diff[:10]}: got {got[diff[:10]]}, want {ref_codes[diff[:10]]}"


def _ml(x: np.ndarray, T) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):
        return x.astype(T).view(np.uint8)


def _ml64(x: np.ndarray, T) -> np.ndarray:
    """ml_dtypes' direct (scalar) float64 conversion."""
    return np.array(x.tolist(), dtype=T).view(np.uint8)


def _grid(name: str) -> np.ndarray:
    """Sorted finite non-negative values of a format (float64)."""
    _, dec, _, n, _ = MINIFLOATS[name]
    v = dec(np.arange(n, dtype=np.uint8)).astype(np.float64)
    return np.unique(v[np.isfinite(v) & (v >= 0)])


def _probe_values(name: str, rng: np.random.Generator, n: int = 1_000_000) -> np.ndarray:
    """float32 test values: many binades (subnormals of the format and of float32, overflow),
    every representable value, exact midpoints and their float32 neighbours, specials."""
    grid = _grid(name)
    smallest, largest = grid[1], grid[-1]
    lo, hi = math.log2(smallest) - 4, math.log2(largest) + 3
    mags = np.exp2(rng.uniform(lo, hi, n)) * rng.uniform(1, 2, n)
    x = (mags * rng.choice([-1.0, 1.0], n)).astype(np.float32)
    mids = ((grid[:-1] + grid[1:]) / 2).astype(np.float32)
    assert np.all(mids.astype(np.float64) == (grid[:-1] + grid[1:]) / 2)  # midpoints are exact
    # ties just beyond max: for e4m3 464 rounds to 448 and 480 overflows; e5m2 61440 overflows
    over = np.array([largest * 1.03125, largest * 1.0625, largest * 1.09375, largest * 1.125,
                     largest * 1.5, largest * 2, 1e30, 3.4e38], np.float32)
    special = np.array([0.0, -0.0, np.inf, -np.inf, 1e-45, -1e-45, 1.17e-38, 1e-40], np.float32)
    base = np.concatenate([grid.astype(np.float32), mids, over, special])
    near = np.concatenate([np.nextafter(base, np.float32(np.inf)), np.nextafter(base, np.float32(-np.inf))])
    extra = np.concatenate([base, near]).astype(np.float32)
    return np.concatenate([x, extra, -extra])


# ------------------------------------------------------------------ code points
@pytest.mark.parametrize("name", list(MINIFLOATS))
def test_decode_every_code_matches_ml_dtypes(name):
    enc, dec, T, n, _ = MINIFLOATS[name]
    codes = np.arange(n, dtype=np.uint8)
    got = dec(codes)
    assert got.dtype == np.float32 and got.shape == (n,)
    _bits_equal(got, codes.view(T).astype(np.float32))


def test_decode_e8m0_every_code_matches_ml_dtypes():
    codes = np.arange(256, dtype=np.uint8)
    got = F.decode_e8m0(codes)
    assert got.dtype == np.float32
    _bits_equal(got, codes.view(E8M0).astype(np.float32))
    assert got[127] == 1.0 and got[0] == np.float32(2.0**-127) and np.isnan(got[255])


def test_e2m1_values_and_format_facts():
    assert F.E2M1_VALUES == (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0)
    assert F.decode_e4m3(np.array([0x7E, 0xFE], np.uint8)).tolist() == [448.0, -448.0]
    assert np.isnan(F.decode_e4m3(np.array([0x7F, 0xFF], np.uint8))).all()
    assert F.decode_e5m2(np.array([0x7B, 0x7C, 0xFC], np.uint8)).tolist() == [57344.0, np.inf, -np.inf]
    assert np.isnan(F.decode_e5m2(np.array([0x7D, 0x7E, 0x7F, 0xFD, 0xFE, 0xFF], np.uint8))).all()


@pytest.mark.parametrize("name", list(MINIFLOATS))
def test_every_representable_value_round_trips(name):
    enc, dec, T, n, _ = MINIFLOATS[name]
    codes = np.arange(n, dtype=np.uint8)
    vals = dec(codes)
    ok = ~np.isnan(vals)
    for dt in (np.float16, np.float32, np.float64):
        v = vals[ok].astype(dt)
        if dt == np.float16:  # e5m2 fits float16; e4m3/e2m1 too
            assert np.all(v.astype(np.float32) == vals[ok])
        np.testing.assert_array_equal(enc(v, saturate=False), codes[ok])
        fin = np.isfinite(vals[ok])  # saturating: +-inf -> +-max, everything else unchanged
        np.testing.assert_array_equal(enc(v, saturate=True)[fin], codes[ok][fin])


# ------------------------------------------------------------------ encode vs ml_dtypes
@pytest.mark.parametrize("name", list(MINIFLOATS))
def test_encode_float32_matches_ml_dtypes(name):
    enc, dec, T, n, mx = MINIFLOATS[name]
    rng = np.random.default_rng(1234)
    x = _probe_values(name, rng)
    nan = np.array([np.nan, -np.nan], np.float32)
    if name != "e2m1":
        x = np.concatenate([x, nan])
    _codes_equal(enc(x, saturate=False), _ml(x, T), dec)
    _codes_equal(enc(x, saturate=True), _ml(np.clip(x, -mx, mx), T), dec)
    # float16 input (exact in float32, so the same reference)
    with np.errstate(over="ignore"):
        x16 = x.astype(np.float16)
    for sat in (True, False):
        ref = _ml(np.clip(x16, -mx, mx) if sat else x16, T)
        _codes_equal(enc(x16, saturate=sat), ref, dec)


@pytest.mark.parametrize("name", list(MINIFLOATS))
def test_encode_float64_matches_ml_dtypes_direct_cast(name):
    enc, dec, T, n, mx = MINIFLOATS[name]
    rng = np.random.default_rng(99)
    grid = _grid(name)
    mids = (grid[:-1] + grid[1:]) / 2
    # values that are NOT float32-representable, right next to the ties
    eps = np.array([2.0**-40, -(2.0**-40), 2.0**-30, -(2.0**-30)])
    near_ties = (mids[:, None] * (1 + eps[None, :])).ravel()
    over = np.array([mx * (1 + 2.0**-40), mx * 1.0625 * (1 + 2.0**-45), mx * 1.0625 * (1 - 2.0**-45),
                     mx * 1.0625, mx * 1.125 * (1 - 2.0**-45), 1e300, np.inf, 5e-324, 1e-300, 0.0])
    m = 200_000
    rnd = np.exp2(rng.uniform(math.log2(grid[1]) - 4, math.log2(mx) + 2, m)) * rng.uniform(1, 2, m)
    x = np.concatenate([rnd, near_ties, over, grid])
    x = np.concatenate([x, -x])
    if name != "e2m1":
        x = np.concatenate([x, [np.nan]])
    assert x.dtype == np.float64
    _codes_equal(enc(x, saturate=False), _ml64(x, T), dec)
    _codes_equal(enc(x, saturate=True), _ml64(np.clip(x, -mx, mx), T), dec)


def test_float64_is_rounded_once_not_through_float32():
    x = np.array([1.0625 + 2.0**-40])  # just above the 1 / 1.125 tie; float32 would make it the tie
    assert F.encode_e4m3(x)[0] == 0x39  # 1.125
    assert _ml64(x, E4M3)[0] == 0x39
    assert _ml(x, E4M3)[0] == 0x38  # ml_dtypes astype double-rounds through float32
    assert F.encode_e2m1(np.array([0.25 + 2.0**-40]))[0] == 1  # 0.5, not 0
    assert F.encode_e5m2(np.array([1.125 + 2.0**-40]))[0] == F.encode_e5m2(np.array([1.25]))[0]


def test_encode_specials():
    nan = np.array([np.nan, -np.nan], np.float32)
    for sat in (True, False):
        assert F.encode_e4m3(nan, saturate=sat).tolist() == [0x7F, 0xFF]
        assert F.encode_e5m2(nan, saturate=sat).tolist() == [0x7E, 0xFE]
    inf = np.array([np.inf, -np.inf], np.float32)
    assert F.encode_e4m3(inf).tolist() == [0x7E, 0xFE]
    assert F.encode_e4m3(inf, saturate=False).tolist() == [0x7F, 0xFF]
    assert F.encode_e5m2(inf).tolist() == [0x7B, 0xFB]
    assert F.encode_e5m2(inf, saturate=False).tolist() == [0x7C, 0xFC]
    assert F.encode_e2m1(inf, saturate=False).tolist() == [0x7, 0xF]
    z = np.array([0.0, -0.0], np.float32)
    assert F.encode_e4m3(z).tolist() == [0x00, 0x80]
    assert F.encode_e5m2(z).tolist() == [0x00, 0x80]
    assert F.encode_e2m1(z).tolist() == [0x0, 0x8]
    # overflow thresholds (ties decided by round-to-nearest-even before the overflow check)
    assert F.encode_e4m3(np.array([464.0, 464.0001], np.float32), saturate=False).tolist() == [0x7E, 0x7F]
    assert F.encode_e5m2(np.array([61439.0, 61440.0], np.float32), saturate=False).tolist() == [0x7B, 0x7C]
    # subnormals
    assert F.encode_e4m3(np.array([2.0**-9, 2.0**-10, 2.0**-10 * 1.0001], np.float32)).tolist() == [1, 0, 1]
    assert F.encode_e5m2(np.array([2.0**-16, 2.0**-17, 3 * 2.0**-17], np.float32)).tolist() == [1, 0, 2]
    # e2m1 ties to even
    t = np.array([0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5.0], np.float32)
    assert F.decode_e2m1(F.encode_e2m1(t)).tolist() == [0.0, 1.0, 1.0, 2.0, 2.0, 4.0, 4.0]


def test_shapes_and_scalars_preserved():
    x = np.linspace(-500, 500, 24, dtype=np.float32).reshape(2, 3, 4)
    for enc in (F.encode_e4m3, F.encode_e5m2, F.encode_e2m1, F.encode_e8m0):
        out = enc(x)
        assert out.shape == (2, 3, 4) and out.dtype == np.uint8
    assert F.encode_e4m3(np.float32(1.0)).shape == ()
    assert F.encode_e4m3(np.zeros(0, np.float32)).shape == (0,)


# ------------------------------------------------------------------ E8M0
def test_encode_e8m0_matches_ml_dtypes():
    rng = np.random.default_rng(7)
    n = 500_000
    x = np.exp2(rng.uniform(-152, 129, n)) * rng.uniform(1, 2, n)
    e = np.arange(-149, 128, dtype=np.float64)
    ties = np.concatenate([1.5 * np.exp2(e), np.exp2(e), 1.25 * np.exp2(e), 1.75 * np.exp2(e)])
    with np.errstate(over="ignore"):
        x32 = np.concatenate([x, ties, -x[:1000]]).astype(np.float32)
    x32 = np.concatenate([x32, np.nextafter(x32, np.float32(0)), np.nextafter(x32, np.float32(np.inf)),
                          np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 3.4e38, 1e-45], np.float32)])
    ref = _ml(x32, E8M0)
    np.testing.assert_array_equal(F.encode_e8m0(x32), ref)
    np.testing.assert_array_equal(F.encode_e8m0(x32.astype(np.float64)), ref)  # float32 values, any input dtype
    with np.errstate(over="ignore"):
        x16 = x32.astype(np.float16)
    np.testing.assert_array_equal(F.encode_e8m0(x16), _ml(x16, E8M0))


def test_encode_e8m0_float64_matches_direct_cast():
    rng = np.random.default_rng(8)
    n = 100_000
    x = np.exp2(rng.uniform(-200, 200, n)) * rng.uniform(1, 2, n)
    e = np.arange(-140, 129, dtype=np.float64)
    near = np.concatenate([1.5 * np.exp2(e) * (1 - 2.0**-45), 1.5 * np.exp2(e) * (1 + 2.0**-45),
                           np.exp2(e) * (1 + 2.0**-52), np.exp2(e) * (1 - 2.0**-53)])
    x = np.concatenate([x, near, [1e-300, 5e-324, 1e300, 0.0, -1.0, np.inf, np.nan]])
    # ml_dtypes' float64 path wraps [1.5 * 2**128, 2**129) around to code 0 (a bug not copied)
    wrap = (x >= 1.5 * 2.0**128) & (x < 2.0**129)
    assert wrap.any()
    np.testing.assert_array_equal(F.encode_e8m0(x[~wrap]), _ml64(x[~wrap], E8M0))
    assert (F.encode_e8m0(x[wrap]) == 0xFF).all()


def test_e8m0_rounding_rule():
    x = np.array([1.0, 1.4999, 1.5, 0.75, 3.0, 2.0**-127, 2.0**-127 * 1.25, 2.0**-128, 2.0**127,
                  2.0**127 * 1.5, 0.0, -0.0, -2.0, np.inf, np.nan])
    want = [127, 127, 128, 127, 129, 0, 1, 0, 254, 255, 255, 255, 255, 255, 255]
    assert F.encode_e8m0(x).tolist() == want


def test_e8m0_from_exponent():
    e = np.arange(-127, 128)
    codes = F.e8m0_from_exponent(e)
    assert codes.dtype == np.uint8
    np.testing.assert_array_equal(codes, np.arange(255, dtype=np.uint8))
    np.testing.assert_array_equal(F.decode_e8m0(codes), np.exp2(e.astype(np.float64)).astype(np.float32))
    assert int(F.e8m0_from_exponent(0)) == 127
    with pytest.raises(ValueError, match="e must lie in"):
        F.e8m0_from_exponent(128)
    with pytest.raises(ValueError, match="e must lie in"):
        F.e8m0_from_exponent(np.array([-128]))
    with pytest.raises(TypeError, match="e must be an integer"):
        F.e8m0_from_exponent(1.0)
    with pytest.raises(TypeError, match="e must be an integer"):
        F.e8m0_from_exponent(True)


# ------------------------------------------------------------------ packing
def test_pack_int4_layout():
    q = np.arange(16, dtype=np.uint8).reshape(2, 8)
    p = F.pack_int4(q)
    assert p.shape == (2, 4) and p.dtype == np.uint8
    assert p[0].tolist() == [0x10, 0x32, 0x54, 0x76]
    # a little-endian uint32 word holds elements 8i..8i+7, element 8i+t in bits [4t, 4t+4)
    word = int(p[1].view("<u4")[0])
    assert [(word >> (4 * t)) & 0xF for t in range(8)] == q[1].tolist()
    np.testing.assert_array_equal(F.unpack_int4(p), q)
    np.testing.assert_array_equal(F.pack_fp4(q), p)
    np.testing.assert_array_equal(F.unpack_fp4(p), q)


def test_pack_nd_round_trip():
    rng = np.random.default_rng(3)
    q = rng.integers(0, 16, size=(3, 5, 64), dtype=np.uint8)
    p = F.pack_fp4(q)
    assert p.shape == (3, 5, 32)
    np.testing.assert_array_equal(F.unpack_fp4(p), q)
    b = rng.integers(0, 256, size=(7, 10), dtype=np.uint8)
    np.testing.assert_array_equal(F.pack_int4(F.unpack_int4(b)), b)


# ------------------------------------------------------------------ integer quantization
def _rne(fr: Fraction) -> int:
    return round(fr)  # Python rounds Fractions half to even


def test_int4_symmetric_hand_example():
    # group 0: s = 0.25 exactly (amax 1.75 = 7 * 0.25); includes ties 0.125 (0.5) and 0.375 (1.5)
    s0, s1 = 0.25, 0.125
    g0 = [1.75, -0.3, 0.125, 0.375, -0.625, 1.0, -1.75, 0.0] * 4
    g1 = [0.875, -0.5, 0.0625, -0.1875, 0.2, 0.31, -0.875, 0.7] * 4
    w = np.array([g0 + g1], np.float32)
    qt = F.quantize_int(w, bits=4, group_size=32, symmetric=True)
    assert qt.q.dtype == np.uint8 and qt.scales.dtype == np.float16 and qt.zeros is None
    assert qt.scales.tolist() == [[s0, s1]]
    want = [_rne(Fraction(float(v)) / Fraction(s)) + 8 for v, s in zip(w[0], [s0] * 32 + [s1] * 32)]
    assert qt.q[0].tolist() == want
    assert want[2] == 8 and want[3] == 10  # 0.5 -> 0 and 1.5 -> 2: half to even
    deq = F.dequantize_int(qt)
    assert deq.dtype == np.float32
    np.testing.assert_array_equal(deq[0], (np.array(want) - 8) * np.repeat([s0, s1], 32))


def test_int8_symmetric_hand_example():
    s = 2.0**-6
    vals = np.array([127 * s, -127 * s, 0.5 * s, 2.5 * s, -3.5 * s, 100.25 * s] * 6, np.float32)
    w = np.concatenate([vals, np.zeros(92, np.float32)])[None, :]  # K = 128
    qt = F.quantize_int(w, bits=8, group_size=None, symmetric=True)
    assert qt.q.dtype == np.int8 and qt.scales.shape == (1, 1) and float(qt.scales[0, 0]) == s
    want = [_rne(Fraction(float(v)) / Fraction(s)) for v in w[0]]
    assert qt.q[0].tolist() == want
    np.testing.assert_array_equal(F.dequantize_int(qt)[0], np.array(want, np.float32) * np.float32(s))


@pytest.mark.parametrize("bits", [4, 8])
def test_asymmetric_hand_example(bits):
    levels = (1 << bits) - 1
    s = 0.25 if bits == 4 else 2.0**-5
    lo = -4 * s
    g = np.array([lo, (levels - 4) * s, 0.5 * s, 1.5 * s, -2.5 * s, 3 * s, 0.0, 0.1] * 4, np.float32)
    w = np.stack([g, g[::-1] * 2]).astype(np.float32)
    qt = F.quantize_int(w, bits=bits, group_size=32, symmetric=False)
    assert qt.q.dtype == np.uint8 and qt.zeros.dtype == np.uint8 and qt.zeros.shape == (2, 1)
    assert float(qt.scales[0, 0]) == s and int(qt.zeros[0, 0]) == 4
    want = [min(max(_rne(Fraction(float(v)) / Fraction(s)) + 4, 0), levels) for v in g]
    assert qt.q[0].tolist() == want
    np.testing.assert_array_equal(F.dequantize_int(qt)[0], (np.array(want) - 4) * np.float32(s))
    assert float(qt.scales[1, 0]) == 2 * s and int(qt.zeros[1, 0]) == 4


def _scale32(w32: np.ndarray, bits: int, symmetric: bool) -> np.ndarray:
    if symmetric:
        return np.abs(w32).max(-1) / np.float32(7 if bits == 4 else 127)
    lo = np.minimum(w32.min(-1), 0)
    hi = np.maximum(w32.max(-1), 0)
    return (hi - lo) / np.float32((1 << bits) - 1)


@pytest.mark.parametrize("bits", [4, 8])
@pytest.mark.parametrize("symmetric", [True, False])
@pytest.mark.parametrize("group_size", [32, 64, 128, None])
def test_int_round_trip_error_bound(bits, symmetric, group_size):
    rng = np.random.default_rng(bits * 1000 + (group_size or 0) + symmetric)
    n, k = 16, 256
    w = (rng.standard_normal((n, k)) * np.exp2(rng.uniform(-6, 6, (n, 1)))).astype(np.float32)
    w[1] += 3.0  # an all-positive row (asymmetric zero point at 0)
    w[2, : (group_size or k)] = 0.0  # an all-zero group
    w[3, : (group_size or k)] = -1.5  # a constant group
    qt = F.quantize_int(w, bits=bits, group_size=group_size, symmetric=symmetric)
    g = group_size or k
    assert qt.scales.shape == (n, k // g) and qt.bits == bits and qt.group_size == group_size
    assert qt.symmetric == symmetric
    assert np.all(qt.scales > 0) and np.all(np.isfinite(qt.scales))
    if bits == 4:
        assert int(qt.q.max()) <= 15
    if symmetric and bits == 8:
        assert qt.q.dtype == np.int8 and int(qt.q.min()) >= -127
    deq = F.dequantize_int(qt)
    s16 = qt.scales.astype(np.float64)
    s32 = _scale32(w.reshape(n, k // g, g), bits, symmetric).astype(np.float64)
    levels = (7 if bits == 4 else 127) if symmetric else (1 << bits) - 1
    bound = s16 * (0.5 + 2.0**-20) + levels * np.maximum(s32 - s16, 0)
    bound = np.where(s32 == 0, 0, bound)  # all-zero group: exact
    err = np.abs(w.astype(np.float64) - deq).reshape(n, k // g, g).max(-1)
    assert np.all(err <= bound), (err - bound).max()
    # all-zero group: scale 1, zero point 0, exact zeros
    assert float(qt.scales[2, 0]) == 1.0
    assert np.all(deq[2, :g] == 0)
    if not symmetric:
        assert int(qt.zeros[2, 0]) == 0
    # constant group is represented (to within half a step)
    assert np.all(np.abs(deq[3, :g] + 1.5) <= float(qt.scales[3, 0]) / 2 + 1e-6)


def test_int_quantize_input_dtypes_agree():
    rng = np.random.default_rng(5)
    w = rng.standard_normal((4, 128)).astype(np.float16)
    a = F.quantize_int(w)
    b = F.quantize_int(w.astype(np.float32))
    c = F.quantize_int(w.astype(np.float64))
    for t in (b, c):
        np.testing.assert_array_equal(a.q, t.q)
        np.testing.assert_array_equal(a.scales, t.scales)


def test_int_tiny_and_large_groups():
    w = np.full((1, 32), 1e-30, np.float32)  # fp16 scale underflows -> s = 1
    qt = F.quantize_int(w, group_size=32)
    assert float(qt.scales[0, 0]) == 1.0
    with pytest.raises(ValueError, match="too large for float16"):
        F.quantize_int(np.full((1, 32), 1e6, np.float32), group_size=32)


# ------------------------------------------------------------------ MX (exact re-derivation)
ELEM = {  # fmt -> (ml_dtypes element type, emax, max)
    "mxfp8_e4m3": (E4M3, 8, 448),
    "mxfp8_e5m2": (E5M2, 15, 57344),
    "mxfp4": (E2M1, 2, 6),
}


def _floor_log2(v: Fraction) -> int:
    e = v.numerator.bit_length() - v.denominator.bit_length()
    while Fraction(2) ** e > v:
        e -= 1
    while Fraction(2) ** (e + 1) <= v:
        e += 1
    return e


def _exact_grid(T, n):
    vals = np.arange(n, dtype=np.uint8).view(T).astype(np.float64)
    codes = np.arange(n)
    keep = np.isfinite(vals) & (vals >= 0) & ~np.signbit(vals)
    return [(Fraction(float(v)), int(c)) for v, c in zip(vals[keep], codes[keep])]


def _rne_code(v: Fraction, grid, sign_bit: int, negative: bool | None = None) -> int:
    """Round |v| to the nearest grid value, ties to the even code, saturating; add the sign
    (``negative`` overrides ``v < 0``, to carry the sign of -0.0)."""
    a = abs(v)
    code = grid[-1][1]
    if a < grid[-1][0]:
        for (lo, clo), (hi, chi) in zip(grid, grid[1:]):
            if lo <= a < hi:
                mid = (lo + hi) / 2
                code = clo if a < mid else chi if a > mid else (clo if clo % 2 == 0 else chi)
                break
    if negative is None:
        negative = v < 0
    return code | (sign_bit if negative else 0)


def _mx_reference(x: np.ndarray, fmt: str, mode: str):
    T, emax, mx = ELEM[fmt]
    n = 16 if fmt == "mxfp4" else 256
    grid = _exact_grid(T, n)
    sign_bit = 0x8 if fmt == "mxfp4" else 0x80
    codes, scales = [], []
    for row in x.reshape(-1, 32):
        amax = max(abs(Fraction(float(v))) for v in row)
        if amax == 0:
            se = -127
        elif mode == "floor":
            se = _floor_log2(amax) - emax
        else:
            se = _floor_log2(amax / mx)
            while Fraction(mx) * Fraction(2) ** se < amax:
                se += 1
            while Fraction(mx) * Fraction(2) ** (se - 1) >= amax:
                se -= 1
        se = max(-127, min(127, se))
        scales.append(se + 127)
        codes += [_rne_code(Fraction(float(v)) / Fraction(2) ** se, grid, sign_bit, bool(np.signbit(v))) for v in row]
    return np.array(codes, np.uint8).reshape(x.shape), np.array(scales, np.uint8).reshape(x.shape[:-1] + (-1,))


def _mx_test_input(rng, shape):
    x = rng.standard_normal(shape) * np.exp2(rng.integers(-20, 20, shape[:-1] + (1,)))
    x = x.astype(np.float32)
    flat = x.reshape(-1, 32)
    flat[0] = 0.0  # all-zero block
    flat[1, 0] = 1.75 * 2.0**3  # amax exactly max-shaped
    flat[1, 1:] = np.linspace(-1, 1, 31)
    flat[2, 0] = 2.0**5  # amax a power of two
    flat[3, 0] = np.nextafter(np.float32(2.0**5), np.float32(0))  # just below a power of two
    flat[4] = 2.0**-140  # float32 subnormal block
    flat[5, ::2] = -0.0
    flat[5, 1::2] = 0.0
    return x


@pytest.mark.parametrize("fmt", list(ELEM))
@pytest.mark.parametrize("mode", ["floor", "rceil"])
def test_mx_matches_exact_rederivation(fmt, mode):
    rng = np.random.default_rng(11)
    x = _mx_test_input(rng, (3, 4, 64))
    q = F.quantize_mx(x, fmt, scale_mode=mode)
    want_codes, want_scales = _mx_reference(x, fmt, mode)
    np.testing.assert_array_equal(q.scales, want_scales)
    if fmt == "mxfp4":
        assert q.data.shape == (3, 4, 32)
        np.testing.assert_array_equal(F.unpack_fp4(q.data), want_codes)
    else:
        assert q.data.shape == (3, 4, 64)
        np.testing.assert_array_equal(q.data, want_codes)
    assert q.scales.shape == (3, 4, 2) and q.fmt == fmt and q.block_size == 32 and q.shape == x.shape
    # dequantize: elements (from ml_dtypes) * 2**(scale - 127)
    T = ELEM[fmt][0]
    elems = want_codes.view(T).astype(np.float64)
    ref = elems * np.exp2(np.repeat(want_scales.astype(np.float64) - 127, 32, axis=-1))
    got = F.dequantize_mx(q)
    assert got.dtype == np.float32
    _bits_equal(got, ref.astype(np.float32))
    # float64 and float16 input of the same values give the same result
    q64 = F.quantize_mx(x.astype(np.float64), fmt, scale_mode=mode)
    np.testing.assert_array_equal(q64.data, q.data)
    np.testing.assert_array_equal(q64.scales, q.scales)


@pytest.mark.parametrize(
    "fmt, amax, floor_exp, rceil_exp",
    [
        ("mxfp8_e4m3", 1.0, -8, -8),                       # power of two: 1/448 -> ceil(-8.8) = -8
        ("mxfp8_e4m3", 448.0, 0, 0),                       # amax == max: both exact
        ("mxfp8_e4m3", 449.0, 0, 1),                       # just above max: floor saturates, rceil bumps
        ("mxfp8_e4m3", float(np.nextafter(np.float32(512), np.float32(0))), 0, 1),
        ("mxfp8_e5m2", 2.0**16, 1, 1),
        ("mxfp8_e5m2", 57344.0 * 1.01, 0, 1),
        ("mxfp4", 6.0, 0, 0),
        ("mxfp4", 8.0, 1, 1),                              # power of two: 8/6 -> ceil(0.415) = 1
        ("mxfp4", float(np.nextafter(np.float32(8), np.float32(0))), 0, 1),  # just below a power of two
        ("mxfp4", 4.0, 0, 0),
        ("mxfp4", 2.0**-130, -127, -127),                  # clamped at the bottom of E8M0
    ],
)
def test_mx_floor_vs_rceil_scale(fmt, amax, floor_exp, rceil_exp):
    x = np.zeros(32, np.float32)
    x[7] = amax
    x[8] = -amax / 3
    for mode, exp in (("floor", floor_exp), ("rceil", rceil_exp)):
        q = F.quantize_mx(x, fmt, scale_mode=mode)
        assert int(q.scales[0]) == exp + 127, (mode, int(q.scales[0]) - 127)
        T, _, mx = ELEM[fmt]
        y = float(np.float32(amax)) / 2.0**exp
        assert mode == "floor" or y <= mx  # RCEIL never saturates
        want = float(np.array([min(y, mx)], dtype=T).astype(np.float64)[0]) * 2.0**exp  # saturate, then RNE
        assert float(F.dequantize_mx(q)[7]) == want


@pytest.mark.parametrize("fmt", list(ELEM))
@pytest.mark.parametrize("mode", ["floor", "rceil"])
def test_mx_zero_and_nonfinite_blocks(fmt, mode):
    x = np.ones((4, 64), np.float32)
    x[0] = 0.0
    x[1, 3] = np.nan
    x[2, 40] = np.inf
    x[3, 0] = -np.inf
    q = F.quantize_mx(x, fmt, scale_mode=mode)
    assert q.scales[0].tolist() == [0, 0]  # all-zero blocks: smallest scale 2**-127
    assert int(q.scales[1, 0]) == 0xFF and int(q.scales[2, 1]) == 0xFF and int(q.scales[3, 0]) == 0xFF
    assert int(q.scales[1, 1]) != 0xFF and int(q.scales[2, 0]) != 0xFF
    codes = F.unpack_fp4(q.data) if fmt == "mxfp4" else q.data
    assert not codes[0].any() and not codes[1, :32].any() and not codes[2, 32:].any()
    deq = F.dequantize_mx(q)
    assert np.all(deq[0] == 0)
    assert np.isnan(deq[1, :32]).all() and np.isnan(deq[2, 32:]).all() and np.isnan(deq[3, :32]).all()
    np.testing.assert_array_equal(deq[1, 32:], 1.0)
    np.testing.assert_array_equal(deq[2, :32], 1.0)


# ------------------------------------------------------------------ NVFP4 (exact re-derivation)
def _nvfp4_reference(x: np.ndarray, global_scale=None):
    e4 = _exact_grid(E4M3, 256)
    e2 = _exact_grid(E2M1, 16)
    xs = [Fraction(float(v)) for v in x.ravel()]
    neg = [bool(np.signbit(v)) for v in x.ravel()]
    if global_scale is None:
        amax = max(abs(v) for v in xs)
        g = _round_f32(amax / 2688)  # amax / (448 * 6), correctly rounded to float32
        g = g if g != 0 else np.float32(1.0)
    else:
        g = np.float32(global_scale)
    gF = Fraction(float(g))
    codes, scales = [], []
    for i in range(0, len(xs), 16):
        blk = xs[i:i + 16]
        bamax = max(abs(v) for v in blk)
        sc = _rne_code(bamax / (6 * gF), e4, 0x80)
        scales.append(sc)
        d = Fraction(float(np.array([sc], np.uint8).view(E4M3).astype(np.float64)[0])) * gF
        codes += [0 if d == 0 else _rne_code(v / d, e2, 0x8, ng) for v, ng in zip(blk, neg[i:i + 16])]
    return (np.array(codes, np.uint8).reshape(x.shape), np.array(scales, np.uint8).reshape(x.shape[:-1] + (-1,)), g)


def _round_f32(v: Fraction) -> np.float32:
    """float32 nearest to the exact value v (ties to even), chosen among neighbours by exact distance."""
    f = np.float32(float(v))
    cands = [np.nextafter(f, np.float32(-np.inf)), f, np.nextafter(f, np.float32(np.inf))]
    best = min(abs(Fraction(float(c)) - v) for c in cands)
    near = [c for c in cands if abs(Fraction(float(c)) - v) == best]
    return min(near, key=lambda c: int(np.array([c]).view(np.uint32)[0]) & 1)


def test_nvfp4_matches_exact_rederivation():
    rng = np.random.default_rng(21)
    x = (rng.standard_normal((4, 64)) * np.exp2(rng.integers(-12, 12, (4, 1)))).astype(np.float32)
    x[0, :16] = 0.0  # zero block
    x[1, :16] *= 1e-6  # block whose e4m3 scale underflows to 0 or a subnormal
    x[2, 16:32] = 6.0 * x[2, 16]  # a constant block
    x[3, 0:4] = [-0.0, 0.0, -0.0, 1e-30]  # signed zeros keep their sign
    q = F.quantize_nvfp4(x)
    codes, scales, g = _nvfp4_reference(x)
    assert isinstance(q.global_scale, np.float32) and q.global_scale == g
    np.testing.assert_array_equal(q.scales, scales)
    assert q.data.shape == (4, 32) and q.scales.shape == (4, 4) and q.shape == (4, 64)
    np.testing.assert_array_equal(F.unpack_fp4(q.data), codes)
    deq = F.dequantize_nvfp4(q)
    assert deq.dtype == np.float32
    e2 = codes.view(E2M1).astype(np.float32)
    e4 = np.repeat(scales.view(E4M3).astype(np.float32), 16, axis=-1)
    _bits_equal(deq, (e2 * e4) * np.float32(g))
    assert np.all(deq[0, :16] == 0)


@pytest.mark.parametrize("g", [0.1, 1 / 3, 0.7])
@pytest.mark.parametrize("scale_code", [0x30, 0x3B, 0x5A])
def test_nvfp4_near_ties_round_once(g, scale_code):
    """Elements within 2**-25 of an E2M1 tie: rounding x / d to float32 first would land on the tie."""
    g = np.float32(g)
    d = float(F.decode_e4m3(np.array([scale_code], np.uint8))[0]) * float(g)
    ties = np.array([0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5.0])
    base = (ties * d).astype(np.float32)
    cand = np.concatenate([base, np.nextafter(base, np.float32(np.inf)), np.nextafter(base, np.float32(0))])
    x = np.zeros(32, np.float32)
    x[0] = x[16] = np.float32(6 * d)  # block amax: its scale encodes to scale_code
    x[1:16], x[17:23] = cand[:15], cand[15:]
    x = x.reshape(1, 32)
    x[0, 23:] = -cand[:9]
    q = F.quantize_nvfp4(x, global_scale=g)
    codes, scales, _ = _nvfp4_reference(x, global_scale=g)
    assert (q.scales == scale_code).all() and (scales == scale_code).all()
    np.testing.assert_array_equal(F.unpack_fp4(q.data), codes)
    # the case is real: the double-rounding shortcut gets some of these wrong
    naive = F.encode_e2m1((x.astype(np.float64) / d).astype(np.float32))
    assert (naive != codes).any()


def test_nvfp4_block_scale_ties():
    """Block amax / (6 * global_scale) exactly on, and one float32 ulp either side of, E4M3 midpoints."""
    g = 2.0**-4
    grid = _grid("e4m3")
    mids = (grid[:-1] + grid[1:]) / 2
    amax = (mids * 6 * g).astype(np.float32)
    assert np.all(amax.astype(np.float64) == mids * 6 * g)  # exact ties
    amax = np.concatenate([amax, np.nextafter(amax, np.float32(np.inf)), np.nextafter(amax, np.float32(0))])
    x = np.zeros((amax.size, 16), np.float32)
    x[:, 3] = -amax
    x[:, 5] = amax / 3
    q = F.quantize_nvfp4(x, global_scale=g)
    codes, scales, _ = _nvfp4_reference(x, global_scale=g)
    np.testing.assert_array_equal(q.scales, scales)
    np.testing.assert_array_equal(F.unpack_fp4(q.data), codes)
    np.testing.assert_array_equal(q.scales[:, 0], _ml64(amax.astype(np.float64) / (6 * g), E4M3))


def test_nvfp4_given_global_scale_and_saturation():
    rng = np.random.default_rng(22)
    x = rng.standard_normal((2, 32)).astype(np.float32) * 100
    q = F.quantize_nvfp4(x, global_scale=0.01)  # too small: block scales saturate at 448
    codes, scales, g = _nvfp4_reference(x, global_scale=0.01)
    assert q.global_scale == np.float32(0.01)
    np.testing.assert_array_equal(q.scales, scales)
    np.testing.assert_array_equal(F.unpack_fp4(q.data), codes)
    assert (q.scales == 0x7E).any()


def test_nvfp4_float64_input_and_zero_tensor():
    rng = np.random.default_rng(23)
    x = rng.standard_normal((3, 48))
    q = F.quantize_nvfp4(x)
    codes, scales, g = _nvfp4_reference(x)
    assert q.global_scale == g
    np.testing.assert_array_equal(q.scales, scales)
    np.testing.assert_array_equal(F.unpack_fp4(q.data), codes)
    z = F.quantize_nvfp4(np.zeros((2, 16), np.float32))
    assert z.global_scale == np.float32(1.0) and not z.data.any() and not z.scales.any()
    assert np.all(F.dequantize_nvfp4(z) == 0)


# ------------------------------------------------------------------ larger inputs stay vectorised
def test_large_input_smoke():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((512, 4096)).astype(np.float32)
    qi = F.quantize_int(x, bits=4, group_size=128)
    assert F.pack_int4(qi.q).shape == (512, 2048)
    qm = F.quantize_mx(x, "mxfp4")
    qn = F.quantize_nvfp4(x)
    assert np.sqrt(np.mean((F.dequantize_mx(qm) - x) ** 2)) < 0.2
    assert np.sqrt(np.mean((F.dequantize_nvfp4(qn) - x) ** 2)) < 0.15
    assert np.sqrt(np.mean((F.dequantize_int(qi) - x) ** 2)) < 0.15


# ------------------------------------------------------------------ bad input
X = np.ones((2, 64), np.float32)


@pytest.mark.parametrize("enc", [F.encode_e4m3, F.encode_e5m2, F.encode_e2m1, F.encode_e8m0])
def test_encoders_reject_bad_input(enc):
    with pytest.raises(TypeError, match="x must have dtype"):
        enc(np.ones(4, np.int32))
    with pytest.raises(TypeError, match="x must be"):
        enc([1.0, 2.0])
    with pytest.raises(ValueError, match="x must be C-contiguous"):
        enc(X[:, ::2])
    if enc is not F.encode_e8m0:
        with pytest.raises(TypeError, match="saturate must be a bool"):
            enc(X, saturate="yes")


def test_encode_e2m1_rejects_nan():
    with pytest.raises(ValueError, match="x contains NaN"):
        F.encode_e2m1(np.array([1.0, np.nan], np.float32))
    with pytest.raises(ValueError, match="x contains NaN"):
        F.encode_e2m1(np.array([np.nan]), saturate=False)


@pytest.mark.parametrize("dec", [F.decode_e4m3, F.decode_e5m2, F.decode_e2m1, F.decode_e8m0])
def test_decoders_reject_bad_input(dec):
    with pytest.raises(TypeError, match="codes must have dtype uint8"):
        dec(np.zeros(4, np.int8))
    with pytest.raises(TypeError, match="codes must have dtype uint8"):
        dec(np.zeros(4, np.float32))
    with pytest.raises(ValueError, match="codes must be C-contiguous"):
        dec(np.zeros((4, 4), np.uint8)[:, ::2])
    if dec is F.decode_e2m1:
        with pytest.raises(ValueError, match="above 15"):
            dec(np.array([16], np.uint8))


@pytest.mark.parametrize("pack, unpack, arg", [(F.pack_int4, F.unpack_int4, "q"), (F.pack_fp4, F.unpack_fp4, "codes")])
def test_pack_reject_bad_input(pack, unpack, arg):
    with pytest.raises(ValueError, match=r"shape\[-1\]=7 \(K\) must be even"):
        pack(np.zeros((2, 7), np.uint8))
    with pytest.raises(ValueError, match=f"{arg} holds values above 15"):
        pack(np.full((2, 8), 16, np.uint8))
    with pytest.raises(TypeError, match=f"{arg} must have dtype uint8"):
        pack(np.zeros((2, 8), np.int32))
    with pytest.raises(ValueError, match=f"{arg} must be C-contiguous"):
        pack(np.zeros((2, 16), np.uint8)[:, ::2])
    with pytest.raises(TypeError, match="packed must have dtype uint8"):
        unpack(np.zeros((2, 8), np.int8))


def test_quantize_int_rejects_bad_input():
    with pytest.raises(TypeError, match="w must have dtype"):
        F.quantize_int(np.ones((2, 64), np.int32))
    with pytest.raises(ValueError, match="w must be 2-D"):
        F.quantize_int(np.ones(64, np.float32))
    with pytest.raises(ValueError, match=r"K \(w.shape\[1\]\)=96 must be a multiple of group_size \(64\)"):
        F.quantize_int(np.ones((2, 96), np.float32), group_size=64)
    with pytest.raises(ValueError, match="w must be C-contiguous"):
        F.quantize_int(np.ones((64, 4), np.float32).T)
    w = np.ones((2, 64), np.float32)
    w[1, 5] = np.nan
    with pytest.raises(ValueError, match="w contains NaN or Inf; quantizers need finite input"):
        F.quantize_int(w, group_size=32)
    w[1, 5] = np.inf
    with pytest.raises(ValueError, match="w contains NaN or Inf"):
        F.quantize_int(w, group_size=32, symmetric=False)
    with pytest.raises(ValueError, match="bits must be 4 or 8"):
        F.quantize_int(X, bits=3, group_size=32)
    with pytest.raises(TypeError, match="bits must be an integer"):
        F.quantize_int(X, bits=4.0, group_size=32)
    with pytest.raises(ValueError, match="group_size must be 32, 64, 128 or None"):
        F.quantize_int(X, group_size=16)
    with pytest.raises(TypeError, match="symmetric must be a bool"):
        F.quantize_int(X, group_size=32, symmetric="yes")


def test_dequantize_int_rejects_bad_input():
    with pytest.raises(TypeError, match="qt must be an IntQuantized"):
        F.dequantize_int((X, X))
    qt = F.quantize_int(X, group_size=32)
    bad = F.IntQuantized(q=qt.q, scales=qt.scales[:, :1].copy(), zeros=None, bits=4, group_size=32)
    with pytest.raises(ValueError, match="qt.scales must have shape"):
        F.dequantize_int(bad)
    bad = F.IntQuantized(q=qt.q.astype(np.int8), scales=qt.scales, zeros=None, bits=4, group_size=32)
    with pytest.raises(TypeError, match="qt.q must have dtype uint8"):
        F.dequantize_int(bad)


def test_quantize_mx_rejects_bad_input():
    with pytest.raises(ValueError, match="unknown fmt 'mxfp6'"):
        F.quantize_mx(X, "mxfp6")
    with pytest.raises(TypeError, match="fmt must be a string"):
        F.quantize_mx(X, 4)
    with pytest.raises(ValueError, match=r"K \(x.shape\[-1\]\)=48 must be a multiple of the MX block size \(32\)"):
        F.quantize_mx(np.ones((2, 48), np.float32), "mxfp8_e4m3")
    with pytest.raises(ValueError, match="unknown scale_mode 'ceil'"):
        F.quantize_mx(X, "mxfp4", scale_mode="ceil")
    with pytest.raises(TypeError, match="x must have dtype"):
        F.quantize_mx(np.ones((2, 64), np.int64), "mxfp4")
    with pytest.raises(ValueError, match="x must be C-contiguous"):
        F.quantize_mx(np.ones((64, 64), np.float32).T, "mxfp4")
    with pytest.raises(ValueError, match="x must have at least 1 dimension"):
        F.quantize_mx(np.float32(1.0), "mxfp4")
    with pytest.raises(ValueError, match="block_size must be even"):
        F.quantize_mx(X, "mxfp4", block_size=1)
    with pytest.raises(TypeError, match="block_size must be an integer"):
        F.quantize_mx(X, "mxfp4", block_size=32.0)
    with pytest.raises(TypeError, match="q must be an MXQuantized"):
        F.dequantize_mx(X)
    q = F.quantize_mx(X, "mxfp8_e4m3")
    with pytest.raises(ValueError, match="q.scales must have shape"):
        F.dequantize_mx(F.MXQuantized(q.data, q.scales[:, :1].copy(), q.fmt, 32))
    with pytest.raises(ValueError, match="unknown q.fmt"):
        F.dequantize_mx(F.MXQuantized(q.data, q.scales, "mxfp9", 32))


def test_quantize_nvfp4_rejects_bad_input():
    with pytest.raises(ValueError, match=r"K \(x.shape\[-1\]\)=24 must be a multiple of the NVFP4 block size \(16\)"):
        F.quantize_nvfp4(np.ones((2, 24), np.float32))
    x = np.ones((2, 32), np.float32)
    x[0, 0] = np.nan
    with pytest.raises(ValueError, match="x contains NaN or Inf; quantizers need finite input"):
        F.quantize_nvfp4(x)
    for g in (0.0, -1.0, np.nan, np.inf, 1e300):
        with pytest.raises(ValueError, match="global_scale must be finite and > 0"):
            F.quantize_nvfp4(X, global_scale=g)
    with pytest.raises(TypeError, match="global_scale must be a real number"):
        F.quantize_nvfp4(X, global_scale="1")
    with pytest.raises(TypeError, match="x must have dtype"):
        F.quantize_nvfp4(np.ones((2, 32), np.int8))
    with pytest.raises(ValueError, match="x must be C-contiguous"):
        F.quantize_nvfp4(np.ones((32, 32), np.float32).T)
    with pytest.raises(TypeError, match="q must be an NVFP4Quantized"):
        F.dequantize_nvfp4(X)
    q = F.quantize_nvfp4(X)
    with pytest.raises(ValueError, match="q.scales must have shape"):
        F.dequantize_nvfp4(F.NVFP4Quantized(q.data, q.scales[:, :1].copy(), q.global_scale))


# ------------------------------------------------------------------ package hygiene
def test_public_api_and_no_ml_dtypes_in_codecs():
    for name in F.__all__:
        assert hasattr(F, name), name
    src = pathlib.Path(F.__file__).parent
    for path in src.glob("*.py"):
        text = path.read_text()
        assert "import ml_dtypes" not in text and "from ml_dtypes" not in text, path.name
    for mod in ("intq", "fp8", "fp4", "mx", "nvfp4"):
        doc = getattr(F, mod).__doc__
        assert "ayout" in doc or "byte" in doc, mod
