"""Piecewise-affine image warp over a fixed triangulation (OpenCV rasterisation + one remap).

Every output pixel is mapped back into the source image by the affine map of the destination
triangle that contains it; pixels outside every triangle use a fallback affine map. The
triangles are rasterised into a label image with :func:`cv2.fillConvexPoly` (sub-pixel vertices),
the per-pixel source coordinates are computed in one vectorised step, and :func:`cv2.remap`
samples the source once with bilinear interpolation. This gives the same mapping as
:class:`skimage.transform.PiecewiseAffineTransform` at a small fraction of its cost.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np
from scipy.spatial import Delaunay

__all__ = ["triangulate", "signed_areas", "affine_maps", "warp_piecewise_affine"]

_SHIFT = 4  # fractional bits of the vertex coordinates given to fillConvexPoly


def triangulate(points: np.ndarray) -> np.ndarray:
    """Delaunay triangles of 2D points, counter-clockwise in image coordinates (y down).

    Parameters
    ----------
    points : ndarray, shape (n, 2)

    Returns
    -------
    ndarray, shape (n_triangles, 3), int64
        Vertex indices of each triangle, ordered so that :func:`signed_areas` is positive.
    """
    tri = Delaunay(np.asarray(points, dtype=np.float64)).simplices.astype(np.int64)
    flip = signed_areas(points, tri) < 0
    tri[flip] = tri[flip][:, ::-1]
    return tri


def signed_areas(points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Signed area of every triangle (positive for the orientation :func:`triangulate` gives).

    A triangle whose sign differs between the source and destination meshes has folded over.
    """
    p = np.asarray(points, dtype=np.float64)[triangles]
    a, b, c = p[:, 0], p[:, 1], p[:, 2]
    ab, ac = b - a, c - a
    return 0.5 * (ab[:, 0] * ac[:, 1] - ab[:, 1] * ac[:, 0])


def affine_maps(src: np.ndarray, dst: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """The 2 x 3 affine map of each triangle that takes its destination vertices to its source ones.

    Returns
    -------
    ndarray, shape (n_triangles, 2, 3), float64
    """
    d = np.asarray(dst, dtype=np.float64)[triangles]  # (n, 3, 2)
    s = np.asarray(src, dtype=np.float64)[triangles]
    d_h = np.concatenate([d, np.ones(d.shape[:2] + (1,))], axis=2)  # (n, 3, 3): rows [x y 1]
    # d_h @ A.T = s  ->  A.T = solve(d_h, s)
    return np.linalg.solve(d_h, s).transpose(0, 2, 1)


@functools.lru_cache(maxsize=8)
def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    ys.setflags(write=False)
    xs.setflags(write=False)
    return ys, xs


def warp_piecewise_affine(
    image: np.ndarray,
    src: np.ndarray,
    dst: np.ndarray,
    triangles: np.ndarray,
    shape: tuple[int, int],
    *,
    outside: np.ndarray,
) -> np.ndarray:
    """Warp ``image`` so that the points ``src`` land on ``dst``.

    Parameters
    ----------
    image : ndarray, (H, W) or (H, W, C)
        Source image.
    src, dst : ndarray, shape (n, 2)
        Corresponding (x, y) points in the source image and in the output.
    triangles : ndarray, shape (n_triangles, 3)
        Triangulation of the points (e.g. from :func:`triangulate` on ``src``).
    shape : (int, int)
        Output height and width.
    outside : ndarray, shape (2, 3)
        Affine map from output to source coordinates for pixels that no triangle covers.

    Returns
    -------
    ndarray
        The warped image, same dtype as ``image``; source pixels beyond the border are replicated.
    """
    h, w = shape
    labels = np.full((h, w), -1, dtype=np.int32)
    scaled = np.round(np.asarray(dst, dtype=np.float64) * (1 << _SHIFT)).astype(np.int32)
    for k, t in enumerate(triangles):
        cv2.fillConvexPoly(labels, scaled[t], int(k), lineType=cv2.LINE_8, shift=_SHIFT)
    maps = np.concatenate([affine_maps(src, dst, triangles), np.asarray(outside, float)[None]])
    coef = maps.reshape(len(maps), 6).T.astype(np.float32)  # row k: coefficient k of every map
    ys, xs = _grid(h, w)
    labels[labels < 0] = len(maps) - 1  # uncovered pixels take the fallback (last) map
    c = [np.take(coef[k], labels) for k in range(6)]
    map_x = c[0] * xs + c[1] * ys + c[2]
    map_y = c[3] * xs + c[4] * ys + c[5]
    return cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
