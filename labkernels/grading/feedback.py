"""``labkernels.grading.check``: the check a notebook cell runs on the student's kernel.

    from labkernels import grading
    grading.check("ex01", unpack_int4_kernel)            # a @cuda.jit kernel, run here
    grading.check("ex02", "ex02_fp16_gemv.cu")           # a CUDA C file (or its text)

It runs the exercise's visible tests (hidden ones are for grading) on fresh
random inputs at several shapes, awkward ones included, and prints one
PASS/FAIL line per test with the first mismatches and a hint, then which tests
ran on a GPU. With a GPU it also times the kernel against the roofline bound.

A kernel object runs in the notebook's own process (fast feedback; a hang is
interrupted with the stop button). A source — always the case for CUDA C —
runs in a separate process, as in batch grading: a kernel that hangs is
stopped at the time limit and one that faults leaves the notebook's own CUDA
context intact.
"""
from __future__ import annotations

import os
from pathlib import Path

from . import runner, submission
from .exercise import get
from .sandbox import Sandbox


def _is_path(obj) -> bool:
    if isinstance(obj, os.PathLike):
        return True
    return isinstance(obj, str) and "\n" not in obj and len(obj) < 4096 and obj.endswith((".py", ".cu", ".ipynb"))


def check(exercise, student, *, hidden: bool = False, perf: bool = True, seed: int | None = None,
          time_limit: float | None = None, quiet: bool = False) -> runner.GradeResult:
    """Check ``student`` (a kernel, a launcher, a file path or source text) against ``exercise``.

    Returns a :class:`~labkernels.grading.runner.GradeResult` (truthy when every
    test passed). ``seed`` makes the draws reproducible (a failure report shows
    nothing secret: in the notebook the kernel is the student's own).
    """
    ex = get(exercise)
    if hidden not in (True, False):
        raise TypeError(f"hidden must be a bool; got {hidden!r}")
    show = (lambda t: None) if quiet else (lambda t: print(t.line(), flush=True))
    if _is_path(student):
        p = Path(student)
        if not p.is_file():
            raise FileNotFoundError(f"student: no file {str(student)!r}")
        _, src = submission.load(p, ex)
        name = p.name
    elif isinstance(student, str):
        src = submission.from_text(student, ex)
        name = "source text"
    else:
        target = runner.InProcess(ex, student)
        name = getattr(student, "__name__", type(student).__name__)
        res = runner.run(ex, target, submission=name, hidden=hidden, perf=perf, seed=seed, on_test=show)
        if not quiet:
            print(res.gpu_line())
            print(res.summary())
        return res
    with Sandbox(ex, src, time_limit=time_limit) as box:
        res = runner.run(ex, box, submission=name, hidden=hidden, perf=perf, seed=seed, on_test=show)
    if not quiet:
        if res.printed.strip():
            print("while loading, the file printed:\n" + res.printed.rstrip())
        print(res.gpu_line())
        print(res.summary())
    return res
