"""A folder of explanation figures and its ``index.md``: every figure with one sentence.

:class:`FigureWriter` writes each figure as a PNG as soon as it is drawn (so that memory holds one
figure at a time) and records its caption; :meth:`FigureWriter.finish` writes ``index.md`` (the
figures in order under their headings, each followed by its sentence and any table that goes
with it) and ``explanation.json`` (the numbers behind the figures), and returns an
:class:`Explanation` that lists them.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
from dataclasses import dataclass, field

from matplotlib.figure import Figure

from ..cache import atomic_write
from .plots import save_figure

__all__ = ["ExplainedFigure", "Explanation", "FigureWriter", "index_figures"]

#: A markdown image link: ``![alt](file)``.
_IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")


@dataclass(frozen=True)
class ExplainedFigure:
    """One figure of an explanation.

    Parameters
    ----------
    file : str
        PNG file name, relative to the explanation's folder.
    caption : str
        The sentence that says what the figure shows.
    heading : str
        The section of ``index.md`` it belongs to.
    text : str
        More markdown after the caption (a table, a note); may be empty.
    """

    file: str
    caption: str
    heading: str
    text: str = ""


@dataclass(frozen=True)
class Explanation:
    """What an explanation wrote.

    Parameters
    ----------
    title : str
    folder : Path
    figures : tuple of ExplainedFigure
    notes : tuple of str
        Paragraphs shown before the figures (what was explained, caveats).
    data : dict
        The JSON-ready numbers behind the figures (written as ``explanation.json``).
    """

    title: str
    folder: pathlib.Path
    figures: tuple
    notes: tuple = ()
    data: dict = field(default_factory=dict)

    @property
    def index(self) -> pathlib.Path:
        """The ``index.md`` file."""
        return self.folder / "index.md"

    def paths(self) -> list[pathlib.Path]:
        """The PNG files, in the order of the index."""
        return [self.folder / f.file for f in self.figures]


class FigureWriter:
    """Collects the figures of one explanation in a folder (created).

    Parameters
    ----------
    folder : str or Path
    """

    def __init__(self, folder: str | os.PathLike):
        self.folder = pathlib.Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.figures: list[ExplainedFigure] = []

    def add(self, figure, name: str, *, caption: str, heading: str, text: str = "") -> None:
        """Write one figure as ``NAME.png`` and record it.

        Parameters
        ----------
        figure : matplotlib.figure.Figure or callable
            A figure, or ``draw(path)`` for the plotting functions that write their file
            themselves.
        name : str
            File stem (letters, digits, ``._-``).
        caption, heading, text
            As in :class:`ExplainedFigure`.
        """
        if not re.fullmatch(r"[A-Za-z0-9._-]+", name):
            raise ValueError(f"figure name {name!r} must be letters, digits, '.', '_' or '-'")
        path = self.folder / f"{name}.png"
        if isinstance(figure, Figure):
            save_figure(figure, path)
        else:
            figure(path)
        self.figures.append(ExplainedFigure(path.name, caption, heading, text))

    def finish(self, *, title: str, notes=(), data: dict | None = None) -> Explanation:
        """Write ``index.md`` and ``explanation.json``; return what was written."""
        explanation = Explanation(title, self.folder, tuple(self.figures), tuple(notes),
                                  dict(data or {}))
        _write(explanation.index, _markdown(explanation))
        _write(self.folder / "explanation.json", json.dumps(explanation.data, indent=2))
        return explanation


def _write(path: pathlib.Path, text: str) -> None:
    atomic_write(path, lambda tmp: pathlib.Path(tmp).write_text(text, encoding="utf-8"))


def _markdown(explanation: Explanation) -> str:
    lines = [f"# {explanation.title}", ""]
    for note in explanation.notes:
        lines += [note, ""]
    heading = None
    for figure in explanation.figures:
        if figure.heading != heading:
            heading = figure.heading
            lines += [f"## {heading}", ""]
        alt = figure.file.rsplit(".", 1)[0].replace("_", " ")
        lines += [f"![{alt}]({figure.file})", "", figure.caption, ""]
        if figure.text:
            lines += [figure.text, ""]
    lines += ["The numbers behind these figures are in `explanation.json`.", ""]
    return "\n".join(lines)


def index_figures(index: str | os.PathLike) -> list[pathlib.Path]:
    """The image files an ``index.md`` (or any markdown file) links, resolved next to it."""
    index = pathlib.Path(index)
    return [index.parent / name for name in _IMAGE.findall(index.read_text(encoding="utf-8"))]
