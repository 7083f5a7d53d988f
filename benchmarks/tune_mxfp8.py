"""MXFP8 GEMM on Hopper: blockscaled/v07's settings against v04, plain FP8 and torch._scaled_mm, one run.

    python benchmarks/tune_mxfp8.py [--iters 20] [--size 8192]

First every v07 setting is checked against the float64 reference at a small shape off every tile
(labkernels.check, the tolerance of the GPU tests), then at M = N = K = --size against v04's output
on the same random MXFP8 inputs (labkernels.problems: realistic E8M0 scales, a few special blocks):
close, not bit-exact, since the fp32 sums may round in another order. A setting that fails is
not timed. Then the times of v04, each v07 setting, fp8/v05 (plain FP8 on the same pipeline and
tiles: what the block scaling costs) and torch._scaled_mm (cuBLASLt plain FP8, unit scales), and
for the block-scaled kernels the percentage of the three-ceiling model's ALU bound for MXFP8 on
sm_90: 2 FP32 instructions an output a 32-k block (roofline.bound's alu term) at the FFMA rate
of labkernels/data/ceilings (the H100's committed measurement), or of this GPU with --measure.
"""
import argparse

import torch  # the library peer, imported before CuPy (see benchmarks/int8.py)

import cupy
import numpy as np

from labkernels import bench, check, device, problems, registry, roofline
from labkernels.kernels import blockscaled, fp8

SETTINGS = [{**t, "CONSUMERS": 2} for t in (
    {"BN": 128, "STAGES": 4}, {"BN": 128, "STAGES": 4, "DUAL": 1}, {"BN": 192, "STAGES": 4}, {"BN": 192, "STAGES": 3},
    {"BN": 128, "STAGES": 4, "PINGPONG": 1}, {"BN": 128, "STAGES": 6, "PINGPONG": 1},
    {"BN": 192, "STAGES": 4, "PINGPONG": 1}, {"BN": 192, "STAGES": 3, "PINGPONG": 1},
    {"BN": 192, "STAGES": 5, "PINGPONG": 1})] + [{"BN": 128, "STAGES": 4, "CONSUMERS": 3},
                                                 {"BN": 128, "STAGES": 2, "CONSUMERS": 3}]


def close(got, ref) -> tuple[bool, str]:
    """Two fp16 results of the same sums: equal NaNs, and |got - ref| <= 2^-9 |ref| + 2^-12 rms(ref)."""
    g, r = cupy.asnumpy(got).astype(np.float64), cupy.asnumpy(ref).astype(np.float64)
    nan = np.isnan(r)
    if not np.array_equal(np.isnan(g), nan):
        return False, f"NaNs differ: {int(np.isnan(g).sum())} against {int(nan.sum())}"
    g, r = g[~nan], r[~nan]
    rms = float(np.sqrt(np.mean(r * r)))
    err = np.abs(g - r)
    bad = int((err > 2.0**-9 * np.abs(r) + 2.0**-12 * rms).sum())
    return bad == 0, (f"max |diff| {err.max() / rms:.2e} rms, {np.mean(err == 0) * 100:.2f}% bit-equal, "
                      f"{bad} outside the tolerance")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--size", type=int, default=8192, help="M = N = K of the timed problem (a multiple of 32)")
    ap.add_argument("--measure", action="store_true", help="the FFMA rate of this GPU (measure_ceilings)")
    a = ap.parse_args()
    g = device.require_gpu("the MXFP8 tuning")
    v07 = registry.get("blockscaled/v07_mxfp8_tma")

    print(f"{g.name}: each v07 setting against the float64 reference")
    ok = []
    for tun in SETTINGS:
        rs = [check.run_check(lambda **kw: blockscaled.mxfp8_wgmma_tma(**kw, tuning=tun), "mxfp8", M, N, K,
                              name=f"v07 {tun}", tol=v07.tol, acc_bits=v07.acc_bits)
              for M, N, K in [(257, 520, 4128), (300, 392, 2048), (385, 136, 1056)]]
        passed = all(r.passed for r in rs)
        print(f"  v07 {str(tun):56s} {'ok' if passed else 'FAILED: ' + '; '.join(str(r) for r in rs if not r.passed)}",
              flush=True)
        if passed:
            ok.append(tun)

    M = N = K = a.size
    fl = 2 * M * N * K
    inp = problems.get("mxfp8").inputs(M, N, K, np.random.default_rng(0))
    d = {k: cupy.asarray(v) for k, v in inp.items()}
    out = cupy.empty((M, N), cupy.float16)
    ref = blockscaled.mxfp8_wgmma(**d).copy()
    print(f"MXFP8 {M}x{N}x{K}: each v07 setting against v04's output")
    timed_ok = []
    for tun in ok:
        out.fill(cupy.nan)
        good, msg = close(blockscaled.mxfp8_wgmma_tma(**d, out=out, tuning=tun), ref)
        print(f"  v07 {str(tun):56s} {'ok' if good else 'FAILED'}: {msg}", flush=True)
        if good:
            timed_ok.append(tun)

    ceil = roofline.measure_ceilings(library=False) if a.measure else roofline.ceilings_for("h100-sxm")
    alu_us = roofline.bound("mxfp8", M, N, K, ceil).alu_us
    print(f"ALU bound (2 FP32 instructions an output a block at {ceil.ffma / 1e12:.1f} T FFMA/s, "
          f"{ceil.source} {ceil.gpu}): {alu_us:.0f} us = {fl / alu_us / 1e6:.0f} TFLOP/s")

    def timed(label, fn, bound=True):
        t = bench.time_kernel(fn, [()], iters=a.iters).median_us
        pct = f"  {alu_us / t * 100:5.1f}% of the ALU bound" if bound else ""
        print(f"  {label:48s} {t:9.1f} us {fl / t / 1e6:7.0f} TFLOP/s{pct}", flush=True)
        return t

    print("times (median, L2 flushed before each call)")
    t04 = timed("blockscaled/v04_mxfp8_wgmma", lambda: blockscaled.mxfp8_wgmma(**d, out=out))
    for tun in timed_ok:
        t = timed(f"blockscaled/v07 {tun}", lambda: blockscaled.mxfp8_wgmma_tma(**d, out=out, tuning=tun))
        print(f"  {'':48s} {t04 / t:9.2f}x v04")

    # Plain FP8, same codes, unit per-channel scales: the pipeline without the per-block promotion
    xs, ws = cupy.ones((M, 1), cupy.float32), cupy.ones((N, 1), cupy.float32)
    for bn in (128, 192):
        timed(f"fp8/v05_wgmma_tma BN={bn}",
              lambda: fp8.wgmma_tma_gemm(d["x"], xs, d["w"], ws, out=out, tuning={"BN": bn, "STAGES": 4}),
              bound=False)
    xt = torch.as_tensor(d["x"], device="cuda").view(torch.float8_e4m3fn)
    wt = torch.as_tensor(d["w"], device="cuda").view(torch.float8_e4m3fn)
    one = torch.ones((), device="cuda")
    timed("torch._scaled_mm (plain FP8, unit scales)",
          lambda: torch._scaled_mm(xt, wt.t(), scale_a=one, scale_b=one, out_dtype=torch.float16), bound=False)


if __name__ == "__main__":
    main()
