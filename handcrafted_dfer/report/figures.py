"""Figures of run reports, drawn on :class:`matplotlib.figure.Figure` objects (no pyplot state)."""

from __future__ import annotations

import os
import pathlib

import numpy as np
from matplotlib.figure import Figure

__all__ = ["plot_confusions", "save_figure"]


def save_figure(fig: Figure, path: str | os.PathLike, *, dpi: int = 120) -> pathlib.Path:
    """Write a figure as PNG (its folder must exist) and return the path."""
    path = pathlib.Path(path)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return path


def plot_confusions(report: dict, path: str | os.PathLike) -> pathlib.Path | None:
    """Row-normalized confusion matrices of every evaluated method, side by side, as a PNG.

    Returns the path, or None when no method was evaluated (nothing to draw).
    """
    results = [r for r in report["results"] if "skipped" not in r]
    if not results:
        return None
    labels = report["labels"]
    n = len(results)
    side = 1.0 + 0.55 * len(labels)
    fig = Figure(figsize=(side * n + 1, side + 0.8))
    axes = fig.subplots(1, n, squeeze=False)[0]
    for ax, r in zip(axes, results):
        cm = np.asarray(r["confusion"], dtype=float)
        support = cm.sum(axis=1, keepdims=True)
        rates = np.divide(cm, support, out=np.zeros_like(cm), where=support > 0)
        ax.imshow(rates, vmin=0, vmax=1, cmap="Blues")
        for i in range(len(labels)):
            for j in range(len(labels)):
                ax.text(j, i, f"{int(cm[i, j])}", ha="center", va="center", fontsize=8,
                        color="white" if rates[i, j] > 0.5 else "black")
        ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right", fontsize=8)
        ax.set_yticks(range(len(labels)), labels, fontsize=8)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(f"{r['method']}\nUAR {100 * r['uar']:.1f}%  WAR {100 * r['war']:.1f}%",
                     fontsize=9)
    title = f"{report['dataset']} ({report['protocol']})"
    if report.get("synthetic"):
        title += " - synthetic data"
    fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)
