"""Video to :class:`~handcrafted_dfer.clip.AlignedClip`: read, track, align, normalize in time.

``PreprocessConfig.faces`` says what the frames hold: scenes (``"detect"``: track and align),
face crops (``"cropped"``: landmarks fitted in each crop, then aligned) or aligned faces
(``"aligned"``: resized only, no landmarks measured).

``faces_in_video`` says which faces of a scene: ``"largest"`` (the largest, most central face,
followed by :func:`~.track.track_faces`; one clip), ``"all"`` (every face, followed by
:func:`~.multitrack.track_all_faces` and numbered by identity; one clip per identity) or an
identity number of ``"all"`` (that person only). :func:`face_frames` is the stream under all of
them: every frame with its aligned faces, one frame at a time.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import cv2
import numpy as np
from tqdm.auto import tqdm

from ..clip import AlignedClip
from ..config import PreprocessConfig
from ..errors import NoFaceError
from ..video import FrameStream, open_video
from .align import align_face, canonical_landmarks, equalise
from .crops import fit_crop_landmarks, recrop_aligned
from .detect import FaceFinder
from .multitrack import (FaceObservation, FrameFaces, MultiFaceConfig, fill_face_gaps,
                         track_all_faces)
from .temporal import nearest_valid, resample_clip
from .track import GIVEN, MISSING, fill_gaps, track_faces

__all__ = ["FACES_IN_VIDEO", "check_faces_in_video", "face_frames", "track_and_align",
           "track_and_align_faces", "preprocess_video", "preprocess_faces"]

#: The named values of ``faces_in_video`` (an identity number is the third kind).
FACES_IN_VIDEO = ("largest", "all")


def check_faces_in_video(value) -> str | int:
    """``"largest"``, ``"all"``, or an identity number (an int or a string of digits, >= 0).

    Raises
    ------
    ValueError
        For anything else.
    """
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if value in FACES_IN_VIDEO or (isinstance(value, int) and not isinstance(value, bool)
                                   and value >= 0):
        return value
    raise ValueError("faces_in_video must be 'largest' (the largest face), 'all' (every face, "
                     "by identity) or an identity number 0, 1, ... of 'all'; got "
                     f"{value!r}")


def _grey_frames(stream, bar):
    for frame in stream:
        bar.update()
        yield frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)


def _found(frames, config: PreprocessConfig, faces, multi: MultiFaceConfig):
    """:class:`FrameFaces` per grey frame, as ``config.faces`` and ``faces`` say."""
    mode = config.face_mode
    if mode == "aligned":
        points = canonical_landmarks(config.size, crop_side=config.crop_side,
                                     crop_centre=config.crop_centre).astype(np.float32)
        for k, grey in enumerate(frames):
            crop = recrop_aligned(grey, size=config.size, crop_side=config.crop_side,
                                  crop_centre=config.crop_centre)
            yield FrameFaces(k, grey, [FaceObservation(0, None, GIVEN, crop=(
                equalise(crop) if config.clahe else crop), aligned=points)])
    elif mode == "cropped":
        for k, grey in enumerate(frames):
            yield FrameFaces(k, grey, [FaceObservation(
                0, fit_crop_landmarks(grey, detector=config.detector), GIVEN)])
    elif faces == "largest":
        for frame in fill_gaps(track_faces(frames, finder=FaceFinder.from_config(config),
                                           redetect_every=config.redetect_every),
                               max_gap=config.max_gap):
            yield FrameFaces(frame.index, frame.grey, [] if frame.landmarks is None else [
                FaceObservation(0, frame.landmarks, frame.status, frame.score)])
    else:
        tracked = fill_face_gaps(track_all_faces(frames, finder=FaceFinder.from_config(config),
                                                 redetect_every=config.redetect_every,
                                                 config=multi), max_gap=config.max_gap)
        for frame in tracked:
            if faces != "all":
                frame.faces = [o for o in frame.faces if o.face == faces]
            yield frame


def face_frames(stream: FrameStream, config: PreprocessConfig = PreprocessConfig(), *,
                faces_in_video: str | int = "largest",
                multi: MultiFaceConfig = MultiFaceConfig(),
                progress: bool = False) -> Iterator[FrameFaces]:
    """Every frame of a stream with its faces, aligned.

    Parameters
    ----------
    stream : FrameStream
        From :func:`~handcrafted_dfer.video.open_video`.
    config : PreprocessConfig
    faces_in_video : "largest", "all" or int
        Which faces (see the module docstring); only ``"largest"`` for frames that are faces
        (``faces`` "cropped" or "aligned").
    multi : MultiFaceConfig
        How every face is followed and identified (not used for ``"largest"``).
    progress : bool
        Show a tqdm progress bar over frames.

    Yields
    ------
    FrameFaces
        Every frame once, in order, a few frames after it is read (the tracker's look-back),
        with one :class:`~.multitrack.FaceObservation` per face present (``crop`` and
        ``aligned`` set); none where no face was found.
    """
    faces = check_faces_in_video(faces_in_video)
    if faces != "largest" and config.face_mode != "detect":
        raise ValueError(f"faces_in_video={faces!r} needs faces='detect': frames given as face "
                         f"crops or aligned faces ({config.face_mode!r}) hold one face each")
    with tqdm(total=stream.n_frames_hint, disable=not progress, unit="frame",
              desc=os.path.basename(stream.path)) as bar:
        for frame in _found(_grey_frames(stream, bar), config, faces, multi):
            for face in frame.faces:
                if face.crop is None:
                    face.crop, face.aligned = align_face(
                        frame.grey, face.landmarks, size=config.size, clahe=config.clahe,
                        crop_side=config.crop_side, crop_centre=config.crop_centre)
            yield frame


def _clip(crops: list, points: list, status: np.ndarray, stream: FrameStream,
          config: PreprocessConfig) -> AlignedClip:
    """An AlignedClip at the source's length; frames without a face copy the nearest one."""
    valid = status != MISSING
    nearest = nearest_valid(valid)
    blank_crop = np.zeros((config.size, config.size), np.uint8)
    blank_points = np.zeros((68, 2), np.float32)
    return AlignedClip(
        frames=np.stack([blank_crop if c is None else c for c in crops])[nearest],
        landmarks=np.stack([blank_points if p is None else p for p in points])[nearest],
        valid=valid,
        fps=stream.fps,
        source=stream.path,
        has_landmarks=config.face_mode != "aligned",
    )


def _no_face(stream: FrameStream, n_valid: int, n: int, config: PreprocessConfig, *,
             what: str = "a face") -> NoFaceError:
    return NoFaceError(
        stream.path,
        f"{what} was found in {n_valid} of {n} frames; expected one in at least "
        f"{config.min_valid_fraction:.0%} of them (faces narrower than min_face="
        f"{config.min_face} pixels are not searched for; frames that are face crops need "
        "faces='cropped')",
    )


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
    crops, points, status = [], [], []
    for frame in face_frames(stream, config, progress=progress):
        face = frame.faces[0] if frame.faces else None
        crops.append(None if face is None else face.crop)
        points.append(None if face is None else face.aligned)
        status.append(MISSING if face is None else face.status)
    status = np.array(status, dtype=np.int8)
    n_valid, n = int((status != MISSING).sum()), len(status)
    if n_valid == 0 or n_valid < config.min_valid_fraction * n:
        raise _no_face(stream, n_valid, n, config)
    return _clip(crops, points, status, stream, config), status


def track_and_align_faces(source: str | os.PathLike | np.ndarray,
                          config: PreprocessConfig = PreprocessConfig(), *,
                          faces_in_video: str | int = "all",
                          multi: MultiFaceConfig = MultiFaceConfig(),
                          progress: bool = False) -> dict[int, tuple[AlignedClip, np.ndarray]]:
    """:func:`track_and_align` for every face of a video: one clip per identity.

    Each identity's clip has the source's length; frames where that person is not on screen are
    invalid (and copy the nearest frame with them). Identities seen in fewer than
    ``config.min_valid_fraction`` of the frames are left out (passers-by, false detections).

    Parameters
    ----------
    source : str, path-like or ndarray
    config : PreprocessConfig
    faces_in_video : "largest", "all" or int
        ``"largest"`` gives ``{0: track_and_align(...)}``.
    multi : MultiFaceConfig
    progress : bool

    Returns
    -------
    dict
        Identity -> ``(clip, status)`` as :func:`track_and_align` returns them, by identity.

    Raises
    ------
    VideoReadError
        If the source cannot be read.
    NoFaceError
        If no identity (or not the one asked for) is seen in enough frames.
    """
    if check_faces_in_video(faces_in_video) == "largest":
        return {0: track_and_align(source, config, progress=progress)}
    stream = open_video(source)
    seen: dict[int, dict[int, FaceObservation]] = {}
    n = 0
    for frame in face_frames(stream, config, faces_in_video=faces_in_video, multi=multi,
                             progress=progress):
        n += 1
        for face in frame.faces:
            seen.setdefault(face.face, {})[frame.index] = face
    out = {}
    for identity, faces in sorted(seen.items()):
        if len(faces) >= config.min_valid_fraction * n:
            observed = [faces.get(k) for k in range(n)]
            status = np.array([MISSING if f is None else f.status for f in observed], np.int8)
            out[identity] = (_clip([None if f is None else f.crop for f in observed],
                                   [None if f is None else f.aligned for f in observed],
                                   status, stream, config), status)
    if not out:
        best = max((len(f) for f in seen.values()), default=0)
        what = ("a face" if faces_in_video == "all" else
                f"identity {faces_in_video} (numbered 0, 1, ... in the order faces appear)")
        raise _no_face(stream, best, n, config, what=what)
    return out


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


def preprocess_faces(source: str | os.PathLike | np.ndarray,
                     config: PreprocessConfig = PreprocessConfig(), *,
                     faces_in_video: str | int = "all", keep_length: bool = False,
                     multi: MultiFaceConfig = MultiFaceConfig(),
                     progress: bool = False) -> dict[int, AlignedClip]:
    """:func:`preprocess_video` for every face of a video: identity -> clip.

    Parameters and errors are those of :func:`track_and_align_faces` and
    :func:`preprocess_video`.
    """
    clips = track_and_align_faces(source, config, faces_in_video=faces_in_video, multi=multi,
                                  progress=progress)
    return {identity: clip if keep_length else resample_clip(clip, config.frames)
            for identity, (clip, _) in clips.items()}
