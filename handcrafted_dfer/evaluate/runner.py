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
from dataclasses import asdict, dataclass

import numpy as np
from sklearn.base import clone

from .. import __version__
from ..config import Experiment, RunOptions, experiment_to_dict
from ..errors import DatasetLayoutError
from ..features.store import FeatureStore, StoredClips
from ..pipeline import (build_pipeline, check_spec, deep_available, resolved_settings,
                        split_features)
from .clips import prepare_clips
from .folds import evaluate_folds, usable_folds

__all__ = ["MEMORY_NOTE", "SYNTHETIC_NOTE", "EvaluationData", "load_experiment_dataset",
           "check_experiment", "prepare_data", "recorded_warnings", "run_evaluation"]

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
        Fewer than two classes, a class with too few subjects for the protocol, a fold that
        cannot be trained or scored (see :func:`~handcrafted_dfer.datasets.protocols.check_protocol`).
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


#: Warnings about the executor, not the run: loky replaces a worker whose memory grew or whose
#: idle timeout passed and runs its jobs again, so the result is the same either way.
_EXECUTOR_NOTICES = ("A worker stopped while some jobs were given to the executor",)


@contextlib.contextmanager
def recorded_warnings():
    """Collect Python warnings and this package's log warnings (yields the list they go to);
    loky's notices that it replaced a worker are left out (see ``_EXECUTOR_NOTICES``)."""
    recorder = _Recorder()
    logger = logging.getLogger("handcrafted_dfer")
    logger.addHandler(recorder)
    propagate, logger.propagate = logger.propagate, False
    messages: list = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for notice in _EXECUTOR_NOTICES:
                warnings.filterwarnings("ignore", message=notice, category=UserWarning)
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
    for kind, path in FeatureStore(cache_dir, tidy=False).entries():
        if kind == "features":
            with contextlib.suppress(OSError):
                entries.add((str(path), path.stat().st_mtime_ns))
    return entries


@dataclass(frozen=True)
class EvaluationData:
    """What the methods of a run are evaluated on, after the checks and the clip stage.

    Attributes
    ----------
    clips : StoredClips
        One per listed clip, read from the cache when accessed (None where it failed); with a
        test dataset, the training dataset's clips then the test dataset's.
    y, groups : ndarray
        Label indices into ``labels``, and subjects (prefixed with the dataset name when there
        are two datasets, so that they never collide).
    labels : tuple of str
    folds : list of (ndarray, ndarray)
        Usable folds (failed clips removed).
    dropped_folds : int
    skipped, counts, healed
        As in :class:`~handcrafted_dfer.evaluate.clips.PreparedClips`, summed over datasets.
    preprocess : PreprocessConfig
        Resolved for the (training) dataset.
    cross_dataset : dict or None
        ``{"train", "test", "kept", "dropped", "test_preprocess"}`` when trained on one dataset and
        tested on another.
    """

    clips: list
    y: np.ndarray
    groups: np.ndarray
    labels: tuple
    folds: list
    dropped_folds: int
    skipped: list
    counts: dict
    healed: list
    preprocess: object
    cross_dataset: dict | None = None

    @property
    def ok(self) -> np.ndarray:
        """Boolean mask of the clips that were prepared."""
        return self.clips.present


def _cross_datasets(experiment: Experiment, run: RunOptions, train) -> tuple:
    """The training and test datasets on their common classes, and the classes dropped."""
    from ..datasets.labels import common_labels

    test = load_experiment_dataset(experiment.test_dataset, run, seed=experiment.seed)
    kept, dropped = common_labels(train.labels, test.labels)
    if len(kept) < 2:
        raise DatasetLayoutError(test.root, f"the test dataset {test.name!r} shares "
                                 f"{len(kept)} class with {train.name!r} "
                                 f"({', '.join(kept) or 'none'}); expected at least 2")
    return train.with_labels(kept), test.with_labels(kept), dropped


def prepare_data(experiment: Experiment, run: RunOptions, dataset, *,
                 train_subject_fraction: float = 1.0) -> EvaluationData:
    """The checks from the listing, then the clip stage, for one dataset and its protocol or for a
    training and a test dataset (``experiment.test_dataset``)."""
    from ..datasets.protocols import subject_fraction_folds

    preprocess = experiment.preprocess.for_dataset(dataset)
    checked = dataclasses.replace(experiment, preprocess=preprocess)
    cross = None
    if experiment.test_dataset is None:
        folds = check_experiment(checked, dataset)
        parts = [(dataset, preprocess)]
    else:
        train, test, dropped = _cross_datasets(experiment, run, dataset)
        for spec in experiment.methods:
            check_spec(spec, preprocess=preprocess)
        folds = [(np.arange(len(train)), np.arange(len(train), len(train) + len(test)))]
        parts = [(train, preprocess), (test, experiment.preprocess.for_dataset(test))]
        cross = {"train": train.name, "test": test.name, "kept": list(train.labels),
                 "dropped": list(dropped), "test_root": str(test.root),
                 "test_preprocess": asdict(parts[1][1])}
    keys, skipped, healed, y, groups = [], [], [], [], []
    counts = {"clips_computed": 0, "clips_loaded": 0}
    for part, config in parts:
        prepared = prepare_clips(part, config, run)
        keys += prepared.clips.keys
        skipped += prepared.skipped
        healed += prepared.healed
        for key in counts:
            counts[key] += prepared.counts[key]
        y.append(part.y)
        subjects = part.subjects
        groups.append(subjects if cross is None else np.array(
            [None if s is None else f"{part.name}:{s}" for s in subjects], dtype=object))
    clips = StoredClips(run.cache_dir, keys)
    ok = clips.present
    folds, dropped_folds = usable_folds(folds, ok)
    if not folds:
        raise DatasetLayoutError(dataset.root, f"no usable fold: {int((~ok).sum())} of "
                                 f"{len(ok)} clips failed preprocessing (see skipped)")
    if train_subject_fraction < 1.0:
        if cross is not None:
            raise ValueError("a learning curve (train_subject_fraction < 1) is measured within "
                             "one dataset, not across two")
        folds = subject_fraction_folds(dataset, folds, train_subject_fraction,
                                       seed=experiment.seed)
    return EvaluationData(clips, np.concatenate(y), np.concatenate(groups),
                          tuple(parts[0][0].labels), folds, dropped_folds, skipped, counts,
                          healed, preprocess, cross)


def _evaluate_methods(experiment: Experiment, run: RunOptions, data: EvaluationData, *,
                      return_models: bool) -> tuple[list, dict, dict]:
    """Every method on every fold: the feature step once, the rest per fold; with
    ``return_models``, the fitted folds and the feature rows of every handcrafted method."""
    ok = data.ok
    good = data.clips[ok]  # read from the cache as each step needs them
    results, kept_models, kept_features = [], {}, {}
    for spec in experiment.methods:
        if spec.family == "deep" and not deep_available():
            results.append({"method": spec.name, "family": "deep",
                            "skipped": "install handcrafted_dfer[deep]"})
            continue
        pipeline = build_pipeline(spec, seed=experiment.seed, preprocess=data.preprocess, run=run)
        features, head = split_features(pipeline)
        feature_start = time.perf_counter()
        if features is None:
            samples, names = data.clips, None
        else:
            rows = features.fit_transform(good)
            samples = np.full((len(ok), rows.shape[1]), np.nan)
            samples[ok] = rows
            names = features.get_feature_names_out()
        feature_seconds = time.perf_counter() - feature_start
        entry = evaluate_folds(lambda: clone(head), samples, data.y, data.groups, data.folds,
                               n_classes=len(data.labels), keep_models=return_models,
                               measure_memory=run.measure_memory and features is not None)
        models = entry.pop("_models", None)
        size = ({"n_features": int(samples.shape[1]), "feature_seconds": feature_seconds}
                if features is not None else {})
        results.append({"method": spec.name, "family": spec.family,
                        "features": list(spec.features), "classifier": spec.classifier,
                        **size, **entry})
        if return_models:
            kept_models[spec.name] = [
                {"estimator": m, "test": test, "feature_names": names,
                 **({"X_test": samples[test]} if features is not None
                    else {"clips_test": data.clips[test]})}
                for m, (_, test) in zip(models, data.folds)]
            if features is not None:
                kept_features[spec.name] = samples
    return results, kept_models, kept_features


def run_evaluation(experiment: Experiment, run: RunOptions, *, dataset=None,
                   train_subject_fraction: float = 1.0, return_models: bool = False) -> dict:
    """Evaluate an experiment's methods under its subject-independent protocol, or trained on its
    dataset and tested on its ``test_dataset`` (their common classes; the others are dropped and
    listed).

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
        "clips_test", "feature_names"}``; ``"_clips"`` (the aligned clips, a
        :class:`~handcrafted_dfer.features.store.StoredClips` read from the cache on access, None
        where one failed); and ``"_features"``: per handcrafted method, the feature rows of every
        listed clip (NaN rows where the clip failed).

    Returns
    -------
    dict
        JSON-ready report: dataset, protocol, n_clips, n_subjects, labels, skipped, results,
        experiment (resolved, TOML-shaped), warnings, cache, environment, ``cross_dataset``
        with a test dataset; timings ``wall_seconds`` (the whole run), ``clips_seconds`` (the
        checks and the clip stage) and, per handcrafted method, ``feature_seconds`` (its feature
        rows, cached or computed) and ``fit_seconds``.
    """
    if not 0.0 < train_subject_fraction <= 1.0:
        raise ValueError(f"train_subject_fraction must be in (0, 1]; got "
                         f"{train_subject_fraction}")
    start = time.perf_counter()
    if dataset is None:
        dataset = load_experiment_dataset(experiment.dataset, run, seed=experiment.seed)
    with recorded_warnings() as messages:
        clips_start = time.perf_counter()
        data = prepare_data(experiment, run, dataset,
                            train_subject_fraction=train_subject_fraction)
        clips_seconds = time.perf_counter() - clips_start
        features_before = _feature_entries(run.cache_dir)
        experiment = dataclasses.replace(experiment, preprocess=data.preprocess)
        results, kept_models, kept_features = _evaluate_methods(
            experiment, run, data, return_models=return_models)
        features_computed = len(_feature_entries(run.cache_dir) - features_before)
    resolved = {spec.name: resolved_settings(spec, seed=experiment.seed,
                                             preprocess=experiment.preprocess)
                for spec in experiment.methods
                if spec.family == "handcrafted" or deep_available()}
    ok = data.ok
    valid_subjects = {g for g, good in zip(data.groups, ok) if good and g is not None}
    recorded = dataclasses.replace(experiment, dataset=dataclasses.replace(
        experiment.dataset, root=str(dataset.root)))
    report = {
        "dataset": dataset.name,
        "root": str(dataset.root),
        "synthetic": dataset.name == "synthetic",
        "protocol": "cross-dataset" if data.cross_dataset else experiment.protocol,
        "protocol_options": {} if data.cross_dataset else experiment.protocol_options,
        "n_folds": len(data.folds),
        "dropped_folds": data.dropped_folds,
        "n_clips": int(ok.sum()),
        "n_clips_listed": len(ok),
        "n_subjects": len(valid_subjects),
        "labels": list(data.labels),
        "class_counts": [int(np.sum(data.y[ok] == c)) for c in range(len(data.labels))],
        "skipped": data.skipped,
        "results": results,
        "experiment": experiment_to_dict(recorded, resolved=resolved),
        "preprocess": asdict(experiment.preprocess),
        "train_subject_fraction": train_subject_fraction,
        "seed": experiment.seed,
        "warnings": messages,
        "memory_note": MEMORY_NOTE,
        "cache": {"dir": str(run.cache_dir), **data.counts,
                  "feature_rows_computed": features_computed, "healed": data.healed},
        "wall_seconds": time.perf_counter() - start,
        "clips_seconds": clips_seconds,
        "environment": {"handcrafted_dfer": __version__, "python": platform.python_version(),
                        "cpu_count": os.cpu_count(), "n_jobs": run.n_jobs,
                        "backend": run.backend or "loky"},
    }
    if data.cross_dataset:
        report["cross_dataset"] = data.cross_dataset
    if report["synthetic"]:
        report["note"] = SYNTHETIC_NOTE
    if return_models:
        report["_folds"] = kept_models
        report["_clips"] = data.clips
        report["_features"] = kept_features
    return report
