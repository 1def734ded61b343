"""Expression dynamics against truths known by construction, on the CK+ layout and on real footage.

The synthetic set (:mod:`handcrafted_dfer.datasets.synthetic`) animates its landmarks with
``ClipSpec.progress()``: the action-unit intensity of every frame, 0 (neutral) to 1 (apex). Its
clips run neutral -> apex and stop there (no offset); clips with an offset and several episodes
are rendered here from an explicit progress curve. Every clip goes through the real preprocessing
(dlib detection, tracking and alignment), and nothing about the truth is given to the dynamics.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from handcrafted_dfer.analyze import (CURVE_REGIONS, EPISODE_COLUMNS, SPACES, DynamicsConfig,
                                      PhaseConfig, expression_dynamics, segment_phases,
                                      video_dynamics)
from handcrafted_dfer.analyze.intensity import (block_histograms, chi_square,
                                                leave_out_distances, region_blocks)
from handcrafted_dfer.analyze.dynamics import DYNAMICS_PREPROCESS
from handcrafted_dfer.analyze.phases import APEX, NEUTRAL, OFFSET, ONSET, noise_level
from handcrafted_dfer.cli import main
from handcrafted_dfer.clip import AlignedClip
from handcrafted_dfer.datasets import synthetic
from handcrafted_dfer.datasets.ckplus import load_ckplus
from handcrafted_dfer.face.preprocess import track_and_align
from handcrafted_dfer.features.lbptop import lbptop_histograms

EXPRESSIVE = tuple(e for e in synthetic.EMOTIONS if e != "neutral")


def _track(frames) -> AlignedClip:
    return track_and_align(frames, DYNAMICS_PREPROCESS)[0]


def _strongest(curve):
    return max(curve.episodes, key=lambda e: e.peak_intensity) if curve.episodes else None


@pytest.fixture(scope="module")
def generated():
    """48 clips (8 subjects, both portraits, the six expressions) with the generator's defaults:
    head drift, lighting gradient, noise, an occluder in about a quarter of them."""
    out = []
    for k in range(8):
        rng = np.random.default_rng([0, k])
        style = synthetic.sample_subject_style(rng, synthetic.PORTRAITS[k % 2])
        for emotion in EXPRESSIVE:
            spec = synthetic.sample_clip_spec(rng, style, emotion, frames=(12, 24), size=200)
            out.append((spec, expression_dynamics(_track(synthetic.render_clip(spec)[0]))))
    return out


class TestKnownIntensity:
    @pytest.mark.parametrize("space", SPACES)
    def test_curve_follows_the_action_unit_intensity(self, generated, space):
        r = [np.corrcoef(d.curve(space, "face").intensity, spec.progress())[0, 1]
             for spec, d in generated]
        assert np.median(r) >= 0.9, (np.median(r), np.round(r, 2))

    @staticmethod
    def _apex_hits(generated, space, portrait=None):
        """Whether the apex of the strongest episode is within 2 frames of the truth
        (``ClipSpec.apex``, the first frame at full intensity), per clip."""
        hits = []
        for spec, d in generated:
            if portrait in (None, spec.style.portrait):
                e = _strongest(d.curve(space, "face"))
                hits.append(e is not None and abs(e.apex_start - spec.apex) <= 2)
        return np.array(hits)

    def test_apex_within_two_frames(self, generated):
        # The 90% target holds in feature space. In landmark space it holds on the astronaut
        # only: on the synthetic Grace Hopper (glasses) dlib's fits jitter by about 0.03 IOD from
        # frame to frame (0.014 on the astronaut), as much as anger, happiness and sadness move
        # the inner face (0.02-0.03 IOD). On 180 other clips (experiments/dynamics_synthetic,
        # seeds 5, 7, 8) the hit rate is 0.99 / 0.91 in feature space and 0.92 / 0.64 in landmark
        # space (astronaut / Grace Hopper). This sample (seed 0): 0.92 / 0.92 and 0.92 / 0.50.
        assert self._apex_hits(generated, "features").mean() >= 0.9
        assert self._apex_hits(generated, "features", "astronaut").mean() >= 0.9
        assert self._apex_hits(generated, "landmarks", "astronaut").mean() >= 0.9
        assert self._apex_hits(generated, "landmarks").mean() >= 0.65

    def test_sequences_that_start_neutral_are_recognised(self, generated):
        rules = [d.neutral_rule for _, d in generated]
        assert rules.count("start") >= 0.9 * len(rules), rules
        for spec, d in generated:
            if d.neutral_rule == "start":
                assert spec.progress()[d.neutral].mean() < 0.1


def _ramp(n: int) -> np.ndarray:
    u = (np.arange(n) + 1) / n
    return u * u * (3 - 2 * u)


@dataclasses.dataclass(frozen=True)
class _CurveSpec(synthetic.ClipSpec):
    """A synthetic clip animated by an explicit intensity curve (render_clip follows
    ``progress()``, documented as the intensity of every frame)."""

    curve: tuple = ()

    def progress(self) -> np.ndarray:
        return np.asarray(self.curve, dtype=np.float64)


#: Two episodes with offsets in 101 frames: neutral 0-19, rise 20-29, apex 29-37, fall 38-46,
#: neutral 47-67, rise 68-75, apex 75-81, fall 82-88, neutral 89-100.
TWO_EPISODES = np.concatenate([np.zeros(20), _ramp(10), np.ones(8), _ramp(10)[::-1][1:],
                               np.zeros(21), _ramp(8), np.ones(6), _ramp(8)[::-1][1:],
                               np.zeros(12)])
TRUTH = [dict(onset=20, apex=29, apex_end=37, end=46), dict(onset=68, apex=75, apex_end=81,
                                                              end=88)]


@pytest.mark.parametrize("k, emotion", [(0, "happiness"), (1, "surprise"), (2, "fear")])
def test_two_episodes_with_offsets_in_a_mostly_neutral_track(k, emotion):
    rng = np.random.default_rng([3, k])
    style = synthetic.sample_subject_style(rng, synthetic.PORTRAITS[k % 2])
    n = len(TWO_EPISODES)
    base = synthetic.sample_clip_spec(rng, style, emotion, frames=(n, n), size=200,
                                      occlusion_rate=0.0)
    spec = _CurveSpec(**{f.name: getattr(base, f.name) for f in dataclasses.fields(base)},
                      curve=tuple(TWO_EPISODES))
    d = expression_dynamics(_track(synthetic.render_clip(spec)[0]))
    assert d.neutral_rule == "median"  # mostly neutral, no steady rise: the resting state
    assert TWO_EPISODES[d.neutral].max() < 0.15
    for space in SPACES:
        curve = d.curve(space, "face")
        assert np.corrcoef(curve.intensity, TWO_EPISODES)[0, 1] > 0.9
        assert len(curve.episodes) == 2, (space, curve.episodes)
        for e, truth in zip(curve.episodes, TRUTH):
            # thresholds above the noise make the onset a little late
            assert truth["onset"] - 1 <= e.onset <= truth["onset"] + 6, (space, e, truth)
            assert truth["apex"] - 2 <= e.peak <= truth["apex_end"] + 2, (space, e, truth)
            assert truth["apex_end"] <= e.end and not (e.open_start or e.open_end)
            assert e.rise_frames() > 0 and e.fall_frames() > 0
            if space == "features":  # the landmark curve is noisier (measured: apex up to 7
                # frames late, a return to the baseline up to 10 frames late)
                assert abs(e.apex_start - truth["apex"]) <= 3, (space, e, truth)
                assert e.end <= truth["end"] + 4, (space, e, truth)
        labels = curve.phases.labels
        assert (labels[:15] == NEUTRAL).all() and (labels[55:62] == NEUTRAL).all()


def test_noise_alone_makes_no_episode():
    # no expression, no head motion, no lighting change: only pixel noise and tracker jitter
    for k, portrait in enumerate(synthetic.PORTRAITS):
        spec = synthetic.ClipSpec(synthetic.SubjectStyle(portrait), "neutral", 40, 200, (),
                                  noise=3.0, noise_seed=k)
        d = expression_dynamics(_track(synthetic.render_clip(spec)[0]))
        for curve in d.curves:
            assert curve.episodes == (), (portrait, curve.space, curve.region, curve.episodes)
            assert (curve.phases.labels == NEUTRAL).all()


def test_regions_follow_the_action_units():
    """Happy (AU6+12) pulls the mouth corners and barely moves the brows; surprise (AU1+2+5+26)
    raises the brows and drops the jaw (datasets/_facs.py). No noise or head motion."""
    from handcrafted_dfer.datasets._facs import PROTOTYPES

    def apex_height(emotion, space, region):
        style = synthetic.SubjectStyle("astronaut")
        spec = synthetic.ClipSpec(style, emotion, 20, 200,
                                  tuple((au, 1.0) for au in PROTOTYPES[emotion]), onset=4,
                                  apex=15, noise=1.0)
        d = expression_dynamics(_track(synthetic.render_clip(spec)[0]))
        c = d.curve(space, region)
        return c.intensity[15:].mean() - c.phases.baseline

    for space in SPACES:
        assert apex_height("happiness", space, "mouth") > 2 * apex_height("happiness", space, "brows")
        assert apex_height("surprise", space, "brows") > 2 * apex_height("happiness", space, "brows")
    assert (apex_height("surprise", "landmarks", "brows")
            > 3 * apex_height("surprise", "landmarks", "nose"))


def test_ckplus_layout_apex_in_last_quarter_onset_after_first_frame(tmp_path):
    """The synthetic set is written in the CK+ layout and its sequences run neutral -> apex
    and end there, like CK+'s; frame folders read as CK+ sequences (25 fps assumed)."""
    root = synthetic.generate_synthetic(tmp_path / "ck", subjects=2, clips_per_class=1,
                                        frames=(12, 20), size=200, seed=1, progress=False)
    clips = [c for c in load_ckplus(root, name="synthetic").clips if c.label != "neutral"]
    assert len(clips) == 12
    in_last_quarter = {space: [] for space in SPACES}
    for clip in clips:
        d = video_dynamics(clip.path)
        assert d.neutral_rule == "start", clip.id
        for space in SPACES:
            e = _strongest(d.curve(space, "face"))
            in_last_quarter[space].append(e is not None and e.apex_start >= 0.75 * (d.n_frames - 1)
                                          and e.onset >= 1)
            if e is not None:
                assert e.onset >= 1, (clip.id, space, e)
                assert e.open_end and np.isnan(e.fall_frames())  # the sequence stops at its apex
    assert all(in_last_quarter["features"]), in_last_quarter
    # landmark space: 9 of the 12 here (two apexes at 0.73-0.74 of the sequence, one weak anger
    # clip with no episode)
    assert np.mean(in_last_quarter["landmarks"]) >= 0.7, in_last_quarter


class TestPhases:
    @staticmethod
    def _bumps(noise, seed=0):
        rng = np.random.default_rng(seed)
        curve = np.zeros(120)
        curve[20:30] = np.linspace(0, 1, 10)
        curve[30:40] = 1
        curve[40:50] = np.linspace(1, 0, 10)
        curve[80:85] = np.linspace(0, 0.5, 5)
        curve[85:] = 0.5
        return curve + rng.normal(0, noise, curve.shape)

    def test_two_episodes_one_open_at_the_end(self):
        curve = self._bumps(0.01)
        p = segment_phases(curve, neutral=np.arange(15), noise=noise_level(curve))
        assert len(p.episodes) == 2
        first, second = p.episodes
        assert 19 <= first.onset <= 22 and 29 <= first.apex_start <= 31 and 39 <= first.apex_end
        assert 47 <= first.end <= 50 and not first.open_end
        assert second.open_end and np.isnan(second.fall_frames()) and second.end == 119
        assert p.labels[5] == NEUTRAL and p.labels[25] == ONSET and p.labels[35] == APEX
        assert p.labels[45] == OFFSET and p.labels[65] == NEUTRAL
        assert first.peak_intensity == pytest.approx(curve[first.peak])
        assert first.mean_intensity == pytest.approx(curve[first.onset:first.end + 1].mean())

    def test_pure_noise_makes_no_episode(self):
        curve = np.random.default_rng(1).normal(0.1, 0.01, 5000)
        p = segment_phases(curve, neutral=np.arange(1000), noise=noise_level(curve))
        assert p.episodes == () and (p.labels == NEUTRAL).all()

    def test_noise_level_of_white_noise(self):
        rng = np.random.default_rng(2)
        assert noise_level(rng.normal(0, 0.3, 20000)) == pytest.approx(0.3, rel=0.05)
        # a slow ramp barely changes it
        assert noise_level(rng.normal(0, 0.3, 20000) + np.linspace(0, 5, 20000)) \
            == pytest.approx(0.3, rel=0.05)

    def test_bad_config(self):
        with pytest.raises(ValueError, match="low_sigmas <= high_sigmas"):
            PhaseConfig(high_sigmas=1.0, low_sigmas=2.0)
        with pytest.raises(ValueError, match="apex_fraction"):
            PhaseConfig(apex_fraction=0.0)
        with pytest.raises(ValueError, match="grid"):
            DynamicsConfig(grid=(0, 3))


class TestFeatureSpace:
    def test_block_histograms_are_lbp_of_the_blurred_frames_pooled(self):
        rng = np.random.default_rng(3)
        frames = rng.integers(0, 256, (7, 40, 40), dtype=np.uint8)
        h = block_histograms(frames, grid=(2, 2), radius=2.0, blur=0.0, window=1)
        # oracle: per-frame XY histograms of one LBP-TOP call per frame, summed over 3 frames
        per_frame = []
        for t in range(7):
            volume = frames[[max(t - 1, 0), t, min(t + 1, 6)]]
            per_frame.append(lbptop_histograms(volume, radius=(1, 2, 2), grid=(1, 2, 2),
                                               normalize=False)[0, :, :, 0, :])
        per_frame = np.array(per_frame, dtype=np.float64)
        for t, first in enumerate([0, 0, 1, 2, 3, 4, 4]):  # windows shifted inwards at the ends
            pooled = per_frame[first:first + 3].sum(axis=0)
            np.testing.assert_allclose(h[t], pooled / pooled.sum(-1, keepdims=True), rtol=1e-6)

    def test_chi_square(self):
        a = np.array([0.5, 0.5, 0.0])
        assert chi_square(a, a) == 0
        assert chi_square(a, np.array([0.0, 0.0, 1.0])) == pytest.approx(1.0)

    def test_leave_out_reference(self):
        values = np.arange(10.0)[:, None]
        members = np.array([2, 3, 4])
        d = leave_out_distances(values, members, exclude=0,
                                distance=lambda a, r: np.abs(a - r)[..., 0])
        assert d[3] == pytest.approx(0.0)  # mean of 2 and 4
        assert d[2] == pytest.approx(1.5)  # mean of 3 and 4
        assert d[9] == pytest.approx(6.0)  # mean of all three

    def test_region_blocks(self):
        reference = np.zeros((68, 2))
        reference[:] = 10  # every landmark in block (0, 0) except the mouth: blocks split the
        reference[48:68] = [80, 60]  # LBP centres [2, 94) at 2, 17, 33, 48, 63, 79, 94
        masks = region_blocks(reference, size=96, grid=(6, 6), margin=2)
        assert masks["brows"].sum() == 1 and masks["brows"][0, 0]
        assert masks["mouth"].sum() == 1 and masks["mouth"][3, 5]
        assert masks["face"][0, 0] and masks["face"][3, 5] and masks["face"].sum() == 2
        reference[48:68] = [1, 60]  # in the margin: outside every block
        assert not region_blocks(reference, size=96, grid=(6, 6), margin=2)["mouth"].any()


def test_neutral_frames_given_and_checked(tmp_path):
    rng = np.random.default_rng(4)
    style = synthetic.sample_subject_style(rng, "astronaut")
    spec = synthetic.sample_clip_spec(rng, style, "happiness", frames=(16, 16), size=200)
    clip = _track(synthetic.render_clip(spec)[0])
    d = expression_dynamics(clip, neutral=(0, 2))
    assert d.neutral_rule == "given" and d.neutral.tolist() == [0, 1]
    for bad in ((5, 3), (0, 17), (-1, 2)):
        with pytest.raises(ValueError, match="neutral frames"):
            expression_dynamics(clip, neutral=bad)


@pytest.mark.slow
def test_cli_on_real_footage(shared_videos, tmp_path, capsys):
    """WolfgangLanger_Pexels.mp4, checked by eye: frames 0-8 she looks down with relaxed, closed
    lips; frames 10-50 she frowns, close to tears, lips still closed; frames 60-220 a hand
    covers her mouth and nose; from about frame 250 to the end (471) she smiles with open lips
    and teeth showing, broadest around frames 300-440."""
    video = shared_videos / "WolfgangLanger_Pexels.mp4"
    out = {name: tmp_path / f"dyn.{name}" for name in ("png", "csv", "json")}
    status = main(["dynamics", str(video), "--neutral-frames", "0:8", "--plot", str(out["png"]),
                   "--csv", str(out["csv"]), "--json", str(out["json"]), "--quiet"])
    assert status == 0
    assert out["png"].stat().st_size > 10_000
    table = pd.read_csv(out["csv"])
    assert tuple(table.columns) == EPISODE_COLUMNS
    assert set(zip(table.space, table.region)) <= {(s, r) for s in SPACES for r in CURVE_REGIONS}
    result = json.loads(out["json"].read_text())
    assert result["n_frames"] == 472 and result["neutral_frames"] == list(range(8))
    mouth = {c["space"]: np.array(c["intensity"]) for c in result["curves"]
             if c["region"] == "mouth"}
    # landmarks: the mouth moves most during the smile, and the open-lipped smile's typical
    # change exceeds the strongest change of the closed-lipped frown
    assert 250 <= int(np.argmax(mouth["landmarks"])) <= 471
    assert np.median(mouth["landmarks"][300:440]) > mouth["landmarks"][:50].max()
    # features: the same for the smile; but the hand over the mouth changes its texture even more
    # (an occlusion reads as change)
    assert np.median(mouth["features"][300:440]) > mouth["features"][:50].max()
    assert 60 <= int(np.argmax(mouth["features"])) <= 220


def test_cli_checks_paths_before_work(shared_videos, tmp_path, capsys):
    video = shared_videos / "single_face.mp4"
    assert main(["dynamics", str(tmp_path / "missing.mp4")]) == 2
    assert "missing.mp4: no such file or folder" in capsys.readouterr().err
    assert main(["dynamics", str(video), "--csv", str(tmp_path / "no" / "x.csv")]) == 2
    assert "--csv: the folder to write it in does not exist" in capsys.readouterr().err
    assert main(["dynamics", str(video), "--neutral-frames", "70:80", "--quiet"]) == 2
    assert "neutral frames 70:80 must satisfy" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["dynamics", str(video), "--neutral-frames", "5:3"])
