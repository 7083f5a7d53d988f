"""The three things every launcher does before a launch: check, allocate, pick a grid.

Launchers follow Triton's tutorials: (1) check every shape, dtype and layout
constraint and say what was wrong; (2) allocate the output (or check the one
given); (3) launch. Kernels never see a bad argument.
"""
from __future__ import annotations

import functools

import numpy as np

from ..errors import UnsupportedDevice, check_array


def array_module(*arrays):
    """numpy or cupy, whichever the arrays belong to (all must agree)."""
    kinds = {type(a).__module__.split(".")[0] for a in arrays if a is not None}
    if kinds <= {"numpy"}:
        return np
    if kinds <= {"cupy"}:
        import cupy

        return cupy
    raise TypeError(f"arrays must all be NumPy or all CuPy arrays; got a mix from {sorted(kinds)}")


def require_cupy(*arrays, what: str):
    """CuPy kernels take CuPy arrays; say so clearly when given NumPy ones."""
    xp = array_module(*arrays)
    if xp is np:
        raise TypeError(f"{what} runs on the GPU: pass CuPy arrays (cupy.asarray(x)), not NumPy arrays")
    return xp


def check_xw(x, w, out, *, x_dtype=np.float16, w_dtype=np.float16, w_cols=None, out_dtype=np.float16,
             max_m: int | None = None, what: str = "kernel", w_name: str = "w"):
    """Check ``x [M, K]``, ``w [N, w_cols]`` and ``out [M, N]``; return (M, N, K).

    ``w_name`` is the weight argument's name in the launcher's signature (``qweight``, ...).
    """
    check_array("x", x, dtype=x_dtype, ndim=2)
    M, K = x.shape
    # Messages say "w must ..." (the weight matrix of Y = X·Wᵀ), prefixed with the argument's
    # own name where the launcher calls it something else: "qweight: w must have dtype uint8".
    prefix = "" if w_name == "w" else f"{w_name}: "
    try:
        check_array("w", w, dtype=w_dtype, ndim=2)
    except (TypeError, ValueError) as e:
        raise type(e)(prefix + str(e)) from None
    N = w.shape[0]
    for name, v in (("M (x.shape[0])", M), ("K (x.shape[1])", K), (f"N ({w_name}.shape[0])", N)):
        ensure_int32(name, v)
    want_cols = K if w_cols is None else w_cols(K)
    if w.shape[1] != want_cols:
        raise ValueError(f"{prefix}w must have shape (N, {want_cols}) to match x's K={K}; got {tuple(w.shape)}")
    if max_m is not None and M > max_m:
        raise ValueError(f"{what} handles M up to {max_m} (one pass over the weights); got M={M}: "
                         f"use a GEMM variant for larger M")
    if out is not None:
        check_array("out", out, dtype=out_dtype, shape=(M, N))
    return M, N, K


def alloc_out(xp, out, M, N, dtype=np.float16):
    return xp.empty((M, N), dtype=dtype) if out is None else out


def cdiv(a: int, b: int) -> int:
    return -(-a // b)


def ensure_int32(name: str, *values):
    for v in values:
        if v >= 2**31:
            raise ValueError(f"{name}={v} does not fit the kernel's 32-bit index; split the problem")


#: CUDA's grid limits: x up to 2**31 - 1 blocks, y and z up to 65535.
GRID_MAX = (2**31 - 1, 65535, 65535)


def check_grid(what: str, grid, dims: tuple[str, ...] = ("N", "M", "K")) -> None:
    """Refuse, before anything is allocated, a grid CUDA cannot launch."""
    for axis, (n, lim, dim) in enumerate(zip(grid, GRID_MAX, dims)):
        if n > lim:
            raise ValueError(f"{what}: {dim} is too large for one launch: grid.{'xyz'[axis]} would be {n} blocks "
                             f"(CUDA allows {lim}); split the problem along {dim}")


#: Multiply-adds the Numba CUDA simulator is allowed (it runs ~10**5 per second, in Python).
SIMULATOR_MAX_MACS = 1 << 24


def check_simulator_work(what: str, M: int, N: int, K: int) -> None:
    """In the CUDA simulator, refuse a problem that would run for hours rather than hang."""
    from ..numba_compat import simulator

    if M * N * K > SIMULATOR_MAX_MACS and simulator():
        raise ValueError(f"{what}: M*N*K = {M}*{N}*{K} = {M * N * K} multiply-adds is too much for the Numba "
                         f"CUDA simulator (at most {SIMULATOR_MAX_MACS}, about a few minutes); use smaller shapes, "
                         f"or run on a GPU")


def torch_op_available(op: str):
    """A registry ``available`` check for a library peer calling ``torch.<op>``: () -> (ok, why not)."""
    def available():
        try:
            import torch

            if not torch.cuda.is_available():
                return False, "torch sees no CUDA GPU"
            if not hasattr(torch, op):
                return False, f"this torch has no {op}"
            return True, "GPU (torch)"
        except Exception as e:  # not installed, or broken
            return False, f"needs torch ({type(e).__name__}: {e})"

    return available


@functools.lru_cache(maxsize=None)
def smem_function(source: str, kernel: str, defines_items: tuple, smem: int, specific: bool = False):
    """A kernel of ``source`` allowed ``smem`` bytes of dynamic shared memory (more than 48 KB
    must be asked for); ``specific`` builds for the arch-specific target (sm_90a: wgmma)."""
    from .. import build

    fn = build.get_function(source, kernel, dict(defines_items), specific=specific)
    if smem > 48 * 1024:
        fn.max_dynamic_shared_size_bytes = smem
    return fn


__all__ = ["array_module", "require_cupy", "check_xw", "alloc_out", "cdiv", "ensure_int32", "check_grid",
           "check_simulator_work", "torch_op_available", "smem_function", "UnsupportedDevice"]
