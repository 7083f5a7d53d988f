"""``labkernels`` on the command line.

    labkernels info [--gpu KEY]     what is here, what it can run, its ceilings
    labkernels list                 every registered kernel variant
    labkernels check [VARIANT...]   check variants on fresh random inputs
    labkernels ptx VARIANT [--arch sm_90] [--grep mma]
    labkernels grade SUBMISSION... --out DIR   grade exercises (Gradescope results.json)

Errors a user can cause print one line and exit with status 2.
"""
from __future__ import annotations

import argparse
import sys

from . import __version__


def _fmt_rate(x: float, unit: str) -> str:
    return f"{x / 1e12:8.1f} {unit}" if x else f"{'—':>8} {unit}"


def cmd_info(args) -> int:
    from . import device, registry, roofline, specs

    print(f"labkernels {__version__}")
    vers = device.versions()
    print("packages: " + ", ".join(f"{k} {v}" for k, v in vers.items() if v))
    g = device.gpu()
    if g is None:
        print(f"GPU: none ({device.why_no_gpu()})")
        from . import numba_compat

        print(f"Numba kernels run in the CUDA simulator: {numba_compat.simulator()}")
        cc = specs.spec(args.gpu).cc
        ceil = roofline.ceilings_for(args.gpu, "measured")
        label = f"model for {ceil.gpu} ({ceil.source})"
    else:
        print(f"GPU: {g.name}, sm_{g.cc[0]}{g.cc[1]}, {g.sms} SMs, L2 {g.l2_bytes / 2**20:.0f} MiB, "
              f"{g.mem_bytes / 2**30:.0f} GiB, CUDA driver {g.driver}, runtime {g.runtime}")
        print(f"spec table entry: {g.spec.key if g.spec else 'none (unknown GPU: datasheet model unavailable)'}")
        cc = g.cc
        if args.measure:
            ceil = roofline.measure_ceilings(verbose=True)
        elif g.spec:
            ceil = roofline.ceilings_for(g.spec.key, "measured")
        else:
            ceil = None
        label = f"{ceil.gpu} ({ceil.source})" if ceil else ""
    caps = device.capabilities(cc)
    print(f"\ncapabilities (sm_{cc[0]}{cc[1]}):")
    for k, c in device.CAPABILITIES.items():
        print(f"  [{'x' if caps[k] else ' '}] {k:<18} {c.description} ({c.target})")
    if ceil is not None:
        print(f"\nceilings — {label}:")
        print(f"  memory bandwidth {ceil.bw / 1e12:8.2f} TB/s")
        for p in roofline.MMA_PRECISIONS:
            print(f"  {p:<5} MMA  mma.sync {_fmt_rate(ceil.mma.get(p, 0), 'T/s')}   library {_fmt_rate(ceil.library.get(p, 0), 'T/s')}")
        print(f"  ALU  {ceil.alu / 1e12:.1f} T int instr/s, FFMA {ceil.ffma / 1e12:.1f} T/s")
        if ceil.source != "measured":
            print("  (datasheet figures: a model, not a measurement)")
    print("\nkernels:")
    for v in registry.variants():
        ok, why = v.runnable()
        print(f"  {'runs ' if ok else 'no   '} {v.id:<28} {v.fmt:<6} {v.impl:<7} {why if not ok else ''}")
    return 0


def cmd_list(args) -> int:
    from . import registry

    for v in registry.variants(family=args.family):
        print(f"{v.id:<28} {v.fmt:<6} {v.op:<5} {v.impl:<7} {v.description}")
    return 0


def cmd_check(args) -> int:
    from . import check, problems, registry
    from .errors import check_int

    # Bad numbers are refused up front, not only when a variant that can run here meets them.
    if args.shape:
        for name, v in zip("MNK", args.shape):
            check_int(f"--shape {name}", v, min_value=1)
        M, N, K = args.shape
        if max(M * K, N * K, M * N) > problems.MAX_ELEMENTS:
            raise ValueError(f"--shape {M} {N} {K} is too large: an operand would exceed {problems.MAX_ELEMENTS} "
                             f"elements (the kernels' 32-bit sizes)")
    if args.seed is not None:
        check_int("--seed", args.seed, min_value=0)
    ids = args.variants or [v.id for v in registry.variants()]
    for vid in ids:
        registry.get(vid)
    shapes = [(1, 129, 200), (3, 257, 1032), (16, 64, 64)] if not args.shape else [tuple(args.shape)]
    failed = 0
    for vid in ids:
        v = registry.get(vid)
        ok, why = v.runnable()
        if not ok:
            print(f"SKIP {v.id}: {why}")
            continue
        for M, N, K in shapes:
            if not v.supports(M):
                continue
            r = check.check_variant(v, M, N, K, seed=args.seed)
            print(r)
            failed += not r.passed
    return 1 if failed else 0


def cmd_ptx(args) -> int:
    from . import build, registry

    v = registry.get(args.variant)
    if not v.source or not v.source.endswith(".cu"):
        raise ValueError(f"{v.id} has no CUDA C source (impl {v.impl})")
    c = build.compile_file(v.source, args.arch, v.defines)
    if args.grep:
        print(build.ptx_summary(c.ptx, args.grep, max_lines=20))
    else:
        print(c.ptx)
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="labkernels", description=__doc__.split("\n\n")[0])
    p.add_argument("--version", action="version", version=f"labkernels {__version__}")
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("info", help="the GPU here, its capabilities and ceilings, and the kernels it can run")
    a.add_argument("--gpu", default="h100-sxm", help="spec-table GPU to model when none is here (default h100-sxm)")
    a.add_argument("--measure", action="store_true", help="measure this GPU's ceilings (about 20 s)")
    a.set_defaults(fn=cmd_info)
    a = sub.add_parser("list", help="every registered kernel variant")
    a.add_argument("--family")
    a.set_defaults(fn=cmd_list)
    a = sub.add_parser("check", help="check kernel variants on fresh random inputs")
    a.add_argument("variants", nargs="*")
    a.add_argument("--shape", nargs=3, type=int, metavar=("M", "N", "K"))
    a.add_argument("--seed", type=int)
    a.set_defaults(fn=cmd_check)
    a = sub.add_parser("ptx", help="a variant's PTX, or the lines matching --grep")
    a.add_argument("variant")
    a.add_argument("--arch", default="sm_90")
    a.add_argument("--grep", action="append")
    a.set_defaults(fn=cmd_ptx)
    from .grading import cli as grading_cli

    grading_cli.add_parser(sub)
    from . import crossover
    crossover.add_parser(sub)
    args = p.parse_args(argv)
    from .errors import UnsupportedDevice

    try:
        return args.fn(args)
    except (ValueError, TypeError, UnsupportedDevice, OSError) as e:  # OSError: a path that can't be read or written
        print(f"labkernels {args.cmd}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
