"""Face detection, tracking, gap filling, temporal resampling and the whole preprocessing stage."""

from __future__ import annotations

import cv2
import dlib
import numpy as np
import pytest

from handcrafted_dfer.clip import AlignedClip
from handcrafted_dfer.config import PreprocessConfig
from handcrafted_dfer.errors import NoFaceError
from handcrafted_dfer.face.detect import FaceFinder, box_iou, choose_face, detect_faces
from handcrafted_dfer.face.preprocess import preprocess_video, track_and_align
from handcrafted_dfer.face.temporal import resample_clip
from handcrafted_dfer.face.track import INTERPOLATED, MISSING, TRACKED, TrackedFrame, fill_gaps
from handcrafted_dfer.video import open_video


def _grey(frame):
    return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)


class TestChooseFace:
    def test_largest_central_wins(self):
        boxes = np.array([[0, 0, 60, 60], [150, 100, 250, 200], [300, 0, 400, 100]], float)
        assert choose_face(boxes, (300, 400)) == 1  # as large as the corner one, but central

    def test_larger_beats_central(self):
        boxes = np.array([[180, 130, 220, 170], [0, 0, 150, 150]], float)
        assert choose_face(boxes, (300, 400)) == 1

    def test_previous_face_is_kept(self):
        boxes = np.array([[150, 100, 250, 200], [0, 0, 60, 60]], float)
        assert choose_face(boxes, (300, 400), previous=np.array([5, 5, 60, 60.0])) == 1
        assert choose_face(np.empty((0, 5)), (300, 400)) is None

    def test_iou(self):
        assert box_iou(np.array([0, 0, 10, 10.]), np.array([5, 0, 15, 10.])) == pytest.approx(50 / 150)


class TestFillGaps:
    def _stream(self, present):
        """Frames whose landmarks all equal the frame index where a face is present."""
        return [TrackedFrame(k, None, np.full((68, 2), float(k)) if p else None,
                             TRACKED if p else MISSING) for k, p in enumerate(present)]

    def test_short_gap_is_interpolated_long_and_edge_gaps_are_not(self):
        present = [0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0]
        out = list(fill_gaps(self._stream(present), max_gap=3))
        assert [f.index for f in out] == list(range(len(present)))
        status = [f.status for f in out]
        assert status[3:6] == [INTERPOLATED] * 3  # gap of 3 between frames 2 and 6
        assert status[7:11] == [MISSING] * 4  # gap of 4 > max_gap
        assert status[0] == MISSING and status[13] == MISSING  # no face on one side
        for k in (3, 4, 5):  # linear between landmark value 2 (frame 2) and 6 (frame 6)
            assert out[k].landmarks[0, 0] == pytest.approx(np.interp(k, [2, 6], [2, 6]))

    def test_max_gap_zero_fills_nothing(self):
        out = list(fill_gaps(self._stream([1, 0, 1]), max_gap=0))
        assert [f.status for f in out] == [TRACKED, MISSING, TRACKED]


class TestResample:
    def _clip(self, n, valid=None):
        frames = np.stack([np.full((8, 8), k, np.uint8) for k in range(n)])
        landmarks = np.repeat(np.arange(n, dtype=np.float32)[:, None, None], 68, 1).repeat(2, 2)
        return AlignedClip(frames, landmarks, np.ones(n, bool) if valid is None else valid, 30.0, "x")

    @pytest.mark.parametrize("n,t", [(40, 16), (5, 16), (16, 16), (3, 7), (9, 1)])
    def test_frame_k_with_value_k(self, n, t):
        out = resample_clip(self._clip(n), t)
        expected = np.linspace(0, n - 1, t) if t > 1 else np.array([(n - 1) / 2])
        assert out.frames.shape == (t, 8, 8) and out.landmarks.shape == (t, 68, 2)
        assert np.all(np.abs(out.frames[:, 0, 0] - expected) <= 0.5)
        np.testing.assert_allclose(out.landmarks[:, 0, 0], expected, atol=1e-5)
        assert np.all(np.diff(out.frames[:, 0, 0].astype(int)) >= 0)  # order kept
        assert out.fps == 30.0 and out.source == "x"

    def test_invalid_frames_spread_to_samples_that_use_them(self):
        valid = np.ones(11, bool)
        valid[5] = False
        out = resample_clip(self._clip(11, valid), 21)  # samples at 0, 0.5, 1, ..., 10
        positions = np.linspace(0, 10, 21)
        expected = ~((positions > 4) & (positions < 6))
        np.testing.assert_array_equal(out.valid, expected)


def _oracle(path, stride=4):
    """Plain dlib detector on full-resolution frames: True where it finds a face."""
    detector = dlib.get_frontal_face_detector()
    found = {}
    for k, frame in enumerate(open_video(path)):
        if k % stride == 0:
            found[k] = len(detector(_grey(frame), 0)) > 0
    return found


@pytest.fixture(scope="module")
def tracked(request):
    """Each real video tracked once per session: name -> (clip, status)."""
    shared = request.getfixturevalue("shared_videos")
    names = ["WolfgangLanger_Pexels.mp4", "face_noface.mov", "noface_face.mov"]
    return {name: track_and_align(shared / name) for name in names}


@pytest.mark.slow
class TestRealVideos:
    def test_wolfgang_tracked_in_98_percent(self, tracked):
        clip, status = tracked["WolfgangLanger_Pexels.mp4"]
        assert clip.n_frames == 472 and len(status) == 472
        assert clip.valid.mean() >= 0.98
        assert clip.frames.shape == (472, 96, 96)

    @pytest.mark.parametrize("name", ["face_noface.mov", "noface_face.mov"])
    def test_valid_mask_matches_the_detector_oracle(self, tracked, shared_videos, name):
        clip, _ = tracked[name]
        oracle = _oracle(shared_videos / name)
        agree = np.mean([clip.valid[k] == has_face for k, has_face in oracle.items()])
        assert agree >= 0.95
        assert 0.2 < np.mean(list(oracle.values())) < 0.8  # the oracle sees both parts

    def test_no_face_raises_naming_the_file(self, shared_videos):
        with pytest.raises(NoFaceError, match="no_face.mp4"):
            preprocess_video(shared_videos / "no_face.mp4")

    def test_aligned_landmarks_near_canonical_positions(self, tracked):
        clip, _ = tracked["WolfgangLanger_Pexels.mp4"]
        eyes = clip.landmarks[clip.valid][:, 36:48].reshape(-1, 2, 6, 2).mean(axis=2)
        # eye centres sit level and apart the same in every aligned frame (within a few pixels)
        assert np.median(np.abs(eyes[:, 0, 1] - eyes[:, 1, 1])) < 3
        spread = eyes[:, 1, 0] - eyes[:, 0, 0]
        assert spread.std() < 3


def test_detection_on_a_downscaled_frame_maps_back(shared_videos):
    grey = _grey(next(iter(open_video(shared_videos / "single_face.mp4"))))
    full = dlib.get_frontal_face_detector()(grey, 0)[0]
    small = detect_faces(grey, detect_width=320)
    assert len(small) == 1
    assert box_iou(small[0], np.array([full.left(), full.top(), full.right(), full.bottom()], float)) > 0.6


def test_largest_face_is_followed_in_an_array(shared_videos):
    """Two copies of a real face, one half size: the big one is tracked."""
    frames = []
    for k, frame in enumerate(open_video(shared_videos / "single_face.mp4")):
        if k >= 12:
            break
        grey = _grey(frame)
        canvas = np.full((360, 960), 128, np.uint8)
        canvas[:, 320:] = grey
        canvas[100:280, :320] = cv2.resize(grey, (320, 180), interpolation=cv2.INTER_AREA)
        frames.append(canvas)
    clip, status = track_and_align(np.stack(frames), PreprocessConfig(detect_width=960))
    assert clip.valid.all() and clip.source == "<array>"
    big = detect_faces(frames[0], detect_width=960)
    chosen = [b for b in big if b[0] >= 320]
    assert chosen, "the oracle detector should see the large face"
    # the aligned nose tip of frame 0 comes from the right half: compare with the large face alone
    alone, _ = track_and_align(np.stack([f[:, 320:] for f in frames]),
                               PreprocessConfig(detect_width=640))
    assert np.abs(clip.frames[0].astype(int) - alone.frames[0]).mean() < 8


def test_preprocess_array_to_fixed_length(shared_videos):
    frames = [f for _, f in zip(range(10), open_video(shared_videos / "single_face.mp4"))]
    clip = preprocess_video(np.stack(frames), PreprocessConfig(size=64, frames=16))
    assert clip.frames.shape == (16, 64, 64) and clip.valid.all() and clip.fps == 25.0


def _composite(frames, placements, n):
    """``n`` grey 640x360 frames of a flat background with real frames pasted at reduced scale.

    ``placements``: ``(first source frame, scale, top, left, first output frame)`` per paste.
    """
    out = []
    for k in range(n):
        canvas = np.full((360, 640, 3), 110, np.uint8)
        for first, scale, top, left, appears in placements:
            if k >= appears:
                patch = cv2.resize(frames[first + k], None, fx=scale, fy=scale,
                                   interpolation=cv2.INTER_AREA)
                canvas[top:top + patch.shape[0], left:left + patch.shape[1]] = patch
        out.append(canvas)
    return out


@pytest.fixture(scope="module")
def small_face_videos(shared_videos, video_writer, tmp_path_factory):
    """Videos of faces 45-110 px wide in 640x360 frames (WolfgangLanger's 216-259 px face at
    0.2-0.42 scale), written and decoded for real: name -> path."""
    video = open_video(shared_videos / "WolfgangLanger_Pexels.mp4")
    source = [f for _, f in zip(range(180), video)]
    folder = tmp_path_factory.mktemp("small_faces")
    layouts = {
        "two_faces": [(0, 0.42, 150, 330, 0), (100, 0.21, 60, 60, 0)],  # ~100 px and ~50 px
        "one_small_face_appearing": [(60, 0.2, 200, 300, 23)],  # ~48 px, from frame 23 on
    }
    return {name: video_writer(folder / f"{name}.mp4", _composite(source, layout, 75), fps=24)
            for name, layout in layouts.items()}


def _upsampled_oracle(path, stride=5):
    """dlib's HOG detector at full resolution with one upsampling: face widths per sampled frame."""
    detector = dlib.get_frontal_face_detector()
    return {k: [r.width() for r in detector(_grey(frame), 1)]
            for k, frame in enumerate(open_video(path)) if k % stride == 0}


@pytest.mark.slow
class TestSmallFaces:
    @pytest.mark.parametrize("name,appears", [("two_faces", 0), ("one_small_face_appearing", 23)])
    def test_found_where_the_upsampled_detector_finds_one(self, small_face_videos, name, appears):
        oracle = _upsampled_oracle(small_face_videos[name])
        widths = [w for found in oracle.values() for w in found]
        assert widths and 40 <= min(widths) and max(widths) <= 115  # faces 45-110 px wide
        clip, _ = track_and_align(small_face_videos[name])
        with_face = [k for k, found in oracle.items() if found]
        assert np.mean([clip.valid[k] for k in with_face]) >= 0.95
        assert not clip.valid[:appears].any()  # no face before the small one appears

    def test_the_fast_pass_alone_misses_them(self, small_face_videos):
        """With min_face above what the reduced copy sees, nothing is found: the small-face
        search is what finds these faces."""
        with pytest.raises(NoFaceError, match="0 of 75 frames"):
            track_and_align(small_face_videos["two_faces"], PreprocessConfig(min_face=160))


class TestFaceFinder:
    def test_small_search_only_where_the_fast_pass_cannot_see(self):
        assert FaceFinder(min_face=40).needs_small(640)  # reduced copy sees faces >= 160 px
        assert not FaceFinder(min_face=160).needs_small(640)
        assert FaceFinder(min_face=40).needs_small(320)  # full width, but 40 < 80 px
        assert FaceFinder(min_face=40).small_scale() == 2.0  # dlib's one upsampling

    def test_around_finds_a_small_face_at_a_fixed_cost(self, shared_videos):
        grey = _grey(next(iter(open_video(shared_videos / "WolfgangLanger_Pexels.mp4"))))
        canvas = np.full((360, 640), 110, np.uint8)
        small = cv2.resize(grey, None, fx=0.2, fy=0.2, interpolation=cv2.INTER_AREA)
        canvas[100:100 + small.shape[0], 200:200 + small.shape[1]] = small
        truth = dlib.get_frontal_face_detector()(canvas, 1)
        assert len(truth) == 1
        truth = np.array([truth[0].left(), truth[0].top(), truth[0].right() + 1,
                          truth[0].bottom() + 1], float)
        finder = FaceFinder()
        assert len(finder.fast(canvas)) == 0
        found = finder.around(canvas, truth + [3, -2, 3, -2])  # a box predicted one frame late
        assert len(found) >= 1 and box_iou(found[0], truth) > 0.6
        full = finder.small(canvas)
        assert len(full) == 1 and box_iou(full[0], truth) > 0.6


@pytest.mark.slow
def test_cnn_detector_finds_the_face_on_real_footage(shared_videos):
    frames = [_grey(f) for _, f in zip(range(12), open_video(shared_videos / "single_face.mp4"))]
    hog = dlib.get_frontal_face_detector()(frames[0], 0)[0]
    truth = np.array([hog.left(), hog.top(), hog.right() + 1, hog.bottom() + 1], float)
    boxes = detect_faces(frames[0], detector="cnn")
    assert len(boxes) == 1 and box_iou(boxes[0], truth) > 0.6  # HOG-like box after calibration
    clip = preprocess_video(np.stack(frames), PreprocessConfig(detector="cnn", size=64, frames=12))
    assert clip.valid.all()
    eyes = clip.landmarks[:, 36:48].reshape(-1, 2, 6, 2).mean(axis=2)
    assert np.abs(eyes[:, 0, 1] - eyes[:, 1, 1]).max() < 3  # aligned: eyes level


@pytest.mark.parametrize("reader, what", [("shape_predictor", "shape predictor"),
                                          ("cnn_face_detection_model_v1", "CNN face detector"),
                                          ("face_recognition_model_v1", "face recognition model")])
def test_a_damaged_dlib_model_file_is_a_model_file_error(tmp_path, reader, what):
    """Real dlib readers on a file of garbage: a ModelFileError naming the file, no traceback."""
    import dlib

    from handcrafted_dfer.errors import ModelFileError
    from handcrafted_dfer.face.models import _read_dlib_model

    path = tmp_path / "model.dat"
    path.write_bytes(b"not a dlib model" * 64)
    with pytest.raises(ModelFileError, match=f"could not read this {what}") as caught:
        _read_dlib_model(getattr(dlib, reader), str(path), what)
    assert str(path) in str(caught.value)
