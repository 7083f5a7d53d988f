"""Timing kernels honestly, and the record a measurement leaves.

* CUDA events around each call, after warm-up; the median of many calls is
  the time, the 10th–90th percentile range its spread.
* Inputs are never served from a warm L2: the calls rotate over several input
  sets whose total is at least three times the L2, or, when one set is too
  small for that, the L2 is flushed before every call by *reading* a buffer
  twice its size (a write-flush, as Triton's ``do_bench`` does, leaves dirty
  lines that the timed kernel pays to write back).
* All timed calls are queued behind one GPU busy-wait that outlasts the
  host's enqueueing, so the GPU reaches each start event and launch only after
  the host has queued them: host launch overhead never lands in an interval
  (checked: if the wait ran out first, the run is repeated with a longer one).
* Optionally the timed calls are replayed from a CUDA graph instead.

Every measurement becomes a :class:`Record` with the kernel, format, shape,
time, achieved GB/s and TFLOP/s, the bound from :mod:`labkernels.roofline`
and the percentage of it reached, and the GPU, driver and versions.
"""
from __future__ import annotations

import datetime as _dt
import json
import math
import os
import sys
from dataclasses import asdict, dataclass, field
from typing import Callable, Sequence

import numpy as np

from . import device
from .errors import check_int


@dataclass(frozen=True)
class Timing:
    median_us: float
    p10_us: float
    p90_us: float
    n: int
    method: str

    @property
    def spread(self) -> float:
        """(p90 - p10) / median: how much a repeat of this measurement may move."""
        return (self.p90_us - self.p10_us) / self.median_us if self.median_us > 0 else float("nan")


class _Helpers:
    """The spin and L2-flush kernels (kernels/ceilings/timing.cu), built once per process."""

    def __init__(self, cupy, l2_bytes: int):
        from . import build

        mod = build.load_module("ceilings/timing.cu")
        self._spin, self._flush = mod.get_function("spin"), mod.get_function("l2_flush")
        g = device.gpu()
        self.cycles_per_us = max(g.clock_mhz, 1000.0)
        self.sms = g.sms
        self.n16 = max(2 * l2_bytes, 256 << 20) // 16
        self.buf = cupy.ones(self.n16 * 4, dtype=cupy.int32)
        self.sink = cupy.zeros(1, dtype=cupy.int32)

    def spin(self, us: float):
        self._spin((1,), (1,), (np.int64(us * self.cycles_per_us),))

    def flush(self):
        self._flush((self.sms * 4,), (512,), (self.buf, np.int64(self.n16), self.sink))


_helpers = None


def _get_helpers(cupy):
    global _helpers
    if _helpers is None:
        _helpers = _Helpers(cupy, device.gpu().l2_bytes)
    return _helpers


def time_kernel(fn: Callable, arg_sets: Sequence[tuple] = ((),), *, warmup: int = 5, iters: int = 50,
                flush_l2: bool = True, graph: bool = False) -> Timing:
    """Median time of ``fn(*args)`` over ``iters`` calls, rotating over ``arg_sets``.

    All timed calls are queued behind one GPU busy-wait, so the GPU reaches
    each start event, launch and end event only after the host has queued
    them: an interval is GPU time only, never host launch overhead. With
    ``flush_l2`` the L2 is flushed (a read of twice its size) before each call;
    otherwise pass several ``arg_sets`` whose total exceeds the L2 to time a
    memory-bound kernel from DRAM.

    ``graph=True`` instead captures ``iters`` back-to-back calls (rotating,
    no flushes) into one CUDA graph and reports replay time per call.
    """
    device.require_gpu("timing")  # before importing CuPy: without a GPU (or CuPy) say so, not ImportError
    warmup = check_int("warmup", warmup, min_value=0)
    iters = check_int("iters", iters, min_value=1)
    if not callable(fn):
        raise TypeError(f"fn must be callable (the launch to time); got {type(fn).__name__}")
    if not arg_sets:
        raise ValueError("arg_sets must hold at least one tuple of arguments")
    if isinstance(arg_sets, (str, bytes)) or not all(isinstance(a, (tuple, list)) for a in arg_sets):
        raise TypeError(f"arg_sets must be a sequence of argument tuples, e.g. [(x, w)]; got {arg_sets!r:.80}")
    n_sets = len(arg_sets)
    import cupy

    stream = cupy.cuda.get_current_stream()
    for i in range(warmup):
        fn(*arg_sets[i % n_sets])
    stream.synchronize()

    if graph:
        s = cupy.cuda.Stream(non_blocking=True)
        with s:
            s.begin_capture()
            for i in range(iters):
                fn(*arg_sets[i % n_sets])
            g = s.end_capture()
            g.launch(s)  # warm the graph
            s.synchronize()
            reps = 5
            ts = []
            for _ in range(reps):
                a, b = cupy.cuda.Event(), cupy.cuda.Event()
                a.record(s)
                g.launch(s)
                b.record(s)
                b.synchronize()
                ts.append(cupy.cuda.get_elapsed_time(a, b) * 1e3 / iters)
        t = np.array(ts)
        return Timing(float(np.median(t)), float(np.percentile(t, 10)), float(np.percentile(t, 90)),
                      iters * reps, "cuda-graph replay")

    # Queue every timed call behind one busy-wait long enough to cover the host's
    # enqueueing of all of them: the GPU then meets start event, kernel and end
    # event back to back, and host launch overhead never lands in an interval.
    # If the busy-wait ran out before the host finished (the GPU may have idled
    # between calls), the run is repeated with a longer one.
    h = _get_helpers(cupy)
    import time as _time

    t0 = _time.perf_counter()
    for i in range(max(warmup, 1)):
        if flush_l2:
            h.flush()
        fn(*arg_sets[i % n_sets])
    host_us = (_time.perf_counter() - t0) * 1e6 / max(warmup, 1)
    stream.synchronize()
    for attempt in range(4):
        starts = [cupy.cuda.Event() for _ in range(iters)]
        ends = [cupy.cuda.Event() for _ in range(iters)]
        spun = cupy.cuda.Event()
        h.spin(min(2e6, 2.0 * host_us * iters + 200.0) * 2**attempt)
        spun.record(stream)
        for i in range(iters):
            if flush_l2:
                h.flush()
            starts[i].record(stream)
            fn(*arg_sets[i % n_sets])
            ends[i].record(stream)
        caught_up = spun.done  # True: the GPU finished waiting before the host finished queueing
        ends[-1].synchronize()
        if not caught_up:
            break
    t = np.array([cupy.cuda.get_elapsed_time(a, b) * 1e3 for a, b in zip(starts, ends)])
    method = "events, queued behind a busy-wait, " + ("L2 flushed" if flush_l2 else f"{n_sets} input sets rotated")
    if caught_up:
        method += " (host could not stay ahead: intervals may include launch gaps)"
    return Timing(float(np.median(t)), float(np.percentile(t, 10)), float(np.percentile(t, 90)), iters, method)


def sets_for(nbytes_per_set: int, l2_bytes: int, max_sets: int = 8) -> int:
    """How many input sets make the rotation's total at least three times the L2
    (0 when more than ``max_sets`` would be needed: flush instead)."""
    n = max(2, math.ceil(3 * l2_bytes / max(nbytes_per_set, 1)))
    return int(n) if n <= max_sets else 0


# --------------------------------------------------------------------------
# The record a measurement leaves.
# --------------------------------------------------------------------------


@dataclass
class Record:
    kernel: str
    fmt: str
    M: int
    N: int
    K: int
    time_us: float
    p10_us: float
    p90_us: float
    gbps: float  #: minimum bytes (roofline.bytes_moved) over the time
    tflops: float  #: 2MNK over the time (TOP/s for integer formats)
    bound_us: float
    bound_kind: str  #: which ceiling binds: memory, mma or alu
    pct_of_bound: float
    method: str
    checked: bool
    gpu: str = ""
    env: dict = field(default_factory=dict)
    note: str = ""

    def row(self) -> str:
        return (f"{self.kernel:<34} {self.M:>6} {self.N:>6} {self.K:>6} {self.time_us:>10.1f} "
                f"{self.gbps:>8.0f} {self.tflops:>8.1f} {self.bound_us:>9.1f} {self.bound_kind:>6} "
                f"{self.pct_of_bound:>6.1f}%")

    @staticmethod
    def header() -> str:
        return (f"{'kernel':<34} {'M':>6} {'N':>6} {'K':>6} {'time_us':>10} {'GB/s':>8} {'TFLOP/s':>8} "
                f"{'bound_us':>9} {'bound':>6} {'%bound':>7}")


def make_record(kernel: str, fmt: str, M: int, N: int, K: int, timing: Timing, ceilings, *, checked: bool,
                note: str = "", kernel_path: str = "mma_sync", **fmt_params) -> Record:
    """``fmt_params`` (group_size, zeros) refine the bytes the bound counts."""
    """A record for a timing, with its bound computed from ``ceilings``."""
    from . import roofline

    b = roofline.bound(fmt, M, N, K, ceilings, path=kernel_path, **fmt_params)
    t = timing.median_us
    g = device.gpu()
    return Record(
        kernel=kernel, fmt=fmt, M=M, N=N, K=K, time_us=t, p10_us=timing.p10_us, p90_us=timing.p90_us,
        gbps=b.bytes / (t * 1e-6) / 1e9, tflops=b.flops / (t * 1e-6) / 1e12,
        bound_us=b.time_us, bound_kind=b.kind, pct_of_bound=100.0 * b.time_us / t,
        method=timing.method, checked=checked, gpu=g.name if g else "", env=environment(), note=note,
    )


def environment() -> dict:
    """Card, driver, library versions and date: what a committed result must carry."""
    g = device.gpu()
    env = {"date": _dt.date.today().isoformat(), **device.versions()}
    if g is not None:
        env.update(gpu=g.name, cc=f"{g.cc[0]}.{g.cc[1]}", sms=g.sms, l2_mb=round(g.l2_bytes / 2**20, 1))
    return env


def finish(records, failures, started: float) -> int:
    """A benchmark script's last lines: counts, elapsed time, every failure; its exit status
    (1 when any kernel failed its check or its run)."""
    import time

    print(f"\n{len(records)} records, {len(failures)} failures, {time.time() - started:.0f} s")
    for f in failures:
        print(f"FAILED: {f}")
    return 1 if failures else 0


def save_json(path: str | os.PathLike, obj) -> None:
    """Write JSON atomically: a reader never finds half a file."""
    path = os.fspath(path)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1, default=lambda o: asdict(o) if hasattr(o, "__dataclass_fields__") else str(o))
        f.write("\n")
    os.replace(tmp, path)


def progress(iterable, total: int | None = None, desc: str = "", disable: bool | None = None):
    """A progress bar on long sweeps (tqdm; silent when output is not a terminal or notebook)."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return iterable
    if disable is None:
        disable = not (sys.stderr.isatty() or "ipykernel" in sys.modules)
    return tqdm(iterable, total=total, desc=desc, disable=disable, leave=False)
