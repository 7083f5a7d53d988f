"""Block-scaled family on the CPU: the Numba variants in the simulator, the FP4 GEMV's decoder
emulated bit for bit, the exactness argument of its half2 block sums, the problems' inputs,
and the launchers' refusals."""
import numpy as np
import pytest

from labkernels import check, formats, problems
from labkernels.kernels import blockscaled

FMTS = ("mxfp8", "mxfp4", "nvfp4")


@pytest.mark.parametrize("fmt", FMTS)
@pytest.mark.parametrize("M, N, K", [(1, 1, 32), (3, 20, 64), (5, 33, 160)])
def test_numba_in_simulator(fmt, M, N, K):
    r = check.check_variant(f"blockscaled/v01_{fmt}_numba", M, N, K)
    assert r.passed, str(r)


def test_nvfp4_numba_takes_a_single_block_of_16():
    r = check.check_variant("blockscaled/v01_nvfp4_numba", 2, 7, 48)  # K = 3 blocks of 16
    assert r.passed, str(r)


def _decode_like_v02(words: np.ndarray) -> np.ndarray:
    """v02's e2m1x8_to_half2x4 in NumPy: per word, half2 k = (nibble k, nibble k + 4) placed
    at bits 11..9 (e1 e0 m) and 15 (sign) of each fp16."""
    out = []
    for k in range(4):
        t = (words >> np.uint32(4 * k)).astype(np.uint32)
        h = ((t << np.uint32(9)) & np.uint32(0x0E000E00)) | ((t << np.uint32(12)) & np.uint32(0x80008000))
        out.append(h.astype(np.uint32).view(np.float16).reshape(-1, 2))  # (low half, high half)
    return np.stack(out, axis=1)  # [words, k, 2]


def test_fp4_gemv_decoder_is_exact_for_every_code():
    """Every e2m1 code, in every nibble position, decodes to its value times 2^-14 exactly."""
    codes = np.arange(16, dtype=np.uint32)
    for pos in range(8):
        words = codes << np.uint32(4 * pos)
        got = _decode_like_v02(words)
        k, half = pos % 4, pos // 4
        vals = got[:, k, half].astype(np.float64) * 2.0**14
        assert np.array_equal(vals, formats.decode_e2m1(codes.astype(np.uint8)).astype(np.float64))


def test_fp4_gemv_pairs_match_between_operands():
    """X and W go through the same decoder, so the products pair element k with element k."""
    rng = np.random.default_rng(0)
    xw, ww = rng.integers(0, 2**32, size=(2, 64), dtype=np.uint64).astype(np.uint32)
    x = _decode_like_v02(xw).astype(np.float64) * 2**14
    w = _decode_like_v02(ww).astype(np.float64) * 2**14
    xd = formats.decode_e2m1(formats.unpack_fp4(xw.view(np.uint8))).astype(np.float64)
    wd = formats.decode_e2m1(formats.unpack_fp4(ww.view(np.uint8))).astype(np.float64)
    assert (x * w).sum() == (xd * wd).sum()


def test_half2_block_sums_are_exact():
    """The claim v02 rests on: 8 products of e2m1 and 2^-14-scaled e2m1 sum exactly in fp16,
    in any order, even at the largest magnitudes (the worst case for the spacing)."""
    vals = formats.decode_e2m1(np.arange(16, dtype=np.uint8)).astype(np.float64)
    rng = np.random.default_rng(1)
    for trial in range(2000):
        a = rng.choice(vals, 8) if trial else np.full(8, 6.0)
        b = rng.choice(vals, 8) * 2.0**-14 if trial else np.full(8, 6.0 * 2**-14)
        acc = np.float16(0)
        for p, q in zip(a.astype(np.float16), b.astype(np.float16)):
            acc = np.float16(np.float64(p) * np.float64(q) + np.float64(acc))  # one rounding, as hfma2
        assert np.float64(acc) == (a * b).sum()


@pytest.mark.parametrize("fmt", FMTS)
def test_inputs_exercise_scales_zero_blocks_and_max(fmt):
    P = problems.get(fmt)
    inp = P.inputs(4, 8, 256, np.random.default_rng(2))
    block = blockscaled.FORMATS[fmt].block
    assert inp["x_scales"].shape == (4, 256 // block) and inp["w_scales"].shape == (8, 256 // block)
    assert len(np.unique(inp["w_scales"])) >= 5  # several binades
    assert (inp["x_scales"] == 0).any()  # the all-zero block's scale code
    maxcode = 0x7E if fmt == "mxfp8" else 0x77
    assert (inp["w"] == maxcode).any()
    ref = P.reference(inp)
    assert np.isfinite(ref).all() and np.abs(ref).max() < 60000 and np.abs(ref).max() > 0


def test_reference_is_the_product_of_the_dequantized_operands():
    inp = problems.get("nvfp4").inputs(3, 5, 64, np.random.default_rng(3))
    x = formats.dequantize_nvfp4(formats.NVFP4Quantized(inp["x"], inp["x_scales"], inp["x_global"][0]))
    w = formats.dequantize_nvfp4(formats.NVFP4Quantized(inp["w"], inp["w_scales"], inp["w_global"][0]))
    assert np.array_equal(problems.get("nvfp4").reference(inp), x.astype(np.float64) @ w.astype(np.float64).T)


def _numpy_inputs(fmt, M=2, N=3, K=64):
    return problems.get(fmt).inputs(M, N, K, np.random.default_rng(4))


@pytest.mark.parametrize("fmt", FMTS)
def test_wrong_scale_shape_is_refused(fmt):
    inp = _numpy_inputs(fmt)
    inp["w_scales"] = inp["w_scales"][:, :-1].copy()
    with pytest.raises(ValueError, match="w_scales must have shape"):
        blockscaled.check_blockscaled(fmt, **{k: v for k, v in inp.items()}, out=None)


def test_scale_dtype_and_missing_global_are_refused():
    inp = _numpy_inputs("nvfp4")
    bad = {**inp, "x_scales": inp["x_scales"].astype(np.float32)}
    with pytest.raises(TypeError, match="x_scales must have dtype uint8"):
        blockscaled.check_blockscaled("nvfp4", **bad, out=None)
    with pytest.raises(TypeError, match="needs w_global"):
        blockscaled.check_blockscaled("nvfp4", **{**inp, "w_global": None}, out=None)
    mx = _numpy_inputs("mxfp4")
    with pytest.raises(TypeError, match="no per-tensor scales"):
        blockscaled.check_blockscaled("mxfp4", **mx, out=None, x_global=inp["x_global"])


def test_k_not_a_multiple_of_the_block_is_refused():
    inp = _numpy_inputs("mxfp8", K=64)
    x = np.zeros((2, 48), np.uint8)
    with pytest.raises(ValueError, match="multiple of the mxfp8 block size 32"):
        blockscaled.check_blockscaled("mxfp8", x, inp["x_scales"][:, :1].copy(), np.zeros((3, 48), np.uint8),
                                      inp["w_scales"][:, :1].copy(), None)


def test_gemv_refuses_numpy_large_m_and_odd_k():
    inp = _numpy_inputs("mxfp4", M=2, K=64)
    with pytest.raises(TypeError, match="pass CuPy arrays"):
        blockscaled.mxfp4_gemv(**inp)
    big = _numpy_inputs("mxfp4", M=17, K=64)
    with pytest.raises(ValueError, match="handles M up to 16"):
        blockscaled.mxfp4_gemv(**big)
    nv = _numpy_inputs("nvfp4", M=1, K=48)
    with pytest.raises(ValueError, match="K must be a multiple of 32"):
        blockscaled.nvfp4_gemv(**nv)


def test_e2m1_to_e4m3_table_is_exact():
    """e2m1_to_e4m3.cu's 64-bit table: byte i is the e4m3 code of e2m1 magnitude i; the sign
    moves from bit 3 to bit 7. Every one of the 16 codes keeps its value."""
    table = 0x4C4844403C383000
    codes = np.arange(16, dtype=np.uint8)
    widened = np.array([((table >> (8 * (c & 7))) & 0xFF) | ((c & 8) << 4) for c in codes.tolist()], np.uint8)
    assert np.array_equal(formats.decode_e4m3(widened), formats.decode_e2m1(codes))


# --------------------------------------------------------------------------
# NVFP4 v04: the fp16 widening (nvfp4_to_fp16.cu) and the Hopper dispatch.
# --------------------------------------------------------------------------

E4M3_NAN = (0x7F, 0xFF)


def _widen_nvfp4_like_kernel(packed: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """nvfp4_to_fp16.cu's arithmetic in NumPy: fp16(256 v) from the 64-bit table of high bytes,
    fp16(2^-8 s) by shifting the e4m3 code into fp16's fields, one fp16 multiply."""
    table = 0x666462605E5C5800
    codes = formats.unpack_fp4(packed).astype(np.uint32)
    hi = np.array([(table >> (8 * i)) & 0xFF for i in range(8)], np.uint32)
    v = ((hi[codes & 7] << 8) | ((codes & 8) << 12)).astype(np.uint16).view(np.float16)
    c = scales.astype(np.uint32)
    s = np.where((c & 0x7F) == 0x7F, 0x7E00, ((c & 0x7F) << 7) | ((c & 0x80) << 8)).astype(np.uint16).view(np.float16)
    return v * np.repeat(s, 16, axis=-1)  # float16 * float16: one rounding to float16, as mul.rn.f16x2


def _every_pair():
    """Packed bytes and scales covering all 16 e2m1 codes x 256 e4m3 scale codes: row s, scale s."""
    codes = np.tile(np.arange(16, dtype=np.uint8), (256, 1))  # [256, 16]: one block of 16 per row
    return formats.pack_fp4(codes), np.arange(256, dtype=np.uint8).reshape(256, 1), codes


def test_nvfp4_times_its_scale_is_exact_in_fp16():
    """Why v04_nvfp4_wgmma may widen to fp16 before its MMA: every e2m1 value times every (non-NaN)
    e4m3 scale is an fp16 value. At most 2 + 4 = 6 significant bits (fp16 has 11), |6 * 448| = 2688
    below fp16's 65504, every product a multiple of 0.5 * 2^-9 = 2^-10 (fp16's step near 0 is 2^-24)."""
    _, _, codes = _every_pair()
    exact = (formats.decode_e2m1(codes).astype(np.float64)
             * formats.decode_e4m3(np.arange(256, dtype=np.uint8)).astype(np.float64)[:, None])
    ok = ~np.isin(np.arange(256), E4M3_NAN)
    assert np.array_equal(exact[ok].astype(np.float16).astype(np.float64), exact[ok])
    nz = np.abs(exact[ok][exact[ok] != 0])
    assert nz.max() == 6 * 448 < np.finfo(np.float16).max and nz.min() == 2.0**-10
    assert np.isnan(exact[~ok]).all()


def test_nvfp4_widening_bit_tricks_match_the_decoders():
    """The kernel's table and shift, for all 16 x 256 code pairs, give exactly the product of the
    formats decoders (bit for bit, signed zeros included; NaN scales give NaN)."""
    packed, scales, _ = _every_pair()
    got = _widen_nvfp4_like_kernel(packed, scales)
    ref = blockscaled.widen_nvfp4_reference(packed, scales)
    ok = ~np.isin(np.arange(256), E4M3_NAN)
    assert np.array_equal(got[ok].view(np.uint16), ref[ok].view(np.uint16))
    assert np.isnan(got[~ok]).all() and np.isnan(ref[~ok]).all()


def test_nvfp4_widening_reference_on_problem_inputs():
    """Rows of several blocks: scale b covers elements 16b..16b+15, even elements in low nibbles."""
    inp = problems.get("nvfp4").inputs(3, 5, 96, np.random.default_rng(5))
    wide = blockscaled.widen_nvfp4_reference(inp["w"], inp["w_scales"])
    assert np.array_equal(wide, _widen_nvfp4_like_kernel(inp["w"], inp["w_scales"]))
    q = formats.NVFP4Quantized(inp["w"], inp["w_scales"], np.float32(1))
    assert np.array_equal(wide.astype(np.float32), formats.dequantize_nvfp4(q))


def _fake_gpu(name, cc):
    from labkernels import device

    return device.GPU(index=0, name=name, cc=cc, sms=132, l2_bytes=50 << 20, mem_bytes=80 << 30,
                      clock_mhz=1980.0, driver="12.8", runtime="12.8")


H100 = _fake_gpu("NVIDIA H100 80GB HBM3", (9, 0))
A100 = _fake_gpu("NVIDIA A100-SXM4-80GB", (8, 0))


@pytest.mark.parametrize("fmt", ["mxfp4", "nvfp4"])
def test_dispatch_on_hopper_gemv_then_wgmma(fmt, monkeypatch):
    from labkernels import device

    monkeypatch.setattr(device, "gpu", lambda: H100)
    gemm = "blockscaled/v07_mxfp4_tma" if fmt == "mxfp4" else "blockscaled/v04_nvfp4_wgmma"
    assert blockscaled.choose(fmt, 16, 8192) == f"blockscaled/v02_{fmt}_gemv"
    assert blockscaled.choose(fmt, 17, 8192) == gemm
    assert blockscaled.choose(fmt, 4096, 8192) == gemm
    if fmt == "nvfp4":  # the GEMV needs K % 32; the wgmma GEMM takes any NVFP4 K (K % 16)
        assert blockscaled.choose(fmt, 1, 48) == "blockscaled/v04_nvfp4_wgmma"
    monkeypatch.setattr(device, "gpu", lambda: A100)  # no wgmma: large M falls back to Numba
    assert blockscaled.choose(fmt, 4096, 8192) == f"blockscaled/v01_{fmt}_numba"


def test_nvfp4_wgmma_refuses_numpy_and_names_the_fallbacks(monkeypatch):
    from labkernels import UnsupportedDevice, device

    pytest.importorskip("cupy")
    inp = _numpy_inputs("nvfp4", M=3, K=64)
    with pytest.raises(TypeError, match="NVFP4 v04 .* pass CuPy arrays"):
        blockscaled.nvfp4_wgmma(**inp)
    fake_cupy = type("ndarray", (np.ndarray,), {"__module__": "cupy"})  # CuPy-typed host arrays: never launched
    monkeypatch.setattr(device, "gpu", lambda: A100)
    with pytest.raises(UnsupportedDevice, match=r"warpgroup MMA .*sm_80.*blockscaled/v02_nvfp4_gemv \(M <= 16\) "
                                                r"or blockscaled/v01_nvfp4_numba"):
        blockscaled.nvfp4_wgmma(**{k: v.view(fake_cupy) for k, v in inp.items()})
