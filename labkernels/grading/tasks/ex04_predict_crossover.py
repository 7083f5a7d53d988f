"""ex04 — read the roofline and predict the crossover for a given GPU (plain Python, no kernel).

The student writes ``predict_crossover(bw, fp16_peak, int8_peak, N, K)``
returning three numbers for the layer ``Y[M, N] = X[M, K]·W[N, K]ᵀ`` on a GPU
with memory bandwidth ``bw`` (bytes/s) and dense MMA peaks ``fp16_peak``
(FLOP/s) and ``int8_peak`` (OP/s):

1. the ridge of W4A16: the M at which its memory time equals its fp16 MMA
   time (:func:`labkernels.roofline.ridge_m` ``("w4a16", ...)``);
2. the ridge of A8W8, on the int8 MMA (``ridge_m("a8w8", ...)``);
3. the crossover: the M above which A8W8's bound is below W4A16's — the
   first crossing :func:`labkernels.roofline.crossovers` ``("w4a16",
   "a8w8", ..., alu=False)`` reports (``inf`` if none).

**The model** is the plain two-ceiling roofline, ``alu=False``:
``t(M) = max(bytes(M) / bw, 2·M·N·K / peak)``, every tensor moved once
(activations, weights with their scales, the fp16 output), perfect overlap,
no dequantization cost. W4A16 runs its MMAs in fp16 (it dequantizes the
weights to fp16), A8W8 in int8. The three-ceiling model's ALU term and tile
rounding are left out on purpose: the exercise asks for the numbers a
student can derive with pencil and paper. ``ridge_m`` ignores the ALU term
too, so (1) and (2) are the same quantity in both models.

**Tolerances.** Ridges within 0.5% relative (they are closed forms; one
rounded to a whole M passes from about M = 100; the rule of thumb
``M* ≈ R·w/2``, which leaves out the activations and the output, does not).
The crossover within 1 (absolute) or 0.5%, whichever is larger:
``crossovers`` reports the first *integer* M at which A8W8 is strictly
faster, the exact crossing point is up to 1 below it. ``inf`` must be
``inf``.

**Inputs.** Each case names a GPU of :mod:`labkernels.specs` and a layer
shape; each draw takes that GPU's datasheet ceilings
(:func:`labkernels.roofline.datasheet_ceilings`) and scales the bandwidth
and both peaks by independent random factors in [0.8, 1.25] (what measured
ceilings of the same GPU might be), so a table of answers, or one GPU's
answer for all, cannot pass. The factors keep int8 faster than fp16 (the
ratio stays above 1.28), so the two bounds cross once.

**Isolation.** The student's process may not import ``labkernels.roofline``
(nor the modules built on it, ``labkernels.crossover`` and
``labkernels.plot``): the answer must come from bytes and FLOPs. (It can
still read the roofline's source file from disk — same-user processes can,
see :mod:`labkernels.grading` — which a course states as a rule rather
than enforces.)
"""
from __future__ import annotations

import math

import numpy as np

from ... import roofline
from ..exercise import Case, Exercise, Task, register

NAMES = ("ridge of W4A16", "ridge of A8W8", "crossover M")
RTOL = 0.005  #: relative tolerance of every answer
CROSS_ATOL = 1.0  #: the crossover may also be off by one M (the model reports an integer)
JITTER = (0.8, 1.25)  #: each ceiling is its datasheet value times a factor in this range


def ceilings(bw: float, fp16_peak: float, int8_peak: float) -> roofline.Ceilings:
    """Ceilings with just these rates. W4A16 and A8W8 run on the fp16 and int8 MMA on every
    architecture, and ``alu=False`` reads no ALU rate, so nothing else of the GPU matters."""
    mma = {"fp16": fp16_peak, "int8": int8_peak, "fp8": 0.0, "fp4": 0.0}
    return roofline.Ceilings(gpu="ex04", key="", cc=(9, 0), source="datasheet", bw=bw, mma=mma, library=dict(mma),
                             alu=1.0, ffma=1.0, notes="ex04: a GPU's datasheet ceilings, each scaled")


def inputs(rng: np.random.Generator, gpu: str, N: int, K: int) -> dict:
    """Only numbers go to the student's function: the GPU's name does not (a lookup table keyed by it
    would be no derivation)."""
    c = roofline.datasheet_ceilings(gpu)
    f = np.exp(rng.uniform(np.log(JITTER[0]), np.log(JITTER[1]), 3))
    return {"bw": float(c.bw * f[0]), "fp16_peak": float(c.mma["fp16"] * f[1]),
            "int8_peak": float(c.mma["int8"] * f[2]), "N": int(N), "K": int(K)}


def reference(inp: dict) -> np.ndarray:
    c = ceilings(inp["bw"], inp["fp16_peak"], inp["int8_peak"])
    N, K = inp["N"], inp["K"]
    cross = roofline.crossovers("w4a16", "a8w8", N, K, c, alu=False)
    return np.array([[roofline.ridge_m("w4a16", N, K, c), roofline.ridge_m("a8w8", N, K, c),
                      cross[0] if cross else math.inf]])


# --------------------------------------------------------------------------
# The comparison, and the mistakes it recognises.
# --------------------------------------------------------------------------


def _closed_form(bw, fp16_peak, int8_peak, N, K, *, out_bytes=2.0, act_bytes=True, a8_peak=None,
                 scales=True, general=False) -> tuple[float, float, float]:
    """The three answers in closed form with one rule changed (the known wrong answers).

    Memory time t = (a·M + b) / bw, MMA time c·M; ridge: b / (c·bw - a). The crossover: in
    the regime every draw is in (W4A16 on its MMA roof, A8W8 still memory-bound), where
    W4A16's MMA time meets A8W8's memory time; ``general``: the first meeting of any two of
    the four lines after which A8W8 is faster (what a student who does not assume the
    regime computes, and gets ``inf`` from when a mistake makes the two bounds never cross)."""
    a8_peak = int8_peak if a8_peak is None else a8_peak
    w4_bits = 4 + (16 / 128 if scales else 0)
    a_w4 = (2 * K if act_bytes else 0) + out_bytes * N
    a_a8 = (1 * K if act_bytes else 0) + out_bytes * N
    b_w4, b_a8 = N * K * w4_bits / 8, N * K * 1.0

    def ridge(a, b, peak):
        d = 2 * N * K / peak * bw - a
        return b / d if d > 0 else math.inf

    if general:
        w4 = [(a_w4 / bw, b_w4 / bw), (2 * N * K / fp16_peak, 0.0)]
        a8 = [(a_a8 / bw, b_a8 / bw), (2 * N * K / a8_peak, 0.0)]

        def t(lines, m):
            return max(s * m + c for s, c in lines)

        meets = sorted((c2 - c1) / (s1 - s2) for s1, c1 in w4 for s2, c2 in a8
                       if s1 != s2 and (c2 - c1) / (s1 - s2) > 0)
        cross = next((m for m in meets if t(a8, m * (1 + 1e-9)) < t(w4, m * (1 + 1e-9))), math.inf)
    else:
        d = 2 * N * K / fp16_peak * bw - a_a8
        cross = b_a8 / d if d > 0 else math.inf
    return ridge(a_w4, b_w4, fp16_peak), ridge(a_a8, b_a8, a8_peak), cross


#: (failure kind, changed rule, what it means)
_MISTAKES = (
    ("fp16_for_int8", dict(a8_peak="fp16"), "A8W8's MMA time taken at the fp16 peak instead of the int8 one"),
    ("output_bytes", dict(out_bytes=0.0), "the output Y (M·N fp16 values, written once) left out of the bytes"),
    ("rule_of_thumb", dict(out_bytes=0.0, act_bytes=False), "only the weights' bytes counted (the M* ≈ R·w/2 "
                                                            "rule of thumb): activations and output left out"),
    ("scales", dict(scales=False), "W4A16's fp16 scales (one per 128 weights) left out of its bytes"),
)


def _close(got: float, want: float, i: int) -> bool:
    if math.isinf(want) or math.isinf(got) or math.isnan(got):
        return got == want
    tol = max(RTOL * abs(want), CROSS_ATOL if i == 2 else 0.0)
    return abs(got - want) <= tol


def compare(got: np.ndarray, ref: np.ndarray, inputs: dict | None, max_report: int = 5):
    """(passed, explanation, failure kind) of the three answers."""
    if got.shape != ref.shape:
        return False, f"output shape {got.shape}, expected {ref.shape}", "wrong"
    g, r = got[0], ref[0]
    if np.isnan(g).all():
        return False, "no answer was written", "empty"
    ok = [_close(float(g[i]), float(r[i]), i) for i in range(3)]
    if all(ok):
        return True, ", ".join(f"{n} {float(v):.1f}" for n, v in zip(NAMES, g)) + \
            " (tolerance 0.5%; the crossover also ±1)", ""
    where = ""
    if inputs is not None:
        where = (f" (bw {inputs['bw']:.4g} B/s, fp16 peak {inputs['fp16_peak']:.4g} FLOP/s, int8 peak "
                 f"{inputs['int8_peak']:.4g} OP/s, N {inputs['N']}, K {inputs['K']})")
    lines = [f"{3 - sum(ok)} of 3 answers wrong{where}:"]
    for i, (n, v, w) in enumerate(zip(NAMES, g, r)):
        tol = "0.5%" + (" or 1" if i == 2 else "")
        rel = abs(v - w) / abs(w) if math.isfinite(w) and w and math.isfinite(v) else math.inf
        mark = "ok" if ok[i] else f"WRONG (off by {rel:.1%}, tolerance {tol})" if math.isfinite(rel) else "WRONG"
        lines.append(f"  {n}: {float(v)!r}, expected {float(w)!r} — {mark}")
    first = ok.index(False)
    kind = ("ridge_w4a16", "ridge_a8w8", "crossover")[first]
    if inputs is not None:
        args = (inputs["bw"], inputs["fp16_peak"], inputs["int8_peak"], inputs["N"], inputs["K"])
        for k, opts, what in _MISTAKES:  # a known mistake that gives all three answers?
            opts = {key: (inputs["fp16_peak"] if val == "fp16" else val) for key, val in opts.items()}
            alts = [_closed_form(*args, **opts, general=general) for general in (False, True)]
            if any(all(_close(float(g[i]), alt[i], i) for i in range(3)) for alt in alts):
                kind = k
                lines.append(f"these are exactly the answers with {what}")
                break
    return False, "\n".join(lines), kind


EXERCISE = register(Exercise(
    id="ex04_predict_crossover",
    title="Read the roofline: predict where A8W8 overtakes W4A16 (Python)",
    lang="python",
    solution="ex04_predict_crossover.py",
    entry="predict_crossover",
    launcher="predict_crossover",
    task=Task(inputs=inputs, reference=reference, out_shape=lambda **shape: (1, 3),
              out_dtype=np.dtype(np.float64), out_name="answer", compare=compare),
    cases=(
        Case({"gpu": "h100-sxm", "N": 8192, "K": 8192}, why="H100 SXM, a square 8192 layer"),
        Case({"gpu": "l4", "N": 4096, "K": 4096}, why="L4: little bandwidth for its MMA rate"),
        Case({"gpu": "a10g", "N": 2048, "K": 2048}, points=2,
             why="A10G: int8 runs at 4x the fp16 rate there, not 2x; a small layer, where the activations "
                 "and the output are a larger share of the bytes"),
        Case({"gpu": "rtx-5090", "N": 28672, "K": 8192}, hidden=True, why="RTX 5090, a tall MLP layer"),
        Case({"gpu": "b200", "N": 1024, "K": 4096}, hidden=True, why="B200, a short wide layer"),
    ),
    forbid=("labkernels.grading", "labkernels.roofline", "labkernels.crossover", "labkernels.plot"),
    hints={
        "empty": "nothing was returned: return the three numbers as a tuple",
        "raised": "predict_crossover raised: read the message above (the stub raises NotImplementedError "
                  "until you fill it in)",
        "missing": "define predict_crossover(bw, fp16_peak, int8_peak, N, K) as a plain function",
        "ridge_w4a16": "W4A16 moves 2·M·K bytes of X, N·K·(4 + 16/128)/8 of W and its scales, 2·M·N of Y; "
                       "its MMA does 2·M·N·K FLOPs at fp16_peak; solve bytes(M)/bw = 2·M·N·K/fp16_peak for M",
        "ridge_a8w8": "A8W8 moves M·K bytes of X, N·K of W, 2·M·N of Y, and runs on the int8 MMA (int8_peak)",
        "crossover": "past its ridge W4A16 is compute-bound (2·M·N·K/fp16_peak) while A8W8 is still "
                     "memory-bound: A8W8 wins where its memory time drops below W4A16's MMA time",
        "fp16_for_int8": "A8W8 multiplies int8 by int8: its MMA time is 2·M·N·K / int8_peak, not the fp16 peak",
        "output_bytes": "count the output too: Y[M, N] in fp16 is M·N·2 bytes, written once",
        "rule_of_thumb": "M* ≈ R·w/2 is a lead, not the answer: the activations (M·K elements) and the output "
                         "(M·N) grow with M too, and belong in bytes(M)",
        "scales": "W4A16's weights carry one fp16 scale per 128 along K: 4 + 16/128 bits per weight",
    },
    spec="Write predict_crossover(bw, fp16_peak, int8_peak, N, K) returning (ridge M of W4A16, ridge M of A8W8, "
         "M above which A8W8's roofline bound beats W4A16's) for Y[M, N] = X·Wᵀ, from bytes and FLOPs on the "
         "two-ceiling roofline (labkernels.roofline with alu=False), without importing labkernels.roofline.",
))
