"""The records every dataset loader returns: :class:`Clip` and :class:`Dataset`."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Clip", "Dataset"]


@dataclass(frozen=True)
class Clip:
    """One labelled clip on disk; loaders never read its pixels.

    Parameters
    ----------
    id : str
        Identifier unique within the dataset (e.g. ``S005_001`` or ``00025``).
    path : str
        A video file or a folder of frames.
    label : str
        Class name, one of the dataset's ``labels``.
    label_index : int
        Position of ``label`` in the dataset's ``labels``.
    subject : str or None
        Subject (person) identifier when the dataset knows it.
    dataset : str
        Name of the dataset it came from.
    extra : dict
        Dataset-specific fields (e.g. ``scene`` for FERV39k, ``frames`` for a frame subset).
    """

    id: str
    path: str
    label: str
    label_index: int
    subject: str | None
    dataset: str
    extra: dict = field(default_factory=dict, compare=False, hash=False)


@dataclass
class Dataset:
    """A list of clips, the class names in a fixed order, and the dataset's protocols.

    Parameters
    ----------
    name : str
        Dataset name (``ckplus``, ``dfew``, ...).
    root : str
        Folder the user pointed the loader at.
    clips : list of Clip
    labels : tuple of str
        Class names; ``clip.label_index`` indexes this tuple.
    official_folds : list of (ndarray, ndarray) or None
        Train and test clip indices of the dataset's official protocol, when it has one.
    """

    name: str
    root: str
    clips: list
    labels: tuple
    official_folds: list | None = None

    def __len__(self) -> int:
        return len(self.clips)

    @property
    def y(self) -> np.ndarray:
        """Label indices of all clips, shape (n_clips,)."""
        return np.array([c.label_index for c in self.clips], dtype=np.int64)

    @property
    def subjects(self) -> np.ndarray:
        """Subject ids of all clips (object array; ``None`` where unknown)."""
        return np.array([c.subject for c in self.clips], dtype=object)

    def subset(self, indices) -> "Dataset":
        """A dataset of the clips at ``indices`` (labels kept; official folds dropped)."""
        return Dataset(self.name, self.root, [self.clips[i] for i in indices], self.labels, None)
