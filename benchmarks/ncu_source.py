"""Summarize an Nsight Compute source page (per-SASS-instruction counters) by opcode and by stall.

    ncu --import report.ncu-rep --page source --csv --print-source sass > report-sass.csv
    python benchmarks/ncu_source.py report-sass.csv [--top 20]

Prints each opcode's share of the executed warp instructions and of the warp-state samples, each
stall reason's share of the samples with the opcodes it falls on, then the most-sampled
instructions (offset from the kernel's first instruction, the source line, the leading stalls) and
the shared-memory wavefronts of every instruction that has them.
"""
from __future__ import annotations

import argparse
import csv
import gzip
from collections import Counter


def opcode(src: str, modifiers: bool = False) -> str:
    """The instruction's opcode, past any predicate; with its modifiers (LDS.128) or without (LDS)."""
    words = src.split()
    op = words[1] if words[0].startswith("@") else words[0]
    return op if modifiers else op.split(".")[0]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("csv")
    ap.add_argument("--top", type=int, default=20)
    a = ap.parse_args()
    opener = gzip.open if a.csv.endswith(".gz") else open
    with opener(a.csv, "rt") as f:
        rows = list(csv.reader(f))
    start = next(i for i, r in enumerate(rows) if r and r[0] == "Address")
    hdr, data = rows[start], [r for r in rows[start + 1:] if len(r) == len(rows[start])]
    ix = {h: i for i, h in enumerate(hdr)}
    S, E = "Warp Stall Sampling (All Samples)", "Instructions Executed"
    num = lambda r, k: int(float(r[ix[k]] or 0)) if r[ix[k]] not in ("", "-") else 0  # noqa: E731
    stalls = [h for h in hdr if h.startswith("stall_") and "Not Issued" not in h]
    base = int(data[0][0], 16)
    samples, executed = sum(num(r, S) for r in data), sum(num(r, E) for r in data)
    by_op, ex_op = Counter(), Counter()
    by_stall = {s: Counter() for s in stalls}
    for r in data:
        op = opcode(r[1].strip())
        by_op[op] += num(r, S)
        ex_op[op] += num(r, E)
        for s in stalls:
            by_stall[s][op] += num(r, s)
    print(f"{samples} samples, {executed} warp instructions executed")
    print("\nopcode        % executed   % samples")
    for op, c in ex_op.most_common(a.top):
        print(f"  {op:12s} {c / executed * 100:8.2f}   {by_op[op] / samples * 100:8.2f}")
    print("\nstall reason        % samples   on")
    for s in sorted(stalls, key=lambda s: -sum(by_stall[s].values())):
        c = sum(by_stall[s].values())
        if c / samples >= 0.01:
            top = ", ".join(f"{op} {n / samples * 100:.1f}%" for op, n in by_stall[s].most_common(3))
            print(f"  {s[6:]:18s} {c / samples * 100:8.1f}   {top}")
    print("\nmost-sampled instructions (offset, source, % of samples, executions, leading stalls)")
    for r in sorted(data, key=lambda r: -num(r, S))[:a.top]:
        lead = sorted(((num(r, s), s[6:]) for s in stalls), reverse=True)[:2]
        print(f"  {int(r[0], 16) - base:#07x} {r[1].strip()[:46]:46s} {num(r, S) / samples * 100:5.2f}% "
              f"{num(r, E):>9d}  " + ", ".join(f"{n_} {n / samples * 100:.1f}%" for n, n_ in lead if n))
    if "L1 Wavefronts Shared" in ix:
        print("\nshared-memory wavefronts by opcode (per execution)")
        wf, n = Counter(), Counter()
        for r in data:
            w = num(r, "L1 Wavefronts Shared")
            if w:
                op = opcode(r[1].strip(), modifiers=True)
                wf[op] += w
                n[op] += num(r, E)
        total = sum(wf.values())
        for op, w in wf.most_common():
            print(f"  {op:34s} {w / total * 100:6.1f}% of wavefronts, {w / max(n[op], 1):5.1f} each")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
