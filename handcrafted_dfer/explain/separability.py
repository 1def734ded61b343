"""Which expressions the features can tell apart: χ² distances between class mean histograms.

For two histograms ``a`` and ``b``, each scaled to sum 1, ``χ²(a, b) = ½ Σ (a - b)² / (a + b)``
(bins where both are 0 count 0), between 0 (equal) and 1 (no bin in common). A feature row holds
many block histograms; the distance between two rows is the mean of the χ² distances of their
blocks, so every block counts the same whatever its bin count. The distance between two classes
is that of their mean rows. As a yardstick, each class also gets its *within* spread: the mean
distance of its clips to their own class mean. Two classes whose distance is small next to their
spreads are hard to separate with these features, whatever the classifier; set this figure
beside the confusion matrix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure

from .blocks import group_columns, histogram_matrix

__all__ = ["Separability", "chi2_distance", "class_chi2_distances", "plot_separability"]


@dataclass(frozen=True, eq=False)
class Separability:
    """Class-by-class χ² distances of mean histograms.

    Attributes
    ----------
    classes : tuple
    between : ndarray, shape (n_classes, n_classes)
        Symmetric, zero diagonal: distance between the class means.
    within : ndarray, shape (n_classes,)
        Mean distance of a class's clips to its own mean.
    n_blocks : int
        Block histograms averaged into each distance.
    """

    classes: tuple
    between: np.ndarray
    within: np.ndarray
    n_blocks: int

    def to_dict(self) -> dict:
        """JSON-ready fields."""
        return {"classes": [str(c) for c in self.classes], "between": self.between.tolist(),
                "within": self.within.tolist(), "n_blocks": self.n_blocks}


def _scaled_blocks(X: np.ndarray, column_block: np.ndarray, n_blocks: int) -> list[np.ndarray]:
    """Each block's columns of ``X``, each row scaled to sum 1 (all-zero rows stay zero)."""
    out = []
    for b in range(n_blocks):
        part = X[:, column_block == b]
        total = part.sum(axis=1, keepdims=True)
        out.append(np.divide(part, total, out=np.zeros_like(part), where=total > 0))
    return out


def chi2_distance(a, b) -> np.ndarray:
    """χ² distance ``½ Σ (a - b)² / (a + b)`` along the last axis (0 where ``a + b = 0``)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    total = a + b
    terms = np.divide((a - b) ** 2, total, out=np.zeros(np.broadcast(a, b).shape),
                      where=total > 0)
    return 0.5 * terms.sum(axis=-1)


def class_chi2_distances(X, y, *, feature_names, select=None) -> Separability:
    """χ² distances between the class mean histograms, and each class's own spread.

    Parameters
    ----------
    X : array_like, shape (n_clips, n_features)
        Extractor output (non-negative block histograms).
    y : array_like, shape (n_clips,)
    feature_names : sequence of str
    select : callable, optional
        ``select(block) -> bool`` keeps only some blocks (a plane, a family, a face region).

    Returns
    -------
    Separability

    Raises
    ------
    ValueError
        Shapes that disagree, negative values, fewer than two classes, or no block selected.
    """
    X, y = histogram_matrix(X, y, feature_names)
    blocks, column_block = group_columns(feature_names)
    if select is not None:
        keep = np.array([bool(select(b)) for b in blocks])
        if not keep.any():
            raise ValueError("the selection keeps no block")
        kept_columns = keep[column_block]
        X = X[:, kept_columns]
        column_block = np.cumsum(keep)[column_block[kept_columns]] - 1
        blocks = [b for b, k in zip(blocks, keep) if k]
    classes = tuple(np.unique(y).tolist())
    if len(classes) < 2:
        raise ValueError(f"separability needs at least two classes; got {list(classes)}")
    parts = _scaled_blocks(X, column_block, len(blocks))
    means = [[p[y == c].mean(axis=0) for p in parts] for c in classes]  # bins differ by block
    between = np.zeros((len(classes), len(classes)))
    within = np.zeros(len(classes))
    for i, c in enumerate(classes):
        clips = [p[y == c] for p in parts]  # per block: (n_c, bins)
        within[i] = np.mean([chi2_distance(clips[b], means[i][b]).mean()
                             for b in range(len(parts))])
        for k in range(i + 1, len(classes)):
            d = np.mean([chi2_distance(means[i][b], means[k][b]) for b in range(len(parts))])
            between[i, k] = between[k, i] = d
    return Separability(classes, between, within, len(blocks))


def _matrix(ax, values, labels, title, fmt, cmap):
    shown = ax.imshow(values, cmap=cmap)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    high = np.nanmax(values) if np.isfinite(values).any() else 1.0
    for (i, k), v in np.ndenumerate(values):
        ax.text(k, i, fmt.format(v), ha="center", va="center", fontsize=7,
                color="white" if v > 0.6 * high else "black",
                fontstyle="italic" if i == k else "normal")
    ax.set_title(title, fontsize=9)
    return shown


def plot_separability(separability: Separability, *, confusion=None,
                      title: str = "Which expressions the features can tell apart") -> Figure:
    """χ² distances between class means (diagonal: within-class spread), and a confusion matrix.

    Parameters
    ----------
    separability : Separability
    confusion : array_like, shape (n_classes, n_classes), optional
        Counts, rows true class and columns predicted, classes in ``separability.classes``
        order; drawn row-normalized (recall on the diagonal) beside the distances.
    title : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    labels = [str(c) for c in separability.classes]
    values = separability.between.copy()
    np.fill_diagonal(values, separability.within)
    panels = 1 if confusion is None else 2
    fig = Figure(figsize=(4.8 * panels, 4.4), layout="constrained")
    axes = fig.subplots(1, panels, squeeze=False)[0]
    shown = _matrix(axes[0], values, labels,
                    "χ² distance of class mean histograms\n"
                    "(diagonal, italic: within-class spread)",
                    "{:.3f}", "viridis_r")
    fig.colorbar(shown, ax=axes[0], shrink=0.8)
    if confusion is not None:
        confusion = np.asarray(confusion, dtype=np.float64)
        if confusion.shape != (len(labels), len(labels)):
            raise ValueError(f"confusion must have shape ({len(labels)}, {len(labels)}); "
                             f"got {confusion.shape}")
        totals = confusion.sum(axis=1, keepdims=True)
        rates = np.divide(confusion, totals, out=np.zeros_like(confusion), where=totals > 0)
        shown = _matrix(axes[1], rates, labels, "confusion (rows: true class, row-normalized)",
                        "{:.2f}", "Blues")
        axes[1].set_xlabel("predicted")
        fig.colorbar(shown, ax=axes[1], shrink=0.8)
    fig.suptitle(title, fontsize=10)
    return fig
