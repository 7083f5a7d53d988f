"""ex05 — launch and check the W4A16 GEMV you write in ex05_w4a16_gemv.cu.

    python ex05_w4a16_gemv.py

compiles the kernel with NVRTC (errors point at your lines) and checks it on
fresh random inputs; without a GPU it can only compile it, and the numeric
tests say "needs a GPU". On a GPU, ``gemv(x, qweight, scales)`` runs it on
CuPy arrays exactly as the grader does.
"""
from pathlib import Path

from labkernels import grading
from labkernels.grading import launchers

SOURCE = Path(__file__).with_name("ex05_w4a16_gemv.cu")


def gemv(x, qweight, scales, out=None):
    """Y = X·deq(W)ᵀ with your kernel: x [M, K] fp16, qweight [N, K/2] uint8 (int4 pairs, even k in the
    low nibble), scales [N, K/128] fp16, all CuPy; M <= 4."""
    import cupy

    from labkernels import device

    M, N = x.shape[0], qweight.shape[0]
    if M > launchers.GEMV_DEFINES["MAX_M"]:
        raise ValueError(f"x has M={M} rows; this GEMV handles M up to {launchers.GEMV_DEFINES['MAX_M']}")
    out = cupy.empty((M, N), dtype=cupy.float16) if out is None else out
    g = device.require_gpu("running ex05")
    fn = launchers.load_cuda(SOURCE.read_text(), filename=SOURCE.name, entry="w4a16_gemv_warp",
                             defines=launchers.GEMV_DEFINES, arch=device.arch(g.cc))
    launchers.w4a16_gemv_warp(fn, x, qweight, scales, None, out)
    return out


if __name__ == "__main__":
    grading.check("ex05", SOURCE)
