"""ex02 — fp16 GEMV in CUDA C, one warp per row of W, M <= 4.

The student writes the body of ``fp16_gemv_warp(X, W, Y, M, N, K)`` (the
arguments of ``labkernels/kernels/fp16/v03_gemv_warp.cu``) and its
``warp_sum``. The task is the ``fp16`` problem of :mod:`labkernels.problems`
unchanged: the same inputs, float64 reference and tolerance as the lab's own
kernels.

Without a GPU the grader compiles the source with NVRTC (errors point at the
student's own lines) and scores the static checks; every numeric test says
"needs a GPU" and scores 0, never "passed".
"""
from __future__ import annotations

from ... import roofline
from ..exercise import Case, Exercise, Perf, StaticCheck, Task, register
from ..launchers import GEMV_DEFINES


def fp16_bound(ceilings, M: int, N: int, K: int):
    b = roofline.bound("fp16", M, N, K, ceilings)
    return b.time_us, b.kind


EXERCISE = register(Exercise(
    id="ex02_fp16_gemv",
    title="fp16 GEMV, one warp per row (CUDA C)",
    lang="cuda",
    solution="ex02_fp16_gemv.cu",
    entry="fp16_gemv_warp",
    launcher="gemv_warp",
    defines=dict(GEMV_DEFINES),
    task=Task.from_problem("fp16"),
    cases=(
        Case({"M": 1, "N": 64, "K": 256}, points=2, why="one row of X; K a multiple of 8"),
        Case({"M": 3, "N": 33, "K": 200}, points=2, why="N = 33 is not a multiple of the 4 warps of a block"),
        Case({"M": 4, "N": 65, "K": 1030}, points=2, why="K = 1030 is not a multiple of 8 (no 16-byte loads)"),
        Case({"M": 2, "N": 257, "K": 1032}, points=2, hidden=True, why="hidden shape"),
    ),
    static=(
        StaticCheck("compiles for sm_75 and sm_90 and stores Y", archs=("sm_75", "sm_90"), ptx=("st.global",),
                    hint="a kernel that never stores to Y computes nothing: lane 0 writes Y[m * N + n]"),
        StaticCheck("reduces across the warp with shuffles", archs=("sm_90",), ptx=("shfl.sync",),
                    hint="sum the 32 lanes' partial sums with __shfl_xor_sync (warp_sum), not shared memory"),
    ),
    perf=Perf({"M": 1, "N": 4096, "K": 4096}, target_pct=50.0, bound=fp16_bound, points=2),
    forbid=("labkernels.grading", "labkernels.kernels"),
    hints={
        "partial": "some Y[m, n] were never written: every warp with n < N must reach the store, and "
                   "lane 0 stores all M rows",
        "wrong": "each lane must visit k = lane, lane + 32, ... (or 8-wide chunks) over the whole row, "
                 "and the warp_sum must include all 32 lanes",
        "precision": "accumulate in float (fp32) and convert with __float2half once, on the store",
    },
    spec="Fill in fp16_gemv_warp and warp_sum: one warp per row n of W; its lanes stride along W[n, :] "
         "accumulating an fp32 partial sum per row of X, reduce them with warp shuffles, and lane 0 "
         "writes Y[m, n].",
))
