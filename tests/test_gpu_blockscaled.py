"""Every block-scaled variant this GPU can run, at shapes off every tile; NVFP4's fp16 widening
(the first pass of v04_nvfp4_wgmma) bit for bit."""
import numpy as np
import pytest

from labkernels import check, registry

pytestmark = pytest.mark.gpu

VARIANTS = [v for v in registry.variants(family="blockscaled")]
SHAPES = [(1, 1, 32), (1, 129, 544), (3, 77, 96), (16, 72, 4128), (17, 300, 544), (33, 256, 1056),
          (130, 264, 2080), (300, 520, 8192)]


@pytest.mark.parametrize("v", VARIANTS, ids=lambda v: v.id)
def test_blockscaled_variant(v):
    ok, why = v.runnable()
    if not ok:
        pytest.skip(why)
    ran = 0
    for M, N, K in SHAPES:
        if not v.supports(M) or (v.impl == "numba" and M * N * K > 2_000_000):
            continue
        r = check.check_variant(v, M, N, K, sample_rows=64 if M > 64 else None)
        assert r.passed, str(r)
        ran += 1
    assert ran


@pytest.mark.parametrize("M, N, K", [(1, 8, 16), (5, 40, 48), (129, 257, 208), (200, 300, 1040)])
def test_nvfp4_wgmma_at_k_of_odd_blocks_of_16(M, N, K):
    """K a multiple of NVFP4's 16 but not of 32 (which the GEMV needs): tails inside one 128-byte stage."""
    v = registry.get("blockscaled/v04_nvfp4_wgmma")
    ok, why = v.runnable()
    if not ok:
        pytest.skip(why)
    r = check.check_variant(v, M, N, K)
    assert r.passed, str(r)
    from labkernels.kernels import blockscaled

    launch = lambda **kw: blockscaled.nvfp4_wgmma(**kw, tuning={"STAGES": 2})  # noqa: E731
    r = check.run_check(launch, "nvfp4", M, N, K, name="v04 STAGES=2")
    assert r.passed, str(r)


@pytest.mark.parametrize("R, K", [(1, 16), (3, 48), (37, 4128), (1024, 8192)])
def test_nvfp4_to_fp16_is_bit_exact(R, K):
    """nvfp4_to_fp16.cu against the formats decoders' float64 product, on random codes (every e2m1
    code, every e4m3 scale code but NaN ones; negative scales too), into a poisoned output: every
    element must be written, and equal to the reference to the bit (signed zeros included)."""
    from labkernels import device

    device.require_gpu("the NVFP4 widening")
    import cupy

    from labkernels.kernels import blockscaled

    rng = np.random.default_rng(R * K)
    packed = rng.integers(0, 256, size=(R, K // 2), dtype=np.uint8)
    scales = rng.integers(0, 256, size=(R, K // 16), dtype=np.uint8)
    scales[(scales & 0x7F) == 0x7F] = 0x38  # NaN codes: checked below on their own
    out = cupy.full((R, K), 0x7BFF, dtype=cupy.uint16).view(cupy.float16)  # 65504: no product is that large
    got = blockscaled.widen_nvfp4(cupy.asarray(packed), cupy.asarray(scales), out=out).get()
    ref = blockscaled.widen_nvfp4_reference(packed, scales)
    assert np.array_equal(got.view(np.uint16), ref.view(np.uint16))

    nan_scales = np.full((1, 1), 0x7F, np.uint8)
    got = blockscaled.widen_nvfp4(cupy.asarray(np.ascontiguousarray(packed[:1, :8])), cupy.asarray(nan_scales)).get()
    assert np.isnan(got).all()


@pytest.mark.parametrize("fmt", ["mxfp4", "nvfp4"])
@pytest.mark.parametrize("tuning", [{"HINT": 1}, {"PREFETCH": 1}, {"HINT": 1, "PREFETCH": 1, "UNROLL": 2},
                                    {"PREFETCH": 1, "RPW": 4, "WARPS": 4}, {"PREFETCH": 1, "XSMEM": 0}])
def test_fp4_gemv_load_tunings(fmt, tuning):
    """v02's load options (streaming loads, the register double buffer, the first loads before X is
    decoded) against the float64 reference, at shapes whose rows end mid-step."""
    from functools import partial

    from labkernels.kernels import blockscaled

    v = registry.get(f"blockscaled/v02_{fmt}_gemv")
    ok, why = v.runnable()
    if not ok:
        pytest.skip(why)
    launch = partial(blockscaled.mxfp4_gemv if fmt == "mxfp4" else blockscaled.nvfp4_gemv, tuning=tuning)
    for M, N, K in [(1, 129, 544), (3, 77, 96), (16, 72, 4128), (1, 1000, 8192)]:
        r = check.run_check(launch, fmt, M, N, K, name=f"{v.id} {tuning}", impl=v.impl, tol=v.tol)
        assert r.passed, str(r)


V07_TUNINGS = [{**t, "CONSUMERS": 2} for t in (
    {"BN": 128, "STAGES": 4}, {"BN": 192, "STAGES": 4}, {"BN": 128, "STAGES": 2, "DUAL": 1}, {"BN": 192, "STAGES": 5},
    {"BN": 128, "STAGES": 6}, {"BN": 192, "STAGES": 2}, {"BN": 192, "STAGES": 4, "PINGPONG": 1},
    {"BN": 128, "STAGES": 2, "PINGPONG": 1}, {"BN": 192, "STAGES": 3, "PINGPONG": 1})] + [
    {"BN": 128, "STAGES": 4, "CONSUMERS": 3}, {"BN": 128, "STAGES": 2, "CONSUMERS": 3}]


@pytest.mark.parametrize("tuning", V07_TUNINGS, ids=lambda t: "-".join(f"{k}{v}" for k, v in t.items()))
def test_mxfp8_tma_tunings(tuning):
    """v07 (TMA producer, decoupled consumers) at each tile width and pipeline depth it offers, DUAL,
    PINGPONG and the third consumer (192-row tiles) too: fewer stages than k-chunks and more, M, N, K
    off every tile (M = 200, 385: 8 rows into a second 192-row tile, 1 into a third), K % 128 == 0 (the scales read as
    4-byte words) and not (byte by byte), against the float64 reference into a poisoned output."""
    from functools import partial

    from labkernels.kernels import blockscaled

    v = registry.get("blockscaled/v07_mxfp8_tma")
    ok, why = v.runnable()
    if not ok:
        pytest.skip(why)
    launch = partial(blockscaled.mxfp8_wgmma_tma, tuning=tuning)
    for M, N, K in [(1, 8, 32), (130, 200, 544), (257, 520, 4128), (129, 392, 2048), (300, 200, 8192),
                    (200, 136, 1056), (385, 264, 4096)]:
        r = check.run_check(launch, "mxfp8", M, N, K, name=f"{v.id} {tuning}", impl=v.impl, tol=v.tol,
                            acc_bits=v.acc_bits)
        assert r.passed, str(r)
