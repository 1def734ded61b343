"""Follow every face of a video, and join the tracks of one person into one identity.

:func:`track_all_faces` is the several-face counterpart of :func:`.track.track_faces`, with the
same costs per face: each track fits the 68 landmarks in a box predicted from its previous frame,
and re-detects its face around that box every ``redetect_every`` frames (or at once when the fit
degrades), keeping its landmarks continuous across re-detections as :mod:`.track` explains; the
frames tracked in between are provisional until a re-detection confirms them, and
when one does not, the face is followed back to the last frame where the detector still finds it.
New faces are searched for on the whole frame every ``scan_every`` frames while faces are followed
(with the small-face search where the frame needs it), and on every frame while none is; a face
found by a search is followed back through the frames since the previous search (with the same
rules, back in time), so that a track starts where the face appears.

Tracks never take each other's face: a detection belongs to a track only when it overlaps the
track's box by an IoU of at least :data:`~.track.MIN_IOU` and no other track's box more; and when
two tracks come to follow the same face (boxes overlapping by :data:`SAME_FACE_IOU`), the one whose
identity is farther from that face's descriptor is dropped, with its provisional frames.

Identities (:class:`~.identity.IdentityBank`): a descriptor is computed where a track starts and
an identity off screen could be its face (the track takes the nearest such identity within
``match_distance``, or a new one), where a track ends (the last frame the detector confirmed), and
every ``describe_every`` frames along it, so that the cost is bounded by the number of tracks and
the video's length over ``describe_every``, not by its number of frames. A track that starts while
no identity is off screen (the first faces of a video) is a new identity at once, described where
it ends or first needs to be compared. Identities are numbered 0, 1, ... in the order
they first appear (left to right within a frame).

Everything is a generator with bounded look-back: a frame leaves once every track has settled it
and a search for new faces has covered it, at most ``max(redetect_every, scan_every)`` frames
later (``redetect_every`` without ``follow_back``). :func:`fill_face_gaps` then fills short gaps
of each identity (``max_gap`` more frames).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from .detect import FaceFinder, box_iou
from .identity import MATCH_DISTANCE, IdentityBank, face_descriptor
from .landmarks import fit_landmarks
from .track import (DETECTED, INTERPOLATED, MIN_IOU, TRACKED, _degraded, _fit_detected,
                    box_from_landmarks)

__all__ = ["SAME_FACE_IOU", "MultiFaceConfig", "FaceObservation", "FrameFaces", "track_all_faces",
           "fill_face_gaps"]

#: Two tracks whose boxes overlap by this IoU follow the same face.
SAME_FACE_IOU = 0.5


@dataclass(frozen=True)
class MultiFaceConfig:
    """How every face of a video is followed and identified (``--faces-in-video all``).

    Parameters
    ----------
    scan_every : int
        While faces are followed, search the whole frame for new ones every this many frames (a
        search down to ``min_face`` 40 costs about 48 ms on a 640x360 frame, 40 landmark fits,
        and 9 times that on a 1920x1080 one; a larger ``min_face`` makes it cheaper). A new face
        is followed back to the frame where it appeared, so this costs memory (up to this many
        grey frames are held), not accuracy.
    match_distance : float
        Largest distance between dlib face descriptors of the same person (dlib's 0.6).
    describe_every : int
        Add a descriptor to the identity's gallery every this many frames along a track.
    gallery_size : int
        Descriptors kept per identity.
    follow_back : bool
        Follow a new face back through the frames since the previous search, so that its track
        starts where it appeared (frames wait for the next search: up to ``scan_every``). Off,
        frames leave as soon as every track has settled them, and a new face starts where a
        search finds it (for live streams).
    """

    scan_every: int = 50
    match_distance: float = MATCH_DISTANCE
    describe_every: int = 500
    gallery_size: int = 16
    follow_back: bool = True

    def __post_init__(self):
        for name in ("scan_every", "describe_every", "gallery_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer; got {value!r}")
        if not 0 < self.match_distance < 2:
            raise ValueError("match_distance must be a descriptor distance between 0 and 2 "
                             f"(dlib's threshold is 0.6); got {self.match_distance!r}")


@dataclass
class FaceObservation:
    """One face in one frame.

    Attributes
    ----------
    face : int
        Identity (0 for the one face of ``faces_in_video="largest"``).
    landmarks : ndarray of float64, shape (68, 2), or None
        ``x, y`` in frame pixels; None for frames given as aligned faces.
    status : int
        DETECTED, TRACKED, INTERPOLATED or GIVEN (:mod:`.track`).
    score : float
        The detector's score where the face was detected, else NaN.
    box : ndarray of shape (4,) or None
        ``left, top, right, bottom``: the detector-style box of the landmarks
        (:func:`~.track.box_from_landmarks`); None until something needs it.
    crop, aligned : ndarray or None
        The aligned face (S x S uint8) and its landmarks in crop pixels, once aligned.
    """

    face: int
    landmarks: np.ndarray | None
    status: int
    score: float = float("nan")
    box: np.ndarray | None = None
    crop: np.ndarray | None = None
    aligned: np.ndarray | None = None

    def face_box(self) -> np.ndarray:
        """``box``, computed from the landmarks the first time it is asked for."""
        if self.box is None:
            self.box = box_from_landmarks(self.landmarks)[0]
        return self.box


@dataclass
class FrameFaces:
    """One frame and the faces in it (only the faces present; ordered by identity)."""

    index: int
    grey: np.ndarray
    faces: list = field(default_factory=list)


@dataclass
class _Track:
    id: int
    face: int
    box: np.ndarray
    since_detection: int = 0
    pending: list = field(default_factory=list)  # frame indices tracked since the last detection
    last: tuple = ()  # (grey, landmarks, frame index) of the last detection
    started: int = 0  # frame of the first detection
    described: int | None = None  # frame of the last descriptor


@dataclass
class _Frame:
    index: int
    grey: np.ndarray
    obs: dict = field(default_factory=dict)  # track id -> FaceObservation


def _claim(boxes: np.ndarray, box: np.ndarray, others: list) -> int | None:
    """The detection of the face at ``box``: overlapping it by MIN_IOU or more, the most, and
    overlapping no other face's box more than it."""
    best, best_iou = None, MIN_IOU
    for k, candidate in enumerate(boxes):
        iou = box_iou(candidate, box)
        if iou >= best_iou and all(box_iou(candidate, other) <= iou for other in others):
            best, best_iou = k, iou
    return best


def _inside(point: np.ndarray, box: np.ndarray) -> bool:
    return bool(box[0] <= point[0] <= box[2] and box[1] <= point[1] <= box[3])


def track_all_faces(frames: Iterable[np.ndarray], *, finder: FaceFinder = FaceFinder(),
                    redetect_every: int = 10,
                    config: MultiFaceConfig = MultiFaceConfig()) -> Iterator[FrameFaces]:
    """Follow every face through grey frames and give each an identity.

    Parameters
    ----------
    frames : iterable of ndarray of uint8, shape (H, W)
    finder : FaceFinder
    redetect_every : int
        Re-detect each followed face at least every this many frames; while no face is followed,
        search for small faces at least every this many frames.
    config : MultiFaceConfig

    Yields
    ------
    FrameFaces
        Every input frame exactly once, in order, with the faces found in it (status DETECTED
        or TRACKED; none for a frame without a face).
    """
    if redetect_every < 1:
        raise ValueError(f"redetect_every must be at least 1; got {redetect_every}")
    bank = IdentityBank(threshold=config.match_distance, gallery_size=config.gallery_size)
    buffer: deque[_Frame] = deque()
    tracks: dict[int, _Track] = {}
    next_id = 0
    covered = -1  # every frame up to this one has been searched for new faces
    since_small = None  # frames since the last small-face search while no face is followed

    def at(index: int) -> _Frame:
        return buffer[index - buffer[0].index]

    def others(frame: _Frame, track: _Track) -> list:
        boxes = [o.box for tid, o in frame.obs.items() if tid != track.id]
        if frame is buffer[-1]:  # tracks not yet followed into this frame: their last box
            boxes += [t.box for t in tracks.values() if t.id != track.id and t.id not in frame.obs]
        return boxes

    def observe(frame: _Frame, track: _Track, landmarks, status, score, box) -> None:
        frame.obs[track.id] = FaceObservation(track.face, landmarks, status, float(score), box)

    def describe(track: _Track, grey, landmarks, index) -> None:
        bank.add(track.face, face_descriptor(grey, landmarks))
        track.described = index

    def drop(track: _Track, keep: int) -> None:
        """End a track: its provisional frames from ``keep`` on lose it."""
        for index in track.pending[keep:]:
            at(index).obs.pop(track.id, None)
        del tracks[track.id]

    def confirmed(track: _Track, indices: list) -> int:
        """How many of ``indices`` (frames the track followed since a detection, in the order it
        followed them) to keep: up to the farthest one where the detector still finds the face."""
        for k in range(len(indices) - 1, -1, -1):
            frame = at(indices[k])
            mine = frame.obs[track.id]
            if _claim(finder.around(frame.grey, mine.box), mine.box,
                      others(frame, track)) is not None:
                return k + 1
        return 0

    def lose(track: _Track) -> None:
        """The face was not re-detected: keep it up to the last frame the detector finds it."""
        keep = confirmed(track, track.pending)
        if keep:
            frame = at(track.pending[keep - 1])
            grey, landmarks, index = frame.grey, frame.obs[track.id].landmarks, frame.index
        else:
            grey, landmarks, index = track.last
        if track.described is None or index - track.described >= redetect_every:
            describe(track, grey, landmarks, index)  # a view to know the face by when it is back
        drop(track, keep)

    def step(track: _Track, frame: _Frame, box: np.ndarray, since: int):
        """Follow ``track``'s face from ``box`` (its box in the neighbouring frame) into
        ``frame``, ``since`` frames after its last detection: the landmarks fitted in ``box``,
        and a re-detection every ``redetect_every`` frames or where the fit degrades, which keeps
        that fit unless it degraded (see :mod:`.track`). Returns ``(landmarks, box, status,
        score)``, or None when the re-detection does not find the face."""
        landmarks = fit_landmarks(frame.grey, box)
        fitted, residual = box_from_landmarks(landmarks)
        degraded = _degraded(fitted, residual, box)
        if not degraded and since < redetect_every:
            return landmarks, fitted, TRACKED, np.nan
        boxes = finder.around(frame.grey, box)
        match = _claim(boxes, box, others(frame, track))
        if match is None:
            return None
        if degraded:  # start the fit afresh from the detection
            landmarks = _fit_detected(frame.grey, boxes[match])
            fitted = box_from_landmarks(landmarks)[0]
        return landmarks, fitted, DETECTED, boxes[match][4]

    def follow(track: _Track, frame: _Frame) -> bool:
        """Follow a track into ``frame``; False when it is lost."""
        track.since_detection += 1
        found = step(track, frame, track.box, track.since_detection)
        if found is None:
            track.since_detection = 0
            lose(track)
            return False
        landmarks, track.box, status, score = found
        observe(frame, track, landmarks, status, score, track.box)
        if status == TRACKED:
            track.pending.append(frame.index)
            return True
        track.since_detection = 0
        track.pending.clear()
        track.last = (frame.grey, landmarks, frame.index)
        since = track.started if track.described is None else track.described
        if frame.index - since >= config.describe_every:
            describe(track, frame.grey, landmarks, frame.index)
        return True

    def one_face_each(frame: _Frame) -> None:
        """Two tracks on the same face: the one whose identity is farther from it goes."""
        for a in list(tracks.values()):
            for b in list(tracks.values()):
                if a.id >= b.id or a.id not in tracks or b.id not in tracks:
                    continue
                oa, ob = frame.obs.get(a.id), frame.obs.get(b.id)
                if oa is None or ob is None or box_iou(oa.box, ob.box) < SAME_FACE_IOU:
                    continue
                for track in (a, b):
                    if not bank.is_described(track.face):
                        describe(track, *track.last)
                descriptor = face_descriptor(frame.grey, oa.landmarks)
                loser = max((a, b), key=lambda t: bank.distance(t.face, descriptor))
                frame.obs.pop(loser.id)
                drop(loser, 0)

    def start(frame: _Frame, detection: np.ndarray, searched: int) -> None:
        """A new face: identify it, and follow it back through the frames after ``searched``
        (the last frame searched before)."""
        nonlocal next_id
        landmarks = _fit_detected(frame.grey, detection)
        on_screen = {t.face for t in tracks.values()}
        described = None
        if bank.candidates(exclude=on_screen):
            face = bank.identify(face_descriptor(frame.grey, landmarks), exclude=on_screen)
            described = frame.index
        else:
            face = bank.new()
        track = _Track(next_id, face, box_from_landmarks(landmarks)[0],
                       last=(frame.grey, landmarks, frame.index), started=frame.index,
                       described=described)
        next_id += 1
        tracks[track.id] = track
        observe(frame, track, landmarks, DETECTED, detection[4], track.box)
        # back in time with the rules of follow(), from the box of the frame after
        found, since, followed = track.box, 0, []
        for index in range(frame.index - 1, max(searched, buffer[0].index - 1), -1):
            earlier = at(index)
            since += 1
            stepped = step(track, earlier, found, since)
            if stepped is None:
                break
            landmarks, found, status, score = stepped
            observe(earlier, track, landmarks, status, score, found)
            if status == TRACKED:
                followed.append(index)
            else:
                followed.clear()
                since = 0
        for index in followed[confirmed(track, followed):]:
            at(index).obs.pop(track.id)

    def search(frame: _Frame, *, full: bool) -> None:
        """Look for new faces in ``frame`` (the whole search when ``full``, else the fast pass)."""
        nonlocal covered
        small = full and finder.needs_small(frame.grey.shape[1])
        boxes = finder.small(frame.grey) if small else finder.fast(frame.grey)
        searched = covered
        if full or not finder.needs_small(frame.grey.shape[1]):
            covered = frame.index
        taken = [o.box for o in frame.obs.values()]
        new = [b for b in boxes if not any(
            box_iou(b, t) >= MIN_IOU or _inside(((b[0] + b[2]) / 2, (b[1] + b[3]) / 2), t)
            for t in taken)]
        for detection in sorted(new, key=lambda b: b[0]):
            start(frame, detection, searched)

    def release() -> Iterator[FrameFaces]:
        limit = min((t.pending[0] for t in tracks.values() if t.pending), default=np.inf)
        searched = covered if config.follow_back else np.inf
        while buffer and buffer[0].index <= searched and buffer[0].index < limit:
            frame = buffer.popleft()
            yield FrameFaces(frame.index, frame.grey,
                             sorted(frame.obs.values(), key=lambda o: o.face))

    for index, grey in enumerate(frames):
        frame = _Frame(index, grey)
        buffer.append(frame)
        had_faces = bool(tracks)
        lost = [track for track in list(tracks.values()) if not follow(track, frame)]
        one_face_each(frame)
        if tracks:
            since_small = None
            if lost or index - covered >= config.scan_every:
                search(frame, full=True)
        else:
            search(frame, full=False)  # the fast pass, on every frame while no face is followed
            if not tracks and finder.needs_small(grey.shape[1]):
                since_small = 0 if since_small is None or had_faces else since_small + 1
                if since_small % redetect_every == 0:
                    search(frame, full=True)
        yield from release()
    if not buffer:
        return
    last = buffer[-1]
    for track in list(tracks.values()):  # confirm the last provisional frames
        if track.pending:
            mine = at(track.pending[-1]).obs[track.id]
            if _claim(finder.around(at(track.pending[-1]).grey, mine.box), mine.box,
                      others(at(track.pending[-1]), track)) is None:
                lose(track)
            else:
                track.pending.clear()
    if covered < last.index:
        search(last, full=True)
    for track in tracks.values():
        track.pending.clear()
    yield from release()


def fill_face_gaps(frames: Iterable[FrameFaces], *, max_gap: int = 5) -> Iterator[FrameFaces]:
    """Interpolate each identity's landmarks over its short absences.

    The several-face counterpart of :func:`.track.fill_gaps`: a run of at most ``max_gap`` frames
    without an identity, between two frames with it, gets linearly interpolated landmarks
    (status INTERPOLATED). Frames leave ``max_gap`` frames late.

    Parameters
    ----------
    frames : iterable of FrameFaces
        In order, as :func:`track_all_faces` yields them.
    max_gap : int

    Yields
    ------
    FrameFaces
    """
    if max_gap < 0:
        raise ValueError(f"max_gap must be 0 or more; got {max_gap}")
    held: deque[FrameFaces] = deque()
    last: dict[int, tuple[int, FaceObservation]] = {}
    for frame in frames:
        held.append(frame)
        for obs in frame.faces:
            seen = last.get(obs.face)
            if seen is not None and 1 < frame.index - seen[0] <= max_gap + 1:
                gap = frame.index - seen[0] - 1
                for k in range(1, gap + 1):
                    weight = k / (gap + 1)
                    landmarks = (1 - weight) * seen[1].landmarks + weight * obs.landmarks
                    target = held[len(held) - 1 - (gap + 1 - k)]
                    target.faces.append(FaceObservation(obs.face, landmarks, INTERPOLATED))
                    target.faces.sort(key=lambda o: o.face)
            last[obs.face] = (frame.index, obs)
        while len(held) > max_gap:
            yield held.popleft()
    yield from held
