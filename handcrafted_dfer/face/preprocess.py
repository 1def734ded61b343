"""Video to :class:`~handcrafted_dfer.clip.AlignedClip`: read, track, align, normalize in time."""

from __future__ import annotations

import os

import cv2
import numpy as np
from tqdm.auto import tqdm

from ..clip import AlignedClip
from ..config import PreprocessConfig
from ..errors import NoFaceError
from ..video import open_video
from .align import align_face
from .temporal import resample_clip
from .track import MISSING, fill_gaps, track_faces

__all__ = ["track_and_align", "preprocess_video"]


def _grey_frames(stream, bar):
    for frame in stream:
        bar.update()
        yield frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)


def track_and_align(source: str | os.PathLike | np.ndarray,
                    config: PreprocessConfig = PreprocessConfig(), *,
                    progress: bool = False) -> tuple[AlignedClip, np.ndarray]:
    """Track the face in every frame of a video and align each frame, at the source's length.

    Frames without a face (``valid`` False) get the crop and landmarks of the nearest frame with
    one (the earlier one on a tie).

    Parameters
    ----------
    source : str, path-like or ndarray
        Anything :func:`~handcrafted_dfer.video.open_video` reads.
    config : PreprocessConfig
        Crop size, CLAHE, detector width, re-detection interval, longest filled gap and least
        valid fraction (``config.frames`` is not used here).
    progress : bool
        Show a tqdm progress bar over frames.

    Returns
    -------
    clip : AlignedClip
        One aligned frame per source frame.
    status : ndarray of int8, shape (N,)
        Per frame: :data:`~handcrafted_dfer.face.track.MISSING`, ``DETECTED``, ``TRACKED`` or
        ``INTERPOLATED``.

    Raises
    ------
    VideoReadError
        If the source cannot be read.
    NoFaceError
        If fewer than ``config.min_valid_fraction`` of the frames (or none) have a face.
    """
    stream = open_video(source)
    size = config.size
    crops, points, status = [], [], []
    blank_crop, blank_points = np.zeros((size, size), np.uint8), np.zeros((68, 2), np.float32)
    with tqdm(total=stream.n_frames_hint, disable=not progress, unit="frame",
              desc=os.path.basename(stream.path)) as bar:
        tracked = track_faces(_grey_frames(stream, bar), detect_width=config.detect_width,
                              redetect_every=config.redetect_every)
        for frame in fill_gaps(tracked, max_gap=config.max_gap):
            if frame.landmarks is None:
                crop, aligned = blank_crop, blank_points
            else:
                crop, aligned = align_face(frame.grey, frame.landmarks, size=size,
                                           clahe=config.clahe)
            crops.append(crop)
            points.append(aligned)
            status.append(frame.status)
    status = np.array(status, dtype=np.int8)
    valid = status != MISSING
    n_valid, n = int(valid.sum()), len(status)
    if n_valid == 0 or n_valid < config.min_valid_fraction * n:
        raise NoFaceError(
            stream.path,
            f"a face was found in {n_valid} of {n} frames; expected one in at least "
            f"{config.min_valid_fraction:.0%} of them",
        )
    nearest = _nearest_valid(valid)
    return AlignedClip(
        frames=np.stack(crops)[nearest],
        landmarks=np.stack(points)[nearest],
        valid=valid,
        fps=stream.fps,
        source=stream.path,
    ), status


def _nearest_valid(valid: np.ndarray) -> np.ndarray:
    """For every frame, the index of the nearest valid frame (the earlier one on a tie)."""
    where = np.flatnonzero(valid)
    index = np.arange(len(valid))
    after = np.clip(np.searchsorted(where, index), 0, len(where) - 1)
    before = np.clip(after - 1, 0, len(where) - 1)
    use_before = np.abs(index - where[before]) <= np.abs(where[after] - index)
    return np.where(use_before, where[before], where[after])


def preprocess_video(source: str | os.PathLike | np.ndarray,
                     config: PreprocessConfig = PreprocessConfig(), *,
                     keep_length: bool = False, progress: bool = False) -> AlignedClip:
    """Turn a video into an aligned grey face clip of ``config.frames`` frames.

    Reads the frames (:func:`~handcrafted_dfer.video.open_video`), follows the face
    (:func:`~handcrafted_dfer.face.track.track_faces`, short gaps filled), warps each frame to
    the canonical face (:func:`~handcrafted_dfer.face.align.align_face`), and resamples the clip
    to ``config.frames`` frames in order (:func:`~handcrafted_dfer.face.temporal.resample_clip`).

    Parameters
    ----------
    source : str, path-like or ndarray
        A video file, a frame folder, or an array ``[N, H, W]`` / ``[N, H, W, 3]`` (BGR).
    config : PreprocessConfig
    keep_length : bool
        Keep every source frame instead of resampling (for sliding windows).
    progress : bool
        Show a progress bar.

    Returns
    -------
    AlignedClip

    Raises
    ------
    VideoReadError
        If the source cannot be read.
    NoFaceError
        If too few frames have a face.
    """
    clip, _ = track_and_align(source, config, progress=progress)
    return clip if keep_length else resample_clip(clip, config.frames)
