"""A dataset laid out as one folder per class: ``ROOT/<label>/<clip>``.

A clip is a video file (suffix in :data:`handcrafted_dfer.video.VIDEO_EXTENSIONS`) or a folder of
frames. With subjects, ``ROOT/<label>/<subject>/<clip>``. Other files (notes, a README) are ignored,
as are hidden entries.

Frame datasets that keep every frame of every clip side by side in the class folder (CK+48:
``CK+48/anger/S010_004_00000017.png``) are read with ``clip_pattern``, a regular expression whose
one group names a file's clip (``^(S\\d+_\\d+)_``): the files of one clip, sorted by name with digit
runs by value, become ``clip.extra["files"]``. Such a clip's ``path`` is ``<folder>/<clip name>``,
a name that does not exist on disk (so that code reading ``path`` instead of
:attr:`Clip.source <handcrafted_dfer.datasets.base.Clip.source>` fails loudly rather than read the
whole folder as one clip).
``subject_pattern`` does the same for the subject (``^(S\\d+)_``), from the clip's file or folder
name.

Class folder names become canonical labels where they are known spellings (``happy`` ->
``happiness``, :mod:`~handcrafted_dfer.datasets.labels`); other names are kept as written.
A root that holds another loader's layout (a CK+, DFEW, MAFW, FERV39k or synthetic tree) is refused
with the name of the loader to use.
"""

from __future__ import annotations

import os
import pathlib
import re

from ..errors import DatasetLayoutError
from ._layout import Lister, check_root, is_frame, is_video, natural_key
from .base import FACE_MODES, Clip, Dataset
from .labels import harmonise

__all__ = ["load_folder"]

_LAYOUTS = ("auto", "flat", "subjects")

#: Loader -> folders (relative to the root, any letter case) that only its layout has.
_KNOWN_LAYOUTS = {
    "ckplus": ("cohn-kanade-images", "extended-cohn-kanade-images", "Emotion_labels"),
    "dfew": ("EmoLabel_DataSplit", "Clip/clip_224x224", "Clip/original", "clip_224x224"),
    "mafw": ("Train & Test Set", "data/clips"),
    "ferv39k": ("2_ClipsforFaceCrop", "4_setups"),
}
#: The file that marks a synthetic set (a CK+ tree the ``synthetic`` loader writes).
_SYNTHETIC_MARK = "synthetic.json"


def load_folder(root: str | os.PathLike, *, layout: str = "auto", clip_pattern: str | None = None,
                subject_pattern: str | None = None, faces: str | None = None,
                name: str = "folder") -> Dataset:
    """List the clips of a one-folder-per-class tree.

    Parameters
    ----------
    root : str or PathLike
        Folder holding one sub-folder per class.
    layout : {"auto", "flat", "subjects"}
        ``flat``: ``ROOT/<label>/<clip>``; ``subjects``: ``ROOT/<label>/<subject>/<clip>``.
        ``auto`` is ``flat`` when a class folder holds image files itself, or when the first
        non-empty sub-folder of a class folder holds frame images; ``subjects`` when that
        sub-folder holds videos or folders.
    clip_pattern : str, optional
        A regular expression with one group, searched in the name of every image file lying
        directly in a class (or subject) folder; files with the same group form one clip, with
        id ``<label>/<group>``. Without it, image files there are an error.
    subject_pattern : str, optional
        A regular expression with one group, searched in the clip's name (its first file's name
        for a ``clip_pattern`` clip, else its file or folder name), giving its subject. Not with
        the ``subjects`` layout, whose folders give the subjects.
    faces : {"detect", "cropped", "aligned"}, optional
        Declares what the frames are (``Dataset.faces``): whole scenes, face crops, or aligned
        faces. None leaves it to the user.
    name : str
        ``Dataset.name``.

    Returns
    -------
    Dataset
        Clip ids ``<label>/<clip>`` or ``<label>/<subject>/<clip>`` (the folder's spelling of the
        label; clip names without their extension), subjects when the layout or
        ``subject_pattern`` gives them, labels the classes that hold clips (canonical names where
        known), sorted by name (digit runs by value); no official folds.

    Raises
    ------
    ValueError
        An unknown ``layout`` or ``faces``; a pattern that is not a regular expression with
        exactly one group; ``subject_pattern`` with the ``subjects`` layout.
    DatasetLayoutError
        The root holds another loader's layout (the message names it); no class folder or no
        clip; a video next to subject folders; two clips of one name (``a.mp4`` and ``a/``);
        image files in a class folder without ``clip_pattern``; a file or clip name that a
        pattern does not match, or a clip whose files give two subjects; two class folders of
        one class (``happy/`` and ``Happiness/``).
    """
    if layout not in _LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(_LAYOUTS)}, got {layout!r}")
    if faces is not None and faces not in FACE_MODES:
        raise ValueError(f"faces must be one of {', '.join(FACE_MODES)} or None, got {faces!r}")
    patterns = {"clip": _compile(clip_pattern, "clip_pattern"),
                "subject": _compile(subject_pattern, "subject_pattern")}
    root = check_root(root)
    ls = Lister()
    _refuse_known_layout(ls, root)
    label_dirs = [root / n for n, is_dir in ls.entries(root).items() if is_dir]
    if not label_dirs:
        raise DatasetLayoutError(root, f"expected one folder per class (ROOT/<label>/<clip>); "
                                 f"{ls.found(root)}")
    if layout == "auto":
        layout = _detect(ls, label_dirs)
    if layout == "subjects" and subject_pattern is not None:
        raise ValueError("subject_pattern reads subjects from file names, the 'subjects' layout "
                         "from folders; give one (layout='flat' with subject_pattern)")
    found: list[tuple[str, str, str | None, str, dict]] = []  # (id, label, subject, path, extra)
    for label_dir in label_dirs:
        label = label_dir.name
        if layout == "flat":
            found += [(f"{label}/{clip}", label, subject, path, extra)
                      for clip, subject, path, extra in _clips(ls, label_dir, patterns)]
            continue
        videos = [n for n, is_dir in ls.entries(label_dir).items() if not is_dir and is_video(n)]
        if videos:
            raise DatasetLayoutError(label_dir / videos[0], "expected subject folders only "
                                     "(ROOT/<label>/<subject>/<clip>), found a video beside them")
        for subject, is_dir in ls.entries(label_dir).items():
            if is_dir:
                found += [(f"{label}/{subject}/{clip}", label, subject, path, extra)
                          for clip, _, path, extra in _clips(ls, label_dir / subject, patterns)]
    if not found:
        raise DatasetLayoutError(root, f"expected video files or frame folders in the class "
                                 f"folders ({layout} layout); none found; "
                                 f"{ls.found(label_dirs[0])}")
    try:
        canonical = harmonise(dict.fromkeys(label for _, label, _, _, _ in found))
    except ValueError as exc:
        raise DatasetLayoutError(root, f"class folders: {exc}") from None
    labels = tuple(sorted(set(canonical.values()), key=natural_key))
    position = {c: k for k, c in enumerate(labels)}
    clips = [Clip(id=i, path=p, label=canonical[c], label_index=position[canonical[c]],
                  subject=s, dataset=name, extra=extra)
             for i, c, s, p, extra in found]
    return Dataset(name=name, root=os.fspath(root), clips=clips, labels=labels, faces=faces)


def _compile(pattern: str | None, option: str) -> re.Pattern | None:
    """``pattern`` compiled, after checking that it has exactly one group."""
    if pattern is None:
        return None
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"{option} {pattern!r} is not a regular expression: {exc}") from None
    if compiled.groups != 1:
        raise ValueError(f"{option} {pattern!r} must have exactly one group (...), the part of "
                         f"the name that is kept; it has {compiled.groups}")
    return compiled


def _group(pattern: re.Pattern, name: str, option: str, where: pathlib.Path) -> str:
    """The group ``pattern`` finds in ``name``; a layout error naming ``where`` when none."""
    match = pattern.search(name)
    if match is None or not match.group(1):
        raise DatasetLayoutError(where, f"the name {name!r} does not match {option} "
                                 f"{pattern.pattern!r}")
    return match.group(1)


def _clips(ls: Lister, folder: pathlib.Path, patterns: dict) -> list[tuple]:
    """The clips directly in ``folder``: (name, subject or None, path, extra) each.

    Videos and frame folders are clips; image files are grouped by ``patterns["clip"]``.
    """
    media = ls.media(folder, kind="any")
    images = [n for n, is_dir in ls.entries(folder).items() if not is_dir and is_frame(n)]
    clip_re, subject_re = patterns["clip"], patterns["subject"]
    if images and clip_re is None:
        raise DatasetLayoutError(folder, f"found {len(images)} image files ({images[0]}, ...) in "
                                 f"the folder itself; give the option clip_pattern, a regular "
                                 f"expression whose one group names a file's clip (e.g. "
                                 f"'^(S\\d+_\\d+)_' for S005_001_00000001.png), to group them "
                                 f"into clips")
    groups: dict[str, list[str]] = {}
    for image in images:
        groups.setdefault(_group(clip_re, image, "clip_pattern", folder / image), []).append(image)
    clips = []
    for clip, path in media.items():
        subject = None if subject_re is None else _group(subject_re, clip, "subject_pattern",
                                                        pathlib.Path(path))
        clips.append((clip, subject, path, {}))
    for clip, files in groups.items():
        if clip in media:
            raise DatasetLayoutError(folder / files[0], f"duplicate clip id {clip!r}: both "
                                     f"{os.path.basename(media[clip])!r} and the image files "
                                     f"clip_pattern groups under that name; keep one")
        files = sorted(files, key=natural_key)
        subject = None
        if subject_re is not None:
            subjects = {_group(subject_re, f, "subject_pattern", folder / f) for f in files}
            if len(subjects) > 1:
                raise DatasetLayoutError(folder / files[0], f"the files of clip {clip!r} give "
                                         f"subjects {', '.join(sorted(subjects))} "
                                         f"(subject_pattern {subject_re.pattern!r}); expected one")
            subject = subjects.pop()
        clips.append((clip, subject, os.path.join(folder, clip),
                      {"files": tuple(os.path.join(folder, f) for f in files)}))
    return sorted(clips, key=lambda c: natural_key(c[0]))


def _refuse_known_layout(ls: Lister, root: pathlib.Path) -> None:
    """A layout error naming the loader to use when ``root`` holds another loader's layout."""
    if ls.entries(root).get(_SYNTHETIC_MARK) is False:
        loader = "synthetic"
    else:
        loader = next((known for known, folders in _KNOWN_LAYOUTS.items()
                       if ls.find_dir(root, folders, what="", required=False) is not None), None)
    if loader is not None:
        raise DatasetLayoutError(root, f"this folder holds a {loader} dataset, not one folder per "
                                 f"class; load it with the {loader!r} loader (--dataset {loader}); "
                                 f"{ls.found(root)}")


def _detect(ls: Lister, label_dirs: list[pathlib.Path]) -> str:
    """``flat`` or ``subjects``, from the first class folder with images or sub-folders."""
    for label_dir in label_dirs:
        if any(not d and is_frame(n) for n, d in ls.entries(label_dir).items()):
            return "flat"
        for entry, is_dir in ls.entries(label_dir).items():
            if not is_dir:
                continue
            inside = ls.entries(label_dir / entry)
            if any(not d and is_frame(n) for n, d in inside.items()):
                return "flat"
            if any(d or is_video(n) for n, d in inside.items()):
                return "subjects"
    return "flat"
