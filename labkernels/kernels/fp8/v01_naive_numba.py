"""v01_naive_numba — FP8 (e4m3) in Numba: one thread per output, decoding through a table.

Computes ``Y[m, n] = (sum_k X[m, k] * W[n, k]) * sx[m] * sw[n]``: ``X [M, K]`` and
``W [N, K]`` float8_e4m3fn codes (uint8), ``sx [M, 1]`` and ``sw [N, 1]`` fp32,
``Y [M, N]`` fp16, fp32 accumulation.

An fp8 code has only 256 values, so the decoder is a 256-entry float32 table
(``labkernels.formats.decode_e4m3`` of every code), passed in as an array: the
plainest correct decoder, and the specification every later variant matches.

Bound: none reached — as every v01, one thread walks a whole row of W alone.
"""
from __future__ import annotations

from numba import float32

from ...numba_compat import cuda

nb = cuda()

SIGNATURE = "void(uint8[:, ::1], float32[:, ::1], uint8[:, ::1], float32[:, ::1], float32[::1], float16[:, ::1])"


def fp8_naive_numba(x, x_scale, w, w_scale, table, y):
    n, m = nb.grid(2)
    if n < y.shape[1] and m < y.shape[0]:
        acc = float32(0.0)
        for k in range(x.shape[1]):
            acc += table[x[m, k]] * table[w[n, k]]
        y[m, n] = acc * x_scale[m, 0] * w_scale[n, 0]


kernel = nb.jit(fp8_naive_numba)
BLOCK = (32, 4)


def launch(x, x_scale, w, w_scale, table, y):
    M, N = y.shape
    grid = ((N + BLOCK[0] - 1) // BLOCK[0], (M + BLOCK[1] - 1) // BLOCK[1])
    kernel[grid, BLOCK](x, x_scale, w, w_scale, table, y)
