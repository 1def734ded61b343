"""Dataset loaders and evaluation protocols."""

from .base import Clip, Dataset

__all__ = ["Clip", "Dataset"]
