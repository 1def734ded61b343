"""Permutation importance of face blocks on held-out folds.

A block (one grid cell, plane and temporal segment; see :mod:`.blocks`) is described by many
columns (histogram bins). Its importance is the drop in accuracy and UAR on a held-out fold when
*all* its columns are shuffled together across the fold's clips (one permutation of rows for the
whole block, so the block's own histogram stays intact but no longer belongs to its clip), averaged
over repeats and then over folds. Permuting columns one at a time would understate blocks whose
bins are redundant with one another.

:func:`held_out_class_importance` measures the same permutations against each class's recall
(what permuting the block costs *that* expression), and can permute any grouping of the columns
at once: a whole plane, a family or a temporal segment.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import accuracy_score, balanced_accuracy_score
from tqdm.auto import tqdm

from .blocks import Block, group_columns, parse_block, parse_feature_name

__all__ = ["BlockImportance", "block_permutation_importance",
           "held_out_block_importance", "ClassImportance", "held_out_class_importance"]


@dataclass(frozen=True)
class BlockImportance:
    """Importance of one block.

    Attributes
    ----------
    block : Block
    accuracy_drop, uar_drop : float
        Mean drop (baseline minus permuted score) over repeats and folds; negative when shuffling
        the block happened to help.
    accuracy_drop_std, uar_drop_std : float
        Standard deviation of the drops over all repeats of all folds.
    n_columns : int
        Number of feature columns in the block.
    """

    block: Block
    accuracy_drop: float
    accuracy_drop_std: float
    uar_drop: float
    uar_drop_std: float
    n_columns: int

    def to_dict(self) -> dict:
        """JSON-ready fields, the block spelled out."""
        b = self.block
        return {"block": str(b), "family": b.family, "plane": b.plane, "row": b.row, "col": b.col,
                "segment": b.segment, "accuracy_drop": self.accuracy_drop,
                "accuracy_drop_std": self.accuracy_drop_std, "uar_drop": self.uar_drop,
                "uar_drop_std": self.uar_drop_std, "n_columns": self.n_columns}

    @classmethod
    def from_dict(cls, data: dict) -> "BlockImportance":
        """The row :meth:`to_dict` wrote (e.g. read back from a JSON report)."""
        return cls(parse_block(data["block"]), float(data["accuracy_drop"]),
                   float(data["accuracy_drop_std"]), float(data["uar_drop"]),
                   float(data["uar_drop_std"]), int(data["n_columns"]))


def _scores(y_true, y_pred) -> np.ndarray:
    with warnings.catch_warnings():
        # balanced_accuracy_score warns when a fold predicts a class absent from its true labels
        warnings.simplefilter("ignore", UserWarning)
        return np.array([accuracy_score(y_true, y_pred), balanced_accuracy_score(y_true, y_pred)])


def block_permutation_importance(estimator, X, y, *, feature_names, n_repeats: int = 5,
                                 random_state=0, progress=None) -> dict:
    """Score drops of one fitted estimator when each block of ``X`` is permuted.

    Parameters
    ----------
    estimator : fitted classifier
        Anything with ``predict(X)``.
    X : ndarray, shape (n_clips, n_features)
        Held-out features (never the data the estimator was fitted on).
    y : array_like, shape (n_clips,)
        True labels of ``X``.
    feature_names : sequence of str
        Names of the columns of ``X`` (see :func:`~.blocks.parse_feature_name`).
    n_repeats : int
        Permutations per block.
    random_state : int or numpy.random.Generator
    progress : tqdm bar, optional
        Advanced by one per block.

    Returns
    -------
    dict
        ``Block -> ndarray (n_repeats, 2)`` of drops in (accuracy, UAR).
    """
    X, y = _check_fold(X, y, feature_names, n_repeats)
    rng = np.random.default_rng(random_state)
    blocks, column_block = group_columns(feature_names)
    baseline = _scores(y, estimator.predict(X))
    return {blocks[b]: np.array([baseline - _scores(y, p) for p in pred])
            for b, pred in _permuted_predictions(estimator, X, column_block, len(blocks),
                                                 n_repeats, rng, progress)}


def _check_fold(X, y, feature_names, n_repeats):
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim != 2 or X.shape[1] != len(feature_names):
        raise ValueError(f"X must be 2D with one column per feature name ({len(feature_names)}); "
                         f"got shape {X.shape}")
    if X.shape[0] != y.shape[0] or X.shape[0] < 2:
        raise ValueError(f"X and y must describe the same clips, at least 2; got {X.shape[0]} "
                         f"and {y.shape[0]}")
    if n_repeats < 1:
        raise ValueError(f"n_repeats must be a positive integer; got {n_repeats}")
    return X, y


def _permuted_predictions(estimator, X, column_group, n_groups, n_repeats, rng, progress):
    """Yield ``(g, predictions of shape (n_repeats, n_clips))`` with group ``g``'s columns
    permuted together across the clips, one permutation per repeat.

    The ``n_repeats`` permuted copies of the fold are stacked and predicted in one call per group
    (the estimator predicts each row on its own, so this equals one call per repeat).
    """
    n = X.shape[0]
    stacked = np.tile(X, (n_repeats, 1))
    for g in range(n_groups):
        cols = np.flatnonzero(column_group == g)
        for r in range(n_repeats):
            stacked[r * n:(r + 1) * n, cols] = X[rng.permutation(n)][:, cols]
        yield g, np.asarray(estimator.predict(stacked)).reshape(n_repeats, n)
        stacked[:, cols] = np.tile(X[:, cols], (n_repeats, 1))
        if progress is not None:
            progress.update(1)


def held_out_block_importance(folds, *, feature_names, n_repeats: int = 5, random_state=0,
                              progress: bool = False, desc: str = "block importance"
                              ) -> list[BlockImportance]:
    """Block permutation importance averaged over held-out folds, most important first.

    Parameters
    ----------
    folds : iterable of (estimator, X_test, y_test)
        One fitted estimator per fold with that fold's held-out features and labels.
    feature_names : sequence of str
        Column names shared by every fold's ``X_test``.
    n_repeats : int
        Permutations per block and fold.
    random_state : int
        Seed; each fold draws its own stream from it.
    progress : bool
        Show a tqdm bar over blocks x folds.
    desc : str
        Label of the bar.

    Returns
    -------
    list of BlockImportance
        Sorted by mean accuracy drop, then UAR drop, both descending.
    """
    folds = list(folds)
    if not folds:
        raise ValueError("held_out_block_importance needs at least one fold")
    blocks, column_block = group_columns(feature_names)
    seeds = np.random.SeedSequence(random_state)
    collected: dict[Block, list[np.ndarray]] = {}
    with tqdm(total=len(blocks) * len(folds), desc=desc, unit="block",
              disable=not progress) as bar:
        for estimator, X_test, y_test in folds:
            rng = np.random.default_rng(seeds.spawn(1)[0])
            fold = block_permutation_importance(estimator, X_test, y_test,
                                                feature_names=feature_names, n_repeats=n_repeats,
                                                random_state=rng, progress=bar)
            for block, drops in fold.items():
                collected.setdefault(block, []).append(drops)
    n_columns = np.bincount(column_block, minlength=len(blocks))
    table = []
    for b, block in enumerate(blocks):
        drops = np.concatenate(collected[block])
        mean, std = drops.mean(axis=0), drops.std(axis=0)
        table.append(BlockImportance(block, float(mean[0]), float(std[0]), float(mean[1]),
                                     float(std[1]), int(n_columns[b])))
    table.sort(key=lambda t: (-t.accuracy_drop, -t.uar_drop, str(t.block)))
    return table


@dataclass(frozen=True, eq=False)
class ClassImportance:
    """Per-class permutation importance: how much each group's permutation costs each class.

    Attributes
    ----------
    classes : tuple
        Class labels, in row order.
    groups : tuple
        What was permuted together: :class:`~.blocks.Block` objects (the default) or the keys
        of a custom grouping (e.g. the plane ``"lbptop/xy"``).
    recall_drop : ndarray, shape (n_classes, n_groups)
        Mean drop in the recall of each class (baseline minus permuted) over repeats and the
        folds whose held-out clips include that class; NaN for a class no fold holds out.
    recall_drop_std : ndarray, shape (n_classes, n_groups)
        Standard deviation of those drops.
    n_columns : ndarray of int, shape (n_groups,)
    n_folds : ndarray of int, shape (n_classes,)
        Folds whose held-out clips include the class.

    Notes
    -----
    UAR is the mean of the per-class recalls, so when every fold holds out every class the mean
    of ``recall_drop`` over classes is the UAR drop of
    :func:`held_out_block_importance` (with the same seed, the same permutations).
    """

    classes: tuple
    groups: tuple
    recall_drop: np.ndarray
    recall_drop_std: np.ndarray
    n_columns: np.ndarray
    n_folds: np.ndarray

    def _row(self, cls) -> int:
        if cls not in self.classes:
            raise ValueError(f"class {cls!r} is not among {list(self.classes)}")
        return self.classes.index(cls)

    def values(self, cls) -> dict:
        """``group -> recall drop`` of class ``cls``."""
        row = self.recall_drop[self._row(cls)]
        return dict(zip(self.groups, row.tolist()))

    def ranking(self, cls, *, top: int | None = None) -> list[tuple]:
        """``(group, recall drop)`` of class ``cls``, largest drop first (ties by name)."""
        ranked = sorted(self.values(cls).items(), key=lambda item: (-item[1], str(item[0])))
        return ranked if top is None else ranked[:top]

    def totals(self, cls, key) -> dict:
        """Sum of the recall drops of class ``cls`` over the groups with the same ``key(group)``.

        E.g. ``totals(c, block_kind)`` sums per plane/family. Sums of signed drops, so the noise
        of unimportant groups cancels instead of piling up; for the importance of a whole plane
        as one unit, permute it as one group (``group=`` of :func:`held_out_class_importance`).
        """
        out: dict = {}
        for group, drop in self.values(cls).items():
            out[key(group)] = out.get(key(group), 0.0) + drop
        return out

    def to_dict(self) -> dict:
        """JSON-ready fields."""
        return {"classes": [str(c) for c in self.classes],
                "groups": [str(g) for g in self.groups],
                "recall_drop": self.recall_drop.tolist(),
                "recall_drop_std": self.recall_drop_std.tolist(),
                "n_columns": self.n_columns.tolist(), "n_folds": self.n_folds.tolist()}

    @classmethod
    def from_dict(cls, data: dict) -> "ClassImportance":
        """The table :meth:`to_dict` wrote; groups that spell blocks become blocks again."""
        def group(text):
            try:
                return parse_block(text)
            except ValueError:
                return text

        return cls(tuple(data["classes"]), tuple(group(g) for g in data["groups"]),
                   np.asarray(data["recall_drop"], dtype=np.float64),
                   np.asarray(data["recall_drop_std"], dtype=np.float64),
                   np.asarray(data["n_columns"], dtype=np.int64),
                   np.asarray(data["n_folds"], dtype=np.int64))

    def renamed(self, names) -> "ClassImportance":
        """The same table with class ``c`` called ``names[c]`` (e.g. label indices to names)."""
        return dataclasses.replace(self, classes=tuple(names[c] for c in self.classes))


def _recalls(y_true, y_pred, classes) -> np.ndarray:
    """Recall of each class (NaN for a class absent from ``y_true``)."""
    out = np.full(len(classes), np.nan)
    for k, c in enumerate(classes):
        mask = y_true == c
        if mask.any():
            out[k] = np.mean(y_pred[mask] == c)
    return out


def _column_groups(feature_names, group) -> tuple[list, np.ndarray]:
    if group is None:
        return group_columns(feature_names)
    index: dict = {}
    column_group = np.empty(len(feature_names), dtype=np.int64)
    for j, name in enumerate(feature_names):
        column_group[j] = index.setdefault(group(parse_feature_name(name)), len(index))
    return list(index), column_group


def held_out_class_importance(folds, *, feature_names, group=None, n_repeats: int = 5,
                              random_state=0, progress: bool = False,
                              desc: str = "per-class importance") -> ClassImportance:
    """Per-class recall drop when a group of columns is permuted, on held-out folds.

    For each fold, each group's columns are permuted together across the fold's held-out clips
    (as in :func:`block_permutation_importance`), and the drop of every class's recall is
    recorded; drops are averaged over repeats and over the folds that hold out the class.

    Parameters
    ----------
    folds : iterable of (estimator, X_test, y_test)
        One fitted estimator per fold with that fold's held-out features and labels.
    feature_names : sequence of str
        Column names shared by every fold's ``X_test``.
    group : callable, optional
        ``group(FeatureName) -> key``: columns with the same key are permuted together. Default:
        one group per block. ``lambda f: block_kind(f.block)`` permutes a whole plane (or family)
        at once; ``lambda f: f.segment`` a whole temporal segment.
    n_repeats : int
        Permutations per group and fold.
    random_state : int
        Seed; each fold draws its own stream from it (the streams of
        :func:`held_out_block_importance`).
    progress : bool
        Show a tqdm bar over groups x folds.
    desc : str
        Label of the bar.

    Returns
    -------
    ClassImportance
        Classes are the sorted union of the folds' held-out labels.
    """
    folds = [(est, *_check_fold(X, y, feature_names, n_repeats)) for est, X, y in folds]
    if not folds:
        raise ValueError("held_out_class_importance needs at least one fold")
    groups, column_group = _column_groups(feature_names, group)
    classes = tuple(np.unique(np.concatenate([y for _, _, y in folds])).tolist())
    seeds = np.random.SeedSequence(random_state)
    collected = [[] for _ in groups]  # per group: arrays (n_repeats, n_classes)
    with tqdm(total=len(groups) * len(folds), desc=desc, unit="group",
              disable=not progress) as bar:
        for estimator, X_test, y_test in folds:
            rng = np.random.default_rng(seeds.spawn(1)[0])
            baseline = _recalls(y_test, np.asarray(estimator.predict(X_test)), classes)
            for g, pred in _permuted_predictions(estimator, X_test, column_group, len(groups),
                                                 n_repeats, rng, bar):
                collected[g].append(np.array([baseline - _recalls(y_test, p, classes)
                                              for p in pred]))
    drops = np.stack([np.concatenate(c) for c in collected], axis=-1)  # (R*F, classes, groups)
    present = ~np.isnan(drops[:, :, 0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a class held out by no fold: NaN
        mean, std = np.nanmean(drops, axis=0), np.nanstd(drops, axis=0)
    return ClassImportance(classes, tuple(groups), mean, std,
                           np.bincount(column_group, minlength=len(groups)),
                           present.sum(axis=0) // n_repeats)
