"""Per-frame expression intensity: how far each frame of a face track is from the person's neutral.

Two spaces, one set of neutral frames:

- **landmark space**: the displacement of each of the 68 landmarks from the neutral reference
  shape (their mean over the neutral frames), in inter-ocular distances (IOD);
- **feature space**: the chi-square distance between each frame's LBP histogram of every block of a
  grid over the aligned crop and the neutral reference histogram of that block (the mean over the
  neutral frames).

Before either, every frame is re-registered (a similarity fitted on the nose and eye corners,
:func:`register_to`): the clip's own alignment also fits the mouth corners, and without this a
smile would seem to move the brows.

A neutral frame is compared with a reference built from the *other* neutral frames
(:func:`leave_out_distances`); otherwise it would look more neutral than the rest of the neutral
state just by being part of its own reference, and every other neutral frame would look expressive.

A region curve (:data:`REGIONS`: brows, eyes, nose, mouth, jaw) averages the region's landmarks, or
the blocks that hold at least one of the region's reference landmarks. The ``face`` curve averages
the inner face (brows, eyes, nose and mouth): dlib's jaw contour is the least stable landmark
group, and jaw motion also moves the mouth, so the jaw is kept out of the face curve and reported
as its own region.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import cv2
import numpy as np
from scipy.stats import spearmanr

from ..explain.blocks import LANDMARK_GROUPS
from ..face.align import estimate_similarity
from ..features._validation import block_edges
from ..features.lbptop import lbptop_histograms

__all__ = [
    "REGIONS",
    "FACE",
    "STABLE_POINTS",
    "register_to",
    "register_clip",
    "inter_ocular_distance",
    "leave_out_distances",
    "landmark_displacements",
    "find_neutral_frames",
    "region_blocks",
    "block_histograms",
    "chi_square",
    "block_distances",
]

#: Face regions as 68-point landmark indices (iBUG numbering, from ``LANDMARK_GROUPS``).
REGIONS = {
    "brows": LANDMARK_GROUPS["right brow"] + LANDMARK_GROUPS["left brow"],
    "eyes": LANDMARK_GROUPS["right eye"] + LANDMARK_GROUPS["left eye"],
    "nose": LANDMARK_GROUPS["nose"],
    "mouth": LANDMARK_GROUPS["outer mouth"] + LANDMARK_GROUPS["inner mouth"],
    "jaw": LANDMARK_GROUPS["jaw"],
}

#: The regions the ``face`` curve averages (the inner face; see the module docstring).
FACE = ("brows", "eyes", "nose", "mouth")

#: Landmarks that expressions barely move (the nose, the eye corners): frames are re-registered on
#: them (:func:`register_to`). Only the nose wrinkler (AU9, disgust) moves the nostrils, and its
#: nose displacement is then partly absorbed.
STABLE_POINTS = (27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 39, 42, 45)

_INNER = [i for name in FACE for i in REGIONS[name]]


def register_to(landmarks: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Similarity transforms that map each frame's :data:`STABLE_POINTS` onto the target's.

    Parameters
    ----------
    landmarks : ndarray, shape (T, 68, 2)
    target : ndarray, shape (68, 2)

    Returns
    -------
    ndarray of float64, shape (T, 2, 3)
        Per frame, ``M`` with ``registered = points @ M[:, :2].T + M[:, 2]``.
    """
    target = np.asarray(target, dtype=np.float64)[list(STABLE_POINTS)]
    return np.stack([estimate_similarity(shape[list(STABLE_POINTS)], target)
                     for shape in np.asarray(landmarks, dtype=np.float64)])


def register_clip(clip) -> tuple[np.ndarray, np.ndarray]:
    """A clip's landmarks and crops re-registered (:func:`register_to`) to its median shape.

    Parameters
    ----------
    clip : AlignedClip

    Returns
    -------
    landmarks : ndarray of float64, shape (T, 68, 2)
    crops : ndarray of uint8, shape (T, S, S)
        Each frame warped by its similarity (bilinear, borders replicated).
    """
    matrices = register_to(clip.landmarks, np.median(clip.landmarks[clip.valid], axis=0))
    landmarks = (np.einsum("tij,tkj->tki", matrices[:, :, :2], clip.landmarks.astype(np.float64))
                 + matrices[:, None, :, 2])
    crops = np.stack([cv2.warpAffine(f, m, (clip.size, clip.size), flags=cv2.INTER_LINEAR,
                                     borderMode=cv2.BORDER_REPLICATE)
                      for f, m in zip(clip.frames, matrices)])
    return landmarks, crops


def inter_ocular_distance(landmarks: np.ndarray) -> float:
    """Distance between the two eye centres (means of landmarks 36-41 and 42-47)."""
    landmarks = np.asarray(landmarks, dtype=np.float64)
    return float(np.linalg.norm(landmarks[42:48].mean(axis=0) - landmarks[36:42].mean(axis=0)))


def leave_out_distances(values: np.ndarray, members: np.ndarray, *, exclude: int,
                        distance: Callable[[np.ndarray, np.ndarray], np.ndarray],
                        chunk: int = 1024) -> np.ndarray:
    """Distance of every frame from the mean of the member frames, leaving out its neighbours.

    Frame ``t`` is compared with the mean of ``values`` over the members more than ``exclude``
    frames away from it (all members, for a frame farther than that from every member; all of
    them too when no member is left).

    Parameters
    ----------
    values : ndarray, shape (T, ...)
        Per-frame values (landmark shapes, block histograms).
    members : ndarray of int
        Indices of the reference frames, without repeats.
    exclude : int
        Members within this many frames of ``t`` are left out of ``t``'s reference (0: only ``t``
        itself; ``2 * window`` for values pooled over ``2 * window + 1`` frames).
    distance : callable
        ``distance(values[rows], references)`` with ``references`` one reference (shape
        ``values.shape[1:]``) or one per row; returns an array with one entry per row.
    chunk : int
        Frames per batch of leave-out references.

    Returns
    -------
    ndarray
        ``distance`` of every frame, stacked along the first axis.
    """
    values = np.asarray(values)
    members = np.asarray(members, dtype=np.int64)
    n, k = len(values), len(members)
    total = values[members].sum(axis=0, dtype=np.float64)
    out = np.array(distance(values, total / k))
    is_member = np.zeros(n, dtype=bool)
    is_member[members] = True
    near = np.flatnonzero(np.convolve(is_member, np.ones(2 * exclude + 1), mode="same") > 0)
    for begin in range(0, len(near), chunk):
        rows = near[begin:begin + chunk]
        removed = np.zeros((len(rows), *values.shape[1:]))
        count = np.zeros(len(rows))
        for offset in range(-exclude, exclude + 1):
            other = rows + offset
            hit = (other >= 0) & (other < n)
            hit[hit] = is_member[other[hit]]
            removed[hit] += values[other[hit]]
            count[hit] += 1
        keep = count < k
        shape = (-1,) + (1,) * (values.ndim - 1)
        references = (total - removed[keep]) / (k - count[keep]).reshape(shape)
        out[rows[keep]] = distance(values[rows[keep]], references)
    return out


def landmark_displacements(landmarks: np.ndarray, neutral: np.ndarray) -> np.ndarray:
    """Displacement of every landmark from the neutral reference shape, in IOD.

    The reference is the mean shape of the neutral frames (other than the frame itself, for a
    neutral frame); the IOD is that of the mean shape of all neutral frames.

    Parameters
    ----------
    landmarks : ndarray, shape (T, 68, 2)
    neutral : ndarray of int
        Indices of the neutral frames.

    Returns
    -------
    ndarray of float64, shape (T, 68)
    """
    landmarks = np.asarray(landmarks, dtype=np.float64)
    iod = inter_ocular_distance(landmarks[neutral].mean(axis=0))
    return leave_out_distances(landmarks, neutral, exclude=0,
                               distance=lambda a, r: np.linalg.norm(a - r, axis=-1)) / iod


def find_neutral_frames(landmarks: np.ndarray, valid: np.ndarray, *, fraction: float = 0.2,
                        sweep_rho: float = 0.5,
                        other_distance: Callable[[np.ndarray], np.ndarray] | None = None,
                        ) -> tuple[np.ndarray, str]:
    """The least expressive frames of a face track.

    1. ``k = ceil(fraction * n_valid)`` frames make the reference.
    2. **Sweep test.** Take the first ``k`` valid frames as a candidate reference and measure how
       far every valid frame is from it (mean inner-face landmark displacement, and, when given,
       ``other_distance``). If that distance rises steadily with time in either space (Spearman
       correlation with the frame index ``>= sweep_rho``), the track is a posed sequence that
       starts neutral and moves away from it, as a CK+ sequence does (neutral to apex): the first
       ``k`` frames are the neutral ones (rule ``"start"``).
    3. **Resting state.** Otherwise the person is taken to be neutral most of the time (a long
       video): start from the ``k`` frames nearest the track's median shape, then repeatedly take
       the ``k`` frames nearest the mean shape of the current set, until the set no longer changes
       (at most 20 rounds; rule ``"median"``).

    Distances from a set of frames leave each frame out of its own reference
    (:func:`leave_out_distances`). A track that opens with a long expression and then calms down
    passes the sweep test and is read the wrong way round: give its neutral frames explicitly.

    Parameters
    ----------
    landmarks : ndarray, shape (T, 68, 2)
        Registered landmarks.
    valid : ndarray of bool, shape (T,)
        Frames with a face; only these are chosen.
    fraction : float
        Share of the valid frames in the reference, in (0, 1].
    sweep_rho : float
        Least Spearman correlation of the sweep test, in [-1, 1].
    other_distance : callable, optional
        ``other_distance(frames)`` gives every frame's distance from the reference made of
        ``frames`` in a second space (the LBP feature space), shape (T,).

    Returns
    -------
    frames : ndarray of int64
        Sorted indices of the neutral frames.
    rule : {"start", "median"}
        Which branch chose them.
    """
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must be in (0, 1]; got {fraction}")
    landmarks = np.asarray(landmarks, dtype=np.float64)
    where = np.flatnonzero(valid)
    if len(where) == 0:
        raise ValueError("the track has no valid frame to take a neutral reference from")
    k = max(1, math.ceil(fraction * len(where)))
    start = where[:k]
    if len(where) <= k + 1:
        return start, "start"

    def face_distance(frames: np.ndarray) -> np.ndarray:
        return landmark_displacements(landmarks, frames)[:, _INNER].mean(axis=1)

    def rises(distance: np.ndarray) -> bool:
        rho = spearmanr(where, distance[where])[0]
        return bool(np.isfinite(rho) and rho >= sweep_rho)

    if rises(face_distance(start)) or (other_distance is not None
                                       and rises(np.asarray(other_distance(start)))):
        return start, "start"
    median = np.median(landmarks[where], axis=0)
    distance = np.linalg.norm(landmarks[:, _INNER] - median[_INNER], axis=-1).mean(axis=1)
    chosen = np.sort(where[np.argsort(distance[where], kind="stable")[:k]])
    for _ in range(20):
        distance = face_distance(chosen)
        again = np.sort(where[np.argsort(distance[where], kind="stable")[:k]])
        if np.array_equal(again, chosen):
            break
        chosen = again
    return chosen, "median"


def region_blocks(reference: np.ndarray, *, size: int, grid: tuple[int, int],
                  margin: int) -> dict[str, np.ndarray]:
    """The blocks of an LBP grid that each region's reference landmarks fall in.

    Parameters
    ----------
    reference : ndarray, shape (68, 2)
        Reference landmarks ``(x, y)`` in crop pixels.
    size : int
        Side of the aligned crop.
    grid : (int, int)
        Blocks along y and x.
    margin : int
        Border without LBP centres (``ceil`` of the spatial radius): the blocks split
        ``[margin, size - margin)`` as :func:`~handcrafted_dfer.features.lbptop.lbptop_histograms`
        does.

    Returns
    -------
    dict
        Region name (:data:`REGIONS`, plus ``"face"``) to a boolean mask of shape ``grid``.
    """
    rows = block_edges(size - 2 * margin, grid[0]) + margin
    cols = block_edges(size - 2 * margin, grid[1]) + margin
    x, y = np.asarray(reference, dtype=np.float64).T
    row = np.searchsorted(rows[:, 1], y, side="right")
    col = np.searchsorted(cols[:, 1], x, side="right")
    inside = (y >= rows[0, 0]) & (row < grid[0]) & (x >= cols[0, 0]) & (col < grid[1])
    masks = {}
    for name, indices in REGIONS.items():
        mask = np.zeros(grid, dtype=bool)
        idx = np.asarray(indices)[inside[list(indices)]]
        mask[row[idx], col[idx]] = True
        masks[name] = mask
    masks["face"] = np.logical_or.reduce([masks[name] for name in FACE])
    return masks


def block_histograms(frames: np.ndarray, *, grid: tuple[int, int] = (6, 6),
                     radius: float = 2.0, blur: float = 1.0, window: int = 1,
                     chunk: int = 256) -> np.ndarray:
    """Per frame and block, the LBP histogram of the XY plane, pooled over a few frames.

    The histogram of each block is the XY-plane LBP histogram (P = 8, ``nri_uniform``, 59 bins,
    through :func:`~handcrafted_dfer.features.lbptop.lbptop_histograms`) of the crop smoothed by a
    Gaussian of ``blur`` pixels, pooled over the ``2 * window + 1`` frames centred on the frame
    (shifted inwards at the ends of the clip, so that every frame pools as many frames and has the
    same noise). The XT and YT planes are left out: they describe motion, not the state of the
    face. Frames go to the LBP kernel ``chunk`` at a time.

    Parameters
    ----------
    frames : ndarray of uint8, shape (T, S, S)
    grid : (int, int)
        Blocks along y and x.
    radius : float
        Spatial LBP radius, pixels.
    blur : float
        Gaussian sigma applied before LBP, pixels (0 for none).
    window : int
        Half-width of the temporal pooling, frames.
    chunk : int
        Frames per LBP call.

    Returns
    -------
    ndarray of float32, shape (T, grid[0], grid[1], 59)
        Each histogram sums to 1.
    """
    frames = np.asarray(frames)
    n = len(frames)
    span = min(n, 2 * int(window) + 1)
    grid = tuple(int(g) for g in grid)
    out = np.empty((n, *grid, 59), dtype=np.float32)
    for begin in range(0, n, chunk):
        t = np.arange(begin, min(n, begin + chunk))
        first = np.clip(t - window, 0, n - span)
        lo, hi = int(first[0]), int(first[-1]) + span
        # the neighbours' frames, plus one repeated frame at each end of the clip (LBP needs R_t)
        volume = frames[np.clip(np.arange(lo - 1, hi + 1), 0, n - 1)]
        if blur > 0:
            volume = np.stack([cv2.GaussianBlur(f, (0, 0), blur) for f in volume])
        counts = lbptop_histograms(volume, P=8, radius=(1, radius, radius),
                                   mapping="nri_uniform", grid=(hi - lo, *grid),
                                   normalize=False)[:, :, :, 0, :]
        cumulative = np.concatenate([np.zeros_like(counts[:1]), np.cumsum(counts, axis=0)])
        pooled = cumulative[first - lo + span] - cumulative[first - lo]
        out[t] = pooled / pooled.sum(axis=-1, keepdims=True)
    return out


def chi_square(histograms: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Chi-square distance ``0.5 * sum((h - r)**2 / (h + r))`` over the last axis.

    0 for identical histograms, 1 for histograms with no bin in common.
    """
    h = np.asarray(histograms, dtype=np.float64)
    r = np.asarray(reference, dtype=np.float64)
    total = h + r
    ratio = np.divide((h - r) ** 2, total, out=np.zeros_like(total), where=total > 0)
    return 0.5 * ratio.sum(axis=-1)


def block_distances(histograms: np.ndarray, neutral: np.ndarray, *, window: int) -> np.ndarray:
    """Chi-square distance of every frame's block histograms from the neutral ones.

    Parameters
    ----------
    histograms : ndarray, shape (T, n_rows, n_cols, n_bins)
        From :func:`block_histograms` with the same ``window``.
    neutral : ndarray of int
        Indices of the neutral frames; a frame is compared with the mean over the neutral frames
        whose pooling windows do not overlap its own (more than ``2 * window`` frames away).
    window : int
        Half-width of the histograms' temporal pooling.

    Returns
    -------
    ndarray of float64, shape (T, n_rows, n_cols)
    """
    return leave_out_distances(histograms, neutral, exclude=2 * int(window), distance=chi_square)
