"""Similarity alignment against transforms whose answer is known."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage.transform import SimilarityTransform

from handcrafted_dfer.face.align import (
    CANONICAL_68, align_face, alignment_points, apply_affine, canonical_landmarks,
    estimate_similarity,
)
from handcrafted_dfer.face.detect import detect_faces
from handcrafted_dfer.face.landmarks import fit_landmarks
from handcrafted_dfer.video import open_video


def _similarity(angle_deg, scale, tx, ty):
    a = np.deg2rad(angle_deg)
    return np.array([[scale * np.cos(a), -scale * np.sin(a), tx],
                     [scale * np.sin(a), scale * np.cos(a), ty]])


class TestEstimateSimilarity:
    def test_recovers_a_known_transform(self):
        rng = np.random.default_rng(0)
        src = rng.uniform(0, 100, (10, 2))
        truth = _similarity(23, 1.7, -5, 12)
        dst = src @ truth[:, :2].T + truth[:, 2]
        np.testing.assert_allclose(estimate_similarity(src, dst), truth, atol=1e-9)

    def test_matches_scikit_image_on_noisy_points(self):
        rng = np.random.default_rng(1)
        src = rng.uniform(0, 100, (20, 2))
        dst = src @ _similarity(-40, 0.6, 3, 4)[:, :2].T + rng.normal(0, 2, (20, 2))
        reference = SimilarityTransform.from_estimate(src, dst) if hasattr(
            SimilarityTransform, "from_estimate") else SimilarityTransform()
        if not hasattr(SimilarityTransform, "from_estimate"):
            reference.estimate(src, dst)
        np.testing.assert_allclose(estimate_similarity(src, dst), reference.params[:2], atol=1e-8)

    def test_degenerate_source(self):
        with pytest.raises(ValueError):
            estimate_similarity(np.ones((4, 2)), np.zeros((4, 2)))


class TestCanonicalFace:
    def test_template_is_symmetric_and_level(self):
        mirrored = CANONICAL_68.copy()
        mirrored[:, 0] = 1 - mirrored[:, 0]
        # eye centres mirror each other: level eyes, centred on x = 0.5
        left, right = alignment_points(CANONICAL_68)[:2]
        assert left[1] == pytest.approx(right[1]) and (left[0] + right[0]) / 2 == pytest.approx(0.5)
        assert np.allclose(sorted(mirrored[:, 0]), sorted(CANONICAL_68[:, 0]), atol=1e-4)

    def test_landmarks_of_a_warped_canonical_face_align_back_exactly(self):
        size = 96
        image = np.random.default_rng(2).integers(0, 255, (300, 400), dtype=np.uint8)
        pixels = apply_affine(_similarity(17, 180, 150, 60), CANONICAL_68)
        _, aligned = align_face(image, pixels, size=size)
        np.testing.assert_allclose(aligned, canonical_landmarks(size), atol=1e-3)


@pytest.fixture(scope="module")
def face_frame(request):
    shared = request.getfixturevalue("shared_videos")
    frame = next(iter(open_video(shared / "single_face.mp4")))
    return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)


def _align(grey, size=96):
    boxes = detect_faces(grey, detect_width=grey.shape[1])
    assert len(boxes) >= 1
    return align_face(grey, fit_landmarks(grey, boxes[0]), size=size)


@pytest.mark.parametrize("angle,scale,shift", [(12, 0.85, (40, -20)), (-15, 1.1, (-30, 10))])
def test_warped_real_face_aligns_to_the_same_crop(face_frame, angle, scale, shift):
    """A real frame and its copy under a known similarity give the same canonical crop."""
    h, w = face_frame.shape
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
    matrix[:, 2] += shift
    warped = cv2.warpAffine(face_frame, matrix, (w, h), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_REPLICATE)
    crop_a, marks_a = _align(face_frame)
    crop_b, marks_b = _align(warped)
    error = np.linalg.norm(marks_a - marks_b, axis=1)
    assert error.mean() < 1.5 and np.median(error) < 1.5
    inner = (slice(10, 86), slice(10, 86))
    corr = np.corrcoef(crop_a[inner].ravel().astype(float), crop_b[inner].ravel().astype(float))[0, 1]
    assert corr > 0.9


def test_crop_size_and_landmarks_inside(face_frame):
    crop, marks = _align(face_frame, size=64)
    assert crop.shape == (64, 64) and crop.dtype == np.uint8 and marks.dtype == np.float32
    assert (marks >= -2).all() and (marks <= 66).all()
    # the aligned eye centres sit where the canonical template puts them
    np.testing.assert_allclose(alignment_points(marks)[:2], alignment_points(canonical_landmarks(64))[:2],
                               atol=3)


def test_clahe_spreads_the_histogram(face_frame):
    plain, _ = _align(face_frame)
    boxes = detect_faces(face_frame, detect_width=face_frame.shape[1])
    equalised, _ = align_face(face_frame, fit_landmarks(face_frame, boxes[0]), clahe=True)
    assert equalised.std() > plain.std()
