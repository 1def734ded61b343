"""``dfer evaluate``: methods under a subject-independent protocol, with a report."""

from __future__ import annotations

import argparse

from ._args import add_experiment_arguments, run_experiment

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``dfer evaluate``."""
    from ..spec import DEFAULT_METHOD

    parser = subparsers.add_parser(
        "evaluate",
        help="evaluate features + classifier with a subject-independent protocol",
        description="Preprocess every clip of a dataset (cached), describe it (cached), and train "
        "and test each method on every fold of the protocol, choosing hyper-parameters on the "
        "training subjects only. Writes OUT.json, OUT.md, OUT_confusion.png and OUT.toml (the "
        f"resolved experiment; --config OUT.toml reruns it). Default method: {DEFAULT_METHOD}.",
    )
    add_experiment_arguments(parser, methods="features")
    parser.add_argument("--report", required=True, metavar="OUT.json",
                        help="report file; OUT.md, OUT.toml and OUT_confusion.png are written "
                        "next to it")
    parser.set_defaults(func=run)
    return parser


def print_results(report: dict) -> None:
    """One line per method."""
    for r in report["results"]:
        if "skipped" in r:
            print(f"  {r['method']}: skipped ({r['skipped']})")
        else:
            print(f"  {r['method']}: accuracy {100 * r['accuracy']:.1f}%  UAR "
                  f"{100 * r['uar']:.1f}%  F1 {100 * r['f1_macro']:.1f}%  fit "
                  f"{r['fit_seconds']:.2f} s/fold")


def run(args: argparse.Namespace) -> int:
    """Run the evaluation the arguments describe and write its report."""
    from ..evaluate.runner import run_evaluation
    from ..report import write_report
    from ..spec import DEFAULT_METHOD

    report = run_experiment(args, run_evaluation, default_methods=DEFAULT_METHOD,
                            output=args.report, what="the report", suffix=".json")
    paths = write_report(report, args.report)
    if report.get("synthetic"):
        print(report["note"])
    print(f"{report['dataset']} ({report['protocol']}, {report['n_folds']} folds): "
          f"{report['n_clips']} clips, {report['n_subjects']} subjects, "
          f"{len(report['skipped'])} skipped, {report['wall_seconds']:.1f} s")
    print_results(report)
    print("wrote " + ", ".join(str(p) for k, p in paths.items() if p and k != "figures"))
    return 0
