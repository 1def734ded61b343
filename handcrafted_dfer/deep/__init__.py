"""Deep baseline: a compact C3D-style 3D CNN trained on the same aligned clips and folds.

Needs the optional ``deep`` extra (``pip install handcrafted_dfer[deep]``, i.e. torch). Importing
this package never imports torch: :func:`available` tries it, and the public names below are
resolved on first use (an ``ImportError`` saying how to install the extra when torch is missing).
torchvision is not needed (and ``r3d_18`` is not offered): the network is defined here.
"""

from __future__ import annotations

import importlib

__all__ = ["available", "C3DClassifier", "C3DNet", "DEFAULT_WIDTHS", "INSTALL_HINT"]

#: What to tell a user whose environment lacks torch.
INSTALL_HINT = "install handcrafted_dfer[deep]"

_LOCATIONS = {"C3DClassifier": "train", "C3DNet": "model", "DEFAULT_WIDTHS": "model"}


def available() -> bool:
    """Whether torch can be imported (the ``deep`` extra is installed)."""
    try:
        importlib.import_module("torch")
    except ImportError:
        return False
    return True


def __getattr__(name):
    if name in _LOCATIONS:
        if not available():
            raise ImportError(f"handcrafted_dfer.deep.{name} needs torch: {INSTALL_HINT}")
        return getattr(importlib.import_module(f".{_LOCATIONS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
