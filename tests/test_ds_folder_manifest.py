"""``folder`` and ``manifest`` loaders on small fake trees (tiny PNG frames, a few mp4s)."""

from __future__ import annotations

import os
import pathlib

import cv2
import numpy as np
import pytest

from handcrafted_dfer.datasets import load_dataset
from handcrafted_dfer.datasets.folder import load_folder
from handcrafted_dfer.datasets.manifest import load_manifest
from handcrafted_dfer.errors import DatasetLayoutError, LabelFileError, VideoReadError
from handcrafted_dfer.video import open_video
from test_ds_ckplus import build_ckplus
from test_ds_dfew import build_dfew
from test_ds_ferv39k import build_ferv39k
from test_ds_mafw import build_mafw


def frame_folder(path: pathlib.Path, n: int = 2) -> pathlib.Path:
    path.mkdir(parents=True)
    for k in range(n):
        assert cv2.imwrite(str(path / f"frame{k}.png"), np.full((4, 4), k, np.uint8))
    return path


def video(path: pathlib.Path, video_writer) -> pathlib.Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return video_writer(path, [np.full((16, 16), 50 * k, np.uint8) for k in range(3)])


class TestFolder:
    def test_flat_videos_and_frame_folders(self, tmp_path, video_writer):
        video(tmp_path / "happy/a.mp4", video_writer)
        frame_folder(tmp_path / "happy/b")
        frame_folder(tmp_path / "sad/c")
        video(tmp_path / "angry/d.avi", video_writer)
        (tmp_path / "sad/notes.txt").write_text("not a clip")
        (tmp_path / "README.md").write_text("top-level files are ignored")
        ds = load_folder(tmp_path)
        # folder names angry/happy/sad are spellings of the canonical anger/happiness/sadness
        assert ds.labels == ("anger", "happiness", "sadness")
        got = {(c.id, c.label, c.subject, os.path.relpath(c.path, tmp_path)) for c in ds.clips}
        assert got == {("angry/d", "anger", None, "angry/d.avi"),
                       ("happy/a", "happiness", None, "happy/a.mp4"),
                       ("happy/b", "happiness", None, "happy/b"),
                       ("sad/c", "sadness", None, "sad/c")}
        assert all(ds.labels[c.label_index] == c.label for c in ds.clips)

    def test_subject_layout(self, tmp_path, video_writer):
        made = []
        for label in ("fear", "joy"):
            for subject in ("p2", "p10"):
                video(tmp_path / label / subject / "x.mp4", video_writer)
                frame_folder(tmp_path / label / subject / "y")
                made += [(f"{label}/{subject}/x", subject), (f"{label}/{subject}/y", subject)]
        ds = load_dataset("folder", tmp_path, name="lab")
        assert sorted((c.id, c.subject) for c in ds.clips) == sorted(made)
        assert ds.name == "lab" and ds.labels == ("fear", "happiness")  # joy is happiness
        flat = load_folder(tmp_path, layout="flat")  # forcing flat: subject folders become clips
        assert sorted(c.id for c in flat.clips) == ["fear/p10", "fear/p2", "joy/p10", "joy/p2"]

    def test_duplicate_clip_names(self, tmp_path, video_writer):
        video(tmp_path / "happy/a.mp4", video_writer)
        frame_folder(tmp_path / "happy/a")
        with pytest.raises(DatasetLayoutError, match="duplicate clip id 'a'"):
            load_folder(tmp_path)

    def test_video_beside_subject_folders(self, tmp_path, video_writer):
        frame_folder(tmp_path / "happy/p1/a")
        video(tmp_path / "happy/b.mp4", video_writer)
        with pytest.raises(DatasetLayoutError, match="subject folders only") as info:
            load_folder(tmp_path, layout="subjects")
        assert info.value.path == str(tmp_path / "happy/b.mp4")

    def test_no_class_folders_or_no_clips(self, tmp_path):
        (tmp_path / "clip.txt").write_text("x")
        with pytest.raises(DatasetLayoutError, match="one folder per class.*clip.txt"):
            load_folder(tmp_path)
        (tmp_path / "happy").mkdir()
        with pytest.raises(DatasetLayoutError, match="none found"):
            load_folder(tmp_path)
        with pytest.raises(ValueError, match="layout"):
            load_folder(tmp_path, layout="nested")


def frame_files(folder: pathlib.Path, names_values: dict[str, int]) -> None:
    """Write one 4x4 PNG per name, filled with its value."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, value in names_values.items():
        assert cv2.imwrite(str(folder / name), np.full((4, 4), value, np.uint8))


# A CK+48-style tree (GUIDE §5: CK+48/<emotion>/Sxxx_yyy_zzzzzzzz.png), here with unpadded frame
# numbers so that name order (10 before 9) and numeric order differ: label -> file -> grey value.
FRAMES = {
    "happy": {"S10_2_10.png": 10, "S10_2_9.png": 9, "S10_2_100.png": 100, "S2_1_3.png": 3,
              "S2_1_4.png": 4},
    "surprise": {"S2_5_7.png": 7, "S2_5_8.png": 8, "S10_1_1.png": 1},
}
CLIP, SUBJECT = r"^(S\d+_\d+)_", r"^(S\d+)_"


class TestFramePatterns:
    def test_files_grouped_into_clips_in_numeric_order(self, tmp_path):
        for label, files in FRAMES.items():
            frame_files(tmp_path / label, files)
        ds = load_dataset("folder", tmp_path, clip_pattern=CLIP, subject_pattern=SUBJECT,
                          faces="cropped")
        assert ds.labels == ("happiness", "surprise") and ds.faces == "cropped"
        expected = {  # id -> (label, subject, frame values in numeric order)
            "happy/S2_1": ("happiness", "S2", [3, 4]),
            "happy/S10_2": ("happiness", "S10", [9, 10, 100]),
            "surprise/S2_5": ("surprise", "S2", [7, 8]),
            "surprise/S10_1": ("surprise", "S10", [1]),
        }
        assert sorted(c.id for c in ds.clips) == sorted(expected)
        for clip in ds.clips:
            label, subject, values = expected[clip.id]
            assert (clip.label, clip.subject) == (label, subject)
            assert ds.labels[clip.label_index] == label
            # path names the clip inside its class folder; it is not on disk (read .source)
            assert clip.path == str(tmp_path / clip.id) and not os.path.exists(clip.path)
            assert clip.source == list(clip.extra["files"])
            folder = str(tmp_path / clip.id.split("/")[0])
            assert [os.path.dirname(f) for f in clip.source] == [folder] * len(values)
            stream = open_video(clip.source)  # the reader takes the file list as it is
            assert [int(f[0, 0]) for f in stream] == values
            assert stream.n_frames == len(values)
            assert stream.path == clip.source[0]

    def test_subject_pattern_on_videos_and_folders(self, tmp_path, video_writer):
        video(tmp_path / "fear/p1_a.mp4", video_writer)
        frame_folder(tmp_path / "fear/p2_b")
        frame_folder(tmp_path / "anger/p1_c")
        ds = load_folder(tmp_path, subject_pattern=r"^(p\d+)_")
        assert {(c.id, c.subject) for c in ds.clips} == {
            ("fear/p1_a", "p1"), ("fear/p2_b", "p2"), ("anger/p1_c", "p1")}
        assert all(c.source == c.path and "files" not in c.extra for c in ds.clips)
        assert ds.faces is None

    def test_images_without_clip_pattern(self, tmp_path):
        frame_files(tmp_path / "happy", FRAMES["happy"])
        frame_files(tmp_path / "surprise", FRAMES["surprise"])
        with pytest.raises(DatasetLayoutError, match="clip_pattern") as info:
            load_folder(tmp_path)
        assert info.value.path == str(tmp_path / "happy")

    def test_a_file_the_pattern_does_not_match(self, tmp_path):
        frame_files(tmp_path / "happy", {**FRAMES["happy"], "cover.png": 0})
        with pytest.raises(DatasetLayoutError, match="does not match clip_pattern") as info:
            load_folder(tmp_path, clip_pattern=CLIP)
        assert info.value.path == str(tmp_path / "happy/cover.png")

    def test_one_clip_with_two_subjects(self, tmp_path):
        frame_files(tmp_path / "happy", FRAMES["happy"])
        with pytest.raises(DatasetLayoutError, match="give subjects"):
            load_folder(tmp_path, clip_pattern=CLIP, subject_pattern=r"_(\d+)\.png$")

    @pytest.mark.parametrize("options, message", [
        (dict(clip_pattern=r"^S\d+_"), "exactly one group"),
        (dict(clip_pattern=r"^(S\d+)_(\d+)"), "exactly one group"),
        (dict(subject_pattern="(unclosed"), "not a regular expression"),
        (dict(faces="crop"), "faces must be one of detect, cropped, aligned"),
        (dict(layout="subjects", subject_pattern=SUBJECT), "give one"),
    ])
    def test_bad_options(self, tmp_path, options, message):
        frame_files(tmp_path / "happy", FRAMES["happy"])
        with pytest.raises(ValueError, match=message):
            load_folder(tmp_path, **options)

    def test_two_spellings_of_one_class(self, tmp_path):
        frame_files(tmp_path / "happy", FRAMES["happy"])
        frame_files(tmp_path / "Happiness", FRAMES["surprise"])
        with pytest.raises(DatasetLayoutError, match="'Happiness' and 'happy' both mean"):
            load_folder(tmp_path, clip_pattern=CLIP)

    def test_a_list_with_a_missing_file(self, tmp_path):
        frame_files(tmp_path, {"a.png": 1})
        with pytest.raises(VideoReadError, match="expected an existing frame image") as info:
            open_video([tmp_path / "a.png", tmp_path / "b.png"])
        assert info.value.path == str(tmp_path / "b.png")
        with pytest.raises(VideoReadError, match="at least one"):
            open_video([])


class TestKnownLayouts:
    """A root in another loader's layout (each built by that loader's own test) is refused."""

    def test_ckplus_tree(self, tmp_path):
        root = build_ckplus(tmp_path)
        (root / "Landmarks").mkdir()
        assert len(load_dataset("ckplus", root)) > 0  # it is a real CK+ tree
        with pytest.raises(DatasetLayoutError, match="ckplus dataset.*--dataset ckplus") as info:
            load_dataset("folder", root)
        assert info.value.path == str(root)

    def test_ckplus_wrapper_tree(self, tmp_path):
        with pytest.raises(DatasetLayoutError, match="'ckplus' loader"):
            load_folder(build_ckplus(tmp_path, wrapper=True))

    def test_dfew_mafw_ferv39k_trees(self, tmp_path):
        trees = {"dfew": build_dfew(tmp_path / "d"), "mafw": build_mafw(tmp_path / "m"),
                 "ferv39k": build_ferv39k(tmp_path / "f")}
        for name, root in trees.items():
            assert len(load_dataset(name, root)) > 0
            with pytest.raises(DatasetLayoutError, match=f"'{name}' loader"):
                load_folder(root)

    def test_synthetic_tree(self, tmp_path):
        build_ckplus(tmp_path)
        (tmp_path / "synthetic.json").write_text("{}")
        with pytest.raises(DatasetLayoutError, match="'synthetic' loader"):
            load_folder(tmp_path)


def test_fewer_than_two_classes(tmp_path, video_writer):
    video(tmp_path / "happy/a.mp4", video_writer)
    assert load_folder(tmp_path).labels == ("happiness",)  # the loader itself lists it
    with pytest.raises(DatasetLayoutError, match="at least 2 classes.*only class 'happiness'") \
            as info:
        load_dataset("folder", tmp_path)
    assert info.value.path == str(tmp_path)


def test_two_spellings_in_a_manifest(tmp_path, video_writer):
    video(tmp_path / "a.mp4", video_writer)
    video(tmp_path / "b.mp4", video_writer)
    csv = write_manifest(tmp_path / "m.csv", ["path,label", "a.mp4,Happy", "b.mp4,happiness"])
    with pytest.raises(LabelFileError, match="'Happy' and 'happiness' both mean 'happiness'"):
        load_manifest(csv)


@pytest.fixture(scope="module")
def ckplus48():
    """The real CK+48 folder (research use only, never in the repo); skips when absent."""
    root = pathlib.Path(os.environ.get("DFER_CKPLUS48", "~/data/CK+48")).expanduser()
    if not (root / "anger").is_dir():
        pytest.skip(f"CK+48 not found at {root} (set DFER_CKPLUS48; see GUIDE §5)")
    return root


def test_real_ckplus48(ckplus48):
    # GUIDE §5 / issue 13: 981 PNGs, the last 3 frames of 327 sequences, 118 subjects, 7 classes
    ds = load_dataset("folder", ckplus48, clip_pattern=CLIP, subject_pattern=SUBJECT,
                      faces="cropped")
    assert len(ds) == 327 and len(set(ds.subjects)) == 118
    assert ds.labels == ("anger", "contempt", "disgust", "fear", "happiness", "sadness",
                         "surprise")
    assert all(len(c.extra["files"]) == 3 for c in ds.clips)
    assert all(c.id.split("/")[1].startswith(c.subject + "_") for c in ds.clips)
    frames = list(open_video(ds.clips[0].source))
    assert len(frames) == 3 and frames[0].shape == (48, 48)


def write_manifest(path: pathlib.Path, rows: list[str]) -> pathlib.Path:
    path.write_text("\n".join(rows) + "\n")
    return path


class TestManifest:
    @pytest.fixture
    def tree(self, tmp_path, video_writer):
        video(tmp_path / "media/s1_a.mp4", video_writer)
        video(tmp_path / "media/s1_b.mp4", video_writer)
        frame_folder(tmp_path / "media/s2_a")
        frame_folder(tmp_path / "media/s3_a")
        return tmp_path

    def test_paths_labels_subjects_split(self, tree):
        csv = write_manifest(tree / "list.csv", [
            "path,label,subject,split,note",
            "media/s1_a.mp4,10,s1,train,first",
            "media/s1_b.mp4,2,s1,Train,",
            "media/s2_a,2,s2,test,x",
            f"{tree / 'media/s3_a'},10,,TEST,y",
        ])
        ds = load_dataset("manifest", csv)
        assert ds.root == str(csv)
        assert ds.labels == ("2", "10")  # digit runs sorted by value
        assert [c.label for c in ds.clips] == ["10", "2", "2", "10"]
        assert list(ds.y) == [1, 0, 0, 1]
        assert [c.subject for c in ds.clips] == ["s1", "s1", "s2", None]
        assert [c.path for c in ds.clips] == [str(tree / p) for p in
                                              ("media/s1_a.mp4", "media/s1_b.mp4", "media/s2_a",
                                               "media/s3_a")]
        assert ds.clips[0].extra["note"] == "first"
        [(train, test)] = ds.official_folds
        assert list(train) == [0, 1] and list(test) == [2, 3]

    def test_minimal_columns(self, tree):
        csv = write_manifest(tree / "m.csv",
                             ["path,label", "media/s2_a,calm", "media/s1_a.mp4,angry"])
        ds = load_manifest(csv, name="mine")
        assert ds.name == "mine" and ds.labels == ("anger", "calm")  # calm: not canonical, kept
        assert ds.official_folds is None and all(c.subject is None for c in ds.clips)

    @pytest.mark.parametrize("rows, message", [
        (["file,label", "media/s2_a,x"], "missing path"),
        (["path,label", "media/none.mp4,x"], "line 2: 'media/none.mp4' does not exist"),
        (["path,label", "nodir/none.mp4,x"], "does not exist"),
        (["path,label", "list.txt,x"], "is not a video file"),
        (["path,label", "media/s2_a,x", "media/s2_a/,y"], "line 3: duplicate clip"),
        (["path,label", "media/s2_a,"], "line 2: empty 'label'"),
        (["path,label,split", "media/s2_a,x,val"], "split 'val'"),
        (["path,label,split", "media/s2_a,x,train"], "both train and test"),
        (["path,label"], "no clips"),
    ])
    def test_errors_name_the_manifest(self, tree, rows, message):
        (tree / "list.txt").write_text("not a clip")
        csv = write_manifest(tree / "bad.csv", rows)
        with pytest.raises(LabelFileError, match=message) as info:
            load_manifest(csv)
        assert info.value.path == str(csv)

    def test_missing_manifest(self, tmp_path):
        with pytest.raises(LabelFileError, match="expected a CSV manifest"):
            load_manifest(tmp_path / "absent.csv")
