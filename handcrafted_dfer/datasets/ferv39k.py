"""FERV39k, as unzipped by its users.

Layout (GUIDE §5)::

    ROOT/2_ClipsforFaceCrop/<Scene>/<Emotion>/<clip>/<frames>
    ROOT/4_setups/All_scenes/train_All.csv
    ROOT/4_setups/All_scenes/test_All.csv

Split files are space-separated without a header: ``Action/Happy/0267 Happy``. Folder names match
in any letter case; labels match in any case and become canonical names (``Happy`` ->
``happiness``). The clip id is the path in the split file (``Action/Happy/0267``); the scene is
kept as ``clip.extra["scene"]``. The official protocol is the single train/test split.

FERV39k publishes no subject (person) ids, so only the ``official`` protocol applies to it.
"""

from __future__ import annotations

import os
import pathlib

from ..errors import LabelFileError
from ._layout import Lister, SplitEntry, check_root, dataset_from_splits, missing_clip, read_lines
from .base import Dataset

__all__ = ["FERV39K_CLASSES", "FERV39K_SPELLINGS", "load_ferv39k"]

#: FERV39k's 7 classes as its split files spell them, in the order of GUIDE §5.
FERV39K_SPELLINGS = ("Happy", "Sad", "Neutral", "Angry", "Surprise", "Disgust", "Fear")
#: Their canonical names, in the same order.
FERV39K_CLASSES = ("happiness", "sadness", "neutral", "anger", "surprise", "disgust", "fear")
_CANONICAL = {spelling.lower(): name for spelling, name in zip(FERV39K_SPELLINGS, FERV39K_CLASSES)}

_CLIPS = ("2_ClipsforFaceCrop",)
_SETUPS = ("4_setups/All_scenes",)


def load_ferv39k(root: str | os.PathLike) -> Dataset:
    """List the FERV39k clips named by the official train/test split files.

    Parameters
    ----------
    root : str or PathLike
        The FERV39k folder (holding ``2_ClipsforFaceCrop/`` and ``4_setups/``).

    Returns
    -------
    Dataset
        Clip ids ``Action/Happy/0267`` (frame folders), ``extra["scene"]``, no subjects, labels
        the classes present in GUIDE order with canonical names (:data:`FERV39K_CLASSES`), and
        ``official_folds`` one (train, test) fold.

    Raises
    ------
    DatasetLayoutError
        The clip or split folder is missing (the message lists what was found instead).
    LabelFileError
        A split file is missing or malformed, has an unknown label, or names a clip not on disk.
    """
    root = check_root(root)
    ls = Lister()
    clip_dir = ls.find_dir(root, _CLIPS,
                           what="the face-crop frame folders (<Scene>/<Emotion>/<clip>)")
    setups = ls.find_dir(root, _SETUPS, what="the split files train_All.csv and test_All.csv")
    folds = [(_read_split(ls, setups, "train_All.csv"), _read_split(ls, setups, "test_All.csv"))]

    def locate(entry: SplitEntry) -> str:
        *parents, name = entry.clip_id.split("/")
        folder = clip_dir
        for part in parents:
            folder = ls.child(folder, part) if folder is not None else None
        if folder is None or not ls.entries(folder).get(name):
            n_found = len(ls.entries(folder)) if folder is not None else 0
            raise missing_clip(entry, clip_dir.joinpath(*parents), n_found)
        return os.fspath(folder / name)

    return dataset_from_splits(name="ferv39k", root=root, folds=folds,
                               class_order=FERV39K_CLASSES, locate=locate,
                               extra=lambda clip_id: {"scene": clip_id.split("/")[0]})


def _read_split(ls: Lister, folder: pathlib.Path, name: str) -> list[SplitEntry]:
    """The entries of the split file ``name`` in ``folder``."""
    path = ls.split_file(folder, name)
    entries = []
    for line, text in read_lines(path):
        fields = text.split()
        clip_id = fields[0].replace("\\", "/").strip("/") if fields else ""
        if len(fields) != 2 or clip_id.count("/") != 2:
            raise LabelFileError(path, f"line {line}: expected '<Scene>/<Emotion>/<clip> <label>', "
                                 f"found {text!r}")
        label = _CANONICAL.get(fields[1].lower())
        if label is None:
            raise LabelFileError(path, f"line {line}: unknown label {fields[1]!r}; FERV39k labels "
                                 f"are {', '.join(FERV39K_SPELLINGS)}")
        entries.append(SplitEntry(clip_id, label, path, line))
    return entries
