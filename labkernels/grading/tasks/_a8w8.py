"""What the two A8W8 exercises (ex06 dp4a, ex07 mma.sync) share: the roofline bound and the test
that an output *is* a given wrong computation (the grader's side of ``Task.diagnose``)."""
from __future__ import annotations

import numpy as np

from ... import roofline


def a8w8_bound(ceilings, M: int, N: int, K: int):
    """The roofline bound of the lab's ``a8w8`` format at (M, N, K): (µs, the ceiling that binds)."""
    b = roofline.bound("a8w8", M, N, K, ceilings)
    return b.time_us, b.kind


def matches(got: np.ndarray, alt: np.ndarray, tol: float) -> bool:
    """Whether the fp16 output ``got`` is ``alt`` (float64; NaN = never written) as a kernel would
    store it: rounded to fp16 (Inf beyond 65504), NaN exactly where ``alt`` has NaN, and every
    finite value within a few times the task's tolerance (the mistaken kernel rounds too)."""
    g = np.asarray(got, np.float64)
    a = np.asarray(alt, np.float64)
    if g.shape != a.shape:
        return False
    with np.errstate(over="ignore", invalid="ignore"):
        a = a.astype(np.float16).astype(np.float64)
    if not np.array_equal(np.isnan(g), np.isnan(a)):
        return False
    inf = np.isinf(a)
    if not np.array_equal(np.isinf(g), inf) or not np.array_equal(g[inf], a[inf]):
        return False
    fin = np.isfinite(a)
    if not fin.any():
        return bool(inf.any())  # all Inf (or NaN): the masks above decided
    rms = float(np.sqrt(np.mean(a[fin] ** 2))) or 1.0
    return bool(np.all(np.abs(g[fin] - a[fin]) <= 4 * tol * (np.abs(a[fin]) + rms)))


def first_match(got: np.ndarray, ref: np.ndarray, tol: float, mistakes) -> tuple[str, str] | None:
    """(kind, line) of the first ``(kind, what, alt)`` in ``mistakes`` whose ``alt()`` the output
    matches and the right answer does not; None when none does. ``alt`` is called lazily. A mistake
    whose output holds no nonzero number (it reads only padding at this shape) names nothing: a
    kernel that computes nothing would match it too."""
    for kind, what, alt in mistakes:
        a = np.asarray(alt(), np.float64)
        if not np.any(a[np.isfinite(a)]):
            continue
        if matches(got, a, tol) and not matches(ref, a, tol):
            return kind, f"the output is exactly what {what} gives"
    return None
