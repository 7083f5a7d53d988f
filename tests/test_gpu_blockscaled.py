"""Every block-scaled variant this GPU can run, at shapes off every tile."""
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
