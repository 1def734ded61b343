"""handcrafted_dfer: dynamic facial expression recognition with handcrafted features on a CPU."""

from .clip import AlignedClip
from .config import PreprocessConfig
from .errors import DferError

__version__ = "0.1.0"

__all__ = ["AlignedClip", "PreprocessConfig", "DferError", "__version__"]
