"""The handcrafted-vs-deep comparison: same clips, same folds, every Table-1 claim measured.

The review "A Review of Dynamic Facial Expression Recognition" (Table 1) says handcrafted features
are more interpretable, need less data and less compute, and generalise less in the wild than deep
models. :func:`run_comparison` measures what one dataset can show:

* **accuracy**: accuracy, UAR, WAR and macro F1 of every method, mean ± std over folds, from
  :func:`handcrafted_dfer.evaluate.runner.run_evaluation` (one call, so every method sees the same
  aligned clips and the same folds);
* **compute**: fit seconds, inference milliseconds per clip, peak memory, model size, number of
  features or parameters (measured by the runner);
* **data needs**: a learning curve, the score on the unchanged test folds when only 25/50/75/100%
  of each fold's training *subjects* are kept, for the best handcrafted method and the deep
  baseline;
* **interpretability**: for each handcrafted method, the blocks (face region, plane, temporal
  segment) whose permutation on held-out folds costs the most accuracy
  (:mod:`handcrafted_dfer.explain`), named for a person; the deep row says what it offers instead.

Generalisation in the wild needs a second dataset (train on one, test on another) and is not
measured by a single comparison run; the report says so.
"""

from __future__ import annotations

import json
import os
import pathlib
import re

from .config import PreprocessConfig
from .datasets.base import Dataset
from .evaluate.report import markdown_report, plot_confusions, report_paths
from .evaluate.runner import parse_methods, prepare_clips, run_evaluation
from .explain.blocks import BlockNamer, mean_landmarks
from .explain.importance import held_out_block_importance
from .explain.plots import mean_face, plot_block_heatmap, plot_learning_curve, plot_top_blocks

__all__ = [
    "DEFAULT_METHODS",
    "LEARNING_FRACTIONS",
    "DEEP_INTERPRETABILITY",
    "run_comparison",
    "markdown_comparison",
    "write_comparison",
]

#: Methods compared when the user names none: three single descriptors, their fusion, the 3D CNN.
DEFAULT_METHODS = "lbptop-svm,hog3d-rf,flow-svm,fusion-svm,c3d"

#: Fractions of each fold's training subjects on the learning curve.
LEARNING_FRACTIONS = (0.25, 0.5, 0.75, 1.0)

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

_GENERALISATION_NOTE = ("Not measured by a single-dataset run: train on one dataset and test on "
                        "another (e.g. a lab set against an in-the-wild set) to measure it.")


def _fold_stat(entry: dict, key: str) -> tuple[float, float]:
    """Mean and std over folds of one score of a runner result entry."""
    stat = entry["per_fold"][key]
    return stat["mean"], stat["std"]


def _curve_point(entry: dict, fraction: float) -> dict:
    acc, acc_std = _fold_stat(entry, "accuracy")
    uar, uar_std = _fold_stat(entry, "uar")
    return {"fraction": fraction,
            "train_subjects_per_fold": [d["n_train_subjects"] for d in entry["fold_details"]],
            "accuracy": acc, "accuracy_std": acc_std, "uar": uar, "uar_std": uar_std,
            "fit_seconds": entry["fit_seconds"]}


def _learning_curve(dataset, base_report, methods, *, fractions, run) -> dict:
    """Scores of ``methods`` at each fraction of training subjects (1.0 is read from the report).

    ``run(dataset, methods, train_subject_fraction=f)`` evaluates the methods on the report's
    protocol with only that fraction of each fold's training subjects, without the second fit that
    measures memory.
    """
    by_name = {r["method"]: r for r in base_report["results"]}
    curve: dict[str, list] = {m.name: [] for m in methods}
    for fraction in sorted(fractions):
        if fraction == 1.0:
            entries = [by_name[m.name] for m in methods]
        else:
            entries = run(dataset, methods, train_subject_fraction=fraction,
                          measure_memory=False)["results"]
        for method, entry in zip(methods, entries):
            curve[method.name].append(_curve_point(entry, fraction))
    return curve


def _is_evaluated(entry: dict) -> bool:
    return "skipped" not in entry


def run_comparison(dataset: Dataset, methods=DEFAULT_METHODS, *, protocol: str,
                   protocol_options: dict | None = None,
                   config: PreprocessConfig = PreprocessConfig(), cache_dir, n_jobs: int = 1,
                   backend: str | None = None, progress: bool = True,
                   fractions=LEARNING_FRACTIONS, importance_repeats: int = 5, top: int = 10,
                   seed: int = 0, deep_params: dict | None = None,
                   feature_params: dict | None = None,
                   classifier_options: dict | None = None) -> dict:
    """Run every method on the same folds and measure accuracy, compute, data needs, blocks.

    Parameters
    ----------
    dataset : Dataset
    methods : str or list of Method
        As for :func:`~handcrafted_dfer.evaluate.runner.parse_methods`.
    protocol : {"loso", "kfold", "official", "holdout"}
    protocol_options : dict, optional
        Options of :func:`~handcrafted_dfer.datasets.protocols.get_folds` (e.g. ``n_splits``).
    config : PreprocessConfig
    cache_dir : str or Path
        Feature store shared by every stage.
    n_jobs : int
        Clips processed in parallel.
    backend : str, optional
        joblib backend of the clip-parallel stages (see the runner).
    progress : bool
        Progress bars.
    fractions : sequence of float in (0, 1]
        Fractions of training subjects on the learning curve; empty to skip the curve (it needs
        subject ids).
    importance_repeats : int
        Permutations per block and fold.
    top : int
        Blocks listed per handcrafted method.
    seed : int
        Seed of the classifiers, the subject subsets and the permutations.
    deep_params : dict, optional
        Arguments of :class:`handcrafted_dfer.deep.C3DClassifier`.
    feature_params, classifier_options : dict, optional
        Passed to the runner.

    Returns
    -------
    dict
        The runner's JSON-ready report plus ``learning_curve``, ``importance`` and ``comparison``
        sections, and (not JSON; dropped by :func:`write_comparison`) ``"_explain"`` with what the
        plots need.
    """
    if isinstance(methods, str):
        methods = parse_methods(methods)
    if importance_repeats < 1:
        raise ValueError(f"importance_repeats must be a positive integer; got {importance_repeats}")
    if top < 1:
        raise ValueError(f"top must be a positive integer; got {top}")

    def run(data, chosen, **options):
        return run_evaluation(data, chosen, protocol=protocol, protocol_options=protocol_options,
                              config=config, cache_dir=cache_dir, n_jobs=n_jobs, backend=backend,
                              progress=progress, seed=seed, deep_params=deep_params,
                              feature_params=feature_params,
                              classifier_options=classifier_options, **options)

    report = run(dataset, methods, return_models=True)
    fitted = report.pop("_folds")
    clips, _ = prepare_clips(dataset, config, cache_dir=cache_dir, n_jobs=n_jobs, backend=backend,
                             progress=False)
    landmarks = mean_landmarks(clips)
    size = next(c.size for c in clips if c is not None)
    y = dataset.y

    importance, explain = {}, {"face": mean_face(clips), "blocks": {}}
    for entry in report["results"]:
        name = entry["method"]
        if entry["family"] == "deep":
            importance[name] = {"method": name, "family": "deep", "offers": DEEP_INTERPRETABILITY}
            continue
        folds = fitted[name]
        feature_names = folds[0]["feature_names"]
        table = held_out_block_importance(
            [(f["estimator"], f["X_test"], y[f["test"]]) for f in folds],
            feature_names=feature_names, n_repeats=importance_repeats, random_state=seed,
            progress=progress, desc=f"importance {name}")
        namer = BlockNamer.from_feature_names(feature_names, landmarks=landmarks, size=size)
        explain["blocks"][name] = (table, namer)
        importance[name] = {
            "method": name, "family": "handcrafted", "n_blocks": len(table),
            "n_repeats": importance_repeats, "n_folds": len(folds),
            "top": [{**row.to_dict(), "name": namer.describe(row.block)} for row in table[:top]],
        }

    handcrafted = [r for r in report["results"]
                   if r["family"] == "handcrafted" and _is_evaluated(r)]
    best = (max(handcrafted, key=lambda r: (r["uar"], r["accuracy"]))["method"]
            if handcrafted else None)
    curve_methods = [m for m in methods if m.name == best
                     or (m.family == "deep" and _is_evaluated(
                         next(r for r in report["results"] if r["method"] == m.name)))]
    curve = {}
    if fractions and curve_methods:
        curve = _learning_curve(dataset, report, curve_methods, fractions=fractions, run=run)
    report["learning_curve"] = {
        "basis": "fraction of each fold's training subjects kept; test folds unchanged; "
                 "scores are mean and std over folds",
        "fractions": sorted(float(f) for f in fractions),
        "best_handcrafted": best,
        "selection": "the handcrafted method with the highest pooled UAR",
        "methods": curve,
        "skipped": {r["method"]: r["skipped"] for r in report["results"]
                    if r["family"] == "deep" and not _is_evaluated(r)},
    }
    report["importance"] = importance
    report["importance_note"] = _IMPORTANCE_NOTE
    report["comparison"] = {"methods": [m.name for m in methods],
                            "generalisation": _GENERALISATION_NOTE}
    report["_explain"] = explain
    return report


# -- rendering ------------------------------------------------------------------------------------
def _pm(entry: dict, key: str) -> str:
    mean, std = _fold_stat(entry, key)
    return f"{100 * mean:.1f} ± {100 * std:.1f}"


def _num(value, spec: str = ".2f") -> str:
    """A measured number, or ``n/a`` where the runner could not measure it (None)."""
    return "n/a" if value is None else format(value, spec)


def _size(entry: dict) -> str:
    if "n_features" in entry:
        return f"{entry['n_features']:,} features"
    if "n_parameters" in entry:
        return f"{entry['n_parameters']:,} parameters"
    return "n/a"


def _table1(report: dict) -> list[str]:
    """The review's Table-1 dimensions, best handcrafted method against the deep baseline."""
    results = {r["method"]: r for r in report["results"]}
    best = report["learning_curve"]["best_handcrafted"]
    deep = [r for r in report["results"] if r["family"] == "deep"]
    columns = ([results[best]] if best else []) + deep
    if not columns:
        return []
    curve = report["learning_curve"]["methods"]

    def cell(entry, dimension):
        if not _is_evaluated(entry):
            return f"skipped: {entry['skipped']}"
        name = entry["method"]
        if dimension == "accuracy":
            return f"UAR {_pm(entry, 'uar')} %, accuracy {_pm(entry, 'accuracy')} %"
        if dimension == "compute":
            return (f"fit {entry['fit_seconds']:.1f} s/fold, "
                    f"{entry['predict_ms_per_clip']:.1f} ms/clip, "
                    f"{entry['model_bytes'] / 1024:.0f} KB, {_size(entry)}")
        if dimension == "data":
            points = curve.get(name)
            if not points:
                return "not measured"
            low, full = points[0], points[-1]
            return (f"accuracy {100 * low['accuracy']:.1f} % with {100 * low['fraction']:.0f} % of "
                    f"subjects, {100 * full['accuracy']:.1f} % with {100 * full['fraction']:.0f} %")
        if dimension == "interpretability":
            top = report["importance"].get(name, {}).get("top")
            if top:
                return f"named blocks; most important: {top[0]['name']}"
            return "no named blocks (see the interpretability section)"
        return "not measured (one dataset; see below)"

    header = "| dimension | " + " | ".join(f"{c['method']} ({c['family']})" for c in columns) + " |"
    lines = [header, "|---" * (len(columns) + 1) + "|"]
    for dimension, label in (("accuracy", "accuracy"), ("compute", "compute cost"),
                             ("data", "data needs"), ("interpretability", "interpretability"),
                             ("generalisation", "generalisation")):
        lines.append(f"| {label} | " + " | ".join(cell(c, dimension) for c in columns) + " |")
    return lines


def summary_tables(report: dict) -> str:
    """The markdown tables a person reads first: Table-1 summary, accuracy, compute."""
    results = report["results"]
    lines = [
        "## Summary (the review's Table 1, measured)", "",
        *_table1(report), "",
        "## Accuracy", "",
        "| method | family | accuracy | UAR | WAR | macro F1 |", "|---|---|---|---|---|---|",
    ]
    for r in results:
        if _is_evaluated(r):
            lines.append(f"| {r['method']} | {r['family']} | {_pm(r, 'accuracy')} "
                         f"| {_pm(r, 'uar')} | {_pm(r, 'war')} | {_pm(r, 'f1_macro')} |")
        else:
            lines.append(f"| {r['method']} | {r['family']} | skipped: {r['skipped']} | | | |")
    lines += ["", "## Compute", "",
              "| method | fit s/fold | inference ms/clip | peak memory MB | model size KB | "
              "features or parameters |", "|---|---|---|---|---|---|"]
    for r in results:
        if _is_evaluated(r):
            lines.append(f"| {r['method']} | {_num(r['fit_seconds'])} | "
                         f"{_num(r['predict_ms_per_clip'])} | {_num(r['peak_memory_mb'], '.1f')} | "
                         f"{_num(r['model_bytes'] / 1024, '.0f')} | {_size(r)} |")
    return "\n".join(lines)


def markdown_comparison(report: dict, *, figures: dict | None = None) -> str:
    """A readable markdown comparison (Table-1 style) of a :func:`run_comparison` report.

    Parameters
    ----------
    report : dict
    figures : dict, optional
        File names of the figures to link: ``learning_curve``, ``confusion``, and
        ``blocks:<method>`` / ``heatmap:<method>``.
    """
    figures = figures or {}
    lines = [f"# Handcrafted vs deep: {report['dataset']}, protocol {report['protocol']}", ""]
    if report.get("synthetic"):
        lines += [f"> **Synthetic data.** {report.get('note', '')}", ""]
    options = report.get("protocol_options") or {}
    lines += [
        f"Every method ran on the same {report['n_clips']} aligned clips of {report['n_subjects']} "
        f"subjects and the same {report.get('n_folds', '?')} subject-independent folds (protocol "
        f"`{report['protocol']}`{', ' + str(options) if options else ''}). Scores are mean ± std "
        f"over folds, in %.",
        "",
        *summary_tables(report).split("\n"),
    ]
    if report.get("memory_note"):
        lines += ["", f"Memory: {report['memory_note']}"]
    lines += ["", "## Data needs: learning curve", ""]
    lc = report["learning_curve"]
    if lc["methods"]:
        fractions = lc["fractions"]
        lines += [f"Accuracy (mean ± std over folds, %) on the unchanged test folds with a "
                  f"fraction of each fold's training subjects. Best handcrafted method "
                  f"({lc['selection']}): "
                  f"`{lc['best_handcrafted']}`.", "",
                  "| method | " + " | ".join(f"{100 * f:.0f} % subjects" for f in fractions) + " |",
                  "|---" * (len(fractions) + 1) + "|"]
        for name, points in lc["methods"].items():
            lines.append(f"| {name} | " + " | ".join(
                f"{100 * p['accuracy']:.1f} ± {100 * p['accuracy_std']:.1f}" for p in points)
                + " |")
        if "learning_curve" in figures:
            lines += ["", f"![learning curve]({figures['learning_curve']})"]
    else:
        lines.append("Not measured.")
    for name, why in lc.get("skipped", {}).items():
        lines += ["", f"{name}: skipped: {why}."]
    lines += ["", "## Interpretability", "", report.get("importance_note", ""), ""]
    for name, info in report["importance"].items():
        lines += [f"### {name}", ""]
        if info["family"] == "deep":
            lines += [info["offers"], ""]
            continue
        lines += [f"Top {len(info['top'])} of {info['n_blocks']} blocks "
                  f"({info['n_repeats']} permutations x {info['n_folds']} folds):", "",
                  "| rank | block | feature group | accuracy drop | UAR drop |",
                  "|---|---|---|---|---|"]
        for rank, row in enumerate(info["top"], start=1):
            lines.append(f"| {rank} | {row['name']} | `{row['block']}` | "
                         f"{100 * row['accuracy_drop']:.1f} ± "
                         f"{100 * row['accuracy_drop_std']:.1f} | "
                         f"{100 * row['uar_drop']:.1f} ± {100 * row['uar_drop_std']:.1f} |")
        lines.append("")
        for kind in ("blocks", "heatmap"):
            if f"{kind}:{name}" in figures:
                lines.append(f"![{name} {kind}]({figures[f'{kind}:{name}']})")
        lines.append("")
    lines += ["## Generalisation", "", report["comparison"]["generalisation"], ""]
    if "confusion" in figures:
        lines += [f"![confusion matrices]({figures['confusion']})", ""]
    details = markdown_report(report).split("\n")
    lines += ["## Evaluation details", ""] + [("#" + s if s.startswith("#") else s)
                                              for s in details[1:]]
    return "\n".join(lines)


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", name)


def write_comparison(report: dict, json_path: str | os.PathLike) -> dict:
    """Write ``OUT.json``, ``OUT.md`` and the PNG figures next to them.

    Figures: ``OUT_confusion.png``, ``OUT_learning_curve.png`` and, per handcrafted method,
    ``OUT_<method>_blocks.png`` (top blocks) and ``OUT_<method>_heatmap.png`` (importance on the
    mean aligned face).

    Returns
    -------
    dict
        Paths written: ``json``, ``markdown``, ``confusion`` (None when no method ran),
        ``learning_curve`` (None without a curve), ``figures`` (all PNGs).
    """
    paths = report_paths(json_path)
    paths["json"].parent.mkdir(parents=True, exist_ok=True)
    stem = paths["json"].with_suffix("")
    plain = {k: v for k, v in report.items() if not k.startswith("_")}
    explain = report.get("_explain", {"blocks": {}})
    figures = {}
    paths["confusion"] = plot_confusions(plain, paths["confusion"])
    if paths["confusion"] is not None:
        figures["confusion"] = paths["confusion"]
    paths["learning_curve"] = None
    curve = plain["learning_curve"]["methods"]
    if curve:
        paths["learning_curve"] = plot_learning_curve(
            curve, path=stem.parent / f"{stem.name}_learning_curve.png",
            title=f"Data needs: {plain['dataset']} ({plain['protocol']})")
        figures["learning_curve"] = paths["learning_curve"]
    for name, (table, namer) in explain["blocks"].items():
        top = plain["importance"][name]["top"]
        figures[f"blocks:{name}"] = plot_top_blocks(
            table, namer=namer, top=len(top), title=f"{name}: most important blocks",
            path=stem.parent / f"{stem.name}_{_slug(name)}_blocks.png")
        figures[f"heatmap:{name}"] = plot_block_heatmap(
            table, namer=namer, face=explain["face"], title=f"{name}: block importance",
            path=stem.parent / f"{stem.name}_{_slug(name)}_heatmap.png")
    paths["json"].write_text(json.dumps(plain, indent=2))
    paths["markdown"].write_text(markdown_comparison(
        plain, figures={k: pathlib.Path(v).name for k, v in figures.items()}))
    paths["figures"] = list(figures.values())
    return paths
