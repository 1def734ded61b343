"""Writing an evaluation report: ``OUT.json``, ``OUT.md`` (for people) and ``OUT_confusion.png``."""

from __future__ import annotations

import json
import os
import pathlib

import numpy as np

__all__ = ["write_report", "markdown_report", "plot_confusions", "report_paths"]


def report_paths(json_path: str | os.PathLike) -> dict:
    """The files a report at ``json_path`` consists of: ``json``, ``markdown``, ``confusion``."""
    path = pathlib.Path(json_path)
    stem = path.with_suffix("") if path.suffix.lower() == ".json" else path
    return {"json": stem.with_suffix(".json"), "markdown": stem.with_suffix(".md"),
            "confusion": stem.parent / f"{stem.name}_confusion.png"}


def _pct(value) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}"


def _mb(value) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def _classes(report: dict) -> str:
    counts = report.get("class_counts") or [None] * len(report["labels"])
    return ", ".join(label if n is None else f"{label} ({n})"
                     for label, n in zip(report["labels"], counts))


def _method_rows(results) -> list[str]:
    rows = ["| method | family | UAR % | WAR % | accuracy % | macro F1 % | UAR over folds % | "
            "fit s/fold | predict ms/clip | peak MB | model KB | features / parameters |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        if "skipped" in r:
            rows.append(f"| {r['method']} | {r['family']} | skipped: {r['skipped']} "
                        + "| " * 9 + "|")
            continue
        fold_uar = r["per_fold"]["uar"]
        size = r.get("n_features", r.get("n_parameters", "n/a"))
        rows.append(
            f"| {r['method']} | {r['family']} | {_pct(r['uar'])} | {_pct(r['war'])} | "
            f"{_pct(r['accuracy'])} | {_pct(r['f1_macro'])} | "
            f"{_pct(fold_uar['mean'])} ± {_pct(fold_uar['std'])} | {r['fit_seconds']:.2f} | "
            f"{r['predict_ms_per_clip']:.2f} | {_mb(r.get('peak_memory_mb'))} | "
            f"{r['model_bytes'] / 1024:.0f} | {size} |")
    return rows


def markdown_report(report: dict) -> str:
    """A readable markdown summary of a :func:`~handcrafted_dfer.evaluate.runner.run_evaluation`
    report."""
    lines = [f"# Evaluation: {report['dataset']}, protocol {report['protocol']}", ""]
    if report.get("synthetic"):
        lines += [f"> **Synthetic data.** {report.get('note', '')}", ""]
    lines += [
        f"- clips evaluated: {report['n_clips']} of "
        f"{report.get('n_clips_listed', report['n_clips'])} listed; "
        f"subjects: {report['n_subjects']}; folds: {report.get('n_folds', 'n/a')}"
        + (f" ({report['dropped_folds']} dropped: no usable clip on one side)"
           if report.get("dropped_folds") else ""),
        f"- classes (clips): {_classes(report)}",
        f"- preprocessing: {report.get('preprocess', {})}",
        f"- wall time: {report.get('wall_seconds', float('nan')):.1f} s "
        f"({report.get('environment', {}).get('n_jobs', 1)} jobs, "
        f"{report.get('environment', {}).get('cpu_count', '?')} CPUs)",
        "",
        "UAR = mean per-class recall; WAR = support-weighted recall (= accuracy); both pooled over "
        "all test folds. \"UAR over folds\" is the mean ± standard deviation of the per-fold UAR.",
        "",
    ]
    lines += _method_rows(report["results"])
    lines.append("")
    searches = {s for r in report["results"] for s in r.get("inner_search", [])}
    if searches:
        lines += ["Inner hyper-parameter search (training clips of each fold only): "
                  + "; ".join(sorted(searches)) + ".", ""]
    if report.get("memory_note"):
        lines += [f"Memory: {report['memory_note']}", ""]
    for r in report["results"]:
        if "skipped" in r:
            continue
        lines += [f"## Confusion matrix: {r['method']} (rows true, columns predicted)", "",
                  "| true \\ predicted | " + " | ".join(report["labels"]) + " | recall % |",
                  "|---" * (len(report["labels"]) + 2) + "|"]
        for label, row, recall in zip(report["labels"], r["confusion"], r["per_class_recall"]):
            lines.append(f"| {label} | " + " | ".join(str(v) for v in row) + f" | {_pct(recall)} |")
        lines.append("")
    skipped = report.get("skipped", [])
    lines += [f"## Skipped clips ({len(skipped)})", ""]
    if skipped:
        lines += [f"- `{s['clip']}`: {s['reason']}" for s in skipped]
    else:
        lines.append("None.")
    lines.append("")
    return "\n".join(lines)


def plot_confusions(report: dict, path: str | os.PathLike) -> pathlib.Path | None:
    """Row-normalised confusion matrices of every evaluated method, side by side, as a PNG.

    Returns the path, or None when no method was evaluated (nothing to draw).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = [r for r in report["results"] if "skipped" not in r]
    if not results:
        return None
    labels = report["labels"]
    n = len(results)
    side = 1.0 + 0.55 * len(labels)
    fig, axes = plt.subplots(1, n, figsize=(side * n + 1, side + 0.8), squeeze=False)
    for ax, r in zip(axes[0], results):
        cm = np.asarray(r["confusion"], dtype=float)
        support = cm.sum(axis=1, keepdims=True)
        rates = np.divide(cm, support, out=np.zeros_like(cm), where=support > 0)
        ax.imshow(rates, vmin=0, vmax=1, cmap="Blues")
        for i in range(len(labels)):
            for j in range(len(labels)):
                ax.text(j, i, f"{int(cm[i, j])}", ha="center", va="center", fontsize=8,
                        color="white" if rates[i, j] > 0.5 else "black")
        ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right", fontsize=8)
        ax.set_yticks(range(len(labels)), labels, fontsize=8)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(f"{r['method']}\nUAR {_pct(r['uar'])}%  WAR {_pct(r['war'])}%", fontsize=9)
    title = f"{report['dataset']} ({report['protocol']})"
    if report.get("synthetic"):
        title += " - synthetic data"
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path = pathlib.Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write_report(report: dict, json_path: str | os.PathLike) -> dict:
    """Write ``OUT.json``, ``OUT.md`` and ``OUT_confusion.png`` next to each other.

    Keys starting with ``_`` (fitted models) are left out of the JSON.

    Returns
    -------
    dict
        The paths written (``confusion`` is None when no method was evaluated).
    """
    paths = report_paths(json_path)
    paths["json"].parent.mkdir(parents=True, exist_ok=True)
    plain = {k: v for k, v in report.items() if not k.startswith("_")}
    paths["json"].write_text(json.dumps(plain, indent=2))
    paths["markdown"].write_text(markdown_report(plain))
    paths["confusion"] = plot_confusions(plain, paths["confusion"])
    return paths
