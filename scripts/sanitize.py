#!/usr/bin/env python3
"""Run every lab kernel under NVIDIA compute-sanitizer (issue 8, "Reliability").

A kernel that passes its numerical check can still read past the end of an
array (the stray bytes happened to be harmless), race on shared memory (the
schedule happened to be kind), or sync inside divergent code (this GPU happened
to tolerate it). compute-sanitizer watches every access while the kernel runs:

    memcheck    out-of-bounds and misaligned global / shared / local accesses
    racecheck   shared-memory hazards between threads (a missing __syncthreads)
    initcheck   reads of global memory nothing ever wrote
    synccheck   barriers reached by only part of a block or warp

Usage, on a GPU machine, from the repository root::

    python3 scripts/sanitize.py --out $OUT/sanitizer                # all four tools, every variant
    python3 scripts/sanitize.py --out $OUT/sanitizer --quick        # two or three shapes per variant
    python3 scripts/sanitize.py --variants dequant/v06,fp16 --tools memcheck,racecheck
    scripts/sanitize.sh [args]                                      # the same, with PYTHONPATH and PATH set

Options: ``--variants`` (comma-separated; each term a family, or a substring of
variant ids), ``--tools`` (default: all four), ``--quick``, ``--timeout`` (seconds
per tool, default 480), ``--jobs`` (tools run at once, default: all of them),
``--sanitizer`` (the executable; else ``$COMPUTE_SANITIZER``, ``PATH``,
``/usr/local/cuda*/bin``, ``/opt/nvidia``).

What it does: for each tool, one worker process runs under
``compute-sanitizer --tool TOOL --error-exitcode 99 ...`` and checks every
selected variant (its ``prepare``, then its ``launch`` through
:func:`labkernels.check.run_check`: fresh random inputs, a poisoned output, the
float64 reference) at a few small, awkward shapes: M in {1, 3, 17, 130} up to
the variant's ``max_m`` (and ``max_m`` itself), N in {72, 136} and K in {384, 256}
rounded to the format's ``k_multiple``: none of them a multiple of the kernels'
tiles, so every tail path runs. W4A16 adds a zero-point case. Library peers
(``reference=True``: cuBLAS, torch) are not the lab's code and are skipped, as
are variants this GPU cannot run; each says why.

The worker prints a marker line before and after each (variant, shape) and
synchronizes the device in between, so every report the sanitizer prints falls
inside the marker pair of the launch that caused it. If a kernel kills the CUDA
context (or the process), the sweep starts a fresh worker with the variants not
yet run, and records the culprit as crashed.

Output in ``--out`` (default ``sanitizer-out/``): ``memcheck.log``,
``racecheck.log``, ... (everything each worker and its sanitizer printed),
``summary.json`` (per variant and tool: status, error count, each finding with
its kernel and source line, each shape's check result and seed), and a printed
table variant x tool -> clean / N errors / crashed / skipped. Exit status: 0 when
everything ran clean and every check passed; 1 on any finding, crash, timeout or
failed check; 2 when compute-sanitizer or a GPU is missing, or for bad arguments.

Notes on reading the results:

* initcheck: the lab poisons every output (NaN, or the most negative integer)
  before a launch, and inputs arrive by copy, so a report means the kernel read
  memory nobody wrote: a scratch buffer from ``cupy.empty`` that the kernel reads
  before every element was written (a split-K partial, say) is exactly that.
* racecheck runs with ``--racecheck-report all``: the log holds both the race
  analysis ("Race reported between ...") and each hazard; counts use the analysis.
* CUDA API errors are not reported (``--report-api-errors no``): libraries probe
  the driver with calls that are meant to fail. A kernel that cannot launch
  raises in Python, and its check fails, which counts.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import datetime as _dt
import glob
import json
import math
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ("memcheck", "racecheck", "initcheck", "synccheck")
ERROR_EXITCODE = 99  #: what compute-sanitizer exits with when it found anything
DEFAULT_TIMEOUT = 480
DEFAULT_OUT = "sanitizer-out"

# --------------------------------------------------------------------------
# Shapes: small (the sanitizer slows a kernel 10-100x) and awkward.
# --------------------------------------------------------------------------

#: M = 1 is decode; 3, 17 and 130 are multiples of no M tile (8, 16, 64, 128).
MS = (1, 3, 17, 130)
#: N: multiples of 8 (the packed-weight row tiles) but of no 64 or 128 tile.
#: K: three groups of 128 (a multiple of no 256-wide K step) and two (a partial 1024-wide chunk).
NK = ((72, 384), (136, 256))


@dataclass(frozen=True)
class Shape:
    M: int
    N: int
    K: int
    params: dict = field(default_factory=dict, hash=False)

    def label(self) -> str:
        extra = "".join(f" {k}={v}" for k, v in sorted(self.params.items()))
        return f"M={self.M} N={self.N} K={self.K}{extra}"

    def to_json(self) -> dict:
        return {"M": self.M, "N": self.N, "K": self.K, "params": dict(self.params)}


def round_up(k: int, multiple: int) -> int:
    return -(-k // multiple) * multiple


def shapes_for(v, quick: bool = False) -> list[Shape]:
    """The shapes variant ``v`` is sanitized at.

    Every M in :data:`MS` the variant takes, plus its ``max_m`` and ``min_m``
    (limits are edges of their own); each M with each (N, K) of :data:`NK` (``quick``:
    the smallest and the largest M, one (N, K) each). K is rounded up to the
    problem's ``k_multiple`` for its default parameters (a whole number of groups).
    A format with zero points adds one asymmetric case.
    """
    from labkernels import problems

    prob = problems.get(v.fmt)
    km = prob.k_multiple(**prob.params)
    # Its own limits are edges too: a GEMV's largest M, a library's smallest.
    edges = {getattr(v, "min_m", 1), *([v.max_m] if v.max_m is not None else [])}
    ms = sorted(m for m in {*MS, *(e for e in edges if e < max(MS))} if v.supports(m))
    if not ms:
        return []
    if quick:
        ms = sorted({ms[0], ms[-1]})
        pairs = [(m, NK[i % len(NK)]) for i, m in enumerate(ms)]
    else:
        pairs = [(m, nk) for m in ms for nk in NK]
    shapes = [Shape(m, n, round_up(k, km)) for m, (n, k) in pairs]
    if "zeros" in prob.params:
        m = ms[1] if len(ms) > 1 else ms[0]
        n, k = NK[-1][0], NK[0][1]
        shapes.append(Shape(m, n, round_up(k, prob.k_multiple(**{**prob.params, "zeros": True})), {"zeros": True}))
    return shapes


def select_variants(variants, terms=None):
    """(ids to sanitize, {id: why skipped}) from ``variants`` and the ``--variants`` terms.

    A term selects a family by name or any variant whose id contains it; a term
    that selects nothing is an error (a typo should not sanitize nothing and pass).
    """
    if terms:
        unmatched = [t for t in terms if not any(t == v.family or t in v.id for v in variants)]
        if unmatched:
            raise ValueError(f"--variants: {', '.join(map(repr, unmatched))} matches no variant; known: "
                             f"{', '.join(v.id for v in variants)}")
        variants = [v for v in variants if any(t == v.family or t in v.id for t in terms)]
    chosen, skipped = [], {}
    for v in variants:
        if v.reference:
            skipped[v.id] = "library peer (reference=True): not the lab's code"
            continue
        ok, why = v.runnable()
        if ok:
            chosen.append(v.id)
        else:
            skipped[v.id] = why
    return chosen, skipped


# --------------------------------------------------------------------------
# Finding compute-sanitizer.
# --------------------------------------------------------------------------


class SanitizerNotFound(RuntimeError):
    pass


def find_sanitizer(explicit: str | None = None, *, env=None, search_dirs=None) -> str:
    """The compute-sanitizer executable: ``explicit``, ``$COMPUTE_SANITIZER``, ``PATH``, then the
    usual install places (CUDA toolkits, the HPC SDK); a :class:`SanitizerNotFound` that lists
    where it looked otherwise."""
    env = os.environ if env is None else env
    if explicit:
        p = shutil.which(explicit) or (explicit if os.access(explicit, os.X_OK) and os.path.isfile(explicit) else None)
        if p is None:
            raise SanitizerNotFound(f"--sanitizer {explicit}: no such executable")
        return p
    if env.get("COMPUTE_SANITIZER"):
        p = env["COMPUTE_SANITIZER"]
        if os.path.isfile(p) and os.access(p, os.X_OK):
            return p
        raise SanitizerNotFound(f"$COMPUTE_SANITIZER={p}: no such executable")
    found = shutil.which("compute-sanitizer", path=env.get("PATH", ""))
    if found:
        return found
    if search_dirs is None:
        roots = [env[k] for k in ("CUDA_HOME", "CUDA_PATH") if env.get(k)] + ["/usr/local/cuda"]
        # Newest toolkit first: /usr/local/cuda-13.0 before /usr/local/cuda-12.8.
        roots += sorted(glob.glob("/usr/local/cuda-*"), key=_version_key, reverse=True)
        # The HPC SDK (/opt/nvidia/hpc_sdk/Linux_x86_64/25.1/cuda/12.6/bin) and standalone installs.
        nv = [d for depth in range(1, 6) for d in glob.glob("/opt/nvidia" + "/*" * depth)]
        roots += ["/opt/nvidia", *sorted((d for d in nv if os.path.isdir(d)), key=_version_key, reverse=True)]
        search_dirs = [d for r in roots for d in (os.path.join(r, "bin"), r)]
    for d in search_dirs:
        # A toolkit has bin/compute-sanitizer and the real one in compute-sanitizer/compute-sanitizer.
        for p in (os.path.join(d, "compute-sanitizer"), os.path.join(d, "compute-sanitizer", "compute-sanitizer")):
            if os.path.isfile(p) and os.access(p, os.X_OK):
                return p
    shown = ", ".join(list(search_dirs)[:4]) + (", ..." if len(search_dirs) > 4 else "")
    raise SanitizerNotFound(
        "compute-sanitizer not found: not on PATH, not in $COMPUTE_SANITIZER, and not in "
        f"{shown or 'any CUDA install directory'}. It ships with the CUDA toolkit (apt: cuda-sanitizer-<ver>, "
        "or the full toolkit); pass --sanitizer /path/to/compute-sanitizer")


def _version_key(path: str):
    return [int(x) for x in re.findall(r"\d+", path)]


def tool_flags(tool: str, help_text: str = "") -> list[str]:
    """compute-sanitizer's options for ``tool``.

    ``help_text`` is what ``compute-sanitizer --help`` printed: an option it does not list is
    left out (older versions lack ``--padding``; with no help text, every option but that one
    is passed).
    """
    def has(flag):
        return not help_text or flag in help_text

    flags = ["--tool", tool, "--error-exitcode", str(ERROR_EXITCODE)]
    if has("--show-backtrace"):  # device frames only: the host side of every report is the interpreter
        flags += ["--show-backtrace", "device"]
    if has("--report-api-errors"):  # libraries probe the driver with calls meant to fail
        flags += ["--report-api-errors", "no"]
    if tool == "memcheck":
        if has("--destroy-on-device-error"):
            # After a precise fault, end that kernel only: the next variants still run,
            # and each report sits between its own variant's markers.
            flags += ["--destroy-on-device-error", "kernel"]
        if "--padding" in help_text:  # guard bytes after each allocation: a read just past the end faults
            flags += ["--padding", "256"]
    if tool == "racecheck" and has("--racecheck-report"):
        flags += ["--racecheck-report", "all"]
    return flags


# --------------------------------------------------------------------------
# Reading what the sanitizer printed.
# --------------------------------------------------------------------------

PREFIX = "========="  #: compute-sanitizer's prefix on every line it prints
MARK = "@@sanitize "  #: the worker's marker lines: MARK + JSON
#: Lines of the sanitizer's own that are not a report of something wrong.
NOT_FINDINGS = ("COMPUTE-SANITIZER", "ERROR SUMMARY", "RACECHECK SUMMARY", "LEAK SUMMARY",
                "Target application returned an error", "This tool")
_ERROR_SUMMARY = re.compile(r"ERROR SUMMARY:\s*(\d+) errors?")
_RACE_SUMMARY = re.compile(r"RACECHECK SUMMARY:\s*(\d+) hazards? displayed\s*\((\d+) errors?,\s*(\d+) warnings?\)")
_RACE_ANALYSIS = re.compile(r"^(Error|Warning): Race reported", re.I)
_HAZARD = re.compile(r"^(ERROR|WARN)\b.*hazard", re.I)


@dataclass
class Finding:
    """One report: its first line (what happened) and the indented lines under it (where)."""

    kind: str
    lines: list = field(default_factory=list)
    variant: str | None = None
    shape: dict | None = None
    late: bool = False  #: printed after its launch's end marker (attributed to it all the same)
    moved: bool = False  #: printed inside another variant's markers, but names this variant's kernel

    @property
    def where(self) -> str:
        """The kernel and source line the report names ("" when it names none)."""
        # racecheck's analysis names it in the first line: "... Write access at 0x1b0 in f.cu:13:k()"
        m = re.search(r" at (.+)$", self.kind) if _RACE_ANALYSIS.match(self.kind) else None
        for text in ([m.group(1)] if m else []) + [ln.strip()[3:] for ln in self.lines if ln.strip().startswith("at ")]:
            return re.sub(r"^0x[0-9a-f]+ in ", "", text)
        return ""

    @property
    def hazard_detail(self) -> bool:
        """A racecheck hazard record (``--racecheck-report all`` prints these beside the analysis)."""
        return bool(_HAZARD.match(self.kind)) and not _RACE_ANALYSIS.match(self.kind)

    def to_json(self) -> dict:
        return {"kind": self.kind, "where": self.where, "variant": self.variant, "shape": self.shape,
                "late": self.late, "moved": self.moved, "lines": self.lines[:12]}


@dataclass
class Section:
    """One (variant, shape) of the worker: between its begin and end markers."""

    variant: str
    shape: dict
    status: str | None = None  #: PASS / FAIL / ERROR / REJECTED; None: no end marker (it died here)
    message: str = ""
    seed: int | None = None
    findings: list = field(default_factory=list)

    def counted(self) -> list:
        """The findings that count: for racecheck the race analyses where there are any (the
        hazard records printed beside them describe the same races thread by thread)."""
        analysis = [f for f in self.findings if not f.hazard_detail]
        return analysis or self.findings

    def count(self) -> int:
        return len(self.counted())


@dataclass
class Report:
    """What one worker run printed, parsed."""

    sections: list = field(default_factory=list)
    unattributed: list = field(default_factory=list)  #: findings before the first begin marker
    error_summary: int | None = None  #: the sum of every ``ERROR SUMMARY: N errors``
    race_summary: tuple | None = None  #: (hazards, errors, warnings) summed
    started: bool = False
    done: bool = False
    aborted: str | None = None  #: the variant the worker gave up in (its context was lost)
    target_error: bool = False

    @property
    def total(self) -> int | None:
        """The number of problems the sanitizer itself counted (None: it printed no summary)."""
        if self.race_summary is not None:
            return self.race_summary[0]
        return self.error_summary

    def attributed(self) -> int:
        return sum(s.count() for s in self.sections)


def parse_log(text: str) -> Report:
    """Parse a worker's output interleaved with compute-sanitizer's reports.

    A report starts at a line ``========= <what happened>`` and goes on over the
    indented ``=========     at ...`` lines below it; it belongs to the launch
    whose marker pair it sits in (or, printed late, to the last one begun).
    """
    rep = Report()
    current: Finding | None = None
    section: Section | None = None
    for raw in text.splitlines():
        line = raw.rstrip("\r")
        if line.startswith(MARK):
            current = None
            try:
                ev = json.loads(line[len(MARK):])
            except ValueError:
                continue
            kind = ev.get("event")
            if kind == "start":
                rep.started = True
            elif kind == "begin":
                section = Section(variant=ev.get("variant"), shape={k: ev.get(k) for k in ("M", "N", "K", "params")})
                rep.sections.append(section)
            elif kind == "end" and section is not None and section.variant == ev.get("variant"):
                section.status, section.message, section.seed = ev.get("status"), ev.get("message", ""), ev.get("seed")
            elif kind == "abort":
                rep.aborted = ev.get("variant")
            elif kind == "done":
                rep.done = True
            continue
        if not line.startswith(PREFIX):
            continue
        body = line[len(PREFIX):]
        body = body[1:] if body.startswith(" ") else body  # one space after the prefix; more: a continuation
        m = _ERROR_SUMMARY.search(body)
        if m:
            rep.error_summary = (rep.error_summary or 0) + int(m.group(1))
        m = _RACE_SUMMARY.search(body)
        if m:
            old = rep.race_summary or (0, 0, 0)
            rep.race_summary = tuple(a + int(b) for a, b in zip(old, m.groups()))
        if "Target application returned an error" in body:
            rep.target_error = True
        if not body.strip():  # a bare prefix line ends a report
            current = None
        elif body[0] in " \t":  # an indented line continues the report above it
            if current is not None:
                current.lines.append(body.strip())
        elif body.strip().startswith(NOT_FINDINGS):
            current = None
        else:
            current = Finding(kind=body.strip())
            if section is None:
                rep.unattributed.append(current)
            else:
                current.variant, current.shape = section.variant, section.shape
                current.late = section.status is not None
                section.findings.append(current)
    return rep


_GLOBAL = re.compile(r"__global__\s+(?:void\s+)?(?:__launch_bounds__\s*\([^)]*\)\s*)?(?:void\s+)?(\w+)\s*\(")


def kernel_owners(variants) -> dict:
    """Kernel function name -> the variant whose source defines it (the ``__global__`` functions
    of its ``.cu``, or its Numba function). A name two variants' sources share is left out."""
    from labkernels import build

    seen: dict = {}
    for v in variants:
        names = {v.numba_func} if getattr(v, "numba_func", None) else set()
        if v.source and v.source.endswith(".cu"):
            try:
                names |= set(_GLOBAL.findall(build.read_source(v.source)))
            except OSError:
                pass
        for n in names:
            seen.setdefault(n, set()).add(v.id)
    return {n: next(iter(ids)) for n, ids in seen.items() if len(ids) == 1}


def reattribute(findings, owners: dict) -> None:
    """A report that names a kernel of another variant goes to that variant.

    The markers place a report by *when* it was printed; the kernel name in it says *who*
    caused it. They agree when the report is printed before the launch returns (the worker
    synchronizes after each); this is the check, in case a report arrives late. Where names
    overlap (``fp16_naive`` in ``fp16_naive_numba``) the longest wins.
    """
    for f in findings:
        text = " ".join([f.kind, *f.lines])
        hits = [n for n in owners if n in text]
        if hits:
            owner = owners[max(hits, key=len)]
            if owner != f.variant:  # (the shape it was printed in is another variant's)
                f.variant, f.moved, f.shape = owner, True, None


# --------------------------------------------------------------------------
# Running one tool: a worker under the sanitizer, restarted past a crash.
# --------------------------------------------------------------------------


@dataclass
class ToolResult:
    tool: str
    sections: list = field(default_factory=list)  #: every Section of every run
    crashed: dict = field(default_factory=dict)  #: variant -> what happened (crashed / timeout)
    not_run: dict = field(default_factory=dict)  #: variant -> why it never ran
    unattributed: list = field(default_factory=list)  #: findings no launch can be blamed for
    unattributed_count: int = 0  #: problems the tool counted that no report line was found for
    runs: list = field(default_factory=list)  #: one dict per worker process
    log: str = ""


def worker_command(ids, quick: bool) -> list[str]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--ids", ",".join(ids)]
    return cmd + (["--quick"] if quick else [])


def _run_process(argv, logf, timeout: float, env) -> tuple[int | None, bool]:
    """Run ``argv`` with its output appended to ``logf``; (exit status, timed out). On timeout its
    whole process group (the sanitizer and the worker under it) is killed."""
    p = subprocess.Popen(argv, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                         cwd=str(ROOT), start_new_session=True)
    try:
        return p.wait(timeout=max(1.0, timeout)), False
    except subprocess.TimeoutExpired:
        try:
            os.killpg(p.pid, signal.SIGKILL)  # our own child's group: the sanitizer and its target
        except ProcessLookupError:
            pass
        p.wait()
        return p.returncode, True


def run_tool(tool: str, ids, *, sanitizer: str, out_dir, timeout: float = DEFAULT_TIMEOUT, quick: bool = False,
             help_text: str = "", worker=worker_command, owners=None, log=print) -> ToolResult:
    """Sanitize variants ``ids`` with ``tool``; the log goes to ``out_dir/<tool>.log``.

    A worker that dies (a fault that took the CUDA context, a segfault) is
    replaced by a fresh one for the variants after the culprit; ``timeout`` is
    for the tool as a whole, every restart included.
    """
    res = ToolResult(tool)
    path = Path(out_dir) / f"{tool}.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    remaining = list(ids)
    deadline = time.monotonic() + timeout
    path.write_bytes(b"")
    with open(path, "ab") as logf:  # append mode: the worker's writes and ours never overwrite each other
        while remaining:
            left = deadline - time.monotonic()
            if left <= 1:
                res.not_run.update({v: f"the {tool} time limit ({timeout:.0f} s) ran out first" for v in remaining})
                break
            argv = [sanitizer, *tool_flags(tool, help_text), *worker(remaining, quick)]
            logf.write(f"#### {shlex.join(argv)}\n".encode())
            logf.flush()
            start = path.stat().st_size
            t0 = time.monotonic()
            rc, timed_out = _run_process(argv, logf, left, env)
            logf.flush()
            with open(path, "rb") as f:
                f.seek(start)
                text = f.read().decode(errors="replace")
            rep = parse_log(text)
            reattribute([f for sec in rep.sections for f in sec.findings] + rep.unattributed, owners or {})
            res.sections += rep.sections
            res.unattributed += [f for f in rep.unattributed if f.variant is None]
            res.sections += [Section(f.variant, {}, "MOVED", findings=[f]) for f in rep.unattributed if f.variant]
            if rep.total and not rep.attributed() and not rep.unattributed:
                res.unattributed_count += rep.total  # counted by the tool, printed nowhere we could read
            res.runs.append({"variants": list(remaining), "returncode": rc, "timed_out": timed_out,
                             "seconds": round(time.monotonic() - t0, 1), "done": rep.done,
                             "sanitizer_total": rep.total, "target_error": rep.target_error})
            begun = list(dict.fromkeys(s.variant for s in rep.sections))
            if rep.done:
                break
            if not begun:
                tail = "\n".join(text.strip().splitlines()[-8:])
                why = "timed out before its first launch" if timed_out else f"exited {rc} before its first launch"
                res.not_run.update({v: f"the {tool} worker {why}: {tail}" for v in remaining})
                break
            culprit = rep.aborted or begun[-1]
            last = [s for s in rep.sections if s.variant == culprit][-1]
            if timed_out:
                res.crashed[culprit] = (f"timeout: the {tool} time limit ({timeout:.0f} s) ran out in "
                                        f"{_shape_label(last.shape)}")
                res.not_run.update({v: f"the {tool} time limit ran out first"
                                    for v in remaining[remaining.index(culprit) + 1:]})
                break
            what = "lost the CUDA context" if rep.aborted else f"the worker stopped mid-launch (exit status {rc})"
            at = "at" if last.status is None else "after its launch at"
            res.crashed[culprit] = f"crashed: {what} {at} {_shape_label(last.shape)}" + (
                f": {last.message}" if last.message else "")
            log(f"  {tool}: {culprit} {res.crashed[culprit]}; restarting for the rest")
            remaining = remaining[remaining.index(culprit) + 1:]
    res.log = str(path)
    return res


def _shape_label(shape: dict) -> str:
    extra = "".join(f" {k}={v}" for k, v in sorted((shape.get("params") or {}).items()))
    return f"M={shape.get('M')} N={shape.get('N')} K={shape.get('K')}{extra}"


# --------------------------------------------------------------------------
# The summary: variant x tool.
# --------------------------------------------------------------------------


def variant_status(res: ToolResult, vid: str) -> dict:
    """Status of one variant under one tool: clean / findings / crashed / timeout / not run / rejected."""
    secs = [s for s in res.sections if s.variant == vid and s.status != "MOVED"]
    findings = [f for s in res.sections for f in s.counted() if f.variant == vid]
    errors = len(findings)
    if vid in res.crashed:
        status = "timeout" if res.crashed[vid].startswith("timeout") else "crashed"
    elif errors:
        status = "findings"
    elif not secs:
        status = "not run"
    elif all(s.status == "REJECTED" for s in secs):
        status = "rejected"
    else:
        status = "clean"
    return {"status": status, "errors": errors,
            "why": res.crashed.get(vid) or res.not_run.get(vid, ""),
            "findings": [f.to_json() for f in findings[:50]],
            "shapes": [{**s.shape, "status": s.status or "DIED", "message": s.message, "seed": s.seed,
                        "errors": sum(f.variant == vid for f in s.counted())} for s in secs]}


def summarize(results: dict, ids, skipped: dict, meta: dict) -> dict:
    variants = {}
    for vid in [*ids, *skipped]:
        if vid in skipped:
            variants[vid] = {"skipped": skipped[vid], "tools": {}}
            continue
        variants[vid] = {"skipped": None, "tools": {t: variant_status(r, vid) for t, r in results.items()}}
    bad_tool = [f"{t}: findings outside any launch" for t, r in results.items() if r.unattributed or r.unattributed_count]
    # A worker that finished every launch and then failed (at exit, tearing down CUDA) is a problem too.
    bad_tool += [f"{t}: the worker exited {run['returncode']} after its last launch" for t, r in results.items()
                 for run in r.runs if run["done"] and run["returncode"] not in (0, ERROR_EXITCODE)]
    bad = []
    for vid, row in variants.items():
        for t, st in row["tools"].items():
            checks = [s["status"] for s in st["shapes"]]
            if st["status"] in ("findings", "crashed", "timeout", "not run") or any(c in ("FAIL", "ERROR") for c in checks):
                bad.append(f"{vid} [{t}]")
    return {
        "what": "labkernels sanitizer sweep", **meta,
        "clean": not bad and not bad_tool,
        "problems": bad + bad_tool,
        "variants": variants,
        "unattributed": {t: {"findings": [f.to_json() for f in r.unattributed], "uncounted": r.unattributed_count}
                         for t, r in results.items()},
        "runs": {t: r.runs for t, r in results.items()},
        "logs": {t: r.log for t, r in results.items()},
    }


def cell(st: dict, tool: str) -> str:
    s = st["status"]
    if s == "findings":
        word = "hazard" if tool == "racecheck" else "error"
        return f"{st['errors']} {word}{'s' if st['errors'] != 1 else ''}"
    return s


def check_cell(row: dict) -> str:
    """The numerical checks of one variant over every tool's run: '27/27 pass', '2 FAIL', ..."""
    shapes = [s for st in row["tools"].values() for s in st["shapes"]]
    ran = [s for s in shapes if s["status"] != "REJECTED"]
    if not shapes:
        return "-"
    if not ran:
        return "all rejected"
    bad = {k: sum(s["status"] == k for s in ran) for k in ("FAIL", "ERROR", "DIED")}
    if not any(bad.values()):
        return f"{len(ran)}/{len(ran)} pass" + (f" ({len(shapes) - len(ran)} rejected)" if len(shapes) > len(ran) else "")
    return ", ".join(f"{n} {k}" for k, n in bad.items() if n)


def table(summary: dict) -> str:
    tools = summary["tools"]
    width = max([len("variant")] + [len(v) for v in summary["variants"]]) + 2
    lines = ["".join([f"{'variant':<{width}}", *(f"{t:<12}" for t in tools), "check"])]
    notes = []
    for vid, row in summary["variants"].items():
        if row["skipped"]:
            lines.append(f"{vid:<{width}}skipped: {row['skipped']}")
            continue
        lines.append("".join([f"{vid:<{width}}", *(f"{cell(row['tools'][t], t):<12}" for t in tools), check_cell(row)]))
        for t in tools:
            st = row["tools"][t]
            if st["why"]:
                notes.append(f"  {vid} [{t}]: {st['why']}")
            for f in st["findings"][:3]:
                shape = _shape_label(f["shape"]) if f["shape"] else "(reported outside its launch)"
                notes.append(f"  {vid} [{t}] {shape}: {f['kind']}" + (f" — at {f['where']}" if f["where"] else ""))
            for s in st["shapes"]:
                if s["status"] in ("FAIL", "ERROR"):
                    notes.append(f"  {vid} [{t}] {_shape_label(s)}: check {s['status']}: "
                                 f"{s['message'].splitlines()[0] if s['message'] else ''}")
    for t, u in summary["unattributed"].items():
        for f in u["findings"][:5]:
            notes.append(f"  [{t}] outside any launch: {f['kind']}")
        if u["uncounted"]:
            notes.append(f"  [{t}] the tool counted {u['uncounted']} problem(s) that no report line names")
    if notes:
        lines += ["", "Details (all of them in summary.json and the logs):", *notes]
    lines.append("")
    lines.append("CLEAN: no finding, every check passed" if summary["clean"]
                 else f"NOT CLEAN: {len(summary['problems'])} problem(s): " + "; ".join(summary["problems"][:8]))
    return "\n".join(lines)


# --------------------------------------------------------------------------
# The worker: runs under the sanitizer, launches every variant it is given.
# --------------------------------------------------------------------------


def mark(event: str, **fields) -> None:
    """A marker line; flushed, so it lands in the log before anything the next launch causes."""
    print(MARK + json.dumps({"event": event, **fields}), flush=True)


def _add_lineinfo(build) -> None:
    """Compile the lab's CUDA C with -lineinfo, so that reports name the .cu file and line.
    It adds line tables only; the code generated is the same."""
    plain = build.load_module

    def load_module(relpath, defines=None, *, specific=False, options=()):
        return plain(relpath, defines, specific=specific, options=tuple(options) + ("-lineinfo",))

    build.load_module = load_module


def worker(ids, quick: bool = False) -> int:
    import cupy

    # No memory pool. CuPy's pool carves many arrays out of one large cudaMalloc, and the
    # sanitizer knows only cudaMalloc's bounds: a read past the end of one array lands in
    # the pool's next block and goes unseen. Without the pool every array is an allocation
    # of its own, and its end is an edge memcheck watches.
    cupy.cuda.set_allocator(None)
    cupy.cuda.set_pinned_memory_allocator(None)
    from labkernels import build, check, device, registry
    from labkernels.errors import UnsupportedDevice

    _add_lineinfo(build)
    on_gpu = device.gpu() is not None  # (in the tests, Numba kernels run in the simulator: nothing to wait for)
    mark("start", pid=os.getpid(), variants=list(ids))
    for vid in ids:
        v = registry.get(vid)
        for s in shapes_for(v, quick):
            mark("begin", variant=vid, **s.to_json())
            seed = None
            try:
                r = check.run_check(v.launch, v.fmt, s.M, s.N, s.K, name=v.id, impl=v.impl, prepare=v.prepare,
                                    tol=v.tol, **s.params)
                status, message, seed = ("PASS" if r.passed else "FAIL"), str(r)[:2000], r.seed
            except (ValueError, TypeError, UnsupportedDevice) as e:  # the launcher refused the shape
                status, message = "REJECTED", f"{type(e).__name__}: {e}"
            except Exception as e:
                status, message = "ERROR", f"{type(e).__name__}: {e}"
            try:
                # Wait for the kernel: whatever the sanitizer says about it is said before the end marker.
                if on_gpu:
                    cupy.cuda.Device().synchronize()
            except Exception as e:  # a sticky error: this CUDA context can run nothing more
                mark("end", variant=vid, status="ERROR", message=f"{message}; then {type(e).__name__}: {e}",
                     seed=seed)
                mark("abort", variant=vid)
                return 3
            mark("end", variant=vid, status=status, message=message, seed=seed)
    mark("done")
    return 0


# --------------------------------------------------------------------------
# Command line.
# --------------------------------------------------------------------------


def _probe(sanitizer: str, flag: str) -> str:
    try:
        r = subprocess.run([sanitizer, flag], capture_output=True, text=True, timeout=60)
        return r.stdout + r.stderr
    except (OSError, subprocess.SubprocessError):
        return ""


def parse_tools(text: str | None) -> list[str]:
    if not text:
        return list(TOOLS)
    tools = [t.strip() for t in text.split(",") if t.strip()]
    bad = [t for t in tools if t not in TOOLS]
    if bad or not tools:
        raise ValueError(f"--tools: unknown tool {', '.join(map(repr, bad)) or '(none given)'}; known: {', '.join(TOOLS)}")
    return list(dict.fromkeys(tools))


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="scripts/sanitize.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT}/)")
    p.add_argument("--variants", help="comma-separated families or substrings of variant ids (default: all)")
    p.add_argument("--tools", help=f"comma-separated tools (default: {','.join(TOOLS)})")
    p.add_argument("--quick", action="store_true", help="the smallest and largest M only (two or three shapes per variant, not six to nine)")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds per tool, restarts included")
    p.add_argument("--jobs", type=int, default=0, help="tools run at once (default: all of them)")
    p.add_argument("--sanitizer", help="the compute-sanitizer executable")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--ids", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    if args.worker:
        return worker([i for i in (args.ids or "").split(",") if i], args.quick)
    try:
        tools = parse_tools(args.tools)
        sanitizer = find_sanitizer(args.sanitizer)
    except (ValueError, SanitizerNotFound) as e:
        print(f"sanitize: error: {e}", file=sys.stderr)
        return 2
    from labkernels import device, registry

    g = device.gpu()
    if g is None:
        print(f"sanitize: error: no CUDA GPU here ({device.why_no_gpu()}): the sanitizer watches kernels "
              f"while they run, so it needs one. Run this on a GPU machine.", file=sys.stderr)
        return 2
    try:
        terms = [t.strip() for t in args.variants.split(",") if t.strip()] if args.variants else None
        ids, skipped = select_variants(registry.variants(), terms)
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
    except (ValueError, OSError) as e:
        print(f"sanitize: error: {e}", file=sys.stderr)
        return 2
    help_text, version = _probe(sanitizer, "--help"), _probe(sanitizer, "--version")
    version = next((ln.strip() for ln in version.splitlines() if re.search(r"\d+\.\d+", ln)), version.strip())
    print(f"compute-sanitizer: {sanitizer} ({version or 'version unknown'}); GPU: {g.name} (sm_{g.cc[0]}{g.cc[1]})")
    print(f"{len(ids)} variants x {len(tools)} tools ({', '.join(tools)}); {len(skipped)} skipped; "
          f"logs in {out}/")
    owners = kernel_owners([registry.get(i) for i in ids])
    lock = threading.Lock()

    def say(*a):
        with lock:
            print(*a, flush=True)

    def one(tool):
        t0 = time.monotonic()
        r = run_tool(tool, ids, sanitizer=sanitizer, out_dir=out, timeout=args.timeout, quick=args.quick,
                     help_text=help_text, owners=owners, log=say)
        say(f"  {tool}: finished in {time.monotonic() - t0:.0f} s")
        return r

    jobs = args.jobs if args.jobs > 0 else len(tools)
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as ex:
        results = dict(zip(tools, ex.map(one, tools)))
    meta = {"created": _dt.datetime.now().isoformat(timespec="seconds"), "gpu": g.name,
            "cc": f"{g.cc[0]}.{g.cc[1]}", "driver": g.driver, "sanitizer": sanitizer, "sanitizer_version": version,
            "tools": tools, "quick": args.quick, "command": [sys.executable, *sys.argv],
            "flags": {t: tool_flags(t, help_text) for t in tools}, "seconds": math.ceil(time.monotonic() - t0)}
    summary = summarize(results, ids, skipped, meta)
    tmp = out / f".summary.json.tmp{os.getpid()}"
    tmp.write_text(json.dumps(summary, indent=1) + "\n")
    os.replace(tmp, out / "summary.json")
    print()
    print(table(summary))
    return 0 if summary["clean"] else 1


if __name__ == "__main__":
    sys.exit(main())
