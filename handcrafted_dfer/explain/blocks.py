"""Feature names as face blocks, and block names a person can read.

Every handcrafted feature is named ``family[/plane]/r<row>c<col>/t<segment>/<b|o><bin>``
(GUIDE §3), e.g. ``lbptop/xy/r2c3/t0/b17``, ``hog3d/r1c0/t1/o05`` or ``hof/r0c2/t0/o8``. A
*block* is everything but the bin: one cell of the spatial grid over the aligned ``S x S`` crop, on
one plane, in one temporal segment. :class:`BlockNamer` turns a block into a phrase such as
``"mouth-corner block (left), XT plane, apex segment"`` by looking at which of the 68 mean aligned
landmarks fall inside its grid cell.

Sides (``left``/``right``) are the person's own, as in the 68-point scheme: the right eye
(landmarks 36-41) appears on the *image's* left.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ..features._validation import block_edges

__all__ = [
    "LANDMARK_GROUPS",
    "NO_LANDMARKS",
    "FeatureName",
    "Block",
    "parse_feature_name",
    "parse_block",
    "histogram_matrix",
    "group_columns",
    "segment_name",
    "KIND_TITLES",
    "block_kind",
    "has_landmarks",
    "mean_landmarks",
    "BlockNamer",
]

#: Said wherever a figure or a block name would need landmarks that the clips do not have.
NO_LANDMARKS = ("no landmarks: the faces were given already aligned, so blocks are named by their "
                "grid cell, not by a face region")

#: The 68-point landmark groups (iBUG 300-W numbering, 0-based), as ``name -> indices``.
LANDMARK_GROUPS = {
    "jaw": tuple(range(0, 17)),
    "right brow": tuple(range(17, 22)),
    "left brow": tuple(range(22, 27)),
    "nose": tuple(range(27, 36)),
    "right eye": tuple(range(36, 42)),
    "left eye": tuple(range(42, 48)),
    "outer mouth": tuple(range(48, 60)),
    "inner mouth": tuple(range(60, 68)),
}

#: Mouth corners: the person's right (48, 60) and left (54, 64).
_MOUTH_CORNERS = {"right": (48, 60), "left": (54, 64)}

#: How each descriptor family is described in a block name.
_DESCRIPTORS = {
    "lbptop": "LBP-TOP",
    "hog3d": "3D-HOG",
    "hof": "flow direction (HOF)",
    "mbhx": "horizontal flow boundaries (MBHx)",
    "mbhy": "vertical flow boundaries (MBHy)",
}

#: Short titles of the histogram kinds (a family, or an LBP-TOP plane), see :func:`block_kind`.
KIND_TITLES = {
    "lbptop/xy": "LBP-TOP XY (appearance)",
    "lbptop/xt": "LBP-TOP XT (horizontal motion)",
    "lbptop/yt": "LBP-TOP YT (vertical motion)",
    "hog3d": "3D-HOG",
    "hof": "HOF (flow directions)",
    "mbhx": "MBHx (horizontal flow boundaries)",
    "mbhy": "MBHy (vertical flow boundaries)",
}

_NAME = re.compile(
    r"^(?:[^/]*__)?(?P<family>[a-z0-9]+)(?:/(?P<plane>xy|xt|yt))?"
    r"/r(?P<row>\d+)c(?P<col>\d+)/t(?P<segment>\d+)/(?P<kind>[bo])(?P<bin>\d+)$"
)


@dataclass(frozen=True)
class Block:
    """One grid cell of one descriptor family on one plane in one temporal segment.

    Parameters
    ----------
    family : str
        Descriptor family (``lbptop``, ``hog3d``, ``hof``, ``mbhx``, ``mbhy``, ...).
    plane : str or None
        ``xy``, ``xt`` or ``yt`` for LBP-TOP; None for families without planes.
    row, col : int
        Cell of the spatial grid (row counts down from the top of the crop).
    segment : int
        Temporal segment, 0 first.
    """

    family: str
    plane: str | None
    row: int
    col: int
    segment: int

    def __str__(self) -> str:
        plane = f"/{self.plane}" if self.plane else ""
        return f"{self.family}{plane}/r{self.row}c{self.col}/t{self.segment}"


@dataclass(frozen=True)
class FeatureName:
    """A parsed feature name: its :class:`Block` and histogram bin.

    Parameters
    ----------
    family, plane, row, col, segment
        As in :class:`Block`.
    bin : int
        Histogram bin (``b17`` -> 17) or orientation bin (``o05`` -> 5).
    """

    family: str
    plane: str | None
    row: int
    col: int
    segment: int
    bin: int

    @property
    def block(self) -> Block:
        """The block this feature belongs to."""
        return Block(self.family, self.plane, self.row, self.col, self.segment)


def parse_feature_name(name: str) -> FeatureName:
    """Parse ``family[/plane]/r<row>c<col>/t<segment>/<b|o><bin>``.

    A scikit-learn ``FeatureUnion`` prefix (``lbptop__lbptop/xy/...``) is accepted and ignored.

    Parameters
    ----------
    name : str

    Returns
    -------
    FeatureName

    Raises
    ------
    ValueError
        If ``name`` does not follow the pattern.

    Examples
    --------
    >>> parse_feature_name("lbptop/xy/r2c3/t0/b17")
    FeatureName(family='lbptop', plane='xy', row=2, col=3, segment=0, bin=17)
    >>> parse_feature_name("hog3d/r1c0/t1/o05").block
    Block(family='hog3d', plane=None, row=1, col=0, segment=1)
    """
    match = _NAME.match(str(name))
    if match is None:
        raise ValueError(
            f"feature name {name!r} does not follow "
            "family[/plane]/r<row>c<col>/t<segment>/<b|o><bin> "
            "(e.g. 'lbptop/xy/r2c3/t0/b17' or 'hog3d/r1c0/t1/o05')"
        )
    g = match.groupdict()
    return FeatureName(g["family"], g["plane"], int(g["row"]), int(g["col"]), int(g["segment"]),
                       int(g["bin"]))


def parse_block(text: str) -> Block:
    """A :class:`Block` from its string form (``lbptop/xy/r2c3/t0``, ``hog3d/r1c0/t1``).

    Raises
    ------
    ValueError
        If ``text`` is not a block.
    """
    try:
        return parse_feature_name(f"{text}/b0").block
    except ValueError:
        raise ValueError(f"{text!r} is not a block (expected family[/plane]/r<row>c<col>/"
                         "t<segment>, e.g. 'lbptop/xy/r2c3/t0')") from None


def group_columns(feature_names) -> tuple[list[Block], np.ndarray]:
    """The distinct blocks of a feature matrix and the block of each column.

    Parameters
    ----------
    feature_names : sequence of str
        One name per column.

    Returns
    -------
    blocks : list of Block
        Distinct blocks in order of first appearance.
    column_block : ndarray of int64, shape (n_features,)
        ``blocks[column_block[j]]`` is the block of column ``j``.
    """
    index: dict[Block, int] = {}
    column_block = np.empty(len(feature_names), dtype=np.int64)
    for j, name in enumerate(feature_names):
        column_block[j] = index.setdefault(parse_feature_name(name).block, len(index))
    return list(index), column_block


def histogram_matrix(X, y, feature_names) -> tuple[np.ndarray, np.ndarray]:
    """``X`` as float64 and ``y`` as an array, checked as histograms with named columns.

    Raises
    ------
    ValueError
        ``X`` is not 2D with one row per label and one column per feature name, or holds a
        negative value.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if X.ndim != 2 or X.shape[1] != len(feature_names) or len(y) != X.shape[0]:
        raise ValueError(f"X must be 2D with one row per label ({len(y)}) and one column per "
                         f"feature name ({len(feature_names)}); got shape {X.shape}")
    if X.size and X.min() < 0:
        raise ValueError(f"histograms must be non-negative; the smallest value is {X.min()}")
    return X, y


def block_kind(block: Block) -> str:
    """The kind of histogram a block holds: ``family/plane`` for LBP-TOP, else ``family``.

    Titles for figures are in :data:`KIND_TITLES`.
    """
    return block.family if block.plane is None else f"{block.family}/{block.plane}"


def segment_name(segment: int, n_segments: int) -> str:
    """Name of temporal segment ``segment`` (0-based) out of ``n_segments``.

    Clips run from onset to apex (CK+ order), so with two segments they are the ``onset half``
    and ``apex half``; with three the ``onset``, ``middle`` and ``apex segment``; one is the
    ``whole clip``; otherwise ``segment k of n`` (k counted from 1).
    """
    if not 0 <= segment < n_segments:
        raise ValueError(f"segment must be in [0, {n_segments - 1}]; got {segment}")
    if n_segments == 1:
        return "whole clip"
    if n_segments == 2:
        return ("onset half", "apex half")[segment]
    if n_segments == 3:
        return ("onset segment", "middle segment", "apex segment")[segment]
    return f"segment {segment + 1} of {n_segments}"


def has_landmarks(clip) -> bool:
    """Whether a clip's landmarks were measured.

    False for clips whose frames were given already aligned (``PreprocessConfig(faces="aligned")``
    marks them with ``AlignedClip.has_landmarks = False``); clips without that attribute have
    measured landmarks.
    """
    return bool(getattr(clip, "has_landmarks", True))


def mean_landmarks(clips) -> np.ndarray:
    """Mean aligned landmarks over the valid frames of clips.

    Parameters
    ----------
    clips : iterable of AlignedClip or None
        ``None`` entries (clips that failed preprocessing) and clips without measured landmarks
        (:func:`has_landmarks`) are ignored.

    Returns
    -------
    ndarray of float64, shape (68, 2)
        ``(x, y)`` in crop pixels.

    Raises
    ------
    ValueError
        If no clip has a valid frame with measured landmarks.
    """
    total = np.zeros((68, 2))
    count = 0
    for clip in clips:
        if clip is None or not has_landmarks(clip):
            continue
        valid = clip.landmarks[clip.valid]
        total += valid.sum(axis=0)
        count += len(valid)
    if count == 0:
        raise ValueError("mean_landmarks needs at least one clip with a valid frame and measured "
                         "landmarks")
    return total / count


class BlockNamer:
    """Readable names of blocks from the mean aligned face.

    Parameters
    ----------
    landmarks : array_like, shape (68, 2), or None
        Mean aligned landmarks ``(x, y)`` in crop pixels (see :func:`mean_landmarks`); None when
        the clips have none (faces given aligned): blocks are then named by their grid cell and
        the name says so.
    size : int
        Side ``S`` of the aligned crop the block grids cover.
    grids : dict
        ``family -> (n_rows, n_cols, n_segments)``; see :meth:`from_feature_names`.
    """

    def __init__(self, *, landmarks, size: int, grids: dict):
        if landmarks is not None:
            landmarks = np.asarray(landmarks, dtype=np.float64)
            if landmarks.shape != (68, 2):
                raise ValueError(f"landmarks must have shape (68, 2) or be None; got "
                                 f"{landmarks.shape}")
        if size < 1:
            raise ValueError(f"size must be a positive number of pixels; got {size}")
        self.landmarks = landmarks
        self.size = int(size)
        self.grids = {f: tuple(int(v) for v in g) for f, g in grids.items()}

    @classmethod
    def from_feature_names(cls, feature_names, *, landmarks, size: int) -> "BlockNamer":
        """A namer whose grid sizes and segment counts are read off the feature names."""
        return cls.from_blocks(group_columns(feature_names)[0], landmarks=landmarks, size=size)

    @classmethod
    def from_blocks(cls, blocks, *, landmarks, size: int) -> "BlockNamer":
        """A namer whose grid sizes and segment counts are those the blocks span."""
        grids: dict[str, list[int]] = {}
        for block in blocks:
            g = grids.setdefault(block.family, [0, 0, 0])
            g[0] = max(g[0], block.row + 1)
            g[1] = max(g[1], block.col + 1)
            g[2] = max(g[2], block.segment + 1)
        return cls(landmarks=landmarks, size=size, grids=grids)

    def _grid(self, block: Block) -> tuple[int, int, int]:
        if block.family not in self.grids:
            raise ValueError(f"no grid is known for family {block.family!r}; "
                             f"known: {sorted(self.grids)}")
        n_rows, n_cols, n_segments = self.grids[block.family]
        if block.row >= n_rows or block.col >= n_cols or block.segment >= n_segments:
            raise ValueError(f"block {block} lies outside the {block.family} grid "
                             f"({n_rows} rows, {n_cols} columns, {n_segments} segments)")
        return n_rows, n_cols, n_segments

    def cell(self, block: Block) -> tuple[int, int, int, int]:
        """Pixel bounds ``(y0, y1, x0, x1)`` (stop exclusive) of the block's grid cell."""
        n_rows, n_cols, _ = self._grid(block)
        y0, y1 = block_edges(self.size, n_rows)[block.row]
        x0, x1 = block_edges(self.size, n_cols)[block.col]
        return int(y0), int(y1), int(x0), int(x1)

    @property
    def has_landmarks(self) -> bool:
        """Whether blocks are named from landmarks (else by their grid cell)."""
        return self.landmarks is not None

    def landmarks_in(self, block: Block) -> np.ndarray:
        """Indices of the mean landmarks inside the block's grid cell (none without landmarks)."""
        if self.landmarks is None:
            return np.zeros(0, dtype=np.int64)
        y0, y1, x0, x1 = self.cell(block)
        x, y = self.landmarks[:, 0], self.landmarks[:, 1]
        return np.flatnonzero((x >= x0) & (x < x1) & (y >= y0) & (y < y1))

    def _side(self, x: float) -> str:
        """The person's side of an image column (their right is the image's left)."""
        midline = self.landmarks[27:31, 0].mean()  # nose bridge
        eye_distance = abs(self.landmarks[42:48, 0].mean() - self.landmarks[36:42, 0].mean())
        if abs(x - midline) < 0.15 * max(eye_distance, 1.0):
            return "centre"
        return "right" if x < midline else "left"

    def region(self, block: Block) -> str:
        """Where the block lies on the face, e.g. ``"mouth-corner block (left)"``; without
        landmarks, its grid cell: ``"block at row 3, column 2 of 4 x 4 (no landmarks)"``."""
        if self.landmarks is None:
            n_rows, n_cols, _ = self._grid(block)
            return (f"block at row {block.row + 1}, column {block.col + 1} of {n_rows} x "
                    f"{n_cols} (no landmarks)")
        inside = set(self.landmarks_in(block).tolist())
        y0, y1, x0, x1 = self.cell(block)
        side = self._side((x0 + x1) / 2)
        if not inside:
            return f"{self._empty_region(y0, y1, x0, x1)} block ({side})"
        counts = {name: len(inside.intersection(idx)) for name, idx in LANDMARK_GROUPS.items()}
        counts["mouth"] = counts.pop("outer mouth") + counts.pop("inner mouth")
        present = sorted((n for n in counts if counts[n]), key=lambda n: -counts[n])
        if present[0] == "mouth":
            corners = [s for s, idx in _MOUTH_CORNERS.items() if inside.intersection(idx)]
            if len(corners) == 1:
                present[0] = "mouth-corner"
                side = corners[0]
        label = " + ".join(present[:2])
        return f"{label} block ({side})"

    def _empty_region(self, y0, y1, x0, x1) -> str:
        """A block with no landmark inside: named by where it lies relative to the face."""
        lm = self.landmarks
        cy, cx = (y0 + y1) / 2, (x0 + x1) / 2
        jaw = lm[0:17]
        if cx < jaw[:, 0].min() or cx > jaw[:, 0].max() or cy > jaw[:, 1].max():
            return "off-face"
        if cy < lm[17:27, 1].min():
            return "forehead"
        if cy < lm[36:48, 1].max():
            return "temple"
        if cy < lm[48:60, 1].min():
            return "cheek"
        return "lower-cheek"

    def describe(self, block: Block) -> str:
        """The full readable name: region, descriptor or plane, temporal segment.

        Examples: ``"mouth-corner block (left), XT plane, apex segment"``,
        ``"right eye + right brow block (right), 3D-HOG, onset half"``.
        """
        _, _, n_segments = self._grid(block)
        if block.plane:
            what = f"{block.plane.upper()} plane"
        else:
            what = _DESCRIPTORS.get(block.family, block.family.upper())
        return f"{self.region(block)}, {what}, {segment_name(block.segment, n_segments)}"
