"""The student's process: load one submission, run its kernel on the inputs the grader sends.

Run by :class:`labkernels.grading.sandbox.Sandbox` as a script (``python -u
worker.py LOG``), never imported: run by path, it does not import the
``labkernels.grading`` package, so nothing of the grader — exercises,
references, tolerances — is loaded in this process. What it does load is
:mod:`labkernels.grading.launchers` (how to launch, nothing else).

Protocol: one JSON object per line. Requests arrive on the original stdin,
replies leave on the original stdout; both are moved to private descriptors
at start-up, and the student's stdin/stdout/stderr become /dev/null and the
log file, so a ``print`` can neither corrupt the protocol nor grow without
bound (the log is capped with ``RLIMIT_FSIZE``; the grader reads at most the
head and tail of it).

``load``  {lang, path, filename, entry, launcher, forbid, defines, archs, io}
          Python: compile (a syntax error comes back with its line), install
          the import guard, execute the module under the name ``submission``
          (so its ``__main__`` block does not run), find ``entry``, which must
          be a ``@cuda.jit`` kernel. CUDA C: compile with NVRTC for every
          ``archs`` (PTX written to ``io``), and on a GPU load it.
``call``  {dir, inputs}  inputs and the poisoned output from ``dir/*.npy``;
          the grader's launcher runs the kernel; ``dir/result.npy`` is the output.
``time``  {dirs, inputs, warmup}  the same over several fresh input sets, the
          ones after ``warmup`` timed by CUDA events (GPU only).
``exit``

After an exception on a GPU the context may be poisoned (an illegal address
poisons it for good): the reply then says ``fatal`` and the process exits,
and the grader starts a fresh one for the next test.
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import signal
import sys
import traceback
import types
from pathlib import Path

LOG_LIMIT = 16 << 20  #: bytes a submission may print before its writes fail (EFBIG)


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


def _limits() -> None:
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_FSIZE, (LOG_LIMIT, LOG_LIMIT))
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


def _student_error(e: BaseException, filename: str) -> str:
    """The exception with only the student's frames (the simulator's and ours add nothing)."""
    frames = [f for f in traceback.extract_tb(e.__traceback__) if f.filename == filename]
    head = "".join(traceback.format_list(frames[-6:]))
    msg = str(e)
    if len(msg) > 2000:
        msg = msg[:2000] + " ..."
    return f"{head}{type(e).__name__}: {msg}"


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
        self.filename = msg["filename"]
        self.launch = self.L.LAUNCHERS[msg["launcher"]]
        text = Path(msg["path"]).read_text(encoding="utf-8")
        if msg["lang"] == "numba":
            return self._load_numba(msg, text)
        return self._load_cuda(msg, text)

    def _load_numba(self, msg, text):
        from labkernels import numba_compat

        numba_compat.cuda()  # the simulator goes on here, before the submission imports numba
        info = self._device()
        if not info["gpu"]:
            info["device"] = "Numba simulator (no GPU)" if numba_compat.simulator() else "no GPU"
        if info["gpu"]:
            self.L.prepare_timing()
        try:
            code = compile(text, self.filename, "exec")
        except SyntaxError as e:
            return {**info, "ok": False, "kind": "load", "lineno": e.lineno,
                    "error": f'  File "{self.filename}", line {e.lineno}\n    {(e.text or "").strip()}\n'
                             f"SyntaxError: {e.msg}"}
        install_guard(msg["forbid"])
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
        if not self.L.is_numba_kernel(k):
            return {**info, "ok": False, "kind": "missing",
                    "error": f"{entry} must be a Numba kernel (decorated with @cuda.jit); got {type(k).__name__}"}
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
                        "error": f"loading {msg['entry']} failed: {type(e).__name__}: {e}"}
        return {"ok": True, "compiled": compiled, **info}

    # -- calls --------------------------------------------------------------

    def _arrays(self, d: Path, names):
        import numpy as np

        arrays = {n: np.load(d / f"{n}.npy", allow_pickle=False) for n in names}
        out = np.load(d / "out.npy", allow_pickle=False)
        if self.gpu is not None:
            arrays = {k: self.xp.asarray(v) for k, v in arrays.items()}
            out = self.xp.asarray(out)
        scalars = d / "scalars.json"
        if scalars.is_file():
            arrays.update(json.loads(scalars.read_text()))
        return arrays, out

    def _save(self, d: Path, out):
        import numpy as np

        host = self.xp.asnumpy(out) if self.gpu is not None else np.asarray(out)
        np.save(d / "result.npy", host, allow_pickle=False)

    def _run(self, arrays, out):
        self.launch(self.kernel, **arrays, out=out)

    def _failed(self, e: BaseException):
        reply = {"ok": False, "kind": "index" if isinstance(e, IndexError) else "raised",
                 "error": _student_error(e, self.filename)}
        if self.gpu is not None:
            try:
                self.xp.cuda.runtime.deviceSynchronize()
            except Exception as e2:  # the context is gone: a new process must take over
                reply.update(fatal=True, error=reply["error"] + f"\n(the CUDA context is lost: {e2})")
        return reply

    def op_call(self, msg):
        d = Path(msg["dir"])
        arrays, out = self._arrays(d, msg["inputs"])
        try:
            self._run(arrays, out)
            if self.gpu is not None:
                self.xp.cuda.get_current_stream().synchronize()
        except BaseException as e:
            return self._failed(e)
        self._save(d, out)
        return {"ok": True}

    def op_time(self, msg):
        if self.gpu is None:
            return {"ok": False, "kind": "internal", "error": "timing needs a GPU"}
        loaded = [self._arrays(Path(d), msg["inputs"]) for d in msg["dirs"]]
        sets, outs = [a for a, _ in loaded], [o for _, o in loaded]
        try:
            times = self.L.time_calls(lambda a, o: self._run(a, o), sets, outs, msg["warmup"])
        except BaseException as e:
            return self._failed(e)
        for d, o in zip(msg["dirs"], outs):
            self._save(Path(d), o)
        return {"ok": True, "times_us": times}


def main(argv) -> int:
    here = str(Path(__file__).resolve().parent)
    sys.path[:] = [p for p in sys.path if p and Path(p).resolve() != Path(here)]  # no grader modules by bare name
    proto_in, proto_out = _private_io(argv[1])
    _limits()
    w = Worker()
    for line in proto_in:
        msg = json.loads(line)
        op = msg.get("op")
        if op == "exit":
            break
        try:
            reply = getattr(w, f"op_{op}")(msg)
        except Exception as e:  # the worker's own failure, not the student's
            reply = {"ok": False, "kind": "internal", "error": f"{type(e).__name__}: {e}"}
        proto_out.write(json.dumps(reply) + "\n")
        proto_out.flush()
        if reply.get("fatal"):
            return 3
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
