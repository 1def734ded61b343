"""``dfer preprocess`` end to end, and the contact sheet."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from handcrafted_dfer.clip import AlignedClip
from handcrafted_dfer.config import PreprocessConfig
from handcrafted_dfer.cli import build_parser
from handcrafted_dfer.errors import VideoReadError
from handcrafted_dfer.face.preview import contact_sheet


def _parse(argv):
    return build_parser().parse_args(["preprocess", *argv])


def test_preprocess_writes_clip_and_preview(shared_videos, tmp_path):
    out, sheet = tmp_path / "clip.npz", tmp_path / "sheet.png"
    args = _parse([str(shared_videos / "single_face.mp4"), "--out", str(out), "--size", "64",
                   "--frames", "8", "--clahe", "--preview", str(sheet), "--quiet"])
    assert args.func(args) == 0
    clip = AlignedClip.load(out)
    assert clip.frames.shape == (8, 64, 64) and clip.valid.all()
    assert clip.source.endswith("single_face.mp4") and clip.fps == pytest.approx(30, abs=0.1)
    image = cv2.imread(str(sheet))
    assert image.shape == (64 * 2, 8 * 64 * 2, 3)
    green = (image[..., 1] > 150) & (image[..., 0] < 60) & (image[..., 2] < 60)
    assert green.sum() > 8 * 40  # landmarks drawn on every tile


def test_missing_input_is_a_video_read_error(tmp_path):
    args = _parse([str(tmp_path / "absent.mp4"), "--out", str(tmp_path / "c.npz"), "--quiet"])
    with pytest.raises(VideoReadError, match="absent.mp4"):
        args.func(args)


def test_cli_main_prints_the_error_and_exits_2(tmp_path, capsys):
    try:
        from handcrafted_dfer import cli
        cli.build_parser()
    except ModuleNotFoundError as exc:
        pytest.skip(f"not every dfer subcommand exists yet: {exc}")
    status = cli.main(["preprocess", str(tmp_path / "absent.mp4"), "--out", str(tmp_path / "c.npz")])
    assert status == 2
    err = capsys.readouterr().err
    assert "absent.mp4" in err and "Traceback" not in err


@pytest.mark.parametrize("bad", ["0", "-3", "x"])
def test_size_must_be_a_positive_integer(tmp_path, bad):
    with pytest.raises(SystemExit):
        _parse(["in.mp4", "--out", "c.npz", "--size", bad])


def test_contact_sheet_marks_invalid_frames():
    frames = np.full((3, 16, 16), 128, np.uint8)
    landmarks = np.full((3, 68, 2), 8, np.float32)
    clip = AlignedClip(frames, landmarks, np.array([True, False, True]), 25.0, "x")
    sheet = contact_sheet(clip, columns=3, scale=2)
    assert sheet.shape == (32, 96, 3)
    red = (sheet[..., 2] > 200) & (sheet[..., 1] < 50) & (sheet[..., 0] < 50)
    tiles = [red[:, 32 * k:32 * (k + 1)] for k in range(3)]
    assert tiles[1][:, 0].all() and tiles[1][0, :].all()  # red border on the invalid frame
    assert not tiles[0].any() and not tiles[2].any()
    green = (sheet[..., 1] > 150) & (sheet[..., 2] < 50)
    assert green[:, :32].any() and not green[:, 32:64].any()


def test_face_options_reach_the_clip(tmp_path):
    """--faces aligned on a folder of frames: frames resized (oracle: cv2.resize), no landmarks."""
    folder = tmp_path / "frames"
    folder.mkdir()
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (40, 40), dtype=np.uint8) for _ in range(3)]
    for k, image in enumerate(images):
        cv2.imwrite(str(folder / f"{k}.png"), image)
    out = tmp_path / "clip.npz"
    args = _parse([str(folder), "--out", str(out), "--faces", "aligned", "--size", "20",
                   "--frames", "3", "--quiet"])
    assert args.func(args) == 0
    clip = AlignedClip.load(out)
    assert not clip.has_landmarks
    expected = [cv2.resize(image, (20, 20), interpolation=cv2.INTER_AREA) for image in images]
    np.testing.assert_array_equal(clip.frames, np.stack(expected))


def test_detection_and_crop_box_flags_parse_into_the_config():
    args = _parse(["in.mp4", "--out", "c.npz", "--faces", "cropped", "--min-face", "24",
                   "--detector", "cnn", "--crop-side", "0.9", "--crop-centre", "0.5", "0.6"])
    assert (args.faces, args.min_face, args.detector) == ("cropped", 24, "cnn")
    assert args.crop_side == 0.9 and tuple(args.crop_centre) == (0.5, 0.6)
    defaults = _parse(["in.mp4", "--out", "c.npz"])  # flags left out keep the config's defaults
    assert (defaults.faces, defaults.min_face, defaults.detector) == (None, None, None)
    config = PreprocessConfig()
    assert (config.face_mode, config.min_face, config.detector) == ("detect", 40, "hog")


@pytest.mark.parametrize("bad", [["--faces", "crops"], ["--detector", "haar"],
                                 ["--min-face", "0"], ["--crop-centre", "0.5"]])
def test_bad_face_options_are_refused(bad):
    with pytest.raises(SystemExit):
        _parse(["in.mp4", "--out", "c.npz", *bad])


def test_too_small_min_face_exits_2_with_the_rule(tmp_path, capsys):
    try:
        from handcrafted_dfer import cli
        cli.build_parser()
    except ModuleNotFoundError as exc:
        pytest.skip(f"not every dfer subcommand exists yet: {exc}")
    frame = tmp_path / "f.png"
    cv2.imwrite(str(frame), np.zeros((8, 8), np.uint8))
    status = cli.main(["preprocess", str(frame), "--out", str(tmp_path / "c.npz"),
                       "--min-face", "10"])
    assert status == 2
    err = capsys.readouterr().err
    assert "min_face" in err and "at least 20" in err and "Traceback" not in err
