"""The grader's side of a submission's process: start it, feed it inputs, survive it.

Each submission runs in its own worker process (:mod:`labkernels.grading.worker`),
in its own session (so a kill reaches anything it spawned), in a private
temporary directory that is its working directory and ``HOME``. The grader:

* draws the inputs (from a seed that never leaves this process), writes them
  and an output poisoned with NaN as raw ``.bin`` files, and asks the worker
  to run the kernel on them; the request carries each array's dtype, shape,
  size and SHA-256, so the worker parses no file header (no ``np.load``, so no
  ``ast``/``tokenize`` over file bytes) and a file that changed on its way is
  reported as such, with what was expected and what was read. It reads back
  only ``result.bin``, into an array of the dtype and shape it chose itself,
  after a size check, and compares it here;
* waits for each reply with a time limit; a hang is killed (the whole process
  group) and recorded; a crash (a signal, an exit, an illegal address that
  poisons the CUDA context) is recorded with its reason; either way the next
  call starts a fresh worker;
* reads what the submission printed from a log file, at most its head and
  tail; more than ``output_limit`` bytes printed fails the call.

Nothing the worker sends is trusted beyond its result arrays, which are
checked against the grader's own reference.
"""
from __future__ import annotations

import hashlib
import json
import os
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .exercise import Exercise
from .submission import Source

PACKAGE_PARENT = Path(__file__).resolve().parents[2]  #: the directory holding labkernels/
WORKER = Path(__file__).with_name("worker.py")
MAX_REPLY = 1 << 20
HEAD, TAIL = 4000, 1000
RESULT = "result.bin"  #: the output array the worker writes back, raw bytes (see ``_write_set``)


def _as_bytes(a: np.ndarray) -> np.ndarray:
    """``a``'s bytes in C order as a flat uint8 array: a view when ``a`` is C-contiguous (so that
    reading into it fills ``a``), else a view of a contiguous copy. Any fixed-size dtype."""
    if not a.flags.c_contiguous:
        a = np.ascontiguousarray(a)
    return a.reshape(-1).view(np.uint8)


def array_spec(a: np.ndarray) -> dict:
    """What the worker needs to read ``a`` back from raw bytes and to check that it arrived intact."""
    return {"dtype": a.dtype.str, "shape": [int(n) for n in a.shape], "nbytes": int(a.nbytes),
            "sha256": hashlib.sha256(_as_bytes(a)).hexdigest()}


def write_array(path: Path, a: np.ndarray) -> dict:
    """Write ``a`` as raw bytes (no header to parse on the other side); its :func:`array_spec`."""
    with open(path, "wb") as f:
        f.write(_as_bytes(a))
    return array_spec(a)


@dataclass
class Outcome:
    """What one call (or timed series of calls) of the student's kernel gave."""

    ok: bool
    results: list = field(default_factory=list)  #: output arrays (host), one per input set
    error: str = ""
    kind: str = ""  #: failure kind: raised, index, timeout, crash, output, load, compile, missing, protocol
    printed: str = ""  #: what the submission printed during the call (head and tail)
    printed_bytes: int = 0
    times_us: list = field(default_factory=list)

    @property
    def result(self):
        return self.results[0] if self.results else None


def harden_process() -> bool:
    """Make this (the grader's) process undumpable, so that a same-user process cannot read its
    memory through ``/proc/<pid>/mem`` — where the seeds live — even where Yama's ptrace
    restrictions are off. Linux only; returns whether it took effect. ``labkernels grade
    --harden`` calls it; it is opt-in because it changes the whole process (core dumps, the
    ownership of its ``/proc`` entries)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_DUMPABLE = 4
        return libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


class Sandbox:
    """A worker process for one submission, restarted after a crash or a hang."""

    def __init__(self, exercise: Exercise, source: Source, *, time_limit: float | None = None,
                 load_time_limit: float | None = None, output_limit: int = 1 << 20):
        if not isinstance(source, Source):
            raise TypeError(f"source must be a labkernels.grading.submission.Source; got {type(source).__name__}")
        for name, v in (("time_limit", time_limit), ("load_time_limit", load_time_limit)):
            if v is not None and not (isinstance(v, (int, float)) and v > 0):
                raise ValueError(f"{name} must be a positive number of seconds; got {v!r}")
        self.ex, self.source = exercise, source
        self.time_limit = float(time_limit or 60.0)
        self.load_time_limit = float(load_time_limit or max(120.0, self.time_limit))
        self.output_limit = int(output_limit)
        self.proc = None
        self.info: dict | None = None
        self._buf = b""
        self._log_pos = 0
        self.starts = 0
        self.dir = Path(tempfile.mkdtemp(prefix="labkernels-grade-"))
        os.chmod(self.dir, 0o700)
        self.work, self.io = self.dir / "work", self.dir / "io"
        self.work.mkdir()
        self.io.mkdir()
        self.log = self.dir / "output.log"
        self.src_path = self.work / ("submission.cu" if exercise.lang == "cuda" else "submission.py")
        self.src_path.write_text(source.text, encoding="utf-8")

    # -- process ------------------------------------------------------------

    def _env(self) -> dict:
        from .. import device

        env = dict(os.environ)  # the grader keeps its secrets in memory, never in the environment
        paths = [str(PACKAGE_PARENT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
        env["PYTHONPATH"] = os.pathsep.join(paths)
        env.update(HOME=str(self.work), PYTHONDONTWRITEBYTECODE="1", CUPY_CACHE_DIR=str(self.work / ".cupy"),
                   LABKERNELS_CACHE=str(self.work / ".cache"),
                   # Numba would synchronize the host on every launch with CuPy arrays (they name the
                   # default stream, which Numba launches on anyway): that would put host launch
                   # overhead inside the timed interval.
                   NUMBA_CUDA_ARRAY_INTERFACE_SYNC="0")
        if device.gpu() is None:
            env["LABKERNELS_NO_GPU"] = "1"  # no GPU here: the worker need not look (seconds saved)
        return env

    def _spawn(self):
        self._buf = b""
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-u", "-X", "faulthandler", str(WORKER), str(self.log)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, cwd=self.work, env=self._env(),
                start_new_session=True)
        self.starts += 1

    def _kill(self):
        p, self.proc = self.proc, None
        if p is None:
            return
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                p.kill()
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        for s in (p.stdin, p.stdout):
            try:
                s.close()
            except OSError:
                pass

    def _send(self, msg: dict) -> bool:
        try:
            self.proc.stdin.write((json.dumps(msg) + "\n").encode())
            self.proc.stdin.flush()
            return True
        except (BrokenPipeError, OSError, ValueError):
            return False

    def _receive(self, timeout: float):
        """(reply dict, None) or (None, (kind, reason))."""
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None, ("timeout", f"did not finish within the time limit of {timeout:g} s")
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                return None, ("crash", self._death())
            self._buf += chunk
            if len(self._buf) > MAX_REPLY:
                return None, ("protocol", "the submission wrote to the grader's channel")
        line, _, self._buf = self._buf.partition(b"\n")
        try:
            reply = json.loads(line)
            if not isinstance(reply, dict):
                raise ValueError
            return reply, None
        except ValueError:
            return None, ("protocol", "the submission wrote to the grader's channel")

    def _death(self) -> str:
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return "the process closed its channel to the grader"
        if code < 0:
            return f"the process was killed by {_signal_name(code)} (a crash in native code?)"
        return f"the process exited with status {code} during the call (sys.exit, os._exit or a fatal error)"

    def _printed(self) -> tuple[str, int]:
        """What the submission printed since the last look: (head ... tail, byte count)."""
        try:
            size = self.log.stat().st_size
        except OSError:
            return "", 0
        n = size - self._log_pos
        if n <= 0:
            return "", 0
        with open(self.log, "rb") as f:
            f.seek(self._log_pos)
            if n <= HEAD + TAIL:
                text = f.read(n).decode(errors="replace")
            else:
                head = f.read(HEAD).decode(errors="replace")
                f.seek(size - TAIL)
                text = f"{head}\n... [{n - HEAD - TAIL} bytes left out] ...\n{f.read(TAIL).decode(errors='replace')}"
        self._log_pos = size
        return text, n

    def _request(self, msg: dict, timeout: float):
        if not self._send(msg):
            reply, err = None, ("crash", self._death())
        else:
            reply, err = self._receive(timeout)
        if err is not None or reply.get("fatal"):  # a hang, a crash, a lost CUDA context: start afresh next time
            self._kill()
        printed, nbytes = self._printed()
        return reply, err, printed, nbytes

    # -- API ----------------------------------------------------------------

    def start(self) -> dict:
        """Start the worker and load the submission; the load reply (``ok`` False on failure)."""
        if self.proc is not None and self.proc.poll() is None and self.info is not None:
            return self.info
        self._kill()
        self._spawn()
        ex = self.ex
        msg = {"op": "load", "lang": ex.lang, "path": str(self.src_path), "filename": self.source.filename,
               "entry": ex.entry, "launcher": ex.launcher, "forbid": list(ex.forbid), "defines": ex.defines,
               "archs": sorted({a for s in ex.static for a in s.archs}), "io": str(self.io),
               "file_limit": self.file_limit(), "requires": ex.requires}
        reply, err, printed, nbytes = self._request(msg, self.load_time_limit)
        if err is not None:
            kind, why = err
            reply = {"ok": False, "kind": "timeout" if kind == "timeout" else "load",
                     "error": f"loading the submission: {why}"}
        if not reply.get("ok"):
            reply["error"] = self.source.translate(reply.get("error", ""))
            for c in reply.get("compiled", {}).values():
                c["log"] = self.source.translate(c.get("log", ""))
            self._kill()
        reply["printed"], reply["printed_bytes"] = printed, nbytes
        self.info = reply
        return reply

    def file_limit(self) -> int:
        """The largest file the worker may write (its RLIMIT_FSIZE): room for the largest output array
        any test of the exercise sends back, and never less than what the worker allows its log."""
        t, shapes = self.ex.task, [c.shape for c in self.ex.cases] + ([self.ex.perf.shape] if self.ex.perf else [])
        largest = max((int(np.prod(t.out_shape(**s))) * np.dtype(t.out_dtype).itemsize for s in shapes), default=0)
        return max(16 << 20, largest + (1 << 20))  # 16 MiB: the worker's LOG_LIMIT

    def ptx(self, arch: str) -> str:
        p = self.io / f"ptx-{arch}.txt"
        return p.read_text() if p.is_file() else ""

    def _alive(self) -> Outcome | None:
        """Restart after a crash or a hang; an Outcome when that fails."""
        if self.proc is not None and self.proc.poll() is None:
            return None
        info = self.start()
        if not info.get("ok"):
            return Outcome(False, error=info.get("error", ""), kind=info.get("kind", "load"))
        return None

    def _write_set(self, inputs: dict, out: np.ndarray) -> dict:
        """Arrays as raw ``.bin`` files described in the request (dtype, shape, size, SHA-256);
        anything else (None, numbers: ``zeros=None``) goes in the request as is."""
        d = self.io / secrets.token_hex(8)
        d.mkdir()
        arrays, scalars = {}, {}
        for name, a in inputs.items():
            if isinstance(a, np.ndarray):
                arrays[name] = write_array(d / f"in-{name}.bin", a)
            elif a is None or isinstance(a, (bool, int, float, str)):
                scalars[name] = a
            else:
                raise TypeError(f"input {name!r} must be a NumPy array, a number or None; got {type(a).__name__}")
        return {"dir": str(d), "arrays": arrays, "out": write_array(d / "out.bin", out), "scalars": scalars}

    @staticmethod
    def _read_result(d: Path, like: np.ndarray, meta) -> np.ndarray | None:
        """The worker's output as an array of ``like``'s dtype and shape, or None if it is not exactly
        that many bytes (or the worker says it is another dtype or shape). Nothing from the file is
        parsed, so no content of it can raise here."""
        if not isinstance(meta, dict) or meta.get("dtype") != like.dtype.str or meta.get("shape") != list(like.shape):
            return None
        p = d / RESULT
        try:
            if not p.is_file() or p.stat().st_size != like.nbytes:
                return None
            got = np.empty(like.shape, like.dtype)
            with open(p, "rb") as f:
                if f.readinto(_as_bytes(got)) != like.nbytes:
                    return None
            return got
        except Exception:  # an unreadable file is a result that did not come back, never a grader crash
            return None

    def _finish(self, reply, err, printed, nbytes, dirs, outs, timeout) -> Outcome:
        o = Outcome(False, printed=printed, printed_bytes=nbytes)
        if err is not None:
            o.kind, o.error = err
            if o.kind == "timeout":
                o.error = f"timed out: {o.error}"
        elif not reply.get("ok"):
            o.kind, o.error = reply.get("kind", "raised"), self.source.translate(reply.get("error", ""))
        else:
            metas = reply.get("results")
            metas = metas if isinstance(metas, list) and len(metas) == len(dirs) else [None] * len(dirs)
            res = [self._read_result(d, out, m) for d, out, m in zip(dirs, outs, metas)]
            if any(r is None for r in res):
                o.kind, o.error = "protocol", "the output array did not come back intact"
            else:
                o.ok, o.results, o.times_us = True, res, list(reply.get("times_us", []))
        if nbytes > self.output_limit:
            o.ok, o.kind = False, "output"
            o.error = (f"printed {nbytes} bytes, more than the limit of {self.output_limit}"
                       + (f"; and {o.error}" if o.error else ""))
        for d in dirs:
            shutil.rmtree(d, ignore_errors=True)
        return o

    def call(self, inputs: dict, out: np.ndarray) -> Outcome:
        """Run the kernel once on ``inputs`` with the poisoned ``out``."""
        bad = self._alive()
        if bad is not None:
            return bad
        spec = self._write_set(inputs, out)
        reply, err, printed, nbytes = self._request({"op": "call", "set": spec}, self.time_limit)
        return self._finish(reply, err, printed, nbytes, [Path(spec["dir"])], [out], self.time_limit)

    def time(self, sets: list, outs: list, warmup: int) -> Outcome:
        """Run the kernel once per input set, the calls after ``warmup`` timed (GPU)."""
        bad = self._alive()
        if bad is not None:
            return bad
        specs = [self._write_set(s, o) for s, o in zip(sets, outs)]
        limit = self.time_limit * 2 + 5 * len(sets)
        reply, err, printed, nbytes = self._request({"op": "time", "sets": specs, "warmup": warmup}, limit)
        return self._finish(reply, err, printed, nbytes, [Path(s["dir"]) for s in specs], outs, limit)

    def close(self):
        if self.proc is not None and self.proc.poll() is None:
            self._send({"op": "exit"})
            try:
                self.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass
        self._kill()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
