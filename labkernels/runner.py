"""Check, then time, registered variants over shapes: what every benchmark and sweep runs.

For each (variant, M, N, K): fresh random inputs are drawn once (never
zeros), the variant is checked at that very shape (a sample of rows when M is
large) and only then timed; a variant that fails its check or raises leaves a
failure entry, not a time, and the sweep goes on.
"""
from __future__ import annotations

import numpy as np

from . import bench, check, device, problems, registry
from .errors import UnsupportedDevice


def device_inputs(fmt: str, M: int, N: int, K: int, seed: int, **params) -> dict:
    """Random inputs for a problem, on the GPU."""
    import cupy

    host = problems.get(fmt).inputs(M, N, K, np.random.default_rng(seed), **params)
    return {k: (cupy.asarray(v) if isinstance(v, np.ndarray) else v) for k, v in host.items()}


def measure(v: "registry.Variant", M: int, N: int, K: int, ceilings, *, iters: int = 30, warmup: int = 5,
            check_rows: int = 64, seed: int | None = None, graph: bool = False, **params):
    """(Record, None) for a checked and timed variant, or (None, reason) when it could not be."""
    import cupy

    ok, why = v.runnable()
    if not ok:
        return None, why
    if not v.supports(M):
        return None, f"handles M up to {v.max_m}"
    try:
        r = check.check_variant(v, M, N, K, sample_rows=check_rows if M > check_rows else None, **params)
    except (ValueError, TypeError, UnsupportedDevice) as e:
        return None, f"rejected the shape: {e}"
    if not r.passed:
        return None, f"failed its check: {r}"
    seed = np.random.SeedSequence().entropy % (2**63) if seed is None else seed
    prob = problems.get(v.fmt)
    inputs = device_inputs(v.fmt, M, N, K, seed, **params)
    out = cupy.empty((M, N), dtype=prob.out_dtype)
    # Time from DRAM: rotate over input sets whose total is >= 3x the L2, or,
    # when one set is too small for that, flush the L2 before each call.
    per_set = sum(a.nbytes for a in inputs.values() if hasattr(a, "nbytes"))
    n_sets = bench.sets_for(per_set, device.gpu().l2_bytes)
    sets = [inputs] + [device_inputs(v.fmt, M, N, K, seed + i, **params) for i in range(1, n_sets)]
    args = [tuple(s.values()) for s in sets]
    keys = list(inputs)

    def call(*a):
        v.launch(**dict(zip(keys, a)), out=out)

    try:
        t = bench.time_kernel(call, args, warmup=warmup, iters=iters, flush_l2=n_sets == 0, graph=graph)
    except Exception as e:  # a kernel that faults while timed: record, go on
        return None, f"raised while timed: {type(e).__name__}: {e}"
    path = "library" if v.reference else "mma_sync"
    rec = bench.make_record(v.id, v.fmt, M, N, K, t, ceilings, checked=True, kernel_path=path,
                            note=f"checked: max err {r.max_rel_err:.1e}")
    return rec, None
