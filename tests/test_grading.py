"""The grader is tested: solutions pass, stubs score 0, known-wrong and adversarial submissions fail.

Without a GPU the Numba exercise (ex01) runs in the CUDA simulator and the
CUDA C exercise (ex02) is only compiled. One batch grades every ex01
submission below in parallel (module fixture); the tests then read its
results. Each adversarial submission is the solution file with its kernel
body (the solution region) replaced, so they track the solution.

Races: the simulator runs a block's threads one after another, in order, so
a race shows only when the reader runs before the writer. ``race`` has the
*last* threads of a block stage the scales in shared memory and omits the
barrier, which the simulator exposes every time (and a GPU nearly always);
``race_fixed`` adds the barrier and passes. A race between threads that the
simulator happens to run in a safe order is not detected here; that is the
job of compute-sanitizer's racecheck on a GPU (issue 8).
"""
import csv
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from labkernels import grading
from labkernels.grading import batch, gradescope, ipynb, markers, runner, submission
from labkernels.grading.exercise import Perf
from labkernels.grading.sandbox import Sandbox

ROOT = Path(__file__).resolve().parents[1]
SOL01 = ROOT / "solutions" / "ex01_unpack_int4.py"
SOL02 = ROOT / "solutions" / "ex02_fp16_gemv.cu"
TIME_LIMIT = 5.0  # seconds per kernel call: the slowest simulator call here takes under one

_CORRECT_STORES = """\
        out[n, 2 * j] = float32(int(b & 0xF) - 8) * s
        out[n, 2 * j + 1] = float32(int(b >> 4) - 8) * s"""

# name -> (kernel body, code after the numba import, code at the end of the file)
ADVERSARIES = {
    # computes everything and stores nothing: the NaN poison catches it
    "empty": ("""
    if n < packed.shape[0] and j < packed.shape[1]:
        b = packed[n, j]
        s = float32(scales[n, (2 * j) // GROUP])
        lo = float32(int(b & 0xF) - 8) * s
""", "", ""),
    # bf16 where fp16 is asked: 8 significant bits instead of 11
    "low_precision": ("""
    if n < packed.shape[0] and j < packed.shape[1]:
        b = packed[n, j]
        s = float32(scales[n, (2 * j) // GROUP])
        out[n, 2 * j] = _bf16(float32(int(b & 0xF) - 8) * s)
        out[n, 2 * j + 1] = _bf16(float32(int(b >> 4) - 8) * s)
""", "import math\n", """

@nb.jit(device=True)
def _bf16(x):
    m, e = math.frexp(x)  # x rounded to bfloat16's 8 significant bits
    return math.ldexp(round(m * 256.0) / 256.0, e)
"""),
    # no tail guard: threads past the end of a row read and write out of bounds
    "no_tail_guard": ("""
    b = packed[n, j]
    s = float32(scales[n, (2 * j) // GROUP])
""" + _CORRECT_STORES.replace("        ", "    ") + "\n", "", ""),
    # the block's last two threads stage its two scales in shared memory; no barrier before the reads
    "race": ("""
    sh = nb.shared.array(2, float32)
    t = nb.threadIdx.x
    last = nb.blockDim.x - 2
    if t >= last and n < scales.shape[0] and nb.blockIdx.x * 2 + (t - last) < scales.shape[1]:
        sh[t - last] = float32(scales[n, nb.blockIdx.x * 2 + (t - last)])
    if n < packed.shape[0] and j < packed.shape[1]:
        b = packed[n, j]
        s = sh[t // 64]
""" + _CORRECT_STORES + "\n", "", ""),
    # looks for the reference or the seed in the grader's modules, objects and frames
    "inspects_grader": ("""
    if j == 0 and n == 0:
        import gc
        import sys
        found = None
        try:
            from labkernels.grading import exercise  # noqa: F401
        except ImportError:
            pass
        for obj in gc.get_objects():
            if isinstance(obj, np.ndarray) and obj.dtype == np.float64 and obj.shape == out.shape:
                found = obj
        f = sys._getframe()
        while f is not None:
            for k in ("ref", "reference", "seed", "expected"):
                if k in f.f_locals:
                    found = f.f_locals[k]
            f = f.f_back
        if found is not None:
            for a in range(out.shape[0]):
                for c in range(out.shape[1]):
                    out[a, c] = found[a, c]
""", "import numpy as np\n", ""),
    # imports the grader's exercise definition to call its reference
    "imports_grader": ("    pass\n", "from labkernels.grading.tasks.ex01_unpack_int4 import reference  # noqa\n", ""),
    # imports the lab's reference codec inside the kernel
    "imports_reference": ("""
    if j == 0 and n == 0:
        from labkernels.formats import dequantize_int  # noqa: F401
""", "", ""),
    # caches every answer by position and replays it on later calls: right once, then wrong
    "replays_first_answer": ("""
    if n < packed.shape[0] and j < packed.shape[1]:
        if _MEMO[n, 2 * j] == _MEMO[n, 2 * j]:
            out[n, 2 * j] = _MEMO[n, 2 * j]
            out[n, 2 * j + 1] = _MEMO[n, 2 * j + 1]
        else:
            b = packed[n, j]
            s = float32(scales[n, (2 * j) // GROUP])
            _MEMO[n, 2 * j] = float32(int(b & 0xF) - 8) * s
            _MEMO[n, 2 * j + 1] = float32(int(b >> 4) - 8) * s
            out[n, 2 * j] = _MEMO[n, 2 * j]
            out[n, 2 * j + 1] = _MEMO[n, 2 * j + 1]
""", "import numpy as np\n_MEMO = np.full((64, 4096), np.nan)\n", ""),
    # patches what a checker might use, in its own process: the comparison is elsewhere
    "patches_checker": ("    pass\n", """import numpy as _np
_np.isfinite = lambda a: _np.ones(_np.shape(a), bool)
_np.isnan = lambda a: _np.zeros(_np.shape(a), bool)
_np.allclose = lambda *a, **k: True
""", ""),
    "raises": ("""
    raise RuntimeError("the kernel gave up")
""", "", ""),
    "hangs": ("""
    while True:
        pass
""", "", ""),
    "prints_megabytes": ("""
    if j == 0 and n == 0:
        print("x" * 3_000_000)
    if n < packed.shape[0] and j < packed.shape[1]:
        b = packed[n, j]
        s = float32(scales[n, (2 * j) // GROUP])
""" + _CORRECT_STORES + "\n", "", ""),
    # dies in native code (what an illegal address does to a GPU process)
    "segfaults": ("""
    import ctypes
    ctypes.string_at(0)
""", "", ""),
    "syntax_error": ("""
    if n < packed.shape[0]
        pass
""", "", ""),
    # a plain Python function where a @cuda.jit kernel is asked for (it would compute on the host)
    "not_a_kernel": ("    pass\n", "", """

def unpack_int4_kernel(packed, scales, out):
    out[...] = 0
"""),
}

#: the failure class each one must be recorded with, on the first test (a set: any of them)
EXPECTED_KIND = {
    "empty": {"empty"}, "low_precision": {"precision"}, "no_tail_guard": {"index"},
    "race": {"wrong", "nondeterministic", "partial", "nonfinite"}, "inspects_grader": {"empty"},
    "imports_grader": {"load"}, "imports_reference": {"raised"}, "replays_first_answer": {"wrong"},
    "patches_checker": {"empty"}, "raises": {"raised"}, "hangs": {"timeout"}, "prints_megabytes": {"output"},
    "segfaults": {"crash"}, "syntax_error": {"load"}, "not_a_kernel": {"missing"},
}


def with_body(body: str, top: str = "", bottom: str = "", text: str | None = None) -> str:
    """The ex01 solution with its kernel body replaced."""
    text = text if text is not None else SOL01.read_text()
    r = markers.find_regions(text, "python")[0]
    lines = text.splitlines()
    out = "\n".join(lines[:r.start] + body.strip("\n").splitlines() + lines[r.end + 1:]) + "\n"
    return out.replace("from numba import float32\n", "from numba import float32\n" + top, 1) + bottom


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Every ex01 submission graded in one batch (two at a time): {id: (results dict, GradeResult-ish)}."""
    d = tmp_path_factory.mktemp("ex01_subs")
    paths = [SOL01, ROOT / "solutions" / "ex01_unpack_int4.ipynb", ROOT / "exercises" / "ex01_unpack_int4.py",
             ROOT / "exercises" / "ex01_unpack_int4.ipynb"]
    ids = ["sol_py", "sol_nb", "stub_py", "stub_nb"]
    folders = []
    for i, p in zip(ids, paths):  # a folder per submission, the way Gradescope unpacks them
        (d / i).mkdir()
        (d / i / p.name).write_bytes(p.read_bytes())
        folders.append(d / i)
    for name, (body, top, bottom) in ADVERSARIES.items():
        (d / name).mkdir()
        (d / name / "ex01_unpack_int4.py").write_text(with_body(body, top, bottom))
        folders.append(d / name)
    out = tmp_path_factory.mktemp("ex01_results")
    res = batch.grade(folders, out, exercise="ex01", jobs=2, time_limit=TIME_LIMIT)
    return {f.name: json.loads((out / f.name / "results.json").read_text()) for f in folders}, res, out


def _scored(results):
    """Tests that could run here (not those needing a GPU)."""
    return [t for t in results["tests"] if "needs-gpu" not in t.get("tags", [])]


@pytest.mark.parametrize("sid", ["sol_py", "sol_nb"])
def test_solution_passes_every_test_it_can_run(graded, sid):
    r = graded[0][sid]
    runnable = _scored(r)
    assert len(runnable) == 4 and all(t["status"] == "passed" for t in runnable), json.dumps(r, indent=1)
    assert r["score"] == sum(t["max_score"] for t in runnable)
    assert any(t["visibility"] == "after_published" and "(hidden)" in t["name"] for t in runnable)
    perf = [t for t in r["tests"] if "needs-gpu" in t.get("tags", [])]
    assert len(perf) == 1 and perf[0]["score"] == 0 and perf[0]["status"] == "failed"
    assert "could not run (needs a GPU, scored 0): ex01 performance" in r["output"]
    assert "ran on a GPU: none" in r["output"]


@pytest.mark.parametrize("sid", ["stub_py", "stub_nb"])
def test_generated_stub_fails_cleanly_with_zero(graded, sid):
    r = graded[0][sid]
    assert r["score"] == 0 and all(t["status"] == "failed" for t in r["tests"])
    for t in _scored(r):
        assert "outputs wrong" in t["output"] and "hint: no output was written" in t["output"]


@pytest.mark.parametrize("name", list(ADVERSARIES))
def test_known_wrong_submission_scores_zero_with_a_reason(graded, name):
    r = graded[0][name]
    assert r["score"] == 0, json.dumps(r, indent=1)
    tests = _scored(r)
    assert all(t["status"] == "failed" and t["output"].strip() for t in tests)
    assert all("hint:" in t["output"] or "not run" in t["output"] for t in tests), json.dumps(r, indent=1)
    out = "\n".join(t["output"] for t in tests)
    reasons = {
        "empty": "never written", "low_precision": "hint: compute (q - 8) * scale in float32",
        "no_tail_guard": "IndexError", "race": "outputs wrong", "inspects_grader": "never written",
        "imports_grader": "may not import labkernels.grading.tasks", "imports_reference":
        "may not import labkernels.formats", "replays_first_answer": "does the kernel reuse an earlier answer?",
        "patches_checker": "never written", "raises": "RuntimeError", "hangs": "time limit of 5 s",
        "prints_megabytes": "printed 3000001 bytes, more than the limit", "segfaults": "SIGSEGV",
        "syntax_error": "SyntaxError", "not_a_kernel": "must be a Numba kernel",
    }
    assert reasons[name] in out, out


def test_failure_classes_and_outputs(graded):
    for name, kinds in EXPECTED_KIND.items():
        first = _scored(graded[0][name])[0]
        assert first["extra_data"]["failure"] in kinds, (name, first)
    syntax = "\n".join(t["output"] for t in graded[0]["syntax_error"]["tests"])
    line = markers.find_regions(SOL01.read_text(), "python")[0].start + 1  # the body's first line
    assert f'File "ex01_unpack_int4.py", line {line}' in syntax  # the student's own file and line
    hang = graded[0]["hangs"]["tests"]
    assert "not run: an earlier test hit the time limit" in hang[1]["output"]  # one hang costs one limit
    big = json.dumps(graded[0]["prints_megabytes"])
    assert len(big) < 20000, "megabytes of output must not reach results.json"
    assert "xxxxxxxxxx" not in big
    assert "the process was killed by SIGSEGV" in graded[0]["segfaults"]["tests"][1]["output"]  # restarted, ran


def test_batch_summary_csv_and_state(graded):
    _, res, out = graded
    assert res.complete and not res.restored and len(res.graded) == 4 + len(ADVERSARIES)
    rows = list(csv.DictReader((out / "summary.csv").open()))
    assert [r["submission"] for r in rows] == ["sol_py", "sol_nb", "stub_py", "stub_nb", *ADVERSARIES]
    assert {r["status"] for r in rows} == {"graded"}
    by = {r["submission"]: r for r in rows}
    assert by["sol_py"]["score"] == "4" and by["sol_py"]["max_score"] == "5" and by["sol_py"]["needs_gpu"] == "1"
    assert by["hangs"]["score"] == "0"
    state = json.loads((out / batch.STATE).read_text())
    assert set(state["done"]) == set(by)


def test_results_json_is_gradescope_format(graded):
    r = graded[0]["sol_py"]
    assert set(r) >= {"score", "max_score", "output", "tests", "leaderboard", "visibility", "stdout_visibility"}
    for t in r["tests"]:
        assert set(t) >= {"name", "score", "max_score", "status", "output", "visibility"}
        assert t["status"] in ("passed", "failed") and t["visibility"] in gradescope.VISIBILITIES
    assert r["leaderboard"] == []  # no GPU: nothing timed


# --------------------------------------------------------------------------
# In-notebook checks.
# --------------------------------------------------------------------------


def _load_solution(text: str, name: str, where: Path):
    """Import a submission's text as a module, the way a notebook holds the student's kernel."""
    import importlib.util
    import sys

    p = where / f"{name}.py"
    p.write_text(text)
    spec = importlib.util.spec_from_file_location(name, p)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def test_check_in_notebook_prints_pass_lines(capsys, tmp_path):
    mod = _load_solution(SOL01.read_text(), "_sol01", tmp_path)
    r = grading.check("ex01", mod.unpack_int4_kernel, seed=7)
    out = capsys.readouterr().out
    assert r.score == 3 and not r.failed and "(hidden)" not in out
    assert out.count("PASS") == 3 and "NEEDS GPU ex01 performance" in out
    assert "ran without a GPU (simulator or compiler)" in out and "3/4 points" in out


def test_check_in_notebook_explains_a_failure(capsys, tmp_path):
    body = ADVERSARIES["no_tail_guard"][0]
    mod = _load_solution(with_body(body), "_tail01", tmp_path)
    ex = grading.get("ex01")
    r = runner.run(dataclasses.replace(ex, cases=ex.cases[:1], perf=None), runner.InProcess(ex, mod.unpack_int4_kernel),
                   on_test=lambda t: print(t.line()))
    out = capsys.readouterr().out
    assert not r and "FAIL" in out and "IndexError" in out and "hint: out of bounds" in out


def test_wrong_dtype_or_shape_from_a_launcher_fails_with_the_reason():
    ex = grading.get("ex01")
    one = dataclasses.replace(ex, cases=ex.cases[:1], perf=None)

    def f32(packed, scales, out):
        return np.zeros(out.shape, np.float32)

    def small(packed, scales, out):
        return out[:, :2]

    r = runner.run(one, runner.InProcess(one, f32))
    assert "output dtype float32, expected float16" in r.tests[0].output
    r = runner.run(one, runner.InProcess(one, small))
    assert "output shape (1, 2), expected (1, 128)" in r.tests[0].output


def test_race_fixed_by_a_barrier_passes(tmp_path):
    guard = "    if n < packed.shape[0] and j < packed.shape[1]:\n"
    body = ADVERSARIES["race"][0].replace(guard, "    nb.syncthreads()\n" + guard, 1)
    mod = _load_solution(with_body(body), "_race01", tmp_path)
    ex = grading.get("ex01")
    r = runner.run(dataclasses.replace(ex, cases=ex.cases[:2], perf=None), runner.InProcess(ex, mod.unpack_int4_kernel))
    assert r.passed, str(r)


def test_check_a_source_runs_in_a_separate_process(capsys):
    r = grading.check("ex02", str(SOL02), hidden=True)
    out = capsys.readouterr().out
    assert [t.status for t in r.tests] == ["passed", "passed"] + ["needs_gpu"] * 5
    assert "PASS" in out and "NEEDS GPU" in out and "could not run (needs a GPU, scored 0)" in out
    assert not r.passed and not r.failed and r.score == 2  # needs-GPU tests are never "passed"


def test_notebook_submission_with_a_bare_check_cell_and_magics(tmp_path):
    """A notebook's own check cell and its shell lines do not run while grading; errors point at cells."""
    nb = ipynb.read(ROOT / "solutions" / "ex01_unpack_int4.ipynb")
    nb["cells"].insert(1, ipynb.code_cell("!pip install labkernels\n%load_ext autoreload"))
    nb["cells"][-1] = ipynb.code_cell('from labkernels import grading\ngrading.check("ex01", unpack_int4_kernel)')
    ex = grading.get("ex01")
    one = dataclasses.replace(ex, cases=ex.cases[:1], perf=None)
    src = submission.from_notebook(nb, ex, "bob.ipynb")
    with Sandbox(ex, src, time_limit=TIME_LIMIT) as box:
        r = runner.run(one, box)
    assert r.passed, str(r)
    assert "labkernels.grading.check is skipped while the grader runs this file" in r.printed
    k = next(i for i, c in enumerate(nb["cells"]) if "def unpack_int4_kernel" in ipynb.source(c))
    nb["cells"][k] = ipynb.code_cell("@nb.jit\ndef unpack_int4_kernel(packed, scales, out)\n    pass")
    with Sandbox(ex, submission.from_notebook(nb, ex, "bob.ipynb")) as box:
        r = runner.run(one, box)
    assert "SyntaxError" in r.load_error and f'File "bob.ipynb, cell {k + 1}, line 2"' in r.load_error, r.load_error


def test_a_file_that_hangs_while_loading_is_stopped(tmp_path):
    ex = grading.get("ex01")
    src = submission.from_text(SOL01.read_text().replace("GROUP = 128", "GROUP = 128\nwhile True:\n    pass", 1), ex)
    with Sandbox(ex, src, load_time_limit=2) as box:
        r = runner.run(dataclasses.replace(ex, perf=None), box, hidden=False)
        assert box.proc is None  # killed
    assert r.score == 0 and all(t.kind == "timeout" for t in r.tests)
    assert "loading the submission: did not finish within the time limit of 2 s" in r.tests[0].output


def test_check_bad_arguments():
    with pytest.raises(ValueError, match="unknown exercise 'ex99'"):
        grading.check("ex99", print)
    with pytest.raises(TypeError, match="exercise must be an exercise id"):
        grading.check(1, print)
    with pytest.raises(TypeError, match="ex02_fp16_gemv is CUDA C: pass the path"):
        grading.check("ex02", print)
    with pytest.raises(TypeError, match="student must be a @cuda.jit kernel"):
        grading.check("ex01", 42)
    with pytest.raises(FileNotFoundError, match="no file 'missing.cu'"):
        grading.check("ex02", "missing.cu")
    with pytest.raises(TypeError, match="hidden must be a bool"):
        grading.check("ex01", print, hidden="yes")


# --------------------------------------------------------------------------
# CUDA C: compiled without a GPU, never "passed" numerically.
# --------------------------------------------------------------------------


def test_cuda_submissions_batch(tmp_path):
    sol = SOL02.read_text()
    bad = sol.replace("const int lane = threadIdx.x & 31;", "const int lane = threadIdx.x & 31", 1)
    (tmp_path / "ex02_good.cu").write_text(sol)
    (tmp_path / "ex02_stub.cu").write_text((ROOT / "exercises" / "ex02_fp16_gemv.cu").read_text())
    (tmp_path / "ex02_typo.cu").write_text(bad)
    nb = {"cells": [ipynb.markdown_cell("my answer"), ipynb.code_cell("%%writefile ex02_fp16_gemv.cu\n" + bad),
                    ipynb.code_cell("!python ex02_fp16_gemv.py")], "metadata": {"labkernels": {"exercise": "ex02"}},
          "nbformat": 4, "nbformat_minor": 5}
    (tmp_path / "alice.ipynb").write_text(ipynb.dumps(nb))
    subs = [tmp_path / n for n in ("ex02_good.cu", "ex02_stub.cu", "ex02_typo.cu", "alice.ipynb")]
    res = batch.grade(subs, tmp_path / "out")
    r = {s.stem: json.loads((tmp_path / "out" / s.stem / "results.json").read_text()) for s in subs}
    good = r["ex02_good"]
    assert [t["status"] for t in good["tests"][:2]] == ["passed", "passed"] and good["score"] == 2
    assert all("needs-gpu" in t["tags"] and t["score"] == 0 for t in good["tests"][2:])
    assert "needs a GPU: numerics not checked here" in good["tests"][2]["output"]
    assert r["ex02_stub"]["score"] == 0 and "PTX has no st.global" in r["ex02_stub"]["tests"][0]["output"]
    typo = r["ex02_typo"]["tests"][0]["output"]
    assert typo.startswith("does not compile") and 'ex02_typo.cu(46): error: expected a ";"' in typo
    assert "alice.ipynb, cell 2, line 47: error" in r["alice"]["tests"][0]["output"]  # the notebook's own cell
    assert "not run: the kernel does not compile" in r["alice"]["tests"][2]["output"]
    assert res.complete


# --------------------------------------------------------------------------
# Batch bookkeeping: resume, force, tampering, interruption, bad input.
# --------------------------------------------------------------------------


def _two_cuda(tmp_path):
    a, b = tmp_path / "ex02_a.cu", tmp_path / "ex02_b.cu"
    a.write_text(SOL02.read_text())
    b.write_text((ROOT / "exercises" / "ex02_fp16_gemv.cu").read_text())
    return [a, b]


def test_rerun_skips_finished_and_regrades_changed_or_tampered(tmp_path):
    subs, out = _two_cuda(tmp_path), tmp_path / "out"
    first = batch.grade(subs, out, perf=False)
    assert first.graded == ["ex02_a", "ex02_b"]
    again = batch.grade(subs, out, perf=False)
    assert again.graded == [] and again.skipped == ["ex02_a", "ex02_b"] and again.complete
    (out / "ex02_a" / "results.json").write_text('{"score": 100}')  # not written by the grader: not finished
    subs[1].write_text(SOL02.read_text())  # a resubmission: regraded
    third = batch.grade(subs, out, perf=False)
    assert third.graded == ["ex02_a", "ex02_b"]
    assert json.loads((out / "ex02_a" / "results.json").read_text())["score"] == 2
    assert json.loads((out / "ex02_b" / "results.json").read_text())["score"] == 2
    assert batch.grade(subs, out, force=True, perf=False).graded == ["ex02_a", "ex02_b"]
    assert batch.grade(subs, out, perf=False, hidden=False).graded == ["ex02_a", "ex02_b"]  # other options


def test_interrupted_batch_keeps_what_finished(tmp_path, monkeypatch):
    subs, out = _two_cuda(tmp_path), tmp_path / "out"
    real = batch.grade_one

    def interrupt_second(path, *a, **k):
        if Path(path).name == "ex02_b.cu":
            raise KeyboardInterrupt
        return real(path, *a, **k)

    monkeypatch.setattr(batch, "grade_one", interrupt_second)
    with pytest.raises(KeyboardInterrupt):
        batch.grade(subs, out, perf=False)
    rows = {r["submission"]: r for r in csv.DictReader((out / "summary.csv").open())}
    assert rows["ex02_a"]["status"] == "graded" and rows["ex02_b"]["status"] == "pending"
    assert (out / "ex02_a" / "results.json").is_file() and not (out / "ex02_b").exists()
    assert not list(out.rglob("*.tmp*")), "no temporary file is left behind"
    monkeypatch.setattr(batch, "grade_one", real)
    res = batch.grade(subs, out, perf=False)
    assert res.skipped == ["ex02_a"] and res.graded == ["ex02_b"] and res.complete


def test_internal_error_is_recorded_and_retried(tmp_path, monkeypatch):
    subs, out = _two_cuda(tmp_path), tmp_path / "out"
    real = batch.grade_one

    def broken(path, *a, **k):
        if Path(path).name == "ex02_a.cu":
            raise RuntimeError("grader bug")
        return real(path, *a, **k)

    monkeypatch.setattr(batch, "grade_one", broken)
    res = batch.grade(subs, out, perf=False)
    assert res.row("ex02_a")["status"] == "error" and res.row("ex02_b")["status"] == "graded" and not res.complete
    assert "internal grader error" in json.loads((out / "ex02_a" / "results.json").read_text())["output"]
    monkeypatch.setattr(batch, "grade_one", real)
    assert batch.grade(subs, out, perf=False).graded == ["ex02_a"]


def test_a_submission_that_writes_the_results_files_changes_nothing(tmp_path):
    out = tmp_path / "out"
    forger = with_body("""
    if j == 0 and n == 0:
        _forge()
""", top=f"""import json as _json
import os as _os
_OUT = {str(out)!r}


def _forge():
    for root, dirs, files in _os.walk(_OUT):
        for f in files:
            with open(_os.path.join(root, f), "w") as fh:
                fh.write(_json.dumps({{"score": 100, "max_score": 1, "tests": []}}))
    _os.makedirs(_os.path.join(_OUT, "ex01_forger"), exist_ok=True)
    with open(_os.path.join(_OUT, "ex01_forger", "results.json"), "w") as fh:
        fh.write(_json.dumps({{"score": 100}}))


_forge()
""")
    (tmp_path / "ex01_forger.py").write_text(forger)
    (tmp_path / "ex02_first.cu").write_text(SOL02.read_text())
    res = batch.grade([tmp_path / "ex02_first.cu", tmp_path / "ex01_forger.py"], out, time_limit=TIME_LIMIT,
                      hidden=False)
    assert "ex02_first" in res.restored
    first = json.loads((out / "ex02_first" / "results.json").read_text())
    forged = json.loads((out / "ex01_forger" / "results.json").read_text())
    assert first["score"] == 2 and len(first["tests"]) == 6
    assert forged["score"] == 0 and forged["max_score"] == 4
    rows = list(csv.DictReader((out / "summary.csv").open()))
    assert [(r["submission"], r["score"]) for r in rows] == [("ex02_first", "2"), ("ex01_forger", "0")]
    again = batch.grade([tmp_path / "ex02_first.cu", tmp_path / "ex01_forger.py"], out, hidden=False)
    assert again.skipped == ["ex02_first", "ex01_forger"]


def test_unreadable_submissions_are_recorded_and_the_batch_goes_on(tmp_path):
    (tmp_path / "ex01_notes.txt").write_text("hello")
    two = tmp_path / "ex01_two"
    two.mkdir()
    (two / "a.py").write_text("x = 1")
    (two / "b.py").write_text("x = 2")
    (tmp_path / "ex02_broken.ipynb").write_text("{not json")
    (tmp_path / "ex02_ok.cu").write_text(SOL02.read_text())
    subs = [tmp_path / n for n in ("ex01_notes.txt", "ex01_two", "ex02_broken.ipynb", "ex02_ok.cu")]
    res = batch.grade(subs, tmp_path / "out", perf=False)
    st = {r["submission"]: r["status"] for r in res.rows}
    assert st == {"ex01_notes": "unreadable", "ex01_two": "unreadable", "ex02_broken": "unreadable",
                  "ex02_ok": "graded"}
    r = json.loads((tmp_path / "out" / "ex01_two" / "results.json").read_text())
    assert r["score"] == 0 and "must hold ex01_unpack_int4.py (or exactly one" in r["output"]
    r = json.loads((tmp_path / "out" / "ex01_notes" / "results.json").read_text())
    assert "takes a .py or .ipynb file, not .txt" in r["output"]
    assert res.complete


def test_batch_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="submissions must name at least one"):
        batch.grade([], tmp_path)
    with pytest.raises(ValueError, match="jobs must be a positive integer"):
        batch.grade([SOL02], tmp_path, jobs=0)
    with pytest.raises(ValueError, match="hidden_visibility must be one of"):
        batch.grade([SOL02], tmp_path, hidden_visibility="secret")
    with pytest.raises(ValueError, match="unknown exercise"):
        batch.grade([SOL02], tmp_path, exercise="ex77")
    with pytest.raises(ValueError, match="cannot tell which exercise"):
        submission.load(SOL02.parent.parent / "README.md")
    ex = grading.get("ex02")
    src = submission.from_text("x", ex)
    with pytest.raises(ValueError, match="time_limit must be a positive number"):
        Sandbox(ex, src, time_limit=-1)
    with pytest.raises(TypeError, match="source must be a"):
        Sandbox(ex, "text")
    assert batch.submission_ids([Path("a/x.py"), Path("b/x.py"), Path("c/y.ipynb")]) == ["a_x", "b_x", "y"]


def test_cli_grade(tmp_path, capsys):
    from labkernels.grading import cli

    (tmp_path / "ex02_s.cu").write_text(SOL02.read_text())
    assert cli.main(["grade", str(tmp_path / "ex02_s.cu"), "--out", str(tmp_path / "o"), "--no-perf"]) == 0
    out = capsys.readouterr().out
    assert "ex02_s: ex02_fp16_gemv (ex02_s): 2/10 points" in out and "summary:" in out
    assert cli.main(["grade", str(tmp_path / "ex02_s.cu"), "--out", str(tmp_path / "o"), "--jobs", "0"]) == 2
    assert cli.main(["grade", str(tmp_path / "ex02_s.cu")]) == 2  # no --out
    gs = tmp_path / "autograder" / "results.json"
    assert cli.main(["grade", str(tmp_path / "ex02_s.cu"), "--gradescope-results", str(gs), "--no-perf"]) == 0
    assert json.loads(gs.read_text())["score"] == 2


# --------------------------------------------------------------------------
# Performance scoring (the GPU path, driven by a stand-in target on the CPU).
# --------------------------------------------------------------------------


class _FakeGPU:
    """Answers right (or replays) and reports chosen times, as a worker on an H100 would."""

    def __init__(self, ex, time_us, replay=False):
        self.ex, self.time_us, self.replay, self.first = ex, time_us, replay, None

    def start(self):
        return {"ok": True, "gpu": True, "device": "GPU NVIDIA H100 80GB HBM3 (sm_90)",
                "gpu_name": "NVIDIA H100 80GB HBM3"}

    def _answer(self, inputs):
        return self.ex.task.reference(inputs).astype(self.ex.task.out_dtype)

    def call(self, inputs, out):
        return runner.Outcome(True, results=[self._answer(inputs)])

    def time(self, sets, outs, warmup):
        res = [self._answer(s) for s in sets]
        if self.replay:  # fast only after the first call: replays the warm-up answer
            res = [res[0]] * len(res)
        return runner.Outcome(True, results=res, times_us=[self.time_us] * (len(sets) - warmup))


def _perf_exercise():
    ex = grading.get("ex01")
    from labkernels.grading.tasks.ex01_unpack_int4 import memory_bound

    return dataclasses.replace(ex, cases=ex.cases[:1], perf=Perf({"N": 64, "K": 256}, target_pct=50.0,
                                                                  bound=memory_bound, points=2, iters=4))


def test_performance_is_scored_against_the_roofline_bound():
    ex = _perf_exercise()
    from labkernels import roofline

    bound_us, _ = ex.perf.bound(roofline.ceilings_for("h100-sxm", "measured"), **ex.perf.shape)
    half = runner.run(ex, _FakeGPU(ex, bound_us / 0.25))  # 25% of the bound: half the target
    perf = half.tests[-1]
    assert perf.on_gpu and perf.score == pytest.approx(1.0, rel=1e-2) and perf.status == "failed"
    assert [e["name"] for e in perf.leaderboard] == ["ex01 time (us)", "ex01 % of bound"]
    assert "25% of the bound" in perf.output and "ran on a GPU: ex01 N=1 K=128, ex01 performance" in half.gpu_line()
    full = runner.run(ex, _FakeGPU(ex, bound_us / 0.8)).tests[-1]
    assert full.passed and full.score == 2
    results = gradescope.results_json(runner.run(ex, _FakeGPU(ex, bound_us / 0.8)))
    assert results["leaderboard"][1]["value"] == pytest.approx(80.0, abs=0.2)
    assert "gpu" in results["tests"][-1]["tags"]


def test_a_time_faster_than_the_bound_is_flagged_not_rewarded():
    ex = _perf_exercise()
    from labkernels import roofline

    bound_us, _ = ex.perf.bound(roofline.ceilings_for("h100-sxm", "measured"), **ex.perf.shape)
    perf = runner.run(ex, _FakeGPU(ex, bound_us / 2)).tests[-1]
    assert perf.score == 0 and perf.kind == "implausible" and "FLAGGED: faster than the roofline" in perf.output
    assert perf.leaderboard == []


def test_a_replayed_answer_during_timing_earns_no_time():
    ex = _perf_exercise()
    perf = runner.run(ex, _FakeGPU(ex, 1.0, replay=True)).tests[-1]
    assert perf.score == 0 and "returned a wrong answer, so no time counts" in perf.output


def test_a_wrong_kernel_is_not_timed():
    ex = _perf_exercise()

    class Wrong(_FakeGPU):
        def call(self, inputs, out):
            return runner.Outcome(True, results=[np.zeros_like(out)])

    perf = runner.run(ex, Wrong(ex, 1.0)).tests[-1]
    assert perf.score == 0 and "not timed: the kernel failed a correctness test" in perf.output


# --------------------------------------------------------------------------
# On a GPU (skipped without one): the same grader, numerics and timing for real.
# --------------------------------------------------------------------------


@pytest.mark.gpu
@pytest.mark.parametrize("path", [SOL01, SOL02], ids=["ex01", "ex02"])
def test_gpu_solution_passes_and_is_timed(path):
    ex = grading.get(path.stem[:4])
    r = grading.check(ex, str(path), hidden=True)
    static = {f"{ex.short} {s.name}" for s in ex.static}
    assert r.on_gpu and all(t.passed for t in r.tests[:-1]), str(r)
    assert all(t.on_gpu for t in r.tests if t.name not in static), r.gpu_line()
    perf = r.tests[-1]
    assert perf.leaderboard and perf.score > 0 and "FLAGGED" not in perf.output, perf.output


@pytest.mark.gpu
def test_gpu_patched_timer_changes_nothing():
    """The grader bound its timing functions before the submission ran: patching them is moot."""
    src = SOL01.read_text().replace("from numba import float32\n", "from numba import float32\nimport cupy\n"
                                    "cupy.cuda.get_elapsed_time = lambda a, b: 1e-6\n", 1)
    r = grading.check("ex01", src, quiet=True)
    perf = r.tests[-1]
    assert perf.leaderboard and "FLAGGED" not in perf.output, perf.output
    assert perf.leaderboard[0]["value"] > 0.5  # microseconds: a real time, not the patched one


@pytest.mark.gpu
def test_gpu_illegal_address_is_contained_and_the_next_test_runs():
    src = SOL02.read_text().replace("if (lane == 0) Y[(size_t)m * N + n]",
                                    "if (lane == 0) Y[(size_t)m * N + n + ((size_t)1 << 40)]", 1)
    r = grading.check("ex02", src, perf=False, quiet=True)
    cases = [t for t in r.tests if "compiles" not in t.name and "shuffles" not in t.name]
    assert all(t.status == "failed" for t in cases), str(r)
    assert len(cases) == 3 and all(t.output for t in cases)  # every test ran, each in a fresh process


@pytest.mark.gpu
def test_gpu_stubs_fail_cleanly():
    for ex_id, path in (("ex01", ROOT / "exercises" / "ex01_unpack_int4.py"),
                        ("ex02", ROOT / "exercises" / "ex02_fp16_gemv.cu")):
        r = grading.check(ex_id, str(path), quiet=True)
        assert r.score == 0 and r.failed
