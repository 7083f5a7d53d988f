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


@pytest.mark.parametrize("tuning", [{"PROMOTE": 1, "KSUB": 1, "STAGES": 4}, {"PROMOTE": 1, "KSUB": 2, "STAGES": 3}],
                         ids=str)
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
