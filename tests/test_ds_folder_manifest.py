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
from handcrafted_dfer.errors import DatasetLayoutError, LabelFileError


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
        assert ds.labels == ("angry", "happy", "sad")
        got = {(c.id, c.label, c.subject, os.path.relpath(c.path, tmp_path)) for c in ds.clips}
        assert got == {("angry/d", "angry", None, "angry/d.avi"),
                       ("happy/a", "happy", None, "happy/a.mp4"),
                       ("happy/b", "happy", None, "happy/b"),
                       ("sad/c", "sad", None, "sad/c")}
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
        assert ds.name == "lab" and ds.labels == ("fear", "joy")
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
        assert ds.name == "mine" and ds.labels == ("angry", "calm")
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
