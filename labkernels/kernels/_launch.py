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


@functools.lru_cache(maxsize=256)
def _tensor_map_cached(ptr: int, rows: int, row_bytes: int, box_rows: int, device_id: int):
    import ctypes

    import cupy

    lib = _libcuda()
    buf = ctypes.create_string_buffer(128 + 64)  # a CUtensorMap is 128 bytes, 64-byte aligned
    addr = (ctypes.addressof(buf) + 63) & ~63
    u64, u32 = ctypes.c_uint64, ctypes.c_uint32
    dims, strides = (u64 * 2)(row_bytes, rows), (u64 * 1)(row_bytes)
    box, elem = (u32 * 2)(128, box_rows), (u32 * 2)(1, 1)
    # uint8 elements, no interleave, 128-byte swizzle, 256-byte L2 promotion, zero fill out of bounds
    r = lib.cuTensorMapEncodeTiled(ctypes.c_void_p(addr), 0, 2, ctypes.c_void_p(ptr), dims, strides, box, elem,
                                   0, 3, 3, 0)
    if r != 0:
        raise RuntimeError(f"cuTensorMapEncodeTiled failed (CUresult {r}) for a [{rows}, {row_bytes}]-byte tensor, "
                           f"box 128 x {box_rows}")
    host = np.frombuffer(ctypes.string_at(addr, 128), dtype=np.uint8).copy()
    with cupy.cuda.Device(device_id):
        return cupy.asarray(host)


@functools.lru_cache(maxsize=1)
def _libcuda():
    import ctypes

    lib = ctypes.CDLL("libcuda.so.1")
    fn = lib.cuTensorMapEncodeTiled
    fn.restype = ctypes.c_int
    fn.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32, ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint64),
                   ctypes.POINTER(ctypes.c_uint64), ctypes.POINTER(ctypes.c_uint32), ctypes.POINTER(ctypes.c_uint32),
                   ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int]
    return lib


def tensor_map(a, box_rows: int):
    """A TMA tensor map (in device memory, 128 bytes) of the C-contiguous 2-D CuPy array ``a`` seen as
    [rows, row bytes] uint8, with a box of 128 bytes x ``box_rows`` rows and the 128-byte swizzle.
    Kept per (address, shape, box): the map encodes only those, so a reused address with the same
    shape gets the same, still valid, map."""
    rows, row_bytes = a.shape[0], a.shape[1] * a.itemsize
    if row_bytes % 16 or a.data.ptr % 16:
        raise ValueError(f"a TMA tensor map needs 16-byte aligned rows; got rows of {row_bytes} bytes")
    return _tensor_map_cached(int(a.data.ptr), int(rows), int(row_bytes), int(box_rows), a.device.id)


__all__ = ["array_module", "require_cupy", "check_xw", "alloc_out", "cdiv", "ensure_int32", "check_grid",
           "check_simulator_work", "torch_op_available", "smem_function", "tensor_map", "UnsupportedDevice"]
