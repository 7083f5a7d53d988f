"""int8 family on the CPU: the Numba variant in the simulator (exact and scaled), the offline
W4A8 layouts decoded the way the kernels decode them, and the per-token quantizer."""
import numpy as np
import pytest

from labkernels import check, formats, problems, registry
from labkernels.kernels import int8


@pytest.mark.parametrize("M, N, K", [(1, 1, 4), (3, 20, 68), (5, 33, 132)])
def test_numba_dp4a_in_simulator(M, N, K):
    r = check.check_variant("int8/v01_dp4a_numba", M, N, K)
    assert r.passed, str(r)
    ok, n_bad, msg = int8.check_exact("int8/v01_dp4a_numba", M, N, K)
    assert ok, msg


def test_numba_exact_check_catches_a_wrong_sum():
    v = registry.get("int8/v01_dp4a_numba")
    real = v.launch

    def off_by_one(**kw):
        out = real(**kw)
        out[0, 0] += 1
        return out

    wrapped = registry.Variant(**{**v.__dict__, "launch": off_by_one})
    ok, n_bad, msg = int8.check_exact(wrapped, 2, 4, 8, seed=1)
    assert not ok and n_bad == 1 and "first at (0, 0)" in msg


def test_a8w8_inputs_cover_the_int8_extremes():
    inp = problems.get("a8w8").inputs(3, 5, 64, np.random.default_rng(0))
    for k in ("x", "w"):
        assert inp[k].min() == -128 and inp[k].max() == 127


def test_int8_product_is_exact_for_the_worst_case():
    K = 8192
    x = np.full((1, K), -128, np.int8)
    w = np.full((2, K), -128, np.int8)
    assert problems.int8_product(x, w)[0, 0] == K * 16384  # 2**27, exactly


def _w4a8(N=24, K=256, group_size=128, seed=0):
    inp = problems.get("w4a8").inputs(1, N, K, np.random.default_rng(seed), group_size=group_size)
    return inp, formats.unpack_int4(inp["qweight"]).astype(np.int32) - 8  # q in -8..7


def _widen(words):
    """int4x8_to_int8x16 from lab.cuh, in NumPy: (lo, hi) int8 bytes, each 16·q."""
    w = words.astype(np.uint32)
    lo = ((w << np.uint32(4)) & np.uint32(0xF0F0F0F0)).astype("<u4").view(np.int8)
    hi = (w & np.uint32(0xF0F0F0F0)).astype("<u4").view(np.int8)
    return lo.reshape(*words.shape, 4).astype(np.int32), hi.reshape(*words.shape, 4).astype(np.int32)


def test_prepack_w4a8_gemv_lines_up_with_x():
    inp, q = _w4a8()
    pw = int8.prepack_w4a8_gemv(inp["qweight"])  # [N, K/8]
    lo, hi = _widen(pw)  # [N, K/8, 4] each
    N, K = q.shape
    assert np.array_equal(lo, 16 * q.reshape(N, K // 8, 2, 4)[:, :, 0])
    assert np.array_equal(hi, 16 * q.reshape(N, K // 8, 2, 4)[:, :, 1])


@pytest.mark.parametrize("N, K", [(24, 256), (13, 96)])
def test_prepack_w4a8_mma_puts_every_weight_in_its_fragment(N, K):
    inp, q = _w4a8(N, K, group_size=32)
    pw = int8.prepack_w4a8_mma(inp["qweight"])  # [NT, KC, 32, 4]
    lo, hi = _widen(pw)  # [NT, KC, 32 lanes, 4 steps, 4 bytes]
    for nt in range(pw.shape[0]):
        for kc in range(pw.shape[1]):
            for lane in range(32):
                n, t = 8 * nt + lane // 4, lane % 4
                for s in range(4):
                    k0 = 128 * kc + 32 * s
                    for j in range(4):
                        for reg, k in ((lo, k0 + 4 * t + j), (hi, k0 + 16 + 4 * t + j)):
                            want = 16 * q[n, k] if n < N and k < K else 0  # padding multiplies as zero
                            assert reg[nt, kc, lane, s, j] == want, (nt, kc, lane, s, j)


@pytest.mark.parametrize("group_size", [32, 64, 128, None])
def test_w4a8_gemv_arithmetic_matches_the_reference(group_size):
    """v08's arithmetic in NumPy: per 32-weight chunk an exact int sum of X·16q, scaled by s/16."""
    prob = problems.get("w4a8")
    M, N, K = 3, 10, 384
    inp = prob.inputs(M, N, K, np.random.default_rng(2), group_size=group_size)
    lo, hi = _widen(int8.prepack_w4a8_gemv(inp["qweight"]))  # [N, K/8, 4]
    w16 = np.concatenate([lo, hi], axis=-1).reshape(N, K)  # back in k order
    G = inp["scales"].shape[1]
    x = inp["x"].astype(np.int64)
    y = np.zeros((M, N))
    for c in range(K // 32):
        p = x[:, 32 * c:32 * c + 32] @ w16[:, 32 * c:32 * c + 32].T
        g = min(32 * c // (K // G), G - 1)
        y += p * (inp["scales"][:, g].astype(np.float32) * np.float32(0.0625))
    y *= inp["x_scale"].astype(np.float64)
    ok, *_ = check.compare(y.astype(np.float16), prob.reference(inp), prob.tol, prob.norm_tol)
    assert ok


def test_quantize_per_token_numpy_is_the_codec():
    x = (np.random.default_rng(0).standard_normal((4, 100)) * 5).astype(np.float16)
    q, s = int8.quantize_per_token(x)
    qt = formats.quantize_int(x, bits=8, group_size=None)
    assert np.array_equal(q, qt.q) and np.array_equal(s, qt.scales)


def test_torch_peer_refuses_small_m():
    v = registry.get("int8/v00_torch_int_mm")
    assert not v.supports(16) and v.supports(17)
    assert v.m_range() == "from 17"


def test_v02_m1_tuning_compiles_to_the_streaming_split_row_kernel():
    """The M = 1 defaults build the kernel with the streaming weight load and the shared-memory
    reduction of the warps that share a row; other M keep the plain one-warp-per-row kernel."""
    from labkernels import build

    one = int8.V02_TUNING(1)
    assert one["SPLIT"] > 1 and one["WARPS"] % one["SPLIT"] == 0 and one["HINT"] == 1
    ptx = build.compile_file("int8/v02_dp4a_gemv.cu", "sm_90", {**one, "ROWS": 1, "RAW": 0}).ptx
    assert "ld.global.nc.L1::no_allocate.L2::256B.v4.u32" in ptx and "bar.sync" in ptx and "dp4a.s32.s32" in ptx
    ptx4 = build.compile_file("int8/v02_dp4a_gemv.cu", "sm_75", {**int8.V02_TUNING(4), "ROWS": 4, "RAW": 0}).ptx
    assert "ld.global.nc.v4" in ptx4 and "bar.sync" not in ptx4


def test_v02_split_must_divide_warps():
    x = np.zeros((1, 64), np.int8)
    with pytest.raises(ValueError, match=r"tuning SPLIT must divide WARPS \(4\); got 3"):
        int8.dp4a_gemv(x, np.ones((1, 1), np.float16), np.zeros((8, 64), np.int8), np.ones((8, 1), np.float16),
                       tuning={"WARPS": 4, "SPLIT": 3})
