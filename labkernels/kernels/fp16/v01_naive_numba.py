"""v01_naive_numba — fp16 GEMM (and GEMV) in Numba, one thread per output element.

Computes ``Y[m, n] = sum_k X[m, k] * W[n, k]`` with fp32 accumulation:
``X [M, K]`` fp16, ``W [N, K]`` fp16, ``Y [M, N]`` fp16, all row-major.

Bound: none reached — neighbouring threads read rows of W ``2K`` bytes apart
(uncoalesced); see v02, the same kernel in CUDA C. This is the first rung:
the whole algorithm in a few lines of Python, runnable in the CUDA simulator
on a laptop.
"""
from __future__ import annotations

from numba import float32

from ...numba_compat import cuda

nb = cuda()

#: The type signature compile tests build PTX for (no GPU needed).
SIGNATURE = "void(float16[:, ::1], float16[:, ::1], float16[:, ::1])"


def fp16_naive_numba(x, w, y):
    n, m = nb.grid(2)
    if n < y.shape[1] and m < y.shape[0]:  # tail guard: the grid overhangs N and M
        acc = float32(0.0)  # fp32: an fp16 sum would lose ~log2(K) bits
        for k in range(x.shape[1]):
            acc += float32(x[m, k]) * float32(w[n, k])
        y[m, n] = acc  # rounds to fp16 on the store (cvt.rn.f16.f32)


kernel = nb.jit(fp16_naive_numba)

BLOCK = (32, 4)


def launch(x, w, y):
    M, N = y.shape
    grid = ((N + BLOCK[0] - 1) // BLOCK[0], (M + BLOCK[1] - 1) // BLOCK[1])
    kernel[grid, BLOCK](x, w, y)
