"""Teaching figures: how LBP-TOP, 3D-HOG and HOF/MBH see a clip.

Each figure is one public function that takes a clip (an
:class:`~handcrafted_dfer.clip.AlignedClip` or a ``[T, H, W]`` uint8 array; a frame for the LBP
figure) and returns a :class:`matplotlib.figure.Figure` (write it with
:func:`~.plots.save_figure`). The numbers a figure writes out come from a small function that can
be checked on its own:

- :func:`lbp_code_at`: one pixel's circle of neighbours, bits, code and histogram bin
  (:func:`plot_lbp_code`);
- :func:`motion_slices`: the XT and YT slices LBP-TOP reads its motion textures from
  (:func:`plot_motion_slices`);
- :func:`plot_block_histograms`: the LBP-TOP histogram of every block of one clip;
- :func:`hog3d_vote` and :func:`hog3d_cell`: one voxel's gradient, its vote on the polyhedron's
  faces, and the cell histogram those votes add up to (:func:`plot_hog3d_cell`);
- :func:`flow_pair`: the dense flow of a pair of frames and its HOF and MBH histograms
  (:func:`plot_flow`).

References: LBP-TOP, G. Zhao and M. Pietikäinen, TPAMI 2007; 3D-HOG, A. Kläser, M. Marszałek
and C. Schmid, BMVC 2008; HOF/MBH, N. Dalal, B. Triggs and C. Schmid, ECCV 2006.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Circle, Rectangle
from skimage.feature import local_binary_pattern

from ..features._kernels import lbp as _lbp
from ..features._kernels.orientation import cell_indices
from ..features._validation import as_volume, block_edges, check_grid
from ..features.flow import dense_flow, flow_histograms
from ..features.hog3d import _neighbour_threshold, hog3d_histograms, polyhedron_normals
from ..features.lbptop import PLANES, lbptop_histograms, plane_bins
from .bins import flow_bin_labels, hog3d_bin_labels, lbp_bins
from .blocks import has_landmarks

__all__ = [
    "LBPCode",
    "lbp_code_at",
    "plot_lbp_code",
    "motion_slices",
    "plot_motion_slices",
    "plot_block_histograms",
    "hog3d_vote",
    "HOG3DCell",
    "hog3d_cell",
    "plot_hog3d_cell",
    "FlowPair",
    "flow_pair",
    "plot_flow",
]

#: Colours of the XY, XT and YT planes in every figure.
_PLANE_COLOURS = {"xy": "tab:blue", "xt": "tab:orange", "yt": "tab:green"}


def _frame(image) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 2 or image.dtype != np.uint8:
        raise ValueError(f"expected a grey uint8 frame of shape (H, W); got {image.dtype} "
                         f"{image.shape}")
    return image


def _volume(clip) -> np.ndarray:
    volume = as_volume(clip)
    if volume.ndim != 3 or volume.dtype != np.uint8:
        raise ValueError(f"expected an AlignedClip or a uint8 volume (T, H, W); got "
                         f"{volume.dtype} {volume.shape}")
    return volume


@dataclass(frozen=True)
class LBPCode:
    """One pixel's local binary pattern, written out.

    Attributes
    ----------
    row, col : int
        The centre pixel.
    centre : float
        Its grey value.
    offsets : ndarray, shape (P, 2)
        ``(row, col)`` offsets of the neighbours (neighbour 0 at column ``+R``, counter-clockwise).
    samples : ndarray, shape (P,)
        Neighbour values, interpolated bilinearly.
    bits : ndarray of int, shape (P,)
        ``bits[p] = samples[p] >= centre``.
    code : int
        ``sum(bits[p] << p)``.
    bin : int
        Histogram bin of the code under ``mapping``.
    label : str
        What the bin encodes (:func:`~.bins.lbp_bins`).
    """

    row: int
    col: int
    centre: float
    offsets: np.ndarray
    samples: np.ndarray
    bits: np.ndarray
    code: int
    bin: int
    label: str

    @property
    def bit_string(self) -> str:
        """The bits from neighbour ``P - 1`` down to 0, as the binary number is written."""
        return "".join(str(int(b)) for b in self.bits[::-1])


def lbp_code_at(image, *, row: int, col: int, P: int = 8, radius: float = 1.0,
                mapping: str = "nri_uniform") -> LBPCode:
    """The LBP code of one pixel, neighbour by neighbour.

    Parameters
    ----------
    image : ndarray of uint8, shape (H, W)
    row, col : int
        The centre, at least ``ceil(radius)`` pixels from the border.
    P : int
        Neighbours on the circle.
    radius : float
    mapping : {'nri_uniform', 'uniform', 'default'}

    Returns
    -------
    LBPCode

    Notes
    -----
    The neighbours are placed and interpolated as in :func:`skimage.feature.local_binary_pattern`
    (offsets ``(-R sin(2 pi p / P), R cos(2 pi p / P))`` rounded to 5 decimals), so ``code`` is
    the value of that function with ``method="default"`` at ``(row, col)``.
    """
    image = _frame(image)
    bins = lbp_bins(P=P, mapping=mapping)
    margin = math.ceil(float(np.float32(radius)))
    if not (margin <= row < image.shape[0] - margin and margin <= col < image.shape[1] - margin):
        raise ValueError(f"pixel ({row}, {col}) must lie at least {margin} pixels inside the "
                         f"{image.shape[0]}x{image.shape[1]} frame")
    rp, cp = _lbp.sampling_offsets(P, radius, radius)
    img = image.astype(np.float64)
    r, c = row + rp, col + cp
    r0, c0 = np.floor(r).astype(int), np.floor(c).astype(int)
    r1, c1 = np.ceil(r).astype(int), np.ceil(c).astype(int)
    dr, dc = r - r0, c - c0
    samples = ((1 - dr) * ((1 - dc) * img[r0, c0] + dc * img[r0, c1])
               + dr * ((1 - dc) * img[r1, c0] + dc * img[r1, c1]))
    centre = float(img[row, col])
    bits = (samples - centre >= 0).astype(np.int64)
    code = int(np.sum(bits << np.arange(P)))
    b = int(_lbp.mapping_table(P, mapping)[code])
    return LBPCode(int(row), int(col), centre, np.stack([rp, cp], axis=1), samples, bits, code,
                   b, bins[b].label)


def plot_lbp_code(image, *, row: int | None = None, col: int | None = None, P: int = 8,
                  radius: float = 1.0, mapping: str = "nri_uniform") -> Figure:
    """The LBP code image of a frame, and one pixel's neighbours and code written out.

    Parameters
    ----------
    image : ndarray of uint8, shape (H, W)
        A frame (e.g. ``clip.frames[0]``).
    row, col : int, optional
        The pixel explained (default: the frame's centre).
    P, radius, mapping
        As in :func:`lbp_code_at`.

    Returns
    -------
    matplotlib.figure.Figure
        The frame with the pixel marked, its code image (the histogram bin of every pixel), a zoom
        on the circle of neighbours (white: bit 1, at least as bright as the centre; black: 0),
        and the neighbours' values, bits, code and bin.
    """
    image = _frame(image)
    row = image.shape[0] // 2 if row is None else row
    col = image.shape[1] // 2 if col is None else col
    lbp = lbp_code_at(image, row=row, col=col, P=P, radius=radius, mapping=mapping)
    codes = local_binary_pattern(image, P, radius, method=mapping)  # the same names
    fig = Figure(figsize=(13, 3.9), layout="constrained")
    axes = fig.subplots(1, 4, width_ratios=(1, 1, 1, 1.3))
    half = math.ceil(radius) + 1
    axes[0].imshow(image, cmap="gray", vmin=0, vmax=255)
    axes[0].add_patch(Rectangle((col - half - 0.5, row - half - 0.5), 2 * half + 1, 2 * half + 1,
                                fill=False, edgecolor="red"))
    axes[0].set_title("frame; red box: zoomed pixel", fontsize=9)
    shown = axes[1].imshow(codes, cmap="nipy_spectral", interpolation="nearest")
    fig.colorbar(shown, ax=axes[1], shrink=0.7, label="bin")
    axes[1].plot(col, row, "w+", markersize=10)
    axes[1].set_title(f"LBP code image ({mapping}, P={P}, R={radius:g})", fontsize=9)
    ax = axes[2]
    ax.imshow(image[row - half:row + half + 1, col - half:col + half + 1], cmap="gray", vmin=0,
              vmax=255, extent=(col - half - 0.5, col + half + 0.5, row + half + 0.5,
                                row - half - 0.5))
    ax.add_patch(Circle((col, row), radius, fill=False, edgecolor="red", linestyle="--"))
    for p, ((dr, dc), bit) in enumerate(zip(lbp.offsets, lbp.bits)):
        ax.scatter(col + dc, row + dr, s=120, c="white" if bit else "black", edgecolors="red",
                   zorder=3)
        ax.text(col + dc * 1.45, row + dr * 1.45, str(p), color="red", fontsize=8,
                ha="center", va="center")
    ax.scatter(col, row, s=60, marker="s", c="yellow", edgecolors="red", zorder=3)
    ax.set_title(f"pixel (row {row}, col {col}): neighbours 0..{P - 1}", fontsize=9)
    ax.set_axis_off()
    lines = [f"centre value {lbp.centre:.0f}", ""]
    lines += [f"p={p}: {s:6.1f} {'>=' if bit else '< '} centre -> bit {bit}"
              for p, (s, bit) in enumerate(zip(lbp.samples, lbp.bits))]
    lines += ["", f"bits p{P - 1}..p0: {lbp.bit_string}", f"code: {lbp.code}",
              f"{mapping} bin: {lbp.bin}", f"pattern: {lbp.label}"]
    axes[3].text(0, 1, "\n".join(lines), family="monospace", fontsize=8, va="top",
                 transform=axes[3].transAxes)
    axes[3].set_axis_off()
    fig.suptitle("Local binary pattern: each neighbour at least as bright as the centre is a 1")
    return fig


def motion_slices(volume, *, row: int, col: int) -> tuple[np.ndarray, np.ndarray]:
    """The XT slice at image row ``row`` and the YT slice at image column ``col``.

    Returns
    -------
    xt : ndarray, shape (T, W)
        ``volume[:, row, :]``: rows are frames, columns x.
    yt : ndarray, shape (T, H)
        ``volume[:, :, col]``: rows are frames, columns y (GUIDE §3).
    """
    volume = _volume(volume)
    if not (0 <= row < volume.shape[1] and 0 <= col < volume.shape[2]):
        raise ValueError(f"row {row} and col {col} must lie in the {volume.shape[1]}x"
                         f"{volume.shape[2]} frame")
    return volume[:, row, :], volume[:, :, col]


def _mouth_point(clip) -> tuple[int, int] | None:
    """Mean position (row, col) of the mouth landmarks over valid frames, if the clip has them."""
    landmarks = getattr(clip, "landmarks", None)
    if landmarks is None or not has_landmarks(clip) or not np.any(clip.valid):
        return None
    mouth = landmarks[clip.valid][:, 48:68].reshape(-1, 2).mean(axis=0)
    return int(round(mouth[1])), int(round(mouth[0]))


def plot_motion_slices(clip, *, row: int | None = None, col: int | None = None,
                       frame: int = 0, P: int = 8, radius: float = 1.0) -> Figure:
    """XT and YT slices through a clip, marked on a frame, and their LBP code images.

    A horizontal line of the frame followed through time is the XT slice; a vertical line, the
    YT slice. Still texture draws vertical stripes there, motion draws slanted ones: LBP-TOP's
    XT and YT histograms are the texture of these slices.

    Parameters
    ----------
    clip : AlignedClip or ndarray of uint8, shape (T, H, W)
    row, col : int, optional
        Slice lines (default: through the mean mouth position when the clip has measured
        landmarks, else the frame's centre).
    frame : int
        Frame on which the lines are drawn.
    P, radius
        LBP of the code images (``nri_uniform``).

    Returns
    -------
    matplotlib.figure.Figure
    """
    volume = _volume(clip)
    default = _mouth_point(clip) or (volume.shape[1] // 2, volume.shape[2] // 2)
    row = default[0] if row is None else row
    col = default[1] if col is None else col
    xt, yt = motion_slices(volume, row=row, col=col)
    if not 0 <= frame < volume.shape[0]:
        raise ValueError(f"frame must be in [0, {volume.shape[0] - 1}]; got {frame}")
    fig = Figure(figsize=(11, 5.5), layout="constrained")
    axes = fig.subplots(2, 3)
    ax = axes[0, 0]
    ax.imshow(volume[frame], cmap="gray", vmin=0, vmax=255)
    ax.axhline(row, color=_PLANE_COLOURS["xt"], linewidth=1.5, label=f"XT: row {row}")
    ax.axvline(col, color=_PLANE_COLOURS["yt"], linewidth=1.5, label=f"YT: column {col}")
    ax.legend(fontsize=7, loc="lower left")
    ax.set_title(f"frame {frame}", fontsize=9)
    axes[1, 0].set_axis_off()
    axes[1, 0].text(0, 0.9, "Rows of the slices are frames (time runs down).\n"
                    "Still texture: vertical stripes.\nMotion: slanted stripes, the slope is "
                    "the speed.", fontsize=8, va="top", transform=axes[1, 0].transAxes)
    for k, (name, image, axis) in enumerate((("XT", xt, "x"), ("YT", yt, "y"))):
        colour = _PLANE_COLOURS[name.lower()]
        ax = axes[0, k + 1]
        ax.imshow(image, cmap="gray", vmin=0, vmax=255, aspect="auto", interpolation="nearest")
        ax.set_title(f"{name} slice", fontsize=9, color=colour)
        ax.set_xlabel(axis)
        ax.set_ylabel("t (frame)")
        ax = axes[1, k + 1]
        if min(image.shape) >= 2 * math.ceil(radius) + 1:
            ax.imshow(local_binary_pattern(image, P, radius, method="nri_uniform"),
                      cmap="nipy_spectral", aspect="auto", interpolation="nearest")
        ax.set_title(f"its LBP codes (P={P}, R={radius:g})", fontsize=9, color=colour)
        ax.set_xlabel(axis)
        ax.set_ylabel("t (frame)")
    fig.suptitle("Motion textures: the XT and YT planes of LBP-TOP")
    return fig


def plot_block_histograms(clip, *, grid=(1, 4, 4), P=8, radius=(1, 1, 1),
                          mapping: str = "nri_uniform", segment: int = 0) -> Figure:
    """The LBP-TOP histograms of every block of one clip, laid out as the blocks lie on the face.

    Parameters
    ----------
    clip : AlignedClip or ndarray of uint8, shape (T, H, W)
    grid, P, radius, mapping
        As in :func:`~handcrafted_dfer.features.lbptop.lbptop_histograms`.
    segment : int
        Temporal segment drawn.

    Returns
    -------
    matplotlib.figure.Figure
        Left: the middle frame of the segment with the block grid (blocks split the valid
        centres, a margin of ``ceil(R)`` pixels inside the crop); right: one small panel per
        block with its XY, XT and YT histograms side by side.
    """
    volume = _volume(clip)
    hist = lbptop_histograms(volume, P=P, radius=radius, mapping=mapping, grid=grid)
    n_t, n_y, n_x = hist.shape[:3]
    if not 0 <= segment < n_t:
        raise ValueError(f"segment must be in [0, {n_t - 1}]; got {segment}")
    radii = (radius,) * 3 if np.ndim(radius) == 0 else tuple(radius)
    margin = [math.ceil(float(np.float32(r))) for r in radii]
    edges = [block_edges(n - 2 * m, g) + m for n, m, g in zip(volume.shape, margin, grid)]
    t0, t1 = edges[0][segment]
    bins = plane_bins(P, mapping)
    fig = Figure(figsize=(4 + 2.2 * n_x, max(4.0, 1.6 * n_y)), layout="constrained")
    outer = fig.add_gridspec(1, 2, width_ratios=(1.3, 0.6 * n_x))
    ax = fig.add_subplot(outer[0])
    ax.imshow(volume[(t0 + t1 - 1) // 2], cmap="gray", vmin=0, vmax=255)
    for r, (y0, y1) in enumerate(edges[1]):
        for c, (x0, x1) in enumerate(edges[2]):
            ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False,
                                   edgecolor="yellow", linewidth=0.8))
            ax.text(x0 + 1, y0 + 1, f"r{r}c{c}", color="yellow", fontsize=6, va="top")
    ax.set_title(f"frames {t0}-{t1 - 1}: blocks", fontsize=9)
    ax.set_axis_off()
    inner = outer[1].subgridspec(n_y, n_x)
    top = hist[segment].max()
    for r in range(n_y):
        for c in range(n_x):
            ax = fig.add_subplot(inner[r, c])
            start = 0
            for k, plane in enumerate(PLANES):
                x = np.arange(bins[k]) + start
                ax.bar(x, hist[segment, r, c, k, :bins[k]], width=1.0,
                       color=_PLANE_COLOURS[plane], label=plane.upper())
                start += bins[k] + 3
            ax.set_ylim(0, top * 1.05)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"r{r}c{c}", fontsize=6, pad=1)
    fig.legend(*ax.get_legend_handles_labels(), loc="lower right", fontsize=7, ncol=3)
    fig.suptitle(f"LBP-TOP histograms per block ({mapping}, P={P}): XY appearance, XT and YT "
                 "motion", fontsize=10)
    return fig


def hog3d_vote(gradient, *, polyhedron: str = "icosahedron", half: bool = False) -> np.ndarray:
    """Kläser's vote of one gradient on the faces of a polyhedron.

    Parameters
    ----------
    gradient : array_like, shape (3,)
        ``(g_t, g_y, g_x)``.
    polyhedron : {"icosahedron", "dodecahedron"}
    half : bool
        Opposite directions folded into one bin.

    Returns
    -------
    ndarray, shape (n_bins,)
        The projections onto the unit face normals (their absolute values when ``half``), less
        the projection of a face normal onto a neighbouring one, negatives set to zero, rescaled
        to the gradient's magnitude: the amount this gradient adds to each bin of its cell's
        :func:`~handcrafted_dfer.features.hog3d.hog3d_histograms`. All zeros for a zero gradient.
    """
    g = np.asarray(gradient, dtype=np.float64).ravel()
    if g.shape != (3,) or not np.all(np.isfinite(g)):
        raise ValueError(f"gradient must be three finite numbers (g_t, g_y, g_x); got {gradient!r}")
    normals = polyhedron_normals(polyhedron, half=half)
    magnitude = float(np.linalg.norm(g))
    if magnitude == 0:
        return np.zeros(len(normals))
    q = normals @ g / magnitude
    if half:
        q = np.abs(q)
    q = np.maximum(q - _neighbour_threshold(normals), 0.0)
    norm = float(np.linalg.norm(q))
    return q * (magnitude / norm) if norm > 0 else q


@dataclass(frozen=True, eq=False)
class HOG3DCell:
    """One 3D-HOG cell, one of its gradients, and the histogram its voxels vote.

    Attributes
    ----------
    cell : tuple of int
        ``(segment, row, col)`` in the grid.
    bounds : tuple of (start, stop)
        Frames, rows and columns the cell covers.
    voxel : tuple of int
        ``(t, y, x)`` of the strongest gradient in the cell.
    gradient : ndarray, shape (3,)
        Its ``(g_t, g_y, g_x)`` (``numpy.gradient`` differences).
    vote : ndarray, shape (n_bins,)
        Its vote (:func:`hog3d_vote`).
    histogram : ndarray, shape (n_bins,)
        The cell's histogram, unnormalized: the sum of every voxel's vote.
    labels : tuple of str
        Bin names (:func:`~.bins.hog3d_bin_labels`).
    """

    cell: tuple
    bounds: tuple
    voxel: tuple
    gradient: np.ndarray
    vote: np.ndarray
    histogram: np.ndarray
    labels: tuple


def hog3d_cell(volume, *, cell=None, grid=(2, 4, 4), polyhedron: str = "icosahedron",
               half: bool = False) -> HOG3DCell:
    """A 3D-HOG cell explained: its strongest gradient, that gradient's vote, the cell histogram.

    Parameters
    ----------
    volume : AlignedClip or ndarray of uint8, shape (T, H, W)
    cell : tuple of int, optional
        ``(segment, row, col)``; default: the cell with the largest total vote.
    grid, polyhedron, half
        As in :func:`~handcrafted_dfer.features.hog3d.hog3d_histograms` (no smoothing).

    Returns
    -------
    HOG3DCell
    """
    volume = _volume(volume)
    hist = hog3d_histograms(volume, polyhedron=polyhedron, half=half, grid=grid, normalize=None)
    grid = check_grid(grid, volume.shape)
    if cell is None:
        cell = np.unravel_index(int(np.argmax(hist.sum(axis=-1))), hist.shape[:3])
    cell = tuple(int(v) for v in cell)
    if len(cell) != 3 or not all(0 <= v < g for v, g in zip(cell, grid)):
        raise ValueError(f"cell must be (segment, row, col) inside the grid {grid}; got {cell}")
    indices = cell_indices(volume.shape, grid)
    bounds = tuple((int(np.flatnonzero(ix == v)[0]), int(np.flatnonzero(ix == v)[-1]) + 1)
                   for ix, v in zip(indices, cell))
    g = np.stack(np.gradient(volume.astype(np.float64)), axis=-1)
    part = g[tuple(slice(a, b) for a, b in bounds)]
    local = np.unravel_index(int(np.argmax(np.linalg.norm(part, axis=-1))), part.shape[:3])
    voxel = tuple(int(a + k) for (a, _), k in zip(bounds, local))
    gradient = g[voxel]
    return HOG3DCell(cell, bounds, voxel, gradient,
                     hog3d_vote(gradient, polyhedron=polyhedron, half=half), hist[cell],
                     tuple(hog3d_bin_labels(polyhedron=polyhedron, half=half)))


def plot_hog3d_cell(clip, *, cell=None, grid=(2, 4, 4), polyhedron: str = "icosahedron",
                    half: bool = False) -> Figure:
    """3D-HOG: the gradient of one cell and its vote on the polyhedron's faces.

    Parameters are those of :func:`hog3d_cell`.

    Returns
    -------
    matplotlib.figure.Figure
        The cell on its frame; its spatial gradients (arrows) on that frame; the polyhedron's
        face normals coloured by the strongest gradient's vote, with that gradient; and the
        vote beside the cell's whole histogram.
    """
    volume = _volume(clip)
    info = hog3d_cell(volume, cell=cell, grid=grid, polyhedron=polyhedron, half=half)
    (t0, t1), (y0, y1), (x0, x1) = info.bounds
    t = info.voxel[0]
    fig = Figure(figsize=(14, 4), layout="constrained")
    ax = fig.add_subplot(1, 4, 1)
    ax.imshow(volume[t], cmap="gray", vmin=0, vmax=255)
    ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, edgecolor="red"))
    ax.set_title(f"cell t{info.cell[0]} r{info.cell[1]} c{info.cell[2]} "
                 f"(frames {t0}-{t1 - 1}), frame {t}", fontsize=8)
    ax.set_axis_off()
    ax = fig.add_subplot(1, 4, 2)
    gy, gx = np.gradient(volume[t].astype(np.float64))
    ax.imshow(volume[t, y0:y1, x0:x1], cmap="gray", vmin=0, vmax=255,
              extent=(x0 - 0.5, x1 - 0.5, y1 - 0.5, y0 - 0.5))
    step = max(1, (y1 - y0) // 10)
    yy, xx = np.mgrid[y0:y1:step, x0:x1:step]
    ax.quiver(xx, yy, gx[yy, xx], gy[yy, xx], color="cyan", angles="xy")
    ax.plot(info.voxel[2], info.voxel[1], "r*", markersize=10)
    ax.set_title("spatial gradients in the cell (red star: strongest 3D gradient)", fontsize=8)
    ax.set_axis_off()
    ax = fig.add_subplot(1, 4, 3, projection="3d")
    normals = polyhedron_normals(polyhedron, half=half)
    vote = info.vote / max(info.vote.max(), 1e-12)
    ax.scatter(normals[:, 2], normals[:, 1], normals[:, 0], c=vote, cmap="Reds", vmin=0, vmax=1,
               s=60, edgecolors="black")
    for k in np.flatnonzero(info.vote > 0):
        ax.text(normals[k, 2], normals[k, 1], normals[k, 0], f" {k}", fontsize=7)
    g = info.gradient / max(np.linalg.norm(info.gradient), 1e-12)
    ax.quiver(0, 0, 0, g[2], g[1], g[0], color="blue", linewidth=2)
    ax.set_xlabel("x")
    ax.set_ylabel("y (down)")
    ax.set_zlabel("t")
    ax.set_title(f"{polyhedron} face normals; blue: gradient\nred: its vote", fontsize=8)
    ax = fig.add_subplot(1, 4, 4)
    x = np.arange(len(info.labels))
    ax.bar(x, info.histogram / max(info.histogram.sum(), 1e-12), color="grey",
           label="cell histogram (all voxels, sums to 1)")
    ax.bar(x, info.vote / max(info.vote.sum(), 1e-12), width=0.4, color="tab:red",
           label="the strongest gradient's vote")
    ax.set_xticks(x, [f"{k}: {name}" for k, name in enumerate(info.labels)], rotation=90,
                  fontsize=6)
    ax.legend(fontsize=7)
    fig.suptitle("3D-HOG: each voxel's gradient votes for the polyhedron faces closest to it")
    return fig


@dataclass(frozen=True, eq=False)
class FlowPair:
    """The dense flow of one pair of frames and its whole-frame histograms.

    Attributes
    ----------
    frame : int
        First frame of the pair.
    flow : ndarray of float32, shape (H, W, 2)
        ``(u, v)`` per pixel, x right and y down
        (:func:`~handcrafted_dfer.features.flow.dense_flow`).
    hof, mbhx, mbhy : ndarray
        L1-normalized histograms of the whole frame (one cell), ``n_bins + 1`` bins for HOF
        (the last is no motion) and ``n_bins`` for MBHx and MBHy.
    hof_labels, mbh_labels : tuple of str
        Bin names (:func:`~.bins.flow_bin_labels`).
    """

    frame: int
    flow: np.ndarray
    hof: np.ndarray
    mbhx: np.ndarray
    mbhy: np.ndarray
    hof_labels: tuple
    mbh_labels: tuple


def flow_pair(volume, *, frame: int = 0, method: str = "farneback", n_bins: int = 8,
              motion_threshold: float = 0.4) -> FlowPair:
    """Dense flow from frame ``frame`` to the next, with its HOF, MBHx and MBHy histograms.

    Parameters
    ----------
    volume : AlignedClip or ndarray of uint8, shape (T, H, W)
    frame : int
        In ``[0, T - 2]``.
    method, n_bins, motion_threshold
        As in :func:`~handcrafted_dfer.features.flow.flow_histograms` (one cell, L1
        normalization).

    Returns
    -------
    FlowPair
    """
    volume = _volume(volume)
    if not 0 <= frame < volume.shape[0] - 1:
        raise ValueError(f"frame must be in [0, {volume.shape[0] - 2}] (a pair needs the next "
                         f"frame); got {frame}")
    pair = volume[frame:frame + 2]
    hists = flow_histograms(pair, method=method, descriptors=("hof", "mbh"), grid=(1, 1, 1),
                            n_bins=n_bins, motion_threshold=motion_threshold, normalize="l1")
    return FlowPair(frame, dense_flow(pair, method=method)[0], hists["hof"].ravel(),
                    hists["mbhx"].ravel(), hists["mbhy"].ravel(),
                    tuple(flow_bin_labels(n_bins, no_motion=True)),
                    tuple(flow_bin_labels(n_bins, no_motion=False)))


def plot_flow(clip, *, frame: int = 0, method: str = "farneback", n_bins: int = 8,
              motion_threshold: float = 0.4) -> Figure:
    """The dense flow field of a pair of frames, and its HOF and MBH histograms.

    Parameters are those of :func:`flow_pair`.

    Returns
    -------
    matplotlib.figure.Figure
        The first frame with the flow as arrows (image coordinates: an arrow points where the
        pixel moves), the flow magnitude, and the HOF, MBHx and MBHy histograms with their
        directions named.
    """
    volume = _volume(clip)
    info = flow_pair(volume, frame=frame, method=method, n_bins=n_bins,
                     motion_threshold=motion_threshold)
    u, v = info.flow[..., 0], info.flow[..., 1]
    fig = Figure(figsize=(15, 3.8), layout="constrained")
    axes = fig.subplots(1, 5, width_ratios=(1.2, 1.2, 1, 1, 1))
    ax = axes[0]
    ax.imshow(volume[frame], cmap="gray", vmin=0, vmax=255)
    step = max(1, volume.shape[1] // 16)
    yy, xx = np.mgrid[step // 2:volume.shape[1]:step, step // 2:volume.shape[2]:step]
    ax.quiver(xx, yy, u[yy, xx], v[yy, xx], color="yellow", angles="xy", scale_units="xy",
              scale=0.25)
    ax.set_title(f"flow from frame {frame} to {frame + 1} (arrows x4)", fontsize=8)
    ax.set_axis_off()
    shown = axes[1].imshow(np.hypot(u, v), cmap="magma")
    fig.colorbar(shown, ax=axes[1], shrink=0.7, label="pixels per frame")
    axes[1].set_title(f"flow magnitude ({method})", fontsize=8)
    axes[1].set_axis_off()
    for ax, values, labels, name in ((axes[2], info.hof, info.hof_labels, "HOF: motion direction"),
                                     (axes[3], info.mbhx, info.mbh_labels,
                                      "MBHx: gradient of horizontal flow"),
                                     (axes[4], info.mbhy, info.mbh_labels,
                                      "MBHy: gradient of vertical flow")):
        ax.bar(np.arange(len(values)), values, color="tab:purple")
        ax.set_xticks(np.arange(len(values)), labels, rotation=60, ha="right", fontsize=7)
        ax.set_title(name, fontsize=8)
    fig.suptitle("Optical flow: HOF counts where pixels move, MBH where the motion changes "
                 "(its boundaries)")
    return fig
