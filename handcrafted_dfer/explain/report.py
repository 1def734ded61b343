"""The figures of an evaluation or comparison report, drawn again from its JSON (nothing is
recomputed): ``dfer explain --report OUT.json``.

From any report: the confusion matrices. From a comparison report (``dfer compare``, ``dfer
demo``) also the learning curve and, per handcrafted method, the most important blocks, their
heatmap and the per-class heatmaps (per plane or family, and per temporal segment where the grid
has more than one). A report stores no pixels of the data's faces: the heatmaps are drawn over a
line drawing of the mean landmarks (``importance_layout``), or over a plain square with the words
"no landmarks" when the faces had none. A report of an older version (no layout, only the top
blocks) gets its confusion matrices, learning curve and top-block chart.
"""

from __future__ import annotations

import json
import os
import pathlib

import numpy as np

from ..errors import DferError
from ..report import slug
from ..report.tables import pct
from .blocks import (KIND_TITLES, NO_LANDMARKS, BlockNamer, block_kind, parse_block,
                     segment_name)
from .importance import BlockImportance, ClassImportance
from .index import Explanation, FigureWriter
from .plots import (face_sketch, plot_block_heatmap, plot_class_heatmaps, plot_learning_curve,
                    plot_top_blocks)

__all__ = ["read_report", "explain_report", "add_class_heatmaps", "class_importance_table"]


def read_report(path: str | os.PathLike) -> dict:
    """The JSON report of ``dfer evaluate``, ``dfer compare`` or ``dfer demo`` at ``path``.

    Raises
    ------
    DferError
        The file is missing, is not JSON, or is not a run report.
    """
    path = pathlib.Path(path)
    expected = "expected the OUT.json report of dfer evaluate, dfer compare or dfer demo"
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DferError(path, f"cannot read the report ({exc.strerror}); {expected}") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DferError(path, f"not JSON ({exc}); {expected}") from exc
    if not isinstance(report, dict) or not {"results", "labels"} <= set(report):
        raise DferError(path, f"no 'results' and 'labels' in it; {expected}")
    return report


def _evaluated(report: dict) -> list:
    return [r for r in report["results"] if "skipped" not in r]


def _confusion_sentence(report: dict) -> str:
    results = _evaluated(report)
    best = max(results, key=lambda r: (r["uar"], r["accuracy"]))
    labels = report["labels"]
    worst = None
    for r in results:
        cm = np.asarray(r["confusion"], dtype=float)
        np.fill_diagonal(cm, 0)
        i, j = np.unravel_index(int(np.argmax(cm)), cm.shape)
        if cm[i, j] > 0 and (worst is None or cm[i, j] > worst[0]):
            worst = (cm[i, j], labels[i], labels[j], r["method"])
    sentence = (f"Row-normalized confusion matrices on held-out subjects (rows: true class; the "
                f"diagonal is each class's recall): {best['method']} has the highest UAR, "
                f"{pct(best['uar'])}%")
    if worst is not None:
        clips = f"{int(worst[0])} clip" + ("" if int(worst[0]) == 1 else "s")
        sentence += (f", and the most frequent confusion is {worst[1]} taken for {worst[2]} "
                     f"({clips}, {worst[3]})")
    return sentence + "."


def _curve_sentence(curve: dict) -> str:
    parts = []
    for method, points in curve.items():
        low, full = points[0], points[-1]
        parts.append(f"{method} reaches {pct(low['accuracy'])}% with "
                     f"{100 * low['fraction']:.0f}% of the training subjects and "
                     f"{pct(full['accuracy'])}% with {100 * full['fraction']:.0f}%")
    return ("Accuracy on the unchanged test folds against the share of each fold's training "
            "subjects kept (mean ± std over folds): " + "; ".join(parts) + ".")


def class_importance_table(importance: ClassImportance, *, namer: BlockNamer,
                           totals: bool = True) -> str:
    """Markdown: per class, its most important block and (with ``totals``) the sum of the signed
    recall drops of each kind of histogram's blocks, in points."""
    kinds = list(dict.fromkeys(block_kind(b) for b in importance.groups)) if totals else []
    lines = ["| class | most important block | recall drop (points) | "
             + "".join(f"sum over {k} | " for k in kinds),
             "|---" * (3 + len(kinds)) + "|"]
    for cls in importance.classes:
        block, drop = importance.ranking(cls, top=1)[0]
        named = namer.describe(block) if drop > 0 else "none (no block lowers its recall)"
        sums = importance.totals(cls, block_kind)
        lines.append(f"| {cls} | {named} | {100 * max(drop, 0.0):.1f} | "
                     + "".join(f"{100 * sums[k]:.1f} | " for k in kinds))
    return "\n".join(lines)


def add_class_heatmaps(writer: FigureWriter, importance: ClassImportance, *, namer: BlockNamer,
                       face, method: str, over: str, totals: bool = True) -> None:
    """The per-class heatmaps of one method: per plane/family, and per temporal segment when the
    grid has more than one.

    Parameters
    ----------
    writer : FigureWriter
    importance : ClassImportance
        Grouped by block, classes named.
    namer : BlockNamer
    face : ndarray, shape (S, S)
        What the heat is drawn over.
    method : str
    over : str
        Words for ``face`` in the caption (``"the mean aligned face"``).
    totals : bool
        Give each class's sums of block drops per plane or family in the table (where no
        permutation of whole planes was measured).
    """
    where = "" if namer.has_landmarks else f" ({NO_LANDMARKS})"
    heading = f"{method}: per-class importance"
    kinds = list(dict.fromkeys(block_kind(b) for b in importance.groups))
    columns = "all blocks"
    if len(kinds) > 1:
        columns += ", then each plane or family: " + ", ".join(KIND_TITLES.get(k, k) for k in kinds)
    writer.add(plot_class_heatmaps(importance, namer=namer, face=face, split="kind",
                                   title=f"{method}: what each expression relies on"),
               f"class_heatmaps_{slug(method)}", heading=heading,
               caption=f"For each expression (one row, its own colour scale), the blocks whose "
                       f"shuffling on held-out subjects costs that expression's recall the most, "
                       f"over {over}; columns: {columns}{where}.",
               text=class_importance_table(importance, namer=namer, totals=totals))
    n_segments = max(b.segment for b in importance.groups) + 1
    if n_segments > 1:
        names = ", ".join(segment_name(t, n_segments) for t in range(n_segments))
        writer.add(plot_class_heatmaps(importance, namer=namer, face=face, split="segment",
                                       title=f"{method}: when in the clip each expression shows"),
                   f"class_segments_{slug(method)}", heading=heading,
                   caption=f"The same recall drops split by temporal segment ({names}): where a "
                           f"row is brighter in one column, that expression is read from that "
                           f"part of the clip.")


class _StoredNames:
    """Block names as a report of an older version stored them (it holds no face layout)."""

    def __init__(self, rows):
        self.names = {parse_block(r["block"]): r["name"] for r in rows}

    def describe(self, block) -> str:
        return self.names[block]


def _layout(report: dict, blocks) -> tuple[BlockNamer, np.ndarray, str] | None:
    """The namer, the face drawing and its words, from the report's ``importance_layout``;
    None for a report written before it existed."""
    layout = report.get("importance_layout")
    if not layout:
        return None
    landmarks = layout.get("mean_landmarks")
    landmarks = None if landmarks is None else np.asarray(landmarks, dtype=np.float64)
    size = int(layout["size"])
    namer = BlockNamer.from_blocks(blocks, landmarks=landmarks, size=size)
    over = ("a line drawing of the mean aligned landmarks" if landmarks is not None
            else "a plain square")
    return namer, face_sketch(landmarks, size=size), over


def _method_figures(writer: FigureWriter, report: dict, name: str, info: dict) -> None:
    rows = info.get("blocks") or info["top"]
    table = [BlockImportance.from_dict(r) for r in rows]
    layout = _layout(report, [r.block for r in table])
    heading = f"{name}: block importance"
    top = len(info["top"])
    best = info["top"][0]
    named = _StoredNames(info["top"]) if layout is None else layout[0]
    writer.add(lambda path: plot_top_blocks(table, namer=named, top=top, path=path,
                                            title=f"{name}: most important blocks"),
               f"blocks_{slug(name)}", heading=heading,
               caption=f"The {top} blocks of {name} whose shuffling on held-out subjects costs the "
                       f"most accuracy (± std over {info['n_repeats']} permutations x "
                       f"{info['n_folds']} folds); first: {best['name']}, "
                       f"{100 * best['accuracy_drop']:.1f} points.")
    if layout is None:
        return
    namer, face, over = layout
    if info.get("blocks"):
        writer.add(lambda path: plot_block_heatmap(table, namer=namer, face=face, path=path,
                                                   title=f"{name}: block importance"),
                   f"heatmap_{slug(name)}", heading=heading,
                   caption=f"The accuracy drop of every block of {name}, summed over planes, "
                           f"segments and families, over {over}.")
    if info.get("per_class"):
        add_class_heatmaps(writer, ClassImportance.from_dict(info["per_class"]), namer=namer,
                           face=face, method=name, over=over)


def explain_report(report: dict, *, out: str | os.PathLike, source: str = "the report"
                   ) -> Explanation:
    """Draw the figures a report's JSON holds into ``out`` and write their index.

    Parameters
    ----------
    report : dict
        A report read from ``OUT.json`` of ``dfer evaluate``, ``dfer compare`` or ``dfer demo``.
    out : str or Path
        Folder (created).
    source : str
        How the report is named in the index (its path).

    Returns
    -------
    Explanation

    Raises
    ------
    ValueError
        The dictionary is not a run report (no ``results`` and ``labels``).
    """
    from ..report.figures import plot_confusions

    if not isinstance(report, dict) or "results" not in report or "labels" not in report:
        raise ValueError("expected a run report (the JSON of dfer evaluate, compare or demo) "
                         "with 'results' and 'labels'")
    writer = FigureWriter(out)
    kind = "comparison" if "comparison" in report else "evaluation"
    notes = [f"Figures of the {kind} report {source} ({report.get('dataset', '?')}, protocol "
             f"{report.get('protocol', '?')}, {report.get('n_clips', '?')} clips of "
             f"{report.get('n_subjects', '?')} subjects), drawn from its JSON without "
             f"recomputing anything."]
    if report.get("synthetic"):
        notes.append(f"**Synthetic data.** {report.get('note', '')}")
    if _evaluated(report):
        writer.add(lambda path: plot_confusions(report, path), "confusion",
                   heading="Accuracy", caption=_confusion_sentence(report),
                   text="\n".join(["| method | UAR | accuracy | macro F1 |", "|---|---|---|---|"]
                                  + [f"| {r['method']} | {pct(r['uar'])}% | "
                                     f"{pct(r['accuracy'])}% | {pct(r['f1_macro'])}% |"
                                     for r in _evaluated(report)]))
    curve = (report.get("learning_curve") or {}).get("methods") or {}
    if curve:
        writer.add(lambda path: plot_learning_curve(curve, path=path,
                                                    title="Data needs: learning curve"),
                   "learning_curve", heading="Data needs", caption=_curve_sentence(curve))
    importance = report.get("importance") or {}
    for name, info in importance.items():
        if info.get("family") == "deep":
            notes.append(f"{name}: {info['offers']}")
        elif info.get("top"):
            _method_figures(writer, report, name, info)
    if importance and not (report.get("importance_layout") and all(
            i.get("per_class") for i in importance.values() if i.get("family") != "deep")):
        notes.append("This report holds no per-class importance or face layout (it was written "
                     "by an older version): rerun `dfer compare` for the heatmaps.")
    if report.get("importance_note"):
        notes.append(report["importance_note"])
    if kind == "evaluation":
        notes.append("An evaluation report holds scores only; `dfer compare` adds block "
                     "importance and a learning curve, and `dfer explain --model MODEL --dataset "
                     "...` measures per-class importance, mean histograms and separability.")
    return writer.finish(title=f"Explanation of {pathlib.Path(str(source)).name}", notes=notes,
                         data={"source": str(source), "kind": kind,
                               "figures": [f.file for f in writer.figures]})
