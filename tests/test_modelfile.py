"""Model files: round trip with metadata, and clear errors for files that are not models."""

import joblib
import numpy as np
import pytest

from handcrafted_dfer.classify import make_classifier
from handcrafted_dfer.config import PreprocessConfig
from handcrafted_dfer.errors import ModelFileError
from handcrafted_dfer.modelfile import FORMAT, FORMAT_VERSION, load_model, save_model


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    X = rng.random((30, 12)) + np.repeat(np.eye(3), 4, axis=1)[np.arange(30) % 3]
    y = np.arange(30) % 3
    groups = np.array([f"S{i % 5}" for i in range(30)], dtype=object)
    return make_classifier("linear-svm").fit(X, y, groups=groups), X


def test_round_trip(fitted, tmp_path):
    estimator, X = fitted
    config = PreprocessConfig(size=64, frames=8)
    path = save_model(tmp_path / "sub" / "model.joblib", estimator,
                      labels=("anger", "happy", "surprise"), config=config,
                      features=("lbptop", "flow"),
                      feature_params={"lbptop": {"P": 8}, "flow": {"method": "farneback"}},
                      metadata={"classifier": "linear-svm"})
    model = load_model(path)
    np.testing.assert_array_equal(model.estimator.predict(X), estimator.predict(X))
    np.testing.assert_allclose(model.estimator.predict_proba(X), estimator.predict_proba(X))
    assert model.labels == ("anger", "happy", "surprise")
    assert model.class_names == ["anger", "happy", "surprise"]
    assert model.config == config
    assert model.features == ("lbptop", "flow")
    assert model.feature_params["flow"] == {"method": "farneback"}
    assert model.metadata["classifier"] == "linear-svm"
    assert model.metadata["versions"]["scikit-learn"]


def test_missing_file(tmp_path):
    with pytest.raises(ModelFileError, match="not found") as info:
        load_model(tmp_path / "absent.joblib")
    assert info.value.path.endswith("absent.joblib")


def test_text_file_is_not_a_model(tmp_path):
    path = tmp_path / "notes.joblib"
    path.write_text("hello, I am not a pickle\n")
    with pytest.raises(ModelFileError, match="not a model file") as info:
        load_model(path)
    assert str(path) in str(info.value)


def test_other_pickle_is_not_a_model(tmp_path):
    path = tmp_path / "array.joblib"
    joblib.dump(np.arange(3), path)
    with pytest.raises(ModelFileError, match="not a handcrafted_dfer model"):
        load_model(path)


def test_other_format_version(fitted, tmp_path):
    path = tmp_path / "future.joblib"
    joblib.dump({"format": FORMAT, "format_version": FORMAT_VERSION + 1,
                 "estimator": fitted[0], "metadata": {}}, path)
    with pytest.raises(ModelFileError, match=f"format version {FORMAT_VERSION + 1}") as info:
        load_model(path)
    assert str(path) in str(info.value)
