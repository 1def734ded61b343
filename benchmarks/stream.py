"""Latency of ``dfer predict --stream``: how long after a window's last frame its row comes out.

The video is delivered at its own frame rate, as a camera would deliver it (frame k is available
at k / fps seconds after the start; reading waits until then), and read through
``iter_windows(..., stream=True)``. For every row the script records

- the latency: the time the row came out minus the time the window's last frame became
  available (decoding, tracking, alignment, description, classification, and any backlog);
- the look-ahead: how many frames had been delivered beyond the window's last frame.

Cases: ``WolfgangLanger_Pexels.mp4`` with the largest face, and the two-face video of
``two_faces.py`` (same length) with every face. Prints the median, 95th percentile and maximum
against one stride (``stride / fps``), on one core (the script pins itself to one).

Usage::

    python benchmarks/stream.py [--stride 4] [--window 16] [--model M.skops]
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import tempfile
import time

for _name in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from handcrafted_dfer.analyze.timeline import iter_windows  # noqa: E402
from handcrafted_dfer.modelfile import load_model  # noqa: E402
from handcrafted_dfer.video import FrameStream, open_video  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from predict import VIDEO, stand_in_model  # noqa: E402
from two_faces import write_two_faces  # noqa: E402


class Paced(FrameStream):
    """A video file delivered at its frame rate; records when each frame became available."""

    def __iter__(self):
        self.available, start = [], time.perf_counter()
        for k, frame in enumerate(super().__iter__()):
            due = start + k / self.fps
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            self.available.append(due)
            yield frame


def measure(path, model, *, window: int, stride: int, faces: str) -> tuple[np.ndarray, np.ndarray]:
    """Latency (s) and look-ahead (frames) of every row."""
    probe = open_video(path)
    stream = Paced(kind="video", path=probe.path, fps=probe.fps, n_frames_hint=probe.n_frames_hint)
    latency, ahead = [], []
    for row in iter_windows(stream, model, window=window, stride=stride, faces_in_video=faces,
                            stream=True):
        latency.append(time.perf_counter() - stream.available[row["end_frame"] - 1])
        ahead.append(len(stream.available) - row["end_frame"])
    return np.array(latency), np.array(ahead)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model")
    parser.add_argument("--method", default="lbptop-svm")
    parser.add_argument("--window", type=int, default=16)
    parser.add_argument("--stride", type=int, default=4)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    cv2.setNumThreads(1)
    model = load_model(args.model) if args.model else stand_in_model(args.method)
    fps = open_video(VIDEO).fps
    with tempfile.TemporaryDirectory() as folder:
        two = os.path.join(folder, "two_faces.mp4")
        write_two_faces(two, frames=472, away=(150, 250), fps=fps)
        cases = {"one face (WolfgangLanger), largest": (str(VIDEO), "largest"),
                 "two faces, all": (two, "all")}
        for video, faces in cases.values():  # warm-up: models and kernels
            for _ in zip(range(3), iter_windows(video, model, window=args.window,
                                                stride=args.stride, faces_in_video=faces,
                                                stream=True)):
                pass
        stride_ms = 1000 * args.stride / fps
        print(f"--stream, window {args.window}, stride {args.stride} at {fps:.2f} fps: one stride "
              f"= {stride_ms:.0f} ms; frames delivered at the video's rate; one core, load "
              f"average {os.getloadavg()[0]:.1f}; model {model.method}")
        for name, (video, faces) in cases.items():
            latency, ahead = measure(video, model, window=args.window, stride=args.stride,
                                     faces=faces)
            ms = 1000 * latency
            print(f"  {name:36s} {len(ms)} rows: latency median {np.median(ms):6.1f} ms, "
                  f"95th percentile {np.percentile(ms, 95):6.1f} ms, max {ms.max():6.1f} ms "
                  f"({ms.max() / stride_ms:.2f} strides); look-ahead at most {ahead.max()} "
                  f"frames; {np.mean(ms <= stride_ms):.1%} of rows within one stride")


if __name__ == "__main__":
    main()
