"""Regenerate README.md's measured tables from committed results (never typed by hand).

    python benchmarks/readme.py          # rewrite the sections between the markers
    python benchmarks/readme.py --check  # exit 1 if README.md is out of date

Each section sits between ``<!-- results:NAME -->`` and ``<!-- /results:NAME -->``.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "h100-sxm-2026-11-26"


def _load(name):
    return json.loads((RESULTS / name).read_text())


def _env_line(env) -> str:
    return (f"{env.get('gpu', '?')}, driver {env.get('driver', '?')} (CUDA {env.get('driver_cuda', '?')}), "
            f"CuPy {env.get('cupy-cuda13x', '?')}, torch {env.get('torch', '?')}, {env.get('date', '?')}")


def ceilings_table() -> str:
    d = _load("foundation/ceilings.json")
    c = d["ceilings"]
    rows = [("copy bandwidth (read + write)", f"{c['bw'] / 1e12:.2f} TB/s")]
    for p in ("fp16", "int8", "fp8"):
        unit = "TOP/s" if p == "int8" else "TFLOP/s"
        rows.append((f"`mma.sync` {p} (register-only microbenchmark)", f"{c['mma'][p] / 1e12:.0f} {unit}"))
    for p, lib in (("fp16", "cuBLAS fp16 8192³ (CuPy)"), ("int8", "cuBLAS int8 8192³ (`torch._int_mm`)"),
                   ("fp8", "cuBLASLt fp8 8192³ (`torch._scaled_mm`)")):
        unit = "TOP/s" if p == "int8" else "TFLOP/s"
        rows.append((lib, f"{c['library'][p] / 1e12:.0f} {unit}"))
    rows.append(("`lop3.b32` (dequant ALU unit)", f"{c['alu'] / 1e12:.1f} T instr/s"))
    rows.append(("FP32 FMA", f"{c['ffma'] / 1e12:.1f} T instr/s"))
    out = [f"Measured on {_env_line(d['env'])}.", "", "| ceiling | rate |", "|---|---|"]
    out += [f"| {a} | {b} |" for a, b in rows]
    out += ["", "On Hopper `mma.sync` e4m3 is not a Tensor Core fp8 instruction: ptxas unpacks e4m3 to "
            "f16 and issues two fp16 MMAs, hence its rate far below fp16's. Only `wgmma` reaches the fp8 rate."]
    return "\n".join(out)


def w4a16_table() -> str:
    d = _load("dequant/dequant.json")
    recs = d["records"]
    out = [f"Measured on {_env_line(d['env'])}; group 128; medians of 30 calls from DRAM. The bound is the "
           "three-ceiling bound (memory at the measured copy bandwidth, fp16 `mma.sync` rate, dequant ALU).", ""]
    out += ["| N×K | M | fastest lab W4A16 kernel | µs | GB/s | TFLOP/s | % of its bound | vs cuBLAS fp16 | vs torch int4 |",
            "|---|---|---|---|---|---|---|---|---|"]
    for N, K in d["shapes"]:
        sel = [r for r in recs if r["N"] == N and r["K"] == K]
        cub = {r["M"]: r for r in sel if r["kernel"] == "fp16/v00_cublas"}
        tor = {r["M"]: r for r in sel if r["kernel"] == "dequant/v00_torch_int4"}
        lab = {}
        for r in sel:
            if r["fmt"] == "w4a16" and r["kernel"] != "dequant/v00_torch_int4":
                if r["M"] not in lab or r["time_us"] < lab[r["M"]]["time_us"]:
                    lab[r["M"]] = r
        for m in (1, 16, 256, 4096):
            if m not in lab:
                continue
            r = lab[m]
            vc = f"{cub[m]['time_us'] / r['time_us']:.2f}×" if m in cub else "—"
            vt = f"{tor[m]['time_us'] / r['time_us']:.2f}×" if m in tor else "—"
            out.append(f"| {N}×{K} | {m} | `{r['kernel'].split('/')[1]}` | {r['time_us']:.1f} | {r['gbps']:.0f} | "
                       f"{r['tflops']:.1f} | {r['pct_of_bound']:.0f}% ({r['bound_kind']}) | {vc} | {vt} |")
    return "\n".join(out)


SECTIONS = {"ceilings": ceilings_table, "w4a16": w4a16_table}


def render(text: str) -> str:
    for name, fn in SECTIONS.items():
        pat = re.compile(rf"(<!-- results:{name} -->\n).*?(<!-- /results:{name} -->)", re.S)
        if not pat.search(text):
            raise ValueError(f"README.md has no <!-- results:{name} --> section")
        text = pat.sub(lambda m: m.group(1) + fn() + "\n" + m.group(2), text)
    return text


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true")
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
