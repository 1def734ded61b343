"""Class probabilities over time: a trained model slid over a video of any length, per face.

Windows of ``window`` source frames start every ``stride`` frames (the last one aligned to the
end, so the windows cover the whole video: :func:`window_bounds`). Each face of
``faces_in_video`` (the largest; every face, by identity; or one identity) has its own windows:
each is resampled to the model's frame count and passed through the model's pipeline. A window in
which too few frames show that face gets no label and no probabilities: copies of the last face
seen are not evidence. Within a window, frames without the face copy the nearest frame of the
window with it.

Frames are processed as they are read (:func:`iter_windows`): each face keeps only the last
``window`` aligned frames, so memory does not grow with the video's length, and a window is
classified as soon as its last frame has left the tracker. With ``stream=True`` every window is
classified on its own at once, and the tracker settles every frame within ``stride`` frames (it
re-detects followed faces at least every ``stride`` frames, starts new faces where a search finds
them instead of following them back, and fills no gaps, which would wait for the face to come
back): a window's row comes out at most ``stride`` frames after its last frame was read.

Tables (pandas): :func:`predict_video` returns one row per window and face, with the columns
:data:`WINDOW_COLUMNS` and one ``proba_<label>`` column per class (NaN, null in Parquet, where the
label is null); ``frames_table=PATH`` also writes one row per frame and face (:data:`FRAME_COLUMNS`:
frame, time, face id, status, validity, box, detector score, the 68 landmarks in frame pixels
``x_0..x_67, y_0..y_67``, head pose in degrees).
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import time
from collections.abc import Generator
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

from ..clip import AlignedClip
from ..face.multitrack import FaceObservation, FrameFaces, MultiFaceConfig
from ..face.pose import POSE_ANGLES, head_pose
from ..face.preprocess import check_faces_in_video, face_frames
from ..face.temporal import nearest_valid, resample_clip
from ..face.track import GIVEN, MISSING, STATUS_NAMES
from ..video import open_video
from .tables import TableWriter

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["WINDOW_COLUMNS", "PROBA_PREFIX", "FRAME_COLUMNS", "window_bounds",
           "streaming_settings", "iter_windows", "predict_video", "predict_windows",
           "windows_table", "timeline_json", "plot_timeline"]

#: Columns of the windows table before the class probabilities.
WINDOW_COLUMNS = ("face_id", "start_frame", "end_frame", "start_s", "end_s", "valid_fraction",
                  "label")
#: Prefix of the class-probability columns (``proba_happiness``).
PROBA_PREFIX = "proba_"
#: Columns of the frames table.
FRAME_COLUMNS = (("frame", "time_s", "face_id", "status", "valid", "box_left", "box_top",
                  "box_right", "box_bottom", "score")
                 + tuple(f"x_{k}" for k in range(68)) + tuple(f"y_{k}" for k in range(68))
                 + POSE_ANGLES)
#: Windows classified together outside streaming (memory: this many windows of clips).
_BATCH = 32
#: Frames per chunk of the frames table.
_CHUNK = 256


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


def streaming_settings(config, multi: MultiFaceConfig, *, stride: int):
    """The preprocessing and several-face settings under which every frame leaves the tracker
    within ``stride`` frames: followed faces re-detected at least every ``stride`` frames, new
    faces not followed back (they start where a search finds them), no gap filling."""
    return (dataclasses.replace(config, redetect_every=min(config.redetect_every, stride),
                                max_gap=0),
            dataclasses.replace(multi, follow_back=False))


class _Ring:
    """The last ``window`` aligned frames of one face, indexed by frame number modulo window."""

    def __init__(self, window: int, size: int):
        self.frames = np.zeros((window, size, size), np.uint8)
        self.landmarks = np.zeros((window, 68, 2), np.float32)
        self.valid = np.zeros(window, bool)

    def put(self, index: int, face) -> None:
        slot = index % len(self.valid)
        self.valid[slot] = face is not None
        if face is not None:
            self.frames[slot] = face.crop
            self.landmarks[slot] = face.aligned

    def take(self, start: int, stop: int) -> tuple:
        """Frames, landmarks and valid flags of frames ``start..stop-1`` (the newest ones)."""
        slots = np.arange(start, stop) % len(self.valid)
        return self.frames[slots], self.landmarks[slots], self.valid[slots]


def _classify(model, pieces: list) -> tuple[list, np.ndarray]:
    """Labels (the pipeline's decision) and probabilities of clips, the features computed once."""
    from ..pipeline import split_features

    features, head = split_features(model.pipeline)
    data = pieces if features is None else features.transform(pieces)
    return ([model.labels[int(c)] for c in head.predict(data)],
            np.asarray(head.predict_proba(data)))


def _frame_rows(frames: list, fixed: int | None, fps: float) -> "pd.DataFrame":
    """The frames table of a chunk of :class:`~handcrafted_dfer.face.multitrack.FrameFaces`."""
    import pandas as pd

    rows = []
    for frame in frames:
        faces = {face.face: face for face in frame.faces}
        wanted = [fixed] if fixed is not None else sorted(faces)
        for identity in wanted:
            rows.append((frame, identity, faces.get(identity)))
    n = len(rows)
    points = np.full((n, 68, 2), np.nan)
    boxes = np.full((n, 4), np.nan)
    for k, (_, _, face) in enumerate(rows):
        if face is not None and face.landmarks is not None:
            points[k] = face.landmarks
            boxes[k] = face.face_box()
    pose = np.full((n, 3), np.nan)
    if n:
        height, width = frames[0].grey.shape
        pose = head_pose(points, frame_size=(width, height))
    columns = {
        "frame": np.array([frame.index for frame, _, _ in rows], dtype=np.int64),
        "time_s": np.array([frame.index / fps for frame, _, _ in rows]),
        "face_id": np.array([identity for _, identity, _ in rows], dtype=np.int64),
        "status": np.array([STATUS_NAMES[MISSING if f is None else f.status]
                            for _, _, f in rows], dtype=object),
        "valid": np.array([f is not None for _, _, f in rows], dtype=bool),
        "box_left": boxes[:, 0], "box_top": boxes[:, 1],
        "box_right": boxes[:, 2], "box_bottom": boxes[:, 3],
        "score": np.array([np.nan if f is None else f.score for _, _, f in rows]),
    }
    columns.update({f"x_{k}": points[:, k, 0] for k in range(68)})
    columns.update({f"y_{k}": points[:, k, 1] for k in range(68)})
    columns.update({name: pose[:, k] for k, name in enumerate(POSE_ANGLES)})
    return pd.DataFrame(columns)


def _tabled(frames, path, fixed: int | None, fps: float):
    """Pass frames through, writing the frames table to ``path`` a chunk at a time."""
    with TableWriter(path, what="the frames table") as writer:
        chunk = []
        for frame in frames:
            chunk.append(frame)
            if len(chunk) >= _CHUNK:
                writer.write(_frame_rows(chunk, fixed, fps))
                chunk = []
            yield frame
        writer.write(_frame_rows(chunk, fixed, fps))


def _window_rows(frames, model, *, fps: float, source: str, window: int, stride: int,
                 min_valid_fraction: float, fixed: int | None,
                 stream: bool) -> Generator[dict, None, dict]:
    """Window rows of a stream of aligned faces (:class:`~..face.multitrack.FrameFaces`, every
    frame once, in order); returns ``n_frames``, ``face_frames`` and ``faces``."""
    if not 0 <= min_valid_fraction <= 1:
        raise ValueError(f"min_valid_fraction must be between 0 and 1; got {min_valid_fraction}")
    window_bounds(window, window, stride)  # checks window and stride
    size, n_model = model.config.size, model.config.frames
    rings: dict[int, _Ring] = {} if fixed is None else {fixed: _Ring(window, size)}
    queue: list[tuple[dict, AlignedClip | None]] = []
    seen: set[int] = set()
    n = face_count = last_end = 0

    def queue_windows(start: int, stop: int) -> None:
        for identity in sorted(rings):
            crops, landmarks, valid = rings[identity].take(start, stop)
            if fixed is None and not valid.any():
                continue
            fraction = float(valid.mean())
            piece = None
            if valid.any() and fraction >= min_valid_fraction:
                nearest = nearest_valid(valid)
                piece = resample_clip(AlignedClip(frames=crops[nearest],
                                                  landmarks=landmarks[nearest], valid=valid,
                                                  fps=fps, source=source), n_model)
            queue.append(({"face_id": identity, "start_frame": start, "end_frame": stop,
                           "start_s": start / fps, "end_s": stop / fps,
                           "valid_fraction": fraction, "label": None,
                           "probabilities": None}, piece))

    def flush():
        pieces = [piece for _, piece in queue if piece is not None]
        if pieces:
            labels, proba = _classify(model, pieces)
            answers = iter(zip(labels, proba))
            for row, piece in queue:
                if piece is not None:
                    label, p = next(answers)
                    row["label"] = label
                    row["probabilities"] = {name: float(v)
                                            for name, v in zip(model.class_names, p)}
        rows = [row for row, _ in queue]
        queue.clear()
        yield from rows

    for frame in frames:
        n = frame.index + 1
        present = {face.face: face for face in frame.faces}
        face_count += bool(present)
        seen.update(present)
        for identity in present:
            if identity not in rings:
                rings[identity] = _Ring(window, size)
        for identity, ring in list(rings.items()):
            ring.put(frame.index, present.get(identity))
            if fixed is None and not ring.valid.any():
                del rings[identity]  # away for a whole window: no row until it is back
        start = n - window
        if start >= 0 and start % stride == 0:
            queue_windows(start, n)
            last_end = n
        if queue and (stream or len(queue) >= _BATCH):
            yield from flush()
    if n and last_end < n:  # shorter than a window, or a last window aligned to the end
        queue_windows(max(0, n - window), n)
    yield from flush()
    return {"n_frames": n, "face_frames": face_count, "faces": sorted(seen)}


def iter_windows(source, model, *, window: int = 16, stride: int = 4,
                 min_valid_fraction: float = 0.5, faces_in_video: str | int = "largest",
                 multi: MultiFaceConfig = MultiFaceConfig(), stream: bool = False,
                 frames_table: str | os.PathLike | None = None,
                 progress: bool = False) -> Generator[dict, None, dict]:
    """Window rows of a video, each as soon as it is known.

    Parameters
    ----------
    source : str, Path, ndarray or FrameStream
        Anything :func:`~handcrafted_dfer.video.open_video` reads, or a stream it made (a camera:
        :func:`~handcrafted_dfer.video.open_camera`).
    model : TrainedModel
        From :func:`handcrafted_dfer.modelfile.load_model`.
    window, stride : int
        Window length and step, in source frames.
    min_valid_fraction : float
        Windows with a smaller fraction of frames with the face get ``label`` and
        ``probabilities`` None.
    faces_in_video : "largest", "all" or int
        ``"largest"`` and an identity number give a row per window for that face (id 0 for the
        largest); ``"all"`` a row per window and identity, for the windows in which that identity
        is on screen in at least one frame.
    multi : MultiFaceConfig
    stream : bool
        Classify each window at once, and settle frames within ``stride`` frames (see the
        module docstring); otherwise windows are classified in batches (same results as
        long as the tracker's settings are the same).
    frames_table : str or Path, optional
        Also write the frames table there (``.csv`` or ``.parquet``), a chunk at a time.
    progress : bool

    Yields
    ------
    dict
        ``face_id, start_frame, end_frame, start_s, end_s, valid_fraction, label,
        probabilities`` (a dict label -> probability, or None), in the order of the windows'
        ends, then of identities.

    Returns
    -------
    dict
        At the end (``StopIteration.value``): ``video``, ``fps``, ``n_frames``,
        ``face_frames`` (frames with at least one face) and ``faces`` (the identities seen).
    """
    faces = check_faces_in_video(faces_in_video)
    fixed = None if faces == "all" else (0 if faces == "largest" else faces)
    frames_in = open_video(source)
    config = model.config
    if stream:
        config, multi = streaming_settings(config, multi, stride=stride)
    frames = face_frames(frames_in, config, faces_in_video=faces, multi=multi, progress=progress)
    if frames_table is not None:
        frames = _tabled(frames, frames_table, fixed, frames_in.fps)
    summary = yield from _window_rows(
        frames, model, fps=frames_in.fps, source=frames_in.path, window=window, stride=stride,
        min_valid_fraction=min_valid_fraction, fixed=fixed, stream=stream)
    return {"video": frames_in.path, "fps": frames_in.fps, **summary}


def _collect(windows) -> tuple[list, dict]:
    """The rows of a window generator and what it returns."""
    rows = []
    while True:
        try:
            rows.append(next(windows))
        except StopIteration as end:
            return rows, end.value


def _timeline(rows, summary, model, *, window, stride, faces, start):
    table = windows_table(rows, model.class_names)
    table.attrs.update({
        "video": summary["video"], "fps": summary["fps"], "n_frames": summary["n_frames"],
        "duration_s": summary["n_frames"] / summary["fps"], "labels": list(model.class_names),
        "method": model.metadata.get("method"), "window": window, "stride": stride,
        "faces_in_video": faces, "faces": summary["faces"],
        "seconds": time.perf_counter() - start,
    })
    return table


def windows_table(rows: list[dict], labels) -> "pd.DataFrame":
    """Rows of :func:`iter_windows` as a DataFrame: :data:`WINDOW_COLUMNS`, then
    ``proba_<label>`` per label (NaN where the label is None)."""
    import pandas as pd

    types = {"face_id": "int64", "start_frame": "int64", "end_frame": "int64",
             "start_s": "float64", "end_s": "float64", "valid_fraction": "float64",
             "label": object}
    table = pd.DataFrame({name: pd.Series([row[name] for row in rows], dtype=types[name])
                          for name in WINDOW_COLUMNS})
    for label in labels:
        table[PROBA_PREFIX + label] = np.array(
            [np.nan if row["probabilities"] is None else row["probabilities"][label]
             for row in rows], dtype=np.float64)
    return table


def predict_video(source, model, *, window: int = 16, stride: int = 4,
                  min_valid_fraction: float = 0.5, faces_in_video: str | int = "largest",
                  multi: MultiFaceConfig = MultiFaceConfig(),
                  frames_table: str | os.PathLike | None = None,
                  progress: bool = False) -> "pd.DataFrame":
    """Per-window, per-face labels and class probabilities of a video, as a DataFrame.

    Parameters are those of :func:`iter_windows` (without ``stream``).

    Returns
    -------
    pandas.DataFrame
        One row per window and face (:func:`windows_table`; label None where the face is in
        fewer than ``min_valid_fraction`` of the window's frames). ``attrs`` holds ``video``,
        ``fps``, ``n_frames``, ``duration_s``, ``labels`` (the order of the probability
        columns), ``method``, ``window``, ``stride``, ``faces_in_video``, ``faces`` (identities
        seen) and ``seconds`` (processing time).

    Raises
    ------
    VideoReadError
        If the source cannot be read.
    NoFaceError
        If no window has a face in enough of its frames.
    """
    from ..errors import NoFaceError

    start = time.perf_counter()
    rows, summary = _collect(iter_windows(
        source, model, window=window, stride=stride, min_valid_fraction=min_valid_fraction,
        faces_in_video=faces_in_video, multi=multi, frames_table=frames_table,
        progress=progress))
    if not any(row["label"] is not None for row in rows):
        raise NoFaceError(summary["video"], f"no window has a face in at least "
                          f"{min_valid_fraction:.0%} of its frames (a face was found in "
                          f"{summary['face_frames']} of {summary['n_frames']} frames)")
    return _timeline(rows, summary, model, window=window, stride=stride,
                     faces=check_faces_in_video(faces_in_video), start=start)


def predict_windows(aligned: AlignedClip, model, *, window: int = 16, stride: int = 4,
                    min_valid_fraction: float = 0.5) -> "pd.DataFrame":
    """:func:`predict_video` on a video already tracked and aligned at its own length (one face,
    id 0).

    Parameters
    ----------
    aligned : AlignedClip
        Every source frame (``preprocess_video(..., keep_length=True)``).
    model, window, stride, min_valid_fraction
        As in :func:`predict_video`.

    Returns
    -------
    pandas.DataFrame
        As :func:`predict_video` returns (``video`` is the clip's source, ``seconds`` the time
        spent here); windows without enough face have a null label.
    """
    start = time.perf_counter()
    frames = (FrameFaces(k, None, [FaceObservation(0, None, GIVEN, crop=aligned.frames[k],
                                                   aligned=aligned.landmarks[k])]
                         if aligned.valid[k] else [])
              for k in range(aligned.n_frames))
    rows, summary = _collect(_window_rows(
        frames, model, fps=aligned.fps, source=aligned.source, window=window, stride=stride,
        min_valid_fraction=min_valid_fraction, fixed=0, stream=False))
    summary.update(video=aligned.source, fps=aligned.fps)
    return _timeline(rows, summary, model, window=window, stride=stride, faces="largest",
                     start=start)


def timeline_json(table) -> dict:
    """The windows table as the JSON of ``dfer predict --json``: ``attrs`` and ``windows``, a
    list of ``{face_id, start_frame, end_frame, start_s, end_s, valid_fraction, no_face, label,
    probabilities}`` (``label`` and ``probabilities`` null where there is no face)."""
    labels = table.attrs["labels"]
    windows = []
    for row in table.to_dict("records"):
        label = None if row["label"] is None or row["label"] != row["label"] else row["label"]
        windows.append({
            "face_id": int(row["face_id"]), "start_frame": int(row["start_frame"]),
            "end_frame": int(row["end_frame"]), "start_s": float(row["start_s"]),
            "end_s": float(row["end_s"]), "valid_fraction": float(row["valid_fraction"]),
            "no_face": label is None, "label": label,
            "probabilities": None if label is None else {
                name: float(row[PROBA_PREFIX + name]) for name in labels},
        })
    return {**table.attrs, "windows": windows}


def plot_timeline(table, path: str | os.PathLike) -> pathlib.Path:
    """Stacked class probabilities against time (window centres), one panel per face; windows
    where the face is on screen too little are grey, windows without it blank."""
    attrs = table.attrs
    labels = attrs["labels"]
    faces = sorted(table["face_id"].unique())
    fig = Figure(figsize=(10, 1.2 + 2.3 * max(1, len(faces))))
    axes = fig.subplots(max(1, len(faces)), 1, sharex=True, squeeze=False)[:, 0]
    colours = [f"C{k}" for k in range(len(labels))]
    for ax, face in zip(axes, faces):
        rows = table[table["face_id"] == face]
        half = attrs["stride"] / attrs["fps"] / 2  # each window shaded around its centre
        for row in rows[rows["label"].isna()].itertuples():
            centre = (row.start_s + row.end_s) / 2
            ax.axvspan(centre - half, centre + half, color="grey", alpha=0.4, lw=0)
        shown = rows[rows["label"].notna()]
        if len(shown):
            centres = ((shown["start_s"] + shown["end_s"]) / 2).to_numpy()
            proba = shown[[PROBA_PREFIX + label for label in labels]].to_numpy()
            if len(shown) == 1:  # a single window: show it as a bar over its span
                centres = shown[["start_s", "end_s"]].to_numpy()[0]
                proba = np.repeat(proba, 2, axis=0)
            # a face away for a while: break the stack there instead of bridging the gap
            gaps = np.flatnonzero(np.diff(shown["start_frame"].to_numpy()) > attrs["window"])
            for part in np.split(np.arange(len(centres)), gaps + 1):
                ax.stackplot(centres[part], proba[part].T, colors=colours, alpha=0.85,
                             labels=labels if part[0] == 0 else ())
        ax.set_ylim(0, 1)
        ax.set_ylabel(f"face {face}\nprobability", fontsize=8)
    axes[0].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    axes[-1].set_xlim(0, attrs["duration_s"])
    axes[-1].set_xlabel("time (s), window centres")
    axes[0].set_title(f"{pathlib.Path(attrs['video']).name}: window {attrs['window']} frames, "
                      f"stride {attrs['stride']} (grey: face on screen too little)", fontsize=9)
    path = pathlib.Path(path)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    return path
