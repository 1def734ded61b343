"""A content-addressed on-disk cache of aligned clips and feature rows, which heals itself.

Layout under the cache root::

    clips/<key>.npz                    AlignedClip of one source under one PreprocessConfig
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
recomputed, never trusted and never fatal.
"""

from __future__ import annotations

import json
import logging
import os
import pathlib
import time

import numpy as np

from .. import __version__
from ..cache import atomic_write, cache_key, remove_stale_temporaries
from ..clip import AlignedClip
from ..errors import VideoReadError

__all__ = ["STORE_VERSION", "FeatureStore", "source_identity"]

#: Bumped whenever the meaning of a cached entry changes; old entries are then never read.
STORE_VERSION = 2

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
        Cache folder (created on first write). Stale temporary files of killed runs under it are
        removed when the store is opened.

    Attributes
    ----------
    counts : dict
        ``{"clips_computed", "clips_loaded", "features_computed", "features_loaded"}``: entries
        written and read through this object.
    healed : list of dict
        ``{"path", "reason"}`` of every damaged entry found, deleted and left to be recomputed.
    """

    def __init__(self, root: str | os.PathLike):
        self.root = pathlib.Path(root)
        self.counts = {"clips_computed": 0, "clips_loaded": 0,
                       "features_computed": 0, "features_loaded": 0}
        self.healed: list[dict] = []
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
                self.counts["clips_loaded"] += 1
                return clip
        failure = self._failure_path(key)
        if failure.is_file():
            try:
                reason = json.loads(failure.read_text(encoding="utf-8"))["reason"]
                if not isinstance(reason, str):
                    raise ValueError(f"expected a string reason, found {type(reason).__name__}")
            except Exception as exc:
                self._heal(failure, exc)
            else:
                self.counts["clips_loaded"] += 1
                return reason
        return None

    def save_clip(self, key: str, clip: AlignedClip) -> pathlib.Path:
        """Store an aligned clip (atomically); returns its file."""
        return atomic_write(self._clip_path(key), clip.save)

    def save_failure(self, key: str, reason: str) -> pathlib.Path:
        """Record that a source could not be preprocessed, so a rerun does not retry it."""
        text = json.dumps({"reason": reason})
        return atomic_write(self._failure_path(key),
                            lambda tmp: pathlib.Path(tmp).write_text(text, encoding="utf-8"))

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
    def entries(self):
        """Every entry file under the root: ``(kind, path)`` with kind ``clip``, ``failure`` or
        ``features``."""
        for path in sorted((self.root / "clips").glob("*.npz")):
            yield "clip", path
        for path in sorted((self.root / "clips").glob("*.failed.json")):
            yield "failure", path
        for path in sorted((self.root / "features").glob("*/*.npz")):
            yield "features", path

    def info(self) -> dict:
        """Number of entries and bytes per kind, and the root."""
        summary = {kind: {"entries": 0, "bytes": 0} for kind in ("clip", "failure", "features")}
        for kind, path in self.entries():
            summary[kind]["entries"] += 1
            summary[kind]["bytes"] += path.stat().st_size
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
            checked += 1
            if kind == "clip":
                self.load_clip(path.name[:-len(".npz")])
            elif kind == "failure":
                key = path.name[:-len(".failed.json")]
                if self._clip_path(key).is_file():  # a clip next to a failure: check both
                    self.load_clip(key)
                self._check_failure(path)
            else:
                self.load_features(path.parent.name, path.stem)
        return {"checked": checked, "healed": self.healed[before:]}

    def _check_failure(self, path: pathlib.Path) -> None:
        try:
            reason = json.loads(path.read_text(encoding="utf-8"))["reason"]
            if not isinstance(reason, str):
                raise ValueError("expected a string reason")
        except Exception as exc:
            self._heal(path, exc)

    def clear(self, *, older_than_days: float | None = None) -> int:
        """Delete entries (those not modified for ``older_than_days`` days, or all).

        Returns
        -------
        int
            Entries deleted.
        """
        cutoff = None if older_than_days is None else time.time() - 86400.0 * older_than_days
        removed = 0
        for _, path in list(self.entries()):
            try:
                if cutoff is None or path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except OSError:
                continue
        remove_stale_temporaries(self.root, older_than_s=0.0 if cutoff is None else 3600.0)
        return removed

