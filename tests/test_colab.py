"""Every notebook opens in Colab from its own badge, asks for a GPU runtime, and starts with the
setup cell that installs this release of the lab (``labkernels.notebook.pip_requirement``).

The setup cell runs before the package is installed, so the requirement is written into it
literally; these tests fail when a notebook or a README link names another release than
``labkernels.__version__`` (fix: ``python -m labkernels.notebook --stamp notebooks solutions``,
then regenerate the notebooks).
"""
from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest

import labkernels
from labkernels import notebook, specs
from labkernels.grading import ipynb

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for folder in ("notebooks", "solutions", "exercises") for p in (ROOT / folder).glob("*.ipynb"))
FIX = ("run: python -m labkernels.notebook --stamp notebooks solutions && python -m labkernels.notebook notebooks "
       "&& python -m labkernels.grading.make_exercises")
COLAB_LINK = re.compile(r"https://colab\.research\.google\.com/github/[^\s)\"']+")


def _rel(p: Path) -> str:
    return p.relative_to(ROOT).as_posix()


def test_every_notebook_folder_has_notebooks():
    assert {p.parent.name for p in NOTEBOOKS} == {"notebooks", "solutions", "exercises"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_rel)
def test_notebook_starts_with_the_setup_cell_of_this_release(path):
    nb = ipynb.read(path)
    code = [ipynb.source(c) for c in nb["cells"] if c["cell_type"] == "code"]
    assert code, f"{_rel(path)} has no code cell"
    setup = code[0]
    assert '"google.colab" in sys.modules' in setup and "notebook.report_device(IN_COLAB" in setup, \
        f"{_rel(path)}: the first code cell must be the Colab setup cell"
    assert notebook.pinned(setup) == notebook.pip_requirement(), \
        f"{_rel(path)} installs {notebook.pinned(setup)!r}, this release is {notebook.pip_requirement()!r}; {FIX}"
    assert not any(notebook.pinned(src) for src in code[1:]), f"{_rel(path)}: one setup cell, the first"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_rel)
def test_notebook_badge_opens_this_notebook_in_this_release(path):
    nb = ipynb.read(path)
    links = [u for c in nb["cells"] if c["cell_type"] == "markdown" for u in COLAB_LINK.findall(ipynb.source(c))]
    assert links, f"{_rel(path)} has no Colab badge"
    assert set(links) == {notebook.colab_url(_rel(path))}, f"{_rel(path)} links {links}; {FIX}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_rel)
def test_notebook_asks_for_a_gpu_and_is_committed_without_outputs(path):
    nb = ipynb.read(path)
    assert nb["metadata"].get("accelerator") == "GPU" and nb["metadata"].get("colab", {}).get("gpuType"), \
        f"{_rel(path)}: the metadata must ask Colab for a GPU runtime"
    for i, c in enumerate(nb["cells"]):
        if c["cell_type"] == "code":
            assert c.get("outputs") == [] and c.get("execution_count") is None, \
                f"{_rel(path)} cell {i + 1} was committed with outputs"


def test_readme_colab_links_open_committed_notebooks_of_this_release():
    for md in [ROOT / "README.md", *sorted(ROOT.glob("*/README.md"))]:
        for url in COLAB_LINK.findall(md.read_text(encoding="utf-8")):
            rel = url.split(f"/blob/{notebook.release()}/", 1)[-1]
            assert url == notebook.colab_url(rel) and (ROOT / rel).is_file(), f"{_rel(md)}: {url}; {FIX}"


def test_the_version_has_one_source():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'dynamic = ["version"]' in text and 'version = {attr = "labkernels.__version__"}' in text
    assert notebook.pip_requirement() == \
        f"labkernels[cuda12] @ git+https://github.com/labkernels/labkernels@v{labkernels.__version__}"


def test_stamp_rewrites_the_pin_and_the_links_only(tmp_path):
    old = ('# %%\nLABKERNELS_PIP = "labkernels[cuda12] @ git+https://github.com/labkernels/labkernels@main"\n'
           "# %% [markdown]\n# [badge](https://colab.research.google.com/github/labkernels/labkernels/blob/v0.0.1/"
           "notebooks/00_x.ipynb) and [elsewhere](https://github.com/labkernels/labkernels/blob/main/README.md)\n")
    new = notebook.stamp(old)
    assert notebook.pinned(new) == notebook.pip_requirement()
    assert notebook.colab_url("notebooks/00_x.ipynb") in new and "blob/main/README.md" in new
    assert notebook.stamp(new) == new
    (tmp_path / "00_x.py").write_text(old, encoding="utf-8")
    (tmp_path / "README.md").write_text(old, encoding="utf-8")
    assert notebook.main([str(tmp_path), "--stamp"]) == 0
    assert (tmp_path / "00_x.py").read_text() == new and (tmp_path / "README.md").read_text() == new
    assert not list(tmp_path.glob("*.ipynb")), "--stamp generates nothing"


@pytest.mark.parametrize("key, says", [("t4", "fp8: no"), ("l4", "fp8: yes"), ("h100-sxm", "fp8: yes, with wgmma"),
                                       ("rtx-pro-6000", "FP4: native"), ("b200", "FP4: native")])
def test_setup_cell_says_what_each_colab_gpu_runs(key, says):
    assert says in notebook.precisions(specs.GPUS[key].cc)


def test_setup_cell_on_colab_without_a_gpu_says_how_to_attach_one(capsys, monkeypatch):
    from labkernels import device

    monkeypatch.setattr(device, "gpu", lambda: None)
    assert notebook.report_device(True, family="int8", without_gpu="compiled only") is None
    out = capsys.readouterr().out
    assert "compiled only" in out and "Runtime → Change runtime type" in out


def test_a_module_pip_replaced_after_import_asks_for_a_restart(capsys, monkeypatch):
    from labkernels import device

    monkeypatch.setitem(sys.modules, "numpy", types.SimpleNamespace(__version__="0.0.1"))
    monkeypatch.setattr(device, "gpu", lambda: None)
    assert any(s.startswith("numpy 0.0.1") for s in notebook.stale_imports())
    notebook.report_device(True)
    assert "Restart session" in capsys.readouterr().out
    notebook.report_device(False)  # off Colab nothing is installed: nothing to say
    assert "Restart session" not in capsys.readouterr().out
