"""Speed of ``dfer predict`` (sliding-window prediction) as a multiple of real time.

Times, on one video (default ../shared/data/videos/WolfgangLanger_Pexels.mp4, 19.7 s), the whole
``predict_video`` call (preprocessing with every frame kept + per-window resampling, features and
classifier) and, as a reference measured in the same run, the preprocessing alone. Prints medians
of ``--repeats`` runs (after one warm-up run that compiles the Numba kernels), the real-time
factor (video duration / processing time; above 1 is faster than real time), and the share of
preprocessing.

The classifier is a real scikit-learn pipeline fitted on descriptors of random clips: prediction
cost does not depend on what the model learnt. Pass ``--model MODEL.skops`` to time a trained
model instead.

Usage::

    python benchmarks/predict.py [VIDEO] [--model M.skops] [--method lbptop-svm]
                                 [--window 16] [--stride 4] [--repeats 3]
"""

from __future__ import annotations

import argparse
import pathlib
import statistics
import time

import numpy as np

from handcrafted_dfer.analyze.timeline import predict_video
from handcrafted_dfer.config import PreprocessConfig
from handcrafted_dfer.face.preprocess import preprocess_video
from handcrafted_dfer.modelfile import TrainedModel, load_model
from handcrafted_dfer.pipeline import build_pipeline, fit_pipeline

VIDEO = pathlib.Path(__file__).resolve().parents[2] / "shared/data/videos/WolfgangLanger_Pexels.mp4"


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", nargs="?", default=str(VIDEO))
    parser.add_argument("--model")
    parser.add_argument("--method", default="lbptop-svm")
    parser.add_argument("--window", type=int, default=16)
    parser.add_argument("--stride", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    model = load_model(args.model) if args.model else stand_in_model(args.method)

    result = predict_video(args.video, model, window=args.window, stride=args.stride)  # warm-up
    duration = result["duration_s"]
    total, prep = [], []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        preprocess_video(args.video, model.config, keep_length=True)
        prep.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        predict_video(args.video, model, window=args.window, stride=args.stride)
        total.append(time.perf_counter() - t0)
    t_total, t_prep = statistics.median(total), statistics.median(prep)
    print(f"video: {args.video} ({result['n_frames']} frames, {duration:.1f} s)")
    print(f"model: {model.method}{'' if args.model else ' (stand-in)'}; "
          f"window {args.window}, stride {args.stride}: {len(result['windows'])} windows")
    print(f"predict_video: median {t_total:.2f} s of {args.repeats} "
          f"(runs: {', '.join(f'{t:.2f}' for t in total)})")
    print(f"  = {duration / t_total:.2f}x real time")
    print(f"preprocessing alone (reference, same run): median {t_prep:.2f} s = "
          f"{duration / t_prep:.2f}x real time; {100 * t_prep / t_total:.0f}% of predict_video")


if __name__ == "__main__":
    main()
