"""A dataset laid out as one folder per class: ``ROOT/<label>/<clip>``.

A clip is a video file (suffix in :data:`handcrafted_dfer.video.VIDEO_EXTENSIONS`) or a folder of
frames. With subjects, ``ROOT/<label>/<subject>/<clip>``. Other files (notes, a README) are ignored,
as are hidden entries.
"""

from __future__ import annotations

import os
import pathlib

from ..errors import DatasetLayoutError
from ._layout import Lister, check_root, is_frame, is_video, natural_key
from .base import Clip, Dataset

__all__ = ["load_folder"]

_LAYOUTS = ("auto", "flat", "subjects")


def load_folder(root: str | os.PathLike, *, layout: str = "auto", name: str = "folder") -> Dataset:
    """List the clips of a one-folder-per-class tree.

    Parameters
    ----------
    root : str or PathLike
        Folder holding one sub-folder per class.
    layout : {"auto", "flat", "subjects"}
        ``flat``: ``ROOT/<label>/<clip>``; ``subjects``: ``ROOT/<label>/<subject>/<clip>``.
        ``auto`` looks inside the first non-empty sub-folder of a class folder: frame images there
        make it a clip (``flat``), videos or folders make it a subject (``subjects``).
    name : str
        ``Dataset.name``.

    Returns
    -------
    Dataset
        Clip ids ``<label>/<clip>`` or ``<label>/<subject>/<clip>`` (clip names without their
        extension), subjects when the layout has them, labels the class folders that hold clips,
        sorted by name (digit runs by value); no official folds.

    Raises
    ------
    DatasetLayoutError
        No class folder or no clip; a video next to subject folders; two clips of one name
        (``a.mp4`` and ``a/``).
    """
    if layout not in _LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(_LAYOUTS)}, got {layout!r}")
    root = check_root(root)
    ls = Lister()
    label_dirs = [root / n for n, is_dir in ls.entries(root).items() if is_dir]
    if not label_dirs:
        raise DatasetLayoutError(root, f"expected one folder per class (ROOT/<label>/<clip>); "
                                 f"{ls.found(root)}")
    if layout == "auto":
        layout = _detect(ls, label_dirs)
    found: list[tuple[str, str, str | None, str]] = []  # (id, label, subject, path)
    for label_dir in label_dirs:
        label = label_dir.name
        if layout == "flat":
            found += [(f"{label}/{stem}", label, None, path)
                      for stem, path in ls.media(label_dir, kind="any").items()]
            continue
        videos = [n for n, is_dir in ls.entries(label_dir).items() if not is_dir and is_video(n)]
        if videos:
            raise DatasetLayoutError(label_dir / videos[0], "expected subject folders only "
                                     "(ROOT/<label>/<subject>/<clip>), found a video beside them")
        for subject, is_dir in ls.entries(label_dir).items():
            if is_dir:
                found += [(f"{label}/{subject}/{stem}", label, subject, path)
                          for stem, path in ls.media(label_dir / subject, kind="any").items()]
    if not found:
        raise DatasetLayoutError(root, f"expected video files or frame folders in the class "
                                 f"folders ({layout} layout); none found; "
                                 f"{ls.found(label_dirs[0])}")
    labels = tuple(sorted({label for _, label, _, _ in found}, key=natural_key))
    position = {c: k for k, c in enumerate(labels)}
    clips = [Clip(id=i, path=p, label=c, label_index=position[c], subject=s, dataset=name)
             for i, c, s, p in found]
    return Dataset(name=name, root=os.fspath(root), clips=clips, labels=labels)


def _detect(ls: Lister, label_dirs: list[pathlib.Path]) -> str:
    """``flat`` or ``subjects``, from the first non-empty sub-folder of a class folder."""
    for label_dir in label_dirs:
        for entry, is_dir in ls.entries(label_dir).items():
            if not is_dir:
                continue
            inside = ls.entries(label_dir / entry)
            if any(not d and is_frame(n) for n, d in inside.items()):
                return "flat"
            if any(d or is_video(n) for n, d in inside.items()):
                return "subjects"
    return "flat"
