"""Solution regions: find them, and write the stub that replaces each in an exercise.

A solution file marks each answer between two marker lines, the nbgrader and
otter convention, commented for the language it sits in::

    # BEGIN SOLUTION hint="one thread per packed byte: two nibbles, one scale"
    ...the answer...
    # END SOLUTION

(``// BEGIN SOLUTION`` / ``// END SOLUTION`` in CUDA C). The exercise keeps
everything outside the markers and replaces each region, markers included, by
a stub at the region's indentation:

* a comment saying what to write and roughly how long the answer is,
  ``# FILL ME IN (roughly 6 lines): <hint>`` (the GPU-Puzzles habit);
* in Python, a statement that keeps the file importable and fails loudly:
  ``name = ...`` for each name a region of plain assignments defines, ``raise
  NotImplementedError`` where the region returns a value, ``pass`` otherwise
  (a kernel body: it writes nothing, which the NaN-poisoned output catches —
  a ``raise`` would be silently dropped by Numba on a real GPU);
* in CUDA C nothing but the comment, so the file still compiles, unless the
  ``stub="..."`` attribute supplies code (``return v;`` in a device function
  that must return a value).

Attributes on the BEGIN line: ``hint="..."`` (the stub's text) and
``stub="..."`` (``pass``, ``raise``, or literal code). Anything else on a
marker line is an error that names the file and line, as are nested,
unmatched or unterminated regions: a typo in a marker must never leak an
answer into ``exercises/``.
"""
from __future__ import annotations

import ast
import re
import textwrap
from dataclasses import dataclass

from ..errors import check_choice

LANGS = ("python", "cuda")
_COMMENT = {"python": "#", "cuda": "//"}
_MARKER = re.compile(r"^(?P<indent>[ \t]*)(?P<comment>#|//)[ \t]*(?P<what>BEGIN|END)[ \t]+SOLUTION\b(?P<rest>.*)$")
_ATTR = re.compile(r'\s*(?P<key>\w+)\s*=\s*"(?P<value>(?:[^"\\]|\\.)*)"')
ATTRIBUTES = ("hint", "stub")


@dataclass(frozen=True)
class Region:
    """One solution region: lines ``start``..``end`` (0-based, markers included)."""

    start: int
    end: int
    indent: str
    comment: str  #: "#" or "//"
    hint: str
    stub: str | None
    body: tuple[str, ...]

    @property
    def n_lines(self) -> int:
        """Lines of the answer that are neither blank nor only a comment."""
        return sum(1 for ln in self.body if ln.strip() and not ln.strip().startswith(self.comment))


def _attrs(rest: str, where: str) -> dict:
    out, pos = {}, 0
    rest = rest.rstrip()
    while pos < len(rest):
        m = _ATTR.match(rest, pos)
        if not m:
            raise ValueError(f"{where}: cannot read {rest[pos:].strip()!r} after BEGIN SOLUTION; "
                             f'write attributes as key="value" ({", ".join(ATTRIBUTES)})')
        key = m.group("key")
        if key not in ATTRIBUTES:
            raise ValueError(f"{where}: unknown BEGIN SOLUTION attribute {key!r}; known: {', '.join(ATTRIBUTES)}")
        out[key] = m.group("value").replace('\\"', '"').replace("\\\\", "\\")
        pos = m.end()
    return out


def find_regions(text: str, lang: str, *, where: str = "<text>") -> list[Region]:
    """Every solution region of ``text`` (Python or CUDA C), checked for well-formedness."""
    lang = check_choice("lang", lang, LANGS)
    lines = text.splitlines()
    regions: list[Region] = []
    open_at = None
    for i, line in enumerate(lines):
        m = _MARKER.match(line)
        if not m:
            if "BEGIN SOLUTION" in line or "END SOLUTION" in line:
                if line.lstrip().startswith(_COMMENT[lang]):
                    raise ValueError(f"{where}:{i + 1}: malformed solution marker {line.strip()!r}")
            continue
        if m.group("comment") != _COMMENT[lang]:
            raise ValueError(f"{where}:{i + 1}: a {lang} solution marker starts with {_COMMENT[lang]!r}, "
                             f"not {m.group('comment')!r}")
        if m.group("what") == "BEGIN":
            if open_at is not None:
                raise ValueError(f"{where}:{i + 1}: BEGIN SOLUTION inside the region opened at line {open_at[0] + 1}")
            open_at = (i, m.group("indent"), _attrs(m.group("rest"), f"{where}:{i + 1}"))
        else:
            if m.group("rest").strip():
                raise ValueError(f"{where}:{i + 1}: unexpected text after END SOLUTION: {m.group('rest').strip()!r}")
            if open_at is None:
                raise ValueError(f"{where}:{i + 1}: END SOLUTION without a BEGIN SOLUTION")
            start, indent, attrs = open_at
            regions.append(Region(start, i, indent, _COMMENT[lang], attrs.get("hint", ""), attrs.get("stub"),
                                  tuple(lines[start + 1:i])))
            open_at = None
    if open_at is not None:
        raise ValueError(f"{where}:{open_at[0] + 1}: BEGIN SOLUTION is never closed by END SOLUTION")
    return regions


def has_regions(text: str, lang: str) -> bool:
    return bool(find_regions(text, lang))


def _fill_comment(region: Region, comment: str) -> str:
    n = region.n_lines
    size = f"roughly {n} line{'s' if n != 1 else ''}"
    return f"{region.indent}{comment} FILL ME IN ({size})" + (f": {region.hint}" if region.hint else "")


def _assigned_names(tree: ast.Module) -> list[str] | None:
    """Names bound by a region made only of plain assignments (None if it is anything else)."""
    names: list[str] = []
    for stmt in tree.body:
        targets = (stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                   if isinstance(stmt, (ast.AnnAssign, ast.AugAssign)) else None)
        if targets is None:
            return None
        for t in targets:
            elts = t.elts if isinstance(t, ast.Tuple) else [t]
            if not all(isinstance(e, ast.Name) for e in elts):
                return None
            names += [e.id for e in elts if e.id not in names]
    return names or None


def _returns_value(tree: ast.Module) -> bool:
    """Whether the region itself (not a function it defines) returns a value."""
    stack = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Return) and node.value is not None:
            return True
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        stack.extend(ast.iter_child_nodes(node))
    return False


def python_stub(region: Region) -> list[str]:
    """The lines that replace a Python region (see the module docstring)."""
    ind = region.indent
    lines = [_fill_comment(region, "#")]
    if region.stub is not None and region.stub not in ("pass", "raise"):
        return lines + [ind + ln for ln in region.stub.split("\\n")]
    if region.stub == "pass":
        return lines + [f"{ind}pass"]
    if region.stub == "raise":
        return lines + [f'{ind}raise NotImplementedError("FILL ME IN")']
    try:
        tree = ast.parse(textwrap.dedent("\n".join(region.body)))
    except SyntaxError:  # a fragment (an elif branch, half a statement): the safest stub
        return lines + [f"{ind}pass"]
    names = _assigned_names(tree)
    if names:
        return lines + [f"{ind}{n} = ...  # FILL ME IN" for n in names]
    if _returns_value(tree):
        return lines + [f'{ind}raise NotImplementedError("FILL ME IN")']
    return lines + [f"{ind}pass"]


def cuda_stub(region: Region) -> list[str]:
    """The lines that replace a CUDA C region: a comment, plus ``stub`` code when given."""
    lines = [_fill_comment(region, "//")]
    if region.stub:
        lines += [region.indent + ln for ln in region.stub.split("\\n")]
    return lines


def strip(text: str, lang: str, *, where: str = "<text>") -> str:
    """``text`` with every solution region replaced by its stub (unchanged when it has none)."""
    regions = find_regions(text, lang, where=where)
    if not regions:
        return text
    lines = text.splitlines()
    stub = python_stub if lang == "python" else cuda_stub
    out: list[str] = []
    pos = 0
    for r in regions:
        out += lines[pos:r.start]
        out += stub(r)
        pos = r.end + 1
    out += lines[pos:]
    return "\n".join(out) + ("\n" if text.endswith("\n") else "")


def lang_of(suffix: str) -> str | None:
    """The marker language of a file suffix (``.py``, ``.cu``, ``.cuh``), or None."""
    return {".py": "python", ".cu": "cuda", ".cuh": "cuda"}.get(suffix.lower())
