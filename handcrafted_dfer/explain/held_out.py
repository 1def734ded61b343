"""Held-out explanation of a trained method on a dataset (``dfer explain --model MODEL --dataset
...``): the model's spec is refitted on every fold of the protocol, and its held-out folds say
what each expression relies on.

Figures, each with one sentence in ``index.md``:

* per-class importance: for each class, the blocks whose permutation costs that class's recall
  the most on the held-out folds, as heatmaps over the mean aligned face, overall and per plane
  (XY appearance, XT and YT motion) or family, and per temporal segment when the grid has more
  than one; with a table of whole planes/families permuted at once;
* three views of importance (held-out permutation, random-forest impurity, linear-SVM weight
  magnitude, each summed per block) with their Spearman rank correlations and why they may
  disagree (:data:`~.views.VIEWS_NOTE`);
* mean histograms per class, bins named, for each descriptor family (absolute and relative to
  the mean of the classes), and for the face cell of the most important block;
* χ² separability of the class mean histograms next to the confusion matrix.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np
from sklearn.base import clone

from ..config import Experiment, RunOptions
from ..evaluate.runner import load_experiment_dataset, run_evaluation
from ..pipeline import build_pipeline, fit_pipeline, split_features
from ..spec import MethodSpec
from .blocks import KIND_TITLES, NO_LANDMARKS, BlockNamer, block_kind, has_landmarks, mean_landmarks
from .histograms import class_mean_histograms, plot_class_histograms
from .importance import held_out_class_importance
from .index import Explanation, FigureWriter
from .lesson import method_extractors
from .plots import mean_face, plot_group_importance
from .report import add_class_heatmaps
from .separability import class_chi2_distances, plot_separability
from .views import (VIEWS_NOTE, compare_importance_views, forest_block_importance,
                    plot_importance_views, svm_block_weights)

__all__ = ["model_spec", "explain_held_out"]

#: The extractor each histogram family comes from.
_EXTRACTOR_OF = {"lbptop": "lbptop", "hog3d": "hog3d", "hof": "flow", "mbhx": "flow",
                 "mbhy": "flow"}
_FAMILY_TITLES = {"lbptop": "LBP-TOP", "hog3d": "3D-HOG", "flow": "HOF and MBH"}
#: What the bins of each family are named by.
_BIN_NAMES = {"lbptop": "the pattern it encodes (spot, line end, corner, edge, flat, "
                        "non-uniform)",
              "hog3d": "the direction of the space-time gradient it collects",
              "flow": "the direction of motion (HOF) or of the flow's change (MBH) it collects"}


def model_spec(model) -> MethodSpec:
    """The method spec a trained model was built from, with every resolved parameter (so that
    :func:`~handcrafted_dfer.pipeline.build_pipeline` rebuilds the same unfitted pipeline)."""
    spec = MethodSpec.parse(model.metadata["method"])
    settings = model.metadata.get("settings") or {}
    return spec.with_settings((step, key, value) for step, params in settings.items()
                              for key, value in params.items())


def _view_head(spec: MethodSpec, classifier: str, *, seed, preprocess, run, X, y, groups):
    """A head (normalization and classifier) of ``classifier`` on the spec's features, fitted."""
    kept = tuple(s for s in spec.settings if s[0] in spec.features)
    view = MethodSpec(spec.features, classifier, kept)
    _, head = split_features(build_pipeline(view, seed=seed, preprocess=preprocess, run=run))
    return fit_pipeline(clone(head), X, y, groups)


def _views(spec, importance, *, seed, preprocess, run, X, y, groups, names):
    """Held-out permutation (the UAR drop: the mean over classes of the recall drops), forest
    impurity and linear-SVM |w|, per block."""
    permutation = dict(zip(importance.groups, np.nanmean(importance.recall_drop, axis=0).tolist()))
    forest = _view_head(spec, "rf", seed=seed, preprocess=preprocess, run=run, X=X, y=y,
                        groups=groups)
    linear = spec.classifier if spec.classifier in ("linear-svm", "chi2-svm") else "linear-svm"
    svm = _view_head(spec, linear, seed=seed, preprocess=preprocess, run=run, X=X, y=y,
                     groups=groups)
    return compare_importance_views({
        "permutation (held-out UAR drop)": permutation,
        "forest impurity": forest_block_importance(forest, feature_names=names, X=X),
        f"{linear} |w|": svm_block_weights(svm, X_train=X, feature_names=names),
    }), linear


def _spearman_table(views) -> str:
    lines = ["| Spearman ρ | " + " | ".join(views.names) + " |",
             "|---" * (len(views.names) + 1) + "|"]
    for name, row in zip(views.names, views.spearman):
        lines.append(f"| {name} | " + " | ".join("—" if np.isnan(v) else f"{v:.2f}"
                                                 for v in row) + " |")
    return "\n".join(lines)


def _kind_table(importance) -> str:
    kinds = list(importance.groups)
    lines = ["| class | " + " | ".join(KIND_TITLES.get(k, k) for k in kinds) + " |",
             "|---" * (len(kinds) + 1) + "|"]
    for cls in importance.classes:
        values = importance.values(cls)
        lines.append(f"| {cls} | " + " | ".join(f"{100 * values[k]:.1f}" for k in kinds) + " |")
    return "\n".join(lines)


def _largest_difference(histograms) -> str:
    """Where the class means of these histograms differ most, in words."""
    best = None
    for h in histograms:
        spread = h.mean.max(axis=0) - h.mean.min(axis=0)
        j = int(np.argmax(spread))
        if best is None or spread[j] > best[0]:
            best = (spread[j], h, j)
    _, h, j = best
    high, low = h.classes[int(np.argmax(h.mean[:, j]))], h.classes[int(np.argmin(h.mean[:, j]))]
    return (f"the class means differ most in bin {j} ({h.labels[j]}) of "
            f"{KIND_TITLES.get(h.kind, h.kind)}, highest for {high} and lowest for {low}")


def _histogram_figures(writer, X, y_names, names, extractors, top_block, namer) -> dict:
    lbp = extractors.get("lbptop")
    options = {"P": lbp.P, "mapping": lbp.mapping} if lbp is not None else {}
    histograms = class_mean_histograms(X, y_names, feature_names=names, **options)
    families: dict = {}
    for kind, h in histograms.items():
        families.setdefault(_EXTRACTOR_OF.get(kind.split("/")[0], kind), []).append(h)
    heading = "Mean histograms per class"
    for family, hs in families.items():
        title = _FAMILY_TITLES.get(family, family)
        writer.add(plot_class_histograms(hs, title=f"{title}: mean histogram per class"),
                   f"histograms_{family}", heading=heading,
                   caption=f"Per expression, the mean {title} histogram of every clip's blocks "
                           f"(bands: ± one standard deviation across clips), each bin named by "
                           f"{_BIN_NAMES.get(family, 'its index')}.")
        writer.add(plot_class_histograms(hs, relative=True,
                                         title=f"{title}: class means minus their mean"),
                   f"histograms_{family}_relative", heading=heading,
                   caption=f"The same {title} means minus the mean of the classes, so that the "
                           f"bins that tell the expressions apart stand out: "
                           f"{_largest_difference(hs)}.")
    cell = (top_block.family, top_block.row, top_block.col)
    local = class_mean_histograms(X, y_names, feature_names=names,
                                  select=lambda b: (b.family, b.row, b.col) == cell, **options)
    where = namer.region(top_block)
    writer.add(plot_class_histograms(list(local.values()), relative=True,
                                     title=f"{where}: class means minus their mean"),
               "histograms_top_cell", heading=heading,
               caption=f"Only the {where}, the face cell of the most important block: averaged "
                       f"over the whole face the histograms of the classes barely differ, in "
                       f"the cell that matters they do ({_largest_difference(local.values())}).")
    return {kind: h.to_dict() for kind, h in histograms.items()}


def _clips(n) -> str:
    return f"{int(n)} clip" + ("" if int(n) == 1 else "s")


def _separability_figure(writer, X, y_names, names, labels, confusion) -> dict:
    separability = class_chi2_distances(X, y_names, feature_names=names)
    order = [labels.index(c) for c in separability.classes]
    confusion = np.asarray(confusion)[np.ix_(order, order)]
    between = separability.between + np.diag(np.full(len(order), np.inf))
    i, k = np.unravel_index(int(np.argmin(between)), between.shape)
    a, b = separability.classes[i], separability.classes[k]
    writer.add(plot_separability(separability, confusion=confusion), "separability",
               heading="Separability",
               caption=f"χ² distances between the class mean histograms (diagonal: each class's "
                       f"own spread) next to the held-out confusion matrix: the closest pair is "
                       f"{a} and {b} (distance {between[i, k]:.3f}, against spreads "
                       f"{separability.within[i]:.3f} and {separability.within[k]:.3f}), which "
                       f"the model confuses in {_clips(confusion[i, k] + confusion[k, i])}.")
    return separability.to_dict()


def explain_held_out(model, experiment: Experiment, run: RunOptions, *, out: str | os.PathLike,
                     n_repeats: int = 5, source: str = "the model", dataset=None,
                     progress: bool = False) -> Explanation:
    """Refit a trained model's method on every fold of an experiment and explain it.

    Parameters
    ----------
    model : TrainedModel
        A handcrafted method (:func:`~handcrafted_dfer.modelfile.load_model`); its spec, resolved
        settings and preprocessing are used, whatever the experiment holds.
    experiment : Experiment
        The dataset, protocol, folds and seed (its methods and preprocessing are replaced, and
        a test dataset is left out: the folds are those of the dataset's protocol).
    run : RunOptions
    out : str or Path
        Folder (created).
    n_repeats : int
        Permutations per block and fold.
    source : str
        How the model is named in the index (its path).
    dataset : Dataset, optional
        Already loaded (else ``experiment.dataset`` is loaded).
    progress : bool

    Returns
    -------
    Explanation

    Raises
    ------
    ValueError
        The model is the 3D CNN (it has no named blocks to explain).
    """
    spec = model_spec(model)
    if spec.family == "deep":
        raise ValueError(f"{source}: the 3D CNN has no named face blocks, planes or histogram "
                         "bins to explain; explain a handcrafted model")
    ignored = experiment.test_dataset
    experiment = dataclasses.replace(experiment, methods=(spec,), preprocess=model.config,
                                     test_dataset=None)
    run = dataclasses.replace(run, measure_memory=False)
    if dataset is None:
        dataset = load_experiment_dataset(experiment.dataset, run, seed=experiment.seed)
    report = run_evaluation(experiment, run, dataset=dataset, return_models=True)
    (result,) = report["results"]
    folds, clips = report["_folds"][spec.name], report["_clips"]
    names = list(folds[0]["feature_names"])
    labels = list(dataset.labels)
    ok = np.array([c is not None for c in clips])
    X = report["_features"][spec.name][ok]
    y, groups = dataset.y[ok], dataset.subjects[ok]
    y_names = np.asarray(labels, dtype=object)[y]
    measured = [c for c in clips if c is not None and has_landmarks(c)]
    namer = BlockNamer.from_feature_names(
        names, landmarks=mean_landmarks(measured) if measured else None, size=model.config.size)
    face = mean_face(clips)
    fold_data = [(f["estimator"], f["X_test"], dataset.y[f["test"]]) for f in folds]
    common = {"feature_names": names, "n_repeats": n_repeats, "random_state": experiment.seed,
              "progress": progress}
    per_block = held_out_class_importance(fold_data, desc="per-class importance",
                                          **common).renamed(labels)
    per_kind = held_out_class_importance(fold_data, group=lambda f: block_kind(f.block),
                                         desc="per-class importance of planes",
                                         **common).renamed(labels)
    writer = FigureWriter(out)
    add_class_heatmaps(writer, per_block, namer=namer, face=face, method=spec.name,
                       over="the mean aligned face of the clips", totals=False)
    best = {c: max(per_kind.values(c).items(), key=lambda item: item[1]) for c in per_kind.classes}
    writer.add(plot_group_importance(per_kind, title=f"{spec.name}: what each class loses when a "
                                                     f"whole plane or family is permuted"),
               "class_planes", heading=f"{spec.name}: per-class importance",
               caption="Each plane or descriptor family permuted as a whole on the held-out "
                       "folds (its blocks together, so that they can no longer stand in for one "
                       "another): the drop of each class's recall, in points; "
                       + "; ".join(f"{c} relies most on {KIND_TITLES.get(k, k)}"
                                   for c, (k, v) in best.items() if v > 0) + ".",
               text=_kind_table(per_kind))
    views, linear = _views(spec, per_block, seed=experiment.seed, preprocess=model.config,
                           run=run, X=X, y=y, groups=groups, names=names)
    rho = views.spearman[0, 1:]
    writer.add(plot_importance_views(views, namer=namer, face=face,
                                     title=f"{spec.name}: three views of block importance"),
               "views", heading="Three views of importance",
               caption=f"Held-out permutation importance of {spec.name}, impurity importance of a "
                       f"random forest and weight magnitude of a {linear} fitted on all "
                       f"{int(ok.sum())} clips, each summed per block; their Spearman rank "
                       f"correlations with the permutation view are "
                       + " and ".join("undefined" if np.isnan(r) else f"{r:.2f}" for r in rho)
                       + ".", text=_spearman_table(views) + "\n\n" + VIEWS_NOTE)
    top_block = views.ranking(views.names[0], top=1)[0][0]
    extractors = method_extractors(model.pipeline)
    histograms = _histogram_figures(writer, X, y_names, names, extractors, top_block, namer)
    separability = _separability_figure(writer, X, y_names, names, labels, result["confusion"])
    notes = [f"{spec.name} ({source}, with the settings it was trained with) refitted on each of "
             f"the {report['n_folds']} folds of protocol {report['protocol']} on "
             f"{report['dataset']} ({report['n_clips']} clips, {report['n_subjects']} subjects, "
             f"{len(report['skipped'])} skipped): held-out UAR {100 * result['uar']:.1f}%, "
             f"accuracy {100 * result['accuracy']:.1f}%. Permutation importance: {n_repeats} "
             f"permutations per block and fold, seed {experiment.seed}."]
    if ignored is not None:
        notes.append(f"The experiment's test dataset ({ignored.name}) is not used: held-out "
                     f"folds are those of {report['dataset']}'s protocol.")
    if report.get("synthetic"):
        notes.append(f"**Synthetic data.** {report['note']}")
    if not namer.has_landmarks:
        notes.append(f"These clips have {NO_LANDMARKS}.")
    data = {"method": spec.name, "model": str(source), "dataset": report["dataset"],
            "protocol": report["protocol"], "n_folds": report["n_folds"],
            "scores": {k: result[k] for k in ("accuracy", "uar", "war", "f1_macro",
                                              "per_class_recall", "confusion")},
            "labels": labels, "per_class_importance": per_block.to_dict(),
            "per_class_importance_of_planes": per_kind.to_dict(), "views": views.to_dict(),
            "histograms": histograms, "separability": separability,
            "skipped": report["skipped"]}
    return writer.finish(title=f"Held-out explanation of {spec.name} on {report['dataset']}",
                         notes=notes, data=data)
