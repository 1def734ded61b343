"""Model files: the whole pipeline round-trips, nothing in a file runs, damage is a clear error."""

from __future__ import annotations

import json
import pathlib
import pickle
import zipfile

import joblib
import numpy as np
import pytest

from handcrafted_dfer.config import PreprocessConfig, RunOptions
from handcrafted_dfer.errors import ModelFileError
from handcrafted_dfer.modelfile import FORMAT, FORMAT_VERSION, load_model, save_model
from handcrafted_dfer.pipeline import build_pipeline, fit_pipeline, without_run_options
from handcrafted_dfer.spec import MethodSpec

CONFIG = PreprocessConfig(size=32, frames=8)


def _volumes(n=24, seed=0):
    """Random clips whose brightness profile depends on the class (so the model learns)."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    volumes = []
    for label in y:
        base = rng.integers(0, 200, (8, 32, 32)).astype(np.int64)
        base[:, :, label * 10:(label + 1) * 10] += 50  # a bright band that moves with the class
        volumes.append(np.clip(base, 0, 255).astype(np.uint8))
    return volumes, y, np.array([f"S{i % 6}" for i in range(n)], dtype=object)


def _fit(text: str, **kwargs):
    spec = MethodSpec.parse(text)
    pipeline = build_pipeline(spec, preprocess=CONFIG, **kwargs)
    volumes, y, groups = _volumes()
    fit_pipeline(pipeline, volumes, y, groups)
    return without_run_options(pipeline), volumes


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    pipeline, volumes = _fit("lbptop+hog3d-linear-svm")
    path = tmp_path_factory.mktemp("model") / "model.skops"
    save_model(path, pipeline, labels=("anger", "happiness", "surprise"), config=CONFIG,
               metadata={"method": "lbptop+hog3d-linear-svm"})
    return path, pipeline, volumes


class TestRoundTrip:
    def test_the_whole_pipeline_comes_back(self, saved):
        path, pipeline, volumes = saved
        model = load_model(path)
        np.testing.assert_array_equal(model.pipeline.predict(volumes), pipeline.predict(volumes))
        np.testing.assert_allclose(model.pipeline.predict_proba(volumes),
                                   pipeline.predict_proba(volumes))
        # the features are the pipeline's own: same parameters, same vector for the same clip
        features = model.pipeline.named_steps["features"]
        np.testing.assert_array_equal(features.transform(volumes[:2]),
                                      pipeline.named_steps["features"].transform(volumes[:2]))
        assert model.labels == ("anger", "happiness", "surprise")
        assert model.class_names == ["anger", "happiness", "surprise"]
        assert model.config == CONFIG
        assert model.method == "lbptop+hog3d-linear-svm"
        assert model.metadata["versions"]["skops"]

    def test_a_forest_round_trips_and_its_trees_are_checked(self, tmp_path):
        pipeline, volumes = _fit("lbptop-rf")
        path = save_model(tmp_path / "rf.skops", pipeline, labels=("a", "b", "c"), config=CONFIG,
                          metadata={"method": "lbptop-rf"})
        np.testing.assert_array_equal(load_model(path).pipeline.predict(volumes),
                                      pipeline.predict(volumes))
        # a tree whose child index points outside the tree: refused, never predicted with
        tree = pipeline.named_steps["clf"].best_estimator_.steps[-1][1].estimators_[0].tree_
        state = tree.__getstate__()
        nodes = state["nodes"].copy()
        inner = np.flatnonzero(nodes["left_child"] != -1)[0]
        nodes["left_child"][inner] = 10 ** 6
        tree.__setstate__({**state, "nodes": nodes})
        bad = save_model(tmp_path / "bad.skops", pipeline, labels=("a", "b", "c"), config=CONFIG,
                         metadata={"method": "lbptop-rf"})
        with pytest.raises(ModelFileError, match="out of range"):
            load_model(bad)


class Payload:
    """An object whose reconstruction writes a file (what a malicious model file would do)."""

    def __init__(self, target):
        self.target = str(target)

    def __reduce__(self):  # pickle: call open(target, "w") on load
        return (open, (self.target, "w"))

    def __setstate__(self, state):  # skops: reconstruction through __setstate__
        pathlib.Path(state["target"]).write_text("pwned")


class TestNothingInTheFileRuns:
    def test_a_pickle_payload_is_refused_and_never_runs(self, tmp_path):
        target = tmp_path / "created_by_payload.txt"
        path = tmp_path / "evil.joblib"
        joblib.dump({"format": FORMAT, "payload": Payload(target)}, path)
        with pytest.raises(ModelFileError, match="pickle") as info:
            load_model(path)
        assert "retrain" in str(info.value) and str(path) in str(info.value)
        assert not target.exists()

    def test_a_skops_file_with_an_untrusted_type_is_refused_and_never_runs(self, saved, tmp_path):
        import skops.io as sio

        target = tmp_path / "created_by_payload.txt"
        _, pipeline, _ = saved
        payload = Payload.__new__(Payload)
        payload.target = str(target)
        blob = sio.dumps({"format": FORMAT, "format_version": FORMAT_VERSION,
                          "metadata": json.dumps({"labels": ["a", "b", "c"], "method": "x",
                                                  "preprocess": {}}),
                          "pipeline": pipeline, "extra": payload})
        path = tmp_path / "evil.skops"
        path.write_bytes(blob)
        with pytest.raises(ModelFileError, match="Payload") as info:
            load_model(path)
        assert "not trusted" in str(info.value)
        assert not target.exists()

    def test_the_cli_refuses_it_too(self, tmp_path, shared_videos, capsys):
        from handcrafted_dfer.cli import main

        target = tmp_path / "created_by_payload.txt"
        path = tmp_path / "evil.joblib"
        joblib.dump(Payload(target), path)
        status = main(["predict", str(shared_videos / "single_face.mp4"), "--model", str(path),
                       "--quiet"])
        assert status == 2
        assert "refuses" in capsys.readouterr().err
        assert not target.exists()


class TestDamagedFiles:
    def test_missing_file(self, tmp_path):
        with pytest.raises(ModelFileError, match="not found") as info:
            load_model(tmp_path / "absent.skops")
        assert info.value.path.endswith("absent.skops")

    def test_text_file_is_not_a_model(self, tmp_path):
        path = tmp_path / "notes.skops"
        path.write_text("hello, I am not a model\n")
        with pytest.raises(ModelFileError, match="not a model file"):
            load_model(path)

    def test_other_format_version(self, saved, tmp_path):
        import skops.io as sio

        _, pipeline, _ = saved
        path = tmp_path / "future.skops"
        path.write_bytes(sio.dumps({"format": FORMAT, "format_version": FORMAT_VERSION + 1,
                                    "metadata": "{}", "pipeline": pipeline}))
        with pytest.raises(ModelFileError, match=f"format version {FORMAT_VERSION + 1}"):
            load_model(path)

    @pytest.mark.parametrize("change", ["no metadata", "string pipeline", "too few labels"])
    def test_inconsistent_content(self, saved, tmp_path, change):
        import skops.io as sio

        _, pipeline, _ = saved
        meta = {"labels": ["a", "b", "c"], "method": "m", "preprocess": {}}
        content = {"format": FORMAT, "format_version": FORMAT_VERSION,
                   "metadata": json.dumps(meta), "pipeline": pipeline}
        if change == "no metadata":
            del content["metadata"]
        elif change == "string pipeline":
            content["pipeline"] = "a string"
        else:
            content["metadata"] = json.dumps({**meta, "labels": ["a"]})
        path = tmp_path / "odd.skops"
        path.write_bytes(sio.dumps(content))
        with pytest.raises(ModelFileError, match="incomplete or inconsistent"):
            load_model(path)

    def test_fuzz_flips_and_truncations_are_all_model_file_errors(self, saved, tmp_path):
        """100 damaged copies of a real model file: every one a ModelFileError, none a crash."""
        path, _, _ = saved
        blob = path.read_bytes()
        rng = np.random.default_rng(0)
        outcomes = {"refused": 0, "loaded": 0}
        for k in range(100):
            damaged = bytearray(blob)
            if k % 2:
                damaged = damaged[:int(rng.integers(1, len(blob)))]
            else:
                for position in rng.integers(0, len(blob), int(rng.integers(1, 8))):
                    damaged[position] ^= int(rng.integers(1, 256))
            copy = tmp_path / f"damaged_{k}.skops"
            copy.write_bytes(bytes(damaged))
            try:
                load_model(copy)
                outcomes["loaded"] += 1  # a flip inside unused padding can leave a valid file
            except ModelFileError as exc:
                assert str(copy) in str(exc)
                outcomes["refused"] += 1
        # zip members carry CRC-32 checksums: nearly every damaged copy is caught
        assert outcomes["refused"] >= 95, outcomes

    def test_the_file_is_a_zip_without_pickles(self, saved):
        path, _, _ = saved
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            assert "schema.json" in names
            for name in names:  # a pickle stream starts with the PROTO opcode 0x80
                assert not archive.read(name).startswith(pickle.PROTO), name


def test_deep_pipeline_round_trips(tmp_path):
    pytest.importorskip("torch")
    spec = MethodSpec.parse("c3d").with_settings(
        [("c3d", "epochs", 2), ("c3d", "input_size", 16), ("c3d", "widths", [4, 8]),
         ("c3d", "val_fraction", 0.0)])
    pipeline = build_pipeline(spec, preprocess=CONFIG, run=RunOptions())
    volumes, y, groups = _volumes()
    fit_pipeline(pipeline, volumes, y, groups)
    path = save_model(tmp_path / "c3d.skops", without_run_options(pipeline), labels=("a", "b", "c"),
                      config=CONFIG, metadata={"method": "c3d"})
    model = load_model(path)
    np.testing.assert_allclose(model.pipeline.predict_proba(volumes),
                               pipeline.predict_proba(volumes), atol=1e-6)
