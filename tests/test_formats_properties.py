"""Hypothesis properties of labkernels.formats: round trips, monotonicity, per-block error bounds."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import labkernels.formats as F

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# name -> (encode, decode, number of codes, mantissa bits, emin, max)
CODECS = {
    "e4m3": (F.encode_e4m3, F.decode_e4m3, 256, 3, -6, 448.0),
    "e5m2": (F.encode_e5m2, F.decode_e5m2, 256, 2, -14, 57344.0),
    "e2m1": (F.encode_e2m1, F.decode_e2m1, 16, 1, 0, 6.0),
}
MX = {"mxfp8_e4m3": "e4m3", "mxfp8_e5m2": "e5m2", "mxfp4": "e2m1"}
EMAX = {"e4m3": 8, "e5m2": 15, "e2m1": 2}

finite32 = st.floats(allow_nan=False, allow_infinity=False, width=32)
float_dtypes = st.sampled_from([np.float16, np.float32, np.float64])


def half_ulp(y: np.ndarray, mbits: int, emin: int) -> np.ndarray:
    """Half the spacing of the element grid at |y| (the RNE error bound below max)."""
    a = np.abs(y.astype(np.float64))
    e = np.floor(np.log2(np.where(a > 0, a, 1.0)))
    e = np.maximum(e, emin)
    return np.where(a > 0, np.exp2(e - mbits - 1), 0.0)


# ------------------------------------------------------------------ codecs
@pytest.mark.parametrize("name", list(CODECS))
@SETTINGS
@given(data=st.data(), dt=float_dtypes)
def test_decode_encode_identity(name, data, dt):
    enc, dec, n, _, _, _ = CODECS[name]
    codes = data.draw(hnp.arrays(np.uint8, st.integers(1, 64), elements=st.integers(0, n - 1)))
    vals = dec(codes)
    keep = np.isfinite(vals)  # NaN codes have many spellings; inf saturates when saturate=True
    codes, vals = codes[keep], vals[keep]
    for sat in (True, False):
        np.testing.assert_array_equal(enc(vals.astype(dt), saturate=sat), codes)


@pytest.mark.parametrize("name", list(CODECS))
@SETTINGS
@given(x=hnp.arrays(np.float32, st.integers(2, 200), elements=finite32), sat=st.booleans())
def test_encode_is_monotonic(name, x, sat):
    enc, dec, _, _, _, _ = CODECS[name]
    xs = np.sort(x)
    d = dec(enc(xs, saturate=sat)).astype(np.float64)
    fin = np.isfinite(d)  # non-saturating e4m3 turns overflow into NaN
    d = d[fin]
    assert np.all(np.diff(d) >= 0)


@pytest.mark.parametrize("name", list(CODECS))
@SETTINGS
@given(x=hnp.arrays(np.float64, st.integers(1, 100), elements=st.floats(-1e6, 1e6)))
def test_encode_error_bound(name, x):
    enc, dec, _, mbits, emin, mx = CODECS[name]
    d = dec(enc(x)).astype(np.float64)
    clipped = np.clip(x, -mx, mx)
    assert np.all(np.abs(d - clipped) <= half_ulp(clipped, mbits, emin))


@SETTINGS
@given(x=hnp.arrays(np.float64, st.integers(1, 100), elements=st.floats(1e-45, 1e38)))
def test_e8m0_is_a_nearby_power_of_two(x):
    c = F.encode_e8m0(x)
    v = F.decode_e8m0(c).astype(np.float64)
    ok = (x >= 2.0**-126) & (x < 1.5 * 2.0**127)
    # nearest power of two by value: within a factor [2/3, 4/3] of x
    assert np.all((v[ok] >= x[ok] * 2 / 3) & (v[ok] <= x[ok] * 4 / 3))
    assert np.all(c[x <= 2.0**-127] == 0)


@SETTINGS
@given(q=hnp.arrays(np.uint8, st.tuples(st.integers(1, 4), st.integers(1, 40).map(lambda k: 2 * k)),
                    elements=st.integers(0, 15)))
def test_pack_unpack_round_trip(q):
    p = F.pack_int4(q)
    assert p.shape == (q.shape[0], q.shape[1] // 2)
    np.testing.assert_array_equal(F.unpack_int4(p), q)
    np.testing.assert_array_equal(F.unpack_fp4(F.pack_fp4(q)), q)
    np.testing.assert_array_equal(p & 0xF, q[:, 0::2])
    np.testing.assert_array_equal(p >> 4, q[:, 1::2])


# ------------------------------------------------------------------ block-quantizer inputs
def blocky(rows: int, k: int, dtype=np.float32):
    """Arrays whose rows/blocks span very different magnitudes, with zeros and ties sprinkled in."""
    mant = hnp.arrays(np.float64, (rows, k), elements=st.floats(-2, 2, allow_subnormal=False))
    exps = hnp.arrays(np.int64, (rows, k // 16), elements=st.integers(-30, 30))
    zero = hnp.arrays(np.bool_, (rows, k), elements=st.booleans())

    def build(parts):
        m, e, z = parts
        x = m * np.exp2(np.repeat(e, 16, axis=1))
        x[z & (np.abs(m) < 0.5)] = 0.0
        return x.astype(dtype)

    return st.tuples(mant, exps, zero).map(build)


@pytest.mark.parametrize("fmt", list(MX))
@pytest.mark.parametrize("mode", ["floor", "rceil"])
@SETTINGS
@given(x=blocky(3, 64))
def test_mx_block_error_bound(fmt, mode, x):
    name = MX[fmt]
    _, _, _, mbits, emin, mx = CODECS[name]
    q = F.quantize_mx(x, fmt, scale_mode=mode)
    deq = F.dequantize_mx(q).astype(np.float64)
    se = np.repeat(q.scales.astype(np.float64) - 127, 32, axis=-1)
    x64 = x.astype(np.float64)
    y = x64 / np.exp2(se)
    amax = np.abs(x64).reshape(3, 2, 32).max(-1)
    s = q.scales.astype(np.int64) - 127
    nz = amax > 0
    if mode == "floor":
        # spec: 2**(se + emax) <= amax < 2**(se + emax + 1), unless clamped at -127
        fl = np.floor(np.log2(np.where(nz, amax, 1.0))).astype(np.int64) - EMAX[name]
        assert np.all(s[nz] == np.maximum(fl[nz], -127))
    else:
        # smallest power of two that keeps every element within max: nothing saturates
        assert np.all(np.abs(y) <= mx)
        smaller = amax / np.exp2(s - 1.0) <= mx
        assert not np.any(smaller[nz] & (s[nz] > -127))
    assert np.all(s[~nz] == -127)
    sat = np.abs(y) > mx
    bound = np.where(sat, (np.abs(y) - mx), half_ulp(np.clip(y, -mx, mx), mbits, emin)) * np.exp2(se)
    assert np.all(np.abs(x64 - deq) <= bound)


@SETTINGS
@given(x=blocky(2, 64), dt=float_dtypes)
def test_nvfp4_block_error_bound(x, dt):
    with np.errstate(over="ignore"):
        x = x.astype(dt)
    assume(np.isfinite(x).all())
    q = F.quantize_nvfp4(x)
    deq = F.dequantize_nvfp4(q).astype(np.float64)
    g = float(q.global_scale)
    x64 = x.astype(np.float64)
    amax = np.abs(x64).max()
    if amax / 2688 >= 2.0**-126:  # float32-normal global scale: one rounding
        assert math.isclose(g, amax / 2688, rel_tol=2.0**-23)
    sb = F.decode_e4m3(q.scales).astype(np.float64)
    assert np.all(sb >= 0) and np.all(sb <= 448)
    d = np.repeat(sb, 16, axis=-1) * g
    y = np.divide(x64, d, out=np.zeros_like(x64), where=d > 0)
    sat = np.abs(y) > 6
    bound = np.where(sat, np.abs(y) - 6, half_ulp(np.clip(y, -6, 6), 1, 0)) * d
    bound = np.where(d > 0, bound, np.abs(x64))  # zero block scale: elements are 0
    # plus the float32 rounding of e2m1 * scale * global_scale
    assert np.all(np.abs(x64 - deq) <= bound + np.abs(deq) * 2.0**-24 + 2.0**-149)


@pytest.mark.parametrize("bits", [4, 8])
@pytest.mark.parametrize("symmetric", [True, False])
@SETTINGS
@given(data=st.data())
def test_int_group_error_bound(bits, symmetric, data):
    group = data.draw(st.sampled_from([32, 64, 128, None]))
    w = data.draw(blocky(3, 128)) / 1e4  # keep fp16 scales normal and finite
    w = w.astype(np.float32)
    qt = F.quantize_int(w, bits=bits, group_size=group, symmetric=symmetric)
    g = group or 128
    deq = F.dequantize_int(qt).astype(np.float64)
    s16 = np.repeat(qt.scales.astype(np.float64), g, axis=1)
    wg = w.reshape(3, 128 // g, g)
    if symmetric:
        s32 = np.abs(wg).max(-1) / np.float32(7 if bits == 4 else 127)
        levels = 7 if bits == 4 else 127
    else:
        s32 = (np.maximum(wg.max(-1), 0) - np.minimum(wg.min(-1), 0)) / np.float32((1 << bits) - 1)
        levels = (1 << bits) - 1
    s32 = np.repeat(s32.astype(np.float64), g, axis=1)
    # elements whose scale is an fp16 subnormal lose the bound's premise (the scale itself is coarse)
    normal = s16 >= 2.0**-14
    bound = s16 * (0.5 + 2.0**-20) + levels * np.maximum(s32 - s16, 0)
    err = np.abs(w.astype(np.float64) - deq)
    assert np.all(err[normal] <= bound[normal])
    assert np.all(qt.scales > 0)
