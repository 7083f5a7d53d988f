"""Tuning sweep behind fp8/v04's defaults (results in benchmarks/NOTES.md), one run.

    python benchmarks/tune_fp8.py

v04 (wgmma e4m3) at 8192^3 for each promotion interval (PROMOTE stages) and stage depth
(KSUB 128-byte atoms of k per stage), beside torch._scaled_mm on the same inputs. Accuracy
of each setting is checked by tests/test_gpu_fp8.py, not here.
"""
import torch  # the library peer, imported before CuPy (see benchmarks/int8.py)

import cupy

from labkernels import bench
from labkernels.kernels import fp8

SETTINGS = [dict(PROMOTE=1, KSUB=1, STAGES=4, WGS=2), dict(PROMOTE=2, KSUB=1, STAGES=4, WGS=2),
            dict(PROMOTE=4, KSUB=1, STAGES=4, WGS=2), dict(PROMOTE=1, KSUB=2, STAGES=3, WGS=2),
            dict(PROMOTE=2, KSUB=2, STAGES=3, WGS=2), dict(PROMOTE=4, KSUB=2, STAGES=3, WGS=2),
            dict(PROMOTE=1, KSUB=1, STAGES=4, WGS=3)]


def main():
    M = N = K = 8192
    rng = cupy.random.default_rng(0)
    x = rng.integers(0, 256, (M, K), dtype=cupy.uint8) & 0xF7  # no NaN codes (0x7F, 0xFF have bit 3 set)
    w = rng.integers(0, 256, (N, K), dtype=cupy.uint8) & 0xF7
    xs, ws = cupy.ones((M, 1), cupy.float32), cupy.ones((N, 1), cupy.float32)
    out = cupy.empty((M, N), cupy.float16)
    for tun in SETTINGS:
        t = bench.time_kernel(lambda: fp8.wgmma_gemm(x, xs, w, ws, out=out, tuning=tun), [()], iters=20)
        print(f"v04 {tun}: {t.median_us:8.1f} us {2 * M * N * K / t.median_us / 1e6:6.0f} TFLOP/s")
    xt = torch.as_tensor(x, device="cuda").view(torch.float8_e4m3fn)
    wt = torch.as_tensor(w, device="cuda").view(torch.float8_e4m3fn)
    one = torch.ones((), device="cuda")
    t = bench.time_kernel(lambda: torch._scaled_mm(xt, wt.t(), scale_a=one, scale_b=one, out_dtype=torch.float16),
                          [()], iters=20)
    print(f"torch._scaled_mm: {t.median_us:8.1f} us {2 * M * N * K / t.median_us / 1e6:6.0f} TFLOP/s")


if __name__ == "__main__":
    main()
