"""What each histogram bin encodes: LBP patterns, 3D-HOG directions, flow directions.

**LBP bins** are named from the pattern of the codes they count (bit ``p`` is 1 where neighbour
``p`` is at least as bright as the centre; neighbour 0 lies at column ``+R`` and neighbours go
counter-clockwise, GUIDE §3). A *uniform* pattern (at most two 0/1 changes around the circle) is
one arc of ``n`` ones; it is named from ``n`` and the circle size ``P``:

============  ======================================================================
``spot``      ``n = 0``: every neighbour darker than the centre (a bright spot)
``flat``      ``n = P``: no neighbour darker (a flat patch, or a dark spot)
``edge``      ``min(n, P - n) = P // 2``: half the circle brighter (``n = 4`` for P = 8)
``line end``  ``min(n, P - n) = 1``: a single neighbour differs (the end of a thin line)
``corner``    any other arc (``n`` = 2, 3, 5, 6 for P = 8)
``non-uniform``  more than two changes (noise, crossings); u2's last bin
============  ======================================================================

``spot`` and ``flat`` are kept apart because ties count as 1: a truly flat patch gives all ones,
while all zeros needs a strict local maximum. For line ends and corners the arc is either the
bright minority (``n < P/2``: a bright line end or corner) or the dark one (``n > P/2``).
A bin holding a single code (``nri_uniform`` and ``default`` mappings) also has a direction: that
of the middle of the arc of ones, the side towards which the neighbourhood is brighter, as an
angle of the plane *drawn as an image* (rows down), clockwise from right like the flow bins:
0 = right, 90 = down, 270 = up. On XT and YT the rows are time, so "up" is the previous frame
and an edge that is neither horizontal nor vertical is a moving one.

**3D-HOG bins** are face normals of a polyhedron in ``(t, y, x)`` order
(:func:`~handcrafted_dfer.features.hog3d.polyhedron_normals`): a gradient votes for the normals
closest to it, so a bin is a direction in which the clip gets brighter. Its label names the
components of the normal, largest first: the image direction (``right``, ``down``, ...; ``y``
down) and ``brightening`` (``+t``) or ``darkening`` (``-t``), with ``slightly`` for a component
under 0.45 and ``static`` for a normal with no time component.

**Flow bins** (HOF, MBHx, MBHy) are angles in image coordinates, ``y`` down: bin ``k`` of ``n``
is centred on ``360 k / n`` degrees measured from ``+x`` towards ``+y`` (for 8 bins 0 right,
1 down-right, 2 down, ... 6 up); HOF has an extra last bin, ``no motion``. For HOF the direction
is that of the motion; for MBHx (MBHy) it is that of the gradient of the horizontal (vertical)
flow, i.e. across a motion boundary.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from ..features._kernels import lbp as _lbp
from ..features.hog3d import POLYHEDRA, polyhedron_normals
from ..features.lbptop import MAX_P

__all__ = [
    "LBP_CATEGORIES",
    "LBPBin",
    "lbp_pattern",
    "lbp_bins",
    "compass",
    "hog3d_bin_labels",
    "flow_bin_labels",
    "bin_labels",
]

#: LBP pattern categories, in the order figures list them.
LBP_CATEGORIES = ("spot", "line end", "corner", "edge", "flat", "non-uniform")

#: Image directions every 45 degrees, clockwise on screen from right (image coordinates, y down).
_COMPASS = ("right", "down-right", "down", "down-left", "left", "up-left", "up", "up-right")


@dataclass(frozen=True)
class LBPBin:
    """What one LBP histogram bin counts.

    Attributes
    ----------
    bin : int
    category : str
        One of :data:`LBP_CATEGORIES`.
    n_ones : int or None
        Neighbours at least as bright as the centre (None for the non-uniform bin).
    brighter_toward : float or None
        Direction of the middle of the arc of ones, degrees clockwise from right in the plane
        drawn as an image; None when the bin has no single direction (spot, flat, non-uniform,
        riu2 bins).
    label : str
        Short readable name: ``"edge brighter up/up-right"``, or for line ends and corners
        where the minority arc lies, ``"bright corner down"``, ``"dark line end left"``.
    """

    bin: int
    category: str
    n_ones: int | None
    brighter_toward: float | None
    label: str


def _check_P(P) -> None:
    if int(P) != P or not 1 <= P <= MAX_P:
        raise ValueError(f"P must be an integer in [1, {MAX_P}]; got {P!r}")


def _patterns(codes: np.ndarray, P: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Category, number of ones (-1: non-uniform) and brighter direction (NaN: none) of codes."""
    bits = (codes[:, None] >> np.arange(P)) & 1
    changes = np.abs(bits - np.roll(bits, 1, axis=1)).sum(axis=1)
    n = bits.sum(axis=1)
    uniform = changes <= 2
    # first bit of the arc of ones: a one whose previous neighbour (counter-clockwise) is a zero
    start = np.argmax(bits & (1 - np.roll(bits, 1, axis=1)), axis=1)
    angle = (-(start + (n - 1) / 2) * 360.0 / P) % 360.0  # neighbours go counter-clockwise
    minority = np.minimum(n, P - n)
    category = np.where(minority == P // 2, "edge",
                        np.where(minority == 1, "line end", "corner")).astype(object)
    category[n == 0] = "spot"
    category[n == P] = "flat"
    category[~uniform] = "non-uniform"
    arc = uniform & (n > 0) & (n < P)
    return category, np.where(uniform, n, -1), np.where(arc, angle, np.nan)


def lbp_pattern(code: int, *, P: int = 8) -> tuple[str, int | None, float | None]:
    """Category, number of ones and brighter direction of one raw LBP code.

    Parameters
    ----------
    code : int
        ``sum(bit_p << p)`` for ``p < P``.
    P : int
        Neighbours on the circle.

    Returns
    -------
    category : str
    n_ones : int or None
        None for a non-uniform code.
    brighter_toward : float or None
        Degrees clockwise from right in the plane drawn as an image (see the module docstring);
        None for ``spot``, ``flat`` and ``non-uniform``.

    Examples
    --------
    >>> lbp_pattern(0b00000111)   # neighbours 0, 1, 2 (right, up-right, up) brighter
    ('corner', 3, 315.0)
    >>> lbp_pattern(0b01010101)
    ('non-uniform', None, None)
    """
    _check_P(P)
    if int(code) != code or not 0 <= code < 2**P:
        raise ValueError(f"code must be an integer in [0, {2**P - 1}] for P = {P}; got {code}")
    category, n, angle = (a[0] for a in _patterns(np.array([int(code)]), int(P)))
    return (str(category), None if n < 0 else int(n),
            None if np.isnan(angle) else float(angle))


@functools.lru_cache(maxsize=None)
def _bins(P: int, mapping: str) -> tuple:
    table = _lbp.mapping_table(P, mapping)
    category, n, angle = _patterns(np.arange(2**P), P)
    out = []
    for b in range(_lbp.n_bins(P, mapping)):
        codes = np.flatnonzero(table == b)
        if (category[codes] == "non-uniform").any() or len(set(n[codes].tolist())) != 1:
            out.append(LBPBin(b, "non-uniform", None, None, "non-uniform"))
            continue
        cat, ones = str(category[codes[0]]), int(n[codes[0]])
        direction = None if len(codes) != 1 or np.isnan(angle[codes[0]]) else float(
            angle[codes[0]])
        label = cat
        if cat in ("line end", "corner"):
            # named by where the minority arc lies: the bright arc, or the dark one opposite it
            bright = ones < P / 2
            label = ("bright " if bright else "dark ") + cat
            if direction is not None:
                label += " " + compass(direction if bright else direction + 180.0)
        elif direction is not None:
            label += f" brighter {compass(direction)}"
        out.append(LBPBin(b, cat, ones, direction, label))
    return tuple(out)


def lbp_bins(*, P: int = 8, mapping: str = "nri_uniform") -> list[LBPBin]:
    """Every bin of an LBP histogram, named by the codes the mapping sends there.

    Parameters
    ----------
    P : int
        Neighbours on the circle.
    mapping : {'nri_uniform', 'uniform', 'default'}
        As in :func:`~handcrafted_dfer.features.lbptop.lbptop_histograms`.

    Returns
    -------
    list of LBPBin
        One per bin, in bin order (59 for P = 8 and ``nri_uniform``).

    Notes
    -----
    The bins are found by inverting the extractor's own mapping table, and each bin's name comes
    from the bits of its codes (:func:`lbp_pattern`), so the names follow the mapping exactly.
    """
    if mapping not in _lbp.MAPPINGS:
        raise ValueError(f"mapping must be one of {', '.join(_lbp.MAPPINGS)}; got {mapping!r}")
    _check_P(P)
    return list(_bins(int(P), mapping))


def compass(angle: float) -> str:
    """Image direction of an angle in degrees clockwise on screen from right (``y`` down).

    Multiples of 45 degrees are named (``right``, ``down-right``, ``down`` ...), the angles half
    way between two of them join both names (``"up/up-right"`` for 292.5); other angles are
    written in degrees.
    """
    step = (angle % 360.0) / 45.0
    nearest = round(step)
    if abs(step - nearest) < 1e-6:
        return _COMPASS[int(nearest) % 8]
    if abs(step - math.floor(step) - 0.5) < 1e-6:
        return f"{_COMPASS[math.floor(step) % 8]}/{_COMPASS[math.ceil(step) % 8]}"
    return f"{angle % 360.0:.0f}°"


def _direction_words(t: float, y: float, x: float) -> str:
    """Components of a (t, y, x) direction in words, largest first (see the module docstring)."""
    words = []
    for value, positive, negative in ((x, "right", "left"), (y, "down", "up"),
                                      (t, "brightening", "darkening")):
        if abs(value) > 1e-9:
            word = positive if value > 0 else negative
            words.append((-abs(value), ("slightly " if abs(value) < 0.45 else "") + word))
    words = [w for _, w in sorted(words, key=lambda item: item[0])]
    if abs(t) <= 1e-9:
        words.append("static")
    return ", ".join(words)


def hog3d_bin_labels(*, polyhedron: str = "icosahedron", half: bool = False) -> list[str]:
    """Labels of the 3D-HOG bins, e.g. ``"right, slightly down, static"``.

    The components of each face normal (:func:`~handcrafted_dfer.features.hog3d.polyhedron_normals`)
    in words, largest first; with ``half`` (opposite directions folded) the label ends in
    ``" (±)"``: the bin counts that direction and its opposite.
    """
    suffix = " (±)" if half else ""
    return [_direction_words(*normal) + suffix
            for normal in polyhedron_normals(polyhedron, half=half)]


def flow_bin_labels(n_bins: int = 8, *, no_motion: bool = True) -> list[str]:
    """Labels of flow orientation bins (HOF with ``no_motion``, MBHx/MBHy without).

    Bin ``k`` is centred on ``360 k / n_bins`` degrees from ``+x`` towards ``+y`` (image
    coordinates, as in :func:`~handcrafted_dfer.features.flow.flow_histograms`).
    """
    if int(n_bins) != n_bins or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer; got {n_bins!r}")
    labels = [compass(360.0 * k / n_bins) for k in range(int(n_bins))]
    return labels + ["no motion"] if no_motion else labels


def bin_labels(family: str, plane: str | None, n_bins: int, *, P: int = 8,
               mapping: str = "nri_uniform") -> list[str]:
    """Labels of the ``n_bins`` bins of one histogram kind.

    Parameters
    ----------
    family : str
        ``lbptop``, ``hog3d``, ``hof``, ``mbhx`` or ``mbhy``.
    plane : str or None
        LBP-TOP plane (unused otherwise).
    n_bins : int
        Bins of the histogram; must agree with the family (and P, mapping for LBP-TOP).
    P, mapping
        LBP parameters of the plane (see :func:`lbp_bins`).

    Returns
    -------
    list of str

    Raises
    ------
    ValueError
        Unknown family, or a bin count the family cannot have.
    """
    if family == "lbptop":
        expected = _lbp.n_bins(P, mapping)
        if n_bins != expected:
            raise ValueError(f"the {plane} plane has {n_bins} bins but P={P}, mapping={mapping!r} "
                             f"gives {expected}; pass the P and mapping of the extractor")
        return [b.label for b in lbp_bins(P=P, mapping=mapping)]
    if family == "hog3d":
        for polyhedron, faces in POLYHEDRA.items():
            for half in (False, True):
                if n_bins == faces // (2 if half else 1):
                    return hog3d_bin_labels(polyhedron=polyhedron, half=half)
        raise ValueError(f"3D-HOG histograms have 20, 10, 12 or 6 bins; got {n_bins}")
    if family == "hof":
        if n_bins < 2:
            raise ValueError(f"HOF histograms have n_bins + 1 >= 2 bins; got {n_bins}")
        return flow_bin_labels(n_bins - 1, no_motion=True)
    if family in ("mbhx", "mbhy"):
        return flow_bin_labels(n_bins, no_motion=False)
    raise ValueError(f"unknown feature family {family!r}; expected lbptop, hog3d, hof, mbhx or "
                     "mbhy")
