"""Hypothesis properties of the roofline model and of the check harness (issue 8).

Complements tests/test_roofline.py (monotone in M, ridge closed form, one crossover) and
tests/test_formats_properties.py (the codecs):

* bytes are exact against the arrays a kernel really reads and writes -- built with the
  lab's own problems and codecs -- and flops against a brute-force count of multiply-adds;
* the bound is monotone in N and K (and in M for other tile sizes and MMA paths), and never
  below any one of its ceilings;
* :func:`labkernels.roofline.crossovers` agrees with a brute-force scan over every integer M;
* :func:`labkernels.check.compare`: NaN anywhere fails, a correct output scaled by
  ``1 + 2·tol`` fails, one within ``tol/2`` passes (with every problem's own tolerances).
"""
from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import labkernels.formats as F
from labkernels import check, problems, specs
from labkernels import roofline as rl

SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
GPUS = sorted(specs.GPUS)
FORMATS = sorted(rl.FORMATS)
CEILINGS = {g: rl.datasheet_ceilings(g) for g in GPUS}


# --------------------------------------------------------------------------
# Bytes and FLOPs.
# --------------------------------------------------------------------------


def _real_bytes(fmt: str, M: int, N: int, K: int, rng, group_size=128, zeros=False) -> tuple[int, int]:
    """(bytes of the arrays a kernel for ``fmt`` reads and writes, bytes of per-row/per-tensor scales).

    The model counts every element and every per-group/per-block scale (and zero point) along K;
    scales that are one per row (per-token, per-channel) or one per tensor are left out of it as
    negligible, so they are returned apart.
    """
    out = M * N * 2  # Y, fp16
    x = rng.standard_normal((M, K)).astype(np.float32)
    w = rng.standard_normal((N, K)).astype(np.float32)
    if fmt == "fp16":
        inp = problems.get("fp16").inputs(M, N, K, rng)
        return sum(a.nbytes for a in inp.values()) + out, 0
    if fmt == "w4a16":
        inp = problems.get("w4a16").inputs(M, N, K, rng, group_size=group_size, zeros=zeros)
        return sum(a.nbytes for a in inp.values() if a is not None) + out, 0
    if fmt == "w8a16":
        inp = problems.get("w8a16").inputs(M, N, K, rng)
        per_row = inp["scales"].nbytes  # [N, 1] fp16: one scale per output channel
        return sum(a.nbytes for a in inp.values()) + out - per_row, per_row
    if fmt in ("mxfp8", "mxfp4"):
        kind = "mxfp8_e4m3" if fmt == "mxfp8" else "mxfp4"
        qx, qw = F.quantize_mx(x, kind), F.quantize_mx(w, kind)
        return qx.data.nbytes + qx.scales.nbytes + qw.data.nbytes + qw.scales.nbytes + out, 0
    if fmt == "nvfp4":
        qx, qw = F.quantize_nvfp4(x), F.quantize_nvfp4(w)
        return qx.data.nbytes + qx.scales.nbytes + qw.data.nbytes + qw.scales.nbytes + out, 2 * 4
    if fmt == "fp8":
        return F.encode_e4m3(x).nbytes + F.encode_e4m3(w).nbytes + out, 2 * 4  # + one fp32 scale per tensor
    if fmt == "a8w8":
        return M * K + N * K + out, 4 * M + 4 * N  # int8 X and W; fp32 per-token and per-channel scales
    if fmt == "w4a8":
        qt = F.quantize_int(w, bits=4, group_size=128)
        return M * K + F.pack_int4(qt.q).nbytes + qt.scales.nbytes + out, 4 * M  # + fp32 per-token scales
    raise AssertionError(f"no brute-force count for {fmt}")


@SETTINGS
@given(fmt=st.sampled_from(FORMATS), M=st.integers(1, 6), N=st.integers(1, 6), K=st.sampled_from([128, 256, 384]),
       seed=st.integers(0, 2**32 - 1))
def test_bytes_exact_against_the_arrays_a_kernel_moves(fmt, M, N, K, seed):
    real, per_row = _real_bytes(fmt, M, N, K, np.random.default_rng(seed))
    assert rl.bytes_moved(fmt, M, N, K) == real, (fmt, real, per_row)


@SETTINGS
@given(M=st.integers(1, 6), N=st.integers(1, 6), K=st.sampled_from([128, 256, 384]), g=st.sampled_from([32, 64, 128]),
       zeros=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_w4a16_bytes_exact_for_every_group_size_and_zero_points(M, N, K, g, zeros, seed):
    real, _ = _real_bytes("w4a16", M, N, K, np.random.default_rng(seed), group_size=g, zeros=zeros)
    assert rl.bytes_moved("w4a16", M, N, K, group_size=g, zeros=zeros) == real
    assert rl.bound("w4a16", M, N, K, CEILINGS["h100-sxm"], group_size=g, zeros=zeros).bytes == real


@SETTINGS
@given(M=st.integers(1, 7), N=st.integers(1, 7), K=st.integers(1, 9), fmt=st.sampled_from(FORMATS))
def test_flops_exact_against_counted_multiply_adds(M, N, K, fmt):
    count = 0
    for _m in range(M):  # Y[m, n] = sum_k X[m, k] * W[n, k]: one multiply and one add per term
        for _n in range(N):
            for _k in range(K):
                count += 2
    assert rl.flops(M, N, K) == count
    assert rl.bound(fmt, M, N, K, CEILINGS["h100-sxm"]).flops == count


# --------------------------------------------------------------------------
# The bound.
# --------------------------------------------------------------------------


def _bound(fmt, M, N, K, gpu, **kw):
    try:
        return rl.bound(fmt, M, N, K, CEILINGS[gpu], **kw)
    except ValueError as e:  # e.g. the library path has no rate for this precision on this GPU
        assert "MMA rate" in str(e)
        assume(False)


shape_kw = dict(fmt=st.sampled_from(FORMATS), gpu=st.sampled_from(GPUS), path=st.sampled_from(rl.PATHS),
                alu=st.booleans(), tile_m=st.sampled_from([None, 16, 64, 256]))


@SETTINGS
@given(m=st.integers(1, 5000), n=st.integers(1, 30000), k=st.integers(1, 20000), dn=st.integers(1, 4096),
       dk=st.integers(1, 4096), dm=st.integers(1, 300), **shape_kw)
def test_bound_is_monotone_in_m_n_and_k(fmt, gpu, path, alu, tile_m, m, n, k, dm, dn, dk):
    kw = dict(path=path, alu=alu, tile_m=tile_m)
    t = _bound(fmt, m, n, k, gpu, **kw).time_us
    assert _bound(fmt, m, n + dn, k, gpu, **kw).time_us >= t
    assert _bound(fmt, m, n, k + dk, gpu, **kw).time_us >= t
    assert _bound(fmt, m + dm, n, k, gpu, **kw).time_us >= t


@SETTINGS
@given(m=st.integers(1, 20000), n=st.integers(1, 30000), k=st.integers(1, 20000), **shape_kw)
def test_bound_is_never_below_any_ceiling(fmt, gpu, path, alu, tile_m, m, n, k):
    c = CEILINGS[gpu]
    b = _bound(fmt, m, n, k, gpu, path=path, alu=alu, tile_m=tile_m)
    mem = rl.bytes_moved(fmt, m, n, k) / c.bw * 1e6
    mma = 2.0 * m * n * k / c.mma_rate(b.mma_precision, path) * 1e6
    for ceiling in (mem, mma, b.mem_us, b.mma_us, b.alu_us):
        assert b.time_us >= ceiling * (1 - 1e-12)
    assert math.isclose(b.mem_us, mem, rel_tol=1e-12) and math.isclose(b.mma_us, mma, rel_tol=1e-12)
    assert b.time_us == max(b.mem_us, b.mma_us, b.alu_us)
    assert b.serial_us >= b.time_us > 0 and b.alu_us >= 0
    if alu:
        assert b.time_us >= _bound(fmt, m, n, k, gpu, path=path, alu=False, tile_m=tile_m).time_us


# --------------------------------------------------------------------------
# Crossovers against a brute-force scan.
# --------------------------------------------------------------------------


def _sign(x: float) -> int:
    return (x > 0) - (x < 0)


def _brute_crossings(fa, fb, N, K, c, m_max, path_a, path_b) -> tuple[list[float], list[int]]:
    """Every integer M where sign(t_a - t_b) is the opposite of its last non-zero value below M."""
    signs = [0] + [_sign(rl.bound(fa, m, N, K, c, path=path_a).time_us - rl.bound(fb, m, N, K, c, path=path_b).time_us)
                   for m in range(1, m_max + 1)]
    out, last = [], 0
    for m in range(1, m_max + 1):
        if signs[m] == 0:
            continue
        if last and signs[m] != last:
            out.append(float(m))
        last = signs[m]
    return out, signs


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pair=st.permutations(FORMATS).map(lambda p: p[:2]), gpu=st.sampled_from(GPUS),
       N=st.sampled_from([1, 7, 64, 512, 4096, 8192, 28672]), K=st.sampled_from([32, 128, 1024, 8192]),
       m_max=st.integers(1, 700), path_a=st.sampled_from(rl.PATHS), path_b=st.sampled_from(rl.PATHS))
def test_crossovers_agree_with_a_brute_force_scan(pair, gpu, N, K, m_max, path_a, path_b):
    fa, fb = pair
    c = CEILINGS[gpu]
    try:
        xs = rl.crossovers(fa, fb, N, K, c, m_max=m_max, path_a=path_a, path_b=path_b)
    except ValueError as e:
        assert "MMA rate" in str(e)
        assume(False)
    brute, signs = _brute_crossings(fa, fb, N, K, c, m_max, path_a, path_b)
    assert xs == sorted(xs) and all(1 < x <= m_max for x in xs)
    if len(brute) <= 1:
        assert xs == brute
    else:  # several crossings: each one reported is a real change of sign at that M
        for x in xs:
            m = int(x)
            assert signs[m] != 0 and signs[m - 1] != signs[m]


def test_crossovers_scan_up_to_an_m_max_that_is_not_a_power_of_two():
    # the scan used to stop at the power of two below m_max (512 here), missing this crossing at 786
    c = CEILINGS["a10g"]
    brute, _ = _brute_crossings("a8w8", "mxfp4", 64, 8192, c, 1000, "mma_sync", "mma_sync")
    assert brute == [786.0]
    assert rl.crossovers("a8w8", "mxfp4", 64, 8192, c, m_max=1000) == brute


def test_crossovers_are_symmetric_and_a_tie_that_resolves_is_not_a_crossing():
    # On an A10, A8W8 and FP8 (emulated through fp16) move the same bytes: their bounds are equal
    # up to M = 108, then A8W8 is faster. The winner never changes, so neither order reports a
    # crossing (the old scan reported 109 for one order of the pair and nothing for the other).
    c = CEILINGS["a10"]
    brute, signs = _brute_crossings("a8w8", "fp8", 8192, 8192, c, 1024, "mma_sync", "mma_sync")
    assert brute == [] and set(signs[1:109]) == {0} and set(signs[109:]) == {-1}
    assert rl.crossovers("a8w8", "fp8", 8192, 8192, c, m_max=1024) == []
    assert rl.crossovers("fp8", "a8w8", 8192, 8192, c, m_max=1024) == []


# --------------------------------------------------------------------------
# The check harness: compare().
# --------------------------------------------------------------------------

TOLS = [(p.fmt, p.tol, max(p.norm_tol, p.tol)) for p in problems.PROBLEMS.values()]  # as run_check uses them


@st.composite
def references(draw):
    """A float64 reference like a matmul's: never all zero, mixed signs and magnitudes."""
    rows, cols = draw(st.integers(1, 8)), draw(st.integers(1, 8))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    ref = rng.standard_normal((rows, cols)) * 10.0 ** rng.uniform(-3, 3)
    ref[ref == 0] = 1.0
    return ref


@SETTINGS
@given(ref=references(), tols=st.sampled_from(TOLS), data=st.data(), what=st.sampled_from([np.nan, np.inf, -np.inf]),
       where=st.sampled_from(["out", "ref"]))
def test_compare_nan_or_inf_anywhere_fails(ref, tols, data, what, where):
    _, tol, norm_tol = tols
    i = data.draw(st.integers(0, ref.shape[0] - 1))
    j = data.draw(st.integers(0, ref.shape[1] - 1))
    out = ref.copy()
    bad = out if where == "out" else ref
    bad[i, j] = what
    if where == "ref" and not np.isnan(what):
        return  # an infinite reference is the reference's own overflow; NaN is the case that matters
    passed, *_ = check.compare(out, ref, tol, norm_tol)
    assert not passed


@SETTINGS
@given(ref=references(), tols=st.sampled_from(TOLS), sign=st.sampled_from([1, -1]))
def test_compare_output_scaled_by_one_plus_two_tol_fails(ref, tols, sign):
    _, tol, norm_tol = tols
    passed, max_err, norm_err, *_ = check.compare(ref * (1 + sign * 2 * tol), ref, tol, norm_tol)
    assert not passed
    assert math.isclose(norm_err, 2 * tol, rel_tol=1e-6)


@SETTINGS
@given(ref=references(), tols=st.sampled_from(TOLS), seed=st.integers(0, 2**32 - 1))
def test_compare_output_within_half_tol_passes(ref, tols, seed):
    _, tol, norm_tol = tols
    delta = np.random.default_rng(seed).uniform(-tol / 2, tol / 2, ref.shape)
    passed, max_err, norm_err, n_bad, mism, msg = check.compare(ref * (1 + delta), ref, tol, norm_tol)
    assert passed and n_bad == 0 and not mism, msg
    assert max_err <= tol / 2 * (1 + 1e-9)


@SETTINGS
@given(ref=references(), tols=st.sampled_from(TOLS), dtype=st.sampled_from([np.float16, np.float32]))
def test_compare_poisoned_output_fails_and_the_exact_one_passes(ref, tols, dtype):
    _, tol, norm_tol = tols
    assert not check.compare(check.poison(np, ref.shape, dtype), ref, tol, norm_tol)[0]
    assert check.compare(ref, ref, tol, norm_tol)[0]
