"""The 68 facial landmarks from dlib's shape predictor (iBUG 300-W model, research use only)."""

from __future__ import annotations

import dlib
import numpy as np

from .models import load_shape_predictor

__all__ = ["fit_landmarks"]


def fit_landmarks(grey: np.ndarray, box: np.ndarray) -> np.ndarray:
    """Fit the 68 iBUG landmarks inside a face box.

    Parameters
    ----------
    grey : ndarray of uint8, shape (H, W)
        Full-resolution grey frame.
    box : ndarray, shape (4,) or more
        ``left, top, right, bottom`` of the face in pixels, as the dlib detector draws it (the
        predictor was trained on such boxes); extra entries are ignored.

    Returns
    -------
    ndarray of float64, shape (68, 2)
        ``x, y`` of each landmark in frame pixels, in the iBUG 68-point order.
    """
    left, top, right, bottom = (int(round(float(v))) for v in box[:4])
    shape = load_shape_predictor(68)(grey, dlib.rectangle(left, top, right - 1, bottom - 1))
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)
