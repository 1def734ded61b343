"""Face detection with the dlib HOG frontal face detector on a downscaled frame."""

from __future__ import annotations

import cv2
import numpy as np

from .models import load_detector

__all__ = ["detect_faces", "choose_face", "box_iou"]


def detect_faces(grey: np.ndarray, *, detect_width: int = 320, upsample: int = 0) -> np.ndarray:
    """Find frontal faces with dlib's HOG detector, run on a copy scaled to ``detect_width``.

    Parameters
    ----------
    grey : ndarray of uint8, shape (H, W)
        The full-resolution grey frame.
    detect_width : int
        Width the frame is reduced to before detection (frames narrower than this are used as
        they are). The detector finds faces of about 80 pixels and more at this width.
    upsample : int
        dlib's pyramid upsampling count (each step doubles the size and quadruples the cost).

    Returns
    -------
    ndarray of float64, shape (n, 5)
        One row per face: ``left, top, right, bottom`` in full-resolution pixels, and the
        detector's score. Sorted by decreasing score.
    """
    if detect_width < 16:
        raise ValueError(f"detect_width must be at least 16 pixels; got {detect_width}")
    height, width = grey.shape
    scale = min(1.0, detect_width / width)
    small = grey if scale == 1.0 else cv2.resize(
        grey, (max(1, round(width * scale)), max(1, round(height * scale))),
        interpolation=cv2.INTER_AREA)
    rects, scores, _ = load_detector().run(small, upsample, 0.0)
    boxes = np.array([[r.left(), r.top(), r.right() + 1, r.bottom() + 1, s]
                      for r, s in zip(rects, scores)], dtype=np.float64).reshape(-1, 5)
    boxes[:, :4] /= scale
    return boxes[np.argsort(-boxes[:, 4], kind="stable")]


def box_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two boxes ``left, top, right, bottom``."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(w, 0.0) * max(h, 0.0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def choose_face(boxes: np.ndarray, frame_shape: tuple[int, int], *,
                previous: np.ndarray | None = None) -> int | None:
    """Pick the face to follow among several detections.

    With a ``previous`` box, the detection overlapping it most (IoU at least 0.3) is kept, so a
    track does not jump between people. Otherwise the score is the box area weighted down
    linearly with its centre's distance from the frame centre (by half at a corner): the largest,
    most central face wins.

    Parameters
    ----------
    boxes : ndarray, shape (n, 4) or (n, 5)
        ``left, top, right, bottom`` (and optionally a score, ignored here).
    frame_shape : (int, int)
        Height and width of the frame.
    previous : ndarray of shape (4,), optional
        The box of the face followed so far.

    Returns
    -------
    int or None
        Row index into ``boxes``, or None when ``boxes`` is empty.
    """
    if len(boxes) == 0:
        return None
    if previous is not None:
        overlaps = [box_iou(b, previous) for b in boxes]
        best = int(np.argmax(overlaps))
        if overlaps[best] >= 0.3:
            return best
    height, width = frame_shape
    centres = np.stack([(boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2], axis=1)
    distance = (np.hypot(centres[:, 0] - width / 2, centres[:, 1] - height / 2)
                / np.hypot(width / 2, height / 2))
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return int(np.argmax(area * (1.0 - 0.5 * np.minimum(distance, 1.0))))
