"""W4A16 / W8A16 on the CPU: the fragment re-layout, the Numba kernel in the simulator,
bad input. The CUDA C variants are checked on a GPU by test_gpu_dequant.py."""
import numpy as np
import pytest

from labkernels import check, formats, numba_compat, registry
from labkernels.kernels import dequant


def test_prepack_puts_every_weight_where_the_fragment_expects_it():
    rng = np.random.default_rng(0)
    N, K = 21, 200  # neither a multiple of the 8-row nor the 128-column tile
    q = rng.integers(0, 16, size=(N, K), dtype=np.uint8)
    words = dequant.prepack_w4(formats.pack_int4(q))
    NT, KC = -(-N // 8), -(-K // 128)
    assert words.shape == (NT, KC, 32, 4) and words.dtype == np.uint32
    qp = np.full((NT * 8, KC * 128), 8, np.uint8)
    qp[:N, :K] = q
    # Decode exactly as the kernels do: lop3 of (word >> 4i) picks nibbles i and i+4, and
    # i = 0,1,2,3 give b0(step 2j), b0(step 2j+1), b1(step 2j), b1(step 2j+1).
    for nt in range(NT):
        for kc in range(KC):
            for t in range(32):
                n, c = nt * 8 + t // 4, t % 4
                for j in range(4):
                    w = int(words[nt, kc, t, j])
                    for i in range(4):
                        lo, hi = (w >> (4 * i)) & 0xF, (w >> (4 * i + 16)) & 0xF
                        step = 2 * j + (i & 1)
                        k = kc * 128 + 16 * step + 2 * c + (8 if i >= 2 else 0)
                        assert (lo, hi) == (qp[n, k], qp[n, k + 1]), (nt, kc, t, j, i)


def test_fragment_tables_cover_the_tile_once():
    pos = set(zip(dequant.FRAG_ROW.ravel().tolist(), dequant.FRAG_K.ravel().tolist()))
    assert pos == {(r, k) for r in range(8) for k in range(128)}


@pytest.mark.parametrize("group_size, zeros", [(32, False), (64, True), (128, False), (None, True)])
def test_numba_gemv_in_simulator(group_size, zeros):
    if not numba_compat.simulator():
        pytest.skip("a GPU is present: test_gpu_dequant checks this kernel")
    v = registry.get("dequant/v01_gemv_numba")
    K = 128 if group_size else 40
    for M, N in [(1, 9), (3, 17)]:
        r = check.check_variant(v, M, N, K, group_size=group_size, zeros=zeros)
        assert r.passed, str(r)


def test_reference_matches_formats_dequantization():
    from labkernels import problems

    p = problems.get("w4a16")
    inp = p.inputs(2, 8, 64, np.random.default_rng(1), group_size=32, zeros=True)
    q = formats.unpack_int4(inp["qweight"])
    w = (q.astype(np.float64) - inp["zeros"].repeat(32, axis=1)) * inp["scales"].astype(np.float64).repeat(32, axis=1)
    assert np.allclose(p.reference(inp), inp["x"].astype(np.float64) @ w.T, rtol=1e-12, atol=1e-12)


def _w4(M=2, N=16, K=256, G=2, zeros=False):
    x = np.ones((M, K), np.float16)
    qw = np.zeros((N, K // 2), np.uint8)
    s = np.ones((N, G), np.float16)
    z = np.zeros((N, G), np.uint8) if zeros else None
    return x, qw, s, z


@pytest.mark.parametrize("vid", ["dequant/v02_gemv_warp", "dequant/v04_gemv_lop3", "dequant/v05_gemm_wmma",
                                 "dequant/v01_gemv_numba"])
def test_bad_input_is_named(vid):
    v = registry.get(vid)
    x, qw, s, z = _w4()
    with pytest.raises(TypeError, match="x must have dtype float16"):
        v.launch(x.astype(np.float32), qw, s)
    with pytest.raises(ValueError, match=r"w must have shape \(N, 128\)"):
        v.launch(x, qw[:, :64].copy(), s)
    with pytest.raises(TypeError, match="w must have dtype uint8"):
        v.launch(x, qw.view(np.int8), s)
    with pytest.raises(ValueError, match="group size of K/G = 256/3"):
        v.launch(x, qw, np.ones((16, 3), np.float16))
    with pytest.raises(ValueError, match=r"scales must have shape \(N, G\)"):
        v.launch(x, qw, np.ones((15, 2), np.float16))
    with pytest.raises(ValueError, match=r"zeros must have shape \(16, 2\)"):
        v.launch(x, qw, s, np.zeros((16, 4), np.uint8))
    if v.max_m:
        with pytest.raises(ValueError, match="handles M up to 16"):
            v.launch(np.ones((17, 256), np.float16), qw, s)
    if v.impl == "cupy":
        with pytest.raises(TypeError, match="pass CuPy arrays"):
            v.launch(x, qw, s)


def test_vector_variants_name_their_k_requirement():
    x, qw, s, _ = _w4(K=200, G=1)
    with pytest.raises(ValueError, match="multiple of 32"):
        registry.get("dequant/v04_gemv_lop3").launch(x, qw, s)


def test_prepacked_variants_check_the_packed_shape():
    x, qw, s, _ = _w4()
    v = registry.get("dequant/v06_mma_skinny")
    with pytest.raises(TypeError, match="qweight must have dtype uint32"):
        v.launch(x, qw, s)
    packed = dequant.prepack_w4(qw)
    with pytest.raises(ValueError, match="row tiles of 8"):
        v.launch(x, packed, np.ones((40, 2), np.float16))


def test_w8a16_bad_input():
    v = registry.get("dequant/v08_w8a16_gemv")
    x = np.ones((1, 64), np.float16)
    with pytest.raises(TypeError, match="w must have dtype int8"):
        v.launch(x, np.ones((8, 64), np.uint8), np.ones((8, 1), np.float16))
    with pytest.raises(ValueError, match=r"scales must have shape \(8, 1\)"):
        v.launch(x, np.ones((8, 64), np.int8), np.ones((8, 2), np.float16))
