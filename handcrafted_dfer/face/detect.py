"""Face detection with dlib's detectors (HOG or CNN), at the scale the faces need.

dlib's detectors slide a window of about 80 x 80 pixels over an image pyramid that only shrinks
the image, so they find faces of about :data:`DETECTOR_MIN_FACE` pixels and more in the image
they are given; a face of ``f`` pixels needs the image scaled by ``80 / f`` (each dlib upsampling
step doubles the image and halves the smallest face). :class:`FaceFinder` picks the scale for the
three jobs of the tracker:

- ``fast``: the whole frame reduced to ``detect_width`` (faces of ``80 * W / detect_width``
  pixels and more; about 3 ms on a 640x360 frame);
- ``small``: the whole frame scaled by ``80 / min_face`` (every face down to ``min_face``; with
  ``min_face`` 40 the frame is doubled, 15 times the cost of ``fast``), used only where ``fast``
  finds nothing;
- ``around``: a region of twice a known face's box, at full resolution, scaled so that the face is
  :data:`AROUND_FACTOR` times the smallest findable face (120 pixels): the same cost (a 240 x 240
  image) whatever the face's size, to re-detect a followed face.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..config import PreprocessConfig
from .models import load_cnn_detector, load_detector

__all__ = [
    "DETECTOR_MIN_FACE",
    "AROUND_FACTOR",
    "detect_faces",
    "detect_scaled",
    "FaceFinder",
    "choose_face",
    "box_iou",
]

#: Smallest face (detector box side, pixels) each dlib detector finds reliably in its input:
#: measured on faces of the project's test videos shrunk step by step, both detectors find every
#: face of 70 pixels and more, some of 60, none of 45.
DETECTOR_MIN_FACE = {"hog": 80, "cnn": 80}
#: A followed face is scaled to this many times the smallest findable face for its re-detection
#: (so it may shrink by a third between two re-detections and still be found).
AROUND_FACTOR = 1.5
#: The CNN detector draws tighter, higher boxes than the HOG detector the landmark model was
#: trained on. Measured on 31 frames of the project's test videos where both found one face: the
#: HOG box is the CNN box scaled by 1.12 about its centre and moved down by 0.10 of its side.
CNN_TO_HOG_SCALE, CNN_TO_HOG_SHIFT = 1.12, 0.10


def _run(image: np.ndarray, detector: str, upsample: int) -> np.ndarray:
    """Boxes ``left, top, right, bottom, score`` of one detector run, in ``image`` pixels."""
    if detector == "hog":
        rects, scores, _ = load_detector().run(image, upsample, 0.0)
        boxes = [[r.left(), r.top(), r.right() + 1, r.bottom() + 1, s]
                 for r, s in zip(rects, scores)]
        return np.array(boxes, dtype=np.float64).reshape(-1, 5)
    if detector != "cnn":
        raise ValueError(f"detector must be one of {', '.join(PreprocessConfig.DETECTORS)}; "
                         f"got {detector!r}")
    found = load_cnn_detector()(image, upsample)
    boxes = np.array([[d.rect.left(), d.rect.top(), d.rect.right() + 1, d.rect.bottom() + 1,
                       d.confidence] for d in found], dtype=np.float64).reshape(-1, 5)
    side = (boxes[:, 2] - boxes[:, 0]) * CNN_TO_HOG_SCALE
    cx = (boxes[:, 0] + boxes[:, 2]) / 2
    cy = (boxes[:, 1] + boxes[:, 3]) / 2 + CNN_TO_HOG_SHIFT * (boxes[:, 2] - boxes[:, 0])
    boxes[:, :4] = np.stack([cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2], axis=1)
    return boxes


def detect_scaled(grey: np.ndarray, *, scale: float, region: np.ndarray | None = None,
                  detector: str = "hog", upsample: int = 0) -> np.ndarray:
    """Run a dlib detector on a frame (or a region of it) resized by ``scale``.

    Parameters
    ----------
    grey : ndarray of uint8, shape (H, W)
        The full-resolution grey frame.
    scale : float
        Resize factor applied before detection (below 1 shrinks with area averaging, above 1
        enlarges bilinearly).
    region : ndarray of shape (4,), optional
        ``left, top, right, bottom`` in frame pixels (clipped to the frame); the whole frame when
        None.
    detector : {"hog", "cnn"}
    upsample : int
        dlib's own pyramid upsampling count, on top of ``scale``.

    Returns
    -------
    ndarray of float64, shape (n, 5)
        One row per face: ``left, top, right, bottom`` in full-resolution frame pixels, and the
        detector's score. Sorted by decreasing score.
    """
    if not scale > 0:
        raise ValueError(f"scale must be positive; got {scale}")
    height, width = grey.shape
    if region is None:
        left, top, right, bottom = 0, 0, width, height
    else:
        left, top = max(0, int(np.floor(region[0]))), max(0, int(np.floor(region[1])))
        right, bottom = min(width, int(np.ceil(region[2]))), min(height, int(np.ceil(region[3])))
    if right - left < 8 or bottom - top < 8:
        return np.empty((0, 5))
    part = grey[top:bottom, left:right]
    size = (max(1, round((right - left) * scale)), max(1, round((bottom - top) * scale)))
    if size != (right - left, bottom - top):
        part = cv2.resize(part, size, interpolation=cv2.INTER_AREA if scale < 1
                          else cv2.INTER_LINEAR)
    boxes = _run(np.ascontiguousarray(part), detector, upsample)
    boxes[:, [0, 2]] = boxes[:, [0, 2]] * ((right - left) / size[0]) + left
    boxes[:, [1, 3]] = boxes[:, [1, 3]] * ((bottom - top) / size[1]) + top
    return boxes[np.argsort(-boxes[:, 4], kind="stable")]


def detect_faces(grey: np.ndarray, *, detect_width: int = 320, upsample: int = 0,
                 detector: str = "hog") -> np.ndarray:
    """Find faces with a dlib detector, run on a copy scaled to ``detect_width``.

    Parameters
    ----------
    grey : ndarray of uint8, shape (H, W)
        The full-resolution grey frame.
    detect_width : int
        Width the frame is reduced to before detection (frames narrower than this are used as
        they are). The detector finds faces of about 80 pixels and more at this width.
    upsample : int
        dlib's pyramid upsampling count (each step doubles the size and quadruples the cost).
    detector : {"hog", "cnn"}

    Returns
    -------
    ndarray of float64, shape (n, 5)
        As :func:`detect_scaled`.
    """
    if detect_width < 16:
        raise ValueError(f"detect_width must be at least 16 pixels; got {detect_width}")
    return detect_scaled(grey, scale=min(1.0, detect_width / grey.shape[1]), detector=detector,
                         upsample=upsample)


@dataclass(frozen=True)
class FaceFinder:
    """Where and at which scale to look for faces (see the module docstring).

    Parameters
    ----------
    detect_width : int
        Width of the reduced copy of the fast pass.
    min_face : int
        Smallest face width, in frame pixels, that :meth:`small` finds.
    detector : {"hog", "cnn"}
    """

    detect_width: int = 320
    min_face: int = 40
    detector: str = "hog"

    def __post_init__(self):
        if self.detect_width < 16:
            raise ValueError(f"detect_width must be at least 16 pixels; got {self.detect_width}")
        if self.min_face < 1:
            raise ValueError(f"min_face must be at least 1 pixel; got {self.min_face}")
        if self.detector not in DETECTOR_MIN_FACE:
            raise ValueError(f"detector must be one of {', '.join(DETECTOR_MIN_FACE)}; "
                             f"got {self.detector!r}")

    @classmethod
    def from_config(cls, config: PreprocessConfig) -> "FaceFinder":
        """The finder a :class:`~handcrafted_dfer.config.PreprocessConfig` describes."""
        return cls(detect_width=config.detect_width, min_face=config.min_face,
                   detector=config.detector)

    def fast_scale(self, width: int) -> float:
        """Scale of the fast pass for frames ``width`` pixels wide."""
        return min(1.0, self.detect_width / width)

    def small_scale(self) -> float:
        """Scale at which faces of ``min_face`` pixels become findable."""
        return DETECTOR_MIN_FACE[self.detector] / self.min_face

    def needs_small(self, width: int) -> bool:
        """Whether faces of ``min_face`` pixels escape the fast pass on frames this wide."""
        return self.small_scale() > self.fast_scale(width) * (1 + 1e-9)

    def fast(self, grey: np.ndarray) -> np.ndarray:
        """Faces on the reduced copy (boxes as :func:`detect_scaled`)."""
        return detect_scaled(grey, scale=self.fast_scale(grey.shape[1]), detector=self.detector)

    def small(self, grey: np.ndarray) -> np.ndarray:
        """Faces down to ``min_face`` pixels on the whole frame at full resolution, upsampled."""
        return detect_scaled(grey, scale=max(self.small_scale(), self.fast_scale(grey.shape[1])),
                             detector=self.detector)

    def find(self, grey: np.ndarray) -> np.ndarray:
        """The fast pass, then :meth:`small` where it finds nothing."""
        boxes = self.fast(grey)
        if len(boxes) == 0 and self.needs_small(grey.shape[1]):
            boxes = self.small(grey)
        return boxes

    def around(self, grey: np.ndarray, box: np.ndarray) -> np.ndarray:
        """Faces in the region of twice ``box``, at full resolution scaled to the face's size."""
        side = max(float(box[2] - box[0]), float(box[3] - box[1]), 1.0)
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        region = np.array([cx - side, cy - side, cx + side, cy + side])
        scale = AROUND_FACTOR * DETECTOR_MIN_FACE[self.detector] / side
        return detect_scaled(grey, scale=scale, region=region, detector=self.detector)


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
