"""Contact sheet of an aligned clip: every frame with its landmarks, invalid frames marked."""

from __future__ import annotations

import os

import cv2
import numpy as np

from ..clip import AlignedClip
from ..errors import DferError

__all__ = ["contact_sheet", "save_contact_sheet"]

_GREEN, _RED, _WHITE = (0, 200, 0), (0, 0, 255), (255, 255, 255)


def contact_sheet(clip: AlignedClip, *, columns: int = 8, scale: int = 2) -> np.ndarray:
    """Tile the frames of a clip into one BGR image, landmarks drawn in green.

    Frames without a face (``valid`` False, shown as copies of a neighbour) get a red border and a
    red cross; every tile is numbered. A clip without measured landmarks (``has_landmarks``
    False) has "no landmarks" written on every tile instead of dots.

    Parameters
    ----------
    clip : AlignedClip
    columns : int
        Tiles per row.
    scale : int
        Integer enlargement of each tile.

    Returns
    -------
    ndarray of uint8, shape (rows * S * scale, columns * S * scale, 3)
    """
    if columns < 1 or scale < 1:
        raise ValueError(f"columns and scale must be at least 1; got {columns} and {scale}")
    side = clip.size * scale
    rows = -(-clip.n_frames // columns)
    sheet = np.zeros((rows * side, columns * side, 3), np.uint8)
    for t in range(clip.n_frames):
        tile = cv2.cvtColor(
            cv2.resize(clip.frames[t], (side, side), interpolation=cv2.INTER_NEAREST),
            cv2.COLOR_GRAY2BGR)
        if not clip.has_landmarks:
            cv2.putText(tile, "no landmarks", (3, side - 4), cv2.FONT_HERSHEY_SIMPLEX,
                        0.3 * max(1, scale // 2), _WHITE, 1, cv2.LINE_AA)
        elif clip.valid[t]:
            for x, y in clip.landmarks[t] * scale:
                cv2.circle(tile, (int(round(x)), int(round(y))), max(1, scale // 2), _GREEN, -1)
        else:
            cv2.rectangle(tile, (0, 0), (side - 1, side - 1), _RED, max(2, scale))
            cv2.line(tile, (0, 0), (side - 1, side - 1), _RED, 1)
            cv2.line(tile, (side - 1, 0), (0, side - 1), _RED, 1)
        cv2.putText(tile, str(t), (3, 12 * max(1, scale // 2)), cv2.FONT_HERSHEY_SIMPLEX,
                    0.35 * max(1, scale // 2), _WHITE, 1, cv2.LINE_AA)
        r, c = divmod(t, columns)
        sheet[r * side:(r + 1) * side, c * side:(c + 1) * side] = tile
    return sheet


def save_contact_sheet(clip: AlignedClip, path: str | os.PathLike, *, columns: int = 8,
                       scale: int = 2) -> None:
    """Write :func:`contact_sheet` of ``clip`` to a PNG file.

    Raises
    ------
    DferError
        If the file cannot be written.
    """
    path = os.fspath(path)
    ok = False
    try:
        ok = cv2.imwrite(path, contact_sheet(clip, columns=columns, scale=scale))
    except cv2.error:
        pass
    if not ok:
        raise DferError(path, "could not write the contact sheet; expected a writable path "
                        "ending in .png")
