"""DFEW (Dynamic Facial Expressions in the Wild), as unzipped by its users.

Layout (GUIDE §5)::

    ROOT/Clip/original/00001.mp4                       the original clips
    ROOT/Clip/clip_224x224/00001/<frames>.jpg           face frames
    ROOT/Clip/clip_224x224_16f/00001/<frames>.jpg       16-frame versions
    ROOT/EmoLabel_DataSplit/train(single-labeled)/set_1.csv ... set_5.csv
    ROOT/EmoLabel_DataSplit/test(single-labeled)/set_1.csv ... set_5.csv

The clip folders are also found directly under ROOT (without ``Clip/``), in any letter case, and
inside a folder of their own name (a zip unpacked into its namesake). The split folders are found by
the pattern ``train*single*labeled*`` / ``test*single*labeled*`` (``single-labeled`` and
``single_labeled`` both occur). Split files have columns ``video_name,label`` (header optional);
names are zero-padded to 5 digits; labels are 1 happy, 2 sad, 3 neutral, 4 angry, 5 surprise,
6 disgust, 7 fear, returned with their canonical names (:data:`DFEW_CLASSES`).

DFEW publishes no subject (person) ids, so only the ``official`` protocol applies to it.
"""

from __future__ import annotations

import csv
import fnmatch
import os
import pathlib

from ..errors import DatasetLayoutError, LabelFileError
from ._layout import (Lister, SplitEntry, check_root, dataset_from_splits, in_folder, is_video,
                      read_lines)
from .base import Dataset

__all__ = ["DFEW_CLASSES", "DFEW_SOURCES", "load_dfew"]

#: Canonical names of the DFEW label codes 1..7 (happy, sad, neutral, angry, surprise, disgust,
#: fear), in code order.
DFEW_CLASSES = ("happiness", "sadness", "neutral", "anger", "surprise", "disgust", "fear")

#: Clip sources: name -> folder spellings (relative to the root), in order of preference.
DFEW_SOURCES = {
    "frames": ("Clip/clip_224x224", "clip_224x224"),
    "frames16": ("Clip/clip_224x224_16f", "clip_224x224_16f"),
    "video": ("Clip/original", "original"),
}

_N_FOLDS = 5
_BY_CODE = {str(code): label for code, label in enumerate(DFEW_CLASSES, 1)}


def load_dfew(root: str | os.PathLike, *, source: str | None = None) -> Dataset:
    """List the single-labelled DFEW clips and their 5 official folds.

    Parameters
    ----------
    root : str or PathLike
        The DFEW folder (holding ``Clip/`` and ``EmoLabel_DataSplit/``).
    source : {"frames", "frames16", "video"} or None
        ``clip_224x224`` frame folders, ``clip_224x224_16f`` frame folders, or the ``original``
        mp4s. None takes the first of these that exists, in that order.

    Returns
    -------
    Dataset
        Clip ids ``00001``, no subjects, labels the classes present in DFEW code order
        (canonical names), and
        ``official_folds`` the 5 (train, test) folds.

    Raises
    ------
    DatasetLayoutError
        A clip or split folder is missing (the message lists what was found instead).
    LabelFileError
        A split file is missing or malformed, has an unknown label, or names a clip not on disk.
    """
    root = check_root(root)
    ls = Lister()
    clip_dir, on_disk = ls.find_clips(root, DFEW_SOURCES, source, dataset="DFEW")
    split_dir = ls.find_dir(root, ("EmoLabel_DataSplit",), what="the official split folders")
    train_dir, test_dir = (_split_folder(ls, split_dir, side) for side in ("train", "test"))
    folds = [(_read_split(ls, train_dir, k), _read_split(ls, test_dir, k))
             for k in range(1, _N_FOLDS + 1)]

    return dataset_from_splits(name="dfew", root=root, folds=folds, class_order=DFEW_CLASSES,
                               locate=in_folder(on_disk, clip_dir))


def _split_folder(ls: Lister, split_dir: pathlib.Path, side: str) -> pathlib.Path:
    """The ``<side>(single-labeled)`` folder (any spelling matching ``<side>*single*labeled*``)."""
    pattern = f"{side}*single*labeled*"
    matches = [n for n, d in ls.entries(split_dir).items()
               if d and fnmatch.fnmatch(n.lower(), pattern)]
    if len(matches) != 1:
        problem = "none" if not matches else f"{len(matches)} ({', '.join(matches)}); keep one"
        raise DatasetLayoutError(split_dir, f"expected one folder matching {pattern!r} (e.g. "
                                 f"'{side}(single-labeled)'), found {problem}; "
                                 f"{ls.found(split_dir)}")
    return split_dir / matches[0]


def _read_split(ls: Lister, folder: pathlib.Path, k: int) -> list[SplitEntry]:
    """The entries of ``set_<k>.csv`` in ``folder``."""
    path = ls.split_file(folder, f"set_{k}.csv")
    numbered = read_lines(path)
    entries = []
    for (line, text), row in zip(numbered, csv.reader(text for _, text in numbered)):
        label = _BY_CODE.get(row[1].strip()) if len(row) >= 2 else None
        if label is not None:
            entries.append(SplitEntry(_clip_id(row[0].strip()), label, path, line))
            continue
        code = row[1].strip() if len(row) >= 2 else ""
        if code.isdigit():
            raise LabelFileError(path, f"line {line}: unknown label code {code!r}; DFEW codes are "
                                 + ", ".join(f"{i} {c}" for i, c in enumerate(DFEW_CLASSES, 1)))
        if line != numbered[0][0]:  # only the first row may be a header ("video_name,label")
            raise LabelFileError(path, f"line {line}: expected 'video_name,label' with a label "
                                 f"code 1..7, found {text!r}")
    return entries


def _clip_id(video_name: str) -> str:
    """``1``, ``00001`` or ``00001.mp4`` -> ``00001``."""
    if video_name.isdigit():
        return video_name.zfill(5)
    stem = os.path.splitext(video_name)[0] if is_video(video_name) else video_name
    return stem.zfill(5) if stem.isdigit() else stem
