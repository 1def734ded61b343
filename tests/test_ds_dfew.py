"""DFEW loader on small fake trees in the real layout (tiny JPEG frames, a few mp4s)."""

from __future__ import annotations

import pathlib
import shutil

import cv2
import numpy as np
import pytest

from handcrafted_dfer.datasets import load_dataset
from handcrafted_dfer.datasets.dfew import load_dfew
from handcrafted_dfer.datasets.protocols import get_folds
from handcrafted_dfer.errors import DatasetLayoutError, DferError, LabelFileError

# GUIDE §5 codes 1..7 (happy, sad, neutral, angry, surprise, disgust, fear), canonical names
CODES = ["happiness", "sadness", "neutral", "anger", "surprise", "disgust", "fear"]
N_LABELLED = 15
LABEL = {i: 1 + (i * 3) % 7 for i in range(1, N_LABELLED + 1)}  # clip number -> code
UNLABELLED = [16, 17]  # on disk, in no split file (DFEW's multi-labelled clips)


def fold_of(i: int) -> int:
    """Official test fold (1..5) of clip ``i`` in the fixture."""
    return 1 + (i - 1) % 5


def build_dfew(root: pathlib.Path, *, sources=("frames", "frames16"),
               split_spelling="single-labeled",
               clip_parent="Clip", header=True, video_writer=None) -> pathlib.Path:
    clip_root = root / clip_parent if clip_parent else root
    numbers = [*LABEL, *UNLABELLED]
    folders = {"frames": "clip_224x224", "frames16": "clip_224x224_16f"}
    for source in sources:
        if source == "video":
            (clip_root / "original").mkdir(parents=True, exist_ok=True)
            for i in numbers:
                video_writer(clip_root / "original" / f"{i:05d}.mp4",
                             [np.full((16, 16), 40 * k, np.uint8) for k in range(3)])
            continue
        for i in numbers:
            folder = clip_root / folders[source] / f"{i:05d}"
            folder.mkdir(parents=True)
            for k in (1, 2, 10):
                assert cv2.imwrite(str(folder / f"{k}.jpg"), np.full((4, 4), k, np.uint8))
    for side in ("train", "test"):
        folder = root / "EmoLabel_DataSplit" / f"{side}({split_spelling})"
        folder.mkdir(parents=True)
        for k in range(1, 6):
            rows = ["video_name,label"] if header else []
            rows += [f"{i if i % 2 else f'{i:05d}'},{LABEL[i]}" for i in LABEL
                     if (fold_of(i) == k) == (side == "test")]
            (folder / f"set_{k}.csv").write_text("\n".join(rows) + "\n")
    return root


def check_against_fixture(ds):
    assert [c.id for c in ds.clips] == [f"{i:05d}" for i in LABEL]
    assert [c.label for c in ds.clips] == [CODES[LABEL[i] - 1] for i in LABEL]
    assert ds.labels == tuple(c for c in CODES if c in {CODES[v - 1] for v in LABEL.values()})
    assert all(ds.labels[c.label_index] == c.label for c in ds.clips)
    assert all(c.subject is None for c in ds.clips)
    assert len(ds.official_folds) == 5
    for k, (train, test) in enumerate(ds.official_folds, 1):
        assert {ds.clips[j].id for j in test} == {f"{i:05d}" for i in LABEL if fold_of(i) == k}
        assert {ds.clips[j].id for j in train} == {f"{i:05d}" for i in LABEL if fold_of(i) != k}


def test_frames_preferred(tmp_path):
    ds = load_dfew(build_dfew(tmp_path))
    check_against_fixture(ds)
    assert all(pathlib.Path(c.path).parent.name == "clip_224x224" for c in ds.clips)
    assert all(pathlib.Path(c.path).name == c.id for c in ds.clips)


def test_sixteen_frame_and_video_sources(tmp_path, video_writer):
    root = build_dfew(tmp_path, sources=("frames", "frames16", "video"), video_writer=video_writer)
    ds16 = load_dfew(root, source="frames16")
    check_against_fixture(ds16)
    assert all(pathlib.Path(c.path).parent.name == "clip_224x224_16f" for c in ds16.clips)
    video = load_dataset("dfew", root, source="video")
    check_against_fixture(video)
    assert all(c.path.endswith(f"original/{c.id}.mp4") for c in video.clips)


def test_only_videos_found_by_default(tmp_path, video_writer):
    ds = load_dfew(build_dfew(tmp_path, sources=("video",), video_writer=video_writer))
    check_against_fixture(ds)
    assert all(pathlib.Path(c.path).suffix == ".mp4" for c in ds.clips)


@pytest.mark.parametrize("spelling", ["single_labeled", "single-labeled"])
def test_split_folder_spellings_without_clip_parent_or_header(tmp_path, spelling):
    root = build_dfew(tmp_path, split_spelling=spelling, clip_parent="", header=False)
    check_against_fixture(load_dfew(root))


def test_zip_unpacked_into_namesake(tmp_path):
    root = build_dfew(tmp_path)
    frames = root / "Clip/clip_224x224"
    frames.rename(root / "Clip/tmp")
    frames.mkdir()
    (root / "Clip/tmp").rename(frames / "clip_224x224")
    check_against_fixture(load_dfew(root, source="frames"))


def test_subject_protocols_refused_official_works(tmp_path):
    ds = load_dfew(build_dfew(tmp_path))
    for protocol in ("loso", "kfold", "holdout"):
        with pytest.raises(DferError, match="no subject id"):
            get_folds(ds, protocol)
    folds = get_folds(ds, "official")
    assert [len(te) for _, te in folds] == [3, 3, 3, 3, 3]


def test_missing_clip_named(tmp_path):
    root = build_dfew(tmp_path)
    shutil.rmtree(root / "Clip/clip_224x224/00007")
    with pytest.raises(LabelFileError) as info:
        load_dfew(root)
    assert "'00007'" in str(info.value) and "clip_224x224" in str(info.value)
    named = pathlib.Path(info.value.path)  # the split file that names the clip
    assert named.suffix == ".csv"
    assert any(row.split(",")[0] in ("7", "00007") for row in named.read_text().splitlines())


def test_missing_source_folder(tmp_path):
    root = build_dfew(tmp_path)
    with pytest.raises(DatasetLayoutError) as info:
        load_dfew(root, source="video")
    assert "'Clip/original/'" in str(info.value) and "Clip/" in str(info.value)
    with pytest.raises(ValueError, match="source"):
        load_dfew(root, source="mp4")


def test_no_clip_folder_lists_top_level(tmp_path):
    root = build_dfew(tmp_path)
    shutil.rmtree(root / "Clip")
    (root / "readme.txt").write_text("x")
    with pytest.raises(DatasetLayoutError) as info:
        load_dfew(root)
    assert "EmoLabel_DataSplit/" in str(info.value) and "readme.txt" in str(info.value)


def test_missing_split_file(tmp_path):
    root = build_dfew(tmp_path)
    gone = root / "EmoLabel_DataSplit/test(single-labeled)/set_3.csv"
    gone.unlink()
    with pytest.raises(LabelFileError) as info:
        load_dfew(root)
    assert info.value.path == str(gone) and "set_4.csv" in str(info.value)


def test_ambiguous_split_folders(tmp_path):
    root = build_dfew(tmp_path)
    shutil.copytree(root / "EmoLabel_DataSplit/train(single-labeled)",
                    root / "EmoLabel_DataSplit/train(single_labeled)")
    with pytest.raises(DatasetLayoutError, match="keep one"):
        load_dfew(root)


def test_missing_split_folder(tmp_path):
    root = build_dfew(tmp_path)
    shutil.rmtree(root / "EmoLabel_DataSplit/test(single-labeled)")
    with pytest.raises(DatasetLayoutError, match=r"test\*single\*labeled\*"):
        load_dfew(root)


def split_file(root, side, k):
    return root / f"EmoLabel_DataSplit/{side}(single-labeled)/set_{k}.csv"


def test_duplicate_clip_in_split_file(tmp_path):
    root = build_dfew(tmp_path)
    path = split_file(root, "test", 1)
    path.write_text(path.read_text() + "00001,%d\n" % LABEL[1])
    with pytest.raises(LabelFileError, match="duplicate clip id '00001'") as info:
        load_dfew(root)
    assert info.value.path == str(path)


def test_conflicting_labels(tmp_path):
    root = build_dfew(tmp_path)
    path = split_file(root, "train", 2)
    path.write_text(path.read_text().replace(f"1,{LABEL[1]}", f"1,{LABEL[1] % 7 + 1}"))
    with pytest.raises(LabelFileError, match="'00001' is labelled"):
        load_dfew(root)


@pytest.mark.parametrize("row", ["00002,9", "00002,happy"])
def test_bad_label_code(tmp_path, row):
    root = build_dfew(tmp_path)
    path = split_file(root, "test", 2)
    lines = path.read_text().splitlines()
    lines[1] = row
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(LabelFileError, match="line 2") as info:
        load_dfew(root)
    assert info.value.path == str(path)


def test_lists_two_thousand_clips(tmp_path):
    """Listing a larger tree (empty frame folders: loaders never read pixels)."""
    n = 2000
    frames = tmp_path / "Clip/clip_224x224"
    for i in range(1, n + 1):
        (frames / f"{i:05d}").mkdir(parents=True)
    for side in ("train", "test"):
        folder = tmp_path / "EmoLabel_DataSplit" / f"{side}(single-labeled)"
        folder.mkdir(parents=True)
        for k in range(1, 6):
            rows = [f"{i},{1 + i % 7}" for i in range(1, n + 1)
                    if (fold_of(i) == k) == (side == "test")]
            (folder / f"set_{k}.csv").write_text("video_name,label\n" + "\n".join(rows))
    ds = load_dfew(tmp_path)
    assert len(ds) == n
    assert np.array_equal(np.bincount(ds.y), np.bincount([i % 7 for i in range(1, n + 1)]))
    assert sorted(np.concatenate([te for _, te in ds.official_folds])) == list(range(n))
