"""Every int8-family variant on a real GPU: integer sums exact, scaled outputs within fp16 rounding,
at shapes that are not multiples of any tile; the per-token quantizer bit-exact."""
import numpy as np
import pytest

from labkernels import check, formats, problems, registry
from labkernels.kernels import int8

pytestmark = pytest.mark.gpu

A8 = [v for v in registry.variants(fmt="a8w8") if not v.reference]
W48 = [v for v in registry.variants(fmt="w4a8")]
# K multiple of 16 (the Tensor Core variants' 16-byte rows) but not of 64/128 (their k steps);
# M and N off every tile (8, 16, 64, 128, 256).
SHAPES = [(1, 1, 16), (3, 129, 528), (16, 72, 4112), (17, 300, 528), (130, 33, 1040), (300, 264, 2064)]


def _shapes(v):
    out = [s for s in SHAPES if v.supports(s[0])]
    if v.impl == "numba":
        out = [s for s in out if s[0] * s[1] * s[2] < 2_000_000]
    return out


@pytest.mark.parametrize("v", A8, ids=lambda v: v.id)
def test_a8w8_exact_and_scaled(v):
    for M, N, K in _shapes(v):
        ok, _, msg = int8.check_exact(v, M, N, K)
        assert ok, msg
        r = check.check_variant(v, M, N, K)
        assert r.passed, str(r)


@pytest.mark.parametrize("vid", ["int8/v01_dp4a_numba", "int8/v02_dp4a_gemv", "int8/v03_dp4a_gemm"])
def test_dp4a_variants_take_k_multiple_of_4(vid):
    v = registry.get(vid)
    for M, N, K in [(1, 7, 4), (3, 65, 68), (2, 40, 1028)]:
        ok, _, msg = int8.check_exact(v, M, N, K)
        assert ok, msg


@pytest.mark.parametrize("config", sorted(int8.V06_CONFIGS))
def test_v06_every_config(config):
    import cupy

    prob = problems.get("a8w8")
    for M, N, K in [(130, 300, 528), (257, 136, 4112)]:
        host = prob.inputs(M, N, K, np.random.default_rng(M))
        dev = {k: cupy.asarray(a) for k, a in host.items()}
        out = cupy.full((M, N), -(2**31), dtype=cupy.int32)
        got = int8.mma_gemm(**dev, out=out, config=config).get()
        assert np.array_equal(got.astype(np.float64), problems.int8_product(host["x"], host["w"])), config


def test_torch_int_mm_peer():
    v = registry.get("int8/v00_torch_int_mm")
    ok, why = v.runnable()
    if not ok:
        pytest.skip(why)
    for M, N, K in [(17, 64, 256), (300, 1000, 4096)]:
        r = check.check_variant(v, M, N, K)
        assert r.passed, str(r)


@pytest.mark.parametrize("v", W48, ids=lambda v: v.id)
@pytest.mark.parametrize("group_size", [32, 64, 128, None])
def test_w4a8(v, group_size):
    g = group_size or 32
    for M, N, K in [(1, 8, 128), (3, 129, 33 * g), (16, 1000, 4096), (17, 300, 33 * g), (300, 264, 4096)]:
        if not v.supports(M):
            continue
        r = check.check_variant(v, M, N, K, group_size=group_size)
        assert r.passed, str(r)


@pytest.mark.parametrize("vid", ["int8/v06_mma_gemm", "int8/v07_w4a8_mma", "int8/v08_w4a8_gemv"])
def test_same_result_twice(vid):
    """A race shows as a result that moves between runs on the same inputs."""
    import cupy

    v = registry.get(vid)
    M = 16 if v.max_m else 300
    host = problems.get(v.fmt).inputs(M, 520, 2048, np.random.default_rng(3))
    dev = {k: cupy.asarray(a) for k, a in host.items()}
    if v.prepare:
        dev = v.prepare(dev)
    assert np.array_equal(v.launch(**dev).get(), v.launch(**dev).get())


def test_quantize_per_token_is_bit_exact():
    import cupy

    rng = np.random.default_rng(0)
    x = (rng.standard_normal((37, 1000)) * rng.uniform(0.01, 100, (37, 1))).astype(np.float16)
    x[3] = 0  # an all-zero row: scale 1, codes 0
    x[5, :4] = [1.0, -1.0, 0.5, 127.0]  # ties at half a step
    q, s = int8.quantize_per_token(cupy.asarray(x))
    qt = formats.quantize_int(x, bits=8, group_size=None)
    assert np.array_equal(q.get(), qt.q) and np.array_equal(s.get(), qt.scales)


@pytest.mark.parametrize("hint,split", [(0, 1), (1, 1), (1, 2), (0, 4), (1, 8)])
def test_dp4a_gemv_tunings_are_exact(hint, split):
    """v02 with either weight load (plain __ldg or the streaming L2::256B form), and with one
    or several warps per row, gives the exact integer sums (tails of N and K included)."""
    import cupy

    rng = np.random.default_rng(11 + hint + 2 * split)
    for M, N, K in [(1, 1037, 4112), (3, 130, 8192), (1, 9, 48), (2, 41, 1028)]:
        x = rng.integers(-128, 128, (M, K), dtype=np.int8)
        w = rng.integers(-128, 128, (N, K), dtype=np.int8)
        ref = x.astype(np.int64) @ w.astype(np.int64).T
        out = cupy.full((M, N), -12345, dtype=cupy.int32)  # poisoned
        got = int8.dp4a_gemv(cupy.asarray(x), cupy.ones((M, 1), cupy.float16), cupy.asarray(w),
                             cupy.ones((N, 1), cupy.float16), out=out,
                             tuning={"WARPS": 8, "UNROLL": 2, "HINT": hint, "SPLIT": split})
        assert np.array_equal(cupy.asnumpy(got).astype(np.int64), ref), (M, N, K, hint, split)


#: The Hopper GEMMs' settings: v09 with two or three warpgroups a block (128 or 192 rows a tile); v10
#: (mma.sync fed by TMA) at both tile widths and pipeline depths, one block per tile or a persistent
#: grid (whose blocks carry the pipeline's slots and phases from tile to tile).
HOPPER_TILINGS = [("wgmma_gemm", "int8/v09_wgmma", t)
                  for t in ({"WGS": 2, "STAGES": 4}, {"WGS": 3, "STAGES": 4}, {"WGS": 3, "STAGES": 3})] + [
                  ("mma_tma_gemm", "int8/v10_mma_tma", t)
                  for t in ({"BN": 256, "STAGES": 4}, {"BN": 256, "STAGES": 2, "PIPE": 0}, {"BN": 128, "STAGES": 3},
                            {"BN": 256, "STAGES": 3, "PERSIST": 1, "PIPE": 0},
                            {"BN": 128, "STAGES": 4, "PERSIST": 1, "GROUP_M": 2},
                            {"BN": 256, "STAGES": 2, "PERSIST": 1, "GROUP_M": 16})]


@pytest.mark.parametrize("launch, vid, tuning", HOPPER_TILINGS, ids=lambda p: p if isinstance(p, str) else str(p))
def test_hopper_gemm_tiles_are_exact(launch, vid, tuning):
    """The exact integer sums at M, N, K off every tile, into a poisoned output, including fewer
    k-chunks than stages and more, and (the last two shapes) more tiles than an H100 has SMs (9 x 17
    to 9 x 33 tiles of 128 rows): a persistent block then computes several."""
    import zlib

    import cupy

    ok, why = registry.get(vid).runnable()
    if not ok:
        pytest.skip(why)
    rng = np.random.default_rng(zlib.crc32(repr((vid, tuning)).encode()))
    for M, N, K in [(1, 8, 16), (200, 300, 1040), (129, 257, 4112), (193, 257, 4112), (385, 520, 2064),
                    (1100, 2100, 528), (1100, 4100, 64)]:
        x = rng.integers(-128, 128, (M, K), dtype=np.int8)
        w = rng.integers(-128, 128, (N, K), dtype=np.int8)
        x[0, 0], w[0, 0] = -128, -128  # the extreme product
        ref = x.astype(np.int64) @ w.astype(np.int64).T
        out = cupy.full((M, N), -12345, dtype=cupy.int32)  # poisoned
        got = getattr(int8, launch)(cupy.asarray(x), cupy.ones((M, 1), cupy.float16), cupy.asarray(w),
                                    cupy.ones((N, 1), cupy.float16), out=out, tuning=tuning)
        assert np.array_equal(cupy.asnumpy(got).astype(np.int64), ref), (M, N, K, tuning)
