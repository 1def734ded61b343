"""LBP-TOP: local binary patterns on three orthogonal planes (Zhao & Pietikainen, 2007)."""

from __future__ import annotations

import functools
import math
import numbers

import numba
import numpy as np

from ._kernels import lbp as _lbp
from ._validation import (block_edges, check_grid, check_volume, check_volume_shape,
                          mirror_symmetric)
from .base import ClipFeatureExtractor

__all__ = ["lbptop_histograms", "LBPTOP", "PLANES", "plane_bins"]

#: Plane names in output order.
PLANES = ("xy", "xt", "yt")

#: Largest number of neighbours per plane (the mapping tables have 2**P entries).
MAX_P = 16

#: Up to this many raw codes (2**P), the kernel counts raw codes and maps the counts at the end.
MAP_LATE_CODES = 256


def _check_P(P) -> tuple:
    if isinstance(P, numbers.Integral):
        values = (P,) * 3
    else:
        values = tuple(P) if np.ndim(P) == 1 else None
    if (values is None or len(values) != 3
            or not all(isinstance(p, numbers.Integral) and 1 <= p <= MAX_P for p in values)):
        raise ValueError(
            f"P must be an integer in [1, {MAX_P}] or three such integers (XY, XT, YT); got {P!r}"
        )
    return tuple(int(p) for p in values)


def _check_radius(radius) -> tuple:
    values = (radius,) * 3 if np.ndim(radius) == 0 else tuple(np.ravel(radius))
    if (len(values) != 3 or not all(isinstance(r, numbers.Real) for r in values)
            or not all(math.isfinite(r) and r > 0 for r in values)):
        raise ValueError(
            f"radius must be a positive number or three positive numbers (R_t, R_y, R_x); "
            f"got {radius!r}"
        )
    return tuple(float(r) for r in values)


def _check_mapping(mapping) -> str:
    if mapping not in _lbp.MAPPINGS:
        raise ValueError(f"mapping must be one of {', '.join(_lbp.MAPPINGS)}; got {mapping!r}")
    return mapping


def plane_bins(P=8, mapping="nri_uniform") -> tuple:
    """Bins of the XY, XT and YT histograms for ``P`` (an int or three) and a mapping."""
    return tuple(_lbp.n_bins(p, _check_mapping(mapping)) for p in _check_P(P))


def _block_layout(shape, *, radius, grid, overlap) -> tuple:
    """The margin (ceil of each radius), the checked grid and the block edges of LBP-TOP on
    volumes of ``shape`` (T, H, W).

    Shared by :func:`lbptop_histograms` and the extractor's feature names, so that a clip shape
    is checked before any clip is read. ``radius`` is checked already (:func:`_check_radius`).

    Raises
    ------
    ValueError
        Too few frames, rows or columns for the radius, or a grid finer than the range of
        valid centres.
    """
    margin = tuple(math.ceil(r) for r in radius)
    shape = check_volume_shape(shape, min_frames=2 * margin[0] + 1,
                               frames_rule="T >= 2*R_t + 1")
    for axis, name in ((1, "rows (H)"), (2, "columns (W)")):
        if shape[axis] < 2 * margin[axis] + 1:
            raise ValueError(
                f"volume has {shape[axis]} {name}; at least {2 * margin[axis] + 1} are "
                f"needed for radius {radius[axis]} along that axis (2*ceil(R)+1)"
            )
    valid = tuple(n - 2 * m for n, m in zip(shape, margin))
    grid = check_grid(grid, valid, names=("t (valid centres)", "y (valid centres)",
                                          "x (valid centres)"))
    return margin, grid, [block_edges(n, g, overlap) for n, g in zip(valid, grid)]


def lbptop_histograms(volume, *, P=8, radius=(1, 1, 1), mapping: str = "nri_uniform",
                      grid=(1, 1, 1), overlap: float = 0.0, normalize: bool = True) -> np.ndarray:
    """LBP histograms of the XY, XT and YT planes of a volume, per spatio-temporal block.

    Parameters
    ----------
    volume : array_like, shape (T, H, W)
        Grey volume, ``uint8`` or any integer or floating-point type (compared as float64 values,
        as given; NaN and infinite values are refused).
    P : int or sequence of 3 int, optional
        Neighbours on each circle, in [1, 16]; three values give the XY, XT and YT planes their own
        (their histograms then have different lengths: see Returns).
    radius : float or sequence of 3 float, optional
        Radius along each axis in the volume's order (R_t, R_y, R_x). The XY plane samples an
        ellipse of radii (R_y, R_x), XT (R_t, R_x) and YT (R_t, R_y) (row radius, column radius).
    mapping : {'nri_uniform', 'uniform', 'default'}, optional
        scikit-image's ``method``: ``nri_uniform`` is the u2 mapping with ``P(P-1)+3`` bins (59 for
        P=8: 0 all zeros ... 57 all ones, 58 non-uniform), ``uniform`` is riu2 with ``P+2`` bins,
        ``default`` the raw code with ``2**P`` bins.
    grid : sequence of 3 int, optional
        Number of blocks along t, y and x. Blocks split the range of *valid centres* (the voxels at
        least ``ceil(R)`` away from the border along every axis, where all three circles lie
        inside the volume) with :func:`~handcrafted_dfer.features._validation.block_edges`.
    overlap : float, optional
        Fraction in [0, 1) by which blocks are widened on both sides (see ``block_edges``).
    normalize : bool, optional
        If True, each block's histogram of each plane sums to 1.

    Returns
    -------
    ndarray, shape (grid_t, grid_y, grid_x, 3, n_bins)
        Histograms of the planes XY, XT, YT; float64 if ``normalize`` else int64 counts.
        ``n_bins`` is the largest of the three planes' bin counts; a plane with fewer bins (a
        smaller ``P``) is padded with zeros at the end of its last axis.

    Raises
    ------
    ValueError
        Wrong number of dimensions, too few frames (T < 2*ceil(R_t)+1) or rows/columns, NaN or
        infinite values, a grid finer than the range of valid centres, or a bad parameter.

    Notes
    -----
    Neighbour 0 is at (row 0, column +R) and neighbours go counter-clockwise; samples are
    interpolated bilinearly and bit p is ``sample_p - centre >= 0``, exactly as in
    :func:`skimage.feature.local_binary_pattern`, so that the XY, XT and YT counts equal the
    histograms of that function applied to ``volume[t]``, ``volume[:, y, :]`` and
    ``volume[:, :, x]`` over the valid centres (uint8 input, same P and R). A radius is cast to
    float32 first, as scikit-image does.

    References
    ----------
    .. [1] G. Zhao and M. Pietikainen, "Dynamic texture recognition using local binary patterns
           with an application to facial expressions", IEEE TPAMI 29(6), 915-928, 2007.
           :DOI:`10.1109/TPAMI.2007.1110`
    .. [2] T. Ojala, M. Pietikainen and T. Maenpaa, "Multiresolution gray-scale and rotation
           invariant texture classification with local binary patterns", IEEE TPAMI 24(7),
           971-987, 2002. :DOI:`10.1109/TPAMI.2002.1017623`
    """
    P, radius, mapping = _check_P(P), _check_radius(radius), _check_mapping(mapping)
    volume = check_volume(volume)
    margin, grid, edges = _block_layout(volume.shape, radius=radius, grid=grid, overlap=overlap)
    bins = [_lbp.n_bins(p, mapping) for p in P]
    tables = np.zeros((3, 2 ** max(P)), dtype=np.int32)
    for k, p in enumerate(P):
        tables[k, : 2**p] = _lbp.mapping_table(p, mapping)
    counts = _lbp.lbptop_counts(
        np.ascontiguousarray(volume), np.asarray(margin, dtype=np.int64),
        np.asarray(P, dtype=np.int64), *_lbp.plane_tables(P, radius, volume.shape), tables,
        *edges, max(bins), 2 ** max(P) <= MAP_LATE_CODES, _lbp.code_dtype(P),
        numba.get_num_threads(),
    )
    if not normalize:
        return counts
    return counts / counts.sum(axis=-1, keepdims=True)


@functools.lru_cache(maxsize=None)
def _reflected_bins(P: int, mapping: str) -> np.ndarray:
    """Bin of the left-right mirror image of each bin's patterns, on a plane whose columns are x.

    The mirror takes neighbour ``p`` (at angle ``2 pi p / P``) to neighbour ``P/2 - p`` (at
    ``pi`` minus that angle); each of the mappings sends the reflected codes of one bin to one
    bin (uniform patterns stay uniform, riu2 counts ones).

    Returns
    -------
    ndarray of int64, shape (n_bins,), read-only
    """
    codes = np.arange(2**P)
    bits = (codes[:, None] >> np.arange(P)) & 1
    reflected = (bits[:, (P // 2 - np.arange(P)) % P] << np.arange(P)).sum(axis=1)
    table = _lbp.mapping_table(P, mapping)
    bins = np.empty(_lbp.n_bins(P, mapping), dtype=np.int64)
    bins[table] = table[reflected]
    bins.flags.writeable = False
    return bins


@functools.lru_cache(maxsize=64)
def _mirror_by_reflection(shape: tuple, P: tuple, radius: tuple, grid: tuple,
                          overlap: float) -> bool:
    """Whether the histograms of a clip's mirror image are its own reflected (:func:`_reflect`).

    They are when the XY and XT neighbours come in mirror pairs (an even ``P``, and offsets that
    round to the same values: rows equal, columns opposite) and the blocks along x are placed
    symmetrically; then they equal the mirror image's histograms wherever no interpolated sample
    ties its centre to the last bit (on real faces about 1 code in 10,000 differs).
    """
    for k, (row_axis, col_axis) in enumerate(_lbp.PLANE_AXES[:2]):
        if P[k] % 2:
            return False
        rp, cp = _lbp.sampling_offsets(P[k], radius[row_axis], radius[col_axis])
        partner = (P[k] // 2 - np.arange(P[k])) % P[k]
        if not (np.array_equal(rp[partner], rp) and np.array_equal(cp[partner], -cp)):
            return False
    margin, _, edges = _block_layout(shape, radius=radius, grid=grid, overlap=overlap)
    return mirror_symmetric(edges[2], shape[2] - 2 * margin[2])


def _reflect(histograms: np.ndarray, P: tuple, mapping: str) -> np.ndarray:
    """The histograms (:func:`lbptop_histograms`) of the mirror image: the blocks along x in
    reverse order, and the XY and XT bins reflected (:func:`_reflected_bins`); the YT planes of
    a mirror image are the clip's own, in reverse order."""
    mirrored = histograms[:, :, ::-1].copy()
    for k in (0, 1):
        bins = _reflected_bins(P[k], mapping)
        mirrored[..., k, bins] = histograms[:, :, ::-1, k, : bins.size]
    return mirrored


class LBPTOP(ClipFeatureExtractor):
    """LBP-TOP histograms of a clip's spatio-temporal blocks, as a scikit-learn transformer.

    Parameters
    ----------
    P : int or sequence of 3 int, default 8
    radius : float or sequence of 3 float, default (1, 4, 4)
        (R_t, R_y, R_x).
    mapping : {'nri_uniform', 'uniform', 'default'}, default 'nri_uniform'
    grid : sequence of 3 int, default (1, 8, 8)
        Blocks along t, y, x.
    overlap : float, default 0.0
    mirror : bool, default True
        Average the histograms of the clip and of its left-right mirror image. Those of the
        mirror image are the clip's own reflected (blocks reversed along x, the XY and XT codes'
        neighbours ``p`` and ``P/2 - p`` swapped) when ``P`` is even and the blocks symmetric,
        at no extra cost; otherwise the mirror image is described again.

    The defaults (a spatial radius of 4 pixels on 96-pixel crops, 8 x 8 blocks, mirror averaging)
    were chosen on real faces, ``experiments/ckplus48``; the temporal radius 1 suits short clips
    and the 3-frame CK+48 sequences alike.

    Notes
    -----
    A clip's vector is :func:`lbptop_histograms` (normalized) flattened in C order: block t, row,
    column, plane (XY, XT, YT), bin; with one P per plane the padding bins are left out. Its
    feature names read ``lbptop/xy/r2c3/t0/b17`` (plane, block row and column, temporal segment,
    bin, zero-padded to the width of the plane's last bin).
    """

    short_name = "lbptop"

    def __init__(self, P=8, radius=(1, 4, 4), mapping="nri_uniform", grid=(1, 8, 8), overlap=0.0,
                 mirror=True):
        self.P = P
        self.radius = radius
        self.mapping = mapping
        self.grid = grid
        self.overlap = overlap
        self.mirror = mirror

    def _histograms(self, volume):
        return lbptop_histograms(volume, P=self.P, radius=self.radius, mapping=self.mapping,
                                 grid=self.grid, overlap=self.overlap, normalize=True)

    def _kept_bins(self):
        """Mask over (plane, bin) of the bins that exist (False on padding)."""
        bins = plane_bins(self.P, self.mapping)
        return np.arange(max(bins))[None, :] < np.asarray(bins)[:, None]

    def _describe(self, volume):
        hist = self._histograms(volume)
        return hist[..., self._kept_bins()]

    def _describe_with_mirror(self, volume):
        hist = self._histograms(volume)
        P, radius = _check_P(self.P), _check_radius(self.radius)
        if _mirror_by_reflection(volume.shape, P, radius, tuple(np.ravel(self.grid)),
                                 float(self.overlap)):
            mirrored = _reflect(hist, P, self.mapping)
        else:
            mirrored = self._histograms(volume[:, :, ::-1])
        kept = self._kept_bins()
        return hist[..., kept], mirrored[..., kept]

    def _feature_names(self, volume_shape):
        bins = plane_bins(self.P, self.mapping)
        g_t, g_y, g_x = _block_layout(volume_shape, radius=_check_radius(self.radius),
                                      grid=self.grid, overlap=self.overlap)[1]
        return [
            f"lbptop/{plane}/r{r}c{c}/t{t}/b{b:0{len(str(n - 1))}d}"
            for t in range(g_t) for r in range(g_y) for c in range(g_x)
            for plane, n in zip(PLANES, bins) for b in range(n)
        ]
