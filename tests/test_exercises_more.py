"""ex03 (MXFP4 decode, Numba), ex04 (predict the crossover, Python), ex05 (W4A16 GEMV, CUDA C),
ex06 (A8W8 GEMV with dp4a, CUDA C) and ex07 (int8 mma.sync fragments, CUDA C, sm_80+).

As for ex01/ex02 (tests/test_grading.py): every solution passes every test it
can run here, every generated stub scores 0 with a clean reason, and a set of
known-wrong submissions — each the solution with one mistake written in —
fails with the reason that mistake deserves. One batch per exercise grades
its submissions in separate processes, two at a time (module fixtures); the
tests read the results. Without a GPU, ex03 runs in the Numba simulator, ex04
on the CPU, and ex05-ex07 are only compiled (their numerics "need a GPU" and
are never "passed"); the tests marked ``gpu`` run the same solutions, and the
known-wrong CUDA C submissions, on one:

    python -m pytest -p no:cacheprovider tests/test_exercises_more.py -m gpu

Here, the wrong CUDA C submissions are checked as far as a compiler can
(static checks, compile errors at the student's line), and the grader's side of
their numerics is checked on outputs computed in NumPy: what each wrong
kernel stores (for ex07 by emulating the warp's fragments and the MMA element
by element from the PTX ISA's layout), fed to the same comparison.
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

from labkernels import check, device, grading, problems, roofline
from labkernels.grading import batch, ipynb, launchers, runner
from labkernels.grading.tasks import ex03_mxfp4_decode as t03
from labkernels.grading.tasks import ex04_predict_crossover as t04
from labkernels.grading.tasks import ex07_mma_fragment as t07

ROOT = Path(__file__).resolve().parents[1]
SOL, EXE = ROOT / "solutions", ROOT / "exercises"
SOL03, SOL04, SOL05 = SOL / "ex03_mxfp4_decode.py", SOL / "ex04_predict_crossover.py", SOL / "ex05_w4a16_gemv.cu"
SOL06, SOL07 = SOL / "ex06_dp4a_dot.cu", SOL / "ex07_mma_fragment.cu"
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
    assert _first_failure(r) in ((kind,) if isinstance(kind, str) else kind), _all_output(r)
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
    # the graded H100 draws are perturbed at random, so now and then one cached answer lands within
    # the tolerance: which answer fails first varies, that every case fails does not
    "cached_h100_answer": (_override(f"    return {_H100[0]!r}, {_H100[1]!r}, {_H100[2]!r}\n"),
                           ("ridge_w4a16", "ridge_a8w8", "crossover"), "answers wrong"),
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
    assert _first_failure(r) in ((kind,) if isinstance(kind, str) else kind), _all_output(r)
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
# ex06: A8W8 GEMV with dp4a (CUDA C: compiled here, numerics need a GPU).
# --------------------------------------------------------------------------

_S06 = SOL06.read_text()
_DP4A_LINE = "if (m < M) acc[m] = __dp4a(xw[(size_t)m * words + i], w, acc[m]);"
_STORE06 = "Y[(size_t)m * N + n] = __float2half((float)s * __half2float(SX[m]) * __half2float(SW[n]));"

#: name -> (text, the static checks that fail here, the failure kinds its first failing numeric test may have
#: on a GPU (empty: every numeric test passes there), what its output says on a GPU)
WRONG06 = {
    "no_scales": (_edit(_S06, (_STORE06, "Y[(size_t)m * N + n] = __float2half((float)s);")),
                  set(), {"no_scales"}, "hint: the integer sum is only half the answer"),
    "x_scale_only": (_edit(_S06, (_STORE06, "Y[(size_t)m * N + n] = __float2half((float)s * __half2float(SX[m]));")),
                     set(), {"missing_scale"}, "the sums times SX[m] only (SW[n] forgotten)"),
    # the loop rounded up to whole warps: the lanes past K/4 read the next row's words (or past W)
    "no_tail_guard": (_edit(_S06, ("for (int i = lane; i < words; i += 32) {",
                                   "for (int i = lane; i < (words + 31) / 32 * 32; i += 32) {")),
                      set(), {"wrong", "nondeterministic", "crash", "raised"}, "hint: "),
    "unsigned_dp4a": (_edit(_S06, (_DP4A_LINE, "if (m < M) acc[m] = (int)__dp4a((unsigned)xw[(size_t)m * words + i], "
                                               "(unsigned)w, (unsigned)acc[m]);")),
                      {1}, {"unsigned"}, "hint: pass __dp4a int words"),
    # the products in float: no dp4a (integer byte products the compiler fuses into dp4a itself)
    "float_multiplies": (_edit(_S06, (_DP4A_LINE, """if (m < M) {
                const int xv = xw[(size_t)m * words + i];
                float f = 0.0f;
                for (int j = 0; j < 4; ++j)
                    f += (float)(signed char)(xv >> (8 * j)) * (float)(signed char)(w >> (8 * j));
                acc[m] += (int)f;
            }""")), {1}, set(), ""),
    "no_warp_sum": (_edit(_S06, ("const int s = warp_sum_int(acc[m]);", "const int s = acc[m];")),
                    {2}, {"wrong"}, "hint: word i of a row holds k = 4i"),
}


def _line_of(text: str, needle: str) -> int:
    return next(i + 1 for i, ln in enumerate(text.splitlines()) if needle in ln)


@pytest.fixture(scope="module")
def graded06(tmp_path_factory):
    nb = {"cells": [ipynb.markdown_cell("my ex06"), ipynb.code_cell("%%writefile ex06_dp4a_dot.cu\n" + _S06),
                    ipynb.code_cell("!python ex06_dp4a_dot.py")], "metadata": {"labkernels": {"exercise": "ex06"}},
          "nbformat": 4, "nbformat_minor": 5}
    subs = {"sol": ("ex06_dp4a_dot.cu", _S06), "sol_nb": ("ex06_dp4a_dot.ipynb", ipynb.dumps(nb)),
            "stub": ("ex06_dp4a_dot.cu", (EXE / "ex06_dp4a_dot.cu").read_text()),
            "typo": ("ex06_dp4a_dot.cu", _edit(_S06, ("const int words = K / 4;", "const int words = K / 4")))}
    subs.update({name: ("ex06_dp4a_dot.cu", text) for name, (text, *_) in WRONG06.items()})
    return _grade(tmp_path_factory, "ex06", subs)


@pytest.mark.parametrize("sid", ["sol", "sol_nb"])
def test_ex06_solution_compiles_and_never_passes_numerics_without_a_gpu(graded06, sid):
    r = graded06[sid]
    assert [t["status"] for t in r["tests"][:3]] == ["passed"] * 3 and r["score"] == 3, json.dumps(r, indent=1)
    assert r["max_score"] == 13 and len(r["tests"]) == 8
    assert all("needs-gpu" in t["tags"] and t["score"] == 0 and t["status"] == "failed" for t in r["tests"][3:])
    assert "needs a GPU: numerics not checked here" in r["tests"][3]["output"]
    assert "PTX has dp4a.s32.s32" in r["tests"][1]["output"]


def test_ex06_stub_scores_zero_cleanly(graded06):
    r = graded06["stub"]
    assert r["score"] == 0 and all(t["status"] == "failed" for t in r["tests"])
    static = [t["output"] for t in r["tests"][:3]]
    assert "PTX has no st.global" in static[0] and "PTX has no dp4a.s32.s32" in static[1]
    assert "hint: use __dp4a, not four multiplies" in static[1] and "PTX has no shfl.sync" in static[2]


def test_ex06_typo_points_at_the_students_line(graded06):
    out = graded06["typo"]["tests"][0]["output"]
    line = _line_of(_S06, "const int words = K / 4;")
    assert graded06["typo"]["score"] == 0 and f'ex06_dp4a_dot.cu({line + 1}): error: expected a ";"' in out, out
    assert "not run: the kernel does not compile" in graded06["typo"]["tests"][3]["output"]


@pytest.mark.parametrize("name", list(WRONG06))
def test_ex06_wrong_submission_here_fails_only_what_a_compiler_sees(graded06, name):
    """Without a GPU a numeric mistake cannot cost points (nothing numeric scores here), and must not
    pass either: its numeric tests say "needs a GPU". Static mistakes fail their check with its hint."""
    r = graded06[name]
    _, failing, _, _ = WRONG06[name]
    static = r["tests"][:3]
    assert {i for i, t in enumerate(static) if t["status"] == "failed"} == failing, json.dumps(static, indent=1)
    for i in failing:
        assert "hint: " in static[i]["output"]
    assert all("needs-gpu" in t["tags"] and t["score"] == 0 for t in r["tests"][3:])
    assert r["score"] == 3 - len(failing)
    if name == "unsigned_dp4a":
        assert "PTX has no dp4a.s32.s32" in static[1]["output"] and "dp4a.u32.u32" in static[1]["output"]


def _ex06_draw(seed=6, M=3, N=33, K=400):
    ex = grading.get("ex06")
    inp = ex.task.inputs(np.random.default_rng(seed), M=M, N=N, K=K)
    return ex, inp, ex.task.reference(inp)


def _fp32_epilogue(sums, *scales):
    """What a kernel stores for float64-exact integer ``sums``: (float)s * scale * ... in fp32, as fp16."""
    y = sums.astype(np.float32)
    for s in scales:
        y = y * s.astype(np.float32)
    return y.astype(np.float16)


def _ex06_no_tail_guard(inp):
    """What the no_tail_guard kernel stores: each row's dot product runs on to a whole number of warp steps,
    into the next rows of X and W (zeros past their ends: what lies there on a GPU is anyone's)."""
    x, w = inp["x"], inp["w"]
    M, K = x.shape
    span = -(-K // 128) * 128
    xf = np.concatenate([x.reshape(-1), np.zeros(span, np.int8)]).astype(np.float64)
    wf = np.concatenate([w.reshape(-1), np.zeros(span, np.int8)]).astype(np.float64)
    sums = np.array([[xf[m * K:m * K + span] @ wf[n * K:n * K + span] for n in range(w.shape[0])] for m in range(M)])
    return _fp32_epilogue(sums, inp["x_scale"], inp["w_scale"].T)


def test_ex06_grader_names_each_numeric_mistake():
    """The grader's side of the GPU-only mistakes: each wrong kernel's output, computed in NumPy the way
    the kernel computes it, is failed with that mistake's kind, its explanation and its hint."""
    ex, inp, ref = _ex06_draw()
    P = problems.int8_product(inp["x"], inp["w"])
    sx, sw = inp["x_scale"], inp["w_scale"].T
    xu, wu = inp["x"].view(np.uint8).astype(np.float64), inp["w"].view(np.uint8).astype(np.float64)
    with np.errstate(over="ignore"):
        outputs = {
            "no_scales": (_fp32_epilogue(P), "no_scales", "without the scales"),
            "x_scale_only": (_fp32_epilogue(P, sx), "missing_scale", "SW[n] forgotten"),
            "w_scale_only": (_fp32_epilogue(P, sw), "missing_scale", "SX[m] forgotten"),
            "unsigned_dp4a": (_fp32_epilogue(xu @ wu.T, sx, sw), "unsigned", "as unsigned 0..255"),
            "no_tail_guard": (_ex06_no_tail_guard(inp), "wrong", ""),
        }
    assert np.isinf(outputs["no_scales"][0]).any()  # raw sums overflow fp16: the generic kind would be nonfinite
    ok, text, kind = runner.evaluate(ex, _fp32_epilogue(P, sx, sw), ref, inputs=inp)
    assert ok, text
    for name, (got, want, says) in outputs.items():
        ok, text, kind = runner.evaluate(ex, got, ref, inputs=inp)
        assert not ok and kind == want, (name, kind, text)
        assert says in text and ex.hint(kind), (name, text)
    assert "without that guard they read the next row" in ex.hint("wrong")
    assert "use __dp4a, not four multiplies" in ex.static[1].hint


def test_ex06_launcher_refuses_shapes_it_cannot_read():
    x, s = np.zeros((1, 6), np.int8), np.zeros((1, 1), np.float16)
    with pytest.raises(ValueError, match="K must be a multiple of 4"):
        launchers.a8w8_gemv_warp(None, x, s, np.zeros((2, 6), np.int8), np.zeros((2, 1), np.float16), None)
    with pytest.raises(ValueError, match="M up to 4"):
        launchers.a8w8_gemv_warp(None, np.zeros((5, 8), np.int8), s, np.zeros((2, 8), np.int8), s, None)


def test_ex06_cases_are_the_awkward_shapes_the_issue_asks_for():
    ex = grading.get("ex06")
    shapes = [c.shape for c in ex.cases]
    assert all(s["K"] % 4 == 0 for s in shapes) and ex.task.tol == problems.get("a8w8").tol
    assert any(s["N"] % launchers.GEMV_DEFINES["WARPS"] for s in shapes)
    assert any((s["K"] // 4) % 32 for s in shapes) and any(s["K"] % 16 for s in shapes)
    assert any(s["M"] == launchers.GEMV_DEFINES["MAX_M"] for s in shapes)
    assert sum(c.hidden for c in ex.cases) == 1 and ex.perf.shape["M"] == 1
    assert ex.perf.bound(roofline.ceilings_for("h100-sxm", "measured"), **ex.perf.shape)[1] == "memory"


# --------------------------------------------------------------------------
# ex07: int8 mma.sync m16n8k32 fragments (CUDA C, sm_80+: compiled here, numerics need such a GPU).
# --------------------------------------------------------------------------

_S07 = SOL07.read_text()
_A1, _A2 = "a[1] = hi ? ld4(x_hi) : 0u;", "a[2] = lo ? ld4(x_lo + 16) : 0u;"
_B0, _B1 = "b0 = col ? ld4(w_col) : 0u;", "b1 = col ? ld4(w_col + 16) : 0u;"
_ROW = "const int m = m0 + g + 8 * h;"

#: name -> (text, its loads and stores: one of t07.MISTAKES (None: not a layout mistake), the failure kinds its
#: numeric tests may have on a GPU, the static checks that fail here)
WRONG07 = {
    "a1_a2_swapped": (_edit(_S07, (_A1, "a[1] = lo ? ld4(x_lo + 16) : 0u;"), (_A2, "a[2] = hi ? ld4(x_hi) : 0u;")),
                      t07.MISTAKES[0], {"a_fragment"}, set()),
    "b0_b1_swapped": (_edit(_S07, (_B0, "b0 = col ? ld4(w_col + 16) : 0u;"), (_B1, "b1 = col ? ld4(w_col) : 0u;")),
                      t07.MISTAKES[1], {"b_fragment"}, set()),
    # rows g + 1 are stored twice (c0 of lane g + 1, then c2 of lane g): the emulation takes program order, as a
    # converged warp runs it; were a GPU to order them otherwise, the output would read as "partial"
    "epilogue_row_g_plus_1": (_edit(_S07, (_ROW, "const int m = m0 + g + h;")), t07.MISTAKES[2],
                              {"epilogue_row", "partial", "nondeterministic"}, set()),
    "epilogue_halves_swapped": (_edit(_S07, (_ROW, "const int m = m0 + g + 8 * (1 - h);")), t07.MISTAKES[3],
                                {"epilogue_row"}, set()),
    "epilogue_c1_c2": (_edit(_S07, ("(float)c[2 * h + j]", "(float)c[2 * j + h]")), t07.MISTAKES[4],
                       {"epilogue_order"}, set()),
    "no_mma": (_edit(_S07, ("        mma_s8_m16n8k32(c, a, b0, b1);\n", "")), None, {"wrong"}, {1}),
}


def _ex07_shows(mistake, shape) -> bool:
    """Whether a mistake can be named at a case shape: its output holds a nonzero number (with M <= 8 the
    exchanged halves read only the zero rows past M, and all a kernel stores is 0)."""
    ex = grading.get("ex07")
    inp = ex.task.inputs(np.random.default_rng(0), **shape)
    alt = t07.emulate(inp["x"], inp["w"], mapping=mistake[2])
    return bool(np.any(alt[np.isfinite(alt)]))


@pytest.fixture(scope="module")
def graded07(tmp_path_factory):
    subs = {"sol": ("ex07_mma_fragment.cu", _S07),
            "stub": ("ex07_mma_fragment.cu", (EXE / "ex07_mma_fragment.cu").read_text()),
            "typo": ("ex07_mma_fragment.cu", _edit(_S07, (_B1, _B1[:-1])))}
    subs.update({name: ("ex07_mma_fragment.cu", text) for name, (text, *_) in WRONG07.items()})
    return _grade(tmp_path_factory, "ex07", subs)


def test_ex07_solution_compiles_and_never_passes_numerics_without_a_gpu(graded07):
    r = graded07["sol"]
    assert [t["status"] for t in r["tests"][:2]] == ["passed"] * 2 and r["score"] == 2, json.dumps(r, indent=1)
    assert r["max_score"] == 10 and len(r["tests"]) == 6
    assert all("needs-gpu" in t["tags"] and t["score"] == 0 for t in r["tests"][2:])
    assert "needs a GPU: numerics not checked here" in r["tests"][2]["output"]
    assert t07.MMA_PTX in r["tests"][1]["output"]


def test_ex07_stub_scores_zero_cleanly(graded07):
    r = graded07["stub"]
    assert r["score"] == 0 and all(t["status"] == "failed" for t in r["tests"])
    assert "PTX has no st.global" in r["tests"][0]["output"]
    assert f"PTX has no {t07.MMA_PTX}" in r["tests"][1]["output"] and "call mma_s8_m16n8k32" in r["tests"][1]["output"]


def test_ex07_typo_points_at_the_students_line(graded07):
    out = graded07["typo"]["tests"][0]["output"]
    line = _line_of(_S07, _B1)
    assert graded07["typo"]["score"] == 0 and f'ex07_mma_fragment.cu({line + 1}): error: expected a ";"' in out, out


@pytest.mark.parametrize("name", list(WRONG07))
def test_ex07_wrong_submission_here_fails_only_what_a_compiler_sees(graded07, name):
    r = graded07[name]
    failing = WRONG07[name][3]
    static = r["tests"][:2]
    assert {i for i, t in enumerate(static) if t["status"] == "failed"} == failing, json.dumps(static, indent=1)
    assert all("needs-gpu" in t["tags"] and t["score"] == 0 for t in r["tests"][2:])
    assert r["score"] == 2 - len(failing)


def test_ex07_ptx_layout_tables_match_the_isa():
    """The emulator's layout (coded from the PTX ISA's formulas for m16n8k32 .s8) covers every element of
    A, B and D exactly once, and gives the ISA's registers for lane 5 (g = 1, t = 1)."""
    for fn, n_el, shape in ((t07.ptx_a, 16, (16, 32)), (t07.ptx_b, 8, (32, 8)), (t07.ptx_c, 4, (16, 8))):
        seen = np.zeros(shape, int)
        for lane in range(32):
            g, t = divmod(lane, 4)
            for i in range(n_el):
                seen[fn(g, t, i)] += 1
        assert (seen == 1).all(), fn.__name__
    assert [t07.ptx_a(1, 1, i) for i in (0, 3, 4, 8, 12, 15)] == [(1, 4), (1, 7), (9, 4), (1, 20), (9, 20), (9, 23)]
    assert [t07.ptx_b(1, 1, i) for i in (0, 3, 4, 7)] == [(4, 1), (7, 1), (20, 1), (23, 1)]
    assert [t07.ptx_c(1, 1, i) for i in range(4)] == [(1, 2), (1, 3), (9, 2), (9, 3)]


def test_ex07_lab_v06_ldmatrix_loads_the_same_a_registers():
    """Corroboration from a kernel that passes its exact GPU tests: int8/v06_mma_gemm.cu fills A with one
    ldmatrix.x4 whose lanes 0-15 address rows 0-15 at byte 0 and lanes 16-31 the same rows at byte 16.
    Matrix q comes from lanes 8q..8q+7, and register q of a lane is row lane/4, bytes 4(lane%4).. of matrix
    q: so register q holds row g + 8(q & 1), bytes 16(q >> 1) + 4t .. — the solution's a[0..3]."""
    regs = []
    for q in range(4):
        addr_lanes = range(8 * q, 8 * q + 8)
        rows = [lane & 15 for lane in addr_lanes]
        byte = {16 * (lane >> 4) for lane in addr_lanes}
        assert len(byte) == 1
        regs.append((rows[0], byte.pop()))  # (row of the matrix's first row, byte offset)
    assert tuple(regs) == t07.SOLUTION.a


@pytest.mark.parametrize("shape", [(16, 8, 32), (5, 20, 96), (37, 72, 416), (24, 44, 160), (1, 1, 32), (33, 17, 256)])
def test_ex07_emulated_solution_is_exactly_x_times_w_transposed(shape):
    """Each lane's registers filled as the solution fills them, placed where the PTX ISA says the
    hardware reads them, multiplied, and stored where the solution stores them: the int32 sums are
    exactly X·Wᵀ (every element written once), and with the scales the result is the a8w8 reference."""
    M, N, K = shape
    inp = problems.get("a8w8").inputs(M, N, K, np.random.default_rng(M * N + K))
    raw = t07.emulate(inp["x"], inp["w"])
    assert not np.isnan(raw).any() and np.array_equal(raw, problems.int8_product(inp["x"], inp["w"]))
    scaled = t07.emulate(inp["x"], inp["w"], inp["x_scale"], inp["w_scale"])
    assert np.allclose(scaled, problems.get("a8w8").reference(inp), rtol=1e-12, atol=0)


@pytest.mark.parametrize("name", [n for n, v in WRONG07.items() if v[1] is not None])
def test_ex07_grader_names_each_fragment_mistake(name):
    """What each wrong kernel of WRONG07 computes (its loads and stores emulated) is not X·Wᵀ, and the
    grader fails it on every case: with that mistake's kind and hint wherever the shape can show it."""
    ex = grading.get("ex07")
    kind, what, mapping = WRONG07[name][1]
    named = 0
    for case in ex.cases:
        inp = ex.task.inputs(np.random.default_rng(7), **case.shape)
        ref = ex.task.reference(inp)
        got = t07.emulate(inp["x"], inp["w"], inp["x_scale"], inp["w_scale"], mapping=mapping)
        with np.errstate(invalid="ignore"):
            got = got.astype(np.float32).astype(np.float16)
        ok, text, k = runner.evaluate(ex, got, ref, inputs=inp)
        want = kind if _ex07_shows(WRONG07[name][1], case.shape) else "wrong"
        assert not ok and k == want, (case.shape, k, text)
        if k == kind:
            assert f"the output is exactly what a kernel with {what} gives" in text and ex.hint(k)
            named += 1
    assert named >= len(ex.cases) - 1 and named >= 3


def test_ex07_requires_sm80_and_k_a_multiple_of_32():
    ex = grading.get("ex07")
    assert ex.requires == "mma_s8_m16n8k32" and all(c.requires == ex.requires for c in ex.cases)
    assert device.CAPABILITIES[ex.requires].min_cc == (8, 0)
    assert all(a >= "sm_80" for s in ex.static for a in s.archs)
    assert all(c.shape["K"] % 32 == 0 for c in ex.cases) and any(c.shape["K"] == 32 for c in ex.cases)
    assert any(c.shape["K"] % 128 for c in ex.cases)
    with pytest.raises(ValueError, match="K must be a multiple of 32"):
        launchers.a8w8_mma_tile(None, np.zeros((1, 48), np.int8), None, np.zeros((1, 48), np.int8), None, None)


def test_a_case_must_name_a_known_device_capability():
    from labkernels.grading.exercise import Case, register

    ex = dataclasses.replace(grading.get("ex07"), id="ex99_bad", cases=(Case({"M": 1, "N": 1, "K": 32},
                                                                             requires="warp_drive"),))
    with pytest.raises(ValueError, match="requires"):
        register(ex)
    assert "ex99_bad" not in [e.id for e in grading.all_exercises()]



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


# --------------------------------------------------------------------------
# ex06 and ex07 on a GPU (skipped without one): the solutions pass, the stubs and the wrong kernels fail.
# --------------------------------------------------------------------------


def _gpu_lacks(ex) -> str:
    g = device.gpu()
    if ex.requires and g is not None and not g.has(ex.requires):
        return f"{ex.id} needs {ex.requires}; this GPU is {g.name} (sm_{g.cc[0]}{g.cc[1]})"
    return ""


def _numeric(r) -> list:
    """The case tests of a GradeResult ("ex06 M=1 N=64 K=256"): not the compiler's checks, not the timing."""
    return [t for t in r.tests if t.name.split(" ", 1)[1].startswith("M=")]


@pytest.mark.gpu
@pytest.mark.parametrize("path", [SOL06, SOL07], ids=["ex06", "ex07"])
def test_gpu_int8_solution_passes(path):
    ex = grading.get(path.stem[:4])
    r = grading.check(ex, str(path), hidden=True)
    cases = _numeric(r)
    assert len(cases) == len(ex.cases) and all(t.passed for t in r.tests[:len(ex.static)]), str(r)
    if _gpu_lacks(ex):  # an sm_75 GPU: the grader says so, and scores nothing, for the numeric tests
        assert all(t.status == "needs_gpu" and t.kind == "needs_arch" for t in cases), str(r)
        return
    assert r.on_gpu and all(t.passed and t.on_gpu for t in cases), str(r)
    if ex.perf is not None:
        perf = r.tests[-1]
        assert perf.leaderboard and perf.score > 0 and "FLAGGED" not in perf.output, perf.output


@pytest.mark.gpu
def test_gpu_int8_stubs_fail_cleanly():
    for ex_id, path in (("ex06", EXE / "ex06_dp4a_dot.cu"), ("ex07", EXE / "ex07_mma_fragment.cu")):
        ex = grading.get(ex_id)
        r = grading.check(ex_id, str(path), quiet=True)
        assert r.score == 0 and r.failed, str(r)
        if not _gpu_lacks(ex):
            assert all(t.kind == "empty" for t in _numeric(r)), str(r)


def _gpu_wrong(ex_id: str, text: str, kinds: set, says: str = ""):
    """Grade a wrong kernel on the GPU: its numeric tests fail (unless ``kinds`` is empty: then they
    pass), the first failure has one of ``kinds`` and its output says ``says``."""
    ex = grading.get(ex_id)
    if _gpu_lacks(ex):
        pytest.skip(_gpu_lacks(ex))
    r = grading.check(ex_id, text, hidden=True, perf=False, quiet=True)
    cases = _numeric(r)
    assert len(cases) == len(ex.cases) and all(t.on_gpu for t in cases), str(r)
    if not kinds:
        assert all(t.passed for t in cases), str(r)
        return r
    failed = [t for t in cases if not t.passed]
    assert failed and failed[0].kind in kinds, str(r)
    assert says in failed[0].output, failed[0].output
    return r


@pytest.mark.gpu
@pytest.mark.parametrize("name", list(WRONG06))
def test_gpu_ex06_wrong_submission_fails_with_its_reason(name):
    text, failing_static, kinds, says = WRONG06[name]
    r = _gpu_wrong("ex06", text, kinds, says)
    assert {i for i, t in enumerate(r.tests[:3]) if not t.passed} == failing_static, str(r)
    if name == "no_tail_guard":  # K/4 = 64 words fills the warp twice: the first case cannot show it
        assert _numeric(r)[0].passed and not all(t.passed for t in _numeric(r)[1:]), str(r)


@pytest.mark.gpu
@pytest.mark.parametrize("name", list(WRONG07))
def test_gpu_ex07_wrong_submission_fails_with_its_reason(name):
    """The real kernels behave as their emulation above says: every case fails, named where it can be."""
    text, mistake, kinds, failing_static = WRONG07[name]
    ex = grading.get("ex07")
    first = kinds if mistake is None or _ex07_shows(mistake, ex.cases[0].shape) else {"wrong"}
    r = _gpu_wrong("ex07", text, first)
    assert {i for i, t in enumerate(r.tests[:2]) if not t.passed} == failing_static, str(r)
    for case, t in zip(ex.cases, _numeric(r)):
        shows = mistake is None or _ex07_shows(mistake, case.shape)
        assert not t.passed and t.kind in (kinds if shows else {"wrong"}), str(r)
