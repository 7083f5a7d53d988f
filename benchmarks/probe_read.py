"""How fast can this GPU read N bytes once? The memory floor of each GEMV benchmark size.

    python benchmarks/probe_read.py [--iters 30]

The roofline bounds a memory-bound kernel by its bytes over the copy bandwidth (1 GiB copied,
bytes read + written). A GEMV of an 8192 x 8192 4-bit matrix reads ~35 MB, ~12 us at that
bandwidth, so the fixed cost of a launch, its ramp-up and its tail weigh far more there than at
1 GiB. This script times the best of a small grid of pure-read kernels
(kernels/ceilings/read_stream.cu: threads a block, 16-byte loads in flight a thread, streaming
or plain loads, one wave or a grid-stride loop) at the byte counts of the lab's GEMV benchmarks,
inputs rotated past the L2 as the benchmarks do, beside a 1 GiB copy and an empty launch timed the
same way, and prints each size's best as a share of the copy bandwidth: the most a kernel of that
size can reach of the bound the benchmarks print.
"""
from __future__ import annotations

import argparse

import numpy as np

from labkernels import bench, build, device, roofline

#: (name, bytes): the minimum bytes of each GEMV benchmark at M = 1 (labkernels.roofline)
SIZES = [("w4a16 g128 8192x8192", 8192 * 8192 * (4 + 16 / 128) / 8 + 2 * 8192 * 2),
         ("mxfp4 8192x8192", 8192 * 8192 * 4.25 / 8 + 2 * 8192 * 2),
         ("nvfp4 8192x8192", 8192 * 8192 * 4.5 / 8 + 2 * 8192 * 2),
         ("int8 8192x8192", 8192 * 8192 + 8192 * 2 + 2 * 8192 * 2),
         ("w4a16 g128 28672x8192", 28672 * 8192 * (4 + 16 / 128) / 8 + 2 * (28672 + 8192) * 2),
         ("int8 28672x8192", 28672 * 8192 + 28672 * 2 + 2 * (28672 + 8192) * 2),
         ("1 GiB", float(1 << 30))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iters", type=int, default=30)
    a = ap.parse_args()
    import cupy

    g = device.require_gpu("probing read bandwidth")
    copy_bw = roofline.copy_bandwidth()
    print(f"GPU {g.name} ({g.sms} SMs, L2 {g.l2_bytes >> 20} MB); copy bandwidth {copy_bw / 1e12:.2f} TB/s "
          f"(1 GiB, read + written)")
    sink = cupy.zeros(1, dtype=cupy.int32)
    empty = build.get_function("ceilings/read_stream.cu", "empty_kernel", {"UNROLL": 1, "HINT": 0})
    t_empty = bench.time_kernel(lambda: empty((g.sms * 8,), (256,), (sink,)), flush_l2=False, iters=a.iters)
    print(f"empty launch ({g.sms * 8} blocks of 256): {t_empty.median_us:.2f} us")

    configs = [(threads, unroll, hint, grid) for hint in (1, 0) for threads in (256, 512) for unroll in (1, 2, 4)
               for grid in ("wave", "cover")]
    print(f"\n{'size':<24} {'MB':>7} {'best us':>8} {'TB/s':>6} {'% copy':>7}  best of {len(configs)}: "
          f"threads, loads in flight, HINT, grid")
    for name, nbytes in SIZES:
        n16 = int(nbytes) // 16
        sets = bench.sets_for(n16 * 16, g.l2_bytes) or 1
        bufs = [cupy.random.default_rng(i).integers(0, 2**31, n16 * 4, dtype=cupy.int32) for i in range(sets)]
        best = None
        for threads, unroll, hint, grid in configs:
            fn = build.get_function("ceilings/read_stream.cu", "read_stream", {"UNROLL": unroll, "HINT": hint})
            per_block = threads * unroll
            # "wave": as many blocks as fit the SMs at once, looping; "cover": one pass, a load each
            blocks = g.sms * (2048 // threads) if grid == "wave" else -(-n16 // per_block)
            blocks = min(blocks, -(-n16 // per_block))
            tt = bench.time_kernel(lambda b: fn((blocks,), (threads,), (b, np.int64(n16), sink)),
                                   [(b,) for b in bufs], iters=a.iters, flush_l2=(sets == 1)).median_us
            if best is None or tt < best[0]:
                best = (tt, threads, unroll, hint, grid)
        tt = best[0]
        bw = n16 * 16 / (tt * 1e-6)
        print(f"{name:<24} {nbytes / 1e6:7.1f} {tt:8.2f} {bw / 1e12:6.2f} {100 * bw / copy_bw:6.1f}%  "
              f"{best[1]}, {best[2]}, {best[3]}, {best[4]}", flush=True)
        del bufs
        cupy.get_default_memory_pool().free_all_blocks()


if __name__ == "__main__":
    main()
