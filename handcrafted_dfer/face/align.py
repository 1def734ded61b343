"""Similarity alignment of a face to a canonical 68-point template.

The canonical face :data:`CANONICAL_68` is the mean shape of dlib's 68 landmarks in the unit
square of dlib's detector box (x right, y down, box = [0, 1] x [0, 1]). It was measured once on
229 single-face frames of the project's real test videos (every third frame of each; boxes from
dlib's HOG detector at full resolution, landmarks from the 68-point model) and made left-right
symmetric by averaging it with its mirror image, so that the canonical eyes lie level.

A crop of side S shows the square of side :data:`CROP_SIDE` box units centred on
:data:`CROP_CENTRE`: from the brows to the chin. Both are the defaults of
:class:`~handcrafted_dfer.config.PreprocessConfig` (``crop_side``, ``crop_centre``), chosen on real
faces (``experiments/ckplus48``).
"""

from __future__ import annotations

import cv2
import numpy as np

from ..config import PreprocessConfig

__all__ = [
    "CANONICAL_68",
    "CROP_CENTRE",
    "CROP_SIDE",
    "ALIGN_POINTS",
    "alignment_points",
    "canonical_landmarks",
    "estimate_similarity",
    "apply_affine",
    "align_face",
    "equalise",
]

#: Mean dlib 68-point shape in detector-box units (see the module docstring).
CANONICAL_68 = np.array([
    [0.0500, 0.3353], [0.0484, 0.4541], [0.0580, 0.5746], [0.0806, 0.6942], [0.1254, 0.8062],
    [0.1949, 0.9040], [0.2812, 0.9852], [0.3835, 1.0440], [0.5000, 1.0610], [0.6165, 1.0440],
    [0.7188, 0.9852], [0.8051, 0.9040], [0.8746, 0.8062], [0.9194, 0.6942], [0.9420, 0.5746],
    [0.9516, 0.4541], [0.9500, 0.3353], [0.1204, 0.2084], [0.1730, 0.1456], [0.2539, 0.1175],
    [0.3407, 0.1226], [0.4219, 0.1551], [0.5781, 0.1551], [0.6593, 0.1226], [0.7461, 0.1175],
    [0.8270, 0.1456], [0.8796, 0.2084], [0.5000, 0.2703], [0.5000, 0.3454], [0.5000, 0.4185],
    [0.5000, 0.4941], [0.4021, 0.5587], [0.4496, 0.5736], [0.5000, 0.5880], [0.5504, 0.5736],
    [0.5979, 0.5587], [0.2102, 0.3054], [0.2619, 0.2781], [0.3213, 0.2769], [0.3779, 0.3077],
    [0.3200, 0.3177], [0.2608, 0.3193], [0.6221, 0.3077], [0.6787, 0.2769], [0.7381, 0.2781],
    [0.7898, 0.3054], [0.7392, 0.3193], [0.6800, 0.3177], [0.3012, 0.7178], [0.3717, 0.6776],
    [0.4476, 0.6620], [0.5000, 0.6732], [0.5524, 0.6620], [0.6283, 0.6776], [0.6988, 0.7178],
    [0.6315, 0.7983], [0.5573, 0.8335], [0.5000, 0.8390], [0.4427, 0.8335], [0.3685, 0.7983],
    [0.3270, 0.7209], [0.4468, 0.7095], [0.5000, 0.7141], [0.5532, 0.7095], [0.6730, 0.7209],
    [0.5546, 0.7698], [0.5000, 0.7762], [0.4454, 0.7698],
])
CANONICAL_68.setflags(write=False)

#: Default centre (x, y) of the aligned crop, in detector-box units.
CROP_CENTRE = PreprocessConfig.crop_centre
#: Default side of the aligned crop, in detector-box units.
CROP_SIDE = PreprocessConfig.crop_side

#: The points the alignment is fitted to: left eye centre, right eye centre, nose tip (30),
#: nose base (33), and the mouth corners (48, 54).
ALIGN_POINTS = ("left eye centre", "right eye centre", "nose tip", "nose base", "mouth left",
                "mouth right")


def alignment_points(landmarks: np.ndarray) -> np.ndarray:
    """The six :data:`ALIGN_POINTS` of a 68-point shape (eye centres are the means of 6 points).

    Parameters
    ----------
    landmarks : ndarray, shape (68, 2)

    Returns
    -------
    ndarray of float64, shape (6, 2)
    """
    landmarks = np.asarray(landmarks, dtype=np.float64)
    return np.stack([
        landmarks[36:42].mean(axis=0), landmarks[42:48].mean(axis=0),
        landmarks[30], landmarks[33], landmarks[48], landmarks[54],
    ])


def canonical_landmarks(size: int, *, crop_side: float = CROP_SIDE,
                        crop_centre: tuple[float, float] = CROP_CENTRE) -> np.ndarray:
    """:data:`CANONICAL_68` in the pixel coordinates of an aligned crop of side ``size``.

    Parameters
    ----------
    size : int
        Side of the crop in pixels.
    crop_side : float
        Side of the crop in detector-box units.
    crop_centre : (float, float)
        Centre ``(x, y)`` of the crop in detector-box units.

    Returns
    -------
    ndarray of float64, shape (68, 2)
    """
    if not crop_side > 0:
        raise ValueError(f"crop_side must be positive; got {crop_side}")
    centre = np.asarray(crop_centre, dtype=np.float64)
    return (CANONICAL_68 - centre) * (size / crop_side) + size / 2.0


def estimate_similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity transform (rotation, uniform scale, translation) from src to dst.

    The solution of Umeyama (1991) without reflection, which in two dimensions is linear: with
    centred points ``a`` (source) and ``b`` (destination), ``scale * cos = sum(a . b) / sum(|a|^2)``
    and ``scale * sin = sum(a x b) / sum(|a|^2)``.

    Parameters
    ----------
    src, dst : ndarray, shape (n, 2)
        Corresponding points, ``n >= 2``.

    Returns
    -------
    ndarray of float64, shape (2, 3)
        The matrix ``M`` with ``dst ~ src @ M[:, :2].T + M[:, 2]``.

    References
    ----------
    .. [1] S. Umeyama, "Least-squares estimation of transformation parameters between two point
       patterns", IEEE TPAMI 13(4), 1991.
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    mean_src, mean_dst = src.mean(axis=0), dst.mean(axis=0)
    a, b = src - mean_src, dst - mean_dst
    var_src = float((a * a).sum())
    if var_src == 0:
        raise ValueError("the source points all coincide; a similarity transform is undefined")
    cos = float((a * b).sum()) / var_src
    sin = float((a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]).sum()) / var_src
    matrix = np.array([[cos, -sin, 0.0], [sin, cos, 0.0]])
    matrix[:, 2] = mean_dst - matrix[:, :2] @ mean_src
    return matrix


def apply_affine(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Map points ``(n, 2)`` through a 2 x 3 affine matrix."""
    return np.asarray(points, dtype=np.float64) @ matrix[:, :2].T + matrix[:, 2]


def align_face(grey: np.ndarray, landmarks: np.ndarray, *, size: int = 96,
               clahe: bool = False, crop_side: float = CROP_SIDE,
               crop_centre: tuple[float, float] = CROP_CENTRE) -> tuple[np.ndarray, np.ndarray]:
    """Warp a face to the canonical pose: grey uint8 crop of side ``size`` and its landmarks.

    Parameters
    ----------
    grey : ndarray of uint8, shape (H, W)
        Full-resolution grey frame.
    landmarks : ndarray, shape (68, 2)
        The face's landmarks in frame pixels.
    size : int
        Side S of the crop.
    clahe : bool
        Equalise the crop with CLAHE (clip limit 2, 8 x 8 tiles).
    crop_side, crop_centre
        The canonical square the crop shows (see :func:`canonical_landmarks`).

    Returns
    -------
    crop : ndarray of uint8, shape (size, size)
    aligned : ndarray of float32, shape (68, 2)
        The landmarks in crop pixels.
    """
    if size < 8:
        raise ValueError(f"size must be at least 8 pixels; got {size}")
    target = canonical_landmarks(size, crop_side=crop_side, crop_centre=crop_centre)
    matrix = estimate_similarity(alignment_points(landmarks), alignment_points(target))
    crop = cv2.warpAffine(grey, matrix, (size, size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)
    if clahe:
        crop = equalise(crop)
    return crop, apply_affine(matrix, landmarks).astype(np.float32)


def equalise(crop: np.ndarray) -> np.ndarray:
    """CLAHE of a grey uint8 crop (clip limit 2, 8 x 8 tiles)."""
    return cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply(crop)
