"""A content-addressed on-disk cache of aligned clips and feature rows.

Layout under the cache root::

    clips/<key>.npz              AlignedClip of one source under one PreprocessConfig
    clips/<key>.failed.json      {"reason": ...} of a source that could not be preprocessed
    features/<name>-<params>/<key>.npy     one feature row of one aligned clip
    features/<name>-<params>/names.json    the extractor's feature names

Keys
----
* A **clip key** hashes the *identity* of the source, not its bytes: its resolved path and, for
  every file it consists of (the video file, or each image of a frame folder), the file name, size
  and modification time in nanoseconds; together with the preprocessing configuration, any
  dataset-specific selection (e.g. a frame subset) and :data:`STORE_VERSION` plus the package
  version. Reading every byte of a large video collection on each run would cost more than the
  preprocessing it saves; the price is that a file rewritten with identical size *and* mtime is
  not noticed (touch it, or delete the cache).
* A **feature key** hashes the *content* of the aligned clip (frames, landmarks, valid flags):
  identical clips share rows whatever their source, and a changed clip can never meet a stale row.
  The folder name carries the extractor name and :func:`~handcrafted_dfer.config.config_hash` of
  its parameters.

Every entry is written to a temporary file in the same folder and moved into place with
:func:`os.replace`, so an interrupted run leaves whole entries or none, and the next run resumes.
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import tempfile

import numpy as np

from .. import __version__
from ..clip import AlignedClip
from ..config import config_hash
from ..errors import VideoReadError

__all__ = ["STORE_VERSION", "FeatureStore", "default_cache_dir", "source_identity"]

#: Bumped whenever the meaning of a cached entry changes; old entries are then never read.
STORE_VERSION = 1


def default_cache_dir() -> pathlib.Path:
    """``$XDG_CACHE_HOME/handcrafted_dfer``, or ``~/.cache/handcrafted_dfer``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return pathlib.Path(base) / "handcrafted_dfer"


def source_identity(path: str | os.PathLike) -> dict:
    """Resolved path plus (name, size, mtime_ns) of every file of a video file or frame folder.

    Raises
    ------
    VideoReadError
        If the path does not exist.
    """
    p = pathlib.Path(path)
    try:
        resolved = p.resolve(strict=True)
        if resolved.is_dir():
            files = [(f.name, f.stat().st_size, f.stat().st_mtime_ns)
                     for f in sorted(resolved.iterdir()) if f.is_file()]
        else:
            st = resolved.stat()
            files = [(resolved.name, st.st_size, st.st_mtime_ns)]
    except OSError as exc:
        raise VideoReadError(path, f"expected a video file or a folder of frames: {exc}") from exc
    return {"path": str(resolved), "files": files}


def _atomic_write(path: pathlib.Path, write) -> None:
    """Call ``write(tmp_path)`` on a temporary file next to ``path``, then move it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


class FeatureStore:
    """The cache folder of aligned clips and feature rows (see the module docstring).

    Parameters
    ----------
    root : str or Path
        Cache folder (created on first write).

    Attributes
    ----------
    counts : dict
        ``{"clips_computed", "clips_loaded", "features_computed", "features_loaded"}``: entries
        written and read through this object (the runner adds entries its workers computed).
    """

    def __init__(self, root: str | os.PathLike):
        self.root = pathlib.Path(root)
        self.counts = {"clips_computed": 0, "clips_loaded": 0,
                       "features_computed": 0, "features_loaded": 0}

    # -- keys -----------------------------------------------------------------------------------
    @staticmethod
    def clip_key(source: str | os.PathLike, config, *, selection=None) -> str:
        """Key of a source under a preprocessing configuration.

        Parameters
        ----------
        source : str or Path
            Video file or frame folder.
        config : PreprocessConfig
        selection : JSON-serialisable, optional
            Anything else that changes the result (e.g. a dataset's frame subset).
        """
        return config_hash(STORE_VERSION, __version__, source_identity(source), config, selection)

    @staticmethod
    def content_key(clip: AlignedClip) -> str:
        """SHA-256 (first 24 hex digits) of an aligned clip's frames, landmarks and valid flags."""
        h = hashlib.sha256()
        for array in (clip.frames, clip.landmarks, clip.valid):
            array = np.ascontiguousarray(array)
            h.update(f"{array.dtype.str}{array.shape}".encode())
            h.update(array.tobytes())
        return h.hexdigest()[:24]

    @staticmethod
    def feature_folder_name(name: str, params: dict) -> str:
        """Folder name of an extractor with its parameters, e.g. ``lbptop-3f2a...``."""
        return f"{name}-{config_hash(STORE_VERSION, __version__, name, params)}"

    # -- aligned clips --------------------------------------------------------------------------
    def _clip_path(self, key: str) -> pathlib.Path:
        return self.root / "clips" / f"{key}.npz"

    def _failure_path(self, key: str) -> pathlib.Path:
        return self.root / "clips" / f"{key}.failed.json"

    def load_clip(self, key: str):
        """The cached outcome of a clip key.

        Returns
        -------
        AlignedClip, or str (the recorded failure reason), or None when nothing is cached
        """
        path = self._clip_path(key)
        if path.is_file():
            self.counts["clips_loaded"] += 1
            return AlignedClip.load(path)
        failure = self._failure_path(key)
        if failure.is_file():
            self.counts["clips_loaded"] += 1
            return json.loads(failure.read_text())["reason"]
        return None

    def save_clip(self, key: str, clip: AlignedClip) -> pathlib.Path:
        """Store an aligned clip (atomically); returns its file."""
        path = self._clip_path(key)
        _atomic_write(path, clip.save)
        return path

    def save_failure(self, key: str, reason: str) -> pathlib.Path:
        """Record that a source could not be preprocessed, so a rerun does not retry it."""
        path = self._failure_path(key)
        text = json.dumps({"reason": reason})
        _atomic_write(path, lambda tmp: pathlib.Path(tmp).write_text(text))
        return path

    # -- feature rows ---------------------------------------------------------------------------
    def _feature_path(self, folder: str, key: str) -> pathlib.Path:
        return self.root / "features" / folder / f"{key}.npy"

    def load_features(self, folder: str, key: str):
        """A cached feature row (1D float64 array) or None."""
        path = self._feature_path(folder, key)
        if not path.is_file():
            return None
        self.counts["features_loaded"] += 1
        return np.load(path, allow_pickle=False)

    def save_features(self, folder: str, key: str, row) -> pathlib.Path:
        """Store one feature row (atomically); returns its file."""
        path = self._feature_path(folder, key)
        row = np.asarray(row, dtype=np.float64).ravel()
        _atomic_write(path, lambda tmp: np.save(tmp, row, allow_pickle=False))
        return path

    def load_names(self, folder: str):
        """The cached feature names of an extractor folder, or None."""
        path = self.root / "features" / folder / "names.json"
        return np.asarray(json.loads(path.read_text()), dtype=object) if path.is_file() else None

    def save_names(self, folder: str, names) -> None:
        """Store the feature names of an extractor folder."""
        path = self.root / "features" / folder / "names.json"
        text = json.dumps([str(n) for n in names])
        _atomic_write(path, lambda tmp: pathlib.Path(tmp).write_text(text))
