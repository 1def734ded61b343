"""Class probabilities over time: a trained model slid over a video of any length.

The video is tracked and aligned once with every frame kept; windows of ``window`` source frames
slide by ``stride`` (the last one aligned to the end, so the windows cover the whole video), each is
resampled to the model's frame count and passed through the model's pipeline. A window in which
too few frames show a face gets no label and no probabilities: copies of the last face seen are
not evidence.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import time

import numpy as np
from matplotlib.figure import Figure

__all__ = ["window_bounds", "predict_video", "predict_windows", "plot_timeline"]


def window_bounds(n_frames: int, window: int, stride: int) -> np.ndarray:
    """Start and stop frame (half-open) of each window over ``n_frames`` frames.

    Windows start every ``stride`` frames; when the last regular window stops before the end, one
    more window ending at the last frame is added. A video shorter than ``window`` gets one window
    over all of it.

    Returns
    -------
    ndarray of int64, shape (n_windows, 2)
    """
    for name, value in (("n_frames", n_frames), ("window", window), ("stride", stride)):
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer; got {value!r}")
    if n_frames <= window:
        return np.array([[0, n_frames]], dtype=np.int64)
    starts = list(range(0, n_frames - window + 1, stride))
    if starts[-1] + window < n_frames:
        starts.append(n_frames - window)
    starts = np.asarray(starts, dtype=np.int64)
    return np.stack([starts, starts + window], axis=1)


def predict_video(source, model, *, window: int = 16, stride: int = 4,
                  min_valid_fraction: float = 0.5, progress: bool = False) -> dict:
    """Per-window labels and class probabilities of a video.

    Parameters
    ----------
    source : str or Path or ndarray
        Video file, frame folder or frame array.
    model : TrainedModel
        From :func:`handcrafted_dfer.modelfile.load_model`.
    window, stride : int
        Window length and step, in source frames.
    min_valid_fraction : float
        Windows with a smaller fraction of frames where a face was found get ``"no_face": True``,
        ``"label": None`` and ``"probabilities": None``.
    progress : bool

    Returns
    -------
    dict
        ``video``, ``fps``, ``n_frames``, ``duration_s``, ``labels`` (column order of the
        probabilities), ``method``, ``window``, ``stride``, ``seconds`` (processing time) and
        ``windows``: a list of ``{start_frame, end_frame, start_s, end_s, valid_fraction, no_face,
        label, probabilities}``. The label is the pipeline's prediction (the classifier's decision);
        the probabilities are its calibrated ``predict_proba``.
    """
    from ..face.preprocess import preprocess_video

    start = time.perf_counter()
    aligned = preprocess_video(source, model.config, keep_length=True, progress=progress)
    result = predict_windows(aligned, model, window=window, stride=stride,
                             min_valid_fraction=min_valid_fraction)
    result["video"] = str(source) if not isinstance(source, np.ndarray) else "<array>"
    result["seconds"] = time.perf_counter() - start
    return result


def predict_windows(aligned, model, *, window: int = 16, stride: int = 4,
                    min_valid_fraction: float = 0.5) -> dict:
    """:func:`predict_video` on a video already tracked and aligned at its own length.

    Parameters
    ----------
    aligned : AlignedClip
        Every source frame (``preprocess_video(..., keep_length=True)``).
    model, window, stride, min_valid_fraction
        As in :func:`predict_video`.

    Returns
    -------
    dict
        As :func:`predict_video` returns, with ``video`` the clip's source and ``seconds`` the
        time spent here.
    """
    from ..face.temporal import resample_clip

    start = time.perf_counter()
    bounds = window_bounds(aligned.n_frames, window, stride)
    valid = np.array([aligned.valid[a:b].mean() for a, b in bounds])
    with_face = np.flatnonzero(valid >= min_valid_fraction)
    pieces = [resample_clip(dataclasses.replace(aligned, frames=aligned.frames[a:b],
                                                landmarks=aligned.landmarks[a:b],
                                                valid=aligned.valid[a:b]), model.config.frames)
              for a, b in bounds[with_face]]
    labels = model.class_names
    predicted, proba = [], np.empty((0, len(labels)))
    if pieces:
        predicted = model.pipeline.predict(pieces)
        proba = model.pipeline.predict_proba(pieces)
    answers = {int(k): (model.labels[int(c)], p) for k, c, p in zip(with_face, predicted, proba)}
    windows = []
    for k, (a, b) in enumerate(bounds):
        label, p = answers.get(k, (None, None))
        windows.append({
            "start_frame": int(a), "end_frame": int(b),
            "start_s": a / aligned.fps, "end_s": b / aligned.fps,
            "valid_fraction": float(valid[k]),
            "no_face": label is None,
            "label": label,
            "probabilities": None if p is None else {n: float(v) for n, v in zip(labels, p)},
        })
    return {
        "video": aligned.source,
        "fps": aligned.fps,
        "n_frames": aligned.n_frames,
        "duration_s": aligned.n_frames / aligned.fps,
        "labels": labels,
        "method": model.metadata.get("method"),
        "window": window,
        "stride": stride,
        "seconds": time.perf_counter() - start,
        "windows": windows,
    }


def plot_timeline(result: dict, path: str | os.PathLike) -> pathlib.Path:
    """Stacked class probabilities against time (window centres); windows without a face greyed."""
    windows = result["windows"]
    labels = result["labels"]
    fig = Figure(figsize=(10, 3.5))
    ax = fig.add_subplot()
    for w in windows:
        if w["no_face"]:
            ax.axvspan(w["start_s"], w["end_s"], color="grey", alpha=0.3, lw=0)
    shown = [w for w in windows if not w["no_face"]]
    if shown:
        centres = np.array([(w["start_s"] + w["end_s"]) / 2 for w in shown])
        proba = np.array([[w["probabilities"][label] for label in labels] for w in shown])
        if len(shown) == 1:  # a single window: show it as a bar over its span
            centres = np.array([shown[0]["start_s"], shown[0]["end_s"]])
            proba = np.repeat(proba, 2, axis=0)
        ax.stackplot(centres, proba.T, labels=labels, alpha=0.85)
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    ax.set_xlim(0, result["duration_s"])
    ax.set_ylim(0, 1)
    ax.set_xlabel("time (s), window centres")
    ax.set_ylabel("probability")
    ax.set_title(f"{pathlib.Path(result['video']).name}: window {result['window']} frames, "
                 f"stride {result['stride']} (grey: mostly no face)", fontsize=9)
    path = pathlib.Path(path)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    return path
