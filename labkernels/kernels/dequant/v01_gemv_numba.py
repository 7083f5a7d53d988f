"""v01_gemv_numba — W4A16 in Numba: one thread per output, the dequantization written out.

Computes ``Y[m, n] = sum_k X[m, k] * (q[n, k] - z[n, g]) * s[n, g]`` with
``g = k // group``: ``X [M, K]`` fp16, packed ``qweight [N, K/2]`` uint8 (even k
in the low nibble), ``scales [N, G]`` fp16, ``zeros [N, G]`` uint8 (or the
implicit 8 of symmetric int4), ``Y [M, N]`` fp16, fp32 accumulation.

Bound: none reached — each thread walks a whole row of W alone, byte by byte,
and neighbouring threads read rows ``K/2`` bytes apart. It is the specification
in code: every later variant computes exactly this, faster.
"""
from __future__ import annotations

from numba import float32

from ...numba_compat import cuda

nb = cuda()

SIGNATURE = "void(float16[:, ::1], uint8[:, ::1], float16[:, ::1], uint8[:, ::1], boolean, float16[:, ::1])"


def w4a16_gemv_numba(x, qweight, scales, zeros, has_zeros, y):
    n, m = nb.grid(2)
    if n < y.shape[1] and m < y.shape[0]:
        K = x.shape[1]
        group = K // scales.shape[1]
        acc = float32(0.0)
        for k in range(K):
            byte = qweight[n, k // 2]
            q = (byte >> 4) if k & 1 else (byte & 15)  # even k: low nibble
            g = k // group
            z = zeros[n, g] if has_zeros else 8
            acc += float32(x[m, k]) * ((float32(q) - float32(z)) * float32(scales[n, g]))
        y[m, n] = acc


kernel = nb.jit(w4a16_gemv_numba)
BLOCK = (32, 4)


def launch(x, qweight, scales, zeros, y):
    M, N = y.shape
    has = zeros is not None
    if not has:  # Numba needs a typed array in every slot; this one is never read
        zeros = qweight[:1, :1]
    grid = ((N + BLOCK[0] - 1) // BLOCK[0], (M + BLOCK[1] - 1) // BLOCK[1])
    kernel[grid, BLOCK](x, qweight, scales, zeros, has, y)
