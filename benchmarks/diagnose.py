"""Run one variant a few times at one shape — for a profiler (ncu) or a quick look.

    python benchmarks/diagnose.py dequant/v04_gemv_lop3 --m 1 --n 8192 --k 8192 [--time]

Checks the variant first, then launches it ``--launches`` times; ``--time``
also prints the harness's timing (labkernels.bench.time_kernel) and a plain
back-to-back event timing for comparison.
"""
from __future__ import annotations

import argparse
import sys

try:  # torch (library peers) first: imported after CuPy/Numba it has failed on the GPU machines
    import torch  # noqa: F401
except Exception:
    pass

from labkernels import bench, problems, registry, roofline, runner


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("variant")
    ap.add_argument("--m", type=int, default=1)
    ap.add_argument("--n", type=int, default=8192)
    ap.add_argument("--k", type=int, default=8192)
    ap.add_argument("--launches", type=int, default=5)
    ap.add_argument("--time", action="store_true")
    args = ap.parse_args()
    import cupy

    v = registry.get(args.variant)
    work = runner.Workload(v.fmt, args.n, args.k, args.m, [args.m])
    r = work.check(v, args.m)
    print(r)
    inp = work.inputs(v, 0, args.m)
    out = cupy.empty((args.m, args.n), dtype=problems.get(v.fmt).out_dtype)
    for _ in range(args.launches):
        v.launch(**inp, out=out)
    cupy.cuda.get_current_stream().synchronize()
    if args.time:
        ceil = roofline.measure_ceilings()
        sets = [work.inputs(v, i, args.m) for i in range(len(work.sets))]
        keys = list(sets[0])
        call = lambda *a: v.launch(**dict(zip(keys, a)), out=out)  # noqa: E731
        t = bench.time_kernel(call, [tuple(s[k] for k in keys) for s in sets], flush_l2=work.n_sets == 0)
        print(bench.make_record(v.id, v.fmt, args.m, args.n, args.k, t, ceil, checked=r.passed).row(), t.method)
        a, b = cupy.cuda.Event(), cupy.cuda.Event()
        a.record()
        for i in range(50):
            call(*[sets[i % len(sets)][k] for k in keys])
        b.record()
        b.synchronize()
        print(f"back-to-back, host-paced: {cupy.cuda.get_elapsed_time(a, b) * 1e3 / 50:.1f} us per call")
    return 0 if r.passed else 1


if __name__ == "__main__":
    sys.exit(main())
