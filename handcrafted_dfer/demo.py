"""``dfer demo``: the whole comparison on the embedded synthetic set, from nothing, in minutes."""

from __future__ import annotations

import dataclasses
import pathlib
import time

from .compare import DEFAULT_METHODS, ComparisonOptions, run_comparison
from .config import DatasetRef, Experiment, RunOptions
from .report import write_report
from .spec import parse_methods

__all__ = ["DEMO_NET", "DEMO", "QUICK", "demo_experiment", "demo_readme", "run_demo"]

#: The 3D CNN of the demo: about 0.3 million parameters on 32 x 32 inputs, so that ten trainings
#: (4 folds, and the learning curve's 25/50/75% points) fit in the demo's time on two CPU cores.
DEMO_NET = {"input_size": 32, "widths": [16, 32, 64, 128], "batch_size": 8, "lr": 2e-3,
            "lr_schedule": "onecycle", "temporal_difference": True, "val_fraction": 0.15,
            "patience": 4}

#: Settings of the full demo: the default synthetic set (8 subjects x 7 classes x 2 clips),
#: subject-independent 4-fold (LOSO would train the 3D CNN 8 times per curve point), the methods
#: ``dfer compare`` compares by default.
DEMO = {"subjects": 8, "clips_per_class": 2, "n_splits": 4,
        "methods": DEFAULT_METHODS,
        "options": ComparisonOptions(fractions=(0.25, 0.5, 0.75, 1.0), importance_repeats=5),
        "deep": {**DEMO_NET, "epochs": 15}}

#: Settings of ``--quick``: fewer subjects, clips, methods, curve points, permutations and epochs.
QUICK = {"subjects": 6, "clips_per_class": 1, "n_splits": 3,
         "methods": "lbptop-linear-svm,lbptop+hog3d-ridge,c3d",
         "options": ComparisonOptions(fractions=(0.5, 1.0), importance_repeats=2),
         "deep": {**DEMO_NET, "epochs": 12}}


def demo_experiment(settings: dict, *, root, seed: int = 0) -> Experiment:
    """The experiment of a demo preset (:data:`DEMO` or :data:`QUICK`) on the set under ``root``."""
    methods = tuple(spec.with_settings(("c3d", k, v) for k, v in settings["deep"].items())
                    if spec.family == "deep" else spec
                    for spec in parse_methods(settings["methods"]))
    dataset = DatasetRef("synthetic", str(root), {"subjects": settings["subjects"],
                                                  "clips_per_class": settings["clips_per_class"],
                                                  "seed": seed})
    return Experiment(dataset=dataset, methods=methods, protocol="kfold",
                      folds=settings["n_splits"], seed=seed)


def demo_readme(report: dict, *, settings: dict, seconds: float, files: list, quick: bool) -> str:
    """The README.md of the demo folder: what was run, what the files are, and what it is not."""
    deep = [r for r in report["results"] if r["family"] == "deep"]
    skipped = deep and "skipped" in deep[0]
    deep_line = ("The 3D CNN was skipped: " + deep[0]["skipped"] + "." if skipped
                 else "The 3D CNN was trained on the same aligned clips and folds.")
    listing = "\n".join(f"- `{pathlib.Path(f).name}`" for f in files)
    return f"""# dfer demo{' (--quick)' if quick else ''}

**The data are synthetic.** Every clip is a warp of one of two public-domain portraits
(scikit-image's astronaut, matplotlib's Grace Hopper), animated with hand-made FACS action units.
This report is a smoke test of the whole pipeline and a teaching aid: it is **not** evidence of
accuracy on real faces. Run `dfer compare` on CK+, DFEW, MAFW or FERV39k for that.

What ran: {settings['subjects']} synthetic subjects x 7 classes x {settings['clips_per_class']}
clip(s) = {report['n_clips']} clips ({len(report['skipped'])} skipped), face detection and
alignment with dlib, LBP-TOP, 3D-HOG and optical-flow descriptors, SVM and random-forest
classifiers with subject-grouped inner searches, protocol `{report['protocol']}`
({report['n_folds']} subject-independent folds: no subject is on both sides of a fold).
{deep_line} Methods: {', '.join(report['comparison']['methods'])}. Wall time {seconds:.0f} s
with {report['environment']['n_jobs']} jobs on {report['environment']['cpu_count']} CPUs.

How to read it: `report.md` has the review's Table 1 measured (accuracy, compute, data needs,
interpretability), the learning curve and, for each handcrafted method, the face blocks
(region, plane, temporal segment) whose shuffling on held-out subjects costs the most accuracy.
`report.toml` is the resolved experiment: `dfer compare --config report.toml --report again.json`
runs it again.

Files:
{listing}
- `cache/`: the synthetic clips and the feature store (delete it to start from scratch)

Same command on your own data:

    dfer compare --dataset ckplus --root /path/to/CK+ --protocol kfold --folds 10 --report ck.json
"""


def run_demo(out: str | pathlib.Path, run: RunOptions, *, quick: bool = False,
             seed: int = 0) -> tuple[dict, dict, pathlib.Path]:
    """Generate the set, run the comparison, write the report folder.

    Parameters
    ----------
    out : str or Path
        Report folder (created).
    run : RunOptions
        ``cache_dir`` None means ``OUT/cache``.
    quick : bool
        Use :data:`QUICK` instead of :data:`DEMO`.
    seed : int

    Returns
    -------
    report : dict
    paths : dict
        As :func:`~handcrafted_dfer.report.write_report` returns them.
    readme : Path
    """
    start = time.perf_counter()
    settings = QUICK if quick else DEMO
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if run.cache_dir is None:
        run = dataclasses.replace(run, cache_dir=str(out / "cache"))
    experiment = demo_experiment(settings, root=pathlib.Path(run.cache_dir) / "synthetic",
                                 seed=seed)
    report = run_comparison(experiment, run, settings["options"])
    paths = write_report(report, out / "report.json")
    seconds = time.perf_counter() - start
    files = [paths["markdown"], paths["json"], paths["toml"], *paths["figures"]]
    readme = out / "README.md"
    readme.write_text(demo_readme(report, settings=settings, seconds=seconds, files=files,
                                  quick=quick), encoding="utf-8")
    return report, paths, readme
