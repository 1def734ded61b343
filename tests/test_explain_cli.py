"""Tests of ``dfer explain`` and the explanations behind it (handcrafted_dfer.explain.report,
.held_out, .video, .lesson, .index, .tutorial)."""

from __future__ import annotations

import dataclasses
import json
import pathlib

import cv2
import numpy as np
import pytest
from skimage.feature import local_binary_pattern

import handcrafted_dfer.deep
from handcrafted_dfer.cli import main
from handcrafted_dfer.clip import AlignedClip
from handcrafted_dfer.compare import ComparisonOptions, run_comparison
from handcrafted_dfer.config import DatasetRef, Experiment, PreprocessConfig, RunOptions
from handcrafted_dfer.datasets.synthetic import load_synthetic
from handcrafted_dfer.evaluate.clips import prepare_clips
from handcrafted_dfer.face.preprocess import preprocess_video
from handcrafted_dfer.explain import (NO_LANDMARKS, BlockNamer, ClassImportance, block_kind,
                                      class_chi2_distances, chi2_distance, index_figures,
                                      mean_landmarks, model_spec, parse_block,
                                      plot_class_heatmaps, teaching_figures)
from handcrafted_dfer.explain.tutorial import check_links
from handcrafted_dfer.modelfile import load_model
from handcrafted_dfer.pipeline import build_pipeline, without_run_options
from handcrafted_dfer.report import write_report
from handcrafted_dfer.spec import parse_methods

ROOT = pathlib.Path(__file__).resolve().parents[1]
#: A tiny synthetic set: 4 subjects x 7 classes x 1 clip of 8-10 frames, 160 px.
TINY = {"subjects": 4, "clips_per_class": 1, "frames": (8, 10), "size": 160}
CONFIG = PreprocessConfig(size=64, frames=8)
DATASET_FLAGS = [f"--dataset-option={k}={json.dumps(v)}" for k, v in TINY.items()]
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The tiny set's root, a cache shared by this module, and the dataset."""
    base = tmp_path_factory.mktemp("explain_cli")
    dataset = load_synthetic(base / "synthetic", progress=False, **TINY)
    return base / "synthetic", base / "cache", dataset


@pytest.fixture(scope="module")
def model_path(tiny, tmp_path_factory):
    """A model trained by ``dfer train`` on the tiny set, with non-default settings."""
    root, cache, _ = tiny
    path = tmp_path_factory.mktemp("model") / "m.skops"
    assert main(["train", "--dataset", "synthetic", "--root", str(root), *DATASET_FLAGS,
                 "--cache", str(cache), "--size", "64", "--frames", "8",
                 "--method", "lbptop-linear-svm", "--set", "lbptop.grid=[2,4,4]",
                 "--set", "lbptop.radius=2", "--set", "svm.C=10", "--model", str(path),
                 "--quiet"]) == 0
    return path


def check_index(folder: pathlib.Path) -> list[pathlib.Path]:
    """Every figure the index names exists and is a non-empty PNG; every PNG is in the index."""
    index = folder / "index.md"
    figures = index_figures(index)
    assert figures, index.read_text()
    for path in figures:
        assert path.is_file(), path
        data = path.read_bytes()
        assert data.startswith(PNG) and len(data) > 1000, path
        image = cv2.imread(str(path))
        assert image is not None and image.shape[0] > 100 and image.shape[1] > 100, path
        assert image.std() > 1, f"{path} is blank"
    assert sorted(folder.glob("*.png")) == sorted(figures)
    assert json.loads((folder / "explanation.json").read_text()) is not None
    return figures


@pytest.fixture(scope="module")
def report_path(tiny, tmp_path_factory):
    """A small comparison report (as `dfer demo --quick` writes one, smaller), the 3D CNN
    skipped."""
    root, cache, dataset = tiny
    methods = parse_methods("lbptop-linear-svm,c3d")
    methods = (methods[0].with_settings([("lbptop", "grid", [2, 4, 4])]), methods[1])
    experiment = Experiment(DatasetRef("synthetic", str(root), dict(TINY)), methods,
                            protocol="kfold", folds=2, preprocess=CONFIG)
    patch = pytest.MonkeyPatch()
    patch.setattr(handcrafted_dfer.deep, "available", lambda: False)
    try:
        report = run_comparison(experiment, RunOptions(cache_dir=str(cache)),
                                ComparisonOptions(fractions=(0.5, 1.0), importance_repeats=2,
                                                  top=3), dataset=dataset)
    finally:
        patch.undo()
    path = tmp_path_factory.mktemp("report") / "cmp.json"
    write_report(report, path)
    return path


class TestReport:
    def test_report_holds_what_explain_needs(self, report_path, tiny):
        """Per-class importance and the face layout are in the JSON, and agree with the block
        table: every fold holds out every class, so the mean of the classes' recall drops is the
        UAR drop measured separately (same seed, same permutations)."""
        report = json.loads(report_path.read_text())
        layout = report["importance_layout"]
        assert layout["size"] == 64 and layout["has_landmarks"]
        clips = [c for c in prepare_clips(tiny[2], CONFIG, RunOptions(cache_dir=str(tiny[1])))
                 .clips if c is not None]
        np.testing.assert_allclose(layout["mean_landmarks"], mean_landmarks(clips), atol=0.006)
        info = report["importance"]["lbptop-linear-svm"]
        per_class = ClassImportance.from_dict(info["per_class"])
        assert per_class.classes == tuple(report["labels"])
        assert len(info["blocks"]) == info["n_blocks"] == 2 * 16 * 3
        uar = {parse_block(row["block"]): row["uar_drop"] for row in info["blocks"]}
        mean = dict(zip(per_class.groups, per_class.recall_drop.mean(axis=0)))
        assert set(mean) == set(uar)
        for block, value in uar.items():
            assert mean[block] == pytest.approx(value, abs=1e-12)

    def test_explain_report_writes_the_figures_and_the_index(self, report_path, tmp_path, capsys):
        out = tmp_path / "explained"
        assert main(["explain", "--report", str(report_path), "--out", str(out)]) == 0
        names = {p.name for p in check_index(out)}
        assert names == {"confusion.png", "learning_curve.png",
                         "blocks_lbptop-linear-svm.png", "heatmap_lbptop-linear-svm.png",
                         "class_heatmaps_lbptop-linear-svm.png",
                         "class_segments_lbptop-linear-svm.png"}
        index = (out / "index.md").read_text()
        assert "Synthetic data" in index and "No named blocks" in index  # the deep row's note
        for name in names:  # one sentence per figure, right after it
            after = index.split(f"]({name})", 1)[1].strip().split("\n")[0]
            assert after.endswith(".") and len(after) > 40, name
        assert "| happiness |" in index
        printed = capsys.readouterr().out
        assert "wrote 6 figures" in printed and str(out / "index.md") in printed

    def test_older_and_evaluation_reports_get_what_they_hold(self, report_path, tmp_path):
        report = json.loads(report_path.read_text())
        old = dict(report, importance={name: {k: v for k, v in info.items()
                                              if k not in ("blocks", "per_class")}
                                       for name, info in report["importance"].items()})
        del old["importance_layout"]
        (tmp_path / "old.json").write_text(json.dumps(old))
        assert main(["explain", "--report", str(tmp_path / "old.json"),
                     "--out", str(tmp_path / "old")]) == 0
        assert {p.name for p in check_index(tmp_path / "old")} == {
            "confusion.png", "learning_curve.png", "blocks_lbptop-linear-svm.png"}
        assert "rerun `dfer compare`" in (tmp_path / "old" / "index.md").read_text()
        evaluation = {k: v for k, v in report.items()
                      if k not in ("comparison", "importance", "learning_curve")}
        (tmp_path / "eval.json").write_text(json.dumps(evaluation))
        assert main(["explain", "--report", str(tmp_path / "eval.json"),
                     "--out", str(tmp_path / "eval")]) == 0
        assert [p.name for p in check_index(tmp_path / "eval")] == ["confusion.png"]

    def test_bad_reports_and_combinations_exit_2(self, report_path, tmp_path, capsys):
        (tmp_path / "bad.json").write_text("{not json")
        (tmp_path / "other.json").write_text(json.dumps({"windows": []}))
        (tmp_path / "file").write_text("")
        cases = [
            (["--report", str(tmp_path / "bad.json")], "bad.json: not JSON"),
            (["--report", str(tmp_path / "other.json")], "no 'results' and 'labels'"),
            (["--report", str(tmp_path / "missing.json")], "cannot read the report"),
            (["--report", str(report_path), "--model", "m.skops"], "drop --model"),
            (["--model", "m.skops"], "needs a VIDEO to explain, or --dataset"),
            ([], "give --report OUT.json, --model MODEL"),
        ]
        for args, message in cases:
            assert main(["explain", *args, "--out", str(tmp_path / "out")]) == 2, args
            assert message in capsys.readouterr().err, args
        assert main(["explain", "--report", str(report_path), "--out",
                     str(tmp_path / "file")]) == 2
        assert "is a file; expected a folder" in capsys.readouterr().err


class TestModel:
    def test_train_stores_the_training_mean_and_the_spec_rebuilds_the_pipeline(self, model_path,
                                                                               tiny):
        root, cache, dataset = tiny
        model = load_model(model_path)
        spec = model_spec(model)
        assert spec.step_settings("lbptop")["radius"] == 2
        assert spec.step_settings("svm")["C"] == 10
        rebuilt = without_run_options(build_pipeline(spec, preprocess=model.config))

        def plain(params):  # values only (estimators are compared through their parameters)
            return {k: json.dumps(v, default=repr) for k, v in params.items()
                    if not hasattr(v, "get_params")}

        assert plain(rebuilt.get_params()) == plain(model.pipeline.get_params())
        # the mean row, against features computed here by a freshly built pipeline
        clips = [c for c in prepare_clips(dataset, model.config,
                                          RunOptions(cache_dir=str(cache))).clips
                 if c is not None]
        fresh = build_pipeline(spec, preprocess=model.config).named_steps["features"]
        np.testing.assert_allclose(model.metadata["feature_mean"],
                                   fresh.fit_transform(clips).mean(axis=0), rtol=1e-12)

    @pytest.mark.slow
    def test_explain_model_video_on_real_footage(self, model_path, shared_videos, tmp_path):
        video = shared_videos / "single_face.mp4"
        out = tmp_path / "video"
        assert main(["explain", "--model", str(model_path), str(video), "--out", str(out),
                     "--window", "16", "--stride", "8", "--quiet"]) == 0
        assert [p.name for p in check_index(out)] == ["aligned_frames.png", "occlusion.png",
                                                      "timeline.png"]
        data = json.loads((out / "explanation.json").read_text())
        model = load_model(model_path)
        assert data["label"] in model.labels
        assert sum(data["probabilities"].values()) == pytest.approx(1.0)
        occlusion = data["occlusion"]
        assert occlusion["label"] == data["label"] and occlusion["score"] == "probability"
        # the largest effect, recomputed here: the block's columns set to the training mean
        from handcrafted_dfer.face.preprocess import preprocess_video
        from handcrafted_dfer.pipeline import feature_names

        clip = preprocess_video(video, model.config)
        row = model.pipeline[:1].transform([clip])[0]
        names = feature_names(model.pipeline)
        k = int(np.argmax(occlusion["effect"]))
        block = parse_block(occlusion["blocks"][k])
        columns = np.array([parse_block(n.rsplit("/", 1)[0]) == block for n in names])
        changed = row.copy()
        changed[columns] = np.asarray(model.metadata["feature_mean"])[columns]
        column = model.class_names.index(data["label"])
        proba = model.pipeline[1:].predict_proba(np.stack([row, changed]))[:, column]
        assert proba[0] == pytest.approx(occlusion["baseline"])
        assert proba[0] - proba[1] == pytest.approx(occlusion["effect"][k])
        windows = data["timeline"]["windows"]
        assert windows[0]["start_frame"] == 0 and windows[-1]["end_frame"] == 72
        assert all(not w["no_face"] for w in windows)  # a face throughout (SOURCES.md)
        index = (out / "index.md").read_text()
        assert f"got '{data['label']}'" in index and "single_face.mp4" in index

    @pytest.mark.slow
    def test_explain_model_on_held_out_folds(self, model_path, tiny, tmp_path, capsys):
        root, cache, _ = tiny
        out = tmp_path / "held"
        assert main(["explain", "--model", str(model_path), "--dataset", "synthetic", "--root",
                     str(root), *DATASET_FLAGS, "--cache", str(cache), "--protocol", "kfold",
                     "--folds", "2", "--repeats", "2", "--out", str(out), "--quiet"]) == 0
        names = [p.name for p in check_index(out)]
        assert names == ["class_heatmaps_lbptop-linear-svm.png",
                         "class_segments_lbptop-linear-svm.png", "class_planes.png", "views.png",
                         "histograms_lbptop.png", "histograms_lbptop_relative.png",
                         "histograms_top_cell.png", "separability.png"]
        data = json.loads((out / "explanation.json").read_text())
        assert data["method"] == "lbptop-linear-svm" and data["n_folds"] == 2
        # the permutation view is the mean over classes of the per-class recall drops
        per_class = ClassImportance.from_dict(data["per_class_importance"])
        views = data["views"]
        assert views["blocks"] == [str(b) for b in per_class.groups]
        np.testing.assert_allclose(views["values"][0], per_class.recall_drop.mean(axis=0))
        rho = np.asarray(views["spearman"])
        assert np.allclose(rho, rho.T, equal_nan=True) and np.allclose(np.diag(rho), 1)
        assert set(data["per_class_importance_of_planes"]["groups"]) == {
            "lbptop/xy", "lbptop/xt", "lbptop/yt"}
        separability = data["separability"]
        between = np.asarray(separability["between"])
        assert np.allclose(between, between.T) and np.all(np.diag(between) == 0)
        assert np.all(between[~np.eye(len(between), dtype=bool)] > 0)
        index = (out / "index.md").read_text()
        assert "need not agree" in index  # VIEWS_NOTE
        assert "edge" in data["histograms"]["lbptop/xy"]["labels"][25]
        assert main(["explain", "--model", str(model_path), "--dataset", "synthetic",
                     "--set", "lbptop.radius=3", "--out", str(out)]) == 2
        assert "comes from the model file; drop --set" in capsys.readouterr().err
        clip = tiny[2].clips[0].path  # a frame folder
        assert main(["explain", "--model", str(model_path), clip, "--size", "32",
                     "--out", str(out)]) == 2
        assert "--size and --frames must match the model's (64 px" in capsys.readouterr().err


class TestTeach:
    def test_teach_writes_the_five_figures_with_the_method_parameters(self, tiny, tmp_path):
        root, cache, dataset = tiny
        clip = prepare_clips(dataset.subset([3]), CONFIG,
                             RunOptions(cache_dir=str(cache))).clips[0]
        clip.save(tmp_path / "clip.npz")
        out = tmp_path / "teach"
        assert main(["explain", "--teach", str(tmp_path / "clip.npz"), "--out", str(out),
                     "--set", "lbptop.radius=2", "--set", "hog3d.polyhedron=dodecahedron",
                     "--method", "lbptop+hog3d-svm", "--frame", "3"]) == 0
        assert [p.name for p in check_index(out)] == [
            "lbp_code.png", "motion_slices.png", "block_histograms.png", "hog3d_cell.png",
            "flow.png"]
        data = json.loads((out / "explanation.json").read_text())
        assert data["extractors"]["lbptop"]["radius"] == 2
        assert data["extractors"]["hog3d"]["polyhedron"] == "dodecahedron"
        assert data["frame"] == 3
        pixel = data["lbp_pixel"]
        codes = local_binary_pattern(clip.frames[3], 8, 2, method="default")
        assert pixel["code"] == int(codes[pixel["row"], pixel["col"]])
        # the pixel is the right mouth corner (landmark 48) of that frame
        x, y = clip.landmarks[3, 48]
        assert (pixel["row"], pixel["col"]) == (round(y), round(x))
        index = (out / "index.md").read_text()
        assert f"code {pixel['code']}" in index and "dodecahedron" in index
        assert "Kläser" in index and "Zhao & Pietikäinen" in index and "Dalal" in index

    def test_teach_refuses_a_setting_of_no_step(self, tiny, tmp_path, capsys):
        assert main(["explain", "--teach", str(tmp_path / "missing.npz"),
                     "--out", str(tmp_path / "t")]) == 2
        assert "missing.npz" in capsys.readouterr().err
        clip = tmp_path / "c.npz"
        AlignedClip(frames=np.zeros((8, 32, 32), np.uint8), landmarks=np.zeros((8, 68, 2)),
                    valid=np.ones(8, bool), fps=25.0, source="x").save(clip)
        assert main(["explain", "--teach", str(clip), "--set", "rf.n_estimators=3",
                     "--out", str(tmp_path / "t")]) == 2
        assert "unknown step 'rf'" in capsys.readouterr().err


class TestNoLandmarks:
    def test_aligned_faces_say_there_are_no_landmarks(self, tiny, tmp_path):
        root, cache, dataset = tiny
        clips = prepare_clips(dataset.subset([0, 1]), CONFIG, RunOptions(cache_dir=str(cache)))
        # the same video read as frames already aligned: no landmarks are measured
        bare = preprocess_video(dataset.clips[1].path,
                                dataclasses.replace(CONFIG, faces="aligned"))
        assert not bare.has_landmarks and clips.clips[0].has_landmarks
        with pytest.raises(ValueError, match="measured landmarks"):
            mean_landmarks([bare])
        np.testing.assert_allclose(mean_landmarks([clips.clips[0], bare]),
                                   mean_landmarks([clips.clips[0]]))
        names = [f"lbptop/xt/r{r}c{c}/t0/b0" for r in range(4) for c in range(4)]
        namer = BlockNamer.from_feature_names(names, landmarks=None, size=64)
        assert not namer.has_landmarks
        assert namer.describe(parse_block("lbptop/xt/r2c1/t0")) == (
            "block at row 3, column 2 of 4 x 4 (no landmarks), XT plane, whole clip")
        importance = ClassImportance(("a", "b"), tuple(parse_block(n[:-3]) for n in names),
                                     np.arange(32.0).reshape(2, 16) / 32, np.zeros((2, 16)),
                                     np.ones(16, int), np.ones(2, int))
        fig = plot_class_heatmaps(importance, namer=namer, face=np.full((64, 64), 128.0))
        assert all(not ax.collections for ax in fig.get_axes() if ax.images)  # no dots
        assert main(["explain", "--teach", dataset.clips[1].path, "--faces", "aligned",
                     "--size", "64", "--frames", "8", "--out", str(tmp_path / "teach"),
                     "--quiet"]) == 0
        data = json.loads((tmp_path / "teach" / "explanation.json").read_text())
        assert data["lbp_pixel"]["row"] == data["lbp_pixel"]["col"] == 32  # the centre
        index = (tmp_path / "teach" / "index.md").read_text()
        assert NO_LANDMARKS in index and "cross the centre of the crop" in index
        assert len(check_index(tmp_path / "teach")) == 5
        explanation = teaching_figures(clips.clips[0], out=tmp_path / "measured")
        assert NO_LANDMARKS not in explanation.index.read_text()


def test_separability_of_families_with_different_bin_counts():
    """χ² separability over LBP-TOP (59 bins) and HOF (9 bins) blocks together, against a plain
    loop over clips, blocks and bins."""
    names = ([f"lbptop/xy/r0c{c}/t0/b{b:02d}" for c in range(2) for b in range(59)]
             + [f"hof/r0c0/t0/o{b}" for b in range(9)])
    rng = np.random.default_rng(3)
    X = rng.random((12, len(names)))
    y = np.repeat([0, 1, 2], 4)
    separability = class_chi2_distances(X, y, feature_names=names)
    spans = [slice(0, 59), slice(59, 118), slice(118, 127)]

    def scaled(row):
        return [row[s] / row[s].sum() for s in spans]

    means = {c: [np.mean([scaled(X[i])[b] for i in np.flatnonzero(y == c)], axis=0)
                 for b in range(3)] for c in range(3)}
    for i in range(3):
        for k in range(3):
            expected = np.mean([0.5 * np.sum((means[i][b] - means[k][b]) ** 2
                                             / (means[i][b] + means[k][b])) for b in range(3)])
            assert separability.between[i, k] == pytest.approx(expected, abs=1e-12)
        within = np.mean([np.mean([chi2_distance(scaled(X[j])[b], means[i][b])
                                   for j in np.flatnonzero(y == i)]) for b in range(3)])
        assert separability.within[i] == pytest.approx(within)
    assert block_kind(parse_block("hof/r0c0/t0")) == "hof"


def test_tutorial_and_readme_figures_are_in_docs():
    """Every image docs/tutorial.md and the README link exists in the repository as a PNG made
    by the tutorial command (docs/tutorial/), and the check the command runs in CI finds them."""
    tutorial = ROOT / "docs" / "tutorial.md"
    linked = index_figures(tutorial)
    assert len(linked) >= 15
    readme = [p for p in index_figures(ROOT / "README.md") if "tutorial" in str(p)]
    assert readme, "the README shows a per-class heatmap from docs/tutorial"
    for path in linked + readme:
        assert path.is_file() and path.read_bytes().startswith(PNG), path
        assert path.resolve().is_relative_to(ROOT / "docs" / "tutorial"), path
    assert check_links(tutorial, ROOT / "docs" / "tutorial") == []
    text = tutorial.read_text()
    for reference in ("Zhao", "Pietikäinen", "Kläser", "Dalal", "Triggs", "Schmid",
                      "python -m handcrafted_dfer.explain.tutorial docs/tutorial"):
        assert reference in text, reference


def test_check_links_names_what_is_missing(tmp_path):
    (tmp_path / "doc.md").write_text("![a](figs/a.png) ![b](figs/sub/b.png) ![c](other/c.png)")
    out = tmp_path / "elsewhere" / "figs"
    (out / "sub").mkdir(parents=True)
    (out / "a.png").write_bytes(PNG)
    assert check_links(tmp_path / "doc.md", out) == ["figs/sub/b.png"]
    (out / "sub" / "b.png").write_bytes(PNG)
    assert check_links(tmp_path / "doc.md", out) == []
