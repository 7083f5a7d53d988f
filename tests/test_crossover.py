"""``labkernels crossover`` without a GPU: the modeled run, committed results re-plotted, the
crossovers it reports, and bad input (CPU only; the sweep itself is exercised on a GPU)."""
import dataclasses
import json
import os
import subprocess
import sys
import time

import pytest

from labkernels import crossover as xo, roofline as rl

H100_DIR = "h100-sxm-2026-11-26"


def cli(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "labkernels.cli", "crossover", *args], capture_output=True,
                          text=True, timeout=timeout)


def _committed_h100():
    root = xo.results_root()
    return root is not None and (root / H100_DIR).is_dir()


@pytest.fixture(scope="module")
def h100(tmp_path_factory):
    out = tmp_path_factory.mktemp("h100")
    res = xo.run(out=out, measure=False, gpu="h100-sxm", log=lambda *a: None)
    return res, xo.summarize(res), out


def test_modeled_h100_run_writes_every_file(h100):
    res, text, out = h100
    assert res.mode == "modeled" and res.modeled
    assert sorted(os.listdir(out)) == sorted(xo.FILES)  # and no temporaries left
    data = json.loads((out / "results.json").read_text())
    assert data["mode"] == "modeled" and data["N"] == data["K"] == 8192 and data["ms"][-1] == 16384
    assert set(data["model"]["mma_sync"]) == set(rl.FORMATS)
    assert data["ceilings"]["source"] == "measured"  # the committed H100 ceilings
    csv_text = (out / "results.csv").read_text().splitlines()
    assert csv_text[0].startswith("source,curve,kernel") and any(r.startswith("model,") for r in csv_text)
    for f in ("roofline.png", "sweep.png"):
        assert (out / f).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert text.startswith("labkernels crossover") and "MODELED" in text
    assert {"fp16", "mxfp4", "nvfp4"} <= set(res.kernel_fmts) and not res.model_only
    assert "Winner per M range" in text
    # The Numba simulator pass ran and passed.
    assert res.sim_checks and all(s["status"] == "PASS" for s in res.sim_checks)
    assert "Numba kernels, correctness pass" in text


def test_committed_h100_results_are_replotted(h100):
    if not _committed_h100():
        pytest.skip("no committed H100 results in this checkout")
    res, text, out = h100
    runs = [r["name"] for r in res.committed["runs"]]
    assert res.records and runs and all(n.startswith("h100-sxm-2026-") for n in runs)
    assert "MEASURED earlier on NVIDIA H100 80GB HBM3 (" in text and runs[0] in text
    names = {c.name for c in res.curves}
    assert {"fp16/v00_cublas (peer)", "w4a16 lab (fastest)"} <= names
    # Each (kernel, M) once, though fp16.json and dequant.json both hold cuBLAS at 8192x8192.
    keys = [(r["kernel"], r["M"]) for r in res.records]
    assert len(keys) == len(set(keys))
    # The lab's W4A16 falls behind cuBLAS fp16 between M=16 and M=32 (benchmarks/NOTES.md).
    x = next(x for x in res.measured_x if {x["a"], x["b"]} == {"fp16/v00_cublas (peer)", "w4a16 lab (fastest)"})
    assert [f["between"] for f in x["measured"]] == [[16, 32]]
    assert x["predicted"] == rl.crossovers("w4a16", "fp16", 8192, 8192, res.ceilings, path_b="library",
                                           m_max=4096)
    assert "% of bound" in text and "dequant/v07_gemm_mma" in text
    assert "DISAGREE" in text  # the measured crossover sits ~10x below the model's
    data = json.loads((out / "results.json").read_text())
    assert data["committed"]["runs"] and len(data["records"]) == len(res.records)
    # later runs replace a (kernel, M) point, earlier ones fill in what the later ones lack
    assert {r["date"] for r in res.records} <= {r["date"] for r in data["committed"]["runs"]}


def test_predicted_crossovers_are_roofline_crossovers(h100):
    res, text, _ = h100
    pairs = {(x["a"], x["b"]): x["m"] for x in res.predicted}
    fmts = list(rl.FORMATS)
    assert len(pairs) == len(fmts) * (len(fmts) - 1) // 2
    for (a, b), m in pairs.items():
        assert m == rl.crossovers(a, b, 8192, 8192, res.ceilings, m_max=16384), (a, b)
        if m:
            assert f"{a:>6} / {b:<6} M* = {', '.join(f'{x:.0f}' for x in m)}" in text


def test_model_curves_are_the_three_ceiling_bound():
    c = rl.datasheet_ceilings("l4")
    mc = xo.model_curves(4096, 4096, c, ["fp16", "w4a16"], [1, 64, 4096])
    for f, pts in mc.items():
        for p in pts:
            b = rl.bound(f, p["M"], 4096, 4096, c)
            assert p["time_us"] == b.time_us == max(p["mem_us"], p["mma_us"], p["alu_us"]) and p["kind"] == b.kind


def test_no_committed_results_means_model_only(tmp_path):
    res = xo.run(out=None, measure=False, results=tmp_path, sim_check=False, ms=[1, 64, 4096],
                 formats="fp16,w4a16", log=lambda *a: None)
    assert not res.records and not res.curves and not res.files
    text = xo.summarize(res)
    assert "Measured points: none" in text and "MODELED" in text
    assert all(w["source"] == "modeled" for w in res.winners)


def test_cli_modeled_l4_run_is_fast_and_complete(tmp_path):
    out = tmp_path / "out"
    t0 = time.time()
    r = cli("--model-only", "--gpu", "l4", "--out", str(out))
    took = time.time() - t0
    assert r.returncode == 0, r.stderr
    assert took < 60, took
    assert sorted(os.listdir(out)) == sorted(xo.FILES)
    assert "MODELED" in r.stdout and "NVIDIA L4" in r.stdout and "Measured points: none" in r.stdout
    assert json.loads((out / "results.json").read_text())["ceilings"]["source"] == "datasheet"


@pytest.mark.parametrize("args, msg", [
    (["--formats", "fp16,fp99"], "unknown format 'fp99'"),
    (["--gpu", "h900"], "unknown GPU 'h900'"),
    (["--preset", "llama-9b"], "unknown preset 'llama-9b'"),
    (["--k", "4100"], "K=4100 is not a multiple of the block size of w4a16 (block 128)"),
    (["--k", "4112", "--formats", "fp16,nvfp4,mxfp4"], "mxfp4 (block 32)"),
    (["--ms", "1,x"], "--ms must be comma-separated positive integers"),
    (["--preset", "4096x4096", "--n", "4096"], "either --preset or --n/--k"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, msg):
    out = tmp_path / "out"
    r = cli("--model-only", "--out", str(out), *args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert msg in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not out.exists()  # checked before anything is written
    if "unknown" in msg:
        assert "known:" in r.stderr


def test_unknown_names_list_the_known_ones():
    with pytest.raises(ValueError, match="known: '4096x4096'"):
        xo.resolve_shape("nope")
    with pytest.raises(ValueError, match="'nvfp4'"):
        xo.parse_formats("fp16,fp5")
    assert xo.resolve_shape("28672x8192")[:2] == (28672, 8192)
    xo.check_k(4096 + 16, ["nvfp4", "fp16"])  # K % 16 is all nvfp4 needs


def test_output_dir_that_is_a_file_fails_cleanly(tmp_path):
    f = tmp_path / "taken"
    f.write_text("x")
    r = cli("--model-only", "--out", str(f))
    assert r.returncode == 2 and "cannot write to the output directory" in r.stderr
    assert f.read_text() == "x" and os.listdir(tmp_path) == ["taken"]


def test_unwritable_output_dir_fails_cleanly(tmp_path):
    d = tmp_path / "ro"
    d.mkdir()
    os.chmod(d, 0o500)
    try:
        if os.access(d, os.W_OK):
            pytest.skip("running as root: chmod does not make a folder unwritable")
        for out in (d, d / "sub"):
            r = cli("--model-only", "--out", str(out))
            assert r.returncode == 2 and "cannot write to the output directory" in r.stderr, r.stderr
            assert "Traceback" not in r.stderr
        assert os.listdir(d) == []
    finally:
        os.chmod(d, 0o700)


def test_a_failed_write_leaves_nothing_half_written(tmp_path, monkeypatch):
    def boom(fig, path):
        with open(path, "wb") as f:
            f.write(b"\x89PNG half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(xo, "_save_figure", boom)
    with pytest.raises(ValueError, match="could not write the results"):
        xo.run(out=tmp_path, measure=False, sim_check=False, ms=[1, 16], formats="fp16", log=lambda *a: None)
    assert os.listdir(tmp_path) == []


def test_a_folder_refusing_writes_is_reported_before_any_work(tmp_path, monkeypatch):
    """The unwritable-folder path without relying on chmod (which root ignores)."""
    def refuse(*a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(xo.tempfile, "mkstemp", refuse)
    with pytest.raises(ValueError, match="cannot write to the output directory .*Permission denied"):
        xo.run(out=tmp_path / "out", measure=False, log=lambda *a: None)
    assert os.listdir(tmp_path / "out") == []


def test_gpu_path_plumbing_with_a_stand_in_sweep(tmp_path, monkeypatch):
    """The measuring branch on a CPU: a stand-in GPU, its ceilings, and a stand-in for measuring
    one kernel at one M that returns the committed H100 records (the real sweep is exercised on
    a GPU; failures and resuming: tests/test_crossover_resume.py)."""
    if not _committed_h100():
        pytest.skip("no committed H100 results in this checkout")
    from labkernels import bench, device, registry, specs

    name = "NVIDIA H100 80GB HBM3"
    fake = device.GPU(index=0, name=name, cc=(9, 0), sms=132, l2_bytes=50 << 20, mem_bytes=80 << 30,
                      clock_mhz=1980.0, driver="13.0", runtime="13.2", spec=specs.find_spec(name))
    monkeypatch.setattr(device, "gpu", lambda: fake)
    monkeypatch.setattr(rl, "measure_ceilings", lambda **k: rl.ceilings_for("h100-sxm"))
    committed = {(r["kernel"], r["M"]): r for r in xo.committed_results("h100-sxm")[0]["records"]
                 if (r["N"], r["K"]) == (8192, 8192)}
    committed.pop(("dequant/v00_torch_int4", 16), None)  # one point the stand-in says does not apply
    workloads, measured = [], []

    def make_workload(fmt, N, K, m_max, ms, **params):
        workloads.append((fmt, N, K, params))
        return ("inputs of", fmt)

    def measure_point(v, M, work, ceilings, *, iters):
        assert work == ("inputs of", v.fmt) and iters == 30
        measured.append(v.id)
        r = committed.get((v.id, M))
        # A crossover run's records also carry the path their bound was taken at: not a Record field.
        fields = {f.name for f in dataclasses.fields(bench.Record)}
        return (bench.Record(**{k: x for k, x in r.items() if k in fields}), None) if r else \
            (None, "needs torch (a stand-in's reason)")

    monkeypatch.setattr(xo, "make_workload", make_workload)
    monkeypatch.setattr(xo, "measure_point", measure_point)
    res = xo.run(out=tmp_path, ms=[1, 16, 256, 4096], log=lambda *a: None)
    assert res.mode == "measured" and not res.sim_checks and res.complete
    # One workload per format with kernels, nothing else; w4a16 with the model's group.
    assert [w[0] for w in workloads] == [f for f in rl.FORMATS if registry.variants(fmt=f)]
    assert ("w4a16", 8192, 8192, {"group_size": 128}) in workloads
    assert "fp16/v00_cublas" in measured and "dequant/v00_torch_int4" in measured
    text = xo.summarize(res)
    assert text.count("MEASURED now on NVIDIA H100 80GB HBM3") >= 1 and "MODELED:" not in text
    assert {"fp16/v00_cublas (peer)", "w4a16 lab (fastest)"} <= {c.name for c in res.curves}
    assert res.failures and all(f["status"] == "skipped" for f in res.failures) and "INCOMPLETE" not in text
    assert len(res.records) + len(res.failures) == len(measured)
    assert sorted(os.listdir(tmp_path)) == sorted([*xo.FILES, xo.JOURNAL])
    assert json.loads((tmp_path / "results.json").read_text())["complete"] is True


def test_a_format_without_kernels_is_labelled_model_only(monkeypatch):
    """A format the registry has no kernel for is drawn from the model and said to be."""
    from labkernels import registry

    orig = registry.variants
    monkeypatch.setattr(registry, "variants", lambda *a, **k: [v for v in orig(*a, **k) if v.fmt != "nvfp4"])
    res = xo.run(out=None, measure=False, gpu="h100-sxm", formats=["fp16", "nvfp4"], sim_check=False,
                 log=lambda *a: None)
    assert res.model_only == ["nvfp4"] and "model only (no kernel yet)" in xo.summarize(res)
