"""The student's process: load one submission, run its kernel on the inputs the grader sends.

Run by :class:`labkernels.grading.sandbox.Sandbox` as a script (``python -u
worker.py LOG``), never imported by the grader (tests import it for its
helpers): run by path, it does not import the
``labkernels.grading`` package, so nothing of the grader — exercises,
references, tolerances — is loaded in this process. What it does load is
:mod:`labkernels.grading.launchers` (how to launch, nothing else).

Protocol: one JSON object per line. Requests arrive on the original stdin,
replies leave on the original stdout; both are moved to private descriptors
at start-up, and the student's stdin/stdout/stderr become /dev/null and the
log file, so a ``print`` can neither corrupt the protocol nor grow without
bound (the log is capped with ``RLIMIT_FSIZE``; the grader reads at most the
head and tail of it).

``load``  {lang, path, filename, entry, launcher, forbid, defines, archs, io, requires}
          Python: compile (a syntax error comes back with its line), install
          the import guard, execute the module under the name ``submission``
          (so its ``__main__`` block does not run), find ``entry``, which must
          be a ``@cuda.jit`` kernel (lang ``numba``) or a plain function (lang
          ``python``: run on the CPU; Numba and the GPU are never touched).
          CUDA C: compile with NVRTC for every ``archs`` (PTX written to
          ``io``), and on a GPU load it — unless the GPU lacks the device
          capability ``requires`` that every test needs (an sm_80 MMA on a
          T4): then nothing is built for it and the grader skips the tests.
``call``  {set}  ``set`` is {dir, arrays, out, scalars}: the inputs and the
          poisoned output are raw ``dir/in-NAME.bin`` and ``dir/out.bin``, each
          described in the request by dtype, shape, size and SHA-256 (checked
          on reading: nothing in a file is parsed); the grader's launcher runs
          the kernel; ``dir/result.bin`` is the output, described in the reply.
``time``  {sets, warmup}  the same over several fresh input sets, the ones
          after ``warmup`` timed by CUDA events (GPU only).
``exit``

Every exception the worker catches is reported with its traceback (the last
:data:`TRACEBACK_LINES` lines, library and worker frames included) after the
student's own frames, so one failing run on a GPU is enough to see where it
failed. A failure of the worker itself (reading the inputs, writing the
output, an unknown request) comes back as kind ``internal``.

After an exception on a GPU the context may be poisoned (an illegal address
poisons it for good): the reply then says ``fatal`` and the process exits,
and the grader starts a fresh one for the next test.
"""
from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import linecache
import os
import signal
import sys
import traceback
import types
from pathlib import Path

#: the least size of a file this process may write, so a submission may print about this much before
#: its writes fail (EFBIG). RLIMIT_FSIZE bounds every file the process writes, the output array that
#: goes back to the grader too: ``load`` raises it to the grader's ``file_limit`` (the largest output
#: of the exercise and some room), before any student code runs.
LOG_LIMIT = 16 << 20
TRACEBACK_LINES = 30  #: lines of a caught exception's traceback that a reply carries
TRACEBACK_CHARS = 8000  #: and at most this many characters of them
RESULT = "result.bin"  #: the output written back (the grader's sandbox reads this name)


def _private_io(log_path: str):
    """Move the protocol to private descriptors; point 0/1/2 at /dev/null and the log."""
    proto_in = os.fdopen(os.dup(0), "r", encoding="utf-8")
    proto_out = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    log = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(devnull)
    os.close(log)
    return proto_in, proto_out


def _limits(file_limit: int = LOG_LIMIT) -> None:
    try:
        import resource

        file_limit = max(int(file_limit), LOG_LIMIT)
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_limit, file_limit))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an oversized write fails instead of killing us
    except (ImportError, ValueError, OSError, AttributeError):
        pass  # not POSIX: the grader's own output cap still applies


def _load_launchers():
    """labkernels/grading/launchers.py by path, under a private name (no grading package import)."""
    path = Path(__file__).with_name("launchers.py")
    spec = importlib.util.spec_from_file_location("_labkernels_grader_launchers", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class _StubLoader(importlib.abc.Loader):
    """``labkernels.grading`` inside a submission: ``check`` does nothing while grading."""

    def create_module(self, spec):
        m = types.ModuleType(spec.name)
        m.__doc__ = "labkernels.grading as a submission sees it while being graded: checks are skipped."

        def check(*args, **kwargs):
            print("(labkernels.grading.check is skipped while the grader runs this file)")

        m.check = check
        return m

    def exec_module(self, module):
        pass


class ImportGuard(importlib.abc.MetaPathFinder):
    """Refuses the modules an exercise forbids (the grader, whatever holds the reference)."""

    def __init__(self, forbid):
        self.forbid = tuple(forbid)

    def find_spec(self, fullname, path=None, target=None):
        for f in self.forbid:
            if fullname == f or fullname.startswith(f + "."):
                if fullname == "labkernels.grading":  # a package, so its submodules come back here
                    return importlib.machinery.ModuleSpec(fullname, _StubLoader(), is_package=True)
                raise ImportError(f"a submission may not import {fullname} (it holds the grader or the "
                                  f"reference this exercise asks you to write)", name=fullname)
        return None


def install_guard(forbid) -> None:
    for name in list(sys.modules):
        if any(name == f or name.startswith(f + ".") for f in forbid):
            del sys.modules[name]
            parent, _, child = name.rpartition(".")
            if parent in sys.modules and getattr(sys.modules[parent], child, None) is not None:
                try:
                    delattr(sys.modules[parent], child)
                except AttributeError:
                    pass
    sys.meta_path.insert(0, ImportGuard(forbid))


def _message(e: BaseException) -> str:
    """``Type: message``, never raising (a student's exception may have a broken ``__str__``)."""
    try:
        msg = str(e)
    except Exception as e2:
        msg = f"<str() of the exception failed: {type(e2).__name__}>"
    if len(msg) > 2000:
        msg = msg[:2000] + " ..."
    return f"{type(e).__name__}: {msg}"


def traceback_tail(e: BaseException, lines: int = TRACEBACK_LINES, chars: int = TRACEBACK_CHARS) -> str:
    """The last ``lines`` lines of ``e``'s full traceback (chained exceptions included), every frame
    kept: worker, launcher, library. Never raises: formatting reads source lines through
    ``linecache`` and module loaders, and a failure there must not hide ``e``."""
    try:
        text = "".join(traceback.format_exception(type(e), e, e.__traceback__))
    except BaseException as e2:
        text = (f"{_message(e)}\n(its traceback could not be formatted: {type(e2).__name__})")
    rows = text.rstrip("\n").splitlines()
    if len(rows) > lines:
        rows = [f"... ({len(rows) - lines} earlier lines of the traceback left out)"] + rows[-lines:]
    out = "\n".join(rows)
    if len(out) > chars:
        out = "... " + out[-chars:]
    return out


def _student_error(e: BaseException, filename: str) -> str:
    """The exception with the student's own frames first (what to fix), then the full traceback
    (where it happened, for whoever must find a fault of the grader or a library)."""
    try:
        frames = [f for f in traceback.extract_tb(e.__traceback__) if f.filename == filename]
        head = "".join(traceback.format_list(frames[-6:]))
    except BaseException:
        head = ""
    return (f"{head}{_message(e)}\n\ntraceback (its last {TRACEBACK_LINES} lines, grader and library "
            f"frames included):\n{traceback_tail(e)}")


def _internal(what: str, e: BaseException) -> dict:
    """A failure of the worker's own machinery, with its traceback."""
    return {"ok": False, "kind": "internal",
            "error": f"internal error of the grader's worker while {what} (not a verdict on the kernel): "
                     f"{_message(e)}\n\ntraceback (its last {TRACEBACK_LINES} lines):\n{traceback_tail(e)}"}


class CorruptInput(RuntimeError):
    """An input file is not what the grader wrote (size or SHA-256 differ)."""


def _hexdump(b: bytes, n: int = 48) -> str:
    return b[:n].hex(" ") + (" ..." if len(b) > n else "")


def _as_bytes(a):
    """A C-contiguous array's bytes as a flat uint8 view (reading into it fills the array)."""
    import numpy as np

    return a.reshape(-1).view(np.uint8)


def read_array(path: Path, spec: dict):
    """The array the grader wrote to ``path`` as raw bytes, of ``spec``'s dtype and shape, after
    checking its size and SHA-256. Nothing read from the file is parsed or evaluated."""
    import numpy as np

    a = np.empty(tuple(int(n) for n in spec["shape"]), np.dtype(spec["dtype"]))
    raw = _as_bytes(a)
    with open(path, "rb") as f:
        n = f.readinto(raw)
        extra = f.read(1)
    digest = hashlib.sha256(raw[:n]).hexdigest()
    if n != spec["nbytes"] or extra or digest != spec["sha256"]:
        try:
            size = path.stat().st_size
        except OSError as e:
            size = f"unknown ({e})"
        raise CorruptInput(
            f"{path} is not what the grader wrote: it wrote {spec['nbytes']} bytes with SHA-256 "
            f"{spec['sha256']}; the file has {size} bytes, of which the first {n} have SHA-256 {digest}; "
            f"they begin {_hexdump(bytes(raw[:n]))}")
    return a


def write_array(path: Path, a) -> dict:
    """Write a host array as raw bytes; how the grader reads it back (dtype, shape, size, SHA-256)."""
    import numpy as np

    a = np.asarray(a)
    if not a.flags.c_contiguous:
        a = np.ascontiguousarray(a)
    raw = _as_bytes(a)
    with open(path, "wb") as f:
        f.write(raw)
    return {"dtype": a.dtype.str, "shape": [int(n) for n in a.shape], "nbytes": int(a.nbytes),
            "sha256": hashlib.sha256(raw).hexdigest()}


class Worker:
    def __init__(self):
        self.kernel = None
        self.launch = None
        self.gpu = None
        self.xp = None
        self.filename = "submission"
        self.L = _load_launchers()

    # -- load ---------------------------------------------------------------

    def _device(self):
        from labkernels import device

        g = device.gpu()
        if g is not None:
            import cupy

            self.gpu, self.xp = g, cupy
            return {"gpu": True, "device": f"GPU {g.name} (sm_{g.cc[0]}{g.cc[1]})", "gpu_name": g.name,
                    "cc": list(g.cc)}
        import numpy

        self.xp = numpy
        return {"gpu": False, "device": "no GPU", "why": device.why_no_gpu()}

    def op_load(self, msg):
        _limits(msg.get("file_limit", LOG_LIMIT))  # before the submission runs (and can print)
        self.filename = msg["filename"]
        self.launch = self.L.LAUNCHERS[msg["launcher"]]
        text = Path(msg["path"]).read_text(encoding="utf-8")
        if msg["lang"] in ("numba", "python"):
            return self._load_python(msg, text)
        return self._load_cuda(msg, text)

    def _load_python(self, msg, text):
        """A Python submission: a Numba kernel (lang numba) or a plain function on the CPU (lang python)."""
        kernel = msg["lang"] == "numba"
        if kernel:
            from labkernels import numba_compat

            numba_compat.cuda()  # the simulator goes on here, before the submission imports numba
            info = self._device()
            if not info["gpu"]:
                info["device"] = "Numba simulator (no GPU)" if numba_compat.simulator() else "no GPU"
            if info["gpu"]:
                self.L.prepare_timing()
        else:
            import numpy

            self.xp = numpy
            info = {"gpu": False, "device": "CPU (plain Python, no kernel)"}
        try:
            code = compile(text, self.filename, "exec")
        except SyntaxError as e:
            return {**info, "ok": False, "kind": "load", "lineno": e.lineno,
                    "error": f'  File "{self.filename}", line {e.lineno}\n    {(e.text or "").strip()}\n'
                             f"SyntaxError: {e.msg}"}
        install_guard(msg["forbid"])
        # Tracebacks and Numba's messages read source lines through linecache: give them the text
        # that runs (the file on disk has another name, or is a notebook). mtime None: kept as is.
        linecache.cache[self.filename] = (len(text), None, text.splitlines(keepends=True), self.filename)
        mod = types.ModuleType("submission")
        mod.__file__ = self.filename
        sys.modules["submission"] = mod
        try:
            exec(code, mod.__dict__)
        except BaseException as e:  # SystemExit and KeyboardInterrupt too: the file must load
            return {**info, "ok": False, "kind": "load",
                    "error": "loading the file raised:\n" + _student_error(e, self.filename)}
        entry = msg["entry"]
        k = mod.__dict__.get(entry)
        if k is None:
            return {**info, "ok": False, "kind": "missing", "error": f"{self.filename} defines no {entry!r}"}
        if kernel and not self.L.is_numba_kernel(k):
            return {**info, "ok": False, "kind": "missing",
                    "error": f"{entry} must be a Numba kernel (decorated with @cuda.jit); got {type(k).__name__}"}
        if not kernel and not isinstance(k, types.FunctionType):
            return {**info, "ok": False, "kind": "missing",
                    "error": f"{entry} must be a function (def {entry}(...)); got {type(k).__name__}"}
        self.kernel = k
        return {"ok": True, **info}

    def _load_cuda(self, msg, text):
        from labkernels import build

        io = Path(msg["io"])
        compiled = {}
        for arch in msg["archs"]:
            try:
                c = build.compile_source(text, arch, name=self.filename, defines=msg["defines"], cubin=False)
                (io / f"ptx-{arch}.txt").write_text(c.ptx)
                compiled[arch] = {"ok": True, "log": c.log[:4000]}
            except build.CompileError as e:
                compiled[arch] = {"ok": False, "log": e.log[:8000]}
        info = self._device()
        if not all(c["ok"] for c in compiled.values()):
            first = next(a for a, c in compiled.items() if not c["ok"])
            return {"ok": False, "kind": "compile", "compiled": compiled, **info,
                    "error": f"NVRTC could not compile {self.filename} for {first}:\n{compiled[first]['log']}"}
        if info["gpu"] and msg.get("requires"):
            from labkernels import device

            if not device.CAPABILITIES[msg["requires"]].available(self.gpu.cc):
                return {"ok": True, "compiled": compiled, **info, "skipped": f"this GPU lacks {msg['requires']}"}
        if info["gpu"]:
            self.L.prepare_timing()
            from labkernels import device

            try:
                self.kernel = self.L.load_cuda(text, filename=self.filename, entry=msg["entry"],
                                               defines=msg["defines"], arch=device.arch(self.gpu.cc))
            except build.CompileError as e:  # compiles for the listed targets, not for this GPU's
                return {"ok": False, "kind": "compile", "compiled": compiled, **info,
                        "error": f"NVRTC could not compile {self.filename} for this GPU ({e.arch}):\n{e.log[:8000]}"}
            except Exception as e:
                return {"ok": False, "kind": "missing", "compiled": compiled, **info,
                        "error": f"loading {msg['entry']} failed: {_message(e)}\n\ntraceback (its last "
                                 f"{TRACEBACK_LINES} lines):\n{traceback_tail(e)}"}
        return {"ok": True, "compiled": compiled, **info}

    # -- calls --------------------------------------------------------------

    def _arrays(self, spec: dict):
        """The inputs (keyword arguments of the launcher) and the poisoned output of one set."""
        d = Path(spec["dir"])
        arrays = {n: read_array(d / f"in-{n}.bin", s) for n, s in spec["arrays"].items()}
        out = read_array(d / "out.bin", spec["out"])
        if self.gpu is not None:
            arrays = {k: self.xp.asarray(v) for k, v in arrays.items()}
            out = self.xp.asarray(out)
        arrays.update(spec.get("scalars") or {})
        return arrays, out

    def _save(self, spec: dict, out) -> dict:
        host = self.xp.asnumpy(out) if self.gpu is not None else out
        return write_array(Path(spec["dir"]) / RESULT, host)

    def _run(self, arrays, out):
        self.launch(self.kernel, **arrays, out=out)

    def _context_lost(self, reply: dict) -> dict:
        """On a GPU, after a failure: mark the reply fatal when the CUDA context did not survive."""
        if self.gpu is not None:
            try:
                self.xp.cuda.runtime.deviceSynchronize()
            except Exception as e2:  # the context is gone: a new process must take over
                reply.update(fatal=True, error=reply["error"] + f"\n(the CUDA context is lost: {_message(e2)})")
        return reply

    def _failed(self, e: BaseException):
        kind = "index" if isinstance(e, IndexError) else "raised"
        try:
            error = _student_error(e, self.filename)
        except BaseException as e2:  # never let the report hide the failure
            error = f"{_message(e)}\n(formatting it failed: {_message(e2)})"
        return self._context_lost({"ok": False, "kind": kind, "error": error})

    def op_call(self, msg):
        spec = msg["set"]
        try:
            arrays, out = self._arrays(spec)
        except Exception as e:
            return self._context_lost(_internal("reading the inputs the grader wrote", e))
        try:
            self._run(arrays, out)
            if self.gpu is not None:
                self.xp.cuda.get_current_stream().synchronize()
        except BaseException as e:
            return self._failed(e)
        try:
            result = self._save(spec, out)
        except Exception as e:
            return self._context_lost(_internal("writing the output back", e))
        return {"ok": True, "results": [result]}

    def op_time(self, msg):
        if self.gpu is None:
            return {"ok": False, "kind": "internal", "error": "timing needs a GPU"}
        try:
            loaded = [self._arrays(s) for s in msg["sets"]]
        except Exception as e:
            return self._context_lost(_internal("reading the inputs the grader wrote", e))
        sets, outs = [a for a, _ in loaded], [o for _, o in loaded]
        try:
            times = self.L.time_calls(lambda a, o: self._run(a, o), sets, outs, msg["warmup"])
        except BaseException as e:
            return self._failed(e)
        try:
            results = [self._save(s, o) for s, o in zip(msg["sets"], outs)]
        except Exception as e:
            return self._context_lost(_internal("writing the outputs back", e))
        return {"ok": True, "times_us": times, "results": results}


def main(argv) -> int:
    here = str(Path(__file__).resolve().parent)
    sys.path[:] = [p for p in sys.path if p and Path(p).resolve() != Path(here)]  # no grader modules by bare name
    proto_in, proto_out = _private_io(argv[1])
    w = Worker()
    for line in proto_in:
        msg = json.loads(line)
        op = msg.get("op")
        if op == "exit":
            break
        try:
            reply = getattr(w, f"op_{op}")(msg)
        except Exception as e:  # the worker's own failure, not the student's
            reply = _internal(f"answering {op!r}", e)
        proto_out.write(json.dumps(reply) + "\n")
        proto_out.flush()
        if reply.get("fatal"):
            return 3
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
