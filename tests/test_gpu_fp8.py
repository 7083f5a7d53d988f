"""Every FP8 variant on a real GPU at shapes off every tile, and the error Hopper's fp8 Tensor
Core accumulation leaves at large K stays inside the problem's tolerance."""
import pytest

from labkernels import check, registry

pytestmark = pytest.mark.gpu

FP8 = [v for v in registry.variants(fmt="fp8")]
SHAPES = [(1, 1, 16), (3, 129, 528), (16, 72, 4112), (17, 300, 528), (33, 256, 1040), (130, 264, 2064),
          (300, 520, 8192)]


@pytest.mark.parametrize("v", FP8, ids=lambda v: v.id)
def test_fp8_variant(v):
    ok, why = v.runnable()
    if not ok:
        pytest.skip(why)
    ran = 0
    for M, N, K in SHAPES:
        if not v.supports(M) or (v.impl == "numba" and M * N * K > 2_000_000):
            continue
        if v.reference and (K % 16 or N % 16):
            continue  # cuBLASLt fp8 wants K and N multiples of 16
        r = check.check_variant(v, M, N, K, sample_rows=64 if M > 64 else None)
        assert r.passed, str(r)
        ran += 1
    assert ran


@pytest.mark.parametrize("tuning", [{"PROMOTE": 1, "KSUB": 1, "STAGES": 4, "WGS": 2},
                                    {"PROMOTE": 1, "KSUB": 2, "STAGES": 3, "WGS": 2},
                                    {"PROMOTE": 1, "KSUB": 1, "STAGES": 5, "WGS": 3},
                                    {"PROMOTE": 1, "KSUB": 1, "STAGES": 4, "WGS": 3}], ids=str)
def test_wgmma_fp8_at_large_k(tuning):
    """Promotion keeps the sum in fp32: at K = 16384 the error stays within the fp8 tolerance."""
    from labkernels.kernels import fp8

    v = registry.get("fp8/v04_wgmma")
    ok, why = v.runnable()
    if not ok:
        pytest.skip(why)
    launch = lambda **kw: fp8.wgmma_gemm(**kw, tuning=tuning)  # noqa: E731
    r = check.run_check(launch, "fp8", 256, 520, 16384, name=f"v04 {tuning}", sample_rows=64,
                        acc_bits=fp8.HOPPER_FP8_ACC_BITS)
    assert r.passed, str(r)


@pytest.mark.parametrize("tuning", [{"WGS": 3, "STAGES": 4}, {"WGS": 3, "STAGES": 5}], ids=str)
def test_wgmma_fp8_three_warpgroups(tuning):
    """v04 with 192-row tiles at shapes off every tile."""
    from labkernels.kernels import fp8

    v = registry.get("fp8/v04_wgmma")
    ok, why = v.runnable()
    if not ok:
        pytest.skip(why)
    launch = lambda **kw: fp8.wgmma_gemm(**kw, tuning=tuning)  # noqa: E731
    for M, N, K in [(3, 129, 528), (193, 300, 2064), (400, 264, 1040)]:
        r = check.run_check(launch, "fp8", M, N, K, name=f"v04 {tuning}", acc_bits=fp8.HOPPER_FP8_ACC_BITS)
        assert r.passed, str(r)


@pytest.mark.parametrize("tuning", [{"BN": 192, "STAGES": 4}, {"BN": 128, "STAGES": 6}, {"BN": 192, "STAGES": 2}],
                         ids=str)
def test_tma_fp8(tuning):
    """v05 (TMA, producer and consumer warpgroups, per-stage promotion) at shapes off every tile, and at
    K = 16384 within the fp8 tolerance; the same result twice."""
    import cupy
    import numpy as np

    from labkernels.kernels import fp8

    v = registry.get("fp8/v05_wgmma_tma")
    ok, why = v.runnable()
    if not ok:
        pytest.skip(why)
    launch = lambda **kw: fp8.wgmma_tma_gemm(**kw, tuning=tuning)  # noqa: E731
    for M, N, K in [(3, 129, 528), (193, 300, 2064), (400, 200, 1040), (256, 520, 16384)]:
        r = check.run_check(launch, "fp8", M, N, K, name=f"v05 {tuning}", sample_rows=64,
                            acc_bits=fp8.HOPPER_FP8_ACC_BITS)
        assert r.passed, str(r)
    rng = np.random.default_rng(4)
    x = cupy.asarray(rng.integers(0, 256, (130, 4096), dtype=np.uint8) & 0xF7)
    w = cupy.asarray(rng.integers(0, 256, (400, 4096), dtype=np.uint8) & 0xF7)
    xs, ws = cupy.ones((130, 1), cupy.float32), cupy.ones((400, 1), cupy.float32)
    assert np.array_equal(launch(x=x, x_scale=xs, w=w, w_scale=ws).get(), launch(x=x, x_scale=xs, w=w, w_scale=ws).get())
