"""Frames that already hold a face: fit landmarks inside a face crop, or resize an aligned face.

An aligned face is taken to show the canonical crop of the defaults (:data:`~.align.CROP_SIDE`
box units centred on :data:`~.align.CROP_CENTRE`), so that ``PreprocessConfig.crop_side`` and
``crop_centre`` mean the same box for aligned frames as for detected ones: a smaller side cuts the
frame's border (hair, background, burned-in text) before it is resized.

Many datasets ship face crops (CK+48's 48 x 48 faces, DFEW's 224 x 224 frames) instead of scenes.
A crop is too small and too tight for the scene detector, so :func:`fit_crop_landmarks` enlarges
small crops to :data:`CROP_MIN_SIDE` pixels, pads them with their own border, looks for the face
there (its box gives the landmark model the framing it was trained on, whatever the crop's
margins), and falls back to the crop's own box where the detector finds nothing.
"""

from __future__ import annotations

import cv2
import numpy as np

from .align import CROP_CENTRE, CROP_SIDE
from .detect import detect_scaled
from .landmarks import fit_landmarks

__all__ = ["CROP_MIN_SIDE", "CROP_PAD", "fit_crop_landmarks", "resize_face", "recrop_aligned"]

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


def recrop_aligned(grey: np.ndarray, *, size: int, crop_side: float = CROP_SIDE,
                   crop_centre: tuple[float, float] = CROP_CENTRE) -> np.ndarray:
    """An aligned face cut to the crop box ``crop_side``/``crop_centre`` and resized.

    The frame is taken as the default canonical crop (see the module docstring); the box's
    window in it is cut (padded with the frame's border where it reaches outside) and resized to
    ``size x size``. With the default box this is :func:`resize_face`.

    Parameters
    ----------
    grey : ndarray of uint8, shape (H, W)
    size : int
    crop_side : float
        Side of the wanted crop, in canonical detector-box units.
    crop_centre : (float, float)
        Its centre, in canonical detector-box units.

    Returns
    -------
    ndarray of uint8, shape (size, size)
    """
    if crop_side == CROP_SIDE and tuple(crop_centre) == tuple(CROP_CENTRE):
        return resize_face(grey, size=size)
    height, width = grey.shape
    fraction = crop_side / CROP_SIDE
    centre = [0.5 + (c - d) / CROP_SIDE for c, d in zip(crop_centre, CROP_CENTRE)]
    x0 = round((centre[0] - fraction / 2) * width)
    y0 = round((centre[1] - fraction / 2) * height)
    x1 = x0 + max(1, round(fraction * width))
    y1 = y0 + max(1, round(fraction * height))
    pad = max(0, -x0, -y0, x1 - width, y1 - height)
    padded = cv2.copyMakeBorder(grey, pad, pad, pad, pad, cv2.BORDER_REPLICATE) if pad else grey
    return resize_face(padded[y0 + pad:y1 + pad, x0 + pad:x1 + pad], size=size)
