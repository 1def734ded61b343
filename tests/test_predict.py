"""Sliding-window prediction on a real video: windows cover all of it; probabilities sum to 1."""

import cv2
import numpy as np
import pytest

from handcrafted_dfer.classify import make_classifier
from handcrafted_dfer.commands.predict import plot_timeline, predict_video, window_bounds
from handcrafted_dfer.config import PreprocessConfig
from handcrafted_dfer.evaluate.runner import describe_clips
from handcrafted_dfer.modelfile import TrainedModel


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
    config = PreprocessConfig(size=64, frames=8)
    rng = np.random.default_rng(0)
    # a real (if meaningless) model of the right width: random clips of two made-up classes
    volumes = [rng.integers(0, 256, (8, 64, 64), dtype=np.uint8) for _ in range(6)]
    X, _ = describe_clips(volumes, ["lbptop"])
    estimator = make_classifier("rf", n_trees=10, search=False).fit(X, np.arange(6) % 2)
    model = TrainedModel(estimator=estimator, labels=("calm", "lively"), config=config,
                         features=("lbptop",), feature_params={}, metadata={})

    result = predict_video(video, model, window=16, stride=10)
    n_frames, fps = _count_frames(video)
    assert result["n_frames"] == n_frames
    assert result["fps"] == pytest.approx(fps)
    windows = result["windows"]
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
    png = plot_timeline(result, tmp_path / "timeline.png")
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
