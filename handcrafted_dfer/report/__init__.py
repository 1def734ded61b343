"""Run reports on disk, for ``dfer evaluate`` and ``dfer compare`` alike.

A report at ``OUT.json`` is written as:

* ``OUT.json``: everything measured (keys starting with ``_``, fitted models, are left out);
* ``OUT.md``: the tables a person reads (:mod:`.tables`), with the figures linked;
* ``OUT.toml``: the fully resolved experiment; ``dfer evaluate --config OUT.toml`` reruns it;
* ``OUT_confusion.png`` and, for a comparison, ``OUT_learning_curve.png`` and per handcrafted
  method ``OUT_<method>_blocks.png`` and ``OUT_<method>_heatmap.png``.
"""

from __future__ import annotations

import json
import os
import pathlib
import re

from ..cache import atomic_write, write_result
from ..config import experiment_from_dict, experiment_to_toml
from ..errors import DferError
from .figures import plot_confusions
from .tables import comparison_markdown, evaluation_markdown, summary_tables

__all__ = ["report_paths", "slug", "write_report", "summary_tables", "evaluation_markdown",
           "comparison_markdown", "plot_confusions"]


def report_paths(json_path: str | os.PathLike) -> dict:
    """The files a report at ``json_path`` consists of: ``json``, ``markdown``, ``toml``,
    ``confusion`` (the ``.json`` suffix is added when missing)."""
    path = pathlib.Path(json_path)
    stem = path.with_suffix("") if path.suffix.lower() == ".json" else path
    return {"json": stem.parent / f"{stem.name}.json", "markdown": stem.parent / f"{stem.name}.md",
            "toml": stem.parent / f"{stem.name}.toml",
            "confusion": stem.parent / f"{stem.name}_confusion.png"}


def slug(name: str) -> str:
    """A method name as a file-name part (``lbptop+hog3d-rf`` -> ``lbptop_hog3d-rf``)."""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", name)


def _write_text(path: pathlib.Path, text: str) -> None:
    atomic_write(path, lambda tmp: pathlib.Path(tmp).write_text(text, encoding="utf-8"))


def _comparison_figures(report: dict, stem: pathlib.Path) -> dict:
    from ..explain.plots import plot_block_heatmap, plot_learning_curve, plot_top_blocks

    figures = {}
    curve = report["learning_curve"]["methods"]
    if curve:
        figures["learning_curve"] = plot_learning_curve(
            curve, path=stem.parent / f"{stem.name}_learning_curve.png",
            title=f"Data needs: {report['dataset']} ({report['protocol']})")
    explain = report.get("_explain", {"blocks": {}})
    for name, (table, namer) in explain["blocks"].items():
        top = report["importance"][name]["top"]
        figures[f"blocks:{name}"] = plot_top_blocks(
            table, namer=namer, top=len(top), title=f"{name}: most important blocks",
            path=stem.parent / f"{stem.name}_{slug(name)}_blocks.png")
        figures[f"heatmap:{name}"] = plot_block_heatmap(
            table, namer=namer, face=explain["face"], title=f"{name}: block importance",
            path=stem.parent / f"{stem.name}_{slug(name)}_heatmap.png")
    return figures


def write_report(report: dict, json_path: str | os.PathLike) -> dict:
    """Write a run report (see the module docstring).

    Parameters
    ----------
    report : dict
        From :func:`~handcrafted_dfer.evaluate.runner.run_evaluation` or
        :func:`~handcrafted_dfer.compare.run_comparison`.
    json_path : str or Path
        ``OUT.json``; its folder must exist.

    Returns
    -------
    dict
        Paths written: ``json``, ``markdown``, ``toml``, ``confusion`` (None when no method ran),
        ``figures`` (every PNG).

    Raises
    ------
    DferError
        When a file cannot be written: when it is the JSON report, it is saved in the temporary
        folder instead and the message says where (see
        :func:`~handcrafted_dfer.cache.write_result`), so that the run's results are not lost.
    """
    paths = report_paths(json_path)
    plain = {k: v for k, v in report.items() if not k.startswith("_")}
    write_result(paths["json"], json.dumps(plain, indent=2).encode("utf-8"), what="the report")
    try:
        stem = paths["json"].with_suffix("")
        figures = {}
        paths["confusion"] = plot_confusions(plain, paths["confusion"])
        if paths["confusion"] is not None:
            figures["confusion"] = paths["confusion"]
        if "comparison" in report:
            figures.update(_comparison_figures(report, stem))
        names = {k: pathlib.Path(v).name for k, v in figures.items()}
        markdown = (comparison_markdown(plain, figures=names) if "comparison" in report
                    else evaluation_markdown(plain, figures=names))
        _write_text(paths["markdown"], markdown)
        experiment = experiment_from_dict(plain["experiment"])
        _write_text(paths["toml"], experiment_to_toml(
            experiment, comment=f"Resolved experiment of {paths['json'].name}; rerun it with\n"
                                f"  dfer evaluate --config {paths['toml'].name} --report NEW.json"))
    except OSError as exc:
        raise DferError(exc.filename or json_path, f"could not write the report's tables or "
                        f"figures ({exc.strerror or exc}); the JSON report is at "
                        f"{paths['json']}") from exc
    paths["figures"] = list(figures.values())
    return paths
