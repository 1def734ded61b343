"""Numba kernel of LBP-TOP and the tables it needs (private; the public API is features.lbptop).

The sampling follows ``skimage.feature.local_binary_pattern`` bit for bit: neighbour ``p`` of a
centre ``(r, c)`` lies at ``(r + rp[p], c + cp[p])`` with ``rp = round(-R_row sin(2 pi p / P), 5)``
and ``cp = round(R_col cos(2 pi p / P), 5)`` (the radius first cast to float32, as scikit-image's
``float R`` argument does), it is interpolated bilinearly with scikit-image's expression

    ((1 - dr) * ((1 - dc) * I[r0, c0] + dc * I[r0, c1])
     + dr * ((1 - dc) * I[r1, c0] + dc * I[r1, c1]))

where ``dr = (r + rp) - floor(r + rp)`` is computed for the absolute row (so the float64 weights
carry exactly scikit-image's rounding), and bit ``p`` is ``sample - centre >= 0``. The code
``sum(bit_p << p)`` is mapped through a lookup table built with scikit-image's rules (before
counting, or, for small P, on the counts of the raw codes).
"""

from __future__ import annotations

import functools

import numpy as np
from numba import njit, prange

__all__ = ["MAPPINGS", "n_bins", "mapping_table", "sampling_offsets", "plane_tables",
           "lbptop_counts"]

#: The supported mappings (scikit-image's ``method`` names).
MAPPINGS = ("nri_uniform", "uniform", "default")

#: Rows and columns of the XY, XT and YT planes as axes of the ``[T, H, W]`` volume.
PLANE_AXES = ((1, 2), (0, 2), (0, 1))

#: Interleaved copies of each private histogram (see :func:`lbptop_counts`).
LANES = 4


def n_bins(P: int, mapping: str) -> int:
    """Number of histogram bins of a mapping: ``P(P-1)+3``, ``P+2`` or ``2**P``."""
    if mapping == "nri_uniform":
        return P * (P - 1) + 3
    if mapping == "uniform":
        return P + 2
    return 2**P


@functools.lru_cache(maxsize=None)
def mapping_table(P: int, mapping: str) -> np.ndarray:
    """Bin of every raw code ``sum(bit_p << p)``, ``p < P``, under scikit-image's rules.

    ``uniform`` is riu2 (number of ones for patterns with at most two 0/1 changes, ``P + 1``
    otherwise); ``nri_uniform`` is the u2 mapping (0 all zeros, ``1 + (n_ones - 1) P + rot``
    for the other uniform patterns, ``P(P-1)+1`` all ones, ``P(P-1)+2`` non-uniform).

    Returns
    -------
    ndarray of int32, shape (2**P,), read-only
    """
    codes = np.arange(2**P, dtype=np.int64)
    if mapping == "default":
        table = codes
    else:
        bits = (codes[:, None] >> np.arange(P)) & 1
        changes = np.abs(np.diff(bits, axis=1)).sum(axis=1)
        n_ones = bits.sum(axis=1)
        if mapping == "uniform":
            table = np.where(changes <= 2, n_ones, P + 1)
        else:
            first_one = np.argmax(bits == 1, axis=1)
            first_zero = np.argmax(bits == 0, axis=1)
            rot = np.where(first_one == 0, n_ones - first_zero, P - first_one)
            table = np.where(n_ones == 0, 0, 1 + (n_ones - 1) * P + rot)
            table = np.where(n_ones == P, P * (P - 1) + 1, table)
            table = np.where(changes <= 2, table, P * (P - 1) + 2)
    table = np.ascontiguousarray(table, dtype=np.int32)
    table.flags.writeable = False
    return table


@functools.lru_cache(maxsize=None)
def sampling_offsets(P: int, R_row: float, R_col: float) -> tuple[np.ndarray, np.ndarray]:
    """Row and column offsets of the ``P`` neighbours on an ellipse, as scikit-image rounds them.

    Returns
    -------
    rp, cp : ndarray of float64, shape (P,)
    """
    angles = 2 * np.pi * np.arange(P, dtype=np.double) / P
    R_row = float(np.float32(R_row))
    R_col = float(np.float32(R_col))
    return np.round(-R_row * np.sin(angles), 5), np.round(R_col * np.cos(angles), 5)


def _fractions(offsets: np.ndarray, length: int) -> np.ndarray:
    """``(i + o) - floor(i + o)`` for every offset ``o`` and coordinate ``i < length``."""
    pos = np.arange(length, dtype=np.float64)[None, :] + offsets[:, None]
    return pos - np.floor(pos)


def plane_tables(P: tuple, radius: tuple, shape: tuple):
    """Offsets and interpolation weights of the three planes' neighbours.

    A neighbour whose offsets are both whole numbers is read directly (scikit-image's formula
    then returns the voxel value exactly). The others are interpolated in two steps that repeat
    scikit-image's arithmetic: along the plane's column axis first (``top`` and ``bottom``), which
    depends only on the column offset and so is shared by every neighbour, plane and centre row
    with that offset (a *column pattern*), then along the row axis.

    Parameters
    ----------
    P : tuple of 3 int
        Neighbours per plane (XY, XT, YT).
    radius : tuple of 3 float
        (R_t, R_y, R_x).
    shape : tuple of 3 int
        (T, H, W) of the volume.

    Returns
    -------
    lo, hi : ndarray of int64, shape (3, 2, P_max)
        ``floor`` and ``ceil`` of the row (``[:, 0]``) and column (``[:, 1]``) offsets.
    row_frac : ndarray of float64, shape (3, P_max, max(shape))
        Row weight ``dr`` of each neighbour at each absolute row coordinate.
    pattern : ndarray of int64, shape (3, P_max)
        -1 for a directly read neighbour, else its column pattern (of the x patterns for the XY
        and XT planes, of the y patterns for YT).
    x_patterns, y_patterns : tuple (lo, hi, frac)
        Column offsets (int64, shape (n,)) and column weights ``dc`` at each absolute coordinate
        (float64, shape (n, W) or (n, H)) of the column patterns along x and along y.
    """
    p_max = max(P)
    lo = np.zeros((3, 2, p_max), dtype=np.int64)
    hi = np.zeros((3, 2, p_max), dtype=np.int64)
    row_frac = np.zeros((3, p_max, max(shape)), dtype=np.float64)
    pattern = np.full((3, p_max), -1, dtype=np.int64)
    keys = {1: [], 2: []}  # distinct column offsets along y (axis 1) and x (axis 2)
    for k, (row_axis, col_axis) in enumerate(PLANE_AXES):
        rp, cp = sampling_offsets(P[k], radius[row_axis], radius[col_axis])
        for j, off in enumerate((rp, cp)):
            lo[k, j, : P[k]] = np.floor(off)
            hi[k, j, : P[k]] = np.ceil(off)
        row_frac[k, : P[k], : shape[row_axis]] = _fractions(rp, shape[row_axis])
        for p in range(P[k]):
            if rp[p] != np.floor(rp[p]) or cp[p] != np.floor(cp[p]):
                if cp[p] not in keys[col_axis]:
                    keys[col_axis].append(cp[p])
                pattern[k, p] = keys[col_axis].index(cp[p])

    def patterns(axis):
        off = np.asarray(keys[axis], dtype=np.float64)
        return (np.floor(off).astype(np.int64), np.ceil(off).astype(np.int64),
                _fractions(off, shape[axis]))

    return lo, hi, row_frac, pattern, patterns(2), patterns(1)


@njit(cache=True, inline="always")
def _bits_direct(code, sample, centre, shift):
    for i in range(code.shape[0]):
        code[i] |= np.int32(sample[i] - centre[i] >= 0.0) << shift


@njit(cache=True, inline="always")
def _bits_rows(code, top, bottom, dr, centre, shift):
    # scikit-image: (1 - dr) * top + dr * bottom, then sample - centre >= 0
    wr = 1.0 - dr
    for i in range(code.shape[0]):
        code[i] |= np.int32(wr * top[i] + dr * bottom[i] - centre[i] >= 0.0) << shift


@njit(cache=True, inline="always")
def _columns(out, a, b, dc):
    # scikit-image's (1 - dc) * I[r, c0] + dc * I[r, c1], one weight per element
    for i in range(out.shape[0]):
        out[i] = (1.0 - dc[i]) * a[i] + dc[i] * b[i]


@njit(cache=True, inline="always")
def _columns_scalar(out, a, b, dc):
    # the same with one weight for the whole row
    wc = 1.0 - dc
    for i in range(out.shape[0]):
        out[i] = wc * a[i] + dc * b[i]


@njit(cache=True, parallel=True)
def lbptop_counts(volume, margin, P, lo, hi, row_frac, pattern, x_patterns, y_patterns, tables,
                  t_blocks, y_blocks, x_blocks, n_bins, map_late, n_threads):
    """LBP-TOP counts per block and plane.

    Parameters
    ----------
    volume : ndarray of float64, shape (T, H, W), C-contiguous
    margin : ndarray of int64, shape (3,)
        Border (t, y, x) without valid centres: ``ceil`` of the radius along each axis.
    P : ndarray of int64, shape (3,)
    lo, hi, row_frac, pattern, x_patterns, y_patterns
        From :func:`plane_tables`.
    tables : ndarray of int32, shape (3, 2**P_max)
        Mapping table of each plane (from :func:`mapping_table`).
    t_blocks, y_blocks, x_blocks : ndarray of int64, shape (n, 2)
        Block [start, stop) along each axis, in coordinates of the valid-centre range.
    n_bins : int
    map_late : bool
        Count the raw codes and map the counts at the end (fast for small ``2**P``: no lookup
        per voxel, and raw codes spread over more bins, so fewer increments wait on each other),
        instead of mapping every code before counting it.
    n_threads : int
        Number of private histograms (``numba.get_num_threads()``).

    Returns
    -------
    ndarray of int64, shape (n_t, n_y, n_x, 3, n_bins)
    """
    T, H, W = volume.shape
    mt, my, mx = margin[0], margin[1], margin[2]
    n_t, n_y, n_x = T - 2 * mt, H - 2 * my, W - 2 * mx
    ring = 2 * mt + 1  # frames t - mt ... t + mt of column-interpolated values, by f % ring
    xp_lo, xp_hi, xp_frac = x_patterns
    yp_lo, yp_hi, yp_frac = y_patterns
    gt, gy, gx = t_blocks.shape[0], y_blocks.shape[0], x_blocks.shape[0]
    n_chunks = min(n_threads, n_t)
    # private histograms per chunk of centre frames (each chunk runs on one thread), each in
    # LANES interleaved copies so that runs of one bin do not wait on each other's increments
    n_hist = tables.shape[1] if map_late else n_bins
    private = np.zeros((n_chunks, gt, gy, gx, 3, LANES, n_hist), dtype=np.int64)
    for chunk in prange(n_chunks):
        hist = private[chunk]
        cols_x = np.empty((xp_lo.shape[0], ring, H, n_x), dtype=np.float64)
        cols_y = np.empty((yp_lo.shape[0], ring, n_y, n_x), dtype=np.float64)
        codes = np.empty((3, n_x), dtype=np.int32)
        t_start = mt + chunk * n_t // n_chunks
        t_stop = mt + (chunk + 1) * n_t // n_chunks
        for t in range(t_start, t_stop):
            for f in range(t - mt if t == t_start else t + mt, t + mt + 1):
                # column interpolation along x (XY, XT planes) and along y (YT plane)
                for j in range(xp_lo.shape[0]):
                    c0, c1 = mx + xp_lo[j], mx + xp_hi[j]
                    for y in range(H):
                        _columns(cols_x[j, f % ring, y], volume[f, y, c0:c0 + n_x],
                                 volume[f, y, c1:c1 + n_x], xp_frac[j, mx:W - mx])
                for j in range(yp_lo.shape[0]):
                    for yv in range(n_y):
                        y = my + yv
                        _columns_scalar(cols_y[j, f % ring, yv], volume[f, y + yp_lo[j], mx:W - mx],
                                        volume[f, y + yp_hi[j], mx:W - mx], yp_frac[j, y])
            tv = t - mt
            for y in range(my, H - my):
                yv = y - my
                centre = volume[t, y, mx:W - mx]
                for k in range(3):
                    code = codes[k]
                    code[:] = 0
                    for p in range(P[k]):
                        shift = np.int32(p)
                        r0, r1 = lo[k, 0, p], hi[k, 0, p]
                        c0 = lo[k, 1, p]
                        j = pattern[k, p]
                        if k == 0:  # XY: rows y, columns x
                            if j < 0:
                                _bits_direct(code, volume[t, y + r0, mx + c0:W - mx + c0],
                                             centre, shift)
                            else:
                                _bits_rows(code, cols_x[j, t % ring, y + r0],
                                           cols_x[j, t % ring, y + r1], row_frac[k, p, y],
                                           centre, shift)
                        elif k == 1:  # XT: rows t, columns x
                            if j < 0:
                                _bits_direct(code, volume[t + r0, y, mx + c0:W - mx + c0],
                                             centre, shift)
                            else:
                                _bits_rows(code, cols_x[j, (t + r0) % ring, y],
                                           cols_x[j, (t + r1) % ring, y], row_frac[k, p, t],
                                           centre, shift)
                        else:  # YT: rows t, columns y
                            if j < 0:
                                _bits_direct(code, volume[t + r0, y + c0, mx:W - mx], centre,
                                             shift)
                            else:
                                _bits_rows(code, cols_y[j, (t + r0) % ring, yv],
                                           cols_y[j, (t + r1) % ring, yv], row_frac[k, p, t],
                                           centre, shift)
                    if not map_late:
                        table = tables[k]
                        for i in range(n_x):
                            code[i] = table[code[i]]
                for bt in range(gt):
                    if tv < t_blocks[bt, 0] or tv >= t_blocks[bt, 1]:
                        continue
                    for by in range(gy):
                        if yv < y_blocks[by, 0] or yv >= y_blocks[by, 1]:
                            continue
                        for bx in range(gx):
                            for k in range(3):
                                h = hist[bt, by, bx, k]
                                for i in range(x_blocks[bx, 0], x_blocks[bx, 1]):
                                    h[i % LANES, codes[k, i]] += 1
    counts = private.sum(axis=0).sum(axis=-2)
    if not map_late:
        return counts
    mapped = np.zeros((gt, gy, gx, 3, n_bins), dtype=np.int64)
    for bt in range(gt):
        for by in range(gy):
            for bx in range(gx):
                for k in range(3):
                    for c in range(2 ** P[k]):
                        mapped[bt, by, bx, k, tables[k, c]] += counts[bt, by, bx, k, c]
    return mapped
