"""The fold stage of a run: fit and test one method on every fold; time, memory and model size."""

from __future__ import annotations

import time
import tracemalloc

import numpy as np

from ..pipeline import fit_pipeline
from .metrics import classification_scores, fold_summary

__all__ = ["evaluate_folds", "usable_folds", "take"]


def take(data, indices):
    """Rows of an array, or items of a list (clips), at ``indices``."""
    return data[indices] if isinstance(data, np.ndarray) else [data[i] for i in indices]


def usable_folds(folds, ok: np.ndarray) -> tuple[list, int]:
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


def _model_bytes(estimator) -> int:
    """Size of the fitted model as a skops archive (what a model file of it would hold)."""
    import skops.io as sio

    return len(sio.dumps(estimator))


def _peak_memory(make_estimator, data, y, groups, fold) -> int:
    """Bytes of the tracemalloc peak while fitting and predicting ``fold`` once more."""
    train, test = fold
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        fit_pipeline(make_estimator(), take(data, train), y[train], groups[train]).predict(
            take(data, test))
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        if not was_tracing:
            tracemalloc.stop()


def _plain(value):
    """Best-parameter dicts as JSON-ready values."""
    if value is None:
        return None
    return {k: (v if isinstance(v, (int, float, str, bool)) or v is None else repr(v))
            for k, v in value.items()}


def evaluate_folds(make_estimator, data, y, groups, folds, *, n_classes: int,
                   keep_models: bool = False, measure_memory: bool = True) -> dict:
    """Fit and test one method on every fold; measure time, memory and model size.

    Parameters
    ----------
    make_estimator : callable
        Returns a fresh unfitted pipeline (fitted with :func:`~handcrafted_dfer.pipeline.fit_pipeline`).
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
        ``confusion``), ``per_fold`` (mean, std and values), ``fold_details`` (with each fold's
        chosen parameters and inner-search decision), ``fit_seconds``
        (mean per fold), ``predict_ms_per_clip``, ``peak_memory_mb``, ``model_bytes`` (mean per
        fold), ``inner_search`` (the distinct decisions), ``n_parameters`` when the estimator has ``n_parameters_``, and,
        with ``keep_models``, ``_models``.
    """
    y = np.asarray(y)
    groups = np.asarray(groups, dtype=object)
    true_all, pred_all, details, fold_scores, models = [], [], [], [], []
    fit_seconds, predict_seconds, sizes, searches = [], [], [], set()
    estimator = None
    for k, (train, test) in enumerate(folds):
        estimator = make_estimator()
        t0 = time.perf_counter()
        fit_pipeline(estimator, take(data, train), y[train], groups[train])
        t1 = time.perf_counter()
        pred = np.asarray(estimator.predict(take(data, test)))
        t2 = time.perf_counter()
        fit_seconds.append(t1 - t0)
        predict_seconds.append(t2 - t1)
        sizes.append(_model_bytes(estimator))
        last = estimator.steps[-1][1]
        search = getattr(last, "search_cv_", None)
        if search:
            searches.add(search)
        scores = classification_scores(y[test], pred, n_classes=n_classes)
        fold_scores.append(scores)
        test_subjects = sorted({str(g) for g in groups[test] if g is not None})
        n_train_subjects = len({str(g) for g in groups[train] if g is not None})
        details.append({"fold": k, "n_train": int(len(train)), "n_test": int(len(test)),
                        "n_train_subjects": n_train_subjects, "test_subjects": test_subjects,
                        "best_params": _plain(getattr(last, "best_params_", None)),
                        "inner_search": search,
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
    n_parameters = getattr(estimator.steps[-1][1], "n_parameters_", None)
    if n_parameters is not None:
        out["n_parameters"] = int(n_parameters)
    if keep_models:
        out["_models"] = models
    return out
