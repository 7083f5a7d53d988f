"""What the lesson notebooks share: the ``.ipynb`` generator, the small-size switch,
and the committed measurements a notebook reads when there is no GPU to measure on.

    python -m labkernels.notebook notebooks            # regenerate every notebooks/*.ipynb
    python -m labkernels.notebook --check notebooks    # exit 1 when one is missing or stale

The lessons are written as jupytext "percent" scripts (``notebooks/NN_*.py``,
``# %%`` code cells and ``# %% [markdown]`` cells): the file that is reviewed
and diffed. Their ``.ipynb`` twins, which Colab opens, are generated from them
with :func:`labkernels.grading.ipynb.from_percent` (the converter the exercises
use too) and committed without outputs; ``tests/test_notebooks.py`` fails when
a twin is missing or out of date.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import urllib.request
from pathlib import Path

from .grading import ipynb

REPO = "labkernels/labkernels"
BRANCH = "main"
#: Where committed measurements live, relative to the repository root.
RESULTS_DIR = "benchmarks/results"
#: Set to anything but "" or "0" to keep simulator shapes and GPU sweeps small (CI does).
SMALL_ENV = "LABKERNELS_SMALL"


def report_device(in_colab: bool, *, family: str | None = None, without_gpu: str = "") -> "object | None":
    """The setup cell's report: the device here, and on Colab what its GPU can run.

    ``family`` limits the list of runnable kernels to one lesson's; ``without_gpu``
    says what the lesson does when there is no GPU. Returns ``device.gpu()``.
    """
    from . import device, registry

    gpu = device.gpu()
    if gpu is None:
        print(f"device: no GPU ({device.why_no_gpu()}); {without_gpu}")
    else:
        print(f"device: {gpu.name}, sm_{gpu.cc[0]}{gpu.cc[1]}, {gpu.sms} SMs, CUDA driver {gpu.driver}")
    if not in_colab:
        return gpu
    if gpu is None:
        print("No GPU runtime is attached. To measure the kernels: Runtime → Change runtime type → "
              "Hardware accelerator: GPU (a T4 is enough) → Save, then run all cells again.")
        return gpu
    caps = device.capabilities(gpu.cc)
    print("this GPU has:  ", ", ".join(k for k, ok in caps.items() if ok))
    print("this GPU lacks:", ", ".join(k for k, ok in caps.items() if not ok) or "nothing the lab uses")
    fp8 = "no" if not caps["mma_fp8"] else "emulated with fp16 HMMA (Hopper)" if gpu.cc == (9, 0) else "yes"
    fp4 = "native" if caps["tcgen05"] or caps["mma_block_scale"] else "emulated"
    print(f"fp8 mma.sync: {fp8}; block-scaled FP4: {fp4}")
    print("kernels this GPU runs:", ", ".join(v.id for v in registry.variants(family=family) if v.runnable()[0]))
    return gpu


def small() -> bool:
    """Whether the notebook should run at its small sizes (``LABKERNELS_SMALL=1``)."""
    return os.environ.get(SMALL_ENV, "") not in ("", "0")


def colab_url(relpath: str) -> str:
    """The Colab address of a notebook committed at ``relpath`` (e.g. ``notebooks/01_x.ipynb``)."""
    return f"https://colab.research.google.com/github/{REPO}/blob/{BRANCH}/{relpath}"


# --------------------------------------------------------------------------
# Percent scripts -> notebooks.
# --------------------------------------------------------------------------


def to_ipynb(text: str, name: str) -> str:
    """The ``.ipynb`` text of percent script ``text`` named ``name`` (e.g. ``01_dequant_then_mma.py``).

    Metadata: a Python 3 kernel, and on Colab a GPU runtime (``accelerator``,
    ``colab.gpuType``), from :data:`labkernels.grading.ipynb.DEFAULT_METADATA`.
    """
    stem = Path(name).stem
    meta = {
        "colab": {"name": f"{stem}.ipynb", "gpuType": "T4", "provenance": []},
        "labkernels": {"generated_from": f"notebooks/{stem}.py"},
    }
    nb = ipynb.from_percent(text, metadata=meta)
    return ipynb.dumps({**nb, "cells": _with_ids(nb["cells"])})


def _with_ids(cells: list[dict]) -> list[dict]:
    """Cells with the ``id`` nbformat 4.5 asks for: a hash of the cell's type and source, so a
    regenerated notebook is byte-identical and editing one cell changes one id."""
    out, seen = [], set()
    for c in cells:
        h = hashlib.sha1((c["cell_type"] + "\0" + ipynb.source(c)).encode()).hexdigest()[:8]
        cid, n = h, 1
        while cid in seen:  # two identical cells
            n += 1
            cid = f"{h}-{n}"
        seen.add(cid)
        out.append({**c, "id": cid})
    return out


def sources(folder: str | os.PathLike) -> list[Path]:
    """The percent scripts of a notebook folder, in lesson order."""
    return sorted(p for p in Path(folder).glob("*.py") if ipynb.is_percent(p.read_text(encoding="utf-8")))


def sync(folder: str | os.PathLike, *, check: bool = False) -> list[Path]:
    """Write the ``.ipynb`` of every percent script in ``folder``; return those that changed.

    With ``check`` nothing is written: the return value lists the notebooks
    that are missing or differ from what their script generates.
    """
    stale = []
    for py in sources(folder):
        nb = py.with_suffix(".ipynb")
        text = to_ipynb(py.read_text(encoding="utf-8"), py.name)
        if not nb.is_file() or nb.read_text(encoding="utf-8") != text:
            stale.append(nb)
            if not check:
                tmp = nb.with_suffix(f".ipynb.tmp{os.getpid()}")
                tmp.write_text(text, encoding="utf-8")
                os.replace(tmp, nb)
    return stale


# --------------------------------------------------------------------------
# Committed results.
# --------------------------------------------------------------------------


def _candidates(relpath: str):
    here = Path.cwd().resolve()
    for d in [here, *here.parents, Path(__file__).resolve().parents[1]]:
        yield d / RESULTS_DIR / relpath


def results_path(relpath: str, *, download: bool = True) -> Path:
    """A committed result file, ``relpath`` under ``benchmarks/results``.

    Looked for in the repository this notebook runs from (the working directory
    or any folder above it, or the checkout the package was installed from);
    on an installed package with no checkout (Colab), downloaded once from the
    repository into the lab's cache.
    """
    for p in _candidates(relpath):
        if p.is_file():
            return p
    cache = Path(os.environ.get("LABKERNELS_CACHE", Path.home() / ".cache" / "labkernels")) / "results" / relpath
    if cache.is_file():
        return cache
    url = f"https://raw.githubusercontent.com/{REPO}/{BRANCH}/{RESULTS_DIR}/{relpath}"
    if not download:
        raise FileNotFoundError(f"no {RESULTS_DIR}/{relpath} in this checkout (it is at {url})")
    cache.parent.mkdir(parents=True, exist_ok=True)
    try:
        with urllib.request.urlopen(url, timeout=60) as r:
            data = r.read()
    except OSError as e:
        raise FileNotFoundError(f"{RESULTS_DIR}/{relpath} is not in this checkout and could not be "
                                f"downloaded from {url}: {e}") from None
    tmp = cache.with_suffix(cache.suffix + f".tmp{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, cache)
    return cache


def load_results(relpath: str) -> dict:
    """A committed benchmark JSON (records, ceilings, env) as a dict."""
    return json.loads(results_path(relpath).read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m labkernels.notebook",
                                 description="Generate notebooks/*.ipynb from their percent scripts.")
    ap.add_argument("folders", nargs="*", default=["notebooks"])
    ap.add_argument("--check", action="store_true", help="write nothing; exit 1 when a notebook is stale")
    args = ap.parse_args(argv)
    stale = []
    for folder in args.folders:
        if not Path(folder).is_dir():
            ap.error(f"{folder} is not a folder")
        if not sources(folder):
            print(f"{folder}: no percent scripts (# %% cells)", file=sys.stderr)
        stale += sync(folder, check=args.check)
    for nb in stale:
        print(f"{'stale' if args.check else 'wrote'} {nb}")
    if args.check and stale:
        print("regenerate with: python -m labkernels.notebook " + " ".join(args.folders), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
