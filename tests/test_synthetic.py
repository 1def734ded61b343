"""The embedded synthetic set: CK+ layout, determinism, expressions that really move the face."""

from __future__ import annotations

import dataclasses
import re

import cv2
import numpy as np
import pytest
from scipy.spatial import procrustes
from skimage.transform import PiecewiseAffineTransform, warp

from handcrafted_dfer.cli import build_parser
from handcrafted_dfer.datasets import synthetic
from handcrafted_dfer.datasets._warp import triangulate, warp_piecewise_affine
from handcrafted_dfer.errors import DatasetLayoutError
from handcrafted_dfer.face.models import load_detector, load_shape_predictor

TINY = dict(subjects=2, clips_per_class=1, frames=(6, 8), size=200, seed=3)
# CK+ codes as documented in GUIDE §5 (independent of the generator's own table)
CK_CODES = {"neutral": 0, "anger": 1, "disgust": 3, "fear": 4, "happiness": 5, "sadness": 6,
            "surprise": 7}
CK_FLOAT = re.compile(r"^\s*[0-9]\.[0-9]{7}e[+-][0-9]{2}\s*$")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("syn") / "set"
    return synthetic.generate_synthetic(root, progress=False, **TINY)


def _files(root):
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())


def _dlib_landmarks(frame):
    faces = load_detector()(frame, 1)
    assert len(faces) >= 1, "dlib found no face in a rendered frame"
    face = max(faces, key=lambda r: r.width() * r.height())
    s = load_shape_predictor(68)(frame, face)
    return np.array([[s.part(i).x, s.part(i).y] for i in range(68)], float)


def _face_coords(points):
    """Landmarks in a face frame: origin at the eye midpoint, x along the eyes, unit = IOD."""
    right, left = points[36:42].mean(0), points[42:48].mean(0)
    iod = np.linalg.norm(left - right)
    ex = (left - right) / iod
    basis = np.array([ex, [-ex[1], ex[0]]])
    return (points - (right + left) / 2) @ basis.T / iod


class TestLayout:
    def test_ckplus_tree_and_emotion_files(self, tiny):
        images, emotion, marks = tiny / "cohn-kanade-images", tiny / "Emotion", tiny / "Landmarks"
        assert sorted(p.name for p in images.iterdir()) == ["S901", "S902"]
        for subject in ("S901", "S902"):
            sequences = sorted(p.name for p in (images / subject).iterdir())
            assert sequences == [f"{i:03d}" for i in range(1, 8)]
            codes = []
            for seq in sequences:
                pngs = sorted(p.name for p in (images / subject / seq).iterdir())
                n = len(pngs)
                assert 6 <= n <= 8
                assert pngs == [f"{subject}_{seq}_{t:08d}.png" for t in range(1, n + 1)]
                frame = cv2.imread(str(images / subject / seq / pngs[0]), cv2.IMREAD_UNCHANGED)
                assert frame.shape == (200, 200) and frame.dtype == np.uint8
                labels = list((emotion / subject / seq).iterdir())
                assert [p.name for p in labels] == [f"{subject}_{seq}_{n:08d}_emotion.txt"]
                text = labels[0].read_text()
                assert CK_FLOAT.match(text), repr(text)
                codes.append(float(text))
                marks_file = marks / subject / seq / f"{subject}_{seq}_{n:08d}_landmarks.txt"
                rows = marks_file.read_text()
                assert np.loadtxt(rows.splitlines()).shape == (68, 2)
            assert sorted(codes) == sorted(float(c) for c in CK_CODES.values())
        assert "SYNTHETIC" in (tiny / "README.txt").read_text()
        readme = " ".join((tiny / "README.txt").read_text().split())
        assert "not evidence of accuracy on real faces" in readme

    def test_loader_reuses_complete_set(self, tiny):
        before = {p: (tiny / p).stat().st_mtime_ns for p in _files(tiny)}
        ds = synthetic.load_synthetic(tiny, progress=False, **TINY)
        assert {p: (tiny / p).stat().st_mtime_ns for p in _files(tiny)} == before
        assert ds.name == "synthetic" and len(ds) == 14
        assert ds.labels == tuple(sorted(CK_CODES, key=CK_CODES.get))
        assert sorted(set(ds.subjects)) == ["S901", "S902"]
        for clip in ds.clips:
            (label_file,) = (tiny / "Emotion" / clip.subject / clip.id.split("_")[1]).iterdir()
            assert CK_CODES[clip.label] == float(label_file.read_text())

    def test_rejects_foreign_folder_and_bad_numbers(self, tmp_path):
        (tmp_path / "mine.txt").write_text("user data")
        with pytest.raises(DatasetLayoutError, match="synthetic.json"):
            synthetic.generate_synthetic(tmp_path, subjects=1, progress=False)
        assert (tmp_path / "mine.txt").read_text() == "user data"
        for bad in (dict(subjects=0), dict(clips_per_class=0), dict(frames=(10, 5)), dict(size=64)):
            with pytest.raises(ValueError):
                synthetic.generate_synthetic(tmp_path / "new", progress=False, **bad)


class TestDeterminism:
    def test_same_seed_same_bytes_other_seed_other_pixels(self, tiny, tmp_path):
        again = synthetic.generate_synthetic(tmp_path / "again", progress=False, **TINY)
        files = [f for f in _files(tiny) if f.suffix == ".png"]
        assert files == [f for f in _files(again) if f.suffix == ".png"]
        assert all((tiny / f).read_bytes() == (again / f).read_bytes() for f in files)
        other = synthetic.generate_synthetic(tmp_path / "other", progress=False,
                                             **{**TINY, "subjects": 1, "seed": 4})
        first = "cohn-kanade-images/S901/001/S901_001_00000001.png"
        a, b = (cv2.imread(str(r / first), 0).astype(float) for r in (tiny, other))
        assert np.abs(a - b).mean() > 5

    def test_regenerates_when_parameters_change(self, tmp_path):
        small = {**TINY, "subjects": 1, "frames": (3, 3)}
        root = synthetic.generate_synthetic(tmp_path / "s", progress=False, **small)
        ds = synthetic.load_synthetic(root, progress=False, **{**small, "clips_per_class": 2})
        assert len(ds) == 14


def _plain_spec(emotion, portrait="astronaut", n=6):
    """A clip with no head motion, lighting change, noise or occlusion."""
    from handcrafted_dfer.datasets._facs import PROTOTYPES

    style = synthetic.SubjectStyle(portrait)
    gains = tuple((au, 1.0) for au in PROTOTYPES[emotion])
    return synthetic.ClipSpec(style, emotion, n, 200, gains)


class TestExpressions:
    def test_happy_changes_the_mouth_more_than_the_eyes(self):
        frames, marks = synthetic.render_clip(_plain_spec("happiness"))
        diff = np.abs(frames[-1].astype(float) - frames[0])

        def region(idx, pad=6):
            x0, y0 = np.floor(marks[0, idx].min(0)).astype(int) - pad
            x1, y1 = np.ceil(marks[0, idx].max(0)).astype(int) + pad
            return diff[y0:y1, x0:x1].mean()

        mouth, eyes = region(slice(48, 68)), region(slice(36, 48))
        assert mouth > 2 * eyes, (mouth, eyes)

    def test_surprise_raises_brows_and_opens_mouth_in_landmarks_and_for_dlib(self):
        rng = np.random.default_rng(7)
        # the astronaut: dlib places Grace Hopper's brows partly on her glasses' frames
        style = synthetic.sample_subject_style(rng, "astronaut")
        spec = synthetic.sample_clip_spec(rng, style, "surprise", frames=(10, 10), size=240,
                                          occlusion_rate=0.0)
        frames, marks = synthetic.render_clip(spec)

        def brow_raise_and_mouth(points):
            q = _face_coords(points)
            corners = q[[36, 39, 42, 45], 1].mean()
            return corners - q[17:27, 1].mean(), q[66, 1] - q[62, 1]

        intended = np.subtract(brow_raise_and_mouth(marks[-1]), brow_raise_and_mouth(marks[0]))
        seen = np.subtract(brow_raise_and_mouth(_dlib_landmarks(frames[-1])),
                           brow_raise_and_mouth(_dlib_landmarks(frames[0])))
        # in IOD units: brows up and jaw dropped as intended, and dlib sees most of it
        assert intended[0] > 0.05 and intended[1] > 0.1, intended
        assert np.all(seen > 0.5 * intended), (seen, intended)

    @pytest.mark.parametrize("mirror", [False, True])
    def test_written_landmarks_agree_with_dlib(self, mirror):
        style = synthetic.SubjectStyle("astronaut", eye_spread=0.05, mirror=mirror, roll=3.0)
        spec = synthetic.ClipSpec(style, "happiness", 3, 220, ((6, 1.0), (12, 1.0)))
        frames, marks = synthetic.render_clip(spec)
        for t in (0, 2):
            found = _dlib_landmarks(frames[t])
            iod = np.linalg.norm(found[42:48].mean(0) - found[36:42].mean(0))
            error = np.linalg.norm(found - marks[t], axis=1) / iod
            assert np.median(error) < 0.1, (t, np.median(error))

    def test_dlib_finds_a_face_in_every_clip_and_under_every_occlusion(self, tiny):
        for seq in sorted((tiny / "cohn-kanade-images").glob("S9*/*")):
            pngs = sorted(seq.iterdir())
            for png in (pngs[0], pngs[-1]):
                assert len(load_detector()(cv2.imread(str(png), 0), 1)) >= 1, png
        for occluder in synthetic._OCCLUSIONS:
            spec = dataclasses.replace(_plain_spec("fear", "grace_hopper", n=3),
                                       occlusion=(*occluder, 0.1))
            frames, _ = synthetic.render_clip(spec)
            assert len(load_detector()(frames[-1], 1)) >= 1, occluder

    def test_subjects_of_one_portrait_differ_in_shape_not_just_pose(self, tmp_path):
        root = synthetic.generate_synthetic(tmp_path / "s", progress=False,
                                            **{**TINY, "subjects": 3, "frames": (3, 3)})

        def neutral_shape(subject, seq):
            name = f"{subject}/{seq}/{subject}_{seq}_00000001_landmarks.txt"
            return np.loadtxt(root / "Landmarks" / name)

        # S901 and S903 both animate the astronaut; the first frame of every clip is neutral, so
        # two clips of one subject differ only by head pose (a similarity, removed by Procrustes)
        same = procrustes(neutral_shape("S901", "001"), neutral_shape("S901", "002"))[2]
        other = procrustes(neutral_shape("S901", "001"), neutral_shape("S903", "001"))[2]
        assert same < 1e-8 and other > 1e-4, (same, other)
        a, b = (cv2.imread(str(root / "cohn-kanade-images" / f"{s}/001/{s}_001_00000001.png"), 0)
                for s in ("S901", "S903"))
        assert np.abs(a.astype(float) - b).mean() > 5


def test_piecewise_affine_warp_matches_scikit_image():
    rng = np.random.default_rng(0)
    image = cv2.GaussianBlur((rng.random((120, 120)) * 255).astype(np.uint8), (0, 0), 2)
    border = np.array([[x, y] for x in (-20, 60, 140) for y in (-20, 60, 140)
                       if (x, y) != (60, 60)], float)
    grid = np.stack(np.meshgrid(np.linspace(25, 95, 4), np.linspace(25, 95, 4)), -1).reshape(-1, 2)
    src = np.r_[grid, border]
    dst = src.copy()
    dst[:16] += rng.normal(0, 2, (16, 2))
    tri = triangulate(dst)  # scikit-image triangulates the destination points
    ours = warp_piecewise_affine(image, src, dst, tri, (120, 120), outside=np.eye(2, 3))
    ref = warp(image, PiecewiseAffineTransform.from_estimate(dst, src), output_shape=(120, 120),
               order=1, preserve_range=True, mode="edge")
    assert np.abs(ours.astype(float) - ref).mean() < 0.5
    assert np.percentile(np.abs(ours.astype(float) - ref), 99) < 2


def test_dfer_synth_command(tmp_path, capsys):
    args = build_parser().parse_args(["synth", "--out", str(tmp_path / "set"), "--subjects", "1",
                              "--clips-per-class", "1", "--frames", "3", "4", "--size", "160",
                              "--seed", "2", "--quiet"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "7 synthetic clips" in out and str((tmp_path / "set").resolve()) in out
    assert len(list((tmp_path / "set" / "Emotion" / "S901").iterdir())) == 7


def test_dfer_synth_reports_bad_numbers_without_traceback(tmp_path, capsys):
    args = build_parser().parse_args(["synth", "--out", str(tmp_path / "set"), "--subjects", "0"])
    assert args.func(args) == 2
    assert "subjects must be an integer from 1 to 99" in capsys.readouterr().err
    assert not (tmp_path / "set").exists()
