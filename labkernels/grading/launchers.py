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
(NumPy in the Numba simulator, CuPy on a GPU) and returns nothing.
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


LAUNCHERS = {"unpack_int4": unpack_int4, "gemv_warp": gemv_warp}


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
