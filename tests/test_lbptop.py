"""LBP-TOP: counts equal scikit-image's on the three planes' slices, blocks, names, validation."""

from __future__ import annotations

import math
import re
import warnings

import cv2
import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from skimage.feature import local_binary_pattern
from sklearn.base import clone

from conftest import mirror_oracle
from handcrafted_dfer.clip import AlignedClip
from handcrafted_dfer.features import LBPTOP, lbptop_histograms, make_extractor
from handcrafted_dfer.features._validation import block_edges

N_BINS = {"nri_uniform": lambda P: P * (P - 1) + 3, "uniform": lambda P: P + 2,
          "default": lambda P: 2**P}


# ---------------------------------------------------------------- references
def skimage_codes(volume, P, R, mapping):
    """Per-plane code volumes of the valid centres, from skimage on every slice.

    Returns a list of three arrays indexed [t, y, x] over the valid centres.
    """
    P = (P,) * 3 if np.ndim(P) == 0 else P
    T, H, W = volume.shape
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # skimage warns on float input
        xy = np.stack([local_binary_pattern(volume[t], P[0], R, mapping)[R:H - R, R:W - R]
                       for t in range(R, T - R)])
        xt = np.stack([local_binary_pattern(volume[:, y, :], P[1], R, mapping)[R:T - R, R:W - R]
                       for y in range(R, H - R)], axis=1)
        yt = np.stack([local_binary_pattern(volume[:, :, x], P[2], R, mapping)[R:T - R, R:H - R]
                       for x in range(R, W - R)], axis=2)
    return [c.astype(np.int64) for c in (xy, xt, yt)]


def numpy_codes(volume, P, radius):
    """Raw codes sum(bit_p << p) of an elliptic sampling, plain NumPy, skimage's arithmetic.

    radius = (R_t, R_y, R_x); returns three [t, y, x] code arrays over the valid centres
    (ceil(R) from every border).
    """
    v = np.asarray(volume, dtype=np.float64)
    T, H, W = v.shape
    m = [math.ceil(r) for r in radius]
    t, y, x = np.meshgrid(np.arange(m[0], T - m[0]), np.arange(m[1], H - m[1]),
                          np.arange(m[2], W - m[2]), indexing="ij")
    centre = v[t, y, x]
    out = []
    for axes in ((1, 2), (0, 2), (0, 1)):  # XY, XT, YT as (row axis, column axis)
        code = np.zeros(centre.shape, dtype=np.int64)
        for p in range(P):
            angle = 2 * np.pi * p / P
            offsets = {axes[0]: np.round(-float(np.float32(radius[axes[0]])) * np.sin(angle), 5),
                       axes[1]: np.round(float(np.float32(radius[axes[1]])) * np.cos(angle), 5)}
            coords = [t, y, x]
            r = coords[axes[0]] + offsets[axes[0]]
            c = coords[axes[1]] + offsets[axes[1]]
            r0, c0 = np.floor(r).astype(int), np.floor(c).astype(int)
            r1, c1 = np.ceil(r).astype(int), np.ceil(c).astype(int)
            dr, dc = r - r0, c - c0

            def at(rr, cc):
                idx = list(coords)
                idx[axes[0]], idx[axes[1]] = rr, cc
                return v[tuple(idx)]

            top = (1 - dc) * at(r0, c0) + dc * at(r0, c1)
            bottom = (1 - dc) * at(r1, c0) + dc * at(r1, c1)
            code |= ((1 - dr) * top + dr * bottom - centre >= 0).astype(np.int64) << p
        out.append(code)
    return out


def riu2(codes, P):
    """Rotation-invariant uniform mapping by its definition (circular 0/1 transitions)."""
    bits = (codes[..., None] >> np.arange(P)) & 1
    transitions = (bits != np.roll(bits, 1, axis=-1)).sum(axis=-1)
    return np.where(transitions <= 2, bits.sum(axis=-1), P + 1)


def block_hist(codes, n_bins, grid, overlap=0.0):
    """(grid_t, grid_y, grid_x, 3, n_bins) counts of per-plane code volumes over valid centres."""
    edges = [block_edges(n, g, overlap) for n, g in zip(codes[0].shape, grid)]
    out = np.zeros(tuple(grid) + (3, n_bins), dtype=np.int64)
    for i, (t0, t1) in enumerate(edges[0]):
        for j, (y0, y1) in enumerate(edges[1]):
            for k, (x0, x1) in enumerate(edges[2]):
                for plane, c in enumerate(codes):
                    out[i, j, k, plane] = np.bincount(c[t0:t1, y0:y1, x0:x1].ravel(),
                                                      minlength=n_bins)
    return out


def face_clip(videos, n_frames=20, size=64):
    """A cheap aligned face clip: fixed crop around the face of single_face.mp4, grey, resized."""
    cap = cv2.VideoCapture(str(videos / "single_face.mp4"))
    frames = []
    while len(frames) < n_frames:
        ok, frame = cap.read()
        assert ok, "single_face.mp4 has fewer frames than expected"
        grey = cv2.cvtColor(frame[100:310, 190:400], cv2.COLOR_BGR2GRAY)
        frames.append(cv2.resize(grey, (size, size), interpolation=cv2.INTER_AREA))
    cap.release()
    return np.stack(frames)


# ---------------------------------------------------------------- equality with scikit-image
class TestAgainstSkimage:
    @pytest.mark.parametrize("P", [4, 8, 16])
    @pytest.mark.parametrize("R", [1, 2, 3])
    @pytest.mark.parametrize("mapping", ["nri_uniform", "uniform", "default"])
    def test_random_uint8(self, P, R, mapping):
        rng = np.random.default_rng(100 * P + 10 * R + len(mapping))
        shape = (2 * R + 3, 2 * R + 5, 2 * R + 4)
        # few grey levels so that ties (sample == centre) are frequent
        volume = rng.integers(0, 4 if R == 1 else 256, shape, dtype=np.uint8)
        got = lbptop_histograms(volume, P=P, radius=R, mapping=mapping, normalize=False)
        want = block_hist(skimage_codes(volume, P, R, mapping), N_BINS[mapping](P), (1, 1, 1))
        assert got.shape == (1, 1, 1, 3, N_BINS[mapping](P))
        np.testing.assert_array_equal(got, want)

    @pytest.mark.parametrize("seed", [0, 1, 2])
    def test_blocks_and_overlap(self, seed):
        rng = np.random.default_rng(seed)
        shape = tuple(rng.integers(7, 14, size=3))
        volume = rng.integers(0, 256, shape, dtype=np.uint8)
        codes = skimage_codes(volume, 8, 1, "nri_uniform")
        for grid, overlap in (((2, 3, 2), 0.0), ((3, 2, 4), 0.4), ((1, 5, 1), 0.9)):
            got = lbptop_histograms(volume, grid=grid, overlap=overlap, normalize=False)
            np.testing.assert_array_equal(got, block_hist(codes, 59, grid, overlap))

    @pytest.mark.parametrize("P,R,mapping", [(8, 1, "nri_uniform"), (8, 2, "uniform"),
                                             (16, 3, "nri_uniform"), (4, 1, "default")])
    def test_real_face_clip(self, shared_videos, P, R, mapping):
        volume = face_clip(shared_videos)
        got = lbptop_histograms(volume, P=P, radius=R, mapping=mapping, grid=(2, 4, 4),
                                normalize=False)
        want = block_hist(skimage_codes(volume, P, R, mapping), N_BINS[mapping](P), (2, 4, 4))
        np.testing.assert_array_equal(got, want)

    def test_float_input_compared_as_given(self):
        rng = np.random.default_rng(7)
        volume = rng.random((6, 9, 8)) * 3.0  # fractional values, not rounded
        volume[2:4, 3:6, 2:5] = 1.5  # flat patch: exact ties
        got = lbptop_histograms(volume, P=8, radius=2, mapping="default", normalize=False)
        want = block_hist(skimage_codes(volume, 8, 2, "default"), 256, (1, 1, 1))
        np.testing.assert_array_equal(got, want)

    def test_per_plane_P_is_zero_padded(self):
        rng = np.random.default_rng(3)
        volume = rng.integers(0, 256, (7, 9, 10), dtype=np.uint8)
        P = (8, 4, 16)
        got = lbptop_histograms(volume, P=P, radius=1, mapping="uniform", normalize=False)
        assert got.shape == (1, 1, 1, 3, 18)  # max(P) + 2
        codes = skimage_codes(volume, P, 1, "uniform")
        for plane, p in enumerate(P):
            want = np.bincount(codes[plane].ravel(), minlength=p + 2)
            np.testing.assert_array_equal(got[0, 0, 0, plane, : p + 2], want)
            assert not got[0, 0, 0, plane, p + 2:].any()
        normalized = lbptop_histograms(volume, P=P, radius=1, mapping="uniform")
        np.testing.assert_allclose(normalized.sum(axis=-1), 1.0)


# ---------------------------------------------------------------- elliptic sampling
class TestElliptic:
    def test_numpy_reference_matches_skimage_on_circles(self):
        # anchors the NumPy reference used for ellipses below
        rng = np.random.default_rng(11)
        volume = rng.integers(0, 5, (7, 8, 9), dtype=np.uint8)
        for P, R in ((8, 1), (16, 2), (8, 3)):
            ref = numpy_codes(volume, P, (R, R, R))
            sk = skimage_codes(volume, P, R, "default")
            for a, b in zip(ref, sk):
                np.testing.assert_array_equal(a, b)

    @pytest.mark.parametrize("radius", [(1, 2, 2), (2, 1, 3), (1, 1.5, 2.5), (3, 2, 1)])
    @pytest.mark.parametrize("P", [4, 8, 16])
    def test_default_and_uniform_codes(self, radius, P):
        rng = np.random.default_rng(int(10 * sum(radius)) + P)
        shape = tuple(2 * math.ceil(r) + 4 for r in radius)
        volume = rng.integers(0, 6, shape, dtype=np.uint8)
        codes = numpy_codes(volume, P, radius)
        got = lbptop_histograms(volume, P=P, radius=radius, mapping="default", normalize=False)
        np.testing.assert_array_equal(got, block_hist(codes, 2**P, (1, 1, 1)))
        got = lbptop_histograms(volume, P=P, radius=radius, mapping="uniform", grid=(1, 2, 2),
                                normalize=False)
        np.testing.assert_array_equal(got, block_hist([riu2(c, P) for c in codes], P + 2,
                                                      (1, 2, 2)))


# ---------------------------------------------------------------- properties
class TestProperties:
    def test_uniform_volume_is_all_ones_pattern(self):
        # every sample equals the centre, so every bit is 1: nri_uniform bin P(P-1)+1
        hist = lbptop_histograms(np.full((5, 6, 7), 9, np.uint8), grid=(1, 2, 2))
        assert np.all(hist[..., 57] == 1.0)

    def test_threads_give_the_same_counts(self):
        volume = np.random.default_rng(5).integers(0, 256, (9, 12, 11), dtype=np.uint8)
        before = numba.get_num_threads()
        try:
            numba.set_num_threads(1)
            one = lbptop_histograms(volume, grid=(2, 2, 2), normalize=False)
            numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
            many = lbptop_histograms(volume, grid=(2, 2, 2), normalize=False)
        finally:
            numba.set_num_threads(before)
        np.testing.assert_array_equal(one, many)

    @settings(max_examples=25, deadline=None)
    @given(shape=st.tuples(st.integers(3, 8), st.integers(3, 9), st.integers(3, 9)),
           dtype=st.sampled_from([np.uint8, np.int16, np.float32, np.float64]),
           P=st.sampled_from([4, 8]), mapping=st.sampled_from(["nri_uniform", "uniform"]),
           grid=st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3)),
           seed=st.integers(0, 2**16))
    def test_finite_shape_and_normalized(self, shape, dtype, P, mapping, grid, seed):
        grid = tuple(min(g, n - 2) for g, n in zip(grid, shape))
        volume = (np.random.default_rng(seed).random(shape) * 200).astype(dtype)
        hist = lbptop_histograms(volume, P=P, mapping=mapping, grid=grid)
        assert hist.shape == grid + (3, N_BINS[mapping](P))
        assert np.all(np.isfinite(hist))
        np.testing.assert_allclose(hist.sum(axis=-1), 1.0, rtol=1e-12)
        counts = lbptop_histograms(volume, P=P, mapping=mapping, grid=grid, normalize=False)
        assert counts.dtype == np.int64
        # without overlap the blocks partition the valid centres
        assert counts[..., 0, :].sum() == np.prod([n - 2 for n in shape])


# ---------------------------------------------------------------- validation
class TestValidation:
    @pytest.mark.parametrize("volume,kwargs,match", [
        (np.zeros((5, 5), np.uint8), {}, "3D array"),
        (np.zeros((2, 9, 9), np.uint8), {}, "frames"),
        (np.zeros((4, 9, 9), np.uint8), {"radius": (2, 1, 1)}, "frames"),
        (np.zeros((9, 2, 9), np.uint8), {}, "rows"),
        (np.zeros((9, 9, 4), np.uint8), {"radius": (1, 1, 2)}, "columns"),
        (np.full((5, 5, 5), np.nan), {}, "NaN or infinite"),
        (np.full((5, 5, 5), np.inf), {}, "NaN or infinite"),
        (np.zeros((5, 5, 5), np.uint8), {"grid": (1, 4, 1)}, "at most 3"),
        (np.zeros((5, 5, 5), np.uint8), {"grid": (1, 0, 1)}, "positive"),
        (np.zeros((5, 5, 5), np.uint8), {"mapping": "ror"}, "nri_uniform, uniform, default"),
        (np.zeros((5, 5, 5), np.uint8), {"P": 0}, r"\[1, 16\]"),
        (np.zeros((5, 5, 5), np.uint8), {"P": 17}, r"\[1, 16\]"),
        (np.zeros((5, 5, 5), np.uint8), {"P": 2.5}, r"\[1, 16\]"),
        (np.zeros((5, 5, 5), np.uint8), {"P": (8, 8)}, "three"),
        (np.zeros((5, 5, 5), np.uint8), {"radius": 0}, "positive"),
        (np.zeros((5, 5, 5), np.uint8), {"radius": (1, 1)}, "three"),
        (np.zeros((5, 5, 5), np.uint8), {"overlap": 1.0}, r"\[0, 1\)"),
    ])
    def test_value_errors(self, volume, kwargs, match):
        with pytest.raises(ValueError, match=match):
            lbptop_histograms(volume, **kwargs)

    def test_short_clip_message_says_what_is_allowed(self):
        with pytest.raises(ValueError, match=r"2 frames; at least 3"):
            lbptop_histograms(np.zeros((2, 9, 9), np.uint8))


# ---------------------------------------------------------------- transformer
class TestLBPTOP:
    def test_parameters_untouched_and_clonable(self):
        est = LBPTOP(P=(8, 4, 4), radius=[1, 2, 2], grid=(2, 2, 2))
        assert est.get_params() == {"P": (8, 4, 4), "radius": [1, 2, 2], "mapping": "nri_uniform",
                                    "grid": (2, 2, 2), "overlap": 0.0, "mirror": True}
        assert clone(est).get_params() == est.get_params()
        # the defaults chosen on CK+48 (experiments/ckplus48/results.md)
        assert LBPTOP().get_params()["grid"] == (1, 8, 8)
        assert LBPTOP().get_params()["radius"] == (1, 4, 4)
        assert isinstance(make_extractor("lbptop"), LBPTOP)

    def test_vector_and_names_follow_the_histogram_layout(self):
        rng = np.random.default_rng(9)
        volumes = [rng.integers(0, 256, (8, 18, 18), dtype=np.uint8) for _ in range(2)]
        clip = AlignedClip(volumes[1], np.zeros((8, 68, 2)), np.ones(8, bool), 25.0, "mem")
        est = LBPTOP(grid=(2, 3, 4), radius=(1, 1, 1), mirror=False).fit(volumes)
        X = est.transform([volumes[0], clip])
        names = list(est.get_feature_names_out())
        assert X.shape == (2, 2 * 3 * 4 * 3 * 59) and len(names) == X.shape[1]
        assert len(set(names)) == len(names)
        assert all(re.fullmatch(r"lbptop/(xy|xt|yt)/r\d+c\d+/t\d+/b\d\d", n) for n in names)
        for i, volume in enumerate(volumes):
            hist = lbptop_histograms(volume, grid=(2, 3, 4))
            for t, r, c, plane, b in ((1, 2, 3, 0, 17), (0, 1, 2, 1, 5), (1, 0, 0, 2, 58)):
                name = f"lbptop/{('xy', 'xt', 'yt')[plane]}/r{r}c{c}/t{t}/b{b:02d}"
                assert X[i, names.index(name)] == hist[t, r, c, plane, b]

    def test_per_plane_P_drops_padding(self):
        volume = np.random.default_rng(2).integers(0, 256, (6, 10, 10), dtype=np.uint8)
        est = LBPTOP(P=(8, 4, 4), mapping="uniform", grid=(1, 2, 2), radius=(1, 1, 1),
                     mirror=False).fit([volume])
        X = est.transform([volume])
        names = list(est.get_feature_names_out())
        assert X.shape[1] == len(names) == 4 * (10 + 6 + 6)
        assert "lbptop/xt/r0c0/t0/b5" in names and "lbptop/xt/r0c0/t0/b6" not in names
        hist = lbptop_histograms(volume, P=(8, 4, 4), mapping="uniform", grid=(1, 2, 2))
        assert X[0, names.index("lbptop/yt/r1c0/t0/b3")] == hist[0, 1, 0, 2, 3]
        np.testing.assert_allclose(X.sum(axis=1), 4 * 3)  # each block and plane sums to 1

    def test_names_need_fit(self):
        with pytest.raises(ValueError, match="fitted"):
            LBPTOP().get_feature_names_out()


class TestMirror:
    """``mirror=True`` reflects the clip's histograms instead of describing the mirror image again
    where that is exact up to ties; the oracle is the extractor without mirror on the flipped
    clip."""

    @pytest.mark.parametrize("params, reflected", [
        (dict(), True),  # the defaults: P 8, radius (1, 4, 4), 8 x 8 blocks
        (dict(P=(8, 6, 4), radius=(1, 2, 3), grid=(2, 3, 3), mapping="uniform"), True),
        (dict(P=4, radius=(1, 1, 1), grid=(1, 4, 5), mapping="default", overlap=0.3), True),
        (dict(P=6, radius=(2, 2.5, 1.5), grid=(1, 2, 2)), True),
        (dict(P=7, radius=(1, 1, 1), grid=(1, 2, 2)), False),  # no mirror pairs: odd P
        (dict(P=(8, 5, 8), radius=(1, 1, 1), grid=(1, 2, 2)), False),  # odd P on XT
        (dict(P=8, radius=(1, 1, 1), grid=(1, 2, 4)), False),  # x blocks 0-6-12-19-25: asymmetric
    ])
    def test_equals_describing_the_mirror_image(self, params, reflected):
        from handcrafted_dfer.features.lbptop import _check_P, _check_radius, _mirror_by_reflection

        rng = np.random.default_rng(11)
        width = 27 if params.get("grid") == (1, 2, 4) else 40  # 25 valid x centres, 4 blocks
        volume = rng.random((7, 36, width))  # float: no interpolated sample ties its centre
        est = LBPTOP(**params)
        full = {**est.get_params(), "mirror": False}
        assert _mirror_by_reflection(volume.shape, _check_P(full["P"]),
                                     _check_radius(full["radius"]), tuple(full["grid"]),
                                     float(full["overlap"])) is reflected
        got = est.fit([volume]).transform([volume])
        np.testing.assert_allclose(got, mirror_oracle(est, volume), rtol=0, atol=1e-15)

    def test_reflected_bins_match_scikit_image_on_a_flipped_image(self):
        """Independent of the code: the LBP histogram of a flipped image (scikit-image) is the
        image's with the bins reflected, for each mapping."""
        from handcrafted_dfer.features.lbptop import _reflected_bins

        image = np.random.default_rng(3).random((40, 40))
        for P, mapping in ((8, "nri_uniform"), (8, "uniform"), (8, "default"), (6, "nri_uniform")):
            bins = _reflected_bins(P, mapping)
            n = N_BINS[mapping](P)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # skimage warns on float input
                codes = local_binary_pattern(image, P, 2, mapping)[2:-2, 2:-2]
                flipped = local_binary_pattern(image[:, ::-1], P, 2, mapping)[2:-2, 2:-2]
            own = np.bincount(codes.astype(int).ravel(), minlength=n)
            expected = np.bincount(flipped.astype(int).ravel(), minlength=n)
            reflected = np.zeros(n, dtype=int)
            reflected[bins] = own
            np.testing.assert_array_equal(reflected, expected)
            assert sorted(bins) == list(range(n))  # a permutation of the bins

    def test_real_face_differs_only_at_ties(self, shared_videos):
        """On uint8 faces an interpolated sample may tie its centre to the last bit, and the
        mirror image's rounding may then set the other bit: a few codes in 10,000 move."""
        volume = face_clip(shared_videos, n_frames=16, size=96)
        got = LBPTOP().fit([volume]).transform([volume])
        blocks = 8 * 8 * 3  # each block's plane histogram sums to 1
        # each row is the mean of two histograms: |difference| summed is the fraction moved
        moved = np.abs(got - mirror_oracle(LBPTOP(), volume)).sum() / blocks
        assert moved < 1e-3


def test_feature_names_follow_the_parameters_and_the_clip_shape():
    """Names are built once per class, parameters and shape: a changed parameter or shape gets
    its own names, and a caller changing the returned array changes nothing that follows."""
    est = LBPTOP(grid=(1, 2, 2), radius=(1, 1, 1))
    four = est.feature_names_for((5, 12, 12))
    assert len(four) == 4 * 3 * 59
    four[0] = "changed"
    assert est.feature_names_for((5, 12, 12))[0] == "lbptop/xy/r0c0/t0/b00"
    assert len(est.set_params(grid=(1, 3, 3)).feature_names_for((5, 12, 12))) == 9 * 3 * 59
    assert len(est.set_params(P=4, mapping="uniform").feature_names_for((5, 12, 12))) == 9 * 3 * 6
    with pytest.raises(ValueError, match="grid"):
        est.set_params(grid=(1, 30, 30)).feature_names_for((5, 12, 12))
