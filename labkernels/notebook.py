"""What the lesson notebooks share: the ``.ipynb`` generator, the small-size switch,
and the committed measurements a notebook reads when there is no GPU to measure on.

    python -m labkernels.notebook notebooks            # regenerate every notebooks/*.ipynb
    python -m labkernels.notebook --check notebooks    # exit 1 when one is missing or stale
    python -m labkernels.notebook --stamp notebooks solutions   # pin setup cells and badges to this release

The lessons are written as jupytext "percent" scripts (``notebooks/NN_*.py``,
``# %%`` code cells and ``# %% [markdown]`` cells): the file that is reviewed
and diffed. Their ``.ipynb`` twins, which Colab opens, are generated from them
with :func:`labkernels.grading.ipynb.from_percent` (the converter the exercises
use too) and committed without outputs; ``tests/test_notebooks.py`` fails when
a twin is missing or out of date.

Every lab notebook (lessons, exercises, solutions) opens in Colab from a badge
and starts with a setup cell that installs *this release* of the lab: the cell
runs before the package is there, so the requirement (:func:`pip_requirement`)
and the badge's address (:func:`colab_url`) are written into it literally, both
naming the tag :func:`release` (``v`` + ``labkernels.__version__``). After a
version bump, ``python -m labkernels.notebook --stamp notebooks solutions``
rewrites them (:func:`stamp`); ``tests/test_colab.py`` fails until it has run.

Colab ships older packages than the lab's pins. The setup cell lets pip upgrade
what is older than the pins (numba-cuda, CuPy, the CUDA headers) and keeps what
the lab does not pin: ipywidgets 7 (the dashboards use only what 7 and 8 share)
and the inline matplotlib backend (no ipympl). Numba's fp8 types are never
needed: the Numba kernels decode fp8 and fp4 codes through tables.
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import os
import re
import sys
import urllib.request
from pathlib import Path

from . import __version__
from .grading import ipynb

REPO = "labkernels/labkernels"
#: The branch committed results are downloaded from when the package runs without a checkout.
BRANCH = "main"
#: Where committed measurements live, relative to the repository root.
RESULTS_DIR = "benchmarks/results"
#: Set to anything but "" or "0" to keep simulator shapes and GPU sweeps small (CI does).
SMALL_ENV = "LABKERNELS_SMALL"


def release() -> str:
    """The git tag of this version of the lab, ``v`` + ``__version__``: what setup cells install and
    what badges open."""
    return f"v{__version__}"


def pip_requirement() -> str:
    """What a setup cell installs on Colab: this release, with CUDA 12 wheels (Colab's driver is CUDA 12)."""
    return f"labkernels[cuda12] @ git+https://github.com/{REPO}@{release()}"


def colab_url(relpath: str) -> str:
    """The Colab address of a notebook committed at ``relpath`` (e.g. ``notebooks/01_x.ipynb``) in this
    release: the notebook a badge opens is the one written for the package its setup cell installs."""
    return f"https://colab.research.google.com/github/{REPO}/blob/{release()}/{relpath}"


_PIN = re.compile(r'^(LABKERNELS_PIP = )"[^"\n]*"', re.M)
_COLAB = re.compile(rf"(https://colab\.research\.google\.com/github/{re.escape(REPO)}/blob/)[^/\s)]+/")


def pinned(text: str) -> str | None:
    """The requirement a setup cell's ``LABKERNELS_PIP = "..."`` line installs, or ``None``."""
    m = _PIN.search(text)
    return m.group(0).split('"')[1] if m else None


def stamp(text: str) -> str:
    """``text`` with its setup-cell requirement and its Colab links naming this release."""
    text = _PIN.sub(lambda m: f'{m.group(1)}"{pip_requirement()}"', text)
    return _COLAB.sub(lambda m: f"{m.group(1)}{release()}/", text)


def precisions(cc: tuple[int, int]) -> str:
    """What a GPU of compute capability ``cc`` does with fp8 and FP4 (a T4: no fp8; an L4 or an
    H100: fp8; an RTX PRO 6000 Blackwell or a B200: native block-scaled FP4)."""
    from . import device

    caps = device.capabilities(cc)
    if not caps["mma_fp8"]:
        fp8 = "no (fp8 MMAs need sm_89+)"
    elif caps["wgmma"]:
        fp8 = "yes, with wgmma (mma.sync e4m3 is emulated with fp16 HMMA on Hopper)"
    else:
        fp8 = "yes (mma.sync e4m3)"
    fp4 = "native (block-scaled MMA)" if caps["tcgen05"] or caps["mma_block_scale"] else \
        "emulated (decoded before the MMA)"
    return f"fp8: {fp8}; FP4: {fp4}"


def stale_imports() -> list[str]:
    """Modules imported before pip replaced them in this session (their loaded and installed versions
    differ): only a restart loads the new ones."""
    out = []
    for name in ("numpy", "labkernels"):
        mod = sys.modules.get(name)
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        if mod is not None and getattr(mod, "__version__", installed) != installed:
            out.append(f"{name} {mod.__version__} (installed: {installed})")
    return out


def report_device(in_colab: bool, *, family: str | None = None, without_gpu: str = "") -> "object | None":
    """The setup cell's report: the device here, and on Colab what its GPU can run.

    ``family`` limits the list of runnable kernels to one lesson's; ``without_gpu``
    says what the lesson does when there is no GPU. Returns ``device.gpu()``.
    """
    from . import device, registry

    stale = stale_imports() if in_colab else []
    if stale:
        print(f"pip replaced {', '.join(stale)} after it was imported: "
              "Runtime → Restart session, then run all cells again.")
    gpu = device.gpu()
    if gpu is None:
        print(f"device: no GPU ({device.why_no_gpu()}); {without_gpu}")
    else:
        print(f"device: {gpu.name}, sm_{gpu.cc[0]}{gpu.cc[1]}, {gpu.sms} SMs, CUDA driver {gpu.driver}")
    if not in_colab:
        return gpu
    if gpu is None:
        print("No GPU runtime is attached. To run the kernels on one: Runtime → Change runtime type → "
              "a GPU (the free T4 has no fp8 and no sm_80 MMA; an L4 has both) → Save, then run all cells again.")
        return gpu
    caps = device.capabilities(gpu.cc)
    print("this GPU has:  ", ", ".join(k for k, ok in caps.items() if ok))
    print("this GPU lacks:", ", ".join(k for k, ok in caps.items() if not ok) or "nothing the lab uses")
    print(precisions(gpu.cc))
    print("kernels this GPU runs:", ", ".join(v.id for v in registry.variants(family=family) if v.runnable()[0]))
    return gpu


def small() -> bool:
    """Whether the notebook should run at its small sizes (``LABKERNELS_SMALL=1``)."""
    return os.environ.get(SMALL_ENV, "") not in ("", "0")


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


def companion_file(name: str, here, folder: str) -> Path:
    """A file an exercise notebook works on beside itself (the ``.cu`` a student edits).

    ``here/name`` when it exists. Colab opens a notebook alone, with no folder around it: then
    the file of this release's ``folder`` (``exercises`` or ``solutions``) is downloaded once
    into the working directory, where the student edits it and later cells read it."""
    local = Path(here) / name
    if local.is_file():
        return local
    dest = Path.cwd() / name
    if dest.is_file():
        return dest
    url = f"https://raw.githubusercontent.com/{REPO}/{release()}/{folder}/{name}"
    try:
        with urllib.request.urlopen(url, timeout=60) as r:
            dest.write_bytes(r.read())
    except OSError as e:
        raise FileNotFoundError(f"{name} is not next to this notebook and could not be downloaded from {url}: "
                                f"{e}; put it in {Path.cwd()}") from None
    print(f"downloaded {name} from {url} into {dest}: edit it there")
    return dest


def lesson_data(relpath: str, gpu) -> tuple:
    """What a lesson measures against: ``(committed, ceilings, where)``.

    ``committed``: the committed results file ``relpath`` (under ``benchmarks/results``), or
    None when it is unavailable on a GPU (everything is measured there). ``ceilings``: measured
    here on a GPU (cached per GPU and driver after the first run), else the committed run's.
    ``where``: which of the two, in words, for the cells' printouts and figure titles."""
    from . import roofline as rl

    try:
        committed = load_results(relpath)
    except FileNotFoundError as e:  # only matters without a GPU
        if gpu is None:
            raise
        committed = None
        print(f"(committed results unavailable: {e})")
    if gpu is not None:
        ceil = rl.measure_ceilings(verbose=True)
        return committed, ceil, f"measured on this {ceil.gpu}"
    ceil = rl.Ceilings.from_json(committed["ceilings"])
    return committed, ceil, f"measured on an {ceil.gpu} on {committed['env']['date']} (committed; no GPU here)"


def load_results(relpath: str) -> dict:
    """A committed benchmark JSON (records, ceilings, env) as a dict."""
    return json.loads(results_path(relpath).read_text(encoding="utf-8"))


def stamp_folder(folder: str | os.PathLike) -> list[Path]:
    """Apply :func:`stamp` to the percent scripts and Markdown files of ``folder``; return those changed."""
    changed = []
    for p in sorted([*sources(folder), *Path(folder).glob("*.md")]):
        text = p.read_text(encoding="utf-8")
        if stamp(text) != text:
            p.write_text(stamp(text), encoding="utf-8")
            changed.append(p)
    return changed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m labkernels.notebook",
                                 description="Generate notebooks/*.ipynb from their percent scripts.")
    ap.add_argument("folders", nargs="*", default=["notebooks"])
    ap.add_argument("--check", action="store_true", help="write nothing; exit 1 when a notebook is stale")
    ap.add_argument("--stamp", action="store_true",
                    help=f"only rewrite the setup cells' requirement and the Colab links to this release "
                         f"({release()}) in the percent scripts and Markdown files; generate nothing")
    args = ap.parse_args(argv)
    for folder in args.folders:
        if not Path(folder).is_dir():
            ap.error(f"{folder} is not a folder")
    if args.stamp:
        for p in [p for folder in args.folders for p in stamp_folder(folder)]:
            print(f"stamped {p}")
        return 0
    stale = []
    for folder in args.folders:
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
