"""A dataset described by a CSV manifest: columns ``path,label[,subject][,split]``.

``path`` is a video file or a frame folder, relative to the CSV's folder (absolute paths are kept).
``subject`` (optional) is a person id; an empty cell means unknown. ``split`` (optional) is
``train`` or ``test`` for every row and becomes the dataset's official fold. Further columns are
kept in ``clip.extra``.
"""

from __future__ import annotations

import csv
import os
import pathlib

import numpy as np

from ..errors import LabelFileError
from ._layout import Lister, is_video, natural_key
from .base import Clip, Dataset
from .labels import harmonise

__all__ = ["load_manifest"]

_REQUIRED = ("path", "label")
_SPLITS = ("train", "test")


def load_manifest(path: str | os.PathLike, *, name: str = "manifest") -> Dataset:
    """List the clips a CSV manifest names.

    Parameters
    ----------
    path : str or PathLike
        The CSV file; its first row is the header.
    name : str
        ``Dataset.name``.

    Returns
    -------
    Dataset
        Clip ids the paths as written in the CSV, labels the distinct ``label`` values (canonical
        names where known: ``happy`` -> ``happiness``; others as written) sorted by name (digit
        runs by value), subjects from the ``subject`` column, and with a ``split``
        column one official (train, test) fold. ``Dataset.root`` is the CSV's path.

    Raises
    ------
    LabelFileError
        The CSV is missing or lacks the ``path``/``label`` columns; a row has an empty cell, a path
        that does not exist or is not a video or folder, a split other than train/test, or repeats
        an earlier row's path; two spellings of one class (``happy`` and ``Happiness``).
    """
    csv_path = pathlib.Path(path).expanduser()
    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            columns = [c.strip().lower() for c in reader.fieldnames or ()]
            rows = [(reader.line_num, {k.strip().lower(): (v or "").strip()
                                       for k, v in row.items() if k is not None})
                    for row in reader]
    except (FileNotFoundError, IsADirectoryError) as exc:
        raise LabelFileError(csv_path, "expected a CSV manifest file here") from exc
    except (UnicodeDecodeError, csv.Error) as exc:
        raise LabelFileError(csv_path, f"could not read the CSV manifest ({exc})") from exc
    missing = [c for c in _REQUIRED if c not in columns]
    if missing:
        raise LabelFileError(csv_path, f"expected a header row with columns path,label"
                             f"[,subject][,split]; missing {', '.join(missing)} in "
                             f"{','.join(columns) or 'an empty file'}")
    if not rows:
        raise LabelFileError(csv_path, "the manifest lists no clips")
    base = csv_path.parent
    ls = Lister()
    seen: dict[str, int] = {}
    records = []
    for line, row in rows:
        for column in ("path", "label", "split") if "split" in row else _REQUIRED:
            if not row[column]:
                raise LabelFileError(csv_path, f"line {line}: empty {column!r} cell")
        clip_path = base / row["path"]
        key = os.path.normpath(clip_path)
        if key in seen:
            raise LabelFileError(csv_path, f"line {line}: duplicate clip {row['path']!r}, already "
                                 f"listed at line {seen[key]}")
        seen[key] = line
        is_dir = ls.lookup(clip_path)
        if is_dir is None or not (is_dir or is_video(clip_path.name)):
            what = "does not exist" if is_dir is None else "is not a video file"
            raise LabelFileError(csv_path, f"line {line}: {row['path']!r} {what} (expected a video "
                                 f"file or a frame folder, relative to {base})")
        if "split" in row and row["split"].lower() not in _SPLITS:
            raise LabelFileError(csv_path, f"line {line}: split {row['split']!r}; expected "
                                 f"{' or '.join(_SPLITS)}")
        records.append((line, row, key))
    try:
        canonical = harmonise(dict.fromkeys(row["label"] for _, row, _ in records))
    except ValueError as exc:
        raise LabelFileError(csv_path, f"label column: {exc}") from None
    labels = tuple(sorted(set(canonical.values()), key=natural_key))
    position = {c: k for k, c in enumerate(labels)}
    clips = [Clip(id=row["path"], path=key, label=canonical[row["label"]],
                  label_index=position[canonical[row["label"]]],
                  subject=row.get("subject") or None, dataset=name,
                  extra={k: v for k, v in row.items() if k not in ("path", "label", "subject")})
             for _, row, key in records]
    official = None
    if "split" in columns:
        sides = [[k for k, (_, row, _) in enumerate(records) if row["split"].lower() == s]
                 for s in _SPLITS]
        if not all(sides):
            raise LabelFileError(csv_path, "the split column must name both train and test rows")
        official = [tuple(np.asarray(s, dtype=np.int64) for s in sides)]
    return Dataset(name=name, root=os.fspath(csv_path), clips=clips, labels=labels,
                   official_folds=official)

