"""``dfer evaluate``: features + classifier under a subject-independent protocol, with a report.

Also holds the dataset and preprocessing arguments that ``dfer train`` shares
(:func:`add_data_arguments`, :func:`dataset_from_args`, :func:`config_from_args`).
"""

from __future__ import annotations

import argparse
import dataclasses
import os

from ..classify import CLASSIFIERS
from ..config import PreprocessConfig
from ._args import key_value, positive_int

__all__ = ["add_parser", "run", "add_data_arguments", "dataset_from_args", "config_from_args",
           "cache_from_args", "methods_from_args"]

PROTOCOLS = ("loso", "kfold", "official", "holdout")



def add_data_arguments(parser: argparse.ArgumentParser, *, features: bool = True) -> None:
    """Dataset, preprocessing, features, parallelism and cache arguments.

    Parameters
    ----------
    parser : argparse.ArgumentParser
    features : bool
        Add ``--features`` (commands that name whole methods, like ``dfer compare``, do not).
    """
    from ..datasets import DATASETS

    defaults = PreprocessConfig()
    parser.add_argument("--dataset", required=True, choices=sorted(DATASETS),
                        help="dataset loader")
    parser.add_argument("--root", metavar="DIR",
                        help="dataset folder (or manifest CSV); for 'synthetic' it may be omitted "
                        "(default CACHE/synthetic, generated on first use)")
    parser.add_argument("--dataset-option", action="append", type=key_value, default=[],
                        metavar="KEY=VALUE", dest="dataset_options",
                        help="loader option, e.g. include_neutral=true (repeatable; JSON values)")
    if features:
        parser.add_argument("--features", default="lbptop", metavar="NAMES",
                            help="extractors concatenated into one descriptor: lbptop, hog3d, "
                            "flow, joined by commas, or 'fusion' (default lbptop)")
    parser.add_argument("--jobs", type=positive_int, default=1, metavar="N",
                        help="clips preprocessed and described in parallel (default 1)")
    parser.add_argument("--backend", metavar="NAME",
                        help="joblib backend of the clip-parallel stages (e.g. dask with a running "
                        "dask.distributed Client); default loky")
    parser.add_argument("--cache", metavar="DIR",
                        help="feature store (default $XDG_CACHE_HOME/handcrafted_dfer or "
                        "~/.cache/handcrafted_dfer)")
    parser.add_argument("--size", type=positive_int, default=defaults.size,
                        help=f"side of the aligned face crop (default {defaults.size})")
    parser.add_argument("--frames", type=positive_int, default=defaults.frames,
                        help="frames per clip after temporal normalisation "
                        f"(default {defaults.frames})")
    parser.add_argument("--clahe", action="store_true", help="equalise aligned crops with CLAHE")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def cache_from_args(args):
    """The cache folder the arguments name (or the default)."""
    from ..features.store import default_cache_dir

    return os.path.expanduser(args.cache) if args.cache else default_cache_dir()


def config_from_args(args) -> PreprocessConfig:
    """The :class:`PreprocessConfig` the arguments describe."""
    return dataclasses.replace(PreprocessConfig(), size=args.size, frames=args.frames,
                               clahe=args.clahe)


def dataset_from_args(args):
    """Load the dataset the arguments name (the synthetic set is generated when missing)."""
    import pathlib

    from ..datasets import load_dataset

    options = dict(args.dataset_options)
    root = args.root
    if args.dataset == "synthetic":
        root = root or pathlib.Path(cache_from_args(args)) / "synthetic"
        options.setdefault("progress", not args.quiet)
    elif root is None:
        raise SystemExit(f"dfer {args.command}: error: --root is required for dataset "
                         f"{args.dataset!r}")
    return load_dataset(args.dataset, root, **options)


def features_from_args(args) -> str:
    """The feature part of a method name (``lbptop+hog3d`` or ``fusion``)."""
    return "+".join(f.strip() for f in args.features.split(",") if f.strip())


def methods_from_args(args) -> list:
    """One :class:`~handcrafted_dfer.evaluate.runner.Method` per ``--classifier`` entry."""
    from ..evaluate.runner import parse_methods

    features = features_from_args(args)
    classifiers = [c.strip() for c in args.classifier.split(",") if c.strip()]
    return parse_methods(",".join(f"{features}-{c}" for c in classifiers))


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``dfer evaluate``."""
    parser = subparsers.add_parser(
        "evaluate",
        help="evaluate features + classifier with a subject-independent protocol",
        description="Preprocess every clip of a dataset (cached), describe it (cached), and train "
        "and test a classifier on every fold of the protocol, choosing hyper-parameters on the "
        "training subjects only. Writes OUT.json, OUT.md and OUT_confusion.png.",
    )
    add_data_arguments(parser)
    parser.add_argument("--classifier", default="svm", metavar="NAMES",
                        help=f"one or more of {', '.join(CLASSIFIERS)}, comma-separated; each "
                        "is one method of the report (default svm)")
    parser.add_argument("--protocol", choices=PROTOCOLS, default="loso",
                        help="loso (leave one subject out), kfold (subject-independent), official "
                        "(the dataset's folds) or holdout (default loso)")
    parser.add_argument("--folds", type=positive_int, metavar="K",
                        help="number of folds of --protocol kfold (default: the protocol's)")
    parser.add_argument("--report", required=True, metavar="OUT.json",
                        help="report file; OUT.md and OUT_confusion.png are written next to it")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run the evaluation the arguments describe and write its report."""
    from ..evaluate.report import write_report
    from ..evaluate.runner import run_evaluation

    methods = methods_from_args(args)
    dataset = dataset_from_args(args)
    protocol_options = {"n_splits": args.folds} if args.folds and args.protocol == "kfold" else {}
    report = run_evaluation(dataset, methods, protocol=args.protocol,
                            config=config_from_args(args), cache_dir=cache_from_args(args),
                            n_jobs=args.jobs, backend=args.backend, progress=not args.quiet,
                            seed=args.seed, protocol_options=protocol_options)
    paths = write_report(report, args.report)
    if report.get("synthetic"):
        print(report["note"])
    print(f"{report['dataset']} ({report['protocol']}): {report['n_clips']} clips, "
          f"{report['n_subjects']} subjects, {len(report['skipped'])} skipped, "
          f"{report['wall_seconds']:.1f} s")
    for r in report["results"]:
        if "skipped" in r:
            print(f"  {r['method']}: skipped ({r['skipped']})")
        else:
            print(f"  {r['method']}: UAR {100 * r['uar']:.1f}%  WAR {100 * r['war']:.1f}%  "
                  f"F1 {100 * r['f1_macro']:.1f}%  fit {r['fit_seconds']:.2f} s/fold")
    print("wrote " + ", ".join(str(p) for p in paths.values() if p is not None))
    return 0
