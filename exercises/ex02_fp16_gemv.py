"""ex02 — launch and check the fp16 GEMV you write in ex02_fp16_gemv.cu.

    python ex02_fp16_gemv.py

compiles the kernel with NVRTC (errors point at your lines) and checks it on
fresh random inputs; without a GPU it can only compile it, and the numeric
tests say "needs a GPU". On a GPU, ``gemv(x, w)`` runs it on CuPy arrays
exactly as the grader does.
"""
from pathlib import Path

from labkernels import grading
from labkernels.grading import launchers

SOURCE = Path(__file__).with_name("ex02_fp16_gemv.cu")


def gemv(x, w, out=None):
    """Y = X·Wᵀ with your kernel: x [M, K] and w [N, K] CuPy fp16, M <= 4."""
    import cupy

    from labkernels import device

    M, N = x.shape[0], w.shape[0]
    if M > launchers.GEMV_DEFINES["MAX_M"]:
        raise ValueError(f"x has M={M} rows; this GEMV handles M up to {launchers.GEMV_DEFINES['MAX_M']}")
    out = cupy.empty((M, N), dtype=cupy.float16) if out is None else out
    g = device.require_gpu("running ex02")
    fn = launchers.load_cuda(SOURCE.read_text(), filename=SOURCE.name, entry="fp16_gemv_warp",
                             defines=launchers.GEMV_DEFINES, arch=device.arch(g.cc))
    launchers.gemv_warp(fn, x, w, out)
    return out


if __name__ == "__main__":
    grading.check("ex02", SOURCE)
