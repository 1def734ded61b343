"""Frame readers: video files, folders of frame images, and NumPy arrays, one frame at a time.

:func:`open_video` is the single entry point. It checks the source at once (a missing path, an
empty, text or undecodable file, or an empty frame folder raises
:class:`~handcrafted_dfer.errors.VideoReadError` before any work is done) and returns a
:class:`FrameStream`, which can be iterated more than once and never holds the whole video in
memory. Whether a file is a video is decided by opening it with OpenCV's FFmpeg backend and
decoding its first frame, not by its suffix: any container FFmpeg reads works (mp4, avi, mov, mkv,
webm, flv, mpg, m4v, wmv, ts, ...). Files with a frame-image suffix (:data:`FRAME_EXTENSIONS`) are
read as one-frame images, and text files are refused (FFmpeg would render them as video).

Frame counts stored in video containers are not trusted: ``n_frames_hint`` is only the container's
claim, and ``n_frames`` is set to the number of frames actually decoded once a pass has finished.
A file that decodes noticeably fewer frames than its header declares (more than
:data:`TRUNCATION_TOLERANCE` of them, and at least 5, are missing) is treated as truncated: the
stream yields the frames that decode and then raises :class:`VideoReadError` instead of ending
quietly. Small shortfalls are normal (``no_face.mp4`` declares 98 frames and decodes 95) and end
the stream cleanly.
"""

from __future__ import annotations

import codecs
import os
import pathlib
import re
from collections.abc import Iterator

import cv2
import numpy as np

from .errors import VideoReadError

__all__ = [
    "VIDEO_EXTENSIONS",
    "FRAME_EXTENSIONS",
    "DEFAULT_FPS",
    "TRUNCATION_TOLERANCE",
    "FrameStream",
    "list_frame_files",
    "open_video",
    "to_uint8",
]

#: Suffixes (lower case) of common video containers, which dataset folders list as clips.
#: :func:`open_video` does not depend on them: it reads any file FFmpeg decodes.
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".flv", ".mpg", ".mpeg", ".m4v",
                    ".wmv", ".asf", ".ts", ".mts", ".m2ts", ".3gp", ".ogv", ".vob", ".mxf")
#: Suffixes (lower case) of the images of a frame folder.
FRAME_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp")
#: Frame rate assumed for frame folders and arrays when none is given.
DEFAULT_FPS = 25.0
#: Fraction of the container's declared frames that may fail to decode before a file counts as
#: truncated (at least 5 frames are always tolerated).
TRUNCATION_TOLERANCE = 0.05

_DIGITS = re.compile(r"(\d+)")


def _natural_key(path: pathlib.Path) -> tuple:
    parts = _DIGITS.split(path.name.lower())
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts if p != "")


def list_frame_files(folder: str | os.PathLike) -> list[pathlib.Path]:
    """The image files of a frame folder, sorted numerically (``frame2`` before ``frame10``).

    Parameters
    ----------
    folder : str or path-like
        A folder holding frame images with a suffix in :data:`FRAME_EXTENSIONS` (any case).

    Returns
    -------
    list of pathlib.Path
        The image files; other files and sub-folders are ignored. May be empty.

    Raises
    ------
    VideoReadError
        If ``folder`` is not a folder.
    """
    folder = pathlib.Path(folder)
    if not folder.is_dir():
        raise VideoReadError(folder, "expected a folder of frame images")
    files = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in FRAME_EXTENSIONS]
    return sorted(files, key=_natural_key)


def to_uint8(frame: np.ndarray) -> np.ndarray:
    """Convert one decoded image to uint8 grey ``(H, W)`` or BGR ``(H, W, 3)``.

    16-bit images are scaled to 8 bits (``round(v / 257)``, so 65535 becomes 255), an alpha
    channel is dropped, and single-channel images with a trailing axis of length 1 are squeezed.

    Parameters
    ----------
    frame : ndarray
        uint8 or uint16 image of shape ``(H, W)``, ``(H, W, 1)``, ``(H, W, 3)`` (BGR) or
        ``(H, W, 4)`` (BGRA).

    Returns
    -------
    ndarray of uint8

    Raises
    ------
    ValueError
        For any other dtype or shape.
    """
    frame = np.asarray(frame)
    if frame.dtype == np.uint16:
        frame = ((frame.astype(np.uint32) + 128) // 257).astype(np.uint8)
    elif frame.dtype != np.uint8:
        raise ValueError(f"frames must be uint8 or uint16; got {frame.dtype}")
    if frame.ndim == 3 and frame.shape[2] == 1:
        frame = frame[:, :, 0]
    elif frame.ndim == 3 and frame.shape[2] == 4:
        frame = frame[:, :, :3]
    if not (frame.ndim == 2 or (frame.ndim == 3 and frame.shape[2] == 3)):
        raise ValueError(f"frames must be (H, W), (H, W, 3) or (H, W, 4); got shape {frame.shape}")
    return np.ascontiguousarray(frame)


class FrameStream:
    """Frames of one source, yielded one at a time as uint8 grey ``(H, W)`` or BGR ``(H, W, 3)``.

    Build it with :func:`open_video`. Iterating starts a fresh pass over the source each time.

    Attributes
    ----------
    path : str
        The file or folder (``"<array>"`` for an array source).
    fps : float
        Frame rate: the container's for video files (``DEFAULT_FPS`` if it has none), otherwise
        the one given to :func:`open_video` or ``DEFAULT_FPS``.
    n_frames_hint : int or None
        Frame count declared by the container (may be wrong), or the exact count for folders and
        arrays; None when unknown.
    n_frames : int or None
        Frames actually yielded by the last complete pass (exact for folders and arrays from the
        start); None before a video file has been read to the end.
    """

    def __init__(self, *, kind: str, path: str, fps: float, n_frames_hint: int | None,
                 files: list[pathlib.Path] | None = None, array: np.ndarray | None = None):
        self._kind = kind
        self._files = files
        self._array = array
        self.path = path
        self.fps = float(fps)
        self.n_frames_hint = n_frames_hint
        self.n_frames = None if kind == "video" else n_frames_hint

    def __repr__(self) -> str:
        return (f"FrameStream(path={self.path!r}, fps={self.fps:.3f}, "
                f"n_frames_hint={self.n_frames_hint}, n_frames={self.n_frames})")

    def __iter__(self) -> Iterator[np.ndarray]:
        if self._kind == "video":
            return self._iter_video()
        if self._kind == "folder":
            return self._iter_folder()
        return (to_uint8(frame) for frame in self._array)

    def _iter_video(self) -> Iterator[np.ndarray]:
        capture = _open_capture(self.path)
        count = 0
        try:
            while True:
                ok, frame = capture.read()
                if not ok or frame is None:
                    break
                count += 1
                yield to_uint8(frame)
        finally:
            capture.release()
        if count == 0:
            raise VideoReadError(self.path, "expected a video with at least one decodable frame")
        hint = self.n_frames_hint
        if hint is not None and hint - count > max(5, TRUNCATION_TOLERANCE * hint):
            raise VideoReadError(
                self.path,
                f"only {count} of the {hint} frames the file declares could be decoded; "
                "expected a complete video (the file looks truncated or corrupt)",
            )
        self.n_frames = count

    def _iter_folder(self) -> Iterator[np.ndarray]:
        for file in self._files:
            image = cv2.imread(str(file), cv2.IMREAD_UNCHANGED)
            if image is None:
                raise VideoReadError(file, "expected a readable image (png, jpg or bmp)")
            try:
                yield to_uint8(image)
            except ValueError as exc:
                raise VideoReadError(file, f"unsupported image: {exc}") from exc


#: What a readable source is, for error messages.
_EXPECTED = ("expected a video in a container FFmpeg decodes (mp4, avi, mov, mkv, webm, flv, "
             f"...), a frame image ({', '.join(FRAME_EXTENSIONS)}) or a folder of frame images")


def _backend() -> tuple[int, str]:
    """OpenCV's FFmpeg backend where this build has it, else any backend; and its description."""
    if cv2.videoio_registry.hasBackend(cv2.CAP_FFMPEG):
        return cv2.CAP_FFMPEG, "OpenCV's FFmpeg backend (cv2.VideoCapture with cv2.CAP_FFMPEG)"
    return cv2.CAP_ANY, "OpenCV's video backends (this OpenCV build has no FFmpeg)"


def _open_capture(path: str) -> cv2.VideoCapture:
    backend, tried = _backend()
    capture = cv2.VideoCapture(path, backend)
    if not capture.isOpened():
        capture.release()
        raise VideoReadError(path, f"{tried} cannot open this file; {_EXPECTED}")
    return capture


def _is_text(path: str) -> bool:
    """Whether the first 4 KiB of a file are UTF-8 text (no control bytes but tabs, newlines,
    backspace and ESC)."""
    with open(path, "rb") as file:
        head = file.read(4096)
    if any(b < 0x20 and b not in b"\t\n\r\f\b\x1b" for b in head):
        return False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _probe_video(path: str) -> tuple[float, int | None]:
    """Open a video, decode its first frame, and return (fps, declared frame count)."""
    try:
        empty, text = os.path.getsize(path) == 0, _is_text(path)
    except OSError as exc:
        raise VideoReadError(path, f"the file cannot be read ({exc.strerror}); "
                                   f"{_EXPECTED}") from exc
    if empty:
        raise VideoReadError(path, f"the file is empty; {_EXPECTED}")
    if text:
        raise VideoReadError(path, f"this is a text file, not a video; {_EXPECTED}")
    capture = _open_capture(path)
    try:
        ok, frame = capture.read()
        if not ok or frame is None:
            raise VideoReadError(path, f"{_backend()[1]} opened this file but decoded no "
                                       f"frame; {_EXPECTED}")
        fps = capture.get(cv2.CAP_PROP_FPS)
        count = capture.get(cv2.CAP_PROP_FRAME_COUNT)
    finally:
        capture.release()
    fps = float(fps) if np.isfinite(fps) and fps > 0 else DEFAULT_FPS
    count = int(count) if np.isfinite(count) and count > 0 else None
    return fps, count


def _image_file(file: str | os.PathLike) -> pathlib.Path:
    """``file`` as a Path, after checking that it is an existing frame image."""
    path = pathlib.Path(file)
    if path.suffix.lower() not in FRAME_EXTENSIONS or not path.is_file():
        raise VideoReadError(path, "expected an existing frame image "
                             f"({', '.join(FRAME_EXTENSIONS)})")
    return path


def open_video(source: str | os.PathLike | np.ndarray | list | tuple, *,
               fps: float | None = None) -> FrameStream:
    """Open a video file, a folder of frames, a list of frame images, or an array of frames.

    Parameters
    ----------
    source : str, path-like, list, tuple or ndarray
        A video file (any container FFmpeg decodes, whatever its suffix), a frame image or a
        folder of frame images (suffixes in :data:`FRAME_EXTENSIONS`, sorted numerically), a list
        or tuple of image files read in the order given (``FrameStream.path`` is then the first),
        or an array ``[N, H, W]`` (grey) or ``[N, H, W, 3]`` (BGR) of uint8 (or uint16, scaled to
        8 bits).
    fps : float, optional
        Frame rate of a folder or array (default :data:`DEFAULT_FPS`); for a video file it
        overrides the container's value.

    Returns
    -------
    FrameStream

    Raises
    ------
    VideoReadError
        If the path is missing, is an empty, text or undecodable file (the message says what was
        tried), or is a folder without frame images; if a list is empty or names a missing or
        non-image file; or if an array holds no frames.
    ValueError
        If ``fps`` is not positive, or an array has the wrong shape or dtype.
    """
    if fps is not None and not (np.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number; got {fps}")
    if isinstance(source, np.ndarray):
        if source.ndim not in (3, 4) or (source.ndim == 4 and source.shape[3] not in (1, 3, 4)):
            raise ValueError(f"a frame array must be [N, H, W] or [N, H, W, 3]; "
                             f"got shape {source.shape}")
        if source.dtype not in (np.uint8, np.uint16):
            raise ValueError(f"a frame array must be uint8 or uint16; got {source.dtype}")
        if source.shape[0] == 0 or source.shape[1] == 0 or source.shape[2] == 0:
            raise VideoReadError("<array>", f"expected at least one non-empty frame; "
                                 f"got shape {source.shape}")
        return FrameStream(kind="array", path="<array>", fps=fps or DEFAULT_FPS,
                           n_frames_hint=int(source.shape[0]), array=source)
    if isinstance(source, (list, tuple)):
        files = [_image_file(f) for f in source]
        if not files:
            raise VideoReadError(None, "expected at least one frame image in the list of files")
        return FrameStream(kind="folder", path=str(files[0]), fps=fps or DEFAULT_FPS,
                           n_frames_hint=len(files), files=files)
    path = pathlib.Path(source)
    if path.is_dir():
        files = list_frame_files(path)
        if not files:
            raise VideoReadError(path, "the folder holds no frame images; expected files ending in "
                                       f"{', '.join(FRAME_EXTENSIONS)}")
        return FrameStream(kind="folder", path=str(path), fps=fps or DEFAULT_FPS,
                           n_frames_hint=len(files), files=files)
    if not path.exists():
        raise VideoReadError(path, f"no such file or folder; {_EXPECTED}")
    if path.suffix.lower() in FRAME_EXTENSIONS:
        return FrameStream(kind="folder", path=str(path), fps=fps or DEFAULT_FPS,
                           n_frames_hint=1, files=[path])
    container_fps, count = _probe_video(str(path))
    return FrameStream(kind="video", path=str(path), fps=fps or container_fps, n_frames_hint=count)
