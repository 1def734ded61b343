"""Follow one face through a stream of frames: detect, track by landmarks, fill short gaps.

Detection is the expensive step, so it runs only when needed (:class:`~.detect.FaceFinder` says
where and at which scale):

- while no face is followed, on every frame: first the fast pass on a reduced copy; where it
  finds nothing, the small-face search at full resolution (upsampled for faces down to
  ``min_face``) on the first frame without a face and on every ``redetect_every``-th one after;
- while a face is followed, on every ``redetect_every``-th frame, and at once when the landmark
  fit degrades (the 68 points stop looking like a face, or the face's size jumps): a region of
  twice the face's box, at full resolution scaled to the face's size, so that a small face is
  re-detected as cheaply as a large one. In between, no detection runs: the 68 landmarks are
  fitted inside a box predicted from the previous frame's landmarks.

The landmarks stay continuous across re-detections. The detector's box is coarse (its size comes
in the steps of the detector's image pyramid; on the project's real videos it differs from the
box of the landmarks by up to 15 % in size) and the shape predictor's fit depends on its box, so
refitting in the detector's box made the landmarks, the aligned crop and its features step at
every re-detection (on the real videos by about 0.005 inter-ocular distances more than between
tracked frames; on the synthetic set's portrait with glasses by 0.035 typically and up to 0.37).
A re-detection that finds the followed face therefore confirms it and keeps the landmarks fitted
in the predicted box; only after a degraded fit does the detection start the fit afresh. A fit
that a detection starts (a new face, or after a degraded fit) is made in the detector's box and
then once more in the box of those landmarks, the kind of box the frames after it are fitted in.

Frames tracked since the last detection are provisional. When a re-detection confirms the face,
they are confirmed too; when it does not (the face left, or was covered), the detector is run on
those buffered frames from the newest backwards, and the frames after the last one where it still
finds the face are marked missing. Likewise the frames without a face that were not searched for
small faces are held back until the next small-face search: when a face is found, it is followed
backwards through them by re-detection around it, so a face that appears between two searches is
found from the frame it appears in. The track's boundaries are thus where the detector puts them,
at the cost of a few extra detections at each change.

Missing runs of at most ``max_gap`` frames between two frames with a face get linearly
interpolated landmarks; longer runs, and runs at the start or end of the stream, stay missing.

Everything is a generator over frames with bounded look-back (at most ``redetect_every`` frames
for confirmation and search, and ``max_gap`` for gaps), so a long video is never held in memory.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from .align import CANONICAL_68, apply_affine, estimate_similarity
from .detect import FaceFinder, box_iou, choose_face
from .landmarks import fit_landmarks

__all__ = [
    "MISSING",
    "DETECTED",
    "TRACKED",
    "INTERPOLATED",
    "GIVEN",
    "STATUS_NAMES",
    "TrackedFrame",
    "box_from_landmarks",
    "track_faces",
    "fill_gaps",
]

#: Frame status codes (GIVEN: the frame is the face, ``faces="cropped"`` or ``"aligned"``).
MISSING, DETECTED, TRACKED, INTERPOLATED, GIVEN = 0, 1, 2, 3, 4
#: Names of the status codes, indexed by code (the ``status`` column of the frames table).
STATUS_NAMES = ("missing", "detected", "tracked", "interpolated", "given")

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
        One of MISSING, DETECTED, TRACKED, INTERPOLATED, GIVEN.
    score : float
        The detector's score where the face was detected (DETECTED), else NaN.
    """

    index: int
    grey: np.ndarray
    landmarks: np.ndarray | None
    status: int
    score: float = float("nan")


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
    (a, b, tx), (c, d, ty) = matrix.tolist()
    scale = math.hypot(a, c)  # a similarity: the square root of its determinant a*d - b*c
    residual = float(np.sqrt(
        ((apply_affine(matrix, CANONICAL_68) - landmarks) ** 2).sum() / len(landmarks)))
    cx, cy = 0.5 * (a + b) + tx, 0.5 * (c + d) + ty
    half = scale / 2.0
    box = np.array([cx - half, cy - half, cx + half, cy + half])
    return box, (residual / scale if scale > 1e-9 else np.inf)


def _fit_detected(grey: np.ndarray, detection: np.ndarray) -> np.ndarray:
    """Landmarks of a face that a detection starts a fit on.

    Fitted in the detector's box, then once more in the box of those landmarks
    (:func:`box_from_landmarks`), the kind of box every frame after it is fitted in, so that the
    first frame of a fit does not step away from the next ones.
    """
    landmarks = fit_landmarks(grey, detection)
    return fit_landmarks(grey, box_from_landmarks(landmarks)[0])


def _degraded(box: np.ndarray, residual: float, previous: np.ndarray) -> bool:
    ratio = (box[2] - box[0]) / max(previous[2] - previous[0], 1e-6)
    return residual > MAX_SHAPE_RESIDUAL or not (1 / MAX_SCALE_CHANGE <= ratio <= MAX_SCALE_CHANGE)


def _matching(boxes: np.ndarray, box: np.ndarray) -> int | None:
    if len(boxes) == 0:
        return None
    overlaps = [box_iou(b, box) for b in boxes]
    best = int(np.argmax(overlaps))
    return best if overlaps[best] >= MIN_IOU else None


def track_faces(frames: Iterable[np.ndarray], *, finder: FaceFinder = FaceFinder(),
                redetect_every: int = 10) -> Iterator[TrackedFrame]:
    """Follow the largest, most central face through grey frames.

    Parameters
    ----------
    frames : iterable of ndarray of uint8, shape (H, W)
        Grey frames, in order.
    finder : FaceFinder
        The detector, the width of the fast pass and the smallest face searched for.
    redetect_every : int
        Re-detect at least every this many frames while following a face (1 detects on every
        frame), and search for small faces at least every this many frames while not.

    Yields
    ------
    TrackedFrame
        Every input frame exactly once, in order, with status MISSING, DETECTED or TRACKED.
        Frames are held back (at most ``redetect_every``) until a detection confirms them or a
        search rules them out; the last frames of the stream are settled by a detection on the
        very last one.
    """
    if redetect_every < 1:
        raise ValueError(f"redetect_every must be at least 1; got {redetect_every}")
    pending: list[tuple[TrackedFrame, np.ndarray]] = []  # provisional frames and their boxes
    held: list[TrackedFrame] = []  # frames without a face, not yet searched for small faces
    box = None  # box of the followed face, predicted from the last landmarks
    since_detection = 0
    since_search = None  # frames since the last small-face search; None: none since a face

    def start(frame: TrackedFrame, boxes: np.ndarray) -> np.ndarray | None:
        choice = choose_face(boxes, frame.grey.shape)
        if choice is None:
            return None
        frame.landmarks = _fit_detected(frame.grey, boxes[choice])
        frame.status, frame.score = DETECTED, float(boxes[choice][4])
        return box_from_landmarks(frame.landmarks)[0]

    def lost() -> Iterator[TrackedFrame]:
        """The face was not re-detected: find where it was last seen among the pending frames."""
        keep = 0
        for k in range(len(pending) - 1, -1, -1):
            frame, frame_box = pending[k]
            if _matching(finder.around(frame.grey, frame_box), frame_box) is not None:
                keep = k + 1
                break
        for k, (frame, _) in enumerate(pending):
            if k >= keep:
                frame.landmarks, frame.status, frame.score = None, MISSING, float("nan")
            yield frame
        pending.clear()

    def recover(found: np.ndarray) -> Iterator[TrackedFrame]:
        """A face was found: follow it back through the held frames, then release them."""
        for frame in reversed(held):
            boxes = finder.around(frame.grey, found)
            match = _matching(boxes, found)
            if match is None:
                break
            frame.landmarks, frame.status = _fit_detected(frame.grey, boxes[match]), DETECTED
            frame.score = float(boxes[match][4])
            found = box_from_landmarks(frame.landmarks)[0]
        yield from held
        held.clear()

    def search(frame: TrackedFrame) -> Iterator[TrackedFrame]:
        """No face is followed: look for one; yield what is settled, return the new box."""
        nonlocal since_search
        boxes, searched = finder.fast(frame.grey), False
        small = finder.needs_small(frame.grey.shape[1])
        if len(boxes) == 0 and small:
            since_search = None if since_search is None else since_search + 1
            if since_search is None or since_search >= redetect_every:
                boxes, searched, since_search = finder.small(frame.grey), True, 0
        found = start(frame, boxes)
        if found is not None:
            since_search = None
            yield from recover(found)
            yield frame
        elif searched or not small:
            yield from held  # searched now and nothing found: the held frames stay missing
            held.clear()
            yield frame
        else:
            held.append(frame)
        return found

    for index, grey in enumerate(frames):
        frame = TrackedFrame(index, grey, None, MISSING)
        if box is None:
            box = yield from search(frame)
            since_detection = 0
            continue
        since_detection += 1
        landmarks = fit_landmarks(grey, box)
        new_box, residual = box_from_landmarks(landmarks)
        degraded = _degraded(new_box, residual, box)
        if degraded or since_detection >= redetect_every:
            boxes = finder.around(grey, box)
            match = _matching(boxes, box)
            since_detection = 0
            if match is None:
                yield from lost()
                box = yield from search(frame)
            else:
                if degraded:  # start the fit afresh from the detection
                    landmarks = _fit_detected(grey, boxes[match])
                    new_box = box_from_landmarks(landmarks)[0]
                frame.landmarks, frame.status = landmarks, DETECTED
                frame.score, box = float(boxes[match][4]), new_box
                yield from (held_frame for held_frame, _ in pending)
                pending.clear()
                yield frame
            continue
        frame.landmarks, frame.status, box = landmarks, TRACKED, new_box
        pending.append((frame, new_box))
    if pending:  # confirm the last provisional frames with one more detection
        last, last_box = pending[-1]
        if _matching(finder.around(last.grey, last_box), last_box) is None:
            yield from lost()
        else:
            yield from (frame for frame, _ in pending)
    if held:  # search the last frame for small faces, and follow one back
        last = held.pop()
        found = start(last, finder.small(last.grey))
        if found is None:
            yield from held
            held.clear()
        else:
            yield from recover(found)
        yield last


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
