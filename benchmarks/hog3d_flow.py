"""Speed of 3D-HOG and the optical-flow descriptors on 16x96x96 uint8 clips.

Prints medians of repeats: HOG3D (Numba) against a vectorised NumPy implementation of the same
descriptor measured in the same run, on 1 and 2 threads; and clips per second of each flow
method, split into OpenCV flow and HOF+MBH histogramming.

    python benchmarks/hog3d_flow.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import time

import numba
import numpy as np

from handcrafted_dfer.features import flow_histograms, hog3d_histograms
from handcrafted_dfer.features._kernels.orientation import cell_indices
from handcrafted_dfer.features.flow import dense_flow
from handcrafted_dfer.features.hog3d import _neighbour_threshold, polyhedron_normals


def numpy_hog3d(volume, grid=(2, 4, 4)):
    """What a user would write with NumPy: np.gradient, one matrix product, np.add.at."""
    g = np.stack(np.gradient(volume.astype(np.float64)), axis=-1).reshape(-1, 3)
    normals = polyhedron_normals("icosahedron")
    mag = np.linalg.norm(g, axis=1)
    keep = mag > 0
    q = np.clip(g[keep] @ normals.T / mag[keep, None] - _neighbour_threshold(normals), 0, None)
    q *= (mag[keep] / np.linalg.norm(q, axis=1))[:, None]
    ct, cy, cx = np.meshgrid(*cell_indices(volume.shape, grid), indexing="ij")
    hist = np.zeros(tuple(grid) + (len(normals),))
    np.add.at(hist, (ct.ravel()[keep], cy.ravel()[keep], cx.ravel()[keep]), q)
    return hist / np.linalg.norm(hist, axis=-1, keepdims=True)


def median_seconds(fn, repeats):
    fn()  # warm-up (compilation, caches)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    clip = rng.integers(0, 256, size=(16, 96, 96), dtype=np.uint8)
    np.testing.assert_allclose(hog3d_histograms(clip), numpy_hog3d(clip), atol=1e-10)

    reference = median_seconds(lambda: numpy_hog3d(clip), args.repeats)
    print(f"HOG3D NumPy reference: {1 / reference:8.1f} clips/s")
    for threads in (1, 2):
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
        t = median_seconds(lambda: hog3d_histograms(clip), args.repeats)
        print(f"HOG3D Numba, {threads} thread(s): {1 / t:8.1f} clips/s, "
              f"{clip.size / t / 1e6:6.1f} Mvoxel/s, {reference / t:5.1f}x the NumPy reference")

    # a moving texture, so the flow is not trivially zero; histograms on one Numba thread
    numba.set_num_threads(1)
    frames = np.stack([np.roll(clip[0], (i, 2 * i), axis=(0, 1)) for i in range(16)])
    for method in ("farneback", "dis", "tvl1"):
        repeats = 1 if method == "tvl1" else args.repeats
        t_flow = median_seconds(lambda: dense_flow(frames, method=method), repeats)
        t_all = median_seconds(lambda: flow_histograms(frames, method=method), repeats)
        print(f"flow {method:9s}: {1 / t_all:7.1f} clips/s (OpenCV flow {t_flow * 1e3:7.1f} ms, "
              f"HOF+MBH histograms {max(t_all - t_flow, 0) * 1e3:5.1f} ms per clip, by difference; "
              f"{repeats} run(s))")


if __name__ == "__main__":
    main()
