"""Three views of block importance: permutation, random-forest impurity, linear-SVM weights.

Each view gives every block (:mod:`.blocks`) one number:

- **permutation**: the held-out score drop when the block is permuted
  (:func:`~.importance.held_out_block_importance`);
- **forest**: the random forest's impurity importance (``feature_importances_``) summed over the
  block's columns (:func:`forest_block_importance`);
- **SVM weights**: ``|w|`` of a linear SVM summed over the block's columns and every
  one-vs-one pair of classes (:func:`svm_block_weights`).

:func:`compare_importance_views` puts them on the same blocks with their Spearman rank
correlations, and :data:`VIEWS_NOTE` says why they may disagree.

The estimators may be wrapped: a :class:`~sklearn.pipeline.Pipeline` (its last step is the
classifier, the steps before it transform the feature rows), anything with ``best_estimator_``
(a search), and a :class:`~sklearn.calibration.CalibratedClassifierCV` fitted with
``ensemble=False``. The steps before the classifier may rescale columns or map each column to
several (a χ² feature map), but must keep blocks apart (a PCA mixes them and is refused): which
block each classifier input comes from is found by probing the steps, block by block.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure
from scipy.stats import spearmanr
from sklearn.pipeline import Pipeline

from .blocks import BlockNamer, group_columns
from .plots import _check_face, _draw_heat, block_heat

__all__ = [
    "VIEWS_NOTE",
    "final_estimator",
    "linear_svm_coef",
    "forest_block_importance",
    "svm_block_weights",
    "permutation_view",
    "ImportanceViews",
    "compare_importance_views",
    "plot_importance_views",
]

#: Why the three views of importance may disagree (for reports and figure captions).
VIEWS_NOTE = (
    "The three views answer different questions, so they need not agree. Permutation importance "
    "measures what the fitted model loses on held-out clips when a block's histogram no longer "
    "belongs to its clip: a block the model uses but that another block can stand in for (the XT "
    "and YT planes of a moving region, neighbouring cells) loses little, since the copy still "
    "carries the information. Random-forest impurity importance is measured on the training "
    "clips: it credits blocks that split the training set well, including by chance, favours "
    "columns with many distinct values, and spreads credit across correlated blocks according "
    "to which one the trees happened to pick. Linear-SVM weight magnitude depends on the scale of "
    "the columns after normalization and on how the margin is shared among correlated columns: "
    "two redundant blocks each get part of the weight, and a large weight on a column that "
    "barely varies changes few decisions. Agreement between the views (a high rank correlation) "
    "is evidence that a block matters; disagreement points at redundancy or at overfitting of "
    "one model, not at an error in either view."
)


def final_estimator(estimator) -> tuple[list, object]:
    """The steps before the classifier and the classifier itself, through common wrappers.

    Follows :class:`~sklearn.pipeline.Pipeline` (steps before the last are collected),
    ``best_estimator_`` (a search such as ``GridSearchCV`` or ``SubjectSearchClassifier``) and
    ``calibrated_classifiers_`` of a ``CalibratedClassifierCV`` fitted with ``ensemble=False``.

    Returns
    -------
    steps : list
        Fitted transformers applied, in order, to a feature row before the classifier.
    final : estimator
        The innermost fitted classifier.

    Raises
    ------
    ValueError
        A calibrated ensemble (several fitted copies of the classifier, one per fold).
    """
    steps = []
    while True:
        if isinstance(estimator, Pipeline):
            steps += [s for _, s in estimator.steps[:-1] if s not in (None, "passthrough")]
            estimator = estimator.steps[-1][1]
        elif hasattr(estimator, "best_estimator_"):
            estimator = estimator.best_estimator_
        elif hasattr(estimator, "calibrated_classifiers_"):
            fitted = estimator.calibrated_classifiers_
            if len(fitted) != 1:
                raise ValueError(f"the calibrated classifier holds {len(fitted)} fitted copies "
                                 "(ensemble=True); fit it with ensemble=False for one model")
            estimator = fitted[0].estimator
        else:
            return steps, estimator


def _transform(steps, X) -> np.ndarray:
    for step in steps:
        X = step.transform(X)
    return np.asarray(X, dtype=np.float64)


def _input_blocks(steps, X, column_block: np.ndarray, n_blocks: int) -> np.ndarray:
    """Block of every column the classifier sees (-1 for a column no block changes).

    Each block's columns of a few rows of ``X`` are changed (scaled by random factors in
    [0.5, 1.5] and raised by a small positive amount, so that non-negative histograms stay
    non-negative and are no longer proportional), and the output columns that change are
    credited to that block.
    """
    if not steps:
        return column_block
    X = np.asarray(X, dtype=np.float64)[:4]
    base = _transform(steps, X)
    rng = np.random.default_rng(0)
    owner = np.full(base.shape[1], -1)
    for b in range(n_blocks):
        cols = column_block == b
        probe = X.copy()
        scale = np.abs(X[:, cols]).mean() + 1e-3
        probe[:, cols] = (X[:, cols] * rng.uniform(0.5, 1.5, (len(X), cols.sum()))
                          + rng.uniform(0.05, 0.15, (len(X), cols.sum())) * scale)
        changed = np.any(np.abs(_transform(steps, probe) - base)
                         > 1e-9 * (np.abs(base) + 1), axis=0)
        if np.any(owner[changed] >= 0):
            names = ", ".join(type(s).__name__ for s in steps)
            raise ValueError(f"the steps before the classifier ({names}) mix the columns of "
                             "different blocks (as a PCA does); per-block importance needs "
                             "steps that keep blocks apart")
        owner[changed] = b
    return owner


def _per_block(values: np.ndarray, owner: np.ndarray, blocks) -> dict:
    """Sum ``values`` (one per classifier input column) over the columns of each block."""
    if values.shape[-1] != len(owner):
        raise ValueError(f"the classifier has {values.shape[-1]} input columns but the steps "
                         f"before it give {len(owner)}")
    kept = owner >= 0
    sums = np.bincount(owner[kept], weights=values[kept], minlength=len(blocks))
    return dict(zip(blocks, sums.tolist()))


def linear_svm_coef(svc, *, X_fit=None) -> np.ndarray:
    """Primal weights ``w`` of a fitted linear libsvm SVM, one row per one-vs-one pair.

    ``SVC(kernel="linear")`` has ``coef_``; an SVM whose linear kernel is a callable (such as
    :func:`sklearn.metrics.pairwise.linear_kernel`) or precomputed does not, because libsvm only
    kept its support vectors' *indices*. Then ``w`` is rebuilt from ``dual_coef_`` and the
    support vectors ``X_fit[support_]``, in the pair order and signs of ``coef_``: pair
    ``(i, j)``, ``i < j``, has ``w = Σ_{sv of i} α_{j-1} x + Σ_{sv of j} α_i x``.

    Parameters
    ----------
    svc : fitted sklearn.svm.SVC
    X_fit : array_like, shape (n_train, n_features), optional
        The rows the SVM was fitted on, in order (needed unless ``kernel="linear"``).

    Returns
    -------
    ndarray, shape (n_classes * (n_classes - 1) / 2, n_features)

    Raises
    ------
    ValueError
        Not a fitted SVC, a non-linear kernel, or ``X_fit`` missing or of the wrong size.
    """
    if not hasattr(svc, "dual_coef_") or not hasattr(svc, "support_"):
        raise ValueError(f"expected a fitted sklearn.svm.SVC; got {type(svc).__name__}")
    kernel = svc.kernel
    if kernel == "linear":
        return np.asarray(svc.coef_)
    if not (callable(kernel) or kernel == "precomputed"):
        raise ValueError(f"the SVM's kernel is {kernel!r}; weights exist only for a linear one")
    if X_fit is None:
        raise ValueError("X_fit (the rows the SVM was fitted on) is needed to rebuild the weights "
                         "of an SVM with a callable or precomputed kernel")
    X_fit = np.asarray(X_fit, dtype=np.float64)
    if X_fit.ndim != 2 or X_fit.shape[0] != svc.shape_fit_[0]:
        raise ValueError(f"X_fit must be the {svc.shape_fit_[0]} rows the SVM was fitted on; "
                         f"got shape {X_fit.shape}")
    if callable(kernel):
        probe = X_fit[:5]
        if not np.allclose(kernel(probe, probe), probe @ probe.T, rtol=1e-6, atol=1e-9):
            raise ValueError("the SVM's callable kernel is not the linear kernel x . y")
    sv = X_fit[svc.support_]
    dual = np.asarray(svc.dual_coef_)
    if dual.shape[0] == 1:
        return dual @ sv
    starts = np.r_[0, np.cumsum(svc.n_support_)]
    n_classes = dual.shape[0] + 1
    rows = []
    for i in range(n_classes):
        sv_i = slice(starts[i], starts[i + 1])
        for j in range(i + 1, n_classes):
            sv_j = slice(starts[j], starts[j + 1])
            rows.append(dual[j - 1, sv_i] @ sv[sv_i] + dual[i, sv_j] @ sv[sv_j])
    return np.vstack(rows)


def _check_names(X, feature_names):
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != len(feature_names):
        raise ValueError(f"X must be 2D with one column per feature name ({len(feature_names)}); "
                         f"got shape {X.shape}")
    return X


def forest_block_importance(estimator, *, feature_names, X=None) -> dict:
    """Random-forest impurity importance summed per block (sums to 1 over all blocks).

    Parameters
    ----------
    estimator : fitted forest, or a wrapper of one (see the module docstring)
        The final step needs ``feature_importances_``.
    feature_names : sequence of str
        Names of the columns the estimator takes.
    X : array_like, shape (n, n_features), optional
        A few feature rows, needed only when steps precede the forest (to probe them).

    Returns
    -------
    dict
        ``Block -> summed importance``.
    """
    steps, final = final_estimator(estimator)
    if not hasattr(final, "feature_importances_"):
        raise ValueError(f"{type(final).__name__} has no feature_importances_ (expected a "
                         "fitted random forest)")
    blocks, column_block = group_columns(feature_names)
    if steps and X is None:
        raise ValueError("X (a few feature rows) is needed to map the steps before the forest "
                         "back to blocks")
    owner = (column_block if not steps
             else _input_blocks(steps, _check_names(X, feature_names), column_block,
                                len(blocks)))
    return _per_block(np.asarray(final.feature_importances_, dtype=np.float64), owner, blocks)


def svm_block_weights(estimator, *, X_train, feature_names) -> dict:
    """Linear-SVM weight magnitude ``|w|`` summed per block over columns and class pairs.

    Parameters
    ----------
    estimator : fitted linear classifier, or a wrapper of one (see the module docstring)
        An ``SVC`` with a linear (also callable or precomputed linear) kernel, or any classifier
        with ``coef_`` (``LinearSVC``, ``LogisticRegression``).
    X_train : array_like, shape (n_train, n_features)
        The feature rows the estimator was fitted on, in order (the support vectors are rows of
        it after the steps before the classifier).
    feature_names : sequence of str

    Returns
    -------
    dict
        ``Block -> summed |w|``, in the units of the classifier's inputs (after normalization).
    """
    steps, final = final_estimator(estimator)
    X_train = _check_names(X_train, feature_names)
    blocks, column_block = group_columns(feature_names)
    X_fit = _transform(steps, X_train)
    if hasattr(final, "dual_coef_") and hasattr(final, "support_"):
        coef = linear_svm_coef(final, X_fit=X_fit)
    elif hasattr(final, "coef_"):
        coef = np.atleast_2d(np.asarray(final.coef_))
    else:
        raise ValueError(f"{type(final).__name__} has no linear weights (expected a linear SVM "
                         "or another linear classifier)")
    owner = _input_blocks(steps, X_train, column_block, len(blocks))
    return _per_block(np.abs(coef).sum(axis=0), owner, blocks)


def permutation_view(table, *, score: str = "accuracy") -> dict:
    """``Block -> drop`` from a table of :class:`~.importance.BlockImportance`.

    ``score`` is ``"accuracy"`` or ``"uar"``.
    """
    if score not in ("accuracy", "uar"):
        raise ValueError(f"score must be 'accuracy' or 'uar'; got {score!r}")
    return {row.block: getattr(row, f"{score}_drop") for row in table}


@dataclass(frozen=True, eq=False)
class ImportanceViews:
    """Several views of block importance on the same blocks.

    Attributes
    ----------
    names : tuple of str
        Name of each view.
    blocks : tuple of Block
    values : ndarray, shape (n_views, n_blocks)
    spearman : ndarray, shape (n_views, n_views)
        Spearman rank correlation of every pair of views over the blocks (NaN for a view that
        gives every block the same value).
    """

    names: tuple
    blocks: tuple
    values: np.ndarray
    spearman: np.ndarray

    def ranking(self, name: str, *, top: int | None = None) -> list[tuple]:
        """``(block, value)`` of one view, largest first."""
        row = self.values[self.names.index(name)]
        order = sorted(range(len(self.blocks)), key=lambda k: (-row[k], str(self.blocks[k])))
        return [(self.blocks[k], float(row[k])) for k in order[:top]]

    def to_dict(self) -> dict:
        """JSON-ready fields."""
        return {"names": list(self.names), "blocks": [str(b) for b in self.blocks],
                "values": self.values.tolist(), "spearman": self.spearman.tolist(),
                "note": VIEWS_NOTE}


def compare_importance_views(views) -> ImportanceViews:
    """The views on one list of blocks, with their pairwise Spearman rank correlations.

    Parameters
    ----------
    views : mapping of str to (mapping of Block to float)
        E.g. ``{"permutation": permutation_view(table), "forest": forest_block_importance(...),
        "SVM |w|": svm_block_weights(...)}``; every view must cover the same blocks.

    Returns
    -------
    ImportanceViews
    """
    names = tuple(views)
    if len(names) < 2:
        raise ValueError(f"compare_importance_views needs at least two views; got {list(names)}")
    blocks = tuple(views[names[0]])
    for name in names[1:]:
        if set(views[name]) != set(blocks):
            raise ValueError(f"view {name!r} does not cover the same blocks as {names[0]!r}")
    values = np.array([[float(views[n][b]) for b in blocks] for n in names])
    spearman = np.eye(len(names))
    for i in range(len(names)):
        for k in range(i + 1, len(names)):
            constant = np.ptp(values[i]) == 0 or np.ptp(values[k]) == 0
            rho = np.nan if constant else float(spearmanr(values[i], values[k]).statistic)
            spearman[i, k] = spearman[k, i] = rho
    return ImportanceViews(names, blocks, values, spearman)


def plot_importance_views(views: ImportanceViews, *, namer: BlockNamer, face,
                          title: str = "Three views of block importance") -> Figure:
    """Each view as a heatmap over the mean face (scaled to its own maximum), side by side,
    and the matrix of Spearman rank correlations.

    Returns
    -------
    matplotlib.figure.Figure
    """
    face = _check_face(face, namer)
    n = len(views.names)
    fig = Figure(figsize=(2.9 * (n + 1), 3.3), layout="constrained")
    axes = fig.subplots(1, n + 1)
    for ax, name, row in zip(axes, views.names, views.values):
        heat = block_heat(dict(zip(views.blocks, row)), namer=namer)
        _draw_heat(ax, face, heat / max(heat.max(), 1e-12), namer, vmax=1.0)
        best = views.ranking(name, top=1)[0][0]
        ax.set_title(f"{name}\ntop: {best}", fontsize=8)
    ax = axes[-1]
    ax.imshow(views.spearman, cmap="coolwarm", vmin=-1, vmax=1)
    ax.set_xticks(range(n), views.names, rotation=40, ha="right", fontsize=7)
    ax.set_yticks(range(n), views.names, fontsize=7)
    for (i, k), rho in np.ndenumerate(views.spearman):
        ax.text(k, i, "—" if np.isnan(rho) else f"{rho:.2f}", ha="center", va="center",
                fontsize=8)
    ax.set_title("Spearman rank correlation\nover blocks", fontsize=8)
    fig.suptitle(title, fontsize=10)
    return fig
