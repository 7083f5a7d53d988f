"""Check, then time, registered variants over shapes: what every benchmark and sweep runs.

A :class:`Workload` holds, for one format and layer shape (N, K), a few input
sets drawn fresh at the largest M of the sweep; smaller M use the first M rows
of X (so weights are quantized once per set, not once per point). Every
variant is checked on set 0 — output poisoned, compared against a float64
reference on a sample of rows that always includes the last row of every M in
the sweep — and only then timed over the rotation of sets. A variant that
fails its check or raises leaves a failure entry, not a time, and the sweep
goes on.
"""
from __future__ import annotations

import numpy as np

from . import bench, check, device, problems, registry
from .errors import UnsupportedDevice


class Workload:
    """Input sets for one (format, N, K, params) up to ``m_max`` rows, on the GPU."""

    def __init__(self, fmt: str, N: int, K: int, m_max: int, ms=(), *, seed: int | None = None,
                 sample_rows: int = 64, **params):
        import cupy

        self.fmt, self.N, self.K, self.m_max, self.params = fmt, N, K, m_max, params
        self.problem = problems.get(fmt)
        self.seed = int(np.random.SeedSequence().entropy % (2**62)) if seed is None else seed
        host0 = self.problem.inputs(m_max, N, K, np.random.default_rng(self.seed), **params)
        self.sets = [self._to_device(cupy, host0)]
        # Time from DRAM: rotate over sets whose total is >= 3x the L2 (weights dominate),
        # or, when one set is too small for that, flush the L2 before each call.
        per_set = sum(a.nbytes for a in host0.values() if isinstance(a, np.ndarray))
        self.n_sets = bench.sets_for(per_set, device.gpu().l2_bytes)
        for i in range(1, self.n_sets):
            h = self.problem.inputs(m_max, N, K, np.random.default_rng(self.seed + i), **params)
            self.sets.append(self._to_device(cupy, h))
        rng = np.random.default_rng(self.seed + 10_000)
        rows = set(range(min(sample_rows, m_max))) | {m - 1 for m in ms if m <= m_max} | {m_max - 1}
        rows |= set(rng.choice(m_max, size=min(sample_rows, m_max), replace=False).tolist())
        self.rows = np.array(sorted(rows))
        self.reference = self.problem.reference(self.problem.select_rows(host0, self.rows))
        # the sampled rows' inputs, for a narrow accumulator's allowance (check.accumulator_slack)
        self._host_rows = (self.problem.select_rows(host0, self.rows)
                           if self.problem.largest_product is not None else None)
        self._largest = None
        self._prepared: dict = {}

    @staticmethod
    def _to_device(cupy, host):
        return {k: (cupy.asarray(v) if isinstance(v, np.ndarray) else v) for k, v in host.items()}

    def inputs(self, v: "registry.Variant", i: int, M: int) -> dict:
        """Set ``i`` prepared for ``v`` (once per set), cut to the first M rows of X."""
        if v.prepare is None:
            full = self.sets[i]
        else:
            key = (v.prepare, i)
            if key not in self._prepared:
                self._prepared[key] = v.prepare(self.sets[i])
            full = self._prepared[key]
        return self.problem.select_rows(full, slice(0, M))

    def check(self, v: "registry.Variant", M: int) -> check.CheckResult:
        """Check ``v`` at M rows on set 0 with a poisoned output."""
        import cupy

        out = check.poison(cupy, (M, self.N), self.problem.out_dtype)
        tol = self.problem.tol if v.tol is None else v.tol
        res = check.CheckResult(name=v.id, fmt=self.fmt, shape=(M, self.N, self.K), passed=False, seed=self.seed,
                                backend="GPU", tol=tol, norm_tol=max(self.problem.norm_tol, tol))
        keep = self.rows < M
        slack = None
        if v.acc_bits is not None:
            if self._largest is None and self.problem.largest_product is not None:
                self._largest = self.problem.largest_product(self._host_rows)  # once: it decodes all of W
            slack = check.accumulator_slack(self.problem, self._host_rows, v.acc_bits, largest=self._largest)[keep]
        # The inputs are prepared inside the checked call: a re-layout that fails fails the check.
        return check.launch_and_compare(res, v.launch, {}, out, self.reference[keep], self.rows[keep],
                                        prepare=lambda _: self.inputs(v, 0, M), slack=slack)


def measure(v: "registry.Variant", M: int, work: Workload, ceilings, *, iters: int = 30, warmup: int = 5):
    """(Record, None) for a checked and timed variant, or (None, reason) when it could not be."""
    import cupy

    ok, why = v.runnable()
    if not ok:
        return None, why
    if not v.supports(M):
        return None, f"handles M {v.m_range()}"
    if v.fmt != work.fmt:
        raise ValueError(f"{v.id} computes {v.fmt}, the workload is {work.fmt}")
    try:
        r = work.check(v, M)
    except (ValueError, TypeError, UnsupportedDevice) as e:
        return None, f"rejected the shape: {e}"
    if not r.passed:
        return None, f"failed its check: {r}"
    out = cupy.empty((M, work.N), dtype=work.problem.out_dtype)
    sets = [work.inputs(v, i, M) for i in range(len(work.sets))]
    keys = list(sets[0])
    args = [tuple(s[k] for k in keys) for s in sets]

    def call(*a):
        if v.timed is not None:
            v.timed(**dict(zip(keys, a)))
        else:
            v.launch(**dict(zip(keys, a)), out=out)

    try:
        t = bench.time_kernel(call, args, warmup=warmup, iters=iters, flush_l2=work.n_sets == 0)
    except Exception as e:  # a kernel that faults while timed: record, go on
        return None, f"raised while timed: {type(e).__name__}: {e}"
    rec = bench.make_record(v.id, v.fmt, M, work.N, work.K, t, ceilings, checked=True, kernel_path=kernel_path(v),
                            note=f"checked: max err {r.max_rel_err:.1e} on {r.message}",
                            **_bound_params(work))
    return rec, None


#: The instruction a variant requires -> the path whose rate bounds it (roofline.PATHS).
_PATH_OF_REQUIREMENT = {"wgmma": "wgmma", "dp4a": "dp4a", "wmma_s8": "wmma", "wmma_f16": "wmma"}


def kernel_path(v: "registry.Variant") -> str:
    """The MMA path whose rate bounds ``v``: a library peer's, or that of the instruction it is
    built on (wgmma, WMMA, dp4a); the lab's mma.sync otherwise."""
    if v.reference:
        return "library"
    return v.path or _PATH_OF_REQUIREMENT.get(v.requires, "mma_sync")


def _bound_params(work: Workload) -> dict:
    p = {}
    if "group_size" in work.params:
        p["group_size"] = work.params["group_size"]
    if work.params.get("zeros"):
        p["zeros"] = True
    return p


def sweep(variant_ids, fmt: str, N: int, K: int, ms, ceilings, *, iters: int = 30, log=print, **params):
    """Measure each variant at each M of ``ms`` on one shared workload; (records, failures)."""
    vs = [registry.get(v) if isinstance(v, str) else v for v in variant_ids]
    todo = [(v, M) for v in vs for M in ms
            if v.supports(M) and M <= (v.bench_max_m or M)]
    if not todo:
        return [], []
    work = Workload(fmt, N, K, max(M for _, M in todo), ms, **params)
    records, failures = [], []
    for v, M in bench.progress(todo, desc=f"{fmt} N={N} K={K}"):
        rec, why = measure(v, M, work, ceilings, iters=iters)
        if rec is None:
            failures.append({"kernel": v.id, "fmt": fmt, "M": M, "N": N, "K": K, "reason": why})
            log(f"  {v.id} M={M} N={N} K={K}: {why}")
        else:
            records.append(rec)
    del work
    return records, failures
