"""Errors raised by handcrafted_dfer.

Every error names the offending file (or folder) and says what was expected there, so that a
user can act on the message alone. The command line prints the message without a traceback and
exits with status 2.
"""

from __future__ import annotations

import os

__all__ = [
    "DferError",
    "VideoReadError",
    "NoFaceError",
    "DatasetLayoutError",
    "LabelFileError",
    "ModelFileError",
]


class DferError(Exception):
    """Base class of every error this package raises on bad input.

    Parameters
    ----------
    path : str or os.PathLike or None
        The file or folder the problem is about.
    message : str
        What was wrong and what was expected.
    """

    def __init__(self, path: str | os.PathLike | None, message: str):
        self.path = None if path is None else os.fspath(path)
        self.reason = message
        super().__init__(f"{self.path}: {message}" if self.path else message)


class VideoReadError(DferError):
    """A video file or frame folder could not be read (missing, empty, corrupt, truncated)."""


class NoFaceError(DferError):
    """No face was found in a clip (or in too few of its frames to align it)."""


class DatasetLayoutError(DferError):
    """A dataset root does not have the layout its loader expects."""


class LabelFileError(DferError):
    """A label or split file is missing, malformed, or names something unknown."""


class ModelFileError(DferError):
    """A saved model file is unreadable, not a model, or from an incompatible version."""
