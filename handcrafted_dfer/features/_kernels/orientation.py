"""Magnitude-weighted orientation histograms on a (t, y, x) cell grid, and their normalization.

Shared by HOG3D (cell mapping, normalization) and the optical-flow descriptors (HOF, MBHx and
MBHy all go through :func:`orientation_cell_histograms`).
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from .._validation import block_edges

__all__ = ["NORMALIZATIONS", "cell_indices", "cell_feature_names", "check_normalize",
           "normalize_blocks", "orientation_cell_histograms"]

#: Block normalizations understood by :func:`normalize_blocks`.
NORMALIZATIONS = ("l2", "l2-hys", "l1", None)


def cell_indices(shape, grid) -> tuple:
    """Cell index of every sample along each axis for a grid of non-overlapping cells.

    Parameters
    ----------
    shape : tuple of int
        Extent along each axis.
    grid : tuple of int
        Number of cells along each axis (already validated with ``check_grid``).

    Returns
    -------
    tuple of ndarray of int64
        One array per axis, of that axis' length; cell boundaries are those of ``block_edges``.
    """
    out = []
    for length, n in zip(shape, grid):
        edges = block_edges(length, n)
        out.append(np.repeat(np.arange(n, dtype=np.int64), edges[:, 1] - edges[:, 0]))
    return tuple(out)


def cell_feature_names(family: str, grid, n_bins: int) -> list:
    """Names ``family/r<row>c<col>/t<segment>/o<bin>`` in the C order of a
    ``(grid_t, grid_y, grid_x, n_bins)`` array; bins are zero-padded to a common width."""
    n_t, n_y, n_x = grid
    width = len(str(n_bins - 1))
    return [f"{family}/r{r}c{c}/t{t}/o{b:0{width}d}"
            for t in range(n_t) for r in range(n_y) for c in range(n_x) for b in range(n_bins)]


def check_normalize(normalize):
    """Validate a block normalization name (``"l2"``, ``"l2-hys"``, ``"l1"`` or None)."""
    if normalize not in NORMALIZATIONS:
        raise ValueError(
            f"normalize must be one of 'l2', 'l2-hys', 'l1' or None; got {normalize!r}"
        )
    return normalize


def normalize_blocks(hist: np.ndarray, normalize, *, hys_clip: float = 0.2) -> np.ndarray:
    """Normalize each histogram (last axis) on its own.

    Parameters
    ----------
    hist : ndarray of float64, shape (..., n_bins)
        Non-negative histograms.
    normalize : {"l2", "l2-hys", "l1", None}
        ``"l2"``: unit Euclidean norm; ``"l2-hys"``: L2, values clipped at ``hys_clip``, L2 again
        (Dalal & Triggs); ``"l1"``: unit sum; None: unchanged.
    hys_clip : float
        Clipping value of L2-Hys.

    Returns
    -------
    ndarray
        A new array. A block without any vote (all zeros) stays all zeros.
    """
    check_normalize(normalize)
    hist = np.array(hist, dtype=np.float64)
    if normalize is None:
        return hist
    if normalize == "l1":
        return _divide(hist, hist.sum(axis=-1, keepdims=True))
    hist = _divide(hist, np.sqrt(np.sum(hist * hist, axis=-1, keepdims=True)))
    if normalize == "l2-hys":
        hist = np.minimum(hist, hys_clip)
        hist = _divide(hist, np.sqrt(np.sum(hist * hist, axis=-1, keepdims=True)))
    return hist


def _divide(hist, norm):
    return np.divide(hist, norm, out=np.zeros_like(hist), where=norm > 0)


@nb.njit(parallel=True, cache=True)
def orientation_cell_histograms(fx, fy, cell_t, cell_y, cell_x, n_t, n_y, n_x, n_bins,
                                zero_bin, zero_threshold, n_threads):  # pragma: no cover - compiled
    """Orientation histograms of the 2D vector field ``(fx, fy)`` accumulated per cell.

    Each sample votes its magnitude ``hypot(fx, fy)`` into the bin of its angle
    ``atan2(fy, fx)``; bin ``k`` is centred on ``2*pi*k/n_bins`` and covers
    ``[centre - pi/n_bins, centre + pi/n_bins)``. With ``zero_bin``, samples whose magnitude is
    below ``zero_threshold`` instead add 1 to an extra last bin. Frames are split between
    ``n_threads`` threads, each with a private histogram, summed at the end.

    Parameters
    ----------
    fx, fy : ndarray of float, shape (T, H, W)
    cell_t, cell_y, cell_x : ndarray of int64
        Cell index of every frame, row and column.
    n_t, n_y, n_x, n_bins : int
    zero_bin : bool
    zero_threshold : float
    n_threads : int
        Number of private histograms (``numba.get_num_threads()``).

    Returns
    -------
    ndarray of float64, shape (n_t, n_y, n_x, n_bins + zero_bin)
    """
    T, H, W = fx.shape
    n_out = n_bins + 1 if zero_bin else n_bins
    width = 2.0 * math.pi / n_bins
    n_chunks = max(1, min(n_threads, T))
    private = np.zeros((n_chunks, n_t, n_y, n_x, n_out))
    for c in nb.prange(n_chunks):
        for t in range(c * T // n_chunks, (c + 1) * T // n_chunks):
            ct = cell_t[t]
            for y in range(H):
                cy = cell_y[y]
                for x in range(W):
                    u = fx[t, y, x]
                    v = fy[t, y, x]
                    mag = math.sqrt(u * u + v * v)
                    if zero_bin and mag < zero_threshold:
                        private[c, ct, cy, cell_x[x], n_bins] += 1.0
                        continue
                    if mag == 0.0:
                        continue
                    b = int(math.floor(math.atan2(v, u) / width + 0.5))
                    if b < 0:
                        b += n_bins
                    elif b >= n_bins:
                        b -= n_bins
                    private[c, ct, cy, cell_x[x], b] += mag
    out = np.zeros((n_t, n_y, n_x, n_out))
    for c in range(n_chunks):
        out += private[c]
    return out
