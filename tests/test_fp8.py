"""FP8 family on the CPU: the Numba variant in the simulator, the GEMV's portable e4m3 decoder
emulated bit for bit, and the problem's inputs."""
import numpy as np
import pytest

from labkernels import check, formats, problems


@pytest.mark.parametrize("M, N, K", [(1, 1, 16), (3, 20, 64), (5, 33, 100)])
def test_numba_fp8_in_simulator(M, N, K):
    r = check.check_variant("fp8/v01_naive_numba", M, N, K)
    assert r.passed, str(r)


def test_bit_trick_decodes_every_e4m3_code():
    """v02's decoder below sm_89: EEEEMMM moved to bit 7 of an fp16, the sign to bit 15, times 2^8."""
    codes = np.arange(256, dtype=np.uint16)
    h = (((codes & 0x7F) << 7) | ((codes & 0x80) << 8)).astype(np.uint16).view(np.float16)
    got = h.astype(np.float32) * np.float32(256.0)
    want = formats.decode_e4m3(codes.astype(np.uint8))
    finite = ~np.isnan(want)
    assert finite.sum() == 254  # every code but the two NaNs
    assert np.array_equal(got[finite], want[finite])
    # and the product by 256 is exact in fp16 itself (what the kernel computes)
    assert np.array_equal((h * np.float16(256)).astype(np.float32)[finite], want[finite])


def test_fp8_inputs_cover_the_extreme_codes():
    inp = problems.get("fp8").inputs(4, 6, 64, np.random.default_rng(0))
    for k in ("x", "w"):
        c = inp[k]
        assert {0x7E, 0xFE, 0x01} <= set(np.unique(c).tolist())
        assert not np.isin(c, [0x7F, 0xFF]).any()  # no NaN codes


def test_fp8_reference_uses_the_decoded_codes():
    inp = problems.get("fp8").inputs(2, 3, 32, np.random.default_rng(1))
    x = formats.decode_e4m3(inp["x"]).astype(np.float64)
    w = formats.decode_e4m3(inp["w"]).astype(np.float64)
    ref = problems.get("fp8").reference(inp)
    assert np.allclose(ref, (x @ w.T) * inp["x_scale"] * inp["w_scale"].T, rtol=0, atol=0)
