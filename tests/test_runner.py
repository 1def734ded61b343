"""The evaluation runner: no subject leakage, the cache, skipped clips, synthetic end to end."""

import itertools
import os
import pathlib

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.svm import SVC

from sklearn.pipeline import Pipeline

from handcrafted_dfer.classify import SubjectSearchClassifier
from handcrafted_dfer.config import DatasetRef, Experiment, RunOptions
from handcrafted_dfer.datasets.base import Clip, Dataset
from handcrafted_dfer.datasets.protocols import get_folds
from handcrafted_dfer.evaluate.folds import evaluate_folds
from handcrafted_dfer.evaluate.runner import run_evaluation
from handcrafted_dfer.spec import MethodSpec, parse_methods

FIT_LOG = []  # (fit token, "fit" | "predict", row indices), shared by every clone
_TOKENS = itertools.count()


class RecordingSVC(ClassifierMixin, BaseEstimator):
    """A real linear SVC that logs which rows (clip indices, read from column 0) it sees."""

    def __init__(self, C=1.0):
        self.C = C

    def fit(self, X, y):
        self.token_ = next(_TOKENS)  # unique per fit (object ids are reused after collection)
        FIT_LOG.append((self.token_, "fit", X[:, 0].astype(int).tolist()))
        self.svc_ = SVC(kernel="linear", C=self.C).fit(X[:, 1:], y)
        self.classes_ = self.svc_.classes_
        return self

    def predict(self, X):
        FIT_LOG.append((self.token_, "predict", X[:, 0].astype(int).tolist()))
        return self.svc_.predict(X[:, 1:])

    def decision_function(self, X):
        FIT_LOG.append((self.token_, "predict", X[:, 0].astype(int).tolist()))
        return self.svc_.decision_function(X[:, 1:])


def test_no_subject_leakage_into_training_or_inner_search():
    rng = np.random.default_rng(0)
    n_subjects, n_classes, per = 5, 3, 4  # enough clips per class for the guarded search
    clips = [Clip(id=f"S{s}_{c}_{k}", path=f"/nowhere/S{s}/{c}{k}", label=f"c{c}", label_index=c,
                  subject=f"S{s}", dataset="toy")
             for s in range(n_subjects) for c in range(n_classes) for k in range(per)]
    dataset = Dataset("toy", "/nowhere", clips, tuple(f"c{c}" for c in range(n_classes)))
    y, subjects = dataset.y, dataset.subjects
    X = np.column_stack([np.arange(len(clips)), y[:, None] + rng.normal(0, 0.3, (len(clips), 4))])
    folds = get_folds(dataset, "loso")
    assert len(folds) == n_subjects

    FIT_LOG.clear()
    boundaries = []

    def make():
        boundaries.append(len(FIT_LOG))
        return Pipeline([("clf", SubjectSearchClassifier(RecordingSVC(), {"C": [0.1, 1.0]},
                                                         calibrate=True))])

    result = evaluate_folds(make, X, y, subjects, folds, n_classes=n_classes,
                            measure_memory=False)
    boundaries.append(len(FIT_LOG))
    assert result["n_folds"] == n_subjects
    for k, (train, test) in enumerate(folds):
        test_subjects = set(subjects[test])
        log = FIT_LOG[boundaries[k]:boundaries[k + 1]]
        fits = [rows for _, kind, rows in log if kind == "fit"]
        # grid search (2 values x 3 inner folds), calibration folds and the final refit
        assert len(fits) >= 2 * 3 + 1
        assert "inner balanced_accuracy" in result["fold_details"][k]["inner_search"]
        for rows in fits:
            assert not test_subjects & set(subjects[rows]), f"fold {k}: test subject in a fit"
        assert not test_subjects & set(subjects[train])
        # inner validation: every estimator is scored only on subjects it was not fitted on,
        # except the outer fold's final model, which is scored on the test subject
        by_estimator = {}
        for ident, kind, rows in log:
            by_estimator.setdefault(ident, {"fit": set(), "predict": set()})[kind] |= set(
                subjects[rows])
        for seen in by_estimator.values():
            if seen["predict"] and seen["predict"] != test_subjects:
                assert not seen["fit"] & seen["predict"]


def test_parse_methods():
    methods = parse_methods("lbptop-svm, hog3d+flow-chi2-svm,fusion-rf,c3d")
    assert methods[0] == MethodSpec(("lbptop",), "svm", label="lbptop-svm")
    assert methods[1].features == ("hog3d", "flow") and methods[1].classifier == "chi2-svm"
    assert methods[2].features == ("lbptop", "hog3d", "flow") and methods[2].name == "fusion-rf"
    assert methods[3].family == "deep" and methods[3].steps == ("c3d",)
    assert methods[0].steps == ("lbptop", "norm", "svm", "search")
    with pytest.raises(ValueError, match="use lbptop, hog3d, flow"):
        parse_methods("sift-svm")
    with pytest.raises(ValueError, match="classifier"):
        parse_methods("lbptop-knn")


def _experiment(dataset, methods, protocol="loso", **kwargs):
    if isinstance(methods, str):
        methods = parse_methods(methods)
    return Experiment(dataset=DatasetRef(dataset.name, dataset.root), methods=methods,
                      protocol=protocol, **kwargs)


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory):
    """Six synthetic clips (3 subjects x happiness/surprise) plus one corrupt frame folder."""
    from handcrafted_dfer.datasets.synthetic import load_synthetic

    root = tmp_path_factory.mktemp("synthetic")
    full = load_synthetic(root, subjects=3, clips_per_class=1, frames=(12, 14), progress=False)
    keep = [i for i, c in enumerate(full.clips) if c.label in ("happiness", "surprise")]
    clips = [full.clips[i] for i in keep]
    labels = ("happiness", "surprise")
    clips = [Clip(c.id, c.path, c.label, labels.index(c.label), c.subject, "synthetic")
             for c in clips]
    broken = root / "broken" / "001"
    broken.mkdir(parents=True)
    (broken / "frame_001.png").write_bytes(b"this is not a png")
    clips.append(Clip("S999_001", str(broken), "happiness", 0, "S999", "synthetic"))
    return Dataset("synthetic", str(root), clips, labels)


def _cache_files(cache):
    return {p: p.stat().st_mtime_ns for p in pathlib.Path(cache).rglob("*") if p.is_file()}


def test_end_to_end_skipped_and_cache_reuse(tiny_dataset, tmp_path):
    cache = tmp_path / "cache"
    experiment = _experiment(tiny_dataset, "lbptop-linear-svm")
    run = RunOptions(cache_dir=str(cache))
    first = run_evaluation(experiment, run, dataset=tiny_dataset)
    assert first["synthetic"] and "synthetic" in first["note"]
    assert first["n_clips"] == 6 and first["n_subjects"] == 3
    assert [s["clip"] for s in first["skipped"]] == ["S999_001"]
    assert "VideoReadError" in first["skipped"][0]["reason"]
    (result,) = first["results"]
    # the corrupt clip's subject forms no fold, and no fold tests it
    assert result["n_folds"] == 3
    assert sum(f["n_test"] for f in result["fold_details"]) == 6
    assert np.sum(result["confusion"]) == 6
    for key in ("accuracy", "uar", "war", "f1_macro"):
        assert 0.0 <= result[key] <= 1.0
    assert result["war"] == pytest.approx(result["accuracy"])
    assert result["n_features"] > 0 and result["model_bytes"] > 0
    assert result["fit_seconds"] > 0 and result["predict_ms_per_clip"] > 0
    assert result["peak_memory_mb"] > 0  # measured by default
    assert [f["n_train_subjects"] for f in result["fold_details"]] == [2, 2, 2]
    assert first["cache"]["clips_computed"] == 7
    assert first["cache"]["feature_rows_computed"] == 6

    before = _cache_files(cache)
    second = run_evaluation(experiment, run, dataset=tiny_dataset)
    assert second["cache"]["clips_computed"] == 0
    assert second["cache"]["feature_rows_computed"] == 0
    assert second["cache"]["clips_loaded"] == 7
    assert _cache_files(cache) == before  # nothing rewritten, nothing added
    assert second["results"][0]["confusion"] == result["confusion"]
    assert second["skipped"] == first["skipped"]


def test_train_subject_fraction_keeps_whole_subjects_and_the_protocol(tiny_dataset, tmp_path):
    # every good clip listed twice (same file, so preprocessed from the same cache entry): each of
    # the 3 subjects then has two clips of each class, so one subject alone is a usable training
    # side and half of a LOSO fold's 2 training subjects is 1
    good = [c for c in tiny_dataset.clips if c.subject != "S999"]
    clips = [Clip(f"{c.id}_{copy}", c.path, c.label, c.label_index, c.subject, c.dataset)
             for c in good for copy in (0, 1)]
    dataset = Dataset("synthetic", tiny_dataset.root, clips, tiny_dataset.labels)
    experiment = _experiment(dataset, "lbptop-linear-svm")
    run = RunOptions(cache_dir=str(tmp_path / "cache"), measure_memory=False)
    report = run_evaluation(experiment, run, dataset=dataset, train_subject_fraction=0.5)
    assert report["protocol"] == "loso" and report["train_subject_fraction"] == 0.5
    (result,) = report["results"]
    assert result["peak_memory_mb"] is None
    assert result["n_folds"] == 3
    for fold in result["fold_details"]:
        # one whole training subject (4 clips) of the two; the held-out subject's 4 clips tested
        assert fold["n_train_subjects"] == 1 and fold["n_train"] == 4 and fold["n_test"] == 4
    assert sorted(s for f in result["fold_details"] for s in f["test_subjects"]) == [
        "S901", "S902", "S903"]
    with pytest.raises(ValueError, match="train_subject_fraction"):
        run_evaluation(experiment, run, dataset=dataset, train_subject_fraction=0.0)


def test_deep_method_entry(tiny_dataset, tmp_path, monkeypatch):
    """Without torch the deep method is reported as skipped with the install hint."""
    import handcrafted_dfer.deep as deep

    monkeypatch.setattr(deep, "available", lambda: False)
    report = run_evaluation(_experiment(tiny_dataset, "c3d"),
                            RunOptions(cache_dir=str(tmp_path / "cache")), dataset=tiny_dataset)
    assert report["results"] == [{"method": "c3d", "family": "deep",
                                  "skipped": "install handcrafted_dfer[deep]"}]


def test_interrupted_write_leaves_no_entry(tmp_path):
    from handcrafted_dfer.cache import atomic_write
    from handcrafted_dfer.features.store import FeatureStore

    store = FeatureStore(tmp_path)

    class Boom(Exception):
        pass

    def failing_writer(tmp):
        pathlib.Path(tmp).write_bytes(b"half")
        raise Boom

    with pytest.raises(Boom):
        atomic_write(tmp_path / "features" / "x" / "k.npz", failing_writer)
    assert store.load_features("x", "k") is None
    assert os.listdir(tmp_path / "features" / "x") == []


def test_cross_dataset_trains_on_one_and_tests_on_the_other(tiny_dataset, tmp_path):
    """--test-dataset: the folds are (all of the first, all of the second) on their common
    classes; the classes only one of them has are dropped and listed."""
    import json
    import shutil

    from handcrafted_dfer.cli import main

    # a test set in the folder layout: the good synthetic sequences, spelled as a user might
    test_root = tmp_path / "other"
    spelling = {"happiness": "Happy", "surprise": "surprised"}
    good = [c for c in tiny_dataset.clips if c.subject != "S999"]
    for clip in good:
        shutil.copytree(clip.path, test_root / spelling[clip.label] / f"{clip.subject}_{clip.id}")
    (test_root / "calm").mkdir()  # a class the training set lacks
    shutil.copytree(good[0].path, test_root / "calm" / "c1")
    shutil.copytree(good[1].path, test_root / "calm" / "c2")
    report_path = tmp_path / "cross.json"
    status = main(["evaluate", "--dataset", "synthetic", "--root", tiny_dataset.root,
                   "--dataset-option", "subjects=3", "--dataset-option", "clips_per_class=1",
                   "--dataset-option", "frames=[12,14]", "--test-dataset", "folder",
                   "--test-root", str(test_root), "--methods", "lbptop-linear-svm",
                   "--cache", str(tmp_path / "cache"), "--report", str(report_path),
                   "--quiet"])
    assert status == 0
    report = json.loads(report_path.read_text())
    cross = report["cross_dataset"]
    assert report["protocol"] == "cross-dataset" and report["n_folds"] == 1
    assert cross["train"] == "synthetic" and cross["test"] == "folder"
    assert sorted(cross["kept"]) == ["happiness", "surprise"] == sorted(report["labels"])
    # synthetic's other five classes and the test set's "calm"
    assert sorted(cross["dropped"]) == ["anger", "calm", "disgust", "fear", "neutral", "sadness"]
    (result,) = report["results"]
    # every test clip of a kept class is tested once; the training side is the synthetic set
    assert sum(map(sum, result["confusion"])) == len(good)
    assert result["fold_details"][0]["n_train"] == 6 and result["fold_details"][0]["n_test"] == 6
    assert "Trained on all of **synthetic**" in report_path.with_suffix(".md").read_text()


def test_recorded_warnings_count_each_message_and_leave_out_loky_worker_notices():
    """A run's own warnings are counted; loky's notice that it replaced a worker (its jobs run
    again, the result is unchanged) is not a warning about the run."""
    import logging
    import warnings

    from handcrafted_dfer.evaluate.runner import recorded_warnings

    with recorded_warnings() as messages:
        for _ in range(2):
            warnings.warn("clip 3 has no face", UserWarning)
        warnings.warn("A worker stopped while some jobs were given to the executor. This can be "
                      "caused by a too short worker timeout or by a memory leak.", UserWarning)
        logging.getLogger("handcrafted_dfer.datasets").warning("subject S1 has one clip")
    assert messages == [{"message": "subject S1 has one clip", "count": 1},
                        {"message": "UserWarning: clip 3 has no face", "count": 2}]
