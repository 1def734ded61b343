"""Per-clip cost of each stage of a run on one CPU core, and how the fit grows with the clips.

Prints, for docs/scaling.md:

1. on a small synthetic set (``--subjects`` x 7 classes x 1 clip, generated in the work folder):
   the seconds per clip and per source frame of preprocessing (track, align, resample), and the
   milliseconds per aligned clip of each extractor (LBP-TOP, HOG3D, HOF/MBH with Farneback flow),
   medians of ``--repeats``;
2. with ``--fit-root`` (a larger synthetic set whose clips and LBP-TOP rows are already in
   ``--fit-cache``, e.g. the 2,016-clip run of docs/scaling.md): the seconds to fit each
   classifier head (histogram normalization + the subject-grouped search + the final fit, as one
   fold of ``dfer evaluate`` does) on random subsets of whole subjects of growing size, and the
   exponent ``b`` of ``seconds ~ n^b`` fitted to the largest sizes.

The script pins itself to one core and sets OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1.

Usage::

    python benchmarks/stages.py [--work DIR] [--subjects 10] [--repeats 3]
                                [--fit-root DIR --fit-cache DIR [--fit-sizes 250,500,1000,2000]]
"""

from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import tempfile
import time

for _name in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from handcrafted_dfer.config import PreprocessConfig, RunOptions  # noqa: E402
from handcrafted_dfer.datasets import load_dataset  # noqa: E402
from handcrafted_dfer.datasets.synthetic import load_synthetic  # noqa: E402
from handcrafted_dfer.evaluate.clips import prepare_clips  # noqa: E402
from handcrafted_dfer.face.preprocess import preprocess_video  # noqa: E402
from handcrafted_dfer.features import HOG3D, LBPTOP, OpticalFlowFeatures  # noqa: E402
from handcrafted_dfer.pipeline import build_pipeline, split_features  # noqa: E402
from handcrafted_dfer.video import list_frame_files  # noqa: E402

CLASSIFIERS = ("linear-svm", "svm", "rf")


def _median_time(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def stage_costs(work: pathlib.Path, subjects: int, repeats: int) -> None:
    dataset = load_synthetic(work / "synthetic", subjects=subjects, clips_per_class=1,
                             progress=False)
    config = PreprocessConfig()
    paths = [c.path for c in dataset.clips]
    frames = sum(len(list_frame_files(p)) for p in paths)
    preprocess_video(paths[0], config)  # warm-up (model loading)
    clips = []
    start = time.perf_counter()
    for path in paths:
        clips.append(preprocess_video(path, config))
    seconds = time.perf_counter() - start
    n = len(paths)
    print(f"{n} synthetic clips ({frames / n:.1f} source frames of 240x240 on average), one core")
    print(f"preprocess: {seconds / n:.3f} s per clip, {1000 * seconds / frames:.1f} ms per "
          f"source frame ({frames / seconds:.0f} frames/s)")
    for extractor in (LBPTOP(), HOG3D(), OpticalFlowFeatures()):
        extractor.fit(clips[:1])
        extractor.transform(clips[:2])  # compile
        t = _median_time(lambda: extractor.transform(clips), repeats)
        print(f"{extractor.short_name}: {1000 * t / n:.1f} ms per aligned {config.frames}x"
              f"{config.size}x{config.size} clip ({len(extractor.get_feature_names_out())} "
              f"features)")


def fit_costs(root: str, cache: str, sizes: list, seed: int = 0) -> None:
    dataset = load_dataset("ckplus", root)  # the synthetic set is in the CK+ layout
    run = RunOptions(cache_dir=cache, progress=False)
    prepared = prepare_clips(dataset, PreprocessConfig(), run)
    if prepared.counts["clips_computed"]:
        print(f"note: {prepared.counts['clips_computed']} clips were not in the cache and were "
              f"preprocessed first")
    ok = prepared.ok
    clips = [c for c in prepared.clips if c is not None]
    y, groups = dataset.y[ok], dataset.subjects[ok]
    features, _ = split_features(build_pipeline("lbptop-svm", run=run))
    X = features.fit_transform(clips)
    subjects = np.array(sorted(set(groups)))
    per_subject = len(y) / len(subjects)
    rng = np.random.default_rng(seed)
    print(f"fit of one fold's head on n clips of whole subjects (LBP-TOP, {X.shape[1]} features; "
          f"{len(y)} clips of {len(subjects)} subjects available), one core:")
    for name in CLASSIFIERS:
        _, head = split_features(build_pipeline(f"lbptop-{name}", seed=seed))
        timings = []
        for size in sizes:
            chosen = rng.permutation(subjects)[:max(2, int(round(size / per_subject)))]
            rows = np.isin(groups, chosen)
            start = time.perf_counter()
            head.fit(X[rows], y[rows], clf__groups=groups[rows])
            timings.append((int(rows.sum()), time.perf_counter() - start))
        last = timings[-3:]
        slope = np.polyfit(np.log([n for n, _ in last]), np.log([t for _, t in last]), 1)[0]
        print(f"  {name:10s} " + ", ".join(f"n={n}: {t:.2f} s" for n, t in timings)
              + f"; exponent b = {slope:.2f} (fitted to the {len(last)} largest)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", help="work folder (default: a temporary one)")
    parser.add_argument("--subjects", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--fit-root", help="synthetic (CK+ layout) set whose clips are cached")
    parser.add_argument("--fit-cache", help="the cache folder holding them")
    parser.add_argument("--fit-sizes", default="250,500,1000,2000")
    parser.add_argument("--skip-stages", action="store_true")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    cv2.setNumThreads(1)
    work = pathlib.Path(args.work or tempfile.mkdtemp(prefix="dfer-stages-"))
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    if not args.skip_stages:
        stage_costs(work, args.subjects, args.repeats)
    if args.fit_root:
        fit_costs(args.fit_root, args.fit_cache, [int(s) for s in args.fit_sizes.split(",")])


if __name__ == "__main__":
    main()
