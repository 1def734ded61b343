"""Optical flow, HOF and MBH: synthetic motions with known answers, a NumPy reference,
validation and properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.ndimage import gaussian_filter
from sklearn.base import clone

from handcrafted_dfer.features import OpticalFlowFeatures, flow_histograms
from handcrafted_dfer.features.flow import dense_flow


def texture(size=300, seed=0):
    """Smooth random texture on 0..255 (well conditioned for flow)."""
    t = gaussian_filter(np.random.default_rng(seed).random((size, size)), 2.0)
    return np.round((t - t.min()) / (t.max() - t.min()) * 255).astype(np.uint8)


def translated(dx, dy, size=32, n_frames=2):
    """Frame i shows the texture moved by i*(dx, dy) pixels (x right, y down)."""
    big, o = texture(), 100
    return np.stack([big[o - i * dy:o - i * dy + size, o - i * dx:o - i * dx + size]
                     for i in range(n_frames)])


def expected_bin(dx, dy, n_bins=8):
    """Bin k is centred on 2*pi*k/n_bins, angle atan2(dy, dx) in image coordinates."""
    return int(np.round(np.arctan2(dy, dx) / (2 * np.pi / n_bins))) % n_bins


SHIFTS = [(2, -2), (0, 2), (-3, 0), (2, 1)]


class TestTranslation:
    @pytest.mark.parametrize("method", ["farneback", "dis", "tvl1"])
    @pytest.mark.parametrize("dx, dy", SHIFTS)
    def test_hof_peak_and_empty_mbh(self, method, dx, dy):
        h = flow_histograms(translated(dx, dy), method=method, grid=(1, 4, 4), normalize=None)
        inner = (0, slice(1, 3), slice(1, 3))  # cells away from the frame border
        hof = h["hof"][inner]
        assert np.all(np.argmax(hof, axis=-1) == expected_bin(dx, dy))
        assert np.all(hof.max(axis=-1) > 0.9 * hof.sum(axis=-1))
        moving = hof[..., :8].sum()
        np.testing.assert_allclose(moving, np.hypot(dx, dy) * 256, rtol=0.1)  # 4 cells of 8x8 px
        mbh = h["mbhx"][inner].sum() + h["mbhy"][inner].sum()
        assert mbh < 0.05 * moving

    @pytest.mark.parametrize("method", ["farneback", "dis"])
    def test_dense_flow_sign_convention(self, method):
        flow = dense_flow(translated(3, -1, size=48), method=method)
        assert flow.shape == (1, 48, 48, 2) and flow.dtype == np.float32
        np.testing.assert_allclose(np.median(flow[0, 12:-12, 12:-12], axis=(0, 1)), [3, -1],
                                   atol=0.1)

    @pytest.mark.parametrize("method", ["farneback", "dis"])
    def test_still_frames_are_all_no_motion(self, method):
        v = np.repeat(texture()[None, :24, :24], 3, axis=0)
        h = flow_histograms(v, method=method, grid=(2, 2, 2), normalize="l1")
        expected = np.zeros(9)
        expected[8] = 1.0
        np.testing.assert_allclose(h["hof"], np.broadcast_to(expected, (2, 2, 2, 9)), atol=1e-12)
        raw = flow_histograms(v, method=method, grid=(2, 2, 2), normalize=None)
        assert raw["hof"][..., 8].sum() == 2 * 24 * 24  # every pixel of both flow fields
        # Farneback leaves sub-0.2 px noise on identical frames: motion boundaries stay tiny
        assert (raw["mbhx"].sum() + raw["mbhy"].sum()) / (2 * 24 * 24) < 0.01


class TestMovingSquare:
    @pytest.mark.parametrize("method", ["farneback", "dis"])
    def test_mbh_energy_at_the_square_edges_only(self, method):
        big = texture()
        size, lo, hi = 128, 52, 76  # square occupies cells 3 and 4 of an 8x8 grid of 16 px
        background = big[:size, :size]
        square = big[150:150 + hi - lo, 150:150 + hi - lo]
        frames = np.stack([background.copy(), background.copy()])
        frames[0, lo:hi, lo:hi] = square
        frames[1, lo:hi, lo + 3:hi + 3] = square
        h = flow_histograms(frames, method=method, grid=(1, 8, 8), normalize=None)
        energy = (h["mbhx"] + h["mbhy"]).sum(axis=-1)[0]
        far = np.ones((8, 8), bool)
        far[2:6, 2:6] = False  # at least one cell (16 px) away from the square
        edge = energy[3:5, 3:5]
        assert far.sum() == 48
        # measured: far max / edge min = 0.04 (farneback), 0.18 (dis, FAST preset spreads);
        # far mean / edge mean = 0.004 and 0.04
        assert energy[far].max() < 0.25 * edge.min()
        assert energy[far].mean() < 0.1 * edge.mean()


def reference_orientation_histograms(fx, fy, grid, n_bins, zero_bin, threshold):
    mag = np.hypot(fx, fy)
    bins = np.floor(np.arctan2(fy, fx) / (2 * np.pi / n_bins) + 0.5).astype(int) % n_bins
    weight = mag.copy()
    if zero_bin:
        still = mag < threshold
        bins[still] = n_bins
        weight[still] = 1.0
    hist = np.zeros(tuple(grid) + (n_bins + zero_bin,))
    bounds = [np.round(np.linspace(0, n, k + 1)).astype(int) for n, k in zip(fx.shape, grid)]
    for i, j, k in np.ndindex(*grid):
        sl = tuple(slice(b[c], b[c + 1]) for b, c in zip(bounds, (i, j, k)))
        hist[i, j, k] = np.bincount(bins[sl].ravel(), weight[sl].ravel(), n_bins + zero_bin)
    return hist


class TestReference:
    @pytest.mark.parametrize("threshold", [0.0, 0.4, 1.5])
    def test_histograms_match_numpy_reference(self, threshold):
        rng = np.random.default_rng(4)
        big = texture(seed=1)
        v = np.stack([np.roll(big[:40, :36], (int(s), int(-s)), axis=(0, 1))
                      for s in rng.integers(-2, 3, size=5)])
        v[:, 10:20, 10:20] = rng.integers(0, 256, size=(5, 10, 10))
        flow = dense_flow(v).astype(np.float64)
        grid = (2, 3, 4)
        got = flow_histograms(v, grid=grid, motion_threshold=threshold, normalize=None)
        u, w = flow[..., 0], flow[..., 1]
        np.testing.assert_allclose(
            got["hof"], reference_orientation_histograms(u, w, grid, 8, True, threshold),
            rtol=1e-10, atol=1e-10)
        for name, comp in (("mbhx", u), ("mbhy", w)):
            d_dy = np.zeros_like(comp)
            d_dx = np.zeros_like(comp)
            d_dy[:, 1:-1] = (comp[:, 2:] - comp[:, :-2]) / 2
            d_dy[:, 0], d_dy[:, -1] = comp[:, 1] - comp[:, 0], comp[:, -1] - comp[:, -2]
            d_dx[:, :, 1:-1] = (comp[:, :, 2:] - comp[:, :, :-2]) / 2
            d_dx[:, :, 0] = comp[:, :, 1] - comp[:, :, 0]
            d_dx[:, :, -1] = comp[:, :, -1] - comp[:, :, -2]
            np.testing.assert_allclose(
                got[name], reference_orientation_histograms(d_dx, d_dy, grid, 8, False, 0.0),
                rtol=1e-10, atol=1e-10)
        assert list(got) == ["hof", "mbhx", "mbhy"]
        only_mbh = flow_histograms(v, grid=grid, descriptors=("mbh",), normalize=None)
        assert list(only_mbh) == ["mbhx", "mbhy"]
        np.testing.assert_array_equal(only_mbh["mbhx"], got["mbhx"])


class TestValidation:
    @pytest.mark.parametrize("volume, kwargs, match", [
        (np.zeros((16, 16)), {}, "3D array"),
        (np.zeros((1, 16, 16)), {}, "1 frames; at least 2"),
        (np.zeros((3, 8, 16)), {}, "at least 12x12"),
        (np.full((3, 16, 16), np.nan), {}, "NaN or infinite"),
        (np.full((3, 16, 16), np.inf), {}, "NaN or infinite"),
        (np.zeros((3, 16, 16)), {"grid": (3, 1, 1)}, r"t \(flow frames = T - 1\) .* at most 2"),
        (np.zeros((3, 16, 16)), {"grid": (1, 17, 1)}, "at most 16"),
        (np.zeros((3, 16, 16)), {"method": "lucas"}, "farneback, dis, tvl1"),
        (np.zeros((3, 16, 16)), {"descriptors": ("hog",)}, "distinct names from hof, mbh"),
        (np.zeros((3, 16, 16)), {"descriptors": ()}, "distinct names"),
        (np.zeros((3, 16, 16)), {"motion_threshold": -1}, "motion_threshold must be"),
        (np.zeros((3, 16, 16)), {"n_bins": 0}, "n_bins must be a positive integer"),
        (np.zeros((3, 16, 16)), {"normalize": "max"}, "'l2', 'l2-hys', 'l1' or None"),
    ])
    def test_bad_input_raises_value_error(self, volume, kwargs, match):
        kwargs = {"grid": (1, 2, 2), **kwargs}
        with pytest.raises(ValueError, match=match):
            flow_histograms(volume, **kwargs)


class TestProperties:
    @settings(max_examples=15, deadline=None)
    @given(st.integers(2, 4), st.integers(12, 20), st.integers(12, 20),
           st.sampled_from([np.uint8, np.float32, np.float64]), st.integers(0, 2**16),
           st.sampled_from(["farneback", "dis"]), st.data())
    def test_finite_shape_and_unit_blocks(self, t, h, w, dtype, seed, method, data):
        grid = tuple(data.draw(st.integers(1, n)) for n in (t - 1, h, w))
        v = np.random.default_rng(seed).integers(0, 256, size=(t, h, w)).astype(dtype)
        out = flow_histograms(v, method=method, grid=grid, normalize="l1")
        assert out["hof"].shape == grid + (9,)
        assert out["mbhx"].shape == out["mbhy"].shape == grid + (8,)
        for hist in out.values():
            assert np.all(np.isfinite(hist)) and np.all(hist >= 0)
        # every pixel votes in HOF (its magnitude, or 1 in the no-motion bin): never empty
        np.testing.assert_allclose(out["hof"].sum(axis=-1), 1.0, atol=1e-12)
        for name in ("mbhx", "mbhy"):
            sums = out[name].sum(axis=-1)
            assert np.all(np.isclose(sums, 1.0, atol=1e-12) | (sums == 0))
        l2 = flow_histograms(v, method=method, grid=grid, normalize="l2-hys")
        norms = np.linalg.norm(l2["hof"], axis=-1)
        np.testing.assert_allclose(norms, 1.0, atol=1e-12)


class TestTransformer:
    def test_rows_and_names(self):
        vols = [translated(dx, dy, size=32, n_frames=5) for dx, dy in SHIFTS[:3]]
        est = clone(OpticalFlowFeatures(grid=(2, 4, 4), mirror=False))
        X = est.fit(vols).transform(vols)
        assert X.shape == (3, 2 * 4 * 4 * (9 + 8 + 8))
        for row, v in zip(X, vols):
            h = flow_histograms(v, grid=(2, 4, 4))
            np.testing.assert_array_equal(row, np.concatenate([h[k].ravel() for k in
                                                               ("hof", "mbhx", "mbhy")]))
        names = est.get_feature_names_out()
        assert len(names) == X.shape[1] == len(set(names))
        assert names[np.ravel_multi_index((0, 0, 2, 8), (2, 4, 4, 9))] == "hof/r0c2/t0/o8"
        assert names[2 * 4 * 4 * 9] == "mbhx/r0c0/t0/o0"
        assert names[-1] == "mbhy/r3c3/t1/o7"

    def test_grid_checked_against_flow_frames(self):
        with pytest.raises(ValueError, match="at most 1"):
            OpticalFlowFeatures(grid=(2, 1, 1)).fit([np.zeros((2, 16, 16))])
