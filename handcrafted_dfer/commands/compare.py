"""``dfer compare``: handcrafted methods and the 3D CNN on the same clips and folds, Table-1
style."""

from __future__ import annotations

import argparse

from ._args import positive_int
from .evaluate import (PROTOCOLS, add_data_arguments, cache_from_args, config_from_args,
                       dataset_from_args)

__all__ = ["add_parser", "run", "add_comparison_arguments", "comparison_options", "print_summary"]


def _fractions(text: str) -> tuple:
    try:
        values = tuple(float(v) / 100 for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected percentages such as 25,50,75,100; got {text!r}")
    if not values or any(not 0 < v <= 1 for v in values):
        raise argparse.ArgumentTypeError(f"percentages must be in (0, 100]; got {text!r}")
    return values


def add_comparison_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments shared by ``dfer compare`` and ``dfer demo``: curve, importance, deep training."""
    parser.add_argument("--fractions", type=_fractions, default=(0.25, 0.5, 0.75, 1.0),
                        metavar="PCTS", help="learning-curve percentages of each fold's training "
                        "subjects (default 25,50,75,100)")
    parser.add_argument("--repeats", type=positive_int, default=5, metavar="N",
                        help="permutations per block and fold for block importance (default 5)")
    parser.add_argument("--top", type=positive_int, default=10, metavar="N",
                        help="blocks listed per handcrafted method (default 10)")
    parser.add_argument("--deep-epochs", type=positive_int, metavar="N",
                        help="largest number of training epochs of the 3D CNN (default: "
                        "C3DClassifier's)")


def comparison_options(args, *, cache_dir, deep_params: dict | None = None) -> dict:
    """Keyword arguments of :func:`~handcrafted_dfer.compare.run_comparison` from the arguments.

    The 3D CNN uses ``--jobs`` threads, checkpoints under ``CACHE/c3d-checkpoints`` (an
    interrupted run resumes) and shows its progress bar unless ``--quiet``; ``deep_params`` adds
    or overrides C3DClassifier arguments.
    """
    import pathlib

    deep_params = {"n_threads": args.jobs, "verbose": not args.quiet,
                   "checkpoint_dir": str(pathlib.Path(cache_dir) / "c3d-checkpoints"),
                   **(deep_params or {})}
    if args.deep_epochs:
        deep_params["epochs"] = args.deep_epochs
    return {"fractions": args.fractions, "importance_repeats": args.repeats, "top": args.top,
            "seed": args.seed, "deep_params": deep_params, "n_jobs": args.jobs,
            "backend": getattr(args, "backend", None), "progress": not args.quiet,
            "cache_dir": cache_dir}


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``dfer compare``."""
    from ..compare import DEFAULT_METHODS

    parser = subparsers.add_parser(
        "compare",
        help="compare handcrafted methods with the 3D CNN on the same clips and folds",
        description="Run every method on the same aligned clips and subject-independent folds and "
        "measure the review's Table-1 claims: accuracy (accuracy, UAR, WAR, macro F1), compute "
        "(fit time, inference time, memory, model size), data needs (a learning curve over the "
        "fraction of training subjects) and interpretability (the most important face blocks of "
        "each handcrafted method by permutation on held-out folds). Writes OUT.json, OUT.md and "
        "PNG figures next to OUT.json.",
    )
    add_data_arguments(parser, features=False)
    parser.add_argument("--methods", default=DEFAULT_METHODS, metavar="LIST",
                        help="comma-separated methods: <features>-<classifier> (features lbptop, "
                        "hog3d, flow joined by '+', or fusion; classifier svm, linear-svm, "
                        f"chi2-svm, rf) or c3d (default {DEFAULT_METHODS})")
    parser.add_argument("--protocol", choices=PROTOCOLS, default="loso",
                        help="loso, kfold (subject-independent), official or holdout "
                        "(default loso)")
    parser.add_argument("--folds", type=positive_int, metavar="K",
                        help="number of folds of --protocol kfold (default: the protocol's)")
    add_comparison_arguments(parser)
    parser.add_argument("--report", required=True, metavar="OUT.json",
                        help="report file; OUT.md and the PNG figures are written next to it")
    parser.set_defaults(func=run)
    return parser


def print_summary(report: dict, paths: dict) -> None:
    """Print the synthetic-data note, the summary tables and the files written."""
    from ..compare import summary_tables

    if report.get("synthetic"):
        print(report["note"])
    print(f"{report['dataset']} ({report['protocol']}, {report['n_folds']} folds): "
          f"{report['n_clips']} clips, {report['n_subjects']} subjects, "
          f"{len(report['skipped'])} skipped")
    print()
    print(summary_tables(report))
    print()
    print(f"report: {paths['markdown']} (and {paths['json'].name}, "
          f"{len(paths['figures'])} figures in {paths['json'].parent})")


def run(args: argparse.Namespace) -> int:
    """Run the comparison the arguments describe and write its report."""
    from ..compare import run_comparison, write_comparison

    cache_dir = cache_from_args(args)
    dataset = dataset_from_args(args)
    protocol_options = {"n_splits": args.folds} if args.folds and args.protocol == "kfold" else {}
    report = run_comparison(dataset, args.methods, protocol=args.protocol,
                            protocol_options=protocol_options, config=config_from_args(args),
                            **comparison_options(args, cache_dir=cache_dir))
    print_summary(report, write_comparison(report, args.report))
    return 0
