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

gpu = notebook.report_device(IN_COLAB, family="int8",
                             without_gpu="Numba kernels run in the CUDA simulator, CUDA C is compiled to PTX only, and measurements come from the committed results")

# %% [markdown]
# # Lesson 2 — int8 activations: dp4a → WMMA → `mma.sync`, A8W8 and W4A8
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/labkernels/labkernels/blob/v0.1.0/notebooks/02_int8_dp4a_wmma.ipynb)
#
# ## Motivation
#
# Lesson 1 quantized only the weights: the bytes shrank, but the multiply still ran on fp16 Tensor
# Cores, after a dequantization that costs ALU work for every weight and every tile of `M`. Once
# `M` is large the layer is compute-bound and that extra work is on the critical path.
#
# Quantizing the **activations** too — int8 per token, computed on the fly — lets the multiply run
# on the *int8* Tensor Cores: twice the fp16 rate on every NVIDIA GPU since Turing, no conversion
# in the main loop, and integer sums that are exact. The price is a quantization step for `X` and
# the error it adds. This lesson builds the int8 kernels the way CUDA courses teach them — `dp4a`
# on the CUDA cores, then WMMA, then `mma.sync` with explicit fragments and a `cp.async` pipeline —
# checks every one of them *exactly*, and measures where A8W8 overtakes the weight-only W4A16 of
# lesson 1. It ends with W4A8: 4-bit weights on the int8 Tensor Cores.
#
# Numbers in the text come from the cells; the prose only says which way things go.

# %%
import dataclasses

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Code, Markdown, display

from labkernels import build, check, formats, numba_compat, plot, problems, runner
from labkernels import crossover as xo
from labkernels import roofline as rl
from labkernels.kernels import int8

SMALL = notebook.small()  # LABKERNELS_SMALL=1 (CI): small simulator shapes and a short GPU sweep
COMMITTED = "h100-sxm-2026-11-27/int8/int8.json"  # under benchmarks/results
GROUP = 128
PTX_ARCH = "sm_90"

committed, CEIL, CEIL_WHERE = notebook.lesson_data(COMMITTED, gpu)
print(f"ceilings {CEIL_WHERE}:")
print(f"  memory (1 GiB copy)      {CEIL.bw / 1e12:7.2f} TB/s")
print(f"  int8 dp4a (CUDA cores)   {CEIL.mma_rate('int8', 'dp4a') / 1e12:7.0f} TOP/s")
print(f"  int8 WMMA m16n16k16      {CEIL.mma_rate('int8', 'wmma') / 1e12:7.0f} TOP/s")
print(f"  int8 mma.sync m16n8k32   {CEIL.mma['int8'] / 1e12:7.0f} TOP/s    (the lab's kernels)")
if CEIL.wgmma:
    print(f"  int8 wgmma m64n256k32    {CEIL.mma_rate('int8', 'wgmma') / 1e12:7.0f} TOP/s    (Hopper only)")
print(f"  fp16 mma.sync            {CEIL.mma['fp16'] / 1e12:7.0f} TFLOP/s")
if CEIL.library.get("int8"):
    print(f"  int8 cuBLAS (torch)      {CEIL.library['int8'] / 1e12:7.0f} TOP/s")
print(f"  int8 / fp16 mma.sync     {CEIL.mma['int8'] / CEIL.mma['fp16']:7.2f}x")

# %% [markdown]
# ## Quantizing activations, per token
#
# Each row of `X` (one token) gets its own scale `s = max|x| / 127`, rounded to fp16, and codes
# `q = rint(x / s)` in −127…127: symmetric, so zero stays exactly zero, and the largest value of
# the row maps to ±127. `formats.quantize_int(x, bits=8, group_size=None)` is the NumPy reference;
# `int8.quantize_per_token` runs the same recipe as a CUDA kernel (`int8/quantize.cu`) and is
# checked **bit-exact** against it. Typical activations have a few large outliers per row, which
# is what makes per-token (rather than per-tensor) scales necessary: the cell measures the error
# both ways on data with outliers.

# %%
rng = np.random.default_rng(0)
x = rng.standard_normal((64, 4096)).astype(np.float32)
x[:, rng.choice(4096, 8, replace=False)] *= 20  # a few outlier channels, as in real activations
x16 = x.astype(np.float16)
q, s = int8.quantize_per_token(x16)
err_tok = np.abs(q.astype(np.float32) * s.astype(np.float32) - x16.astype(np.float32))
s_tensor = np.float32(np.abs(x16).max() / 127)
err_ten = np.abs(np.clip(np.rint(x16 / s_tensor), -127, 127) * s_tensor - x16.astype(np.float32))
rms = float(np.sqrt((x16.astype(np.float32) ** 2).mean()))
print(f"per-token scales: rms error {np.sqrt((err_tok ** 2).mean()) / rms:.2%} of rms(x)")
print(f"one scale for the whole tensor: rms error {np.sqrt((err_ten ** 2).mean()) / rms:.2%} of rms(x)")
if gpu is not None:
    import cupy

    qg, sg = int8.quantize_per_token(cupy.asarray(x16))
    print("GPU quantizer bit-exact with the NumPy codec:",
          bool(np.array_equal(qg.get(), q) and np.array_equal(sg.get(), s)))
display(Code(filename=str(build.source_path("int8/quantize.cu")), language="cuda"))

# %% [markdown]
# What a kernel computes, then, is `Y = (Xq·Wqᵀ)·sx·swᵀ`: an **integer** matrix product (exact in
# int32: each product is at most 2¹⁴ in magnitude, so `K` up to 131072 cannot overflow), then one
# scale per row and one per column. That split is what the checks below use: every A8W8 kernel can
# return its raw int32 sums (pass an int32 `out`), which must equal the integer product *exactly*;
# the scaled fp16 result is then checked against float64 within fp16 rounding.

# %%
def show_kernel(vid: str, patterns, max_lines: int = 3):
    v = registry.get(vid)
    arch = PTX_ARCH if PTX_ARCH in v.archs else v.archs[0]  # wgmma exists only for sm_90a
    print(f"{v.id}: {v.description}")
    display(build.show_source(v.source))
    print(f"PTX for {arch}, #defines {v.defines}:")
    print(build.show_ptx(v.source, patterns, arch=arch, defines=v.defines, max_lines=max_lines))


# %% [markdown]
# ## The kernels
#
# ### v00 — the library peer
#
# `torch._int_mm` calls cuBLAS's int8 GEMM (int32 out). It refuses `M ≤ 16`, so at decode sizes
# there is no int8 library kernel to compare with — the lab's GEMV is alone there, measured against
# the copy bandwidth and against cuBLAS fp16.
#
# ### v01 — Numba and `dp4a`
#
# `dp4a(a, b, c)` adds the four signed byte products of two 32-bit words to `c` — four multiply-adds
# in one instruction (`dp4a.s32.s32`, sm_61+). Numba has no intrinsic for it, so the kernel calls a
# one-line CUDA C function, declared with `cuda.declare_device` and linked from `dp4a_device.cu`;
# in the simulator a pure-Python `dp4a` stands in. Its PTX shows the call; the CUDA C file's PTX
# shows the instruction.

# %%
v01 = registry.get("int8/v01_dp4a_numba")
display(Code(filename=str(build.source_path(v01.source)), language="python"))
display(Code(filename=str(build.source_path("int8/dp4a_device.cu")), language="cuda"))
ptx01 = numba_compat.compile_ptx("labkernels.kernels.int8.v01_dp4a_numba", v01.numba_func, v01.numba_sig, cc=(9, 0))
print(build.ptx_summary(ptx01, ["call.uni", "dp4a_s32"], max_lines=2))
aux = build.compile_file("int8/dp4a_device.cu", PTX_ARCH, options=("-rdc=true",))
print(build.ptx_summary(aux.ptx, ["dp4a.s32.s32"], max_lines=1))

# %% [markdown]
# ### v02 — the `dp4a` GEMV (decode)
#
# The fp16 GEMV of lesson 0 with int8 arithmetic: one warp per row of `W`, 16-byte loads (16
# weights), several in flight per lane, `dp4a` per 4-byte word, integer warp reduction, and the two
# scales applied once per output. At `M = 1` the bound is the weight bytes: half of fp16's.

# %%
show_kernel("int8/v02_dp4a_gemv", ["dp4a.s32.s32", "ld.global.nc.v4"])

# %% [markdown]
# ### v03 — the tiled `dp4a` GEMM
#
# For large `M` a warp per row would re-read `W` for every 16 rows. v03 is the classic tiled GEMM of
# every CUDA course: 64×64 tiles of `X` and `W` staged in shared memory as int32 words, 4×4 outputs
# per thread, every word fetched feeding 64 `dp4a`. Its ceiling is the CUDA cores' `dp4a` issue
# rate — far below any Tensor Core.

# %%
show_kernel("int8/v03_dp4a_gemm", ["dp4a.s32.s32", "ld.shared"])

# %% [markdown]
# ### v04 — WMMA int8
#
# `wmma::mma_sync` on 16×16×16 int8 fragments moves the multiply-adds to the Tensor Cores (sm_72+).
# WMMA hides the fragment layout, which costs twice: fragment pointers must be 256-bit aligned (so
# shared memory holds each 16×16-byte block contiguously), and the accumulators go through shared
# memory for the scale epilogue because no one may assume which lane holds which element.

# %%
show_kernel("int8/v04_wmma", ["wmma.mma.sync.aligned.row.col.m16n16k16.s32.s8.s8.s32", "wmma.load.a.sync"])

# %% [markdown]
# ### v05 — `mma.sync` m8n8k16 and `ldmatrix` (the T4 path)
#
# `mma.sync` makes the layout explicit (PTX ISA): for m8n8k16 int8, lane `l` holds one register of
# A (row `l/4`, bytes `4(l mod 4)…+3` of a 16-byte k-slice), one of B, and two int32 of C (row
# `l/4`, columns `2(l mod 4)`, `+1`). `ldmatrix.x4` delivers exactly that for four 8×16-byte blocks
# of shared memory in one instruction, and the epilogue knows which outputs it holds. This shape
# exists from sm_75, so the family runs on a T4.

# %%
show_kernel("int8/v05_mma_m8n8k16", ["mma.sync.aligned.m8n8k16.row.col.s32.s8.s8.s32", "ldmatrix.sync.aligned.m8n8.x4"])

# %% [markdown]
# ### v06 — `mma.sync` m16n8k32, a `cp.async` pipeline, big warp tiles
#
# m16n8k32 does four times the work of m8n8k16 per instruction, and its fragments hold the same
# *bytes* as an fp16 m16n8k16's, so the `ldmatrix` addressing of lesson 1 carries over. Tiles
# stream into shared memory with `cp.async` several stages ahead; each warp keeps a 64×64 tile of
# int32 accumulators (128 registers per lane), so every fragment it loads feeds eight MMAs; blocks
# run in groups that share tiles in L2. Even so, on Hopper the lab measures this kernel at about half
# the int8 `mma.sync` ceiling. Shared memory is not what stops it (v10 below reads exactly the same
# fragments and runs 1.5× faster): every stage, each thread waits for its own `cp.async` copies and
# then the whole block meets at a barrier before the stage's MMAs, so the Tensor Cores idle behind
# the slowest copy and the slowest warp, once per 128 bytes of `k`.

# %%
show_kernel("int8/v06_mma_gemm", ["mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32", "ldmatrix.sync.aligned.m8n8.x4",
                                  "cp.async.cg.shared.global"])

# %% [markdown]
# ### v09 — `wgmma`: Hopper's warpgroup MMA
#
# `wgmma.mma_async` (sm_90a only) is issued by a *warpgroup* — four warps, 128 threads — and reads
# both operands straight from shared memory through 64-bit *matrix descriptors*: the tile's address,
# the distance between groups of 8 rows, and the swizzle its rows were stored with. No `ldmatrix`,
# no fragments in registers, one read of each operand per warpgroup instead of per warp: a quarter
# of v06's shared-memory reads for the same MMAs. Rows of 128 bytes of `k` are stored with the
# 128-byte swizzle (16-byte chunk `c` of row `r` at chunk `c ^ (r mod 8)`), written that way by
# `cp.async`; stepping 32 bytes along `k` is adding 2 to the descriptor's address field. The MMA is
# asynchronous: the kernel commits each stage's four m64n256k32 instructions as a group and waits
# for the *previous* group only, so one group is always in flight. `fence.proxy.async` orders the
# `cp.async` writes (generic proxy) before the `wgmma` reads (async proxy).

# %%
show_kernel("int8/v09_wgmma", ["wgmma.mma_async.sync.aligned.m64n256k32.s32.s8.s8", "wgmma.wait_group.sync.aligned",
                               "fence.proxy.async.shared::cta"], max_lines=1)
print(f"the descriptor-addressed smem: {int8.v09_smem()} bytes per block (4 stages of a 128x128-byte A tile "
      f"and a 256x128-byte B tile, + 1 KB to align the swizzle)")

# %% [markdown]
# ### v10 — the same `mma.sync`, fed by the tensor memory accelerator
#
# v10 keeps v06's instruction, fragments and 64×64 warp tiles and changes only how the tiles get to
# them. One thread of a *producer* warpgroup asks the copy engine (TMA, `cp.async.bulk.tensor`) for a
# whole 128×128-byte tile of X and a 256×128-byte tile of W per stage, stored with the 128-byte
# swizzle so that `ldmatrix` stays free of bank conflicts. Eight *consumer* warps wait on the stage's
# *full* mbarrier (the copy engine completes it when the bytes have landed), and each hands the slot
# back on an *empty* mbarrier once its fragments are in registers: no block barrier is left in the
# loop. `setmaxnreg` moves registers from the producer to the consumers. Each warp also loads the
# next k-step's fragments while this one's MMAs run, across stages, and the grid is persistent (one
# block per SM walking the tiles), so the producer fills the next tile's stages while the consumers
# store this one. On the H100 this is the lab's first `mma.sync` kernel to match cuBLAS, which uses
# `wgmma`: the measurement below shows by how much.

# %%
show_kernel("int8/v10_mma_tma", ["mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32", "cp.async.bulk.tensor.2d",
                                 "mbarrier.try_wait.parity", "setmaxnreg.inc.sync.aligned.u32"], max_lines=1)

# %% [markdown]
# ### v07, v08 — W4A8: int4 weights on the int8 Tensor Cores
#
# A signed 4-bit value placed in the *high* nibble of a byte is already a correctly signed int8,
# equal to 16·q. So if the weights are stored as two's-complement nibbles, widening eight of them
# to two int8×4 registers is two masks and a shift — no per-element work, no conversion — and the
# 16 is divided out of the scale (exact: a power of two). An offline re-layout puts in each byte the
# two weights that belong to the two registers (`prepack_w4a8_gemv`, `prepack_w4a8_mma`). Group
# scales cannot enter an integer MMA, so each group's products are summed in int32 and scaled once
# per group into fp32 — one convert and one FMA per output per 128 values of `k`.

# %%
w_demo = formats.quantize_int(rng.standard_normal((8, 128)).astype(np.float32), bits=4, group_size=128)
pw = int8.prepack_w4a8_gemv(formats.pack_int4(w_demo.q))
word = int(pw[0, 0])
lo, hi = (word << 4) & 0xF0F0F0F0, word & 0xF0F0F0F0
as_i8 = lambda v: np.array([v], "<u4").view(np.int8) // 16  # noqa: E731
print(f"q[0, 0:8] - 8 = {(w_demo.q[0, :8].astype(int) - 8).tolist()}")
print(f"word 0x{word:08X}: low nibbles → {as_i8(lo).tolist()}, high nibbles → {as_i8(hi).tolist()}")
show_kernel("int8/v08_w4a8_gemv", ["dp4a.s32.s32", "and.b32"])
show_kernel("int8/v07_w4a8_mma", ["mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32", "cvt.rn.f32.s32"])

# %% [markdown]
# ## Check: integers exactly, then the scales
#
# Fresh random int8 inputs over the whole range (−128 and 127 always present), outputs poisoned
# before the launch, shapes off every tile. Without a GPU the Numba kernel runs in the simulator;
# the CUDA C kernels were compiled above and need a GPU for their numerics.

# %%
M_chk, N_chk, K_chk = (2, 16, 64) if SMALL else (3, 40, 132)
ok, _, msg = int8.check_exact("int8/v01_dp4a_numba", M_chk, N_chk, K_chk)
print(msg)
r = check.check_variant("int8/v01_dp4a_numba", M_chk, N_chk, K_chk)
print(r)
assert ok and r.passed

failed = []
for v in registry.variants(family="int8"):
    ok_, why = v.runnable()
    if gpu is None or not ok_:
        if v.impl != "numba":
            print(f"{v.id:26s} not run here: {why}")
        continue
    shapes = [(1, 129, 528), (16, 72, 4112)] if v.op == "gemv" else [(17, 300, 528), (130, 264, 2064)]
    prob = problems.get(v.fmt)
    mult = prob.k_multiple(**prob.params)  # W4A8's group of 128: K rounded up to whole groups
    for M, N, K in shapes[: 1 if SMALL else 2]:
        K = -(-K // mult) * mult
        if v.reference:  # torch._int_mm wants N (and K) multiples of 8: the peer is checked on the next one up
            N = -(-N // 8) * 8
        if not v.supports(M) or (v.impl == "numba" and M * N * K > 2_000_000):
            continue
        if v.fmt == "a8w8" and not v.reference:
            ok_, _, msg = int8.check_exact(v, M, N, K)
            print(msg)
            if not ok_:
                failed.append(msg)
        r = check.check_variant(v, M, N, K)
        print(r)
        if not r:
            failed.append(str(r))
assert not failed, f"{len(failed)} check(s) failed (see above)"

# %% [markdown]
# ## Benchmark
#
# On a GPU this measures A8W8, W4A8, W4A16 and the libraries in one run (each checked first, timed
# from DRAM, medians); without one it loads the committed results and says so.

# %%
RUNGS = ["int8/v03_dp4a_gemm", "int8/v04_wmma", "int8/v05_mma_m8n8k16"]
KEY = ["fp16/v00_cublas", "int8/v00_torch_int_mm", "int8/v02_dp4a_gemv", "int8/v06_mma_gemm", "int8/v09_wgmma",
       "int8/v10_mma_tma", "int8/v08_w4a8_gemv", "int8/v07_w4a8_mma", "dequant/v04_gemv_lop3", "dequant/v06_mma_skinny",
       "dequant/v07_gemm_mma"]
if gpu is not None:
    N_b = K_b = 2048 if SMALL else 8192
    MS = [1, 16, 256] if SMALL else [1, 4, 16, 64, 256, 1024, 4096]
    iters = 5 if SMALL else 20
    RECORDS, FAILURES = [], []
    for ids, fmt, params in [(["fp16/v00_cublas"], "fp16", {}),
                             (["int8/v00_torch_int_mm", "int8/v02_dp4a_gemv", "int8/v06_mma_gemm",
                               "int8/v09_wgmma", "int8/v10_mma_tma"], "a8w8", {}),
                             (["int8/v07_w4a8_mma", "int8/v08_w4a8_gemv"], "w4a8", {"group_size": GROUP}),
                             (["dequant/v04_gemv_lop3", "dequant/v06_mma_skinny", "dequant/v07_gemm_mma"], "w4a16",
                              {"group_size": GROUP})]:
        rs, fs = runner.sweep(ids, fmt, N_b, K_b, MS, CEIL, iters=iters, **params)
        RECORDS += [dataclasses.asdict(r) for r in rs]
        FAILURES += fs
    # The slow teaching rungs at the largest M only.
    rs, fs = runner.sweep(RUNGS, "a8w8", N_b, K_b, [max(MS)], CEIL, iters=max(3, iters // 4))
    RECORDS += [dataclasses.asdict(r) for r in rs]
    FAILURES += fs
    SHAPES = [(N_b, K_b)]
    WHEN = "measured in this run"
else:
    RECORDS, FAILURES = committed["records"], committed["failures"]
    SHAPES = [tuple(s) for s in committed["shapes"]]
    MS = committed["ms"]
    env = committed["env"]
    WHEN = f"committed run of {env['date']} on an {env['gpu']} — NOT a run on this machine"
GPU_NAME = RECORDS[0]["gpu"] if RECORDS else CEIL.gpu
print(f"{len(RECORDS)} records, {len(FAILURES)} failures ({WHEN})")


def curves(N, K):
    """Per M, the fastest lab kernel of each format and each library peer (crossover.measured_curves)."""
    sel = [r for r in RECORDS if (r["N"], r["K"]) == (N, K)]
    return {c.name: c.points for c in xo.measured_curves(sel, ["a8w8", "w4a8", "w4a16", "fp16"])}


for N, K in SHAPES:
    cv = curves(N, K)
    cols = {"A8W8": cv.get("a8w8 lab (fastest)", {}), "W4A8": cv.get("w4a8 lab (fastest)", {}),
            "W4A16": cv.get("w4a16 lab (fastest)", {}), "cuBLAS fp16": cv.get("fp16/v00_cublas (peer)", {}),
            "cuBLAS int8": cv.get("int8/v00_torch_int_mm (peer)", {})}
    rows = [f"| M | {' | '.join(cols)} |", "|---" * (len(cols) + 1) + "|"]
    for M in MS:
        cells = [f"{c[M]['time_us']:.1f} µs" if M in c else "—" for c in cols.values()]
        rows.append(f"| {M} | {' | '.join(cells)} |")
    display(Markdown(f"**N={N} K={K}** (fastest lab kernel per format; {WHEN})\n\n" + "\n".join(rows)))

# %% [markdown]
# ## Where A8W8 overtakes W4A16
#
# At small `M` the bytes decide: W4A16 and W4A8 move about half of A8W8's. As `M` grows the MMA
# rate takes over, and there A8W8 (int8 Tensor Cores, nothing to convert) leaves W4A16 (fp16 Tensor
# Cores plus dequantization) behind; W4A8 keeps the int8 rate with 4-bit weights. The measured
# crossover sits beside the three-ceiling model's.

# %%
for N, K in SHAPES:
    cv = curves(N, K)
    a8, w48, w4 = (cv.get(f"{f} lab (fastest)", {}) for f in ("a8w8", "w4a8", "w4a16"))
    model = rl.crossovers("a8w8", "w4a16", N, K, CEIL, group_size=GROUP)
    print(f"N={N} K={K}: A8W8 faster than the lab's W4A16 from M = {xo.first_m_ahead(a8, w4)} (measured), "
          f"model {[round(m) for m in model] or 'never'}; W4A8 faster than W4A16 from M = {xo.first_m_ahead(w48, w4)}")
    big = max(m for m in MS if m in w48 and m in w4)
    print(f"  at M={big}: W4A8 {w4[big]['time_us'] / w48[big]['time_us']:.2f}x the lab's W4A16, "
          f"A8W8 {w4[big]['time_us'] / a8[big]['time_us']:.2f}x")
    if 1 in a8:
        print(f"  M=1: A8W8 GEMV at {100 * a8[1]['gbps'] * 1e9 / CEIL.bw:.0f}% of the copy bandwidth; "
              f"W4A8 {w48[1]['time_us']:.1f} µs vs W4A16 {w4[1]['time_us']:.1f} µs")
for N, K in SHAPES:
    big = max(MS)
    rows_ = {vid: next((r for r in RECORDS if r["kernel"] == vid and (r["M"], r["N"], r["K"]) == (big, N, K)), None)
             for vid in ("int8/v06_mma_gemm", "int8/v09_wgmma", "int8/v10_mma_tma", "int8/v00_torch_int_mm")}
    if rows_["int8/v00_torch_int_mm"]:
        lib = rows_["int8/v00_torch_int_mm"]
        for vid in ("int8/v06_mma_gemm", "int8/v10_mma_tma", "int8/v09_wgmma"):
            r = rows_[vid]
            if r is None:
                continue
            path = runner.kernel_path(registry.get(vid))
            print(f"N={N} K={K} M={big}: {vid} {r['tflops']:.0f} TOP/s = {lib['time_us'] / r['time_us']:.2f}x "
                  f"cuBLAS int8 ({lib['tflops']:.0f} TOP/s), {100 * r['tflops'] * 1e12 / CEIL.mma_rate('int8', path):.0f}% "
                  f"of the {path} int8 ceiling")
N, K = SHAPES[0]
rs = [r for r in RECORDS if (r["N"], r["K"]) == (N, K) and r["kernel"] in KEY]
fig = plot.sweep_figure(CEIL, N, K, ["fp16", "w4a16", "a8w8", "w4a8"], rs, ms=MS, library_fmts=["fp16", "a8w8"],
                        title=f"{GPU_NAME}, N={N} K={K}: markers MEASURED ({WHEN});\nlines MODELED (three-ceiling bounds)")
plt.show()

# %% [markdown]
# ## The rungs, each against the ceiling of its own instruction
#
# A kernel cannot beat the instruction it is built on, so each rung is measured against that
# instruction's own ceiling, measured by a microbenchmark that does nothing else
# (`kernels/ceilings/instr_rate.cu`, `wgmma_rate.cu`): `dp4a` chains on the CUDA cores; WMMA
# m16n16k16 fragments (ptxas lowers them to the GPU's own MMA instructions: on sm_80 and later
# the int8 ones to `IMMA.16816` in the SASS, half the `k` of m16n8k32's `IMMA.16832`); `mma.sync`
# m16n8k32; and on Hopper `wgmma` from shared memory. The gap between one roof and the next is what moving to the next instruction
# can buy; the gap between a point and its own roof is what is left to win on that rung.

# %%
N_r, K_r = SHAPES[0]
M_r = max((x["M"] for x in RECORDS if x["kernel"] in RUNGS and (x["N"], x["K"]) == (N_r, K_r)), default=max(MS))
print(f"int8 at M={M_r}, N={N_r}, K={K_r} ({WHEN}); ceilings {CEIL_WHERE}")
print(f"{'kernel':<24} {'path':<9} {'TOP/s':>7} {'its ceiling':>12} {'% of it':>8}")
at = {x["kernel"]: x for x in RECORDS if (x["M"], x["N"], x["K"]) == (M_r, N_r, K_r)}
pts = []
for vid in [*RUNGS, "int8/v06_mma_gemm", "int8/v10_mma_tma", "int8/v09_wgmma"]:
    if vid not in at:
        continue
    path = runner.kernel_path(registry.get(vid))
    roof = CEIL.mma_rate("int8", path)
    pts.append(at[vid])
    print(f"{vid:<24} {path:<9} {at[vid]['tflops']:7.0f} {roof / 1e12:12.0f} {100 * at[vid]['tflops'] * 1e12 / roof:7.0f}%")
if "int8/v00_torch_int_mm" in at:
    print(f"(cuBLAS int8 in the same run: {at['int8/v00_torch_int_mm']['tflops']:.0f} TOP/s)")
fig = plot.roofline_figure(CEIL, pts, precisions=["int8"], other_paths=["dp4a", "wmma", "wgmma"] if CEIL.wgmma else
                           ["dp4a", "wmma"],
                           title=f"{GPU_NAME}: int8 rungs at M={M_r} (points MEASURED, {WHEN});\n"
                                 f"roofs: black mma.sync, gray the other instruction paths")
plt.show()

# %% [markdown]
# ## What to take away
#
# * Integer Tensor Cores are exact: an A8W8 kernel's int32 sums can be checked bit for bit, and all
#   of the rounding is in the quantization and the fp16 epilogue.
# * `dp4a` is a good teaching rung and a good GEMV (memory-bound), but only the Tensor Cores make a
#   GEMM fast; WMMA gets there with opaque fragments, `mma.sync` with explicit ones.
# * On Hopper, what held the `mma.sync` GEMM (v06) at half its ceiling was how its tiles arrived: a
#   block barrier behind every thread's copies, once per stage. Fed by TMA through mbarriers (v10),
#   the same instruction and fragments reach the library; `wgmma` (v09), reading its operands from
#   swizzled shared memory once per warpgroup, passes it too (the cells above compare them at the
#   largest `M`).
# * W4A8 keeps the 4-bit weight bytes of W4A16 at small `M` and the int8 MMA rate at large `M`.
