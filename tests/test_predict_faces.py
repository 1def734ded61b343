"""``dfer predict`` per face, streamed: the windows equal the whole-clip computation, rows come out
within a stride of their last frame, memory does not grow with the video's length, and the
windows and frames tables (CSV, Parquet, JSON) hold what they say."""

from __future__ import annotations

import csv
import json
import sys
import tracemalloc

import cv2
import numpy as np
import pandas as pd
import pytest

from handcrafted_dfer.analyze.tables import TableWriter, table_format
from handcrafted_dfer.analyze.timeline import (FRAME_COLUMNS, PROBA_PREFIX, iter_windows,
                                               predict_video, window_bounds)
from handcrafted_dfer.cli import main
from handcrafted_dfer.errors import DferError
from handcrafted_dfer.face.detect import detect_scaled
from handcrafted_dfer.face.landmarks import fit_landmarks
from handcrafted_dfer.face.pose import head_pose
from handcrafted_dfer.face.preprocess import track_and_align, track_and_align_faces
from handcrafted_dfer.face.temporal import resample_clip
from handcrafted_dfer.clip import AlignedClip
from handcrafted_dfer.modelfile import save_model
from handcrafted_dfer.video import FrameStream, open_video

from test_predict import _random_model

try:
    import pyarrow.parquet  # noqa: F401
    HAVE_PYARROW = True
except ImportError:
    HAVE_PYARROW = False
NEEDS_PYARROW = pytest.mark.skipif(not HAVE_PYARROW, reason="Parquet tables need pyarrow "
                                   "(pip install 'handcrafted_dfer[parquet]')")


@pytest.fixture(scope="module")
def model():
    return _random_model()


@pytest.fixture(scope="module")
def model_file(model, tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "model.skops"
    save_model(path, model.pipeline, labels=model.labels, config=model.config,
               metadata=model.metadata)
    return path


def _nearest_in_window(valid):
    """For each frame of a window, the nearest frame with a face (the earlier on a tie)."""
    where = np.flatnonzero(valid)
    return np.array([where[np.argmin(np.abs(where - k) * 2 + (where > k))]
                     for k in range(len(valid))])


def _whole_clip_oracle(clip: AlignedClip, model, *, window, stride, min_valid, every_window):
    """Rows computed the obvious way: the whole clip in memory, each window cut from it."""
    rows = []
    for a, b in window_bounds(clip.n_frames, window, stride):
        valid = clip.valid[a:b]
        if not every_window and not valid.any():
            continue
        row = {"start_frame": int(a), "end_frame": int(b), "valid_fraction": valid.mean(),
               "label": None, "proba": None}
        if valid.any() and valid.mean() >= min_valid:
            keep = _nearest_in_window(valid)
            piece = resample_clip(AlignedClip(frames=clip.frames[a:b][keep],
                                              landmarks=clip.landmarks[a:b][keep], valid=valid,
                                              fps=clip.fps, source=clip.source),
                                  model.config.frames)
            row["label"] = model.labels[int(model.pipeline.predict([piece])[0])]
            row["proba"] = model.pipeline.predict_proba([piece])[0]
        rows.append(row)
    return rows


def _assert_rows_equal(table, oracle, labels):
    assert len(table) == len(oracle)
    for got, want in zip(table.to_dict("records"), oracle):
        assert (got["start_frame"], got["end_frame"]) == (want["start_frame"], want["end_frame"])
        assert got["valid_fraction"] == pytest.approx(want["valid_fraction"])
        if want["label"] is None:
            assert got["label"] is None
            assert all(np.isnan(got[PROBA_PREFIX + name]) for name in labels)
        else:
            assert got["label"] == want["label"]
            np.testing.assert_allclose([got[PROBA_PREFIX + name] for name in labels],
                                       want["proba"], atol=1e-12)


@pytest.mark.slow
def test_streamed_windows_equal_the_whole_clip_computation(shared_videos, model):
    """face_noface.mov: a face, then none; windows with a face, partly, and not at all."""
    video = shared_videos / "face_noface.mov"
    table = predict_video(video, model, window=16, stride=8)
    clip, _ = track_and_align(video, model.config)
    oracle = _whole_clip_oracle(clip, model, window=16, stride=8, min_valid=0.5,
                                every_window=True)
    assert any(0 < r["valid_fraction"] < 1 for r in oracle)  # the case that needs filling
    assert any(r["label"] is None for r in oracle) and any(r["label"] for r in oracle)
    _assert_rows_equal(table, oracle, model.class_names)


@pytest.mark.slow
def test_every_face_has_its_own_windows(two_faces, model):
    table = predict_video(two_faces["path"], model, window=16, stride=4, faces_in_video="all")
    assert table.attrs["faces"] == [0, 1]
    clips = track_and_align_faces(two_faces["path"], model.config, faces_in_video="all")
    for face, (clip, _) in clips.items():
        oracle = _whole_clip_oracle(clip, model, window=16, stride=4, min_valid=0.5,
                                    every_window=False)
        _assert_rows_equal(table[table["face_id"] == face], oracle, model.class_names)
    man = table[table["face_id"] == 1]
    # he is away in frames 72..121: no row for the windows inside, no label where he is scarce
    inside = man[(man["start_frame"] >= 72) & (man["end_frame"] <= 122)]
    assert inside.empty
    scarce = man[man["valid_fraction"] < 0.5]
    assert len(scarce) and scarce["label"].isna().all()
    assert len(table[table["face_id"] == 0]) == len(window_bounds(196, 16, 4))


class _Counting(FrameStream):
    """A real file stream that counts the frames it has delivered."""

    read = 0

    def __iter__(self):
        for frame in super().__iter__():
            self.read += 1
            yield frame


def _lags(path, model, *, stride, **options):
    probe = open_video(path)
    stream = _Counting(kind="video", path=probe.path, fps=probe.fps,
                       n_frames_hint=probe.n_frames_hint)
    lags = [stream.read - row["end_frame"]
            for row in iter_windows(stream, model, window=16, stride=stride, **options)]
    return np.array(lags)


@pytest.mark.slow
@pytest.mark.parametrize("name, faces", [("face_noface.mov", "largest"), ("two", "all")])
def test_stream_rows_come_within_one_stride(shared_videos, two_faces, model, name, faces):
    """Frames read beyond a window's last frame when its row comes out: at most one stride with
    ``stream=True``; far more without (windows go in batches), so the measure can fail."""
    path = two_faces["path"] if name == "two" else shared_videos / name
    streamed = _lags(path, model, stride=4, faces_in_video=faces, stream=True)
    assert len(streamed) and streamed.max() <= 4
    batched = _lags(path, model, stride=4, faces_in_video=faces)
    assert batched.max() > 4


def _peak_bytes(path, model) -> int:
    tracemalloc.start()
    try:
        predict_video(path, model, window=16, stride=4)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.slow
def test_memory_does_not_grow_with_the_video(shared_videos, model, tmp_path, video_writer):
    """Issue 10, defect 6: the peak of Python-allocated memory (NumPy included) of a 4x longer
    video stays within 20 %; keeping the aligned video (9 KB a frame at 96 px) would not."""
    frames = list(open_video(shared_videos / "single_face.mp4"))
    short = video_writer(tmp_path / "short.mp4", frames * 2, fps=30.0)
    long = video_writer(tmp_path / "long.mp4", frames * 8, fps=30.0)
    _peak_bytes(short, model)  # warm-up: models, kernels
    small, large = _peak_bytes(short, model), _peak_bytes(long, model)
    assert large <= 1.2 * small, (small, large)


@pytest.fixture(scope="module")
def single_tables(shared_videos, model, tmp_path_factory):
    folder = tmp_path_factory.mktemp("tables")
    video = shared_videos / "single_face.mp4"
    windows = predict_video(video, model, window=16, stride=4,
                            frames_table=folder / "frames.csv")
    tables = {"video": video, "windows": windows, "frames": pd.read_csv(folder / "frames.csv")}
    if HAVE_PYARROW:
        predict_video(video, model, window=16, stride=4, frames_table=folder / "frames.parquet")
        tables["parquet"] = pd.read_parquet(folder / "frames.parquet")
    return tables


@pytest.mark.slow
class TestFramesTable:
    def test_one_row_per_frame_with_the_columns(self, single_tables):
        frames = single_tables["frames"]
        assert tuple(frames.columns) == FRAME_COLUMNS
        assert frames["frame"].tolist() == list(range(72)) and (frames["face_id"] == 0).all()
        np.testing.assert_allclose(frames["time_s"], np.arange(72) / 30.0)
        assert frames["valid"].all()
        detected = frames["status"] == "detected"
        assert detected.any() and frames.loc[detected, "score"].notna().all()
        assert frames.loc[frames["status"] == "tracked", "score"].isna().all()

    def test_landmarks_and_pose_against_full_resolution_dlib(self, single_tables):
        """Oracle: dlib's detector at full resolution with one upsampling, then the landmarks,
        on every 6th frame; and head pose of those landmarks."""
        frames = single_tables["frames"]
        errors, pose_errors = [], []
        for k, frame in enumerate(open_video(single_tables["video"])):
            if k % 6:
                continue
            grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
            truth = fit_landmarks(grey, detect_scaled(grey, scale=1.0, upsample=1)[0])
            row = frames.iloc[k]
            ours = np.stack([row[[f"x_{i}" for i in range(68)]].to_numpy(float),
                             row[[f"y_{i}" for i in range(68)]].to_numpy(float)], axis=1)
            errors.append(np.median(np.linalg.norm(ours - truth, axis=1)))
            pose = head_pose(truth, frame_size=(grey.shape[1], grey.shape[0]))
            pose_errors.append(np.abs(row[["yaw", "pitch", "roll"]].to_numpy(float) - pose).max())
            box = row[["box_left", "box_top", "box_right", "box_bottom"]].to_numpy(float)
            centre = truth.mean(axis=0)
            assert box[0] < centre[0] < box[2] and box[1] < centre[1] < box[3]
        assert np.median(errors) < 2.0, errors
        assert np.median(pose_errors) < 5.0, pose_errors

    def test_validity_agrees_with_the_windows_table(self, single_tables):
        valid = single_tables["frames"]["valid"].to_numpy()
        for row in single_tables["windows"].itertuples():
            assert row.valid_fraction == pytest.approx(valid[row.start_frame:row.end_frame].mean())

    @NEEDS_PYARROW
    def test_parquet_holds_the_same_table(self, single_tables):
        csv_table, parquet = single_tables["frames"], single_tables["parquet"]
        assert list(parquet.columns) == list(csv_table.columns)
        for column in csv_table.columns:
            if column == "status":
                assert parquet[column].tolist() == csv_table[column].tolist()
            else:
                np.testing.assert_allclose(parquet[column].to_numpy(float),
                                           csv_table[column].to_numpy(float), atol=1e-9)


@NEEDS_PYARROW
def test_parquet_table_names(tmp_path):
    assert table_format(tmp_path / "t.PARQUET") == "parquet"
    assert table_format(tmp_path / "t.pq") == "parquet"


def test_table_names_and_missing_pyarrow(tmp_path, monkeypatch):
    assert table_format(tmp_path / "t.csv") == "csv"
    with pytest.raises(DferError, match=r"\.csv, \.parquet, \.pq"):
        table_format(tmp_path / "t.xlsx")
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # what an install without pyarrow does
    with pytest.raises(DferError, match="needs pyarrow"):
        table_format(tmp_path / "t.parquet", what="the frames table")
    with pytest.raises(DferError, match="needs pyarrow"):
        TableWriter(tmp_path / "t.parquet")


@pytest.mark.slow
class TestCommandLine:
    @NEEDS_PYARROW
    def test_faceless_windows_are_null_in_json_csv_and_parquet(self, shared_videos, model_file,
                                                               tmp_path):
        out = {k: tmp_path / f"windows.{k}" for k in ("json", "csv", "parquet")}
        video = str(shared_videos / "face_noface.mov")
        assert main(["predict", video, "--model", str(model_file), "--window", "16",
                     "--stride", "8", "--json", str(out["json"]), "--windows-csv",
                     str(out["csv"]), "--quiet"]) == 0
        assert main(["predict", video, "--model", str(model_file), "--window", "16",
                     "--stride", "8", "--windows-csv", str(out["parquet"]), "--quiet"]) == 0
        windows = json.loads(out["json"].read_text())["windows"]
        late = [k for k, w in enumerate(windows) if w["start_frame"] >= 100]
        early = [k for k, w in enumerate(windows) if w["end_frame"] <= 60]
        assert late and early
        assert all(windows[k]["label"] is None and windows[k]["probabilities"] is None
                   for k in late)
        with open(out["csv"], newline="") as file:
            rows = list(csv.DictReader(file))
        assert len(rows) == len(windows)
        assert all(rows[k]["label"] == "" and rows[k]["proba_calm"] == "" for k in late)
        assert all(rows[k]["label"] in ("calm", "lively") for k in early)
        import pyarrow.parquet as pq

        table = pq.read_table(out["parquet"])
        labels = table.column("label").to_pylist()
        assert all(labels[k] is None for k in late) and all(labels[k] for k in early)
        assert table.column("proba_calm").null_count == sum(w["label"] is None for w in windows)

    def test_stream_prints_a_line_per_window(self, shared_videos, model_file, tmp_path, capsys):
        windows = tmp_path / "w.csv"
        assert main(["predict", str(shared_videos / "single_face.mp4"), "--model",
                     str(model_file), "--stream", "--windows-csv", str(windows)]) == 0
        lines = capsys.readouterr().out.strip().splitlines()
        assert lines[0].split()[:4] == ["face", "start_s", "end_s", "label"]
        n = len(window_bounds(72, 16, 4))
        assert len(lines) == 1 + n and all(line.split()[0] == "0" for line in lines[1:])
        assert len(pd.read_csv(windows)) == n

    def test_stream_refuses_outputs_that_need_the_whole_timeline(self, shared_videos, model_file,
                                                                 tmp_path, capsys):
        assert main(["predict", str(shared_videos / "single_face.mp4"), "--model",
                     str(model_file), "--stream", "--json", str(tmp_path / "w.json")]) == 2
        assert "--stream" in capsys.readouterr().err

    def test_camera_index(self, model_file, capsys):
        assert main(["predict", "9", "--model", str(model_file)]) == 2
        assert "a camera index needs --stream" in capsys.readouterr().err
        if cv2.VideoCapture(9).isOpened():
            pytest.skip("this machine has a camera 9")
        assert main(["predict", "9", "--model", str(model_file), "--stream"]) == 2
        assert "camera 9: OpenCV cannot open this camera" in capsys.readouterr().err

    def test_a_parquet_name_without_pyarrow_stops_before_work(self, shared_videos, model_file,
                                                              tmp_path, monkeypatch, capsys):
        monkeypatch.setitem(sys.modules, "pyarrow", None)
        assert main(["predict", str(shared_videos / "single_face.mp4"), "--model",
                     str(model_file), "--frames-csv", str(tmp_path / "f.parquet")]) == 2
        assert "needs pyarrow" in capsys.readouterr().err
        assert not (tmp_path / "f.parquet").exists()


@pytest.mark.slow
def test_windows_of_an_aligned_clip_are_those_of_the_video(shared_videos, model):
    """``predict_windows`` (an AlignedClip already tracked, as ``dfer explain`` has it) gives the
    rows ``predict_video`` gives for the same video."""
    from handcrafted_dfer.analyze.timeline import predict_windows

    video = shared_videos / "face_noface.mov"
    clip, _ = track_and_align(video, model.config)
    ours = predict_windows(clip, model, window=16, stride=8)
    theirs = predict_video(video, model, window=16, stride=8)
    assert ours.attrs["video"] == str(video) and ours.attrs["faces"] == [0]
    columns = [c for c in theirs.columns if c != "label"]
    np.testing.assert_allclose(ours[columns].to_numpy(float), theirs[columns].to_numpy(float))
    assert ours["label"].tolist() == theirs["label"].tolist()
