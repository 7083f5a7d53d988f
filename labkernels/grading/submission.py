"""From what a student hands in to the text the grader runs: files, notebooks, folders.

A submission is a ``.py`` file, a ``.cu`` file, an ``.ipynb`` notebook, or a
folder holding one of them (Gradescope unpacks each submission into a folder).
What is graded:

* a Numba or a plain Python exercise: the Python module. From a notebook, every code cell in
  order, shell (``!``) and magic (``%``) lines commented out, cells that are
  not Python (``%%writefile``, ``%%bash``) left out; from a ``.py`` exported by
  Colab the same (it turns ``!pip`` into ``get_ipython().system(...)``). The
  module is loaded under another ``__name__``, so a ``__main__`` block (where
  exercise files call ``grading.check``) does not run, and in the grader's
  process ``labkernels.grading`` is a stub whose ``check`` does nothing;
* a CUDA C exercise: the ``.cu`` text only — from a notebook, the cell that
  writes it (``%%writefile name.cu``) or else the one cell defining a
  ``__global__``. The launcher is always the grader's own.

Errors the student can fix (a syntax error, a compile error) are reported at
the student's own coordinates: ``file:line`` for files, ``cell N, line L``
for notebooks (:meth:`Source.translate`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from . import ipynb
from .exercise import Exercise, detect, get

_SUFFIXES = {"numba": (".py", ".ipynb"), "python": (".py", ".ipynb"), "cuda": (".cu", ".ipynb")}
_NOT_PYTHON_CELLS = ("%%writefile", "%%bash", "%%sh", "%%html", "%%javascript", "%%js", "%%latex",
                     "%%markdown", "%%script", "%%file", "%%svg", "%%cuda")
_MAGIC_LINE = re.compile(r"^\s*(?:[!%]|get_ipython\(\))")


@dataclass
class Source:
    """The text to grade, and how to point at a line of it in the student's terms."""

    text: str
    filename: str  #: the name the student knows ("alice.ipynb", "ex02_fp16_gemv.cu")
    notebook: bool = False
    #: for notebooks: (first line in ``text``, 1-based; cell number; line of that cell it holds)
    cells: list[tuple[int, int, int]] = field(default_factory=list)

    def where(self, lineno: int) -> str:
        """``file:line``, or ``file, cell N, line L`` for a notebook."""
        if not self.notebook:
            return f"{self.filename}:{lineno}"
        start, cell, first = 1, None, 1
        for s, c, f in self.cells:
            if s <= lineno:
                start, cell, first = s, c, f
        if cell is None:
            return f"{self.filename}:{lineno}"
        return f"{self.filename}, cell {cell}, line {lineno - start + first}"

    def translate(self, message: str) -> str:
        """Rewrite the line numbers in a traceback or compiler log to the student's coordinates."""
        if not self.notebook or not message:
            return message
        name = re.escape(self.filename)
        message = re.sub(rf'File "{name}", line (\d+)', lambda m: f'File "{self.where(int(m.group(1)))}"', message)
        message = re.sub(rf"{name}\((\d+)\)", lambda m: self.where(int(m.group(1))), message)
        return re.sub(rf"{name}:(\d+)", lambda m: self.where(int(m.group(1))), message)


def python_from_text(text: str, filename: str) -> Source:
    """A ``.py`` submission, with notebook-export shell and magic lines commented out."""
    lines = [("# " + ln if _MAGIC_LINE.match(ln) else ln) for ln in text.splitlines()]
    return Source("\n".join(lines) + "\n", filename)


def python_from_notebook(nb: dict, filename: str) -> Source:
    out: list[str] = []
    cells = []
    for number, src in ipynb.code_cells(nb):
        lines = src.splitlines()
        if lines and lines[0].lstrip().startswith(_NOT_PYTHON_CELLS):
            continue
        first = 1
        if lines and lines[0].lstrip().startswith("%%"):  # %%time, %%capture: the body is Python
            lines, first = lines[1:], 2
        out.append(f"# [cell {number}]")
        cells.append((len(out) + 1, number, first))
        out += [("# " + ln if _MAGIC_LINE.match(ln) else ln) for ln in lines]
    return Source("\n".join(out) + "\n", filename, notebook=True, cells=cells)


def cuda_from_notebook(nb: dict, filename: str, want: str) -> Source:
    """The ``.cu`` a notebook writes (``%%writefile``), or its one cell with a ``__global__``."""
    written, kernels = [], []
    for number, src in ipynb.code_cells(nb):
        lines = src.splitlines()
        if not lines:
            continue
        m = re.match(r"\s*%%writefile\s+(?:-a\s+)?(\S+\.cuh?)\s*$", lines[0])
        if m:
            written.append((Path(m.group(1)).name == want, number, "\n".join(lines[1:]) + "\n", 2))
        elif "__global__" in src and not lines[0].lstrip().startswith("%%"):
            kernels.append((False, number, src if src.endswith("\n") else src + "\n", 1))
    pick = sorted(written, key=lambda t: not t[0]) or kernels
    if not pick or (not written and len(kernels) > 1):
        raise ValueError(f"{filename}: no CUDA C found; put the kernel in one cell that starts with "
                         f"%%writefile {want}")
    _, number, text, first = pick[0]
    return Source(text, filename, notebook=True, cells=[(1, number, first)])


def from_text(text: str, exercise, filename: str | None = None) -> Source:
    """A submission given as text (a notebook's cell, a string in a test)."""
    ex = get(exercise)
    filename = filename or ex.solution
    if not isinstance(text, str):
        raise TypeError(f"source must be a str; got {type(text).__name__}")
    if filename.endswith(".ipynb"):
        return from_notebook(ipynb.loads(text, filename), ex, filename)
    return python_from_text(text, filename) if ex.lang != "cuda" else Source(text, filename)


def from_notebook(nb: dict, exercise, filename: str) -> Source:
    ex = get(exercise)
    if ex.lang != "cuda":
        return python_from_notebook(nb, filename)
    return cuda_from_notebook(nb, filename, Path(ex.solution).name)


def pick_file(folder: Path, ex: Exercise) -> Path:
    """The file of a folder submission that answers ``ex``."""
    want = Path(ex.solution).name
    files = [p for p in sorted(folder.rglob("*")) if p.is_file() and not any(
        part.startswith(".") or part == "__pycache__" for part in p.relative_to(folder).parts)]
    exact = [p for p in files if p.name == want]
    if exact:
        return exact[0]
    cands = [p for p in files if p.suffix.lower() in _SUFFIXES[ex.lang]]
    if len(cands) == 1:
        return cands[0]
    found = ", ".join(p.name for p in cands) or "no .py, .cu or .ipynb file"
    raise ValueError(f"submission folder {folder.name} must hold {want} (or exactly one "
                     f"{' or '.join(_SUFFIXES[ex.lang])} file); found {found}")


def exercise_for(path: Path, exercise=None) -> Exercise:
    """The exercise a submission answers: given, in its notebook metadata, or in its name."""
    if exercise is not None:
        return get(exercise)
    if path.suffix.lower() == ".ipynb" and path.is_file():
        try:
            meta = ipynb.read(path).get("metadata", {}).get("labkernels", {})
            if isinstance(meta, dict) and isinstance(meta.get("exercise"), str):
                return get(meta["exercise"])
        except ValueError:
            pass
    for part in [path.name] + [p.name for p in path.parents][:2]:
        ex = detect(part)
        if ex is not None:
            return ex
    raise ValueError(f"cannot tell which exercise {path.name} answers: name it after the exercise "
                     f"(ex01_..., ex02_...) or pass exercise=")


def load(path, exercise=None) -> tuple[Exercise, Source]:
    """(exercise, source) of a submission file or folder."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"submission {str(path)!r} does not exist")
    ex = exercise_for(p, exercise)
    if p.is_dir():
        p = pick_file(p, ex)
    suffix = p.suffix.lower()
    if suffix not in _SUFFIXES[ex.lang]:
        raise ValueError(f"{p.name}: {ex.id} takes a {' or '.join(_SUFFIXES[ex.lang])} file, "
                         f"not {suffix or 'no suffix'}")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{p.name} is not UTF-8 text") from None
    if suffix == ".ipynb":
        return ex, from_notebook(ipynb.loads(text, p.name), ex, p.name)
    return ex, (python_from_text(text, p.name) if ex.lang != "cuda" else Source(text, p.name))
