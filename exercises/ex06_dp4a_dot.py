"""# ex06 — A8W8 GEMV with `__dp4a` (CUDA C)

[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/labkernels/labkernels/blob/v0.1.0/exercises/ex06_dp4a_dot.ipynb)

A8W8 stores both operands as int8 with fp16 scales: activations `X [M, K]`
with one scale per row (token), `SX [M, 1]`; weights `W [N, K]` with one
scale per row (output channel), `SW [N, 1]`. Because each scale covers a
whole row of K, it factors out of the dot product:

    Y[m, n] = sum_k (X[m, k]·SX[m]) (W[n, k]·SW[n]) = (sum_k X[m, k]·W[n, k]) · SX[m] · SW[n]

so the inner loop is pure integer arithmetic, exact in int32, and the scales
are applied once per output (the *fused epilogue*). The lab's `a8w8` problem
(`labkernels.problems`) draws full-range int8 (with -128 and 127) and is the
reference here.

**`__dp4a`.** `__dp4a(a, b, c)` treats two 32-bit ints as four signed bytes
each and returns `c + a0·b0 + a1·b1 + a2·b2 + a3·b3`: four multiply-adds in
one instruction (`dp4a.s32.s32`, every GPU since sm_61). Read a row as 32-bit
words (K % 4 == 0, so rows start on 4-byte boundaries): word `i` holds
k = 4i .. 4i+3, and word `i` of a row of W meets word `i` of a row of X in one
`__dp4a`. Pass it `int` words: the `unsigned` overload (`dp4a.u32.u32`) reads
the byte -1 as 255.

**The kernel** (`ex06_dp4a_dot.cu`, next to this notebook): one warp per row
`n` of W, `M <= 4` rows of X. Lane `l` takes words `l, l + 32, ...` of the row
(128 contiguous bytes per step, one coalesced load) and keeps one int partial
sum per row of X; `warp_sum_int` (given: ex02 wrote its float twin) adds the 32
lanes' sums, and lane 0 stores `sum · SX[m] · SW[n]` in fp32, rounded to fp16
once. The loop bound `i < K/4` is the tail guard: the checked shapes have K/4
not a multiple of 32 (and K not a multiple of 16), so the last step has idle
lanes, and N not a multiple of the 4 warps of a block.

Edit the `.cu`, then run the check below (or `python ex06_dp4a_dot.py`). Without
a GPU it compiles the kernel (for sm_75 and sm_90) and checks the PTX for
`dp4a.s32.s32` and `shfl.sync`; the numeric tests need a GPU and say so. On a
GPU it also times the kernel at M = 1, N = K = 4096 against the A8W8 memory
bound (target: 50% of it).
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
                           without_gpu="the kernel is compiled to PTX and its instructions are checked; the numeric tests need a GPU")


# %%
from pathlib import Path

from labkernels import grading, notebook
from labkernels.grading import launchers

# The kernel you write: the .cu next to this file (a notebook runs in its own folder).
SOURCE = notebook.companion_file("ex06_dp4a_dot.cu", Path(globals().get("__file__", "ex06_dp4a_dot.py")).parent,
                                 folder="exercises")


# %%
def gemv(x, x_scale, w, w_scale, out=None):
    """Y = (X·Wᵀ)·SX·SWᵀ with your kernel, launched exactly as the grader launches it: x [M, K] int8,
    x_scale [M, 1] fp16, w [N, K] int8, w_scale [N, 1] fp16, all CuPy; M <= 4, K % 4 == 0."""
    import cupy

    from labkernels import device

    M, N = x.shape[0], w.shape[0]
    out = cupy.empty((M, N), dtype=cupy.float16) if out is None else out
    g = device.require("dp4a", "running ex06")
    fn = launchers.load_cuda(SOURCE.read_text(), filename=SOURCE.name, entry="a8w8_gemv_warp",
                             defines=launchers.GEMV_DEFINES, arch=device.arch(g.cc))
    launchers.a8w8_gemv_warp(fn, x, x_scale, w, w_scale, out)
    return out


# %%
if __name__ == "__main__":
    grading.check("ex06_dp4a_dot", SOURCE)
