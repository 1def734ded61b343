"""Video to :class:`~handcrafted_dfer.clip.AlignedClip`: read, track, align, normalize in time.

``PreprocessConfig.faces`` says what the frames hold: scenes (``"detect"``: track and align),
face crops (``"cropped"``: landmarks fitted in each crop, then aligned) or aligned faces
(``"aligned"``: resized only, no landmarks measured).
"""

from __future__ import annotations

import os

import cv2
import numpy as np
from tqdm.auto import tqdm

from ..clip import AlignedClip
from ..config import PreprocessConfig
from ..errors import NoFaceError
from ..video import open_video
from .align import align_face, canonical_landmarks, equalise
from .crops import fit_crop_landmarks, recrop_aligned
from .detect import FaceFinder
from .temporal import resample_clip
from .track import GIVEN, MISSING, TrackedFrame, fill_gaps, track_faces

__all__ = ["track_and_align", "preprocess_video"]


def _grey_frames(stream, bar):
    for frame in stream:
        bar.update()
        yield frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)


def _faces(frames, config: PreprocessConfig):
    """``(crop, landmarks, status)`` per grey frame as ``config.faces`` says (None, None where
    no face was found)."""
    size = config.size
    if config.face_mode == "aligned":
        points = canonical_landmarks(size, crop_side=config.crop_side,
                                     crop_centre=config.crop_centre).astype(np.float32)
        for grey in frames:
            crop = recrop_aligned(grey, size=size, crop_side=config.crop_side,
                                  crop_centre=config.crop_centre)
            yield (equalise(crop) if config.clahe else crop), points, GIVEN
        return
    if config.face_mode == "cropped":
        tracked = (TrackedFrame(k, grey, fit_crop_landmarks(grey, detector=config.detector), GIVEN)
                   for k, grey in enumerate(frames))
    else:
        tracked = fill_gaps(track_faces(frames, finder=FaceFinder.from_config(config),
                                        redetect_every=config.redetect_every),
                            max_gap=config.max_gap)
    for frame in tracked:
        if frame.landmarks is None:
            yield None, None, frame.status
        else:
            yield (*align_face(frame.grey, frame.landmarks, size=size, clahe=config.clahe,
                               crop_side=config.crop_side, crop_centre=config.crop_centre),
                   frame.status)


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
        What the frames hold, crop size and box, CLAHE, detection, re-detection interval,
        longest filled gap and least valid fraction (``config.frames`` is not used here).
    progress : bool
        Show a tqdm progress bar over frames.

    Returns
    -------
    clip : AlignedClip
        One aligned frame per source frame.
    status : ndarray of int8, shape (N,)
        Per frame: :data:`~handcrafted_dfer.face.track.MISSING`, ``DETECTED``, ``TRACKED``,
        ``INTERPOLATED``, or ``GIVEN`` (``faces`` "cropped" or "aligned").

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
        for crop, aligned, code in _faces(_grey_frames(stream, bar), config):
            crops.append(blank_crop if crop is None else crop)
            points.append(blank_points if aligned is None else aligned)
            status.append(code)
    status = np.array(status, dtype=np.int8)
    valid = status != MISSING
    n_valid, n = int(valid.sum()), len(status)
    if n_valid == 0 or n_valid < config.min_valid_fraction * n:
        raise NoFaceError(
            stream.path,
            f"a face was found in {n_valid} of {n} frames; expected one in at least "
            f"{config.min_valid_fraction:.0%} of them (faces narrower than min_face="
            f"{config.min_face} pixels are not searched for; frames that are face crops need "
            "faces='cropped')",
        )
    nearest = _nearest_valid(valid)
    return AlignedClip(
        frames=np.stack(crops)[nearest],
        landmarks=np.stack(points)[nearest],
        valid=valid,
        fps=stream.fps,
        source=stream.path,
        has_landmarks=config.face_mode != "aligned",
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
    (:func:`~handcrafted_dfer.face.track.track_faces`, short gaps filled; or, for face crops,
    :func:`~handcrafted_dfer.face.crops.fit_crop_landmarks`), warps each frame to the canonical
    face (:func:`~handcrafted_dfer.face.align.align_face`; aligned faces are only resized), and
    resamples the clip to ``config.frames`` frames in order
    (:func:`~handcrafted_dfer.face.temporal.resample_clip`).

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
