"""# ex07 — int8 `mma.sync` fragments (CUDA C, sm_80+)

[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/labkernels/labkernels/blob/v0.1.0/solutions/ex07_mma_fragment.ipynb)

ex06 multiplied int8 four at a time on the CUDA cores. The int8 Tensor Cores
take a whole tile per instruction: `mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32`
has the 32 lanes of a warp multiply a 16 x 32 int8 tile A by a 32 x 8 int8
tile B and add the products into a 16 x 8 int32 tile D — 4096 multiply-adds,
exact. No lane holds a matrix: each holds a fixed *fragment* of every operand
in registers, four int8 per 32-bit register, and the hardware knows which
element sits where. Loading those registers is the whole art.

**The layout** (PTX ISA, "Matrix Fragments for mma.m16n8k32", `.s8`), for
lane `4g + t` (g = groupID = lane / 4, t = lane % 4), lower k in the lower byte:

| register | holds |
|---|---|
| a0 | A row g, k = 4t .. 4t+3 |
| a1 | A row g + 8, k = 4t .. 4t+3 |
| a2 | A row g, k = 16+4t .. 16+4t+3 |
| a3 | A row g + 8, k = 16+4t .. 16+4t+3 |
| b0 | B column g, k = 4t .. 4t+3 |
| b1 | B column g, k = 16+4t .. 16+4t+3 |
| c0, c1 | D row g, columns 2t, 2t+1 |
| c2, c3 | D row g + 8, columns 2t, 2t+1 |

Here A is a 16-row slice of X (row-major) and B[k][n] = W[n][k]: the `.col` in
the instruction means a column of B is contiguous, and a column of B is a row
of W. So four consecutive k of one row are four consecutive bytes in memory,
and every register is a single aligned 4-byte load. Watch the order of A: the
rows alternate first (a0, a1), then the k half (a2, a3); and c2, c3 are eight
rows down, not one.

**The kernel** (`ex07_mma_fragment.cu`): one warp per 16 x 8 tile of
`Y = (X·Wᵀ)·SX·SWᵀ` (the `a8w8` problem of ex06, any M), stepping through K 32
at a time. You write (a) the six loads of one k32 step, with zeros for rows of
X at or past M and rows of W at or past N (never load them: their values would
only reach rows and columns of D that are not stored, but the loads would read
past the end of X or W), followed by the MMA, and (b) the epilogue: `c[2h + j]`
to `Y[m0 + g + 8h, n0 + 2t + j]`, times
`SX[m] · SW[n]`, guarded. K must be a multiple of 32; the checks use K = 32
(one step) and K that is not a multiple of 128, with M and N that do not
fill the tiles.

**GPU.** The instruction needs sm_80 or newer (A100, L4, H100, RTX 30/40).
Without a GPU the check compiles the kernel for sm_80 and sm_90 and looks for
the MMA in the PTX; on an older GPU (Colab's T4 is sm_75) the numeric tests say
the GPU is too old rather than failing — pick an L4 or A100 runtime to run them.
There is no timing: fragments read straight from global memory are used once
(the lab's `int8/v06_mma_gemm.cu` stages tiles in shared memory and feeds each
fragment to 8 MMAs).
"""

# %%
# Setup: run this cell first. On Colab it installs this release of labkernels and
# checks that a GPU runtime is attached; anywhere else it only prints the device.
# pip upgrades what Colab ships older than the lab's pins (numba-cuda, CuPy) and
# keeps the rest. The grader loads this file under another name: then the cell
# does nothing.
import subprocess
import sys

LABKERNELS_PIP = "labkernels[cuda12] @ git+https://github.com/labkernels/labkernels@v0.1.0"
IN_COLAB = "google.colab" in sys.modules

if __name__ == "__main__":
    if IN_COLAB:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", LABKERNELS_PIP], check=True)
    from labkernels import notebook

    notebook.report_device(IN_COLAB, family="int8",
                           without_gpu="the kernel is compiled to PTX and its instructions are checked; the numeric tests need an sm_80+ GPU (not a T4)")


# %%
from pathlib import Path

from labkernels import grading, notebook
from labkernels.grading import launchers

# The kernel you write: the .cu next to this file (a notebook runs in its own folder).
SOURCE = notebook.companion_file("ex07_mma_fragment.cu", Path(globals().get("__file__", "ex07_mma_fragment.py")).parent,
                                 folder="solutions")


# %%
def mma_tiles(x, x_scale, w, w_scale, out=None):
    """Y = (X·Wᵀ)·SX·SWᵀ with your kernel, launched exactly as the grader launches it: x [M, K] int8,
    x_scale [M, 1] fp16, w [N, K] int8, w_scale [N, 1] fp16, all CuPy; K % 32 == 0; sm_80+."""
    import cupy

    from labkernels import device

    M, N = x.shape[0], w.shape[0]
    out = cupy.empty((M, N), dtype=cupy.float16) if out is None else out
    g = device.require("mma_s8_m16n8k32", "running ex07")
    fn = launchers.load_cuda(SOURCE.read_text(), filename=SOURCE.name, entry="a8w8_mma_tile",
                             defines=launchers.MMA_TILE_DEFINES, arch=device.arch(g.cc))
    launchers.a8w8_mma_tile(fn, x, x_scale, w, w_scale, out)
    return out


# %%
if __name__ == "__main__":
    grading.check("ex07_mma_fragment", SOURCE)
