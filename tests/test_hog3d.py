"""3D-HOG: a plain NumPy reference, constant-gradient volumes, validation and properties."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.ndimage import gaussian_filter
from sklearn.base import clone

from handcrafted_dfer.clip import AlignedClip
from conftest import mirror_oracle
from handcrafted_dfer.features import HOG3D, hog3d_histograms

PHI = (1 + 5 ** 0.5) / 2


# ---------------------------------------------------------------- independent oracle pieces
def golden_normals(polyhedron, half=False):
    """Face normals from the golden-ratio construction, (x, y, t) -> (t, y, x), in the
    documented bin order (upper half sorted lexicographically decreasing, then opposites)."""
    if polyhedron == "icosahedron":
        pts = [np.array(s, float) for s in itertools.product((1, -1), repeat=3)]
        bases = [(0.0, 1 / PHI, PHI)]
    else:
        pts = []
        bases = [(0.0, 1.0, PHI)]
    for base in bases:
        for sb, sc in itertools.product((1, -1), repeat=2):
            p = np.array([base[0], sb * base[1], sc * base[2]])
            pts += [np.roll(p, k) for k in range(3)]
    xyt = np.unique(np.round(np.array(pts), 12), axis=0)
    tyx = xyt[:, ::-1] / np.linalg.norm(xyt, axis=1, keepdims=True)
    upper = [n for n in tyx if n[np.flatnonzero(np.round(n, 12))[0]] > 0]
    upper = sorted(upper, key=lambda n: tuple(np.round(n, 12)), reverse=True)
    upper = np.array(upper)
    return upper if half else np.concatenate([upper, -upper])


def neighbour_dot(normals):
    dots = normals @ normals.T
    return max(d for i, row in enumerate(dots) for j, d in enumerate(row) if i != j)


def central_differences(v, axis):
    v = np.moveaxis(v, axis, 0)
    d = np.empty_like(v)
    d[1:-1] = (v[2:] - v[:-2]) / 2.0
    d[0] = v[1] - v[0]
    d[-1] = v[-1] - v[-2]
    return np.moveaxis(d, 0, axis)


def reference_normalize(h, normalize):
    h = h.copy()
    for idx in np.ndindex(h.shape[:-1]):
        b = h[idx]
        if normalize == "l1" and b.sum() > 0:
            b = b / b.sum()
        elif normalize in ("l2", "l2-hys") and np.linalg.norm(b) > 0:
            b = b / np.linalg.norm(b)
            if normalize == "l2-hys":
                b = np.minimum(b, 0.2)
                b = b / np.linalg.norm(b)
        h[idx] = b
    return h


def reference_hog3d(volume, polyhedron="icosahedron", half=False, grid=(2, 4, 4), sigma=0.0,
                    normalize="l2"):
    """Plain NumPy 3D-HOG after Kläser et al. (2008), written from the paper."""
    v = np.asarray(volume, dtype=np.float64)
    if sigma > 0:
        v = gaussian_filter(v, sigma, mode="nearest")
    normals = golden_normals(polyhedron, half)
    threshold = neighbour_dot(normals)
    g = np.stack([central_differences(v, a) for a in range(3)], axis=-1)
    mag = np.linalg.norm(g, axis=-1)
    q = (g @ normals.T) / np.where(mag > 0, mag, 1)[..., None]
    if half:
        q = np.abs(q)
    q = np.clip(q - threshold, 0, None)
    qn = np.linalg.norm(q, axis=-1)
    votes = q * np.where(qn > 0, mag / np.where(qn > 0, qn, 1), 0)[..., None]
    hist = np.zeros(tuple(grid) + (len(normals),))
    bounds = [np.round(np.linspace(0, n, k + 1)).astype(int) for n, k in zip(v.shape, grid)]
    for i, j, k in np.ndindex(*grid):
        block = votes[bounds[0][i]:bounds[0][i + 1], bounds[1][j]:bounds[1][j + 1],
                      bounds[2][k]:bounds[2][k + 1]]
        hist[i, j, k] = block.reshape(-1, len(normals)).sum(axis=0)
    return reference_normalize(hist, normalize)


# ---------------------------------------------------------------- tests
class TestReference:
    @pytest.mark.parametrize("polyhedron", ["icosahedron", "dodecahedron"])
    @pytest.mark.parametrize("half", [False, True])
    @pytest.mark.parametrize("normalize", ["l2", "l2-hys", "l1", None])
    def test_uint8_matches_numpy_reference(self, polyhedron, half, normalize):
        v = np.random.default_rng(1).integers(0, 256, size=(7, 13, 11), dtype=np.uint8)
        got = hog3d_histograms(v, polyhedron=polyhedron, half=half, grid=(2, 3, 2),
                               normalize=normalize)
        want = reference_hog3d(v, polyhedron, half, (2, 3, 2), normalize=normalize)
        n_bins = {"icosahedron": 20, "dodecahedron": 12}[polyhedron] // (2 if half else 1)
        assert got.shape == (2, 3, 2, n_bins)
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)

    def test_float_volume_with_smoothing_matches_reference(self):
        rng = np.random.default_rng(3)
        v = rng.random((8, 16, 16)) * 255
        got = hog3d_histograms(v, sigma=1.0, grid=(2, 4, 4), normalize=None)
        want = reference_hog3d(v, sigma=1.0, grid=(2, 4, 4), normalize=None)
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)
        assert not np.allclose(got, hog3d_histograms(v, grid=(2, 4, 4), normalize=None))

    def test_half_is_the_fold_of_opposite_bins(self):
        v = np.random.default_rng(5).integers(0, 256, size=(6, 12, 12), dtype=np.uint8)
        for polyhedron, n in (("icosahedron", 20), ("dodecahedron", 12)):
            full = hog3d_histograms(v, polyhedron=polyhedron, grid=(1, 2, 2), normalize=None)
            half = hog3d_histograms(v, polyhedron=polyhedron, half=True, grid=(1, 2, 2),
                                    normalize=None)
            np.testing.assert_allclose(half, full[..., : n // 2] + full[..., n // 2:], rtol=1e-12)


def linear_volume(direction, shape=(6, 10, 12)):
    """v = 128 + a*t + b*y + c*x: every central or one-sided difference is exactly (a, b, c)."""
    t, y, x = np.meshgrid(*(np.arange(n) for n in shape), indexing="ij")
    a, b, c = direction
    return 128.0 + a * t + b * y + c * x


class TestConstantGradient:
    @pytest.mark.parametrize("polyhedron", ["icosahedron", "dodecahedron"])
    @pytest.mark.parametrize("seed", range(6))
    def test_votes_land_in_the_closest_normal(self, polyhedron, seed):
        rng = np.random.default_rng(seed)
        g = rng.normal(size=3)
        g *= 3.0 / np.abs(g).max()  # keeps 128 + g.(t, y, x) inside [0, 255]
        normals = golden_normals(polyhedron)
        dots = normals @ (g / np.linalg.norm(g))
        assert np.sort(dots)[-1] - np.sort(dots)[-2] > 1e-6  # no tie for the closest normal
        v = linear_volume(g)
        hist = hog3d_histograms(v, polyhedron=polyhedron, grid=(1, 1, 1), normalize=None)[0, 0, 0]
        assert np.argmax(hist) == np.argmax(dots)
        # only the normals within the neighbour angle get votes, the votes of each voxel have
        # Euclidean norm |g|, and every voxel votes the same
        np.testing.assert_array_equal(hist > 1e-9, dots > neighbour_dot(normals))
        np.testing.assert_allclose(np.linalg.norm(hist), v.size * np.linalg.norm(g), rtol=1e-10)
        half = hog3d_histograms(v, polyhedron=polyhedron, half=True, grid=(1, 1, 1),
                                normalize=None)[0, 0, 0]
        assert np.argmax(half) == np.argmax(np.abs(golden_normals(polyhedron, True) @ g))

    @pytest.mark.parametrize("axis", [0, 1, 2])
    def test_axis_gradients_in_every_cell(self, axis):
        g = np.zeros(3)
        g[axis] = 2.0
        hist = hog3d_histograms(linear_volume(g, (8, 16, 16)), grid=(2, 2, 2), normalize="l1")
        best = np.argmax(golden_normals("icosahedron") @ g)
        assert np.all(np.argmax(hist, axis=-1) == best)

    def test_constant_volume_gives_zero_histograms(self):
        for normalize in ("l2", "l2-hys", "l1", None):
            h = hog3d_histograms(np.full((4, 8, 8), 7, np.uint8), grid=(2, 2, 2),
                                 normalize=normalize)
            assert h.shape == (2, 2, 2, 20) and not h.any()


class TestValidation:
    @pytest.mark.parametrize("volume, kwargs, match", [
        (np.zeros((8, 8)), {}, "3D array"),
        (np.zeros((2, 8, 8, 3)), {}, "3D array"),
        (np.zeros((1, 8, 8)), {"grid": (1, 1, 1)}, "at least 2"),
        (np.zeros((4, 1, 8)), {"grid": (1, 1, 1)}, "at least 2x2"),
        (np.full((4, 8, 8), np.nan), {}, "NaN or infinite"),
        (np.where(np.eye(8)[None] > 0, np.inf, 0.0).repeat(4, 0), {}, "NaN or infinite"),
        (np.zeros((4, 8, 8)), {"grid": (5, 1, 1)}, "5 blocks along t .* at most 4"),
        (np.zeros((4, 8, 8)), {"grid": (1, 9, 1)}, "at most 8"),
        (np.zeros((4, 8, 8)), {"grid": (0, 1, 1)}, "positive integers"),
        (np.zeros((4, 8, 8)), {"grid": (1, 1)}, "positive integers"),
        (np.zeros((4, 8, 8)), {"polyhedron": "cube"}, "icosahedron, dodecahedron"),
        (np.zeros((4, 8, 8)), {"sigma": -1.0}, "sigma must be .* >= 0"),
        (np.zeros((4, 8, 8)), {"normalize": "l3"}, "'l2', 'l2-hys', 'l1' or None"),
    ])
    def test_bad_input_raises_value_error(self, volume, kwargs, match):
        kwargs = {"grid": (1, 2, 2), **kwargs}
        with pytest.raises(ValueError, match=match):
            hog3d_histograms(volume, **kwargs)


@st.composite
def volumes_and_grids(draw):
    shape = tuple(draw(st.integers(2, 9)) for _ in range(3))
    grid = tuple(draw(st.integers(1, n)) for n in shape)
    dtype = draw(st.sampled_from([np.uint8, np.int16, np.float32, np.float64]))
    seed = draw(st.integers(0, 2**16))
    v = np.random.default_rng(seed).integers(0, 256, size=shape).astype(dtype)
    if draw(st.booleans()):
        v[:, : shape[1] // 2] = 0  # constant regions give empty cells
    return v, grid


class TestProperties:
    @settings(max_examples=30, deadline=None)
    @given(volumes_and_grids(), st.sampled_from(["icosahedron", "dodecahedron"]), st.booleans())
    def test_finite_shape_and_unit_blocks(self, vg, polyhedron, half):
        v, grid = vg
        n_bins = {"icosahedron": 20, "dodecahedron": 12}[polyhedron] // (2 if half else 1)
        raw = hog3d_histograms(v, polyhedron=polyhedron, half=half, grid=grid, normalize=None)
        assert raw.shape == grid + (n_bins,) and np.all(np.isfinite(raw)) and np.all(raw >= 0)
        empty = raw.sum(axis=-1) == 0
        l1 = hog3d_histograms(v, polyhedron=polyhedron, half=half, grid=grid, normalize="l1")
        np.testing.assert_allclose(l1.sum(axis=-1), np.where(empty, 0.0, 1.0), atol=1e-12)
        for method in ("l2", "l2-hys"):
            l2 = hog3d_histograms(v, polyhedron=polyhedron, half=half, grid=grid, normalize=method)
            assert np.all(np.isfinite(l2))
            np.testing.assert_allclose(np.linalg.norm(l2, axis=-1), np.where(empty, 0.0, 1.0),
                                       atol=1e-12)


class TestTransformer:
    def test_rows_names_and_clips(self):
        rng = np.random.default_rng(11)
        vols = [rng.integers(0, 256, size=(8, 32, 32), dtype=np.uint8) for _ in range(3)]
        clip = AlignedClip(vols[0], np.zeros((8, 68, 2)), np.ones(8, bool), 25.0, "memory")
        est = clone(HOG3D(grid=(2, 4, 4), mirror=False))
        X = est.fit([clip] + vols[1:]).transform([clip] + vols[1:])
        assert X.shape == (3, 2 * 4 * 4 * 20)
        for row, v in zip(X, vols):
            np.testing.assert_allclose(row, reference_hog3d(v, grid=(2, 4, 4)).ravel(), atol=1e-10)
        names = est.get_feature_names_out()
        assert len(names) == X.shape[1] == len(set(names))
        # hog3d/r1c0/t1/o05 is segment 1, block row 1, column 0, bin 5 of the (t, y, x, bin) array
        assert names[np.ravel_multi_index((1, 1, 0, 5), (2, 4, 4, 20))] == "hog3d/r1c0/t1/o05"
        assert est.get_params()["grid"] == (2, 4, 4)

    def test_names_follow_the_bin_count(self):
        est = HOG3D(polyhedron="dodecahedron", half=True, grid=(1, 2, 2))
        names = est.fit([np.zeros((4, 8, 8))]).get_feature_names_out()
        assert list(names[:7]) == [f"hog3d/r0c0/t0/o{b}" for b in range(6)] + ["hog3d/r0c1/t0/o0"]


class TestMirror:
    """``mirror=True`` takes the mirror image's histograms from the clip's own (cells reversed
    along x, each bin with its partner's votes) where the cells are symmetric; the oracle is the
    extractor without mirror on the flipped clip."""

    @pytest.mark.parametrize("params", [
        dict(),  # the defaults: icosahedron, 2 x 8 x 8 cells, L2
        dict(half=True, normalize="l2-hys"),
        dict(polyhedron="dodecahedron", sigma=1.0, grid=(1, 3, 3)),
        dict(polyhedron="dodecahedron", half=True, normalize=None, grid=(2, 2, 5)),
        dict(grid=(1, 2, 3), normalize="l1"),  # 40 columns in 3 cells: 13-14-13, symmetric
        dict(grid=(1, 2, 4)),  # 25 columns in 4 cells: 0-6-12-19-25, not symmetric: described
    ])
    @pytest.mark.parametrize("dtype", [np.float64, np.uint8])
    def test_equals_describing_the_mirror_image(self, params, dtype):
        from handcrafted_dfer.features._validation import block_edges, mirror_symmetric

        rng = np.random.default_rng(5)
        width = 25 if params.get("grid") == (1, 2, 4) else 40
        volume = (rng.random((8, 36, width)) * 255).astype(dtype)
        est = HOG3D(**params)
        grid = est.get_params()["grid"]
        assert mirror_symmetric(block_edges(width, grid[2]), width) == (width == 40)
        expected = mirror_oracle(est, volume)
        np.testing.assert_allclose(est.fit([volume]).transform([volume]), expected,
                                   rtol=1e-12, atol=1e-14)

    def test_partners_are_the_mirrored_normals(self):
        """Independent of the kernel: each partner's normal is the normal with x negated."""
        from handcrafted_dfer.features.hog3d import _mirror_bins

        for polyhedron, half in itertools.product(("icosahedron", "dodecahedron"), (False, True)):
            normals = golden_normals(polyhedron, half=half)
            partner = _mirror_bins(normals, half)
            mirrored = normals * [1, 1, -1]
            for k, j in enumerate(partner):
                assert (np.allclose(normals[j], mirrored[k])
                        or (half and np.allclose(normals[j], -mirrored[k])))
            assert sorted(partner) == list(range(len(normals)))
