"""Input checks shared by the feature extractors (the scikit-image pattern: validate, convert
once)."""

from __future__ import annotations

import warnings

import numpy as np

__all__ = ["check_volume", "check_volume_shape", "check_grid", "block_edges", "as_volume"]


def as_volume(clip) -> np.ndarray:
    """The ``[T, H, W]`` array of an :class:`~handcrafted_dfer.clip.AlignedClip` or an array."""
    frames = getattr(clip, "frames", clip)
    return np.asarray(frames)


def check_volume(
    volume, *, min_frames: int = 1, name: str = "volume", frames_rule: str = "T >= 1"
) -> np.ndarray:
    """Validate a ``[T, H, W]`` grey volume.

    Parameters
    ----------
    volume : array_like
        Integer or floating-point volume.
    min_frames : int
        Smallest allowed T (e.g. ``2 * R_t + 1`` for LBP-TOP).
    name : str
        Name used in error messages.
    frames_rule : str
        The rule behind ``min_frames``, quoted in the error (e.g. ``"T >= 2*R_t + 1"``).

    Returns
    -------
    ndarray
        ``uint8`` input unchanged; other integer types and floats as ``float64``.

    Raises
    ------
    ValueError
        Wrong number of dimensions, empty axis, too few frames, NaN or infinite values.
    """
    volume = np.asarray(volume)
    check_volume_shape(volume.shape, min_frames=min_frames, name=name, frames_rule=frames_rule)
    if volume.dtype == np.uint8:
        return volume
    if volume.dtype == bool or not (np.issubdtype(volume.dtype, np.integer)
                                    or np.issubdtype(volume.dtype, np.floating)):
        raise ValueError(f"{name} must hold integers or floats; got dtype {volume.dtype}")
    volume = volume.astype(np.float64)
    if not np.all(np.isfinite(volume)):
        raise ValueError(f"{name} contains NaN or infinite values; only finite values are allowed")
    if volume.min() < 0 or volume.max() > 255:
        warnings.warn(
            f"{name} has values outside [0, 255]; histograms compare values as given",
            stacklevel=3,
        )
    return volume


def check_volume_shape(shape, *, min_frames: int = 1, name: str = "volume",
                       frames_rule: str = "T >= 1") -> tuple:
    """Validate the shape ``(T, H, W)`` of a volume, so that a clip shape can be checked before
    any clip exists (the shape part of :func:`check_volume`).

    Returns
    -------
    tuple of int

    Raises
    ------
    ValueError
        Not three axes, an empty axis, or fewer than ``min_frames`` frames.
    """
    shape = tuple(int(n) for n in shape)
    if len(shape) != 3:
        raise ValueError(f"{name} must be a 3D array [T, H, W]; got {len(shape)}D of shape "
                         f"{shape}")
    if min(shape) == 0:
        raise ValueError(f"{name} must not have an empty axis; got shape {shape}")
    if shape[0] < min_frames:
        raise ValueError(
            f"{name} has {shape[0]} frames; at least {min_frames} are needed ({frames_rule})"
        )
    return shape


def check_grid(grid, shape, *, names=("t", "y", "x")) -> tuple:
    """Validate a block grid ``(n_t, n_y, n_x)`` against the extent it splits.

    Parameters
    ----------
    grid : tuple of int
        Number of blocks along each axis.
    shape : tuple of int
        Extent (in samples) available along each axis.

    Returns
    -------
    tuple of int

    Raises
    ------
    ValueError
        A grid entry is not a positive integer, or is larger than the extent along its axis.
    """
    grid = tuple(int(g) for g in grid)
    if len(grid) != len(shape) or any(g < 1 for g in grid):
        raise ValueError(f"grid must be {len(shape)} positive integers (t, y, x); got {grid}")
    for g, n, axis in zip(grid, shape, names):
        if g > n:
            raise ValueError(
                f"grid has {g} blocks along {axis} but only {n} samples are available there; "
                f"use at most {n}"
            )
    return grid


def mirror_symmetric(edges: np.ndarray, length: int) -> bool:
    """Whether ``n`` blocks (:func:`block_edges` of ``range(length)``) are placed symmetrically,
    so that in a mirror image block ``k`` covers what block ``n - 1 - k`` covered."""
    edges = np.asarray(edges)
    return bool(np.array_equal(edges, length - edges[::-1, ::-1]))


def block_edges(length: int, n_blocks: int, overlap: float = 0.0) -> np.ndarray:
    """Start and stop indices of ``n_blocks`` blocks covering ``range(length)``.

    Blocks have equal size (up to rounding); with ``overlap`` in [0, 1) each block is widened by
    that fraction of its size on both sides, clipped to the range.

    Returns
    -------
    ndarray of int64, shape (n_blocks, 2)
    """
    if not 0.0 <= overlap < 1.0:
        raise ValueError(f"overlap must be in [0, 1); got {overlap}")
    bounds = np.linspace(0, length, n_blocks + 1)
    if overlap == 0:
        edges = np.round(bounds).astype(np.int64)
        return np.stack([edges[:-1], edges[1:]], axis=1)
    half = overlap * (length / n_blocks) / 2
    starts = np.floor(bounds[:-1] - half).clip(0, length).astype(np.int64)
    stops = np.ceil(bounds[1:] + half).clip(0, length).astype(np.int64)
    return np.stack([starts, stops], axis=1)
