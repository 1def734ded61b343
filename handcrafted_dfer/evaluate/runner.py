"""The evaluation runner: an :class:`~handcrafted_dfer.config.Experiment` run by stages.

1. **Checks** from the listing and the arguments, before any pixel is read: the dataset has at
   least two classes, the protocol applies (enough subjects), every method spec builds (steps,
   parameters, grids that fit the clip shape).
2. **Clips** (:mod:`.clips`): every clip aligned once, cached, in parallel; failures skipped.
3. **Features**: each method's pipeline (:func:`handcrafted_dfer.pipeline.build_pipeline`) computes
   its stateless feature step once for all folds, from the feature store where possible.
4. **Folds** (:mod:`.folds`): the rest of the pipeline fitted and tested on every fold.
5. **Report**: a JSON-ready dict with the scores, the skipped clips, the run's settings and the
   fully resolved experiment (written as TOML next to the report by
   :func:`handcrafted_dfer.report.write_report`, so that ``dfer evaluate --config`` reruns it).

Warnings raised while it runs (scikit-learn's on small folds, damaged cache entries healed) are
recorded in the report instead of flooding the terminal.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import pathlib
import platform
import time
import warnings
from dataclasses import asdict

import numpy as np
from sklearn.base import clone

from .. import __version__
from ..config import Experiment, RunOptions, experiment_to_dict
from ..errors import DatasetLayoutError
from ..pipeline import (build_pipeline, check_spec, deep_available, resolved_settings,
                        split_features)
from .clips import prepare_clips
from .folds import evaluate_folds, usable_folds

__all__ = ["MEMORY_NOTE", "SYNTHETIC_NOTE", "load_experiment_dataset", "check_experiment",
           "recorded_warnings", "run_evaluation"]

#: What ``peak_memory_mb`` measures (repeated in every report).
MEMORY_NOTE = ("peak_memory_mb is the tracemalloc peak of memory allocated through Python "
               "(NumPy arrays included) during a separate, untimed fit and predict of the first "
               "fold; it excludes the feature matrix already in memory and memory allocated inside "
               "libsvm or compiled tree code. It is not measured for deep methods (torch's "
               "allocator is invisible to tracemalloc).")

SYNTHETIC_NOTE = ("The data are synthetic: a smoke test and teaching aid, not evidence of accuracy "
                  "on real faces.")


def load_experiment_dataset(ref, run: RunOptions, *, seed: int = 0):
    """The :class:`~handcrafted_dfer.datasets.Dataset` a :class:`~handcrafted_dfer.config.DatasetRef`
    names; the synthetic set is generated under ``CACHE/synthetic`` when no root is given."""
    from ..datasets import load_dataset

    options = dict(ref.options)
    root = ref.root
    if ref.name == "synthetic":
        if root is None:
            if run.cache_dir is None:
                raise ValueError("the synthetic set needs a root or a cache folder")
            root = pathlib.Path(run.cache_dir) / "synthetic"
        options.setdefault("progress", run.progress)
    elif root is None:
        raise ValueError(f"dataset {ref.name!r} needs a root folder (--root)")
    return load_dataset(ref.name, os.path.expanduser(os.fspath(root)), **options)


def check_experiment(experiment: Experiment, dataset) -> list:
    """Everything that can be checked from the listing and the arguments; returns the folds.

    Checks that the protocol applies and every fold can be trained and scored
    (:func:`~handcrafted_dfer.datasets.protocols.check_protocol`: at least two classes, enough
    subjects per class, every tested class trained), that every method spec builds for the clip
    shape (steps, parameters, grids and radii against ``--frames`` and ``--size``), and that each
    fold's training labels suit each method's classifier (e.g. calibrated SVMs need 2 training
    clips of every class).

    Raises
    ------
    DatasetLayoutError
        Fewer than two classes, too few subjects of a class, or a fold that cannot be trained or
        scored.
    DferError
        The protocol does not apply (e.g. fewer subjects than folds).
    ValueError
        A method spec does not build for these clips.
    """
    from ..datasets.protocols import check_protocol

    folds = check_protocol(dataset, experiment.protocol, **experiment.protocol_options)
    for spec in experiment.methods:
        if spec.family != "handcrafted":
            check_spec(spec, preprocess=experiment.preprocess)
            continue
        last = build_pipeline(spec, preprocess=experiment.preprocess).steps[-1][1]
        for n, (train, _) in enumerate(folds, 1):
            try:
                last.check_labels(dataset.y[train])
            except ValueError as exc:
                raise DatasetLayoutError(dataset.root, f"method {spec.name}: fold {n} of "
                                         f"{len(folds)} ({experiment.protocol}) cannot be "
                                         f"trained: {exc}; add clips or choose another protocol "
                                         f"or classifier") from None
    return folds


class _Recorder(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def recorded_warnings():
    """Collect Python warnings and this package's log warnings (yields the list they go to)."""
    recorder = _Recorder()
    logger = logging.getLogger("handcrafted_dfer")
    logger.addHandler(recorder)
    propagate, logger.propagate = logger.propagate, False
    messages: list = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield messages
    finally:
        logger.removeHandler(recorder)
        logger.propagate = propagate
    counts: dict = {}
    for text in recorder.messages + [f"{w.category.__name__}: {w.message}" for w in caught]:
        counts[text] = counts.get(text, 0) + 1
    messages += [{"message": text, "count": n} for text, n in counts.items()]


def _feature_entries(cache_dir) -> set:
    """(path, mtime_ns) of every feature row in the cache: an entry written during a run (new,
    or rewritten after a damaged one was healed) is one that is not in the set taken before."""
    if cache_dir is None:
        return set()
    entries = set()
    for path in pathlib.Path(cache_dir).glob("features/*/*.npz"):
        with contextlib.suppress(OSError):
            entries.add((str(path), path.stat().st_mtime_ns))
    return entries


def run_evaluation(experiment: Experiment, run: RunOptions, *, dataset=None,
                   train_subject_fraction: float = 1.0, return_models: bool = False) -> dict:
    """Evaluate an experiment's methods under its subject-independent protocol.

    Parameters
    ----------
    experiment : Experiment
    run : RunOptions
        ``cache_dir`` is required (aligned clips and features are cached there).
    dataset : Dataset, optional
        The dataset already loaded (else ``experiment.dataset`` is loaded).
    train_subject_fraction : float in (0, 1]
        Keep this random fraction of each fold's training *subjects* (whole subjects; test sides
        unchanged), for learning curves; see
        :func:`~handcrafted_dfer.datasets.protocols.subject_fraction_folds`.
    return_models : bool
        Add ``"_folds"`` (not JSON): per method, per fold, ``{"estimator", "test", "X_test" or
        "clips_test", "feature_names"}``, and ``"_clips"`` (the aligned clips, a
        :class:`~handcrafted_dfer.features.store.StoredClips` read from the cache on access).

    Returns
    -------
    dict
        JSON-ready report: dataset, protocol, n_clips, n_subjects, labels, skipped, results,
        experiment (resolved, TOML-shaped), warnings, cache, environment; timings
        ``wall_seconds`` (the whole run), ``clips_seconds`` (the clip stage) and, per handcrafted
        method, ``feature_seconds`` (its feature rows, cached or computed) and ``fit_seconds``.
    """
    from ..datasets.protocols import subject_fraction_folds

    if not 0.0 < train_subject_fraction <= 1.0:
        raise ValueError(f"train_subject_fraction must be in (0, 1]; got "
                         f"{train_subject_fraction}")
    start = time.perf_counter()
    if dataset is None:
        dataset = load_experiment_dataset(experiment.dataset, run, seed=experiment.seed)
    folds = check_experiment(experiment, dataset)
    with recorded_warnings() as messages:
        clips_start = time.perf_counter()
        prepared = prepare_clips(dataset, experiment.preprocess, run)
        clips_seconds = time.perf_counter() - clips_start
        ok = prepared.ok
        y, groups = dataset.y, dataset.subjects
        folds, dropped = usable_folds(folds, ok)
        if not folds:
            raise DatasetLayoutError(dataset.root, f"no usable fold: {int((~ok).sum())} of "
                                     f"{len(ok)} clips failed preprocessing (see skipped)")
        if train_subject_fraction < 1.0:
            folds = subject_fraction_folds(dataset, folds, train_subject_fraction,
                                           seed=experiment.seed)
        n_classes = len(dataset.labels)
        good = prepared.clips[ok]  # read from the cache as each stage needs them
        features_before = _feature_entries(run.cache_dir)
        results, kept_models = [], {}
        for spec in experiment.methods:
            if spec.family == "deep" and not deep_available():
                results.append({"method": spec.name, "family": "deep",
                                "skipped": "install handcrafted_dfer[deep]"})
                continue
            pipeline = build_pipeline(spec, seed=experiment.seed,
                                      preprocess=experiment.preprocess, run=run)
            features, head = split_features(pipeline)
            feature_start = time.perf_counter()
            if features is None:
                data, names = prepared.clips, None
            else:
                rows = features.fit_transform(good)
                data = np.full((len(ok), rows.shape[1]), np.nan)
                data[ok] = rows
                names = features.get_feature_names_out()
            feature_seconds = time.perf_counter() - feature_start
            entry = evaluate_folds(lambda: clone(head), data, y, groups, folds,
                                   n_classes=n_classes, keep_models=return_models,
                                   measure_memory=run.measure_memory and features is not None)
            models = entry.pop("_models", None)
            head_info = ({"n_features": int(data.shape[1]),
                          "feature_seconds": feature_seconds} if features is not None else {})
            results.append({"method": spec.name, "family": spec.family,
                            "features": list(spec.features), "classifier": spec.classifier,
                            **head_info, **entry})
            if return_models:
                kept_models[spec.name] = [
                    {"estimator": m, "test": test, "feature_names": names,
                     **({"X_test": data[test]} if features is not None
                        else {"clips_test": prepared.clips[test]})}
                    for m, (_, test) in zip(models, folds)]
        features_computed = len(_feature_entries(run.cache_dir) - features_before)
    resolved = {spec.name: resolved_settings(spec, seed=experiment.seed,
                                             preprocess=experiment.preprocess)
                for spec in experiment.methods
                if spec.family == "handcrafted" or deep_available()}
    valid_subjects = {g for g, good_clip in zip(groups, ok) if good_clip and g is not None}
    report = {
        "dataset": dataset.name,
        "root": str(dataset.root),
        "synthetic": dataset.name == "synthetic",
        "protocol": experiment.protocol,
        "protocol_options": experiment.protocol_options,
        "n_folds": len(folds),
        "dropped_folds": dropped,
        "n_clips": int(ok.sum()),
        "n_clips_listed": len(ok),
        "n_subjects": len(valid_subjects),
        "labels": list(dataset.labels),
        "class_counts": [int(np.sum(y[ok] == c)) for c in range(n_classes)],
        "skipped": prepared.skipped,
        "results": results,
        "experiment": experiment_to_dict(
            dataclasses.replace(experiment, dataset=dataclasses.replace(
                experiment.dataset, root=str(dataset.root))), resolved=resolved),
        "preprocess": asdict(experiment.preprocess),
        "train_subject_fraction": train_subject_fraction,
        "seed": experiment.seed,
        "warnings": messages,
        "memory_note": MEMORY_NOTE,
        "cache": {"dir": str(run.cache_dir), **prepared.counts,
                  "feature_rows_computed": features_computed, "healed": prepared.healed},
        "wall_seconds": time.perf_counter() - start,
        "clips_seconds": clips_seconds,
        "environment": {"handcrafted_dfer": __version__, "python": platform.python_version(),
                        "cpu_count": os.cpu_count(), "n_jobs": run.n_jobs,
                        "backend": run.backend or "loky"},
    }
    if report["synthetic"]:
        report["note"] = SYNTHETIC_NOTE
    if return_models:
        report["_folds"] = kept_models
        report["_clips"] = prepared.clips
    return report
