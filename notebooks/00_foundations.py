# %%
# Setup: run this cell first. On Colab it installs this release of labkernels and
# checks that a GPU runtime is attached; anywhere else it only prints the device
# used below. pip upgrades what Colab ships older than the lab's pins (numba-cuda,
# CuPy) and keeps the rest: ipywidgets 7 and the inline plots are enough.
import subprocess
import sys

LABKERNELS_PIP = "labkernels[cuda12] @ git+https://github.com/labkernels/labkernels@v0.1.0"
IN_COLAB = "google.colab" in sys.modules

if IN_COLAB:
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", LABKERNELS_PIP], check=True)

from labkernels import device, notebook, registry  # noqa: E402, F401  (later cells use them)

gpu = notebook.report_device(IN_COLAB, family="fp16",
                             without_gpu="Numba kernels run in the CUDA simulator, CUDA C is compiled to PTX only, and measurements come from the committed results")

# %% [markdown]
# # Lesson 0 — Foundations: formats, timing, the three-ceiling roofline, and an fp16 GEMV
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/labkernels/labkernels/blob/v0.1.0/notebooks/00_foundations.ipynb)
#
# ## Motivation
#
# The lab asks one question: for a layer of shape `N×K` and a batch of `M` tokens on *this* GPU,
# which number format makes `Y = X·Wᵀ` fastest, how close to its bound does each kernel run, and
# where do the curves of two formats cross? Answering it needs four things, and this lesson builds
# them on the plainest format, fp16:
#
# 1. the **formats** and how many bytes each moves;
# 2. a **model** of the best possible time: three ceilings, not two;
# 3. a **timing method** that measures the kernel, not the cache or the host;
# 4. a **reference**: the fp16 kernels from a naive one to a memory-bound GEMV, beside cuBLAS.
#
# Every figure in the text is computed by a cell and printed; the prose only says which way things go.

# %%
import collections
import dataclasses

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Code, Markdown, display

from labkernels import bench, build, check, formats, notebook, numba_compat, plot, runner
from labkernels import roofline as rl

SMALL = notebook.small()  # LABKERNELS_SMALL=1 (CI): small simulator shapes and a short GPU sweep
COMMITTED = "h100-sxm-2026-11-26/foundation/fp16.json"  # under benchmarks/results
PTX_ARCH = "sm_90"  # PTX is shown for Hopper, the GPU of the committed measurements

committed, CEIL, CEIL_WHERE = notebook.lesson_data(COMMITTED, gpu)
CEIL_WHEN = "on this GPU" if gpu is not None else f"committed, {committed['env']['date']}"
print(f"ceilings {CEIL_WHERE}")

# %% [markdown]
# ## Formats
#
# A format fixes how many bits an activation and a weight take (scales included), and which MMA
# precision the multiply runs at on a given GPU: natively, or emulated around another precision
# with extra ALU work. The table is `labkernels.roofline.FORMATS`, evaluated for the GPU whose
# ceilings are used here.

# %%
rows = ["| format | activation bits | weight bits | MMA runs at | native? | note |", "|---|---|---|---|---|---|"]
for f in rl.FORMATS.values():
    ex = f.execution(CEIL.cc)
    rows.append(f"| `{f.key}` | {f.a_bits:g} | {f.w_bits:g} | {ex.mma} | {'yes' if ex.native else 'no'} "
                f"| {ex.label or f.description} |")
display(Markdown(f"On sm_{CEIL.cc[0]}{CEIL.cc[1]} ({CEIL.gpu}):\n\n" + "\n".join(rows)))

# %% [markdown]
# Each codec in `labkernels.formats` is bit-exact NumPy, the reference the kernels are checked
# against. For instance fp8 e4m3 (4 exponent bits, 3 mantissa bits) rounds to the nearest
# representable value and saturates at its largest finite value instead of overflowing:

# %%
x = np.array([0.1, 1.0, 3.14159, 17.3, 300.0, 1000.0], dtype=np.float32)
codes = formats.encode_e4m3(x)
print("x        =", x.tolist())
print("e4m3     =", [f"0x{int(c):02X}" for c in codes])
print("decoded  =", formats.decode_e4m3(codes).tolist(), f"(largest finite e4m3: {formats.E4M3_MAX})")

# %% [markdown]
# ## Three ceilings
#
# For `Y[M, N] = X[M, K]·W[N, K]ᵀ` a kernel can go no faster than the largest of
#
# 1. **memory**: the fewest bytes it must move (`X`, `W` with its scales, `Y`, each once) over the
#    measured copy bandwidth;
# 2. **MMA**: `2·M·N·K` FLOPs over the Tensor Core rate *of the precision the MMA runs at*;
# 3. **ALU**: the CUDA-core instructions spent turning stored values into MMA operands (for
#    quantized weights, once per weight per tile of `M` that re-reads it) over the integer rate.
#
# The plain roofline has only the first two; the third is what makes a dequantizing format lose
# when it is compute-bound, and what hardware block scaling removes. The ceilings are *measured*
# (a copy, register-only `mma.sync` loops, a cuBLAS GEMM, `lop3` chains); the datasheet table is the
# fallback on an unknown machine, and the comparison below says how far apart the two are.

# %%
ds = rl.datasheet_ceilings(CEIL.key or "h100-sxm")
print(f"{'ceiling':24s} {'measured':>9s} {'datasheet':>9s} {'unit':9s} {'ratio':>6s}")
for name, m, d, unit in [("memory bandwidth", CEIL.bw, ds.bw, "TB/s"),
                         ("fp16 mma.sync", CEIL.mma["fp16"], ds.mma["fp16"], "TFLOP/s"),
                         ("fp16 library (cuBLAS)", CEIL.library["fp16"], ds.library["fp16"], "TFLOP/s"),
                         ("int8 mma.sync", CEIL.mma["int8"], ds.mma["int8"], "TOP/s"),
                         ("integer ALU (lop3)", CEIL.alu, ds.alu, "Tinstr/s")]:
    print(f"{name:24s} {m / 1e12:9.1f} {d / 1e12:9.1f} {unit:9s} {m / d:6.2f}")
print("\ndatasheet sources:")
for k, v in ds.provenance.items():
    print(f"  {k}: {v[:160]}{'…' if len(v) > 160 else ''}")

# %%
N0 = K0 = 8192
print(f"N = K = {N0}: the bound and which ceiling sets it (MMA at the lab's mma.sync rate)")
for fmt in ("fp16", "w4a16", "a8w8"):
    for M in (1, 4096):
        b = rl.bound(fmt, M, N0, K0, CEIL)
        print(f"  {fmt:6s} M={M:5d}: memory {b.mem_us:7.1f} µs, MMA ({b.mma_precision}) {b.mma_us:7.1f} µs, "
              f"ALU {b.alu_us:6.1f} µs → bound {b.time_us:7.1f} µs ({b.kind})")
    print(f"  {fmt:6s} turns compute-bound at M ≈ {rl.ridge_m(fmt, N0, K0, CEIL):.0f}")

# %%
fig, axes = plt.subplots(1, 2, figsize=(14, 5))
plot.roofline_figure(ds, precisions=["fp16", "int8", "fp8"], ax=axes[0])  # titled MODELED (datasheet)
plot.roofline_figure(CEIL, precisions=["fp16", "int8", "fp8"], show_alu=["w4a16"], ax=axes[1],
                     title=f"{CEIL.gpu}: roofs from ceilings MEASURED ({CEIL_WHEN})")
plt.show()

# %% [markdown]
# Read the fp8 roof with care on Hopper (sm_90): it has no fp8 `mma.sync` — the compiler unpacks e4m3
# to fp16 and issues fp16 MMAs — so the datasheet model puts the `mma.sync` fp8 roof at the fp16 rate,
# and the measurement of the emulated instruction lands lower still. Hopper reaches its fp8 datasheet
# rate only through `wgmma`, as cuBLASLt does; Ada (sm_89) and Blackwell run fp8 `mma.sync` natively.
#
# ## Timing method
#
# `labkernels.bench.time_kernel` measures with CUDA events around each call, after a warm-up, and
# reports the median of many calls (and the 10th–90th percentile spread). Two traps it avoids:
#
# * **a warm L2.** A weight matrix that fits in the L2 is served from it on the second call, and
#   the kernel looks faster than DRAM allows. The harness rotates over several input sets whose
#   total is at least three times the L2, or, when one set is too big for that, flushes the L2 by
#   *reading* a buffer twice its size before every call;
# * **host launch overhead.** All timed calls are queued behind one GPU busy-wait that outlasts the
#   host's enqueueing, so each interval between events contains GPU work only.
#
# Every measurement becomes a record with the kernel, shape, time, achieved GB/s and TFLOP/s, the
# bound, the share of it reached, and the card, driver, library versions and date.

# %%
if committed is not None:
    env = committed["env"]
    l2 = int(env["l2_mb"] * 2**20)
    print(f"committed run: {env['gpu']}, L2 {env['l2_mb']} MB, {env['date']}; timing methods used:")
    for method, n in collections.Counter(r["method"] for r in committed["records"]).items():
        print(f"  {n:3d} records: {method}")
    for M in (1, 4096, 16384):
        per_set = rl.bytes_moved("fp16", M, committed["N"], committed["K"])
        n = bench.sets_for(int(per_set), l2)
        print(f"  M={M:5d}: one input set is {per_set / 2**20:6.1f} MiB → "
              + (f"rotate {n} sets" if n else "flush the L2 before each call"))

if gpu is not None:  # the trap, measured: the same small GEMV from a warm L2 and from DRAM
    import cupy

    x = cupy.random.standard_normal((1, 4096), dtype=cupy.float32).astype(cupy.float16)
    w = cupy.random.standard_normal((4096, 4096), dtype=cupy.float32).astype(cupy.float16)
    fn = registry.get("fp16/v00_cublas").launch
    warm = bench.time_kernel(lambda: fn(x, w), flush_l2=False, iters=20)
    cold = bench.time_kernel(lambda: fn(x, w), flush_l2=True, iters=20)
    print(f"cuBLAS GEMV 1x4096x4096 on {gpu.name}: warm L2 {warm.median_us:.1f} µs, "
          f"from DRAM {cold.median_us:.1f} µs "
          f"({cold.median_us / warm.median_us:.2f}x)")

# %% [markdown]
# ## The fp16 kernels
#
# `v00` is cuBLAS through `cupy.matmul`, the library reference; `v01`–`v03` are the lab's own, in
# teaching order (the numbers follow the lesson, not the speed).
#
# ### v01 — Numba, one thread per output
#
# The whole algorithm in a few lines of Python, runnable in the CUDA simulator on a laptop.
# Neighbouring threads own neighbouring output columns `n`, so at each step they read `W[n, k]`,
# `W[n+1, k]`, … — addresses a whole row apart: nothing coalesces.

# %%
v01 = registry.get("fp16/v01_naive_numba")
display(Code(filename=str(build.source_path(v01.source)), language="python"))
ptx01 = numba_compat.compile_ptx("labkernels.kernels.fp16.v01_naive_numba", v01.numba_func, v01.numba_sig,
                                 cc=(9, 0))
print(build.ptx_summary(ptx01, ["ld.global.u16", "cvt.f32.f16", "cvt.rn.f16.f32"], max_lines=2))

# %% [markdown]
# ### v02 — the same kernel in CUDA C
#
# Nothing but the language changes, so Numba and CUDA C can be compared like for like.

# %%
def show_kernel(vid: str, patterns, max_lines: int = 3):
    """A variant's registry line, its CUDA C, and the PTX lines containing ``patterns``."""
    v = registry.get(vid)
    print(f"{v.id}: {v.description}")
    display(build.show_source(v.source))
    print(f"PTX for {PTX_ARCH}, #defines {v.defines}:")
    print(build.show_ptx(v.source, patterns, arch=PTX_ARCH, defines=v.defines, max_lines=max_lines))


show_kernel("fp16/v02_naive", ["ld.global.nc.u16", "cvt.f32.f16", "fma.rn.f32"])

# %% [markdown]
# ### v03 — one warp per row: a memory-bound GEMV
#
# The warp walks *along* a row of `W`: its 32 lanes read 32 consecutive 16-byte chunks (fully
# coalesced, `ld.global.nc.v4`), each lane keeps several loads in flight, every row of `X` is
# applied to each loaded chunk so `W` is read once however large `M` is (up to 16), and the partial
# sums meet through warp shuffles (`shfl.sync.bfly`).

# %%
show_kernel("fp16/v03_gemv_warp", ["ld.global.nc.v4", "shfl.sync.bfly"])

# %% [markdown]
# ## Check before timing
#
# Fresh random inputs, an output filled with NaN before the launch, a float64 reference, a
# tolerance an fp16 result with fp32 accumulation earns. Without a GPU the Numba v01 runs in the
# simulator; the CUDA C variants are compiled above and their numerics need a GPU.

# %%
shapes = [(2, 16, 64), (3, 33, 100)] if SMALL else [(2, 16, 64), (3, 33, 100), (5, 64, 256)]
results = [check.check_variant("fp16/v01_naive_numba", M, N, K) for M, N, K in shapes]
for r in results:
    print(r)
assert all(results), "v01 failed a check (see above)"

failed = []
for v in registry.variants(family="fp16"):
    ok, why = v.runnable()
    if gpu is None or not ok:
        if v.impl != "numba":
            print(f"{v.id:24s} not run here: {why}")
        continue
    for M, N, K in ([(1, 1000, 4096), (16, 257, 1000)] if v.op == "gemv" else [(1, 1000, 4096), (33, 257, 1000)]):
        r = check.check_variant(v, M, N, K)
        print(r)
        if not r:
            failed.append(r)
assert not failed, f"{len(failed)} check(s) failed (see above)"

# %% [markdown]
# ## Benchmark
#
# On a GPU this measures every fp16 variant and cuBLAS in one run; without one it loads the
# committed results and says whose they are.

# %%
if gpu is not None:
    N = K = 2048 if SMALL else 8192
    MS = [1, 16, 256] if SMALL else [2**i for i in range(15)]
    recs, FAILURES = runner.sweep(registry.variants(family="fp16"), "fp16", N, K, MS, CEIL, iters=5 if SMALL else 20)
    RECORDS = [dataclasses.asdict(r) for r in recs]
    SOURCE, WHEN = f"measured just now on this {gpu.name}", "measured in this run"
else:
    RECORDS, FAILURES, N, K = committed["records"], committed["failures"], committed["N"], committed["K"]
    MS = sorted({r["M"] for r in RECORDS})
    env = committed["env"]
    SOURCE = (f"committed measurements of an {env['gpu']} dated {env['date']} (driver {env['driver']}) — "
              f"NOT a run on this machine")
    WHEN = f"committed run of {env['date']}"
GPU_NAME = RECORDS[0]["gpu"] if RECORDS else CEIL.gpu
print(f"{len(RECORDS)} records, {len(FAILURES)} failures: {SOURCE}")


def rec(kernel, M):
    return next((r for r in RECORDS if r["kernel"] == kernel and r["M"] == M), None)


for M in (1, 16):
    cub = rec("fp16/v00_cublas", M)
    print(f"\nN={N} K={K}, M={M} ({WHEN})")
    for v in registry.variants(family="fp16"):
        r = rec(v.id, M)
        if r is None:
            continue
        print(f"  {v.id:22s} {r['time_us']:8.1f} µs {r['gbps']:6.0f} GB/s = "
              f"{100 * r['gbps'] * 1e9 / CEIL.bw:5.1f}% of copy BW"
              + (f"   {cub['time_us'] / r['time_us']:5.2f}x cuBLAS's speed" if cub else ""))
big = max(r["M"] for r in RECORDS if r["kernel"] == "fp16/v00_cublas")
r = rec("fp16/v00_cublas", big)
print(f"\ncuBLAS at M={big}: {r['tflops']:.0f} TFLOP/s, {r['pct_of_bound']:.0f}% of its {r['bound_kind']} bound")

# %%
pts = [r for r in RECORDS if r["M"] in (1, 16, 256, 4096, 16384)]
plot.roofline_figure(CEIL, pts, precisions=["fp16"],
                     title=f"{GPU_NAME}, fp16 N={N} K={K}: points MEASURED ({WHEN}); "
                           f"roofs MODELED from measured ceilings")
plt.show()
plot.sweep_figure(CEIL, N, K, ["fp16"], RECORDS, ms=MS, library_fmts=["fp16"],
                  title=f"{GPU_NAME}, fp16 N={N} K={K}: markers MEASURED ({WHEN}); lines MODELED (bounds)")
plt.show()

# %% [markdown]
# ## What next
#
# The warp GEMV comes close to the memory bound at `M = 1` and falls away as `M` grows (every extra
# row of `X` is more CUDA-core math per byte of `W`); cuBLAS stays close to the roofline at both ends
# — the numbers above say how close. But at small `M` the memory ceiling is all there is:
# the only way to go faster is to move fewer bytes. Lesson 1 (`01_dequant_then_mma`) stores the
# weights in 4 bits, and pays for it with a conversion back to fp16 that must hide under the loads
# at small `M` and under the MMAs at large `M`.
