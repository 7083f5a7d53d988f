"""``labkernels grade``: batch grading from the command line.

    labkernels grade SUBMISSION... --out results/ [--exercise ex01] [--force] [--jobs N]
                     [--time-limit S] [--no-hidden] [--no-perf] [--harden]
    labkernels grade /autograder/submission --exercise ex01 \
                     --gradescope-results /autograder/results/results.json

:func:`add_parser` adds the subcommand to ``labkernels.cli``'s subparsers;
until it is wired there, ``python -m labkernels.grading.cli grade ...`` runs
the same thing. Exit status: 0 when every submission was graded (whatever
its score), 1 when some could not be (an internal error: rerun to retry),
2 for a usage error.
"""
from __future__ import annotations

import argparse
import sys


def cmd_grade_one(args) -> int:
    """Gradescope's autograder: one submission, results at the exact path it reads."""
    import json
    from pathlib import Path

    from . import batch, gradescope

    if len(args.submissions) != 1:
        raise ValueError("--gradescope-results grades exactly one submission (Gradescope runs one at a time)")
    res = batch.grade_one(args.submissions[0], args.exercise, time_limit=args.time_limit,
                          hidden=not args.no_hidden, perf=not args.no_perf)
    data = json.dumps(gradescope.results_json(res), indent=1) + "\n"
    batch.write_atomic(Path(args.gradescope_results), data.encode())
    print(res)
    return 0


def cmd_grade(args) -> int:
    from . import batch, sandbox

    if args.gradescope_results:
        return cmd_grade_one(args)

    if not args.out:
        raise ValueError("--out is required (or --gradescope-results FILE for a single submission)")
    if args.harden and not sandbox.harden_process():
        print("--harden: could not make this process undumpable (not Linux?); going on", file=sys.stderr)
    res = batch.grade(args.submissions, args.out, exercise=args.exercise, force=args.force, jobs=args.jobs,
                      time_limit=args.time_limit, hidden=not args.no_hidden, perf=not args.no_perf,
                      quiet=False)
    n = {s: sum(r["status"] == s for r in res.rows) for s in ("graded", "unreadable", "error", "pending")}
    print(f"{len(res.graded)} graded now, {len(res.skipped)} already graded; "
          f"{n['unreadable']} unreadable, {n['error']} internal errors; summary: {res.out_dir / batch.SUMMARY}")
    if res.restored:
        print(f"results files restored after tampering: {', '.join(res.restored)}")
    return 0 if res.complete else 1


def add_parser(subparsers) -> argparse.ArgumentParser:
    a = subparsers.add_parser("grade", help="grade submissions (notebooks, .py or .cu files, or folders) "
                                            "into Gradescope results.json files and a CSV summary")
    a.add_argument("submissions", nargs="+", help="submission files or folders, one submission each")
    a.add_argument("--out", help="output folder: <submission>/results.json and summary.csv")
    a.add_argument("--gradescope-results", metavar="FILE",
                   help="grade one submission and write its results.json to FILE (Gradescope's "
                        "/autograder/results/results.json) instead of --out")
    a.add_argument("--exercise", help="the exercise id (default: from each notebook's metadata or file name)")
    a.add_argument("--force", action="store_true", help="regrade submissions already graded")
    a.add_argument("--jobs", type=int, default=1, help="submissions graded at once (default 1)")
    a.add_argument("--time-limit", type=float, help="seconds per kernel call (default 60)")
    a.add_argument("--no-hidden", action="store_true", help="skip hidden tests")
    a.add_argument("--no-perf", action="store_true", help="skip performance tests")
    a.add_argument("--harden", action="store_true",
                   help="make the grader's process undumpable (Linux), so that a submission running as the same "
                        "user cannot read the seeds from its memory where ptrace restrictions are off")
    a.set_defaults(fn=cmd_grade)
    return a


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m labkernels.grading.cli")
    sub = p.add_subparsers(dest="cmd", required=True)
    add_parser(sub)
    args = p.parse_args(argv)
    from ..errors import UnsupportedDevice

    try:
        return args.fn(args)
    except (ValueError, TypeError, UnsupportedDevice, FileNotFoundError) as e:
        print(f"labkernels {args.cmd}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
