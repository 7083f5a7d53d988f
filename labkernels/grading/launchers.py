"""How the grader launches a student's kernel: grids, blocks, arguments, CUDA C loading.

The grader, not the submission, decides how a kernel is launched: a student
writes a kernel (a ``@cuda.jit`` function, or a ``__global__`` in a ``.cu``)
and the launcher here runs it. A submission cannot swap in a launcher that
calls ``cupy.matmul`` or computes the answer on the host.

This is the only grading module loaded into the student's process (by
:mod:`labkernels.grading.worker`, by file path, so that importing it pulls in
nothing of ``labkernels.grading``). It therefore holds no reference, no
tolerance and no seed, and imports only modules that hold none either:
whatever student code finds here by inspecting its process is of no use for
faking an answer. Exercise files show the same launch configuration to the
student (a test checks that both launch the solution correctly).

Every launcher takes ``(kernel, **inputs, out=...)`` on arrays of one module
(NumPy in the Numba simulator, CuPy on a GPU) and returns nothing. For a
plain Python exercise the "kernel" is the student's function and the
launcher calls it on the CPU and writes what it returns into ``out``.
"""
from __future__ import annotations

import functools
import os
import tempfile

import numpy as np


def cdiv(a: int, b: int) -> int:
    return -(-a // b)


def is_numba_kernel(obj) -> bool:
    """A ``@cuda.jit`` kernel: a CUDADispatcher on a GPU, a FakeCUDAKernel in the simulator."""
    return type(obj).__name__ in ("CUDADispatcher", "FakeCUDAKernel", "Dispatcher") and hasattr(obj, "__getitem__")


# --------------------------------------------------------------------------
# ex01: unpack int4 and dequantize (Numba).
# --------------------------------------------------------------------------

UNPACK_BLOCK = (128, 1)  #: threads along packed bytes, along rows


def unpack_int4(kernel, packed, scales, out):
    """One thread per packed byte: grid (ceil(K/2 / 128), N), block (128, 1); kernel(packed, scales, out)."""
    n_rows, half = packed.shape
    grid = (cdiv(half, UNPACK_BLOCK[0]), cdiv(n_rows, UNPACK_BLOCK[1]))
    kernel[grid, UNPACK_BLOCK](packed, scales, out)


# --------------------------------------------------------------------------
# ex02: fp16 GEMV, one warp per row (CUDA C).
# --------------------------------------------------------------------------

GEMV_DEFINES = {"MAX_M": 4, "WARPS": 4}


def gemv_warp(fn, x, w, out):
    """grid (ceil(N / WARPS),), block (32 * WARPS,); fn(X, W, Y, M, N, K) with int32 sizes."""
    M, K = x.shape
    N = w.shape[0]
    warps = GEMV_DEFINES["WARPS"]
    fn((cdiv(N, warps),), (32 * warps,), (x, w, out, np.int32(M), np.int32(N), np.int32(K)))


# --------------------------------------------------------------------------
# ex03: decode MXFP4 (Numba).
# --------------------------------------------------------------------------

MXFP4_BLOCK = (32, 4)  #: threads along packed bytes (a warp: 64 elements, two MX blocks), along rows


def mxfp4_decode(kernel, packed, scales, out):
    """One thread per packed byte: grid (ceil(K/2 / 32), ceil(N / 4)), block (32, 4);
    kernel(packed, scales, out)."""
    n_rows, half = packed.shape
    grid = (cdiv(half, MXFP4_BLOCK[0]), cdiv(n_rows, MXFP4_BLOCK[1]))
    kernel[grid, MXFP4_BLOCK](packed, scales, out)


# --------------------------------------------------------------------------
# ex04: predict the crossover (a plain Python function, no kernel).
# --------------------------------------------------------------------------


def _real_numbers(got, n: int, what: str) -> list[float]:
    """``got`` as ``n`` floats, or a TypeError that says what came back instead."""
    import numbers

    try:
        if isinstance(got, (str, bytes, dict)):
            raise TypeError
        items = list(got)
    except TypeError:
        raise TypeError(f"{what} must return {n} numbers (a tuple); it returned {type(got).__name__} "
                        f"{got!r:.80}") from None
    if len(items) != n:
        raise TypeError(f"{what} must return {n} numbers (a tuple); it returned {len(items)} values")
    out = []
    for i, v in enumerate(items):
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise TypeError(f"{what}: value {i} of the {n} returned is {type(v).__name__} {v!r:.80}, not a number")
        out.append(float(v))
    return out


def predict_crossover(fn, bw, fp16_peak, int8_peak, N, K, out):
    """fn(bw, fp16_peak, int8_peak, N, K) -> (ridge W4A16, ridge A8W8, crossover M), on the CPU,
    written to out[0, :]."""
    out[0, :] = _real_numbers(fn(bw, fp16_peak, int8_peak, N, K), 3, "predict_crossover")


# --------------------------------------------------------------------------
# ex05: W4A16 GEMV, one warp per row, natural packed layout (CUDA C).
# --------------------------------------------------------------------------


def w4a16_gemv_warp(fn, x, qweight, scales, zeros, out):
    """grid (ceil(N / WARPS),), block (32 * WARPS,); fn(X, QW, S, Y, M, N, K, G) with int32 sizes.
    Symmetric int4 only (``zeros`` None: the stored nibble q stands for q - 8), G = K / group."""
    if zeros is not None:
        raise ValueError("ex05 takes symmetric int4 weights (zeros=None); this call passed zero points")
    M, K = x.shape
    N, G = qweight.shape[0], scales.shape[1]
    warps = GEMV_DEFINES["WARPS"]
    fn((cdiv(N, warps),), (32 * warps,), (x, qweight, scales, out, np.int32(M), np.int32(N), np.int32(K),
                                          np.int32(G)))


# --------------------------------------------------------------------------
# ex06: A8W8 GEMV with dp4a, one warp per row (CUDA C).
# --------------------------------------------------------------------------


def a8w8_gemv_warp(fn, x, x_scale, w, w_scale, out):
    """grid (ceil(N / WARPS),), block (32 * WARPS,); fn(X, SX, W, SW, Y, M, N, K) with int32 sizes,
    the arguments of labkernels/kernels/int8/v02_dp4a_gemv.cu. K % 4 == 0 (rows read as 4-byte words),
    M <= MAX_M."""
    M, K = x.shape
    N = w.shape[0]
    if K % 4:
        raise ValueError(f"ex06 reads rows as 4-byte words: K must be a multiple of 4; got K={K}")
    if M > GEMV_DEFINES["MAX_M"]:
        raise ValueError(f"ex06 handles M up to {GEMV_DEFINES['MAX_M']} rows of X; got M={M}")
    warps = GEMV_DEFINES["WARPS"]
    fn((cdiv(N, warps),), (32 * warps,), (x, x_scale, w, w_scale, out, np.int32(M), np.int32(N), np.int32(K)))


# --------------------------------------------------------------------------
# ex07: one int8 mma.sync m16n8k32 tile per warp (CUDA C, sm_80+).
# --------------------------------------------------------------------------

MMA_TILE_DEFINES = {"WARPS": 4}  #: warps per block, side by side along N: a block covers 16 x (8 * WARPS) of Y


def a8w8_mma_tile(fn, x, x_scale, w, w_scale, out):
    """grid (ceil(ceil(N / 8) / WARPS), ceil(M / 16)), block (32 * WARPS,); fn(X, SX, W, SW, Y, M, N, K)
    with int32 sizes. Warp j of block (bx, by) owns the 16 x 8 tile of Y at rows 16 * by, columns
    8 * (WARPS * bx + j). K % 32 == 0 (one MMA step is 32 deep)."""
    M, K = x.shape
    N = w.shape[0]
    if K % 32:
        raise ValueError(f"ex07 steps through K 32 at a time (one m16n8k32 MMA): K must be a multiple of 32; "
                         f"got K={K}")
    warps = MMA_TILE_DEFINES["WARPS"]
    fn((cdiv(cdiv(N, 8), warps), cdiv(M, 16)), (32 * warps,),
       (x, x_scale, w, w_scale, out, np.int32(M), np.int32(N), np.int32(K)))


LAUNCHERS = {"unpack_int4": unpack_int4, "gemv_warp": gemv_warp, "mxfp4_decode": mxfp4_decode,
             "predict_crossover": predict_crossover, "w4a16_gemv_warp": w4a16_gemv_warp,
             "a8w8_gemv_warp": a8w8_gemv_warp, "a8w8_mma_tile": a8w8_mma_tile}


_TIMING: dict = {}


def prepare_timing() -> None:
    """Bind the timing primitives now, before any student code runs in this process.

    A submission that later replaces ``cupy.cuda.get_elapsed_time`` or the
    lab's L2 flush does not change what :func:`time_calls` uses. (Code in the
    same process can always find these objects again by inspection: the
    grader's defences against a forged time are that every timed call's
    output is checked and that a time faster than the roofline bound is
    flagged, not rewarded.)
    """
    if _TIMING:
        return
    import cupy

    from labkernels import bench

    _TIMING.update(event=cupy.cuda.Event, elapsed=cupy.cuda.get_elapsed_time,
                   stream=cupy.cuda.get_current_stream, flush=bench._get_helpers(cupy).flush)


def time_calls(call, sets: list, outs: list, warmup: int) -> list[float]:
    """``call(sets[i], outs[i])`` for every i; the calls after the first ``warmup`` each timed
    between CUDA events with the L2 flushed before (times in µs). Every set is a fresh draw:
    a kernel that replays an earlier answer returns wrong outputs, which the grader checks."""
    if not 0 <= warmup < len(sets) or len(outs) != len(sets):
        raise ValueError(f"time_calls needs more sets than warmup ({warmup}) and one out per set; "
                         f"got {len(sets)} sets and {len(outs)} outs")
    prepare_timing()
    t = _TIMING
    for i in range(warmup):
        call(sets[i], outs[i])
    stream = t["stream"]()
    stream.synchronize()
    events = []
    for i in range(warmup, len(sets)):
        t["flush"]()
        a, b = t["event"](), t["event"]()
        a.record(stream)
        call(sets[i], outs[i])
        b.record(stream)
        events.append((a, b))
    events[-1][1].synchronize()
    return [t["elapsed"](a, b) * 1e3 for a, b in events]


def load_cuda(source: str, *, filename: str, entry: str, defines: dict, arch: str):
    """Compile CUDA C text with NVRTC for ``arch`` and return ``entry`` as a CuPy RawKernel.

    The same compiler path as the lab's own kernels (:func:`labkernels.build.compile_source`,
    with its ``#line 1 "<filename>"``, so messages point at the student's lines). Cached on the
    text: a launcher may call this on every launch and compiles only when the source changed.
    """
    return _load_cuda(source, filename, entry, tuple(sorted(defines.items())), arch)


@functools.lru_cache(maxsize=32)
def _load_cuda(source: str, filename: str, entry: str, defines_items: tuple, arch: str):
    defines = dict(defines_items)
    import cupy

    from labkernels import build

    c = build.compile_source(source, arch, name=filename, defines=defines)
    fd, path = tempfile.mkstemp(suffix=".cubin")
    with os.fdopen(fd, "wb") as f:
        f.write(c.cubin)
    try:
        return cupy.RawModule(path=path).get_function(entry)
    finally:
        os.unlink(path)
