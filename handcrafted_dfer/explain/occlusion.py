"""Why one clip got its label: the blocks whose removal changes its prediction most.

Each block of the clip's feature row is in turn *removed*, i.e. its columns replaced by a
reference (the training mean, so that the block looks like an average clip's; or zeros, a block
with no histogram at all), and the fitted estimator scores the changed row. The effect of a block
is the drop of the score of the label predicted for the untouched row: its probability when the
estimator has ``predict_proba``, else its decision value (for a multi-class ``SVC``,
scikit-learn's one-vs-rest aggregate of the one-vs-one votes, which moves little unless a vote
changes), else 1 or 0 for whether the label stays. One block at a time: blocks that stand in
for each other each show a small effect.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure

from ..features._validation import block_edges
from .blocks import BlockNamer, group_columns, has_landmarks
from .plots import _draw_heat

__all__ = ["BlockOcclusion", "block_occlusion", "plot_block_occlusion"]


@dataclass(frozen=True, eq=False)
class BlockOcclusion:
    """Effect of removing each block of one clip's feature row.

    Attributes
    ----------
    label
        Label predicted for the untouched row.
    score : str
        ``"probability"``, ``"decision"`` or ``"label"``: what ``effect`` is a drop of.
    baseline : float
        That score for the untouched row.
    blocks : tuple of Block
    effect : ndarray, shape (n_blocks,)
        Baseline score minus the score with the block removed (positive: the block supported
        the label).
    new_labels : tuple
        Label predicted with each block removed.
    """

    label: object
    score: str
    baseline: float
    blocks: tuple
    effect: np.ndarray
    new_labels: tuple

    def ranking(self, *, top: int | None = None) -> list[tuple]:
        """``(block, effect, new label)``, largest effect first."""
        order = sorted(range(len(self.blocks)),
                       key=lambda k: (-self.effect[k], str(self.blocks[k])))
        return [(self.blocks[k], float(self.effect[k]), self.new_labels[k])
                for k in order[:top]]

    def to_dict(self) -> dict:
        """JSON-ready fields."""
        return {"label": str(self.label), "score": self.score, "baseline": self.baseline,
                "blocks": [str(b) for b in self.blocks], "effect": self.effect.tolist(),
                "new_labels": [str(c) for c in self.new_labels]}


def _label_scores(estimator, rows: np.ndarray, label) -> tuple[str, np.ndarray]:
    classes = list(getattr(estimator, "classes_", []))
    if hasattr(estimator, "predict_proba") and label in classes:
        try:
            return "probability", np.asarray(estimator.predict_proba(rows))[:, classes.index(label)]
        except AttributeError:  # e.g. an SVC without probability=True
            pass
    if hasattr(estimator, "decision_function") and label in classes:
        scores = np.asarray(estimator.decision_function(rows))
        if scores.ndim == 1:  # binary: positive for classes_[1]
            return "decision", scores if classes.index(label) == 1 else -scores
        if scores.shape[1] == len(classes):
            return "decision", scores[:, classes.index(label)]
    return "label", (np.asarray(estimator.predict(rows)) == label).astype(np.float64)


def block_occlusion(estimator, row, *, feature_names, reference=None) -> BlockOcclusion:
    """Remove each block of one feature row in turn and measure the change of its prediction.

    Parameters
    ----------
    estimator : fitted classifier
        Takes feature rows (e.g. a fitted pipeline after its extractors).
    row : array_like, shape (n_features,)
        The clip's feature row.
    feature_names : sequence of str
    reference : array_like, shape (n_features,), optional
        Values that replace a removed block's columns: the training mean is the usual choice;
        by default zeros.

    Returns
    -------
    BlockOcclusion
    """
    row = np.asarray(row, dtype=np.float64).ravel()
    if row.shape != (len(feature_names),):
        raise ValueError(f"row must have one value per feature name ({len(feature_names)}); "
                         f"got shape {row.shape}")
    reference = (np.zeros_like(row) if reference is None
                 else np.asarray(reference, dtype=np.float64).ravel())
    if reference.shape != row.shape:
        raise ValueError(f"reference must have the shape of row {row.shape}; got "
                         f"{reference.shape}")
    blocks, column_block = group_columns(feature_names)
    rows = np.repeat(row[None], len(blocks) + 1, axis=0)
    for b in range(len(blocks)):
        cols = column_block == b
        rows[b + 1, cols] = reference[cols]
    labels = np.asarray(estimator.predict(rows))
    label = labels[0].item() if hasattr(labels[0], "item") else labels[0]
    score, values = _label_scores(estimator, rows, label)
    return BlockOcclusion(label, score, float(values[0]), tuple(blocks),
                          values[0] - values[1:],
                          tuple(v.item() if hasattr(v, "item") else v for v in labels[1:]))


def plot_block_occlusion(occlusion: BlockOcclusion, *, clip, namer: BlockNamer,
                         n_frames: int = 4, top: int = 8) -> Figure:
    """The blocks that carry one clip's label, drawn over its own aligned frames.

    Each shown frame gets the summed positive effects of the blocks whose temporal segment
    covers it (a family's segments split the clip's frames evenly); below, the ``top`` blocks
    by effect, named, with the label predicted without each.

    Parameters
    ----------
    occlusion : BlockOcclusion
    clip : AlignedClip
        The clip the row describes (its frames are drawn, and its landmarks when it has them).
    namer : BlockNamer
        Built for this clip's crop size (e.g. from its own landmarks).
    n_frames : int
        Frames shown, evenly spaced.
    top : int
        Blocks listed.

    Returns
    -------
    matplotlib.figure.Figure
    """
    frames = np.asarray(clip.frames)
    if frames.shape[1] != namer.size:
        raise ValueError(f"the clip's frames are {frames.shape[1]} pixels wide but the namer's "
                         f"grid covers {namer.size}")
    n_total = frames.shape[0]
    shown = np.unique(np.linspace(0, n_total - 1, min(n_frames, n_total)).round().astype(int))
    heat = np.zeros((n_total, namer.size, namer.size))
    for block, effect in zip(occlusion.blocks, occlusion.effect):
        if effect <= 0:
            continue
        y0, y1, x0, x1 = namer.cell(block)
        t0, t1 = block_edges(n_total, namer.grids[block.family][2])[block.segment]
        heat[t0:t1, y0:y1, x0:x1] += effect
    fig = Figure(figsize=(max(2.6 * len(shown), 9.0), 5.6), layout="constrained")
    top_row, bottom_row = fig.subfigures(2, 1, height_ratios=(1.2, 1))
    vmax = max(heat.max(), 1e-12)
    for ax, t in zip(np.atleast_1d(top_row.subplots(1, len(shown))), shown):
        _draw_heat(ax, frames[t].astype(np.float64), heat[t], namer, vmax=vmax)
        if has_landmarks(clip):
            ax.scatter(clip.landmarks[t, :, 0], clip.landmarks[t, :, 1], s=2, c="lime")
        ax.set_title(f"frame {t}", fontsize=8)
    ax = bottom_row.subplots()
    ranked = occlusion.ranking(top=top)[::-1]
    ax.barh(range(len(ranked)), [e for _, e, _ in ranked], color="tab:red", alpha=0.8)
    ax.set_yticks(range(len(ranked)),
                  [f"{namer.describe(b)} (without: {new})" for b, _, new in ranked], fontsize=7)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel(f"drop of the {occlusion.score} of '{occlusion.label}' when the block is "
                  "removed")
    fig.suptitle(f"{clip.source}: predicted '{occlusion.label}' ({occlusion.score} "
                 f"{occlusion.baseline:.2f})", fontsize=9)
    return fig
