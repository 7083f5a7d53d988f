"""Regenerate ``exercises/`` from ``solutions/``: one command, same relative paths.

    python -m labkernels.grading.make_exercises            # rewrite what changed
    python -m labkernels.grading.make_exercises --check    # exit 1 when out of sync

``solutions/`` is the only copy anyone edits. For every file in it:

* ``.py``, ``.cu``, ``.cuh``: each solution region becomes its stub
  (:mod:`labkernels.grading.markers`);
* ``.ipynb``: the same in every code cell, and every output and execution
  count is dropped (an exercise notebook must not show the answer's output);
  cells that held an answer are tagged ``answer``;
* anything else (a README, data): copied as is.

In every exercise file a Colab link to ``solutions/`` becomes the same link to
``exercises/``: a notebook's badge opens the notebook it sits in; likewise the folder a
notebook downloads its ``.cu`` from on Colab (``folder="solutions"``).

A ``.py`` solution split into ``# %%`` cells (a percent file) also gets a
notebook twin, ``solutions/<same name>.ipynb``, generated from it here; the
twin is what Colab opens, the ``.py`` is what reviewers diff. Never edit the
twin by hand. Files in ``exercises/`` that no solution produces any more are
deleted. ``tests/test_exercises*.py`` fail when either generated tree is out of
date, by regenerating into a temporary directory and comparing bytes.
"""
from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..notebook import colab_url
from . import ipynb, markers

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"
_SKIP_DIRS = {"__pycache__", ".ipynb_checkpoints", ".pytest_cache"}


def _files(directory: Path) -> list[Path]:
    """Files under ``directory`` that belong to the tree (no caches, no hidden files)."""
    out = []
    for p in sorted(directory.rglob("*")):
        rel = p.relative_to(directory)
        if any(part in _SKIP_DIRS or part.startswith(".") for part in rel.parts):
            continue
        if p.is_file():
            out.append(p)
    return out


def twin_notebook(text: str, rel: str) -> str:
    """The notebook twin of a percent-file solution (the text of ``<rel>`` with ``.ipynb``)."""
    nb = ipynb.from_percent(text, metadata={"labkernels": {"exercise": Path(rel).stem, "generated_from": rel}})
    return ipynb.dumps(nb)


def exercise_notebook(text: str, rel: str) -> str:
    """An exercise notebook: every code cell's regions stubbed, outputs and counts dropped."""
    nb = ipynb.strip_outputs(ipynb.loads(text, rel))
    cells = []
    for i, c in enumerate(nb["cells"]):
        if c["cell_type"] == "code":
            src = ipynb.source(c)
            if markers.has_regions(src, "python"):
                tags = list(c.get("metadata", {}).get("tags", []))
                if ipynb.ANSWER_TAG not in tags:
                    tags.append(ipynb.ANSWER_TAG)
                c = {**ipynb.with_source(c, markers.strip(src, "python", where=f"{rel} cell {i + 1}")),
                     "metadata": {**c.get("metadata", {}), "tags": tags}}
        cells.append(c)
    return ipynb.dumps({**nb, "cells": cells})


def exercise_of(data: bytes, rel: str) -> bytes:
    """The exercise version of one solution file's bytes."""
    suffix = Path(rel).suffix.lower()
    if suffix == ".ipynb":
        data = exercise_notebook(data.decode("utf-8"), rel).encode("utf-8")
    elif markers.lang_of(suffix) is not None:
        data = markers.strip(data.decode("utf-8"), markers.lang_of(suffix), where=rel).encode("utf-8")
    # ... and the folder a notebook fetches its .cu from on Colab (notebook.companion_file)
    data = data.replace(b'folder="solutions"', b'folder="exercises"')
    return data.replace(colab_url("solutions/").encode(), colab_url("exercises/").encode())


@dataclass
class Plan:
    """What both generated trees must contain: relative path -> bytes."""

    twins: dict[str, bytes] = field(default_factory=dict)  #: notebooks in solutions/
    exercises: dict[str, bytes] = field(default_factory=dict)


def plan(solutions_dir: str | os.PathLike | None = None) -> Plan:
    src = Path(solutions_dir) if solutions_dir is not None else SOLUTIONS
    if not src.is_dir():
        raise FileNotFoundError(f"solutions_dir {str(src)!r} is not a directory")
    files = {p.relative_to(src).as_posix(): p.read_bytes() for p in _files(src)}
    out = Plan()
    for rel, data in files.items():
        if rel.endswith(".py") and ipynb.is_percent(data.decode("utf-8", errors="replace")):
            twin = rel[:-3] + ".ipynb"
            out.twins[twin] = twin_notebook(data.decode("utf-8"), rel).encode("utf-8")
    for rel, data in {**files, **out.twins}.items():
        out.exercises[rel] = exercise_of(data, rel)
    return out


def differences(expected: dict[str, bytes], directory: Path, *, exhaustive: bool) -> list[str]:
    """How ``directory`` differs from ``expected`` (extra files count only when ``exhaustive``)."""
    have = {p.relative_to(directory).as_posix(): p for p in _files(directory)} if directory.is_dir() else {}
    msgs = [f"missing {rel}" for rel in sorted(expected) if rel not in have]
    msgs += [f"differs {rel}" for rel in sorted(expected) if rel in have and have[rel].read_bytes() != expected[rel]]
    if exhaustive:
        msgs += [f"stale {rel} (no solution produces it)" for rel in sorted(have) if rel not in expected]
    return msgs


def out_of_sync(solutions_dir=None, exercises_dir=None) -> list[str]:
    """Every way the committed generated files differ from what the solutions produce (empty: in sync)."""
    src = Path(solutions_dir) if solutions_dir is not None else SOLUTIONS
    dst = Path(exercises_dir) if exercises_dir is not None else EXERCISES
    p = plan(src)
    return ([f"solutions/: {m}" for m in differences(p.twins, src, exhaustive=False)]
            + [f"exercises/: {m}" for m in differences(p.exercises, dst, exhaustive=True)])


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def make_exercises(solutions_dir=None, exercises_dir=None) -> list[str]:
    """Regenerate the notebook twins and ``exercises/``; return what changed (``wrote``/``deleted`` lines)."""
    src = Path(solutions_dir) if solutions_dir is not None else SOLUTIONS
    dst = Path(exercises_dir) if exercises_dir is not None else EXERCISES
    p = plan(src)
    changed = []
    for base, files in ((src, p.twins), (dst, p.exercises)):
        for rel, data in files.items():
            target = base / rel
            if not target.is_file() or target.read_bytes() != data:
                _write(target, data)
                changed.append(f"wrote {target}")
    if dst.is_dir():
        for f in _files(dst):
            if f.relative_to(dst).as_posix() not in p.exercises:
                f.unlink()
                changed.append(f"deleted {f}")
    return changed


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m labkernels.grading.make_exercises",
                                 description="Regenerate exercises/ (and notebook twins) from solutions/.")
    ap.add_argument("--solutions", type=Path, default=SOLUTIONS)
    ap.add_argument("--exercises", type=Path, default=EXERCISES)
    ap.add_argument("--check", action="store_true", help="change nothing; exit 1 when out of sync")
    args = ap.parse_args(argv)
    try:
        if args.check:
            diffs = out_of_sync(args.solutions, args.exercises)
            for d in diffs:
                print(d)
            print("out of sync: run python -m labkernels.grading.make_exercises" if diffs else "in sync")
            return 1 if diffs else 0
        for line in make_exercises(args.solutions, args.exercises) or ["nothing changed"]:
            print(line)
        return 0
    except (ValueError, FileNotFoundError) as e:
        print(f"make_exercises: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
