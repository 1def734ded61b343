"""The handcrafted-vs-deep comparison: same clips, same folds, every Table-1 claim measured.

The review "A Review of Dynamic Facial Expression Recognition" (Table 1) says handcrafted features
are more interpretable, need less data and less compute, and generalise less in the wild than deep
models. :func:`run_comparison` measures what the data can show:

* **accuracy**: accuracy, UAR, WAR and macro F1 of every method, mean ± std over folds, from one
  :func:`~handcrafted_dfer.evaluate.runner.run_evaluation` (every method sees the same aligned
  clips and the same folds);
* **compute**: fit seconds, inference milliseconds per clip, peak memory, model size, number of
  features or parameters;
* **data needs**: a learning curve, the score on the unchanged test folds when only 25/50/75/100%
  of each fold's training *subjects* are kept, for the best handcrafted method and the deep
  baseline;
* **interpretability**: for each handcrafted method, the blocks (face region, plane, temporal
  segment) whose permutation on held-out folds costs the most accuracy
  (:mod:`handcrafted_dfer.explain`), named for a person, and what each block costs each class's
  recall; with the crop size and mean landmarks (``importance_layout``), ``dfer explain
  --report`` draws them again without recomputing; the deep row says what it offers instead;
* **generalisation**: with a test dataset, every method trained on the whole first dataset and
  tested on the second (classes they do not share are dropped).

Rendering and writing are in :mod:`handcrafted_dfer.report`.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np

from .config import Experiment, RunOptions
from .evaluate.runner import load_experiment_dataset, run_evaluation
from .explain.blocks import BlockNamer, has_landmarks, mean_landmarks
from .explain.importance import held_out_block_importance, held_out_class_importance
from .explain.plots import mean_face

__all__ = ["DEFAULT_METHODS", "DEEP_INTERPRETABILITY", "ComparisonOptions", "run_comparison"]

#: Methods compared when the user names none: three single descriptors, their fusion, the 3D CNN.
DEFAULT_METHODS = "lbptop-linear-svm,hog3d-linear-svm,flow-linear-svm,lbptop+hog3d-ridge,c3d"

#: What the deep baseline offers in place of a ranking of named blocks.
DEEP_INTERPRETABILITY = (
    "No named blocks: the 3D CNN's evidence is spread over learned filters with no fixed face "
    "region, plane or histogram bin. Per-clip saliency (input gradients, Grad-CAM) is the usual "
    "substitute; this toolkit does not compute it, and it would still have to be inspected clip "
    "by clip rather than read as a ranking of regions.")

_IMPORTANCE_NOTE = ("Permutation importance on held-out folds: all columns of a block (every bin "
                    "and, for flow, every direction of one grid cell, plane and temporal segment) "
                    "are shuffled together across the test clips; the drop in accuracy and UAR is "
                    "averaged over repeats and folds.")

_GENERALISATION_NOTE = ("Not measured by a single-dataset run: give a second dataset "
                        "(--test-dataset, --test-root) to train on one and test on the other.")


@dataclass(frozen=True)
class ComparisonOptions:
    """What the comparison measures beyond the evaluation.

    Parameters
    ----------
    fractions : tuple of float in (0, 1]
        Fractions of training subjects on the learning curve; empty to skip it.
    importance_repeats : int
        Permutations per block and fold.
    top : int
        Blocks listed per handcrafted method.
    """

    fractions: tuple = (0.25, 0.5, 0.75, 1.0)
    importance_repeats: int = 5
    top: int = 10

    def __post_init__(self):
        if any(not 0.0 < f <= 1.0 for f in self.fractions):
            raise ValueError(f"fractions must be in (0, 1]; got {self.fractions}")
        if self.importance_repeats < 1:
            raise ValueError(f"importance_repeats must be a positive integer; got "
                             f"{self.importance_repeats}")
        if self.top < 1:
            raise ValueError(f"top must be a positive integer; got {self.top}")


def _curve_point(entry: dict, fraction: float) -> dict:
    acc, uar = entry["per_fold"]["accuracy"], entry["per_fold"]["uar"]
    return {"fraction": fraction,
            "train_subjects_per_fold": [d["n_train_subjects"] for d in entry["fold_details"]],
            "accuracy": acc["mean"], "accuracy_std": acc["std"], "uar": uar["mean"],
            "uar_std": uar["std"], "fit_seconds": entry["fit_seconds"]}


def _evaluated(entry: dict) -> bool:
    return "skipped" not in entry


def _importance(report: dict, fitted: dict, dataset, options: ComparisonOptions, seed: int,
                progress: bool) -> tuple[dict, dict, dict]:
    clips = report.pop("_clips")
    report.pop("_features")
    measured = [c for c in clips if c is not None and has_landmarks(c)]
    landmarks = mean_landmarks(measured) if measured else None
    size = next(c.size for c in clips if c is not None)
    layout = {"size": size, "has_landmarks": landmarks is not None,
              "mean_landmarks": None if landmarks is None else np.round(landmarks, 2).tolist()}
    y = dataset.y
    importance, explain = {}, {"face": mean_face(clips), "blocks": {}}
    for entry in report["results"]:
        name = entry["method"]
        if entry["family"] == "deep":
            importance[name] = {"method": name, "family": "deep", "offers": DEEP_INTERPRETABILITY}
            continue
        folds = fitted[name]
        feature_names = folds[0]["feature_names"]
        held_out = [(f["estimator"], f["X_test"], y[f["test"]]) for f in folds]
        table = held_out_block_importance(
            held_out, feature_names=feature_names, n_repeats=options.importance_repeats,
            random_state=seed, progress=progress, desc=f"importance {name}")
        per_class = held_out_class_importance(
            held_out, feature_names=feature_names, n_repeats=options.importance_repeats,
            random_state=seed, progress=progress,
            desc=f"per-class importance {name}").renamed(dataset.labels)
        namer = BlockNamer.from_feature_names(feature_names, landmarks=landmarks, size=size)
        explain["blocks"][name] = (table, namer)
        importance[name] = {
            "method": name, "family": "handcrafted", "n_blocks": len(table),
            "n_repeats": options.importance_repeats, "n_folds": len(folds),
            "top": [{**row.to_dict(), "name": namer.describe(row.block)}
                    for row in table[:options.top]],
            "blocks": [row.to_dict() for row in table],
            "per_class": per_class.to_dict(),
        }
    return importance, explain, layout


def run_comparison(experiment: Experiment, run: RunOptions,
                   options: ComparisonOptions = ComparisonOptions(), *, dataset=None) -> dict:
    """Run every method on the same folds and measure accuracy, compute, data needs, blocks.

    Parameters
    ----------
    experiment : Experiment
    run : RunOptions
    options : ComparisonOptions
    dataset : Dataset, optional
        Already loaded (else ``experiment.dataset`` is loaded).

    Returns
    -------
    dict
        The runner's JSON-ready report plus ``learning_curve``, ``importance`` and ``comparison``
        sections, and (not JSON; dropped when written) ``"_explain"`` with what the plots need.
        ``wall_seconds`` is the whole comparison; ``evaluation_seconds`` its evaluation of every
        method on every fold (the runner's ``wall_seconds``).
    """
    start = time.perf_counter()
    if dataset is None:
        dataset = load_experiment_dataset(experiment.dataset, run, seed=experiment.seed)
    generalisation = None
    if experiment.test_dataset is not None:
        generalisation = run_evaluation(experiment, dataclasses.replace(run, measure_memory=False),
                                        dataset=dataset)
        experiment = dataclasses.replace(experiment, test_dataset=None)
    report = run_evaluation(experiment, run, dataset=dataset, return_models=True)
    fitted = report.pop("_folds")
    importance, explain, layout = _importance(report, fitted, dataset, options, experiment.seed,
                                              run.progress)
    by_name = {r["method"]: r for r in report["results"]}
    handcrafted = [r for r in report["results"] if r["family"] == "handcrafted" and _evaluated(r)]
    best = (max(handcrafted, key=lambda r: (r["uar"], r["accuracy"]))["method"]
            if handcrafted else None)
    curve_methods = [m for m in experiment.methods if m.name == best
                     or (m.family == "deep" and _evaluated(by_name[m.name]))]
    curve: dict = {m.name: [] for m in curve_methods}
    quiet = dataclasses.replace(run, measure_memory=False)
    subset = dataclasses.replace(experiment, methods=tuple(curve_methods))
    for fraction in sorted(options.fractions) if curve_methods else ():
        if fraction == 1.0:
            entries = [by_name[m.name] for m in curve_methods]
        else:
            entries = run_evaluation(subset, quiet, dataset=dataset,
                                     train_subject_fraction=fraction)["results"]
        for method, entry in zip(curve_methods, entries):
            curve[method.name].append(_curve_point(entry, fraction))
    report["learning_curve"] = {
        "basis": "fraction of each fold's training subjects kept; test folds unchanged; "
                 "scores are mean and std over folds",
        "fractions": sorted(float(f) for f in options.fractions),
        "best_handcrafted": best,
        "selection": "the handcrafted method with the highest pooled UAR",
        "methods": curve if options.fractions else {},
        "skipped": {r["method"]: r["skipped"] for r in report["results"]
                    if r["family"] == "deep" and not _evaluated(r)},
    }
    report["importance"] = importance
    report["importance_note"] = _IMPORTANCE_NOTE
    report["importance_layout"] = layout
    report["comparison"] = {"methods": [m.name for m in experiment.methods],
                            "generalisation": _GENERALISATION_NOTE,
                            "options": dataclasses.asdict(options)}
    if generalisation is not None:
        cross = generalisation["cross_dataset"]
        report["comparison"].update({
            "test_dataset": cross["test"],
            "generalisation": (f"Every method trained on all of {cross['train']} and tested on "
                               f"{cross['test']} ({generalisation['n_clips']} clips), on their "
                               f"common classes ({', '.join(cross['kept'])}); dropped: "
                               f"{', '.join(cross['dropped']) or 'none'}."),
            "generalisation_results": {
                r["method"]: {k: r[k] for k in ("accuracy", "uar", "war", "f1_macro")}
                for r in generalisation["results"] if "skipped" not in r},
            "cross_dataset": {**cross, "skipped": generalisation["skipped"]}})
    report["_explain"] = explain
    report["evaluation_seconds"] = report["wall_seconds"]
    report["wall_seconds"] = time.perf_counter() - start
    return report
