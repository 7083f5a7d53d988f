"""ex01 — unpack int4 and dequantize, in Numba (runs in the CUDA simulator without a GPU).

The student writes ``unpack_int4_kernel(packed, scales, out)``: ``packed``
uint8 ``[N, K/2]`` in the lab's int4 layout (element ``2j`` in the low nibble
of byte ``j``, see :mod:`labkernels.formats.intq`), ``scales`` fp16
``[N, K/128]``, ``out`` fp16 ``[N, K]`` with ``out[n, k] = (q[n, k] - 8) *
scales[n, k // 128]``. The grader launches it with one thread per packed byte
(:func:`labkernels.grading.launchers.unpack_int4`).

Inputs draw every code 0..15 (a symmetric quantizer never emits 0, i.e. -8,
so a sign bug there would slip through real weights) and scales spread over
several binades (a kernel that ignores the group index fails).
"""
from __future__ import annotations

import numpy as np

from ...formats import IntQuantized, dequantize_int, pack_int4, quantize_int, unpack_int4
from ..exercise import Case, Exercise, Perf, Task, register

GROUP = 128


def inputs(rng: np.random.Generator, N: int, K: int) -> dict:
    w = rng.standard_normal((N, K), dtype=np.float32)
    s = quantize_int(w, bits=4, group_size=GROUP).scales.astype(np.float32)
    s *= np.exp2(rng.integers(-3, 4, s.shape)).astype(np.float32)
    q = rng.integers(0, 16, (N, K), dtype=np.uint8)
    return {"packed": pack_int4(q), "scales": s.astype(np.float16)}


def reference(inp: dict) -> np.ndarray:
    q = unpack_int4(inp["packed"])
    return dequantize_int(IntQuantized(q, inp["scales"], None, 4, GROUP)).astype(np.float64)


def memory_bound(ceilings, N: int, K: int):
    """Read K/2 packed bytes and K/128 fp16 scales per row, write K fp16 outputs: memory-bound."""
    nbytes = N * K // 2 + N * (K // GROUP) * 2 + N * K * 2
    return nbytes / ceilings.bw * 1e6, "memory"


EXERCISE = register(Exercise(
    id="ex01_unpack_int4",
    title="Unpack int4 and dequantize (Numba)",
    lang="numba",
    solution="ex01_unpack_int4.py",
    entry="unpack_int4_kernel",
    launcher="unpack_int4",
    task=Task(inputs=inputs, reference=reference, out_shape=lambda N, K: (N, K), out_name="W"),
    cases=(
        Case({"N": 1, "K": 128}, why="one group; K/2 = 64 bytes, fewer than the 128 threads of a block"),
        Case({"N": 2, "K": 384}, why="three groups; K/2 = 192 is not a multiple of the block"),
        Case({"N": 1, "K": 640}, why="five groups, each with its own scale; a tail block again"),
        Case({"N": 1, "K": 1152}, hidden=True, why="nine groups; K/2 = 576 leaves a tail block"),
    ),
    perf=Perf({"N": 4096, "K": 4096}, target_pct=60.0, bound=memory_bound),
    forbid=("labkernels.grading", "labkernels.formats", "labkernels.kernels", "labkernels.problems",
            "labkernels.check"),
    hints={
        "partial": "some W[n, k] were never written: each thread owns one packed byte j of row n and "
                   "writes two outputs, k = 2j (low nibble) and k = 2j + 1 (high nibble)",
        "index": "out of bounds: K/2 is not always a multiple of the 128-thread block, so guard with "
                 "`if n < packed.shape[0] and j < packed.shape[1]:`",
        "wrong": "element 2j is the LOW nibble (b & 0xF), 2j + 1 the HIGH nibble (b >> 4); subtract 8 "
                 "before scaling; the scale of k is scales[n, k // 128]",
        "precision": "compute (q - 8) * scale in float32 and let the store round to fp16 once",
    },
    spec="Write unpack_int4_kernel(packed, scales, out): out[n, k] = (q[n, k] - 8) * scales[n, k // 128] "
         "where q[n, 2j] is the low and q[n, 2j+1] the high nibble of packed[n, j]; one thread per byte.",
))
