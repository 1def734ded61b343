"""Frozen configuration objects; their hash names cache entries."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass
from typing import ClassVar

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
        Frames are first searched for faces on a copy reduced to this width (landmarks use full
        resolution); this fast pass finds faces of about ``80 * W / detect_width`` pixels and more.
    redetect_every : int
        Run the detector at least every this many frames while tracking (and, while no face is
        followed, search for small faces at least every this many frames).
    max_gap : int
        Longest run of frames without a face that is filled by interpolating landmarks; longer
        runs are marked invalid.
    min_valid_fraction : float
        A clip with fewer valid frames than this fraction raises :class:`NoFaceError`.
    faces : {"detect", "cropped", "aligned"}
        What the frames hold. ``"detect"``: whole scenes; the face is found, tracked and aligned.
        ``"cropped"``: every frame is already a face crop; the 68 landmarks are fitted inside it
        (small crops upscaled first) and the face is aligned as usual. ``"aligned"``: every frame
        is an aligned face; it is only resized to ``size x size`` and the clip has no measured
        landmarks (``AlignedClip.has_landmarks`` is False).
    min_face : int
        Smallest face width, in frame pixels, that ``"detect"`` finds. Where the fast pass finds
        nothing, and at every re-detection of a followed face, the detector runs at full
        resolution, upsampled as much as this needs (dlib's detectors find faces of about 80
        pixels: 40 needs twice the frame's size, four times its pixels).
    detector : {"hog", "cnn"}
        dlib's HOG frontal face detector (fast), or its CNN detector
        (``mmod_human_face_detector.dat``; finds turned and partly hidden faces; each detection
        is about 90 times slower on one core, so preprocessing is about 7 times slower).
    crop_side : float
        Side of the aligned crop in units of the canonical detector box (1.1: from the eyebrows
        to just under the chin; smaller is tighter).
    crop_centre : (float, float)
        Centre ``(x, y)`` of the aligned crop in canonical detector-box units (the box is
        ``[0, 1] x [0, 1]``, y down; the eyes are near y = 0.31, the mouth near y = 0.72).
    """

    #: The accepted values of ``faces``.
    FACE_MODES: ClassVar[tuple[str, ...]] = ("detect", "cropped", "aligned")
    #: The accepted values of ``detector``.
    DETECTORS: ClassVar[tuple[str, ...]] = ("hog", "cnn")

    size: int = 96
    frames: int = 16
    clahe: bool = False
    detect_width: int = 320
    redetect_every: int = 10
    max_gap: int = 5
    min_valid_fraction: float = 0.1
    faces: str = "detect"
    min_face: int = 40
    detector: str = "hog"
    crop_side: float = 1.1
    crop_centre: tuple[float, float] = (0.5, 0.57)

    def __post_init__(self):
        if self.faces not in self.FACE_MODES:
            raise ValueError(f"faces must be one of {', '.join(self.FACE_MODES)}; "
                             f"got {self.faces!r}")
        if self.detector not in self.DETECTORS:
            raise ValueError(f"detector must be one of {', '.join(self.DETECTORS)}; "
                             f"got {self.detector!r}")
        if isinstance(self.min_face, bool) or not isinstance(self.min_face, int) \
                or self.min_face < 20:
            raise ValueError("min_face must be an integer of at least 20 pixels (smaller faces "
                             f"hold too little detail for 68 landmarks); got {self.min_face!r}")
        if not (math.isfinite(self.crop_side) and 0.3 <= self.crop_side <= 4.0):
            raise ValueError(f"crop_side must be between 0.3 and 4 detector-box units; "
                             f"got {self.crop_side!r}")
        centre = tuple(float(v) for v in self.crop_centre)
        if len(centre) != 2 or not all(math.isfinite(v) and -1.0 <= v <= 2.0 for v in centre):
            raise ValueError("crop_centre must be two numbers (x, y) between -1 and 2 "
                             f"detector-box units; got {self.crop_centre!r}")
        object.__setattr__(self, "crop_side", float(self.crop_side))
        object.__setattr__(self, "crop_centre", centre)


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
