"""Speed of ``dfer predict`` (sliding-window prediction) as a multiple of real time, on one core.

Times, in one run, the whole ``predict_video`` call (tracking, alignment, windows resampled,
described and classified as they complete) on

- one video with one face (default ../shared/data/videos/WolfgangLanger_Pexels.mp4, 19.7 s),
  ``faces_in_video="largest"``, with the preprocessing alone as a reference;
- a two-face video of the same length (``two_faces.py``: the woman of that video beside the man of
  the project's other clips, who leaves for ``--away`` frames and comes back),
  ``faces_in_video="all"``, and the same video with ``"largest"``.

Prints medians of ``--repeats`` runs (after one warm-up run that loads the models and compiles the
Numba kernels) of the wall clock and of the CPU time, as real-time factors (video duration /
processing time; above 1 is faster than real time). The script pins itself to one core and sets
one thread for OpenMP, Numba, BLAS and OpenCV. On a shared machine the wall clock also counts the
time other jobs hold the core, so the CPU figure is the one to compare with an idle machine.

The classifier is a real scikit-learn pipeline fitted on descriptors of random clips: prediction
cost does not depend on what the model learnt. Pass ``--model MODEL.skops`` to time a trained
model instead.

Usage::

    python benchmarks/predict.py [VIDEO] [--model M.skops] [--method lbptop-svm]
                                 [--window 16] [--stride 4] [--repeats 3] [--away 150 250]
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

from handcrafted_dfer.analyze.timeline import predict_video  # noqa: E402
from handcrafted_dfer.config import PreprocessConfig  # noqa: E402
from handcrafted_dfer.face.preprocess import preprocess_video  # noqa: E402
from handcrafted_dfer.modelfile import TrainedModel, load_model  # noqa: E402
from handcrafted_dfer.pipeline import build_pipeline, fit_pipeline  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from two_faces import VIDEOS, write_two_faces  # noqa: E402

VIDEO = VIDEOS / "WolfgangLanger_Pexels.mp4"


def stand_in_model(method: str) -> TrainedModel:
    """A fitted pipeline of the default preprocessing and a method spec, on random clips."""
    config = PreprocessConfig()
    rng = np.random.default_rng(0)
    volumes = [rng.integers(0, 256, (config.frames, config.size, config.size), dtype=np.uint8)
               for _ in range(12)]
    pipeline = build_pipeline(method, preprocess=config)
    fit_pipeline(pipeline, volumes, np.arange(12) % 3)
    return TrainedModel(pipeline=pipeline, labels=("a", "b", "c"), config=config,
                        metadata={"method": method})


def timed(function, *args, **kwargs) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one call."""
    start, cpu = time.perf_counter(), time.process_time()
    function(*args, **kwargs)
    return time.perf_counter() - start, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", nargs="?", default=str(VIDEO))
    parser.add_argument("--model")
    parser.add_argument("--method", default="lbptop-svm")
    parser.add_argument("--window", type=int, default=16)
    parser.add_argument("--stride", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--away", type=int, nargs=2, default=(150, 250),
                        help="frames in which the man is away from the two-face video")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    cv2.setNumThreads(1)
    model = load_model(args.model) if args.model else stand_in_model(args.method)
    options = {"window": args.window, "stride": args.stride}

    with tempfile.TemporaryDirectory() as folder:
        single = predict_video(args.video, model, **options)  # warm-up
        two = os.path.join(folder, "two_faces.mp4")
        write_two_faces(two, frames=single.attrs["n_frames"], away=tuple(args.away),
                        fps=single.attrs["fps"])
        both = predict_video(two, model, faces_in_video="all", **options)
        cases = {
            "one face, largest (dfer predict)": (args.video, "largest"),
            "one face: preprocessing alone (reference)": (args.video, None),
            "two faces, all (--faces-in-video all)": (two, "all"),
            "two faces, largest": (two, "largest"),
        }
        runs = {name: [] for name in cases}
        for _ in range(args.repeats):  # interleaved, so that a change of load hits all of them
            for name, (video, faces) in cases.items():
                if faces is None:
                    runs[name].append(timed(preprocess_video, video, model.config,
                                            keep_length=True))
                else:
                    runs[name].append(timed(predict_video, video, model,
                                            faces_in_video=faces, **options))
    duration = single.attrs["duration_s"]
    print(f"videos: {args.video} ({single.attrs['n_frames']} frames, {duration:.1f} s) and the "
          f"two-face video of the same length (640x360, the man away in frames "
          f"{args.away[0]}..{args.away[1] - 1}); one core, load average "
          f"{os.getloadavg()[0]:.1f}")
    print(f"model: {model.method}{'' if args.model else ' (stand-in)'}; window {args.window}, "
          f"stride {args.stride}: {len(single)} windows for one face, {len(both)} rows for "
          f"{len(both.attrs['faces'])} identities with all faces")
    for name, times in runs.items():
        wall = statistics.median(t[0] for t in times)
        cpu = statistics.median(t[1] for t in times)
        print(f"  {name:44s} median {wall:6.2f} s wall = {duration / wall:5.2f} x real time; "
              f"CPU {cpu:6.2f} s = {duration / cpu:5.2f} x")
    ratio = (statistics.median(t[1] for t in runs["two faces, all (--faces-in-video all)"])
             / statistics.median(t[1] for t in runs["one face, largest (dfer predict)"]))
    print(f"  CPU cost of two faces with all, over one face with largest: {ratio:.2f} x")


if __name__ == "__main__":
    main()
