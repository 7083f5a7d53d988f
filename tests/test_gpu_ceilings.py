"""The ceilings measured on a real GPU are plausible: every rate positive, none above its
datasheet peak, and ordered as the lessons say (dp4a below the int8 Tensor Cores, wgmma
above mma.sync on Hopper)."""
import numpy as np
import pytest

from labkernels import device, roofline as rl

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:  # a fresh cache: measure, never read an old file
        mp.setenv("LABKERNELS_CACHE", str(tmp_path_factory.mktemp("ceilings")))
        yield rl.measure_ceilings(refresh=True, library=False)


def test_instruction_paths_are_measured_and_ordered(measured):
    c = measured
    caps = device.capabilities(c.cc)
    assert np.isfinite(c.bw) and c.bw > 0 and c.alu > 0 and c.ffma > 0
    if caps["dp4a"]:
        assert c.dp4a > 0
        if caps["mma_s8_m16n8k32"]:
            assert c.dp4a < c.mma["int8"] / 2, "dp4a on CUDA cores should be far below the int8 Tensor Cores"
    if caps["wmma_s8"]:
        assert c.wmma["int8"] > 0 and c.wmma["int8"] <= 1.05 * c.mma["int8"]
    if caps["wmma_f16"]:
        assert c.wmma["fp16"] > 0
    if caps["wgmma"]:
        for p in ("fp16", "int8", "fp8"):
            assert c.wgmma[p] > 0
        assert c.wgmma["int8"] > c.mma["int8"], "wgmma exists because mma.sync cannot reach Hopper's peak"
    else:
        assert not c.wgmma


def test_no_measured_rate_exceeds_the_datasheet(measured):
    c = measured
    if not c.key:
        pytest.skip(f"{c.gpu} is not in the spec table: no datasheet to compare with")
    d = rl.datasheet_ceilings(c.key)
    for path in ("mma_sync", "wmma", "wgmma"):
        for p in rl.MMA_PRECISIONS:
            try:
                got = c.mma_rate(p, path)
            except ValueError:
                continue
            peak = d.library.get(p) or 0
            assert peak and got <= 1.05 * peak, f"{path} {p}: {got / 1e12:.0f} T/s above the datasheet {peak / 1e12:.0f}"
