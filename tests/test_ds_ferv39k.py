"""FERV39k loader on small fake trees in the real layout (tiny JPEG frame folders)."""

from __future__ import annotations

import pathlib
import shutil

import cv2
import numpy as np
import pytest

from handcrafted_dfer.datasets import load_dataset
from handcrafted_dfer.datasets.ferv39k import load_ferv39k
from handcrafted_dfer.errors import DatasetLayoutError, LabelFileError

GUIDE_ORDER = ["Happy", "Sad", "Neutral", "Angry", "Surprise", "Disgust", "Fear"]
# the canonical vocabulary's names for them
CANONICAL = {"Happy": "happiness", "Sad": "sadness", "Neutral": "neutral", "Angry": "anger",
             "Surprise": "surprise", "Disgust": "disgust", "Fear": "fear"}
TRAIN = ["Action/Happy/0267", "Action/Fear/0003", "Daily/Sad/0001", "Daily/Happy/0100",
         "Crime/Angry/0042"]
TEST = ["Action/Happy/0301", "Daily/Sad/0002", "Crime/Fear/0007"]
EXTRA_ON_DISK = ["Daily/Sad/0999"]  # in no split file


def build_ferv39k(root: pathlib.Path) -> pathlib.Path:
    base = root
    for clip in TRAIN + TEST + EXTRA_ON_DISK:
        folder = base / "2_ClipsforFaceCrop" / clip
        folder.mkdir(parents=True)
        for k in (1, 2):
            assert cv2.imwrite(str(folder / f"{k}.jpg"), np.full((4, 4), k, np.uint8))
    setups = base / "4_setups/All_scenes"
    setups.mkdir(parents=True)
    for name, clips in (("train_All.csv", TRAIN), ("test_All.csv", TEST)):
        (setups / name).write_text("".join(f"{c} {c.split('/')[1]}\n" for c in clips))
    return root


def test_clips_labels_scenes_and_split(tmp_path):
    ds = load_ferv39k(build_ferv39k(tmp_path))
    ids = sorted(TRAIN + TEST)
    assert sorted(c.id for c in ds.clips) == ids
    assert all(c.label == CANONICAL[c.id.split("/")[1]] for c in ds.clips)
    assert all(c.extra["scene"] == c.id.split("/")[0] for c in ds.clips)
    assert ds.labels == tuple(CANONICAL[c] for c in GUIDE_ORDER
                              if c in {i.split("/")[1] for i in ids})
    assert all(ds.labels[c.label_index] == c.label for c in ds.clips)
    assert all(pathlib.Path(c.path).is_dir() and c.path.endswith(c.id) for c in ds.clips)
    assert all(c.subject is None for c in ds.clips)
    [(train, test)] = ds.official_folds
    assert sorted(ds.clips[j].id for j in train) == sorted(TRAIN)
    assert sorted(ds.clips[j].id for j in test) == sorted(TEST)


def test_namesake_wrapper_via_load_dataset(tmp_path):
    # FERV39k/2_ClipsforFaceCrop/2_ClipsforFaceCrop/... : the archive unpacked into its namesake
    root = build_ferv39k(tmp_path)
    crops = root / "2_ClipsforFaceCrop"
    crops.rename(root / "tmp")
    crops.mkdir()
    (root / "tmp").rename(crops / "2_ClipsforFaceCrop")
    ds = load_dataset("ferv39k", root)
    assert sorted(c.id for c in ds.clips) == sorted(TRAIN + TEST)


def test_clip_missing_from_disk(tmp_path):
    root = build_ferv39k(tmp_path)
    shutil.rmtree(root / "2_ClipsforFaceCrop/Crime")
    with pytest.raises(LabelFileError, match="'Crime/Angry/0042'") as info:
        load_ferv39k(root)
    assert info.value.path.endswith("train_All.csv")


@pytest.mark.parametrize("line, message", [("Action/Happy/0267 Joyful", "unknown label"),
                                           ("Action/Happy/0267", "expected"),
                                           ("Happy/0267 Happy", "expected")])
def test_malformed_split_lines(tmp_path, line, message):
    root = build_ferv39k(tmp_path)
    path = root / "4_setups/All_scenes/test_All.csv"
    path.write_text(line + "\n")
    with pytest.raises(LabelFileError, match=message) as info:
        load_ferv39k(root)
    assert info.value.path == str(path)


def test_missing_split_file_and_folders(tmp_path):
    root = build_ferv39k(tmp_path)
    (root / "4_setups/All_scenes/test_All.csv").unlink()
    with pytest.raises(LabelFileError, match="train_All.csv"):
        load_ferv39k(root)
    shutil.rmtree(root / "4_setups")
    with pytest.raises(DatasetLayoutError, match="'4_setups/All_scenes/'"):
        load_ferv39k(root)
    shutil.rmtree(root / "2_ClipsforFaceCrop")
    with pytest.raises(DatasetLayoutError, match="'2_ClipsforFaceCrop/'.*is empty"):
        load_ferv39k(root)
