"""Frozen configuration objects; their hash names cache entries."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass

__all__ = ["PreprocessConfig", "config_hash"]


@dataclass(frozen=True)
class PreprocessConfig:
    """How a video becomes an :class:`~handcrafted_dfer.clip.AlignedClip`.

    Parameters
    ----------
    size : int
        Side S of the square aligned face crop, in pixels.
    frames : int
        Number T of frames after temporal normalisation.
    clahe : bool
        Apply CLAHE contrast equalisation to the aligned grey crop.
    detect_width : int
        Frames are downscaled to this width before face detection (landmarks use full resolution).
    redetect_every : int
        Run the detector at least every this many frames while tracking.
    max_gap : int
        Longest run of frames without a face that is filled by interpolating landmarks; longer
        runs are marked invalid.
    min_valid_fraction : float
        A clip with fewer valid frames than this fraction raises :class:`NoFaceError`.
    """

    size: int = 96
    frames: int = 16
    clahe: bool = False
    detect_width: int = 320
    redetect_every: int = 10
    max_gap: int = 5
    min_valid_fraction: float = 0.1


def config_hash(*objects) -> str:
    """Stable short hash of dataclasses, dicts, and plain values (for cache keys).

    Parameters
    ----------
    *objects
        Dataclass instances or JSON-serialisable values.

    Returns
    -------
    str
        16 hexadecimal characters.
    """

    def plain(o):
        if dataclasses.is_dataclass(o) and not isinstance(o, type):
            return {"__class__": type(o).__name__, **dataclasses.asdict(o)}
        return o

    text = json.dumps([plain(o) for o in objects], sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
