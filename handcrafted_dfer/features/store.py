"""A content-addressed on-disk cache of aligned clips and feature rows, which heals itself.

Layout under the cache root::

    clips/<key>.npz                    AlignedClip of one source under one PreprocessConfig
    clips/<key>.warnings.json          {"warnings": [...]} raised while it was preprocessed, if any
    clips/<key>.failed.json            {"reason": ...} of a source that could not be preprocessed
    features/<name>-<params>/<key>.npz one feature row of one aligned clip

Keys (all made by :func:`handcrafted_dfer.cache.cache_key`)
-------------------------------------------------------------
* A **clip key** hashes the *identity* of the source, not its bytes: its resolved path and, for
  every file it consists of (the video file, or each image of a frame folder), the file name, size
  and modification time in nanoseconds; together with the preprocessing configuration, any
  dataset-specific selection (e.g. a frame subset) and :data:`STORE_VERSION` plus the package
  version. Reading every byte of a large video collection on each run would cost more than the
  preprocessing it saves; the price is that a file rewritten with identical size *and* mtime is
  not noticed (touch it, or clear the cache).
* A **feature key** hashes the *content* of the aligned clip (frames, landmarks, valid flags):
  identical clips share rows whatever their source, and a changed clip can never meet a stale row.
  The folder name carries the extractor name and the key of its parameters.

Every entry is written by :func:`~handcrafted_dfer.cache.atomic_write`, so an interrupted run leaves
whole entries or none, and the next run resumes. Entries are zip archives (``.npz``) whose members
carry a CRC-32, or small JSON files, so a damaged entry (truncated, emptied, overwritten) fails to
load: it is then logged with its path, counted in :attr:`FeatureStore.healed`, deleted and
recomputed, never trusted and never fatal. (A clip's warnings file is written before the clip, and
a damaged one is deleted with its clip, so that the recomputed clip brings its warnings back.)
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import pathlib
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .. import __version__
from ..cache import TEMPORARY_PREFIX, atomic_write, cache_key, remove_stale_temporaries
from ..clip import AlignedClip
from ..errors import VideoReadError

__all__ = ["STORE_VERSION", "FeatureStore", "StoredClip", "StoredClips", "source_identity"]

#: Bumped whenever the meaning of a cached entry changes; old entries are then never read.
STORE_VERSION = 3  # 3: mirror by reflection (LBP-TOP, 3D-HOG); several-face follow-back

_log = logging.getLogger(__name__)


def source_identity(source) -> dict:
    """Resolved paths plus (name, size, mtime_ns) of every file of a source.

    Parameters
    ----------
    source : str, Path, or list of them
        A video file, a frame folder, or a list of image files (a clip made of some of the files
        of a folder; see :attr:`handcrafted_dfer.datasets.Clip.source`).

    Raises
    ------
    VideoReadError
        If the path (or one of the files) does not exist.
    """
    first = source[0] if isinstance(source, (list, tuple)) and source else source
    try:
        if isinstance(source, (list, tuple)):
            members = [pathlib.Path(f).resolve(strict=True) for f in source]
            resolved = members[0].parent if members else None
        else:
            resolved = pathlib.Path(source).resolve(strict=True)
            members = ([f for f in sorted(resolved.iterdir()) if f.is_file()]
                       if resolved.is_dir() else [resolved])
        stats = [(f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in members]
    except OSError as exc:
        raise VideoReadError(first, f"expected a video file or a folder of frames: {exc}") from exc
    return {"path": str(resolved), "files": stats}


class FeatureStore:
    """The cache folder of aligned clips and feature rows (see the module docstring).

    Parameters
    ----------
    root : str or Path
        Cache folder (created on first write).
    tidy : bool
        Remove the stale temporary files of killed runs under it now (see
        :func:`~handcrafted_dfer.cache.remove_stale_temporaries`). The run opens the store once
        with ``tidy=True``; the workers that write entries open it without (a walk of the whole
        folder per clip would cost more than the clip on a large cache).

    Attributes
    ----------
    counts : dict
        ``{"clips_computed", "clips_loaded", "features_computed", "features_loaded"}``: entries
        written and read through this object.
    healed : list of dict
        ``{"path", "reason"}`` of every damaged entry found, deleted and left to be recomputed.
    """

    def __init__(self, root: str | os.PathLike, *, tidy: bool = True):
        self.root = pathlib.Path(root)
        self.counts = {"clips_computed": 0, "clips_loaded": 0,
                       "features_computed": 0, "features_loaded": 0}
        self.healed: list[dict] = []
        if tidy:
            remove_stale_temporaries(self.root)

    # -- keys -----------------------------------------------------------------------------------
    @staticmethod
    def clip_key(source, config, *, selection=None) -> str:
        """Key of a source under a preprocessing configuration.

        Parameters
        ----------
        source : str, Path or list
            Video file, frame folder, or list of image files.
        config : PreprocessConfig
        selection : JSON-serializable, optional
            Anything else that changes the result (e.g. a dataset's frame subset).
        """
        return cache_key(STORE_VERSION, __version__, source_identity(source), config, selection)

    @staticmethod
    def content_key(clip) -> str:
        """Key of an aligned clip's content: frames, landmarks and valid flags (or an array)."""
        if isinstance(clip, AlignedClip):
            return cache_key(clip.frames, clip.landmarks, clip.valid)
        return cache_key(np.asarray(clip))

    @staticmethod
    def feature_folder_name(name: str, params: dict) -> str:
        """Folder name of an extractor with its parameters, e.g. ``lbptop-3f2a...``."""
        return f"{name}-{cache_key(STORE_VERSION, __version__, name, params, length=16)}"

    # -- healing --------------------------------------------------------------------------------
    def _heal(self, path: pathlib.Path, exc: BaseException) -> None:
        """Record, log and delete a damaged entry."""
        reason = f"{type(exc).__name__}: {exc}"
        _log.warning("damaged cache entry %s (%s): deleted, it will be recomputed", path, reason)
        self.healed.append({"path": str(path), "reason": reason})
        try:
            path.unlink()
        except OSError:
            pass

    # -- aligned clips --------------------------------------------------------------------------
    def _clip_path(self, key: str) -> pathlib.Path:
        return self.root / "clips" / f"{key}.npz"

    def _failure_path(self, key: str) -> pathlib.Path:
        return self.root / "clips" / f"{key}.failed.json"

    def _warnings_path(self, key: str) -> pathlib.Path:
        return self.root / "clips" / f"{key}.warnings.json"

    def _read_json(self, path: pathlib.Path, field: str, kind: type):
        """``json[field]`` of a small JSON entry, checked to be a ``kind`` (of strings for a list);
        None (healed) when the file is damaged."""
        try:
            value = json.loads(path.read_text(encoding="utf-8"))[field]
            if not isinstance(value, kind) or (kind is list and not all(
                    isinstance(v, str) for v in value)):
                raise ValueError(f"expected {field!r} to be a {kind.__name__}"
                                 + (" of strings" if kind is list else "")
                                 + f", found {type(value).__name__}")
        except Exception as exc:  # unreadable, not JSON, not an object, missing field, ...
            self._heal(path, exc)
            return None
        return value

    def load_clip(self, key: str):
        """The cached outcome of a clip key.

        Returns
        -------
        AlignedClip, or str (the recorded failure reason), or None when nothing (sound) is cached
        """
        path = self._clip_path(key)
        if path.is_file():
            try:
                clip = AlignedClip.load(path)
            except Exception as exc:  # any damage: truncated zip, bad CRC, missing field, ...
                self._heal(path, exc)
            else:
                notes = self._warnings_path(key)
                if not notes.is_file() or self._read_json(notes, "warnings", list) is not None:
                    self.counts["clips_loaded"] += 1
                    return clip
                self._heal(path, ValueError(f"its warnings file {notes.name} was damaged"))
        failure = self._failure_path(key)
        if failure.is_file():
            reason = self._read_json(failure, "reason", str)
            if reason is not None:
                self.counts["clips_loaded"] += 1
                return reason
        return None

    def read_clip(self, key: str) -> AlignedClip:
        """The aligned clip of a key that is known to be stored (no healing: a missing or damaged
        file is an error).

        Raises
        ------
        VideoReadError
            The file is missing or damaged (e.g. the cache was cleared during the run).
        """
        return AlignedClip.load(self._clip_path(key))

    def clip_warnings(self, key: str) -> list:
        """The warnings recorded when the clip of ``key`` was preprocessed (empty when none)."""
        notes = self._warnings_path(key)
        return (self._read_json(notes, "warnings", list) or []) if notes.is_file() else []

    def save_clip(self, key: str, clip: AlignedClip, *, warnings=()) -> pathlib.Path:
        """Store an aligned clip (atomically), with the warnings its preprocessing raised; returns
        its file."""
        if warnings:
            self._write_json(self._warnings_path(key), {"warnings": list(warnings)})
        return atomic_write(self._clip_path(key), clip.save)

    def save_failure(self, key: str, reason: str) -> pathlib.Path:
        """Record that a source could not be preprocessed, so a rerun does not retry it."""
        return self._write_json(self._failure_path(key), {"reason": reason})

    @staticmethod
    def _write_json(path: pathlib.Path, content: dict) -> pathlib.Path:
        text = json.dumps(content)
        return atomic_write(path, lambda tmp: pathlib.Path(tmp).write_text(text, encoding="utf-8"))

    # -- feature rows ---------------------------------------------------------------------------
    def _feature_path(self, folder: str, key: str) -> pathlib.Path:
        return self.root / "features" / folder / f"{key}.npz"

    def load_features(self, folder: str, key: str, *, n_features: int | None = None):
        """A cached feature row (1D float64 array of ``n_features`` finite values) or None."""
        path = self._feature_path(folder, key)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                row = np.asarray(data["row"])
            if row.ndim != 1 or row.dtype != np.float64 or not np.all(np.isfinite(row)):
                raise ValueError(f"expected a 1D array of finite float64, found {row.dtype} "
                                 f"{row.shape}")
            if n_features is not None and row.shape != (n_features,):
                raise ValueError(f"expected {n_features} features, found {row.shape[0]}")
        except Exception as exc:
            self._heal(path, exc)
            return None
        self.counts["features_loaded"] += 1
        return row

    def save_features(self, folder: str, key: str, row) -> pathlib.Path:
        """Store one feature row (atomically); returns its file."""
        row = np.asarray(row, dtype=np.float64).ravel()
        return atomic_write(self._feature_path(folder, key), lambda tmp: np.savez(tmp, row=row))

    # -- maintenance (``dfer cache``) -----------------------------------------------------------
    #: Entry kinds, in the order :meth:`entries` lists them.
    KINDS = ("clip", "warnings", "failure", "features")

    def entries(self):
        """Every entry file under the root: ``(kind, path)`` with kind in :attr:`KINDS`; the
        temporary files of unfinished writes (which have the same suffixes) are not entries."""
        clips = self.root / "clips"
        for kind, folder, pattern in (("clip", clips, "*.npz"),
                                      ("warnings", clips, "*.warnings.json"),
                                      ("failure", clips, "*.failed.json"),
                                      ("features", self.root / "features", "*/*.npz")):
            for path in sorted(folder.glob(pattern)):
                if not path.name.startswith(TEMPORARY_PREFIX):
                    yield kind, path

    def info(self) -> dict:
        """The root, and the number of entries and their bytes per kind and in total.

        Returns
        -------
        dict
            ``{"root", "clip": {"entries", "bytes"}, "warnings": ..., "failure": ...,
            "features": ..., "total": ..., "temporary": ...}`` (``temporary``: files of
            unfinished writes).
        """
        summary = {kind: {"entries": 0, "bytes": 0} for kind in self.KINDS + ("total",
                                                                              "temporary")}
        for kind, path in self.entries():
            try:
                size = path.stat().st_size
            except OSError:  # removed meanwhile
                continue
            for key in (kind, "total"):
                summary[key]["entries"] += 1
                summary[key]["bytes"] += size
        if self.root.is_dir():
            for path in self.root.rglob(f"{TEMPORARY_PREFIX}*"):
                with contextlib.suppress(OSError):
                    summary["temporary"]["bytes"] += path.stat().st_size
                    summary["temporary"]["entries"] += 1
        return {"root": str(self.root), **summary}

    def verify(self) -> dict:
        """Load every entry; delete (heal) the damaged ones.

        Returns
        -------
        dict
            ``{"checked": n, "healed": [{"path", "reason"}, ...]}``.
        """
        before = len(self.healed)
        checked = 0
        for kind, path in list(self.entries()):
            if not path.is_file():  # healed with an entry checked before it
                continue
            checked += 1
            if kind == "clip":
                self.load_clip(path.name[:-len(".npz")])
            elif kind == "warnings":
                self._read_json(path, "warnings", list)
            elif kind == "failure":
                self._read_json(path, "reason", str)
            else:
                self.load_features(path.parent.name, path.stem)
        return {"checked": checked, "healed": self.healed[before:]}

    def clear(self, *, older_than_days: float | None = None) -> int:
        """Delete entries (those not modified for ``older_than_days`` days, or all).

        Returns
        -------
        int
            Entries deleted.
        """
        if older_than_days is not None and not older_than_days >= 0:
            raise ValueError(f"older_than_days must be a number >= 0; got {older_than_days}")
        cutoff = None if older_than_days is None else time.time() - 86400.0 * older_than_days
        removed = 0
        for _, path in list(self.entries()):
            try:
                if cutoff is None or path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except OSError:
                continue
        remove_stale_temporaries(self.root)  # a running writer's files are left alone
        return removed


@dataclass(frozen=True)
class StoredClip:
    """A reference to an aligned clip in a store: small to keep and to send to a worker, which
    reads the clip itself (:meth:`load`)."""

    root: str
    key: str

    def load(self) -> AlignedClip:
        """The clip (see :meth:`FeatureStore.read_clip`)."""
        return FeatureStore(self.root, tidy=False).read_clip(self.key)


class StoredClips(Sequence):
    """A run's aligned clips, read from the store when they are accessed, so that memory does
    not grow with the number of clips (a FERV39k-sized run would hold about 6 GB of 16x96x96
    clips).

    Parameters
    ----------
    root : str or Path
        The store.
    keys : sequence of str or None
        One clip key per item; None where there is no clip (it failed): that item is None.

    Notes
    -----
    Indexing with an integer reads one clip; with a slice, a boolean mask or an array of indices
    it gives another ``StoredClips`` (nothing is read). :meth:`ref` gives the item as a
    :class:`StoredClip` for a worker.
    """

    def __init__(self, root, keys):
        self.root = str(root)
        self.keys = tuple(keys)

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, index):
        if isinstance(index, (int, np.integer)):
            key = self.keys[index]
            return None if key is None else FeatureStore(self.root, tidy=False).read_clip(key)
        if isinstance(index, slice):
            return StoredClips(self.root, self.keys[index])
        index = np.asarray(index)
        if index.dtype == bool:
            index = np.flatnonzero(index)
        return StoredClips(self.root, [self.keys[int(i)] for i in index])

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    @property
    def present(self) -> np.ndarray:
        """Boolean mask of the items that hold a clip."""
        return np.array([k is not None for k in self.keys], dtype=bool)

    def ref(self, index: int):
        """Item ``index`` as a :class:`StoredClip` (None where there is no clip)."""
        key = self.keys[index]
        return None if key is None else StoredClip(self.root, key)

    def __repr__(self) -> str:
        return f"StoredClips({self.root!r}, {int(self.present.sum())} of {len(self)} clips)"
