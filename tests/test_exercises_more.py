"""ex03 (MXFP4 decode, Numba), ex04 (predict the crossover, Python) and ex05 (W4A16 GEMV, CUDA C).

As for ex01/ex02 (tests/test_grading.py): every solution passes every test it
can run here, every generated stub scores 0 with a clean reason, and a set of
known-wrong submissions — each the solution with one mistake written in —
fails with the reason that mistake deserves. One batch per exercise grades
its submissions in separate processes, two at a time (module fixtures); the
tests read the results. Without a GPU, ex03 runs in the Numba simulator, ex04
on the CPU, and ex05 is only compiled (its numerics "need a GPU" and are
never "passed"); the tests marked ``gpu`` run the same solutions on one.
"""
from __future__ import annotations

import dataclasses
import importlib.util
import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from labkernels import check, grading, roofline
from labkernels.grading import batch, launchers, runner
from labkernels.grading.tasks import ex03_mxfp4_decode as t03
from labkernels.grading.tasks import ex04_predict_crossover as t04

ROOT = Path(__file__).resolve().parents[1]
SOL, EXE = ROOT / "solutions", ROOT / "exercises"
SOL03, SOL04, SOL05 = SOL / "ex03_mxfp4_decode.py", SOL / "ex04_predict_crossover.py", SOL / "ex05_w4a16_gemv.cu"
TIME_LIMIT = 10.0


def _module(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _edit(text: str, *pairs) -> str:
    """``text`` with each (old, new) replaced once; an ``old`` that is not there fails the test (the
    solution changed: update the mistake to match)."""
    for old, new in pairs:
        assert text.count(old) == 1, f"{old!r} is not once in the solution"
        text = text.replace(old, new)
    return text


def _grade(tmp_path_factory, exercise: str, subs: dict) -> dict:
    """Grade {name: (file name, text)} in one batch; {name: results.json as a dict}."""
    d = tmp_path_factory.mktemp(f"{exercise}_subs")
    folders = []
    for name, (fname, text) in subs.items():
        (d / name).mkdir()
        (d / name / fname).write_text(text)
        folders.append(d / name)
    out = tmp_path_factory.mktemp(f"{exercise}_results")
    res = batch.grade(folders, out, exercise=exercise, jobs=2, time_limit=TIME_LIMIT)
    assert res.complete
    return {f.name: json.loads((out / f.name / "results.json").read_text()) for f in folders}


def _scored(r: dict) -> list:
    return [t for t in r["tests"] if "needs-gpu" not in t.get("tags", [])]


def _all_output(r: dict) -> str:
    return "\n".join(t["output"] for t in r["tests"])


def _first_failure(r: dict) -> str:
    return next(t["extra_data"]["failure"] for t in _scored(r) if t["status"] == "failed")


# --------------------------------------------------------------------------
# ex03: MXFP4 decode (Numba, the simulator here).
# --------------------------------------------------------------------------

_S03 = SOL03.read_text()
_NAN_BRANCH = """        if s == SCALE_NAN:
            out[n, 2 * j] = math.nan
            out[n, 2 * j + 1] = math.nan
        else:"""
WRONG03 = {
    # (text, failure kind of the first failing test, what its output must say)
    "nibbles_swapped": (_edit(_S03, ("out[n, 2 * j] = e2m1(b & 0xF) * scale", "out[n, 2 * j] = e2m1(b >> 4) * scale"),
                              ("out[n, 2 * j + 1] = e2m1(b >> 4) * scale",
                               "out[n, 2 * j + 1] = e2m1(b & 0xF) * scale")),
                        "nibble_order", "the low and high nibbles swapped"),
    "scale_without_bias": (_edit(_S03, ("int(s) - SCALE_BIAS)", "int(s))")),
                           "scale_bias", "instead of 2**(e - 127)"),
    "nan_block_ignored": (_edit(_S03, (_NAN_BRANCH, "        if False:\n            pass\n        else:")),
                          "nan_block", "hint: scale code 0xFF (255) is NaN"),
    "nan_block_skipped": (_edit(_S03, (_NAN_BRANCH, "        if s == SCALE_NAN:\n            return\n        else:")),
                          "partial", "never written (still the grader's poison)"),
    "sign_of_zero_lost": (_edit(_S03, ("return -mag if c & 8 else mag",
                                       "return -mag if (c & 8) and mag != 0.0 else mag")),
                          "negative_zero", "code 0x8 is -0.0"),
    "no_row_guard": (_edit(_S03, ("if n < packed.shape[0] and j < packed.shape[1]:", "if j < packed.shape[1]:")),
                     "index", "IndexError"),
    "imports_reference": (_edit(_S03, ("import math\n", "import math\nfrom labkernels.formats import dequantize_mx\n")),
                          "load", "may not import labkernels.formats"),
}


@pytest.fixture(scope="module")
def graded03(tmp_path_factory):
    subs = {"sol_py": ("ex03_mxfp4_decode.py", _S03),
            "sol_nb": ("ex03_mxfp4_decode.ipynb", (SOL / "ex03_mxfp4_decode.ipynb").read_text()),
            "stub_py": ("ex03_mxfp4_decode.py", (EXE / "ex03_mxfp4_decode.py").read_text())}
    subs.update({name: ("ex03_mxfp4_decode.py", text) for name, (text, _, _) in WRONG03.items()})
    return _grade(tmp_path_factory, "ex03", subs)


@pytest.mark.parametrize("sid", ["sol_py", "sol_nb"])
def test_ex03_solution_passes_every_test_it_can_run(graded03, sid):
    r = graded03[sid]
    runnable = _scored(r)
    assert len(runnable) == 4 and all(t["status"] == "passed" for t in runnable), json.dumps(r, indent=1)
    assert r["score"] == 7 and r["max_score"] == 8
    assert "bit-exact" in runnable[1]["output"] and "NaN from NaN-scaled blocks" in runnable[1]["output"]
    assert "could not run (needs a GPU, scored 0): ex03 performance" in r["output"]


def test_ex03_stub_scores_zero_cleanly(graded03):
    r = graded03["stub_py"]
    assert r["score"] == 0 and all(t["status"] == "failed" for t in r["tests"])
    for t in _scored(r):
        assert t["extra_data"]["failure"] == "empty" and "hint: nothing was written" in t["output"], t["output"]


@pytest.mark.parametrize("name", list(WRONG03))
def test_ex03_known_wrong_submission_fails_with_its_reason(graded03, name):
    r = graded03[name]
    _, kind, reason = WRONG03[name]
    # the one-block case cannot hold a special block, so a mistake about NaN or -0 may pass it
    assert r["score"] <= 1 and all(t["status"] == "failed" for t in _scored(r)[1:]), json.dumps(r, indent=1)
    assert _first_failure(r) == kind, _all_output(r)
    assert reason in _all_output(r), _all_output(r)


def test_ex03_failure_report_names_codes_and_scales(graded03):
    out = _all_output(graded03["nibbles_swapped"])
    assert "W[0, 0] = " in out and "(low nibble of packed[0, 0] = 0x" in out and "scale code" in out


def test_ex03_check_compare_cannot_judge_nan_answers():
    """Why ex03 brings its own comparison: labkernels.check.compare never accepts NaN, and is a tolerance test."""
    inp = t03.inputs(np.random.default_rng(3), 3, 160)
    ref = t03.reference(inp)
    assert np.isnan(ref).any() and np.isinf(ref).any()
    assert not check.compare(ref, ref, 2.0**-10, 1e-3)[0]
    assert t03.compare(ref.copy(), ref, inp)[0]


def test_ex03_compare_is_exact():
    inp = t03.inputs(np.random.default_rng(4), 6, 96)
    ref = t03.reference(inp)
    finite = np.argwhere(np.isfinite(ref) & (ref != 0))[0]
    nan = np.argwhere(np.isnan(ref))[0]
    zero = np.argwhere((ref == 0) & np.signbit(ref))[0]

    def judged(change):
        got = ref.copy()
        change(got)
        return t03.compare(got, ref, inp)

    ok, text, _ = judged(lambda g: None)
    assert ok and "bit-exact" in text
    one_ulp = judged(lambda g: g.__setitem__(tuple(finite), np.nextafter(g[tuple(finite)], np.float32(np.inf))))
    assert not one_ulp[0] and one_ulp[2] == "wrong"
    number_for_nan = judged(lambda g: g.__setitem__(tuple(nan), 1.0))
    assert not number_for_nan[0] and "numbers where NaN is expected" in number_for_nan[1]
    nan_for_number = judged(lambda g: g.__setitem__(tuple(finite), np.nan))
    assert not nan_for_number[0] and "NaN where a number is expected" in nan_for_number[1]
    plus_zero = judged(lambda g: g.__setitem__(tuple(zero), 0.0))
    assert not plus_zero[0] and "expected -0.0" in plus_zero[1]
    other_nan = judged(lambda g: g.__setitem__(tuple(nan), np.float32(-np.nan)))  # any NaN is NaN
    assert other_nan[0]
    unwritten = judged(lambda g: g.__setitem__(tuple(nan), t03.poison((1,), np.float32)[0]))
    assert not unwritten[0] and unwritten[2] == "partial" and "never written" in unwritten[1]
    assert t03.compare(t03.poison(ref.shape, np.float32), ref, inp)[2] == "empty"


def test_ex03_inputs_hold_every_special_block():
    inp = t03.inputs(np.random.default_rng(5), 3, 160)
    s = inp["scales"]
    assert (s == 0xFF).any() and (s == 0).any() and np.isin(s, [0, 1]).sum() >= 2 and np.isin(s, [253, 254]).any()
    codes = np.concatenate([inp["packed"] & 0xF, inp["packed"] >> 4], axis=1)
    assert set(np.unique(codes)) == set(range(16))


_COMPILE_FOR_CUDA = textwrap.dedent("""
    import importlib.util, re, sys, types as pytypes
    from numba import cuda, types
    from numba.cuda.cudadrv.error import NvvmSupportError
    import numba.cuda.dispatcher as dispatcher
    # compile_ptx needs no GPU, but a call to a device function asks the current device for its
    # compute capability: answer for it
    dispatcher.get_current_device = lambda: pytypes.SimpleNamespace(compute_capability=(7, 5))
    sig = (types.uint8[:, :], types.uint8[:, :], types.float32[:, :])
    for path in sys.argv[1:]:
        spec = importlib.util.spec_from_file_location("m", path)
        m = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(m)
        try:
            ptx, _ = cuda.compile_ptx(m.mxfp4_decode_kernel.py_func, sig, cc=(7, 5))
        except NvvmSupportError as e:
            print(e)
            sys.exit(77)
        print(path, sorted(set(re.findall(r"\\b[a-z]+(?:\\.[a-z0-9]+)*\\.f64\\b", ptx))))
""")


def test_ex03_files_compile_for_a_real_gpu():
    """The simulator runs any Python; Numba's CUDA compiler (NVVM, no GPU needed) is stricter. The
    solution and the stub must both compile for sm_75, and the solution does its arithmetic in fp32
    (fp64 runs at 1/32 rate or less on the T4 and the L4)."""
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "0"}
    p = subprocess.run([sys.executable, "-c", _COMPILE_FOR_CUDA, str(SOL03), str(EXE / "ex03_mxfp4_decode.py")],
                       capture_output=True, text=True, env=env, timeout=300)
    if p.returncode == 77:
        pytest.skip(f"Numba cannot compile CUDA here (no libNVVM): {p.stdout.strip()}")
    assert p.returncode == 0, p.stderr[-3000:]
    lines = p.stdout.strip().splitlines()
    assert lines == [f"{SOL03} []", f"{EXE / 'ex03_mxfp4_decode.py'} []"], p.stdout


def test_ex03_files_launch_exactly_like_the_grader():
    ex = grading.get("ex03")
    first = dataclasses.replace(ex, cases=ex.cases[:2], perf=None)
    mod = _module(SOL03, "_t_sol03")
    for student in (mod.launch, mod.mxfp4_decode_kernel):
        r = runner.run(first, runner.InProcess(first, student))
        assert r.passed, str(r)
    assert mod.BLOCK_DIM == launchers.MXFP4_BLOCK


# --------------------------------------------------------------------------
# ex04: predict the crossover (plain Python, on the CPU).
# --------------------------------------------------------------------------

_S04 = SOL04.read_text()
_H100 = (roofline.ridge_m("w4a16", 8192, 8192, roofline.datasheet_ceilings("h100-sxm")),
         roofline.ridge_m("a8w8", 8192, 8192, roofline.datasheet_ceilings("h100-sxm")),
         roofline.crossovers("w4a16", "a8w8", 8192, 8192, roofline.datasheet_ceilings("h100-sxm"), alu=False)[0])


def _override(body: str, top: str = "") -> str:
    """The ex04 solution with ``predict_crossover`` redefined at its end (and ``top`` after its imports)."""
    text = _edit(_S04, ("import math\n", "import math\n" + top)) if top else _S04
    return text + "\n\ndef predict_crossover(bw, fp16_peak, int8_peak, N, K):\n" + body


WRONG04 = {
    "fp16_for_int8": (_edit(_S04, ("ridge_a8 = ridge(a8w8_bytes, bw, int8_peak, N, K)",
                                   "ridge_a8 = ridge(a8w8_bytes, bw, fp16_peak, N, K)"),
                            ("max(a8w8_bytes(M, N, K) / bw, mma_flops(M, N, K) / int8_peak)",
                             "max(a8w8_bytes(M, N, K) / bw, mma_flops(M, N, K) / fp16_peak)"),
                            ("[mma_flops(1, N, K) / int8_peak, 0.0]", "[mma_flops(1, N, K) / fp16_peak, 0.0]")),
                      "fp16_for_int8", "its MMA time is 2·M·N·K / int8_peak"),
    "output_bytes_forgotten": (_edit(_S04, ("N * K * (4 + 16 / GROUP) / 8 + 2 * M * N", "N * K * (4 + 16 / GROUP) / 8"),
                                     ("return M * K + N * K + 2 * M * N", "return M * K + N * K")),
                               "output_bytes", "count the output too"),
    "rule_of_thumb": (_override("    r16, r8 = fp16_peak / bw, int8_peak / bw\n"
                                "    return r16 * (4 + 16 / GROUP) / 8 / 2, r8 * 1 / 2, r16 * 1 / 2\n"),
                      "rule_of_thumb", "is a lead, not the answer"),
    "cached_h100_answer": (_override(f"    return {_H100[0]!r}, {_H100[1]!r}, {_H100[2]!r}\n"),
                           "ridge_w4a16", "3 of 3 answers wrong"),
    "imports_roofline": (_edit(_S04, ("import math\n",
                                      "import math\nfrom labkernels.roofline import ridge_m  # noqa\n")),
                         "load", "may not import labkernels.roofline"),
    "imports_roofline_late": (_override("    from labkernels import roofline as rl\n"
                                        "    return rl.ridge_m('w4a16', N, K, None), 0.0, 0.0\n"),
                              "raised", "may not import labkernels.roofline"),
    "imports_crossover": (_override("    import labkernels.crossover\n    return 1.0, 2.0, 3.0\n"),
                          "raised", "may not import labkernels.crossover"),
    "returns_a_string": (_override("    return 'about 150'\n"), "raised",
                         "must return 3 numbers (a tuple); it returned str 'about 150'"),
    "returns_two_numbers": (_override("    return 82.0, 157.0\n"), "raised", "it returned 2 values"),
    "not_a_function": (_S04 + "\n\npredict_crossover = 42\n", "missing", "must be a function"),
}


@pytest.fixture(scope="module")
def graded04(tmp_path_factory):
    subs = {"sol_py": ("ex04_predict_crossover.py", _S04),
            "sol_nb": ("ex04_predict_crossover.ipynb", (SOL / "ex04_predict_crossover.ipynb").read_text()),
            "stub_py": ("ex04_predict_crossover.py", (EXE / "ex04_predict_crossover.py").read_text()),
            "stub_nb": ("ex04_predict_crossover.ipynb", (EXE / "ex04_predict_crossover.ipynb").read_text())}
    subs.update({name: ("ex04_predict_crossover.py", text) for name, (text, _, _) in WRONG04.items()})
    return _grade(tmp_path_factory, "ex04", subs)


@pytest.mark.parametrize("sid", ["sol_py", "sol_nb"])
def test_ex04_solution_passes_every_test(graded04, sid):
    r = graded04[sid]
    assert r["score"] == r["max_score"] == 6, json.dumps(r, indent=1)
    assert all(t["status"] == "passed" for t in r["tests"]), json.dumps(r, indent=1)
    assert len(r["tests"]) == 5 and sum("(hidden)" in t["name"] for t in r["tests"]) == 2
    assert "CPU (plain Python, no kernel)" in r["output"] and "ran on a GPU: none" in r["output"]


@pytest.mark.parametrize("sid", ["stub_py", "stub_nb"])
def test_ex04_stub_scores_zero_cleanly(graded04, sid):
    r = graded04[sid]
    assert r["score"] == 0 and all(t["status"] == "failed" for t in r["tests"])
    for t in r["tests"]:
        assert "NotImplementedError: FILL ME IN" in t["output"] and "hint: predict_crossover raised" in t["output"]


@pytest.mark.parametrize("name", list(WRONG04))
def test_ex04_known_wrong_submission_fails_with_its_reason(graded04, name):
    r = graded04[name]
    _, kind, reason = WRONG04[name]
    assert r["score"] == 0 and all(t["status"] == "failed" for t in r["tests"]), json.dumps(r, indent=1)
    assert _first_failure(r) == kind, _all_output(r)
    assert reason in _all_output(r), _all_output(r)


def test_ex04_reference_is_the_closed_form_on_every_case():
    """The model's answers (labkernels.roofline) and the pencil-and-paper ones agree within the stated
    tolerance on every case and many draws; each known mistake is caught on every one."""
    ex = grading.get("ex04")
    sol = _module(SOL04, "_t_sol04")
    rng = np.random.default_rng(11)
    for case in ex.cases:
        for _ in range(25):
            inp = t04.inputs(rng, **case.shape)
            ref = t04.reference(inp)
            got = np.array([sol.predict_crossover(**inp)])
            assert t04.compare(got, ref, inp)[0], (case.shape, got, ref)
            assert 1 < ref[0, 2] < 1000 and ref[0, 0] < ref[0, 2] < ref[0, 1]  # one crossing, between the ridges
            args = [inp[k] for k in ("bw", "fp16_peak", "int8_peak", "N", "K")]
            for kind, opts, _ in t04._MISTAKES:
                opts = {k: (inp["fp16_peak"] if v == "fp16" else v) for k, v in opts.items()}
                for general in (False, True):
                    wrong = np.array([t04._closed_form(*args, **opts, general=general)])
                    ok, _, got_kind = t04.compare(wrong, ref, inp)
                    assert not ok and got_kind == kind, (case.shape, kind, general, got_kind)


def test_ex04_in_notebook_check_runs_the_function_here(capsys):
    sol = _module(SOL04, "_t_sol04b")
    r = grading.check("ex04", sol.predict_crossover, seed=1)
    out = capsys.readouterr().out
    assert r.passed and r.score == 4 and out.count("PASS") == 3 and "CPU (plain Python, no kernel)" in out
    with pytest.raises(TypeError, match="student must be the function predict_crossover"):
        grading.check("ex04", 42)


# --------------------------------------------------------------------------
# ex05: W4A16 GEMV (CUDA C: compiled here, numerics need a GPU).
# --------------------------------------------------------------------------

_S05 = SOL05.read_text()


@pytest.fixture(scope="module")
def graded05(tmp_path_factory):
    subs = {"sol": ("ex05_w4a16_gemv.cu", _S05),
            "stub": ("ex05_w4a16_gemv.cu", (EXE / "ex05_w4a16_gemv.cu").read_text()),
            "no_store": ("ex05_w4a16_gemv.cu", _edit(_S05, ("if (lane == 0) Y[(size_t)m * N + n] = __float2half(v);",
                                                            "(void)v;"))),
            "typo": ("ex05_w4a16_gemv.cu", _edit(_S05, ("const unsigned w = qw[i];", "const unsigned w = qw[i]")))}
    return _grade(tmp_path_factory, "ex05", subs)


def test_ex05_solution_compiles_and_never_passes_numerics_without_a_gpu(graded05):
    r = graded05["sol"]
    assert [t["status"] for t in r["tests"][:2]] == ["passed", "passed"] and r["score"] == 2
    assert all("needs-gpu" in t["tags"] and t["score"] == 0 for t in r["tests"][2:]) and len(r["tests"]) == 7
    assert "needs a GPU: numerics not checked here" in r["tests"][2]["output"]


def test_ex05_stub_and_wrong_submissions_score_zero(graded05):
    assert graded05["stub"]["score"] == 0 and "PTX has no st.global" in graded05["stub"]["tests"][0]["output"]
    no_store = graded05["no_store"]["tests"]  # it still reduces with shuffles: that check passes
    assert [t["status"] for t in no_store[:2]] == ["failed", "passed"]
    assert "PTX has no st.global" in no_store[0]["output"]
    typo = graded05["typo"]["tests"][0]["output"]
    assert graded05["typo"]["score"] == 0 and typo.startswith("does not compile")
    assert 'ex05_w4a16_gemv.cu(63): error: expected a ";"' in typo, typo  # the student's own file and line
    assert "not run: the kernel does not compile" in graded05["typo"]["tests"][2]["output"]


def test_ex05_launcher_refuses_zero_points():
    with pytest.raises(ValueError, match="symmetric int4"):
        launchers.w4a16_gemv_warp(None, np.zeros((1, 8)), np.zeros((1, 4)), np.zeros((1, 1)), np.zeros((1, 1)),
                                  np.zeros((1, 1)))


# --------------------------------------------------------------------------
# On a GPU (skipped without one).
# --------------------------------------------------------------------------


@pytest.mark.gpu
@pytest.mark.parametrize("path", [SOL03, SOL05], ids=["ex03", "ex05"])
def test_gpu_solution_passes_and_is_timed(path):
    ex = grading.get(path.stem[:4])
    r = grading.check(ex, str(path), hidden=True)
    assert r.on_gpu and all(t.passed for t in r.tests[:-1]), str(r)
    perf = r.tests[-1]
    assert perf.leaderboard and perf.score > 0 and "FLAGGED" not in perf.output, perf.output


@pytest.mark.gpu
def test_gpu_stubs_fail_cleanly():
    for ex_id, path in (("ex03", EXE / "ex03_mxfp4_decode.py"), ("ex05", EXE / "ex05_w4a16_gemv.cu")):
        r = grading.check(ex_id, str(path), quiet=True)
        assert r.score == 0 and r.failed
    assert math.isfinite(_H100[2])
