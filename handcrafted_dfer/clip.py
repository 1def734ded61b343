"""The value object that leaves the preprocessing stage."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from .errors import VideoReadError

__all__ = ["AlignedClip"]


@dataclass(frozen=True, eq=False)
class AlignedClip:
    """An aligned, temporally normalized grey face clip.

    Parameters
    ----------
    frames : ndarray of uint8, shape (T, S, S)
        Aligned grey face crops.
    landmarks : ndarray of float32, shape (T, 68, 2)
        The 68 landmarks as (x, y) in the crop's pixel coordinates. When ``has_landmarks`` is
        False they were not measured: every frame holds the canonical face scaled to the crop.
    valid : ndarray of bool, shape (T,)
        True where the face was detected, tracked, or interpolated across a short gap (at most
        ``PreprocessConfig.max_gap`` frames); False where the frame is a copy of the nearest
        valid one because no face was found for longer than that.
    fps : float
        Frame rate of the source (before temporal normalization).
    source : str
        The video file or frame folder the clip came from.
    has_landmarks : bool
        False when the frames were given already aligned (``PreprocessConfig(faces="aligned")``)
        and no landmark was measured: landmark-dependent outputs (block names, heatmaps) must say
        "no landmarks" instead of reading ``landmarks``.
    """

    frames: np.ndarray
    landmarks: np.ndarray
    valid: np.ndarray
    fps: float
    source: str
    has_landmarks: bool = True

    def __post_init__(self):
        frames = np.asarray(self.frames)
        if frames.ndim != 3 or frames.dtype != np.uint8 or frames.shape[1] != frames.shape[2]:
            raise ValueError(
                f"AlignedClip.frames must be uint8 of shape (T, S, S); got {frames.dtype} "
                f"{frames.shape}"
            )
        t = frames.shape[0]
        landmarks = np.asarray(self.landmarks, dtype=np.float32)
        valid = np.asarray(self.valid, dtype=bool)
        if landmarks.shape != (t, 68, 2):
            raise ValueError(f"AlignedClip.landmarks must have shape ({t}, 68, 2); "
                             f"got {landmarks.shape}")
        if valid.shape != (t,):
            raise ValueError(f"AlignedClip.valid must have shape ({t},); got {valid.shape}")
        object.__setattr__(self, "frames", frames)
        object.__setattr__(self, "landmarks", landmarks)
        object.__setattr__(self, "valid", valid)
        object.__setattr__(self, "fps", float(self.fps))
        object.__setattr__(self, "source", str(self.source))
        object.__setattr__(self, "has_landmarks", bool(self.has_landmarks))

    @property
    def n_frames(self) -> int:
        """Number of frames T."""
        return self.frames.shape[0]

    @property
    def size(self) -> int:
        """Side S of the square crop."""
        return self.frames.shape[1]

    def save(self, path: str | os.PathLike) -> None:
        """Write the clip to ``path`` exactly (a compressed ``.npz`` archive, whatever the name)."""
        with open(path, "wb") as file:
            np.savez_compressed(
                file,
                frames=self.frames,
                landmarks=self.landmarks,
                valid=self.valid,
                fps=np.float64(self.fps),
                source=np.str_(self.source),
                has_landmarks=np.bool_(self.has_landmarks),
            )

    @classmethod
    def load(cls, path: str | os.PathLike) -> "AlignedClip":
        """Read a clip written by :meth:`save` (files without ``has_landmarks`` have landmarks).

        Raises
        ------
        VideoReadError
            If the file is missing, not an ``.npz`` archive (or a damaged one), or lacks a field.
        """
        try:
            with np.load(path, allow_pickle=False) as data:
                return cls(
                    frames=data["frames"],
                    landmarks=data["landmarks"],
                    valid=data["valid"],
                    fps=float(data["fps"]),
                    source=str(data["source"]),
                    has_landmarks=bool(data["has_landmarks"]) if "has_landmarks" in data
                    else True,
                )
        except Exception as exc:  # zipfile, zlib and numpy raise many types for damaged files
            raise VideoReadError(
                path, f"expected an AlignedClip .npz (frames, landmarks, valid, fps, source): {exc}"
            ) from exc
