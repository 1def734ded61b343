"""The evaluation runner: dataset -> aligned clips -> features -> classifiers -> folds -> report.

Preprocessing and features are computed once per clip and kept in a
:class:`~handcrafted_dfer.features.store.FeatureStore`, so every classifier and every fold reuses
them, and a second run (or a run resumed after a crash or Ctrl-C) reads them back instead of
recomputing. Clips are processed in parallel with joblib (``n_jobs``; ``backend`` selects e.g.
``"dask"`` through :func:`joblib.parallel_config`), each worker writing its own cache entries as it
finishes. A clip that cannot be read or has no face is recorded in ``skipped`` with its reason and
left out of every fold.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import os
import pickle
import platform
import time
import tracemalloc
from dataclasses import dataclass

import joblib
import numpy as np
from tqdm.auto import tqdm

from .. import __version__
from ..classify import CLASSIFIERS, histogram_segments, make_classifier
from ..clip import AlignedClip
from ..config import PreprocessConfig
from ..errors import DferError, VideoReadError
from ..features import EXTRACTORS, make_extractor
from ..features.store import FeatureStore
from .metrics import classification_scores, fold_summary

__all__ = [
    "FUSION",
    "MEMORY_NOTE",
    "Method",
    "parse_methods",
    "prepare_clips",
    "extract_features",
    "describe_clips",
    "evaluate_folds",
    "run_evaluation",
]

#: Extractors of the ``fusion`` feature set, concatenated in this order.
FUSION = ("lbptop", "hog3d", "flow")

#: What ``peak_memory_mb`` measures (repeated in every report).
MEMORY_NOTE = ("peak_memory_mb is the tracemalloc peak of memory allocated through Python "
               "(NumPy arrays included) during a separate, untimed fit and predict of the first "
               "fold; it excludes the feature matrix already in memory and memory allocated inside "
               "libsvm or compiled tree code. It is not measured for deep methods (torch's "
               "allocator is invisible to tracemalloc).")

SYNTHETIC_NOTE = ("The data are synthetic: a smoke test and teaching aid, not evidence of accuracy "
                  "on real faces.")


@dataclass(frozen=True)
class Method:
    """One evaluated method.

    Parameters
    ----------
    name : str
        As written by the user, e.g. ``lbptop-svm``, ``fusion-rf``, ``c3d``.
    family : {"handcrafted", "deep"}
    features : tuple of str
        Extractor names, concatenated in this order (empty for deep methods).
    classifier : str or None
        One of :data:`~handcrafted_dfer.classify.CLASSIFIERS` (None for deep methods).
    """

    name: str
    family: str
    features: tuple
    classifier: str | None


def parse_methods(text: str) -> list[Method]:
    """Methods from a comma-separated list such as ``"lbptop-svm,hog3d+flow-rf,fusion-svm,c3d"``.

    A handcrafted method is ``<features>-<classifier>``, where ``<features>`` is an extractor name,
    several joined with ``+``, or ``fusion`` (= lbptop+hog3d+flow); ``c3d`` is the deep baseline.
    """
    methods = []
    for token in (t.strip() for t in text.split(",")):
        if not token:
            continue
        if token == "c3d":
            methods.append(Method("c3d", "deep", (), None))
            continue
        for clf in sorted(CLASSIFIERS, key=len, reverse=True):
            if token.endswith("-" + clf):
                feature_part = token[: -len(clf) - 1]
                break
        else:
            raise ValueError(f"method {token!r} must be <features>-<classifier> with a classifier "
                             f"in {', '.join(CLASSIFIERS)}, or c3d")
        features = FUSION if feature_part == "fusion" else tuple(feature_part.split("+"))
        unknown = [f for f in features if f not in EXTRACTORS]
        if unknown or not features:
            raise ValueError(f"method {token!r}: unknown feature set {feature_part!r}; use "
                             f"{', '.join(EXTRACTORS)}, several joined with '+', or fusion")
        methods.append(Method(token, "handcrafted", features, clf))
    if not methods:
        raise ValueError("no method given")
    return methods


# -- preprocessing --------------------------------------------------------------------------------
def _frame_range(clip) -> tuple | None:
    """The half-open frame range ``extra["frames"]`` of a dataset clip (see ``load_ckplus``)."""
    frames = clip.extra.get("frames")
    return None if frames is None else (int(frames[0]), int(frames[1]))


def _preprocess_one(source: str, frame_range, config: PreprocessConfig, store_root: str, key: str):
    """Preprocess one source in a worker and cache the outcome; returns (clip or None, reason)."""
    from ..face.preprocess import preprocess_video
    from ..video import open_video

    store = FeatureStore(store_root)
    try:
        if frame_range is None:
            aligned = preprocess_video(source, config)
        else:
            stream = open_video(source)
            frames = list(itertools.islice(stream, *frame_range))
            if not frames:
                raise VideoReadError(source, f"expected frames {frame_range[0]}.."
                                             f"{frame_range[1] - 1} in this folder; it has fewer")
            aligned = dataclasses.replace(
                preprocess_video(np.stack(frames), config), fps=stream.fps,
                source=f"{source}[{frame_range[0]}:{frame_range[1]}]")
    except DferError as exc:
        reason = f"{type(exc).__name__}: {exc.reason}"
        store.save_failure(key, reason)
        return None, reason
    store.save_clip(key, aligned)
    return aligned, None


def _parallel(function, tasks: list, *, n_jobs: int, backend: str | None, progress: bool,
              desc: str):
    """Run ``function(*task)`` for every task with joblib, in order, with a tqdm bar (count,
    ETA)."""
    if not tasks:
        return []
    with joblib.parallel_config(backend=backend) if backend else contextlib.nullcontext():
        results = joblib.Parallel(n_jobs=n_jobs, return_as="generator")(
            joblib.delayed(function)(*task) for task in tasks)
        return list(tqdm(results, total=len(tasks), desc=desc, unit="clip", disable=not progress))


def prepare_clips(dataset, config: PreprocessConfig = PreprocessConfig(), *, cache_dir,
                  n_jobs: int = 1, backend: str | None = None, progress: bool = True,
                  store: FeatureStore | None = None):
    """Aligned clips of every dataset clip, from the cache where possible.

    Parameters
    ----------
    dataset : Dataset
    config : PreprocessConfig
    cache_dir : str or Path
        Root of the :class:`~handcrafted_dfer.features.store.FeatureStore`.
    n_jobs : int
        Clips preprocessed in parallel (joblib).
    backend : str, optional
        joblib backend (e.g. ``"dask"`` with a ``dask.distributed.Client`` running).
    progress : bool
        Show a tqdm bar with the clip count and ETA.
    store : FeatureStore, optional
        Use this store object (its ``counts`` then record what was loaded and computed).

    Returns
    -------
    clips : list of AlignedClip or None
        One per dataset clip; None where it failed.
    skipped : list of dict
        ``{"clip": id, "path": path, "reason": reason}`` for every failed clip.
    """
    store = store or FeatureStore(cache_dir)
    keys, clips, reasons, todo = [], [], [], []
    for i, clip in enumerate(dataset.clips):
        frame_range = _frame_range(clip)
        try:
            key = store.clip_key(clip.path, config, selection=frame_range)
        except DferError as exc:  # the source does not exist: nothing to cache
            keys.append(None)
            clips.append(None)
            reasons.append(f"{type(exc).__name__}: {exc.reason}")
            continue
        keys.append(key)
        cached = store.load_clip(key)
        clips.append(cached if isinstance(cached, AlignedClip) else None)
        reasons.append(cached if isinstance(cached, str) else None)
        if cached is None:
            todo.append(i)
    tasks = [(dataset.clips[i].path, _frame_range(dataset.clips[i]), config, str(store.root),
              keys[i]) for i in todo]
    for i, (aligned, reason) in zip(todo, _parallel(_preprocess_one, tasks, n_jobs=n_jobs,
                                                    backend=backend, progress=progress,
                                                    desc="preprocess")):
        clips[i], reasons[i] = aligned, reason
    store.counts["clips_computed"] += len(todo)
    skipped = [{"clip": c.id, "path": c.path, "reason": r}
               for c, r in zip(dataset.clips, reasons) if r is not None]
    return clips, skipped


# -- features -------------------------------------------------------------------------------------
def describe_clips(clips, names, *, params: dict | None = None):
    """Feature rows of aligned clips, without any cache (used for new videos).

    Parameters
    ----------
    clips : sequence of AlignedClip
    names : sequence of str
        Extractor names; their rows are concatenated in this order.
    params : dict, optional
        ``{extractor name: constructor parameters}``.

    Returns
    -------
    X : ndarray of float64, shape (n_clips, n_features)
    feature_names : ndarray of str
    """
    params = params or {}
    blocks, feature_names = [], []
    for name in names:
        extractor = make_extractor(name, **params.get(name, {})).fit(clips[:1])
        blocks.append(extractor.transform(clips))
        feature_names.append(extractor.get_feature_names_out())
    return np.hstack(blocks), np.concatenate(feature_names)


def _describe_one(clip: AlignedClip, name: str, params: dict, store_root: str, folder: str,
                  key: str) -> np.ndarray:
    """One clip's row of one extractor, computed in a worker and cached."""
    row = make_extractor(name, **params).fit([clip]).transform([clip])[0]
    FeatureStore(store_root).save_features(folder, key, row)
    return row


def extract_features(clips, names, *, cache_dir, params: dict | None = None, n_jobs: int = 1,
                     backend: str | None = None, progress: bool = True,
                     store: FeatureStore | None = None):
    """Feature rows of aligned clips, from the cache where possible.

    Parameters
    ----------
    clips : sequence of AlignedClip or None
        None entries (failed clips) get rows of NaN.
    names : sequence of str
        Extractor names, concatenated in this order.
    cache_dir : str or Path
    params : dict, optional
        ``{extractor name: constructor parameters}`` (defaults otherwise).
    n_jobs, backend, progress, store
        As in :func:`prepare_clips`.

    Returns
    -------
    X : ndarray of float64, shape (n_clips, n_features)
    feature_names : ndarray of str
    """
    store = store or FeatureStore(cache_dir)
    params = params or {}
    present = [i for i, c in enumerate(clips) if c is not None]
    if not present:
        raise ValueError("no clip to describe: every clip failed preprocessing")
    blocks, all_names = [], []
    for name in names:
        extractor_params = make_extractor(name, **params.get(name, {})).get_params()
        folder = store.feature_folder_name(name, extractor_params)
        feature_names = store.load_names(folder)
        if feature_names is None:
            feature_names = make_extractor(name, **extractor_params).fit(
                [clips[present[0]]]).get_feature_names_out()
            store.save_names(folder, feature_names)
        rows = np.full((len(clips), len(feature_names)), np.nan)
        keys, todo = {}, []
        for i in present:
            keys[i] = store.content_key(clips[i])
            row = store.load_features(folder, keys[i])
            if row is None or row.shape != (len(feature_names),):
                todo.append(i)
            else:
                rows[i] = row
        tasks = [(clips[i], name, extractor_params, str(store.root), folder, keys[i]) for i in todo]
        for i, row in zip(todo, _parallel(_describe_one, tasks, n_jobs=n_jobs, backend=backend,
                                          progress=progress, desc=name)):
            rows[i] = row
        store.counts["features_computed"] += len(todo)
        blocks.append(rows)
        all_names.append(np.asarray(feature_names, dtype=object))
    return np.hstack(blocks), np.concatenate(all_names)


# -- folds ----------------------------------------------------------------------------------------
def _take(data, indices):
    """Rows of an array, or items of a list (clips), at ``indices``."""
    return data[indices] if isinstance(data, np.ndarray) else [data[i] for i in indices]


def _model_bytes(estimator) -> int:
    """Size of the fitted model: the deep classifier's own count, else its pickle's length."""
    own = getattr(estimator, "model_bytes", None)
    if callable(own):
        return int(own())
    return len(pickle.dumps(estimator, protocol=pickle.HIGHEST_PROTOCOL))


def _peak_memory(make_estimator, data, y, groups, fold) -> int:
    """Bytes of the tracemalloc peak while fitting and predicting ``fold`` once more."""
    train, test = fold
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        make_estimator().fit(_take(data, train), y[train], groups=groups[train]).predict(
            _take(data, test))
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        if not was_tracing:
            tracemalloc.stop()


def evaluate_folds(make_estimator, data, y, groups, folds, *, n_classes: int,
                   keep_models: bool = False, measure_memory: bool = True) -> dict:
    """Fit and test one method on every fold; measure time, memory and model size.

    Parameters
    ----------
    make_estimator : callable
        Returns a fresh unfitted estimator with ``fit(X, y, groups=...)`` and ``predict``.
    data : ndarray (n_clips, n_features) or list of AlignedClip
    y : ndarray of int, shape (n_clips,)
    groups : ndarray, shape (n_clips,)
        Subject of each clip (None where unknown); only the training part reaches ``fit``.
    folds : list of (train indices, test indices)
    n_classes : int
    keep_models : bool
        Also return each fold's fitted estimator.
    measure_memory : bool
        Fit and predict the first fold once more under tracemalloc (which slows Python
        allocations several-fold, so timed runs are never traced) for ``peak_memory_mb``.

    Returns
    -------
    dict
        Pooled scores (``accuracy``, ``uar``, ``war``, ``f1_macro``, ``per_class_recall``,
        ``confusion``), ``per_fold`` (mean, std and values), ``fold_details``, ``fit_seconds``
        (mean per fold), ``predict_ms_per_clip``, ``peak_memory_mb``, ``model_bytes`` (mean per
        fold), ``inner_search``, ``n_parameters`` when the estimator has ``n_parameters_``, and,
        with ``keep_models``, ``_models``.
    """
    y = np.asarray(y)
    groups = np.asarray(groups, dtype=object)
    true_all, pred_all, details, fold_scores, models = [], [], [], [], []
    fit_seconds, predict_seconds, sizes, searches = [], [], [], set()
    for k, (train, test) in enumerate(folds):
        estimator = make_estimator()
        t0 = time.perf_counter()
        estimator.fit(_take(data, train), y[train], groups=groups[train])
        t1 = time.perf_counter()
        pred = np.asarray(estimator.predict(_take(data, test)))
        t2 = time.perf_counter()
        fit_seconds.append(t1 - t0)
        predict_seconds.append(t2 - t1)
        sizes.append(_model_bytes(estimator))
        search = getattr(estimator, "search_cv_", None)
        if search:
            searches.add(search)
        scores = classification_scores(y[test], pred, n_classes=n_classes)
        fold_scores.append(scores)
        test_subjects = sorted({str(g) for g in groups[test] if g is not None})
        n_train_subjects = len({str(g) for g in groups[train] if g is not None})
        details.append({"fold": k, "n_train": int(len(train)), "n_test": int(len(test)),
                        "n_train_subjects": n_train_subjects, "test_subjects": test_subjects,
                        "best_params": _plain(getattr(estimator, "best_params_", None)),
                        **{key: scores[key] for key in ("accuracy", "uar", "war", "f1_macro")}})
        true_all.append(y[test])
        pred_all.append(pred)
        if keep_models:
            models.append(estimator)
    peak = _peak_memory(make_estimator, data, y, groups, folds[0]) if measure_memory else None
    pooled = classification_scores(np.concatenate(true_all), np.concatenate(pred_all),
                                   n_classes=n_classes)
    n_test = sum(len(test) for _, test in folds)
    out = {
        **pooled,
        "per_fold": fold_summary(fold_scores),
        "fold_details": details,
        "n_folds": len(folds),
        "fit_seconds": float(np.mean(fit_seconds)),
        "fit_seconds_total": float(np.sum(fit_seconds)),
        "predict_ms_per_clip": float(1000 * np.sum(predict_seconds) / n_test),
        "peak_memory_mb": None if peak is None else peak / 2**20,
        "model_bytes": int(np.mean(sizes)),
        "inner_search": sorted(searches),
    }
    n_parameters = getattr(estimator, "n_parameters_", None)
    if n_parameters is not None:
        out["n_parameters"] = int(n_parameters)
    if keep_models:
        out["_models"] = models
    return out


def _plain(value):
    """Best-parameter dicts as JSON-ready values."""
    if value is None:
        return None
    return {k: (v if isinstance(v, (int, float, str, bool)) or v is None else repr(v))
            for k, v in value.items()}


def _usable_folds(folds, ok: np.ndarray):
    """Folds without the failed clips; folds left with an empty side are dropped (and counted)."""
    kept, dropped = [], 0
    for train, test in folds:
        train = np.asarray([i for i in train if ok[i]], dtype=np.int64)
        test = np.asarray([i for i in test if ok[i]], dtype=np.int64)
        if len(train) and len(test):
            kept.append((train, test))
        else:
            dropped += 1
    return kept, dropped


def _deep_module():
    """The deep package when torch is importable, else None."""
    try:
        from .. import deep
    except ImportError:
        return None
    try:
        return deep if deep.available() else None
    except ImportError:
        return None


def run_evaluation(dataset, methods, *, protocol: str,
                   config: PreprocessConfig = PreprocessConfig(), cache_dir, n_jobs: int = 1,
                   backend: str | None = None, progress: bool = True,
                   train_subject_fraction: float = 1.0, measure_memory: bool = True,
                   seed: int = 0, return_models: bool = False,
                   protocol_options: dict | None = None, feature_params: dict | None = None,
                   classifier_options: dict | None = None,
                   deep_params: dict | None = None) -> dict:
    """Evaluate methods on a dataset under a subject-independent protocol.

    Parameters
    ----------
    dataset : Dataset
    methods : list of Method or str
        A string goes through :func:`parse_methods`.
    protocol : {"loso", "kfold", "official", "holdout"}
        Passed to :func:`handcrafted_dfer.datasets.protocols.get_folds`.
    config : PreprocessConfig
    cache_dir : str or Path
        Feature store folder.
    n_jobs : int
        Clips preprocessed and described in parallel.
    backend : str, optional
        joblib backend for the clip-parallel stages.
    progress : bool
    train_subject_fraction : float in (0, 1]
        Keep this random fraction of each fold's training *subjects* (whole subjects; test sides
        unchanged), for learning curves; see
        :func:`~handcrafted_dfer.datasets.protocols.subject_fraction_folds`. Below 1 it needs a
        subject id for every clip.
    measure_memory : bool
        Fit and predict the first fold of each handcrafted method once more under tracemalloc
        for ``peak_memory_mb`` (None when off); see :func:`evaluate_folds`.
    seed : int
        Seed of the subject subsampling and of the classifiers.
    return_models : bool
        Add ``"_folds"`` (not JSON): per method, per fold, ``{"estimator", "test", "X_test" or
        "clips_test", "feature_names"}``.
    protocol_options : dict, optional
        Extra arguments of ``get_folds`` (e.g. ``n_splits``).
    feature_params : dict, optional
        ``{extractor name: constructor parameters}``.
    classifier_options : dict, optional
        Extra arguments of :func:`~handcrafted_dfer.classify.make_classifier`.
    deep_params : dict, optional
        Arguments of ``handcrafted_dfer.deep.C3DClassifier``.

    Returns
    -------
    dict
        JSON-ready report (see INTERFACES.md): dataset, protocol, n_clips, n_subjects, labels,
        skipped, results, and the run's settings and environment.
    """
    from ..datasets.protocols import get_folds, subject_fraction_folds

    if not 0.0 < train_subject_fraction <= 1.0:
        raise ValueError(f"train_subject_fraction must be in (0, 1]; got "
                         f"{train_subject_fraction}")
    if isinstance(methods, str):
        methods = parse_methods(methods)
    start = time.perf_counter()
    store = FeatureStore(cache_dir)
    clips, skipped = prepare_clips(dataset, config, cache_dir=cache_dir, n_jobs=n_jobs,
                                   backend=backend, progress=progress, store=store)
    ok = np.array([c is not None for c in clips])
    y = dataset.y
    groups = dataset.subjects
    folds, dropped = _usable_folds(get_folds(dataset, protocol, **(protocol_options or {})), ok)
    if not folds:
        raise ValueError(f"no usable fold: {int((~ok).sum())} of {len(clips)} clips failed "
                         f"preprocessing (see skipped)")
    if train_subject_fraction < 1.0:
        folds = subject_fraction_folds(dataset, folds, train_subject_fraction, seed=seed)
    n_classes = len(dataset.labels)
    feature_cache: dict = {}
    results, kept_models = [], {}
    for method in methods:
        if method.family == "deep":
            deep = _deep_module()
            if deep is None:
                results.append({"method": method.name, "family": "deep",
                                "skipped": "install handcrafted_dfer[deep]"})
                continue
            params = dict(deep_params or {})
            entry = evaluate_folds(lambda: deep.C3DClassifier(**params), clips, y, groups, folds,
                                   n_classes=n_classes, keep_models=return_models,
                                   measure_memory=False)
            models = entry.pop("_models", None)
            entry.update({"method": method.name, "family": "deep"})
            if return_models:
                kept_models[method.name] = [
                    {"estimator": m, "test": test, "clips_test": [clips[i] for i in test],
                     "feature_names": None} for m, (_, test) in zip(models, folds)]
        else:
            blocks, names = [], []
            for name in method.features:
                if name not in feature_cache:
                    feature_cache[name] = extract_features(
                        clips, [name], cache_dir=cache_dir, params=feature_params, n_jobs=n_jobs,
                        backend=backend, progress=progress, store=store)
                blocks.append(feature_cache[name][0])
                names.append(feature_cache[name][1])
            X, feature_names = np.hstack(blocks), np.concatenate(names)
            options = {"segments": histogram_segments(feature_names), "random_state": seed,
                       **(classifier_options or {})}
            entry = evaluate_folds(lambda: make_classifier(method.classifier, **options), X, y,
                                   groups, folds, n_classes=n_classes, keep_models=return_models,
                                   measure_memory=measure_memory)
            models = entry.pop("_models", None)
            entry.update({"method": method.name, "family": "handcrafted",
                          "features": list(method.features), "classifier": method.classifier,
                          "n_features": int(X.shape[1])})
            if return_models:
                kept_models[method.name] = [
                    {"estimator": m, "test": test, "X_test": X[test],
                     "feature_names": feature_names}
                    for m, (_, test) in zip(models, folds)]
        results.append({"method": entry.pop("method"), "family": entry.pop("family"), **entry})
    valid_subjects = {g for g, good in zip(groups, ok) if good and g is not None}
    report = {
        "dataset": dataset.name,
        "root": str(dataset.root),
        "synthetic": dataset.name == "synthetic",
        "protocol": protocol,
        "protocol_options": dict(protocol_options or {}),
        "n_folds": len(folds),
        "dropped_folds": dropped,
        "n_clips": int(ok.sum()),
        "n_clips_listed": len(clips),
        "n_subjects": len(valid_subjects),
        "labels": list(dataset.labels),
        "class_counts": [int(np.sum(y[ok] == c)) for c in range(n_classes)],
        "skipped": skipped,
        "results": results,
        "preprocess": dataclasses.asdict(config),
        "feature_params": feature_params or {},
        "classifier_options": classifier_options or {},
        "train_subject_fraction": train_subject_fraction,
        "seed": seed,
        "memory_note": MEMORY_NOTE,
        "cache": {"dir": str(store.root), **store.counts},
        "wall_seconds": time.perf_counter() - start,
        "environment": {"handcrafted_dfer": __version__, "python": platform.python_version(),
                        "cpu_count": os.cpu_count(), "n_jobs": n_jobs,
                        "backend": backend or "loky"},
    }
    if report["synthetic"]:
        report["note"] = SYNTHETIC_NOTE
    if return_models:
        report["_folds"] = kept_models
    return report
