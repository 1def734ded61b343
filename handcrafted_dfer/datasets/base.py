"""The records every dataset loader returns: :class:`Clip` and :class:`Dataset`."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..config import PreprocessConfig

__all__ = ["FACE_MODES", "Clip", "Dataset"]

#: What a dataset's frames can be declared to be (``Dataset.faces``): whole scenes in which faces
#: are detected, face crops, or aligned faces (the values of ``PreprocessConfig.faces``).
FACE_MODES = PreprocessConfig.FACE_MODES


@dataclass(frozen=True)
class Clip:
    """One labelled clip on disk; loaders never read its pixels.

    Parameters
    ----------
    id : str
        Identifier unique within the dataset (e.g. ``S005_001`` or ``00025``).
    path : str
        A video file or a folder of frames. For a clip made of some of the image files of a
        folder (``folder`` loader with ``clip_pattern``), ``<that folder>/<clip name>``, which does
        not exist: its files are ``extra["files"]``. Read a clip through :attr:`source`.
    label : str
        Class name, one of the dataset's ``labels``.
    label_index : int
        Position of ``label`` in the dataset's ``labels``.
    subject : str or None
        Subject (person) identifier when the dataset knows it.
    dataset : str
        Name of the dataset it came from.
    extra : dict
        Dataset-specific fields: ``scene`` (FERV39k); ``frames``, a half-open range of frame
        positions within the source (CK+ neutral samples); ``files``, the clip's image files in
        frame order (a tuple of paths), when the clip is a set of files rather than a whole
        video or folder.
    """

    id: str
    path: str
    label: str
    label_index: int
    subject: str | None
    dataset: str
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def source(self) -> str | list[str]:
        """What :func:`handcrafted_dfer.video.open_video` reads: the image files of
        ``extra["files"]`` (a list) when there are some, else ``path``."""
        files = self.extra.get("files")
        return list(files) if files else self.path


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
    faces : {"detect", "cropped", "aligned"} or None
        What the loader declares its frames to be: whole scenes in which to detect faces, face
        crops, or aligned faces to use as they are; None when it does not say.
    """

    name: str
    root: str
    clips: list
    labels: tuple
    official_folds: list | None = None
    faces: str | None = None

    def __post_init__(self):
        if self.faces is not None and self.faces not in FACE_MODES:
            raise ValueError(f"faces must be one of {', '.join(FACE_MODES)} or None, "
                             f"got {self.faces!r}")

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
        return Dataset(self.name, self.root, [self.clips[i] for i in indices], self.labels, None,
                       self.faces)

    def with_labels(self, labels) -> "Dataset":
        """The clips of the classes in ``labels``, indexed by that order.

        Official folds keep the kept clips (renumbered). Cross-dataset evaluation uses it with
        :func:`~handcrafted_dfer.datasets.labels.common_labels`.

        Raises
        ------
        ValueError
            When a name in ``labels`` is not a class of this dataset, or one is repeated.
        """
        labels = tuple(labels)
        unknown = [c for c in labels if c not in self.labels]
        if unknown or len(set(labels)) != len(labels):
            raise ValueError(f"labels must be distinct classes of dataset {self.name!r} "
                             f"({', '.join(self.labels)}); got {', '.join(labels)}")
        position = {c: k for k, c in enumerate(labels)}
        kept = np.array([k for k, c in enumerate(self.clips) if c.label in position],
                        dtype=np.int64)
        clips = [replace(self.clips[k], label_index=position[self.clips[k].label])
                 for k in kept]
        folds = None
        if self.official_folds is not None:
            new = np.full(len(self.clips), -1, dtype=np.int64)
            new[kept] = np.arange(len(kept))
            folds = [tuple(new[side][new[side] >= 0] for side in fold)
                     for fold in self.official_folds]
        return Dataset(self.name, self.root, clips, labels, folds, self.faces)
