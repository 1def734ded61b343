"""Dense optical flow (OpenCV) and its histograms: HOF and MBH (MBHx, MBHy)."""

from __future__ import annotations

import cv2
import numba
import numpy as np

from ._kernels.orientation import (cell_feature_names, cell_indices, check_normalize,
                                   normalize_blocks, orientation_cell_histograms)
from ._validation import check_grid, check_volume, check_volume_shape
from .base import ClipFeatureExtractor

__all__ = ["FLOW_METHODS", "FLOW_DESCRIPTORS", "dense_flow", "flow_histograms",
           "OpticalFlowFeatures"]

#: Dense optical-flow methods understood by :func:`dense_flow`.
FLOW_METHODS = ("farneback", "dis", "tvl1")
#: Descriptor groups understood by :func:`flow_histograms` and the histograms each one gives.
FLOW_DESCRIPTORS = {"hof": ("hof",), "mbh": ("mbhx", "mbhy")}
#: Smallest frame side accepted (OpenCV's DIS flow refuses images under 12 pixels).
MIN_FLOW_SIZE = 12


def _check_flow_shape(shape) -> tuple:
    shape = check_volume_shape(shape, min_frames=2, frames_rule="flow needs a frame pair, T >= 2")
    if min(shape[1:]) < MIN_FLOW_SIZE:
        raise ValueError(
            f"volume frames are {shape[1]}x{shape[2]} pixels; optical flow needs "
            f"frames of at least {MIN_FLOW_SIZE}x{MIN_FLOW_SIZE}"
        )
    return shape


def _check_method(method) -> str:
    if method not in FLOW_METHODS:
        raise ValueError(f"method must be one of {', '.join(FLOW_METHODS)}; got {method!r}")
    return method


def _check_flow_volume(volume) -> np.ndarray:
    volume = check_volume(volume)
    _check_flow_shape(volume.shape)
    if volume.dtype != np.uint8:
        volume = np.clip(np.rint(volume), 0, 255).astype(np.uint8)
    return volume


def _flow_function(method: str):
    if _check_method(method) == "farneback":
        return lambda a, b: cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 3, 15, 3, 5, 1.2, 0)
    if method == "dis":
        solver = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
    else:
        if not hasattr(cv2, "optflow"):
            raise ImportError("method 'tvl1' needs OpenCV's contrib modules: install "
                              "opencv-contrib-python-headless")
        solver = cv2.optflow.DualTVL1OpticalFlow_create()
    return lambda a, b: solver.calc(a, b, None)


def dense_flow(volume, *, method: str = "farneback") -> np.ndarray:
    """Dense optical flow between each pair of consecutive frames.

    Parameters
    ----------
    volume : array_like, shape (T, H, W)
        Grey volume with ``T >= 2`` and frames of at least 12x12 pixels; non-uint8 input is
        taken on the 0-255 scale, rounded and clipped to uint8 for OpenCV.
    method : {"farneback", "dis", "tvl1"}
        ``farneback``: ``cv2.calcOpticalFlowFarneback`` (pyramid scale 0.5, 3 levels, window 15,
        3 iterations, poly_n 5, poly_sigma 1.2); ``dis``: ``cv2.DISOpticalFlow_create`` with the
        FAST preset; ``tvl1``: ``cv2.optflow.DualTVL1OpticalFlow_create`` defaults (accurate,
        slow).

    Returns
    -------
    ndarray of float32, shape (T - 1, H, W, 2)
        ``[i, y, x] = (u, v)``: the displacement in pixels from frame ``i`` to frame ``i + 1``,
        ``u`` along x (to the right) and ``v`` along y (downwards, image coordinates).

    Raises
    ------
    ValueError
        Not 3D, fewer than 2 frames, frames under 12x12, NaN or infinite values, unknown method.
    """
    calc = _flow_function(method)
    volume = _check_flow_volume(volume)
    return np.stack([calc(volume[i], volume[i + 1]) for i in range(volume.shape[0] - 1)])


def _check_descriptors(descriptors) -> tuple:
    if isinstance(descriptors, str):
        descriptors = (descriptors,)
    descriptors = tuple(descriptors)
    if not descriptors or len(set(descriptors)) != len(descriptors) or any(
            d not in FLOW_DESCRIPTORS for d in descriptors):
        raise ValueError(
            f"descriptors must be distinct names from {', '.join(FLOW_DESCRIPTORS)}; "
            f"got {descriptors!r}"
        )
    return descriptors


def _check_flow_params(grid, shape, descriptors, n_bins, motion_threshold, normalize, method):
    """The checked grid and descriptors of flow histograms on volumes of ``shape`` (T, H, W);
    shared by :func:`flow_histograms` and the extractor's feature names."""
    shape = _check_flow_shape(shape)
    _check_method(method)
    grid = check_grid(grid, (shape[0] - 1, shape[1], shape[2]),
                      names=("t (flow frames = T - 1)", "y", "x"))
    descriptors = _check_descriptors(descriptors)
    if int(n_bins) != n_bins or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer; got {n_bins!r}")
    if not np.isfinite(motion_threshold) or motion_threshold < 0:
        raise ValueError(f"motion_threshold must be a finite number >= 0; got {motion_threshold}")
    check_normalize(normalize)
    return grid, descriptors


def flow_histograms(volume, *, method: str = "farneback", descriptors=("hof", "mbh"),
                    grid=(2, 4, 4), n_bins: int = 8, motion_threshold: float = 0.4,
                    normalize: str | None = "l2") -> dict:
    """HOF and MBH cell histograms of the dense optical flow of a grey volume.

    The flow ``(u, v)`` of :func:`dense_flow` (``T - 1`` fields) is split into a regular grid of
    non-overlapping cells in (t, y, x). Orientations are in image coordinates (x to the right,
    y **down**): the angle of a vector ``(a_x, a_y)`` is ``atan2(a_y, a_x)`` measured from +x
    towards +y, so on screen it turns clockwise. Orientation bin ``k`` of ``n_bins`` is centred
    on ``360 * k / n_bins`` degrees and covers half a bin width on each side (for 8 bins: 0 =
    right, 2 = down, 4 = left, 6 = up, each +-22.5 degrees); a vector votes its magnitude into
    its bin.

    - **HOF** (histogram of optical flow): orientations of ``(u, v)``, ``n_bins + 1`` bins; the
      last bin counts (weight 1 each) the pixels whose flow magnitude is below
      ``motion_threshold`` ("no motion"), which then vote nowhere else.
    - **MBH** (motion boundary histograms): orientations of the spatial gradients
      ``(du/dx, du/dy)`` (MBHx) and ``(dv/dx, dv/dy)`` (MBHy), ``n_bins`` bins each; gradients
      are :func:`numpy.gradient` differences within each flow field. Uniform motion has none.

    Parameters
    ----------
    volume : array_like, shape (T, H, W)
        ``T >= 2``, frames at least 12x12 pixels, finite.
    method : {"farneback", "dis", "tvl1"}
        See :func:`dense_flow`.
    descriptors : sequence of {"hof", "mbh"}
    grid : tuple of int
        Cells along (t, y, x); along t at most ``T - 1`` (the number of flow fields).
    n_bins : int
        Orientation bins.
    motion_threshold : float
        Flow magnitude (pixels per frame) under which HOF counts a pixel as not moving.
    normalize : {"l2", "l2-hys", "l1", None}
        Per cell and histogram; a histogram without any vote stays all zeros.

    Returns
    -------
    dict of str to ndarray of float64
        Keys ``"hof"``, ``"mbhx"``, ``"mbhy"`` (in the order of ``descriptors``); shapes
        ``(grid_t, grid_y, grid_x, n_bins + 1)`` for HOF, ``(grid_t, grid_y, grid_x, n_bins)``
        for MBH.

    Raises
    ------
    ValueError
        Bad volume (see :func:`dense_flow`), a grid finer than the flow volume, or bad options.

    References
    ----------
    .. [1] I. Laptev, M. Marszałek, C. Schmid and B. Rozenfeld, "Learning realistic human
       actions from movies", CVPR 2008 (HOF).
    .. [2] N. Dalal, B. Triggs and C. Schmid, "Human detection using oriented histograms of
       flow and appearance", ECCV 2006 (MBH).
    .. [3] H. Wang, A. Kläser, C. Schmid and C.-L. Liu, "Dense trajectories and motion boundary
       descriptors for action recognition", IJCV 103(1), 2013 (no-motion bin, threshold 0.4).
    """
    volume = _check_flow_volume(volume)
    grid, descriptors = _check_flow_params(grid, volume.shape, descriptors, n_bins,
                                           motion_threshold, normalize, method)
    flow = dense_flow(volume, method=method).astype(np.float64)
    cells = cell_indices(flow.shape[:3], grid)

    def histogram(fx, fy, zero_bin):
        hist = orientation_cell_histograms(np.ascontiguousarray(fx), np.ascontiguousarray(fy),
                                           *cells, *grid, int(n_bins), zero_bin,
                                           float(motion_threshold), numba.get_num_threads())
        return normalize_blocks(hist, normalize)

    out = {}
    for name in descriptors:
        if name == "hof":
            out["hof"] = histogram(flow[..., 0], flow[..., 1], True)
        else:
            for family, component in (("mbhx", flow[..., 0]), ("mbhy", flow[..., 1])):
                d_dy, d_dx = np.gradient(component, axis=(1, 2))
                out[family] = histogram(d_dx, d_dy, False)
    return out


class OpticalFlowFeatures(ClipFeatureExtractor):
    """HOF and MBH features of clips, one row per clip (scikit-learn transformer).

    Parameters are those of :func:`flow_histograms`, and ``mirror`` (average the histograms of
    the clip and of its left-right mirror image; see the base class). The defaults ``grid=(2, 8,
    8)`` (8 x 8 cells did better than 4 x 4 on ``experiments/ckplus48``, whose 3-frame clips cannot
    rank temporal settings) and ``mirror=True``. The row concatenates the histograms in
    the order of ``descriptors`` (MBHx before MBHy); feature names are
    ``hof/r<row>c<col>/t<segment>/o<bin>`` (bin ``n_bins`` is no-motion), ``mbhx/...`` and
    ``mbhy/...``.
    """

    short_name = "flow"

    def __init__(self, method="farneback", descriptors=("hof", "mbh"), grid=(2, 8, 8), n_bins=8,
                 motion_threshold=0.4, normalize="l2", mirror=True):
        self.method = method
        self.descriptors = descriptors
        self.grid = grid
        self.n_bins = n_bins
        self.motion_threshold = motion_threshold
        self.normalize = normalize
        self.mirror = mirror

    def _describe(self, volume):
        hists = flow_histograms(volume, method=self.method, descriptors=self.descriptors,
                                grid=self.grid, n_bins=self.n_bins,
                                motion_threshold=self.motion_threshold, normalize=self.normalize)
        return np.concatenate([h.ravel() for h in hists.values()])

    def _feature_names(self, volume_shape):
        grid, descriptors = _check_flow_params(self.grid, volume_shape, self.descriptors,
                                               self.n_bins, self.motion_threshold, self.normalize,
                                               self.method)
        names = []
        for group in descriptors:
            for family in FLOW_DESCRIPTORS[group]:
                n_out = self.n_bins + 1 if family == "hof" else self.n_bins
                names += cell_feature_names(family, grid, n_out)
        return names
