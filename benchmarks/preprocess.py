"""Speed of the preprocessing stage (``dfer preprocess``) on one CPU core.

Prints, for a real 640x360 video, the frames per second of
:func:`handcrafted_dfer.face.preprocess.preprocess_video` as a multiple of the video's real time
(median of ``--repeats`` runs) with the default settings (small-face search down to ``min_face``
40 px) and with the small-face search off, next to a naive reference measured in the same run:
dlib's detector at full resolution on every frame, then the landmarks and the alignment.

Then the cost of small faces: the same video shrunk so that the face is about 50 px wide, pasted
into a 640x360 frame and written to a temporary mp4, against the naive reference that such faces
need (the detector at full resolution with one upsampling on every frame); the cost of one call
of each detection pass; and the CNN detector (``--detector cnn``) on the whole video, once.

Usage::

    python benchmarks/preprocess.py [VIDEO] [--repeats 3] [--no-cnn]

The script pins itself to one core and sets OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import sys
import tempfile
import time

for _name in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from handcrafted_dfer.config import PreprocessConfig  # noqa: E402
from handcrafted_dfer.face.align import align_face  # noqa: E402
from handcrafted_dfer.face.detect import FaceFinder, choose_face, detect_scaled  # noqa: E402
from handcrafted_dfer.face.landmarks import fit_landmarks  # noqa: E402
from handcrafted_dfer.face.preprocess import preprocess_video, track_and_align  # noqa: E402
from handcrafted_dfer.video import open_video  # noqa: E402

DEFAULT_VIDEO = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data" / "videos" / "WolfgangLanger_Pexels.mp4"
#: Small-face search off: the reduced 320-px copy sees faces of 160 px and more in 640-px frames.
NO_SMALL = PreprocessConfig(min_face=160)
#: Scale of the shrunk copy (WolfgangLanger's face, 216-259 px wide, becomes 43-52 px).
SHRINK = 0.2


def naive(path, *, upsample: int = 0) -> int:
    """Detect at full resolution on every frame, fit landmarks, align; return the frame count."""
    n = 0
    for frame in open_video(path):
        grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        boxes = detect_scaled(grey, scale=1.0, upsample=upsample)
        choice = choose_face(boxes, grey.shape)
        if choice is not None:
            align_face(grey, fit_landmarks(grey, boxes[choice]))
        n += 1
    return n


def timed(function, *args, **kwargs) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one call (CPU time is what an idle core would take: on a
    shared machine the wall clock also counts the time other jobs hold the core)."""
    start, cpu = time.perf_counter(), time.process_time()
    function(*args, **kwargs)
    return time.perf_counter() - start, time.process_time() - cpu


def median_timed(function, *args, repeats: int, **kwargs) -> tuple[float, float]:
    """Medians of the wall-clock and CPU seconds of ``repeats`` calls."""
    runs = [timed(function, *args, **kwargs) for _ in range(repeats)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def call_ms(function, grey, repeats=15) -> float:
    """Median CPU milliseconds of ``function(grey)``."""
    return 1000 * median_timed(function, grey, repeats=repeats)[1]


def shrunk_video(path, folder) -> str:
    """The video shrunk by :data:`SHRINK` into the middle of a grey frame of the same size."""
    stream = open_video(path)
    out = os.path.join(folder, "small_face.mp4")
    writer = None
    for frame in stream:
        height, width = frame.shape[:2]
        if writer is None:
            writer = cv2.VideoWriter(out, cv2.VideoWriter_fourcc(*"mp4v"), stream.fps,
                                     (width, height))
        small = cv2.resize(frame, None, fx=SHRINK, fy=SHRINK, interpolation=cv2.INTER_AREA)
        canvas = np.full_like(frame, 110)
        top, left = (height - small.shape[0]) // 2, (width - small.shape[1]) // 2
        canvas[top:top + small.shape[0], left:left + small.shape[1]] = small
        writer.write(canvas)
    writer.release()
    return out


def found(path, config=PreprocessConfig()) -> str:
    """Share of the frames with a face, as text."""
    return f"face in {track_and_align(path, config)[0].valid.mean():.1%} of the frames"


def row(label, n_frames, fps, seconds, note=""):
    """One line: frames/s and multiple of real time, by the wall clock and by CPU time."""
    wall, cpu = (n_frames / s for s in seconds)
    print(f"  {label:56s} {wall:6.1f} frames/s = {wall / fps:5.2f} x real time "
          f"(CPU: {cpu:6.1f} frames/s = {cpu / fps:5.2f} x) {note}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", nargs="?", default=str(DEFAULT_VIDEO))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-cnn", action="store_true", help="skip the CNN detector (slow)")
    args = parser.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    cv2.setNumThreads(1)

    stream = open_video(args.video)
    n_frames = sum(1 for _ in stream)
    first = next(iter(stream))
    width, height = first.shape[1::-1]
    fps = stream.fps
    print(f"video: {args.video} ({width}x{height}, {n_frames} frames, {fps:.2f} fps), one core, "
          f"load average {os.getloadavg()[0]:.1f}")
    preprocess_video(args.video)  # warm-up: load the models
    runs = {"ours": [], "off": [], "reference": []}
    for _ in range(args.repeats):  # interleaved, so that a change of load hits all three
        runs["ours"].append(timed(preprocess_video, args.video))
        runs["off"].append(timed(preprocess_video, args.video, NO_SMALL))
        runs["reference"].append(timed(naive, args.video))
    ours, off, reference = (tuple(statistics.median(r[i] for r in runs[name]) for i in (0, 1))
                            for name in ("ours", "off", "reference"))
    print("single face (large):")
    row("dfer preprocess (defaults: min_face 40, HOG)", n_frames, fps, ours,
        found(args.video))
    row("dfer preprocess, small-face search off (min_face 160)", n_frames, fps, off,
        found(args.video, NO_SMALL))
    row("naive: detect every frame at full resolution", n_frames, fps, reference)
    print(f"  speed-up over the naive reference: {reference[0] / ours[0]:.2f} x wall, "
          f"{reference[1] / ours[1]:.2f} x CPU (small-face search off: "
          f"{reference[1] / off[1]:.2f} x CPU); CPU cost of the small-face search here: "
          f"{100 * (ours[1] / off[1] - 1):+.1f} %")

    with tempfile.TemporaryDirectory() as folder:
        small_path = shrunk_video(args.video, folder)
        preprocess_video(small_path)
        small = median_timed(preprocess_video, small_path, repeats=args.repeats)
        small_reference = timed(naive, small_path, upsample=1)
        small_found = found(small_path)
    print(f"small face (the same video at {SHRINK} scale in a {width}x{height} frame, "
          "face about 50 px):")
    row("dfer preprocess (defaults)", n_frames, fps, small, small_found)
    row("naive: detect every frame at full resolution, upsample 1", n_frames, fps,
        small_reference)
    print(f"  speed-up over the naive reference: {small_reference[1] / small[1]:.2f} x CPU; "
          f"{small[1] / ours[1]:.2f} x the CPU time of the large face")

    grey = cv2.cvtColor(first, cv2.COLOR_BGR2GRAY)
    finder = FaceFinder()
    box = finder.fast(grey)[0]
    print("one detection call on a frame of this video (median CPU ms):")
    costs = {"fast pass (reduced copy, 320 px wide)": call_ms(finder.fast, grey),
             "small-face search (whole frame x 2, min_face 40)": call_ms(finder.small, grey),
             "re-detection around the face (240x240 image)":
                 call_ms(lambda g: finder.around(g, box), grey)}
    if not args.no_cnn:
        cnn = FaceFinder(detector="cnn")
        costs["CNN: fast pass (reduced copy)"] = call_ms(cnn.fast, grey, repeats=3)
        costs["CNN: re-detection around the face"] = call_ms(lambda g: cnn.around(g, box), grey,
                                                             repeats=3)
    for label, ms in costs.items():
        print(f"  {label:58s} {ms:8.1f} ms")

    if not args.no_cnn:
        cnn_seconds = timed(preprocess_video, args.video, PreprocessConfig(detector="cnn"))
        print("CNN detector, once:")
        row("dfer preprocess --detector cnn", n_frames, fps, cnn_seconds,
            f"({ours[1] / cnn_seconds[1]:.2f} x the speed of HOG)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
