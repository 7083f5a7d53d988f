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

gpu = notebook.report_device(IN_COLAB, family="dequant",
                             without_gpu="Numba kernels run in the CUDA simulator, CUDA C is compiled to PTX only, and measurements come from the committed results")

# %% [markdown]
# # Lesson 1 — Dequant-then-MMA: weight-only int4 (W4A16), from a naive GEMV to the roofline
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/labkernels/labkernels/blob/v0.1.0/notebooks/01_dequant_then_mma.ipynb)
#
# ## Motivation
#
# A language model that generates text one token at a time multiplies a small batch of
# activations, `X[M, K]` with `M` the number of sequences decoded together, by every weight
# matrix `W[N, K]` of the model. Every weight is read from DRAM once per step and used only
# `M` times, so at small `M` the GPU spends the step *moving weights*, not multiplying them.
# Storing the weights in 4 bits instead of 16 cuts those bytes severalfold, and a decode step
# can get faster by nearly as much — provided the kernel turns the 4-bit codes back into fp16
# without the conversion becoming the bottleneck.
#
# At large `M` (prefill, big batches) the same layer is compute-bound: the Tensor Cores are
# busy, the weight bytes hardly matter, and the dequantization is extra work on the critical
# path. Somewhere in between, W4A16 stops paying and plain fp16 (cuBLAS) wins. This lesson
# builds the W4A16 kernels one step at a time, checks each, measures each against its bound,
# and finds that crossover `M`: measured, and as two models predict it.
#
# Every figure in the text below is computed by a cell and printed; the prose only says which
# way things go. The next cell picks the ceilings: measured on this GPU when there is one,
# otherwise the committed measurements of the H100 the lab was benchmarked on.

# %%
import dataclasses
import math

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Code, Markdown, display

from labkernels import build, check, formats, notebook, numba_compat, plot, runner
from labkernels import crossover as xo
from labkernels import roofline as rl

SMALL = notebook.small()  # LABKERNELS_SMALL=1 (CI): small simulator shapes and a short GPU sweep
COMMITTED = "h100-sxm-2026-11-27/dequant/dequant.json"  # under benchmarks/results
GROUP = 128  # the group size of every benchmark below
PTX_ARCH = "sm_90"  # PTX is shown for Hopper, the GPU of the committed measurements

committed, CEIL, CEIL_WHERE = notebook.lesson_data(COMMITTED, gpu)
print(f"ceilings {CEIL_WHERE}:")
print(f"  memory (1 GiB copy)      {CEIL.bw / 1e12:7.2f} TB/s")
print(f"  fp16 mma.sync            {CEIL.mma['fp16'] / 1e12:7.0f} TFLOP/s   (the lab's kernels)")
print(f"  fp16 cuBLAS              {CEIL.library['fp16'] / 1e12:7.0f} TFLOP/s   (the library)")
print(f"  lop3 integer instr.      {CEIL.alu / 1e12:7.1f} T/s       (the dequant ALU ceiling)")

# %%
# One layer, N = K = 8192 (the committed benchmark's first shape): bytes and bounds.
N0, K0 = 8192, 8192
print(f"N = K = {N0}:  minimum bytes and the three-ceiling bound (W4A16: group {GROUP}, lab mma.sync rate; "
      f"fp16: cuBLAS rate)")
for M in (1, 16, 256, 4096):
    b16 = rl.bound("fp16", M, N0, K0, CEIL, path="library")
    b4 = rl.bound("w4a16", M, N0, K0, CEIL, group_size=GROUP)
    print(f"  M={M:5d}  fp16 {b16.bytes / 1e6:6.1f} MB → {b16.time_us:7.1f} µs ({b16.kind:6s})   "
          f"W4A16 {b4.bytes / 1e6:6.1f} MB → {b4.time_us:7.1f} µs ({b4.kind:6s})   "
          f"fp16 / W4A16 = {b16.time_us / b4.time_us:4.2f}")
print(f"ridge (memory = MMA): fp16 at M ≈ {rl.ridge_m('fp16', N0, K0, CEIL, path='library'):.0f}, "
      f"W4A16 at M ≈ {rl.ridge_m('w4a16', N0, K0, CEIL, group_size=GROUP):.0f}")

# %% [markdown]
# On these ceilings, at small `M` the W4A16 bound is several times below fp16's: that is the prize. W4A16 turns
# compute-bound at a much smaller `M` than fp16, because it has fewer bytes to hide the math
# behind; past both ridges the two bounds are set by the MMA rate, and the library's fp16 rate
# is higher than what the lab's `mma.sync` kernels can reach.
#
# ## The format: int4 weights in groups
#
# Each row of `W` (one output channel) is cut into groups of `g` consecutive weights along `K`
# (`g` = 32, 64 or 128, or the whole row: per-channel). A group stores one fp16 scale `s`
# and, optionally, an 8-bit zero point `z`; each weight is a 4-bit code `q` in 0..15:
#
# * symmetric: `w ≈ (q − 8)·s` with `s = max|w| / 7` over the group;
# * asymmetric (with zero points): `w ≈ (q − z)·s`, the group's range mapped onto 0..15.
#
# The codec is `labkernels.formats` (`quantize_int`, `pack_int4`, `dequantize_int`), bit-exact
# NumPy that every kernel's check compares against.

# %%
rng = np.random.default_rng(0)
w = rng.standard_normal((2, 64)).astype(np.float32) / 8  # 2 rows, 64 weights: 2 groups of 32 per row
qt = formats.quantize_int(w, bits=4, group_size=32, symmetric=True)
print("codes q[0, :16] =", qt.q[0, :16], " (8 stands for 0)")
print("scales [N, K/g] =", qt.scales.tolist())
err = np.abs(formats.dequantize_int(qt) - w)
print(f"max |w - (q - 8)·s| = {err.max():.4f}  ≤  largest s / 2 = {float(qt.scales.max()) / 2:.4f}")
qz = formats.quantize_int(w, bits=4, group_size=32, symmetric=False)
err_z = np.abs(formats.dequantize_int(qz) - w)
print(f"with zero points: z = {qz.zeros.tolist()}, max error {err_z.max():.4f}")

# %% [markdown]
# **Packing.** Two codes share a byte: in row `n`, byte `j` holds weight `k = 2j` in its
# *low* nibble and `k = 2j + 1` in its *high* nibble. Read as a little-endian 32-bit word,
# word `i` holds weights `8i … 8i+7`, weight `8i + t` in bits `4t … 4t+3`: the order the
# kernels' shift-and-mask conversions walk. The table is row 0 of the example above.

# %%
packed = formats.pack_int4(qt.q)
table = ["| byte `j` | low nibble = `q[0, 2j]` | high nibble = `q[0, 2j+1]` | byte |", "|---|---|---|---|"]
for j in range(4):
    table.append(f"| {j} | {qt.q[0, 2 * j]} | {qt.q[0, 2 * j + 1]} | `0x{packed[0, j]:02X}` |")
display(Markdown("\n".join(table)))
word = int(packed[0, :4].view("<u4")[0])
print(f"word 0 of row 0 = 0x{word:08X}:", " ".join(f"k{t}={(word >> (4 * t)) & 0xF}" for t in range(8)))
assert np.array_equal(formats.unpack_int4(packed), qt.q)  # the layout round-trips

# %% [markdown]
# **Bits per weight.** The scales (and zero points) are part of the weight bytes every kernel
# must read; the smaller the group, the more they cost.

# %%
f4, f8, f16 = rl.get_format("w4a16"), rl.get_format("w8a16"), rl.get_format("fp16")
rows = ["| format | group | zero points | bits per weight | bytes vs fp16 |", "|---|---|---|---|---|"]
for g in (32, 64, 128):
    for z in (False, True):
        b = f4.weight_bits(g, z)
        rows.append(f"| W4A16 | {g} | {'yes' if z else 'no'} | {b:.3f} | {b / f16.w_bits:.3f} |")
rows.append(f"| W8A16 | per-channel | no | {f8.w_bits:.3f} | {f8.w_bits / f16.w_bits:.3f} |")
rows.append(f"| fp16 | — | — | {f16.w_bits:.3f} | 1 |")
display(Markdown("\n".join(rows)))

# %% [markdown]
# ## The kernels, in teaching order
#
# Every variant computes the same `Y = X·deq(W)ᵀ` from the same inputs and is registered in
# `labkernels.registry`; each is shown below with its source (each `.cu` starts with a header:
# what it computes, the layout of every argument, its bound, what changed from the previous
# variant) and the PTX lines the lesson points at, compiled here with NVRTC — no GPU needed.
# Their measurements come together in the benchmark section.

# %%
def show_kernel(vid: str, patterns, max_lines: int = 3):
    """A variant's registry line, its CUDA C, and the PTX lines containing ``patterns``."""
    v = registry.get(vid)
    print(f"{v.id}: {v.description}")
    display(build.show_source(v.source))
    print(f"PTX for {PTX_ARCH}, #defines {v.defines}:")
    print(build.show_ptx(v.source, patterns, arch=PTX_ARCH, defines=v.defines, max_lines=max_lines))


# %% [markdown]
# ### v00 — the library peer
#
# `torch._weight_int4pack_mm` (tinygemm) is what a PyTorch user gets for int4 weights without
# writing a kernel. It has no source here: it is measured beside every lab kernel, in the same
# run, so that "fast" always means "fast compared with something real".

# %%
v00 = registry.get("dequant/v00_torch_int4")
ok, why = v00.runnable()
print(f"{v00.id}: {v00.description}; {'runs here' if ok else 'not here: ' + why}")

# %% [markdown]
# ### v01 — Numba, one thread per output: the specification in code
#
# One thread per output `(m, n)` walks a whole row of `W` byte by byte: neighbouring threads
# read addresses a row apart (nothing coalesces), and every weight goes through an integer
# shift, a mask and an int→float convert. It is slow by design. It is the reference every later
# kernel must agree with, and it runs in the Numba CUDA simulator on a machine without a GPU.
# Its PTX (built by Numba for the real target in a separate process) shows the byte loads and the
# convert instructions.

# %%
v01 = registry.get("dequant/v01_gemv_numba")
display(Code(filename=str(build.source_path(v01.source)), language="python"))
ptx01 = numba_compat.compile_ptx("labkernels.kernels.dequant.v01_gemv_numba", v01.numba_func, v01.numba_sig,
                                 cc=(9, 0))
print(build.ptx_summary(ptx01, ["ld.global.u8", "cvt.rn.f32.u16", "cvt.rn.f16.f32"], max_lines=2))

# %% [markdown]
# ### v02 — one warp per row: coalesced loads, shuffle reduction
#
# The 32 lanes of a warp read 32 consecutive 32-bit words of one row of `W` (128 contiguous bytes
# per load: coalesced), every row of `X` is applied to each word (so `W` is read once for all `M`),
# and the lanes' partial sums meet through warp shuffles (`shfl.sync.bfly`). Each 4-bit code still
# becomes a float through shift, mask, an integer→float convert (`cvt.rn.f32.u32` in the PTX),
# a subtraction of the zero point and a multiplication by the scale: several instructions per weight.

# %%
show_kernel("dequant/v02_gemv_warp", ["cvt.rn.f32.u32", "shfl.sync.bfly"])

# %% [markdown]
# ### v03 — 16-byte loads, several in flight
#
# At `M = 1` a warp that loads 4 bytes per lane and immediately uses them keeps too few bytes in
# flight to cover DRAM latency (Little's law: bytes in flight = bandwidth × latency). v03 loads
# 16 bytes per lane (`ld.global.nc.v4`: a vector load through the read-only path, which
# `const __restrict__` permits) and issues `UNROLL` of them before using any. The conversion is
# unchanged. Whether that paid off is a question for the benchmark section: on the committed H100
# run it did *not* — a reminder that a plausible step must be measured, not assumed. Both v02 and
# v03 stay far below the memory bound there, which says their limit is in the instruction stream,
# not in the loads; `benchmarks/diagnose.py` runs one variant under a profiler (`ncu`) to find out
# exactly where.

# %%
show_kernel("dequant/v03_gemv_vector", ["ld.global.nc.v4"])

# %% [markdown]
# ### v04 — int4→fp16 without converts: `lop3` and a magic number
#
# The trick (used by FasterTransformer and Marlin): in fp16, the number 1024 has the bit pattern
# `0x6400`, and between 1024 and 2048 the spacing of fp16 numbers is exactly 1. OR-ing a 4-bit
# code `q` into the low mantissa bits of `0x6400` therefore gives the fp16 number `1024 + q`,
# exactly. One `lop3.b32` — any three-input bitwise function in one instruction, here
# `(w & 0x000F000F) | 0x64006400` — does this for two codes at once (one per half of the word),
# and one `sub.f16x2` of `1024 + z` leaves `q − z` as small exact integers: the zero point is
# folded into the subtraction that was needed anyway. Shifting the word by 4, 8 and 12 brings the
# other codes under the same mask, so eight weights take four `lop3`, three shifts and four
# `sub.f16x2`. Products with `X` are summed in half2 (`fma.rn.f16x2`: small integers times fp16
# values) over several words, then converted and scaled once in fp32 — the scale is applied per
# group of products, not per weight. Each warp also owns several rows of `W` (`RPW`), so every load
# of `X` feeds all of them. The cell after the source checks the magic on every code.

# %%
show_kernel("dequant/v04_gemv_lop3", ["lop3.b32", "sub.f16x2", "fma.rn.f16x2", "ld.global.nc.v4"])

# %%
magic = int(np.array(1024.0, dtype=np.float16).view(np.uint16))
codes = np.arange(16, dtype=np.uint16)
as_fp16 = (codes | np.uint16(magic)).view(np.float16)
print(f"fp16 1024 = 0x{magic:04X}; (q | 0x{magic:04X}) as fp16 - 1024 =",
      (as_fp16.astype(np.float32) - 1024).astype(int).tolist())
assert np.array_equal(as_fp16.astype(np.float32) - 1024, codes)

# %% [markdown]
# ### v05 — to the Tensor Cores through WMMA
#
# v04 does every multiply-add on the CUDA cores, so its time grows with `M`. The Tensor Cores do
# a 16×16×16 tile per warp instruction (`wmma.mma.sync`). But WMMA's fragment layout is opaque:
# the CUDA guide leaves unspecified which lane holds which element, so dequantized weights cannot
# be written straight into a fragment. v05 takes a detour — dequantize (with the v04 `lop3` trick)
# into a shared-memory fp16 tile, then `wmma.load.b` reads it back — and pays for that traffic.

# %%
show_kernel("dequant/v05_gemm_wmma", ["wmma.mma.sync", "wmma.load.b.sync", "lop3.b32"])

# %% [markdown]
# ### v06 — `mma.sync` with weights re-laid out offline (skinny `M`)
#
# `mma.sync.m16n8k16`'s fragment layout *is* documented (PTX ISA): lane `t` holds the B-fragment
# elements of row `n = t / 4` at `k = 2c, 2c+1, 2c+8, 2c+9` with `c = t mod 4`. In the natural
# packing those are scattered; `prepack_w4` re-lays the weights out once, offline — as a model
# loader would — so that each lane reads 16 contiguous bytes per 128 weights of `K` (512 bytes per
# warp: coalesced) and the `lop3` conversion produces the fragment registers directly, with no
# shared-memory detour. `X` is staged in shared memory with `cp.async` and read with `ldmatrix`,
# which delivers an A fragment in one instruction; K is split across blocks when `N` alone gives
# too few warps. Sixteen rows of `M` cost the same as one. The cell after the source shows which
# (row, k) of a tile the first nibbles of two lanes carry.

# %%
show_kernel("dequant/v06_mma_skinny", ["mma.sync.aligned.m16n8k16", "ldmatrix.sync.aligned.m8n8.x4", "lop3.b32"])

# %%
from labkernels.kernels import dequant  # noqa: E402  (the launchers and the fragment-order tables)

for lane in (0, 5):
    print(f"lane {lane:2d}, word 0, nibbles 0..7 hold (row, k):",
          [(int(dequant.FRAG_ROW[lane, 0, i]), int(dequant.FRAG_K[lane, 0, i])) for i in range(8)])
q_small = np.random.default_rng(1).integers(0, 16, size=(16, 256), dtype=np.uint8)
pre = dequant.prepack_w4(formats.pack_int4(q_small))
print(f"natural packing {formats.pack_int4(q_small).shape} uint8 → fragment order {pre.shape} uint32 "
      f"[N/8, K/128, lanes, words]")

# %% [markdown]
# ### v07 — `mma.sync` GEMM: 128×128 tiles and a `cp.async` pipeline (large `M`)
#
# v06 re-reads (and re-dequantizes) every weight for each 16 rows of `M`. v07 keeps a 128×128
# output tile per block: each weight it dequantizes feeds 64 rows of MMA per warp, and each element
# of `X` is reused by 128 columns. Tiles of `X` and of the packed weights stream into shared memory
# with `cp.async` (global → shared without passing through registers), three stages deep, so the
# copies of tile `k+2` overlap the MMAs of tile `k`; `cp.async.wait_group` is the point where a
# stage must have landed.

# %%
show_kernel("dequant/v07_gemm_mma", ["cp.async.cg.shared.global", "cp.async.wait_group",
                                     "ldmatrix.sync.aligned.m8n8.x4", "mma.sync.aligned.m16n8k16"])

# %% [markdown]
# ### v08 — W8A16: the 8-bit point
#
# The same conversion idea for bytes: XOR `0x80` turns a signed byte into an unsigned one, a byte
# permute (`prmt.b32`) places two of them under `0x64` high bytes, and one `sub.f16x2` leaves the
# integers. With one scale per output channel the scale is applied once, to the row's total. It
# reads twice the weight bytes of int4: the point between W4A16 and fp16 on the roofline.

# %%
show_kernel("dequant/v08_w8a16_gemv", ["prmt.b32", "sub.f16x2", "ld.global.nc.v4"])

# %% [markdown]
# ### v09 — dequantize once, then Hopper's fp16 GEMM (large `M`, sm_90a)
#
# v07 dequantizes every weight again for each 128 rows of `M`, beside its `mma.sync`s, and on
# Hopper `mma.sync` itself is capped well below the Tensor Cores' rate. At large `M` each weight
# feeds thousands of multiply-adds, so v09 turns the trade around: one memory-bound kernel
# (`w4a16_widen`, the same `lop3` conversion as v04) writes the dequantized weights once per call
# into an fp16 scratch matrix, and the lab's fp16 GEMM for Hopper (`fp16/v05_wgmma_tma`: tiles
# copied by the tensor memory accelerator, `wgmma` from shared memory, a producer warpgroup and
# two consumers synchronized by mbarriers) does the rest. The widening costs N·K·2.5 bytes of
# traffic, a few percent at `M` = 4096 and most of the time at small `M` — which is why v04 and v06
# stay the kernels for decode. The price is memory: a full fp16 copy of the weights.

# %%
v09 = registry.get("dequant/v09_gemm_wgmma")
print(f"{v09.id}: {v09.description}")
display(build.show_source(v09.source))
print(f"PTX for sm_90a (the arch-specific target wgmma needs), #defines {v09.defines}:")
print(build.ptx_summary(build.compile_file(v09.source, "sm_90a", v09.defines).ptx,
                        ["lop3.b32", "cp.async.bulk.tensor.2d", "mbarrier.try_wait.parity",
                         "wgmma.mma_async.sync.aligned.m64n256k16.f32.f16.f16"], max_lines=2))

# %% [markdown]
# ### v10 — v06's fragments as a GEMV: no split `K`, scales on fp32 sums (`M` ≤ 16)
#
# v06 gives each warp one 8-row tile of `W`, and so needs to split `K` across blocks to have enough
# warps — and a second kernel to add the partial sums, which at ~40 µs a call costs a launch's
# ~4 µs. v10 keeps the same fragment-ordered weights and `mma.sync` but lets each warp own `TPW`
# tiles over all of `K`, so each `X` fragment from `ldmatrix` feeds `TPW` tiles' MMAs and one kernel
# does everything. The group scales leave the inner loop: each group's products of `X` and the
# exact integers `(q − z)` are summed in fp32, then scaled once per output (one FFMA per output and
# group instead of one `HMUL2` per two weights). Measured on the H100 (NVIDIA H100 80GB HBM3,
# `benchmarks/results/h100-sxm-2026-11-27/dequant/tune_w4a16_v10.log`): at `M` = 16, N = 28672,
# K = 8192 it took 83 µs, 1.98× cuBLAS fp16 (v06: 114 µs, 1.43×); at N = K = 8192 its 1024 tiles
# gave too few warps and it was no faster than cuBLAS (50 µs), where v06's split won (40 µs).
#
# Then a profiler (Nsight Compute) showed that the MMAs were only 5% of v10's instructions: the rest
# was the dequant and, nearly half, bookkeeping — a test in every 32-`k` step of whether a scale group
# starts or ends, and register copies moving the next chunk's weights into place. When the group size
# divides the chunk, the launcher now passes it as a `#define` (`GS`), so group boundaries are known at
# compile time, and the loop takes two chunks a turn so the two weight buffers simply trade roles.
# Same card, `dequant/tune_w4a16_v10-static-groups.log`: 72.5 µs = 2.27× cuBLAS fp16 at N = 28672
# and 33.9 µs = 1.48× at N = K = 8192, now faster than v06 there too.

# %%
show_kernel("dequant/v10_mma_gemv", ["mma.sync.aligned.m16n8k16", "ldmatrix.sync.aligned.m8n8.x4", "lop3.b32",
                                     "ld.global.nc.L1::no_allocate.L2::256B.v4"])

# %% [markdown]
# ## Check before timing
#
# Every check draws fresh random inputs (the seed is printed, so a failure can be reproduced),
# fills the output with NaN before the launch (an element the kernel never wrote fails), and
# compares against a float64 product of the *dequantized* weights with a tolerance that an fp16
# result with fp32 accumulation earns. Without a GPU, the Numba v01 runs in the CUDA simulator at
# small shapes; the CUDA C variants were compiled above, but their numerics need a GPU and are
# reported as such — never as passed.

# %%
M_chk, N_chk, K_chk = (2, 16, 256) if SMALL else (3, 40, 512)
results = []
for g in (32, 128):
    for z in (False, True):
        r = check.check_variant("dequant/v01_gemv_numba", M_chk, N_chk, K_chk, group_size=g, zeros=z)
        print(f"group {g:3d}, zero points {'yes' if z else 'no '}: {r}")
        results.append(r)
assert all(results), "v01 failed a check (see above)"

# %%
def gpu_check_shapes(v):
    """(M, N, K, params) a variant is checked at on a GPU: tails in M, N and K, several groups."""
    if v.fmt == "w8a16":
        return [(1, 129, 1040, {}), (16, 1000, 4096, {})][: 1 if SMALL else 2]
    if v.reference:  # torch's int4 packer wants K a multiple of 128 and N of 8
        return [(1, 1024, 4096, {"group_size": 128}), (100, 1024, 4096, {"group_size": 128})][: 1 if SMALL else 2]
    out = []
    for g, z in [(128, True)] if SMALL else [(32, False), (64, True), (128, False), (128, True)]:
        awk = 33 * g  # 33 groups: a multiple of g, not of the kernels' 128- or 1024-wide K steps
        shapes = [(1, 257, awk), (16, 1000, 4096)] if v.op == "gemv" else [(17, 1000, 256), (130, 264, awk)]
        out += [(M, N, K, {"group_size": g, "zeros": z}) for M, N, K in shapes]
    return out


failed = []
for v in registry.variants(family="dequant"):
    ok, why = v.runnable()
    if gpu is None or not ok:
        if v.impl != "numba":
            print(f"{v.id:28s} not run here: {why}")
        continue
    for M, N, K, params in gpu_check_shapes(v):
        r = check.check_variant(v, M, N, K, **params)
        print(r)
        if not r:
            failed.append(r)
assert not failed, f"{len(failed)} check(s) failed (see above)"

# %% [markdown]
# The checker must also catch a wrong kernel. Here is a host "kernel" with a classic bug: it
# dequantizes with the symmetric zero point even when zero points are given.

# %%
def forgets_zero_points(x, qweight, scales, zeros=None, out=None):
    q = formats.unpack_int4(qweight).astype(np.float32)
    s = np.repeat(scales.astype(np.float32), x.shape[1] // scales.shape[1], axis=1)
    out[...] = (x.astype(np.float32) @ ((q - 8) * s).T).astype(np.float16)  # bug: ignores `zeros`
    return out


bad = check.run_check(forgets_zero_points, "w4a16", 2, 16, 256, name="forgets_zero_points", impl="numpy",
                      seed=1, group_size=32, zeros=True)
print(bad)
assert not bad.passed

# %% [markdown]
# ## Benchmark
#
# On a GPU this section measures: every W4A16 variant, cuBLAS fp16 and torch's int4 kernel (where
# torch is installed) in one run, each checked first, timed with CUDA events from DRAM (input sets
# rotated or the L2 flushed), the median of many calls. Without a GPU it loads the committed
# results instead — and says so: they are measurements of another machine, not of this one.

# %%
if gpu is not None:
    N_b = K_b = 2048 if SMALL else 8192
    MS = [1, 16, 256] if SMALL else [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096]
    iters = 5 if SMALL else 20
    recs, fails = runner.sweep(["fp16/v00_cublas"], "fp16", N_b, K_b, MS, CEIL, iters=iters)
    r4, f4_ = runner.sweep(registry.variants(fmt="w4a16"), "w4a16", N_b, K_b, MS, CEIL, iters=iters,
                           group_size=GROUP)
    r8, f8_ = runner.sweep(["dequant/v08_w8a16_gemv"], "w8a16", N_b, K_b, [m for m in MS if m <= 16], CEIL,
                           iters=iters)
    RECORDS = [dataclasses.asdict(r) for r in recs + r4 + r8]
    FAILURES = fails + f4_ + f8_
    SHAPES = [(N_b, K_b)]
    SMS = gpu.sms
    SOURCE = f"measured just now on this {gpu.name}"
    WHEN = "measured in this run"
else:
    RECORDS, FAILURES = committed["records"], committed["failures"]
    SHAPES = [tuple(s) for s in committed["shapes"]]
    MS = committed["ms"]
    SMS = committed["env"]["sms"]
    env = committed["env"]
    SOURCE = (f"committed measurements of an {env['gpu']} dated {env['date']} "
              f"(driver {env['driver']}, CuPy {env.get('cupy-cuda13x') or env.get('cupy-cuda12x')}) — "
              f"NOT a run on this machine")
    WHEN = f"committed run of {env['date']}"
GPU_NAME = RECORDS[0]["gpu"] if RECORDS else CEIL.gpu
print(f"{len(RECORDS)} records, {len(FAILURES)} failures: {SOURCE}")
for f in FAILURES:
    print(f"  not measured: {f['kernel']} M={f['M']}: {f['reason']}")


def rec(kernel, M, N, K):
    """The record of ``kernel`` at (M, N, K), or None."""
    return next((r for r in RECORDS if r["kernel"] == kernel and (r["M"], r["N"], r["K"]) == (M, N, K)), None)

# %% [markdown]
# **The ladder at `M = 1`** (decode, one sequence): each rung's time, its achieved bandwidth on the
# minimum bytes as a share of the measured copy bandwidth, and what the step from the previous rung
# bought.

# %%
LADDER = [v.id for v in registry.variants(family="dequant")]
LAB = [v.id for v in registry.variants(family="dequant", fmt="w4a16") if not v.reference]  # the lab's W4A16 kernels
for N, K in SHAPES:
    cub = rec("fp16/v00_cublas", 1, N, K)
    print(f"N={N} K={K}, M=1 ({WHEN})")
    print(f"  {'kernel':28s} {'time':>9s} {'GB/s':>6s} {'% copy BW':>9s} {'vs cuBLAS fp16':>15s} {'vs previous':>12s}")
    if cub:
        print(f"  {cub['kernel']:28s} {cub['time_us']:7.1f}µs {cub['gbps']:6.0f} "
              f"{100 * cub['gbps'] * 1e9 / CEIL.bw:8.1f}% {1:14.2f}x")
    prev = None
    for vid in LADDER:
        r = rec(vid, 1, N, K)
        if r is None:
            print(f"  {vid:28s} (not measured at M=1 on this shape)")
            continue
        vs_cub = f"{cub['time_us'] / r['time_us']:14.2f}x" if cub else ""
        vs_prev = f"{prev['time_us'] / r['time_us']:11.2f}x" if prev and vid in LAB else ""
        print(f"  {vid:28s} {r['time_us']:7.1f}µs {r['gbps']:6.0f} {100 * r['gbps'] * 1e9 / CEIL.bw:8.1f}% "
              f"{vs_cub} {vs_prev}")
        if vid in LAB:
            prev = r

# %%
def ratio(a, b, M, N, K):
    ra, rb = rec(a, M, N, K), rec(b, M, N, K)
    return None if ra is None or rb is None else rb["time_us"] / ra["time_us"]


N, K = SHAPES[0]
for a, b, what in [("dequant/v03_gemv_vector", "dequant/v02_gemv_warp", "16-byte loads in flight (v03 over v02)"),
                   ("dequant/v04_gemv_lop3", "dequant/v03_gemv_vector", "lop3 conversion (v04 over v03)"),
                   ("dequant/v04_gemv_lop3", "dequant/v02_gemv_warp", "v04 over v02"),
                   ("dequant/v04_gemv_lop3", "dequant/v00_torch_int4", "v04 over torch's int4 kernel")]:
    x = ratio(a, b, 1, N, K)
    if x is not None:
        print(f"M=1, N={N}: {what}: {x:.2f}x — {'faster' if x > 1 else 'SLOWER'}")
TARGET_M1 = 0.85  # issue 3's goal for the GEMV at M=1: this share of the copy bandwidth
for N, K in SHAPES:
    r = rec("dequant/v04_gemv_lop3", 1, N, K)
    if r:
        share = r["gbps"] * 1e9 / CEIL.bw
        print(f"v04 at M=1, N={N} K={K}: {100 * share:.0f}% of the copy bandwidth "
              f"(goal {100 * TARGET_M1:.0f}%: {'met' if share >= TARGET_M1 else 'not met'}); "
              f"{r['pct_of_bound']:.0f}% of its bound")

# %% [markdown]
# **Every `M`: the fastest lab W4A16 kernel** against cuBLAS fp16 and torch's int4 kernel, measured
# in the same run. The GEMV rungs stop at `M = 16`; `mma.sync` kernels take over above.

# %%
def best_lab(N, K):
    """The fastest lab W4A16 record per M at shape (N, K)."""
    curves = xo.measured_curves([r for r in RECORDS if (r["N"], r["K"]) == (N, K)], ["w4a16"])
    return next((c.points for c in curves if c.name == "w4a16 lab (fastest)"), {})


for N, K in SHAPES:
    print(f"N={N} K={K}")
    for M, r in sorted(best_lab(N, K).items()):
        cub, tor = rec("fp16/v00_cublas", M, N, K), rec("dequant/v00_torch_int4", M, N, K)
        print(f"  M={M:<5d} {r['kernel']:26s} {r['time_us']:8.1f} µs  "
              f"{r['pct_of_bound']:5.1f}% of bound ({r['bound_kind']:6s})"
              + (f"  {cub['time_us'] / r['time_us']:5.2f}x cuBLAS fp16" if cub else "")
              + (f"  {tor['time_us'] / r['time_us']:5.2f}x torch int4" if tor else ""))

# %% [markdown]
# **Against the lab's own goals** (issue 3 of the project: the targets it set before the kernels
# were written), for the fastest lab W4A16 kernel at each `M`, measured in the same run:

# %%
GOALS = [  # (M, what, goal): speed-ups are (reference time) / (lab time)
    (1, "share of copy bandwidth", 0.85), (1, "x cuBLAS fp16", 4.5), (1, "x torch int4", 2.3),
    (16, "x cuBLAS fp16", 3.5), (4096, "x cuBLAS fp16", 0.7),
]
for N, K in SHAPES:
    lab = best_lab(N, K)
    for M, what, goal in GOALS:
        r = lab.get(M)
        ref = rec("fp16/v00_cublas" if "cuBLAS" in what else "dequant/v00_torch_int4", M, N, K)
        if r is None or (ref is None and what != "share of copy bandwidth"):
            continue
        got = r["gbps"] * 1e9 / CEIL.bw if what == "share of copy bandwidth" else ref["time_us"] / r["time_us"]
        print(f"N={N:<5d} M={M:<4d} {r['kernel']:24s} {what:24s} {got:5.2f}  goal ≥ {goal:4.2f}: "
              f"{'met' if got >= goal else 'NOT met'}")

# %% [markdown]
# ## Roofline
#
# The classic roofline puts each measured point at its arithmetic intensity (FLOPs per minimum
# byte). The roofs are the *measured* ceilings (copy bandwidth, `mma.sync` fp16 rate) and the
# dotted line is the W4A16 dequant ALU roof at the GEMM's 128-row tile reuse; all roofs are the
# model, the points are measurements. The sweep figure shows time against `M` with each format's
# three-ceiling bound as a line (dotted: the bound if dequantization never overlapped the MMAs).

# %%
KEY = ["fp16/v00_cublas", "dequant/v00_torch_int4", "dequant/v04_gemv_lop3", "dequant/v06_mma_skinny",
       "dequant/v10_mma_gemv", "dequant/v07_gemm_mma", "dequant/v08_w8a16_gemv"]
N, K = SHAPES[0]
pts = [r for r in RECORDS if (r["N"], r["K"]) == (N, K) and r["M"] in (1, 16, 256, 4096) and r["kernel"] in KEY]
fig = plot.roofline_figure(CEIL, pts, precisions=["fp16"], show_alu=["w4a16"],
                           title=f"{GPU_NAME}, N={N} K={K}: points MEASURED ({WHEN});\n"
                                 f"roofs MODELED from the measured ceilings")
plt.show()
for N, K in SHAPES:
    rs = [r for r in RECORDS if (r["N"], r["K"]) == (N, K) and r["kernel"] in KEY]
    fig = plot.sweep_figure(CEIL, N, K, ["fp16", "w4a16", "w8a16"], rs, ms=MS, library_fmts=["fp16"],
                            title=f"{GPU_NAME}, N={N} K={K}: markers MEASURED ({WHEN}); "
                                  f"lines MODELED (three-ceiling bounds)")
    plt.show()

# %% [markdown]
# Where the kernels stand against their bounds, and the ceilings against the datasheet:

# %%
for N, K in SHAPES:
    for vid, M in [("dequant/v04_gemv_lop3", 1), ("dequant/v06_mma_skinny", 16), ("dequant/v07_gemm_mma", max(MS))]:
        r, cub = rec(vid, M, N, K), rec("fp16/v00_cublas", M, N, K)
        if r is None:
            continue
        line = (f"N={N} {vid.split('/')[1]:15s} M={M:<5d} {r['time_us']:8.1f} µs = {r['pct_of_bound']:5.1f}% of its "
                f"{r['bound_kind']} bound")
        if r["bound_kind"] != "memory":
            line += (f"; {r['tflops']:.0f} TFLOP/s = {100 * r['tflops'] * 1e12 / CEIL.mma['fp16']:.0f}% of the "
                     f"measured mma.sync fp16 rate")
        if cub:
            line += f"; {cub['time_us'] / r['time_us']:.2f}x cuBLAS fp16"
        print(line)
if CEIL.key:
    ds = rl.datasheet_ceilings(CEIL.key)
    print(f"measured / datasheet ({ds.gpu}): bandwidth {CEIL.bw / ds.bw:.2f}, "
          f"mma.sync fp16 {CEIL.mma['fp16'] / ds.mma['fp16']:.2f}, "
          f"cuBLAS fp16 {CEIL.library['fp16'] / ds.library['fp16']:.2f}")
    r = rec("dequant/v07_gemm_mma", max(MS), *SHAPES[0])
    if r:
        print(f"v07 at M={max(MS)}: {100 * r['tflops'] * 1e12 / ds.mma['fp16']:.0f}% of the datasheet "
              f"fp16 Tensor Core peak")

# %% [markdown]
# ## The crossover: from which `M` does plain fp16 win?
#
# Three answers, side by side:
#
# * **measured** — the first `M` from which the fastest lab W4A16 kernel is slower than cuBLAS fp16
#   for every larger `M` measured;
# * **three-ceiling model** — where the W4A16 bound (memory, `mma.sync` rate, dequant ALU work) meets
#   cuBLAS fp16's bound (`roofline.crossovers`), both for the GEMM's 128-row tiles and for the
#   skinny kernel's 16-row tiles, which re-dequantize every weight for each 16 rows of `M`;
# * **plain roofline** — the same without the ALU ceiling (`alu=False`).

# %%
def fmt_m(xs):
    return ", ".join(f"{x:.0f}" for x in xs) if xs else "none"


CROSS = {}
for N, K in SHAPES:
    lab = best_lab(N, K)
    cub = {r["M"]: r for r in RECORDS if r["kernel"] == "fp16/v00_cublas" and (r["N"], r["K"]) == (N, K)}
    m_meas = xo.first_m_ahead(cub, lab)  # from here cuBLAS fp16 is faster for good
    kw = dict(path_b="library", group_size=GROUP)
    model = rl.crossovers("w4a16", "fp16", N, K, CEIL, **kw)
    model16 = rl.crossovers("w4a16", "fp16", N, K, CEIL, tile_m=16, **kw)
    plain = rl.crossovers("w4a16", "fp16", N, K, CEIL, alu=False, **kw)
    same_rate = rl.crossovers("w4a16", "fp16", N, K, CEIL, group_size=GROUP)  # both at the mma.sync rate
    CROSS[(N, K)] = (m_meas, model, plain)
    print(f"N={N} K={K}:")
    print(f"  measured                                   M = {m_meas if m_meas else 'not within the measured M'}")
    print(f"  three-ceiling model, 128-row tiles (v07)   M = {fmt_m(model)}")
    print(f"  three-ceiling model, 16-row tiles (v06)    M = {fmt_m(model16)}")
    print(f"  plain roofline (no ALU ceiling)            M = {fmt_m(plain)}")
    print(f"  model with fp16 also at the mma.sync rate: M = {fmt_m(same_rate)}")
    if m_meas:
        r = lab[m_meas]
        print(f"  at the measured crossover the best lab kernel is {r['kernel']}, "
              f"at {r['pct_of_bound']:.0f}% of its bound")

# %% [markdown]
# The last line is a control: with both formats at the same MMA rate, any crossover left would come
# from the dequant ALU ceiling alone.
#
# The figure puts the three side by side: the measured speed-up of the best lab kernel over cuBLAS
# fp16 (points) and the speed-up the two models allow (lines); below 1, fp16 wins.

# %%
N, K = SHAPES[0]
lab = best_lab(N, K)
cub = {r["M"]: r for r in RECORDS if r["kernel"] == "fp16/v00_cublas" and (r["N"], r["K"]) == (N, K)}
ms_meas = sorted(set(lab) & set(cub))
grid = rl.m_grid(max(MS))
fig, ax = plt.subplots(figsize=(8, 4.5))
for kw, ls, label in [({}, "-", "three-ceiling model, 128-row tiles (MODELED)"),
                      ({"tile_m": 16}, ":", "three-ceiling model, 16-row tiles (MODELED)"),
                      ({"alu": False}, "--", "plain roofline (MODELED)")]:
    sp = [rl.bound("fp16", m, N, K, CEIL, path="library").time_us
          / rl.bound("w4a16", m, N, K, CEIL, group_size=GROUP, **kw).time_us for m in grid]
    ax.plot(grid, sp, ls=ls, color="#1f77b4", label=label)
ax.plot(ms_meas, [cub[m]["time_us"] / lab[m]["time_us"] for m in ms_meas], "o-", color="#d62728", ms=4,
        label=f"best lab W4A16 / cuBLAS fp16 (MEASURED, {WHEN})")
ax.axhline(1.0, color="black", lw=0.8)
m_meas, model, _ = CROSS[(N, K)]
if m_meas:
    ax.axvline(m_meas, color="#d62728", lw=0.8, ls=":")
for x in model:
    ax.axvline(x, color="#1f77b4", lw=0.8, ls=":")
ax.set_xscale("log", base=2)
ax.set_yscale("log", base=2)
ax.set_xlabel("M (tokens in the batch)")
ax.set_ylabel("speed-up of W4A16 over cuBLAS fp16")
ax.set_title(f"{GPU_NAME}, N={N} K={K}: measured (points) vs modeled (lines)", fontsize=10)
ax.grid(True, which="both", alpha=0.25)
ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
plt.show()

# %% [markdown]
# Why the measured crossover can sit far below the models': the models assume each kernel reaches
# its bound. The cell below prints where the lab's kernels actually stand between the GEMV regime
# and the GEMM regime. The skinny `mma.sync` kernel streams the weights again for every 16 rows of
# `M`, so its time grows in steps of 16 rows. The 128×128-tile GEMM launches one block per output
# tile, one block per SM at a time: at moderate `M` there are few tiles — on a narrow layer fewer
# than SMs, elsewhere a partly empty last wave — so much of the GPU idles while the weights stream
# through the rest, and its time hardly changes with `M` until the tiles fill the GPU.

# %%
for N, K in SHAPES:
    for M in [m for m in MS if 16 <= m <= 512]:
        r6, r7 = rec("dequant/v06_mma_skinny", M, N, K), rec("dequant/v07_gemm_mma", M, N, K)
        cub = rec("fp16/v00_cublas", M, N, K)
        blocks = math.ceil(N / 128) * math.ceil(M / 128)
        parts = [f"N={N} M={M:<4d}"]
        if r6:
            parts.append(f"v06 {r6['time_us']:7.1f} µs ({r6['pct_of_bound']:4.1f}% of bound)")
        if r7:
            parts.append(f"v07 {r7['time_us']:7.1f} µs ({r7['pct_of_bound']:4.1f}% of bound, {blocks} blocks = "
                         f"{blocks / SMS:.2f} waves on {SMS} SMs)")
        if cub:
            parts.append(f"cuBLAS fp16 {cub['time_us']:6.1f} µs")
        print("  ".join(parts))

# %% [markdown]
# ## What next
#
# * **Close the gap between the GEMV and the GEMM regimes.** On the committed H100 run this gap,
#   not the dequant ALU work, sets the measured crossover: a tile of 32 or 64 rows for the skinny kernel, and
#   split-K (or stream-K) for the GEMM so that moderate `M` fills every SM, would move the measured
#   crossover toward the model's.
# * **The GEMV at `M > 1`.** v04 spends CUDA-core instructions per (row of `X`, weight) pair, so its
#   time grows with `M` while its bound hardly moves; the tensor-core skinny kernel is the way out,
#   and it is still well below the memory bound.
# * **Large `M`.** The `mma.sync` GEMM stays far below cuBLAS: on Hopper, cuBLAS uses `wgmma` and
#   TMA, which `mma.sync` cannot reach; the measured `mma.sync` ceiling printed above is the honest
#   target for a kernel of this kind.
# * **The other side of the question.** When the layer is compute-bound, the next lesson's A8W8
#   runs its MMAs in int8, at a higher Tensor Core rate than fp16, instead of paying for a
#   dequant (the int8 family, next).
#
# Try it: change `GROUP`, or add zero points to the sweep (`zeros=True`), and watch the W4A16 bound
# and the crossover move; on a GPU, `runner.sweep` re-measures in a minute or two.
