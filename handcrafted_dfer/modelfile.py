"""Model files that never run code on load: the fitted pipeline in ``skops.io`` form.

A model file (``dfer train --model MODEL.skops``) is a skops archive (a zip) of one dictionary::

    {"format": "handcrafted_dfer-model", "format_version": 2,
     "metadata": "<JSON text>", "pipeline": <the fitted Pipeline of pipeline.build_pipeline>}

``metadata`` holds the label names, the preprocessing, the resolved method spec (every parameter of
every step), the training set and the package versions.

**What loading can and cannot do.** :func:`load_model` reads the archive with ``skops.io.load`` and
an explicit list of trusted types (:data:`TRUSTED_TYPES`: NumPy arrays, the scikit-learn estimators
skops trusts by default, and this package's own steps). Any other type in the file is refused with
a :class:`~handcrafted_dfer.errors.ModelFileError` that names it, before anything is built: no
pickle is ever unpickled, so nothing in the file can run. The decision trees of a random forest are
checked after loading (every child and feature index in range), because a crafted tree could
otherwise make ``predict`` read out of bounds. The 3D CNN's weights are a ``state_dict`` loaded
with ``torch.load(..., weights_only=True)``. A damaged file (truncated, bytes flipped, a part
missing) is a ``ModelFileError`` too, never a traceback.

Model files of handcrafted_dfer 0.1 were joblib pickles; they are refused (loading one could run
code), with a message that says how to retrain.
"""

from __future__ import annotations

import json
import os
import pathlib
import platform
import zipfile
from dataclasses import dataclass

import numpy as np

from . import __version__
from .cache import write_result
from .config import PreprocessConfig
from .errors import ModelFileError

__all__ = ["FORMAT", "FORMAT_VERSION", "TRUSTED_TYPES", "TrainedModel", "save_model",
           "load_model", "package_versions"]

#: Marker stored in every model file.
FORMAT = "handcrafted_dfer-model"
#: Version of the model file layout; a file with another version is refused.
FORMAT_VERSION = 2

#: Types a model file may hold beyond those skops trusts by default (explicit, reviewed list).
TRUSTED_TYPES = (
    "handcrafted_dfer.classify.HistogramNormalizer",
    "handcrafted_dfer.classify.SubjectSearchClassifier",
    "handcrafted_dfer.classify.rbf_kernel_scaled",
    "handcrafted_dfer.features.cached.CachedExtractor",
    "handcrafted_dfer.features.lbptop.LBPTOP",
    "handcrafted_dfer.features.hog3d.HOG3D",
    "handcrafted_dfer.features.flow.OpticalFlowFeatures",
    "handcrafted_dfer.deep.train.C3DClassifier",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.metrics.pairwise.linear_kernel",
    "sklearn.tree._tree.Tree",  # checked after loading, see _check_trees
)

_RETRAIN = "retrain it with `dfer train`"


def package_versions() -> dict:
    """Versions of Python and of the packages a fitted pipeline depends on."""
    import numba
    import skops
    import sklearn

    return {"handcrafted_dfer": __version__, "python": platform.python_version(),
            "numpy": np.__version__, "scikit-learn": sklearn.__version__,
            "skops": skops.__version__, "numba": numba.__version__}


@dataclass(frozen=True)
class TrainedModel:
    """A fitted method pipeline and what it needs to describe new videos.

    Parameters
    ----------
    pipeline : sklearn.pipeline.Pipeline
        Fitted on aligned clips; ``classes_`` are indices into ``labels``.
    labels : tuple of str
        Class names of the training dataset.
    config : PreprocessConfig
        How videos were turned into aligned clips.
    metadata : dict
        Everything stored in the file (the spec, its resolved settings, the training set,
        versions).
    """

    pipeline: object
    labels: tuple
    config: PreprocessConfig
    metadata: dict

    @property
    def class_names(self) -> list[str]:
        """Label names in the order of the columns of ``pipeline.predict_proba``."""
        return [self.labels[int(c)] for c in self.pipeline.classes_]

    @property
    def method(self) -> str:
        """The method spec the pipeline was built from (``lbptop-linear-svm``)."""
        return self.metadata["method"]


def save_model(path: str | os.PathLike, pipeline, *, labels, config: PreprocessConfig,
               metadata: dict | None = None) -> pathlib.Path:
    """Write a fitted pipeline and its metadata to ``path`` (atomically).

    Parameters
    ----------
    path : str or Path
        The model file (its folder must exist).
    pipeline : Pipeline
        Fitted; run options should already be reset
        (:func:`~handcrafted_dfer.pipeline.without_run_options`).
    labels : sequence of str
    config : PreprocessConfig
    metadata : dict, optional
        Extra JSON-ready facts (method, resolved settings, training set, ...).

    Returns
    -------
    Path

    Raises
    ------
    DferError
        The file cannot be written; the model is then saved in the temporary folder and the
        message says where.
    """
    import dataclasses

    import skops.io as sio

    meta = dict(metadata or {})
    meta.update({"labels": [str(label) for label in labels],
                 "preprocess": dataclasses.asdict(config), "versions": package_versions()})
    blob = sio.dumps({"format": FORMAT, "format_version": FORMAT_VERSION,
                      "metadata": json.dumps(meta), "pipeline": pipeline})
    return write_result(path, blob, what="the model file")


def _legacy_or_foreign(path: pathlib.Path, head: bytes) -> ModelFileError:
    if head[:1] == b"\x80" or head[:1] in (b"x", b"\x1f") or head[:3] == b"BZh":
        return ModelFileError(path, "this looks like a model file of handcrafted_dfer 0.1 (a "
                                    "joblib pickle); pickles can run code when loaded, so this "
                                    f"version refuses them: {_RETRAIN} (it writes a safe skops "
                                    "file)")
    return ModelFileError(path, "not a model file (not a zip archive); expected a file written by "
                                "`dfer train`")


def _check_trees(pipeline, path) -> None:
    """Refuse random-forest trees whose node arrays point outside themselves."""
    search = pipeline.steps[-1][1]
    model = getattr(search, "best_estimator_", None)
    forest = model.steps[-1][1] if hasattr(model, "steps") else None
    for tree in getattr(forest, "estimators_", []):
        t = tree.tree_
        n = t.node_count
        left, right, feature = t.children_left, t.children_right, t.feature
        leaf = left == -1
        ok = (len(left) == len(right) == len(feature) == n and np.all(leaf == (right == -1))
              and np.all((left[~leaf] > 0) & (left[~leaf] < n))
              and np.all((right[~leaf] > 0) & (right[~leaf] < n))
              and np.all((feature[~leaf] >= 0) & (feature[~leaf] < forest.n_features_in_))
              and t.value.shape[0] == n)
        if not ok:
            raise ModelFileError(path, f"a decision tree of the forest has node indices out of "
                                       f"range: the file is damaged or crafted; {_RETRAIN}")


def load_model(path: str | os.PathLike) -> TrainedModel:
    """Read a file written by :func:`save_model` (see the module docstring for what it trusts).

    Raises
    ------
    ModelFileError
        The file is missing, damaged, not a handcrafted_dfer model, of another format version,
        a 0.1 pickle, or holds a type outside :data:`TRUSTED_TYPES` (named in the message).
    """
    import skops.io as sio

    path = pathlib.Path(path)
    if not path.is_file():
        raise ModelFileError(path, "model file not found; expected a file written by `dfer train`")
    try:
        blob = path.read_bytes()
    except OSError as exc:
        raise ModelFileError(path, f"cannot read the model file: {exc.strerror}") from exc
    if not blob.startswith(b"PK"):
        raise _legacy_or_foreign(path, blob[:4])
    try:
        untrusted = sio.get_untrusted_types(data=blob)
    except Exception as exc:  # a damaged archive: zipfile, json and skops raise many types
        raise ModelFileError(path, f"the model file is damaged ({type(exc).__name__}: {exc}); "
                                   f"{_RETRAIN}") from exc
    refused = sorted(set(untrusted) - set(TRUSTED_TYPES))
    if refused:
        raise ModelFileError(path, f"refused: the file holds types that are not trusted "
                                   f"({', '.join(refused)}); a handcrafted_dfer model holds only "
                                   f"its pipeline's own types. Nothing was loaded.")
    try:
        content = sio.loads(blob, trusted=list(TRUSTED_TYPES))
    except (zipfile.BadZipFile, Exception) as exc:
        raise ModelFileError(path, f"the model file is damaged ({type(exc).__name__}: {exc}); "
                                   f"{_RETRAIN}") from exc
    if not isinstance(content, dict) or content.get("format") != FORMAT:
        raise ModelFileError(path, "not a handcrafted_dfer model file (no format marker); "
                                   "expected a file written by `dfer train`")
    version = content.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelFileError(path, f"model file format version {version!r}, but this version of "
                                   f"handcrafted_dfer ({__version__}) reads version "
                                   f"{FORMAT_VERSION}; {_RETRAIN}")
    try:
        meta = json.loads(content["metadata"])
        pipeline = content["pipeline"]
        labels = tuple(str(label) for label in meta["labels"])
        config = PreprocessConfig(**meta["preprocess"])
        classes = np.asarray(pipeline.classes_)
        if not hasattr(pipeline, "predict_proba") or not hasattr(pipeline, "steps"):
            raise TypeError(f"expected a fitted Pipeline, found {type(pipeline).__name__}")
        if classes.ndim != 1 or not np.issubdtype(classes.dtype, np.integer) or (
                classes.size and (classes.min() < 0 or classes.max() >= len(labels))):
            raise ValueError(f"classes {classes.tolist()} do not index the {len(labels)} labels")
        if "method" not in meta:
            raise KeyError("method")
    except ModelFileError:
        raise
    except Exception as exc:
        raise ModelFileError(path, f"the model file is incomplete or inconsistent "
                                   f"({type(exc).__name__}: {exc}); {_RETRAIN}") from exc
    _check_trees(pipeline, path)
    return TrainedModel(pipeline=pipeline, labels=labels, config=config, metadata=meta)
