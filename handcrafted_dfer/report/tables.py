"""Markdown of run reports: one set of tables for ``dfer evaluate`` and ``dfer compare``."""

from __future__ import annotations

from ..classify import SEARCH_MARGIN_SE

__all__ = ["pct", "mean_std", "method_table", "confusion_tables", "skipped_list",
           "search_summary", "warnings_list", "evaluation_markdown", "summary_tables",
           "comparison_markdown"]


def pct(value) -> str:
    """A fraction as a percentage with one decimal, or ``n/a``."""
    return "n/a" if value is None else f"{100 * value:.1f}"


def _num(value, spec: str = ".2f") -> str:
    """A measured number, or ``n/a`` where the runner could not measure it (None)."""
    return "n/a" if value is None else format(value, spec)


def mean_std(entry: dict, key: str) -> str:
    """``mean ± std`` over folds of one score of a result entry, in %."""
    stat = entry["per_fold"][key]
    return f"{100 * stat['mean']:.1f} ± {100 * stat['std']:.1f}"


def _evaluated(entry: dict) -> bool:
    return "skipped" not in entry


def _size(entry: dict) -> str:
    if "n_features" in entry:
        return f"{entry['n_features']:,} features"
    if "n_parameters" in entry:
        return f"{entry['n_parameters']:,} parameters"
    return "n/a"


def method_table(results) -> list[str]:
    """One row per method: pooled scores, fold spread, compute, size."""
    rows = ["| method | family | UAR % | WAR % | accuracy % | macro F1 % | UAR over folds % | "
            "fit s/fold | predict ms/clip | peak MB | model KB | features / parameters |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        if not _evaluated(r):
            rows.append(f"| {r['method']} | {r['family']} | skipped: {r['skipped']} "
                        + "| " * 9 + "|")
            continue
        rows.append(
            f"| {r['method']} | {r['family']} | {pct(r['uar'])} | {pct(r['war'])} | "
            f"{pct(r['accuracy'])} | {pct(r['f1_macro'])} | {mean_std(r, 'uar')} | "
            f"{_num(r['fit_seconds'])} | {_num(r['predict_ms_per_clip'])} | "
            f"{_num(r.get('peak_memory_mb'), '.1f')} | {r['model_bytes'] / 1024:.0f} | "
            f"{_size(r)} |")
    return rows


def confusion_tables(report: dict, *, level: int = 2) -> list[str]:
    """A confusion table per evaluated method (rows true, columns predicted) with recalls."""
    labels = report["labels"]
    lines = []
    for r in report["results"]:
        if not _evaluated(r):
            continue
        lines += [f"{'#' * level} Confusion matrix: {r['method']} (rows true, columns predicted)",
                  "", "| true \\ predicted | " + " | ".join(labels) + " | recall % |",
                  "|---" * (len(labels) + 2) + "|"]
        for label, row, recall in zip(labels, r["confusion"], r["per_class_recall"]):
            lines.append(f"| {label} | " + " | ".join(str(v) for v in row) + f" | {pct(recall)} |")
        lines.append("")
    return lines


def search_summary(results) -> list[str]:
    """What the inner searches decided, per method (how often the default was kept)."""
    lines = []
    for r in results:
        decisions = [d.get("inner_search") for d in r.get("fold_details", [])]
        decisions = [d for d in decisions if d]
        if not decisions:
            continue
        kept = sum("default kept" in d for d in decisions)
        scheme = decisions[0].split(";")[0]
        lines.append(f"- {r['method']}: {scheme}; default kept in {kept} of {len(decisions)} "
                     f"folds")
    if lines:
        lines = ["Inner hyper-parameter search (training clips of each fold only; the grid's "
                 f"default is kept unless a point beats it by more than {SEARCH_MARGIN_SE:g} standard "
                 "errors):",
                 ""] + lines + [""]
    return lines


def skipped_list(report: dict, *, level: int = 2) -> list[str]:
    """The skipped clips with their reasons."""
    skipped = report.get("skipped", [])
    lines = [f"{'#' * level} Skipped clips ({len(skipped)})", ""]
    lines += [f"- `{s['clip']}`: {s['reason']}" for s in skipped] or ["None."]
    return lines + [""]


def warnings_list(report: dict, *, level: int = 2) -> list[str]:
    """Warnings recorded during the run (instead of printed)."""
    recorded = report.get("warnings") or []
    healed = (report.get("cache") or {}).get("healed") or []
    if not recorded and not healed:
        return []
    lines = [f"{'#' * level} Warnings recorded during the run", ""]
    lines += [f"- {w['message']}" + (f" (x{w['count']})" if w["count"] > 1 else "")
              for w in recorded]
    lines += [f"- damaged cache entry healed (deleted and recomputed): `{h['path']}`: "
              f"{h['reason']}" for h in healed]
    return lines + [""]


def _classes(report: dict) -> str:
    counts = report.get("class_counts") or [None] * len(report["labels"])
    return ", ".join(label if n is None else f"{label} ({n})"
                     for label, n in zip(report["labels"], counts))


def evaluation_markdown(report: dict, *, figures: dict | None = None) -> str:
    """A readable markdown summary of a :func:`~handcrafted_dfer.evaluate.runner.run_evaluation`
    report."""
    figures = figures or {}
    lines = [f"# Evaluation: {report['dataset']}, protocol {report['protocol']}", ""]
    if report.get("synthetic"):
        lines += [f"> **Synthetic data.** {report.get('note', '')}", ""]
    environment = report.get("environment", {})
    cross = report.get("cross_dataset")
    if cross:
        lines += [f"Trained on all of **{cross['train']}**, tested on **{cross['test']}** "
                  f"(`{cross['test_root']}`), on their common classes "
                  f"({', '.join(cross['kept'])}); classes not in both were dropped: "
                  f"{', '.join(cross['dropped']) or 'none'}.", ""]
    lines += [
        f"- clips evaluated: {report['n_clips']} of "
        f"{report.get('n_clips_listed', report['n_clips'])} listed; "
        f"subjects: {report['n_subjects']}; folds: {report.get('n_folds', 'n/a')}"
        + (f" ({report['dropped_folds']} dropped: no usable clip on one side)"
           if report.get("dropped_folds") else ""),
        f"- classes (clips): {_classes(report)}",
        f"- preprocessing: {report.get('preprocess', {})}",
        f"- seed {report.get('seed', 0)}; wall time {report.get('wall_seconds', float('nan')):.1f}"
        f" s ({environment.get('n_jobs', 1)} jobs, {environment.get('cpu_count', '?')} CPUs)",
        "- the resolved experiment (every parameter of every step) is in the `.toml` file next to "
        "this report; `dfer evaluate --config` on it reruns the run",
        "",
        "UAR = mean per-class recall; WAR = support-weighted recall (= accuracy); both pooled over "
        "all test folds. \"UAR over folds\" is the mean ± standard deviation of the per-fold UAR.",
        "",
    ]
    lines += method_table(report["results"]) + [""]
    lines += search_summary(report["results"])
    if report.get("memory_note"):
        lines += [f"Memory: {report['memory_note']}", ""]
    if "confusion" in figures:
        lines += [f"![confusion matrices]({figures['confusion']})", ""]
    lines += confusion_tables(report)
    lines += warnings_list(report)
    lines += skipped_list(report)
    return "\n".join(lines)


# -- the comparison -------------------------------------------------------------------------------
def _table1(report: dict) -> list[str]:
    """The review's Table-1 dimensions, best handcrafted method against the deep baseline."""
    results = {r["method"]: r for r in report["results"]}
    best = report["learning_curve"]["best_handcrafted"]
    deep = [r for r in report["results"] if r["family"] == "deep"]
    columns = ([results[best]] if best else []) + deep
    if not columns:
        return []
    curve = report["learning_curve"]["methods"]
    generalisation = report["comparison"].get("generalisation_results", {})

    def cell(entry, dimension):
        if not _evaluated(entry):
            return f"skipped: {entry['skipped']}"
        name = entry["method"]
        if dimension == "accuracy":
            return f"UAR {mean_std(entry, 'uar')} %, accuracy {mean_std(entry, 'accuracy')} %"
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
        other = generalisation.get(name)
        if other is None:
            return "not measured (one dataset; see below)"
        return (f"UAR {pct(other['uar'])} %, accuracy {pct(other['accuracy'])} % on "
                f"{report['comparison']['test_dataset']}")

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
        if _evaluated(r):
            lines.append(f"| {r['method']} | {r['family']} | {mean_std(r, 'accuracy')} "
                         f"| {mean_std(r, 'uar')} | {mean_std(r, 'war')} | "
                         f"{mean_std(r, 'f1_macro')} |")
        else:
            lines.append(f"| {r['method']} | {r['family']} | skipped: {r['skipped']} | | | |")
    lines += ["", "## Compute", "",
              "| method | fit s/fold | inference ms/clip | peak memory MB | model size KB | "
              "features or parameters |", "|---|---|---|---|---|---|"]
    for r in results:
        if _evaluated(r):
            lines.append(f"| {r['method']} | {_num(r['fit_seconds'])} | "
                         f"{_num(r['predict_ms_per_clip'])} | "
                         f"{_num(r['peak_memory_mb'], '.1f')} | "
                         f"{_num(r['model_bytes'] / 1024, '.0f')} | {_size(r)} |")
    return "\n".join(lines)


def comparison_markdown(report: dict, *, figures: dict | None = None) -> str:
    """A readable markdown comparison (Table-1 style) of a
    :func:`~handcrafted_dfer.compare.run_comparison` report.

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
                  f"({lc['selection']}): `{lc['best_handcrafted']}`.", "",
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
    lines += ["## Evaluation details", ""]
    lines += method_table(report["results"]) + [""]
    lines += search_summary(report["results"])
    lines += confusion_tables(report, level=3)
    lines += warnings_list(report, level=3)
    lines += skipped_list(report, level=3)
    return "\n".join(lines)
