"""v01_naive_numba — MXFP8, MXFP4 and NVFP4 in Numba: one thread per output, block by block.

Computes ``Y[m, n] = sum_b (sum_{k in b} x[m, k] * w[n, k]) * sx[m, b] * sw[n, b] * gx * gw``
for the block-scaled formats of ``labkernels.formats``: element codes (e4m3, one per
byte; or e2m1, two per byte, even k in the low nibble), one scale code per block of
``BLOCK`` k (E8M0 per 32 for MX, E4M3 per 16 for NVFP4), and NVFP4's fp32 per-tensor
scales ``gx``, ``gw`` (1 for the MX formats). ``Y`` is fp16; sums are fp32.

Decoding is by table: an element code has 256 (e4m3) or 16 (e2m1) values and a scale
code 256, so ``labkernels.formats`` decodes every code once on the host and the kernel
only indexes. The order of the sum is the point of the lesson: the products of one
block are summed *before* its scales are applied, which is what a Tensor Core does
with one MMA per block (and what block-scaled hardware does inside the MMA). Within a
block the products are exact in fp32 (e2m1·e2m1 needs 4 significant bits, e4m3·e4m3 8),
so only the sums round.

Bound: none reached — one thread walks a whole row of W alone, as every v01.
"""
from __future__ import annotations

from numba import float32

from ...numba_compat import cuda

nb = cuda()

SIG_FP8 = ("void(uint8[:, ::1], uint8[:, ::1], uint8[:, ::1], uint8[:, ::1], float32[::1], float32[::1], "
           "float32[::1], float32[::1], float16[:, ::1])")
SIG_FP4 = SIG_FP8


def mx_naive_numba(x, x_scales, w, w_scales, elem, scale, x_global, w_global, y):
    """Element codes one per byte (MXFP8)."""
    n, m = nb.grid(2)
    if n < y.shape[1] and m < y.shape[0]:
        block = x.shape[1] // x_scales.shape[1]
        acc = float32(0.0)
        for b in range(x_scales.shape[1]):
            part = float32(0.0)
            for k in range(b * block, (b + 1) * block):
                part += elem[x[m, k]] * elem[w[n, k]]
            acc += part * (scale[x_scales[m, b]] * scale[w_scales[n, b]])
        y[m, n] = acc * (x_global[0] * w_global[0])


def fp4_naive_numba(x, x_scales, w, w_scales, elem, scale, x_global, w_global, y):
    """Element codes two per byte (MXFP4, NVFP4): byte j holds k = 2j (low nibble) and 2j + 1."""
    n, m = nb.grid(2)
    if n < y.shape[1] and m < y.shape[0]:
        half = x.shape[1] // x_scales.shape[1]  # bytes per block
        acc = float32(0.0)
        for b in range(x_scales.shape[1]):
            part = float32(0.0)
            for j in range(b * half, (b + 1) * half):
                xb, wb = x[m, j], w[n, j]
                part += elem[xb & 15] * elem[wb & 15] + elem[xb >> 4] * elem[wb >> 4]
            acc += part * (scale[x_scales[m, b]] * scale[w_scales[n, b]])
        y[m, n] = acc * (x_global[0] * w_global[0])


mx_kernel = nb.jit(mx_naive_numba)
fp4_kernel = nb.jit(fp4_naive_numba)
BLOCK = (32, 4)


def launch(kernel, x, x_scales, w, w_scales, elem, scale, x_global, w_global, y):
    M, N = y.shape
    grid = ((N + BLOCK[0] - 1) // BLOCK[0], (M + BLOCK[1] - 1) // BLOCK[1])
    kernel[grid, BLOCK](x, x_scales, w, w_scales, elem, scale, x_global, w_global, y)
