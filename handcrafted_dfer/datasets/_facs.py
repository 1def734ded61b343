"""FACS-style action units as displacement fields on the 68 iBUG landmarks.

Each action unit (AU) moves a few landmarks by a fixed vector at full intensity. Vectors are in
units of the inter-ocular distance (IOD, between the two eye centres) in a face frame whose x axis
runs from the subject's right eye to the left eye (image left to right for a frontal face) and
whose y axis points down the face. The tables give one side of the face with ``dx`` measured
*outwards* from the midline; :func:`au_field` mirrors them onto the other side, so every AU is
symmetric. Magnitudes are rough visual estimates from the FACS manual's descriptions, chosen so
that an apex is plainly visible at 96 x 96 pixels and no warp triangle folds over at intensity 1.3.

The emotion prototypes are the EMFACS-style combinations commonly quoted for the six basic
emotions (Ekman & Friesen, 1978; Lucey et al., 2010, Table 2).

References
----------
.. [1] P. Ekman and W. V. Friesen, "Facial Action Coding System", Consulting Psychologists
       Press, 1978.
.. [2] P. Lucey et al., "The Extended Cohn-Kanade Dataset (CK+)", CVPR Workshops, 2010.
"""

from __future__ import annotations

import numpy as np

__all__ = ["MIRROR", "ACTION_UNITS", "PROTOTYPES", "CKPLUS_CODES", "au_field"]


def _mirror_map() -> np.ndarray:
    pairs = [(i, 16 - i) for i in range(8)]  # jaw; 8 (chin) is on the midline
    pairs += [(17, 26), (18, 25), (19, 24), (20, 23), (21, 22)]  # brows
    pairs += [(31, 35), (32, 34)]  # nostrils; 27-30 and 33 on the midline
    pairs += [(36, 45), (37, 44), (38, 43), (39, 42), (40, 47), (41, 46)]  # eyes
    pairs += [(48, 54), (49, 53), (50, 52), (55, 59), (56, 58)]  # outer lips; 51, 57 midline
    pairs += [(60, 64), (61, 63), (65, 67)]  # inner lips; 62, 66 midline
    m = np.arange(68)
    for a, b in pairs:
        m[a], m[b] = b, a
    return m


#: ``MIRROR[i]`` is the landmark that mirrors landmark ``i`` across the facial midline.
MIRROR = _mirror_map()

#: AU number -> {landmark: (outward dx, dy)} in IOD units at full intensity, one side (and the
#: midline) only; the mirror side is filled in by :func:`au_field`.
ACTION_UNITS: dict[int, dict[int, tuple[float, float]]] = {
    1: {  # inner brow raiser
        21: (0.0, -0.13), 20: (0.0, -0.09), 19: (0.0, -0.05), 18: (0.0, -0.02),
    },
    2: {  # outer brow raiser
        17: (0.0, -0.11), 18: (0.0, -0.11), 19: (0.0, -0.08), 20: (0.0, -0.04),
    },
    4: {  # brow lowerer: brows down and drawn together, upper lids pressed down a little
        21: (-0.07, 0.09), 20: (-0.05, 0.08), 19: (-0.03, 0.06), 18: (-0.01, 0.04), 17: (0.0, 0.02),
        37: (0.0, 0.02), 38: (0.0, 0.02),
    },
    5: {  # upper lid raiser
        37: (0.0, -0.06), 38: (0.0, -0.06),
    },
    6: {  # cheek raiser: lower lids and cheeks up, crow's feet at the outer corner
        40: (0.0, -0.04), 41: (0.0, -0.04), 36: (0.0, -0.01),
        1: (0.0, -0.04), 2: (0.0, -0.04), 3: (0.0, -0.02),
    },
    7: {  # lid tightener
        40: (0.0, -0.05), 41: (0.0, -0.05), 37: (0.0, 0.02), 38: (0.0, 0.02),
    },
    9: {  # nose wrinkler: nostrils and upper lip pulled up, inner brows lowered
        31: (0.02, -0.06), 32: (0.0, -0.06), 33: (0.0, -0.05), 30: (0.0, -0.02),
        21: (0.0, 0.04), 50: (0.0, -0.05), 51: (0.0, -0.05), 49: (0.0, -0.03),
        61: (0.0, -0.04), 62: (0.0, -0.04),
    },
    12: {  # lip corner puller: corners out and up
        48: (0.15, -0.11), 60: (0.13, -0.09), 49: (0.07, -0.05), 59: (0.08, -0.05),
        61: (0.05, -0.03), 67: (0.05, -0.03), 50: (0.02, -0.01), 58: (0.02, -0.01),
        3: (0.02, -0.01), 4: (0.02, -0.02),
    },
    15: {  # lip corner depressor
        48: (0.01, 0.09), 60: (0.01, 0.07), 49: (0.0, 0.03), 59: (0.0, 0.05), 61: (0.0, 0.02),
        67: (0.0, 0.03),
    },
    16: {  # lower lip depressor
        57: (0.0, 0.08), 56: (0.0, 0.07), 55: (0.0, 0.04), 66: (0.0, 0.08), 65: (0.0, 0.06),
    },
    20: {  # lip stretcher: corners pulled sideways
        48: (0.12, 0.02), 60: (0.10, 0.02), 49: (0.05, 0.0), 59: (0.05, 0.01), 61: (0.04, 0.0),
        67: (0.04, 0.0), 4: (0.02, 0.0), 5: (0.02, 0.0),
    },
    23: {  # lip tightener: lips narrowed and thinned
        48: (-0.05, 0.0), 60: (-0.04, 0.0), 49: (-0.02, 0.02), 50: (0.0, 0.02), 51: (0.0, 0.02),
        59: (-0.02, -0.02), 58: (0.0, -0.02), 57: (0.0, -0.02),
    },
    26: {  # jaw drop: lower jaw, lower lip and mouth corners down
        8: (0.0, 0.30), 7: (0.0, 0.27), 6: (0.0, 0.21), 5: (0.0, 0.14), 4: (0.0, 0.07),
        3: (0.0, 0.02), 57: (0.0, 0.28), 56: (0.0, 0.27), 55: (0.0, 0.22), 66: (0.0, 0.27),
        65: (0.0, 0.24), 48: (0.0, 0.10), 60: (0.0, 0.11),
    },
}

#: Emotion name -> action units of its prototype.
PROTOTYPES: dict[str, tuple[int, ...]] = {
    "neutral": (),
    "anger": (4, 5, 7, 23),
    "disgust": (9, 15, 16),
    "fear": (1, 2, 4, 5, 20, 26),
    "happiness": (6, 12),
    "sadness": (1, 4, 15),
    "surprise": (1, 2, 5, 26),
}

#: Emotion name -> CK+ emotion code (CK+ code 2, contempt, has no prototype here).
CKPLUS_CODES: dict[str, int] = {
    "neutral": 0, "anger": 1, "disgust": 3, "fear": 4, "happiness": 5, "sadness": 6, "surprise": 7,
}


#: Landmarks on the subject's right side of the face (the image's left for a frontal face).
_RIGHT_SIDE = frozenset(
    [*range(0, 8), *range(17, 22), 31, 32, *range(36, 42), 48, 49, 50, 58, 59, 60, 61, 67]
)


def _side(index: int) -> int:
    """-1 for the subject's right side (image left), +1 for the left side, 0 on the midline."""
    if index in _RIGHT_SIDE:
        return -1
    return 1 if int(MIRROR[index]) in _RIGHT_SIDE else 0


def au_field(gains: dict[int, float]) -> np.ndarray:
    """Sum of action-unit displacement fields, in IOD units in the face frame.

    Parameters
    ----------
    gains : dict of int to float
        AU number -> intensity (1.0 = the tabulated displacement).

    Returns
    -------
    ndarray, shape (68, 2), float64
        Displacement (x to the subject's left, y down the face) of every landmark.

    Raises
    ------
    ValueError
        If an AU number has no table.
    """
    field = np.zeros((68, 2))
    for au, gain in gains.items():
        if au not in ACTION_UNITS:
            raise ValueError(
                f"action unit {au} has no displacement table; known: {sorted(ACTION_UNITS)}")
        for index, (dx_out, dy) in ACTION_UNITS[au].items():
            for i in {index, int(MIRROR[index])}:
                side = _side(i)
                field[i, 0] += gain * dx_out * side
                field[i, 1] += gain * dy
    return field
