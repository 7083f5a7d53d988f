"""Every W4A16/W8A16 variant on a real GPU at awkward shapes, group sizes and zero points."""
import numpy as np
import pytest

from labkernels import check, registry

pytestmark = pytest.mark.gpu

# K = "AWK": 33 groups (of 32, 64, 128, or 32 columns per-channel): a multiple of the
# group but not of the kernels' 128- or 1024-wide K steps.
GEMV = [(1, 1, 128), (1, 129, "AWK"), (5, 1000, 4096), (16, 257, "AWK"), (3, 64, 8192)]
GEMM = [(1, 8, 128), (16, 129, "AWK"), (17, 1000, 256), (130, 33, 4096), (300, 264, "AWK"), (64, 4096, 4096)]
GROUPS = [(32, False), (64, True), (128, False), (128, True), (None, False)]


def _shapes(v, group_size):
    awk = 33 * (group_size or 32)
    return [(M, N, awk if K == "AWK" else K) for M, N, K in (GEMV if v.op == "gemv" else GEMM)]


@pytest.mark.parametrize("v", [v for v in registry.variants(fmt="w4a16") if not v.reference], ids=lambda v: v.id)
@pytest.mark.parametrize("group_size, zeros", GROUPS)
def test_w4a16_variant(v, group_size, zeros):
    ok, why = v.runnable()
    if not ok:
        pytest.skip(why)
    for M, N, K in _shapes(v, group_size):
        if v.impl == "numba" and M * N * K > 2_000_000:
            continue  # Numba's one-thread-per-output rung is slow; small shapes suffice
        r = check.check_variant(v, M, N, K, group_size=group_size, zeros=zeros)
        assert r.passed, str(r)


def test_per_channel_k_not_a_multiple_of_32():
    for vid in ["dequant/v02_gemv_warp", "dequant/v06_mma_skinny", "dequant/v07_gemm_mma", "dequant/v10_mma_gemv"]:
        r = check.check_variant(registry.get(vid), 3, 40, 200, group_size=None, zeros=True)
        assert r.passed, str(r)


def test_torch_int4_peer():
    v = registry.get("dequant/v00_torch_int4")
    ok, why = v.runnable()
    if not ok:
        pytest.skip(why)
    for M in (1, 16, 100):
        r = check.check_variant(v, M, 1024, 4096, group_size=128)
        assert r.passed, str(r)


def test_w8a16():
    v = registry.get("dequant/v08_w8a16_gemv")
    for M, N, K in [(1, 1, 16), (3, 129, 1040), (16, 1000, 4096)]:
        r = check.check_variant(v, M, N, K)
        assert r.passed, str(r)


@pytest.mark.parametrize("vid", ["dequant/v04_gemv_lop3", "dequant/v06_mma_skinny", "dequant/v07_gemm_mma",
                                 "dequant/v09_gemm_wgmma", "dequant/v10_mma_gemv"])
def test_same_result_twice(vid):
    """A race shows as a result that moves between runs on the same inputs."""
    import cupy

    from labkernels import problems

    v = registry.get(vid)
    ok, why = v.runnable()
    if not ok:
        pytest.skip(why)
    M = 16 if v.max_m else 200
    host = problems.get("w4a16").inputs(M, 520, 2048, np.random.default_rng(3))
    dev = {k: (cupy.asarray(a) if a is not None else None) for k, a in host.items()}
    if v.prepare:
        dev = v.prepare(dev)
    a = v.launch(**dev).get()
    b = v.launch(**dev).get()
    assert np.array_equal(a, b)


#: GEMV settings checked against the float64 reference beside each variant's default: v04 with plain and
#: streaming weight loads in other tilings; v10 with other tiles a warp, chunks, X buffers and loads.
GEMV_TUNINGS = [("dequant/v04_gemv_lop3", "gemv_lop3", t)
                for t in ({"HINT": 1}, {"HINT": 0}, {"HINT": 1, "UNROLL": 1, "RPW": 4}, {"HINT": 1, "MINB": 4})] + [
                ("dequant/v10_mma_gemv", "mma_gemv", t)
                for t in ({"TPW": 1, "KCH": 1024}, {"TPW": 2, "KCH": 256, "STAGES": 3}, {"TPW": 4, "KCH": 512},
                          {"WARPS": 4, "TPW": 2, "KCH": 1024, "HINT": 0}, {"WARPS": 16, "TPW": 1, "KCH": 128, "STAGES": 3})]


@pytest.mark.parametrize("vid, launch, tuning", GEMV_TUNINGS, ids=lambda p: p if isinstance(p, str) else str(p))
def test_gemv_tunings(vid, launch, tuning):
    """With and without zero points, rows and chunks that end mid-step, M from 1 to 16; for v10 also
    per-channel scales and K shorter than one chunk."""
    from functools import partial

    from labkernels.kernels import dequant

    v = registry.get(vid)
    ok, why = v.runnable()
    if not ok:
        pytest.skip(why)
    fn = partial(getattr(dequant, launch), tuning=tuning)
    shapes = [(1, 129, 544, {"group_size": 32}), (3, 77, 4096, {"group_size": 128, "zeros": True})]
    if v.name.startswith("v04"):
        shapes += [(16, 72, 2048, {"group_size": 64}), (1, 1000, 8192, {"group_size": 128})]
    else:
        shapes += [(16, 72, 2112, {"group_size": 64}), (16, 1000, 8192, {"group_size": 128}),
                   (7, 300, 1000, {"group_size": None, "zeros": True}), (2, 24, 256, {"group_size": 128, "zeros": True})]
    for M, N, K, params in shapes:
        r = check.run_check(fn, "w4a16", M, N, K, name=f"{v.id} {tuning}", impl=v.impl, tol=v.tol,
                            prepare=v.prepare, **params)
        assert r.passed, str(r)


@pytest.mark.parametrize("zeros", [False, True])
def test_v09_widening_is_the_reference_dequantization(zeros):
    """v09's first kernel: every widened weight equals fp16((q - z) * s) of the formats reference, bit
    for bit, into a poisoned output (K per-channel and grouped, tails of a row's words)."""
    import cupy

    from labkernels import formats, problems
    from labkernels.kernels import dequant

    ok, why = registry.get("dequant/v09_gemm_wgmma").runnable()
    if not ok:
        pytest.skip(why)
    rng = np.random.default_rng(5 + zeros)
    for N, K, g in [(1, 8, None), (37, 1056, 32), (130, 4096, 128), (3, 200, None)]:
        inp = problems.get("w4a16").inputs(1, N, K, rng, group_size=g, zeros=zeros)
        q = formats.unpack_int4(inp["qweight"]).astype(np.float32)
        G = inp["scales"].shape[1]
        s = np.repeat(inp["scales"].astype(np.float32), K // G, axis=1)
        z = 8.0 if inp["zeros"] is None else np.repeat(inp["zeros"].astype(np.float32), K // G, axis=1)
        ref = ((q - z) * s).astype(np.float16)  # (q - z) * s is exact in fp32; one rounding to fp16
        out = cupy.full((N, K), np.nan, dtype=cupy.float16)  # poisoned
        got = dequant.widen_w4(cupy.asarray(inp["qweight"]), cupy.asarray(inp["scales"]),
                               None if inp["zeros"] is None else cupy.asarray(inp["zeros"]), out=out).get()
        assert np.array_equal(got.view(np.uint16), ref.view(np.uint16)), (N, K, g, zeros)


@pytest.mark.parametrize("tuning", [{"STAGES": 2}, {"STAGES": 4}], ids=str)
def test_v09_tiles(tuning):
    from labkernels.kernels import dequant

    v = registry.get("dequant/v09_gemm_wgmma")
    ok, why = v.runnable()
    if not ok:
        pytest.skip(why)
    launch = lambda **kw: dequant.gemm_wgmma(**kw, tuning=tuning)  # noqa: E731
    for M, N, K in [(193, 300, 1024), (385, 264, 4224)]:
        r = check.run_check(launch, "w4a16", M, N, K, name=f"v09 {tuning}", group_size=128, zeros=True)
        assert r.passed, str(r)
