"""labkernels.widgets: the dashboard's drawing functions (no widgets needed), the dashboard's
wiring (with ipywidgets, which the notebooks extra installs), and importing without ipywidgets."""
import math
import subprocess
import sys

import pytest

from labkernels import UnsupportedDevice
from labkernels import crossover as xo
from labkernels import roofline as rl
from labkernels import widgets as W

H100 = "h100-sxm" + W.MEASURED
N = K = 8192


def _committed_h100():
    root = xo.results_root()
    return root is not None and (root / "h100-sxm-2026-11-26").is_dir()


needs_committed = pytest.mark.skipif(not _committed_h100(), reason="no committed H100 results in this checkout")


@pytest.fixture(autouse=True)
def no_gpu_here(monkeypatch):
    """Every test runs as on a machine without a GPU unless it installs a stand-in."""
    monkeypatch.setattr(W, "_here", lambda: None)
    W._measured_here.cache_clear()


def lines(fig):
    return {ln.get_label(): ln for ln in fig.axes[0].get_lines()}


def title(fig):
    return fig.axes[0].get_title().replace("\n", " ")


# --------------------------------------------------------------------------
# Choices and inputs.
# --------------------------------------------------------------------------


def test_gpu_choices_are_the_spec_table_and_the_committed_ceilings():
    from labkernels import specs

    choices = W.gpu_choices()
    assert [c for c in choices if not c.endswith(W.MEASURED)] == [s.key for s in specs._TABLE]
    assert H100 in choices and W.THIS_GPU not in choices  # no GPU here
    assert W.default_gpu() == H100
    c, label = W.ceilings_of(H100)
    assert c.source == "measured" and c == rl.committed_ceilings()["h100-sxm"] and "measured on" in label
    c, label = W.ceilings_of("h100-sxm")
    assert c.source == "datasheet" and "datasheet" in label
    assert W.gpu_key(H100) == W.gpu_key("H100-SXM") == "h100-sxm"


@pytest.mark.parametrize("kwargs, exc, msg", [
    ({"gpu": "h900"}, ValueError, "unknown GPU 'h900'"),
    ({"gpu": 7}, TypeError, "GPU must be a string"),
    ({"formats": ["fp16", "fp5"]}, ValueError, "unknown format 'fp5'"),
    ({"formats": []}, ValueError, "choose at least one format"),
    ({"N": 0}, ValueError, "N must be >= 1"),
    ({"K": 4.5}, TypeError, "K must be an integer"),
    ({"K": 4100}, ValueError, "K=4100 is not a multiple of the block size of w4a16 (block 128)"),
    ({"path": "wgmma"}, ValueError, "unknown path 'wgmma'"),
    ({"tile_m": 0}, ValueError, "tile_m must be >= 1"),
    ({"ms": [0, 4]}, ValueError, "M must be >= 1"),
    ({"gpu": W.THIS_GPU}, UnsupportedDevice, "needs a CUDA GPU"),
])
def test_bad_input_is_a_clear_error(kwargs, exc, msg):
    args = {"gpu": H100, "N": N, "K": K, "formats": ["fp16", "w4a16"], **kwargs}
    gpu, n, k, fmts = args.pop("gpu"), args.pop("N"), args.pop("K"), args.pop("formats")
    with pytest.raises(exc) as e:
        W.draw(gpu, n, k, fmts, **args)
    assert msg in str(e.value)
    if "unknown GPU" in msg:
        assert "known:" in str(e.value) and repr(H100) in str(e.value)


# --------------------------------------------------------------------------
# The figure.
# --------------------------------------------------------------------------


def test_bound_lines_are_the_three_ceiling_bounds():
    fig = W.draw(H100, N, K, ["fp16", "w4a16", "a8w8", "mxfp4"], points=False)
    ls = lines(fig)
    c = rl.committed_ceilings()["h100-sxm"]
    for f in ("fp16", "w4a16", "a8w8", "mxfp4"):
        label = next(lb for lb in ls if lb.startswith(f"{f} three-ceiling bound (MODELED)"))
        xs, ys = ls[label].get_xdata(), ls[label].get_ydata()
        assert xs[0] == 1 and xs[-1] == xo.DEFAULT_MS[-1] and list(xs) == W.m_grid(xo.DEFAULT_MS[-1])
        for m, t in zip(xs, ys):
            assert t == pytest.approx(rl.bound(f, int(m), N, K, c).time_us, rel=1e-12)
    # every format drawn has kernels: none is labelled model-only
    # (tests/test_crossover.py covers a format without kernels)
    assert not any(xo.MODEL_ONLY_LABEL in lb for lb in ls)
    assert not any("MEASURED" in lb for lb in ls)  # points=False
    assert "MODELED" in title(fig) and "ceilings measured on NVIDIA H100" in title(fig)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log" and "M" in ax.get_xlabel()


@pytest.mark.parametrize("gpu, fmts, path", [
    (H100, ["fp16", "w4a16", "a8w8"], "mma_sync"),
    (H100, ["fp16", "w4a16", "a8w8", "mxfp4"], "library"),
    ("b200", ["fp16", "w4a16", "nvfp4", "mxfp8"], "mma_sync"),
    ("l4", list(rl.FORMATS), "mma_sync"),
])
def test_crossover_markers_sit_at_roofline_crossovers(gpu, fmts, path):
    fig = W.draw(gpu, N, K, fmts, path=path, points=False)
    ls = lines(fig)
    c, _ = W.ceilings_of(gpu)
    expected, found = {}, {}
    for i, a in enumerate(fmts):
        for b in fmts[i + 1:]:
            xs = rl.crossovers(a, b, N, K, c, path_a=path, path_b=path, m_max=xo.DEFAULT_MS[-1])
            if xs:
                expected[(a, b)] = xs
    for label, ln in ls.items():
        if "three-ceiling crossover" in label:
            a, b = label.split(" three-ceiling")[0].split(" / ")
            found.setdefault((a, b), []).extend(float(x) for x in ln.get_xdata())
            assert label.endswith("(MODELED)") and ln.get_marker() == "X"
    assert found == expected and expected  # every pair with a crossover is marked, nothing else


def test_w4a16_a8w8_crossover_on_the_h100():
    fig = W.draw(H100, N, K, ["w4a16", "a8w8"], points=False)
    c = rl.committed_ceilings()["h100-sxm"]
    m = rl.crossovers("w4a16", "a8w8", N, K, c, m_max=16384)
    assert len(m) == 1
    ln = lines(fig)[f"w4a16 / a8w8 three-ceiling crossover M* = {m[0]:.0f} (MODELED)"]
    assert list(ln.get_xdata()) == m
    # marker on the bounds: both are (nearly) equal there
    t = ln.get_ydata()[0]
    assert t == pytest.approx(rl.bound("w4a16", int(m[0]), N, K, c).time_us, rel=0.02)
    assert t == pytest.approx(rl.bound("a8w8", int(m[0]), N, K, c).time_us, rel=0.02)


def test_plain_roofline_and_dequant_tiles():
    c = rl.committed_ceilings()["h100-sxm"]
    # 128-row tiles: the dequant never sets the bound on the H100, so no separate plain line
    ls = lines(W.draw(H100, N, K, ["fp16", "w4a16"], plain=True, points=False))
    assert not any("plain roofline" in lb for lb in ls)
    # 16-row tiles: W4A16 turns ALU-bound and crosses fp16; the plain roofline does not see it
    ls = lines(W.draw(H100, N, K, ["fp16", "w4a16"], plain=True, tile_m=16, points=False))
    plain = ls["w4a16 plain roofline, no ALU ceiling (MODELED)"]
    for m, t in zip(plain.get_xdata(), plain.get_ydata()):
        assert t == pytest.approx(rl.bound("w4a16", int(m), N, K, c, alu=False).time_us, rel=1e-12)
    x16 = rl.crossovers("fp16", "w4a16", N, K, c, tile_m=16, m_max=16384)
    assert x16 and rl.crossovers("fp16", "w4a16", N, K, c, alu=False, m_max=16384) == []
    assert list(ls[f"fp16 / w4a16 three-ceiling crossover M* = {x16[0]:.0f} (MODELED)"].get_xdata()) == x16
    text = W.describe(H100, N, K, ["fp16", "w4a16"], tile_m=16, points=False)
    assert f"three-ceiling M* = {x16[0]:.0f}, plain roofline M* = none" in text


@needs_committed
def test_committed_points_are_measured_and_labelled_with_card_and_date():
    fig = W.draw(H100, N, K, ["fp16", "w4a16", "a8w8", "mxfp4"])
    ls = lines(fig)
    meas = [lb for lb in ls if "(MEASURED)" in lb]
    assert {"fp16/v00_cublas (peer) (MEASURED)", "w4a16 lab (fastest) (MEASURED)",
            "dequant/v00_torch_int4 (peer) (MEASURED)", "a8w8 lab (fastest) (MEASURED)"} <= set(meas)
    assert "mxfp4 lab (fastest) (MEASURED)" in meas  # the FP4 GEMV's points (M <= 16)
    assert "MEASURED on NVIDIA H100 80GB HBM3 (2026-11-2" in title(fig)
    # the measured curve is the committed record, point for point
    recs, label = W.measured_points(H100, N, K, ["w4a16"])
    lab = {}
    for r in recs:
        if not xo._is_peer(r["kernel"]) and (r["M"] not in lab or r["time_us"] < lab[r["M"]]):
            lab[r["M"]] = r["time_us"]
    ln = ls["w4a16 lab (fastest) (MEASURED)"]
    assert dict(zip(ln.get_xdata(), ln.get_ydata())) == lab
    # measured crossovers: a marker between the two M measured around it
    x = next(lb for lb in ls if lb.startswith("fp16/v00_cublas (peer) / w4a16 lab (fastest) crossover"))
    assert x.endswith("(MEASURED)") and 16 < ls[x].get_xdata()[0] < 32
    # the datasheet model of the same card shows the same measured points
    assert "MEASURED on NVIDIA H100" in title(W.draw("h100-sxm", N, K, ["fp16", "w4a16"]))


@needs_committed
def test_no_measurements_say_so():
    fig = W.draw("l4", 4096, 4096, ["fp16", "w4a16"])
    assert not any("MEASURED" in lb for lb in lines(fig))
    assert "no committed measurements of l4 at N=4096 K=4096" in title(fig)
    recs, label = W.measured_points(H100, 4096, 4096, ["fp16"])
    assert recs == [] and "no committed measurements of h100-sxm at N=4096 K=4096" in label


def test_given_points_are_drawn():
    pts = [{"kernel": "dequant/v04_gemv_lop3", "fmt": "w4a16", "M": m, "N": N, "K": K, "time_us": t}
           for m, t in ((1, 20.0), (2, 30.0))]
    pts.append({"kernel": "dequant/v04_gemv_lop3", "fmt": "w4a16", "M": 1, "N": 4096, "K": K, "time_us": 1.0})
    fig = W.draw("h100-sxm", N, K, ["w4a16"], points=pts)
    ln = lines(fig)["w4a16 lab (fastest) (MEASURED)"]
    assert list(ln.get_xdata()) == [1, 2] and list(ln.get_ydata()) == [20.0, 30.0]  # other shape left out


def test_draw_into_a_given_axes():
    from matplotlib.figure import Figure

    fig = Figure()
    ax1, ax2 = fig.subplots(1, 2)
    assert W.draw("b200", N, K, ["fp16", "nvfp4"], ax=ax2, points=False) is fig
    assert not ax1.get_lines() and ax2.get_lines()
    assert W.png(fig)[:8] == b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------
# The measured-point cache: measured once, never on a redraw.
# --------------------------------------------------------------------------


def _fake_sweep(calls):
    def measure(n, k, fmts, ms, log):
        calls.append((n, k, tuple(fmts), tuple(ms)))
        recs = [{"kernel": "fp16/v00_cublas" if f == "fp16" else "dequant/v04_gemv_lop3", "fmt": f, "M": m,
                 "N": n, "K": k, "time_us": 10.0 * m + (5 if f == "fp16" else 1)} for f in fmts
                if f in ("fp16", "w4a16") for m in ms]
        return recs, "MEASURED on a stand-in"
    return measure


def test_point_cache_measures_each_shape_and_format_once():
    calls = []
    cache = W.PointCache(measure_fn=_fake_sweep(calls), ms=(1, 16))
    assert cache.get(N, K, ["fp16"]) == ([], "")
    recs, label = cache.measure(N, K, ["fp16", "w4a16", "a8w8"])
    assert calls == [(N, K, ("fp16", "w4a16", "a8w8"), (1, 16))] and len(recs) == 4 and "stand-in" in label
    cache.measure(N, K, ["w4a16", "a8w8"])  # all cached (a8w8: measured, nothing to time)
    cache.measure(N, K, ["fp16", "w8a16"])  # only w8a16 is new
    assert calls[1:] == [(N, K, ("w8a16",), (1, 16))] and cache.sweeps == 2
    cache.measure(4096, 4096, ["fp16"])
    assert len(calls) == 3 and cache.get(4096, 4096, ["fp16"])[0][0]["N"] == 4096


class _FakeSpec:
    key = "h100-sxm"


class _FakeGPU:
    name = "NVIDIA H100 80GB HBM3"
    spec = _FakeSpec()


def test_this_gpu_draws_from_the_cache_only(monkeypatch):
    monkeypatch.setattr(W, "_here", lambda: _FakeGPU())
    monkeypatch.setattr(rl, "measure_ceilings", lambda **k: rl.ceilings_for("h100-sxm"))
    calls = []
    cache = W.PointCache(measure_fn=_fake_sweep(calls), ms=(1, 16))
    assert W.gpu_choices()[0] == W.THIS_GPU and W.default_gpu() == W.THIS_GPU
    fig = W.draw(W.THIS_GPU, N, K, ["fp16", "w4a16"], cache=cache)
    assert not calls and "none yet on this GPU" in title(fig) and "ceilings measured on this" in title(fig)
    cache.measure(N, K, ["fp16", "w4a16"])
    for _ in range(3):
        fig = W.draw(W.THIS_GPU, N, K, ["fp16", "w4a16"], cache=cache)
    assert len(calls) == 1 and "MEASURED on a stand-in" in title(fig)
    assert "w4a16 lab (fastest) (MEASURED)" in lines(fig)


# --------------------------------------------------------------------------
# Without ipywidgets; the dashboard's wiring with it.
# --------------------------------------------------------------------------


def test_importing_labkernels_needs_no_ipywidgets():
    code = ("import sys\n"
            "class Block:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name.split('.')[0] == 'ipywidgets': raise ImportError('blocked: ' + name)\n"
            "sys.meta_path.insert(0, Block())\n"
            "import labkernels, labkernels.widgets as W\n"
            "assert 'ipywidgets' not in sys.modules\n"
            "fig = W.draw('h100-sxm', 8192, 8192, ['fp16', 'w4a16'], points=False)\n"
            "try:\n"
            "    W.crossover_dashboard()\n"
            "except ImportError as e:\n"
            "    print('ImportError:', e)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "ImportError:" in r.stdout and "pip install ipywidgets" in r.stdout


def test_missing_ipywidgets_message(monkeypatch):
    monkeypatch.setitem(sys.modules, "ipywidgets", None)
    with pytest.raises(ImportError, match="pip install ipywidgets"):
        W.crossover_dashboard()


def test_dashboard_builds_and_draws_once():
    pytest.importorskip("ipywidgets")
    box = W.crossover_dashboard()
    d = box.dashboard
    assert d.redraws == 1 and d.last_error is None and d.last_figure is not None
    assert d.gpu.value == H100 and d.preset.value == "8192x8192" and (d.n.value, d.k.value) == (8192, 8192)
    assert list(d.formats.value) == list(W.DEFAULT_FORMATS) and d.measure is None  # no GPU: no button
    assert set(W.gpu_choices()) == set(d.gpu.options)


def test_dashboard_preset_and_sliders_follow_each_other():
    pytest.importorskip("ipywidgets")
    d = W.CrossoverDashboard()
    d.preset.value = "28672x8192"
    assert (d.n.value, d.k.value) == (28672, 8192) and d.redraws == 2  # one redraw for both sliders
    d.n.value = 8192 + 512
    assert d.preset.value == W.CUSTOM and d.redraws == 3
    d.n.value = 4096
    d.k.value = 4096
    assert d.preset.value == "4096x4096" and d.redraws == 5
    assert d.state()["N"] == 4096 and d.last_figure.axes[0].get_title().startswith("NVIDIA H100 80GB HBM3: N=4096")


def test_dashboard_controls_redraw_and_report_bad_choices():
    pytest.importorskip("ipywidgets")
    d = W.CrossoverDashboard(gpu="l4", formats=["fp16", "w4a16"])
    n0 = d.redraws
    d.formats.value = ()
    assert d.redraws == n0 + 1 and d.last_figure is None and "choose at least one format" in d.last_error
    d.formats.value = ("w4a16", "a8w8")
    d.path.value = "library"
    d.tile.value = 16
    d.plain.value = True
    d.gpu.value = "b200"
    assert d.redraws == n0 + 6 and d.last_error is None
    c = rl.datasheet_ceilings("b200")
    xs = rl.crossovers("w4a16", "a8w8", 8192, 8192, c, path_a="library", path_b="library", tile_m=16, m_max=16384)
    marks = [ln for ln in d.last_figure.axes[0].get_lines() if "three-ceiling crossover" in ln.get_label()]
    assert [float(x) for ln in marks for x in ln.get_xdata()] == xs
    with pytest.raises(ValueError, match="unknown preset"):
        W.CrossoverDashboard(preset="llama-9b")
    with pytest.raises(ValueError, match="multiples of 512"):
        W.CrossoverDashboard(preset=None, N=8192, K=4100)


def test_dashboard_on_a_gpu_measures_on_the_button_only(monkeypatch):
    pytest.importorskip("ipywidgets")
    monkeypatch.setattr(W, "_here", lambda: _FakeGPU())
    monkeypatch.setattr(rl, "measure_ceilings", lambda **k: rl.ceilings_for("h100-sxm"))
    calls = []
    cache = W.PointCache(measure_fn=_fake_sweep(calls), ms=(1, 16))
    d = W.CrossoverDashboard(cache=cache, formats=["fp16", "w4a16"])
    assert d.gpu.value == W.THIS_GPU and d.measure is not None
    for v in (4096, 8192):  # slider moves: redraws, no sweep
        d.n.value = v
    d.formats.value = ("fp16", "w4a16", "a8w8")
    assert not calls and d.redraws == 4
    d.measure.click()
    assert len(calls) == 1 and d.redraws == 5
    assert any("(MEASURED)" in ln.get_label() for ln in d.last_figure.axes[0].get_lines())
    d.measure.click()  # the same shape again: drawn from the cache
    d.k.value = 8192 - 512
    d.k.value = 8192
    assert len(calls) == 1
    d.gpu.value = H100
    d.measure.click()  # switches back to this GPU, measures nothing new
    assert len(calls) == 1 and d.gpu.value == W.THIS_GPU


def test_m_grid():
    g = W.m_grid(16384)
    assert g[0] == 1 and g[-1] == 16384 and g == sorted(set(g))
    assert all(2 ** e in g for e in range(15))
    assert math.isclose(W._interp({1: 10.0, 4: 40.0}, 2), 20.0)
