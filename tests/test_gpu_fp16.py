"""fp16 variants on a real GPU: checked at awkward shapes, bad input rejected (``pytest -m gpu``)."""
import numpy as np
import pytest

from labkernels import bench, check, registry

pytestmark = pytest.mark.gpu

SHAPES_GEMV = [(1, 1, 1), (1, 129, 200), (3, 1000, 7), (16, 257, 1032), (5, 64, 4104), (2, 4096, 4096)]
SHAPES_GEMM = SHAPES_GEMV + [(33, 130, 72), (130, 33, 1025)]


@pytest.mark.parametrize("v", registry.variants(family="fp16"), ids=lambda v: v.id)
def test_variant_checks(v):
    ok, why = v.runnable()
    if not ok:
        pytest.skip(why)
    shapes = SHAPES_GEMV if v.op == "gemv" else SHAPES_GEMM
    for M, N, K in shapes:
        if v.id in ("fp16/v04_wgmma", "fp16/v05_wgmma_tma") and K % 8:
            continue  # 16-byte rows: test_wgmma_k_not_a_multiple_of_8 checks the error
        if v.supports(M):
            r = check.check_variant(v, M, N, K)
            assert r.passed, str(r)


def test_same_result_twice():
    """A race shows as a result that moves between runs on the same inputs."""
    import cupy

    v = registry.get("fp16/v03_gemv_warp")
    rng = np.random.default_rng(1)
    x = cupy.asarray(rng.standard_normal((16, 4096)).astype(np.float16))
    w = cupy.asarray(rng.standard_normal((1000, 4096)).astype(np.float16))
    a = v.launch(x, w).get()
    b = v.launch(x, w).get()
    assert np.array_equal(a, b)


@pytest.mark.parametrize("vid", ["fp16/v02_naive", "fp16/v03_gemv_warp", "fp16/v00_cublas", "fp16/v01_naive_numba"])
def test_bad_input(vid):
    import cupy

    v = registry.get(vid)
    x = cupy.ones((2, 64), dtype=cupy.float16)
    w = cupy.ones((8, 64), dtype=cupy.float16)
    with pytest.raises(TypeError, match="x must have dtype float16"):
        v.launch(x.astype(cupy.float32), w)
    with pytest.raises(ValueError, match=r"w must have shape \(N, 64\)"):
        v.launch(x, w[:, :32].copy())
    with pytest.raises(ValueError, match="C-contiguous"):
        v.launch(x, cupy.ones((64, 8), dtype=cupy.float16).T)
    with pytest.raises(ValueError, match=r"out must have shape \(2, 8\)"):
        v.launch(x, w, out=cupy.empty((2, 9), dtype=cupy.float16))
    if v.impl == "cupy":
        with pytest.raises(TypeError, match="pass CuPy arrays"):
            v.launch(x.get(), w.get())
    if v.max_m:
        with pytest.raises(ValueError, match="handles M up to 16"):
            v.launch(cupy.ones((17, 64), dtype=cupy.float16), w)


def test_time_kernel_and_record():
    import cupy

    from labkernels import roofline

    x = cupy.ones((1, 4096), dtype=cupy.float16)
    w = cupy.ones((4096, 4096), dtype=cupy.float16)
    v = registry.get("fp16/v03_gemv_warp")
    t = bench.time_kernel(v.launch, [(x, w)], warmup=2, iters=10)
    assert t.median_us > 0 and t.p10_us <= t.median_us <= t.p90_us
    c = roofline.datasheet_ceilings("h100-sxm")
    r = bench.make_record(v.id, "fp16", 1, 4096, 4096, t, c, checked=True)
    assert r.gbps == pytest.approx(roofline.bytes_moved("fp16", 1, 4096, 4096) / (t.median_us * 1e-6) / 1e9)
    assert 0 < r.pct_of_bound <= 100 * 1.5  # a time under its bound would be a measurement error
    tg = bench.time_kernel(v.launch, [(x, w)], warmup=2, iters=10, graph=True)
    assert tg.median_us > 0 and "graph" in tg.method


@pytest.mark.parametrize("tuning", [{"WGS": 2, "STAGES": 3}, {"WGS": 3, "STAGES": 4}], ids=str)
def test_wgmma_tiles(tuning):
    """v04 with 128- or 192-row tiles, M, N, K off every tile."""
    from labkernels.kernels import fp16

    v = registry.get("fp16/v04_wgmma")
    ok, why = v.runnable()
    if not ok:
        pytest.skip(why)
    launch = lambda **kw: fp16.wgmma_gemm(**kw, tuning=tuning)  # noqa: E731
    for M, N, K in [(1, 8, 8), (193, 300, 1032), (385, 520, 4104), (130, 257, 72)]:
        r = check.run_check(launch, "fp16", M, N, K, name=f"v04 {tuning}")
        assert r.passed, str(r)


def test_wgmma_k_not_a_multiple_of_8():
    import cupy

    v = registry.get("fp16/v04_wgmma")
    ok, why = v.runnable()
    if not ok:
        pytest.skip(why)
    x = cupy.ones((2, 12), dtype=cupy.float16)
    with pytest.raises(ValueError, match="multiple of 8"):
        v.launch(x, cupy.ones((8, 12), dtype=cupy.float16))
    with pytest.raises(ValueError, match="WGS"):
        v.launch(cupy.ones((2, 16), dtype=cupy.float16), cupy.ones((8, 16), dtype=cupy.float16), tuning={"WGS": 4})


@pytest.mark.parametrize("stages", [2, 4])
def test_tma_pipeline(stages):
    """v05 (TMA, mbarriers, producer and consumer warpgroups) at shapes off every tile, with the
    pipeline wrapping round its slots many times (K / 64 stages), and the same result twice."""
    import cupy

    from labkernels.kernels import fp16

    v = registry.get("fp16/v05_wgmma_tma")
    ok, why = v.runnable()
    if not ok:
        pytest.skip(why)
    launch = lambda **kw: fp16.wgmma_tma_gemm(**kw, tuning={"STAGES": stages})  # noqa: E731
    for M, N, K in [(1, 8, 8), (129, 300, 1032), (300, 520, 8200), (130, 257, 72)]:
        r = check.run_check(launch, "fp16", M, N, K, name=f"v05 STAGES={stages}")
        assert r.passed, str(r)
    rng = np.random.default_rng(2)
    x = cupy.asarray(rng.standard_normal((257, 2048)).astype(np.float16))
    w = cupy.asarray(rng.standard_normal((520, 2048)).astype(np.float16))
    assert np.array_equal(launch(x=x, w=w).get(), launch(x=x, w=w).get())
