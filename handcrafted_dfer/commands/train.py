"""``dfer train``: fit features + classifier on a whole dataset and save it as a model file."""

from __future__ import annotations

import argparse

import numpy as np

from ..classify import CLASSIFIERS
from .evaluate import (add_data_arguments, cache_from_args, config_from_args, dataset_from_args,
                       methods_from_args)

__all__ = ["add_parser", "run", "train_model"]


def train_model(dataset, method, *, config, cache_dir, n_jobs: int = 1, backend=None,
                progress: bool = True, seed: int = 0):
    """Fit one handcrafted method on every usable clip of a dataset.

    Parameters
    ----------
    dataset : Dataset
    method : Method
        A handcrafted method (features and classifier).
    config : PreprocessConfig
    cache_dir : str or Path
    n_jobs, backend, progress
        As in :func:`~handcrafted_dfer.evaluate.runner.prepare_clips`.
    seed : int

    Returns
    -------
    estimator : SubjectSearchClassifier
        Fitted, hyper-parameters chosen by the subject-grouped inner search.
    info : dict
        ``feature_params``, ``feature_names``, ``skipped``, ``n_clips``, ``n_subjects``.
    """
    from ..classify import histogram_segments, make_classifier
    from ..evaluate.runner import extract_features, prepare_clips
    from ..features import make_extractor
    from ..features.store import FeatureStore

    if method.family != "handcrafted":
        raise ValueError(f"dfer train fits handcrafted methods; {method.name!r} is {method.family}")
    store = FeatureStore(cache_dir)
    clips, skipped = prepare_clips(dataset, config, cache_dir=cache_dir, n_jobs=n_jobs,
                                   backend=backend, progress=progress, store=store)
    ok = np.array([c is not None for c in clips])
    if ok.sum() < 2:
        raise ValueError(f"only {int(ok.sum())} of {len(clips)} clips could be preprocessed; "
                         f"nothing to train on")
    kept = [c for c in clips if c is not None]
    X, names = extract_features(kept, method.features, cache_dir=cache_dir, n_jobs=n_jobs,
                                backend=backend, progress=progress, store=store)
    y, subjects = dataset.y[ok], dataset.subjects[ok]
    estimator = make_classifier(method.classifier, segments=histogram_segments(names),
                                random_state=seed)
    estimator.fit(X, y, groups=subjects)
    info = {
        "feature_params": {name: make_extractor(name).get_params() for name in method.features},
        "feature_names": [str(n) for n in names],
        "skipped": skipped,
        "n_clips": int(ok.sum()),
        "n_subjects": len({s for s in subjects if s is not None}),
    }
    return estimator, info


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``dfer train``."""
    parser = subparsers.add_parser(
        "train",
        help="fit features + classifier on a whole dataset and save the model",
        description="Preprocess and describe every clip (cached), choose hyper-parameters by a "
        "subject-grouped search, fit on all clips and save the pipeline with its metadata "
        "(labels, preprocessing and feature parameters, package versions) for `dfer predict`.",
    )
    add_data_arguments(parser)
    parser.add_argument("--classifier", default="svm", choices=CLASSIFIERS,
                        help="classifier (default svm)")
    parser.add_argument("--model", required=True, metavar="MODEL.joblib",
                        help="where to write the model file")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Train and save the model the arguments describe."""
    from ..modelfile import save_model

    (method,) = methods_from_args(args)
    dataset = dataset_from_args(args)
    config = config_from_args(args)
    estimator, info = train_model(dataset, method, config=config, cache_dir=cache_from_args(args),
                                  n_jobs=args.jobs, backend=args.backend,
                                  progress=not args.quiet, seed=args.seed)
    metadata = {
        "method": method.name,
        "classifier": method.classifier,
        "best_params": {k: v if isinstance(v, (int, float, str)) else repr(v)
                        for k, v in estimator.best_params_.items()},
        "inner_search": estimator.search_cv_,
        "feature_names": info["feature_names"],
        "training_set": {"dataset": dataset.name, "root": str(dataset.root),
                         "n_clips": info["n_clips"], "n_subjects": info["n_subjects"],
                         "skipped": info["skipped"], "synthetic": dataset.name == "synthetic"},
    }
    path = save_model(args.model, estimator, labels=dataset.labels, config=config,
                      features=method.features, feature_params=info["feature_params"],
                      metadata=metadata)
    print(f"{path}: {method.name} trained on {info['n_clips']} clips of {dataset.name} "
          f"({info['n_subjects']} subjects, {len(info['skipped'])} skipped); "
          f"{estimator.search_cv_}; best {metadata['best_params']}")
    return 0
