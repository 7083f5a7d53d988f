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

gpu = notebook.report_device(IN_COLAB, family="blockscaled",
                             without_gpu="Numba kernels run in the CUDA simulator, CUDA C is compiled to PTX only, and measurements come from the committed results")

# %% [markdown]
# # Lesson 3 — FP8, FP4 and block scaling: MXFP8, MXFP4, NVFP4
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/labkernels/labkernels/blob/v0.1.0/notebooks/03_fp8_fp4_block_scaled.ipynb)
#
# ## Motivation
#
# Lessons 1 and 2 stored integers with one scale per group of 128 weights or per row. An 8- or
# 4-bit *float* carries a small exponent of its own, so it follows the data over a few binades
# without help; what it cannot cover is the spread between one part of a tensor and another. Block
# scaling gives every short run of `k` — 32 values in the OCP MX formats, 16 in NVIDIA's NVFP4 —
# its own scale, cheap enough (one byte per block) that 4-bit elements become usable for weights
# *and* activations.
#
# On Blackwell the Tensor Core reads those scales itself: the block-scaled `mma` multiplies each
# block's partial product by its two scales inside the instruction. Every earlier GPU has to do it
# on the CUDA cores — decode before the MMA, or scale each block's partial sum after it — and that
# emulation costs instructions the roofline model counts. This lesson draws the formats and their
# scale rules, measures their quantization error on data shaped like a layer's weights and
# activations, builds the kernels (a Numba reference, GEMVs for decode, and the native sm_120a
# instruction, compiled and modeled lane by lane), puts emulated and native on the model,
# and reads the H100 measurements committed with the lab.
#
# Numbers in the text come from the cells; the prose only says which way things go.

# %%
import dataclasses
import functools

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Code, Markdown, display
from matplotlib.patches import Rectangle

from labkernels import build, check, formats, numba_compat, plot, runner
from labkernels import roofline as rl
from labkernels.formats.fp4 import E2M1
from labkernels.formats.fp8 import E4M3, E5M2
from labkernels.kernels import blockscaled

SMALL = notebook.small()  # LABKERNELS_SMALL=1 (CI): small shapes and a short GPU sweep
COMMITTED = "h100-sxm-2026-11-27/blockscaled/blockscaled.json"  # under benchmarks/results
PTX_ARCH = "sm_90"  # PTX of the emulated kernels is shown for Hopper, the GPU of the committed measurements
NATIVE_ARCH = "sm_120a"  # the block-scaled mma.sync exists only here (RTX 50, RTX PRO 6000 Blackwell)

committed, CEIL, CEIL_WHERE = notebook.lesson_data(COMMITTED, gpu)
print(f"ceilings {CEIL_WHERE}:")
print(f"  memory (1 GiB copy)      {CEIL.bw / 1e12:7.2f} TB/s")
print(f"  fp16 mma.sync            {CEIL.mma['fp16'] / 1e12:7.0f} TFLOP/s")
if CEIL.mma.get("fp8"):
    print(f"  fp8 mma.sync             {CEIL.mma['fp8'] / 1e12:7.0f} TFLOP/s")
if CEIL.library.get("fp8"):
    print(f"  fp8 library (cuBLASLt)   {CEIL.library['fp8'] / 1e12:7.0f} TFLOP/s")
print(f"  fp4 MMA                  {CEIL.mma.get('fp4', 0) / 1e12:7.0f} TFLOP/s" +
      ("   (none: no FP4 Tensor Core path on this GPU)" if not CEIL.mma.get("fp4") else ""))
print(f"  FP32 FFMA                {CEIL.ffma / 1e12:7.1f} T instr/s")
print(f"sm_{CEIL.cc[0]}{CEIL.cc[1]}: {notebook.precisions(CEIL.cc)}")

# %% [markdown]
# ## The element formats
#
# Four small binary floats and one power of two, each a sign, an exponent field with a bias and a
# mantissa field; a value is `(−1)^s · 2^(e − bias) · 1.m`, or `2^(1 − bias) · 0.m` when the
# exponent field is 0 (subnormals). What differs is where each spends its bits and what it does
# with the top codes:
#
# * **e4m3** (`float8_e4m3fn`): no infinities; only `S.1111.111` is NaN, so the top binade keeps
#   seven finite codes. The format of weights and activations.
# * **e5m2**: IEEE-like, with ±Inf and NaNs; fp16's exponent range with one mantissa bit fewer
#   than e4m3. The format of gradients.
# * **e2m1** (FP4): eight magnitudes, no Inf, no NaN.
# * **E8M0**: the MX block scale, an unsigned exponent and nothing else: `2^(code − 127)`, 0xFF NaN.
# * **UE4M3**: NVFP4's block scale, an e4m3 whose sign bit must be 0 (the hardware ignores it).
#
# All the lab's encoders round to nearest even and **saturate**: a value beyond the largest finite
# one becomes ± that maximum, never Inf or NaN — what `cvt.rn.satfinite` does on the GPU. The table
# and figure are computed from `labkernels.formats`.

# %%
SPECS = [("e4m3", E4M3, formats.decode_e4m3, formats.encode_e4m3), ("e5m2", E5M2, formats.decode_e5m2, formats.encode_e5m2),
         ("e2m1", E2M1, formats.decode_e2m1, formats.encode_e2m1)]
rows = ["| format | bits s.e.m | bias | largest finite | smallest normal | smallest subnormal | Inf | NaN | "
        "10⁶ encodes to |", "|---|---|---|---|---|---|---|---|---|"]
for name, mf, dec, enc in SPECS:
    n_codes = 1 << mf.nbits
    vals = dec(np.arange(n_codes, dtype=np.uint8)).astype(np.float64)
    finite = vals[np.isfinite(vals)]
    rows.append(f"| {name} | 1.{mf.ebits}.{mf.mbits} | {mf.bias} | {finite.max():g} | {2.0 ** mf.emin:g} | "
                f"{2.0 ** (mf.emin - mf.mbits):g} | {'yes' if np.isinf(vals).any() else 'no'} | "
                f"{int(np.isnan(vals).sum())} codes | {float(dec(enc(np.float32(1e6)))):g} |")
e8 = formats.decode_e8m0(np.arange(256, dtype=np.uint8)).astype(np.float64)
rows.append(f"| E8M0 (scale) | 0.8.0 | 127 | 2^{int(np.log2(np.nanmax(e8)))} | 2^{int(np.log2(np.nanmin(e8)))} | — | no | "
            f"{int(np.isnan(e8).sum())} code (0xFF) | — |")
display(Markdown("\n".join(rows)))
E4M3_MAX, E5M2_MAX, E2M1_MAX = (float(formats.decode_e4m3(np.uint8(0x7E))), float(formats.decode_e5m2(np.uint8(0x7B))),
                                float(formats.decode_e2m1(np.uint8(0x7))))
print(f"largest finite: e4m3 {E4M3_MAX:g} (0x7E), e5m2 {E5M2_MAX:g} (0x7B), e2m1 {E2M1_MAX:g} (0x7)")
assert (E4M3_MAX, E5M2_MAX, E2M1_MAX) == (formats.E4M3_MAX, formats.E5M2_MAX, formats.E2M1_MAX)

# The sixteen e2m1 codes, every one of them.
codes = np.arange(16, dtype=np.uint8)
fp4 = formats.decode_e2m1(codes)
rows = ["| code | " + " | ".join(f"{c:X}" for c in codes[:8]) + " |", "|---" * 9 + "|",
        "| bits s.ee.m | " + " | ".join(f"{c >> 3}.{(c >> 1) & 3:02b}.{c & 1}" for c in codes[:8]) + " |",
        "| value | " + " | ".join(f"{v:g}" for v in fp4[:8]) + " |",
        "| code 8+c | " + " | ".join(f"{v:g}" for v in fp4[8:]) + " |"]
display(Markdown("\n".join(rows)))


def draw_layout(ax, y, name, fields, note):
    """One format as a row of bit boxes, most significant bit on the left, each box lettered by its field."""
    colors = {"s": "#f4a6a6", "e": "#a6c8f4", "m": "#b8e6b0", "0": "#dddddd"}
    x = 0
    for field, n in fields:
        for i in range(n):
            ax.add_patch(Rectangle((x + i, y), 1, 0.8, facecolor=colors[field], edgecolor="black", lw=0.8))
            ax.text(x + i + 0.5, y + 0.4, field, ha="center", va="center", fontsize=8)
        x += n
    ax.text(-0.4, y + 0.4, name, ha="right", va="center", fontsize=9, family="monospace")
    ax.text(x + 0.4, y + 0.4, note, ha="left", va="center", fontsize=8)


fig, ax = plt.subplots(figsize=(9, 3.2))
layouts = [(name, [("s", 1), ("e", mf.ebits), ("m", mf.mbits)],
            f"bias {mf.bias}, max {float(dec(np.uint8(mf.max_code))):g}") for name, mf, dec, _ in SPECS]
layouts += [("E8M0", [("e", 8)], "2^(code − 127), MX block scale per 32"),
            ("UE4M3", [("0", 1), ("e", 4), ("m", 3)], f"bias 7, max {E4M3_MAX:g}, NVFP4 block scale per 16")]
for i, (name, fields, note) in enumerate(layouts):
    draw_layout(ax, len(layouts) - 1 - i, name, fields, note)
ax.set_xlim(-3, 17)
ax.set_ylim(-0.2, len(layouts))
ax.axis("off")
ax.set_title("bit layouts: s sign, e exponent, m mantissa, 0 must be zero (from labkernels.formats)", fontsize=9)
plt.show()

# %% [markdown]
# ## Block formats: one scale per 32 or 16 values of `k`
#
# A block is a run of consecutive elements along `K` (the reduction dimension), so that one scale
# multiplies a partial sum of one MMA — the property the hardware relies on:
#
# * **MXFP8** (OCP MX v1.0): e4m3 elements, one E8M0 scale per 32.
# * **MXFP4**: e2m1 elements, one E8M0 scale per 32.
# * **NVFP4**: e2m1 elements, one UE4M3 scale per 16, and one fp32 scale per tensor. The block
#   scale has three mantissa bits, so it can fit the block's largest value closely instead of to
#   a power of two; the per-tensor scale brings the tensor into the range those e4m3 scales cover.
#
# The bits each element costs, scale included, are what the memory ceiling charges
# (`labkernels.roofline.FORMATS`).

# %%
rows = ["| format | element | block | scale | per tensor | bits / element (computed) | `roofline.FORMATS` |",
        "|---|---|---|---|---|---|---|"]
for fmt, bf in blockscaled.FORMATS.items():
    elem_bits = 8 // bf.per_byte
    bits = elem_bits + 8 / bf.block
    rows.append(f"| {fmt} | {'e4m3' if bf.per_byte == 1 else 'e2m1'} | {bf.block} | {bf.scale.upper()} | "
                f"{'fp32' if bf.has_global else '—'} | {elem_bits} + 8/{bf.block} = {bits:g} | "
                f"{rl.FORMATS[fmt].w_bits:g} |")
    assert bits == rl.FORMATS[fmt].w_bits
display(Markdown("\n".join(rows)))
print(f"for comparison: int4 group 128 with fp16 scales {rl.FORMATS['w4a16'].w_bits:g} bits, "
      f"fp16 {rl.FORMATS['fp16'].w_bits:g} bits (NVFP4's fp32 per-tensor scale adds 32 bits per tensor)")

# %% [markdown]
# ### Choosing the scale: FLOOR or RCEIL
#
# An E8M0 scale is a power of two `2^e`, and the block's largest magnitude `amax` has to land near
# the top of the element format. There are two rules (`formats.quantize_mx(x, fmt, scale_mode=…)`):
#
# * **FLOOR** (the OCP MX spec): `e = floor(log2 amax) − emax`, with `emax` the largest exponent of
#   the element format (8 for e4m3, 2 for e2m1). `amax / 2^e` then lies in `[2^emax, 2^(emax+1))`,
#   the format's top binade — which reaches *past* the largest finite value (e4m3 448, e2m1 6), so
#   a block whose `amax` has a large significand has its largest element **saturated**.
# * **RCEIL** (cuBLAS's MXFP8 recipe, torchao, PTX `cvt.rp.satfinite.ue8m0x2.f32` of `amax / max`):
#   the smallest `e` with `amax / 2^e ≤ max`. Nothing saturates; such a block moves up one binade
#   instead, and its small elements lose a bit.
#
# The cell takes one block whose `amax` is 1.9 (significand above e4m3's 1.75 and e2m1's 1.5) and
# quantizes it both ways; NVFP4's recipe (UE4M3 scale `amax / 6`, itself rounded) is beside them.

# %%
rng = np.random.default_rng(3)
block = rng.standard_normal(32).astype(np.float32)
block *= np.float32(1.9) / np.abs(block).max()
imax = int(np.argmax(np.abs(block)))


def rel_rms(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.sqrt(((a - b) ** 2).sum() / (a ** 2).sum()))


rows = ["| format, rule | scale | largest element / scale | largest element decoded | its error | rms error of the block |",
        "|---|---|---|---|---|---|"]
for fmt, fmax in (("mxfp8_e4m3", E4M3_MAX), ("mxfp4", E2M1_MAX)):
    for mode in formats.SCALE_MODES:
        q = formats.quantize_mx(block[None], fmt, scale_mode=mode)
        d = formats.dequantize_mx(q)[0]
        e = int(q.scales[0, 0]) - 127
        pre = float(abs(block[imax])) / 2.0 ** e
        rows.append(f"| {fmt} {mode.upper()} | 2^{e} | {pre:.1f}{' > ' + format(fmax, 'g') + ': saturated' if pre > fmax else ''} | "
                    f"{d[imax]:+.4f} | {abs(d[imax] - block[imax]) / abs(block[imax]):.1%} | {rel_rms(block, d):.2%} |")
qn = formats.quantize_nvfp4(block[None])
dn = formats.dequantize_nvfp4(qn)[0]
sb = formats.decode_e4m3(qn.scales[0]) * qn.global_scale
rows.append(f"| nvfp4 (16 per scale) | {' and '.join(f'{s:.4g}' for s in sb)} | "
            f"{abs(block[imax]) / sb[imax // 16]:.2f} | {dn[imax]:+.4f} | {abs(dn[imax] - block[imax]) / abs(block[imax]):.1%} | "
            f"{rel_rms(block, dn):.2%} |")
display(Markdown(f"one block of 32 values, amax = {abs(block[imax]):.4f} (element {imax}):\n\n" + "\n".join(rows)))

# %% [markdown]
# ## Quantization error on realistic data
#
# Random normal matrices flatter every format. Real layers have **outlier channels**: a few
# columns of `K` where activations are tens of times larger than elsewhere (and the weights that
# meet them), and activations with heavy tails. The cell builds a weight-like `W` (normal, a few
# scaled input channels) and an activation-like `X` (Student-t with 3 degrees of freedom, a few
# channels twenty times larger, as in lesson 2), quantizes both with every recipe of the lab, and
# reports the relative rms error `‖a − deq(a)‖ / ‖a‖` of `W`, of `X`, and of `Y = X·Wᵀ` computed
# from both quantized operands, against float64. Per-channel / per-token means one scale per row
# of `W` / of `X`. int4 appears twice: with lesson 1's groups of 128, and with groups of 32 and fp16
# scales, which cost the same 4.5 bits per element as NVFP4 — the control that separates what the
# short block buys from what the float element and its scale buy.

# %%
rng = np.random.default_rng(0)
M_q, N_q, K_q = (32, 256, 1024) if SMALL else (128, 1024, 4096)
W = (rng.standard_normal((N_q, K_q)) * 0.02).astype(np.float32)
W[:, rng.choice(K_q, 8, replace=False)] *= 8  # the input channels that meet outlier activations
X = rng.standard_t(3, (M_q, K_q)).astype(np.float32)  # heavy tails
X[:, rng.choice(K_q, 8, replace=False)] *= 20  # outlier channels


def fp8_per_row(a):
    """e4m3 with one fp32 scale per row: amax of the row maps to 448."""
    s = (np.abs(a).max(axis=1, keepdims=True) / np.float32(formats.E4M3_MAX)).astype(np.float32)
    return formats.decode_e4m3(formats.encode_e4m3(a / s)) * s


RECIPES = {  # name -> (roofline format [, group size], quantize-dequantize)
    "int8 per channel / token": ("a8w8", lambda a: formats.dequantize_int(formats.quantize_int(a, bits=8, group_size=None))),
    "int4 group 128": ("w4a16", lambda a: formats.dequantize_int(formats.quantize_int(a, bits=4, group_size=128))),
    "int4 group 32": (("w4a16", 32), lambda a: formats.dequantize_int(formats.quantize_int(a, bits=4, group_size=32))),
    "fp8 e4m3 per channel / token": ("fp8", fp8_per_row),
    "MXFP8 FLOOR": ("mxfp8", lambda a: formats.dequantize_mx(formats.quantize_mx(a, "mxfp8_e4m3", scale_mode="floor"))),
    "MXFP8 RCEIL": ("mxfp8", lambda a: formats.dequantize_mx(formats.quantize_mx(a, "mxfp8_e4m3", scale_mode="rceil"))),
    "MXFP4 FLOOR": ("mxfp4", lambda a: formats.dequantize_mx(formats.quantize_mx(a, "mxfp4", scale_mode="floor"))),
    "MXFP4 RCEIL": ("mxfp4", lambda a: formats.dequantize_mx(formats.quantize_mx(a, "mxfp4", scale_mode="rceil"))),
    "NVFP4": ("nvfp4", lambda a: formats.dequantize_nvfp4(formats.quantize_nvfp4(a))),
}
Y_ref = X.astype(np.float64) @ W.astype(np.float64).T
ERR = {}
for name, (fmt, qdq) in RECIPES.items():
    fmt, group = fmt if isinstance(fmt, tuple) else (fmt, None)
    wq, xq = qdq(W), qdq(X)
    ERR[name] = (rl.FORMATS[fmt].weight_bits(group), rel_rms(W, wq), rel_rms(X, xq),
                 rel_rms(Y_ref, xq.astype(np.float64) @ wq.astype(np.float64).T))
rows = ["| recipe | bits / element | W error | X error | Y error (both quantized) |", "|---|---|---|---|---|"]
rows += [f"| {n} | {b:g} | {ew:.2%} | {ex:.2%} | {ey:.2%} |" for n, (b, ew, ex, ey) in ERR.items()]
display(Markdown(f"W [{N_q}, {K_q}], X [{M_q}, {K_q}], relative rms error:\n\n" + "\n".join(rows)))
for name, a in (("W", W), ("X", X)):
    for fmt in ("mxfp8_e4m3", "mxfp4"):
        f, r = (formats.quantize_mx(a, fmt, scale_mode=m).scales for m in ("floor", "rceil"))
        print(f"{name}, {fmt}: RCEIL picks a larger scale than FLOOR (FLOOR saturates the block's amax) "
              f"in {np.mean(f != r):.1%} of blocks")
y_err = {n: v[3] for n, v in ERR.items()}
for fam in ("MXFP8", "MXFP4"):
    fl, rc = y_err[f"{fam} FLOOR"], y_err[f"{fam} RCEIL"]
    print(f"{fam}: the lower Y error here comes from {'RCEIL' if rc < fl else 'FLOOR'} ({min(fl, rc):.2%} vs {max(fl, rc):.2%})")
print(f"8 bits: fp8 e4m3 with one scale per row {y_err['fp8 e4m3 per channel / token']:.2%} Y error, "
      f"MXFP8 (better rule) {min(y_err['MXFP8 FLOOR'], y_err['MXFP8 RCEIL']):.2%}, "
      f"int8 per row {y_err['int8 per channel / token']:.2%}")
four = sorted((v, n) for n, v in y_err.items() if ERR[n][0] < 5)
print("4-bit recipes, lowest Y error first: " + ", ".join(f"{n} {v:.2%} ({ERR[n][0]:g} bits)" for v, n in four))

fig, ax = plt.subplots(figsize=(9, 3.8))
xs = np.arange(len(ERR))
for i, (label, col) in enumerate((("W", 1), ("X", 2), ("Y", 3))):
    ax.bar(xs + (i - 1) * 0.27, [v[col] for v in ERR.values()], width=0.27, label=label)
ax.set_xticks(xs, [f"{n}, {v[0]:g} bits" for n, v in ERR.items()], fontsize=7, rotation=25, ha="right")
ax.set_yscale("log")
ax.set_ylabel("relative rms error")
ax.set_title(f"quantization error on outlier-channel weights and heavy-tailed activations (K = {K_q})", fontsize=9)
ax.legend(fontsize=8)
ax.grid(True, axis="y", which="both", alpha=0.25)
plt.show()

# %% [markdown]
# ## Why FP4 decodes exactly into fp16 and fp8
#
# Emulating a block-scaled format on a GPU without it means turning elements into something an
# older Tensor Core multiplies, and the cheapest emulation is one that rounds nothing:
#
# * **e2m1 → e4m3** is exact: every e2m1 value is an e4m3 value (one exponent and one mantissa bit
#   fewer). MXFP4 can run on fp8 MMAs, one MMA per block, its E8M0 scales applied afterwards.
# * **e2m1 × UE4M3 → fp16** is exact: an e2m1 significand has 2 bits (`1.m`), an e4m3 one 4
#   (`1.mmm`), so a product has at most 6 significant bits, within fp16's 11; and the products'
#   range sits inside fp16's. So NVFP4's element times its block scale can be formed in fp16 before
#   an fp16 MMA, with the fp32 per-tensor scale left for the epilogue.
# * **e2m1 × E8M0** is not: the E8M0 range is far wider than fp16's, so MX scales stay outside the
#   MMA, on partial sums in fp32.
#
# The cell checks all three over every code.

# %%
e2m1 = formats.decode_e2m1(np.arange(16, dtype=np.uint8)).astype(np.float64)
ue4m3 = formats.decode_e4m3(np.arange(0x7F, dtype=np.uint8)).astype(np.float64)  # 0x00..0x7E: every finite scale >= 0
prod = np.multiply.outer(e2m1, ue4m3)
nz = np.abs(prod[prod != 0])
exact16 = prod.astype(np.float16).astype(np.float64) == prod
print(f"e2m1 x UE4M3: {int(exact16.sum())} of {prod.size} products are fp16 values exactly; "
      f"|product| from 2^{np.log2(nz.min()):g} to {nz.max():g} "
      f"(fp16: smallest subnormal 2^-24, largest {float(np.finfo(np.float16).max):g})")
assert exact16.all()
e4 = formats.decode_e4m3(formats.encode_e4m3(e2m1.astype(np.float32))).astype(np.float64)
print(f"e2m1 -> e4m3: all 16 codes exact (sign of zero included): "
      f"{bool(np.array_equal(e4, e2m1) and np.array_equal(np.signbit(e4), np.signbit(e2m1)))}")
e8m0 = formats.decode_e8m0(np.arange(255, dtype=np.uint8)).astype(np.float64)
with np.errstate(over="ignore"):
    p8 = np.multiply.outer(e2m1[e2m1 != 0], e8m0)
    ok8 = p8.astype(np.float16).astype(np.float64) == p8
print(f"e2m1 x E8M0: only {ok8.mean():.0%} of the non-zero products are fp16 values")

# %% [markdown]
# ## The kernels
#
# The family is `labkernels/kernels/blockscaled/`; every variant takes the operands of
# `labkernels.problems["mxfp8" | "mxfp4" | "nvfp4"]` — element codes `[·, K]` or packed e2m1
# `[·, K/2]`, scale codes `[·, K/block]`, NVFP4's two fp32 per-tensor scales — and computes
# `Y = deq(X)·deq(W)ᵀ` in fp16.

# %%
for v in registry.variants(family="blockscaled"):
    print(f"{v.id:36s} {v.impl:6s} {v.op:5s} {','.join(v.archs) or 'simulator/any':22s} {v.description}")

# %% [markdown]
# ### v01 — Numba, one thread per output, block by block
#
# The reference kernel: decode tables (every code decoded once on the host), one thread per
# output, and the order of the sum that all block-scaled hardware uses — each block's products are
# summed first, and only that partial sum is multiplied by the block's two scales. The PTX is byte
# loads of codes, table lookups, fp32 multiply-adds, and one conversion to fp16 at the end.

# %%
v01 = registry.get("blockscaled/v01_mxfp4_numba")
display(Code(filename=str(build.source_path(v01.source)), language="python"))
ptx01 = numba_compat.compile_ptx("labkernels.kernels.blockscaled.v01_naive_numba", v01.numba_func, v01.numba_sig,
                                 cc=(9, 0))
print(build.ptx_summary(ptx01, ["ld.global.u8", "fma.rn.f32", "mul.f32", "cvt.rn.f16.f32"], max_lines=2))

# %% [markdown]
# ### v02 — the FP4 GEMV (decode)
#
# At `M ≤ 16` the layer is memory-bound and what matters is streaming packed e2m1 at full
# bandwidth: one warp per two rows of `W`, 16-byte loads (32 elements: exactly one MX block, two
# NVFP4 blocks, so a lane's chunk has one or two scale bytes), `X` decoded once per block into
# shared memory when it fits.
#
# The decode needs no table and no convert instruction. Put the three low bits of an e2m1 code
# (`e1 e0 m`) at bits 11..9 of an fp16 and its sign at bit 15: the fp16's exponent field is then
# `e` and its top mantissa bit `m`, so it reads `2^(e−15)·(1 + m/2)` — the e2m1 value
# `2^(e−1)·(1 + m/2)` times `2^−14`, exactly, subnormals included. The power of two is divided out
# once per output. The cell checks this for all sixteen codes, then for one 32-bit word the way the
# kernel does it: four shift-and-mask steps make four `half2` pairs, elements `(k, k + 4)`.

# %%
c16 = np.arange(16, dtype=np.uint16)
h = (((c16 & 7) << 9) | ((c16 & 8) << 12)).astype(np.uint16)
placed = h.view(np.float16).astype(np.float32) * np.float32(2.0 ** 14)
want = formats.decode_e2m1(c16.astype(np.uint8)).astype(np.float32)
rows = ["| code | fp16 bits | fp16 value | × 2^14 | e2m1 value |", "|---|---|---|---|---|"]
rows += [f"| {c:X} | `{b:016b}` | {float(v):.3g} | {p:g} | {w:g} |"
         for c, b, v, p, w in zip(c16, h, h.view(np.float16), placed, want)]
display(Markdown("\n".join(rows)))
print("bit placement = decode, all 16 codes, bit for bit (-0 included):",
      bool(np.array_equal(placed.view(np.uint32), want.view(np.uint32))))

word_codes = rng.integers(0, 16, 8).astype(np.uint32)
word = int(sum(int(c) << (4 * k) for k, c in enumerate(word_codes)))
shl = lambda w, s: (w << s) & 0xFFFFFFFF if s >= 0 else w >> -s  # noqa: E731
pairs = np.array([(shl(word, 9 - 4 * k) & 0x0E000E00) | (shl(word, 12 - 4 * k) & 0x80008000) for k in range(4)],
                 dtype="<u4").view(np.float16).astype(np.float32).reshape(4, 2) * np.float32(2.0 ** 14)
print(f"word 0x{word:08X}, codes {[f'{c:X}' for c in word_codes]} = {formats.decode_e2m1(word_codes.astype(np.uint8)).tolist()}")
print("half2 pairs (k, k+4):", [tuple(float(v) for v in p) for p in pairs])
assert np.array_equal(pairs, formats.decode_e2m1(word_codes.astype(np.uint8)).reshape(2, 4).T)

# %% [markdown]
# The block sums are exact in fp16 too. A product of an e2m1 value of `X` and a `2^−14`-scaled e2m1
# value of `W` is a multiple of `2^−16`, at most `36·2^−14`; eight of them (one half of a `half2`
# accumulator's share of a 32-element block) stay below the binade whose fp16 spacing is still
# `2^−16`. So `hfma2` — two multiply-adds per instruction — sums each block with no rounding, and
# only the fp32 partial sum meets the scales: the order of v01, on the CUDA cores.

# %%
max_sum = 8 * 36 * 2.0 ** -14
top = 2.0 ** np.ceil(np.log2(max_sum))
print(f"largest |sum of 8 products| = {max_sum:.6f} < 2^{int(np.log2(top))}; "
      f"fp16 spacing just below 2^{int(np.log2(top))}: 2^{int(np.log2(float(np.spacing(np.float16(top / 2)))))}, "
      f"the products' grid: 2^-16")
v02 = registry.get("blockscaled/v02_mxfp4_gemv")
print(f"{v02.id}: {v02.description}")
display(Code(filename=str(build.source_path(v02.source)), language="cuda"))
print(f"PTX for {PTX_ARCH}, #defines {v02.defines}:")
print(build.ptx_summary(build.compile_file(v02.source, PTX_ARCH, v02.defines).ptx,
                        ["ld.global.nc.L1::no_allocate", "ld.shared.v4", "fma.rn.f16x2", "shfl.sync.bfly"], max_lines=2))

# %% [markdown]
# ### v03 — the MXFP8 GEMV
#
# MXFP8 at decode sizes is the FP8 GEMV of the `fp8` family (`fp8/v02_gemv.cu`, e4m3 pairs widened
# with `cvt.rn.f16x2.e4m3x2`) with one change: a lane's 16-byte chunk is half an MX block, so its
# products are summed in fp32 first (e4m3 products are exact) and that sum is multiplied by
# `2^(sx + sw − 254)` — one extra multiply-add per 16 weights and two one-byte scale loads.

# %%
v03 = next((v for v in registry.variants(family="blockscaled", fmt="mxfp8") if v.op == "gemv"), None)
if v03 is None:
    print("no MXFP8 GEMV is registered in this version of the lab")
else:
    print(f"{v03.id}: {v03.description}")
    display(Code(filename=str(build.source_path(v03.source)), language="cuda"))
    print(f"PTX for {PTX_ARCH}, #defines {v03.defines}:")
    print(build.ptx_summary(build.compile_file(v03.source, PTX_ARCH, v03.defines).ptx,
                            ["ld.global.nc.v4", "cvt.rn.f16x2.e4m3x2", "fma.rn.f32", "shfl.sync.bfly"], max_lines=2))

# %% [markdown]
# ### v04 — the MXFP8 GEMM on Hopper: block scaling emulated
#
# For large `M` the multiply-adds must run on the Tensor Cores. Hopper's fp8 Tensor Core path is
# `wgmma` (the fp8 family's v04); one `wgmma` k-step is 32 values of k — exactly one MX block. So
# each block's product goes into fresh accumulators, the warpgroup waits for it, and adds it to the
# fp32 sum with that block's two scales: a multiply and a multiply-add per output per 32 k, on the
# CUDA cores. The scales travel with each pipeline stage through shared memory, converted to fp32
# once per block. This is the third ceiling of the roofline made concrete; the benchmark below puts
# the kernel beside the same `wgmma` kernel doing plain FP8. MXFP4 needs no kernel of its own:
# every e2m1 value is an e4m3 value, so one pass widens X and W to e4m3 (a 16-entry table) and,
# with the E8M0 scales as they are, the MXFP8 GEMM runs it.
#
# NVFP4's blocks are 16 values of k, half an fp8 `wgmma` step, so that plan would wait twice as
# often. It needs no waiting at all: an e2m1 element times its UE4M3 scale is an fp16 value (shown
# above), so one pass writes X and W as fp16 element × block scale, and what is left is a plain fp16
# GEMM with one fp32 scale per tensor, applied in the epilogue. Its main loop is the int8 `wgmma`
# kernel's (`int8/v09_wgmma.cu`): the tiles are counted in bytes, and an fp16 `m64n256k16` reads 32
# bytes of k per row, exactly as the int8 `m64n256k32` does. The price is the fp16 MMA rate (half the
# fp8 one) and the widening pass, which writes 2 bytes per element.

# %%
v04 = registry.get("blockscaled/v04_mxfp8_wgmma")
print(f"{v04.id}: {v04.description}")
display(Code(filename=str(build.source_path(v04.source)), language="cuda"))
print(f"PTX for sm_90a (the arch-specific target wgmma needs), #defines {v04.defines}:")
print(build.ptx_summary(build.compile_file(v04.source, "sm_90a", v04.defines).ptx,
                        ["wgmma.mma_async.sync.aligned.m64n64k32.f32.e4m3.e4m3", "wgmma.wait_group",
                         "ld.shared.v4.f32", "fma.rn.f32"], max_lines=2))
print("The MX path lives in fp8/v04_wgmma.cu under #if MX; v04_mxfp8_wgmma.cu sets MX = 1 and includes it.")
v04_fp4 = registry.get("blockscaled/v04_mxfp4_wgmma")
print(f"\n{v04_fp4.id}: {v04_fp4.description}")
display(Code(filename=str(build.source_path("blockscaled/e2m1_to_e4m3.cu")), language="cuda"))
v04_nv = registry.get("blockscaled/v04_nvfp4_wgmma")
print(f"\n{v04_nv.id}: {v04_nv.description}")
display(Code(filename=str(build.source_path("blockscaled/nvfp4_to_fp16.cu")), language="cuda"))
display(Code(filename=str(build.source_path(v04_nv.source)), language="cuda"))
print(f"PTX for sm_90a, #defines {v04_nv.defines}:")
print(build.ptx_summary(build.compile_file(v04_nv.source, "sm_90a", v04_nv.defines).ptx,
                        ["wgmma.mma_async.sync.aligned.m64n256k16.f32.f16.f16", "wgmma.wait_group"], max_lines=2))

# %% [markdown]
# ### v07 — the MXFP8 GEMM on Hopper's TMA pipeline
#
# v04's cost is not the FP32 arithmetic itself but that nothing overlaps it: both warpgroups wait
# for their block's MMA and promote at the same moment, between block barriers, with the Tensor
# Cores idle. v07 takes the fp8 family's v05 pipeline: a producer warpgroup whose first thread asks
# the copy engine (TMA) for each stage's tiles and whose other warps stage the stage's scales as
# fp32 in shared memory, and *consumer* warpgroups that wait on mbarriers, never on each other. While
# one consumer promotes a block, another's MMA runs. With three consumers (192-row tiles, 160
# registers a thread through `setmaxnreg`) every scheduler has three warps to choose from. The
# promotion is exactly the model's two FP32 instructions an output. Measured on the H100 (NVIDIA
# H100 80GB HBM3, `benchmarks/NOTES.md`): 464 TFLOP/s at 8192³, 3.2× v04, yet still 47% of the FP32
# bound: the table below puts both beside plain FP8 on their own pipelines.

# %%
v07 = registry.get("blockscaled/v07_mxfp8_tma")
print(f"{v07.id}: {v07.description}")
display(Code(filename=str(build.source_path(v07.source)), language="cuda"))
print(f"PTX for sm_90a, #defines {v07.defines}:")
print(build.ptx_summary(build.compile_file(v07.source, "sm_90a", v07.defines).ptx,
                        ["cp.async.bulk.tensor.2d", "mbarrier.try_wait.parity", "setmaxnreg.inc.sync.aligned.u32",
                         "wgmma.wait_group", "fma.rn.f32"], max_lines=2))
# MXFP4 takes the same kernel after the same exact widening to e4m3 (its E8M0 scales are MXFP8's):
v07_fp4 = registry.get("blockscaled/v07_mxfp4_tma")
print(f"\n{v07_fp4.id}: {v07_fp4.description}")

# %% [markdown]
# ### v05 — the native instruction: block-scaled `mma.sync` on sm_120a
#
# On Blackwell's workstation and consumer parts (sm_120a) the scales are operands of the MMA:
# each lane passes one 32-bit register of scale bytes beside its A and B fragments, and the Tensor
# Core computes `D = (A·scale_A)·(B·scale_B) + C` block by block. The k loop of the kernel is loads
# and MMAs and nothing else — the third ceiling of the roofline is gone. One source serves the
# three formats (`FMT`): MXFP8 is `m16n8k32` with one E8M0 scale per MMA, MXFP4 `m16n8k64` with two,
# NVFP4 `m16n8k64` with four UE4M3 scales. Each warp computes one 16×8 tile straight from global
# memory: the lesson is the instruction, not a fast schedule.
#
# No GPU the lab was measured on has this instruction. NVRTC compiles it for sm_120a here, and
# ptxas refuses it for Hopper; the check section runs the kernel's loads and the documented
# fragment layout lane by lane in NumPy (`blockscaled.native.emulate`).

# %%
native_vs = [v for v in registry.variants(family="blockscaled") if NATIVE_ARCH in v.archs and len(v.archs) == 1]
if not native_vs:
    print("no sm_120a-only block-scaled variant is registered in this version of the lab")
else:
    display(Code(filename=str(build.source_path(native_vs[0].source)), language="cuda"))
for v in native_vs:
    c = build.compile_file(v.source, NATIVE_ARCH, v.defines)
    print(f"{v.id}, #defines {v.defines}: cubin for {NATIVE_ARCH} {len(c.cubin or b'')} bytes")
    for ln in build.ptx_lines(c.ptx, "block_scale"):
        if not ln.startswith("//"):
            print(f"    {ln}")
if native_vs:
    v = native_vs[-1]
    try:
        build.compile_file(v.source, "sm_90a", v.defines)
        print("sm_90a: compiled (unexpected)")
    except build.CompileError as e:
        print("sm_90a: ptxas says", next(ln.strip() for ln in str(e).splitlines() if "error" in ln))

# %% [markdown]
# ### The quantizers, on the GPU
#
# A layer quantizes its activations on the fly. `blockscaled.quantize` has the two GPU quantizers
# (`quantize_mx_gpu(x, fmt, scale_mode)`, `quantize_nvfp4_gpu(x)`, CUDA C in
# `blockscaled/quantize.cu`), and they return exactly the codes and scales of `labkernels.formats`.
# On a GPU the cell checks that on the heavy-tailed `X` from above.

# %%
if gpu is None:
    print("the GPU quantizers need a GPU; the formats above are the NumPy reference they match bit for bit")
else:
    import cupy

    from labkernels.kernels.blockscaled import quantize as bq

    xg = cupy.asarray(X)
    for fmt in formats.MX_FORMATS:
        for mode in formats.SCALE_MODES:
            d, s = bq.quantize_mx_gpu(xg, fmt, mode)
            q = formats.quantize_mx(X, fmt, scale_mode=mode)
            print(f"quantize_mx_gpu {fmt:10s} {mode:5s} bit-exact:",
                  bool(np.array_equal(d.get(), q.data) and np.array_equal(s.get(), q.scales)))
    d, s, g = bq.quantize_nvfp4_gpu(xg)
    q = formats.quantize_nvfp4(X)
    print("quantize_nvfp4_gpu bit-exact:", bool(np.array_equal(d.get(), q.data) and np.array_equal(s.get(), q.scales)
                                               and g == q.global_scale))

# %% [markdown]
# ## Check
#
# Fresh random inputs with block scales spread over several binades (a kernel that applies a
# scale to the wrong block lands far off), outputs poisoned before the launch, shapes off every
# tile, compared with float64. Without a GPU the Numba kernel runs in the simulator and v05 runs as
# its NumPy lane model; on a GPU every variant it can run is checked too.

# %%
failed = []
M_chk, N_chk, K_chk = (2, 24, 64) if SMALL else (3, 40, 96)
for fmt in blockscaled.FORMATS:
    r = check.check_variant(f"blockscaled/v01_{fmt}_numba", M_chk, N_chk, K_chk)
    print(r)
    if not r:
        failed.append(str(r))

emulate = getattr(getattr(blockscaled, "native", None), "emulate", None)
if emulate is not None:
    for fmt in blockscaled.FORMATS:
        r = check.run_check(functools.partial(emulate, fmt), fmt, 17, 12, 96, name=f"v05 {fmt} (NumPy lane model)",
                            impl="numpy")
        print(r)
        if not r:
            failed.append(str(r))

for v in registry.variants(family="blockscaled"):
    ok_, why = v.runnable()
    if gpu is None or not ok_ or v.impl == "numba":
        if v.impl != "numba":
            print(f"{v.id:36s} not run here: {why}")
        continue
    shapes = [(1, 129, 512), (16, 72, 4096)] if v.op == "gemv" else [(17, 300, 512), (130, 264, 2048)]
    for M, N, K in shapes[: 1 if SMALL else 2]:
        if v.supports(M):
            r = check.check_variant(v, M, N, K)
            print(r)
            if not r:
                failed.append(str(r))
assert not failed, f"{len(failed)} check(s) failed (see above)"

# %% [markdown]
# ## Emulated or native: the model
#
# The three-ceiling model (`labkernels.roofline`) says how each format executes on a GPU
# (`FORMATS[fmt].execution(cc)`): on Hopper (sm_90) MXFP8 runs one fp8 MMA per block and then one
# FP32 FMA per output per block to apply the scales — `M·N·K/32` FFMAs on the CUDA cores; MXFP4
# first turns e2m1 into e4m3 (exact, above); NVFP4 decodes into fp16 (exact) for fp16 MMAs. On
# sm_120a and sm_100a all three are native: no ALU term at all. The table puts the bounds of
# `N = K = 8192` side by side for the H100 (the committed measured ceilings) and, from the spec
# table's datasheet figures, an RTX PRO 6000 Blackwell and a B200; the letter says which ceiling
# binds (m memory, M MMA, A ALU).

# %%
N0 = K0 = 8192
H100 = rl.Ceilings.from_json(committed["ceilings"]) if committed else rl.ceilings_for("h100-sxm")
GPUS = {"H100": H100, "RTX PRO 6000": rl.ceilings_for("rtx-pro-6000", "datasheet"), "B200": rl.ceilings_for("b200", "datasheet")}
for name, c in GPUS.items():
    print(f"{name} (sm_{c.cc[0]}{c.cc[1]}, {c.source}): " + "; ".join(
        f"{f}: {rl.FORMATS[f].execution(c.cc).label}" for f in ("mxfp8", "mxfp4", "nvfp4")))
letter = {"memory": "m", "mma": "M", "alu": "A"}
rows = ["| M | format | " + " | ".join(GPUS) + " |", "|---" * (len(GPUS) + 2) + "|"]
for M in (1, 16, 256, 4096):
    for f in ("mxfp8", "mxfp4", "nvfp4"):
        cells = []
        for c in GPUS.values():
            b = rl.bound(f, M, N0, K0, c)
            cells.append(f"{b.time_us:.1f} µs {letter[b.kind]}" + (f" (ALU {b.alu_us:.1f})" if b.alu_us else ""))
        rows.append(f"| {M} | {f} | " + " | ".join(cells) + " |")
display(Markdown(f"three-ceiling bound, N = K = {N0}, `mma.sync` rates:\n\n" + "\n".join(rows)))

M_big = 4096
ex = rl.FORMATS["mxfp8"].execution(H100.cc)
for path in ("mma_sync", "library"):
    b = rl.bound("mxfp8", M_big, N0, K0, H100, path=path)
    print(f"H100 MXFP8 at M={M_big}, fp8 MMA at the {path} rate ({H100.mma_rate('fp8', path) / 1e12:.0f} TFLOP/s): "
          f"MMA {b.mma_us:.0f} µs, block rescale ({ex.fp_mnk:.4f} FFMA per M·N·K at {H100.ffma / 1e12:.1f} T/s) "
          f"{b.alu_us:.0f} µs = {b.alu_us / b.mma_us:.0%} of the MMA time; not overlapped: {b.serial_us:.0f} µs")

# %% [markdown]
# Two things stand out. At decode sizes every format is memory-bound on all three GPUs (`m` in the
# table): the bytes decide, and MXFP4 and NVFP4 are as fast as their bits per element allow — if
# the kernel streams them at full bandwidth. At large `M` on Hopper the block rescale is CUDA-core
# work of the same order as the fp8 MMAs themselves once those run at the library's `wgmma` rate
# (the last lines above); on Blackwell it is part of the instruction.
#
# ## Benchmark
#
# On a GPU this measures the block-scaled GEMVs beside the other formats' GEMVs and cuBLAS fp16 (each
# checked first, timed from DRAM with the inputs rotated past L2, medians), plus every other
# block-scaled variant the GPU runs; without one it loads the committed H100 results and says so.

# %%
GEMV_PEERS = [("dequant/v04_gemv_lop3", "w4a16"), ("int8/v02_dp4a_gemv", "a8w8"), ("fp8/v02_gemv", "fp8"),
              ("fp16/v00_cublas", "fp16")]
if gpu is not None:
    N_b = K_b = 2048 if SMALL else 8192
    GEMV_MS = [1, 4, 16] if SMALL else [1, 2, 4, 8, 16]
    BIG_MS = [256] if SMALL else [256, 4096]
    iters = 5 if SMALL else 20
    RECORDS, FAILURES = [], []

    def run_sweep(ids, fmt, ms):
        ids = [i for i in ids if registry.get(i).runnable()[0]]
        rs, fs = runner.sweep(ids, fmt, N_b, K_b, ms, CEIL, iters=iters)
        RECORDS.extend(dataclasses.asdict(r) for r in rs)
        FAILURES.extend(fs)

    for fmt in blockscaled.FORMATS:
        run_sweep([v.id for v in registry.variants(family="blockscaled", fmt=fmt) if v.impl == "cupy"], fmt,
                  GEMV_MS + BIG_MS)
    for vid, fmt in GEMV_PEERS:
        run_sweep([vid], fmt, GEMV_MS + (BIG_MS if fmt == "fp16" else []))
    run_sweep(["fp8/v04_wgmma", "fp8/v00_torch_scaled_mm"], "fp8", BIG_MS)  # plain FP8 beside MXFP8
    SHAPES = [(N_b, K_b)]
    WHEN = "measured in this run"
else:
    RECORDS, FAILURES = committed["records"], committed["failures"]
    SHAPES = [tuple(s) for s in committed["shapes"]]
    env = committed["env"]
    WHEN = f"committed run of {env['date']} on an {env['gpu']} — NOT a run on this machine"
MS = sorted({r["M"] for r in RECORDS})
GPU_NAME = RECORDS[0]["gpu"] if RECORDS else CEIL.gpu
print(f"{len(RECORDS)} records, {len(FAILURES)} failures ({WHEN})")
for f in FAILURES:
    print("  failed:", f)

# %% [markdown]
# ### Decode, `M = 1`
#
# The table is computed from the records: time, achieved bandwidth (the fewest bytes the format
# must move, over the time), that bandwidth as a share of the measured copy bandwidth (at `M = 1`
# the memory bound, so also the share of the kernel's bound), and the speed-up over cuBLAS fp16.

# %%
M1_ROWS = ["blockscaled/v02_mxfp4_gemv", "blockscaled/v02_nvfp4_gemv", "blockscaled/v03_mxfp8_gemv", "dequant/v04_gemv_lop3", "int8/v02_dp4a_gemv",
           "fp8/v02_gemv", "fp16/v00_cublas", "blockscaled/v01_mxfp8_numba", "blockscaled/v01_mxfp4_numba",
           "blockscaled/v01_nvfp4_numba"]
for N, K in SHAPES:
    at = {r["kernel"]: r for r in RECORDS if (r["M"], r["N"], r["K"]) == (1, N, K)}
    cub = at.get("fp16/v00_cublas")
    rows = ["| kernel | format | bits / weight | time | GB/s | % of copy bandwidth | vs cuBLAS fp16 |",
            "|---|---|---|---|---|---|---|"]
    for kid in [k for k in M1_ROWS if k in at] + sorted(set(at) - set(M1_ROWS)):
        r = at[kid]
        rows.append(f"| `{kid}` | {r['fmt']} | {rl.FORMATS[r['fmt']].w_bits:g} | {r['time_us']:.1f} µs | {r['gbps']:.0f} | "
                    f"{100 * r['gbps'] * 1e9 / CEIL.bw:.0f}% | "
                    + (f"{cub['time_us'] / r['time_us']:.2f}x |" if cub else "— |"))
    display(Markdown(f"**M = 1, N = {N}, K = {K}** ({GPU_NAME}, {WHEN}; copy bandwidth {CEIL.bw / 1e12:.2f} TB/s)\n\n"
                     + "\n".join(rows)))
    fp4 = {k: at[k] for k in ("blockscaled/v02_mxfp4_gemv", "blockscaled/v02_nvfp4_gemv") if k in at}
    w4 = at.get("dequant/v04_gemv_lop3")
    for k, r in fp4.items():
        print(f"N={N} K={K}: {k} {r['time_us']:.1f} µs" +
              (f" = {r['time_us'] / w4['time_us']:.2f}x the time of the lab's W4A16 GEMV" if w4 else "") +
              (f", {cub['time_us'] / r['time_us']:.2f}x faster than cuBLAS fp16" if cub else ""))

# %% [markdown]
# ### `M` from 1 to 16: where the GEMV stops
#
# A GEMV does its multiply-adds on the CUDA cores, and its work grows with `M` while the bytes
# hardly do. The cell prints each GEMV's share of its bound (the three-ceiling bound, which assumes
# MMA-rate arithmetic) as `M` grows.

# %%
for N, K in SHAPES:
    rows = ["| kernel | " + " | ".join(f"M={m}" for m in MS if m <= 16) + " |", "|---" * (1 + sum(m <= 16 for m in MS)) + "|"]
    here = [r for r in RECORDS if (r["N"], r["K"]) == (N, K) and r["M"] <= 16 and "numba" not in r["kernel"]
            and r["kernel"] != "fp16/v00_cublas"]
    kids = {r["kernel"] for r in here}
    for kid in [k for k in M1_ROWS if k in kids] + sorted(kids - set(M1_ROWS)):
        pts = {r["M"]: r for r in here if r["kernel"] == kid}
        if pts:
            rows.append(f"| `{kid}` | " + " | ".join(f"{pts[m]['time_us']:.0f} µs, {pts[m]['pct_of_bound']:.0f}%"
                                                   if m in pts else "—" for m in MS if m <= 16) + " |")
    display(Markdown(f"**N = {N}, K = {K}**: time and % of bound ({WHEN})\n\n" + "\n".join(rows)))

# %% [markdown]
# ### Large `M`: what emulated block scaling costs
#
# The MXFP8 GEMMs beside the same `wgmma` kernels doing plain FP8 (one scale per row and column,
# promoted every 128 k): v04 against the fp8 family's v04 (`cp.async`, block barriers), v07 against
# its v05 (TMA, decoupled consumers), and cuBLASLt's fp8 GEMM, at every large `M` measured. The
# ratios are the price of scaling each 32-k block on the CUDA cores.

# %%
for N, K in SHAPES:
    at = {(r["kernel"], r["M"]): r for r in RECORDS if (r["N"], r["K"]) == (N, K)}
    big = sorted(m for (k, m) in at if k == "blockscaled/v04_mxfp8_wgmma" and ("fp8/v04_wgmma", m) in at)
    rows = ["| M | MXFP8 v04 | FP8 v04 | v04 time ratio | MXFP8 v07 | FP8 v05 | v07 time ratio | torch._scaled_mm "
            "| v07 bound |", "|---|---|---|---|---|---|---|---|---|"]
    for m in big:
        mx, f8, lib = at[("blockscaled/v04_mxfp8_wgmma", m)], at[("fp8/v04_wgmma", m)], at.get(("fp8/v00_torch_scaled_mm", m))
        m7, f5 = at.get(("blockscaled/v07_mxfp8_tma", m)), at.get(("fp8/v05_wgmma_tma", m))
        t = lambda r: f"{r['tflops']:.0f}" if r else "—"  # noqa: E731
        r7 = f"{m7['time_us'] / f5['time_us']:.2f}x" if m7 and f5 else "—"
        b7 = f"{m7['pct_of_bound']:.0f}% ({m7['bound_kind']})" if m7 else "—"
        rows.append(f"| {m} | {t(mx)} TFLOP/s | {t(f8)} | {mx['time_us'] / f8['time_us']:.2f}x | {t(m7)} | {t(f5)} "
                    f"| {r7} | {t(lib)} | {b7} |")
    if big:
        display(Markdown(f"**N = {N}, K = {K}** ({GPU_NAME}, {WHEN})\n\n" + "\n".join(rows)))
    else:
        print(f"N={N} K={K}: no MXFP8 GEMM measured here (it needs wgmma: sm_90a)")

# %% [markdown]
# The model's FP32 term (a multiply and a multiply-add per output per block) is smaller than what
# the table shows: each warpgroup waits for every block's MMA before it can scale it and cannot
# overlap the two (ptxas serializes `wgmma` when other instructions read the accumulators of one
# still in flight). v04's warpgroups also wait for each other; v07's do not, which is most of its
# gain, and a third consumer adds more — yet it stays near half of its bound. Nsight Compute on the
# H100 says why (`benchmarks/NOTES.md`, "Profiles"): the FP32 pipe is busy 48% of the time — the
# promotion is exactly the model's work, it is just not issued fast enough — while shared memory runs
# at 82%. Every lane needs its 32 columns' scales for every 32-`k` block, and those loads cost the
# shared memory more than the wgmma's own operands: per-column scales are a data-movement cost the
# FP32 term does not count. Hardware block scaling removes the loads and the arithmetic together.
#
# ### The roofline, measured
#
# Time against `M` for every format: lines are the three-ceiling bounds on the ceilings above
# (dotted where the dequant would not overlap the MMAs), markers the measured kernels. The Numba
# v01 points are left out: they are far slower than everything else, and the `M = 1` table has them.

# %%
fig, axes = plt.subplots(1, len(SHAPES), figsize=(8 * len(SHAPES), 6.5), squeeze=False)
for ax, (N, K) in zip(axes[0], SHAPES):
    rs = [r for r in RECORDS if (r["N"], r["K"]) == (N, K) and "numba" not in r["kernel"]]
    plot.sweep_figure(CEIL, N, K, ["fp16", "w4a16", "a8w8", "fp8", "mxfp8", "mxfp4", "nvfp4"], rs, ms=MS, ax=ax,
                      library_fmts=["fp16"], title=f"N={N} K={K}")
fig.suptitle(f"{GPU_NAME}: markers MEASURED ({WHEN});\nlines MODELED (three-ceiling bounds on the ceilings {CEIL_WHERE})",
             fontsize=10)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## What to take away
#
# * FP8 and FP4 elements carry their own exponent; block scales (E8M0 per 32, or UE4M3 per 16 with
#   an fp32 per tensor) handle the rest. FLOOR saturates a block's largest value whenever its
#   significand is large, RCEIL never does; which rule loses less depends on the element format
#   (the error cell says which won on its data).
# * At 8 bits the e4m3 exponent already spans the outlier-heavy data, and one scale per row competes
#   with MXFP8's power-of-two blocks; at 4 bits the scales decide, and the error cell ranks the
#   4-bit recipes at equal and unequal bit budgets.
# * FP4 decodes exactly: into fp16 by placing its bits, into e4m3 as it is, and an e2m1 element
#   times a UE4M3 scale is an fp16 value. The emulated kernels round nothing before the sums.
# * At decode sizes block scaling is a question of bytes; the GEMVs are measured against the copy
#   bandwidth above. At large `M` on Hopper the per-block rescale is CUDA-core time the MMAs
#   cannot hide (the v04 table measures how much); on sm_120a the block-scaled `mma.sync` takes it over.
#
# ## What is not here yet
#
# * A measurement of v05: no sm_120a GPU is in the lab's results; the kernel is compiled and its
#   fragment layout checked in NumPy. It is written for clarity (one 16×8 tile per warp, no shared
#   memory), not speed.
# * sm_100a (B200): its block-scaled MMA is `tcgen05.mma`, a different programming model (tensor
#   memory, one issuing thread); `blockscaled/v06_tcgen05_note.md` describes it, without a kernel.
