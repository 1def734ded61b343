"""3D histograms of oriented gradients (HOG3D) after Kläser, Marszałek & Schmid (2008)."""

from __future__ import annotations

import numba
import numpy as np
from scipy.ndimage import gaussian_filter

from ._kernels.hog3d import hog3d_cell_histograms
from ._kernels.orientation import (cell_feature_names, cell_indices, check_normalize,
                                   normalize_blocks)
from ._validation import (block_edges, check_grid, check_volume, check_volume_shape,
                          mirror_symmetric)
from .base import ClipFeatureExtractor

__all__ = ["POLYHEDRA", "polyhedron_normals", "hog3d_histograms", "HOG3D"]

#: Polyhedra whose face normals serve as 3D orientation bins, and their number of faces.
POLYHEDRA = {"icosahedron": 20, "dodecahedron": 12}

_GOLDEN = (1.0 + np.sqrt(5.0)) / 2.0


def polyhedron_normals(polyhedron: str = "icosahedron", *, half: bool = False) -> np.ndarray:
    """Unit face normals of a regular polyhedron, in (t, y, x) order: the 3D-HOG bins.

    The normals are the usual golden-ratio coordinates written in Kläser's ``(x, y, t)`` order,
    with ``phi = (1 + sqrt(5)) / 2``: for the icosahedron ``(±1, ±1, ±1)`` and the cyclic
    permutations of ``(0, ±1/phi, ±phi)``; for the dodecahedron the cyclic permutations of
    ``(0, ±1, ±phi)``. They are scaled to unit length and their columns reversed to (t, y, x).

    Bin order: the normals whose first non-zero (t, y, x) component is positive, sorted
    lexicographically on (t, y, x) in decreasing order, are bins ``0 .. n/2 - 1``; bin
    ``k + n/2`` is the opposite of bin ``k``. With ``half=True`` only the first ``n/2`` are
    returned, so a folded histogram equals ``h[:n/2] + h[n/2:]`` of the full one.

    Parameters
    ----------
    polyhedron : {"icosahedron", "dodecahedron"}
    half : bool

    Returns
    -------
    ndarray of float64, shape (n_bins, 3)
    """
    if polyhedron not in POLYHEDRA:
        raise ValueError(f"polyhedron must be one of {', '.join(POLYHEDRA)}; got {polyhedron!r}")
    if polyhedron == "icosahedron":
        base = [(1.0, 1.0, 1.0), (0.0, 1.0 / _GOLDEN, _GOLDEN)]
    else:
        base = [(0.0, 1.0, _GOLDEN)]
    points = set()
    for a, b, c in base:
        for sa in (1.0, -1.0):
            for sb in (1.0, -1.0):
                for sc in (1.0, -1.0):
                    p = (sa * a, sb * b, sc * c)
                    points.update({p, (p[1], p[2], p[0]), (p[2], p[0], p[1])})
    xyt = np.array(sorted(points), dtype=np.float64)
    tyx = xyt[:, ::-1] / np.linalg.norm(xyt, axis=1, keepdims=True)
    key = np.round(tyx, 12)
    first_nonzero = key[np.arange(len(key)), np.argmax(key != 0, axis=1)]
    upper = tyx[first_nonzero > 0]
    upper_key = key[first_nonzero > 0]
    upper = upper[np.lexsort(upper_key.T[::-1])[::-1]]
    return upper if half else np.concatenate([upper, -upper])


def _neighbour_threshold(normals: np.ndarray) -> float:
    """Projection of one face normal onto a neighbouring one (the largest off-diagonal dot)."""
    dots = normals @ normals.T
    np.fill_diagonal(dots, -np.inf)
    return float(dots.max())


def _check_hog3d(shape, *, polyhedron, half, grid, sigma, normalize) -> tuple:
    """The checked grid, the bin normals and sigma of 3D-HOG on volumes of ``shape`` (T, H, W);
    shared by :func:`hog3d_histograms` and the extractor's feature names."""
    shape = check_volume_shape(shape, min_frames=2, frames_rule="gradients need T >= 2")
    if shape[1] < 2 or shape[2] < 2:
        raise ValueError(
            f"volume frames are {shape[1]}x{shape[2]} pixels; 3D-HOG gradients need at least 2x2"
        )
    grid = check_grid(grid, shape)
    check_normalize(normalize)
    normals = polyhedron_normals(polyhedron, half=half)
    sigma = float(sigma)
    if not np.isfinite(sigma) or sigma < 0:
        raise ValueError(f"sigma must be a finite number >= 0; got {sigma}")
    return grid, normals, sigma


def hog3d_histograms(volume, *, polyhedron: str = "icosahedron", half: bool = False,
                     grid=(2, 4, 4), sigma: float = 0.0,
                     normalize: str | None = "l2") -> np.ndarray:
    """3D-HOG cell histograms of a grey volume.

    Gradients are the differences of :func:`numpy.gradient` along (t, y, x) (central inside the
    volume, one-sided on its faces), optionally after Gaussian smoothing. Each gradient ``g`` of
    magnitude ``m = |g| > 0`` is quantised as in Kläser et al. (2008): the projections
    ``q = P g / m`` onto the unit face normals ``P`` (:func:`polyhedron_normals`; their absolute
    values when ``half``) are lowered by the threshold ``t``, the projection of a face normal onto
    a neighbouring one (``sqrt(5)/3 ~ 0.7454`` for the icosahedron, ``1/sqrt(5) ~ 0.4472`` for the
    dodecahedron), negatives are set to zero, and ``q`` is rescaled to Euclidean norm ``m``. So a
    gradient votes only into the bins whose normals lie within the angle between neighbouring
    normals, most into the closest, and the votes of one voxel have norm ``|g|``. The votes are
    summed over the voxels of each cell of a regular ``grid`` of non-overlapping cells, and each
    cell is one normalization block.

    Parameters
    ----------
    volume : array_like, shape (T, H, W)
        Grey volume, uint8 or any integer or float type (taken on the 0-255 scale); every axis
        at least 2 long; finite.
    polyhedron : {"icosahedron", "dodecahedron"}
        20 or 12 orientation bins.
    half : bool
        Fold opposite directions into one bin (10 or 6 bins): ``g`` and ``-g`` vote the same.
    grid : tuple of int
        Cells along (t, y, x); each at most the volume's extent on that axis.
    sigma : float
        Standard deviation (voxels, all three axes) of a Gaussian smoothing applied first
        (``scipy.ndimage.gaussian_filter``, mode ``"nearest"``); 0 for none.
    normalize : {"l2", "l2-hys", "l1", None}
        Per-cell normalization (see ``normalize_blocks``); a cell without any gradient (a
        constant region) stays all zeros.

    Returns
    -------
    ndarray of float64, shape (grid_t, grid_y, grid_x, n_bins)

    Raises
    ------
    ValueError
        Not 3D, an axis shorter than 2, NaN or infinite values, a grid finer than the volume,
        an unknown polyhedron or normalization, or a negative sigma.

    References
    ----------
    .. [1] A. Kläser, M. Marszałek and C. Schmid, "A spatio-temporal descriptor based on
       3D-gradients", British Machine Vision Conference (BMVC), 2008.
    .. [2] N. Dalal and B. Triggs, "Histograms of oriented gradients for human detection",
       CVPR 2005 (L2-Hys block normalization).
    """
    volume = check_volume(volume)
    grid, normals, sigma = _check_hog3d(volume.shape, polyhedron=polyhedron, half=half,
                                        grid=grid, sigma=sigma, normalize=normalize)
    if sigma > 0:
        volume = gaussian_filter(volume.astype(np.float64), sigma, mode="nearest")
    cell_t, cell_y, cell_x = cell_indices(volume.shape, grid)
    hist = hog3d_cell_histograms(np.ascontiguousarray(volume), normals,
                                 _neighbour_threshold(normals), bool(half),
                                 cell_t, cell_y, cell_x, *grid,
                                 numba.get_num_threads())
    return normalize_blocks(hist, normalize)


def _mirror_bins(normals: np.ndarray, half: bool) -> np.ndarray | None:
    """Bin ``k``'s partner: the bin whose normal is normal ``k`` with x negated (up to its sign
    when ``half``), or None when some normal has no such partner.

    A left-right mirror negates the x gradients exactly (the differences are antisymmetric), so a
    mirrored voxel's projection onto normal ``k`` is the voxel's own onto the partner, bit for bit.
    """
    dots = (normals * np.array([1.0, 1.0, -1.0])) @ normals.T
    if half:
        dots = np.abs(dots)
    partner = np.argmax(dots, axis=1)
    if not np.allclose(dots[np.arange(len(normals)), partner], 1.0, rtol=0, atol=1e-12):
        return None
    return partner


class HOG3D(ClipFeatureExtractor):
    """3D-HOG features of clips, one row per clip (scikit-learn transformer).

    Parameters are those of :func:`hog3d_histograms`, and ``mirror`` (average the histograms of
    the clip and of its left-right mirror image; see the base class). Those of the mirror image
    are the clip's own with the cells reversed along x and each bin taking its partner's votes
    (:func:`_mirror_bins`) when the cells are placed symmetrically: the same up to rounding, at no
    extra cost; otherwise the mirror image is described again. The defaults, ``grid=(2, 8,
    8)`` and ``mirror=True``, were chosen on real faces (``experiments/ckplus48``). Feature names
    are
    ``hog3d/r<row>c<col>/t<segment>/o<bin>`` (bin zero-padded, e.g. ``hog3d/r1c0/t1/o05``); the
    direction of bin ``k`` is row ``k`` of :func:`polyhedron_normals`.
    """

    short_name = "hog3d"

    def __init__(self, polyhedron="icosahedron", half=False, grid=(2, 8, 8), sigma=0.0,
                 normalize="l2", mirror=True):
        self.polyhedron = polyhedron
        self.half = half
        self.grid = grid
        self.sigma = sigma
        self.normalize = normalize
        self.mirror = mirror

    def _describe(self, volume):
        return hog3d_histograms(volume, polyhedron=self.polyhedron, half=self.half,
                                grid=self.grid, sigma=self.sigma, normalize=self.normalize)

    def _describe_with_mirror(self, volume):
        hist = self._describe(volume)
        grid, normals, _ = _check_hog3d(volume.shape, polyhedron=self.polyhedron, half=self.half,
                                        grid=self.grid, sigma=self.sigma,
                                        normalize=self.normalize)
        partner = _mirror_bins(normals, bool(self.half))
        if partner is None or not mirror_symmetric(block_edges(volume.shape[2], grid[2]),
                                                   volume.shape[2]):
            return hist, self._describe(volume[:, :, ::-1])
        return hist, hist[:, :, ::-1][..., partner]

    def _feature_names(self, volume_shape):
        grid, normals, _ = _check_hog3d(volume_shape, polyhedron=self.polyhedron, half=self.half,
                                        grid=self.grid, sigma=self.sigma,
                                        normalize=self.normalize)
        return cell_feature_names("hog3d", grid, len(normals))
