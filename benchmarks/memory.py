"""Peak memory of ``dfer predict`` and ``dfer evaluate`` as the input grows (issue 10, defect 6).

Each figure is the peak resident set size (``ru_maxrss`` from ``wait4``) of one ``dfer`` command
run in a fresh subprocess, and the ratios are between runs of the same script, so that they hold
on any machine:

* ``dfer predict`` on a 1-minute and a 10-minute video, made by looping a real one (default
  ../shared/data/videos/WolfgangLanger_Pexels.mp4, 19.7 s) with OpenCV's writer, with a stand-in
  LBP-TOP + SVM model (prediction cost does not depend on what a model learnt);
* ``dfer evaluate --jobs 1`` (everything in one process) on two synthetic sets of the same 7
  subjects, 1 and 8 clips per class (49 and 392 clips; subject-independent 7-fold
  cross-validation, so the number of folds is the same);
* the peak RSS of each loky worker of ``dfer evaluate --jobs 2`` on the larger set (sampled from
  /proc every 0.1 s): the memory each extra ``--jobs`` costs.

Usage::

    python benchmarks/memory.py [--video VIDEO] [--work DIR] [--skip-predict] [--skip-evaluate]

The work folder (default a temporary one) keeps the videos, the synthetic sets and the caches.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import subprocess
import sys
import tempfile
import threading
import time

import cv2

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from predict import VIDEO, stand_in_model  # noqa: E402  (the predict benchmark's model)

from handcrafted_dfer.modelfile import save_model  # noqa: E402

SUBJECTS = 7


def _dfer(*argv, sample_children: bool = False) -> dict:
    """Run ``python -m handcrafted_dfer.cli ARGV`` and return its wall time, peak RSS (MB) and,
    with ``sample_children``, the peak RSS of each child process (MB)."""
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "handcrafted_dfer.cli", *argv],
                               stdout=subprocess.DEVNULL)
    children: dict = {}
    done = threading.Event()

    def sample():
        while not done.is_set():
            for pid in _children(process.pid):
                rss = _rss_mb(pid)
                if rss is not None:
                    children[pid] = max(children.get(pid, 0.0), rss)
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    if sample_children:
        sampler.start()
    _, status, usage = os.wait4(process.pid, 0)
    done.set()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"dfer {' '.join(argv)} failed with status {process.returncode}")
    return {"seconds": time.perf_counter() - start, "peak_mb": usage.ru_maxrss / 1024,
            "children_mb": sorted(children.values(), reverse=True)}


def _children(pid: int) -> list:
    found = []
    for entry in pathlib.Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _rss_mb(pid: int):
    try:
        for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def looped_video(source: pathlib.Path, path: pathlib.Path, seconds: float) -> dict:
    """Write ``source`` again and again to ``path`` until it lasts ``seconds``."""
    capture = cv2.VideoCapture(str(source))
    if not capture.isOpened():
        raise SystemExit(f"{source}: cannot open the video to loop (give --video)")
    fps = capture.get(cv2.CAP_PROP_FPS)
    size = (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    capture.release()
    wanted = int(round(seconds * fps))
    if not path.exists():
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
        if not writer.isOpened():
            raise SystemExit(f"{path}: OpenCV cannot write an mp4v video here")
        written = 0
        while written < wanted:
            capture = cv2.VideoCapture(str(source))
            while written < wanted:
                ok, frame = capture.read()
                if not ok:
                    break
                writer.write(frame)
                written += 1
            capture.release()
        writer.release()
    return {"path": path, "frames": wanted, "seconds": wanted / fps}


def predict_figures(video: pathlib.Path, work: pathlib.Path) -> None:
    model = work / "stand_in.skops"
    if not model.exists():
        fitted = stand_in_model("lbptop-svm")
        save_model(model, fitted.pipeline, labels=fitted.labels, config=fitted.config,
                   metadata=fitted.metadata)
    runs = []
    for minutes in (1, 10):
        looped = looped_video(video, work / f"looped_{minutes}min.mp4", 60.0 * minutes)
        figure = _dfer("predict", str(looped["path"]), "--model", str(model), "--quiet")
        runs.append((minutes, looped, figure))
        print(f"dfer predict, {minutes:2d}-minute video ({looped['frames']} frames): peak RSS "
              f"{figure['peak_mb']:.0f} MB, {figure['seconds']:.0f} s", flush=True)
    (_, short, a), (_, long, b) = runs
    print(f"  10-minute / 1-minute peak RSS: {b['peak_mb'] / a['peak_mb']:.2f}x; growth "
          f"{1024 * (b['peak_mb'] - a['peak_mb']) / (long['frames'] - short['frames']):.1f} KB "
          f"per frame", flush=True)


def evaluate_figures(work: pathlib.Path) -> None:
    runs = []
    for per_class in (1, 8):
        root = work / f"synthetic_{per_class}"
        options = ["--dataset", "synthetic", "--root", str(root), "--dataset-option",
                   f"subjects={SUBJECTS}", "--dataset-option", f"clips_per_class={per_class}",
                   "--protocol", "kfold", "--folds", "7", "--features", "lbptop",
                   "--classifier", "linear-svm", "--quiet"]
        _dfer("synth", "--out", str(root), "--subjects", str(SUBJECTS), "--clips-per-class",
              str(per_class), "--quiet")
        n = SUBJECTS * 7 * per_class
        figure = _dfer("evaluate", *options, "--jobs", "1", "--cache", str(work / f"cache_{n}"),
                       "--report", str(work / f"report_{n}.json"))
        runs.append((n, figure, options))
        print(f"dfer evaluate --jobs 1, {n:3d} clips (fresh cache): peak RSS "
              f"{figure['peak_mb']:.0f} MB, {figure['seconds']:.0f} s", flush=True)
    (n_a, a, _), (n_b, b, options) = runs
    print(f"  {n_b} / {n_a} clips peak RSS: {b['peak_mb'] / a['peak_mb']:.2f}x; growth "
          f"{1024 * (b['peak_mb'] - a['peak_mb']) / (n_b - n_a):.0f} KB per clip", flush=True)
    workers = _dfer("evaluate", *options, "--jobs", "2", "--cache", str(work / "cache_workers"),
                    "--report", str(work / "report_workers.json"), sample_children=True)
    print(f"dfer evaluate --jobs 2, {n_b} clips (fresh cache): main process peak RSS "
          f"{workers['peak_mb']:.0f} MB; child processes' peak RSS "
          f"{', '.join(f'{m:.0f}' for m in workers['children_mb'])} MB "
          f"(the two largest are the loky workers); {workers['seconds']:.0f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", default=str(VIDEO))
    parser.add_argument("--work", help="work folder (default: a temporary one)")
    parser.add_argument("--skip-predict", action="store_true")
    parser.add_argument("--skip-evaluate", action="store_true")
    args = parser.parse_args()
    work = pathlib.Path(args.work or tempfile.mkdtemp(prefix="dfer-memory-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"work folder: {work}; {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f}", flush=True)
    if not args.skip_predict:
        predict_figures(pathlib.Path(args.video), work)
    if not args.skip_evaluate:
        evaluate_figures(work)


if __name__ == "__main__":
    main()
