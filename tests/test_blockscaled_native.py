"""Native block-scaled MMA (v05, sm_120a): compiled here, its index mapping checked lane by lane in NumPy,
run on a GPU only where one has the instruction.

No GPU the lab reaches runs ``mma.sync ... .block_scale`` (Hopper is sm_90), so the checks that need
none carry the weight: the source compiles for sm_120a with the exact instruction (and only there);
the NumPy model of the kernel — each lane's loads as the .cu writes them, the instruction as the PTX
ISA documents it — reproduces the float64 reference at shapes off every tile; and the same model with
any one load formula changed does not, so the check has teeth.
"""
import functools
import re

import numpy as np
import pytest

from labkernels import UnsupportedDevice, build, check, device, registry
from labkernels.kernels.blockscaled import FORMATS, native

FMTS = ("mxfp8", "mxfp4", "nvfp4")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _emulator(fmt):
    return functools.partial(native.emulate, fmt)


# --------------------------------------------------------------------------
# Registry and compilation.
# --------------------------------------------------------------------------


def test_native_variants_are_registered_for_sm_120a_only():
    assert set(native.NATIVE_VARIANTS) == set(FMTS)
    for fmt, vid in native.NATIVE_VARIANTS.items():
        v = registry.get(vid)
        assert v.fmt == fmt and v.family == "blockscaled" and v.impl == "cupy"
        assert v.archs == ("sm_120a",) and v.specific and v.requires == "mma_block_scale"
        assert v.promises == (native.NATIVE[fmt].ptx,)
        assert v.source == native.SOURCE


@pytest.mark.parametrize("fmt", FMTS)
def test_compiles_for_sm_120a_with_the_block_scaled_instruction(fmt):
    nf = native.NATIVE[fmt]
    c = build.compile_file(native.SOURCE, "sm_120a", {"FMT": nf.define})
    assert c.cubin, "ptxas produced no cubin"
    mmas = build.ptx_lines(c.ptx, "mma.sync")
    assert mmas and all(ln.startswith(nf.ptx + " ") for ln in mmas), mmas  # the scaled MMA and no other
    assert all(ln.count("{0, 0}") == 2 for ln in mmas), mmas  # {byte-id, thread-id} of scale_A and scale_B
    assert f".entry {nf.kernel}(" in c.ptx
    sass = build.sass(c)
    if sass is not None:  # the Tensor Core's own scaled MMA: QMMA.SF (fp8), OMMA.SF (fp4)
        want = "QMMA.SF.16832.F32.E4M3.E4M3" if fmt == "mxfp8" else "OMMA.SF.16864.F32.E2M1.E2M1"
        assert want in sass, [ln for ln in sass.splitlines() if "MMA" in ln][:4]


@pytest.mark.parametrize("arch", ["sm_90a", "sm_100a"])
def test_hopper_and_sm_100a_refuse_block_scaled_mma_sync(arch):
    for fmt in FMTS:
        with pytest.raises(build.CompileError, match=rf"mma with block scale' not supported on \.target '{arch}'"):
            build.compile_file(native.SOURCE, arch, {"FMT": native.NATIVE[fmt].define})


def test_the_source_needs_a_format():
    with pytest.raises(build.CompileError, match="define FMT"):
        build.compile_file(native.SOURCE, "sm_120a", {"FMT": 7})


# --------------------------------------------------------------------------
# The documented layouts, transcribed a second way.
# --------------------------------------------------------------------------


def test_fragment_tables_follow_the_ptx_isa_formulas():
    """ptx_a/ptx_b/ptx_d against the PTX ISA's own element-index formulas (a flat index i over the
    lane's elements, "row = groupID for ai where 0 <= i < 4 || 8 <= i < 12 ..."), for all 32 lanes."""
    for lane in range(32):
        g, t = lane >> 2, lane & 3
        for i in range(16):  # m16n8k32, 8-bit elements: a0..a15
            row = g if (i < 4 or 8 <= i < 12) else g + 8
            col = 4 * t + (i & 3) + (16 if i >= 8 else 0)
            assert native.ptx_a("mxfp8", lane, i // 4, i % 4) == (row, col)
        for i in range(8):  # b0..b7
            assert native.ptx_b("mxfp8", lane, i // 4, i % 4) == (4 * t + (i & 3) + (16 if i >= 4 else 0), g)
        for i in range(32):  # m16n8k64, e2m1: a0..a31
            row = g if (i < 8 or 16 <= i < 24) else g + 8
            col = 8 * t + (i & 7) + (32 if i >= 16 else 0)
            for fmt in ("mxfp4", "nvfp4"):
                assert native.ptx_a(fmt, lane, i // 8, i % 8) == (row, col)
        for i in range(16):  # b0..b15
            assert native.ptx_b("nvfp4", lane, i // 8, i % 8) == (8 * t + (i & 7) + (32 if i >= 8 else 0), g)
        for i in range(4):  # c0..c3
            assert native.ptx_d(lane, i) == (g if i < 2 else g + 8, 2 * t + (i & 1))


def test_scale_lanes_follow_the_thread_id_selectors():
    """thread-id-a picks a thread pair of each quad (lanes % 4 in {0, 1} or {2, 3}); CUTLASS's SFA layout
    ((2,2,8):(8,0,1)) puts row 8·(lane % 2) + lane / 4 there. thread-id-b picks one lane of each quad."""
    for tid in (0, 1):
        rows = {lane: native.ptx_scale_a_row(lane, tid) for lane in range(32)}
        given = {lane: r for lane, r in rows.items() if r is not None}
        assert sorted(given.values()) == list(range(16))
        assert all((lane & 3) >> 1 == tid and r == 8 * (lane % 2) + lane // 4 for lane, r in given.items())
    for tid in range(4):
        cols = {lane: c for lane in range(32) if (c := native.ptx_scale_b_col(lane, tid)) is not None}
        assert cols == {4 * c + tid: c for c in range(8)}


def test_the_model_mirrors_the_source():
    """The kernel_* functions model these lines of the .cu; editing one means revisiting the other."""
    src = re.sub(r"\s+", " ", build.read_source(native.SOURCE))
    for line in native.KERNEL_LINES:
        assert re.sub(r"\s+", " ", line) in src, f"{native.SOURCE} no longer has {line!r}: update native.kernel_*"
    for fmt, nf in native.NATIVE.items():
        assert nf.ptx in src and f"#define KERNEL_NAME {nf.kernel}" in src
        assert f"#define BLOCK {FORMATS[fmt].block}" in src
    assert f"#define WARPS {native.WARPS}" in src and f"#define STEP_BYTES {native.STEP_BYTES}" in src


# --------------------------------------------------------------------------
# The model against the float64 reference.
# --------------------------------------------------------------------------

#: shapes off every tile: M and N not multiples of 16 / 8, K with a partial last MMA (K % 64 = 32 for
#: MXFP4, 16/32/48 for NVFP4), a single block, a single output
SHAPES = {
    "mxfp8": [(1, 1, 32), (3, 13, 96), (17, 40, 160), (33, 70, 1024), (16, 8, 32)],
    "mxfp4": [(1, 1, 32), (3, 13, 96), (17, 40, 160), (33, 70, 1024), (16, 8, 64)],
    "nvfp4": [(1, 1, 16), (3, 13, 48), (17, 40, 80), (33, 70, 1008), (16, 8, 96)],
}


@pytest.mark.parametrize("fmt", FMTS)
def test_model_of_the_kernel_matches_the_reference(fmt):
    for i, (M, N, K) in enumerate(SHAPES[fmt]):
        r = check.run_check(_emulator(fmt), fmt, M, N, K, name=f"{fmt} v05 model", impl="numpy", seed=100 + i)
        assert r.passed, str(r)


def test_model_writes_only_inside_out():
    inp = __import__("labkernels").problems.get("nvfp4").inputs(5, 11, 48, np.random.default_rng(0))
    out = np.full((5, 11), np.nan, np.float16)
    got = native.emulate("nvfp4", **inp, out=out)
    assert got is out and np.isfinite(out).all()


#: one load or store formula of the kernel changed at a time, each a plausible mistake
MISTAKES = {
    # the accumulator's row split (rows g, g + 8 by register), not the scale selector's (by lane pair)
    "scale_A rows split like the accumulator": ("kernel_scale_a_row", lambda l: (l >> 2) + 8 * ((l & 3) >> 1)),
    "scale_B from the neighbouring column": ("kernel_scale_b_col", lambda l: (l >> 2) ^ 1),
    "a[1] and a[2] swapped": ("kernel_a_word", lambda l, r: ((l >> 2) + 8 * (r >> 1), 4 * (l & 3) + 16 * (r & 1))),
    "B words adjacent instead of 16 bytes apart": ("kernel_b_word", lambda l, r: (l >> 2, 8 * (l & 3) + 4 * r)),
    "accumulators stored transposed": ("kernel_store", lambda l, r: ((l >> 2) + 8 * (r & 1), 2 * (l & 3) + (r >> 1))),
}


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
@pytest.mark.parametrize("fmt", FMTS)
def test_a_wrong_mapping_fails_the_check(fmt, mistake, monkeypatch):
    name, wrong = MISTAKES[mistake]
    monkeypatch.setattr(native, name, wrong)
    r = check.run_check(_emulator(fmt), fmt, 33, 24, 128, impl="numpy", seed=7)
    assert not r.passed, f"{mistake}: the model still matched the reference"


# --------------------------------------------------------------------------
# Launchers: checks before launch; the GPU check where a GPU has the instruction.
# --------------------------------------------------------------------------

H100 = device.GPU(index=0, name="NVIDIA H100 80GB HBM3", cc=(9, 0), sms=132, l2_bytes=50 << 20, mem_bytes=80 << 30,
                  clock_mhz=1980.0, driver="12.8", runtime="12.8")


@pytest.mark.parametrize("fmt", FMTS)
def test_runnable_says_why_not_on_hopper(fmt, monkeypatch):
    monkeypatch.setattr(device, "gpu", lambda: H100)
    ok, why = registry.get(native.NATIVE_VARIANTS[fmt]).runnable()
    assert not ok and "sm_120a" in why and "is sm_90" in why, why


@pytest.mark.parametrize("fmt", FMTS)
def test_launcher_on_hopper_names_the_fallback(fmt, monkeypatch):
    pytest.importorskip("cupy")
    fake_cupy = type("ndarray", (np.ndarray,), {"__module__": "cupy"})  # CuPy-typed host arrays: never launched
    inp = __import__("labkernels").problems.get(fmt).inputs(3, 8, 64, np.random.default_rng(0))
    inp = {k: v.view(fake_cupy) for k, v in inp.items()}
    monkeypatch.setattr(device, "gpu", lambda: H100)
    with pytest.raises(UnsupportedDevice, match=rf"needs mma\.sync with block scaling.*this GPU is NVIDIA H100.*"
                                                rf"\(sm_90\)\. Use blockscaled/v01_{fmt}_numba instead"):
        registry.get(native.NATIVE_VARIANTS[fmt]).launch(**inp)


def test_launcher_checks_k_before_anything():
    with pytest.raises(ValueError, match="K=48 must be a multiple of the mxfp4 block size 32"):
        native.mxfp4_block_scale(np.zeros((2, 24), np.uint8), np.zeros((2, 1), np.uint8),
                                 np.zeros((8, 24), np.uint8), np.zeros((8, 1), np.uint8))


#: awkward shapes for the real instruction: M, N off the tile, K tails inside the last MMA, one large K
GPU_SHAPES = {
    "mxfp8": [(1, 1, 32), (3, 129, 96), (17, 300, 544), (130, 264, 2080), (300, 520, 8192)],
    "mxfp4": [(1, 1, 32), (3, 129, 96), (17, 300, 544), (130, 264, 2080), (300, 520, 8192)],
    "nvfp4": [(1, 1, 16), (3, 129, 48), (17, 300, 560), (130, 264, 2064), (300, 520, 8192)],
}


@pytest.mark.gpu
@pytest.mark.parametrize("fmt", FMTS)
def test_native_variant_on_gpu(fmt):
    v = registry.get(native.NATIVE_VARIANTS[fmt])
    ok, why = v.runnable()
    if not ok:
        pytest.skip(why)  # e.g. needs mma.sync with block scaling ... (sm_120a or sm_121a); NVIDIA H100 is sm_90
    for M, N, K in GPU_SHAPES[fmt]:
        r = check.check_variant(v, M, N, K, sample_rows=64 if M > 64 else None)
        assert r.passed, str(r)


# --------------------------------------------------------------------------
# The sm_100a note: its code block is a compile test.
# --------------------------------------------------------------------------


def _note_code() -> str:
    text = build.source_path("blockscaled/v06_tcgen05_note.md").read_text()
    blocks = re.findall(r"```cuda\n(.*?)```", text, re.S)
    assert len(blocks) == 1, "the note has one cuda block"
    return blocks[0]


def test_tcgen05_note_assembles_for_sm_100a_only():
    c = build.compile_source(_note_code(), "sm_100a", name="v06_tcgen05_note.cu")
    assert c.cubin
    assert "tcgen05.mma.cta_group::1.kind::mxf4nvf4.block_scale.scale_vec::4X" in c.ptx
    assert "tcgen05.cp.cta_group::1" in c.ptx
    for arch in ("sm_120a", "sm_90a"):
        with pytest.raises(build.CompileError, match=rf"'tcgen05\.\w+' not supported on \.target '{arch}'"):
            build.compile_source(_note_code(), arch, name="v06_tcgen05_note.cu")


BLACKWELL = device.GPU(index=0, name="NVIDIA RTX PRO 6000 Blackwell", cc=(12, 0), sms=188, l2_bytes=128 << 20,
                       mem_bytes=96 << 30, clock_mhz=2400.0, driver="13.0", runtime="13.0")


@pytest.mark.parametrize("fmt", FMTS)
def test_dispatcher_prefers_the_native_instruction(fmt, monkeypatch):
    from labkernels.kernels import blockscaled

    monkeypatch.setattr(device, "gpu", lambda: BLACKWELL)
    assert blockscaled.choose(fmt, 4096, 8192) == native.NATIVE_VARIANTS[fmt]
    monkeypatch.setattr(device, "gpu", lambda: H100)
    emulated = blockscaled.choose(fmt, 1, 8192)
    assert emulated.endswith("_gemv") and "block_scale" not in emulated
    big = blockscaled.choose(fmt, 1024, 8192)  # Hopper's emulated GEMM (MX: v04's promotion on the TMA pipeline)
    assert big == {"mxfp8": "blockscaled/v07_mxfp8_tma", "mxfp4": "blockscaled/v07_mxfp4_tma",
                   "nvfp4": "blockscaled/v04_nvfp4_wgmma"}[fmt]
