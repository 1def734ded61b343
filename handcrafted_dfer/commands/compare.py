"""``dfer compare``: handcrafted methods and the 3D CNN on the same clips and folds, Table-1
style."""

from __future__ import annotations

import argparse

from ._args import add_experiment_arguments, positive_int, run_experiment

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
    """Learning-curve and importance arguments."""
    parser.add_argument("--fractions", type=_fractions, default=(0.25, 0.5, 0.75, 1.0),
                        metavar="PCTS", help="learning-curve percentages of each fold's training "
                        "subjects (default 25,50,75,100)")
    parser.add_argument("--repeats", type=positive_int, default=5, metavar="N",
                        help="permutations per block and fold for block importance (default 5)")
    parser.add_argument("--top", type=positive_int, default=10, metavar="N",
                        help="blocks listed per handcrafted method (default 10)")


def comparison_options(args):
    """The :class:`~handcrafted_dfer.compare.ComparisonOptions` of the arguments."""
    from ..compare import ComparisonOptions

    return ComparisonOptions(fractions=args.fractions, importance_repeats=args.repeats,
                             top=args.top)


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
        "each handcrafted method by permutation on held-out folds). Writes OUT.json, OUT.md, "
        f"OUT.toml and PNG figures next to OUT.json. Default methods: {DEFAULT_METHODS}.",
    )
    add_experiment_arguments(parser, methods="list")
    add_comparison_arguments(parser)
    parser.add_argument("--report", required=True, metavar="OUT.json",
                        help="report file; OUT.md, OUT.toml and the PNG figures are written next "
                        "to it")
    parser.set_defaults(func=run)
    return parser


def print_summary(report: dict, paths: dict) -> None:
    """Print the synthetic-data note, the summary tables and the files written."""
    from ..report import summary_tables

    if report.get("synthetic"):
        print(report["note"])
    print(f"{report['dataset']} ({report['protocol']}, {report['n_folds']} folds): "
          f"{report['n_clips']} clips, {report['n_subjects']} subjects, "
          f"{len(report['skipped'])} skipped")
    print()
    print(summary_tables(report))
    print()
    print(f"report: {paths['markdown']} (and {paths['json'].name}, {paths['toml'].name}, "
          f"{len(paths['figures'])} figures in {paths['json'].parent})")


def run(args: argparse.Namespace) -> int:
    """Run the comparison the arguments describe and write its report."""
    from ..compare import DEFAULT_METHODS, run_comparison
    from ..report import write_report

    options = comparison_options(args)
    report = run_experiment(args, lambda experiment, run: run_comparison(experiment, run, options),
                            default_methods=DEFAULT_METHODS, output=args.report,
                            what="the report", suffix=".json")
    print_summary(report, write_report(report, args.report))
    return 0
