"""Seconds per training epoch of the C3D baseline on a CPU, by network input size and width.

Trains :class:`handcrafted_dfer.deep.C3DClassifier` for a few epochs on random clips (speed does
not depend on content) and prints the median seconds per epoch after the first (which includes
oneDNN's kernel set-up), the parameter count, and the ratio to the full-resolution reference
measured in the same run. Usage::

    python benchmarks/deep.py --clips 100 --frames 16 --size 96 --threads 2
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from handcrafted_dfer.deep import DEFAULT_WIDTHS, C3DClassifier


def epoch_seconds(clips, y, *, threads: int, epochs: int, **params) -> tuple[float, int, float]:
    """Median seconds per epoch (epochs after the first), parameter count, and fit seconds."""
    clf = C3DClassifier(epochs=epochs, patience=epochs, n_threads=threads, verbose=False,
                        **params)
    start = time.perf_counter()
    clf.fit(clips, y)
    fit_seconds = time.perf_counter() - start
    seconds = float(np.median([e["seconds"] for e in clf.history_[1:]]))
    return seconds, clf.n_parameters_, fit_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=100)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--classes", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    clips = rng.integers(0, 256, (args.clips, args.frames, args.size, args.size), dtype=np.uint8)
    y = np.arange(args.clips) % args.classes
    print(f"{args.clips} clips of {args.frames}x{args.size}x{args.size}, {args.threads} threads, "
          f"validation 20% (seconds per epoch include the validation pass)")
    settings = [(None, DEFAULT_WIDTHS), (64, DEFAULT_WIDTHS), (48, DEFAULT_WIDTHS),
                (48, (16, 32, 64, 128)), (32, DEFAULT_WIDTHS)]
    reference = None
    for input_size, widths in settings:
        seconds, n_params, fit = epoch_seconds(list(clips), y, threads=args.threads,
                                               epochs=args.epochs, input_size=input_size,
                                               widths=widths)
        reference = reference or seconds
        side = input_size or args.size
        print(f"input {side:3d}x{side:<3d} widths {str(widths):22s} {n_params:9,d} params  "
              f"{seconds:6.2f} s/epoch  ({seconds / reference:.2f} x full size)  "
              f"fit {fit:.1f} s for {args.epochs} epochs", flush=True)


if __name__ == "__main__":
    main()
