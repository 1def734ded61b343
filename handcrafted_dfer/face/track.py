"""Follow one face through a stream of frames: detect, track by landmarks, fill short gaps.

Detection (dlib HOG on a downscaled frame) is the expensive step, so it runs only when needed:

- while no face is followed, on every frame;
- while a face is followed, on every ``redetect_every``-th frame, and at once when the landmark
  fit degrades (the 68 points stop looking like a face, or the face's size jumps). In between,
  the 68 landmarks are fitted inside a box predicted from the previous frame's landmarks.

Frames tracked since the last detection are provisional. When a re-detection confirms the face,
they are confirmed too; when it does not (the face left, or was covered), the detector is run on
those buffered frames from the newest backwards, and the frames after the last one where it still
finds the face are marked missing. The track's boundaries are thus where the detector puts them,
at the cost of a few extra detections at each loss.

Missing runs of at most ``max_gap`` frames between two frames with a face get linearly
interpolated landmarks; longer runs, and runs at the start or end of the stream, stay missing.

Everything is a generator over frames with bounded look-back (at most ``redetect_every`` frames
for confirmation and ``max_gap`` for gaps), so a long video is never held in memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from .align import CANONICAL_68, apply_affine, estimate_similarity
from .detect import box_iou, choose_face, detect_faces
from .landmarks import fit_landmarks

__all__ = [
    "MISSING",
    "DETECTED",
    "TRACKED",
    "INTERPOLATED",
    "STATUS_NAMES",
    "TrackedFrame",
    "box_from_landmarks",
    "track_faces",
    "fill_gaps",
]

#: Frame status codes.
MISSING, DETECTED, TRACKED, INTERPOLATED = 0, 1, 2, 3
#: Names of the status codes, indexed by code.
STATUS_NAMES = ("missing", "detected", "tracked", "interpolated")

#: A tracked shape whose similarity fit to the canonical face leaves a root-mean-square residual
#: above this (in detector-box units) counts as a degraded fit and triggers a re-detection. Real
#: faces, turned heads included, stay under about 0.06 on the project's test videos; the shape
#: prior keeps fits on background plausible too, so the periodic re-detection, not this test, is
#: what notices a face that has left.
MAX_SHAPE_RESIDUAL = 0.1
#: A change of the face's size between consecutive frames beyond this factor triggers one too.
MAX_SCALE_CHANGE = 1.25
#: Least overlap (IoU) between a detection and the tracked box for them to be the same face.
MIN_IOU = 0.3


@dataclass
class TrackedFrame:
    """One frame leaving the tracker.

    Attributes
    ----------
    index : int
        Position of the frame in the stream.
    grey : ndarray of uint8, shape (H, W)
    landmarks : ndarray of float64, shape (68, 2), or None
        ``x, y`` in frame pixels; None when the frame is missing a face.
    status : int
        One of MISSING, DETECTED, TRACKED, INTERPOLATED.
    """

    index: int
    grey: np.ndarray
    landmarks: np.ndarray | None
    status: int


def box_from_landmarks(landmarks: np.ndarray) -> tuple[np.ndarray, float]:
    """The detector-style box that the canonical face maps to, and the shape residual.

    Parameters
    ----------
    landmarks : ndarray, shape (68, 2)

    Returns
    -------
    box : ndarray of float64, shape (4,)
        ``left, top, right, bottom`` in pixels.
    residual : float
        Root-mean-square distance between the landmarks and the fitted canonical face, in units
        of the box side (small for a plausible face shape).
    """
    matrix = estimate_similarity(CANONICAL_68, landmarks)
    scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
    residual = float(np.sqrt(
        ((apply_affine(matrix, CANONICAL_68) - landmarks) ** 2).sum(axis=1).mean()))
    cx, cy = apply_affine(matrix, np.array([[0.5, 0.5]]))[0]
    half = scale / 2.0
    box = np.array([cx - half, cy - half, cx + half, cy + half])
    return box, (residual / scale if scale > 1e-9 else np.inf)


def _degraded(box: np.ndarray, residual: float, previous: np.ndarray) -> bool:
    ratio = (box[2] - box[0]) / max(previous[2] - previous[0], 1e-6)
    return residual > MAX_SHAPE_RESIDUAL or not (1 / MAX_SCALE_CHANGE <= ratio <= MAX_SCALE_CHANGE)


def _matching(boxes: np.ndarray, box: np.ndarray) -> int | None:
    if len(boxes) == 0:
        return None
    overlaps = [box_iou(b, box) for b in boxes]
    best = int(np.argmax(overlaps))
    return best if overlaps[best] >= MIN_IOU else None


def track_faces(frames: Iterable[np.ndarray], *, detect_width: int = 320,
                redetect_every: int = 10) -> Iterator[TrackedFrame]:
    """Follow the largest, most central face through grey frames.

    Parameters
    ----------
    frames : iterable of ndarray of uint8, shape (H, W)
        Grey frames, in order.
    detect_width : int
        Width of the copy the detector runs on.
    redetect_every : int
        Re-detect at least every this many frames while following a face (1 detects on every
        frame).

    Yields
    ------
    TrackedFrame
        Every input frame exactly once, in order, with status MISSING, DETECTED or TRACKED.
        Frames are held back (at most ``redetect_every``) until a detection confirms them; the
        last frames of the stream are confirmed by a detection on the very last one.
    """
    if redetect_every < 1:
        raise ValueError(f"redetect_every must be at least 1; got {redetect_every}")
    pending: list[tuple[TrackedFrame, np.ndarray]] = []  # provisional frames and their boxes
    box = None  # box of the followed face, predicted from the last landmarks
    since_detection = 0

    def start(frame: TrackedFrame, boxes: np.ndarray) -> np.ndarray | None:
        choice = choose_face(boxes, frame.grey.shape)
        if choice is None:
            return None
        frame.landmarks = fit_landmarks(frame.grey, boxes[choice])
        frame.status = DETECTED
        return box_from_landmarks(frame.landmarks)[0]

    def lost() -> Iterator[TrackedFrame]:
        """The face was not re-detected: find where it was last seen among the pending frames."""
        keep = 0
        for k in range(len(pending) - 1, -1, -1):
            held, held_box = pending[k]
            if _matching(detect_faces(held.grey, detect_width=detect_width), held_box) is not None:
                keep = k + 1
                break
        for k, (held, _) in enumerate(pending):
            if k >= keep:
                held.landmarks, held.status = None, MISSING
            yield held
        pending.clear()

    for index, grey in enumerate(frames):
        frame = TrackedFrame(index, grey, None, MISSING)
        if box is None:
            box = start(frame, detect_faces(grey, detect_width=detect_width))
            since_detection = 0
            yield frame
            continue
        since_detection += 1
        redetect = since_detection >= redetect_every
        if not redetect:
            landmarks = fit_landmarks(grey, box)
            new_box, residual = box_from_landmarks(landmarks)
            redetect = _degraded(new_box, residual, box)
        if redetect:
            boxes = detect_faces(grey, detect_width=detect_width)
            match = _matching(boxes, box)
            if match is None:
                yield from lost()
                box = start(frame, boxes)
            else:
                frame.landmarks, frame.status = fit_landmarks(grey, boxes[match]), DETECTED
                box = box_from_landmarks(frame.landmarks)[0]
                yield from (held for held, _ in pending)
                pending.clear()
            since_detection = 0
            yield frame
            continue
        frame.landmarks, frame.status, box = landmarks, TRACKED, new_box
        pending.append((frame, new_box))
    if pending:  # confirm the last provisional frames with one more detection
        last, last_box = pending[-1]
        if _matching(detect_faces(last.grey, detect_width=detect_width), last_box) is None:
            yield from lost()
        else:
            yield from (held for held, _ in pending)


def fill_gaps(frames: Iterable[TrackedFrame], *, max_gap: int = 5) -> Iterator[TrackedFrame]:
    """Interpolate landmarks over short runs of missing frames between two frames with a face.

    Parameters
    ----------
    frames : iterable of TrackedFrame
        In order, as :func:`track_faces` yields them.
    max_gap : int
        Longest run of missing frames that is filled (0 fills none).

    Yields
    ------
    TrackedFrame
        Every input frame, in order; filled ones get status INTERPOLATED and landmarks linearly
        interpolated between the frames on either side of the run.
    """
    if max_gap < 0:
        raise ValueError(f"max_gap must be 0 or more; got {max_gap}")
    gap: list[TrackedFrame] = []
    last = None  # last frame with a face, while the current run of missing frames may be filled
    for frame in frames:
        if frame.landmarks is None:
            if last is None or max_gap == 0:
                yield frame
                continue
            gap.append(frame)
            if len(gap) > max_gap:
                yield from gap
                gap.clear()
                last = None
            continue
        for k, held in enumerate(gap, start=1):
            weight = k / (len(gap) + 1)
            held.landmarks = (1 - weight) * last.landmarks + weight * frame.landmarks
            held.status = INTERPOLATED
            yield held
        gap.clear()
        last = frame
        yield frame
    yield from gap
