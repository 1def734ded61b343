"""Speed of the preprocessing stage (``dfer preprocess``) on one CPU core.

Prints the frames per second of :func:`handcrafted_dfer.face.preprocess.preprocess_video` on a
real 640x360 video next to the video's own frame rate (as a multiple of real time, median of
``--repeats`` runs), and the same figures for a naive reference measured in the same run: the dlib
detector at full resolution on every frame, then the landmarks and the alignment.

Usage::

    python benchmarks/preprocess.py [VIDEO] [--repeats 3]

The script pins itself to one core and sets OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import sys
import time

for _name in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"

import cv2  # noqa: E402

from handcrafted_dfer.face.align import align_face  # noqa: E402
from handcrafted_dfer.face.detect import choose_face, detect_faces  # noqa: E402
from handcrafted_dfer.face.landmarks import fit_landmarks  # noqa: E402
from handcrafted_dfer.face.preprocess import preprocess_video  # noqa: E402
from handcrafted_dfer.video import open_video  # noqa: E402

DEFAULT_VIDEO = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data" / "videos" / "WolfgangLanger_Pexels.mp4"


def naive(path) -> int:
    """Detect at full resolution on every frame, fit landmarks, align; return the frame count."""
    n = 0
    for frame in open_video(path):
        grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        boxes = detect_faces(grey, detect_width=grey.shape[1])
        choice = choose_face(boxes, grey.shape)
        if choice is not None:
            align_face(grey, fit_landmarks(grey, boxes[choice]))
        n += 1
    return n


def timed(function, *args) -> float:
    start = time.perf_counter()
    function(*args)
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", nargs="?", default=str(DEFAULT_VIDEO))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    cv2.setNumThreads(1)

    stream = open_video(args.video)
    n_frames = sum(1 for _ in stream)
    width, height = next(iter(stream)).shape[1::-1]
    print(f"video: {args.video} ({width}x{height}, {n_frames} frames, {stream.fps:.2f} fps), one core")
    preprocess_video(args.video)  # warm-up: load the models
    ours = statistics.median(timed(preprocess_video, args.video) for _ in range(args.repeats))
    reference = timed(naive, args.video)
    for label, seconds in (("dfer preprocess (tracking)", ours),
                           ("naive: detect every frame at full resolution", reference)):
        fps = n_frames / seconds
        print(f"{label:46s} {fps:7.1f} frames/s = {fps / stream.fps:5.2f} x real time")
    print(f"speed-up over the naive reference: {reference / ours:.2f} x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
