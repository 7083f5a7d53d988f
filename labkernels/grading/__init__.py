"""Exercises, in-notebook checks, and a batch grader that a submission cannot fool.

* ``solutions/`` holds each exercise with its answer between ``BEGIN
  SOLUTION`` / ``END SOLUTION`` markers; ``python -m
  labkernels.grading.make_exercises`` regenerates ``exercises/`` from it
  (:func:`labkernels.grading.make_exercises.make_exercises` as a function;
  :mod:`~labkernels.grading.markers` does the stripping).
* :func:`check` is what a notebook cell calls: ``grading.check("ex01",
  unpack_int4_kernel)`` runs the exercise's tests on fresh random inputs at
  awkward shapes and prints a PASS/FAIL line per test with the first
  mismatches and a hint (:mod:`~labkernels.grading.feedback`).
* :func:`labkernels.grading.batch.grade` grades many submissions into
  Gradescope ``results.json`` files and a CSV (:mod:`~labkernels.grading.batch`).
* The exercises themselves are defined in :mod:`labkernels.grading.tasks`
  (:mod:`~labkernels.grading.exercise` says what an exercise is).

How grading resists cheating (issue 8): the student's code runs in another
process (:mod:`~labkernels.grading.sandbox`, :mod:`~labkernels.grading.worker`)
that never holds the reference, the tolerances or the seeds — the grader draws
fresh inputs per call, sends only those, and compares what comes back in its
own process (:mod:`~labkernels.grading.runner`); the grader launches the kernel,
not student code (:mod:`~labkernels.grading.launchers`); NaN never matches;
hangs and crashes are contained by time limits and process isolation; what a
submission prints is capped; a time faster than the roofline bound is flagged;
results files are written atomically and checked against what the grader
wrote. Limits, said where they apply: a process running as the same user can
read the file system and patch the timing code that must run in the kernel's
own process (real isolation is the container's job; a patched timer still
cannot pass wrong answers or beat the bound); in the Numba simulator a kernel
body is ordinary Python, so only a GPU run proves it is a kernel; and the
simulator runs a block's threads in order, so it exposes only races whose
reader runs first (compute-sanitizer's racecheck finds the rest on a GPU).

Why not otter-grader
--------------------
otter-grader (7.0.0, available from PyPI) was considered for the notebook side
and not adopted. It does work on Colab and it uses the same ``BEGIN SOLUTION``
markers, but: (1) ``otter.Notebook.check`` runs the tests in the notebook's own
globals, and ``otter grade`` isolates submissions with Docker containers — we
need the reference, seeds and comparison in a separate process on machines
without Docker (Colab, a course GPU server; a container also needs the NVIDIA
toolkit to see a GPU at all); (2) its assignment format (``# ASSIGNMENT
CONFIG`` cells, ``# BEGIN QUESTION`` blocks, OK-format test files) covers
notebooks, Python and R, not CUDA C ``.cu`` files, which are half of this lab;
(3) it requires ipywidgets >= 8.1.5, pandas, jupytext, nbconvert[webpdf] and
python-on-whales, so installing it on Colab would upgrade the ipywidgets 7
Colab ships, which the lab promises to support, for features we would not use.
What the lab keeps from it: the marker convention (a course can still run
``otter assign`` on these notebooks) and Gradescope's ``results.json`` format,
which otter writes too. The grader here is a few small modules with no
dependency beyond the lab's own.
"""
from __future__ import annotations

from .exercise import Exercise, all_exercises, get
from .feedback import check
from .runner import GradeResult, TestResult

__all__ = ["check", "get", "all_exercises", "Exercise", "GradeResult", "TestResult"]
