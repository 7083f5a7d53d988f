"""The crossover study: for a layer N×K, which format is fastest at each batch size M, and where
do the curves cross? (``labkernels crossover``, issue 6.)

    labkernels crossover [--preset 8192x8192 | --n N --k K] [--ms 1,2,4,... | --quick]
                         [--formats fp16,w4a16,...] [--out crossover-out/]
                         [--gpu h100-sxm] [--source measured|datasheet] [--model-only] [--resume]

**On a GPU**, every requested format that has registered lab kernels is swept over M on one
workload per format (:func:`sweep`; each kernel checked, then timed, by
:func:`labkernels.runner.measure`): the fastest correct lab kernel per (format, M) is that
format's curve, and each library peer (cuBLAS fp16, torch's int4 kernel, ...) is a curve of its
own. Ceilings come from :func:`labkernels.roofline.measure_ceilings` (cached per GPU and driver).

**The sweep survives failures and interruptions.** Each (kernel, M) outcome is appended, the
moment it is known, to ``journal.jsonl`` in the output folder (:mod:`labkernels.journal`: one
JSON line each, flushed and fsync'd). A kernel that fails its check or raises is recorded as
failed, with its message, and the sweep goes on. After a crash, a kill or Ctrl-C, the same
command with ``--resume`` measures only what the journal does not hold (failed points are tried
again; a point the process died in twice is not); a journal of another GPU, shape, M list,
format list or number of timed calls is refused, naming the difference. The result files are
written only when the sweep is over (an interrupted sweep writes none, and the files of an
earlier run are first renamed ``*.prev.*``); ``results.json`` says ``"complete": false`` and
lists the failed points when any kernel failed.

**Without a GPU** (or with ``--model-only``) the same command finishes in seconds: the
three-ceiling model for ``--gpu`` (from the committed measured ceilings of that GPU where the lab
has them, else the spec table), the committed measurements of that GPU under
``benchmarks/results/`` re-plotted as measured points with their card and date, and a
correctness pass of the Numba kernels in the CUDA simulator. Everything modeled says MODELED.

The model's ceilings are measured ceilings or datasheet figures, never fitted to the sweep.

Formats that have no kernel yet appear as model-only curves, labelled "model only (no kernel
yet)". Output (each file written to a temporary name, then renamed; all four renamed only once
every one of them was written): ``results.json``, ``results.csv``, ``roofline.png``,
``sweep.png``, and a printed summary (:func:`summarize`).

Exit status: 0; 1 when a kernel failed its correctness check or raised (on the GPU, or in the
simulator); 2 for bad input (unknown format, GPU or preset; a K a format's block does not divide;
an output folder that cannot be written; a journal of other settings to resume); 130 when
interrupted (Ctrl-C or SIGTERM: nothing but the journal written).

From Python::

    from labkernels import crossover
    res = crossover.run(N=8192, K=8192, out=None)     # out=None: compute only, write nothing
    print(crossover.summarize(res))
    crossover.model_curves(8192, 8192, ceilings, ["fp16", "w4a16"], [1, 16, 256])
"""
from __future__ import annotations

import argparse
import csv
import datetime as _dt
import io
import itertools
import json
import math
import os
import re
import signal
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import roofline as rl
from .errors import UnsupportedDevice, check_choice, check_int

#: Layer shapes (N output features × K input features, ``Y = X·Wᵀ`` with W [N, K]) of common
#: open LLMs. Names are the shapes themselves; the description says where the shape occurs.
#: Llama 3 8B: hidden 4096, MLP 14336, 32 query / 8 KV heads of 128; Llama 3 70B: hidden 8192,
#: MLP 28672, 64 query / 8 KV heads of 128 (Meta's published model configurations).
PRESETS: dict[str, tuple[int, int, str]] = {
    "4096x4096": (4096, 4096, "Llama 3 8B attention output projection (also Llama 2 7B q/k/v/o)"),
    "6144x4096": (6144, 4096, "Llama 3 8B fused QKV projection (4096 q + 1024 k + 1024 v)"),
    "14336x4096": (14336, 4096, "Llama 3 8B MLP gate or up projection"),
    "4096x14336": (4096, 14336, "Llama 3 8B MLP down projection"),
    "8192x8192": (8192, 8192, "Llama 3 70B attention output projection (the default)"),
    "10240x8192": (10240, 8192, "Llama 3 70B fused QKV projection (8192 q + 1024 k + 1024 v)"),
    "28672x8192": (28672, 8192, "Llama 3 70B MLP gate or up projection"),
    "8192x28672": (8192, 28672, "Llama 3 70B MLP down projection"),
}
DEFAULT_N = DEFAULT_K = 8192
DEFAULT_MS = tuple(2 ** i for i in range(15))  # 1 … 16384
QUICK_MS = (1, 16, 256, 4096)
DEFAULT_OUT = "crossover-out"
DEFAULT_GPU = "h100-sxm"
SOURCES = ("measured", "datasheet")
FILES = ("results.json", "results.csv", "roofline.png", "sweep.png")
#: Extra problem parameters a format's workload is built with (the model's default group).
FORMAT_PARAMS = {"w4a16": {"group_size": 128}, "w4a8": {"group_size": 128}}
MODEL_ONLY_LABEL = "model only (no kernel yet)"
#: A measured point more than this factor away from its bound is called out.
DISAGREE = 2.0


# --------------------------------------------------------------------------
# Inputs.
# --------------------------------------------------------------------------


def resolve_shape(preset: str | None = None, n: int | None = None, k: int | None = None) -> tuple[int, int, str]:
    """(N, K, description) from a preset name or ``n``/``k`` (default 8192×8192)."""
    if preset is not None:
        if n is not None or k is not None:
            raise ValueError("give either --preset or --n/--k, not both")
        name = check_choice("preset", preset, PRESETS)
        N, K, what = PRESETS[name]
        return N, K, f"preset {name}: {what}"
    N = check_int("N", DEFAULT_N if n is None else n, min_value=1)
    K = check_int("K", DEFAULT_K if k is None else k, min_value=1)
    known = [f"{name}: {what}" for name, (pn, pk, what) in PRESETS.items() if (pn, pk) == (N, K)]
    return N, K, known[0] if known else "custom shape"


def parse_ms(text: str) -> list[int]:
    """``"1,2,4"`` -> [1, 2, 4]: positive integers, sorted, without repeats."""
    try:
        ms = [int(x) for x in str(text).replace(" ", "").split(",") if x != ""]
    except ValueError:
        raise ValueError(f"--ms must be comma-separated positive integers (e.g. 1,16,256); got {text!r}") from None
    return check_ms(ms)


def check_ms(ms) -> list[int]:
    ms = sorted({check_int("M", m, min_value=1, max_value=1 << 20) for m in ms})
    if not ms:
        raise ValueError("give at least one M")
    return ms


def parse_formats(formats) -> list[str]:
    """Format names (a list, or a comma-separated string; None or "all": every format), in the
    order of :data:`labkernels.roofline.FORMATS`."""
    if formats is None or (isinstance(formats, str) and formats.strip().lower() in ("", "all")):
        return list(rl.FORMATS)
    if isinstance(formats, str):
        formats = [f for f in formats.replace(" ", "").split(",") if f]
    chosen = {check_choice("format", f, rl.FORMATS) for f in formats}
    if not chosen:
        raise ValueError(f"give at least one format; known: {', '.join(rl.FORMATS)}")
    return [f for f in rl.FORMATS if f in chosen]


def block_of(fmt: str) -> int:
    """The K a shape in ``fmt`` must be a multiple of (its group / scale block along K; packed
    int4 needs an even K)."""
    f = rl.get_format(fmt)
    b = f.group_size or 1
    if fmt in ("w4a16", "w4a8", "mxfp4", "nvfp4"):
        b = math.lcm(b, 2)
    return b


def check_k(K: int, fmts) -> None:
    """A ``ValueError`` naming every format whose block K is not a multiple of."""
    bad = [(f, block_of(f)) for f in fmts if K % block_of(f)]
    if bad:
        names = ", ".join(f"{f} (block {b})" for f, b in bad)
        ok = [f for f in fmts if not K % block_of(f)]
        raise ValueError(f"K={K} is not a multiple of the block size of {names}: choose K divisible by "
                         f"{math.lcm(*[b for _, b in bad])}, or leave them out with --formats "
                         f"{','.join(ok) if ok else '...'}")


def check_out_dir(out) -> Path:
    """Create ``out`` if needed and prove it writable; a ``ValueError`` otherwise (nothing left behind)."""
    p = Path(out)
    if p.exists() and not p.is_dir():
        raise ValueError(f"cannot write to the output directory {str(p)!r}: it is a file")
    try:
        p.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".probe-", dir=p)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise ValueError(f"cannot write to the output directory {str(p)!r}: {e.strerror or e}") from None
    return p


# --------------------------------------------------------------------------
# The model.
# --------------------------------------------------------------------------


def model_curves(N: int, K: int, ceilings: rl.Ceilings, fmts, ms, *, path: str = "mma_sync") -> dict:
    """Each format's three-ceiling bound at each M: ``{fmt: [point, ...]}``.

    A point holds M, the bound ``time_us`` (the largest of ``mem_us``, ``mma_us``, ``alu_us``),
    ``serial_us`` (dequant not overlapped), the binding ceiling ``kind``, the MMA precision and
    whether the format runs natively, bytes, FLOPs, intensity and the TFLOP/s the bound allows.
    A format the ceilings cannot model (no MMA rate for its precision) is left out.
    """
    out = {}
    for fmt in fmts:
        try:
            pts = []
            for M in ms:
                b = rl.bound(fmt, M, N, K, ceilings, path=path)
                pts.append({"M": M, "time_us": b.time_us, "serial_us": b.serial_us, "mem_us": b.mem_us,
                            "mma_us": b.mma_us, "alu_us": b.alu_us, "kind": b.kind,
                            "precision": b.mma_precision, "native": b.native, "bytes": b.bytes,
                            "flops": b.flops, "intensity": b.intensity,
                            "tflops": b.flops / (b.time_us * 1e-6) / 1e12, "path": path})
            out[fmt] = pts
        except ValueError:
            continue
    return out


def predicted_crossovers(N: int, K: int, ceilings: rl.Ceilings, fmts, m_max: int) -> list[dict]:
    """:func:`labkernels.roofline.crossovers` for every pair of formats (mma.sync rates)."""
    out = []
    for a, b in itertools.combinations(fmts, 2):
        try:
            xs = rl.crossovers(a, b, N, K, ceilings, m_max=m_max)
        except ValueError:
            continue
        out.append({"a": a, "b": b, "path_a": "mma_sync", "path_b": "mma_sync", "m": xs})
    return out


def _m_max(ms) -> int:
    return 2 ** max(1, math.ceil(math.log2(max(ms))))


# --------------------------------------------------------------------------
# Measured data: this GPU now, or committed results.
# --------------------------------------------------------------------------


def _rec(r) -> dict:
    return dict(asdict(r)) if hasattr(r, "__dataclass_fields__") else dict(r)


def _is_peer(kernel: str) -> bool:
    from . import registry

    try:
        return registry.get(kernel).reference
    except ValueError:  # a kernel no longer registered: v00 is the library reference by convention
        return kernel.split("/")[-1].startswith("v00_")


def results_root() -> Path | None:
    """``benchmarks/results`` of the checkout (working directory or above, or the package's)."""
    here = Path.cwd().resolve()
    for d in [here, *here.parents, Path(__file__).resolve().parents[1]]:
        p = d / "benchmarks" / "results"
        if p.is_dir():
            return p
    return None


def committed_results(gpu_key: str, root=None) -> list[dict]:
    """Committed runs of GPU ``gpu_key``: one dict per ``<key>-<date>`` folder under ``root``,
    newest first, with its ``records`` (every JSON in it that has records; a record repeated in
    another file of the same run is kept once), ``gpu``, ``date`` and ``dir``."""
    root = results_root() if root is None else Path(root)
    if root is None or not Path(root).is_dir():
        return []
    pat = re.compile(rf"^{re.escape(gpu_key)}-(\d{{4}}-\d{{2}}-\d{{2}})$")
    runs = []
    for d in sorted(Path(root).iterdir(), reverse=True):
        m = pat.match(d.name)
        if not d.is_dir() or not m:
            continue
        recs, seen, dup, gpu, files = [], set(), [], "", []
        for f in sorted(d.rglob("*.json")):
            try:
                data = json.loads(f.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if not isinstance(data, dict) or not isinstance(data.get("records"), list):
                continue
            files.append(str(f.relative_to(root)))
            gpu = gpu or data.get("env", {}).get("gpu", "")
            for r in data["records"]:
                key = (r["kernel"], r["M"], r["N"], r["K"])
                if key in seen:
                    dup.append(list(key))
                    continue
                seen.add(key)
                recs.append(dict(r))
        if recs:
            runs.append({"dir": str(d), "name": d.name, "date": m.group(1), "gpu": gpu or gpu_key,
                         "files": files, "records": recs, "duplicates": dup})
    return runs


def _kernel_path(kernel: str) -> str:
    """The MMA path that bounds a recorded kernel (see runner.kernel_path); by name for kernels
    this version no longer registers."""
    from . import registry, runner

    try:
        return runner.kernel_path(registry.get(kernel))
    except ValueError:
        return "library" if _is_peer(kernel) else "mma_sync"


def _rebound(r: dict, ceilings: rl.Ceilings) -> dict:
    """The record with its bound and % of bound recomputed against the model's ceilings."""
    path = _kernel_path(r["kernel"])
    kw = {"group_size": FORMAT_PARAMS[r["fmt"]]["group_size"]} if r["fmt"] in FORMAT_PARAMS else {}
    b = rl.bound(r["fmt"], r["M"], r["N"], r["K"], ceilings, path=path, **kw)
    r = dict(r)
    r.update(bound_us=b.time_us, bound_kind=b.kind, pct_of_bound=100.0 * b.time_us / r["time_us"],
             bound_path=path, tflops=b.flops / (r["time_us"] * 1e-6) / 1e12,
             gbps=b.bytes / (r["time_us"] * 1e-6) / 1e9)
    return r


@dataclass
class Curve:
    """One measured curve: a format's fastest correct lab kernel per M, or one library peer."""

    name: str
    fmt: str
    kind: str  #: "lab" (fastest lab kernel per M) or "peer" (a library reference)
    path: str  #: the MMA ceiling its bound uses: "mma_sync" or "library"
    points: dict = field(default_factory=dict)  #: M -> record dict

    def to_json(self) -> dict:
        return {"name": self.name, "fmt": self.fmt, "kind": self.kind, "path": self.path,
                "points": [{"M": m, "kernel": r["kernel"], "time_us": r["time_us"], "bound_us": r["bound_us"],
                            "pct_of_bound": r["pct_of_bound"]} for m, r in sorted(self.points.items())]}


def measured_curves(records, fmts) -> list[Curve]:
    """Curves from records: per format the fastest lab kernel at each M, and each peer."""
    curves = []
    for fmt in fmts:
        rs = [r for r in records if r["fmt"] == fmt]
        lab = Curve(f"{fmt} lab (fastest)", fmt, "lab", "mma_sync")
        peers: dict[str, Curve] = {}
        for r in rs:
            if _is_peer(r["kernel"]):
                c = peers.setdefault(r["kernel"], Curve(f"{r['kernel']} (peer)", fmt, "peer", "library"))
                c.points[r["M"]] = r
            elif r["M"] not in lab.points or r["time_us"] < lab.points[r["M"]]["time_us"]:
                lab.points[r["M"]] = r
        curves += ([lab] if lab.points else []) + [peers[k] for k in sorted(peers)]
    return curves


def first_m_ahead(a: dict, b: dict):
    """The first M (of those both curves measured) from which ``a`` is faster than ``b`` at every
    larger such M, or None: "from which batch size does a win for good". ``a`` and ``b`` map M
    to a record (a dict or a :class:`labkernels.bench.Record`)."""
    def t(r):
        return r["time_us"] if isinstance(r, dict) else r.time_us

    ms = sorted(set(a) & set(b))
    for i, m in enumerate(ms):
        if all(t(a[x]) < t(b[x]) for x in ms[i:]):
            return m
    return None


def measured_crossovers(curves: list[Curve], N: int, K: int, ceilings: rl.Ceilings) -> list[dict]:
    """Where each pair of measured curves of different formats cross (sign changes of the time
    difference between consecutive common M, located by log-log interpolation), beside the
    model's :func:`labkernels.roofline.crossovers` for the same formats and MMA paths."""
    out = []
    for a, b in itertools.combinations(curves, 2):
        if a.fmt == b.fmt:
            continue
        common = sorted(set(a.points) & set(b.points))
        if len(common) < 2:
            continue
        found = []
        for m0, m1 in zip(common, common[1:]):
            r0 = math.log(a.points[m0]["time_us"] / b.points[m0]["time_us"])
            r1 = math.log(a.points[m1]["time_us"] / b.points[m1]["time_us"])
            if r0 == 0 or (r0 < 0) != (r1 < 0) and r1 != 0:
                if r0 == 0:
                    x = float(m0)
                else:
                    x = math.exp(math.log(m0) + (math.log(m1) - math.log(m0)) * r0 / (r0 - r1))
                found.append({"m": x, "between": [m0, m1],
                              "faster_below": a.name if r0 < 0 else b.name})
        try:
            pred = rl.crossovers(a.fmt, b.fmt, N, K, ceilings, path_a=a.path, path_b=b.path,
                                 m_max=_m_max(common))
        except ValueError:
            pred = []
        lo, hi = common[0], common[-1]
        out.append({"a": a.name, "b": b.name, "fmt_a": a.fmt, "fmt_b": b.fmt, "path_a": a.path,
                    "path_b": b.path, "measured": found, "predicted": pred,
                    "predicted_in_range": [x for x in pred if lo <= x <= hi], "range": [lo, hi]})
    return out


# --------------------------------------------------------------------------
# The sweep on a GPU: one (kernel, M) at a time, each outcome journaled as it is known.
# --------------------------------------------------------------------------

#: The journal of a GPU sweep, in the output folder (see :mod:`labkernels.journal`).
JOURNAL = "journal.jsonl"
#: Reasons that make a point *failed* (the kernel's fault), not *skipped* (it does not apply
#: here: a kernel this GPU cannot run, a shape its launcher refuses).
FAILED = ("failed its check", "raised")
#: A point the sweep process died in this many times (a crash, a hang, a kill) is not tried again.
MAX_DEATHS = 2


def make_workload(fmt: str, N: int, K: int, m_max: int, ms, **params):
    """The inputs every kernel of ``fmt`` is measured on (:class:`labkernels.runner.Workload`)."""
    from . import runner

    return runner.Workload(fmt, N, K, m_max, ms, **params)


def measure_point(v, M: int, work, ceilings, *, iters: int):
    """Check, then time, kernel ``v`` at M rows: ``(record, None)`` or ``(None, why not)``.

    The unit of the sweep, journaled one by one (:func:`labkernels.runner.measure`; the tests
    put a stand-in here to play failures and interruptions on a CPU)."""
    from . import runner

    return runner.measure(v, M, work, ceilings, iters=iters)


def sweep_settings(gpu_name: str, N: int, K: int, ms, fmts, iters: int) -> dict:
    """Everything a journaled point depends on: a resumed sweep must match all of it."""
    return {"gpu": gpu_name, "N": N, "K": K, "ms": list(ms), "formats": list(fmts), "iters": iters,
            "params": {f: FORMAT_PARAMS[f] for f in fmts if f in FORMAT_PARAMS}}


def failure_status(reason: str) -> str:
    """"failed" (the kernel's fault) or "skipped" (not applicable here) for a point's reason."""
    return "failed" if str(reason).startswith(FAILED) else "skipped"


def failure_kind(f: dict) -> str:
    """A failure entry's status ("failed" or "skipped"), from its reason where it has none."""
    return f.get("status") or failure_status(f.get("reason", ""))


def journal_state(entries) -> dict:
    """``(kernel, M) -> entry`` for the journaled points a resumed sweep keeps: each "measured"
    or "skipped" one, and, as "failed", one the sweep died in :data:`MAX_DEATHS` times.

    Every other point is measured (again): never reached, interrupted, died in once, or failed
    (a failure may be the sticky error of an earlier kernel's fault, gone in a fresh process)."""
    last, deaths, running = {}, {}, None
    for e in entries:
        key, status = (e.get("kernel"), e.get("M")), e.get("status")
        if status == "started":
            if running is not None:  # the point before never finished: the process died in it
                deaths[running] = deaths.get(running, 0) + 1
            running = key
            continue
        if key == running:
            running = None
        if status in ("measured", "skipped", "failed"):
            last[key] = e
    if running is not None:
        deaths[running] = deaths.get(running, 0) + 1
    keep = {k: e for k, e in last.items() if e["status"] in ("measured", "skipped")}
    for k, n in deaths.items():
        if n >= MAX_DEATHS and k not in keep:
            keep[k] = {"kernel": k[0], "M": k[1], "fmt": last.get(k, {}).get("fmt"), "status": "failed",
                       "reason": f"the sweep process died while measuring it {n} times (a crash, a hang or a "
                                 f"kill); not tried again (start without --resume to retry it)"}
    return keep


def _now() -> str:
    return _dt.datetime.now().isoformat(timespec="seconds")


def _measure_journaled(v, M: int, work, ceilings, iters: int, journal) -> dict:
    """Measure one point and journal it: a "started" line first (so that a crash in it is known
    next time), then its outcome. An exception is the kernel's failure, recorded, not raised;
    Ctrl-C is journaled as an interruption and goes on up."""
    base = {"kernel": v.id, "fmt": v.fmt, "M": M}
    if journal is not None:
        journal.append({**base, "status": "started", "at": _now()})
    try:
        rec, why = measure_point(v, M, work, ceilings, iters=iters)
    except KeyboardInterrupt:
        if journal is not None:
            journal.append({**base, "status": "interrupted", "at": _now()})
        raise
    except Exception as e:  # a fault the measurement did not catch: this point failed, the sweep goes on
        rec, why = None, f"raised {type(e).__name__}: {e}"
    if rec is not None:
        entry = {**base, "status": "measured", "record": _rec(rec), "at": _now()}
    else:
        entry = {**base, "status": failure_status(why), "reason": str(why), "at": _now()}
    if journal is not None:
        journal.append(entry)
    return entry


def sweep(fmts, N: int, K: int, ms, ceilings, *, iters: int = 30, journal=None, log=print):
    """Check and time every registered kernel of each format at each M: ``(records, failures,
    reused)``.

    One workload per format (made only if some point of it is left to measure). Each point's
    outcome is appended to ``journal`` (a :class:`labkernels.journal.Journal`) as soon as it is
    known; points the journal already settles (:func:`journal_state`) are taken from it, not
    measured again (``reused`` counts them). A kernel that fails or raises leaves a failure
    entry (``status`` "failed"; "skipped" for a point that does not apply here) and the sweep
    goes on.
    """
    from . import bench, registry

    kept = journal_state(journal.entries) if journal is not None else {}
    records, failures, reused, said = [], [], 0, set()
    for fmt in fmts:
        vs = registry.variants(fmt=fmt)
        if not vs:
            continue
        todo = [(v, M) for v in vs for M in ms if v.supports(M) and M <= (v.bench_max_m or M)]
        pending = [(v, M) for v, M in todo if (v.id, M) not in kept]
        log(f"{fmt}: {len(vs)} kernels ({', '.join(v.name for v in vs)}) over M = {ms[0]} … {ms[-1]}"
            + (f"; {len(todo) - len(pending)} of {len(todo)} points from the journal" if len(pending) < len(todo)
               else ""))
        work, work_error = None, None
        for v, M in bench.progress(todo, desc=f"{fmt} N={N} K={K}"):
            e = kept.get((v.id, M))
            if e is not None:
                reused += 1
            elif work_error is None and work is None:
                try:
                    work = make_workload(fmt, N, K, max(m for _, m in pending), ms, **FORMAT_PARAMS.get(fmt, {}))
                except Exception as ex:  # out of memory, say: every point of this format fails, the rest goes on
                    work_error = f"raised while making the {fmt} inputs: {type(ex).__name__}: {ex}"
            if e is None and work_error is not None:
                e = {"kernel": v.id, "fmt": fmt, "M": M, "status": "failed", "reason": work_error, "at": _now()}
                if journal is not None:
                    journal.append(e)
            elif e is None:
                e = _measure_journaled(v, M, work, ceilings, iters, journal)
            if e["status"] == "measured":
                records.append(e["record"])
                continue
            failures.append({"kernel": v.id, "fmt": fmt, "M": M, "N": N, "K": K, "reason": e["reason"],
                             "status": e["status"]})
            if (v.id, M) not in kept and (e["status"] != "skipped" or (v.id, e["reason"]) not in said):
                said.add((v.id, e["reason"]))  # a kernel this GPU cannot run is said once, not per M
                log(f"  {v.id} M={M} N={N} K={K}: {e['reason']}" if e["status"] != "skipped"
                    else f"  {v.id}: skipped: {e['reason']}")
        del work
    return records, failures, reused


def _move_aside(out_dir: Path, log=print) -> None:
    """Rename the result files of an earlier run (``results.json`` -> ``results.prev.json``, ...):
    until this sweep finishes, the folder must not hold results that look like its own."""
    moved = []
    for f in FILES:
        p = out_dir / f
        if p.exists():
            os.replace(p, p.with_name(f"{p.stem}.prev{p.suffix}"))
            moved.append(f)
    if moved:
        log(f"moved the earlier {', '.join(moved)} aside (*.prev.*): new ones are written when the sweep ends")


# --------------------------------------------------------------------------
# The run.
# --------------------------------------------------------------------------


@dataclass
class CrossoverResult:
    N: int
    K: int
    shape_note: str
    ms: list
    fmts: list
    mode: str  #: "measured" (swept on the GPU here now) or "modeled" (no sweep)
    gpu_key: str
    ceilings: rl.Ceilings
    ceilings_label: str
    measured_label: str  #: what the measured points are ("" when there are none)
    env: dict
    records: list  #: measured records (dicts), bounds against ``ceilings``
    failures: list
    model: dict  #: fmt -> model points (mma.sync rates)
    model_library: dict  #: fmt -> model points at the library rate (formats with a peer)
    kernel_fmts: list  #: requested formats with registered lab kernels
    model_only: list  #: requested formats without kernels yet
    unmodeled: list  #: requested formats the ceilings cannot model
    curves: list  #: [Curve]
    predicted: list  #: predicted_crossovers()
    measured_x: list  #: measured_crossovers()
    winners: list  #: per M: {"M", "winner", "source", "time_us", "model_winner", "model_time_us"}
    disagreements: list  #: lines
    sim_checks: list  #: Numba simulator correctness pass
    notes: list
    committed: dict | None = None
    #: every point of the sweep measured or not applicable: False when a kernel failed its check
    #: or raised at some M (those are in ``failures`` with status "failed")
    complete: bool = True
    files: list = field(default_factory=list)
    out_dir: str | None = None
    elapsed_s: float = 0.0

    @property
    def modeled(self) -> bool:
        return self.mode == "modeled"

    def to_json(self) -> dict:
        return _clean({
            "what": "labkernels crossover", "created": _dt.datetime.now().isoformat(timespec="seconds"),
            "N": self.N, "K": self.K, "shape": self.shape_note, "ms": self.ms, "formats": self.fmts,
            "mode": self.mode, "complete": self.complete,
            "failed": [f for f in self.failures if failure_kind(f) == "failed"],
            "gpu": self.gpu_key, "env": self.env, "ceilings": self.ceilings.to_json(),
            "ceilings_label": self.ceilings_label, "measured_label": self.measured_label,
            "committed": ({k: v for k, v in self.committed.items() if k != "records"} if self.committed else None),
            "kernel_formats": self.kernel_fmts, "model_only": self.model_only, "unmodeled": self.unmodeled,
            "records": self.records, "failures": self.failures,
            "model": {"mma_sync": self.model, "library": self.model_library},
            "curves": [c.to_json() for c in self.curves],
            "crossovers": {"predicted": self.predicted, "measured": self.measured_x},
            "winners": self.winners, "disagreements": self.disagreements, "simulator_checks": self.sim_checks,
            "notes": self.notes, "elapsed_s": self.elapsed_s,
        })


def _clean(o):
    """JSON-safe: inf/nan -> None, tuples -> lists."""
    if isinstance(o, float):
        return o if math.isfinite(o) else None
    if isinstance(o, dict):
        return {str(k): _clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    return o


def _ceilings_label(c: rl.Ceilings) -> str:
    if c.source == "datasheet":
        return f"datasheet figures for {c.gpu} (labkernels/specs.py)"
    p = rl.DATA_DIR / f"{c.key}.json"
    date = ""
    if p.is_file():
        try:
            date = json.loads(p.read_text())["env"].get("date", "")
        except (OSError, ValueError, KeyError):
            pass
    return f"ceilings measured on {c.gpu}" + (f" on {date} (labkernels/data/ceilings/{c.key}.json)" if date else "")


def simulator_checks(log=print) -> list[dict]:
    """Check every registered Numba variant at small shapes (the CUDA simulator without a GPU)."""
    from . import check, registry

    out = []
    for v in registry.variants(impl="numba"):
        ok, why = v.runnable()
        if not ok:
            out.append({"kernel": v.id, "fmt": v.fmt, "status": "SKIP", "message": why})
            continue
        for M, N, K in [(1, 64, 256), (3, 40, 384)]:
            if not v.supports(M):
                continue
            try:
                r = check.check_variant(v, M, N, K)
                out.append({"kernel": v.id, "fmt": v.fmt, "shape": [M, N, K], "status": "PASS" if r.passed else "FAIL",
                            "backend": r.backend, "message": str(r)})
            except (ValueError, TypeError, UnsupportedDevice) as e:
                out.append({"kernel": v.id, "fmt": v.fmt, "shape": [M, N, K], "status": "SKIP",
                            "message": f"{v.id} M={M} N={N} K={K}: {e}"})
    return out


def run(*, N: int | None = None, K: int | None = None, preset: str | None = None, ms=None, quick: bool = False,
        formats=None, out=DEFAULT_OUT, gpu: str | None = None, source: str = "measured",
        measure: bool | None = None, iters: int | None = None, results=None, sim_check: bool = True,
        resume: bool = False, log=print) -> CrossoverResult:
    """The crossover study; see the module docstring.

    ``measure``: sweep on the GPU here (default: when there is one); ``False`` models only.
    ``gpu``/``source``: the GPU and ceilings the model uses when not measuring (default
    h100-sxm, measured: the committed measured ceilings, else the spec table).
    ``results``: the folder of committed results (default: ``benchmarks/results`` of the
    checkout; ``False``: none). ``out=None`` writes nothing. Every input is checked, and the
    output folder proven writable, before any work.

    On a GPU with ``out``, every (kernel, M) outcome goes to ``out/journal.jsonl`` as it is
    measured; ``resume=True`` continues that journal (same GPU, shape, M, formats and timed
    calls, else a ``ValueError`` naming the difference) instead of starting a new one. The
    result files are written only once the sweep is over; ``complete`` is False when a
    kernel failed at some M.
    """
    from . import bench, device, registry

    t0 = time.time()
    N, K, shape_note = resolve_shape(preset, N, K)
    ms = check_ms(ms) if ms is not None else list(QUICK_MS if quick else DEFAULT_MS)
    fmts = parse_formats(formats)
    check_k(K, fmts)
    source = check_choice("source", source, SOURCES)
    if iters is None:
        iters = 10 if quick else 30
    iters = check_int("iters", iters, min_value=1)
    here = device.gpu() if measure is not False else None
    if measure and here is None:
        raise UnsupportedDevice(f"measuring needs a CUDA GPU: {device.why_no_gpu()}; pass measure=False to model")
    notes: list[str] = []
    if here is not None:
        if gpu is not None:
            notes.append(f"--gpu {gpu} ignored: measuring the GPU here ({here.name}); "
                         f"use --model-only to model {gpu}")
        if source == "measured":
            gpu_key = here.spec.key if here.spec else here.name
        else:
            if here.spec is None:
                raise ValueError(f"{here.name} is not in the spec table: no datasheet ceilings; use --source measured")
            gpu_key = here.spec.key
    else:
        if gpu is None:
            g0 = device.gpu() if measure is False else None
            gpu = g0.spec.key if g0 is not None and g0.spec else DEFAULT_GPU
        from . import specs

        gpu_key = specs.spec(gpu).key
    out_dir = check_out_dir(out) if out is not None else None

    kernel_fmts = [f for f in fmts if any(not v.reference for v in registry.variants(fmt=f))]
    model_only = [f for f in fmts if f not in kernel_fmts]
    if resume and out_dir is None:
        raise ValueError("resume needs the output folder that holds the journal (out=None writes nothing)")
    records, failures, committed, measured_label = [], [], None, ""
    if here is not None:
        # The journal first: a resume with other settings is refused before any GPU work.
        jr = None
        if out_dir is not None:
            from . import journal

            jr = journal.open_journal(out_dir / JOURNAL, sweep_settings(here.name, N, K, ms, fmts, iters),
                                      resume=resume, what="crossover sweep")
            _move_aside(out_dir, log)
            log(f"{'resuming' if jr.resumed else 'journal'}: {jr.path} (started {jr.header['started']})")
        try:
            log(f"measuring the ceilings of {here.name} (cached after the first run) ...")
            ceil = rl.measure_ceilings() if source == "measured" else rl.datasheet_ceilings(gpu_key)
            rs, failures, reused = sweep(fmts, N, K, ms, ceil, iters=iters, journal=jr, log=log)
        finally:
            if jr is not None:
                jr.close()
        records = [_rebound(_rec(r), ceil) for r in rs]
        for fmt in fmts:
            fs = [f for f in failures if f["fmt"] == fmt]
            if registry.variants(fmt=fmt) and not any(r["fmt"] == fmt for r in records):
                why = sorted({f["reason"].split(":")[0] for f in fs}) or ["no M in range for its kernels"]
                notes.append(f"{fmt}: no kernel measured on {here.name} ({'; '.join(why)}): modeled only")
        measured_label = f"MEASURED now on {here.name} ({_dt.date.today().isoformat()})"
        if jr is not None and jr.resumed:
            started = jr.header["started"][:10]
            measured_label += f"; resumed: {reused} points from the journal started {started}"
            notes.append(f"resumed {jr.path}: {reused} kernel/M points taken from it, the rest measured now")
    else:
        if resume:
            notes.append("--resume ignored: nothing is measured here, so there is no sweep to resume")
        ceil = rl.ceilings_for(gpu_key, source)
        if source == "measured" and ceil.source != "measured":
            notes.append(f"no committed measured ceilings for {gpu_key}: the model uses datasheet figures")
        runs = committed_results(gpu_key, None if results is None else results) if results is not False else []
        # Runs are newest first: a later run's (kernel, M) point replaces an earlier one's, and
        # each run adds what the later ones did not measure (a new lesson's kernels, say).
        seen, used = set(), []
        for r in runs:
            at = [x for x in r["records"] if (x["N"], x["K"]) == (N, K) and x["fmt"] in fmts and x["M"] in ms
                  and (x["kernel"], x["M"]) not in seen]
            if not at:
                continue
            seen |= {(x["kernel"], x["M"]) for x in at}
            records += [{**_rebound(x, ceil), "date": r["date"]} for x in at]
            used.append((r, len(at)))
            dups = [d for d in r["duplicates"] if (d[2], d[3]) == (N, K)]
            if dups:
                notes.append(f"{len(dups)} committed records repeated in another file of the same run "
                             f"(same kernel, M, N, K) were read once")
        if used:
            newest = used[0][0]
            committed = {**newest, "records_here": len(records), "records": [x for r, _ in used for x in r["records"]],
                         "runs": [{"name": r["name"], "date": r["date"], "records_here": n} for r, n in used]}
            measured_label = (f"MEASURED earlier on {newest['gpu']} ("
                              + ", ".join(r["date"] for r, _ in used) + "), committed in "
                              + ", ".join(f"benchmarks/results/{r['name']}" for r, _ in used))
        if runs and committed is None:
            shapes = sorted({(x["N"], x["K"]) for r in runs for x in r["records"]})
            notes.append(f"committed results for {gpu_key} ({', '.join(r['name'] for r in runs)}) hold no "
                         f"measurement at N={N} K={K} for these formats and M; they have "
                         f"{', '.join(f'{a}x{b}' for a, b in shapes)}")
        elif not runs and results is not False:
            notes.append(f"no committed results for {gpu_key} under benchmarks/results/")

    model = model_curves(N, K, ceil, fmts, ms)
    unmodeled = [f for f in fmts if f not in model]
    for f in unmodeled:
        notes.append(f"{f}: not modeled on {ceil.gpu} (its ceilings have no rate for the MMA precision it needs)")
    peer_fmts = sorted({r["fmt"] for r in records if _is_peer(r["kernel"])} |
                       {v.fmt for v in registry.variants(impl="library") if v.fmt in fmts})
    model_library = model_curves(N, K, ceil, [f for f in fmts if f in peer_fmts], ms, path="library")
    curves = measured_curves(records, fmts)
    predicted = predicted_crossovers(N, K, ceil, list(model), _m_max(ms))
    measured_x = measured_crossovers(curves, N, K, ceil)
    sims = simulator_checks(log) if (here is None and sim_check) else []

    res = CrossoverResult(
        N=N, K=K, shape_note=shape_note, ms=ms, fmts=fmts, mode="measured" if here is not None else "modeled",
        gpu_key=gpu_key, ceilings=ceil, ceilings_label=_ceilings_label(ceil), measured_label=measured_label,
        env=bench.environment(), records=records, failures=failures, model=model, model_library=model_library,
        kernel_fmts=kernel_fmts, model_only=model_only, unmodeled=unmodeled, curves=curves, predicted=predicted,
        measured_x=measured_x, winners=[], disagreements=[], sim_checks=sims, notes=notes, committed=committed,
    )
    res.complete = not any(failure_kind(f) == "failed" for f in failures)
    res.winners = winners(res)
    res.disagreements = disagreements(res)
    res.elapsed_s = time.time() - t0
    if out_dir is not None:
        res.out_dir = str(out_dir)
        res.files = write(res, out_dir)
        res.elapsed_s = time.time() - t0
    return res


# --------------------------------------------------------------------------
# Reading the result.
# --------------------------------------------------------------------------


def winners(res: CrossoverResult) -> list[dict]:
    """Per M: the fastest measured curve where any was measured, else the model's fastest
    format; and, always, the model's fastest format (mma.sync rates)."""
    out = []
    for i, M in enumerate(res.ms):
        mod = {f: pts[i]["time_us"] for f, pts in res.model.items()}
        mw = min(mod, key=mod.get) if mod else None
        row = {"M": M, "model_winner": mw, "model_time_us": mod.get(mw)}
        meas = {c.name: c.points[M]["time_us"] for c in res.curves if M in c.points}
        if meas:
            w = min(meas, key=meas.get)
            row.update(winner=w, source="measured", time_us=meas[w],
                       kernel=next(c.points[M]["kernel"] for c in res.curves if c.name == w))
        else:
            row.update(winner=mw, source="modeled", time_us=mod.get(mw), kernel=None)
        out.append(row)
    return out


_WHY = {
    "memory": "the bound streams the minimum bytes at copy bandwidth; a kernel this far below it keeps too few "
              "loads in flight for this size (too few blocks, short rows), re-reads data, or pays launch latency",
    "mma": "the bound runs every MMA at the measured rate with memory and dequant hidden; tiles too large for "
           "this M (idle SMs, partial waves), no pipelining, or an instruction mix below the rate keep it slower",
    "alu": "the bound hides the dequant ALU work behind nothing else; a kernel slower than that spends more "
           "instructions per weight than the model counts, or re-dequantizes per smaller M-tile",
}


def _ranges(ms) -> str:
    """[1, 2, 4, 64, 128] -> '1-4, 64-128' (consecutive entries of the sweep)."""
    return ", ".join(f"{g[0]}" if len(g) == 1 else f"{g[0]}–{g[-1]}" for g in ms)


def disagreements(res: CrossoverResult) -> list[str]:
    """Lines where measurement and model are more than 2x apart: a curve's time against its
    bound, and a measured crossover against the predicted one."""
    lines = []
    idx = {m: i for i, m in enumerate(res.ms)}
    for c in res.curves:
        slow, fast = [], []
        for M, r in sorted(c.points.items()):
            ratio = r["time_us"] / r["bound_us"]
            if ratio > DISAGREE:
                slow.append((M, ratio, r))
            elif ratio < 1 / DISAGREE:
                fast.append((M, ratio, r))
        for group, word in ((slow, "slower"), (fast, "faster")):
            if not group:
                continue
            runs, cur = [], [group[0][0]]
            for (m0, *_), (m1, *_) in zip(group, group[1:]):
                if idx[m1] == idx[m0] + 1:
                    cur.append(m1)
                else:
                    runs.append(cur)
                    cur = [m1]
            runs.append(cur)
            worst = max(group, key=lambda g: g[1] if word == "slower" else 1 / g[1])
            kinds = sorted({g[2]["bound_kind"] for g in group})
            why = ("the measured time beats the bound: the ceiling the model gives this kernel is too low "
                   "(a library path faster than the rate assumed, or cache reuse the byte count ignores)"
                   if word == "faster" else f"at M={worst[0]} ({worst[2]['bound_kind']}-bound) "
                   + _WHY[worst[2]["bound_kind"]])
            lines.append(f"{c.name}: measured more than {DISAGREE:g}x {word} than its bound at M = {_ranges(runs)} "
                         f"(worst {worst[1]:.1f}x at M={worst[0]}, {worst[2]['kernel']}, bound {'/'.join(kinds)}): {why}")
    for x in res.measured_x:
        meas = [f["m"] for f in x["measured"]]
        pred = x["predicted_in_range"]
        lo, hi = x["range"]
        pair = f"{x['a']} / {x['b']}"
        if meas and pred:
            for mm in meas:
                near = min(pred, key=lambda p: abs(math.log(p / mm)))
                if max(mm / near, near / mm) > DISAGREE:
                    lines.append(f"crossover {pair}: measured M* ≈ {mm:.0f}, model {near:.0f} — more than "
                                 f"{DISAGREE:g}x apart: the kernels do not reach their bounds equally near M* "
                                 f"(see the % of bound table)")
        elif meas and not pred:
            lines.append(f"crossover {pair}: measured at M* ≈ {', '.join(f'{m:.0f}' for m in meas)}, but the model "
                         f"puts none in M {lo}–{hi}"
                         + (f" (it predicts {', '.join(f'{p:.0f}' for p in x['predicted'])})" if x["predicted"] else "")
                         + ": one kernel sits far from its bound there")
        elif pred and not meas:
            lines.append(f"crossover {pair}: the model puts one at M* = {', '.join(f'{p:.0f}' for p in pred)}, "
                         f"none measured in M {lo}–{hi}: one kernel sits far from its bound there")
    return lines


def _fmt_ms(xs) -> str:
    return ", ".join(f"{x:.0f}" for x in xs) if xs else "none"


def summarize(res: CrossoverResult) -> str:
    """The printed report."""
    L = []
    c = res.ceilings
    tag = "MODELED" if res.modeled else "MEASURED"
    L.append(f"labkernels crossover — N={res.N}, K={res.K} ({res.shape_note}); "
             f"M = {', '.join(map(str, res.ms))}")
    if res.modeled:
        L.append(f"MODELED: no sweep on a GPU here. Bounds: the three-ceiling model of {c.gpu} from the "
                 f"{res.ceilings_label} — not fitted to any sweep.")
    else:
        L.append(f"MEASURED: swept now on the GPU here; bounds from the {res.ceilings_label} "
                 f"(measured ceilings, never fitted to the sweep).")
        if not res.complete:
            L.append("INCOMPLETE: some kernels failed at some M (listed below); their points are missing.")
    L.append(f"Measured points: {res.measured_label or 'none'}"
             + (f" — {len(res.records)} records, formats {', '.join(sorted({r['fmt'] for r in res.records}))}"
                if res.records else ""))
    if res.model_only:
        L.append(f"Formats without kernels, {MODEL_ONLY_LABEL}: {', '.join(res.model_only)}")
    for n in res.notes:
        L.append(f"note: {n}")
    lib = ", ".join(f"{p} {c.library[p] / 1e12:.0f}" for p in rl.MMA_PRECISIONS if c.library.get(p))
    mma = ", ".join(f"{p} {c.mma[p] / 1e12:.0f}" for p in rl.MMA_PRECISIONS if c.mma.get(p))
    L.append(f"Ceilings ({c.source}): memory {c.bw / 1e12:.2f} TB/s; mma.sync {mma} T/s; library {lib} T/s; "
             f"ALU {c.alu / 1e12:.1f} T instr/s, FFMA {c.ffma / 1e12:.1f} T/s")

    L.append("")
    L.append("Winner per M range (MEASURED where measured, else MODELED):")
    for grp in _group(res.winners, lambda w: (w["winner"], w["source"])):
        w0 = grp[0]
        src = "MEASURED" if w0["source"] == "measured" else "MODELED"
        ks = sorted({w["kernel"] for w in grp if w["kernel"]})
        only = f" [{MODEL_ONLY_LABEL}]" if w0["source"] == "modeled" and w0["winner"] in res.model_only else ""
        L.append(f"  M {_span(grp):<14} {(w0['winner'] or '—') + only:<34} {src}"
                 + (f"  ({', '.join(ks)})" if ks else ""))
    L.append("The model's winner over every requested format (MODELED; lab-kernel bounds at mma.sync rates):")
    for grp in _group(res.winners, lambda w: w["model_winner"]):
        f = grp[0]["model_winner"]
        kinds = sorted({res.model[f][res.ms.index(w['M'])]["kind"] for w in grp}) if f else []
        note = f" [{MODEL_ONLY_LABEL}]" if f in res.model_only else ""
        L.append(f"  M {_span(grp):<14} {f or '—'}{note} ({'/'.join(kinds)}-bound)")

    L.append("")
    L.append(f"Predicted crossovers (MODELED; roofline.crossovers, mma.sync rates, M ≤ {_m_max(res.ms)}):")
    never = []
    for x in res.predicted:
        if x["m"]:
            L.append(f"  {x['a']:>6} / {x['b']:<6} M* = {_fmt_ms(x['m'])}")
        else:
            never.append(f"{x['a']}/{x['b']}")
    if never:
        L.append(f"  no crossover: {', '.join(never)}")
    if res.measured_x:
        L.append(f"Measured crossovers (from the curves; {res.measured_label}), model for the same kernels' paths:")
        for x in res.measured_x:
            meas = "; ".join(f"≈ {f['m']:.0f} (between {f['between'][0]} and {f['between'][1]}; "
                             f"{f['faster_below']} faster below)" for f in x["measured"]) or \
                f"none in M {x['range'][0]}–{x['range'][1]}"
            L.append(f"  {x['a']} / {x['b']}: measured M* {meas}; model M* = {_fmt_ms(x['predicted'])} "
                     f"({x['path_a']} vs {x['path_b']})")
    elif res.records:
        L.append("Measured crossovers: fewer than two measured curves share two M")

    if res.records:
        L.append("")
        L.append("% of bound, every measured kernel (bound from the model's ceilings; library peers at "
                 "library rates):")
        ms = [m for m in res.ms if any(r["M"] == m for r in res.records)]
        L.append(f"  {'kernel':<28}" + "".join(f"{m:>6}" for m in ms))
        for k in sorted({r["kernel"] for r in res.records}):
            row = {r["M"]: r["pct_of_bound"] for r in res.records if r["kernel"] == k}
            L.append(f"  {k:<28}" + "".join(f"{row[m]:>6.0f}" if m in row else f"{'·':>6}" for m in ms))
    if res.disagreements:
        L.append("")
        L.append(f"Measurement and model more than {DISAGREE:g}x apart:")
        L += [f"  DISAGREE: {d}" for d in res.disagreements]
    elif res.records:
        L.append(f"Measurement and model within {DISAGREE:g}x everywhere on the curves.")
    failed = [f for f in res.failures if failure_kind(f) == "failed"]
    skipped = [f for f in res.failures if failure_kind(f) != "failed"]
    if failed:
        L.append("")
        L.append(f"INCOMPLETE: {len(failed)} kernel/M pairs FAILED (results.json says \"complete\": false; "
                 f"run the same command with --resume to measure them again):")
        L += [f"  FAILED {f['kernel']} M={f['M']}: {f['reason']}" for f in failed]
    if skipped:
        L.append("")
        L.append(f"{len(skipped)} kernel/M pairs not measured (not applicable here):")
        L += [f"  {f['kernel']} M={f['M']}: {f['reason']}" for f in skipped]

    L.append("")
    L.append(f"Modeled bound per format ({'MODELED' if res.modeled else 'model'}, µs; "
             f"m = memory-, T = MMA-, A = ALU-bound):")
    L.append(f"  {'format':<8}" + "".join(f"{m:>9}" for m in res.ms))
    for f, pts in res.model.items():
        L.append(f"  {f:<8}" + "".join(f"{_num(p['time_us']):>8}{'mTA'[('memory', 'mma', 'alu').index(p['kind'])]}"
                                        for p in pts)
                 + (f"  {MODEL_ONLY_LABEL}" if f in res.model_only else ""))
    if res.sim_checks:
        L.append("")
        n_ok = sum(s["status"] == "PASS" for s in res.sim_checks)
        L.append(f"Numba kernels, correctness pass at small shapes ({n_ok} of {len(res.sim_checks)} passed):")
        L += [f"  {s['message'] if s['status'] != 'SKIP' else 'SKIP ' + s['message']}".split("\n")[0]
              for s in res.sim_checks]
    if res.files:
        L.append("")
        L.append(f"{tag}: wrote {', '.join(Path(f).name for f in res.files)} in {res.out_dir} "
                 f"({res.elapsed_s:.1f} s)")
    return "\n".join(L)


def _num(t: float) -> str:
    return f"{t:.0f}" if t >= 100 else f"{t:.1f}"


def _group(rows, key):
    out = []
    for _, g in itertools.groupby(rows, key=key):
        out.append(list(g))
    return out


def _span(grp) -> str:
    a, b = grp[0]["M"], grp[-1]["M"]
    return f"{a}" if a == b else f"{a}–{b}"


# --------------------------------------------------------------------------
# Files: figures, JSON, CSV, written atomically as a set.
# --------------------------------------------------------------------------


def _dense_ms(ms) -> list[int]:
    lo, hi = math.log2(min(ms)), math.log2(max(ms))
    n = max(1, int(round((hi - lo) * 4)))
    return sorted({int(round(2 ** (lo + (hi - lo) * i / n))) for i in range(n + 1)} | set(ms))


def _title_tag(res) -> str:
    return "MODELED (no GPU sweep)" if res.modeled else "MEASURED now"


def _title(res, head: str) -> str:
    import textwrap

    lines = [f"{head} — {_title_tag(res)}", f"lines: three-ceiling model, {res.ceilings_label}",
             f"points: {res.measured_label or 'none'}"]
    return "\n".join(textwrap.fill(x, 110) for x in lines)


def figures(res: CrossoverResult):
    """(roofline figure, sweep figure) as matplotlib Figures (no pyplot state)."""
    return roofline_figure(res), sweep_figure(res)


def _watermark(ax):
    ax.text(0.5, 0.5, "MODELED", transform=ax.transAxes, fontsize=64, color="gray", alpha=0.12,
            ha="center", va="center", rotation=25, zorder=0)


def roofline_figure(res: CrossoverResult):
    """The classic roofline of the model's ceilings, each format's modeled path across it (M grows
    left to right) and every measured point."""
    from matplotlib.figure import Figure

    from . import plot

    c = res.ceilings
    fig = Figure(figsize=(10, 6.5))
    ax = fig.add_subplot()
    top = max(v for v in c.mma.values() if v)
    alu = [f for f in res.model if rl.get_format(f).execution(c.cc).alu_w
           and 2 * rl.get_format(f).tile_m / rl.get_format(f).execution(c.cc).alu_w * c.alu < 1.5 * top]
    title = _title(res, f"{c.gpu}: roofline, N={res.N} K={res.K}")
    plot.roofline_figure(c, (), ax=ax, title=title, show_alu=alu)
    libs = []
    for p in rl.MMA_PRECISIONS:
        lib, mma = c.library.get(p) or 0, c.mma.get(p) or 0
        if lib and abs(lib - mma) > 0.05 * max(lib, mma):
            ax.axhline(lib / 1e12, color="gray", lw=0.8, ls=(0, (2, 2)))
            libs.append(f"{p} {lib / 1e12:.0f}")
    if libs:
        ax.text(0.01, 0.99, "dotted grey: library rates, " + ", ".join(libs) + " T/s", transform=ax.transAxes,
                fontsize=7, color="dimgray", va="top")
    for f, pts in res.model.items():
        only = f in res.model_only
        ax.plot([p["intensity"] for p in pts], [p["tflops"] for p in pts], color=plot.FMT_COLOR.get(f),
                lw=1.0, ls="--" if only else "-", alpha=0.8, marker=".", ms=3,
                label=f"{f} bound over M — " + (MODEL_ONLY_LABEL if only else "model"))
    markers = "osD^v<>ph*X"
    for i, k in enumerate(sorted({r["kernel"] for r in res.records})):
        rs = sorted((r for r in res.records if r["kernel"] == k), key=lambda r: r["M"])
        xs = [rl.flops(r["M"], r["N"], r["K"]) / rl.bytes_moved(r["fmt"], r["M"], r["N"], r["K"]) for r in rs]
        ax.scatter(xs, [r["tflops"] for r in rs], s=30, marker=markers[i % len(markers)],
                   color=plot.FMT_COLOR.get(rs[0]["fmt"]), edgecolor="black", lw=0.4, zorder=4,
                   label=f"{k} (measured)")
    if res.modeled:
        _watermark(ax)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def sweep_figure(res: CrossoverResult):
    """Time per call against M: each format's three-ceiling bound, the library-rate bound of
    formats with a peer, and the measured curves."""
    from matplotlib.figure import Figure

    from . import plot

    c = res.ceilings
    fig = Figure(figsize=(11, 7))
    ax = fig.add_subplot()
    grid = _dense_ms(res.ms)
    for f in res.model:
        color = plot.FMT_COLOR.get(f)
        only = f in res.model_only
        bs = [rl.bound(f, m, res.N, res.K, c) for m in grid]
        ax.plot(grid, [b.time_us for b in bs], color=color, lw=1.6 if not only else 1.1, ls="--" if only else "-",
                label=f"{f} bound" + (f" — {MODEL_ONLY_LABEL}" if only else ""))
        if any(b.alu_us > 0 for b in bs):
            ax.plot(grid, [b.serial_us for b in bs], color=color, lw=0.6, ls=":")
    for f in res.model_library:
        bs = [rl.bound(f, m, res.N, res.K, c, path="library") for m in grid]
        ax.plot(grid, [b.time_us for b in bs], color=plot.FMT_COLOR.get(f), lw=1.0, ls="-.",
                label=f"{f} bound at the library rate")
    best = {id(r) for cv in res.curves for r in cv.points.values()}
    others = [r for r in res.records if id(r) not in best]
    if others:
        ax.scatter([r["M"] for r in others], [r["time_us"] for r in others], s=10, marker="x", lw=0.7,
                   color=[plot.FMT_COLOR.get(r["fmt"], "gray") for r in others], alpha=0.45, zorder=3,
                   label="slower lab kernels (measured)")
    for cv in res.curves:
        pts = sorted(cv.points.items())
        ax.plot([m for m, _ in pts], [r["time_us"] for _, r in pts], marker="o" if cv.kind == "lab" else "s",
                ms=5, lw=1.2, color=plot.FMT_COLOR.get(cv.fmt), mec="black", mew=0.5, zorder=4,
                ls="-" if cv.kind == "lab" else (0, (4, 1)), label=f"{cv.name} (measured)")
    ax.plot([], [], color="gray", lw=0.6, ls=":", label="bound with dequant not overlapped")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("M (tokens in the batch)")
    ax.set_ylabel("time per call (µs)")
    ax.set_title(_title(res, f"{c.gpu}: N={res.N}, K={res.K}, time per call against M"), fontsize=9)
    ax.grid(True, which="both", alpha=0.25)
    if res.modeled:
        _watermark(ax)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


CSV_COLUMNS = ("source", "curve", "kernel", "fmt", "M", "N", "K", "time_us", "bound_us", "bound_kind",
               "pct_of_bound", "gbps", "tflops", "gpu", "date")


def to_csv(res: CrossoverResult) -> str:
    """One row per measured record and per model point."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    date = (res.committed or {}).get("date") or res.env.get("date", "")
    in_curve = {id(r): cv.name for cv in res.curves for r in cv.points.values()}
    for r in sorted(res.records, key=lambda r: (r["fmt"], r["kernel"], r["M"])):
        w.writerow(["measured", in_curve.get(id(r), ""), r["kernel"], r["fmt"], r["M"], r["N"], r["K"],
                    f"{r['time_us']:.4g}", f"{r['bound_us']:.4g}", r["bound_kind"], f"{r['pct_of_bound']:.1f}",
                    f"{r['gbps']:.1f}", f"{r['tflops']:.2f}", r.get("gpu", ""), r.get("date") or date])
    for path, table in (("mma_sync", res.model), ("library", res.model_library)):
        for f, pts in table.items():
            for p in pts:
                w.writerow(["model" if path == "mma_sync" else "model-library", f"{f} bound", "", f, p["M"],
                            res.N, res.K, f"{p['time_us']:.4g}", f"{p['time_us']:.4g}", p["kind"], "100.0",
                            f"{p['bytes'] / (p['time_us'] * 1e-6) / 1e9:.1f}", f"{p['tflops']:.2f}",
                            res.ceilings.gpu, ""])
    return buf.getvalue()


def _save_figure(fig, path: str) -> None:
    fig.savefig(path, format="png", dpi=120, bbox_inches="tight")


def write(res: CrossoverResult, out_dir) -> list[str]:
    """Write the four files: each to a temporary name first, then all renamed into place; on any
    error the temporaries are removed and a ``ValueError`` says what failed."""
    out_dir = Path(out_dir)
    final = [out_dir / f for f in FILES]
    tmps = [out_dir / f".{f}.tmp{os.getpid()}" for f in FILES]
    try:
        js = json.dumps(res.to_json(), indent=1, allow_nan=False) + "\n"
        tmps[0].write_text(js, encoding="utf-8")
        tmps[1].write_text(to_csv(res), encoding="utf-8")
        rfig, sfig = figures(res)
        _save_figure(rfig, str(tmps[2]))
        _save_figure(sfig, str(tmps[3]))
        for t, f in zip(tmps, final):
            os.replace(t, f)
    except OSError as e:
        raise ValueError(f"could not write the results to {str(out_dir)!r}: {e}") from None
    finally:
        for t in tmps:
            try:
                t.unlink()
            except FileNotFoundError:
                pass
    return [str(f) for f in final]


# --------------------------------------------------------------------------
# Command line.
# --------------------------------------------------------------------------


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def cmd_crossover(args) -> int:
    ms = parse_ms(args.ms) if args.ms else None
    # A time limit's SIGTERM ends the sweep like Ctrl-C: the point being measured is journaled
    # as interrupted (to be measured again), not as one the process died in.
    old = signal.signal(signal.SIGTERM, _interrupt) if threading.current_thread() is threading.main_thread() else None
    try:
        res = run(N=args.n, K=args.k, preset=args.preset, ms=ms, quick=args.quick, formats=args.formats,
                  out=args.out, gpu=args.gpu, source=args.source, measure=False if args.model_only else None,
                  iters=args.iters, sim_check=not args.no_sim_check, resume=args.resume)
    except KeyboardInterrupt:
        j = Path(args.out) / JOURNAL
        print("labkernels crossover: interrupted; no results written. "
              + (f"What was measured is in {j}: run the same command with --resume to go on." if j.exists() else ""),
              file=sys.stderr)
        return 130
    finally:
        if old is not None:
            signal.signal(signal.SIGTERM, old)
    print(summarize(res))
    bad = [f for f in res.failures if failure_kind(f) == "failed"]
    bad += [s for s in res.sim_checks if s["status"] == "FAIL"]
    return 1 if bad else 0


def add_parser(subparsers) -> argparse.ArgumentParser:
    a = subparsers.add_parser(
        "crossover", help="which format is fastest at each M, and where the curves cross: measured on the GPU "
                          "here against the three-ceiling model (modeled, with committed results, without one)")
    a.add_argument("--preset", help="a layer shape NxK: " + ", ".join(PRESETS))
    a.add_argument("--n", type=int, help=f"output features N (default {DEFAULT_N})")
    a.add_argument("--k", type=int, help=f"input features K (default {DEFAULT_K})")
    a.add_argument("--ms", help="comma-separated M values (default 1,2,4,...,16384)")
    a.add_argument("--quick", action="store_true", help=f"M = {','.join(map(str, QUICK_MS))} and 10 timed calls")
    a.add_argument("--formats", help="comma-separated formats (default all: " + ",".join(rl.FORMATS) + ")")
    a.add_argument("--out", default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT}/)")
    a.add_argument("--gpu", help=f"the GPU to model when none is here (default {DEFAULT_GPU})")
    a.add_argument("--source", default="measured", choices=SOURCES,
                   help="the model's ceilings: measured (on the GPU here, or committed for --gpu; datasheet "
                        "where none are) or datasheet (spec table)")
    a.add_argument("--model-only", action="store_true", help="model even when a GPU is here (no sweep)")
    a.add_argument("--iters", type=int, help="timed calls per point (default 30, --quick 10)")
    a.add_argument("--no-sim-check", action="store_true", help="skip the Numba simulator pass without a GPU")
    a.add_argument("--resume", action="store_true",
                   help=f"continue the sweep journaled in --out/{JOURNAL} (same GPU and settings): points already "
                        "measured are not measured again")
    a.set_defaults(fn=cmd_crossover)
    return a


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m labkernels.crossover")
    sub = p.add_subparsers(dest="cmd", required=True)
    add_parser(sub)
    args = p.parse_args(["crossover", *(sys.argv[1:] if argv is None else argv)])
    try:
        return args.fn(args)
    except (ValueError, TypeError, UnsupportedDevice) as e:
        print(f"labkernels crossover: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
