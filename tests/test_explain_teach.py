"""Tests of handcrafted_dfer.explain.teach: the numbers the teaching figures write out."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from matplotlib.figure import Figure
from scipy.ndimage import gaussian_filter
from skimage.feature import local_binary_pattern

from handcrafted_dfer.clip import AlignedClip
from handcrafted_dfer.explain import save_figure
from handcrafted_dfer.explain.teach import (flow_pair, hog3d_cell, hog3d_vote, lbp_code_at,
                                            motion_slices, plot_block_histograms, plot_flow,
                                            plot_hog3d_cell, plot_lbp_code, plot_motion_slices)
from handcrafted_dfer.features.hog3d import polyhedron_normals


def noise_image(shape, seed=0):
    return np.random.default_rng(seed).integers(0, 256, shape).astype(np.uint8)


def smooth_texture(shape, seed=0, sigma=2.0):
    """Blurred noise stretched to 0..255 (texture optical flow can follow)."""
    t = gaussian_filter(np.random.default_rng(seed).normal(size=shape), sigma)
    return np.clip(128 + 100 * t / t.std(), 0, 255).astype(np.uint8)


class TestLBPCode:
    @pytest.mark.parametrize("P, radius", [(8, 1.0), (8, 2.5), (16, 2.0), (4, 1.0), (12, 3.0)])
    def test_code_and_bins_equal_scikit_image(self, P, radius):
        image = noise_image((30, 30), seed=P)
        image[5:15, 5:15] = 77  # ties: flat codes
        raw = local_binary_pattern(image, P, radius, method="default")
        mapped = {m: local_binary_pattern(image, P, radius, method=m)
                  for m in ("nri_uniform", "uniform")}
        m = int(np.ceil(radius))
        for row, col in [(m, m), (15, 15), (29 - m, 29 - m), (10, 12), (7, 22), (14, 5)]:
            lbp = lbp_code_at(image, row=row, col=col, P=P, radius=radius)
            assert lbp.code == int(raw[row, col])
            assert lbp.bin == int(mapped["nri_uniform"][row, col])
            assert int(lbp.bit_string, 2) == lbp.code
            assert lbp_code_at(image, row=row, col=col, P=P, radius=radius,
                               mapping="uniform").bin == int(mapped["uniform"][row, col])
            np.testing.assert_array_equal(lbp.bits, (lbp.samples >= lbp.centre).astype(int))

    def test_pixel_too_close_to_the_border_raises(self):
        with pytest.raises(ValueError, match="at least 2 pixels inside"):
            lbp_code_at(noise_image((20, 20)), row=1, col=10, radius=2)
        with pytest.raises(ValueError, match="uint8"):
            lbp_code_at(np.zeros((20, 20)), row=5, col=5)


class TestHOG3D:
    @pytest.mark.parametrize("half", [False, True])
    @pytest.mark.parametrize("polyhedron", ["icosahedron", "dodecahedron"])
    def test_vote_goes_to_the_closest_face(self, polyhedron, half):
        normals = polyhedron_normals(polyhedron, half=half)
        for g in np.random.default_rng(1).normal(size=(50, 3)) * 20:
            vote = hog3d_vote(g, polyhedron=polyhedron, half=half)
            dots = normals @ g
            assert np.argmax(vote) == np.argmax(np.abs(dots) if half else dots)
            assert np.linalg.norm(vote) == pytest.approx(np.linalg.norm(g))
            assert vote.min() >= 0
        np.testing.assert_array_equal(hog3d_vote((0, 0, 0)), np.zeros(20))

    def test_cell_of_a_ramp_is_its_voxels_times_one_vote(self):
        # a linear ramp has the same gradient (2, 3, 5) everywhere, faces included
        t, y, x = np.mgrid[0:8, 0:24, 0:24]
        volume = (10 + 2 * t + 3 * y + 5 * x).astype(np.uint8)
        info = hog3d_cell(volume, cell=(1, 0, 1), grid=(2, 2, 2))
        np.testing.assert_allclose(info.gradient, [2, 3, 5])
        assert info.bounds == ((4, 8), (0, 12), (12, 24))
        assert all(a <= v < b for v, (a, b) in zip(info.voxel, info.bounds))
        n_voxels = 4 * 12 * 12
        np.testing.assert_allclose(info.histogram, n_voxels * hog3d_vote((2, 3, 5)), rtol=1e-9)
        winner = info.labels[int(np.argmax(info.vote))]
        assert winner.startswith("right")  # the largest component, 5, is along +x

    def test_default_cell_is_the_one_with_most_gradient(self):
        volume = np.full((6, 20, 20), 100, np.uint8)
        volume[:, 12:, 12:] = noise_image((6, 8, 8))
        assert hog3d_cell(volume, grid=(1, 2, 2)).cell == (0, 1, 1)
        with pytest.raises(ValueError, match="inside the grid"):
            hog3d_cell(volume, cell=(0, 2, 0), grid=(1, 2, 2))


class TestFlowAndSlices:
    @pytest.mark.parametrize("shift, direction", [((0, 2), "right"), ((2, 0), "down"),
                                                  ((0, -2), "left"), ((-2, 0), "up")])
    def test_dominant_hof_bin_names_the_motion(self, shift, direction):
        texture = smooth_texture((80, 80))
        second = np.roll(texture, shift, axis=(0, 1))
        info = flow_pair(np.stack([texture, second])[:, 8:-8, 8:-8])
        assert info.hof.sum() == pytest.approx(1.0)
        assert info.hof_labels[int(np.argmax(info.hof[:-1]))] == direction
        assert info.flow.shape == (64, 64, 2)
        assert info.hof[:-1].max() > 0.5  # most pixels move that way

    def test_slices_are_the_rows_and_columns_through_time(self):
        volume = noise_image((5, 12, 14))
        xt, yt = motion_slices(volume, row=3, col=7)
        np.testing.assert_array_equal(xt, volume[:, 3, :])
        np.testing.assert_array_equal(yt, volume[:, :, 7])
        with pytest.raises(ValueError, match="must lie"):
            motion_slices(volume, row=12, col=0)

    def test_flow_pair_checks_the_frame(self):
        with pytest.raises(ValueError, match="frame must be"):
            flow_pair(noise_image((3, 20, 20)), frame=2)


def face_like_clip(frames=12, size=64):
    """A noise clip whose 'mouth' (lower middle) moves to the right, with plausible landmarks."""
    texture = smooth_texture((size, size + frames), seed=3)
    volume = np.stack([texture[:, :size]] * frames)
    for t in range(frames):
        volume[t, 40:56, 20:44] = texture[40:56, t:t + 24]
    landmarks = np.zeros((frames, 68, 2), np.float32)
    landmarks[:, :, 0] = np.linspace(10, 54, 68)
    landmarks[:, :, 1] = np.linspace(10, 54, 68)
    landmarks[:, 48:68] = (32, 48)
    return AlignedClip(volume, landmarks, np.ones(frames, bool), 25.0, "face-like")


@pytest.mark.parametrize("draw", [
    lambda c: plot_lbp_code(c.frames[0], row=20, col=30),
    lambda c: plot_motion_slices(c),
    lambda c: plot_block_histograms(c, grid=(2, 2, 2)),
    lambda c: plot_hog3d_cell(c),
    lambda c: plot_flow(c, frame=3),
], ids=["lbp", "slices", "block-histograms", "hog3d", "flow"])
def test_teaching_figures_are_written(draw, tmp_path):
    fig = draw(face_like_clip())
    assert isinstance(fig, Figure)
    path = save_figure(fig, tmp_path / "figure.png")
    image = cv2.imread(str(path))
    assert image is not None and image.shape[0] > 200 and image.shape[1] > 300
    assert image.std() > 10  # not a blank canvas


def test_slice_lines_default_to_the_mouth():
    fig = plot_motion_slices(face_like_clip())
    labels = {line.get_label() for line in fig.axes[0].get_lines()}
    assert labels == {"XT: row 48", "YT: column 32"}  # through the mean mouth position
