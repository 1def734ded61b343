"""Tests of handcrafted_dfer.explain.bins: what LBP, 3D-HOG and flow bins are named."""

from __future__ import annotations

import math

import numpy as np
import pytest
from skimage.feature import local_binary_pattern

from handcrafted_dfer.explain.bins import (bin_labels, compass, flow_bin_labels, hog3d_bin_labels,
                                           lbp_bins, lbp_pattern)
from handcrafted_dfer.explain.teach import hog3d_vote

#: The documented naming rule for P = 8: number of ones -> category.
EXPECTED_P8 = {0: "spot", 1: "line end", 2: "corner", 3: "corner", 4: "edge", 5: "corner",
               6: "corner", 7: "line end", 8: "flat"}


def arc_code(start: int, n: int, P: int) -> int:
    """The code whose ones are the ``n`` neighbours ``start, start + 1, ...`` (mod P)."""
    return sum(1 << ((start + k) % P) for k in range(n))


def image_angle(rows, cols) -> float:
    """Angle of a vector in image coordinates (clockwise on screen from right), degrees."""
    return math.degrees(math.atan2(rows, cols)) % 360.0


def angle_gap(a, b) -> float:
    return abs((a - b + 180.0) % 360.0 - 180.0)


class TestLBPNames:
    @pytest.mark.parametrize("n", range(9))
    @pytest.mark.parametrize("start", range(8))
    def test_arcs_of_ones_are_named_by_their_length(self, n, start):
        category, n_ones, angle = lbp_pattern(arc_code(start, n, 8), P=8)
        assert category == EXPECTED_P8[n] and n_ones == n
        if 0 < n < 8:
            # independent geometry: the sum of the unit vectors to the arc's neighbours points
            # at its middle (neighbour p at row -sin, column cos of 2 pi p / P)
            p = (start + np.arange(n)) % 8
            rows = -np.sin(2 * np.pi * p / 8).sum()
            cols = np.cos(2 * np.pi * p / 8).sum()
            assert angle_gap(angle, image_angle(rows, cols)) < 1e-6
        else:
            assert angle is None

    @pytest.mark.parametrize("code", [0b01010101, 0b00100101, 0b11011010])
    def test_several_runs_are_non_uniform(self, code):
        assert lbp_pattern(code, P=8) == ("non-uniform", None, None)

    def test_other_circle_sizes_follow_the_same_rule(self):
        assert lbp_pattern(arc_code(0, 8, 16), P=16)[0] == "edge"
        assert lbp_pattern(arc_code(3, 1, 16), P=16)[0] == "line end"
        assert lbp_pattern(arc_code(3, 15, 16), P=16)[0] == "line end"
        assert lbp_pattern(arc_code(3, 5, 16), P=16)[0] == "corner"
        assert lbp_pattern(arc_code(1, 2, 4), P=4)[0] == "edge"

    def test_bins_agree_with_scikit_image_pixel_by_pixel(self):
        # the oracle: scikit-image's raw code and its nri_uniform bin at every pixel
        image = np.random.default_rng(0).integers(0, 256, (40, 40)).astype(np.uint8)
        image[10:20, 10:20] = 90  # flat patches give all-ones codes too
        raw = local_binary_pattern(image, 8, 1, method="default").astype(int)
        nri = local_binary_pattern(image, 8, 1, method="nri_uniform").astype(int)
        riu2 = local_binary_pattern(image, 8, 1, method="uniform").astype(int)
        bins, rot_inv = lbp_bins(P=8), lbp_bins(P=8, mapping="uniform")
        assert len(bins) == 59 and len(rot_inv) == 10
        for code, b, r in zip(raw.ravel(), nri.ravel(), riu2.ravel()):
            category, n_ones, angle = lbp_pattern(int(code), P=8)
            assert (bins[b].category, bins[b].n_ones, bins[b].brighter_toward) == (
                category, n_ones, angle)
            assert (rot_inv[r].category, rot_inv[r].n_ones) == (category, n_ones)
        assert {b.category for b in bins} == {"spot", "line end", "corner", "edge", "flat",
                                              "non-uniform"}

    @pytest.mark.parametrize("direction", [10, 55, 100, 145, 190, 235, 280, 325])
    def test_a_ramp_through_the_pixel_is_an_edge_brighter_uphill(self, direction):
        # brightness rises along `direction` (image coordinates, clockwise from right)
        theta = math.radians(direction)
        yy, xx = np.mgrid[0:9, 0:9] - 4.0
        image = np.rint(128 + 15 * (np.cos(theta) * xx + np.sin(theta) * yy)).astype(np.uint8)
        b = int(local_binary_pattern(image, 8, 1, method="nri_uniform")[4, 4])
        named = lbp_bins()[b]
        assert named.category == "edge"
        assert angle_gap(named.brighter_toward, direction) <= 22.5 + 1e-9
        assert named.label.startswith("edge brighter")

    def test_constructed_patches(self):
        def bin_of(patch):
            return lbp_bins()[int(local_binary_pattern(patch, 8, 1, method="nri_uniform")[2, 2])]

        flat = np.full((5, 5), 100, np.uint8)
        assert bin_of(flat).category == "flat"
        spot = flat.copy()
        spot[2, 2] = 200  # centre brighter than every neighbour
        assert bin_of(spot).category == "spot"
        line = flat.copy()
        line[2, 2:] = 200  # a bright line that ends at the centre and runs to the right
        assert bin_of(line).label == "bright line end right"
        corner = flat.copy()
        corner[:3, 2:] = 200  # the centre is the corner of a bright up-right quadrant
        assert bin_of(corner).label == "bright corner up-right"
        notch = flat.copy()
        notch[1, 3] = 0  # one dark pixel up-right of the centre
        assert bin_of(notch).label == "dark line end up-right"

    def test_bad_parameters_raise(self):
        with pytest.raises(ValueError, match="P must be"):
            lbp_bins(P=0)
        with pytest.raises(ValueError, match="mapping"):
            lbp_bins(mapping="ror")
        with pytest.raises(ValueError, match="code must be"):
            lbp_pattern(256, P=8)


class TestDirections:
    def test_compass(self):
        assert [compass(a) for a in (0, 45, 90, 270, 315, 360)] == [
            "right", "down-right", "down", "up", "up-right", "right"]
        assert compass(292.5) == "up/up-right"
        assert compass(10) == "10°"

    def test_flow_bins_follow_image_coordinates(self):
        assert flow_bin_labels(8) == ["right", "down-right", "down", "down-left", "left",
                                      "up-left", "up", "up-right", "no motion"]
        assert flow_bin_labels(4, no_motion=False) == ["right", "down", "left", "up"]

    @pytest.mark.parametrize("gradient, word", [((0, 0, 1), "right"), ((0, 0, -1), "left"),
                                                ((0, 1, 0), "down"), ((0, -1, 0), "up"),
                                                ((1, 0, 0), "brightening"),
                                                ((-1, 0, 0), "darkening")])
    @pytest.mark.parametrize("polyhedron", ["icosahedron", "dodecahedron"])
    def test_hog3d_bin_that_wins_names_the_gradient(self, gradient, word, polyhedron):
        labels = hog3d_bin_labels(polyhedron=polyhedron)
        assert len(set(labels)) == len(labels)
        winner = int(np.argmax(hog3d_vote(gradient, polyhedron=polyhedron)))
        assert labels[winner].split(", ")[0] == word  # the largest component is named first

    def test_bin_labels_dispatch_and_checks(self):
        assert len(bin_labels("lbptop", "xt", 59)) == 59
        assert bin_labels("hog3d", None, 10) == hog3d_bin_labels(half=True)
        assert bin_labels("hog3d", None, 12) == hog3d_bin_labels(polyhedron="dodecahedron")
        assert bin_labels("hof", None, 9)[-1] == "no motion"
        assert bin_labels("mbhy", None, 8)[2] == "down"
        with pytest.raises(ValueError, match="pass the P and mapping"):
            bin_labels("lbptop", "xy", 10)
        with pytest.raises(ValueError, match="3D-HOG"):
            bin_labels("hog3d", None, 7)
        with pytest.raises(ValueError, match="unknown feature family"):
            bin_labels("sift", None, 8)
