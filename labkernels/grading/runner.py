"""Run an exercise's tests against a target and score them.

A *target* runs the student's kernel: a :class:`~labkernels.grading.sandbox.Sandbox`
(another process; batch grading, and sources checked from a notebook) or an
:class:`InProcess` kernel (a notebook's own function, for quick feedback). Both
offer ``start()``, ``call(inputs, out)``, ``time(sets, outs, warmup)``.

For each case the runner, in this process, draws fresh inputs from a secret
seed, computes the float64 reference, poisons the output with NaN
(:func:`labkernels.check.poison`), has the target run the kernel, and compares
with :func:`labkernels.check.compare` (NaN and Inf never match) — ``repeats``
times with a new draw each time. A task may bring its own poison and
comparison (``Task.poison``, ``Task.compare``: an exact one where NaN is a
right answer). A failure is explained (first mismatches, its
kind) and gets the exercise's hint for that kind.

Status of a test: ``passed``, ``failed``, or ``needs_gpu`` (CUDA C numerics on
a machine without a GPU, or a case whose ``requires`` this GPU lacks — an
sm_80 instruction on a T4: not run, 0 points, and never reported as passed).
The performance test times the kernel on fresh inputs per call, checks every
timed output, and compares the median with the roofline bound; a time faster
than the bound allows is flagged and earns nothing.
"""
from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field

import numpy as np

from .. import check as _check
from .exercise import Case, Exercise
from .sandbox import Outcome

#: above this fraction of the bound a time is physically implausible: flagged, not rewarded
FASTER_THAN_BOUND = 1.10


@dataclass
class TestResult:
    name: str
    max_score: float
    score: float = 0.0
    status: str = "failed"  #: passed, failed, needs_gpu
    output: str = ""
    hidden: bool = False
    on_gpu: bool | None = None  #: whether it ran on a GPU (None: it did not run)
    kind: str = ""  #: failure kind (see exercise.HINTS)
    leaderboard: list = field(default_factory=list)  #: [{"name", "value", "order"}]

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def line(self) -> str:
        tag = {"passed": "PASS", "failed": "FAIL", "needs_gpu": "NEEDS GPU"}[self.status]
        return f"{tag:<9} {self.name} [{self.score:g}/{self.max_score:g}]" + (f"\n{self.output}" if self.output else "")


@dataclass
class GradeResult:
    exercise: str
    submission: str
    device: str = ""
    on_gpu: bool = False
    tests: list = field(default_factory=list)
    load_error: str = ""
    printed: str = ""  #: what the submission printed while loading
    seconds: float = 0.0

    @property
    def score(self) -> float:
        return float(sum(t.score for t in self.tests))

    @property
    def max_score(self) -> float:
        return float(sum(t.max_score for t in self.tests))

    @property
    def passed(self) -> bool:
        """Every test passed (a test that needed a GPU it did not get has not passed)."""
        return bool(self.tests) and all(t.passed for t in self.tests)

    @property
    def failed(self) -> list:
        """The tests that ran and failed (not those that could not run without a GPU)."""
        return [t for t in self.tests if t.status == "failed"]

    def __bool__(self) -> bool:
        return self.passed

    def gpu_line(self) -> str:
        """Which tests ran on a GPU and which could not (the line Gradescope's report carries)."""
        ran = [t.name for t in self.tests if t.on_gpu]
        sim = [t.name for t in self.tests if t.on_gpu is False]
        miss = [t.name for t in self.tests if t.status == "needs_gpu" and t.kind != "needs_arch"]
        too_old = [t.name for t in self.tests if t.status == "needs_gpu" and t.kind == "needs_arch"]
        parts = [f"device: {self.device or 'unknown'}"]
        parts.append(f"ran on a GPU: {', '.join(ran) if ran else 'none'}")
        if sim:
            parts.append(f"ran without a GPU (simulator or compiler): {', '.join(sim)}")
        if miss:
            parts.append(f"could not run (needs a GPU, scored 0): {', '.join(miss)}")
        if too_old:
            parts.append(f"could not run on this GPU (needs a newer one, scored 0): {', '.join(too_old)}")
        return "; ".join(parts)

    def summary(self) -> str:
        n_pass = sum(t.passed for t in self.tests)
        n_gpu = sum(t.status == "needs_gpu" for t in self.tests)
        gpu = f", {n_gpu} need a GPU (not run here)" if n_gpu else ""
        return (f"{self.exercise} ({self.submission}): {self.score:g}/{self.max_score:g} points; "
                f"{n_pass} passed, {len(self.failed)} failed{gpu}")

    def __str__(self) -> str:
        lines = [t.line() for t in self.tests]
        return "\n".join(lines + [self.gpu_line(), self.summary()])


# --------------------------------------------------------------------------
# Evaluating one output.
# --------------------------------------------------------------------------


def _kind_of(got: np.ndarray, ref: np.ndarray, max_err: float, tol: float) -> str:
    if got.shape != ref.shape:
        return "wrong"
    if got.dtype.kind != "f":
        return "wrong"
    finite = np.isfinite(got)
    if not finite.any():
        return "empty"
    if not finite.all():
        return "partial" if np.isnan(got[~finite]).all() else "nonfinite"
    return "precision" if max_err < 64 * tol else "wrong"


def evaluate(ex: Exercise, got, ref: np.ndarray, max_report: int = 5, inputs: dict | None = None
             ) -> tuple[bool, str, str]:
    """(passed, explanation, failure kind) of one output against the float64 reference
    (with the task's own comparison when it has one; it may read the ``inputs`` to explain)."""
    t = ex.task
    got = np.asarray(got)
    if got.dtype != t.out_dtype:
        return False, f"output dtype {got.dtype}, expected {t.out_dtype}", "wrong"
    if t.compare is not None:
        return t.compare(got, ref, inputs)
    ok, max_err, norm_err, n_bad, mism, msg = _check.compare(got, ref, t.tol, t.norm_tol, max_report=max_report)
    if ok:
        return True, f"max err {max_err:.1e} (tol {t.tol:.1e}), norm err {norm_err:.1e}", ""
    if got.shape != ref.shape:
        return False, msg, "wrong"
    kind = _kind_of(got, ref, max_err, t.tol)
    lines = [f"{n_bad} of {ref.size} outputs wrong: max err {max_err:.2e} (tol {t.tol:.1e}), "
             f"norm err {norm_err:.2e} (tol {t.norm_tol:.1e})" + (f"; {msg}" if msg else "")]
    if t.diagnose is not None and inputs is not None:
        known = t.diagnose(got, ref, inputs)
        if known:
            kind, why = known
            lines.append(why)
    lines += [f"  {t.out_name}[{i}, {j}] = {g!r}, expected {w!r}" for i, j, g, w in mism]
    return False, "\n".join(lines), kind


# --------------------------------------------------------------------------
# Running the tests.
# --------------------------------------------------------------------------


def _poisoned(ex: Exercise, shape: dict) -> np.ndarray:
    t = ex.task
    if t.poison is not None:
        return t.poison(t.out_shape(**shape), t.out_dtype)
    return _check.poison(np, t.out_shape(**shape), t.out_dtype)


def _draw(ex: Exercise, shape: dict, rng_seed: int):
    rng = np.random.default_rng(rng_seed)
    inputs = ex.task.inputs(rng, **shape)
    ref = ex.task.reference(inputs)
    return inputs, ref, _poisoned(ex, shape)


def _fail_text(ex: Exercise, head: str, kind: str, printed: str = "") -> str:
    lines = [head]
    if printed.strip():
        lines.append("the kernel printed:\n" + printed.rstrip())
    hint = ex.hint(kind)
    if hint:
        lines.append(f"hint: {hint}")
    return "\n".join(lines)


class _Seeds:
    """Seeds for the draws: secret and fresh by default, reproducible when a seed is given."""

    def __init__(self, seed):
        self.rng = None if seed is None else np.random.default_rng(seed)

    def next(self) -> int:
        return secrets.randbits(63) if self.rng is None else int(self.rng.integers(0, 2**63 - 1))


def _differs_on_rerun(target, inputs, out, first) -> bool:
    """Whether the kernel answers the very same inputs differently (a race, an uninitialised read)."""
    o = target.call(inputs, out.copy())
    if not o.ok or o.result is None or np.shape(o.result) != np.shape(first):
        return False
    a, b = np.asarray(first), np.asarray(o.result)
    return not np.array_equal(a, b, equal_nan=a.dtype.kind == "f")


def _run_case(ex: Exercise, case: Case, target, seeds: _Seeds, on_gpu: bool, race_check: list) -> TestResult:
    """One case, ``repeats`` fresh draws. ``race_check`` ([True] or [False]) allows one rerun of a
    wrong answer on the same inputs, to tell a race from a plain bug; it is spent when used."""
    tr = TestResult(name=_case_name(ex, case), max_score=case.points, hidden=case.hidden, on_gpu=on_gpu)
    why = f"({case.why}) " if case.why else ""
    for r in range(case.repeats):
        seed = seeds.next()
        inputs, ref, out = _draw(ex, case.shape, seed)
        o: Outcome = target.call(inputs, out.copy())
        draw = f"draw {r + 1} of {case.repeats}"
        if not o.ok:
            tr.kind = o.kind
            err = ("\n" if "\n" in o.error else " ") + o.error
            tr.output = _fail_text(ex, f"{why}{draw}:{err}", o.kind, o.printed if o.kind != "output" else "")
            return tr
        ok, text, kind = evaluate(ex, o.result, ref, inputs=inputs)
        if not ok:
            if kind in ("wrong", "partial") and race_check[0]:
                race_check[0] = False
                if _differs_on_rerun(target, inputs, out, o.result):
                    kind = "nondeterministic"
                    text += "\nthe same inputs gave a different answer on a second run"
            tr.kind = kind
            again = " (the first draw passed: does the kernel reuse an earlier answer?)" if r > 0 else ""
            tr.output = _fail_text(ex, f"{why}{draw}{again}: {text}", kind, o.printed)
            return tr
        last = text
    tr.status, tr.score = "passed", case.points
    tr.output = f"{why}{case.repeats} fresh draws: {last}"
    return tr


def _static(ex: Exercise, info: dict, target) -> list[TestResult]:
    out = []
    compiled = info.get("compiled", {})
    for s in ex.static:
        tr = TestResult(name=f"{ex.short} {s.name}", max_score=s.points, on_gpu=False)
        bad = [a for a in s.archs if not compiled.get(a, {}).get("ok")]
        if bad:
            log = compiled.get(bad[0], {}).get("log", "") or info.get("error", "")
            tr.kind = "compile"
            tr.output = _fail_text(ex, f"does not compile for {', '.join(bad)}:\n{log.strip()}", "compile")
        else:
            missing = [(a, p) for a in s.archs for p in s.ptx if p not in target.ptx(a)]
            if missing:
                tr.kind = "static"
                pats = sorted({p for _, p in missing})
                tr.output = f"compiles, but the PTX has no {', '.join(pats)}" + (f"\nhint: {s.hint}" if s.hint else "")
            else:
                tr.status, tr.score = "passed", s.points
                tr.output = f"compiled for {', '.join(s.archs)}" + (f"; PTX has {', '.join(s.ptx)}" if s.ptx else "")
        out.append(tr)
    return out


def _lacks(info: dict, requires: str) -> str:
    """Why this GPU cannot run a test that needs ``requires`` ("" when it can, or when there is no
    GPU or no compute capability to judge by: those cases take their usual path)."""
    if not requires or not info.get("gpu") or not info.get("cc"):
        return ""
    from ..device import CAPABILITIES

    cap = CAPABILITIES[requires]
    cc = tuple(info["cc"])
    if cap.available(cc):
        return ""
    return (f"needs {cap.description} ({cap.target}); this GPU is {info.get('device', 'unknown')}: not run here, "
            f"0 points (a GPU too old for the exercise is not a mistake in the kernel)")


def _ceilings_for(info: dict):
    from .. import roofline, specs

    name = info.get("gpu_name", "")
    spec = specs.find_spec(name) if name else None
    if spec is None:
        return None
    return roofline.ceilings_for(spec.key, "measured")


def _case_name(ex: Exercise, c: Case) -> str:
    return f"{ex.short} {c.label}" + (" (hidden)" if c.hidden else "")


def _perf_name(ex: Exercise) -> str:
    p = ex.perf
    label = " ".join(f"{k}={v}" for k, v in p.shape.items())
    return f"{ex.short} performance {label} (target {p.target_pct:g}% of the roofline bound)"


def _perf(ex: Exercise, target, info: dict, seeds: _Seeds, correct: bool) -> TestResult:
    p = ex.perf
    tr = TestResult(name=_perf_name(ex), max_score=p.points, on_gpu=bool(info.get("gpu")))
    if not info.get("gpu"):
        tr.status, tr.on_gpu, tr.kind = "needs_gpu", None, "needs_gpu"
        tr.output = "not timed: timing needs a GPU"
        return tr
    lacks = next((w for w in (_lacks(info, c.requires) for c in ex.cases) if w), "")
    if lacks:
        tr.status, tr.on_gpu, tr.kind = "needs_gpu", None, "needs_arch"
        tr.output = f"not timed: {lacks}"
        return tr
    if not correct:
        tr.output = "not timed: the kernel failed a correctness test (a fast wrong answer earns nothing)"
        return tr
    n = p.warmup + p.iters
    # Fresh inputs for every call; references are computed one at a time afterwards (at
    # GPU sizes twelve float64 references would not fit in memory together).
    sets = [ex.task.inputs(np.random.default_rng(seeds.next()), **p.shape) for _ in range(n)]
    outs = [_poisoned(ex, p.shape) for _ in range(n)]
    o = target.time(sets, outs, p.warmup)
    if not o.ok:
        tr.kind = o.kind
        tr.output = _fail_text(ex, f"timing failed: {o.error}", o.kind)
        return tr
    for i, (inputs, got) in enumerate(zip(sets, o.results)):
        ok, text, kind = evaluate(ex, got, ex.task.reference(inputs), inputs=inputs)
        if not ok:
            tr.kind = kind
            tr.output = (f"call {i + 1} of {n} (each on fresh inputs) returned a wrong answer, so no time counts "
                         f"(a cached or replayed answer?): {text}")
            return tr
    t_us = float(np.median(o.times_us))
    ceilings = _ceilings_for(info)
    if ceilings is None:
        tr.output = f"median {t_us:.1f} us; this GPU ({info.get('gpu_name')}) is not in the spec table: no bound"
        tr.leaderboard = [{"name": f"{ex.short} time (us)", "value": round(t_us, 3), "order": "asc"}]
        return tr
    bound_us, kind = p.bound(ceilings, **p.shape)
    pct = 100.0 * bound_us / t_us
    head = (f"median {t_us:.1f} us over {p.iters} calls on fresh inputs (L2 flushed); {kind} bound "
            f"{bound_us:.1f} us ({ceilings.source} ceilings of {ceilings.gpu}): {pct:.0f}% of the bound")
    if pct > 100.0 * FASTER_THAN_BOUND:
        tr.kind = "implausible"
        tr.output = head + "\nFLAGGED: faster than the roofline bound allows; not rewarded (report this)"
        return tr
    tr.leaderboard = [{"name": f"{ex.short} time (us)", "value": round(t_us, 3), "order": "asc"},
                      {"name": f"{ex.short} % of bound", "value": round(pct, 1), "order": "desc"}]
    tr.score = round(p.points * min(1.0, pct / p.target_pct), 3)
    tr.status = "passed" if pct >= p.target_pct else "failed"
    tr.output = head + (f"; target {p.target_pct:g}% met" if tr.passed else f"; below the {p.target_pct:g}% target")
    return tr


def run(ex: Exercise, target, *, submission: str = "", hidden: bool = True, perf: bool = True,
        seed: int | None = None, max_timeouts: int = 1, on_test=None) -> GradeResult:
    """Every test of ``ex`` against ``target``; ``on_test(TestResult)`` as each finishes.

    After ``max_timeouts`` tests hit the time limit the remaining ones are failed
    without running (a hang costs its limit once, not once per test). A crash
    only fails its own test: the next one starts a fresh process. A failure of
    the grader itself (its worker cannot start) raises ``RuntimeError`` rather
    than scoring the submission.
    """
    t0 = time.monotonic()
    seeds = _Seeds(seed)
    info = target.start()
    if info.get("kind") == "internal":  # the grader's own machinery failed before any student code ran
        raise RuntimeError(f"the grader could not start a worker: {info.get('error', '')}")
    res = GradeResult(exercise=ex.id, submission=submission, device=info.get("device", ""),
                      on_gpu=bool(info.get("gpu")), printed=info.get("printed", ""))
    cases = [c for c in ex.cases if hidden or not c.hidden]

    def emit(t):
        res.tests.append(t)
        if on_test is not None:
            on_test(t)

    if ex.static:
        for t in _static(ex, info, target):
            emit(t)
    if not info.get("ok"):
        res.load_error = info.get("error", "")
        kind = info.get("kind", "load")
        if kind == "compile" and ex.static:  # the compile log is in the static tests already
            why = "not run: the kernel does not compile (the compiler's messages are above)"
        else:
            why = _fail_text(ex, res.load_error, kind, info.get("printed", ""))
        for c in cases:
            emit(TestResult(name=_case_name(ex, c), max_score=c.points, hidden=c.hidden, kind=kind, output=why))
        if ex.perf and perf:
            emit(TestResult(name=_perf_name(ex), max_score=ex.perf.points, kind=kind,
                            output="not run: the submission did not load"))
        res.seconds = time.monotonic() - t0
        return res

    timeouts = 0
    correct = True
    race_check = [True]
    for c in cases:
        if ex.needs_gpu and not info.get("gpu"):
            emit(TestResult(name=_case_name(ex, c), max_score=c.points, hidden=c.hidden, status="needs_gpu",
                            kind="needs_gpu",
                            output=f"needs a GPU: numerics not checked here ({info.get('device', 'no GPU')}); "
                                   f"the kernel was only compiled"))
            correct = False
            continue
        lacks = _lacks(info, c.requires)
        if lacks:
            emit(TestResult(name=_case_name(ex, c), max_score=c.points, hidden=c.hidden, status="needs_gpu",
                            kind="needs_arch", output=_fail_text(ex, lacks, "needs_arch")))
            correct = False
            continue
        if timeouts >= max_timeouts:
            emit(TestResult(name=_case_name(ex, c), max_score=c.points, hidden=c.hidden, kind="timeout",
                            output="not run: an earlier test hit the time limit"))
            correct = False
            continue
        t = _run_case(ex, c, target, seeds, on_gpu=bool(info.get("gpu")), race_check=race_check)
        timeouts += t.kind == "timeout"
        correct &= t.passed
        emit(t)
    if ex.perf and perf:
        emit(_perf(ex, target, info, seeds, correct))
    res.seconds = time.monotonic() - t0
    return res


# --------------------------------------------------------------------------
# A kernel in this process (notebook feedback).
# --------------------------------------------------------------------------


class InProcess:
    """The student's kernel object or launcher function, run in this process.

    For a notebook's quick feedback only: no time limit, no isolation. A
    ``@cuda.jit`` kernel is launched by the grader's launcher; any other
    callable is called as ``fn(**inputs, out=out)`` (the lab's launcher
    contract) and may return the output or fill ``out``. A ``python``
    exercise's function is always called through the grader's launcher, on
    the CPU.
    """

    def __init__(self, ex: Exercise, fn):
        from . import launchers

        if ex.lang == "cuda":
            raise TypeError(f"{ex.id} is CUDA C: pass the path of your .cu file or its text, not a "
                            f"{type(fn).__name__}")
        self.cpu = ex.lang == "python"
        if self.cpu:
            if not callable(fn) or isinstance(fn, type):
                raise TypeError(f"student must be the function {ex.entry}, or a path or source text; "
                                f"got {type(fn).__name__}")
            launch = launchers.LAUNCHERS[ex.launcher]
            self.fn = lambda out, **a: launch(fn, **a, out=out)
        elif launchers.is_numba_kernel(fn):
            launch = launchers.LAUNCHERS[ex.launcher]
            self.fn = lambda out, **a: launch(fn, **a, out=out)
        elif callable(fn):
            self.fn = lambda out, **a: fn(**a, out=out)
        else:
            raise TypeError(f"student must be a @cuda.jit kernel, a launcher function, or a path or source "
                            f"text; got {type(fn).__name__}")
        self.gpu = None

    def start(self) -> dict:
        from .. import device, numba_compat

        if self.cpu:
            return {"ok": True, "gpu": False, "device": "CPU (plain Python, no kernel)"}
        numba_compat.cuda()
        g = device.gpu()
        self.gpu = g
        if g is not None:
            return {"ok": True, "gpu": True, "device": f"GPU {g.name} (sm_{g.cc[0]}{g.cc[1]})", "gpu_name": g.name,
                    "cc": list(g.cc)}
        return {"ok": True, "gpu": False,
                "device": "Numba simulator (no GPU)" if numba_compat.simulator() else "no GPU"}

    def _xp(self):
        if self.gpu is None:
            return np
        import cupy

        return cupy

    @staticmethod
    def _dev(xp, inputs):
        return {k: (xp.asarray(v) if isinstance(v, np.ndarray) else v) for k, v in inputs.items()}

    def _one(self, xp, inputs, out):
        dev = self._dev(xp, inputs)
        o = xp.asarray(out)
        ret = self.fn(o, **dev)
        return o if ret is None else ret

    def _host(self, a):
        return a.get() if hasattr(a, "get") and not isinstance(a, np.ndarray) else np.asarray(a)

    def call(self, inputs: dict, out: np.ndarray) -> Outcome:
        xp = self._xp()
        try:
            got = self._one(xp, inputs, out)
            if xp is not np:
                xp.cuda.get_current_stream().synchronize()
            return Outcome(True, results=[self._host(got)])
        except Exception as e:
            kind = "index" if isinstance(e, IndexError) else "raised"
            return Outcome(False, kind=kind, error=f"{type(e).__name__}: {e}")

    def time(self, sets, outs, warmup) -> Outcome:
        from . import launchers

        xp = self._xp()
        dev = [self._dev(xp, s) for s in sets]
        douts = [xp.asarray(o) for o in outs]
        try:
            times = launchers.time_calls(lambda a, o: self.fn(o, **a), dev, douts, warmup)
        except Exception as e:
            return Outcome(False, kind="raised", error=f"{type(e).__name__}: {e}")
        return Outcome(True, results=[self._host(o) for o in douts], times_us=times)

    def close(self):
        pass
