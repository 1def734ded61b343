"""Fit one method on a whole dataset, for a model file (``dfer train``)."""

from __future__ import annotations

import dataclasses

import numpy as np

from .config import Experiment, RunOptions
from .errors import DatasetLayoutError
from .evaluate.clips import prepare_clips
from .evaluate.runner import load_experiment_dataset, recorded_warnings
from .modelfile import TrainedModel
from .pipeline import (build_pipeline, fit_pipeline, resolved_settings, split_features,
                       without_run_options)

__all__ = ["train_model"]


def _check_labels(pipeline, dataset, y, *, what: str) -> None:
    """DatasetLayoutError when labels ``y`` cannot train the pipeline (fewer than 2 classes, or a
    class too small for its classifier)."""
    last = pipeline.steps[-1][1]
    try:
        if hasattr(last, "check_labels"):
            last.check_labels(y)
        elif len(set(np.asarray(y).tolist())) < 2:
            raise ValueError(f"training needs clips of at least 2 classes; got "
                             f"{len(set(np.asarray(y).tolist()))}")
    except ValueError as exc:
        found = ", ".join(f"{dataset.labels[c]} ({int(np.sum(y == c))})" for c in np.unique(y))
        raise DatasetLayoutError(dataset.root, f"cannot train on {what}: {exc}; classes found: "
                                 f"{found or 'none'}") from None


def train_model(experiment: Experiment, run: RunOptions, *, dataset=None) -> TrainedModel:
    """Fit the experiment's one method on every usable clip of its dataset.

    Parameters
    ----------
    experiment : Experiment
        Exactly one method; its protocol is not used (the inner search groups by subject).
    run : RunOptions
    dataset : Dataset, optional
        Already loaded (else ``experiment.dataset`` is loaded).

    Returns
    -------
    TrainedModel
        The fitted pipeline (run options reset, ready for :func:`~handcrafted_dfer.modelfile.save_model`)
        with its labels, preprocessing and metadata: the method, its resolved settings, the inner
        search's decision, the training set (clips, subjects, skipped), the warnings recorded and,
        for a handcrafted method, ``feature_mean``: the mean feature row of the training clips
        (the reference that :func:`~handcrafted_dfer.explain.occlusion.block_occlusion` puts in
        place of a removed block).

    Raises
    ------
    DatasetLayoutError
        Fewer than two classes, or a class too small for the classifier (one clip, for a
        calibrated SVM): among the listed clips before any is preprocessed, and among those that
        could be preprocessed.
    ValueError
        Not exactly one method, or a spec that does not build.
    """
    if len(experiment.methods) != 1:
        raise ValueError(f"training fits one method; got {len(experiment.methods)}")
    (spec,) = experiment.methods
    if dataset is None:
        dataset = load_experiment_dataset(experiment.dataset, run, seed=experiment.seed)
    experiment = dataclasses.replace(experiment,
                                     preprocess=experiment.preprocess.for_dataset(dataset))
    pipeline = build_pipeline(spec, seed=experiment.seed, preprocess=experiment.preprocess,
                              run=run)
    _check_labels(pipeline, dataset, dataset.y,
                  what=f"the {len(dataset)} clips of dataset {dataset.name!r}")
    with recorded_warnings() as messages:
        prepared = prepare_clips(dataset, experiment.preprocess, run)
        ok = prepared.ok
        y, subjects = dataset.y[ok], dataset.subjects[ok]
        _check_labels(pipeline, dataset, y, what=f"the {int(ok.sum())} of {len(ok)} clips that "
                      f"could be preprocessed (see the skipped clips)")
        clips = prepared.clips[ok]  # read from the cache as they are needed
        features, head = split_features(pipeline)
        if features is None:
            fit_pipeline(pipeline, clips, y, subjects)
            reference = {}
        else:  # the same fit (the feature step is stateless), keeping the rows for their mean
            rows = features.fit_transform(clips)
            fit_pipeline(head, rows, y, subjects)
            reference = {"feature_mean": rows.mean(axis=0).tolist()}
    last = pipeline.steps[-1][1]
    metadata = {
        "method": spec.name,
        "family": spec.family,
        "seed": experiment.seed,
        "settings": resolved_settings(spec, seed=experiment.seed,
                                      preprocess=experiment.preprocess),
        "best_params": {k: v if isinstance(v, (int, float, str, bool)) else repr(v)
                        for k, v in (getattr(last, "best_params_", None) or {}).items()},
        "inner_search": getattr(last, "search_cv_", None),
        "training_set": {"dataset": dataset.name, "root": str(dataset.root),
                         "n_clips": int(ok.sum()),
                         "n_subjects": len({s for s in subjects if s is not None}),
                         "class_counts": {dataset.labels[c]: int(np.sum(y == c))
                                          for c in range(len(dataset.labels))},
                         "skipped": prepared.skipped, "synthetic": dataset.name == "synthetic"},
        "warnings": messages,
        **reference,
    }
    return TrainedModel(pipeline=without_run_options(pipeline), labels=tuple(dataset.labels),
                        config=experiment.preprocess, metadata=metadata)
