"""Frames that already hold a face (``faces="cropped"`` / ``"aligned"``), and the crop box."""

from __future__ import annotations

import cv2
import dlib
import numpy as np
import pytest

from handcrafted_dfer.clip import AlignedClip
from handcrafted_dfer.config import PreprocessConfig
from handcrafted_dfer.face.align import (
    CANONICAL_68, CROP_CENTRE, CROP_SIDE, align_face, alignment_points, apply_affine,
    canonical_landmarks, estimate_similarity,
)
from handcrafted_dfer.face.crops import fit_crop_landmarks
from handcrafted_dfer.face.landmarks import fit_landmarks
from handcrafted_dfer.face.preprocess import preprocess_video, track_and_align
from handcrafted_dfer.face.preview import contact_sheet
from handcrafted_dfer.face.temporal import resample_clip
from handcrafted_dfer.face.track import GIVEN
from handcrafted_dfer.video import open_video

CROP = 48


@pytest.fixture(scope="module")
def face_crops(shared_videos, tmp_path_factory):
    """48x48 crops cut from real frames, like a face-crop dataset's, with the oracle.

    Oracle: dlib's HOG detector and the 68-point model on the full-resolution frame; the crop is
    a square 1.25 to 1.75 detector boxes wide, centred up to 0.15 box above the box centre
    (forehead in, like CK+48; the framing varies as between datasets), shrunk to 48x48, and the
    oracle landmarks are mapped into it. Returns
    ``(folder, full grey frames, oracle landmarks in frame pixels, oracle landmarks in crop
    pixels)``.
    """
    detector = dlib.get_frontal_face_detector()
    folder = tmp_path_factory.mktemp("crops")
    frames, full, in_crop = [], [], []
    for k, frame in enumerate(open_video(shared_videos / "WolfgangLanger_Pexels.mp4")):
        if k % 40:
            continue
        grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        found = detector(grey, 0)
        if len(found) != 1:
            continue
        r = found[0]
        box = np.array([r.left(), r.top(), r.right() + 1, r.bottom() + 1], float)
        marks = fit_landmarks(grey, box)
        width, shift = (1.25, 1.5, 1.75)[len(frames) % 3], (0.1, 0.0, 0.15)[len(frames) % 3]
        side = width * (box[2] - box[0])
        x0, y0 = (box[0] + box[2] - side) / 2, (box[1] + box[3] - side) / 2 - shift * side
        k = CROP / side
        to_crop = np.array([[k, 0, -x0 * k], [0, k, -y0 * k]])
        crop = cv2.warpAffine(grey, to_crop, (CROP, CROP), flags=cv2.INTER_AREA,
                              borderMode=cv2.BORDER_REPLICATE)
        cv2.imwrite(str(folder / f"frame_{len(frames):03d}.png"), crop)
        frames.append(grey)
        full.append(marks)
        in_crop.append(apply_affine(to_crop, marks))
    assert len(frames) >= 8
    return folder, frames, full, in_crop


def _point_error(a, b):
    return float(np.sqrt(((np.asarray(a) - np.asarray(b)) ** 2).sum(axis=1)).mean())


class TestCropped:
    def test_crop_landmarks_land_on_the_oracle_landmarks(self, face_crops):
        folder, _, _, oracle = face_crops
        files = sorted(folder.iterdir())
        errors = [_point_error(fit_crop_landmarks(cv2.imread(str(f), 0)), truth)
                  for f, truth in zip(files, oracle)]
        assert np.median(errors) < 1.0 and max(errors) < 3.0  # pixels of the 48x48 crop

    def test_aligned_clip_from_a_folder_of_crops(self, face_crops):
        folder, frames, full, oracle = face_crops
        config = PreprocessConfig(faces="cropped", size=96)
        clip, status = track_and_align(folder, config)
        n = len(frames)
        assert clip.frames.shape == (n, 96, 96) and clip.valid.all() and clip.has_landmarks
        assert (status == GIVEN).all()
        eyes = alignment_points(canonical_landmarks(96))[:2]
        distance = np.hypot(*(eyes[1] - eyes[0]))  # inter-ocular distance of the aligned crop
        errors, correlations = [], []
        for t, f in enumerate(sorted(folder.iterdir())):
            # the crop -> aligned map, recovered from this clip's own points, carries the oracle
            # landmarks to where the clip's landmarks should be
            ours = fit_crop_landmarks(cv2.imread(str(f), 0))
            to_aligned = estimate_similarity(ours, clip.landmarks[t])
            errors.append(_point_error(apply_affine(to_aligned, oracle[t]), clip.landmarks[t]))
            # and the aligned face looks like the one aligned from the full frame
            reference, _ = align_face(frames[t], full[t], size=96)
            correlations.append(np.corrcoef(reference.ravel().astype(float),
                                            clip.frames[t].ravel().astype(float))[0, 1])
        assert np.median(errors) < 0.08 * distance and max(errors) < 0.25 * distance
        assert np.median(correlations) > 0.9 and min(correlations) > 0.7  # 3: hand on face


class TestAligned:
    @pytest.mark.parametrize("size,interpolation", [(96, cv2.INTER_LINEAR), (32, cv2.INTER_AREA)])
    def test_frames_are_resized_exactly(self, face_crops, size, interpolation):
        folder = face_crops[0]
        clip = preprocess_video(folder, PreprocessConfig(faces="aligned", size=size),
                                keep_length=True)
        images = [cv2.imread(str(f), 0) for f in sorted(folder.iterdir())]
        expected = np.stack([cv2.resize(im, (size, size), interpolation=interpolation)
                             for im in images])
        np.testing.assert_array_equal(clip.frames, expected)
        assert clip.valid.all() and not clip.has_landmarks
        np.testing.assert_allclose(clip.landmarks, np.broadcast_to(
            canonical_landmarks(size), clip.landmarks.shape), atol=1e-4)

    def test_no_landmarks_survives_resampling_saving_and_the_preview(self, face_crops, tmp_path):
        clip = preprocess_video(face_crops[0], PreprocessConfig(faces="aligned", size=32,
                                                                frames=5))
        assert clip.n_frames == 5 and not resample_clip(clip, 3).has_landmarks
        clip.save(tmp_path / "c.npz")
        assert not AlignedClip.load(tmp_path / "c.npz").has_landmarks
        sheet = contact_sheet(clip, columns=5, scale=4)
        green = (sheet[..., 1] > 150) & (sheet[..., 0] < 60) & (sheet[..., 2] < 60)
        assert not green.any()  # no landmark dots drawn

    def test_old_clip_files_have_landmarks(self, tmp_path):
        np.savez_compressed(tmp_path / "old.npz", frames=np.zeros((2, 8, 8), np.uint8),
                            landmarks=np.zeros((2, 68, 2), np.float32), valid=np.ones(2, bool),
                            fps=np.float64(25), source=np.str_("x"))
        assert AlignedClip.load(tmp_path / "old.npz").has_landmarks


class TestCropBox:
    def test_defaults_are_the_canonical_box(self):
        config = PreprocessConfig()
        # the box chosen on CK+48 (experiments/ckplus48): side 0.95 box units about (0.5, 0.57)
        assert config.crop_side == CROP_SIDE == 0.95 and config.crop_centre == CROP_CENTRE
        np.testing.assert_allclose(canonical_landmarks(96, crop_side=0.95,
                                                       crop_centre=(0.5, 0.57)),
                                   canonical_landmarks(96))

    def test_a_tighter_box_spreads_the_face_over_the_crop(self):
        """Known by construction: a box of side s maps the canonical face at size / s pixels per
        box unit, centred on crop_centre."""
        size, side, centre = 100, 0.8, (0.5, 0.5)
        points = canonical_landmarks(size, crop_side=side, crop_centre=centre)
        np.testing.assert_allclose(points, (CANONICAL_68 - 0.5) * (size / side) + size / 2)
        image = np.random.default_rng(3).integers(0, 255, (300, 400), dtype=np.uint8)
        frame_points = apply_affine(np.array([[150.0, 0, 120], [0, 150, 40]]), CANONICAL_68)
        _, aligned = align_face(image, frame_points, size=size, crop_side=side,
                                crop_centre=centre)
        np.testing.assert_allclose(alignment_points(aligned), alignment_points(points), atol=1e-3)

    def test_preprocess_uses_the_box(self, face_crops):
        folder = face_crops[0]
        loose_side = PreprocessConfig().crop_side
        loose = track_and_align(folder, PreprocessConfig(faces="cropped", size=64))[0]
        tight = track_and_align(folder, PreprocessConfig(faces="cropped", size=64, crop_side=0.8,
                                                         crop_centre=(0.5, 0.5)))[0]
        spread = lambda c: np.ptp(c.landmarks[:, :, 0], axis=1).mean()  # noqa: E731
        assert spread(tight) == pytest.approx(spread(loose) * loose_side / 0.8, rel=0.02)

    @pytest.mark.parametrize("change", [{"faces": "crops"}, {"detector": "haar"},
                                        {"min_face": 10}, {"min_face": 40.5},
                                        {"crop_side": 0}, {"crop_centre": (0.5,)},
                                        {"crop_centre": (0.5, float("nan"))}])
    def test_bad_values_say_what_is_allowed(self, change):
        name = next(iter(change))
        with pytest.raises(ValueError, match=name):
            PreprocessConfig(**change)
