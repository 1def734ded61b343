"""The extended Cohn-Kanade dataset (CK+), as unzipped by its users.

Layout (GUIDE §5)::

    ROOT/cohn-kanade-images/S005/001/S005_001_00000001.png ...
    ROOT/Emotion/S005/001/S005_001_00000011_emotion.txt      (one float: the emotion code)

or the wrapper spelling left by unzipping each archive into a folder of its own name:
``ROOT/extended-cohn-kanade-images/cohn-kanade-images/...`` and ``ROOT/Emotion_labels/Emotion/...``.
Folder names also match in any letter case. ``Landmarks/`` and ``FACS/`` are not needed.

Only sequences with an emotion file are labelled (327 of 593 in the real set). A clip is a whole
sequence (neutral onset to apex); its path is the sequence's frame folder.
"""

from __future__ import annotations

import os
import pathlib

from ..errors import DatasetLayoutError, LabelFileError
from ._layout import Lister, check_root
from .base import Clip, Dataset

__all__ = ["CKPLUS_CLASSES", "load_ckplus"]

#: Canonical names of the CK+ emotion codes 0..7, in code order (code 5, "happy" in CK+'s
#: documentation, is ``happiness``).
CKPLUS_CLASSES = ("neutral", "anger", "contempt", "disgust", "fear", "happiness", "sadness",
                  "surprise")

_IMAGES = ("cohn-kanade-images", "extended-cohn-kanade-images/cohn-kanade-images")
_EMOTION = ("Emotion", "Emotion_labels/Emotion")
_SUFFIX = "_emotion.txt"


def load_ckplus(root: str | os.PathLike, *, include_neutral: bool = False,
                neutral_frames: int = 3, name: str = "ckplus") -> Dataset:
    """List the labelled CK+ sequences under ``root``.

    Parameters
    ----------
    root : str or PathLike
        The folder holding ``cohn-kanade-images/`` and ``Emotion/`` (or their wrapper spellings).
    include_neutral : bool
        Also add, for every labelled sequence, a ``neutral`` sample made of its first
        ``neutral_frames`` frames (the onset of a CK+ sequence is a neutral face). Such a clip has
        id ``<sequence id>_neutral``, the sequence folder as its path, and
        ``extra["frames"] = (0, neutral_frames)``: a half-open range of positions in the
        sequence's numerically sorted frame files (:func:`handcrafted_dfer.video.list_frame_files`).
        Clips without ``"frames"`` in ``extra`` use every frame.
    neutral_frames : int
        Length of each neutral sample (at least 1).
    name : str
        ``Dataset.name`` and ``Clip.dataset`` (the synthetic set reuses this loader).

    Returns
    -------
    Dataset
        Clip ids ``S005_001``, subjects ``S005`` (the subject folder's name), labels the classes
        present in CK+ code order, with canonical names (:data:`CKPLUS_CLASSES`; an emotion file
        holding 0 means neutral); no official folds.

    Raises
    ------
    DatasetLayoutError
        When a folder is missing (the message lists what ``root`` holds), when there are no emotion
        files, or when an emotion file's sequence has no image folder.
    LabelFileError
        When an emotion file does not hold one of the codes 0..7, or a sequence has two of them.
    """
    if int(neutral_frames) != neutral_frames or neutral_frames < 1:
        raise ValueError(f"neutral_frames must be a whole number >= 1, got {neutral_frames!r}")
    root = check_root(root)
    ls = Lister()
    images = ls.find_dir(root, _IMAGES, what="the image sequences (S005/001/S005_001_00000001.png)")
    emotion = ls.find_dir(root, _EMOTION,
                          what="the emotion labels (S005/001/S005_001_00000011_emotion.txt)")
    found: list[tuple[str, str, pathlib.Path, int]] = []  # (subject, sequence, images, code)
    for subject, is_dir in ls.entries(emotion).items():
        if not is_dir:
            continue
        for sequence, seq_is_dir in ls.entries(emotion / subject).items():
            if not seq_is_dir:
                continue
            folder = emotion / subject / sequence
            files = [n for n, d in ls.entries(folder).items() if not d and n.endswith(_SUFFIX)]
            if len(files) > 1:
                raise LabelFileError(folder, f"expected one *{_SUFFIX} file per sequence, found "
                                     f"{len(files)}: {', '.join(files)}")
            if files:
                found.append((subject, sequence,
                              _sequence_images(ls, images, subject, sequence, folder / files[0]),
                              _read_code(folder / files[0])))
    if not found:
        raise DatasetLayoutError(emotion, f"expected <subject>/<sequence>/*{_SUFFIX} files; none "
                                 f"found ({ls.found(emotion)})")
    codes = {code for *_, code in found} | ({0} if include_neutral else set())
    labels = tuple(CKPLUS_CLASSES[c] for c in sorted(codes))
    position = {label: k for k, label in enumerate(labels)}
    clips = []
    for subject, sequence, sequence_images, code in found:
        path = os.fspath(sequence_images)
        clip_id = f"{subject}_{sequence}"
        label = CKPLUS_CLASSES[code]
        clips.append(Clip(id=clip_id, path=path, label=label, label_index=position[label],
                          subject=subject, dataset=name))
        if include_neutral:
            clips.append(Clip(id=f"{clip_id}_neutral", path=path, label="neutral",
                              label_index=position["neutral"], subject=subject, dataset=name,
                              extra={"frames": (0, int(neutral_frames))}))
    return Dataset(name=name, root=os.fspath(root), clips=clips, labels=labels)


def _sequence_images(ls: Lister, images: pathlib.Path, subject: str, sequence: str,
                     label_file: pathlib.Path) -> pathlib.Path:
    """The image folder of the sequence that ``label_file`` labels; raise when it is missing."""
    subject_dir = ls.child(images, subject)
    if subject_dir is None or not ls.entries(subject_dir).get(sequence):
        where = images / subject / sequence
        raise DatasetLayoutError(where, f"expected the image folder of the sequence labelled by "
                                 f"{label_file}; {ls.found(subject_dir or images)}")
    return subject_dir / sequence


def _read_code(path: pathlib.Path) -> int:
    """The emotion code (0..7) an ``*_emotion.txt`` file holds."""
    text = path.read_text(encoding="utf-8", errors="replace").strip()
    try:
        value = float(text)
    except ValueError:
        raise LabelFileError(path, f"expected one number (an emotion code 0..7), found "
                             f"{ascii(text[:40])}{'...' if len(text) > 40 else ''}")
    if not value.is_integer() or not 0 <= value < len(CKPLUS_CLASSES):
        raise LabelFileError(path, f"unknown emotion code {text!r}; CK+ codes are 0..7 ("
                             + ", ".join(f"{k} {c}" for k, c in enumerate(CKPLUS_CLASSES)) + ")")
    return int(value)
