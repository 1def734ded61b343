"""Cost of the extractor defaults chosen on CK+48 against the defaults they replaced.

CPU time per 16x96x96 aligned clip on one Numba thread, median of ``--repeats`` passes over
``--clips`` random clips, the two parameter sets measured alternately in the same process. The
replaced defaults: LBP-TOP radius (1, 1, 1) on (1, 4, 4) blocks, 3D-HOG and HOF/MBH on (2, 4, 4)
cells, no mirror averaging.

    python benchmarks/extractor_defaults.py [--repeats 5] [--clips 20]
"""

from __future__ import annotations

import argparse
import time

import numba
import numpy as np

from handcrafted_dfer.clip import AlignedClip
from handcrafted_dfer.features import HOG3D, LBPTOP, OpticalFlowFeatures

#: (name, the replaced defaults, today's defaults)
PAIRS = (
    ("LBP-TOP", LBPTOP(radius=(1, 1, 1), grid=(1, 4, 4), mirror=False), LBPTOP()),
    ("3D-HOG", HOG3D(grid=(2, 4, 4), mirror=False), HOG3D()),
    ("HOF/MBH", OpticalFlowFeatures(grid=(2, 4, 4), mirror=False), OpticalFlowFeatures()),
)


def _clips(n: int) -> list[AlignedClip]:
    rng = np.random.default_rng(0)
    return [AlignedClip(frames=rng.integers(0, 256, (16, 96, 96), dtype=np.uint8),
                        landmarks=np.zeros((16, 68, 2), np.float32), valid=np.ones(16, bool),
                        fps=25.0, source=f"random-{k}") for k in range(n)]


def _cpu_ms_per_clip(extractor, clips) -> float:
    start = time.process_time()
    extractor.transform(clips)
    return 1000 * (time.process_time() - start) / len(clips)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--clips", type=int, default=20)
    args = parser.parse_args()
    numba.set_num_threads(1)
    clips = _clips(args.clips)
    print(f"{'descriptor':10} {'features':>17} {'replaced ms':>12} {'today ms':>9} {'ratio':>6}")
    for name, old, new in PAIRS:
        for extractor in (old, new):
            extractor.fit(clips[:1]).transform(clips[:2])  # compile the kernels
        times = {"old": [], "new": []}
        for _ in range(args.repeats):
            times["old"].append(_cpu_ms_per_clip(old, clips))
            times["new"].append(_cpu_ms_per_clip(new, clips))
        a, b = np.median(times["old"]), np.median(times["new"])
        widths = f"{old.transform(clips[:1]).shape[1]:,} -> {new.transform(clips[:1]).shape[1]:,}"
        print(f"{name:10} {widths:>17} {a:12.2f} {b:9.2f} {b / a:5.2f}x")


if __name__ == "__main__":
    main()
