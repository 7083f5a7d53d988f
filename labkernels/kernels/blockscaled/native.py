"""Native block-scaled MMA on Blackwell (sm_120a): v05, and a lane-by-lane model of it in NumPy.

    v05  mma.sync ... .block_scale: the Tensor Core applies the block scales inside the MMA
         (one source, ``v05_mma_block_scale.cu``; ``FMT`` picks MXFP8, MXFP4 or NVFP4)

The three instructions exist only on sm_120a / sm_121a (RTX 50, RTX PRO 6000 Blackwell): ptxas
rejects them for Hopper, and sm_100a has the ``tcgen05`` form instead (``v06_tcgen05_note.md``).
Where no such GPU is at hand, two things still check the lesson:

* NVRTC compiles the source for sm_120a, and the PTX holds the promised instruction;
* :func:`emulate` runs the kernel in NumPy, lane by lane: every lane of every warp loads the
  registers the ``.cu`` loads (``kernel_*`` below, the same formulas as the source), a model of
  the instruction reads them where the PTX ISA says the Tensor Core does (``ptx_*``), and the
  accumulators are stored where the kernel stores them. If the kernel's loads and the documented
  fragment layout disagree anywhere, the result is wrong and ``tests/test_blockscaled_native.py``
  says so against the float64 reference.

:data:`NATIVE_VARIANTS` names, per format, the variant the family prefers on a GPU that has the
instruction.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ... import build, device
from ...registry import register
from .._launch import alloc_out, array_module, cdiv, check_grid, require_cupy
from . import FORMATS, check_blockscaled, decode_tables

SOURCE = "blockscaled/v05_mma_block_scale.cu"
WARPS = 4  #: warps per block, one 16 x 8 tile of Y each (the .cu's WARPS)
STEP_BYTES = 32  #: bytes of a row one MMA reads: 32 e4m3 or 64 e2m1 (the .cu's STEP_BYTES)


@dataclass(frozen=True)
class NativeFormat:
    fmt: str
    define: str  #: the .cu's FMT
    kernel: str  #: the extern "C" name
    ptx: str  #: the instruction, exactly as it appears in the PTX
    k: int  #: k per MMA
    scale_one: int  #: the scale code of 1.0 (for blocks past K)

    @property
    def scales_per_mma(self) -> int:
        """Scale bytes per row per MMA: 1 (scale_vec::1X), 2 (2X) or 4 (4X)."""
        return self.k // FORMATS[self.fmt].block


NATIVE = {
    "mxfp8": NativeFormat("mxfp8", "FMT_MXFP8", "mxfp8_mma_block_scale",
                          "mma.sync.aligned.m16n8k32.row.col.kind::mxf8f6f4.block_scale.scale_vec::1X"
                          ".f32.e4m3.e4m3.f32.ue8m0", 32, 127),
    "mxfp4": NativeFormat("mxfp4", "FMT_MXFP4", "mxfp4_mma_block_scale",
                          "mma.sync.aligned.m16n8k64.row.col.kind::mxf4nvf4.block_scale.scale_vec::2X"
                          ".f32.e2m1.e2m1.f32.ue8m0", 64, 127),
    "nvfp4": NativeFormat("nvfp4", "FMT_NVFP4", "nvfp4_mma_block_scale",
                          "mma.sync.aligned.m16n8k64.row.col.kind::mxf4nvf4.block_scale.scale_vec::4X"
                          ".f32.e2m1.e2m1.f32.ue4m3", 64, 0x38),
}


# --------------------------------------------------------------------------
# The hardware's side: where the Tensor Core reads each operand from (PTX ISA, "Matrix Fragments
# for mma.m16n8k32" / "mma.m16n8k64" and "Block Scaling for mma.sync"; CUTLASS
# cute/atom/mma_traits_sm120.hpp agrees). g = lane >> 2 (groupID), t = lane & 3 (threadID_in_group).
# --------------------------------------------------------------------------


def _elems_per_reg(fmt: str) -> int:
    return 4 * FORMATS[fmt].per_byte  # 4 e4m3 or 8 e2m1 in a 32-bit register, lowest k in the lowest bits


def ptx_a(fmt: str, lane: int, reg: int, i: int) -> tuple[int, int]:
    """(row, k) in the 16 x k tile of element ``i`` (from the low bits) of A register ``reg``:
    rows g (a0, a2) and g + 8 (a1, a3); k from e·t, the second half (a2, a3) 4e further (e = 4 or 8)."""
    e = _elems_per_reg(fmt)
    g, t = lane >> 2, lane & 3
    return g + 8 * (reg & 1), e * t + i + 4 * e * (reg >> 1)


def ptx_b(fmt: str, lane: int, reg: int, i: int) -> tuple[int, int]:
    """(k, col) in the k x 8 tile of element ``i`` of B register ``reg``: column g, k from e·t (b1: + 4e)."""
    e = _elems_per_reg(fmt)
    g, t = lane >> 2, lane & 3
    return e * t + i + 4 * e * reg, g


def ptx_d(lane: int, reg: int) -> tuple[int, int]:
    """(row, col) in the 16 x 8 tile of accumulator ``reg``: rows g (d0, d1) and g + 8, columns 2t, 2t + 1."""
    g, t = lane >> 2, lane & 3
    return g + 8 * (reg >> 1), 2 * t + (reg & 1)


def ptx_scale_a_row(lane: int, thread_id: int = 0) -> int | None:
    """The row whose scale_A the Tensor Core takes from ``lane``: the thread pair ``thread_id`` of each
    quad supplies it (lanes 4r + 2·thread_id and 4r + 2·thread_id + 1 give rows r and r + 8); None for
    lanes it does not read."""
    if (lane & 3) >> 1 != thread_id:
        return None
    return (lane >> 2) + 8 * (lane & 1)


def ptx_scale_b_col(lane: int, thread_id: int = 0) -> int | None:
    """The column whose scale_B the Tensor Core takes from ``lane``: lane 4c + thread_id gives column c."""
    return lane >> 2 if (lane & 3) == thread_id else None


# --------------------------------------------------------------------------
# The kernel's side: what each lane of v05_mma_block_scale.cu loads and stores (the same formulas).
# --------------------------------------------------------------------------

#: Lines of the .cu that the kernel_* functions below mirror; a test checks the source still has them.
KERNEL_LINES = (
    "const int c0 = STEP_BYTES * s + 4 * t, c1 = c0 + 16;",
    "a[0] = load_word(X, m0 + g, c0, M, row_bytes);",
    "a[1] = load_word(X, m0 + g + 8, c0, M, row_bytes);",
    "a[2] = load_word(X, m0 + g, c1, M, row_bytes);",
    "a[3] = load_word(X, m0 + g + 8, c1, M, row_bytes);",
    "b[0] = load_word(W, n0 + g, c0, N, row_bytes);",
    "b[1] = load_word(W, n0 + g, c1, N, row_bytes);",
    "const int sa_row = m0 + g + 8 * (lane & 1);",
    "const int sb_col = n0 + g;",
    "const int b = SCALES_PER_MMA * s + j;",
    "v |= code << (8 * j);",
    "const int m = m0 + g + 8 * h;",
    "const int n = n0 + 2 * t + e;",
    "Y[(size_t)m * N + n] = __float2half(acc[2 * h + e] * gs);",
)


def kernel_a_word(lane: int, reg: int) -> tuple[int, int]:
    """(row in the tile, byte in the step's 32 bytes of that row) that ``lane`` loads into a[reg]."""
    g, t = lane >> 2, lane & 3
    return g + 8 * (reg & 1), 4 * t + 16 * (reg >> 1)


def kernel_b_word(lane: int, reg: int) -> tuple[int, int]:
    """(column in the tile, byte in the step's 32 bytes of that row of W) that ``lane`` loads into b[reg]."""
    g, t = lane >> 2, lane & 3
    return g, 4 * t + 16 * reg


def kernel_scale_a_row(lane: int) -> int:
    """The row of the tile whose scale bytes ``lane`` loads (sa_row)."""
    return (lane >> 2) + 8 * (lane & 1)


def kernel_scale_b_col(lane: int) -> int:
    """The column of the tile whose scale bytes ``lane`` loads (sb_col)."""
    return lane >> 2


def kernel_store(lane: int, reg: int) -> tuple[int, int]:
    """(row, col) of the tile where ``lane`` stores acc[reg]."""
    g, t = lane >> 2, lane & 3
    return g + 8 * (reg >> 1), 2 * t + (reg & 1)


# --------------------------------------------------------------------------
# The model: the kernel's loads for every lane of every warp, the instruction as documented, the stores.
# --------------------------------------------------------------------------


def _tables(fn, shape):
    """fn(*index) for every index of ``shape``, as one int array per returned coordinate."""
    idx = np.indices(shape).reshape(len(shape), -1).T
    out = np.array([fn(*map(int, i)) for i in idx])
    return tuple(out[:, c].reshape(shape) for c in range(out.shape[1]))


def _operand(fmt, regs, table, shape, nregs):
    """Codes [..., *shape] of an MMA operand gathered from the registers [..., 32, nregs] of a warp,
    through a (lane, reg, element) -> coordinates table; every coordinate must be read exactly once."""
    e, bits = _elems_per_reg(fmt), 32 // _elems_per_reg(fmt)
    c0, c1 = _tables(table, (32, nregs, e))
    seen = np.zeros(shape, int)
    np.add.at(seen, (c0.ravel(), c1.ravel()), 1)
    assert (seen == 1).all(), f"{fmt}: the fragment table does not cover the {shape} tile once"
    codes = (regs[..., None] >> (bits * np.arange(e, dtype=np.uint32))) & np.uint32((1 << bits) - 1)
    out = np.zeros(regs.shape[:-2] + shape, np.uint8)
    out[..., c0, c1] = codes.astype(np.uint8)
    return out


def _scales(regs, lane_to_index, n, spm):
    """Scale codes [..., n, spm] from the scale registers [..., 32] of a warp: byte j of the register of
    the lane that supplies row (or column) i is that row's scale for the MMA's k-chunk j."""
    out = np.zeros(regs.shape[:-1] + (n, spm), np.uint8)
    seen = np.zeros(n, int)
    for lane in range(32):
        i = lane_to_index(lane)
        if i is not None:
            seen[i] += 1
            for j in range(spm):
                out[..., i, j] = (regs[..., lane] >> np.uint32(8 * j)) & np.uint32(0xFF)
    assert (seen == 1).all(), "every row (column) needs its scale from exactly one lane"
    return out


def mma_model(fmt: str, a, b, sa, sb, acc):
    """The block-scaled mma.sync of ``fmt`` as the PTX ISA defines it, on a batch of warps.

    ``a`` [..., 32, 4], ``b`` [..., 32, 2], ``sa``, ``sb`` [..., 32] uint32 registers (lane, register),
    ``acc`` [..., 32, 4] float32 accumulators; returns the new accumulators. Each chunk of k is
    scaled by its row's and column's scale, products summed in float64, added in float32.
    """
    nf, f = NATIVE[fmt], FORMATS[fmt]
    elem, scale = (t.astype(np.float64) for t in decode_tables(fmt))
    A = elem[_operand(fmt, a, lambda l, r, i: ptx_a(fmt, l, r, i), (16, nf.k), 4)]
    B = elem[_operand(fmt, b, lambda l, r, i: ptx_b(fmt, l, r, i), (nf.k, 8), 2)]
    SA = scale[_scales(sa, ptx_scale_a_row, 16, nf.scales_per_mma)]  # [..., 16, spm]
    SB = scale[_scales(sb, ptx_scale_b_col, 8, nf.scales_per_mma)]  # [..., 8, spm]
    chunk = np.arange(nf.k) // f.block
    D = (A * SA[..., chunk]) @ (B * np.swapaxes(SB, -1, -2)[..., chunk, :])  # [..., 16, 8]
    rows, cols = _tables(ptx_d, (32, 4))
    return (acc + D[..., rows, cols]).astype(np.float32)


def emulate(fmt: str, x, x_scales, w, w_scales, out=None, x_global=None, w_global=None):
    """v05 run in NumPy, lane by lane: the kernel's loads, :func:`mma_model`, the kernel's stores.

    Takes the arguments of the format's launcher (NumPy arrays); writes and returns the fp16 Y."""
    what = f"{fmt.upper()} v05 NumPy model"
    M, N, K = check_blockscaled(fmt, x, x_scales, w, w_scales, out, x_global, w_global, what=what)
    if array_module(x, x_scales, w, w_scales, out, x_global, w_global) is not np:
        raise TypeError(f"{what} takes NumPy arrays (cupy.asnumpy(...)); the GPU runs the .cu itself")
    nf, f = NATIVE[fmt], FORMATS[fmt]
    row_bytes = K // f.per_byte
    steps, spm = cdiv(row_bytes, STEP_BYTES), nf.scales_per_mma
    TM, TN = cdiv(M, 16), cdiv(N, 8)

    # What load_word and load_scales return: zero words past the matrix, scale 1.0 past K.
    def padded(a, rows, cols, fill):
        p = np.full((rows, cols), fill, np.uint8)
        p[: a.shape[0], : a.shape[1]] = a
        return p

    X = padded(x, 16 * TM, STEP_BYTES * steps, 0).view("<u4").reshape(TM, 16, steps, STEP_BYTES // 4)
    W = padded(w, 8 * TN, STEP_BYTES * steps, 0).view("<u4").reshape(TN, 8, steps, STEP_BYTES // 4)
    SX = padded(x_scales, 16 * TM, spm * steps, nf.scale_one).reshape(TM, 16, steps, spm).astype(np.uint32)
    SW = padded(w_scales, 8 * TN, spm * steps, nf.scale_one).reshape(TN, 8, steps, spm).astype(np.uint32)
    X, W = X.transpose(0, 2, 1, 3), W.transpose(0, 2, 1, 3)  # [tile, step, row, word]
    SX, SW = SX.transpose(0, 2, 1, 3), SW.transpose(0, 2, 1, 3)  # [tile, step, row, byte]

    # Every lane's registers, for every tile and step: [tile, step, lane, reg].
    ar, ab = _tables(kernel_a_word, (32, 4))
    br, bb = _tables(kernel_b_word, (32, 2))
    assert not (ab % 4).any() and not (bb % 4).any(), "32-bit loads must be 4-byte aligned"
    a_regs, b_regs = X[:, :, ar, ab // 4], W[:, :, br, bb // 4]
    weights = np.uint32(1) << (8 * np.arange(spm, dtype=np.uint32))
    sa_regs = (SX[:, :, [kernel_scale_a_row(l) for l in range(32)]] * weights).sum(-1, dtype=np.uint32)
    sb_regs = (SW[:, :, [kernel_scale_b_col(l) for l in range(32)]] * weights).sum(-1, dtype=np.uint32)

    acc = np.zeros((TM, TN, 32, 4), np.float32)
    for s in range(steps):  # the kernel's k loop; every warp (tile pair) at once
        acc = mma_model(fmt, a_regs[:, None, s], b_regs[None, :, s], sa_regs[:, None, s], sb_regs[None, :, s], acc)

    gs = np.float32(x_global[0]) * np.float32(w_global[0]) if f.has_global else np.float32(1)
    Y = np.zeros((16 * TM, 8 * TN), np.float16)
    sr, sc = _tables(kernel_store, (32, 4))
    tm, tn = np.meshgrid(np.arange(TM), np.arange(TN), indexing="ij")
    Y[16 * tm[..., None, None] + sr, 8 * tn[..., None, None] + sc] = (acc * gs).astype(np.float16)
    out = alloc_out(np, out, M, N)
    out[...] = Y[:M, :N]  # the stores' guards: nothing lands past M or N
    return out


# --------------------------------------------------------------------------
# Launchers (the arguments of v01's) and the registry.
# --------------------------------------------------------------------------


def _launch(fmt, x, x_scales, w, w_scales, out, x_global=None, w_global=None):
    nf = NATIVE[fmt]
    what = f"{fmt.upper()} v05 (block-scaled mma.sync, sm_120a)"
    M, N, K = check_blockscaled(fmt, x, x_scales, w, w_scales, out, x_global, w_global, what=what)
    xp = require_cupy(x, x_scales, w, w_scales, out, x_global, w_global, what=what)
    device.require("mma_block_scale", what, alternative=f"blockscaled/v01_{fmt}_numba")
    for name, a in (("x", x), ("w", w)):
        if a.data.ptr % 4:
            raise ValueError(f"{what}: {name} must start at a 4-byte aligned address (the kernel loads 32-bit "
                             f"words); pass a copy ({name}.copy())")
    grid = (cdiv(N, 8 * WARPS), cdiv(M, 16))
    check_grid(what, grid)
    out = alloc_out(xp, out, M, N)
    fn = build.get_function(SOURCE, nf.kernel, {"FMT": nf.define}, specific=True)
    globals_ = (x_global, w_global) if FORMATS[fmt].has_global else ()
    fn(grid, (32 * WARPS,), (x, x_scales, w, w_scales, *globals_, out, np.int32(M), np.int32(N), np.int32(K)))
    return out


def mxfp8_block_scale(x, x_scales, w, w_scales, out=None):
    """v05 MXFP8: mma.sync m16n8k32 kind::mxf8f6f4, one E8M0 scale per MMA (sm_120a)."""
    return _launch("mxfp8", x, x_scales, w, w_scales, out)


def mxfp4_block_scale(x, x_scales, w, w_scales, out=None):
    """v05 MXFP4: mma.sync m16n8k64 kind::mxf4nvf4 scale_vec::2X, two E8M0 scales per MMA (sm_120a)."""
    return _launch("mxfp4", x, x_scales, w, w_scales, out)


def nvfp4_block_scale(x, x_scales, x_global, w, w_scales, w_global, out=None):
    """v05 NVFP4: mma.sync m16n8k64 kind::mxf4nvf4 scale_vec::4X, four E4M3 scales per MMA, the fp32
    per-tensor scales in the epilogue (sm_120a)."""
    return _launch("nvfp4", x, x_scales, w, w_scales, out, x_global, w_global)


#: format -> id of the native variant the dispatcher prefers when the GPU has it
NATIVE_VARIANTS: dict = {}

for _fmt, _fn in (("mxfp8", mxfp8_block_scale), ("mxfp4", mxfp4_block_scale), ("nvfp4", nvfp4_block_scale)):
    _nf = NATIVE[_fmt]
    _v = register(id=f"blockscaled/v05_{_fmt}_block_scale", family="blockscaled", fmt=_fmt, op="gemm", impl="cupy",
                  launch=_fn, source=SOURCE, archs=("sm_120a",), specific=True, requires="mma_block_scale",
                  defines={"FMT": _nf.define}, promises=(_nf.ptx,),
                  description=f"block-scaled mma.sync m16n8k{_nf.k}, {_nf.scales_per_mma} scale(s) per row per MMA "
                              f"applied by the Tensor Core (sm_120a); one 16x8 tile per warp")
    NATIVE_VARIANTS[_fmt] = _v.id
