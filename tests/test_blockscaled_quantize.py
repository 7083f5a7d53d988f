"""The MX and NVFP4 quantizers on the GPU (blockscaled/quantize.cu), bit-exact with labkernels.formats.

Without a GPU: the source compiles for every architecture it claims, its PTX holds the
instructions the lesson promises and no flush-to-zero, every kernel a launcher names is in
it, and bad input is refused (with NumPy arrays, and with array-like objects that only have a
shape) before anything runs. On a GPU: codes and scales equal the reference codec's, bit for
bit, on inputs built to reach every rounding path -- fresh random blocks over 80 binades,
subnormals, exact ties, saturation, signed zeros, all-zero and NaN/Inf blocks -- for float32
and float16 input, both MX scale rules, at shapes that are multiples of nothing.
"""
import importlib.util
import math
import re

import numpy as np
import pytest

from labkernels import build, formats
from labkernels.formats.fp8 import _E4M3_TABLE
from labkernels.kernels.blockscaled import quantize
from labkernels.kernels.blockscaled.quantize import AUXILIARY_SOURCES, quantize_mx_gpu, quantize_nvfp4_gpu

SOURCE = "blockscaled/quantize.cu"
ARCHS, PROMISES, OPTIONS = AUXILIARY_SOURCES[SOURCE]
KERNELS = [f"mx_quantize_{e}_{t}" for e in ("e4m3", "e5m2", "e2m1") for t in ("f32", "f16")] + \
          [f"nvfp4_{k}_{t}" for k in ("quantize", "amax") for t in ("f32", "f16")]

MX_FORMATS = formats.MX_FORMATS
DTYPES = (np.float32, np.float16)
# M a multiple of nothing, K = block * odd (1, 3, 5, 33 / 65)
MX_SHAPES = [(1, 32), (3, 96), (37, 160), (129, 1056)]
NV_SHAPES = [(1, 16), (3, 48), (37, 80), (129, 1040)]


# --------------------------------------------------------------------------
# Without a GPU: the source, and the checks before launch.
# --------------------------------------------------------------------------


def test_claims_every_target():
    assert ARCHS == build.TARGETS
    assert OPTIONS == ()  # in particular never --use_fast_math


@pytest.mark.parametrize("arch", ARCHS)
def test_compiles_with_promised_ptx_and_no_flush_to_zero(arch):
    c = build.compile_file(SOURCE, arch, options=OPTIONS)
    assert c.cubin, f"no cubin for {arch}"
    for p in PROMISES:
        assert p in c.ptx, f"{SOURCE} for {arch}: {p!r} missing from the PTX"
    # subnormal inputs and products must not flush: no .ftz anywhere
    assert ".ftz" not in c.ptx, build.ptx_summary(c.ptx, ".ftz")
    entries = set(re.findall(r"\.entry\s+(\w+)", c.ptx))
    assert set(KERNELS) <= entries, f"kernels missing for {arch}: {sorted(set(KERNELS) - entries)}"


def test_launchers_name_kernels_that_exist():
    names = {f"mx_quantize_{e}_{t}" for e in quantize._MX_ELEM.values() for t in quantize._SUFFIX.values()}
    names |= {f"nvfp4_{k}_{t}" for k in ("quantize", "amax") for t in quantize._SUFFIX.values()}
    assert names == set(KERNELS)
    assert quantize.THREADS == int(re.search(r"#define THREADS (\d+)", build.read_source(SOURCE)).group(1))


class _Shaped:
    """An array-like with a shape, a dtype and flags only: touching its data fails the test."""

    def __init__(self, shape, dtype=np.float32):
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.ndim = len(self.shape)
        self.size = math.prod(self.shape)
        self.flags = {"C_CONTIGUOUS": True}

    @property
    def data(self):
        raise AssertionError(f"the data of a {self.shape} array was touched: it must be refused first")


FakeCupy = type("ndarray", (_Shaped,), {"__module__": "cupy"})  # array_module() takes it for CuPy's


def _mx(x, fmt="mxfp8_e4m3", scale_mode="floor"):
    return quantize_mx_gpu(x, fmt, scale_mode)


BAD = [
    # (id, call, exception, message pattern)
    ("mx-float64", lambda: _mx(np.ones((2, 32))), TypeError, r"x must have dtype float32 or float16; got float64"),
    ("mx-int", lambda: _mx(np.ones((2, 32), np.int32)), TypeError, r"x must have dtype"),
    ("mx-list", lambda: _mx([[1.0] * 32]), TypeError, r"x must be a NumPy or CuPy array"),
    ("mx-1d", lambda: _mx(np.ones(32, np.float32)), ValueError, r"x must be 2-D"),
    ("mx-3d", lambda: _mx(np.ones((1, 2, 32), np.float32)), ValueError, r"x must be 2-D"),
    ("mx-k", lambda: _mx(np.ones((2, 48), np.float32)), ValueError,
     r"K \(x.shape\[1\]\)=48 must be a multiple of the MX block size \(32\)"),
    ("mx-empty", lambda: _mx(np.ones((0, 32), np.float32)), ValueError, r"x must not be empty"),
    ("mx-noncontig", lambda: _mx(np.ones((2, 64), np.float32)[:, ::2]), ValueError, r"x must be C-contiguous"),
    ("mx-fmt", lambda: _mx(np.ones((2, 32), np.float32), fmt="mxfp6"), ValueError, r"unknown fmt 'mxfp6'"),
    ("mx-fmt-type", lambda: _mx(np.ones((2, 32), np.float32), fmt=4), TypeError, r"fmt must be a string"),
    ("mx-mode", lambda: _mx(np.ones((2, 32), np.float32), scale_mode="ceil"), ValueError, r"unknown scale_mode 'ceil'"),
    ("nv-float64", lambda: quantize_nvfp4_gpu(np.ones((2, 16))), TypeError, r"x must have dtype float32 or float16"),
    ("nv-1d", lambda: quantize_nvfp4_gpu(np.ones(16, np.float32)), ValueError, r"x must be 2-D"),
    ("nv-k", lambda: quantize_nvfp4_gpu(np.ones((2, 24), np.float32)), ValueError,
     r"K \(x.shape\[1\]\)=24 must be a multiple of the NVFP4 block size \(16\)"),
    ("nv-nan", lambda: quantize_nvfp4_gpu(np.full((2, 16), np.nan, np.float32)), ValueError, r"x contains NaN or Inf"),
    ("nv-inf-f16", lambda: quantize_nvfp4_gpu(np.full((1, 16), np.inf, np.float16)), ValueError,
     r"x contains NaN or Inf"),
    ("nv-g-zero", lambda: quantize_nvfp4_gpu(np.ones((2, 16), np.float32), 0.0), ValueError,
     r"global_scale must be finite and > 0"),
    ("nv-g-nan", lambda: quantize_nvfp4_gpu(np.ones((2, 16), np.float32), float("nan")), ValueError,
     r"global_scale must be finite"),
    ("nv-g-underflow", lambda: quantize_nvfp4_gpu(np.ones((2, 16), np.float32), 1e-50), ValueError,
     r"global_scale must be finite and > 0 as a float32"),
    ("nv-g-str", lambda: quantize_nvfp4_gpu(np.ones((2, 16), np.float32), "1"), TypeError,
     r"global_scale must be a real number or None"),
    # array-likes with a shape only: refused before their data is touched
    ("fake-mx-k", lambda: _mx(FakeCupy((4, 40))), ValueError, r"K \(x.shape\[1\]\)=40 must be a multiple"),
    ("fake-mx-3d", lambda: _mx(FakeCupy((4, 1, 32))), ValueError, r"x must be 2-D"),
    ("fake-mx-dtype", lambda: _mx(FakeCupy((4, 32), np.int8)), TypeError, r"x must have dtype"),
    ("fake-mx-grid", lambda: _mx(FakeCupy((2**22, 2**21))), ValueError, r"M\*K is too large for one launch"),
    ("fake-nv-k", lambda: quantize_nvfp4_gpu(FakeCupy((4, 40), np.float16)), ValueError,
     r"K \(x.shape\[1\]\)=40 must be a multiple of the NVFP4 block size"),
    ("fake-nv-g", lambda: quantize_nvfp4_gpu(FakeCupy((4, 32)), -1.0), ValueError, r"global_scale must be finite"),
    ("fake-nv-grid", lambda: quantize_nvfp4_gpu(FakeCupy((2**22, 2**21), np.float16)), ValueError,
     r"M\*K is too large for one launch"),
]


try:
    HAVE_CUPY = importlib.util.find_spec("cupy") is not None
except (ImportError, ValueError):
    HAVE_CUPY = False


@pytest.mark.parametrize("case", BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_refused(case):
    name, call, exc, match = case
    if name.endswith("-grid") and not HAVE_CUPY:
        pytest.skip("CuPy is not installed: a CuPy-typed stand-in makes the launcher import it")
    with pytest.raises(exc, match=match):
        call()


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_numpy_input_runs_the_reference(dtype):
    x = np.random.default_rng(1).standard_normal((3, 96)).astype(dtype)
    for fmt in MX_FORMATS:
        data, scales = quantize_mx_gpu(x, fmt, "rceil")
        ref = formats.quantize_mx(x, fmt, scale_mode="rceil")
        assert isinstance(data, np.ndarray) and np.array_equal(data, ref.data) and np.array_equal(scales, ref.scales)
    data, scales, g = quantize_nvfp4_gpu(x)
    ref = formats.quantize_nvfp4(x)
    assert np.array_equal(data, ref.data) and np.array_equal(scales, ref.scales) and g == ref.global_scale
    assert isinstance(g, np.float32)


def test_global_scale_formula_matches_the_reference():
    for amax in (0.0, 1e-45, 1.0, 2688.0, 3.4e38, 5e-42):
        x = np.zeros((1, 16), np.float32)
        x[0, 3] = amax
        assert formats.nvfp4.global_scale_from_amax(np.float32(amax)) == formats.quantize_nvfp4(x).global_scale


# --------------------------------------------------------------------------
# Inputs that reach every rounding path (NumPy, float64 values exact in the dtype asked for).
# --------------------------------------------------------------------------

_MX_ELEM = {"mxfp8_e4m3": formats.decode_e4m3(np.arange(0x7F, dtype=np.uint8)),
            "mxfp8_e5m2": formats.decode_e5m2(np.arange(0x7C, dtype=np.uint8)),
            "mxfp4": formats.decode_e2m1(np.arange(8, dtype=np.uint8))}
_E2M1 = formats.decode_e2m1(np.arange(8, dtype=np.uint8)).astype(np.float64)


def _grid_and_midpoints(values) -> np.ndarray:
    """A format's non-negative finite values and the midpoints between neighbours (the ties)."""
    v = np.asarray(values, np.float64)
    return np.concatenate([v, (v[:-1] + v[1:]) / 2])


def _binades(dtype) -> tuple[int, int]:
    """Exponent range for 'random normal times 2**u' blocks: 80 binades in float32, float16's own range."""
    return (-40, 40) if dtype == np.float32 else (-26, 12)


def _normal(rng, nb, block, dtype):
    lo, hi = _binades(dtype)
    return rng.standard_normal((nb, block)) * 2.0 ** rng.uniform(lo, hi, (nb, 1))


def _subnormal(rng, nb, block, dtype):
    """Subnormals of the dtype, blocks of different widths; every fourth block also holds a normal."""
    tiny = float(np.finfo(dtype).smallest_subnormal)
    mbits = np.finfo(dtype).nmant
    width = 2.0 ** rng.integers(1, mbits + 1, (nb, 1))
    x = np.trunc(rng.uniform(-1, 1, (nb, block)) * width) * tiny
    x[::4, 0] = float(np.finfo(dtype).smallest_normal) * 1.5
    return x


def _off_by_one_ulp(rng, x, dtype):
    """A quarter of the values moved one ulp up or down in ``dtype``: just off the ties."""
    y = x.astype(dtype)
    pick = rng.random(y.shape) < 0.25
    moved = np.nextafter(y, np.where(rng.random(y.shape) < 0.5, np.inf, -np.inf).astype(dtype))
    return np.where(pick, moved, y).astype(np.float64)


def _mx_ties(rng, nb, fmt, dtype):
    """Element 0 is ±max * 2**se (it fixes se under both rules); the rest are element-grid values
    and exact midpoints times 2**se, with signs, a quarter of them one ulp off."""
    vals = _MX_ELEM[fmt].astype(np.float64)
    emax_val = vals.max()
    cand = _grid_and_midpoints(vals)
    fi = np.finfo(dtype)
    lo = math.ceil(math.log2(float(fi.smallest_subnormal) / cand[cand > 0].min()))
    hi = math.floor(math.log2(float(fi.max) / emax_val))
    se = rng.integers(lo, hi + 1, (nb, 1)).astype(np.float64)
    x = rng.choice(cand, (nb, 32)) * rng.choice([-1.0, 1.0], (nb, 32))
    x[:, 0] = emax_val * rng.choice([-1.0, 1.0], nb)
    x = x * 2.0 ** se
    x[:, 1:] = _off_by_one_ulp(rng, x[:, 1:], dtype)
    return np.take_along_axis(x, rng.permuted(np.tile(np.arange(32), (nb, 1)), axis=1), axis=1)


def _mx_saturation(rng, nb, dtype):
    """Block maxima whose significand is above the formats' max (1.5 or 1.75): FLOOR saturates them;
    and the dtype's ±max beside small values."""
    sig = rng.choice([1.5, 1.5 + 2**-9, 1.75, 1.75 + 2**-9, 1.8, 1.9921875, 1.99951171875], nb)
    lo, hi = _binades(dtype)
    x = rng.standard_normal((nb, 32)) * 0.1
    x[:, 5] = sig * np.sign(rng.standard_normal(nb))
    x *= 2.0 ** rng.integers(lo, hi, (nb, 1))
    big = float(np.finfo(dtype).max)
    x[::3, 7] = big
    x[1::3, 9] = -big
    return x


def _zeros(rng, nb, block):
    """All +0, all -0, mixed ±0, and ±0 beside one small value."""
    x = np.zeros((nb, block))
    x[1::4] = -0.0
    x[2::4] = np.where(rng.random((len(x[2::4]), block)) < 0.5, -0.0, 0.0)
    x[3::4] = np.where(rng.random((len(x[3::4]), block)) < 0.5, -0.0, 0.0)
    x[3::4, 0] = 2.0**-10
    return x


def _nonfinite(rng, nb, dtype):
    """Every other block holds one NaN, +Inf or -Inf; the others are ordinary."""
    x = _normal(rng, nb, 32, dtype)
    bad = np.arange(0, nb, 2)
    x[bad, rng.integers(0, 32, len(bad))] = rng.choice([np.nan, np.inf, -np.inf], len(bad))
    return x


def mx_inputs(fmt, dtype, M, K, rng) -> dict:
    """name -> x [M, K] of ``dtype`` (NumPy)."""
    nb = M * K // 32
    raw = {
        "normal": _normal(rng, nb, 32, dtype),
        "subnormal": _subnormal(rng, nb, 32, dtype),
        "ties": _mx_ties(rng, nb, fmt, dtype),
        "saturation": _mx_saturation(rng, nb, dtype),
        "zeros": _zeros(rng, nb, 32),
        "nonfinite": _nonfinite(rng, nb, dtype),
    }
    with np.errstate(over="ignore"):
        return {k: v.astype(dtype).reshape(M, K) for k, v in raw.items()}


def _nv_g(rng, dtype) -> float:
    """A global scale with two significant bits, in a range where every tie below is exact in ``dtype``."""
    k = int(rng.integers(-100, 100)) if dtype == np.float32 else int(rng.integers(-13, 4))
    return float(rng.choice([1.0, 1.5])) * 2.0**k


def _nv_ties(rng, nb, g, dtype):
    """Blocks of scale code s: element 0 is ±6 s g (the ratio is exactly s), the rest e2m1 values
    and midpoints times s g; every third block's amax instead sits on an e4m3 midpoint times 6 g
    (a tie of the scale's own rounding); block 0 holds the tensor's amax 2688 g, so the computed
    global scale is g itself."""
    codes = rng.integers(1, 0x7F, nb)
    s = _E4M3_TABLE[codes].astype(np.float64)[:, None]
    x = rng.choice(_grid_and_midpoints(_E2M1), (nb, 16)) * rng.choice([-1.0, 1.0], (nb, 16)) * s * g
    x[:, 0] = 6.0 * s[:, 0] * g * rng.choice([-1.0, 1.0], nb)
    e4 = _E4M3_TABLE[:0x7F].astype(np.float64)
    mids = (e4[:-1] + e4[1:]) / 2
    x[::3, 0] = 6.0 * g * rng.choice(mids, len(x[::3]))
    x[0, :] = 0.0
    x[0, 0] = 2688.0 * g
    x[:, 1:] = _off_by_one_ulp(rng, x[:, 1:], dtype)
    return x


def _nv_zero_scale(rng, nb, g):
    """Block 0 sets the global scale; the others have an amax far below half e4m3's smallest
    subnormal times 6 g: their scale code is 0 and every code 0, negative values included."""
    x = rng.standard_normal((nb, 16)) * g * 2.0**-14
    x[0] = 0.0
    x[0, 0] = 2688.0 * g
    return x


def nv_inputs(dtype, M, K, rng) -> dict:
    """name -> (x [M, K] of ``dtype``, global_scale to pass: None or the float the ties need)."""
    nb = M * K // 16
    g = _nv_g(rng, dtype)
    big = float(np.finfo(dtype).max)
    sat = _normal(rng, nb, 16, dtype)
    sat[::2, 3] = big
    sat[1::2, 4] = -big
    raw = {
        "normal": (_normal(rng, nb, 16, dtype), None),
        "normal-given-g": (_normal(rng, nb, 16, dtype), float(2.0 ** rng.uniform(-30, 10))),
        "subnormal": (_subnormal(rng, nb, 16, dtype), None),
        "subnormal-tiny-g": (_subnormal(rng, nb, 16, dtype), float(np.finfo(np.float32).smallest_subnormal)),
        "ties": (_nv_ties(rng, nb, g, dtype), None),
        "ties-given-g": (_nv_ties(rng, nb, g, dtype), g),
        "saturation": (sat, None),
        "saturation-small-g": (_normal(rng, nb, 16, dtype), 1e-30),
        "zeros": (_zeros(rng, nb, 16), None),
        "zero-scale": (_nv_zero_scale(rng, nb, g), None),
    }
    return {k: (v.astype(dtype).reshape(M, K), gs) for k, (v, gs) in raw.items()}


def _first_mismatches(got, want, n=5) -> str:
    idx = np.argwhere(got != want)[:n]
    return "; ".join(f"{tuple(i)}: got {got[tuple(i)]:#04x}, want {want[tuple(i)]:#04x}" for i in idx)


# --------------------------------------------------------------------------
# On a GPU: bit-exact against the reference.
# --------------------------------------------------------------------------


@pytest.mark.gpu
@pytest.mark.parametrize("scale_mode", formats.SCALE_MODES)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("fmt", MX_FORMATS)
def test_mx_bit_exact(fmt, dtype, scale_mode):
    import cupy

    rng = np.random.default_rng([7, MX_FORMATS.index(fmt), DTYPES.index(dtype), formats.SCALE_MODES.index(scale_mode)])
    for M, K in MX_SHAPES:
        for name, x in mx_inputs(fmt, dtype, M, K, rng).items():
            ref = formats.quantize_mx(x, fmt, scale_mode=scale_mode)
            data, scales = quantize_mx_gpu(cupy.asarray(x), fmt, scale_mode)
            where = f"{fmt} {np.dtype(dtype).name} {scale_mode} {name} [{M}, {K}]"
            assert data.shape == ref.data.shape and data.dtype == np.uint8, where
            assert scales.shape == ref.scales.shape and scales.dtype == np.uint8, where
            got_s, got_d = scales.get(), data.get()
            assert np.array_equal(got_s, ref.scales), f"{where} scales: {_first_mismatches(got_s, ref.scales)}"
            assert np.array_equal(got_d, ref.data), f"{where} codes: {_first_mismatches(got_d, ref.data)}"


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_nvfp4_bit_exact(dtype):
    import cupy

    rng = np.random.default_rng([11, DTYPES.index(dtype)])
    for M, K in NV_SHAPES:
        for name, (x, g) in nv_inputs(dtype, M, K, rng).items():
            ref = formats.quantize_nvfp4(x, global_scale=g)
            data, scales, got_g = quantize_nvfp4_gpu(cupy.asarray(x), global_scale=g)
            where = f"nvfp4 {np.dtype(dtype).name} {name} [{M}, {K}] g={ref.global_scale!r}"
            assert isinstance(got_g, np.float32) and got_g == ref.global_scale, f"{where}: global scale {got_g!r}"
            got_s, got_d = scales.get(), data.get()
            assert np.array_equal(got_s, ref.scales), f"{where} scales: {_first_mismatches(got_s, ref.scales)}"
            assert np.array_equal(got_d, ref.data), f"{where} codes: {_first_mismatches(got_d, ref.data)}"


@pytest.mark.gpu
@pytest.mark.parametrize("g", [None, 0.5])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_nvfp4_refuses_nan_and_inf_on_the_gpu(dtype, g):
    import cupy

    for bad in (np.nan, np.inf, -np.inf):
        x = np.ones((5, 48), dtype)
        x[4, 47] = bad
        with pytest.raises(ValueError, match="x contains NaN or Inf"):
            quantize_nvfp4_gpu(cupy.asarray(x), global_scale=g)


@pytest.mark.gpu
def test_unaligned_views_and_large_tensors():
    """A view starting 4 bytes into an allocation is copied (the kernels load 16 bytes at a time);
    a tensor of several million elements crosses many CTAs and the amax reduction's grid stride."""
    import cupy

    rng = np.random.default_rng(3)
    flat = cupy.asarray(rng.standard_normal(1 + 7 * 96).astype(np.float32))
    x = flat[1:].reshape(7, 96)
    assert x.data.ptr % 16
    for fmt in MX_FORMATS:
        data, scales = quantize_mx_gpu(x, fmt, "floor")
        ref = formats.quantize_mx(x.get(), fmt)
        assert np.array_equal(data.get(), ref.data) and np.array_equal(scales.get(), ref.scales), fmt
    data, scales, g = quantize_nvfp4_gpu(x)
    ref = formats.quantize_nvfp4(x.get())
    assert np.array_equal(data.get(), ref.data) and np.array_equal(scales.get(), ref.scales) and g == ref.global_scale

    big = (rng.standard_normal((1031, 4128)) * 2.0 ** rng.uniform(-8, 8, (1031, 4128 // 32, 1)).repeat(32, 2)
           .reshape(1031, 4128)).astype(np.float32)
    big[1000, 4000] = 3e4  # the amax, far from the start
    xd = cupy.asarray(big)
    data, scales = quantize_mx_gpu(xd, "mxfp8_e4m3", "rceil")
    ref = formats.quantize_mx(big, "mxfp8_e4m3", scale_mode="rceil")
    assert np.array_equal(data.get(), ref.data) and np.array_equal(scales.get(), ref.scales)
    data, scales, g = quantize_nvfp4_gpu(xd)
    ref = formats.quantize_nvfp4(big)
    assert g == ref.global_scale
    assert np.array_equal(data.get(), ref.data) and np.array_equal(scales.get(), ref.scales)
