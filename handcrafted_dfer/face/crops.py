"""Frames that already hold a face: fit landmarks inside a face crop, or resize an aligned face.

Many datasets ship face crops (CK+48's 48 x 48 faces, DFEW's 224 x 224 frames) instead of scenes.
A crop is too small and too tight for the scene detector, so :func:`fit_crop_landmarks` enlarges
small crops to :data:`CROP_MIN_SIDE` pixels, pads them with their own border, looks for the face
there (its box gives the landmark model the framing it was trained on, whatever the crop's
margins), and falls back to the crop's own box where the detector finds nothing.
"""

from __future__ import annotations

import cv2
import numpy as np

from .detect import detect_scaled
from .landmarks import fit_landmarks

__all__ = ["CROP_MIN_SIDE", "CROP_PAD", "fit_crop_landmarks", "resize_face"]

#: Crops whose shorter side is below this are enlarged to it (bicubic) before the landmark fit.
CROP_MIN_SIDE = 160
#: Border added on each side of a crop before detection, as a fraction of its longer side.
CROP_PAD = 0.25
#: A detection is the crop's face if at least this fraction of it lies inside the crop and its
#: side is at least this fraction of the crop's shorter side (the largest such one is used).
MIN_INSIDE, MIN_SIDE_FRACTION = 0.5, 0.3


def fit_crop_landmarks(grey: np.ndarray, *, detector: str = "hog") -> np.ndarray:
    """The 68 landmarks of the face that fills a crop.

    Parameters
    ----------
    grey : ndarray of uint8, shape (H, W)
        A face crop.
    detector : {"hog", "cnn"}
        The dlib detector that places the face box inside the crop.

    Returns
    -------
    ndarray of float64, shape (68, 2)
        ``x, y`` of each landmark in the crop's pixels.
    """
    height, width = grey.shape
    scale = max(1.0, CROP_MIN_SIDE / min(height, width))
    work = grey if scale == 1.0 else cv2.resize(
        grey, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_CUBIC)
    pad = round(CROP_PAD * max(work.shape))
    padded = cv2.copyMakeBorder(work, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    own = np.array([pad, pad, pad + work.shape[1], pad + work.shape[0]], dtype=np.float64)
    boxes = detect_scaled(padded, scale=min(1.0, CROP_MIN_SIDE / min(work.shape)),
                          detector=detector)
    box = own
    faces = [b for b in boxes if _inside(b, own) >= MIN_INSIDE
             and b[2] - b[0] >= MIN_SIDE_FRACTION * min(work.shape)]
    if faces:
        box = max(faces, key=lambda b: b[2] - b[0])
    landmarks = fit_landmarks(padded, box) - pad
    return landmarks * [width / work.shape[1], height / work.shape[0]]


def _inside(box: np.ndarray, frame: np.ndarray) -> float:
    """Fraction of ``box`` that lies inside ``frame`` (both ``left, top, right, bottom``)."""
    w = min(box[2], frame[2]) - max(box[0], frame[0])
    h = min(box[3], frame[3]) - max(box[1], frame[1])
    return max(w, 0.0) * max(h, 0.0) / max((box[2] - box[0]) * (box[3] - box[1]), 1e-9)


def resize_face(grey: np.ndarray, *, size: int) -> np.ndarray:
    """An aligned face resized to ``size x size`` (area averaging when it has fewer pixels after,
    bilinear otherwise)."""
    height, width = grey.shape
    interpolation = cv2.INTER_AREA if size * size <= height * width else cv2.INTER_LINEAR
    return cv2.resize(grey, (size, size), interpolation=interpolation)
