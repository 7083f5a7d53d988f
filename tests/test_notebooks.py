"""The lesson notebooks: each ``.ipynb`` is generated from its percent script and runs top to bottom
(and so do the solution notebooks of the exercises).

(a) every ``notebooks/*.py`` has an ``.ipynb`` twin that matches what
    ``python -m labkernels.notebook notebooks`` generates (committed without outputs);
(b) every lesson and solution notebook executes top to bottom with nbclient on
    this machine, in its own folder — on a CPU-only machine that is the Numba
    simulator at small sizes (``LABKERNELS_SMALL=1``), NVRTC-compiled PTX and
    the committed measurements. A cell that raises fails the test. (The
    exercise notebooks hold stubs: their checks fail until a student fills them in.)

Needs the ``notebooks`` extra (nbclient, nbformat, ipykernel), which CI installs
(``pip install -e ".[cuda13,test,notebooks]"``). The kernel is always this
interpreter (a kernelspec written to a temporary folder), so a fresh venv with no
registered "python3" kernel works, and a registered one that points at another
Python cannot be picked up by mistake.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from labkernels import notebook
from labkernels.grading import ipynb

ROOT = Path(__file__).resolve().parents[1]
NB_DIR = ROOT / "notebooks"
SCRIPTS = notebook.sources(NB_DIR)
RUNS = [p.with_suffix(".ipynb") for p in SCRIPTS] + sorted((ROOT / "solutions").glob("*.ipynb"))
CELL_TIMEOUT_S = 300
BUDGET_S = 180  # the whole notebook, on the CPU-only CI machine


def test_there_are_notebooks():
    assert SCRIPTS, f"no percent scripts in {NB_DIR}"


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_ipynb_is_generated_from_script(script, tmp_path):
    committed = script.with_suffix(".ipynb")
    fix = "regenerate with: python -m labkernels.notebook notebooks"
    assert committed.is_file(), f"{committed.name} is missing; {fix}"
    fresh = tmp_path / committed.name
    fresh.write_text(notebook.to_ipynb(script.read_text(encoding="utf-8"), script.name), encoding="utf-8")
    want, got = ipynb.read(fresh), ipynb.read(committed)
    want_cells = [(c["cell_type"], ipynb.source(c)) for c in want["cells"]]
    got_cells = [(c["cell_type"], ipynb.source(c)) for c in got["cells"]]
    for i, (w, g) in enumerate(zip(want_cells, got_cells)):
        assert w == g, f"{committed.name} cell {i + 1} differs from {script.name}; {fix}"
    assert len(want_cells) == len(got_cells), f"{committed.name} has {len(got_cells)} cells, " \
                                              f"{script.name} makes {len(want_cells)}; {fix}"
    assert got["metadata"] == want["metadata"], f"{committed.name} metadata is stale; {fix}"
    for i, c in enumerate(got["cells"]):
        if c["cell_type"] == "code":
            assert not c.get("outputs") and c.get("execution_count") is None, \
                f"{committed.name} cell {i + 1} was committed with outputs; {fix}"


def test_sync_command_reports_stale(tmp_path):
    (tmp_path / "00_x.py").write_text("# %%\nprint(1)\n", encoding="utf-8")
    assert notebook.main([str(tmp_path), "--check"]) == 1
    assert notebook.main([str(tmp_path)]) == 0
    assert notebook.main([str(tmp_path), "--check"]) == 0
    assert json.loads((tmp_path / "00_x.ipynb").read_text())["cells"][0]["source"] == ["print(1)"]


@pytest.fixture(scope="module")
def kernel_name(tmp_path_factory):
    """A kernelspec for *this* interpreter, in a temporary folder put first on JUPYTER_PATH."""
    try:
        from ipykernel.kernelspec import install
    except ImportError as e:  # pragma: no cover - CI installs the extra
        pytest.fail(f"executing notebooks needs the notebooks extra (pip install -e '.[notebooks]'): {e}")
    prefix = tmp_path_factory.mktemp("jupyter")
    name = "labkernels-test"
    install(kernel_name=name, display_name=f"Python ({sys.executable})", prefix=str(prefix))
    old = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = os.pathsep.join([str(prefix / "share" / "jupyter")] + ([old] if old else []))
    yield name
    if old is None:
        os.environ.pop("JUPYTER_PATH", None)
    else:
        os.environ["JUPYTER_PATH"] = old


#: Executes one notebook with nbclient and prints a JSON line: the error of the cell that raised,
#: or the elapsed time and the error outputs. Run in a fresh interpreter per notebook: in the test
#: process, after a few hundred other tests, nbclient now and then waited minutes on a kernel
#: that had already finished (never reproduced in a clean process), so each notebook gets one.
RUNNER = """
import json, sys, time
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
path, kernel, cwd, timeout = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
nb = nbformat.read(path, as_version=4)
client = NotebookClient(nb, kernel_name=kernel, timeout=timeout, allow_errors=False,
                        resources={"metadata": {"path": cwd}})
t0 = time.perf_counter()
try:
    client.execute()
except CellExecutionError as e:
    print(json.dumps({"raised": str(e)[-4000:]}))
    sys.exit(0)
errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
          if o.get("output_type") == "error"]
print(json.dumps({"elapsed": time.perf_counter() - t0, "errors": errors}))
"""


@pytest.mark.parametrize("ipynb_path", RUNS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_notebook_runs_top_to_bottom(ipynb_path, kernel_name, monkeypatch, tmp_path):
    import subprocess

    try:
        import nbclient  # noqa: F401
        import nbformat  # noqa: F401
    except ImportError as e:  # pragma: no cover - CI installs the extra
        pytest.fail(f"executing notebooks needs the notebooks extra (pip install -e '.[notebooks]'): {e}")
    monkeypatch.setenv(notebook.SMALL_ENV, "1")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    # A private IPython folder: its history database is not shared with kernels of other runs.
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    try:
        r = subprocess.run([sys.executable, "-c", RUNNER, str(ipynb_path), kernel_name, str(ipynb_path.parent),
                            str(CELL_TIMEOUT_S)], capture_output=True, text=True, timeout=CELL_TIMEOUT_S + 60)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{ipynb_path.name} did not finish in {CELL_TIMEOUT_S + 60} s")
    assert r.returncode == 0 and r.stdout.strip(), f"the notebook runner failed:\n{r.stderr[-4000:]}"
    out = json.loads(r.stdout.strip().splitlines()[-1])
    if "raised" in out:
        pytest.fail(f"{ipynb_path.name} raised in a cell:\n{out['raised']}")
    elapsed = out["elapsed"]
    print(f"{ipynb_path.name}: {elapsed:.1f} s")
    assert not out["errors"], out["errors"]
    assert elapsed < BUDGET_S, f"{ipynb_path.name} took {elapsed:.0f} s to run; the budget is {BUDGET_S} s"
