"""Handcrafted spatio-temporal descriptors: LBP-TOP, 3D-HOG, and optical-flow histograms.

Public names are resolved lazily so that importing this package does not compile Numba kernels.
"""

from __future__ import annotations

import importlib

__all__ = [
    "LBPTOP",
    "HOG3D",
    "OpticalFlowFeatures",
    "lbptop_histograms",
    "hog3d_histograms",
    "flow_histograms",
    "EXTRACTORS",
    "make_extractor",
]

_LOCATIONS = {
    "LBPTOP": "lbptop",
    "lbptop_histograms": "lbptop",
    "HOG3D": "hog3d",
    "hog3d_histograms": "hog3d",
    "OpticalFlowFeatures": "flow",
    "flow_histograms": "flow",
}

#: Extractor short names (as used on the command line) and their transformer classes.
EXTRACTORS = {"lbptop": "LBPTOP", "hog3d": "HOG3D", "flow": "OpticalFlowFeatures"}


def __getattr__(name):
    if name in _LOCATIONS:
        return getattr(importlib.import_module(f".{_LOCATIONS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def make_extractor(name: str, **params):
    """A feature transformer by short name (``lbptop``, ``hog3d`` or ``flow``).

    Parameters
    ----------
    name : str
        One of :data:`EXTRACTORS`.
    **params
        Passed to the transformer's constructor.
    """
    if name not in EXTRACTORS:
        raise ValueError(f"unknown feature extractor {name!r}; choose from {', '.join(EXTRACTORS)}")
    return __getattr__(EXTRACTORS[name])(**params)
