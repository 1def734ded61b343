"""Two-person videos made of the project's real footage, with a known layout.

The left panel is ``WolfgangLanger_Pexels.mp4`` (a woman), the right panel the man of
``single_face.mp4``, ``face_noface.mov`` and ``noface_face.mov`` (the frames of his clips that show
his face, in turn). Each clip is scaled to 320 pixels wide and pasted into a 640x360 grey frame,
so the faces are about 90-130 pixels wide. Where the layout says the man is away, his panel shows
an empty background (the first frame of ``no_face.mp4``, scaled the same way).

Used by the identity tests, ``benchmarks/predict.py`` and the README figures. As a script it
writes one video::

    python benchmarks/two_faces.py OUT.mp4 [--frames 196] [--away 72 122]
"""

from __future__ import annotations

import argparse
import pathlib

import cv2
import numpy as np

VIDEOS = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data" / "videos"
#: Frame size of the composite, and of each panel.
WIDTH, HEIGHT, PANEL = 640, 360, (320, 180)
#: Top of both panels (centred vertically).
TOP = (HEIGHT - PANEL[1]) // 2
#: Frames of the man's clips that show his face (SOURCES.md, checked by eye).
MAN_CLIPS = (("single_face.mp4", 0, 72), ("face_noface.mov", 0, 66),
             ("noface_face.mov", 100, 169))


def _frames(name: str, start: int = 0, stop: int | None = None) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(VIDEOS / name))
    frames, k = [], 0
    while stop is None or k < stop:
        ok, frame = capture.read()
        if not ok:
            break
        if k >= start:
            frames.append(cv2.resize(frame, PANEL, interpolation=cv2.INTER_AREA))
        k += 1
    capture.release()
    return frames


def man_frames(n: int) -> list[np.ndarray]:
    """``n`` panels of the man's face: his clips in turn, played forwards and backwards."""
    clips = [_frames(*clip) for clip in MAN_CLIPS]
    loop = [f for clip in clips for f in clip + clip[::-1]]
    return [loop[k % len(loop)] for k in range(n)]


def write_two_faces(path, *, frames: int = 196, away: tuple[int, int] | None = (72, 122),
                    fps: float = 24.0) -> dict:
    """Write the composite video and return its layout.

    Parameters
    ----------
    path : str or Path
        An ``.mp4`` file to write.
    frames : int
        Length; the woman's clip is played forwards and backwards as needed.
    away : (int, int) or None
        Half-open frame range in which the man's panel is empty (he leaves and comes back).
    fps : float

    Returns
    -------
    dict
        ``n_frames``, ``woman`` and ``man``: boolean arrays (n_frames,) of presence, and
        ``split``: the x coordinate between the panels (left: woman, right: man).
    """
    woman = _frames("WolfgangLanger_Pexels.mp4")
    woman = woman + woman[::-1]
    man = man_frames(frames)
    empty = _frames("no_face.mp4", 0, 1)[0]
    present = np.ones(frames, dtype=bool)
    if away is not None:
        present[away[0]:away[1]] = False
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (WIDTH, HEIGHT))
    for k in range(frames):
        canvas = np.full((HEIGHT, WIDTH, 3), 110, np.uint8)
        canvas[TOP:TOP + PANEL[1], :PANEL[0]] = woman[k % len(woman)]
        canvas[TOP:TOP + PANEL[1], PANEL[0]:] = man[k] if present[k] else empty
        writer.write(canvas)
    writer.release()
    return {"n_frames": frames, "woman": np.ones(frames, dtype=bool), "man": present,
            "split": PANEL[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--frames", type=int, default=196)
    parser.add_argument("--away", type=int, nargs=2, default=(72, 122))
    args = parser.parse_args()
    layout = write_two_faces(args.out, frames=args.frames, away=tuple(args.away))
    print(f"{args.out}: {layout['n_frames']} frames, the man away in frames "
          f"{args.away[0]}..{args.away[1] - 1}")


if __name__ == "__main__":
    main()
