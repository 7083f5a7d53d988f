"""ex07 — the int8 ``mma.sync`` m16n8k32 fragments, in CUDA C (sm_80+).

The student gets a kernel in which one warp computes one 16 x 8 tile of the
A8W8 product with ``mma_s8_m16n8k32`` (given) and fills in (a) the six
fragment registers of one k32 step, loaded straight from global memory (a0..a3
from X, b0, b1 from W, zero for rows past M or N), and (b) the epilogue that
puts c0..c3 at their (row, column) of Y with the scales. The task is the
``a8w8`` problem of :mod:`labkernels.problems` (the lab's inputs, reference and
tolerance); K must be a multiple of 32 (one MMA step; the launcher refuses
other K). Cases: K = 32 (one step), K not a multiple of 128 (the lab's v06
stage), M and N not multiples of the 16 x 8 tile.

**sm_80+.** ``mma.sync.aligned.m16n8k32`` with ``.s8`` needs sm_80; every case
declares ``requires="mma_s8_m16n8k32"``. The static checks compile for sm_80
and sm_90 on any machine; on an older GPU (a T4, sm_75) the numeric tests say
that the GPU is too old and score 0 as "needs a GPU", never "failed", and the
grader does not even build the kernel for that GPU.

**The layout** (PTX ISA, "Matrix Fragments for mma.m16n8k32", ``.s8``),
g = lane / 4, t = lane % 4, element i of a lane in register i / 4, byte i % 4:

* A 16 x 32: row g for i < 4 or 8 <= i < 12, else g + 8; column 4t + (i & 3),
  + 16 for i >= 8. So a0 = row g, k 4t..; a1 = row g + 8; a2 = row g, k 16 + 4t..;
  a3 = row g + 8, k 16 + 4t...
* B 32 x 8: row (k) 4t + (i & 3), + 16 for i >= 4; column g.
* C/D 16 x 8 (s32): row g for i < 2, else g + 8; column 2t + (i & 1).

:func:`emulate` computes what a kernel with a given choice of loads and
stores (:class:`Mapping`) produces: each lane's registers are filled the way
the kernel fills them, placed where the hardware reads them (the layout above,
coded element by element from the ISA's formulas), multiplied, and stored
where the kernel stores them. With :data:`SOLUTION` it is exactly x·wᵀ (a CPU
test proves it for many shapes), and :func:`diagnose` uses it to recognise the
usual mistakes: a1 and a2 swapped, b0 and b1 swapped, c2/c3 on row g + 1 or
the two row halves exchanged, c1/c2 exchanged. Without a GPU the kernel
itself is only compiled; its numerics are checked on a GPU by
``tests/test_exercises_more.py -m gpu``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ... import problems
from ..exercise import Case, Exercise, StaticCheck, Task, register
from ..launchers import MMA_TILE_DEFINES
from ._a8w8 import first_match

MMA_PTX = "mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32"
_TOL = problems.get("a8w8").tol


# --------------------------------------------------------------------------
# The hardware's layout (PTX ISA, m16n8k32 .s8), element by element.
# --------------------------------------------------------------------------


def ptx_a(g: int, t: int, i: int) -> tuple[int, int]:
    """(row, column) of A held as element i (register i // 4, byte i % 4) by lane 4g + t."""
    row = g if (i < 4 or 8 <= i < 12) else g + 8
    return row, 4 * t + (i & 3) + (16 if i >= 8 else 0)


def ptx_b(g: int, t: int, i: int) -> tuple[int, int]:
    """(row k, column n) of B held as element i (register i // 4, byte i % 4) by lane 4g + t."""
    return 4 * t + (i & 3) + (16 if i >= 4 else 0), g


def ptx_c(g: int, t: int, i: int) -> tuple[int, int]:
    """(row, column) of C/D held as element i (register i) by lane 4g + t."""
    return (g if i < 2 else g + 8), 2 * t + (i & 1)


# --------------------------------------------------------------------------
# A kernel's loads and stores, and what the warp then computes.
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Mapping:
    """Where a kernel's lane (g, t) loads its registers from and stores its results to.

    ``a[r] = (dr, dk)``: register r of A holds X[m0 + g + dr, k0 + dk + 4t + j] in byte j;
    ``b[r] = dk``: register r of B holds W[n0 + g, k0 + dk + 4t + j] in byte j;
    ``c[i] = (dr, dc)``: c[i] is stored (scaled) to Y[m0 + g + dr, n0 + 2t + dc], in the order i = 0..3.
    """

    a: tuple = ((0, 0), (8, 0), (0, 16), (8, 16))
    b: tuple = (0, 16)
    c: tuple = ((0, 0), (0, 1), (8, 0), (8, 1))


SOLUTION = Mapping()

#: (failure kind, what the kernel does, its mapping): the mistakes diagnose() recognises
MISTAKES = (
    ("a_fragment", "a1 and a2 swapped (a1 loaded from row g at k 16+4t.., a2 from row g+8 at k 4t..)",
     Mapping(a=((0, 0), (0, 16), (8, 0), (8, 16)))),
    ("b_fragment", "b0 and b1 swapped (b0 loaded from k 16+4t.., b1 from k 4t..)", Mapping(b=(16, 0))),
    ("epilogue_row", "c2, c3 stored on row g + 1 instead of g + 8", Mapping(c=((0, 0), (0, 1), (1, 0), (1, 1)))),
    ("epilogue_row", "c0, c1 stored on row g + 8 and c2, c3 on row g (the halves exchanged)",
     Mapping(c=((8, 0), (8, 1), (0, 0), (0, 1)))),
    ("epilogue_order", "c1 and c2 exchanged (c0, c1 taken as rows g, g + 8 of column 2t)",
     Mapping(c=((0, 0), (8, 0), (0, 1), (8, 1)))),
)


def _tables(mp: Mapping):
    """Per hardware position, where the kernel's load put its value: A [16, 32] -> (row, k) in the
    16 x 32 tile of X; B [32, 8] -> (row of the 8 rows of W, k); and per (i, lane) the hardware
    position of c[i] and where the kernel stores it."""
    a_src = np.full((16, 32, 2), -1)
    b_src = np.full((32, 8, 2), -1)
    stores = []  # (i, hw row, hw col, dst row, dst col), in store order
    for lane in range(32):
        g, t = divmod(lane, 4)
        for i in range(16):
            r, j = divmod(i, 4)
            dr, dk = mp.a[r]
            a_src[ptx_a(g, t, i)] = (g + dr, dk + 4 * t + j)
        for i in range(8):
            r, j = divmod(i, 4)
            b_src[ptx_b(g, t, i)] = (g, mp.b[r] + 4 * t + j)
    for i in range(4):
        for lane in range(32):
            g, t = divmod(lane, 4)
            dr, dc = mp.c[i]
            stores.append((i, *ptx_c(g, t, i), g + dr, 2 * t + dc))
    if (a_src < 0).any() or (b_src < 0).any():
        raise AssertionError("the PTX layout tables do not cover the A and B tiles")  # a bug in ptx_a/ptx_b
    return a_src, b_src, np.array(stores)


def emulate(x, w, x_scale=None, w_scale=None, mapping: Mapping = SOLUTION) -> np.ndarray:
    """What the ex07 kernel computes when it loads and stores as ``mapping`` says: float64 [M, N],
    NaN where it never stores. Without scales, the raw int32 sums it stores (exact)."""
    x, w = np.asarray(x), np.asarray(w)
    M, K = x.shape
    N = w.shape[0]
    if K % 32:
        raise ValueError(f"K must be a multiple of 32; got {K}")
    a_src, b_src, stores = _tables(mapping)
    Mt, Nt, KS = -(-M // 16), -(-N // 8), K // 32
    xp = np.zeros((Mt * 16, K))
    xp[:M] = x
    wp = np.zeros((Nt * 8, K))
    wp[:N] = w
    A = xp.reshape(Mt, 16, KS, 32)[:, a_src[..., 0], :, a_src[..., 1]]  # [16, 32, Mt, KS]: A[r, k] per tile
    B = wp.reshape(Nt, 8, KS, 32)[:, b_src[..., 0], :, b_src[..., 1]]   # [32, 8, Nt, KS]: B[k, n] per tile
    D = np.einsum("rcas,cnbs->abrn", A, B)  # [Mt, Nt, 16, 8]; exact: |sums| < 2**53
    sx = np.ones(M) if x_scale is None else np.asarray(x_scale, np.float64).reshape(M)
    sw = np.ones(N) if w_scale is None else np.asarray(w_scale, np.float64).reshape(N)
    out = np.full((M, N), np.nan)
    m0, n0 = np.arange(Mt)[:, None] * 16, np.arange(Nt)[None, :] * 8
    for _, hr, hc, dr, dc in stores:
        m, n = m0 + dr, n0 + dc  # [Mt, 1], [1, Nt]
        ok = (m < M) & (n < N)
        mm, nn = np.broadcast_to(m, ok.shape)[ok], np.broadcast_to(n, ok.shape)[ok]
        out[mm, nn] = D[:, :, hr, hc][ok] * sx[mm] * sw[nn]
    return out


def diagnose(got: np.ndarray, ref: np.ndarray, inputs: dict):
    """(kind, line) when the output is one of the usual fragment mistakes, else None."""
    args = (inputs["x"], inputs["w"], inputs["x_scale"], inputs["w_scale"])
    if args[0].shape[1] % 32:
        return None
    return first_match(got, ref, _TOL, [(kind, f"a kernel with {what}", (lambda mp=mp: emulate(*args, mapping=mp)))
                                        for kind, what, mp in MISTAKES])


_SM80 = "mma_s8_m16n8k32"

EXERCISE = register(Exercise(
    id="ex07_mma_fragment",
    title="int8 mma.sync m16n8k32: load the fragments, store the tile (CUDA C, sm_80+)",
    lang="cuda",
    solution="ex07_mma_fragment.cu",
    entry="a8w8_mma_tile",
    launcher="a8w8_mma_tile",
    defines=dict(MMA_TILE_DEFINES),
    task=Task.from_problem("a8w8", diagnose=diagnose),
    cases=(
        Case({"M": 16, "N": 8, "K": 32}, points=2, requires=_SM80,
             why="K = 32: one MMA, one 16 x 8 tile, one warp; every register and every c is used once"),
        Case({"M": 5, "N": 20, "K": 96}, points=2, requires=_SM80,
             why="M = 5 and N = 20 are not multiples of 16 and 8 (zero rows, unstored rows and columns); "
                 "K = 96: three k32 steps, not a multiple of 128"),
        Case({"M": 37, "N": 72, "K": 416}, points=2, requires=_SM80,
             why="3 x 9 tiles: a tail of 5 rows, 9 warps in 3 blocks of 4 (the last block has one); 13 k32 steps"),
        Case({"M": 24, "N": 44, "K": 160}, points=2, hidden=True, requires=_SM80, why="hidden shape"),
    ),
    static=(
        StaticCheck("compiles for sm_80 and sm_90 and stores Y", archs=("sm_80", "sm_90"), ptx=("st.global",),
                    hint="the epilogue stores nothing yet: c[2h + j] goes to Y[(m0 + g + 8h) * N + n0 + 2t + j]"),
        StaticCheck("issues the int8 m16n8k32 MMA", archs=("sm_80", "sm_90"), ptx=(MMA_PTX,),
                    hint="after loading a[0..3], b0 and b1, call mma_s8_m16n8k32(c, a, b0, b1) once per k32 step"),
    ),
    forbid=("labkernels.grading", "labkernels.kernels"),
    hints={
        "partial": "some Y[m, n] were never written: lane (g, t) stores rows m0 + g and m0 + g + 8, columns "
                   "n0 + 2t and n0 + 2t + 1 (c0, c1 on the first row, c2, c3 on the second), each guarded by "
                   "m < M and n < N",
        "wrong": "check the layout: a0 = X row m0+g, bytes k0+4t..+3; a1 = row m0+g+8, same bytes; a2 = row m0+g, "
                 "bytes k0+16+4t..; a3 = row m0+g+8, bytes k0+16+4t..; b0, b1 = W row n0+g at k0+4t.. and "
                 "k0+16+4t..; zero (not a load) for rows at or past M or N; c[2h + j] is Y[m0+g+8h, n0+2t+j] "
                 "times SX[m] * SW[n]",
        "a_fragment": "the A registers go rows first, then the k half: a0 = row g, a1 = row g + 8 (both at "
                      "k0 + 4t), a2 = row g, a3 = row g + 8 (both at k0 + 16 + 4t)",
        "b_fragment": "b0 holds k0 + 4t .. k0 + 4t + 3 and b1 holds k0 + 16 + 4t .., both from row n0 + g of W",
        "epilogue_row": "c0, c1 belong to row m0 + g and c2, c3 to row m0 + g + 8 (eight rows down, not one): "
                        "c[2h + j] is Y[m0 + g + 8h, n0 + 2t + j]",
        "epilogue_order": "c0 and c1 are two columns of one row (2t, 2t + 1 of row g), c2 and c3 the same columns "
                          "of row g + 8",
        "crash": "the process died, most likely on an illegal address: rows of X at or past M and rows of W at "
                 "or past N must give 0 without being loaded",
        "precision": "the int32 sums are exact: convert each c to float once, multiply by SX[m] and SW[n] in fp32, "
                     "round to fp16 once",
    },
    spec="Fill in a8w8_mma_tile: (a) for each k32 step, load this lane's A registers a0..a3 (rows m0+g and m0+g+8 "
         "of X, bytes k0+4t.. and k0+16+4t..) and B registers b0, b1 (row n0+g of W, the same bytes), zero past "
         "M and N, and call mma_s8_m16n8k32; (b) store c[2h + j] * SX[m] * SW[n] to Y[m0+g+8h, n0+2t+j] as "
         "fp16, guarded by m < M and n < N. K % 32 == 0; sm_80+.",
))
