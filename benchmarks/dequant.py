"""Lesson 1 benchmark: W4A16 and W8A16 against cuBLAS fp16 and torch's int4 kernel, one run.

    python benchmarks/dequant.py --out DIR [--quick]
    python benchmarks/dequant.py --tune-only      # v04 GEMV at M = 1 over its load options
    python benchmarks/dequant.py --tune-v10       # v10 tensor-core GEMV at M = 16 and 1, cuBLAS beside

For N=K=8192 and N=28672, K=8192 (group 128): every W4A16 variant over M,
cuBLAS fp16 (`cupy.matmul`) and torch's `_weight_int4pack_mm` measured in the
same run, W8A16 GEMV at small M. Writes dequant.json (records, failures,
ceilings, environment), roofline.png, sweep-<N>x<K>.png, and prints each row
with its bound and % of bound, then the issue's targets and the crossover
M at which the lab's W4A16 falls behind cuBLAS fp16, measured and modeled.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import asdict

try:  # torch (library peers) first: imported after CuPy/Numba it has failed on the GPU machines
    import torch  # noqa: F401
except Exception:
    pass

from labkernels import bench, crossover, device, plot, registry, roofline, runner

SHAPES = [(8192, 8192), (28672, 8192)]


def tune(N: int, K: int) -> None:
    """v04 (W4A16 GEMV) at M = 1, 4 warps a block, over UNROLL x RPW x MINB x HINT, each
    configuration's output compared with the default's before it is timed."""
    import itertools

    import cupy
    import numpy as np

    from labkernels import problems
    from labkernels.kernels import dequant

    sets = []
    for i in range(3):  # 3 x 35 MB rotate past the 50 MB L2
        h = problems.get("w4a16").inputs(1, N, K, np.random.default_rng(i), group_size=128)
        sets.append({k: (cupy.asarray(v) if v is not None else None) for k, v in h.items()})
    out = cupy.empty((1, N), cupy.float16)
    ref = dequant.gemv_lop3(**sets[0]).copy()
    nbytes = roofline.bytes_moved("w4a16", 1, N, K, group_size=128)
    for unroll, rpw, minb, hint in itertools.product((1, 2), (1, 2, 4), (4, 8), (0, 1)):
        tun = {"WARPS": 4, "UNROLL": unroll, "RPW": rpw, "MINB": minb, "HINT": hint}
        got = dequant.gemv_lop3(**sets[0], out=out, tuning=tun)
        assert bool((got == ref).all()), tun
        t = bench.time_kernel(lambda s: dequant.gemv_lop3(**s, out=out, tuning=tun), [(s,) for s in sets],
                              iters=30, flush_l2=False)
        print(f"  tune w4a16 v04 N={N} K={K} {tun}: {t.median_us:6.1f} us "
              f"({nbytes / (t.median_us * 1e-6) / 1e9:5.0f} GB/s)", flush=True)


def tune_v10(N: int, K: int) -> None:
    """v10 (W4A16 tensor-core GEMV) at M = 16 and M = 1 over WARPS x TPW x KCH x STAGES, each
    configuration's output compared with the default's (within 2^-8 of its largest), cuBLAS fp16 at the
    same M timed in the same run."""
    import itertools

    import cupy
    import numpy as np

    from labkernels import problems
    from labkernels.kernels import dequant

    for M in (16, 1):
        sets = []
        for i in range(3):  # 3 x >= 35 MB rotate past the 50 MB L2
            h = problems.get("w4a16").inputs(M, N, K, np.random.default_rng(i), group_size=128)
            h["qweight"] = dequant.prepack_w4(h["qweight"])
            sets.append({k: (cupy.asarray(v) if v is not None else None) for k, v in h.items()})
        out = cupy.empty((M, N), cupy.float16)
        ref = dequant.mma_gemv(**sets[0]).astype(cupy.float32)
        nbytes = roofline.bytes_moved("w4a16", M, N, K, group_size=128)
        w16 = [cupy.random.default_rng(i).standard_normal((N, K), dtype=cupy.float32).astype(cupy.float16)
               for i in range(2)]  # 2 x 134 MB
        x16 = sets[0]["x"]
        c = bench.time_kernel(lambda w: cupy.matmul(x16, w.T), [(w,) for w in w16], iters=30, flush_l2=False)
        print(f"  cuBLAS fp16 M={M} N={N} K={K}: {c.median_us:6.1f} us", flush=True)
        del w16
        for warps, tpw, kch, stages in itertools.product((4, 8), (1, 2, 4), (256, 512, 1024), (2, 3)):
            tun = {"WARPS": warps, "TPW": tpw, "KCH": kch, "STAGES": stages, "HINT": 1}
            if tpw * kch > 2048:
                continue  # the double-buffered weights would spill
            got = dequant.mma_gemv(**sets[0], out=out, tuning=tun).astype(cupy.float32)
            err = float(cupy.abs(got - ref).max() / cupy.abs(ref).max())
            assert err < 2.0**-8, (tun, err)
            t = bench.time_kernel(lambda s: dequant.mma_gemv(**s, out=out, tuning=tun), [(s,) for s in sets],
                                  iters=30, flush_l2=False)
            print(f"  tune w4a16 v10 M={M} N={N} K={K} {tun}: {t.median_us:6.1f} us "
                  f"({nbytes / (t.median_us * 1e-6) / 1e9:5.0f} GB/s, {c.median_us / t.median_us:4.2f}x cuBLAS fp16)",
                  flush=True)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out")
    ap.add_argument("--quick", action="store_true", help="fewer M and iterations")
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("--tune-only", action="store_true", help="time v04's load options at M = 1, then stop")
    ap.add_argument("--tune-v10", action="store_true", help="time v10's tilings at M = 16 and 1, then stop")
    args = ap.parse_args()
    g = device.require_gpu("the dequant benchmark")
    if args.tune_only or args.tune_v10:
        for N, K in SHAPES:
            (tune_v10 if args.tune_v10 else tune)(N, K)
        return 0
    if not args.out:
        ap.error("--out is required (unless --tune-only)")
    os.makedirs(args.out, exist_ok=True)
    t0 = time.time()
    ceil = roofline.measure_ceilings(verbose=True)
    ms = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096]
    if args.quick:
        ms = [1, 16, 256, 4096]
    iters = 10 if args.quick else args.iters
    w4 = [v for v in registry.variants(fmt="w4a16") if v.impl != "numba"]
    records, failures = [], []
    for N, K in SHAPES:
        rs, fs = runner.sweep(["fp16/v00_cublas"], "fp16", N, K, ms, ceil, iters=iters)
        records += rs; failures += fs
        rs, fs = runner.sweep(w4, "w4a16", N, K, ms, ceil, iters=iters, group_size=128)
        records += rs; failures += fs
        rs, fs = runner.sweep(["dequant/v08_w8a16_gemv"], "w8a16", N, K, [m for m in ms if m <= 16], ceil,
                              iters=iters)
        records += rs; failures += fs
    # The Numba rung, once, at M=1 on the first shape (it is slow by design).
    rs, fs = runner.sweep(["dequant/v01_gemv_numba"], "w4a16", *SHAPES[0], [1], ceil, iters=3, group_size=128)
    records += rs; failures += fs

    bench.save_json(os.path.join(args.out, "dequant.json"),
                    {"env": bench.environment(), "ceilings": ceil.to_json(), "shapes": SHAPES, "ms": ms,
                     "records": records, "failures": failures})
    pts = [r for r in records if r.N == SHAPES[0][0] and r.M in (1, 16, 256, 4096)]
    plot.save(plot.roofline_figure(ceil, pts, precisions=["fp16"], show_alu=["w4a16"]),
              os.path.join(args.out, "roofline.png"))
    for N, K in SHAPES:
        rs = [r for r in records if r.N == N and r.K == K and (r.kernel in ("fp16/v00_cublas", "dequant/v00_torch_int4",
              "dequant/v04_gemv_lop3", "dequant/v06_mma_skinny", "dequant/v07_gemm_mma", "dequant/v08_w8a16_gemv",
              "dequant/v09_gemm_wgmma"))]
        plot.save(plot.sweep_figure(ceil, N, K, ["fp16", "w4a16", "w8a16"], rs, ms=ms, library_fmts=["fp16"]),
                  os.path.join(args.out, f"sweep-{N}x{K}.png"))

    print("\n" + bench.Record.header())
    for r in records:
        print(r.row())
    print(f"\nGPU {g.name}; copy bandwidth {ceil.bw / 1e12:.2f} TB/s; fp16 mma.sync {ceil.mma['fp16'] / 1e12:.0f}, "
          f"cuBLAS fp16 {ceil.library['fp16'] / 1e12:.0f} TFLOP/s")
    for N, K in SHAPES:
        sel = [r for r in records if r.N == N and r.K == K]
        cub = {r.M: r for r in sel if r.kernel == "fp16/v00_cublas"}
        tor = {r.M: r for r in sel if r.kernel == "dequant/v00_torch_int4"}
        curves = {c.name: c.points for c in crossover.measured_curves([asdict(r) for r in sel], ["w4a16"])}
        lab = {m: bench.Record(**d) for m, d in curves.get("w4a16 lab (fastest)", {}).items()}
        print(f"\nN={N} K={K}: fastest lab W4A16 kernel per M")
        for m in sorted(lab):
            r = lab[m]
            vs_c = f"{cub[m].time_us / r.time_us:5.2f}x cuBLAS fp16" if m in cub else ""
            vs_t = f"{tor[m].time_us / r.time_us:5.2f}x torch int4" if m in tor else ""
            print(f"  M={m:<5} {r.kernel:<26} {r.time_us:9.1f} us  {r.gbps:6.0f} GB/s "
                  f"({100 * r.gbps * 1e9 / ceil.bw:5.1f}% of copy BW)  {vs_c}  {vs_t}")
        m_star = crossover.first_m_ahead(cub, lab)  # cuBLAS fp16 wins for good from here
        model = roofline.crossovers("w4a16", "fp16", N, K, ceil, path_b="library", group_size=128)
        plain = roofline.crossovers("w4a16", "fp16", N, K, ceil, path_b="library", alu=False, group_size=128)
        print(f"  lab W4A16 falls behind cuBLAS fp16 from M = {m_star} (measured); three-ceiling model: "
              f"{[round(x) for x in model] or 'never'}; plain roofline: {[round(x) for x in plain] or 'never'}")
    return bench.finish(records, failures, t0)


if __name__ == "__main__":
    sys.exit(main())
