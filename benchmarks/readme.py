"""Regenerate README.md's measured tables from committed results (never typed by hand).

    python benchmarks/readme.py          # rewrite the sections between the markers, and the
                                         # committed crossover figures (FIGURES below)
    python benchmarks/readme.py --check  # exit 1 if README.md is out of date (markdown only)

Each section sits between ``<!-- results:NAME -->`` and ``<!-- /results:NAME -->``. The
crossover sections and figures come from ``labkernels.crossover.run(measure=False)`` over the
committed H100 results: the same numbers ``labkernels crossover`` prints without a GPU.
The figures are binary and matplotlib-version dependent, so ``--check`` verifies only the
markdown; ``--no-figures`` rewrites the markdown alone.
"""
from __future__ import annotations

import argparse
import json
import math
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "h100-sxm-2026-11-26"
if str(ROOT) not in sys.path:  # the checkout's labkernels, installed or not
    sys.path.insert(0, str(ROOT))
GPU_KEY = "h100-sxm"
#: The crossover figures: written by ``python benchmarks/readme.py`` (not checked by ``--check``).
FIGURES_DIR = RESULTS.parent / "h100-sxm-2026-11-27" / "crossover"  # the newest run the figures draw on
FIGURE_SHAPE = (8192, 8192)
FIGURE_FORMATS = ("fp16", "w4a16", "w8a16", "a8w8", "mxfp4")
#: The measured pairs of the crossover table: (label, curve name, curve name).
PAIRS = (("lab W4A16 (fastest kernel per M) vs cuBLAS fp16", "w4a16 lab (fastest)", "fp16/v00_cublas (peer)"),
         ("torch int4 (`_weight_int4pack_mm`) vs cuBLAS fp16", "dequant/v00_torch_int4 (peer)",
          "fp16/v00_cublas (peer)"))


def _load(name, root=RESULTS):
    return json.loads((Path(root) / name).read_text())


def _env_line(env) -> str:
    return (f"{env.get('gpu', '?')}, driver {env.get('driver', '?')} (CUDA {env.get('driver_cuda', '?')}), "
            f"CuPy {env.get('cupy-cuda13x', '?')}, torch {env.get('torch', '?')}, {env.get('date', '?')}")


def ceilings_table() -> str:
    d = _load("ceilings/ceilings.json", RESULTS.parent / "h100-sxm-2026-11-27")
    c = d["ceilings"]
    unit = lambda p: "TOP/s" if p == "int8" else "TFLOP/s"  # noqa: E731
    rows = [("copy bandwidth (read + write)", f"{c['bw'] / 1e12:.2f} TB/s"),
            ("`dp4a` int8 (CUDA cores, register-only chains)", f"{c['dp4a'] / 1e12:.0f} TOP/s")]
    for p in ("fp16", "int8"):
        rows.append((f"WMMA m16n16k16 {p} (register-only)", f"{c['wmma'][p] / 1e12:.0f} {unit(p)}"))
    for p in ("fp16", "int8", "fp8"):
        rows.append((f"`mma.sync` {p} (register-only microbenchmark)", f"{c['mma'][p] / 1e12:.0f} {unit(p)}"))
    for p in ("fp16", "int8", "fp8"):
        rows.append((f"`wgmma` m64n256 {p} (from shared memory, no loads)", f"{c['wgmma'][p] / 1e12:.0f} {unit(p)}"))
    for p, lib in (("fp16", "cuBLAS fp16 8192³ (CuPy)"), ("int8", "cuBLAS int8 8192³ (`torch._int_mm`)"),
                   ("fp8", "cuBLASLt fp8 8192³ (`torch._scaled_mm`)")):
        rows.append((lib, f"{c['library'][p] / 1e12:.0f} {unit(p)}"))
    rows.append(("`lop3.b32` (dequant ALU unit)", f"{c['alu'] / 1e12:.1f} T instr/s"))
    rows.append(("FP32 FMA", f"{c['ffma'] / 1e12:.1f} T instr/s"))
    out = [f"Measured on {_env_line(d['env'])} (`labkernels/kernels/ceilings/`). Each kernel is bounded at "
           "the rate of the instruction it is built on (`labkernels.runner.kernel_path`).", "",
           "| ceiling | rate |", "|---|---|"]
    out += [f"| {a} | {b} |" for a, b in rows]
    out += ["", "On Hopper `mma.sync` e4m3 is not a Tensor Core fp8 instruction: ptxas unpacks e4m3 to "
            "f16 and issues two fp16 MMAs, hence its rate far below fp16's. Only `wgmma` reaches the fp8 rate. "
            "WMMA int8 m16n16k16 becomes `IMMA.16816` in the SASS (half the k of m16n8k32's `IMMA.16832`), "
            f"so it reaches {100 * c['wmma']['int8'] / c['mma']['int8']:.0f}% of the `mma.sync` int8 rate; "
            f"`dp4a` issues at the integer rate ({c['dp4a'] / 8 / c['alu']:.2f}× the `lop3` rate, 8 ops each)."]
    return "\n".join(out)


def w4a16_table() -> str:
    d = _load("dequant/dequant.json", RESULTS.parent / "h100-sxm-2026-11-27")
    recs = d["records"]
    out = [f"Measured on {_env_line(d['env'])}; group 128; medians of 30 calls from DRAM. The bound is the "
           "three-ceiling bound (memory at the measured copy bandwidth, fp16 `mma.sync` rate, dequant ALU).", ""]
    out += ["| N×K | M | fastest lab W4A16 kernel | µs | GB/s | TFLOP/s | % of its bound | vs cuBLAS fp16 | vs torch int4 |",
            "|---|---|---|---|---|---|---|---|---|"]
    from labkernels import crossover as xo

    for N, K in d["shapes"]:
        sel = [r for r in recs if r["N"] == N and r["K"] == K]
        curves = {c.name: c.points for c in xo.measured_curves(sel, ["fp16", "w4a16"])}
        cub, tor = curves["fp16/v00_cublas (peer)"], curves["dequant/v00_torch_int4 (peer)"]
        lab = curves["w4a16 lab (fastest)"]
        for m in (1, 16, 256, 4096):
            if m not in lab:
                continue
            r = lab[m]
            vc = f"{cub[m]['time_us'] / r['time_us']:.2f}×" if m in cub else "—"
            vt = f"{tor[m]['time_us'] / r['time_us']:.2f}×" if m in tor else "—"
            out.append(f"| {N}×{K} | {m} | `{r['kernel'].split('/')[1]}` | {r['time_us']:.1f} | {r['gbps']:.0f} | "
                       f"{r['tflops']:.1f} | {r['pct_of_bound']:.0f}% ({r['bound_kind']}) | {vc} | {vt} |")
    return "\n".join(out)


def int8_table() -> str:
    d = _load("int8/int8.json", RESULTS.parent / "h100-sxm-2026-11-27")
    recs = d["records"]
    out = [f"Measured on {_env_line(d['env'])}; medians of 30 calls from DRAM; A8W8: int8 per-token activations, "
           "int8 per-channel weights; W4A8: int4 weights, group 128. The bound is the three-ceiling bound at the "
           "measured rate of the instruction the kernel is built on (`dp4a`, WMMA, `mma.sync` or `wgmma`: see the "
           "ceilings above); cuBLAS int8 (`torch._int_mm`, int32 out, M > 16) is timed without its scales.", ""]
    out += ["| N×K | M | fastest lab A8W8 kernel | µs | TOP/s | % of its bound | vs cuBLAS int8 | vs cuBLAS fp16 "
            "| fastest lab W4A8 | µs | vs lab W4A16 |", "|---|---|---|---|---|---|---|---|---|---|---|"]

    from labkernels import crossover as xo

    for N, K in d["shapes"]:
        sel = [r for r in recs if r["N"] == N and r["K"] == K]
        curves = {c.name: c.points for c in xo.measured_curves(sel, ["a8w8", "w4a8", "w4a16", "fp16"])}
        a8, w48, w4 = (curves.get(f"{f} lab (fastest)", {}) for f in ("a8w8", "w4a8", "w4a16"))
        c8, c16 = curves.get("int8/v00_torch_int_mm (peer)", {}), curves.get("fp16/v00_cublas (peer)", {})
        for m in (1, 16, 256, 4096, 8192):
            if m not in a8:
                continue
            r = a8[m]
            v8 = f"{c8[m]['time_us'] / r['time_us']:.2f}×" if m in c8 else "— (M ≤ 16)"
            v16 = f"{c16[m]['time_us'] / r['time_us']:.2f}×" if m in c16 else "—"
            q = w48.get(m)
            qk = f"`{q['kernel'].split('/')[1]}`" if q else "—"
            qt = f"{q['time_us']:.1f}" if q else "—"
            qv = f"{w4[m]['time_us'] / q['time_us']:.2f}×" if q and m in w4 else "—"
            out.append(f"| {N}×{K} | {m} | `{r['kernel'].split('/')[1]}` | {r['time_us']:.1f} | {r['tflops']:.0f} | "
                       f"{r['pct_of_bound']:.0f}% ({r['bound_kind']}) | {v8} | {v16} | {qk} | {qt} | {qv} |")
    at = {(r["kernel"], r["N"], r["M"]): r for r in recs}
    rows = []
    for N, K in d["shapes"]:
        for m in (4096, 8192):
            v10, v06, lib = (at.get((k, N, m)) for k in ("int8/v10_mma_tma", "int8/v06_mma_gemm",
                                                        "int8/v00_torch_int_mm"))
            if v10 and v06 and lib:
                rows.append(f"{N}×{K}, M = {m}: {v10['tflops']:.0f} TOP/s, {lib['time_us'] / v10['time_us']:.2f}× "
                            f"`torch._int_mm` (v06: {lib['time_us'] / v06['time_us']:.2f}×)")
    if rows:
        out += ["", "The lab's fastest `mma.sync` GEMM is `int8/v10_mma_tma`: v06's m16n8k32 and `ldmatrix` fed by a "
                "TMA producer through mbarriers, fragments a k-step ahead, a persistent grid (same run as its peer): "
                + "; ".join(rows) + "."]
    return "\n".join(out)


def blockscaled_table() -> str:
    """Lesson 3: the block-scaled GEMVs at M = 1 and the MXFP8 GEMM beside plain FP8."""
    path = "h100-sxm-2026-11-27/blockscaled/blockscaled.json"
    d = _load(path, RESULTS.parent)
    recs = d["records"]
    bw = d["ceilings"]["bw"]
    out = [f"Measured on {_env_line(d['env'])}; medians of 30 calls from DRAM (`benchmarks/results/{path}`). "
           "Bytes are the format's minimum: 4.25 bits a weight for MXFP4, 4.5 for NVFP4, 8.25 for MXFP8, "
           "scales included.", "",
           "| N×K | M = 1 | µs | GB/s | % of copy bandwidth | vs cuBLAS fp16 |", "|---|---|---|---|---|---|"]
    for N, K in d["shapes"]:
        at = {r["kernel"]: r for r in recs if (r["M"], r["N"], r["K"]) == (1, N, K)}
        cub = at["fp16/v00_cublas"]
        for kid in ("blockscaled/v02_mxfp4_gemv", "blockscaled/v02_nvfp4_gemv", "blockscaled/v03_mxfp8_gemv",
                    "dequant/v04_gemv_lop3", "fp8/v02_gemv"):
            r = at.get(kid)
            if r:
                out.append(f"| {N}×{K} | `{kid}` ({r['fmt']}) | {r['time_us']:.1f} | {r['gbps']:.0f} | "
                           f"{100 * r['gbps'] * 1e9 / bw:.0f}% | {cub['time_us'] / r['time_us']:.2f}× |")
    out += ["", "TFLOP/s of the Hopper GEMMs (`wgmma`): block scaling emulated against plain FP8 on the same "
            "tiles and pipeline (v04 against FP8 v04: `cp.async`; v07 against FP8 v05: TMA, a producer and "
            "decoupled consumer warpgroups), and cuBLASLt. MXFP4 is widened to e4m3 and runs the MXFP8 v07 "
            "kernel (`v07_mxfp4_tma`; through MXFP8 v04 it is `v04_mxfp4_wgmma`, in the figures); NVFP4 is "
            "widened to fp16 with its block scales folded in (exact) and runs an fp16 `wgmma` GEMM with no "
            "per-block work.", "",
            "| N×K | M | MXFP8 `v04` | FP8 `v04` | MXFP8 `v07_mxfp8_tma` | FP8 `v05_wgmma_tma` | MXFP4 `v07` "
            "| NVFP4 `v04` | `torch._scaled_mm` | MXFP8 / FP8 time (v04, v07) |", "|---|---|---|---|---|---|---|---|---|---|"]
    cell = lambda r: f"{r['tflops']:.0f}" if r else "—"  # noqa: E731
    for N, K in d["shapes"]:
        at = {(r["kernel"], r["M"]): r for r in recs if (r["N"], r["K"]) == (N, K)}
        for m in (256, 4096, 8192):
            mx, f8, m7, f5, m4, nv, lib = (at.get((k, m)) for k in (
                "blockscaled/v04_mxfp8_wgmma", "fp8/v04_wgmma", "blockscaled/v07_mxfp8_tma", "fp8/v05_wgmma_tma",
                "blockscaled/v07_mxfp4_tma", "blockscaled/v04_nvfp4_wgmma", "fp8/v00_torch_scaled_mm"))
            if mx and f8:
                r7 = f", {m7['time_us'] / f5['time_us']:.2f}×" if m7 and f5 else ""
                out.append(f"| {N}×{K} | {m} | {cell(mx)} | {cell(f8)} | {cell(m7)} | {cell(f5)} | {cell(m4)} | "
                           f"{cell(nv)} | {cell(lib)} | {mx['time_us'] / f8['time_us']:.2f}×{r7} |")
    f = _load("fp8/fp8.json", RESULTS.parent / "h100-sxm-2026-11-27")
    fat = {(r["kernel"], r["N"], r["M"]): r for r in f["records"]}
    rows = []
    for N, K in f["shapes"]:
        for m in (4096, 8192):
            v5, lib = fat.get(("fp8/v05_wgmma_tma", N, m)), fat.get(("fp8/v00_torch_scaled_mm", N, m))
            if v5 and lib:
                rows.append(f"{N}×{K}, M = {m}: {v5['tflops']:.0f} TFLOP/s, {lib['time_us'] / v5['time_us']:.2f}× "
                            f"`torch._scaled_mm` ({lib['tflops']:.0f})")
    if rows:
        out += ["", "The lab's fastest FP8 GEMM is `fp8/v05_wgmma_tma`: v04's per-stage promotion on a TMA producer "
                "warpgroup feeding two consumer warpgroups through mbarriers, 128 × 192 tiles (the FP8 benchmark, "
                "same run as its peer): " + "; ".join(rows) + "."]
    return "\n".join(out)


# --------------------------------------------------------------------------
# The crossover study (issue 6): measured crossovers beside the two models, the claim vs the H100.
# --------------------------------------------------------------------------


def _run(N, K, formats=("fp16", "w4a16", "w8a16")):
    """``labkernels.crossover.run`` without a GPU: the committed H100 ceilings and results."""
    from labkernels import crossover as xo

    res = xo.run(N=N, K=K, formats=list(formats), out=None, measure=False, gpu=GPU_KEY,
                 results=RESULTS.parent, sim_check=False, log=lambda *a: None)
    if not res.committed:
        raise ValueError(f"no committed {GPU_KEY} results at N={N} K={K} under {RESULTS.parent}")
    return res


def _runs(res) -> str:
    """Where the committed points came from: one or more dated runs."""
    runs = res.committed.get("runs") or [res.committed]
    return "; ".join(f"{r['date']}, committed in `benchmarks/results/{r['name']}`" for r in runs)


def _ms(xs) -> str:
    return ", ".join(f"{x:.0f}" for x in xs) if xs else "none"


def _equal_from(fa, pa, fb, pb, N, K, c, m_max):
    """The first M from which the two bounds are equal up to m_max (None if they never are)."""
    from labkernels import roofline as rl

    def same(m):
        ta = rl.bound(fa, m, N, K, c, path=pa).time_us
        tb = rl.bound(fb, m, N, K, c, path=pb).time_us
        return abs(ta - tb) <= 1e-9 * max(ta, tb)

    if not same(m_max):
        return None
    lo, hi = 0, m_max  # same(hi); the bounds stay equal once both are MMA-bound at one rate
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if same(mid) else (mid, hi)
    return hi


def crossover_table() -> str:
    from labkernels import roofline as rl

    out, head, ratios = [], None, []
    rows = ["| N×K | pair | measured M* | three-ceiling model M* | plain roofline M* |", "|---|---|---|---|---|"]
    for N, K in _load("dequant/dequant.json")["shapes"]:
        res = _run(N, K, ("fp16", "w4a16"))
        head = head or res
        xs = {frozenset((x["a"], x["b"])): x for x in res.measured_x}
        for label, a, b in PAIRS:
            x = xs[frozenset((a, b))]
            lo, hi = x["range"]
            meas = "; ".join(f"≈ {f['m']:.0f} (between {f['between'][0]} and {f['between'][1]})"
                             for f in x["measured"]) or f"none in {lo}–{hi}"
            m_max = 2 ** math.ceil(math.log2(hi))
            plain = rl.crossovers(x["fmt_a"], x["fmt_b"], N, K, res.ceilings, path_a=x["path_a"],
                                  path_b=x["path_b"], m_max=m_max, alu=False)
            cells = []
            for pred in (x["predicted"], plain):
                if pred:
                    cells.append(_ms(pred))
                    continue
                eq = _equal_from(x["fmt_a"], x["path_a"], x["fmt_b"], x["path_b"], N, K, res.ceilings, m_max)
                cells.append(f"none: the bounds meet at M ≈ {eq} and stay equal" if eq else f"none up to {m_max}")
            rows.append(f"| {N}×{K} | {label} | {meas} | {cells[0]} | {cells[1]} |")
            if a == "w4a16 lab (fastest)" and x["measured"] and x["predicted"]:
                ratios.append(f"{x['predicted'][0] / x['measured'][0]['m']:.1f}× at {N}×{K}")
    c = head.ceilings
    out.append(f"Measured on {head.committed['gpu']} ({_runs(head)}); models from the ceilings measured on the same card "
               f"({c.bw / 1e12:.2f} TB/s copy; fp16 {c.mma['fp16'] / 1e12:.0f} TFLOP/s `mma.sync` for the lab's "
               f"kernels, {c.library['fp16'] / 1e12:.0f} cuBLAS for the library peers), never fitted to the sweep. "
               "Measured M*: where the measured curves cross, log-log interpolated between the two M measured "
               "around it; model M*: `labkernels.roofline.crossovers` with the three ceilings (memory, MMA, "
               "dequant ALU) and without the ALU one (the plain roofline).")
    out.append("")
    out += rows
    if ratios:
        out += ["", f"The three-ceiling model puts the lab W4A16 / cuBLAS fp16 crossover {' and '.join(ratios)} "
                    "higher than measured."]
    return "\n".join(out)


def claim_list() -> str:
    """The claim that started the lab, in four parts, against the committed H100 measurements."""
    from labkernels import crossover as xo
    from labkernels import roofline as rl

    N, K = FIGURE_SHAPE
    res = _run(N, K, formats=("fp16", "w4a16", "w8a16", "a8w8", "fp8", "mxfp8", "mxfp4", "nvfp4"))
    c = res.ceilings
    cv = {x.name: x.points for x in res.curves}
    lab, cub, tor, a8 = (cv["w4a16 lab (fastest)"], cv["fp16/v00_cublas (peer)"], cv["dequant/v00_torch_int4 (peer)"],
                         cv["a8w8 lab (fastest)"])
    f8, mx, f4, nv = (cv["fp8 lab (fastest)"], cv["mxfp8 lab (fastest)"], cv["mxfp4 lab (fastest)"],
                      cv["nvfp4 lab (fastest)"])
    t = lambda pts, m: pts[m]["time_us"]  # noqa: E731
    b = lambda f, m, **kw: rl.bound(f, m, N, K, c, **kw)  # noqa: E731
    big = max(m for m in lab if m in cub and m in a8)
    x = next(x for x in res.measured_x if {x["a"], x["b"]} == {"w4a16 lab (fastest)", "fp16/v00_cublas (peer)"})
    wins_up_to = max(m for m in lab if m in cub and t(lab, m) < t(cub, m))
    x_a8 = rl.crossovers("w4a16", "a8w8", N, K, c)
    a8_from = xo.first_m_ahead(a8, lab)
    alu_share = b("w4a16", big).alu_us / b("w4a16", big).mma_us
    x16 = rl.crossovers("w4a16", "fp16", N, K, c, tile_m=16)
    bw = rl.datasheet_ceilings("b200")
    nv_h, nv_b, w4_b = (b("nvfp4", big).alu_us, rl.bound("nvfp4", big, N, K, bw).alu_us,
                        rl.bound("w4a16", big, N, K, bw).alu_us)
    mx_big = max(m for m in mx if m in f8)
    r = res.committed
    lines = [
        f"N = K = {N}; measured on {r['gpu']} ({_runs(res)}); model from the ceilings measured on the same card.",
        "",
        f"1. **A16W4 wins memory-bound.** *Measured, holds:* at M = 1 the lab's W4A16 GEMV takes "
        f"{t(lab, 1):.1f} µs against cuBLAS fp16's {t(cub, 1):.1f} µs ({t(cub, 1) / t(lab, 1):.2f}×; the model "
        f"allows {b('fp16', 1, path='library').time_us / b('w4a16', 1).time_us:.2f}×) and the lab's A8W8 GEMV's "
        f"{t(a8, 1):.1f} µs ({t(a8, 1) / t(lab, 1):.2f}×; model {b('a8w8', 1).time_us / b('w4a16', 1).time_us:.2f}×), "
        f"and stays ahead of fp16 up to M = {wins_up_to} (measured crossover M* ≈ {x['measured'][0]['m']:.0f}; "
        f"model {_ms(x['predicted'])}).",
        f"2. **A8W8 wins compute-bound.** *Measured, holds:* the lab's A8W8 is faster than its W4A16 at every M "
        f"from {a8_from} on (the model: from M* = {_ms(x_a8)} at `mma.sync` rates), "
        f"{t(lab, big) / t(a8, big):.2f}× at M = {big}; the measured ceilings say why: int8 runs "
        f"{c.mma['int8'] / c.mma['fp16']:.2f}× the fp16 rate with `mma.sync` and "
        f"{c.library['int8'] / c.library['fp16']:.2f}× with cuBLAS (8192³).",
        f"3. **A16W4 falls below 16-bit when compute-bound, because of software dequant.** *Measured, the outcome "
        f"holds:* at M = {big} the lab's W4A16 GEMM runs at {t(cub, big) / t(lab, big):.2f}× cuBLAS fp16's speed "
        f"and torch's int4 kernel at {t(cub, big) / t(tor, big):.2f}×. *The cause is not shown:* the model's dequant "
        f"ALU term is {100 * alu_share:.0f}% of the MMA time at 128-row tiles (at most {1 + alu_share:.2f}× even "
        f"with no overlap), while the lab kernel sits at {lab[big]['pct_of_bound']:.0f}% of its bound and `mma.sync` "
        f"reaches {c.mma['fp16'] / c.library['fp16']:.2f} of cuBLAS's fp16 rate. With 16-row tiles (the skinny "
        f"kernel's) the model does make W4A16 ALU-bound, below fp16 at the same `mma.sync` rate from "
        f"M* = {_ms(x16)}.",
        f"4. **Hardware block scaling removes that.** *The cost is measured, its removal modeled:* the H100 has no "
        f"block-scaled MMA, so the lab's MXFP8 GEMM scales every 32-k block's product on the CUDA cores: at "
        f"M = {mx_big} it takes {t(mx, mx_big) / t(f8, mx_big):.1f}× the time of the same kernel doing plain FP8 "
        f"({mx[mx_big]['tflops']:.0f} against {f8[mx_big]['tflops']:.0f} TFLOP/s{_mxfp8_tma_note()}). At M = 1, "
        f"where bytes set the "
        f"time, the scales cost little: the MXFP4 and NVFP4 GEMVs take {t(f4, 1):.1f} and {t(nv, 1):.1f} µs "
        f"against W4A16's {t(lab, 1):.1f} ({t(cub, 1) / t(f4, 1):.2f}× and {t(cub, 1) / t(nv, 1):.2f}× cuBLAS "
        f"fp16). On a B200 (datasheet) the "
        f"model's dequant ALU term for NVFP4 at M = {big} is {nv_b:.0f} µs, native, against {nv_h:.0f} µs emulated "
        f"on the H100 and {w4_b:.0f} µs for W4A16 on the B200; the native kernels (sm_120a) are compiled and "
        f"checked in a model of the instruction here, not yet on such a GPU.",
    ]
    return "\n".join(lines)


def _mxfp8_tma_note() -> str:
    """The crossover study timed MXFP8 v04; the lesson-3 benchmark also has v07 (the TMA pipeline)."""
    d = _load("blockscaled/blockscaled.json", RESULTS.parent / "h100-sxm-2026-11-27")
    at = {(r["kernel"], r["N"], r["M"]): r for r in d["records"]}
    N = d["shapes"][0][0]
    m7, f5 = at.get(("blockscaled/v07_mxfp8_tma", N, 8192)), at.get(("fp8/v05_wgmma_tma", N, 8192))
    if not (m7 and f5):
        return ""
    return (f"; that is v04: `v07_mxfp8_tma`, on the TMA pipeline with decoupled consumers, takes "
            f"{m7['time_us'] / f5['time_us']:.1f}× plain FP8's time on its own pipeline at M = 8192, N = {N}, "
            f"{m7['tflops']:.0f} against {f5['tflops']:.0f} TFLOP/s, the rest still CUDA-core work")


def write_figures(out_dir=FIGURES_DIR) -> list[str]:
    """roofline.png and sweep.png of the crossover study at FIGURE_SHAPE, from the committed results."""
    from labkernels import crossover as xo

    res = _run(*FIGURE_SHAPE, formats=FIGURE_FORMATS)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, fig in zip(("roofline.png", "sweep.png"), xo.figures(res)):
        p = out_dir / name
        tmp = p.with_suffix(".png.tmp")
        fig.savefig(tmp, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
        tmp.replace(p)
        paths.append(str(p))
    return paths


SECTIONS = {"ceilings": ceilings_table, "w4a16": w4a16_table, "int8": int8_table, "blockscaled": blockscaled_table,
            "crossovers": crossover_table, "claim": claim_list}


def render(text: str) -> str:
    for name, fn in SECTIONS.items():
        pat = re.compile(rf"(<!-- results:{name} -->\n).*?(<!-- /results:{name} -->)", re.S)
        if not pat.search(text):
            raise ValueError(f"README.md has no <!-- results:{name} --> section")
        text = pat.sub(lambda m: m.group(1) + fn() + "\n" + m.group(2), text)
    return text


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true", help="exit 1 if README.md is out of date (markdown only)")
    ap.add_argument("--no-figures", action="store_true", help="rewrite README.md only, not the crossover figures")
    args = ap.parse_args()
    readme = ROOT / "README.md"
    old = readme.read_text()
    new = render(old)
    if args.check:
        if new != old:
            print("README.md is out of date: run python benchmarks/readme.py", file=sys.stderr)
            return 1
        return 0
    readme.write_text(new)
    if not args.no_figures:
        for p in write_figures():
            print(f"wrote {Path(p).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
