"""Numba kernel of the 3D-HOG descriptor: gradients, polyhedron quantisation, cell votes."""

from __future__ import annotations

import math

import numba as nb
import numpy as np

__all__ = ["hog3d_cell_histograms"]


@nb.njit(inline="always")
def _difference(a_prev, a, a_next, i, n):  # pragma: no cover - compiled
    """``numpy.gradient`` along one axis: central inside, one-sided at the two ends."""
    if i == 0:
        return a_next - a
    if i == n - 1:
        return a - a_prev
    return (a_next - a_prev) / 2.0


@nb.njit(parallel=True, cache=True)
def hog3d_cell_histograms(volume, normals, threshold, fold, cell_t, cell_y, cell_x,
                          n_t, n_y, n_x, n_threads):  # pragma: no cover - compiled
    """Kläser's quantised gradient votes of every voxel, summed per cell.

    For the gradient ``g = (g_t, g_y, g_x)`` of a voxel (``numpy.gradient`` differences) with
    magnitude ``m > 0``: ``q_b = normals[b] . g / m`` (``|q_b|`` when ``fold``), ``q_b -=
    threshold``, negatives set to zero, then ``q`` is rescaled to Euclidean norm ``m`` and added to
    the voxel's cell. Frames are split between ``n_threads`` threads, each with a private
    histogram.

    Parameters
    ----------
    volume : ndarray, shape (T, H, W), every axis at least 2 long
    normals : ndarray of float64, shape (n_bins, 3)
        Unit face normals in (t, y, x) order.
    threshold : float
    fold : bool
    cell_t, cell_y, cell_x : ndarray of int64
        Cell index of every frame, row and column.
    n_t, n_y, n_x : int
    n_threads : int
        Number of private histograms (``numba.get_num_threads()``).

    Returns
    -------
    ndarray of float64, shape (n_t, n_y, n_x, n_bins)
    """
    T, H, W = volume.shape
    n_bins = normals.shape[0]
    n_chunks = max(1, min(n_threads, T))
    private = np.zeros((n_chunks, n_t, n_y, n_x, n_bins))
    for c in nb.prange(n_chunks):
        q = np.empty(n_bins)
        for t in range(c * T // n_chunks, (c + 1) * T // n_chunks):
            ct = cell_t[t]
            tp = max(t - 1, 0)
            tn = min(t + 1, T - 1)
            for y in range(H):
                cy = cell_y[y]
                yp = max(y - 1, 0)
                yn = min(y + 1, H - 1)
                for x in range(W):
                    xp = max(x - 1, 0)
                    xn = min(x + 1, W - 1)
                    centre = float(volume[t, y, x])
                    gt = _difference(float(volume[tp, y, x]), centre, float(volume[tn, y, x]), t, T)
                    gy = _difference(float(volume[t, yp, x]), centre, float(volume[t, yn, x]), y, H)
                    gx = _difference(float(volume[t, y, xp]), centre, float(volume[t, y, xn]), x, W)
                    mag = math.sqrt(gt * gt + gy * gy + gx * gx)
                    if mag == 0.0:
                        continue
                    norm2 = 0.0
                    for b in range(n_bins):
                        p = (normals[b, 0] * gt + normals[b, 1] * gy + normals[b, 2] * gx) / mag
                        if fold:
                            p = abs(p)
                        p -= threshold
                        if p < 0.0:
                            p = 0.0
                        q[b] = p
                        norm2 += p * p
                    if norm2 == 0.0:
                        continue
                    scale = mag / math.sqrt(norm2)
                    cx = cell_x[x]
                    for b in range(n_bins):
                        if q[b] > 0.0:
                            private[c, ct, cy, cx, b] += q[b] * scale
    out = np.zeros((n_t, n_y, n_x, n_bins))
    for c in range(n_chunks):
        out += private[c]
    return out
