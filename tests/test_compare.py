"""Tests of the handcrafted-vs-deep comparison (handcrafted_dfer.compare, dfer compare)."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

import handcrafted_dfer.deep
from handcrafted_dfer.cli import main
from handcrafted_dfer.compare import ComparisonOptions, run_comparison
from handcrafted_dfer.config import DatasetRef, Experiment, PreprocessConfig, RunOptions
from handcrafted_dfer.datasets.synthetic import load_synthetic
from handcrafted_dfer.demo import demo_readme
from handcrafted_dfer.report import write_report
from handcrafted_dfer.spec import parse_methods
from handcrafted_dfer.explain.blocks import parse_feature_name

#: A tiny synthetic set: 6 subjects x 7 classes x 1 clip of 8-10 frames, 160 px.
TINY = {"subjects": 6, "clips_per_class": 1, "frames": (8, 10), "size": 160}
CONFIG = PreprocessConfig(size=64, frames=8)
TINY_NET = {"input_size": 16, "widths": [4, 8], "epochs": 1}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """Root of the tiny synthetic set and a cache folder shared by the tests of this module."""
    base = tmp_path_factory.mktemp("compare")
    load_synthetic(base / "synthetic", progress=False, **TINY)
    return base / "synthetic", base / "cache"


def check_schema(report: dict) -> None:
    """The keys and value ranges every comparison JSON must have (INTERFACES.md, issue 5 and 6)."""
    for key in ("dataset", "protocol", "n_clips", "n_subjects", "labels", "skipped", "results",
                "learning_curve", "importance"):
        assert key in report, key
    n_classes = len(report["labels"])
    assert isinstance(report["skipped"], list)
    for entry in report["results"]:
        assert entry["family"] in ("handcrafted", "deep")
        if "skipped" in entry:
            assert entry["family"] == "deep" and entry["skipped"] == "install handcrafted_dfer[deep]"
            continue
        for key in ("accuracy", "uar", "war", "f1_macro"):
            assert 0.0 <= entry[key] <= 1.0, key
            folds = [d[key] for d in entry["fold_details"]]
            assert entry["per_fold"][key]["mean"] == pytest.approx(np.mean(folds))
            assert entry["per_fold"][key]["std"] == pytest.approx(np.std(folds))
        cm = np.asarray(entry["confusion"])
        assert cm.shape == (n_classes, n_classes) and cm.sum() == report["n_clips"]
        # accuracy and UAR by hand from the confusion matrix
        assert entry["accuracy"] == pytest.approx(np.trace(cm) / cm.sum())
        support = cm.sum(axis=1)
        assert entry["uar"] == pytest.approx(np.mean(np.diag(cm)[support > 0] / support[support > 0]))
        assert entry["fit_seconds"] > 0 and entry["predict_ms_per_clip"] > 0
        assert entry["model_bytes"] > 0
        assert entry.get("n_features", entry.get("n_parameters", 0)) > 0
    curve = report["learning_curve"]
    for name, points in curve["methods"].items():
        assert [p["fraction"] for p in points] == curve["fractions"]
        for p in points:
            assert 0 < p["fraction"] <= 1 and 0 <= p["accuracy"] <= 1 and 0 <= p["uar"] <= 1
            assert p["accuracy_std"] >= 0
        full = next(r for r in report["results"] if r["method"] == name)
        assert points[-1]["accuracy"] == pytest.approx(full["per_fold"]["accuracy"]["mean"])
    for name, info in report["importance"].items():
        if info["family"] == "deep":
            assert "saliency" in info["offers"]
            continue
        assert 1 <= len(info["top"]) <= info["n_blocks"]
        drops = [row["accuracy_drop"] for row in info["top"]]
        assert drops == sorted(drops, reverse=True)
        for row in info["top"]:
            assert -1 <= row["accuracy_drop"] <= 1 and -1 <= row["uar_drop"] <= 1
            assert str(parse_feature_name(row["block"] + "/b0").block) == row["block"]
            assert "block" in row["name"]


def test_comparison_with_torch_writes_report_and_figures(tiny, tmp_path):
    pytest.importorskip("torch")
    root, cache = tiny
    methods = tuple(spec.with_settings(("c3d", k, v) for k, v in TINY_NET.items())
                    if spec.family == "deep" else spec
                    for spec in parse_methods("lbptop-linear-svm,c3d"))
    experiment = Experiment(DatasetRef("synthetic", str(root), dict(TINY)), methods,
                            protocol="kfold", folds=3, preprocess=CONFIG)
    report = run_comparison(experiment, RunOptions(cache_dir=str(cache), n_jobs=1),
                            ComparisonOptions(fractions=(0.5, 1.0), importance_repeats=1, top=3))
    paths = write_report(report, tmp_path / "cmp.json")
    saved = json.loads(paths["json"].read_text())
    check_schema(saved)
    assert saved["n_clips"] == 42 and saved["n_subjects"] == 6 and saved["synthetic"] is True
    # the whole comparison (learning curve and importance included) outlasts its evaluation
    assert saved["wall_seconds"] > saved["evaluation_seconds"] > 0
    deep = next(r for r in saved["results"] if r["method"] == "c3d")
    assert "skipped" not in deep and deep["n_parameters"] > 0
    assert set(saved["learning_curve"]["methods"]) == {"lbptop-linear-svm", "c3d"}
    # 4 training subjects per fold (one clip per class each): half keeps two
    points = saved["learning_curve"]["methods"]["c3d"]
    assert [p["train_subjects_per_fold"] for p in points] == [[2, 2, 2], [4, 4, 4]]
    assert saved["importance"]["c3d"]["family"] == "deep"
    assert len(saved["importance"]["lbptop-linear-svm"]["top"]) == 3
    markdown = paths["markdown"].read_text()
    assert "Synthetic data" in markdown and "| c3d | deep |" in markdown
    for figure in paths["figures"]:
        assert figure.name in markdown
        assert cv2.imread(str(figure)) is not None
    assert {p.name for p in paths["figures"]} >= {"cmp_learning_curve.png", "cmp_confusion.png",
                                                  "cmp_lbptop-linear-svm_blocks.png",
                                                  "cmp_lbptop-linear-svm_heatmap.png"}
    text = demo_readme(saved, settings={**TINY, "clips_per_class": 1}, seconds=1.0,
                       files=paths["figures"], quick=True)
    assert "synthetic" in text and "not** evidence of" in text


def test_compare_command_without_torch_skips_the_deep_rows(tiny, tmp_path, monkeypatch, capsys):
    root, cache = tiny
    monkeypatch.setattr(handcrafted_dfer.deep, "available", lambda: False)
    out = tmp_path / "report" / "nodeep.json"
    options = [f"--dataset-option={k}={json.dumps(v)}" for k, v in TINY.items()]
    (tmp_path / "report").mkdir()
    status = main(["compare", "--dataset", "synthetic", "--root", str(root), *options,
                   "--cache", str(cache), "--size", "64", "--frames", "8", "--protocol", "kfold",
                   "--folds", "3", "--methods", "lbptop-linear-svm,c3d", "--fractions", "50,100",
                   "--repeats", "1", "--top", "2", "--report", str(out), "--quiet"])
    assert status == 0
    saved = json.loads(out.read_text())
    check_schema(saved)
    deep = next(r for r in saved["results"] if r["method"] == "c3d")
    assert deep == {"method": "c3d", "family": "deep", "skipped": "install handcrafted_dfer[deep]"}
    assert list(saved["learning_curve"]["methods"]) == ["lbptop-linear-svm"]
    assert saved["learning_curve"]["skipped"] == {"c3d": "install handcrafted_dfer[deep]"}
    assert saved["protocol"] == "kfold" and saved["n_folds"] == 3
    markdown = out.with_suffix(".md").read_text()
    assert "skipped: install handcrafted_dfer[deep]" in markdown
    printed = capsys.readouterr().out
    assert "skipped: install handcrafted_dfer[deep]" in printed and "synthetic" in printed
    assert str(out.with_suffix(".md")) in printed


def test_compare_has_no_features_option_and_checks_positive_integers(capsys):
    from handcrafted_dfer.cli import build_parser

    parser = build_parser()
    base = ["compare", "--dataset", "synthetic", "--report", "r.json"]
    args = parser.parse_args(base + ["--repeats", "3"])
    assert args.repeats == 3 and not hasattr(args, "features")
    for bad in (["--features", "hog3d"], ["--repeats", "0"], ["--top", "x"]):
        with pytest.raises(SystemExit) as exc:
            parser.parse_args(base + bad)
        assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "unrecognized arguments: --features" in err
    assert "expected a positive integer; got 0" in err and "got 'x'" in err


def test_a_test_dataset_fills_the_generalisation_row(tiny, tmp_path):
    """With a second dataset the comparison also trains on all of the first and tests on the
    second; the Table-1 generalisation row then holds those scores, not 'not measured'."""
    import shutil

    root, cache = tiny
    dataset = load_synthetic(root, progress=False, **TINY)
    other = tmp_path / "other"
    for clip in dataset.clips:
        if clip.label in ("happiness", "surprise", "anger"):
            shutil.copytree(clip.path, other / clip.label.capitalize() / clip.id)
    experiment = Experiment(DatasetRef("synthetic", str(root), dict(TINY)),
                            parse_methods("lbptop-linear-svm"), protocol="kfold", folds=3,
                            preprocess=CONFIG, test_dataset=DatasetRef("folder", str(other)))
    report = run_comparison(experiment, RunOptions(cache_dir=str(cache)),
                            ComparisonOptions(fractions=(), importance_repeats=1, top=1))
    comparison = report["comparison"]
    assert comparison["test_dataset"] == "folder"
    assert sorted(comparison["cross_dataset"]["kept"]) == ["anger", "happiness", "surprise"]
    scores = comparison["generalisation_results"]["lbptop-linear-svm"]
    assert 0 <= scores["accuracy"] <= 1
    # the main evaluation is still the 3-fold protocol on the first dataset alone
    assert report["protocol"] == "kfold" and report["n_clips"] == 42
    from handcrafted_dfer.report import summary_tables

    row = next(line for line in summary_tables(report).splitlines()
               if line.startswith("| generalisation"))
    assert "on folder" in row and "not measured" not in row
