"""ex05 — W4A16 GEMV in CUDA C, one warp per row of W, M <= 4, natural packed layout.

The student writes the body of ``w4a16_gemv_warp(X, QW, S, Y, M, N, K, G)``
(the arguments of ``labkernels/kernels/dequant/v02_gemv_warp.cu`` without the
zero points): read each row's packed int4 as 32-bit words, dequantize in
registers, reduce across the warp. ``warp_sum`` is given (ex02 asked for it).
The task is the ``w4a16`` problem of :mod:`labkernels.problems` with its
defaults (group 128, symmetric): the lab's own inputs, float64 reference and
tolerance.

Without a GPU the grader compiles the source with NVRTC (errors point at the
student's own lines) and scores the static checks; every numeric test says
"needs a GPU" and scores 0, never "passed". (The solution is v02's kernel
with the zero points dropped and M a runtime bound, as ex02 has it; its
numerics have been checked only on a GPU, by the test that runs every
solution there.)
"""
from __future__ import annotations

from ... import roofline
from ..exercise import Case, Exercise, Perf, StaticCheck, Task, register
from ..launchers import GEMV_DEFINES


def w4a16_bound(ceilings, M: int, N: int, K: int):
    b = roofline.bound("w4a16", M, N, K, ceilings)
    return b.time_us, b.kind


EXERCISE = register(Exercise(
    id="ex05_w4a16_gemv",
    title="W4A16 GEMV, one warp per row, packed int4 (CUDA C)",
    lang="cuda",
    solution="ex05_w4a16_gemv.cu",
    entry="w4a16_gemv_warp",
    launcher="w4a16_gemv_warp",
    defines=dict(GEMV_DEFINES),
    task=Task.from_problem("w4a16"),
    cases=(
        Case({"M": 1, "N": 64, "K": 256}, points=2, why="one row of X; two groups; K/8 = 32 words, one per lane"),
        Case({"M": 3, "N": 33, "K": 384}, points=2,
             why="N = 33 is not a multiple of the 4 warps of a block; K/8 = 48 words, not a multiple of 32 lanes"),
        Case({"M": 4, "N": 65, "K": 1152}, points=2, why="nine groups, each with its own scale; M = MAX_M"),
        Case({"M": 2, "N": 257, "K": 640}, points=2, hidden=True, why="hidden shape"),
    ),
    static=(
        StaticCheck("compiles for sm_75 and sm_90 and stores Y", archs=("sm_75", "sm_90"), ptx=("st.global",),
                    hint="a kernel that never stores to Y computes nothing: lane 0 writes Y[m * N + n]"),
        StaticCheck("reduces across the warp with shuffles", archs=("sm_90",), ptx=("shfl.sync",),
                    hint="sum the 32 lanes' partial sums with the warp_sum given (it uses __shfl_xor_sync)"),
    ),
    perf=Perf({"M": 1, "N": 4096, "K": 4096}, target_pct=50.0, bound=w4a16_bound, points=2),
    forbid=("labkernels.grading", "labkernels.kernels"),
    hints={
        "partial": "some Y[m, n] were never written: every warp with n < N must reach the store, and lane 0 "
                   "stores all M rows",
        "wrong": "nibble t of word i is element k = 8i + t ((w >> 4t) & 15, LOW nibble first); it stands for "
                 "q - 8; its scale is S[n * G + k / (K / G)]; each lane must visit i = lane, lane + 32, ... < K/8",
        "precision": "dequantize and accumulate in fp32 and convert with __float2half once, on the store",
    },
    spec="Fill in w4a16_gemv_warp: one warp per row n of W; its lanes stride along the row's 32-bit words of "
         "packed int4, dequantize each nibble as (q - 8) * scale in fp32, accumulate one partial sum per row of "
         "X, reduce them with warp_sum, and lane 0 writes Y[m, n].",
))
