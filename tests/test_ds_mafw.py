"""MAFW loader on small fake trees in the real layout (a few mp4s, tiny frame folders)."""

from __future__ import annotations

import pathlib
import shutil

import cv2
import numpy as np
import pytest

from handcrafted_dfer.datasets import load_dataset
from handcrafted_dfer.datasets.mafw import load_mafw
from handcrafted_dfer.errors import DatasetLayoutError, LabelFileError

GUIDE_ORDER = ["anger", "disgust", "fear", "happiness", "neutral", "sadness", "surprise",
               "contempt", "anxiety", "helplessness", "disappointment"]
# clip number -> label as written in the split files (mixed case on purpose)
WRITTEN = {1: "anger", 2: "Helplessness", 3: "HAPPINESS", 4: "contempt", 5: "anger",
           6: "disappointment", 7: "Neutral", 8: "anxiety", 9: "fear", 10: "happiness"}
SPLITS = "Train & Test Set/single/no_caption"


def build_mafw(root: pathlib.Path, *, video_writer=None, frames=True, data_parent="data"):
    base = root / data_parent if data_parent else root
    for i in WRITTEN:
        if video_writer is not None:
            (base / "clips").mkdir(parents=True, exist_ok=True)
            video_writer(base / "clips" / f"{i:05d}.mp4",
                         [np.full((16, 16), 30 * k, np.uint8) for k in range(3)])
        if frames:
            folder = base / "frames" / f"{i:05d}"
            folder.mkdir(parents=True)
            for k in range(2):
                assert cv2.imwrite(str(folder / f"{k:04d}.png"), np.full((4, 4), k, np.uint8))
    for k in range(1, 6):
        folder = root / SPLITS / f"set_{k}"
        folder.mkdir(parents=True)
        for side in ("train", "test"):
            lines = [f"{i:05d}.mp4 {WRITTEN[i]}" for i in WRITTEN
                     if ((i - 1) % 5 + 1 == k) == (side == "test")]
            (folder / f"{side}.txt").write_text("\n".join(lines) + "\n")
    return root


def check_against_fixture(ds):
    assert [c.id for c in ds.clips] == [f"{i:05d}" for i in WRITTEN]
    assert [c.label for c in ds.clips] == [WRITTEN[i].lower() for i in WRITTEN]
    present = {v.lower() for v in WRITTEN.values()}
    assert ds.labels == tuple(c for c in GUIDE_ORDER if c in present)
    assert all(ds.labels[c.label_index] == c.label for c in ds.clips)
    assert all(c.subject is None for c in ds.clips)
    for k, (train, test) in enumerate(ds.official_folds, 1):
        assert sorted(ds.clips[j].id for j in test) == [f"{i:05d}" for i in (k, k + 5)]
        assert len(train) == len(WRITTEN) - 2 and not set(train) & set(test)


def test_frames_then_clips(tmp_path, video_writer):
    root = build_mafw(tmp_path, video_writer=video_writer)
    frames = load_mafw(root)
    check_against_fixture(frames)
    assert all(pathlib.Path(c.path).parent.name == "frames" for c in frames.clips)
    clips = load_dataset("mafw", root, source="video")
    check_against_fixture(clips)
    assert all(c.path.endswith(f"data/clips/{c.id}.mp4") for c in clips.clips)


def test_clips_only_without_data_folder(tmp_path, video_writer):
    root = build_mafw(tmp_path, video_writer=video_writer, frames=False, data_parent="")
    ds = load_mafw(root)
    check_against_fixture(ds)
    assert all(pathlib.Path(c.path).suffix == ".mp4" for c in ds.clips)


def test_unknown_label(tmp_path):
    root = build_mafw(tmp_path)
    path = root / SPLITS / "set_3/test.txt"
    path.write_text("00003.mp4 joy\n")
    with pytest.raises(LabelFileError, match="unknown label 'joy'") as info:
        load_mafw(root)
    assert info.value.path == str(path)


def test_malformed_line(tmp_path):
    root = build_mafw(tmp_path)
    path = root / SPLITS / "set_1/train.txt"
    path.write_text("00002.mp4\n")
    with pytest.raises(LabelFileError, match="line 1"):
        load_mafw(root)


def test_missing_fold_folder_and_file(tmp_path):
    root = build_mafw(tmp_path)
    (root / SPLITS / "set_4/test.txt").unlink()
    with pytest.raises(LabelFileError, match="train.txt") as info:
        load_mafw(root)
    assert info.value.path == str(root / SPLITS / "set_4/test.txt")
    shutil.rmtree(root / SPLITS / "set_4")
    with pytest.raises(DatasetLayoutError, match="set_5/"):
        load_mafw(root)


def test_missing_split_tree_lists_top_level(tmp_path):
    root = build_mafw(tmp_path)
    shutil.rmtree(root / "Train & Test Set")
    with pytest.raises(DatasetLayoutError) as info:
        load_mafw(root)
    assert "'Train & Test Set/single/no_caption/'" in str(info.value)
    assert "data/" in str(info.value)


def test_clip_not_on_disk(tmp_path):
    root = build_mafw(tmp_path)
    shutil.rmtree(root / "data/frames/00009")
    with pytest.raises(LabelFileError, match="'00009'"):
        load_mafw(root)


def test_clip_on_both_sides_of_a_fold(tmp_path):
    root = build_mafw(tmp_path)
    path = root / SPLITS / "set_2/train.txt"
    path.write_text(path.read_text() + "00002.mp4 helplessness\n")
    with pytest.raises(LabelFileError, match="duplicate clip id '00002'"):
        load_mafw(root)
