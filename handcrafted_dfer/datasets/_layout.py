"""Private helpers the dataset loaders share: finding folders, listing them, reading split files.

Every listing is one :func:`os.scandir` per folder (no per-file ``stat``), so that a loader lists
tens of thousands of clips in seconds. Errors say what was expected where and what was found.
"""

from __future__ import annotations

import os
import pathlib
import re
from typing import Callable, Iterable, NamedTuple, Sequence

import numpy as np

from ..errors import DatasetLayoutError, LabelFileError
from ..video import FRAME_EXTENSIONS, VIDEO_EXTENSIONS
from .base import Clip, Dataset

#: How many entries an error message lists before it says "and N more".
_SHOWN = 12


_DIGIT_RUNS = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple:
    """Sort key that orders digit runs by value (``S2`` before ``S10``)."""
    if text.isdigit():  # the common case of numbered clips, without the regex
        return ((0, int(text), ""),)
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part)
                 for part in _DIGIT_RUNS.split(text) if part)


class Lister:
    """Lists folders with one :func:`os.scandir` each and remembers the answer for one load.

    Hidden entries (names starting with ``.``) are left out.
    """

    def __init__(self):
        self._cache: dict[str, dict[str, bool]] = {}

    def entries(self, folder: str | os.PathLike) -> dict[str, bool]:
        """Names in ``folder`` mapped to whether each is a directory (sorted naturally).

        Raises
        ------
        DatasetLayoutError
            When ``folder`` does not exist or is not a folder.
        """
        key = os.fspath(folder)
        if key not in self._cache:
            try:
                with os.scandir(key) as it:
                    found = {e.name: e.is_dir() for e in it if not e.name.startswith(".")}
            except (FileNotFoundError, NotADirectoryError) as exc:
                raise DatasetLayoutError(key, "expected a folder here; it does not exist") from exc
            self._cache[key] = dict(sorted(found.items(), key=lambda kv: natural_key(kv[0])))
        return self._cache[key]

    def lookup(self, path: pathlib.Path) -> bool | None:
        """Whether ``path`` is a folder (True), another entry (False), or absent (None).

        Answered from one listing of its parent folder.
        """
        try:
            return self.entries(path.parent).get(path.name)
        except DatasetLayoutError:
            return None

    def found(self, folder: str | os.PathLike) -> str:
        """A short description of what ``folder`` holds, for error messages."""
        try:
            names = [n + ("/" if d else "") for n, d in self.entries(folder).items()]
        except DatasetLayoutError:
            return f"{os.fspath(folder)} does not exist"
        if not names:
            return f"{os.fspath(folder)} is empty"
        more = f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else ""
        return f"found in {os.fspath(folder)}: {', '.join(names[:_SHOWN])}{more}"

    def child(self, folder: pathlib.Path, name: str) -> pathlib.Path | None:
        """The sub-folder of ``folder`` called ``name`` (exact spelling first, then any case)."""
        try:
            entries = self.entries(folder)
        except DatasetLayoutError:
            return None
        if entries.get(name):
            return folder / name
        matches = [n for n, is_dir in entries.items() if is_dir and n.lower() == name.lower()]
        return folder / matches[0] if len(matches) == 1 else None

    def find_dir(self, root: pathlib.Path, candidates: Sequence[str], *, what: str,
                 required: bool = True) -> pathlib.Path | None:
        """The first of ``candidates`` (paths relative to ``root``) that is a folder.

        Names match exactly or, failing that, in any letter case. A folder that holds nothing but
        one folder of its own name (a zip unpacked into a folder of the same name) is entered.

        Parameters
        ----------
        root : Path
        candidates : sequence of str
            Relative paths with ``/`` separators, in order of preference.
        what : str
            What the folder holds, for the error message.
        required : bool
            Raise when none exists (otherwise return None).

        Raises
        ------
        DatasetLayoutError
            When ``required`` and none of the candidates exists; lists what ``root`` holds.
        """
        for candidate in candidates:
            folder = root
            for part in candidate.split("/"):
                folder = self.child(folder, part)
                if folder is None:
                    break
            if folder is not None:
                inner = self.entries(folder)
                if len(inner) == 1 and inner.get(folder.name):
                    folder = folder / folder.name
                return folder
        if not required:
            return None
        raise DatasetLayoutError(
            root, f"expected {what} at {' or '.join(repr(c + '/') for c in candidates)} under this "
            f"folder; {self.found(root)}")

    def find_clips(self, root: pathlib.Path, sources: dict[str, Sequence[str]],
                   source: str | None, *, dataset: str) -> tuple[pathlib.Path, dict[str, str]]:
        """The folder of the clip source asked for (or of the first present) and its clips.

        Parameters
        ----------
        root : Path
        sources : dict
            Source name -> folder spellings (as for :meth:`find_dir`), in order of preference.
            The source ``"video"`` holds video files; every other source holds frame folders.
        source : str or None
            A key of ``sources``, or None for the first one present.
        dataset : str
            Dataset name, for messages.

        Returns
        -------
        folder : Path
        clips : dict
            Clip id -> path, as :meth:`media` returns it.

        Raises
        ------
        ValueError
            When ``source`` is not a key of ``sources``.
        DatasetLayoutError
            When the folder is missing (or, for None, when none of them exists), or two clips
            share a name.
        """
        if source is not None:
            if source not in sources:
                raise ValueError(f"source must be one of {', '.join(sources)} or None, "
                                 f"got {source!r}")
            folder = self.find_dir(root, sources[source], what=f"the {dataset} {source!r} clips")
        else:
            for source, spellings in sources.items():
                folder = self.find_dir(root, spellings, what="", required=False)
                if folder is not None:
                    break
            else:
                expected = " or ".join(repr(s + "/") for spellings in sources.values()
                                       for s in spellings)
                raise DatasetLayoutError(root, f"expected the {dataset} clips at {expected}; "
                                         f"{self.found(root)}")
        return folder, self.media(folder, kind="video" if source == "video" else "frames")

    def split_file(self, folder: pathlib.Path, name: str) -> pathlib.Path:
        """The official split file ``name`` in ``folder`` (any letter case).

        Raises
        ------
        LabelFileError
            When ``folder`` holds no such file; lists what it holds.
        """
        matches = [n for n, is_dir in self.entries(folder).items()
                   if not is_dir and n.lower() == name.lower()]
        if not matches:
            raise LabelFileError(folder / name, f"official split file not found; "
                                 f"{self.found(folder)}")
        return folder / matches[0]

    def media(self, folder: pathlib.Path, *, kind: str) -> dict[str, str]:
        """Clips in ``folder``: names without extension mapped to their paths.

        Parameters
        ----------
        folder : Path
        kind : {"video", "frames", "any"}
            Video files (by extension), frame folders (every sub-folder), or both.

        Raises
        ------
        DatasetLayoutError
            When two clips share a name (``a.mp4`` and ``a.avi``, or ``a.mp4`` and ``a/``).
        """
        clips: dict[str, str] = {}
        for name, is_dir in self.entries(folder).items():
            if kind in ("frames", "any") and is_dir:
                stem = name
            elif kind in ("video", "any") and not is_dir and is_video(name):
                stem = os.path.splitext(name)[0]
            else:
                continue
            if stem in clips:
                raise DatasetLayoutError(
                    folder, f"duplicate clip id {stem!r}: both {os.path.basename(clips[stem])!r} "
                    f"and {name!r}; keep one")
            clips[stem] = os.path.join(folder, name)
        return clips


def is_video(name: str) -> bool:
    """Whether a file name has a video extension."""
    return os.path.splitext(name)[1].lower() in VIDEO_EXTENSIONS


def is_frame(name: str) -> bool:
    """Whether a file name has an image (frame) extension."""
    return os.path.splitext(name)[1].lower() in FRAME_EXTENSIONS


def check_root(root: str | os.PathLike) -> pathlib.Path:
    """``root`` as a Path; a :class:`DatasetLayoutError` when it is not an existing folder."""
    path = pathlib.Path(root).expanduser()
    if not path.is_dir():
        what = "is a file" if path.exists() else "does not exist"
        raise DatasetLayoutError(path, f"expected the dataset folder here; it {what}")
    return path


def read_lines(path: pathlib.Path) -> list[tuple[int, str]]:
    """Non-blank lines of a text file as (1-based line number, stripped text).

    Raises
    ------
    LabelFileError
        When the file is missing or not text.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise LabelFileError(path, "label/split file not found") from exc
    except (UnicodeDecodeError, IsADirectoryError) as exc:
        raise LabelFileError(path, f"expected a text label/split file ({exc})") from exc
    return [(i, line.strip()) for i, line in enumerate(text.splitlines(), 1) if line.strip()]


class SplitEntry(NamedTuple):
    """One line of a split file: a clip id, its class name, and where the line is."""

    clip_id: str
    label: str
    file: pathlib.Path
    line: int


def dataset_from_splits(*, name: str, root: pathlib.Path,
                        folds: Sequence[tuple[Sequence[SplitEntry], Sequence[SplitEntry]]],
                        class_order: Sequence[str], locate: Callable[[SplitEntry], str],
                        extra: Callable[[str], dict] | None = None) -> Dataset:
    """A :class:`Dataset` (no subjects) whose clips are those the official split files name.

    Parameters
    ----------
    name : str
        Dataset name.
    root : Path
        Folder the user gave.
    folds : sequence of (train entries, test entries)
        The official folds as read from their split files.
    class_order : sequence of str
        Every class of the dataset, in its code order; ``Dataset.labels`` keeps those present.
    locate : callable
        Maps an entry to its clip's path; raises :class:`LabelFileError` when the clip is absent.
    extra : callable, optional
        Maps a clip id to the clip's ``extra`` dict.

    Raises
    ------
    LabelFileError
        A clip listed twice in one file, on both sides of one fold, or with two different labels.
    """
    first: dict[str, SplitEntry] = {}
    for train, test in folds:
        seen: dict[str, SplitEntry] = {}
        for entry in (*train, *test):
            if entry.clip_id in seen:
                other = seen[entry.clip_id]
                raise LabelFileError(
                    entry.file, f"line {entry.line}: duplicate clip id {entry.clip_id!r}, already "
                    f"listed at line {other.line} of {other.file}")
            seen[entry.clip_id] = entry
            known = first.setdefault(entry.clip_id, entry)
            if known.label != entry.label:
                raise LabelFileError(
                    entry.file, f"line {entry.line}: clip {entry.clip_id!r} is labelled "
                    f"{entry.label!r} here but {known.label!r} at line {known.line} of "
                    f"{known.file}")
    ids = sorted(first, key=natural_key)
    present = {entry.label for entry in first.values()}
    labels = tuple(c for c in class_order if c in present)
    position = {c: k for k, c in enumerate(labels)}
    clips = [Clip(id=i, path=locate(first[i]), label=first[i].label,
                  label_index=position[first[i].label], subject=None, dataset=name,
                  extra=extra(i) if extra else {}) for i in ids]
    index = {i: k for k, i in enumerate(ids)}
    official = [(_indices(index, train), _indices(index, test)) for train, test in folds]
    return Dataset(name=name, root=os.fspath(root), clips=clips, labels=labels,
                   official_folds=official)


def _indices(index: dict[str, int], entries: Iterable[SplitEntry]) -> np.ndarray:
    return np.sort(np.array([index[e.clip_id] for e in entries], dtype=np.int64))


def missing_clip(entry: SplitEntry, folder: pathlib.Path, n_found: int) -> LabelFileError:
    """The error for a split-file line whose clip is not on disk."""
    return LabelFileError(
        entry.file, f"line {entry.line} names clip {entry.clip_id!r}, which is not in {folder} "
        f"({n_found} clips there)")


def in_folder(on_disk: dict[str, str], folder: pathlib.Path) -> Callable[[SplitEntry], str]:
    """A ``locate`` function for :func:`dataset_from_splits` over the clips of one folder.

    Parameters
    ----------
    on_disk : dict
        Clip id -> path, as :meth:`Lister.media` returns it.
    folder : Path
        The folder listed, for the error message.
    """
    def locate(entry: SplitEntry) -> str:
        if entry.clip_id not in on_disk:
            raise missing_clip(entry, folder, len(on_disk))
        return on_disk[entry.clip_id]
    return locate

