"""Tests of the deep baseline (handcrafted_dfer.deep): network, classifier, lazy torch import."""

from __future__ import annotations

import importlib.util
import pickle
import subprocess
import sys

import numpy as np
import pytest

import handcrafted_dfer.deep as deep
from handcrafted_dfer.clip import AlignedClip
from handcrafted_dfer.errors import ModelFileError

#: A tiny network and input so that every fit takes about a second on a loaded CPU.
SMALL = dict(widths=(8, 16), input_size=None, batch_size=8, n_threads=1, verbose=False)


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def ramp_clips(n_per_class: int, *, seed: int, t: int = 8, s: int = 24):
    """Clips whose mean brightness rises ("up"), falls ("down") or stays ("flat") over time.

    The label is known by construction; each clip also gets a random overall offset, a random
    amplitude and pixel noise, so that no single frame's brightness gives the class away.
    """
    rng = np.random.default_rng(seed)
    clips, labels = [], []
    for i in range(n_per_class):
        for label in ("down", "flat", "up"):
            amplitude = rng.uniform(50, 80) * {"down": -1, "flat": 0, "up": 1}[label]
            level = rng.uniform(100, 150) + np.linspace(-amplitude, amplitude, t)
            volume = level[:, None, None] + rng.normal(0, 15, (t, s, s))
            clips.append(np.clip(volume, 0, 255).astype(np.uint8))
            labels.append(label)
    return clips, np.array(labels)


def as_aligned(volume: np.ndarray) -> AlignedClip:
    t = volume.shape[0]
    return AlignedClip(frames=volume, landmarks=np.zeros((t, 68, 2), np.float32),
                       valid=np.ones(t, bool), fps=25.0, source="synthetic")


@pytest.fixture(scope="module")
def toy():
    """Training and held-out ramp clips, and a classifier trained on the first set."""
    pytest.importorskip("torch")
    X, y = ramp_clips(12, seed=1)
    X_test, y_test = ramp_clips(6, seed=2)
    # 12 "subjects", one clip of each class; ids as the runner passes them (object array)
    groups = np.array([f"S{i:03d}" for i in np.repeat(np.arange(12), 3)], dtype=object)
    clf = deep.C3DClassifier(epochs=12, lr=3e-3, patience=12, seed=0, **SMALL)
    clf.fit([as_aligned(v) for v in X], y, groups=groups)
    return clf, X, y, groups, X_test, y_test


class TestLazyImport:
    def test_import_without_torch(self):
        code = (
            "import sys\n"
            "sys.modules['torch'] = None\n"
            "import handcrafted_dfer.deep as deep\n"
            "assert deep.available() is False\n"
            "try:\n"
            "    deep.C3DClassifier\n"
            "except ImportError as exc:\n"
            "    assert 'handcrafted_dfer[deep]' in str(exc), exc\n"
            "else:\n"
            "    raise SystemExit('C3DClassifier resolved without torch')\n"
            "assert 'torch' not in [m for m in sys.modules if sys.modules[m] is not None]\n"
        )
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr

    def test_import_does_not_load_torch(self):
        code = ("import sys, handcrafted_dfer.deep\n"
                "assert 'torch' not in sys.modules\n")
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr

    def test_available_matches_importability(self):
        assert deep.available() is (importlib.util.find_spec("torch") is not None)


@pytest.mark.deep
class TestNetwork:
    def test_parameter_count(self, torch):
        # conv: in * out * 27 (no bias); batch norm: 2 * out; linear: 16 * 3 + 3
        expected = 1 * 8 * 27 + 2 * 8 + 8 * 16 * 27 + 2 * 16 + 16 * 3 + 3
        net = deep.C3DNet(3, widths=(8, 16))
        assert sum(p.numel() for p in net.parameters()) == expected

    def test_default_size_for_a_cpu(self, torch):
        n = sum(p.numel() for p in deep.C3DNet(7).parameters())
        assert 2e5 <= n <= 2e6
        out = deep.C3DNet(7).eval()(torch.zeros(2, 1, 16, 48, 48))
        assert tuple(out.shape) == (2, 7)

    def test_loss_decreases_on_a_tiny_batch(self, torch):
        torch.manual_seed(0)
        net = deep.C3DNet(3, widths=(8, 16), dropout=0.0)
        x = torch.randn(6, 1, 8, 16, 16)
        y = torch.tensor([0, 1, 2, 0, 1, 2])
        optimizer = torch.optim.AdamW(net.parameters(), lr=1e-2)
        losses = []
        for _ in range(15):
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(net(x), y)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        assert losses[-1] < 0.5 * losses[0]

    @pytest.mark.parametrize("kwargs", [dict(widths=(8,)), dict(dropout=1.0), dict(widths=(0, 8))])
    def test_bad_arguments(self, torch, kwargs):
        with pytest.raises(ValueError):
            deep.C3DNet(3, **kwargs)


@pytest.mark.deep
class TestClassifier:
    def test_learns_a_toy_problem(self, toy):
        clf, _, _, _, X_test, y_test = toy
        accuracy = np.mean(clf.predict(X_test) == y_test)
        assert accuracy >= 0.7  # chance is 1/3

    def test_history_and_best_epoch(self, toy):
        clf = toy[0]
        assert [e["epoch"] for e in clf.history_] == list(range(1, 13))
        assert clf.history_[-1]["train_loss"] < clf.history_[0]["train_loss"]
        # selection: lowest mean of this and the previous epoch's validation loss, from
        # min_epochs (half of 12) on, recomputed here from the raw per-epoch losses
        losses = [e["val_loss"] for e in clf.history_]
        smoothed = [np.mean(losses[max(0, i - 1):i + 1]) for i in range(len(losses))]
        np.testing.assert_allclose([e["val_loss_smoothed"] for e in clf.history_], smoothed)
        assert clf.best_epoch_ == 6 + int(np.argmin(smoothed[5:]))

    def test_predict_proba(self, toy):
        clf, _, y, _, X_test, _ = toy
        proba = clf.predict_proba(X_test)
        np.testing.assert_array_equal(clf.classes_, np.unique(y))
        assert proba.shape == (len(X_test), 3)
        assert np.all(proba >= 0)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
        np.testing.assert_array_equal(clf.predict(X_test), clf.classes_[proba.argmax(axis=1)])

    def test_validation_holds_out_whole_subjects(self, toy):
        clf, _, y, groups, _, _ = toy
        train, val = clf.train_indices_, clf.val_indices_
        assert len(val) > 0
        assert set(groups[train]).isdisjoint(groups[val])
        np.testing.assert_array_equal(np.sort(np.concatenate([train, val])), np.arange(len(y)))

    def test_standardisation_uses_training_clips_only(self, toy):
        clf, X, _, _, _, _ = toy
        train = np.stack(X)[clf.train_indices_] / 255.0
        assert clf.pixel_mean_ == pytest.approx(train.mean(), rel=1e-9)
        assert clf.pixel_std_ == pytest.approx(train.std(), rel=1e-9)

    def test_clips_are_area_resized_to_input_size(self, torch):
        X, _ = ramp_clips(1, seed=9)  # 8 x 24 x 24
        clf = deep.C3DClassifier(input_size=12)
        clf.clip_shape_ = None
        resized = clf._to_tensor(X).numpy()
        expected = np.stack(X).reshape(3, 8, 12, 2, 12, 2).mean(axis=(3, 5))
        np.testing.assert_array_equal(resized, np.round(expected).astype(np.uint8))

    def test_stratified_validation_without_groups(self, torch):
        X, y = ramp_clips(5, seed=3)
        clf = deep.C3DClassifier(epochs=1, val_fraction=0.2, **SMALL).fit(X, y)
        # 15 clips, 20% -> 3 held out, one of each class by stratification
        assert sorted(y[clf.val_indices_]) == ["down", "flat", "up"]
        assert set(clf.train_indices_).isdisjoint(clf.val_indices_)

    def test_pickle_round_trip(self, toy, torch):
        clf, _, _, _, X_test, _ = toy
        clone = pickle.loads(pickle.dumps(clf))
        np.testing.assert_array_equal(clone.predict_proba(X_test), clf.predict_proba(X_test))
        assert clf.model_bytes() >= 4 * clf.n_parameters_  # float32 weights at least

    def test_n_parameters(self, toy):
        clf = toy[0]
        # two input channels (grey and difference to the first frame)
        expected = 2 * 8 * 27 + 2 * 8 + 8 * 16 * 27 + 2 * 16 + 16 * 3 + 3
        assert clf.n_parameters_ == expected

    def test_threads_restored(self, torch):
        X, y = ramp_clips(2, seed=4)
        before = torch.get_num_threads()
        deep.C3DClassifier(epochs=1, val_fraction=0, **{**SMALL, "n_threads": 1}).fit(X, y)
        assert torch.get_num_threads() == before

    def test_resume_continues_a_shorter_run(self, torch, tmp_path):
        X, y = ramp_clips(3, seed=5)
        X_test, _ = ramp_clips(2, seed=6)
        params = dict(val_fraction=0, seed=3, lr_schedule="constant", **SMALL)
        straight = deep.C3DClassifier(epochs=4, **params).fit(X, y)
        deep.C3DClassifier(epochs=2, checkpoint_dir=tmp_path, **params).fit(X, y)
        assert len(list(tmp_path.glob("c3d-*.pt"))) == 1
        resumed = deep.C3DClassifier(epochs=4, checkpoint_dir=tmp_path, **params).fit(X, y)
        np.testing.assert_allclose([e["train_loss"] for e in resumed.history_],
                                   [e["train_loss"] for e in straight.history_], rtol=1e-5)
        np.testing.assert_allclose(resumed.predict_proba(X_test), straight.predict_proba(X_test),
                                   atol=1e-6)

    def test_corrupt_checkpoint(self, torch, tmp_path):
        X, y = ramp_clips(2, seed=7)
        clf = deep.C3DClassifier(epochs=1, val_fraction=0, checkpoint_dir=tmp_path, **SMALL)
        clf.fit(X, y)
        (path,) = tmp_path.glob("c3d-*.pt")
        path.write_bytes(b"not a checkpoint")
        with pytest.raises(ModelFileError, match=path.name):
            clf.fit(X, y)

    def test_bad_input(self, torch):
        X, y = ramp_clips(2, seed=8)
        clf = deep.C3DClassifier(epochs=1, **SMALL)
        with pytest.raises(ValueError, match="one label per clip"):
            clf.fit(X, y[:-1])
        with pytest.raises(ValueError, match="two classes"):
            clf.fit(X[:1], y[:1])
        with pytest.raises(ValueError, match="shape"):
            clf.fit(X[:-1] + [np.zeros((8, 20, 20), np.uint8)], y)
        with pytest.raises(ValueError, match="val_fraction"):
            deep.C3DClassifier(val_fraction=1.0, **SMALL).fit(X, y)
        clf.set_params(val_fraction=0).fit(X, y)
        with pytest.raises(ValueError, match="shape of the training clips"):
            clf.predict([np.zeros((8, 32, 32), np.uint8)])


@pytest.mark.deep
def test_difference_channel(torch):
    X, y = ramp_clips(2, seed=10)
    clf = deep.C3DClassifier(epochs=1, val_fraction=0, **SMALL).fit(X, y)
    volumes = np.stack(X).astype(np.float64) / 255.0
    diff = volumes - volumes[:, :1]
    assert clf.difference_scale_ == pytest.approx(np.sqrt(np.mean(diff ** 2)), rel=1e-9)
    x = clf._inputs(clf._to_tensor(X), np.arange(len(X)), None).numpy()
    assert x.shape == (len(X), 2) + volumes.shape[1:]
    np.testing.assert_allclose(x[:, 0], (volumes - clf.pixel_mean_) / clf.pixel_std_, atol=1e-5)
    np.testing.assert_allclose(x[:, 1], diff / clf.difference_scale_, atol=1e-5)


@pytest.mark.deep
def test_selection_skips_a_constant_first_epoch(torch):
    """Regression: with the old key (validation UAR, then loss) and a one-subject validation
    set, the first epoch's constant prediction (UAR 1/k) was never beaten by strictly higher
    UAR and early stopping restored it; now no epoch before min_epochs is selected."""
    X, y = ramp_clips(6, seed=11)
    groups = np.repeat(np.arange(6), 3)
    clf = deep.C3DClassifier(epochs=6, min_epochs=4, patience=1, lr=3e-3, **SMALL)
    clf.fit(X, y, groups=groups)
    assert clf.best_epoch_ >= 4
    assert len(clf.history_) >= 4


@pytest.mark.deep
def test_augmentation_is_the_same_for_every_frame(torch):
    from handcrafted_dfer.deep.train import _augment

    rng = np.random.default_rng(0)
    frame = rng.uniform(0, 1, (24, 24)).astype(np.float32)
    x = torch.from_numpy(np.broadcast_to(frame, (5, 1, 6, 24, 24)).copy())
    out = _augment(x, rng)
    assert out.shape == x.shape
    assert float(out.min()) >= 0 and float(out.max()) <= 1
    # every frame of a clip gets the same flip, shift, contrast and brightness
    assert torch.equal(out, out[:, :, :1].expand_as(out))
    assert not torch.equal(out, x)
