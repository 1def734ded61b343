"""``dfer demo``: the whole comparison on the embedded synthetic set, from nothing, in minutes."""

from __future__ import annotations

import argparse
import os

from ._args import capped_jobs, check_folder, positive_int

__all__ = ["add_parser", "run"]


def _default_jobs() -> int:
    """The CPUs this process may use (at most 4: the demo set is small)."""
    from ..parallel import usable_cores

    return min(4, usable_cores())


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``dfer demo``."""
    from ..demo import QUICK

    parser = subparsers.add_parser(
        "demo",
        help="generate the synthetic set and run the handcrafted-vs-deep comparison on it",
        description="Generate the embedded synthetic expression set (no download), run `dfer "
        "compare` on it with subject-independent 4-fold cross-validation (the 3D CNN too when "
        "torch is installed) and write a report folder with the tables, figures and a README. "
        "The data are synthetic: the demo is a smoke test of the whole pipeline and a teaching "
        "aid, not evidence of accuracy on real faces. Everything is cached in OUT/cache, so a "
        "second run (or one resumed after Ctrl-C) is fast.",
    )
    parser.add_argument("--out", default="dfer-demo", metavar="DIR",
                        help="report folder (default ./dfer-demo)")
    parser.add_argument("--quick", action="store_true",
                        help=f"smaller and faster: {QUICK['subjects']} subjects, "
                        f"{QUICK['clips_per_class']} clip per class, methods {QUICK['methods']}, "
                        f"{QUICK['deep']['epochs']} epochs")
    parser.add_argument("--jobs", type=positive_int, default=_default_jobs(), metavar="N",
                        help="parallel clips and torch threads (default: the CPUs available, "
                        "at most 4)")
    parser.add_argument("--cache", metavar="DIR",
                        help="where the synthetic set and the feature store go (default OUT/cache)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Generate the set, run the comparison, write the report folder and print the table."""
    from ..config import RunOptions
    from ..demo import run_demo
    from ..errors import DferError
    from .compare import print_summary

    if os.path.exists(args.out) and not os.path.isdir(args.out):
        raise DferError(args.out, "is a file; expected a folder for the demo report")
    if args.cache:
        check_folder(args.cache, "the cache")
    run_options = RunOptions(cache_dir=args.cache, n_jobs=capped_jobs(args.jobs, command="demo"),
                             progress=not args.quiet)
    report, paths, readme = run_demo(args.out, run_options, quick=args.quick, seed=args.seed)
    print_summary(report, paths)
    print(f"demo finished in {report['wall_seconds']:.0f} s; start with "
          f"{readme.resolve()}")
    return 0
