"""LBP-TOP speed: the Numba kernel against the obvious scikit-image implementation.

On a 32x128x128 uint8 volume with P=8, R=1 (nri_uniform), the reference calls
``skimage.feature.local_binary_pattern`` once per XY frame, XT slice and YT slice and bincounts the
valid centres. Both run in the same process, interleaved, and the medians of the repeats are
compared. Prints the 1-thread speed ratio (target >= 40x; wall clock, and process CPU time, which a
busy machine disturbs less) and voxels per second on 1 and 2 threads.

Run: ``python benchmarks/lbptop.py [--repeats N]``
"""

from __future__ import annotations

import argparse
import time

import numba
import numpy as np
from skimage.feature import local_binary_pattern

from handcrafted_dfer.features import lbptop_histograms

SHAPE = (32, 128, 128)
P, R, MAPPING = 8, 1, "nri_uniform"


def skimage_lbptop(volume: np.ndarray) -> np.ndarray:
    """Counts (3, n_bins) of the XY, XT and YT planes with one scikit-image call per slice."""
    T, H, W = volume.shape
    n_bins = P * (P - 1) + 3
    counts = np.zeros((3, n_bins), dtype=np.int64)
    for t in range(R, T - R):
        codes = local_binary_pattern(volume[t], P, R, MAPPING)[R:H - R, R:W - R]
        counts[0] += np.bincount(codes.astype(np.intp).ravel(), minlength=n_bins)
    for y in range(R, H - R):
        codes = local_binary_pattern(volume[:, y, :], P, R, MAPPING)[R:T - R, R:W - R]
        counts[1] += np.bincount(codes.astype(np.intp).ravel(), minlength=n_bins)
    for x in range(R, W - R):
        codes = local_binary_pattern(volume[:, :, x], P, R, MAPPING)[R:T - R, R:H - R]
        counts[2] += np.bincount(codes.astype(np.intp).ravel(), minlength=n_bins)
    return counts


def kernel_lbptop(volume: np.ndarray) -> np.ndarray:
    """Counts (3, n_bins) with :func:`lbptop_histograms`."""
    return lbptop_histograms(volume, P=P, radius=R, mapping=MAPPING, normalize=False)[0, 0, 0]


def _seconds(func, volume) -> tuple[float, float]:
    """Wall-clock and process CPU seconds of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    func(volume)
    return time.perf_counter() - wall, time.process_time() - cpu


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9, help="timed repeats of each (default 9)")
    args = parser.parse_args(argv)

    volume = np.random.default_rng(0).integers(0, 256, SHAPE, dtype=np.uint8)
    if not np.array_equal(kernel_lbptop(volume), skimage_lbptop(volume)):  # also compiles
        raise SystemExit("kernel and scikit-image counts differ")
    n_voxels = np.prod([n - 2 * R for n in SHAPE])
    print(f"volume {SHAPE} uint8, P={P}, R={R}, mapping={MAPPING}, {n_voxels} valid centres; "
          f"medians of {args.repeats} repeats; "
          f"numba threads available: {numba.config.NUMBA_NUM_THREADS}")

    numba.set_num_threads(1)
    sk, k1 = [], []
    for _ in range(args.repeats):  # interleaved so that machine load hits both alike
        sk.append(_seconds(skimage_lbptop, volume))
        k1.append(_seconds(kernel_lbptop, volume))
    (sk, sk_cpu), (k1, k1_cpu) = np.median(sk, axis=0), np.median(k1, axis=0)
    print(f"scikit-image, slice by slice : {sk * 1e3:8.2f} ms  ({n_voxels / sk:12.0f} voxels/s)"
          f"   CPU {sk_cpu * 1e3:8.2f} ms")
    print(f"numba kernel, 1 thread       : {k1 * 1e3:8.2f} ms  ({n_voxels / k1:12.0f} voxels/s)"
          f"   CPU {k1_cpu * 1e3:8.2f} ms")
    print(f"speed ratio (1 thread)       : {sk / k1:8.1f}x wall clock, {sk_cpu / k1_cpu:.1f}x CPU "
          f"time  (target >= 40x)")
    if numba.config.NUMBA_NUM_THREADS >= 2:
        numba.set_num_threads(2)
        kernel_lbptop(volume)
        k2 = float(np.median([_seconds(kernel_lbptop, volume)[0] for _ in range(args.repeats)]))
        print(f"numba kernel, 2 threads      : {k2 * 1e3:8.2f} ms  "
              f"({n_voxels / k2:12.0f} voxels/s)")


if __name__ == "__main__":
    main()
