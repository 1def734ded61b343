"""Head pose from 68 landmarks: exact on projections of the 3D model, sane on real footage."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from handcrafted_dfer.face.pose import MODEL_LANDMARKS, MODEL_POINTS, POSE_ANGLES, head_pose

W, H = 640, 360


def _project(angles, translation) -> np.ndarray:
    """68 landmarks holding the pinhole projection (focal length W) of the model's six points,
    posed by the documented rotation: intrinsic Y-X-Z Euler angles about the model's axes (x
    right, y up, z toward the camera), then the flip of y and z into the camera's axes."""
    rotation = np.diag([1.0, -1.0, -1.0]) @ Rotation.from_euler("YXZ", angles,
                                                                degrees=True).as_matrix()
    p = MODEL_POINTS @ rotation.T + translation
    landmarks = np.zeros((68, 2))
    landmarks[list(MODEL_LANDMARKS)] = np.c_[W * p[:, 0] / p[:, 2] + W / 2,
                                             W * p[:, 1] / p[:, 2] + H / 2]
    return landmarks


def _random_poses(n, seed):
    rng = np.random.default_rng(seed)
    angles = rng.uniform([-45, -30, -30], [45, 30, 30], (n, 3))
    translations = np.c_[rng.uniform(-300, 300, n), rng.uniform(-200, 200, n),
                         rng.uniform(2500, 5000, n)]
    return angles, translations


class TestKnownPoses:
    def test_recovers_the_angles_of_an_exact_projection(self):
        angles, translations = _random_poses(50, 0)
        landmarks = np.stack([_project(a, t) for a, t in zip(angles, translations)])
        np.testing.assert_allclose(head_pose(landmarks, frame_size=(W, H)), angles, atol=1e-4)

    def test_one_pixel_of_landmark_noise_costs_a_few_degrees(self):
        angles, translations = _random_poses(100, 1)
        rng = np.random.default_rng(2)
        errors = []
        for a, t in zip(angles, translations):
            landmarks = _project(a, t)
            landmarks[list(MODEL_LANDMARKS)] += rng.normal(0, 1.0, (6, 2))
            errors.append(np.abs(head_pose(landmarks, frame_size=(W, H)) - a).max())
        assert np.median(errors) < 3.0 and np.percentile(errors, 90) < 6.0, np.round(errors, 1)

    @pytest.mark.parametrize("axis, sign_meaning", [
        (0, "yaw > 0 turns the nose toward the image's right"),
        (1, "pitch > 0 moves the nose down"),
        (2, "roll > 0 tilts the head counter-clockwise"),
    ])
    def test_signs_mean_what_the_docstring_says(self, axis, sign_meaning):
        angles = np.zeros(3)
        angles[axis] = 25.0
        front = _project(np.zeros(3), np.array([0.0, 0.0, 3000.0]))
        turned = _project(angles, np.array([0.0, 0.0, 3000.0]))
        eyes_mid = lambda lm: (lm[36] + lm[45]) / 2  # noqa: E731
        nose = lambda lm: lm[30] - eyes_mid(lm)  # noqa: E731
        if axis == 0:
            assert nose(turned)[0] > nose(front)[0] + 5, sign_meaning
        elif axis == 1:
            # the nose tip moves down towards the mouth corners
            gap = lambda lm: (lm[48, 1] + lm[54, 1]) / 2 - lm[30, 1]  # noqa: E731
            assert gap(turned) < gap(front) - 5, sign_meaning
        else:
            # image y points down: counter-clockwise raises the image-right eye corner
            assert turned[45, 1] < turned[36, 1] - 5, sign_meaning
        assert head_pose(turned, frame_size=(W, H))[axis] == pytest.approx(25.0, abs=1e-4)

    def test_shapes_and_missing_faces(self):
        one = _project(np.array([10.0, -5.0, 3.0]), np.array([0.0, 0.0, 3000.0]))
        missing = np.full((68, 2), np.nan)
        out = head_pose(np.stack([one, missing]), frame_size=(W, H))
        assert out.shape == (2, len(POSE_ANGLES)) and np.isnan(out[1]).all()
        assert head_pose(one, frame_size=(W, H)).shape == (3,)
        with pytest.raises(ValueError, match="shape"):
            head_pose(np.zeros((5, 2)), frame_size=(W, H))
        with pytest.raises(ValueError, match="frame_size"):
            head_pose(one, frame_size=(0, H))


@pytest.mark.slow
def test_real_footage_turns_and_tilts(shared_videos):
    """WolfgangLanger_Pexels.mp4, checked by eye: the head is turned and tilts; around frame 406
    it tilts counter-clockwise in the image (her image-right eye higher), around frame 458
    clockwise while she looks down; around frame 240 she looks up."""
    from handcrafted_dfer.face.track import track_faces
    from handcrafted_dfer.video import open_video

    stream = open_video(shared_videos / "WolfgangLanger_Pexels.mp4")
    frames = (cv2.cvtColor(f, cv2.COLOR_BGR2GRAY) for f in stream)
    landmarks = np.stack([f.landmarks if f.landmarks is not None else np.full((68, 2), np.nan)
                          for f in track_faces(frames)])
    yaw, pitch, roll = head_pose(landmarks, frame_size=(640, 360)).T
    assert np.nanpercentile(yaw, 95) - np.nanpercentile(yaw, 5) > 20
    assert np.nanmedian(roll[400:413]) > 10
    assert np.nanmedian(roll[452:465]) < -10
    assert np.nanmedian(pitch[452:465]) > np.nanmedian(pitch[234:247]) + 10
