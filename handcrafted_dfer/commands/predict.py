"""``dfer predict``: class probabilities over time for a video of any length.

The video is preprocessed once with every frame kept; windows of ``window`` source frames slide by
``stride`` (the last one aligned to the end, so the windows cover the whole video), each is
resampled to the model's frame count, described with the model's extractors, and classified.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import time

import numpy as np

from ._args import positive_int

__all__ = ["add_parser", "run", "window_bounds", "predict_video", "plot_timeline"]


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
    """Per-window class probabilities of a video.

    Parameters
    ----------
    source : str or Path or ndarray
        Video file, frame folder or frame array.
    model : TrainedModel
        From :func:`handcrafted_dfer.modelfile.load_model`.
    window, stride : int
        Window length and step, in source frames.
    min_valid_fraction : float
        Windows with a smaller fraction of frames where a face was found get ``"no_face": True``
        (their probabilities describe interpolated or copied frames).
    progress : bool

    Returns
    -------
    dict
        ``video``, ``fps``, ``n_frames``, ``duration_s``, ``labels`` (column order of the
        probabilities), ``window``, ``stride``, ``seconds`` (processing time) and ``windows``: a
        list of ``{start_frame, end_frame, start_s, end_s, valid_fraction, no_face, label,
        probabilities}``.
    """
    from ..evaluate.runner import describe_clips
    from ..face.preprocess import preprocess_video
    from ..face.temporal import resample_clip

    start = time.perf_counter()
    aligned = preprocess_video(source, model.config, keep_length=True, progress=progress)
    bounds = window_bounds(aligned.n_frames, window, stride)
    pieces = [resample_clip(type(aligned)(frames=aligned.frames[a:b],
                                          landmarks=aligned.landmarks[a:b],
                                          valid=aligned.valid[a:b], fps=aligned.fps,
                                          source=aligned.source), model.config.frames)
              for a, b in bounds]
    X, _ = describe_clips(pieces, model.features, params=model.feature_params)
    proba = model.estimator.predict_proba(X)
    labels = model.class_names
    windows = []
    for (a, b), p in zip(bounds, proba):
        valid_fraction = float(aligned.valid[a:b].mean())
        windows.append({
            "start_frame": int(a), "end_frame": int(b),
            "start_s": a / aligned.fps, "end_s": b / aligned.fps,
            "valid_fraction": valid_fraction,
            "no_face": valid_fraction < min_valid_fraction,
            "label": labels[int(np.argmax(p))],
            "probabilities": {label: float(v) for label, v in zip(labels, p)},
        })
    return {
        "video": str(source) if not isinstance(source, np.ndarray) else "<array>",
        "fps": aligned.fps,
        "n_frames": aligned.n_frames,
        "duration_s": aligned.n_frames / aligned.fps,
        "labels": labels,
        "window": window,
        "stride": stride,
        "seconds": time.perf_counter() - start,
        "windows": windows,
    }


def plot_timeline(result: dict, path) -> pathlib.Path:
    """Stacked class probabilities against time (window centres); windows without a face greyed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    windows = result["windows"]
    centres = np.array([(w["start_s"] + w["end_s"]) / 2 for w in windows])
    proba = np.array([[w["probabilities"][label] for label in result["labels"]] for w in windows])
    fig, ax = plt.subplots(figsize=(10, 3.5))
    if len(windows) == 1:  # a single window: show it as a bar over its span
        centres = np.array([windows[0]["start_s"], windows[0]["end_s"]])
        proba = np.repeat(proba, 2, axis=0)
    ax.stackplot(centres, proba.T, labels=result["labels"], alpha=0.85)
    for w in windows:
        if w["no_face"]:
            ax.axvspan(w["start_s"], w["end_s"], color="grey", alpha=0.3, lw=0)
    ax.set_xlim(0, result["duration_s"])
    ax.set_ylim(0, 1)
    ax.set_xlabel("time (s), window centres")
    ax.set_ylabel("probability")
    ax.set_title(f"{pathlib.Path(result['video']).name}: window {result['window']} frames, "
                 f"stride {result['stride']} (grey: mostly no face)", fontsize=9)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    fig.tight_layout()
    path = pathlib.Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``dfer predict``."""
    parser = subparsers.add_parser(
        "predict",
        help="class probabilities over time for a video, with a saved model",
        description="Slide a window over a video of any length and print, per window, its time "
        "span and the class probabilities of a model written by `dfer train`.",
    )
    parser.add_argument("video", metavar="VIDEO", help="video file or frame folder")
    parser.add_argument("--model", required=True, metavar="MODEL.joblib",
                        help="model file from `dfer train`")
    parser.add_argument("--window", type=positive_int, default=16,
                        help="window length in source frames (default 16)")
    parser.add_argument("--stride", type=positive_int, default=4,
                        help="step between windows in source frames (default 4)")
    parser.add_argument("--json", metavar="OUT.json", help="write the windows as JSON")
    parser.add_argument("--plot", metavar="OUT.png", help="write a timeline plot")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or table")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Predict, print a table, and write the requested files."""
    from ..modelfile import load_model

    model = load_model(args.model)
    result = predict_video(args.video, model, window=args.window, stride=args.stride,
                           progress=not args.quiet)
    result["model"] = str(args.model)
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(result, indent=2))
    if args.plot:
        plot_timeline(result, args.plot)
    if not args.quiet:
        print(f"{result['video']}: {result['n_frames']} frames, {result['duration_s']:.2f} s, "
              f"{len(result['windows'])} windows, processed in {result['seconds']:.1f} s")
        print("start_s  end_s  " + "  ".join(f"{label[:8]:>8}" for label in result["labels"]))
        for w in result["windows"]:
            flag = "  (no face)" if w["no_face"] else ""
            print(f"{w['start_s']:7.2f} {w['end_s']:6.2f}  "
                  + "  ".join(f"{w['probabilities'][label]:8.3f}" for label in result["labels"])
                  + flag)
    return 0
