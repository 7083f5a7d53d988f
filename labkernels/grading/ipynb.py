"""Notebooks as plain JSON: read, write deterministically, strip, convert from percent files.

No nbformat dependency: the grader reads notebooks students send (Colab,
JupyterLab, VS Code all write nbformat 4 JSON) and must not need the notebook
stack installed to do so. Written notebooks are deterministic (sorted keys,
one-space indent, as nbformat writes them) so that a regenerated file that did
not change is byte-identical and the sync test can compare bytes.

A *percent file* is a Python file whose cells start at ``# %%`` lines
(``# %% [markdown]`` for a markdown cell whose lines are ``# ``-comments), the
jupytext convention: easy to review and diff, and still an importable module.
:func:`from_percent` turns one into the ``.ipynb`` Colab opens; a leading
module docstring becomes the first markdown cell.
"""
from __future__ import annotations

import ast
import json
import re
from pathlib import Path

from .markers import has_regions

NBFORMAT = 4
NBFORMAT_MINOR = 5
ANSWER_TAG = "answer"

#: Notebook metadata every lab notebook carries: a Python kernel, and a GPU
#: runtime asked for on Colab (the student can still run on the CPU: Numba
#: exercises fall back to the simulator).
DEFAULT_METADATA = {
    "accelerator": "GPU",
    "colab": {"gpuType": "T4", "provenance": []},
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}


def read(path: str | Path) -> dict:
    """A notebook as a dict; ``ValueError`` naming the file when it is not nbformat 4 JSON."""
    p = Path(path)
    try:
        nb = json.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{p.name} is not a notebook (invalid JSON: {e})") from None
    return validate(nb, p.name)


def loads(text: str, name: str = "<notebook>") -> dict:
    try:
        return validate(json.loads(text), name)
    except json.JSONDecodeError as e:
        raise ValueError(f"{name} is not a notebook (invalid JSON: {e})") from None


def validate(nb, name: str) -> dict:
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise ValueError(f"{name} is not a notebook: no list of cells")
    if nb.get("nbformat", NBFORMAT) != NBFORMAT:
        raise ValueError(f"{name} is nbformat {nb.get('nbformat')}; only nbformat 4 is read")
    for i, c in enumerate(nb["cells"]):
        if not isinstance(c, dict) or c.get("cell_type") not in ("code", "markdown", "raw"):
            raise ValueError(f"{name}: cell {i + 1} is not a code, markdown or raw cell")
    return nb


def dumps(nb: dict) -> str:
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def source(cell: dict) -> str:
    s = cell.get("source", "")
    return "".join(s) if isinstance(s, list) else str(s)


def _as_lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def code_cell(text: str, tags: list[str] | None = None) -> dict:
    meta = {"tags": list(tags)} if tags else {}
    return {"cell_type": "code", "execution_count": None, "metadata": meta, "outputs": [],
            "source": _as_lines(text)}


def markdown_cell(text: str) -> dict:
    return {"cell_type": "markdown", "metadata": {}, "source": _as_lines(text)}


def with_source(cell: dict, text: str) -> dict:
    return {**cell, "source": _as_lines(text)}


def strip_outputs(nb: dict) -> dict:
    """A copy with every code cell's outputs and execution count cleared (and widget state dropped)."""
    cells = []
    for c in nb["cells"]:
        c = dict(c)
        if c["cell_type"] == "code":
            c["outputs"], c["execution_count"] = [], None
        cells.append(c)
    meta = {k: v for k, v in nb.get("metadata", {}).items() if k != "widgets"}
    return {**nb, "cells": cells, "metadata": meta}


def code_cells(nb: dict) -> list[tuple[int, str]]:
    """(1-based cell number, source) of every code cell."""
    return [(i + 1, source(c)) for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"]


# --------------------------------------------------------------------------
# Percent files -> notebooks.
# --------------------------------------------------------------------------

_CELL = re.compile(r"^# %%(?P<rest>.*)$")


def is_percent(text: str) -> bool:
    """Whether a Python file is split into ``# %%`` cells."""
    return any(_CELL.match(ln) for ln in text.splitlines())


def _docstring_cell(text: str) -> str | None:
    """The docstring, when a code cell holds nothing else."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return None
    if len(tree.body) == 1 and isinstance(tree.body[0], ast.Expr) and isinstance(tree.body[0].value, ast.Constant) \
            and isinstance(tree.body[0].value.value, str):
        return tree.body[0].value.value.strip("\n")
    return None


def _markdown_from_comments(lines: list[str]) -> str:
    out = []
    for ln in lines:
        if ln.startswith("# "):
            out.append(ln[2:])
        elif ln.rstrip() == "#":
            out.append("")
        else:
            out.append(ln)
    return "\n".join(out)


def from_percent(text: str, *, metadata: dict | None = None) -> dict:
    """The notebook a percent file describes (see the module docstring)."""
    chunks: list[tuple[str, list[str]]] = []  # (header rest, lines)
    head, cur = None, []
    for ln in text.splitlines():
        m = _CELL.match(ln)
        if m:
            if head is not None or any(x.strip() for x in cur):
                chunks.append((head or "", cur))
            head, cur = m.group("rest").strip(), []
        else:
            cur.append(ln)
    if head is not None or any(x.strip() for x in cur):
        chunks.append((head or "", cur))

    cells = []
    for i, (rest, lines) in enumerate(chunks):
        while lines and not lines[0].strip():
            lines = lines[1:]
        while lines and not lines[-1].strip():
            lines = lines[:-1]
        if not lines:
            continue
        if rest.startswith("[markdown]") or rest.startswith("[md]"):
            cells.append(markdown_cell(_markdown_from_comments(lines)))
            continue
        body = "\n".join(lines)
        doc = _docstring_cell(body) if not cells else None
        if doc is not None:
            cells.append(markdown_cell(doc))
            continue
        tags = []
        m = re.search(r"tags=(\[.*?\])", rest)
        if m:
            tags = [str(t) for t in json.loads(m.group(1))]
        if has_regions(body, "python") and ANSWER_TAG not in tags:
            tags.append(ANSWER_TAG)
        cells.append(code_cell(body, tags))
    return {"cells": cells, "metadata": {**DEFAULT_METADATA, **(metadata or {})},
            "nbformat": NBFORMAT, "nbformat_minor": NBFORMAT_MINOR}
