"""``dfer train``: fit one method on a whole dataset and save it as a safe model file."""

from __future__ import annotations

import argparse

from ._args import add_experiment_arguments, run_experiment

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``dfer train``."""
    from ..spec import DEFAULT_METHOD

    parser = subparsers.add_parser(
        "train",
        help="fit one method on a whole dataset and save the model",
        description="Preprocess and describe every clip (cached), choose hyper-parameters by a "
        "subject-grouped search, fit on all clips and save the whole pipeline (features, "
        "normalization, classifier) with its metadata (labels, preprocessing, resolved method "
        "spec, package versions) as a skops model file for `dfer predict`. Model files hold no "
        f"pickle and run no code when loaded. Default method: {DEFAULT_METHOD}.",
    )
    add_experiment_arguments(parser, methods="one")
    parser.add_argument("--model", required=True, metavar="MODEL.skops",
                        help="where to write the model file")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Train and save the model the arguments describe."""
    from ..modelfile import save_model
    from ..spec import DEFAULT_METHOD
    from ..train import train_model

    model = run_experiment(args, train_model, default_methods=DEFAULT_METHOD, output=args.model,
                           what="the model file")
    path = save_model(args.model, model.pipeline, labels=model.labels, config=model.config,
                      metadata=model.metadata)
    training = model.metadata["training_set"]
    print(f"{path}: {model.method} trained on {training['n_clips']} clips of "
          f"{training['dataset']} ({training['n_subjects']} subjects, "
          f"{len(training['skipped'])} skipped); {model.metadata['inner_search'] or 'no search'}; "
          f"chosen {model.metadata['best_params'] or 'defaults'}")
    return 0
