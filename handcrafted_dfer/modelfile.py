"""Saving and loading a trained pipeline (features + classifier) with everything needed to use it.

A model file is a joblib pickle of a dict::

    {"format": "handcrafted_dfer-model", "format_version": 1,
     "estimator": <fitted classifier>, "metadata": {...}}

``metadata`` holds the label names, the :class:`~handcrafted_dfer.config.PreprocessConfig`
fields, the feature extractor names and parameters, the feature names, the classifier name and its
selected hyper-parameters, and the versions of the packages that produced it.

Loading unpickles the file, which can run code: load only model files you trust.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import pickle
import platform
from dataclasses import dataclass

import joblib
import numpy as np

from . import __version__
from .config import PreprocessConfig
from .errors import ModelFileError

__all__ = ["FORMAT", "FORMAT_VERSION", "TrainedModel", "save_model", "load_model",
           "package_versions"]

#: Marker stored in every model file.
FORMAT = "handcrafted_dfer-model"
#: Version of the model file layout; a file with another version is refused.
FORMAT_VERSION = 1


def package_versions() -> dict:
    """Versions of Python and of the packages a fitted pipeline depends on."""
    import numba
    import sklearn

    return {"handcrafted_dfer": __version__, "python": platform.python_version(),
            "numpy": np.__version__, "scikit-learn": sklearn.__version__,
            "joblib": joblib.__version__, "numba": numba.__version__}


@dataclass(frozen=True)
class TrainedModel:
    """A fitted classifier and what it needs to describe new clips.

    Parameters
    ----------
    estimator : scikit-learn classifier
        Fitted on feature rows; ``classes_`` are indices into ``labels``.
    labels : tuple of str
        Class names of the training dataset.
    config : PreprocessConfig
        How videos were turned into aligned clips.
    features : tuple of str
        Extractor names (``lbptop``, ``hog3d``, ``flow``), concatenated in this order.
    feature_params : dict
        ``{extractor name: constructor parameters}``.
    metadata : dict
        Everything stored in the file (also the above, in plain form).
    """

    estimator: object
    labels: tuple
    config: PreprocessConfig
    features: tuple
    feature_params: dict
    metadata: dict

    @property
    def class_names(self) -> list[str]:
        """Label names in the order of the columns of ``estimator.predict_proba``."""
        return [self.labels[int(c)] for c in self.estimator.classes_]


def save_model(path: str | os.PathLike, estimator, *, labels, config: PreprocessConfig,
               features, feature_params: dict, metadata: dict | None = None) -> pathlib.Path:
    """Write a fitted pipeline and its metadata to ``path`` (joblib, compressed).

    Parameters
    ----------
    path : str or Path
    estimator : fitted classifier
    labels : sequence of str
    config : PreprocessConfig
    features : sequence of str
    feature_params : dict
    metadata : dict, optional
        Extra JSON-ready facts (classifier name, training set, chosen hyper-parameters, ...).

    Returns
    -------
    Path
    """
    path = pathlib.Path(path)
    meta = dict(metadata or {})
    meta.update({
        "labels": [str(label) for label in labels],
        "preprocess": dataclasses.asdict(config),
        "features": [str(f) for f in features],
        "feature_params": {str(k): dict(v) for k, v in feature_params.items()},
        "versions": package_versions(),
    })
    if path.parent != pathlib.Path(""):
        path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump({"format": FORMAT, "format_version": FORMAT_VERSION, "estimator": estimator,
                 "metadata": meta}, path, compress=3)
    return path


def load_model(path: str | os.PathLike) -> TrainedModel:
    """Read a file written by :func:`save_model`.

    Raises
    ------
    ModelFileError
        The file is missing, is not a joblib/pickle file, is not a handcrafted_dfer model, or has
        another format version.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise ModelFileError(path, "model file not found; expected a file written by `dfer train`")
    try:
        content = joblib.load(path)
    except (pickle.UnpicklingError, EOFError, ValueError, KeyError, IndexError, TypeError,
            AttributeError, ModuleNotFoundError, OSError) as exc:
        raise ModelFileError(path, f"not a model file (could not unpickle it: "
                                   f"{type(exc).__name__}: {exc}); expected a file written by "
                                   f"`dfer train`") from exc
    if not isinstance(content, dict) or content.get("format") != FORMAT:
        raise ModelFileError(path, "not a handcrafted_dfer model file (no format marker); "
                                   "expected a file written by `dfer train`")
    version = content.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelFileError(path, f"model file format version {version!r}, but this version of "
                                   f"handcrafted_dfer ({__version__}) reads version "
                                   f"{FORMAT_VERSION}; retrain it with `dfer train`")
    meta = content["metadata"]
    try:
        return TrainedModel(
            estimator=content["estimator"],
            labels=tuple(meta["labels"]),
            config=PreprocessConfig(**meta["preprocess"]),
            features=tuple(meta["features"]),
            feature_params=dict(meta["feature_params"]),
            metadata=meta,
        )
    except (KeyError, TypeError) as exc:
        raise ModelFileError(path, f"model metadata incomplete ({exc}); retrain it with "
                                   f"`dfer train`") from exc
