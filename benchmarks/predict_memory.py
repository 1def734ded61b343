"""Peak memory of ``dfer predict`` on a 1-minute and a 10-minute video (issue 10, defect 6).

Both videos are made by looping ``WolfgangLanger_Pexels.mp4`` (forwards, then backwards, so the
face never jumps) and written with OpenCV. Each prediction runs ``dfer predict VIDEO --model M
--quiet`` in a fresh Python process, which reports its own peak resident set size
(``ru_maxrss``); the model is a stand-in (``predict.py``) written to a temporary file.

Run it with ``PYTHONPATH`` pointing at another checkout to measure that checkout's ``dfer``
(the command line is the same).

Usage::

    python benchmarks/predict_memory.py [--minutes 1 10] [--faces-in-video largest]
"""

from __future__ import annotations

import argparse
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import cv2

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from predict import VIDEO, stand_in_model  # noqa: E402

from handcrafted_dfer.modelfile import save_model  # noqa: E402

_CHILD = """
import resource, sys
from handcrafted_dfer.cli import main
status = main(sys.argv[1:])
print(status, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def looped(path, minutes: float) -> int:
    """Write ``minutes`` of WolfgangLanger looped back and forth; return the frame count."""
    capture = cv2.VideoCapture(str(VIDEO))
    fps = capture.get(cv2.CAP_PROP_FPS)
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    loop = frames + frames[::-1]
    n = int(round(minutes * 60 * fps))
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    for k in range(n):
        writer.write(loop[k % len(loop)])
    writer.release()
    return n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[1.0, 10.0])
    parser.add_argument("--faces-in-video", default="largest")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        model = stand_in_model("lbptop-svm")
        model_path = os.path.join(folder, "model.skops")
        save_model(model_path, model.pipeline, labels=model.labels, config=model.config,
                   metadata=model.metadata)
        where = subprocess.run([sys.executable, "-c", "import handcrafted_dfer as h; "
                                "print(h.__file__)"], capture_output=True, text=True).stdout
        print(f"dfer predict --faces-in-video {args.faces_in_video}, stand-in lbptop-svm "
              f"model; dfer from {where.strip()}")
        peaks, counts = [], []
        for minutes in args.minutes:
            video = os.path.join(folder, f"looped_{minutes:g}min.mp4")
            n = looped(video, minutes)
            start = time.perf_counter()
            faces = ([] if args.faces_in_video == "largest"  # older checkouts lack the flag
                     else ["--faces-in-video", args.faces_in_video])
            done = subprocess.run([sys.executable, "-c", _CHILD, "predict", video, "--model",
                                   model_path, *faces, "--quiet"], capture_output=True, text=True)
            seconds = time.perf_counter() - start
            if done.returncode != 0:
                raise SystemExit(done.stderr)
            status, peak_kb = (int(v) for v in done.stdout.split()[-2:])
            peaks.append(peak_kb / 1024)
            counts.append(n)
            print(f"  {minutes:5g} min ({n:6d} frames): peak RSS {peak_kb / 1024:7.1f} MB, "
                  f"exit {status}, {seconds:.0f} s")
            os.remove(video)
        if len(peaks) > 1:
            growth = 1024 * (peaks[-1] - peaks[0]) / max(1, counts[-1] - counts[0])
            print(f"  last / first: {peaks[-1] / peaks[0]:.3f}; growth {growth:.2f} KB per frame")


if __name__ == "__main__":
    main()
