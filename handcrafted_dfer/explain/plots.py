"""Figures of block importance over the face: top blocks, heatmaps (overall, per class, per plane
and per temporal segment), and the learning curve.

Figures are drawn on :class:`matplotlib.figure.Figure` objects (no pyplot state, no display needed)
and written as PNG files with :func:`save_figure`.
"""

from __future__ import annotations

import os
import pathlib
import textwrap

import cv2
import numpy as np
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from .blocks import KIND_TITLES, BlockNamer, block_kind, segment_name

__all__ = ["mean_face", "face_sketch", "save_figure", "block_heat", "plot_top_blocks",
           "plot_block_heatmap", "plot_class_heatmaps", "plot_group_importance",
           "plot_learning_curve"]


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


#: Landmark runs drawn by :func:`face_sketch` (68-point numbering), and whether each is closed.
_SKETCH_RUNS = ((range(0, 17), False), (range(17, 22), False), (range(22, 27), False),
                (range(27, 31), False), (range(31, 36), False), (range(36, 42), True),
                (range(42, 48), True), (range(48, 60), True), (range(60, 68), True))


def face_sketch(landmarks, *, size: int) -> np.ndarray:
    """A line drawing of a face from its 68 landmarks: a stand-in for the mean face where only
    the landmarks are known (a report stores no pixels of the data's faces).

    Parameters
    ----------
    landmarks : array_like, shape (68, 2), or None
        ``(x, y)`` in crop pixels; None gives a plain grey square (no landmarks to draw).
    size : int
        Side ``S`` of the crop.

    Returns
    -------
    ndarray of float64, shape (S, S)
        Grey values in [0, 255]: dark lines on a light background.
    """
    canvas = np.full((size, size), 215, np.uint8)
    if landmarks is not None:
        points = np.asarray(landmarks, dtype=np.float64)
        if points.shape != (68, 2):
            raise ValueError(f"landmarks must have shape (68, 2); got {points.shape}")
        shift = 4  # sub-pixel precision of cv2.polylines
        for run, closed in _SKETCH_RUNS:
            line = np.rint(points[list(run)] * 2 ** shift).astype(np.int32)
            cv2.polylines(canvas, [line], closed, 70, thickness=max(1, size // 96),
                          lineType=cv2.LINE_AA, shift=shift)
    return canvas.astype(np.float64)


def save_figure(fig: Figure, path: str | os.PathLike) -> pathlib.Path:
    """Write a figure as a PNG file (parent folders created) and return its path."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path


def _check_face(face, namer: BlockNamer) -> np.ndarray:
    face = np.asarray(face, dtype=np.float64)
    if face.shape != (namer.size, namer.size):
        raise ValueError(f"face must have shape ({namer.size}, {namer.size}); got {face.shape}")
    return face


def block_heat(values, *, namer: BlockNamer, select=None) -> np.ndarray:
    """Per-pixel sum of block values over the crop: each block adds its value to its grid cell.

    Parameters
    ----------
    values : mapping of Block to float
        E.g. accuracy or recall drops; negative values count as zero.
    namer : BlockNamer
        Gives each block's cell.
    select : callable, optional
        ``select(block) -> bool``: only these blocks are summed.

    Returns
    -------
    ndarray of float64, shape (S, S)
    """
    heat = np.zeros((namer.size, namer.size))
    for block, value in values.items():
        if select is None or select(block):
            y0, y1, x0, x1 = namer.cell(block)
            heat[y0:y1, x0:x1] += max(float(value), 0.0)
    return heat


def _draw_heat(ax, face, heat, namer, *, vmax=None, cmap="inferno"):
    """The face in grey, the heat over it, the mean landmarks as dots.

    The heat is drawn in colour with an opacity that grows with the value (0 at zero, 0.8 at
    ``vmax``), so that small values leave the face visible; the dots are left out when the namer
    has no landmarks. Returns a mappable for a colour bar.
    """
    ax.imshow(face, cmap="gray", vmin=0, vmax=255)
    vmax = float(heat.max()) if vmax is None else float(vmax)
    norm = Normalize(0.0, max(vmax, 1e-12))
    mappable = ScalarMappable(norm=norm, cmap=cmap)
    rgba = mappable.to_rgba(heat)
    rgba[..., 3] = 0.8 * np.clip(norm(heat), 0.0, 1.0)
    ax.imshow(rgba)
    if namer.has_landmarks:
        ax.scatter(namer.landmarks[:, 0], namer.landmarks[:, 1], s=3, c="cyan")
    ax.set_axis_off()
    return mappable


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
    return save_figure(fig, path)


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
    face = _check_face(face, namer)
    heat = block_heat({row.block: row.accuracy_drop for row in table}, namer=namer)
    fig = Figure(figsize=(5, 4.6))
    ax = fig.add_subplot()
    shown = _draw_heat(ax, face, heat * 100, namer)
    fig.colorbar(shown, ax=ax, label="summed accuracy drop (points)")
    ax.set_title(title, fontsize=10)
    return save_figure(fig, path)


def plot_class_heatmaps(importance, *, namer: BlockNamer, face, split: str = "kind",
                        classes=None, title: str | None = None) -> Figure:
    """Per-class block importance over the mean face: one row per class, one column per view.

    The first column sums every block; the others split the blocks by ``split``:

    - ``"kind"``: one column per plane or family (XY appearance, XT and YT motion for LBP-TOP,
      then 3D-HOG, HOF, MBHx, MBHy where present);
    - ``"segment"``: one column per temporal segment (onset half, apex half, ...), counted on the
      family with the most segments; each block goes to the segment it belongs to.

    Parameters
    ----------
    importance : ClassImportance
        Grouped by block (the default of :func:`~.importance.held_out_class_importance`).
    namer : BlockNamer
    face : ndarray, shape (S, S)
        Mean aligned face (:func:`mean_face`).
    split : {"kind", "segment"}
    classes : sequence, optional
        Rows to draw (default all).
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        In each row the split columns share one colour scale (recall drop in percentage points;
        negative drops shown as zero) and the "all blocks" column, their sum, has its own; the
        row's title names the class's most important block.
    """
    face = _check_face(face, namer)
    blocks = list(importance.groups)
    if not blocks or not all(hasattr(b, "plane") for b in blocks):
        raise ValueError("plot_class_heatmaps needs importance grouped by block")
    if split == "kind":
        keys = list(dict.fromkeys(block_kind(b) for b in blocks))
        columns = [(KIND_TITLES.get(k, k), (lambda b, k=k: block_kind(b) == k)) for k in keys]
    elif split == "segment":
        n_segments = max(b.segment for b in blocks) + 1
        columns = [(segment_name(t, n_segments), (lambda b, t=t: b.segment == t))
                   for t in range(n_segments)]
    else:
        raise ValueError(f"split must be 'kind' or 'segment'; got {split!r}")
    columns = [("all blocks", None)] + (columns if len(columns) > 1 else [])
    classes = importance.classes if classes is None else tuple(classes)
    fig = Figure(figsize=(2.6 * len(columns) + 1.0, 2.9 * len(classes)), layout="constrained")
    rows = np.atleast_1d(fig.subfigures(len(classes), 1))
    for sub, cls in zip(rows, classes):
        values = {b: 100 * v for b, v in importance.values(cls).items()}
        heats = [block_heat(values, namer=namer, select=sel) for _, sel in columns]
        # the split columns share one scale; "all blocks" (their sum) has its own
        vmax = max(max(h.max() for h in heats[1:] or heats), 1e-9)
        axes = np.atleast_1d(sub.subplots(1, len(columns)))
        shown = None
        for k, (ax, (name, _), heat) in enumerate(zip(axes, columns, heats)):
            own = k == 0 and len(columns) > 1
            drawn = _draw_heat(ax, face, heat, namer, vmax=max(heat.max(), 1e-9) if own else vmax)
            shown = shown if own else drawn
            ax.set_title(f"{name} (own scale, max {heat.max():.0f})" if own else name, fontsize=8)
        best, drop = importance.ranking(cls, top=1)[0]
        sub.suptitle(f"{cls}: most important {namer.describe(best)} ({100 * drop:.0f} points)"
                     if drop > 0 else f"{cls}: no block's permutation lowers its recall",
                     fontsize=9)
        sub.colorbar(shown, ax=axes.tolist(), shrink=0.8, label="recall drop (points)")
    if title:
        fig.suptitle(title)
    return fig


def plot_group_importance(importance, *, title: str = "What each class loses when a whole "
                          "plane or family is permuted") -> Figure:
    """Per-class recall drops of groups that are not blocks (planes, families, segments) as a
    class-by-group matrix, the drops written in each cell.

    Parameters
    ----------
    importance : ClassImportance
        E.g. grouped by ``lambda f: block_kind(f.block)``; kind names get their
        :data:`~.blocks.KIND_TITLES`.
    title : str

    Returns
    -------
    matplotlib.figure.Figure
        Diverging colours centred on zero (negative: permuting the group happened to help).
    """
    values = 100 * np.asarray(importance.recall_drop, dtype=np.float64)
    names = [textwrap.fill(KIND_TITLES.get(str(g), str(g)), 16) for g in importance.groups]
    classes = [str(c) for c in importance.classes]
    fig = Figure(figsize=(1.5 + 1.25 * len(names), 1.2 + 0.45 * len(classes)),
                 layout="constrained")
    ax = fig.add_subplot()
    limit = max(float(np.nanmax(np.abs(values))) if values.size else 0.0, 1e-9)
    shown = ax.imshow(values, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
    for (i, k), v in np.ndenumerate(values):
        ax.text(k, i, f"{v:.0f}", ha="center", va="center", fontsize=8,
                color="white" if abs(v) > 0.6 * limit else "black")
    ax.set_xticks(range(len(names)), names, fontsize=7)
    ax.set_yticks(range(len(classes)), classes, fontsize=8)
    fig.colorbar(shown, ax=ax, shrink=0.8, label="recall drop (points)")
    ax.set_title(title, fontsize=9)
    return fig


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
    return save_figure(fig, path)
