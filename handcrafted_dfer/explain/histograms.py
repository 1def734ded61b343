"""Mean histograms per class: what the descriptors see, bin by bin, for each expression.

A *kind* of histogram is one descriptor family on one plane: ``lbptop/xy``, ``lbptop/xt``,
``lbptop/yt``, ``hog3d``, ``hof``, ``mbhx``, ``mbhy``. For each clip, the histograms of all its
blocks of one kind (every grid cell and temporal segment, or only the blocks chosen) are averaged
into one face-wide histogram; per class, these clip histograms give a mean and a spread (standard
deviation across clips). Bins are labelled with :mod:`.bins`.

Pass the extractors' own output (each block's histogram normalized as the extractor does), not
the classifier's transformed features.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure

from .bins import LBP_CATEGORIES, bin_labels, lbp_bins
from .blocks import KIND_TITLES, block_kind, histogram_matrix, parse_feature_name

__all__ = ["ClassHistograms", "class_mean_histograms", "plot_class_histograms"]

#: Background colours of the LBP pattern categories.
_CATEGORY_COLOURS = dict(zip(LBP_CATEGORIES, ("#fde0dd", "#e5f5e0", "#deebf7", "#fff7bc",
                                              "#f0f0f0", "#d9d9d9")))


@dataclass(frozen=True, eq=False)
class ClassHistograms:
    """Mean and spread of one kind of histogram, per class.

    Attributes
    ----------
    kind : str
        ``family`` or ``family/plane``.
    classes : tuple
        Class labels, in row order.
    labels : tuple of str
        Name of each bin (:func:`~.bins.bin_labels`).
    mean, std : ndarray, shape (n_classes, n_bins)
        Mean and standard deviation across the clips of each class of the clip's face-wide
        histogram (the mean over its selected blocks).
    n_clips : ndarray of int, shape (n_classes,)
    n_blocks : int
        Blocks averaged into each clip's histogram.
    categories : tuple of str or None
        LBP pattern category of each bin (:data:`~.bins.LBP_CATEGORIES`); None for other kinds.
    """

    kind: str
    classes: tuple
    labels: tuple
    mean: np.ndarray
    std: np.ndarray
    n_clips: np.ndarray
    n_blocks: int
    categories: tuple | None = None

    def to_dict(self) -> dict:
        """JSON-ready fields."""
        return {"kind": self.kind, "classes": [str(c) for c in self.classes],
                "labels": list(self.labels), "mean": self.mean.tolist(),
                "std": self.std.tolist(), "n_clips": self.n_clips.tolist(),
                "n_blocks": self.n_blocks, "categories": None if self.categories is None
                else list(self.categories)}


def _lbp_parameters(value, plane: str):
    """The value for one plane of an int/str or a three-entry (XY, XT, YT) sequence."""
    if isinstance(value, (str, int, np.integer)):
        return value
    return tuple(value)[("xy", "xt", "yt").index(plane)]


def class_mean_histograms(X, y, *, feature_names, select=None, P=8,
                          mapping="nri_uniform") -> dict[str, ClassHistograms]:
    """Per class, the mean and spread of each kind of histogram.

    Parameters
    ----------
    X : array_like, shape (n_clips, n_features)
        Extractor output (non-negative block histograms).
    y : array_like, shape (n_clips,)
        Class of each clip.
    feature_names : sequence of str
        Name of each column (GUIDE §3).
    select : callable, optional
        ``select(block) -> bool``: only the blocks for which it is true are averaged (e.g. the
        mouth blocks); by default all.
    P : int or sequence of 3 int
        LBP-TOP neighbours (per plane XY, XT, YT), to name its bins.
    mapping : str
        LBP-TOP mapping, to name its bins.

    Returns
    -------
    dict
        ``kind -> ClassHistograms`` in the order the kinds first appear in ``feature_names``.

    Raises
    ------
    ValueError
        Shapes that disagree, negative values, a selection that keeps no block, or blocks of one
        kind with different bin counts.
    """
    X, y = histogram_matrix(X, y, feature_names)
    parsed = [parse_feature_name(n) for n in feature_names]
    classes = tuple(np.unique(y).tolist())
    out = {}
    kinds: dict[str, dict] = {}
    for j, f in enumerate(parsed):
        if select is not None and not select(f.block):
            continue
        kind = block_kind(f.block)
        kinds.setdefault(kind, {}).setdefault(f.block, {})[f.bin] = j
    if not kinds:
        raise ValueError("the selection keeps no block")
    for kind, blocks in kinds.items():
        bins = sorted(next(iter(blocks.values())))
        if any(sorted(b) != bins for b in blocks.values()):
            raise ValueError(f"the blocks of {kind} do not all have the same bins")
        columns = np.array([[cols[b] for b in bins] for cols in blocks.values()])
        clip_hist = X[:, columns].mean(axis=1)  # (n_clips, n_bins): mean over the blocks
        family, _, plane = kind.partition("/")
        p = _lbp_parameters(P, plane) if family == "lbptop" else 8
        m = _lbp_parameters(mapping, plane) if family == "lbptop" else "nri_uniform"
        labels = tuple(bin_labels(family, plane or None, len(bins), P=p, mapping=m))
        categories = (tuple(b.category for b in lbp_bins(P=p, mapping=m))
                      if family == "lbptop" else None)
        rows = [clip_hist[y == c] for c in classes]
        out[kind] = ClassHistograms(
            kind=kind, classes=classes, labels=labels,
            mean=np.array([r.mean(axis=0) for r in rows]),
            std=np.array([r.std(axis=0) for r in rows]),
            n_clips=np.array([len(r) for r in rows]), n_blocks=len(blocks),
            categories=categories)
    return out


def _shade_categories(ax, categories) -> None:
    """Background spans, one per run of bins of the same LBP category, named on top."""
    start = 0
    for j in range(1, len(categories) + 1):
        if j == len(categories) or categories[j] != categories[start]:
            ax.axvspan(start - 0.5, j - 0.5, color=_CATEGORY_COLOURS[categories[start]],
                       zorder=0, linewidth=0)
            ax.text((start + j - 1) / 2, 1.0, categories[start], transform=ax.get_xaxis_transform(),
                    ha="center", va="bottom", fontsize=6, rotation=90 if j - start < 3 else 0)
            start = j


def plot_class_histograms(histograms, *, classes=None, relative: bool = False,
                          title: str | None = None) -> Figure:
    """Mean histogram per class (lines) with ± one standard deviation across clips (bands).

    Parameters
    ----------
    histograms : ClassHistograms or sequence of ClassHistograms
        One panel per kind (e.g. the XY, XT and YT planes of LBP-TOP).
    classes : sequence, optional
        Classes to draw (default all).
    relative : bool
        Draw each class mean minus the mean of the class means (the bands keep their width), so
        that the bins where the classes differ stand out.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    LBP-TOP panels shade the runs of bins of one pattern category (spot, line end, corner, edge,
    flat, non-uniform); histograms with at most 24 bins have every bin labelled.
    """
    if isinstance(histograms, ClassHistograms):
        histograms = [histograms]
    histograms = list(histograms)
    if not histograms:
        raise ValueError("plot_class_histograms needs at least one ClassHistograms")
    fig = Figure(figsize=(10, 2.9 * len(histograms)), layout="constrained")
    axes = fig.subplots(len(histograms), 1, squeeze=False)[:, 0]
    for ax, h in zip(axes, histograms):
        chosen = h.classes if classes is None else tuple(classes)
        missing = [c for c in chosen if c not in h.classes]
        if missing:
            raise ValueError(f"classes {missing} are not among {list(h.classes)}")
        x = np.arange(len(h.labels))
        centre = h.mean.mean(axis=0) if relative else 0.0
        if h.categories is not None:
            _shade_categories(ax, h.categories)
        for i, c in enumerate(chosen):
            k = h.classes.index(c)
            mean = h.mean[k] - centre
            ax.plot(x, mean, color=f"C{i}", linewidth=1.2, label=f"{c} ({h.n_clips[k]} clips)")
            ax.fill_between(x, mean - h.std[k], mean + h.std[k], color=f"C{i}", alpha=0.15,
                            linewidth=0)
        if len(h.labels) <= 24:
            ax.set_xticks(x, h.labels, rotation=40, ha="right", fontsize=7)
        else:
            ax.set_xlabel("bin")
        ax.set_xlim(-0.5, len(h.labels) - 0.5)
        ax.set_ylabel("class mean - mean of classes" if relative else "mean bin value")
        ax.set_title(f"{KIND_TITLES.get(h.kind, h.kind)}: mean over {h.n_blocks} blocks",
                     fontsize=9, pad=14)
        ax.legend(fontsize=7, loc="upper right")
    if title:
        fig.suptitle(title)
    return fig
