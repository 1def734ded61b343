"""Classification metrics of facial expression recognition: accuracy, UAR, WAR, macro F1.

Everything is computed from the confusion matrix, so that pooled (all folds together) and per-fold
figures come from one definition.

* **WAR** (weighted average recall) weights each class's recall by its support; it equals plain
  accuracy.
* **UAR** (unweighted average recall) is the mean of the per-class recalls over the classes that
  occur in the true labels; it equals :func:`sklearn.metrics.balanced_accuracy_score`.
* **Macro F1** is the mean over the same classes of ``2 TP / (2 TP + FP + FN)``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["confusion", "scores_from_confusion", "classification_scores", "fold_summary"]


def confusion(y_true, y_pred, *, n_classes: int) -> np.ndarray:
    """Confusion matrix with true classes in rows and predicted classes in columns.

    Parameters
    ----------
    y_true, y_pred : array_like of int, shape (n,)
        Class indices in ``range(n_classes)``.
    n_classes : int
        Number of classes (rows and columns of the result).

    Returns
    -------
    ndarray of int64, shape (n_classes, n_classes)
    """
    y_true = np.asarray(y_true, dtype=np.int64).ravel()
    y_pred = np.asarray(y_pred, dtype=np.int64).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred must have the same length; got {y_true.size} and "
                         f"{y_pred.size}")
    if n_classes < 1:
        raise ValueError(f"n_classes must be at least 1; got {n_classes}")
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        if y.size and (y.min() < 0 or y.max() >= n_classes):
            raise ValueError(f"{name} must hold class indices in [0, {n_classes - 1}]; "
                             f"got values from {y.min()} to {y.max()}")
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    return cm


def scores_from_confusion(cm) -> dict:
    """Accuracy, UAR, WAR, macro F1 and per-class recall of a confusion matrix.

    Parameters
    ----------
    cm : array_like of int, shape (n_classes, n_classes)
        True classes in rows, predictions in columns.

    Returns
    -------
    dict
        ``accuracy``, ``uar``, ``war``, ``f1_macro`` (floats in [0, 1]) and ``per_class_recall``
        (list with ``None`` for classes absent from the true labels, which UAR and macro F1 leave
        out).
    """
    cm = np.asarray(cm, dtype=np.float64)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"a confusion matrix must be square; got shape {cm.shape}")
    total = cm.sum()
    if total == 0:
        raise ValueError("the confusion matrix is empty (no samples)")
    tp = np.diag(cm)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    present = support > 0
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=present)
    f1_denominator = support + predicted
    f1 = np.divide(2 * tp, f1_denominator, out=np.zeros_like(tp), where=f1_denominator > 0)
    accuracy = float(tp.sum() / total)
    return {
        "accuracy": accuracy,
        "uar": float(recall[present].mean()),
        "war": float((recall * support).sum() / total),
        "f1_macro": float(f1[present].mean()),
        "per_class_recall": [float(r) if p else None for r, p in zip(recall, present)],
    }


def classification_scores(y_true, y_pred, *, n_classes: int) -> dict:
    """:func:`scores_from_confusion` of the labels, plus the ``confusion`` matrix (nested
    lists)."""
    cm = confusion(y_true, y_pred, n_classes=n_classes)
    return {**scores_from_confusion(cm), "confusion": cm.tolist()}


def fold_summary(fold_scores: list[dict], keys=("accuracy", "uar", "war", "f1_macro")) -> dict:
    """Mean and standard deviation (population, ``ddof=0``) of per-fold scores.

    Parameters
    ----------
    fold_scores : list of dict
        One :func:`scores_from_confusion` result per fold.
    keys : sequence of str
        The scores to summarise.

    Returns
    -------
    dict
        ``{key: {"mean": float, "std": float, "folds": [float, ...]}}``.
    """
    if not fold_scores:
        raise ValueError("fold_summary needs at least one fold")
    out = {}
    for key in keys:
        values = np.array([s[key] for s in fold_scores], dtype=np.float64)
        out[key] = {"mean": float(values.mean()), "std": float(values.std()),
                    "folds": [float(v) for v in values]}
    return out
