#!/usr/bin/env python3
"""Check the GPU block-scaled quantizers against labkernels.formats, then time them.

Usage, on a GPU machine, from the repository root::

    python3 scripts/check_quantizers.py                 # a 4096 x 8192 float32 tensor
    python3 scripts/check_quantizers.py --m 8192 --k 4096 --dtype float16 --rows 256

Each quantizer (MXFP8 e4m3 and e5m2, MXFP4, FLOOR and RCEIL; NVFP4) runs on one
fresh tensor whose blocks are random normals scaled over 40 binades. First the
check: the codes and scales of the first ``--rows`` rows must equal the
reference codec's bit for bit (blocks are independent; NVFP4's global scale,
which depends on the whole tensor, is compared with the reference's formula on
the whole tensor's amax). Then the time: CUDA events, L2 flushed before each
call, median of 30 (labkernels.bench.time_kernel), reported with the bytes the
kernel must move (input read once, codes and scales written once) as GB/s and
as a share of this GPU's device-to-device copy bandwidth, measured in the same
run (1 GiB copy, bytes read + written, as labkernels.roofline measures it).

NVFP4 is timed kernel by kernel: its launcher reads back 4 bytes to raise on
NaN (a synchronisation that would put host time in the interval), and with
``global_scale=None`` it runs an amax pass first, shown on its own line.
"""
from __future__ import annotations

import argparse
import sys

import numpy as np


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--m", type=int, default=4096)
    ap.add_argument("--k", type=int, default=8192, help="a multiple of 32")
    ap.add_argument("--dtype", choices=("float32", "float16"), default="float32")
    ap.add_argument("--rows", type=int, default=128, help="rows checked against the reference")
    ap.add_argument("--iters", type=int, default=30)
    args = ap.parse_args(argv)

    from labkernels import bench, build, device, formats
    from labkernels.kernels.blockscaled import quantize as q

    g = device.require_gpu("check_quantizers")
    import cupy

    M, K, dtype = args.m, args.k, np.dtype(args.dtype)
    n = M * K
    rng = np.random.default_rng(2026)
    lo, hi = (-20, 20) if dtype == np.float32 else (-12, 8)
    host = (rng.standard_normal((M, K // 32, 32), dtype=np.float32)
            * 2.0 ** rng.uniform(lo, hi, (M, K // 32, 1)).astype(np.float32)).reshape(M, K).astype(dtype)
    x = cupy.asarray(host)
    rows = host[: args.rows]
    print(f"{g.name}: x [{M}, {K}] {dtype.name}, {n * dtype.itemsize / 2**20:.0f} MiB")

    src = cupy.empty((1 << 30) // 4, dtype=cupy.float32)
    dst = cupy.empty_like(src)
    t_copy = bench.time_kernel(lambda: dst.__setitem__(Ellipsis, src), flush_l2=False, iters=20).median_us
    copy_bw = 2 * src.nbytes / (t_copy * 1e-6)
    src = dst = None  # free the 2 GiB before the quantizers run
    print(f"copy bandwidth {copy_bw / 1e9:.0f} GB/s (1 GiB device-to-device, read + written)")

    ok = True

    def report(name, t_us, nbytes, checked):
        bw = nbytes / (t_us * 1e-6)
        print(f"  {name:32s} {'exact' if checked else 'MISMATCH':8s} {t_us:8.1f} us  {bw / 1e9:7.0f} GB/s  "
              f"{100 * bw / copy_bw:5.1f}% of copy")

    for fmt in formats.MX_FORMATS:
        for mode in formats.SCALE_MODES:
            data, scales = q.quantize_mx_gpu(x, fmt, mode)
            ref = formats.quantize_mx(rows, fmt, scale_mode=mode)
            exact = (np.array_equal(data[: args.rows].get(), ref.data)
                     and np.array_equal(scales[: args.rows].get(), ref.scales))
            ok &= exact
            t = bench.time_kernel(lambda: q.quantize_mx_gpu(x, fmt, mode), iters=args.iters).median_us
            written = data.nbytes + scales.nbytes
            report(f"{fmt} {mode}", t, n * dtype.itemsize + written, exact)

    data, scales, gs = q.quantize_nvfp4_gpu(x)
    g_ref = formats.nvfp4.global_scale_from_amax(np.abs(host).max())
    ref = formats.quantize_nvfp4(rows, global_scale=g_ref)
    exact = (gs == g_ref and np.array_equal(data[: args.rows].get(), ref.data)
             and np.array_equal(scales[: args.rows].get(), ref.scales))
    ok &= exact
    sfx = "f32" if dtype == np.float32 else "f16"
    vec = 16 // dtype.itemsize
    grid = (-(-n // (32 * vec * (q.THREADS // 32))),)
    quant = build.get_function(q.SOURCE, f"nvfp4_quantize_{sfx}")
    amax_fn = build.get_function(q.SOURCE, f"nvfp4_amax_{sfx}")
    bad = cupy.zeros(1, dtype=cupy.uint32)
    amax = cupy.zeros(1, dtype=cupy.uint32)
    t_q = bench.time_kernel(lambda: quant(grid, (q.THREADS,), (x, data, scales, gs, np.int64(n), bad)),
                            iters=args.iters).median_us
    t_a = bench.time_kernel(lambda: amax_fn((min(-(-n // (vec * q.THREADS)), q.AMAX_MAX_CTAS),), (q.THREADS,),
                                            (x, np.int64(n), amax)), iters=args.iters).median_us
    report("nvfp4 quantize (global given)", t_q, n * dtype.itemsize + data.nbytes + scales.nbytes, exact)
    report("nvfp4 amax pass (global=None)", t_a, n * dtype.itemsize, exact)
    print("all exact" if ok else "MISMATCHES: see above")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
