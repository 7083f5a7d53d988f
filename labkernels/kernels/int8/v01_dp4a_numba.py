"""v01_dp4a_numba — A8W8 in Numba: one thread per output, four products per instruction.

Computes ``Y[m, n] = (sum_k X[m, k] * W[n, k]) * sx[m] * sw[n]``: ``X [M, K]`` and
``W [N, K]`` int8, seen here as int32 words ``[M, K/4]`` (four k per word), ``sx``
``[M, 1]`` and ``sw [N, 1]`` fp16, ``Y [M, N]`` fp16 (or the raw int32 sums).

``dp4a(a, b, c)`` adds the four signed byte products of two 32-bit words to ``c``
(``dp4a.s32.s32``, sm_61+): one instruction where a scalar loop needs four
multiply-adds and the byte extraction around them. Numba has no intrinsic for
it, so on a GPU this file calls a one-line CUDA C function (``dp4a_device.cu``)
declared with ``cuda.declare_device`` and linked in by NVRTC; in the CUDA
simulator, where nothing is linked, a pure-Python ``dp4a`` with the same
meaning stands in.

Bound: none reached — one thread walks a whole row of W alone, as in
``dequant/v01``. It is the specification of the family in code.
"""
from __future__ import annotations

from pathlib import Path

from numba import float32, int32

from ...numba_compat import cuda, simulator

nb = cuda()

SIGNATURE = "void(int32[:, ::1], float16[:, ::1], int32[:, ::1], float16[:, ::1], float16[:, ::1])"
SIGNATURE_RAW = "void(int32[:, ::1], int32[:, ::1], int32[:, ::1])"


def _dp4a_python(a, b, c):
    """c + the four signed byte products of a and b (the simulator's dp4a)."""
    for i in range(4):
        ai = (a >> (8 * i)) & 0xFF
        bi = (b >> (8 * i)) & 0xFF
        ai = ai - 256 if ai >= 128 else ai  # the byte's sign: two's complement
        bi = bi - 256 if bi >= 128 else bi
        c += ai * bi
    return c


if simulator():
    dp4a = nb.jit(device=True)(_dp4a_python)
else:
    dp4a = nb.declare_device("dp4a_s32", "int32(int32, int32, int32)",
                             link=[str(Path(__file__).with_name("dp4a_device.cu"))])


def a8w8_dp4a_numba(x32, x_scale, w32, w_scale, y):
    n, m = nb.grid(2)
    if n < y.shape[1] and m < y.shape[0]:
        acc = int32(0)
        for kw in range(x32.shape[1]):  # four k per word, four multiply-adds per dp4a
            acc = dp4a(x32[m, kw], w32[n, kw], acc)
        y[m, n] = float32(acc) * float32(x_scale[m, 0]) * float32(w_scale[n, 0])


def a8w8_dp4a_numba_raw(x32, w32, y):
    """The same sum, written as int32 without scales: the exactly checkable integer path."""
    n, m = nb.grid(2)
    if n < y.shape[1] and m < y.shape[0]:
        acc = int32(0)
        for kw in range(x32.shape[1]):
            acc = dp4a(x32[m, kw], w32[n, kw], acc)
        y[m, n] = acc


kernel = nb.jit(a8w8_dp4a_numba)
kernel_raw = nb.jit(a8w8_dp4a_numba_raw)
BLOCK = (32, 4)


def launch(x32, x_scale, w32, w_scale, y):
    M, N = y.shape
    grid = ((N + BLOCK[0] - 1) // BLOCK[0], (M + BLOCK[1] - 1) // BLOCK[1])
    if y.dtype.kind == "i":
        kernel_raw[grid, BLOCK](x32, w32, y)
    else:
        kernel[grid, BLOCK](x32, x_scale, w32, w_scale, y)
