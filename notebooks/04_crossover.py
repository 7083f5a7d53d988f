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

gpu = notebook.report_device(IN_COLAB, family=None,
                             without_gpu="this lesson models the GPUs of the spec table and reads the committed H100 measurements")

# %% [markdown]
# # Lesson 4 — The crossover: A16W4 or A8W8, and from which batch size?
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/labkernels/labkernels/blob/v0.1.0/notebooks/04_crossover.ipynb)
#
# ## The question
#
# Two ways to quantize a transformer's linear layers `Y[M, N] = X[M, K]·W[N, K]ᵀ`:
#
# * **A16W4** (weight-only): weights stored in 4 bits, *dequantized in software* to fp16, then
#   fp16 Tensor Core MMAs. Few bytes to move; the MMA runs at the fp16 rate, and the dequant
#   instructions sit beside it.
# * **A8W8** (activation quantization): weights *and* activations in int8, int8 MMAs at the int8
#   Tensor Core rate, higher than fp16's. More weight bytes than W4; no dequant on the MMA path.
#
# The lab was started on a claim: A16W4 wins when the layer is memory-bound (decode, small
# batches), A8W8 when it is compute-bound (prefill, large batches); when compute-bound A16W4 can
# even fall *below* plain fp16, because of the software dequant; and hardware block scaling
# (MXFP4/NVFP4 on Blackwell) removes that. This lesson puts the claim on the three-ceiling model,
# solves for the crossover batch size `M*` on paper and numerically, holds both against the H100
# measurements committed with the lab, and says, part by part, what is measured and what is so
# far only modeled. It ends in a dashboard to move the shape, the GPU and the formats.
#
# Every number in the text below is computed by a cell and printed; the prose only says which way
# things go. The next cell loads the committed H100 measurements (downloaded once when this runs
# outside a checkout, e.g. on Colab) and the ceilings measured on the same card.

# %%
import math

from IPython.display import Image, Markdown, display

from labkernels import crossover as xo
from labkernels import notebook, widgets
from labkernels import roofline as rl

SMALL = notebook.small()  # LABKERNELS_SMALL=1 (CI): a shorter measured sweep on a GPU
GPU_KEY = "h100-sxm"
COMMITTED = "h100-sxm-2026-11-26"  # under benchmarks/results
FILES = [notebook.results_path(f"{COMMITTED}/{f}") for f in ("dequant/dequant.json", "foundation/fp16.json")]
RESULTS_ROOT = FILES[0].parents[2]  # the folder of committed runs (the checkout's, or the download cache)
SHAPES = [tuple(s) for s in notebook.load_results(f"{COMMITTED}/dequant/dequant.json")["shapes"]]
N0, K0 = SHAPES[0]


def run(N, K, formats=("fp16", "w4a16", "w8a16", "a8w8", "mxfp4", "nvfp4")):
    """The crossover study without a GPU sweep: the model on the committed H100 ceilings, and the
    committed H100 measurements at this shape (labkernels crossover --model-only --gpu h100-sxm)."""
    return xo.run(N=N, K=K, formats=list(formats), out=None, measure=False, gpu=GPU_KEY,
                  results=RESULTS_ROOT, sim_check=False, log=lambda *a: None)


def show(fig, dpi=80):
    """A matplotlib Figure as an image (no pyplot state; works with the inline backend)."""
    display(Image(data=widgets.png(fig, dpi=dpi)))


RUNS = {s: run(*s) for s in SHAPES}
RES = RUNS[(N0, K0)]
CEIL = RES.ceilings
WHEN = f"{RES.committed['gpu']}, {RES.committed['date']}"
print(f"measured points: {RES.measured_label}")
print(f"model: {RES.ceilings_label}")
print(f"  memory {CEIL.bw / 1e12:.2f} TB/s; mma.sync fp16 {CEIL.mma['fp16'] / 1e12:.0f}, int8 "
      f"{CEIL.mma['int8'] / 1e12:.0f} T/s; cuBLAS fp16 {CEIL.library['fp16'] / 1e12:.0f}, int8 "
      f"{CEIL.library['int8'] / 1e12:.0f} T/s; lop3 {CEIL.alu / 1e12:.1f} T instr/s")
print(f"shapes with measurements: {', '.join(f'{n}x{k}' for n, k in SHAPES)}; "
      f"{len(RES.records)} records at {N0}x{K0}")

# %% [markdown]
# The two sides of the question, from the format table (`labkernels.roofline.FORMATS`) and the
# measured H100 ceilings: what each format moves per weight and per activation, the MMA it runs
# on this GPU, that MMA's rate, and the CUDA-core instructions it spends per weight to make MMA
# operands.

# %%
rows = ["| format | bits / weight | bits / activation | MMA on sm_90 | mma.sync rate | library rate | "
        "dequant instr. / weight |", "|---|---|---|---|---|---|---|"]
for f in ("fp16", "w4a16", "a8w8"):
    fm, ex = rl.get_format(f), rl.get_format(f).execution(CEIL.cc)
    rows.append(f"| {f} | {fm.w_bits:.3f} | {fm.a_bits:.0f} | {ex.mma} | {CEIL.mma[ex.mma] / 1e12:.0f} T/s | "
                f"{CEIL.library[ex.mma] / 1e12:.0f} T/s | {ex.alu_w:.3f} |")
display(Markdown("\n".join(rows)))
w4, a8 = rl.get_format("w4a16"), rl.get_format("a8w8")
print(f"A8W8 moves {a8.w_bits / w4.w_bits:.2f}x the weight bytes of A16W4; its MMA runs "
      f"{CEIL.mma['int8'] / CEIL.mma['fp16']:.2f}x the fp16 rate with mma.sync, "
      f"{CEIL.library['int8'] / CEIL.library['fp16']:.2f}x with cuBLAS (both measured on this card)")

# %% [markdown]
# ## Three ceilings, and the plain roofline
#
# For a format `f` at batch `M` the model takes the fewest bytes the kernel must move (`X`, `W`
# with its scales, `Y`, each once) and the work it must do, and charges each against a measured
# ceiling:
#
# * **memory** `t_mem = bytes(M) / BW`, with `bytes(M) = (M·K·a + N·K·w + M·N·o) / 8` for `a`,
#   `w`, `o` bits per activation, weight and output;
# * **MMA** `t_mma = 2·M·N·K / P[p]` at the rate `P` of the precision `p` the MMA *executes*
#   (fp16 for A16W4, int8 for A8W8);
# * **ALU** `t_alu` = dequant instructions (per weight, once per `M`-tile of the GEMM that re-reads
#   it) over the measured integer instruction rate.
#
# The bound is the largest of the three. The **plain roofline** is the same model without the ALU
# ceiling: memory against one MMA peak. The table shows the terms for the committed shape; the
# letter after each bound says which ceiling sets it.

# %%
rows = ["| M | format | t_mem µs | t_mma µs | t_alu µs | three-ceiling bound | plain roofline |",
        "|---|---|---|---|---|---|---|"]
for M in (1, 16, 256, 4096):
    for f in ("fp16", "w4a16", "a8w8"):
        b, p = rl.bound(f, M, N0, K0, CEIL), rl.bound(f, M, N0, K0, CEIL, alu=False)
        rows.append(f"| {M} | {f} | {b.mem_us:.1f} | {b.mma_us:.1f} | {b.alu_us:.1f} | {b.time_us:.1f} {b.kind} | "
                    f"{p.time_us:.1f} {p.kind} |")
display(Markdown(f"N = K = {N0}, H100 ceilings measured on {WHEN}, `mma.sync` rates:\n\n" + "\n".join(rows)))

# %% [markdown]
# ## The crossover: on paper, and solved numerically
#
# Each piece of the plain roofline is a straight line in `M`: memory is `α + β·M` with
# `α = N·K·w / 8 / BW` (the weights) and `β = (K·a + N·o) / 8 / BW` (activations and outputs per
# row), MMA is `0 + (2·N·K / P)·M`. The bound of each format is the larger of its two lines, so
# two formats' plain bounds can only cross where a line of one meets a line of the other:
#
# `M* = (α_b − α_a) / (β_a − β_b)`, kept when at `M*` each format is on that line.
#
# One format's own turn from memory- to MMA-bound (`roofline.ridge_m`) is the same formula with
# both lines from one format. `roofline.crossovers` does not use the formula: it scans `M` (eight
# points per octave) and bisects to the first integer `M` where the other format is strictly
# faster, because the **ALU ceiling is a staircase** (`ceil(M / tile_m)` re-reads of every weight)
# and has no single line. The cell solves both ways and compares.

# %%
def lines(fmt, N, K, c, path):
    """The plain roofline's two lines of ``fmt``, as (α µs, β µs per row of M)."""
    f = rl.get_format(fmt)
    P = c.mma_rate(f.execution(c.cc).mma, path)
    return {"memory": (N * K * f.w_bits / 8 / c.bw * 1e6, (K * f.a_bits + N * f.out_bits) / 8 / c.bw * 1e6),
            "mma": (0.0, 2 * N * K / P * 1e6)}


def closed_form(fa, pa, fb, pb, N, K, c, m_max=1 << 16):
    """Where the plain bounds of (fa at path pa) and (fb at pb) cross, from the lines: the M where a
    line of one meets a line of the other, each the larger of its format's two there, and the
    faster format changes (two bounds that meet and then run together do not cross)."""
    A, B = lines(fa, N, K, c, pa), lines(fb, N, K, c, pb)

    def diff(m):  # plain bound of a minus plain bound of b
        return max(x + y * m for x, y in A.values()) - max(x + y * m for x, y in B.values())

    out = []
    for aa, ba in A.values():
        for ab, bb in B.values():
            if ba == bb:
                continue
            m = (ab - aa) / (ba - bb)
            on_a = math.isclose(aa + ba * m, max(x + y * m for x, y in A.values()), rel_tol=1e-9)
            on_b = math.isclose(ab + bb * m, max(x + y * m for x, y in B.values()), rel_tol=1e-9)
            crosses = diff(m * (1 - 1e-6)) * diff(m * (1 + 1e-6)) < 0
            if 1 <= m <= m_max and on_a and on_b and crosses:
                out.append(m)
    return sorted(out)


PAIRS = [("w4a16", "mma_sync", "a8w8", "mma_sync", {}), ("w4a16", "mma_sync", "fp16", "library", {}),
         ("fp16", "library", "a8w8", "library", {}), ("w4a16", "mma_sync", "fp16", "mma_sync", {"tile_m": 16})]
for fa, pa, fb, pb, kw in PAIRS:
    cf = closed_form(fa, pa, fb, pb, N0, K0, CEIL)
    plain = rl.crossovers(fa, fb, N0, K0, CEIL, path_a=pa, path_b=pb, alu=False)
    three = rl.crossovers(fa, fb, N0, K0, CEIL, path_a=pa, path_b=pb, **kw)
    agree = [math.ceil(m) for m in cf] == [int(m) for m in plain]
    tile = f", {kw['tile_m']}-row tiles" if kw else ""
    print(f"{fa} ({pa}) / {fb} ({pb}){tile}:")
    print(f"  closed form (plain roofline)     M* = {', '.join(f'{m:.2f}' for m in cf) or 'none'}")
    print(f"  numeric, plain roofline          M* = {xo._fmt_ms(plain)}   "
          f"({('= the first integer above the closed form' if cf else 'agrees: no crossing') if agree else 'DIFFERS'})")
    print(f"  numeric, three ceilings          M* = {xo._fmt_ms(three)}")
for f, p in (("fp16", "library"), ("w4a16", "mma_sync"), ("a8w8", "mma_sync")):
    (am, bm), (_, bt) = lines(f, N0, K0, CEIL, p).values()
    print(f"ridge of {f:5s} ({p}): closed form {am / (bt - bm):7.1f}, roofline.ridge_m "
          f"{rl.ridge_m(f, N0, K0, CEIL, path=p):7.1f}")

# %% [markdown]
# Read the last pair: with 16-row tiles (the skinny tensor-core kernel re-dequantizes every weight
# for each 16 rows of `M`) the ALU staircase overtakes the MMA line and A16W4 crosses *above* fp16
# at the same MMA rate — a crossover the plain roofline cannot see. With 128-row tiles the
# dequant stays under the MMA time, and the two models agree.
#
# ## The H100 measurements
#
# The committed run measured the lab's fp16 and dequant-then-MMA kernels and their library peers
# (cuBLAS fp16 through CuPy, torch's int4 kernel) on one H100, each checked before it was timed.
# `labkernels crossover` without a GPU re-plots them over the model; the figure is its sweep
# figure (lines MODELED from the measured ceilings; points MEASURED; dashed lines: formats with
# no kernel yet).

# %%
sweep_fig = xo.sweep_figure(RES)
show(sweep_fig)
print(f"card and date of the points: {WHEN}; formats with no kernel yet (model only): {', '.join(RES.model_only)}")

# %% [markdown]
# The fastest measured curve per `M`, and every crossing of two measured curves of different
# formats beside the two models' (`three` = three ceilings, `plain` = plain roofline; each model
# uses the MMA rate of the kernels in the pair: `mma.sync` for the lab's, the library's for a peer):

# %%
for (N, K), res in RUNS.items():
    print(f"N={N} K={K} — {res.measured_label}")
    for w in res.winners:
        if w["source"] == "measured":
            print(f"  M={w['M']:<6d} fastest measured: {w['kernel']:26s} {w['time_us']:9.1f} µs")
    for x in res.measured_x:
        if not x["measured"]:
            continue
        hi = 2 ** math.ceil(math.log2(x["range"][1]))
        plain = rl.crossovers(x["fmt_a"], x["fmt_b"], N, K, res.ceilings, path_a=x["path_a"], path_b=x["path_b"],
                              m_max=hi, alu=False)
        for f in x["measured"]:
            print(f"  {x['a']} / {x['b']}: MEASURED M* ≈ {f['m']:.0f} (between {f['between'][0]} and "
                  f"{f['between'][1]}); three {xo._fmt_ms(x['predicted'])}, plain {xo._fmt_ms(plain)}")

# %% [markdown]
# The measured crossings sit well below the models' — the models assume each kernel reaches its
# bound, and near `M*` the lab's W4A16 kernels do not, while cuBLAS does (lesson 1 shows why:
# the GEMV and skinny kernels leave bandwidth unused, the GEMM leaves SMs idle at moderate `M`).

# %%
for name in ("w4a16 lab (fastest)", "fp16/v00_cublas (peer)", "dequant/v00_torch_int4 (peer)"):
    cv = next(c for c in RES.curves if c.name == name)
    print(f"{name:30s} % of bound: " + "  ".join(f"M={m}: {r['pct_of_bound']:.0f}%"
                                                 for m, r in sorted(cv.points.items()) if m in (1, 16, 64, 256, 4096)))

# %% [markdown]
# ## The claim, part by part, against the H100
#
# Each part below is held against the committed measurements where the lab has the kernels to
# measure it; where it has not, the cell says so and shows what the model predicts instead.
#
# ### 1. A16W4 wins when memory-bound

# %%
def curve(res, name):
    return {m: r["time_us"] for m, r in next(c for c in res.curves if c.name == name).points.items()}


VERDICT = {}
for (N, K), res in RUNS.items():
    lab, cub = curve(res, "w4a16 lab (fastest)"), curve(res, "fp16/v00_cublas (peer)")
    tor, w8 = curve(res, "dequant/v00_torch_int4 (peer)"), curve(res, "w8a16 lab (fastest)")
    mem_bound = [m for m in sorted(set(lab) & set(cub))
                 if rl.bound("fp16", m, N, K, res.ceilings, path="library").kind == "memory"]
    wins = [m for m in mem_bound if lab[m] < cub[m]]
    model_x = rl.bound("fp16", 1, N, K, res.ceilings, path="library").time_us / \
        rl.bound("w4a16", 1, N, K, res.ceilings).time_us
    model_a8 = rl.bound("a8w8", 1, N, K, res.ceilings).time_us / rl.bound("w4a16", 1, N, K, res.ceilings).time_us
    print(f"N={N} K={K}, M=1: lab W4A16 {lab[1]:.1f} µs, cuBLAS fp16 {cub[1]:.1f} µs → {cub[1] / lab[1]:.2f}x "
          f"(model {model_x:.2f}x); torch int4 {tor[1]:.1f} µs → {cub[1] / tor[1]:.2f}x")
    print(f"  memory-bound M for fp16 (model): {mem_bound[0]}–{mem_bound[-1]}; lab W4A16 faster than cuBLAS at "
          f"M = {', '.join(map(str, wins))}; slower at {', '.join(str(m) for m in mem_bound if m not in wins)}")
    print(f"  against 8-bit weights: lab W8A16 GEMV (the weight bytes an A8W8 GEMV moves) {w8[1]:.1f} µs → W4A16 "
          f"{w8[1] / lab[1]:.2f}x faster (model A8W8 / A16W4 at M=1: {model_a8:.2f}x)")
    VERDICT.setdefault(1, []).append((cub[1] / lab[1], w8[1] / lab[1], max(wins), mem_bound[-1]))

# %% [markdown]
# ### 2. A8W8 wins when compute-bound
#
# The lab has no A8W8 kernel yet (the int8 family is still to come), so there is no measured A8W8
# curve: this part is **modeled only**. What *is* measured on the card is the ceiling it rests on,
# the int8 MMA rate against fp16's, with `mma.sync` and with cuBLAS on an 8192³ GEMM.

# %%
a8_kernels = [v.id for v in registry.variants(fmt="a8w8")]
print(f"registered A8W8 kernels: {', '.join(a8_kernels) or 'none yet'}")
print(f"measured int8 / fp16 rate: mma.sync {CEIL.mma['int8'] / CEIL.mma['fp16']:.2f}x, cuBLAS 8192³ "
      f"{CEIL.library['int8'] / CEIL.library['fp16']:.2f}x")
for pa, pb in (("mma_sync", "mma_sync"), ("library", "library")):
    xs = rl.crossovers("w4a16", "a8w8", N0, K0, CEIL, path_a=pa, path_b=pb)
    xf = rl.crossovers("fp16", "a8w8", N0, K0, CEIL, path_a=pa, path_b=pb)
    big = 4096
    sp = rl.bound("w4a16", big, N0, K0, CEIL, path=pa).time_us / rl.bound("a8w8", big, N0, K0, CEIL, path=pb).time_us
    print(f"MODELED ({pa} rates): A8W8 faster than A16W4 from M* = {xo._fmt_ms(xs)}, than fp16 from "
          f"M* = {xo._fmt_ms(xf)}; at M={big} A8W8 is {sp:.2f}x faster than A16W4")
lab = curve(RES, "w4a16 lab (fastest)")
a8_lib = rl.bound("a8w8", 4096, N0, K0, CEIL, path="library").time_us
print(f"an A8W8 kernel at its cuBLAS-rate bound at M=4096 ({a8_lib:.0f} µs, MODELED) would be {lab[4096] / a8_lib:.1f}x "
      f"faster than the lab's measured W4A16 GEMM ({lab[4096]:.0f} µs)")
VERDICT[2] = (CEIL.mma["int8"] / CEIL.mma["fp16"], CEIL.library["int8"] / CEIL.library["fp16"],
              rl.crossovers("w4a16", "a8w8", N0, K0, CEIL))

# %% [markdown]
# ### 3. When compute-bound, A16W4 can fall below 16-bit — because of the software dequant
#
# Two things to check: *whether* the A16W4 kernels fall below fp16 when the layer is
# compute-bound (measured), and *whether the dequant is why* (the model splits the measured gap
# into the kernel's distance from its bound, the MMA rate it runs at, and the dequant's share).

# %%
for (N, K), res in RUNS.items():
    lab, cub, tor = (curve(res, n) for n in ("w4a16 lab (fastest)", "fp16/v00_cublas (peer)",
                                             "dequant/v00_torch_int4 (peer)"))
    big = max(set(lab) & set(cub) & set(tor))  # the largest M all three were measured at
    b4, b16 = rl.bound("w4a16", big, N, K, res.ceilings), rl.bound("fp16", big, N, K, res.ceilings, path="library")
    print(f"N={N} K={K}, M={big} (fp16 {b16.kind}-bound): lab W4A16 {lab[big]:.0f} µs = {cub[big] / lab[big]:.2f}x "
          f"cuBLAS fp16's speed; torch int4 {tor[big]:.0f} µs = {cub[big] / tor[big]:.2f}x")
    gap = lab[big] / cub[big]
    f_kernel, f_rate, f_cub = lab[big] / b4.time_us, b4.time_us / b16.time_us, b16.time_us / cub[big]
    print(f"  the {gap:.2f}x gap = {f_kernel:.2f} (lab kernel / its bound) × {f_rate:.2f} (mma.sync vs cuBLAS "
          f"rate) × {f_cub:.2f} (cuBLAS's bound / cuBLAS)")
    print(f"  the dequant in the model: t_alu = {b4.alu_us:.0f} µs = {100 * b4.alu_us / b4.mma_us:.0f}% of t_mma "
          f"(128-row tiles): at most {b4.serial_us / b4.time_us:.2f}x even if never overlapped")
    b16t = rl.bound("w4a16", big, N, K, res.ceilings, tile_m=16)
    print(f"  with 16-row tiles: t_alu = {b16t.alu_us:.0f} µs, {b16t.kind}-bound, "
          f"{b16t.time_us / rl.bound('fp16', big, N, K, res.ceilings).time_us:.2f}x the fp16 bound at the same rate")
    VERDICT.setdefault(3, []).append((cub[big] / lab[big], cub[big] / tor[big], b4.serial_us / b4.time_us, f_kernel))

# %% [markdown]
# ### 4. Hardware block scaling removes that
#
# On Blackwell (sm_100a, sm_120a) MXFP4/NVFP4 scales are applied *inside* the MMA instruction, so
# the dequant leaves the CUDA cores. The H100 has no such instruction and the lab has no
# block-scaled kernel yet: this part is **modeled only** — the model of the H100 (emulated
# block scaling) against the datasheet model of a B200 (native).

# %%
from labkernels import device as dev  # noqa: E402

print(f"H100 (sm_90) block-scaled MMA: tcgen05 {dev.capabilities((9, 0))['tcgen05']}, mma block_scale "
      f"{dev.capabilities((9, 0))['mma_block_scale']}; registered MXFP4/NVFP4 kernels: "
      f"{', '.join(v.id for f in ('mxfp4', 'nvfp4') for v in registry.variants(fmt=f)) or 'none yet'}")
B200 = rl.datasheet_ceilings("b200")
for c, where in ((CEIL, f"H100 (measured {RES.committed['date']})"), (B200, "B200 (datasheet)")):
    for f in ("w4a16", "nvfp4", "mxfp4"):
        b = rl.bound(f, 4096, N0, K0, c)
        ex = rl.get_format(f).execution(c.cc)
        print(f"  {where:24s} {f:6s} M=4096: {ex.label or 'native'}; MMA {ex.mma}; t_alu {b.alu_us:6.0f} µs "
              f"= {100 * b.alu_us / b.mma_us:3.0f}% of t_mma; bound {b.time_us:6.0f} µs")
x_b = rl.crossovers("w4a16", "nvfp4", N0, K0, B200)
print(f"MODELED on the B200: NVFP4 faster than W4A16 from M* = {xo._fmt_ms(x_b)}")
VERDICT[4] = (rl.bound("nvfp4", 4096, N0, K0, CEIL).alu_us, rl.bound("nvfp4", 4096, N0, K0, B200).alu_us)

# %% [markdown]
# The two models side by side (`labkernels.widgets.draw`, the dashboard's drawing function):
# the H100's measured ceilings, with the committed points, and the B200's datasheet.

# %%
from matplotlib.figure import Figure  # noqa: E402

fig = Figure(figsize=(10.5, 10))
ax1, ax2 = fig.subplots(2, 1)
widgets.draw(GPU_KEY + widgets.MEASURED, N0, K0, ["fp16", "w4a16", "nvfp4"], ax=ax1, results=RESULTS_ROOT)
widgets.draw("b200", N0, K0, ["fp16", "w4a16", "nvfp4"], ax=ax2)
fig.subplots_adjust(hspace=0.35)
show(fig)

# %% [markdown]
# ## The claim vs the H100, in one table

# %%
v1, v3 = VERDICT[1][0], VERDICT[3][0]  # the first committed shape
fp4_kernels = [v.id for f in ("mxfp4", "nvfp4") for v in registry.variants(fmt=f)]
s1 = (f"measured: holds at M ≤ {v1[2]}, not up to M = {v1[3]}" if v1[0] > 1 and v1[2] < v1[3] else
      "measured: holds" if v1[0] > 1 else "measured: does not hold")
s3 = ("measured: the slowdown holds; " if v3[0] < 1 else "measured: no slowdown; ") + \
     ("the model does not put its cause in the dequant" if v3[2] < v3[3] else "consistent with the dequant")
rows = ["| part of the claim | on the committed H100 measurements | status |", "|---|---|---|",
        f"| A16W4 wins memory-bound | M=1: {v1[0]:.2f}x cuBLAS fp16, {v1[1]:.2f}x the 8-bit-weight GEMV; faster than "
        f"cuBLAS up to M={v1[2]} of the memory-bound M ≤ {v1[3]} | {s1} |",
        f"| A8W8 wins compute-bound | A8W8 kernels: {', '.join(a8_kernels) or 'none'}; measured int8/fp16 rate "
        f"{VERDICT[2][0]:.2f}x (mma.sync), {VERDICT[2][1]:.2f}x (cuBLAS); model: from M* = "
        f"{xo._fmt_ms(VERDICT[2][2])} | {'modeled only' if not a8_kernels else 'kernels exist: measure them'} |",
        f"| A16W4 below 16-bit when compute-bound, because of software dequant | lab W4A16 {v3[0]:.2f}x, torch int4 "
        f"{v3[1]:.2f}x cuBLAS fp16's speed; the model's dequant explains at most {v3[2]:.2f}x, the kernel's distance "
        f"from its bound {v3[3]:.2f}x | {s3} |",
        f"| hardware block scaling removes it | block-scaled MMA on sm_90: "
        f"{'yes' if dev.capabilities((9, 0))['mma_block_scale'] else 'no'}; MXFP4/NVFP4 kernels: "
        f"{', '.join(fp4_kernels) or 'none'}; model t_alu NVFP4 {VERDICT[4][0]:.0f} µs (H100, emulated) vs "
        f"{VERDICT[4][1]:.0f} µs (B200, native) | {'modeled only' if not fp4_kernels else 'measure on Blackwell'} |"]
display(Markdown("\n".join(rows)))

# %% [markdown]
# ## On a GPU: measure once, for the dashboard
#
# On a GPU the next cell sweeps the lab's kernels and library peers at the committed shape, once
# (every kernel checked, then timed), and keeps the points in the dashboard's cache: choosing
# "this GPU" in the dashboard shows them, and its button measures another shape once. Moving a
# slider never re-runs a benchmark. Without a GPU the cell only says so.

# %%
if gpu is None:
    print("no GPU here: the dashboard shows the committed H100 points (choose 'h100-sxm (measured)' or 'h100-sxm')")
else:
    widgets.CACHE.ms = (1, 16, 256) if SMALL else xo.QUICK_MS
    recs, label = widgets.CACHE.measure(N0, K0, ["fp16", "w4a16", "w8a16"], log=print)
    print(f"{len(recs)} points {label}")

# %% [markdown]
# ## The dashboard
#
# Choose a GPU (a spec-table key: datasheet figures; "h100-sxm (measured)": the committed
# measured ceilings; on a GPU, "this GPU"), a layer (a preset, or N and K), the formats, and the
# MMA rate the bounds use. The lines are the model; the gold crosses mark where two bounds cross;
# the red diamonds mark measured crossings. Needs ipywidgets (Colab has it; elsewhere
# `pip install ipywidgets`).

# %%
widgets.crossover_dashboard(results=RESULTS_ROOT)

# %% [markdown]
# ## What next
#
# * **Measure the other side.** The int8 family (A8W8, W4A8) turns part 2 from modeled into
#   measured; `labkernels crossover` picks each new kernel up from the registry.
# * **Bring the measured crossover to the model's.** The lab's W4A16 kernels, not the dequant,
#   set the measured `M*` on the H100 (lesson 1, "What next").
# * **Block scaling on real hardware.** The block-scaled kernels compile for sm_100a/sm_120a; a
#   Blackwell run would measure part 4.
