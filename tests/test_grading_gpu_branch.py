"""The grader's GPU branch, run on a CPU: a stand-in CuPy and an H100 that is not there.

On a GPU the worker takes another branch than in the simulator: ``xp`` is
CuPy (inputs copied to the device, ``asnumpy`` back), the timing helpers are
bound at load (``prepare_timing``: ``ceilings/timing.cu`` built by NVRTC into
a cubin in the sandbox's cache and loaded with ``RawModule(path=)``), a CUDA C
submission is built for the device into a cubin in a temporary file and
loaded the same way, the stream is synchronised, and the perf test is timed
by events. Here a stand-in ``cupy`` package (NumPy underneath) comes first on
the worker's path and the grader is told there is an H100, while Numba
kernels run in the simulator: all of that branch's own code runs, only the
device is missing. The stand-in's ``RawModule`` insists on being handed a real
ELF cubin, and it runs a NumPy GEMV for ``fp16_gemv_warp`` (so ex02 "passes"
whatever the student wrote: these tests check the plumbing, not ex02's
numerics, which only a GPU checks), and NumPy A8W8 for ex06's and ex07's
kernels after checking that the launcher's grid covers Y. ``FAKE_CUPY_GPU=t4``
makes the stand-in an sm_75 GPU, to check that ex07 (sm_80+) says the GPU is
too old instead of failing.

Written after every numeric test of ex01 and ex02 failed on an H100 with
nothing but ``TokenError: ('source code cannot contain null bytes', (1, 0))``:
no hint line, so the exception had escaped ``op_call`` (kind ``internal``),
and no Numba low-occupancy warning in the output, so ex01 never reached its
launch: the worker failed reading the inputs, where it parsed the ``.npy``
headers (``np.load``: ``ast.literal_eval``, then numpy's ``_filter_header``
runs ``tokenize`` over the header, which on Python 3.12 raises exactly that
when the header holds a NUL byte). The worker now reads raw bytes checked
against the SHA-256 the grader sends, and every exception it catches comes
back with its traceback; the tests below reproduce both failure shapes.
"""
from __future__ import annotations

import dataclasses
import os
import tokenize
from pathlib import Path

import numpy as np
import pytest

from labkernels import device, grading
from labkernels.grading import gradescope, runner, submission, worker
from labkernels.grading.exercise import Perf
from labkernels.grading.sandbox import RESULT, Sandbox, write_array
from labkernels.grading.tasks.ex01_unpack_int4 import memory_bound

ROOT = Path(__file__).resolve().parents[1]
SOL01 = ROOT / "solutions" / "ex01_unpack_int4.py"
SOL02 = ROOT / "solutions" / "ex02_fp16_gemv.cu"
SOL06 = ROOT / "solutions" / "ex06_dp4a_dot.cu"
SOL07 = ROOT / "solutions" / "ex07_mma_fragment.cu"
TIME_LIMIT = 30.0

H100 = device.GPU(index=0, name="NVIDIA H100 80GB HBM3", cc=(9, 0), sms=132, l2_bytes=50 << 20,
                  mem_bytes=80 << 30, clock_mhz=1980.0, driver="13.0", runtime="13.0")
T4 = device.GPU(index=0, name="Tesla T4", cc=(7, 5), sms=40, l2_bytes=4 << 20, mem_bytes=15 << 30,
                clock_mhz=1590.0, driver="13.0", runtime="13.0")

# The stand-in CuPy. FAKE_CUPY_FAIL=asarray makes the host-to-device copy raise what the H100 run
# reported; FAKE_CUPY_FAIL=kernel makes a RawKernel launch raise.
FAKE_CUPY = {
    "cupy/__init__.py": '''
"""A stand-in for CuPy backed by NumPy (tests/test_grading_gpu_branch.py)."""
import os
import tokenize

import numpy as _np

from . import cuda  # noqa: F401

int32 = _np.int32


def _stage_to_device(a):
    if os.environ.get("FAKE_CUPY_FAIL") == "asarray":
        raise tokenize.TokenError("source code cannot contain null bytes", (1, 0))
    return _np.array(a, copy=True)


def asarray(a, dtype=None):
    return _stage_to_device(_np.asarray(a, dtype=dtype))


def asnumpy(a):
    return _np.array(a, copy=True)


def ones(n, dtype=None):  # the L2-flush buffer: no need to hold 256 MiB here
    return _np.broadcast_to(_np.ones(1, dtype), (n,))


def zeros(n, dtype=None):
    return _np.zeros(n, dtype)


class _Kernel:
    def __init__(self, name):
        self.name = name

    def __call__(self, grid, block, args):
        if os.environ.get("FAKE_CUPY_FAIL") == "kernel":
            raise RuntimeError(f"launching {self.name} failed in the stand-in CuPy")
        if self.name == "fp16_gemv_warp":
            x, w, y, M, N, K = args
            y[...] = (x.astype(_np.float32) @ w.astype(_np.float32).T).astype(y.dtype)
        if self.name in ("a8w8_gemv_warp", "a8w8_mma_tile"):  # ex06, ex07: X, SX, W, SW, Y, M, N, K
            x, sx, w, sw, y, M, N, K = args
            warps = block[0] // 32
            if self.name == "a8w8_gemv_warp":  # one warp per row of W
                covers = grid[0] * warps >= N
            else:  # warp j of block (bx, by): rows 16 * by.., columns 8 * (warps * bx + j)..
                covers = 8 * grid[0] * warps >= N and 16 * grid[1] >= M
            if not covers:
                raise RuntimeError(f"{self.name}: grid {grid} x block {block} does not cover Y [{M}, {N}]")
            s = (x.astype(_np.float64) @ w.astype(_np.float64).T).astype(_np.float32)
            y[...] = (s * sx.astype(_np.float32) * sw.astype(_np.float32).T).astype(y.dtype)


class RawModule:
    def __init__(self, *, code=None, path=None, **kwargs):
        with open(path, "rb") as f:
            image = f.read()
        if image[:4] != b"\\x7fELF":
            raise ValueError(f"{path} is not a cubin")

    def get_function(self, name):
        return _Kernel(name)
''',
    "cupy/cuda/__init__.py": '''
import time

from . import runtime  # noqa: F401


class Device:
    id = 0


class _Stream:
    def synchronize(self):
        pass


def get_current_stream():
    return _Stream()


class Event:
    def record(self, stream=None):
        self.t = time.perf_counter()

    def synchronize(self):
        pass


def get_elapsed_time(a, b):
    return (b.t - a.t) * 1e3
''',
    "cupy/cuda/runtime.py": '''
def getDeviceCount():
    return 1


def getDeviceProperties(i):
    import os

    if os.environ.get("FAKE_CUPY_GPU") == "t4":  # an sm_75 GPU, as Colab's free tier has
        return {"name": b"Tesla T4", "major": 7, "minor": 5, "multiProcessorCount": 40,
                "l2CacheSize": 4 << 20, "totalGlobalMem": 15 << 30, "clockRate": 1590000}
    return {"name": b"NVIDIA H100 80GB HBM3", "major": 9, "minor": 0, "multiProcessorCount": 132,
            "l2CacheSize": 50 << 20, "totalGlobalMem": 80 << 30, "clockRate": 1980000}


def driverGetVersion():
    return 13000


def runtimeGetVersion():
    return 13000


def deviceSynchronize():
    pass
''',
}


@pytest.fixture
def fake_gpu(tmp_path, monkeypatch):
    """Workers started from here find an "H100" through the stand-in CuPy; Numba runs simulated."""
    from labkernels import build

    try:
        build._nvrtc()
    except Exception as e:  # the GPU branch builds cubins with NVRTC
        pytest.skip(f"needs NVRTC: {e}")
    site = tmp_path / "fake_site"
    for rel, text in FAKE_CUPY.items():
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_text(text.lstrip("\n"))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH")) if p))
    monkeypatch.setenv("NUMBA_ENABLE_CUDASIM", "1")
    monkeypatch.delenv("LABKERNELS_NO_GPU", raising=False)
    monkeypatch.delenv("FAKE_CUPY_FAIL", raising=False)
    monkeypatch.delenv("FAKE_CUPY_GPU", raising=False)
    monkeypatch.setattr(device, "gpu", lambda: H100)  # the grader's view: it lets the worker look
    return site


@pytest.fixture
def fake_t4(fake_gpu, monkeypatch):
    """The same, with an sm_75 GPU (Colab's T4): no int8 mma.sync m16n8k32."""
    monkeypatch.setenv("FAKE_CUPY_GPU", "t4")
    monkeypatch.setattr(device, "gpu", lambda: T4)
    return fake_gpu


def _small(ex_id, n_cases, perf=None):
    ex = grading.get(ex_id)
    return ex, dataclasses.replace(ex, cases=ex.cases[:n_cases], perf=perf)


def test_gpu_branch_ex01_solution_passes_and_is_timed(fake_gpu):
    ex, small = _small("ex01", 2, Perf({"N": 2, "K": 256}, target_pct=50.0, bound=memory_bound, iters=2, warmup=1))
    with Sandbox(ex, submission.from_text(SOL01.read_text(), ex), time_limit=TIME_LIMIT) as box:
        r = runner.run(small, box)
        cubins = list((box.work / ".cache").glob("timing-sm_90-*.cubin"))
    assert r.on_gpu and r.device == "GPU NVIDIA H100 80GB HBM3 (sm_90)", r.device
    assert all(t.passed and t.on_gpu for t in r.tests[:-1]), str(r)
    assert cubins, "prepare_timing built timing.cu for sm_90 into the sandbox's cache"
    perf = r.tests[-1]
    assert perf.on_gpu and perf.leaderboard and perf.leaderboard[0]["value"] > 0, perf.output
    assert "FLAGGED" not in perf.output and "over 2 calls on fresh inputs" in perf.output


def test_gpu_branch_ex02_loads_the_cubin_and_runs(fake_gpu):
    ex, small = _small("ex02", 3)
    with Sandbox(ex, submission.from_text(SOL02.read_text(), ex), time_limit=TIME_LIMIT) as box:
        r = runner.run(small, box)
    assert r.on_gpu and [t.status for t in r.tests] == ["passed"] * 5, str(r)
    assert all(t.on_gpu for t in r.tests[2:]), r.gpu_line()


def test_gpu_branch_an_output_larger_than_the_log_limit_comes_back(fake_gpu):
    """RLIMIT_FSIZE bounds every file the worker writes, not only its log: at 16 MiB, ex01's perf
    output (4096 x 4096 fp16, 32 MiB) could not have been written back on a GPU (EFBIG)."""
    from labkernels.grading.tasks.ex02_fp16_gemv import fp16_bound

    ex = grading.get("ex02")
    shape = {"M": 4, "N": (1 << 21) + 64, "K": 8}  # a 4 x N fp16 output: just over 16 MiB
    big = dataclasses.replace(ex, cases=(), perf=Perf(shape, target_pct=50.0, bound=fp16_bound, iters=1, warmup=1))
    with Sandbox(big, submission.from_text(SOL02.read_text(), ex), time_limit=TIME_LIMIT) as box:
        assert box.file_limit() > 4 * shape["N"] * 2 > 16 << 20
        perf = runner.run(big, box).tests[-1]
    assert perf.on_gpu and perf.leaderboard, perf.output
    ex01 = grading.get("ex01")
    with Sandbox(ex01, submission.from_text(SOL01.read_text(), ex01)) as box:
        assert box.file_limit() > 4096 * 4096 * 2  # ex01's own perf output


def test_gpu_branch_an_exception_reading_inputs_comes_back_with_its_traceback(fake_gpu, monkeypatch):
    """The H100 failure's shape (a TokenError escaping op_call while the inputs were read), reproduced."""
    monkeypatch.setenv("FAKE_CUPY_FAIL", "asarray")
    ex, small = _small("ex02", 1)
    with Sandbox(ex, submission.from_text(SOL02.read_text(), ex), time_limit=TIME_LIMIT) as box:
        r = runner.run(small, box)
    t = r.tests[2]
    assert t.status == "failed" and t.kind == "internal", str(r)
    out = t.output
    assert "TokenError: ('source code cannot contain null bytes', (1, 0))" in out
    assert "internal error of the grader's worker while reading the inputs the grader wrote" in out
    assert "Traceback (most recent call last)" in out and "in _arrays" in out
    assert f"{fake_gpu / 'cupy' / '__init__.py'}" in out and "in _stage_to_device" in out
    assert "hint: the grader's own worker failed" in out


def test_gpu_branch_an_exception_launching_comes_back_with_its_traceback(fake_gpu, monkeypatch):
    monkeypatch.setenv("FAKE_CUPY_FAIL", "kernel")
    ex, small = _small("ex02", 1)
    with Sandbox(ex, submission.from_text(SOL02.read_text(), ex), time_limit=TIME_LIMIT) as box:
        r = runner.run(small, box)
    t = r.tests[2]
    assert t.status == "failed" and t.kind == "raised", str(r)
    assert "RuntimeError: launching fp16_gemv_warp failed in the stand-in CuPy" in t.output
    assert "Traceback (most recent call last)" in t.output and "in gemv_warp" in t.output  # the launcher's frame


def test_an_input_that_changed_on_its_way_is_named_not_parsed(fake_gpu, monkeypatch):
    """A NUL-filled header (what the H100 run's TokenError points at) is caught by the SHA-256 check."""
    real = Sandbox._write_set

    def corrupt(self, inputs, out):
        spec = real(self, inputs, out)
        p = Path(spec["dir"]) / "in-packed.bin"
        data = p.read_bytes()
        p.write_bytes(b"\x93NUMPY\x01\x00v\x00" + b"\x00" * 16 + data[26:])
        return spec

    monkeypatch.setattr(Sandbox, "_write_set", corrupt)
    ex, small = _small("ex01", 1)
    with Sandbox(ex, submission.from_text(SOL01.read_text(), ex), time_limit=TIME_LIMIT) as box:
        r = runner.run(small, box)
    t = r.tests[0]
    assert t.kind == "internal" and "CorruptInput" in t.output, t.output
    assert "in-packed.bin is not what the grader wrote: it wrote 64 bytes with SHA-256" in t.output
    assert "they begin 93 4e 55 4d 50 59 01 00 76 00 00 00" in t.output
    assert "in read_array" in t.output


def test_worker_reads_back_exactly_what_the_grader_wrote(tmp_path):
    for a in (np.arange(12, dtype=np.float16).reshape(3, 4), np.zeros((0, 5), np.uint8),
              np.full((2, 3), np.nan, np.float16), np.arange(6, dtype=np.int32).reshape(2, 3)[:, ::2]):
        spec = write_array(tmp_path / "a.bin", a)
        got = worker.read_array(tmp_path / "a.bin", spec)
        assert got.dtype == a.dtype and got.shape == a.shape and got.tobytes() == np.ascontiguousarray(a).tobytes()
    spec = write_array(tmp_path / "a.bin", np.ones(4, np.float16))
    with open(tmp_path / "a.bin", "ab") as f:
        f.write(b"\x00")
    with pytest.raises(worker.CorruptInput, match="it wrote 8 bytes .* the file has 9 bytes"):
        worker.read_array(tmp_path / "a.bin", spec)


def test_a_result_file_that_is_not_the_output_is_refused_not_parsed(tmp_path):
    """The grader reads the result as raw bytes of the dtype and shape it chose: nothing in the file
    can raise in the grader (np.load of a crafted header could raise TokenError, which it did not catch)."""
    like = np.full((2, 4), np.nan, np.float16)
    meta = {"dtype": "<f2", "shape": [2, 4]}
    read = Sandbox._read_result
    assert read(tmp_path, like, meta) is None  # no file
    header = b"\x93NUMPY\x01\x00v\x00{'descr': '<f2', 'shape': (2,\x00\x00" + b" " * 80 + b"\n"
    for data in (header + like.tobytes(), b"", like.tobytes()[:-1], like.tobytes() + b"x"):
        (tmp_path / RESULT).write_bytes(data)
        assert read(tmp_path, like, meta) is None
    want = np.arange(8, dtype=np.float16).reshape(2, 4)
    (tmp_path / RESULT).write_bytes(want.tobytes())
    assert np.array_equal(read(tmp_path, like, meta), want)
    for bad in (None, {"dtype": "<f4", "shape": [2, 4]}, {"dtype": "<f2", "shape": [8]}, "x"):
        assert read(tmp_path, like, bad) is None


def test_traceback_tail_keeps_the_last_lines_and_never_raises():
    src = "def f0():\n    raise ValueError('at the bottom')\n" + "".join(
        f"def f{i}():\n    f{i - 1}()\n" for i in range(1, 40))
    ns = {}
    exec(compile(src, "<deep>", "exec"), ns)  # 40 distinct frames (a recursion would be folded)
    try:
        ns["f39"]()
    except ValueError as e:
        tail = worker.traceback_tail(e)
    rows = tail.splitlines()
    assert len(rows) == worker.TRACEBACK_LINES + 1 and rows[0].startswith("... (") and "earlier lines" in rows[0]
    assert rows[-1] == "ValueError: at the bottom" and rows[-2].endswith("in f0")

    class Unprintable(Exception):
        def __str__(self):
            raise RuntimeError("no")

    try:
        raise Unprintable()
    except Unprintable as e:
        assert "Unprintable" in worker.traceback_tail(e)
        assert worker._message(e).startswith("Unprintable: <str() of the exception failed")
    assert "null bytes" in worker.traceback_tail(tokenize.TokenError("source code cannot contain null bytes", (1, 0)))


# --------------------------------------------------------------------------
# ex06 and ex07: their cubins load on an "H100"; ex07 on an sm_75 GPU says the GPU is too old.
# --------------------------------------------------------------------------


@pytest.mark.parametrize("ex_id, sol", [("ex06", SOL06), ("ex07", SOL07)])
def test_gpu_branch_int8_exercises_load_their_cubins_and_run(fake_gpu, ex_id, sol):
    """Built for sm_90 into a cubin, loaded, launched by the grader's launcher (the stand-in checks that
    its grid covers Y and computes A8W8 in NumPy: plumbing, not the kernel's numerics)."""
    ex, small = _small(ex_id, 3)
    with Sandbox(ex, submission.from_text(sol.read_text(), ex), time_limit=TIME_LIMIT) as box:
        r = runner.run(small, box)
    assert r.on_gpu and all(t.passed for t in r.tests), str(r)
    assert all(t.on_gpu for t in r.tests[len(ex.static):]) and "needs" not in r.gpu_line(), r.gpu_line()


def test_gpu_branch_ex07_on_an_sm75_gpu_says_the_gpu_is_too_old(fake_t4):
    """On a T4 the compile checks (sm_80, sm_90) still count; every numeric test says why it did not run,
    scores 0 and is never "failed" for the kernel's sake; nothing is built for sm_75 (ptxas would refuse
    m16n8k32 there, and the tests would read "does not compile")."""
    ex = grading.get("ex07")
    with Sandbox(ex, submission.from_text(SOL07.read_text(), ex), time_limit=TIME_LIMIT) as box:
        r = runner.run(ex, box)
    static, cases = r.tests[:len(ex.static)], r.tests[len(ex.static):]
    assert [t.status for t in static] == ["passed"] * len(ex.static), str(r)
    assert len(cases) == len(ex.cases) and r.device == "GPU Tesla T4 (sm_75)", str(r)
    for t in cases:
        assert t.status == "needs_gpu" and t.kind == "needs_arch" and t.score == 0 and t.on_gpu is None, str(r)
        assert "needs mma.sync s8 m16n8k32 (sm_80+); this GPU is GPU Tesla T4 (sm_75): not run here" in t.output
        assert "hint: this GPU lacks an instruction the exercise is about" in t.output
    assert not r.failed and not r.passed and r.score == len(ex.static)
    assert "could not run on this GPU (needs a newer one, scored 0): ex07 M=16 N=8 K=32" in r.gpu_line()
    res = gradescope.results_json(r)
    assert all(t["status"] == "failed" and "needs-gpu" in t["tags"] and t["extra_data"]["failure"] == "needs_arch"
               for t in res["tests"][len(ex.static):])


def test_gpu_branch_ex06_runs_on_the_same_sm75_gpu(fake_t4):
    """dp4a is sm_61+: ex06 builds for the T4 (sm_75) and runs there."""
    ex, small = _small("ex06", 2)
    with Sandbox(ex, submission.from_text(SOL06.read_text(), ex), time_limit=TIME_LIMIT) as box:
        r = runner.run(small, box)
    assert r.on_gpu and r.device == "GPU Tesla T4 (sm_75)" and all(t.passed for t in r.tests), str(r)


def test_perf_on_a_gpu_without_the_capability_is_not_timed():
    """A performance test of an exercise whose cases need sm_80 is not timed on a T4, and says why."""
    from labkernels.grading.tasks._a8w8 import a8w8_bound

    ex = grading.get("ex07")
    small = dataclasses.replace(ex, static=(), cases=ex.cases[:1],
                                perf=Perf(ex.cases[0].shape, target_pct=50.0, bound=a8w8_bound, iters=1, warmup=1))

    class T4Target:
        def start(self):
            return {"ok": True, "gpu": True, "cc": [7, 5], "device": "GPU Tesla T4 (sm_75)", "gpu_name": "Tesla T4"}

        def call(self, inputs, out):
            raise AssertionError("a test this GPU cannot run was run")

        time = call

    r = runner.run(small, T4Target())
    assert [(t.status, t.kind) for t in r.tests] == [("needs_gpu", "needs_arch")] * 2, str(r)
    assert r.tests[1].output.startswith("not timed: needs mma.sync s8 m16n8k32 (sm_80+)")

