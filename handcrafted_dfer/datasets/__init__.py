"""Dataset loaders and evaluation protocols.

:func:`load_dataset` picks a loader by name; each loader lists clips (paths, labels, subjects)
without reading pixels. Loader modules are imported on first use. Class names are canonical
(:mod:`~handcrafted_dfer.datasets.labels`), and
:func:`~handcrafted_dfer.datasets.protocols.check_protocol` checks a dataset against a protocol
from the listing alone.
"""

from __future__ import annotations

import importlib
import os

from ..errors import DatasetLayoutError
from ._options import loader_options, parse_options
from .base import FACE_MODES, Clip, Dataset
from .labels import CANONICAL_LABELS, canonical_label

__all__ = ["Clip", "Dataset", "DATASETS", "FACE_MODES", "CANONICAL_LABELS", "canonical_label",
           "loader", "loader_options", "load_dataset"]

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


def loader(name: str):
    """The loader function of dataset ``name`` (imports its module).

    Raises
    ------
    ValueError
        When ``name`` is not one of :data:`DATASETS`.
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose from {', '.join(DATASETS)}")
    module, function = DATASETS[name]
    return getattr(importlib.import_module(f".{module}", __name__), function)


def load_dataset(name: str, root: str | os.PathLike, /, **options) -> Dataset:
    """Load a dataset by name, with its options checked and converted before any file is read.

    Parameters
    ----------
    name : str
        One of :data:`DATASETS`: ``ckplus``, ``dfew``, ``mafw``, ``ferv39k``, ``folder``,
        ``manifest`` (``root`` is then the CSV file) or ``synthetic``.
    root : str or PathLike
        The folder the user unzipped the dataset into (or the manifest CSV).
    **options
        Keyword options of that loader (e.g. ``include_neutral=True`` for ``ckplus``,
        ``source="video"`` for ``dfew``). Text values are converted to the type the loader
        annotates (``"false"``, ``"False"`` and ``"0"`` are False; see
        :func:`~handcrafted_dfer.datasets._options.parse_options`).

    Returns
    -------
    Dataset
        With at least two classes.

    Raises
    ------
    ValueError
        Unknown dataset, unknown option (the message lists the loader's options), or an option
        value of the wrong type.
    DatasetLayoutError
        The loader's layout errors, and a dataset of fewer than two classes.
    """
    function = loader(name)
    dataset = function(root, **parse_options(function, options, dataset=name))
    if len(dataset.labels) < 2:
        found = (f"only class {dataset.labels[0]!r} ({len(dataset)} clips)" if dataset.labels
                 else "no class")
        raise DatasetLayoutError(dataset.root, f"expected clips of at least 2 classes for "
                                 f"dataset {name!r}; found {found}")
    return dataset
