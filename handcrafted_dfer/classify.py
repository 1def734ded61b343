"""Classifier pipelines for clip descriptors, with a subject-grouped inner hyper-parameter search.

A pipeline is ``histogram normalisation -> [StandardScaler] -> [PCA] -> classifier``, wrapped in
:class:`SubjectSearchClassifier`, which picks hyper-parameters by a grid search over folds of the
*training* clips only, grouped by subject when subjects are given, and refits on all of them.
Nothing about a test subject reaches model selection: the outer protocol hands the wrapper its
training rows and their subjects, and the wrapper never sees anything else.

Linear SVMs (``linear-svm``, ``chi2-svm``) are libsvm SVMs whose linear kernel is computed by
scikit-learn's :func:`~sklearn.metrics.pairwise.linear_kernel` (one matrix product) and handed to
libsvm as a precomputed Gram matrix. The model is the same as ``SVC(kernel="linear")``, but
libsvm's own linear kernel evaluates every entry with a separate BLAS ``ddot`` call, which
OpenBLAS runs multi-threaded above 10,000 features: on a busy machine each call then waits for
its threads, and a fit on 42 clips of 16,992 χ²-mapped features took 25 s instead of 0.5 s.

SVM probabilities come from Platt scaling (``CalibratedClassifierCV(..., ensemble=False)``, as
scikit-learn recommends since it deprecated ``SVC(probability=True)``), fitted on folds of the same
training clips.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.decomposition import PCA
from sklearn.ensemble import RandomForestClassifier
from sklearn.kernel_approximation import AdditiveChi2Sampler
from sklearn.metrics.pairwise import linear_kernel
from sklearn.model_selection import (GridSearchCV, ParameterGrid, StratifiedGroupKFold,
                                     StratifiedKFold)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.utils.validation import check_is_fitted

__all__ = [
    "CLASSIFIERS",
    "NORMALISATIONS",
    "HistogramNormalizer",
    "SubjectSearchClassifier",
    "histogram_segments",
    "make_classifier",
]

#: Classifier short names accepted by :func:`make_classifier` (and ``dfer --classifier``).
CLASSIFIERS = ("svm", "linear-svm", "chi2-svm", "rf")
#: Histogram normalisations accepted by :class:`HistogramNormalizer`.
NORMALISATIONS = ("none", "l1", "hellinger", "chi2")


def histogram_segments(feature_names) -> list[int]:
    """Lengths of the runs of consecutive features that form one histogram.

    A histogram is the set of consecutive names that agree on everything before the last ``/``
    (``lbptop/xy/r2c3/t0/b17`` belongs to ``lbptop/xy/r2c3/t0``), see GUIDE §3.

    Parameters
    ----------
    feature_names : sequence of str

    Returns
    -------
    list of int
        Run lengths, summing to ``len(feature_names)``.
    """
    lengths: list[int] = []
    previous = None
    for name in feature_names:
        prefix = str(name).rsplit("/", 1)[0]
        if prefix == previous:
            lengths[-1] += 1
        else:
            lengths.append(1)
            previous = prefix
    return lengths


class HistogramNormalizer(TransformerMixin, BaseEstimator):
    """Normalise each histogram of a concatenated descriptor.

    Parameters
    ----------
    method : {"none", "l1", "hellinger", "chi2"}
        ``l1`` divides each histogram by its sum; ``hellinger`` takes the square root of the L1
        normalised histogram (a linear kernel on it is the Bhattacharyya / Hellinger kernel);
        ``chi2`` applies scikit-learn's :class:`~sklearn.kernel_approximation.AdditiveChi2Sampler`
        (``sample_steps=2``, three output columns per input column) to the L1-normalised
        histograms, so that a linear classifier approximates an additive χ² kernel.
    segments : sequence of int or None
        Lengths of the consecutive histograms (see :func:`histogram_segments`); ``None`` treats the
        whole row as one histogram.

    Notes
    -----
    Histograms must be non-negative. An all-zero histogram (e.g. a block with no valid voxels)
    stays zero.
    """

    def __init__(self, method: str = "hellinger", segments=None):
        self.method = method
        self.segments = segments

    def fit(self, X, y=None):
        """Check the input and the segment lengths; learn nothing else."""
        if self.method not in NORMALISATIONS:
            raise ValueError(f"unknown histogram normalisation {self.method!r}; "
                             f"choose from {', '.join(NORMALISATIONS)}")
        X = self._check(X)
        self.n_features_in_ = X.shape[1]
        return self

    def _check(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise ValueError(f"expected a 2D array (n_clips, n_features); got shape {X.shape}")
        if not np.all(np.isfinite(X)):
            raise ValueError("features contain NaN or infinite values")
        if self.method != "none" and X.size and X.min() < 0:
            raise ValueError(f"histogram normalisation {self.method!r} needs non-negative "
                             f"features; the smallest value is {X.min()}")
        if self.segments is not None and sum(self.segments) != X.shape[1]:
            raise ValueError(f"segments sum to {sum(self.segments)} but there are "
                             f"{X.shape[1]} features")
        return X

    def transform(self, X):
        """Normalised features (three times as many columns for ``method="chi2"``)."""
        check_is_fitted(self, "n_features_in_")
        X = self._check(X)
        if self.method == "none":
            return X
        segments = [X.shape[1]] if self.segments is None else list(self.segments)
        out = np.zeros_like(X)
        start = 0
        for length in segments:
            block = X[:, start:start + length]
            total = block.sum(axis=1, keepdims=True)
            np.divide(block, total, out=out[:, start:start + length], where=total > 0)
            start += length
        if self.method == "hellinger":
            return np.sqrt(out)
        if self.method == "chi2":
            return AdditiveChi2Sampler(sample_steps=2).fit_transform(out)
        return out


class SubjectSearchClassifier(ClassifierMixin, BaseEstimator):
    """Grid search over folds of the training clips, grouped by subject, then refit on all.

    Parameters
    ----------
    estimator : scikit-learn classifier
        The pipeline whose parameters are searched.
    param_grid : dict
        Grid for :class:`~sklearn.model_selection.GridSearchCV`; a single combination skips the
        search.
    n_splits : int
        Folds of the inner search (reduced when there are fewer subjects or clips per class).
    groups_aware : bool
        Group the inner folds by the ``groups`` given to :meth:`fit`. False, or no usable groups,
        falls back to stratified folds, and :attr:`search_cv_` says so.
    calibrate : bool
        Wrap the refitted estimator in sigmoid calibration so that it has ``predict_proba`` (for
        SVMs; a random forest has its own).
    scoring : str
        Selection criterion; the default ``balanced_accuracy`` is UAR.
    n_jobs : int or None
        Parallel jobs of the grid search.
    random_state : int
        Seed of the stratified fallback splits.

    Attributes
    ----------
    best_params_ : dict
    best_estimator_ : estimator
        Fitted on all training clips with ``best_params_``.
    search_cv_ : str
        How the inner folds were made (reported, so that a fallback is never silent).
    classes_ : ndarray
    """

    def __init__(self, estimator, param_grid, *, n_splits: int = 3, groups_aware: bool = True,
                 calibrate: bool = False, scoring: str = "balanced_accuracy", n_jobs=None,
                 random_state: int = 0):
        self.estimator = estimator
        self.param_grid = param_grid
        self.n_splits = n_splits
        self.groups_aware = groups_aware
        self.calibrate = calibrate
        self.scoring = scoring
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _splits(self, X, y, groups):
        """Inner folds and their description (or ``None`` when the data are too small to split)."""
        _, counts = np.unique(y, return_counts=True)
        reason = None
        if not self.groups_aware:
            reason = "subject grouping switched off"
        elif groups is None or any(g is None for g in groups):
            reason = "subjects unknown"
        else:
            n_groups = len(set(groups))
            k = min(self.n_splits, n_groups)
            if k >= 2:
                cv = StratifiedGroupKFold(n_splits=k)
                return (list(cv.split(X, y, groups)),
                        f"StratifiedGroupKFold({k}) over {n_groups} training subjects")
            reason = f"only {n_groups} training subject"
        k = min(self.n_splits, int(counts.min()))
        if k < 2:
            return None, f"none ({reason}; a class has fewer than 2 training clips)"
        cv = StratifiedKFold(n_splits=k, shuffle=True, random_state=self.random_state)
        return (list(cv.split(X, y)),
                f"StratifiedKFold({k}) ({reason}): inner folds may share subjects")

    def fit(self, X, y, groups=None):
        """Search, then refit the best parameters on all of ``X``.

        Parameters
        ----------
        X : array_like, shape (n_clips, n_features)
        y : array_like, shape (n_clips,)
        groups : array_like, shape (n_clips,), optional
            Subject of each training clip.
        """
        y = np.asarray(y)
        groups = None if groups is None else np.asarray(groups, dtype=object)
        splits, self.search_cv_ = self._splits(X, y, groups)
        grid = list(ParameterGrid(self.param_grid))
        if splits is None or len(grid) == 1:
            self.best_params_ = grid[0]
        else:
            search = GridSearchCV(clone(self.estimator), self.param_grid, scoring=self.scoring,
                                  cv=splits, refit=False, n_jobs=self.n_jobs, error_score="raise")
            search.fit(X, y)
            self.best_params_ = search.best_params_
        final = clone(self.estimator).set_params(**self.best_params_)
        if self.calibrate:
            final = self._calibrated(final, y, splits)
        self.best_estimator_ = final.fit(X, y)
        self.classes_ = self.best_estimator_.classes_
        return self

    def _calibrated(self, estimator, y, splits):
        """Sigmoid calibration on the inner folds when each of their training sides has every
        class, else on stratified folds of the training clips."""
        n_classes = len(np.unique(y))
        if splits is not None and all(len(np.unique(y[train])) == n_classes for train, _ in splits):
            return CalibratedClassifierCV(estimator, method="sigmoid", cv=splits, ensemble=False)
        k = min(3, int(np.unique(y, return_counts=True)[1].min()))
        if k < 2:
            raise ValueError("probability calibration needs at least 2 training clips of every "
                             "class")
        cv = StratifiedKFold(n_splits=k, shuffle=True, random_state=self.random_state)
        return CalibratedClassifierCV(estimator, method="sigmoid", cv=cv, ensemble=False)

    def predict(self, X):
        """Predicted class of each row."""
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.predict(X)

    def predict_proba(self, X):
        """Class probabilities, columns in the order of :attr:`classes_`."""
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.predict_proba(X)


def _grid(step: str, name: str, n_trees: int) -> tuple:
    """The final step and its (small) search grid for a classifier name."""
    if name == "svm":
        return (SVC(kernel="rbf", gamma="scale", class_weight="balanced"),
                {f"{step}__C": [1.0, 10.0, 100.0]})
    if name in ("linear-svm", "chi2-svm"):
        # the linear kernel as a callable: one Gram matrix product (see the module docstring)
        return (SVC(kernel=linear_kernel, class_weight="balanced"),
                {f"{step}__C": [0.1, 1.0, 10.0]})
    if name == "rf":
        return (RandomForestClassifier(n_estimators=n_trees, class_weight="balanced",
                                       random_state=0, n_jobs=1),
                {f"{step}__max_features": ["sqrt", 0.05]})
    raise ValueError(f"unknown classifier {name!r}; choose from {', '.join(CLASSIFIERS)}")


def make_classifier(name: str, *, normalisation: str | None = None, segments=None,
                    scale: bool | None = None, pca: float | int | None = None,
                    search: bool = True, groups_aware_search: bool = True, n_splits: int = 3,
                    n_trees: int = 100, n_jobs=None,
                    random_state: int = 0) -> SubjectSearchClassifier:
    """A classifier pipeline for clip descriptors with its inner search.

    Parameters
    ----------
    name : {"svm", "linear-svm", "chi2-svm", "rf"}
        ``svm`` is an RBF SVM; ``linear-svm`` a linear SVM; ``chi2-svm`` a linear SVM on the
        additive χ² feature map (an approximate χ² kernel SVM); ``rf`` a random forest.
        All use ``class_weight="balanced"``.
    normalisation : {"none", "l1", "hellinger", "chi2"} or None
        Histogram normalisation; ``None`` picks ``chi2`` for ``chi2-svm`` and ``hellinger``
        otherwise.
    segments : sequence of int or None
        Histogram lengths (:func:`histogram_segments` of the feature names), each normalised on
        its own; ``None`` normalises the whole row.
    scale : bool or None
        Standardise features before the classifier; ``None`` means yes for ``svm`` (RBF) only.
    pca : float or int or None
        Keep this many principal components (or this fraction of variance); ``None`` skips PCA.
    search : bool
        Search the small grid (C for SVMs, ``max_features`` for the forest); False uses the
        middle value.
    groups_aware_search : bool
        Group the inner folds by subject (see :class:`SubjectSearchClassifier`).
    n_splits : int
        Inner folds.
    n_trees : int
        Trees of the random forest.
    n_jobs : int or None
        Parallel jobs of the inner search.
    random_state : int

    Returns
    -------
    SubjectSearchClassifier
        Call ``fit(X, y, groups=subjects)``.
    """
    if n_splits < 2:
        raise ValueError(f"n_splits must be at least 2; got {n_splits}")
    model, grid = _grid("clf", name, n_trees)
    if normalisation is None:
        normalisation = "chi2" if name == "chi2-svm" else "hellinger"
    if normalisation not in NORMALISATIONS:
        raise ValueError(f"unknown histogram normalisation {normalisation!r}; "
                         f"choose from {', '.join(NORMALISATIONS)}")
    steps = [("norm", HistogramNormalizer(normalisation, segments))]
    if scale if scale is not None else name == "svm":
        steps.append(("scale", StandardScaler()))
    if pca is not None:
        steps.append(("pca", PCA(n_components=pca, random_state=random_state)))
    steps.append(("clf", model))
    if not search:
        grid = {key: [values[len(values) // 2]] for key, values in grid.items()}
    return SubjectSearchClassifier(Pipeline(steps), grid, n_splits=n_splits,
                                   groups_aware=groups_aware_search, calibrate=name != "rf",
                                   n_jobs=n_jobs, random_state=random_state)
