"""scripts/sanitize.py without a GPU: the parser of compute-sanitizer's output, the shapes it picks,
the worker's marker protocol (Numba kernels in the simulator), the orchestration (a stand-in
sanitizer and worker: a finding, a crash, a lost context, a timeout), and the clear errors when
compute-sanitizer or a GPU is missing. The sweep itself runs on a GPU (benchmarks/NOTES.md)."""
import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from labkernels import problems, registry

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "sanitize.py"
_spec = importlib.util.spec_from_file_location("sanitize", SCRIPT)
sz = importlib.util.module_from_spec(_spec)
sys.modules["sanitize"] = sz  # (dataclasses look their module up while the class is made)
_spec.loader.exec_module(sz)


def marker(event, **kw):
    return sz.MARK + json.dumps({"event": event, **kw})


def begin(v, M=3, N=72, K=384, **params):
    return marker("begin", variant=v, M=M, N=N, K=K, params=params)


def end(v, status="PASS", **kw):
    return marker("end", variant=v, status=status, message=kw.pop("message", ""), seed=kw.pop("seed", 7))


# --------------------------------------------------------------------------
# The parser, on output in the form compute-sanitizer prints it.
# --------------------------------------------------------------------------

MEMCHECK = "\n".join([
    "========= COMPUTE-SANITIZER",
    marker("start", pid=1234, variants=["dequant/v02_gemv_warp", "fp16/v03_gemv_warp"]),
    begin("dequant/v02_gemv_warp", M=3, N=72, K=384),
    "========= Invalid __global__ write of size 2 bytes",
    "=========     at w4a16_gemv_warp(const __half *, const unsigned char *, const __half *, const unsigned char *, "
    "__half *, int, int, int, int)+0x4d0 in v02_gemv_warp.cu:97",
    "=========     by thread (31,0,0) in block (17,0,0)",
    "=========     Address 0x7f3c4e000d80 is out of bounds",
    "=========     and is 1 bytes after the nearest allocation at 0x7f3c4e000b00 of size 432 bytes",
    "=========     Device Frame: w4a16_gemv_warp+0x4d0 in v02_gemv_warp.cu:97",
    "=========",
    "========= Invalid __global__ write of size 2 bytes",
    "=========     at w4a16_gemv_warp(...)+0x4d0 in v02_gemv_warp.cu:97",
    "=========     by thread (0,0,0) in block (18,0,0)",
    "=========     Address 0x7f3c4e000d82 is out of bounds",
    "=========",
    end("dequant/v02_gemv_warp", "PASS", message="PASS dequant/v02_gemv_warp [w4a16] M=3 N=72 K=384"),
    begin("fp16/v03_gemv_warp", M=1, N=136, K=256),
    end("fp16/v03_gemv_warp", "PASS"),
    marker("done"),
    "========= ERROR SUMMARY: 2 errors",
])


def test_memcheck_findings_are_attributed_to_their_launch():
    rep = sz.parse_log(MEMCHECK)
    assert rep.started and rep.done and not rep.aborted and not rep.unattributed
    assert rep.error_summary == 2 and rep.total == 2 and rep.race_summary is None
    a, b = rep.sections
    assert (a.variant, a.shape["M"], a.status, a.seed) == ("dequant/v02_gemv_warp", 3, "PASS", 7)
    assert a.count() == 2 and b.count() == 0 and b.status == "PASS"
    f = a.findings[0]
    assert f.kind == "Invalid __global__ write of size 2 bytes" and not f.late
    assert f.where.startswith("w4a16_gemv_warp(") and f.where.endswith("in v02_gemv_warp.cu:97")
    assert "Address 0x7f3c4e000d80 is out of bounds" in f.lines
    assert rep.attributed() == 2


def test_a_clean_racecheck_run():
    text = "\n".join(["========= COMPUTE-SANITIZER", begin("dequant/v05_gemm_wmma"), end("dequant/v05_gemm_wmma"),
                      marker("done"), "========= RACECHECK SUMMARY: 0 hazards displayed (0 errors, 0 warnings)"])
    rep = sz.parse_log(text)
    assert rep.race_summary == (0, 0, 0) and rep.total == 0 and rep.error_summary is None
    assert rep.sections[0].count() == 0 and rep.done


def test_racecheck_counts_the_race_analysis_not_each_hazard_record():
    """``--racecheck-report all`` prints each hazard and the analysis of the race they make up."""
    text = "\n".join([
        begin("dequant/v07_gemm_mma", M=17, N=136, K=256),
        "========= ERROR: Potential WAW hazard detected at __shared__ 0x0 in block (0, 0, 0) :",
        "=========     Write Thread (31, 0, 0) at 0x00000170 in v07_gemm_mma.cu:142:w4a16_gemm_mma(...)",
        "=========     Write Thread (0, 0, 0) at 0x00000170 in v07_gemm_mma.cu:142:w4a16_gemm_mma(...)",
        "=========     Current Value : 13, Incoming Value : 0",
        "=========",
        "========= WARN:(Warp Level Programming) Potential RAW hazard detected at __shared__ 0x80 in block (1, 0, 0) :",
        "=========     Write Thread (3, 0, 0) at 0x000001a0 in v07_gemm_mma.cu:150:w4a16_gemm_mma(...)",
        "=========",
        "========= Error: Race reported between Write access at 0x170 in v07_gemm_mma.cu:142:w4a16_gemm_mma(...)",
        "=========     and Read access at 0x1f0 in v07_gemm_mma.cu:160:w4a16_gemm_mma(...) [4 hazards]",
        "=========",
        end("dequant/v07_gemm_mma", "PASS"),
        "========= RACECHECK SUMMARY: 1 hazard displayed (1 error, 0 warnings)",
    ])
    rep = sz.parse_log(text)
    s = rep.sections[0]
    assert len(s.findings) == 3 and s.count() == 1 and rep.total == 1
    (race,) = s.counted()
    assert race.kind.startswith("Error: Race reported") and race.where == "v07_gemm_mma.cu:142:w4a16_gemm_mma(...)"
    assert [f.hazard_detail for f in s.findings] == [True, True, False]


def test_racecheck_hazard_records_alone_still_count():
    text = "\n".join([begin("fp16/v02_naive"),
                      "========= ERROR: Potential RAW hazard detected at __shared__ 0x10 in block (2, 0, 0) :",
                      "=========     Read Thread (1, 0, 0) at 0x00000200 in v02_naive.cu:40:fp16_naive(...)",
                      end("fp16/v02_naive")])
    assert sz.parse_log(text).sections[0].count() == 1


@pytest.mark.parametrize("kind", [
    "Uninitialized __global__ memory read of size 4 bytes",  # initcheck
    "Barrier error detected. Divergent thread(s) in warp",  # synccheck
    "Invalid __shared__ read of size 16 bytes",  # memcheck
    "Misaligned Shared or Local Address",
])
def test_every_tool_s_report_counts(kind):
    text = "\n".join([begin("dequant/v06_mma_skinny", M=130, N=136, K=256),
                      f"========= {kind}",
                      "=========     at 0x2f0 in /tmp/v06_mma_skinny.cu:210:w4a16_mma_skinny(...)",
                      "=========     by thread (37,0,0) in block (0,3,1)",
                      "=========",
                      end("dequant/v06_mma_skinny"),
                      "========= ERROR SUMMARY: 1 error"])
    rep = sz.parse_log(text)
    (f,) = rep.sections[0].findings
    assert f.kind == kind and f.where == "/tmp/v06_mma_skinny.cu:210:w4a16_mma_skinny(...)" and rep.total == 1


def test_late_reports_go_to_the_last_launch_and_early_ones_to_nobody():
    text = "\n".join([
        "========= Internal Sanitizer Error: something before the first kernel",
        begin("fp16/v02_naive"), end("fp16/v02_naive"),
        "========= Invalid __global__ read of size 2 bytes",  # printed after the end marker
        "=========     at fp16_naive(...)+0x90 in v02_naive.cu:31",
        begin("fp16/v03_gemv_warp"),  # the worker died here: no end marker
        "========= Target application returned an error",
        "========= ERROR SUMMARY: 2 errors",
    ])
    rep = sz.parse_log(text)
    assert [f.kind for f in rep.unattributed] == ["Internal Sanitizer Error: something before the first kernel"]
    naive, gemv = rep.sections
    assert naive.count() == 1 and naive.findings[0].late and naive.findings[0].variant == "fp16/v02_naive"
    assert gemv.status is None and gemv.count() == 0  # "Target application returned an error" is not a finding
    assert rep.target_error and not rep.done


def test_summaries_of_several_processes_add_up_and_garbage_is_ignored():
    text = "\n".join(["========= ERROR SUMMARY: 0 errors", "========= ERROR SUMMARY: 3 errors",
                      sz.MARK + "{not json", "plain output of the worker", "=========   "])
    rep = sz.parse_log(text)
    assert rep.error_summary == 3 and rep.sections == [] and rep.unattributed == []


def test_a_report_naming_another_variant_s_kernel_goes_to_that_variant():
    """Markers place a report by when it was printed; the kernel it names says who caused it."""
    text = "\n".join([
        "========= Invalid __global__ read of size 2 bytes",  # before any marker, but it names its kernel
        "=========     at fp16_gemv_warp(const __half *, const __half *, __half *, int, int, int)+0x90 in v03.cu:40",
        "=========",
        begin("fp16/v02_naive"), end("fp16/v02_naive"),
        begin("fp16/v01_naive_numba"),
        "========= Invalid __global__ write of size 2 bytes",  # printed late: v02's kernel, in v01's markers
        "=========     at fp16_naive(const __half *, const __half *, __half *, int, int, int)+0x1f0 in v02_naive.cu:33",
        "=========",
        "========= Invalid __global__ write of size 2 bytes",  # v01's own (Numba's mangled name)
        "=========     at _ZN8__main__16fp16_naive_numbaB2v1E5ArrayI6float16Li2E+0x3c0",
        "=========",
        end("fp16/v01_naive_numba"),
    ])
    rep = sz.parse_log(text)
    owners = sz.kernel_owners(registry.variants(family="fp16"))
    assert owners["fp16_naive"] == "fp16/v02_naive" and owners["fp16_naive_numba"] == "fp16/v01_naive_numba"
    assert "fp16/v00_cublas" not in owners.values()
    sz.reattribute([f for s in rep.sections for f in s.findings] + rep.unattributed, owners)
    res = sz.ToolResult("memcheck", sections=rep.sections,
                        unattributed=[f for f in rep.unattributed if f.variant is None])
    res.sections += [sz.Section(f.variant, {}, "MOVED", findings=[f]) for f in rep.unattributed if f.variant]
    st = {v: sz.variant_status(res, v) for v in ("fp16/v01_naive_numba", "fp16/v02_naive", "fp16/v03_gemv_warp")}
    assert {v: x["errors"] for v, x in st.items()} == {"fp16/v01_naive_numba": 1, "fp16/v02_naive": 1,
                                                     "fp16/v03_gemv_warp": 1}
    assert st["fp16/v02_naive"]["findings"][0]["moved"] and not st["fp16/v01_naive_numba"]["findings"][0]["moved"]
    assert [s["errors"] for s in st["fp16/v01_naive_numba"]["shapes"]] == [1]  # its own, not v02's
    assert st["fp16/v03_gemv_warp"]["shapes"] == [] and not res.unattributed


# --------------------------------------------------------------------------
# Shapes.
# --------------------------------------------------------------------------


def _check_shapes(v, shapes):
    prob = problems.get(v.fmt)
    assert shapes, v.id
    for s in shapes:
        assert v.supports(s.M), (v.id, s)
        p = {**prob.params, **s.params}
        assert s.K % prob.k_multiple(**p) == 0, (v.id, s)
        assert s.N in (72, 136) and s.N % 64 and s.K % 1024, (v.id, s)  # no 64-wide N tile, no whole 1024 chunk
        assert s.M == v.max_m or s.M == getattr(v, "min_m", 1) or s.M in sz.MS, (v.id, s)
        problems.get(v.fmt).inputs(s.M, s.N, s.K, __import__("numpy").random.default_rng(0), **s.params)
    assert any(s.K % 256 for s in shapes), v.id  # a K tail past the last 256-wide step


@pytest.mark.parametrize("quick", [False, True])
def test_shapes_respect_max_m_and_the_k_multiple_and_avoid_tile_multiples(quick):
    for v in registry.variants():
        shapes = sz.shapes_for(v, quick)
        _check_shapes(v, shapes)
        ms = sorted({s.M for s in shapes})
        if v.max_m is None and getattr(v, "min_m", 1) == 1:
            assert ms == ([1, 130] if quick else [1, 3, 17, 130]), v.id
            assert any(m % 16 for m in ms if m > 1)  # not a multiple of the 16-row MMA tile
        if v.max_m is not None and v.max_m < 130:
            assert v.max_m in ms and max(ms) == v.max_m, v.id  # the GEMV's own edge
        assert len(shapes) == len(set((s.M, s.N, s.K, tuple(sorted(s.params.items()))) for s in shapes))


def test_w4a16_has_a_zero_point_case_and_fp16_has_none():
    for v in registry.variants(fmt="w4a16"):
        zs = [s for s in sz.shapes_for(v) if s.params.get("zeros")]
        assert len(zs) == 1 and zs[0].K % 128 == 0, v.id
    assert not any(s.params for v in registry.variants(fmt="fp16") for s in sz.shapes_for(v))


def test_shapes_of_a_variant_with_a_small_max_m_and_a_coarse_k_multiple(monkeypatch):
    v = registry.Variant(id="dequant/v99_test", family="dequant", fmt="w4a16", op="gemv", impl="cupy",
                         launch=lambda **k: None, max_m=4)
    shapes = sz.shapes_for(v)
    assert sorted({s.M for s in shapes}) == [1, 3, 4]
    monkeypatch.setitem(problems.PROBLEMS, "w4a16", problems.Problem(
        fmt="w4a16", description="", make_inputs=None, reference=None, params={"group_size": 256, "zeros": False},
        k_multiple=lambda group_size=128, zeros=False: group_size))
    assert {s.K for s in sz.shapes_for(v)} == {256, 512}  # 384 and 256 rounded up to whole groups of 256


def test_variant_selection_skips_library_peers_and_says_why():
    ids, skipped = sz.select_variants(registry.variants(), ["dequant"])
    assert all(i.startswith("dequant/") for i in [*ids, *skipped])
    assert skipped["dequant/v00_torch_int4"].startswith("library peer")
    for vid, why in skipped.items():
        assert why, vid
    ids2, skipped2 = sz.select_variants(registry.variants(), ["v02_gemv_warp"])
    assert set(ids2) | set(skipped2) == {"dequant/v02_gemv_warp"}
    with pytest.raises(ValueError, match="'nope' matches no variant; known: "):
        sz.select_variants(registry.variants(), ["fp16", "nope"])


def test_tool_flags():
    assert sz.tool_flags("memcheck", "") == ["--tool", "memcheck", "--error-exitcode", "99", "--show-backtrace",
                                             "device", "--report-api-errors", "no", "--destroy-on-device-error",
                                             "kernel"]
    helptext = "--tool --error-exitcode --padding <bytes> --racecheck-report"
    assert sz.tool_flags("memcheck", helptext)[-2:] == ["--padding", "256"]
    assert "--show-backtrace" not in sz.tool_flags("memcheck", helptext)  # an option this version lacks
    assert sz.tool_flags("racecheck", "")[-2:] == ["--racecheck-report", "all"]
    with pytest.raises(ValueError, match="unknown tool 'leakcheck'"):
        sz.parse_tools("memcheck,leakcheck")
    assert sz.parse_tools(None) == list(sz.TOOLS) and sz.parse_tools("synccheck, memcheck") == ["synccheck", "memcheck"]


# --------------------------------------------------------------------------
# The worker's own protocol (Numba kernels in the simulator, no sanitizer).
# --------------------------------------------------------------------------


def test_the_worker_marks_every_launch(monkeypatch, capsys):
    cupy = pytest.importorskip("cupy")
    from labkernels import build, device

    if device.gpu() is not None:
        pytest.skip("on a GPU the worker is exercised by the sweep itself")
    # The worker changes process-wide settings (no memory pool, -lineinfo): undo them afterwards.
    monkeypatch.setattr(build, "load_module", build.load_module)
    monkeypatch.setattr(cupy.cuda, "set_allocator", lambda *a: None)
    monkeypatch.setattr(cupy.cuda, "set_pinned_memory_allocator", lambda *a: None)
    monkeypatch.setattr(sz, "shapes_for", lambda v, quick=False: [sz.Shape(1, 40, 256), sz.Shape(3, 24, 384)]
                        + ([sz.Shape(2, 16, 256, {"zeros": True})] if v.fmt == "w4a16" else []))
    ids = ["fp16/v01_naive_numba", "dequant/v01_gemv_numba"]
    assert sz.worker(ids) == 0
    rep = sz.parse_log(capsys.readouterr().out)
    assert rep.started and rep.done
    assert [(s.variant, s.shape["M"], s.status) for s in rep.sections] == [
        ("fp16/v01_naive_numba", 1, "PASS"), ("fp16/v01_naive_numba", 3, "PASS"),
        ("dequant/v01_gemv_numba", 1, "PASS"), ("dequant/v01_gemv_numba", 3, "PASS"),
        ("dequant/v01_gemv_numba", 2, "PASS")]
    assert rep.sections[-1].shape["params"] == {"zeros": True}
    assert all(isinstance(s.seed, int) for s in rep.sections)


# --------------------------------------------------------------------------
# The orchestration, with a stand-in sanitizer and a stand-in worker.
# --------------------------------------------------------------------------

FAKE_SANITIZER = """\
#!{python}
# Stands in for compute-sanitizer: skips its options, runs the command, passes its output
# through, and adds the summary (each "========= Invalid" line the worker printed is one error).
import subprocess, sys
args = sys.argv[1:]
while args and args[0].startswith("--"):
    args = args[2:]
print("========= COMPUTE-SANITIZER", flush=True)
p = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
n = 0
for line in p.stdout:
    n += line.startswith("========= Invalid")
    sys.stdout.write(line)
    sys.stdout.flush()
rc = p.wait()
print(f"========= ERROR SUMMARY: {{n}} error{{'s' if n != 1 else ''}}", flush=True)
sys.exit(99 if n else rc)
"""

FAKE_WORKER = """\
import json, os, sys, time
def mark(event, **kw):
    print("@@sanitize " + json.dumps({"event": event, **kw}), flush=True)
mark("start", variants=sys.argv[1:])
for v in sys.argv[1:]:
    mark("begin", variant=v, M=3, N=72, K=384, params={})
    what = v.split("/")[0]
    if what == "oob":
        print("========= Invalid __global__ read of size 4 bytes", flush=True)
        print("=========     at k()+0x10 in k.cu:5", flush=True)
        print("=========", flush=True)
    if what == "crash":
        os._exit(139)
    if what == "sticky":
        mark("end", variant=v, status="ERROR", message="CUDARuntimeError: cudaErrorIllegalAddress", seed=None)
        mark("abort", variant=v)
        sys.exit(3)
    if what == "hang":
        time.sleep(120)
    mark("end", variant=v, status="FAIL" if what == "wrong" else "PASS", message="", seed=1)
mark("done")
"""


@pytest.fixture
def fakes(tmp_path):
    san = tmp_path / "compute-sanitizer"
    san.write_text(FAKE_SANITIZER.format(python=sys.executable))
    san.chmod(0o755)
    w = tmp_path / "worker.py"
    w.write_text(FAKE_WORKER)
    out = tmp_path / "out"
    out.mkdir()
    return str(san), (lambda ids, quick: [sys.executable, str(w), *ids]), out


def test_run_tool_attributes_findings_and_restarts_after_crashes(fakes):
    san, worker, out = fakes
    ids = ["clean/a", "oob/b", "crash/c", "clean/d", "sticky/e", "wrong/f", "clean/g"]
    said = []
    res = sz.run_tool("memcheck", ids, sanitizer=san, out_dir=out, timeout=60, worker=worker, log=said.append)
    assert len(res.runs) == 3  # the first worker died in crash/c, the second lost its context in sticky/e
    assert [(r["returncode"], r["sanitizer_total"], r["done"]) for r in res.runs] == [(99, 1, False), (3, 0, False),
                                                                                        (0, 0, True)]
    assert res.runs[1]["variants"] == ["clean/d", "sticky/e", "wrong/f", "clean/g"]
    st = {v: sz.variant_status(res, v) for v in ids}
    assert {v: s["status"] for v, s in st.items()} == {
        "clean/a": "clean", "oob/b": "findings", "crash/c": "crashed", "clean/d": "clean", "sticky/e": "crashed",
        "wrong/f": "clean", "clean/g": "clean"}
    assert st["oob/b"]["errors"] == 1 and st["oob/b"]["findings"][0]["where"] == "k()+0x10 in k.cu:5"
    assert "the worker stopped mid-launch (exit status 99)" in st["crash/c"]["why"] and "lost the CUDA context" in st["sticky/e"]["why"]
    assert st["wrong/f"]["shapes"][0]["status"] == "FAIL"
    assert len(said) == 2 and not res.unattributed and not res.unattributed_count
    log = (out / "memcheck.log").read_text()
    assert log.count("#### ") == 3 and "Invalid __global__ read" in log

    summary = sz.summarize({"memcheck": res}, ids, {"fp16/v00_cublas": "library peer"}, {"tools": ["memcheck"]})
    assert not summary["clean"]
    assert set(summary["problems"]) == {"oob/b [memcheck]", "crash/c [memcheck]", "sticky/e [memcheck]",
                                        "wrong/f [memcheck]"}
    text = sz.table(summary)
    rows = {ln.split()[0]: ln for ln in text.splitlines() if ln and not ln.startswith(" ")}
    assert "1 error " in rows["oob/b"] and "crashed" in rows["crash/c"] and "clean" in rows["clean/a"]
    assert "1/1 pass" in rows["clean/a"] and "1 FAIL" in rows["wrong/f"]
    assert rows["fp16/v00_cublas"].split(None, 1)[1] == "skipped: library peer"
    assert "NOT CLEAN: 4 problem(s)" in text and "Invalid __global__ read of size 4 bytes — at k()+0x10 in k.cu:5" in text


def test_run_tool_timeout_kills_the_worker_and_reports_the_rest(fakes):
    san, worker, out = fakes
    res = sz.run_tool("racecheck", ["clean/a", "hang/b", "clean/c"], sanitizer=san, out_dir=out, timeout=8,
                      worker=worker, log=lambda *a: None)
    st = {v: sz.variant_status(res, v)["status"] for v in ("clean/a", "hang/b", "clean/c")}
    assert st == {"clean/a": "clean", "hang/b": "timeout", "clean/c": "not run"}
    assert res.runs[0]["timed_out"] and res.runs[0]["seconds"] < 30


def test_a_worker_that_cannot_start_leaves_every_variant_not_run_with_its_last_words(fakes):
    san, _, out = fakes
    broken = lambda ids, quick: [sys.executable, "-c", "import sys; print('ImportError: No module named cupy'); sys.exit(1)"]  # noqa: E731
    res = sz.run_tool("initcheck", ["clean/a", "clean/b"], sanitizer=san, out_dir=out, timeout=60, worker=broken)
    assert set(res.not_run) == {"clean/a", "clean/b"}
    assert "exited 1 before its first launch" in res.not_run["clean/a"] and "No module named cupy" in res.not_run["clean/a"]
    summary = sz.summarize({"initcheck": res}, ["clean/a", "clean/b"], {}, {"tools": ["initcheck"]})
    assert not summary["clean"] and "not run" in sz.table(summary)


def test_a_clean_sweep_is_clean(fakes):
    san, worker, out = fakes
    ids = ["clean/a", "clean/b"]
    results = {t: sz.run_tool(t, ids, sanitizer=san, out_dir=out, timeout=60, worker=worker) for t in sz.TOOLS}
    summary = sz.summarize(results, ids, {}, {"tools": list(sz.TOOLS)})
    assert summary["clean"] and summary["problems"] == []
    text = sz.table(summary)
    assert "CLEAN: no finding, every check passed" in text and "4/4 pass" in text
    assert sorted(os.listdir(out)) == sorted(f"{t}.log" for t in sz.TOOLS)


# --------------------------------------------------------------------------
# What is missing: compute-sanitizer, a GPU.
# --------------------------------------------------------------------------


def test_find_sanitizer_looks_on_path_then_in_the_install_directories(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(sz.SanitizerNotFound, match="compute-sanitizer not found: not on PATH") as e:
        sz.find_sanitizer(env={"PATH": str(empty)}, search_dirs=[str(empty)])
    assert "--sanitizer" in str(e.value) and str(empty) in str(e.value)
    toolkit = tmp_path / "cuda-13.0"
    (toolkit / "compute-sanitizer").mkdir(parents=True)
    exe = toolkit / "compute-sanitizer" / "compute-sanitizer"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    assert sz.find_sanitizer(env={"PATH": str(empty)}, search_dirs=[str(toolkit / "bin"), str(toolkit)]) == str(exe)
    assert sz.find_sanitizer(env={"PATH": str(exe.parent)}, search_dirs=[]) == str(exe)
    with pytest.raises(sz.SanitizerNotFound, match=r"\$COMPUTE_SANITIZER=/nope/cs: no such executable"):
        sz.find_sanitizer(env={"COMPUTE_SANITIZER": "/nope/cs", "PATH": str(exe.parent)})
    assert sz.find_sanitizer(str(exe)) == str(exe)


def _cli(*args, env=None):
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})}, cwd=str(ROOT))


def test_cli_without_compute_sanitizer_says_so_and_exits_2(tmp_path):
    r = _cli("--out", str(tmp_path / "out"), env={"COMPUTE_SANITIZER": str(tmp_path / "missing")})
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "no such executable" in r.stderr and "Traceback" not in r.stderr
    r = _cli("--sanitizer", str(tmp_path / "missing"), "--out", str(tmp_path / "out"))
    assert r.returncode == 2 and "--sanitizer" in r.stderr and "no such executable" in r.stderr
    assert not (tmp_path / "out").exists()


def test_cli_without_a_gpu_says_so_and_exits_2(tmp_path, fakes):
    san, _, _ = fakes
    r = _cli("--sanitizer", san, "--out", str(tmp_path / "out"), env={"LABKERNELS_NO_GPU": "1"})
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "no CUDA GPU here" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_cli_rejects_an_unknown_tool(tmp_path):
    r = _cli("--tools", "memcheck,nope", "--out", str(tmp_path))
    assert r.returncode == 2 and "unknown tool 'nope'" in r.stderr


def test_the_docstring_says_how_to_run_it():
    doc = textwrap.dedent(sz.__doc__)
    assert "python3 scripts/sanitize.py --out $OUT/sanitizer" in doc
    for opt in ("--variants", "--tools", "--quick", "--timeout"):
        assert opt in doc
