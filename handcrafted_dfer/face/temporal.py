"""Temporal normalization: resample a clip to a fixed number of frames, keeping their order."""

from __future__ import annotations

import warnings

import numpy as np

from ..clip import AlignedClip

__all__ = ["resample_positions", "resample_clip", "nearest_valid"]


def resample_positions(n_source: int, n_frames: int) -> np.ndarray:
    """Source positions of ``n_frames`` evenly spaced samples of ``n_source`` frames.

    The first and last samples fall on the first and last source frames (one sample falls in the
    middle), so onset, apex and offset keep their order and a short clip is stretched.

    Returns
    -------
    ndarray of float64, shape (n_frames,)
        Non-decreasing positions in ``[0, n_source - 1]``.
    """
    if n_source < 1:
        raise ValueError(f"a clip needs at least one frame; got {n_source}")
    if n_frames < 1:
        raise ValueError(f"n_frames must be at least 1; got {n_frames}")
    if n_frames == 1:
        return np.array([(n_source - 1) / 2.0])
    return np.linspace(0.0, n_source - 1, n_frames)


def resample_clip(clip: AlignedClip, n_frames: int) -> AlignedClip:
    """Resample a clip to ``n_frames`` frames by linear interpolation between neighbours.

    Frames and landmarks are blended between the two source frames around each sample position
    (frames rounded to uint8). A sample is valid only if every source frame it draws on (with a
    non-zero weight) is valid. ``fps``, ``source`` and ``has_landmarks`` are kept: ``fps`` stays
    the source's rate.

    Parameters
    ----------
    clip : AlignedClip
    n_frames : int
        Number T of output frames (more or fewer than the clip has).

    Returns
    -------
    AlignedClip

    Warns
    -----
    UserWarning
        When a clip of one or two frames is stretched to more: its frames are only repeated or
        blended, so its temporal features describe almost no motion.
    """
    if clip.n_frames <= 2 and n_frames > clip.n_frames:
        warnings.warn(f"{clip.source}: {clip.n_frames} source frame(s) stretched to {n_frames} "
                      f"by temporal normalization (repeated or blended frames: almost no motion "
                      f"to describe)", UserWarning, stacklevel=2)
    positions = resample_positions(clip.n_frames, n_frames)
    lower = np.floor(positions).astype(np.intp)
    upper = np.minimum(lower + 1, clip.n_frames - 1)
    weight = positions - lower
    w = weight[:, None, None]
    frames = (1 - w) * clip.frames[lower].astype(np.float64) + w * clip.frames[upper]
    landmarks = (1 - w) * clip.landmarks[lower].astype(np.float64) + w * clip.landmarks[upper]
    valid = clip.valid[lower] & (clip.valid[upper] | (weight == 0))
    return AlignedClip(
        frames=np.clip(np.rint(frames), 0, 255).astype(np.uint8),
        landmarks=landmarks.astype(np.float32),
        valid=valid,
        fps=clip.fps,
        source=clip.source,
        has_landmarks=clip.has_landmarks,
    )


def nearest_valid(valid: np.ndarray) -> np.ndarray:
    """For every frame, the index of the nearest valid frame (the earlier one on a tie)."""
    where = np.flatnonzero(valid)
    index = np.arange(len(valid))
    after = np.clip(np.searchsorted(where, index), 0, len(where) - 1)
    before = np.clip(after - 1, 0, len(where) - 1)
    use_before = np.abs(index - where[before]) <= np.abs(where[after] - index)
    return np.where(use_before, where[before], where[after])
