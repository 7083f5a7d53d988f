"""ex06 — A8W8 GEMV in CUDA C with ``__dp4a``: one warp per row of W, M <= 4, fused scale epilogue.

The student writes the body of ``a8w8_gemv_warp(X, SX, W, SW, Y, M, N, K)``
(the arguments of ``labkernels/kernels/int8/v02_dp4a_gemv.cu``): read each
row of W and of X as 32-bit words, one ``__dp4a`` per pair of words into an
int32 partial sum, reduce across the warp, and scale once on the store. The
task is the ``a8w8`` problem of :mod:`labkernels.problems` unchanged (full-range
int8 with -128 and 127 present, fp16 per-token and per-channel scales): the
lab's own inputs, float64 reference and tolerance.

**warp_sum_int is given.** The shuffle reduction is ex02's lesson (ex05 gives
``warp_sum`` for the same reason); here it differs only in its type, and what
is new about it is said in its comment: an int sum is exact, so the lanes'
order does not matter and nothing is rounded until the scales. Asking for it
again would spend the exercise on a copy. The static check that the PTX holds
``shfl.sync`` still fails a kernel that never reduces across the warp.

**Shapes.** K must be a multiple of 4 (rows are read as whole words; the
launcher refuses other K). The cases have N not a multiple of the 4 warps of
a block, K/4 not a multiple of the 32 lanes (the loop bound is the tail guard),
K a multiple of 4 but not of 16 (no 16-byte loads), and M = MAX_M = 4.

**The dp4a check.** The static check looks for ``dp4a.s32.s32`` in the PTX.
NVRTC 13.5 turns four *integer* byte products summed into an int (byte loads,
``char4`` or shifts) into ``dp4a.s32.s32`` by itself, so such a kernel passes
it; what fails it is arithmetic the compiler cannot fuse — products in float,
or the unsigned overload (``dp4a.u32.u32``). The hint still says what to write.

**Known mistakes** (:func:`diagnose`): the raw integer sums stored without the
scales (mostly ±Inf in fp16), one scale forgotten, and the unsigned
``__dp4a`` overload (``dp4a.u32.u32`` reads -1 as 255; the static check
names it too). A kernel without the tail guard reads the next row's words
(or past W): its output is wrong in a way that depends on memory, so it gets
the generic hint, which names the guard.

Without a GPU the grader compiles the source with NVRTC (errors point at the
student's own lines) and scores the static checks; every numeric test says
"needs a GPU" and scores 0, never "passed". The solution's numerics are
checked on a GPU by ``tests/test_exercises_more.py -m gpu``.
"""
from __future__ import annotations

import numpy as np

from ... import problems
from ..exercise import Case, Exercise, Perf, StaticCheck, Task, register
from ..launchers import GEMV_DEFINES
from ._a8w8 import a8w8_bound, first_match

_TOL = problems.get("a8w8").tol


def diagnose(got: np.ndarray, ref: np.ndarray, inputs: dict):
    """(kind, line) when the output is a known wrong A8W8 GEMV, else None."""
    x, w = inputs["x"], inputs["w"]
    sx = inputs["x_scale"].astype(np.float64)
    sw = inputs["w_scale"].astype(np.float64).T
    P = problems.int8_product(x, w)
    return first_match(got, ref, _TOL, (
        ("no_scales", "the integer sums stored without the scales", lambda: P),
        ("missing_scale", "the sums times SX[m] only (SW[n] forgotten)", lambda: P * sx),
        ("missing_scale", "the sums times SW[n] only (SX[m] forgotten)", lambda: P * sw),
        ("unsigned", "bytes multiplied as unsigned 0..255 (the unsigned __dp4a)",
         lambda: (x.view(np.uint8).astype(np.float64) @ w.view(np.uint8).astype(np.float64).T) * sx * sw),
    ))


EXERCISE = register(Exercise(
    id="ex06_dp4a_dot",
    title="A8W8 GEMV with __dp4a, one warp per row (CUDA C)",
    lang="cuda",
    solution="ex06_dp4a_dot.cu",
    entry="a8w8_gemv_warp",
    launcher="a8w8_gemv_warp",
    defines=dict(GEMV_DEFINES),
    task=Task.from_problem("a8w8", diagnose=diagnose),
    cases=(
        Case({"M": 1, "N": 64, "K": 256}, points=2, why="one row of X; K/4 = 64 words, two per lane"),
        Case({"M": 3, "N": 33, "K": 400}, points=2,
             why="N = 33 is not a multiple of the 4 warps of a block; K/4 = 100 words, not a multiple of 32 lanes"),
        Case({"M": 4, "N": 65, "K": 1028}, points=2,
             why="K = 1028 is a multiple of 4 but not of 16 (no 16-byte loads); K/4 = 257 words; M = MAX_M"),
        Case({"M": 2, "N": 257, "K": 1540}, points=2, hidden=True, why="hidden shape"),
    ),
    static=(
        StaticCheck("compiles for sm_75 and sm_90 and stores Y", archs=("sm_75", "sm_90"), ptx=("st.global",),
                    hint="a kernel that never stores to Y computes nothing: lane 0 writes Y[m * N + n]"),
        StaticCheck("multiplies with dp4a on signed bytes", archs=("sm_75", "sm_90"), ptx=("dp4a.s32.s32",),
                    hint="use __dp4a, not four multiplies: __dp4a(int x_word, int w_word, int acc) is one "
                         "dp4a.s32.s32 on int words (unsigned arguments pick dp4a.u32.u32, which reads -1 as 255; "
                         "products in float never become dp4a)"),
        StaticCheck("reduces across the warp with shuffles", archs=("sm_90",), ptx=("shfl.sync",),
                    hint="sum the 32 lanes' partial sums with the warp_sum_int given (it uses __shfl_xor_sync)"),
    ),
    perf=Perf({"M": 1, "N": 4096, "K": 4096}, target_pct=50.0, bound=a8w8_bound, points=2),
    forbid=("labkernels.grading", "labkernels.kernels"),
    hints={
        "partial": "some Y[m, n] were never written: every warp with n < N must reach the store, and lane 0 "
                   "stores all M rows",
        "wrong": "word i of a row holds k = 4i .. 4i+3; each lane takes words i = lane, lane + 32, ... and must stop "
                 "at K/4 (the last step has lanes past the end of the row: without that guard they read the next "
                 "row); acc[m] = __dp4a(X word i of row m, W word i of row n, acc[m]); warp_sum_int; then "
                 "Y = sum * SX[m] * SW[n]",
        "precision": "the int32 sum is exact: convert it to float once, multiply by SX[m] and SW[n] in fp32 and "
                     "round to fp16 once, on the store",
        "nonfinite": "Inf in the output: fp16 stops at 65504 and the raw integer sums are larger; were the "
                     "scales applied (sum * SX[m] * SW[n])?",
        "no_scales": "the integer sum is only half the answer: Y[m, n] = sum * SX[m] * SW[n] (fp16 scales, one per "
                     "row of X and one per row of W), computed in fp32",
        "missing_scale": "both scales multiply every output: Y[m, n] = sum * SX[m] * SW[n]",
        "unsigned": "pass __dp4a int words (const int*): the unsigned overload multiplies the bytes as 0..255 "
                    "(dp4a.u32.u32), and int8 weights are signed",
    },
    spec="Fill in a8w8_gemv_warp: one warp per row n of W; its lanes stride along the row's 32-bit words (four "
         "int8 each), accumulating __dp4a(X word, W word, acc) into one exact int32 sum per row of X; reduce "
         "with warp_sum_int, and lane 0 writes Y[m, n] = sum * SX[m] * SW[n] as fp16.",
))
