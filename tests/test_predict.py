"""Sliding-window prediction on a real video: windows cover all of it; faceless windows get no
label; train then predict computes exactly the training features."""

import json

import cv2
import numpy as np
import pytest

from handcrafted_dfer.analyze.timeline import (PROBA_PREFIX, WINDOW_COLUMNS, plot_timeline,
                                               predict_video, timeline_json, window_bounds)
from handcrafted_dfer.config import PreprocessConfig
from handcrafted_dfer.modelfile import TrainedModel
from handcrafted_dfer.pipeline import build_pipeline, fit_pipeline, without_run_options


class TestWindowBounds:
    def test_regular_with_end_aligned_extra_window(self):
        np.testing.assert_array_equal(window_bounds(20, 8, 5),
                                      [[0, 8], [5, 13], [10, 18], [12, 20]])

    def test_exact_fit_adds_nothing(self):
        np.testing.assert_array_equal(window_bounds(16, 8, 4), [[0, 8], [4, 12], [8, 16]])

    def test_short_video_is_one_window(self):
        np.testing.assert_array_equal(window_bounds(5, 16, 4), [[0, 5]])

    def test_stride_larger_than_window_still_reaches_the_end(self):
        bounds = window_bounds(30, 4, 10)
        np.testing.assert_array_equal(bounds, [[0, 4], [10, 14], [20, 24], [26, 30]])

    @pytest.mark.parametrize("bad", [0, -1, 2.5])
    def test_invalid(self, bad):
        with pytest.raises(ValueError, match="positive integer"):
            window_bounds(10, bad, 2)


def _random_model(config=PreprocessConfig(size=64, frames=8)) -> TrainedModel:
    """A real (if meaningless) model: a forest on random clips of two made-up classes."""
    rng = np.random.default_rng(0)
    volumes = [rng.integers(0, 256, (8, 64, 64), dtype=np.uint8) for _ in range(6)]
    pipeline = build_pipeline("lbptop-rf", preprocess=config)
    pipeline.set_params(clf__param_grid={}, clf__default=None)
    fit_pipeline(pipeline, volumes, np.arange(6) % 2)
    return TrainedModel(pipeline=without_run_options(pipeline), labels=("calm", "lively"),
                        config=config, metadata={"method": "lbptop-rf"})


def _count_frames(path) -> tuple[int, float]:
    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.read()[0]:
        n += 1
    fps = cap.get(cv2.CAP_PROP_FPS)
    cap.release()
    return n, fps


@pytest.mark.slow
def test_windows_cover_the_whole_real_video(shared_videos, tmp_path):
    video = shared_videos / "single_face.mp4"
    model = _random_model()

    table = predict_video(video, model, window=16, stride=10)
    n_frames, fps = _count_frames(video)
    assert table.attrs["n_frames"] == n_frames
    assert table.attrs["fps"] == pytest.approx(fps)
    assert list(table.columns) == [*WINDOW_COLUMNS, "proba_calm", "proba_lively"]
    assert (table["face_id"] == 0).all()
    windows = timeline_json(table)["windows"]
    np.testing.assert_array_equal(table[["start_frame", "end_frame"]].to_numpy(),
                                  window_bounds(n_frames, 16, 10))
    assert windows[0]["start_frame"] == 0 and windows[0]["start_s"] == 0.0
    assert windows[-1]["end_frame"] == n_frames
    assert windows[-1]["end_s"] == pytest.approx(n_frames / fps)
    covered = np.zeros(n_frames, dtype=bool)
    for w in windows:
        assert w["end_frame"] - w["start_frame"] == 16
        covered[w["start_frame"]:w["end_frame"]] = True
        assert sum(w["probabilities"].values()) == pytest.approx(1.0)
        assert set(w["probabilities"]) == {"calm", "lively"}
        assert w["no_face"] is False  # a face is visible throughout this video
    assert covered.all()
    png = plot_timeline(table, tmp_path / "timeline.png")
    assert cv2.imread(str(png)) is not None


@pytest.mark.parametrize("option", ["--window", "--stride"])
def test_window_and_stride_must_be_positive_integers(option, capsys):
    from handcrafted_dfer.cli import build_parser

    parser = build_parser()
    base = ["predict", "v.mp4", "--model", "m.joblib"]
    assert getattr(parser.parse_args(base + [option, "3"]), option[2:]) == 3
    with pytest.raises(SystemExit) as exc:
        parser.parse_args(base + [option, "0"])
    assert exc.value.code == 2
    assert f"argument {option}: expected a positive integer; got 0" in capsys.readouterr().err


@pytest.mark.slow
def test_windows_without_a_face_get_no_label(shared_videos):
    """face_noface.mov shows a face for about its first 70 frames only (SOURCES.md)."""
    table = predict_video(shared_videos / "face_noface.mov", _random_model(), window=16,
                          stride=8)
    result = json.loads(json.dumps(timeline_json(table)))  # the JSON form holds null for them
    late = [w for w in result["windows"] if w["start_frame"] >= 100]
    early = [w for w in result["windows"] if w["end_frame"] <= 60]
    assert late and early
    for w in late:
        assert w["no_face"] and w["label"] is None and w["probabilities"] is None
        assert w["valid_fraction"] < 0.5
    for w in early:
        assert not w["no_face"] and w["label"] in ("calm", "lively")
    late_rows = table[table["start_frame"] >= 100]
    assert late_rows["label"].isna().all()
    assert late_rows[[PROBA_PREFIX + "calm", PROBA_PREFIX + "lively"]].isna().all().all()


@pytest.mark.slow
def test_train_then_predict_uses_exactly_the_training_features(tmp_path):
    """A non-default spec survives training, the model file and prediction: the features that
    prediction computes for a clip are the features the training pipeline computed for it."""
    from handcrafted_dfer.cli import main
    from handcrafted_dfer.datasets.synthetic import load_synthetic
    from handcrafted_dfer.face.preprocess import preprocess_video
    from handcrafted_dfer.modelfile import load_model

    root = tmp_path / "synthetic"
    dataset = load_synthetic(root, subjects=3, clips_per_class=1, frames=(10, 12), size=160,
                             progress=False)
    model_path = tmp_path / "model.skops"
    status = main(["train", "--dataset", "synthetic", "--root", str(root),
                   "--dataset-option", "subjects=3", "--dataset-option", "clips_per_class=1",
                   "--dataset-option", "frames=[10,12]", "--dataset-option", "size=160",
                   "--features", "lbptop,hog3d", "--classifier", "linear-svm",
                   "--set", "lbptop.radius=2", "--set", "lbptop.grid=[1,3,3]",
                   "--set", "hog3d.grid=[1,2,2]", "--size", "64", "--frames", "8",
                   "--cache", str(tmp_path / "cache"), "--model", str(model_path), "--quiet"])
    assert status == 0
    model = load_model(model_path)
    assert model.method == "lbptop+hog3d-linear-svm"
    assert model.metadata["settings"]["lbptop"]["radius"] == 2
    assert model.metadata["settings"]["lbptop"]["grid"] == [1, 3, 3]
    union = model.pipeline.named_steps["features"]
    lbptop = union.transformer_list[0][1].extractor_
    assert lbptop.radius == 2 and list(lbptop.grid) == [1, 3, 3]
    # the same clip through a freshly built training pipeline and through the loaded model
    clip = preprocess_video(dataset.clips[0].path, model.config)
    training = build_pipeline(model.method, preprocess=model.config).set_params(
        features__lbptop__extractor__radius=2, features__lbptop__extractor__grid=[1, 3, 3],
        features__hog3d__extractor__grid=[1, 2, 2])
    expected = training.named_steps["features"].fit_transform([clip])
    np.testing.assert_array_equal(union.transform([clip]), expected)
    assert expected.shape[1] == 3 * 3 * 3 * 59 + 2 * 2 * 20
    # and the command line predicts with it
    assert main(["predict", dataset.clips[0].path, "--model", str(model_path), "--json",
                 str(tmp_path / "out.json"), "--quiet"]) == 0
    saved = json.loads((tmp_path / "out.json").read_text())
    assert saved["method"] == "lbptop+hog3d-linear-svm"
    assert all(w["label"] in model.labels for w in saved["windows"] if not w["no_face"])
