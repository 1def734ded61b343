"""Common scikit-learn transformer behaviour of the clip feature extractors."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from ._validation import as_volume

__all__ = ["ClipFeatureExtractor"]

#: Feature names already built, by extractor class, parameters and clip shape (a transform
#: needs their number for every batch of windows, and a name list has some 10,000 entries).
_NAMES: dict = {}
_NAMES_KEPT = 32


class ClipFeatureExtractor(TransformerMixin, BaseEstimator):
    """Base of LBPTOP, HOG3D and OpticalFlowFeatures.

    ``fit`` learns nothing; ``transform`` maps a sequence of clips (each an
    :class:`~handcrafted_dfer.clip.AlignedClip` or a ``[T, H, W]`` array) to a 2D float array, one
    row per clip. Subclasses set :attr:`short_name` and implement ``_describe(volume) -> ndarray``
    (any shape, flattened in C order) and ``_feature_names(volume_shape) -> list[str]`` in the
    same order, and take a ``mirror`` parameter: when it is True, a clip's row is the mean of the
    rows of the clip and of its left-right mirror image, so that an expression and its mirror
    image (a smirk on either side) get the same descriptor; a block's value then also holds its
    mirror block's.
    """

    #: Name on the command line and in method specs (``lbptop``, ``hog3d``, ``flow``).
    short_name: str = ""

    def fit(self, X, y=None):
        """Record the shape of the first clip (so feature names are known) and return self."""
        first = next(iter(X), None)  # one clip (X may be read lazily from a store)
        if first is None:
            raise ValueError("fit needs at least one clip")
        shape = tuple(as_volume(first).shape)
        self.feature_names_for(shape)  # checks the parameters and the grid against the clips
        self.volume_shape_ = shape
        return self

    def transform(self, X):
        """Describe each clip.

        Parameters
        ----------
        X : sequence of AlignedClip or ndarray of shape (T, H, W)

        Returns
        -------
        ndarray of float64, shape (n_clips, n_features)
        """
        rows = [self._row(as_volume(x)) for x in X]
        if not rows:
            raise ValueError("transform needs at least one clip")
        return np.vstack(rows)

    def _row(self, volume) -> np.ndarray:
        if not self.mirror:
            return np.asarray(self._describe(volume), dtype=np.float64).ravel()
        row, mirrored = (np.asarray(d, dtype=np.float64).ravel()
                         for d in self._describe_with_mirror(volume))
        return (row + mirrored) / 2

    def _describe_with_mirror(self, volume) -> tuple:
        """``_describe`` of the clip and of its left-right mirror image (a subclass may derive
        the second from the first)."""
        return self._describe(volume), self._describe(volume[:, :, ::-1])

    def get_feature_names_out(self, input_features=None):
        """Readable feature names such as ``lbptop/xy/r2c3/t0/b17`` (see GUIDE §3)."""
        shape = getattr(self, "volume_shape_", None)
        if shape is None:
            raise ValueError(f"{type(self).__name__} must be fitted before its feature names "
                             "are known")
        return self.feature_names_for(shape)

    def feature_names_for(self, volume_shape) -> np.ndarray:
        """The feature names of clips of shape ``(T, H, W)``, without fitting.

        Raises
        ------
        ValueError
            If a parameter is invalid or the grid does not fit clips of that shape.
        """
        shape = tuple(int(n) for n in volume_shape)
        key = (type(self), repr(sorted(self.get_params().items())), shape)
        names = _NAMES.get(key)
        if names is None:
            names = np.asarray(self._feature_names(shape), dtype=object)
            if len(_NAMES) >= _NAMES_KEPT:
                _NAMES.clear()
            _NAMES[key] = names
        return names.copy()

    def _describe(self, volume):  # pragma: no cover - abstract
        raise NotImplementedError

    def _feature_names(self, volume_shape):  # pragma: no cover - abstract
        raise NotImplementedError
