"""CK+ loader on small fake trees in the real layout (tiny PNG frames written with OpenCV)."""

from __future__ import annotations

import pathlib

import cv2
import numpy as np
import pytest

from handcrafted_dfer.datasets import load_dataset
from handcrafted_dfer.datasets.ckplus import load_ckplus
from handcrafted_dfer.errors import DatasetLayoutError, LabelFileError
from handcrafted_dfer.video import list_frame_files

# subject -> sequence -> emotion code (None: a sequence without an emotion file)
SPEC = {
    "S005": {"001": 3, "002": None},
    "S010": {"001": 7, "002": 1, "003": None},
    "S022": {"001": 5},
    "S100": {"001": None, "004": 7},
}
# CK+ codes 0..7 as GUIDE §5 documents them, code 5 "happy" under its canonical name
NAMES = ["neutral", "anger", "contempt", "disgust", "fear", "happiness", "sadness", "surprise"]
N_FRAMES = 4


def build_ckplus(root: pathlib.Path, spec=SPEC, *, wrapper: bool = False) -> pathlib.Path:
    """Write a CK+ tree; frame k of every sequence has grey value 10 * (k + 1)."""
    images = root / ("extended-cohn-kanade-images/cohn-kanade-images" if wrapper
                     else "cohn-kanade-images")
    emotion = root / ("Emotion_labels/Emotion" if wrapper else "Emotion")
    for subject, sequences in spec.items():
        for sequence, code in sequences.items():
            folder = images / subject / sequence
            folder.mkdir(parents=True)
            for k in range(1, N_FRAMES + 1):
                frame = np.full((6, 8), 10 * k, np.uint8)
                assert cv2.imwrite(str(folder / f"{subject}_{sequence}_{k:08d}.png"), frame)
            labels = emotion / subject / sequence
            labels.mkdir(parents=True)  # real CK+ has empty folders for unlabelled sequences
            if code is not None:
                (labels / f"{subject}_{sequence}_{N_FRAMES:08d}_emotion.txt").write_text(
                    f"   {float(code):.7e}\n")
    return root


def expected(spec=SPEC):
    return [(f"{s}_{q}", s, NAMES[c]) for s, seqs in spec.items() for q, c in seqs.items()
            if c is not None]


@pytest.mark.parametrize("wrapper", [False, True])
def test_labelled_sequences_only(tmp_path, wrapper):
    root = build_ckplus(tmp_path, wrapper=wrapper)
    ds = load_ckplus(root)
    assert [(c.id, c.subject, c.label) for c in ds.clips] == expected()
    # classes present, in CK+ code order: 1 anger, 3 disgust, 5 happy, 7 surprise (canonical)
    assert ds.labels == ("anger", "disgust", "happiness", "surprise")
    assert all(ds.labels[c.label_index] == c.label for c in ds.clips)
    assert ds.name == "ckplus" and ds.official_folds is None
    for clip in ds.clips:
        subject, sequence = clip.id.split("_")
        assert pathlib.Path(clip.path).name == sequence
        assert pathlib.Path(clip.path).parent.name == subject
        assert len(list_frame_files(clip.path)) == N_FRAMES
        assert "frames" not in clip.extra


def test_load_dataset_dispatch_and_name(tmp_path):
    root = build_ckplus(tmp_path)
    ds = load_dataset("ckplus", root, name="mine")
    assert ds.name == "mine" and {c.dataset for c in ds.clips} == {"mine"}
    assert [c.id for c in ds.clips] == [i for i, _, _ in expected()]


def test_code_zero_is_neutral(tmp_path):
    spec = {"S001": {"001": 0, "002": 2}, "S002": {"001": 6}}
    ds = load_ckplus(build_ckplus(tmp_path, spec))
    assert ds.labels == ("neutral", "contempt", "sadness")
    assert [c.label for c in ds.clips] == ["neutral", "contempt", "sadness"]
    assert list(ds.y) == [0, 1, 2]


def test_include_neutral(tmp_path):
    root = build_ckplus(tmp_path)
    ds = load_ckplus(root, include_neutral=True, neutral_frames=2)
    labelled = expected()
    assert len(ds) == 2 * len(labelled)
    assert ds.labels == ("neutral", "anger", "disgust", "happiness", "surprise")
    neutral = [c for c in ds.clips if c.label == "neutral"]
    assert [c.id for c in neutral] == [f"{i}_neutral" for i, _, _ in labelled]
    assert [c.subject for c in neutral] == [s for _, s, _ in labelled]
    for clip in neutral:
        assert clip.label_index == 0 and clip.extra["frames"] == (0, 2)
        start, stop = clip.extra["frames"]
        onset = list_frame_files(clip.path)[start:stop]
        values = [int(cv2.imread(str(p), cv2.IMREAD_GRAYSCALE)[0, 0]) for p in onset]
        assert values == [10, 20]  # the first two frames written


@pytest.mark.parametrize("text", ["   8.0000000e+00\n", "abc\n", "   2.5000000e+00\n", "\n"])
def test_unknown_code_names_the_file(tmp_path, text):
    root = build_ckplus(tmp_path)
    bad = root / "Emotion/S022/001/S022_001_00000004_emotion.txt"
    bad.write_text(text)
    with pytest.raises(LabelFileError) as info:
        load_ckplus(root)
    assert info.value.path == str(bad)


def test_a_binary_emotion_file_is_cut_and_escaped_in_the_message(tmp_path):
    root = build_ckplus(tmp_path)
    bad = root / "Emotion/S022/001/S022_001_00000004_emotion.txt"
    bad.write_bytes(bytes(np.random.default_rng(0).integers(0, 256, 20_000, dtype=np.uint8)))
    with pytest.raises(LabelFileError) as info:
        load_ckplus(root)
    message = str(info.value)
    assert info.value.path == str(bad) and "expected one number" in message
    assert len(message) < len(str(bad)) + 400  # 40 characters of the file, escaped: not 20 KB
    assert message.endswith("...") and message.isascii() and message.isprintable()


def test_two_emotion_files_in_a_sequence(tmp_path):
    root = build_ckplus(tmp_path)
    (root / "Emotion/S022/001/S022_001_00000003_emotion.txt").write_text("5\n")
    with pytest.raises(LabelFileError, match="one \\*_emotion.txt file per sequence"):
        load_ckplus(root)


def test_missing_emotion_folder_lists_what_was_found(tmp_path):
    root = build_ckplus(tmp_path)
    (root / "Emotion").rename(root / "Labels")
    with pytest.raises(DatasetLayoutError) as info:
        load_ckplus(root)
    message = str(info.value)
    assert "'Emotion/'" in message and "'Emotion_labels/Emotion/'" in message
    assert "Labels/" in message and "cohn-kanade-images/" in message


def test_missing_images_folder(tmp_path):
    (tmp_path / "Emotion").mkdir()
    with pytest.raises(DatasetLayoutError, match="cohn-kanade-images"):
        load_ckplus(tmp_path)


def test_emotion_file_without_image_sequence(tmp_path):
    root = build_ckplus(tmp_path)
    sequence = root / "cohn-kanade-images/S010/002"
    for f in sequence.iterdir():
        f.unlink()
    sequence.rmdir()
    with pytest.raises(DatasetLayoutError) as info:
        load_ckplus(root)
    assert info.value.path == str(sequence)
    assert "S010_002_00000004_emotion.txt" in str(info.value)


def test_no_emotion_files(tmp_path):
    root = build_ckplus(tmp_path, {"S001": {"001": None}})
    with pytest.raises(DatasetLayoutError, match="none found"):
        load_ckplus(root)


def test_root_must_exist(tmp_path):
    with pytest.raises(DatasetLayoutError, match="does not exist"):
        load_ckplus(tmp_path / "nowhere")


def test_neutral_frames_validated(tmp_path):
    with pytest.raises(ValueError, match="neutral_frames"):
        load_ckplus(build_ckplus(tmp_path), include_neutral=True, neutral_frames=0)
