"""MAFW (multi-modal affective database in the wild), as unzipped by its users.

Layout (GUIDE §5)::

    ROOT/data/clips/00025.mp4                          the clips
    ROOT/data/frames/00025/<frames>                    frame folders (optional)
    ROOT/Train & Test Set/single/no_caption/set_1/train.txt ... set_5/test.txt

Split lines read ``00025.mp4 anger``. The clip folders are also found directly under ROOT (without
``data/``); every folder name matches in any letter case. Labels are mapped by name (any case),
because codebases number MAFW's 11 classes differently; the order kept here is GUIDE §5's.

MAFW publishes no subject (person) ids, so only the ``official`` protocol applies to it.
"""

from __future__ import annotations

import os
import pathlib

from ..errors import DatasetLayoutError, LabelFileError
from ._layout import (Lister, SplitEntry, check_root, dataset_from_splits, in_folder, is_video,
                      read_lines)
from .base import Dataset

__all__ = ["MAFW_CLASSES", "MAFW_SOURCES", "load_mafw"]

#: MAFW's 11 classes, in the order of GUIDE §5 (they are the canonical names already).
MAFW_CLASSES = ("anger", "disgust", "fear", "happiness", "neutral", "sadness", "surprise",
                "contempt", "anxiety", "helplessness", "disappointment")

#: Clip sources: name -> folder spellings (relative to the root), in order of preference.
MAFW_SOURCES = {"frames": ("data/frames", "frames"), "video": ("data/clips", "clips")}

_SPLITS = ("Train & Test Set/single/no_caption",)
_N_FOLDS = 5


def load_mafw(root: str | os.PathLike, *, source: str | None = None) -> Dataset:
    """List the single-labelled MAFW clips and their 5 official folds.

    Parameters
    ----------
    root : str or PathLike
        The MAFW folder (holding ``data/`` and ``Train & Test Set/``).
    source : {"frames", "video"} or None
        Frame folders (``data/frames``) or mp4 clips (``data/clips``). None takes the frame
        folders when they exist, else the clips.

    Returns
    -------
    Dataset
        Clip ids ``00025``, no subjects, labels the classes present in GUIDE order, and
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
    clip_dir, on_disk = ls.find_clips(root, MAFW_SOURCES, source, dataset="MAFW")
    split_dir = ls.find_dir(root, _SPLITS, what="the official folds (set_1 ... set_5)")
    folds = [tuple(_read_split(ls, split_dir, k, side) for side in ("train", "test"))
             for k in range(1, _N_FOLDS + 1)]

    return dataset_from_splits(name="mafw", root=root, folds=folds, class_order=MAFW_CLASSES,
                               locate=in_folder(on_disk, clip_dir))


def _read_split(ls: Lister, split_dir: pathlib.Path, k: int, side: str) -> list[SplitEntry]:
    """The entries of ``set_<k>/<side>.txt``."""
    fold_dir = ls.child(split_dir, f"set_{k}")
    if fold_dir is None:
        raise DatasetLayoutError(split_dir / f"set_{k}", f"expected the folder of official fold "
                                 f"{k}; {ls.found(split_dir)}")
    path = ls.split_file(fold_dir, f"{side}.txt")
    entries = []
    for line, text in read_lines(path):
        fields = text.split()
        if len(fields) != 2:
            raise LabelFileError(path, f"line {line}: expected '<clip>.mp4 <label>', "
                                 f"found {text!r}")
        label = fields[1].lower()
        if label not in MAFW_CLASSES:
            raise LabelFileError(path, f"line {line}: unknown label {fields[1]!r}; MAFW labels are "
                                 + ", ".join(MAFW_CLASSES))
        stem = os.path.splitext(fields[0])[0] if is_video(fields[0]) else fields[0]
        entries.append(SplitEntry(stem, label, path, line))
    return entries
