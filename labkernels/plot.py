"""Roofline and M-sweep figures.

Both figures name the GPU and say whether each ceiling and point is measured
or modeled: a figure drawn from datasheet figures must never pass for a
measurement.
"""
from __future__ import annotations

from typing import Iterable, Sequence

from . import roofline as rl

PREC_LABEL = {"fp16": "fp16 MMA", "int8": "int8 MMA", "fp8": "fp8 MMA", "fp4": "fp4 MMA"}
FMT_COLOR = {
    "fp16": "#444444", "w4a16": "#1f77b4", "w8a16": "#17becf", "a8w8": "#d62728", "w4a8": "#9467bd",
    "fp8": "#ff7f0e", "mxfp8": "#e377c2", "mxfp4": "#2ca02c", "nvfp4": "#8c564b",
}


def _plt():
    import matplotlib.pyplot as plt

    return plt


def _rate_or_zero(ceilings: rl.Ceilings, precision: str, path: str) -> float:
    try:
        return ceilings.mma_rate(precision, path)
    except ValueError:
        return 0.0


def roofline_figure(ceilings: rl.Ceilings, points: Iterable = (), *, path: str = "mma_sync",
                    precisions: Sequence[str] | None = None, title: str | None = None, ax=None,
                    show_alu: Sequence[str] = (), other_paths: Sequence[str] = ()):
    """The classic roofline: achieved TFLOP/s against arithmetic intensity (FLOP/byte), log-log.

    ``points`` are :class:`labkernels.bench.Record` objects (or dicts with the
    same keys): each is drawn at (flops/bytes, tflops) and labelled by kernel.
    ``show_alu`` adds the dequant/ALU roof of those formats (at M-tile reuse).
    ``other_paths`` adds the roofs of other instruction paths (``roofline.PATHS``, e.g.
    ``("dp4a", "wmma", "wgmma")``) for the same precisions, in gray: each kernel is
    held to the roof of the instruction it is built on.
    """
    plt = _plt()
    if ax is None:
        fig, ax = plt.subplots(figsize=(8, 5.5))
    else:
        fig = ax.figure
    modeled = ceilings.source != "measured"
    precs = [p for p in (precisions or rl.MMA_PRECISIONS) if ceilings.mma.get(p)]
    bw = ceilings.bw
    xs = [2.0 ** e for e in range(-2, 15)]
    x_lo, x_hi = xs[0], xs[-1]
    table = ceilings.mma if path == "mma_sync" else ceilings.library
    others = [rl.check_choice("other_paths", o, rl.PATHS) for o in other_paths]
    top = max([table[p] for p in precs] + [_rate_or_zero(ceilings, p, o) for p in precs for o in others]) / 1e12
    ax.plot([x_lo, top * 1e12 / bw], [bw * x_lo / 1e12, top], color="black", lw=1.5)
    ax.text(x_lo * 1.3, bw * x_lo * 1.3 / 1e12 * 1.25, f"memory {bw / 1e12:.2f} TB/s", rotation=0, fontsize=8)
    styles = ["-", "--", "-.", ":"]
    for i, p in enumerate(precs):
        peak = table[p] / 1e12
        ridge = peak * 1e12 / bw
        ax.plot([ridge, x_hi], [peak, peak], color="black", ls=styles[i % 4], lw=1.2)
        ax.text(x_hi, peak * 1.04, f"{PREC_LABEL[p]} {peak:.0f}", ha="right", va="bottom", fontsize=8)
    for j, other in enumerate(others):
        for p in precs:
            peak = _rate_or_zero(ceilings, p, other) / 1e12
            if not peak:  # this path has no rate for this precision (dp4a: int8 only)
                continue
            ridge = peak * 1e12 / bw
            ax.plot([ridge, x_hi], [peak, peak], color="gray", ls=styles[j % 4], lw=1)
            ax.text(x_hi / 8, peak * 1.04, f"{p} {other} {peak:.0f}", ha="right", va="bottom",
                    fontsize=7, color="dimgray")
    for fmt in show_alu:
        ex = rl.get_format(fmt).execution(ceilings.cc)
        if ex.alu_w:
            # ALU roof: 2·tile_m FLOPs per dequantized weight, at alu_w instructions each.
            f = rl.get_format(fmt)
            roof = 2 * f.tile_m / ex.alu_w * ceilings.alu / 1e12
            ax.axhline(roof, color=FMT_COLOR.get(fmt, "gray"), lw=1, ls=":")
            ax.text(x_lo * 1.2, roof * 1.04, f"{fmt} dequant ALU roof {roof:.0f}", fontsize=7,
                    color=FMT_COLOR.get(fmt, "gray"))
    for r in points:
        get = (lambda k: r[k]) if isinstance(r, dict) else (lambda k: getattr(r, k))
        nbytes = rl.bytes_moved(get("fmt"), get("M"), get("N"), get("K"))
        inten = rl.flops(get("M"), get("N"), get("K")) / nbytes
        color = FMT_COLOR.get(get("fmt"), None)
        ax.scatter([inten], [get("tflops")], s=28, color=color, zorder=3, edgecolor="white", lw=0.5)
        ax.annotate(f"{get('kernel').split('/')[-1]} M={get('M')}", (inten, get("tflops")), fontsize=6,
                    xytext=(3, -8), textcoords="offset points")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("arithmetic intensity (FLOP per byte moved, minimum bytes)")
    ax.set_ylabel("TFLOP/s (TOP/s for integer)")
    kind = "MODELED from datasheet figures" if modeled else "ceilings measured"
    ax.set_title(title or f"{ceilings.gpu} — roofline ({kind})", fontsize=10)
    ax.grid(True, which="both", alpha=0.25)
    return fig


def sweep_figure(ceilings: rl.Ceilings, N: int, K: int, fmts: Sequence[str], records: Iterable = (), *,
                 ms: Sequence[int] | None = None, ax=None, title: str | None = None, path: str = "mma_sync",
                 library_fmts: Sequence[str] = ()):
    """Time against M (log-log) with each format's three-ceiling bound as a line and
    measured records as markers; ``library_fmts`` also draws the bound at the library rate."""
    plt = _plt()
    if ax is None:
        fig, ax = plt.subplots(figsize=(8, 5.5))
    else:
        fig = ax.figure
    ms = list(ms or [2**i for i in range(0, 15)])
    for fmt in fmts:
        color = FMT_COLOR.get(fmt)
        b = [rl.bound(fmt, m, N, K, ceilings, path=path) for m in ms]
        ax.plot(ms, [x.time_us for x in b], color=color, lw=1.2, label=f"{fmt} bound")
        if any(x.alu_us > 0 for x in b):
            ax.plot(ms, [x.serial_us for x in b], color=color, lw=0.8, ls=":",
                    label=f"{fmt} bound, dequant not overlapped")
    for fmt in library_fmts:
        b = [rl.bound(fmt, m, N, K, ceilings, path="library") for m in ms]
        ax.plot(ms, [x.time_us for x in b], color=FMT_COLOR.get(fmt), lw=1, ls="--", label=f"{fmt} bound (library rate)")
    by_kernel: dict = {}
    for r in records:
        get = (lambda k, r=r: r[k]) if isinstance(r, dict) else (lambda k, r=r: getattr(r, k))
        by_kernel.setdefault(get("kernel"), []).append((get("M"), get("time_us"), get("fmt")))
    markers = "osD^v<>ph*"
    for i, (kern, pts) in enumerate(sorted(by_kernel.items())):
        pts.sort()
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker=markers[i % len(markers)], ms=4, lw=0.8,
                color=FMT_COLOR.get(pts[0][2]), alpha=0.9, label=kern)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("M (tokens in the batch)")
    ax.set_ylabel("time per call (µs)")
    kind = "MODELED from datasheet figures" if ceilings.source != "measured" else "ceilings measured"
    ax.set_title(title or f"{ceilings.gpu} — N={N}, K={K} ({kind})", fontsize=10)
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(fontsize=7, ncol=2)
    return fig


def save(fig, path: str) -> None:
    fig.savefig(path, dpi=130, bbox_inches="tight")
