"""The canonical label vocabulary: every loader's labels, spellings, and cross-dataset helpers."""

from __future__ import annotations

import numpy as np
import pytest

from handcrafted_dfer.datasets import Clip, Dataset, load_dataset
from handcrafted_dfer.datasets.labels import (BASIC_LABELS, CANONICAL_LABELS, canonical_label,
                                              common_labels, harmonise)
from test_ds_ckplus import build_ckplus
from test_ds_dfew import build_dfew
from test_ds_ferv39k import build_ferv39k
from test_ds_mafw import build_mafw

# GUIDE §3/§5 and issue 13: the vocabulary, written out by hand
VOCABULARY = {"anger", "contempt", "disgust", "fear", "happiness", "neutral", "sadness",
              "surprise", "anxiety", "helplessness", "disappointment"}


def test_vocabulary():
    assert set(CANONICAL_LABELS) == VOCABULARY and len(CANONICAL_LABELS) == 11
    assert set(BASIC_LABELS) == VOCABULARY - {"contempt", "neutral", "anxiety", "helplessness",
                                              "disappointment"}


@pytest.mark.parametrize("written, canonical", [
    ("happy", "happiness"), ("Happy", "happiness"), ("happiness", "happiness"),
    ("HAPPINESS", "happiness"), (" sad ", "sadness"), ("Sad", "sadness"), ("angry", "anger"),
    ("Angry", "anger"), ("surprised", "surprise"), ("Surprise", "surprise"),
    ("disgusted", "disgust"), ("fearful", "fear"), ("Neutral", "neutral"),
    ("contempt", "contempt"), ("Helplessness", "helplessness"), ("anxious", "anxiety"),
    ("disappointed", "disappointment"),
])
def test_spellings(written, canonical):
    assert canonical_label(written) == canonical


@pytest.mark.parametrize("written", ["calm", "pain", "10", "happy face"])
def test_unknown_spellings(written):
    assert canonical_label(written) is None


def test_every_loader_returns_canonical_labels(tmp_path):
    loaded = [load_dataset("ckplus", build_ckplus(tmp_path / "c"), include_neutral=True),
              load_dataset("dfew", build_dfew(tmp_path / "d")),
              load_dataset("mafw", build_mafw(tmp_path / "m")),
              load_dataset("ferv39k", build_ferv39k(tmp_path / "f"))]
    for ds in loaded:
        assert set(ds.labels) <= VOCABULARY, ds.name
        assert {c.label for c in ds.clips} == set(ds.labels), ds.name
    # the fixtures hold happiness in each of these four datasets, spelled four ways on disk
    assert all("happiness" in ds.labels for ds in loaded)


def test_harmonise_keeps_unknown_names():
    assert harmonise(["Happy", "calm", "angry"]) == {"Happy": "happiness", "calm": "calm",
                                                      "angry": "anger"}
    with pytest.raises(ValueError, match="'sad' and 'Sadness' both mean 'sadness'"):
        harmonise(["sad", "Sadness"])


def test_common_labels():
    ckplus = ("anger", "contempt", "disgust", "fear", "happiness", "sadness", "surprise")
    dfew = ("happiness", "sadness", "neutral", "anger", "surprise", "disgust", "fear")
    kept, dropped = common_labels(ckplus, dfew)
    assert kept == ("anger", "disgust", "fear", "happiness", "sadness", "surprise")
    assert dropped == ("contempt", "neutral")
    assert common_labels() == ((), ())


def test_with_labels_reindexes_and_keeps_official_folds():
    names = ["a", "b", "c", "b", "a", "c"]
    labels = ("a", "b", "c")
    clips = [Clip(f"k{i}", f"/p{i}", n, labels.index(n), None, "t") for i, n in enumerate(names)]
    ds = Dataset("t", "/r", clips, labels, [(np.array([0, 1, 2]), np.array([3, 4, 5]))],
                 faces="aligned")
    kept = ds.with_labels(("c", "a"))
    assert kept.labels == ("c", "a") and kept.faces == "aligned"
    assert [c.id for c in kept.clips] == ["k0", "k2", "k4", "k5"]
    assert list(kept.y) == [1, 0, 1, 0]
    [(train, test)] = kept.official_folds
    assert list(train) == [0, 1] and list(test) == [2, 3]  # k0, k2 | k4, k5
    with pytest.raises(ValueError, match="distinct classes"):
        ds.with_labels(("a", "z"))
    with pytest.raises(ValueError, match="faces must be one of"):
        Dataset("t", "/r", clips, labels, faces="crops")
