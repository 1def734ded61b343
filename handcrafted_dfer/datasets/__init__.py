"""Dataset loaders and evaluation protocols.

:func:`load_dataset` picks a loader by name; each loader lists clips (paths, labels, subjects)
without reading pixels. Loader modules are imported on first use.
"""

from __future__ import annotations

import importlib
import os

from .base import Clip, Dataset

__all__ = ["Clip", "Dataset", "DATASETS", "load_dataset"]

#: Dataset names :func:`load_dataset` accepts -> (module, loader function).
DATASETS = {
    "ckplus": ("ckplus", "load_ckplus"),
    "dfew": ("dfew", "load_dfew"),
    "mafw": ("mafw", "load_mafw"),
    "ferv39k": ("ferv39k", "load_ferv39k"),
    "folder": ("folder", "load_folder"),
    "manifest": ("manifest", "load_manifest"),
    "synthetic": ("synthetic", "load_synthetic"),
}


def load_dataset(name: str, root: str | os.PathLike, /, **options) -> Dataset:
    """Load a dataset by name.

    Parameters
    ----------
    name : str
        One of :data:`DATASETS`: ``ckplus``, ``dfew``, ``mafw``, ``ferv39k``, ``folder``,
        ``manifest`` (``root`` is then the CSV file) or ``synthetic``.
    root : str or PathLike
        The folder the user unzipped the dataset into (or the manifest CSV).
    **options
        Keyword options of that loader (e.g. ``include_neutral=True`` for ``ckplus``,
        ``source="video"`` for ``dfew``).

    Returns
    -------
    Dataset
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose from {', '.join(DATASETS)}")
    module, function = DATASETS[name]
    return getattr(importlib.import_module(f".{module}", __name__), function)(root, **options)
