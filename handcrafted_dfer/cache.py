"""The one cache-key function and the one atomic writer of the package.

Every cache entry (aligned clips and feature rows in the feature store, 3D-CNN checkpoints, the
synthetic set's manifest) is named by :func:`cache_key` and written by :func:`atomic_write`.

* :func:`cache_key` hashes a canonical JSON form of its arguments: dictionaries with sorted keys,
  tuples as lists, dataclasses as their fields plus their class name, paths as strings, NumPy
  scalars as Python numbers, and NumPy arrays by their dtype, shape and **bytes** (never by their
  ``repr``, which elides the middle of large arrays).
* :func:`atomic_write` writes to a uniquely named temporary file in the target's folder and renames
  it into place, so a reader sees a whole entry or none, two writers never share a temporary file,
  and a killed run leaves at worst a stale temporary file (:func:`remove_stale_temporaries`
  clears them). A temporary file's name holds its writer's host and process id
  (``.tmp-<stem>.<host>.<pid>.<random><suffix>``), so the temporary files of a writer that is
  known to be dead (a ``kill -9`` of an earlier run on this host) are removed at once, and those of
  another host's writers after an hour. Files get the permissions the process's umask gives new
  files (not the owner-only mode of :func:`tempfile.mkstemp`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pathlib
import re
import socket
import tempfile
import time

import numpy as np

__all__ = ["cache_key", "atomic_write", "write_result", "default_cache_dir",
           "remove_stale_temporaries", "TEMPORARY_PREFIX"]

#: Temporary files of :func:`atomic_write` start with this (then the target's name).
TEMPORARY_PREFIX = ".tmp-"


def _canonical(value):
    """A JSON-ready form of ``value`` in which equal values have equal text."""
    if isinstance(value, np.ndarray):
        array = np.ascontiguousarray(value)
        digest = hashlib.sha256(array.tobytes()).hexdigest()
        return {"__ndarray__": [array.dtype.str, list(array.shape), digest]}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: _canonical(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"__class__": type(value).__name__, **fields}
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cache_key cannot hash a {type(value).__name__}: {value!r}")


def cache_key(*parts, length: int = 24) -> str:
    """Hexadecimal SHA-256 of the canonical JSON form of ``parts``.

    Parameters
    ----------
    *parts
        JSON-like values, dataclasses, paths and NumPy arrays (hashed by their bytes).
    length : int
        Hexadecimal digits kept (at most 64).

    Returns
    -------
    str

    Raises
    ------
    TypeError
        For a value with no canonical form (e.g. an arbitrary object).
    """
    text = json.dumps(_canonical(list(parts)), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def atomic_write(path: str | os.PathLike, write) -> pathlib.Path:
    """Call ``write(temporary_path)``, then move the temporary file to ``path``.

    Parameters
    ----------
    path : str or Path
        The file to (re)place; its folder is created when missing.
    write : callable
        Writes the whole content to the path it is given (a ``str`` with the same suffix as
        ``path``, so that writers that add a missing suffix, like :func:`numpy.savez`, keep it).
        The file exists and is empty when it is called.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=path.suffix,
                               prefix=f"{TEMPORARY_PREFIX}{path.stem}.{_host()}.{os.getpid()}.")
    os.close(fd)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def write_result(path: str | os.PathLike, data: bytes, *, what: str) -> pathlib.Path:
    """Write a run's result (a report, a model file, prediction windows) atomically; if that
    fails, save it to a new file in the system's temporary folder so that the result is not lost.

    Parameters
    ----------
    path : str or Path
    data : bytes
    what : str
        What the file is, for the message (``"the report"``).

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    DferError
        The file cannot be written (an ``OSError``); the message names the copy
        (``dfer-<stem>-<random><suffix>`` in the temporary folder), or says that it could not
        be saved there either.
    """
    from .errors import DferError

    try:
        return atomic_write(path, lambda tmp: pathlib.Path(tmp).write_bytes(data))
    except OSError as exc:
        name = pathlib.Path(path)
        try:
            fd, copy = tempfile.mkstemp(prefix=f"dfer-{name.stem}-", suffix=name.suffix)
            with os.fdopen(fd, "wb") as file:
                file.write(data)
            saved = f"it was saved to {copy} instead"
        except OSError:
            saved = "it could not be saved in the temporary folder either"
        raise DferError(exc.filename or path, f"could not write {what} "
                        f"({exc.strerror or exc}); {saved}") from exc


#: ``.<host>.<pid>.<mkstemp's 8 random characters><suffix>`` at the end of a temporary file's name.
_WRITER = re.compile(r"\.(?P<host>[^.]+)\.(?P<pid>\d+)\.[a-z0-9_]{8}(\.[^.]*)?$")


def _host() -> str:
    """This host's name as it appears in temporary file names (no dots)."""
    return socket.gethostname().replace(".", "_") or "host"


def _writer_is_dead(name: str) -> bool:
    """True when a temporary file's name says it was written on this host by a process that no
    longer exists."""
    match = _WRITER.search(name)
    if match is None or match["host"] != _host():
        return False  # another host's writer, or a name without a writer
    pid = int(match["pid"])
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # it exists (owned by another user)
        return False
    return False


def remove_stale_temporaries(folder: str | os.PathLike, *, older_than_s: float = 3600.0) -> int:
    """Delete temporary files of :func:`atomic_write` left under ``folder`` by killed runs.

    A file whose name starts with :data:`TEMPORARY_PREFIX` is removed when its writer is known to
    be dead (it ran on this host and its process id no longer exists) or when it was last
    modified more than ``older_than_s`` seconds ago (a writer on another host sharing the folder
    may still be writing a younger one).

    Returns
    -------
    int
        Files removed.
    """
    folder = pathlib.Path(folder)
    if not folder.is_dir():
        return 0
    cutoff = time.time() - older_than_s
    removed = 0
    for path in folder.rglob(f"{TEMPORARY_PREFIX}*"):
        try:
            if path.is_file() and (_writer_is_dead(path.name) or path.stat().st_mtime < cutoff):
                path.unlink()
                removed += 1
        except OSError:  # removed meanwhile by another run
            continue
    return removed


def default_cache_dir() -> pathlib.Path:
    """``$XDG_CACHE_HOME/handcrafted_dfer``, or ``~/.cache/handcrafted_dfer``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return pathlib.Path(base) / "handcrafted_dfer"
