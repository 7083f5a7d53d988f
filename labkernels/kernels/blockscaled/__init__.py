"""Block-scaled formats (MXFP8, MXFP4, NVFP4), lesson 3: one scale per block of k.

Every variant computes ``Y = deq(X)·deq(W)ᵀ`` from the inputs of
``labkernels.problems["mxfp8" | "mxfp4" | "nvfp4"]``:

==========  ===============================  ====================  ==========================
format      elements ``x`` [M, ·], ``w``      block scales          per tensor
==========  ===============================  ====================  ==========================
mxfp8       e4m3 codes, one per byte [·, K]   E8M0 per 32 k         —
mxfp4       e2m1, two per byte [·, K/2]       E8M0 per 32 k         —
nvfp4       e2m1, two per byte [·, K/2]       E4M3 per 16 k         fp32 ``x_global``, ``w_global``
==========  ===============================  ====================  ==========================

Scales are ``x_scales [M, K/block]`` and ``w_scales [N, K/block]`` (uint8 codes, row-major:
the layout of :mod:`labkernels.formats`). Variants in teaching order:

    v01  Numba, one thread per output, decode tables, each block's sum scaled before it is added
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ...errors import check_array, check_choice
from ...registry import register
from .._launch import alloc_out, array_module, cdiv, check_grid, check_simulator_work, check_xw
from . import v01_naive_numba


@dataclass(frozen=True)
class BlockFormat:
    fmt: str
    block: int  #: k per scale
    per_byte: int  #: elements per byte of ``x`` / ``w``
    scale: str  #: "e8m0" or "e4m3"
    has_global: bool  #: fp32 per-tensor scales (NVFP4)


FORMATS = {
    "mxfp8": BlockFormat("mxfp8", 32, 1, "e8m0", False),
    "mxfp4": BlockFormat("mxfp4", 32, 2, "e8m0", False),
    "nvfp4": BlockFormat("nvfp4", 16, 2, "e4m3", True),
}


def check_blockscaled(fmt: str, x, x_scales, w, w_scales, out, x_global=None, w_global=None, *,
                      max_m: int | None = None, what: str = "block-scaled kernel"):
    """Check a block-scaled problem's operands; return (M, N, K) in elements."""
    f = FORMATS[check_choice("fmt", fmt, FORMATS)]
    M, N, cols = check_xw(x, w, out, x_dtype=np.uint8, w_dtype=np.uint8, max_m=max_m, what=what)
    K = cols * f.per_byte
    if K % f.block:
        raise ValueError(f"{what}: K={K} must be a multiple of the {fmt} block size {f.block}"
                         + (f" (x.shape[1] = K/2 = {cols} bytes of packed e2m1)" if f.per_byte == 2 else ""))
    nb = K // f.block
    check_array("x_scales", x_scales, dtype=np.uint8, shape=(M, nb))
    check_array("w_scales", w_scales, dtype=np.uint8, shape=(N, nb))
    arrays = [x, x_scales, w, w_scales, out]
    if f.has_global:
        for name, g in (("x_global", x_global), ("w_global", w_global)):
            if g is None:
                raise TypeError(f"{what}: {fmt} needs {name}, its fp32 per-tensor scale (shape (1,))")
            check_array(name, g, dtype=np.float32, shape=(1,))
        arrays += [x_global, w_global]
    elif x_global is not None or w_global is not None:
        raise TypeError(f"{what}: {fmt} has no per-tensor scales; x_global and w_global are NVFP4's")
    array_module(*arrays)
    return M, N, K


@functools.lru_cache(maxsize=None)
def decode_tables(fmt: str) -> tuple[np.ndarray, np.ndarray]:
    """(element table, scale table), float32 values of every code, from labkernels.formats.
    NaN codes stay NaN: a NaN scale (E8M0 0xFF) must make its block NaN, as the spec says."""
    from ... import formats

    f = FORMATS[fmt]
    codes = np.arange(256, dtype=np.uint8)
    elem = (formats.decode_e4m3(codes) if f.per_byte == 1 else formats.decode_e2m1(codes[:16])).astype(np.float32)
    scale = (formats.decode_e8m0(codes) if f.scale == "e8m0" else formats.decode_e4m3(codes)).astype(np.float32)
    return elem, scale


_ONE = np.ones(1, np.float32)


def _naive(fmt: str, x, x_scales, w, w_scales, out=None, x_global=None, w_global=None):
    what = f"{fmt.upper()} v01 (Numba)"
    M, N, K = check_blockscaled(fmt, x, x_scales, w, w_scales, out, x_global, w_global, what=what)
    bx, by = v01_naive_numba.BLOCK
    check_grid(what, (cdiv(N, bx), cdiv(M, by)))
    check_simulator_work(what, M, N, K)
    xp = array_module(x)
    out = alloc_out(xp, out, M, N)
    elem, scale = (xp.asarray(t) for t in decode_tables(fmt))
    one = xp.asarray(_ONE)
    kernel = v01_naive_numba.mx_kernel if FORMATS[fmt].per_byte == 1 else v01_naive_numba.fp4_kernel
    v01_naive_numba.launch(kernel, x, x_scales, w, w_scales, elem, scale,
                           one if x_global is None else x_global, one if w_global is None else w_global, out)
    return out


def mxfp8_naive(x, x_scales, w, w_scales, out=None):
    """v01 MXFP8: one Numba thread per output."""
    return _naive("mxfp8", x, x_scales, w, w_scales, out)


def mxfp4_naive(x, x_scales, w, w_scales, out=None):
    """v01 MXFP4: one Numba thread per output."""
    return _naive("mxfp4", x, x_scales, w, w_scales, out)


def nvfp4_naive(x, x_scales, x_global, w, w_scales, w_global, out=None):
    """v01 NVFP4: one Numba thread per output."""
    return _naive("nvfp4", x, x_scales, w, w_scales, out, x_global, w_global)


# --------------------------------------------------------------------------
# Registry.
# --------------------------------------------------------------------------

for _fmt, _launch, _func in (("mxfp8", mxfp8_naive, "mx_naive_numba"), ("mxfp4", mxfp4_naive, "fp4_naive_numba"),
                             ("nvfp4", nvfp4_naive, "fp4_naive_numba")):
    register(id=f"blockscaled/v01_{_fmt}_numba", family="blockscaled", fmt=_fmt, op="gemm", impl="numba",
             launch=_launch, source="blockscaled/v01_naive_numba.py", numba_func=_func,
             numba_sig=v01_naive_numba.SIG_FP8, promises=("cvt.rn.f16.f32",), bench_max_m=4,
             description=f"Numba, one thread per output, {_fmt} decoded by tables, each block's sum scaled once")

from . import native, quantize  # noqa: E402  (register the native variants; the GPU quantizers)
from .quantize import AUXILIARY_SOURCES  # noqa: E402, F401
