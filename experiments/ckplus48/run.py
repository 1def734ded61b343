"""Experiment: choosing the defaults on real faces, CK+48 (327 CK+ sequences, 118 subjects).

CK+48 (see GUIDE §5) holds the last three frames of each of the 327 labelled CK+ sequences as
48 x 48 grey face crops, ``CK+48/<emotion>/Sxxx_yyy_zzzzzzzz.png``. It is research-use data under
CK+'s terms: it is never copied into the repository, and this script only writes numbers.

Everything runs through the toolkit itself: the ``folder`` loader with ``clip_pattern`` and
``subject_pattern``, an :class:`~handcrafted_dfer.config.Experiment` per setting, and
:func:`~handcrafted_dfer.evaluate.runner.run_evaluation` (aligned clips and features cached in
``--cache``). Protocols: subject-independent 10-fold (subjects sorted by id and dealt to the folds
round-robin, the customary CK+ protocol) and leave-one-subject-out, on the 7 classes and on the 6
basic emotions (contempt dropped).

The sweep goes one factor at a time around a centre, in stages (each stage's best setting becomes
the next stage's centre, chosen by pooled accuracy, then UAR): preprocessing (faces mode, crop
size, crop box, CLAHE), LBP-TOP (spatial radius, P and mapping, grid, overlap, mirror), HOG3D
(cells, bins, smoothing), flow, histogram normalization x classifier (with the C or alpha range),
fusion, then the chosen methods on every protocol, the inner search against its own default,
decision-function predictions against calibrated argmax, and the search's margin (plain argmax,
one and two standard errors) on six methods. One clip is 0.31 points of accuracy: read
differences under about 1.5 points as noise, and the stage winners as optimistically selected.

Usage::

    python experiments/ckplus48/run.py --root ~/data/CK+48 [--cache DIR] [--jobs 2]

Writes ``results.json`` (every row; rerunning resumes from it) and ``results.md`` next to this
script.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import pathlib
import platform
import time

import numpy as np

from handcrafted_dfer.config import DatasetRef, Experiment, PreprocessConfig, RunOptions
from handcrafted_dfer.datasets import load_dataset
from handcrafted_dfer.datasets.labels import BASIC_LABELS
from handcrafted_dfer.evaluate.metrics import classification_scores
from handcrafted_dfer.evaluate.runner import run_evaluation
from handcrafted_dfer.spec import MethodSpec

HERE = pathlib.Path(__file__).resolve().parent
#: CK+48 file names: S005_001_00000009.png -> clip S005_001, subject S005.
OPTIONS = {"clip_pattern": r"^(S\d+_\d+)_", "subject_pattern": r"^(S\d+)_"}
SCORES = ("accuracy", "uar", "war", "f1_macro")


@dataclasses.dataclass(frozen=True)
class Setting:
    """One evaluated setting: a method spec with its parameters, preprocessing and protocol."""

    stage: str
    spec: str
    settings: tuple = ()
    preprocess: tuple = ()  # PreprocessConfig changes, as (field, value) pairs
    protocol: str = "kfold"
    classes: int = 7

    @property
    def key(self) -> str:
        return json.dumps([self.spec, list(self.settings), list(self.preprocess), self.protocol,
                           self.classes])

    def label(self) -> str:
        parts = [self.spec] + [f"{s}.{k}={json.dumps(v)}" for s, k, v in self.settings]
        parts += [f"{k}={v}" for k, v in self.preprocess]
        return " ".join(parts)


class Study:
    """Runs settings through the toolkit, remembers every row, resumes from results.json."""

    def __init__(self, root: pathlib.Path, run: RunOptions, out: pathlib.Path):
        self.root, self.run, self.out = root, run, out
        self.rows = {}
        if out.is_file():
            self.rows = {r["key"]: r for r in json.loads(out.read_text())["rows"]}
        self.datasets = {}
        self.visited: list[str] = []  # keys in the order this run asks for them

    def dataset(self, classes: int, faces: str):
        if (classes, faces) not in self.datasets:
            ds = load_dataset("folder", str(self.root), faces=faces, **OPTIONS)
            if classes == 6:
                ds = ds.with_labels(tuple(label for label in ds.labels if label in BASIC_LABELS))
            self.datasets[classes, faces] = ds
        return self.datasets[classes, faces]

    def evaluate(self, setting: Setting, *, models: bool = False) -> dict:
        if setting.key not in self.visited:
            self.visited.append(setting.key)
        if setting.key in self.rows and not models:
            return self.rows[setting.key]
        preprocess = dataclasses.replace(PreprocessConfig(frames=3, size=64, faces="aligned"),
                                         **dict(setting.preprocess))
        spec = MethodSpec.parse(setting.spec).with_settings(setting.settings)
        experiment = Experiment(DatasetRef("folder", str(self.root), OPTIONS), (spec,),
                                protocol=setting.protocol,
                                folds=10 if setting.protocol == "kfold" else None,
                                preprocess=preprocess)
        dataset = self.dataset(setting.classes, preprocess.faces)
        start = time.perf_counter()
        report = run_evaluation(experiment, self.run, dataset=dataset, return_models=models)
        (result,) = report["results"]
        row = {"key": setting.key, "stage": setting.stage, "label": setting.label(),
               "spec": setting.spec, "settings": [list(s) for s in setting.settings],
               "preprocess": dict(setting.preprocess), "protocol": setting.protocol,
               "classes": setting.classes, "n_clips": report["n_clips"],
               "n_subjects": report["n_subjects"], "n_folds": report["n_folds"],
               "skipped": len(report["skipped"]), "n_features": result.get("n_features"),
               **{k: result[k] for k in SCORES},
               "per_class_recall": result["per_class_recall"], "labels": report["labels"],
               "fold_accuracy": [d["accuracy"] for d in result["fold_details"]],
               "inner_search": [d["inner_search"] for d in result["fold_details"]],
               "seconds": time.perf_counter() - start}
        if models:
            row["_folds"] = report["_folds"][spec.name]
            row["_y"] = dataset.y
        if setting.key not in self.rows:  # a rerun for its models keeps the row's stage
            self.rows[setting.key] = {k: v for k, v in row.items() if not k.startswith("_")}
            self.save()
        print(f"  {row['accuracy']:.3f} / {row['uar']:.3f}  {setting.stage}: {setting.label()} "
              f"({row['seconds']:.0f} s)", flush=True)
        return row

    def best(self, settings) -> Setting:
        """The setting with the highest pooled accuracy (then UAR)."""
        scored = [(self.evaluate(s), s) for s in settings]
        return max(scored, key=lambda rs: (round(rs[0]["accuracy"], 6), rs[0]["uar"]))[1]

    def ordered_rows(self) -> list[dict]:
        """Every row, in the order this run visits them (then any it has not)."""
        order = {key: k for k, key in enumerate(self.visited)}
        return sorted(self.rows.values(), key=lambda r: order.get(r["key"], len(order)))

    def save(self) -> None:
        self.out.write_text(json.dumps({"rows": self.ordered_rows()}, indent=1))


def vary(centre: Setting, stage: str, *, settings=None, preprocess=None, spec=None) -> Setting:
    """The centre with some of its parameters replaced."""
    new_settings = centre.settings
    if settings is not None:
        current = {(s, k): v for s, k, v in centre.settings}
        current.update({(s, k): v for s, k, v in settings})
        new_settings = tuple((s, k, v) for (s, k), v in current.items())
    new_preprocess = centre.preprocess
    if preprocess is not None:
        current = dict(centre.preprocess)
        current.update(dict(preprocess))
        new_preprocess = tuple(sorted(current.items()))
    return dataclasses.replace(centre, stage=stage, settings=new_settings,
                               preprocess=new_preprocess, spec=spec or centre.spec)


def _lbp(radius: int, grid: int, **extra) -> tuple:
    items = {"radius": [1, radius, radius], "grid": [1, grid, grid], **extra}
    return tuple(("lbptop", k, v) for k, v in items.items())


def sweep(study: Study) -> dict:
    """The one-factor-at-a-time stages; returns the chosen settings."""
    # centre: LBP-TOP, spatial radius 3 at 64 px, 8 x 8 blocks, linear SVM, aligned crops
    centre = Setting("centre", "lbptop-linear-svm", _lbp(3, 8), (("faces", "aligned"),))
    print("preprocessing", flush=True)
    centre = study.best([vary(centre, "faces", preprocess=(("faces", f),))
                         for f in ("aligned", "cropped")])
    sizes = {48: 2, 64: 3, 96: 4, 128: 6}  # spatial radius about 5 % of the crop
    centre = study.best([vary(centre, "size", preprocess=(("size", s),),
                              settings=_lbp(r, 8)) for s, r in sizes.items()])
    centre = study.best([vary(centre, "crop box", preprocess=(("crop_side", side),))
                         for side in (1.1, 1.0, 0.95, 0.9)])
    centre = study.best([vary(centre, "clahe", preprocess=(("clahe", c),)) for c in (False, True)])
    size = dict(centre.preprocess).get("size", 64)
    print("LBP-TOP", flush=True)
    centre = study.best([vary(centre, "lbp radius", settings=_lbp(r, 8))
                         for r in (1, 2, 3, 4, 5) if 2 * r + 8 <= size])
    centre = study.best([vary(centre, "lbp P/mapping", settings=(("lbptop", "P", p),
                                                                  ("lbptop", "mapping", m)))
                         for p, m in ((8, "nri_uniform"), (8, "uniform"), (16, "nri_uniform"),
                                      (16, "uniform"))])
    centre = study.best([vary(centre, "lbp grid", settings=(("lbptop", "grid", [1, g, g]),
                                                             ("lbptop", "overlap", o)))
                         for g in (4, 5, 6, 7, 8) for o in (0.0, 0.3)])
    centre = study.best([vary(centre, "lbp mirror", settings=(("lbptop", "mirror", m),))
                         for m in (False, True)])
    lbp = {k: v for s, k, v in centre.settings if s == "lbptop"}
    pre = centre.preprocess
    print("normalization x classifier", flush=True)
    for norm in ("none", "l1", "hellinger", "chi2"):
        for clf in ("linear-svm", "svm", "ridge", "rf"):
            if norm == "chi2" and clf != "linear-svm":
                continue
            study.evaluate(Setting("norm x classifier", f"lbptop-{clf}",
                                   tuple(("lbptop", k, v) for k, v in lbp.items())
                                   + (("norm", "method", norm),), pre))
    for clf, key, values in (("linear-svm", "C", (0.1, 1.0, 10.0, 100.0)),
                             ("svm", "C", (1.0, 10.0, 100.0)),
                             ("ridge", "alpha", (0.01, 0.03, 0.1, 0.3, 1.0))):
        spec = MethodSpec.parse(f"lbptop-{clf}")
        for value in values:
            study.evaluate(Setting("fixed C / alpha", spec.name,
                                   tuple(("lbptop", k, v) for k, v in lbp.items())
                                   + ((spec.classifier_step, key, value),), pre))
    print("HOG3D", flush=True)
    hog_centre = Setting("hog3d", "hog3d-linear-svm", (("hog3d", "grid", [2, 8, 8]),
                                                       ("hog3d", "sigma", 1.0),
                                                       ("hog3d", "mirror", True)), pre)
    hog_centre = study.best([vary(hog_centre, "hog3d cells", settings=(("hog3d", "grid", g),))
                             for g in ([1, 4, 4], [2, 4, 4], [2, 6, 6], [1, 8, 8], [2, 8, 8])])
    hog_centre = study.best([vary(hog_centre, "hog3d bins", settings=(
        ("hog3d", "polyhedron", p), ("hog3d", "half", h)))
        for p in ("icosahedron", "dodecahedron") for h in (False, True)])
    hog_centre = study.best([vary(hog_centre, "hog3d sigma", settings=(("hog3d", "sigma", s),))
                             for s in (0.0, 1.0, 1.5)])
    hog = {k: v for s, k, v in hog_centre.settings if s == "hog3d"}
    print("flow", flush=True)
    flow_centre = Setting("flow", "flow-linear-svm", (("flow", "grid", [1, 8, 8]),
                                                      ("flow", "mirror", True)), pre)
    flow_centre = study.best([vary(flow_centre, "flow", settings=(("flow", "method", m),
                                                                  ("flow", "grid", g)))
                              for m in ("farneback", "dis") for g in ([1, 4, 4], [1, 8, 8])])
    flow = {k: v for s, k, v in flow_centre.settings if s == "flow"}
    print("fusion", flush=True)
    parts = {"lbptop": lbp, "hog3d": hog, "flow": flow}
    fusions = []
    for features in ("lbptop+hog3d", "lbptop+hog3d+flow", "hog3d"):
        for clf in ("linear-svm", "ridge"):
            settings = tuple((f, k, v) for f in features.split("+") for k, v in parts[f].items())
            fusions.append(Setting("fusion", f"{features}-{clf}", settings, pre))
    for s in fusions:
        study.evaluate(s)
    for clf in ("linear-svm", "ridge"):
        study.evaluate(Setting("fusion", f"lbptop-{clf}",
                               tuple(("lbptop", k, v) for k, v in lbp.items()), pre))
    return {"preprocess": dict(pre), "lbptop": lbp, "hog3d": hog, "flow": flow}


def protocol_settings(chosen: dict, methods: dict):
    """(name, protocol, classes, setting) of the chosen methods on 10-fold and LOSO, 7 and 6
    classes."""
    pre = tuple(sorted(chosen["preprocess"].items()))
    for name, spec in methods.items():
        settings = tuple((f, k, v) for f in MethodSpec.parse(spec).features
                         for k, v in chosen[f].items())
        for protocol in ("kfold", "loso"):
            for classes in (7, 6):
                yield name, protocol, classes, Setting(f"protocols: {name}", spec, settings, pre,
                                                       protocol, classes)


def protocols(study: Study, chosen: dict, methods: dict) -> None:
    """The chosen methods on 10-fold and LOSO, 7 and 6 classes."""
    for *_, setting in protocol_settings(chosen, methods):
        study.evaluate(setting)


#: Methods on which the inner search's margin is compared (10-fold, 7 classes).
MARGIN_METHODS = ("lbptop-linear-svm", "lbptop-svm", "lbptop-ridge", "hog3d-linear-svm",
                  "lbptop+hog3d-linear-svm", "lbptop+hog3d-ridge")
#: Margins compared with the library's (``classify.SEARCH_MARGIN_SE``): 0 is a plain argmax.
MARGINS = (0.0, 1.0)


def _default_only(spec: MethodSpec) -> tuple:
    """The setting that fixes the inner search's grid to the classifier's default point."""
    from handcrafted_dfer.classify import classifier_recipe

    recipe = classifier_recipe(spec.classifier)
    return (("search", "param_grid", {k: [v] for k, v in recipe.default.items()}),)


def search_margins(study: Study, chosen: dict) -> dict:
    """Per method: the fold-mean accuracy of its own default (the grid fixed to it) and of the
    search with each margin, so that "never worse than its default" can be read off."""
    from handcrafted_dfer.classify import SEARCH_MARGIN_SE

    pre = tuple(sorted(chosen["preprocess"].items()))
    out = {}
    for spec_text in MARGIN_METHODS:
        spec = MethodSpec.parse(spec_text)
        settings = tuple((f, k, v) for f in spec.features for k, v in chosen[f].items())
        runs = {"default": Setting("search margin", spec_text, settings + _default_only(spec),
                                   pre),
                **{f"margin {m:g}": Setting("search margin", spec_text,
                                            settings + (("search", "margin_se", m),), pre)
                   for m in MARGINS},
                f"margin {SEARCH_MARGIN_SE:g}": Setting("search margin", spec_text, settings, pre)}
        out[spec_text] = {}
        for name, setting in runs.items():
            row = study.evaluate(setting)
            out[spec_text][name] = {"fold_mean": float(np.mean(row["fold_accuracy"])),
                                    "accuracy": row["accuracy"], "uar": row["uar"],
                                    "kept_default": sum("default kept" in d
                                                        for d in row["inner_search"])}
    return out


def search_and_predictions(study: Study, chosen: dict, methods: dict) -> dict:
    """The inner search against its own default, and decision-function predictions against the
    argmax of the calibrated probabilities, for the chosen methods (10-fold, 7 classes)."""
    pre = tuple(sorted(chosen["preprocess"].items()))
    out = {}
    for name, spec_text in methods.items():
        spec = MethodSpec.parse(spec_text)
        settings = tuple((f, k, v) for f in spec.features for k, v in chosen[f].items())
        fixed = settings + _default_only(spec)
        searched = study.evaluate(Setting(f"search: {name}", spec_text, settings, pre))
        default = study.evaluate(Setting(f"search: {name}", spec_text, fixed, pre))
        row = study.evaluate(Setting(f"search: {name}", spec_text, settings, pre), models=True)
        y = row["_y"]
        n_classes = len(row["labels"])
        truth, calibrated = [], []
        for fold in row["_folds"]:
            proba = fold["estimator"].predict_proba(fold["X_test"])
            classes = fold["estimator"].classes_
            calibrated.append(classes[np.argmax(proba, axis=1)])
            truth.append(y[fold["test"]])
        scores = classification_scores(np.concatenate(truth), np.concatenate(calibrated),
                                       n_classes=n_classes)
        out[name] = {
            "spec": spec_text,
            "search": {k: searched[k] for k in ("accuracy", "uar")},
            "default": {k: default[k] for k in ("accuracy", "uar")},
            "search_fold_mean": float(np.mean(searched["fold_accuracy"])),
            "default_fold_mean": float(np.mean(default["fold_accuracy"])),
            "kept_default": sum("default kept" in d for d in searched["inner_search"]),
            "n_folds": len(searched["inner_search"]),
            "decision": {k: searched[k] for k in ("accuracy", "uar")},
            "calibrated_argmax": {k: scores[k] for k in ("accuracy", "uar")},
        }
    return out


def _table(rows, title: str) -> list[str]:
    lines = [f"### {title}", "", "| setting | accuracy | UAR | macro F1 | features |",
             "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| `{r['label']}` | {100 * r['accuracy']:.1f} | {100 * r['uar']:.1f} | "
                     f"{100 * r['f1_macro']:.1f} | {r['n_features'] or ''} |")
    return lines + [""]


def write_markdown(study: Study, chosen: dict, methods: dict, checks: dict, margins: dict,
                   out: pathlib.Path, seconds: float) -> None:
    rows = study.ordered_rows()
    stages = []
    for r in rows:
        if r["stage"] not in stages:
            stages.append(r["stage"])
    chosen_rows = {(name, protocol, classes): study.rows.get(setting.key)
                   for name, protocol, classes, setting in protocol_settings(chosen, methods)}
    lines = ["# Choosing the defaults on real faces: CK+48", "",
             "CK+48: the last three frames of each of the 327 labelled CK+ sequences (118 "
             "subjects, 7 classes: anger 45, contempt 18, disgust 59, fear 25, happiness 69, "
             "sadness 28, surprise 83), 48 x 48 grey face crops. Loaded with "
             "`--dataset folder --dataset-option clip_pattern='^(S\\d+_\\d+)_' --dataset-option "
             "subject_pattern='^(S\\d+)_'`; `--frames 3`. Every row is a `run_evaluation` of the "
             "toolkit; scores are pooled over the test folds, in %. Protocol: subject-independent "
             "10-fold (subjects sorted by id, dealt to the folds round-robin), 7 classes, unless "
             "the row says otherwise. One clip is 0.31 points.", "",
             f"Run by `python experiments/ckplus48/run.py --root CK+48` on {platform.machine()} "
             f"({study.run.n_jobs} job{'s' if study.run.n_jobs != 1 else ''}): the rows took "
             f"{sum(r['seconds'] for r in rows) / 3600:.1f} "
             f"h in all, over runs that resumed from `results.json` (the last one "
             f"{seconds / 60:.0f} min); feature rows are cached, so a row's time includes "
             "extraction only where no earlier row had those features. `results.json` holds every "
             "row with its per-class recall, per-fold accuracy and inner-search decisions.", "",
             "## Chosen", ""]
    for name, spec in methods.items():
        lines.append(f"**{name}** `{spec}`:")
        lines.append("")
        lines.append("| protocol | classes | accuracy | UAR | macro F1 |")
        lines.append("|---|---|---|---|---|")
        for protocol in ("kfold", "loso"):
            for classes in (7, 6):
                r = chosen_rows[name, protocol, classes]
                if r:
                    lines.append(f"| {'10-fold' if protocol == 'kfold' else 'LOSO'} | {classes} | "
                                 f"{100 * r['accuracy']:.1f} | {100 * r['uar']:.1f} | "
                                 f"{100 * r['f1_macro']:.1f} |")
        lines.append("")
    lines += ["Parameters of the chosen settings:", "", "```json",
              json.dumps(chosen, indent=1), "```", ""]
    d, b = chosen_rows["default", "kfold", 7], chosen_rows["best", "kfold", 7]
    lines += ["## Targets (10-fold, 7 classes)", ""]
    if d:
        lines.append(f"- default method >= 90 % accuracy and >= 85 % UAR: "
                     f"{100 * d['accuracy']:.1f} / {100 * d['uar']:.1f} "
                     f"({'met' if d['accuracy'] >= 0.9 and d['uar'] >= 0.85 else 'NOT met'})")
    if b:
        lines.append(f"- best handcrafted method >= 93 % accuracy: {100 * b['accuracy']:.1f} "
                     f"({'met' if b['accuracy'] >= 0.93 else 'NOT met'})")
    lines += ["", "## The inner search and the predictions", "",
              "| method | search: acc / UAR | its default: acc / UAR | fold mean, search vs "
              "default | default kept | decision function | calibrated argmax |",
              "|---|---|---|---|---|---|---|"]
    for name, c in checks.items():
        lines.append(
            f"| {name} `{c['spec']}` | {100 * c['search']['accuracy']:.1f} / "
            f"{100 * c['search']['uar']:.1f} | {100 * c['default']['accuracy']:.1f} / "
            f"{100 * c['default']['uar']:.1f} | {100 * c['search_fold_mean']:.1f} vs "
            f"{100 * c['default_fold_mean']:.1f} | {c['kept_default']} of {c['n_folds']} folds | "
            f"{100 * c['decision']['accuracy']:.1f} / {100 * c['decision']['uar']:.1f} | "
            f"{100 * c['calibrated_argmax']['accuracy']:.1f} / "
            f"{100 * c['calibrated_argmax']['uar']:.1f} |")
    names = list(next(iter(margins.values())))
    lines += ["", "## The inner search's margin", "",
              "Mean accuracy over the 10 folds (pooled accuracy / UAR in brackets; how many "
              "folds kept the default) of each method with its grid fixed to its default, and "
              "with the search replacing the default only when the best point beats it by more "
              "than that many standard errors of their paired inner-fold difference (0: plain "
              "argmax). The library uses the last column.", "",
              "| method | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for spec_text, runs in margins.items():
        lines.append(f"| `{spec_text}` | " + " | ".join(
            f"{100 * r['fold_mean']:.2f} ({100 * r['accuracy']:.1f} / {100 * r['uar']:.1f}; "
            f"{r['kept_default']})" for r in runs.values()) + " |")
    lines += ["", "## Every setting, by stage", ""]
    for stage in stages:
        lines += _table([r for r in rows if r["stage"] == stage], stage)
    out.write_text("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True, help="the CK+48 folder (7 emotion folders)")
    parser.add_argument("--cache", default=str(HERE / ".cache"),
                        help="aligned clips and features (default experiments/ckplus48/.cache, "
                        "git-ignored)")
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args()
    start = time.perf_counter()
    run = RunOptions(cache_dir=args.cache, n_jobs=args.jobs, measure_memory=False)
    study = Study(pathlib.Path(args.root).expanduser(), run, HERE / "results.json")
    chosen = sweep(study)
    methods = {"default": "lbptop-linear-svm", "best": "lbptop+hog3d-ridge"}
    protocols(study, chosen, methods)
    checks = search_and_predictions(study, chosen, methods)
    margins = search_margins(study, chosen)
    (HERE / "chosen.json").write_text(json.dumps({"chosen": chosen, "methods": methods,
                                                  "checks": checks, "margins": margins},
                                                 indent=1))
    write_markdown(study, chosen, methods, checks, margins, HERE / "results.md",
                   time.perf_counter() - start)


if __name__ == "__main__":
    main()
