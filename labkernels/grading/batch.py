"""Grade many submissions: one Gradescope ``results.json`` each, and a CSV summary.

    from labkernels.grading import batch
    batch.grade(["subs/alice.ipynb", "subs/bob.py", "subs/carol/"], "results/", exercise="ex01")

writes ``results/<submission>/results.json`` and ``results/summary.csv``.

Surviving bad submissions and interruptions:

* every submission runs in its own process with time limits
  (:mod:`labkernels.grading.sandbox`); a hang, a crash or a grader bug on one
  submission is recorded for that submission and the batch goes on;
* results are written as each submission finishes, atomically (a temporary
  file, then ``os.replace``): an interrupted batch loses nothing finished, and
  no reader ever sees half a file. ``summary.csv`` lists every submission from
  the start, ``pending`` until graded, so partial output never looks complete;
* a rerun skips a submission whose results are on record, unchanged, for the
  same submission file graded with the same options (``force=True`` regrades
  everything); ``summary.csv`` lists the submissions of the latest run. The record,
  ``.grading-state.json``, holds the SHA-256 of each results file and of each
  submission: a ``results.json`` that anything else wrote or changed — a
  submission that found the output folder, say — does not count as finished;
  and within a run, every results file is checked against what the grader
  wrote after each submission and at the end, and restored if it differs.

A student's process never learns where the results go (it runs in a private
temporary directory and is not told), but it runs as the same user: real
isolation from the file system is the job of the container Gradescope (or
``bwrap``/``nsjail`` on a course server) runs the grader in.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from . import gradescope, runner, submission
from .exercise import get
from .sandbox import Sandbox

STATE = ".grading-state.json"
SUMMARY = "summary.csv"
RESULTS = "results.json"
CSV_FIELDS = ("submission", "exercise", "status", "score", "max_score", "tests_passed", "tests", "needs_gpu",
              "device", "seconds", "results")


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a reader sees the old file or the new, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}.{threading.get_ident()}")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _submission_hash(p: Path) -> str:
    h = hashlib.sha256()
    files = [p] if p.is_file() else sorted(f for f in p.rglob("*") if f.is_file())
    for f in files:
        h.update(str(f.relative_to(p) if p.is_dir() else f.name).encode() + b"\0")
        h.update(f.read_bytes())
    return h.hexdigest()


def submission_ids(paths: list[Path]) -> list[str]:
    """A stable, unique, file-system-safe id per submission (its name, plus its folder on a clash)."""
    def clean(s: str) -> str:
        return re.sub(r"[^A-Za-z0-9._-]+", "_", s).strip("._") or "submission"

    base = [clean(p.name if p.is_dir() else p.stem) for p in paths]
    ids = [b if base.count(b) == 1 else clean(f"{p.parent.name}_{b}") for p, b in zip(paths, base)]
    seen: dict[str, int] = {}
    out = []
    for i in ids:
        seen[i] = seen.get(i, 0) + 1
        out.append(i if seen[i] == 1 else f"{i}-{seen[i]}")
    return out


def grade_one(path, exercise=None, *, time_limit=None, load_time_limit=None, hidden=True, perf=True,
              max_timeouts=1, name: str | None = None) -> runner.GradeResult:
    """Grade one submission file or folder in a sandbox; unreadable submissions score 0 with the reason."""
    p = Path(path)
    name = name or p.name
    try:
        ex, src = submission.load(p, exercise)
    except (ValueError, FileNotFoundError) as e:
        ex = None
        try:
            ex = submission.exercise_for(p, exercise)
        except ValueError:
            pass
        res = runner.GradeResult(exercise=ex.id if ex else str(exercise or "unknown"), submission=name,
                                 load_error=f"could not read the submission: {e}")
        if ex is not None:
            for c in ex.cases:
                res.tests.append(runner.TestResult(name=runner._case_name(ex, c), max_score=c.points,
                                                   hidden=c.hidden, kind="load", output=res.load_error))
        return res
    with Sandbox(ex, src, time_limit=time_limit, load_time_limit=load_time_limit) as box:
        return runner.run(ex, box, submission=name, hidden=hidden, perf=perf, max_timeouts=max_timeouts)


@dataclass
class BatchResult:
    out_dir: Path
    rows: list = field(default_factory=list)  #: one dict per submission (the CSV's rows)
    graded: list = field(default_factory=list)  #: ids graded in this run
    skipped: list = field(default_factory=list)  #: ids already finished
    restored: list = field(default_factory=list)  #: ids whose results file was tampered with and rewritten

    @property
    def complete(self) -> bool:
        return all(r["status"] in ("graded", "unreadable") for r in self.rows)

    def row(self, sid: str) -> dict:
        return next(r for r in self.rows if r["submission"] == sid)


class _Batch:
    def __init__(self, out: Path, entries, force: bool, kw: dict, hidden_visibility: str, log):
        self.out, self.entries, self.kw, self.vis, self.log = out, entries, kw, hidden_visibility, log
        self.lock = threading.Lock()
        self.written: dict[str, bytes] = {}  #: results files as this grader wrote (or verified) them
        self.state = self._read_state()
        self.result = BatchResult(out)
        self.todo = []
        #: what a finished grade depends on besides the submission: other options, another grade
        self.options = {"hidden": kw["hidden"], "perf": kw["perf"], "visibility": hidden_visibility}
        for sid, path, ex in entries:
            src_hash = _submission_hash(path) if path.exists() else ""
            rec = self.state["done"].get(sid)
            rfile = out / sid / RESULTS
            same = rec and rec.get("source") == src_hash and rec.get("options") == {**self.options, "exercise": ex}
            if not force and same and rfile.is_file():
                data = rfile.read_bytes()
                if _sha(data) == rec.get("sha256"):
                    self.written[sid] = data
                    self.result.skipped.append(sid)
                    self.result.rows.append(rec["row"])
                    continue
            self.state["done"].pop(sid, None)
            self.todo.append((sid, path, ex, src_hash))
            self.result.rows.append({"submission": sid, "exercise": ex or "", "status": "pending", "score": "",
                                     "max_score": "", "tests_passed": "", "tests": "", "needs_gpu": "",
                                     "device": "", "seconds": "", "results": f"{sid}/{RESULTS}"})

    def _read_state(self) -> dict:
        p = self.out / STATE
        try:
            s = json.loads(p.read_text())
            if isinstance(s, dict) and isinstance(s.get("done"), dict):
                return s
        except (OSError, ValueError):
            pass
        return {"version": 1, "done": {}}

    def _save(self):
        write_atomic(self.out / STATE, (json.dumps(self.state, indent=1, sort_keys=True) + "\n").encode())
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=CSV_FIELDS, lineterminator="\n")
        w.writeheader()
        for r in self.result.rows:
            w.writerow({k: r.get(k, "") for k in CSV_FIELDS})
        write_atomic(self.out / SUMMARY, buf.getvalue().encode())

    def _restore(self):
        """Rewrite any results file that differs from what the grader wrote."""
        for sid, data in self.written.items():
            p = self.out / sid / RESULTS
            try:
                same = p.read_bytes() == data
            except OSError:
                same = False
            if not same:
                write_atomic(p, data)
                if sid not in self.result.restored:
                    self.result.restored.append(sid)
                self.log(f"{sid}: its results file was changed by something other than the grader; restored")

    def one(self, sid: str, path: Path, ex, src_hash: str):
        t0 = time.monotonic()
        status = "graded"
        try:
            res = grade_one(path, ex, name=sid, **self.kw)
            if res.load_error.startswith("could not read the submission"):
                status = "unreadable"
        except Exception as e:  # the grader's own bug: record it, keep the batch going, retry next run
            status = "error"
            res = runner.GradeResult(exercise=str(ex or "unknown"), submission=sid,
                                     load_error=f"internal grader error (not the submission's fault): "
                                                f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=5)}")
        res.seconds = time.monotonic() - t0
        data = (json.dumps(gradescope.results_json(res, hidden_visibility=self.vis), indent=1) + "\n").encode()
        row = {"submission": sid, "exercise": res.exercise, "status": status, "score": f"{res.score:g}",
               "max_score": f"{res.max_score:g}", "tests_passed": sum(t.passed for t in res.tests),
               "tests": len(res.tests), "needs_gpu": sum(t.status == "needs_gpu" for t in res.tests),
               "device": res.device, "seconds": f"{res.seconds:.1f}", "results": f"{sid}/{RESULTS}"}
        with self.lock:
            write_atomic(self.out / sid / RESULTS, data)
            self.written[sid] = data
            if status != "error":
                self.state["done"][sid] = {"sha256": _sha(data), "source": src_hash, "row": row,
                                           "options": {**self.options, "exercise": ex}}
            self.result.rows[[r["submission"] for r in self.result.rows].index(sid)] = row
            self.result.graded.append(sid)
            self._restore()
            self._save()
        self.log(f"{sid}: {res.summary()}" if status != "error" else f"{sid}: {res.load_error.splitlines()[0]}")
        return res


def grade(submissions, out_dir, *, exercise=None, force: bool = False, jobs: int = 1,
          time_limit: float | None = None, load_time_limit: float | None = None, hidden: bool = True,
          perf: bool = True, max_timeouts: int = 1, hidden_visibility: str = "after_published",
          quiet: bool = True) -> BatchResult:
    """Grade ``submissions`` (paths of files or folders) into ``out_dir``; see the module docstring."""
    if isinstance(submissions, (str, os.PathLike)):
        submissions = [submissions]
    paths = [Path(s) for s in submissions]
    if not paths:
        raise ValueError("submissions must name at least one file or folder")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer; got {jobs!r}")
    if hidden_visibility not in gradescope.VISIBILITIES:
        raise ValueError(f"hidden_visibility must be one of {', '.join(gradescope.VISIBILITIES)}; "
                         f"got {hidden_visibility!r}")
    if exercise is not None:
        exercise = get(exercise).id
    from .. import device

    if jobs > 1 and perf and device.gpu() is not None:
        raise ValueError("jobs > 1 would time kernels against each other on one GPU: use jobs=1, or perf=False")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    log = (lambda s: None) if quiet else (lambda s: print(s, flush=True))
    entries = list(zip(submission_ids(paths), paths, [exercise] * len(paths)))
    b = _Batch(out, entries, force, dict(time_limit=time_limit, load_time_limit=load_time_limit, hidden=hidden,
                                         perf=perf, max_timeouts=max_timeouts), hidden_visibility, log)
    b._save()
    for sid in b.result.skipped:
        log(f"{sid}: already graded (force=True regrades)")
    try:
        if jobs == 1:
            for item in b.todo:
                b.one(*item)
        else:
            with ThreadPoolExecutor(max_workers=jobs) as pool:
                futures = [pool.submit(b.one, *item) for item in b.todo]
                try:
                    for f in futures:
                        f.result()
                except BaseException:
                    for f in futures:
                        f.cancel()
                    raise
    finally:
        with b.lock:
            b._restore()
            b._save()
    return b.result
