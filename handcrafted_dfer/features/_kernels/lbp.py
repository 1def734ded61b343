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

__all__ = ["MAPPINGS", "n_bins", "mapping_table", "code_dtype", "sampling_offsets",
           "plane_tables", "lbptop_counts"]

#: The supported mappings (scikit-image's ``method`` names).
MAPPINGS = ("nri_uniform", "uniform", "default")

#: Rows and columns of the XY, XT and YT planes as axes of the ``[T, H, W]`` volume.
PLANE_AXES = ((1, 2), (0, 2), (0, 1))

#: Interleaved copies of each private histogram (see :func:`lbptop_counts`); a power of two.
LANES = 4

#: Centres per strip of rows handled in one loop (a strip has at least one row).
STRIP = 16384


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


def code_dtype(P: tuple) -> np.dtype:
    """Integer type of the kernel's codes for neighbours ``P`` per plane: uint8 up to P = 8.

    Codes of up to 8 bits (compared with 8-bit samples) fill four times more SIMD lanes than int32.
    """
    return np.dtype(np.uint8) if max(P) <= 8 else np.dtype(np.int32)


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


def _weights(offsets: np.ndarray, length: int) -> np.ndarray:
    """Weights ``(1 - d, d)``, shape ``(n, 2, length)``, of every offset at every coordinate."""
    d = _fractions(offsets, length)
    return np.ascontiguousarray(np.stack([1.0 - d, d], axis=1))


@functools.lru_cache(maxsize=16)
def plane_tables(P: tuple, radius: tuple, shape: tuple):
    """Offsets and interpolation weights of the three planes' neighbours.

    A neighbour whose offsets are both whole numbers is read directly (scikit-image's formula
    then returns the voxel value exactly). The others are interpolated in two steps that repeat
    scikit-image's arithmetic: along the plane's column axis first (``top`` and ``bottom``), which
    depends only on the column offset and so is shared by every neighbour, plane and centre row
    with that offset (a *column pattern*), then along the row axis. A weight depends on one
    coordinate only (scikit-image computes the fraction from the absolute coordinate, so its
    rounding varies along that axis): it is given per coordinate, and the kernel uses it as a
    scalar per row (y) or frame (t), or as one row of weights shared by all rows (x). ``1 - d``
    is stored next to ``d`` (the same float64 value that scikit-image computes).

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
    off : ndarray of int64, shape (3, 3, P_max)
        Per plane and neighbour: ``floor`` and ``ceil`` of the row offset (``[:, 0]``, ``[:, 1]``,
        in rows of the plane) and the flat offset within a frame of the directly read voxel, or
        of the column-interpolated value, of the ``floor`` row (``[:, 2]``).
    t_frac : ndarray of float64, shape (3, P_max, 2, T)
        Row weights ``(1 - dr, dr)`` of the XT and YT neighbours at each frame.
    xy_frac : ndarray of float64, shape (P_max, 2, H)
        Row weights ``(1 - dr, dr)`` of the XY neighbours at each row.
    pattern : ndarray of int64, shape (3, P_max)
        -1 for a directly read neighbour, else its column pattern (of the x patterns for the XY
        and XT planes, of the y patterns for YT).
    pairs : ndarray of int64, shape (3, P_max, 2)
        The interpolated neighbours of each plane two by two (a lone last one paired with
        itself), padded with -1; the kernel handles a pair in one loop.
    x_patterns, y_patterns : tuple (lo, hi, frac)
        Flat offsets within a frame (int64, shape (n,)) of the ``floor`` and ``ceil`` columns and
        weights ``(1 - dc, dc)`` at each column (float64, shape (n, 2, W) along x, (n, 2, H) along
        y) of the column patterns along x and along y. All read-only.
    """
    T, H, W = shape
    p_max = max(P)
    off = np.zeros((3, 3, p_max), dtype=np.int64)
    t_frac = np.zeros((3, p_max, 2, T), dtype=np.float64)
    xy_frac = np.zeros((p_max, 2, H), dtype=np.float64)
    pattern = np.full((3, p_max), -1, dtype=np.int64)
    keys = {1: [], 2: []}  # distinct column offsets along y (axis 1) and x (axis 2)
    stride = {1: W, 2: 1}  # flat step within a frame along y and x
    for k, (row_axis, col_axis) in enumerate(PLANE_AXES):
        rp, cp = sampling_offsets(P[k], radius[row_axis], radius[col_axis])
        off[k, 0, : P[k]] = np.floor(rp)
        off[k, 1, : P[k]] = np.ceil(rp)
        # flat offset within a frame: XY rows are y; XT, YT rows are frames (offset 0 in frame)
        row_step = W if k == 0 else 0
        off[k, 2, : P[k]] = off[k, 0, : P[k]] * row_step
        if k == 0:
            xy_frac[: P[k]] = _weights(rp, H)
        else:
            t_frac[k, : P[k]] = _weights(rp, T)
        for p in range(P[k]):
            if rp[p] != np.floor(rp[p]) or cp[p] != np.floor(cp[p]):
                if cp[p] not in keys[col_axis]:
                    keys[col_axis].append(cp[p])
                pattern[k, p] = keys[col_axis].index(cp[p])
            else:
                off[k, 2, p] += int(np.floor(cp[p])) * stride[col_axis]

    def patterns(axis):
        o = np.asarray(keys[axis], dtype=np.float64)
        return (np.floor(o).astype(np.int64) * stride[axis],
                np.ceil(o).astype(np.int64) * stride[axis],
                _weights(o, shape[axis]))

    # interpolated neighbours two by two (a lone last one paired with itself)
    pairs = np.full((3, p_max, 2), -1, dtype=np.int64)
    for k in range(3):
        interp = np.flatnonzero(pattern[k] >= 0)
        interp = np.append(interp, interp[-1:]) if interp.size % 2 else interp
        pairs[k, : interp.size // 2] = interp.reshape(-1, 2)
    tables = (off, t_frac, xy_frac, pattern, pairs, patterns(2), patterns(1))
    for a in (off, t_frac, xy_frac, pattern, pairs, *tables[5], *tables[6]):
        a.flags.writeable = False
    return tables


@njit(cache=True, inline="always")
def _bits_direct(code, sample, centre, bit):
    # sample - centre >= 0 is sample >= centre for finite values, also in the volume's own dtype;
    # bit * (...) rather than (...) << p keeps the arithmetic in the codes' width (8 bits: SIMD)
    for i in range(code.shape[0]):
        code[i] |= bit * (sample[i] >= centre[i])


@njit(cache=True, inline="always")
def _bits_rows(code, centre, top_a, bottom_a, w0_a, w1_a, bit_a, top_b, bottom_b, w0_b, w1_b,
               bit_b):
    # two interpolated neighbours a, b at once (one load and store of the code and one load of
    # the centre for both); scikit-image: (1 - dr) * top + dr * bottom, then sample - centre >= 0,
    # with w0, w1 = 1 - dr, dr
    for i in range(code.shape[0]):
        c = centre[i]
        code[i] |= (bit_a * (w0_a * top_a[i] + w1_a * bottom_a[i] >= c)
                    | bit_b * (w0_b * top_b[i] + w1_b * bottom_b[i] >= c))


@njit(cache=True, inline="always")
def _count(h, code):
    for i in range(code.shape[0]):
        h[i & (LANES - 1), code[i]] += 1


@njit(cache=True, inline="always")
def _columns(out, a, b, w0, w1):
    # scikit-image's (1 - dc) * I[r, c0] + dc * I[r, c1], one weight per element
    for i in range(out.shape[0]):
        out[i] = w0[i] * a[i] + w1[i] * b[i]


@njit(cache=True, inline="always")
def _columns_scalar(out, a, b, w0, w1):
    # the same with one weight for the whole range
    for i in range(out.shape[0]):
        out[i] = w0 * a[i] + w1 * b[i]


@njit(cache=True)
def _count_frames(hist, volume, t_start, t_stop, margin, P, off, t_frac, xy_frac, pattern,
                  pairs, x_patterns, y_patterns, tables, t_blocks, y_blocks, x_blocks, map_late,
                  code_dtype):
    """Add the counts of the centre frames ``t_start <= t < t_stop`` to ``hist``.

    A plain (serial) function, called once per thread by :func:`lbptop_counts`: compiled outside
    the parallel region, its loops vectorise. Each frame is handled as one flat array of
    ``H * W`` values, in strips of several rows: a neighbour's samples for all the centres of a
    strip are one contiguous range (centres on the border columns get meaningless codes, which
    are not counted), so the loops are long and there is little fixed cost per row. The XY
    interpolated neighbours, whose row weights change from row to row, and the column
    interpolation along x go row by row instead, with scalar weights or one shared row of them
    (no per-element weight arrays to stream through the cache).
    """
    T, H, W = volume.shape
    HW = H * W
    dflat = volume.reshape(T, HW)  # flat frames in the volume's own dtype
    mt, my, mx = margin[0], margin[1], margin[2]
    ring = 2 * mt + 1  # frames t - mt ... t + mt of column-interpolated values, by f % ring
    xp_lo, xp_hi, xp_frac = x_patterns
    yp_lo, yp_hi, yp_frac = y_patterns
    gt, gy, gx = t_blocks.shape[0], y_blocks.shape[0], x_blocks.shape[0]
    strip = max(1, STRIP // W)
    # column-interpolated frames, valid on [mx, HW - mx) (x) and [my W, HW - my W) (y)
    vals = np.empty((ring, HW), dtype=np.float64)  # float64 frames, by f % ring
    cols_x = np.zeros((xp_lo.shape[0], ring, HW), dtype=np.float64)
    cols_y = np.zeros((yp_lo.shape[0], ring, HW), dtype=np.float64)
    codes = np.empty((3, strip * W), dtype=code_dtype)
    for t in range(t_start, t_stop):
        for f in range(t - mt if t == t_start else t + mt, t + mt + 1):
            flat = vals[f % ring]
            for i in range(HW):
                flat[i] = dflat[f, i]
            # x patterns: weights vary along x only, so one row of weights serves every row
            for j in range(xp_lo.shape[0]):
                for y in range(H):
                    s, e = y * W + mx, y * W + W - mx
                    _columns(cols_x[j, f % ring, s:e], flat[s + xp_lo[j]:e + xp_lo[j]],
                             flat[s + xp_hi[j]:e + xp_hi[j]], xp_frac[j, 0, mx:W - mx],
                             xp_frac[j, 1, mx:W - mx])
            # y patterns: one weight per row
            for j in range(yp_lo.shape[0]):
                for y in range(my, H - my):
                    s, e = y * W, y * W + W
                    _columns_scalar(cols_y[j, f % ring, s:e], flat[s + yp_lo[j]:e + yp_lo[j]],
                                    flat[s + yp_hi[j]:e + yp_hi[j]], yp_frac[j, 0, y],
                                    yp_frac[j, 1, y])
        tv = t - mt
        for y0 in range(my, H - my, strip):
            y1 = min(y0 + strip, H - my)
            s = y0 * W + mx  # first and last centre of the strip, flat in the frame
            e = (y1 - 1) * W + W - mx
            n = e - s
            centre = vals[t % ring, s:e]
            centre_d = dflat[t, s:e]
            for k in range(3):
                code = codes[k, :n]
                code[:] = 0
                for p in range(P[k]):  # neighbours read directly
                    if pattern[k, p] < 0:
                        o = off[k, 2, p]
                        f = t if k == 0 else t + off[k, 0, p]  # XT, YT: frame t + r0
                        _bits_direct(code, dflat[f, s + o:e + o], centre_d,
                                     code_dtype.type(1 << p))
                for i_pair in range(pairs.shape[1]):  # interpolated neighbours, two by two
                    pa, pb = pairs[k, i_pair, 0], pairs[k, i_pair, 1]
                    if pa < 0:
                        break
                    bit_a, bit_b = code_dtype.type(1 << pa), code_dtype.type(1 << pb)
                    ja, jb = pattern[k, pa], pattern[k, pb]
                    if k == 0:  # XY: rows y, columns x, within frame t
                        # one weight per row (scikit-image's rounding depends on y): row by row
                        # within the strip; column-interpolated rows r0 and r1 = r0 + da (db)
                        ca, cb = cols_x[ja, t % ring], cols_x[jb, t % ring]
                        oa, ob = off[k, 2, pa], off[k, 2, pb]
                        da = (off[k, 1, pa] - off[k, 0, pa]) * W
                        db = (off[k, 1, pb] - off[k, 0, pb]) * W
                        for y in range(y0, y1):
                            a = s + (y - y0) * W  # first centre of row y, flat in the frame
                            b = a + W - 2 * mx
                            _bits_rows(code[a - s:b - s], centre[a - s:b - s],
                                       ca[a + oa:b + oa], ca[a + oa + da:b + oa + da],
                                       xy_frac[pa, 0, y], xy_frac[pa, 1, y], bit_a,
                                       cb[a + ob:b + ob], cb[a + ob + db:b + ob + db],
                                       xy_frac[pb, 0, y], xy_frac[pb, 1, y], bit_b)
                    else:  # XT: columns x; YT: columns y; rows are frames, one weight each
                        ca = cols_x[ja] if k == 1 else cols_y[ja]
                        cb = cols_x[jb] if k == 1 else cols_y[jb]
                        _bits_rows(code, centre,
                                   ca[(t + off[k, 0, pa]) % ring, s:e],
                                   ca[(t + off[k, 1, pa]) % ring, s:e],
                                   t_frac[k, pa, 0, t], t_frac[k, pa, 1, t], bit_a,
                                   cb[(t + off[k, 0, pb]) % ring, s:e],
                                   cb[(t + off[k, 1, pb]) % ring, s:e],
                                   t_frac[k, pb, 0, t], t_frac[k, pb, 1, t], bit_b)
                if not map_late:
                    table = tables[k]
                    for i in range(n):
                        code[i] = table[code[i]]
            for y in range(y0, y1):
                yv = y - my
                row = (y - y0) * W  # code index of the centre (y, mx)
                for bt in range(gt):
                    if tv < t_blocks[bt, 0] or tv >= t_blocks[bt, 1]:
                        continue
                    for by in range(gy):
                        if yv < y_blocks[by, 0] or yv >= y_blocks[by, 1]:
                            continue
                        for bx in range(gx):
                            for k in range(3):
                                _count(hist[bt, by, bx, k],
                                       codes[k, row + x_blocks[bx, 0]:row + x_blocks[bx, 1]])


@njit(cache=True, parallel=True)
def lbptop_counts(volume, margin, P, off, t_frac, xy_frac, pattern, pairs, x_patterns,
                  y_patterns, tables, t_blocks, y_blocks, x_blocks, n_bins, map_late, code_dtype,
                  n_threads):
    """LBP-TOP counts per block and plane.

    Parameters
    ----------
    volume : ndarray of uint8 or float64, shape (T, H, W), C-contiguous
        Interpolation runs in float64 (on a copy of the few frames in use); the samples that
        need no interpolation are compared with the centre in the volume's own dtype (the same
        result as scikit-image's float64 ``sample - centre >= 0``, and 32 comparisons per
        instruction for ``uint8``).
    margin : ndarray of int64, shape (3,)
        Border (t, y, x) without valid centres: ``ceil`` of the radius along each axis.
    P : ndarray of int64, shape (3,)
    off, t_frac, xy_frac, pattern, pairs, x_patterns, y_patterns
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
    code_dtype : numpy.dtype
        Integer type of the codes (from :func:`code_dtype`).
    n_threads : int
        Number of private histograms (``numba.get_num_threads()``).

    Returns
    -------
    ndarray of int64, shape (n_t, n_y, n_x, 3, n_bins)
    """
    mt = margin[0]
    n_t = volume.shape[0] - 2 * mt
    gt, gy, gx = t_blocks.shape[0], y_blocks.shape[0], x_blocks.shape[0]
    n_chunks = min(n_threads, n_t)
    n_hist = tables.shape[1] if map_late else n_bins
    private = np.zeros((n_chunks, gt, gy, gx, 3, LANES, n_hist), dtype=np.int64)
    for chunk in prange(n_chunks):
        _count_frames(private[chunk], volume, mt + chunk * n_t // n_chunks,
                      mt + (chunk + 1) * n_t // n_chunks, margin, P, off, t_frac, xy_frac, pattern,
                      pairs, x_patterns, y_patterns, tables, t_blocks, y_blocks, x_blocks,
                      map_late, code_dtype)
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
