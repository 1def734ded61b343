"""Locate and load the dlib face detector and landmark models.

The 68-point shape predictor ships in the PyPI package ``face-recognition-models``; it is
trained on iBUG 300-W, which is licensed for research use only. The package's own ``__init__``
imports ``pkg_resources`` (gone from recent setuptools), so the model folder is found through the
import system without importing the package.
"""

from __future__ import annotations

import functools
import importlib.util
import os

from ..errors import ModelFileError

__all__ = ["landmark_model_path", "load_detector", "load_shape_predictor"]


def landmark_model_path(points: int = 68) -> str:
    """Path of the dlib shape-predictor file with ``points`` landmarks (68 or 5).

    Raises
    ------
    ModelFileError
        If ``face-recognition-models`` is not installed or lacks the file.
    """
    name = {68: "shape_predictor_68_face_landmarks.dat",
            5: "shape_predictor_5_face_landmarks.dat"}[points]
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ModelFileError(
            name, "the landmark model comes from the package face-recognition-models; "
            "pip install it"
        )
    path = os.path.join(list(spec.submodule_search_locations)[0], "models", name)
    if not os.path.isfile(path):
        raise ModelFileError(path, "expected the dlib landmark model file here")
    return path


@functools.lru_cache(maxsize=None)
def load_detector():
    """The dlib HOG frontal face detector (built into dlib, cached per process)."""
    import dlib

    return dlib.get_frontal_face_detector()


@functools.lru_cache(maxsize=None)
def load_shape_predictor(points: int = 68):
    """The dlib shape predictor with ``points`` landmarks (cached per process).

    Raises
    ------
    ModelFileError
        If the model file is missing or dlib cannot read it.
    """
    import dlib

    path = landmark_model_path(points)
    try:
        return dlib.shape_predictor(path)
    except RuntimeError as exc:
        raise ModelFileError(path, f"dlib could not read this shape predictor: {exc}") from exc
