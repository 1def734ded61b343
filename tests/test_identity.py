"""Every face of a video with a stable identity: descriptors, the identity bank, several-face
tracking against videos whose layout is known by construction, per-face clips and the CLI."""

from __future__ import annotations

import collections
import json

import cv2
import dlib
import numpy as np
import pandas as pd
import pytest

from handcrafted_dfer.cli import main
from handcrafted_dfer.clip import AlignedClip
from handcrafted_dfer.errors import NoFaceError
from handcrafted_dfer.face.detect import detect_scaled
from handcrafted_dfer.face.identity import MATCH_DISTANCE, IdentityBank, face_descriptor
from handcrafted_dfer.face.landmarks import fit_landmarks
from handcrafted_dfer.face.models import load_face_recognizer
from handcrafted_dfer.face.multitrack import (FaceObservation, FrameFaces, MultiFaceConfig,
                                              fill_face_gaps)
from handcrafted_dfer.face.preprocess import (check_faces_in_video, face_frames,
                                              preprocess_faces, track_and_align_faces)
from handcrafted_dfer.face.track import DETECTED, INTERPOLATED, TRACKED
from handcrafted_dfer.video import open_video


def _grey(frame):
    return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)


def _centre_x(face) -> float:
    box = face.face_box()
    return (box[0] + box[2]) / 2


def _purity(counts: dict) -> float:
    """Share of the observations whose identity's majority person is the person truly there."""
    total = sum(sum(c.values()) for c in counts.values())
    return sum(max(c.values()) for c in counts.values()) / total


class TestIdentityBank:
    """Descriptors made by construction: distances are exactly what the bank must compare."""

    def _at(self, distance, axis=0):
        v = np.zeros(128)
        v[axis] = distance
        return v

    def test_new_identities_in_order_and_matches_within_the_threshold(self):
        bank = IdentityBank(threshold=0.6)
        assert bank.identify(self._at(0.0)) == 0
        assert bank.identify(self._at(5.0)) == 1  # far from 0
        assert bank.identify(self._at(0.55)) == 0  # within 0.6 of the first
        assert bank.identify(self._at(0.61, axis=3)) == 2  # 0.61 from 0: a new person
        assert len(bank) == 3

    def test_distance_is_to_the_nearest_gallery_descriptor(self):
        bank = IdentityBank(threshold=0.6)
        bank.identify(self._at(0.0))
        bank.add(0, self._at(1.0))
        assert bank.distance(0, self._at(1.2)) == pytest.approx(0.2)
        assert bank.identify(self._at(1.5)) == 0  # 0.5 from the second view, 1.5 from the first

    def test_a_face_on_screen_elsewhere_is_not_a_candidate(self):
        bank = IdentityBank()
        bank.identify(self._at(0.0))
        assert bank.identify(self._at(0.1), exclude={0}) == 1

    def test_an_identity_made_before_its_descriptor(self):
        bank = IdentityBank()
        assert bank.new() == 0 and not bank.is_described(0)
        assert bank.distance(0, self._at(0.0)) == np.inf
        assert bank.identify(self._at(0.0)) == 1  # nothing to match yet: a new identity
        bank.add(0, self._at(3.0))
        assert bank.is_described(0) and bank.identify(self._at(3.1)) == 0
        assert bank.candidates(exclude={1}) == [0]

    def test_gallery_keeps_the_first_and_the_latest(self):
        bank = IdentityBank(gallery_size=3)
        bank.identify(self._at(0.0))
        for d in (10.0, 20.0, 30.0, 40.0):
            bank.add(0, self._at(d))
        assert bank.distance(0, self._at(0.0)) == 0  # the first view stays
        assert bank.distance(0, self._at(10.0)) == pytest.approx(10.0)  # pushed out
        assert bank.distance(0, self._at(40.0)) == 0

    @pytest.mark.parametrize("kwargs", [{"threshold": 0}, {"threshold": 2.5},
                                        {"gallery_size": 0}])
    def test_bad_settings(self, kwargs):
        with pytest.raises(ValueError):
            IdentityBank(**kwargs)


@pytest.mark.parametrize("kwargs, field", [({"scan_every": 0}, "scan_every"),
                                           ({"describe_every": 1.5}, "describe_every"),
                                           ({"gallery_size": True}, "gallery_size"),
                                           ({"match_distance": 0.0}, "match_distance")])
def test_multi_face_config_checks(kwargs, field):
    with pytest.raises(ValueError, match=field):
        MultiFaceConfig(**kwargs)


@pytest.mark.parametrize("value, expected", [("largest", "largest"), ("all", "all"), ("3", 3),
                                             (0, 0)])
def test_faces_in_video_values(value, expected):
    assert check_faces_in_video(value) == expected


@pytest.mark.parametrize("bad", ["two", -1, "1.5", True, None])
def test_faces_in_video_bad_values(bad):
    with pytest.raises(ValueError, match="largest"):
        check_faces_in_video(bad)


class TestFillFaceGaps:
    def _stream(self, presence):
        """Frames with identity 0 and 1 present as ``presence`` says; landmarks = frame index."""
        return [FrameFaces(k, None, [FaceObservation(face, np.full((68, 2), float(k)), TRACKED)
                                     for face in faces])
                for k, faces in enumerate(presence)]

    def test_each_identity_filled_on_its_own(self):
        presence = [(0, 1), (1,), (1,), (0,), (0, 1), (), (), (), (), (0, 1)]
        out = list(fill_face_gaps(self._stream(presence), max_gap=3))
        assert [f.index for f in out] == list(range(len(presence)))
        faces = [{o.face: o for o in f.faces} for f in out]
        for k in (1, 2):  # identity 0 away 2 frames between 0 and 3: filled linearly
            assert faces[k][0].status == INTERPOLATED
            assert faces[k][0].landmarks[0, 0] == pytest.approx(k)
        assert faces[3][1].status == INTERPOLATED  # identity 1 away 1 frame
        assert all(not f for f in faces[5:9])  # 4 frames away > max_gap: nobody filled
        assert [o.face for o in out[1].faces] == [0, 1]  # ordered by identity


@pytest.fixture(scope="module")
def frames_of(shared_videos):
    """Two frames of the woman and two of the man, with landmarks from full-resolution dlib."""
    def faces(name, indices):
        out = []
        for k, frame in enumerate(open_video(shared_videos / name)):
            if k in indices:
                grey = _grey(frame)
                box = detect_scaled(grey, scale=1.0, upsample=1)[0]
                out.append((frame, grey, fit_landmarks(grey, box)))
        return out
    return {"woman": faces("WolfgangLanger_Pexels.mp4", {0, 300}),
            "man": faces("single_face.mp4", {5, 60})}


def test_descriptor_is_dlibs_and_separates_the_two_people(frames_of):
    """Oracle: dlib's own compute_face_descriptor(image, shape) on the grey frame; and who is who
    by construction (which clip the frame came from)."""
    frame, grey, landmarks = frames_of["woman"][0]
    ours = face_descriptor(grey, landmarks)
    rect = dlib.rectangle(*(int(v) for v in landmarks.min(axis=0)),
                          *(int(np.ceil(v)) for v in landmarks.max(axis=0)))
    shape = dlib.full_object_detection(rect, [dlib.point(int(round(x)), int(round(y)))
                                              for x, y in landmarks])
    theirs = np.array(load_face_recognizer().compute_face_descriptor(
        cv2.cvtColor(grey, cv2.COLOR_GRAY2RGB), shape))
    np.testing.assert_allclose(ours, theirs, atol=1e-6)
    d = {who: [face_descriptor(g, lm) for _, g, lm in items] for who, items in frames_of.items()}
    for who in d:
        assert np.linalg.norm(d[who][0] - d[who][1]) < MATCH_DISTANCE
    for a in d["woman"]:
        for b in d["man"]:
            assert np.linalg.norm(a - b) > MATCH_DISTANCE


@pytest.fixture(scope="module")
def two_tracked(two_faces):
    return list(face_frames(open_video(two_faces["path"]), faces_in_video="all"))


@pytest.mark.slow
class TestTwoPeople:
    """The woman on the left throughout, the man on the right, away in frames 72..121."""

    def test_two_identities_pure_and_the_returning_man_keeps_his_id(self, two_tracked, two_faces):
        assert [f.index for f in two_tracked] == list(range(two_faces["n_frames"]))
        counts = collections.defaultdict(collections.Counter)
        man_ids = {"before": set(), "after": set()}
        for frame in two_tracked:
            assert len({o.face for o in frame.faces}) == len(frame.faces)  # one id once a frame
            for face in frame.faces:
                left = _centre_x(face) < two_faces["split"]
                truth = "woman" if left else ("man" if two_faces["man"][frame.index] else "nobody")
                counts[face.face][truth] += 1
                if truth == "man":
                    man_ids["before" if frame.index < 72 else "after"].add(face.face)
        assert len(counts) == 2
        assert _purity(counts) >= 0.95
        assert man_ids["before"] == man_ids["after"] and len(man_ids["before"]) == 1
        woman = max(counts, key=lambda k: counts[k]["woman"])
        man = man_ids["before"].pop()
        assert woman != man
        # both are followed where they are on screen, and the man not while he is away
        n = two_faces["n_frames"]
        assert counts[woman]["woman"] >= 0.95 * n
        assert counts[man]["man"] >= 0.95 * two_faces["man"].sum()
        away = sum(1 for f in two_tracked[72:122] for o in f.faces if o.face == man)
        assert away <= 3

    def test_statuses_and_landmarks_in_frame_pixels(self, two_tracked, two_faces):
        statuses = collections.Counter(o.status for f in two_tracked for o in f.faces)
        assert statuses[DETECTED] > 0 and statuses[TRACKED] > statuses[DETECTED]
        top = two_faces["module"].TOP
        for frame in two_tracked[::20]:
            for face in frame.faces:
                assert face.crop.shape == (96, 96) and face.aligned.shape == (68, 2)
                centre = face.landmarks.mean(axis=0)  # the jaw may run past a panel's edge
                assert top < centre[1] < top + 180 and 0 < centre[0] < 640

    def test_one_clip_per_identity(self, two_faces):
        clips = track_and_align_faces(two_faces["path"], faces_in_video="all")
        assert sorted(clips) == [0, 1]
        man = max(clips, key=lambda k: (clips[k][0].valid == two_faces["man"]).mean())
        clip, status = clips[man]
        assert isinstance(clip, AlignedClip) and clip.n_frames == two_faces["n_frames"]
        assert (clip.valid == two_faces["man"]).mean() >= 0.97
        assert clip.valid[80:115].sum() == 0
        woman = 1 - man
        assert clips[woman][0].valid.mean() >= 0.97
        resampled = preprocess_faces(two_faces["path"], faces_in_video=man)
        assert list(resampled) == [man] and resampled[man].n_frames == 16

    def test_without_following_back_a_new_face_starts_where_a_search_finds_it(self, two_faces):
        """``follow_back=False`` (``--stream``): the returning man is picked up by the next search
        (at most ``scan_every`` frames late) and still gets his identity back."""
        config = MultiFaceConfig(follow_back=False, scan_every=20)
        frames = list(face_frames(open_video(two_faces["path"]), faces_in_video="all",
                                  multi=config))
        right = [(f.index, o.face) for f in frames for o in f.faces if _centre_x(o) >= 320]
        before = {face for k, face in right if k < 72}
        after = [(k, face) for k, face in right if k >= 122]
        assert len(before) == 1 and {face for _, face in after} == before
        assert 122 <= after[0][0] <= 122 + 20

    def test_an_identity_that_is_not_there(self, two_faces):
        with pytest.raises(NoFaceError, match="identity 7"):
            track_and_align_faces(two_faces["path"], faces_in_video=7)

    def test_largest_is_todays_single_face(self, two_faces):
        clips = track_and_align_faces(two_faces["path"], faces_in_video="largest")
        assert list(clips) == [0]


def _crossing_video(path, module, n=180):
    """The woman's panel still on the left; a 160-px-wide patch of the man's face slides from
    the right edge over her face to the left edge (frames 20..140), drawn on top of her."""
    woman = module._frames("WolfgangLanger_Pexels.mp4")[:n]
    man = [f[:, 80:240] for f in module.man_frames(n)]
    lefts = np.clip(480 - (np.arange(n) - 20) * 4, 0, 480)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 24.0,
                             (module.WIDTH, module.HEIGHT))
    top = module.TOP
    for k in range(n):
        canvas = np.full((module.HEIGHT, module.WIDTH, 3), 110, np.uint8)
        canvas[top:top + 180, :320] = woman[k]
        canvas[top:top + 180, lefts[k]:lefts[k] + 160] = man[k]
        writer.write(canvas)
    writer.release()
    return lefts


@pytest.mark.slow
def test_faces_that_cross_never_swap_identities(two_faces, tmp_path):
    """Truth by construction: a face whose box centre lies in the man's patch is his, any other
    on the left panel hers. While he covers her she is lost; after, she gets her identity back."""
    path = tmp_path / "crossing.mp4"
    lefts = _crossing_video(path, two_faces["module"])
    counts = collections.defaultdict(collections.Counter)
    before, after = set(), set()
    for frame in face_frames(open_video(path), faces_in_video="all"):
        for face in frame.faces:
            x = _centre_x(face)
            truth = ("man" if lefts[frame.index] <= x <= lefts[frame.index] + 160 else
                     "woman" if x < 320 else "nobody")
            counts[face.face][truth] += 1
            if truth == "woman" and frame.index < 60:
                before.add(face.face)
            if truth == "woman" and frame.index > 150:
                after.add(face.face)
    assert _purity(counts) >= 0.95
    assert len(before) == 1 and before == after  # her identity after the crossing is hers
    assert len(counts) == 2
    majority = {max(c, key=c.get) for c in counts.values()}
    assert majority == {"man", "woman"}


@pytest.mark.slow
def test_one_identity_on_wolfgang(shared_videos):
    """One woman who turns her head, covers her mouth with a hand and smiles: one identity."""
    frames = list(face_frames(open_video(shared_videos / "WolfgangLanger_Pexels.mp4"),
                              faces_in_video="all"))
    ids = collections.Counter(o.face for f in frames for o in f.faces)
    assert list(ids) == [0]
    assert ids[0] >= 0.95 * len(frames)


@pytest.mark.slow
class TestCommandLine:
    def test_preprocess_writes_one_clip_per_face(self, two_faces, tmp_path):
        out = tmp_path / "clip_{face}.npz"
        assert main(["preprocess", str(two_faces["path"]), "--out", str(out),
                     "--faces-in-video", "all", "--quiet"]) == 0
        written = sorted(p.name for p in tmp_path.glob("clip_*.npz"))
        assert written == ["clip_0.npz", "clip_1.npz"]
        assert AlignedClip.load(tmp_path / "clip_1.npz").n_frames == 16

    def test_preprocess_all_needs_a_face_placeholder_before_any_work(self, two_faces, tmp_path,
                                                                     capsys):
        assert main(["preprocess", str(two_faces["path"]), "--out", str(tmp_path / "c.npz"),
                     "--faces-in-video", "all"]) == 2
        assert "{face}" in capsys.readouterr().err
        assert not list(tmp_path.iterdir())

    def test_bad_faces_in_video_value(self, capsys):
        with pytest.raises(SystemExit) as exc:
            main(["preprocess", "v.mp4", "--out", "c.npz", "--faces-in-video", "both"])
        assert exc.value.code == 2
        assert "expected largest, all or an identity number" in capsys.readouterr().err

    def test_dynamics_per_face(self, two_faces, tmp_path):
        csv, js = tmp_path / "episodes.csv", tmp_path / "dynamics.json"
        plot = tmp_path / "dynamics_{face}.png"
        assert main(["dynamics", str(two_faces["path"]), "--faces-in-video", "all", "--csv",
                     str(csv), "--json", str(js), "--plot", str(plot), "--quiet"]) == 0
        table = pd.read_csv(csv)
        assert table.columns[0] == "face_id" and set(table["face_id"]) <= {0, 1}
        content = json.loads(js.read_text())
        assert [f["face_id"] for f in content["faces"]] == [0, 1]
        man = [f for f in content["faces"] if f["valid_fraction"] < 0.9]
        assert len(man) == 1 and man[0]["valid_fraction"] == pytest.approx(146 / 196, abs=0.03)
        assert (tmp_path / "dynamics_0.png").is_file() and (tmp_path / "dynamics_1.png").is_file()
