"""Figures of the comparison: top blocks, a face heatmap of block importance, the learning curve.

Figures are drawn on :class:`matplotlib.figure.Figure` objects (no pyplot state, no display needed)
and written as PNG files.
"""

from __future__ import annotations

import os
import pathlib

import numpy as np
from matplotlib.figure import Figure

from .blocks import BlockNamer

__all__ = ["mean_face", "plot_top_blocks", "plot_block_heatmap", "plot_learning_curve"]


def mean_face(clips) -> np.ndarray:
    """Mean grey image of every frame of the clips (``None`` entries skipped).

    Returns
    -------
    ndarray of float64, shape (S, S)
    """
    total, count = None, 0
    for clip in clips:
        if clip is None:
            continue
        frames = clip.frames.astype(np.float64)
        total = frames.sum(axis=0) if total is None else total + frames.sum(axis=0)
        count += len(frames)
    if total is None:
        raise ValueError("mean_face needs at least one clip")
    return total / count


def _save(fig: Figure, path) -> pathlib.Path:
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path


def plot_top_blocks(table, *, namer: BlockNamer, path: str | os.PathLike, top: int = 10,
                    title: str = "Most important blocks") -> pathlib.Path:
    """Horizontal bar chart of the ``top`` blocks' accuracy drop (± std over repeats and folds).

    Parameters
    ----------
    table : sequence of BlockImportance
        Sorted, most important first (see :func:`~.importance.held_out_block_importance`).
    namer : BlockNamer
        Names the bars.
    path : path-like
        PNG file to write.
    top : int
        Number of bars.
    title : str

    Returns
    -------
    pathlib.Path
    """
    rows = list(table)[:top]
    if not rows:
        raise ValueError("plot_top_blocks needs at least one block")
    labels = [namer.describe(r.block) for r in rows][::-1]
    values = np.array([r.accuracy_drop for r in rows])[::-1] * 100
    errors = np.array([r.accuracy_drop_std for r in rows])[::-1] * 100
    fig = Figure(figsize=(9, 0.45 * len(rows) + 1.2))
    ax = fig.add_subplot()
    ax.barh(np.arange(len(rows)), values, xerr=errors, color="tab:blue", alpha=0.8)
    ax.set_yticks(np.arange(len(rows)), labels, fontsize=8)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel("accuracy drop when the block is permuted (percentage points)")
    ax.set_title(title)
    return _save(fig, path)


def plot_block_heatmap(table, *, namer: BlockNamer, face, path: str | os.PathLike,
                       title: str = "Block importance on the mean aligned face") -> pathlib.Path:
    """Block importance summed per pixel over planes, segments and families, over the mean face.

    Negative drops count as zero. The mean landmarks are drawn as dots.

    Parameters
    ----------
    table : sequence of BlockImportance
    namer : BlockNamer
        Gives each block's cell and the mean landmarks.
    face : ndarray, shape (S, S)
        Mean aligned face (see :func:`mean_face`); ``S`` must equal ``namer.size``.
    path : path-like
        PNG file to write.
    title : str

    Returns
    -------
    pathlib.Path
    """
    face = np.asarray(face, dtype=np.float64)
    if face.shape != (namer.size, namer.size):
        raise ValueError(f"face must have shape ({namer.size}, {namer.size}); got {face.shape}")
    heat = np.zeros_like(face)
    for row in table:
        y0, y1, x0, x1 = namer.cell(row.block)
        heat[y0:y1, x0:x1] += max(row.accuracy_drop, 0.0)
    fig = Figure(figsize=(5, 4.6))
    ax = fig.add_subplot()
    ax.imshow(face, cmap="gray", vmin=0, vmax=255)
    shown = ax.imshow(np.ma.masked_equal(heat, 0) * 100, cmap="inferno", alpha=0.55)
    ax.scatter(namer.landmarks[:, 0], namer.landmarks[:, 1], s=4, c="cyan")
    fig.colorbar(shown, ax=ax, label="summed accuracy drop (points)")
    ax.set_title(title, fontsize=10)
    ax.set_axis_off()
    return _save(fig, path)


def plot_learning_curve(curve: dict, *, path: str | os.PathLike,
                        title: str = "Accuracy against training subjects used") -> pathlib.Path:
    """Accuracy (± std over folds) against the fraction of training subjects, one line per method.

    Parameters
    ----------
    curve : dict
        ``method -> list of points``, each a dict with ``fraction``, ``accuracy`` and
        ``accuracy_std`` (and optionally ``uar``, drawn dashed).
    path : path-like
        PNG file to write.
    title : str

    Returns
    -------
    pathlib.Path
    """
    if not curve:
        raise ValueError("plot_learning_curve needs at least one method")
    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot()
    for i, (method, points) in enumerate(curve.items()):
        colour = f"C{i}"
        x = np.array([p["fraction"] for p in points]) * 100
        acc = np.array([p["accuracy"] for p in points])
        std = np.array([p["accuracy_std"] for p in points])
        ax.errorbar(x, acc, yerr=std, marker="o", capsize=3, color=colour,
                    label=f"{method} accuracy")
        if all("uar" in p for p in points):
            ax.plot(x, [p["uar"] for p in points], linestyle="--", color=colour, alpha=0.7,
                    label=f"{method} UAR")
    ax.set_xlabel("training subjects used (%)")
    ax.set_ylabel("score on held-out subjects")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title)
    return _save(fig, path)
