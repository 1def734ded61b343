"""Permutation importance of face blocks on held-out folds.

A block (one grid cell, plane and temporal segment; see :mod:`.blocks`) is described by many
columns (histogram bins). Its importance is the drop in accuracy and UAR on a held-out fold when
*all* its columns are shuffled together across the fold's clips (one permutation of rows for the
whole block, so the block's own histogram stays intact but no longer belongs to its clip), averaged
over repeats and then over folds. Permuting columns one at a time would understate blocks whose
bins are redundant with one another.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import accuracy_score, balanced_accuracy_score
from tqdm.auto import tqdm

from .blocks import Block, group_columns

__all__ = ["BlockImportance", "block_permutation_importance", "held_out_block_importance"]


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

    Notes
    -----
    The ``n_repeats`` permuted copies of the fold are stacked and predicted in one call per block
    (the estimator predicts each row on its own, so this equals one call per repeat).
    """
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
    rng = np.random.default_rng(random_state)
    blocks, column_block = group_columns(feature_names)
    n = X.shape[0]
    baseline = _scores(y, estimator.predict(X))
    stacked = np.tile(X, (n_repeats, 1))  # all repeats of one block predicted in one call
    drops = {}
    for b, block in enumerate(blocks):
        cols = np.flatnonzero(column_block == b)
        for r in range(n_repeats):
            stacked[r * n:(r + 1) * n, cols] = X[rng.permutation(n)][:, cols]
        pred = np.asarray(estimator.predict(stacked)).reshape(n_repeats, n)
        drops[block] = np.array([baseline - _scores(y, p) for p in pred])
        stacked[:, cols] = np.tile(X[:, cols], (n_repeats, 1))
        if progress is not None:
            progress.update(1)
    return drops


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
