"""Everything that can be checked from the arguments and the listing is checked before any pixel
is read: output paths, the clip shape against the extractors, the protocol and the classes; and
no result is claimed that the data cannot earn (one class)."""

from __future__ import annotations

import json
import pathlib
import shutil

import pytest

from conftest import manifest_rows, write_manifest
from handcrafted_dfer.cli import main
from handcrafted_dfer.config import DatasetRef, Experiment, RunOptions
from handcrafted_dfer.datasets.base import Clip, Dataset
from handcrafted_dfer.errors import DatasetLayoutError
from handcrafted_dfer.spec import parse_methods


@pytest.fixture(scope="module")
def two_classes(synthetic_faces, tmp_path_factory):
    """A manifest of 8 clips: 4 subjects x (happiness, surprise)."""
    labels = (synthetic_faces.labels[4], synthetic_faces.labels[6])
    return write_manifest(tmp_path_factory.mktemp("early") / "clips.csv",
                          manifest_rows(synthetic_faces, labels))


def _nothing_read(cache: pathlib.Path) -> bool:
    """True when no clip was preprocessed into the cache (no entry, not even a failure)."""
    return not (cache / "clips").exists() or not any((cache / "clips").iterdir())


def _error_line(capsys, command: str) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err  # one line, no traceback
    assert err.startswith(f"dfer {command}: error: "), err
    return err


class TestOutputPaths:
    """Every output flag: a missing folder, a folder given as the file, exit 2 before any work."""

    def _dataset(self, two_classes, cache):
        return ["--dataset", "manifest", "--root", str(two_classes), "--features", "lbptop",
                "--classifier", "rf", "--cache", str(cache), "--quiet"]

    @pytest.mark.parametrize("command, flag", [("evaluate", "--report"), ("compare", "--report"),
                                               ("train", "--model")])
    @pytest.mark.parametrize("problem", ["missing folder", "a folder"])
    def test_run_outputs(self, two_classes, tmp_path, capsys, command, flag, problem):
        cache = tmp_path / "cache"
        target = (tmp_path / "missing" / "out.json" if problem == "missing folder"
                  else tmp_path / "a_folder.json")
        if problem == "a folder":
            target.mkdir()
        dataset = self._dataset(two_classes, cache)
        if command == "compare":
            dataset = [a for a in dataset if a not in ("--features", "lbptop", "--classifier",
                                                       "rf")] + ["--methods", "lbptop-rf"]
        assert main([command, *dataset, flag, str(target)]) == 2
        err = _error_line(capsys, command)
        assert (str(target.parent) if problem == "missing folder" else str(target)) in err
        assert _nothing_read(cache)

    @pytest.mark.parametrize("problem", ["a file", "below a file"])
    def test_cache(self, two_classes, tmp_path, capsys, problem):
        blocker = tmp_path / "blocker"
        blocker.write_text("not a folder")
        cache = blocker if problem == "a file" else blocker / "cache"
        report = tmp_path / "r.json"
        assert main(["evaluate", *self._dataset(two_classes, cache), "--report",
                     str(report)]) == 2
        err = _error_line(capsys, "evaluate")
        assert str(blocker) in err and "expected a folder for the cache" in err
        assert not report.exists()

    @pytest.mark.parametrize("flag", ["--json", "--plot"])
    @pytest.mark.parametrize("problem", ["missing folder", "a folder"])
    def test_predict_outputs_before_the_model_is_read(self, synthetic_faces, tmp_path, capsys,
                                                      flag, problem):
        target = tmp_path / "missing" / "out" if problem == "missing folder" else tmp_path
        status = main(["predict", synthetic_faces.clips[0].path, "--model",
                       str(tmp_path / "no_model.skops"), flag, str(target), "--quiet"])
        assert status == 2
        err = _error_line(capsys, "predict")
        assert "no_model" not in err  # the output was refused first
        assert (str(target.parent) if problem == "missing folder" else str(target)) in err

    @pytest.mark.parametrize("flag", ["--out", "--preview"])
    @pytest.mark.parametrize("problem", ["missing folder", "a folder"])
    def test_preprocess_outputs(self, synthetic_faces, tmp_path, capsys, monkeypatch, flag,
                                problem):
        import handcrafted_dfer.face.preprocess as preprocess

        calls = []
        real = preprocess.preprocess_video
        monkeypatch.setattr(preprocess, "preprocess_video",
                            lambda *a, **k: calls.append(a) or real(*a, **k))
        target = tmp_path / "missing" / "x.png" if problem == "missing folder" else tmp_path
        others = {"--out": str(tmp_path / "clip.npz"), "--preview": str(tmp_path / "sheet.png")}
        others[flag] = str(target)
        argv = ["preprocess", synthetic_faces.clips[0].path, "--quiet"]
        for key, value in others.items():
            argv += [key, value]
        assert main(argv) == 2
        err = _error_line(capsys, "preprocess")
        assert (str(target.parent) if problem == "missing folder" else str(target)) in err
        assert calls == []  # refused before any frame was read

    def test_a_clip_is_written_where_it_is_said_to_be(self, synthetic_faces, tmp_path, capsys):
        out = tmp_path / "clip_without_suffix"
        assert main(["preprocess", synthetic_faces.clips[0].path, "--out", str(out),
                     "--frames", "4", "--size", "32"]) == 0
        printed = capsys.readouterr().out.split(":")[0]
        assert printed == str(out) and out.is_file() and not out.with_suffix(".npz").exists()

    def test_a_late_write_failure_keeps_the_report(self, two_classes, tmp_path, capsys,
                                                   monkeypatch):
        """The report folder turns into a file while the run works: the JSON report is saved
        in the temporary folder, and the one-line message says where."""
        import handcrafted_dfer.evaluate.runner as runner

        folder = tmp_path / "reports"
        folder.mkdir()
        real = runner.run_evaluation

        def run_then_lose_the_folder(*args, **kwargs):
            report = real(*args, **kwargs)
            shutil.rmtree(folder)
            folder.write_text("a file now")
            return report

        monkeypatch.setattr(runner, "run_evaluation", run_then_lose_the_folder)
        assert main(["evaluate", *self._dataset(two_classes, tmp_path / "cache"), "--report",
                     str(folder / "r.json")]) == 2
        err = _error_line(capsys, "evaluate")
        assert "could not write the report" in err
        saved = pathlib.Path(err.split("saved to ")[1].split(" instead")[0])
        try:
            report = json.loads(saved.read_text())
            assert report["n_clips"] == 8 and report["results"][0]["method"] == "lbptop-rf"
        finally:
            saved.unlink()


class TestClipShapeAndProtocol:
    """A bad argument exits 2 with the rule it breaks, before any clip is preprocessed."""

    @pytest.mark.parametrize("extra, message", [
        (["--frames", "2"], "T >= 2*R_t + 1"),                     # LBP-TOP R_t = 1 needs 3
        (["--frames", "4", "--set", "lbptop.radius=[2,1,1]"], "T >= 2*R_t + 1"),
        (["--size", "16", "--set", "lbptop.grid=[1,15,15]"], "15 blocks along y"),  # 14 centres
        (["--size", "4", "--set", "lbptop.radius=3"], "rows (H)"),
        (["--features", "hog3d", "--frames", "1", "--set", "hog3d.grid=[1,1,1]"], "T >= 2"),
        (["--features", "hog3d", "--set", "hog3d.sigma=-1"], "sigma"),
        (["--features", "flow", "--size", "10", "--set", "flow.grid=[1,1,1]"], "12x12"),
        (["--features", "flow", "--set", "flow.method=lucas-kanade"], "farneback"),
        (["--protocol", "kfold", "--folds", "9"], "subjects"),     # 4 subjects
    ])
    def test_exits_2_before_any_pixel_is_read(self, two_classes, tmp_path, capsys, extra,
                                              message):
        cache = tmp_path / "cache"
        argv = ["evaluate", "--dataset", "manifest", "--root", str(two_classes), "--classifier",
                "linear-svm", "--cache", str(cache), "--report", str(tmp_path / "r.json"),
                "--quiet"]
        if "--features" not in extra:
            argv += ["--features", "lbptop"]
        assert main(argv + extra) == 2
        assert message in _error_line(capsys, "evaluate")
        assert _nothing_read(cache)

    def test_a_class_of_one_subject(self, synthetic_faces, tmp_path, capsys):
        happy, surprise = synthetic_faces.labels[4], synthetic_faces.labels[6]
        rows = manifest_rows(synthetic_faces, (happy,)) + manifest_rows(
            synthetic_faces, (surprise,), subjects=("S901",))
        manifest = write_manifest(tmp_path / "clips.csv", rows)
        cache = tmp_path / "cache"
        assert main(["evaluate", "--dataset", "manifest", "--root", str(manifest), "--features",
                     "lbptop", "--classifier", "rf", "--cache", str(cache), "--report",
                     str(tmp_path / "r.json"), "--quiet"]) == 2
        assert "only 1 subject" in _error_line(capsys, "evaluate")
        assert _nothing_read(cache)

    def test_a_calibrated_svm_with_one_training_clip_of_a_class(self, synthetic_faces, tmp_path):
        """Surprise from 2 subjects: each LOSO fold trains on 1 surprise clip, which Platt
        scaling cannot split: refused before preprocessing (the forest needs no calibration)."""
        happy, surprise = synthetic_faces.labels[4], synthetic_faces.labels[6]
        clips = [c for c in synthetic_faces.clips if c.label == happy or (
            c.label == surprise and c.subject in ("S901", "S902"))]
        dataset = _dataset(clips, (happy, surprise))
        cache = tmp_path / "cache"
        with pytest.raises(DatasetLayoutError, match="calibration needs at least 2 training"):
            _evaluate(dataset, "lbptop-linear-svm", cache)
        assert _nothing_read(cache)


def _dataset(clips, labels) -> Dataset:
    clips = [Clip(c.id, c.path, c.label, labels.index(c.label), c.subject, "toy")
             for c in clips]
    return Dataset("toy", str(pathlib.Path(clips[0].path).parents[2]), clips, labels)


def _evaluate(dataset, method, cache):
    from handcrafted_dfer.evaluate.runner import run_evaluation

    experiment = Experiment(dataset=DatasetRef(dataset.name, dataset.root),
                            methods=parse_methods(method))
    return run_evaluation(experiment, RunOptions(cache_dir=str(cache)), dataset=dataset)


class TestOneClass:
    """One class: no 100 % score and no model that answers it for every video."""

    def test_evaluate_refuses_before_preprocessing(self, synthetic_faces, tmp_path):
        happy = synthetic_faces.labels[4]
        dataset = _dataset([c for c in synthetic_faces.clips if c.label == happy], (happy,))
        with pytest.raises(DatasetLayoutError, match="at least 2 classes"):
            _evaluate(dataset, "lbptop-rf", tmp_path / "cache")
        assert _nothing_read(tmp_path / "cache")

    def test_train_refuses_before_preprocessing(self, synthetic_faces, tmp_path):
        from handcrafted_dfer.train import train_model

        happy = synthetic_faces.labels[4]
        dataset = _dataset([c for c in synthetic_faces.clips if c.label == happy], (happy,))
        experiment = Experiment(dataset=DatasetRef(dataset.name, dataset.root),
                                methods=parse_methods("lbptop-rf"))
        with pytest.raises(DatasetLayoutError, match="at least 2 classes"):
            train_model(experiment, RunOptions(cache_dir=str(tmp_path / "cache")),
                        dataset=dataset)
        assert _nothing_read(tmp_path / "cache")

    def test_dfer_train_refuses_and_writes_no_model(self, synthetic_faces, tmp_path, capsys):
        happy = synthetic_faces.labels[4]
        manifest = write_manifest(tmp_path / "one.csv", manifest_rows(synthetic_faces, (happy,)))
        model = tmp_path / "model.skops"
        assert main(["train", "--dataset", "manifest", "--root", str(manifest), "--features",
                     "lbptop", "--classifier", "rf", "--cache", str(tmp_path / "cache"),
                     "--model", str(model), "--quiet"]) == 2
        assert "at least 2 classes" in _error_line(capsys, "train")
        assert not model.exists() and _nothing_read(tmp_path / "cache")


class TestJobs:
    def test_jobs_above_the_usable_cores_are_capped_with_a_warning(self, tmp_path, capsys):
        """The warning comes with the run options, before the dataset (missing here) is read."""
        from handcrafted_dfer.parallel import usable_cores

        cores = usable_cores()
        argv = ["evaluate", "--dataset", "manifest", "--root", str(tmp_path / "missing.csv"),
                "--cache", str(tmp_path / "cache"), "--report", str(tmp_path / "r.json"),
                "--quiet", "--jobs"]
        assert main(argv + [str(cores + 6)]) == 2
        err = capsys.readouterr().err
        assert (f"dfer evaluate: warning: --jobs {cores + 6} is more than the {cores} usable "
                f"cores of this machine; using {cores}") in err
        assert main(argv + [str(cores)]) == 2
        assert "warning" not in capsys.readouterr().err
