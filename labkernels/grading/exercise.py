"""What an exercise is: a task, the cases it is checked on, its points, hints and targets.

An :class:`Exercise` is all the grader knows about one exercise, and it lives
only in the grader's process: the reference, the tolerances and the seeds
never reach the student's process (see :mod:`labkernels.grading.sandbox`).

* :class:`Task` says what the kernel computes: how to draw fresh inputs (never
  zeros), the float64 reference, the output's shape and dtype, and the
  tolerance (the rules of :mod:`labkernels.check`, whose ``compare`` and
  ``poison`` every test uses unless the task brings its own: an exact
  comparison where NaN is a right answer, say, needs a poison that is not
  NaN). :meth:`Task.from_problem` reuses a matrix multiply problem of
  :mod:`labkernels.problems` as is.
* A :class:`Case` is one shape, checked ``repeats`` times on fresh inputs each
  time (so a kernel that caches its first answer, by shape or by input
  identity, fails the second draw). Hidden cases run only in batch grading.
  A case may need a device capability (``requires``, a key of
  :data:`labkernels.device.CAPABILITIES`: ``"mma_s8_m16n8k32"`` is sm_80+); on
  a GPU without it the case is not run and says so (status ``needs_gpu``,
  kind ``needs_arch``, 0 points), never "failed" for the kernel's sake.
* A task may name known mistakes (``Task.diagnose``): when the standard
  comparison fails, it says which wrong computation the output matches
  ("the integer sums without the scales"), and that mistake's hint is given.
* A :class:`StaticCheck` (CUDA C) is scored from the compiler alone: it
  compiles for the listed architectures and its PTX holds what the lesson
  asks for. These are the points a grader without a GPU can give.
* :class:`Perf` is an optional performance target: % of the roofline bound
  at one shape, measured on a GPU by the grader.

Languages: ``numba`` (a ``@cuda.jit`` kernel; the Numba simulator without a
GPU), ``cuda`` (a ``__global__`` in a ``.cu``; compiled only without a GPU)
and ``python`` (a plain function run on the CPU, in the same isolated
process: exercises with a numeric answer and no kernel).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..errors import check_choice

LANGS = ("numba", "cuda", "python")

#: Generic hints by failure kind; an exercise overrides any of them.
HINTS = {
    "empty": "no output was written: is the kernel body empty, or does every thread return early?",
    "partial": "some outputs were never written (still NaN): does the grid cover every element, "
               "and does the tail guard keep threads that are in range?",
    "precision": "close but not within tolerance: accumulate and convert in fp32 and round to fp16 "
                 "once, on the store (bf16 or an fp16 accumulator loses bits)",
    "wrong": "the values are wrong: compare one output by hand with the spec's formula",
    "nonfinite": "the output holds NaN or Inf: an uninitialised value, or an overflow",
    "nondeterministic": "a race: threads read a value (in shared memory, say) before the thread that "
                        "writes it has; a barrier (cuda.syncthreads() / __syncthreads()) must separate "
                        "the writes from the reads — or a read of memory nobody initialised",
    "raised": "the kernel raised an exception: read the message above",
    "index": "an index went out of bounds: add a tail guard (threads beyond the array must not "
             "read or write)",
    "timeout": "the kernel did not finish within the time limit: an infinite loop, or a barrier "
               "that not every thread reaches?",
    "crash": "the process running the kernel died: an illegal memory access (out-of-bounds "
             "pointer) or a crash in native code",
    "output": "the kernel printed too much: remove debugging prints before submitting",
    "load": "the submission could not be loaded: fix the error above first",
    "compile": "the CUDA C does not compile: the first error (file:line) is the one to fix",
    "missing": "the submission does not define what the exercise asks for",
    "needs_gpu": "this test measures numerics on a GPU; without one the kernel is only compiled",
    "needs_arch": "this GPU lacks an instruction the exercise is about: run it on a newer one (on Colab an L4 "
                  "or A100 runtime, not the T4); the compile checks above still count",
    "internal": "the grader's own worker failed, which says nothing about the kernel: report it to the course "
                "staff with the traceback above",
}


@dataclass(frozen=True)
class Task:
    """What a kernel must compute (see the module docstring)."""

    inputs: Callable = field(repr=False)  #: (rng, **shape) -> dict name -> host ndarray
    reference: Callable = field(repr=False)  #: inputs -> float64 ndarray
    out_shape: Callable = field(repr=False)  #: (**shape) -> tuple
    out_dtype: np.dtype = np.dtype(np.float16)
    tol: float = 2.0**-10
    norm_tol: float = 1e-3
    out_name: str = "Y"  #: the output's name in reports ("Y[0, 3] = ...", "W[1, 7] = ...")
    #: (got, ref, inputs) -> (passed, explanation, failure kind), replacing labkernels.check.compare;
    #: got already has ``out_dtype`` (the runner checks that first)
    compare: Callable | None = field(default=None, repr=False)
    #: (shape, dtype) -> the host array every output starts as, replacing labkernels.check.poison
    poison: Callable | None = field(default=None, repr=False)
    #: (got, ref, inputs) -> (failure kind, one line) when the output matches a known wrong computation,
    #: else None; asked only after the standard comparison failed (not with ``compare``, which explains itself)
    diagnose: Callable | None = field(default=None, repr=False)

    @staticmethod
    def from_problem(fmt: str, **overrides) -> "Task":
        """A matrix multiply problem of :mod:`labkernels.problems` (shape keys M, N, K); ``overrides``
        set other fields (``diagnose=...``)."""
        from .. import problems

        p = problems.get(fmt)
        return Task(**{**dict(inputs=lambda rng, M, N, K: p.inputs(M, N, K, rng), reference=p.reference,
                               out_shape=lambda M, N, K: (M, N), out_dtype=np.dtype(p.out_dtype), tol=p.tol,
                               norm_tol=p.norm_tol), **overrides})


@dataclass(frozen=True)
class Case:
    """One shape the kernel is checked at, ``repeats`` times with fresh inputs."""

    shape: dict
    points: float = 1.0
    repeats: int = 2
    hidden: bool = False
    why: str = ""  #: what the shape exercises ("N not a multiple of the block")
    #: a device capability the numerics need (a key of labkernels.device.CAPABILITIES), or ""
    requires: str = ""

    @property
    def label(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.shape.items())


@dataclass(frozen=True)
class StaticCheck:
    """Points from the compiler: compiles for ``archs`` and the PTX contains every one of ``ptx``."""

    name: str
    archs: tuple[str, ...]
    ptx: tuple[str, ...] = ()
    points: float = 1.0
    hint: str = ""


@dataclass(frozen=True)
class Perf:
    """A performance target: ``target_pct`` of the roofline bound at ``shape`` earns ``points``."""

    shape: dict
    target_pct: float
    #: (ceilings, **shape) -> (bound in µs, which ceiling binds)
    bound: Callable = field(repr=False)
    points: float = 1.0
    iters: int = 10
    warmup: int = 2


@dataclass(frozen=True)
class Exercise:
    id: str  #: "ex01_unpack_int4"
    title: str
    lang: str  #: "numba", "cuda" or "python"
    solution: str  #: the graded file, relative to solutions/ (and exercises/)
    entry: str  #: the kernel's name: a module attribute (numba, python) or an extern "C" __global__ (cuda)
    launcher: str  #: a key of labkernels.grading.launchers.LAUNCHERS
    task: Task = field(repr=False)
    cases: tuple[Case, ...] = field(repr=False)
    static: tuple[StaticCheck, ...] = field(default=(), repr=False)
    perf: Perf | None = field(default=None, repr=False)
    #: CUDA C: the #defines the grader compiles with
    defines: dict = field(default_factory=dict, compare=False, repr=False)
    #: modules a submission may not import: the grader and whatever holds the reference
    forbid: tuple[str, ...] = field(default=("labkernels.grading",), repr=False)
    hints: dict = field(default_factory=dict, compare=False, repr=False)
    spec: str = field(default="", repr=False)  #: one paragraph: what to write

    @property
    def short(self) -> str:
        return self.id.split("_", 1)[0]

    @property
    def needs_gpu(self) -> bool:
        """Whether numerics need a GPU (CUDA C) rather than running in the Numba simulator too."""
        return self.lang == "cuda"

    def hint(self, kind: str) -> str:
        return self.hints.get(kind) or HINTS.get(kind, "")

    @property
    def requires(self) -> str:
        """The device capability every case needs, or "" when some case needs none (or they differ).
        A GPU without it can run no numeric test, so the grader does not build the kernel for it."""
        needs = {c.requires for c in self.cases}
        return needs.pop() if len(needs) == 1 else ""

    @property
    def max_score(self) -> float:
        return (sum(c.points for c in self.cases) + sum(s.points for s in self.static)
                + (self.perf.points if self.perf else 0.0))


_REGISTRY: dict[str, Exercise] = {}


def register(ex: Exercise) -> Exercise:
    check_choice("lang", ex.lang, LANGS)
    from ..device import CAPABILITIES

    for c in ex.cases:
        if c.requires:
            check_choice("requires", c.requires, CAPABILITIES)
    if ex.id in _REGISTRY:
        raise ValueError(f"exercise {ex.id!r} registered twice")
    from .launchers import LAUNCHERS

    check_choice("launcher", ex.launcher, LAUNCHERS)
    _REGISTRY[ex.id] = ex
    return ex


def _load() -> None:
    from . import tasks  # noqa: F401  (registers every exercise)


def all_exercises() -> list[Exercise]:
    _load()
    return sorted(_REGISTRY.values(), key=lambda e: e.id)


def get(exercise) -> Exercise:
    """An exercise by id (``"ex01_unpack_int4"``), short id (``"ex01"``) or itself."""
    if isinstance(exercise, Exercise):
        return exercise
    if not isinstance(exercise, str):
        raise TypeError(f"exercise must be an exercise id such as 'ex01'; got {type(exercise).__name__}")
    _load()
    if exercise in _REGISTRY:
        return _REGISTRY[exercise]
    short = {e.short: e for e in _REGISTRY.values()}
    if exercise.lower() in short:
        return short[exercise.lower()]
    return _REGISTRY[check_choice("exercise", exercise, list(_REGISTRY) + list(short))]


def detect(name: str) -> Exercise | None:
    """The exercise a file or notebook name refers to (``ex01…``), or None."""
    import re

    _load()
    m = re.search(r"(?<![a-z0-9])(ex\d\d)", name.lower())
    if not m:
        return None
    for e in _REGISTRY.values():
        if e.short == m.group(1):
            return e
    return None
