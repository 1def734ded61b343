"""Tests of handcrafted_dfer.explain: block names, region naming, permutation importance, plots."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from handcrafted_dfer.clip import AlignedClip
from handcrafted_dfer.explain import (Block, BlockNamer, group_columns, held_out_block_importance,
                                      mean_face, mean_landmarks, parse_feature_name,
                                      plot_block_heatmap, plot_learning_curve, plot_top_blocks,
                                      segment_name)
from handcrafted_dfer.explain.importance import BlockImportance

S = 96  # crop side; a 4 x 4 grid has 24-pixel cells, an 8 x 8 grid 12-pixel cells


def hand_placed_face() -> np.ndarray:
    """68 landmarks placed by hand on a 96 x 96 crop, every group at a chosen place.

    In the 4 x 4 grid (cells of 24 px): brows in row 0 (y = 20), eyes in row 1 (y = 30..38),
    the nose bridge (27-30) at x = 50 in column 2, the mouth in row 2 (y = 54..66) from the
    person's right corner (48, x = 28, column 1) to the left corner (54, x = 68, column 2), and
    the jaw along the crop's sides and bottom (x <= 6 or x >= 90, or y >= 88).
    """
    lm = np.zeros((68, 2))
    # jaw: down the image-left side, along the bottom, up the image-right side
    lm[0:6] = np.c_[np.full(6, 3.0), np.linspace(20, 80, 6)]
    lm[6:11] = np.c_[np.linspace(20, 76, 5), np.full(5, 92.0)]
    lm[11:17] = np.c_[np.full(6, 93.0), np.linspace(80, 20, 6)]
    lm[17:22] = np.c_[np.linspace(26, 44, 5), np.full(5, 20.0)]          # right brow
    lm[22:27] = np.c_[np.linspace(52, 70, 5), np.full(5, 20.0)]          # left brow
    lm[27:31] = np.c_[np.full(4, 50.0), np.linspace(28, 46, 4)]          # nose bridge
    lm[31:36] = np.c_[np.linspace(44, 56, 5), np.full(5, 76.0)]          # nostrils (row 3)
    lm[36:42] = np.c_[np.linspace(28, 44, 6), np.tile([30.0, 38.0], 3)]  # right eye
    lm[42:48] = np.c_[np.linspace(56, 70, 6), np.tile([30.0, 38.0], 3)]  # left eye
    lm[48:60] = np.c_[np.linspace(28, 68, 12), np.tile([54.0, 66.0], 6)]  # outer mouth
    lm[48], lm[54] = (28.0, 60.0), (68.0, 60.0)                           # its corners
    lm[60:68] = np.c_[np.linspace(34, 62, 8), np.tile([58.0, 62.0], 4)]  # inner mouth
    lm[60], lm[64] = (30.0, 60.0), (66.0, 60.0)
    return lm


def names_for(family, plane, rows, cols, segments, bins, kind="b"):
    plane = f"/{plane}" if plane else ""
    return [f"{family}{plane}/r{r}c{c}/t{t}/{kind}{b:02d}" for r in range(rows) for c in range(cols)
            for t in range(segments) for b in range(bins)]


class TestParse:
    def test_three_families(self):
        a = parse_feature_name("lbptop/xy/r2c3/t0/b17")
        assert (a.family, a.plane, a.row, a.col, a.segment, a.bin) == ("lbptop", "xy", 2, 3, 0, 17)
        b = parse_feature_name("hog3d/r1c0/t1/o05")
        assert (b.family, b.plane, b.row, b.col, b.segment, b.bin) == ("hog3d", None, 1, 0, 1, 5)
        c = parse_feature_name("hof/r0c2/t0/o8")
        assert (c.family, c.plane, c.row, c.col, c.segment, c.bin) == ("hof", None, 0, 2, 0, 8)
        assert c.block == Block("hof", None, 0, 2, 0)
        assert str(a.block) == "lbptop/xy/r2c3/t0"

    def test_feature_union_prefix_is_ignored(self):
        assert parse_feature_name("flow__mbhx/r3c1/t2/o3").block == Block("mbhx", None, 3, 1, 2)

    @pytest.mark.parametrize("bad", ["lbptop/xy/r2/t0/b17", "lbptop/zz/r2c3/t0/b17", "hog3d/r1c0/o05",
                                     "", "lbptop/xy/r2c3/t0/x17"])
    def test_malformed_names_raise(self, bad):
        with pytest.raises(ValueError, match="does not follow"):
            parse_feature_name(bad)

    def test_group_columns_puts_every_bin_of_a_block_together(self):
        names = names_for("lbptop", "xy", 2, 2, 1, 3) + names_for("hog3d", None, 1, 2, 2, 4, "o")
        blocks, column_block = group_columns(names)
        assert len(blocks) == 2 * 2 + 2 * 2
        assert np.bincount(column_block).tolist() == [3] * 4 + [4] * 4
        for j, name in enumerate(names):
            assert str(blocks[column_block[j]]) == name.rsplit("/", 1)[0]


@pytest.mark.parametrize("segment, count, expected", [
    (0, 1, "whole clip"), (0, 2, "onset half"), (1, 2, "apex half"), (0, 3, "onset segment"),
    (1, 3, "middle segment"), (2, 3, "apex segment"), (2, 4, "segment 3 of 4")])
def test_segment_names(segment, count, expected):
    assert segment_name(segment, count) == expected


def test_segment_out_of_range_raises():
    with pytest.raises(ValueError, match="segment"):
        segment_name(3, 3)


class TestRegions:
    @pytest.fixture
    def namer(self):
        names = names_for("lbptop", "xt", 4, 4, 3, 2) + names_for("hog3d", None, 8, 8, 2, 2, "o")
        return BlockNamer.from_feature_names(names, landmarks=hand_placed_face(), size=S)

    def test_grids_are_read_from_the_names(self, namer):
        assert namer.grids == {"lbptop": (4, 4, 3), "hog3d": (8, 8, 2)}

    def test_cell_bounds_split_the_crop_evenly(self, namer):
        assert namer.cell(Block("lbptop", "xt", 2, 1, 0)) == (48, 72, 24, 48)
        assert namer.cell(Block("hog3d", None, 7, 0, 0)) == (84, 96, 0, 12)

    def test_mouth_only_block_is_a_mouth_block(self, namer):
        block = Block("lbptop", "xt", 2, 1, 2)
        inside = namer.landmarks_in(block)
        # independent oracle: the points placed in x in [24, 48), y in [48, 72)
        lm = hand_placed_face()
        expected = np.flatnonzero((lm[:, 0] >= 24) & (lm[:, 0] < 48) & (lm[:, 1] >= 48) & (lm[:, 1] < 72))
        assert inside.tolist() == expected.tolist()
        assert set(inside) <= set(range(48, 68)) and 48 in inside
        assert namer.region(block) == "mouth-corner block (right)"
        assert namer.describe(block) == "mouth-corner block (right), XT plane, apex segment"
        assert namer.region(Block("lbptop", "xt", 2, 2, 0)) == "mouth-corner block (left)"

    def test_whole_mouth_in_one_cell_is_a_mouth_block(self):
        lm = hand_placed_face()
        namer = BlockNamer(landmarks=lm, size=S, grids={"hof": (4, 1, 1)})  # row 2 spans the crop
        lm_row = np.flatnonzero((lm[:, 1] >= 48) & (lm[:, 1] < 72))
        assert {48, 54} <= set(lm_row)
        region = namer.region(Block("hof", None, 2, 0, 0))
        # row 2 holds 20 mouth points and 3 jaw points: mouth first, jaw second
        assert region == "mouth + jaw block (centre)"

    def test_two_groups_in_a_cell_are_both_named(self, namer):
        # cell (1, 2): x in [48, 72), y in [24, 48) holds the left eye (6) and the nose bridge (4)
        block = Block("lbptop", "xt", 1, 2, 0)
        assert sorted(namer.landmarks_in(block)) == [27, 28, 29, 30, 42, 43, 44, 45, 46, 47]
        assert namer.region(block) == "left eye + nose block (left)"
        assert namer.region(Block("lbptop", "xt", 1, 1, 1)) == "right eye block (right)"
        assert namer.region(Block("lbptop", "xt", 0, 1, 1)) == "right brow block (right)"

    def test_blocks_without_landmarks_are_named_by_position(self, namer):
        assert namer.region(Block("hog3d", None, 0, 3, 0)) == "forehead block (right)"
        fine = BlockNamer(landmarks=hand_placed_face(), size=S, grids={"hof": (16, 16, 1)})
        # cell (15, 0) is x in [0, 6), y in [90, 96): below the chin (y = 92) and left of the jaw
        assert fine.region(Block("hof", None, 15, 0, 0)) == "off-face block (right)"
        assert namer.describe(Block("hog3d", None, 0, 3, 1)) == "forehead block (right), 3D-HOG, apex half"

    def test_unknown_family_or_outside_grid_raises(self, namer):
        with pytest.raises(ValueError, match="no grid"):
            namer.region(Block("hof", None, 0, 0, 0))
        with pytest.raises(ValueError, match="outside"):
            namer.region(Block("lbptop", "xt", 4, 0, 0))


def test_mean_landmarks_uses_only_valid_frames():
    rng = np.random.default_rng(0)
    clips, valid_rows = [], []
    for k in range(2):
        lm = rng.uniform(0, 96, size=(4, 68, 2)).astype(np.float32)
        valid = np.array([True, k == 0, True, False])
        lm[~valid] = 1e6  # an invalid frame's landmarks must not count
        clips.append(AlignedClip(np.zeros((4, 8, 8), np.uint8), lm, valid, 25.0, f"c{k}"))
        valid_rows.append(lm[valid])
    expected = np.concatenate(valid_rows).astype(np.float64).mean(axis=0)
    np.testing.assert_allclose(mean_landmarks(clips + [None]), expected, rtol=1e-6)
    with pytest.raises(ValueError):
        mean_landmarks([None])


def one_informative_block_problem(seed):
    """Four blocks of 5 bins; only block lbptop/yt/r1c0/t1 carries the label."""
    rng = np.random.default_rng(seed)
    names = names_for("lbptop", "yt", 2, 1, 2, 5)
    n = 240
    y = rng.integers(0, 3, n)
    X = rng.normal(size=(n, len(names)))
    informative = [j for j, name in enumerate(names) if name.startswith("lbptop/yt/r1c0/t1/")]
    X[:, informative] += 2.5 * y[:, None]  # class shifts every bin of the block
    return X, y, names


def test_permutation_importance_ranks_the_informative_block_first():
    X, y, names = one_informative_block_problem(1)
    half = len(y) // 2
    folds = []
    for train, test in ((slice(0, half), slice(half, None)), (slice(half, None), slice(0, half))):
        model = LogisticRegression(max_iter=500).fit(X[train], y[train])
        folds.append((model, X[test], y[test]))
    table = held_out_block_importance(folds, feature_names=names, n_repeats=4, random_state=0)
    assert [str(t.block) for t in table][0] == "lbptop/yt/r1c0/t1"
    assert table[0].n_columns == 5
    # chance on 3 balanced classes is 1/3; the model is near perfect, so the drop is large
    assert table[0].accuracy_drop > 0.4 and table[0].uar_drop > 0.4
    assert all(abs(t.accuracy_drop) < 0.08 for t in table[1:])
    assert len(table) == 4
    again = held_out_block_importance(folds, feature_names=names, n_repeats=4, random_state=0)
    assert [t.to_dict() for t in again] == [t.to_dict() for t in table]


def test_permutation_importance_rejects_mismatched_names():
    X, y, names = one_informative_block_problem(2)
    model = LogisticRegression(max_iter=200).fit(X, y)
    with pytest.raises(ValueError, match="one column per feature name"):
        held_out_block_importance([(model, X, y)], feature_names=names[:-1])


def test_plots_write_readable_pngs(tmp_path):
    names = names_for("lbptop", "xy", 4, 4, 2, 2)
    namer = BlockNamer.from_feature_names(names, landmarks=hand_placed_face(), size=S)
    blocks, _ = group_columns(names)
    table = [BlockImportance(b, 0.3 / (i + 1), 0.01, 0.2 / (i + 1), 0.01, 2) for i, b in enumerate(blocks)]
    frames = np.full((3, S, S), 120, np.uint8)
    clip = AlignedClip(frames, np.repeat(hand_placed_face()[None], 3, 0), np.ones(3, bool), 25.0, "x")
    face = mean_face([clip, None])
    np.testing.assert_allclose(face, 120.0)
    paths = [
        plot_top_blocks(table, namer=namer, path=tmp_path / "top.png", top=5),
        plot_block_heatmap(table, namer=namer, face=face, path=tmp_path / "heat.png"),
        plot_learning_curve({"a": [{"fraction": f, "accuracy": f / 2, "accuracy_std": 0.05, "uar": f / 3}
                                   for f in (0.25, 0.5, 1.0)]}, path=tmp_path / "curve.png"),
    ]
    for path in paths:
        image = cv2.imread(str(path))
        assert image is not None and image.shape[0] > 100 and image.shape[1] > 100
    with pytest.raises(ValueError, match="shape"):
        plot_block_heatmap(table, namer=namer, face=face[:10], path=tmp_path / "bad.png")
