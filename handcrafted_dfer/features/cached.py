"""A feature extractor whose rows live in the feature store: caching as a pipeline step.

:class:`CachedExtractor` wraps one extractor (LBPTOP, HOG3D, OpticalFlowFeatures) inside the
``features`` :class:`~sklearn.pipeline.FeatureUnion` of a method's pipeline
(:func:`handcrafted_dfer.pipeline.build_pipeline`). ``transform`` looks every clip up in the
:class:`~handcrafted_dfer.features.store.FeatureStore` by the clip's content key, computes the
missing rows (in parallel, each worker writing its own entries as it finishes, so an interrupted
run resumes) and returns the rows in order. Without a cache folder it simply computes.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.utils.validation import check_is_fitted

from ..parallel import parallel_map
from .store import FeatureStore, StoredClip, StoredClips

__all__ = ["CachedExtractor"]


def _describe(extractor, clip, store_root, folder, key):
    """One clip's row, computed in a worker (and stored when there is a store); ``clip`` may be
    a :class:`~handcrafted_dfer.features.store.StoredClip`, which the worker reads itself."""
    if isinstance(clip, StoredClip):
        clip = clip.load()
    row = extractor.transform([clip])[0]
    if store_root is not None:
        FeatureStore(store_root, tidy=False).save_features(folder, key, row)
    return row


class CachedExtractor(TransformerMixin, BaseEstimator):
    """Rows of ``extractor`` read from and written to a feature store.

    Parameters
    ----------
    extractor : ClipFeatureExtractor
        The feature transformer (its parameters name the store folder).
    cache_dir : str or None
        Feature store root; None computes every row.
    n_jobs : int
        Clips described in parallel.
    backend : str or None
        joblib backend (see :func:`handcrafted_dfer.parallel.parallel_map`).
    progress : bool
        Show a progress bar while rows are computed.

    Attributes
    ----------
    extractor_ : ClipFeatureExtractor
        The fitted copy of ``extractor``.

    Notes
    -----
    A damaged store entry is logged (logger ``handcrafted_dfer.features.store``), deleted and
    recomputed; see :class:`~handcrafted_dfer.features.store.FeatureStore`.
    """

    def __init__(self, extractor, *, cache_dir=None, n_jobs: int = 1, backend=None,
                 progress: bool = False):
        self.extractor = extractor
        self.cache_dir = cache_dir
        self.n_jobs = n_jobs
        self.backend = backend
        self.progress = progress

    def fit(self, X, y=None):
        """Fit a copy of the extractor (it records the clip shape) and return self."""
        self.extractor_ = clone(self.extractor).fit(X)
        return self

    @property
    def name(self) -> str:
        """The extractor's short name (``lbptop``, ``hog3d`` or ``flow``)."""
        return self.extractor.short_name

    def transform(self, X):
        """Feature rows of clips, from the store where possible.

        Parameters
        ----------
        X : sequence of AlignedClip or ndarray of shape (T, H, W)
            Or a :class:`~handcrafted_dfer.features.store.StoredClips`: its clips are then read
            one at a time (by the workers, for the rows that are computed), never all held.

        Returns
        -------
        ndarray of float64, shape (n_clips, n_features)
        """
        check_is_fitted(self, "extractor_")
        clips = X if isinstance(X, StoredClips) else list(X)
        if not len(clips):
            raise ValueError("transform needs at least one clip")
        n_features = len(self.extractor_.get_feature_names_out())
        rows = np.empty((len(clips), n_features))
        store = folder = None
        keys: list = [None] * len(clips)
        todo = list(range(len(clips)))
        if self.cache_dir is not None:
            store = FeatureStore(self.cache_dir)
            folder = store.feature_folder_name(self.name, self.extractor_.get_params())
            todo = []
            for i in range(len(clips)):
                keys[i] = store.content_key(clips[i])
                row = store.load_features(folder, keys[i], n_features=n_features)
                if row is None:
                    todo.append(i)
                else:
                    rows[i] = row
        lazy = isinstance(clips, StoredClips)
        tasks = [(self.extractor_, clips.ref(i) if lazy else clips[i],
                  None if store is None else str(store.root), folder, keys[i]) for i in todo]
        for i, row in zip(todo, parallel_map(_describe, tasks, n_jobs=self.n_jobs,
                                             backend=self.backend, progress=self.progress,
                                             desc=self.name)):
            rows[i] = row
        return rows

    def get_feature_names_out(self, input_features=None):
        """The extractor's feature names (``lbptop/xy/r2c3/t0/b17``, ...)."""
        check_is_fitted(self, "extractor_")
        return self.extractor_.get_feature_names_out()
